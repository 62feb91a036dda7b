/* One supervised child process: spawn it in its own session, capture its
 * stdout and stderr, enforce a hard deadline (SIGTERM to the whole process
 * group, SIGKILL after a grace period), report once, free itself.
 *
 * This is what makes a hung link harmless: libgit2 has no fetch timeout, but
 * a process can always be killed, and the kernel then closes its sockets.
 *
 * Handle ownership: the job embeds a process, two pipes and three timers;
 * it frees itself in the close callback of the last one (STYLE §4), and
 * calls the user callback right before that, exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define OUT_MAX (256 * 1024)  /* the JSON report: keep the head */
#define ERR_MAX (64 * 1024)   /* the error JSON comes last: keep the tail */
#define DRAIN_MS 2000         /* after exit, wait this long for pipe EOF */

struct dmn_job {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_pipe_t out_pipe, err_pipe;
	uv_timer_t deadline;   /* deadline, or the stop grace when stopping */
	uv_timer_t kill_timer; /* SIGTERM -> SIGKILL */
	uv_timer_t drain;
	int open_handles;
	int spawned, exited, out_eof, err_eof, finishing;
	int term_sent, kill_sent, timed_out, stop_requested, stopped;
	int spawn_error;
	int64_t exit_status;
	int term_signal;
	char *out, *err;
	size_t out_len, err_len;
	uint64_t t0;
	double deadline_s, kill_grace_s;
	char *pidfile;
	dmn_job_cb cb;
	void *payload;
};

static void job_free(dmn_job *j)
{
	free(j->out);
	free(j->err);
	free(j->pidfile);
	free(j);
}

static void on_close(uv_handle_t *h)
{
	dmn_job *j = h->data;
	dmn_job_result r;

	if (--j->open_handles > 0)
		return;
	memset(&r, 0, sizeof(r));
	r.exit_status = j->exit_status;
	r.term_signal = j->term_signal;
	r.timed_out = j->timed_out;
	r.stopped = j->stopped;
	r.spawn_error = j->spawn_error;
	r.out = j->out ? j->out : "";
	r.out_len = j->out_len;
	r.errout = j->err ? j->err : "";
	r.err_len = j->err_len;
	r.seconds = (double)(uv_now(j->loop) - j->t0) / 1000.0;
	j->cb(&r, j->payload);
	job_free(j);
}

static void close_one(dmn_job *j, uv_handle_t *h)
{
	h->data = j;
	uv_close(h, on_close);
}

static void maybe_finish(dmn_job *j)
{
	if (j->finishing || !j->exited || !j->out_eof || !j->err_eof)
		return;
	j->finishing = 1;
	close_one(j, (uv_handle_t *)&j->proc);
	close_one(j, (uv_handle_t *)&j->out_pipe);
	close_one(j, (uv_handle_t *)&j->err_pipe);
	close_one(j, (uv_handle_t *)&j->deadline);
	close_one(j, (uv_handle_t *)&j->kill_timer);
	close_one(j, (uv_handle_t *)&j->drain);
}

/* The child called setsid(), so its pid is its process group: signal the
 * group, which also reaches helpers it started (ssh, a test's sleep). If
 * the group is not there yet (child not past setsid), signal the pid. */
static void signal_child(dmn_job *j, int sig)
{
	int pid = j->proc.pid;

	if (!j->spawned || j->exited || pid <= 0)
		return;
	if (kill(-pid, sig) != 0)
		(void)uv_process_kill(&j->proc, sig); /* may race with exit: ESRCH is fine */
}

static void on_kill_timer(uv_timer_t *t)
{
	dmn_job *j = t->data;

	if (j->exited)
		return;
	dmn_log(DMN_LOG_WARN, "child %d still running %.1f s after SIGTERM: sending SIGKILL",
		j->proc.pid, j->kill_grace_s);
	j->kill_sent = 1;
	signal_child(j, SIGKILL);
}

static void terminate(dmn_job *j)
{
	if (j->exited || j->term_sent)
		return;
	j->term_sent = 1;
	signal_child(j, SIGTERM);
	j->kill_timer.data = j;
	uv_timer_start(&j->kill_timer, on_kill_timer, ssync_sched_ms(j->kill_grace_s), 0);
}

static void on_deadline(uv_timer_t *t)
{
	dmn_job *j = t->data;

	if (j->exited)
		return;
	if (j->stop_requested)
		j->stopped = 1;
	else
		j->timed_out = 1;
	terminate(j);
}

static void on_drain(uv_timer_t *t)
{
	dmn_job *j = t->data;

	/* A grandchild still holds the pipes open: stop waiting for it. */
	if (!j->out_eof || !j->err_eof)
		dmn_log(DMN_LOG_DEBUG, "child %d exited but its output pipe stayed open; closing", j->proc.pid);
	j->out_eof = j->err_eof = 1;
	maybe_finish(j);
}

