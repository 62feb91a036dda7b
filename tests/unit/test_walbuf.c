/* The replica's VFS gathers a commit's WAL writes into one (src/walbuf.c).
 * What that must never change: another connection or process sees a commit
 * whole as soon as it is published, a rolled-back or failed transaction
 * leaves nothing behind (not even for recovery after a crash), a write that
 * fails fails the commit, and a checkpoint that fails copies nothing. The
 * readers here use SQLite's own VFS, as any other tool would. Write failures
 * are injected through the unix VFS's system-call table. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "helpers_core.h"
#include "schoolsync/store.h"
#include "store_int.h"

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long long v;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(q) != SQLITE_ROW)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
}

static sqlite3 *open_plain(const char *path, int flags)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, flags, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static ssync_store *open_store(const char *path)
{
	ssync_store *st = NULL;
	ssync_error err;
	char *vfs = NULL;

	ssync_error_clear(&err);
	assert_int_equal(ssync_store_open(&st, path, SSYNC_STORE_CREATE, &err), 0);
	/* the tests mean nothing unless the store really uses the shim */
	assert_int_equal(sqlite3_file_control(ssync_store__db(st), "main", SQLITE_FCNTL_VFSNAME, &vfs), SQLITE_OK);
	assert_non_null(vfs);
	assert_non_null(strstr(vfs, "ssync-wal"));
	sqlite3_free(vfs);
	return st;
}

/* Write system calls as SQLite's unix VFS makes them: counted, and made to
 * fail (ENOSPC) while fail_writes > 0. */
static sqlite3_syscall_ptr real_pwrite, real_pwrite64;
static int fail_writes, write_calls;

static ssize_t fake_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	write_calls++;
	if (fail_writes > 0) {
		fail_writes--;
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, buf, n, off);
}

static ssize_t fake_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	write_calls++;
	if (fail_writes > 0) {
		fail_writes--;
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite64)(fd, buf, n, off);
}

static void hook_writes(int on)
{
	sqlite3_vfs *u = sqlite3_vfs_find("unix");

	assert_non_null(u);
	if (on) {
		real_pwrite = u->xGetSystemCall(u, "pwrite");
		real_pwrite64 = u->xGetSystemCall(u, "pwrite64");
		assert_true(real_pwrite || real_pwrite64);
		if (real_pwrite)
			assert_int_equal(u->xSetSystemCall(u, "pwrite", (sqlite3_syscall_ptr)fake_pwrite), SQLITE_OK);
		if (real_pwrite64)
			assert_int_equal(u->xSetSystemCall(u, "pwrite64", (sqlite3_syscall_ptr)fake_pwrite64), SQLITE_OK);
	} else {
		(void)u->xSetSystemCall(u, NULL, NULL); /* all back to the real ones */
	}
	fail_writes = 0;
	write_calls = 0;
}

/* A connection like the store's (our VFS, WAL, no fsync per commit), with
 * no checkpoint of its own. */
static sqlite3 *open_ours(const char *path)
{
	sqlite3 *db = NULL;

	assert_non_null(ssync_store__vfs());
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, ssync_store__vfs()), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
	return db;
}

static char *concat_v(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	char *out;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(v, ',') FROM (SELECT v FROM a ORDER BY rowid)", -1, &q, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	out = strdup(sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "");
	sqlite3_finalize(q);
	return out;
}

/* The point of the shim: a commit of several pages is one write call. */
static void test_walbuf__a_commit_is_one_write(void **state)
{
	char *dir = th_tmpdir(), path[600];
	sqlite3 *w;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/one.db", dir);
	w = open_ours(path);
	exec_ok(w, "CREATE TABLE t(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID; CREATE TABLE u(k INTEGER PRIMARY KEY, v BLOB)");
	exec_ok(w, "INSERT INTO t VALUES ('warm', 1)");
	hook_writes(1);
	for (i = 0; i < 200; i++) {
		char sql[200];
		/* two tables, ~3 KB: at least 2 frames, 4 writes without the shim */
		snprintf(sql, sizeof(sql), "BEGIN; INSERT INTO t VALUES ('k%d', randomblob(1500)); "
			"INSERT INTO u VALUES (%d, randomblob(1500)); COMMIT", i * 7919 % 1000, i);
		exec_ok(w, sql);
	}
	print_message("200 commits, %d write calls\n", write_calls);
	assert_true(write_calls >= 200);
	assert_true(write_calls <= 210);
	hook_writes(0);
	sqlite3_close(w);
	th_rmtree(dir);
	free(dir);
}

