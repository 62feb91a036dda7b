/* The writer's clock against hub-witnessed time (docs/TRUST.md §4a), run
 * by capture before anything is signed. Reads the newest checkpoint's time
 * from ssync_witness (loaded by the sync layer, schema/005_witness.sql). */
#include <stdio.h>
#include <string.h>

#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"
#include "witclock_int.h"

/* Witnessed-time allowances (mirrors of schoolsync/witness.h, a higher layer). */
#define WITNESS_ALLOW_MS INT64_C(600000)            /* 10 minutes */
#define WITNESS_WRITER_AHEAD_MS INT64_C(31622400000) /* 366 days */
#define WITNESS_HOLD_MS INT64_C(86400000)           /* 24 hours */

/*
 * The writer's clock against the latest time the hub witnessed (the newest
 * checkpoint this replica holds, docs/TRUST.md §4a): a clock behind it, or
 * more than a year past it, signs nothing -- receivers would hold or refuse
 * what it writes. Nor does an HLC that a correct clock cannot bring back:
 * each entry's HLC exceeds the node's previous one and every entry it
 * applied, so after writing with a clock years ahead (before it held a
 * checkpoint) the node's entries stay dated then, more than H past any
 * time the hub will witness them: held for good everywhere. The hub, whose
 * clock is the witness, may override (docs/OPERATIONS.md).
 */
int ssync_store__witness_clock(ssync_store *st, int override, uint64_t hlc, uint64_t head_hlc, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(time), 0) FROM ssync_witness", err);
	int64_t wt = 0, now = (int64_t)ssync_hlc_wall_ms(), ms = (int64_t)ssync_hlc_ms(hlc), ref;
	char a[40], b[40], c[40];
	int r;

	if (!q)
		return SSYNC_ERROR;
	if ((r = ssync_store__step_row(st, q, "read the witnessed time", err)) > 0)
		wt = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (r < 0)
		return r;
	if (wt == 0 || override)
		return 0;
	if (now < (int64_t)SSYNC_HLC_MIN_MS || now > (int64_t)SSYNC_HLC_MAX_MS)
		return 0; /* ssync_hlc_next says what is wrong with this reading */
	(void)ssync_time_utc(now, 0, a, sizeof(a));
	(void)ssync_time_utc(wt, 0, b, sizeof(b));
	if (now < wt - WITNESS_ALLOW_MS || now > wt + WITNESS_WRITER_AHEAD_MS) {
		if (now < wt)
			ssync_error_set(err, SSYNC_ECLOCK, "this computer's clock reads %s, but the district hub had already "
				"witnessed %s (%lld min later); nothing was written (E_CLOCK)", a, b, (long long)((wt - now) / 60000));
		else
			ssync_error_set(err, SSYNC_ECLOCK, "this computer's clock reads %s, %lld days past the latest time the "
				"district hub witnessed (%s); nothing was written (E_CLOCK)", a, (long long)((now - wt) / 86400000), b);
		if (now < wt)
			ssync_error_hint(err, "set this PC's date, time and time zone correctly (or turn on network time), then "
				"write again; if they are right, the hub's clock was ahead when it signed: the hub corrects it with "
				"'schoolsync district reset-witness' (docs/OPERATIONS.md \"The hub's own clock was wrong\")");
		else
			ssync_error_hint(err, "set this PC's date, time and time zone correctly (or turn on network time), then "
				"write again; docs/OPERATIONS.md \"Clock refused\"");
		return SSYNC_ECLOCK;
	}
	/* every valid HLC and witnessed time is below 2^61 ms: no overflow */
	ref = now > wt ? now : wt;
	if (ms <= ref + WITNESS_HOLD_MS)
		return 0;
	(void)ssync_time_utc(ms, 0, c, sizeof(c));
	if ((int64_t)ssync_hlc_ms(head_hlc) > ref + WITNESS_HOLD_MS) {
		ssync_error_set(err, SSYNC_ECLOCK, "this node already signed entries dated up to %s, more than a day past this "
			"computer's clock (%s) and the time the district hub witnessed (%s); each entry must be dated after the "
			"one before, and every school holds such entries for good (W_FUTURE_HLC); nothing was written (E_CLOCK)",
			c, a, b);
		(void)ssync_time_utc(ms - WITNESS_HOLD_MS, 0, c, sizeof(c));
		ssync_error_hint(err, "this node wrote while its clock was ahead: writes go on once this computer's correct "
			"clock reaches %s (a day before them); if that is too far, ask the district hub to re-enrol it with the "
			"cut before the first such entry (docs/OPERATIONS.md §7)", c);
	} else {
		ssync_error_set(err, SSYNC_ECLOCK, "this node applied an entry dated %s, more than a day past this computer's "
			"clock (%s) and the time the district hub witnessed (%s); what it signs now would be dated after it and "
			"held for good by every school (W_FUTURE_HLC); nothing was written (E_CLOCK)", c, a, b);
		ssync_error_hint(err, "sync with the district hub first: its checkpoints hold such entries back and the "
			"replica is rebuilt without them; then write again");
	}
	return SSYNC_ECLOCK;
}
