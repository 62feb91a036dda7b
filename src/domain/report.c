/* The hub's reports (DESIGN §6), built as JSON from one read snapshot:
 *   rotation   seed 003: due = ≥10 continuous years at the school, more than
 *              5 years before statutory retirement, title 中级 or above;
 *              ≥10 % of those due rotate each school year; 特级 / 正高级 /
 *              committed 骨干 ("key" teachers): ≥20 %. Seed 003 counts
 *              *newly* appointed (新评) 特级/正高级: awarded (tier_year,
 *              title_year, schema 006) in the school year or the two
 *              before it; one with no award year is not counted but
 *              reported (key_year_unknown) so the gap is never silent.
 *   courses    seed 000: every school ≥1 shared course; ≥10 shared courses
 *              across the seven categories.
 *   resources  the sharing list with use by other schools.
 *   freshness  when each school's data last arrived.
 * Every report carries "summary" (label/value), "columns" and "rows" so the
 * CLI, CSV and HTML render any of them the same way (report_html.c). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_int.h"
#include "report_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"

static const char *categories[7] = { "思政", "学科", "文体", "艺术", "劳动", "科技", "心理" };

static const char *txt(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

static double pct(long num, long den) { return den ? 100.0 * (double)num / (double)den : 0.0; }

int ssync_report__school_year(int64_t now_ms)
{
	int y, m;

	ssync_time_civil(now_ms, &y, &m, NULL, NULL);
	/* The school year starts in September. */
	return y - (m < 9 ? 1 : 0);
}

static json_t *summary_item(const char *label, json_t *value)
{
	return json_pack("{ssso}", "label", label, "value", value);
}

/* Give report @p r its table, taking @p columns and *@p rows (left NULL):
 * 0, or -1 when something is missing or out of memory. */
static int attach_table(json_t *r, json_t *columns, json_t **rows)
{
	json_t *rw = *rows;
	int a, b;

	*rows = NULL;
	a = json_object_set_new(r, "columns", columns);
	b = json_object_set_new(r, "rows", rw);
	return a == 0 && b == 0 ? 0 : -1;
}

