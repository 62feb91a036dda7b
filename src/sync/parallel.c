/*
 * The remotes of one sync round side by side (issue 13): each remote's
 * fetch and push run on a thread of its own with its own libgit2
 * repository handle (libgit2 is thread-safe with separate objects), while
 * verifying and applying into the replica stays on the caller's thread, one
 * remote at a time, in the order the fetches end. A dead remote costs the
 * others nothing: its transfer is given up at its deadline and the round
 * goes on without it.
 *
 * Invariants: a remote's thread touches only its round's repository handle,
 * transfer options and the network (sync_int.h, ssync_sync__round); the
 * replica and the node are the caller's alone. A job's fields shared with
 * its thread are guarded by the run's mutex. A thread whose transfer is
 * given up is detached and frees its job itself; the mutex outlives the
 * run until the last thread has let go of it (refs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "schoolsync/node.h"
#include "privacy_int.h"
#include "sync_int.h"

enum { OP_NONE, OP_FETCH, OP_PUSH, OP_QUIT };
/* Where a remote stands, as the caller sees it. */
enum { PH_FETCH, PH_PUSH, PH_IDLE, PH_RELAY, PH_GONE };

typedef struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;                 /* the caller + threads still running */
} shared;

typedef struct rjob {
	shared *sh;
	ssync_sync__round r;
	/* under sh->mu */
	int req;                  /* what the thread is asked to do next */
	int ready;                /* the operation whose result waits (OP_FETCH/OP_PUSH) */
	int rc;
	ssync_error e;
	int cancel;               /* the transfer should stop at its next progress */
	int abandoned;            /* given up: the thread frees the job */
	double deadline;          /* monotonic seconds; 0 = none */
	ssync_transfer_progress prog;
	/* the caller's */
	pthread_t th;
	int started;
	int phase;
	int stale;                /* heads moved while it pushed: push again */
	int ok;                   /* reported as a success */
} rjob;

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void shared_release(shared *sh)
{
	int last;

	pthread_mutex_lock(&sh->mu);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->mu);
	if (last) {
		pthread_cond_destroy(&sh->cv);
		pthread_mutex_destroy(&sh->mu);
		free(sh);
	}
}

/* The remote's thread: libgit2 calls this while data moves. */
static int job_progress(const ssync_transfer_progress *p, void *payload)
{
	rjob *j = payload;
	int stop;

	pthread_mutex_lock(&j->sh->mu);
	j->prog = *p;
	stop = j->cancel || (j->deadline > 0 && mono_s() > j->deadline);
	pthread_mutex_unlock(&j->sh->mu);
	return stop ? -1 : 0;
}

static void *job_main(void *arg)
{
	rjob *j = arg;
	shared *sh = j->sh;
	int op, rc, mine;
	ssync_error e;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		while (j->req == OP_NONE && !j->abandoned)
			pthread_cond_wait(&sh->cv, &sh->mu);
		if (j->req == OP_QUIT || j->abandoned)
			break;
		op = j->req;
		j->req = OP_NONE;
		pthread_mutex_unlock(&sh->mu);
		ssync_error_clear(&e);
		rc = op == OP_FETCH ? ssync_sync__round_fetch(&j->r, &e) : ssync_sync__round_push(&j->r, &e);
		pthread_mutex_lock(&sh->mu);
		j->rc = rc;
		j->e = e;
		j->ready = op;
		pthread_cond_broadcast(&sh->cv);
	}
	mine = j->abandoned;
	pthread_mutex_unlock(&sh->mu);
	if (mine) {
		ssync_sync__round_close(&j->r);
		free(j);
	}
	shared_release(sh);
	return NULL;
}

/* Ask the job's thread for @p op (caller; lock not held). */
static void job_request(rjob *j, int op, double timeout_s)
{
	pthread_mutex_lock(&j->sh->mu);
	j->req = op;
	j->cancel = 0;
	j->deadline = timeout_s > 0 ? mono_s() + timeout_s : 0;
	pthread_cond_broadcast(&j->sh->cv);
	pthread_mutex_unlock(&j->sh->mu);
}

typedef struct digest_ctx { crypto_generichash_state st; } digest_ctx;

static int digest_ref(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	digest_ctx *d = payload;

	crypto_generichash_update(&d->st, (const unsigned char *)ref, strlen(ref) + 1);
	crypto_generichash_update(&d->st, (const unsigned char *)tip->hex, strlen(tip->hex) + 1);
	return 0;
}

