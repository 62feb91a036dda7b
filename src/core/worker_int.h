#ifndef SSYNC_WORKER_INT_H
#define SSYNC_WORKER_INT_H

/*
 * One background thread that takes work under a lock (worker.c): the
 * checkpoint thread, the entry sealer and the read-ahead are each one. The
 * owner's state is guarded by the worker's mutex; the thread loops:
 *
 *   lock; while (!quit && !claim(p)) wait;  unlock; work(p); lock; done(p);
 *   wake everyone waiting; ...
 *
 * claim and done run with the lock held, work without it. Stop wins over
 * work not yet claimed. Whoever changes what claim looks at calls
 * ssync_worker__wake with the lock held.
 */
#include <pthread.h>

typedef struct ssync_worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int inited, started, quit;
	int (*claim)(void *p); /* lock held: take the next piece of work; 0 if none */
	void (*work)(void *p); /* lock not held: do it */
	void (*done)(void *p); /* lock held: publish its result */
	void *p;
} ssync_worker;

/* Set up the lock and condition (no thread yet); -1 if they cannot be made. */
int ssync_worker__init(ssync_worker *w, int (*claim)(void *p), void (*work)(void *p),
	void (*done)(void *p), void *p);
/* Start the thread (once; later calls do nothing); -1 if it cannot start. */
int ssync_worker__start(ssync_worker *w);
/* Stop and join the thread, if started, then free the lock and condition.
 * The work in progress finishes first. Does nothing for a zeroed worker. */
void ssync_worker__destroy(ssync_worker *w);

void ssync_worker__lock(ssync_worker *w);
void ssync_worker__unlock(ssync_worker *w);
/* Wait for a wake (lock held; may return spuriously: wait in a loop). */
void ssync_worker__wait(ssync_worker *w);
/* Wake the thread and every waiter (lock held). */
void ssync_worker__wake(ssync_worker *w);

#endif
