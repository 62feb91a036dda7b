/* HOME/control.sock: the daemon's control socket (Unix domain, owner only).
 *
 * Protocol (schoolsync/control.h, docs/CONTROL.md): the client sends one
 * JSON line, the daemon answers one JSON line and closes. The library reads
 * the requests and writes the failure answers; this file builds the
 * answers from the daemon's state.
 *
 * Security (tmux server.c / tmux.c habits): the home must be a directory we
 * own that no one else can write to; the socket is bound under umask 077 so
 * it is never, even briefly, reachable by others. A stale socket is removed
 * only because we hold the home's daemon lock.
 *
 * The status read runs on a worker thread (its own read-only connection),
 * so a slow disk never stalls the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "schoolsync/control.h"

#define MAX_CLIENTS 64
#define IDLE_MS 10000

struct dmn_client {
	dmn *d;
	uv_pipe_t pipe;
	uv_timer_t idle;
	uv_write_t wreq;
	uv_work_t work;
	char buf[SSYNC_CONTROL_LINE_MAX];
	size_t len;
	char *out;
	int open_handles;
	int closing;
	int work_pending;
	int got_line;
	int writing;
	/* status worker result */
	ssync_status *st;
	ssync_error err;
	int st_rc;
	/* sync-now --wait: answered when every target finished a round with
	 * run_seq > after_seq, i.e. one that started after the request. */
	int waiting;
	int await_list;          /* targets are set once this list run ends */
	uint64_t list_gen;
	uint64_t after_seq;      /* d->rounds_started when the request came */
	char **targets;          /* remote names */
	size_t ntargets;
	dmn_client *next;
};

static void client_unlink(dmn *d, dmn_client *c)
{
	dmn_client **pp;

	for (pp = &d->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			d->nclients--;
			return;
		}
}

static void client_free(dmn_client *c)
{
	size_t i;

	for (i = 0; i < c->ntargets; i++)
		free(c->targets[i]);
	free(c->targets);
	ssync_status_free(c->st);
	free(c->out);
	free(c);
}

static void client_closed(uv_handle_t *h)
{
	dmn_client *c = h->data;

	if (--c->open_handles == 0 && !c->work_pending)
		client_free(c);
}

static void client_close(dmn_client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->waiting = 0;
	client_unlink(c->d, c);
	uv_close((uv_handle_t *)&c->pipe, client_closed);
	uv_close((uv_handle_t *)&c->idle, client_closed);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	client_close(w->data);
}

/* Send one line and close; takes ownership of @p s (NULL: out of memory). */
static void reply_str(dmn_client *c, char *s)
{
	uv_buf_t b;
	size_t n;

	if (c->closing) {
		free(s);
		return;
	}
	if (!s) {
		client_close(c);
		return;
	}
	n = strlen(s);
	if (!(c->out = malloc(n + 2))) {
		free(s);
		client_close(c);
		return;
	}
	memcpy(c->out, s, n);
	free(s);
	c->out[n] = '\n';
	c->out[n + 1] = 0;
	b = uv_buf_init(c->out, (unsigned int)(n + 1));
	c->wreq.data = c;
	c->writing = 1;
	uv_timer_stop(&c->idle);
	if (uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0)
		client_close(c);
}

/* Send @p resp as one line and close; takes ownership of @p resp. */
static void reply(dmn_client *c, json_t *resp)
{
	char *s = resp ? json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(resp);
	reply_str(c, s);
}

/* The protocol's failure answer (schoolsync/control.h). */
static void reply_error(dmn_client *c, int code, const char *msg)
{
	reply_str(c, ssync_control_error_reply(code, msg));
}

/* ---- status ---- */

static void status_work(uv_work_t *w)
{
	dmn_client *c = w->data;

	ssync_error_clear(&c->err);
	c->st_rc = ssync_status_read(&c->st, c->d->home, &c->err);
}

