#ifndef SSYNC_ADMIT_INT_H
#define SSYNC_ADMIT_INT_H

#include "entry_int.h"
#include "store_int.h"

/*
 * Admission of one parsed, authentic entry (docs/FORMAT.md §3 steps 6-7):
 * the one check that both the writer (on what it is about to sign) and
 * every receiver (before applying) run, so that everything a node signs,
 * every receiver accepts.
 *   SSYNC_ESCHEMA  newer schema, unknown table or column: a receiver stops
 *                  the branch there (an upgrade may make it valid);
 *   SSYNC_EVALUE   a key or value no receiver accepts (ssync_entry__admit_values):
 *                  a receiver keeps the entry as refused (state 3) and the
 *                  chain goes on.
 */
int ssync_admit__entry(ssync_store *st, const ssync_entry *e, ssync_error *err);

/* The writer's side: parse @p body exactly as a receiver would (canonical
 * form included), then ssync_admit__entry. */
int ssync_admit__body(ssync_store *st, const char *body, size_t len, ssync_error *err);

#endif
