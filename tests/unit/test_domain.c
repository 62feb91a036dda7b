/* Domain model: value rules, everyday writes (happy paths and bad input),
 * workflow transitions, the schema/spec/policy agreement and the demo
 * generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers_domain.h"
#include "schoolsync/domain.h"
#include "schoolsync/report.h"

static void norm_ok(const char *tbl, const char *col, const char *in, const char *want)
{
	const ssync_table_spec *t = ssync_domain_table(tbl);
	char out[256], why[256];
	int is_null, f = ssync_domain_field_index(t, col);

	assert_true(f >= 0);
	if (ssync_domain_normalize(&t->fields[f], in, out, sizeof(out), &is_null, why, sizeof(why)) != 0)
		fail_msg("%s.%s '%s': %s", tbl, col, in, why);
	if (want)
		assert_string_equal(out, want);
	else
		assert_true(is_null);
}

static void norm_bad(const char *tbl, const char *col, const char *in, const char *why_part)
{
	const ssync_table_spec *t = ssync_domain_table(tbl);
	char out[256], why[256];
	int is_null, f = ssync_domain_field_index(t, col);

	assert_true(f >= 0);
	assert_int_equal(ssync_domain_normalize(&t->fields[f], in, out, sizeof(out), &is_null, why, sizeof(why)), SSYNC_EINVAL);
	if (why_part && !strstr(why, why_part))
		fail_msg("%s.%s '%s': message '%s' lacks '%s'", tbl, col, in, why, why_part);
}

static void test_domain__normalize(void **state)
{
	(void)state;
	norm_ok("teacher", "title", " 高级 ", "高级");
	norm_ok("teacher", "职称", "正高级", "正高级");
	norm_bad("teacher", "title", "教授", "初级, 中级, 高级, 正高级");
	norm_ok("school", "stage", "九年一贯制", "nine-year");
	norm_ok("school", "stage", "Primary", "primary");
	norm_ok("teacher", "gender", "f", "女");
	norm_ok("teacher", "committed", "是", "1");
	norm_ok("teacher", "committed", "no", "0");
	norm_bad("teacher", "committed", "maybe", "yes/no");
	norm_ok("teacher", "birth_year", "1980", "1980");
	norm_bad("teacher", "birth_year", "1980年", "whole number");
	norm_bad("teacher", "birth_year", "1800", "out of range");
	norm_bad("teacher", "name", "", "required");
	norm_ok("teacher", "tier", "", NULL);
	norm_ok("teacher", "name", "\xe3\x80\x80欧阳娜娜\xe3\x80\x80", "欧阳娜娜");
	norm_bad("teacher", "name", "bad\xff", "UTF-8");
	norm_ok("booking", "day", "2024/9/3", "2024-09-03");
	norm_bad("booking", "day", "2023-02-29", "date");
	norm_ok("booking", "day", "2024-02-29", "2024-02-29");
	norm_ok("booking", "from_time", "9:05", "09:05");
	norm_bad("booking", "from_time", "25:00", "time");
	/* impossible dates and times are refused, never rolled over */
	norm_bad("booking", "day", "2026-02-31", "date");
	norm_bad("booking", "day", "2026-13-01", "date");
	norm_bad("booking", "day", "2026-04-31", "date");
	norm_bad("booking", "day", "2026-02/03", "date");
	norm_bad("booking", "to_time", "24:00", "time");
	norm_bad("booking", "to_time", "12:60", "time");
	norm_ok("booking", "day", "2000.2.29", "2000-02-29");
	norm_ok("booking", "to_time", "23:59", "23:59");
	norm_ok("rotation", "term", "2024-1", "2024-1");
	norm_bad("rotation", "term", "2024-3", "term");
	norm_ok("rotation", "status", "proposed", NULL);
	norm_ok("rotation", "status", "已批准", "approved");
	norm_ok("resource", "open_days", "1-5", "12345");
	norm_ok("resource", "open_days", "6,1,3", "136");
	norm_bad("resource", "open_days", "8", "weekdays");
	norm_ok("training", "credits", "1.5", "1.5");
	norm_bad("training", "credits", "abc", "number");
}

