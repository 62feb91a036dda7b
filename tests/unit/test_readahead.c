/* Received lines parsed and signature-checked on another core ahead of the
 * apply (src/readahead.c) must change nothing but the speed: the same
 * entries applied, the same line stopping a branch for the same reason, the
 * same state, whether a segment is clean, has a forged signature, a changed
 * body or a broken line in the middle, its node's key is wrong or unknown,
 * or the branch comes in many segments. Each run also shows the read-ahead
 * did the work (the ingest counts entries it took from it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/keys.h"

#define ENTRIES 1100 /* past the read-ahead's first 1,024 slots */

typedef struct rig {
	char *dir, *home_a;
	ssync_node *a;
	char *seg;     /* a's entries 1..ENTRIES as wire lines */
	size_t len;
	size_t off[ENTRIES + 1]; /* start of each line; off[ENTRIES] = len */
} rig;

static int rig_setup(void **state)
{
	rig *r = calloc(1, sizeof(*r));
	ssync_error err;
	int64_t seq;
	int i;

	assert_non_null(r);
	r->dir = th_tmpdir();
	r->home_a = th_node_home(r->dir, "sch-a");
	r->a = th_open(r->home_a);
	for (i = 0; i < ENTRIES; i++) {
		char id[32], name[40];
		const char *p[2] = { id, name };
		snprintf(id, sizeof(id), "t%d", i % 150); /* inserts, then updates of the same rows */
		snprintf(name, sizeof(name), "教师 %d", i);
		ssync_error_clear(&err);
		if (ssync_node_sql_bound(r->a, i < 150 ? "INSERT INTO teacher(id, name) VALUES (?1, ?2)" :
			"UPDATE teacher SET name=?2 WHERE id=?1", 2, p, "t", NULL, NULL, NULL, &err) != 0)
			fail_msg("write: %s", err.message);
	}
	for (seq = 1; seq <= ENTRIES; seq++) {
		ssync_entry *e = NULL;
		char *line = NULL, *ns;
		size_t l = 0;
		ssync_error_clear(&err);
		assert_int_equal(ssync_log__get(ssync_node_store(r->a), "sch-a", seq, &e, NULL, &err), 0);
		assert_int_equal(ssync_entry_line(e, &line, &l, &err), 0);
		ns = realloc(r->seg, r->len + l);
		assert_non_null(ns);
		r->seg = ns;
		r->off[seq - 1] = r->len;
		memcpy(r->seg + r->len, line, l);
		r->len += l;
		free(line);
		ssync_entry_free(e);
	}
	r->off[ENTRIES] = r->len;
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	rig *r = *state;

	ssync_node_free(r->a);
	th_rmtree(r->dir);
	free(r->dir);
	free(r->home_a);
	free(r->seg);
	free(r);
	return 0;
}

typedef struct outcome {
	int64_t applied, quarantined, ahead, stopped_at; /* 0: not stopped */
	char stop[512];
	char hash[65];
} outcome;

