/*
 * The git exchange repository itself: commits and tips, append-only checks,
 * bad input, added-file streaming (order, and history rewritten behind our
 * back), ancestry, ref compare-and-swap, remotes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "helpers_exchange.h"

static void test_exchange__commit_and_tip(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git"), *again = NULL;
	ssync_oid_hex c1, c2;
	ssync_error err;
	void *data = NULL;
	size_t len = 0;

	ssync_error_clear(&err);
	tx_expect_no_ref(ex, NODE_A);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err,
		"seg/000000/000000000001.seg", "{\"seq\":1}\n",
		"seg/000000/000000000002.seg", "{\"seq\":2}\n", NULL), 0);
	assert_int_equal(strlen(c1.hex), 40);
	tx_expect_tip(ex, NODE_A, c1.hex);

	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err,
		"seg/000000/000000000003.seg", "{\"seq\":3}\n", NULL), 0);
	assert_string_not_equal(c1.hex, c2.hex);
	tx_expect_tip(ex, NODE_A, c2.hex);
	assert_int_equal(ssync_exchange_descends(ex, &c2, &c1, &err), 1);

	assert_int_equal(ssync_exchange_read_file(ex, &c2, "seg/000000/000000000001.seg",
		&data, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(data, "{\"seq\":1}\n", 10);
	free(data);
	assert_int_equal(ssync_exchange_read_file(ex, &c1, "seg/000000/000000000003.seg",
		&data, &len, &err), SSYNC_ENOTFOUND);
	assert_null(data);

	/* survives reopening; the repository is bare and tuned */
	ssync_exchange_free(ex);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&again, tx_path(f, "a.git"), 0, &err), 0);
	tx_expect_tip(again, NODE_A, c2.hex);
	ssync_exchange_free(again);
	assert_int_equal(access(tx_path(f, "a.git/HEAD"), F_OK), 0);
	assert_int_not_equal(access(tx_path(f, "a.git/.git"), F_OK), 0);

	/* open without create on a missing path fails and leaves *out NULL */
	again = (ssync_exchange *)1;
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&again, tx_path(f, "missing.git"), 0, &err),
		SSYNC_ENOTFOUND);
	assert_null(again);
}

static void test_exchange__append_only(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	ssync_oid_hex c1, c2;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err, "seg/1.seg", "one", NULL), 0);

	/* same path, other content: refused, tip unchanged */
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "ONE", NULL),
		SSYNC_EEXISTS);
	assert_non_null(strstr(err.message, "seg/1.seg"));
	tx_expect_tip(ex, NODE_A, c1.hex);

	/* a file where a directory is (and the reverse) */
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "seg", "x", NULL), SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg/x", "x", NULL),
		SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "new/a", "x", "new", "y", NULL),
		SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "dup", "x", "dup", "y", NULL),
		SSYNC_EEXISTS);
	tx_expect_tip(ex, NODE_A, c1.hex);

	/* a retried seal (same content) makes no commit */
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "one", NULL), 0);
	assert_string_equal(c2.hex, c1.hex);
	/* ... and the new part of a partly retried one is committed */
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "one",
		"seg/2.seg", "two", "seg/2.seg", "two", NULL), 0);
	assert_string_not_equal(c2.hex, c1.hex);
	ssync_exchange_free(ex);
}

static void test_exchange__bad_input(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	static const char *const bad_paths[] = { "", "/abs", "a//b", "a/", "./a", "a/../b",
		".git/x", "a/.GIT", "a\\b", "tab\there" };
	ssync_oid_hex tip;
	ssync_error err;
	size_t i;

	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(tx_commit_strs(ex, NODE_A, &tip, &err, bad_paths[i], "x", NULL),
			SSYNC_EINVAL);
	}
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, "refs/tags/x", &tip, &err, "a", "x", NULL), SSYNC_EINVAL);
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, "refs/heads/a..b", &tip, &err, "a", "x", NULL),
		SSYNC_EINVAL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_commit_files(ex, NODE_A, 0, NULL, NULL, NULL, "m",
		&tip, &err), SSYNC_EINVAL);
	ssync_error_clear(&err);
	snprintf(tip.hex, sizeof(tip.hex), "xyz");
	assert_int_equal(ssync_exchange_descends(ex, &tip, &tip, &err), SSYNC_EINVAL);
	tx_expect_no_ref(ex, NODE_A);
	ssync_exchange_free(ex);
}

