/* CSV import/export: all or nothing, every bad line and column named,
 * BOM, Chinese headers, quoted multi-line fields, checks across the rows
 * of one file, and a 5,000-row import with its rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "helpers_domain.h"
#include "schoolsync/csvio.h"
#include "schoolsync/domain.h"
#include "schoolsync/privacy.h"

static int import(hd_env *e, const char *table, const char *path, const char *school, ssync_import_result *res)
{
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_error err;
	int rc;

	o.school_id = school;
	ssync_error_clear(&err);
	rc = ssync_csvio_import(e->n, table, path, &o, res, &err);
	if (getenv("HD_VERBOSE")) {
		long i;
		fprintf(stderr, "import %s: %d %s\n", table, rc, err.message);
		for (i = 0; i < res->nproblems; i++)
			fprintf(stderr, "  line %ld col %d (%s): %s\n", res->problems[i].line, res->problems[i].column,
				res->problems[i].column_name, res->problems[i].message);
	}
	return rc;
}

static int has_problem(const ssync_import_result *res, long line, int column, const char *part)
{
	long i;

	for (i = 0; i < res->nproblems; i++)
		if (res->problems[i].line == line && (column < 0 || res->problems[i].column == column) &&
		    (!part || strstr(res->problems[i].message, part)))
			return 1;
	return 0;
}

/* 5,000 teachers; line L of the file is teacher L-1. bad: which lines to spoil. */
static char *teachers_csv(int rows, int spoil)
{
	size_t cap = (size_t)rows * 120 + 200, off = 0;
	char *s = malloc(cap);
	int i;

	assert_non_null(s);
	off += (size_t)snprintf(s + off, cap - off, "\xef\xbb\xbf工号,姓名,学校,学科,职称,梯队,出生年份,入校年份,性别\r\n");
	for (i = 1; i <= rows; i++) {
		int line = i + 1;
		const char *title = "中级", *school = i % 2 ? "cm-001" : "cm-002", *birth = "1980";
		char staff[32];
		snprintf(staff, sizeof(staff), "T%05d", i);
		if (spoil && line == 101)
			title = "教授";
		if (spoil && line == 2501)
			school = "cm-999";
		if (spoil && line == 4000)
			snprintf(staff, sizeof(staff), "T%05d", 9); /* same as line 10 */
		if (spoil && line == 4500) {
			title = "特级";
			birth = "19x0";
		}
		off += (size_t)snprintf(s + off, cap - off, "%s,教师%d,%s,数学,%s,骨干,%s,2005,女\r\n", staff, i, school, title, birth);
	}
	return s;
}

