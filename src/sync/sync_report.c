/* The sync report's one JSON form: `schoolsync sync --json` prints it, the
 * daemon reads its sync child's back with the same code (docs/CONTROL.md). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schoolsync/sync.h"

/* The counters, in the order they are printed. */
#define REPORT_I64(X) X(sealed) X(received) X(applied) X(duplicates) X(quarantined) X(held)
#define REPORT_INT(X) X(pushed_refs) X(rewritten_refs)

char *ssync_sync_report_json(const ssync_sync_report *r)
{
	json_t *o = json_object();
	char *s = NULL;
	int bad = !o;

	bad = bad || json_object_set_new(o, "remote", json_string(r->remote)) != 0;
#define SET(f) bad = bad || json_object_set_new(o, #f, json_integer((json_int_t)r->f)) != 0;
	REPORT_I64(SET)
	REPORT_INT(SET)
	SET(conflicts)
#undef SET
	bad = bad || json_object_set_new(o, "seconds", json_real(r->seconds)) != 0;
	bad = bad || json_object_set_new(o, "recovering", json_boolean(r->recovering)) != 0;
	bad = bad || json_object_set_new(o, "rollback", json_boolean(r->rollback)) != 0;
	bad = bad || json_object_set_new(o, "rollback_adopted", json_integer((json_int_t)r->rollback_adopted)) != 0;
	bad = bad || json_object_set_new(o, "discarded", json_integer((json_int_t)r->discarded)) != 0;
	if (!bad)
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int get_count(json_t *o, const char *key, json_int_t max, json_int_t *out, ssync_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return ssync_error_set(err, SSYNC_ESCHEMA, "sync report: \"%s\" %s", key,
			v ? "is not a count" : "is missing");
	*out = json_integer_value(v);
	return 0;
}

int ssync_sync_report_parse(ssync_sync_report *out, const char *text, size_t len, ssync_error *err)
{
	json_error_t jerr;
	json_t *o, *v;
	json_int_t x = 0;
	const char *remote;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!(o = json_loadb(text ? text : "", text ? len : 0, 0, &jerr)))
		return ssync_error_set(err, SSYNC_ESCHEMA, "sync report is not JSON: %s (line %d)", jerr.text, jerr.line);
	if (!json_is_object(o)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "sync report is not a JSON object");
		goto done;
	}
	remote = json_string_value(json_object_get(o, "remote"));
	if (!remote || !*remote || strlen(remote) >= sizeof(out->remote)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "sync report: \"remote\" is missing or not a remote name");
		goto done;
	}
	memcpy(out->remote, remote, strlen(remote) + 1);
#define GET(f, max) \
	if ((error = get_count(o, #f, max, &x, err)) < 0) \
		goto done; \
	out->f = x;
#define GET64(f) GET(f, INT64_MAX)
#define GETINT(f) GET(f, INT_MAX)
	REPORT_I64(GET64)
	REPORT_INT(GETINT)
	GET64(conflicts)
	v = json_object_get(o, "seconds");
	if (!json_is_number(v) || !(json_number_value(v) >= 0)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "sync report: \"seconds\" %s",
			v ? "is not a duration" : "is missing");
		goto done;
	}
	out->seconds = json_number_value(v);
	/* optional: written since issue #14; absent means false */
	v = json_object_get(o, "recovering");
	if (v && !json_is_boolean(v)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "sync report: \"recovering\" is not a boolean");
		goto done;
	}
	out->recovering = json_is_true(v);
	/* optional too (E_ROLLBACK); absent means false / 0 */
	v = json_object_get(o, "rollback");
	if (v && !json_is_boolean(v)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "sync report: \"rollback\" is not a boolean");
		goto done;
	}
	out->rollback = json_is_true(v);
	if (json_object_get(o, "rollback_adopted")) {
		GET64(rollback_adopted)
	}
	if (json_object_get(o, "discarded")) {
		GET64(discarded)
	}
#undef GET
#undef GET64
#undef GETINT
done:
	json_decref(o);
	if (error < 0)
		memset(out, 0, sizeof(*out));
	return error;
}
