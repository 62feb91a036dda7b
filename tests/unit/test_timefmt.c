/* The time module: real dates only, leap years, UTC text both ways, local
 * time with its offset under several TZ settings (POSIX TZ strings, so no
 * zone database is needed). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers_core.h"
#include "schoolsync/error.h"
#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"

#define DAY 86400000LL

static void test_timefmt__impossible_dates_refused(void **state)
{
	const char *bad[] = { "2026-02-31", "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-01-00",
		"1900-02-29", "2026-1-01", "2026-01-1", "26-01-01", "2026/01/01", "2026-01-01x", "+026-01-01", "", NULL };
	int64_t ms = 42;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		assert_int_equal(ssync_time_parse_date(bad[i], &ms), SSYNC_EINVAL);
		assert_int_equal(ms, 42); /* untouched */
	}
	assert_int_equal(ssync_time_parse_date(NULL, &ms), SSYNC_EINVAL);
	assert_false(ssync_time_date_valid(2026, 2, 31));
	assert_false(ssync_time_date_valid(2026, 13, 1));
	assert_false(ssync_time_date_valid(0, 1, 1));
}

static void test_timefmt__leap_years(void **state)
{
	int64_t ms;

	(void)state;
	assert_true(ssync_time_date_valid(2024, 2, 29));
	assert_true(ssync_time_date_valid(2000, 2, 29)); /* divisible by 400 */
	assert_false(ssync_time_date_valid(2100, 2, 29)); /* by 100, not 400 */
	assert_false(ssync_time_date_valid(2023, 2, 29));
	assert_int_equal(ssync_time_parse_date("2024-02-29", &ms), 0);
	assert_int_equal(ssync_time_parse_date("2024-03-01", &ms), 0);
	assert_int_equal(ms - DAY, ssync_time_days(2024, 2, 29) * DAY);
	/* 2000-03-01 is 11,017 days after the epoch (a known value) */
	assert_int_equal(ssync_time_days(2000, 3, 1), 11017);
	assert_int_equal(ssync_time_days(1970, 1, 1), 0);
	assert_int_equal(ssync_time_days(1969, 12, 31), -1);
}

static void test_timefmt__civil_round_trip(void **state)
{
	int64_t z;
	int y, m, d, wd, prev_wd = 2; /* 1968-12-31 was a Tuesday */

	(void)state;
	/* every day from 1969 to 2400: date -> days -> date, weekdays in turn */
	for (z = -365; z < 157000; z++) {
		ssync_time_civil(z * DAY + 12345, &y, &m, &d, &wd);
		assert_true(ssync_time_date_valid(y, m, d));
		assert_int_equal(ssync_time_days(y, m, d), z);
		assert_int_equal(wd, prev_wd % 7 + 1);
		prev_wd = wd;
	}
	ssync_time_civil(ssync_time_days(2026, 12, 6) * DAY, &y, &m, &d, &wd);
	assert_int_equal(wd, 7); /* a Sunday */
	ssync_time_civil(-1, &y, &m, &d, NULL);
	assert_int_equal(y * 10000 + m * 100 + d, 19691231);
}

static void test_timefmt__utc_text_both_ways(void **state)
{
	const char *bad[] = { "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z",
		"2026-02-31T00:00:00Z", "2026-01-01T00:00:00.12Z", "2026-01-01T00:00:00ZZ", "2026-01-01X00:00:00",
		"2026-01-01T0:00:00Z", "2026-01-01", NULL };
	char buf[40], hbuf[40];
	int64_t ms, back;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++)
		assert_int_equal(ssync_time_parse_utc(bad[i], &ms), SSYNC_EINVAL);
	assert_int_equal(ssync_time_parse_utc("2026-12-06T20:15:03.123Z", &ms), 0);
	assert_string_equal(ssync_time_utc(ms, 1, buf, sizeof(buf)), "2026-12-06T20:15:03.123Z");
	assert_string_equal(ssync_time_utc(ms, 0, buf, sizeof(buf)), "2026-12-06T20:15:03Z");
	assert_int_equal(ssync_time_parse_utc("2026-12-06 20:15:03", &back), 0);
	assert_int_equal(back, ms - 123);
	assert_int_equal(ssync_time_parse_utc("2026-12-06T20:15:03", &back), 0);
	assert_int_equal(back, ms - 123);
	assert_string_equal(ssync_time_utc(-1, 1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
	assert_string_equal(ssync_time_utc(INT64_MAX / 2, 1, buf, sizeof(buf)), "invalid");
	/* HLC text is the same text */
	for (ms = 946684800000LL; ms < 946684800000LL + 400 * DAY; ms += DAY / 3 + 7) {
		ssync_hlc_format((uint64_t)ms << 16 | 5, hbuf, sizeof(hbuf));
		assert_string_equal(hbuf, ssync_time_utc(ms, 1, buf, sizeof(buf)));
		assert_int_equal(ssync_time_parse_utc(hbuf, &back), 0);
		assert_int_equal(back, ms);
	}
}

static void test_timefmt__hours_and_minutes(void **state)
{
	int min = -1;

	(void)state;
	assert_int_equal(ssync_time_parse_hm("24:00", &min), SSYNC_EINVAL);
	assert_int_equal(ssync_time_parse_hm("12:60", &min), SSYNC_EINVAL);
	assert_int_equal(ssync_time_parse_hm("7:00", &min), SSYNC_EINVAL);
	assert_int_equal(ssync_time_parse_hm("07:00 ", &min), SSYNC_EINVAL);
	assert_int_equal(min, -1);
	assert_int_equal(ssync_time_parse_hm("00:00", &min), 0);
	assert_int_equal(min, 0);
	assert_int_equal(ssync_time_parse_hm("23:59", &min), 0);
	assert_int_equal(min, 23 * 60 + 59);
}

static void with_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static void test_timefmt__local_time_with_offset(void **state)
{
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	char buf[64];
	int64_t ms;

	(void)state;
	assert_int_equal(ssync_time_parse_utc("2026-12-06T12:00:00Z", &ms), 0);
	with_tz("CST-8");
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2026-12-06 20:00:00 +08:00 CST");
	with_tz("UTC0");
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2026-12-06 12:00:00 +00:00 UTC");
	/* daylight saving: the offset follows the date */
	with_tz("EST5EDT,M3.2.0,M11.1.0");
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2026-12-06 07:00:00 -05:00 EST");
	assert_int_equal(ssync_time_parse_utc("2026-07-01T12:00:00Z", &ms), 0);
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2026-07-01 08:00:00 -04:00 EDT");
	/* half-hour offset, and a zone without a name (no abbreviation shown) */
	with_tz("<+0530>-5:30");
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2026-07-01 17:30:00 +05:30");
	/* the local day can differ from the UTC day */
	with_tz("CST-8");
	assert_int_equal(ssync_time_parse_utc("2026-12-31T18:30:00Z", &ms), 0);
	assert_string_equal(ssync_time_local(ms, buf, sizeof(buf)), "2027-01-01 02:30:00 +08:00 CST");
	assert_string_equal(ssync_time_local(0, buf, sizeof(buf)), "-");
	if (saved) {
		with_tz(saved);
		free(saved);
	} else {
		unsetenv("TZ");
		tzset();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timefmt__impossible_dates_refused),
		cmocka_unit_test(test_timefmt__leap_years),
		cmocka_unit_test(test_timefmt__civil_round_trip),
		cmocka_unit_test(test_timefmt__utc_text_both_ways),
		cmocka_unit_test(test_timefmt__hours_and_minutes),
		cmocka_unit_test(test_timefmt__local_time_with_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
