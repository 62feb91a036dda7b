/* schoolsyncd's loop: a scheduler and supervisor, not a second copy of the
 * sync logic (DESIGN §3 "Daemon").
 *
 * Every sync round is a child process, `schoolsync --home H sync --remote R
 * --json`, supervised by job.c with a hard deadline; the remote list comes
 * from `schoolsync remote list --json`. One child at a time: rounds share
 * the replica's write lock and the exchange repository, so running them
 * side by side would only make them wait on each other.
 *
 * Per remote: next_due (loop clock), consecutive failures and the backoff
 * chosen from them (src/backoff.c, equal jitter, capped). A success resets
 * the backoff and schedules the next periodic round (interval +-10 %). A
 * local write (own head seq grew, seen by a 1 s poll of the replica on a
 * worker thread) starts a debounce; when it fires, every remote that is not
 * backing off is due now. `sync-now` makes every remote due now, backoff
 * or not.
 *
 * Stopping (SIGTERM/SIGINT): no new rounds; a running round gets
 * stop_grace_s to finish, then SIGTERM, then SIGKILL; a second signal stops
 * it at once. Everything a round does commits atomically (SQLite
 * transactions, compare-and-swap ref updates), so a killed round leaves the
 * replica and repository consistent and the next round resumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "schoolsync/backoff.h"
#include "schoolsync/control.h"
#include "schoolsync/home.h"
#include "schoolsync/sync.h"

#define INTERVAL_JITTER 0.1

static uint64_t ms(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1000.0 + 0.5);
}

static uint64_t now_ms(dmn *d)
{
	uv_update_time(d->loop);
	return uv_now(d->loop);
}

/* ---------------------------------------------------------------- remotes */

dmn_remote *dmn_remote_find(dmn *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nremotes; i++)
		if (strcmp(d->remotes[i]->name, name) == 0)
			return d->remotes[i];
	return NULL;
}

static void remote_free(dmn_remote *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->url);
	free(r);
}

/* Apply a `remote list --json` result: keep the state of remotes still
 * listed, add new ones (due now), drop the ones removed. */
static int remotes_update(dmn *d, json_t *arr)
{
	dmn_remote **keep;
	size_t i, n = json_array_size(arr), nkeep = 0;
	uint64_t now = now_ms(d);

	if (!(keep = calloc(n + 1, sizeof(*keep))))
		return -1;
	for (i = 0; i < d->nremotes; i++)
		d->remotes[i]->listed = 0;
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *url = json_string_value(json_object_get(o, "url"));
		dmn_remote *r;
		if (!name || !*name)
			continue;
		if ((r = dmn_remote_find(d, name)) && r->listed)
			continue; /* listed twice */
		if (!r) {
			if (!(r = calloc(1, sizeof(*r))) || !(r->name = strdup(name))) {
				remote_free(r);
				continue;
			}
			r->next_due = now;
			dmn_log(DMN_LOG_INFO, "remote %s (%s): will sync", name, url ? url : "?");
		}
		if (url && (!r->url || strcmp(r->url, url) != 0)) {
			free(r->url);
			r->url = strdup(url);
		}
		r->listed = 1;
		keep[nkeep++] = r;
	}
	for (i = 0; i < d->nremotes; i++) {
		if (!d->remotes[i]->listed) {
			dmn_log(DMN_LOG_INFO, "remote %s removed: no longer syncing with it", d->remotes[i]->name);
			remote_free(d->remotes[i]);
		}
	}
	free(d->remotes);
	d->remotes = keep;
	d->nremotes = nkeep;
	return 0;
}

/* ------------------------------------------------------------ child jobs */

static void on_list_done(const dmn_job_result *res, void *payload);
static void on_sync_done(const dmn_job_result *res, void *payload);
static void close_all(dmn *d);

/* The error a failed child reported: the last stderr line that is the
 * library's JSON error object (ssync_error_parse_json); otherwise its last
 * non-empty line. */
