/* HOME/config.json: the daemon's settings (jansson). A missing file means
 * the defaults; a bad file is refused with line and column, and the caller
 * keeps what it had (SIGHUP must never leave the daemon half-configured).
 * The same file carries settings of other parts of schoolsync ("actor", the
 * CLI's default actor); a key nobody knows is most likely a misspelling:
 * --check-config refuses it, naming the closest known key, and the running
 * daemon logs it (dmn_config_unknown). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"

void dmn_config_defaults(dmn_config *c)
{
	c->sync_interval_s = 300;
	c->debounce_s = 5;
	c->deadline_s = 300;
	c->backoff_base_s = 10;
	c->backoff_max_s = 3600;
	c->kill_grace_s = 5;
	c->stop_grace_s = 20;
	c->poll_s = 1;
	c->log_level = DMN_LOG_INFO;
	c->use_syslog = 0;
	c->web_port = -1;
	c->web_bind[0] = 0;
	c->web_allow_remote = 0;
	c->web_idle_s = 0;
}

/* "web": {"port": N, "bind": "ADDR", "allow_remote": bool, "session_idle_s": N} */
static int load_web(dmn_config *c, json_t *web, const char *path, char *errbuf, size_t errlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(web)) {
		snprintf(errbuf, errlen, "config %s: \"web\" must be an object such as {\"port\": 8080}", path);
		return -1;
	}
	json_object_foreach(web, k, v) {
		if (strcmp(k, "port") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
				snprintf(errbuf, errlen, "config %s: \"web\".\"port\" must be 0..65535 (0: a free port)", path);
				return -1;
			}
			c->web_port = (int)json_integer_value(v);
		} else if (strcmp(k, "bind") == 0) {
			if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(c->web_bind)) {
				snprintf(errbuf, errlen, "config %s: \"web\".\"bind\" must be an IP address such as \"127.0.0.1\"", path);
				return -1;
			}
			snprintf(c->web_bind, sizeof(c->web_bind), "%s", json_string_value(v));
		} else if (strcmp(k, "allow_remote") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(errbuf, errlen, "config %s: \"web\".\"allow_remote\" must be true or false", path);
				return -1;
			}
			c->web_allow_remote = json_is_true(v);
		} else if (strcmp(k, "session_idle_s") == 0) {
			if (!json_is_number(v) || json_number_value(v) < 60 || json_number_value(v) > 7 * 86400.0) {
				snprintf(errbuf, errlen, "config %s: \"web\".\"session_idle_s\" must be 60..604800", path);
				return -1;
			}
			c->web_idle_s = json_number_value(v);
		} else {
			snprintf(errbuf, errlen, "config %s: unknown key \"web\".\"%s\" (known: port, bind, allow_remote, "
				"session_idle_s)", path, k);
			return -1;
		}
	}
	return 0;
}

typedef struct num_key {
	const char *name;
	size_t off;
	double min, max;
} num_key;

static const num_key num_keys[] = {
	{ "sync_interval_s", offsetof(dmn_config, sync_interval_s), 0.1, 7 * 86400.0 },
	{ "debounce_s", offsetof(dmn_config, debounce_s), 0, 3600 },
	{ "deadline_s", offsetof(dmn_config, deadline_s), 0.1, 86400 },
	{ "backoff_base_s", offsetof(dmn_config, backoff_base_s), 0.05, 86400 },
	{ "backoff_max_s", offsetof(dmn_config, backoff_max_s), 0.1, 7 * 86400.0 },
	{ "kill_grace_s", offsetof(dmn_config, kill_grace_s), 0, 600 },
	{ "stop_grace_s", offsetof(dmn_config, stop_grace_s), 0, 3600 },
	{ "poll_s", offsetof(dmn_config, poll_s), 0.05, 60 },
};

