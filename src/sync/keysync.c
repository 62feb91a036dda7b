/*
 * Key stores in a sync round (docs/PRIVACY.md): each node's data keys,
 * sealed to their readers, travel on refs/heads/keys/<node> -- one
 * parentless commit that is replaced, never appended, so a data key left
 * out of the newest store is in no history git keeps for that ref. A
 * receiver takes a store only if it is newer (version) and signed by the
 * node's certified key; the hub's store also carries erasure notices and
 * auditor grants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keystore_int.h"
#include "log_int.h"
#include "node_int.h"
#include "policy_int.h"
#include "privacy_int.h"
#include "privacy_priv.h"
#include "schoolsync/trust.h"
#include "trust_int.h"

#define KEYS_REF "refs/heads/keys/"

typedef struct ref_names {
	char (*name)[SSYNC_NODE_ID_MAX + 1];
	ssync_oid_hex *tip;
	int n, cap;
	size_t plen;
} ref_names;

static int collect(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	ref_names *l = payload;

	if (strlen(ref) - l->plen > SSYNC_NODE_ID_MAX)
		return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		void *a = realloc(l->name, (size_t)cap * sizeof(*l->name)), *b;
		if (!a)
			return -1;
		l->name = a;
		if (!(b = realloc(l->tip, (size_t)cap * sizeof(*l->tip))))
			return -1;
		l->tip = b;
		l->cap = cap;
	}
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", ref + l->plen);
	l->tip[l->n++] = *tip;
	return 0;
}

static int64_t kdb_int(sqlite3 *kdb, const char *sql, const char *arg)
{
	sqlite3_stmt *q = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(kdb, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int kdb_set_seen(sqlite3 *kdb, const char *node, int64_t version, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error = 0;

	if (sqlite3_prepare_v2(kdb, "INSERT OR REPLACE INTO seen(node, version) VALUES (?,?)", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "record key store version");
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, version);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "record key store version");
	sqlite3_finalize(q);
	return error;
}

/* 1 if a key @p node was certified with before its current one (a
 * re-enrolment, TRUST.md §5a, or a re-certification) signed @p ks. */
static int old_key_signed(ssync_store *st, const char *node, const unsigned char *cur, const ssync_keystore *ks)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT DISTINCT pubkey FROM ssync_cert WHERE node=?", NULL);
	int ok = 0;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while (!ok && sqlite3_step(q) == SQLITE_ROW)
		ok = sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES && memcmp(sqlite3_column_blob(q, 0), cur, SSYNC_PUBKEY_BYTES) &&
			ssync_keys_verify(sqlite3_column_blob(q, 0), ks->body, ks->body_len, ks->sig) == 0;
	sqlite3_reset(q);
	return ok;
}

/* Read and check the store at @p tip as node @p node's: shape, parse, signer.
 * With @p old_gen, a store an earlier key of the node signed is returned
 * too (*old_gen = 1): only its own node reads one (keyrecover.c). */
static int load_store_gen(ssync_store *st, ssync_exchange *ex, const char *node, const ssync_oid_hex *tip,
	ssync_keystore *ks, int *old_gen, ssync_error *err);

static int load_store(ssync_store *st, ssync_exchange *ex, const char *node, const ssync_oid_hex *tip,
	ssync_keystore *ks, ssync_error *err)
{
	return load_store_gen(st, ex, node, tip, ks, NULL, err);
}

static int load_store_gen(ssync_store *st, ssync_exchange *ex, const char *node, const ssync_oid_hex *tip,
	ssync_keystore *ks, int *old_gen, ssync_error *err)
{
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	void *data = NULL;
	size_t len = 0;
	int error;

	memset(ks, 0, sizeof(*ks));
	if ((error = ssync_exchange_read_single(ex, tip, SSYNC_KEYSTORE_FILE, SSYNC_KEYSTORE_MAX, &data, &len, err)) < 0)
		return error;
	error = ssync_keystore__parse(ks, data, len, err);
	free(data);
	if (error < 0)
		return error;
	if (strcmp(ks->node, node) != 0)
		return ssync_error_set(err, SSYNC_ECORRUPT, "keys/%s holds the key store of %s", node, ks->node);
	if ((error = ssync_log__peer_key(st, node, pk, err)) < 0)
		return error;
	if (old_gen)
		*old_gen = 0;
	if (ssync_keys_verify(pk, ks->body, ks->body_len, ks->sig) != 0) {
		if (old_gen && old_key_signed(st, node, pk, ks)) {
			*old_gen = 1;
			return 0;
		}
		return ssync_error_set(err, SSYNC_ESIG, "key store of %s is not signed by its key", node);
	}
	return 0;
}

