#include <string.h>

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

/* The writer's guard: a PC clock outside the range signs nothing, says what
 * it reads and how to fix it; the HLC never passes SSYNC_HLC_MAX. */
static void test_hlc__writer_guard(void **state)
{
	const uint64_t now = 1764081600123ULL;
	uint64_t h = 0;
	ssync_error err;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next(0, 5, &h, &err), SSYNC_ECLOCK);
	assert_int_equal(h, 0);
	assert_non_null(strstr(err.message, "1970-01-01T00:00:00.005Z"));
	assert_non_null(strstr(err.hint, "date"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next(0, SSYNC_HLC_MIN_MS - 1, &h, &err), SSYNC_ECLOCK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next(0, SSYNC_HLC_MAX_MS + 1, &h, &err), SSYNC_ECLOCK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next(0, UINT64_MAX, &h, &err), SSYNC_ECLOCK);
	/* in range: as tick */
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next(0, now, &h, &err), 0);
	assert_int_equal(h, now << 16);
	assert_int_equal(ssync_hlc_next(h, now - 10, &h, &err), 0);
	assert_int_equal(h, (now << 16) + 1);
	/* at the very top: the last value is issued, then nothing more */
	assert_int_equal(ssync_hlc_next(SSYNC_HLC_MAX - 1, now, &h, &err), 0);
	assert_int_equal(h, SSYNC_HLC_MAX);
	assert_true(ssync_hlc_in_range(h));
	assert_int_equal(ssync_hlc_next(h, now, &h, &err), SSYNC_ECLOCK);
	assert_int_equal(h, 0);
	assert_non_null(strstr(err.message, "2999-12-31T23:59:59.999Z"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_hlc_next((uint64_t)INT64_MAX, now, &h, &err), SSYNC_ECLOCK);
	/* the edges of the range */
	assert_true(ssync_hlc_in_range(SSYNC_HLC_MIN));
	assert_false(ssync_hlc_in_range(SSYNC_HLC_MIN - 1));
	assert_false(ssync_hlc_in_range(SSYNC_HLC_MAX + 1));
	{
		char buf[40];
		ssync_hlc_format(SSYNC_HLC_MIN, buf, sizeof(buf));
		assert_string_equal(buf, "2000-01-01T00:00:00.000Z");
		ssync_hlc_format(SSYNC_HLC_MAX, buf, sizeof(buf));
		assert_string_equal(buf, "2999-12-31T23:59:59.999Z");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hlc__monotonic_when_clock_goes_backwards),
		cmocka_unit_test(test_hlc__observe_moves_past_remote),
		cmocka_unit_test(test_hlc__counter_overflow_borrows_next_ms),
		cmocka_unit_test(test_hlc__format),
		cmocka_unit_test(test_hlc__writer_guard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
