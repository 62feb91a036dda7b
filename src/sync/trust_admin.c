/* The district admin's commands (district init/enroll/revoke/list/join,
 * docs/TRUST.md): build trust objects, sign them with the root key, commit
 * them to refs/heads/district. Invariant: what the admin publishes is
 * loaded back through ssync_trust__load_branch, the same verification
 * every receiver runs, so the hub never holds trust data others refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "log_int.h"
#include "node_int.h"
#include "reenroll_int.h"
#include "trust_int.h"
#include "witness_int.h"
#include "wreset_int.h"
#include "policy_int.h"
#include "sync_int.h"
#include "schoolsync/privacy.h"

static int open_ex(ssync_node *n, ssync_exchange **ex, ssync_error *err)
{
	return ssync_node__exchange_open(n, 1, ex, err);
}

/* Load the root key and check it is the pinned one (or pin it: init). */
static int load_root(ssync_store *st, const char *path, int create, ssync_keypair **out, ssync_error *err)
{
	unsigned char pinned[SSYNC_PUBKEY_BYTES];
	int error;

	*out = NULL;
	if (!path || !*path)
		return ssync_error_set(err, SSYNC_EINVAL, "--root-key FILE is required");
	error = ssync_keys_load(out, path, NULL);
	if (error == SSYNC_ENOTFOUND && create) {
		if ((error = ssync_keys_generate(out, err)) < 0)
			return error;
		if ((error = ssync_keys_save(*out, path, err)) < 0) {
			ssync_keys_free(*out);
			*out = NULL;
			return error;
		}
	} else if (error < 0) {
		return ssync_keys_load(out, path, err); /* again, for the message */
	}
	/* the root in office: the pinned one, or the last it handed over to (§3a) */
	if (ssync_trust__pinned_root(st, pinned) == 0 && ssync_trust__root_at(st, INT64_MAX, pinned) >= 0 &&
	    sodium_memcmp(pinned, ssync_keys_public(*out), SSYNC_PUBKEY_BYTES) != 0) {
		ssync_keys_free(*out);
		*out = NULL;
		ssync_error_set(err, SSYNC_ECERT, "root key %s is not the district root in office on this node", path);
		ssync_error_hint(err, "use the district's root key file (the one 'district init' created, or the newest "
			"'district rotate-root' handed over to)");
		return SSYNC_ECERT;
	}
	return 0;
}

/* Commit one or more signed objects to the district branch, then load
 * them through the same verification every receiver runs. */
static int publish(ssync_node *n, size_t nobj, ssync_tobj *objs, const ssync_keypair *root, const char *msg, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_exchange *ex = NULL;
	ssync_oid_hex ltip, ntip;
	char paths[4][160], *lines[4] = { NULL, NULL, NULL, NULL }, why[512];
	const char *pathv[4];
	const void *datav[4];
	size_t lenv[4];
	int error = 0, changed = 0, bad = 0, lockfd = -1;
	size_t i;

	if (nobj > 4)
		return ssync_error_set(err, SSYNC_EINVAL, "too many objects");
	/* The sync lock, as a round holds it: taking it removes git's lock
	 * files, so a round starting meanwhile would delete the one this
	 * commit holds on refs/heads/district (issue 13). */
	if ((error = ssync_trust__stale_check(st, ssync_node_id(n), "signing a district object", err)) < 0)
		return error;
	if ((error = ssync_sync__lock_wait(n, &lockfd, ssync_sync__lock_wait_ms, err)) < 0)
		return error;
	if ((error = open_ex(n, &ex, err)) < 0) {
		close(lockfd);
		return error;
	}
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, SSYNC_DISTRICT_REF, &ltip, NULL)) < 0 && error != SSYNC_ENOTFOUND) {
		error = ssync_error_set(err, error, "read %s", SSYNC_DISTRICT_REF);
		goto done;
	}
	error = 0;
	for (i = 0; i < nobj; i++) {
		if ((error = ssync_trust__tobj_sign(&objs[i], root, &lines[i], &lenv[i], err)) < 0)
			goto done;
		ssync_trust__tobj_path(&objs[i], paths[i], sizeof(paths[i]));
		pathv[i] = paths[i];
		datav[i] = lines[i];
	}
	if ((error = ssync_exchange_commit_files(ex, SSYNC_DISTRICT_REF, nobj, pathv, datav, lenv, msg, &ntip, err)) < 0)
		goto done;
	if ((error = ssync_trust__load_branch(st, ex, &ltip, &ntip, &changed, &bad, why, sizeof(why), err)) < 0)
		goto done;
	if (bad) {
		ssync_error lerr;
		/* what receivers refuse never stays on the branch: move it back */
		ssync_error_clear(&lerr);
		if (ltip.hex[0] ? ssync_exchange_ref_update(ex, SSYNC_DISTRICT_REF, &ltip, &ntip, "district: refused object undone",
			&lerr) < 0 : ssync_exchange_ref_delete(ex, SSYNC_DISTRICT_REF, &lerr) < 0)
			error = ssync_error_set(err, SSYNC_ECORRUPT, "the district branch of this node does not verify (%s), and "
				"it could not be moved back: %s", why, lerr.message);
		else
			error = ssync_error_set(err, SSYNC_ECERT, "refused, nothing changed: %s", why);
		goto done;
	}
	if (changed && ssync_trust__need_rebuild(st)) {
		ssync_trust_rebuild_report rep;
		error = ssync_trust_rebuild(st, &rep, err);
	}
