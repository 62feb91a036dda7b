/* Authorization is a function of the entry set (DESIGN §3, docs/POLICY.md
 * "Ownership"): one set of signed entries -- an owner's creation, updates
 * and deletes, another school's hijack of that row (itself as owner, no
 * prevs, an older HLC), a school claiming a hub row, the hub's edits, a
 * revoked school's entries -- and the district's trust objects are fed to
 * fresh replicas in many random orders: branches read in random order, in
 * random slices, trust data arriving at a random moment (a branch read
 * before its certificate stops and is read again, as sync does). Every
 * replica must end with the same accept/refuse decision for every entry,
 * the same conflicts and the same state hash, equal to a rebuild's
 * (tests/unit, cmocka). SSYNC_ORDER_SEED=N and SSYNC_ORDER_TRIALS=N vary it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "merge_int.h"
#include "schoolsync/trust.h"
#include "trust_int.h"

#define DISTRICT "d1"
#define MS0 1764000000000ULL

enum { N_HUB, N_A, N_B, N_C, N_NODES };
static const char *node_ids[N_NODES] = { "hub", "sch-a", "sch-b", "sch-c" };

typedef struct chain {
	char *lines[16];
	size_t lens[16];
	int n;
	unsigned char head[SSYNC_HASH_BYTES];
} chain;

typedef struct world {
	char *dir;
	ssync_keypair *root, *keys[N_NODES];
	char root_hex[65];
	chain ch[N_NODES];
	/* trust: [0] genesis + certificates, [1] the revocation of sch-c after seq 1 */
	char *tpaths[2][8], *tdatas[2][8];
	size_t tlens[2][8];
	int tn[2];
	int schema;
} world;

/* The op text of one entry (compact JSON, as the writer dumps it). */
static void add_entry(world *w, int who, uint64_t ms, const char *ops)
{
	chain *c = &w->ch[who];
	ssync_entry *e = NULL;
	ssync_error err;
	char *line = NULL;
	size_t len = 0;

	ssync_error_clear(&err);
	if (ssync_entry__create_text(&e, DISTRICT, node_ids[who], c->n + 1, c->n ? c->head : NULL, (ms + MS0) << 16,
		"clerk", w->schema, ops, strlen(ops), w->keys[who], &err) != 0)
		fail_msg("entry %s#%d: %s", node_ids[who], c->n + 1, err.message);
	assert_int_equal(ssync_entry_line(e, &line, &len, NULL), 0);
	memcpy(c->head, ssync_entry_hash(e), SSYNC_HASH_BYTES);
	c->lines[c->n] = line;
	c->lens[c->n] = len;
	c->n++;
	ssync_entry_free(e);
}

static void add_tobj(world *w, int part, ssync_tobj *t)
{
	char path[160], *line = NULL;
	size_t len = 0;

	assert_int_equal(ssync_trust__tobj_sign(t, w->root, &line, &len, NULL), 0);
	ssync_trust__tobj_path(t, path, sizeof(path));
	w->tpaths[part][w->tn[part]] = strdup(path);
	w->tdatas[part][w->tn[part]] = line;
	w->tlens[part][w->tn[part]] = len;
	w->tn[part]++;
	ssync_trust__tobj_clear(t);
}

static ssync_store *fresh_store(world *w, const char *name)
{
	ssync_store *st = NULL;
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s.db", w->dir, name);
	assert_int_equal(ssync_store_open(&st, path, SSYNC_STORE_CREATE, NULL), 0);
	assert_int_equal(ssync_store_meta_set(st, "district", DISTRICT, NULL), 0);
	assert_int_equal(ssync_store_meta_set(st, "district_pubkey", w->root_hex, NULL), 0);
	return st;
}

