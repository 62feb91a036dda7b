#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/control.h"
#include "error_int.h"
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

/* Found by fuzz_control: a message that is not valid UTF-8 (a character cut
 * where the buffer ends, bytes quoted from a request) made ssync_error_json
 * return NULL, so `--json` printed no error and the daemon closed the
 * connection without an answer. Bad bytes are written as '?'. */
static void test_error__json_of_invalid_utf8(void **state)
{
	ssync_error e, back;
	char *s, big[600];
	size_t i;

	(void)state;
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EINVAL, "bad \xe0:\"s{ and \xff\xfe, then \xed\xa0\x80 \xe4\xb8\xad");
	assert_non_null(s = ssync_error_json(&e));
	assert_int_equal(ssync_error_parse_json(&back, s, strlen(s)), 0);
	assert_int_equal(back.code, SSYNC_EINVAL);
	assert_string_equal(back.message, "bad ?:\"s{ and ??, then ??? \xe4\xb8\xad");
	free(s);
	/* a long message of Chinese text is cut inside a character */
	for (i = 0; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, "\xe4\xb8\xad", 3);
	big[i] = '\0';
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_ENOTFOUND, "x%s", big);
	assert_non_null(s = ssync_error_json(&e));
	assert_int_equal(ssync_error_parse_json(&back, s, strlen(s)), 0);
	assert_int_equal(back.code, SSYNC_ENOTFOUND);
	free(s);
	assert_non_null(s = ssync_control_error_reply(SSYNC_EINVAL, "unknown command \"\xe4\xb8\""));
	free(s);
}

/* A stand-in catalogue for gettext: two formats, one reordered. */
static const char *zh(const char *fmt)
{
	if (strcmp(fmt, "open %s: %s (%d tries, %lld bytes, %zu rows)") == 0)
		return "打开 %s：%s（%d 次，%lld 字节，%zu 行）";
	if (strcmp(fmt, "table %s has no column %s") == 0)
		return "列 %2$s 不在表 %1$s 中";
	if (strcmp(fmt, "run: %s") == 0)
		return "请运行：%s";
	if (strcmp(fmt, "%5.1f%% done") == 0)
		return "已完成 %5.1f%%";
	if (strcmp(fmt, "'%s' is not one of %s") == 0)
		return "“%s”不是 %s 之一";
	if (strcmp(fmt, "%s %s: %s") == 0)
		return "%s %s：%s";
	return fmt;
}

static void test_error__localize(void **state)
{
	ssync_error e;
	char m[512], h[256];

	(void)state;
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EIO, "open %s: %s (%d tries, %lld bytes, %zu rows)", "/x", "gone", -3,
		(long long)1 << 40, (size_t)7);
	ssync_error_hint(&e, "run: %s", "chmod 600 k");
	assert_string_equal(e.message, "open /x: gone (-3 tries, 1099511627776 bytes, 7 rows)");
	ssync_error_localize(&e, zh, m, sizeof(m), h, sizeof(h));
	assert_string_equal(m, "打开 /x：gone（-3 次，1099511627776 字节，7 行）");
	assert_string_equal(h, "请运行：chmod 600 k");
	/* positional arguments in the translation */
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EINVAL, "table %s has no column %s", "teacher", "x");
	ssync_error_localize(&e, zh, m, sizeof(m), h, sizeof(h));
	assert_string_equal(m, "列 x 不在表 teacher 中");
	assert_string_equal(h, "");
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EINVAL, "%5.1f%% done", 12.25);
	ssync_error_localize(&e, zh, m, sizeof(m), NULL, 0);
	assert_string_equal(m, "已完成  12.2%");
	/* changed after it was set (a scrubbed secret): stays as it is */
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EIO, "run: %s", "secret");
	memcpy(e.message + 5, "******", 6);
	ssync_error_localize(&e, zh, m, sizeof(m), NULL, 0);
	assert_string_equal(m, "run: ******");
	/* no translation, no format, NULL error */
	ssync_error_clear(&e);
	ssync_error_set(&e, SSYNC_EIO, "plain %d", 1);
	ssync_error_localize(&e, zh, m, sizeof(m), NULL, 0);
	assert_string_equal(m, "plain 1");
	ssync_error_localize(NULL, zh, m, sizeof(m), h, sizeof(h));
	assert_string_equal(m, "");
	/* a reason made from a format inside the message: both translated */
	{
		char why[200];
		ssync_error__reason(why, sizeof(why), "'%s' is not one of %s", "副高", "初级, 中级");
		ssync_error_clear(&e);
		ssync_error_set(&e, SSYNC_EINVAL, "%s %s: %s", "teacher", "title", why);
		assert_string_equal(e.message, "teacher title: '副高' is not one of 初级, 中级");
		ssync_error_localize(&e, zh, m, sizeof(m), NULL, 0);
		assert_string_equal(m, "teacher title：“副高”不是 初级, 中级 之一");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error__numbers_and_names_unique),
		cmocka_unit_test(test_error__round_trips),
		cmocka_unit_test(test_error__known_values_stay),
		cmocka_unit_test(test_error__json_of_invalid_utf8),
		cmocka_unit_test(test_error__localize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
