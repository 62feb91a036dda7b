/* The daemon's own part of a status answer (docs/CONTROL.md §5): itself,
 * its settings, and per remote its schedule and the last round's outcome. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "schoolsync/timefmt.h"

json_t *dmn_report_json(const ssync_sync_report *rep)
{
	char *s = ssync_sync_report_json(rep);
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;

	free(s);
	return o ? o : json_null();
}

/* Seconds since the epoch as the UTC text of the control protocol. */
static void iso(int64_t t, char *buf, size_t n)
{
	(void)ssync_time_utc(t * 1000, 0, buf, n);
}

static void set_time(json_t *o, const char *key, const char *age_key, int64_t t, int64_t now)
{
	char buf[32];

	if (!t) {
		json_object_set_new(o, key, json_null());
		return;
	}
	iso(t, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
	if (age_key)
		json_object_set_new(o, age_key, json_integer(now - t));
}

json_t *dmn_remotes_json(dmn *d)
{
	json_t *arr = json_array();
	uint64_t now = dmn_now(d);
	int64_t wall = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < d->nremotes; i++) {
		dmn_remote *r = d->remotes[i];
		json_t *o = json_object();
		const char *state = r->s.running ? "running" : r->s.failures ? "backoff" : r->ok_rounds ? "ok" : "waiting";
		json_object_set_new(o, "name", json_string(r->name));
		json_object_set_new(o, "url", r->url ? json_string(r->url) : json_null());
		json_object_set_new(o, "state", json_string(state));
		set_time(o, "last_attempt", NULL, r->last_attempt, wall);
		set_time(o, "last_success", "last_success_age_s", r->last_success, wall);
		if (r->last_error_at) {
			json_t *e = json_pack("{ssss}", "code", r->last_error_code, "message", r->last_error_msg);
			set_time(e, "at", "age_s", r->last_error_at, wall);
			json_object_set_new(o, "last_error", e);
		} else {
			json_object_set_new(o, "last_error", json_null());
		}
		json_object_set_new(o, "failures", json_integer(r->s.failures));
		json_object_set_new(o, "backoff_s", json_real(r->s.backoff_s));
		if (r->s.running) {
			json_object_set_new(o, "next_attempt", json_null());
			json_object_set_new(o, "next_attempt_in_s", json_null());
		} else {
			double in_s = ssync_sched_due_in_s(&r->s, now);
			set_time(o, "next_attempt", NULL, wall + (int64_t)(in_s + 0.5), wall);
			json_object_set_new(o, "next_attempt_in_s", json_real(in_s));
		}
		json_object_set_new(o, "rounds_ok", json_integer((json_int_t)r->ok_rounds));
		json_object_set_new(o, "rounds_failed", json_integer((json_int_t)r->failed_rounds));
		json_object_set_new(o, "last_duration_s", r->completed ? json_real(r->last_seconds) : json_null());
		json_object_set_new(o, "last_report", r->has_report ? dmn_report_json(&r->last_report) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *dmn_daemon_json(dmn *d)
{
	int64_t wall = (int64_t)time(NULL);
	char started[32];
	json_t *o;

	iso(d->started, started, sizeof(started));
	o = json_pack("{sbsIsssssIss}", "running", 1, "pid", (json_int_t)getpid(), "home", d->home,
		"started", started, "uptime_s", (json_int_t)(wall - d->started), "cli", d->cli);
	json_object_set_new(o, "busy", d->job ? json_string(d->job_is_list ? "remote list" :
		d->job_names) : json_null());
	json_object_set_new(o, "remotes_known", json_boolean(d->remotes_known));
	json_object_set_new(o, "web", dmn_web_json(d));
	json_object_set_new(o, "settings", json_pack("{sfsfsfsfsfsfsfsfssso}",
		"sync_interval_s", d->cfg.sync_interval_s, "debounce_s", d->cfg.debounce_s,
		"deadline_s", d->cfg.deadline_s, "backoff_base_s", d->cfg.backoff_base_s,
		"backoff_max_s", d->cfg.backoff_max_s, "kill_grace_s", d->cfg.kill_grace_s,
		"stop_grace_s", d->cfg.stop_grace_s, "poll_s", d->cfg.poll_s,
		"log_level", dmn_log_level_name(d->cfg.log_level), "syslog", json_boolean(d->cfg.use_syslog)));
	return o;
}

