/*
 * A VFS shim that turns a commit's WAL writes into one write system call.
 *
 * SQLite appends each WAL frame as two writes (a 24-byte header, then the
 * page), so a commit of five pages costs ten pwrite calls; on the VMs we run
 * on a system call costs 1-3 us, a third of a single-row write's commit. This
 * shim keeps the appends to a WAL file in memory and writes them with one
 * call when the commit frame is complete. If that write fails, the commit
 * fails and the gathered frames are dropped (SQLite rolls the transaction
 * back), so a failed commit cannot reach the file later and be found by
 * recovery after a crash.
 *
 * Nothing gathered may outlive the WAL write lock, or be missed by a read:
 *  - any other access to the WAL file (read, sync, size, truncate, a write
 *    behind the end, file control, close) writes what is gathered first;
 *  - every shared-memory lock change and barrier on the database file does
 *    too. SQLite takes the barrier between the two copies of the wal-index
 *    header, and releases the write lock through a lock change, so no other
 *    connection can see frames that are not in the file. Frames still
 *    gathered there belong to a transaction that did not commit; if writing
 *    them fails they are dropped, as a rollback would.
 * Only WAL files are gathered, and only where SQLite never pads frames to a
 * sector (powersafe overwrite, the default); the database file, journals
 * and temporary files pass through. (Gathering a checkpoint's page copies
 * was tried and dropped: a partial checkpoint makes no call between its last
 * page write and marking the pages copied, so a failed write could not be
 * reported.)
 *
 * All of this rests on how SQLite's wal.c writes frames, and Debian can
 * replace libsqlite3 under the binary. So the shim gathers only
 *  - with a SQLite release it was proven with (wb_proven), checked once per
 *    process before the first replica opens, and
 *  - while every append to a WAL fits the pattern above (a 32-byte log
 *    header at 0; per frame a WB_FRAME_HDR-byte header, then the page right
 *    behind it, frame after frame). That is checked on every append, a few
 *    comparisons: the first one that does not fit is written through with
 *    what was gathered before it, and gathering stops for the rest of the
 *    process. A checked write costs nothing a probe at each open would
 *    (a scratch database costs ~1 ms in system calls, more than the shim
 *    saves a one-write CLI run), and it watches every commit, not one.
 * SSYNC_WALBUF=off turns it off too. ssync_store_walbuf() says which and
 * why; ssync_store_walbuf_check() (walbuf_check.c) runs SQLite's log code
 * through the shim on a scratch database, for status and the daemon's
 * start, which write nothing themselves.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

#define WB_VFS_NAME SSYNC_STORE_WALBUF_VFS
/* write out past this even before a commit; the unix VFS writes at most
 * 128 KiB per call (it masks the length with 0x1ffff) */
#define WB_MAX (112 * 1024)
#define WB_FRAME_HDR 24

typedef struct wb_file {
	sqlite3_file base;
	sqlite3_file *real;   /* the underlying VFS's file, after this struct */
	struct wb_file *wal;  /* database file: its open WAL, if any */
	struct wb_file *db;   /* WAL file: its database file */
	int is_wal;           /* a WAL whose appends are gathered */
	int commit_next;      /* WAL: the last append was a commit frame's header */
	unsigned char *buf;   /* writes gathered, not yet made */
	size_t len, cap;
	sqlite3_int64 off;    /* file offset of buf[0] */
	sqlite3_int64 end;    /* WAL: end of what this write lock's holder appended */
	/* WAL: where the pattern check is (see fits()) */
	sqlite3_int64 pat_next; /* the next frame header or page is due here; -1 unknown */
	int pat_page;         /* a frame header came: its page is next */
	int pgsz;             /* page size; 0 not known yet */
	int writes, commits;  /* WAL: writes made, commits written as one */
} wb_file;

/* The real file follows the struct, aligned for any member it has. */
#define WB_HEAD ((sizeof(wb_file) + 15) & ~(size_t)15)

static sqlite3_vfs *wb_orig;
static sqlite3_vfs wb_vfs;
static sqlite3_io_methods wb_io;

/* The state every connection of the process reads: gathering on or off,
 * why (under wb_mu), how many commits were written as one write. */
static atomic_int wb_gathering;
static atomic_long wb_ncommits;
static pthread_mutex_t wb_mu = PTHREAD_MUTEX_INITIALIZER;
static char wb_why[320];
static int wb_hdr = WB_FRAME_HDR; /* a test may pretend the shim relies on another */

