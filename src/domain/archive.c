/*
 * 一生一档案: student archives, private end to end (docs/PRIVACY.md).
 * Values are checked like any domain value (ssync_domain_normalize), then
 * encrypted under the row's data key before the write, so the replica, the
 * signed log and git only ever hold the enc1: form; reading opens them with
 * the keys this node holds and shows "[encrypted]" where it holds none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_int.h"
#include "schoolsync/domain.h"
#include "schoolsync/privacy.h"

#define TABLE "student_archive"

int ssync_archive_write(ssync_node *n, const char *id, int nfields, const char *const *names,
	const char *const *values, const char *actor, char *id_out, size_t id_outlen, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(TABLE);
	char school[SSYNC_NODE_ID_MAX + 1], newid[128], sql[512], why[256];
	char norm[SSYNC_DOMAIN_MAX_FIELDS][4096];
	const char *cols[SSYNC_DOMAIN_MAX_FIELDS], *clear[SSYNC_DOMAIN_MAX_FIELDS];
	const char *params[SSYNC_DOMAIN_MAX_FIELDS + 2];
	char *enc[SSYNC_DOMAIN_MAX_FIELDS];
	int i, nc = 0, error, is_null, have_name = 0;
	size_t used;

	if (!t)
		return ssync_error_set(err, SSYNC_ERROR, "no table " TABLE " in this build");
	if (nfields < 1 || nfields > SSYNC_DOMAIN_MAX_FIELDS)
		return ssync_error_set(err, SSYNC_EINVAL, "nothing to write: give --name, --grade or --record");
	for (i = 0; i < nfields; i++) {
		int fi = ssync_domain_field_index(t, names[i]);
		if (fi < 0 || strcmp(t->fields[fi].name, "school_id") == 0)
			return ssync_error_set(err, SSYNC_EINVAL, TABLE " has no column '%s' to write", names[i]);
		if (ssync_domain_normalize(&t->fields[fi], values[i] ? values[i] : "", norm[nc], sizeof(norm[nc]), &is_null,
			why, sizeof(why)) < 0)
			return ssync_error_set(err, SSYNC_EINVAL, "%s: %s", t->fields[fi].name, why);
		if (is_null && t->fields[fi].required)
			return ssync_error_set(err, SSYNC_EINVAL, "%s is required", t->fields[fi].name);
		have_name |= strcmp(t->fields[fi].name, "name") == 0;
		cols[nc] = t->fields[fi].name;
		clear[nc] = is_null ? NULL : norm[nc];
		nc++;
	}
	if (!id) {
		if (!have_name)
			return ssync_error_set(err, SSYNC_EINVAL, "name is required");
		if ((error = ssync_domain_node_school(n, school, sizeof(school), err)) < 0 ||
		    (error = ssync_domain_new_id(school, newid, sizeof(newid), err)) < 0)
			return error;
		id = newid;
	} else if (!ssync_domain__row_exists(ssync_store__db(ssync_node_store(n)), TABLE, id)) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no " TABLE " %s", id);
		ssync_error_hint(err, "list them with: schoolsync student-archive list");
		return SSYNC_ENOTFOUND;
	}
	if ((error = ssync_privacy_seal_row(n, TABLE, id, nc, cols, clear, enc, err)) < 0)
		return error;
	params[0] = id;
	for (i = 0; i < nc; i++)
		params[i + 1] = enc[i];
	if (id == newid) {
		params[nc + 1] = school;
		used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO " TABLE "(id, school_id");
		for (i = 0; i < nc; i++)
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", \"%s\"", cols[i]);
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ") VALUES (?1, ?%d", nc + 2);
		for (i = 0; i < nc; i++)
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", ?%d", i + 2);
		snprintf(sql + used, sizeof(sql) - used, ")");
		error = ssync_node_sql_bound(n, sql, nc + 2, params, actor, NULL, NULL, NULL, err);
	} else {
		used = (size_t)snprintf(sql, sizeof(sql), "UPDATE " TABLE " SET ");
		for (i = 0; i < nc; i++)
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%s\"%s\" = ?%d", i ? ", " : "", cols[i], i + 2);
		snprintf(sql + used, sizeof(sql) - used, " WHERE id = ?1");
		error = ssync_node_sql_bound(n, sql, nc + 1, params, actor, NULL, NULL, NULL, err);
	}
	for (i = 0; i < nc; i++)
		free(enc[i]);
	if (error == 0 && id_out)
		snprintf(id_out, id_outlen, "%s", id);
	return error;
}

int ssync_archive__seal_rows(ssync_node *n, const ssync_table_spec *t, json_t *rows, ssync_privacy_batch **out,
	ssync_error *err)
{
	const char *cols[SSYNC_DOMAIN_MAX_FIELDS], *clear[SSYNC_DOMAIN_MAX_FIELDS];
	char *enc[SSYNC_DOMAIN_MAX_FIELDS];
	int idx[SSYNC_DOMAIN_MAX_FIELDS], i, nc = 0, error = 0, p;
	size_t k;
	json_t *row;

	*out = NULL;
	/* the schema says which columns are private: all but the key and owner */
	for (i = 0; i < t->nfields && i < SSYNC_DOMAIN_MAX_FIELDS; i++) {
		if ((p = ssync_privacy_col_private(n, t->name, t->fields[i].name, err)) < 0)
			return p;
		if (p) {
			idx[nc] = i + 1; /* the row array starts with the id */
			cols[nc++] = t->fields[i].name;
		}
	}
	if (nc == 0)
		return 0;
	if ((error = ssync_privacy_batch_open(out, n, err)) < 0)
		return error;
	json_array_foreach(rows, k, row) {
		for (i = 0; i < nc; i++)
			clear[i] = json_string_value(json_array_get(row, (size_t)idx[i])); /* NULL stays NULL */
		if ((error = ssync_privacy_batch_seal(*out, t->name, json_string_value(json_array_get(row, 0)), nc, cols, clear,
			enc, err)) < 0)
			break;
		for (i = 0; i < nc; i++)
			if (enc[i] && json_array_set_new(row, (size_t)idx[i], json_string(enc[i])) != 0 && !error)
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		for (i = 0; i < nc; i++)
			free(enc[i]);
		if (error < 0)
			break;
	}
	return error;
}

