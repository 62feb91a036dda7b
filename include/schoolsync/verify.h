#ifndef SSYNC_VERIFY_H
#define SSYNC_VERIFY_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/verify.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** What checking a replica against its own log found. */
typedef struct ssync_verify_report {
	int64_t entries;        /**< entries held */
	int64_t bad_signature;  /**< entries whose signature fails */
	int64_t bad_chain;      /**< entries that do not chain */
	int64_t not_applied;    /**< entries held but not applied (held back) */
	char state_hash[65];    /**< the replica's state hash */
	char rebuilt_hash[65];  /**< state hash rebuilt from the log alone */
	int drift;              /**< 1 if they differ: data changed outside the log */
	int64_t conflicts;      /**< conflicted cells in the replica */
	int64_t rebuilt_conflicts;
	int64_t unreadable;     /**< entries held that do not parse */
	int tamper;             /**< 1 if the schema or internal state (trust tables) is not what
	                             schoolsync and the signed data make it: changed with another tool */
	int64_t witness_forks;  /**< other checkpoints the hub signed for positions held: hub equivocation
	                             (E_WITNESS_FORK, docs/TRUST.md §4a), kept as evidence */
} ssync_verify_report;

/**
 * Re-check every entry held (signatures, chains) and rebuild the data from
 * the log alone in a scratch database, then compare with the replica.
 * Also holds the replica's schema against the one schoolsync creates, and
 * the trust tables against the signed trust objects held.
 * Returns 0 when everything agrees, SSYNC_ETAMPER when the schema or the
 * trust tables were changed outside schoolsync, SSYNC_EFORK when evidence of
 * the hub signing two checkpoints for one position is held, SSYNC_ECORRUPT
 * when anything else does not agree (details in @p rep; the message names the
 * first problem).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_verify_replica(ssync_node *n,
	ssync_verify_report *rep, ssync_error *err);

#endif
