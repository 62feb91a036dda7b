/* Admission (issue 13): everything a node signs, every receiver accepts.
 * Odd values are refused at the writer before anything is signed, and a
 * signed entry holding one (an older writer's, or a hostile one) is kept as
 * refused at the receiver while the rest of its branch applies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admit_int.h"
#include "entry_int.h"
#include "helpers_core.h"
#include "log_int.h"
#include "merge_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/log.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"
#include "schoolsync/verify.h"
#include "sync_int.h"

typedef struct fx {
	char *dir, *hub, *ha, *hb;
	ssync_node *a, *b;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	ssync_exchange *hub = NULL;

	f->dir = th_tmpdir();
	f->hub = malloc(4096);
	snprintf(f->hub, 4096, "%s/hub.git", f->dir);
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 1, NULL), 0);
	ssync_exchange_free(hub);
	f->ha = th_node_home(f->dir, "sch-a");
	f->hb = th_node_home(f->dir, "sch-b");
	f->a = th_open(f->ha);
	f->b = th_open(f->hb);
	th_add_remote(f->a, "hub", f->hub);
	th_add_remote(f->b, "hub", f->hub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_node_free(f->a);
	ssync_node_free(f->b);
	th_rmtree(f->dir);
	free(f->ha);
	free(f->hb);
	free(f->hub);
	free(f->dir);
	free(f);
	return 0;
}

static int64_t head(ssync_node *n)
{
	int64_t s = -1;

	assert_int_equal(ssync_log_head_seq(ssync_node_store(n), ssync_node_id(n), &s, NULL), 0);
	return s;
}

static void test_admit__writer_refuses_odd_values_and_the_branch_goes_on(void **state)
{
	fx *f = *state;
	static const char *const bad[] = {
		"INSERT INTO teacher(id,school_id,name) VALUES ('t1','sch-a','a'||char(0)||'b')", /* NUL in text */
		"INSERT INTO teacher(id,school_id,name) VALUES (x'6100','sch-a','n')",              /* blob key */
		"INSERT INTO teacher(id,school_id,name) VALUES ('k'||char(0)||'z','sch-a','n')",    /* NUL in key */
		"INSERT INTO teacher(id,school_id,name) VALUES ('k'||char(9)||'z','sch-a','n')",    /* control in key */
		"INSERT INTO teacher(id,school_id,name) VALUES ('k'||char(127),'sch-a','n')",       /* DEL in key */
		"INSERT INTO teacher(id,school_id,birth_year) VALUES ('t2','sch-a',9e999)",          /* +Inf */
		"INSERT INTO teacher(id,school_id,birth_year) VALUES ('t3','sch-a',-9e999)",         /* -Inf */
		"INSERT INTO teacher(id,school_id,name) VALUES ('t4','sch-a',randomblob(600000))",   /* value > 512 KiB */
		"INSERT INTO teacher(id,school_id,name) VALUES ('t5','sch-a',hex(randomblob(300000)))", /* text > 512 KiB */
		/* big writes split into entries, one value bad in the first, a middle (admitted on the
		 * second core while the next entry is built) or the last entry: nothing written */
		"INSERT INTO zone(id,name) SELECT 'sch-a-'||x, CASE WHEN x=10 THEN 'a'||char(0) ELSE 'n' END "
		"FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5000) SELECT x FROM c)",
		"INSERT INTO zone(id,name) SELECT 'sch-a-'||x, CASE WHEN x=3000 THEN 'a'||char(0) ELSE 'n' END "
		"FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5000) SELECT x FROM c)",
		"INSERT INTO zone(id,name) SELECT 'sch-a-'||x, CASE WHEN x=4999 THEN 'a'||char(0) ELSE 'n' END "
		"FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5000) SELECT x FROM c)",
	};
	size_t i;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','x')");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssync_write_result res;
		ssync_error err;
		ssync_error_clear(&err);
		assert_int_equal(ssync_node_sql(f->a, bad[i], "tester", NULL, NULL, &res, &err), SSYNC_EVALUE);
		assert_non_null(strstr(err.message, "E_VALUE"));
		assert_int_equal(head(f->a), 1); /* nothing signed */
	}
	/* values each within the limit, one row over the 1 MiB line: refused too */
	{
		ssync_write_result res;
		ssync_error err;
		ssync_error_clear(&err);
		assert_int_equal(ssync_node_sql(f->a, "INSERT INTO teacher(id,school_id,name,title,subject) VALUES "
			"('t9','sch-a',hex(randomblob(200000)),hex(randomblob(200000)),hex(randomblob(200000)))",
			"tester", NULL, NULL, &res, &err), SSYNC_ETOOLARGE);
		assert_int_equal(head(f->a), 1);
	}
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM teacher"), 0); /* nothing written */
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM zone"), 1);
	/* what is fine stays fine: newline, tab, DEL, U+2028 in text; edge reals */
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name,birth_year) VALUES ('t6','sch-a',"
		"'a'||char(10)||char(9)||char(127)||char(8232)||'b',1e300)");
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name,birth_year) VALUES ('t7','sch-a',randomblob(400000),-0.0)");
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone"), 1);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM teacher"), 2);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine"), 0);
	{
		char h1[65], h2[65];
		assert_int_equal(ssync_node_state_hash(f->a, h1, NULL), 0);
		assert_int_equal(ssync_node_state_hash(f->b, h2, NULL), 0);
		assert_string_equal(h1, h2);
	}
}