done:
	for (i = 0; i < 4; i++)
		free(lines[i]);
	ssync_exchange_free(ex);
	close(lockfd);
	return error;
}

static int next_serial(ssync_store *st, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(serial), 0) FROM ssync_trust_obj", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	/* an aggregate: always one row; a failed read must not reuse a serial */
	if ((r = ssync_store__step_row(st, q, "read the last serial", err)) >= 0)
		*out = sqlite3_column_int64(q, 0) + 1;
	sqlite3_reset(q);
	return r < 0 ? r : 0;
}

/* 0 if this node holds a district (managed, with its genesis record). */
static int need_district(ssync_store *st, ssync_error *err)
{
	int hg = ssync_trust_managed(st) ? ssync_trust__have_genesis(st, err) : 0;

	if (hg < 0)
		return hg;
	if (!hg) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no district on this node");
		ssync_error_hint(err, "run: schoolsync district init --id ID --name NAME --root-key FILE (on the hub)");
		return SSYNC_ENOTFOUND;
	}
	return 0;
}

int ssync_trust_district_init(ssync_node *n, const char *district_id, const char *name, const char *root_key_path,
	char root_hex[65], ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL;
	ssync_tobj objs[2];
	int error = 0;

	memset(objs, 0, sizeof(objs));
	if (!district_id || strcmp(district_id, ssync_node_district(n)) != 0) {
		ssync_error_set(err, SSYNC_EINVAL, "this node belongs to district '%s', not '%s'", ssync_node_district(n),
			district_id ? district_id : "");
		ssync_error_hint(err, "run district init on the hub's home, created with: schoolsync init --node HUB --district %s",
			district_id ? district_id : "ID");
		return SSYNC_EINVAL;
	}
	if (!name || !*name || strlen(name) > 256)
		return ssync_error_set(err, SSYNC_EINVAL, "--name must be 1 to 256 bytes");
	if ((error = ssync_trust__have_genesis(st, err)) != 0)
		return error < 0 ? error : ssync_error_set(err, SSYNC_EEXISTS, "district %s is already initialised on this node", district_id);
	if (ssync_trust_managed(st))
		return ssync_error_set(err, SSYNC_EEXISTS, "this node has joined a district already; district init belongs on the hub");
	if ((error = load_root(st, root_key_path, 1, &root, err)) < 0)
		return error;
	ssync_hex_encode(root_hex, ssync_keys_public(root), SSYNC_PUBKEY_BYTES);
	objs[0].kind = SSYNC_TOBJ_GENESIS;
	snprintf(objs[0].district, sizeof(objs[0].district), "%s", district_id);
	snprintf(objs[0].name, sizeof(objs[0].name), "%s", name);
	memcpy(objs[0].key, ssync_keys_public(root), SSYNC_PUBKEY_BYTES);
	objs[0].created = (int64_t)ssync_hlc_wall_ms();
	objs[1].kind = SSYNC_TOBJ_CERT;
	snprintf(objs[1].district, sizeof(objs[1].district), "%s", district_id);
	snprintf(objs[1].node, sizeof(objs[1].node), "%s", ssync_node_id(n));
	snprintf(objs[1].role, sizeof(objs[1].role), "hub");
	objs[1].serial = 1;
	if (ssync_hex_decode(objs[1].key, SSYNC_PUBKEY_BYTES, ssync_node_pubkey_hex(n)) != 0) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "this node's public key is unreadable");
		goto done;
	}
	{
		/* the hub reads every school's private rows (docs/PRIVACY.md) */
		char ek[2 * SSYNC_ENCKEY_BYTES + 1];
		if ((error = ssync_privacy_enckey_hex(n, ek, err)) < 0 ||
		    ssync_hex_decode(objs[1].enckey, SSYNC_ENCKEY_BYTES, ek) != 0) {
			error = error < 0 ? error : ssync_error_set(err, SSYNC_ECORRUPT, "this node's encryption key is unreadable");
			goto done;
		}
		objs[1].has_enckey = 1;
	}
	if ((error = ssync_store_meta_set(st, "district_pubkey", root_hex, err)) < 0)
		goto done;
	error = publish(n, 2, objs, root, "district: genesis and hub certificate", err);
	if (error < 0 && ssync_store_meta_set(st, "district_pubkey", "", NULL) < 0) {
		/* the first error is the one to report; an empty pin means "unmanaged" */
	}