int ssync_privacy__check_store(ssync_store *st, ssync_exchange *ex, const char *district, const char *node,
	const ssync_oid_hex *old, const ssync_oid_hex *tip, char *why, size_t whylen, ssync_error *err)
{
	ssync_keystore ks, prev;
	ssync_error e;
	int error;

	why[0] = 0;
	ssync_error_clear(&e);
	if ((error = load_store(st, ex, node, tip, &ks, &e)) < 0) {
		ssync_keystore__clear(&ks);
		if (e.code == SSYNC_ERROR || e.code == SSYNC_EIO) {
			if (err)
				*err = e;
			return e.code;
		}
		snprintf(why, whylen, "key store of %s refused: %s (%s)", node, e.message, ssync_error_name(e.code));
		return 0;
	}
	if (strcmp(ks.district, district) != 0)
		snprintf(why, whylen, "key store of %s names district %s, not %s", node, ks.district, district);
	/* never back to an older store: it could carry keys erased since */
	memset(&prev, 0, sizeof(prev));
	if (!why[0] && old && old->hex[0] && load_store(st, ex, node, old, &prev, NULL) == 0 && ks.version <= prev.version)
		snprintf(why, whylen, "key store of %s version %lld does not replace version %lld (an older copy)", node,
			(long long)ks.version, (long long)prev.version);
	ssync_keystore__clear(&prev);
	ssync_keystore__clear(&ks);
	return 0;
}

/* @p node's role by its newest certificate; "" for none. With
 * @p unrevoked, also "" for a revoked node: a revoked hub's key (stolen,
 * retired) no longer grants or erases through its store. */
