/*
 * Sealing private cells for a write (docs/PRIVACY.md §1-§5): who reads a
 * school's rows, which data key a row's new values go under, and many rows
 * at once for an import (ssync_privacy_batch).
 *
 * Readers come from signed trust data only (certificates, revocations) plus
 * the hub's grants in keys.db. Reading them parses certificates, so they
 * are kept per school with the node (ssync_privacy_state) and read again
 * when the trust tables change: this connection counts its own changes
 * (ssync_store__trust_epoch), the replica's data_version shows other
 * processes' commits. Grants are asked of keys.db at every use, so granting
 * or withdrawing an auditor takes effect at the next write without any
 * invalidation. Nothing is cached inside an open replica transaction (it
 * could still roll back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "policy_int.h"
#include "privacy_priv.h"
#include "schoolsync/hex.h"
#include "schoolsync/privacy.h"

static sqlite3_stmt *prep(ssync_privacy_state *ps, sqlite3_stmt **slot, const char *sql, ssync_error *err)
{
	if (!*slot && sqlite3_prepare_v2(ps->kdb, sql, -1, slot, NULL) != SQLITE_OK) {
		ssync_privacy__kdb_err(ps->kdb, err, "prepare");
		*slot = NULL;
	}
	return *slot;
}

static int readers_add(ssync_readers *r, const char *node, const unsigned char *pk, ssync_error *err)
{
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 8;
		void *v = realloc(r->v, (size_t)cap * sizeof(*r->v));
		if (!v)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	snprintf(r->v[r->n].node, sizeof(r->v[0].node), "%s", node);
	memcpy(r->v[r->n].pk, pk, SSYNC_ENCKEY_BYTES);
	r->n++;
	return 0;
}

/* From the certificates: @p base, the hubs and @p school's nodes, and every
 * auditor, each by its newest certificate if that carries an encryption key
 * and the node is not revoked; sorted by node id. Only those certificates
 * are parsed (a district's other schools are filtered out in SQL). */