static void child_error(const dmn_job_result *res, char *code, size_t clen, char *msg, size_t mlen)
{
	const char *s = res->errout, *end = s + res->err_len;
	const char *line_end = end;

	snprintf(code, clen, "%s", res->exit_status == 2 ? "E_USAGE" : "E_ERROR");
	msg[0] = 0;
	while (line_end > s) {
		const char *ls = line_end;
		while (ls > s && ls[-1] != '\n')
			ls--;
		if (line_end > ls) {
			size_t len = (size_t)(line_end - ls);
			ssync_error e;
			if (ls[0] == '{' && ssync_error_parse_json(&e, ls, len) == 0) {
				snprintf(code, clen, "%s", ssync_error_name(e.code));
				snprintf(msg, mlen, "%s", e.message[0] ? e.message : "(no message)");
				return;
			}
			if (!msg[0]) {
				while (len > 0 && (ls[len - 1] == '\r' || ls[len - 1] == ' '))
					len--;
				if (len > 0)
					snprintf(msg, mlen, "%.*s", (int)(len < mlen - 1 ? len : mlen - 1), ls);
			}
		}
		line_end = ls > s ? ls - 1 : s;
	}
	if (!msg[0])
		snprintf(msg, mlen, "exited with status %lld and no message", (long long)res->exit_status);
}

/* Classify how a child ended; returns 1 on success. */
static int child_outcome(dmn *d, const dmn_job_result *res, const char *what, char *code, size_t clen,
	char *msg, size_t mlen)
{
	if (res->spawn_error) {
		snprintf(code, clen, "E_ERROR");
		snprintf(msg, mlen, "cannot start %s: %s", d->cli, uv_strerror(res->spawn_error));
	} else if (res->timed_out) {
		snprintf(code, clen, "E_CANCELLED");
		snprintf(msg, mlen, "%s gave no result within the %g s deadline: process killed", what,
			what[0] == 'r' ? SSYNC_CONTROL_LIST_DEADLINE_S : d->cfg.deadline_s);
	} else if (res->stopped) {
		snprintf(code, clen, "E_CANCELLED");
		snprintf(msg, mlen, "%s stopped: the daemon is shutting down", what);
	} else if (res->term_signal) {
		snprintf(code, clen, "E_ERROR");
		snprintf(msg, mlen, "%s process killed by signal %d", what, res->term_signal);
	} else if (res->exit_status != 0) {
		child_error(res, code, clen, msg, mlen);
	} else {
		return 1;
	}
	return 0;
}

static int start_job(dmn *d, const char *const *argv, double deadline, int is_list, dmn_remote *r)
{
	int rc = dmn_job_start(&d->job, d->loop, argv, deadline, d->cfg.kill_grace_s,
		is_list ? NULL : d->child_pidfile, is_list ? on_list_done : on_sync_done, d);

	if (rc != 0) {
		dmn_log(DMN_LOG_ERROR, "cannot start %s: %s", argv[0], uv_strerror(rc));
		d->job = NULL;
		return -1;
	}
	d->job_is_list = is_list;
	d->job_remote = r;
	return 0;
}

static void start_list(dmn *d)
{
	const char *argv[] = { d->cli, "--home", d->home, "remote", "list", "--json", NULL };

	dmn_log(DMN_LOG_DEBUG, "listing remotes");
	if (start_job(d, argv, SSYNC_CONTROL_LIST_DEADLINE_S, 1, NULL) < 0) {
		d->list_failures++;
		d->list_next_due = now_ms(d) + ms(ssync_backoff_delay(d->list_failures,
			d->cfg.backoff_base_s, d->cfg.backoff_max_s, randombytes_random()));
	}
}