static json_t *rotation_report(sqlite3 *db, const ssync_report_options *o, ssync_error *err)
{
	static const char *sql =
		"WITH t AS (SELECT id, school_id, "
		" coalesce(?1 - joined_year >= 10 AND birth_year + CASE gender WHEN '女' THEN ?3 ELSE ?2 END - ?1 > 5 "
		"   AND title IN ('中级', '高级', '正高级'), 0) AS due, "
		" coalesce((tier = '特级' AND tier_year BETWEEN ?1 - 2 AND ?1 + 1) "
		"   OR (title = '正高级' AND title_year BETWEEN ?1 - 2 AND ?1 + 1) OR (tier = '骨干' AND committed = 1), 0) AS key, "
		" coalesce((tier = '特级' AND tier_year IS NULL) OR (title = '正高级' AND title_year IS NULL), 0) AS keyunk, "
		" EXISTS (SELECT 1 FROM rotation r WHERE r.teacher_id = teacher.id AND r.term IN (?1 || '-1', ?1 || '-2') "
		"   AND r.status IN ('approved', 'done')) AS rot FROM teacher) "
		"SELECT s.id, coalesce(s.name, ''), coalesce(z.name, s.zone_id, ''), count(t.id), "
		" coalesce(sum(t.due), 0), coalesce(sum(t.rot), 0), coalesce(sum(t.due AND t.rot), 0), "
		" coalesce(sum(t.key), 0), coalesce(sum(t.key AND t.rot), 0), coalesce(sum(t.keyunk), 0) "
		"FROM school s LEFT JOIN zone z ON z.id = s.zone_id LEFT JOIN t ON t.school_id = s.id "
		"GROUP BY s.id ORDER BY s.id";
	sqlite3_stmt *q = NULL;
	int rc;
	json_t *rows = json_array(), *zones = json_object(), *r = NULL, *zl = json_array();
	long tot[6] = { 0 }, due_schools = 0, met = 0, keyunk = 0;
	const char *zk;
	json_t *zv;
	int i;

	if (!rows || !zones || !zl)
		goto oom;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "rotation report: %s", sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_bind_int(q, 1, o->year);
	sqlite3_bind_int(q, 2, o->retire_male);
	sqlite3_bind_int(q, 3, o->retire_female);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		long v[6];
		json_t *z;
		for (i = 0; i < 6; i++) {
			v[i] = sqlite3_column_int64(q, 3 + i);
			tot[i] += v[i];
		}
		keyunk += (long)sqlite3_column_int64(q, 9);
		/* 10 % of those due, rounded up: what the school must reach. */
		if (v[1] > 0) {
			due_schools++;
			if (v[3] * 10 >= v[1])
				met++;
		}
		if (!(z = json_object_get(zones, txt(q, 2)))) {
			z = json_pack("{sssIsIsIsIsIsI}", "zone", txt(q, 2), "teachers", (json_int_t)0, "due", (json_int_t)0,
				"rotated", (json_int_t)0, "rotated_due", (json_int_t)0, "key", (json_int_t)0, "key_rotated", (json_int_t)0);
			if (!z || json_object_set_new(zones, txt(q, 2), z) != 0)
				goto oom;
		}
		{
			const char *keys[6] = { "teachers", "due", "rotated", "rotated_due", "key", "key_rotated" };
			for (i = 0; i < 6; i++)
				json_object_set_new(z, keys[i], json_integer(json_integer_value(json_object_get(z, keys[i])) + v[i]));
		}
		if (json_array_append_new(rows, json_pack("[sssIIIIfsIIf]", txt(q, 0), txt(q, 1), txt(q, 2),
			(json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2], (json_int_t)v[3], pct(v[3], v[1]),
			v[1] == 0 ? "-" : v[3] * 10 >= v[1] ? "yes" : "no", (json_int_t)v[4], (json_int_t)v[5], pct(v[5], v[4]))) != 0)
			goto oom;
	}
	/* a loop stopped by SQLITE_BUSY read part of the rows */
	if (ssync_store__step_done(db, rc, "rotation report", err) < 0)
		goto fail;
	json_object_foreach(zones, zk, zv) {
		long d = (long)json_integer_value(json_object_get(zv, "due"));
		long rd = (long)json_integer_value(json_object_get(zv, "rotated_due"));
		long k = (long)json_integer_value(json_object_get(zv, "key"));
		long kr = (long)json_integer_value(json_object_get(zv, "key_rotated"));
		json_object_set_new(zv, "rate", json_real(pct(rd, d)));
		json_object_set_new(zv, "key_rate", json_real(pct(kr, k)));
		json_array_append(zl, zv);
	}
	r = json_pack("{sssssiso}", "report", "rotation", "title", "交流轮岗 Teacher rotation", "year", o->year,
		"district", json_pack("{sIsIsIsIsfsisIsIsfsisIsI}", "teachers", (json_int_t)tot[0], "due", (json_int_t)tot[1],
			"rotated", (json_int_t)tot[2], "rotated_due", (json_int_t)tot[3], "rate", pct(tot[3], tot[1]),
			"target", 10, "needed", (json_int_t)((tot[1] + 9) / 10 > tot[3] ? (tot[1] + 9) / 10 - tot[3] : 0),
			"key", (json_int_t)tot[4], "key_rate", pct(tot[5], tot[4]), "key_target", 20,
			"key_rotated", (json_int_t)tot[5], "schools_meeting_target", (json_int_t)met));
	if (!r)
		goto oom;
	json_object_set_new(json_object_get(r, "district"), "schools_with_due", json_integer(due_schools));
	json_object_set_new(json_object_get(r, "district"), "key_year_unknown", json_integer(keyunk));
	json_object_set_new(r, "zones", zl);
	zl = NULL;
	{
		char b[7][160];
		snprintf(b[0], sizeof(b[0]), "%ld", tot[1]);
		snprintf(b[1], sizeof(b[1]), "%ld of %ld due (%.1f %%; target 10 %%)", tot[3], tot[1], pct(tot[3], tot[1]));
		snprintf(b[2], sizeof(b[2]), "%ld", tot[2]);
		snprintf(b[3], sizeof(b[3]), "%ld of %ld (%.1f %%; target 20 %%)", tot[5], tot[4], pct(tot[5], tot[4]));
		snprintf(b[4], sizeof(b[4]), "%ld of %ld", met, due_schools);
		snprintf(b[5], sizeof(b[5]), "%d-%d", o->year, o->year + 1);
		snprintf(b[6], sizeof(b[6]), "%ld (not counted: give title_year / tier_year)", keyunk);
		json_object_set_new(r, "summary", json_pack("[ooooooo]", summary_item("school year 学年", json_string(b[5])),
			summary_item("teachers due to rotate 符合交流条件", json_string(b[0])),
			summary_item("rotated this year (due) 已交流", json_string(b[1])),
			summary_item("rotated this year (all)", json_string(b[2])),
			summary_item("新评 特级/正高级 (awarded " "in the last 3 years) + committed 骨干", json_string(b[3])),
			summary_item("schools meeting 10 %", json_string(b[4])),
			summary_item("特级/正高级 without award year 评定年份未填", json_string(b[6]))));
	}
	if (attach_table(r, json_pack("[ssssssssssss]", "school", "name", "zone", "teachers", "due",
		"rotated", "rotated_due", "rate_pct", "meets_10pct", "key", "key_rotated", "key_rate_pct"), &rows) < 0)
		goto oom;
	goto done;
