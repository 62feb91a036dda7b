/*
 * Branch shape (issue 13): a relay must not take, and so never pass on,
 * objects a git server that checks objects refuses. Commits are crafted
 * byte for byte through libgit2's object database on the hub; a receiving
 * node must quarantine the branch head, keep its copy where it was, and go
 * on with the other branches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "helpers_core.h"
#include "schoolsync/exchange.h"
#include "schoolsync/sync.h"

typedef struct fx {
	char *dir, *hub, *ha, *hb, *hc;
	ssync_node *a, *b, *c;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	ssync_exchange *hub = NULL;

	git_libgit2_init();
	f->dir = th_tmpdir();
	f->hub = malloc(4096);
	snprintf(f->hub, 4096, "%s/hub.git", f->dir);
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 1, NULL), 0);
	ssync_exchange_free(hub);
	f->ha = th_node_home(f->dir, "sch-a");
	f->hb = th_node_home(f->dir, "sch-b");
	f->hc = th_node_home(f->dir, "sch-c");
	f->a = th_open(f->ha);
	f->b = th_open(f->hb);
	f->c = th_open(f->hc);
	th_add_remote(f->a, "hub", f->hub);
	th_add_remote(f->b, "hub", f->hub);
	th_add_remote(f->c, "hub", f->hub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_node_free(f->a);
	ssync_node_free(f->b);
	ssync_node_free(f->c);
	th_rmtree(f->dir);
	free(f->ha);
	free(f->hb);
	free(f->hc);
	free(f->hub);
	free(f->dir);
	free(f);
	git_libgit2_shutdown();
	return 0;
}

typedef struct raw_ent {
	const char *mode, *name;
	const git_oid *id;
	size_t name_len; /* 0: strlen(name) (lets a test put a NUL in a name) */
} raw_ent;

/* Write a tree object with exactly these bytes, in the order given. */
static void raw_tree(git_oid *out, git_odb *odb, const raw_ent *e, size_t n)
{
	char buf[4096];
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		size_t nl = e[i].name_len ? e[i].name_len : strlen(e[i].name);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s ", e[i].mode);
		memcpy(buf + len, e[i].name, nl);
		len += nl;
		buf[len++] = '\0';
		memcpy(buf + len, e[i].id->id, GIT_OID_RAWSZ);
		len += GIT_OID_RAWSZ;
	}
	assert_int_equal(git_odb_write(out, odb, buf, len, GIT_OBJECT_TREE), 0);
}

static void raw_commit(git_oid *out, git_odb *odb, const git_oid *tree, const git_oid *parent,
	const char *extra_headers, const char *author)
{
	char buf[2048], t[GIT_OID_HEXSZ + 1], p[GIT_OID_HEXSZ + 1];
	int len;

	git_oid_tostr(t, sizeof(t), tree);
	git_oid_tostr(p, sizeof(p), parent);
	len = snprintf(buf, sizeof(buf), "tree %s\nparent %s\n%sauthor %s\ncommitter %s\n\nevil\n", t, p,
		extra_headers ? extra_headers : "", author ? author : "x <x@y> 1 +0000", "x <x@y> 1 +0000");
	assert_int_equal(git_odb_write(out, odb, buf, (size_t)len, GIT_OBJECT_COMMIT), 0);
}

/*
 * On the hub, make a commit on node/sch-a whose seg/ folder gains @p bad
 * (mode and name) next to what sch-a wrote. Returns the new tip.
 */
typedef struct variant {
	const char *what, *mode, *name;
	size_t name_len;
	int as_root;     /* put the entry in the root tree instead of seg/ */
	const char *headers, *author;
	int unsorted;
} variant;

