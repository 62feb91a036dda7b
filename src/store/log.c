/* A node's hash chain as stored in the replica: every entry held, by (node,
 * seq), with its exact signed body. Own appends and received entries go
 * through the same table, so the log and the replica change in one
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "log_int.h"
#include "schoolsync/log.h"

int ssync_log__parse_row(sqlite3_stmt *q, int body_col, int sig_col, const char *node, int64_t seq,
	ssync_entry **out, ssync_error *err)
{
	size_t blen = (size_t)sqlite3_column_bytes(q, body_col);
	ssync_error perr;
	char *line;
	int error;

	*out = NULL;
	if (sqlite3_column_bytes(q, sig_col) != SSYNC_SIG_BYTES)
		return ssync_error_set(err, SSYNC_ECORRUPT, "stored entry %s#%lld has a damaged signature", node, (long long)seq);
	/* Rebuild the wire line: parsing checks the body is canonical. */
	if (!(line = malloc(blen + 2 * SSYNC_SIG_BYTES + 2)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(line, sqlite3_column_blob(q, body_col), blen);
	line[blen] = '\t';
	ssync_hex_encode(line + blen + 1, sqlite3_column_blob(q, sig_col), SSYNC_SIG_BYTES);
	ssync_error_clear(&perr);
	error = ssync_entry_parse(out, line, blen + 1 + 2 * SSYNC_SIG_BYTES, &perr);
	free(line);
	if (error < 0)
		return ssync_error_set(err, error == SSYNC_ERROR ? SSYNC_ERROR : SSYNC_ECORRUPT,
			"stored entry %s#%lld does not parse: %s", node, (long long)seq, perr.message);
	return 0;
}

int ssync_log__head(ssync_store *st, const char *node, int64_t *seq,
	unsigned char hash[SSYNC_HASH_BYTES], uint64_t *hlc, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT seq, hash, hlc FROM ssync_entry WHERE node=? "
		"ORDER BY seq DESC LIMIT 1", err);
	int rc;

	*seq = 0;
	if (hash)
		memset(hash, 0, SSYNC_HASH_BYTES);
	if (hlc)
		*hlc = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(q, 0);
		if (hash && sqlite3_column_bytes(q, 1) == SSYNC_HASH_BYTES)
			memcpy(hash, sqlite3_column_blob(q, 1), SSYNC_HASH_BYTES);
		if (hlc)
			*hlc = (uint64_t)sqlite3_column_int64(q, 2);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read log head");
	return 0;
}

int ssync_log__insert(ssync_store *st, const ssync_entry *e, int state, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT INTO ssync_entry(node, seq, hash, hlc, body, sig, state) "
		"VALUES (?, ?, ?, ?, ?, ?, ?)", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, e->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, e->seq);
	sqlite3_bind_blob(q, 3, e->hash, SSYNC_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)e->hlc);
	sqlite3_bind_text(q, 5, e->body, (int)e->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, e->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(q, 7, state);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		if ((sqlite3_extended_errcode(ssync_store__db(st)) & 0xff) == SQLITE_CONSTRAINT)
			return ssync_error_set(err, SSYNC_EEXISTS, "entry %s#%lld is already in the log", e->node, (long long)e->seq);
		return ssync_store__sqlerr(st, err, "append entry");
	}
	return 0;
}

int ssync_log__get(ssync_store *st, const char *node, int64_t seq, ssync_entry **out, int *state, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body, sig, state FROM ssync_entry WHERE node=? AND seq=?", err);
	int rc, error = 0;

	*out = NULL;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		if (state)
			*state = sqlite3_column_int(q, 2);
		error = ssync_log__parse_row(q, 0, 1, node, seq, out, err);
		sqlite3_reset(q);
		return error;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return SSYNC_ENOTFOUND;
	return ssync_store__sqlerr(st, err, "read entry");
}

int ssync_log__peer_key(ssync_store *st, const char *node, unsigned char pk[SSYNC_PUBKEY_BYTES], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT pubkey FROM ssync_peer WHERE node=?", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES) {
		memcpy(pk, sqlite3_column_blob(q, 0), SSYNC_PUBKEY_BYTES);
		sqlite3_reset(q);
		return 0;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return ssync_error_set(err, SSYNC_ECERT, "no certified key for node %s", node);
	return ssync_store__sqlerr(st, err, "read peer key");
}

