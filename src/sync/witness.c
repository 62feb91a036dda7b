/* Hub-witnessed time, the receiver's side (docs/TRUST.md §4a). The hub's
 * checkpoints arrive on refs/heads/district (witness/...), each verified
 * against the hub's certificate and the held chain (position n+1, prev =
 * hash of n, time not going back, each node's listed head growing) and
 * loaded all or nothing with the rest of the district update. Entries are
 * then judged by the checkpoints alone: a node holds a prefix of one
 * chain, so "the first checkpoint covering (node, seq)" and "the latest
 * witnessed time" are functions of the signed data, and more checkpoints
 * only release held entries -- except the very first checkpoint and new
 * coverage that proves an applied entry backdated or far ahead, which
 * need_rebuild detects (the caller then rebuilds from the log). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "schoolsync/hlc.h"
#include "reenroll_int.h"
#include "schoolsync/timefmt.h"
#include "trustdb_int.h"
#include "witness_int.h"
#include "wobj_int.h"

static void fmt_ms(int64_t ms, char *buf, size_t len)
{
	if (!ssync_time_utc(ms, 1, buf, len))
		snprintf(buf, len, "%lld ms", (long long)ms);
}

int ssync_witness__latest(ssync_store *st, int64_t *time, int64_t *count, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(pos), 0), ifnull(max(time), 0) FROM ssync_witness", err);
	int r;

	*time = 0;
	*count = 0;
	if (!q)
		return SSYNC_ERROR;
	/* an aggregate: always one row */
	if ((r = ssync_store__step_row(st, q, "read checkpoints", err)) > 0) {
		*count = sqlite3_column_int64(q, 0);
		*time = sqlite3_column_int64(q, 1);
		r = 0;
	}
	sqlite3_reset(q);
	return r;
}

/* The hub's certified keys verify the checkpoint's signature. */
static int hub_signed(ssync_store *st, const ssync_wobj *w, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT pubkey FROM ssync_cert WHERE node=? AND role='hub'", err);
	int rc, ok = 0;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, w->hub, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES &&
		    ssync_keys_verify(sqlite3_column_blob(q, 0), w->body, w->body_len, w->sig) == 0)
			ok = 1;
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read the hub's certificates");
	return ok;
}

/* Checkpoint pos as held: its hash and time; 0 if held, SSYNC_ENOTFOUND if not. */
static int held_at(ssync_store *st, int64_t pos, unsigned char hash[32], int64_t *time, char **body,
	ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT hash, time, body FROM ssync_witness WHERE pos=?", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, pos);
	if ((r = ssync_store__step_row(st, q, "read a checkpoint", err)) > 0) {
		if (sqlite3_column_bytes(q, 0) == 32)
			memcpy(hash, sqlite3_column_blob(q, 0), 32);
		*time = sqlite3_column_int64(q, 1);
		if (body && !(*body = strdup((const char *)sqlite3_column_text(q, 2))))
			r = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		else
			r = 0;
	} else if (r == 0) {
		r = SSYNC_ENOTFOUND;
	}
	sqlite3_reset(q);
	return r;
}

/* The highest seq of @p node any held checkpoint lists (0: none). */
static int listed_head(ssync_store *st, const char *node, int64_t *seq, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(seq), 0) FROM ssync_witness_head WHERE node=?", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((r = ssync_store__step_row(st, q, "read witnessed heads", err)) > 0) {
		*seq = sqlite3_column_int64(q, 0);
		r = 0;
	}
	sqlite3_reset(q);
	return r;
}