/* The signed line of a's next entry holding @p ops, chained on a's head
 * (and recorded in a's log as an older writer would have, when @p own). */
static char *craft(fx *f, const char *ops, unsigned char prev[SSYNC_HASH_BYTES], int64_t seq, uint64_t *hlc)
{
	ssync_keypair *kp = NULL;
	ssync_entry *e = NULL;
	char path[4096], *line = NULL;
	size_t len;
	ssync_error err;

	ssync_error_clear(&err);
	snprintf(path, sizeof(path), "%s/node.key", f->ha);
	assert_int_equal(ssync_keys_load(&kp, path, &err), 0);
	*hlc += 1 << 16;
	if (ssync_entry__create_text(&e, ssync_node_district(f->a), "sch-a", seq, seq > 1 ? prev : NULL, *hlc, "old-writer",
		ssync_store_schema_version(ssync_node_store(f->a)), ops, strlen(ops), kp, &err) != 0)
		fail_msg("craft: %s", err.message);
	assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
	memcpy(prev, ssync_entry_hash(e), SSYNC_HASH_BYTES);
	ssync_entry_free(e);
	ssync_keys_free(kp);
	return line;
}

static void test_admit__signed_odd_values_are_refused_and_the_chain_goes_on(void **state)
{
	fx *f = *state;
	static const char *const ops[] = {
		"[{\"t\":\"zone\",\"k\":\"z2\",\"c\":[[\"$row\",1,[]],[\"name\",\"a\\u0000b\",[]]]}]",
		"[{\"t\":\"zone\",\"k\":\"z\\u0000\",\"c\":[[\"$row\",1,[]],[\"name\",\"n\",[]]]}]",
		"[{\"t\":\"zone\",\"k\":\"z\\n3\",\"c\":[[\"$row\",1,[]],[\"name\",\"n\",[]]]}]",
		"[{\"t\":\"zone\",\"k\":\"z4\",\"c\":[[\"$row\",1,[]],[\"name\",{\"b64\":\"YQ\"},[]]]}]",
		"[{\"t\":\"zone\",\"k\":\"z5\",\"c\":[[\"$row\",1,[]],[\"name\",\"fine\",[]]]}]",
	};
	unsigned char prev[SSYNC_HASH_BYTES];
	uint64_t hlc = 0;
	ssync_entry *e1 = NULL;
	ssync_exchange *hub = NULL;
	char *lines[5], *seg, path[64], h1[65], h2[65];
	size_t i, total = 0;
	const char *paths[1];
	const void *datas[1];
	size_t lens[1];
	ssync_trust_rebuild_report rr;
	ssync_error err;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','x')");
	th_sync_ok(f->a, NULL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_log__get(ssync_node_store(f->a), "sch-a", 1, &e1, NULL, &err), 0);
	memcpy(prev, ssync_entry_hash(e1), SSYNC_HASH_BYTES);
	hlc = ssync_entry_hlc(e1);
	ssync_entry_free(e1);
	for (i = 0; i < 5; i++) {
		lines[i] = craft(f, ops[i], prev, (int64_t)i + 2, &hlc);
		total += strlen(lines[i]);
	}
	assert_non_null(seg = calloc(1, total + 1));
	for (i = 0; i < 5; i++) {
		strcat(seg, lines[i]);
		free(lines[i]);
	}
	/* published on a's branch as a segment starting at seq 2 */
	ssync_sync__segment_path(path, sizeof(path), 2);
	paths[0] = path;
	datas[0] = seg;
	lens[0] = total;
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 0, &err), 0);
	assert_int_equal(ssync_exchange_commit_files(hub, "refs/heads/node/sch-a", 1, paths, datas, lens, "old writer", NULL, &err), 0);
	ssync_exchange_free(hub);
	free(seg);

	th_sync_ok(f->b, NULL);
	/* the four odd entries are held as refused, the chain goes on to seq 6 */
	assert_int_equal(th_count(f->b, "SELECT max(seq) FROM ssync_entry WHERE node='sch-a'"), 6);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_entry WHERE node='sch-a' AND state=3"), 4);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND code='E_VALUE'"), 4);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone"), 2); /* z1 and z5 */
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z5'"), 1);
	/* the same decisions from the log alone */
	assert_int_equal(ssync_node_state_hash(f->b, h1, NULL), 0);
	assert_int_equal(ssync_trust_rebuild(ssync_node_store(f->b), &rr, &err), 0);
	assert_int_equal(rr.refused, 4);
	assert_int_equal(ssync_node_state_hash(f->b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND code='E_VALUE'"), 4);
	/* b relays what it accepted as a chain: a third node gets the same */
	{
		ssync_verify_report vr;
		assert_int_equal(ssync_verify_replica(f->b, &vr, &err), 0);
		assert_int_equal(vr.not_applied, 4);
	}
}

static int count_items(const ssync_log_item *it, void *p)
{
	int *n = p;

	n[0]++;
	if (!it->entry) {
		assert_non_null(it->problem);
		n[1]++;
	}
	return 0;
}

static void test_admit__log_and_verify_walk_past_a_bad_entry(void **state)
{
	fx *f = *state;
	ssync_verify_report vr;
	ssync_error err;
	int n[2] = { 0, 0 };

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','x')");
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z2','y')");
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z3','z')");
	/* damage the middle entry's stored body */
	{
		char *msg = NULL;
		sqlite3 *db = NULL;
		char path[4096];
		snprintf(path, sizeof(path), "%s/replica.db", f->ha);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE ssync_entry SET body='{' WHERE node='sch-a' AND seq=2", NULL, NULL, &msg), SQLITE_OK);
		sqlite3_close(db);
	}
	ssync_error_clear(&err);
	assert_int_equal(ssync_log_foreach(ssync_node_store(f->a), NULL, count_items, n, &err), 0);
	assert_int_equal(n[0], 3);
	assert_int_equal(n[1], 1);
	assert_int_equal(ssync_verify_replica(f->a, &vr, &err), SSYNC_ECORRUPT);
	assert_int_equal(vr.entries, 3);
	assert_int_equal(vr.unreadable, 1);
	assert_non_null(strstr(err.message, "sch-a#2"));
}

/* The writer's check is the receiver's: a body the writer would sign with
 * an odd value fails admission with the same code a receiver gives. */
static void test_admit__body_admission_matches_the_receiver(void **state)
{
	fx *f = *state;
	ssync_store *st = ssync_node_store(f->a);
	ssync_entry *e = NULL;
	char *body;
	size_t blen;
	ssync_error err;
	static const char good[] = "[{\"t\":\"zone\",\"k\":\"z1\",\"c\":[[\"name\",\"ok\",[]]]}]";
	static const char nul[] = "[{\"t\":\"zone\",\"k\":\"z1\",\"c\":[[\"name\",\"a\\u0000\",[]]]}]";
	static const char tbl[] = "[{\"t\":\"nosuch\",\"k\":\"z1\",\"c\":[[\"name\",\"a\",[]]]}]";
	static const char col[] = "[{\"t\":\"zone\",\"k\":\"z1\",\"c\":[[\"na\\u0000me\",\"a\",[]]]}]";

	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "default", "sch-a", 1, NULL, (uint64_t)1700000000000 << 16, "x", 1, good, strlen(good), &err), 0);
	body = strdup(ssync_entry_body(e, &blen));
	ssync_entry_free(e);
	assert_int_equal(ssync_admit__body(st, body, blen, &err), 0);
	free(body);
	assert_int_equal(ssync_entry__build(&e, "default", "sch-a", 1, NULL, (uint64_t)1700000000000 << 16, "x", 1, nul, strlen(nul), &err), 0);
	body = strdup(ssync_entry_body(e, &blen));
	ssync_entry_free(e);
	assert_int_equal(ssync_admit__body(st, body, blen, &err), SSYNC_EVALUE);
	free(body);
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "default", "sch-a", 1, NULL, (uint64_t)1700000000000 << 16, "x", 1, tbl, strlen(tbl), &err), 0);
	body = strdup(ssync_entry_body(e, &blen));
	ssync_entry_free(e);
	assert_int_equal(ssync_admit__body(st, body, blen, &err), SSYNC_ESCHEMA);
	free(body);
	/* a NUL inside a name is not a shorter name: refused as structure */
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "default", "sch-a", 1, NULL, (uint64_t)1700000000000 << 16, "x", 1, col, strlen(col), &err), 0);
	body = strdup(ssync_entry_body(e, &blen));
	ssync_entry_free(e);
	assert_int_equal(ssync_admit__body(st, body, blen, &err), SSYNC_ESCHEMA);
	free(body);
}

