/* A node's own entries that will never apply, for `schoolsync reenter`
 * (docs/TRUST.md §10a): found in the log (held for good, withdrawn) and in
 * the quarantine (void, fork, rollback lines), or brought as signed lines
 * from another home. Only authentic lines of the node count: a line that
 * does not verify under a key certified (or pinned) for it is never listed,
 * so nothing re-entered can be something the school did not sign. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log_int.h"
#include "lost_int.h"
#include "reenroll_int.h"
#include "schoolsync/hex.h"
#include "witness_int.h"

static ssync_lost *find(ssync_lost_set *s, const unsigned char *hash)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->v[i].e->hash, hash, SSYNC_HASH_BYTES) == 0)
			return &s->v[i];
	return NULL;
}

/* Takes @p e. */
static int push(ssync_lost_set *s, ssync_entry *e, const char *kind, ssync_error *err)
{
	ssync_lost *l = find(s, e->hash);

	if (l) {
		/* one line, several rows (a node's own fork it then discarded):
		 * the most telling kind -- void, then rollback -- names it */
		if (strcmp(kind, "void") == 0 || (strcmp(kind, "rollback") == 0 && strcmp(l->kind, "void") != 0))
			snprintf(l->kind, sizeof(l->kind), "%s", kind);
		ssync_entry_free(e);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		ssync_lost *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			ssync_entry_free(e);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		s->v = v;
		s->cap = cap;
	}
	l = &s->v[s->n++];
	memset(l, 0, sizeof(*l));
	l->e = e;
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	return 0;
}

/* State of the entry the log holds with @p hash at (node, seq): 0 none. */
static int log_state(ssync_store *st, const char *node, int64_t seq, const unsigned char *hash, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT state FROM ssync_entry WHERE node=? AND seq=? AND hash=?", err);
	int r, state = 0;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_blob(q, 3, hash, SSYNC_HASH_BYTES, SQLITE_STATIC);
	if ((r = ssync_store__step_row(st, q, "read the log", err)) > 0)
		state = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return r < 0 ? r : state;
}

/* 1 if @p e is void here: above a re-enrolment's cut, not signed by the key
 * of the generation its seq belongs to (docs/TRUST.md §5a). */
static int is_void(ssync_store *st, const ssync_entry *e, ssync_error *err)
{
	ssync_gen g[SSYNC_GENS_MAX];
	const ssync_gen *gg;
	int n = 0, r;

	if ((r = ssync_trust__gens(st, e->node, g, &n, err)) < 0)
		return r;
	if (n == 0 || !(gg = ssync_trust__gen_find(g, n, ssync_trust__gen_of(g, n, e->seq))))
		return 0;
	return ssync_entry_verify(e, gg->key, NULL) != 0;
}

