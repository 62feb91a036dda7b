#ifndef SSYNC_READAHEAD_INT_H
#define SSYNC_READAHEAD_INT_H

#include <stddef.h>

#include "entry_int.h"

/*
 * Parsing and signature checks of received lines, worked out on the second
 * core ahead of the apply (readahead.c). The apply still takes every line
 * in order and makes every decision; what it gets here is only the parsed
 * entry and, for each candidate key, whether the signature verifies.
 */
typedef struct ssync_ahead ssync_ahead;

#define SSYNC_AHEAD_KEYS 8

/* @p keys: the public keys the entries' signatures are checked against. */
int ssync_ahead__new(ssync_ahead **out, const unsigned char (*keys)[SSYNC_PUBKEY_BYTES], int nkeys);
void ssync_ahead__free(ssync_ahead *a);

/* Start on the lines of @p data (split at LF); it must stay valid until
 * ssync_ahead__drop. */
void ssync_ahead__feed(ssync_ahead *a, const char *data, size_t len);

/*
 * The entry parsed from this line (the next one fed, same pointer and
 * length), with its signature results attached; NULL when the caller must
 * parse it (not reached yet, did not parse, or not the next line).
 */
ssync_entry *ssync_ahead__take(ssync_ahead *a, const char *line, size_t len);

/* Lines parsed ahead and not yet taken (for tests). */
size_t ssync_ahead__ready(ssync_ahead *a);

/* Done with the lines fed: waits for the line in progress, frees the rest. */
void ssync_ahead__drop(ssync_ahead *a);

#endif