static void wb_set(int on, const char *why)
{
	pthread_mutex_lock(&wb_mu);
	snprintf(wb_why, sizeof(wb_why), "%s", why);
	atomic_store(&wb_gathering, on);
	pthread_mutex_unlock(&wb_mu);
}

/* The first misfit wins: its reason is the one kept. */
static void wb_turn_off(const char *why)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "off: SQLite wrote its log differently from what the shim relies on (%s)", why);
	pthread_mutex_lock(&wb_mu);
	if (atomic_load(&wb_gathering)) {
		snprintf(wb_why, sizeof(wb_why), "%s", msg);
		atomic_store(&wb_gathering, 0);
	}
	pthread_mutex_unlock(&wb_mu);
}

static int pow2_page(sqlite3_int64 n)
{
	return n >= 512 && n <= 65536 && (n & (n - 1)) == 0;
}

/*
 * 1 if an append to a WAL (at or past the end) fits the pattern the shim
 * relies on, else 0 with the reason in @p why. The page size comes from the
 * log header, or, for a log another connection started, from the first page
 * (which must then sit on a frame boundary).
 */
static int fits(wb_file *p, const unsigned char *h, int n, sqlite3_int64 off, char *why, size_t len)
{
	if (off == 0) {
		sqlite3_int64 pg;
		if (n != 32) {
			snprintf(why, len, "a %d-byte log header", n);
			return 0;
		}
		pg = ((sqlite3_int64)h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11];
		if (pg == 1)
			pg = 65536;
		if (!pow2_page(pg)) {
			snprintf(why, len, "a log header with page size %lld", (long long)pg);
			return 0;
		}
		p->pgsz = (int)pg;
		p->pat_next = 32;
		p->pat_page = 0;
		return 1;
	}
	if (p->pat_next >= 0 && off != p->pat_next) {
		snprintf(why, len, "a %d-byte write at %lld where the next write was due at %lld",
			n, (long long)off, (long long)p->pat_next);
		return 0;
	}
	if (!p->pat_page) {
		if (n != wb_hdr || (p->pgsz && (off - 32) % (wb_hdr + p->pgsz) != 0)) {
			snprintf(why, len, "a %d-byte write at %lld where a %d-byte frame header was due", n, (long long)off, wb_hdr);
			return 0;
		}
		p->pat_page = 1;
	} else {
		if (!p->pgsz && pow2_page(n) && (off - 32 - wb_hdr) % (wb_hdr + n) == 0)
			p->pgsz = n;
		if (n != p->pgsz) {
			snprintf(why, len, "a %d-byte write at %lld where a page of %d bytes was due", n, (long long)off, p->pgsz);
			return 0;
		}
		p->pat_page = 0;
	}
	p->pat_next = off + n;
	return 1;
}

/* Every write the shim makes to the file below. */
static int real_write(wb_file *p, const void *data, int n, sqlite3_int64 off)
{
	p->writes++;
	return p->real->pMethods->xWrite(p->real, data, n, off);
}

/* On failure the writes stay gathered: the caller's error stops the commit
 * or checkpoint, and a later sync tries again. */
static int wb_flush(wb_file *p)
{
	int rc;

	if (p->len == 0)
		return SQLITE_OK;
	rc = real_write(p, p->buf, (int)p->len, p->off);
	if (rc == SQLITE_OK)
		p->len = 0;
	return rc;
}

/*
 * At a lock change, barrier or close nothing may stay gathered. Frames that
 * cannot be written here are dropped: they belong to a transaction that did
 * not commit (a commit is written at its commit frame).
 */
static void wb_settle(wb_file *p)
{
	if (wb_flush(p) != SQLITE_OK)
		p->len = 0;
	if (p->wal && wb_flush(p->wal) != SQLITE_OK)
		p->wal->len = 0;
}

