/* The daemon's rounds: it asks the scheduler (schoolsync/sched.h) what is
 * due, runs it as a supervised child (job.c), and feeds the outcome back.
 *
 * Every sync round is a child process, `schoolsync --home H sync --remote R
 * --json`, with a hard deadline; the remote list comes from `schoolsync
 * remote list --json`. Both print the library's documented forms
 * (docs/CONTROL.md §3-4), read back with the library's decoders. One child
 * at a time (rounds share the replica's write lock), but a sync child takes
 * every remote due when it starts, `sync --remote A,B --timeout T`, and
 * runs their transfers side by side: a dead remote is given up after T
 * while the others finish (issue 13). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "schoolsync/control.h"

static void on_list_done(const dmn_job_result *res, void *payload);
static void on_sync_done(const dmn_job_result *res, void *payload);
static const ssync_sched_slot *slot_at(const void *set, size_t i);

/* After a child ended: start what is due next, or finish stopping; then
 * tell whoever waits for rounds. */
static void after_child(dmn *d)
{
	if (d->stopping) {
		if (d->idle_stop)
			d->idle_stop(d);
	} else {
		dmn_kick(d);
	}
	if (d->round_done)
		d->round_done(d);
}

static void child_error(const dmn_job_result *res, char *code, size_t clen, char *msg, size_t mlen)
{
	ssync_error e;
	int found = ssync_error_parse_output(&e, res->errout, res->err_len) == 0;

	snprintf(code, clen, "%s", found ? ssync_error_name(e.code) : res->exit_status == 2 ? "E_USAGE" : "E_ERROR");
	if (e.message[0])
		snprintf(msg, mlen, "%s", e.message);
	else if (found)
		snprintf(msg, mlen, "(no message)");
	else
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

static int start_job(dmn *d, const char *const *argv, double deadline, int is_list)
{
	int rc = dmn_job_start(&d->job, d->loop, argv, deadline, d->cfg.kill_grace_s,
		is_list ? NULL : d->child_pidfile, is_list ? on_list_done : on_sync_done, d);

	if (rc != 0) {
		dmn_log(DMN_LOG_ERROR, "cannot start %s: %s", argv[0], uv_strerror(rc));
		d->job = NULL;
		return -1;
	}
	d->job_is_list = is_list;
	return 0;
}

/* ------------------------------------------------------------ remote list */

static void list_failed(dmn *d, uint64_t now, const char *code, const char *msg)
{
	ssync_sched_cfg sc = dmn_sched_cfg(&d->cfg);

	ssync_sched_failed(&d->list, &sc, now, randombytes_random());
	dmn_log(DMN_LOG_ERROR, "cannot list remotes [%s]: %s; retry in %.1f s", code, msg, d->list.backoff_s);
}

static int start_list(dmn *d)
{
	const char *argv[] = { d->cli, "--home", d->home, "remote", "list", "--json", NULL };

	dmn_log(DMN_LOG_DEBUG, "listing remotes");
	ssync_sched_started(&d->list);
	if (start_job(d, argv, SSYNC_CONTROL_LIST_DEADLINE_S, 1) < 0) {
		list_failed(d, dmn_now(d), "E_ERROR", "cannot start the schoolsync binary");
		return -1;
	}
	return 0;
}

static void on_list_done(const dmn_job_result *res, void *payload)
{
	dmn *d = payload;
	char code[32], msg[512];
	json_t *arr = NULL;
	uint64_t now = dmn_now(d);

	d->job = NULL;
	d->list_gen++;
	if (child_outcome(d, res, "remote list", code, sizeof(code), msg, sizeof(msg))) {
		json_error_t jerr;
		if (!(arr = json_loadb(res->out, res->out_len, 0, &jerr)) || !json_is_array(arr)) {
			snprintf(code, sizeof(code), "E_SCHEMA");
			snprintf(msg, sizeof(msg), "remote list printed no JSON array (%s)", arr ? "not an array" : jerr.text);
		} else if (dmn_remotes_update(d, arr, now) == 0) {
			if (!d->remotes_known || d->list.failures)
				dmn_log(DMN_LOG_INFO, "%zu remote(s) configured", d->nremotes);
			if (d->nremotes == 0 && (!d->remotes_known || d->list.failures))
				dmn_log(DMN_LOG_WARN, "no remotes configured: add one with 'schoolsync --home %s remote add NAME URL', then 'kill -HUP %ld'",
					d->home, (long)getpid());
			d->remotes_known = 1;
			ssync_sched_cfg sc = dmn_sched_cfg(&d->cfg);
			ssync_sched_listed(&d->list, &sc, now);
			json_decref(arr);
			after_child(d);
			return;
		} else {
			snprintf(code, sizeof(code), "E_ERROR");
			snprintf(msg, sizeof(msg), "out of memory");
		}
	}
	json_decref(arr);
	list_failed(d, now, code, msg);
	after_child(d);
}

/* ------------------------------------------------------------ sync rounds */

/* A transfer's share of the child's hard deadline: a fetch and a push of
 * one remote, with the apply between them, fit in deadline_s. */
static double transfer_timeout(const dmn_config *c)
{
	double t = c->deadline_s / 3;

	return t < 0.5 ? 0.5 : t;
}

/* Start one child for @p first and every other remote due now. */
static int start_sync(dmn *d, dmn_remote *first, uint64_t now)
{
	char timeout[32];
	const char *argv[] = { d->cli, "--home", d->home, "sync", "--remote", d->job_names, "--timeout", timeout,
		"--json", NULL };
	size_t i, len = 0;
	uint64_t wake;
	long pick;

	free(d->job_remotes);
	d->njob_remotes = 0;
	if (!(d->job_remotes = calloc(d->nremotes ? d->nremotes : 1, sizeof(*d->job_remotes))))
		return -1;
	d->job_names[0] = 0;
	for (pick = -1; ; pick = ssync_sched_next(&d->list, 0, d->remotes, d->nremotes, slot_at, now, &wake)) {
		dmn_remote *r = pick < 0 ? first : d->remotes[pick];
		size_t nl;
		if (pick < 0 && d->njob_remotes > 0)
			break;
		nl = strlen(r->name);
		if (d->njob_remotes > 0 && len + 1 + nl >= sizeof(d->job_names))
			break; /* the rest next time */
		len += (size_t)snprintf(d->job_names + len, sizeof(d->job_names) - len, "%s%s", len ? "," : "", r->name);
		d->job_remotes[d->njob_remotes++] = r;
		ssync_sched_started(&r->s);
		r->last_attempt = (int64_t)time(NULL);
		r->run_seq = ++d->rounds_started;
		dmn_log(DMN_LOG_DEBUG, "sync with %s: starting (attempt after %u failure(s))", r->name, r->s.failures);
	}
	snprintf(timeout, sizeof(timeout), "%g", transfer_timeout(&d->cfg));
	if (start_job(d, argv, d->cfg.deadline_s, 0) < 0) {
		ssync_sched_cfg sc = dmn_sched_cfg(&d->cfg);
		for (i = 0; i < d->njob_remotes; i++)
			ssync_sched_failed(&d->job_remotes[i]->s, &sc, dmn_now(d), randombytes_random());
		d->njob_remotes = 0;
		return -1;
	}
	return 0;
}

static void report_summary(const ssync_sync_report *rep, char *buf, size_t n)
{
	snprintf(buf, n, "sealed %lld, received %lld, applied %lld, quarantined %lld, pushed %d ref(s)",
		(long long)rep->sealed, (long long)rep->received, (long long)rep->applied,
		(long long)rep->quarantined, rep->pushed_refs);
}

static void remote_ok(dmn *d, dmn_remote *r, const ssync_sync_report *rep, double seconds, uint64_t now)
{
	ssync_sched_cfg sc = dmn_sched_cfg(&d->cfg);
	char sum[256] = "no report";

	r->last_seconds = seconds;
	if (rep) {
		r->last_report = *rep;
		r->has_report = 1;
		r->last_seconds = rep->seconds;
		report_summary(rep, sum, sizeof(sum));
	} else {
		r->has_report = 0;
		dmn_log(DMN_LOG_WARN, "sync with %s succeeded but printed no report", r->name);
	}
	if (r->s.failures)
		dmn_log(DMN_LOG_INFO, "sync with %s: reachable again after %u failed attempt(s)", r->name, r->s.failures);
	dmn_log(DMN_LOG_INFO, "sync with %s ok in %.2f s: %s", r->name, r->last_seconds, sum);
	/* exit 3 (docs/OPERATIONS.md §6): done, but someone must look */
	if (rep && (rep->quarantined || rep->held || rep->rewritten_refs))
		dmn_log(DMN_LOG_WARN, "sync with %s: %lld entr%s quarantined, %lld held back, %d rewritten branch(es) "
			"refused: see 'schoolsync quarantine'", r->name, (long long)rep->quarantined,
			rep->quarantined == 1 ? "y" : "ies", (long long)rep->held, rep->rewritten_refs);
	r->ok_rounds++;
	r->last_success = (int64_t)time(NULL);
	ssync_sched_succeeded(&r->s, &sc, now, randombytes_random());
}

static void remote_failed(dmn *d, dmn_remote *r, const char *code, const char *msg, double seconds, int stopped,
	uint64_t now)
{
	ssync_sched_cfg sc = dmn_sched_cfg(&d->cfg);

	r->last_seconds = seconds;
	r->failed_rounds++;
	ssync_sched_failed(&r->s, &sc, now, randombytes_random());
	r->last_error_at = (int64_t)time(NULL);
	snprintf(r->last_error_code, sizeof(r->last_error_code), "%s", code);
	snprintf(r->last_error_msg, sizeof(r->last_error_msg), "%s", msg);
	dmn_log(stopped ? DMN_LOG_INFO : DMN_LOG_WARN, "sync with %s failed [%s] after %.2f s: %s",
		r->name, code, seconds, msg);
	if (!d->stopping)
		dmn_log(DMN_LOG_INFO, "sync with %s: retry in %.1f s (failure %u in a row)", r->name,
			r->s.backoff_s, r->s.failures);
}

static long job_index(dmn *d, const char *name)
{
	size_t i;

	for (i = 0; name && i < d->njob_remotes; i++)
		if (strcmp(d->job_remotes[i]->name, name) == 0)
			return (long)i;
	return -1;
}

/*
 * What the child said about each remote: stdout holds the reports of those
 * that synced (one object, or an array), stderr one error object with
 * "remote" per remote that failed (docs/CONTROL.md §3-4). A remote named
 * in neither shares the child's own outcome.
 */
static void on_sync_done(const dmn_job_result *res, void *payload)
{
	dmn *d = payload;
	char code[32], msg[512];
	uint64_t now = dmn_now(d);
	int *done = calloc(d->njob_remotes ? d->njob_remotes : 1, sizeof(int));
	int exited = !res->spawn_error && !res->timed_out && !res->stopped && !res->term_signal;
	size_t i;

	d->job = NULL;
	for (i = 0; i < d->njob_remotes; i++) {
		d->job_remotes[i]->completed++;
		d->job_remotes[i]->done_seq = d->job_remotes[i]->run_seq;
	}
	if (done && exited) {
		json_error_t jerr;
		json_t *out = res->out_len ? json_loadb(res->out, res->out_len, 0, &jerr) : NULL;
		const char *line = res->errout, *end = res->errout + res->err_len;
		size_t k;

		for (k = 0; out && k < (json_is_array(out) ? json_array_size(out) : 1); k++) {
			json_t *o = json_is_array(out) ? json_array_get(out, k) : out;
			char *txt = json_dumps(o, JSON_COMPACT);
			ssync_sync_report rep;
			ssync_error perr;
			long at;
			ssync_error_clear(&perr);
			if (txt && ssync_sync_report_parse(&rep, txt, strlen(txt), &perr) == 0 &&
			    (at = job_index(d, rep.remote)) >= 0 && !done[at]) {
				done[at] = 1;
				remote_ok(d, d->job_remotes[at], &rep, res->seconds, now);
			} else if (txt) {
				dmn_log(DMN_LOG_WARN, "sync printed a report that does not parse: %s", perr.message);
			}
			free(txt);
		}
		json_decref(out);
		while (line && line < end) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
			json_t *o;
			long at;
			if (len && line[0] == '{' && (o = json_loadb(line, len, 0, &jerr))) {
				ssync_error e;
				if ((at = job_index(d, json_string_value(json_object_get(o, "remote")))) >= 0 && !done[at] &&
				    ssync_error_parse_json(&e, line, len) == 0) {
					done[at] = 1;
					remote_failed(d, d->job_remotes[at], ssync_error_name(e.code), e.message, res->seconds, 0,
						now);
				}
				json_decref(o);
			}
			line = nl ? nl + 1 : end;
		}
	}
	/* The rest: the child's outcome (killed at the deadline, stopped, or an
	 * error before any remote ran). Exit 3 is a success that needs a look. */
	if (exited && (res->exit_status == 0 || res->exit_status == 3)) {
		for (i = 0; i < d->njob_remotes; i++)
			if (!done || !done[i])
				remote_ok(d, d->job_remotes[i], NULL, res->seconds, now);
	} else {
		dmn_job_result r2 = *res;
		if (exited && r2.exit_status == 3)
			r2.exit_status = 1;
		(void)child_outcome(d, &r2, "sync", code, sizeof(code), msg, sizeof(msg)); /* not a success here */
		for (i = 0; i < d->njob_remotes; i++)
			if (!done || !done[i])
				remote_failed(d, d->job_remotes[i], code, msg, res->seconds, res->stopped, now);
	}
	free(done);
	d->njob_remotes = 0;
	d->job_names[0] = 0;
	after_child(d);
}