static void craft(git_oid *tip_out, const char *hub, const variant *v)
{
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	git_reference *ref = NULL;
	git_commit *tip = NULL;
	git_tree *root = NULL, *seg = NULL;
	const git_tree_entry *nj, *segdir, *d0;
	git_oid blob, seg_id, root_id;
	raw_ent se[3], re[3];
	size_t ns = 0, nr = 0;

	assert_int_equal(git_repository_open(&repo, hub), 0);
	assert_int_equal(git_repository_odb(&odb, repo), 0);
	assert_int_equal(git_reference_lookup(&ref, repo, "refs/heads/node/sch-a"), 0);
	assert_int_equal(git_commit_lookup(&tip, repo, git_reference_target(ref)), 0);
	assert_int_equal(git_commit_tree(&root, tip), 0);
	assert_non_null(nj = git_tree_entry_byname(root, "node.json"));
	assert_non_null(segdir = git_tree_entry_byname(root, "seg"));
	assert_int_equal(git_tree_lookup(&seg, repo, git_tree_entry_id(segdir)), 0);
	assert_non_null(d0 = git_tree_entry_byname(seg, "0000000"));
	assert_int_equal(git_odb_write(&blob, odb, "x\n", 2, GIT_OBJECT_BLOB), 0);
	if (!v->as_root && !v->unsorted)
		se[ns++] = (raw_ent){ v->mode, v->name, &blob, v->name_len };
	se[ns++] = (raw_ent){ "40000", "0000000", git_tree_entry_id(d0), 0 };
	if (v->unsorted)
		se[ns++] = (raw_ent){ "40000", "0000000", git_tree_entry_id(d0), 0 };
	raw_tree(&seg_id, odb, se, ns);
	if (v->as_root)
		re[nr++] = (raw_ent){ v->mode, v->name, &blob, v->name_len };
	re[nr++] = (raw_ent){ "100644", "node.json", git_tree_entry_id(nj), 0 };
	re[nr++] = (raw_ent){ "40000", "seg", &seg_id, 0 };
	raw_tree(&root_id, odb, re, nr);
	raw_commit(tip_out, odb, &root_id, git_commit_id(tip), v->headers, v->author);
	git_reference_free(ref);
	ref = NULL;
	assert_int_equal(git_reference_create(&ref, repo, "refs/heads/node/sch-a", tip_out, 1, "evil"), 0);
	git_reference_free(ref);
	git_tree_free(seg);
	git_tree_free(root);
	git_commit_free(tip);
	git_odb_free(odb);
	git_repository_free(repo);
}

static void hex_of(ssync_oid_hex *h, const git_oid *id)
{
	git_oid_tostr(h->hex, sizeof(h->hex), id);
}

static void test_shape__writer_output_passes(void **state)
{
	fx *f = *state;
	ssync_exchange *hub = NULL;
	ssync_oid_hex tip, none;
	ssync_error err;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	th_sync_ok(f->a, NULL);
	ssync_error_clear(&err);
	memset(&none, 0, sizeof(none));
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 0, &err), 0);
	assert_int_equal(ssync_exchange_ref_tip(hub, "refs/heads/node/sch-a", &tip, &err), 0);
	if (ssync_exchange_check_shape(hub, SSYNC_SHAPE_NODE, &none, &tip, NULL, &err) != 0)
		fail_msg("%s", err.message);
	/* the node layout is not the district layout */
	assert_int_equal(ssync_exchange_check_shape(hub, SSYNC_SHAPE_DISTRICT, &none, &tip, NULL, &err), SSYNC_ECORRUPT);
	ssync_exchange_free(hub);
}

static const variant variants[] = {
	{ "dotdot", "100644", "..", 0, 0, NULL, NULL, 0 },
	{ "dot", "100644", ".", 0, 0, NULL, NULL, 0 },
	{ "dotgit", "40000", ".git", 0, 1, NULL, NULL, 0 },
	{ "dotGIT", "100644", ".GIT", 0, 1, NULL, NULL, 0 },
	{ "empty", "100644", "", 0, 0, NULL, NULL, 0 },
	{ "slash", "100644", "a/b", 0, 0, NULL, NULL, 0 },
	{ "nul", "100644", "ab\0cd", 5, 0, NULL, NULL, 0 },
	{ "exec", "100755", "000000000009.seg", 0, 0, NULL, NULL, 0 },
	{ "symlink", "120000", "000000000009.seg", 0, 0, NULL, NULL, 0 },
	{ "gitlink", "160000", "000000000009.seg", 0, 0, NULL, NULL, 0 },
	{ "zero-padded tree mode", "040000", "0000001", 0, 0, NULL, NULL, 0 },
	{ "stray root file", "100644", "README", 0, 1, NULL, NULL, 0 },
	{ "duplicate entry", NULL, NULL, 0, 0, NULL, NULL, 1 },
	{ "gpgsig header", "100644", NULL, 0, 0, "gpgsig x\n", NULL, 0 },
	{ "second parent", "100644", NULL, 0, 0, "parent 0123456789012345678901234567890123456789\n", NULL, 0 },
	{ "broken author", "100644", NULL, 0, 0, NULL, "x <x@y 1 +0000", 0 },
};

