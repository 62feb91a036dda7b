#ifndef SSYNC_DOMAIN_INT_H
#define SSYNC_DOMAIN_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "schoolsync/domain.h"
#include "store_int.h"

#define SSYNC_DOMAIN_VALUE_MAX 4096
#define SSYNC_DOMAIN_MAX_FIELDS 16

/*
 * Validation context for rows of one table: prepared statements for
 * reference and rule look-ups, reused across rows (the importer checks
 * thousands). Reads only; the write happens afterwards.
 */
typedef struct ssync_dctx {
	sqlite3 *db;
	const ssync_table_spec *t;
	sqlite3_stmt *ref[SSYNC_DOMAIN_MAX_FIELDS];
	sqlite3_stmt *rule[8];
	const char *self_id; /* the row being edited (rules skip it), NULL on insert */
} ssync_dctx;

void ssync_domain__ctx_init(ssync_dctx *c, ssync_store *st, const ssync_table_spec *t);
void ssync_domain__ctx_free(ssync_dctx *c);

/*
 * A row being validated: vals[i] is the normalized value of field i or NULL.
 * Rules may fill defaults (rotation.from_school from the teacher) into
 * the row's own buffers. On a failure, *bad_field is the field index
 * (-1 = the row as a whole) and why holds the sentence.
 */
typedef struct ssync_drow {
	char *vals[SSYNC_DOMAIN_MAX_FIELDS];
	char buf[SSYNC_DOMAIN_MAX_FIELDS][SSYNC_DOMAIN_VALUE_MAX];
} ssync_drow;

/* Normalize raw values into @p row; returns 0 or SSYNC_EINVAL. */
int ssync_domain__normalize_row(const ssync_table_spec *t, const char *const *raw,
	ssync_drow *row, int *bad_field, char *why, size_t whylen);
/* References and table rules against the replica. */
/* An explicit id of an owned table's row must lie in its school's key
 * namespace ("<school_id>-...", docs/POLICY.md): 0, or SSYNC_EINVAL with why. */
int ssync_domain__id_owned_ok(const ssync_table_spec *t, const ssync_drow *row, const char *id,
	char *why, size_t whylen);

int ssync_domain__check_row(ssync_dctx *c, ssync_drow *row, int *bad_field,
	char *why, size_t whylen);

/* Run one read query with text params; cb as ssync_row_cb. */
int ssync_domain__query(sqlite3 *db, const char *sql, int nparams, const char *const *params,
	ssync_row_cb cb, void *payload, ssync_error *err);

/*
 * Load the json_each table-valued function into this connection before a
 * write uses it. Its first use makes SQLite register the eponymous virtual
 * table, which the capture authorizer sees as a write to sqlite_master and
 * refuses (reported to the core: capture.c could allow that case).
 */
void ssync_domain__warm_json(sqlite3 *db);

/*
 * archive.c: encrypt the private columns of an import's @p rows (JSON
 * arrays [id, field values in @p t's order]) in place, exactly as
 * student-archive add does, within the batch *@p out it opens (the caller
 * commits it before the write, drops it if the write fails, frees it).
 */
struct ssync_privacy_batch;
int ssync_archive__seal_rows(ssync_node *n, const ssync_table_spec *t, json_t *rows,
	struct ssync_privacy_batch **out, ssync_error *err);

/* 1 if row @p id of @p table exists, 0 if not, -1 on error. @p table
 * comes from the compiled-in spec, never from input. */
int ssync_domain__row_exists(sqlite3 *db, const char *table, const char *id);

/*
 * The check `sql` writes get (ssync_write_check_cb, @p p a sql_check): the
 * row as written is checked as add and edit check it, a deleted row as
 * delete does. reenter.c runs it after its own check of the cells.
 */
typedef struct sql_check {
	ssync_node *n;
	int rows;
} sql_check;
int ssync_domain__check_written(const char *table, const char *pk, int op, void *p, ssync_error *err);

#endif