oom:
	ssync_error_set(err, SSYNC_ERROR, "out of memory");
fail:
	json_decref(r);
	r = NULL;
done:
	sqlite3_finalize(q);
	json_decref(rows);
	json_decref(zones);
	json_decref(zl);
	return r;
}

static json_t *courses_report(sqlite3 *db, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;
	json_t *rows = json_array(), *none = json_array(), *r = NULL;
	long per_cat[7] = { 0 }, total = 0, schools = 0, with = 0, pending = 0;
	int i, covered = 0;

	if (!rows || !none)
		goto oom;
	if (sqlite3_prepare_v2(db, "SELECT s.id, coalesce(s.name, ''), "
		"sum(c.category = '思政'), sum(c.category = '学科'), sum(c.category = '文体'), sum(c.category = '艺术'), "
		"sum(c.category = '劳动'), sum(c.category = '科技'), sum(c.category = '心理'), "
		"(SELECT count(*) FROM course p WHERE p.school_id = s.id AND p.offered = 1 AND coalesce(p.shared, 0) <> 1) "
		"FROM school s LEFT JOIN course c ON c.school_id = s.id AND c.shared = 1 GROUP BY s.id ORDER BY s.id",
		-1, &q, NULL) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "courses report: %s", sqlite3_errmsg(db));
		goto fail;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		json_t *row = json_pack("[ss]", txt(q, 0), txt(q, 1));
		long sum = 0;
		if (!row)
			goto oom;
		for (i = 0; i < 7; i++) {
			long v = sqlite3_column_int64(q, 2 + i);
			per_cat[i] += v;
			sum += v;
			json_array_append_new(row, json_integer(v));
		}
		json_array_append_new(row, json_integer(sum));
		pending += sqlite3_column_int64(q, 9);
		total += sum;
		schools++;
		if (sum)
			with++;
		else
			json_array_append_new(none, json_pack("{ssss}", "school", txt(q, 0), "name", txt(q, 1)));
		json_array_append_new(rows, row);
	}
	/* a loop stopped by SQLITE_BUSY read part of the rows */
	if (ssync_store__step_done(db, rc, "courses report", err) < 0)
		goto fail;
	for (i = 0; i < 7; i++)
		if (per_cat[i])
			covered++;
	{
		json_t *cats = json_object();
		char b[4][96];
		for (i = 0; i < 7; i++)
			json_object_set_new(cats, categories[i], json_integer(per_cat[i]));
		snprintf(b[0], sizeof(b[0]), "%ld of target 10 (%.0f %%)", total, total >= 10 ? 100.0 : pct(total, 10));
		snprintf(b[1], sizeof(b[1]), "%d of 7", covered);
		snprintf(b[2], sizeof(b[2]), "%ld of %ld (%ld without)", with, schools, schools - with);
		snprintf(b[3], sizeof(b[3]), "%ld", pending);
		r = json_pack("{sssssoso}", "report", "courses", "title", "共享课程 Shared courses",
			"district", json_pack("{sIsisIsIsIsIso}", "shared_courses", (json_int_t)total, "target", 10,
				"schools", (json_int_t)schools, "schools_with_shared", (json_int_t)with,
				"pending_offers", (json_int_t)pending, "categories_covered", (json_int_t)covered, "per_category", cats),
			"summary", json_pack("[oooo]", summary_item("shared courses 共享课程", json_string(b[0])),
				summary_item("categories covered 类别", json_string(b[1])),
				summary_item("schools with ≥1 shared course", json_string(b[2])),
				summary_item("offers awaiting the hub", json_string(b[3]))));
	}
	if (!r)
		goto oom;
	json_object_set_new(r, "schools_without", none);
	none = NULL;
	if (attach_table(r, json_pack("[ssssssssss]", "school", "name", categories[0], categories[1],
		categories[2], categories[3], categories[4], categories[5], categories[6], "total"), &rows) < 0)
		goto oom;
	goto done;
