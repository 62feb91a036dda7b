/*
 * Fetch and push between repositories in temp directories: local path,
 * file:// through the fast path and through libgit2's transport; remotes
 * that cannot be reached; secrets kept out of messages. No network beyond
 * 127.0.0.1. Large transfers (packs, progress, cancel): test_exchange_pack.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers_exchange.h"


/* ------------------------------------------------------------------ */
/* fetch and push                                                      */

enum url_kind { URL_PATH, URL_FILE, URL_FILE_LIBGIT2 };

static void make_url(char *out, size_t cap, const char *path, enum url_kind kind)
{
	snprintf(out, cap, "%s%s", kind == URL_PATH ? "" : "file://", path);
}

static ssync_exchange *open_remote(const tx_fixture *f, enum url_kind kind, const char *name)
{
	ssync_exchange *ex = tx_open(f, name);

	if (kind == URL_FILE_LIBGIT2)
		ssync_exchange_set_local_fastpath(ex, 0);
	return ex;
}

static void sync_scenario(void **state, enum url_kind kind)
{
	tx_fixture *f = *state;
	ssync_exchange *a = open_remote(f, kind, "a.git");
	ssync_exchange *b = open_remote(f, kind, "b.git");
	ssync_exchange *c = open_remote(f, kind, "c.git");
	ssync_exchange *r = NULL;
	const char *push_a[] = { NODE_A, DISTRICT };
	const char *push_c[] = { NODE_A, NODE_C };
	ssync_oid_hex a1, a2, d1, cx, cc, none = { "" };
	tx_seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;
	char url[512];

	assert_non_null(s);
	ssync_error_clear(&err);
	make_url(url, sizeof(url), tx_path(f, "hub.git"), kind);
	if (kind == URL_FILE_LIBGIT2) {
		/* libgit2's transport cannot create the remote */
		r = tx_open(f, "hub.git");
		ssync_exchange_free(r);
	}
	assert_int_equal(ssync_exchange_remote_add(a, "hub", url, &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "hub", url, &err), 0);
	assert_int_equal(ssync_exchange_remote_add(c, "hub", url, &err), 0);

	/* an empty remote: fetch is fine and changes nothing */
	if (kind == URL_FILE_LIBGIT2) {
		assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
		tx_expect_no_ref(b, "refs/remotes/hub/node/sch-a");
	}

	assert_int_equal(tx_commit_strs(a, NODE_A, &a1, &err, "seg/1.seg", "a-one",
		"seg/2.seg", "a-two", NULL), 0);
	assert_int_equal(tx_commit_strs(a, DISTRICT, &d1, &err, "cert/sch-a", "cert", NULL), 0);
	assert_int_equal(ssync_exchange_push(a, "hub", 2, push_a, NULL, &err), 0);
	tx_expect_tip(a, "refs/remotes/hub/node/sch-a", a1.hex);

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&r, tx_path(f, "hub.git"), 0, &err), 0);
	tx_expect_tip(r, NODE_A, a1.hex);
	tx_expect_tip(r, DISTRICT, d1.hex);

	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	tx_expect_tip(b, "refs/remotes/hub/node/sch-a", a1.hex);
	tx_expect_tip(b, "refs/remotes/hub/district", d1.hex);
	tx_expect_no_ref(b, NODE_A); /* local branches are never touched */
	assert_int_equal(ssync_exchange_added_files(b, &none, &a1, tx_collect_cb, s, &err), 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->first_data, "a-one");

	/* fast-forward */
	assert_int_equal(tx_commit_strs(a, NODE_A, &a2, &err, "seg/3.seg", "a-three", NULL), 0);
	assert_int_equal(ssync_exchange_push(a, "hub", 1, push_a, NULL, &err), 0);
	tx_expect_tip(r, NODE_A, a2.hex);
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	tx_expect_tip(b, "refs/remotes/hub/node/sch-a", a2.hex);
	assert_int_equal(ssync_exchange_descends(b, &a2, &a1, &err), 1);

	/* a diverged branch is refused; the other ref still goes through */
	assert_int_equal(tx_commit_strs(c, NODE_A, &cx, &err, "seg/1.seg", "forged", NULL), 0);
	assert_int_equal(tx_commit_strs(c, NODE_C, &cc, &err, "seg/1.seg", "c-one", NULL), 0);
	assert_int_equal(ssync_exchange_fetch(c, "hub", NULL, &err), 0);
	assert_int_equal(ssync_exchange_push(c, "hub", 2, push_c, NULL, &err), SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, NODE_A));
	tx_expect_tip(r, NODE_A, a2.hex);
	tx_expect_tip(r, NODE_C, cc.hex);

	/* a lease replaces the remote's tip only if it is exactly the one given
	 * (remote repair); then the owner's branch is put back the same way */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_push_lease(c, "hub", NODE_A, &a1, NULL, &err), SSYNC_ECONFLICT);
	assert_non_null(strstr(err.message, "moved"));
	tx_expect_tip(r, NODE_A, a2.hex);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_push_lease(c, "hub", NODE_A, &a2, NULL, &err), 0);
	tx_expect_tip(r, NODE_A, cx.hex);
	tx_expect_tip(c, "refs/remotes/hub/node/sch-a", cx.hex);
	assert_int_equal(ssync_exchange_push_lease(a, "hub", NODE_A, &cx, NULL, &err), 0);
	tx_expect_tip(r, NODE_A, a2.hex);

	/* the remote already has more than we push: nothing to do */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(b, NODE_A, &a1, &none, "t", &err), 0);
	assert_int_equal(ssync_exchange_push(b, "hub", 1, push_a, NULL, &err), 0);
	tx_expect_tip(r, NODE_A, a2.hex);

	/* branches that vanish on the remote vanish from tracking refs; bad names never come */
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	tx_expect_tip(b, "refs/remotes/hub/node/sch-c", cc.hex);
	assert_int_equal(ssync_exchange_ref_delete(r, NODE_C, &err), 0);
	assert_int_equal(ssync_exchange_ref_update(r, "refs/heads/node/Bad_Name", &a1, &none, "t",
		&err), 0);
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	tx_expect_no_ref(b, "refs/remotes/hub/node/sch-c");
	tx_expect_no_ref(b, "refs/remotes/hub/node/Bad_Name");
	tx_expect_tip(b, "refs/remotes/hub/node/sch-a", a2.hex);
	tx_expect_tip(b, "refs/remotes/hub/district", d1.hex);

	/* a pushed ref the remote lacks and we cannot name */
	{
		const char *bad[] = { "refs/heads/other" };
		assert_int_equal(ssync_exchange_push(b, "hub", 1, bad, NULL, &err), SSYNC_EINVAL);
		ssync_error_clear(&err);
	}
	free(s);
	ssync_exchange_free(r);
	ssync_exchange_free(a);
	ssync_exchange_free(b);
	ssync_exchange_free(c);
}

