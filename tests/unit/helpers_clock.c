/* The test clock: linked into test executables only (tests/CMakeLists.txt),
 * it replaces src/core/wallclock.c at link time. SCHOOLSYNC_FAKE_TIME_MS
 * (milliseconds since the epoch) sets the time; unset, the real clock. */
#include <stdlib.h>
#include <time.h>

#include "schoolsync/hlc.h"

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
