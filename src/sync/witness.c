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
#include "wreset_int.h"

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

/* The node of the hub certificate with the lowest serial: the witness
 * before any witness reset. */
static int first_hub(ssync_store *st, char out[SSYNC_NODE_ID_MAX + 1], int64_t *serial, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT node, serial FROM ssync_cert WHERE role='hub' ORDER BY serial LIMIT 1", err);
	int r;

	out[0] = 0;
	if (serial)
		*serial = 0;
	if (!q)
		return SSYNC_ERROR;
	if ((r = ssync_store__step_row(st, q, "read the hub's certificates", err)) > 0) {
		snprintf(out, SSYNC_NODE_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(q, 0));
		if (serial)
			*serial = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	return r;
}

int ssync_witness__witness_node(ssync_store *st, char out[SSYNC_NODE_ID_MAX + 1], int64_t *serial, ssync_error *err)
{
	ssync_wreset rs;
	int r;

	/* after a witness reset, the hub it names signs the next checkpoints */
	if ((r = ssync_witness__reset_for(st, 0, &rs, err)) > 0) {
		snprintf(out, SSYNC_NODE_ID_MAX + 1, "%s", rs.hub);
		if (serial)
			*serial = rs.serial;
		return 1;
	}
	return r < 0 ? r : first_hub(st, out, serial, err);
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

int ssync_witness__signed_by_witness(ssync_store *st, const ssync_wobj *w, char *why, size_t whylen, ssync_error *err)
{
	char wit[SSYNC_NODE_ID_MAX + 1];
	ssync_wreset rs;
	int64_t serial = 0;
	int r;

	/* After a witness reset (§4b) only the hub and key it names sign the
	 * positions after its range: a leaked hub key is cut off there. */
	if ((r = ssync_witness__reset_for(st, w->n, &rs, err)) < 0)
		return r;
	if (r > 0) {
		if (strcmp(rs.hub, w->hub) != 0 || ssync_keys_verify(rs.key, w->body, w->body_len, w->sig) != 0) {
			snprintf(why, whylen, "checkpoint %lld is not signed by hub %s with the key witness reset %lld names "
				"(E_SIG)", (long long)w->n, rs.hub, (long long)rs.serial);
			return 0;
		}
		return 1;
	}
	/* Only one hub signs checkpoints: two would fork the chain (§10). */
	if ((r = first_hub(st, wit, &serial, err)) < 0)
		return r;
	if (r == 0 || strcmp(wit, w->hub) != 0) {
		if (r == 0)
			snprintf(why, whylen, "signed by hub %s, but this district has no hub certificate (E_SIG)", w->hub);
		else
			snprintf(why, whylen, "signed by hub %s, but the district's witness is hub %s (its first hub certificate, "
				"serial %lld): only one hub signs checkpoints (E_SIG)", w->hub, wit, (long long)serial);
		return 0;
	}
	if ((r = hub_signed(st, w, err)) < 0)
		return r;
	if (!r)
		snprintf(why, whylen, "not signed by a certified key of hub %s (E_SIG)", w->hub);
	return r;
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

int ssync_witness__stream(const ssync_gen *g, int ng, const char *node, int64_t seq,
	char out[SSYNC_BRANCH_NAME_MAX + 1])
{
	int64_t gen = ssync_trust__gen_of(g, ng, seq);

	if (gen >= 2)
		snprintf(out, SSYNC_BRANCH_NAME_MAX + 1, "%s.g%lld", node, (long long)gen);
	else
		snprintf(out, SSYNC_BRANCH_NAME_MAX + 1, "%s", node);
	return (int)gen;
}

/* A listing of generation G >= 2 ("<id>.g<G>") names a re-enrolment the
 * district branch already holds (it comes before the checkpoint on the one
 * chain) and a seq of that generation (above its cut): 1 with @p why if not. */
static int gen_listing_ok(ssync_store *st, const ssync_whead *h, char *why, size_t whylen, const char *path,
	ssync_error *err)
{
	char node[SSYNC_NODE_ID_MAX + 1];
	ssync_gen g[SSYNC_GENS_MAX];
	const ssync_gen *cur;
	int gen = 1, ng = 0, r;

	if (!ssync_ident_branch_parse(h->node, node, &gen) || gen < 2)
		return 0;
	if ((r = ssync_trust__gens(st, node, g, &ng, err)) < 0)
		return r;
	if (!(cur = ssync_trust__gen_find(g, ng, gen)) || h->seq <= cur->after_seq) {
		snprintf(why, whylen, "%s: head %s#%lld names key generation %d of %s, which no re-enrolment held "
			"introduces at that seq (E_CHAIN)", path, h->node, (long long)h->seq, gen, node);
		return 1;
	}
	return 0;
}

/* @p voided: a witness reset voids this position (§4b): the checkpoint is
 * kept for the chain, at the time before it (@p ptime), listing nothing. */
static int insert(ssync_store *st, const ssync_wobj *w, int voided, int64_t ptime, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT INTO ssync_witness(pos, hub, time, hash, body, sig) VALUES (?, ?, ?, ?, ?, ?)", err);
	int rc, i;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, w->n);
	sqlite3_bind_text(q, 2, w->hub, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, voided ? ptime : w->time);
	sqlite3_bind_blob(q, 4, w->hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, w->body, (int)w->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, w->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record checkpoint");
	/* evidence of a fork at this position came first (another node caught
	 * it): the checkpoint we take there joins it */
	if (!(q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_witness_fork(pos, body, sig, source) "
		"SELECT ?1, ?2, ?3, 'chain' WHERE EXISTS (SELECT 1 FROM ssync_witness_fork WHERE pos=?1)", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, w->n);
	sqlite3_bind_text(q, 2, w->body, (int)w->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, w->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record hub equivocation");
	if (voided)
		return 0;
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
	int r = 0, i, voided = 0;

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
	{
		char swhy[300];
		if ((r = ssync_witness__signed_by_witness(st, w, swhy, sizeof(swhy), err)) < 0)
			goto done;
		if (!r) {
			snprintf(why, whylen, "%s: %s", path, swhy);
			r = 1;
			goto done;
		}
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
	/* a position a witness reset voided lists nothing: its heads are not judged */
	if ((voided = ssync_witness__void_pos(st, w->n, err)) < 0) {
		r = voided;
		goto done;
	}
	for (i = 0; !voided && i < w->nheads; i++) {
		if ((r = listed_head(st, w->heads[i].node, &head, err)) < 0)
			goto done;
		if (w->heads[i].seq <= head) {
			snprintf(why, whylen, "%s: head %s#%lld is not past the %lld listed before (E_CHAIN)", path,
				w->heads[i].node, (long long)w->heads[i].seq, (long long)head);
			r = 1;
			goto done;
		}
		if ((r = gen_listing_ok(st, &w->heads[i], why, whylen, path, err)) != 0)
			goto done;
	}
	r = insert(st, w, voided, ptime, err);
done:
	ssync_witness__wobj_free(w);
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

/* Wb(e): the latest time the hub had witnessed @p node, in any key
 * generation, at a seq below @p seq (1 if any). Per listing name seq and
 * time grow together, so each name's row just below seq is its latest. */
static int witnessed_below(ssync_store *st, const char *node, const ssync_gen *g, int ng, int64_t seq,
	int64_t *bseq, int64_t *btime, ssync_error *err)
{
	char name[SSYNC_BRANCH_NAME_MAX + 1];
	int64_t s, t;
	int i, r, found = 0;

	for (i = -1; i < ng; i++) {
		if (i < 0)
			snprintf(name, sizeof(name), "%s", node);
		else
			snprintf(name, sizeof(name), "%s.g%lld", node, (long long)g[i].gen);
		if ((r = head_near(st, name, seq, -1, &s, &t, err)) < 0)
			return r;
		if (r && (!found || t > *btime)) {
			*bseq = s;
			*btime = t;
			found = 1;
		}
	}
	return found;
}

int ssync_witness__judge(ssync_store *st, const ssync_entry *e, int64_t cert_until, ssync_verdict *v,
	ssync_error *err)
{
	int64_t ms = (int64_t)ssync_hlc_ms(e->hlc), tmax, count, cseq = 0, ctime = 0, bseq = 0, btime = 0;
	char own[SSYNC_NODE_ID_MAX + 1], a[40], b[40], stream[SSYNC_BRANCH_NAME_MAX + 1];
	ssync_gen g[SSYNC_GENS_MAX];
	int covered, below, r, ng = 0;

	if (v->state != 1)
		return 0;
	if ((r = ssync_witness__latest(st, &tmax, &count, err)) < 0)
		return r;
	if (tmax == 0)
		return 0; /* no witness yet: today's rules alone */
	/* Coverage is by the listing name: the key generation the trust data
	 * gives e's seq, so a listing of a re-enrolled node's old, void history
	 * never covers its new generation's entries (TRUST.md §4a, §5a). */
	if ((r = ssync_trust__gens(st, e->node, g, &ng, err)) < 0)
		return r;
	ssync_witness__stream(g, ng, e->node, e->seq, stream);
	if ((covered = head_near(st, stream, e->seq, 1, &cseq, &ctime, err)) < 0)
		return covered;
	if ((below = witnessed_below(st, e->node, g, ng, e->seq, &bseq, &btime, err)) < 0)
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
	/* valid_until is any root-signed integer: subtract from the witnessed
	 * time (in the HLC range, above R) rather than add to it (r14) */
	if (covered && cert_until && ctime - SSYNC_WITNESS_RELAY_MS > cert_until) {
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

/* Judge each row of @p q (node, seq, hlc[, certificate end]) by witnessed
 * time until one's verdict is not @p same: 1 then, 0 if none, < 0 on error.
 * @p until_col: the column of the certificate end, or -1 (none). Finalizes @p q. */
static int judge_rows(ssync_store *st, sqlite3_stmt *q, int until_col, int same, const char *what, ssync_error *err)
{
	int rc = SQLITE_DONE, found = 0, error = 0;

	while (!found && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		ssync_entry e;
		ssync_verdict v;
		memset(&e, 0, sizeof(e));
		memset(&v, 0, sizeof(v));
		snprintf(e.node, sizeof(e.node), "%s", (const char *)sqlite3_column_text(q, 0));
		e.seq = sqlite3_column_int64(q, 1);
		e.hlc = (uint64_t)sqlite3_column_int64(q, 2);
		v.state = 1;
		if ((error = ssync_witness__judge(st, &e, until_col < 0 ? 0 : sqlite3_column_int64(q, until_col), &v, err)) < 0)
			break;
		found = v.state != same;
	}
	if (error == 0 && !found && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, what);
	sqlite3_finalize(q);
	return error < 0 ? error : found;
}

/* Held entries (W_FUTURE_HLC) the checkpoints now release, or judge
 * otherwise: each is judged again by witnessed time alone (the certificate's
 * end aside: that only refuses, and a rebuild would judge it too). Read from
 * the quarantine rows, which are few, not the whole log. */
static int held_changes(ssync_store *st, int64_t tmax, ssync_error *err)
{
	sqlite3_stmt *q = NULL;

	/* Its own statement: ssync_witness__judge uses the cached ones. */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT DISTINCT e.node, e.seq, e.hlc FROM ssync_quarantine qq JOIN ssync_entry e "
		"ON e.node=qq.node AND e.seq=qq.seq WHERE qq.code='W_FUTURE_HLC' AND qq.seq>0 AND e.state=2 "
		"AND (e.hlc >> 16) <= ?", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read held entries");
	/* a release needs the witnessed time to reach it */
	sqlite3_bind_int64(q, 1, tmax + SSYNC_WITNESS_ALLOW_MS);
	return judge_rows(st, q, -1, 2, "read held entries", err);
}

/* The seqs a listing named @p name at @p seq covers anew: its key
 * generation's seqs (above that generation's cut, up to the next
 * generation's) above the same name's previous listing. 0 if none. */
static int listing_range(ssync_store *st, const char *name, int64_t seq, int64_t pos, char node[SSYNC_NODE_ID_MAX + 1],
	int64_t *lo, int64_t *hi, ssync_error *err)
{
	sqlite3_stmt *q;
	ssync_gen g[SSYNC_GENS_MAX];
	int gen = 1, ng = 0, i, r;

	if (!ssync_ident_branch_parse(name, node, &gen))
		return 0; /* loaded only after the parser's check: cannot happen */
	if ((r = ssync_trust__gens(st, node, g, &ng, err)) < 0)
		return r;
	*lo = 0;
	*hi = seq;
	for (i = 0; i < ng; i++) {
		if (g[i].gen == gen && g[i].after_seq > *lo)
			*lo = g[i].after_seq;
		if (g[i].gen > gen && g[i].after_seq < *hi)
			*hi = g[i].after_seq;
	}
	if (!(q = ssync_store__stmt(st, "SELECT ifnull(max(seq), 0) FROM ssync_witness_head WHERE node=? AND pos<?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, pos);
	if ((r = ssync_store__step_row(st, q, "read witnessed heads", err)) > 0 && sqlite3_column_int64(q, 0) > *lo)
		*lo = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (r < 0)
		return r;
	return *hi > *lo;
}

/* Applied entries a new listing (@p name at @p seq, time @p t) changes the
 * verdict on: the entries it covers anew (far ahead of @p t, past the latest
 * witnessed time -- our own, applied while not witnessed --, or inside a
 * certificate that ended more than R before @p t), and the node's entries
 * above it (any generation) dated more than R before @p t: backdated. */
static int listing_changes(ssync_store *st, const char *name, int64_t seq, int64_t pos, int64_t t, int64_t tmax,
	ssync_error *err)
{
	char node[SSYNC_NODE_ID_MAX + 1];
	sqlite3_stmt *q;
	int64_t lo = 0, hi = 0;
	int r;

	if ((r = listing_range(st, name, seq, pos, node, &lo, &hi, err)) < 0)
		return r;
	if (r) {
		if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_entry e WHERE e.node=? AND e.seq>? AND e.seq<=? AND e.state=1 "
			"AND ((e.hlc >> 16) > ? OR (e.hlc >> 16) > ? OR EXISTS (SELECT 1 FROM ssync_cert c WHERE c.node=e.node "
			"AND c.valid_until IS NOT NULL AND (e.hlc >> 16) BETWEEN c.valid_from AND c.valid_until AND c.valid_until < ?)) "
			"LIMIT 1", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, lo);
		sqlite3_bind_int64(q, 3, hi);
		sqlite3_bind_int64(q, 4, t + SSYNC_WITNESS_HOLD_MS);
		sqlite3_bind_int64(q, 5, tmax + SSYNC_WITNESS_ALLOW_MS);
		sqlite3_bind_int64(q, 6, t - SSYNC_WITNESS_RELAY_MS);
		r = ssync_store__step_row(st, q, "compare entries with checkpoints", err);
		sqlite3_reset(q);
		if (r != 0)
			return r;
	}
	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_entry WHERE node=? AND seq>? AND state=1 AND (hlc >> 16) < ? LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, t - SSYNC_WITNESS_RELAY_MS);
	r = ssync_store__step_row(st, q, "compare entries with checkpoints", err);
	sqlite3_reset(q);
	return r;
}

int ssync_witness__held_for_good(ssync_store *st, const ssync_entry *e, ssync_error *err)
{
	char stream[SSYNC_BRANCH_NAME_MAX + 1];
	ssync_gen g[SSYNC_GENS_MAX];
	int64_t cseq = 0, ctime = 0;
	int ng = 0, r;

	/* the judge's rule: covered by its own generation's listing, first
	 * witnessed more than H before its time */
	if ((r = ssync_trust__gens(st, e->node, g, &ng, err)) < 0)
		return r;
	ssync_witness__stream(g, ng, e->node, e->seq, stream);
	if ((r = head_near(st, stream, e->seq, 1, &cseq, &ctime, err)) <= 0)
		return r;
	return (int64_t)ssync_hlc_ms(e->hlc) > ctime + SSYNC_WITNESS_HOLD_MS;
}

/* A re-enrolled node's entries judged one by one by ssync_witness__judge
 * (coverage goes by key generation there), each under the earliest end of
 * a certificate whose window holds its time: the one most likely to find
 * it expired, so no verdict a rebuild would reach is missed. */
static int reenrolled_changes(ssync_store *st, ssync_error *err)
{
	sqlite3_stmt *q = NULL;

	/* Its own statement: the judge uses the cached ones. */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT e.node, e.seq, e.hlc, (SELECT min(c.valid_until) FROM ssync_cert c "
		"WHERE c.node=e.node AND c.valid_until IS NOT NULL AND (e.hlc >> 16) BETWEEN c.valid_from AND c.valid_until) "
		"FROM ssync_entry e WHERE e.state IN (1, 2, 3) AND e.node IN (SELECT node FROM ssync_trust_obj "
		"WHERE kind='reenroll')", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read re-enrolled nodes' entries");
	return judge_rows(st, q, 3, 1, "read re-enrolled nodes' entries", err);
}

/*
 * The first checkpoints a replica loads: no entry was judged by witnessed
 * time before, so each entry the witness rules reach (applied, or held or
 * refused by a rule judged after them: policy, value) is judged by them
 * once; a replay follows only when a verdict changes (1). For nodes never
 * re-enrolled, whose listings carry their own name, that is one pass over
 * the log with two lookups of ssync_witness_head's key per entry -- the
 * judge's rules in SQL, erring towards a rebuild only for certificates
 * (any whose window holds the entry's time); re-enrolled nodes' entries go
 * through the judge itself.
 */
static int first_changes(ssync_store *st, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM (SELECT e.node AS node, e.hlc >> 16 AS ms, "
		"(SELECT h.time FROM ssync_witness_head h WHERE h.node=e.node AND h.seq>=e.seq ORDER BY h.seq LIMIT 1) AS w, "
		"(SELECT h.time FROM ssync_witness_head h WHERE h.node=e.node AND h.seq<e.seq ORDER BY h.seq DESC LIMIT 1) AS wb "
		"FROM ssync_entry e WHERE e.state IN (1, 2, 3) AND NOT EXISTS (SELECT 1 FROM ssync_trust_obj t "
		"WHERE t.path > 'certs/' || e.node || '.' AND t.path < 'certs/' || e.node || '/' AND t.kind='reenroll')) x "
		"WHERE (x.wb IS NOT NULL AND x.ms < x.wb - ?1) "
		"OR (x.w IS NOT NULL AND (x.ms > x.w + ?2 OR x.ms > (SELECT max(time) FROM ssync_witness) + ?3 "
		"OR EXISTS (SELECT 1 FROM ssync_cert c WHERE c.node=x.node AND c.valid_until IS NOT NULL "
		"AND x.ms BETWEEN c.valid_from AND c.valid_until AND x.w > c.valid_until + ?1))) "
		"OR (x.w IS NULL AND x.ms > (SELECT max(time) FROM ssync_witness) + ?3 "
		"AND x.node IS NOT (SELECT value FROM ssync_meta WHERE key='node_id')) LIMIT 1", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, SSYNC_WITNESS_RELAY_MS);
	sqlite3_bind_int64(q, 2, SSYNC_WITNESS_HOLD_MS);
	sqlite3_bind_int64(q, 3, SSYNC_WITNESS_ALLOW_MS);
	r = ssync_store__step_row(st, q, "compare the log with the first checkpoints", err);
	sqlite3_reset(q);
	if (r != 0)
		return r;
	return reenrolled_changes(st, err);
}

int ssync_witness__need_rebuild(ssync_store *st, int64_t from, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int64_t tmax = 0, count = 0;
	int r, rc;

	if (from > 0) {
		/* Positions 1..from all void (a witness reset from 1, §4b): entries
		 * were judged with no witness, so these are the first checkpoints. */
		if (!(q = ssync_store__stmt(st, "SELECT ifnull(max(time), 0) FROM ssync_witness WHERE pos <= ?", err)))
			return SSYNC_ERROR;
		sqlite3_bind_int64(q, 1, from);
		if ((r = ssync_store__step_row(st, q, "read checkpoints", err)) > 0 && sqlite3_column_int64(q, 0) == 0)
			from = 0;
		sqlite3_reset(q);
		q = NULL;
		if (r < 0)
			return r;
	}
	if (from == 0)
		return first_changes(st, err);
	if ((r = ssync_witness__latest(st, &tmax, &count, err)) < 0)
		return r;
	if ((r = held_changes(st, tmax, err)) != 0)
		return r;
	/* Each new listing, by the entries it covers under the judge's own
	 * rule (its name: node and key generation), not by seq alone. */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT node, seq, pos, time FROM ssync_witness_head WHERE pos > ?",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read witnessed heads");
	sqlite3_bind_int64(q, 1, from);
	r = 0;
	while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		char name[SSYNC_BRANCH_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(q, 0));
		r = listing_changes(st, name, sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
			sqlite3_column_int64(q, 3), tmax, err);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ssync_store__sqlerr(st, err, "read witnessed heads");
	sqlite3_finalize(q);
	return r;
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
		"(SELECT count(DISTINCT pos) FROM ssync_witness_fork)", err)))
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
