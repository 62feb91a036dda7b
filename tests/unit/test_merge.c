/* Per-cell merge (src/store/merge.c, docs/MERGE.md) on a bare store: versions
 * are applied straight through ssync_merge__apply_ops, each with its log row
 * (merge asks the log whether an overwritten version has arrived). The
 * property test builds a history of concurrent writes, applies it in many
 * shuffled orders and checks every order against an independent model of the
 * rules: leaves = versions nobody overwrote, winner = max (hlc, node, seq).
 * SSYNC_SEED=n runs one history; SSYNC_MERGE_ORDERS=n orders per history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers_core.h"
#include "merge_int.h"
#include "schoolsync/keys.h"
#include "schoolsync/review.h"

typedef struct mfx {
	char *dir;
	ssync_store *st;
	int opened; /* stores opened in dir, for fresh file names */
} mfx;

/* A copy of a migrated template replica, durability off: the property test
 * opens dozens, and what it proves does not depend on fsync (which on a
 * busy disk would be most of its run time). */
static ssync_store *open_fresh(mfx *f)
{
	char path[4200], tmpl[4200], buf[65536];
	ssync_store *st = NULL;
	ssync_error err;
	FILE *in, *out;
	size_t n;

	snprintf(tmpl, sizeof(tmpl), "%s/template.db", f->dir);
	ssync_error_clear(&err);
	if (f->opened == 0) {
		if (ssync_store_open(&st, tmpl, SSYNC_STORE_CREATE, &err) != 0)
			fail_msg("open %s: %s", tmpl, err.message);
		ssync_store_free(st); /* checkpoints: the file alone is the replica */
	}
	snprintf(path, sizeof(path), "%s/r%d.db", f->dir, f->opened++);
	assert_non_null(in = fopen(tmpl, "rb"));
	assert_non_null(out = fopen(path, "wb"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(in), 0);
	assert_int_equal(fclose(out), 0);
	if (ssync_store_open(&st, path, 0, &err) != 0)
		fail_msg("open %s: %s", path, err.message);
	assert_int_equal(sqlite3_exec(ssync_store__db(st), "PRAGMA synchronous=OFF", NULL, NULL, NULL), SQLITE_OK);
	return st;
}

static int setup(void **state)
{
	mfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	f->st = open_fresh(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	mfx *f = *state;

	ssync_store_free(f->st);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Apply one version: its log row (state 1) and its ops, in one transaction,
 * as ingest does. @p ops is JSON text: [{"t":..,"k":..,"c":[[col,v,[prevs]]]}]. */
static void apply(ssync_store *st, uint64_t hlc, const char *node, int64_t seq, const char *ops)
{
	sqlite3_stmt *q = NULL;
	json_error_t jerr;
	json_t *j = json_loads(ops, 0, &jerr);
	ssync_error err;

	if (!j)
		fail_msg("bad test ops %s: %s", ops, jerr.text);
	ssync_error_clear(&err);
	assert_int_equal(ssync_store_begin(st, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "INSERT INTO ssync_entry(node, seq, hash, hlc, body, sig, state) "
		"VALUES (?, ?, zeroblob(32), ?, '', zeroblob(64), 1)", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)hlc);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	if (ssync_merge__apply_ops(st, j, hlc, node, seq, &err) != 0)
		fail_msg("apply %s#%lld: %s", node, (long long)seq, err.message);
	assert_int_equal(ssync_store_commit(st, &err), 0);
	json_decref(j);
}

/* The visible value of teacher(pk).col as text ("-" if the row is absent, "NULL"). */
static void cell(ssync_store *st, const char *pk, const char *col, char *out, size_t cap)
{
	sqlite3_stmt *q = NULL;
	char *sql = sqlite3_mprintf("SELECT \"%w\" FROM teacher WHERE id=?", col);
	int rc;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), sql, -1, &q, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		snprintf(out, cap, "%s", sqlite3_column_type(q, 0) == SQLITE_NULL ? "NULL" :
			(const char *)sqlite3_column_text(q, 0));
	else {
		assert_int_equal(rc, SQLITE_DONE);
		snprintf(out, cap, "-");
	}
	sqlite3_finalize(q);
}

static void assert_cell(ssync_store *st, const char *pk, const char *col, const char *want)
{
	char got[256];

	cell(st, pk, col, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("teacher %s.%s is '%s', expected '%s'", pk, col, got, want);
}

static long long count(ssync_store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* Sorted leaf ids of a cell, "a#1 b#2". */
static void leaves(ssync_store *st, const char *pk, const char *col, char *out, size_t cap)
{
	json_t *state = NULL, *ids;
	const char *v[64];
	size_t i, n, k = 0;

	assert_int_equal(ssync_merge__load(st, "teacher", pk, &state, NULL, NULL), 0);
	assert_non_null(ids = ssync_merge__leaf_ids(state, col));
	n = json_array_size(ids);
	assert_true(n < 64);
	for (i = 0; i < n; i++) {
		size_t j = i;
		v[i] = json_string_value(json_array_get(ids, i));
		while (j > 0 && strcmp(v[j - 1], v[j]) > 0) {
			const char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
			j--;
		}
	}
	out[0] = 0;
	for (i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", v[i]);
	json_decref(ids);
	json_decref(state);
}

static void assert_leaves(ssync_store *st, const char *pk, const char *col, const char *want)
{
	char got[1024];

	leaves(st, pk, col, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("leaves of %s.%s are '%s', expected '%s'", pk, col, got, want);
}

static void test_merge__concurrent_versions_conflict(void **state)
{
	mfx *f = *state;

	apply(f->st, 100, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],[\"name\",\"A\",[]]]}]");
	/* Two writers saw A and overwrote it, neither seeing the other. */
	apply(f->st, 200, "sch-a", 2, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"name\",\"A2\",[\"sch-a#1\"]]]}]");
	apply(f->st, 150, "sch-b", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"name\",\"B1\",[\"sch-a#1\"]]]}]");
	assert_leaves(f->st, "t1", "name", "sch-a#2 sch-b#1");
	assert_cell(f->st, "t1", "name", "A2"); /* greater hlc */
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_conflict WHERE tbl='teacher' AND pk='t1' AND col='name'"), 1);
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_conflict"), 1);

	/* A write that saw both leaves resolves the conflict. */
	apply(f->st, 300, "sch-b", 2, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"name\",\"B2\",[\"sch-a#2\",\"sch-b#1\"]]]}]");
	assert_leaves(f->st, "t1", "name", "sch-b#2");
	assert_cell(f->st, "t1", "name", "B2");
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_conflict"), 0);
}

static void test_merge__lww_tie_break(void **state)
{
	mfx *f = *state;

	/* Equal hlc: the greater node id wins, whatever arrives first. */
	apply(f->st, 500, "sch-b", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],[\"title\",\"b\",[]]]}]");
	apply(f->st, 500, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],[\"title\",\"a\",[]]]}]");
	assert_cell(f->st, "t1", "title", "b");
	apply(f->st, 500, "sch-c", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"title\",\"c\",[]]]}]");
	assert_cell(f->st, "t1", "title", "c");
	assert_leaves(f->st, "t1", "title", "sch-a#1 sch-b#1 sch-c#1");
	/* Equal hlc and node: the greater seq. */
	apply(f->st, 700, "sch-a", 3, "[{\"t\":\"teacher\",\"k\":\"t2\",\"c\":[[\"$row\",1,[]],[\"title\",\"a3\",[]]]}]");
	apply(f->st, 700, "sch-a", 2, "[{\"t\":\"teacher\",\"k\":\"t2\",\"c\":[[\"$row\",1,[]],[\"title\",\"a2\",[]]]}]");
	assert_cell(f->st, "t2", "title", "a3");
	/* hlc first: a smaller node id with a greater hlc wins. */
	apply(f->st, 501, "sch-0", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"title\",\"zero\",[]]]}]");
	assert_cell(f->st, "t1", "title", "zero");
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_conflict WHERE col='title'"), 2);
}

static void test_merge__overwrite_before_overwritten(void **state)
{
	mfx *f = *state;
	json_t *st = NULL;

	/* sch-b#1 overwrote sch-a#1, and arrives first: sch-a#1 is remembered. */
	apply(f->st, 200, "sch-b", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[\"sch-a#1\"]],[\"name\",\"B\",[\"sch-a#1\"]]]}]");
	assert_int_equal(ssync_merge__load(f->st, "teacher", "t1", &st, NULL, NULL), 0);
	assert_non_null(json_object_get(json_object_get(st, "name"), "x"));
	json_decref(st);
	/* When it arrives it is no leaf, though its hlc is greater. */
	apply(f->st, 900, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],[\"name\",\"A\",[]]]}]");
	assert_leaves(f->st, "t1", "name", "sch-b#1");
	assert_leaves(f->st, "t1", "$row", "sch-b#1");
	assert_cell(f->st, "t1", "name", "B");
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_conflict"), 0);
	assert_int_equal(ssync_merge__load(f->st, "teacher", "t1", &st, NULL, NULL), 0);
	assert_null(json_object_get(json_object_get(st, "name"), "x"));
	json_decref(st);
}

static void test_merge__delete_concurrent_with_update(void **state)
{
	mfx *f = *state;
	json_t *st = NULL;

	apply(f->st, 100, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],[\"name\",\"A\",[]]]}]");
	apply(f->st, 300, "sch-b", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"name\",\"B\",[\"sch-a#1\"]]]}]");
	apply(f->st, 200, "sch-a", 2, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",0,[\"sch-a#1\"]]]}]");
	/* Only the delete wrote $row: the row is gone although the update is later. */
	assert_cell(f->st, "t1", "name", "-");
	assert_int_equal(ssync_merge__load(f->st, "teacher", "t1", &st, NULL, NULL), 0);
	assert_string_equal(json_string_value(json_array_get(ssync_merge__winner(st, "name"), 3)), "B");
	json_decref(st);
	/* Revived: the kept update shows again. */
	apply(f->st, 400, "sch-c", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[\"sch-a#2\"]]]}]");
	assert_cell(f->st, "t1", "name", "B");
}

static void test_merge__plain_insert_then_update(void **state)
{
	mfx *f = *state;
	json_t *st = NULL;
	int found = 0;

	/* A plain INSERT is stored compact; the next write expands it from the row. */
	apply(f->st, 100, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"$row\",1,[]],"
		"[\"school_id\",\"s\",[]],[\"staff_no\",null,[]],[\"name\",\"A\",[]],[\"subject\",\"数学\",[]],"
		"[\"title\",\"中级\",[]],[\"tier\",null,[]],[\"birth_year\",1970,[]],[\"joined_year\",null,[]],"
		"[\"gender\",null,[]],[\"committed\",0,[]],[\"title_year\",null,[]],[\"tier_year\",null,[]]]}]");
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_row WHERE state LIKE '=%'"), 1);
	apply(f->st, 150, "sch-b", 1, "[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"birth_year\",1971,[]]]}]");
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_row WHERE state LIKE '=%'"), 0);
	assert_int_equal(ssync_merge__load(f->st, "teacher", "t1", &st, &found, NULL), 0);
	assert_true(found);
	json_decref(st);
	assert_leaves(f->st, "t1", "birth_year", "sch-a#1 sch-b#1");
	assert_leaves(f->st, "t1", "subject", "sch-a#1");
	assert_cell(f->st, "t1", "birth_year", "1971");
	assert_cell(f->st, "t1", "subject", "数学");
	assert_cell(f->st, "t1", "name", "A");
}

static void test_merge__unknown_column_refused(void **state)
{
	mfx *f = *state;
	json_t *ops = json_loads("[{\"t\":\"teacher\",\"k\":\"t1\",\"c\":[[\"nope\",1,[]]]}]", 0, NULL);
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_merge__apply_ops(f->st, ops, 1, "sch-a", 1, &err), SSYNC_ESCHEMA);
	assert_int_equal(count(f->st, "SELECT count(*) FROM ssync_row"), 0);
	json_decref(ops);
}

/* ---- property: any order, same result, and the result the rules say ---- */

#define NVER 40
#define NKEYS 3
#define MAXC 12

static const char *const all_cols[] = { "school_id", "staff_no", "name", "subject", "title", "tier",
	"birth_year", "joined_year", "gender", "committed" };
#define NCOLS_ALL 10

typedef struct mcell {
	char col[16];
	char value[32]; /* JSON */
	int nprev;
	int prev[NVER];
} mcell;

typedef struct mver {
	uint64_t hlc;
	char node[8];
	int64_t seq;
	int key;
	int ncells;
	mcell cells[MAXC];
	char *ops;
} mver;

static unsigned int rng;

static unsigned int rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) & 0xffffff;
}

/* Versions earlier in @p h that wrote (key, col). */
static int writers_of(const mver *h, int upto, int key, const char *col, int *out)
{
	int i, j, n = 0;

	for (i = 0; i < upto; i++)
		if (h[i].key == key)
			for (j = 0; j < h[i].ncells; j++)
				if (strcmp(h[i].cells[j].col, col) == 0)
					out[n++] = i;
	return n;
}

static void add_cell(mver *h, int i, const char *col, const char *value)
{
	mver *v = &h[i];
	mcell *c = &v->cells[v->ncells++];
	int w[NVER], n, k;

	snprintf(c->col, sizeof(c->col), "%s", col);
	snprintf(c->value, sizeof(c->value), "%s", value);
	/* The writer saw a random subset of the earlier versions of this cell
	 * (what had reached it); it overwrote them. */
	n = writers_of(h, i, v->key, col, w);
	for (k = 0; k < n; k++)
		if (rnd() % 3 != 0) {
			c->prev[c->nprev++] = w[k];
			if (h[w[k]].hlc >= v->hlc)
				v->hlc = h[w[k]].hlc + 1 + rnd() % 2;
		}
}

static void make_history(mver *h, unsigned int seed)
{
	static const char *const nodes[] = { "sch-a", "sch-b", "sch-c" };
	int64_t seqs[3] = { 0, 0, 0 };
	int i, k;

	rng = seed;
	memset(h, 0, sizeof(mver) * NVER);
	for (i = 0; i < NVER; i++) {
		mver *v = &h[i];
		int who = (int)(rnd() % 3), r = (int)(rnd() % 100);
		char val[32];
		size_t n;
		json_t *cells, *ops;

		snprintf(v->node, sizeof(v->node), "%s", nodes[who]);
		v->seq = ++seqs[who];
		v->key = (int)(rnd() % NKEYS);
		v->hlc = 1000 + rnd() % 6; /* small range: equal hlcs happen */
		if (r < 25) { /* a whole-row INSERT (the compact path when first) */
			add_cell(h, i, "$row", "1");
			for (k = 0; k < NCOLS_ALL; k++) {
				if (k == 6)
					snprintf(val, sizeof(val), "%d", 1900 + i);
				else
					snprintf(val, sizeof(val), "\"%s-%d\"", all_cols[k], i);
				add_cell(h, i, all_cols[k], val);
			}
		} else if (r < 35) {
			add_cell(h, i, "$row", rnd() % 2 ? "0" : "1");
		} else {
			snprintf(val, sizeof(val), "\"n%d\"", i);
			add_cell(h, i, "name", val);
			if (rnd() % 2) {
				snprintf(val, sizeof(val), "%d", 1950 + i);
				add_cell(h, i, "birth_year", val);
			}
			if (rnd() % 4 == 0)
				add_cell(h, i, "title", "null");
		}
		/* The ops text as an entry carries it. */
		assert_non_null(cells = json_array());
		for (k = 0; k < v->ncells; k++) {
			json_t *prevs = json_array(), *c;
			int p;
			for (p = 0; p < v->cells[k].nprev; p++) {
				char id[32];
				snprintf(id, sizeof(id), "%s#%lld", h[v->cells[k].prev[p]].node, (long long)h[v->cells[k].prev[p]].seq);
				json_array_append_new(prevs, json_string(id));
			}
			assert_non_null(c = json_pack("[soo]", v->cells[k].col,
				json_loads(v->cells[k].value, JSON_DECODE_ANY, NULL), prevs));
			json_array_append_new(cells, c);
		}
		snprintf(val, sizeof(val), "k%d", v->key);
		assert_non_null(ops = json_pack("[{sssss o}]", "t", "teacher", "k", val, "c", cells));
		v->ops = json_dumps(ops, JSON_COMPACT);
		json_decref(ops);
		n = strlen(v->ops);
		assert_true(n > 0);
	}
}

static int ver_cmp(const mver *a, const mver *b)
{
	int c;

	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	if ((c = strcmp(a->node, b->node)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* What the rules say for (key, col): leaf ids (sorted text) and the winner's value. */
static int model(const mver *h, int key, const char *col, char *ids, size_t cap, const char **winner)
{
	int w[NVER], n = writers_of(h, NVER, key, col, w), i, j, k, nleaves = 0;
	const char *sorted[NVER];
	char buf[NVER][32];
	const mver *best = NULL;
	size_t off = 0;

	*winner = NULL;
	for (i = 0; i < n; i++) {
		int overwritten = 0;
		for (j = 0; j < NVER && !overwritten; j++) {
			if (h[j].key != key)
				continue;
			for (k = 0; k < h[j].ncells && !overwritten; k++) {
				int p;
				if (strcmp(h[j].cells[k].col, col) != 0)
					continue;
				for (p = 0; p < h[j].cells[k].nprev; p++)
					if (h[j].cells[k].prev[p] == w[i])
						overwritten = 1;
			}
		}
		if (overwritten)
			continue;
		snprintf(buf[nleaves], sizeof(buf[0]), "%s#%lld", h[w[i]].node, (long long)h[w[i]].seq);
		sorted[nleaves] = buf[nleaves];
		for (k = nleaves; k > 0 && strcmp(sorted[k - 1], sorted[k]) > 0; k--) {
			const char *t = sorted[k];
			sorted[k] = sorted[k - 1];
			sorted[k - 1] = t;
		}
		nleaves++;
		if (!best || ver_cmp(&h[w[i]], best) > 0) {
			best = &h[w[i]];
			for (k = 0; k < best->ncells; k++)
				if (strcmp(best->cells[k].col, col) == 0)
					*winner = best->cells[k].value;
		}
	}
	ids[0] = 0;
	for (i = 0; i < nleaves; i++)
		off += (size_t)snprintf(ids + off, cap - off, "%s%s", i ? " " : "", sorted[i]);
	return nleaves;
}

/* Check a store that holds the whole history against the model. */
static void check_against_model(ssync_store *st, const mver *h, unsigned int seed, int order)
{
	int key, k;
	long long conflicts = 0;

	for (key = 0; key < NKEYS; key++) {
		char pk[8], want[1024], got[1024];
		const char *row_winner, *w;
		int alive;

		snprintf(pk, sizeof(pk), "k%d", key);
		model(h, key, "$row", want, sizeof(want), &row_winner);
		alive = row_winner && strcmp(row_winner, "1") == 0;
		for (k = -1; k < NCOLS_ALL; k++) {
			const char *col = k < 0 ? "$row" : all_cols[k];
			int n = model(h, key, col, want, sizeof(want), &w);
			leaves(st, pk, col, got, sizeof(got));
			if (strcmp(got, want) != 0)
				fail_msg("seed %u order %d: leaves of %s.%s are '%s', the rules say '%s'", seed, order, pk, col, got, want);
			conflicts += n > 1;
			if (k < 0)
				continue;
			cell(st, pk, col, got, sizeof(got));
			if (!alive)
				snprintf(want, sizeof(want), "-");
			else if (!w || strcmp(w, "null") == 0)
				snprintf(want, sizeof(want), "NULL");
			else
				snprintf(want, sizeof(want), "%.*s", (int)strlen(w) - (w[0] == '"' ? 2 : 0), w + (w[0] == '"'));
			if (strcmp(got, want) != 0)
				fail_msg("seed %u order %d: teacher %s.%s is '%s', the rules say '%s'", seed, order, pk, col, got, want);
		}
	}
	assert_int_equal(count(st, "SELECT count(*) FROM ssync_conflict"), conflicts);
	/* Every overwritten version arrived: nothing is waiting. */
	assert_int_equal(count(st, "SELECT count(*) FROM ssync_row WHERE state LIKE '%\"x\"%'"), 0);
}

/* As apply, with the entry's body in the log: large leaf values are read
 * back from there. */
static void apply_logged(ssync_store *st, uint64_t hlc, const char *node, int64_t seq, const char *ops)
{
	sqlite3_stmt *q = NULL;
	json_error_t jerr;
	json_t *j = json_loads(ops, 0, &jerr);
	char *body = malloc(strlen(ops) + 16);
	ssync_error err;

	assert_non_null(j);
	assert_non_null(body);
	sprintf(body, "{\"ops\":%s}", ops);
	ssync_error_clear(&err);
	assert_int_equal(ssync_store_begin(st, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "INSERT INTO ssync_entry(node, seq, hash, hlc, body, sig, state) "
		"VALUES (?, ?, zeroblob(32), ?, ?, zeroblob(64), 1)", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)hlc);
	sqlite3_bind_text(q, 4, body, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	if (ssync_merge__apply_ops(st, j, hlc, node, seq, &err) != 0)
		fail_msg("apply %s#%lld: %s", node, (long long)seq, err.message);
	assert_int_equal(ssync_store_commit(st, &err), 0);
	json_decref(j);
	free(body);
}

static int conflict_values(const ssync_conflict *c, void *p)
{
	int i, *n = p;

	for (i = 0; i < c->nleaves; i++) {
		assert_int_equal(strlen(c->leaves[i].value_json), 302); /* "…" of 300 */
		n[0]++;
		n[1] += c->leaves[i].winner;
	}
	return 0;
}

/* Many writers of one cell with large values: the row's merge state holds
 * their versions, not their values (linear apply cost); the winner and
 * every conflicting value still come out whole, in any order. */
static void test_merge__large_values_stay_in_their_entries(void **state)
{
	mfx *f = *state;
	ssync_store *other = open_fresh(f);
	char big[40][400], ops[40][600];
	char h1[65], h2[65];
	int i, n[2] = { 0, 0 };
	ssync_error err;

	apply_logged(f->st, 1000, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"$row\",1,[]],[\"name\",\"base\",[]]]}]");
	apply_logged(other, 1000, "sch-a", 1, "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"$row\",1,[]],[\"name\",\"base\",[]]]}]");
	for (i = 0; i < 40; i++) {
		memset(big[i], 'a' + i % 26, 300);
		big[i][300] = 0;
		big[i][0] = (char)('A' + i % 26);
		big[i][1] = (char)('0' + i / 26);
		snprintf(ops[i], sizeof(ops[i]), "[{\"t\":\"teacher\",\"k\":\"sch-a-t1\",\"c\":[[\"name\",\"%s\",[\"sch-a#1\"]]]}]", big[i]);
	}
	for (i = 0; i < 40; i++) {
		char node[16];
		snprintf(node, sizeof(node), "n%02d", i);
		apply_logged(f->st, 2000 + (uint64_t)i, node, 1, ops[i]);
	}
	for (i = 39; i >= 0; i--) {
		char node[16];
		snprintf(node, sizeof(node), "n%02d", i);
		apply_logged(other, 2000 + (uint64_t)i, node, 1, ops[i]);
	}
	/* the highest hlc wins, whole, in both orders */
	{
		char *sql = sqlite3_mprintf("SELECT count(*) FROM teacher WHERE id='sch-a-t1' AND name=%Q", big[39]);
		assert_int_equal(count(f->st, sql), 1);
		assert_int_equal(count(other, sql), 1);
		sqlite3_free(sql);
	}
	/* 40 versions of 300 bytes, but the state holds none of the values */
	assert_true(count(f->st, "SELECT length(state) FROM ssync_row WHERE pk='sch-a-t1'") < 40 * 60);
	assert_int_equal(ssync_store_state_hash(f->st, h1, NULL), 0);
	assert_int_equal(ssync_store_state_hash(other, h2, NULL), 0);
	assert_string_equal(h1, h2);
	ssync_error_clear(&err);
	assert_int_equal(ssync_review_conflicts(f->st, conflict_values, n, &err), 0);
	assert_int_equal(n[0], 40);
	assert_int_equal(n[1], 1);
	ssync_store_free(other);
}

static void test_merge__any_order_same_result(void **state)
{
	mfx *f = *state;
	const char *s = getenv("SSYNC_SEED"), *o = getenv("SSYNC_MERGE_ORDERS");
	int histories = s ? 1 : 6, orders = o ? atoi(o) : 8, hi, oi, i;
	unsigned int base = s ? (unsigned)strtoul(s, NULL, 10) : 20261206u;
	long long conflicts = 0;

	for (hi = 0; hi < histories; hi++) {
		mver h[NVER];
		char first[65] = "";
		int perm[NVER];

		make_history(h, base + (unsigned)hi);
		for (oi = 0; oi < orders; oi++) {
			ssync_store *st = open_fresh(f);
			char hash[65];
			/* Order 0: as written; then shuffled (Fisher-Yates). */
			for (i = 0; i < NVER; i++)
				perm[i] = i;
			for (i = NVER - 1; oi > 0 && i > 0; i--) {
				int j = (int)(rnd() % (unsigned)(i + 1)), t = perm[i];
				perm[i] = perm[j];
				perm[j] = t;
			}
			for (i = 0; i < NVER; i++)
				apply(st, h[perm[i]].hlc, h[perm[i]].node, h[perm[i]].seq, h[perm[i]].ops);
			check_against_model(st, h, base + (unsigned)hi, oi);
			assert_int_equal(ssync_store_state_hash(st, hash, NULL), 0);
			if (oi == 0) {
				memcpy(first, hash, sizeof(first));
				conflicts += count(st, "SELECT count(*) FROM ssync_conflict");
			} else if (strcmp(first, hash) != 0) {
				fail_msg("seed %u: order %d gives state %s, order 0 gave %s", base + (unsigned)hi, oi, hash, first);
			}
			ssync_store_free(st);
		}
		for (i = 0; i < NVER; i++)
			free(h[i].ops);
	}
	/* Vacuity guard: the histories did collide. */
	assert_true(conflicts > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge__concurrent_versions_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__lww_tie_break, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__overwrite_before_overwritten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__delete_concurrent_with_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__plain_insert_then_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__unknown_column_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__large_values_stay_in_their_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge__any_order_same_result, setup, teardown),
	};

	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
