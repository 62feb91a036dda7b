#ifndef SSYNC_REENTER_H
#define SSYNC_REENTER_H

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer domain (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_DOMAIN
#error "schoolsync/reenter.h is layer domain: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * Re-entering a school's lost writes (`schoolsync reenter`, docs/TRUST.md
 * §10a, OPERATIONS.md §11): its own entries that will never apply -- held
 * for good (W_FUTURE_HLC), withdrawn after an equivocation (E_FORK), void
 * after a re-enrolment (E_VOID) or discarded by `sync --adopt-remote`
 * (E_ROLLBACK) -- listed in human terms and, with @p apply, written again
 * as new, normally signed entries at today's clock.
 *
 * A cell is written again only when its current versions are exactly the
 * ones the lost entry overwrote (its prevs; a prev naming an earlier lost
 * entry stands for that entry's re-entry): a cell someone changed since is
 * never overwritten, it is reported ("changed"). Each lost entry becomes at
 * most one entry, checked as add/edit/delete check a row, whose actor ends
 * in " (reenter <hash of the lost entry>)": how a later run knows it is done.
 */
typedef struct ssync_reenter_opts {
	unsigned int version;
	const char *node;         /**< whose entries to list; NULL: this node (only this node can apply) */
	const char *const *from;  /**< files holding signed lines: another home's `reenter --json`, `quarantine --json` or raw lines */
	int nfrom;
	int apply;                /**< 1: write the changes again */
	const char *actor;        /**< who re-enters; NULL: the default actor */
} ssync_reenter_opts;
#define SSYNC_REENTER_OPTS_VERSION 1
#define SSYNC_REENTER_OPTS_INIT { SSYNC_REENTER_OPTS_VERSION, NULL, NULL, 0, 0, NULL }

/**
 * List (and with o->apply, re-enter) the lost entries. *@p report is a
 * malloc'd compact JSON object the caller frees:
 * {"node","apply","written" (entries written now),"pending" (left to
 *  re-enter),"ignored":[why a line from a file was not taken],
 *  "entries":[{"entry":"node#seq","hash","kind":"held|void|fork|withdrawn|rollback",
 *   "time" (UTC, the entry's own),"actor","line","status":"pending|done|superseded|
 *   written|nothing|refused","reentered_as":"node#seq"|null,"error":{"code","message"}|null,
 *   "ops":[{"table","key","label"|null,"op":"insert|update|delete",
 *    "cells":[{"column","value","result":"ok|written|same|changed|gone|private|unsupported|"}]}]}]}.
 * A cell's result: ok (would be written), written, same (already shows the
 * value), changed (changed since: not overwritten), gone (the row was
 * deleted since or never arrived), private (student_archive: re-enter with
 * its own command), unsupported (a blob value); "" for entries done.
 * Errors before anything is listed (no such file, E_CLOCK when what it
 * would sign now would be held for good too, a frozen node) return < 0 and
 * write nothing; a refusal of one entry's write is reported in that entry
 * and the others go on.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_reenter(ssync_node *n, const ssync_reenter_opts *o,
	char **report, ssync_error *err);

#endif
