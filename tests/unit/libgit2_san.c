/* Sanitizer defaults for the exchange tests (linked into test_exchange_*
 * only, tests/CMakeLists.txt), so the binaries run clean on their own too;
 * tools/test.sh passes the same through ASAN_OPTIONS and tests/lsan.supp.
 * Leaks inside libgit2 1.5 itself: pcre2 match data is not freed when a
 * config regex does not match (every remote lookup), and a refused git://
 * connection leaks its transport. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	/* libgit2 has no frame pointers: only the slow unwinder sees its frames */
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:pcre2_match_data_create_8\nleak:git_remote_connect_ext\n";
}