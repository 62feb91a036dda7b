/* `check`: the domain invariants per-cell merge cannot keep (DESIGN §4).
 * Two offline schools can each write a valid row and together break a
 * rule: two bookings of one room at the same time, one teacher rotated to
 * two schools in a term, one staff number twice, a row pointing at a row
 * another node deleted. The replica accepts all of it (no constraints, so
 * every replica converges); this module finds it, names the records and
 * the schools involved, and leaves the fix to the hub. Reads only. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_int.h"
#include "schoolsync/report.h"

typedef struct found {
	json_t *list;
	long count;
} found;

static const char *txt(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

static json_t *rec(const char *table, const char *id, const char *school)
{
	return json_pack("{s:s, s:s, s:s?}", "table", table, "id", id, "school_id", school && *school ? school : NULL);
}

/* Add a violation; @p schools is a NULL-terminated list, duplicates dropped. */
static int add(found *f, const char *kind, const char *msg, json_t *records, const char *const *schools)
{
	json_t *s = json_array(), *v;
	size_t i, k;

	if (!s || !records) {
		json_decref(s);
		json_decref(records);
		return -1;
	}
	for (i = 0; schools[i]; i++) {
		int dup = 0;
		if (!*schools[i])
			continue;
		for (k = 0; k < json_array_size(s); k++)
			if (strcmp(json_string_value(json_array_get(s, k)), schools[i]) == 0)
				dup = 1;
		if (!dup)
			json_array_append_new(s, json_string(schools[i]));
	}
	if (!(v = json_pack("{sssssoso}", "kind", kind, "message", msg, "records", records, "schools", s)))
		return -1;
	f->count++;
	return json_array_append_new(f->list, v);
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **q, ssync_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, q, NULL) != SQLITE_OK) {
		sqlite3_finalize(*q);
		*q = NULL;
		return ssync_error_set(err, SSYNC_ERROR, "check: %s", sqlite3_errmsg(db));
	}
	return 0;
}

static int check_bookings(sqlite3 *db, found *f, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error, rc;

	if ((error = prep(db, "SELECT a.id, a.school_id, b.id, b.school_id, a.resource_id, coalesce(r.name, ''), "
		"coalesce(r.school_id, ''), a.day, a.from_time, a.to_time, b.from_time, b.to_time "
		"FROM booking a JOIN booking b ON b.resource_id = a.resource_id AND b.day = a.day AND a.id < b.id "
		"AND a.from_time < b.to_time AND b.from_time < a.to_time "
		"LEFT JOIN resource r ON r.id = a.resource_id ORDER BY a.resource_id, a.day, a.from_time", &q, err)) < 0)
		return error;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char msg[600];
		const char *schools[] = { txt(q, 1), txt(q, 3), txt(q, 6), NULL };
		snprintf(msg, sizeof(msg), "resource %s %s on %s: booking %s (%s, %s-%s) overlaps booking %s (%s, %s-%s)",
			txt(q, 4), txt(q, 5), txt(q, 7), txt(q, 0), txt(q, 1), txt(q, 8), txt(q, 9), txt(q, 2), txt(q, 3),
			txt(q, 10), txt(q, 11));
		if (add(f, "booking_overlap", msg, json_pack("[ooo]", rec("booking", txt(q, 0), txt(q, 1)),
			rec("booking", txt(q, 2), txt(q, 3)), rec("resource", txt(q, 4), txt(q, 6))), schools) < 0) {
			sqlite3_finalize(q);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
	}
	/* a loop stopped by SQLITE_BUSY saw part of the rows: not "no violation" */
	error = ssync_store__step_done(db, rc, "check", err);
	sqlite3_finalize(q);
	return error;
}