/* A random code point, weighted to the ones FORMAT.md has rules for. */
static unsigned rnd_cp(unsigned *seed)
{
	static const unsigned odd[] = { 0, 8, 9, 10, 12, 13, 0x1b, 0x1f, '"', '\\', '/', 0x7f, 0x80, 0x9f, 0x2028,
		0x2029, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff, 0x5f20 };
	unsigned r = (unsigned)rand_r(seed), cp;

	if (r % 3 == 0)
		return odd[(r / 3) % (sizeof(odd) / sizeof(odd[0]))];
	cp = (unsigned)rand_r(seed) % (r % 2 ? 0x80 : 0x110000);
	return cp >= 0xd800 && cp <= 0xdfff ? 'x' : cp;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80)
		return (size_t)(o[0] = (char)cp, 1);
	if (cp < 0x800)
		return (size_t)(o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2);
	if (cp < 0x10000)
		return (size_t)(o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
			o[2] = (char)(0x80 | (cp & 0x3f)), 3);
	return (size_t)(o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f)), 4);
}

static json_t *rnd_string(unsigned *seed, int allow_nul)
{
	char buf[256];
	size_t n = 0, i, len = (size_t)rand_r(seed) % 20 + 1;
	unsigned cp;

	for (i = 0; i < len; i++) {
		while ((cp = rnd_cp(seed)) == 0 && !allow_nul)
			;
		n += put_utf8(buf + n, cp);
	}
	return json_stringn(buf, n);
}