static int node_role_if(ssync_store *st, const char *node, int unrevoked, char role[16], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, unrevoked ?
		"SELECT role FROM ssync_cert WHERE node=?1 AND NOT EXISTS (SELECT 1 FROM ssync_revocation r WHERE r.node=?1) "
		"ORDER BY serial DESC LIMIT 1" : "SELECT role FROM ssync_cert WHERE node=?1 ORDER BY serial DESC LIMIT 1", err);
	int rc;

	role[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		snprintf(role, 16, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read certificate");
}

static int node_role(ssync_store *st, const char *node, char role[16], ssync_error *err)
{
	return node_role_if(st, node, 0, role, err);
}

/* Apply node @p ks's store to keys.db: its data keys sealed to us replace
 * the ones we held from it; a hub's erasures and grants are taken. Keys
 * are held per (kid, owner): a store claiming another owner's kid adds a
 * key beside the real one, never instead of it (PRIVACY.md §8). */
static int apply_store(ssync_node *n, sqlite3 *kdb, const ssync_keystore *ks, int is_hub, ssync_error *err)
{
	ssync_enckey *cur = NULL, *old = NULL;
	sqlite3_stmt *ins = NULL;
	unsigned char key[SSYNC_DATAKEY_BYTES];
	int i, j, error;

	if ((error = ssync_privacy__enckeys(n, &cur, &old, err)) < 0)
		return error;
	if ((error = ssync_privacy__kdb_exec(kdb, "BEGIN IMMEDIATE", err)) < 0)
		goto done;
	if (sqlite3_prepare_v2(kdb, "DELETE FROM data_key WHERE owner=?", -1, &ins, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "update data keys");
		goto fail;
	}
	sqlite3_bind_text(ins, 1, ks->node, -1, SQLITE_STATIC);
	error = ssync_privacy__kdb_step(kdb, ins, err, "update data keys");
	sqlite3_finalize(ins);
	ins = NULL;
	if (error < 0)
		goto fail;
	if (is_hub && (error = ssync_privacy__take_notices(kdb, ks, 1, err)) < 0)
		goto fail;
	if (sqlite3_prepare_v2(kdb, "INSERT OR REPLACE INTO data_key(kid, owner, school, key, readers) "
		"SELECT ?1, ?2, '', ?3, '' WHERE NOT EXISTS (SELECT 1 FROM erased WHERE kid=?1)", -1, &ins, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "store data keys");
		goto fail;
	}
	for (i = 0; i < ks->nkeys; i++)
		for (j = 0; j < ks->keys[i].nwraps; j++) {
			if (strcmp(ks->keys[i].wraps[j].node, ssync_node_id(n)) != 0)
				continue;
			if (!ssync_privacy__open_box(cur, old, key, ks->keys[i].wraps[j].box))
				continue; /* sealed to a key we no longer hold */
			sqlite3_bind_text(ins, 1, ks->keys[i].kid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, ks->node, -1, SQLITE_STATIC);
			sqlite3_bind_blob(ins, 3, key, SSYNC_DATAKEY_BYTES, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				error = ssync_privacy__kdb_err(kdb, err, "store data key");
				goto fail;
			}
			sqlite3_reset(ins);
		}
	/* a school's erasures reach the keys other nodes made for its rows */
	if ((!is_hub && (error = ssync_privacy__erase_requests(n, kdb, ks, err)) < 0) ||
	    (error = ssync_privacy__erase_resolve(n, kdb, err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM data_key WHERE kid IN (SELECT kid FROM erased)", err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM carried WHERE kid IN (SELECT kid FROM erased)", err)) < 0 ||
	    (error = ssync_privacy__drop_adopted(n, kdb, ks->node, err)) < 0 ||
	    (error = kdb_set_seen(kdb, ks->node, ks->version, err)) < 0)
		goto fail;
	if ((error = ssync_privacy__kdb_exec(kdb, "COMMIT", err)) == 0)
		ssync_privacy__kdb_scrub(kdb); /* keys dropped or erased: out of the WAL too */
	goto done;
fail:
	(void)sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL);
done:
	sodium_memzero(key, sizeof(key));
	sqlite3_finalize(ins);
	ssync_enckey_free(cur);
	ssync_enckey_free(old);
	return error;
}

/* A refused store's tip, so the push (which reads no trust data) replaces
 * it with ours whatever version it claims. */
static void bad_ref(char *out, size_t len, const char *remote, const char *node)
{
	snprintf(out, len, "refs/ssync/bad-keys/%s/%s", remote, node);
}

static int mark_bad(ssync_exchange *ex, const char *remote, const char *node, const ssync_oid_hex *tip, ssync_error *err)
{
	ssync_oid_hex none;
	char ref[256];
	int error;

	none.hex[0] = 0;
	bad_ref(ref, sizeof(ref), remote, node);
	if ((error = ssync_exchange_ref_delete(ex, ref, err)) < 0)
		return error;
	return ssync_exchange_ref_update(ex, ref, tip, &none, "schoolsync: refused key store", err);
}

