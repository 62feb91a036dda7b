/*
 * Unit tests of the git exchange repository: commits, append-only checks,
 * added-file streaming, ref compare-and-swap, remotes, and fetch/push
 * between repositories in temp directories (local path, file:// through the
 * fast path and through libgit2's transport). No network beyond 127.0.0.1.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <git2.h>

#include "schoolsync/exchange.h"

#define NODE_A "refs/heads/node/sch-a"
#define NODE_C "refs/heads/node/sch-c"
#define DISTRICT "refs/heads/district"

typedef struct fixture {
	char dir[256];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ssync-test-exchange-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	fixture *f = *state;

	assert_int_equal(nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static char *path_in(const fixture *f, const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, name);
	return buf[i];
}

static ssync_exchange *open_repo(const fixture *f, const char *name)
{
	ssync_exchange *ex = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&ex, path_in(f, name), 1, &err), 0);
	assert_non_null(ex);
	return ex;
}

/* Commit string files given as path, content, path, content, ..., NULL. */
static int commit_strs(ssync_exchange *ex, const char *ref, ssync_oid_hex *tip,
	ssync_error *err, ...)
{
	const char *paths[64];
	const void *datas[64];
	size_t lens[64], n = 0;
	const char *p;
	va_list ap;

	va_start(ap, err);
	while ((p = va_arg(ap, const char *)) != NULL) {
		paths[n] = p;
		datas[n] = va_arg(ap, const char *);
		lens[n] = strlen(datas[n]);
		n++;
	}
	va_end(ap);
	return ssync_exchange_commit_files(ex, ref, n, paths, datas, lens, "test", tip, err);
}

static void expect_tip(ssync_exchange *ex, const char *ref, const char *hex)
{
	ssync_oid_hex tip;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_tip(ex, ref, &tip, &err), 0);
	assert_string_equal(tip.hex, hex);
}

static void expect_no_ref(ssync_exchange *ex, const char *ref)
{
	ssync_oid_hex tip;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_tip(ex, ref, &tip, &err), SSYNC_ENOTFOUND);
}

/* Collects what added_files streams. */
typedef struct seen_files {
	char paths[1024][64];
	char first_data[64];
	size_t n;
	size_t stop_after;   /* 0 = never */
} seen_files;

static int collect_cb(const char *path, const void *data, size_t len, void *payload)
{
	seen_files *s = payload;

	if (s->n < 1024)
		snprintf(s->paths[s->n], sizeof(s->paths[s->n]), "%s", path);
	if (s->n == 0)
		snprintf(s->first_data, sizeof(s->first_data), "%.*s", (int)len, (const char *)data);
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return 42;
	return 0;
}

/* ------------------------------------------------------------------ */

static void test_exchange__commit_and_tip(void **state)
{
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git"), *again = NULL;
	ssync_oid_hex c1, c2;
	ssync_error err;
	void *data = NULL;
	size_t len = 0;

	ssync_error_clear(&err);
	expect_no_ref(ex, NODE_A);
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err,
		"seg/000000/000000000001.seg", "{\"seq\":1}\n",
		"seg/000000/000000000002.seg", "{\"seq\":2}\n", NULL), 0);
	assert_int_equal(strlen(c1.hex), 40);
	expect_tip(ex, NODE_A, c1.hex);

	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err,
		"seg/000000/000000000003.seg", "{\"seq\":3}\n", NULL), 0);
	assert_string_not_equal(c1.hex, c2.hex);
	expect_tip(ex, NODE_A, c2.hex);
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
	assert_int_equal(ssync_exchange_open(&again, path_in(f, "a.git"), 0, &err), 0);
	expect_tip(again, NODE_A, c2.hex);
	ssync_exchange_free(again);
	assert_int_equal(access(path_in(f, "a.git/HEAD"), F_OK), 0);
	assert_int_not_equal(access(path_in(f, "a.git/.git"), F_OK), 0);

	/* open without create on a missing path fails and leaves *out NULL */
	again = (ssync_exchange *)1;
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&again, path_in(f, "missing.git"), 0, &err),
		SSYNC_ENOTFOUND);
	assert_null(again);
}