done:
	ssync_trust__tobj_clear(&objs[0]);
	ssync_trust__tobj_clear(&objs[1]);
	ssync_keys_free(root);
	return error;
}

int ssync_trust_district_enroll(ssync_node *n, ssync_cert_info *c, const char *root_key_path, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL;
	ssync_tobj t;
	char msg[200];
	int error;

	memset(&t, 0, sizeof(t));
	if ((error = need_district(st, err)) < 0)
		return error;
	if (!ssync_ident_node_valid(c->node))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", c->node);
	if (!ssync_trust__role_valid(c->role))
		return ssync_error_set(err, SSYNC_EINVAL, "role must be school, hub or auditor, not '%s'", c->role);
	if (strcmp(c->role, "school") == 0 && !c->school_id[0])
		return ssync_error_set(err, SSYNC_EINVAL, "a school node needs --school SCHOOL_ID");
	if (c->school_id[0] && !ssync_ident_node_valid(c->school_id))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid school id '%s'", c->school_id);
	if (strcmp(c->role, "school") == 0 && strcmp(c->school_id, SSYNC_POLICY_HUB_NS) == 0) {
		/* keys "hub-..." are the hub's own rows (docs/POLICY.md "Ownership") */
		ssync_error_set(err, SSYNC_EINVAL, "school id '%s' is reserved for the hub's rows", c->school_id);
		ssync_error_hint(err, "give the school another id, e.g. its code");
		return SSYNC_EINVAL;
	}
	if (c->valid_until && c->valid_until < c->valid_from)
		return ssync_error_set(err, SSYNC_EINVAL, "certificate would end before it begins");
	t.kind = SSYNC_TOBJ_CERT;
	snprintf(t.district, sizeof(t.district), "%s", ssync_node_district(n));
	snprintf(t.node, sizeof(t.node), "%s", c->node);
	snprintf(t.role, sizeof(t.role), "%s", c->role);
	snprintf(t.school, sizeof(t.school), "%s", c->school_id);
	if (ssync_hex_decode(t.key, SSYNC_PUBKEY_BYTES, c->pubkey) != 0 || sodium_is_zero(t.key, SSYNC_PUBKEY_BYTES) ||
	    crypto_core_ed25519_is_valid_point(t.key) != 1)
		return ssync_error_set(err, SSYNC_EINVAL, "--pubkey must be the node's Ed25519 public key as 64 hex characters (E_CERT_BADKEY)");
	t.valid_from = c->valid_from;
	t.valid_until = c->valid_until;
	if (c->enckey[0]) {
		if (ssync_hex_decode(t.enckey, SSYNC_ENCKEY_BYTES, c->enckey) != 0 || sodium_is_zero(t.enckey, SSYNC_ENCKEY_BYTES))
			return ssync_error_set(err, SSYNC_EINVAL, "--enckey must be the node's encryption key as 64 hex characters "
				"(schoolsync init prints it; E_CERT_BADKEY)");
		t.has_enckey = 1;
	}
	if ((error = load_root(st, root_key_path, 0, &root, err)) < 0)
		return error;
	if ((error = next_serial(st, &t.serial, err)) < 0) {
		ssync_keys_free(root);
		return error;
	}
	c->serial = t.serial;
	snprintf(msg, sizeof(msg), "district: certificate %lld for %s (%s)", (long long)t.serial, t.node, t.role);
	error = publish(n, 1, &t, root, msg, err);
	ssync_trust__tobj_clear(&t);
	ssync_keys_free(root);
	return error;
}

