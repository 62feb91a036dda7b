#ifndef SSYNC_WEVIDENCE_INT_H
#define SSYNC_WEVIDENCE_INT_H

/* Evidence of hub equivocation that travels (wevidence.c, docs/TRUST.md
 * §4a "The witness is watched"): two checkpoints the district's witness
 * signed for one position, on refs/heads/evidence/witness-<SHA-256 of the
 * content>, one parentless commit every node makes byte for byte alike. */

#include "schoolsync/exchange.h"
#include "store_int.h"
#include "wobj_int.h"

#define SSYNC_EVIDENCE_PREFIX "refs/heads/evidence/witness-"
#define SSYNC_EVIDENCE_FILE "witness.fork"
/* Two checkpoint lines at most. */
#define SSYNC_EVIDENCE_MAX (2 * SSYNC_WITNESS_MAX_LINE)
/* Evidence refs of one remote judged in one round (the rest next round). */
#define SSYNC_EVIDENCE_PER_ROUND 64

/*
 * The decoder: exactly two signed checkpoint lines (each ending in LF), for
 * the same district, hub and position, in the order of their body hashes
 * (so different). Signatures are not checked here. @p a and @p b are
 * filled (clear them with ssync_witness__wobj_clear, also on failure).
 */
int ssync_witness__evidence_parse(ssync_wobj *a, ssync_wobj *b, const char *data, size_t len, ssync_error *err);

/* The canonical content for two parsed checkpoints (either order): *out malloc'd. */
int ssync_witness__evidence_encode(const ssync_wobj *x, const ssync_wobj *y, char **out, size_t *len,
	ssync_error *err);

/* refs/heads/evidence/witness-<hex SHA-256 of data> */
void ssync_witness__evidence_ref(const char *data, size_t len, char *ref, size_t reflen);

/*
 * Judge evidence ref @p ref at commit @p tip by signed data alone: its
 * name is its content's hash, the commit is the one every node makes of it,
 * the content parses, names this district and is signed twice by the
 * district's witness. *why empty and 0: good (a, b, *data set; free data);
 * why set and 0: refused; < 0: a local failure.
 */
int ssync_witness__evidence_judge(ssync_store *st, ssync_exchange *ex, const char *ref, const ssync_oid_hex *tip,
	ssync_wobj *a, ssync_wobj *b, char **data, size_t *len, char *why, size_t whylen, ssync_error *err);

/*
 * Evidence content @p data (no ref, no commit: those are judge's) checked
 * from signed data alone (parse, this district, both the witness's) and,
 * if good, kept as if caught here (rows, quarantine, our ref). why empty:
 * taken; why set: refused, nothing changed.
 */
int ssync_witness__evidence_accept(ssync_store *st, ssync_exchange *ex, const char *data, size_t len,
	const char *source, char *why, size_t whylen, ssync_error *err);

/*
 * A node met another checkpoint @p theirs (verified: the witness signed it)
 * for a position where it holds one: keep both as evidence (table,
 * quarantine E_WITNESS_FORK) and publish the evidence ref (relayed by every
 * later push).
 */
int ssync_witness__evidence_caught(ssync_store *st, ssync_exchange *ex, const ssync_wobj *theirs,
	const char *remote, ssync_error *err);

/*
 * The remote's district branch @p rtip does not extend ours: look for
 * checkpoints it holds at positions we hold with other content the witness
 * signed (hub equivocation). Each is kept as evidence and published
 * (ssync_witness__evidence_caught); *found counts them.
 */
int ssync_witness__fork_scan(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *rtip,
	const char *remote, int *found, ssync_error *err);

/*
 * Evidence refs @p remote holds that we do not: each judged (at most
 * SSYNC_EVIDENCE_PER_ROUND new ones), good ones kept as if caught here,
 * refused ones quarantined once per tip and never taken or relayed.
 * *quarantined grows by both.
 */
int ssync_witness__evidence_receive(ssync_store *st, ssync_exchange *ex, const char *remote,
	int64_t *quarantined, ssync_error *err);

#endif
