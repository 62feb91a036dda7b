/* The control-socket protocol and its client, shared by the CLI and the
 * daemon (docs/CONTROL.md): the request lines, reading them, the failure
 * answer, and a blocking client with bounded waits. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "schoolsync/control.h"
#include "schoolsync/home.h"

/* An answer longer than this is not one the daemon sends. */
#define REPLY_MAX (1u << 24)

static const char *const requests[] = {
	[SSYNC_CONTROL_STATUS] = "{\"cmd\":\"status\"}",
	[SSYNC_CONTROL_STATUS_DAEMON] = "{\"cmd\":\"status\",\"node\":false}",
	[SSYNC_CONTROL_SYNC_NOW] = "{\"cmd\":\"sync-now\"}",
	[SSYNC_CONTROL_SYNC_NOW_WAIT] = "{\"cmd\":\"sync-now\",\"wait\":true}",
};

const char *ssync_control_request(ssync_control_cmd cmd)
{
	if ((unsigned)cmd >= sizeof(requests) / sizeof(requests[0]))
		return "";
	return requests[cmd];
}

int ssync_control_parse_request(const char *line, size_t len, ssync_control_cmd *out, ssync_error *err)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	int error = 0;

	if (!req || !cmd)
		error = ssync_error_set(err, SSYNC_EINVAL, "bad request: %s", req ? "no \"cmd\"" : jerr.text);
	else if (strcmp(cmd, "status") == 0)
		*out = json_is_false(json_object_get(req, "node")) ? SSYNC_CONTROL_STATUS_DAEMON : SSYNC_CONTROL_STATUS;
	else if (strcmp(cmd, "sync-now") == 0)
		*out = json_is_true(json_object_get(req, "wait")) ? SSYNC_CONTROL_SYNC_NOW_WAIT : SSYNC_CONTROL_SYNC_NOW;
	else if (strcmp(cmd, "web-login") == 0)
		*out = SSYNC_CONTROL_WEB_LOGIN;
	else
		error = ssync_error_set(err, SSYNC_EINVAL, "unknown command \"%.64s\" (known: status, sync-now, web-login)", cmd);
	json_decref(req);
	return error;
}

char *ssync_control_web_login_request(const ssync_control_web_login *req)
{
	json_t *o;
	char *s;

	if (!req->user[0] || strnlen(req->user, sizeof(req->user)) >= sizeof(req->user) ||
	    strnlen(req->bind, sizeof(req->bind)) >= sizeof(req->bind))
		return NULL;
	if (!(o = json_pack("{ssss}", "cmd", "web-login", "user", req->user)))
		return NULL;
	if (req->port >= 0)
		json_object_set_new(o, "port", json_integer(req->port));
	if (req->bind[0])
		json_object_set_new(o, "bind", json_string(req->bind));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int ssync_control_parse_web_login(const char *line, size_t len, ssync_control_web_login *out, ssync_error *err)
{
	json_t *req = json_loadb(line, len, 0, NULL), *v;
	const char *user = json_string_value(json_object_get(req, "user"));
	int error = 0;

	memset(out, 0, sizeof(*out));
	out->port = -1;
	if (!user || !*user || strlen(user) >= sizeof(out->user)) {
		error = ssync_error_set(err, SSYNC_EINVAL, "web-login: \"user\" must be a name of 1..%zu bytes",
			sizeof(out->user) - 1);
		goto done;
	}
	snprintf(out->user, sizeof(out->user), "%s", user);
	if ((v = json_object_get(req, "port"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
			error = ssync_error_set(err, SSYNC_EINVAL, "web-login: \"port\" must be 0..65535");
			goto done;
		}
		out->port = (int)json_integer_value(v);
	}
	if ((v = json_object_get(req, "bind"))) {
		if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(out->bind)) {
			error = ssync_error_set(err, SSYNC_EINVAL, "web-login: \"bind\" must be an address");
			goto done;
		}
		snprintf(out->bind, sizeof(out->bind), "%s", json_string_value(v));
	}
done:
	json_decref(req);
	return error;
}

char *ssync_control_error_reply(int code, const char *message)
{
	ssync_error e;
	json_t *o = NULL, *eo;
	char *s = NULL, *ej;

	ssync_error_clear(&e);
	ssync_error_set(&e, code ? code : SSYNC_ERROR, "%s", message ? message : "");
	if (!(ej = ssync_error_json(&e)))
		return NULL;
	if ((eo = json_loads(ej, 0, NULL)) && (o = json_pack("{sbsO}", "ok", 0, "error", json_object_get(eo, "error"))))
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	json_decref(eo);
	free(ej);
	return s;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Read until the first newline, at most @p timeout_ms from now. */
static int read_line(int fd, const char *path, int timeout_ms, char **out, ssync_error *err)
{
	char *buf = NULL, *nl;
	size_t len = 0, cap = 0;
	struct timespec t0;
	int error = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long el = elapsed_ms(&t0);
		int pr;
		ssize_t n;
		if ((pr = poll(&p, 1, el >= timeout_ms ? 0 : (int)(timeout_ms - el))) < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			error = ssync_error_set(err, SSYNC_ECANCELLED, "the daemon did not answer on %s within %.1f s",
				path, timeout_ms / 1000.0);
			break;
		}
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap + 65536);
			if (!nb) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			buf = nb;
			cap += 65536;
		}
		if ((n = recv(fd, buf + len, cap - len - 1, 0)) < 0) {
			if (errno == EINTR)
				continue;
			error = ssync_error_set(err, SSYNC_EIO, "read from the daemon: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			error = ssync_error_set(err, SSYNC_EIO, "the daemon closed the connection without answering");
			break;
		}
		len += (size_t)n;
		buf[len] = 0;
		if ((nl = memchr(buf, '\n', len))) {
			*nl = 0;
			*out = buf;
			return 0;
		}
		if (len > REPLY_MAX) {
			error = ssync_error_set(err, SSYNC_ETOOLARGE, "the daemon's answer is longer than %u bytes", REPLY_MAX);
			break;
		}
	}
	free(buf);
	return error;
}