/* Contiguous writes are gathered; any other one makes the gathered first. */
static int wb_gather(wb_file *p, const void *data, int n, sqlite3_int64 off)
{
	int rc;

	if (p->len > 0 && (off != p->off + (sqlite3_int64)p->len || p->len + (size_t)n > WB_MAX)) {
		if ((rc = wb_flush(p)) != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WB_MAX)
		return real_write(p, data, n, off);
	if (p->cap < p->len + (size_t)n) {
		size_t cap = p->cap ? p->cap : 64 * 1024;
		unsigned char *nb;
		while (cap < p->len + (size_t)n)
			cap *= 2;
		if (!(nb = realloc(p->buf, cap))) {
			/* no memory to gather: write straight through */
			if ((rc = wb_flush(p)) != SQLITE_OK)
				return rc;
			return real_write(p, data, n, off);
		}
		p->buf = nb;
		p->cap = cap;
	}
	if (p->len == 0)
		p->off = off;
	memcpy(p->buf + p->len, data, (size_t)n);
	p->len += (size_t)n;
	return SQLITE_OK;
}

static int wb_close(sqlite3_file *f)
{
	wb_file *p = (wb_file *)f;
	int rc;

	wb_settle(p);
	if (p->is_wal && p->db && p->db->wal == p)
		p->db->wal = NULL;
	if (p->wal && p->wal->db == p)
		p->wal->db = NULL;
	rc = p->real->pMethods->xClose(p->real);
	free(p->buf);
	p->buf = NULL;
	return rc;
}

static int wb_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
	wb_file *p = (wb_file *)f;
	int rc = wb_flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, out, n, off);
}

/* WAL appends are gathered until the commit frame is complete; anything
 * else (a checksum rewrite or a page overwritten in place, both behind the
 * end) goes straight through. */
static int wb_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	wb_file *p = (wb_file *)f;
	int commit = 0, rc;
	char why[200];

	if (!p->is_wal)
		return p->real->pMethods->xWrite(p->real, data, n, off);
	if (off < p->end && off != 0) {
		p->commit_next = 0;
		if ((rc = wb_flush(p)) != SQLITE_OK)
			return rc;
		return real_write(p, data, n, off);
	}
	if (!atomic_load_explicit(&wb_gathering, memory_order_relaxed) || !fits(p, data, n, off, why, sizeof(why))) {
		/* not gathering (any more): what was gathered goes first, as
		 * SQLite would have written it */
		if (atomic_load(&wb_gathering))
			wb_turn_off(why);
		p->commit_next = 0;
		if (off + n > p->end)
			p->end = off + n;
		if ((rc = wb_flush(p)) != SQLITE_OK)
			return rc;
		return real_write(p, data, n, off);
	}
	if (off == 0)
		p->end = 0; /* the WAL header: the log starts over */
	if (p->commit_next) {
		commit = 1;
		p->commit_next = 0;
	} else if (n == wb_hdr) {
		/* bytes 4-7 of a frame header: database size after a commit, else 0 */
		const unsigned char *h = data;
		p->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
	}
	if (off + n > p->end)
		p->end = off + n;
	rc = wb_gather(p, data, n, off);
	if (rc == SQLITE_OK && commit && (rc = wb_flush(p)) == SQLITE_OK) {
		p->commits++;
		atomic_fetch_add_explicit(&wb_ncommits, 1, memory_order_relaxed);
	}
	if (rc != SQLITE_OK && (commit || p->commit_next)) {
		/* a failed commit is rolled back whole: its frames must not be
		 * written by a later retry, where recovery would find them */
		p->len = 0;
		p->commit_next = 0;
	}
	return rc;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	wb_file *p = (wb_file *)f;
	int rc = wb_flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
	wb_file *p = (wb_file *)f;
	int rc = wb_flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int wb_size(sqlite3_file *f, sqlite3_int64 *size)
{
	wb_file *p = (wb_file *)f;
	int rc = wb_flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int wb_lock(sqlite3_file *f, int level)
{
	wb_file *p = (wb_file *)f;

	wb_settle(p);
	return p->real->pMethods->xLock(p->real, level);
}

static int wb_unlock(sqlite3_file *f, int level)
{
	wb_file *p = (wb_file *)f;

	wb_settle(p);
	return p->real->pMethods->xUnlock(p->real, level);
}

static int wb_reserved(sqlite3_file *f, int *out)
{
	wb_file *p = (wb_file *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int wb_fcntl(sqlite3_file *f, int op, void *arg)
{
	wb_file *p = (wb_file *)f;
	int rc;

	(void)wb_flush(p); /* kept on failure: the commit or sync that follows reports it */
	if (op == SQLITE_FCNTL_VFSNAME) {
		rc = p->real->pMethods->xFileControl(p->real, op, arg);
		if (rc == SQLITE_OK && *(char **)arg) {
			char *name = sqlite3_mprintf(WB_VFS_NAME "/%z", *(char **)arg);
			*(char **)arg = name;
			return name ? SQLITE_OK : SQLITE_NOMEM;
		}
		return rc;
	}
	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int wb_sector(sqlite3_file *f)
{
	wb_file *p = (wb_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

static int wb_device(sqlite3_file *f)
{
	wb_file *p = (wb_file *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int wb_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
	wb_file *p = (wb_file *)f;

	return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, out);
}

static int wb_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	wb_file *p = (wb_file *)f;
	int rc;

	wb_settle(p);
	/* slot 0 is the WAL write lock: what counts as an append starts over,
	 * at a frame boundary another connection may have moved */
	if (p->wal && offset == 0 && (flags & SQLITE_SHM_EXCLUSIVE)) {
		p->wal->end = 0;
		p->wal->pat_next = -1;
		p->wal->pat_page = 0;
	}
	rc = p->real->pMethods->xShmLock(p->real, offset, n, flags);
	return rc;
}

static void wb_shm_barrier(sqlite3_file *f)
{
	wb_file *p = (wb_file *)f;

	wb_settle(p);
	p->real->pMethods->xShmBarrier(p->real);
}

static int wb_shm_unmap(sqlite3_file *f, int del)
{
	wb_file *p = (wb_file *)f;

	wb_settle(p);
	return p->real->pMethods->xShmUnmap(p->real, del);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	wb_file *p = (wb_file *)f;
	int rc = wb_flush(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->real->pMethods->xFetch(p->real, off, n, out);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *ptr)
{
	wb_file *p = (wb_file *)f;

	return p->real->pMethods->xUnfetch(p->real, off, ptr);
}

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	wb_file *p = (wb_file *)f;
	int rc;

	(void)vfs;
	memset(p, 0, sizeof(*p));
	p->pat_next = -1;
	p->real = (sqlite3_file *)((char *)p + WB_HEAD);
	rc = wb_orig->xOpen(wb_orig, name, p->real, flags, out_flags);
	if (!p->real->pMethods) {
		p->base.pMethods = NULL;
		return rc;
	}
	/* version 3 methods on ours need them on the real file */
	if (p->real->pMethods->iVersion < 3) {
		(void)p->real->pMethods->xClose(p->real);
		p->base.pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	p->base.pMethods = &wb_io;
	/* without powersafe overwrite SQLite pads commits to a sector and
	 * syncs in the middle of a frame: no gathering then */
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name &&
	    (p->real->pMethods->xDeviceCharacteristics(p->real) & SQLITE_IOCAP_POWERSAFE_OVERWRITE)) {
		sqlite3_file *d = sqlite3_database_file_object(name);
		if (d && d->pMethods == &wb_io) {
			p->is_wal = 1;
			p->db = (wb_file *)d;
			p->db->wal = p;
		}
	}
	return rc;
}

static int wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return wb_orig->xDelete(wb_orig, name, sync_dir);
}

static int wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return wb_orig->xAccess(wb_orig, name, flags, out);
}

static int wb_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return wb_orig->xFullPathname(wb_orig, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return wb_orig->xDlOpen(wb_orig, name);
}

static void wb_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	wb_orig->xDlError(wb_orig, n, out);
}

static void (*wb_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return wb_orig->xDlSym(wb_orig, h, sym);
}

static void wb_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	wb_orig->xDlClose(wb_orig, h);
}

static int wb_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return wb_orig->xRandomness(wb_orig, n, out);
}