oom:
	ssync_error_set(err, SSYNC_ERROR, "out of memory");
fail:
	json_decref(r);
	r = NULL;
done:
	sqlite3_finalize(q);
	json_decref(rows);
	json_decref(none);
	return r;
}

#define MINUTES(c) "(CAST(substr(" c ", 1, 2) AS INTEGER) * 60 + CAST(substr(" c ", 4, 2) AS INTEGER))"

static json_t *resources_report(sqlite3 *db, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;
	json_t *rows = json_array(), *r = NULL;
	long nres = 0, by_others = 0, owners = 0, total_res = 0;
	double hours = 0;
	char last_owner[128] = "";

	if (!rows)
		goto oom;
	if (sqlite3_prepare_v2(db, "SELECT r.id, coalesce(r.name, ''), coalesce(r.kind, ''), r.school_id, coalesce(s.name, ''), "
		"coalesce(r.open_days, '') || ' ' || coalesce(r.open_from, '') || '-' || coalesce(r.open_to, ''), count(b.id), "
		"coalesce(sum(b.school_id <> r.school_id), 0), count(DISTINCT CASE WHEN b.school_id <> r.school_id THEN b.school_id END), "
		"coalesce(sum(CASE WHEN b.school_id <> r.school_id THEN " MINUTES("b.to_time") " - " MINUTES("b.from_time") " END), 0) / 60.0, "
		"(SELECT count(*) FROM resource) "
		"FROM resource r LEFT JOIN school s ON s.id = r.school_id LEFT JOIN booking b ON b.resource_id = r.id "
		"WHERE r.shared = 1 GROUP BY r.id ORDER BY r.school_id, r.id", -1, &q, NULL) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "resources report: %s", sqlite3_errmsg(db));
		goto fail;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nres++;
		by_others += sqlite3_column_int64(q, 7);
		hours += sqlite3_column_double(q, 9);
		total_res = sqlite3_column_int64(q, 10);
		if (strcmp(last_owner, txt(q, 3)) != 0) {
			owners++;
			snprintf(last_owner, sizeof(last_owner), "%s", txt(q, 3));
		}
		if (json_array_append_new(rows, json_pack("[ssssssIIIf]", txt(q, 0), txt(q, 1), txt(q, 2), txt(q, 3), txt(q, 4),
			txt(q, 5), (json_int_t)sqlite3_column_int64(q, 6), (json_int_t)sqlite3_column_int64(q, 7),
			(json_int_t)sqlite3_column_int64(q, 8), sqlite3_column_double(q, 9))) != 0)
			goto oom;
	}
	/* a loop stopped by SQLITE_BUSY read part of the rows */
	if (ssync_store__step_done(db, rc, "resources report", err) < 0)
		goto fail;
	{
		char b[4][96];
		snprintf(b[0], sizeof(b[0]), "%ld", nres);
		snprintf(b[1], sizeof(b[1]), "%ld", owners);
		snprintf(b[2], sizeof(b[2]), "%ld", by_others);
		snprintf(b[3], sizeof(b[3]), "%.1f", hours);
		r = json_pack("{sssssoso}", "report", "resources", "title", "资源共享 Shared resources",
			"district", json_pack("{sIsIsIsIsf}", "shared_resources", (json_int_t)nres, "resources", (json_int_t)total_res,
				"schools_sharing", (json_int_t)owners, "bookings_by_others", (json_int_t)by_others, "hours_by_others", hours),
			"summary", json_pack("[oooo]", summary_item("shared resources 共享场地", json_string(b[0])),
				summary_item("schools sharing", json_string(b[1])),
				summary_item("bookings by other schools 错峰使用", json_string(b[2])),
				summary_item("hours used by other schools", json_string(b[3]))));
	}
	if (!r)
		goto oom;
	if (attach_table(r, json_pack("[ssssssssss]", "resource", "name", "kind", "school", "school_name",
		"open", "bookings", "by_others", "other_schools", "hours_by_others"), &rows) < 0)
		goto oom;
	goto done;