typedef struct how {
	int ahead;     /* through the read-ahead, as sync feeds segments */
	size_t per_seg; /* lines per segment; 0: one segment */
	int settle;    /* wait until the worker has its first window parsed */
} how;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A fresh receiver that pins @p pk for sch-a (none if NULL), fed @p seg. */
static void receive(rig *r, const char *id, const unsigned char *pk, const char *seg, size_t len, const how *h,
	outcome *out)
{
	char *home = th_node_home(r->dir, id);
	ssync_node *b = th_open(home);
	ssync_store *st = ssync_node_store(b);
	ssync_ingest *in = NULL;
	ssync_ingest_stats stats;
	ssync_error err;
	const char *p = seg, *end = seg + len;
	int64_t n = 0;

	memset(out, 0, sizeof(*out));
	memset(&stats, 0, sizeof(stats));
	ssync_error_clear(&err);
	if (pk)
		assert_int_equal(ssync_log__peer_add(st, "sch-a", pk, "school", NULL, "test", NULL), 0);
	assert_int_equal(ssync_ingest__begin(&in, st, "testdistrict", "sch-a", "test", &err), 0);
	while (p < end && !out->stopped_at) {
		/* one segment: up to per_seg lines */
		const char *q = p, *segend;
		size_t k = 0;
		while (q < end && (h->per_seg == 0 || k < h->per_seg)) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			q = nl ? nl + 1 : end;
			k++;
		}
		segend = q;
		if (h->ahead) {
			ssync_ingest__segment(in, p, (size_t)(segend - p));
			if (h->settle) {
				int waited = 0;
				while (ssync_ingest__ahead_ready(in) < 256 && waited < 20000) {
					sleep_ms(10);
					waited += 10;
				}
				assert_true(ssync_ingest__ahead_ready(in) >= 256);
			}
		}
		while (p < segend) {
			const char *nl = memchr(p, '\n', (size_t)(segend - p));
			size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(segend - p);
			int rc = ssync_ingest__line(in, p, l, &err);
			assert_true(rc >= 0);
			n++;
			p += l;
			if (rc > 0) {
				out->stopped_at = n;
				snprintf(out->stop, sizeof(out->stop), "%s", ssync_ingest__stop_reason(in));
				break;
			}
		}
		if (h->ahead)
			ssync_ingest__segment_done(in);
	}
	assert_int_equal(ssync_ingest__end(in, 0, &stats, &err), 0);
	out->applied = stats.applied;
	out->quarantined = stats.quarantined;
	out->ahead = stats.ahead;
	assert_int_equal(ssync_node_state_hash(b, out->hash, &err), 0);
	ssync_node_free(b);
	free(home);
}

static void same_both_ways(rig *r, const char *name, const unsigned char *pk, const char *seg, size_t len,
	const how *h, outcome *got)
{
	char id1[64], id2[64];
	how plain = { 0, 0, 0 };
	outcome one;

	snprintf(id1, sizeof(id1), "%s-ahead", name);
	snprintf(id2, sizeof(id2), "%s-plain", name);
	receive(r, id1, pk, seg, len, h, got);
	receive(r, id2, pk, seg, len, &plain, &one);
	print_message("%s: applied %lld, %lld of them parsed and checked ahead\n", name, (long long)got->applied,
		(long long)got->ahead);
	assert_int_equal(one.ahead, 0);
	/* the read-ahead was used, not just harmless */
	if (got->stopped_at == 0 || got->stopped_at > 100)
		assert_true(got->ahead > 0);
	assert_int_equal(got->applied, one.applied);
	assert_int_equal(got->quarantined, one.quarantined);
	assert_int_equal(got->stopped_at, one.stopped_at);
	assert_string_equal(got->stop, one.stop);
	assert_string_equal(got->hash, one.hash);
}

static void a_key(rig *r, unsigned char pk[32])
{
	assert_int_equal(ssync_hex_decode(pk, 32, ssync_node_pubkey_hex(r->a)), 0);
}

static const how whole = { 1, 0, 0 };

static void test_readahead__clean_segment(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	outcome o;
	char want[65];
	ssync_error err;

	a_key(r, pk);
	same_both_ways(r, "clean", pk, r->seg, r->len, &whole, &o);
	assert_int_equal(o.applied, ENTRIES);
	assert_int_equal(o.stopped_at, 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_state_hash(r->a, want, &err), 0);
	assert_string_equal(o.hash, want);
}

/* Forged signature on entry 250 (one hex digit changed). The apply waits
 * until the worker has checked the first 256 lines, so the refusal comes
 * from the result worked out ahead. */
static void test_readahead__forged_signature_stops_at_it(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	char *seg = malloc(r->len);
	char *sig;
	how settled = { 1, 0, 1 };
	outcome o;

	assert_non_null(seg);
	memcpy(seg, r->seg, r->len);
	sig = seg + r->off[250] - 1 - 10; /* inside the hex signature of line 250 */
	*sig = *sig == '0' ? '1' : '0';
	a_key(r, pk);
	same_both_ways(r, "forged", pk, seg, r->len, &settled, &o);
	assert_int_equal(o.applied, 249);
	assert_int_equal(o.stopped_at, 250);
	assert_int_equal(o.quarantined, 1);
	assert_int_equal(o.ahead, 250);
	assert_non_null(strstr(o.stop, "E_SIG"));
	free(seg);
}

