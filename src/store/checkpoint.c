/* Checkpoints off the writer's path.
 *
 * With synchronous=NORMAL a commit only appends to the WAL; the disk work
 * (fsync of the WAL, copying pages back, fsync of the database) happens at
 * checkpoints. Run inline after a commit, as SQLite's autocheckpoint does,
 * that work lands on whichever write crosses the threshold: about a third
 * of every single-row write's cost, amortised. Here a commit that leaves
 * CKPT_SOFT frames in the WAL wakes a thread with its own connection that
 * copies pages back with PASSIVE checkpoints on the other core, never
 * holding up the writer, until fewer than CKPT_TAIL frames are left. The
 * next commit copies that tail inline: the WAL starts over only when a
 * writer begins with every frame copied back, and a busy writer leaves a
 * background thread no gap to take the write lock in. Should the writer
 * still outrun the thread, it checkpoints inline at CKPT_HARD frames, so
 * the WAL stays bounded. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_int.h"
#include "store_int.h"
#include "worker_int.h"

#define CKPT_SOFT 4000  /* frames of 4 KiB: 16 MB */
#define CKPT_HARD 32000 /* 128 MB: past this the writer checkpoints inline */
#define CKPT_TAIL 1024  /* the thread stops when a round copies fewer frames */
#define CKPT_TAIL_MAX 2048 /* the most a commit copies inline as the tail */

struct ssync_ckpt {
	sqlite3 *db;           /* the writer's connection */
	char *path;
	pthread_mutex_t run;   /* held while any checkpoint of this store runs */
	ssync_worker w;        /* the thread; its lock guards the fields below */
	int started, failed, pending, busy;
	int tail;              /* the thread is done: the next commit copies the rest */
	int backfilled;        /* frames the thread had copied when it stopped */
	int r_tail, r_backfilled; /* the round in progress (the thread's own) */
	sqlite3 *own;          /* the thread's connection */
};

/* One PASSIVE checkpoint on @p db (never waits for readers or writers). */
static int passive(ssync_ckpt *c, sqlite3 *db, int *nlog, int *nckpt)
{
	int rc;

	pthread_mutex_lock(&c->run);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, nlog, nckpt);
	pthread_mutex_unlock(&c->run);
	return rc;
}

static void checkpoint_now(ssync_ckpt *c, sqlite3 *db)
{
	int nlog = 0, nckpt = 0;

	/* another process checkpointing (SQLITE_BUSY) is as good as this one doing it */
	(void)passive(c, db, &nlog, &nckpt);
}

/* The thread's work: PASSIVE rounds, each copying what the writer committed
 * during the previous one, until a round finds less than CKPT_TAIL frames.
 * 1 when it stopped for that reason. */
static int checkpoint_rounds(ssync_ckpt *c, int *backfilled)
{
	int nlog = 0, nckpt = 0, done = 0, rc, quit = 0;

	while (!quit) {
		rc = passive(c, c->own, &nlog, &nckpt);
		if (rc != SQLITE_OK || nlog < 0)
			return 0; /* another process is at it, an I/O error the writer will meet, or not WAL */
		*backfilled = nckpt;
		if (nckpt - done < CKPT_TAIL)
			return 1;
		done = nckpt;
		ssync_worker__lock(&c->w);
		quit = c->w.quit;
		ssync_worker__unlock(&c->w);
	}
	return 0;
}

/* The thread's loop (worker.c): a commit asked for a round ... */
static int ckpt_claim(void *p)
{
	ssync_ckpt *c = p;

	if (!c->pending)
		return 0;
	c->pending = 0;
	c->busy = 1;
	return 1;
}

/* ... the rounds run without the lock ... */
static void ckpt_work(void *p)
{
	ssync_ckpt *c = p;

	c->r_tail = checkpoint_rounds(c, &c->r_backfilled);
}

/* ... and what they did is what the next commit decides on. */
static void ckpt_done(void *p)
{
	ssync_ckpt *c = p;

	c->busy = 0;
	c->tail = c->r_tail;
	c->backfilled = c->r_backfilled;
}

