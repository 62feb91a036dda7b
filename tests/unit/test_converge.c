/* Convergence property: nodes write concurrently (inserts, updates, deletes,
 * revivals on a small key space so they collide), entries are delivered in
 * random orders, duplicated, partially and through partitions; once every
 * node holds every entry, all state hashes and conflict lists are equal.
 * Seeded: SSYNC_SEED=n reproduces one schedule, SSYNC_SCHEDULES=n runs more
 * (default 24, every world size; the soak_converge target runs 2,000).
 * The managed variant adds a district (root, certificates), a hub that
 * signs checkpoints at the simulated real time, delivered like entries
 * (random prefixes, partitions), and writers whose clocks are skewed
 * (+8 h, +200 days, -3 years, +5 min) through the injected test clock: every
 * node still ends identical, and no node's clock beyond the real time plus
 * the allowance (docs/TRUST.md §4a). SSYNC_MANAGED_SCHEDULES=n (default 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "log_int.h"
#include "node_int.h"
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
#define MAXCK 128

typedef struct world {
	int n;
	char *dir;
	char *homes[MAXN];
	ssync_node *nodes[MAXN];
	unsigned int rng;
	long long delivered;
	/* managed worlds: the hub (node 0)'s checkpoints, the simulated real
	 * time and each writer's clock skew */
	int managed, nck;
	char *ck[MAXCK];
	size_t cklen[MAXCK];
	unsigned char ckhash[32];
	int64_t now, cktime, skew[MAXN];
	long long refused_writes;
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
	for (i = 0; i < w->nck; i++)
		free(w->ck[i]);
	th_rmtree(w->dir);
	free(w->dir);
}

static int exists_cb(int nc, const char *const *names, const char *const *vals, const int *types, void *p)
{
	(void)nc; (void)names; (void)vals; (void)types;
	*(int *)p = 1;
	return 0;
}

static void random_write(world *w, int i)
{
	ssync_node *n = w->nodes[i];
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
		snprintf(ms, sizeof(ms), "%lld", (long long)(w->now + w->skew[i]));
		setenv("SCHOOLSYNC_FAKE_TIME_MS", ms, 1);
	}
	if (ssync_node_sql_bound(n, sql, 2, params, "t", NULL, NULL, NULL, &err) != 0) {
		if (!w->managed || err.code != SSYNC_ECLOCK)
			fail_msg("write on %s: %s (%s)", ssync_node_id(n), err.message, sql);
		w->refused_writes++; /* a clock outside the witnessed window signs nothing */
	}
	if (w->managed)
		unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
}

/* ---- managed worlds: a district, the hub's checkpoints ------------------- */

static int64_t held_checkpoints(world *w, int i)
{
	int64_t t = 0, c = 0;

	assert_int_equal(ssync_witness__latest(ssync_node_store(w->nodes[i]), &t, &c, NULL), 0);
	return c;
}

/* Give node @p to the hub's checkpoints up to @p upto, as a district
 * update would (trust.c: load, then rebuild if a verdict can change). */
static void load_checkpoints(world *w, int to, int64_t upto)
{
	ssync_store *st = ssync_node_store(w->nodes[to]);
	int64_t have = held_checkpoints(w, to), pos;
	ssync_error err;

	if (upto <= have)
		return;
	ssync_error_clear(&err);
	for (pos = have + 1; pos <= upto; pos++) {
		char path[64], why[512], *pathv[1], *datav[1];
		int changed = 0, bad = 0;
		ssync_witness__wobj_path(pos, path, sizeof(path));
		pathv[0] = path;
		datav[0] = w->ck[pos - 1];
		assert_int_equal(ssync_trust__load_files(st, 1, pathv, datav, &w->cklen[pos - 1], &changed, &bad, why,
			sizeof(why), &err), 0);
		if (bad)
			fail_msg("checkpoint %lld refused by %s: %s", (long long)pos, ssync_node_id(w->nodes[to]), why);
	}
	if (ssync_trust__after_load(st, 0, have, &err) != 0)
		fail_msg("after checkpoints: %s", err.message);
}

