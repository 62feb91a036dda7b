/* Local writes start a round: a worker thread polls the replica's own head
 * seq (one PRAGMA when idle, schoolsync/status.h) every poll_s; when it
 * grew, a debounce timer starts (schoolsync/sched.h decides when it fires);
 * when it fires, every remote that is not backing off is due now. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"

static void on_debounce(uv_timer_t *t)
{
	dmn *d = t->data;
	size_t i;
	int n = 0;

	d->burst_start = 0;
	for (i = 0; i < d->nremotes; i++)
		n += ssync_sched_settled(&d->remotes[i]->s);
	dmn_log(DMN_LOG_DEBUG, "local writes settled: syncing with %d remote(s) now", n);
	dmn_kick(d);
}

static void local_write(dmn *d, int64_t old_head, int64_t head)
{
	uint64_t now = dmn_now(d), fire = ssync_sched_debounce_at(&d->burst_start, now, d->cfg.debounce_s);

	dmn_log(DMN_LOG_DEBUG, "local write: own head %lld -> %lld; sync in %.1f s", (long long)old_head,
		(long long)head, (double)(fire - now) / 1000.0);
	uv_timer_start(&d->debounce, on_debounce, fire > now ? fire - now : 0, 0);
}

/* Worker thread: touches only the watcher and the poll_* results. */
static void poll_work(uv_work_t *w)
{
	dmn *d = w->data;
	ssync_error err;

	ssync_error_clear(&err);
	d->poll_rc = 0;
	d->poll_err[0] = 0;
	if (!d->watch && (d->poll_rc = ssync_status_watch_open(&d->watch, d->home, &err)) < 0)
		goto fail;
	if ((d->poll_rc = ssync_status_watch_poll(d->watch, &d->poll_head, NULL, &err)) < 0) {
		ssync_status_watch_free(d->watch); /* reopen next time */
		d->watch = NULL;
		goto fail;
	}
	return;
fail:
	snprintf(d->poll_err, sizeof(d->poll_err), "%s", err.message);
}

static void poll_after(uv_work_t *w, int status)
{
	dmn *d = w->data;

	d->poll_busy = 0;
	if (status == UV_ECANCELED || d->stopping)
		return;
	if (d->poll_rc < 0) {
		if (strcmp(d->poll_last_err, d->poll_err) != 0)
			dmn_log(DMN_LOG_WARN, "cannot watch the replica for local writes: %s", d->poll_err);
		snprintf(d->poll_last_err, sizeof(d->poll_last_err), "%s", d->poll_err);
		return;
	}
	d->poll_last_err[0] = 0;
	if (d->head_known && d->poll_head > d->own_head)
		local_write(d, d->own_head, d->poll_head);
	d->own_head = d->poll_head;
	d->head_known = 1;
}

static void on_poll(uv_timer_t *t)
{
	dmn *d = t->data;

	if (d->poll_busy || d->stopping)
		return;
	d->poll_work.data = d;
	if (uv_queue_work(d->loop, &d->poll_work, poll_work, poll_after) == 0)
		d->poll_busy = 1;
}

void dmn_writes_start(dmn *d)
{
	uint64_t every = ssync_sched_ms(d->cfg.poll_s);

	/* the first poll at once: it learns the head without calling it a write */
	uv_timer_start(&d->poll, on_poll, d->head_known ? every : 0, every);
}
