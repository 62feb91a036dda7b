#ifndef SSYNC_NODE_H
#define SSYNC_NODE_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "store.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/node.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * A node: its home directory (layout in schoolsync/home.h) holding the
 * replica, its key and its exchange repository.
 */
typedef struct ssync_node ssync_node;

enum {
	SSYNC_NODE_READONLY = 1 << 0,     /**< no key needed, no writes */
	SSYNC_NODE_KEY_OPTIONAL = 1 << 1  /**< open without node.key if it is missing (reads only then) */
};

/**
 * Create a new home at @p home for node @p node_id of district @p district
 * (NULL = "default"). Fails with SSYNC_EEXISTS if a node already lives
 * there, SSYNC_EINVAL for an invalid id. Writes the public key as hex into
 * @p pubkey_hex (65 bytes) when not NULL.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_init(const char *home,
	const char *node_id, const char *district, char *pubkey_hex, ssync_error *err);

/**
 * Re-create a home for an existing node from its backed-up key file (e.g.
 * after losing the disk). The node refuses writes until a sync has read its
 * own branch, whole, from a remote that holds it (an empty remote does not
 * count), so it never signs a seq twice. With SSYNC_RESTORE_NEVER_PUBLISHED
 * in @p flags the caller declares that the node never published an entry
 * anywhere, and it may write at once (if that is wrong, its first write
 * equivocates and the district freezes it).
 */
#define SSYNC_RESTORE_NEVER_PUBLISHED 1u
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_restore(const char *home,
	const char *node_id, const char *district, const char *key_path,
	unsigned int flags, char *pubkey_hex, ssync_error *err);

/**
 * 1 when this node was restored from its key and has not yet read its own
 * branch from a remote (writes are refused), 0 otherwise.
 */
SSYNC_EXTERN int ssync_node_recovering(ssync_node *n);

/** Open an existing home. Free with ssync_node_free(). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_open(ssync_node **out,
	const char *home, int flags, ssync_error *err);
SSYNC_EXTERN void ssync_node_free(ssync_node *n);

SSYNC_EXTERN const char *ssync_node_id(const ssync_node *n);
SSYNC_EXTERN const char *ssync_node_district(const ssync_node *n);
SSYNC_EXTERN const char *ssync_node_home(const ssync_node *n);
/** Public key as 64 hex chars. */
SSYNC_EXTERN const char *ssync_node_pubkey_hex(const ssync_node *n);
SSYNC_EXTERN ssync_store *ssync_node_store(ssync_node *n);

/**
 * Run one or more SQL statements. Reads call @p cb for each result row.
 * Writes run in one transaction that applies them, captures their cell
 * changes and appends signed entries (one per call unless it exceeds the
 * entry size bound, then several, all committed together). Writes to
 * internal tables, DDL, PRAGMA, ATTACH and transaction control are refused
 * with SSYNC_EPERM; on any failure nothing is written.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_sql(ssync_node *n, const char *sql,
	const char *actor, ssync_row_cb cb, void *payload, ssync_write_result *res,
	ssync_error *err);

/** Same, with values bound to the ?1..?N parameters (text, NULL = SQL NULL). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_sql_bound(ssync_node *n, const char *sql,
	int nparams, const char *const *params, const char *actor, ssync_row_cb cb,
	void *payload, ssync_write_result *res, ssync_error *err);

/**
 * Same as ssync_node_sql_bound, and @p check (NULL for none) sees every
 * row the write changed before anything is signed; its refusal refuses the
 * whole write (ssync_domain_sql checks rows as add/edit do).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_sql_checked(ssync_node *n, const char *sql,
	int nparams, const char *const *params, const char *actor, ssync_row_cb cb,
	void *payload, ssync_write_check_cb check, void *check_payload,
	ssync_write_result *res, ssync_error *err);

/**
 * Write one cell of an existing row: UPDATE @p table SET @p column =
 * @p value (text, NULL = SQL NULL) for the row with key @p pk, as one signed
 * entry whose version names every leaf of the cell, even when @p value is
 * the value shown (SQLite sees no change then; a plain UPDATE would write
 * nothing). That resolves a conflict on the cell on every replica. The
 * write policy applies as for any write. SSYNC_ENOTFOUND if no such row.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_write_cell(ssync_node *n, const char *table,
	const char *pk, const char *column, const char *value, const char *actor,
	ssync_write_result *res, ssync_error *err);

/**
 * Digest of the visible domain state (replicated tables, rows by key,
 * columns in order; private tables included): equal on two replicas with the
 * same data whatever the order rows arrived in. 64 hex chars + NUL.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_state_hash(ssync_node *n,
	char hex[65], ssync_error *err);

/**
 * The git remotes this node syncs with (kept in its exchange repository's
 * config as remote.<name>.url). A URL is a local path or file:// (a USB
 * stick), git://, http(s):// or ssh://. Names: see
 * ssync_node_remote_name_valid(); SSYNC_EINVAL for others.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_remote_add(ssync_node *n,
	const char *name, const char *url, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_remote_remove(ssync_node *n,
	const char *name, ssync_error *err);
/** Calls @p cb for each remote, by name; a non-zero return stops the walk and is returned. */
typedef int (*ssync_node_remote_cb)(const char *name, const char *url, void *payload);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_remote_list(ssync_node *n,
	ssync_node_remote_cb cb, void *payload, ssync_error *err);
/**
 * Keep the https token for remote @p name out of its URL: written to
 * HOME/tokens/<name> (mode 0600; the first line of @p token, at most 1024
 * printable bytes). Sync offers it as the password (user x-access-token);
 * $SCHOOLSYNC_TOKEN_<NAME> overrides it. NULL @p token removes it.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_node_remote_token_set(ssync_node *n,
	const char *name, const char *token, ssync_error *err);
/** 1 if @p name can name a remote: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}, not ending in .lock. */
SSYNC_EXTERN int ssync_node_remote_name_valid(const char *name);

/** The actor name to record: $SCHOOLSYNC_ACTOR, else the OS user, else "unknown". */
SSYNC_EXTERN const char *ssync_node_default_actor(void);

#endif
