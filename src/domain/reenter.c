/* `schoolsync reenter` (docs/TRUST.md §10a): a school's own entries that
 * will never apply, written again as new entries without clobbering what
 * changed since. The lost entries come from sync/lost.c; here each one is
 * planned cell by cell against the row's merge state and written through
 * the same checked path as `sql` (add/edit/delete checks, write policy,
 * admission, the writer's clock), one entry per lost entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_int.h"
#include "log_int.h"
#include "lost_int.h"
#include "merge_int.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/reenter.h"
#include "schoolsync/timefmt.h"
#include "schoolsync/witness.h"
#include "witness_int.h"

#define FROM_MAX_BYTES (64 * 1024 * 1024)

typedef struct rctx {
	ssync_node *n;
	ssync_store *st;
	const char *node;
	ssync_lost_set *s;
	json_t *gone;    /* "hash|t|pk|col" -> versions: what stands for a lost entry's cell now */
	json_t *overlay; /* "t|pk|col" -> [versions, value]: cells this run wrote (or would write) */
	json_t *expect;  /* "t|pk" -> {col: versions}: the write's cells, checked again inside it */
	sql_check sc;
} rctx;

static char *key3(const char *a, const char *b, const char *c, const char *d)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + (d ? strlen(d) : 0) + 4;
	char *k = malloc(n);

	if (k)
		snprintf(k, n, "%s\x1f%s\x1f%s%s%s", a, b, c, d ? "\x1f" : "", d ? d : "");
	return k;
}

static ssync_lost *find_lost(rctx *r, const unsigned char *hash)
{
	size_t i;

	for (i = 0; i < r->s->n; i++)
		if (memcmp(r->s->v[i].e->hash, hash, SSYNC_HASH_BYTES) == 0)
			return &r->s->v[i];
	return NULL;
}

