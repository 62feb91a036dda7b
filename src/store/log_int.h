#ifndef SSYNC_LOG_INT_H
#define SSYNC_LOG_INT_H

#include "entry_int.h"
#include "store_int.h"

/* Head of @p node's chain: *seq 0 (and hash zeroed) if it has no entries. */
int ssync_log__head(ssync_store *st, const char *node, int64_t *seq,
	unsigned char hash[SSYNC_HASH_BYTES], uint64_t *hlc, ssync_error *err);

/* Store an entry (state 1 applied, 2 held). */
int ssync_log__insert(ssync_store *st, const ssync_entry *e, int state, ssync_error *err);

/* Load entry (node, seq): SSYNC_ENOTFOUND if absent. */
int ssync_log__get(ssync_store *st, const char *node, int64_t seq, ssync_entry **out, int *state, ssync_error *err);

/*
 * Parse the stored entry in the current row of @p q: its exact body (column
 * @p body_col) and raw signature (@p sig_col), as kept in ssync_entry.
 * @p node and @p seq only name the entry in error messages.
 */
int ssync_log__parse_row(sqlite3_stmt *q, int body_col, int sig_col, const char *node, int64_t seq,
	ssync_entry **out, ssync_error *err);

/* Signing key of @p node from the peer table. */
int ssync_log__peer_key(ssync_store *st, const char *node, unsigned char pk[SSYNC_PUBKEY_BYTES], ssync_error *err);

/* Record (or replace) a node's signing key, role and school. */
int ssync_log__peer_add(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	const char *role, const char *school_id, const char *source, ssync_error *err);

/* @p e's signature verifies against its node's known key or any key ever
 * certified for it (the one check `log` makes). */
int ssync_log__sig_ok(ssync_store *st, const ssync_entry *e);

#endif