static void status_after(uv_work_t *w, int status)
{
	dmn_client *c = w->data;
	dmn *d = c->d;
	json_t *resp, *node = NULL;

	c->work_pending = 0;
	if (c->closing) {
		if (c->open_handles == 0)
			client_free(c);
		return;
	}
	resp = json_pack("{sb}", "ok", 1);
	json_object_set_new(resp, "daemon", dmn_daemon_json(d));
	if (status == 0 && c->st_rc == 0) {
		char *s = ssync_status_json(c->st);
		node = s ? json_loads(s, 0, NULL) : NULL;
		free(s);
	}
	if (node) {
		json_object_set_new(resp, "node", node);
	} else {
		json_object_set_new(resp, "node", json_null());
		json_object_set_new(resp, "node_error", json_pack("{ssss}", "code", ssync_error_name(c->err.code),
			"message", c->err.message[0] ? c->err.message : "cannot read the replica"));
	}
	json_object_set_new(resp, "remotes", dmn_remotes_json(d));
	reply(c, resp);
}

/* ---- sync-now ---- */

static json_t *wait_results(dmn_client *c, int *all_ok)
{
	json_t *arr = json_array();
	size_t i;

	*all_ok = 1;
	for (i = 0; i < c->ntargets; i++) {
		dmn_remote *r = dmn_remote_find(c->d, c->targets[i]);
		json_t *o;
		if (!r)
			continue; /* removed meanwhile */
		o = json_pack("{sssb}", "remote", r->name, "ok", r->s.failures == 0);
		if (r->s.failures) {
			*all_ok = 0;
			json_object_set_new(o, "error", json_pack("{ssss}", "code", r->last_error_code,
				"message", r->last_error_msg));
			json_object_set_new(o, "retry_in_s", json_real(r->s.backoff_s));
		} else if (r->has_report) {
			json_object_set_new(o, "report", dmn_report_json(&r->last_report));
		}
		json_object_set_new(o, "seconds", json_real(r->last_seconds));
		json_array_append_new(arr, o);
	}
	return arr;
}

static int set_targets(dmn_client *c)
{
	dmn *d = c->d;
	size_t i;

	if (d->nremotes && !(c->targets = calloc(d->nremotes, sizeof(*c->targets))))
		return -1;
	/* Only names: whether a remote is done is decided by round sequence
	 * numbers, so a round that started (or even finished) after the
	 * request but before this list run ended still counts. */
	for (i = 0; i < d->nremotes; i++)
		if ((c->targets[c->ntargets] = strdup(d->remotes[i]->name)))
			c->ntargets++;
	return 0;
}

void dmn_control_round_done(dmn *d)
{
	dmn_client *c = d->clients, *next;

	for (; c; c = next) {
		size_t i;
		int done = 1, ok;
		json_t *res;
		next = c->next;
		if (!c->waiting)
			continue;
		if (c->await_list) {
			if (d->list_gen == c->list_gen)
				continue;
			c->await_list = 0;
			if (set_targets(c) < 0 || c->ntargets == 0) {
				c->waiting = 0;
				reply_error(c, c->ntargets ? SSYNC_ERROR : SSYNC_ENOTFOUND, c->ntargets ? "out of memory" :
					"no remotes configured: add one with 'schoolsync remote add NAME URL'");
				continue;
			}
		}
		for (i = 0; i < c->ntargets && done; i++) {
			dmn_remote *r = dmn_remote_find(d, c->targets[i]);
			if (r && r->done_seq <= c->after_seq)
				done = 0; /* removed meanwhile counts as done */
		}
		if (!done)
			continue;
		c->waiting = 0;
		res = wait_results(c, &ok);
		reply(c, json_pack("{sbso}", "ok", ok, "results", res));
	}
}

