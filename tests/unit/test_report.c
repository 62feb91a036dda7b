/* Reports against hand-computed fixtures, and `check` finding each kind of
 * violation (created directly on one node with raw SQL, as two offline
 * schools would produce them together through sync). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "helpers_domain.h"
#include "schoolsync/domain.h"
#include "schoolsync/report.h"
#include "store_int.h"

static json_t *report(hd_env *e, const char *kind, int year)
{
	ssync_report_options o = SSYNC_REPORT_OPTIONS_INIT;
	ssync_error err;
	char *s = NULL;
	json_error_t jerr;
	json_t *r;

	o.year = year;
	ssync_error_clear(&err);
	if (ssync_report_json(e->n, kind, &o, &s, &err) < 0)
		fail_msg("report %s: %s", kind, err.message);
	r = json_loads(s, 0, &jerr);
	free(s);
	assert_non_null(r);
	return r;
}

static json_int_t ival(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Row of @p r whose first cell is @p key. */
static json_t *row_of(json_t *r, const char *key)
{
	size_t i;
	json_t *row;

	json_array_foreach(json_object_get(r, "rows"), i, row)
		if (strcmp(json_string_value(json_array_get(row, 0)), key) == 0)
			return row;
	fail_msg("no row %s", key);
	return NULL;
}

static void teacher(hd_env *e, char *id, const char *school, const char *staff, const char *gender, const char *born,
	const char *joined, const char *title, const char *tier, const char *committed)
{
	char a[64], b[64], c[64], d[64], f[64], g[64], h[64], k[64];

	snprintf(a, sizeof(a), "school_id=%s", school);
	snprintf(b, sizeof(b), "staff_no=%s", staff);
	snprintf(c, sizeof(c), "gender=%s", gender);
	snprintf(d, sizeof(d), "birth_year=%s", born);
	snprintf(f, sizeof(f), "joined_year=%s", joined);
	snprintf(g, sizeof(g), "title=%s", title);
	snprintf(h, sizeof(h), "tier=%s", tier ? tier : "");
	snprintf(k, sizeof(k), "committed=%s", committed ? committed : "");
	if (hd_insert(e->n, "teacher", id, a, b, "name=测试", c, d, f, g, h, k, NULL) != 0)
		fail_msg("teacher %s", staff);
}

static void rotation(hd_env *e, const char *tid, const char *to, const char *term, const char *status)
{
	char a[200], b[64], c[64], d[64];

	snprintf(a, sizeof(a), "teacher_id=%s", tid);
	snprintf(b, sizeof(b), "to_school=%s", to);
	snprintf(c, sizeof(c), "term=%s", term);
	snprintf(d, sizeof(d), "status=%s", status ? status : "");
	if (hd_insert(e->n, "rotation", NULL, a, b, "kind=学区带教", c, d, NULL) != 0)
		fail_msg("rotation of %s", tid);
}

/*
 * Year 2024, retirement 60 (men) / 55 (women). Hand-computed:
 *   cm-001: T1 due+rotated; T2 near retirement; T3 9 years; T4 初级;
 *           T5 正高级 due, done 2024-2 (key); T6 committed 骨干 due, only
 *           proposed (key); T7 特级 due, rotated last year (key); T8 due,
 *           rejected; T9 rotated but retires in 5 years (not due).
 *           → 9 teachers, 5 due, 3 rotated, 2 rotated due (40 %),
 *             3 key, 1 key rotated (33.3 %)
 *   cm-003: U1, U2 due; U3 uncommitted 骨干 due, not key → 3 due, 0 rotated
 *   district: 12 teachers, 8 due, 2 rotated due (25 %), key 1 of 3.
 */
