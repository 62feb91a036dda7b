/* schoolsyncd internals shared by the daemon/ sources. Not installed, not public.
 *
 * Ownership (STYLE §4): every uv handle below is embedded in the struct that
 * owns it, and that struct is freed only after the handle's close callback
 * ran. The loop thread owns all of this state; worker threads (uv_queue_work)
 * touch only the data of their own request. */
#ifndef SSYNCD_DAEMON_H
#define SSYNCD_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "schoolsync/sched.h"
#include "schoolsync/status.h"
#include "schoolsync/sync.h"
#include "schoolsync/web.h"

/* ---- log.c: levels to stderr or syslog ---- */
enum { DMN_LOG_ERROR = 0, DMN_LOG_WARN = 1, DMN_LOG_INFO = 2, DMN_LOG_DEBUG = 3 };
void dmn_log_setup(int level, int use_syslog);
void dmn_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int dmn_log_level_parse(const char *s); /* -1 if unknown */
const char *dmn_log_level_name(int level);
/* Tell systemd (Type=notify) about our state; no-op without $NOTIFY_SOCKET. */
void dmn_sd_notify(const char *state);

/* ---- config.c: HOME/config.json ---- */
typedef struct dmn_config {
	double sync_interval_s; /* periodic round per remote */
	double debounce_s;      /* quiet time after a local write before syncing */
	double deadline_s;      /* hard limit on one sync process */
	double backoff_base_s;  /* first retry delay after a failure */
	double backoff_max_s;   /* retry delay cap */
	double kill_grace_s;    /* SIGTERM -> SIGKILL */
	double stop_grace_s;    /* on daemon stop: time a running sync gets to finish */
	double poll_s;          /* local-write detection period */
	int log_level;
	int use_syslog;
	/* "web": the console (docs/WEB.md); web_port -1 = not started with the daemon */
	int web_port;
	char web_bind[64];      /* "" = 127.0.0.1 */
	int web_allow_remote;
	double web_idle_s;      /* session idle expiry; 0 = the library's 1800 s */
} dmn_config;

void dmn_config_defaults(dmn_config *c);
/* Load @p path into *c. A missing file gives the defaults. On error *c is
 * left unchanged and @p errbuf says which line/column/key is wrong. */
int dmn_config_load(dmn_config *c, const char *path, char *errbuf, size_t errlen);
/* Keys of @p path nobody in schoolsync knows (misspellings): their number,
 * and one sentence naming them and the closest known key in errbuf. */
int dmn_config_unknown(const char *path, char *errbuf, size_t errlen);

/* ---- job.c: one supervised child process ---- */
typedef struct dmn_job dmn_job;
typedef struct dmn_job_result {
	int64_t exit_status;  /* valid when term_signal == 0 */
	int term_signal;      /* signal that ended it, 0 if it exited */
	int timed_out;        /* we killed it at the deadline */
	int stopped;          /* we killed it because the daemon is stopping */
	int spawn_error;      /* uv error if it could not start (then nothing ran) */
	const char *out;      /* stdout, NUL-terminated (first 256 KiB) */
	size_t out_len;
	const char *errout;   /* stderr, NUL-terminated (last 64 KiB) */
	size_t err_len;
	double seconds;       /* wall time from spawn to exit */
} dmn_job_result;
typedef void (*dmn_job_cb)(const dmn_job_result *res, void *payload);

/* Start argv[0] with argv; the callback runs exactly once (also on spawn
 * failure, from the loop), then the job frees itself. The child runs in its
 * own session (UV_PROCESS_DETACHED), so a kill reaches its whole group.
 * @p pidfile, if not NULL, holds the child's pid while it runs. */
int dmn_job_start(dmn_job **out, uv_loop_t *loop, const char *const *argv,
	double deadline_s, double kill_grace_s, const char *pidfile,
	dmn_job_cb cb, void *payload);
/* Ask it to end now: SIGTERM to the group, SIGKILL after the grace. */
void dmn_job_stop(dmn_job *job);
/* Stop it if it is still running after @p after_s seconds. */
void dmn_job_stop_after(dmn_job *job, double after_s);
int dmn_job_pid(const dmn_job *job);

/* ---- the daemon's state (loop.c owns it; docs/ARCHITECTURE.md "daemon/") ---- */
#define DMN_INTERVAL_JITTER 0.1  /* periodic rounds spread +-10 % */

typedef struct dmn_remote {
	char *name;
	char *url;
	int listed;              /* in the latest `remote list` */
	ssync_sched_slot s;      /* its schedule (schoolsync/sched.h): due, failures, backoff */
	uint64_t completed;      /* rounds finished, success or not */
	uint64_t run_seq;        /* d->rounds_started when its latest round started */
	uint64_t done_seq;       /* run_seq of its latest finished round; 0 = none */
	uint64_t ok_rounds, failed_rounds;
	int64_t last_attempt, last_success, last_error_at; /* unix seconds, 0 = never */
	char last_error_code[32];
	char last_error_msg[512];
	double last_seconds;
	ssync_sync_report last_report; /* of the last success, when has_report */
	int has_report;
} dmn_remote;

