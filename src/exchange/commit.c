/*
 * Commits on a branch and the files they add. Branches only gain files:
 * commit_files refuses to change a path and added_files refuses to read a
 * history that changed or removed one.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <git2.h>

#include "exchange_int.h"


typedef struct new_file {
	const char *path;
	const void *data;
	size_t len;
	git_oid id;
	int skip;          /* already on the branch, or a duplicate in the call */
} new_file;

static int new_file_cmp(const void *a, const void *b)
{
	return strcmp(((const new_file *)a)->path, ((const new_file *)b)->path);
}

/* Check new files against each other: one content per path, no D/F clash. */
static int check_new_files(new_file *f, size_t n, ssync_error *err)
{
	char *prefix = NULL;
	size_t i;
	int error = 0;

	qsort(f, n, sizeof(*f), new_file_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(f[i - 1].path, f[i].path) != 0)
			continue;
		if (!git_oid_equal(&f[i - 1].id, &f[i].id)) {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"path %s given twice with different content", f[i].path);
			goto done;
		}
		f[i].skip = 1;
	}
	for (i = 0; i < n; i++) {
		const char *slash = f[i].path;
		new_file key;

		while ((slash = strchr(slash, '/')) != NULL) {
			free(prefix);
			if (!(prefix = strndup(f[i].path, (size_t)(slash - f[i].path)))) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			key.path = prefix;
			if (bsearch(&key, f, n, sizeof(*f), new_file_cmp)) {
				error = ssync_error_set(err, SSYNC_EEXISTS,
					"path %s is both a file and a directory", prefix);
				goto done;
			}
			slash++;
		}
	}
done:
	free(prefix);
	return error;
}

