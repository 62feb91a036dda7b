#ifndef SSYNC_WITCLOCK_INT_H
#define SSYNC_WITCLOCK_INT_H

#include "store_int.h"

/*
 * 0 if this PC's clock may sign: no checkpoint held, or the clock lies in
 * [latest witnessed time - 10 min, latest witnessed time + 366 days].
 * Otherwise SSYNC_ECLOCK with what the clock says, what the district says
 * and how to fix it. @p override (the hub only) skips the check.
 */
int ssync_store__witness_clock(ssync_store *st, int override, ssync_error *err);

#endif