static void test_exchange__append_only(void **state)
{
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	ssync_oid_hex c1, c2;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err, "seg/1.seg", "one", NULL), 0);

	/* same path, other content: refused, tip unchanged */
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "ONE", NULL),
		SSYNC_EEXISTS);
	assert_non_null(strstr(err.message, "seg/1.seg"));
	expect_tip(ex, NODE_A, c1.hex);

	/* a file where a directory is (and the reverse) */
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "seg", "x", NULL), SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg/x", "x", NULL),
		SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "new/a", "x", "new", "y", NULL),
		SSYNC_EEXISTS);
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "dup", "x", "dup", "y", NULL),
		SSYNC_EEXISTS);
	expect_tip(ex, NODE_A, c1.hex);

	/* a retried seal (same content) makes no commit */
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "one", NULL), 0);
	assert_string_equal(c2.hex, c1.hex);
	/* ... and the new part of a partly retried one is committed */
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "seg/1.seg", "one",
		"seg/2.seg", "two", "seg/2.seg", "two", NULL), 0);
	assert_string_not_equal(c2.hex, c1.hex);
	ssync_exchange_free(ex);
}

static void test_exchange__bad_input(void **state)
{
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	static const char *const bad_paths[] = { "", "/abs", "a//b", "a/", "./a", "a/../b",
		".git/x", "a/.GIT", "a\\b", "tab\there" };
	ssync_oid_hex tip;
	ssync_error err;
	size_t i;

	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(commit_strs(ex, NODE_A, &tip, &err, bad_paths[i], "x", NULL),
			SSYNC_EINVAL);
	}
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, "refs/tags/x", &tip, &err, "a", "x", NULL), SSYNC_EINVAL);
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, "refs/heads/a..b", &tip, &err, "a", "x", NULL),
		SSYNC_EINVAL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_commit_files(ex, NODE_A, 0, NULL, NULL, NULL, "m",
		&tip, &err), SSYNC_EINVAL);
	ssync_error_clear(&err);
	snprintf(tip.hex, sizeof(tip.hex), "xyz");
	assert_int_equal(ssync_exchange_descends(ex, &tip, &tip, &err), SSYNC_EINVAL);
	expect_no_ref(ex, NODE_A);
	ssync_exchange_free(ex);
}

static void test_exchange__added_files_order(void **state)
{
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	ssync_oid_hex c1, c2, none = { "" };
	seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;

	assert_non_null(s);
	ssync_error_clear(&err);
	/* given out of order; "a.b" sorts before "a/..." and "a/" before "a0" */
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err,
		"seg/000001/2.seg", "s12", "seg/000000/9.seg", "s09", "a0", "a0",
		"a/x", "ax", "a.b", "ab", NULL), 0);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err,
		"seg/000000/10.seg", "s010", "seg/000002/1.seg", "s21", "a/w", "aw", NULL), 0);

	assert_int_equal(ssync_exchange_added_files(ex, &none, &c1, collect_cb, s, &err), 0);
	assert_int_equal(s->n, 5);
	assert_string_equal(s->paths[0], "a.b");
	assert_string_equal(s->first_data, "ab");
	assert_string_equal(s->paths[1], "a/x");
	assert_string_equal(s->paths[2], "a0");
	assert_string_equal(s->paths[3], "seg/000000/9.seg");
	assert_string_equal(s->paths[4], "seg/000001/2.seg");

	memset(s, 0, sizeof(*s));
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &c2, collect_cb, s, &err), 0);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->paths[0], "a/w");
	assert_string_equal(s->first_data, "aw");
	assert_string_equal(s->paths[1], "seg/000000/10.seg");
	assert_string_equal(s->paths[2], "seg/000002/1.seg");

	/* nothing new */
	memset(s, 0, sizeof(*s));
	assert_int_equal(ssync_exchange_added_files(ex, &c2, &c2, collect_cb, s, &err), 0);
	assert_int_equal(s->n, 0);

	/* a non-zero return stops the walk and is passed up */
	memset(s, 0, sizeof(*s));
	s->stop_after = 2;
	assert_int_equal(ssync_exchange_added_files(ex, &none, &c2, collect_cb, s, &err), 42);
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
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	ssync_oid_hex c1, changed, removed, added;
	seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;

	assert_non_null(s);
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err,
		"seg/0/1.seg", "one", "seg/0/2.seg", "two", NULL), 0);
	raw_commit(path_in(f, "a.git"), c1.hex, "refs/heads/node/evil", "seg/0/2.seg", "TWO",
		&changed);
	raw_commit(path_in(f, "a.git"), c1.hex, "refs/heads/node/evil2", "seg/0/1.seg", NULL,
		&removed);
	/* a rewrite that also adds a file: the addition must not be streamed */
	raw_commit(path_in(f, "a.git"), changed.hex, "refs/heads/node/evil3", "seg/0/0.seg",
		"zero", &added);

	assert_int_equal(ssync_exchange_added_files(ex, &c1, &changed, collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, "seg/0/2.seg"));
	assert_int_equal(s->n, 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &removed, collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, "seg/0/1.seg"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_added_files(ex, &c1, &added, collect_cb, s, &err),
		SSYNC_EREWRITE);
	assert_int_equal(s->n, 0);
	/* the rewritten history is still a descendant: only the trees tell */
	assert_int_equal(ssync_exchange_descends(ex, &changed, &c1, &err), 1);
	free(s);
	ssync_exchange_free(ex);
}