static int check_rotations(sqlite3 *db, found *f, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error, rc;

	if ((error = prep(db, "SELECT a.id, a.school_id, a.to_school, coalesce(a.status, 'proposed'), "
		"b.id, b.school_id, b.to_school, coalesce(b.status, 'proposed'), a.teacher_id, coalesce(t.name, ''), a.term "
		"FROM rotation a JOIN rotation b ON b.teacher_id = a.teacher_id AND b.term = a.term AND a.id < b.id "
		"LEFT JOIN teacher t ON t.id = a.teacher_id "
		"WHERE coalesce(a.status, '') <> 'rejected' AND coalesce(b.status, '') <> 'rejected' "
		"ORDER BY a.teacher_id, a.term", &q, err)) < 0)
		return error;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char msg[600];
		const char *schools[] = { txt(q, 1), txt(q, 2), txt(q, 5), txt(q, 6), NULL };
		snprintf(msg, sizeof(msg), "teacher %s %s is on two rotations in term %s: %s to %s (%s) and %s to %s (%s)",
			txt(q, 8), txt(q, 9), txt(q, 10), txt(q, 0), txt(q, 2), txt(q, 3), txt(q, 4), txt(q, 6), txt(q, 7));
		if (add(f, "rotation_overlap", msg, json_pack("[ooo]", rec("rotation", txt(q, 0), txt(q, 1)),
			rec("rotation", txt(q, 4), txt(q, 5)), rec("teacher", txt(q, 8), NULL)), schools) < 0) {
			sqlite3_finalize(q);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
	}
	/* a loop stopped by SQLITE_BUSY saw part of the rows: not "no violation" */
	error = ssync_store__step_done(db, rc, "check", err);
	sqlite3_finalize(q);
	return error;
}

static int check_staff(sqlite3 *db, found *f, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	json_t *recs = NULL;
	const char *schools[64];
	char cur[128] = "", msg[600], names[400];
	int error, ns = 0, rc;
	size_t off = 0;

	if ((error = prep(db, "SELECT staff_no, id, coalesce(school_id, ''), coalesce(name, '') FROM teacher "
		"WHERE staff_no IN (SELECT staff_no FROM teacher WHERE staff_no IS NOT NULL GROUP BY staff_no "
		"HAVING count(*) > 1) ORDER BY staff_no, id", &q, err)) < 0)
		return error;
	/* Group consecutive rows of one staff number into one violation. */
	for (;;) {
		rc = sqlite3_step(q);
		if (recs && (rc != SQLITE_ROW || strcmp(cur, txt(q, 0)) != 0)) {
			schools[ns] = NULL;
			snprintf(msg, sizeof(msg), "staff number %s is used by %zu teachers: %s", cur, json_array_size(recs), names);
			if (add(f, "duplicate_staff_no", msg, recs, schools) < 0)
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			recs = NULL;
			for (; ns > 0; ns--)
				free((char *)schools[ns - 1]);
		}
		if (rc != SQLITE_ROW || error < 0)
			break;
		if (!recs) {
			recs = json_array();
			snprintf(cur, sizeof(cur), "%s", txt(q, 0));
			off = 0;
			names[0] = 0;
		}
		json_array_append_new(recs, rec("teacher", txt(q, 1), txt(q, 2)));
		if (ns < 63)
			schools[ns++] = strdup(txt(q, 2));
		if (off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s %s (%s)", off ? ", " : "",
				txt(q, 1), txt(q, 3), txt(q, 2));
	}
	json_decref(recs);
	for (; ns > 0; ns--)
		free((char *)schools[ns - 1]);
	if (error == 0)
		error = ssync_store__step_done(db, rc, "check", err);
	sqlite3_finalize(q);
	return error;
}

