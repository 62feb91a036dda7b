/* The world model of the convergence property test (test_converge.c):
 * nodes, random writes and deliveries, and the managed variant (district,
 * hub checkpoints, skewed clocks, re-enrolments, root rotations). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers_converge.h"
#include "helpers_core.h"
#include "ingest_int.h"
#include "log_int.h"
#include "node_int.h"
#include "reenroll_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "schoolsync/review.h"
#include "schoolsync/trust.h"
#include "schoolsync/witness.h"
#include "tobj_int.h"
#include "trust_int.h"
#include "witness_int.h"
#include "wobj_int.h"

#define MAXN 8
#define MAXD 256 /* district files: genesis, certificates, rotations, re-enrolments, checkpoints */
#define MAXGEN 4

typedef struct world {
	int n;
	char *dir;
	char *homes[MAXN];
	ssync_node *nodes[MAXN];
	unsigned int rng;
	long long delivered;
	/* managed worlds: the district branch (files in commit order; node i
	 * holds the first dheld[i]), the root in office, the hub (node 0)'s
	 * checkpoints, the simulated real time and each writer's clock skew */
	int managed, nck, nd, dheld[MAXN];
	char *dpath[MAXD], *dline[MAXD];
	size_t dlen[MAXD];
	ssync_keypair *root;
	char root0[65]; /* the genesis root every home pins */
	int64_t serial;
	unsigned char ckhash[32];
	int64_t now, cktime, skew[MAXN];
	/* key generations: node i writes in gen[i]; touched: forked or re-enrolled */
	int64_t gen[MAXN];
	int touched[MAXN], homeno;
	int64_t cutseq[MAXN][MAXGEN + 1];     /* the cut of each generation ... */
	char cuthash[MAXN][MAXGEN + 1][65];   /* ... and the hash of the entry there */
	long long refused_writes, reenrolled, rotated, forked;
	/* first checkpoints a node loaded: judged without a replay / replayed */
	long long first_kept, first_rebuilt;
} world;

static unsigned int rnd(world *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return (w->rng >> 8) & 0xffffff;
}

static void world_init(world *w, int n, unsigned int seed)
{
	int i, j;

	memset(w, 0, sizeof(*w));
	w->n = n;
	w->rng = seed;
	w->dir = th_tmpdir();
	for (i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		w->homes[i] = th_node_home(w->dir, id);
		w->nodes[i] = th_open(w->homes[i]);
	}
	/* Everyone knows everyone's key (certificates are another test's concern). */
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			unsigned char pk[32];
			if (i == j)
				continue;
			assert_int_equal(ssync_hex_decode(pk, 32, ssync_node_pubkey_hex(w->nodes[j])), 0);
			assert_int_equal(ssync_log__peer_add(ssync_node_store(w->nodes[i]), ssync_node_id(w->nodes[j]),
				pk, "school", NULL, "test", NULL), 0);
		}
	}
}

static void world_free(world *w)
{
	int i;

	for (i = 0; i < w->n; i++) {
		ssync_node_free(w->nodes[i]);
		free(w->homes[i]);
	}
	for (i = 0; i < w->nd; i++) {
		free(w->dpath[i]);
		free(w->dline[i]);
	}
	ssync_keys_free(w->root);
	th_rmtree(w->dir);
	free(w->dir);
}

static int exists_cb(int nc, const char *const *names, const char *const *vals, const int *types, void *p)
{
	(void)nc; (void)names; (void)vals; (void)types;
	*(int *)p = 1;
	return 0;
}

