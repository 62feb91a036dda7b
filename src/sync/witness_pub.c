/* Hub checkpoints, the hub's side (docs/TRUST.md §4a): list every head the
 * hub holds that no checkpoint lists yet -- whichever transport brought it,
 * network or a neighbour's USB stick -- sign it with the hub's certified
 * key at the hub's clock, commit it to refs/heads/district and load it back
 * through the receivers' own verification (witness.c via trust.c), so the
 * hub never holds a checkpoint others refuse. Run by every sync round of
 * the hub and by `schoolsync district checkpoint`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"
#include "schoolsync/trust.h"
#include "sync_int.h"
#include "trust_int.h"
#include "trustdb_int.h"
#include "witness_int.h"
#include "witness_pub_int.h"
#include "wobj_int.h"
#include "wreset_int.h"

#include <sodium.h>

/* 1 if this node holds a hub certificate for its own key. */
static int hub_cert(ssync_node *n, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_cert WHERE node=? AND role='hub' AND pubkey=?", err);
	int r;

	if (!ssync_node__keypair(n))
		return 0; /* opened without its key: it signs nothing */
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, ssync_keys_public(ssync_node__keypair(n)), SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	r = ssync_store__step_row(st, q, "read the hub's certificate", err);
	sqlite3_reset(q);
	return r;
}

static int head_push(ssync_whead **v, int *n, int *cap, const char *name, int64_t seq, const void *hash, int hlen,
	ssync_error *err)
{
	if (*n == *cap) {
		ssync_whead *nv = realloc(*v, (size_t)(*cap ? *cap * 2 : 64) * sizeof(**v));
		if (!nv)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		*v = nv;
		*cap = *cap ? *cap * 2 : 64;
	}
	snprintf((*v)[*n].node, sizeof((*v)[*n].node), "%s", name);
	(*v)[*n].seq = seq;
	memset((*v)[*n].hash, 0, 32);
	if (hlen == 32)
		memcpy((*v)[*n].hash, hash, 32);
	(*n)++;
	return 0;
}

/* The heads of a re-enrolled node, one per key generation it holds entries
 * of (TRUST.md §5a): generation G's head is listed as "<node>.g<G>" as soon
 * as the hub holds it, whatever seq the old key's history was listed at. */