oom:
	ssync_error_set(err, SSYNC_ERROR, "out of memory");
fail:
	json_decref(r);
	r = NULL;
done:
	sqlite3_finalize(q);
	json_decref(rows);
	return r;
}

static json_t *freshness_report(sqlite3 *db, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;
	json_t *rows = json_array(), *r = NULL;
	uint64_t now = ssync_hlc_wall_ms();
	double now_jd = (double)now / 86400000.0 + 2440587.5;
	long counts[4] = { 0 }; /* ok, late, stale, never */
	char nowbuf[40];

	if (!rows)
		goto oom;
	/* One row per school and node; a school without a node is "never". */
	if (sqlite3_prepare_v2(db, "SELECT s.id, coalesce(s.name, ''), p.node, "
		"coalesce(ns.last_seq, (SELECT max(seq) FROM ssync_entry e WHERE e.node = p.node)), ns.last_received, "
		"(SELECT hlc FROM ssync_entry e WHERE e.node = p.node ORDER BY seq DESC LIMIT 1), julianday(ns.last_received) "
		"FROM school s LEFT JOIN ssync_peer p ON p.school_id = s.id LEFT JOIN ssync_node_seen ns ON ns.node = p.node "
		"ORDER BY s.id, p.node", -1, &q, NULL) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "freshness report: %s", sqlite3_errmsg(db));
		goto fail;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char written[40] = "";
		double days = -1;
		const char *status;
		if (sqlite3_column_type(q, 5) != SQLITE_NULL) {
			uint64_t hlc = (uint64_t)sqlite3_column_int64(q, 5);
			ssync_hlc_format(hlc, written, sizeof(written));
			days = (double)((int64_t)now - (int64_t)ssync_hlc_ms(hlc)) / 86400000.0;
		}
		/* Arrival time wins over the writer's clock, which may be wrong. */
		if (sqlite3_column_type(q, 6) != SQLITE_NULL)
			days = now_jd - sqlite3_column_double(q, 6);
		if (days < 0 && sqlite3_column_type(q, 5) == SQLITE_NULL && sqlite3_column_type(q, 6) == SQLITE_NULL) {
			status = "never";
			counts[3]++;
		} else {
			if (days < 0)
				days = 0;
			status = days <= 2 ? "ok" : days <= 7 ? "late" : "stale";
			counts[days <= 2 ? 0 : days <= 7 ? 1 : 2]++;
		}
		if (json_array_append_new(rows, json_pack("[sss?o?s?s?os]", txt(q, 0), txt(q, 1),
			sqlite3_column_type(q, 2) == SQLITE_NULL ? NULL : txt(q, 2),
			sqlite3_column_type(q, 3) == SQLITE_NULL ? NULL : json_integer(sqlite3_column_int64(q, 3)),
			sqlite3_column_type(q, 4) == SQLITE_NULL ? NULL : txt(q, 4), written[0] ? written : NULL,
			strcmp(status, "never") == 0 ? json_null() : json_real((double)(long)(days * 10 + 0.5) / 10), status)) != 0)
			goto oom;
	}
	/* a loop stopped by SQLITE_BUSY read part of the rows */
	if (ssync_store__step_done(db, rc, "freshness report", err) < 0)
		goto fail;
	(void)ssync_time_utc((int64_t)now, 1, nowbuf, sizeof(nowbuf));
	{
		char b[4][64];
		snprintf(b[0], sizeof(b[0]), "%ld", counts[0]);
		snprintf(b[1], sizeof(b[1]), "%ld", counts[1]);
		snprintf(b[2], sizeof(b[2]), "%ld", counts[2]);
		snprintf(b[3], sizeof(b[3]), "%ld", counts[3]);
		r = json_pack("{sssssssoso}", "report", "freshness", "title", "数据新鲜度 Sync freshness", "now", nowbuf,
			"district", json_pack("{sIsIsIsI}", "ok", (json_int_t)counts[0], "late", (json_int_t)counts[1],
				"stale", (json_int_t)counts[2], "never", (json_int_t)counts[3]),
			"summary", json_pack("[oooo]", summary_item("up to date (≤ 2 days)", json_string(b[0])),
				summary_item("late (2-7 days)", json_string(b[1])), summary_item("stale (> 7 days)", json_string(b[2])),
				summary_item("never arrived", json_string(b[3]))));
	}
	if (!r)
		goto oom;
	if (attach_table(r, json_pack("[ssssssss]", "school", "name", "node", "last_seq", "last_received",
		"last_written", "days", "status"), &rows) < 0)
		goto oom;
	goto done;