/* The hub signs a checkpoint of the heads it holds at the real time. */
static void hub_checkpoint(world *w)
{
	ssync_store *st = ssync_node_store(w->nodes[0]);
	ssync_whead *heads = NULL;
	int nheads = 0;
	ssync_wobj *o = calloc(1, sizeof(*o));
	ssync_error err;
	size_t len = 0;

	assert_non_null(o);
	assert_true(w->nck < MAXCK);
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
	if (ssync_witness__wobj_sign(o, ssync_node__keypair(w->nodes[0]), &w->ck[w->nck], &len, &err) != 0)
		fail_msg("sign checkpoint: %s", err.message);
	w->cklen[w->nck] = len;
	memcpy(w->ckhash, o->hash, 32);
	w->nck++;
	ssync_witness__wobj_clear(o);
	free(o);
	load_checkpoints(w, 0, w->nck);
}

/* A district: genesis and one certificate per node (role hub, so the write
 * policy allows every op of these schedules), loaded on every node. */
static void world_manage(world *w)
{
	ssync_keypair *root = NULL;
	ssync_tobj t[MAXN + 1];
	char *lines[MAXN + 1], paths[MAXN + 1][160], *pathv[MAXN + 1], rhex[65], why[512];
	size_t lens[MAXN + 1];
	int i, k, changed, bad;
	ssync_error err;
	static const int64_t skews[MAXN] = { 0, 8 * 3600000LL, 200 * 86400000LL, -3 * 365 * 86400000LL, 300000, 0, 0, 0 };

	w->managed = 1;
	w->now = INT64_C(1795000000000); /* 2026-11-18 */
	memcpy(w->skew, skews, sizeof(skews));
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&root, &err), 0);
	ssync_hex_encode(rhex, ssync_keys_public(root), 32);
	memset(t, 0, sizeof(t));
	t[0].kind = SSYNC_TOBJ_GENESIS;
	snprintf(t[0].district, sizeof(t[0].district), "testdistrict");
	snprintf(t[0].name, sizeof(t[0].name), "converge");
	memcpy(t[0].key, ssync_keys_public(root), 32);
	t[0].created = w->now;
	for (i = 0; i < w->n; i++) {
		ssync_tobj *c = &t[i + 1];
		c->kind = SSYNC_TOBJ_CERT;
		snprintf(c->district, sizeof(c->district), "testdistrict");
		snprintf(c->node, sizeof(c->node), "%s", ssync_node_id(w->nodes[i]));
		c->serial = i + 1;
		snprintf(c->role, sizeof(c->role), "hub");
		assert_int_equal(ssync_hex_decode(c->key, 32, ssync_node_pubkey_hex(w->nodes[i])), 0);
	}
	for (k = 0; k <= w->n; k++) {
		assert_int_equal(ssync_trust__tobj_sign(&t[k], root, &lines[k], &lens[k], &err), 0);
		ssync_trust__tobj_path(&t[k], paths[k], sizeof(paths[k]));
		pathv[k] = paths[k];
	}
	for (i = 0; i < w->n; i++) {
		assert_int_equal(ssync_trust_district_join(w->nodes[i], rhex, &err), 0);
		assert_int_equal(ssync_trust__load_files(ssync_node_store(w->nodes[i]), w->n + 1, pathv, lines, lens,
			&changed, &bad, why, sizeof(why), &err), 0);
		if (bad)
			fail_msg("district: %s", why);
	}
	for (k = 0; k <= w->n; k++) {
		free(lines[k]);
		ssync_trust__tobj_clear(&t[k]);
	}
	ssync_keys_free(root);
}

/* Deliver entries of @p src (held by @p from) up to seq @p upto to @p to. */
static void deliver(world *w, int from, int to, const char *src, int64_t upto)
{
	ssync_store *fs = ssync_node_store(w->nodes[from]);
	ssync_ingest *in = NULL;
	ssync_error err;
	int64_t seq, head = 0;

	ssync_error_clear(&err);
	assert_int_equal(ssync_log__head(fs, src, &head, NULL, NULL, &err), 0);
	if (upto > head)
		upto = head;
	if (upto < 1)
		return;
	assert_int_equal(ssync_ingest__begin(&in, ssync_node_store(w->nodes[to]), "testdistrict", src, "test", &err), 0);
	/* Start a bit before what the receiver has: duplicates must be no-ops. */
	for (seq = 1 + (int64_t)(rnd(w) % (unsigned)upto); seq > 1 && (rnd(w) % 2); seq--)
		;
	{
		int64_t have = 0;
		assert_int_equal(ssync_log__head(ssync_node_store(w->nodes[to]), src, &have, NULL, NULL, &err), 0);
		if (seq > have + 1)
			seq = have + 1;
	}
	for (; seq <= upto; seq++) {
		ssync_entry *e = NULL;
		char *line = NULL;
		size_t len = 0;
		int rc;
		assert_int_equal(ssync_log__get(fs, src, seq, &e, NULL, &err), 0);
		assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
		rc = ssync_ingest__line(in, line, len, &err);
		if (rc != 0)
			fail_msg("deliver %s#%lld to %s: rc %d %s / %s", src, (long long)seq, ssync_node_id(w->nodes[to]), rc,
				err.message, ssync_ingest__stop_reason(in));
		w->delivered++;
		free(line);
		ssync_entry_free(e);
	}
	assert_int_equal(ssync_ingest__end(in, 0, NULL, &err), 0);
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
		load_checkpoints(w, to, held_checkpoints(w, from));
		return;
	}
	s = (int)(rnd(w) % (unsigned)w->n); /* relay: from forwards what it holds of s */
	assert_int_equal(ssync_log__head(ssync_node_store(w->nodes[from]), ssync_node_id(w->nodes[s]), &head, NULL, NULL, NULL), 0);
	if (s == to || head == 0)
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

