/*
 * A repository on a USB stick or a share is prepared by someone else. Before
 * libgit2 opens anything in it, every path inside must be a plain folder or
 * a plain file: a symlinked ref would make our push write outside the stick,
 * a FIFO or device in the object store would hang a read forever, an
 * alternates or commondir file would borrow objects or refs from outside. We walk
 * the repository with lstat semantics (openat with O_NOFOLLOW, fstatat with
 * AT_SYMLINK_NOFOLLOW), never following anything, and refuse otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exchange_int.h"

#define MAX_DEPTH 12          /* objects/pack/..., refs/heads/node/<id> */
#define MAX_ENTRIES 4000000L  /* loose objects of a big district, with room */

typedef struct walk {
	const char *remote, *root;
	long entries;
	ssync_error *err;
} walk;

static int refuse(walk *w, const char *rel, const char *what)
{
	ssync_error_set(w->err, SSYNC_EUNSAFE, "remote %s: %s/%s is %s; a repository on a stick or share may hold "
		"only plain folders and files (E_UNSAFE)", w->remote, w->root, rel, what);
	ssync_error_hint(w->err, "do not use this stick: it may have been prepared to reach outside itself; "
		"copy a fresh repository to it (schoolsync creates one on an empty stick)");
	return SSYNC_EUNSAFE;
}

static const char *kind_of(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
		S_ISCHR(m) || S_ISBLK(m) ? "a device" : "not a plain file";
}

static int walk_dir(walk *w, int dfd, const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int error = 0;

	if (depth > MAX_DEPTH)
		return refuse(w, rel, "nested deeper than a git repository is");
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return ssync_error_set(w->err, SSYNC_EIO, "remote %s: read %s/%s: %s", w->remote, w->root, rel,
			strerror(errno));
	}
	while (error == 0) {
		struct stat sb;
		char sub[4096];

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				error = ssync_error_set(w->err, SSYNC_EIO, "remote %s: read %s/%s: %s", w->remote,
					w->root, rel, strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++w->entries > MAX_ENTRIES) {
			error = refuse(w, rel, "a folder tree with more entries than any repository we write");
			break;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			error = ssync_error_set(w->err, SSYNC_EIO, "remote %s: %s/%s: %s", w->remote, w->root, sub,
				strerror(errno));
			break;
		}
		/* files that make git read objects or refs from elsewhere: our push
		 * would skip every object the node itself has, leaving the stick
		 * with refs to objects it lacks */
		if (S_ISREG(sb.st_mode) && (!strcmp(sub, "objects/info/alternates") ||
		    !strcmp(sub, "objects/info/http-alternates") || !strcmp(sub, "commondir"))) {
			error = refuse(w, sub, "a pointer to another repository's objects or refs");
			break;
		}
		if (S_ISREG(sb.st_mode))
			continue;
		if (!S_ISDIR(sb.st_mode)) {
			error = refuse(w, sub, kind_of(sb.st_mode));
			break;
		}
		{
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				error = errno == ELOOP || errno == ENOTDIR ? refuse(w, sub, "changing under us") :
					ssync_error_set(w->err, SSYNC_EIO, "remote %s: open %s/%s: %s", w->remote,
						w->root, sub, strerror(errno));
				break;
			}
			error = walk_dir(w, fd, sub, depth + 1);
		}
	}
	closedir(d);
	return error;
}

int ssync_exchange__local_repo_safe(const char *path, const char *remote, ssync_error *err)
{
	walk w;
	struct stat sb;
	int fd;

	w.remote = remote ? remote : "?";
	w.root = path;
	w.entries = 0;
	w.err = err;
	if (lstat(path, &sb) != 0)
		return 0; /* missing (stick not mounted): opening it says so */
	if (S_ISLNK(sb.st_mode))
		return refuse(&w, ".", "a symbolic link (give the repository's real path)");
	if (!S_ISDIR(sb.st_mode))
		return refuse(&w, ".", kind_of(sb.st_mode));
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0; /* unreadable: opening it reports that */
	return walk_dir(&w, fd, "", 0);
}
