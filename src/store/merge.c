/* Per-cell merge (DESIGN §4). Each cell is a set of leaf versions: versions
 * no other version overwrote. A version names what it overwrote (prevs);
 * overwritten versions not seen yet are remembered ("x") so that when they
 * arrive they are not leaves. Leaves and the winner (max by hlc, node, seq)
 * are thus functions of the set of applied versions, not of their order.
 * Row existence is the cell "$row". The domain table holds each live row's
 * winning values; the merge state beside it (ssync_row) holds the rest. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry_int.h"
#include "merge_int.h"

static int write_state(ssync_store *st, const char *tbl, const char *pk, const char *text, ssync_error *err);
static int put_state(ssync_store *st, const char *tbl, const char *pk, const char *text, int replace, ssync_error *err);

/* Build the full state of a compact "=hlc node seq" row from its values. */
static int state_from_values(const ssync_table_info *t, const char *pk, const char *s,
	sqlite3_value **vals, json_t **out, ssync_error *err)
{
	unsigned long long hlc;
	long long seq;
	char node[SSYNC_NODE_ID_MAX + 1];
	json_t *o;
	int i;

	if (sscanf(s, "=%llu %63s %lld", &hlc, node, &seq) != 3 || !ssync_ident_node_valid(node))
		return ssync_error_set(err, SSYNC_ECORRUPT, "merge state of %s/%s is damaged", t->name, pk);
	if (!(o = json_pack("{s{s[[IsIi]]}}", "$row", "l", (json_int_t)hlc, node, (json_int_t)seq, 1)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	for (i = 0; i < t->ncols; i++) {
		json_t *v;
		if (i == t->pk)
			continue;
		if (!(v = ssync_merge__value_json(vals[i], t->name, t->cols[i], err))) {
			json_decref(o);
			return SSYNC_ECORRUPT;
		}
		if (json_object_set_new(o, t->cols[i], json_pack("{s[[IsIo]]}", "l", (json_int_t)hlc, node, (json_int_t)seq, v)) != 0) {
			json_decref(o);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
	}
	*out = o;
	return 0;
}

/* Expand a compact state using the domain row (or @p old, values of a row
 * just deleted by the statement being captured). */
static int expand_created(ssync_store *st, const char *tbl, const char *pk, const char *s,
	sqlite3_value **old, json_t **out, ssync_error *err)
{
	const ssync_table_info *t = ssync_store__table(st, tbl);
	sqlite3_value *vals[256];
	sqlite3_stmt *q;
	int i, rc, error;

	if (!t || t->ncols > 256)
		return ssync_error_set(err, SSYNC_ECORRUPT, "merge state of %s/%s is damaged", tbl, pk);
	if (old)
		return state_from_values(t, pk, s, old, out, err);
	if (!(q = ssync_store__stmt(st, t->select_sql, err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			return ssync_error_set(err, SSYNC_ECORRUPT, "row %s/%s is missing from its table (E_DRIFT)", tbl, pk);
		return ssync_store__sqlerr(st, err, "read row");
	}
	for (i = 0; i < t->ncols; i++)
		vals[i] = sqlite3_column_value(q, i);
	error = state_from_values(t, pk, s, vals, out, err);
	sqlite3_reset(q);
	return error;
}

int ssync_merge__load_old(ssync_store *st, const char *tbl, const char *pk, sqlite3_value **old,
	json_t **out, int *found, ssync_error *err)
{
	sqlite3_stmt *q;
	json_error_t jerr;
	int rc, error;

	*out = NULL;
	if (found)
		*found = 0;
	if (!(q = ssync_store__stmt(st, "SELECT state FROM ssync_row WHERE tbl=? AND pk=?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pk, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(q, 0);
		if (found)
			*found = 1;
		if (s && s[0] == '=') {
			char *copy = strdup(s);
			sqlite3_reset(q);
			if (!copy)
				return ssync_error_set(err, SSYNC_ERROR, "out of memory");
			error = expand_created(st, tbl, pk, copy, old, out, err);
			free(copy);
			return error;
		}
		*out = json_loadb(s, (size_t)sqlite3_column_bytes(q, 0), 0, &jerr);
		sqlite3_reset(q);
		if (!*out || !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			return ssync_error_set(err, SSYNC_ECORRUPT, "merge state of %s/%s is damaged", tbl, pk);
		}
		return 0;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read merge state");
	if (!(*out = json_object()))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	return 0;
}

int ssync_merge__load(ssync_store *st, const char *tbl, const char *pk, json_t **out, int *found, ssync_error *err)
{
	return ssync_merge__load_old(st, tbl, pk, NULL, out, found, err);
}

/* The compact state "=hlc node seq" of a row one INSERT created. */
static int put_created(ssync_store *st, const char *tbl, const char *pk,
	uint64_t hlc, const char *node, int64_t seq, int replace, ssync_error *err)
{
	char s[128];

	snprintf(s, sizeof(s), "=%llu %s %lld", (unsigned long long)hlc, node, (long long)seq);
	return put_state(st, tbl, pk, s, replace, err);
}

int ssync_merge__save_created(ssync_store *st, const char *tbl, const char *pk,
	uint64_t hlc, const char *node, int64_t seq, ssync_error *err)
{
	return put_created(st, tbl, pk, hlc, node, seq, 1, err);
}

int ssync_merge__try_create(ssync_store *st, const char *tbl, const char *pk,
	uint64_t hlc, const char *node, int64_t seq, int *created, ssync_error *err)
{
	int error = put_created(st, tbl, pk, hlc, node, seq, 0, err);

	*created = error == 0 && sqlite3_changes(ssync_store__db(st)) == 1;
	return error;
}

int ssync_merge__is_plain_insert(const ssync_table_info *t, const json_t *cells)
{
	json_t *cell;
	size_t i;
	int have_row = 0;

	if (json_array_size(cells) != (size_t)t->ncols)
		return 0; /* $row + every non-key column */
	json_array_foreach(cells, i, cell) {
		const char *col = json_string_value(json_array_get(cell, 0));
		if (json_array_size(json_array_get(cell, 2)) != 0)
			return 0;
		if (strcmp(col, "$row") == 0) {
			if (json_integer_value(json_array_get(cell, 1)) != 1)
				return 0;
			have_row = 1;
		} else if (ssync_table__col(t, col) < 0 || ssync_table__col(t, col) == t->pk) {
			return 0;
		}
	}
	return have_row;
}

/* Write a plain INSERT's row straight from its cells. */
static int insert_row(ssync_store *st, const ssync_table_info *t, const char *pk, const json_t *cells, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, t->upsert_sql, err);
	json_t *cell;
	size_t i;
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, t->pk + 1, pk, -1, SQLITE_STATIC);
	json_array_foreach(cells, i, cell) {
		const char *col = json_string_value(json_array_get(cell, 0));
		int ci = col[0] == '$' ? -1 : ssync_table__col(t, col);
		if (ci >= 0)
			ssync_merge__bind(q, ci + 1, json_array_get(cell, 1));
	}
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "write row");
	return 0;
}

/* Store a row's merge state; with @p replace 0, only if it has none. */
static int put_state(ssync_store *st, const char *tbl, const char *pk, const char *text, int replace, ssync_error *err)
{
	sqlite3_stmt *q;
	int rc;

	if (!(q = ssync_store__stmt(st, replace ? "INSERT INTO ssync_row(tbl, pk, state) VALUES (?, ?, ?) "
		"ON CONFLICT(tbl, pk) DO UPDATE SET state=excluded.state" :
		"INSERT INTO ssync_row(tbl, pk, state) VALUES (?, ?, ?) ON CONFLICT(tbl, pk) DO NOTHING", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "write merge state");
	return 0;
}

static int write_state(ssync_store *st, const char *tbl, const char *pk, const char *text, ssync_error *err)
{
	return put_state(st, tbl, pk, text, 1, err);
}

int ssync_merge__save(ssync_store *st, const char *tbl, const char *pk, const json_t *state, ssync_error *err)
{
	char *s = json_dumps(state, JSON_COMPACT);
	int error;

	if (!s)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	error = write_state(st, tbl, pk, s, err);
	free(s);
	return error;
}

/* Order of versions: hlc, then node id, then seq. */
static int leaf_cmp(const json_t *a, const json_t *b)
{
	json_int_t ha = json_integer_value(json_array_get(a, 0));
	json_int_t hb = json_integer_value(json_array_get(b, 0));
	int c;

	if (ha != hb)
		return ha < hb ? -1 : 1;
	c = strcmp(json_string_value(json_array_get(a, 1)), json_string_value(json_array_get(b, 1)));
	if (c)
		return c;
	ha = json_integer_value(json_array_get(a, 2));
	hb = json_integer_value(json_array_get(b, 2));
	return ha < hb ? -1 : ha > hb;
}

json_t *ssync_merge__winner(const json_t *state, const char *col)
{
	json_t *cell = json_object_get(state, col), *leaves, *best = NULL, *l;
	size_t i;

	if (!cell || !(leaves = json_object_get(cell, "l")))
		return NULL;
	json_array_foreach(leaves, i, l) {
		if (!best || leaf_cmp(l, best) > 0)
			best = l;
	}
	return best;
}

static int leaf_is(const json_t *leaf, const char *node, int64_t seq)
{
	return strcmp(json_string_value(json_array_get(leaf, 1)), node) == 0 &&
		json_integer_value(json_array_get(leaf, 2)) == seq;
}

json_t *ssync_merge__leaf_ids(const json_t *state, const char *col)
{
	json_t *cell = json_object_get(state, col), *out = json_array(), *l;
	size_t i;

	if (!out || !cell)
		return out;
	json_array_foreach(json_object_get(cell, "l"), i, l) {
		char buf[SSYNC_NODE_ID_MAX + 32];
		snprintf(buf, sizeof(buf), "%s#%lld", json_string_value(json_array_get(l, 1)),
			(long long)json_integer_value(json_array_get(l, 2)));
		if (json_array_append_new(out, json_string(buf)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int entry_applied(ssync_store *st, const char *node, int64_t seq, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_entry WHERE node=? AND seq=? AND state=1", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ssync_store__sqlerr(st, err, "look up entry");
}

static int set_conflict(ssync_store *st, const char *tbl, const char *pk, const char *col, int on, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, on ?
		"INSERT OR IGNORE INTO ssync_conflict(tbl, pk, col) VALUES (?, ?, ?)" :
		"DELETE FROM ssync_conflict WHERE tbl=? AND pk=? AND col=?", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, col, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "update conflict index");
	return 0;
}

/*
 * Large leaf values live only in the entry that wrote them. A cell that many
 * nodes wrote at once holds one leaf per writer, and the row's state is read
 * and rewritten on every apply: with the values inside, applying N such
 * writes cost O(N^2) value bytes (60 writes of 100 kB: 26 s). A leaf
 * [hlc, node, seq] without a value says "the value is in entry node#seq",
 * which the log holds for every applied version; it is read back only for
 * the winner when the row is written, and for `conflicts`.
 */
#define LEAF_INLINE_MAX 128

static int value_is_large(const json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) > LEAF_INLINE_MAX;
	if (json_is_object(v))
		return json_string_length(json_object_get(v, "b64")) > LEAF_INLINE_MAX;
	return 0;
}

/* The value of cell @p col in @p cells ([col, value, prevs] arrays), borrowed. */
static json_t *cell_value(const json_t *cells, const char *col)
{
	const json_t *cell;
	size_t i;

	json_array_foreach(cells, i, cell)
		if (strcmp(json_string_value(json_array_get(cell, 0)), col) == 0)
			return json_array_get(cell, 1);
	return NULL;
}

/* The value entry node#seq wrote to (tbl, pk, col), from the log: new reference. */
static int logged_value(ssync_store *st, const char *tbl, const char *pk, const char *col,
	const char *node, int64_t seq, json_t **out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body FROM ssync_entry WHERE node=? AND seq=?", err);
	json_t *body = NULL, *op, *v = NULL;
	json_error_t jerr;
	size_t i;
	int rc;

	*out = NULL;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		body = json_loadb((const char *)sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
			JSON_ALLOW_NUL, &jerr);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read entry");
	json_array_foreach(json_object_get(body, "ops"), i, op) {
		if (strcmp(json_string_value(json_object_get(op, "t")), tbl) == 0 &&
		    strcmp(json_string_value(json_object_get(op, "k")), pk) == 0 &&
		    (v = cell_value(json_object_get(op, "c"), col)) != NULL)
			break;
	}
	*out = json_incref(v);
	json_decref(body);
	if (!*out)
		return ssync_error_set(err, SSYNC_ECORRUPT, "merge state of %s/%s names version %s#%lld of %s, "
			"which the log does not hold (E_DRIFT)", tbl, pk, node, (long long)seq, col);
	return 0;
}

int ssync_merge__leaf_value(ssync_store *st, const char *tbl, const char *pk, const char *col,
	const json_t *leaf, json_t **out, ssync_error *err)
{
	if (json_array_size(leaf) > 3) {
		*out = json_incref(json_array_get(leaf, 3));
		return 0;
	}
	return logged_value(st, tbl, pk, col, json_string_value(json_array_get(leaf, 1)),
		json_integer_value(json_array_get(leaf, 2)), out, err);
}

int ssync_merge__apply_cell(ssync_store *st, const char *tbl, const char *pk,
	json_t *state, const char *col, json_t *value, uint64_t hlc,
	const char *node, int64_t seq, const json_t *prevs, ssync_error *err)
{
	json_t *cell = json_object_get(state, col), *leaves, *x, *p, *l;
	size_t i, j;
	int had_conflict, error = 0, self_overwritten = 0;
	char me[SSYNC_NODE_ID_MAX + 32];

	if (!cell) {
		if (!(cell = json_object()) || json_object_set_new(state, col, cell) != 0)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	if (!(leaves = json_object_get(cell, "l"))) {
		if (!(leaves = json_array()) || json_object_set_new(cell, "l", leaves) != 0)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	x = json_object_get(cell, "x");
	had_conflict = json_array_size(leaves) > 1;

	/* Everything this version overwrote stops being a leaf. */
	json_array_foreach(prevs, i, p) {
		char pn[SSYNC_NODE_ID_MAX + 1];
		int64_t ps;
		int found = 0, seen;

		if (ssync_version_parse(json_string_value(p), pn, &ps) != 0)
			continue; /* checked on parse */
		for (j = 0; j < json_array_size(leaves); j++) {
			if (leaf_is(json_array_get(leaves, j), pn, ps)) {
				json_array_remove(leaves, j);
				found = 1;
				break;
			}
		}
		if (found)
			continue;
		if ((seen = entry_applied(st, pn, ps, err)) < 0)
			return seen;
		if (seen)
			continue;
		if (!x) {
			if (!(x = json_array()) || json_object_set_new(cell, "x", x) != 0)
				return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		for (j = 0; j < json_array_size(x); j++)
			if (strcmp(json_string_value(json_array_get(x, j)), json_string_value(p)) == 0)
				break;
		if (j == json_array_size(x) && json_array_append(x, p) != 0)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}

	/* Was this version itself overwritten by one we already hold? */
	snprintf(me, sizeof(me), "%s#%lld", node, (long long)seq);
	if (x) {
		for (j = 0; j < json_array_size(x); j++) {
			if (strcmp(json_string_value(json_array_get(x, j)), me) == 0) {
				json_array_remove(x, j);
				self_overwritten = 1;
				break;
			}
		}
		if (json_array_size(x) == 0)
			json_object_del(cell, "x");
	}
	if (!self_overwritten) {
		json_array_foreach(leaves, i, l)
			if (leaf_is(l, node, seq))
				break;
		if (i == json_array_size(leaves)) {
			/* a large value stays in its entry only (see leaf_value) */
			json_t *leaf = value_is_large(value) ? json_pack("[IsI]", (json_int_t)hlc, node, (json_int_t)seq) :
				json_pack("[IsIO]", (json_int_t)hlc, node, (json_int_t)seq, value);
			if (!leaf || json_array_append_new(leaves, leaf) != 0)
				return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
	}
	if (had_conflict || json_array_size(leaves) > 1)
		error = set_conflict(st, tbl, pk, col, json_array_size(leaves) > 1, err);
	return error;
}

int ssync_merge__bind(sqlite3_stmt *q, int i, const json_t *v)
{
	if (!v || json_is_null(v))
		return sqlite3_bind_null(q, i);
	if (json_is_integer(v))
		return sqlite3_bind_int64(q, i, json_integer_value(v));
	if (json_is_real(v))
		return sqlite3_bind_double(q, i, json_real_value(v));
	if (json_is_string(v))
		return sqlite3_bind_text(q, i, json_string_value(v), (int)json_string_length(v), SQLITE_TRANSIENT);
	if (json_is_object(v)) {
		const char *b64 = json_string_value(json_object_get(v, "b64"));
		size_t blen = b64 ? strlen(b64) : 0, got = 0;
		unsigned char *bin = malloc(blen + 1);
		int rc;
		if (!bin)
			return SQLITE_NOMEM;
		if (!b64 || sodium_base642bin(bin, blen + 1, b64, blen, NULL, &got, NULL,
			sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bin);
			return sqlite3_bind_null(q, i);
		}
		rc = sqlite3_bind_blob(q, i, bin, (int)got, SQLITE_TRANSIENT);
		free(bin);
		return rc;
	}
	return sqlite3_bind_null(q, i);
}

json_t *ssync_merge__value_json(sqlite3_value *v, const char *tbl, const char *col, ssync_error *err)
{
	json_t *j = NULL;

	switch (sqlite3_value_type(v)) {
	case SQLITE_NULL:
		j = json_null();
		break;
	case SQLITE_INTEGER:
		j = json_integer(sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		if (!(j = json_real(sqlite3_value_double(v))))
			ssync_error_set(err, SSYNC_EVALUE, "%s.%s: a number that is not finite (Inf, NaN) cannot be stored (E_VALUE)", tbl, col);
		return j;
	case SQLITE_TEXT:
		if (!(j = json_stringn((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v))))
			ssync_error_set(err, SSYNC_EENCODING, "%s.%s: text is not valid UTF-8", tbl, col);
		return j;
	default: {
		size_t n = (size_t)sqlite3_value_bytes(v);
		size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
		char *b = malloc(cap);
		if (!b)
			break;
		sodium_bin2base64(b, cap, sqlite3_value_blob(v), n, sodium_base64_VARIANT_ORIGINAL);
		j = json_pack("{ss}", "b64", b);
		free(b);
		break;
	}
	}
	if (!j)
		ssync_error_set(err, SSYNC_ERROR, "out of memory");
	return j;
}

/* Like ssync_merge__materialize; a winner written by node#seq (the entry
 * being applied, @p cells its op's cells) takes its value from there. */
static int materialize_hint(ssync_store *st, const ssync_table_info *t, const char *pk,
	const json_t *state, const char *node, int64_t seq, const json_t *cells, ssync_error *err)
{
	json_t *row = ssync_merge__winner(state, "$row");
	int alive = row && json_integer_value(json_array_get(row, 3)) == 1;
	sqlite3_stmt *q = ssync_store__stmt(st, alive ? t->upsert_sql : t->delete_sql, err);
	json_t *held[256];
	int i, rc, nheld = 0, error = 0;

	if (!q)
		return SSYNC_ERROR;
	if (t->ncols > 256)
		return ssync_error_set(err, SSYNC_ECORRUPT, "table %s has too many columns", t->name);
	if (alive) {
		for (i = 0; i < t->ncols && error == 0; i++) {
			json_t *w, *v = NULL;
			if (i == t->pk) {
				sqlite3_bind_text(q, i + 1, pk, -1, SQLITE_STATIC);
				continue;
			}
			w = ssync_merge__winner(state, t->cols[i]);
			if (w && json_array_size(w) > 3)
				v = json_array_get(w, 3);
			else if (w && node && leaf_is(w, node, seq) && (v = cell_value(cells, t->cols[i])) != NULL)
				;
			else if (w && (error = ssync_merge__leaf_value(st, t->name, pk, t->cols[i], w, &v, err)) == 0)
				held[nheld++] = v;
			ssync_merge__bind(q, i + 1, v);
		}
	} else {
		sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	}
	if (error == 0) {
		rc = sqlite3_step(q);
		if (rc != SQLITE_DONE)
			error = ssync_store__sqlerr(st, err, "write row");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	while (nheld > 0)
		json_decref(held[--nheld]);
	return error;
}

int ssync_merge__materialize(ssync_store *st, const ssync_table_info *t,
	const char *pk, const json_t *state, ssync_error *err)
{
	return materialize_hint(st, t, pk, state, NULL, 0, NULL, err);
}

int ssync_merge__apply_ops(ssync_store *st, const json_t *ops, uint64_t hlc,
	const char *node, int64_t seq, ssync_error *err)
{
	json_t *op, *cell;
	size_t i, j;
	int error = 0;

	json_array_foreach(ops, i, op) {
		const char *tbl = json_string_value(json_object_get(op, "t"));
		const char *pk = json_string_value(json_object_get(op, "k"));
		const ssync_table_info *t = ssync_store__table(st, tbl);
		json_t *state = NULL;
		int found = 0;

		if (!t)
			return ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld writes unknown table %s", node, (long long)seq, tbl);
		if ((error = ssync_merge__load(st, tbl, pk, &state, &found, err)) < 0)
			return error;
		if (!found && ssync_merge__is_plain_insert(t, json_object_get(op, "c"))) {
			json_decref(state);
			if ((error = insert_row(st, t, pk, json_object_get(op, "c"), err)) < 0 ||
			    (error = ssync_merge__save_created(st, tbl, pk, hlc, node, seq, err)) < 0)
				return error;
			continue;
		}
		json_array_foreach(json_object_get(op, "c"), j, cell) {
			const char *col = json_string_value(json_array_get(cell, 0));
			if (strcmp(col, "$row") != 0 && (ssync_table__col(t, col) < 0 || ssync_table__col(t, col) == t->pk)) {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld writes unknown column %s.%s",
					node, (long long)seq, tbl, col);
				break;
			}
			if ((error = ssync_merge__apply_cell(st, tbl, pk, state, col, json_array_get(cell, 1),
				hlc, node, seq, json_array_get(cell, 2), err)) < 0)
				break;
		}
		if (error == 0)
			error = ssync_merge__save(st, tbl, pk, state, err);
		if (error == 0)
			error = materialize_hint(st, t, pk, state, node, seq, json_object_get(op, "c"), err);
		json_decref(state);
		if (error < 0)
			return error;
	}
	return 0;
}