/* A commit whose write fails is rolled back, and stays so: no retry may
 * write its frames later, where recovery after a crash would take them. */
static void test_walbuf__a_failed_commit_stays_failed_after_a_crash(void **state)
{
	char *dir = th_tmpdir(), path[600], copy[600], cmd[1400], *v;
	sqlite3 *w, *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(copy, sizeof(copy), "%s/crashed.db", dir);
	w = open_ours(path);
	exec_ok(w, "CREATE TABLE a(v TEXT); INSERT INTO a VALUES ('committed')");
	hook_writes(1);
	fail_writes = 1; /* the commit's one write */
	assert_int_not_equal(sqlite3_exec(w, "INSERT INTO a VALUES ('failed')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fail_writes, 0);
	v = concat_v(w); /* lock changes: where a kept buffer would be retried */
	assert_string_equal(v, "committed");
	free(v);
	hook_writes(0);
	/* a crash now: the files without the wal-index, as recovery finds them */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s-wal' '%s-wal'", path, copy, path, copy);
	assert_int_equal(system(cmd), 0);
	c = open_plain(copy, SQLITE_OPEN_READWRITE);
	v = concat_v(c);
	assert_string_equal(v, "committed");
	free(v);
	integrity_ok(c);
	sqlite3_close(c);
	/* and the writer goes on */
	exec_ok(w, "INSERT INTO a VALUES ('after')");
	v = concat_v(w);
	assert_string_equal(v, "committed,after");
	free(v);
	sqlite3_close(w);
	th_rmtree(dir);
	free(dir);
}

/* A checkpoint that cannot write a page must not mark it copied: readers
 * would then read the stale page from the database file. */
static void test_walbuf__a_failed_checkpoint_leaves_the_data_readable(void **state)
{
	char *dir = th_tmpdir(), path[600], *v;
	sqlite3 *w, *pin, *ck, *r;
	int nlog = -1, nckpt = -1, rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.db", dir);
	w = open_ours(path);
	exec_ok(w, "CREATE TABLE a(v TEXT); INSERT INTO a VALUES ('old'); CREATE TABLE b(v); INSERT INTO b VALUES (1); "
		"PRAGMA wal_checkpoint(TRUNCATE)");
	exec_ok(w, "UPDATE a SET v = 'new'");
	/* a reader holding the snapshot after that commit makes the next
	 * checkpoint a partial one (it stops short of the last commit) */
	pin = open_ours(path);
	exec_ok(pin, "BEGIN; SELECT * FROM b");
	exec_ok(w, "UPDATE b SET v = 2");
	ck = open_ours(path);
	exec_ok(ck, "SELECT count(*) FROM sqlite_schema");
	hook_writes(1);
	fail_writes = 1000;
	rc = sqlite3_wal_checkpoint_v2(ck, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	hook_writes(0);
	assert_int_not_equal(rc, SQLITE_OK);
	exec_ok(pin, "COMMIT");
	r = open_plain(path, SQLITE_OPEN_READONLY);
	v = concat_v(r);
	assert_string_equal(v, "new");
	free(v);
	integrity_ok(r);
	sqlite3_close(r);
	sqlite3_close(ck);
	sqlite3_close(pin);
	sqlite3_close(w);
	th_rmtree(dir);
	free(dir);
}

/* Each commit is visible, complete, to a reader the moment it returns;
 * enough commits that the background checkpoint copies pages back too. */
static void test_walbuf__readers_see_every_commit_whole(void **state)
{
	char *dir = th_tmpdir(), path[600];
	ssync_store *st;
	sqlite3 *w, *r;
	sqlite3_stmt *ins = NULL;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/replica.db", dir);
	st = open_store(path);
	w = ssync_store__db(st);
	exec_ok(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB, name TEXT)");
	r = open_plain(path, SQLITE_OPEN_READONLY);
	assert_int_equal(sqlite3_prepare_v2(w, "INSERT INTO t VALUES (?1, randomblob(900), '学校' || ?1)", -1, &ins, NULL),
		SQLITE_OK);
	for (i = 1; i <= 3000; i++) {
		sqlite3_bind_int(ins, 1, i);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		assert_int_equal(sqlite3_reset(ins), SQLITE_OK);
		if (i % 7 == 0 || i > 2990) {
			assert_int_equal(query_int(r, "SELECT count(*) FROM t"), i);
			assert_int_equal(query_int(r, "SELECT sum(k) FROM t WHERE length(v) = 900 AND name = '学校' || k"),
				(long long)i * (i + 1) / 2);
		}
	}
	sqlite3_finalize(ins);
	integrity_ok(r);
	sqlite3_close(r);
	ssync_store_free(st);
	r = open_plain(path, SQLITE_OPEN_READONLY);
	assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 3000);
	integrity_ok(r);
	sqlite3_close(r);
	th_rmtree(dir);
	free(dir);
}

/* A transaction too big for the page cache writes frames before it
 * commits; rolled back, they must not reappear over another writer's
 * commit. Committed after rewriting spilled pages, all of it must be there. */
static void test_walbuf__spilled_transactions(void **state)
{
	char *dir = th_tmpdir(), path[600];
	ssync_store *st;
	sqlite3 *w, *other;

	(void)state;
	snprintf(path, sizeof(path), "%s/replica.db", dir);
	st = open_store(path);
	w = ssync_store__db(st);
	exec_ok(w, "PRAGMA cache_size=20; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
	/* about 25 pages: past the cache, within one gathered write */
	exec_ok(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<150) "
		"INSERT INTO t SELECT i, hex(randomblob(300)) FROM n");
	exec_ok(w, "ROLLBACK");
	other = open_plain(path, SQLITE_OPEN_READWRITE);
	exec_ok(other, "BEGIN IMMEDIATE; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<50) "
		"INSERT INTO t SELECT 100000 + i, 'other writer' FROM n; COMMIT");
	exec_ok(w, "INSERT INTO t VALUES (1, 'after')");
	assert_int_equal(query_int(other, "SELECT count(*) FROM t"), 51);
	integrity_ok(other);

	exec_ok(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i+1 FROM n WHERE i<3000) "
		"INSERT INTO t SELECT i, hex(randomblob(300)) FROM n");
	exec_ok(w, "UPDATE t SET v = 'rewritten ' || k WHERE k <= 3000; COMMIT");
	assert_int_equal(query_int(other, "SELECT count(*) FROM t WHERE v = 'rewritten ' || k"), 3000);
	assert_int_equal(query_int(other, "SELECT count(*) FROM t"), 3050);
	integrity_ok(other);
	sqlite3_close(other);
	ssync_store_free(st);
	th_rmtree(dir);
	free(dir);
}

/* The gathered write is made at the commit frame: if the disk refuses it
 * (here: the file size limit), the commit fails, no reader sees any of it,
 * and the replica takes the next commit. */
static void test_walbuf__failed_write_fails_the_commit(void **state)
{
	char *dir = th_tmpdir(), path[600], walpath[620];
	ssync_store *st;
	sqlite3 *w, *r;
	struct rlimit old, lim;
	struct stat sb;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/replica.db", dir);
	snprintf(walpath, sizeof(walpath), "%s-wal", path);
	st = open_store(path);
	w = ssync_store__db(st);
	exec_ok(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); INSERT INTO t VALUES (1, randomblob(100))");
	r = open_plain(path, SQLITE_OPEN_READONLY);
	assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 1);
	assert_int_equal(stat(walpath, &sb), 0);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size + 8192;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* about 12 pages: one gathered write at the commit frame */
	rc = sqlite3_exec(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i+1 FROM n WHERE i<12) "
		"INSERT INTO t SELECT i, randomblob(3000) FROM n; COMMIT", NULL, NULL, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_not_equal(rc, SQLITE_OK);
	(void)sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);

	assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 1);
	exec_ok(w, "INSERT INTO t VALUES (2, randomblob(100))");
	assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 2);
	integrity_ok(r);
	sqlite3_close(r);
	ssync_store_free(st);
	r = open_plain(path, SQLITE_OPEN_READONLY);
	assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 2);
	integrity_ok(r);
	sqlite3_close(r);
	th_rmtree(dir);
	free(dir);
}