static int log_has(rctx *r, int64_t seq, const unsigned char *hash)
{
	sqlite3_stmt *q = ssync_store__stmt(r->st, "SELECT 1 FROM ssync_entry WHERE node=? AND seq=? AND hash=?", NULL);
	int found;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, r->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_blob(q, 3, hash, SSYNC_HASH_BYTES, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	return found;
}

/*
 * The versions cell (t, pk, col) must hold now for lost entry @p l's write
 * to apply as it did: its prevs, where a prev naming this node's entry of
 * l's own history that is lost too stands for what replaced it (its
 * re-entry). NULL when that cannot be (an ancestor neither re-entered nor
 * in the log): the cell changed in between.
 */
static json_t *expected(rctx *r, const ssync_lost *l, const char *t, const char *pk, const char *col, const json_t *prevs)
{
	json_t *out = json_array(), *p;
	size_t i, nl = strlen(r->node);

	json_array_foreach(prevs, i, p) {
		const char *v = json_string_value(p), *hash = v ? strrchr(v, '#') : NULL;
		const ssync_entry *a = l->e;
		int64_t seq;
		if (!out || !hash)
			goto none;
		if ((size_t)(hash - v) != nl || strncmp(v, r->node, nl) != 0) {
			json_array_append(out, p); /* another node's version: as named */
			continue;
		}
		seq = strtoll(hash + 1, NULL, 10);
		while (a->seq > seq && a->has_prev) {
			ssync_lost *pl = find_lost(r, a->prev);
			if (!pl)
				break;
			a = pl->e;
		}
		if (a->seq == seq) {
			char *k, hex[2 * SSYNC_HASH_BYTES + 1];
			json_t *m;
			ssync_hex_encode(hex, a->hash, SSYNC_HASH_BYTES);
			if (!(k = key3(hex, t, pk, col)))
				goto none;
			m = json_object_get(r->gone, k);
			free(k);
			if (!m)
				goto none;
			json_array_extend(out, m);
			continue;
		}
		/* left the lost entries at a: the log holds a's predecessor (and so
		 * this history's entry at seq) only if its hash is a's prev */
		if (a->seq <= seq || !a->has_prev || !log_has(r, a->seq - 1, a->prev))
			goto none;
		json_array_append(out, p);
	}
	return out;
none:
	json_decref(out);
	return NULL;
}

static int same_set(const json_t *a, const json_t *b)
{
	size_t i, j;

	if (json_array_size(a) != json_array_size(b))
		return 0;
	for (i = 0; i < json_array_size(a); i++) {
		const char *x = json_string_value(json_array_get(a, i));
		for (j = 0; j < json_array_size(b); j++)
			if (x && json_string_value(json_array_get(b, j)) && strcmp(x, json_string_value(json_array_get(b, j))) == 0)
				break;
		if (j == json_array_size(b))
			return 0;
	}
	return 1;
}

/* The cell now: its leaf versions and visible value (new references). */
static int cell_now(rctx *r, const char *t, const char *pk, const char *col, const json_t *state,
	json_t **versions, json_t **value, ssync_error *err)
{
	char *k = key3(t, pk, col, NULL);
	json_t *o = k ? json_object_get(r->overlay, k) : NULL, *w;

	free(k);
	*value = NULL;
	if (o) {
		*versions = json_incref(json_array_get(o, 0));
		*value = json_incref(json_array_get(o, 1));
		return 0;
	}
	if (!(*versions = ssync_merge__leaf_ids(state, col)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if ((w = ssync_merge__winner(state, col)))
		return ssync_merge__leaf_value(r->st, t, pk, col, w, value, err);
	return 0;
}

static int set_overlay(rctx *r, const char *t, const char *pk, const char *col, json_t *versions, json_t *value)
{
	char *k = key3(t, pk, col, NULL);
	int rc = k ? json_object_set_new(r->overlay, k, json_pack("[OO]", versions, value ? value : json_null())) : -1;

	free(k);
	return rc;
}

static int set_gone(rctx *r, const ssync_lost *l, const char *t, const char *pk, const char *col, json_t *versions)
{
	char hex[2 * SSYNC_HASH_BYTES + 1], *k;
	int rc;

	ssync_hex_encode(hex, l->e->hash, SSYNC_HASH_BYTES);
	if (!(k = key3(hex, t, pk, col)))
		return -1;
	rc = json_object_set(r->gone, k, versions);
	free(k);
	return rc;
}

/* One value as a parameter: text, or NULL; @p cast the SQL around it. */
static int value_param(const json_t *v, char **param, const char **cast)
{
	char buf[64];

	*param = NULL;
	*cast = "";
	if (json_is_null(v))
		return 0;
	if (json_is_string(v))
		return (*param = strdup(json_string_value(v))) ? 0 : -1;
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		*cast = "INTEGER";
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		*cast = "REAL";
	} else {
		return 1; /* a blob: not written again */
	}
	return (*param = strdup(buf)) ? 0 : -1;
}

typedef struct wbuf {
	sqlite3_str *sql;
	char **params;
	int np;
} wbuf;

static int add_param(wbuf *w, const json_t *v)
{
	const char *cast;
	char *p, **np;
	int rc = value_param(v, &p, &cast);

	if (rc != 0)
		return rc;
	if (!(np = realloc(w->params, (size_t)(w->np + 1) * sizeof(*np)))) {
		free(p);
		return -1;
	}
	w->params = np;
	w->params[w->np++] = p;
	if (cast[0])
		sqlite3_str_appendf(w->sql, "CAST(?%d AS %s)", w->np, cast);
	else
		sqlite3_str_appendf(w->sql, "?%d", w->np);
	return 0;
}

/*
 * Plan one op of lost entry @p l: each cell's result into @p jcells, and
 * its SQL into @p w (nothing when no cell may be written). The versions
 * the written cells hold now go to r->expect, checked again in the write.
 */
static int plan_op(rctx *r, const ssync_lost *l, const json_t *op, json_t *jcells, wbuf *w, int *nwrite, ssync_error *err)
{
	const char *t = json_string_value(json_object_get(op, "t")), *pk = json_string_value(json_object_get(op, "k"));
	const json_t *cells = json_object_get(op, "c");
	json_t *c;
	const ssync_table_info *ti = ssync_store__table(r->st, t);
	const ssync_table_spec *spec = ssync_domain_table(t);
	json_t *state = NULL, *rowv = NULL, *exp = NULL;
	int error = 0, visible, kind = 0, allok = 1, nok = 0, rowres = 0;
	size_t i;
	char *ek;

	if (!t || !pk || !ti)
		return 0;
	if ((error = ssync_merge__load(r->st, t, pk, &state, NULL, err)) < 0)
		return error;
	{
		json_t *vv = NULL;
		if ((error = cell_now(r, t, pk, "$row", state, &vv, &rowv, err)) < 0)
			goto done;
		json_decref(vv);
	}
	visible = json_is_integer(rowv) && json_integer_value(rowv) == 1;
	if (!(exp = json_object())) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(cells, i, c) {
		const char *col = json_string_value(json_array_get(c, 0));
		json_t *val = json_array_get(c, 1), *now = NULL, *cur = NULL, *want = NULL;
		const char *res;
		if (strcmp(col, "$row") == 0)
			kind = json_integer_value(val) == 1 ? 1 : 2;
		if (spec && spec->priv)
			res = "private";
		else if (strcmp(col, "$row") != 0 && ssync_table__col(ti, col) < 0)
			res = "gone";
		else if (json_is_object(val))
			res = "unsupported";
		else if ((error = cell_now(r, t, pk, col, state, &now, &cur, err)) < 0)
			goto done;
		else if (!(want = expected(r, l, t, pk, col, json_array_get(c, 2))) || !same_set(want, now))
			res = cur && json_equal(cur, val) && (strcmp(col, "$row") == 0 || visible) ? "same" : "changed";
		else if (cur && json_equal(cur, val) && (strcmp(col, "$row") == 0 || visible))
			res = "same";
		else
			res = "ok";
		if (strcmp(res, "same") == 0 && now)
			set_gone(r, l, t, pk, col, now);
		if (strcmp(res, "ok") == 0) {
			nok++;
			json_object_set(exp, col, now);
		}
		if (strcmp(col, "$row") == 0)
			rowres = res[0];
		if (strcmp(res, "ok") != 0 && strcmp(col, "$row") != 0)
			allok = 0;
		json_array_append_new(jcells, json_pack("{sssOss}", "column", col, "value", val, "result", res));
		json_decref(now);
		json_decref(cur);
		json_decref(want);
	}
	/* the op as a whole: an update only of a row that is there; a row
	 * created again only whole (an insert writes every column) */
	json_array_foreach(jcells, i, c) {
		const char *col = json_string_value(json_object_get(c, "column"));
		if (strcmp(json_string_value(json_object_get(c, "result")), "ok") != 0)
			continue;
		if ((kind == 0 && !visible) || (kind == 1 && !visible && (!allok || rowres != 'o'))) {
			json_object_set_new(c, "result", json_string(kind == 0 ? "gone" : "changed"));
			json_object_del(exp, col);
			nok--;
		}
	}
	if (nok <= 0)
		goto done;
	if (!(ek = key3(t, pk, "", NULL))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	json_object_set(r->expect, ek, exp);
	free(ek);
	if (kind == 2) {
		json_t *jpk = json_string(pk);
		sqlite3_str_appendf(w->sql, "DELETE FROM \"%w\" WHERE \"%w\" = ", t, ti->cols[ti->pk]);
		error = add_param(w, jpk) == 0 ? 0 : SSYNC_ERROR;
		json_decref(jpk);
	} else if (kind == 1 && !visible) {
		sqlite3_str_appendf(w->sql, "INSERT INTO \"%w\"(\"%w\"", t, ti->cols[ti->pk]);
		json_array_foreach(cells, i, c)
			if (strcmp(json_string_value(json_array_get(c, 0)), "$row") != 0)
				sqlite3_str_appendf(w->sql, ", \"%w\"", json_string_value(json_array_get(c, 0)));
		sqlite3_str_appendall(w->sql, ") VALUES (");
		{
			json_t *jpk = json_string(pk);
			error = add_param(w, jpk) == 0 ? 0 : SSYNC_ERROR;
			json_decref(jpk);
		}
		json_array_foreach(cells, i, c)
			if (error == 0 && strcmp(json_string_value(json_array_get(c, 0)), "$row") != 0) {
				sqlite3_str_appendall(w->sql, ", ");
				error = add_param(w, json_array_get(c, 1)) == 0 ? 0 : SSYNC_ERROR;
			}
		sqlite3_str_appendall(w->sql, ")");
	} else {
		int first = 1;
		sqlite3_str_appendf(w->sql, "UPDATE \"%w\" SET ", t);
		json_array_foreach(cells, i, c) {
			const char *col = json_string_value(json_array_get(c, 0));
			const char *res = json_string_value(json_object_get(json_array_get(jcells, i), "result"));
			if (error || strcmp(col, "$row") == 0 || strcmp(res, "ok") != 0)
				continue;
			sqlite3_str_appendf(w->sql, "%s\"%w\" = ", first ? "" : ", ", col);
			first = 0;
			error = add_param(w, json_array_get(c, 1)) == 0 ? 0 : SSYNC_ERROR;
		}
		sqlite3_str_appendf(w->sql, " WHERE \"%w\" = ", ti->cols[ti->pk]);
		if (error == 0) {
			json_t *jpk = json_string(pk);
			error = add_param(w, jpk) == 0 ? 0 : SSYNC_ERROR;
			json_decref(jpk);
		}
	}
	sqlite3_str_appendall(w->sql, ";\n");
	if (error < 0)
		ssync_error_set(err, SSYNC_ERROR, "out of memory");
	*nwrite += nok;
done:
	json_decref(state);
	json_decref(rowv);
	json_decref(exp);
	return error;
}

/* Inside the write, before anything is signed: every cell it writes still
 * holds the versions planned (a sync that committed in between changed
 * nothing under it), then the row is checked as `sql` checks it. */
static int check_in_write(const char *table, const char *pk, int op, void *p, ssync_error *err)
{
	rctx *r = p;
	char *k = key3(table, pk, "", NULL);
	json_t *exp = k ? json_object_get(r->expect, k) : NULL, *state = NULL, *want;
	const char *col;
	int error = 0;

	free(k);
	if (!exp)
		return ssync_error_set(err, SSYNC_ECONFLICT, "%s %s: changed by the re-entry without a plan", table, pk);
	/* the merge state as stored: a row one insert created is "=hlc node seq"
	 * (read here without the domain row, which a delete just removed) */
	{
		sqlite3_stmt *q = ssync_store__stmt(r->st, "SELECT state FROM ssync_row WHERE tbl=? AND pk=?", err);
		const char *txt;
		if (!q)
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, pk, -1, SQLITE_STATIC);
		if ((error = ssync_store__step_row(r->st, q, "read merge state", err)) > 0 &&
		    (txt = (const char *)sqlite3_column_text(q, 0))) {
			char node[SSYNC_NODE_ID_MAX + 1];
			long long seq;
			unsigned long long hlc;
			if (txt[0] != '=')
				state = json_loads(txt, 0, NULL);
			else if (sscanf(txt, "=%llu %63s %lld", &hlc, node, &seq) == 3) {
				char v[SSYNC_NODE_ID_MAX + 32];
				snprintf(v, sizeof(v), "%s#%lld", node, seq);
				state = json_pack("{s[s]}", "*", v);
			}
			if (!state)
				error = ssync_error_set(err, SSYNC_ECORRUPT, "merge state of %s/%s is damaged", table, pk);
		}
		sqlite3_reset(q);
		if (error < 0)
			return error;
		error = 0;
	}
	json_object_foreach(exp, col, want) {
		/* "*": every cell of a row one insert created has that one version */
		json_t *now = !state ? json_array() : json_object_get(state, "*") ? json_incref(json_object_get(state, "*")) :
			ssync_merge__leaf_ids(state, col);
		int same = now && same_set(want, now);
		json_decref(now);
		if (!same) {
			error = ssync_error_set(err, SSYNC_ECONFLICT, "%s %s %s changed while it was being re-entered; "
				"nothing of this entry was written", table, pk, col);
			ssync_error_hint(err, "run schoolsync reenter again");
			break;
		}
	}
	json_decref(state);
	return error ? error : ssync_domain__check_written(table, pk, op, &r->sc, err);
}

static const char *op_kind(const json_t *op)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(op, "c"), i, c)
		if (strcmp(json_string_value(json_array_get(c, 0)), "$row") == 0)
			return json_integer_value(json_array_get(c, 1)) == 1 ? "insert" : "delete";
	return "update";
}

