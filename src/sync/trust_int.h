#ifndef SSYNC_TRUST_INT_H
#define SSYNC_TRUST_INT_H

#include <jansson.h>

#include "entry_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/keys.h"
#include "schoolsync/trust.h"
#include "store_int.h"

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

/* Policy of every op of @p e (role/school from @p v): may set v->state to
 * 3 (refused) or 2 (held) with the reason. */
int ssync_policy__check_entry(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err);

/* Check one parsed op against the pre-write merge state @p state (@p found:
 * the row had state). 0, SSYNC_EPERM (err names table/key/column/rule; 
 * *column_rule set when a column rule refused it), SSYNC_ENOTFOUND (row unknown). */
int ssync_policy__check_op(ssync_store *st, const char *role, const char *school,
	const json_t *op, const json_t *state, int found, int *column_rule, ssync_error *err);

/* The local writer's role and school for capture: *managed 0 means no policy. */
int ssync_policy__local(ssync_store *st, const char *node, int *managed,
	char role[16], char school[SSYNC_NODE_ID_MAX + 1], ssync_error *err);

/* Record a refused or held entry's reason (quarantine row with a text code). */
int ssync_trust__quarantine(ssync_store *st, const char *node, int64_t seq, const char *code,
	const char *why, const char *line, size_t len, const char *source, ssync_error *err);

/*
 * Verify and load the trust objects that commit @p to adds over @p from
 * ("" = none) into @p st, in one transaction. On a bad object (or a file
 * changed: SSYNC_EREWRITE) nothing is loaded; *bad is set to 1, @p why
 * says which file and why, and 0 is returned. *changed counts new objects.
 */
int ssync_trust__load_branch(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, int *changed, int *bad, char *why, size_t whylen, ssync_error *err);

/*
 * Sync hook: process refs/remotes/<remote>/district (fast-forward only,
 * every new object verified against the pinned root), advance
 * refs/heads/district, rebuild if trust data changed for nodes we hold
 * entries of. A rewritten or invalid district branch is quarantined, not
 * followed (*rewritten / *quarantined count it). No-op when unmanaged.
 */
int ssync_trust__receive_district(ssync_store *st, ssync_exchange *ex, const char *remote,
	int *rewritten, int64_t *quarantined, ssync_error *err);

/* 1 if @p node holds an auditor certificate (it syncs read-only). */
int ssync_trust__is_auditor(ssync_store *st, const char *node);

/* ---- trust objects (trust.c), shared with trust_admin.c ---- */

#define SSYNC_DISTRICT_REF "refs/heads/district"

enum { SSYNC_TOBJ_GENESIS = 1, SSYNC_TOBJ_CERT = 2, SSYNC_TOBJ_REVOKE = 3 };

/* One trust object, parsed. */
typedef struct ssync_tobj {
	int kind;
	char district[SSYNC_NODE_ID_MAX + 1];
	char node[SSYNC_NODE_ID_MAX + 1];
	char name[257];
	char role[16];
	char school[SSYNC_NODE_ID_MAX + 1]; /* "" = null */
	int64_t serial, created, valid_from, valid_until /* 0 = null */, after_seq;
	unsigned char key[SSYNC_PUBKEY_BYTES]; /* genesis: root; cert: the node's key */
	unsigned char sig[SSYNC_SIG_BYTES];
	char *body;
	size_t body_len;
} ssync_tobj;

void ssync_trust__tobj_clear(ssync_tobj *t);
int ssync_trust__role_valid(const char *r);
/* Encode and sign with the root; the wire line into *line (malloc'd). */
int ssync_trust__tobj_sign(ssync_tobj *t, const ssync_keypair *root, char **line, size_t *len,
	ssync_error *err);
/* The path an object must have on the branch. */
void ssync_trust__tobj_path(const ssync_tobj *t, char *buf, size_t len);
/* The pinned district root (meta 'district_pubkey'); SSYNC_ENOTFOUND if none. */
int ssync_trust__pinned_root(ssync_store *st, unsigned char root[SSYNC_PUBKEY_BYTES]);
int ssync_trust__have_genesis(ssync_store *st);
/* 1 if trust data changed under entries already held (see trust.c). */
int ssync_trust__need_rebuild(ssync_store *st);

#endif