int ssync_trust_district_revoke(ssync_node *n, const char *node, int64_t after_seq, const char *root_key_path, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL;
	sqlite3_stmt *q;
	ssync_tobj t;
	char msg[200];
	int error, known;

	memset(&t, 0, sizeof(t));
	if ((error = need_district(st, err)) < 0)
		return error;
	if (!ssync_ident_node_valid(node))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", node ? node : "");
	if (after_seq < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "--after-seq must be 0 or more");
	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_cert WHERE node=?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	known = ssync_store__step_row(st, q, "read certificates", err);
	sqlite3_reset(q);
	if (known < 0)
		return known;
	if (!known)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "node %s has no certificate in this district", node);
	if ((error = load_root(st, root_key_path, 0, &root, err)) < 0)
		return error;
	t.kind = SSYNC_TOBJ_REVOKE;
	snprintf(t.district, sizeof(t.district), "%s", ssync_node_district(n));
	snprintf(t.node, sizeof(t.node), "%s", node);
	t.after_seq = after_seq;
	if ((error = next_serial(st, &t.serial, err)) < 0) {
		ssync_keys_free(root);
		return error;
	}
	snprintf(msg, sizeof(msg), "district: revoke %s after seq %lld", node, (long long)after_seq);
	error = publish(n, 1, &t, root, msg, err);
	ssync_trust__tobj_clear(&t);
	ssync_keys_free(root);
	return error;
}

int ssync_trust_district_list(ssync_store *st, ssync_trust_cert_cb cb, void *payload, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc, error = 0;

	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT c.node, c.serial, c.role, c.school_id, c.pubkey, c.valid_from, "
		"c.valid_until, (SELECT min(after_seq) FROM ssync_revocation r WHERE r.node=c.node), "
		"(SELECT o.body FROM ssync_trust_obj o WHERE o.kind='cert' AND o.node=c.node AND o.serial=c.serial) "
		"FROM ssync_cert c ORDER BY c.node, c.serial", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read certificates");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ssync_cert_info c;
		memset(&c, 0, sizeof(c));
		snprintf(c.node, sizeof(c.node), "%s", (const char *)sqlite3_column_text(q, 0));
		c.serial = sqlite3_column_int64(q, 1);
		snprintf(c.role, sizeof(c.role), "%s", (const char *)sqlite3_column_text(q, 2));
		if (sqlite3_column_type(q, 3) != SQLITE_NULL)
			snprintf(c.school_id, sizeof(c.school_id), "%s", (const char *)sqlite3_column_text(q, 3));
		if (sqlite3_column_bytes(q, 4) == SSYNC_PUBKEY_BYTES)
			ssync_hex_encode(c.pubkey, sqlite3_column_blob(q, 4), SSYNC_PUBKEY_BYTES);
		c.valid_from = sqlite3_column_int64(q, 5);
		c.valid_until = sqlite3_column_int64(q, 6);
		c.revoked_after = sqlite3_column_type(q, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 7);
		if (sqlite3_column_type(q, 8) == SQLITE_TEXT) {
			/* the encryption key lives only in the signed object (PRIVACY.md) */
			json_t *o = json_loads((const char *)sqlite3_column_text(q, 8), 0, NULL);
			const char *ek = json_string_value(json_object_get(o, "enckey"));
			if (ek && strlen(ek) == 2 * SSYNC_ENCKEY_BYTES)
				snprintf(c.enckey, sizeof(c.enckey), "%s", ek);
			json_decref(o);
		}
		if ((error = cb(&c, payload)) != 0)
			break;
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read certificates");
	sqlite3_finalize(q);
	return error;
}

