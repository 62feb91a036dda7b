/* Key generations after a re-enrolment (docs/TRUST.md §5a): the way back for
 * a school frozen for equivocation. The hub signs a re-enrolment object that
 * names the node, the new generation G, the key it replaces, the cut C and the
 * new key. Everything here is a function of the signed trust data and the
 * entries held: seqs <= C keep their entries (signed by the old key), seqs
 * above C belong to the new key only and travel on branch node/<id>.g<G>;
 * old-key entries above C are void on every replica, whether they arrived
 * before the re-enrolment (deleted when it loads) or after (never taken). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "entry_int.h"
#include "log_int.h"
#include "reenroll_int.h"
#include "trustdb_int.h"

static int parse_gen(const char *body, int len, ssync_gen *g)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, (size_t)len, 0, &jerr);
	int ok;

	if (!o)
		return -1;
	ok = json_is_integer(json_object_get(o, "gen")) && json_is_integer(json_object_get(o, "after_seq")) &&
		ssync_hex_decode(g->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) == 0 &&
		ssync_hex_decode(g->old_key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "old_pubkey"))) == 0;
	if (ok) {
		g->gen = json_integer_value(json_object_get(o, "gen"));
		g->after_seq = json_integer_value(json_object_get(o, "after_seq"));
	}
	json_decref(o);
	return ok ? 0 : -1;
}

int ssync_trust__gens(ssync_store *st, const char *node, ssync_gen g[SSYNC_GENS_MAX], int *n, ssync_error *err)
{
	/* a range of the primary key: certs/<node>.* (no scan of every object) */
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body FROM ssync_trust_obj WHERE path > ? AND path < ? "
		"AND kind='reenroll' ORDER BY serial", err);
	char lo[96], hi[96];
	int rc, i, dup;

	*n = 0;
	if (!q)
		return SSYNC_ERROR;
	snprintf(lo, sizeof(lo), "certs/%s.", node);
	snprintf(hi, sizeof(hi), "certs/%s/", node);
	sqlite3_bind_text(q, 1, lo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < SSYNC_GENS_MAX) {
		ssync_gen x;
		if (parse_gen((const char *)sqlite3_column_text(q, 0), sqlite3_column_bytes(q, 0), &x) < 0)
			continue; /* loaded only after verification: cannot happen */
		/* two for one generation (a hub's mistake): the lower serial counts */
		for (dup = 0, i = 0; i < *n; i++)
			dup |= g[i].gen == x.gen;
		if (!dup)
			g[(*n)++] = x;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read re-enrolments");
	return 0;
}

int64_t ssync_trust__gen_of(const ssync_gen *g, int n, int64_t seq)
{
	int64_t best = 1;
	int i;

	for (i = 0; i < n; i++)
		if (seq > g[i].after_seq && g[i].gen > best)
			best = g[i].gen;
	return best;
}

const ssync_gen *ssync_trust__gen_find(const ssync_gen *g, int n, int64_t gen)
{
	int i;

	for (i = 0; i < n; i++)
		if (g[i].gen == gen)
			return &g[i];
	return NULL;
}

int ssync_trust__gen_key_is_new(const ssync_gen *g, int n, const unsigned char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (sodium_memcmp(g[i].key, key, SSYNC_PUBKEY_BYTES) == 0)
			return 1;
	return 0;
}

