/* Hub-witnessed time is a function of the set of entries and checkpoints
 * (docs/TRUST.md §4a), never of the order they arrive in: the same two
 * schools' entries and the same six checkpoints, delivered to fresh managed
 * replicas in many interleavings (entries in chain-order chunks, each
 * checkpoint loaded and followed by the rebuild check, as a sync does), end
 * with the same verdict on every entry (applied, held for good, refused as
 * backdated or as witnessed after the certificate's end), the same
 * quarantine codes and the same state hash. Written for the r14 review of
 * issue 14: the rules' own tests judge one entry at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "trust_int.h"
#include "witness_int.h"
#include "wobj_int.h"

#define T0 INT64_C(1764085566000) /* 2025-11-25 */
#define MIN INT64_C(60000)
#define DAY INT64_C(86400000)
#define NX 5
#define NY 4
#define NC 6
#define ORDERS 24

typedef struct world {
	char *dir;
	ssync_keypair *hub;
	char xpk[65], ypk[65], hubpk[65];
	char *xl[NX], *yl[NY], *cl[NC]; /* signed lines */
	size_t cl_len[NC];
} world;

static void write_at(ssync_node *n, int64_t ms, const char *sql)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)ms);
	setenv("SCHOOLSYNC_FAKE_TIME_MS", v, 1);
	th_sql(n, sql);
	unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
}

/* The writer's log as wire lines, and each entry's hash. */
static void lines_of(ssync_node *n, const char *node, char **out, unsigned char (*hash)[32], int count)
{
	sqlite3_stmt *q;
	int i = 0;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)),
		"SELECT body, sig, hash FROM ssync_entry WHERE node=? ORDER BY seq", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		size_t blen = (size_t)sqlite3_column_bytes(q, 0);
		char *l = malloc(blen + 2 * SSYNC_SIG_BYTES + 3);
		assert_true(i < count);
		assert_non_null(l);
		memcpy(l, sqlite3_column_blob(q, 0), blen);
		l[blen] = '\t';
		ssync_hex_encode(l + blen + 1, sqlite3_column_blob(q, 1), SSYNC_SIG_BYTES);
		l[blen + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
		l[blen + 2 + 2 * SSYNC_SIG_BYTES] = 0;
		memcpy(hash[i], sqlite3_column_blob(q, 2), 32);
		out[i++] = l;
	}
	sqlite3_finalize(q);
	assert_int_equal(i, count);
}

/* Checkpoint @p pos at @p t listing up to two heads (node NULL: none). */
static void checkpoint(world *w, int pos, int64_t t, const char *n1, int64_t s1, const unsigned char *h1,
	const char *n2, int64_t s2, const unsigned char *h2, unsigned char prev[32])
{
	ssync_wobj *o = calloc(1, sizeof(*o));
	ssync_error err;

	assert_non_null(o);
	snprintf(o->district, sizeof(o->district), "testdistrict");
	snprintf(o->hub, sizeof(o->hub), "hub");
	o->n = pos;
	o->time = t;
	o->has_prev = pos > 1;
	memcpy(o->prev, prev, 32);
	if (n1) {
		snprintf(o->heads[o->nheads].node, sizeof(o->heads[0].node), "%s", n1);
		o->heads[o->nheads].seq = s1;
		memcpy(o->heads[o->nheads++].hash, h1, 32);
	}
	if (n2) {
		snprintf(o->heads[o->nheads].node, sizeof(o->heads[0].node), "%s", n2);
		o->heads[o->nheads].seq = s2;
		memcpy(o->heads[o->nheads++].hash, h2, 32);
	}
	ssync_error_clear(&err);
	if (ssync_witness__wobj_sign(o, w->hub, &w->cl[pos - 1], &w->cl_len[pos - 1], &err) != 0)
		fail_msg("sign checkpoint: %s", err.message);
	memcpy(prev, o->hash, 32);
	ssync_witness__wobj_clear(o);
	free(o);
}

