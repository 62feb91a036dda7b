#ifndef SSYNC_STORE_H
#define SSYNC_STORE_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "ident.h"

/* Layer store (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_STORE
#error "schoolsync/store.h is layer store: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * The SQLite replica: one file, WAL mode, busy timeout, numbered migrations
 * from schema/ applied in order and recorded.
 */
typedef struct ssync_store ssync_store;

enum {
	SSYNC_STORE_CREATE = 1 << 0,   /**< create the file if missing */
	SSYNC_STORE_READONLY = 1 << 1  /**< open read-only (no migrations) */
};

/**
 * Open (and migrate) the replica at @p path. *out is NULL on failure.
 * Free with ssync_store_free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_open(ssync_store **out,
	const char *path, int flags, ssync_error *err);
SSYNC_EXTERN void ssync_store_free(ssync_store *st);

/** Begin an IMMEDIATE transaction (writers queue on the busy timeout). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_begin(ssync_store *st, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_commit(ssync_store *st, ssync_error *err);
/** Roll back the open transaction, if any. */
SSYNC_EXTERN void ssync_store_rollback(ssync_store *st);

/**
 * Make every committed transaction durable (fsync of the WAL; checkpoints
 * run in the background). Call before anything is published: with
 * synchronous=NORMAL a commit can vanish on power loss until then. Fails
 * on a read-only store.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_make_durable(ssync_store *st, ssync_error *err);

/**
 * Whether this process writes replicas through the WAL shim, which makes a
 * commit's log frames one system call (src/walbuf.c): 1 on, 0 off. It is on
 * only with a SQLite release it was proven with, and only while every log
 * write fits the pattern it relies on (the first that does not turns it off
 * for the rest of the process); SSYNC_WALBUF=off in the environment turns it
 * off. Off, replicas use SQLite's own VFS: as safe, writes ~15 % slower.
 * @param[out] why  if not NULL: one line saying which and why, starting
 *                  "on" or "off"; static, valid for the process's life.
 */
SSYNC_EXTERN int ssync_store_walbuf(const char **why);

/**
 * As ssync_store_walbuf(), after running SQLite's log code through the shim
 * on a scratch database in memory-backed tmp (~1 ms): for a process that
 * writes nothing itself (status, the daemon's start) to show what writers
 * will find. A failed check turns the shim off for this process.
 */
SSYNC_EXTERN int ssync_store_walbuf_check(const char **why);

/** Read meta @p key; *out is malloc'd (caller frees), SSYNC_ENOTFOUND if absent. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_meta_get(ssync_store *st,
	const char *key, char **out, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_meta_set(ssync_store *st,
	const char *key, const char *value, ssync_error *err);

/** Highest schema version applied. */
SSYNC_EXTERN int ssync_store_schema_version(const ssync_store *st);

/** 1 if @p name is a replicated (domain) table, else 0. */
SSYNC_EXTERN int ssync_store_is_table(const ssync_store *st, const char *name);

/**
 * Digest of the visible domain state (see ssync_node_state_hash): replicated
 * tables by name, rows by key, columns in order, values type-tagged.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_store_state_hash(ssync_store *st,
	char hex[65], ssync_error *err);

/** Column types passed to ssync_row_cb (the SQLite fundamental types). */
enum { SSYNC_TYPE_INTEGER = 1, SSYNC_TYPE_FLOAT = 2, SSYNC_TYPE_TEXT = 3,
	SSYNC_TYPE_BLOB = 4, SSYNC_TYPE_NULL = 5 };

/**
 * Result rows of a query: @p values[i] is NULL for SQL NULL; @p types[i] is
 * one of SSYNC_TYPE_*. Return non-zero to stop.
 */
typedef int (*ssync_row_cb)(int ncols, const char *const *names,
	const char *const *values, const int *types, void *payload);

/**
 * A check of the rows a write changed, run inside its transaction before
 * anything is signed: once per changed row of a replicated table, with
 * @p op SSYNC_WRITE_INSERT, _UPDATE or _DELETE and the row's key. The row
 * reads as written (same connection, same transaction). A negative return
 * (with @p err set) refuses the whole write: nothing is written.
 */
enum { SSYNC_WRITE_INSERT = 1, SSYNC_WRITE_UPDATE = 2, SSYNC_WRITE_DELETE = 3 };
typedef int (*ssync_write_check_cb)(const char *table, const char *pk, int op, void *payload, ssync_error *err);

typedef struct ssync_write_result {
	int readonly;        /**< 1 if the statements only read */
	int entries;         /**< entries appended (0 if nothing changed) */
	int64_t first_seq;   /**< seq of the first entry appended */
	int64_t last_seq;
	int64_t rows;        /**< rows changed */
	int64_t cells;       /**< cells changed */
} ssync_write_result;

#endif