static void test_csvio__import_5000_all_or_nothing(void **state)
{
	hd_env *e = *state;
	ssync_import_result res;
	char *csv;
	const char *path;
	long entries0;
	struct timespec t0, t1;
	double secs;

	hd_base(e->n);
	entries0 = hd_count(e->n, "SELECT count(*) FROM ssync_entry");
	csv = teachers_csv(5000, 1);
	path = hd_file(e, "teachers_bad.csv", csv);
	free(csv);
	assert_int_equal(import(e, "teacher", path, NULL, &res), SSYNC_EINVAL);
	assert_int_equal(res.rows, 5000);
	assert_int_equal(res.inserted, 0);
	/* Every bad line named, with its column. */
	assert_true(has_problem(&res, 101, 5, "教授"));
	assert_true(has_problem(&res, 2501, 3, "cm-999"));
	assert_true(has_problem(&res, 4000, 1, "line 10"));
	assert_true(has_problem(&res, 10, 1, "line 4000"));
	assert_true(has_problem(&res, 4500, 5, "特级"));
	assert_true(has_problem(&res, 4500, 7, "whole number"));
	assert_int_equal(res.nproblems, 6);
	assert_string_equal(res.problems[0].column_name, "工号");
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher"), 0);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM ssync_entry"), entries0);
	/* The corrected file goes in whole. */
	csv = teachers_csv(5000, 0);
	path = hd_file(e, "teachers.csv", csv);
	free(csv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(import(e, "teacher", path, NULL, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "# import 5000 teachers: %.3f s, %.0f rows/s, %d entries\n", secs, 5000 / secs, res.entries);
	assert_int_equal(res.inserted, 5000);
	assert_true(res.entries >= 1);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE title = '中级' AND gender = '女' AND birth_year = 1980"), 5000);
	assert_int_equal(hd_count(e->n, "SELECT count(DISTINCT id) FROM teacher WHERE id LIKE 'cm-00_-%'"), 5000);
	ssync_csvio_result_clear(&res);
	/* Importing the same file again: every staff number is taken. */
	assert_int_equal(import(e, "teacher", path, NULL, &res), SSYNC_EINVAL);
	assert_int_equal(res.nproblems, 5000);
	assert_true(has_problem(&res, 2, 1, "already teacher"));
	ssync_csvio_result_clear(&res);
}

static void test_csvio__header_problems(void **state)
{
	hd_env *e = *state;
	ssync_import_result res;
	const char *path;

	hd_base(e->n);
	path = hd_file(e, "h.csv", "staff_no,name,title,shoe_size,name\nA1,王伟,中级,42,x\n");
	assert_int_equal(import(e, "teacher", path, NULL, &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 1, 4, "unknown column 'shoe_size'"));
	assert_true(has_problem(&res, 1, 5, "twice"));
	assert_true(has_problem(&res, 1, 0, "birth_year"));
	assert_true(has_problem(&res, 1, 0, "--school"));
	ssync_csvio_result_clear(&res);
	path = hd_file(e, "empty.csv", "");
	assert_int_equal(import(e, "teacher", path, NULL, &res), SSYNC_EINVAL);
	ssync_csvio_result_clear(&res);
	assert_int_equal(import(e, "nosuch", path, NULL, &res), SSYNC_EINVAL);
	ssync_csvio_result_clear(&res);
	assert_int_equal(import(e, "teacher", "/nonexistent/x.csv", NULL, &res), SSYNC_ENOTFOUND);
	ssync_csvio_result_clear(&res);
}

static void test_csvio__lines_quotes_and_defaults(void **state)
{
	hd_env *e = *state;
	ssync_import_result res;
	const char *path;

	hd_base(e->n);
	/* Record 2 spans lines 3-4 (quoted newline); line 5 is blank; line 7 is bad. */
	path = hd_file(e, "q.csv",
		"staff_no,name,subject,title,birth_year,joined_year\n"
		"A1,\"欧阳, 晓燕\",语文,高级,1975,2005\n"
		"A2,王伟,\"数学\n(兼)\",中级,1980,2010\n"
		"\n"
		"A3,\"李\"\"强\"\"\",英语,初级,1995,2020\n"
		"A4,赵敏,物理,讲师,1990,2015\n");
	assert_int_equal(import(e, "teacher", path, "cm-003", &res), SSYNC_EINVAL);
	assert_int_equal(res.nproblems, 1);
	assert_true(has_problem(&res, 7, 4, "讲师"));
	ssync_csvio_result_clear(&res);
	path = hd_file(e, "q2.csv",
		"staff_no,name,subject,title,birth_year,joined_year\n"
		"A1,\"欧阳, 晓燕\",语文,高级,1975,2005\n"
		"A2,王伟,\"数学\n(兼)\",中级,1980,2010\n"
		"\n"
		"A3,\"李\"\"强\"\"\",英语,初级,1995,2020\n"
		",,,,,\n");
	assert_int_equal(import(e, "teacher", path, "cm-003", &res), 0);
	assert_int_equal(res.inserted, 3);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE school_id = 'cm-003'"), 3);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE name = '欧阳, 晓燕'"), 1);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE name = '李\"强\"'"), 1);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE subject = '数学\n(兼)'"), 1);
	ssync_csvio_result_clear(&res);
	/* An unclosed quote is named by the line its record starts on. */
	path = hd_file(e, "u.csv", "staff_no,name,title,birth_year,joined_year\nB1,\"王伟,中级,1980,2010\n");
	assert_int_equal(import(e, "teacher", path, "cm-003", &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 2, 0, NULL));
	ssync_csvio_result_clear(&res);
	/* A NUL byte in a field is refused, naming its line (it used to cut
	 * the value there and import 'a' for 'a<NUL>b' without a word). */
	{
		char nulpath[4200];
		static const char nul[] = "staff_no,name,title,birth_year,joined_year\nC1,王伟,中级,1980,2010\n"
			"C2,李\0强,中级,1980,2010\n";
		FILE *fp;
		snprintf(nulpath, sizeof(nulpath), "%s.nul", hd_file(e, "nul.csv", ""));
		assert_non_null(fp = fopen(nulpath, "wb"));
		assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, fp), sizeof(nul) - 1);
		assert_int_equal(fclose(fp), 0);
		assert_int_equal(import(e, "teacher", nulpath, "cm-003", &res), SSYNC_EINVAL);
		assert_true(has_problem(&res, 3, 0, "NUL"));
		assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE staff_no IN ('C1','C2')"), 0);
		ssync_csvio_result_clear(&res);
	}
	/* Wrong number of fields. */
	path = hd_file(e, "w.csv", "staff_no,name,title,birth_year,joined_year\nB1,王伟,中级,1980\n");
	assert_int_equal(import(e, "teacher", path, "cm-003", &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 2, 0, "fields"));
	ssync_csvio_result_clear(&res);
}

