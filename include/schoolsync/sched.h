#ifndef SSYNC_SCHED_H
#define SSYNC_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/**
 * The daemon's scheduling decisions as pure functions (layer core), so they
 * are tested without sleeping: times are milliseconds on the caller's
 * monotonic clock (@p now), randomness is the caller's (@p rnd, uniform
 * over 0..UINT32_MAX), as in schoolsync/backoff.h.
 *
 * One slot per remote, and one for the remote-list refresh. A slot is due
 * when it wants to run now (a local write settled, `sync --now`) or its
 * next_due has come; a failure pushes next_due out by a capped, jittered
 * exponential backoff; a success schedules the next periodic round.
 */

typedef struct ssync_sched_cfg {
	double interval_s;      /**< periodic round per remote (and list refresh) */
	double debounce_s;      /**< quiet time after a local write */
	double backoff_base_s;  /**< first retry delay */
	double backoff_max_s;   /**< retry delay cap */
	double jitter;          /**< spread of the interval, +-fraction (0..1) */
} ssync_sched_cfg;

typedef struct ssync_sched_slot {
	uint64_t next_due;      /**< when it is due (ms) */
	unsigned int failures;  /**< failed rounds in a row */
	double backoff_s;       /**< delay chosen after the last failure; 0 after a success */
	int want_now;           /**< run as soon as nothing else runs, backoff or not */
	int dirty;              /**< local writes since its last round started */
	int running;
} ssync_sched_slot;

/** Seconds to whole milliseconds, rounded; 0 for s <= 0 or NaN. */
SSYNC_EXTERN uint64_t ssync_sched_ms(double s);

/** A round starts: running, and the wish and the writes it answers are taken. */
SSYNC_EXTERN void ssync_sched_started(ssync_sched_slot *s);

/**
 * It succeeded at @p now: no failures, next round one interval (jittered)
 * later; writes made while it ran (dirty) make it want to run again at once.
 */
SSYNC_EXTERN void ssync_sched_succeeded(ssync_sched_slot *s, const ssync_sched_cfg *c,
	uint64_t now, uint32_t rnd);

/**
 * It failed at @p now (or could not start): one more failure, next attempt
 * after ssync_backoff_delay(). Writes wait for that attempt: the backoff
 * protects the hub from a school's write burst.
 */
SSYNC_EXTERN void ssync_sched_failed(ssync_sched_slot *s, const ssync_sched_cfg *c,
	uint64_t now, uint32_t rnd);

/** The list refresh succeeded at @p now: next one exactly one interval later. */
SSYNC_EXTERN void ssync_sched_listed(ssync_sched_slot *list, const ssync_sched_cfg *c, uint64_t now);

/**
 * Local writes settled (the debounce fired): the slot is dirty, and wants
 * to run now unless it is running or backing off. Returns 1 if it now wants to.
 */
SSYNC_EXTERN int ssync_sched_settled(ssync_sched_slot *s);

/**
 * A local write at @p now: when the debounce should fire. Trailing edge
 * (now + debounce), but a steady stream of writes cannot postpone the round
 * past 6 debounce periods after the first write of the burst. *burst_start
 * (0 = no burst) is set on the first write; the caller resets it to 0 when
 * the debounce fires.
 */
SSYNC_EXTERN uint64_t ssync_sched_debounce_at(uint64_t *burst_start, uint64_t now,
	double debounce_s);

/**
 * New settings at @p now take effect at once: a slot due later than one
 * (jittered) interval, or one backoff cap when failing, is rescheduled with
 * the new values.
 */
SSYNC_EXTERN void ssync_sched_reloaded(ssync_sched_slot *s, const ssync_sched_cfg *c,
	uint64_t now, uint32_t rnd);

/** Seconds until @p s is due (0 if due or wanted now), for status. */
SSYNC_EXTERN double ssync_sched_due_in_s(const ssync_sched_slot *s, uint64_t now);

/** What to do now; see ssync_sched_next(). */
enum { SSYNC_SCHED_IDLE = -1, SSYNC_SCHED_LIST = -2 };

/** The slot of remote @p i in the caller's set. */
typedef const ssync_sched_slot *(*ssync_sched_slot_at)(const void *set, size_t i);

/**
 * The next thing to run at @p now, one at a time: SSYNC_SCHED_LIST when
 * the list refresh is needed (@p need_list) and due; else the index of the
 * remote to sync: those wanted now first (earliest next_due among them),
 * then the most overdue; else SSYNC_SCHED_IDLE. *wake_at: the earliest time
 * something not run now becomes due (UINT64_MAX: nothing is scheduled).
 * Running slots are never picked.
 */
SSYNC_EXTERN long ssync_sched_next(const ssync_sched_slot *list, int need_list,
	const void *set, size_t n, ssync_sched_slot_at at, uint64_t now, uint64_t *wake_at);

/**
 * A job started at @p started with a hard deadline of @p deadline_s that
 * is asked at @p now to stop within @p after_s: how many ms from @p now
 * until it is stopped. A stop never extends the deadline.
 */
SSYNC_EXTERN uint64_t ssync_sched_stop_in(uint64_t started, double deadline_s, uint64_t now,
	double after_s);

#endif
