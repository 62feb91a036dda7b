/* Leveled logging to stderr (systemd's journal picks it up) or syslog, and
 * the sd_notify datagram for Type=notify units. Loop thread only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "schoolsync/timefmt.h"

static int log_level = DMN_LOG_INFO;
static int log_syslog;

static const char *const names[] = { "error", "warn", "info", "debug" };

int dmn_log_level_parse(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return DMN_LOG_WARN;
	return -1;
}

const char *dmn_log_level_name(int level)
{
	return level >= 0 && level < 4 ? names[level] : "?";
}

void dmn_log_setup(int level, int use_syslog)
{
	log_level = level;
	if (use_syslog && !log_syslog)
		openlog("schoolsyncd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

void dmn_log(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
	} else {
		char ts[40];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		(void)ssync_time_utc((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000L, 1, ts, sizeof(ts));
		fprintf(stderr, "%s schoolsyncd[%ld] %s: %s\n", ts, (long)getpid(), names[level], msg);
	}
}

void dmn_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t plen;
	int fd;

	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return;
	plen = strlen(path);
	if (plen >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		dmn_log(DMN_LOG_DEBUG, "sd_notify %s: %s", state, strerror(errno));
	close(fd);
}
