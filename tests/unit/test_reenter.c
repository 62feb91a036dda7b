/* Re-entry marks (sync/lost.c): a re-entry's actor names the lost entry it
 * replaces; that is how a second `reenter` run knows it is done, so the
 * mark must survive any clerk name and never be read where it is not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lost_int.h"

static void fill(unsigned char h[SSYNC_HASH_BYTES], unsigned char v)
{
	int i;

	for (i = 0; i < SSYNC_HASH_BYTES; i++)
		h[i] = (unsigned char)(v + i);
}

static void test_reenter__mark_round_trip(void **state)
{
	unsigned char h[SSYNC_HASH_BYTES], got[SSYNC_HASH_BYTES];
	char actor[SSYNC_ACTOR_MAX + 1];

	(void)state;
	fill(h, 7);
	ssync_lost__actor(actor, sizeof(actor), "教务处 王老师", h);
	assert_non_null(strstr(actor, "教务处 王老师 (reenter 0708"));
	assert_int_equal(ssync_lost__marker(actor, got), 1);
	assert_memory_equal(got, h, SSYNC_HASH_BYTES);
}

static void test_reenter__long_name_cut_at_a_character(void **state)
{
	unsigned char h[SSYNC_HASH_BYTES], got[SSYNC_HASH_BYTES];
	char name[400], actor[SSYNC_ACTOR_MAX + 1];
	size_t i, n;

	(void)state;
	fill(h, 200);
	/* 3-byte characters: a cut at the byte bound would split one */
	for (i = 0; i + 3 < sizeof(name); i += 3)
		memcpy(name + i, "王", 3);
	name[i] = 0;
	ssync_lost__actor(actor, sizeof(actor), name, h);
	n = strlen(actor);
	assert_true(n <= SSYNC_ACTOR_MAX);
	assert_int_equal((n - strlen(SSYNC_REENTER_MARK) - 65) % 3, 0);
	assert_int_equal(ssync_lost__marker(actor, got), 1);
	assert_memory_equal(got, h, SSYNC_HASH_BYTES);
}

static void test_reenter__no_mark_where_none_is(void **state)
{
	unsigned char got[SSYNC_HASH_BYTES];

	(void)state;
	assert_int_equal(ssync_lost__marker("clerk", got), 0);
	assert_int_equal(ssync_lost__marker("", got), 0);
	assert_int_equal(ssync_lost__marker(NULL, got), 0);
	/* not hex, wrong length, not at the end */
	assert_int_equal(ssync_lost__marker("a (reenter zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f)", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 0102)", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f) x", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f)", got), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reenter__mark_round_trip),
		cmocka_unit_test(test_reenter__long_name_cut_at_a_character),
		cmocka_unit_test(test_reenter__no_mark_where_none_is),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