static void on_child_exit(uv_process_t *p, int64_t exit_status, int term_signal)
{
	dmn_job *j = p->data;

	j->exited = 1;
	j->exit_status = exit_status;
	j->term_signal = term_signal;
	uv_timer_stop(&j->deadline);
	uv_timer_stop(&j->kill_timer);
	if (j->pidfile)
		(void)unlink(j->pidfile);
	/* Leftovers of its group (if any) would only hold the pipes open. */
	if (j->term_sent)
		(void)kill(-p->pid, SIGKILL);
	if (!j->out_eof || !j->err_eof) {
		j->drain.data = j;
		uv_timer_start(&j->drain, on_drain, DRAIN_MS, 0);
	}
	maybe_finish(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536]; /* loop thread only; consumed before the next alloc */

	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof(slab);
}

static int append(char **buf, size_t *len, const char *data, size_t n, size_t max, int keep_tail)
{
	char *nb;

	if (!*buf && !(*buf = calloc(1, max + 1)))
		return -1;
	nb = *buf;
	if (*len + n <= max) {
		memcpy(nb + *len, data, n);
		*len += n;
	} else if (keep_tail) {
		if (n >= max) {
			memcpy(nb, data + (n - max), max);
		} else {
			size_t keep = max - n;
			memmove(nb, nb + (*len - keep), keep);
			memcpy(nb + keep, data, n);
		}
		*len = max;
	} else {
		memcpy(nb + *len, data, max - *len);
		*len = max;
	}
	nb[*len] = 0;
	return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	dmn_job *j = s->data;
	int is_out = s == (uv_stream_t *)&j->out_pipe;

	if (nread > 0) {
		if (is_out)
			(void)append(&j->out, &j->out_len, buf->base, (size_t)nread, OUT_MAX, 0);
		else
			(void)append(&j->err, &j->err_len, buf->base, (size_t)nread, ERR_MAX, 1);
		return;
	}
	if (nread == 0)
		return;
	uv_read_stop(s);
	if (is_out)
		j->out_eof = 1;
	else
		j->err_eof = 1;
	maybe_finish(j);
}

static void write_pidfile(const char *path, int pid)
{
	char buf[32];
	int fd, n = snprintf(buf, sizeof(buf), "%d\n", pid);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		dmn_log(DMN_LOG_WARN, "write %s: %s", path, strerror(errno));
		return;
	}
	if (write(fd, buf, (size_t)n) != n)
		dmn_log(DMN_LOG_WARN, "write %s: %s", path, strerror(errno));
	close(fd);
}

int dmn_job_start(dmn_job **out, uv_loop_t *loop, const char *const *argv, double deadline_s,
	double kill_grace_s, const char *pidfile, dmn_job_cb cb, void *payload)
{
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];
	dmn_job *j;
	int rc;

	*out = NULL;
	if (!(j = calloc(1, sizeof(*j))))
		return UV_ENOMEM;
	if (pidfile && !(j->pidfile = strdup(pidfile))) {
		free(j);
		return UV_ENOMEM;
	}
	j->loop = loop;
	j->cb = cb;
	j->payload = payload;
	j->deadline_s = deadline_s;
	j->kill_grace_s = kill_grace_s;
	uv_update_time(loop);
	j->t0 = uv_now(loop);
	uv_pipe_init(loop, &j->out_pipe, 0);
	uv_pipe_init(loop, &j->err_pipe, 0);
	uv_timer_init(loop, &j->deadline);
	uv_timer_init(loop, &j->kill_timer);
	uv_timer_init(loop, &j->drain);
	j->out_pipe.data = j->err_pipe.data = j->deadline.data = j->kill_timer.data = j->drain.data = j;
	j->open_handles = 6;

	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&j->out_pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&j->err_pipe;
	opts.file = argv[0];
	opts.args = (char **)argv;
	opts.stdio_count = 3;
	opts.stdio = stdio;
	opts.exit_cb = on_child_exit;
	opts.flags = UV_PROCESS_DETACHED; /* setsid(): own process group */
	j->proc.data = j;
	if ((rc = uv_spawn(loop, &j->proc, &opts)) != 0) {
		/* The process handle is initialised even on failure and must be
		 * closed; report through the callback like any other end. */
		j->spawn_error = rc;
		j->exit_status = 127;
		j->exited = j->out_eof = j->err_eof = 1;
		maybe_finish(j);
		*out = j;
		return 0;
	}
	j->spawned = 1;
	if (j->pidfile)
		write_pidfile(j->pidfile, j->proc.pid);
	uv_read_start((uv_stream_t *)&j->out_pipe, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&j->err_pipe, on_alloc, on_read);
	uv_timer_start(&j->deadline, on_deadline, ssync_sched_ms(deadline_s), 0);
	*out = j;
	return 0;
}

void dmn_job_stop(dmn_job *j)
{
	if (!j || j->exited)
		return;
	j->stop_requested = 1;
	if (!j->timed_out)
		j->stopped = 1;
	terminate(j);
}

void dmn_job_stop_after(dmn_job *j, double after_s)
{
	if (!j || j->exited || j->term_sent)
		return;
	j->stop_requested = 1;
	/* never later than the deadline it already has */
	uv_update_time(j->loop);
	uv_timer_start(&j->deadline, on_deadline, ssync_sched_stop_in(j->t0, j->deadline_s, uv_now(j->loop), after_s), 0);
}

int dmn_job_pid(const dmn_job *j)
{
	return j && j->spawned && !j->exited ? j->proc.pid : 0;
}
