#include <stdlib.h>
#include <string.h>

#include "entry_int.h"
#include "helpers_core.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"

static ssync_keypair *kp;

static ssync_entry *make_entry(int64_t seq, const unsigned char *prev)
{
	ssync_entry *e = NULL;
	ssync_error err;
	json_t *ops = json_loads("[{\"t\":\"teacher\",\"k\":\"t-1\",\"c\":[[\"$row\",1,[]],"
		"[\"name\",\"张三\",[]],[\"birth_year\",1980,[\"sch-b#3\"]],[\"title\",null,[]]]}]", 0, NULL);

	assert_non_null(ops);
	ssync_error_clear(&err);
	if (ssync_entry__create(&e, "district-1", "sch-a", seq, prev, 1764081600123ULL << 16, "王老师",
		2, ops, kp, &err) != 0)
		fail_msg("create: %s", err.message);
	return e;
}

static void test_entry__round_trip(void **state)
{
	ssync_entry *e = make_entry(1, NULL), *p = NULL;
	char *line = NULL;
	size_t len = 0;
	ssync_error err;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
	assert_int_equal(line[len - 1], '\n');
	assert_int_equal(ssync_entry_parse(&p, line, len, &err), 0);
	assert_string_equal(ssync_entry_node(p), "sch-a");
	assert_string_equal(ssync_entry_district(p), "district-1");
	assert_string_equal(ssync_entry_actor(p), "王老师");
	assert_int_equal(ssync_entry_seq(p), 1);
	assert_null(ssync_entry_prev(p));
	assert_int_equal(ssync_entry_hlc(p), 1764081600123ULL << 16);
	assert_int_equal(ssync_entry_schema(p), 2);
	assert_memory_equal(ssync_entry_hash(p), ssync_entry_hash(e), SSYNC_HASH_BYTES);
	assert_true(json_equal(p->ops, e->ops));
	assert_int_equal(ssync_entry_verify(p, ssync_keys_public(kp), &err), 0);
	/* human-readable: Chinese text is stored as UTF-8, not escaped */
	assert_non_null(strstr(line, "张三"));
	free(line);
	ssync_entry_free(p);
	ssync_entry_free(e);
}

static void test_entry__chain_fields(void **state)
{
	ssync_entry *a = make_entry(1, NULL), *b = make_entry(2, ssync_entry_hash(a));

	(void)state;
	assert_memory_equal(ssync_entry_prev(b), ssync_entry_hash(a), SSYNC_HASH_BYTES);
	ssync_entry_free(a);
	ssync_entry_free(b);
}

static void test_entry__every_flipped_byte_is_rejected(void **state)
{
	ssync_entry *e = make_entry(2, (const unsigned char *)"0123456789abcdef0123456789abcdef");
	char *line = NULL;
	size_t len = 0, i;
	int bit;

	(void)state;
	assert_int_equal(ssync_entry_line(e, &line, &len, NULL), 0);
	for (i = 0; i < len - 1; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			ssync_entry *p = NULL;
			ssync_error err;
			int rc;
			line[i] ^= (char)(1 << bit);
			ssync_error_clear(&err);
			rc = ssync_entry_parse(&p, line, len, &err);
			if (rc == 0) {
				rc = ssync_entry_verify(p, ssync_keys_public(kp), &err);
				ssync_entry_free(p);
			}
			if (rc == 0)
				fail_msg("flipping bit %d of byte %zu was accepted", bit, i);
			line[i] ^= (char)(1 << bit);
		}
	}
	free(line);
	ssync_entry_free(e);
}

static void expect_parse_fails(const char *body, int code)
{
	char line[4096];
	ssync_entry *p = NULL;
	ssync_error err;
	size_t i;

	snprintf(line, sizeof(line), "%s\t", body);
	for (i = 0; i < 128; i++)
		strcat(line, "a");
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry_parse(&p, line, strlen(line), &err), code);
	assert_null(p);
}