static int insert(ssync_store *st, const ssync_wobj *w, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT INTO ssync_witness(pos, hub, time, hash, body, sig) VALUES (?, ?, ?, ?, ?, ?)", err);
	int rc, i;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, w->n);
	sqlite3_bind_text(q, 2, w->hub, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, w->time);
	sqlite3_bind_blob(q, 4, w->hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, w->body, (int)w->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, w->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record checkpoint");
	if (!(q = ssync_store__stmt(st, "INSERT INTO ssync_witness_head(node, seq, pos, hash, time) VALUES (?, ?, ?, ?, ?)", err)))
		return SSYNC_ERROR;
	for (i = 0; i < w->nheads; i++) {
		sqlite3_bind_text(q, 1, w->heads[i].node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, w->heads[i].seq);
		sqlite3_bind_int64(q, 3, w->n);
		sqlite3_bind_blob(q, 4, w->heads[i].hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(q, 5, w->time);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record witnessed head");
	}
	return 0;
}

int ssync_witness__load(ssync_store *st, const char *district, const char *path, const char *data,
	size_t len, char *why, size_t whylen, ssync_error *err)
{
	ssync_wobj *w = calloc(1, sizeof(*w));
	ssync_error perr;
	unsigned char phash[32];
	int64_t ptime = 0, count = 0, last = 0, head = 0;
	char want[64];
	int r = 0, i;

	if (!w)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	ssync_error_clear(&perr);
	if (!memchr(data, '\n', len) || memchr(data, '\n', len) != data + len - 1) {
		snprintf(why, whylen, "%s: not exactly one signed line (E_CERT)", path);
		r = 1;
	} else if (ssync_witness__wobj_parse(w, data, len, &perr) < 0) {
		snprintf(why, whylen, "%s: %s (E_CERT)", path, perr.message);
		r = 1;
	}
	if (r)
		goto done;
	ssync_witness__wobj_path(w->n, want, sizeof(want));
	if (strcmp(want, path) != 0) {
		snprintf(why, whylen, "%s: checkpoint %lld must be stored as %s (E_CERT)", path, (long long)w->n, want);
		r = 1;
		goto done;
	}
	if (strcmp(w->district, district) != 0) {
		snprintf(why, whylen, "%s: belongs to district %s, not %s (E_DISTRICT)", path, w->district, district);
		r = 1;
		goto done;
	}
	if ((r = hub_signed(st, w, err)) < 0)
		goto done;
	if (!r) {
		snprintf(why, whylen, "%s: not signed by a certified key of hub %s (E_SIG)", path, w->hub);
		r = 1;
		goto done;
	}
	r = 0;
	if ((r = ssync_witness__latest(st, &last, &count, err)) < 0)
		goto done;
	if (w->n != count + 1) {
		snprintf(why, whylen, "%s: checkpoint %lld does not follow the %lld held (E_CHAIN)", path,
			(long long)w->n, (long long)count);
		r = 1;
		goto done;
	}
	if (w->n > 1) {
		if ((r = held_at(st, w->n - 1, phash, &ptime, NULL, err)) < 0)
			goto done;
		if (memcmp(phash, w->prev, 32) != 0 || w->time < ptime) {
			snprintf(why, whylen, "%s: prev is not checkpoint %lld, or its time goes back (E_CHAIN)", path,
				(long long)(w->n - 1));
			r = 1;
			goto done;
		}
	}
	for (i = 0; i < w->nheads; i++) {
		if ((r = listed_head(st, w->heads[i].node, &head, err)) < 0)
			goto done;
		if (w->heads[i].seq <= head) {
			snprintf(why, whylen, "%s: head %s#%lld is not past the %lld listed before (E_CHAIN)", path,
				w->heads[i].node, (long long)w->heads[i].seq, (long long)head);
			r = 1;
			goto done;
		}
	}
	r = insert(st, w, err);
done:
	ssync_witness__wobj_clear(w);
	free(w);
	return r;
}

/* Our own node id ("" on a replica that has none, e.g. audit's scratch). */
static int own_node(ssync_store *st, char out[SSYNC_NODE_ID_MAX + 1], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT value FROM ssync_meta WHERE key='node_id'", err);
	int r;

	out[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	if ((r = ssync_store__step_row(st, q, "read the node id", err)) > 0)
		snprintf(out, SSYNC_NODE_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return r < 0 ? r : 0;
}

/* A listed head of @p node: the smallest seq >= @p seq (dir 1) or the
 * largest seq < @p seq (dir -1). 1 if found. */
static int head_near(ssync_store *st, const char *node, int64_t seq, int dir, int64_t *hseq, int64_t *htime,
	ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, dir > 0 ?
		"SELECT seq, time FROM ssync_witness_head WHERE node=? AND seq>=? ORDER BY seq LIMIT 1" :
		"SELECT seq, time FROM ssync_witness_head WHERE node=? AND seq<? ORDER BY seq DESC LIMIT 1", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	if ((r = ssync_store__step_row(st, q, "read witnessed heads", err)) > 0) {
		*hseq = sqlite3_column_int64(q, 0);
		*htime = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	return r;
}

/*
 * Coverage of an entry of a re-enrolled node's later generation (above a
 * cut, docs/TRUST.md §5a): a listing made for the old key's history at the
 * same seqs covers nothing. The first listing at seq >= e's whose hash is
 * the entry this replica holds there covers it; one whose entry is held with
 * another hash is skipped (void); one whose entry is not held yet leaves e
 * uncovered for now (it is held back at most until the witnessed time
 * reaches it).
 */
static int covered_gen(ssync_store *st, const ssync_entry *e, int64_t *cseq, int64_t *ctime, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT h.seq, h.time, h.hash, (SELECT x.hash FROM ssync_entry x "
		"WHERE x.node=h.node AND x.seq=h.seq) FROM ssync_witness_head h WHERE h.node=? AND h.seq>=? ORDER BY h.seq", err);
	int rc, found = 0;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, e->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, e->seq);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_type(q, 3) == SQLITE_NULL)
			break;
		if (sqlite3_column_bytes(q, 2) == 32 && sqlite3_column_bytes(q, 3) == 32 &&
		    memcmp(sqlite3_column_blob(q, 2), sqlite3_column_blob(q, 3), 32) == 0) {
			*cseq = sqlite3_column_int64(q, 0);
			*ctime = sqlite3_column_int64(q, 1);
			found = 1;
			break;
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read witnessed heads");
	return found;
}

int ssync_witness__judge(ssync_store *st, const ssync_entry *e, int64_t cert_until, ssync_verdict *v,
	ssync_error *err)
{
	int64_t ms = (int64_t)ssync_hlc_ms(e->hlc), tmax, count, cseq = 0, ctime = 0, bseq = 0, btime = 0;
	char own[SSYNC_NODE_ID_MAX + 1], a[40], b[40];
	int covered, below, r;

	if (v->state != 1)
		return 0;
	if ((r = ssync_witness__latest(st, &tmax, &count, err)) < 0)
		return r;
	if (count == 0)
		return 0; /* no witness yet: today's rules alone */
	if ((covered = head_near(st, e->node, e->seq, 1, &cseq, &ctime, err)) < 0)
		return covered;
	if (covered) {
		ssync_gen g[SSYNC_GENS_MAX];
		int ng = 0;
		if ((r = ssync_trust__gens(st, e->node, g, &ng, err)) < 0)
			return r;
		if (ng > 0 && ssync_trust__gen_of(g, ng, e->seq) >= 2 &&
		    (covered = covered_gen(st, e, &cseq, &ctime, err)) < 0)
			return covered;
	}
	if ((below = head_near(st, e->node, e->seq, -1, &bseq, &btime, err)) < 0)
		return below;
	fmt_ms(ms, a, sizeof(a));
	if (below && ms < btime - SSYNC_WITNESS_RELAY_MS) {
		fmt_ms(btime, b, sizeof(b));
		v->state = 3;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_BACKDATED));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld is dated %s, more than 30 days before %s, when the hub had "
			"already witnessed %s up to seq %lld: refused as backdated (E_BACKDATED; a stolen key?)",
			e->node, (long long)e->seq, a, b, e->node, (long long)bseq);
		return 0;
	}
	if (covered && cert_until && ctime > cert_until + SSYNC_WITNESS_RELAY_MS) {
		fmt_ms(ctime, b, sizeof(b));
		v->state = 3;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_CERT_EXPIRED));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld was first witnessed by the hub at %s, more than 30 days "
			"after its certificate ended (E_CERT_EXPIRED)", e->node, (long long)e->seq, b);
		return 0;
	}
	if (covered && ms > ctime + SSYNC_WITNESS_HOLD_MS) {
		fmt_ms(ctime, b, sizeof(b));
		v->state = 2;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_FUTURE_HLC));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld is dated %s, more than 24 h after the hub first witnessed it "
			"(%s): its writer's clock was ahead; held, never applied (W_FUTURE_HLC)", e->node, (long long)e->seq, a, b);
		return 0;
	}
	if ((r = own_node(st, own, err)) < 0)
		return r;
	/* Our own entries not witnessed yet are ours to show (a school offline
	 * with a correct clock sees its writes); once witnessed, one rule for all. */
	if (ms > tmax + SSYNC_WITNESS_ALLOW_MS && (covered || strcmp(own, e->node) != 0)) {
		fmt_ms(tmax, b, sizeof(b));
		v->state = 2;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_D_FUTURE_HLC));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld is dated %s, more than 10 min past the latest time the hub "
			"witnessed (%s): held until the hub's checkpoints reach it (W_FUTURE_HLC)", e->node, (long long)e->seq, a, b);
	}
	return 0;
}

