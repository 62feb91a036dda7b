/* schoolsyncd's loop: a scheduler and supervisor, not a second copy of the
 * sync logic (DESIGN §3 "Daemon"). This file wires the parts together and
 * owns the lifecycle and the signals:
 *
 *   remotes.c      the remotes of the latest `remote list`
 *   status_json.c  the daemon's part of a status answer
 *   rounds.c       what is due (schoolsync/sched.h decides), run as children (job.c)
 *   writes.c       local writes start a debounced round
 *   control.c      HOME/control.sock (schoolsync/control.h)
 *
 * Per remote: next_due (loop clock), consecutive failures and the backoff
 * chosen from them (equal jitter, capped). A success resets the backoff and
 * schedules the next periodic round (interval +-10 %). A local write starts
 * a debounce; when it fires, every remote that is not backing off is due
 * now. `sync-now` makes every remote due now, backoff or not.
 *
 * Stopping (SIGTERM/SIGINT): no new rounds; a running round gets
 * stop_grace_s to finish, then SIGTERM, then SIGKILL; a second signal stops
 * it at once. Everything a round does commits atomically (SQLite
 * transactions, compare-and-swap ref updates), so a killed round leaves the
 * replica and repository consistent and the next round resumes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "daemon.h"
#include "schoolsync/home.h"

static void on_closed(uv_handle_t *h)
{
	(void)h; /* handles embedded in dmn: freed with it after uv_run */
}

static void close_all(dmn *d)
{
	if (d->closed)
		return;
	d->closed = 1;
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
			strsignal(signum), d->job_names, dmn_job_pid(d->job), d->cfg.stop_grace_s);
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
	ssync_sched_cfg sc;
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
	/* New intervals take effect now, not after the old ones ran out. */
	now = dmn_now(d);
	sc = dmn_sched_cfg(&c);
	for (i = 0; i < d->nremotes; i++)
		ssync_sched_reloaded(&d->remotes[i]->s, &sc, now, randombytes_random());
	dmn_writes_start(d);
	d->list.want_now = 1; /* remotes may have changed too */
	dmn_log(DMN_LOG_INFO, "settings reloaded: interval %g s, debounce %g s, deadline %g s, backoff %g..%g s, log %s%s",
		c.sync_interval_s, c.debounce_s, c.deadline_s, c.backoff_base_s, c.backoff_max_s,
		dmn_log_level_name(c.log_level), c.use_syslog ? " (syslog)" : "");
	dmn_sd_notify("READY=1");
	dmn_kick(d);
}

int dmn_init(dmn *d, uv_loop_t *loop, const char *home, const char *cli, const dmn_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->cfg = *cfg;
	d->started = (int64_t)time(NULL);
	d->list.want_now = 1; /* the remotes are not known yet */
	d->round_done = dmn_control_round_done;
	d->idle_stop = close_all;
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
	if (d->cfg.web_port >= 0) {
		/* a console that cannot listen is logged; syncing goes on */
		char errbuf[600];
		(void)dmn_web_start(d, -1, NULL, errbuf, sizeof(errbuf));
	}
	dmn_writes_start(d);
	dmn_kick(d);
	return 0;
}

void dmn_free(dmn *d)
{
	/* after the loop: the control socket is gone, so a console request
	 * asking it for status falls back to the replica at once */
	dmn_web_stop(d);
	dmn_remotes_free(d);
	free(d->job_remotes);
	d->job_remotes = NULL;
	ssync_status_watch_free(d->watch);
	free(d->home);
	free(d->cli);
	free(d->config_path);
	free(d->sock_path);
	free(d->child_pidfile);
	memset(d, 0, sizeof(*d));
}
