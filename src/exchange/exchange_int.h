/*
 * Internals shared by the exchange files, not installed. The files, each
 * calling only those listed before it: exchange.c (repository), names.c,
 * refs.c, commit.c, shape.c, safepath.c, remote.c, progress.c (transfer context), net.c
 * (libgit2 network path), local.c (object copy for local paths), fetch.c,
 * push.c.
 */
#ifndef SSYNC_EXCHANGE_INT_H
#define SSYNC_EXCHANGE_INT_H

#include <pthread.h>
#include <stddef.h>

#include <git2.h>

#include "schoolsync/exchange.h"

#define NODE_PREFIX "refs/heads/node/"
#define DISTRICT_REF "refs/heads/district"
#define KEYS_PREFIX "refs/heads/keys/"
#define EVIDENCE_PREFIX "refs/heads/evidence/witness-"
#define HEADS_PREFIX "refs/heads/"
/* The largest file a branch may hold (FORMAT.md §2: a segment is at most
 * 8 MiB; node.json and trust objects are far smaller). Checked from the
 * object's header before it is read, so a hostile branch cannot make a
 * receiver inflate a huge blob (a 1 GB zero-filled one is 1 MB on the wire). */
#define SSYNC_EXCHANGE__FILE_MAX ((size_t)8 << 20)

struct ssync_exchange {
	git_repository *repo;
	char *gitdir;       /* absolute, as libgit2 reports it */
	int no_fastpath;    /* 1: local-path remotes go through libgit2 */
};

/* A growable list of (ref name, commit id), sortable by name. */
typedef struct ref_entry {
	char *name;
	git_oid id;
} ref_entry;

typedef struct ref_list {
	ref_entry *v;
	size_t n, cap;
} ref_list;

/* One fetch or push: options, progress, and what went wrong. */
typedef struct xfer {
	const char *remote;            /* remote name, for messages */
	const ssync_transfer_opts *opts;
	ssync_transfer_progress prog;
	int cancelled;                 /* the user's callback asked to stop */
	int ssh_tries, pass_tries;
	int auth_failed;

	/* pack writers on other threads report here */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int threaded;
	int ready;                     /* mu and cv are initialised */
} xfer;

/* ---- exchange.c: the repository: open, config, libgit2 errors ---- */

/*
 * Record the libgit2 failure @p gcode as "<what>: <libgit2's reason>".
 * Returns the schoolsync code; unmapped failures get @p fallback.
 */
int ssync_exchange__gfail(ssync_error *err, int gcode, int fallback, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
int ssync_exchange__path_is_empty_dir(const char *path);
/* Create a bare repository with our config (@p hub: shared, refuses rewrites). */
int ssync_exchange__init_bare(git_repository **out, const char *path, unsigned int flags,
	int hub, ssync_error *err);
int ssync_exchange__make_signature(git_signature **out, ssync_error *err);

/* ---- names.c: names that travel ---- */

/* The refs that travel: refs/heads/node/<node-id>, refs/heads/district,
 * refs/heads/keys/<node-id>, refs/heads/evidence/witness-<64 hex>. */
int ssync_exchange__sync_ref_valid(const char *name);
int ssync_exchange__remote_name_check(const char *name, ssync_error *err);
void ssync_exchange__oid_to_hex(ssync_oid_hex *out, const git_oid *id);
int ssync_exchange__parse_oid(git_oid *out, int *empty, const ssync_oid_hex *h,
	const char *what, ssync_error *err);
int ssync_exchange__ref_name_check(const char *name, const char *prefix, ssync_error *err);
int ssync_exchange__tree_path_check(const char *path, ssync_error *err);

/* ---- refs.c: refs ---- */

/* Read the commit @p name points at; *found = 0 if the ref is missing. */
int ssync_exchange__read_tip(git_oid *out, int *found, git_repository *repo, const char *name,
	ssync_error *err);
void ssync_exchange__ref_list_free(ref_list *l);
int ssync_exchange__ref_list_add(ref_list *l, const char *name, const git_oid *id);
int ssync_exchange__ref_entry_cmp(const void *a, const void *b);
const ref_entry *ssync_exchange__ref_list_find(const ref_list *l, const char *name);
/*
 * Collect refs of @p repo whose names start with @p prefix (and, with
 * @p sync_only, that are travelling refs), resolved, sorted by name.
 */
int ssync_exchange__list_refs(ref_list *out, git_repository *repo, const char *prefix,
	int sync_only, ssync_error *err);
int ssync_exchange__ref_cas(git_repository *repo, const char *name, const git_oid *id,
	const git_oid *expected, const char *msg, ssync_error *err);

/* ---- commit.c: commits and the files they add ---- */

/* "prefix/name" (just "name" for an empty prefix), malloc'd; NULL out of memory. */
char *ssync_exchange__join_path(const char *prefix, const char *name);

/* ---- safepath.c: a local repository holds only folders and files ---- */

/*
 * Walk the repository at @p path without following anything: SSYNC_EUNSAFE
 * if it is, or holds, a symlink, FIFO, socket or device. 0 if it is fine or
 * missing (opening it then says "not mounted").
 */
int ssync_exchange__local_repo_safe(const char *path, const char *remote, ssync_error *err);

/* ---- progress.c: the transfer context ---- */

/* Non-zero if the user's callback asks to stop. */
int ssync_exchange__user_progress(xfer *x);
/* Report progress from the calling thread; -1 once cancelled. */
int ssync_exchange__report(xfer *x);
/* Failure of a transfer step, classified (see exchange_xfer.c). */
int ssync_exchange__xfail(xfer *x, ssync_error *err, int gcode, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
void ssync_exchange__scrub_secrets(ssync_error *err, const ssync_transfer_opts *opts, const char *url);
void ssync_exchange__xfer_dispose(xfer *x);
int ssync_exchange__xfer_init(xfer *x, const char *remote, const ssync_transfer_opts *opts,
	ssync_error *err);

/* ---- net.c: the network path ---- */

int ssync_exchange__connect_remote(git_remote *r, git_direction dir, xfer *x, const char *what,
	ssync_error *err);
int ssync_exchange__lookup_remote(git_remote **out, ssync_exchange *ex, const char *name,
	ssync_error *err);
void ssync_exchange__net_callbacks(git_remote_callbacks *cbs, xfer *x);

/* ---- local.c: object copy for local-path remotes ---- */

/* Our repository opened once more, also seeing @p other_objects. */
int ssync_exchange__open_view(git_repository **out, const char *our_gitdir,
	const char *other_objects);
/* The objects directory of @p repo, malloc'd. libgit2 error codes. */
int ssync_exchange__objects_dir(char **out, git_repository *repo);
/*
 * Move what @p dst_repo lacks of @p wants (given it holds @p haves) from
 * the side @p view sees; @p view is our repository plus @p other_objects.
 */
int ssync_exchange__transfer(xfer *x, git_repository *view, const char *our_gitdir,
	const char *other_objects, git_repository *dst_repo,
	const git_oid *wants, size_t nwants, const git_oid *haves, size_t nhaves,
	const char *what, ssync_error *err);

/* ---- fetch.c: fetch (helpers push uses too) ---- */

char *ssync_exchange__local_path_of(const char *url);
int ssync_exchange__ref_list_ids(git_oid **out, const ref_list *l);
int ssync_exchange__remote_broke(ssync_error *err);
char *ssync_exchange__tracking_name(const char *remote, const char *ref);
int ssync_exchange__open_local_remote(git_repository **out, xfer *x, const char *path,
	ssync_error *err);

#endif
