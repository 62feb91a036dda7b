#ifndef SSYNC_POLICY_H
#define SSYNC_POLICY_H

#include "common.h"
#include "error.h"
#include "store.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/policy.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * Write policy (docs/POLICY.md): rules are data in ssync_policy
 * (schema/003_policy.sql). A decision depends only on the op and the
 * writer's certificate (role, school) -- a row's owner is the school whose
 * id prefixes its key -- so every replica decides alike in any order.
 */

/**
 * Check one op (the JSON text of an entry op, {"t":..,"k":..,"c":[..]})
 * written by a node with @p role ("school", "hub", "auditor") speaking for
 * @p school (may be NULL), against the current merge state in @p st.
 * @return 0 if allowed; SSYNC_EPERM with a message naming table, key,
 * column and rule (E_PERM or E_PERM_COLUMN); SSYNC_ENOTFOUND if the row it
 * updates is not known yet (the decision has to wait); SSYNC_EINVAL for a
 * malformed op.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_policy_check(ssync_store *st,
	const char *role, const char *school, const char *op_json, ssync_error *err);

#endif
