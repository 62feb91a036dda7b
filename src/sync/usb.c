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

/*
 * A USB stick's remote is a path to a repository that may not exist yet: if
 * its directory does (the stick is mounted), create the bare repository so
 * the first sync can push. A missing directory means "not mounted": the
 * fetch then fails with E_NET and nothing is created.
 */
int ssync_sync__create_stick(ssync_exchange *ex, const char *remote, ssync_error *err)
{
	url_find f;
	const char *path;
	char parent[4096], *slash;
	struct stat sb;
	ssync_exchange *stick = NULL;
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
	if (path[0] != '/' || lstat(path, &sb) == 0)
		return 0; /* exists (even as a dangling link): the fetch checks it */
	snprintf(parent, sizeof(parent), "%s", path);
	if (!(slash = strrchr(parent, '/')) || slash == parent)
		return 0;
	*slash = 0;
	if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
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
