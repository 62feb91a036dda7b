/* The entry log as the replica holds it (src/store/log.c): insert, get and
 * head by (node, seq), node keys, and the walk that re-checks each entry's
 * signature and chain link. Entries are real: built and signed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "log_int.h"
#include "schoolsync/keys.h"
#include "schoolsync/log.h"

#define MAXE 8

typedef struct lfx {
	char *dir;
	ssync_store *st;
	ssync_keypair *kp, *other;
	ssync_entry *e[MAXE + 1]; /* e[seq] of node "sch-a", chained */
} lfx;

static ssync_entry *make(const char *node, int64_t seq, const unsigned char *prev, uint64_t hlc,
	const char *pk, const ssync_keypair *kp)
{
	ssync_entry *e = NULL;
	json_t *ops = json_pack("[{sssss[[si[]]]}]", "t", "teacher", "k", pk, "c", "$row", 1);
	ssync_error err;

	assert_non_null(ops);
	ssync_error_clear(&err);
	/* small hlc values in the tests, offset into the valid range (FORMAT.md §1) */
	if (ssync_entry__create(&e, "testdistrict", node, seq, prev, (UINT64_C(1764081600000) << 16) + hlc,
		"tester", 1, ops, kp, &err) != 0)
		fail_msg("create %s#%lld: %s", node, (long long)seq, err.message);
	return e;
}

