/* Sanitizer defaults for test_exchange_fetch_push (tests/CMakeLists.txt),
 * the unit test that refuses git:// connections: the slow unwinder, which
 * the git_remote_connect_ext suppression needs (tests/lsan.supp) and which
 * costs ~5x on every malloc, so the other tests do without it.
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