int ssync_privacy__receive(ssync_node *n, ssync_exchange *ex, const char *remote, int64_t *quarantined,
	ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ref_names l = { 0 };
	sqlite3 *kdb = NULL;
	char prefix[128];
	int i, error;

	if (!ssync_trust_managed(st))
		return 0; /* private columns need certified readers (docs/PRIVACY.md) */
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/keys/", remote);
	l.plen = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, collect, &l, err)) < 0)
		goto done;
	if (l.n == 0)
		goto done;
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		goto done;
	for (i = 0; i < l.n && !error; i++) {
		char local[160], role[16], why[400];
		ssync_oid_hex mine;
		ssync_keystore ks;
		ssync_error e;
		int found, self, old_gen = 0;

		snprintf(local, sizeof(local), KEYS_REF "%s", l.name[i]);
		found = ssync_exchange_ref_tip(ex, local, &mine, NULL) == 0;
		if (!found)
			mine.hex[0] = 0;
		if (found && strcmp(mine.hex, l.tip[i].hex) == 0)
			continue;
		ssync_error_clear(&e);
		self = strcmp(l.name[i], ssync_node_id(n)) == 0;
		if (load_store_gen(st, ex, l.name[i], &l.tip[i], &ks, self ? &old_gen : NULL, &e) < 0) {
			/* never followed, never silent */
			snprintf(why, sizeof(why), "key store keys/%s on remote %s refused: %s", l.name[i], remote, e.message);
			ssync_keystore__clear(&ks);
			if (e.code == SSYNC_ERROR || e.code == SSYNC_EIO) {
				*err = e;
				error = e.code;
				break;
			}
			if ((error = ssync_trust__quarantine(st, l.name[i], 0, ssync_error_name(e.code), why, NULL, 0, remote, err)) < 0 ||
			    (error = mark_bad(ex, remote, l.name[i], &l.tip[i], err)) < 0)
				break;
			(*quarantined)++;
			continue;
		}
		if (self && old_gen) {
			/* our own, signed by our key before a re-enrolment (TRUST.md
			 * §5a): what it seals to us (enc.key.old) is taken back, the
			 * rest carried, nothing dropped (the old key may be a thief's);
			 * our next store, signed by our key now, goes above it */
			if (ks.version >= kdb_int(kdb, "SELECT version FROM seen WHERE node=?", l.name[i]))
				error = ssync_privacy__take_own(n, kdb, &ks, -1, err);
			ssync_keystore__clear(&ks);
			continue;
		}
		if (self) {
			/* our own in a copy we do not hold, as new as the newest we
			 * saw: a restored home (keys.db lost) or another home of this
			 * node. Its keys come back (PRIVACY.md §8) and we publish
			 * above it; an older copy (a stale stick) is never read. */
			if (ks.version >= kdb_int(kdb, "SELECT version FROM seen WHERE node=?", l.name[i]) &&
			    (error = node_role(st, l.name[i], role, err)) == 0 &&
			    (error = ssync_privacy__note_replaced(ex, kdb, &mine, &ks, err)) == 0 &&
			    (error = ssync_privacy__take_own(n, kdb, &ks, strcmp(role, "hub") == 0, err)) == 0)
				error = ssync_exchange_ref_update(ex, local, &l.tip[i], &mine, "schoolsync: own key store", err);
			ssync_keystore__clear(&ks);
			continue;
		}
		if (ks.version <= kdb_int(kdb, "SELECT version FROM seen WHERE node=?", l.name[i])) {
			ssync_keystore__clear(&ks); /* an old copy (a stale stick): ours is pushed back */
			continue;
		}
		if ((error = node_role_if(st, l.name[i], 1, role, err)) == 0 &&
		    (error = ssync_privacy__note_replaced(ex, kdb, &mine, &ks, err)) == 0 &&
		    (error = apply_store(n, kdb, &ks, strcmp(role, "hub") == 0, err)) == 0)
			error = ssync_exchange_ref_update(ex, local, &l.tip[i], &mine, "schoolsync: key store", err);
		ssync_keystore__clear(&ks);
	}
done:
	ssync_privacy__kdb_release(kdb);
	free(l.name);
	free(l.tip);
	return error;
}

/* Readers lists to widen after the walk over data_key (not during it). */
typedef struct pending {
	char (*kid)[SSYNC_KID_HEX + 1];
	char **readers;
	int n, cap;
} pending;

static void pending_free(pending *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free(p->readers[i]);
	free(p->readers);
	free(p->kid);
	memset(p, 0, sizeof(*p));
}

/* If @p rd holds a reader (token: node and key, privacy.c) missing from
 * @p was ("a:k1,b:k2"), queue was + those. */