static void test_exchange__added_files_order(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	ssync_oid_hex c1, c2, none = { "" };
	tx_seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;

	assert_non_null(s);
	ssync_error_clear(&err);
	/* given out of order; "a.b" sorts before "a/..." and "a/" before "a0" */
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err,
		"seg/000001/2.seg", "s12", "seg/000000/9.seg", "s09", "a0", "a0",
		"a/x", "ax", "a.b", "ab", NULL), 0);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err,
		"seg/000000/10.seg", "s010", "seg/000002/1.seg", "s21", "a/w", "aw", NULL), 0);

	assert_int_equal(ssync_exchange_added_files(ex, &none, &c1, tx_collect_cb, s, &err), 0);
	assert_int_equal(s->n, 5);
	assert_string_equal(s->paths[0], "a.b");
	assert_string_equal(s->first_data, "ab");
	assert_string_equal(s->paths[1], "a/x");
	assert_string_equal(s->paths[2], "a0");
	assert_string_equal(s->paths[3], "seg/000000/9.seg");
	assert_string_equal(s->paths[4], "seg/000001/2.seg");

	memset(s, 0, sizeof(*s));
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &c2, tx_collect_cb, s, &err), 0);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->paths[0], "a/w");
	assert_string_equal(s->first_data, "aw");
	assert_string_equal(s->paths[1], "seg/000000/10.seg");
	assert_string_equal(s->paths[2], "seg/000002/1.seg");

	/* nothing new */
	memset(s, 0, sizeof(*s));
	assert_int_equal(ssync_exchange_added_files(ex, &c2, &c2, tx_collect_cb, s, &err), 0);
	assert_int_equal(s->n, 0);

	/* a non-zero return stops the walk and is passed up */
	memset(s, 0, sizeof(*s));
	s->stop_after = 2;
	assert_int_equal(ssync_exchange_added_files(ex, &none, &c2, tx_collect_cb, s, &err), 42);
	assert_int_equal(s->n, 2);
	free(s);
	ssync_exchange_free(ex);
}

/* Write a commit on @p ref that upserts or removes @p path, with libgit2. */
static void raw_commit(const char *repo_path, const char *parent_hex, const char *ref,
	const char *path, const char *content, ssync_oid_hex *out)
{
	git_repository *repo;
	git_commit *parent;
	git_tree *base, *tree;
	git_signature *sig;
	git_tree_update up;
	git_oid pid, tid, cid;

	assert_int_equal(git_repository_open_bare(&repo, repo_path), 0);
	assert_int_equal(git_oid_fromstr(&pid, parent_hex), 0);
	assert_int_equal(git_commit_lookup(&parent, repo, &pid), 0);
	assert_int_equal(git_commit_tree(&base, parent), 0);
	memset(&up, 0, sizeof(up));
	up.path = path;
	if (content) {
		up.action = GIT_TREE_UPDATE_UPSERT;
		up.filemode = GIT_FILEMODE_BLOB;
		assert_int_equal(git_blob_create_from_buffer(&up.id, repo, content,
			strlen(content)), 0);
	} else {
		up.action = GIT_TREE_UPDATE_REMOVE;
	}
	assert_int_equal(git_tree_create_updated(&tid, repo, base, 1, &up), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
	assert_int_equal(git_signature_now(&sig, "evil", "evil@example"), 0);
	assert_int_equal(git_commit_create(&cid, repo, ref, sig, sig, NULL, "rewrite", tree, 1,
		(const git_commit **)&parent), 0);
	git_oid_tostr(out->hex, sizeof(out->hex), &cid);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	git_repository_free(repo);
}

static void test_exchange__added_files_rewrite(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	ssync_oid_hex c1, changed, removed, added;
	tx_seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;

	assert_non_null(s);
	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err,
		"seg/0/1.seg", "one", "seg/0/2.seg", "two", NULL), 0);
	raw_commit(tx_path(f, "a.git"), c1.hex, "refs/heads/node/evil", "seg/0/2.seg", "TWO",
		&changed);
	raw_commit(tx_path(f, "a.git"), c1.hex, "refs/heads/node/evil2", "seg/0/1.seg", NULL,
		&removed);
	/* a rewrite that also adds a file: the addition must not be streamed */
	raw_commit(tx_path(f, "a.git"), changed.hex, "refs/heads/node/evil3", "seg/0/0.seg",
		"zero", &added);

	assert_int_equal(ssync_exchange_added_files(ex, &c1, &changed, tx_collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, "seg/0/2.seg"));
	assert_int_equal(s->n, 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &removed, tx_collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, "seg/0/1.seg"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &added, tx_collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_int_equal(s->n, 0);
	/* the rewritten history is still a descendant: only the trees tell */
	assert_int_equal(ssync_exchange_descends(ex, &changed, &c1, &err), 1);
	free(s);
	ssync_exchange_free(ex);
}