static json_t *rnd_value(unsigned *seed)
{
	union { double d; uint64_t u; } bits;
	static const int64_t ints[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 10, -10, 1000000007 };
	unsigned char raw[24];
	char b64[64];
	size_t i;

	switch (rand_r(seed) % 6) {
	case 0: return json_null();
	case 1: return json_integer(rand_r(seed) % 2 ? ints[rand_r(seed) % 8] : (json_int_t)(rand_r(seed) % 2001) - 1000);
	case 2:
		do {
			bits.u = (uint64_t)rand_r(seed) << 42 ^ (uint64_t)rand_r(seed) << 21 ^ (uint64_t)rand_r(seed);
		} while (!isfinite(bits.d));
		return json_real(rand_r(seed) % 4 == 0 ? (double)(rand_r(seed) % 1000) / 8.0 : bits.d);
	case 3: {
		size_t n = (size_t)rand_r(seed) % sizeof(raw);
		for (i = 0; i < n; i++)
			raw[i] = (unsigned char)rand_r(seed);
		sodium_bin2base64(b64, sizeof(b64), raw, n, sodium_base64_VARIANT_ORIGINAL);
		return json_pack("{ss}", "b64", b64);
	}
	default: return rnd_string(seed, rand_r(seed) % 10 == 0);
	}
}

