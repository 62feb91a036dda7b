/* Remotes on removable media (a bare repository on a USB stick): created
 * on first use, and a stick that shows less than last time is stale. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/node.h"
#include "sync_int.h"
#include "trust_int.h"

typedef struct url_find { const char *name; char url[4096]; int found; } url_find;

static int find_url(const char *name, const char *url, void *p)
{
	url_find *f = p;

	if (strcmp(name, f->name) == 0) {
		snprintf(f->url, sizeof(f->url), "%s", url);
		f->found = 1;
	}
	return 0;
}

/* 1 if a filesystem is mounted at @p dir or at a directory between it and
 * the removable-media root @p root ("/media/" ...): a different device than
 * its parent's. */
static int mounted_below(const char *dir, size_t rootlen)
{
	char d[4096], *slash;
	struct stat a, b;

	snprintf(d, sizeof(d), "%s", dir);
	while (strlen(d) > rootlen) {
		if (stat(d, &a) != 0)
			return 0;
		if (!(slash = strrchr(d, '/')) || slash == d)
			return 0;
		*slash = 0;
		if (stat(d, &b) != 0)
			return 0;
		if (a.st_dev != b.st_dev)
			return 1;
	}
	return 0;
}

/* A local remote we cannot use: say what is wrong with the path itself, not
 * E_NET (nothing about it is a network). */
static int local_problem(const char *remote, const char *path, int check_repo, ssync_error *err)
{
	struct stat sb;
	char head[4200], head2[4200];

	{
		if (access(path, R_OK | W_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
			ssync_error_set(err, SSYNC_EPERM, "remote %s: %s: %s", remote, path, strerror(errno));
			ssync_error_hint(err, "the sync runs as uid %ld: give it the directory (chown -R), or for the "
				"systemd unit list the path in ReadWritePaths= (docs/OPERATIONS.md)", (long)geteuid());
			return SSYNC_EPERM;
		}
		snprintf(head, sizeof(head), "%s/HEAD", path);
		snprintf(head2, sizeof(head2), "%s/.git/HEAD", path);
		if (check_repo && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(head, &sb) != 0 && stat(head2, &sb) != 0) {
			ssync_error_set(err, SSYNC_ENOTFOUND, "remote %s: %s is not a git repository", remote, path);
			ssync_error_hint(err, "if it is on a USB stick, the stick may not be mounted (an empty directory is "
				"left where it would be): mount it and sync again; 'schoolsync remote list' shows the path");
			return SSYNC_ENOTFOUND;
		}
	}
	return 0;
}

/*
 * A USB stick's remote is a path to a repository that may not exist yet: if
 * its directory does (the stick is mounted), create the bare repository so
 * the first sync can push. A missing directory means "not mounted": the
 * fetch then fails and nothing is created. Under /media, /mnt and
 * /run/media an unmounted stick leaves its mount point behind as an empty
 * directory on this disk: there nothing is created unless a filesystem is
 * mounted (we would "push" to the local disk and report success). An
 * existing path that is not a repository is refused the same way.
 */
int ssync_sync__create_stick(ssync_exchange *ex, const char *remote, ssync_error *err)
{
	static const char *const removable[] = { "/media/", "/mnt/", "/run/media/" };
	url_find f;
	const char *path;
	char parent[4096], *slash;
	struct stat sb;
	ssync_exchange *stick = NULL;
	size_t i;
	int error;

	memset(&f, 0, sizeof(f));
	f.name = remote;
	if ((error = ssync_exchange_remote_list(ex, find_url, &f, err)) < 0)
		return error;
	if (!f.found)
		return 0; /* fetch reports the unknown remote */
	path = f.url;
	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	if (path[0] != '/')
		return 0;
	if (lstat(path, &sb) == 0)
		return local_problem(remote, path, 1, err); /* exists (even as a dangling link): the fetch checks the rest */
	snprintf(parent, sizeof(parent), "%s", path);
	if (!(slash = strrchr(parent, '/')) || slash == parent)
		return 0;
	*slash = 0;
	if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	for (i = 0; i < sizeof(removable) / sizeof(removable[0]); i++) {
		size_t rl = strlen(removable[i]);
		if (strncmp(parent, removable[i], rl) == 0 && !mounted_below(parent, rl - 1)) {
			ssync_error_set(err, SSYNC_ENOTFOUND, "remote %s: %s does not exist and nothing is mounted at %s "
				"(is the USB stick plugged in and mounted?)", remote, path, parent);
			ssync_error_hint(err, "mount the stick and sync again; to keep the repository on this disk "
				"instead, create it first: git init --bare %s", path);
			return SSYNC_ENOTFOUND;
		}
	}
	if (access(parent, W_OK | X_OK) != 0)
		return local_problem(remote, parent, 0, err);
	if ((error = ssync_exchange_open(&stick, path, 1, err)) < 0)
		return error;
	ssync_exchange_free(stick);
	return 0;
}

/*
 * A remote whose branch went back to an older commit, or lost a branch it
 * had, is a stale mirror or a rollback: say so. We never follow it back, and
 * the push brings it forward again.
 */
int ssync_sync__check_stale(ssync_node *n, ssync_exchange *ex, const char *remote, const branch_list *old,
	const branch_list *now, ssync_sync_report *rep, ssync_error *err)
{
	int i, j, error;

	for (i = 0; i < old->n; i++) {
		const ssync_oid_hex *cur = NULL;
		char why[300];
		for (j = 0; j < now->n; j++)
			if (strcmp(old->names[i], now->names[j]) == 0)
				cur = &now->tips[j];
		if (cur && strcmp(cur->hex, old->tips[i].hex) == 0)
			continue;
		if (cur) {
			int d = ssync_exchange_descends(ex, &old->tips[i], cur, NULL);
			if (d != 1)
				continue; /* moved forward (or diverged: receive_branch reports that) */
			snprintf(why, sizeof(why), "remote %s went back on branch node/%s (%.12s, it showed %.12s before): "
				"stale mirror or rollback (W_REMOTE_STALE); not followed, our copy is pushed again",
				remote, old->names[i], cur->hex, old->tips[i].hex);
		} else {
			snprintf(why, sizeof(why), "remote %s no longer has branch node/%s (it showed %.12s before): "
				"deleted or stale mirror (W_REMOTE_STALE); our copy is pushed again",
				remote, old->names[i], old->tips[i].hex);
		}
		if ((error = ssync_ingest__quarantine(ssync_node_store(n), old->names[i], 0, SSYNC_EREWRITE, why,
			old->tips[i].hex, strlen(old->tips[i].hex), remote, err)) < 0)
			return error;
		rep->rewritten_refs++;
	}
	return 0;
}