int ssync_lost__collect(ssync_store *st, const char *node, ssync_lost_set *s, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(st);
	sqlite3_stmt *q = NULL;
	int error = 0, rc;

	/* the log: held entries with a W_FUTURE_HLC row (few), withdrawn ones
	 * from the node's freeze on (a range of the primary key) */
	/* two searches by key (status runs this: never a scan of the node's log) */
	if (sqlite3_prepare_v2(db, "SELECT e.seq, e.body, e.sig, e.state FROM ssync_entry e WHERE e.node=?1 AND "
		"e.seq IN (SELECT seq FROM ssync_quarantine WHERE node=?1 AND code='W_FUTURE_HLC') AND e.state=2 "
		"UNION ALL SELECT seq, body, sig, state FROM ssync_entry WHERE node=?1 AND "
		"seq >= (SELECT min(seq) FROM ssync_frozen WHERE node=?1) AND state=4 ORDER BY 1", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read lost entries");
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while (error == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		ssync_entry *e = NULL;
		int64_t seq = sqlite3_column_int64(q, 0);
		int state = sqlite3_column_int(q, 3), good = 1;
		if (ssync_log__parse_row(q, 1, 2, node, seq, &e, NULL) < 0)
			continue; /* verify reports a stored entry that does not parse */
		if (state == 2 && (good = ssync_witness__held_for_good(st, e, err)) < 0)
			error = good;
		if (error == 0 && good > 0)
			error = push(s, e, state == 2 ? "held" : "withdrawn", err);
		else
			ssync_entry_free(e);
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read lost entries");
	sqlite3_finalize(q);
	q = NULL;
	if (error < 0)
		return error;
	/* the quarantine: lines kept for void, forked and discarded entries */
	if (sqlite3_prepare_v2(db, "SELECT code, line FROM ssync_quarantine WHERE node=? AND "
		"code IN ('E_VOID', 'E_FORK', 'E_ROLLBACK') AND line IS NOT NULL ORDER BY seq, id", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read the quarantine");
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while (error == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(q, 0);
		ssync_entry *e = NULL;
		int state, v;
		if (ssync_entry_parse(&e, (const char *)sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1), NULL) < 0)
			continue;
		if (strcmp(e->node, node) != 0 || !ssync_log__sig_ok(st, e)) {
			ssync_entry_free(e);
			continue;
		}
		/* the same entry applied, held for a while or refused here: not lost */
		if ((state = log_state(st, node, e->seq, e->hash, err)) < 0 || (state >= 1 && state <= 3)) {
			error = state < 0 ? state : 0;
			ssync_entry_free(e);
			continue;
		}
		if ((v = is_void(st, e, err)) < 0) {
			ssync_entry_free(e);
			error = v;
			break;
		}
		error = push(s, e, v ? "void" : strcmp(code, "E_FORK") == 0 ? "fork" :
			strcmp(code, "E_ROLLBACK") == 0 ? "rollback" : "void", err);
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read the quarantine");
	sqlite3_finalize(q);
	return error;
}

int ssync_lost__add_line(ssync_store *st, const char *node, const char *line, size_t len,
	ssync_lost_set *s, char *why, size_t whylen, ssync_error *err)
{
	ssync_entry *e = NULL;
	ssync_error perr;
	int state, v;

	why[0] = 0;
	ssync_error_clear(&perr);
	if (ssync_entry_parse(&e, line, len, &perr) < 0) {
		snprintf(why, whylen, "not an entry line: %s", perr.message);
		return 1;
	}
	if (strcmp(e->node, node) != 0) {
		ssync_entry_free(e);
		return 1; /* another node's line (a hub's whole quarantine): not ours to list */
	}
	if (!ssync_log__sig_ok(st, e)) {
		snprintf(why, whylen, "%s#%lld: not signed by a key of %s this replica knows", e->node, (long long)e->seq, node);
		ssync_entry_free(e);
		return 1;
	}
	if ((state = log_state(st, node, e->seq, e->hash, err)) < 0 || (v = is_void(st, e, err)) < 0) {
		ssync_entry_free(e);
		return SSYNC_ERROR;
	}
	if (state == 1 || !v) {
		snprintf(why, whylen, "%s#%lld: %s", e->node, (long long)e->seq, state == 1 ? "applied here: nothing to re-enter" :
			"not void on this replica (sync with the hub first, so that its re-enrolment arrives)");
		ssync_entry_free(e);
		return 1;
	}
	return push(s, e, "void", err);
}

static int cmp_lost(const void *a, const void *b)
{
	const ssync_entry *x = ((const ssync_lost *)a)->e, *y = ((const ssync_lost *)b)->e;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->hlc != y->hlc)
		return x->hlc < y->hlc ? -1 : 1;
	return memcmp(x->hash, y->hash, SSYNC_HASH_BYTES);
}

int ssync_lost__marks(ssync_store *st, const char *node, ssync_lost_set *s, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	unsigned char h[SSYNC_HASH_BYTES];
	int64_t lo = INT64_MAX;
	size_t i;
	int rc;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_lost);
	if (s->n == 0)
		return 0;
	/* a lost entry that re-entered another one: that one is superseded */
	for (i = 0; i < s->n; i++) {
		ssync_lost *t;
		if (ssync_lost__marker(s->v[i].e->actor, h) && (t = find(s, h)) && t != &s->v[i])
			t->super_seq = s->v[i].e->seq;
	}
	/* A re-entry comes after what it replaces in the chain: after a lost
	 * entry of the same history, or after the cut of the re-enrolment that
	 * voided it; so only the log from there on is read. */
	{
		ssync_gen g[SSYNC_GENS_MAX];
		int ng = 0, k;
		for (i = 0; i < s->n; i++)
			if (s->v[i].e->seq < lo)
				lo = s->v[i].e->seq;
		if ((rc = ssync_trust__gens(st, node, g, &ng, err)) < 0)
			return rc;
		for (k = 0; k < ng; k++)
			if (g[k].after_seq + 1 < lo)
				lo = g[k].after_seq + 1;
	}
	/* the node's entries whose actor carries the mark (instr first:
	 * json_extract only on the few bodies that may) */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT seq, hash, json_extract(body, '$.actor') FROM ssync_entry "
		"WHERE node=? AND seq>=? AND instr(body, ' (reenter ') > 0", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read re-entries");
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, lo);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *actor = (const char *)sqlite3_column_text(q, 2);
		ssync_lost *t;
		if (!actor || sqlite3_column_bytes(q, 1) != SSYNC_HASH_BYTES || !ssync_lost__marker(actor, h) || !(t = find(s, h)))
			continue;
		/* the marking entry is lost itself (listed): it supersedes, else it is done */
		if (!find(s, sqlite3_column_blob(q, 1)) && (t->done_seq == 0 || sqlite3_column_int64(q, 0) < t->done_seq))
			t->done_seq = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read re-entries");
	/* settled in this home: a range of meta's key */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT substr(key, ?1) FROM ssync_meta WHERE key > ?2 AND key < ?2 || 'g'",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read settled re-entries");
	sqlite3_bind_int(q, 1, (int)strlen(SSYNC_REENTER_SETTLED) + 1);
	sqlite3_bind_text(q, 2, SSYNC_REENTER_SETTLED, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *hex = (const char *)sqlite3_column_text(q, 0);
		ssync_lost *t;
		if (hex && ssync_hex_decode(h, SSYNC_HASH_BYTES, hex) == 0 && (t = find(s, h)))
			t->settled = 1;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read settled re-entries");
	return 0;
}

int ssync_lost__pending(ssync_store *st, const char *node, int64_t *n, ssync_error *err)
{
	ssync_lost_set s = { NULL, 0, 0 };
	size_t i;
	int error;

	*n = 0;
	if ((error = ssync_lost__collect(st, node, &s, err)) == 0 && s.n > 0 &&
	    (error = ssync_lost__marks(st, node, &s, err)) == 0)
		for (i = 0; i < s.n; i++)
			*n += s.v[i].done_seq == 0 && s.v[i].super_seq == 0 && !s.v[i].settled;
	ssync_lost__free(&s);
	return error;
}

void ssync_lost__free(ssync_lost_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		ssync_entry_free(s->v[i].e);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int ssync_lost__marker(const char *actor, unsigned char hash[SSYNC_HASH_BYTES])
{
	size_t m = strlen(SSYNC_REENTER_MARK), len = actor ? strlen(actor) : 0;
	char hex[2 * SSYNC_HASH_BYTES + 1];

	if (len < m + 2 * SSYNC_HASH_BYTES + 1 || actor[len - 1] != ')')
		return 0;
	actor += len - 1 - 2 * SSYNC_HASH_BYTES - m;
	if (memcmp(actor, SSYNC_REENTER_MARK, m) != 0)
		return 0;
	memcpy(hex, actor + m, 2 * SSYNC_HASH_BYTES);
	hex[2 * SSYNC_HASH_BYTES] = 0;
	return ssync_hex_decode(hash, SSYNC_HASH_BYTES, hex) == 0;
}

void ssync_lost__actor(char *out, size_t n, const char *actor, const unsigned char hash[SSYNC_HASH_BYTES])
{
	char hex[2 * SSYNC_HASH_BYTES + 1];
	size_t keep = strlen(actor), room = SSYNC_ACTOR_MAX - strlen(SSYNC_REENTER_MARK) - 2 * SSYNC_HASH_BYTES - 1;

	/* the clerk's name first, cut at a character boundary when too long */
	if (keep > room) {
		keep = room;
		while (keep > 0 && ((unsigned char)actor[keep] & 0xC0) == 0x80)
			keep--;
	}
	ssync_hex_encode(hex, hash, SSYNC_HASH_BYTES);
	snprintf(out, n, "%.*s%s%s)", (int)keep, actor, SSYNC_REENTER_MARK, hex);
}
