#ifndef SSYNC_CAPTURE_INT_H
#define SSYNC_CAPTURE_INT_H

#include "schoolsync/keys.h"
#include "schoolsync/node.h"
#include "store_int.h"

/* Who signs local entries. */
typedef struct ssync_signer {
	const char *node;
	const char *district;
	const ssync_keypair *kp;
	const char *actor;
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

#endif
