/* Everyday writes on the district's data: validate, then one signed entry.
 *
 * The replica has no constraints (DESIGN §4), so everything a school clerk
 * can get wrong is caught here: value formats (domain_spec.c), references
 * to rows that do not exist, and the table rules the seeds imply (a staff
 * number is unique; a teacher rotates to one school per term; a booking
 * fits the resource's opening hours and overlaps no other booking). What
 * two offline schools can still produce together, `check` reports.
 * Reads use the replica directly; every write goes through
 * ssync_node_sql_bound() with bound values (identifiers come from the
 * compiled-in spec, quoted with %w). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "domain_int.h"
#include "error_int.h"
#include "policy_int.h"
#include "schoolsync/entry.h"
#include "schoolsync/timefmt.h"

void ssync_domain__ctx_init(ssync_dctx *c, ssync_store *st, const ssync_table_spec *t)
{
	memset(c, 0, sizeof(*c));
	c->db = ssync_store__db(st);
	c->t = t;
}

void ssync_domain__ctx_free(ssync_dctx *c)
{
	size_t i;

	for (i = 0; i < sizeof(c->ref) / sizeof(c->ref[0]); i++)
		sqlite3_finalize(c->ref[i]);
	for (i = 0; i < sizeof(c->rule) / sizeof(c->rule[0]); i++)
		sqlite3_finalize(c->rule[i]);
	memset(c, 0, sizeof(*c));
}

/* Prepared statement cached in *slot; reset and unbound, ready to bind. */
static sqlite3_stmt *stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot && sqlite3_prepare_v2(db, sql, -1, slot, NULL) != SQLITE_OK) {
		sqlite3_finalize(*slot);
		*slot = NULL;
		return NULL;
	}
	sqlite3_reset(*slot);
	sqlite3_clear_bindings(*slot);
	return *slot;
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

int ssync_domain__query(sqlite3 *db, const char *sql, int nparams, const char *const *params,
	ssync_row_cb cb, void *payload, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	const char *names[64], *vals[64];
	int types[64], i, n, rc, error = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		error = ssync_error_set(err, SSYNC_ERROR, "query: %s", sqlite3_errmsg(db));
		goto done;
	}
	for (i = 0; i < nparams; i++)
		sqlite3_bind_text(q, i + 1, params[i], -1, SQLITE_STATIC);
	n = sqlite3_column_count(q);
	if (n > 64)
		n = 64;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			names[i] = sqlite3_column_name(q, i);
			types[i] = sqlite3_column_type(q, i);
			vals[i] = types[i] == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(q, i);
		}
		if (cb && cb(n, names, vals, types, payload))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		error = ssync_error_set(err, SSYNC_ERROR, "query: %s", sqlite3_errmsg(db));
done:
	sqlite3_finalize(q);
	return error;
}

void ssync_domain__warm_json(sqlite3 *db)
{
	/* Failure only means the later write reports its own error. */
	(void)sqlite3_exec(db, "SELECT count(*) FROM json_each('[]')", NULL, NULL, NULL);
}

int ssync_domain__normalize_row(const ssync_table_spec *t, const char *const *raw,
	ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	int i, is_null;

	for (i = 0; i < t->nfields; i++) {
		char w[300];
		row->vals[i] = NULL;
		if (ssync_domain_normalize(&t->fields[i], raw ? raw[i] : NULL, row->buf[i],
			sizeof(row->buf[i]), &is_null, w, sizeof(w)) < 0) {
			*bad_field = i;
			snprintf(why, whylen, "%s", w);
			return SSYNC_EINVAL;
		}
		if (!is_null)
			row->vals[i] = row->buf[i];
	}
	return 0;
}

static int fidx(const ssync_table_spec *t, const char *name)
{
	return ssync_domain_field_index(t, name);
}

/* Set field @p name of the row to @p v (a default a rule derived). */
static void row_set(const ssync_table_spec *t, ssync_drow *row, const char *name, const char *v)
{
	int i = fidx(t, name);

	if (i < 0)
		return;
	snprintf(row->buf[i], sizeof(row->buf[i]), "%s", v);
	row->vals[i] = row->buf[i];
}