/* Managed heal: the hub takes everything and signs a last checkpoint; each
 * node then gets entries and checkpoints, in either order. */
static void heal_managed(world *w)
{
	int i, j;

	for (j = 1; j < w->n; j++)
		deliver(w, j, 0, ssync_node_id(w->nodes[j]), INT64_MAX);
	hub_checkpoint(w);
	for (i = 1; i < w->n; i++) {
		int first = (int)(rnd(w) % 2);
		if (first)
			load_checkpoints(w, i, w->nck);
		for (j = 0; j < w->n; j++)
			if (j != i)
				deliver(w, j, i, ssync_node_id(w->nodes[j]), INT64_MAX);
		if (!first)
			load_checkpoints(w, i, w->nck);
	}
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

static int run_schedule(unsigned int seed, int n, int managed, long long *conflicts_out, long long *delivered_out,
	long long *held_out)
{
	world w;
	int step, i, j;
	char h0[65], hi[65];
	cbuf c0 = { NULL, 0, 0, 0 };

	world_init(&w, n, seed);
	if (managed)
		world_manage(&w);
	for (step = 0; step < 60; step++) {
		int partitioned = step > 15 && step < 40;
		if (managed) {
			w.now = INT64_C(1795000000000) + (int64_t)step * 60000; /* a minute a step */
			if (rnd(&w) % 5 == 0)
				hub_checkpoint(&w);
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
	if (managed)
		check_clocks(&w, seed, held_out);
	*conflicts_out += c0.count;
	*delivered_out += w.delivered;
	free(c0.s);
	world_free(&w);
	return 0;
}

static void test_converge__random_schedules(void **state)
{
	const char *s = getenv("SSYNC_SEED"), *m = getenv("SSYNC_SCHEDULES");
	int count = m ? atoi(m) : 24, k;
	unsigned int base = s ? (unsigned)strtoul(s, NULL, 10) : 20261125u;
	long long conflicts = 0, delivered = 0;

	(void)state;
	if (s)
		count = 1;
	for (k = 0; k < count; k++)
		run_schedule(base + (unsigned)k, 5 + k % 3, 0, &conflicts, &delivered, NULL);
	printf("converge: %d schedules, %lld entries delivered, %lld conflicts at the end\n", count, delivered, conflicts);
	/* Vacuity guard: the schedules did exchange data and did collide. */
	assert_true(delivered > count * 10);
	assert_true(conflicts > 0);
}

static void test_converge__skewed_clocks_with_checkpoints(void **state)
{
	const char *s = getenv("SSYNC_SEED"), *m = getenv("SSYNC_MANAGED_SCHEDULES");
	int count = m ? atoi(m) : 8, k;
	unsigned int base = s ? (unsigned)strtoul(s, NULL, 10) : 20261206u;
	long long conflicts = 0, delivered = 0, held = 0;

	(void)state;
	if (s)
		count = 1;
	for (k = 0; k < count; k++)
		run_schedule(base + (unsigned)k, 5 + k % 3, 1, &conflicts, &delivered, &held);
	printf("converge (managed, skewed clocks): %d schedules, %lld entries delivered, %lld conflicts, "
		"%lld entries held at the end\n", count, delivered, conflicts, held);
	/* Vacuity guard: data moved, and the skewed clocks were held somewhere. */
	assert_true(delivered > count * 10);
	assert_true(held > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converge__random_schedules),
		cmocka_unit_test(test_converge__skewed_clocks_with_checkpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
