/*
 * The sync report (src/sync/sync_report.c): what `schoolsync sync --json`
 * prints and the daemon reads back from the sync it ran. Oracle: a report
 * that parses has the documented ranges and round-trips through
 * ssync_sync_report_json to the same values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schoolsync/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_sync_report r, r2;
	ssync_error err;
	char *json;

	if (size > 64 * 1024)
		return 0;
	ssync_error_clear(&err);
	if (ssync_sync_report_parse(&r, (const char *)data, size, &err) != 0) {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
		return 0;
	}
	FZ_CHECK(memchr(r.remote, '\0', sizeof(r.remote)) != NULL);
	FZ_CHECK(r.sealed >= 0 && r.received >= 0 && r.applied >= 0 && r.held >= 0 && r.quarantined >= 0);
	FZ_CHECK(r.duplicates >= 0 && r.pushed_refs >= 0 && r.rewritten_refs >= 0 && r.conflicts >= 0);
	FZ_CHECK(r.seconds >= 0 && isfinite(r.seconds));
	json = ssync_sync_report_json(&r);
	FZ_CHECK(json != NULL);
	ssync_error_clear(&err);
	FZ_CHECK(ssync_sync_report_parse(&r2, json, strlen(json), &err) == 0);
	FZ_CHECK(strcmp(r.remote, r2.remote) == 0 && r.sealed == r2.sealed && r.received == r2.received);
	FZ_CHECK(r.applied == r2.applied && r.duplicates == r2.duplicates && r.quarantined == r2.quarantined);
	FZ_CHECK(r.held == r2.held && r.pushed_refs == r2.pushed_refs && r.rewritten_refs == r2.rewritten_refs);
	FZ_CHECK(r.conflicts == r2.conflicts && r.recovering == r2.recovering);
	FZ_CHECK(r.seconds == r2.seconds);
	free(json);
	return 0;
}