int ssync_trust__reenroll_loaded(ssync_store *st, const ssync_tobj *t, ssync_error *err)
{
	ssync_gen g[SSYNC_GENS_MAX];
	sqlite3_stmt *q = NULL, *d;
	int n = 0, error, rc;

	if ((error = ssync_trust__gens(st, t->node, g, &n, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT seq, body, sig FROM ssync_entry WHERE node=? AND seq>? ORDER BY seq",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read entries");
	sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, t->after_seq);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(q, 0);
		const ssync_gen *gg = ssync_trust__gen_find(g, n, ssync_trust__gen_of(g, n, seq));
		size_t blen = (size_t)sqlite3_column_bytes(q, 1), len = blen + 1 + 2 * SSYNC_SIG_BYTES;
		char *line = malloc(len + 1), why[200];
		ssync_entry *e = NULL;
		int ok = 0;
		if (!line) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		memcpy(line, sqlite3_column_blob(q, 1), blen);
		line[blen] = '\t';
		ssync_hex_encode(line + blen + 1, sqlite3_column_blob(q, 2), SSYNC_SIG_BYTES);
		if (gg && ssync_entry_parse(&e, line, len, NULL) == 0)
			ok = ssync_entry_verify(e, gg->key, NULL) == 0;
		ssync_entry_free(e);
		if (!ok) {
			snprintf(why, sizeof(why), "void: node %s was re-enrolled (generation %lld) after seq %lld, and this entry "
				"is not signed by the new key (E_VOID)", t->node, (long long)t->gen, (long long)t->after_seq);
			error = ssync_trust__quarantine(st, t->node, seq, ssync_error_name(SSYNC_D_VOID), why, line, len, "reenroll", err);
			if (error == 0 && !(d = ssync_store__stmt(st, "DELETE FROM ssync_entry WHERE node=? AND seq=?", err)))
				error = SSYNC_ERROR;
			if (error == 0) {
				sqlite3_bind_text(d, 1, t->node, -1, SQLITE_STATIC);
				sqlite3_bind_int64(d, 2, seq);
				if (sqlite3_step(d) != SQLITE_DONE)
					error = ssync_store__sqlerr(st, err, "delete a void entry");
				sqlite3_reset(d);
			}
		}
		free(line);
		if (error < 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read entries");
		goto done;
	}
	/* The freeze was of the old key's two histories above the cut: both void now. */
	if (!(d = ssync_store__stmt(st, "DELETE FROM ssync_frozen WHERE node=? AND seq>?", err))) {
		error = SSYNC_ERROR;
		goto done;
	}
	sqlite3_bind_text(d, 1, t->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(d, 2, t->after_seq);
	if (sqlite3_step(d) != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "lift a freeze");
	sqlite3_reset(d);
done:
	sqlite3_finalize(q);
	return error;
}

int64_t ssync_trust__own_gen(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	int64_t *first_seq)
{
	ssync_gen g[SSYNC_GENS_MAX];
	int n = 0, i;

	*first_seq = 1;
	if (ssync_trust__gens(st, node, g, &n, NULL) < 0)
		return 1;
	for (i = 0; i < n; i++)
		if (sodium_memcmp(g[i].key, pk, SSYNC_PUBKEY_BYTES) == 0) {
			*first_seq = g[i].after_seq + 1;
			return g[i].gen;
		}
	return 1;
}

int ssync_trust__writer_gen_check(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	ssync_error *err)
{
	ssync_gen g[SSYNC_GENS_MAX];
	int64_t head = 0, mine, first = 1, maxgen = 1;
	int n = 0, i, error;

	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_cert WHERE node=? AND pubkey=?", err);

	if (!q)
		return SSYNC_ERROR;
	/* receivers take only certified keys: an uncertified one signs nothing */
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, pk, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	error = ssync_store__step_row(st, q, "read certificates", err);
	sqlite3_reset(q);
	if (error < 0)
		return error;
	if (error == 0) {
		ssync_error_set(err, SSYNC_ECERT, "this home's key is not certified for node %s (a new home waiting for its "
			"re-enrolment, or the wrong node.key); what it signed would be refused (E_CERT_UNKNOWN)", node);
		ssync_error_hint(err, "the hub runs: schoolsync district reenroll %s --new-key <this home's key> ... "
			"(docs/OPERATIONS.md §7), then run: schoolsync sync", node);
		return SSYNC_ECERT;
	}
	if ((error = ssync_trust__gens(st, node, g, &n, err)) < 0)
		return error;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (g[i].gen > maxgen)
			maxgen = g[i].gen;
	mine = ssync_trust__own_gen(st, node, pk, &first);
	if (mine < maxgen) {
		/* even below the cut: another entry for a seq the district holds is a fork */
		ssync_error_set(err, SSYNC_ECERT, "the key of this node (%s) was replaced by a re-enrolment (generation %lld); "
			"nothing it signs is accepted any more (E_VOID)", node, (long long)maxgen);
		ssync_error_hint(err, "this home is retired: continue in the home made for the new key "
			"(docs/OPERATIONS.md §7, Re-enrolling a frozen school)");
		return SSYNC_ECERT;
	}
	if ((error = ssync_log__head(st, node, &head, NULL, NULL, err)) < 0)
		return error;
	if (head + 1 < first) {
		ssync_error_set(err, SSYNC_EBUSY, "node %s was re-enrolled with this key (generation %lld), which writes "
			"from seq %lld on; this replica holds its entries only up to seq %lld", node, (long long)mine,
			(long long)first, (long long)head);
		ssync_error_hint(err, "sync with the hub first: it holds the entries up to seq %lld "
			"(docs/OPERATIONS.md §7, Re-enrolling a frozen school)", (long long)(first - 1));
		return SSYNC_EBUSY;
	}
	return 0;
}
