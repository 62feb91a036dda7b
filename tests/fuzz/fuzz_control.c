/*
 * The daemon's control socket (src/sync/control.c, src/core/error_json.c):
 * what the daemon reads (a request line) and what a client reads (a status
 * answer, for the sync --now wait, and error objects, also in a program's
 * output). Oracles: a request that parses is one of the four and its
 * canonical line parses to the same; the wait is within its documented
 * bounds; an error object that parses round-trips through ssync_error_json;
 * a failure answer is written for any message (ssync_control_error_reply).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schoolsync/control.h"
#include "schoolsync/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_control_cmd cmd, cmd2;
	ssync_error err, e2, e3;
	const char *canon;
	char *json, *text;
	int ms;

	if (size > 64 * 1024)
		return 0;
	ssync_error_clear(&err);
	if (ssync_control_parse_request((const char *)data, size, &cmd, &err) == 0) {
		FZ_CHECK(cmd >= SSYNC_CONTROL_STATUS && cmd <= SSYNC_CONTROL_SYNC_NOW_WAIT);
		canon = ssync_control_request(cmd);
		FZ_CHECK(canon[0] != '\0');
		FZ_CHECK(ssync_control_parse_request(canon, strlen(canon), &cmd2, &err) == 0 && cmd2 == cmd);
	} else {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
	}
	ms = ssync_control_sync_now_timeout_ms((const char *)data, size);
	FZ_CHECK(ms > 0 && ms <= 24 * 3600 * 1000);
	if (ssync_error_parse_json(&e2, (const char *)data, size) == 0) {
		FZ_CHECK(e2.code != 0);
		json = ssync_error_json(&e2);
		FZ_CHECK(json != NULL);
		FZ_CHECK(ssync_error_parse_json(&e3, json, strlen(json)) == 0);
		FZ_CHECK(e3.code == e2.code);
		/* a message cut at its buffer may end inside a character ('?' then) */
		if (strlen(e2.message) + 4 < sizeof(e2.message))
			FZ_CHECK(strcmp(e3.message, e2.message) == 0);
		free(json);
	}
	(void)ssync_error_parse_output(&e2, (const char *)data, size);
	text = fz_strdup(data, size); /* the message is a C string */
	json = ssync_control_error_reply(SSYNC_EINVAL, text);
	FZ_CHECK(json != NULL);
	FZ_CHECK(ssync_error_parse_json(&e2, json, strlen(json)) != 0 || e2.code == SSYNC_EINVAL);
	free(json);
	free(text);
	return 0;
}