int ssync_trust_district_join(ssync_node *n, const char *root_hex, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	unsigned char pk[SSYNC_PUBKEY_BYTES], old[SSYNC_PUBKEY_BYTES];
	sqlite3_stmt *q;
	int error, rc;

	if (!root_hex || ssync_hex_decode(pk, SSYNC_PUBKEY_BYTES, root_hex) != 0 || crypto_core_ed25519_is_valid_point(pk) != 1)
		return ssync_error_set(err, SSYNC_EINVAL, "--district-pubkey must be the 64 hex characters 'district init' printed");
	if (ssync_trust__pinned_root(st, old) == 0) {
		if (sodium_memcmp(old, pk, SSYNC_PUBKEY_BYTES) == 0)
			return 0;
		ssync_error_set(err, SSYNC_ECONFLICT, "this node has pinned another district root already");
		ssync_error_hint(err, "a node belongs to one district; create a new home to join another");
		return SSYNC_ECONFLICT;
	}
	if ((error = ssync_store_begin(st, err)) < 0)
		return error;
	if ((error = ssync_store_meta_set(st, "district_pubkey", root_hex, err)) < 0)
		goto fail;
	/* From now on keys come only from certificates: forget keys pinned on first use. */
	if (!(q = ssync_store__stmt(st, "DELETE FROM ssync_peer WHERE source='tofu'", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "forget unmanaged keys");
		goto fail;
	}
	return ssync_store_commit(st, err);
fail:
	ssync_store_rollback(st);
	return error;
}

/* Re-enrolment (TRUST.md §5a): a certificate for the new key, with the role,
 * school and validity of the node's newest one, and the re-enrolment object
 * naming the old key, the cut and the new key, in one commit. */
/* The encryption key (64 hex) of @p node's newest certificate into @p hex,
 * "" if it carries none. */
static int cert_enckey(ssync_store *st, const char *node, char hex[2 * SSYNC_ENCKEY_BYTES + 1], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT o.body FROM ssync_cert c JOIN ssync_trust_obj o ON o.kind='cert' "
		"AND o.node=c.node AND o.serial=c.serial WHERE c.node=? ORDER BY c.serial DESC LIMIT 1", err);
	int rc;

	hex[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(st, q, "read certificates", err)) > 0) {
		json_t *o = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
		const char *ek = json_string_value(json_object_get(o, "enckey"));
		if (ek && strlen(ek) == 2 * SSYNC_ENCKEY_BYTES)
			memcpy(hex, ek, 2 * SSYNC_ENCKEY_BYTES + 1);
		json_decref(o);
	}
	sqlite3_reset(q);
	return rc < 0 ? rc : 0;
}