static void on_list_done(const dmn_job_result *res, void *payload)
{
	dmn *d = payload;
	char code[32], msg[512];
	json_t *arr = NULL;
	uint64_t now = now_ms(d);

	d->job = NULL;
	d->list_gen++;
	if (child_outcome(d, res, "remote list", code, sizeof(code), msg, sizeof(msg))) {
		json_error_t jerr;
		if (!(arr = json_loadb(res->out, res->out_len, 0, &jerr)) || !json_is_array(arr)) {
			snprintf(code, sizeof(code), "E_SCHEMA");
			snprintf(msg, sizeof(msg), "remote list printed no JSON array (%s)", arr ? "not an array" : jerr.text);
		} else if (remotes_update(d, arr) == 0) {
			if (!d->remotes_known || d->list_failures)
				dmn_log(DMN_LOG_INFO, "%zu remote(s) configured", d->nremotes);
			if (d->nremotes == 0 && (!d->remotes_known || d->list_failures))
				dmn_log(DMN_LOG_WARN, "no remotes configured: add one with 'schoolsync --home %s remote add NAME URL', then 'kill -HUP %ld'",
					d->home, (long)getpid());
			d->remotes_known = 1;
			d->remotes_listed_at = now;
			d->list_failures = 0;
			d->list_next_due = 0;
			d->list_wanted = 0;
			json_decref(arr);
			goto out;
		} else {
			snprintf(code, sizeof(code), "E_ERROR");
			snprintf(msg, sizeof(msg), "out of memory");
		}
	}
	json_decref(arr);
	d->list_failures++;
	{
		double delay = ssync_backoff_delay(d->list_failures, d->cfg.backoff_base_s, d->cfg.backoff_max_s,
			randombytes_random());
		d->list_next_due = now + ms(delay);
		dmn_log(DMN_LOG_ERROR, "cannot list remotes [%s]: %s; retry in %.1f s", code, msg, delay);
	}
out:
	if (d->stopping)
		close_all(d);
	else
		dmn_kick(d);
	dmn_round_done_notify(d);
}

static void start_sync(dmn *d, dmn_remote *r)
{
	const char *argv[] = { d->cli, "--home", d->home, "sync", "--remote", r->name, "--json", NULL };

	r->want_now = 0;
	r->dirty = 0;
	r->last_attempt = (int64_t)time(NULL);
	r->running = 1;
	r->run_seq = ++d->rounds_started;
	dmn_log(DMN_LOG_DEBUG, "sync with %s: starting (attempt after %u failure(s))", r->name, r->failures);
	if (start_job(d, argv, d->cfg.deadline_s, 0, r) < 0) {
		r->running = 0;
		r->failures++;
		r->backoff_s = ssync_backoff_delay(r->failures, d->cfg.backoff_base_s, d->cfg.backoff_max_s,
			randombytes_random());
		r->next_due = now_ms(d) + ms(r->backoff_s);
	}
}

static void report_summary(const ssync_sync_report *rep, char *buf, size_t n)
{
	snprintf(buf, n, "sealed %lld, received %lld, applied %lld, quarantined %lld, pushed %d ref(s)",
		(long long)rep->sealed, (long long)rep->received, (long long)rep->applied,
		(long long)rep->quarantined, rep->pushed_refs);
}

