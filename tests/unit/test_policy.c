/* Write policy as data: owner rule, hub-only tables and columns, auditors,
 * rows not known yet (tests/unit, cmocka). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/policy.h"

static int setup(void **state)
{
	char *dir = th_tmpdir(), *home = th_node_home(dir, "sch-a");
	ssync_node *n = th_open(home);

	/* unmanaged: no policy on the write itself, the rows give us merge state */
	th_sql(n, "INSERT INTO teacher(id,school_id,name) VALUES ('t-a','sch-a','A')");
	th_sql(n, "INSERT INTO rotation(id,teacher_id,school_id,status) VALUES ('r-a','t-a','sch-a',NULL)");
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

	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"t-a\",\"c\":[[\"name\",\"B\",[\"sch-a#1\"]]]}", &err), 0);
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"t-n\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), 0);
}

static void test_policy__other_school_refused(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"t-a\",\"c\":[[\"name\",\"B\",[\"sch-a#1\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "teacher/t-a: row is owned by school sch-a; this node speaks for sch-b (E_PERM, rule owner:school_id)"));
	assert_int_equal(check(state, "school", "sch-b", "{\"t\":\"teacher\",\"k\":\"t-n\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}", &err), SSYNC_EPERM);
	/* the owner column never changes, not even by the hub */
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"teacher\",\"k\":\"t-a\",\"c\":[[\"school_id\",\"sch-b\",[\"sch-a#1\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "cannot change"));
}

static void test_policy__hub_column_and_table(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"rotation\",\"k\":\"r-a\",\"c\":[[\"status\",\"approved\",[\"sch-a#2\"]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "E_PERM_COLUMN, rule hub"));
	assert_int_equal(check(state, "hub", NULL, "{\"t\":\"rotation\",\"k\":\"r-a\",\"c\":[[\"status\",\"approved\",[\"sch-a#2\"]]]}", &err), 0);
	/* the owner creates the row with the hub's column NULL */
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"rotation\",\"k\":\"r-n\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]],[\"status\",null,[]]]}", &err), 0);
	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"zone\",\"k\":\"z\",\"c\":[[\"$row\",1,[]]]}", &err), SSYNC_EPERM);
	assert_non_null(strstr(err.message, "only the hub writes table zone"));
	assert_int_equal(check(state, "auditor", NULL, "{\"t\":\"teacher\",\"k\":\"t-a\",\"c\":[[\"name\",\"B\",[]]]}", &err), SSYNC_EPERM);
}

static void test_policy__unknown_row_waits(void **state)
{
	ssync_error err;

	assert_int_equal(check(state, "school", "sch-a", "{\"t\":\"teacher\",\"k\":\"nope\",\"c\":[[\"name\",\"B\",[\"hub#3\"]]]}", &err), SSYNC_ENOTFOUND);
	assert_non_null(strstr(err.message, "W_HELD"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy__owner_writes_own_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__other_school_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__hub_column_and_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy__unknown_row_waits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
