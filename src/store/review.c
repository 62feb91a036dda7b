/* What needs a person: cells whose writers did not see each other
 * (conflicts) and entries that failed a check (quarantine). */
#include <stdlib.h>
#include <string.h>

#include "log_int.h"
#include "merge_int.h"
#include "schoolsync/review.h"

static int leaf_desc(const void *a, const void *b)
{
	const ssync_conflict_leaf *x = a, *y = b;
	int c;

	if (x->winner != y->winner)
		return y->winner - x->winner;
	if (x->hlc != y->hlc)
		return x->hlc > y->hlc ? -1 : 1;
	c = strcmp(y->node, x->node);
	return c;
}

static char *actor_of(ssync_store *st, const char *node, int64_t seq)
{
	ssync_entry *e = NULL;
	char *a = NULL;

	if (ssync_log__get(st, node, seq, &e, NULL, NULL) == 0)
		a = strdup(ssync_entry_actor(e));
	ssync_entry_free(e);
	return a ? a : strdup("");
}

int ssync_review_conflicts(ssync_store *st, ssync_conflict_cb cb, void *payload, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error = 0, rc;

	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT tbl, pk, col FROM ssync_conflict ORDER BY tbl, pk, col",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read conflicts");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *tbl = (const char *)sqlite3_column_text(q, 0);
		const char *pk = (const char *)sqlite3_column_text(q, 1);
		const char *col = (const char *)sqlite3_column_text(q, 2);
		json_t *state = NULL, *leaves, *w, *l;
		ssync_conflict_leaf *lv = NULL;
		ssync_conflict c;
		size_t i, nl;

		if ((error = ssync_merge__load(st, tbl, pk, &state, NULL, err)) < 0)
			break;
		leaves = json_object_get(json_object_get(state, col), "l");
		w = ssync_merge__winner(state, col);
		nl = json_array_size(leaves);
		if (nl < 2 || !(lv = calloc(nl, sizeof(*lv)))) {
			json_decref(state);
			if (nl >= 2) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			continue;
		}
		json_array_foreach(leaves, i, l) {
			json_t *v = NULL;
			if ((error = ssync_merge__leaf_value(st, tbl, pk, col, l, &v, err)) < 0)
				break;
			lv[i].value_json = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			json_decref(v);
			lv[i].node = json_string_value(json_array_get(l, 1));
			lv[i].seq = json_integer_value(json_array_get(l, 2));
			lv[i].hlc = (uint64_t)json_integer_value(json_array_get(l, 0));
			lv[i].actor = actor_of(st, lv[i].node, lv[i].seq);
			lv[i].winner = l == w;
		}
		if (error < 0) {
			for (i = 0; i < nl; i++)
				free((char *)lv[i].value_json);
			for (i = 0; i < nl; i++)
				free((char *)lv[i].actor);
			free(lv);
			json_decref(state);
			break;
		}
		qsort(lv, nl, sizeof(*lv), leaf_desc);
		c.table = tbl;
		c.pk = pk;
		c.column = col;
		c.nleaves = (int)nl;
		c.leaves = lv;
		error = cb(&c, payload);
		for (i = 0; i < nl; i++) {
			free((char *)lv[i].value_json);
			free((char *)lv[i].actor);
		}
		free(lv);
		json_decref(state);
		if (error)
			break;
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read conflicts");
	sqlite3_finalize(q);
	return error;
}

int ssync_review_quarantine(ssync_store *st, ssync_quarantine_cb cb, void *payload, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error = 0, rc;

	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT id, node, seq, code, reason, source, received, line "
		"FROM ssync_quarantine ORDER BY id", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read quarantine");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ssync_quarantine_item it;
		it.id = sqlite3_column_int64(q, 0);
		it.node = (const char *)sqlite3_column_text(q, 1);
		it.seq = sqlite3_column_int64(q, 2);
		it.code = (const char *)sqlite3_column_text(q, 3);
		it.reason = (const char *)sqlite3_column_text(q, 4);
		it.source = (const char *)sqlite3_column_text(q, 5);
		it.received = (const char *)sqlite3_column_text(q, 6);
		it.line = (const char *)sqlite3_column_blob(q, 7);
		it.line_len = sqlite3_column_bytes(q, 7);
		if ((error = cb(&it, payload)) != 0)
			break;
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read quarantine");
	sqlite3_finalize(q);
	return error;
}
