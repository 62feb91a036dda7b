/*
 * Branch shape (src/exchange/shape.c, ssync_exchange_check_shape): the raw
 * commits and trees a branch gains, parsed byte by byte before anything on
 * the branch is read or relayed. The input is a small object database:
 *
 *   byte 0: bit 0 = district layout (else node), bit 1 = incremental (judge
 *           from the first commit written, as a receiver that holds it does,
 *           if that commit passes on its own)
 *   then sections separated by "\n==\n", each one object: 'b' blob, 't'
 *   tree or 'c' commit, then its bytes. In a tree, 20 '@' are replaced by
 *   the raw id of the object written just before, 20 '#' by the first
 *   blob's. In a commit, 40 '@' are the hex id of the newest tree, 40 '%'
 *   of the newest commit before it.
 *
 * Objects go into an in-memory object database (libgit2's mempack), reset
 * after each input, so nothing grows. The newest commit is judged.
 * Oracles: the answer is a judgement (0, E_CORRUPT, E_TOO_LARGE or
 * E_NOTFOUND), never another failure, and a refusal carries a message; on
 * acceptance `good` is the commit judged, and (unless it is the accepted tip
 * itself: nothing new) libgit2 parses it and its tree, whose names are none
 * of "", ".", "..", ".git" and hold no '/'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/repository.h>

#include "exchange_int.h"
#include "fuzz.h"
#include "schoolsync/exchange.h"

#define MAX_SECTIONS 16

static git_odb_backend *mempack;
static ssync_exchange ex;

static void setup(void)
{
	git_odb *odb = NULL;

	if (ex.repo)
		return;
	FZ_CHECK(git_libgit2_init() > 0);
	FZ_CHECK(git_odb_new(&odb) == 0);
	FZ_CHECK(git_mempack_new(&mempack) == 0);
	FZ_CHECK(git_odb_add_backend(odb, mempack, 1) == 0);
	FZ_CHECK(git_repository_wrap_odb(&ex.repo, odb) == 0);
	git_odb_free(odb); /* the repository holds it */
	ex.gitdir = (char *)"(fuzz mempack)";
}

/* Replace every run of @p n bytes @p c in @p s (length @p len) by @p with. */
static void put(unsigned char *s, size_t len, char c, size_t n, const unsigned char *with)
{
	size_t i, k;

	for (i = 0; i + n <= len; i++) {
		for (k = 0; k < n && s[i + k] == (unsigned char)c; k++)
			;
		if (k == n) {
			memcpy(s + i, with, n);
			i += n - 1;
		}
	}
}

