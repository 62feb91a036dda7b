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

#define CKPT_SOFT 4000  /* frames of 4 KiB: 16 MB */
#define CKPT_HARD 32000 /* 128 MB: past this the writer checkpoints inline */
#define CKPT_TAIL 1024  /* the thread stops when a round copies fewer frames */
#define CKPT_TAIL_MAX 2048 /* the most a commit copies inline as the tail */

struct ssync_ckpt {
	sqlite3 *db;           /* the writer's connection */
	char *path;
	pthread_mutex_t run;   /* held while any checkpoint of this store runs */
	pthread_mutex_t mu;    /* guards the fields below */
	pthread_cond_t cv;
	int started, failed, pending, quit, busy;
	int tail;              /* the thread is done: the next commit copies the rest */
	int backfilled;        /* frames the thread had copied when it stopped */
	pthread_t th;
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
		pthread_mutex_lock(&c->mu);
		quit = c->quit;
		pthread_mutex_unlock(&c->mu);
	}
	return 0;
}

static void *ckpt_main(void *p)
{
	ssync_ckpt *c = p;
	int tail, backfilled = 0;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->pending && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->quit)
			break;
		c->pending = 0;
		c->busy = 1;
		pthread_mutex_unlock(&c->mu);
		tail = checkpoint_rounds(c, &backfilled);
		pthread_mutex_lock(&c->mu);
		c->busy = 0;
		c->tail = tail;
		c->backfilled = backfilled;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
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
	if (pthread_create(&c->th, NULL, ckpt_main, c) != 0)
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
	pthread_mutex_lock(&c->mu);
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
		pthread_cond_signal(&c->cv);
	} else if (!c->started) {
		inline_now = 1; /* no thread: the old inline way */
	}
	pthread_mutex_unlock(&c->mu);
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
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		pthread_mutex_destroy(&c->run);
		goto fail;
	}
	if (pthread_cond_init(&c->cv, NULL) != 0) {
		pthread_mutex_destroy(&c->mu);
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
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->quit = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->th, NULL);
		sqlite3_close_v2(c->own);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
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