static void on_sync_done(const dmn_job_result *res, void *payload)
{
	dmn *d = payload;
	dmn_remote *r = d->job_remote;
	char code[32], msg[512];
	uint64_t now = now_ms(d);

	d->job = NULL;
	d->job_remote = NULL;
	r->running = 0;
	r->completed++;
	r->done_seq = r->run_seq;
	r->last_seconds = res->seconds;
	if (child_outcome(d, res, "sync", code, sizeof(code), msg, sizeof(msg))) {
		ssync_error perr;
		char sum[256] = "no report";
		ssync_error_clear(&perr);
		/* The report's documented form, read with the library's own decoder. */
		if (ssync_sync_report_parse(&r->last_report, res->out, res->out_len, &perr) == 0) {
			r->has_report = 1;
			report_summary(&r->last_report, sum, sizeof(sum));
		} else {
			r->has_report = 0;
			dmn_log(DMN_LOG_WARN, "sync with %s succeeded but printed no report: %s", r->name, perr.message);
		}
		if (r->failures)
			dmn_log(DMN_LOG_INFO, "sync with %s: reachable again after %u failed attempt(s)", r->name, r->failures);
		dmn_log(DMN_LOG_INFO, "sync with %s ok in %.2f s: %s", r->name, res->seconds, sum);
		r->failures = 0;
		r->backoff_s = 0;
		r->ok_rounds++;
		r->last_success = (int64_t)time(NULL);
		r->next_due = now + ms(ssync_backoff_jitter(d->cfg.sync_interval_s, INTERVAL_JITTER, randombytes_random()));
		if (r->dirty)
			r->want_now = 1; /* written to while this round ran */
	} else {
		r->failures++;
		r->failed_rounds++;
		r->backoff_s = ssync_backoff_delay(r->failures, d->cfg.backoff_base_s, d->cfg.backoff_max_s,
			randombytes_random());
		r->next_due = now + ms(r->backoff_s);
		r->last_error_at = (int64_t)time(NULL);
		snprintf(r->last_error_code, sizeof(r->last_error_code), "%s", code);
		snprintf(r->last_error_msg, sizeof(r->last_error_msg), "%s", msg);
		dmn_log(res->stopped ? DMN_LOG_INFO : DMN_LOG_WARN, "sync with %s failed [%s] after %.2f s: %s",
			r->name, code, res->seconds, msg);
		if (!d->stopping)
			dmn_log(DMN_LOG_INFO, "sync with %s: retry in %.1f s (failure %u in a row)", r->name, r->backoff_s,
				r->failures);
		/* Writes made while it failed wait for the next attempt: the
		 * backoff protects the hub from a school's write burst. */
	}
	if (d->stopping)
		close_all(d);
	else
		dmn_kick(d);
	dmn_round_done_notify(d);
}

/* -------------------------------------------------------------- scheduler */

static void on_sched(uv_timer_t *t)
{
	dmn_kick(t->data);
}

void dmn_kick(dmn *d)
{
	uint64_t now, next = UINT64_MAX;
	dmn_remote *best = NULL;
	size_t i;
	int need_list;

	if (d->stopping || d->job)
		return;
	now = now_ms(d);
	need_list = d->list_wanted || !d->remotes_known ||
		now - d->remotes_listed_at >= ms(d->cfg.sync_interval_s);
	if (need_list) {
		if (now >= d->list_next_due) {
			start_list(d);
			if (d->job)
				return;
		}
		next = d->list_next_due;
	}
	for (i = 0; i < d->nremotes; i++) {
		dmn_remote *r = d->remotes[i];
		if (r->want_now) {
			if (!best || !best->want_now || r->next_due < best->next_due)
				best = r;
		} else if (r->next_due <= now) {
			if (!best || (!best->want_now && r->next_due < best->next_due))
				best = r;
		} else if (r->next_due < next) {
			next = r->next_due;
		}
	}
	if (best) {
		start_sync(d, best);
		if (d->job)
			return;
		next = now; /* could not start: try the next one soon */
	}
	if (next != UINT64_MAX) {
		uint64_t delay = next > now ? next - now : 0;
		if (best && delay < 1000)
			delay = 1000;
		uv_timer_start(&d->sched, on_sched, delay, 0);
	} else {
		uv_timer_stop(&d->sched);
	}
}

json_t *dmn_sync_now(dmn *d)
{
	json_t *names = json_array();
	size_t i;

	for (i = 0; i < d->nremotes; i++) {
		d->remotes[i]->want_now = 1;
		json_array_append_new(names, json_string(d->remotes[i]->name));
	}
	dmn_log(DMN_LOG_INFO, "sync now requested");
	/* An operator who just added a remote expects it to be included. */
	d->list_wanted = 1;
	d->list_next_due = 0;
	dmn_kick(d);
	return names;
}

/* ------------------------------------------------------- local writes */