static void test_report__rotation_fixture(void **state)
{
	hd_env *e = *state;
	char t[12][160];
	json_t *r, *d, *row, *z;
	size_t i;

	hd_base(e->n);
	teacher(e, t[1], "cm-001", "T1", "男", "1970", "2010", "高级", NULL, NULL);
	teacher(e, t[2], "cm-001", "T2", "女", "1972", "2008", "中级", NULL, NULL);
	teacher(e, t[3], "cm-001", "T3", "男", "1980", "2015", "高级", NULL, NULL);
	teacher(e, t[4], "cm-001", "T4", "女", "1985", "2014", "初级", NULL, NULL);
	teacher(e, t[5], "cm-001", "T5", "女", "1980", "2010", "正高级", NULL, NULL);
	teacher(e, t[6], "cm-001", "T6", "男", "1975", "2000", "中级", "骨干", "1");
	teacher(e, t[7], "cm-001", "T7", "男", "1990", "2014", "中级", "特级", NULL);
	teacher(e, t[8], "cm-001", "T8", "女", "1979", "2014", "中级", NULL, NULL);
	teacher(e, t[9], "cm-001", "T9", "男", "1969", "2000", "高级", NULL, NULL);
	teacher(e, t[10], "cm-003", "U1", "男", "1970", "2000", "高级", NULL, NULL);
	teacher(e, t[11], "cm-003", "U2", "男", "1970", "2000", "中级", NULL, NULL);
	teacher(e, t[0], "cm-003", "U3", "女", "1990", "2012", "中级", "骨干", "0");
	rotation(e, t[1], "cm-002", "2024-1", "approved");
	rotation(e, t[5], "cm-003", "2024-2", "done");
	rotation(e, t[6], "cm-002", "2024-1", NULL);
	rotation(e, t[7], "cm-002", "2023-1", "done");
	rotation(e, t[8], "cm-002", "2024-1", "rejected");
	rotation(e, t[9], "cm-004", "2024-1", "approved");
	/* seed 003: newly appointed (新评) 特级/正高级 only: T5's 正高级 of 2024
	 * counts, T7's 特级 of 2015 does not; T6 is a committed 骨干. */
	{
		ssync_error err;
		ssync_error_clear(&err);
		assert_int_equal(ssync_node_sql(e->n, "UPDATE teacher SET title_year = 2024 WHERE staff_no = 'T5'; "
			"UPDATE teacher SET tier_year = 2015 WHERE staff_no = 'T7'", "t", NULL, NULL, NULL, &err), 0);
	}
	r = report(e, "rotation", 2024);
	d = json_object_get(r, "district");
	assert_int_equal(ival(d, "key_year_unknown"), 0);
	assert_int_equal(ival(d, "teachers"), 12);
	assert_int_equal(ival(d, "due"), 8);
	assert_int_equal(ival(d, "rotated"), 3);
	assert_int_equal(ival(d, "rotated_due"), 2);
	assert_true(json_real_value(json_object_get(d, "rate")) == 25.0);
	assert_int_equal(ival(d, "needed"), 0);
	assert_int_equal(ival(d, "key"), 2);
	assert_int_equal(ival(d, "key_rotated"), 1);
	assert_int_equal(ival(d, "schools_with_due"), 2);
	assert_int_equal(ival(d, "schools_meeting_target"), 1);
	/* columns: school name zone teachers due rotated rotated_due rate meets key key_rotated key_rate */
	row = row_of(r, "cm-001");
	assert_int_equal(json_integer_value(json_array_get(row, 3)), 9);
	assert_int_equal(json_integer_value(json_array_get(row, 4)), 5);
	assert_int_equal(json_integer_value(json_array_get(row, 5)), 3);
	assert_int_equal(json_integer_value(json_array_get(row, 6)), 2);
	assert_true(json_real_value(json_array_get(row, 7)) == 40.0);
	assert_string_equal(json_string_value(json_array_get(row, 8)), "yes");
	assert_int_equal(json_integer_value(json_array_get(row, 9)), 2);
	assert_int_equal(json_integer_value(json_array_get(row, 10)), 1);
	row = row_of(r, "cm-003");
	assert_int_equal(json_integer_value(json_array_get(row, 4)), 3);
	assert_int_equal(json_integer_value(json_array_get(row, 6)), 0);
	assert_string_equal(json_string_value(json_array_get(row, 8)), "no");
	assert_int_equal(json_integer_value(json_array_get(row, 9)), 0);
	row = row_of(r, "cm-002");
	assert_string_equal(json_string_value(json_array_get(row, 8)), "-");
	json_array_foreach(json_object_get(r, "zones"), i, z) {
		if (strcmp(json_string_value(json_object_get(z, "zone")), "城桥") == 0)
			assert_true(json_real_value(json_object_get(z, "rate")) == 40.0);
		else
			assert_true(json_real_value(json_object_get(z, "rate")) == 0.0);
	}
	json_decref(r);
	/* 2025: the 2024 rotations no longer count; T3 reaches 10 years; T1,
	 * U1, U2 come within 5 years of retirement: T3 T5 T6 T7 T8 U3. */
	r = report(e, "rotation", 2025);
	d = json_object_get(r, "district");
	assert_int_equal(ival(d, "rotated"), 0);
	assert_int_equal(ival(d, "due"), 6);
	json_decref(r);
}