/* One random write on home @p n, whose PC clock is the real time + @p skew. */
static void write_on(world *w, ssync_node *n, int64_t skew, int touched)
{
	char key[16], sql[512], val[64];
	const char *params[2];
	int exists = 0, r = (int)(rnd(w) % 100);
	ssync_error err;

	snprintf(key, sizeof(key), "k%u", rnd(w) % 6);
	snprintf(val, sizeof(val), "%s-v%u-张", ssync_node_id(n), rnd(w) % 1000);
	params[0] = key;
	params[1] = val;
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql_bound(n, "SELECT 1 FROM teacher WHERE id=?1", 1, params, "t", exists_cb, &exists, NULL, &err), 0);
	if (!exists)
		snprintf(sql, sizeof(sql), "INSERT INTO teacher(id, school_id, name, title, birth_year) VALUES (?1, %s, ?2, '中级', %u)",
			w->managed ? "NULL" : "'x'" /* a hub row: owner NULL (POLICY.md) */, 1960 + rnd(w) % 40);
	else if (r < 15)
		snprintf(sql, sizeof(sql), "DELETE FROM teacher WHERE id=?1 AND ?2 IS NOT NULL");
	else if (r < 55)
		snprintf(sql, sizeof(sql), "UPDATE teacher SET name=?2 WHERE id=?1");
	else if (r < 80)
		snprintf(sql, sizeof(sql), "UPDATE teacher SET title=CASE WHEN title='中级' THEN '高级' ELSE '中级' END, birth_year=%u WHERE id=?1 AND ?2 IS NOT NULL", rnd(w) % 50 + 1950);
	else
		snprintf(sql, sizeof(sql), "UPDATE teacher SET subject=?2, joined_year=%u WHERE id=?1", rnd(w) % 30 + 1990);
	if (w->managed) {
		/* the writer's PC clock: the simulated real time plus its skew */
		char ms[32];
		snprintf(ms, sizeof(ms), "%lld", (long long)(w->now + skew));
		setenv("SCHOOLSYNC_FAKE_TIME_MS", ms, 1);
	}
	if (ssync_node_sql_bound(n, sql, 2, params, "t", NULL, NULL, NULL, &err) != 0) {
		/* a clock outside the witnessed window signs nothing; nor does a
		 * new generation's home before it holds the entries up to its cut */
		if (!w->managed || (err.code != SSYNC_ECLOCK && !(touched && err.code == SSYNC_EBUSY)))
			fail_msg("write on %s: %s (%s)", ssync_node_id(n), err.message, sql);
		w->refused_writes++;
	}
	if (w->managed)
		unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
}

static void random_write(world *w, int i)
{
	write_on(w, w->nodes[i], w->skew[i], w->touched[i]);
}

/* ---- managed worlds: a district, the hub's checkpoints ------------------- */

static int64_t held_checkpoints(world *w, int i)
{
	int64_t t = 0, c = 0;

	assert_int_equal(ssync_witness__latest(ssync_node_store(w->nodes[i]), &t, &c, NULL), 0);
	return c;
}

/* Entry states and the state hash of a replica, as one string. */
static char *verdicts(ssync_node *n)
{
	sqlite3_stmt *q;
	char h[65], *out = NULL;
	size_t len = 0, cap = 0;

	assert_int_equal(ssync_node_state_hash(n, h, NULL), 0);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)), "SELECT node || '#' || seq || '=' || state "
		"FROM ssync_entry ORDER BY node, seq", -1, &q, NULL), SQLITE_OK);
	for (;;) {
		const char *v = sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : h;
		size_t k = strlen(v);
		if (len + k + 2 > cap) {
			cap = (len + k + 2) * 2;
			assert_non_null(out = realloc(out, cap));
		}
		memcpy(out + len, v, k);
		len += k;
		out[len++] = ' ';
		out[len] = 0;
		if (v == h)
			break;
	}
	sqlite3_finalize(q);
	return out;
}

/* Property (TRUST.md §4a): what a district update leaves -- a replay only
 * when need_rebuild says a verdict can change -- equals a full rebuild of
 * the same replica, whatever came first. */
static void check_against_rebuild(world *w, int to)
{
	ssync_trust_rebuild_report rep;
	char *inc = verdicts(w->nodes[to]), *full;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_trust_rebuild(ssync_node_store(w->nodes[to]), &rep, &err) != 0)
		fail_msg("rebuild: %s", err.message);
	full = verdicts(w->nodes[to]);
	if (strcmp(inc, full) != 0)
		fail_msg("node %s after a district update differs from a full rebuild:\n%s\n%s", ssync_node_id(w->nodes[to]),
			inc, full);
	free(inc);
	free(full);
}

/* Node @p to takes the district branch up to file @p upto as one district
 * update does (trust.c: load all or nothing, then rebuild if a verdict can
 * change). */
