/* The layout of a node's home: one table of names, so the library, the
 * CLI and the daemon cannot drift apart on where a file lives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schoolsync/home.h"

static const char *const names[] = {
	[SSYNC_HOME_REPLICA] = "replica.db",
	[SSYNC_HOME_KEY] = "node.key",
	[SSYNC_HOME_EXCHANGE] = "exchange.git",
	[SSYNC_HOME_CONFIG] = "config.json",
	[SSYNC_HOME_SYNC_LOCK] = "sync.lock",
	[SSYNC_HOME_DAEMON_LOCK] = "daemon.lock",
	[SSYNC_HOME_DAEMON_CHILD] = "daemon.child",
	[SSYNC_HOME_CONTROL_SOCK] = "control.sock",
	[SSYNC_HOME_ENCKEY] = "enc.key",
	[SSYNC_HOME_KEYSDB] = "keys.db",
};

const char *ssync_home_name(ssync_home_file f)
{
	if ((unsigned)f >= sizeof(names) / sizeof(names[0]) || !names[f])
		return "";
	return names[f];
}

int ssync_home_path(char *out, size_t len, const char *home, ssync_home_file f, ssync_error *err)
{
	const char *name = ssync_home_name(f);
	int n;

	if (len)
		out[0] = 0;
	if (!*name)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown home file %d", (int)f);
	n = snprintf(out, len, "%s/%s", home, name);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			out[0] = 0;
		ssync_error_set(err, SSYNC_EINVAL, "home path too long: %s/%s", home, name);
		ssync_error_hint(err, "use a shorter --home path");
		return SSYNC_EINVAL;
	}
	return 0;
}

char *ssync_home_path_dup(const char *home, ssync_home_file f)
{
	const char *name = ssync_home_name(f);
	size_t n = strlen(home) + strlen(name) + 2;
	char *s;

	if (!*name || !(s = malloc(n)))
		return NULL;
	snprintf(s, n, "%s/%s", home, name);
	return s;
}

int ssync_home_default(char *out, size_t len, ssync_error *err)
{
	const char *env = getenv("SCHOOLSYNC_HOME"), *h;
	int n;

	if (env && *env)
		n = snprintf(out, len, "%s", env);
	else
		n = snprintf(out, len, "%s/.schoolsync", (h = getenv("HOME")) && *h ? h : ".");
	if (n < 0 || (size_t)n >= len)
		return ssync_error_set(err, SSYNC_EINVAL, "home path too long");
	return 0;
}
