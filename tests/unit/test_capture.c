#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "helpers_core.h"
#include "schoolsync/log.h"

typedef th_fx fx;

static long long entries(fx *f)
{
	return th_count(f->n, "SELECT count(*) FROM ssync_entry");
}

typedef struct ops_seen {
	int n;
	char body[8192];
} ops_seen;

static int last_body(const ssync_log_item *it, void *p)
{
	ops_seen *o = p;
	size_t len;
	const char *b = ssync_entry_body(it->entry, &len);

	o->n++;
	snprintf(o->body, sizeof(o->body), "%.*s", (int)len, b);
	assert_true(it->sig_ok);
	assert_true(it->chain_ok);
	return 0;
}

static const char *body_of_last(fx *f, ops_seen *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(ssync_log_foreach(ssync_node_store(f->n), "sch-a", last_body, o, NULL), 0);
	return o->body;
}

static void test_capture__insert_update_delete(void **state)
{
	fx *f = *state;
	ops_seen o;
	ssync_write_result res;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(f->n, "INSERT INTO teacher(id, school_id, name, title) "
		"VALUES ('t1', 'sch-a', '张三', '中级')", "clerk", NULL, NULL, &res, &err), 0);
	assert_int_equal(res.entries, 1);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.rows, 1);
	body_of_last(f, &o);
	assert_non_null(strstr(o.body, "[\"$row\",1,[]]"));
	assert_non_null(strstr(o.body, "[\"name\",\"张三\",[]]"));
	assert_non_null(strstr(o.body, "\"actor\":\"clerk\""));

	th_sql(f->n, "UPDATE teacher SET title='高级' WHERE id='t1'");
	body_of_last(f, &o);
	assert_int_equal(o.n, 2);
	/* only the changed cell, naming the version it overwrote */
	assert_non_null(strstr(o.body, "[\"title\",\"高级\",[\"sch-a#1\"]]"));
	assert_null(strstr(o.body, "\"name\""));

	th_sql(f->n, "DELETE FROM teacher WHERE id='t1'");
	body_of_last(f, &o);
	assert_non_null(strstr(o.body, "[\"$row\",0,[\"sch-a#1\"]]"));
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher"), 0);
	assert_int_equal(entries(f), 3);
}

static void test_capture__multi_statement_is_one_entry(void **state)
{
	fx *f = *state;
	ssync_write_result res;

	assert_int_equal(ssync_node_sql(f->n, "INSERT INTO zone(id, name) VALUES ('z1', '崇西');"
		"INSERT INTO zone(id, name) VALUES ('z2', '崇东');"
		"UPDATE zone SET name='城桥' WHERE id='z1';", "clerk", NULL, NULL, &res, NULL), 0);
	assert_int_equal(res.entries, 1);
	assert_int_equal(res.rows, 2);
	assert_int_equal(entries(f), 1);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM zone WHERE name='城桥'"), 1);
}

static void test_capture__failed_statement_leaves_nothing(void **state)
{
	fx *f = *state;
	ssync_error err;

	th_sql(f->n, "INSERT INTO zone(id, name) VALUES ('z1', 'a')");
	ssync_error_clear(&err);
	/* the second statement violates the primary key: the first must not stick */
	assert_int_not_equal(ssync_node_sql(f->n, "INSERT INTO zone(id, name) VALUES ('z2', 'b');"
		"INSERT INTO zone(id, name) VALUES ('z1', 'c');", "clerk", NULL, NULL, NULL, &err), 0);
	assert_non_null(strstr(err.message, "UNIQUE"));
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM zone"), 1);
	assert_int_equal(entries(f), 1);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM ssync_row"), 1);
}

static void expect_refused(fx *f, const char *sql, int code)
{
	ssync_error err;
	int rc;

	ssync_error_clear(&err);
	rc = ssync_node_sql(f->n, sql, "x", NULL, NULL, NULL, &err);
	if (rc != code)
		fail_msg("'%s' gave %d (%s), expected %d", sql, rc, err.message, code);
	assert_true(err.message[0] != 0);
}