int ssync_control_call(const char *home, ssync_control_cmd cmd, int timeout_ms, char **reply_out, ssync_error *err)
{
	const char *req = ssync_control_request(cmd);

	*reply_out = NULL;
	if (!*req)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown control command %d (or one with arguments: "
			"ssync_control_call_line)", (int)cmd);
	return ssync_control_call_line(home, req, timeout_ms, reply_out, err);
}

int ssync_control_call_line(const char *home, const char *req, int timeout_ms, char **reply_out, ssync_error *err)
{
	struct sockaddr_un sa;
	struct stat sb;
	int fd = -1, error = 0;

	*reply_out = NULL;
	if (!req || !*req || strchr(req, '\n') || strlen(req) >= SSYNC_CONTROL_LINE_MAX)
		return ssync_error_set(err, SSYNC_EINVAL, "a control request is one line of at most %d bytes",
			SSYNC_CONTROL_LINE_MAX - 1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (ssync_home_path(sa.sun_path, sizeof(sa.sun_path), home, SSYNC_HOME_CONTROL_SOCK, NULL) < 0)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no schoolsyncd runs for %s: its control socket path "
			"would be longer than %zu bytes", home, sizeof(sa.sun_path) - 1);
	if (lstat(sa.sun_path, &sb) != 0)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no schoolsyncd runs for %s", home);
	/* Like openssh with key files: only talk to a socket of our own user
	 * (root may talk to anyone's). */
	if (!S_ISSOCK(sb.st_mode) || (sb.st_uid != geteuid() && geteuid() != 0))
		return ssync_error_set(err, SSYNC_EPERM, "%s is not a socket owned by uid %ld: not talking to it",
			sa.sun_path, (long)geteuid());
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ssync_error_set(err, SSYNC_EIO, "socket: %s", strerror(errno));
	{
		/* A daemon whose loop is stuck leaves connections in the listen
		 * backlog; once that is full, connect() and send() would block. */
		struct timeval tv = { SSYNC_CONTROL_STATUS_TIMEOUT_MS / 1000, (SSYNC_CONTROL_STATUS_TIMEOUT_MS % 1000) * 1000 };
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == ECONNREFUSED || errno == ENOENT) /* a socket left by a daemon that died */
			error = ssync_error_set(err, SSYNC_ENOTFOUND, "no schoolsyncd runs for %s", home);
		else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
			error = ssync_error_set(err, SSYNC_ECANCELLED, "the daemon did not accept a connection on %s "
				"within %d ms (busy or hung)", sa.sun_path, SSYNC_CONTROL_STATUS_TIMEOUT_MS);
		else
			error = ssync_error_set(err, SSYNC_EIO, "connect %s: %s", sa.sun_path, strerror(errno));
		goto done;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		error = ssync_error_set(err, SSYNC_EIO, "send to the daemon on %s: %s", sa.sun_path, strerror(errno));
		goto done;
	}
	error = read_line(fd, sa.sun_path, timeout_ms, reply_out, err);
done:
	close(fd);
	return error;
}

int ssync_control_sync_now_timeout_ms(const char *status_reply, size_t len)
{
	json_t *st = status_reply ? json_loadb(status_reply, len, 0, NULL) : NULL;
	json_t *set = json_object_get(json_object_get(st, "daemon"), "settings");
	json_t *v;
	double deadline = 300, grace = 5, per, list, first, total;
	size_t n = 1;

	if (json_is_number(v = json_object_get(set, "deadline_s")) && json_number_value(v) >= 0)
		deadline = json_number_value(v);
	if (json_is_number(v = json_object_get(set, "kill_grace_s")) && json_number_value(v) >= 0)
		grace = json_number_value(v);
	if (json_array_size(json_object_get(st, "remotes")) > n)
		n = json_array_size(json_object_get(st, "remotes"));
	json_decref(st);
	per = deadline + grace + 1;
	list = SSYNC_CONTROL_LIST_DEADLINE_S + grace + 1;
	first = per > list ? per : list;
	total = 2 * (first + list + (double)n * per) + 30;
	return total > 86400.0 || total != total ? 86400 * 1000 : (int)(total * 1000);
}