/* Another process: a child commits as fast as it can while this process
 * reads; every count it sees must come with every row's content intact. */
static void test_walbuf__another_process_reads_while_we_commit(void **state)
{
	char *dir = th_tmpdir(), path[600];
	ssync_store *st;
	sqlite3 *r;
	pid_t pid;
	int status = 0, reads = 0, done = 0;
	long long last = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/replica.db", dir);
	st = open_store(path);
	exec_ok(ssync_store__db(st), "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB, sum INTEGER)");
	ssync_store_free(st);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ssync_error err;
		sqlite3_stmt *ins = NULL;
		int i;
		ssync_error_clear(&err);
		st = NULL;
		if (ssync_store_open(&st, path, 0, &err) < 0 ||
		    sqlite3_prepare_v2(ssync_store__db(st), "INSERT INTO t VALUES (?1, zeroblob(1500), ?1 * 7)", -1, &ins, NULL))
			_exit(2);
		for (i = 1; i <= 6000; i++) {
			sqlite3_bind_int(ins, 1, i);
			if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_reset(ins) != SQLITE_OK)
				_exit(3);
		}
		sqlite3_finalize(ins);
		ssync_store_free(st);
		_exit(0);
	}
	r = open_plain(path, SQLITE_OPEN_READONLY);
	while (!done) {
		long long n, s;
		done = waitpid(pid, &status, WNOHANG) == pid;
		exec_ok(r, "BEGIN");
		n = query_int(r, "SELECT count(*) FROM t");
		s = query_int(r, "SELECT coalesce(sum(sum), 0) FROM t WHERE length(v) = 1500 AND sum = k * 7");
		exec_ok(r, "COMMIT");
		assert_true(n >= last);
		assert_int_equal(s, 7 * n * (n + 1) / 2);
		last = n;
		reads++;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(last, 6000);
	print_message("%d consistent reads while another process committed\n", reads);
	integrity_ok(r);
	sqlite3_close(r);
	th_rmtree(dir);
	free(dir);
}