/* -------------------------------------------------------------- scheduler */

static void on_sched(uv_timer_t *t)
{
	dmn_kick(t->data);
}

static const ssync_sched_slot *slot_at(const void *set, size_t i)
{
	dmn_remote *const *remotes = set;

	return &remotes[i]->s;
}

void dmn_kick(dmn *d)
{
	uint64_t now, wake = UINT64_MAX;
	int need_list = 1, failed_start = 0;
	long pick;

	if (d->stopping || d->job)
		return;
	now = dmn_now(d);
	/* At most one start attempt per slot: one that cannot start is
	 * backing off when it is asked again. */
	for (;;) {
		pick = ssync_sched_next(&d->list, need_list, d->remotes, d->nremotes, slot_at, now, &wake);
		if (pick == SSYNC_SCHED_LIST) {
			if (start_list(d) == 0)
				return;
			need_list = 0;
			failed_start = 1;
			continue;
		}
		if (pick >= 0) {
			if (start_sync(d, d->remotes[pick], now) == 0)
				return;
			failed_start = 1;
			continue;
		}
		break;
	}
	if (failed_start && wake < now + 1000)
		wake = now + 1000; /* could not start a child: not in a tight loop */
	if (!need_list && d->list.next_due < wake)
		wake = d->list.next_due;
	if (wake != UINT64_MAX)
		uv_timer_start(&d->sched, on_sched, wake > now ? wake - now : 0, 0);
	else
		uv_timer_stop(&d->sched);
}

json_t *dmn_sync_now(dmn *d)
{
	json_t *names = json_array();
	size_t i;

	for (i = 0; i < d->nremotes; i++) {
		d->remotes[i]->s.want_now = 1;
		json_array_append_new(names, json_string(d->remotes[i]->name));
	}
	dmn_log(DMN_LOG_INFO, "sync now requested");
	/* An operator who just added a remote expects it to be included. */
	d->list.want_now = 1;
	dmn_kick(d);
	return names;
}
