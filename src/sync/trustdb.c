/* Queries of the trust data a replica holds (docs/TRUST.md §1, §3): whether
 * the node is managed, the pinned root, which nodes are auditors, and the
 * quarantine rows trust decisions leave. Everything here reads or writes
 * only the replica; no git, no judging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "schoolsync/keys.h"
#include "trustdb_int.h"

int ssync_trust_managed(ssync_store *st)
{
	char *v = NULL;
	int r = ssync_store_meta_get(st, "district_pubkey", &v, NULL) == 0 && v && strlen(v) == 64;

	free(v);
	return r;
}

int ssync_trust__pinned_root(ssync_store *st, unsigned char root[SSYNC_PUBKEY_BYTES])
{
	char *v = NULL;
	int r = SSYNC_ENOTFOUND;

	if (ssync_store_meta_get(st, "district_pubkey", &v, NULL) == 0 && v && ssync_hex_decode(root, SSYNC_PUBKEY_BYTES, v) == 0)
		r = 0;
	free(v);
	return r;
}

int ssync_trust__have_genesis(ssync_store *st, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_trust_obj WHERE kind='genesis'", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	r = ssync_store__step_row(st, q, "read genesis record", err);
	sqlite3_reset(q);
	return r;
}

/* 1 if the log holds entries of nodes that have trust data newer than the
 * last rebuild: simplest sound rule -- any change with entries of a
 * certified or revoked node present triggers a full rebuild. Merge state
 * counts too: a re-enrolment deletes the void entries it finds (reenroll.c),
 * and when they were all the log held, their rows must still go. */
int ssync_trust__need_rebuild(ssync_store *st)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 WHERE EXISTS (SELECT 1 FROM ssync_entry e WHERE e.node IN "
		"(SELECT node FROM ssync_cert UNION SELECT node FROM ssync_revocation)) OR EXISTS (SELECT 1 FROM ssync_row)", NULL);
	int r;

	if (!q)
		return 1;
	/* On a failed read, rebuild: the rebuild reports the database's error. */
	r = ssync_store__step_row(st, q, "", NULL) != 0;
	sqlite3_reset(q);
	return r;
}

int ssync_trust__is_auditor(ssync_store *st, const char *node, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT role FROM ssync_peer WHERE node=? AND source='cert'", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((r = ssync_store__step_row(st, q, "read node role", err)) > 0)
		r = strcmp((const char *)sqlite3_column_text(q, 0), "auditor") == 0;
	sqlite3_reset(q);
	return r;
}

int ssync_trust__quarantine(ssync_store *st, const char *node, int64_t seq, const char *code,
	const char *why, const char *line, size_t len, const char *source, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_quarantine(node, seq, code, reason, line, source, received) "
		"VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	if (line && len > 0 && line[len - 1] == '\n')
		len--;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_text(q, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, why, -1, SQLITE_STATIC);
	if (line)
		sqlite3_bind_blob(q, 5, line, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_text(q, 6, source ? source : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record quarantine");
}

int ssync_trust__genesis_root(ssync_store *st, unsigned char out[SSYNC_PUBKEY_BYTES], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body FROM ssync_trust_obj WHERE kind='genesis'", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	if ((r = ssync_store__step_row(st, q, "read genesis record", err)) > 0) {
		json_t *o = json_loadb((const char *)sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0), 0, NULL);
		r = o && ssync_hex_decode(out, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "root"))) == 0 ? 0 :
			ssync_error_set(err, SSYNC_ECORRUPT, "the genesis record held names no root key");
		json_decref(o);
	} else if (r == 0) {
		r = SSYNC_ENOTFOUND;
	}
	sqlite3_reset(q);
	return r;
}

/* The chain starts at the genesis root once held (a node may pin a root the
 * genesis was rotated to, TRUST.md §3a), else at the pinned one. */
int ssync_trust__root_at(ssync_store *st, int64_t serial, unsigned char out[SSYNC_PUBKEY_BYTES])
{
	sqlite3_stmt *q;
	int rc, moved = 0;

	if ((rc = ssync_trust__genesis_root(st, out, NULL)) == SSYNC_ENOTFOUND) {
		if (ssync_trust__pinned_root(st, out) != 0)
			return -1;
	} else if (rc < 0) {
		return -1;
	}
	if (!(q = ssync_store__stmt(st, "SELECT body FROM ssync_trust_obj WHERE kind='rotate' AND serial<? ORDER BY serial", NULL)))
		return -1;
	sqlite3_bind_int64(q, 1, serial);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *o = json_loadb((const char *)sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0), 0, &jerr);
		unsigned char oldk[SSYNC_PUBKEY_BYTES], newk[SSYNC_PUBKEY_BYTES];
		/* only a rotation by the root in office moves it (a loaded one always is) */
		if (o && ssync_hex_decode(oldk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "old_root"))) == 0 &&
		    ssync_hex_decode(newk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "new_root"))) == 0 &&
		    sodium_memcmp(oldk, out, SSYNC_PUBKEY_BYTES) == 0) {
			memcpy(out, newk, SSYNC_PUBKEY_BYTES);
			moved = 1;
		}
		json_decref(o);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return -1;
	return moved;
}

