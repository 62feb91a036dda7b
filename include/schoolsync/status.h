#ifndef SSYNC_STATUS_H
#define SSYNC_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "witness.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/status.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * What a node's replica says about its sync state, read without a key and
 * without writing anything: for `schoolsync status` (with or without a
 * running daemon) and for the daemon's status answer.
 */

/** Freshness of one other node: when we last received anything from it. */
typedef struct ssync_status_node {
	char node[SSYNC_NODE_ID_MAX + 1];
	int64_t last_seq;        /**< highest seq received; 0 if never */
	char last_received[40];  /**< as sync recorded it (UTC text); "" if never */
	char role[16];           /**< role from its certificate or pin; "" if unknown */
	char school_id[SSYNC_NODE_ID_MAX + 1]; /**< the school it speaks for; "" if none */
} ssync_status_node;

/** A remote that refuses this node's own branch (E_PUSH_REJECTED and the
 *  like), as the last sync round recorded it; gone once a push gets through. */
typedef struct ssync_status_push {
	char remote[64];
	char code[32];           /**< e.g. "E_PUSH_REJECTED" */
	char message[512];
	char hint[256];          /**< what to do; "" if none */
	char at[32];             /**< when it was recorded (UTC ISO 8601 with Z) */
} ssync_status_push;

typedef struct ssync_status {
	char node_id[SSYNC_NODE_ID_MAX + 1];
	char district[SSYNC_NODE_ID_MAX + 1];
	int64_t head_seq;      /**< our own highest seq */
	int64_t exported_seq;  /**< own entries sealed for publication (meta exported_seq, 0 if unset) */
	int64_t pending;       /**< head_seq - exported_seq: own entries not yet pushed */
	int64_t conflicts;     /**< cells with several leaves */
	int64_t quarantined;   /**< entries that failed a check */
	size_t nnodes;         /**< entries in nodes */
	ssync_status_node *nodes; /**< other nodes by id: seen ones, then enrolled peers never heard from */
	size_t npush_rejected; /**< entries in push_rejected */
	ssync_status_push *push_rejected; /**< remotes our new entries do not reach */
	int managed;           /**< 1: a district root is pinned (join or district init) */
	int enrolled;          /**< 1: this node holds a certificate for itself */
	int revoked;           /**< 1: a revocation of this node is held */
	char role[16];         /**< this node's role (newest certificate); "" if none */
	char school_id[SSYNC_NODE_ID_MAX + 1]; /**< the school it speaks for; "" if none */
	int64_t cert_serial;   /**< serial of that certificate; 0 if none */
	int64_t cert_valid_until; /**< ms since the epoch; 0 = no end */
	int recovering;        /**< 1: restored from its key, own branch not read yet: writes refused */
	char rollback[512];    /**< E_ROLLBACK: why writes are refused (own branch ahead on a remote); "" if not */
	/* A report, not a decision (docs/TRUST.md §4, "Clocks far ahead"): the
	 * HLC this node's next write starts from, when it is more than
	 * SSYNC_STATUS_CLOCK_AHEAD_MS ahead of this PC's clock, and the applied
	 * entry that carries it. */
	int64_t clock_ahead_ms; /**< > 0: how far ahead; 0: not ahead */
	uint64_t clock_hlc;     /**< that HLC (when clock_ahead_ms > 0) */
	char clock_by[SSYNC_NODE_ID_MAX + 1]; /**< node of the entry carrying it; "" if not found */
	int64_t clock_by_seq;   /**< its seq */
	ssync_witness_info witness; /**< the hub's checkpoints held, entries held or refused by them */
	int64_t reenter;        /**< this node's own entries that will never apply (held for good, void,
	                             withdrawn) and were not re-entered yet: `schoolsync reenter` */
	/** Data keys of this node's own that its own key store seals to an
	 * encryption key it no longer has (restored without enc.key,
	 * docs/PRIVACY.md §8): its archives under them read [encrypted] here. */
	int64_t keys_sealed_elsewhere;
} ssync_status;

/** Status reports a node clock ahead of the PC's by more than this (1 hour). */
#define SSYNC_STATUS_CLOCK_AHEAD_MS INT64_C(3600000)

/**
 * Read the status of the node in @p home in one read transaction (a
 * consistent snapshot), opening the replica read-only. *out is NULL on
 * failure; SSYNC_ENOTFOUND if no node lives in @p home. Free the result
 * with ssync_status_free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_status_read(ssync_status **out,
	const char *home, ssync_error *err);
SSYNC_EXTERN void ssync_status_free(ssync_status *st);

/**
 * @p st as one compact JSON object (the "node" part of `schoolsync status
 * --json`, the same with or without a daemon):
 * {"node","district","head_seq","exported_seq","pending","conflicts",
 *  "quarantined","managed","enrolled","revoked","role"|null,"school"|null,
 *  "cert_serial"|null,"cert_valid_until"|null (UTC ISO 8601 with Z),"recovering","rollback"|null,
 *  "keys_sealed_elsewhere",
 *  "clock_ahead":null|{"time","ahead_s","entry"|null ("node#seq")},
 *  "witness":{"checkpoints","time"|null,"hub"|null,"held","backdated","forks"},
 *  "reenter" (own entries to re-enter, docs/OPERATIONS.md §11),
 *  "push_rejected":[{"remote","code","message","hint"|null,"at"|null}],
 *  "nodes":[{"node","last_seq","last_received"|null,"role"|null,"school"|null}]}.
 * Returns a malloc'd string the caller frees with free(); NULL if out of
 * memory.
 */
SSYNC_EXTERN char *ssync_status_json(const ssync_status *st);

/**
 * A cheap watcher for local writes: keeps one read-only connection and
 * reports our own head seq. Between calls SQLite's data_version tells
 * whether any other connection committed, so an idle poll costs one PRAGMA.
 * Use one watcher from one thread at a time. Free with
 * ssync_status_watch_free().
 */
typedef struct ssync_status_watch ssync_status_watch;

SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_status_watch_open(ssync_status_watch **out,
	const char *home, ssync_error *err);

/**
 * Our own head seq in *head_out. *changed_out (may be NULL) is 1 when the
 * replica was committed to since the previous call (always 1 on the first).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_status_watch_poll(ssync_status_watch *w,
	int64_t *head_out, int *changed_out, ssync_error *err);
SSYNC_EXTERN void ssync_status_watch_free(ssync_status_watch *w);

#endif
