/*
 * Transfers big enough to go as packs: fetch and push of a large branch, a
 * fresh handle sees every object, progress reports, and a cancelled transfer
 * leaves no ref moved and no stray pack files (pack and loose-object paths).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "helpers_exchange.h"

static size_t count_packs(const char *objects_pack)
{
	DIR *d = opendir(objects_pack);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".pack"))
			n++;
	closedir(d);
	return n;
}

/* Files in a pack directory that are not finished packs (temp files). */
static size_t count_stray(const char *objects_pack)
{
	DIR *d = opendir(objects_pack);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (strncmp(de->d_name, "pack-", 5) != 0 || len < 5 ||
		    (strcmp(de->d_name + len - 5, ".pack") && strcmp(de->d_name + len - 4, ".idx")))
			n++;
	}
	closedir(d);
	return n;
}

/* Enough objects to take the pack path (and several threads if there are cores). */
static void big_branch(ssync_exchange *ex, size_t nfiles, size_t ncommits, ssync_oid_hex *tip)
{
	const char **paths = calloc(nfiles, sizeof(*paths));
	const void **datas = calloc(nfiles, sizeof(*datas));
	size_t *lens = calloc(nfiles, sizeof(*lens));
	char *bufs = malloc(nfiles * 2048), *names = malloc(nfiles * 64);
	ssync_error err;
	size_t i, per = nfiles / ncommits;

	assert_true(paths && datas && lens && bufs && names);
	for (i = 0; i < nfiles; i++) {
		char *b = bufs + i * 2048;
		size_t k;

		snprintf(names + i * 64, 64, "seg/%06zu/%012zu.seg", i / 100, i);
		for (k = 0; k < 2047; k++)
			b[k] = (char)('a' + (char)((i * 7919 + k * 31 + (k * k) % 13) % 26));
		snprintf(b, 32, "{\"seq\":%012zu}", i); /* every file distinct */
		b[strlen(b)] = ' ';
		paths[i] = names + i * 64;
		datas[i] = b;
		lens[i] = 2047;
	}
	for (i = 0; i < ncommits; i++) {
		ssync_error_clear(&err);
		assert_int_equal(ssync_exchange_commit_files(ex, NODE_A, per, paths + i * per,
			datas + i * per, lens + i * per, "seal", tip, &err), 0);
	}
	free(paths);
	free(datas);
	free(lens);
	free(bufs);
	free(names);
}

static int count_cb(const char *path, const void *data, size_t len, void *payload)
{
	size_t *n = payload;

	(void)path;
	(void)data;
	if (len != 2047)
		return -1;
	(*n)++;
	return 0;
}

static void test_exchange__sync_large(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *a = tx_open(f, "a.git"), *b = tx_open(f, "b.git"), *r = NULL;
	const char *refs[] = { NODE_A };
	ssync_oid_hex tip, none = { "" };
	ssync_error err;
	size_t n = 0;

	big_branch(a, 600, 3, &tip);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(a, "usb", tx_path(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "usb", tx_path(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_push(a, "usb", 1, refs, NULL, &err), 0);
	assert_true(count_packs(tx_path(f, "usb.git/objects/pack")) >= 1);
	assert_int_equal(ssync_exchange_fetch(b, "usb", NULL, &err), 0);
	assert_true(count_packs(tx_path(f, "b.git/objects/pack")) >= 1);
	tx_expect_tip(b, "refs/remotes/usb/node/sch-a", tip.hex);
	assert_int_equal(ssync_exchange_added_files(b, &none, &tip, count_cb, &n, &err), 0);
	assert_int_equal(n, 600);

	/* a fresh handle (no cached odb) sees everything too */
	ssync_exchange_free(b);
	assert_int_equal(ssync_exchange_open(&r, tx_path(f, "b.git"), 0, &err), 0);
	n = 0;
	assert_int_equal(ssync_exchange_added_files(r, &none, &tip, count_cb, &n, &err), 0);
	assert_int_equal(n, 600);
	ssync_exchange_free(r);
	ssync_exchange_free(a);
}

typedef struct cancel_state {
	int calls;
	ssync_transfer_progress last;
} cancel_state;

static int cancel_cb(const ssync_transfer_progress *p, void *payload)
{
	cancel_state *c = payload;

	c->last = *p;
	return ++c->calls >= 1;
}

static int count_progress_cb(const ssync_transfer_progress *p, void *payload)
{
	cancel_state *c = payload;

	c->last = *p;
	c->calls++;
	return 0;
}

static void test_exchange__progress_and_cancel(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *a = tx_open(f, "a.git"), *b = tx_open(f, "b.git");
	ssync_transfer_opts opts = SSYNC_TRANSFER_OPTS_INIT;
	const char *refs[] = { NODE_A };
	cancel_state cs;
	ssync_oid_hex tip, small;
	ssync_error err;

	big_branch(a, 300, 2, &tip);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(a, "usb", tx_path(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "usb", tx_path(f, "usb.git"), &err), 0);

	memset(&cs, 0, sizeof(cs));
	opts.progress = count_progress_cb;
	opts.payload = &cs;
	assert_int_equal(ssync_exchange_push(a, "usb", 1, refs, &opts, &err), 0);
	assert_true(cs.calls > 0);
	assert_true(cs.last.total_objects >= 300);
	assert_int_equal(cs.last.received_objects, cs.last.total_objects);

	/* cancel a pack transfer: nothing is half-updated */
	memset(&cs, 0, sizeof(cs));
	opts.progress = cancel_cb;
	assert_int_equal(ssync_exchange_fetch(b, "usb", &opts, &err), SSYNC_ECANCELLED);
	tx_expect_no_ref(b, "refs/remotes/usb/node/sch-a");
	assert_int_equal(count_stray(tx_path(f, "b.git/objects/pack")), 0);

	/* and a small (loose object) one */
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(a, "refs/heads/node/small", &small, &err, "x", "y", NULL), 0);
	{
		const char *sr[] = { "refs/heads/node/small" };
		opts.progress = NULL;
		assert_int_equal(ssync_exchange_push(a, "usb", 1, sr, &opts, &err), 0);
	}
	ssync_exchange_free(b);
	b = tx_open(f, "b2.git");
	assert_int_equal(ssync_exchange_remote_add(b, "usb", tx_path(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_fetch(b, "usb", NULL, &err), 0);
	tx_expect_tip(b, "refs/remotes/usb/node/small", small.hex);
	ssync_exchange_free(a);
	a = tx_open(f, "a.git");
	assert_int_equal(tx_commit_strs(a, "refs/heads/node/small", &small, &err, "z", "w", NULL), 0);
	{
		const char *sr[] = { "refs/heads/node/small" };
		assert_int_equal(ssync_exchange_push(a, "usb", 1, sr, NULL, &err), 0);
	}
	memset(&cs, 0, sizeof(cs));
	opts.progress = cancel_cb;
	assert_int_equal(ssync_exchange_fetch(b, "usb", &opts, &err), SSYNC_ECANCELLED);
	assert_int_not_equal(strcmp(small.hex, ""), 0);
	ssync_error_clear(&err);
	{
		ssync_oid_hex t;
		assert_int_equal(ssync_exchange_ref_tip(b, "refs/remotes/usb/node/small", &t, &err), 0);
		assert_string_not_equal(t.hex, small.hex);
	}
	ssync_exchange_free(a);
	ssync_exchange_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exchange__sync_large, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__progress_and_cancel, tx_setup, tx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
