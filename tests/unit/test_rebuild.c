/* Rebuilding the replica from the log alone (src/sync/rebuild.c) gives what
 * applying entries as they arrived gave: the same state hash and the same
 * conflicts, on every node of a small world that wrote concurrently and
 * exchanged entries in different orders; and it repairs a damaged replica. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/keys.h"
#include "schoolsync/review.h"
#include "schoolsync/trust.h"

#define N 3

typedef struct rfx {
	char *dir;
	char *homes[N];
	ssync_node *nodes[N];
} rfx;

static ssync_store *S(rfx *f, int i) { return ssync_node_store(f->nodes[i]); }

/* Every entry of @p src that node @p from holds, fed to node @p to. */
static void deliver(rfx *f, int from, int to, int src)
{
	const char *id = ssync_node_id(f->nodes[src]);
	ssync_ingest *in = NULL;
	ssync_error err;
	int64_t seq, head = 0;

	ssync_error_clear(&err);
	assert_int_equal(ssync_log__head(S(f, from), id, &head, NULL, NULL, &err), 0);
	assert_int_equal(ssync_ingest__begin(&in, S(f, to), "testdistrict", id, "test", &err), 0);
	for (seq = 1; seq <= head; seq++) {
		ssync_entry *e = NULL;
		char *line = NULL;
		size_t len = 0;
		assert_int_equal(ssync_log__get(S(f, from), id, seq, &e, NULL, &err), 0);
		assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
		if (ssync_ingest__line(in, line, len, &err) != 0)
			fail_msg("deliver %s#%lld: %s / %s", id, (long long)seq, err.message, ssync_ingest__stop_reason(in));
		free(line);
		ssync_entry_free(e);
	}
	assert_int_equal(ssync_ingest__end(in, 0, NULL, &err), 0);
}

static void sql(rfx *f, int i, const char *s) { th_sql(f->nodes[i], s); }