static int gen_heads(ssync_store *st, const char *node, ssync_whead **v, int *n, int *cap, ssync_error *err)
{
	ssync_gen g[SSYNC_GENS_MAX];
	int ng = 0, i, k, r = 0;

	if ((r = ssync_trust__gens(st, node, g, &ng, err)) < 0)
		return r;
	for (i = -1; i < ng && r == 0; i++) {
		int64_t gen = i < 0 ? 1 : g[i].gen, lo = i < 0 ? 0 : g[i].after_seq, hi = INT64_MAX, listed = 0;
		char name[SSYNC_BRANCH_NAME_MAX + 1];
		sqlite3_stmt *q;
		for (k = 0; k < ng; k++)
			if (g[k].gen > gen && g[k].after_seq < hi)
				hi = g[k].after_seq;
		ssync_witness__stream(g, ng, node, lo + 1, name);
		if (!(q = ssync_store__stmt(st, "SELECT ifnull(max(seq), 0) FROM ssync_witness_head WHERE node=?", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		if ((r = ssync_store__step_row(st, q, "read witnessed heads", err)) > 0)
			listed = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (r < 0)
			return r;
		if (!(q = ssync_store__stmt(st, "SELECT seq, hash FROM ssync_entry WHERE node=? AND seq>? AND seq<=? "
			"ORDER BY seq DESC LIMIT 1", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, lo > listed ? lo : listed);
		sqlite3_bind_int64(q, 3, hi);
		if ((r = ssync_store__step_row(st, q, "read the heads of the log", err)) > 0)
			r = head_push(v, n, cap, name, sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
				sqlite3_column_bytes(q, 1), err);
		sqlite3_reset(q);
	}
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const ssync_whead *)a)->node, ((const ssync_whead *)b)->node);
}

int ssync_witness__new_heads(ssync_store *st, ssync_whead **out, int *n, ssync_error *err)
{
	/* re-enrolled nodes (few) are listed per key generation, by gen_heads */
	sqlite3_stmt *q = ssync_store__stmt(st, "WITH r(node) AS (SELECT DISTINCT node FROM ssync_trust_obj WHERE "
		"kind='reenroll') SELECT e.node, e.seq, e.hash, e.node IN r FROM ssync_entry e "
		"JOIN (SELECT node, max(seq) AS m FROM ssync_entry GROUP BY node) h ON e.node=h.node AND e.seq=h.m "
		"WHERE e.node IN r OR e.seq > ifnull((SELECT max(w.seq) FROM ssync_witness_head w WHERE w.node=e.node), 0) "
		"ORDER BY e.node", err);
	ssync_whead *v = NULL;
	int cap = 0, rc, error = 0;

	*out = NULL;
	*n = 0;
	if (!q)
		return SSYNC_ERROR;
	while (error == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_int(q, 3))
			error = gen_heads(st, (const char *)sqlite3_column_text(q, 0), &v, n, &cap, err);
		else
			error = head_push(&v, n, &cap, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
				sqlite3_column_blob(q, 2), sqlite3_column_bytes(q, 2), err);
	}
	sqlite3_reset(q);
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read the heads of the log");
	if (error < 0) {
		free(v);
		*n = 0;
		return error;
	}
	/* "<id>.g<G>" sorts by byte order among the ids, as the parser wants */
	if (*n > 1)
		qsort(v, (size_t)*n, sizeof(*v), by_name);
	*out = v;
	return 0;
}

static int prev_hash(ssync_store *st, int64_t pos, unsigned char out[32], ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT hash FROM ssync_witness WHERE pos=?", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, pos);
	if ((r = ssync_store__step_row(st, q, "read the latest checkpoint", err)) > 0 && sqlite3_column_bytes(q, 0) == 32)
		memcpy(out, sqlite3_column_blob(q, 0), 32);
	sqlite3_reset(q);
	if (r == 0)
		return ssync_error_set(err, SSYNC_ECORRUPT, "checkpoint %lld is missing", (long long)pos);
	return r < 0 ? r : 0;
}

/* 1 if this node is the district's witness (its one hub that signs
 * checkpoints, witness.c), 2 if it is another hub, 0 if no hub. After a
 * witness reset (TRUST.md §4b), the witness is the hub and key it names. */
static int is_hub(ssync_node *n, char wit[SSYNC_NODE_ID_MAX + 1], ssync_error *err)
{
	ssync_wreset rs;
	int r;

	wit[0] = 0;
	if ((r = ssync_witness__reset_for(ssync_node_store(n), 0, &rs, err)) < 0)
		return r;
	if (r > 0) {
		snprintf(wit, SSYNC_NODE_ID_MAX + 1, "%s", rs.hub);
		if (!ssync_node__keypair(n))
			return 0;
		if (strcmp(rs.hub, ssync_node_id(n)) == 0 &&
		    sodium_memcmp(rs.key, ssync_keys_public(ssync_node__keypair(n)), SSYNC_PUBKEY_BYTES) == 0)
			return 1;
		return (r = hub_cert(n, err)) <= 0 ? r : 2;
	}
	if ((r = hub_cert(n, err)) <= 0)
		return r;
	if ((r = ssync_witness__witness_node(ssync_node_store(n), wit, NULL, err)) < 0)
		return r;
	return r > 0 && strcmp(wit, ssync_node_id(n)) == 0 ? 1 : 2;
}

#define MAX_PER_ROUND 16 /* 4,096 heads in one commit; more wait for the next round */

int ssync_witness__publish(ssync_node *n, ssync_exchange *ex, int64_t min_age, int64_t *pos, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_whead *heads = NULL;
	ssync_wobj *w = NULL;
	ssync_oid_hex ltip, ntip;
	char *lines[MAX_PER_ROUND], paths[MAX_PER_ROUND][64], why[512], msg[96];
	const char *pathv[MAX_PER_ROUND];
	const void *datav[MAX_PER_ROUND];
	size_t lenv[MAX_PER_ROUND];
	int64_t tmax = 0, count = 0, now = (int64_t)ssync_hlc_wall_ms();
	unsigned char prev[32];
	int error = 0, nheads = 0, k = 0, i, hub, changed = 0, bad = 0;
	const char *ov = getenv("SCHOOLSYNC_HUB_CLOCK_OVERRIDE");
	char wit[SSYNC_NODE_ID_MAX + 1];

	*pos = 0;
	memset(lines, 0, sizeof(lines));
	if (!ssync_trust_managed(st))
		return 1;
	if ((hub = is_hub(n, wit, err)) != 1)
		return hub < 0 ? hub : hub == 2 ? 2 : 1;
	/* restored from an old copy: its chain may lack checkpoints it signed */
	if ((error = ssync_trust__stale_check(st, ssync_node_id(n), "a checkpoint", NULL)) == SSYNC_EROLLBACK)
		return 3;
	if (error < 0)
		return ssync_trust__stale_check(st, ssync_node_id(n), "a checkpoint", err);
	if ((error = ssync_witness__latest(st, &tmax, &count, err)) < 0)
		return error;
	if (now < (int64_t)SSYNC_HLC_MIN_MS || now > (int64_t)SSYNC_HLC_MAX_MS) {
		ssync_error_set(err, SSYNC_ECLOCK, "the hub's clock reads outside 2000..2999; no checkpoint signed (E_CLOCK)");
		ssync_error_hint(err, "set the hub's clock correctly (network time)");
		return SSYNC_ECLOCK;
	}
	/* tmax 0 with checkpoints: all void (a witness reset from 1, §4b), no witnessed time */
	if (tmax > 0 && now > tmax + SSYNC_WITNESS_WRITER_AHEAD_MS && !(ov && strcmp(ov, "1") == 0)) {
		char a[40], b[40];
		(void)ssync_time_utc(now, 0, a, sizeof(a));
		(void)ssync_time_utc(tmax, 0, b, sizeof(b));
		ssync_error_set(err, SSYNC_ECLOCK, "the hub's clock reads %s, more than a year past its latest checkpoint (%s); "
			"no checkpoint signed (E_CLOCK)", a, b);
		ssync_error_hint(err, "set the hub's clock correctly; if it is right, set SCHOOLSYNC_HUB_CLOCK_OVERRIDE=1 once "
			"(docs/OPERATIONS.md \"Clock refused\")");
		return SSYNC_ECLOCK;
	}
	/* The chain's time never goes back, whatever the hub's clock does. */
	if (now < tmax)
		now = tmax;
	if ((error = ssync_witness__new_heads(st, &heads, &nheads, err)) < 0)
		return error;
	if (nheads == 0 && count > 0 && now - tmax < min_age)
		goto done;
	if (!(w = calloc(1, sizeof(*w)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (count > 0 && (error = prev_hash(st, count, prev, err)) < 0)
		goto done;
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, SSYNC_DISTRICT_REF, &ltip, NULL)) < 0) {
		error = ssync_error_set(err, error, "read %s", SSYNC_DISTRICT_REF);
		goto done;
	}
	for (i = 0; k < MAX_PER_ROUND && (k == 0 || i < nheads);) {
		int m = 0;
		size_t len;
		memset(w, 0, sizeof(*w));
		snprintf(w->district, sizeof(w->district), "%s", ssync_node_district(n));
		snprintf(w->hub, sizeof(w->hub), "%s", ssync_node_id(n));
		w->n = count + 1 + k;
		w->has_prev = w->n > 1;
		memcpy(w->prev, prev, 32);
		w->time = now;
		for (; i < nheads && m < SSYNC_WITNESS_MAX_HEADS; i++, m++)
			w->heads[m] = heads[i];
		w->nheads = m;
		error = ssync_witness__wobj_sign(w, ssync_node__keypair(n), &lines[k], &len, err);
		if (error < 0)
			goto done;
		memcpy(prev, w->hash, 32);
		ssync_witness__wobj_clear(w);
		ssync_witness__wobj_path(count + 1 + k, paths[k], sizeof(paths[k]));
		pathv[k] = paths[k];
		datav[k] = lines[k];
		lenv[k] = len;
		k++;
	}
	snprintf(msg, sizeof(msg), "witness: checkpoint %lld", (long long)(count + k));
	if ((error = ssync_exchange_commit_files(ex, SSYNC_DISTRICT_REF, (size_t)k, pathv, datav, lenv, msg, &ntip, err)) < 0)
		goto done;
	if ((error = ssync_trust__load_branch(st, ex, &ltip, &ntip, &changed, &bad, why, sizeof(why), err)) < 0)
		goto done;
	if (bad) {
		error = ssync_error_set(err, SSYNC_ECERT, "the hub's own checkpoint does not verify: %s", why);
		goto done;
	}
	if ((error = ssync_trust__after_load(st, changed, count, err)) < 0)
		goto done;
	*pos = count + k;
done:
	for (i = 0; i < MAX_PER_ROUND; i++)
		free(lines[i]);
	free(w);
	free(heads);
	return error;
}

int ssync_witness_publish(ssync_node *n, int force, int64_t *pos, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error, lockfd = -1;

	*pos = 0;
	/* The sync lock, like the district commands (trust_admin.c): a round
	 * starting meanwhile would remove git's lock on refs/heads/district. */
	if ((error = ssync_sync__lock_wait(n, &lockfd, ssync_sync__lock_wait_ms, err)) < 0)
		return error;
	if ((error = ssync_node__exchange_open(n, 1, &ex, err)) < 0) {
		close(lockfd);
		return error;
	}
	error = ssync_witness__publish(n, ex, force ? 0 : SSYNC_WITNESS_ALLOW_MS / 2, pos, err);
	ssync_exchange_free(ex);
	close(lockfd);
	if (error == 3)
		return ssync_trust__stale_check(ssync_node_store(n), ssync_node_id(n), "signing a checkpoint", err);
	if (error == 2) {
		char wit[SSYNC_NODE_ID_MAX + 1];
		int64_t serial = 0;
		if (ssync_witness__witness_node(ssync_node_store(n), wit, &serial, NULL) <= 0)
			snprintf(wit, sizeof(wit), "?");
		ssync_error_set(err, SSYNC_EPERM, "node %s is a hub, but the district's witness is hub %s (the first hub "
			"certificate, serial %lld): only one hub signs checkpoints, two would fork the district branch",
			ssync_node_id(n), wit, (long long)serial);
		ssync_error_hint(err, "run this on hub %s's home; this hub's sync rounds sign none (docs/TRUST.md §4a)", wit);
		return SSYNC_EPERM;
	}
	if (error == 1) {
		ssync_error_set(err, SSYNC_EPERM, "node %s holds no hub certificate for its key: only the district hub "
			"signs checkpoints", ssync_node_id(n));
		ssync_error_hint(err, "run this on the hub's home (schoolsync district list shows the hub)");
		return SSYNC_EPERM;
	}
	return error;
}