/* A digest of every local branch tip: did an apply or a seal move one? */
static int heads_digest(ssync_exchange *ex, unsigned char out[32], ssync_error *err)
{
	digest_ctx d;
	int error;

	crypto_generichash_init(&d.st, NULL, 0, 32);
	if ((error = ssync_exchange_refs(ex, "refs/heads/", digest_ref, &d, err)) < 0)
		return error;
	crypto_generichash_final(&d.st, out, 32);
	return 0;
}

typedef struct run {
	ssync_node *n;
	const ssync_sync_opts *opts;
	ssync_sync_remote_cb cb;
	void *payload;
	double timeout_s;
	rjob **jobs;
	size_t njobs;
	unsigned char heads[32];
	ssync_exchange *ex;       /* the caller's own handle, for the digest */
	shared *sh;
} run;

static void report(run *ru, rjob *j, int rc, const ssync_error *e)
{
	j->r.rep.seconds = mono_s() - j->r.t0;
	j->ok = rc == 0;
	ru->cb(&j->r.rep, rc, e, ru->payload);
}

/* A remote that failed: reported once; its thread (if any) quits at the end. */
static void fail(run *ru, rjob *j, int rc, const ssync_error *e)
{
	j->phase = PH_GONE;
	report(ru, j, rc, e);
}

/* Its deadline passed with the transfer still running: give it up. */
static void give_up(run *ru, rjob *j, int user_cancel)
{
	ssync_sync_report rep = j->r.rep; /* the thread does not touch rep */
	ssync_error e;
	const char *what = j->phase == PH_FETCH ? "fetch" : "push";

	ssync_error_clear(&e);
	if (user_cancel) {
		ssync_error_set(&e, SSYNC_ECANCELLED, "sync with %s cancelled during its %s", j->r.remote, what);
	} else {
		ssync_error_set(&e, SSYNC_ECANCELLED, "remote %s gave no result within %g s: its %s was given up "
			"(the other remotes went on)", j->r.remote, ru->timeout_s, what);
		ssync_error_hint(&e, "check the link to %s (a server that accepts and then hangs looks like this); "
			"if the transfer really needs longer, raise --timeout (daemon: deadline_s)", j->r.remote);
	}
	rep.seconds = mono_s() - j->r.t0;
	pthread_mutex_lock(&j->sh->mu);
	j->abandoned = 1;
	j->cancel = 1;
	pthread_cond_broadcast(&j->sh->cv);
	pthread_mutex_unlock(&j->sh->mu);
	(void)pthread_detach(j->th);
	j->started = 0;
	j->phase = PH_GONE;
	j->ok = 0;
	ru->cb(&rep, SSYNC_ECANCELLED, &e, ru->payload);
}

/* After an apply or a seal moved local branches: remotes already served
 * are behind on them; push again (the relay a sequential round gave). */
static void heads_moved(run *ru)
{
	size_t i;
	ssync_error e;

	for (i = 0; i < ru->njobs; i++) {
		rjob *j = ru->jobs[i];
		if (!j || !j->r.will_push)
			continue;
		if (j->phase == PH_PUSH || j->phase == PH_RELAY) {
			j->stale = 1;
		} else if (j->phase == PH_IDLE) {
			ssync_error_clear(&e);
			if (ssync_sync__round_collect(ru->n, &j->r, &e) == 0 && j->r.npush > 0) {
				j->phase = PH_RELAY;
				job_request(j, OP_PUSH, ru->timeout_s);
			}
		}
	}
}

/* The caller's share of a remote whose fetch or push just ended. */
static void step(run *ru, rjob *j, int op, int rc, const ssync_error *te)
{
	unsigned char now[32];
	ssync_error e;

	ssync_error_clear(&e);
	if (op == OP_FETCH) {
		if (rc < 0) {
			fail(ru, j, rc, te);
			return;
		}
		if ((rc = ssync_sync__round_apply(ru->n, &j->r, ru->opts, &e)) < 0) {
			fail(ru, j, rc, &e);
			return;
		}
		if (heads_digest(ru->ex, now, NULL) == 0 && memcmp(now, ru->heads, 32) != 0) {
			memcpy(ru->heads, now, 32);
			heads_moved(ru);
		}
		if (j->r.will_push) { /* also with no branch to push: key stores may be */
			j->phase = PH_PUSH;
			j->stale = 0;
			job_request(j, OP_PUSH, ru->timeout_s);
			return;
		}
		if ((rc = ssync_sync__round_finish(ru->n, &j->r, 0, NULL, &e)) < 0) {
			fail(ru, j, rc, &e);
			return;
		}
		j->phase = PH_IDLE;
		report(ru, j, 0, NULL);
		return;
	}
	if (j->phase == PH_PUSH) {
		j->r.rep.pushed_refs = rc < 0 ? 0 : (int)j->r.npush + j->r.keys_pushed;
		if ((rc = ssync_sync__round_finish(ru->n, &j->r, rc, te, &e)) < 0) {
			fail(ru, j, rc, &e);
			return;
		}
		j->phase = PH_IDLE;
		report(ru, j, 0, NULL);
	} else { /* a relay push: the remote was reported already */
		j->phase = PH_IDLE;
		if (rc < 0) {
			ssync_error re;
			ssync_error_clear(&re);
			j->phase = PH_GONE;
			ssync_error_set(&re, rc, "%s (pushing branches another remote brought)", te->message);
			snprintf(re.hint, sizeof(re.hint), "%s", te->hint);
			ru->cb(&j->r.rep, rc, &re, ru->payload);
			return;
		}
		j->r.rep.pushed_refs += (int)j->r.npush;
	}
	if (j->stale) {
		j->stale = 0;
		if (ssync_sync__round_collect(ru->n, &j->r, &e) == 0 && j->r.npush > 0) {
			j->phase = PH_RELAY;
			job_request(j, OP_PUSH, ru->timeout_s);
		}
	}
}

