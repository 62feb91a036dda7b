#ifndef SSYNC_LOG_H
#define SSYNC_LOG_H

#include <stdint.h>

#include "common.h"
#include "entry.h"
#include "error.h"
#include "store.h"

/* Layer store (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_STORE
#error "schoolsync/log.h is layer store: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** One entry of the log as held, with the result of checking it again. */
typedef struct ssync_log_item {
	const ssync_entry *entry; /**< NULL when the stored entry does not parse (see problem) */
	int state;     /**< 1 applied, 2 held, 3 refused (trust/policy/value), 4 withdrawn (equivocation) */
	int sig_ok;    /**< signature verifies against the node's known key */
	int chain_ok;  /**< seq follows the previous one and prev hash matches */
	const char *node;    /**< the entry's node, also when entry is NULL */
	int64_t seq;         /**< its seq, also when entry is NULL */
	const char *problem; /**< why it does not parse (entry NULL), else NULL */
} ssync_log_item;

typedef int (*ssync_log_cb)(const ssync_log_item *item, void *payload);

/**
 * Walk the entries held, by node then seq (only @p node's if not NULL),
 * verifying signature and chain on the way. A stored entry that does not
 * parse is passed with entry NULL and the reason, and the walk goes on.
 * A non-zero return from @p cb stops the walk and is returned.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_log_foreach(ssync_store *st,
	const char *node, ssync_log_cb cb, void *payload, ssync_error *err);

/** Highest seq held for @p node (0 if none). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_log_head_seq(ssync_store *st,
	const char *node, int64_t *out, ssync_error *err);

#endif
