/* Hybrid logical clock (Kulkarni et al.), packed in one 64-bit integer so
 * comparisons are integer comparisons. The counter saturating would need
 * 65536 events in one millisecond; then we borrow the next millisecond. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "schoolsync/hlc.h"

uint64_t ssync_hlc_ms(uint64_t hlc)
{
	return hlc >> SSYNC_HLC_COUNTER_BITS;
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

uint64_t ssync_hlc_wall_ms(void)
{
	const char *fake = getenv("SCHOOLSYNC_FAKE_TIME_MS");
	struct timespec ts;

	if (fake && *fake)
		return strtoull(fake, NULL, 10);
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ssync_hlc_format(uint64_t hlc, char *buf, unsigned int len)
{
	uint64_t ms = ssync_hlc_ms(hlc);
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "invalid");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		(unsigned)(ms % 1000));
}