static void test_exchange__sync_local_path(void **state)
{
	sync_scenario(state, URL_PATH);
}

static void test_exchange__sync_file_url(void **state)
{
	sync_scenario(state, URL_FILE);
}

static void test_exchange__sync_file_url_libgit2(void **state)
{
	sync_scenario(state, URL_FILE_LIBGIT2);
}

static void test_exchange__unreachable(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *a = tx_open(f, "a.git");
	const char *refs[] = { NODE_A };
	ssync_oid_hex tip;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(a, NODE_A, &tip, &err, "x", "y", NULL), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "gone", "/nonexistent/ssync/x.git", &err), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "gonefile", "file:///nonexistent/x.git",
		&err), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "dead", "git://127.0.0.1:1/x", &err), 0);

	assert_int_equal(ssync_exchange_fetch(a, "gone", NULL, &err), SSYNC_ENET);
	assert_non_null(strstr(err.message, "gone"));
	assert_true(err.hint[0] != '\0');
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_fetch(a, "gonefile", NULL, &err), SSYNC_ENET);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_fetch(a, "dead", NULL, &err), SSYNC_ENET);
	assert_non_null(strstr(err.message, "dead"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_push(a, "dead", 1, refs, NULL, &err), SSYNC_ENET);
	ssync_error_clear(&err);
	/* a stick that is not mounted: the path is never created */
	assert_int_equal(ssync_exchange_push(a, "gone", 1, refs, NULL, &err), SSYNC_ENET);
	assert_int_not_equal(access("/nonexistent/ssync", F_OK), 0);
	ssync_error_clear(&err);
	ssync_exchange_set_local_fastpath(a, 0);
	assert_int_equal(ssync_exchange_fetch(a, "gone", NULL, &err), SSYNC_ENET);
	ssync_exchange_free(a);
}

static void test_exchange__secrets_not_logged(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *a = tx_open(f, "a.git");
	ssync_transfer_opts opts = SSYNC_TRANSFER_OPTS_INIT;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(a, "h",
		"http://user:s3cr3tpass@127.0.0.1:1/x.git", &err), 0);
	opts.https_token = "tok-abcdef";
	assert_int_equal(ssync_exchange_fetch(a, "h", &opts, &err), SSYNC_ENET);
	assert_null(strstr(err.message, "s3cr3tpass"));
	assert_null(strstr(err.message, "tok-abcdef"));
	ssync_exchange_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exchange__sync_local_path, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_file_url, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_file_url_libgit2, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__unreachable, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__secrets_not_logged, tx_setup, tx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
