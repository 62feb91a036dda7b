/*
 * Evidence of hub equivocation that travels (docs/TRUST.md §4a "The witness
 * is watched"). A node that meets a second checkpoint the witness signed
 * for a position it holds keeps both and publishes them on
 * refs/heads/evidence/witness-<SHA-256 of the content>: one parentless
 * commit holding witness.fork, the two signed lines in the order of their
 * body hashes. Name, content and commit are functions of the two
 * checkpoints alone, so two nodes that catch the same fork publish the same
 * ref and commit, and every push carries it on like a node branch.
 *
 * A receiver trusts nobody who carried it: it takes an evidence ref only if
 * the name is the content's hash, the commit is byte for byte the one it
 * would make itself (nothing else can ride along), the content parses and
 * both lines are signed by the district's witness for the same position --
 * then it reacts exactly as if it had caught the fork itself. Anything else
 * is quarantined once per tip and never taken or relayed: it changes no
 * table but the quarantine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "schoolsync/hex.h"
#include "trustdb_int.h"
#include "wevidence_int.h"
#include "witness_int.h"

#define BAD_PREFIX "refs/ssync/bad-evidence/"

/* One checkpoint's wire line (BODY TAB SIG LF) into @p out (malloc'd). */
static int wline(const ssync_wobj *w, char **out, size_t *len)
{
	size_t n = w->body_len + 2 + 2 * SSYNC_SIG_BYTES;
	char *s = malloc(n + 1);

	if (!s)
		return -1;
	memcpy(s, w->body, w->body_len);
	s[w->body_len] = '\t';
	ssync_hex_encode(s + w->body_len + 1, w->sig, SSYNC_SIG_BYTES);
	s[n - 1] = '\n';
	s[n] = 0;
	*out = s;
	*len = n;
	return 0;
}

int ssync_witness__evidence_parse(ssync_wobj *a, ssync_wobj *b, const char *data, size_t len, ssync_error *err)
{
	const char *nl;
	size_t l1;
	int error;

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	if (len > SSYNC_EVIDENCE_MAX || len < 2 || data[len - 1] != '\n' || !(nl = memchr(data, '\n', len)) ||
	    nl == data + len - 1 || memchr(nl + 1, '\n', len - (size_t)(nl + 1 - data)) != data + len - 1)
		return ssync_error_set(err, SSYNC_EENCODING, "evidence: not exactly two lines of at most %d bytes",
			SSYNC_EVIDENCE_MAX);
	l1 = (size_t)(nl - data) + 1;
	/* both lines are checkpoints in the receivers' own parser */
	if ((error = ssync_witness__wobj_parse(a, data, l1, err)) < 0 ||
	    (error = ssync_witness__wobj_parse(b, nl + 1, len - l1, err)) < 0)
		return error;
	if (a->n != b->n || strcmp(a->district, b->district) != 0 || strcmp(a->hub, b->hub) != 0)
		return ssync_error_set(err, SSYNC_ESCHEMA, "evidence: the two checkpoints are not for one district, hub "
			"and position");
	if (memcmp(a->hash, b->hash, 32) >= 0)
		return ssync_error_set(err, SSYNC_ESCHEMA, "evidence: the checkpoints are equal or not in hash order");
	return 0;
}