static void test_report__courses_resources(void **state)
{
	hd_env *e = *state;
	char c[4][160], res[160], rr[200];
	ssync_error err;
	json_t *r, *d;

	hd_base(e->n);
	ssync_error_clear(&err);
	assert_int_equal(hd_insert(e->n, "course", c[0], "school_id=cm-001", "name=红色崇明", "category=思政", NULL), 0);
	assert_int_equal(hd_insert(e->n, "course", c[1], "school_id=cm-001", "name=机器人", "category=科技", NULL), 0);
	assert_int_equal(hd_insert(e->n, "course", c[2], "school_id=cm-001", "name=木工", "category=劳动", NULL), 0);
	assert_int_equal(hd_insert(e->n, "course", c[3], "school_id=cm-003", "name=扁担戏", "category=艺术", NULL), 0);
	assert_int_equal(ssync_domain_course_offer(e->n, c[0], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_offer(e->n, c[1], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_offer(e->n, c[2], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_offer(e->n, c[3], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_approve(e->n, c[0], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_approve(e->n, c[1], NULL, &err), 0);
	assert_int_equal(ssync_domain_course_approve(e->n, c[3], NULL, &err), 0);
	r = report(e, "courses", 2024);
	d = json_object_get(r, "district");
	assert_int_equal(ival(d, "shared_courses"), 3);
	assert_int_equal(ival(d, "categories_covered"), 3);
	assert_int_equal(ival(d, "schools_with_shared"), 2);
	assert_int_equal(ival(d, "pending_offers"), 1);
	assert_int_equal(json_array_size(json_object_get(r, "schools_without")), 2);
	/* cm-001 row: 思政 1, 学科 0, 文体 0, 艺术 0, 劳动 0 (not approved), 科技 1, 心理 0, total 2 */
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-001"), 2)), 1);
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-001"), 6)), 0);
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-001"), 7)), 1);
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-001"), 9)), 2);
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-003"), 5)), 1);
	json_decref(r);

	assert_int_equal(hd_insert(e->n, "resource", res, "school_id=cm-001", "name=体育馆", "kind=场馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	assert_int_equal(hd_insert(e->n, "resource", NULL, "school_id=cm-003", "name=图书馆", "kind=图书馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=0", NULL), 0);
	snprintf(rr, sizeof(rr), "resource_id=%s", res);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-002", rr, "day=2024-10-08", "from_time=09:00",
		"to_time=10:30", NULL), 0);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-001", rr, "day=2024-10-08", "from_time=11:00",
		"to_time=12:00", NULL), 0);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", rr, "day=2024-10-09", "from_time=14:00",
		"to_time=15:00", NULL), 0);
	r = report(e, "resources", 2024);
	d = json_object_get(r, "district");
	assert_int_equal(ival(d, "shared_resources"), 1);
	assert_int_equal(ival(d, "resources"), 2);
	assert_int_equal(ival(d, "bookings_by_others"), 2);
	assert_true(json_real_value(json_object_get(d, "hours_by_others")) == 2.5);
	/* resource name kind school school_name open bookings by_others other_schools hours */
	assert_int_equal(json_integer_value(json_array_get(row_of(r, res), 6)), 3);
	assert_int_equal(json_integer_value(json_array_get(row_of(r, res), 8)), 2);
	json_decref(r);
}

static void test_report__freshness(void **state)
{
	hd_env *e = *state;
	sqlite3 *db = ssync_store__db(ssync_node_store(e->n));
	json_t *r;

	/* 2024-10-10T00:00:00Z */
	setenv("SCHOOLSYNC_FAKE_TIME_MS", "1728518400000", 1);
	hd_base(e->n);
	assert_int_equal(sqlite3_exec(db,
		"INSERT INTO ssync_peer(node, pubkey, role, school_id, source, added) VALUES "
		"('node-a', x'00', 'school', 'cm-001', 'test', '2024-01-01T00:00:00Z'), "
		"('node-b', x'01', 'school', 'cm-002', 'test', '2024-01-01T00:00:00Z'), "
		"('node-c', x'02', 'school', 'cm-003', 'test', '2024-01-01T00:00:00Z');"
		"INSERT INTO ssync_node_seen(node, last_seq, last_received) VALUES "
		"('node-a', 42, '2024-10-07T00:00:00Z'), ('node-c', 7, '2024-10-09T12:00:00Z')", NULL, NULL, NULL), SQLITE_OK);
	r = report(e, "freshness", 2024);
	unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
	assert_int_equal(ival(json_object_get(r, "district"), "ok"), 1);
	assert_int_equal(ival(json_object_get(r, "district"), "late"), 1);
	assert_int_equal(ival(json_object_get(r, "district"), "never"), 2);
	/* school name node last_seq last_received last_written days status */
	assert_string_equal(json_string_value(json_array_get(row_of(r, "cm-001"), 2)), "node-a");
	assert_int_equal(json_integer_value(json_array_get(row_of(r, "cm-001"), 3)), 42);
	assert_true(json_real_value(json_array_get(row_of(r, "cm-001"), 6)) == 3.0);
	assert_string_equal(json_string_value(json_array_get(row_of(r, "cm-001"), 7)), "late");
	assert_string_equal(json_string_value(json_array_get(row_of(r, "cm-003"), 7)), "ok");
	assert_string_equal(json_string_value(json_array_get(row_of(r, "cm-002"), 7)), "never");
	assert_string_equal(json_string_value(json_array_get(row_of(r, "cm-004"), 7)), "never");
	json_decref(r);
}

static long kind_count(json_t *c, const char *kind)
{
	return (long)json_integer_value(json_object_get(json_object_get(c, "by_kind"), kind));
}

/* The violation of @p kind whose message contains @p part, or NULL. */
static json_t *find(json_t *c, const char *kind, const char *part)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(c, "violations"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "kind")), kind) == 0 &&
		    strstr(json_string_value(json_object_get(v, "message")), part))
			return v;
	return NULL;
}

