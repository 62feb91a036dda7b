#ifndef SSYNC_HELPERS_WITNESS_H
#define SSYNC_HELPERS_WITNESS_H

/* Helpers of the witness unit tests (helpers_witness.c). */

#include <stddef.h>
#include <stdint.h>

#include "node_int.h"
#include "schoolsync/keys.h"
#include "wobj_int.h"

#define T0 INT64_C(1764085566000) /* 2025-11-25 */

/* A checkpoint at position 1, time T0, listing hub#3 and sch-a#12 (calloc'd). */
ssync_wobj *wt_sample(void);
/* @p w signed by @p kp (the writer's own parse-back included); malloc'd. */
char *wt_signed_line(ssync_wobj *w, ssync_keypair *kp, size_t *len);
/* Run SQL on the node's replica; fails the test on an error. */
void wt_exec_ok(ssync_node *n, const char *sql);
/* Judge @p node#@p seq dated @p ms by the rows held: its state (1 applied,
 * 2 held, 3 refused), the code in @p qcode (24 bytes). */
int wt_judge(ssync_node *n, const char *node, int64_t seq, int64_t ms, int64_t until, char *qcode);
/* Sign checkpoint @p pos (time @p t) listing one head @p name#@p seq and
 * load it; returns what ssync_witness__load returns (1: refused, in why). */
int wt_load_one(ssync_node *n, ssync_keypair *hub, int64_t pos, int64_t t, const char *name, int64_t seq,
	char *why, size_t whylen);
/* A hub certificate row for @p node with @p kp's key. */
void wt_cert_row(ssync_node *n, const char *node, int serial, const ssync_keypair *kp);
/* A witness reset row (from..to, hub "hub", @p kp's key), applied if @p apply. */
void wt_add_reset(ssync_node *n, const ssync_keypair *kp, int64_t serial, int64_t from, int64_t to, int apply);
/* The checkpoint and listing rows as text (malloc'd). */
char *wt_dump(ssync_node *n);

#endif
