#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/verify.h"
#include "store_int.h"

static void test_verify__clean_replica_matches_its_log(void **state)
{
	char *dir = th_tmpdir(), *home = th_node_home(dir, "sch-a");
	ssync_node *n = th_open(home);
	ssync_verify_report rep;
	ssync_error err;

	(void)state;
	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西'),('z2','崇东')");
	th_sql(n, "UPDATE zone SET name='城桥' WHERE id='z1'");
	th_sql(n, "DELETE FROM zone WHERE id='z2'");
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), 0);
	assert_int_equal(rep.entries, 3);
	assert_int_equal(rep.drift, 0);
	assert_string_equal(rep.state_hash, rep.rebuilt_hash);
	ssync_node_free(n);
	th_rmtree(dir);
	free(home);
	free(dir);
}

static void test_verify__edit_around_the_log_is_drift(void **state)
{
	char *dir = th_tmpdir(), *home = th_node_home(dir, "sch-a");
	ssync_node *n = th_open(home);
	ssync_verify_report rep;
	ssync_error err;

	(void)state;
	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	/* what someone with the sqlite3 tool could do */
	assert_int_equal(sqlite3_exec(ssync_store__db(ssync_node_store(n)), "UPDATE zone SET name='x'", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), SSYNC_ECORRUPT);
	assert_int_equal(rep.drift, 1);
	assert_non_null(strstr(err.message, "E_DRIFT"));
	ssync_node_free(n);
	th_rmtree(dir);
	free(home);
	free(dir);
}

static void test_verify__tampered_stored_entry_is_reported(void **state)
{
	char *dir = th_tmpdir(), *home = th_node_home(dir, "sch-a");
	ssync_node *n = th_open(home);
	ssync_verify_report rep;
	ssync_error err;

	(void)state;
	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	assert_int_equal(sqlite3_exec(ssync_store__db(ssync_node_store(n)),
		"UPDATE ssync_entry SET body=replace(body,'崇东','崇中') WHERE seq=2", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), SSYNC_ECORRUPT);
	assert_int_equal(rep.bad_signature, 1);
	assert_non_null(strstr(err.message, "sch-a#2"));
	ssync_node_free(n);
	th_rmtree(dir);
	free(home);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify__clean_replica_matches_its_log),
		cmocka_unit_test(test_verify__edit_around_the_log_is_drift),
		cmocka_unit_test(test_verify__tampered_stored_entry_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
