/* One background worker thread (worker_int.h): the lock, the condition, the
 * claim/work/done loop, start and stop with join, in one place. The three
 * users each hand one kind of job to one thread; none needs a pool. */
#include <string.h>

#include "worker_int.h"

static void *worker_main(void *arg)
{
	ssync_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && !w->claim(w->p))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->mu);
		w->work(w->p);
		pthread_mutex_lock(&w->mu);
		if (w->done)
			w->done(w->p);
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int ssync_worker__init(ssync_worker *w, int (*claim)(void *p), void (*work)(void *p),
	void (*done)(void *p), void *p)
{
	memset(w, 0, sizeof(*w));
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	w->claim = claim;
	w->work = work;
	w->done = done;
	w->p = p;
	w->inited = 1;
	return 0;
}

int ssync_worker__start(ssync_worker *w)
{
	if (w->started)
		return 0;
	if (pthread_create(&w->th, NULL, worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

void ssync_worker__destroy(ssync_worker *w)
{
	if (!w->inited)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->started = 0;
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->inited = 0;
}

void ssync_worker__lock(ssync_worker *w)
{
	pthread_mutex_lock(&w->mu);
}

void ssync_worker__unlock(ssync_worker *w)
{
	pthread_mutex_unlock(&w->mu);
}

void ssync_worker__wait(ssync_worker *w)
{
	pthread_cond_wait(&w->cv, &w->mu);
}

void ssync_worker__wake(ssync_worker *w)
{
	pthread_cond_broadcast(&w->cv);
}
