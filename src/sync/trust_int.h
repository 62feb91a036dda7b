#ifndef SSYNC_TRUST_INT_H
#define SSYNC_TRUST_INT_H

/* Receiving the district branch (trust.c, docs/TRUST.md §3). */

#include "schoolsync/exchange.h"
#include "store_int.h"
#include "tobj_int.h"
#include "trustdb_int.h"

/*
 * Verify and load the trust objects that commit @p to adds over @p from
 * ("" = none) into @p st, in one transaction. On a bad object (or a file
 * changed) nothing is loaded; *bad is set to the code (SSYNC_EREWRITE for a
 * changed file, SSYNC_ECORRUPT for a commit or tree of the wrong shape, else
 * SSYNC_ECERT), @p why
 * says which file and why, and 0 is returned. *changed counts new objects.
 */
int ssync_trust__load_branch(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, int *changed, int *bad, char *why, size_t whylen, ssync_error *err);

/* The same for @p n files (path, data, len) held in memory. */
int ssync_trust__load_files(ssync_store *st, int n, char *const *paths, char *const *datas, const size_t *lens,
	int *changed, int *bad, char *why, size_t whylen, ssync_error *err);

/*
 * Sync hook: process refs/remotes/<remote>/district (fast-forward only,
 * every new object verified against the pinned root), advance
 * refs/heads/district, rebuild if trust data changed for nodes we hold
 * entries of. A rewritten or invalid district branch is quarantined, not
 * followed (*rewritten / *quarantined count it). No-op when unmanaged.
 */
/*
 * After a district update was loaded: rebuild when trust objects changed
 * (@p changed) under entries held, or when checkpoints beyond position
 * @p wfrom (the count held before) change a verdict (witness.c).
 */
int ssync_trust__after_load(ssync_store *st, int changed, int64_t wfrom, ssync_error *err);

int ssync_trust__receive_district(ssync_store *st, ssync_exchange *ex, const char *remote,
	int *rewritten, int64_t *quarantined, ssync_error *err);

#endif