static void test_domain__spec_matches_schema(void **state)
{
	hd_env *e = *state;
	int i, j;

	for (i = 0; i < ssync_domain_ntables(); i++) {
		const ssync_table_spec *t = ssync_domain_table_at(i);
		char sql[256];
		/* Column count: id + spec fields, in the same order. */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM pragma_table_info('%s')", t->name);
		assert_int_equal(hd_count(e->n, sql), t->nfields + 1);
		for (j = 0; j < t->nfields; j++) {
			snprintf(sql, sizeof(sql), "SELECT cid FROM pragma_table_info('%s') WHERE name = '%s'", t->name,
				t->fields[j].name);
			assert_int_equal(hd_count(e->n, sql), j + 1);
		}
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM ssync_table WHERE name = '%s' AND private = %d", t->name, t->priv);
		assert_int_equal(hd_count(e->n, sql), 1);
		/* Every table has a policy default. */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM ssync_policy WHERE tbl = '%s' AND col = '*'", t->name);
		assert_int_equal(hd_count(e->n, sql), 1);
		if (t->owned) {
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM ssync_policy WHERE tbl = '%s' AND rule = 'owner:school_id'", t->name);
			assert_int_equal(hd_count(e->n, sql), 1);
		}
	}
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_policy WHERE tbl = 'rotation' AND col = 'status' AND rule = 'hub'"), 1);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_policy WHERE tbl = 'course' AND col = 'shared' AND rule = 'hub'"), 1);
	/* Merge contract: no index beyond the primary key on replicated tables. */
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM sqlite_master m JOIN ssync_table t ON t.name = m.tbl_name "
		"WHERE m.type = 'index' AND m.name NOT LIKE 'sqlite_autoindex_%'"), 0);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_table t, pragma_table_info(t.name) p "
		"WHERE p.\"notnull\" = 1 AND p.pk = 0"), 0);
}

static void test_domain__teacher_add(void **state)
{
	hd_env *e = *state;
	char id[160];
	ssync_error err;

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "teacher", id, "school_id=cm-001", "staff_no=CM0001", "name=欧阳晓燕",
		"subject=语文", "title=高级", "tier=骨干", "birth_year=1975", "joined_year=2005", "gender=女", "committed=是", NULL), 0);
	assert_true(strncmp(id, "cm-001-", 7) == 0 && strlen(id) == 7 + 16);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE name = '欧阳晓燕' AND committed = 1 AND birth_year = 1975"), 1);
	/* One signed entry per command. */
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_entry"), 7);
	/* Bad inputs, each with a precise code and the column named. */
	ssync_error_clear(&err);
	{
		const char *vals[12] = { "cm-001", "CM0002", "王伟", NULL, "教授", NULL, "1980", "2010", NULL, NULL, NULL, NULL };
		assert_int_equal(ssync_domain_insert(e->n, "teacher", vals, NULL, "t", NULL, 0, &err), SSYNC_EINVAL);
		assert_non_null(strstr(err.message, "title"));
	}
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-009", "staff_no=CM0003", "name=王伟", "title=中级",
		"birth_year=1980", "joined_year=2010", NULL), SSYNC_ENOTFOUND);
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-002", "staff_no=CM0001", "name=李强", "title=中级",
		"birth_year=1980", "joined_year=2010", NULL), SSYNC_EEXISTS);
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-002", "staff_no=CM0004", "name=李强", "title=中级",
		"birth_year=1990", "joined_year=2000", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-002", "staff_no=CM0005", "title=中级",
		"birth_year=1990", "joined_year=2015", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "school", NULL, "id=CM 5", "name=x", "zone_id=chengqiao", "stage=high",
		"students=5", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "school", NULL, "id=cm-001", "name=x", "zone_id=chengqiao", "stage=high",
		"students=5", NULL), SSYNC_EEXISTS);
	/* An explicit id of an owned row carries its school's prefix (docs/POLICY.md "Ownership"). */
	{
		const char *vals[12] = { "cm-002", "CM0006", "王伟", NULL, "中级", NULL, "1980", "2010", NULL, NULL, NULL, NULL };
		ssync_error_clear(&err);
		assert_int_equal(ssync_domain_insert(e->n, "teacher", vals, "cm-001-x1", "t", NULL, 0, &err), SSYNC_EINVAL);
		assert_non_null(strstr(err.message, "must start with 'cm-002-'"));
		ssync_error_clear(&err);
		assert_int_equal(ssync_domain_insert(e->n, "teacher", vals, "T001", "t", NULL, 0, &err), SSYNC_EINVAL);
	}
	/* Nothing of the failed commands was written. */
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_entry"), 7);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher"), 1);
	/* show by staff number. */
	assert_int_equal(ssync_domain_get(e->n, "teacher", "CM0001", NULL, NULL, &err), 0);
	assert_int_equal(ssync_domain_get(e->n, "teacher", "CM9999", NULL, NULL, &err), SSYNC_ENOTFOUND);
	assert_int_equal(ssync_domain_list(e->n, "student_archive", NULL, NULL, NULL, NULL, &err), SSYNC_EPERM);
}