static int setup(void **state)
{
	world *w = calloc(1, sizeof(*w));
	ssync_store *probe;
	ssync_tobj t;
	int i;

	assert_non_null(w);
	w->dir = th_tmpdir();
	assert_int_equal(ssync_keys_generate(&w->root, NULL), 0);
	ssync_hex_encode(w->root_hex, ssync_keys_public(w->root), SSYNC_PUBKEY_BYTES);
	for (i = 0; i < N_NODES; i++)
		assert_int_equal(ssync_keys_generate(&w->keys[i], NULL), 0);
	probe = fresh_store(w, "probe");
	w->schema = ssync_store_schema_version(probe);
	ssync_store_free(probe);

	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_GENESIS;
	snprintf(t.district, sizeof(t.district), DISTRICT);
	snprintf(t.name, sizeof(t.name), "order test");
	memcpy(t.key, ssync_keys_public(w->root), SSYNC_PUBKEY_BYTES);
	t.created = (int64_t)MS0;
	add_tobj(w, 0, &t);
	for (i = 0; i < N_NODES; i++) {
		memset(&t, 0, sizeof(t));
		t.kind = SSYNC_TOBJ_CERT;
		snprintf(t.district, sizeof(t.district), DISTRICT);
		snprintf(t.node, sizeof(t.node), "%s", node_ids[i]);
		snprintf(t.role, sizeof(t.role), "%s", i == N_HUB ? "hub" : "school");
		if (i != N_HUB)
			snprintf(t.school, sizeof(t.school), "%s", node_ids[i]);
		t.serial = i + 1;
		memcpy(t.key, ssync_keys_public(w->keys[i]), SSYNC_PUBKEY_BYTES);
		add_tobj(w, 0, &t);
	}
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_REVOKE;
	snprintf(t.district, sizeof(t.district), DISTRICT);
	snprintf(t.node, sizeof(t.node), "sch-c");
	t.serial = 9;
	t.after_seq = 1;
	add_tobj(w, 1, &t);

	/* The owner: creates two rows, edits, deletes one. */
	add_entry(w, N_A, 1000, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]],[\"name\",\"A\",[]]]}]");
	add_entry(w, N_A, 1100, "[{\"t\":\"teacher\",\"k\":\"sch-a-t2\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]],[\"name\",\"A2\",[]]]}]");
	add_entry(w, N_A, 3000, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"title\",\"高级\",[]]]}]");
	add_entry(w, N_A, 5000, "[{\"t\":\"teacher\",\"k\":\"sch-a-t2\",\"c\":[[\"$row\",0,[\"sch-a#2\"]]]}]");
	/* The hijacker: an insert-shaped op on a's row naming itself, no prevs,
	 * an older HLC; its own row; a claim on the hub's row; a later edit. */
	add_entry(w, N_B, 500, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-b\",[]],[\"name\",\"hijacked\",[]]]}]");
	add_entry(w, N_B, 600, "[{\"t\":\"teacher\",\"k\":\"sch-b-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-b\",[]],[\"name\",\"B\",[]]]}]");
	add_entry(w, N_B, 2000, "[{\"t\":\"teacher\",\"k\":\"hub-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-b\",[]],[\"name\",\"claimed\",[]]]}]");
	add_entry(w, N_B, 7000, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"name\",\"defaced\",[\"sch-a#1\"]]]}]");
	add_entry(w, N_B, 7100, "[{\"t\":\"teacher\",\"k\":\"sch-b-t1\",\"c\":[[\"$row\",0,[\"sch-b#2\"]]]}]");
	/* The hub: its own row with no owner, an edit of a's row concurrent with
	 * a's own edit (a conflict), an edit of a row it has not seen created. */
	add_entry(w, N_HUB, 800, "[{\"t\":\"teacher\",\"k\":\"hub-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",null,[]],[\"name\",\"H\",[]]]}]");
	add_entry(w, N_HUB, 4000, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"title\",\"中级\",[]]]}]");
	add_entry(w, N_HUB, 4100, "[{\"t\":\"teacher\",\"k\":\"sch-c-t1\",\"c\":[[\"name\",\"C fixed\",[\"sch-c#1\"]]]}]");
	add_entry(w, N_HUB, 4200, "[{\"t\":\"zone\",\"k\":\"z1\",\"c\":[[\"$row\",1,[]],[\"name\",\"崇西\",[]]]}]");
	/* Revoked after seq 1: its first entry stands, the rest is refused. */
	add_entry(w, N_C, 900, "[{\"t\":\"teacher\",\"k\":\"sch-c-t1\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-c\",[]],[\"name\",\"C\",[]]]}]");
	add_entry(w, N_C, 950, "[{\"t\":\"teacher\",\"k\":\"sch-c-t2\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-c\",[]],[\"name\",\"stolen\",[]]]}]");
	add_entry(w, N_C, 6000, "[{\"t\":\"teacher\",\"k\":\"sch-c-t1\",\"c\":[[\"name\",\"C gone\",[\"hub#3\"]]]}]");
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	world *w = *state;
	int i, j;

	for (i = 0; i < N_NODES; i++) {
		for (j = 0; j < w->ch[i].n; j++)
			free(w->ch[i].lines[j]);
		ssync_keys_free(w->keys[i]);
	}
	for (i = 0; i < 2; i++)
		for (j = 0; j < w->tn[i]; j++) {
			free(w->tpaths[i][j]);
			free(w->tdatas[i][j]);
		}
	ssync_keys_free(w->root);
	th_rmtree(w->dir);
	free(w->dir);
	free(w);
	return 0;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Load trust part @p part as sync does: then rebuild if it concerns held entries. */