static int read_certs(ssync_store *st, const char *school, ssync_readers *base, ssync_readers *aud, ssync_error *err)
{
	sqlite3_stmt *q;
	int rc, error = 0;

	memset(base, 0, sizeof(*base));
	memset(aud, 0, sizeof(*aud));
	if (!(q = ssync_store__stmt(st, "SELECT c.node, c.role, o.body FROM ssync_cert c "
		"JOIN ssync_trust_obj o ON o.kind='cert' AND o.node=c.node AND o.serial=c.serial "
		"WHERE c.serial=(SELECT max(serial) FROM ssync_cert x WHERE x.node=c.node) "
		"AND NOT EXISTS (SELECT 1 FROM ssync_revocation r WHERE r.node=c.node) "
		"AND (c.role IN ('hub', 'auditor') OR (c.role='school' AND ?1<>'' AND c.school_id=?1)) ORDER BY c.node", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, school, -1, SQLITE_STATIC);
	while (!error && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *node = (const char *)sqlite3_column_text(q, 0), *role = (const char *)sqlite3_column_text(q, 1);
		json_t *o = json_loads((const char *)sqlite3_column_text(q, 2), 0, NULL);
		const char *ek = json_string_value(json_object_get(o, "enckey"));
		unsigned char pk[SSYNC_ENCKEY_BYTES];

		if (ek && ssync_hex_decode(pk, sizeof(pk), ek) == 0)
			error = readers_add(strcmp(role, "auditor") == 0 ? aud : base, node, pk, err);
		json_decref(o);
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read certificates");
	sqlite3_reset(q);
	if (error < 0) {
		ssync_privacy__readers_free(base);
		ssync_privacy__readers_free(aud);
	}
	return error;
}

/* @p base and the auditors of @p aud the hub granted @p school (none for a
 * hub row), merged in node order. */
static int merge_granted(sqlite3 *kdb, sqlite3_stmt *g, const char *school, const ssync_readers *base,
	const ssync_readers *aud, ssync_readers *out, ssync_error *err)
{
	int i = 0, j = 0, error = 0;

	memset(out, 0, sizeof(*out));
	while (!error && (i < base->n || j < aud->n)) {
		if (j >= aud->n || (i < base->n && strcmp(base->v[i].node, aud->v[j].node) < 0)) {
			error = readers_add(out, base->v[i].node, base->v[i].pk, err);
			i++;
			continue;
		}
		if (school[0]) {
			int rc;
			sqlite3_bind_text(g, 1, aud->v[j].node, -1, SQLITE_STATIC);
			sqlite3_bind_text(g, 2, school, -1, SQLITE_STATIC);
			rc = sqlite3_step(g);
			sqlite3_reset(g);
			if (rc == SQLITE_ROW)
				error = readers_add(out, aud->v[j].node, aud->v[j].pk, err);
			else if (rc != SQLITE_DONE)
				error = ssync_privacy__kdb_err(kdb, err, "read grants");
		}
		j++;
	}
	if (error < 0)
		ssync_privacy__readers_free(out);
	return error;
}

static const char grant_sql[] = "SELECT 1 FROM grants WHERE auditor=? AND school=?";

int ssync_privacy__readers(ssync_store *st, sqlite3 *kdb, const char *school, ssync_readers *out, ssync_error *err)
{
	ssync_readers base, aud;
	sqlite3_stmt *g = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = read_certs(st, school, &base, &aud, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(kdb, grant_sql, -1, &g, NULL) != SQLITE_OK)
		error = ssync_privacy__kdb_err(kdb, err, "read grants");
	else
		error = merge_granted(kdb, g, school, &base, &aud, out, err);
	sqlite3_finalize(g);
	ssync_privacy__readers_free(&base);
	ssync_privacy__readers_free(&aud);
	return error;
}

/* Drop the cached readers if the trust tables changed since they were read.
 * 1 if the cache may be used (and filled), 0 inside a replica transaction. */
static int rcache_check(ssync_store *st, ssync_privacy_state *ps, ssync_error *err)
{
	sqlite3_stmt *q;
	int64_t dv;
	int rc;

	if (ssync_store__in_tx(st))
		return 0;
	if (!(q = ssync_store__stmt(st, "PRAGMA data_version", err)))
		return SSYNC_ERROR;
	rc = ssync_store__step_row(st, q, "read data_version", err);
	dv = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc <= 0)
		return rc < 0 ? rc : ssync_error_set(err, SSYNC_ERROR, "PRAGMA data_version gave no row");
	if (!ps->rc_ok || dv != ps->data_version || ssync_store__trust_epoch(st) != ps->trust_epoch) {
		ssync_privacy__rcache_clear(ps);
		ps->data_version = dv;
		ps->trust_epoch = ssync_store__trust_epoch(st);
		ps->rc_ok = 1;
	}
	return 1;
}

/* The readers of @p school's rows now, through the node's cache. */
static int readers_for(ssync_store *st, ssync_privacy_state *ps, const char *school, ssync_readers *out,
	ssync_error *err)
{
	ssync_rcache tmp, *c = NULL;
	sqlite3_stmt *g;
	int i, use, error;

	memset(out, 0, sizeof(*out));
	if (!(g = prep(ps, &ps->grant_get, grant_sql, err)))
		return SSYNC_ERROR;
	if ((use = rcache_check(st, ps, err)) < 0)
		return use;
	for (i = 0; use && i < ps->nrc && !c; i++)
		if (strcmp(ps->rc[i].school, school) == 0)
			c = &ps->rc[i];
	if (!c) {
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.school, sizeof(tmp.school), "%s", school);
		if ((error = read_certs(st, school, &tmp.base, &tmp.auditors, err)) < 0)
			return error;
		if (use && ps->nrc == ps->caprc) {
			int cap = ps->caprc ? ps->caprc * 2 : 4;
			void *v = realloc(ps->rc, (size_t)cap * sizeof(*ps->rc));
			if (v) {
				ps->rc = v;
				ps->caprc = cap;
			}
		}
		if (use && ps->nrc < ps->caprc) {
			ps->rc[ps->nrc] = tmp;
			c = &ps->rc[ps->nrc++];
		} else {
			c = &tmp; /* not kept: freed below */
			use = 0;
		}
	}
	error = merge_granted(ps->kdb, g, school, &c->base, &c->auditors, out, err);
	if (c == &tmp) {
		ssync_privacy__readers_free(&tmp.base);
		ssync_privacy__readers_free(&tmp.auditors);
	}
	return error;
}

void ssync_privacy__reader_token(const ssync_reader *r, char *out, size_t len)
{
	char pk[17];

	/* the first 8 bytes of the key name it well enough to notice a rotation */
	ssync_hex_encode(pk, r->pk, 8);
	snprintf(out, len, "%s:%s", r->node, pk);
}

/* "a:k1,b:k2": the readers, each with its encryption key (a token), for
 * noticing one was removed -- a node revoked or no longer granted, or a
 * key rotated away (its old secret may be in a thief's hands). malloc'd. */
static char *readers_list(const ssync_readers *r)
{
	size_t used = 0, cap = (size_t)r->n * (SSYNC_NODE_ID_MAX + 20) + 1;
	char *out = malloc(cap);
	int i;

	if (!out)
		return NULL;
	out[0] = 0;
	for (i = 0; i < r->n; i++) {
		char tok[SSYNC_NODE_ID_MAX + 20];
		ssync_privacy__reader_token(&r->v[i], tok, sizeof(tok));
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", tok);
	}
	return out;
}

/* 1 if the comma list @p list holds the token @p tok (@p len bytes). */
static int list_has(const char *list, const char *tok, size_t len)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && memcmp(p, tok, len) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* 1 if every token of the comma list @p was is still in @p now. */
static int readers_kept(const char *was, const char *now)
{
	const char *p = was;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l && !list_has(now, p, l))
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	return 1;
}

