/*
 * Replaced, not appended: a branch that is always one parentless commit
 * holding one file (the key stores of docs/PRIVACY.md). Writing makes a new
 * root commit and moves the ref to it (compare-and-swap on the old tip), so
 * the previous content is no longer reachable from the ref; reading checks
 * that exact shape before it reads the file, bounded like every file.
 * Fixed commits (hub-equivocation evidence) have the same shape but are
 * built byte by byte, with no clock in them, so every node makes the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "exchange_int.h"

/* Commit and tree objects of the shape above are small; a bigger one is
 * not ours and is not parsed at all. */
#define SINGLE_OBJECT_MAX 4096

/* The signature line of a fixed commit: no clock, no node in it. */
#define FIXED_SIG "schoolsync <node@schoolsync> 0 +0000"

int ssync_exchange_replace_file(ssync_exchange *ex, const char *ref, const char *path,
	const void *data, size_t len, const char *message, ssync_oid_hex *new_tip, ssync_error *err)
{
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid blob, tree_id, commit_id, tip;
	int error, found;

	if (new_tip)
		new_tip->hex[0] = '\0';
	if (!ex || !path || (!data && len))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_replace_file: NULL argument");
	if ((error = ssync_exchange__ref_name_check(ref, HEADS_PREFIX, err)) < 0 ||
	    (error = ssync_exchange__tree_path_check(path, err)) < 0)
		return error;
	if (strchr(path, '/'))
		return ssync_error_set(err, SSYNC_EINVAL, "replace %s: %s must be a top-level file", ref, path);
	if ((error = ssync_exchange__read_tip(&tip, &found, ex->repo, ref, err)) < 0)
		return error;
	if ((error = git_blob_create_from_buffer(&blob, ex->repo, data ? data : "", len)) < 0 ||
	    (error = git_treebuilder_new(&tb, ex->repo, NULL)) < 0 ||
	    (error = git_treebuilder_insert(NULL, tb, path, &blob, GIT_FILEMODE_BLOB)) < 0 ||
	    (error = git_treebuilder_write(&tree_id, tb)) < 0 ||
	    (error = git_tree_lookup(&tree, ex->repo, &tree_id)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "build %s", ref);
		goto done;
	}
	if ((error = ssync_exchange__make_signature(&sig, err)) < 0)
		goto done;
	if ((error = git_commit_create(&commit_id, ex->repo, NULL, sig, sig, NULL,
			message && message[0] ? message : "replace", tree, 0, NULL)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "commit on %s", ref);
		goto done;
	}
	if ((error = ssync_exchange__ref_cas(ex->repo, ref, &commit_id, found ? &tip : NULL,
			"schoolsync: replace", err)) < 0)
		goto done;
	if (new_tip)
		ssync_exchange__oid_to_hex(new_tip, &commit_id);
done:
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return error;
}

