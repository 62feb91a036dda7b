#ifndef SSYNC_WITNESS_H
#define SSYNC_WITNESS_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"
#include "store.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/witness.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * Hub-witnessed time (docs/TRUST.md §4a). The hub signs hash-chained
 * checkpoints on the district branch: "at my time T I held node X up to
 * seq S". Receivers judge entry times against them, never against their
 * own clocks, so every replica decides the same way.
 */

/** Allowance over witnessed time before an entry counts as "from the future". */
#define SSYNC_WITNESS_ALLOW_MS INT64_C(600000)          /* 10 minutes */
/** Ahead of the time it was first witnessed by more than this: held for good. */
#define SSYNC_WITNESS_HOLD_MS INT64_C(86400000)         /* 24 hours */
/** Relay allowance: how long entries may travel (USB) before the hub sees them. */
#define SSYNC_WITNESS_RELAY_MS INT64_C(2592000000)      /* 30 days */
/** The writer refuses to sign when its clock is this far past the latest witnessed time. */
#define SSYNC_WITNESS_WRITER_AHEAD_MS INT64_C(31622400000) /* 366 days */

/** What a node holds of the hub's checkpoints (status). */
typedef struct ssync_witness_info {
	int64_t checkpoints;   /**< held (the chain's length) */
	int64_t last_time;     /**< the latest witnessed time, ms; 0 if none */
	char hub[SSYNC_NODE_ID_MAX + 1]; /**< who signed the latest */
	int64_t held;          /**< entries held W_FUTURE_HLC */
	int64_t backdated;     /**< entries refused E_BACKDATED */
	int64_t forks;         /**< other checkpoints the hub signed for a held position (evidence) */
} ssync_witness_info;

/** Fill @p out from the store. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_witness_info_get(ssync_store *st, ssync_witness_info *out,
	ssync_error *err);

/**
 * On the hub: sign and commit a checkpoint listing every head it holds
 * that no checkpoint lists yet, at its clock's time; several when more than
 * fit one. With @p force 0 nothing is written when no head is new and the
 * latest checkpoint is younger than SSYNC_WITNESS_ALLOW_MS / 2. Sets
 * *@p pos to the last position written (0: none). SSYNC_EPERM if this node
 * has no hub certificate; SSYNC_ECLOCK if the hub's clock is more than
 * SSYNC_WITNESS_WRITER_AHEAD_MS past the latest checkpoint (unless
 * SCHOOLSYNC_HUB_CLOCK_OVERRIDE=1 is set, docs/OPERATIONS.md).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_witness_publish(ssync_node *n, int force, int64_t *pos,
	ssync_error *err);

#endif
