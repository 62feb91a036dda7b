#ifndef SSYNC_SYNC_INT_H
#define SSYNC_SYNC_INT_H

#include "entry_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/sync.h"
#include "store_int.h"

/* Segment path for a segment whose first entry is @p first_seq. */
void ssync_sync__segment_path(char *buf, size_t len, int64_t first_seq);

#endif