static void test_shape__odd_objects_are_refused(void **state)
{
	fx *f = *state;
	ssync_exchange *hub = NULL;
	ssync_oid_hex good, bad, upto;
	ssync_error err;
	git_oid id;
	size_t i;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sync_ok(f->a, NULL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 0, &err), 0);
	assert_int_equal(ssync_exchange_ref_tip(hub, "refs/heads/node/sch-a", &good, &err), 0);
	ssync_exchange_free(hub);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		variant v = variants[i];
		git_repository *repo = NULL;
		git_reference *ref = NULL;
		git_oid gid;

		if (!v.name) {
			/* a header variant: the tree itself is fine (a new segment) */
			v.mode = "100644";
			v.name = "000000000009.seg";
		}
		if (v.unsorted)
			v.name = "0000000";
		craft(&id, f->hub, &v);
		hex_of(&bad, &id);
		ssync_error_clear(&err);
		assert_int_equal(ssync_exchange_open(&hub, f->hub, 0, &err), 0);
		if (ssync_exchange_check_shape(hub, SSYNC_SHAPE_NODE, &good, &bad, &upto, &err) != SSYNC_ECORRUPT)
			fail_msg("variant '%s' was not refused (%s)", v.what, err.message);
		assert_string_equal(upto.hex, good.hex);
		assert_non_null(strstr(err.message, "FORMAT.md"));
		ssync_exchange_free(hub);
		/* put the good tip back for the next variant */
		assert_int_equal(git_repository_open(&repo, f->hub), 0);
		assert_int_equal(git_oid_fromstr(&gid, good.hex), 0);
		assert_int_equal(git_reference_create(&ref, repo, "refs/heads/node/sch-a", &gid, 1, "undo"), 0);
		git_reference_free(ref);
		git_repository_free(repo);
	}
}

/* The whole path: the hub holds a ".." entry on sch-a's branch; sch-b
 * quarantines that head, takes sch-a's commits before it, applies sch-c,
 * and never relays the odd commit (its own copy stops at the good tip). */
static void test_shape__receiver_quarantines_and_does_not_relay(void **state)
{
	fx *f = *state;
	ssync_exchange *ex = NULL;
	ssync_oid_hex mine, good;
	const variant v = { "dotdot", "100644", "..", 0, 0, NULL, NULL, 0 };
	char path[4096];
	ssync_error err;
	git_oid id;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sync_ok(f->a, NULL);
	th_sql(f->c, "INSERT INTO zone(id,name) VALUES ('z3','堡港')");
	th_sync_ok(f->c, NULL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&ex, f->hub, 0, &err), 0);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/node/sch-a", &good, &err), 0);
	ssync_exchange_free(ex);
	craft(&id, f->hub, &v);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z1'"), 1);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z3'"), 1);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND code='E_CORRUPT' "
		"AND reason LIKE '%''..''%'"), 1);
	snprintf(path, sizeof(path), "%s/exchange.git", f->hb);
	assert_int_equal(ssync_exchange_open(&ex, path, 0, &err), 0);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/node/sch-a", &mine, &err), 0);
	assert_string_equal(mine.hex, good.hex);
	ssync_exchange_free(ex);
	/* a's next entry arrives on top of the odd commit: still refused, not relayed */
	th_sql(f->b, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z1'"), 1);
	assert_int_equal(ssync_exchange_open(&ex, path, 0, &err), 0);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/node/sch-a", &mine, &err), 0);
	assert_string_equal(mine.hex, good.hex);
	ssync_exchange_free(ex);
	(void)id;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shape__writer_output_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shape__odd_objects_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shape__receiver_quarantines_and_does_not_relay, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
