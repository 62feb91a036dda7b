/* The replica file (src/store/store.c): open and migrations, the table
 * registry, meta, transactions, read-only opens, the statement cache and the
 * state hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers_core.h"
#include "store_int.h"
#include "schoolsync/keys.h"

typedef struct sfx {
	char *dir;
	char path[4200];
	ssync_store *st;
} sfx;

static ssync_store *open_at(const char *path, int flags)
{
	ssync_store *st = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_store_open(&st, path, flags, &err) != 0)
		fail_msg("open %s: %s", path, err.message);
	return st;
}

static int setup(void **state)
{
	sfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/replica.db", f->dir);
	f->st = open_at(f->path, SSYNC_STORE_CREATE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	sfx *f = *state;

	ssync_store_free(f->st);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static long long count(ssync_store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

static void exec_ok(ssync_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(ssync_store__db(st), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void test_store__open_missing_without_create(void **state)
{
	sfx *f = *state;
	ssync_store *st = (ssync_store *)1;
	ssync_error err;
	char path[4300];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/absent.db", f->dir);
	ssync_error_clear(&err);
	assert_int_equal(ssync_store_open(&st, path, 0, &err), SSYNC_ENOTFOUND);
	assert_null(st);
	assert_true(err.message[0] != 0);
	assert_true(err.hint[0] != 0);
	assert_int_not_equal(stat(path, &sb), 0); /* nothing created */
}

static void test_store__migrations_once(void **state)
{
	sfx *f = *state;
	int v = ssync_store_schema_version(f->st);

	/* Every migration recorded once, numbered 1..v. */
	assert_true(v > 0);
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_schema"), v);
	assert_int_equal(count(f->st, "SELECT max(version) FROM ssync_schema"), v);
	ssync_store_free(f->st);
	/* Reopening runs none again. */
	f->st = open_at(f->path, 0);
	assert_int_equal(ssync_store_schema_version(f->st), v);
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_schema"), v);
	assert_int_equal(count(f->st, "SELECT journal_mode='wal' FROM pragma_journal_mode"), 1);
}

static void test_store__table_registry(void **state)
{
	sfx *f = *state;
	const ssync_table_info *t;
	int i, n = ssync_store__ntables(f->st);

	assert_true(ssync_store_is_table(f->st, "teacher"));
	assert_false(ssync_store_is_table(f->st, "ssync_entry"));
	assert_false(ssync_store_is_table(f->st, "no_such_table"));
	/* The registry is what the schema declares, sorted by name. */
	assert_int_equal(n, count(f->st, "SELECT count(*) FROM ssync_table"));
	for (i = 1; i < n; i++)
		assert_true(strcmp(ssync_store__table_at(f->st, i - 1)->name, ssync_store__table_at(f->st, i)->name) < 0);
	assert_non_null(t = ssync_store__table(f->st, "teacher"));
	assert_int_equal(t->ncols, count(f->st, "SELECT count(*) FROM pragma_table_info('teacher')"));
	assert_string_equal(t->cols[t->pk], "id");
	assert_int_equal(ssync_table__col(t, "name"), (int)count(f->st, "SELECT cid FROM pragma_table_info('teacher') WHERE name='name'"));
	assert_int_equal(ssync_table__col(t, "nope"), -1);
	assert_false(t->priv);
	assert_non_null(t = ssync_store__table(f->st, "student_archive"));
	assert_true(t->priv);
	assert_null(ssync_store__table(f->st, "ssync_meta"));
}

static void test_store__meta(void **state)
{
	sfx *f = *state;
	char *v = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_store_meta_get(f->st, "colour", &v, &err), SSYNC_ENOTFOUND);
	assert_null(v);
	assert_int_equal(ssync_store_meta_set(f->st, "colour", "blue", &err), 0);
	assert_int_equal(ssync_store_meta_set(f->st, "colour", "红", &err), 0);
	assert_int_equal(ssync_store_meta_get(f->st, "colour", &v, &err), 0);
	assert_string_equal(v, "红");
	free(v);
	ssync_store_free(f->st);
	f->st = open_at(f->path, 0);
	assert_int_equal(ssync_store_meta_get(f->st, "colour", &v, &err), 0);
	assert_string_equal(v, "红");
	free(v);
}

static void test_store__transactions(void **state)
{
	sfx *f = *state;
	char *v = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	assert_false(ssync_store__in_tx(f->st));
	assert_int_equal(ssync_store_begin(f->st, &err), 0);
	assert_true(ssync_store__in_tx(f->st));
	assert_int_equal(ssync_store_meta_set(f->st, "k", "rolled back", &err), 0);
	/* No nesting: a second begin fails and says so. */
	assert_true(ssync_store_begin(f->st, &err) < 0);
	assert_true(err.message[0] != 0);
	ssync_store_rollback(f->st);
	assert_false(ssync_store__in_tx(f->st));
	assert_int_equal(ssync_store_meta_get(f->st, "k", &v, NULL), SSYNC_ENOTFOUND);
	ssync_store_rollback(f->st); /* none open: nothing happens */

	assert_int_equal(ssync_store_begin(f->st, &err), 0);
	assert_int_equal(ssync_store_meta_set(f->st, "k", "kept", &err), 0);
	assert_int_equal(ssync_store_commit(f->st, &err), 0);
	assert_int_equal(ssync_store_make_durable(f->st, &err), 0);
	ssync_store_free(f->st);
	f->st = open_at(f->path, 0);
	assert_int_equal(ssync_store_meta_get(f->st, "k", &v, NULL), 0);
	assert_string_equal(v, "kept");
	free(v);
	/* Commit without a transaction fails (and leaves none open). */
	ssync_error_clear(&err);
	assert_true(ssync_store_commit(f->st, &err) < 0);
	assert_false(ssync_store__in_tx(f->st));
}