int dmn_config_load(dmn_config *out, const char *path, char *errbuf, size_t errlen)
{
	dmn_config c;
	json_error_t jerr;
	json_t *root = NULL, *v;
	struct stat sb;
	size_t i;
	int error = -1;

	dmn_config_defaults(&c);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT) {
			*out = c;
			return 0;
		}
		snprintf(errbuf, errlen, "config %s: %s", path, strerror(errno));
		return -1;
	}
	if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
		snprintf(errbuf, errlen, "config %s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(errbuf, errlen, "config %s: the top level must be a JSON object", path);
		goto done;
	}
	for (i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		const num_key *k = &num_keys[i];
		double x;
		if (!(v = json_object_get(root, k->name)))
			continue;
		if (!json_is_number(v)) {
			snprintf(errbuf, errlen, "config %s: \"%s\" must be a number of seconds", path, k->name);
			goto done;
		}
		x = json_number_value(v);
		if (!isfinite(x) || x < k->min || x > k->max) {
			snprintf(errbuf, errlen, "config %s: \"%s\" is %g, must be between %g and %g",
				path, k->name, x, k->min, k->max);
			goto done;
		}
		*(double *)((char *)&c + k->off) = x;
	}
	if ((v = json_object_get(root, "log_level"))) {
		if (!json_is_string(v) || (c.log_level = dmn_log_level_parse(json_string_value(v))) < 0) {
			snprintf(errbuf, errlen, "config %s: \"log_level\" must be one of \"error\", \"warn\", \"info\", \"debug\"", path);
			goto done;
		}
	}
	if ((v = json_object_get(root, "syslog"))) {
		if (!json_is_boolean(v)) {
			snprintf(errbuf, errlen, "config %s: \"syslog\" must be true or false", path);
			goto done;
		}
		c.use_syslog = json_is_true(v);
	}
	if ((v = json_object_get(root, "web")) && load_web(&c, v, path, errbuf, errlen) < 0)
		goto done;
	if (c.backoff_base_s > c.backoff_max_s) {
		snprintf(errbuf, errlen, "config %s: \"backoff_base_s\" (%g) is larger than \"backoff_max_s\" (%g)",
			path, c.backoff_base_s, c.backoff_max_s);
		goto done;
	}
	*out = c;
	error = 0;
done:
	json_decref(root);
	return error;
}

/* The keys besides the numbers: the daemon's own and those of other parts
 * of schoolsync kept in the same file ("actor": the CLI's default actor). */
static const char *const other_keys[] = { "actor", "log_level", "syslog", "web" };

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1, sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			cur[j] = del < ins ? (del < sub ? del : sub) : (ins < sub ? ins : sub);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

int dmn_config_unknown(const char *path, char *errbuf, size_t errlen)
{
	json_t *root, *v;
	const char *key;
	size_t off = 0;
	int n = 0;

	errbuf[0] = 0;
	if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)))
		return 0; /* a missing or bad file is dmn_config_load's to report */
	json_object_foreach(root, key, v) {
		const char *best = NULL;
		size_t i, d, bestd = 3;
		int known = 0;
		for (i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]) + sizeof(other_keys) / sizeof(other_keys[0]); i++) {
			const char *k = i < sizeof(num_keys) / sizeof(num_keys[0]) ? num_keys[i].name :
				other_keys[i - sizeof(num_keys) / sizeof(num_keys[0])];
			if (strcmp(k, key) == 0) {
				known = 1;
				break;
			}
			if ((d = edit_distance(key, k)) < bestd) {
				bestd = d;
				best = k;
			}
		}
		if (known)
			continue;
		if (n++ == 0)
			off += (size_t)snprintf(errbuf + off, off < errlen ? errlen - off : 0, "config %s: unknown key", path);
		if (off < errlen)
			off += (size_t)snprintf(errbuf + off, errlen - off, "%s \"%s\"%s%s%s", n > 1 ? "," : "", key,
				best ? " (did you mean \"" : "", best ? best : "", best ? "\"?)" : "");
	}
	(void)v;
	json_decref(root);
	return n;
}