int ssync_witness__need_rebuild(ssync_store *st, int64_t from, ssync_error *err)
{
	sqlite3_stmt *q;
	int r;

	if (from == 0) {
		/* The first checkpoint: anything applied may now be ahead of it. */
		if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_entry LIMIT 1", err)))
			return SSYNC_ERROR;
		r = ssync_store__step_row(st, q, "read the log", err);
		sqlite3_reset(q);
		return r;
	}
	/* Held entries the later witnessed time releases: not past it, and not
	 * held for good (first witnessed more than H before their time). Read
	 * from the quarantine rows, which are few, not the whole log. */
	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_quarantine qq JOIN ssync_entry e ON e.node=qq.node AND e.seq=qq.seq "
		"WHERE qq.code='W_FUTURE_HLC' AND qq.seq>0 AND e.state=2 AND (e.hlc >> 16) <= (SELECT max(time) FROM ssync_witness) + ? "
		"AND NOT ifnull((e.hlc >> 16) > (SELECT h.time FROM ssync_witness_head h WHERE h.node=e.node AND h.seq>=e.seq "
		"ORDER BY h.seq LIMIT 1) + ?, 0) LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, SSYNC_WITNESS_ALLOW_MS);
	sqlite3_bind_int64(q, 2, SSYNC_WITNESS_HOLD_MS);
	r = ssync_store__step_row(st, q, "read held entries", err);
	sqlite3_reset(q);
	if (r != 0)
		return r;
	/* New coverage: an applied entry found far ahead of when it was first
	 * witnessed, backdated before it, witnessed after its certificate, or
	 * (our own, applied while not witnessed) past the latest witnessed time. */
	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_witness_head h JOIN ssync_entry e ON e.node=h.node "
		"AND e.state=1 AND e.seq > ifnull((SELECT max(p.seq) FROM ssync_witness_head p WHERE p.node=h.node AND p.pos<h.pos), 0) "
		"WHERE h.pos > ? AND ((e.seq <= h.seq AND (e.hlc >> 16) > h.time + ?) OR (e.seq > h.seq AND (e.hlc >> 16) < h.time - ?) "
		"OR (e.seq <= h.seq AND (e.hlc >> 16) > (SELECT max(time) FROM ssync_witness) + ?) "
		"OR (e.seq <= h.seq AND EXISTS (SELECT 1 FROM ssync_cert c WHERE c.node=h.node AND c.valid_until IS NOT NULL "
		"AND h.time > c.valid_until + ?))) LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, SSYNC_WITNESS_HOLD_MS);
	sqlite3_bind_int64(q, 3, SSYNC_WITNESS_RELAY_MS);
	sqlite3_bind_int64(q, 4, SSYNC_WITNESS_ALLOW_MS);
	sqlite3_bind_int64(q, 5, SSYNC_WITNESS_RELAY_MS);
	r = ssync_store__step_row(st, q, "compare entries with checkpoints", err);
	sqlite3_reset(q);
	return r;
}