static int setup(void **state)
{
	world *w = calloc(1, sizeof(*w));
	unsigned char hx[NX][32], hy[NY][32], prev[32];
	char *hxh, *hyh;
	ssync_node *x, *y;
	ssync_error err;

	assert_non_null(w);
	w->dir = th_tmpdir();
	hxh = th_node_home(w->dir, "sch-x");
	hyh = th_node_home(w->dir, "sch-y");
	x = th_open(hxh);
	y = th_open(hyh);
	snprintf(w->xpk, sizeof(w->xpk), "%s", ssync_node_pubkey_hex(x));
	snprintf(w->ypk, sizeof(w->ypk), "%s", ssync_node_pubkey_hex(y));
	/* sch-x: certified until T0+100d; its clock jumps 3 days ahead once */
	write_at(x, T0, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-x-1','sch-x','v1')");
	write_at(x, T0 + 60 * MIN, "UPDATE teacher SET name='v2' WHERE id='sch-x-1'");
	write_at(x, T0 + 3 * DAY, "UPDATE teacher SET name='v3 future' WHERE id='sch-x-1'");
	write_at(x, T0 + 3 * DAY + MIN, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-x-2','sch-x','v4')");
	write_at(x, T0 + 99 * DAY, "UPDATE teacher SET name='v5 late' WHERE id='sch-x-2'");
	/* sch-y: two entries early, witnessed 40 days later (USB lag); then a
	 * third dated before that witness by more than 30 days (a stolen key) */
	write_at(y, T0, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-y-1','sch-y','w1')");
	write_at(y, T0 + MIN, "UPDATE teacher SET name='w2' WHERE id='sch-y-1'");
	write_at(y, T0 + 2 * MIN, "UPDATE teacher SET name='w3 backdated' WHERE id='sch-y-1'");
	write_at(y, T0 + 41 * DAY, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-y-2','sch-y','w4')");
	lines_of(x, "sch-x", w->xl, hx, NX);
	lines_of(y, "sch-y", w->yl, hy, NY);
	ssync_node_free(x);
	ssync_node_free(y);
	free(hxh);
	free(hyh);
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&w->hub, &err), 0);
	ssync_hex_encode(w->hubpk, ssync_keys_public(w->hub), SSYNC_PUBKEY_BYTES);
	memset(prev, 0, sizeof(prev));
	checkpoint(w, 1, T0 + 10 * MIN, "sch-x", 2, hx[1], "sch-y", 1, hy[0], prev);
	checkpoint(w, 2, T0 + DAY, "sch-x", 3, hx[2], NULL, 0, NULL, prev);
	checkpoint(w, 3, T0 + 5 * DAY, "sch-x", 4, hx[3], NULL, 0, NULL, prev);
	checkpoint(w, 4, T0 + 40 * DAY, "sch-y", 2, hy[1], NULL, 0, NULL, prev);
	checkpoint(w, 5, T0 + 41 * DAY, "sch-y", 4, hy[3], NULL, 0, NULL, prev);
	checkpoint(w, 6, T0 + 140 * DAY, "sch-x", 5, hx[4], NULL, 0, NULL, prev);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	world *w = *state;
	int i;

	for (i = 0; i < NX; i++)
		free(w->xl[i]);
	for (i = 0; i < NY; i++)
		free(w->yl[i]);
	for (i = 0; i < NC; i++)
		free(w->cl[i]);
	ssync_keys_free(w->hub);
	th_rmtree(w->dir);
	free(w->dir);
	free(w);
	return 0;
}

static void exec_ok(ssync_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(ssync_store__db(st), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* A fresh managed replica "sch-r" that certifies the two schools and the hub. */
static ssync_node *replica(world *w, int k)
{
	char id[32], sql[900], *home;
	ssync_node *n;

	snprintf(id, sizeof(id), "sch-r%d", k);
	home = th_node_home(w->dir, id);
	n = th_open(home);
	free(home);
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO ssync_meta(key, value) VALUES ('district_pubkey','%s'); "
		"INSERT INTO ssync_cert VALUES ('sch-x',2,'school','sch-x',x'%s',0,%lld),"
		"('sch-y',3,'school','sch-y',x'%s',0,NULL),('hub',1,'hub',NULL,x'%s',0,NULL)",
		w->hubpk, w->xpk, (long long)(T0 + 100 * DAY), w->ypk, w->hubpk);
	exec_ok(ssync_node_store(n), sql);
	return n;
}

static void deliver(ssync_node *n, const char *node, char **lines, int upto)
{
	ssync_ingest *in = NULL;
	ssync_ingest_stats stats;
	ssync_error err;
	int i;

	ssync_error_clear(&err);
	assert_int_equal(ssync_ingest__begin(&in, ssync_node_store(n), "testdistrict", node, "test", &err), 0);
	for (i = 0; i < upto; i++)
		if (ssync_ingest__line(in, lines[i], strlen(lines[i]), &err) < 0)
			fail_msg("ingest %s#%d: %s", node, i + 1, err.message);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(ssync_ingest__end(in, 0, &stats, &err), 0);
}

static void load_checkpoint(world *w, ssync_node *n, int pos)
{
	ssync_store *st = ssync_node_store(n);
	ssync_error err;
	char path[64], why[512];

	ssync_witness__wobj_path(pos, path, sizeof(path));
	ssync_error_clear(&err);
	why[0] = 0;
	assert_int_equal(ssync_store_begin(st, &err), 0);
	if (ssync_witness__load(st, "testdistrict", path, w->cl[pos - 1], w->cl_len[pos - 1], why, sizeof(why), &err) != 0)
		fail_msg("checkpoint %d: %s %s", pos, why, err.message);
	assert_int_equal(ssync_store_commit(st, &err), 0);
	if (ssync_trust__after_load(st, 0, pos - 1, &err) < 0)
		fail_msg("after checkpoint %d: %s", pos, err.message);
}

/* Every entry's state and quarantine codes, and the state hash. */
static void outcome(ssync_node *n, char *out, size_t len)
{
	sqlite3_stmt *q;
	char hash[65];
	size_t used = 0;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)),
		"SELECT e.node, e.seq, e.state, ifnull((SELECT group_concat(code, ',') FROM (SELECT DISTINCT code FROM "
		"ssync_quarantine qq WHERE qq.node=e.node AND qq.seq=e.seq ORDER BY code)), '') FROM ssync_entry e "
		"ORDER BY e.node, e.seq", -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW && used < len)
		used += (size_t)snprintf(out + used, len - used, "%s#%lld:%d:%s ", (const char *)sqlite3_column_text(q, 0),
			(long long)sqlite3_column_int64(q, 1), sqlite3_column_int(q, 2), (const char *)sqlite3_column_text(q, 3));
	sqlite3_finalize(q);
	assert_int_equal(ssync_node_state_hash(n, hash, NULL), 0);
	if (used < len)
		snprintf(out + used, len - used, "%s", hash);
}