static void load_district(world *w, int to, int upto)
{
	ssync_store *st = ssync_node_store(w->nodes[to]);
	int64_t have = held_checkpoints(w, to);
	int changed = 0, bad = 0, k = upto - w->dheld[to];
	char why[512];
	ssync_error err;

	if (k <= 0)
		return;
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust__load_files(st, k, w->dpath + w->dheld[to], w->dline + w->dheld[to],
		w->dlen + w->dheld[to], &changed, &bad, why, sizeof(why), &err), 0);
	if (bad)
		fail_msg("district files %d..%d refused by %s: %s", w->dheld[to], upto - 1, ssync_node_id(w->nodes[to]), why);
	w->dheld[to] = upto;
	if (have == 0 && held_checkpoints(w, to) > 0) {
		int r = ssync_witness__need_rebuild(st, 0, &err);
		assert_true(r >= 0);
		if (r)
			w->first_rebuilt++;
		else
			w->first_kept++;
	}
	if (ssync_trust__after_load(st, changed, have, &err) != 0)
		fail_msg("after the district update: %s", err.message);
	if (held_checkpoints(w, to) > have)
		check_against_rebuild(w, to);
}

/* Append one signed file to the district branch (the hub commits it). */
static void district_add(world *w, const char *path, char *line, size_t len)
{
	assert_true(w->nd < MAXD);
	w->dpath[w->nd] = strdup(path);
	assert_non_null(w->dpath[w->nd]);
	w->dline[w->nd] = line;
	w->dlen[w->nd] = len;
	w->nd++;
}

/* Sign @p t with the root in office and append it. */
static void district_obj(world *w, ssync_tobj *t)
{
	char path[200], *line = NULL;
	size_t len = 0;
	ssync_error err;

	ssync_error_clear(&err);
	snprintf(t->district, sizeof(t->district), "testdistrict");
	t->serial = w->serial++;
	if (ssync_trust__tobj_sign(t, w->root, &line, &len, &err) != 0)
		fail_msg("sign a district object: %s", err.message);
	ssync_trust__tobj_path(t, path, sizeof(path));
	district_add(w, path, line, len);
	ssync_trust__tobj_clear(t);
}

/* The hub signs a checkpoint of the heads it holds at the real time. */
static void hub_checkpoint(world *w)
{
	ssync_store *st = ssync_node_store(w->nodes[0]);
	ssync_whead *heads = NULL;
	int nheads = 0;
	ssync_wobj *o = calloc(1, sizeof(*o));
	ssync_error err;
	char path[64], *line = NULL;
	size_t len = 0;

	assert_non_null(o);
	load_district(w, 0, w->nd);
	/* what the hub's rounds list (witness_pub.c) */
	assert_int_equal(ssync_witness__new_heads(st, &heads, &nheads, NULL), 0);
	assert_true(nheads <= SSYNC_WITNESS_MAX_HEADS);
	if (nheads > 0)
		memcpy(o->heads, heads, (size_t)nheads * sizeof(*heads));
	o->nheads = nheads;
	free(heads);
	snprintf(o->district, sizeof(o->district), "testdistrict");
	snprintf(o->hub, sizeof(o->hub), "%s", ssync_node_id(w->nodes[0]));
	o->n = w->nck + 1;
	o->has_prev = o->n > 1;
	memcpy(o->prev, w->ckhash, 32);
	if (w->now > w->cktime)
		w->cktime = w->now;
	o->time = w->cktime;
	ssync_error_clear(&err);
	if (ssync_witness__wobj_sign(o, ssync_node__keypair(w->nodes[0]), &line, &len, &err) != 0)
		fail_msg("sign checkpoint: %s", err.message);
	memcpy(w->ckhash, o->hash, 32);
	w->nck++;
	ssync_witness__wobj_path(w->nck, path, sizeof(path));
	district_add(w, path, line, len);
	ssync_witness__wobj_clear(o);
	free(o);
	load_district(w, 0, w->nd);
}

/* A district: genesis and one certificate per node (role hub, so the write
 * policy allows every op of these schedules), loaded on every node. */