static void test_capture__refuses_internal_tables_and_ddl(void **state)
{
	fx *f = *state;

	expect_refused(f, "DELETE FROM ssync_entry", SSYNC_EPERM);
	expect_refused(f, "UPDATE ssync_meta SET value='x'", SSYNC_EPERM);
	expect_refused(f, "INSERT INTO ssync_peer(node,pubkey,source,added) VALUES('x',x'00','x','x')", SSYNC_EPERM);
	expect_refused(f, "DROP TABLE teacher", SSYNC_EPERM);
	expect_refused(f, "CREATE TABLE evil(x)", SSYNC_EPERM);
	expect_refused(f, "PRAGMA journal_mode=DELETE", SSYNC_EPERM);
	expect_refused(f, "ATTACH DATABASE '/tmp/x.db' AS x", SSYNC_EPERM);
	expect_refused(f, "BEGIN", SSYNC_EPERM);
	expect_refused(f, "x'); DROP TABLE teacher;--", SSYNC_EINVAL);
	expect_refused(f, "SELEC 1", SSYNC_EINVAL);
	expect_refused(f, "INSERT INTO nosuch VALUES (1)", SSYNC_EINVAL);
	expect_refused(f, "", SSYNC_EINVAL);
	expect_refused(f, "INSERT INTO zone(id, name) VALUES (NULL, 'x')", SSYNC_EINVAL);
	assert_int_equal(entries(f), 0);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher"), 0);
}

static void test_capture__reads_print_rows_and_write_nothing(void **state)
{
	fx *f = *state;
	ssync_write_result res;

	th_sql(f->n, "INSERT INTO zone(id, name) VALUES ('z1', '崇西')");
	assert_int_equal(ssync_node_sql(f->n, "SELECT * FROM zone", "x", NULL, NULL, &res, NULL), 0);
	assert_int_equal(res.readonly, 1);
	assert_int_equal(res.entries, 0);
	/* a no-op write writes no entry */
	assert_int_equal(ssync_node_sql(f->n, "UPDATE zone SET name='崇西' WHERE id='z1'", "x", NULL, NULL, &res, NULL), 0);
	assert_int_equal(res.entries, 0);
	assert_int_equal(entries(f), 1);
}

static void test_capture__bulk_write_splits_into_bounded_entries(void **state)
{
	fx *f = *state;
	ssync_write_result res;

	assert_int_equal(ssync_node_sql(f->n, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<5000) "
		"INSERT INTO teacher(id, school_id, name, birth_year) SELECT 't'||i, 'sch-a', '教师'||i, 1970+i%30 FROM n",
		"import", NULL, NULL, &res, NULL), 0);
	assert_int_equal(res.rows, 5000);
	assert_true(res.entries >= 3);
	assert_int_equal(res.last_seq - res.first_seq + 1, res.entries);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher"), 5000);
	assert_int_equal(th_count(f->n, "SELECT max(length(body)) < 1048576 FROM ssync_entry"), 1);
}

static void test_capture__state_hash_ignores_insert_order(void **state)
{
	fx *f = *state;
	char *h2 = th_node_home(f->dir, "sch-b");
	ssync_node *b = th_open(h2);
	char ha[65], hb[65];

	th_sql(f->n, "INSERT INTO zone(id,name) VALUES ('z1','崇西'),('z2','崇东'),('z3','长横')");
	th_sql(b, "INSERT INTO zone(id,name) VALUES ('z3','长横')");
	th_sql(b, "INSERT INTO zone(id,name) VALUES ('z2','x'),('z1','崇西')");
	th_sql(b, "UPDATE zone SET name='崇东' WHERE id='z2'");
	assert_int_equal(ssync_node_state_hash(f->n, ha, NULL), 0);
	assert_int_equal(ssync_node_state_hash(b, hb, NULL), 0);
	assert_string_equal(ha, hb);
	th_sql(b, "UPDATE zone SET name='崇中' WHERE id='z2'");
	assert_int_equal(ssync_node_state_hash(b, hb, NULL), 0);
	assert_string_not_equal(ha, hb);
	ssync_node_free(b);
	free(h2);
}

static void test_capture__invalid_utf8_refused(void **state)
{
	fx *f = *state;

	expect_refused(f, "INSERT INTO zone(id, name) VALUES ('z1', CAST(x'ff fe' AS TEXT))", SSYNC_EINVAL);
	expect_refused(f, "INSERT INTO zone(id, name) VALUES ('z1', CAST(x'c3' AS TEXT))", SSYNC_EENCODING);
	assert_int_equal(entries(f), 0);
}