static void test_exchange__descends(void **state)
{
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	ssync_oid_hex c1, c2, other, none = { "" }, bogus;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err, "1", "1", NULL), 0);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "2", "2", NULL), 0);
	assert_int_equal(commit_strs(ex, NODE_C, &other, &err, "1", "other", NULL), 0);

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
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
	ssync_oid_hex c1, c2, none = { "" };
	ssync_error err;
	char listing[512] = "";

	ssync_error_clear(&err);
	assert_int_equal(commit_strs(ex, NODE_A, &c1, &err, "1", "1", NULL), 0);
	assert_int_equal(commit_strs(ex, NODE_A, &c2, &err, "2", "2", NULL), 0);

	/* create only if absent */
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c1, &none, "t",
		&err), 0);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &none, "t",
		&err), SSYNC_ECONFLICT);
	expect_tip(ex, "refs/heads/node/b", c1.hex);
	/* move only from the expected value */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &c2, "t",
		&err), SSYNC_ECONFLICT);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(ex, "refs/heads/node/b", &c2, &c1, "t",
		&err), 0);
	expect_tip(ex, "refs/heads/node/b", c2.hex);
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
	expect_no_ref(ex, "refs/heads/node/zz");
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
	fixture *f = *state;
	ssync_exchange *ex = open_repo(f, "a.git");
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

/* ------------------------------------------------------------------ */
/* fetch and push                                                      */

enum url_kind { URL_PATH, URL_FILE, URL_FILE_LIBGIT2 };

static void make_url(char *out, size_t cap, const char *path, enum url_kind kind)
{
	snprintf(out, cap, "%s%s", kind == URL_PATH ? "" : "file://", path);
}

static ssync_exchange *open_remote(const fixture *f, enum url_kind kind, const char *name)
{
	ssync_exchange *ex = open_repo(f, name);

	if (kind == URL_FILE_LIBGIT2)
		ssync_exchange_set_local_fastpath(ex, 0);
	return ex;
}

