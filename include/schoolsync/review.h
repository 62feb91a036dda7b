#ifndef SSYNC_REVIEW_H
#define SSYNC_REVIEW_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "store.h"

/* Layer store (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_STORE
#error "schoolsync/review.h is layer store: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** One version of a conflicted cell. */
typedef struct ssync_conflict_leaf {
	const char *value_json; /**< the value as JSON text */
	const char *node;       /**< who wrote it */
	int64_t seq;            /**< in which entry */
	uint64_t hlc;
	const char *actor;      /**< the actor recorded in that entry ("" if unknown) */
	int winner;             /**< 1 for the visible (deterministic) winner */
} ssync_conflict_leaf;

typedef struct ssync_conflict {
	const char *table;
	const char *pk;
	const char *column;     /**< "$row" for the row's existence */
	int nleaves;
	const ssync_conflict_leaf *leaves; /**< sorted: winner first, then by (hlc, node) descending */
} ssync_conflict;

typedef int (*ssync_conflict_cb)(const ssync_conflict *c, void *payload);

/** Every cell with more than one leaf, ordered by table, key, column. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_review_conflicts(ssync_store *st,
	ssync_conflict_cb cb, void *payload, ssync_error *err);

typedef struct ssync_quarantine_item {
	int64_t id;
	const char *node;
	int64_t seq;
	const char *code;     /**< e.g. "E_SIG" */
	const char *reason;
	const char *source;   /**< remote:branch it came from */
	const char *received; /**< UTC time */
	const char *line;     /**< the offending line (may be NULL or binary) */
	int line_len;
} ssync_quarantine_item;

typedef int (*ssync_quarantine_cb)(const ssync_quarantine_item *q, void *payload);

SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_review_quarantine(ssync_store *st,
	ssync_quarantine_cb cb, void *payload, ssync_error *err);

#endif
