#ifndef SSYNC_AUDIT_INT_H
#define SSYNC_AUDIT_INT_H

#include "schoolsync/exchange.h"
#include "store_int.h"

/*
 * The receivers' checks over whole branches, shared by `audit verify` and
 * the server-side guard (guard.c), so there is one verifier.
 */

/* The district id the genesis record of commit @p tip claims (0, or -1). */
int ssync_audit__genesis_district(ssync_exchange *ex, const ssync_oid_hex *tip, char *out, size_t len);

/* Load district commits @p dl[0..n) (oldest first) into @p st through the
 * trust receivers; on the first bad object *bad is its code and @p why says
 * which commit and why (0 returned). *objects counts verified objects. */
int ssync_audit__district(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *dl, int n, int64_t *objects,
	int *bad, char *why, size_t whylen, ssync_error *err);

/* Ingest @p node's commits @p cl[0..n) (oldest first) through the receivers'
 * ingest. *stopped: 0 all passed, 1 an entry failed (@p why is the stop
 * reason "node#seq: reason (E_CODE)"), 2 a commit rewrote a file, 3 the
 * branch stops at a re-enrolled node's void entries above its cut (E_VOID;
 * every receiver skips them silently, TRUST.md §5a; @p why says so). */
int ssync_audit__node(ssync_store *st, ssync_exchange *ex, const char *district, const char *node,
	const char *source, const ssync_oid_hex *cl, int n, int *stopped, int64_t *lines, char *why, size_t whylen,
	ssync_error *err);

#endif