typedef struct read_ctx {
	ssync_privacy_reader *r;
	ssync_row_cb cb;
	void *payload;
	int nrows;
} read_ctx;

static int open_row(int ncols, const char *const *names, const char *const *values, const int *types, void *p)
{
	read_ctx *c = p;
	const char *vals[SSYNC_DOMAIN_MAX_FIELDS + 1] = { 0 };
	char *clear[SSYNC_DOMAIN_MAX_FIELDS + 1] = { 0 };
	int i, rc;

	if (ncols > SSYNC_DOMAIN_MAX_FIELDS + 1)
		ncols = SSYNC_DOMAIN_MAX_FIELDS + 1;
	for (i = 0; i < ncols; i++) {
		clear[i] = NULL;
		vals[i] = values[i];
		if (values[i] && ssync_privacy_reader_is_private(c->r, TABLE, names[i])) {
			vals[i] = SSYNC_PRIVACY_HIDDEN;
			if (ssync_privacy_reader_open_cell(c->r, TABLE, values[0], names[i], values[i], strlen(values[i]),
				&clear[i], NULL) == 0)
				vals[i] = clear[i];
		}
	}
	c->nrows++;
	rc = c->cb(ncols, names, vals, types, c->payload);
	for (i = 0; i < ncols; i++)
		free(clear[i]);
	return rc;
}

int ssync_archive_read(ssync_node *n, const char *id, ssync_row_cb cb, void *payload, ssync_error *err)
{
	read_ctx c = { NULL, cb, payload, 0 };
	char school[SSYNC_NODE_ID_MAX + 1];
	const char *params[1];
	int error;

	if ((error = ssync_privacy_reader_open(&c.r, n, err)) < 0)
		return error;
	if (id) {
		params[0] = id;
		error = ssync_domain__query(ssync_store__db(ssync_node_store(n)),
			"SELECT id, school_id, name, grade, record FROM " TABLE " WHERE id = ?1", 1, params, open_row, &c, err);
		if (error == 0 && c.nrows == 0) {
			ssync_error_set(err, SSYNC_ENOTFOUND, "no " TABLE " %s", id);
			error = SSYNC_ENOTFOUND;
		}
	} else if (ssync_domain_node_school(n, school, sizeof(school), NULL) == 0) {
		/* a school lists its own students; the hub (no school) lists all */
		params[0] = school;
		error = ssync_domain__query(ssync_store__db(ssync_node_store(n)),
			"SELECT id, school_id, name, grade, record FROM " TABLE " WHERE school_id = ?1 ORDER BY id", 1, params,
			open_row, &c, err);
	} else {
		error = ssync_domain__query(ssync_store__db(ssync_node_store(n)),
			"SELECT id, school_id, name, grade, record FROM " TABLE " ORDER BY id", 0, NULL, open_row, &c, err);
	}
	ssync_privacy_reader_free(c.r);
	return error;
}