static void world_manage(world *w)
{
	ssync_tobj t;
	int i;
	ssync_error err;
	static const int64_t skews[MAXN] = { 0, 8 * 3600000LL, 200 * 86400000LL, -3 * 365 * 86400000LL, 300000, 0, 0, 0 };

	w->managed = 1;
	w->serial = 1;
	w->now = INT64_C(1795000000000); /* 2026-11-18 */
	memcpy(w->skew, skews, sizeof(skews));
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&w->root, &err), 0);
	ssync_hex_encode(w->root0, ssync_keys_public(w->root), 32);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_GENESIS;
	snprintf(t.name, sizeof(t.name), "converge");
	memcpy(t.key, ssync_keys_public(w->root), 32);
	t.created = w->now;
	district_obj(w, &t);
	for (i = 0; i < w->n; i++) {
		memset(&t, 0, sizeof(t));
		t.kind = SSYNC_TOBJ_CERT;
		snprintf(t.node, sizeof(t.node), "%s", ssync_node_id(w->nodes[i]));
		snprintf(t.role, sizeof(t.role), "hub");
		assert_int_equal(ssync_hex_decode(t.key, 32, ssync_node_pubkey_hex(w->nodes[i])), 0);
		district_obj(w, &t);
		w->gen[i] = 1;
	}
	for (i = 0; i < w->n; i++) {
		assert_int_equal(ssync_trust_district_join(w->nodes[i], w->root0, &err), 0);
		load_district(w, i, w->nd);
	}
}

/* Root rotation (TRUST.md §3a): the root in office signs the new one; every
 * later object is signed by the new root. */
static void rotate_root(world *w)
{
	ssync_keypair *nr = NULL;
	ssync_tobj t;

	assert_int_equal(ssync_keys_generate(&nr, NULL), 0);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_ROTATE;
	snprintf(t.node, sizeof(t.node), "root");
	memcpy(t.old_key, ssync_keys_public(w->root), 32);
	memcpy(t.key, ssync_keys_public(nr), 32);
	district_obj(w, &t);
	ssync_keys_free(w->root);
	w->root = nr;
	load_district(w, 0, w->nd);
	w->rotated++;
}

static void deliver_from(world *w, ssync_node *fn, int to, const char *src, int64_t upto);

/*
 * Re-enrol school @p k (TRUST.md §5a). With @p fork, first a copy of its
 * home (a restored backup) signs the seqs its home signs too, and both
 * histories spread: replicas that meet both freeze the school (E_FORK).
 * The hub then re-enrols it under the next generation with a cut it holds
 * and below the fork; a new home (new key) replaces the old one, which is
 * retired, and continues once it holds the entries up to the cut.
 */