/* Every tree entry name the checker let through is one git fsck takes. */
static int walk_name(const char *root, const git_tree_entry *e, void *payload)
{
	const char *name = git_tree_entry_name(e);

	(void)root;
	(void)payload;
	FZ_CHECK(name[0] && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, ".git") && !strchr(name, '/'));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	git_odb *odb = NULL;
	git_oid prev, blob0, tree, commit, first;
	int have_prev = 0, have_blob = 0, have_tree = 0, ncommits = 0, flags, rc, i;
	const uint8_t *p, *end;
	ssync_oid_hex from, to, good;
	ssync_error err;

	if (size < 2 || size > 64 * 1024)
		return 0;
	setup();
	flags = data[0];
	FZ_CHECK(git_repository_odb(&odb, ex.repo) == 0);
	p = data + 1;
	end = data + size;
	for (i = 0; i < MAX_SECTIONS && p < end; i++) {
		const uint8_t *sep = p, *next = end;
		unsigned char *obj;
		size_t len;
		git_object_t type;
		git_oid id;

		for (; sep + 4 <= end; sep++)
			if (!memcmp(sep, "\n==\n", 4)) {
				next = sep + 4;
				break;
			}
		if (sep + 4 > end)
			sep = end;
		len = (size_t)(sep - p);
		if (len == 0) {
			p = next;
			continue;
		}
		type = p[0] == 'b' ? GIT_OBJECT_BLOB : p[0] == 't' ? GIT_OBJECT_TREE : p[0] == 'c' ? GIT_OBJECT_COMMIT :
			GIT_OBJECT_INVALID;
		obj = malloc(len);
		FZ_CHECK(obj != NULL);
		memcpy(obj, p + 1, len - 1);
		len--;
		if (type == GIT_OBJECT_TREE) {
			if (have_prev)
				put(obj, len, '@', GIT_OID_RAWSZ, prev.id);
			if (have_blob)
				put(obj, len, '#', GIT_OID_RAWSZ, blob0.id);
		} else if (type == GIT_OBJECT_COMMIT) {
			char hex[GIT_OID_HEXSZ + 1];
			if (have_tree) {
				git_oid_tostr(hex, sizeof(hex), &tree);
				put(obj, len, '@', GIT_OID_HEXSZ, (const unsigned char *)hex);
			}
			if (ncommits) {
				git_oid_tostr(hex, sizeof(hex), &commit);
				put(obj, len, '%', GIT_OID_HEXSZ, (const unsigned char *)hex);
			}
		}
		if (type != GIT_OBJECT_INVALID && git_odb_write(&id, odb, obj, len, type) == 0) {
			git_oid_cpy(&prev, &id);
			have_prev = 1;
			if (type == GIT_OBJECT_BLOB && !have_blob) {
				git_oid_cpy(&blob0, &id);
				have_blob = 1;
			} else if (type == GIT_OBJECT_TREE) {
				git_oid_cpy(&tree, &id);
				have_tree = 1;
			} else if (type == GIT_OBJECT_COMMIT) {
				if (!ncommits)
					git_oid_cpy(&first, &id);
				git_oid_cpy(&commit, &id);
				ncommits++;
			}
		}
		git_error_clear();
		free(obj);
		p = next;
	}
	if (ncommits) {
		memset(&from, 0, sizeof(from));
		if ((flags & 2) && ncommits > 1) {
			/* a receiver holds only a tip it accepted: judge the first
			 * commit whole, and from it only if it passed */
			ssync_oid_hex none;
			memset(&none, 0, sizeof(none));
			git_oid_tostr(from.hex, sizeof(from.hex), &first);
			ssync_error_clear(&err);
			if (ssync_exchange_check_shape(&ex, (flags & 1) ? SSYNC_SHAPE_DISTRICT : SSYNC_SHAPE_NODE, &none, &from,
				NULL, &err) != 0)
				memset(&from, 0, sizeof(from));
		}
		git_oid_tostr(to.hex, sizeof(to.hex), &commit);
		ssync_error_clear(&err);
		rc = ssync_exchange_check_shape(&ex, (flags & 1) ? SSYNC_SHAPE_DISTRICT : SSYNC_SHAPE_NODE, &from, &to,
			&good, &err);
		if (getenv("SSYNC_FUZZ_DEBUG")) /* what the seeds reach (docs/FUZZING.md) */
			fprintf(stderr, "shape: %s %s\n", ssync_error_name(rc), rc ? err.message : "");
		FZ_CHECK(rc == 0 || rc == SSYNC_ECORRUPT || rc == SSYNC_ETOOLARGE || rc == SSYNC_ENOTFOUND);
		FZ_CHECK(rc == 0 || err.message[0]);
		FZ_CHECK(rc != 0 || strcmp(good.hex, to.hex) == 0);
		if (rc == 0 && strcmp(from.hex, to.hex) != 0) { /* from == to: nothing new, nothing judged */
			git_commit *c = NULL;
			git_tree *t = NULL;
			FZ_CHECK(git_commit_lookup(&c, ex.repo, &commit) == 0);
			FZ_CHECK(git_commit_parentcount(c) <= 1);
			FZ_CHECK(git_tree_lookup(&t, ex.repo, git_commit_tree_id(c)) == 0);
			FZ_CHECK(git_tree_walk(t, GIT_TREEWALK_PRE, walk_name, NULL) == 0);
			git_tree_free(t);
			git_commit_free(c);
		}
	}
	git_error_clear();
	git_odb_free(odb);
	FZ_CHECK(git_mempack_reset(mempack) == 0);
	return 0;
}