static int has_school(json_t *v, const char *school)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(v, "schools"), i, s)
		if (strcmp(json_string_value(s), school) == 0)
			return 1;
	return 0;
}

static void test_report__check_finds_each_violation(void **state)
{
	hd_env *e = *state;
	ssync_error err;
	char *s = NULL, res[160];
	long count = -1;
	json_error_t jerr;
	json_t *c, *v;

	hd_base(e->n);
	ssync_error_clear(&err);
	assert_int_equal(ssync_report_check(e->n, &s, &count, &err), 0);
	assert_int_equal(count, 0);
	free(s);
	assert_int_equal(hd_insert(e->n, "resource", res, "school_id=cm-001", "name=体育馆", "kind=场馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	/* What two offline schools write, each valid alone. */
	hd_sql(e->n, "INSERT INTO booking(id, school_id, resource_id, day, from_time, to_time) VALUES "
		"('cm-002-b1', 'cm-002', ?1, '2024-10-08', '09:00', '10:30'), "
		"('cm-003-b1', 'cm-003', ?1, '2024-10-08', '10:00', '11:00'), "
		"('cm-003-b2', 'cm-003', ?1, '2024-10-08', '10:30', '11:30')", res, NULL);
	hd_sql(e->n, "INSERT INTO teacher(id, school_id, staff_no, name, title, birth_year, joined_year) VALUES "
		"('cm-001-t1', 'cm-001', 'D1', '张敏', '中级', 1980, 2010), "
		"('cm-003-t1', 'cm-003', 'D1', '李强', '中级', 1981, 2011), "
		"('cm-004-t1', 'cm-004', 'D1', '王伟', '中级', 1982, 2012)", NULL);
	hd_sql(e->n, "INSERT INTO rotation(id, school_id, teacher_id, from_school, to_school, kind, term, status) VALUES "
		"('cm-001-r1', 'cm-001', 'cm-001-t1', 'cm-001', 'cm-003', '支教', '2024-1', 'approved'), "
		"('cm-001-r2', 'cm-001', 'cm-001-t1', 'cm-001', 'cm-004', '跟岗', '2024-1', NULL), "
		"('cm-001-r3', 'cm-001', 'cm-001-t1', 'cm-001', 'cm-002', '跟岗', '2024-1', 'rejected')", NULL);
	/* A teacher at a school that does not exist; a booking whose resource was deleted. */
	hd_sql(e->n, "INSERT INTO teacher(id, school_id, staff_no, name, title, birth_year, joined_year) VALUES "
		"('cm-404-t1', 'cm-404', 'X1', '赵敏', '高级', 1975, 2005)", NULL);
	assert_int_equal(hd_insert(e->n, "resource", res, "school_id=cm-003", "name=图书馆", "kind=图书馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	hd_sql(e->n, "INSERT INTO booking(id, school_id, resource_id, day, from_time, to_time) VALUES "
		"('cm-004-b9', 'cm-004', ?1, '2024-10-09', '09:00', '10:00')", res, NULL);
	hd_sql(e->n, "DELETE FROM resource WHERE id = ?1", res, NULL);
	/* A value the commands refuse. */
	hd_sql(e->n, "UPDATE teacher SET title = '教授' WHERE id = 'cm-003-t1'", NULL);

	if (ssync_report_check(e->n, &s, &count, &err) != 0)
		fail_msg("check: %s", err.message);
	c = json_loads(s, 0, &jerr);
	free(s);
	assert_non_null(c);
	assert_int_equal(kind_count(c, "booking_overlap"), 2);  /* b1/b1, b1/b2; b2 touches nothing else */
	assert_int_equal(kind_count(c, "rotation_overlap"), 1); /* the rejected one does not count */
	assert_int_equal(kind_count(c, "duplicate_staff_no"), 1);
	assert_int_equal(kind_count(c, "dangling_reference"), 2);
	assert_int_equal(kind_count(c, "invalid_value"), 1);
	assert_int_equal(count, 7);
	assert_non_null(v = find(c, "booking_overlap", "cm-002-b1"));
	assert_true(has_school(v, "cm-002") && has_school(v, "cm-003") && has_school(v, "cm-001"));
	assert_int_equal(json_array_size(json_object_get(v, "records")), 3);
	assert_non_null(v = find(c, "rotation_overlap", "cm-001-t1"));
	assert_true(has_school(v, "cm-003") && has_school(v, "cm-004") && !has_school(v, "cm-002"));
	assert_non_null(v = find(c, "duplicate_staff_no", "D1"));
	assert_int_equal(json_array_size(json_object_get(v, "records")), 3);
	assert_true(has_school(v, "cm-001") && has_school(v, "cm-003") && has_school(v, "cm-004"));
	assert_non_null(v = find(c, "dangling_reference", "cm-404"));
	assert_non_null(v = find(c, "dangling_reference", "cm-004-b9"));
	assert_true(has_school(v, "cm-004"));
	assert_non_null(find(c, "invalid_value", "教授"));
	json_decref(c);
}

static void test_report__html_and_csv(void **state)
{
	hd_env *e = *state;
	ssync_demo_options o = SSYNC_DEMO_OPTIONS_INIT;
	ssync_report_options ro = SSYNC_REPORT_OPTIONS_INIT;
	const char *kinds[] = { "rotation", "courses", "resources", "freshness" };
	ssync_error err;
	char path[400], *html;
	FILE *f;
	long len;
	int svgs = 0;
	const char *p;

	o.schools = 20;
	o.year = 2024;
	ro.year = 2024;
	ssync_error_clear(&err);
	assert_int_equal(ssync_domain_demo_generate(e->n, &o, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/report.html", e->home);
	assert_int_equal(ssync_report_html(e->n, kinds, 4, &ro, path, &err), 0);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	html = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(html, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (p = html; (p = strstr(p, "<svg")); p++)
		svgs++;
	assert_true(svgs >= 5);
	assert_non_null(strstr(html, "</html>"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "src=\"http"));
	assert_null(strstr(html, "href=\"http"));
	assert_non_null(strstr(html, "交流轮岗"));
	free(html);
	{
		const char *bad[] = { "nosuch" };
		assert_int_equal(ssync_report_html(e->n, bad, 1, &ro, path, &err), SSYNC_EINVAL);
	}
}

/* Progress handler: counts VM steps; interrupts the statement once the
 * count reaches stop_at (0 = never). */
static long steps, stop_at;

static int count_steps(void *p)
{
	(void)p;
	return ++steps >= stop_at && stop_at > 0;
}

/* A report whose read loop stops early (here: interrupted halfway through
 * its rows, as SQLITE_BUSY or an I/O error would stop it) fails; it is never
 * a shorter report that looks complete. */
static void test_report__cut_read_fails_not_short(void **state)
{
	hd_env *e = *state;
	ssync_report_options o = SSYNC_REPORT_OPTIONS_INIT;
	sqlite3 *db = ssync_store__db(ssync_node_store(e->n));
	ssync_error err;
	char *s = NULL;
	json_t *r;
	long total;

	hd_base(e->n);
	o.year = 2024;
	steps = stop_at = 0;
	sqlite3_progress_handler(db, 1, count_steps, NULL);
	r = report(e, "courses", 2024);
	total = steps;
	assert_true(json_array_size(json_object_get(r, "rows")) > 1);
	json_decref(r);

	steps = 0;
	stop_at = total - total / 4;
	ssync_error_clear(&err);
	assert_true(ssync_report_json(e->n, "courses", &o, &s, &err) < 0);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	assert_null(s);
	assert_non_null(strstr(err.message, "courses report"));
	assert_non_null(strstr(err.message, "interrupt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report__rotation_fixture, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_report__courses_resources, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_report__freshness, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_report__check_finds_each_violation, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_report__html_and_csv, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_report__cut_read_fails_not_short, hd_setup, hd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
