#ifndef SSYNC_WITNESS_PUB_INT_H
#define SSYNC_WITNESS_PUB_INT_H

/* Hub checkpoints, the hub's side (witness_pub.c). */

#include "schoolsync/exchange.h"
#include "schoolsync/node.h"

/*
 * ssync_witness_publish on an open exchange (the sync round's): a
 * checkpoint when a head is new, or the latest is @p min_age ms old or
 * more (0: always). Returns 1 (nothing done) when this node is not a
 * managed hub, 2 (nothing done) when it is a hub but not the district's
 * witness (witness.c: only one hub signs), 0 when done (*pos: last position written, 0 if none was
 * due), < 0 on failure.
 */
int ssync_witness__publish(ssync_node *n, ssync_exchange *ex, int64_t min_age, int64_t *pos, ssync_error *err);

#endif
