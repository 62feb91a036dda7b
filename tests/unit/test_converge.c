/* Convergence property: nodes write concurrently (inserts, updates, deletes,
 * revivals on a small key space so they collide), entries are delivered in
 * random orders, duplicated, partially and through partitions; once every
 * node holds every entry, all state hashes and conflict lists are equal.
 * Seeded: SSYNC_SEED=n reproduces one schedule, SSYNC_SCHEDULES=n runs more
 * (default 24, every world size; the soak_converge target runs 2,000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/keys.h"
#include "schoolsync/review.h"

#define MAXN 8

typedef struct world {
	int n;
	char *dir;
	char *homes[MAXN];
	ssync_node *nodes[MAXN];
	unsigned int rng;
	long long delivered;
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
		snprintf(sql, sizeof(sql), "INSERT INTO teacher(id, school_id, name, title, birth_year) VALUES (?1, 'x', ?2, '中级', %u)", 1960 + rnd(w) % 40);
	else if (r < 15)
		snprintf(sql, sizeof(sql), "DELETE FROM teacher WHERE id=?1 AND ?2 IS NOT NULL");
	else if (r < 55)
		snprintf(sql, sizeof(sql), "UPDATE teacher SET name=?2 WHERE id=?1");
	else if (r < 80)
		snprintf(sql, sizeof(sql), "UPDATE teacher SET title=CASE WHEN title='中级' THEN '高级' ELSE '中级' END, birth_year=%u WHERE id=?1 AND ?2 IS NOT NULL", rnd(w) % 50 + 1950);
	else
		snprintf(sql, sizeof(sql), "UPDATE teacher SET subject=?2, joined_year=%u WHERE id=?1", rnd(w) % 30 + 1990);
	if (ssync_node_sql_bound(n, sql, 2, params, "t", NULL, NULL, NULL, &err) != 0)
		fail_msg("write on %s: %s (%s)", ssync_node_id(n), err.message, sql);
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

static int run_schedule(unsigned int seed, int n, long long *conflicts_out, long long *delivered_out)
{
	world w;
	int step, i, j;
	char h0[65], hi[65];
	cbuf c0 = { NULL, 0, 0, 0 };

	world_init(&w, n, seed);
	for (step = 0; step < 60; step++) {
		int partitioned = step > 15 && step < 40;
		if (rnd(&w) % 3 == 0)
			random_write(&w, (int)(rnd(&w) % (unsigned)n));
		else
			random_delivery(&w, partitioned);
	}
	/* Heal: everyone gets everything, sources in random order. */
	for (i = 0; i < n; i++) {
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
		run_schedule(base + (unsigned)k, 5 + k % 3, &conflicts, &delivered);
	printf("converge: %d schedules, %lld entries delivered, %lld conflicts at the end\n", count, delivered, conflicts);
	/* Vacuity guard: the schedules did exchange data and did collide. */
	assert_true(delivered > count * 10);
	assert_true(conflicts > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converge__random_schedules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
