/* Local write throughput: signed single-row write transactions per second,
 * and a 100,000-row bulk import (one atomic call, split into bounded
 * entries). Prints figures; run: build/bench_write [single_count] [bulk_rows].
 * It also times bare SQLite on the same disk with the same settings (one
 * domain row plus one log row of the same size per transaction, no session,
 * no signature, SQLite's own inline autocheckpoint at 4000 pages), and how
 * long making each phase durable takes afterwards (fsync of the WAL, what
 * sync does before it publishes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"
#include "schoolsync/node.h"
#include "schoolsync/store.h"
#include "store_int.h"

/* Time until what the phase committed is on disk. */
static void durable(ssync_node *n)
{
	ssync_error err;
	double t0 = bench_now();

	ssync_error_clear(&err);
	if (ssync_store_make_durable(ssync_node_store(n), &err) < 0)
		bench_die("make durable", &err);
	printf("  then durable (WAL fsync) in %.1f ms\n", (bench_now() - t0) * 1e3);
}

static void bare_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bare sqlite: %s\n", msg ? msg : "error");
		exit(1);
	}
}

static void bare_sqlite(const char *dir, int count, size_t body_len)
{
	char path[600], *body = malloc(body_len + 1);
	sqlite3 *db = NULL;
	sqlite3_stmt *b = NULL, *c = NULL, *row = NULL, *log = NULL;
	double t0, t1;
	int i;

	snprintf(path, sizeof(path), "%s/bare.db", dir);
	if (!body || sqlite3_open(path, &db) != SQLITE_OK)
		exit(1);
	memset(body, 'x', body_len);
	body[body_len] = 0;
	bare_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; "
		"PRAGMA wal_autocheckpoint=4000; "
		"CREATE TABLE teacher(id TEXT PRIMARY KEY NOT NULL, school_id TEXT, name TEXT, title TEXT) WITHOUT ROWID; "
		"CREATE TABLE log(node TEXT, seq INTEGER, hash BLOB, hlc INTEGER, body TEXT, sig BLOB, state INTEGER, "
		"PRIMARY KEY(node, seq)) WITHOUT ROWID");
	if (sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &b, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "COMMIT", -1, &c, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO teacher VALUES (?1, 'bench', ?2, '中级')", -1, &row, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO log VALUES ('bench', ?1, randomblob(32), ?1, ?2, randomblob(64), 1)", -1, &log, NULL) != SQLITE_OK)
		exit(1);
	t0 = bench_now();
	for (i = 0; i < count; i++) {
		char id[32], name[32];
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(name, sizeof(name), "教师%d", i);
		sqlite3_bind_text(row, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(row, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int(log, 1, i + 1);
		sqlite3_bind_text(log, 2, body, (int)body_len, SQLITE_STATIC);
		if (sqlite3_step(b) != SQLITE_DONE || sqlite3_step(row) != SQLITE_DONE ||
		    sqlite3_step(log) != SQLITE_DONE || sqlite3_step(c) != SQLITE_DONE)
			exit(1);
		sqlite3_reset(b);
		sqlite3_reset(row);
		sqlite3_reset(log);
		sqlite3_reset(c);
	}
	t1 = bench_now();
	printf("bare SQLite, same settings (domain row + %zu-byte log row per transaction, no session, no signature, "
		"inline autocheckpoint): "
		"%.0f tx/s (%.1f us each)\n", body_len, count / (t1 - t0), (t1 - t0) * 1e6 / count);
	sqlite3_finalize(b);
	sqlite3_finalize(c);
	sqlite3_finalize(row);
	sqlite3_finalize(log);
	sqlite3_close(db);
	free(body);
}

int main(int argc, char **argv)
{
	int single = argc > 1 ? atoi(argv[1]) : 20000;
	int bulk = argc > 2 ? atoi(argv[2]) : 100000;
	const char *keep = argc > 3 ? argv[3] : NULL; /* keep the node in this home */
	char dir[] = "/tmp/ssync-bench-XXXXXX", home[512], sql[256], cmd[600];
	ssync_node *n = NULL;
	ssync_error err;
	ssync_write_result res;
	struct rusage ru;
	double t0, t1;
	int i;

	if (!mkdtemp(dir))
		return 1;
	snprintf(home, sizeof(home), "%s/node", dir);
	if (keep)
		snprintf(home, sizeof(home), "%s", keep);
	ssync_error_clear(&err);
	if (ssync_node_init(home, "bench", NULL, NULL, &err) < 0 || ssync_node_open(&n, home, 0, &err) < 0)
		bench_die("init", &err);

	printf("allocator: %s\n", SSYNC_ALLOCATOR);
	{
		const char *wb = NULL;
		(void)ssync_store_walbuf(&wb);
		printf("WAL shim: %s\n", wb);
	}
	t0 = bench_now();
	for (i = 0; i < single; i++) {
		char id[32], name[32];
		const char *p[3] = { id, name, "中级" };
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(name, sizeof(name), "教师%d", i);
		if (ssync_node_sql_bound(n, "INSERT INTO teacher(id, school_id, name, title) VALUES (?1, 'bench', ?2, ?3)",
			3, p, "bench", NULL, NULL, &res, &err) < 0)
			bench_die("write", &err);
	}
	t1 = bench_now();
	printf("signed single-row writes: %d in %.2f s = %.0f writes/s (%.1f us each)\n",
		single, t1 - t0, single / (t1 - t0), (t1 - t0) * 1e6 / single);
	if (single > 0)
		durable(n);
	if (single > 0) {
		size_t blen = 0;
		sqlite3_stmt *q = NULL;
		sqlite3 *db = NULL;
		char path[600];
		snprintf(path, sizeof(path), "%s/replica.db", home);
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "SELECT avg(length(body)) FROM ssync_entry", -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			blen = (size_t)sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
		bare_sqlite(dir, single, blen > 0 ? blen : 600);
	}

	if (bulk > 0) {
		snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d) "
			"INSERT INTO teacher(id, school_id, name, subject, title, birth_year, joined_year) "
			"SELECT 'b'||i, 'bench', '教师'||i, '数学', '中级', 1960+i%%40, 1990+i%%30 FROM n", bulk);
		t0 = bench_now();
		if (ssync_node_sql(n, sql, "import", NULL, NULL, &res, &err) < 0)
			bench_die("bulk", &err);
		t1 = bench_now();
		printf("bulk import: %d rows (6 columns) in %.2f s = %.0f rows/s, %d entries (seq %lld..%lld)\n",
			bulk, t1 - t0, bulk / (t1 - t0), res.entries, (long long)res.first_seq, (long long)res.last_seq);
		durable(n);
	}
	{
		const char *wb = NULL;
		(void)ssync_store_walbuf(&wb);
		printf("WAL shim at the end: %s; %ld commits written as one write\n", wb, ssync_store__walbuf_commits());
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
	ssync_node_free(n);
	fflush(stdout);
	if (keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		return system(cmd) == 0 ? 0 : 1;
	}
	snprintf(cmd, sizeof(cmd), "du -sh %s/node/replica.db* | head -3; rm -rf %s", dir, dir);
	return system(cmd) == 0 ? 0 : 1;
}