static int running(const rjob *j)
{
	return j && (j->phase == PH_FETCH || j->phase == PH_PUSH || j->phase == PH_RELAY);
}

/* Tell the user's progress callback how the transfers go; 1 to cancel. */
static int user_progress(run *ru)
{
	int64_t done = 0, total = 0;
	int fetching = 0;
	size_t i;

	if (!ru->opts || !ru->opts->progress)
		return 0;
	pthread_mutex_lock(&ru->sh->mu);
	for (i = 0; i < ru->njobs; i++) {
		rjob *j = ru->jobs[i];
		if (!running(j))
			continue;
		fetching |= j->phase == PH_FETCH;
		done += (int64_t)(j->phase == PH_FETCH ? j->prog.received_objects : j->prog.pushed_objects);
		total += (int64_t)j->prog.total_objects;
	}
	pthread_mutex_unlock(&ru->sh->mu);
	return ru->opts->progress(fetching ? "fetch" : "push", done, fetching ? total : 0, ru->opts->payload) != 0;
}

int ssync_sync_run_remotes(ssync_node *n, size_t nremotes, const char *const *remotes, const ssync_sync_opts *opts,
	ssync_sync_remote_cb cb, void *payload, ssync_error *err)
{
	run ru;
	shared *sh = NULL;
	int lockfd = -1, error = 0, cancelled = 0, abandoned = 0;
	size_t i;

	memset(&ru, 0, sizeof(ru));
	if (!cb || !remotes || nremotes == 0)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_sync_run_remotes: no remotes or no callback");
	ru.n = n;
	ru.opts = opts;
	ru.cb = cb;
	ru.payload = payload;
	ru.timeout_s = opts && opts->version >= 2 ? opts->timeout_s : 0;
	if ((error = ssync_sync__lock(n, &lockfd, err)) < 0)
		return error;
	/* Remote entries never apply under a trigger someone planted. */
	if ((error = ssync_store_schema_check(ssync_node_store(n), err)) < 0 ||
	    (error = ssync_node__exchange_open(n, 1, &ru.ex, err)) < 0 ||
	    (error = heads_digest(ru.ex, ru.heads, err)) < 0)
		goto done;
	if (!(sh = calloc(1, sizeof(*sh))) || !(ru.jobs = calloc(nremotes, sizeof(*ru.jobs)))) {
		free(sh);
		sh = NULL;
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (pthread_mutex_init(&sh->mu, NULL) != 0 || pthread_cond_init(&sh->cv, NULL) != 0) {
		free(sh);
		sh = NULL;
		error = ssync_error_set(err, SSYNC_ERROR, "out of resources (mutex)");
		goto done;
	}
	sh->refs = 1;
	ru.sh = sh;
	ru.njobs = nremotes;
	for (i = 0; i < nremotes; i++) {
		rjob *j = calloc(1, sizeof(*j));
		ssync_error e;
		int rc;

		size_t k;

		ssync_error_clear(&e);
		if (!j) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		/* a remote named twice is synced once: two threads would race
		 * for its tracking refs */
		for (k = 0; k < i && !(remotes[k] && remotes[i] && strcmp(remotes[k], remotes[i]) == 0); k++)
			;
		if (k < i) {
			free(j);
			continue;
		}
		ru.jobs[i] = j;
		j->sh = sh;
		j->phase = PH_GONE;
		if ((rc = ssync_sync__round_open(n, remotes[i], &j->r, &e)) < 0) {
			fail(&ru, j, rc, &e);
			continue;
		}
		j->r.topts.progress = job_progress;
		j->r.topts.payload = j;
		j->req = OP_FETCH;
		j->deadline = ru.timeout_s > 0 ? mono_s() + ru.timeout_s : 0;
		pthread_mutex_lock(&sh->mu);
		sh->refs++;
		pthread_mutex_unlock(&sh->mu);
		if (pthread_create(&j->th, NULL, job_main, j) != 0) {
			shared_release(sh);
			ssync_error_set(&e, SSYNC_ERROR, "cannot start a thread for remote %s", remotes[i]);
			fail(&ru, j, SSYNC_ERROR, &e);
			continue;
		}
		j->started = 1;
		j->phase = PH_FETCH;
	}
	for (;;) {
		rjob *pick = NULL, *late = NULL;
		double now, wake;
		int any = 0, op = 0, rc = 0;
		ssync_error te;

		pthread_mutex_lock(&sh->mu);
		for (;;) {
			now = mono_s();
			wake = now + 0.25; /* the user's progress (and cancel) every 250 ms */
			any = 0;
			for (i = 0; i < ru.njobs && !pick && !late; i++) {
				rjob *j = ru.jobs[i];
				if (!running(j))
					continue;
				any = 1;
				if (j->ready)
					pick = j;
				else if (cancelled || (j->deadline > 0 && now > j->deadline))
					late = j;
				else if (j->deadline > 0 && j->deadline < wake)
					wake = j->deadline + 0.001;
			}
			if (pick || late || !any)
				break;
			{
				struct timespec ts;
				double w = wake - now;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += (time_t)w;
				ts.tv_nsec += (long)((w - (double)(time_t)w) * 1e9);
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				(void)pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
			}
			pthread_mutex_unlock(&sh->mu);
			if (!cancelled && user_progress(&ru))
				cancelled = 1;
			pthread_mutex_lock(&sh->mu);
		}
		if (pick) {
			op = pick->ready;
			rc = pick->rc;
			te = pick->e;
			pick->ready = 0;
		}
		pthread_mutex_unlock(&sh->mu);
		if (!any)
			break;
		if (late) {
			abandoned = 1;
			give_up(&ru, late, cancelled);
			for (i = 0; i < ru.njobs; i++)
				if (ru.jobs[i] == late)
					ru.jobs[i] = NULL; /* the thread frees it */
			continue;
		}
		/* A transfer that stopped at its deadline by itself says "cancelled":
		 * say which deadline. */
		if (rc == SSYNC_ECANCELLED && pick->deadline > 0 && mono_s() > pick->deadline) {
			ssync_error_clear(&te);
			ssync_error_set(&te, SSYNC_ECANCELLED, "remote %s gave no result within %g s: its %s was given up "
				"(the other remotes went on)", pick->r.remote, ru.timeout_s, op == OP_FETCH ? "fetch" : "push");
		}
		step(&ru, pick, op, rc, &te);
	}
done:
	for (i = 0; i < ru.njobs; i++) {
		rjob *j = ru.jobs[i];
		if (!j)
			continue;
		if (j->started) {
			job_request(j, OP_QUIT, 0);
			(void)pthread_join(j->th, NULL);
		}
		ssync_sync__round_close(&j->r);
		free(j);
	}
	/* an erasure's old key stores out of git's objects (PRIVACY.md §4);
	 * not while a given-up transfer may still write objects here */
	if (error == 0 && !abandoned && !cancelled && ru.ex)
		error = ssync_privacy__purge(n, ru.ex, err);
	free(ru.jobs);
	if (sh)
		shared_release(sh);
	ssync_exchange_free(ru.ex);
	close(lockfd);
	return error;
}

typedef struct one { ssync_sync_report *rep; ssync_error *err; int rc; } one;

static void one_done(const ssync_sync_report *rep, int error, const ssync_error *e, void *payload)
{
	one *o = payload;

	*o->rep = *rep;
	if (error < 0 && o->rc == 0) {
		o->rc = error;
		if (o->err && e)
			*o->err = *e;
	}
}

int ssync_sync_run(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err)
{
	one o;
	int error;

	memset(rep, 0, sizeof(*rep));
	o.rep = rep;
	o.err = err;
	o.rc = 0;
	if (!ssync_node_remote_name_valid(remote))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", remote ? remote : "");
	if ((error = ssync_sync_run_remotes(n, 1, &remote, opts, one_done, &o, err)) < 0)
		return error;
	return o.rc;
}