int ssync_witness__evidence_encode(const ssync_wobj *x, const ssync_wobj *y, char **out, size_t *len,
	ssync_error *err)
{
	const ssync_wobj *a = x, *b = y;
	char *la = NULL, *lb = NULL;
	size_t na = 0, nb = 0;

	*out = NULL;
	*len = 0;
	if (memcmp(x->hash, y->hash, 32) > 0) {
		a = y;
		b = x;
	}
	if (wline(a, &la, &na) < 0 || wline(b, &lb, &nb) < 0 || !(*out = malloc(na + nb + 1))) {
		free(la);
		free(lb);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	memcpy(*out, la, na);
	memcpy(*out + na, lb, nb + 1);
	*len = na + nb;
	free(la);
	free(lb);
	return 0;
}

void ssync_witness__evidence_ref(const char *data, size_t len, char *ref, size_t reflen)
{
	unsigned char h[32];
	char hex[65];

	crypto_hash_sha256(h, (const unsigned char *)data, len);
	ssync_hex_encode(hex, h, 32);
	snprintf(ref, reflen, SSYNC_EVIDENCE_PREFIX "%s", hex);
}

static void message(const ssync_wobj *a, char *msg, size_t len)
{
	snprintf(msg, len, "evidence: hub %s signed two checkpoints for position %lld", a->hub, (long long)a->n);
}

/* What signed data alone says: this district, both the witness's. */
static int content_check(ssync_store *st, const ssync_wobj *a, const ssync_wobj *b, char *why, size_t whylen,
	ssync_error *err)
{
	char swhy[300], *district = NULL;
	int error, r;

	if ((error = ssync_store_meta_get(st, "district", &district, err)) < 0)
		return error;
	if (!district || strcmp(district, a->district) != 0) {
		snprintf(why, whylen, "it concerns district %s, not %s (E_DISTRICT)", a->district, district ? district : "?");
		free(district);
		return 0;
	}
	free(district);
	if ((r = ssync_witness__signed_by_witness(st, a, swhy, sizeof(swhy), err)) < 0 ||
	    (r > 0 && (r = ssync_witness__signed_by_witness(st, b, swhy, sizeof(swhy), err)) < 0))
		return r;
	if (!r)
		snprintf(why, whylen, "checkpoint %lld %s", (long long)a->n, swhy);
	return 0;
}

int ssync_witness__evidence_judge(ssync_store *st, ssync_exchange *ex, const char *ref, const ssync_oid_hex *tip,
	ssync_wobj *a, ssync_wobj *b, char **data, size_t *len, char *why, size_t whylen, ssync_error *err)
{
	char want[160], msg[160];
	ssync_oid_hex fixed;
	ssync_error e;
	void *d = NULL;
	int error = 0;

	why[0] = 0;
	*data = NULL;
	*len = 0;
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	ssync_error_clear(&e);
	/* bounded before anything is parsed (commit, tree and file sizes) */
	if ((error = ssync_exchange_read_single(ex, tip, SSYNC_EVIDENCE_FILE, SSYNC_EVIDENCE_MAX, &d, len, &e)) < 0) {
		if (e.code == SSYNC_ERROR || e.code == SSYNC_EIO) {
			if (err)
				*err = e;
			return e.code;
		}
		snprintf(why, whylen, "%s (%s)", e.message, ssync_error_name(e.code));
		return 0;
	}
	error = 0;
	ssync_witness__evidence_ref(d, *len, want, sizeof(want));
	if (strcmp(want, ref) != 0) {
		snprintf(why, whylen, "its name is not the hash of its content (E_CORRUPT)");
		goto done;
	}
	if (ssync_witness__evidence_parse(a, b, d, *len, &e) < 0) {
		snprintf(why, whylen, "%s (%s)", e.message, ssync_error_name(e.code));
		goto done;
	}
	message(a, msg, sizeof(msg));
	if ((error = ssync_exchange_fixed_commit(ex, SSYNC_EVIDENCE_FILE, d, *len, msg, 0, &fixed, err)) < 0)
		goto done;
	if (strcmp(fixed.hex, tip->hex) != 0) {
		snprintf(why, whylen, "commit %.12s is not the one every node makes of this evidence (E_CORRUPT)", tip->hex);
		goto done;
	}
	error = content_check(st, a, b, why, whylen, err);
done:
	if (error < 0 || why[0]) {
		free(d);
		*len = 0;
		ssync_witness__wobj_clear(a);
		ssync_witness__wobj_clear(b);
		return error;
	}
	*data = d;
	return 0;
}

/* Keep @p a and @p b (and our own checkpoint at that position, if it is a
 * third) as evidence; the quarantine row's line is the content, so a fork
 * caught here and received from elsewhere is one row. */
static int record(ssync_store *st, const ssync_wobj *a, const ssync_wobj *b, const char *data, size_t len,
	const char *source, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_witness_fork(pos, body, sig, source) VALUES (?, ?, ?, ?)", err);
	const ssync_wobj *v[2] = { a, b };
	char why[400];
	int rc, i;

	if (!q)
		return SSYNC_ERROR;
	for (i = 0; i < 2; i++) {
		sqlite3_bind_int64(q, 1, v[i]->n);
		sqlite3_bind_text(q, 2, v[i]->body, (int)v[i]->body_len, SQLITE_STATIC);
		sqlite3_bind_blob(q, 3, v[i]->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, source, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record hub equivocation");
	}
	if (!(q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_witness_fork(pos, body, sig, source) "
		"SELECT pos, body, sig, 'chain' FROM ssync_witness WHERE pos=?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, a->n);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record hub equivocation");
	snprintf(why, sizeof(why), "hub %s signed two different checkpoints for position %lld (both kept as evidence, "
		"from %s): it showed different histories to different nodes (E_WITNESS_FORK)", a->hub, (long long)a->n, source);
	return ssync_trust__quarantine(st, "witness", a->n, ssync_error_name(SSYNC_D_WITNESS_FORK), why, data, len,
		source, err);
}

/* Our own evidence ref for @p data: the fixed commit, the ref created. */
static int publish(ssync_exchange *ex, const ssync_wobj *a, const char *data, size_t len, ssync_error *err)
{
	char ref[160], msg[160];
	ssync_oid_hex tip, cur;
	int found;

	ssync_witness__evidence_ref(data, len, ref, sizeof(ref));
	message(a, msg, sizeof(msg));
	found = ssync_exchange_ref_tip(ex, ref, &cur, NULL) == 0;
	if (!found)
		cur.hex[0] = 0;
	int error;

	if ((error = ssync_exchange_fixed_commit(ex, SSYNC_EVIDENCE_FILE, data, len, msg, 1, &tip, err)) < 0)
		return error;
	if (found && strcmp(cur.hex, tip.hex) == 0)
		return 0;
	return ssync_exchange_ref_update(ex, ref, &tip, &cur, "schoolsync: hub equivocation evidence", err);
}

int ssync_witness__evidence_caught(ssync_store *st, ssync_exchange *ex, const ssync_wobj *theirs,
	const char *remote, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body, sig FROM ssync_witness WHERE pos=?", err);
	ssync_wobj *ours = calloc(1, sizeof(*ours)), *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char *line = NULL, *data = NULL;
	size_t n = 0, len = 0;
	int error = 0, rc;

	if (!ours || !a || !b) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (!q) {
		error = SSYNC_ERROR;
		goto done;
	}
	sqlite3_bind_int64(q, 1, theirs->n);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_bytes(q, 1) == SSYNC_SIG_BYTES) {
		size_t bl = (size_t)sqlite3_column_bytes(q, 0);
		if (!(line = malloc(bl + 2 * SSYNC_SIG_BYTES + 3))) {
			sqlite3_reset(q);
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		memcpy(line, sqlite3_column_text(q, 0), bl);
		line[bl] = '\t';
		ssync_hex_encode(line + bl + 1, sqlite3_column_blob(q, 1), SSYNC_SIG_BYTES);
		n = bl + 1 + 2 * SSYNC_SIG_BYTES;
		line[n++] = '\n';
		line[n] = 0;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read a checkpoint");
		goto done;
	}
	if (!line || ssync_witness__wobj_parse(ours, line, n, err) < 0) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "checkpoint %lld as held does not parse", (long long)theirs->n);
		goto done;
	}
	if ((error = ssync_witness__evidence_encode(ours, theirs, &data, &len, err)) < 0 ||
	    (error = ssync_witness__evidence_parse(a, b, data, len, err)) < 0 ||
	    (error = record(st, a, b, data, len, remote, err)) < 0)
		goto done;
	error = publish(ex, a, data, len, err);
done:
	free(line);
	free(data);
	ssync_witness__wobj_free(ours);
	ssync_witness__wobj_free(a);
	ssync_witness__wobj_free(b);
	return error;
}

/* Our checkpoint at @p pos, body only (malloc'd); SSYNC_ENOTFOUND if none. */
static int held_body(ssync_store *st, int64_t pos, char **body, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body FROM ssync_witness WHERE pos=?", err);
	int r;

	*body = NULL;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, pos);
	if ((r = ssync_store__step_row(st, q, "read a checkpoint", err)) > 0)
		r = (*body = strdup((const char *)sqlite3_column_text(q, 0))) ? 0 :
			ssync_error_set(err, SSYNC_ERROR, "out of memory");
	else if (r == 0)
		r = SSYNC_ENOTFOUND;
	sqlite3_reset(q);
	return r;
}

