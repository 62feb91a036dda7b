/* ssync_redact_url: what every printer of a remote URL shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "schoolsync/redact.h"

static void check(const char *url, const char *want, int secret)
{
	char out[512];

	assert_string_equal(ssync_redact_url(url, out, sizeof(out)), want);
	assert_int_equal(ssync_url_has_secret(url), secret);
}

static void test_redact__cases(void **state)
{
	(void)state;
	check("https://user:s3cret@git.example/d1.git", "https://user:***@git.example/d1.git", 1);
	check("https://ghp_abc@git.example/d1.git", "https://***@git.example/d1.git", 1);
	check("http://a:b@c@host/x", "http://a:***@host/x", 1); /* the last '@' ends the user part */
	check("ssh://git@host/d1.git", "ssh://git@host/d1.git", 0);
	check("ssh://git:pw@host/d1.git", "ssh://git:***@host/d1.git", 1);
	check("https://host/x.git?access_token=abc&ref=main", "https://host/x.git?access_token=***&ref=main", 1);
	check("https://host/x.git?ref=main#frag", "https://host/x.git?ref=main#frag", 0);
	check("/media/usb/d1.git", "/media/usb/d1.git", 0);
	check("git://hub/d1.git", "git://hub/d1.git", 0);
	check("", "", 0);
}

static void test_redact__small_buffer_never_shows_a_secret(void **state)
{
	char out[24];
	size_t n;

	(void)state;
	for (n = 1; n <= sizeof(out); n++) {
		ssync_redact_url("https://user:s3cretvalue@git.example/d1.git", out, n);
		assert_null(strstr(out, "s3cret"));
		assert_true(strlen(out) < n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact__cases),
		cmocka_unit_test(test_redact__small_buffer_never_shows_a_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