static const char *row_get(const ssync_table_spec *t, const ssync_drow *row, const char *name)
{
	int i = fidx(t, name);

	return i < 0 ? NULL : row->vals[i];
}

#define BAD(field, code, ...) do { \
	*bad_field = (field); \
	(void)ssync_error__reason(why, whylen, __VA_ARGS__); \
	return (code); \
} while (0)

/* A rule's look-up: 1 = a row, 0 = none, -1 = the read failed. A busy or
 * failed look-up must never pass for "no such row": LOOKUP_FAILED reports it
 * as a failure (SSYNC_ERROR, no field), as a failed prepare is. */
static int look(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

#define LOOKUP_FAILED(what) BAD(-1, SSYNC_ERROR, "look up %s: %s", (what), sqlite3_errmsg(c->db))

static int rule_teacher(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	const char *staff = row_get(t, row, "staff_no");
	const char *by = row_get(t, row, "birth_year"), *jy = row_get(t, row, "joined_year");
	sqlite3_stmt *q;
	int found;

	if (by && jy && atoi(jy) < atoi(by) + 16)
		BAD(fidx(t, "joined_year"), SSYNC_EINVAL, "joined the school in %s, before the age of 16 (born %s)", jy, by);
	if (!staff)
		return 0;
	if (!(q = stmt(c->db, &c->rule[0], "SELECT id, school_id FROM teacher WHERE staff_no = ?1 AND id IS NOT ?2 LIMIT 1")))
		BAD(-1, SSYNC_ERROR, "look up staff number: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, staff, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->self_id, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("staff number");
	if (found)
		BAD(fidx(t, "staff_no"), SSYNC_EEXISTS, "staff number %s is already teacher %s of school %s",
			staff, col_text(q, 0), col_text(q, 1));
	return 0;
}

static int rule_rotation(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	const char *teacher = row_get(t, row, "teacher_id"), *from = row_get(t, row, "from_school");
	const char *to = row_get(t, row, "to_school"), *owner = row_get(t, row, "school_id");
	const char *term = row_get(t, row, "term");
	char home[SSYNC_DOMAIN_VALUE_MAX];
	sqlite3_stmt *q;
	int found;

	if (!(q = stmt(c->db, &c->rule[0], "SELECT school_id FROM teacher WHERE id = ?1")))
		BAD(-1, SSYNC_ERROR, "look up teacher: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, teacher, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("teacher");
	if (!found)
		BAD(fidx(t, "teacher_id"), SSYNC_ENOTFOUND, "no teacher %s", teacher);
	snprintf(home, sizeof(home), "%s", col_text(q, 0));
	sqlite3_reset(q);
	if (!from) {
		row_set(t, row, "from_school", home);
		from = row_get(t, row, "from_school");
	} else if (strcmp(from, home) != 0) {
		BAD(fidx(t, "from_school"), SSYNC_EINVAL, "teacher %s belongs to school %s, not %s", teacher, home, from);
	}
	if (!owner) {
		row_set(t, row, "school_id", from);
	} else if (strcmp(owner, from) != 0) {
		BAD(fidx(t, "school_id"), SSYNC_EINVAL, "a rotation is proposed by the teacher's school %s, not %s", from, owner);
	}
	if (strcmp(from, to) == 0)
		BAD(fidx(t, "to_school"), SSYNC_EINVAL, "teacher %s would rotate to their own school %s", teacher, to);
	if (!(q = stmt(c->db, &c->rule[1], "SELECT id, to_school, coalesce(status, 'proposed') FROM rotation "
		"WHERE teacher_id = ?1 AND term = ?2 AND coalesce(status, '') <> 'rejected' AND id IS NOT ?3 LIMIT 1")))
		BAD(-1, SSYNC_ERROR, "look up rotations: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, teacher, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, term, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, c->self_id, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("rotations");
	if (found)
		BAD(fidx(t, "term"), SSYNC_ECONFLICT, "teacher %s already has rotation %s to %s in term %s (%s)",
			teacher, col_text(q, 0), col_text(q, 1), term, col_text(q, 2));
	return 0;
}

static int rule_booking(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	const char *res = row_get(t, row, "resource_id"), *school = row_get(t, row, "school_id");
	const char *day = row_get(t, row, "day"), *from = row_get(t, row, "from_time");
	const char *to = row_get(t, row, "to_time");
	sqlite3_stmt *q;
	int found;
	int wd;

	if (strcmp(from, to) >= 0)
		BAD(fidx(t, "to_time"), SSYNC_EINVAL, "ends at %s, not after it starts (%s)", to, from);
	if (!(q = stmt(c->db, &c->rule[0], "SELECT school_id, open_days, open_from, open_to, coalesce(shared, 0), name "
		"FROM resource WHERE id = ?1")))
		BAD(-1, SSYNC_ERROR, "look up resource: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, res, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("resource");
	if (!found)
		BAD(fidx(t, "resource_id"), SSYNC_ENOTFOUND, "no resource %s", res);
	if (strcmp(col_text(q, 0), school) != 0 && sqlite3_column_int(q, 4) == 0)
		BAD(fidx(t, "resource_id"), SSYNC_EINVAL, "resource %s (%s) of school %s is not shared with other schools",
			res, col_text(q, 5), col_text(q, 0));
	/* The ISO weekday (Monday = 1) of a normalized YYYY-MM-DD. */
	{
		char wds[2];
		int64_t ms;
		if (ssync_time_parse_date(day, &ms) < 0)
			BAD(fidx(t, "day"), SSYNC_EINVAL, "bad date %s", day);
		ssync_time_civil(ms, NULL, NULL, NULL, &wd);
		wds[0] = (char)('0' + wd);
		wds[1] = 0;
		if (!strstr(col_text(q, 1), wds))
			BAD(fidx(t, "day"), SSYNC_EINVAL, "%s (%s) is not open on %s (weekday %s; open on days %s)",
				res, col_text(q, 5), day, wds, col_text(q, 1));
	}
	if (strcmp(from, col_text(q, 2)) < 0 || strcmp(to, col_text(q, 3)) > 0)
		BAD(fidx(t, strcmp(from, col_text(q, 2)) < 0 ? "from_time" : "to_time"), SSYNC_EINVAL,
			"%s-%s is outside the opening hours %s-%s of %s", from, to, col_text(q, 2), col_text(q, 3), res);
	if (!(q = stmt(c->db, &c->rule[1], "SELECT id, school_id, from_time, to_time FROM booking "
		"WHERE resource_id = ?1 AND day = ?2 AND from_time < ?4 AND to_time > ?3 AND id IS NOT ?5 ORDER BY from_time LIMIT 1")))
		BAD(-1, SSYNC_ERROR, "look up bookings: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, res, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, c->self_id, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("bookings");
	if (found)
		BAD(fidx(t, "from_time"), SSYNC_ECONFLICT, "%s %s-%s overlaps booking %s of school %s (%s-%s)",
			day, from, to, col_text(q, 0), col_text(q, 1), col_text(q, 2), col_text(q, 3));
	return 0;
}

static int rule_enrollment(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	const char *course = row_get(t, row, "course_id"), *school = row_get(t, row, "school_id");
	sqlite3_stmt *q;
	int found;

	if (!(q = stmt(c->db, &c->rule[0], "SELECT school_id, coalesce(shared, 0), name FROM course WHERE id = ?1")))
		BAD(-1, SSYNC_ERROR, "look up course: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, course, -1, SQLITE_STATIC);
	if ((found = look(q)) < 0)
		LOOKUP_FAILED("course");
	if (!found)
		BAD(fidx(t, "course_id"), SSYNC_ENOTFOUND, "no course %s", course);
	if (strcmp(col_text(q, 0), school) != 0 && sqlite3_column_int(q, 1) == 0)
		BAD(fidx(t, "course_id"), SSYNC_EINVAL, "course %s (%s) of school %s is not an approved shared course",
			course, col_text(q, 2), col_text(q, 0));
	return 0;
}

static int rule_funding(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	const char *kind = row_get(t, row, "target_kind"), *target = row_get(t, row, "target_id");
	const char *sql = strcmp(kind, "zone") == 0 ? "SELECT 1 FROM zone WHERE id = ?1" :
		strcmp(kind, "group") == 0 ? "SELECT 1 FROM edu_group WHERE id = ?1" : "SELECT 1 FROM school WHERE id = ?1";
	sqlite3_stmt *q = NULL;
	int found;

	if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		BAD(-1, SSYNC_ERROR, "look up funding target: %s", sqlite3_errmsg(c->db));
	}
	sqlite3_bind_text(q, 1, target, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (!found)
		BAD(fidx(t, "target_id"), SSYNC_ENOTFOUND, "no %s %s", kind, target);
	return 0;
}

int ssync_domain__check_row(ssync_dctx *c, ssync_drow *row, int *bad_field, char *why, size_t whylen)
{
	const ssync_table_spec *t = c->t;
	int i;

	for (i = 0; i < t->nfields; i++) {
		const ssync_field *f = &t->fields[i];
		sqlite3_stmt *q;
		int found;
		char sql[128];
		if (f->type != SSYNC_FT_REF || !row->vals[i])
			continue;
		/* f->ref comes from the compiled-in spec, never from input. */
		snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE id = ?1", f->ref);
		if (!(q = stmt(c->db, &c->ref[i], sql)))
			BAD(-1, SSYNC_ERROR, "look up %s: %s", f->ref, sqlite3_errmsg(c->db));
		sqlite3_bind_text(q, 1, row->vals[i], -1, SQLITE_STATIC);
		if ((found = look(q)) < 0)
			LOOKUP_FAILED(f->ref);
		if (!found) {
			const ssync_table_spec *rt = ssync_domain_table(f->ref);
			BAD(i, SSYNC_ENOTFOUND, "no %s %s (%s)", f->ref, row->vals[i], rt ? rt->label : "");
		}
	}
	if (strcmp(t->name, "teacher") == 0)
		return rule_teacher(c, row, bad_field, why, whylen);
	if (strcmp(t->name, "rotation") == 0) {
		int rc = rule_rotation(c, row, bad_field, why, whylen);
		if (rc == 0 && !row->vals[0])
			BAD(0, SSYNC_EINVAL, "a value is required");
		return rc;
	}
	if (strcmp(t->name, "booking") == 0)
		return rule_booking(c, row, bad_field, why, whylen);
	if (strcmp(t->name, "enrollment") == 0)
		return rule_enrollment(c, row, bad_field, why, whylen);
	if (strcmp(t->name, "funding") == 0)
		return rule_funding(c, row, bad_field, why, whylen);
	if (strcmp(t->name, "resource") == 0) {
		const char *a = row_get(t, row, "open_from"), *b = row_get(t, row, "open_to");
		if (a && b && strcmp(a, b) >= 0)
			BAD(fidx(t, "open_to"), SSYNC_EINVAL, "closes at %s, not after it opens (%s)", b, a);
	}
	return 0;
}

int ssync_domain_new_id(const char *school_id, char *out, size_t outlen, ssync_error *err)
{
	unsigned char rnd[8];
	char hex[17];

	randombytes_buf(rnd, sizeof(rnd));
	ssync_hex_encode(hex, rnd, sizeof(rnd));
	if ((size_t)snprintf(out, outlen, "%s-%s", school_id && *school_id ? school_id : "hub", hex) >= outlen)
		return ssync_error_set(err, SSYNC_EINVAL, "id buffer too small");
	return 0;
}

int ssync_domain_node_school(ssync_node *n, char *out, size_t outlen, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	sqlite3_stmt *q = NULL;
	int error = 0, rc;

	out[0] = 0;
	if (sqlite3_prepare_v2(db, "SELECT school_id FROM ssync_peer WHERE node = ?1 AND school_id IS NOT NULL "
		"AND school_id <> ''", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_error_set(err, SSYNC_ERROR, "read own school: %s", sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		snprintf(out, outlen, "%s", col_text(q, 0));
	else if (rc != SQLITE_DONE)
		error = ssync_store__dberr(db, err, "read own school");
	else
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "node %s speaks for no school", ssync_node_id(n));
done:
	sqlite3_finalize(q);
	return error;
}

int ssync_domain__row_exists(sqlite3 *db, const char *table, const char *id)
{
	sqlite3_stmt *q = NULL;
	char sql[128];
	int found;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE id = ?1", table);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	found = look(q);
	sqlite3_finalize(q);
	return found;
}

static int id_valid(const ssync_table_spec *t, const char *id)
{
	const unsigned char *p;

	if (t->code_ids)
		return ssync_ident_node_valid(id);
	if (!*id || strlen(id) > 128)
		return 0;
	for (p = (const unsigned char *)id; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\'' || *p == '\\')
			return 0;
	return 1;
}

int ssync_domain__id_owned_ok(const ssync_table_spec *t, const ssync_drow *row, const char *id,
	char *why, size_t whylen)
{
	char owner[SSYNC_NODE_ID_MAX + 1];
	const char *school = t->owned ? row->vals[0] : NULL;

	if (!t->owned)
		return 0;
	ssync_policy__key_owner(id, owner);
	if (school && strcmp(owner, school) == 0)
		return 0;
	(void)ssync_error__reason(why, whylen, "id '%.60s' must start with '%.63s-': a row belongs to the school that prefixes its key "
		"(leave the id out to get one)", id, school ? school : "<school_id>");
	return SSYNC_EINVAL;
}

int ssync_domain_insert(ssync_node *n, const char *table, const char *const *values, const char *id,
	const char *actor, char *id_out, size_t id_outlen, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	ssync_drow *row = NULL;
	ssync_dctx c;
	const char *params[SSYNC_DOMAIN_MAX_FIELDS + 1];
	char why[600], newid[160], *sql = NULL, *p;
	size_t cap;
	int error = 0, bad = -1, i;

	ssync_domain__ctx_init(&c, ssync_node_store(n), t);
	if (!t) {
		error = ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
		goto done;
	}
	if (!(row = malloc(sizeof(*row)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = ssync_domain__normalize_row(t, values, row, &bad, why, sizeof(why))) < 0 ||
	    (error = ssync_domain__check_row(&c, row, &bad, why, sizeof(why))) < 0) {
		if (bad >= 0)
			ssync_error_set(err, error, "%s %s: %s", t->name, t->fields[bad].name, why);
		else
			ssync_error_set(err, error, "%s: %s", t->name, why);
		goto done;
	}
	if (id && *id) {
		if (!id_valid(t, id)) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: '%s' is not a valid id", t->name, id);
			if (t->code_ids)
				ssync_error_hint(err, "codes are 1-63 characters of a-z, 0-9 and '-'");
			goto done;
		}
		if (ssync_domain__id_owned_ok(t, row, id, why, sizeof(why)) < 0) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: %s", t->name, why);
			goto done;
		}
		snprintf(newid, sizeof(newid), "%s", id);
	} else if (t->code_ids) {
		error = ssync_error_set(err, SSYNC_EINVAL, "%s: an id code is required", t->name);
		ssync_error_hint(err, "give --id CODE: 1-63 characters of a-z, 0-9 and '-' (e.g. the code the district uses)");
		goto done;
	} else if ((error = ssync_domain_new_id(t->owned ? row->vals[0] : NULL, newid, sizeof(newid), err)) < 0) {
		goto done;
	}
	if ((error = ssync_domain__row_exists(c.db, t->name, newid)) != 0) {
		error = error < 0 ? ssync_store__dberr(c.db, err, t->name) :
			ssync_error_set(err, SSYNC_EEXISTS, "%s %s exists already", t->name, newid);
		goto done;
	}
	cap = 64 + (size_t)t->nfields * 40;
	if (!(sql = malloc(cap))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	p = sql + snprintf(sql, cap, "INSERT INTO \"%s\"(\"id\"", t->name);
	for (i = 0; i < t->nfields; i++)
		p += snprintf(p, cap - (size_t)(p - sql), ", \"%s\"", t->fields[i].name);
	p += snprintf(p, cap - (size_t)(p - sql), ") VALUES (?1");
	for (i = 0; i < t->nfields; i++)
		p += snprintf(p, cap - (size_t)(p - sql), ", ?%d", i + 2);
	snprintf(p, cap - (size_t)(p - sql), ")");
	params[0] = newid;
	for (i = 0; i < t->nfields; i++)
		params[i + 1] = row->vals[i];
	if ((error = ssync_node_sql_bound(n, sql, t->nfields + 1, params, actor, NULL, NULL, NULL, err)) < 0)
		goto done;
	if (id_out)
		snprintf(id_out, id_outlen, "%s", newid);
done:
	ssync_domain__ctx_free(&c);
	free(sql);
	free(row);
	return error;
}

int ssync_domain_set(ssync_node *n, const char *table, const char *id, const char *column,
	const char *value, const char *actor, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char out[SSYNC_DOMAIN_VALUE_MAX], why[400], sql[160];
	const char *params[2];
	int i, is_null = 0, error = 0, found;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if ((i = ssync_domain_field_index(t, column ? column : "")) < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "%s has no column '%s'", t->name, column ? column : "");
	if (t->owned && i == 0)
		return ssync_error_set(err, SSYNC_EPERM, "%s.school_id is the row's owner and never changes", t->name);
	if (ssync_domain_normalize(&t->fields[i], value, out, sizeof(out), &is_null, why, sizeof(why)) < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "%s %s: %s", t->name, t->fields[i].name, why);
	if ((found = ssync_domain__row_exists(db, t->name, id)) < 0)
		return ssync_store__dberr(db, err, t->name);
	if (!found) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no %s %s", t->name, id);
		ssync_error_hint(err, "list them with: schoolsync %s list", t->name);
		return SSYNC_ENOTFOUND;
	}
	if (t->fields[i].type == SSYNC_FT_REF && !is_null && (found = ssync_domain__row_exists(db, t->fields[i].ref, out)) < 0)
		return ssync_store__dberr(db, err, t->fields[i].ref);
	if (t->fields[i].type == SSYNC_FT_REF && !is_null && !found)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "%s %s: no %s %s", t->name, t->fields[i].name,
			t->fields[i].ref, out);
	snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = ?2 WHERE id = ?1", t->name, t->fields[i].name);
	params[0] = id;
	params[1] = is_null ? NULL : out;
	error = ssync_node_sql_bound(n, sql, 2, params, actor, NULL, NULL, NULL, err);
	return error;
}

/* Read one text column of one row; 1 found, 0 absent, <0 error. */
static int read_col(sqlite3 *db, const char *sql, const char *id, char *out, size_t outlen, int *is_null)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*is_null = sqlite3_column_type(q, 0) == SQLITE_NULL;
		snprintf(out, outlen, "%s", col_text(q, 0));
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int ssync_domain_rotation_set_status(ssync_node *n, const char *id, const char *status, const char *actor, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char cur[64];
	int is_null = 0, rc, ok;

	rc = read_col(db, "SELECT status FROM rotation WHERE id = ?1", id, cur, sizeof(cur), &is_null);
	if (rc < 0)
		return ssync_error_set(err, SSYNC_ERROR, "read rotation: %s", sqlite3_errmsg(db));
	if (rc == 0) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no rotation %s", id);
		ssync_error_hint(err, "list them with: schoolsync rotation list");
		return SSYNC_ENOTFOUND;
	}
	if (is_null)
		snprintf(cur, sizeof(cur), "proposed");
	ok = (strcmp(cur, "proposed") == 0 && (strcmp(status, SSYNC_ROT_APPROVED) == 0 || strcmp(status, SSYNC_ROT_REJECTED) == 0)) ||
		(strcmp(cur, SSYNC_ROT_APPROVED) == 0 && strcmp(status, SSYNC_ROT_DONE) == 0);
	if (!ok) {
		ssync_error_set(err, SSYNC_EINVAL, "rotation %s is %s; it cannot become %s", id, cur, status);
		ssync_error_hint(err, "rotations go proposed → approved (or rejected) → done");
		return SSYNC_EINVAL;
	}
	return ssync_domain_set(n, "rotation", id, "status", status, actor, err);
}

int ssync_domain_course_offer(ssync_node *n, const char *id, const char *actor, ssync_error *err)
{
	return ssync_domain_set(n, "course", id, "offered", "1", actor, err);
}

int ssync_domain_course_approve(ssync_node *n, const char *id, const char *actor, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char cur[16];
	int is_null = 0, rc;

	rc = read_col(db, "SELECT coalesce(offered, 0) FROM course WHERE id = ?1", id, cur, sizeof(cur), &is_null);
	if (rc < 0)
		return ssync_error_set(err, SSYNC_ERROR, "read course: %s", sqlite3_errmsg(db));
	if (rc == 0)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no course %s", id);
	if (strcmp(cur, "1") != 0) {
		ssync_error_set(err, SSYNC_EINVAL, "course %s has not been offered for sharing by its school", id);
		ssync_error_hint(err, "the owner school runs: schoolsync course share %s", id);
		return SSYNC_EINVAL;
	}
	return ssync_domain_set(n, "course", id, "shared", "1", actor, err);
}

int ssync_domain_get(ssync_node *n, const char *table, const char *key, ssync_row_cb cb, void *payload, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char sql[200];
	int found = 0, rc;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if (t->priv)
		return ssync_error_set(err, SSYNC_EPERM, "%s is private", t->name);
	if (t->unique)
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" WHERE id = ?1 OR \"%s\" = ?1 ORDER BY id = ?1 DESC LIMIT 1",
			t->name, t->unique);
	else
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" WHERE id = ?1", t->name);
	{
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
			sqlite3_finalize(q);
			return ssync_error_set(err, SSYNC_ERROR, "read %s: %s", t->name, sqlite3_errmsg(db));
		}
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			const char *names[SSYNC_DOMAIN_MAX_FIELDS + 1], *vals[SSYNC_DOMAIN_MAX_FIELDS + 1];
			int types[SSYNC_DOMAIN_MAX_FIELDS + 1], i, nc = sqlite3_column_count(q);
			if (nc > SSYNC_DOMAIN_MAX_FIELDS + 1)
				nc = SSYNC_DOMAIN_MAX_FIELDS + 1;
			for (i = 0; i < nc; i++) {
				names[i] = sqlite3_column_name(q, i);
				types[i] = sqlite3_column_type(q, i);
				vals[i] = types[i] == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(q, i);
			}
			found = 1;
			if (cb)
				(void)cb(nc, names, vals, types, payload);
		} else if (rc != SQLITE_DONE) {
			rc = ssync_store__dberr(db, err, t->name);
			sqlite3_finalize(q);
			return rc;
		}
		sqlite3_finalize(q);
	}
	if (!found) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no %s %s", t->name, key);
		ssync_error_hint(err, "list them with: schoolsync %s list", t->name);
		return SSYNC_ENOTFOUND;
	}
	return 0;
}

int ssync_domain_list(ssync_node *n, const char *table, const char *filter_col, const char *filter_val,
	ssync_row_cb cb, void *payload, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	char sql[200];
	const char *params[1] = { filter_val };
	int fi;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if (t->priv)
		return ssync_error_set(err, SSYNC_EPERM, "%s is private: it is never listed", t->name);
	if (filter_col) {
		if ((fi = ssync_domain_field_index(t, filter_col)) < 0)
			return ssync_error_set(err, SSYNC_EINVAL, "%s has no column '%s'", t->name, filter_col);
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" WHERE \"%s\" IS ?1 ORDER BY id", t->name, t->fields[fi].name);
		return ssync_domain__query(db, sql, 1, params, cb, payload, err);
	}
	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY id", t->name);
	return ssync_domain__query(db, sql, 0, NULL, cb, payload, err);
}