int ssync_log_head_seq(ssync_store *st, const char *node, int64_t *out, ssync_error *err)
{
	return ssync_log__head(st, node, out, NULL, NULL, err);
}

/* A node re-certified or re-enrolled with a new key (docs/TRUST.md §5a)
 * signed its earlier entries with an older certified key. */
static int any_cert_key_verifies(ssync_store *st, const ssync_entry *e)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT pubkey FROM ssync_cert WHERE node=?", NULL);
	int ok = 0;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, e->node, -1, SQLITE_STATIC);
	while (!ok && sqlite3_step(q) == SQLITE_ROW)
		ok = sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES && ssync_entry_verify(e, sqlite3_column_blob(q, 0), NULL) == 0;
	sqlite3_reset(q);
	return ok;
}

int ssync_log__sig_ok(ssync_store *st, const ssync_entry *e)
{
	unsigned char pk[SSYNC_PUBKEY_BYTES];

	if (ssync_log__peer_key(st, e->node, pk, NULL) == 0 && ssync_entry_verify(e, pk, NULL) == 0)
		return 1;
	return any_cert_key_verifies(st, e);
}

int ssync_log_foreach(ssync_store *st, const char *node, ssync_log_cb cb, void *payload, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(st);
	sqlite3_stmt *q = NULL;
	char cur[SSYNC_NODE_ID_MAX + 1] = "";
	unsigned char pk[SSYNC_PUBKEY_BYTES], last_hash[SSYNC_HASH_BYTES];
	int64_t last_seq = 0;
	int have_key = 0, error = 0, rc;

	/* Not the statement cache: callbacks may run other cached queries. */
	if (sqlite3_prepare_v2(db, node ?
		"SELECT node, seq, body, sig, state FROM ssync_entry WHERE node=? ORDER BY node, seq" :
		"SELECT node, seq, body, sig, state FROM ssync_entry ORDER BY node, seq", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read log");
	if (node)
		sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(q, 0);
		ssync_log_item item;
		ssync_entry *e = NULL;
		ssync_error perr;

		if (strcmp(n, cur) != 0) {
			snprintf(cur, sizeof(cur), "%s", n);
			last_seq = 0;
			have_key = ssync_log__peer_key(st, cur, pk, NULL) == 0;
		}
		ssync_error_clear(&perr);
		memset(&item, 0, sizeof(item));
		item.node = n;
		item.seq = sqlite3_column_int64(q, 1);
		item.state = sqlite3_column_int(q, 4);
		if (ssync_log__parse_row(q, 2, 3, n, item.seq, &e, &perr) < 0) {
			if (perr.code == SSYNC_ERROR) {
				error = ssync_error_set(err, SSYNC_ERROR, "%s", perr.message);
				break;
			}
			/* one damaged entry is reported, not the end of the walk */
			item.problem = perr.message;
			last_seq = item.seq;
			memset(last_hash, 0, sizeof(last_hash));
			if ((error = cb(&item, payload)) != 0)
				break;
			continue;
		}
		item.entry = e;
		item.sig_ok = have_key && ssync_entry_verify(e, pk, NULL) == 0;
		if (!item.sig_ok)
			item.sig_ok = any_cert_key_verifies(st, e);
		item.chain_ok = e->seq == last_seq + 1 &&
			(e->seq == 1 || (e->has_prev && memcmp(e->prev, last_hash, SSYNC_HASH_BYTES) == 0));
		last_seq = e->seq;
		memcpy(last_hash, e->hash, SSYNC_HASH_BYTES);
		error = cb(&item, payload);
		ssync_entry_free(e);
		if (error)
			break;
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read log");
	sqlite3_finalize(q);
	return error;
}

int ssync_log__peer_add(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	const char *role, const char *school_id, const char *source, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_peer(node, pubkey, role, school_id, source, added) "
		"VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, pk, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, role, -1, SQLITE_STATIC);
	if (school_id)
		sqlite3_bind_text(q, 4, school_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	sqlite3_bind_text(q, 5, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record node key");
}
