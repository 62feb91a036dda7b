/* Hybrid logical clock (Kulkarni et al.), packed in one 64-bit integer so
 * comparisons are integer comparisons. The counter saturating would need
 * 65536 events in one millisecond; then we borrow the next millisecond.
 * The range is bounded (hlc.h) so that no arithmetic on a valid HLC can
 * overflow, and a clock that is plainly wrong cannot sign anything. */
#include <stdio.h>

#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"

uint64_t ssync_hlc_ms(uint64_t hlc)
{
	return hlc >> SSYNC_HLC_COUNTER_BITS;
}

int ssync_hlc_in_range(uint64_t hlc)
{
	return hlc >= SSYNC_HLC_MIN && hlc <= SSYNC_HLC_MAX;
}

uint64_t ssync_hlc_tick(uint64_t last, uint64_t now_ms)
{
	uint64_t fresh;

	if (now_ms > SSYNC_HLC_MAX_MS)
		now_ms = SSYNC_HLC_MAX_MS;
	fresh = now_ms << SSYNC_HLC_COUNTER_BITS;
	if (fresh > last)
		return fresh;
	return last + 1;
}

uint64_t ssync_hlc_observe(uint64_t last, uint64_t remote)
{
	return remote > last ? remote : last;
}

int ssync_hlc_next(uint64_t last, uint64_t now_ms, uint64_t *out, ssync_error *err)
{
	char when[40];

	*out = 0;
	if (now_ms < SSYNC_HLC_MIN_MS || now_ms > SSYNC_HLC_MAX_MS) {
		if (now_ms <= SSYNC_HLC_MAX_MS)
			ssync_hlc_format(now_ms << SSYNC_HLC_COUNTER_BITS, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "%llu ms", (unsigned long long)now_ms);
		ssync_error_set(err, SSYNC_ECLOCK, "this computer's clock reads %s, outside the range an entry "
			"may carry (2000-01-01 to 2999-12-31 UTC); nothing was written (E_CLOCK)", when);
		ssync_error_hint(err, "set this PC's date, time and time zone correctly (a dead CMOS battery "
			"resets them), then write again");
		return SSYNC_ECLOCK;
	}
	/* last beyond the range can only come from a damaged replica: refuse too */
	if (last >= SSYNC_HLC_MAX) {
		ssync_error_set(err, SSYNC_ECLOCK, "this node's clock has reached the latest time an entry may "
			"carry (2999-12-31T23:59:59.999Z); nothing was written (E_CLOCK)");
		ssync_error_hint(err, "this node signed entries with a wrong far-future time; ask the district hub "
			"to re-enrol it (docs/OPERATIONS.md)");
		return SSYNC_ECLOCK;
	}
	*out = ssync_hlc_tick(last, now_ms);
	return 0;
}

void ssync_hlc_format(uint64_t hlc, char *buf, unsigned int len)
{
	(void)ssync_time_utc((int64_t)ssync_hlc_ms(hlc), 1, buf, len);
}