static void on_debounce(uv_timer_t *t)
{
	dmn *d = t->data;
	size_t i;
	int n = 0;

	d->burst_start = 0;
	for (i = 0; i < d->nremotes; i++) {
		dmn_remote *r = d->remotes[i];
		r->dirty = 1;
		if (!r->running && r->failures == 0) {
			r->want_now = 1;
			n++;
		}
	}
	dmn_log(DMN_LOG_DEBUG, "local writes settled: syncing with %d remote(s) now", n);
	dmn_kick(d);
}

static void local_write(dmn *d, int64_t old_head, int64_t head)
{
	uint64_t now = now_ms(d), fire, debounce = ms(d->cfg.debounce_s);

	if (!d->burst_start)
		d->burst_start = now;
	/* Trailing-edge debounce, but a steady stream of writes must not
	 * postpone the sync forever: at most 6 debounce periods. */
	fire = now + debounce;
	if (fire > d->burst_start + 6 * debounce)
		fire = d->burst_start + 6 * debounce;
	dmn_log(DMN_LOG_DEBUG, "local write: own head %lld -> %lld; sync in %.1f s", (long long)old_head,
		(long long)head, (double)(fire - now) / 1000.0);
	uv_timer_start(&d->debounce, on_debounce, fire > now ? fire - now : 0, 0);
}

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
	static char last_err[512];

	d->poll_busy = 0;
	if (status == UV_ECANCELED || d->stopping)
		return;
	if (d->poll_rc < 0) {
		if (strcmp(last_err, d->poll_err) != 0)
			dmn_log(DMN_LOG_WARN, "cannot watch the replica for local writes: %s", d->poll_err);
		snprintf(last_err, sizeof(last_err), "%s", d->poll_err);
		return;
	}
	last_err[0] = 0;
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

/* ------------------------------------------------------------- signals */

static void on_closed(uv_handle_t *h)
{
	(void)h; /* handles embedded in dmn: freed with it after uv_run */
}

static void close_all(dmn *d)
{
	static int done;

	if (done)
		return;
	done = 1;
	dmn_control_close(d);
	uv_close((uv_handle_t *)&d->sched, on_closed);
	uv_close((uv_handle_t *)&d->debounce, on_closed);
	uv_close((uv_handle_t *)&d->poll, on_closed);
	uv_close((uv_handle_t *)&d->sig_term, on_closed);
	uv_close((uv_handle_t *)&d->sig_int, on_closed);
	uv_close((uv_handle_t *)&d->sig_hup, on_closed);
	dmn_log(DMN_LOG_INFO, "stopped");
}

static void begin_stop(dmn *d, int signum)
{
	d->stopping = 1;
	dmn_sd_notify("STOPPING=1");
	uv_timer_stop(&d->sched);
	uv_timer_stop(&d->debounce);
	uv_timer_stop(&d->poll);
	dmn_control_close(d); /* no new requests; waiters are told */
	if (!d->job) {
		dmn_log(DMN_LOG_INFO, "%s: stopping", strsignal(signum));
		close_all(d);
	} else if (d->job_is_list) {
		dmn_log(DMN_LOG_INFO, "%s: stopping", strsignal(signum));
		dmn_job_stop(d->job);
	} else {
		dmn_log(DMN_LOG_INFO, "%s: stopping after the sync with %s (pid %d) finishes, at most %g s",
			strsignal(signum), d->job_remote->name, dmn_job_pid(d->job), d->cfg.stop_grace_s);
		dmn_job_stop_after(d->job, d->cfg.stop_grace_s);
	}
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
	dmn *d = s->data;

	if (!d->stopping) {
		begin_stop(d, signum);
	} else if (d->job) {
		dmn_log(DMN_LOG_INFO, "%s again: stopping the sync process now", strsignal(signum));
		dmn_job_stop(d->job);
	}
}