typedef struct canon_seen {
	int n, bad;
} canon_seen;

static int check_canonical(const ssync_log_item *it, void *p)
{
	canon_seen *c = p;
	size_t len;
	const char *b = ssync_entry_body(it->entry, &len);
	json_t *o = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
	char *re = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	c->n++;
	if (!re || strlen(re) != len || memcmp(re, b, len) != 0 || !it->sig_ok || !it->chain_ok)
		c->bad++;
	free(re);
	json_decref(o);
	return 0;
}

/* The write path splices the entry text together instead of dumping a tree;
 * every kind of value must still come out exactly as jansson would dump it,
 * or receivers refuse the entry as non-canonical. */
static void test_capture__entries_are_canonical_for_every_value_kind(void **state)
{
	fx *f = *state;
	canon_seen c = { 0, 0 };

	th_sql(f->n, "INSERT INTO teacher(id, school_id, name, subject, title, tier, birth_year, joined_year, gender, committed) "
		"VALUES ('k\"1\\中/x', 'sch-a', 'quote\" back\\slash /', char(9)||char(10)||char(1)||char(127), "
		"'😀'||char(8232)||'é', '', -123, 9223372036854775807, NULL, 1.5)");
	th_sql(f->n, "INSERT INTO teacher(id, school_id, name, birth_year, joined_year, gender) "
		"VALUES ('t2', 'sch-a', X'00ff10', 1e300, -0.25, X'')");
	th_sql(f->n, "UPDATE teacher SET name='张三', birth_year=NULL WHERE id IN ('t2', 'k\"1\\中/x')");
	th_sql(f->n, "DELETE FROM teacher WHERE id='t2'");
	th_sql(f->n, "INSERT INTO teacher(id, school_id, name) VALUES ('t2', 'sch-a', 'again')");
	assert_int_equal(ssync_log_foreach(ssync_node_store(f->n), "sch-a", check_canonical, &c, NULL), 0);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.bad, 0);
}

/* The same SQL again reuses its prepared statement: nothing of the last
 * run (bound values, an error) may carry over. */
static void test_capture__repeated_sql_starts_clean(void **state)
{
	fx *f = *state;
	const char *ins = "INSERT INTO teacher(id, school_id, name, title) VALUES (?1, 'sch-a', ?2, ?3)";
	const char *three[3] = { "t1", "李四", "高级" }, *two[2] = { "t2", "王五" }, *dup[3] = { "t1", "x", "y" };
	ssync_write_result res;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql_bound(f->n, ins, 3, three, "clerk", NULL, NULL, &res, &err), 0);
	/* fewer values this time: the title is NULL, not the last run's */
	assert_int_equal(ssync_node_sql_bound(f->n, ins, 2, two, "clerk", NULL, NULL, &res, &err), 0);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher WHERE id='t2' AND name='王五' AND title IS NULL"), 1);
	/* a failed run leaves nothing, and the next run works */
	assert_int_not_equal(ssync_node_sql_bound(f->n, ins, 3, dup, "clerk", NULL, NULL, &res, &err), 0);
	assert_non_null(strstr(err.message, "UNIQUE"));
	three[0] = "t3";
	assert_int_equal(ssync_node_sql_bound(f->n, ins, 3, three, "clerk", NULL, NULL, &res, &err), 0);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher"), 3);
	assert_int_equal(th_count(f->n, "SELECT count(*) FROM teacher WHERE id='t1' AND title='高级'"), 1);
	assert_int_equal(entries(f), 3);
	/* a refused statement is refused every time, not cached as allowed */
	expect_refused(f, "DELETE FROM ssync_entry", SSYNC_EPERM);
	expect_refused(f, "DELETE FROM ssync_entry", SSYNC_EPERM);
	assert_int_equal(entries(f), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capture__insert_update_delete, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__multi_statement_is_one_entry, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__failed_statement_leaves_nothing, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__refuses_internal_tables_and_ddl, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__reads_print_rows_and_write_nothing, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__bulk_write_splits_into_bounded_entries, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__state_hash_ignores_insert_order, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__invalid_utf8_refused, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__entries_are_canonical_for_every_value_kind, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_capture__repeated_sql_starts_clean, th_fx_setup, th_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
