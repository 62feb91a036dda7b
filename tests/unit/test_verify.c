#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/verify.h"
#include "store_int.h"

typedef th_fx fx;

static void test_verify__clean_replica_matches_its_log(void **state)
{
	ssync_node *n = ((fx *)*state)->n;
	ssync_verify_report rep;
	ssync_error err;

	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西'),('z2','崇东')");
	th_sql(n, "UPDATE zone SET name='城桥' WHERE id='z1'");
	th_sql(n, "DELETE FROM zone WHERE id='z2'");
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), 0);
	assert_int_equal(rep.entries, 3);
	assert_int_equal(rep.drift, 0);
	assert_string_equal(rep.state_hash, rep.rebuilt_hash);
}

static void test_verify__edit_around_the_log_is_drift(void **state)
{
	ssync_node *n = ((fx *)*state)->n;
	ssync_verify_report rep;
	ssync_error err;

	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	/* what someone with the sqlite3 tool could do */
	assert_int_equal(sqlite3_exec(ssync_store__db(ssync_node_store(n)), "UPDATE zone SET name='x'", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), SSYNC_ECORRUPT);
	assert_int_equal(rep.drift, 1);
	assert_non_null(strstr(err.message, "E_DRIFT"));
}

static void test_verify__tampered_stored_entry_is_reported(void **state)
{
	ssync_node *n = ((fx *)*state)->n;
	ssync_verify_report rep;
	ssync_error err;

	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sql(n, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	assert_int_equal(sqlite3_exec(ssync_store__db(ssync_node_store(n)),
		"UPDATE ssync_entry SET body=replace(body,'崇东','崇中') WHERE seq=2", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(n, &rep, &err), SSYNC_ECORRUPT);
	assert_int_equal(rep.bad_signature, 1);
	assert_non_null(strstr(err.message, "sch-a#2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify__clean_replica_matches_its_log, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_verify__edit_around_the_log_is_drift, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_verify__tampered_stored_entry_is_reported, th_fx_setup, th_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