/* Events: 'x' delivers sch-x's next chunk, 'y' sch-y's, 'c' the next checkpoint. */
static void run(world *w, int k, const char *order, char *out, size_t len)
{
	static const int xchunk[] = { 2, 4, 5 }, ychunk[] = { 2, 4 };
	ssync_node *n = replica(w, k);
	int xi = 0, yi = 0, ci = 0;
	const char *p;

	for (p = order; *p; p++) {
		if (*p == 'x')
			deliver(n, "sch-x", w->xl, xchunk[xi++]);
		else if (*p == 'y')
			deliver(n, "sch-y", w->yl, ychunk[yi++]);
		else
			load_checkpoint(w, n, ++ci);
	}
	assert_int_equal(xi, 3);
	assert_int_equal(yi, 2);
	assert_int_equal(ci, NC);
	outcome(n, out, len);
	ssync_node_free(n);
}

static void test_witness_order__same_verdicts_in_every_order(void **state)
{
	world *w = *state;
	char ref[2048], got[2048], order[16];
	unsigned seed = 14;
	int k, i;

	/* checkpoints first: each entry judged once, under all of them */
	run(w, 0, "ccccccxxxyy", ref, sizeof(ref));
	/* the rules' verdicts (TRUST.md §4a) */
	assert_non_null(strstr(ref, "sch-x#1:1: sch-x#2:1: sch-x#3:2:W_FUTURE_HLC sch-x#4:1: sch-x#5:3:E_CERT_EXPIRED "));
	assert_non_null(strstr(ref, "sch-y#1:1: sch-y#2:1: sch-y#3:3:E_BACKDATED sch-y#4:1: "));
	/* entries first: applied, then re-judged by the rebuilds */
	run(w, 1, "xxxyycccccc", got, sizeof(got));
	assert_string_equal(ref, got);
	for (k = 2; k < ORDERS; k++) {
		int nx = 3, ny = 2, nc = NC;
		for (i = 0; nx + ny + nc > 0; i++) {
			int r = (int)(rand_r(&seed) % (unsigned)(nx + ny + nc));
			if (r < nx) {
				order[i] = 'x';
				nx--;
			} else if (r < nx + ny) {
				order[i] = 'y';
				ny--;
			} else {
				order[i] = 'c';
				nc--;
			}
		}
		order[i] = 0;
		run(w, k, order, got, sizeof(got));
		if (strcmp(ref, got) != 0)
			fail_msg("order %s:\n  got %s\n want %s", order, got, ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_witness_order__same_verdicts_in_every_order, setup, teardown),
	};
	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