/* The highest seq of @p self any held checkpoint lists (0: none). */
static int64_t listed_own(ssync_store *st, const char *self)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(seq), 0) FROM ssync_witness_head WHERE node=?", NULL);
	int64_t v = 0;

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, self, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return v;
}

int ssync_trust__stale_note(ssync_store *st, const char *self, int64_t head, const char *why, ssync_error *err)
{
	char buf[600];
	int64_t listed = listed_own(st, self);

	if (listed < 0)
		return ssync_store__sqlerr(st, err, "read witnessed heads");
	if (listed >= head)
		return 0; /* the chain held already saw this node that far */
	snprintf(buf, sizeof(buf), "%lld %s", (long long)head, why);
	return ssync_store_meta_set(st, "trust_stale", buf, err);
}

int ssync_trust__stale_check(ssync_store *st, const char *self, const char *what, ssync_error *err)
{
	char *v = NULL, *why = NULL;
	int64_t head, listed;
	int error = 0;

	if (ssync_store_meta_get(st, "trust_stale", &v, NULL) != 0 || !v || !v[0]) {
		free(v);
		return 0;
	}
	head = strtoll(v, &why, 10);
	if ((listed = listed_own(st, self)) < 0) {
		free(v);
		return ssync_store__sqlerr(st, err, "read witnessed heads");
	}
	if (listed >= head) {
		/* a newer district branch was read: its chain lists our entries */
		free(v);
		return ssync_store_meta_set(st, "trust_stale", "", err);
	}
	error = ssync_error_set(err, SSYNC_EROLLBACK, "%s refused: this node was restored from an old copy (its own "
		"entries up to seq %lld came back from a remote, but no checkpoint it holds lists them), so its district "
		"branch is as old and lacks checkpoints or objects it signed since; signing now would reuse them (E_ROLLBACK)",
		what, (long long)head);
	ssync_error_hint(err, "sync with a remote that holds the district branch (the hub's repository) first; "
		"docs/OPERATIONS.md §7 \"Restored from an old copy\"");
	free(v);
	return error < 0 ? error : SSYNC_EROLLBACK;
}

int ssync_trust__pinned_reached(ssync_store *st, ssync_error *err)
{
	unsigned char pinned[SSYNC_PUBKEY_BYTES], cur[SSYNC_PUBKEY_BYTES];
	sqlite3_stmt *q;
	int rc, r, found;

	if (ssync_trust__pinned_root(st, pinned) != 0)
		return ssync_error_set(err, SSYNC_ECERT, "no district root is pinned on this node");
	if ((r = ssync_trust__genesis_root(st, cur, err)) < 0)
		return r == SSYNC_ENOTFOUND ? 1 : r;
	found = sodium_memcmp(cur, pinned, SSYNC_PUBKEY_BYTES) == 0;
	if (!(q = ssync_store__stmt(st, "SELECT body FROM ssync_trust_obj WHERE kind='rotate' ORDER BY serial", err)))
		return SSYNC_ERROR;
	while (!found && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		json_t *o = json_loadb((const char *)sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0), 0, NULL);
		unsigned char oldk[SSYNC_PUBKEY_BYTES], newk[SSYNC_PUBKEY_BYTES];
		if (o && ssync_hex_decode(oldk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "old_root"))) == 0 &&
		    ssync_hex_decode(newk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "new_root"))) == 0 &&
		    sodium_memcmp(oldk, cur, SSYNC_PUBKEY_BYTES) == 0) {
			memcpy(cur, newk, SSYNC_PUBKEY_BYTES);
			found = sodium_memcmp(cur, pinned, SSYNC_PUBKEY_BYTES) == 0;
		}
		json_decref(o);
	}
	if (!found && rc != SQLITE_DONE) {
		sqlite3_reset(q);
		return ssync_store__sqlerr(st, err, "read root rotations");
	}
	sqlite3_reset(q);
	return found;
}