static void test_domain__rotation_workflow(void **state)
{
	hd_env *e = *state;
	char t1[160], r1[160], r2[160];
	ssync_error err;

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "teacher", t1, "school_id=cm-001", "staff_no=A1", "name=张敏", "title=高级",
		"birth_year=1978", "joined_year=2008", NULL), 0);
	/* from_school and the owner default to the teacher's school. */
	assert_int_equal(hd_insert(e->n, "rotation", r1, "teacher_id=", "to_school=cm-003", "kind=支教", "term=2024-1", NULL),
		SSYNC_EINVAL);
	{
		char tt[200];
		snprintf(tt, sizeof(tt), "teacher_id=%s", t1);
		assert_int_equal(hd_insert(e->n, "rotation", r1, tt, "to_school=cm-003", "kind=支教", "term=2024-1", NULL), 0);
		assert_int_equal(hd_count(e->n, "SELECT count(*) FROM rotation WHERE from_school = 'cm-001' AND school_id = 'cm-001' "
			"AND status IS NULL"), 1);
		/* Second rotation in the same term: refused; to own school: refused; wrong from. */
		assert_int_equal(hd_insert(e->n, "rotation", r2, tt, "to_school=cm-002", "kind=跟岗", "term=2024-1", NULL), SSYNC_ECONFLICT);
		assert_int_equal(hd_insert(e->n, "rotation", r2, tt, "to_school=cm-001", "kind=跟岗", "term=2024-2", NULL), SSYNC_EINVAL);
		assert_int_equal(hd_insert(e->n, "rotation", r2, tt, "from_school=cm-002", "to_school=cm-003", "kind=跟岗",
			"term=2024-2", NULL), SSYNC_EINVAL);
		assert_int_equal(hd_insert(e->n, "rotation", r2, tt, "to_school=cm-003", "kind=轮岗", "term=2024-2", NULL), SSYNC_EINVAL);
	}
	ssync_error_clear(&err);
	assert_int_equal(ssync_domain_rotation_set_status(e->n, r1, SSYNC_ROT_DONE, "hub", &err), SSYNC_EINVAL);
	assert_non_null(strstr(err.message, "proposed"));
	assert_int_equal(ssync_domain_rotation_set_status(e->n, r1, SSYNC_ROT_APPROVED, "hub", &err), 0);
	assert_int_equal(ssync_domain_rotation_set_status(e->n, r1, SSYNC_ROT_APPROVED, "hub", &err), SSYNC_EINVAL);
	assert_int_equal(ssync_domain_rotation_set_status(e->n, r1, SSYNC_ROT_DONE, "hub", &err), 0);
	assert_int_equal(ssync_domain_rotation_set_status(e->n, "nope", SSYNC_ROT_DONE, "hub", &err), SSYNC_ENOTFOUND);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM rotation WHERE status = 'done'"), 1);
}

static void test_domain__course_and_enroll(void **state)
{
	hd_env *e = *state;
	char c1[160], en[160];
	char cc[200];
	ssync_error err;

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "course", c1, "school_id=cm-001", "name=红色崇明", "category=思政", NULL), 0);
	assert_int_equal(hd_insert(e->n, "course", NULL, "school_id=cm-001", "name=x", "category=数学", NULL), SSYNC_EINVAL);
	snprintf(cc, sizeof(cc), "course_id=%s", c1);
	/* Not shared yet: other schools cannot enrol; the owner can. */
	assert_int_equal(hd_insert(e->n, "enrollment", en, "school_id=cm-002", cc, "term=2024-1", "students=20", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "enrollment", en, "school_id=cm-001", cc, "term=2024-1", "students=20", NULL), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_domain_course_approve(e->n, c1, "hub", &err), SSYNC_EINVAL);
	assert_int_equal(ssync_domain_course_offer(e->n, c1, "cm-001", &err), 0);
	assert_int_equal(ssync_domain_course_approve(e->n, c1, "hub", &err), 0);
	assert_int_equal(hd_insert(e->n, "enrollment", en, "school_id=cm-002", cc, "term=2024-1", "students=20", NULL), 0);
	assert_int_equal(hd_insert(e->n, "enrollment", en, "school_id=cm-002", cc, "term=2024-1", "students=0", NULL), SSYNC_EINVAL);
	assert_int_equal(ssync_domain_set(e->n, "course", c1, "school_id", "cm-002", "x", &err), SSYNC_EPERM);
}