static void on_hup(uv_signal_t *s, int signum)
{
	dmn *d = s->data;
	dmn_config c;
	char errbuf[1024];
	size_t i;
	uint64_t now;

	(void)signum;
	if (d->stopping)
		return;
	dmn_sd_notify("RELOADING=1");
	if (dmn_config_load(&c, d->config_path, errbuf, sizeof(errbuf)) < 0) {
		dmn_log(DMN_LOG_ERROR, "reload failed, keeping the previous settings: %s", errbuf);
		dmn_sd_notify("READY=1");
		return;
	}
	d->cfg = c;
	dmn_log_setup(c.log_level, c.use_syslog);
	now = now_ms(d);
	/* New intervals take effect now, not after the old ones ran out. */
	for (i = 0; i < d->nremotes; i++) {
		dmn_remote *r = d->remotes[i];
		uint64_t cap = now + ms(r->failures ? c.backoff_max_s : c.sync_interval_s * (1 + INTERVAL_JITTER));
		if (r->next_due > cap)
			r->next_due = now + ms(r->failures ? ssync_backoff_delay(r->failures, c.backoff_base_s,
				c.backoff_max_s, randombytes_random()) : ssync_backoff_jitter(c.sync_interval_s,
				INTERVAL_JITTER, randombytes_random()));
	}
	uv_timer_start(&d->poll, on_poll, ms(c.poll_s), ms(c.poll_s));
	d->list_wanted = 1;
	d->list_next_due = 0;
	dmn_log(DMN_LOG_INFO, "settings reloaded: interval %g s, debounce %g s, deadline %g s, backoff %g..%g s, log %s%s",
		c.sync_interval_s, c.debounce_s, c.deadline_s, c.backoff_base_s, c.backoff_max_s,
		dmn_log_level_name(c.log_level), c.use_syslog ? " (syslog)" : "");
	dmn_sd_notify("READY=1");
	dmn_kick(d);
}

/* --------------------------------------------------------- status JSON */

json_t *dmn_report_json(const ssync_sync_report *rep)
{
	char *s = ssync_sync_report_json(rep);
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;

	free(s);
	return o ? o : json_null();
}

