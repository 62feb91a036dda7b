/* Judging an entry against the district trust data (docs/TRUST.md §4):
 * certificate, signature with a certified key, revocation, validity. Inputs
 * are the entry bytes and the signed trust data only, never the receiver's
 * clock or arrival order (DESIGN §3). The write policy is policy.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "judge_int.h"
#include "reenroll_int.h"
#include "schoolsync/hlc.h"
#include "witness_int.h"
#include "schoolsync/timefmt.h"

static void fmt_ms(int64_t ms, char *buf, size_t len)
{
	(void)ssync_time_utc(ms, 1, buf, len);
}

int ssync_trust__judge(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT serial, role, school_id, pubkey, valid_from, valid_until "
		"FROM ssync_cert WHERE node=? ORDER BY serial", err);
	int64_t ms = (int64_t)ssync_hlc_ms(e->hlc), best_from = 0, best_until = 0, match_until = 0;
	int ncert = 0, key_ok = 0, matched = 0, rc, ngen = 0;
	ssync_gen gens[SSYNC_GENS_MAX];
	const ssync_gen *gen = NULL;

	v->state = 1;
	v->stop = 0;
	if (!q)
		return SSYNC_ERROR;
	/* After a re-enrolment (TRUST.md §5a) the seq decides which key may sign:
	 * generation G's key above its cut, older keys only below every cut. */
	if ((rc = ssync_trust__gens(st, e->node, gens, &ngen, err)) < 0)
		return rc;
	if (ngen > 0)
		gen = ssync_trust__gen_find(gens, ngen, ssync_trust__gen_of(gens, ngen, e->seq));
	sqlite3_bind_text(q, 1, e->node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t from = sqlite3_column_int64(q, 4);
		int64_t until = sqlite3_column_type(q, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 5);
		const unsigned char *pk = sqlite3_column_blob(q, 3);
		ncert++;
		if (sqlite3_column_bytes(q, 3) != SSYNC_PUBKEY_BYTES)
			continue;
		if (ngen > 0 && (gen ? sodium_memcmp(pk, gen->key, SSYNC_PUBKEY_BYTES) != 0 :
			ssync_trust__gen_key_is_new(gens, ngen, pk)))
			continue;
		if (ssync_entry_verify(e, pk, NULL) != 0)
			continue;
		key_ok = 1;
		best_from = from;
		best_until = until;
		if (ms >= from && (until == 0 || ms <= until)) {
			matched = 1; /* the highest serial that covers the entry decides role and school */
			match_until = until;
			snprintf(v->role, sizeof(v->role), "%s", (const char *)sqlite3_column_text(q, 1));
			snprintf(v->school, sizeof(v->school), "%s", sqlite3_column_type(q, 2) == SQLITE_NULL ? "" :
				(const char *)sqlite3_column_text(q, 2));
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read certificates");
	if (ncert == 0) {
		v->stop = 1;
		v->code = SSYNC_ECERT;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(v->code));
		snprintf(v->why, sizeof(v->why), "node %s has no certificate signed by the district root (E_CERT_UNKNOWN)", e->node);
		return 0;
	}
	if (!key_ok) {
		v->stop = 1;
		v->code = SSYNC_ESIG;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(v->code));
		if (gen)
			snprintf(v->why, sizeof(v->why), "seq %lld of node %s belongs to key generation %lld (re-enrolled after "
				"seq %lld): not signed by that generation's key (E_SIG)", (long long)e->seq, e->node,
				(long long)gen->gen, (long long)gen->after_seq);
		else
			snprintf(v->why, sizeof(v->why), "signature does not verify with any certified key of node %s (E_SIG)", e->node);
		return 0;
	}
	{
		sqlite3_stmt *r = ssync_store__stmt(st, "SELECT min(after_seq) FROM ssync_revocation WHERE node=?", err);
		int rrc;
		if (!r)
			return SSYNC_ERROR;
		sqlite3_bind_text(r, 1, e->node, -1, SQLITE_STATIC);
		/* An aggregate: always one row. A failed read must not pass for "not revoked". */
		if ((rrc = ssync_store__step_row(st, r, "read revocations", err)) < 0) {
			sqlite3_reset(r);
			return rrc;
		}
		if (sqlite3_column_type(r, 0) != SQLITE_NULL && e->seq > sqlite3_column_int64(r, 0)) {
			v->state = 3;
			snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_REVOKED));
			snprintf(v->why, sizeof(v->why), "node %s was revoked after seq %lld; entry %s#%lld is refused (E_REVOKED)",
				e->node, (long long)sqlite3_column_int64(r, 0), e->node, (long long)e->seq);
		}
		sqlite3_reset(r);
		if (v->state == 3)
			return 0;
	}
	if (!matched) {
		char a[40], b[40], w[40];
		fmt_ms(ms, w, sizeof(w));
		fmt_ms(best_from, a, sizeof(a));
		if (best_until)
			fmt_ms(best_until, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "no end");
		v->state = 3;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_CERT_EXPIRED));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld written at %s, outside its certificate's validity %s .. %s (E_CERT_EXPIRED)",
			e->node, (long long)e->seq, w, a, b);
		return 0;
	}
	/* Its time against the hub's checkpoints (TRUST.md §4a). */
	return ssync_witness__judge(st, e, match_until, v, err);
}