static void sync_now(dmn_client *c, int wait)
{
	dmn *d = c->d;

	if (!d->remotes_known) {
		reply_error(c, SSYNC_ENOTFOUND, "the daemon could not list the remotes yet; see 'schoolsync status'");
		return;
	}
	if (d->nremotes == 0) {
		reply_error(c, SSYNC_ENOTFOUND, "no remotes configured: add one with 'schoolsync remote add NAME URL'");
		return;
	}
	if (wait) {
		/* dmn_sync_now() refreshes the remote list first (an operator who
		 * just added a remote expects it included): the targets are set
		 * when that list run ends, in dmn_control_round_done(). */
		c->waiting = 1;
		c->await_list = 1;
		c->list_gen = d->list_gen;
		/* A round running now started before the request (it may have
		 * sealed before the caller's write): its run_seq is <= this, so
		 * only the next one counts. */
		c->after_seq = d->rounds_started;
		uv_timer_stop(&c->idle);
		json_decref(dmn_sync_now(d));
		return;
	}
	reply(c, json_pack("{sbso}", "ok", 1, "queued", dmn_sync_now(d)));
}

/* ---- web-login: a one-time link to the console (docs/WEB.md) ---- */

static void web_login(dmn_client *c, size_t len)
{
	ssync_control_web_login req;
	ssync_error err;
	char url[SSYNC_WEB_URL_MAX], errbuf[600];
	int rc;

	ssync_error_clear(&err);
	if (ssync_control_parse_web_login(c->buf, len, &req, &err) < 0) {
		reply_error(c, err.code, err.message);
		return;
	}
	if (c->d->stopping) {
		reply_error(c, SSYNC_ECANCELLED, "the daemon is stopping");
		return;
	}
	if ((rc = dmn_web_start(c->d, req.port, req.bind, errbuf, sizeof(errbuf))) < 0) {
		reply_error(c, rc, errbuf);
		return;
	}
	if (ssync_web_login(c->d->web, req.user, url, sizeof(url), &err) < 0) {
		reply_error(c, err.code, err.message);
		return;
	}
	dmn_log(DMN_LOG_INFO, "web console: login link made for %s", req.user);
	reply(c, json_pack("{sbsssisssssf}", "ok", 1, "url", url, "port", ssync_web_port(c->d->web),
		"bind", ssync_web_bind(c->d->web), "user", req.user, "expires_s", 600.0));
}

/* ---- connection ---- */

static void handle_line(dmn_client *c, size_t len)
{
	ssync_control_cmd cmd;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_control_parse_request(c->buf, len, &cmd, &err) < 0) {
		reply_error(c, err.code, err.message);
	} else if (cmd == SSYNC_CONTROL_STATUS_DAEMON) {
		/* the daemon's own state only: no replica read, answered at once */
		json_t *resp = json_pack("{sb}", "ok", 1);
		json_object_set_new(resp, "daemon", dmn_daemon_json(c->d));
		json_object_set_new(resp, "remotes", dmn_remotes_json(c->d));
		reply(c, resp);
	} else if (cmd == SSYNC_CONTROL_STATUS) {
		c->work.data = c;
		if (uv_queue_work(c->d->loop, &c->work, status_work, status_after) == 0)
			c->work_pending = 1;
		else
			reply_error(c, SSYNC_ERROR, "cannot queue the status read");
	} else if (cmd == SSYNC_CONTROL_WEB_LOGIN) {
		web_login(c, len);
	} else {
		sync_now(c, cmd == SSYNC_CONTROL_SYNC_NOW_WAIT);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	dmn_client *c = h->data;

	(void)suggested;
	buf->base = c->buf + c->len;
	buf->len = sizeof(c->buf) - 1 - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	dmn_client *c = s->data;
	char *nl;

	(void)buf;
	if (nread < 0) {
		/* EOF: before a full line the client gave up; after it, it may
		 * only have shut down its sending side, so answer anyway (a
		 * write to a client that left fails and closes). */
		uv_read_stop(s);
		if (!c->got_line || (!c->work_pending && !c->waiting && !c->writing))
			client_close(c);
		return;
	}
	if (c->got_line)
		return; /* one request per connection */
	c->len += (size_t)nread;
	c->buf[c->len] = 0;
	if ((nl = memchr(c->buf, '\n', c->len))) {
		*nl = 0;
		c->got_line = 1;
		handle_line(c, (size_t)(nl - c->buf));
		return;
	}
	if (c->len >= sizeof(c->buf) - 1) {
		char msg[96];
		snprintf(msg, sizeof(msg), "request longer than %d bytes", SSYNC_CONTROL_LINE_MAX - 1);
		reply_error(c, SSYNC_ETOOLARGE, msg);
	}
}

