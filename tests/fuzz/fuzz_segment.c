/*
 * Segments (src/sync/ingest.c, readahead.c): the bytes of one segment file
 * of a node branch as a receiver reads them: split at LF, parsed ahead on
 * the second core, then each line checked in chain order (seq, prev hash,
 * hlc, signature against the peer key of "sa", admission) and applied.
 * Every line that has a signature's shape is first signed again with the
 * test key of "sa" (fz_resign), so changed bodies get past the signature
 * to the chain, trust, admission and merge checks (TESTPLAN 23). The
 * round is rolled back and quarantine rows are removed, so the replica does
 * not grow. Oracles: a segment stops at its first bad line; after each input the replica holds
 * what it held before (no log entry, no quarantine row, same state hash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fuzz.h"
#include "ingest_int.h"
#include "schoolsync/node.h"
#include "store_int.h"

static long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long n = -1;

	FZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_node *n = fz_node();
	ssync_store *st = ssync_node_store(n);
	sqlite3 *db = ssync_store__db(st);
	static char hash0[65];
	char hash1[65], why[256];
	ssync_ingest *in = NULL;
	ssync_ingest_stats stats;
	ssync_error err;
	int64_t lines = 0;
	uint8_t *copy;
	int rc;

	if (size > 256 * 1024)
		return 0;
	if (!hash0[0])
		FZ_CHECK(ssync_node_state_hash(n, hash0, NULL) == 0);
	/* the reader keeps no pointer into our buffer past segment_done */
	copy = malloc(size ? size : 1);
	FZ_CHECK(copy != NULL);
	memcpy(copy, data, size);
	fz_resign((char *)copy, size);
	ssync_error_clear(&err);
	FZ_CHECK(ssync_ingest__begin(&in, st, "cm", "sa", "fuzz", &err) == 0);
	rc = ssync_ingest__feed(in, (const char *)copy, size, &lines, NULL, NULL, &err);
	FZ_CHECK(rc == 0 || rc == 1);
	snprintf(why, sizeof(why), "%s", rc ? ssync_ingest__stop_reason(in) : "");
	memset(&stats, 0, sizeof(stats));
	FZ_CHECK(ssync_ingest__end(in, 1, &stats, &err) == 0);
	FZ_CHECK(stats.quarantined <= 1);
	if (getenv("SSYNC_FUZZ_DEBUG")) /* what the seeds reach (docs/FUZZING.md) */
		fprintf(stderr, "segment: %lld lines, %lld applied, %lld quarantined: %s\n", (long long)lines,
			(long long)stats.applied, (long long)stats.quarantined, why);
	free(copy);
	/* a rejected first line is quarantined outside the round's transaction */
	FZ_CHECK(sqlite3_exec(db, "DELETE FROM ssync_quarantine", NULL, NULL, NULL) == SQLITE_OK);
	FZ_CHECK(count(db, "SELECT count(*) FROM ssync_entry") == 0);
	FZ_CHECK(ssync_node_state_hash(n, hash1, NULL) == 0);
	FZ_CHECK(strcmp(hash0, hash1) == 0);
	return 0;
}
