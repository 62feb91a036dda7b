#ifndef SSYNC_INGEST_INT_H
#define SSYNC_INGEST_INT_H

#include "entry_int.h"
#include "store_int.h"

/*
 * Verify-and-apply of one node's entries, in chain order, as they arrive
 * from a branch. Every check depends only on the entry bytes, the trust data
 * and the log (never on the local clock or arrival order).
 */
typedef struct ssync_ingest ssync_ingest;

typedef struct ssync_ingest_stats {
	int64_t applied, duplicates, quarantined, refused;
	int64_t held;     /* of refused: held (W_FUTURE_HLC), not refused for good */
	int64_t fork_seq; /* > 0: the node equivocated at this seq (it is now frozen) */
	int64_t ahead;    /* entries parsed and checked before their turn (readahead.c) */
} ssync_ingest_stats;

/* Start ingesting entries of @p node (from @p source, e.g. "hub:node/sch-a"). */
int ssync_ingest__begin(ssync_ingest **out, ssync_store *st, const char *district,
	const char *node, const char *source, ssync_error *err);

/* The same for the branch of key generation @p gen (node/<id>.g<gen>, 1 =
 * node/<id>): only that generation's seqs and key (docs/TRUST.md §5a). */
int ssync_ingest__begin_gen(ssync_ingest **out, ssync_store *st, const char *district,
	const char *node, int64_t gen, const char *source, ssync_error *err);

/*
 * Feed one wire line. Returns 0 if accepted (applied, duplicate, or kept but
 * refused by policy), 1 if the entry failed a check and the branch must stop
 * here (it is quarantined with the reason), <0 on a local failure.
 */
int ssync_ingest__line(ssync_ingest *in, const char *line, size_t len, ssync_error *err);

/* The same checks, but the entry is kept as not applied (state 3) whatever
 * they say: verify replays entries the replica holds unapplied this way, so
 * the chain after them still links. */
int ssync_ingest__line_unapplied(ssync_ingest *in, const char *line, size_t len, ssync_error *err);

/*
 * Optional, around feeding the lines of one block (a segment): they are
 * parsed and their signatures checked on another core ahead of
 * ssync_ingest__line. @p data must stay valid until segment_done.
 */
void ssync_ingest__segment(ssync_ingest *in, const char *data, size_t len);
void ssync_ingest__segment_done(ssync_ingest *in);
/*
 * Feed every line of one segment (@p data, @p len), with the read-ahead.
 * After each accepted line, ++*@p lines and @p each (if set) may cancel by
 * returning non-zero (its error is in @p err). Returns 0 when all were fed,
 * 1 when a line stopped the branch or @p each cancelled, <0 on a local failure.
 */
int ssync_ingest__feed(ssync_ingest *in, const char *data, size_t len, int64_t *lines,
	int (*each)(void *payload, int64_t lines), void *payload, ssync_error *err);

/* Lines of the current segment parsed ahead and not yet fed (for tests). */
size_t ssync_ingest__ahead_ready(ssync_ingest *in);

/* Commit what was applied; frees @p in. On @p abort, roll back. */
int ssync_ingest__end(ssync_ingest *in, int abort, ssync_ingest_stats *stats, ssync_error *err);

/* Reason of the last stop (valid until end). */
const char *ssync_ingest__stop_reason(const ssync_ingest *in);

/* 1 when the last stop is a re-enrolled node's entries above the cut of
 * their key generation (void on every replica, TRUST.md §5a). */
int ssync_ingest__stop_void(const ssync_ingest *in);

/*
 * After equivocation by @p node at @p seq: withdraw its entries from that seq
 * on (state 4) and rebuild the data from the log, so every replica ends the
 * same whichever of the two versions it had applied first.
 */
int ssync_ingest__withdraw_fork(ssync_store *st, const char *node, int64_t seq, ssync_error *err);

/* Record a rejected entry (deduplicated by node, seq, code, line). */
int ssync_ingest__quarantine(ssync_store *st, const char *node, int64_t seq, int code,
	const char *reason, const char *line, size_t line_len, const char *source, ssync_error *err);

#endif