oom:
	ssync_error_set(err, SSYNC_ERROR, "out of memory");
fail:
	json_decref(r);
	r = NULL;
done:
	sqlite3_finalize(q);
	json_decref(rows);
	return r;
}

json_t *ssync_report__build(ssync_node *n, const char *kind, const ssync_report_options *opts, ssync_error *err)
{
	const ssync_report_options defaults = SSYNC_REPORT_OPTIONS_INIT;
	ssync_report_options o;
	sqlite3 *db = ssync_store__db(ssync_node_store(n));
	json_t *r = NULL;

	o = opts ? *opts : defaults;
	if (o.year == 0)
		o.year = ssync_report__school_year((int64_t)ssync_hlc_wall_ms());
	if (o.retire_male <= 0)
		o.retire_male = 60;
	if (o.retire_female <= 0)
		o.retire_female = 55;
	if (!kind || (strcmp(kind, "rotation") != 0 && strcmp(kind, "courses") != 0 && strcmp(kind, "resources") != 0 &&
		strcmp(kind, "freshness") != 0)) {
		ssync_error_set(err, SSYNC_EINVAL, "unknown report '%s'", kind ? kind : "");
		ssync_error_hint(err, "reports: rotation, courses, resources, freshness");
		return NULL;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "report: %s", sqlite3_errmsg(db));
		return NULL;
	}
	if (strcmp(kind, "rotation") == 0)
		r = rotation_report(db, &o, err);
	else if (strcmp(kind, "courses") == 0)
		r = courses_report(db, err);
	else if (strcmp(kind, "resources") == 0)
		r = resources_report(db, err);
	else
		r = freshness_report(db, err);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int ssync_report_json(ssync_node *n, const char *kind, const ssync_report_options *opts, char **json_out, ssync_error *err)
{
	json_t *r = ssync_report__build(n, kind, opts, err);

	*json_out = NULL;
	if (!r)
		return err && err->code ? err->code : SSYNC_ERROR;
	*json_out = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(r);
	return *json_out ? 0 : ssync_error_set(err, SSYNC_ERROR, "out of memory");
}