static int uses_shim(sqlite3 *db)
{
	char *vfs = NULL;
	int yes;

	assert_int_equal(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &vfs), SQLITE_OK);
	assert_non_null(vfs);
	yes = strstr(vfs, "ssync-wal") != NULL;
	sqlite3_free(vfs);
	return yes;
}

/* @p n signed single-row writes through the node; returns write calls. */
static int node_writes(ssync_node *n, int from, int count)
{
	int i, calls;

	hook_writes(1);
	for (i = from; i < from + count; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql), "INSERT INTO teacher(id, school_id, name) VALUES ('t%d', 'sch-a', 'n%d')", i, i);
		th_sql(n, sql);
	}
	calls = write_calls;
	hook_writes(0);
	return calls;
}

/* A SQLite the shim was not proven with (as after a Debian upgrade of
 * libsqlite3): replicas open with SQLite's own VFS, two writes per frame,
 * and writes work; on a proven one they go back to one write per commit. */
static void test_walbuf__an_unproven_sqlite_gets_the_plain_vfs(void **state)
{
	char *dir = th_tmpdir(), *home;
	const char *why = NULL;
	ssync_node *n;
	long before;
	int calls;

	(void)state;
	assert_int_equal(ssync_store__walbuf_reprobe(3046001, 0), 0);
	assert_int_equal(ssync_store_walbuf(&why), 0);
	assert_non_null(strstr(why, "3.46.1"));
	assert_null(ssync_store__vfs());
	home = th_node_home(dir, "a");
	n = th_open(home);
	assert_false(uses_shim(ssync_store__db(ssync_node_store(n))));
	before = ssync_store__walbuf_commits();
	calls = node_writes(n, 0, 20);
	print_message("plain VFS: 20 writes, %d write calls\n", calls);
	assert_true(calls >= 40);
	assert_int_equal(ssync_store__walbuf_commits(), before);
	assert_int_equal(th_count(n, "SELECT count(*) FROM teacher"), 20);
	ssync_node_free(n);

	assert_int_equal(ssync_store__walbuf_reprobe(0, 0), 1);
	n = th_open(home);
	assert_true(uses_shim(ssync_store__db(ssync_node_store(n))));
	calls = node_writes(n, 20, 20);
	print_message("shim: 20 writes, %d write calls\n", calls);
	assert_true(calls >= 20 && calls <= 24);
	assert_int_equal(ssync_store__walbuf_commits(), before + 20);
	assert_int_equal(th_count(n, "SELECT count(*) FROM teacher"), 40);
	ssync_node_free(n);
	th_rmtree(dir);
	free(dir);
	free(home);
}

/* A SQLite that writes its log differently from what the shim relies on
 * (faked here: the shim is told frame headers are 32 bytes): the first such
 * write turns gathering off for the process. A connection already open
 * through the shim writes straight through from then on, every commit is
 * there for readers and for recovery after a crash, and new replicas open
 * with SQLite's own VFS. */