/* The row's current private cells: their kids, values and columns (to
 * tell which key held under a kid really opens its cell). A row's cells
 * may be under several kids (written by several nodes, or before an
 * erasure): the writer looks for one of its own among them. */
#define ROW_CELLS_MAX 16 /* private cells looked at per row (student_archive has 3) */
typedef struct row_cells {
	int n;
	char kid[ROW_CELLS_MAX][SSYNC_KID_HEX + 1];
	char *cell[ROW_CELLS_MAX];
	const char *col[ROW_CELLS_MAX];
} row_cells;

static void row_cells_free(row_cells *rc)
{
	int i;

	for (i = 0; i < rc->n; i++)
		free(rc->cell[i]);
	rc->n = 0;
}

static int row_kids(ssync_store *st, const char *table, const char *pk, row_cells *out, ssync_error *err)
{
	const ssync_table_info *t = ssync_store__table(st, table);
	sqlite3_stmt *q;
	int i, rc, error = 0;

	out->n = 0;
	if (!t)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no replicated table %s", table);
	/* the registry's own SELECT by key: prepared once per store */
	if (!(q = ssync_store__stmt(st, t->select_sql, err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (i = 0; i < t->ncols && out->n < ROW_CELLS_MAX && !error; i++)
			if (sqlite3_column_type(q, i) == SQLITE_TEXT &&
			    ssync_cell_parse((const char *)sqlite3_column_text(q, i), (size_t)sqlite3_column_bytes(q, i),
				out->kid[out->n])) {
				out->col[out->n] = t->cols[i];
				if (!(out->cell[out->n] = strdup((const char *)sqlite3_column_text(q, i))))
					error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				else
					out->n++;
			}
	} else if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read row");
	}
	sqlite3_reset(q);
	return error;
}

/* Seal one row's cells (ssync_privacy_seal_row's contract); @p made gets
 * the kid of a data key made for it, "" if the row's key was reused. */
static int seal(ssync_node *n, ssync_privacy_state *ps, const char *table, const char *pk, int ncols,
	const char *const *cols, const char *const *clear, char **out, char made[SSYNC_KID_HEX + 1], ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_readers rd = { 0 };
	sqlite3_stmt *q;
	unsigned char key[SSYNC_DATAKEY_BYTES];
	char kid[SSYNC_KID_HEX + 1], school[SSYNC_NODE_ID_MAX + 1], *rlist = NULL;
	row_cells rcs;
	int i, c, rc, have = 0, error;

	made[0] = 0;
	rcs.n = 0;
	for (i = 0; i < ncols; i++)
		out[i] = NULL;
	(void)ssync_policy__key_owner(pk, school);
	if ((error = row_kids(st, table, pk, &rcs, err)) < 0 ||
	    (error = readers_for(st, ps, school, &rd, err)) < 0)
		goto done;
	if (!(rlist = readers_list(&rd))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (c = 0; c < rcs.n && !have; c++) {
		const char *cell = rcs.cell[c], *ccol = rcs.col[c];
		/* only a key this node made: it alone knows every reader the key
		 * was ever sealed to (a key another node made -- the owner's, when
		 * the hub writes -- may have been sealed to an auditor revoked
		 * since, which kept it) */
		if (!(q = prep(ps, &ps->key_get, "SELECT key, readers, origin FROM data_key WHERE kid=? AND owner=?", err))) {
			error = SSYNC_ERROR;
			goto done;
		}
		memcpy(kid, rcs.kid[c], sizeof(kid));
		sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
		/* only the key that opens the row's cell: a squatter's key under
		 * this kid would hand it the new values */
		while ((rc = sqlite3_step(q)) == SQLITE_ROW && !have)
			if (sqlite3_column_bytes(q, 0) == SSYNC_DATAKEY_BYTES &&
			    ssync_privacy__key_opens(sqlite3_column_blob(q, 0), table, pk, ccol, cell, strlen(cell))) {
				/* a reader removed since the key was made must not read
				 * new writes; a recovered key's past readers are unknown */
				if (!sqlite3_column_bytes(q, 2) && readers_kept((const char *)sqlite3_column_text(q, 1), rlist)) {
					memcpy(key, sqlite3_column_blob(q, 0), SSYNC_DATAKEY_BYTES);
					have = 1;
				}
				break;
			}
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			error = ssync_privacy__kdb_err(ps->kdb, err, "read data key");
			goto done;
		}
	}
	if (!have) {
		if (!(q = prep(ps, &ps->key_ins, "INSERT INTO data_key(kid, owner, school, key, readers) VALUES (?,?,?,?,?)", err))) {
			error = SSYNC_ERROR;
			goto done;
		}
		ssync_cell_newkey(key, kid);
		sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, school, -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 4, key, SSYNC_DATAKEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, rlist, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_clear_bindings(q); /* the key's bytes stay nowhere but keys.db */
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			error = ssync_privacy__kdb_err(ps->kdb, err, "store data key");
			goto done;
		}
		memcpy(made, kid, sizeof(kid));
	}
	for (i = 0; i < ncols; i++) {
		if (!clear[i])
			continue;
		if ((error = ssync_cell_encrypt(&out[i], key, kid, table, pk, cols[i], clear[i], strlen(clear[i]), err)) < 0)
			goto done;
	}
done:
	sodium_memzero(key, sizeof(key));
	if (error < 0)
		for (i = 0; i < ncols; i++) {
			free(out[i]);
			out[i] = NULL;
		}
	row_cells_free(&rcs);
	free(rlist);
	ssync_privacy__readers_free(&rd);
	return error;
}