int ssync_witness__fork_scan(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *rtip,
	const char *remote, int *found, ssync_error *err)
{
	int64_t last, count, pos;
	int error = 0;

	*found = 0;
	if ((error = ssync_witness__latest(st, &last, &count, err)) < 0)
		return error;
	/* Down from our latest: the chains agree below the first equal position. */
	for (pos = count; pos >= 1; pos--) {
		char path[64], why[300], *ours = NULL;
		void *data = NULL;
		size_t len = 0;
		ssync_wobj *w;
		ssync_error lerr;

		ssync_witness__wobj_path(pos, path, sizeof(path));
		ssync_error_clear(&lerr);
		if (ssync_exchange_read_file(ex, rtip, path, &data, &len, &lerr) < 0)
			continue; /* the remote's chain is shorter */
		if (!(w = calloc(1, sizeof(*w)))) {
			free(data);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		if ((error = held_body(st, pos, &ours, err)) == 0 &&
		    ssync_witness__wobj_parse(w, data, len, &lerr) == 0) {
			if (w->body_len == strlen(ours) && memcmp(w->body, ours, w->body_len) == 0)
				pos = 0; /* equal here: equal below */
			else if (w->n == pos && (error = ssync_witness__signed_by_witness(st, w, why, sizeof(why), err)) > 0 &&
				 (error = ssync_witness__evidence_caught(st, ex, w, remote, err)) == 0)
				(*found)++;
		}
		free(ours);
		free(data);
		ssync_witness__wobj_free(w);
		if (error < 0)
			return error;
		error = 0;
	}
	return 0;
}

/* Keep good evidence as if caught here: the same rows, the same ref. */
static int take(ssync_store *st, ssync_exchange *ex, const ssync_wobj *a, const ssync_wobj *b, const char *data,
	size_t len, const char *source, ssync_error *err)
{
	int error;

	if ((error = ssync_store_begin(st, err)) < 0)
		return error;
	if ((error = record(st, a, b, data, len, source, err)) < 0 || (error = ssync_store_commit(st, err)) < 0) {
		ssync_store_rollback(st);
		return error;
	}
	return publish(ex, a, data, len, err);
}

int ssync_witness__evidence_accept(ssync_store *st, ssync_exchange *ex, const char *data, size_t len,
	const char *source, char *why, size_t whylen, ssync_error *err)
{
	ssync_wobj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	ssync_error e;
	int error = 0;

	why[0] = 0;
	ssync_error_clear(&e);
	if (!a || !b)
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
	else if (ssync_witness__evidence_parse(a, b, data, len, &e) < 0)
		snprintf(why, whylen, "%s (%s)", e.message, ssync_error_name(e.code));
	else if ((error = content_check(st, a, b, why, whylen, err)) == 0 && !why[0])
		error = take(st, ex, a, b, data, len, source, err);
	ssync_witness__wobj_free(a);
	ssync_witness__wobj_free(b);
	return error;
}

typedef struct ev_list {
	char (*name)[161];
	ssync_oid_hex *tip;
	int n, cap;
} ev_list;

static int collect(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	ev_list *l = payload;

	if (strlen(ref) >= sizeof(l->name[0]))
		return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		void *x = realloc(l->name, (size_t)cap * sizeof(*l->name)), *y;
		if (!x)
			return -1;
		l->name = x;
		if (!(y = realloc(l->tip, (size_t)cap * sizeof(*l->tip))))
			return -1;
		l->tip = y;
		l->cap = cap;
	}
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", ref);
	l->tip[l->n++] = *tip;
	return 0;
}