static void test_exchange__descends(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	ssync_oid_hex c1, c2, other, none = { "" }, bogus;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err, "1", "1", NULL), 0);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "2", "2", NULL), 0);
	assert_int_equal(tx_commit_strs(ex, NODE_C, &other, &err, "1", "other", NULL), 0);

	assert_int_equal(ssync_exchange_descends(ex, &c2, &c1, &err), 1);
	assert_int_equal(ssync_exchange_descends(ex, &c1, &c2, &err), 0);
	assert_int_equal(ssync_exchange_descends(ex, &c1, &c1, &err), 1);
	assert_int_equal(ssync_exchange_descends(ex, &c2, &other, &err), 0);
	assert_int_equal(ssync_exchange_descends(ex, &c2, &none, &err), 1);
	assert_int_equal(ssync_exchange_descends(ex, &none, &c1, &err), 0);
	snprintf(bogus.hex, sizeof(bogus.hex), "%040d", 7);
	assert_int_equal(ssync_exchange_descends(ex, &bogus, &c1, &err), SSYNC_ENOTFOUND);
	ssync_exchange_free(ex);
}

static int list_cb(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	char *out = payload;

	(void)tip;
	strcat(out, ref);
	strcat(out, ";");
	return 0;
}

static void test_exchange__ref_update_cas(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	ssync_oid_hex c1, c2, none = { "" };
	ssync_error err;
	char listing[512] = "";

	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err, "1", "1", NULL), 0);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c2, &err, "2", "2", NULL), 0);

	/* create only if absent */
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c1, &none, "t",
		&err), 0);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &none, "t",
		&err), SSYNC_ECONFLICT);
	tx_expect_tip(ex, "refs/heads/node/b", c1.hex);
	/* move only from the expected value */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &c2, "t",
		&err), SSYNC_ECONFLICT);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &c1, "t",
		&err), 0);
	tx_expect_tip(ex, "refs/heads/node/b", c2.hex);
	/* expected value given but the ref is missing */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/zz", &c2, &c1, "t",
		&err), SSYNC_ECONFLICT);
	/* never point at an object we do not hold */
	ssync_error_clear(&err);
	snprintf(none.hex, sizeof(none.hex), "%040d", 1);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/zz", &none, NULL, "t",
		&err), SSYNC_EINVAL);
	ssync_error_clear(&err);
	none.hex[0] = '\0';
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/zz", &c1, &none, "t",
		&err), 0);

	assert_int_equal(ssync_exchange_refs(ex, "refs/heads/node/", list_cb, listing, &err), 0);
	assert_string_equal(listing,
		"refs/heads/node/b;refs/heads/node/sch-a;refs/heads/node/zz;");
	assert_int_equal(ssync_exchange_ref_delete(ex, "refs/heads/node/zz", &err), 0);
	assert_int_equal(ssync_exchange_ref_delete(ex, "refs/heads/node/zz", &err), 0);
	tx_expect_no_ref(ex, "refs/heads/node/zz");
	ssync_exchange_free(ex);
}

static int remote_cb(const char *name, const char *url, void *payload)
{
	char *out = payload;

	strcat(out, name);
	strcat(out, "=");
	strcat(out, url);
	strcat(out, ";");
	return 0;
}

