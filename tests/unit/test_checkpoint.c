/* Checkpoints run off the writer's path (src/checkpoint.c): the WAL still
 * starts over instead of growing, nothing is lost, and making the replica
 * durable works while a background checkpoint is running (a second PASSIVE
 * checkpoint would get SQLITE_BUSY there). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "helpers_core.h"
#include "schoolsync/store.h"
#include "store_int.h"

#define COMMITS 15000

static long long wal_bytes(const char *db)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s-wal", db);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static void test_checkpoint__wal_starts_over_and_nothing_is_lost(void **state)
{
	char *dir = th_tmpdir(), path[600];
	ssync_store *st = NULL;
	ssync_error err;
	sqlite3_stmt *q = NULL, *k = NULL;
	long long wal;
	int i;

	(void)state;
	ssync_error_clear(&err);
	snprintf(path, sizeof(path), "%s/replica.db", dir);
	assert_int_equal(ssync_store_open(&st, path, SSYNC_STORE_CREATE, &err), 0);
	/* like single-row writes: an append to a log-like table, and a row at a
	 * random place in a keyed table; pages are rewritten many times before
	 * a checkpoint copies them, as in a school's replica */
	exec_ok(ssync_store__db(st), "CREATE TABLE scratch(k INTEGER PRIMARY KEY, v BLOB); "
		"CREATE TABLE keyed(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID");
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "INSERT INTO scratch(v) VALUES (randomblob(600)); ",
		-1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "INSERT OR REPLACE INTO keyed VALUES "
		"(hex(randomblob(6)), '教师 teacher')", -1, &k, NULL), SQLITE_OK);
	/* about 3 frames a commit: 45,000 frames in all, past the inline
	 * fallback (32,000), so a WAL that never started over would show */
	for (i = 0; i < COMMITS; i++) {
		exec_ok(ssync_store__db(st), "BEGIN IMMEDIATE");
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		assert_int_equal(sqlite3_reset(q), SQLITE_OK);
		assert_int_equal(sqlite3_step(k), SQLITE_DONE);
		assert_int_equal(sqlite3_reset(k), SQLITE_OK);
		exec_ok(ssync_store__db(st), "COMMIT");
	}
	sqlite3_finalize(k);
	sqlite3_finalize(q);
	/* the background thread is most likely mid-round here */
	assert_int_equal(ssync_store_make_durable(st, &err), 0);
	wal = wal_bytes(path);
	print_message("WAL after %d commits: %.1f MiB\n", COMMITS, wal / 1048576.0);
	assert_true(wal > 0);
	assert_true(wal < 26000LL * 4120); /* a WAL never started over reaches 32,000 frames */
	ssync_store_free(st);

	st = NULL;
	assert_int_equal(ssync_store_open(&st, path, 0, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "SELECT count(*), (SELECT integrity_check FROM "
		"pragma_integrity_check) FROM scratch", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), COMMITS);
	assert_string_equal((const char *)sqlite3_column_text(q, 1), "ok");
	sqlite3_finalize(q);
	ssync_store_free(st);
	th_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint__wal_starts_over_and_nothing_is_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
