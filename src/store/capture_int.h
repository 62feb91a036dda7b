#ifndef SSYNC_CAPTURE_INT_H
#define SSYNC_CAPTURE_INT_H

#include <jansson.h>

#include "schoolsync/keys.h"
#include "store_int.h"

/*
 * The write policy, supplied by the layer above (sync/policy.c) so that the
 * store does not depend on trust: before anything is signed, capture asks
 * it whether the writer may make each op.
 */
typedef struct ssync_write_policy {
	/* The writer's role and school; *managed 0: no policy applies. @p pk
	 * is the signing key (its key generation decides whether it may sign),
	 * @p hlc the first HLC the write signs: a certificate of that key must
	 * cover it, as receivers judge (TRUST.md §4); *until is its end (ms,
	 * 0 = none) and *max_seq the node's revocation cut (0 = none), which
	 * later entries of the same write must not pass. */
	int (*local)(ssync_store *st, const char *node, const unsigned char *pk, uint64_t hlc, int *managed,
		char role[16], char school[SSYNC_NODE_ID_MAX + 1], int64_t *until, int64_t *max_seq, ssync_error *err);
	/* One op: 0 or a failure in err (see policy_int.h). Ownership follows
	 * the key, so capture passes no merge state (@p state NULL). */
	int (*check_op)(ssync_store *st, const char *role, const char *school, const json_t *op,
		const json_t *state, int found, int *column_rule, ssync_error *err);
} ssync_write_policy;

/* Who signs local entries, and the policy their writes must pass (NULL: none). */
typedef struct ssync_signer {
	const char *node;
	const char *district;
	const ssync_keypair *kp;
	const char *actor;
	const ssync_write_policy *policy;
	int clock_override; /* the hub may sign with a clock outside the witnessed window */
	ssync_write_check_cb check; /* NULL, or a check of every changed row before signing */
	void *check_payload;
} ssync_signer;

/* Entry size bounds for splitting big writes (docs/FORMAT.md). */
#define SSYNC_ENTRY_TARGET_BYTES (256 * 1024)
#define SSYNC_ENTRY_MAX_OPS 2000

/*
 * Prepare and run user SQL with the write authorizer; writes are captured
 * and recorded as signed entries. Runs its own transaction.
 */
int ssync_capture__exec(ssync_store *st, const ssync_signer *who, const char *sql,
	int nparams, const char *const *params, ssync_row_cb cb, void *payload,
	ssync_write_result *res, ssync_error *err);

/* A cell that must become a version even when the SQL leaves it unchanged. */
typedef struct ssync_capture_force {
	const char *table, *pk, *column;
} ssync_capture_force;

/*
 * Like ssync_capture__exec (writes only, no result rows), but when the SQL
 * changed nothing, @p force's cell is still written with its current value
 * as a new version whose prevs are all the cell's leaves: that resolves a
 * conflict on every replica in one entry even when the chosen value is the
 * one shown (docs/MERGE.md).
 */
int ssync_capture__exec_force(ssync_store *st, const ssync_signer *who, const char *sql,
	int nparams, const char *const *params, const ssync_capture_force *force,
	ssync_write_result *res, ssync_error *err);

#endif