/* Entry 120's body changed after signing: one digit of a teacher's name
 * (still canonical JSON, so it is the signature that fails). */
static void test_readahead__changed_body_stops_at_it(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	char *seg = malloc(r->len), *h;
	how settled = { 1, 0, 1 };
	outcome o;

	assert_non_null(seg);
	memcpy(seg, r->seg, r->len);
	h = strstr(seg + r->off[119], "教师 119");
	assert_non_null(h);
	assert_true(h < seg + r->off[120]);
	h += strlen("教师 11");
	*h = '8';
	a_key(r, pk);
	same_both_ways(r, "changed", pk, seg, r->len, &settled, &o);
	assert_int_equal(o.applied, 119);
	assert_int_equal(o.stopped_at, 120);
	assert_int_equal(o.ahead, 120);
	assert_non_null(strstr(o.stop, "E_SIG"));
	free(seg);
}

/* Entry 300 cut short: it does not parse. */
static void test_readahead__broken_line_stops_at_it(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	size_t cut = r->off[299] + 40, rest = r->len - r->off[300];
	char *seg = malloc(r->len);
	outcome o;

	assert_non_null(seg);
	memcpy(seg, r->seg, cut);
	seg[cut] = '\n';
	memcpy(seg + cut + 1, r->seg + r->off[300], rest);
	a_key(r, pk);
	same_both_ways(r, "broken", pk, seg, cut + 1 + rest, &whole, &o);
	assert_int_equal(o.applied, 299);
	assert_int_equal(o.stopped_at, 300);
	free(seg);
}

/* The receiver pins another key for sch-a, or none: the first entry stops it. */
static void test_readahead__wrong_or_no_key_stops_at_the_first(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	how settled = { 1, 0, 1 };
	outcome o;

	a_key(r, pk);
	pk[5] ^= 0x40;
	same_both_ways(r, "wrongkey", pk, r->seg, r->len, &settled, &o);
	assert_int_equal(o.applied, 0);
	assert_int_equal(o.stopped_at, 1);
	assert_int_equal(o.ahead, 1);
	assert_non_null(strstr(o.stop, "E_SIG"));
	same_both_ways(r, "nokey", NULL, r->seg, r->len, &whole, &o);
	assert_int_equal(o.applied, 0);
	assert_int_equal(o.stopped_at, 1);
	assert_non_null(strstr(o.stop, "E_CERT_UNKNOWN"));
}

/* Segments of 100 lines, as a branch with many segments arrives; a forged
 * entry in the seventh stops the branch there. */
static void test_readahead__many_segments(void **state)
{
	rig *r = *state;
	unsigned char pk[32];
	char *seg = malloc(r->len), *sig;
	how segs = { 1, 100, 0 };
	outcome o;

	a_key(r, pk);
	same_both_ways(r, "segments", pk, r->seg, r->len, &segs, &o);
	assert_int_equal(o.applied, ENTRIES);
	assert_non_null(seg);
	memcpy(seg, r->seg, r->len);
	sig = seg + r->off[650] - 1 - 30;
	*sig = *sig == 'a' ? 'b' : 'a';
	same_both_ways(r, "segments-forged", pk, seg, r->len, &segs, &o);
	assert_int_equal(o.applied, 649);
	assert_int_equal(o.stopped_at, 650);
	free(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readahead__clean_segment),
		cmocka_unit_test(test_readahead__forged_signature_stops_at_it),
		cmocka_unit_test(test_readahead__changed_body_stops_at_it),
		cmocka_unit_test(test_readahead__broken_line_stops_at_it),
		cmocka_unit_test(test_readahead__wrong_or_no_key_stops_at_the_first),
		cmocka_unit_test(test_readahead__many_segments),
	};
	return cmocka_run_group_tests(tests, rig_setup, rig_teardown);
}
