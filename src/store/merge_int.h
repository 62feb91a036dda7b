#ifndef SSYNC_MERGE_INT_H
#define SSYNC_MERGE_INT_H

#include <jansson.h>

#include "store_int.h"

/*
 * Merge state of one row (docs/MERGE.md): a JSON object
 *   { "<col>": { "l": [[hlc, "node", seq, value], ...],   leaves (a large
 *                                                          value is left out:
 *                                                          [hlc, "node", seq]
 *                                                          means entry node#seq
 *                                                          holds it)
 *                "x": ["node#seq", ...] },                 overwritten, unseen
 *     ... }
 * "$row" is the existence register (value 1 alive, 0 deleted).
 */

/*
 * Load the state of (tbl, pk); *out is a new object (empty if none);
 * *found (may be NULL) tells whether the row had any state.
 */
int ssync_merge__load(ssync_store *st, const char *tbl, const char *pk, json_t **out, int *found, ssync_error *err);

/* Same, for a row the statement being captured just deleted: @p old holds its values. */
int ssync_merge__load_old(ssync_store *st, const char *tbl, const char *pk, sqlite3_value **old,
	json_t **out, int *found, ssync_error *err);

/*
 * Save the compact state of a row that one INSERT created (every cell one
 * leaf, written by node#seq at hlc, values in the domain row). Most rows
 * never change after they arrive; this keeps them cheap.
 */
/* For an INSERT: give a row this replica has no state for the compact state
 * of entry node#seq, in one statement; *created=0 if it had state already. */
int ssync_merge__try_create(ssync_store *st, const char *tbl, const char *pk,
	uint64_t hlc, const char *node, int64_t seq, int *created, ssync_error *err);

int ssync_merge__save_created(ssync_store *st, const char *tbl, const char *pk,
	uint64_t hlc, const char *node, int64_t seq, ssync_error *err);

/* 1 if @p op is a plain INSERT: "$row" 1 and every column, all with no prevs. */
int ssync_merge__is_plain_insert(const ssync_table_info *t, const json_t *cells);
int ssync_merge__save(ssync_store *st, const char *tbl, const char *pk, const json_t *state, ssync_error *err);

/*
 * Apply one version (hlc, node, seq) of cell @p col with @p value, which
 * overwrote the versions in @p prevs. Updates the conflict index.
 */
int ssync_merge__apply_cell(ssync_store *st, const char *tbl, const char *pk,
	json_t *state, const char *col, json_t *value, uint64_t hlc,
	const char *node, int64_t seq, const json_t *prevs, ssync_error *err);

/* The version ids of the current leaves of @p col, as a new JSON array. */
json_t *ssync_merge__leaf_ids(const json_t *state, const char *col);

/* The value of a leaf: its own, or read from the entry that wrote it (a
 * large one); *out is a new reference. */
int ssync_merge__leaf_value(ssync_store *st, const char *tbl, const char *pk, const char *col,
	const json_t *leaf, json_t **out, ssync_error *err);

/* The winning leaf [hlc,node,seq(,value)] of @p col, or NULL (borrowed). */
json_t *ssync_merge__winner(const json_t *state, const char *col);

/* Make the domain table's row match @p state (upsert winners or delete). */
int ssync_merge__materialize(ssync_store *st, const ssync_table_info *t,
	const char *pk, const json_t *state, ssync_error *err);

/* Bind a JSON cell value to parameter @p i of @p q. */
int ssync_merge__bind(sqlite3_stmt *q, int i, const json_t *v);

/* A column value as JSON (NULL + err on invalid UTF-8, NaN or OOM). */
json_t *ssync_merge__value_json(sqlite3_value *v, const char *tbl, const char *col, ssync_error *err);

/* Apply all ops of an entry (already verified and authorised). */
int ssync_merge__apply_ops(ssync_store *st, const json_t *ops, uint64_t hlc,
	const char *node, int64_t seq, ssync_error *err);

#endif
