/*
 * The WAL shim's check on a scratch database (see walbuf.c): for processes
 * that write nothing themselves (status, the daemon's start), so that an
 * operator sees what writers will find. SQLite's real log code runs through
 * the shim, with the same per-write pattern check writers get, then copies
 * of the files are recovered by SQLite's own VFS. ~1 ms of system calls in
 * memory-backed tmp, which is why writers do not run it at every open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_int.h"

static double wb_probe_ms;

/* Rows of the check's table in @p path, read with SQLite's own VFS (and so
 * recovered from the files: no connection has them open). */
static int probe_read(const char *path, long long *n, long long *bytes)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ok = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*), total(length(b)) FROM t", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*n = sqlite3_column_int64(q, 0);
		*bytes = (long long)sqlite3_column_double(q, 1);
		ok = 1;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ok;
}

static int copy_file(const char *from, const char *to)
{
	char buf[16384];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int ok = in && out;

	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	ok = ok && !ferror(in);
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = 0;
	return ok;
}

/* A directory for the scratch database: memory-backed if there is one. */
static int probe_dir(char *out, size_t len)
{
	const char *cand[3] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
	int i;

	for (i = 0; i < 3; i++) {
		if (!cand[i] || !cand[i][0] || access(cand[i], W_OK | X_OK) != 0)
			continue;
		snprintf(out, len, "%s/ssync-walcheck-XXXXXX", cand[i]);
		if (mkdtemp(out))
			return 1;
	}
	return 0;
}

/*
 * Two commits on a scratch database through the shim (a table; three rows
 * with overflow pages), as a replica makes them: every log write passes the
 * pattern check, each commit is one write (and the new log's header one
 * more, synced on its own), and copies of the files, recovered by SQLite's
 * own VFS, hold all three rows. 1 if so; else 0 with @p why set.
 */
static int probe_scratch(char *why, size_t len)
{
	char dir[300], a[340], b[340], aw[360], tmp[360];
	const char *sfx[3] = { "", "-wal", "-shm" };
	sqlite3 *db = NULL;
	sqlite3_file *w = NULL;
	long long rows = -1, bytes = -1;
	const char *off = NULL;
	int ok = 0, i, writes = -1, commits = -1;

	if (!probe_dir(dir, sizeof(dir))) {
		snprintf(why, len, "off: no writable directory for the check's scratch database (/dev/shm, $TMPDIR, /tmp)");
		return 0;
	}
	snprintf(a, sizeof(a), "%s/a.db", dir);
	snprintf(b, sizeof(b), "%s/b.db", dir);
	if (sqlite3_open_v2(a, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, SSYNC_STORE_WALBUF_VFS) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB); "
		"BEGIN; INSERT INTO t(b) VALUES (randomblob(5000)), (randomblob(5000)), (randomblob(5000)); COMMIT",
		NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(why, len, "off: the check's scratch database in %s failed: %s", dir,
			db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &w) != SQLITE_OK ||
	    ssync_store__walbuf_counts(w, &writes, &commits) < 0)
		writes = commits = -1;
	if (!ssync_store_walbuf(&off)) {
		snprintf(why, len, "%s", off); /* a write did not fit: its reason */
		goto done;
	}
	if (commits != 2 || writes != 3) {
		snprintf(why, len, "off: the check's two commits were not one log write each (%d written whole, %d writes)",
			commits, writes);
		goto done;
	}
	/* the writer stays open: the copies hold a log to recover */
	snprintf(aw, sizeof(aw), "%s-wal", a);
	snprintf(tmp, sizeof(tmp), "%s-wal", b);
	ok = copy_file(a, b) && copy_file(aw, tmp);
	if (!ok || !probe_read(b, &rows, &bytes) || rows != 3 || bytes != 15000) {
		snprintf(why, len, "off: the check's commits did not come back whole after recovery (%lld rows, %lld bytes)",
			rows, bytes);
		ok = 0;
	}
done:
	sqlite3_close(db);
	for (i = 0; i < 3; i++) {
		snprintf(tmp, sizeof(tmp), "%s%s", a, sfx[i]);
		(void)unlink(tmp);
		snprintf(tmp, sizeof(tmp), "%s%s", b, sfx[i]);
		(void)unlink(tmp);
	}
	(void)rmdir(dir);
	return ok;
}

int ssync_store_walbuf_check(const char **why)
{
	char msg[300];
	struct timespec t0, t1;
	int v;

	if (ssync_store_walbuf(NULL)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!probe_scratch(msg, sizeof(msg))) {
			ssync_store__walbuf_set(0, msg);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			wb_probe_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			v = ssync_store__walbuf_version();
			snprintf(msg, sizeof(msg), "on: SQLite %d.%d.%d, every log write checked against the frame pattern; "
				"a scratch commit checked in %.1f ms", v / 1000000, v / 1000 % 1000, v % 1000, wb_probe_ms);
			ssync_store__walbuf_set(1, msg);
		}
	}
	return ssync_store_walbuf(why);
}

double ssync_store__walbuf_check_ms(void)
{
	return wb_probe_ms;
}
