/* Write policy as data: ownership by key namespace, hub-only tables and
 * columns, auditors, hub rows of owned tables (tests/unit, cmocka). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/policy.h"
#include "policy_int.h"

static int setup(void **state)
{
	char *dir = th_tmpdir(), *home = th_node_home(dir, "sch-a");
	ssync_node *n = th_open(home);

	/* unmanaged: no policy on the write itself, the rows give us merge state */
	th_sql(n, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','A')");
	th_sql(n, "INSERT INTO rotation(id,teacher_id,school_id,status) VALUES ('sch-a-r1','sch-a-t1','sch-a',NULL)");
	free(home);
	state[0] = n;
	setenv("SSYNC_TEST_DIR", dir, 1);
	free(dir);
	return 0;
}

static int teardown(void **state)
{
	ssync_node_free(state[0]);
	th_rmtree(getenv("SSYNC_TEST_DIR"));
	return 0;
}

static int check(void **state, const char *role, const char *school, const char *op, ssync_error *err)
{
	ssync_error_clear(err);
	return ssync_policy_check(ssync_node_store(state[0]), role, school, op, err);
}

static void test_policy__owner_writes_own_row(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"name\",\"B\",[\"sch-a#1\"]]]}", &err), 0);
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"sch-a-t2\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), 0);
	/* a row the writer has never seen: the key alone decides, nothing waits */
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"sch-a-zz\",\"c\":[[\"name\",\"B\",[\"hub#3\"]]]}", &err), 0);
}

static void test_policy__other_school_refused(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"name\",\"B\",[\"sch-a#1\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "teacher/sch-a-t1: row is owned by school sch-a (its key's namespace); this node speaks for sch-b (E_PERM, rule owner:school_id)"));
	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"sch-a-t2\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), SSYNC_EPERM);
	/* the hijack: an insert-shaped op on another school's key naming itself, no prevs */
	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-b\",[]]]}", &err), SSYNC_EPERM);
	/* own namespace, but naming another owner */
	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"sch-b-t7\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "it must be sch-b"));
	/* creating a row without naming its owner */
	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"sch-b-t8\",\"c\":[[\"$row\",1,[]],[\"name\",\"x\",[]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "must write its owner column"));
	/* the owner column never changes, not even by the hub */
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"school_id\",\"sch-b\",[\"sch-a#1\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "cannot change"));
}

static void test_policy__hub_column_and_table(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"rotation\",\"k\":\"sch-a-r1\",\"c\":[[\"status\",\"approved\",[\"sch-a#2\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "E_PERM_COLUMN, rule hub"));
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"rotation\",\"k\":\"sch-a-r1\",\"c\":[[\"status\",\"approved\",[\"sch-a#2\"]]]}", &err), 0);
	/* the owner creates the row with the hub's column NULL */
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"rotation\",\"k\":\"sch-a-r2\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]],[\"status\",null,[]]]}", &err), 0);
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"zone\",\"k\":\"z\",\"c\":[[\"$row\",1,[]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "only the hub writes table zone"));
	assert_int_equal(check(state, "auditor", NULL, "{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"name\",\"B\",[]]]}", &err), SSYNC_EPERM);
}

static void test_policy__hub_rows_of_owned_tables(void **state)
{
	ssync_error err;
	char o[SSYNC_NODE_ID_MAX + 1];

	/* the namespace: the part before the last '-', if a valid id other than "hub" */
	assert_int_equal(ssync_policy__key_owner("sch-a-3f9c", o), 1);
	assert_string_equal(o, "sch-a");
	assert_int_equal(ssync_policy__key_owner("sch-a-r-1", o), 1);
	assert_string_equal(o, "sch-a-r");
	assert_int_equal(ssync_policy__key_owner("t1", o), 0);
	assert_int_equal(ssync_policy__key_owner("hub-1", o), 0);
	assert_int_equal(ssync_policy__key_owner("-x", o), 0);
	assert_int_equal(ssync_policy__key_owner("Sch-1", o), 0);
	assert_int_equal(ssync_policy__key_owner("", o), 0);
	/* a hub row (owner NULL) cannot be claimed by a school, before or after it exists */
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"hub-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "row belongs to the hub"));
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"t9\",\"c\":[[\"name\",\"x\",[\"hub#1\"]]]}", &err), SSYNC_EPERM);
	/* the hub creates its own rows with the owner NULL, and only NULL */
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"teacher\",\"k\":\"hub-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",null,[]]]}", &err), 0);
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"teacher\",\"k\":\"hub-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), SSYNC_EPERM);
	/* the hub writes a school's row, with the owner it names */
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"teacher\",\"k\":\"sch-a-t5\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy__owner_writes_own_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__other_school_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__hub_column_and_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__hub_rows_of_owned_tables, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