static int fork_record(ssync_store *st, const ssync_wobj *w, const char *remote, const char *ours, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_witness_fork(pos, body, sig, source) VALUES (?, ?, ?, ?)", err);
	char why[300], *line;
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, w->n);
	sqlite3_bind_text(q, 2, w->body, (int)w->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, w->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, remote, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record hub equivocation");
	snprintf(why, sizeof(why), "hub %s signed two different checkpoints for position %lld (ours, and the one on "
		"remote %s kept as evidence): it showed different histories to different nodes (E_WITNESS_FORK)",
		w->hub, (long long)w->n, remote);
	if (!(line = malloc(strlen(ours) + w->body_len + 2)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	snprintf(line, strlen(ours) + w->body_len + 2, "%s\n%s", ours, w->body);
	rc = ssync_trust__quarantine(st, "witness", w->n, ssync_error_name(SSYNC_D_WITNESS_FORK), why, line, strlen(line),
		remote, err);
	free(line);
	return rc;
}

int ssync_witness__fork_scan(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *rtip,
	const char *remote, int *found, ssync_error *err)
{
	int64_t last, count, pos, t;
	unsigned char h[32];
	int error = 0;

	*found = 0;
	if ((error = ssync_witness__latest(st, &last, &count, err)) < 0)
		return error;
	/* Down from our latest: the chains agree below the first equal position. */
	for (pos = count; pos >= 1; pos--) {
		char path[64], *ours = NULL;
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
		if ((error = held_at(st, pos, h, &t, &ours, err)) == 0 &&
		    ssync_witness__wobj_parse(w, data, len, &lerr) == 0) {
			if (w->body_len == strlen(ours) && memcmp(w->body, ours, w->body_len) == 0)
				pos = 0; /* equal here: equal below */
			else if (w->n == pos && (error = hub_signed(st, w, err)) > 0 &&
				 (error = fork_record(st, w, remote, ours, err)) == 0)
				(*found)++;
		}
		free(ours);
		free(data);
		ssync_witness__wobj_clear(w);
		free(w);
		if (error < 0)
			return error;
		error = 0;
	}
	return 0;
}

int ssync_witness_info_get(ssync_store *st, ssync_witness_info *out, ssync_error *err)
{
	sqlite3_stmt *q;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ssync_witness__latest(st, &out->last_time, &out->checkpoints, err)) < 0)
		return r;
	if (!(q = ssync_store__stmt(st, "SELECT (SELECT hub FROM ssync_witness ORDER BY pos DESC LIMIT 1), "
		"(SELECT count(DISTINCT node || '#' || seq) FROM ssync_quarantine WHERE code='W_FUTURE_HLC' AND seq>0), "
		"(SELECT count(DISTINCT node || '#' || seq) FROM ssync_quarantine WHERE code='E_BACKDATED' AND seq>0), "
		"(SELECT count(*) FROM ssync_witness_fork)", err)))
		return SSYNC_ERROR;
	if ((r = ssync_store__step_row(st, q, "read witness status", err)) > 0) {
		if (sqlite3_column_type(q, 0) == SQLITE_TEXT)
			snprintf(out->hub, sizeof(out->hub), "%s", (const char *)sqlite3_column_text(q, 0));
		out->held = sqlite3_column_int64(q, 1);
		out->backdated = sqlite3_column_int64(q, 2);
		out->forks = sqlite3_column_int64(q, 3);
		r = 0;
	}
	sqlite3_reset(q);
	return r;
}