const char *ssync_report__cell(const json_t *v, char buf[40])
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, 40, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, 40, "%.1f", json_real_value(v));
	else
		return NULL;
	return buf;
}

int ssync_report_rows(ssync_node *n, const char *kind, const ssync_report_options *opts,
	ssync_report_row_cb cb, void *payload, ssync_error *err)
{
	json_t *r = ssync_report__build(n, kind, opts, err), *cols, *rows, *row, *it;
	const char *vals[32];
	char nums[32][40];
	size_t i, k;
	int error = 0;

	if (!r)
		return err && err->code ? err->code : SSYNC_ERROR;
	vals[0] = json_string_value(json_object_get(r, "title"));
	if (cb(SSYNC_REPORT_TITLE, 1, vals, payload) != 0)
		error = ssync_error_set(err, SSYNC_ECANCELLED, "report output stopped");
	json_array_foreach(json_object_get(r, "summary"), i, it) {
		if (error < 0)
			break;
		vals[0] = json_string_value(json_object_get(it, "label"));
		vals[1] = json_string_value(json_object_get(it, "value"));
		if (cb(SSYNC_REPORT_SUMMARY, 2, vals, payload) != 0)
			error = ssync_error_set(err, SSYNC_ECANCELLED, "report output stopped");
	}
	cols = json_object_get(r, "columns");
	rows = json_object_get(r, "rows");
	for (k = 0; k < json_array_size(cols) && k < 32; k++)
		vals[k] = json_string_value(json_array_get(cols, k));
	if (error == 0 && cb(SSYNC_REPORT_COLUMNS, (int)k, vals, payload) != 0)
		error = ssync_error_set(err, SSYNC_ECANCELLED, "report output stopped");
	json_array_foreach(rows, i, row) {
		if (error < 0)
			break;
		for (k = 0; k < json_array_size(row) && k < 32; k++)
			vals[k] = ssync_report__cell(json_array_get(row, k), nums[k]);
		if (cb(SSYNC_REPORT_ROW, (int)k, vals, payload) != 0)
			error = ssync_error_set(err, SSYNC_ECANCELLED, "report output stopped");
	}
	json_decref(r);
	return error;
}

typedef struct csv_out {
	ssync_write_cb cb;
	void *payload;
	int failed;
} csv_out;

static int csv_row(int section, int nvals, const char *const *vals, void *p)
{
	csv_out *o = p;

	if (section != SSYNC_REPORT_COLUMNS && section != SSYNC_REPORT_ROW)
		return 0;
	if (ssync_csvio_write_row(o->cb, o->payload, nvals, vals) != 0) {
		o->failed = 1;
		return 1;
	}
	return 0;
}

int ssync_report_csv(ssync_node *n, const char *kind, const ssync_report_options *opts, ssync_write_cb cb,
	void *payload, ssync_error *err)
{
	csv_out o = { cb, payload, 0 };
	ssync_error e2;
	int error;

	ssync_error_clear(&e2);
	error = ssync_report_rows(n, kind, opts, csv_row, &o, &e2);
	if (o.failed)
		return ssync_error_set(err, SSYNC_EIO, "write failed");
	if (error < 0 && err && !err->code)
		*err = e2;
	return error;
}
