/*
 * A node's own key store read back (docs/PRIVACY.md §8). A home restored
 * with init --restore-key starts with an empty keys.db, yet its own store
 * on the hub still seals every data key it made to its own X25519 key:
 * the first sync that reads a copy of that store we do not hold takes the
 * keys (and the erasures it names, a hub's grants) back (origin 'recovered': whom they were sealed to before is
 * unknown, so no new write reuses one). Boxes we cannot open (enc.key
 * lost) are carried, as they are, into our next store: a store that
 * dropped them would make every reader delete them (the owner's store is
 * what readers hold of its keys). Erasure stays: an erased kid (keys.db's
 * list, a hub's notice) is never taken back or carried, and a copy older
 * than the newest we saw is never read (keysync.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore_int.h"
#include "node_int.h"
#include "privacy_priv.h"
#include "policy_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/home.h"
#include "schoolsync/ident.h"
#include "schoolsync/privacy.h"

/* The school a kid belongs to, from its readers: the school of the first
 * school node it is sealed to (a school reads only its own rows), else ""
 * (a hub row). Decides whom our next store seals it to. */
static int kid_school(ssync_store *st, const ssync_ks_key *k, char school[SSYNC_NODE_ID_MAX + 1], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT role, ifnull(school_id,'') FROM ssync_cert WHERE node=? "
		"ORDER BY serial DESC LIMIT 1", err);
	int i, rc = SQLITE_DONE;

	school[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	for (i = 0; i < k->nwraps && !school[0]; i++) {
		sqlite3_bind_text(q, 1, k->wraps[i].node, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "school") == 0)
			snprintf(school, SSYNC_NODE_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(q, 1));
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "read certificate");
	}
	return 0;
}