static void sync_scenario(void **state, enum url_kind kind)
{
	fixture *f = *state;
	ssync_exchange *a = open_remote(f, kind, "a.git");
	ssync_exchange *b = open_remote(f, kind, "b.git");
	ssync_exchange *c = open_remote(f, kind, "c.git");
	ssync_exchange *r = NULL;
	const char *push_a[] = { NODE_A, DISTRICT };
	const char *push_c[] = { NODE_A, NODE_C };
	ssync_oid_hex a1, a2, d1, cx, cc, none = { "" };
	seen_files *s = calloc(1, sizeof(*s));
	ssync_error err;
	char url[512];

	assert_non_null(s);
	ssync_error_clear(&err);
	make_url(url, sizeof(url), path_in(f, "hub.git"), kind);
	if (kind == URL_FILE_LIBGIT2) {
		/* libgit2's transport cannot create the remote */
		r = open_repo(f, "hub.git");
		ssync_exchange_free(r);
	}
	assert_int_equal(ssync_exchange_remote_add(a, "hub", url, &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "hub", url, &err), 0);
	assert_int_equal(ssync_exchange_remote_add(c, "hub", url, &err), 0);

	/* an empty remote: fetch is fine and changes nothing */
	if (kind == URL_FILE_LIBGIT2) {
		assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
		expect_no_ref(b, "refs/remotes/hub/node/sch-a");
	}

	assert_int_equal(commit_strs(a, NODE_A, &a1, &err, "seg/1.seg", "a-one",
		"seg/2.seg", "a-two", NULL), 0);
	assert_int_equal(commit_strs(a, DISTRICT, &d1, &err, "cert/sch-a", "cert", NULL), 0);
	assert_int_equal(ssync_exchange_push(a, "hub", 2, push_a, NULL, &err), 0);
	expect_tip(a, "refs/remotes/hub/node/sch-a", a1.hex);

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&r, path_in(f, "hub.git"), 0, &err), 0);
	expect_tip(r, NODE_A, a1.hex);
	expect_tip(r, DISTRICT, d1.hex);

	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	expect_tip(b, "refs/remotes/hub/node/sch-a", a1.hex);
	expect_tip(b, "refs/remotes/hub/district", d1.hex);
	expect_no_ref(b, NODE_A); /* local branches are never touched */
	assert_int_equal(ssync_exchange_added_files(b, &none, &a1, collect_cb, s, &err), 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->first_data, "a-one");

	/* fast-forward */
	assert_int_equal(commit_strs(a, NODE_A, &a2, &err, "seg/3.seg", "a-three", NULL), 0);
	assert_int_equal(ssync_exchange_push(a, "hub", 1, push_a, NULL, &err), 0);
	expect_tip(r, NODE_A, a2.hex);
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	expect_tip(b, "refs/remotes/hub/node/sch-a", a2.hex);
	assert_int_equal(ssync_exchange_descends(b, &a2, &a1, &err), 1);

	/* a diverged branch is refused; the other ref still goes through */
	assert_int_equal(commit_strs(c, NODE_A, &cx, &err, "seg/1.seg", "forged", NULL), 0);
	assert_int_equal(commit_strs(c, NODE_C, &cc, &err, "seg/1.seg", "c-one", NULL), 0);
	assert_int_equal(ssync_exchange_fetch(c, "hub", NULL, &err), 0);
	assert_int_equal(ssync_exchange_push(c, "hub", 2, push_c, NULL, &err), SSYNC_EREWRITE);
	assert_non_null(strstr(err.message, NODE_A));
	expect_tip(r, NODE_A, a2.hex);
	expect_tip(r, NODE_C, cc.hex);

	/* the remote already has more than we push: nothing to do */
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_update(b, NODE_A, &a1, &none, "t", &err), 0);
	assert_int_equal(ssync_exchange_push(b, "hub", 1, push_a, NULL, &err), 0);
	expect_tip(r, NODE_A, a2.hex);

	/* branches that vanish on the remote vanish from tracking refs; bad names never come */
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	expect_tip(b, "refs/remotes/hub/node/sch-c", cc.hex);
	assert_int_equal(ssync_exchange_ref_delete(r, NODE_C, &err), 0);
	assert_int_equal(ssync_exchange_ref_update(r, "refs/heads/node/Bad_Name", &a1, &none, "t",
		&err), 0);
	assert_int_equal(ssync_exchange_fetch(b, "hub", NULL, &err), 0);
	expect_no_ref(b, "refs/remotes/hub/node/sch-c");
	expect_no_ref(b, "refs/remotes/hub/node/Bad_Name");
	expect_tip(b, "refs/remotes/hub/node/sch-a", a2.hex);
	expect_tip(b, "refs/remotes/hub/district", d1.hex);

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
	fixture *f = *state;
	ssync_exchange *a = open_repo(f, "a.git"), *b = open_repo(f, "b.git"), *r = NULL;
	const char *refs[] = { NODE_A };
	ssync_oid_hex tip, none = { "" };
	ssync_error err;
	size_t n = 0;

	big_branch(a, 600, 3, &tip);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(a, "usb", path_in(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "usb", path_in(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_push(a, "usb", 1, refs, NULL, &err), 0);
	assert_true(count_packs(path_in(f, "usb.git/objects/pack")) >= 1);
	assert_int_equal(ssync_exchange_fetch(b, "usb", NULL, &err), 0);
	assert_true(count_packs(path_in(f, "b.git/objects/pack")) >= 1);
	expect_tip(b, "refs/remotes/usb/node/sch-a", tip.hex);
	assert_int_equal(ssync_exchange_added_files(b, &none, &tip, count_cb, &n, &err), 0);
	assert_int_equal(n, 600);

	/* a fresh handle (no cached odb) sees everything too */
	ssync_exchange_free(b);
	assert_int_equal(ssync_exchange_open(&r, path_in(f, "b.git"), 0, &err), 0);
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
	fixture *f = *state;
	ssync_exchange *a = open_repo(f, "a.git"), *b = open_repo(f, "b.git");
	ssync_transfer_opts opts = SSYNC_TRANSFER_OPTS_INIT;
	const char *refs[] = { NODE_A };
	cancel_state cs;
	ssync_oid_hex tip, small;
	ssync_error err;

	big_branch(a, 300, 2, &tip);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_remote_add(a, "usb", path_in(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_remote_add(b, "usb", path_in(f, "usb.git"), &err), 0);

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
	expect_no_ref(b, "refs/remotes/usb/node/sch-a");
	assert_int_equal(count_stray(path_in(f, "b.git/objects/pack")), 0);

	/* and a small (loose object) one */
	ssync_error_clear(&err);
	assert_int_equal(commit_strs(a, "refs/heads/node/small", &small, &err, "x", "y", NULL), 0);
	{
		const char *sr[] = { "refs/heads/node/small" };
		opts.progress = NULL;
		assert_int_equal(ssync_exchange_push(a, "usb", 1, sr, &opts, &err), 0);
	}
	ssync_exchange_free(b);
	b = open_repo(f, "b2.git");
	assert_int_equal(ssync_exchange_remote_add(b, "usb", path_in(f, "usb.git"), &err), 0);
	assert_int_equal(ssync_exchange_fetch(b, "usb", NULL, &err), 0);
	expect_tip(b, "refs/remotes/usb/node/small", small.hex);
	ssync_exchange_free(a);
	a = open_repo(f, "a.git");
	assert_int_equal(commit_strs(a, "refs/heads/node/small", &small, &err, "z", "w", NULL), 0);
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_exchange__unreachable(void **state)
{
	fixture *f = *state;
	ssync_exchange *a = open_repo(f, "a.git");
	const char *refs[] = { NODE_A };
	ssync_oid_hex tip;
	ssync_error err;
	double t0;

	ssync_error_clear(&err);
	assert_int_equal(commit_strs(a, NODE_A, &tip, &err, "x", "y", NULL), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "gone", "/nonexistent/ssync/x.git", &err), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "gonefile", "file:///nonexistent/x.git",
		&err), 0);
	assert_int_equal(ssync_exchange_remote_add(a, "dead", "git://127.0.0.1:1/x", &err), 0);

	t0 = now_s();
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
	assert_true(now_s() - t0 < 10.0);
	ssync_exchange_free(a);
}

static void test_exchange__secrets_not_logged(void **state)
{
	fixture *f = *state;
	ssync_exchange *a = open_repo(f, "a.git");
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

/*
 * Leaks inside libgit2 1.5 itself, for sanitizer builds: pcre2 match data
 * is not freed when a config regex does not match (every remote lookup),
 * and a refused git:// connection leaks its transport.
 */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exchange__commit_and_tip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__added_files_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__added_files_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__descends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__ref_update_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__remotes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_local_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_file_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_file_url_libgit2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__sync_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__progress_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange__secrets_not_logged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
