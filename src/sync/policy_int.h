#ifndef SSYNC_POLICY_INT_H
#define SSYNC_POLICY_INT_H

/* The write policy (policy.c, docs/POLICY.md). */

#include <jansson.h>

#include "judge_int.h"

/* Policy of every op of @p e (role/school from @p v): may set v->state to
 * 3 (refused) or 2 (held) with the reason. */
int ssync_policy__check_entry(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err);

/* Version of the rules below; a replica judged under another version is
 * rebuilt (re-judged) when the node opens. 2: ownership by key namespace. */
#define SSYNC_POLICY__VERSION "2"

/* The key prefix reserved for the hub's own rows of owned tables. */
#define SSYNC_POLICY_HUB_NS "hub"

/* The school owning key @p pk of an owned table: the part before the last
 * '-' if it is a valid id other than "hub"; else "" (a hub row). 1 if a school. */
int ssync_policy__key_owner(const char *pk, char out[SSYNC_NODE_ID_MAX + 1]);

/* Check one parsed op (@p state and @p found, the pre-write merge state, are
 * not consulted: ownership follows the key). 0, SSYNC_EPERM (err names
 * table/key/column/rule; *column_rule set when a column rule refused it). */
int ssync_policy__check_op(ssync_store *st, const char *role, const char *school,
	const json_t *op, const json_t *state, int found, int *column_rule, ssync_error *err);

/* The local writer's role and school for capture (capture_int.h): *managed 0
 * means no policy; a certificate of @p pk must cover @p hlc (*until: its end;
 * *max_seq: the last seq before a revocation cut, 0 = none). */
int ssync_policy__local(ssync_store *st, const char *node, const unsigned char *pk, uint64_t hlc, int *managed,
	char role[16], char school[SSYNC_NODE_ID_MAX + 1], int64_t *until, int64_t *max_seq, ssync_error *err);

/* 1 if @p col of @p tbl is private (docs/PRIVACY.md): a column of a
 * private table (ssync_table.private) other than its key and its owner
 * column (rule owner:<col>); 0 if not; < 0 on a read failure. */
int ssync_policy__private_col(ssync_store *st, const char *tbl, const char *col, ssync_error *err);

/* The hook capture calls for each op a local write makes (see capture_int.h). */
extern const struct ssync_write_policy ssync_policy__writer;

#endif
