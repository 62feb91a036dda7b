/* Changing and removing rows the way clerks name them: find a row by its
 * id or by the key people know (a teacher's staff number, a unique name),
 * edit it with the same validation as an insert (domain.c), delete it only
 * when nothing refers to it, and resolve a conflicted cell in one write.
 *
 * Every write goes through ssync_node_sql_bound()/ssync_node_write_cell()
 * with bound values; identifiers come from the compiled-in spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_int.h"
#include "schoolsync/review.h"

/* One text lookup "SELECT id FROM t WHERE col = ?1": count and first id. */
static int lookup(sqlite3 *db, const char *table, const char *col, const char *key, char *id, size_t idlen,
	char *more, size_t morelen, int *count, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	char *sql = sqlite3_mprintf("SELECT id FROM \"%w\" WHERE \"%w\" = ?1 ORDER BY id LIMIT 4", table, col);
	int rc;

	*count = 0;
	if (!sql)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		sqlite3_finalize(q);
		return ssync_error_set(err, SSYNC_ERROR, "read %s: %s", table, sqlite3_errmsg(db));
	}
	sqlite3_free(sql);
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (more && morelen)
		more[0] = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		if ((*count)++ == 0)
			snprintf(id, idlen, "%s", v ? v : "");
		if (more && morelen) {
			size_t l = strlen(more);
			snprintf(more + l, morelen - l, "%s%s", l ? ", " : "", v ? v : "");
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : ssync_error_set(err, SSYNC_ERROR, "read %s: %s", table, sqlite3_errmsg(db));
}

int ssync_domain_find_id(ssync_node *n, const char *table, const char *key, char *id_out, size_t id_outlen,
	ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char more[400];
	int count = 0, error;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if (!key || !*key)
		return ssync_error_set(err, SSYNC_EINVAL, "%s: an id is required", t->name);
	if ((error = lookup(db, t->name, "id", key, id_out, id_outlen, NULL, 0, &count, err)) < 0 || count)
		return error;
	if (t->unique && ((error = lookup(db, t->name, t->unique, key, id_out, id_outlen, more, sizeof(more), &count,
		err)) < 0 || count == 1))
		return error;
	if (count == 0 && ssync_domain_field_index(t, "name") >= 0 &&
	    (error = lookup(db, t->name, "name", key, id_out, id_outlen, more, sizeof(more), &count, err)) < 0)
		return error;
	if (count == 1)
		return 0;
	id_out[0] = 0;
	if (count > 1) {
		ssync_error_set(err, SSYNC_ECONFLICT, "%s '%s' names %s%d rows: %s", t->name, key, count > 3 ? "more than " : "",
			count > 3 ? 3 : count, more);
		ssync_error_hint(err, "give the id instead");
		return SSYNC_ECONFLICT;
	}
	ssync_error_set(err, SSYNC_ENOTFOUND, "no %s with id%s%s '%s'", t->name, t->unique ? ", " : "",
		t->unique ? t->unique : "", key);
	ssync_error_hint(err, "list them with: schoolsync %s list", t->name);
	return SSYNC_ENOTFOUND;
}