/* Started on first need: most CLI runs never fill 16 MB of WAL. */
static int ckpt_start(ssync_ckpt *c)
{
	if (sqlite3_open_v2(c->path, &c->own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, ssync_store__vfs()) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(c->own, 2000); /* the first read may meet a WAL being recovered */
	/* A connection learns the file is in WAL mode by reading it; before
	 * that a checkpoint on it does nothing and says so (nlog -1). */
	if (sqlite3_exec(c->own, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (ssync_worker__start(&c->w) < 0)
		goto fail;
	c->started = 1;
	return 0;
fail:
	sqlite3_close_v2(c->own);
	c->own = NULL;
	c->failed = 1;
	return -1;
}

static int on_commit(void *p, sqlite3 *db, const char *name, int frames)
{
	ssync_ckpt *c = p;
	int inline_now = 0;

	(void)name;
	ssync_worker__lock(&c->w);
	if (frames < CKPT_SOFT) {
		c->tail = 0; /* the WAL started over */
	} else if (frames >= CKPT_HARD) {
		inline_now = 1; /* a WAL the thread cannot keep up with */
	} else if (c->tail && frames - c->backfilled <= CKPT_TAIL_MAX) {
		c->tail = 0;
		inline_now = 1; /* the short tail */
	} else if (!c->busy && (c->started || (!c->failed && ckpt_start(c) == 0))) {
		c->tail = 0; /* more than a tail since: another round */
		c->pending = 1;
		ssync_worker__wake(&c->w);
	} else if (!c->started) {
		inline_now = 1; /* no thread: the old inline way */
	}
	ssync_worker__unlock(&c->w);
	if (inline_now)
		checkpoint_now(c, db); /* waits for a round in progress */
	return SQLITE_OK;
}

int ssync_ckpt__new(ssync_ckpt **out, sqlite3 *db, const char *path)
{
	ssync_ckpt *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c || !(c->path = strdup(path)))
		goto fail;
	if (pthread_mutex_init(&c->run, NULL) != 0)
		goto fail;
	if (ssync_worker__init(&c->w, ckpt_claim, ckpt_work, ckpt_done, c) < 0) {
		pthread_mutex_destroy(&c->run);
		goto fail;
	}
	c->db = db;
	sqlite3_wal_hook(db, on_commit, c); /* replaces SQLite's autocheckpoint */
	*out = c;
	return 0;
fail:
	if (c)
		free(c->path);
	free(c);
	return SSYNC_ERROR;
}

void ssync_ckpt__free(ssync_ckpt *c)
{
	if (!c)
		return;
	sqlite3_wal_hook(c->db, NULL, NULL);
	ssync_worker__destroy(&c->w); /* stops and joins the thread, if started */
	if (c->started)
		sqlite3_close_v2(c->own);
	pthread_mutex_destroy(&c->run);
	free(c->path);
	free(c);
}

int ssync_ckpt__sync_wal(ssync_ckpt *c, ssync_error *err)
{
	sqlite3_file *wal = NULL;
	int nlog = 0, nckpt = 0, rc;

	/* Every committed transaction is either in the WAL or in a database
	 * file that a completed checkpoint has synced (the WAL only restarts
	 * after that), so syncing the WAL makes all of them durable, whatever
	 * another checkpoint or a long reader is doing. */
	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
	    wal && wal->pMethods) {
		rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
		if (rc != SQLITE_OK)
			return ssync_error_set(err, SSYNC_EIO, "sync the replica's write-ahead log: %s", sqlite3_errstr(rc));
		return 0;
	}
	/* WAL not open on this connection: a checkpoint syncs what is there. */
	rc = passive(c, c->db, &nlog, &nckpt);
	if (rc != SQLITE_OK)
		return ssync_error_set(err, SSYNC_EIO, "checkpoint replica: %s", sqlite3_errstr(rc));
	return 0;
}