/* Property (FORMAT.md §1): whatever values the writer's encoder (jansson,
 * as capture.c splices them) puts in a body, a receiver parses it, and the
 * writer's verdict on the bytes (ssync_admit__body) is the receiver's verdict
 * on the parsed entry — refused values included. */
static void test_admit__encoded_values_parse_and_verdicts_agree(void **state)
{
	fx *f = *state;
	ssync_store *st = ssync_node_store(f->a);
	static const char *const cols[] = { "name", "subject", "title", "gender", "nope" };
	unsigned seed = 20261206;
	int i, refused = 0;

	for (i = 0; i < 3000; i++) {
		json_t *ops = json_array(), *key = rnd_string(&seed, 0), *cells = json_array();
		ssync_entry *e = NULL, *p = NULL;
		char *text, *line = NULL;
		size_t len = 0, blen;
		const char *body;
		int rw, rr, k, nc = rand_r(&seed) % 3 + 1;
		ssync_error err;

		for (k = 0; k < nc; k++)
			json_array_append_new(cells, json_pack("[soI]", cols[rand_r(&seed) % 5], rnd_value(&seed), (json_int_t)0));
		/* prevs are arrays: the %I above is replaced by [] */
		for (k = 0; k < nc; k++)
			json_array_set_new(json_array_get(cells, (size_t)k), 2, json_array());
		json_array_append_new(ops, json_pack("{sssoso}", "t", "teacher", "k", key, "c", cells));
		assert_non_null(text = json_dumps(ops, SSYNC_JSON_FLAGS));
		ssync_error_clear(&err);
		assert_int_equal(ssync_entry__build(&e, "default", "sch-a", 1, NULL, (uint64_t)1700000000000 << 16, "x", 1,
			text, strlen(text), &err), 0);
		body = ssync_entry_body(e, &blen);
		ssync_error_clear(&err);
		rw = ssync_admit__body(st, body, blen, &err);
		assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
		ssync_error_clear(&err);
		if (ssync_entry_parse(&p, line, len, &err) != 0)
			fail_msg("the receiver could not parse what the writer encoded: %s\n%s", err.message, text);
		ssync_error_clear(&err);
		rr = ssync_admit__entry(st, p, &err);
		if (rw != rr)
			fail_msg("writer %d, receiver %d on %s", rw, rr, text);
		assert_true(rw == 0 || rw == SSYNC_EVALUE || rw == SSYNC_ESCHEMA);
		refused += rw != 0;
		free(line);
		free(text);
		ssync_entry_free(p);
		ssync_entry_free(e);
		json_decref(ops);
	}
	/* the generator reaches refusals too, not only accepted bodies */
	assert_true(refused > 0 && refused < 3000);
}

/* 70 concurrent versions of one cell (70 schools at once, or a hostile one
 * signing 70 writes with no prevs): a cell names at most 64 prevs, so the
 * writer overwrites them in steps and the cell never becomes unwritable;
 * what it signs, receivers accept. */