int ssync_privacy__take_own(ssync_node *n, sqlite3 *kdb, const ssync_keystore *ks, int is_hub, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	const char *self = ssync_node_id(n);
	ssync_enckey *cur = NULL, *old = NULL;
	sqlite3_stmt *ins = NULL, *car = NULL, *seen = NULL;
	unsigned char key[SSYNC_DATAKEY_BYTES];
	int i, j, error;

	if ((error = ssync_privacy__enckeys(n, &cur, &old, err)) < 0)
		return error;
	if ((error = ssync_privacy__kdb_exec(kdb, "BEGIN IMMEDIATE", err)) < 0)
		goto done;
	if (is_hub < 0)
		goto add; /* a store of an earlier key generation: only adds */
	/* what an older copy gave back is replaced by this one (a kid the
	 * owner -- we -- dropped since is dropped here); keys this home made
	 * itself stay (they may be newer than the copy) */
	if (sqlite3_prepare_v2(kdb, "DELETE FROM data_key WHERE owner=? AND origin='recovered'", -1, &ins, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "take back data keys");
		goto fail;
	}
	sqlite3_bind_text(ins, 1, self, -1, SQLITE_STATIC);
	error = ssync_privacy__kdb_step(kdb, ins, err, "take back data keys");
	sqlite3_finalize(ins);
	ins = NULL;
	if (error < 0 || (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM carried", err)) < 0)
		goto fail;
	if ((error = ssync_privacy__take_notices(kdb, ks, is_hub, err)) < 0)
		goto fail;
add:
	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO data_key(kid, owner, school, key, readers, origin) "
		"SELECT ?1, ?2, ?3, ?4, '', 'recovered' WHERE NOT EXISTS (SELECT 1 FROM erased WHERE kid=?1)", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO carried(kid, school, node, box) "
		"SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM erased WHERE kid=?1)", -1, &car, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "take back data keys");
		goto fail;
	}
	for (i = 0; i < ks->nkeys && !error; i++) {
		const ssync_ks_key *k = &ks->keys[i];
		char school[SSYNC_NODE_ID_MAX + 1];
		int opened = 0;

		if ((error = kid_school(st, k, school, err)) < 0)
			break;
		for (j = 0; j < k->nwraps && !opened; j++)
			opened = strcmp(k->wraps[j].node, self) == 0 && ssync_privacy__open_box(cur, old, key, k->wraps[j].box);
		if (opened) {
			sqlite3_bind_text(ins, 1, k->kid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, self, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, school, -1, SQLITE_STATIC);
			sqlite3_bind_blob(ins, 4, key, SSYNC_DATAKEY_BYTES, SQLITE_STATIC);
			error = ssync_privacy__kdb_step(kdb, ins, err, "store data key");
			continue;
		}
		/* not ours to open: carried as it is, so no reader loses it */
		for (j = 0; j < k->nwraps && !error; j++) {
			sqlite3_bind_text(car, 1, k->kid, -1, SQLITE_STATIC);
			sqlite3_bind_text(car, 2, school, -1, SQLITE_STATIC);
			sqlite3_bind_text(car, 3, k->wraps[j].node, -1, SQLITE_STATIC);
			sqlite3_bind_blob(car, 4, k->wraps[j].box, SSYNC_KEYSTORE_BOX, SQLITE_STATIC);
			error = ssync_privacy__kdb_step(kdb, car, err, "carry a data key");
		}
	}
	if (error < 0)
		goto fail;
	if (sqlite3_prepare_v2(kdb, "INSERT OR REPLACE INTO seen(node, version) VALUES (?,?)", -1, &seen, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "record key store version");
		goto fail;
	}
	sqlite3_bind_text(seen, 1, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(seen, 2, ks->version);
	if ((error = ssync_privacy__kdb_step(kdb, seen, err, "record key store version")) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM data_key WHERE kid IN (SELECT kid FROM erased)", err)) < 0 ||
	    /* the digest of what we published is gone with the old keys.db:
	     * our next store is built and published afresh */
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM meta WHERE k='digest'", err)) < 0)
		goto fail;
	if ((error = ssync_privacy__kdb_exec(kdb, "COMMIT", err)) == 0)
		ssync_privacy__kdb_scrub(kdb);
	goto done;
fail:
	(void)sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL);
done:
	sodium_memzero(key, sizeof(key));
	sqlite3_finalize(ins);
	sqlite3_finalize(car);
	sqlite3_finalize(seen);
	ssync_enckey_free(cur);
	ssync_enckey_free(old);
	return error;
}

typedef struct carried_box {
	char kid[SSYNC_KID_HEX + 1];
	char school[SSYNC_NODE_ID_MAX + 1];
	unsigned char box[SSYNC_KEYSTORE_BOX];
} carried_box;

int ssync_privacy__reclaim(ssync_node *n, sqlite3 *kdb, ssync_error *err)
{
	ssync_enckey *cur = NULL, *old = NULL;
	sqlite3_stmt *q = NULL, *ins = NULL, *del = NULL;
	unsigned char key[SSYNC_DATAKEY_BYTES];
	carried_box *v = NULL;
	int rc, i, nv = 0, error = 0;

	/* read first, change after: no write under a walk of the same table */
	if (sqlite3_prepare_v2(kdb, "SELECT kid, school, box FROM carried WHERE node=?", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "read carried keys");
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		void *a;
		if (sqlite3_column_bytes(q, 2) != SSYNC_KEYSTORE_BOX)
			continue;
		if (!(a = realloc(v, (size_t)(nv + 1) * sizeof(*v)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			break;
		}
		v = a;
		snprintf(v[nv].kid, sizeof(v[nv].kid), "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(v[nv].school, sizeof(v[nv].school), "%s", (const char *)sqlite3_column_text(q, 1));
		memcpy(v[nv].box, sqlite3_column_blob(q, 2), SSYNC_KEYSTORE_BOX);
		nv++;
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "read carried keys");
	sqlite3_finalize(q);
	if (error < 0 || nv == 0)
		goto done;
	if ((error = ssync_privacy__enckeys(n, &cur, &old, err)) < 0)
		goto done;
	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO data_key(kid, owner, school, key, readers, origin) "
		"VALUES (?,?,?,?,'','recovered')", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(kdb, "DELETE FROM carried WHERE kid=?", -1, &del, NULL) != SQLITE_OK ||
	    (error = ssync_privacy__kdb_exec(kdb, "BEGIN IMMEDIATE", err)) < 0) {
		error = error < 0 ? error : ssync_privacy__kdb_err(kdb, err, "take back data keys");
		goto done;
	}
	for (i = 0; i < nv && !error; i++) {
		if (!ssync_privacy__open_box(cur, old, key, v[i].box))
			continue;
		sqlite3_bind_text(ins, 1, v[i].kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, ssync_node_id(n), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, v[i].school, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 4, key, SSYNC_DATAKEY_BYTES, SQLITE_STATIC);
		if ((error = ssync_privacy__kdb_step(kdb, ins, err, "store data key")) == 0) {
			sqlite3_bind_text(del, 1, v[i].kid, -1, SQLITE_STATIC);
			error = ssync_privacy__kdb_step(kdb, del, err, "store data key");
		}
	}
	if (error < 0)
		(void)sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL);
	else
		error = ssync_privacy__kdb_exec(kdb, "COMMIT", err);
done:
	sodium_memzero(key, sizeof(key));
	free(v);
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	ssync_enckey_free(cur);
	ssync_enckey_free(old);
	return error;
}

int ssync_privacy__add_carried(ssync_node *n, sqlite3 *kdb, ssync_keystore *ks, void *hstate, ssync_error *err)
{
	crypto_generichash_state *h = hstate;
	ssync_store *st = ssync_node_store(n);
	ssync_readers rd = { 0 };
	sqlite3_stmt *q = NULL;
	char school[SSYNC_NODE_ID_MAX + 1] = "\x01";
	ssync_ks_key *k = NULL;
	int rc, i, error = 0;

	/* a kid we hold again (reclaimed) is sealed afresh by build_store */
	if (sqlite3_prepare_v2(kdb, "SELECT kid, school, node, box FROM carried c WHERE kid NOT IN (SELECT kid FROM erased) "
		"AND NOT EXISTS (SELECT 1 FROM data_key d WHERE d.kid=c.kid AND d.owner=?) ORDER BY school, kid, node",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "read carried keys");
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *kid = (const char *)sqlite3_column_text(q, 0), *sch = (const char *)sqlite3_column_text(q, 1);
		const char *node = (const char *)sqlite3_column_text(q, 2);
		int reader = 0;
		ssync_ks_wrap *w;

		if (strcmp(sch, school) != 0) {
			ssync_privacy__readers_free(&rd);
			snprintf(school, sizeof(school), "%s", sch);
			if ((error = ssync_privacy__readers(st, kdb, school, &rd, err)) < 0)
				break;
		}
		/* only to nodes that still read that school (a revoked auditor's
		 * box is not carried on) */
		for (i = 0; i < rd.n && !reader; i++)
			reader = strcmp(rd.v[i].node, node) == 0;
		if (!reader || sqlite3_column_bytes(q, 3) != SSYNC_KEYSTORE_BOX)
			continue;
		if (!k || strcmp(k->kid, kid) != 0) {
			void *a = realloc(ks->keys, (size_t)(ks->nkeys + 1) * sizeof(*ks->keys));
			if (!a) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			ks->keys = a;
			k = &ks->keys[ks->nkeys++];
			memset(k, 0, sizeof(*k));
			snprintf(k->kid, sizeof(k->kid), "%s", kid);
			crypto_generichash_update(h, (const unsigned char *)"c", 1);
			crypto_generichash_update(h, (const unsigned char *)kid, strlen(kid) + 1);
		}
		if (!(w = realloc(k->wraps, (size_t)(k->nwraps + 1) * sizeof(*k->wraps)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			break;
		}
		k->wraps = w;
		w = &k->wraps[k->nwraps++];
		snprintf(w->node, sizeof(w->node), "%s", node);
		memcpy(w->box, sqlite3_column_blob(q, 3), SSYNC_KEYSTORE_BOX);
		crypto_generichash_update(h, (const unsigned char *)node, strlen(node) + 1);
		crypto_generichash_update(h, w->box, SSYNC_KEYSTORE_BOX);
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "read carried keys");
	sqlite3_finalize(q);
	ssync_privacy__readers_free(&rd);
	return error;
}

int ssync_privacy_keys_sealed_elsewhere(ssync_node *n, int64_t *count, ssync_error *err)
{
	char path[4096];
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	int error;

	*count = 0;
	if ((error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_KEYSDB, err)) < 0)
		return error;
	if (access(path, F_OK) != 0)
		return 0;
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(kdb, "SELECT count(DISTINCT kid) FROM carried c WHERE node=? AND NOT EXISTS (SELECT 1 FROM data_key d WHERE d.kid=c.kid)", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "read carried keys");
	} else {
		sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			*count = sqlite3_column_int64(q, 0);
		else
			error = ssync_privacy__kdb_err(kdb, err, "read carried keys");
	}
	sqlite3_finalize(q);
	ssync_privacy__kdb_release(kdb);
	return error;
}

/*
 * The hub's re-seal (docs/PRIVACY.md §8): a school node that lost enc.key
 * carries its boxes (above) but cannot open them; the hub, a reader of
 * every school, holds those keys. It copies them as its own (origin
 * 'adopted:<node>', never reused for a new write) so its store seals them
 * to the school's readers -- the node's new key among them. A copy lives
 * only while the node's own store holds the kid: an erasure by the school
 * (its store drops the kid) drops the hub's copy when the hub applies it.
 */
int ssync_privacy_reseal(ssync_node *n, const char *node, int *count, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char role[16], school[SSYNC_NODE_ID_MAX + 1], origin[SSYNC_NODE_ID_MAX + 16];
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	int64_t until = 0, max_seq = 0;
	int managed = 0, rc, error;

	*count = 0;
	if (!node || !ssync_ident_node_valid(node))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", node ? node : "");
	if ((error = ssync_policy__local(st, ssync_node_id(n), NULL, ssync_hlc_tick(0, ssync_hlc_wall_ms()), &managed, role,
		school, &until, &max_seq, err)) < 0)
		return error;
	if (!managed || strcmp(role, "hub") != 0)
		return ssync_error_set(err, SSYNC_EPERM, "only the district hub re-seals a school's data keys");
	/* the school the node speaks for: whom its keys are sealed to */
	if (!(q = ssync_store__stmt(st, "SELECT role, ifnull(school_id,'') FROM ssync_cert WHERE node=? ORDER BY serial DESC LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	school[0] = 0;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "school") == 0)
		snprintf(school, sizeof(school), "%s", (const char *)sqlite3_column_text(q, 1));
	sqlite3_reset(q);
	q = NULL;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read certificate");
	if (!school[0])
		return ssync_error_set(err, SSYNC_EINVAL, "%s is not a school node of this district", node);
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	snprintf(origin, sizeof(origin), "adopted:%s", node);
	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO data_key(kid, owner, school, key, readers, origin) "
		"SELECT kid, ?1, ?2, key, '', ?3 FROM data_key WHERE owner=?4 AND kid NOT IN (SELECT kid FROM erased)",
		-1, &q, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "re-seal data keys");
		goto done;
	}
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, school, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, node, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "re-seal data keys");
	else
		*count = sqlite3_changes(kdb);
done:
	sqlite3_finalize(q);
	ssync_privacy__kdb_release(kdb);
	return error;
}

int ssync_privacy__drop_adopted(ssync_node *n, sqlite3 *kdb, const char *owner, ssync_error *err)
{
	char origin[SSYNC_NODE_ID_MAX + 16];
	sqlite3_stmt *q = NULL;
	int error = 0;

	snprintf(origin, sizeof(origin), "adopted:%s", owner);
	if (sqlite3_prepare_v2(kdb, "DELETE FROM data_key WHERE owner=?1 AND origin=?2 AND kid NOT IN "
		"(SELECT kid FROM data_key WHERE owner=?3)", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "drop re-sealed keys");
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "drop re-sealed keys");
	sqlite3_finalize(q);
	return error;
}
