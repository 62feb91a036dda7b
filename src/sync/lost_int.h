#ifndef SSYNC_LOST_INT_H
#define SSYNC_LOST_INT_H

/*
 * A node's own entries that will never apply (lost.c, docs/TRUST.md §10a):
 * held for good (W_FUTURE_HLC: first witnessed more than a day before
 * their time), withdrawn after an equivocation (state 4, E_FORK lines),
 * void after a re-enrolment (E_VOID) and discarded by sync --adopt-remote
 * (E_ROLLBACK). `schoolsync reenter` writes their changes again as new
 * entries (domain/reenter.c). Which were re-entered is read from the log:
 * a re-entry's actor ends in " (reenter <hash of the lost entry>)".
 */

#include "entry_int.h"
#include "store_int.h"

#define SSYNC_REENTER_MARK " (reenter "
/* the actor field's bound (FORMAT.md §1) */
#define SSYNC_ACTOR_MAX 256

typedef struct ssync_lost {
	ssync_entry *e;       /* authentic, parsed (ops) */
	char kind[12];        /* held | void | fork | withdrawn | rollback */
	int64_t done_seq;     /* > 0: this node's entry seq (not lost) re-entered it */
	int64_t super_seq;    /* > 0: a lost entry of seq super_seq re-entered it: that one is listed */
	int settled;          /* an --apply run found nothing of it to write (meta reenter_settled:<hash>) */
} ssync_lost;

/* Meta key prefix of a lost entry an --apply run found nothing to write of:
 * a local record (no entry says it), so that status stops asking. */
#define SSYNC_REENTER_SETTLED "reenter_settled:"

typedef struct ssync_lost_set {
	ssync_lost *v;
	size_t n, cap;
} ssync_lost_set;

/*
 * Collect @p node's lost entries held by this replica: its log (held for
 * good, withdrawn) and its quarantine (E_VOID, E_FORK, E_ROLLBACK lines
 * that verify under a key of the node), without duplicates, by seq.
 */
int ssync_lost__collect(ssync_store *st, const char *node, ssync_lost_set *s, ssync_error *err);

/*
 * One signed line brought from elsewhere (another home's `reenter --json`
 * or `quarantine --json`): added when it is @p node's, authentic and void
 * on this replica (an old key's entry above a re-enrolment's cut). Returns
 * 0 added (or already listed), 1 not added (@p why says why; lines of other
 * nodes: why ""), < 0 on a local failure.
 */
int ssync_lost__add_line(ssync_store *st, const char *node, const char *line, size_t len,
	ssync_lost_set *s, char *why, size_t whylen, ssync_error *err);

/* Sort by seq (then time, then hash) and mark which were re-entered
 * (done_seq, super_seq) or settled. */
int ssync_lost__marks(ssync_store *st, const char *node, ssync_lost_set *s, ssync_error *err);

/* How many of @p node's lost entries wait to be re-entered (status). */
int ssync_lost__pending(ssync_store *st, const char *node, int64_t *n, ssync_error *err);

void ssync_lost__free(ssync_lost_set *s);

/* The entry hash a re-entry's actor names; 1 if it names one. */
int ssync_lost__marker(const char *actor, unsigned char hash[SSYNC_HASH_BYTES]);
/* The actor of the re-entry of @p hash: @p actor (cut at a UTF-8 boundary
 * to fit SSYNC_ACTOR_MAX) followed by the mark. */
void ssync_lost__actor(char *out, size_t n, const char *actor, const unsigned char hash[SSYNC_HASH_BYTES]);

#endif
