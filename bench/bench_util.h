#ifndef SSYNC_BENCH_UTIL_H
#define SSYNC_BENCH_UTIL_H

/* What every benchmark program needs: a monotonic clock and a way out. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "schoolsync/error.h"

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_die(const char *what, const ssync_error *err)
{
	fprintf(stderr, "%s: %s\n", what, err->message);
	exit(1);
}

#endif