int ssync_exchange_read_single(ssync_exchange *ex, const ssync_oid_hex *commit, const char *path,
	size_t max, void **data_out, size_t *len_out, ssync_error *err)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_odb *odb = NULL;
	const git_tree_entry *e;
	git_object_t type = GIT_OBJECT_INVALID;
	git_blob *blob = NULL;
	git_oid id;
	size_t len = 0;
	int error, empty;

	*data_out = NULL;
	*len_out = 0;
	if ((error = ssync_exchange__parse_oid(&id, &empty, commit, "read", err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "%s: no commit given", path);
	/* a hostile commit or tree could be huge: look at their sizes first */
	if ((error = git_repository_odb(&odb, ex->repo)) < 0 ||
	    (error = git_odb_read_header(&len, &type, odb, &id)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read commit %.12s", commit->hex);
		goto done;
	}
	if (type != GIT_OBJECT_COMMIT || len > SINGLE_OBJECT_MAX) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "%.12s is not a commit of at most %d bytes; not read",
			commit->hex, SINGLE_OBJECT_MAX);
		goto done;
	}
	if ((error = git_commit_lookup(&c, ex->repo, &id)) < 0 ||
	    (error = git_odb_read_header(&len, &type, odb, git_commit_tree_id(c))) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read commit %.12s", commit->hex);
		goto done;
	}
	if (type != GIT_OBJECT_TREE || len > SINGLE_OBJECT_MAX) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "the tree of %.12s is not one of at most %d bytes; not read",
			commit->hex, SINGLE_OBJECT_MAX);
		goto done;
	}
	if ((error = git_commit_tree(&tree, c)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read commit %.12s", commit->hex);
		goto done;
	}
	/* exactly our writer's shape: no parent, one file of mode 100644 */
	if (git_commit_parentcount(c) != 0 || git_tree_entrycount(tree) != 1 ||
	    !(e = git_tree_entry_byindex(tree, 0)) || strcmp(git_tree_entry_name(e), path) != 0 ||
	    git_tree_entry_filemode_raw(e) != GIT_FILEMODE_BLOB) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "commit %.12s is not one parentless commit holding only %s",
			commit->hex, path);
		goto done;
	}
	if ((error = git_odb_read_header(&len, &type, odb, git_tree_entry_id(e))) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s of %.12s", path, commit->hex);
		goto done;
	}
	if (type != GIT_OBJECT_BLOB || len > max) {
		error = ssync_error_set(err, type != GIT_OBJECT_BLOB ? SSYNC_ECORRUPT : SSYNC_ETOOLARGE,
			"%s of %.12s is not a file of at most %zu bytes; not read", path, commit->hex, max);
		goto done;
	}
	if ((error = git_blob_lookup(&blob, ex->repo, git_tree_entry_id(e))) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s of %.12s", path, commit->hex);
		goto done;
	}
	len = (size_t)git_blob_rawsize(blob);
	if (!(*data_out = malloc(len + 1))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	memcpy(*data_out, git_blob_rawcontent(blob), len);
	((char *)*data_out)[len] = 0;
	*len_out = len;
	error = 0;
done:
	git_blob_free(blob);
	git_odb_free(odb);
	git_tree_free(tree);
	git_commit_free(c);
	return error;
}


int ssync_exchange_fixed_commit(ssync_exchange *ex, const char *path, const void *data, size_t len,
	const char *message, int write, ssync_oid_hex *out, ssync_error *err)
{
	git_odb *odb = NULL;
	git_oid blob, tree, commit;
	unsigned char tbuf[256];
	char cbuf[SINGLE_OBJECT_MAX], hex[GIT_OID_HEXSZ + 1];
	size_t plen, tlen;
	int error, clen;

	out->hex[0] = '\0';
	if (!ex || !path || !message || (!data && len))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_fixed_commit: NULL argument");
	if ((error = ssync_exchange__tree_path_check(path, err)) < 0)
		return error;
	plen = strlen(path);
	if (strchr(path, '/') || plen > 100)
		return ssync_error_set(err, SSYNC_EINVAL, "fixed commit: %s must be a short top-level file", path);
	/* git's tree entry: "<mode> <name>\0<20 raw bytes>" */
	tlen = (size_t)snprintf((char *)tbuf, sizeof(tbuf), "100644 %s", path) + 1;
	if ((error = git_odb_hash(&blob, data ? data : "", len, GIT_OBJECT_BLOB)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "hash %s", path);
	memcpy(tbuf + tlen, blob.id, GIT_OID_RAWSZ);
	tlen += GIT_OID_RAWSZ;
	if ((error = git_odb_hash(&tree, tbuf, tlen, GIT_OBJECT_TREE)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "hash the tree of %s", path);
	git_oid_tostr(hex, sizeof(hex), &tree);
	clen = snprintf(cbuf, sizeof(cbuf), "tree %s\nauthor " FIXED_SIG "\ncommitter " FIXED_SIG "\n\n%s\n", hex, message);
	if (clen < 0 || (size_t)clen >= sizeof(cbuf))
		return ssync_error_set(err, SSYNC_EINVAL, "fixed commit: message too long");
	if ((error = git_odb_hash(&commit, cbuf, (size_t)clen, GIT_OBJECT_COMMIT)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "hash the commit of %s", path);
	if (write) {
		git_oid w1, w2, w3;
		if ((error = git_repository_odb(&odb, ex->repo)) < 0 ||
		    (error = git_odb_write(&w1, odb, data ? data : "", len, GIT_OBJECT_BLOB)) < 0 ||
		    (error = git_odb_write(&w2, odb, tbuf, tlen, GIT_OBJECT_TREE)) < 0 ||
		    (error = git_odb_write(&w3, odb, cbuf, (size_t)clen, GIT_OBJECT_COMMIT)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_EIO, "write the commit of %s", path);
			goto done;
		}
	}
	ssync_exchange__oid_to_hex(out, &commit);
	error = 0;
done:
	git_odb_free(odb);
	return error;
}
