#ifndef SSYNC_TRUSTDB_INT_H
#define SSYNC_TRUSTDB_INT_H

/* The trust data a replica holds (trustdb.c): reads and quarantine rows. */

#include "schoolsync/keys.h"
#include "schoolsync/trust.h"
#include "store_int.h"

/* The pinned district root (meta 'district_pubkey'); SSYNC_ENOTFOUND if none. */
int ssync_trust__pinned_root(ssync_store *st, unsigned char root[SSYNC_PUBKEY_BYTES]);
/* The district root in office for an object of @p serial: the pinned one,
 * handed over by every rotation held with a lower serial (TRUST.md §3a).
 * Returns 1 if it differs from the pinned root, 0 if not, -1 if unreadable. */
int ssync_trust__root_at(ssync_store *st, int64_t serial, unsigned char out[SSYNC_PUBKEY_BYTES]);

/* The genesis record's root: 0, SSYNC_ENOTFOUND when none is held. */
int ssync_trust__genesis_root(ssync_store *st, unsigned char out[SSYNC_PUBKEY_BYTES], ssync_error *err);

/* 1 if the pinned root is the genesis root or one the held rotations hand
 * over to (or no genesis is held yet), 0 if not (TRUST.md §3a). */
int ssync_trust__pinned_reached(ssync_store *st, ssync_error *err);
/* 1 if the genesis record is held, 0 if not, < 0 if it cannot be read. */
int ssync_trust__have_genesis(ssync_store *st, ssync_error *err);
/* 1 if trust data changed under entries already held (see trustdb.c). */
int ssync_trust__need_rebuild(ssync_store *st);
/* 1 if @p node holds an auditor certificate (it syncs read-only), 0 if not,
 * < 0 if it cannot be read. */
int ssync_trust__is_auditor(ssync_store *st, const char *node, ssync_error *err);
/* Record a refused or held entry's reason (quarantine row with a text code). */
int ssync_trust__quarantine(ssync_store *st, const char *node, int64_t seq, const char *code,
	const char *why, const char *line, size_t len, const char *source, ssync_error *err);

/*
 * Trust data that may be as old as a restored log (docs/TRUST.md §4
 * "Rollback"): E_ROLLBACK adopted this node's own entries up to seq @p head
 * from a remote, but no held checkpoint lists them -- its district branch,
 * restored from the same old copy, lacks the checkpoints (and maybe the
 * objects) it signed after them. Meta 'trust_stale' ("HEAD why") is set;
 * while no held checkpoint lists this node at HEAD or beyond, it signs no
 * checkpoint and no district object (it would sign positions and serials
 * the district already holds). stale_note sets it only when the chain does
 * not list @p head yet; stale_check clears it once the chain does (a sync
 * read a newer district branch), else returns SSYNC_EROLLBACK with @p err.
 */
int ssync_trust__stale_note(ssync_store *st, const char *self, int64_t head, const char *why, ssync_error *err);
int ssync_trust__stale_check(ssync_store *st, const char *self, const char *what, ssync_error *err);

#endif
