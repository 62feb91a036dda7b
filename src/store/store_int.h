#ifndef SSYNC_STORE_INT_H
#define SSYNC_STORE_INT_H

#include <sqlite3.h>

#include "schoolsync/store.h"

/* A replicated table as the replica's schema declares it. */
typedef struct ssync_table_info {
	char *name;
	int ncols;
	char **cols;   /* in declaration order */
	int pk;        /* index of the primary key column */
	int priv;      /* private table (student data) */
	char *upsert_sql; /* INSERT OR REPLACE of a whole row, columns in order */
	char *delete_sql; /* DELETE by primary key */
	char *select_sql; /* SELECT * by primary key */
} ssync_table_info;

sqlite3 *ssync_store__db(ssync_store *st);
/* The VFS replicas are opened with (walbuf.c), or NULL for SQLite's default
 * (see ssync_store_walbuf: not proven with this SQLite, a log write that did
 * not fit the pattern, or SSYNC_WALBUF=off). */
const char *ssync_store__vfs(void);
/* Commits this process wrote as one write; ms the last scratch check took. */
long ssync_store__walbuf_commits(void);
double ssync_store__walbuf_check_ms(void);
/* For walbuf_check.c: the shim's VFS name; turn it on/off with a reason;
 * the SQLite release it judges (a test may pretend); a WAL file's writes
 * and commits written as one (-1 if @p f is not a WAL of the shim). */
#define SSYNC_STORE_WALBUF_VFS "ssync-wal"
void ssync_store__walbuf_set(int on, const char *why);
int ssync_store__walbuf_version(void);
int ssync_store__walbuf_counts(sqlite3_file *f, int *writes, int *commits);
/* Tests only: decide again as if SQLite were release @p version and the
 * shim relied on @p frame_hdr-byte frame headers (0: the real ones); on if
 * proven. Replicas opened from then on follow. Returns 1 if on. */
int ssync_store__walbuf_reprobe(int version, int frame_hdr);
/* Registry, sorted by name. */
int ssync_store__ntables(const ssync_store *st);
const ssync_table_info *ssync_store__table_at(const ssync_store *st, int i);
const ssync_table_info *ssync_store__table(const ssync_store *st, const char *name);
/* Column index in @p t or -1. */
int ssync_table__col(const ssync_table_info *t, const char *col);

/* Cached prepared statement keyed by the SQL text's address; reset on return. */
sqlite3_stmt *ssync_store__stmt(ssync_store *st, const char *sql, ssync_error *err);
/* Cached user SQL (a single statement) by its text: take removes it from the
 * cache (NULL if absent), keep resets it and puts it back. */
sqlite3_stmt *ssync_store__user_take(ssync_store *st, const char *sql);
void ssync_store__user_keep(ssync_store *st, const char *sql, sqlite3_stmt *s);
/* Record a SQLite failure in err with the database's message. */
int ssync_store__sqlerr(ssync_store *st, ssync_error *err, const char *what);
/* The same for a connection of one's own (a report's, a scratch check's). */
int ssync_store__dberr(sqlite3 *db, ssync_error *err, const char *what);
/* Step @p q, which yields at most one row: 1 = a row (readable until the
 * reset), 0 = none, < 0 = the step failed (recorded in err as "what: ...").
 * A busy or failed step is never taken for "no row". */
int ssync_store__step_row(ssync_store *st, sqlite3_stmt *q, const char *what, ssync_error *err);
/* After a read loop `while ((rc = sqlite3_step(q)) == SQLITE_ROW)`: 0 if it
 * ended at SQLITE_DONE, else the error recorded in err (a loop that stopped
 * at SQLITE_BUSY read only part of the rows). */
int ssync_store__step_done(sqlite3 *db, int rc, const char *what, ssync_error *err);
int ssync_store__in_tx(ssync_store *st);
/* A counter of this connection's changes to the trust tables (bumped by
 * sync/trust.c before each one, committed or not), for caches derived from
 * them (privacy readers); other connections' commits show in PRAGMA
 * data_version instead. */
void ssync_store__trust_touch(ssync_store *st);
unsigned long ssync_store__trust_epoch(const ssync_store *st);
/* While on, statements being prepared may only read, or write replicated tables. */
void ssync_store__guard(ssync_store *st, int on);
const char *ssync_store__guard_denied(const ssync_store *st);
/* 1 once a trigger or view not of our schema was refused (ssync_store__sqlerr: E_TAMPER). */
int ssync_store__tampered(const ssync_store *st);

/* ---- schemaref.c: the schema our migrations create, as a reference ---- */

/* 1 if @p name is a trigger or view of the reference schema. */
int ssync_schema__trigger_allowed(const char *name);
/*
 * Compare @p db's objects (tables, indexes, triggers, views) with the
 * reference: the number of differences (described in @p msg), -1 if
 * either could not be read.
 */
int ssync_schema__diff(sqlite3 *db, char *msg, size_t len);
/* SSYNC_ETAMPER (naming what differs) unless the replica's schema is ours. */
int ssync_store_schema_check(ssync_store *st, ssync_error *err);

#endif