static void test_store__readonly(void **state)
{
	sfx *f = *state;
	ssync_store *ro;
	char *v = NULL;
	ssync_error err;

	assert_int_equal(ssync_store_meta_set(f->st, "k", "v", NULL), 0);
	ro = open_at(f->path, SSYNC_STORE_READONLY);
	assert_int_equal(ssync_store_schema_version(ro), ssync_store_schema_version(f->st));
	assert_true(ssync_store_is_table(ro, "teacher"));
	assert_int_equal(ssync_store_meta_get(ro, "k", &v, NULL), 0);
	assert_string_equal(v, "v");
	free(v);
	ssync_error_clear(&err);
	assert_true(ssync_store_meta_set(ro, "k", "w", &err) < 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_store_make_durable(ro, &err), SSYNC_EREADONLY);
	ssync_store_free(ro);
	assert_int_equal(ssync_store_meta_get(f->st, "k", &v, NULL), 0);
	assert_string_equal(v, "v");
	free(v);
}

static void test_store__statement_cache(void **state)
{
	sfx *f = *state;
	static const char sql[] = "SELECT count(*) FROM ssync_meta";
	char other[sizeof(sql)];
	sqlite3_stmt *a, *b, *c;

	/* Keyed by the text's address, and handed back reset. */
	assert_non_null(a = ssync_store__stmt(f->st, sql, NULL));
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_non_null(b = ssync_store__stmt(f->st, sql, NULL));
	assert_ptr_equal(a, b);
	assert_false(sqlite3_stmt_busy(b));
	memcpy(other, sql, sizeof(sql));
	assert_non_null(c = ssync_store__stmt(f->st, other, NULL));
	assert_ptr_not_equal(a, c);
	/* A statement that does not prepare is an error with SQLite's message. */
	{
		ssync_error err;
		ssync_error_clear(&err);
		assert_null(ssync_store__stmt(f->st, "SELECT nope FROM nowhere", &err));
		assert_non_null(strstr(err.message, "nowhere"));
	}
}

static void test_store__state_hash(void **state)
{
	sfx *f = *state;
	char path2[4300], h1[65], h2[65], h0[65];
	ssync_store *b;

	snprintf(path2, sizeof(path2), "%s/other.db", f->dir);
	b = open_at(path2, SSYNC_STORE_CREATE);
	assert_int_equal(ssync_store_state_hash(f->st, h1, NULL), 0);
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	memcpy(h0, h1, sizeof(h0));

	/* Same rows in a different order: same hash. Internal tables do not count. */
	exec_ok(f->st, "INSERT INTO teacher(id, name, birth_year) VALUES ('t1', '甲', 1970), ('t2', 'B', NULL)");
	exec_ok(b, "INSERT INTO teacher(id, name, birth_year) VALUES ('t2', 'B', NULL); "
		"INSERT INTO teacher(id, name, birth_year) VALUES ('t1', '甲', 1970); "
		"INSERT INTO ssync_meta(key, value) VALUES ('only', 'here')");
	assert_int_equal(ssync_store_state_hash(f->st, h1, NULL), 0);
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, h0);

	/* A value's type counts: the same bytes as text and as a blob differ. */
	exec_ok(b, "UPDATE teacher SET name=CAST('甲' AS BLOB) WHERE id='t1'");
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_not_equal(h1, h2);
	/* So does NULL against an empty string. */
	exec_ok(b, "UPDATE teacher SET name='甲' WHERE id='t1'");
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	exec_ok(b, "UPDATE teacher SET birth_year='' WHERE id='t2'");
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_not_equal(h1, h2);
	/* Cells do not run together: ('ab','') differs from ('a','b'). */
	exec_ok(f->st, "DELETE FROM teacher; INSERT INTO teacher(id, name, title) VALUES ('t1', 'ab', '')");
	exec_ok(b, "DELETE FROM teacher; INSERT INTO teacher(id, name, title) VALUES ('t1', 'a', 'b')");
	assert_int_equal(ssync_store_state_hash(f->st, h1, NULL), 0);
	assert_int_equal(ssync_store_state_hash(b, h2, NULL), 0);
	assert_string_not_equal(h1, h2);
	/* It reads without leaving a transaction open. */
	assert_false(ssync_store__in_tx(b));
	ssync_store_free(b);
}

static void test_store__guard(void **state)
{
	sfx *f = *state;
	sqlite3_stmt *q = NULL;
	sqlite3 *db = ssync_store__db(f->st);

	/* While on, only reads and writes of replicated tables prepare. */
	ssync_store__guard(f->st, 1);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE teacher SET name='x'", -1, &q, NULL), SQLITE_OK);
	sqlite3_finalize(q);
	q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM ssync_entry", -1, &q, NULL), SQLITE_OK);
	sqlite3_finalize(q);
	q = NULL;
	assert_int_not_equal(sqlite3_prepare_v2(db, "DELETE FROM ssync_entry", -1, &q, NULL), SQLITE_OK);
	assert_null(q);
	assert_non_null(ssync_store__guard_denied(f->st));
	assert_int_not_equal(sqlite3_prepare_v2(db, "DROP TABLE teacher", -1, &q, NULL), SQLITE_OK);
	ssync_store__guard(f->st, 0);
	assert_int_equal(sqlite3_prepare_v2(db, "DELETE FROM ssync_entry", -1, &q, NULL), SQLITE_OK);
	sqlite3_finalize(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store__open_missing_without_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__migrations_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__table_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__statement_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__state_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__guard, setup, teardown),
	};

	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