static int setup(void **state)
{
	lfx *f = calloc(1, sizeof(*f));
	char path[4200];
	int64_t s;

	assert_non_null(f);
	f->dir = th_tmpdir();
	snprintf(path, sizeof(path), "%s/replica.db", f->dir);
	assert_int_equal(ssync_store_open(&f->st, path, SSYNC_STORE_CREATE, NULL), 0);
	assert_int_equal(ssync_keys_generate(&f->kp, NULL), 0);
	assert_int_equal(ssync_keys_generate(&f->other, NULL), 0);
	for (s = 1; s <= MAXE; s++) {
		char pk[16];
		snprintf(pk, sizeof(pk), "t%lld", (long long)s);
		f->e[s] = make("sch-a", s, s > 1 ? f->e[s - 1]->hash : NULL, 1000 + (uint64_t)s, pk, f->kp);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	lfx *f = *state;
	int i;

	for (i = 1; i <= MAXE; i++)
		ssync_entry_free(f->e[i]);
	ssync_keys_free(f->kp);
	ssync_keys_free(f->other);
	ssync_store_free(f->st);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void insert(lfx *f, const ssync_entry *e, int st)
{
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_log__insert(f->st, e, st, &err) != 0)
		fail_msg("insert %s#%lld: %s", e->node, (long long)e->seq, err.message);
}

static void test_log__insert_get_head(void **state)
{
	lfx *f = *state;
	ssync_entry *got = NULL;
	unsigned char hash[SSYNC_HASH_BYTES];
	uint64_t hlc = 7;
	int64_t seq = -1;
	int st = 0;
	size_t l1, l2;

	/* Empty: head 0, hash zeroed. */
	memset(hash, 0xee, sizeof(hash));
	assert_int_equal(ssync_log__head(f->st, "sch-a", &seq, hash, &hlc, NULL), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(hlc, 0);
	{
		unsigned char zero[SSYNC_HASH_BYTES] = { 0 };
		assert_memory_equal(hash, zero, sizeof(hash));
	}
	assert_int_equal(ssync_log__get(f->st, "sch-a", 1, &got, NULL, NULL), SSYNC_ENOTFOUND);
	assert_null(got);

	insert(f, f->e[1], 1);
	insert(f, f->e[2], 2);
	insert(f, f->e[3], 1);
	assert_int_equal(ssync_log__head(f->st, "sch-a", &seq, hash, &hlc, NULL), 0);
	assert_int_equal(seq, 3);
	assert_memory_equal(hash, f->e[3]->hash, SSYNC_HASH_BYTES);
	assert_int_equal(hlc, f->e[3]->hlc);
	assert_int_equal(ssync_log_head_seq(f->st, "sch-a", &seq, NULL), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(ssync_log_head_seq(f->st, "sch-b", &seq, NULL), 0);
	assert_int_equal(seq, 0);

	/* What comes back is the exact signed entry, with its state. */
	assert_int_equal(ssync_log__get(f->st, "sch-a", 2, &got, &st, NULL), 0);
	assert_int_equal(st, 2);
	assert_int_equal(got->seq, 2);
	assert_string_equal(ssync_entry_body(got, &l1), ssync_entry_body(f->e[2], &l2));
	assert_int_equal(l1, l2);
	assert_memory_equal(got->sig, f->e[2]->sig, SSYNC_SIG_BYTES);
	assert_memory_equal(got->hash, f->e[2]->hash, SSYNC_HASH_BYTES);
	assert_int_equal(ssync_entry_verify(got, ssync_keys_public(f->kp), NULL), 0);
	ssync_entry_free(got);
}

static void test_log__duplicate_refused(void **state)
{
	lfx *f = *state;
	ssync_entry *fork;
	ssync_error err;
	int64_t seq;

	insert(f, f->e[1], 1);
	ssync_error_clear(&err);
	assert_int_equal(ssync_log__insert(f->st, f->e[1], 1, &err), SSYNC_EEXISTS);
	assert_non_null(strstr(err.message, "sch-a#1"));
	/* A different entry for a seq held is refused too: the first one stays. */
	fork = make("sch-a", 1, NULL, 5000, "other", f->kp);
	assert_int_equal(ssync_log__insert(f->st, fork, 1, NULL), SSYNC_EEXISTS);
	{
		ssync_entry *got = NULL;
		assert_int_equal(ssync_log__get(f->st, "sch-a", 1, &got, NULL, NULL), 0);
		assert_memory_equal(got->hash, f->e[1]->hash, SSYNC_HASH_BYTES);
		ssync_entry_free(got);
	}
	ssync_entry_free(fork);
	assert_int_equal(ssync_log_head_seq(f->st, "sch-a", &seq, NULL), 0);
	assert_int_equal(seq, 1);
}

static void test_log__peer_keys(void **state)
{
	lfx *f = *state;
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_log__peer_key(f->st, "sch-a", pk, &err), SSYNC_ECERT);
	assert_non_null(strstr(err.message, "sch-a"));
	assert_int_equal(ssync_log__peer_add(f->st, "sch-a", ssync_keys_public(f->other), "school", "S1", "test", NULL), 0);
	assert_int_equal(ssync_log__peer_key(f->st, "sch-a", pk, NULL), 0);
	assert_memory_equal(pk, ssync_keys_public(f->other), SSYNC_PUBKEY_BYTES);
	/* Replaced, not added beside. */
	assert_int_equal(ssync_log__peer_add(f->st, "sch-a", ssync_keys_public(f->kp), "school", NULL, "test", NULL), 0);
	assert_int_equal(ssync_log__peer_key(f->st, "sch-a", pk, NULL), 0);
	assert_memory_equal(pk, ssync_keys_public(f->kp), SSYNC_PUBKEY_BYTES);
}

typedef struct walk {
	int n, sig_ok, chain_ok, stop_at, unreadable;
	int64_t seqs[32];
	int states[32];
	char nodes[32][16];
} walk;

static int walk_cb(const ssync_log_item *it, void *p)
{
	walk *w = p;

	/* an entry that does not parse comes with its node, seq and reason */
	assert_true(it->entry ? it->problem == NULL : it->problem != NULL);
	assert_string_equal(it->node, it->entry ? it->entry->node : it->node);
	if (it->entry)
		assert_int_equal(it->seq, it->entry->seq);
	w->unreadable += !it->entry;
	snprintf(w->nodes[w->n], sizeof(w->nodes[0]), "%s", it->node);
	w->seqs[w->n] = it->seq;
	w->states[w->n] = it->state;
	w->sig_ok += it->sig_ok;
	w->chain_ok += it->chain_ok;
	w->n++;
	return w->stop_at && w->n == w->stop_at ? 42 : 0;
}

static void test_log__foreach_checks(void **state)
{
	lfx *f = *state;
	ssync_entry *b1, *b2;
	walk w;

	insert(f, f->e[1], 1);
	insert(f, f->e[2], 1);
	insert(f, f->e[3], 2);
	b1 = make("sch-b", 1, NULL, 10, "b", f->other);
	b2 = make("sch-b", 2, b1->hash, 11, "b", f->other);
	insert(f, b2, 1);
	insert(f, b1, 1);

	/* No keys known: nothing verifies; chains still do. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(ssync_log_foreach(f->st, NULL, walk_cb, &w, NULL), 0);
	assert_int_equal(w.n, 5);
	assert_int_equal(w.sig_ok, 0);
	assert_int_equal(w.chain_ok, 5);
	/* By node, then seq, whatever the insert order. */
	assert_string_equal(w.nodes[3], "sch-b");
	assert_int_equal(w.seqs[3], 1);
	assert_int_equal(w.seqs[4], 2);
	assert_int_equal(w.states[2], 2);

	/* Right key for sch-a, wrong one (sch-a's) for sch-b. */
	assert_int_equal(ssync_log__peer_add(f->st, "sch-a", ssync_keys_public(f->kp), "school", NULL, "test", NULL), 0);
	assert_int_equal(ssync_log__peer_add(f->st, "sch-b", ssync_keys_public(f->kp), "school", NULL, "test", NULL), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(ssync_log_foreach(f->st, NULL, walk_cb, &w, NULL), 0);
	assert_int_equal(w.sig_ok, 3);

	/* Only one node's entries. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(ssync_log_foreach(f->st, "sch-b", walk_cb, &w, NULL), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.sig_ok, 0);

	/* A callback's non-zero return stops the walk and is returned. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	assert_int_equal(ssync_log_foreach(f->st, NULL, walk_cb, &w, NULL), 42);
	assert_int_equal(w.n, 2);
	ssync_entry_free(b1);
	ssync_entry_free(b2);
}

static void test_log__foreach_broken_chain(void **state)
{
	lfx *f = *state;
	ssync_entry *bad;
	walk w;

	/* A gap (no seq 3), then a seq 5 whose prev is not seq 4's hash. */
	insert(f, f->e[1], 1);
	insert(f, f->e[2], 1);
	insert(f, f->e[4], 1);
	bad = make("sch-a", 5, f->e[2]->hash, 2000, "t5", f->kp);
	insert(f, bad, 1);
	memset(&w, 0, sizeof(w));
	assert_int_equal(ssync_log_foreach(f->st, "sch-a", walk_cb, &w, NULL), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.chain_ok, 2);
	ssync_entry_free(bad);
}

static void test_log__damaged_rows(void **state)
{
	lfx *f = *state;
	ssync_entry *got = NULL;
	ssync_error err;
	walk w;

	insert(f, f->e[1], 1);
	insert(f, f->e[2], 1);
	/* A short signature. */
	assert_int_equal(sqlite3_exec(ssync_store__db(f->st), "UPDATE ssync_entry SET sig=x'00' WHERE seq=1", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_log__get(f->st, "sch-a", 1, &got, NULL, &err), SSYNC_ECORRUPT);
	assert_null(got);
	assert_non_null(strstr(err.message, "sch-a#1"));
	/* the walk reports it and goes on (log and verify never die on one entry) */
	memset(&w, 0, sizeof(w));
	assert_int_equal(ssync_log_foreach(f->st, NULL, walk_cb, &w, NULL), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.unreadable, 1);
	assert_int_equal(w.seqs[0], 1);
	assert_int_equal(w.seqs[1], 2);
	/* A body that is no longer canonical (a space added). */
	assert_int_equal(sqlite3_exec(ssync_store__db(f->st), "UPDATE ssync_entry SET body=' ' || body WHERE seq=2", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_log__get(f->st, "sch-a", 2, &got, NULL, &err), SSYNC_ECORRUPT);
	assert_null(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log__insert_get_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log__duplicate_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log__peer_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log__foreach_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log__foreach_broken_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log__damaged_rows, setup, teardown),
	};

	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
