/* Receive within bounds (issue 13): a file over the size a branch may hold
 * is refused from its object header, before it is read; the files before
 * it are still delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/exchange.h"

typedef struct seen {
	int n;
	char first[64];
} seen;

static int on_file(const char *path, const void *data, size_t len, void *payload)
{
	seen *s = payload;

	(void)data;
	(void)len;
	if (s->n++ == 0)
		strncpy(s->first, path, sizeof(s->first) - 1);
	return 0;
}

static void test_bounds__oversized_file_is_refused_before_reading(void **state)
{
	char *dir = th_tmpdir(), path[4096];
	ssync_exchange *ex = NULL;
	const char *paths[3] = { "node.json", "seg/0000000/000000000001.seg", "seg/0000000/000000000002.seg" };
	const void *datas[3];
	size_t lens[3];
	char *big = calloc(1, (8u << 20) + 1);
	ssync_oid_hex none, tip;
	void *data = NULL;
	size_t len = 0;
	seen s;
	ssync_error err;

	(void)state;
	assert_non_null(big);
	memset(&none, 0, sizeof(none));
	memset(&s, 0, sizeof(s));
	datas[0] = "{}";
	lens[0] = 2;
	datas[1] = "line\n";
	lens[1] = 5;
	datas[2] = big;
	lens[2] = (8u << 20) + 1; /* one byte over FORMAT.md's 8 MiB */
	snprintf(path, sizeof(path), "%s/x.git", dir);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&ex, path, 1, &err), 0);
	assert_int_equal(ssync_exchange_commit_files(ex, "refs/heads/node/sch-a", 3, paths, datas, lens, "t", &tip, &err), 0);
	assert_int_equal(ssync_exchange_added_files(ex, &none, &tip, on_file, &s, &err), SSYNC_ETOOLARGE);
	assert_int_equal(s.n, 2); /* node.json and the first segment came through */
	assert_string_equal(s.first, "node.json");
	assert_non_null(strstr(err.message, "000000000002.seg"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_read_file(ex, &tip, paths[2], &data, &len, &err), SSYNC_ETOOLARGE);
	assert_null(data);
	assert_int_equal(ssync_exchange_read_file(ex, &tip, paths[1], &data, &len, &err), 0);
	assert_int_equal(len, 5);
	free(data);
	ssync_exchange_free(ex);
	free(big);
	th_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds__oversized_file_is_refused_before_reading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