static void on_idle(uv_timer_t *t)
{
	dmn_client *c = t->data;

	if (!c->waiting && !c->work_pending)
		client_close(c);
}

static void on_reject_closed(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	dmn *d = server->data;
	dmn_client *c;

	if (status < 0) {
		dmn_log(DMN_LOG_WARN, "control socket: %s", uv_strerror(status));
		return;
	}
	if (d->nclients >= MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		uv_pipe_t *p = malloc(sizeof(*p));
		if (!p)
			return;
		uv_pipe_init(d->loop, p, 0);
		(void)uv_accept(server, (uv_stream_t *)p);
		uv_close((uv_handle_t *)p, on_reject_closed);
		dmn_log(DMN_LOG_WARN, "control socket: too many connections, refusing one");
		return;
	}
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	uv_timer_init(d->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->open_handles = 2;
	c->next = d->clients;
	d->clients = c;
	d->nclients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
		client_close(c);
		return;
	}
	uv_timer_start(&c->idle, on_idle, IDLE_MS, 0);
}

static int check_home(const char *home)
{
	struct stat sb;

	if (lstat(home, &sb) != 0) {
		dmn_log(DMN_LOG_ERROR, "home %s: %s", home, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		dmn_log(DMN_LOG_ERROR, "home %s is not a directory", home);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 022) != 0) {
		dmn_log(DMN_LOG_ERROR, "home %s has unsafe permissions (owner uid %ld, mode %03o; need owner uid %ld "
			"and no group/other write): run chown %ld %s && chmod 700 %s", home, (long)sb.st_uid,
			(unsigned)(sb.st_mode & 07777), (long)geteuid(), (long)geteuid(), home, home);
		return -1;
	}
	return 0;
}

int dmn_control_open(dmn *d)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int rc;

	if (check_home(d->home) < 0)
		return -1;
	/* libuv 1.44's uv_pipe_bind silently truncates long paths. */
	if (strlen(d->sock_path) >= sizeof(sa.sun_path)) {
		dmn_log(DMN_LOG_ERROR, "control socket path %s is %zu bytes, the limit is %zu: use a shorter home path",
			d->sock_path, strlen(d->sock_path), sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (lstat(d->sock_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			dmn_log(DMN_LOG_ERROR, "%s exists and is not a socket: remove it", d->sock_path);
			return -1;
		}
		(void)unlink(d->sock_path); /* stale: we hold the daemon lock */
	}
	uv_pipe_init(d->loop, &d->server, 0);
	d->server.data = d;
	d->server_open = 1;
	old = umask(077);
	rc = uv_pipe_bind(&d->server, d->sock_path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&d->server, 16, on_connection);
	if (rc != 0) {
		dmn_log(DMN_LOG_ERROR, "control socket %s: %s", d->sock_path, uv_strerror(rc));
		return -1;
	}
	return 0;
}

static void on_server_closed(uv_handle_t *h)
{
	(void)h;
}

void dmn_control_close(dmn *d)
{
	dmn_client *c, *next;

	if (!d->server_open)
		return;
	d->server_open = 0;
	uv_close((uv_handle_t *)&d->server, on_server_closed);
	(void)unlink(d->sock_path);
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (c->waiting) {
			c->waiting = 0;
			reply_error(c, SSYNC_ECANCELLED, "the daemon is stopping");
		} else if (!c->got_line) {
			client_close(c);
		}
	}
}