/* The row's current values as text, aligned with the spec's fields. */
static int read_row(sqlite3 *db, const ssync_table_spec *t, const char *id, ssync_drow *cur, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" WHERE id = ?1", t->name);
	int i, nc, found = 0, rc;

	memset(cur->vals, 0, sizeof(cur->vals));
	if (!sql)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		sqlite3_finalize(q);
		return ssync_error_set(err, SSYNC_ERROR, "read %s: %s", t->name, sqlite3_errmsg(db));
	}
	sqlite3_free(sql);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		found = 1;
		nc = sqlite3_column_count(q);
		for (i = 0; i < nc; i++) {
			int fi = ssync_domain_field_index(t, sqlite3_column_name(q, i));
			if (fi < 0 || sqlite3_column_type(q, i) == SQLITE_NULL)
				continue;
			snprintf(cur->buf[fi], sizeof(cur->buf[fi]), "%s", (const char *)sqlite3_column_text(q, i));
			cur->vals[fi] = cur->buf[fi];
		}
	} else if (rc != SQLITE_DONE) { /* a busy read is not "no such row" */
		rc = ssync_store__dberr(db, err, t->name);
		sqlite3_finalize(q);
		return rc;
	}
	sqlite3_finalize(q);
	return found ? 0 : ssync_error_set(err, SSYNC_ENOTFOUND, "no %s %s", t->name, id);
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int ssync_domain_update(ssync_node *n, const char *table, const char *key, const char *const *values,
	const char *actor, char *id_out, size_t id_outlen, int *changed_out, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	ssync_drow *cur = NULL, *row = NULL;
	ssync_dctx c;
	const char *raw[SSYNC_DOMAIN_MAX_FIELDS], *params[SSYNC_DOMAIN_MAX_FIELDS + 1];
	char id[160], why[600], *sql = NULL, *p;
	size_t cap;
	int error = 0, bad = -1, i, nset = 0;

	if (changed_out)
		*changed_out = 0;
	ssync_domain__ctx_init(&c, ssync_node_store(n), t);
	if (!t) {
		error = ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
		goto done;
	}
	if ((error = ssync_domain_find_id(n, t->name, key, id, sizeof(id), err)) < 0)
		goto done;
	if (id_out)
		snprintf(id_out, id_outlen, "%s", id);
	if (!(cur = malloc(sizeof(*cur))) || !(row = malloc(sizeof(*row)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = read_row(c.db, t, id, cur, err)) < 0)
		goto done;
	for (i = 0; i < t->nfields; i++)
		raw[i] = values[i] ? values[i] : cur->vals[i]; /* "" clears a field; NULL keeps it */
	if (t->owned && values[0] && !same(values[0], cur->vals[0])) {
		error = ssync_error_set(err, SSYNC_EPERM, "%s.school_id is the row's owner and never changes", t->name);
		ssync_error_hint(err, "add a new row for the other school and delete this one");
		goto done;
	}
	/* The same checks as an insert, with the edited row itself out of the
	 * way of its own uniqueness and overlap rules. */
	c.self_id = id;
	if ((error = ssync_domain__normalize_row(t, raw, row, &bad, why, sizeof(why))) < 0 ||
	    (error = ssync_domain__check_row(&c, row, &bad, why, sizeof(why))) < 0) {
		if (bad >= 0)
			ssync_error_set(err, error, "%s %s: %s", t->name, t->fields[bad].name, why);
		else
			ssync_error_set(err, error, "%s: %s", t->name, why);
		goto done;
	}
	cap = 64 + (size_t)t->nfields * 48;
	if (!(sql = malloc(cap))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	p = sql + snprintf(sql, cap, "UPDATE \"%s\" SET ", t->name);
	params[0] = id;
	for (i = 0; i < t->nfields; i++) {
		if (same(row->vals[i], cur->vals[i]))
			continue;
		params[++nset] = row->vals[i];
		p += snprintf(p, cap - (size_t)(p - sql), "%s\"%s\" = ?%d", nset > 1 ? ", " : "", t->fields[i].name, nset + 1);
	}
	snprintf(p, cap - (size_t)(p - sql), " WHERE id = ?1");
	if (nset == 0)
		goto done; /* nothing to change: no entry */
	if ((error = ssync_node_sql_bound(n, sql, nset + 1, params, actor, NULL, NULL, NULL, err)) < 0)
		goto done;
	if (changed_out)
		*changed_out = nset;
done:
	ssync_domain__ctx_free(&c);
	free(sql);
	free(cur);
	free(row);
	return error;
}

/* SSYNC_ECONFLICT naming the rows of other tables that refer to t's row id. */
static int referred(sqlite3 *db, const ssync_table_spec *t, const char *id, ssync_error *err)
{
	int error, k, i;

	for (k = 0; k < ssync_domain_ntables(); k++) {
		const ssync_table_spec *o = ssync_domain_table_at(k);
		for (i = 0; i < o->nfields; i++) {
			char first[160], more[400];
			int count = 0;
			if (o->fields[i].type != SSYNC_FT_REF || strcmp(o->fields[i].ref, t->name) != 0)
				continue;
			if ((error = lookup(db, o->name, o->fields[i].name, id, first, sizeof(first), more, sizeof(more), &count,
				err)) < 0)
				return error;
			if (count > 0) {
				ssync_error_set(err, SSYNC_ECONFLICT, "%s %s is still referred to by %s%s %s (%s): %s", t->name, id,
					count > 3 ? "more than 3 " : "", o->name, o->fields[i].name, o->label, more);
				char opt[64], *c;
				snprintf(opt, sizeof(opt), "%s", o->owned && i == 0 ? "school" : o->fields[i].name);
				for (c = opt; *c; c++)
					if (*c == '_')
						*c = '-';
				ssync_error_hint(err, "delete or change those rows first (schoolsync %s list --%s %s)",
					strcmp(o->name, "edu_group") == 0 ? "group" : o->name, opt, id);
				return SSYNC_ECONFLICT;
			}
		}
	}
	return 0;
}

int ssync_domain_delete(ssync_node *n, const char *table, const char *key, const char *actor,
	char *id_out, size_t id_outlen, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	const char *params[1];
	char id[160], *sql;
	int error;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if ((error = ssync_domain_find_id(n, t->name, key, id, sizeof(id), err)) < 0)
		return error;
	if (id_out)
		snprintf(id_out, id_outlen, "%s", id);
	/* A row others refer to stays: deleting it would leave them dangling
	 * (what `check` reports). */
	if ((error = referred(db, t, id, err)) < 0)
		return error;
	if (!(sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE id = ?1", t->name)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	params[0] = id;
	error = ssync_node_sql_bound(n, sql, 1, params, actor, NULL, NULL, NULL, err);
	sqlite3_free(sql);
	return error;
}

typedef struct pick_find {
	const char *table, *pk, *column, *version;
	int conflicted, found, is_null;
	char value[SSYNC_DOMAIN_VALUE_MAX];
	char versions[400];
} pick_find;

static int pick_cb(const ssync_conflict *c, void *p)
{
	pick_find *f = p;
	int i;

	if (strcmp(c->table, f->table) != 0 || strcmp(c->pk, f->pk) != 0 || strcmp(c->column, f->column) != 0)
		return 0;
	f->conflicted = 1;
	for (i = 0; i < c->nleaves; i++) {
		char name[96];
		size_t l = strlen(f->versions);
		snprintf(name, sizeof(name), "%s#%lld", c->leaves[i].node, (long long)c->leaves[i].seq);
		snprintf(f->versions + l, sizeof(f->versions) - l, "%s%s", l ? ", " : "", name);
		if (f->version && strcmp(name, f->version) == 0) {
			json_error_t jerr;
			json_t *v = json_loads(c->leaves[i].value_json ? c->leaves[i].value_json : "null", JSON_DECODE_ANY, &jerr);
			f->found = 1;
			f->is_null = !v || json_is_null(v);
			if (json_is_string(v))
				snprintf(f->value, sizeof(f->value), "%s", json_string_value(v));
			else if (json_is_integer(v))
				snprintf(f->value, sizeof(f->value), "%lld", (long long)json_integer_value(v));
			else if (json_is_real(v))
				snprintf(f->value, sizeof(f->value), "%.17g", json_real_value(v));
			json_decref(v);
		}
	}
	return 0;
}

int ssync_domain_resolve(ssync_node *n, const char *table, const char *key, const char *column,
	const char *value, const char *version, const char *actor, char *value_out, size_t value_outlen,
	ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	pick_find *f = NULL;
	char id[160], out[SSYNC_DOMAIN_VALUE_MAX], why[400];
	int i, is_null = 0, error = 0;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if ((i = ssync_domain_field_index(t, column ? column : "")) < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "%s has no column '%s'", t->name, column ? column : "");
	if (!value == !version)
		return ssync_error_set(err, SSYNC_EINVAL, "give the value to keep: --value V or --pick VERSION");
	if ((error = ssync_domain_find_id(n, t->name, key, id, sizeof(id), err)) < 0)
		return error;
	if (!(f = calloc(1, sizeof(*f))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	f->table = t->name;
	f->pk = id;
	f->column = t->fields[i].name;
	f->version = version;
	if ((error = ssync_review_conflicts(ssync_node_store(n), pick_cb, f, err)) < 0)
		goto done;
	if (version && !f->found) {
		if (f->conflicted) {
			error = ssync_error_set(err, SSYNC_ENOTFOUND, "%s %s .%s has no version %s (its versions: %s)", t->name, id,
				f->column, version, f->versions);
		} else {
			error = ssync_error_set(err, SSYNC_ENOTFOUND, "%s %s .%s is not in conflict", t->name, id, f->column);
			ssync_error_hint(err, "see: schoolsync conflicts; to change the value: schoolsync %s edit %s --%s V",
				t->name, id, f->column);
		}
		goto done;
	}
	if (version)
		value = f->is_null ? "" : f->value;
	/* The chosen value passes the same checks as an edit. */
	if (ssync_domain_normalize(&t->fields[i], value, out, sizeof(out), &is_null, why, sizeof(why)) < 0) {
		error = ssync_error_set(err, SSYNC_EINVAL, "%s %s: %s", t->name, f->column, why);
		goto done;
	}
	if (t->fields[i].type == SSYNC_FT_REF && !is_null && (error = ssync_domain__row_exists(db, t->fields[i].ref, out)) <= 0) {
		error = error < 0 ? ssync_store__dberr(db, err, t->fields[i].ref) : ssync_error_set(err, SSYNC_ENOTFOUND, "%s %s: no %s %s", t->name, f->column, t->fields[i].ref, out);
		goto done;
	}
	if (t->owned && i == 0) {
		error = ssync_error_set(err, SSYNC_EPERM, "%s.school_id is the row's owner and never changes", t->name);
		goto done;
	}
	if ((error = ssync_node_write_cell(n, t->name, id, f->column, is_null ? NULL : out, actor, NULL, err)) < 0)
		goto done;
	if (value_out)
		snprintf(value_out, value_outlen, "%s", is_null ? "" : out);
done:
	free(f);
	return error;
}

int ssync_domain_list_where(ssync_node *n, const char *table, int nfilters, const char *const *cols,
	const char *const *vals, ssync_row_cb cb, void *payload, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	const char *params[SSYNC_DOMAIN_MAX_FIELDS];
	char norm[SSYNC_DOMAIN_MAX_FIELDS][256], sql[1024];
	size_t len;
	int k, error;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if (t->priv)
		return ssync_error_set(err, SSYNC_EPERM, "%s is private: it is never listed", t->name);
	if (nfilters < 0 || nfilters > SSYNC_DOMAIN_MAX_FIELDS)
		return ssync_error_set(err, SSYNC_EINVAL, "too many filters");
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", t->name);
	for (k = 0; k < nfilters; k++) {
		int fi = ssync_domain_field_index(t, cols[k]), is_null = 0;
		char why[300];
		if (fi < 0)
			return ssync_error_set(err, SSYNC_EINVAL, "%s has no column '%s'", t->name, cols[k]);
		/* The filter means what the same value means in add: 初中 is middle. */
		if (ssync_domain_normalize(&t->fields[fi], vals[k], norm[k], sizeof(norm[k]), &is_null, why, sizeof(why)) < 0)
			snprintf(norm[k], sizeof(norm[k]), "%s", vals[k] ? vals[k] : "");
		params[k] = is_null ? NULL : norm[k];
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s\"%s\" IS ?%d", k ? " AND " : " WHERE ",
			t->fields[fi].name, k + 1);
		if (len >= sizeof(sql))
			return ssync_error_set(err, SSYNC_EINVAL, "too many filters");
	}
	snprintf(sql + len, sizeof(sql) - len, " ORDER BY id");
	error = ssync_domain__query(ssync_store__db(ssync_node_store(n)), sql, nfilters, params, cb, payload, err);
	return error;
}

int ssync_domain_label(ssync_node *n, const char *table, const char *id, char *out, size_t outlen)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	sqlite3_stmt *q = NULL;
	const char *sql;
	int found = 0;

	if (outlen)
		out[0] = 0;
	if (!t || !id || t->priv)
		return 0;
	/* A rotation is named by who goes where; other tables by their name. */
	if (strcmp(t->name, "rotation") == 0)
		sql = "SELECT t.name || ' -> ' || coalesce(s.name, r.to_school) FROM rotation r "
			"LEFT JOIN teacher t ON t.id = r.teacher_id LEFT JOIN school s ON s.id = r.to_school WHERE r.id = ?1";
	else if (ssync_domain_field_index(t, "name") >= 0)
		sql = NULL;
	else
		return 0;
	{
		char *own = sql ? NULL : sqlite3_mprintf("SELECT name FROM \"%w\" WHERE id = ?1", t->name);
		if (!sql && !own)
			return 0;
		if (sqlite3_prepare_v2(db, sql ? sql : own, -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
			/* a label is for display only: a failed read shows none, never a wrong one */
			if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
				snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(q, 0));
				found = 1;
			}
		}
		sqlite3_finalize(q);
		sqlite3_free(own);
	}
	return found;
}

/* ---- sql: raw writes checked like add, edit and delete ---- */


int ssync_domain__check_written(const char *table, const char *pk, int op, void *p, ssync_error *err)
{
	sql_check *sc = p;
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(sc->n));
	ssync_drow *cur = NULL, *row = NULL;
	ssync_dctx c;
	char why[600];
	int error = 0, bad = -1;

	/* Tables the domain does not describe (none today) and private ones
	 * (written encrypted through their own commands) are not checked. */
	if (!t || t->priv)
		return 0;
	sc->rows++;
	if (op == SSYNC_WRITE_DELETE)
		return referred(db, t, pk, err);
	ssync_domain__ctx_init(&c, ssync_node_store(sc->n), t);
	if (!(cur = malloc(sizeof(*cur))) || !(row = malloc(sizeof(*row)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = read_row(db, t, pk, cur, err)) < 0)
		goto done;
	/* The row as written, checked as an insert (add) or an edit: the row
	 * itself out of the way of its own uniqueness and overlap rules. */
	c.self_id = pk;
	if ((error = ssync_domain__normalize_row(t, (const char *const *)cur->vals, row, &bad, why, sizeof(why))) < 0 ||
	    (error = ssync_domain__check_row(&c, row, &bad, why, sizeof(why))) < 0 ||
	    (op == SSYNC_WRITE_INSERT && (error = ssync_domain__id_owned_ok(t, row, pk, why, sizeof(why))) < 0)) {
		if (bad >= 0)
			ssync_error_set(err, error, "%s %s: %s: %s; nothing was written", t->name, pk, t->fields[bad].name, why);
		else
			ssync_error_set(err, error, "%s %s: %s; nothing was written", t->name, pk, why);
		ssync_error_hint(err, "sql writes to the district's tables are checked like add and edit: "
			"fix the value (schoolsync %s --help lists what is allowed)",
			strcmp(t->name, "edu_group") == 0 ? "group" : t->name);
	}
done:
	ssync_domain__ctx_free(&c);
	free(cur);
	free(row);
	return error;
}

int ssync_domain_sql(ssync_node *n, const char *sql, int nparams, const char *const *params, const char *actor,
	ssync_row_cb cb, void *payload, ssync_write_result *res, ssync_error *err)
{
	sql_check sc = { n, 0 };

	return ssync_node_sql_checked(n, sql, nparams, params, actor, cb, payload, ssync_domain__check_written, &sc, res, err);
}
