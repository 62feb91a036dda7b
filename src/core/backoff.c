/* Retry delays: capped exponential backoff with "equal jitter" (half fixed,
 * half random), and +-fraction jitter for periodic intervals. No state and
 * no randomness of its own, so unit tests can pin every value. */
#include <math.h>

#include "schoolsync/backoff.h"

#define U32_SPAN 4294967296.0 /* 2^32 */

double ssync_backoff_delay(unsigned int failures, double base_s, double max_s, uint32_t rnd)
{
	double d;
	unsigned int i;

	if (failures == 0 || !(base_s > 0) || !(max_s > 0))
		return 0;
	d = base_s < max_s ? base_s : max_s;
	/* Double up to the cap; stop early so large counts cannot overflow. */
	for (i = 1; i < failures && d < max_s; i++)
		d *= 2;
	if (d > max_s)
		d = max_s;
	return d / 2 + ((double)rnd / U32_SPAN) * (d / 2);
}

double ssync_backoff_jitter(double interval_s, double fraction, uint32_t rnd)
{
	if (!(interval_s > 0))
		return 0;
	if (!(fraction > 0))
		return interval_s;
	if (fraction > 1)
		fraction = 1;
	return interval_s * (1 - fraction + 2 * fraction * ((double)rnd / U32_SPAN));
}