static void load_trust(world *w, ssync_store *st, int part)
{
	char why[600];
	int changed = 0, bad = 0;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_trust__load_files(st, w->tn[part], w->tpaths[part], w->tdatas[part], w->tlens[part], &changed, &bad,
		why, sizeof(why), &err) != 0)
		fail_msg("load trust: %s", err.message);
	if (bad)
		fail_msg("trust refused: %s", why);
	if (changed && ssync_trust__need_rebuild(st)) {
		ssync_trust_rebuild_report rep;
		assert_int_equal(ssync_trust_rebuild(st, &rep, NULL), 0);
	}
}

/* Read @p k lines of node @p who's branch from *pos on; a stop (e.g. no
 * certificate yet) leaves *pos at the stopped line, to be read again. */
static void read_branch(world *w, ssync_store *st, int who, int *pos, int k)
{
	ssync_ingest *in = NULL;
	ssync_error err;
	int i, r = 0;

	ssync_error_clear(&err);
	assert_int_equal(ssync_ingest__begin(&in, st, DISTRICT, node_ids[who], "order", &err), 0);
	for (i = 0; i < k && *pos < w->ch[who].n; i++) {
		r = ssync_ingest__line(in, w->ch[who].lines[*pos], w->ch[who].lens[*pos], &err);
		if (r < 0)
			fail_msg("ingest %s: %s", node_ids[who], err.message);
		if (r == 1)
			break;
		(*pos)++;
	}
	assert_int_equal(ssync_ingest__end(in, 0, NULL, &err), 0);
}

/* What the replica decided and holds: entry states, conflicts, owners, state hash. */
static void outcome(ssync_store *st, char *buf, size_t len)
{
	sqlite3_stmt *q = NULL;
	char hash[65];
	size_t n = 0;
	static const char *sql[] = {
		"SELECT node || '#' || seq || '=' || state FROM ssync_entry ORDER BY node, seq",
		"SELECT tbl || '/' || pk || '.' || col FROM ssync_conflict ORDER BY tbl, pk, col",
		"SELECT id || ':' || ifnull(school_id, 'NULL') || ':' || ifnull(name, '') || ':' || ifnull(title, '') FROM teacher ORDER BY id",
	};
	size_t s;
	int rc;

	buf[0] = 0;
	for (s = 0; s < sizeof(sql) / sizeof(sql[0]); s++) {
		assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), sql[s], -1, &q, NULL), SQLITE_OK);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s ", (const char *)sqlite3_column_text(q, 0));
		assert_int_equal(rc, SQLITE_DONE);
		sqlite3_finalize(q);
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "| ");
	}
	assert_int_equal(ssync_store_state_hash(st, hash, NULL), 0);
	n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s", hash);
	assert_true(n < len);
}