static void iso(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_time(json_t *o, const char *key, const char *age_key, int64_t t, int64_t now)
{
	char buf[32];

	if (!t) {
		json_object_set_new(o, key, json_null());
		return;
	}
	iso(t, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
	if (age_key)
		json_object_set_new(o, age_key, json_integer(now - t));
}

json_t *dmn_remotes_json(dmn *d)
{
	json_t *arr = json_array();
	uint64_t now = now_ms(d);
	int64_t wall = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < d->nremotes; i++) {
		dmn_remote *r = d->remotes[i];
		json_t *o = json_object();
		const char *state = r->running ? "running" : r->failures ? "backoff" : r->ok_rounds ? "ok" : "waiting";
		json_object_set_new(o, "name", json_string(r->name));
		json_object_set_new(o, "url", r->url ? json_string(r->url) : json_null());
		json_object_set_new(o, "state", json_string(state));
		set_time(o, "last_attempt", NULL, r->last_attempt, wall);
		set_time(o, "last_success", "last_success_age_s", r->last_success, wall);
		if (r->last_error_at) {
			json_t *e = json_pack("{ssss}", "code", r->last_error_code, "message", r->last_error_msg);
			set_time(e, "at", "age_s", r->last_error_at, wall);
			json_object_set_new(o, "last_error", e);
		} else {
			json_object_set_new(o, "last_error", json_null());
		}
		json_object_set_new(o, "failures", json_integer(r->failures));
		json_object_set_new(o, "backoff_s", json_real(r->backoff_s));
		if (r->running) {
			json_object_set_new(o, "next_attempt", json_null());
			json_object_set_new(o, "next_attempt_in_s", json_null());
		} else {
			double in_s = r->want_now || r->next_due <= now ? 0 : (double)(r->next_due - now) / 1000.0;
			set_time(o, "next_attempt", NULL, wall + (int64_t)(in_s + 0.5), wall);
			json_object_set_new(o, "next_attempt_in_s", json_real(in_s));
		}
		json_object_set_new(o, "rounds_ok", json_integer((json_int_t)r->ok_rounds));
		json_object_set_new(o, "rounds_failed", json_integer((json_int_t)r->failed_rounds));
		json_object_set_new(o, "last_duration_s", r->completed ? json_real(r->last_seconds) : json_null());
		json_object_set_new(o, "last_report", r->has_report ? dmn_report_json(&r->last_report) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *dmn_daemon_json(dmn *d)
{
	int64_t wall = (int64_t)time(NULL);
	char started[32];
	json_t *o;

	iso(d->started, started, sizeof(started));
	o = json_pack("{sbsIsssssIss}", "running", 1, "pid", (json_int_t)getpid(), "home", d->home,
		"started", started, "uptime_s", (json_int_t)(wall - d->started), "cli", d->cli);
	json_object_set_new(o, "busy", d->job ? json_string(d->job_is_list ? "remote list" :
		d->job_remote->name) : json_null());
	json_object_set_new(o, "remotes_known", json_boolean(d->remotes_known));
	json_object_set_new(o, "settings", json_pack("{sfsfsfsfsfsfsfsfssso}",
		"sync_interval_s", d->cfg.sync_interval_s, "debounce_s", d->cfg.debounce_s,
		"deadline_s", d->cfg.deadline_s, "backoff_base_s", d->cfg.backoff_base_s,
		"backoff_max_s", d->cfg.backoff_max_s, "kill_grace_s", d->cfg.kill_grace_s,
		"stop_grace_s", d->cfg.stop_grace_s, "poll_s", d->cfg.poll_s,
		"log_level", dmn_log_level_name(d->cfg.log_level), "syslog", json_boolean(d->cfg.use_syslog)));
	return o;
}

/* ------------------------------------------------------------ lifecycle */

int dmn_init(dmn *d, uv_loop_t *loop, const char *home, const char *cli, const dmn_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->cfg = *cfg;
	d->started = (int64_t)time(NULL);
	if (!(d->home = strdup(home)) || !(d->cli = strdup(cli)) ||
	    !(d->config_path = ssync_home_path_dup(home, SSYNC_HOME_CONFIG)) ||
	    !(d->sock_path = ssync_home_path_dup(home, SSYNC_HOME_CONTROL_SOCK)) ||
	    !(d->child_pidfile = ssync_home_path_dup(home, SSYNC_HOME_DAEMON_CHILD)))
		return -1;
	return 0;
}

int dmn_start(dmn *d)
{
	int rc;

	uv_timer_init(d->loop, &d->sched);
	uv_timer_init(d->loop, &d->debounce);
	uv_timer_init(d->loop, &d->poll);
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sched.data = d->debounce.data = d->poll.data = d;
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	if ((rc = uv_signal_start(&d->sig_term, on_stop_signal, SIGTERM)) != 0 ||
	    (rc = uv_signal_start(&d->sig_int, on_stop_signal, SIGINT)) != 0 ||
	    (rc = uv_signal_start(&d->sig_hup, on_hup, SIGHUP)) != 0) {
		dmn_log(DMN_LOG_ERROR, "signal handlers: %s", uv_strerror(rc));
		return -1;
	}
	if (dmn_control_open(d) < 0) {
		d->stopping = 1;
		close_all(d);
		return -1;
	}
	uv_timer_start(&d->poll, on_poll, 0, ms(d->cfg.poll_s));
	dmn_kick(d);
	return 0;
}

void dmn_free(dmn *d)
{
	size_t i;

	for (i = 0; i < d->nremotes; i++)
		remote_free(d->remotes[i]);
	free(d->remotes);
	ssync_status_watch_free(d->watch);
	free(d->home);
	free(d->cli);
	free(d->config_path);
	free(d->sock_path);
	free(d->child_pidfile);
	memset(d, 0, sizeof(*d));
}