int ssync_trust_district_reenroll(ssync_node *n, const char *node, const char *new_pubkey, const char *new_enckey,
	int64_t void_after, const char *root_key_path, int64_t *gen_out, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL;
	ssync_gen g[SSYNC_GENS_MAX];
	sqlite3_stmt *q;
	ssync_tobj t[2];
	char msg[200];
	int error, rc, ng = 0, i;
	int64_t head = 0, frozen = 0, maxgen = 1, lastcut = -1;

	memset(t, 0, sizeof(t));
	if ((error = need_district(st, err)) < 0)
		return error;
	if (!ssync_ident_node_valid(node))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", node ? node : "");
	if (void_after < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "--void-after must be 0 or more");
	t[0].kind = SSYNC_TOBJ_CERT;
	if (ssync_hex_decode(t[0].key, SSYNC_PUBKEY_BYTES, new_pubkey) != 0 || sodium_is_zero(t[0].key, SSYNC_PUBKEY_BYTES) ||
	    crypto_core_ed25519_is_valid_point(t[0].key) != 1)
		return ssync_error_set(err, SSYNC_EINVAL, "--new-key must be the new key's Ed25519 public key as 64 hex characters (E_CERT_BADKEY)");
	/* the newest certificate: role, school, validity, and the key replaced */
	if (!(q = ssync_store__stmt(st, "SELECT role, school_id, pubkey, valid_from, valid_until FROM ssync_cert WHERE node=? "
		"ORDER BY serial DESC LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(st, q, "read certificates", err)) > 0) {
		snprintf(t[0].role, sizeof(t[0].role), "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(t[0].school, sizeof(t[0].school), "%s", sqlite3_column_type(q, 1) == SQLITE_NULL ? "" :
			(const char *)sqlite3_column_text(q, 1));
		if (sqlite3_column_bytes(q, 2) == SSYNC_PUBKEY_BYTES)
			memcpy(t[1].old_key, sqlite3_column_blob(q, 2), SSYNC_PUBKEY_BYTES);
		t[0].valid_from = sqlite3_column_int64(q, 3);
		t[0].valid_until = sqlite3_column_type(q, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 4);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "node %s has no certificate in this district", node);
	{
		/* private rows (PRIVACY.md §5): the new home reads what the old one
		 * did, under its own encryption key -- never the old home's */
		char oldek[2 * SSYNC_ENCKEY_BYTES + 1];
		if ((error = cert_enckey(st, node, oldek, err)) < 0)
			return error;
		if (new_enckey && *new_enckey) {
			if (ssync_hex_decode(t[0].enckey, SSYNC_ENCKEY_BYTES, new_enckey) != 0 ||
			    sodium_is_zero(t[0].enckey, SSYNC_ENCKEY_BYTES))
				return ssync_error_set(err, SSYNC_EINVAL, "--enckey must be the new home's encryption key as 64 hex "
					"characters (E_CERT_BADKEY)");
			if (strcmp(oldek, new_enckey) == 0) {
				ssync_error_set(err, SSYNC_EINVAL, "--enckey is the old home's encryption key: the old home would "
					"read every new write");
				ssync_error_hint(err, "give the key the new home's init printed (schoolsync privacy key there)");
				return SSYNC_EINVAL;
			}
			t[0].has_enckey = 1;
		} else if (oldek[0]) {
			ssync_error_set(err, SSYNC_EINVAL, "node %s reads private rows: its new home needs its encryption key "
				"certified too", node);
			ssync_error_hint(err, "add --enckey HEX (the new home's init printed it, or: schoolsync privacy key there)");
			return SSYNC_EINVAL;
		}
	}
	if ((error = ssync_trust__gens(st, node, g, &ng, err)) < 0)
		return error;
	for (i = 0; i < ng; i++) {
		if (g[i].gen > maxgen) {
			maxgen = g[i].gen;
			lastcut = g[i].after_seq;
			memcpy(t[1].old_key, g[i].key, SSYNC_PUBKEY_BYTES); /* the current generation's */
		}
		if (sodium_memcmp(g[i].key, t[0].key, SSYNC_PUBKEY_BYTES) == 0 || sodium_memcmp(g[i].old_key, t[0].key, SSYNC_PUBKEY_BYTES) == 0)
			return ssync_error_set(err, SSYNC_EINVAL, "that key was used by node %s before: give the school a new one", node);
	}
	if (sodium_memcmp(t[1].old_key, t[0].key, SSYNC_PUBKEY_BYTES) == 0)
		return ssync_error_set(err, SSYNC_EINVAL, "--new-key is the node's current key: re-enrolment needs a new one");
	if (void_after < lastcut)
		return ssync_error_set(err, SSYNC_EINVAL, "--void-after %lld lies below the previous re-enrolment's cut %lld",
			(long long)void_after, (long long)lastcut);
	if ((error = ssync_log__head(st, node, &head, NULL, NULL, err)) < 0)
		return error;
	if (head < void_after) {
		ssync_error_set(err, SSYNC_EINVAL, "this hub holds node %s's entries only up to seq %lld; it cannot keep seq %lld "
			"valid for the school to continue from", node, (long long)head, (long long)void_after);
		ssync_error_hint(err, "sync first, or choose --void-after %lld or less", (long long)head);
		return SSYNC_EINVAL;
	}
	if (!(q = ssync_store__stmt(st, "SELECT seq FROM ssync_frozen WHERE node=?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(st, q, "read frozen nodes", err)) > 0)
		frozen = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc < 0)
		return rc;
	if (frozen > 0 && void_after >= frozen) {
		ssync_error_set(err, SSYNC_EINVAL, "node %s equivocated at seq %lld: --void-after must lie below it", node, (long long)frozen);
		ssync_error_hint(err, "use --void-after %lld (everything before the fork stays valid)", (long long)(frozen - 1));
		return SSYNC_EINVAL;
	}
	snprintf(t[0].district, sizeof(t[0].district), "%s", ssync_node_district(n));
	snprintf(t[0].node, sizeof(t[0].node), "%s", node);
	t[1].kind = SSYNC_TOBJ_REENROLL;
	snprintf(t[1].district, sizeof(t[1].district), "%s", ssync_node_district(n));
	snprintf(t[1].node, sizeof(t[1].node), "%s", node);
	t[1].gen = maxgen + 1;
	t[1].after_seq = void_after;
	memcpy(t[1].key, t[0].key, SSYNC_PUBKEY_BYTES);
	if ((error = load_root(st, root_key_path, 0, &root, err)) < 0)
		return error;
	if ((error = next_serial(st, &t[0].serial, err)) < 0)
		goto done;
	t[1].serial = t[0].serial + 1;
	snprintf(msg, sizeof(msg), "district: re-enrol %s, key generation %lld after seq %lld", node, (long long)t[1].gen,
		(long long)void_after);
	if ((error = publish(n, 2, t, root, msg, err)) == 0 && gen_out)
		*gen_out = t[1].gen;
done:
	ssync_trust__tobj_clear(&t[0]);
	ssync_trust__tobj_clear(&t[1]);
	ssync_keys_free(root);
	return error;
}

/* Root rotation (TRUST.md §3a): the root in office signs the hand-over to a
 * new root, whose key file is created if absent; objects with a higher
 * serial are signed by the new root only. */
int ssync_trust_district_rotate_root(ssync_node *n, const char *new_root_path, const char *root_key_path,
	char new_root_hex[65], ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL, *nr = NULL;
	ssync_tobj t;
	char msg[160];
	int error;

	memset(&t, 0, sizeof(t));
	if ((error = need_district(st, err)) < 0)
		return error;
	if (!new_root_path || !*new_root_path)
		return ssync_error_set(err, SSYNC_EINVAL, "--new-root-key FILE is required");
	if ((error = load_root(st, root_key_path, 0, &root, err)) < 0)
		return error;
	error = ssync_keys_load(&nr, new_root_path, NULL);
	if (error == SSYNC_ENOTFOUND) {
		if ((error = ssync_keys_generate(&nr, err)) == 0)
			error = ssync_keys_save(nr, new_root_path, err);
	} else if (error < 0) {
		error = ssync_keys_load(&nr, new_root_path, err); /* again, for the message */
	}
	if (error < 0)
		goto done;
	if (sodium_memcmp(ssync_keys_public(nr), ssync_keys_public(root), SSYNC_PUBKEY_BYTES) == 0) {
		error = ssync_error_set(err, SSYNC_EINVAL, "the new root key is the root in office: give a new key file");
		goto done;
	}
	t.kind = SSYNC_TOBJ_ROTATE;
	snprintf(t.district, sizeof(t.district), "%s", ssync_node_district(n));
	snprintf(t.node, sizeof(t.node), "root");
	memcpy(t.old_key, ssync_keys_public(root), SSYNC_PUBKEY_BYTES);
	memcpy(t.key, ssync_keys_public(nr), SSYNC_PUBKEY_BYTES);
	if ((error = next_serial(st, &t.serial, err)) < 0)
		goto done;
	snprintf(msg, sizeof(msg), "district: root rotation %lld", (long long)t.serial);
	if ((error = publish(n, 1, &t, root, msg, err)) == 0)
		ssync_hex_encode(new_root_hex, t.key, SSYNC_PUBKEY_BYTES);
done:
	ssync_trust__tobj_clear(&t);
	ssync_keys_free(root);
	ssync_keys_free(nr);
	return error;
}

/* The newest key certified for @p hub with role hub: 1 and @p key if any. */
static int hub_key(ssync_store *st, const char *hub, unsigned char key[SSYNC_PUBKEY_BYTES], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT pubkey FROM ssync_cert WHERE node=? AND role='hub' "
		"ORDER BY serial DESC LIMIT 1", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, hub, -1, SQLITE_STATIC);
	if ((r = ssync_store__step_row(st, q, "read the hub's certificates", err)) > 0) {
		if (sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES)
			memcpy(key, sqlite3_column_blob(q, 0), SSYNC_PUBKEY_BYTES);
		else
			r = 0;
	}
	sqlite3_reset(q);
	return r;
}

/* 1 if @p key is certified for @p hub with role hub. */
static int hub_key_certified(ssync_store *st, const char *hub, const unsigned char key[SSYNC_PUBKEY_BYTES],
	ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_cert WHERE node=? AND role='hub' AND pubkey=?", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, hub, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, key, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	r = ssync_store__step_row(st, q, "read the hub's certificates", err);
	sqlite3_reset(q);
	return r;
}

int ssync_trust_district_reset_witness(ssync_node *n, int64_t from, const char *hub, const char *pubkey_hex,
	const char *root_key_path, int64_t *to_out, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_keypair *root = NULL;
	int64_t tmax = 0, count = 0;
	ssync_tobj t;
	char msg[200], wit[SSYNC_NODE_ID_MAX + 1];
	int error, r;

	memset(&t, 0, sizeof(t));
	*to_out = 0;
	if ((error = need_district(st, err)) < 0)
		return error;
	if ((error = ssync_witness__latest(st, &tmax, &count, err)) < 0)
		return error;
	if (from < 1 || from > count + 1) {
		ssync_error_set(err, SSYNC_EINVAL, "--from must be a checkpoint position from 1 to %lld (this node holds "
			"%lld checkpoints; %lld voids none)", (long long)(count + 1), (long long)count, (long long)(count + 1));
		ssync_error_hint(err, "sync with the district first, so the reset reaches the latest checkpoint; "
			"'schoolsync status' shows the witnessed time");
		return SSYNC_EINVAL;
	}
	if (hub && !ssync_ident_node_valid(hub))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", hub);
	if (!hub) {
		if ((r = ssync_witness__witness_node(st, wit, NULL, err)) < 0)
			return r;
		if (r == 0)
			return ssync_error_set(err, SSYNC_ENOTFOUND, "this district has no hub certificate");
		hub = wit;
	}
	if (pubkey_hex) {
		if (strlen(pubkey_hex) != 64 || ssync_hex_decode(t.key, SSYNC_PUBKEY_BYTES, pubkey_hex) != 0 ||
		    crypto_core_ed25519_is_valid_point(t.key) != 1)
			return ssync_error_set(err, SSYNC_EINVAL, "--pubkey must be 64 hex characters of a valid Ed25519 key "
				"(the hub's 'schoolsync init' printed it)");
	} else if ((r = hub_key(st, hub, t.key, err)) <= 0) {
		if (r < 0)
			return r;
		ssync_error_set(err, SSYNC_ENOTFOUND, "node %s has no hub certificate", hub);
		ssync_error_hint(err, "give its key with --pubkey HEX, or enrol it first: schoolsync district enroll %s "
			"--role hub --pubkey HEX --root-key FILE", hub);
		return SSYNC_ENOTFOUND;
	}
	/* The key it names must be a hub key of that node the district
	 * certified: a reset naming a node or key nobody enrolled as a hub (a
	 * typo, a step skipped) stops every checkpoint until another reset. */
	if ((r = hub_key_certified(st, hub, t.key, err)) <= 0) {
		if (r < 0)
			return r;
		ssync_hex_encode(msg, t.key, SSYNC_PUBKEY_BYTES);
		ssync_error_set(err, SSYNC_ENOTFOUND, "key %.16s... is not certified for hub %s: a reset naming it would "
			"stop every checkpoint", msg, hub);
		ssync_error_hint(err, "enrol it first: schoolsync district enroll %s --role hub --pubkey HEX --root-key FILE "
			"(docs/OPERATIONS.md, 'A hub key leaked')", hub);
		return SSYNC_ENOTFOUND;
	}
	if ((error = load_root(st, root_key_path, 0, &root, err)) < 0)
		return error;
	t.kind = SSYNC_TOBJ_WRESET;
	snprintf(t.district, sizeof(t.district), "%s", ssync_node_district(n));
	snprintf(t.node, sizeof(t.node), "%s", hub);
	t.wfrom = from;
	t.wto = count;
	if ((error = next_serial(st, &t.serial, err)) == 0 &&
	    (r = ssync_witness__reset_check(st, &t, msg, sizeof(msg), err)) != 0) {
		if (r > 0) {
			ssync_error_set(err, SSYNC_EINVAL, "%s", msg);
			ssync_error_hint(err, "'schoolsync status' shows the checkpoints held; a reset starts after the last one");
		}
		error = r > 0 ? SSYNC_EINVAL : r;
	}
	if (error == 0) {
		snprintf(msg, sizeof(msg), "district: witness reset %lld voids checkpoints %lld..%lld, witness %s",
			(long long)t.serial, (long long)from, (long long)count, hub);
		if ((error = publish(n, 1, &t, root, msg, err)) == 0)
			*to_out = count;
	}
	ssync_trust__tobj_clear(&t);
	ssync_keys_free(root);
	return error;
}