static int note_readers(const char *kid, const char *was, const ssync_readers *rd, pending *p, ssync_error *err)
{
	size_t len = strlen(was ? was : "") + 2;
	char *u, *hay;
	int i, grew = 0;

	for (i = 0; i < rd->n; i++)
		len += SSYNC_NODE_ID_MAX + 21;
	if (!(hay = malloc(strlen(was ? was : "") + 3)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	sprintf(hay, ",%s,", was ? was : "");
	if (!(u = malloc(len))) {
		free(hay);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	snprintf(u, len, "%s", was ? was : "");
	for (i = 0; i < rd->n; i++) {
		char tok[SSYNC_NODE_ID_MAX + 20], needle[SSYNC_NODE_ID_MAX + 24];
		ssync_privacy__reader_token(&rd->v[i], tok, sizeof(tok));
		snprintf(needle, sizeof(needle), ",%s,", tok);
		if (strstr(hay, needle))
			continue;
		if (u[0])
			strcat(u, ",");
		strcat(u, tok);
		grew = 1;
	}
	free(hay);
	if (!grew) {
		free(u);
		return 0;
	}
	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 16;
		void *a = realloc(p->kid, (size_t)cap * sizeof(*p->kid)), *b;
		if (!a) {
			free(u);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		p->kid = a;
		if (!(b = realloc(p->readers, (size_t)cap * sizeof(*p->readers)))) {
			free(u);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		p->readers = b;
		p->cap = cap;
	}
	snprintf(p->kid[p->n], sizeof(p->kid[0]), "%s", kid);
	p->readers[p->n++] = u;
	return 0;
}

static int pending_apply(sqlite3 *kdb, const pending *p, const char *owner, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int i, error = 0;

	if (p->n == 0)
		return 0;
	if (sqlite3_prepare_v2(kdb, "UPDATE data_key SET readers=? WHERE kid=? AND owner=?", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "record readers");
	for (i = 0; i < p->n && !error; i++) {
		sqlite3_bind_text(q, 1, p->readers[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, p->kid[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			error = ssync_privacy__kdb_err(kdb, err, "record readers");
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return error;
}

/* What our store must hold, hashed: kids and their readers' keys, erasures,
 * grants. A new version is published only when it changes. */
static int build_store(ssync_node *n, sqlite3 *kdb, ssync_keystore *ks, int is_hub, unsigned char digest[32],
	ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	crypto_generichash_state h;
	sqlite3_stmt *q = NULL;
	ssync_readers rd = { 0 };
	pending pend = { 0 };
	char school[SSYNC_NODE_ID_MAX + 1] = "\x01";
	int rc, i, error = 0, cap = 0;

	crypto_generichash_init(&h, NULL, 0, 32);
	if (sqlite3_prepare_v2(kdb, "SELECT kid, school, key, readers FROM data_key WHERE owner=? AND kid NOT IN (SELECT kid FROM erased) "
		"ORDER BY school, kid", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "read data keys");
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *kid = (const char *)sqlite3_column_text(q, 0), *sch = (const char *)sqlite3_column_text(q, 1);
		ssync_ks_key *k;

		if (strcmp(sch, school) != 0) {
			ssync_privacy__readers_free(&rd);
			snprintf(school, sizeof(school), "%s", sch);
			if ((error = ssync_privacy__readers(st, kdb, school, &rd, err)) < 0)
				break;
		}
		if (rd.n == 0 || sqlite3_column_bytes(q, 2) != SSYNC_DATAKEY_BYTES)
			continue;
		if (ks->nkeys == cap) {
			void *a;
			cap = cap ? cap * 2 : 64;
			if (!(a = realloc(ks->keys, (size_t)cap * sizeof(*ks->keys)))) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			ks->keys = a;
		}
		k = &ks->keys[ks->nkeys];
		memset(k, 0, sizeof(*k));
		if (!(k->wraps = calloc((size_t)rd.n, sizeof(*k->wraps)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			break;
		}
		ks->nkeys++;
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
		crypto_generichash_update(&h, (const unsigned char *)kid, strlen(kid) + 1);
		for (i = 0; i < rd.n; i++) {
			snprintf(k->wraps[i].node, sizeof(k->wraps[i].node), "%s", rd.v[i].node);
			if (ssync_enckey_seal(k->wraps[i].box, sqlite3_column_blob(q, 2), SSYNC_DATAKEY_BYTES, rd.v[i].pk) != 0) {
				error = ssync_error_set(err, SSYNC_ERROR, "seal a data key");
				break;
			}
			crypto_generichash_update(&h, (const unsigned char *)rd.v[i].node, strlen(rd.v[i].node) + 1);
			crypto_generichash_update(&h, rd.v[i].pk, sizeof(rd.v[i].pk));
		}
		k->nwraps = rd.n;
		if (error)
			break;
		/* every node a key was ever sealed to: one of them removed later
		 * makes the row's next write take a fresh key (privacy.c) */
		if ((error = note_readers(kid, (const char *)sqlite3_column_text(q, 3), &rd, &pend, err)) < 0)
			break;
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "read data keys");
	sqlite3_finalize(q);
	q = NULL;
	ssync_privacy__readers_free(&rd);
	if (!error)
		error = pending_apply(kdb, &pend, ssync_node_id(n), err);
	pending_free(&pend);
	/* boxes of our keys we cannot open (keyrecover.c), as they were */
	if (!error)
		error = ssync_privacy__add_carried(n, kdb, ks, &h, err);
	if (error < 0)
		goto done;
	/* every erasure it made or took (a hub's notice, a school's request,
	 * keyerase.c); a hub's grants */
	{
		int64_t ne = kdb_int(kdb, "SELECT count(*) FROM erased", NULL);
		int64_t ng = is_hub ? kdb_int(kdb, "SELECT count(*) FROM grants", NULL) : 0;
		if (ne < 0 || ng < 0 || (ne && !(ks->erased = calloc((size_t)ne, sizeof(*ks->erased)))) ||
		    (ng && !(ks->grants = calloc((size_t)ng, sizeof(*ks->grants))))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (sqlite3_prepare_v2(kdb, "SELECT kid FROM erased ORDER BY kid", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_privacy__kdb_err(kdb, err, "read erasures");
			goto done;
		}
		while (ks->nerased < ne && sqlite3_step(q) == SQLITE_ROW) {
			snprintf(ks->erased[ks->nerased], sizeof(ks->erased[0]), "%s", (const char *)sqlite3_column_text(q, 0));
			crypto_generichash_update(&h, (const unsigned char *)ks->erased[ks->nerased], SSYNC_KID_HEX + 1);
			ks->nerased++;
		}
		sqlite3_finalize(q);
		if (sqlite3_prepare_v2(kdb, "SELECT auditor, school FROM grants ORDER BY auditor, school", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_privacy__kdb_err(kdb, err, "read grants");
			goto done;
		}
		while (ks->ngrants < ng && sqlite3_step(q) == SQLITE_ROW) {
			snprintf(ks->grants[ks->ngrants].auditor, sizeof(ks->grants[0].auditor), "%s", (const char *)sqlite3_column_text(q, 0));
			snprintf(ks->grants[ks->ngrants].school, sizeof(ks->grants[0].school), "%s", (const char *)sqlite3_column_text(q, 1));
			crypto_generichash_update(&h, (const unsigned char *)"g", 1);
			crypto_generichash_update(&h, (const unsigned char *)ks->grants[ks->ngrants].auditor, strlen(ks->grants[ks->ngrants].auditor) + 1);
			crypto_generichash_update(&h, (const unsigned char *)ks->grants[ks->ngrants].school, strlen(ks->grants[ks->ngrants].school) + 1);
			ks->ngrants++;
		}
	}
done:
	sqlite3_finalize(q);
	crypto_generichash_final(&h, digest, 32);
	return error;
}

int ssync_privacy__publish(ssync_node *n, ssync_exchange *ex, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	const ssync_keypair *kp = ssync_node__keypair(n);
	ssync_keystore ks;
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	unsigned char digest[32];
	char hex[65], ref[160], role[16], *line = NULL, *have = NULL;
	ssync_oid_hex tip;
	size_t len = 0;
	int error, managed = 0, exists;

	memset(&ks, 0, sizeof(ks));
	if (!ssync_trust_managed(st) || !kp)
		return 0;
	if ((error = node_role(st, ssync_node_id(n), role, err)) < 0 || !role[0] || strcmp(role, "auditor") == 0)
		return error; /* auditors write nothing */
	(void)managed;
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	if ((error = ssync_privacy__reclaim(n, kdb, err)) < 0 ||
	    (error = build_store(n, kdb, &ks, strcmp(role, "hub") == 0, digest, err)) < 0)
		goto done;
	snprintf(ref, sizeof(ref), KEYS_REF "%s", ssync_node_id(n));
	exists = ssync_exchange_ref_tip(ex, ref, &tip, NULL) == 0;
	if (!exists && ks.nkeys == 0 && ks.nerased == 0 && ks.ngrants == 0)
		goto done; /* nothing to say yet */
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (sqlite3_prepare_v2(kdb, "SELECT v FROM meta WHERE k='digest'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		have = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	q = NULL;
	if (exists && have && strcmp(have, hex) == 0)
		goto done;
	snprintf(ks.district, sizeof(ks.district), "%s", ssync_node_district(n));
	snprintf(ks.node, sizeof(ks.node), "%s", ssync_node_id(n));
	ks.version = kdb_int(kdb, "SELECT version FROM seen WHERE node=?", ssync_node_id(n)) + 1;
	if ((error = ssync_keystore__sign(&ks, kp, &line, &len, err)) < 0 ||
	    (exists && (error = ssync_privacy__note_replaced(ex, kdb, &tip, &ks, err)) < 0) ||
	    (error = ssync_exchange_replace_file(ex, ref, SSYNC_KEYSTORE_FILE, line, len, "key store", NULL, err)) < 0 ||
	    (error = kdb_set_seen(kdb, ssync_node_id(n), ks.version, err)) < 0)
		goto done;
	if (sqlite3_prepare_v2(kdb, "INSERT OR REPLACE INTO meta(k, v) VALUES ('digest', ?)", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "record key store");
		goto done;
	}
	sqlite3_bind_text(q, 1, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "record key store");
done:
	free(have);
	free(line);
	sqlite3_finalize(q);
	ssync_privacy__kdb_release(kdb);
	ssync_keystore__clear(&ks);
	return error;
}

static int64_t version_at(ssync_exchange *ex, const ssync_oid_hex *tip)
{
	ssync_keystore ks;
	void *data = NULL;
	size_t len = 0;
	int64_t v = -1;

	if (ssync_exchange_read_single(ex, tip, SSYNC_KEYSTORE_FILE, SSYNC_KEYSTORE_MAX, &data, &len, NULL) == 0 &&
	    ssync_keystore__parse(&ks, data, len, NULL) == 0)
		v = ks.version;
	ssync_keystore__clear(&ks);
	free(data);
	return v;
}

int ssync_privacy__push(ssync_node *n, ssync_exchange *ex, const char *remote, const ssync_transfer_opts *topts,
	int *pushed, ssync_error *err)
{
	ref_names l = { 0 };
	int i, error;

	(void)n;
	l.plen = strlen(KEYS_REF);
	if ((error = ssync_exchange_refs(ex, KEYS_REF, collect, &l, err)) < 0)
		goto done;
	for (i = 0; i < l.n; i++) {
		char tracking[200], ref[160];
		ssync_oid_hex rtip;

		snprintf(ref, sizeof(ref), KEYS_REF "%s", l.name[i]);
		snprintf(tracking, sizeof(tracking), "refs/remotes/%s/keys/%s", remote, l.name[i]);
		if (ssync_exchange_ref_tip(ex, tracking, &rtip, NULL) != 0)
			continue; /* the remote lacks it: the ordinary push created it */
		if (strcmp(rtip.hex, l.tip[i].hex) == 0)
			continue;
		{
			char bref[256];
			ssync_oid_hex bad;
			bad_ref(bref, sizeof(bref), remote, l.name[i]);
			/* a store receive refused (forged, junk) is replaced whatever it claims */
			if (!(ssync_exchange_ref_tip(ex, bref, &bad, NULL) == 0 && strcmp(bad.hex, rtip.hex) == 0) &&
			    version_at(ex, &l.tip[i]) <= version_at(ex, &rtip))
				continue;
		}
		/* a replacement, leased on the tip we read */
		if ((error = ssync_exchange_push_lease(ex, remote, ref, &rtip, topts, err)) < 0)
			goto done;
		(*pushed)++;
	}
done:
	free(l.name);
	free(l.tip);
	return error;
}