static void test_domain__booking_rules(void **state)
{
	hd_env *e = *state;
	char r1[160], r2[160], b[200];

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "resource", r1, "school_id=cm-001", "name=体育馆", "kind=场馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	assert_int_equal(hd_insert(e->n, "resource", r2, "school_id=cm-001", "name=图书馆", "kind=图书馆", "open_days=12345",
		"open_from=08:00", "open_to=17:00", "shared=0", NULL), 0);
	assert_int_equal(hd_insert(e->n, "resource", NULL, "school_id=cm-001", "name=x", "kind=场馆", "open_days=12345",
		"open_from=17:00", "open_to=08:00", NULL), SSYNC_EINVAL);
	snprintf(b, sizeof(b), "resource_id=%s", r1);
	/* 2024-10-08 is a Tuesday; 2024-10-12 a Saturday. */
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-002", b, "day=2024-10-08", "from_time=09:00",
		"to_time=10:30", "purpose=篮球赛", NULL), 0);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-08", "from_time=10:00",
		"to_time=11:00", NULL), SSYNC_ECONFLICT);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-08", "from_time=10:30",
		"to_time=11:00", NULL), 0);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-12", "from_time=09:00",
		"to_time=10:00", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-09", "from_time=16:00",
		"to_time=18:00", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-09", "from_time=11:00",
		"to_time=10:00", NULL), SSYNC_EINVAL);
	snprintf(b, sizeof(b), "resource_id=%s", r2);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", b, "day=2024-10-09", "from_time=09:00",
		"to_time=10:00", NULL), SSYNC_EINVAL);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-001", b, "day=2024-10-09", "from_time=09:00",
		"to_time=10:00", NULL), 0);
	assert_int_equal(hd_insert(e->n, "booking", NULL, "school_id=cm-003", "resource_id=nope", "day=2024-10-09",
		"from_time=09:00", "to_time=10:00", NULL), SSYNC_ENOTFOUND);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM booking"), 3);
}

/* edit runs add's checks on the edited row (the row itself does not
 * overlap itself or duplicate its own staff number), writes only what
 * changed, never moves a row to another school; delete keeps referenced
 * rows; a same-value write_cell is still one entry (resolve). */
static void test_domain__edit_delete(void **state)
{
	hd_env *e = *state;
	char r1[160], bk[160], t1[160], out[160], b[200];
	ssync_error err;
	int changed = -1;
	long entries;

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "resource", r1, "school_id=cm-001", "name=体育馆", "kind=场馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	snprintf(b, sizeof(b), "resource_id=%s", r1);
	assert_int_equal(hd_insert(e->n, "booking", bk, "school_id=cm-002", b, "day=2024-10-08", "from_time=09:00",
		"to_time=10:30", NULL), 0);
	assert_int_equal(hd_insert(e->n, "teacher", t1, "school_id=cm-001", "staff_no=CM0001", "name=欧阳晓燕",
		"title=高级", "birth_year=1975", "joined_year=2005", NULL), 0);
	{
		const ssync_table_spec *bt = ssync_domain_table("booking");
		const char *vals[16] = { NULL };
		vals[ssync_domain_field_index(bt, "to_time")] = "11:00"; /* overlaps only itself */
		ssync_error_clear(&err);
		assert_int_equal(ssync_domain_update(e->n, "booking", bk, vals, "t", out, sizeof(out), &changed, &err), 0);
		assert_int_equal(changed, 1);
		vals[ssync_domain_field_index(bt, "to_time")] = "18:00"; /* after closing */
		assert_int_equal(ssync_domain_update(e->n, "booking", bk, vals, "t", NULL, 0, &changed, &err), SSYNC_EINVAL);
		vals[ssync_domain_field_index(bt, "to_time")] = NULL;
		vals[0] = "cm-003";
		assert_int_equal(ssync_domain_update(e->n, "booking", bk, vals, "t", NULL, 0, &changed, &err), SSYNC_EPERM);
	}
	{
		const ssync_table_spec *tt = ssync_domain_table("teacher");
		const char *vals[16] = { NULL };
		vals[ssync_domain_field_index(tt, "staff_no")] = "CM0001";
		vals[ssync_domain_field_index(tt, "title")] = "副高";
		ssync_error_clear(&err);
		assert_int_equal(ssync_domain_update(e->n, "teacher", "CM0001", vals, "t", NULL, 0, &changed, &err), SSYNC_EINVAL);
		assert_non_null(strstr(err.message, "正高级"));
		vals[ssync_domain_field_index(tt, "title")] = "高级";
		entries = hd_count(e->n, "SELECT count(*) FROM ssync_entry");
		assert_int_equal(ssync_domain_update(e->n, "teacher", "CM0001", vals, "t", out, sizeof(out), &changed, &err), 0);
		assert_int_equal(changed, 0);
		assert_string_equal(out, t1);
		assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_entry"), entries);
		/* the same value written as a resolution is one entry all the same */
		assert_int_equal(ssync_node_write_cell(e->n, "teacher", t1, "title", "高级", "t", NULL, &err), 0);
		assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_entry"), entries + 1);
		assert_int_equal(ssync_node_write_cell(e->n, "teacher", "nope", "title", "高级", "t", NULL, &err), SSYNC_ENOTFOUND);
	}
	ssync_error_clear(&err);
	assert_int_equal(ssync_domain_delete(e->n, "resource", r1, "t", NULL, 0, &err), SSYNC_ECONFLICT);
	assert_non_null(strstr(err.message, bk));
	assert_int_equal(ssync_domain_delete(e->n, "booking", bk, "t", NULL, 0, &err), 0);
	assert_int_equal(ssync_domain_delete(e->n, "resource", r1, "t", NULL, 0, &err), 0);
	assert_int_equal(ssync_domain_delete(e->n, "resource", r1, "t", NULL, 0, &err), SSYNC_ENOTFOUND);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM resource"), 0);
}