/* Compare one new file with the branch's current tree. */
static int check_against_tree(new_file *f, git_tree *tree, ssync_error *err)
{
	git_tree_entry *e = NULL;
	char *prefix = NULL;
	const char *slash;
	int error;

	error = git_tree_entry_bypath(&e, tree, f->path);
	if (error == 0) {
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
		    git_oid_equal(git_tree_entry_id(e), &f->id)) {
			f->skip = 1;
		} else {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"%s already exists with different content", f->path);
			ssync_error_hint(err, "branches are append-only: write a new segment path");
		}
		goto done;
	}
	if (error != GIT_ENOTFOUND) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "look up %s", f->path);
		goto done;
	}
	git_error_clear();
	error = 0;
	/* a parent directory that is a file on the branch is a clash too */
	for (slash = f->path; (slash = strchr(slash, '/')) != NULL; slash++) {
		free(prefix);
		git_tree_entry_free(e);
		e = NULL;
		if (!(prefix = strndup(f->path, (size_t)(slash - f->path)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (git_tree_entry_bypath(&e, tree, prefix) < 0) {
			git_error_clear();
			break;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"%s: %s is a file on the branch", f->path, prefix);
			goto done;
		}
	}
done:
	free(prefix);
	git_tree_entry_free(e);
	return error;
}

int ssync_exchange_commit_files(ssync_exchange *ex, const char *ref, size_t nfiles,
	const char *const *paths, const void *const *datas, const size_t *lens,
	const char *message, ssync_oid_hex *new_tip, ssync_error *err)
{
	new_file *files = NULL;
	git_tree_update *ups = NULL;
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_oid tip, tree_id, commit_id, blob_id;
	size_t i, nups = 0;
	int error, found;

	if (new_tip)
		new_tip->hex[0] = '\0';
	if (!ex || (nfiles && (!paths || !datas || !lens)))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_commit_files: NULL argument");
	if ((error = ssync_exchange__ref_name_check(ref, HEADS_PREFIX, err)) < 0)
		return error;
	if (nfiles == 0)
		return ssync_error_set(err, SSYNC_EINVAL, "commit on %s: no files given", ref);
	if (!(files = calloc(nfiles, sizeof(*files))) || !(ups = calloc(nfiles, sizeof(*ups)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < nfiles; i++) {
		if ((error = ssync_exchange__tree_path_check(paths[i], err)) < 0)
			goto done;
		if (!datas[i] && lens[i]) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: NULL data", paths[i]);
			goto done;
		}
		files[i].path = paths[i];
		files[i].data = datas[i] ? datas[i] : "";
		files[i].len = lens[i];
		if ((error = git_odb_hash(&files[i].id, files[i].data, files[i].len,
				GIT_OBJECT_BLOB)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "hash %s", paths[i]);
			goto done;
		}
	}
	if ((error = check_new_files(files, nfiles, err)) < 0)
		goto done;

	if ((error = ssync_exchange__read_tip(&tip, &found, ex->repo, ref, err)) < 0)
		goto done;
	if (found) {
		if ((error = git_commit_lookup(&parent, ex->repo, &tip)) < 0 ||
		    (error = git_commit_tree(&base, parent)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tip of %s", ref);
			goto done;
		}
		for (i = 0; i < nfiles; i++)
			if (!files[i].skip && (error = check_against_tree(&files[i], base, err)) < 0)
				goto done;
	}

	for (i = 0; i < nfiles; i++) {
		if (files[i].skip)
			continue;
		if ((error = git_blob_create_from_buffer(&blob_id, ex->repo, files[i].data,
				files[i].len)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_EIO, "store %s", files[i].path);
			goto done;
		}
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].filemode = GIT_FILEMODE_BLOB;
		ups[nups].path = files[i].path;
		git_oid_cpy(&ups[nups].id, &blob_id);
		nups++;
	}
	if (nups == 0) {
		/* everything is there already (a retried seal): nothing to commit */
		if (new_tip)
			ssync_exchange__oid_to_hex(new_tip, &tip);
		error = 0;
		goto done;
	}
	if ((error = git_tree_create_updated(&tree_id, ex->repo, base, nups, ups)) < 0 ||
	    (error = git_tree_lookup(&tree, ex->repo, &tree_id)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "build tree for %s", ref);
		goto done;
	}
	if ((error = ssync_exchange__make_signature(&sig, err)) < 0)
		goto done;
	error = git_commit_create(&commit_id, ex->repo, NULL, sig, sig, NULL,
		message && message[0] ? message : "seal", tree, found ? 1 : 0,
		(const git_commit **)&parent);
	if (error < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "commit on %s", ref);
		goto done;
	}
	if ((error = ssync_exchange__ref_cas(ex->repo, ref, &commit_id, found ? &tip : NULL,
			"schoolsync: commit", err)) < 0)
		goto done;
	if (new_tip)
		ssync_exchange__oid_to_hex(new_tip, &commit_id);
done:
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	free(ups);
	free(files);
	return error;
}

/* Look up a file's blob, refusing one over the limit before reading it. */
static int blob_bounded(git_blob **out, git_repository *repo, const git_oid *id, const char *path,
	const char *commit_hex, ssync_error *err)
{
	git_odb *odb = NULL;
	git_object_t type = GIT_OBJECT_INVALID;
	size_t len = 0;
	int error;

	*out = NULL;
	if ((error = git_repository_odb(&odb, repo)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "open objects");
	error = git_odb_read_header(&len, &type, odb, id);
	git_odb_free(odb);
	if (error == GIT_ENOTFOUND) {
		git_error_clear();
		return ssync_error_set(err, SSYNC_ECORRUPT, "%s of commit %.12s is missing (from a path or USB remote, "
			"a file over %zu bytes is not copied)", path, commit_hex, SSYNC_EXCHANGE__FILE_MAX);
	}
	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s of commit %s", path, commit_hex);
	if (type != GIT_OBJECT_BLOB)
		return ssync_error_set(err, SSYNC_ECORRUPT, "%s of commit %s is not a file", path, commit_hex);
	if (len > SSYNC_EXCHANGE__FILE_MAX)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "%s of commit %.12s is %zu bytes, over the %zu a file "
			"may have (FORMAT.md §2); not read", path, commit_hex, len, SSYNC_EXCHANGE__FILE_MAX);
	if ((error = git_blob_lookup(out, repo, id)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s of commit %s", path, commit_hex);
	return 0;
}

static int commit_tree(git_tree **out, git_repository *repo, const git_oid *id,
	const char *hex, ssync_error *err)
{
	git_commit *c = NULL;
	int error;

	*out = NULL;
	if ((error = git_commit_lookup(&c, repo, id)) < 0 ||
	    (error = git_commit_tree(out, c)) < 0)
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "read commit %s", hex);
	git_commit_free(c);
	return error;
}

int ssync_exchange_read_file(ssync_exchange *ex, const ssync_oid_hex *commit,
	const char *path, void **data_out, size_t *len_out, ssync_error *err)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	git_oid id;
	size_t len;
	int error, empty;

	if (data_out)
		*data_out = NULL;
	if (len_out)
		*len_out = 0;
	if (!ex || !data_out || !len_out)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_read_file: NULL argument");
	if ((error = ssync_exchange__parse_oid(&id, &empty, commit, "read file", err)) < 0 ||
	    (error = ssync_exchange__tree_path_check(path, err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "%s: no commit given", path);
	if ((error = commit_tree(&tree, ex->repo, &id, commit->hex, err)) < 0)
		goto done;
	if ((error = git_tree_entry_bypath(&e, tree, path)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s in commit %s", path, commit->hex);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "%s in commit %s is not a file",
			path, commit->hex);
		goto done;
	}
	if ((error = blob_bounded(&blob, ex->repo, git_tree_entry_id(e), path, commit->hex, err)) < 0)
		goto done;
	len = (size_t)git_blob_rawsize(blob);
	if (!(*data_out = malloc(len ? len : 1))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory reading %s", path);
		goto done;
	}
	memcpy(*data_out, git_blob_rawcontent(blob), len);
	*len_out = len;
	error = 0;
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return error;
}

typedef struct added_file {
	char *path;
	git_oid id;
} added_file;

typedef struct added_list {
	added_file *v;
	size_t n, cap;
} added_list;

static void added_list_free(added_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

char *ssync_exchange__join_path(const char *prefix, const char *name)
{
	size_t a = strlen(prefix), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	memcpy(p, prefix, a);
	if (a)
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

static int collect_added(added_list *out, git_repository *repo, git_tree *old_tree,
	const git_tree *new_tree, const char *prefix, ssync_error *err);

static int add_entry(added_list *out, git_repository *repo, const git_tree_entry *e,
	const char *path, ssync_error *err)
{
	git_tree *sub = NULL;
	int error;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		if ((error = git_tree_lookup(&sub, repo, git_tree_entry_id(e))) < 0)
			return ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
		error = collect_added(out, repo, NULL, sub, path, err);
		git_tree_free(sub);
		return error;
	}
	if (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB &&
	    git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB_EXECUTABLE)
		return ssync_error_set(err, SSYNC_ECORRUPT,
			"%s is neither a file nor a directory (mode %o)", path,
			(unsigned)git_tree_entry_filemode(e));
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		added_file *v = realloc(out->v, cap * sizeof(*v));
		if (!v)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		out->v = v;
		out->cap = cap;
	}
	if (!(out->v[out->n].path = strdup(path)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	git_oid_cpy(&out->v[out->n].id, git_tree_entry_id(e));
	out->n++;
	return 0;
}

/*
 * Walk @p new_tree against @p old_tree (may be NULL): entries only in the
 * new tree are added, entries whose content, type or mode changed or that
 * vanished are a rewrite.
 */
static int collect_added(added_list *out, git_repository *repo, git_tree *old_tree,
	const git_tree *new_tree, const char *prefix, ssync_error *err)
{
	git_tree *os = NULL, *ns = NULL;
	char *path = NULL;
	size_t i;
	int error = 0;

	if (old_tree) {
		for (i = 0; i < git_tree_entrycount(old_tree); i++) {
			const git_tree_entry *oe = git_tree_entry_byindex(old_tree, i);
			if (!git_tree_entry_byname(new_tree, git_tree_entry_name(oe))) {
				path = ssync_exchange__join_path(prefix, git_tree_entry_name(oe));
				error = ssync_error_set(err, SSYNC_EREWRITE,
					"history rewritten: %s was removed",
					path ? path : git_tree_entry_name(oe));
				goto done;
			}
		}
	}
	for (i = 0; i < git_tree_entrycount(new_tree); i++) {
		const git_tree_entry *ne = git_tree_entry_byindex(new_tree, i);
		const git_tree_entry *oe = old_tree ?
			git_tree_entry_byname(old_tree, git_tree_entry_name(ne)) : NULL;

		free(path);
		if (!(path = ssync_exchange__join_path(prefix, git_tree_entry_name(ne)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (!oe) {
			if ((error = add_entry(out, repo, ne, path, err)) < 0)
				goto done;
			continue;
		}
		if (git_oid_equal(git_tree_entry_id(oe), git_tree_entry_id(ne)) &&
		    git_tree_entry_filemode_raw(oe) == git_tree_entry_filemode_raw(ne))
			continue;
		if (git_tree_entry_type(oe) != GIT_OBJECT_TREE ||
		    git_tree_entry_type(ne) != GIT_OBJECT_TREE) {
			error = ssync_error_set(err, SSYNC_EREWRITE,
				"history rewritten: %s was changed", path);
			goto done;
		}
		if ((error = git_tree_lookup(&os, repo, git_tree_entry_id(oe))) < 0 ||
		    (error = git_tree_lookup(&ns, repo, git_tree_entry_id(ne))) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
			goto done;
		}
		if ((error = collect_added(out, repo, os, ns, path, err)) < 0)
			goto done;
		git_tree_free(os);
		git_tree_free(ns);
		os = ns = NULL;
	}
done:
	free(path);
	git_tree_free(os);
	git_tree_free(ns);
	return error;
}

int ssync_exchange_added_files(ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, ssync_exchange_file_cb cb, void *payload,
	ssync_error *err)
{
	added_list l = { 0 };
	git_tree *old_tree = NULL, *new_tree = NULL;
	git_blob *blob = NULL;
	git_oid from_id, to_id;
	size_t i;
	int error, from_empty, to_empty;

	if (!ex || !cb)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_added_files: NULL argument");
	if ((error = ssync_exchange__parse_oid(&from_id, &from_empty, from, "added files: from", err)) < 0 ||
	    (error = ssync_exchange__parse_oid(&to_id, &to_empty, to, "added files: to", err)) < 0)
		return error;
	if (to_empty)
		return ssync_error_set(err, SSYNC_EINVAL, "added files: no 'to' commit given");
	if ((!from_empty &&
	     (error = commit_tree(&old_tree, ex->repo, &from_id, from->hex, err)) < 0) ||
	    (error = commit_tree(&new_tree, ex->repo, &to_id, to->hex, err)) < 0)
		goto done;
	/* the whole difference is checked before the first callback */
	if ((error = collect_added(&l, ex->repo, old_tree, new_tree, "", err)) < 0)
		goto done;
	for (i = 0; i < l.n; i++) {
		/* each file is checked just before it is read: those before an
		 * oversized one are still delivered */
		if ((error = blob_bounded(&blob, ex->repo, &l.v[i].id, l.v[i].path, to->hex, err)) < 0)
			goto done;
		error = cb(l.v[i].path, git_blob_rawcontent(blob),
			(size_t)git_blob_rawsize(blob), payload);
		git_blob_free(blob);
		blob = NULL;
		if (error != 0)
			goto done;
	}
	error = 0;
done:
	git_tree_free(old_tree);
	git_tree_free(new_tree);
	added_list_free(&l);
	return error;
}