typedef struct dmn dmn;
typedef struct dmn_client dmn_client;

struct dmn {
	uv_loop_t *loop;
	char *home;
	char *cli;               /* the schoolsync binary */
	char *config_path;
	char *sock_path;
	char *child_pidfile;
	dmn_config cfg;
	int64_t started;         /* unix seconds */

	dmn_remote **remotes;
	size_t nremotes;
	ssync_sched_slot list;   /* the `remote list` refresh, scheduled like a remote */
	int remotes_known;       /* a `remote list` has succeeded */
	uint64_t list_gen;       /* `remote list` runs finished, success or not */

	uint64_t rounds_started; /* sync rounds started, all remotes (orders rounds
	                          * against sync-now requests) */

	dmn_job *job;            /* at most one child at a time */
	int job_is_list;
	dmn_remote **job_remotes; /* the remotes of the running sync child (it syncs them side by side) */
	size_t njob_remotes;
	char job_names[512];     /* their names, comma-separated (log, status "busy") */

	uv_timer_t sched;        /* next due attempt */
	uv_timer_t debounce;     /* fires debounce_s after the last local write */
	uv_timer_t poll;         /* local-write detection */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_pipe_t server;
	int server_open;

	/* Local-write watcher; used only from the poll worker. */
	ssync_status_watch *watch;
	uv_work_t poll_work;
	int poll_busy;
	int poll_rc;
	int64_t poll_head;
	char poll_err[512];
	char poll_last_err[512]; /* last one logged (loop thread) */
	int64_t own_head;
	int head_known;
	uint64_t burst_start;    /* loop ms of the first write not yet synced; 0 = none */

	ssync_web *web;          /* the web console, once started (config or web-login) */

	dmn_client *clients;     /* open control connections */
	int nclients;

	int stopping;            /* SIGTERM/SIGINT seen */
	int closed;              /* every handle closed */
	int exit_code;

	/* Filled in by loop.c, so that rounds.c knows neither the control
	 * socket nor the shutdown (no circle between the files). */
	void (*round_done)(dmn *d);  /* a round or a list run ended */
	void (*idle_stop)(dmn *d);   /* stopping, and no child runs any more */
};

/* The loop's clock, in ms; the scheduler gets it injected. */
static inline uint64_t dmn_now(dmn *d)
{
	uv_update_time(d->loop);
	return uv_now(d->loop);
}

static inline ssync_sched_cfg dmn_sched_cfg(const dmn_config *c)
{
	ssync_sched_cfg s = { c->sync_interval_s, c->debounce_s, c->backoff_base_s, c->backoff_max_s,
		DMN_INTERVAL_JITTER };
	return s;
}

/* ---- remotes.c: the remotes of the latest `remote list` ---- */
dmn_remote *dmn_remote_find(dmn *d, const char *name);
/* Apply a `remote list --json` array: keep the state of remotes still
 * listed, add new ones (due at @p now), drop the others. */
int dmn_remotes_update(dmn *d, json_t *arr, uint64_t now);
void dmn_remotes_free(dmn *d);

/* ---- status_json.c: the daemon's part of the status answer ---- */
json_t *dmn_remotes_json(dmn *d);
json_t *dmn_daemon_json(dmn *d);
json_t *dmn_report_json(const ssync_sync_report *rep); /* the library's form; json null if out of memory */

/* ---- rounds.c: start what is due, one child at a time; a sync child
 * takes every remote due at that moment and syncs them side by side ---- */
void dmn_kick(dmn *d);           /* start what is due, re-arm the scheduler */
/* sync-now: every remote due now (and a list refresh first); the names queued (a JSON array) */
json_t *dmn_sync_now(dmn *d);

/* ---- writes.c: local writes start a debounced round ---- */
void dmn_writes_start(dmn *d);   /* (re)start the poll timer at cfg.poll_s */

/* ---- control.c: HOME/control.sock ---- */
int dmn_control_open(dmn *d);
void dmn_control_close(dmn *d);
void dmn_control_round_done(dmn *d); /* answer sync-now waiters whose rounds are done */

/* ---- web.c: the web console (schoolsync/web.h) ---- */
/* Start it if it is not running: @p port -1 / @p bind "" = from the config.
 * 0, or an SSYNC_E* code (logged, and said in errbuf). */
int dmn_web_start(dmn *d, int port, const char *bind, char *errbuf, size_t errlen);
json_t *dmn_web_json(dmn *d);    /* {"port","bind","url"} or null, for status */
void dmn_web_stop(dmn *d);

/* ---- loop.c: lifecycle and signals ---- */
int dmn_init(dmn *d, uv_loop_t *loop, const char *home, const char *cli, const dmn_config *cfg);
int dmn_start(dmn *d);           /* control socket, signals, timers */
void dmn_free(dmn *d);           /* after uv_run has returned */

#endif