static void test_exchange__remotes(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "a.git");
	static const char *const bad[] = { "", "-x", ".x", "a/b", "a..b", "x.lock", "a b",
		"a:b", "a.", "0123456789012345678901234567890123456789012345678901234567890123" };
	static const char *const bad_urls[] = { "", "relative/path", "ftp://x/y", "-oProxy=x:y",
		"http://x/\ny" };
	ssync_error err;
	char listing[1024] = "";
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ssync_exchange_remote_name_valid(bad[i]));
		ssync_error_clear(&err);
		assert_int_equal(ssync_exchange_remote_add(ex, bad[i], "/tmp/x.git", &err),
			SSYNC_EINVAL);
	}
	assert_true(ssync_exchange_remote_name_valid("hub"));
	assert_true(ssync_exchange_remote_name_valid("usb_2.stick-1"));
	assert_true(ssync_exchange_remote_name_valid(
		"012345678901234567890123456789012345678901234567890123456789012"));
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(ssync_exchange_remote_add(ex, "r", bad_urls[i], &err), SSYNC_EINVAL);
	}

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(ex, "usb", "/media/usb/district.git", &err), 0);
	assert_int_equal(ssync_exchange_remote_add(ex, "hub",
		"https://git.example.edu.cn/district.git", &err), 0);
	assert_int_equal(ssync_exchange_remote_add(ex, "ssh1", "git@hub.example:district.git",
		&err), 0);
	assert_int_equal(ssync_exchange_remote_add(ex, "hub", "/x.git", &err), SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_list(ex, remote_cb, listing, &err), 0);
	assert_string_equal(listing, "hub=https://git.example.edu.cn/district.git;"
		"ssh1=git@hub.example:district.git;usb=/media/usb/district.git;");

	assert_int_equal(ssync_exchange_remote_remove(ex, "ssh1", &err), 0);
	assert_int_equal(ssync_exchange_remote_remove(ex, "ssh1", &err), SSYNC_ENOTFOUND);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_remove(ex, "a/b", &err), SSYNC_EINVAL);
	ssync_error_clear(&err);
	listing[0] = '\0';
	assert_int_equal(ssync_exchange_remote_list(ex, remote_cb, listing, &err), 0);
	assert_string_equal(listing, "hub=https://git.example.edu.cn/district.git;"
		"usb=/media/usb/district.git;");
	assert_int_equal(ssync_exchange_fetch(ex, "nosuch", NULL, &err), SSYNC_ENOTFOUND);
	ssync_exchange_free(ex);
}

/* ssync_exchange_purge (PRIVACY.md §4): a replaced file's old commit,
 * tree and blob are gone from the object database -- loose objects and
 * packs -- while everything a ref reaches still reads. */
static void test_exchange__purge(void **state)
{
	tx_fixture *f = *state;
	ssync_exchange *ex = tx_open(f, "p.git");
	ssync_oid_hex old, now, c1;
	ssync_error err;
	void *data = NULL;
	size_t len = 0, removed = 0;
	git_repository *repo = NULL;
	git_oid blob;
	char ref[] = "refs/heads/keys/sch-a";

	ssync_error_clear(&err);
	assert_int_equal(tx_commit_strs(ex, NODE_A, &c1, &err, "seg/000000/000000000001.seg", "{\"seq\":1}\n", NULL), 0);
	assert_int_equal(ssync_exchange_replace_file(ex, ref, "keystore", "old secret\n", 11, "v1", &old, &err), 0);
	assert_int_equal(ssync_exchange_replace_file(ex, ref, "keystore", "new\n", 4, "v2", &now, &err), 0);
	assert_int_equal(git_odb_hash(&blob, "old secret\n", 11, GIT_OBJECT_BLOB), 0);
	assert_int_equal(git_repository_open_bare(&repo, tx_path(f, "p.git")), 0);
	assert_int_equal(git_blob_lookup((git_blob **)&data, repo, &blob), 0);
	git_blob_free(data);
	data = NULL;
	git_repository_free(repo);

	/* twice: the second run starts from the first one's pack */
	assert_int_equal(ssync_exchange_purge(ex, &removed, &err), 0);
	assert_true(removed > 0);
	assert_int_equal(ssync_exchange_purge(ex, &removed, &err), 0);
	assert_int_equal(git_repository_open_bare(&repo, tx_path(f, "p.git")), 0);
	assert_int_not_equal(git_blob_lookup((git_blob **)&data, repo, &blob), 0);
	git_repository_free(repo);
	data = NULL;
	assert_int_equal(ssync_exchange_read_single(ex, &now, "keystore", 100, &data, &len, &err), 0);
	assert_int_equal(len, 4);
	free(data);
	data = NULL;
	assert_int_equal(ssync_exchange_read_file(ex, &c1, "seg/000000/000000000001.seg", &data, &len, &err), 0);
	free(data);
	assert_int_equal(ssync_exchange_read_single(ex, &old, "keystore", 100, &data, &len, &err) < 0, 1);
	ssync_exchange_free(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exchange__commit_and_tip, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__append_only, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__bad_input, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__added_files_order, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__added_files_rewrite, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__descends, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__ref_update_cas, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__remotes, tx_setup, tx_teardown),
		cmocka_unit_test_setup_teardown(test_exchange__purge, tx_setup, tx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
