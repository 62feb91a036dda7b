#include "helpers_core.h"
#include "schoolsync/error.h"

/* Every row of the code tables in error.h, collected here so the test walks
 * the same lists the library is built from. */
#define CODE_ROW(name, num, str, hint) { num, str, SSYNC_##name, 0 },
#define DETAIL_ROW(name, num, str, cls, hint) { num, str, SSYNC_##name, 1 },
static const struct {
	int num;
	const char *str;
	int value;
	int detail;
} rows[] = {
	SSYNC_ERROR_CODES(CODE_ROW)
	SSYNC_ERROR_DETAILS(DETAIL_ROW)
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void test_error__numbers_and_names_unique(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NROWS; i++)
		for (j = i + 1; j < NROWS; j++) {
			assert_int_not_equal(rows[i].num, rows[j].num);
			assert_string_not_equal(rows[i].str, rows[j].str);
		}
}

static void test_error__round_trips(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS; i++) {
		assert_int_equal(rows[i].value, rows[i].num);
		assert_true(rows[i].num <= 0); /* 1 is the "unknown name" answer */
		assert_string_equal(ssync_error_name(rows[i].num), rows[i].str);
		assert_int_equal(ssync_error_code(rows[i].str), rows[i].num);
		assert_non_null(ssync_error_code_hint(rows[i].num));
		/* a failure's string code says whether it is returned or a detail */
		assert_true(rows[i].str[0] == 'E' || rows[i].str[0] == 'W' || rows[i].num == 0);
		if (rows[i].detail) {
			assert_true(rows[i].num < -100);
			assert_true(ssync_error_class(rows[i].num) > -100);
			assert_true(ssync_error_code_hint(rows[i].num)[0] != 0);
		} else {
			assert_true(rows[i].num > -100);
			assert_int_equal(ssync_error_class(rows[i].num), rows[i].num);
		}
	}
}

static void test_error__known_values_stay(void **state)
{
	(void)state;
	/* these numbers and names are in stored quarantine rows, docs and JSON */
	assert_int_equal(SSYNC_OK, 0);
	assert_int_equal(SSYNC_ERROR, -1);
	assert_int_equal(SSYNC_EREADONLY, -21);
	assert_string_equal(ssync_error_name(SSYNC_ETOOLARGE), "E_TOO_LARGE");
	assert_string_equal(ssync_error_name(SSYNC_D_HELD), "W_HELD");
	assert_int_equal(ssync_error_class(SSYNC_D_AUTHOR), SSYNC_EPERM);
	assert_string_equal(ssync_error_name(-99), "E_UNKNOWN");
	assert_int_equal(ssync_error_code("E_NO_SUCH"), 1);
	assert_int_equal(ssync_error_code(NULL), 1);
	assert_string_equal(ssync_error_code_hint(-99), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error__numbers_and_names_unique),
		cmocka_unit_test(test_error__round_trips),
		cmocka_unit_test(test_error__known_values_stay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
