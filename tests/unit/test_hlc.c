#include "helpers_core.h"
#include "schoolsync/hlc.h"

static void test_hlc__monotonic_when_clock_goes_backwards(void **state)
{
	uint64_t h = 0, prev = 0;
	uint64_t clock[] = { 1000, 1001, 900, 900, 5, 1002, 1002, 2000, 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(clock) / sizeof(clock[0]); i++) {
		h = ssync_hlc_tick(h, clock[i]);
		assert_true(h > prev);
		assert_true(ssync_hlc_ms(h) >= clock[i] || ssync_hlc_ms(h) >= ssync_hlc_ms(prev));
		prev = h;
	}
	/* after the clock comes back ahead, physical time is used again */
	assert_int_equal(ssync_hlc_ms(ssync_hlc_tick(h, 5000)), 5000);
}

static void test_hlc__observe_moves_past_remote(void **state)
{
	uint64_t local = ssync_hlc_tick(0, 1000);
	uint64_t remote = ssync_hlc_tick(0, 9000);
	uint64_t next;

	(void)state;
	local = ssync_hlc_observe(local, remote);
	next = ssync_hlc_tick(local, 1000);
	assert_true(next > remote);
	/* observing an older remote changes nothing */
	assert_int_equal(ssync_hlc_observe(next, 1), next);
}

static void test_hlc__counter_overflow_borrows_next_ms(void **state)
{
	uint64_t h = ssync_hlc_tick(0, 10);
	int i;

	(void)state;
	for (i = 0; i < 70000; i++)
		h = ssync_hlc_tick(h, 10);
	assert_true(ssync_hlc_ms(h) == 11);
}

static void test_hlc__format(void **state)
{
	char buf[40];

	(void)state;
	ssync_hlc_format(ssync_hlc_tick(0, 1764081600123ULL), buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-25T14:40:00.123Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hlc__monotonic_when_clock_goes_backwards),
		cmocka_unit_test(test_hlc__observe_moves_past_remote),
		cmocka_unit_test(test_hlc__counter_overflow_borrows_next_ms),
		cmocka_unit_test(test_hlc__format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