int ssync_privacy_seal_row(ssync_node *n, const char *table, const char *pk, int ncols, const char *const *cols,
	const char *const *clear, char **out, ssync_error *err)
{
	ssync_privacy_state *ps = NULL;
	char made[SSYNC_KID_HEX + 1];
	int i, error;

	for (i = 0; i < ncols; i++)
		out[i] = NULL;
	if ((error = ssync_privacy__state(n, &ps, err)) < 0)
		return error;
	return seal(n, ps, table, pk, ncols, cols, clear, out, made, err);
}

/* ---- many rows: one keys.db transaction ---- */

struct ssync_privacy_batch {
	ssync_node *n;
	ssync_privacy_state *ps;
	int open; /* keys.db transaction open */
	char (*made)[SSYNC_KID_HEX + 1];
	size_t nmade, capmade;
};

int ssync_privacy_batch_open(ssync_privacy_batch **out, ssync_node *n, ssync_error *err)
{
	ssync_privacy_batch *b;
	int error;

	*out = NULL;
	if (!(b = calloc(1, sizeof(*b))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	b->n = n;
	if ((error = ssync_privacy__state(n, &b->ps, err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(b->ps->kdb, "BEGIN IMMEDIATE", err)) < 0) {
		free(b);
		return error;
	}
	b->open = 1;
	*out = b;
	return 0;
}

int ssync_privacy_batch_seal(ssync_privacy_batch *b, const char *table, const char *pk, int ncols,
	const char *const *cols, const char *const *clear, char **out, ssync_error *err)
{
	char made[SSYNC_KID_HEX + 1];
	int i, error;

	for (i = 0; i < ncols; i++)
		out[i] = NULL;
	if (!b->open)
		return ssync_error_set(err, SSYNC_EINVAL, "private rows: the batch is already committed");
	if (b->nmade == b->capmade) {
		size_t cap = b->capmade ? b->capmade * 2 : 256;
		void *v = realloc(b->made, cap * sizeof(*b->made));
		if (!v)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		b->made = v;
		b->capmade = cap;
	}
	if ((error = seal(b->n, b->ps, table, pk, ncols, cols, clear, out, made, err)) < 0)
		return error;
	if (made[0])
		memcpy(b->made[b->nmade++], made, sizeof(made));
	return 0;
}

int ssync_privacy_batch_commit(ssync_privacy_batch *b, ssync_error *err)
{
	int error;

	if (!b->open)
		return 0;
	if ((error = ssync_privacy__kdb_exec(b->ps->kdb, "COMMIT", err)) < 0)
		return error;
	b->open = 0;
	return 0;
}

int ssync_privacy_batch_drop(ssync_privacy_batch *b, ssync_error *err)
{
	sqlite3 *kdb = b->ps->kdb;
	sqlite3_stmt *q;
	size_t i;
	int error;

	if (b->open) {
		b->open = 0;
		return sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0
			: ssync_privacy__kdb_err(kdb, err, "roll back data keys");
	}
	if (b->nmade == 0)
		return 0;
	if (!(q = prep(b->ps, &b->ps->key_drop, "DELETE FROM data_key WHERE kid=? AND owner=?", err)))
		return SSYNC_ERROR;
	if ((error = ssync_privacy__kdb_exec(kdb, "BEGIN IMMEDIATE", err)) < 0)
		return error;
	for (i = 0; i < b->nmade && !error; i++) {
		sqlite3_bind_text(q, 1, b->made[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ssync_node_id(b->n), -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			error = ssync_privacy__kdb_err(kdb, err, "drop data keys");
		sqlite3_reset(q);
	}
	if (error < 0 || (error = ssync_privacy__kdb_exec(kdb, "COMMIT", err)) < 0) {
		(void)sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL);
		return error;
	}
	b->nmade = 0;
	ssync_privacy__kdb_scrub(kdb);
	return 0;
}

void ssync_privacy_batch_free(ssync_privacy_batch *b)
{
	if (!b)
		return;
	if (b->open)
		(void)sqlite3_exec(b->ps->kdb, "ROLLBACK", NULL, NULL, NULL);
	free(b->made);
	free(b);
}
