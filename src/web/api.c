/* /api/session, /api/status (with its long poll) and /api/sync: who is
 * logged in, and the node's sync state exactly as `schoolsync status
 * --json` builds it -- from the daemon over its control socket when one
 * runs (even when this server runs inside it: the answer is built on the
 * daemon's loop, this thread only waits), else from the replica. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schoolsync/control.h"
#include "schoolsync/status.h"
#include "schoolsync/store.h"
#include "web_int.h"

/* A long poll waits at most this long for a change (browsers and proxies
 * keep a request open for 30 s or more). */
#define LONG_POLL_S 25

int ssync_web__node_role(const char *home, char *role, size_t rlen, char *school, size_t slen,
	char *node, size_t nlen, char *district, size_t dlen, ssync_error *err)
{
	ssync_status *st = NULL;
	int error;

	if ((error = ssync_status_read(&st, home, err)) < 0)
		return error;
	snprintf(role, rlen, "%s", st->role);
	snprintf(school, slen, "%s", st->school_id);
	snprintf(node, nlen, "%s", st->node_id);
	snprintf(district, dlen, "%s", st->district);
	ssync_status_free(st);
	return 0;
}

enum MHD_Result ssync_web__api_session(web_req *r)
{
	char role[16], school[SSYNC_NODE_ID_MAX + 1], node[SSYNC_NODE_ID_MAX + 1], district[SSYNC_NODE_ID_MAX + 1];
	const char *al = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Language");
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_web__node_role(r->w->home, role, sizeof(role), school, sizeof(school), node, sizeof(node),
		district, sizeof(district), &err) < 0)
		return ssync_web__send_err(r, &err);
	/* Chinese unless the browser asks for English first. */
	return ssync_web__send_json(r, MHD_HTTP_OK, json_pack("{ssssss?ssss?ssss}", "actor", r->s.user, "node", node,
		"role", role[0] ? role : NULL, "district", district, "school", school[0] ? school : NULL,
		"csrf", r->s.csrf, "lang", al && strncmp(al, "en", 2) == 0 ? "en" : "zh"));
}

/* The object of `schoolsync status --json` (cli/cmd_daemon.c builds the
 * same): the daemon's answer without "ok", else what the replica says. */
static json_t *status_object(const char *home, ssync_error *err)
{
	char *resp = NULL;
	const char *problem = NULL;
	json_t *out = NULL;
	ssync_error cerr;
	int ctl;

	ssync_error_clear(&cerr);
	ctl = ssync_control_call(home, SSYNC_CONTROL_STATUS, SSYNC_CONTROL_STATUS_TIMEOUT_MS, &resp, &cerr);
	if (ctl == 0) {
		if ((out = json_loads(resp, 0, NULL)) && json_is_object(out)) {
			json_object_del(out, "ok");
		} else {
			json_decref(out);
			out = NULL;
			ssync_error_clear(&cerr);
			ctl = ssync_error_set(&cerr, SSYNC_ESCHEMA, "the daemon's answer is not JSON");
		}
	}
	free(resp);
	if (ctl < 0 && ctl != SSYNC_ENOTFOUND)
		problem = cerr.message;
	if (!out) {
		ssync_status *st = NULL;
		char *s;
		if (ssync_status_read(&st, home, err) < 0)
			return NULL;
		s = ssync_status_json(st);
		ssync_status_free(st);
		if (!s) {
			ssync_error_set(err, SSYNC_ERROR, "out of memory");
			return NULL;
		}
		out = json_pack("{s{sbss?}so}", "daemon", "running", 0, "problem", problem, "node", json_loads(s, 0, NULL));
		free(s);
	}
	{
		const char *wb = NULL;
		int on = ssync_store_walbuf_check(&wb);
		json_object_set_new(out, "walbuf", json_pack("{sbss}", "on", on, "why", wb));
	}
	return out;
}

/* Drop what changes by itself as time passes (ages, uptime, countdowns) so
 * that the rest says whether anything happened. */
static void strip_clock(json_t *v)
{
	const char *k;
	json_t *x;
	void *tmp;
	size_t i, n;

	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, k, x) {
			n = strlen(k);
			if ((n > 2 && strcmp(k + n - 2, "_s") == 0) || strcmp(k, "seconds") == 0)
				json_object_del(v, k);
			else
				strip_clock(x);
		}
	} else if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			strip_clock(json_array_get(v, i));
	}
}

/* A number that changes when the status does (FNV-1a of the status without
 * its clocks), below 2^31 so that JavaScript reads it exactly. */
static long long status_seq(json_t *st)
{
	json_t *c = json_deep_copy(st);
	char *s;
	uint32_t h = 2166136261u;
	const unsigned char *p;

	strip_clock(c);
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	for (p = (const unsigned char *)(s ? s : ""); *p; p++)
		h = (h ^ *p) * 16777619u;
	free(s);
	return (long long)(h & 0x7fffffffu);
}

enum MHD_Result ssync_web__api_status(web_req *r)
{
	const char *since = ssync_web__arg(r, "since");
	long long want = -1, seq;
	struct timespec t0, t1;
	ssync_error err;
	json_t *st;

	if (since) {
		char *end;
		want = strtoll(since, &end, 10);
		if (*since == 0 || *end || want < 0)
			return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
				"since must be the seq of an earlier answer, a number");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssync_error_clear(&err);
		if (!(st = status_object(r->w->home, &err)))
			return ssync_web__send_err(r, &err);
		seq = status_seq(st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (want < 0 || seq != want || t1.tv_sec - t0.tv_sec >= LONG_POLL_S)
			break;
		/* Polling the daemon once a second: its status answer is one
		 * read transaction; a sync round takes seconds. */
		json_decref(st);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
	json_object_set_new(st, "seq", json_integer(seq));
	return ssync_web__send_json(r, MHD_HTTP_OK, st);
}

enum MHD_Result ssync_web__api_sync(web_req *r)
{
	char *resp = NULL;
	ssync_error err;
	json_t *o;

	ssync_error_clear(&err);
	if (ssync_control_call(r->w->home, SSYNC_CONTROL_SYNC_NOW, SSYNC_CONTROL_STATUS_TIMEOUT_MS, &resp, &err) < 0) {
		if (err.code == SSYNC_ENOTFOUND)
			ssync_error_hint(&err, "start the daemon (schoolsyncd) so that it syncs, or run: schoolsync sync");
		return ssync_web__send_err(r, &err);
	}
	o = json_loads(resp, 0, NULL);
	if (!json_is_true(json_object_get(o, "ok"))) {
		/* the daemon's refusal: {"ok":false,"error":{..}} (docs/CONTROL.md) */
		if (ssync_error_parse_json(&err, resp, strlen(resp)) < 0)
			ssync_error_set(&err, SSYNC_ERROR, "the daemon refused the sync without saying why");
		free(resp);
		json_decref(o);
		return ssync_web__send_err(r, &err);
	}
	free(resp);
	{
		json_t *q = json_object_get(o, "queued");
		json_t *ans = json_pack("{sbsO}", "started", 1, "queued", q ? q : json_null());
		json_decref(o);
		return ssync_web__send_json(r, MHD_HTTP_OK, ans);
	}
}
