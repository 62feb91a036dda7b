#ifndef SSYNC_JUDGE_INT_H
#define SSYNC_JUDGE_INT_H

/* Judging an entry against the trust data (judge.c). */

#include "entry_int.h"
#include "store_int.h"
#include "trustdb_int.h"

/* How an authentic-or-not entry is to be treated (trust + policy). */
typedef struct ssync_verdict {
	int state;         /* 1 apply, 2 hold (row unknown), 3 refuse (kept, not applied) */
	int stop;          /* 1: not authentic / not certified: quarantine, stop the branch */
	int code;          /* SSYNC_E* for a stop */
	char qcode[24];    /* quarantine code: E_REVOKED, E_CERT_EXPIRED, E_PERM, E_PERM_COLUMN, W_HELD ... */
	char why[480];
	char role[16];
	char school[SSYNC_NODE_ID_MAX + 1];
} ssync_verdict;

/* Judge @p e against certificates and revocations (managed mode only):
 * fills @p v (state 1 or 3, or stop). <0 on a local failure. */
int ssync_trust__judge(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err);

#endif