static void test_admit__a_cell_with_more_versions_than_prevs_stays_writable(void **state)
{
	fx *f = *state;
	ssync_store *st = ssync_node_store(f->a);
	ssync_write_result res;
	ssync_error err;
	char ops[256];
	int i;

	ssync_error_clear(&err);
	assert_int_equal(ssync_store_begin(st, &err), 0);
	for (i = 0; i < 70; i++) {
		char node[16];
		json_t *j;
		snprintf(node, sizeof(node), "n%d", i);
		snprintf(ops, sizeof(ops), "[{\"t\":\"teacher\",\"k\":\"t-wide\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]],"
			"[\"name\",\"v%d\",[]]]}]", i);
		assert_non_null(j = json_loads(ops, 0, NULL));
		if (ssync_merge__apply_ops(st, j, ((uint64_t)1700000000000 + (uint64_t)i) << 16, node, 1, &err) != 0)
			fail_msg("apply %s: %s", node, err.message);
		json_decref(j);
	}
	assert_int_equal(ssync_store_commit(st, &err), 0);
	for (i = 0; i < 3; i++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "UPDATE teacher SET name='定%d' WHERE id='t-wide'", i);
		ssync_error_clear(&err);
		if (ssync_node_sql(f->a, sql, "tester", NULL, NULL, &res, &err) != 0)
			fail_msg("write %d refused: %s", i, err.message);
	}
	/* 70 leaves, then 70 - 64 + 1 = 7, then 1: resolved in two writes */
	assert_int_equal(th_count(f->a, "SELECT json_array_length(json_extract(state, '$.name.l')) FROM ssync_row "
		"WHERE tbl='teacher' AND pk='t-wide'"), 1);
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM ssync_conflict WHERE pk='t-wide' AND col='name'"), 0);
	/* and the signed entries are ones a receiver takes */
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_entry WHERE node='sch-a' AND state=1"), head(f->a));
	/* (b never saw the 70 versions, applied to a's merge state by hand, so
	 * it holds no row to show: the entries' acceptance is the point) */
}

/* Every storage class into every column affinity the schema has (TEXT,
 * REAL, INTEGER): what the writer signs is what it holds, and a receiver
 * that applies it holds the same (state hashes; verify rebuilds each from
 * its log alone). */
static void test_admit__affinity_mixes_converge(void **state)
{
	fx *f = *state;
	static const char *const vals[] = {
		"12", "12.5", "3.0", "-0.0", "1e16", "1e300", "9223372036854775807", "(-9223372036854775807-1)",
		"'12'", "' 12 '", "'1e3'", "'0x10'", "'12.0'", "'abc'", "x'00ff'", "x''", "''", "NULL",
		"'张三'", "char(10)||'x'||char(127)",
	};
	char sql[512], h1[65], h2[65];
	ssync_verify_report vr;
	ssync_error err;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO training(id,school_id,title,level,credits,year) "
			"VALUES ('sch-a-v%zu','sch-a',%s,%s,%s,%s)", i, vals[i], vals[i], vals[i], vals[i]);
		th_sql(f->a, sql);
	}
	/* updates across classes */
	th_sql(f->a, "UPDATE training SET credits=title, year=credits, title=year WHERE id IN ('sch-a-v1','sch-a-v9','sch-a-v14')");
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine"), 0);
	assert_int_equal(ssync_node_state_hash(f->a, h1, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	/* the same storage classes, not only the same text */
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM training WHERE typeof(credits)='real'"),
		th_count(f->b, "SELECT count(*) FROM training WHERE typeof(credits)='real'"));
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM training WHERE typeof(title)='blob'"),
		th_count(f->b, "SELECT count(*) FROM training WHERE typeof(title)='blob'"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_verify_replica(f->a, &vr, &err), 0);
	assert_int_equal(ssync_verify_replica(f->b, &vr, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admit__writer_refuses_odd_values_and_the_branch_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__signed_odd_values_are_refused_and_the_chain_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__log_and_verify_walk_past_a_bad_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__body_admission_matches_the_receiver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__affinity_mixes_converge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__encoded_values_parse_and_verdicts_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit__a_cell_with_more_versions_than_prevs_stays_writable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
