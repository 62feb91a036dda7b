#include "helpers_core.h"
#include "schoolsync/backoff.h"

#define RMAX 0xffffffffu

static void test_backoff__zero_failures_is_no_delay(void **state)
{
	(void)state;
	assert_true(ssync_backoff_delay(0, 10, 3600, RMAX) == 0);
}

static void test_backoff__doubles_within_equal_jitter_bounds(void **state)
{
	unsigned int n;
	double d = 10;

	(void)state;
	for (n = 1; n <= 8; n++, d *= 2) {
		double lo = ssync_backoff_delay(n, 10, 3600, 0);
		double hi = ssync_backoff_delay(n, 10, 3600, RMAX);
		assert_true(lo == d / 2);
		assert_true(hi <= d && hi > d * 0.999);
	}
}

static void test_backoff__grows_every_two_steps_whatever_the_dice(void **state)
{
	unsigned int n;

	(void)state;
	/* The worst case: low dice after high dice. Two failures later the
	 * delay is still larger, so retries really thin out. */
	for (n = 1; n < 12; n++)
		assert_true(ssync_backoff_delay(n + 2, 1, 1e9, 0) > ssync_backoff_delay(n, 1, 1e9, RMAX));
}

static void test_backoff__capped_and_no_overflow(void **state)
{
	unsigned int n;

	(void)state;
	for (n = 1; n < 100000; n = n * 3 + 1) {
		double d = ssync_backoff_delay(n, 10, 3600, RMAX);
		assert_true(d <= 3600);
		assert_true(d >= 5);
	}
	assert_true(ssync_backoff_delay(4000000000u, 10, 3600, 0) == 1800);
	/* base above the cap: the cap wins */
	assert_true(ssync_backoff_delay(1, 7200, 3600, RMAX) <= 3600);
}

static void test_backoff__bad_parameters_give_zero(void **state)
{
	(void)state;
	assert_true(ssync_backoff_delay(3, 0, 3600, 5) == 0);
	assert_true(ssync_backoff_delay(3, 10, -1, 5) == 0);
	assert_true(ssync_backoff_delay(3, 0.0 / 0.0, 3600, 5) == 0);
}

static void test_backoff__interval_jitter_bounds(void **state)
{
	(void)state;
	assert_true(ssync_backoff_jitter(300, 0.1, 0) == 270);
	assert_true(ssync_backoff_jitter(300, 0.1, RMAX) <= 330);
	assert_true(ssync_backoff_jitter(300, 0.1, RMAX) > 329.9);
	assert_true(ssync_backoff_jitter(300, 0, 12345) == 300);
	assert_true(ssync_backoff_jitter(300, 5, 0) == 0); /* fraction clamped to 1 */
	assert_true(ssync_backoff_jitter(-1, 0.1, 0) == 0);
}

static void test_backoff__spreads_schools(void **state)
{
	/* 200 schools failing together must not retry together: with evenly
	 * spread dice, retries after the 5th failure cover [80, 160] s. */
	double lo = 1e9, hi = 0;
	unsigned int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		double d = ssync_backoff_delay(5, 10, 3600, (uint32_t)(i * (RMAX / 199u)));
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo == 80);
	assert_true(hi > 159);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff__zero_failures_is_no_delay),
		cmocka_unit_test(test_backoff__doubles_within_equal_jitter_bounds),
		cmocka_unit_test(test_backoff__grows_every_two_steps_whatever_the_dice),
		cmocka_unit_test(test_backoff__capped_and_no_overflow),
		cmocka_unit_test(test_backoff__bad_parameters_give_zero),
		cmocka_unit_test(test_backoff__interval_jitter_bounds),
		cmocka_unit_test(test_backoff__spreads_schools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