static void one_order(world *w, uint64_t seed, int trial, char *out, size_t len)
{
	char name[32];
	ssync_store *st;
	int pos[N_NODES] = { 0 }, trust = 0, i, steps = 0;
	uint64_t s = seed * 2654435761u + 1;

	snprintf(name, sizeof(name), "r%d", trial);
	st = fresh_store(w, name);
	for (;;) {
		int choices[N_NODES + 1], nc = 0, pick;
		for (i = 0; i < N_NODES; i++)
			if (pos[i] < w->ch[i].n)
				choices[nc++] = i;
		if (trust < 2)
			choices[nc++] = -1;
		if (nc == 0)
			break;
		if (++steps > 1000)
			fail_msg("order %d: branches still stopped after %d reads", trial, steps);
		pick = choices[rnd(&s) % (uint64_t)nc];
		if (pick < 0)
			load_trust(w, st, trust++);
		else
			read_branch(w, st, pick, &pos[pick], 1 + (int)(rnd(&s) % (uint64_t)w->ch[pick].n));
	}
	outcome(st, out, len);
	{
		/* the same as a replay of the log from scratch */
		ssync_trust_rebuild_report rep;
		char *again = malloc(len);
		assert_non_null(again);
		assert_int_equal(ssync_trust_rebuild(st, &rep, NULL), 0);
		outcome(st, again, len);
		if (strcmp(out, again) != 0)
			fail_msg("order %d differs from its own rebuild:\n  %s\n  %s", trial, out, again);
		free(again);
	}
	ssync_store_free(st);
}

static void test_policy_order__same_set_same_decisions(void **state)
{
	world *w = *state;
	const char *e_seed = getenv("SSYNC_ORDER_SEED"), *e_trials = getenv("SSYNC_ORDER_TRIALS");
	uint64_t seed = e_seed ? strtoull(e_seed, NULL, 10) : 13;
	int trials = e_trials ? atoi(e_trials) : 20, t;
	char first[4096], cur[4096];

	for (t = 0; t < trials; t++) {
		one_order(w, seed + (uint64_t)t, t, t ? cur : first, sizeof(first));
		if (t && strcmp(first, cur) != 0)
			fail_msg("seed %llu: order %d decided differently from order 0:\n  %s\n  %s",
				(unsigned long long)(seed + (uint64_t)t), t, first, cur);
	}
	/* And what they agree on is the rule, not an accident. */
	assert_non_null(strstr(first, "sch-a#1=1 "));
	assert_non_null(strstr(first, "sch-b#1=3 "));  /* hijack */
	assert_non_null(strstr(first, "sch-b#2=1 "));
	assert_non_null(strstr(first, "sch-b#3=3 "));  /* claim on the hub row */
	assert_non_null(strstr(first, "sch-b#4=3 "));
	assert_non_null(strstr(first, "hub#2=1 "));
	assert_non_null(strstr(first, "hub#3=1 "));
	assert_non_null(strstr(first, "sch-c#1=1 "));
	assert_non_null(strstr(first, "sch-c#2=3 "));  /* revoked */
	assert_non_null(strstr(first, "sch-c#3=3 "));
	assert_non_null(strstr(first, "teacher/sch-a-t1.title "));
	assert_non_null(strstr(first, "hub-t1:NULL:H:"));
	assert_non_null(strstr(first, "sch-a-t1:sch-a:A:"));
	assert_non_null(strstr(first, "sch-c-t1:sch-c:C fixed:"));
	assert_null(strstr(first, "sch-a-t2:"));
	assert_null(strstr(first, "sch-b-t1:"));
	assert_null(strstr(first, "sch-c-t2:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy_order__same_set_same_decisions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