static void test_entry__non_canonical_bodies_rejected(void **state)
{
	(void)state;
	/* escaped UTF-8 */
	expect_parse_fails("{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"\\u5f20\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_EENCODING);
	/* extra whitespace */
	expect_parse_fails("{\"entry\":1, \"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_EENCODING);
	/* keys out of order */
	expect_parse_fails("{\"district\":\"d\",\"entry\":1,\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_EENCODING);
	/* wrong time for the hlc */
	expect_parse_fails("{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2030-01-01T00:00:00.001Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_EENCODING);
	/* duplicate key */
	expect_parse_fails("{\"entry\":1,\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[]}",
		SSYNC_EENCODING);
	/* node id that would escape a path */
	expect_parse_fails("{\"entry\":1,\"district\":\"d\",\"node\":\"../x\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_ESCHEMA);
	/* table name that is not an identifier */
	expect_parse_fails("{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x; DROP\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_ESCHEMA);
	/* seq 2 without prev */
	expect_parse_fails("{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":2,\"prev\":null,\"hlc\":113750153625600000,"
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]}",
		SSYNC_ECHAIN);
	/* not JSON at all; truncated */
	expect_parse_fails("{\"entry\":1,\"district\":", SSYNC_EENCODING);
}

/* A signed line, otherwise valid, carrying @p hlc and the time that matches it. */
static void hlc_line(uint64_t hlc, char *line, size_t size)
{
	char body[512], when[40], sig[2 * SSYNC_SIG_BYTES + 1];
	unsigned char raw[SSYNC_SIG_BYTES];

	ssync_hlc_format(hlc, when, sizeof(when));
	snprintf(body, sizeof(body), "{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,"
		"\"hlc\":%llu,\"time\":\"%s\",\"actor\":\"a\",\"schema\":1,\"ops\":[{\"t\":\"x\",\"k\":\"1\","
		"\"c\":[[\"$row\",1,[]]]}]}", (unsigned long long)hlc, when);
	ssync_keys_sign(kp, body, strlen(body), raw);
	ssync_hex_encode(sig, raw, SSYNC_SIG_BYTES);
	snprintf(line, size, "%s\t%s\n", body, sig);
}

/* FORMAT.md §1: an hlc outside 2000-01-01 .. 2999-12-31 is refused at parse
 * (E_CLOCK), before anything could compare with it or adopt it; the edges
 * themselves are valid. */
static void test_entry__hlc_range(void **state)
{
	const uint64_t bad[] = { 1, 65536, SSYNC_HLC_MIN - 1, SSYNC_HLC_MAX + 1,
		(SSYNC_HLC_MAX_MS + 1) << SSYNC_HLC_COUNTER_BITS, (uint64_t)INT64_MAX };
	const uint64_t good[] = { SSYNC_HLC_MIN, 1764081600123ULL << 16, SSYNC_HLC_MAX };
	char line[1024];
	ssync_entry *p = NULL, *e = NULL;
	ssync_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		hlc_line(good[i], line, sizeof(line));
		ssync_error_clear(&err);
		if (ssync_entry_parse(&p, line, strlen(line), &err) != 0)
			fail_msg("hlc %llu: %s", (unsigned long long)good[i], err.message);
		assert_int_equal(ssync_entry_hlc(p), good[i]);
		ssync_entry_free(p);
		p = NULL;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hlc_line(bad[i], line, sizeof(line));
		ssync_error_clear(&err);
		assert_int_equal(ssync_entry_parse(&p, line, strlen(line), &err), SSYNC_ECLOCK);
		assert_null(p);
		assert_non_null(strstr(err.message, "E_CLOCK"));
		/* and the writer cannot build one */
		ssync_error_clear(&err);
		assert_int_equal(ssync_entry__create_text(&e, "d", "n", 1, NULL, bad[i], "a", 1,
			"[]", 2, kp, &err), SSYNC_ECLOCK);
		assert_null(e);
	}
	/* every valid hlc, and one more tick, is far from int64 overflow */
	assert_true(SSYNC_HLC_MAX < (UINT64_C(1) << 61));
}

static void test_entry__node_ids(void **state)
{
	(void)state;
	assert_true(ssync_ident_node_valid("sch-a"));
	assert_true(ssync_ident_node_valid("0school"));
	assert_false(ssync_ident_node_valid(""));
	assert_false(ssync_ident_node_valid("-a"));
	assert_false(ssync_ident_node_valid("School1"));
	assert_false(ssync_ident_node_valid("a/b"));
	assert_false(ssync_ident_node_valid("../x"));
	assert_false(ssync_ident_node_valid("a.lock"));
	assert_false(ssync_ident_node_valid("a\n"));
	assert_false(ssync_ident_node_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
	assert_true(ssync_ident_node_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
}

/* A body of node "n" (seq 1, hlc 113750153625600000) with @p time, @p actor
 * and @p ops spliced in; parsed as a line with a dummy signature. */
static int parse_spliced(const char *time, const char *actor, const char *ops, ssync_error *err)
{
	char body[2048];
	ssync_entry *p = NULL;
	int rc;

	snprintf(body, sizeof(body), "{\"entry\":1,\"district\":\"d\",\"node\":\"n\",\"seq\":1,\"prev\":null,"
		"\"hlc\":113750153625600000,\"time\":\"%s\",\"actor\":\"%s\",\"schema\":1,\"ops\":%s}", time, actor, ops);
	ssync_error_clear(err);
	rc = ssync_entry__parse_body(&p, body, strlen(body), err);
	ssync_entry_free(p);
	return rc;
}

#define T0 "2025-01-01T00:00:00.000Z"
#define OPS0 "[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"$row\",1,[]]]}]"

/* FORMAT.md §1: time "must match hlc". Canon.c compared it as a C string, so
 * a time with \u0000 and anything after it matched: a second, different
 * body for the same content that jansson, Python and check_format.py read
 * as another time (review of canon.c). */
static void test_entry__time_is_compared_whole(void **state)
{
	ssync_error err;

	(void)state;
	assert_int_equal(parse_spliced(T0, "a", OPS0, &err), 0);
	assert_int_equal(parse_spliced(T0 "\\u0000", "a", OPS0, &err), SSYNC_EENCODING);
	assert_int_equal(parse_spliced(T0 "\\u0000junk", "a", OPS0, &err), SSYNC_EENCODING);
}

/* A prev version's seq is a positive int64 in decimal: strtoll saturated,
 * so "n#9223372036854775808" and every longer one named n#INT64_MAX. */
static void test_entry__prev_version_seq_within_64_bits(void **state)
{
	char node[SSYNC_NODE_ID_MAX + 1];
	int64_t seq = 0;
	ssync_error err;

	(void)state;
	assert_int_equal(ssync_version_parse("n#9223372036854775807", node, &seq), 0);
	assert_true(seq == INT64_MAX);
	assert_int_not_equal(ssync_version_parse("n#9223372036854775808", node, &seq), 0);
	assert_int_not_equal(ssync_version_parse("n#99999999999999999999", node, &seq), 0);
	assert_int_equal(parse_spliced(T0, "a", "[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"a\",1,[\"n#9223372036854775807\"]]]}]", &err), 0);
	assert_int_equal(parse_spliced(T0, "a", "[{\"t\":\"x\",\"k\":\"1\",\"c\":[[\"a\",1,[\"n#9223372036854775808\"]]]}]", &err),
		SSYNC_ESCHEMA);
}

/* The actor comes from the environment (SCHOOLSYNC_ACTOR, the login name):
 * one that is not UTF-8 text has no JSON form. The writer said "out of
 * memory encoding entry" (E_ERROR); it is the caller's input (E_INVAL),
 * named, and nothing is built. */
static void test_entry__actor_not_utf8_is_named(void **state)
{
	ssync_entry *e = NULL;
	ssync_error err;
	char big[300];

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "d", "n", 1, NULL, 113750153625600000ULL, "caf\xe9", 1, OPS0,
		strlen(OPS0), &err), SSYNC_EINVAL);
	assert_null(e);
	assert_non_null(strstr(err.message, "actor"));
	memset(big, 'a', 257);
	big[257] = 0;
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "d", "n", 1, NULL, 113750153625600000ULL, big, 1, OPS0,
		strlen(OPS0), &err), SSYNC_EINVAL);
	assert_null(e);
	big[256] = 0; /* 256 bytes, and control characters, are an actor */
	big[3] = '\t';
	ssync_error_clear(&err);
	assert_int_equal(ssync_entry__build(&e, "d", "n", 1, NULL, 113750153625600000ULL, big, 1, OPS0,
		strlen(OPS0), &err), 0);
	ssync_entry_free(e);
}

static int setup(void **state)
{
	(void)state;
	return ssync_keys_generate(&kp, NULL);
}

static int teardown(void **state)
{
	(void)state;
	ssync_keys_free(kp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry__round_trip),
		cmocka_unit_test(test_entry__chain_fields),
		cmocka_unit_test(test_entry__every_flipped_byte_is_rejected),
		cmocka_unit_test(test_entry__non_canonical_bodies_rejected),
		cmocka_unit_test(test_entry__hlc_range),
		cmocka_unit_test(test_entry__node_ids),
		cmocka_unit_test(test_entry__time_is_compared_whole),
		cmocka_unit_test(test_entry__prev_version_seq_within_64_bits),
		cmocka_unit_test(test_entry__actor_not_utf8_is_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
