#ifndef SSYNC_BACKOFF_H
#define SSYNC_BACKOFF_H

#include <stdint.h>

#include "common.h"

/**
 * Retry delays for a remote that keeps failing, and jitter for periodic
 * work. Pure functions: the caller supplies the randomness (@p rnd, uniform
 * over 0..UINT32_MAX) so tests can pin it.
 */

/**
 * Delay in seconds before the next attempt after @p failures consecutive
 * failures (1 = the first failure). With d = min(@p max_s, @p base_s *
 * 2^(failures-1)) the result is d/2 + (rnd / 2^32) * d/2 ("equal jitter"):
 * never more than @p max_s, never less than half the un-jittered delay, so
 * delays grow while they still spread 200 schools over time. @p failures 0
 * returns 0. Non-positive or NaN @p base_s / @p max_s return 0.
 */
SSYNC_EXTERN double ssync_backoff_delay(unsigned int failures, double base_s,
	double max_s, uint32_t rnd);

/**
 * @p interval_s spread by +-@p fraction (0..1): interval * (1 - fraction +
 * 2 * fraction * rnd / 2^32). Used so that schools started together do not
 * sync with the hub in lockstep.
 */
SSYNC_EXTERN double ssync_backoff_jitter(double interval_s, double fraction,
	uint32_t rnd);

#endif