/* One lost entry: its report object, planned and (with @p apply) written. */
static int one(rctx *r, const ssync_lost *l, int apply, const char *actor, json_t *jops, json_t *je,
	int *written, ssync_error *err)
{
	wbuf w = { NULL, NULL, 0 };
	json_t *op;
	size_t i;
	int error = 0, nwrite = 0;
	char mark[SSYNC_ACTOR_MAX + 1], ver[SSYNC_NODE_ID_MAX + 32];

	if (!(w.sql = sqlite3_str_new(ssync_store__db(r->st))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	json_object_clear(r->expect);
	json_array_foreach(l->e->ops, i, op) {
		json_t *jcells = json_array(), *jo;
		char label[256];
		const char *t = json_string_value(json_object_get(op, "t")), *pk = json_string_value(json_object_get(op, "k"));
		if (!jcells || (error = plan_op(r, l, op, jcells, &w, &nwrite, err)) < 0) {
			json_decref(jcells);
			error = error < 0 ? error : ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		jo = json_pack("{sssssossso}", "table", t, "key", pk, "label",
			ssync_domain_label(r->n, t, pk, label, sizeof(label)) > 0 ? json_string(label) : json_null(),
			"op", op_kind(op), "cells", jcells);
		if (!jo || json_array_append_new(jops, jo) != 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
	}
	if (nwrite == 0) {
		json_object_set_new(je, "status", json_string("nothing"));
		if (apply) {
			char key[sizeof(SSYNC_REENTER_SETTLED) + 2 * SSYNC_HASH_BYTES];
			memcpy(key, SSYNC_REENTER_SETTLED, strlen(SSYNC_REENTER_SETTLED));
			ssync_hex_encode(key + strlen(SSYNC_REENTER_SETTLED), l->e->hash, SSYNC_HASH_BYTES);
			error = ssync_store_meta_set(r->st, key, "1", err);
		}
		goto done;
	}
	if (!apply) {
		snprintf(ver, sizeof(ver), "%s#0", r->node); /* stands for the re-entry a real run writes */
	} else {
		ssync_write_result res;
		ssync_error werr;
		char *sql = sqlite3_str_value(w.sql);
		ssync_error_clear(&werr);
		ssync_lost__actor(mark, sizeof(mark), actor, l->e->hash);
		r->sc.n = r->n;
		r->sc.rows = 0;
		if (ssync_node_sql_checked(r->n, sql, w.np, (const char *const *)w.params, mark, NULL, NULL, check_in_write, r,
			&res, &werr) < 0) {
			json_object_set_new(je, "status", json_string("refused"));
			json_object_set_new(je, "error", json_pack("{ssss}", "code", ssync_error_name(werr.code), "message",
				werr.message));
			/* the clock and the key are the same for every entry: stop there */
			if (werr.code == SSYNC_ECLOCK || werr.code == SSYNC_ECERT || werr.code == SSYNC_EREADONLY ||
			    werr.code == SSYNC_EROLLBACK || werr.code == SSYNC_EBUSY) {
				*err = werr;
				error = werr.code;
			}
			goto done;
		}
		if (res.entries != 1) {
			json_object_set_new(je, "status", json_string(res.entries ? "written" : "nothing"));
			*written += res.entries > 0;
			goto done;
		}
		snprintf(ver, sizeof(ver), "%s#%lld", r->node, (long long)res.first_seq);
		json_object_set_new(je, "status", json_string("written"));
		json_object_set_new(je, "reentered_as", json_string(ver));
		(*written)++;
	}
	/* what stands for this entry's cells from now on */
	json_array_foreach(l->e->ops, i, op) {
		const char *t = json_string_value(json_object_get(op, "t")), *pk = json_string_value(json_object_get(op, "k"));
		json_t *cells = json_object_get(json_array_get(jops, i), "cells"), *c;
		size_t j;
		json_array_foreach(cells, j, c) {
			const char *col = json_string_value(json_object_get(c, "column"));
			json_t *v;
			if (strcmp(json_string_value(json_object_get(c, "result")), "ok") != 0)
				continue;
			v = json_pack("[s]", ver);
			set_gone(r, l, t, pk, col, v);
			set_overlay(r, t, pk, col, v, json_object_get(c, "value"));
			json_decref(v);
			if (apply)
				json_object_set_new(c, "result", json_string("written"));
		}
	}
done:
	for (i = 0; i < (size_t)w.np; i++)
		free(w.params[i]);
	free(w.params);
	sqlite3_free(sqlite3_str_finish(w.sql));
	return error;
}

/* Signed lines from a file: a `reenter --json` report, a `quarantine --json`
 * listing (each object's "line"), or raw lines. */
static int read_from(rctx *r, const char *path, json_t *ignored, ssync_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, why[300];
	size_t len = 0, cap = 0, i;
	json_t *j, *arr, *it;
	int error = 0;

	if (!f)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "cannot read %s", path);
	for (;;) {
		size_t got;
		if (len + 65536 + 1 > cap) {
			char *nb;
			if (cap >= FROM_MAX_BYTES || !(nb = realloc(buf, cap = cap ? cap * 2 : 65536 * 2))) {
				free(buf);
				fclose(f);
				return ssync_error_set(err, SSYNC_ETOOLARGE, "%s is larger than %d MiB", path, FROM_MAX_BYTES >> 20);
			}
			buf = nb;
		}
		if ((got = fread(buf + len, 1, 65536, f)) == 0)
			break;
		len += got;
	}
	fclose(f);
	if (!buf)
		return 0;
	buf[len] = 0;
	if ((j = json_loadb(buf, len, 0, NULL))) {
		arr = json_is_array(j) ? j : json_object_get(j, "entries");
		json_array_foreach(arr, i, it) {
			const char *line = json_string_value(json_object_get(it, "line"));
			if (line && (error = ssync_lost__add_line(r->st, r->node, line, strlen(line), r->s, why, sizeof(why), err)) < 0)
				break;
			if (line && error == 1 && why[0])
				json_array_append_new(ignored, json_string(why));
			error = 0;
		}
		json_decref(j);
	} else {
		char *p = buf, *nl;
		for (; error == 0 && *p; p = nl ? nl + 1 : p + strlen(p)) {
			nl = strchr(p, '\n');
			if ((nl ? (size_t)(nl - p) : strlen(p)) == 0)
				continue;
			error = ssync_lost__add_line(r->st, r->node, p, nl ? (size_t)(nl - p) : strlen(p), r->s, why, sizeof(why), err);
			if (error == 1 && why[0])
				json_array_append_new(ignored, json_string(why));
			error = error < 0 ? error : 0;
		}
	}
	free(buf);
	return error;
}

/*
 * Before writing: what this node signs now must not be held for good too.
 * Its next entry is dated after its latest (a chain's times only grow):
 * after a clock far ahead, that is still far ahead even once the clock is
 * fixed; and a clock far past the witnessed time is ahead itself.
 */
static int clock_ok(rctx *r, ssync_error *err)
{
	int64_t tmax = 0, count = 0, head = 0, wall = (int64_t)ssync_hlc_wall_ms(), ms;
	uint64_t hlc = 0;
	char a[40], b[40];
	int error;

	if ((error = ssync_witness__latest(r->st, &tmax, &count, err)) < 0 ||
	    (error = ssync_log__head(r->st, r->node, &head, NULL, &hlc, err)) < 0)
		return error;
	if (count == 0 || tmax == 0)
		return 0; /* no valid checkpoint (none, or all void: a witness reset from 1):
		           * nothing is judged by witnessed time */
	(void)ssync_time_utc(tmax, 0, b, sizeof(b));
	if (wall > tmax + SSYNC_WITNESS_HOLD_MS) {
		(void)ssync_time_utc(wall, 0, a, sizeof(a));
		ssync_error_set(err, SSYNC_ECLOCK, "this computer's clock reads %s, %lld h past the latest time the district "
			"hub witnessed (%s): what it re-enters now would be held for good as well; nothing was written (E_CLOCK)",
			a, (long long)((wall - tmax) / 3600000), b);
		ssync_error_hint(err, "if the clock is wrong, set this PC's date, time and time zone correctly; if it is right, "
			"sync with the hub first (its checkpoint brings the district's time), then run schoolsync reenter --apply again");
		return SSYNC_ECLOCK;
	}
	ms = (int64_t)ssync_hlc_ms(hlc);
	if (ms > tmax + SSYNC_WITNESS_HOLD_MS) {
		(void)ssync_time_utc(ms, 0, a, sizeof(a));
		ssync_error_set(err, SSYNC_ECLOCK, "this node's log already holds entries dated up to %s (written while its "
			"clock was ahead); whatever it signs now is dated after them, so it would be held for good too; "
			"nothing was written (E_CLOCK)", a);
		ssync_error_hint(err, "wait until this PC's clock passes %s, or have the hub re-enrol this school with a cut "
			"before its first held entry and re-enter from the new home (docs/OPERATIONS.md §11)", a);
		return SSYNC_ECLOCK;
	}
	return 0;
}

static int frozen(rctx *r, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(r->st, "SELECT seq FROM ssync_frozen WHERE node=?", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, r->node, -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(r->st, q, "read freezes", err)) > 0) {
		ssync_error_set(err, SSYNC_EFORK, "node %s is frozen for equivocation at seq %lld: whatever it signs is "
			"refused everywhere; nothing was written (E_FORK)", r->node, (long long)sqlite3_column_int64(q, 0));
		ssync_error_hint(err, "the hub re-enrols the school under a new key (docs/OPERATIONS.md §7); then run "
			"schoolsync reenter in the new home");
		rc = SSYNC_EFORK;
	}
	sqlite3_reset(q);
	return rc;
}

static json_t *entry_json(const ssync_lost *l)
{
	char ver[SSYNC_NODE_ID_MAX + 32], hex[2 * SSYNC_HASH_BYTES + 1], when[40], *line = NULL;
	size_t len = 0;
	json_t *o;

	snprintf(ver, sizeof(ver), "%s#%lld", l->e->node, (long long)l->e->seq);
	ssync_hex_encode(hex, l->e->hash, SSYNC_HASH_BYTES);
	ssync_hlc_format(l->e->hlc, when, sizeof(when));
	if (ssync_entry_line(l->e, &line, &len, NULL) < 0)
		return NULL;
	while (len > 0 && line[len - 1] == '\n')
		len--;
	o = json_pack("{ssssssssssss%sssososo}", "entry", ver, "hash", hex, "kind", l->kind, "time", when,
		"actor", l->e->actor ? l->e->actor : "", "line", line, len, "status",
		l->done_seq ? "done" : l->super_seq ? "superseded" : "pending", "reentered_as", json_null(), "error", json_null(),
		"ops", json_array());
	free(line);
	if (o && (l->done_seq || l->super_seq)) {
		snprintf(ver, sizeof(ver), "%s#%lld", l->e->node, (long long)(l->done_seq ? l->done_seq : l->super_seq));
		json_object_set_new(o, "reentered_as", json_string(ver));
	}
	return o;
}

int ssync_reenter(ssync_node *n, const ssync_reenter_opts *o, char **report, ssync_error *err)
{
	ssync_lost_set s = { NULL, 0, 0 };
	rctx r;
	json_t *out = NULL, *entries = NULL, *ignored = NULL;
	const char *actor = o->actor ? o->actor : ssync_node_default_actor();
	int error = 0, written = 0, pending = 0, i;
	size_t k;

	*report = NULL;
	memset(&r, 0, sizeof(r));
	r.n = n;
	r.st = ssync_node_store(n);
	r.node = o->node ? o->node : ssync_node_id(n);
	r.s = &s;
	if (o->apply && strcmp(r.node, ssync_node_id(n)) != 0) {
		ssync_error_set(err, SSYNC_EPERM, "only node %s itself can re-enter its entries; this is %s", r.node, ssync_node_id(n));
		ssync_error_hint(err, "save this listing (schoolsync reenter --node %s --json > FILE) and run "
			"schoolsync reenter --from FILE --apply at the school", r.node);
		return SSYNC_EPERM;
	}
	if (!(r.gone = json_object()) || !(r.overlay = json_object()) || !(r.expect = json_object()) ||
	    !(entries = json_array()) || !(ignored = json_array())) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = ssync_lost__collect(r.st, r.node, &s, err)) < 0)
		goto done;
	for (i = 0; i < o->nfrom; i++)
		if ((error = read_from(&r, o->from[i], ignored, err)) < 0)
			goto done;
	if ((error = ssync_lost__marks(r.st, r.node, &s, err)) < 0)
		goto done;
	for (k = 0; k < s.n; k++)
		pending += s.v[k].done_seq == 0 && s.v[k].super_seq == 0;
	if (o->apply && pending > 0 && ((error = frozen(&r, err)) < 0 || (error = clock_ok(&r, err)) < 0))
		goto done;
	for (k = 0; k < s.n; k++) {
		const ssync_lost *l = &s.v[k];
		json_t *je = entry_json(l);
		if (!je || json_array_append_new(entries, je) != 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (l->done_seq || l->super_seq)
			continue;
		if ((error = one(&r, l, o->apply, actor, json_object_get(je, "ops"), je, &written, err)) < 0)
			goto done;
	}
	/* left to re-enter: what a run would write, or a refused write */
	pending = 0;
	{
		json_t *je;
		json_array_foreach(entries, k, je) {
			const char *st = json_string_value(json_object_get(je, "status"));
			pending += (!o->apply && strcmp(st, "pending") == 0) || strcmp(st, "refused") == 0;
		}
	}
	out = json_pack("{sssbsisisOsO}", "node", r.node, "apply", o->apply, "written", written, "pending", pending,
		"ignored", ignored, "entries", entries);
	if (!out || !(*report = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
done:
	json_decref(out);
	json_decref(entries);
	json_decref(ignored);
	json_decref(r.gone);
	json_decref(r.overlay);
	json_decref(r.expect);
	ssync_lost__free(&s);
	return error;
}
