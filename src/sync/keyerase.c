/*
 * A school's erasure reaches the keys other nodes made (docs/PRIVACY.md
 * §4): the hub editing a school's row, or a second node of that school,
 * seals with a data key of its own, which the school cannot drop from
 * their stores. So a school's store names what it erased ("erased"), and
 * every receiver honours such a request from school S for a data key made
 * by a node certified for S, and the hub also for the keys it made itself
 * for S's rows (keys.db records their school). Kids are public: a request
 * for any other key (another school's, a hub's key held elsewhere) is kept
 * but never honoured, so one school cannot erase another's students.
 * Requests are kept (erase_ask, each node's newest list), so a key that
 * arrives after the request is erased too: the outcome is a function of the stores held, not of
 * their order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy_priv.h"

/* The school node @p node is certified for ("" if none; also "" for a
 * revoked node when @p unrevoked: a stolen laptop's key, once revoked,
 * asks for nothing). */
static int school_of(ssync_store *st, const char *node, int unrevoked, char school[SSYNC_NODE_ID_MAX + 1],
	ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, unrevoked ?
		"SELECT ifnull(school_id,'') FROM ssync_cert WHERE node=?1 AND role='school' "
		"AND serial=(SELECT max(serial) FROM ssync_cert x WHERE x.node=?1) "
		"AND NOT EXISTS (SELECT 1 FROM ssync_revocation r WHERE r.node=?1)" :
		"SELECT ifnull(school_id,'') FROM ssync_cert WHERE node=?1 AND role='school' "
		"AND serial=(SELECT max(serial) FROM ssync_cert x WHERE x.node=?1)", err);
	int rc;

	school[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		snprintf(school, SSYNC_NODE_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read certificate");
}

int ssync_privacy__erase_requests(ssync_node *n, sqlite3 *kdb, const ssync_keystore *ks, ssync_error *err)
{
	char school[SSYNC_NODE_ID_MAX + 1];
	sqlite3_stmt *q = NULL;
	int i, error;

	/* a store's list is all its node asks (it never shrinks): it replaces
	 * the one held, so a hostile node's junk costs one store's worth */
	if (sqlite3_prepare_v2(kdb, "DELETE FROM erase_ask WHERE node=?", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "record erasure requests");
	sqlite3_bind_text(q, 1, ks->node, -1, SQLITE_STATIC);
	error = sqlite3_step(q) == SQLITE_DONE ? 0 : ssync_privacy__kdb_err(kdb, err, "record erasure requests");
	sqlite3_finalize(q);
	q = NULL;
	if (error < 0 || ks->nerased == 0)
		return error;
	if ((error = school_of(ssync_node_store(n), ks->node, 1, school, err)) < 0 || !school[0])
		return error; /* only a school node asks for its school's rows */
	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO erase_ask(node, kid, school) VALUES (?,?,?)", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "record erasure requests");
	for (i = 0; i < ks->nerased && !error; i++) {
		sqlite3_bind_text(q, 1, ks->node, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ks->erased[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, school, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			error = ssync_privacy__kdb_err(kdb, err, "record erasure requests");
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return error;
}

int ssync_privacy__erase_resolve(ssync_node *n, sqlite3 *kdb, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	sqlite3_stmt *q = NULL, *ins = NULL;
	int rc, error = 0, self_hub = 0;
	char own[SSYNC_NODE_ID_MAX + 1];

	{
		sqlite3_stmt *r = ssync_store__stmt(st, "SELECT role FROM ssync_cert WHERE node=? ORDER BY serial DESC LIMIT 1", err);
		if (!r)
			return SSYNC_ERROR;
		sqlite3_bind_text(r, 1, ssync_node_id(n), -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(r)) == SQLITE_ROW)
			self_hub = strcmp((const char *)sqlite3_column_text(r, 0), "hub") == 0;
		sqlite3_reset(r);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "read certificate");
	}
	if (sqlite3_prepare_v2(kdb, "SELECT d.kid, d.owner, d.school, r.school FROM data_key d JOIN erase_ask r ON r.kid=d.kid "
		"WHERE d.kid NOT IN (SELECT kid FROM erased)", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO erased(kid) VALUES (?)", -1, &ins, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "read erasure requests");
		goto done;
	}
	while (!error && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *kid = (const char *)sqlite3_column_text(q, 0), *owner = (const char *)sqlite3_column_text(q, 1);
		const char *made_for = (const char *)sqlite3_column_text(q, 2), *asker = (const char *)sqlite3_column_text(q, 3);
		int take;

		/* a key the hub made for the asking school's row (keys.db says which) */
		take = self_hub && strcmp(owner, ssync_node_id(n)) == 0 && strcmp(made_for, asker) == 0;
		if (!take) {
			if ((error = school_of(st, owner, 0, own, err)) < 0)
				break;
			take = own[0] && strcmp(own, asker) == 0; /* made by a node of that school */
		}
		if (!take)
			continue;
		sqlite3_bind_text(ins, 1, kid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			error = ssync_privacy__kdb_err(kdb, err, "record erasure");
		sqlite3_reset(ins);
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "read erasure requests");
done:
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	return error;
}