static int check_refs(sqlite3 *db, found *f, ssync_error *err)
{
	int ti, i, error = 0, rc = SQLITE_DONE;

	for (ti = 0; ti < ssync_domain_ntables() && error == 0; ti++) {
		const ssync_table_spec *t = ssync_domain_table_at(ti);
		if (t->priv)
			continue;
		for (i = 0; i < t->nfields && error == 0; i++) {
			const ssync_field *fd = &t->fields[i];
			sqlite3_stmt *q = NULL;
			char sql[400];
			if (fd->type != SSYNC_FT_REF)
				continue;
			/* Names from the compiled-in spec, never from input. */
			snprintf(sql, sizeof(sql), "SELECT x.id, %s, x.\"%s\" FROM \"%s\" x WHERE x.\"%s\" IS NOT NULL "
				"AND NOT EXISTS (SELECT 1 FROM \"%s\" r WHERE r.id = x.\"%s\") ORDER BY x.id",
				t->owned ? "x.school_id" : "NULL", fd->name, t->name, fd->name, fd->ref, fd->name);
			if ((error = prep(db, sql, &q, err)) < 0)
				break;
			while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
				char msg[600];
				const char *schools[] = { txt(q, 1), NULL };
				snprintf(msg, sizeof(msg), "%s %s: %s points to %s %s, which does not exist (deleted, or not yet arrived)",
					t->name, txt(q, 0), fd->name, fd->ref, txt(q, 2));
				if (add(f, "dangling_reference", msg, json_pack("[o]", rec(t->name, txt(q, 0), txt(q, 1))), schools) < 0) {
					error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
					break;
				}
			}
			if (error == 0)
				error = ssync_store__step_done(db, rc, "check", err);
			sqlite3_finalize(q);
		}
	}
	return error;
}

/* Values the commands would have refused (written by raw SQL, an older
 * version or another tool): every non-private cell is checked again. */
static int check_values(sqlite3 *db, found *f, ssync_error *err)
{
	int ti, i, error = 0, rc = SQLITE_DONE;

	for (ti = 0; ti < ssync_domain_ntables() && error == 0; ti++) {
		const ssync_table_spec *t = ssync_domain_table_at(ti);
		sqlite3_stmt *q = NULL;
		char sql[200];
		if (t->priv)
			continue;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY id", t->name);
		if ((error = prep(db, sql, &q, err)) < 0)
			break;
		while (error == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			for (i = 0; i < t->nfields; i++) {
				const ssync_field *fd = &t->fields[i];
				char out[SSYNC_DOMAIN_VALUE_MAX], why[400], msg[700];
				int is_null, c = i + 1; /* column 0 is id */
				const char *v = sqlite3_column_type(q, c) == SQLITE_NULL ? NULL : txt(q, c);
				const char *schools[] = { t->owned ? txt(q, 1) : "", NULL };
				if (ssync_domain_normalize(fd, v, out, sizeof(out), &is_null, why, sizeof(why)) == 0)
					continue;
				snprintf(msg, sizeof(msg), "%s %s: %s: %s", t->name, txt(q, 0), fd->name, why);
				if (add(f, "invalid_value", msg, json_pack("[o]", rec(t->name, txt(q, 0), t->owned ? txt(q, 1) : NULL)),
					schools) < 0)
					error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			}
		}
		if (error == 0)
			error = ssync_store__step_done(db, rc, "check", err);
		sqlite3_finalize(q);
	}
	return error;
}

int ssync_report_check(ssync_node *n, char **json_out, long *count, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	found f = { json_array(), 0 };
	json_t *by = NULL, *out = NULL;
	size_t i;
	int error = 0;

	*json_out = NULL;
	*count = 0;
	if (!f.list)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	/* One read transaction: every check sees the same snapshot. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		error = ssync_error_set(err, SSYNC_ERROR, "check: %s", sqlite3_errmsg(db));
		goto done;
	}
	if ((error = check_bookings(db, &f, err)) < 0 || (error = check_rotations(db, &f, err)) < 0 ||
	    (error = check_staff(db, &f, err)) < 0 || (error = check_refs(db, &f, err)) < 0 ||
	    (error = check_values(db, &f, err)) < 0)
		goto done;
	if (!(by = json_pack("{sisisisisi}", "booking_overlap", 0, "rotation_overlap", 0, "duplicate_staff_no", 0,
		"dangling_reference", 0, "invalid_value", 0))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < json_array_size(f.list); i++) {
		const char *k = json_string_value(json_object_get(json_array_get(f.list, i), "kind"));
		json_object_set_new(by, k, json_integer(json_integer_value(json_object_get(by, k)) + 1));
	}
	if (!(out = json_pack("{sIsOsO}", "count", (json_int_t)f.count, "by_kind", by, "violations", f.list)) ||
	    !(*json_out = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	*count = f.count;
done:
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	json_decref(out);
	json_decref(by);
	json_decref(f.list);
	return error;
}