static void test_walbuf__a_log_write_that_does_not_fit_turns_it_off(void **state)
{
	char *dir = th_tmpdir(), path[600], copy[600], cmd[1400], *home;
	const char *why = NULL;
	sqlite3 *w, *c;
	ssync_node *n;
	long before = ssync_store__walbuf_commits();
	int i;

	(void)state;
	assert_int_equal(ssync_store__walbuf_reprobe(0, 32), 1);
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(copy, sizeof(copy), "%s/crashed.db", dir);
	w = open_ours(path);
	assert_true(uses_shim(w));
	hook_writes(1);
	exec_ok(w, "CREATE TABLE a(v TEXT)");
	for (i = 0; i < 50; i++)
		exec_ok(w, "INSERT INTO a VALUES ('x')");
	print_message("fallen back: 51 commits, %d write calls\n", write_calls);
	assert_true(write_calls >= 2 * 51);
	hook_writes(0);
	assert_int_equal(ssync_store_walbuf(&why), 0);
	assert_non_null(strstr(why, "frame header"));
	assert_int_equal(ssync_store__walbuf_commits(), before);
	assert_null(ssync_store__vfs());
	c = open_plain(path, SQLITE_OPEN_READONLY);
	assert_int_equal(query_int(c, "SELECT count(*) FROM a"), 50);
	sqlite3_close(c);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s-wal' '%s-wal'", path, copy, path, copy);
	assert_int_equal(system(cmd), 0);
	c = open_plain(copy, SQLITE_OPEN_READWRITE);
	assert_int_equal(query_int(c, "SELECT count(*) FROM a"), 50);
	integrity_ok(c);
	sqlite3_close(c);
	sqlite3_close(w);

	home = th_node_home(dir, "a");
	n = th_open(home);
	assert_false(uses_shim(ssync_store__db(ssync_node_store(n))));
	(void)node_writes(n, 0, 10);
	assert_int_equal(th_count(n, "SELECT count(*) FROM teacher"), 10);
	ssync_node_free(n);
	assert_int_equal(ssync_store__walbuf_reprobe(0, 0), 1);
	th_rmtree(dir);
	free(dir);
	free(home);
}

/* The check status and the daemon run: SQLite's real log code through the
 * shim on a scratch database. It passes here, fails on a pattern or a
 * release the shim does not know, and SSYNC_WALBUF=off turns it off. */
static void test_walbuf__the_scratch_check(void **state)
{
	const char *why = NULL;
	double ms[15], t;
	int i, j;

	(void)state;
	for (i = 0; i < 15; i++) {
		assert_int_equal(ssync_store__walbuf_reprobe(0, 0), 1);
		assert_int_equal(ssync_store_walbuf_check(&why), 1);
		ms[i] = ssync_store__walbuf_check_ms();
		for (j = i; j > 0 && ms[j - 1] > ms[j]; j--) {
			t = ms[j];
			ms[j] = ms[j - 1];
			ms[j - 1] = t;
		}
	}
	print_message("%s; 15 checks: median %.2f ms, max %.2f ms\n", why, ms[7], ms[14]);
	assert_non_null(strstr(why, "scratch commit"));

	assert_int_equal(ssync_store__walbuf_reprobe(0, 32), 1);
	assert_int_equal(ssync_store_walbuf_check(&why), 0);
	assert_non_null(strstr(why, "frame header"));
	assert_null(ssync_store__vfs());

	assert_int_equal(ssync_store__walbuf_reprobe(3046001, 0), 0);
	assert_int_equal(ssync_store_walbuf_check(&why), 0);
	assert_non_null(strstr(why, "3.46.1"));

	assert_int_equal(setenv("SSYNC_WALBUF", "off", 1), 0);
	assert_int_equal(ssync_store__walbuf_reprobe(0, 0), 0);
	assert_int_equal(ssync_store_walbuf(&why), 0);
	assert_non_null(strstr(why, "SSYNC_WALBUF=off"));
	assert_int_equal(unsetenv("SSYNC_WALBUF"), 0);
	assert_int_equal(ssync_store__walbuf_reprobe(0, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walbuf__readers_see_every_commit_whole),
		cmocka_unit_test(test_walbuf__spilled_transactions),
		cmocka_unit_test(test_walbuf__failed_write_fails_the_commit),
		cmocka_unit_test(test_walbuf__another_process_reads_while_we_commit),
		cmocka_unit_test(test_walbuf__a_commit_is_one_write),
		cmocka_unit_test(test_walbuf__a_failed_commit_stays_failed_after_a_crash),
		cmocka_unit_test(test_walbuf__a_failed_checkpoint_leaves_the_data_readable),
		cmocka_unit_test(test_walbuf__an_unproven_sqlite_gets_the_plain_vfs),
		cmocka_unit_test(test_walbuf__a_log_write_that_does_not_fit_turns_it_off),
		cmocka_unit_test(test_walbuf__the_scratch_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
