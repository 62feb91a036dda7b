/* The wall clock, alone in its file so that it is a link seam: a test
 * executable links its own ssync_hlc_wall_ms (tests/unit/helpers_clock.c)
 * and this object is then never taken from the archive. The programs get
 * only this one, which reads no environment: a clerk cannot back- or
 * forward-date writes by setting a variable. */
#include <time.h>

#include "schoolsync/hlc.h"

uint64_t ssync_hlc_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0; /* below the range: the writer's guard refuses to sign */
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
