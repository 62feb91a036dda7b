/*
 * Dropping unreachable objects (docs/PRIVACY.md §4): a key store is
 * replaced, never appended, but its older versions stay in the object
 * database (loose or inside a fetched pack) until something prunes them,
 * and each one still seals every data key it carried -- an erased one too
 * -- to readers whose secrets sit in the same home. libgit2 has no gc, so
 * this is one: every object reachable from a ref goes into one new pack
 * (made durable), then the packs and loose objects that were there before
 * are deleted. The caller holds the sync lock (nothing else writes here).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exchange_int.h"

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static void names_free(names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int names_add(names *l, const char *dir, const char *a, const char *b)
{
	size_t len = strlen(dir) + strlen(a) + (b ? strlen(b) : 0) + 3;
	char *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *v = realloc(l->v, cap * sizeof(*l->v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(s = malloc(len)))
		return -1;
	if (b)
		snprintf(s, len, "%s/%s/%s", dir, a, b);
	else
		snprintf(s, len, "%s/%s", dir, a);
	l->v[l->n++] = s;
	return 0;
}

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

/* Every pack file (pack-*.{pack,idx,rev}) and loose object there now. */
static int snapshot(const char *objects, names *packs, names *loose)
{
	char sub[4200];
	struct dirent *d;
	DIR *dir;

	if (!(dir = opendir(objects)))
		return -1;
	while ((d = readdir(dir)) != NULL) {
		struct dirent *e;
		DIR *ld;
		if (!is_hex(d->d_name, 2))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", objects, d->d_name);
		if (!(ld = opendir(sub)))
			continue;
		while ((e = readdir(ld)) != NULL)
			if (is_hex(e->d_name, 38) && names_add(loose, objects, d->d_name, e->d_name) < 0) {
				closedir(ld);
				closedir(dir);
				return -1;
			}
		closedir(ld);
	}
	closedir(dir);
	snprintf(sub, sizeof(sub), "%s/pack", objects);
	if (!(dir = opendir(sub)))
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dir)) != NULL) {
		size_t l = strlen(d->d_name);
		if (strncmp(d->d_name, "pack-", 5) != 0 || l < 10 ||
		    (strcmp(d->d_name + l - 5, ".pack") && strcmp(d->d_name + l - 4, ".idx") && strcmp(d->d_name + l - 4, ".rev")))
			continue;
		if (names_add(packs, sub, d->d_name, NULL) < 0) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

static int fsync_path(const char *path, int directory)
{
	int fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Every ref's history (commits, trees, blobs) into @p pb. */
static int insert_reachable(git_repository *repo, git_packbuilder *pb, ssync_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	git_revwalk *walk = NULL;
	int error, commits = 0;

	if ((error = git_revwalk_new(&walk, repo)) < 0 || (error = git_reference_iterator_new(&it, repo)) < 0)
		goto fail;
	while ((error = git_reference_next(&ref, it)) == 0) {
		git_reference *res = NULL;
		git_object *obj = NULL;
		error = git_reference_resolve(&res, ref);
		if (error == GIT_ENOTFOUND && git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC)
			error = 0; /* a symbolic ref to an unborn branch (HEAD): nothing to keep */
		else if (error == 0 &&
		    (error = git_object_lookup(&obj, repo, git_reference_target(res), GIT_OBJECT_ANY)) == 0) {
			if (git_object_type(obj) == GIT_OBJECT_COMMIT) {
				error = git_revwalk_push(walk, git_object_id(obj));
				commits++;
			} else {
				error = git_packbuilder_insert_recur(pb, git_object_id(obj), NULL);
			}
		}
		git_object_free(obj);
		git_reference_free(res);
		git_reference_free(ref);
		ref = NULL;
		if (error < 0)
			goto fail;
	}
	if (error != GIT_ITEROVER)
		goto fail;
	error = commits ? git_packbuilder_insert_walk(pb, walk) : 0;
	if (error < 0)
		goto fail;
	git_reference_iterator_free(it);
	git_revwalk_free(walk);
	return 0;
fail:
	git_reference_iterator_free(it);
	git_revwalk_free(walk);
	return ssync_exchange__gfail(err, error, SSYNC_EIO, "collect the reachable objects");
}

int ssync_exchange_purge(ssync_exchange *ex, size_t *removed, ssync_error *err)
{
	git_packbuilder *pb = NULL;
	git_odb *odb = NULL;
	names packs = { 0 }, loose = { 0 };
	char *objects = NULL, keep[4200], pdir[4200];
	size_t i, count = 0;
	int error;

	if (removed)
		*removed = 0;
	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_purge: NULL argument");
	if ((error = ssync_exchange__objects_dir(&objects, ex->repo)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_EIO, "find the object database");
	/* trailing slash from libgit2 */
	if (objects[0] && objects[strlen(objects) - 1] == '/')
		objects[strlen(objects) - 1] = 0;
	if (snapshot(objects, &packs, &loose) < 0) {
		error = ssync_error_set(err, SSYNC_EIO, "list %s: %s", objects, strerror(errno));
		goto done;
	}
	if ((error = git_packbuilder_new(&pb, ex->repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "start a pack");
		goto done;
	}
	git_packbuilder_set_threads(pb, 1);
	if ((error = insert_reachable(ex->repo, pb, err)) < 0)
		goto done;
	if ((count = git_packbuilder_object_count(pb)) == 0)
		goto done; /* nothing reachable: keep what is there rather than guess */
	snprintf(pdir, sizeof(pdir), "%s/pack", objects);
	if ((error = git_packbuilder_write(pb, pdir, 0, NULL, NULL)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "write the pack of reachable objects");
		goto done;
	}
	/* the new pack is durable before anything it replaces goes */
	snprintf(keep, sizeof(keep), "%s/pack-%s", pdir, git_packbuilder_name(pb));
	{
		char p[4300], x[4300];
		snprintf(p, sizeof(p), "%s.pack", keep);
		snprintf(x, sizeof(x), "%s.idx", keep);
		if (fsync_path(p, 0) < 0 || fsync_path(x, 0) < 0 || fsync_path(pdir, 1) < 0) {
			error = ssync_error_set(err, SSYNC_EIO, "make %s durable: %s", p, strerror(errno));
			goto done;
		}
	}
	for (i = 0; i < packs.n; i++) {
		if (strncmp(packs.v[i], keep, strlen(keep)) == 0 && packs.v[i][strlen(keep)] == '.')
			continue; /* the same objects as before: the same pack */
		if (unlink(packs.v[i]) == 0 && removed)
			(*removed)++;
	}
	for (i = 0; i < loose.n; i++)
		if (unlink(loose.v[i]) == 0 && removed)
			(*removed)++;
	{
		/* an index over the old packs (a git gc run by hand writes one) */
		char midx[4300];
		snprintf(midx, sizeof(midx), "%s/multi-pack-index", pdir);
		(void)unlink(midx);
	}
	(void)fsync_path(pdir, 1);
	(void)fsync_path(objects, 1);
	/* this handle must look for objects in the new pack */
	if (git_repository_odb(&odb, ex->repo) == 0)
		(void)git_odb_refresh(odb);
	error = 0;
done:
	git_odb_free(odb);
	git_packbuilder_free(pb);
	names_free(&packs);
	names_free(&loose);
	free(objects);
	return error;
}