static void test_csvio__rows_against_each_other(void **state)
{
	hd_env *e = *state;
	ssync_import_result res;
	char rid[160], csv[1200], tid[160], tt[200];
	const char *path;

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "resource", rid, "school_id=cm-001", "name=体育馆", "kind=场馆", "open_days=1-5",
		"open_from=08:00", "open_to=17:00", "shared=1", NULL), 0);
	snprintf(csv, sizeof(csv), "school_id,resource_id,day,from_time,to_time\n"
		"cm-002,%s,2024-10-08,09:00,10:30\n"
		"cm-003,%s,2024-10-08,10:00,11:00\n"
		"cm-003,%s,2024-10-08,10:30,11:00\n", rid, rid, rid);
	path = hd_file(e, "b.csv", csv);
	assert_int_equal(import(e, "booking", path, NULL, &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 2, 4, "line 3"));
	assert_true(has_problem(&res, 3, 4, "line 2"));
	assert_true(has_problem(&res, 3, 4, "line 4"));
	assert_false(has_problem(&res, 2, -1, "line 4"));
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_insert(e->n, "teacher", tid, "school_id=cm-001", "staff_no=A1", "name=张敏", "title=高级",
		"birth_year=1978", "joined_year=2008", NULL), 0);
	snprintf(tt, sizeof(tt), "%s", tid);
	snprintf(csv, sizeof(csv), "teacher_id,to_school,kind,term\n%s,cm-003,支教,2024-1\n%s,cm-002,跟岗,2024-1\n", tt, tt);
	path = hd_file(e, "r.csv", csv);
	assert_int_equal(import(e, "rotation", path, NULL, &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 2, 4, "line 3"));
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM booking") + hd_count(e->n, "SELECT count(*) FROM rotation"), 0);
}

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static int to_buf(const char *s, size_t len, void *payload)
{
	buf *b = payload;

	if (b->n + len + 1 > b->cap) {
		size_t cap = (b->n + len + 1) * 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = 0;
	return 0;
}

static void test_csvio__export_roundtrip(void **state)
{
	hd_env *e = *state;
	buf b = { NULL, 0, 0 };
	ssync_error err;
	ssync_import_result res;
	json_error_t jerr;
	json_t *arr;
	const char *path;
	char h1[65];

	hd_base(e->n);
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-001", "staff_no=A1", "name=欧阳, \"晓燕\"",
		"title=高级", "birth_year=1975", "joined_year=2005", NULL), 0);
	assert_int_equal(hd_insert(e->n, "teacher", NULL, "school_id=cm-002", "staff_no=A2", "name=王伟",
		"title=中级", "birth_year=1985", "joined_year=2012", "committed=1", NULL), 0);
	/* A formula smuggled in by raw SQL is defused in the CSV. */
	hd_sql(e->n, "INSERT INTO teacher(id, school_id, staff_no, name, title, birth_year, joined_year) "
		"VALUES ('cm-002-x', 'cm-002', 'A3', '=1+1', '中级', 1990, 2015)", NULL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_csvio_export(e->n, "teacher", SSYNC_FORMAT_CSV, to_buf, &b, &err), 0);
	assert_non_null(strstr(b.p, "id,school_id,staff_no,name,subject,title"));
	assert_non_null(strstr(b.p, "\"欧阳, \"\"晓燕\"\"\""));
	assert_non_null(strstr(b.p, ",'=1+1,"));
	path = hd_file(e, "export.csv", b.p);
	free(b.p);
	memset(&b, 0, sizeof(b));
	/* Deleted, then the exported file brings the same rows back by id. */
	hd_sql(e->n, "DELETE FROM teacher", NULL);
	assert_int_equal(import(e, "teacher", path, NULL, &res), 0);
	assert_int_equal(res.inserted, 3);
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE id = 'cm-002-x' AND name = '''=1+1'"), 1);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM teacher WHERE name = '欧阳, \"晓燕\"' AND committed IS NULL"), 1);
	assert_int_equal(ssync_csvio_export(e->n, "teacher", SSYNC_FORMAT_JSON, to_buf, &b, &err), 0);
	arr = json_loads(b.p, 0, &jerr);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "birth_year")), 1975);
	json_decref(arr);
	free(b.p);
	assert_int_equal(ssync_csvio_export(e->n, "student_archive", SSYNC_FORMAT_CSV, to_buf, &b, &err), SSYNC_EPERM);
	assert_int_equal(ssync_node_state_hash(e->n, h1, &err), 0);
}

static int import_enc(hd_env *e, const char *table, const char *path, const char *enc, ssync_import_result *res,
	ssync_error *err)
{
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;

	o.encoding = enc;
	ssync_error_clear(err);
	memset(res, 0, sizeof(*res));
	return ssync_csvio_import(e->n, table, path, &o, res, err);
}

/* Chinese Excel files: GB18030/GBK detected and converted; GBK whose bytes
 * are valid UTF-8 (学思 = D1 A7 CB BC, "ѧ˼" in UTF-8) never stored garbled;
 * a file that could be either is refused until --encoding says. */
static void test_csvio__encodings(void **state)
{
	hd_env *e = *state;
	ssync_import_result res;
	ssync_error err;
	const char *p;

	hd_base(e->n);
	/* GBK whose bytes are valid UTF-8: auto must read GB18030 */
	p = hd_file(e, "gbk_valid_utf8.csv", "id,name\nz-a,\xd1\xa7\xcb\xbc\n");
	assert_int_equal(import_enc(e, "zone", p, NULL, &res, &err), 0);
	assert_string_equal(res.encoding, "gb18030");
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone WHERE id = 'z-a' AND name = '学思'"), 1);
	/* GBK Chinese header, invalid as UTF-8 */
	p = hd_file(e, "gbk.csv", "id,\xc3\xfb\xb3\xc6\nz-b,\xb3\xc7\xc7\xc5\n"); /* 名称 / 城桥 */
	assert_int_equal(import_enc(e, "zone", p, "auto", &res, &err), 0);
	assert_string_equal(res.encoding, "gb18030");
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone WHERE id = 'z-b' AND name = '城桥'"), 1);
	/* UTF-8 with and without BOM */
	p = hd_file(e, "u8.csv", "id,名称\nz-c,崇西\n");
	assert_int_equal(import_enc(e, "zone", p, NULL, &res, &err), 0);
	assert_string_equal(res.encoding, "utf-8");
	ssync_csvio_result_clear(&res);
	p = hd_file(e, "bom.csv", "\xef\xbb\xbfid,名称\nz-d,长横\n");
	assert_int_equal(import_enc(e, "zone", p, NULL, &res, &err), 0);
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone WHERE name IN ('崇西', '长横')"), 2);
	/* several marks (saved again by other tools): all go, the header reads
	 * (fuzz_csv; three failed before: "unknown column '\ufeffid'") */
	p = hd_file(e, "bom3.csv", "\xef\xbb\xbf\xef\xbb\xbf\xef\xbb\xbfid,名称\nz-g,崇东\n");
	assert_int_equal(import_enc(e, "zone", p, NULL, &res, &err), 0);
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone WHERE id = 'z-g' AND name = '崇东'"), 1);
	/* GBK bytes beside UTF-8 Chinese: cannot tell, nothing written */
	p = hd_file(e, "mixed.csv", "id,name\nz-e,\xd1\xa7\xcb\xbc\xe9\xab\x98\xe7\xba\xa7\n");
	assert_int_equal(import_enc(e, "zone", p, NULL, &res, &err), SSYNC_EENCODING);
	assert_non_null(strstr(err.hint, "--encoding"));
	ssync_csvio_result_clear(&res);
	/* told: UTF-8 takes it as written */
	assert_int_equal(import_enc(e, "zone", p, "utf-8", &res, &err), 0);
	ssync_csvio_result_clear(&res);
	/* a GBK file declared UTF-8 is refused with the line and the hint */
	p = hd_file(e, "gbk2.csv", "id,name\nz-f,\xb3\xc7\xc7\xc5\n");
	assert_int_equal(import_enc(e, "zone", p, "utf-8", &res, &err), SSYNC_EENCODING);
	assert_non_null(strstr(err.message, "line 2"));
	assert_non_null(strstr(err.hint, "gb18030"));
	ssync_csvio_result_clear(&res);
	assert_int_equal(import_enc(e, "zone", p, "latin1", &res, &err), SSYNC_EINVAL);
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM zone WHERE id = 'z-f'"), 0);
}

/* Data keys in HOME/keys.db (-1: no keys.db yet). */
static long keys_in(hd_env *e)
{
	char path[400];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long n = -1;

	snprintf(path, sizeof(path), "%s/keys.db", e->home);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM data_key", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static int cancel_at_write(const char *phase, long done, long total, void *p)
{
	(void)total;
	(void)p;
	return strcmp(phase, "write") == 0 && done == 0;
}

typedef struct arch_rows {
	int n, clear;
	char names[8][64];
} arch_rows;

static int arch_row(int ncols, const char *const *names, const char *const *values, const int *types, void *p)
{
	arch_rows *a = p;

	(void)ncols;
	(void)names;
	(void)types;
	if (values[2] && strncmp(values[2], "enc1:", 5) != 0 && strcmp(values[2], SSYNC_PRIVACY_HIDDEN) != 0)
		a->clear++;
	if (a->n < 8)
		snprintf(a->names[a->n], sizeof(a->names[0]), "%s", values[2] ? values[2] : "");
	a->n++;
	return 0;
}

/* student_archive through import (PRIVACY.md §6): every private cell
 * sealed as add seals it, one data key per row, readable back; a bad
 * file, a dry run and a cancelled import leave no row and no data key. */
static void test_csvio__archive_import(void **state)
{
	hd_env *e = *state;
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_import_result res;
	ssync_error err;
	arch_rows a;
	const char *p;
	long before;

	hd_base(e->n);
	p = hd_file(e, "bad_arch.csv", "姓名,年级,档案\n王小明,三年级,x\n,四年级,y\n李华,一二三四五六七八九十一二三四五六七八九十一,z\n");
	assert_int_equal(import(e, "student_archive", p, "cm-001", &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 3, 1, "name"));
	assert_true(has_problem(&res, 4, 2, "grade"));
	ssync_csvio_result_clear(&res);
	assert_true(keys_in(e) <= 0);
	p = hd_file(e, "arch.csv", "\xef\xbb\xbf姓名,年级,档案,学校\n王小明,三年级,\"三好学生, 家住城桥镇\",\n李华,四年级,,cm-001\n欧阳晓燕,,\"多行\n档案\",\n");
	/* a dry run and a cancelled import: nothing, not even a data key */
	o.school_id = "cm-001";
	o.dry_run = 1;
	ssync_error_clear(&err);
	assert_int_equal(ssync_csvio_import(e->n, "student_archive", p, &o, &res, &err), 0);
	ssync_csvio_result_clear(&res);
	assert_true(keys_in(e) <= 0);
	o.dry_run = 0;
	o.progress = cancel_at_write;
	assert_int_equal(ssync_csvio_import(e->n, "student_archive", p, &o, &res, &err), SSYNC_ECANCELLED);
	ssync_csvio_result_clear(&res);
	assert_true(keys_in(e) <= 0);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive"), 0);
	/* imported: ciphertext in the replica, clear through the archive reader */
	assert_int_equal(import(e, "student_archive", p, "cm-001", &res), 0);
	assert_int_equal(res.inserted, 3);
	ssync_csvio_result_clear(&res);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive WHERE name LIKE 'enc1:%' AND school_id = 'cm-001'"), 3);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive WHERE record LIKE 'enc1:%'"), 2);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive WHERE grade IS NULL"), 1);
	assert_int_equal(hd_count(e->n, "SELECT count(DISTINCT substr(name, 6, 32)) FROM student_archive"), 3);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive WHERE substr(name, 6, 32) <> substr(record, 6, 32)"), 0);
	assert_int_equal(keys_in(e), 3);
	memset(&a, 0, sizeof(a));
	assert_int_equal(ssync_archive_read(e->n, NULL, arch_row, &a, &err), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.clear, 3);
	assert_int_equal(hd_count(e->n, "SELECT count(*) FROM student_archive WHERE name LIKE '%王小明%'"), 0);
	/* an explicit id that exists is refused by line, and leaves no key */
	before = keys_in(e);
	p = hd_file(e, "arch_dup.csv", "id,姓名\ncm-001-s1,张三\ncm-001-s1,李四\n");
	assert_int_equal(import(e, "student_archive", p, "cm-001", &res), SSYNC_EINVAL);
	assert_true(has_problem(&res, 2, 1, "also on line 3"));
	ssync_csvio_result_clear(&res);
	assert_int_equal(keys_in(e), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_csvio__import_5000_all_or_nothing, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__header_problems, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__lines_quotes_and_defaults, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__rows_against_each_other, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__export_roundtrip, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__encodings, hd_setup, hd_teardown),
		cmocka_unit_test_setup_teardown(test_csvio__archive_import, hd_setup, hd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