int ssync_witness__evidence_receive(ssync_store *st, ssync_exchange *ex, const char *remote,
	int64_t *quarantined, ssync_error *err)
{
	ssync_wobj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	ev_list l = { 0 };
	char prefix[160];
	size_t plen;
	int i, judged = 0, error = 0;

	if (!a || !b) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/evidence/", remote);
	plen = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, collect, &l, err)) < 0)
		goto done;
	for (i = 0; i < l.n && judged < SSYNC_EVIDENCE_PER_ROUND; i++) {
		char local[200], bad[400], why[600], reason[800];
		ssync_oid_hex mine, seen;
		char *data = NULL;
		size_t len = 0;

		snprintf(local, sizeof(local), "refs/heads/evidence/%s", l.name[i] + plen);
		if (ssync_exchange_ref_tip(ex, local, &mine, NULL) == 0 && strcmp(mine.hex, l.tip[i].hex) == 0)
			continue; /* held already */
		snprintf(bad, sizeof(bad), BAD_PREFIX "%s/%s", remote, l.name[i] + plen);
		if (ssync_exchange_ref_tip(ex, bad, &seen, NULL) == 0 && strcmp(seen.hex, l.tip[i].hex) == 0)
			continue; /* refused before: quarantined once */
		judged++;
		if ((error = ssync_witness__evidence_judge(st, ex, local, &l.tip[i], a, b, &data, &len, why, sizeof(why),
			err)) < 0)
			goto done;
		if (why[0]) {
			ssync_oid_hex none;
			none.hex[0] = 0;
			snprintf(reason, sizeof(reason), "evidence %s on remote %s refused, not taken or relayed: %s",
				l.name[i] + plen, remote, why);
			(*quarantined)++;
			if ((error = ssync_trust__quarantine(st, "evidence", 0, ssync_error_name(SSYNC_ECORRUPT), reason,
				l.tip[i].hex, strlen(l.tip[i].hex), remote, err)) < 0 ||
			    (error = ssync_exchange_ref_delete(ex, bad, err)) < 0 ||
			    (error = ssync_exchange_ref_update(ex, bad, &l.tip[i], &none, "schoolsync: refused evidence", err)) < 0)
				goto done;
			continue;
		}
		/* as if caught here: the same rows, the same ref */
		(*quarantined)++;
		error = take(st, ex, a, b, data, len, remote, err);
		free(data);
		ssync_witness__wobj_clear(a);
		ssync_witness__wobj_clear(b);
		if (error < 0)
			goto done;
	}
done:
	ssync_witness__wobj_free(a);
	ssync_witness__wobj_free(b);
	free(l.name);
	free(l.tip);
	return error;
}