static int wb_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return wb_orig->xSleep(wb_orig, us);
}

static int wb_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return wb_orig->xCurrentTime(wb_orig, out);
}

static int wb_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return wb_orig->xGetLastError ? wb_orig->xGetLastError(wb_orig, n, out) : 0;
}

static int wb_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	double d;
	int rc;

	(void)vfs;
	if (wb_orig->iVersion >= 2 && wb_orig->xCurrentTimeInt64)
		return wb_orig->xCurrentTimeInt64(wb_orig, out);
	rc = wb_orig->xCurrentTime(wb_orig, &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static int wb_registered;
static int wb_pretend_version;

static int wb_register(void)
{
	if (!(wb_orig = sqlite3_vfs_find(NULL)) || wb_orig->iVersion < 2)
		return 0;
	wb_io.iVersion = 3;
	wb_io.xClose = wb_close;
	wb_io.xRead = wb_read;
	wb_io.xWrite = wb_write;
	wb_io.xTruncate = wb_truncate;
	wb_io.xSync = wb_sync;
	wb_io.xFileSize = wb_size;
	wb_io.xLock = wb_lock;
	wb_io.xUnlock = wb_unlock;
	wb_io.xCheckReservedLock = wb_reserved;
	wb_io.xFileControl = wb_fcntl;
	wb_io.xSectorSize = wb_sector;
	wb_io.xDeviceCharacteristics = wb_device;
	wb_io.xShmMap = wb_shm_map;
	wb_io.xShmLock = wb_shm_lock;
	wb_io.xShmBarrier = wb_shm_barrier;
	wb_io.xShmUnmap = wb_shm_unmap;
	wb_io.xFetch = wb_fetch;
	wb_io.xUnfetch = wb_unfetch;

	wb_vfs.iVersion = 2;
	wb_vfs.szOsFile = (int)(WB_HEAD + (size_t)wb_orig->szOsFile);
	wb_vfs.mxPathname = wb_orig->mxPathname;
	wb_vfs.zName = WB_VFS_NAME;
	wb_vfs.xOpen = wb_open;
	wb_vfs.xDelete = wb_delete;
	wb_vfs.xAccess = wb_access;
	wb_vfs.xFullPathname = wb_fullpath;
	wb_vfs.xDlOpen = wb_dlopen;
	wb_vfs.xDlError = wb_dlerror;
	wb_vfs.xDlSym = wb_dlsym;
	wb_vfs.xDlClose = wb_dlclose;
	wb_vfs.xRandomness = wb_random;
	wb_vfs.xSleep = wb_sleep;
	wb_vfs.xCurrentTime = wb_time;
	wb_vfs.xGetLastError = wb_lasterr;
	wb_vfs.xCurrentTimeInt64 = wb_time64;
	return sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK;
}

/*
 * The SQLite releases the shim was proven with: test_walbuf (the write
 * pattern, readers, failed commits and checkpoints) and t_power_cut (power
 * cuts on ext4, shim on and off) pass against them. To add one, run both
 * against it.
 */
static const int wb_proven[] = { 3040001 };

static void version_text(char *out, size_t len, int v)
{
	snprintf(out, len, "%d.%d.%d", v / 1000000, v / 1000 % 1000, v % 1000);
}

/* Decides whether to gather at all: registered, proven, not turned off. */
static void wb_decide(void)
{
	const char *env = getenv("SSYNC_WALBUF");
	int v = ssync_store__walbuf_version();
	char have[24], proven[24], why[200];
	size_t i, n = sizeof(wb_proven) / sizeof(wb_proven[0]);

	version_text(have, sizeof(have), v);
	version_text(proven, sizeof(proven), wb_proven[n - 1]);
	for (i = 0; i < n && wb_proven[i] != v; i++)
		;
	if (!wb_registered)
		wb_set(0, "off: SQLite's default VFS is too old to wrap");
	else if (env && strcmp(env, "off") == 0)
		wb_set(0, "off: turned off by SSYNC_WALBUF=off");
	else if (i == n) {
		snprintf(why, sizeof(why), "off: SQLite %s is not a release the shim was proven with (%s)", have, proven);
		wb_set(0, why);
	} else {
		snprintf(why, sizeof(why), "on: SQLite %s, every log write checked against the frame pattern", have);
		wb_set(1, why);
	}
}

static void wb_init(void)
{
	wb_registered = wb_register();
	wb_decide();
}

const char *ssync_store__vfs(void)
{
	(void)pthread_once(&wb_once, wb_init);
	return atomic_load(&wb_gathering) ? WB_VFS_NAME : NULL;
}

int ssync_store_walbuf(const char **why)
{
	int on;

	(void)pthread_once(&wb_once, wb_init);
	pthread_mutex_lock(&wb_mu);
	on = atomic_load(&wb_gathering);
	if (why)
		*why = wb_why; /* changes at most once more: on to off */
	pthread_mutex_unlock(&wb_mu);
	return on;
}

void ssync_store__walbuf_set(int on, const char *why)
{
	(void)pthread_once(&wb_once, wb_init);
	wb_set(on, why);
}

int ssync_store__walbuf_version(void)
{
	return wb_pretend_version ? wb_pretend_version : sqlite3_libversion_number();
}

int ssync_store__walbuf_counts(sqlite3_file *f, int *writes, int *commits)
{
	if (!f || f->pMethods != &wb_io || !((wb_file *)f)->is_wal)
		return -1;
	*writes = ((wb_file *)f)->writes;
	*commits = ((wb_file *)f)->commits;
	return 0;
}

long ssync_store__walbuf_commits(void)
{
	return atomic_load(&wb_ncommits);
}

int ssync_store__walbuf_reprobe(int version, int frame_hdr)
{
	(void)pthread_once(&wb_once, wb_init);
	wb_pretend_version = version;
	wb_hdr = frame_hdr ? frame_hdr : WB_FRAME_HDR;
	wb_decide();
	return atomic_load(&wb_gathering);
}
