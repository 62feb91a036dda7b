#ifndef SSYNC_WITNESS_INT_H
#define SSYNC_WITNESS_INT_H

/* Hub-witnessed time, receiver's side (witness.c, docs/TRUST.md §4a). */

#include "entry_int.h"
#include "judge_int.h"
#include "reenroll_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/witness.h"
#include "store_int.h"
#include "wobj_int.h"

/*
 * The district's witness: the node of the hub certificate with the lowest
 * serial (the hub `district init` made). Only it signs checkpoints (a
 * second hub would fork the chain). 1 and @p out (and *serial) set if the
 * district has a hub certificate, 0 if not.
 */
int ssync_witness__witness_node(ssync_store *st, char out[SSYNC_NODE_ID_MAX + 1], int64_t *serial, ssync_error *err);

/* 1 if @p w names the witness as its hub and a certified key of it signed
 * it; 0 with @p why set if not. */
int ssync_witness__signed_by_witness(ssync_store *st, const ssync_wobj *w, char *why, size_t whylen, ssync_error *err);

/* The latest checkpoint's time (0 if none) and how many are held. */
int ssync_witness__latest(ssync_store *st, int64_t *time, int64_t *count, ssync_error *err);

/*
 * Verify one witness/ file of the district branch against the held chain
 * and the hub's certificate, and load it. Returns 1 with @p why filled if
 * it is refused, 0 if loaded, < 0 on a local failure. Runs inside the
 * caller's transaction (trust.c: all or nothing per district update).
 */
int ssync_witness__load(ssync_store *st, const char *district, const char *path, const char *data,
	size_t len, char *why, size_t whylen, ssync_error *err);

/*
 * The name under which checkpoints list (@p node, @p seq): the node id for
 * key generation 1, "<node>.g<G>" for generation G >= 2 (the branch that
 * generation travels on; @p g / @p ng: the node's re-enrolments). Returns
 * the generation.
 */
int ssync_witness__stream(const ssync_gen *g, int ng, const char *node, int64_t seq,
	char out[SSYNC_BRANCH_NAME_MAX + 1]);

/*
 * The hub's side (witness_pub.c): the heads of the log that no checkpoint
 * lists yet, one per listing name (node and key generation), sorted by name
 * (byte order). *out is malloc'd (free it), *n its length.
 */
int ssync_witness__new_heads(ssync_store *st, ssync_whead **out, int *n, ssync_error *err);

/*
 * After checkpoints beyond position @p from were loaded: 1 if a verdict on
 * an entry held may have changed (the caller rebuilds), 0 if none can.
 */
int ssync_witness__need_rebuild(ssync_store *st, int64_t from, ssync_error *err);

/*
 * Judge @p e (authentic, certified, not revoked: v->state 1) by witnessed
 * time: E_BACKDATED or E_CERT_EXPIRED (state 3), W_FUTURE_HLC (state 2), or
 * nothing. @p cert_until: valid_until of the certificate that covers it
 * (0 = no end). Entries of this node itself that no checkpoint covers yet
 * are not held for being ahead of the latest checkpoint.
 */
int ssync_witness__judge(ssync_store *st, const ssync_entry *e, int64_t cert_until, ssync_verdict *v,
	ssync_error *err);

/*
 * 1 if @p e is held for good: a checkpoint covers it and first witnessed it
 * more than SSYNC_WITNESS_HOLD_MS before its time (the rule of judge), 0 if
 * not (also: not covered yet).
 */
int ssync_witness__held_for_good(ssync_store *st, const ssync_entry *e, ssync_error *err);

#endif