static int setup(void **state)
{
	rfx *f = calloc(1, sizeof(*f));
	int i, j;

	assert_non_null(f);
	f->dir = th_tmpdir();
	for (i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		f->homes[i] = th_node_home(f->dir, id);
		f->nodes[i] = th_open(f->homes[i]);
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++) {
			unsigned char pk[32];
			if (i == j)
				continue;
			assert_int_equal(ssync_hex_decode(pk, 32, ssync_node_pubkey_hex(f->nodes[j])), 0);
			assert_int_equal(ssync_log__peer_add(S(f, i), ssync_node_id(f->nodes[j]), pk, "school", NULL, "test", NULL), 0);
		}

	/* Concurrent inserts of the same keys, then a round of exchange, then
	 * updates, deletes and a revival on what each had seen. */
	sql(f, 0, "INSERT INTO teacher(id, school_id, name, title, birth_year) VALUES ('t1','x','甲','中级',1970), ('t2','x','乙','中级',1971)");
	sql(f, 1, "INSERT INTO teacher(id, school_id, name, title, birth_year) VALUES ('t1','x','丙','高级',1972), ('t3','x','丁',NULL,1973)");
	sql(f, 2, "INSERT INTO teacher(id, school_id, name) VALUES ('t2','x','戊'), ('t4','x','己')");
	deliver(f, 0, 1, 0);
	deliver(f, 1, 2, 1);
	deliver(f, 2, 0, 2);
	sql(f, 0, "UPDATE teacher SET title='高级', birth_year=1980 WHERE id IN ('t1','t4')");
	sql(f, 1, "DELETE FROM teacher WHERE id='t2'");
	sql(f, 1, "UPDATE teacher SET name='丙2' WHERE id='t1'");
	sql(f, 2, "UPDATE teacher SET subject='数学' WHERE id='t2'");
	sql(f, 2, "DELETE FROM teacher WHERE id='t3'");
	sql(f, 2, "INSERT INTO teacher(id, school_id, name) VALUES ('t3','x','revived')");
	/* Everyone gets everything, in different orders. */
	deliver(f, 0, 1, 0);
	deliver(f, 0, 1, 2);
	deliver(f, 2, 1, 2);
	deliver(f, 1, 0, 1);
	deliver(f, 1, 0, 2);
	deliver(f, 1, 2, 0);
	deliver(f, 1, 2, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	rfx *f = *state;
	int i;

	for (i = 0; i < N; i++) {
		ssync_node_free(f->nodes[i]);
		free(f->homes[i]);
	}
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

typedef struct cbuf { char s[8192]; size_t n; int count; } cbuf;

static int collect(const ssync_conflict *c, void *p)
{
	cbuf *b = p;
	int i;

	b->n += (size_t)snprintf(b->s + b->n, sizeof(b->s) - b->n, "%s/%s/%s:", c->table, c->pk, c->column);
	for (i = 0; i < c->nleaves; i++)
		b->n += (size_t)snprintf(b->s + b->n, sizeof(b->s) - b->n, " %s#%lld=%s%s", c->leaves[i].node,
			(long long)c->leaves[i].seq, c->leaves[i].value_json, c->leaves[i].winner ? "*" : "");
	b->n += (size_t)snprintf(b->s + b->n, sizeof(b->s) - b->n, "\n");
	assert_true(b->n < sizeof(b->s) - 1);
	b->count++;
	return 0;
}

static void snapshot(ssync_store *st, char hash[65], cbuf *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(ssync_store_state_hash(st, hash, NULL), 0);
	assert_int_equal(ssync_review_conflicts(st, collect, c, NULL), 0);
}

static long long count(ssync_store *st, const char *q)
{
	sqlite3_stmt *s = NULL;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void rebuild(ssync_store *st, ssync_trust_rebuild_report *rep)
{
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_trust_rebuild(st, rep, &err) != 0)
		fail_msg("rebuild: %s", err.message);
}

static void test_rebuild__same_as_incremental(void **state)
{
	rfx *f = *state;
	char h0[65], h[65], hr[65];
	cbuf c0, c, cr;
	int i;

	snapshot(S(f, 0), h0, &c0);
	/* Vacuity guard: the world did collide, and the nodes converged. */
	assert_true(c0.count > 0);
	assert_true(count(S(f, 0), "SELECT count(*) FROM teacher") >= 3);
	for (i = 0; i < N; i++) {
		ssync_trust_rebuild_report rep;
		long long entries = count(S(f, i), "SELECT count(*) FROM ssync_entry");

		snapshot(S(f, i), h, &c);
		assert_string_equal(h, h0);
		assert_string_equal(c.s, c0.s);
		rebuild(S(f, i), &rep);
		/* Every entry replayed and applied (no district: no trust to refuse). */
		assert_int_equal(rep.entries, entries);
		assert_int_equal(rep.applied, entries);
		assert_int_equal(rep.held + rep.refused, 0);
		assert_int_equal(count(S(f, i), "SELECT count(*) FROM ssync_entry WHERE state<>1"), 0);
		snapshot(S(f, i), hr, &cr);
		if (strcmp(hr, h) != 0)
			fail_msg("s%d: rebuilt state %s, incremental %s", i, hr, h);
		assert_string_equal(cr.s, c.s);
		/* And again: rebuilding is idempotent. */
		rebuild(S(f, i), &rep);
		snapshot(S(f, i), hr, &cr);
		assert_string_equal(hr, h);
	}
}

static void test_rebuild__repairs_damage(void **state)
{
	rfx *f = *state;
	ssync_store *st = S(f, 1);
	ssync_trust_rebuild_report rep;
	char h0[65], h[65];
	cbuf c0, c;

	snapshot(st, h0, &c0);
	/* Rows, merge state and conflict index all damaged behind the library's back. */
	assert_int_equal(sqlite3_exec(ssync_store__db(st), "UPDATE teacher SET name='damaged'; "
		"INSERT INTO teacher(id, name) VALUES ('ghost', 'x'); DELETE FROM ssync_conflict; "
		"DELETE FROM ssync_row WHERE pk='t1'", NULL, NULL, NULL), SQLITE_OK);
	snapshot(st, h, &c);
	assert_string_not_equal(h, h0);
	assert_int_equal(c.count, 0);
	rebuild(st, &rep);
	snapshot(st, h, &c);
	assert_string_equal(h, h0);
	assert_string_equal(c.s, c0.s);
	assert_int_equal(count(st, "SELECT count(*) FROM teacher WHERE id='ghost'"), 0);
}

static void test_rebuild__inside_callers_transaction(void **state)
{
	rfx *f = *state;
	ssync_store *st = S(f, 2);
	ssync_trust_rebuild_report rep;
	char h0[65], h[65];
	cbuf c;

	assert_int_equal(sqlite3_exec(ssync_store__db(st), "UPDATE teacher SET name='damaged'", NULL, NULL, NULL), SQLITE_OK);
	snapshot(st, h0, &c);
	/* Within a transaction the caller opened, the caller's rollback undoes it. */
	assert_int_equal(ssync_store_begin(st, NULL), 0);
	rebuild(st, &rep);
	assert_true(ssync_store__in_tx(st));
	ssync_store_rollback(st);
	snapshot(st, h, &c);
	assert_string_equal(h, h0);
	assert_int_equal(count(st, "SELECT count(*) FROM teacher WHERE name='damaged'"), count(st, "SELECT count(*) FROM teacher"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rebuild__same_as_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild__repairs_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild__inside_callers_transaction, setup, teardown),
	};

	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
