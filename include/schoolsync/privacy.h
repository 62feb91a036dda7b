#ifndef SSYNC_PRIVACY_H
#define SSYNC_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/privacy.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * Private columns, end to end (docs/PRIVACY.md). Values of private columns
 * are encrypted before they are written (schoolsync/cellcrypt.h); the data
 * keys live in HOME/keys.db and travel only in key stores
 * (refs/heads/keys/<node>), sealed to each reader's X25519 key.
 */

/** Shown instead of a private value this node cannot open. */
#define SSYNC_PRIVACY_HIDDEN "[encrypted]"

/**
 * This node's X25519 public key as 64 hex characters into @p hex (65
 * bytes). A home without enc.key (made by an older version) gets one now.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_enckey_hex(ssync_node *n, char *hex, ssync_error *err);

/**
 * Make a new encryption key (the old one is kept as enc.key.old so what was
 * sealed to it still opens); its public half into @p hex. The hub then
 * certifies it (district enroll ... --enckey HEX) and every owner re-wraps
 * its data keys to it on its next sync.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_rotate_enckey(ssync_node *n, char *hex, ssync_error *err);

/**
 * Encrypt the @p ncols values @p clear (NULL = SQL NULL, left NULL) of the
 * private columns @p cols of row (@p table, @p pk) under the row's data
 * key: its current one if this node holds it and no reader was removed
 * since it was made, else a new one (recorded in keys.db, published with
 * the next sync). @p out gets @p ncols malloc'd strings (NULL for NULL);
 * free each with free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_seal_row(ssync_node *n, const char *table, const char *pk,
	int ncols, const char *const *cols, const char *const *clear, char **out, ssync_error *err);

/**
 * Seal many rows at once (an import): one keys.db transaction for their new
 * data keys, the readers of each school read once (ssync_privacy_seal_row
 * reads them again only when trust data changed). Rows are sealed exactly
 * as ssync_privacy_seal_row seals them. Order of use:
 * open, seal each row, commit (the keys are in keys.db before the rows that
 * need them are written), write the rows; if that write fails or is
 * cancelled, ssync_privacy_batch_drop() deletes the data keys the batch
 * made (before commit: nothing was kept anyway). Free with
 * ssync_privacy_batch_free() (rolls back an uncommitted batch).
 */
typedef struct ssync_privacy_batch ssync_privacy_batch;

SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_batch_open(ssync_privacy_batch **out, ssync_node *n,
	ssync_error *err);
/** As ssync_privacy_seal_row(), within the batch. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_batch_seal(ssync_privacy_batch *b, const char *table,
	const char *pk, int ncols, const char *const *cols, const char *const *clear, char **out, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_batch_commit(ssync_privacy_batch *b, ssync_error *err);
/**
 * Delete the data keys this batch made: the write they were for did not
 * happen. Best effort: a key left behind encrypts nothing.
 */
SSYNC_EXTERN int ssync_privacy_batch_drop(ssync_privacy_batch *b, ssync_error *err);
SSYNC_EXTERN void ssync_privacy_batch_free(ssync_privacy_batch *b);

/**
 * 1 if column @p col of @p table is private (the schema's private tables:
 * every column but the key and the owner column), 0 if not, < 0 on error.
 */
SSYNC_EXTERN int ssync_privacy_col_private(ssync_node *n, const char *table, const char *col, ssync_error *err);

/** Reads private values with the keys this node holds. */
typedef struct ssync_privacy_reader ssync_privacy_reader;

SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_reader_open(ssync_privacy_reader **out, ssync_node *n,
	ssync_error *err);
SSYNC_EXTERN void ssync_privacy_reader_free(ssync_privacy_reader *r);

/**
 * 1 if @p col of @p table is private, 0 if not (the value is shown as is).
 */
SSYNC_EXTERN int ssync_privacy_reader_is_private(ssync_privacy_reader *r, const char *table, const char *col);

/**
 * The clear text of private value @p v of (@p table, @p pk, @p col) into
 * *@p out (malloc'd; free()). SSYNC_ENOKEY if this node holds no key that
 * opens it; SSYNC_EINVAL if @p v is not in the encrypted form.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_reader_open_cell(ssync_privacy_reader *r, const char *table,
	const char *pk, const char *col, const char *v, size_t len, char **out, ssync_error *err);

/**
 * For display (conflicts, audit history): @p value_json, a JSON value or
 * array of values of cell (@p table, @p pk, @p col), with each encrypted
 * string replaced by its clear text or SSYNC_PRIVACY_HIDDEN. NULL when the
 * column is not private or nothing changed (show it as is); else malloc'd
 * JSON text (free()).
 */
SSYNC_EXTERN char *ssync_privacy_reader_display_json(ssync_privacy_reader *r, const char *table,
	const char *pk, const char *col, const char *value_json);

/**
 * Erase the private values of row (@p table, @p pk): every data key that
 * encrypted them (found in the log) is deleted here and named in this
 * node's key store (the hub's erasure notice, or the owner's store without
 * it) at the next sync; *@p nkids says how many. Hub or owning school only.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_erase(ssync_node *n, const char *table, const char *pk,
	int *nkids, ssync_error *err);

/**
 * How many of this node's own data keys its own key store seals to an
 * encryption key it no longer has (restored without enc.key; they are
 * carried into its next store as they are), into *@p count. 0 without
 * keys.db. docs/PRIVACY.md §8.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_keys_sealed_elsewhere(ssync_node *n, int64_t *count,
	ssync_error *err);

/**
 * Hub only: re-seal the data keys of node @p node (a school node that lost
 * the encryption key they are sealed to, docs/PRIVACY.md §8) in this hub's
 * own key store, so they reach every current reader of its school,
 * including the node's newly certified key, at the next sync. They stay
 * there while @p node's own store holds them (an erasure by the school
 * reaches them); *@p count: how many.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_reseal(ssync_node *n, const char *node, int *count,
	ssync_error *err);

/** Hub only: let auditor @p auditor read @p school's private rows (@p on 1), or stop (0). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_privacy_grant(ssync_node *n, const char *auditor, const char *school,
	int on, ssync_error *err);

#endif
