#ifndef SSYNC_WITCLOCK_INT_H
#define SSYNC_WITCLOCK_INT_H

#include "store_int.h"

/*
 * 0 if this PC's clock may sign @p hlc (the write's first HLC; @p head_hlc
 * the node's own newest entry's): no checkpoint held, or the clock lies in
 * [latest witnessed time - 10 min, latest witnessed time + 366 days] and
 * @p hlc is at most 24 h past both the clock and that time. Otherwise
 * SSYNC_ECLOCK with what the clock says, what the district says and how to
 * fix it. @p override (the hub only) skips the check.
 */
int ssync_store__witness_clock(ssync_store *st, int override, uint64_t hlc, uint64_t head_hlc, ssync_error *err);

#endif