static void test_domain__demo_district(void **state)
{
	hd_env *e = *state;
	ssync_demo_options o = SSYNC_DEMO_OPTIONS_INIT;
	ssync_demo_stats st;
	ssync_error err;
	char *json = NULL;
	long count = -1, small, schools;

	o.year = 2024;
	ssync_error_clear(&err);
	if (ssync_domain_demo_generate(e->n, &o, &st, &err) < 0)
		fail_msg("demo: %s", err.message);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM school"), 111);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone"), 6);
	assert_int_equal(hd_count(e->n, "SELECT count(DISTINCT town) FROM school"), 18);
	schools = hd_count(e->n, "SELECT count(*) FROM school");
	small = hd_count(e->n, "SELECT count(*) FROM school WHERE students < 200");
	/* Seed 004: about 35 % small schools. */
	assert_true(small * 100 / schools >= 25 && small * 100 / schools <= 45);
	{
		long teachers = hd_count(e->n, "SELECT count(*) FROM teacher");
		assert_true(teachers / 111 >= 24 && teachers / 111 <= 36);
	}
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM edu_group WHERE kind = 'cross'"), 4);
	assert_true(hd_count(e->n, "SELECT count(*) FROM rotation") > 50);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE length(name) BETWEEN 2 AND 4 AND unicode(name) >= 19968"),
		hd_count(e->n, "SELECT count(*) FROM teacher"));
	/* The generated district obeys every rule: check finds nothing. */
	assert_int_equal(ssync_report_check(e->n, &json, &count, &err), 0);
	if (count != 0)
		fail_msg("demo violates: %.2000s", json);
	free(json);
	assert_int_equal(st.total, hd_count(e->n, "SELECT (SELECT count(*) FROM zone) + (SELECT count(*) FROM edu_group) + "
		"(SELECT count(*) FROM school) + (SELECT count(*) FROM teacher) + (SELECT count(*) FROM rotation) + "
		"(SELECT count(*) FROM course) + (SELECT count(*) FROM enrollment) + (SELECT count(*) FROM resource) + "
		"(SELECT count(*) FROM booking) + (SELECT count(*) FROM training) + (SELECT count(*) FROM observation) + "
		"(SELECT count(*) FROM funding)"));
}

static void test_domain__demo_deterministic(void **state)
{
	hd_env *e = *state;
	ssync_demo_options o = SSYNC_DEMO_OPTIONS_INIT;
	ssync_error err;
	char h1[65], h2[65];
	ssync_node *n2 = NULL;
	char home2[300], cmd[400];

	o.schools = 12;
	o.year = 2024;
	ssync_error_clear(&err);
	assert_int_equal(ssync_domain_demo_generate(e->n, &o, NULL, &err), 0);
	snprintf(home2, sizeof(home2), "%s/second", e->home);
	assert_int_equal(ssync_node_init(home2, "other", "test", NULL, &err), 0);
	assert_int_equal(ssync_node_open(&n2, home2, 0, &err), 0);
	assert_int_equal(ssync_domain_demo_generate(n2, &o, NULL, &err), 0);
	assert_int_equal(ssync_node_state_hash(e->n, h1, &err), 0);
	assert_int_equal(ssync_node_state_hash(n2, h2, &err), 0);
	assert_string_equal(h1, h2);
	ssync_node_free(n2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home2);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain__normalize),
		cmocka_unit_test_setup_teardown(test_domain__spec_matches_schema, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__teacher_add, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__rotation_workflow, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__course_and_enroll, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__booking_rules, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__edit_delete, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__demo_district, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_domain__demo_deterministic, hd_setup, hd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