static void reenroll(world *w, int k, int fork)
{
	ssync_store *hub = ssync_node_store(w->nodes[0]);
	const char *id = ssync_node_id(w->nodes[k]);
	char sub[4096], copyhome[4096], nid[16], *home;
	int64_t head = 0, hubhead = 0, forkseq = INT64_MAX, lastcut = 0, cut, first = 1;
	ssync_gen g[SSYNC_GENS_MAX];
	ssync_node *nn, *copy = NULL;
	ssync_tobj t;
	int ng = 0, i;

	snprintf(nid, sizeof(nid), "%s", id);
	load_district(w, 0, w->nd);
	assert_int_equal(ssync_trust__gens(hub, nid, g, &ng, NULL), 0);
	for (i = 0; i < ng; i++)
		if (g[i].after_seq > lastcut)
			lastcut = g[i].after_seq;
	assert_int_equal(ssync_log__head(ssync_node_store(w->nodes[k]), nid, &head, NULL, NULL, NULL), 0);
	(void)ssync_trust__own_gen(ssync_node_store(w->nodes[k]), nid, ssync_keys_public(ssync_node__keypair(w->nodes[k])),
		&first);
	if (fork && head + 1 >= first && head >= lastcut) {
		/* the copy and the home both sign seq head+1 (and on) */
		int m, j;
		ssync_node_free(w->nodes[k]);
		snprintf(copyhome, sizeof(copyhome), "%s/fork%d", w->dir, w->homeno++);
		th_copy_tree(w->homes[k], copyhome);
		w->nodes[k] = th_open(w->homes[k]);
		copy = th_open(copyhome);
		for (m = 1 + (int)(rnd(w) % 2); m > 0; m--)
			write_on(w, copy, w->skew[k], 1);
		write_on(w, w->nodes[k], w->skew[k], 1);
		forkseq = head + 1;
		/* the copy's history reaches one or two replicas, the hub maybe */
		for (j = 1 + (int)(rnd(w) % 2); j > 0; j--) {
			int to = (int)(rnd(w) % (unsigned)w->n);
			if (to != k)
				deliver_from(w, copy, to, nid, INT64_MAX);
		}
		ssync_node_free(copy);
		w->forked++;
	}
	w->touched[k] = 1;
	assert_int_equal(ssync_log__head(hub, nid, &hubhead, NULL, NULL, NULL), 0);
	cut = hubhead < forkseq - 1 ? hubhead : forkseq - 1;
	if (cut < lastcut)
		return; /* the hub does not hold the old generation far enough yet */
	cut = lastcut + (int64_t)(rnd(w) % (unsigned)(cut - lastcut + 1));
	/* the school's new home: a new key, the genesis root pinned */
	snprintf(sub, sizeof(sub), "%s/home%d", w->dir, w->homeno++);
	assert_int_equal(mkdir(sub, 0700), 0);
	home = th_node_home(sub, nid);
	nn = th_open(home);
	assert_int_equal(ssync_trust_district_join(nn, w->root0, NULL), 0);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_CERT;
	snprintf(t.node, sizeof(t.node), "%s", nid);
	snprintf(t.role, sizeof(t.role), "hub");
	assert_int_equal(ssync_hex_decode(t.key, 32, ssync_node_pubkey_hex(nn)), 0);
	district_obj(w, &t);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_REENROLL;
	snprintf(t.node, sizeof(t.node), "%s", nid);
	t.gen = w->gen[k] + 1;
	t.after_seq = cut;
	memcpy(t.old_key, ssync_keys_public(ssync_node__keypair(w->nodes[k])), 32);
	assert_int_equal(ssync_hex_decode(t.key, 32, ssync_node_pubkey_hex(nn)), 0);
	district_obj(w, &t);
	assert_true(w->gen[k] + 1 <= MAXGEN);
	w->cutseq[k][w->gen[k] + 1] = cut;
	if (cut >= 1) {
		char sql[200];
		sqlite3_stmt *q;
		snprintf(sql, sizeof(sql), "SELECT hex(hash) FROM ssync_entry WHERE node='%s' AND seq=%lld", nid, (long long)cut);
		assert_int_equal(sqlite3_prepare_v2(ssync_store__db(hub), sql, -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		snprintf(w->cuthash[k][w->gen[k] + 1], 65, "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	load_district(w, 0, w->nd);
	/* the old home is retired (its void entries above the cut live on in
	 * the replicas that took them, until the re-enrolment reaches them) */
	ssync_node_free(w->nodes[k]);
	free(w->homes[k]);
	w->nodes[k] = nn;
	w->homes[k] = home;
	w->dheld[k] = 0;
	load_district(w, k, w->nd);
	/* OPERATIONS.md §7: the new home syncs with the hub first -- or later */
	if (rnd(w) % 2)
		deliver_from(w, w->nodes[0], k, nid, INT64_MAX);
	w->gen[k]++;
	w->reenrolled++;
}

/* Deliver seqs lo+1..hi of @p src's key generation @p gen, as home or
 * replica @p fn holds them, to node @p to through its branch's ingest. A
 * stop (frozen, void above a cut, a generation not usable yet) ends the
 * branch and is allowed only when @p stops_ok. */
static void deliver_branch(world *w, ssync_node *fn, int to, const char *src, int64_t gen, int64_t lo, int64_t hi,
	int stops_ok)
{
	ssync_store *fs = ssync_node_store(fn);
	ssync_ingest *in = NULL;
	ssync_error err;
	int64_t seq, head = 0, have = 0;

	ssync_error_clear(&err);
	assert_int_equal(ssync_log__head(fs, src, &head, NULL, NULL, &err), 0);
	if (hi > head)
		hi = head;
	if (hi <= lo)
		return;
	assert_int_equal(ssync_ingest__begin_gen(&in, ssync_node_store(w->nodes[to]), "testdistrict", src, gen, "test", &err), 0);
	/* Start a bit before what the receiver has: duplicates must be no-ops. */
	for (seq = lo + 1 + (int64_t)(rnd(w) % (unsigned)(hi - lo)); seq > lo + 1 && (rnd(w) % 2); seq--)
		;
	assert_int_equal(ssync_log__head(ssync_node_store(w->nodes[to]), src, &have, NULL, NULL, &err), 0);
	if (seq > have + 1)
		seq = have + 1 > lo + 1 ? have + 1 : lo + 1;
	for (; seq <= hi; seq++) {
		ssync_entry *e = NULL;
		char *line = NULL;
		size_t len = 0;
		int rc;
		assert_int_equal(ssync_log__get(fs, src, seq, &e, NULL, &err), 0);
		assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
		rc = ssync_ingest__line(in, line, len, &err);
		free(line);
		ssync_entry_free(e);
		if (rc != 0 && (rc < 0 || !stops_ok))
			fail_msg("deliver %s#%lld to %s: rc %d %s / %s", src, (long long)seq, ssync_node_id(w->nodes[to]), rc,
				err.message, ssync_ingest__stop_reason(in));
		if (rc != 0)
			break;
		w->delivered++;
	}
	assert_int_equal(ssync_ingest__end(in, 0, NULL, &err), 0);
}

/* Deliver @p src's entries up to seq @p upto, as @p fn holds them, to @p to:
 * one branch per key generation the sender knows of (node/<id>, node/<id>.g<G>). */
static void deliver_from(world *w, ssync_node *fn, int to, const char *src, int64_t upto)
{
	ssync_gen g[SSYNC_GENS_MAX];
	int s = atoi(src + 1), ng = 0, i, j;

	if (!w->managed || !w->touched[s]) {
		deliver_branch(w, fn, to, src, 1, 0, upto, 0);
		return;
	}
	assert_int_equal(ssync_trust__gens(ssync_node_store(fn), src, g, &ng, NULL), 0);
	for (i = -1; i < ng; i++) {
		int64_t gen = i < 0 ? 1 : g[i].gen, lo = i < 0 ? 0 : g[i].after_seq, hi = upto;
		for (j = 0; j < ng; j++)
			if (g[j].gen > gen && g[j].after_seq < hi)
				hi = g[j].after_seq;
		deliver_branch(w, fn, to, src, gen, lo, hi, 1);
	}
}

static void deliver(world *w, int from, int to, const char *src, int64_t upto)
{
	deliver_from(w, w->nodes[from], to, src, upto);
}

static void random_delivery(world *w, int partitioned)
{
	int from = (int)(rnd(w) % (unsigned)w->n), to = (int)(rnd(w) % (unsigned)w->n), s;
	int64_t head = 0;

	if (from == to)
		return;
	/* In a partition, nodes 0..n/2-1 and n/2..n-1 cannot talk. */
	if (partitioned && ((from < w->n / 2) != (to < w->n / 2)))
		return;
	if (w->managed && rnd(w) % 3 == 0) {
		/* the district branch travels too: a prefix of the hub's chain */
		load_district(w, to, w->dheld[from]);
		return;
	}
	s = (int)(rnd(w) % (unsigned)w->n); /* relay: from forwards what it holds of s */
	assert_int_equal(ssync_log__head(ssync_node_store(w->nodes[from]), ssync_node_id(w->nodes[s]), &head, NULL, NULL, NULL), 0);
	/* (a re-enrolled school's new home takes its own old entries too) */
	if ((s == to && !w->touched[s]) || head == 0)
		return;
	deliver(w, from, to, ssync_node_id(w->nodes[s]), 1 + (int64_t)(rnd(w) % (unsigned)head));
}

typedef struct cbuf { char *s; size_t n, cap; int count; } cbuf;

static int collect_conflict(const ssync_conflict *c, void *p)
{
	cbuf *b = p;
	char line[1024];
	int i, k;

	k = snprintf(line, sizeof(line), "%s/%s/%s:", c->table, c->pk, c->column);
	for (i = 0; i < c->nleaves && k < (int)sizeof(line) - 64; i++)
		k += snprintf(line + k, sizeof(line) - (size_t)k, " %s#%lld=%s%s", c->leaves[i].node,
			(long long)c->leaves[i].seq, c->leaves[i].value_json, c->leaves[i].winner ? "*" : "");
	if (b->n + (size_t)k + 2 > b->cap) {
		b->cap = (b->cap + (size_t)k + 2) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->n, line, (size_t)k);
	b->n += (size_t)k;
	b->s[b->n++] = '\n';
	b->s[b->n] = 0;
	b->count++;
	return 0;
}

/* Managed heal: the hub takes every home's entries and signs a last
 * checkpoint; each node then takes the district branch and the hub's
 * entries in either order (entries first: a sync round reads the district
 * branch first, so the generations it did not know yet come in the round
 * after). */
static void heal_managed(world *w)
{
	int i, j, round;

	for (j = 1; j < w->n; j++)
		deliver(w, j, 0, ssync_node_id(w->nodes[j]), INT64_MAX);
	hub_checkpoint(w);
	for (i = 1; i < w->n; i++) {
		int first = (int)(rnd(w) % 2);
		for (round = 0; round < 2; round++) {
			if (first || round == 1)
				load_district(w, i, w->nd);
			for (j = 0; j < w->n; j++)
				if (j != i || w->touched[i])
					deliver(w, 0, i, ssync_node_id(w->nodes[j]), INT64_MAX);
		}
	}
}

/* Every replica holds the same log (entries, their states), with no hole in
 * any node's seqs, and the entries a retired home signed up to its cut. */
static void check_logs(world *w, unsigned int seed)
{
	char *d0 = NULL;
	int i;

	for (i = 0; i < w->n; i++) {
		sqlite3 *db = ssync_store__db(ssync_node_store(w->nodes[i]));
		sqlite3_stmt *q;
		cbuf b = { NULL, 0, 0, 0 };
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT node || '#' || seq || ' ' || hex(hash) || ' ' || state FROM ssync_entry "
			"ORDER BY node, seq", -1, &q, NULL), SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *r = (const char *)sqlite3_column_text(q, 0);
			size_t k = strlen(r);
			if (b.n + k + 2 > b.cap) {
				b.cap = (b.cap + k + 2) * 2;
				b.s = realloc(b.s, b.cap);
				assert_non_null(b.s);
			}
			memcpy(b.s + b.n, r, k);
			b.n += k;
			b.s[b.n++] = '\n';
			b.s[b.n] = 0;
		}
		sqlite3_finalize(q);
		if (th_count(w->nodes[i], "SELECT count(*) FROM (SELECT node FROM ssync_entry GROUP BY node HAVING count(*) <> max(seq))"))
			fail_msg("seed %u: node s%d's log has a hole", seed, i);
		if (i == 0)
			d0 = b.s;
		else if ((d0 || b.s) && (!d0 || !b.s || strcmp(d0, b.s) != 0))
			fail_msg("seed %u: node s%d's log differs from s0's\ns0:\n%s\ns%d:\n%s", seed, i, d0 ? d0 : "", i, b.s ? b.s : "");
		if (i > 0)
			free(b.s);
	}
	for (i = 0; i < w->n; i++) {
		int g;
		for (g = 2; g <= w->gen[i] && g <= MAXGEN; g++) {
			char sql[200];
			if (w->cutseq[i][g] < 1)
				continue;
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM ssync_entry WHERE node='s%d' AND seq=%lld AND hex(hash)='%s'",
				i, (long long)w->cutseq[i][g], w->cuthash[i][g]);
			if (th_count(w->nodes[0], sql) != 1)
				fail_msg("seed %u: s%d's entry %lld (kept by generation %d's cut) was lost", seed, i,
					(long long)w->cutseq[i][g], g);
		}
	}
	free(d0);
}

/* No clock past the real time plus the allowance: neither what a node
 * applied nor what its next write would start from (its own head aside:
 * a skewed writer's own entries carry its own clock). */
static void check_clocks(world *w, unsigned int seed, long long *held)
{
	int i;

	for (i = 0; i < w->n; i++) {
		sqlite3 *db = ssync_store__db(ssync_node_store(w->nodes[i]));
		sqlite3_stmt *q;
		int64_t applied = 0, meta = 0;
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT ifnull(max(hlc), 0), (SELECT ifnull(max(CAST(value AS INTEGER)), 0) "
			"FROM ssync_meta WHERE key='hlc'), (SELECT count(*) FROM ssync_entry WHERE state=2) FROM ssync_entry "
			"WHERE state=1 AND node<>?", -1, &q, NULL), SQLITE_OK);
		sqlite3_bind_text(q, 1, ssync_node_id(w->nodes[i]), -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		applied = sqlite3_column_int64(q, 0) >> SSYNC_HLC_COUNTER_BITS;
		meta = sqlite3_column_int64(q, 1) >> SSYNC_HLC_COUNTER_BITS;
		if (i == 0)
			*held += sqlite3_column_int64(q, 2);
		sqlite3_finalize(q);
		if (applied > w->now + SSYNC_WITNESS_ALLOW_MS || (w->skew[i] <= 0 && meta > w->now + SSYNC_WITNESS_ALLOW_MS))
			fail_msg("seed %u: node s%d's clock is past the real time + 10 min (applied %lld, clock %lld, now %lld)",
				seed, i, (long long)applied, (long long)meta, (long long)w->now);
	}
}


long long converge_first_kept, converge_first_rebuilt;

/* @p ck_start: the step the hub's checkpoints start at (a district that
 * turns witnessing on while every replica holds entries). */
int converge_run_schedule(unsigned int seed, int n, int managed, int ck_start, long long *conflicts_out,
	long long *delivered_out, long long *held_out, events *ev)
{
	world w;
	int step, i, j, rot_step, re_step;
	char h0[65], hi[65];
	cbuf c0 = { NULL, 0, 0, 0 };

	world_init(&w, n, seed);
	if (managed)
		world_manage(&w);
	/* one root rotation and one re-enrolment at a random step, maybe more */
	rot_step = 5 + (int)(rnd(&w) % 45);
	re_step = 10 + (int)(rnd(&w) % 35);
	for (step = 0; step < 60; step++) {
		int partitioned = step > 15 && step < 40;
		if (managed) {
			w.now = INT64_C(1795000000000) + (int64_t)step * 60000; /* a minute a step */
			if (rnd(&w) % 5 == 0 && step >= ck_start)
				hub_checkpoint(&w);
			if (step == rot_step || (rnd(&w) % 40 == 0 && w.rotated < 3))
				rotate_root(&w);
			if (step == re_step || (rnd(&w) % 30 == 0 && w.reenrolled < 2))
				reenroll(&w, 1 + (int)(rnd(&w) % (unsigned)(n - 1)), rnd(&w) % 3 != 0);
		}
		if (rnd(&w) % 3 == 0)
			random_write(&w, (int)(rnd(&w) % (unsigned)n));
		else
			random_delivery(&w, partitioned);
	}
	if (managed)
		heal_managed(&w);
	/* Heal: everyone gets everything, sources in random order. */
	for (i = 0; i < n && !managed; i++) {
		int order[MAXN];
		for (j = 0; j < n; j++)
			order[j] = j;
		for (j = n - 1; j > 0; j--) {
			int k = (int)(rnd(&w) % (unsigned)(j + 1)), t = order[j];
			order[j] = order[k];
			order[k] = t;
		}
		for (j = 0; j < n; j++)
			if (order[j] != i)
				deliver(&w, order[j], i, ssync_node_id(w.nodes[order[j]]), INT64_MAX);
	}
	/* the logs first: a difference there says more than the state hash */
	if (managed)
		check_logs(&w, seed);
	assert_int_equal(ssync_node_state_hash(w.nodes[0], h0, NULL), 0);
	assert_int_equal(ssync_review_conflicts(ssync_node_store(w.nodes[0]), collect_conflict, &c0, NULL), 0);
	for (i = 1; i < n; i++) {
		cbuf ci = { NULL, 0, 0, 0 };
		assert_int_equal(ssync_node_state_hash(w.nodes[i], hi, NULL), 0);
		if (strcmp(h0, hi) != 0)
			fail_msg("seed %u: node s%d state %s differs from s0 %s", seed, i, hi, h0);
		assert_int_equal(ssync_review_conflicts(ssync_node_store(w.nodes[i]), collect_conflict, &ci, NULL), 0);
		if ((c0.s || ci.s) && (!c0.s || !ci.s || strcmp(c0.s, ci.s) != 0))
			fail_msg("seed %u: conflicts differ\ns0:\n%s\ns%d:\n%s", seed, c0.s ? c0.s : "", i, ci.s ? ci.s : "");
		free(ci.s);
	}
	if (managed) {
		check_clocks(&w, seed, held_out);
		ev->reenrolled += w.reenrolled;
		ev->forked += w.forked;
		ev->rotated += w.rotated;
		for (i = 0; i < n; i++) {
			ev->met += th_count(w.nodes[i], "SELECT count(*) FROM ssync_quarantine WHERE code IN ('E_FORK', 'E_VOID')") > 0;
			if (w.gen[i] >= 2) {
				char sql[160];
				snprintf(sql, sizeof(sql), "SELECT count(*) FROM ssync_entry WHERE node='s%d' AND seq>%lld", i,
					(long long)w.cutseq[i][2]);
				ev->gen_entries += th_count(w.nodes[0], sql);
			}
		}
		/* the hub listed new generations under their own names */
		ev->gen_listed += th_count(w.nodes[0], "SELECT count(*) FROM ssync_witness_head WHERE node LIKE '%.g%'");
	}
	*conflicts_out += c0.count;
	*delivered_out += w.delivered;
	converge_first_kept += w.first_kept;
	converge_first_rebuilt += w.first_rebuilt;
	free(c0.s);
	world_free(&w);
	return 0;
}
