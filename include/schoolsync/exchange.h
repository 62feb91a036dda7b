#ifndef SSYNC_EXCHANGE_H
#define SSYNC_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"

/* Layer exchange (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_EXCHANGE
#error "schoolsync/exchange.h is layer exchange: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * The git exchange repository (libgit2, bare, no work tree).
 *
 * Branches: refs/heads/node/<node-id> carry one node's segments (append-only:
 * every commit only adds files); refs/heads/district carries trust data.
 * Remote-tracking copies after a fetch live under refs/remotes/<remote>/...
 * This module moves bytes; it knows nothing of entries or signatures.
 */
typedef struct ssync_exchange ssync_exchange;

/** Hex object id (40 chars + NUL); "" means "no commit". */
typedef struct ssync_oid_hex { char hex[41]; } ssync_oid_hex;

/**
 * Open the bare repository at @p path; with @p create, create it first if
 * missing (and set up fsync of objects and refs). *out is NULL on failure.
 * Free with ssync_exchange_free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_open(ssync_exchange **out,
	const char *path, int create, ssync_error *err);
SSYNC_EXTERN void ssync_exchange_free(ssync_exchange *ex);

/**
 * Open the repository a git receive hook runs in, from git's environment
 * (GIT_DIR, and the quarantine's GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES, so objects being pushed are readable).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_open_env(ssync_exchange **out, ssync_error *err);

/** The repository's git directory (absolute, ending in '/', as libgit2 reports it). */
SSYNC_EXTERN const char *ssync_exchange_gitdir(const ssync_exchange *ex);

/**
 * Commit new files on branch @p ref (e.g. "refs/heads/node/sch-a") as one
 * commit whose parent is the current tip (or a root commit if the ref does
 * not exist). @p paths are relative tree paths such as
 * "seg/000000/000000000001.seg"; intermediate trees are created. Adding a
 * path that already exists with different content fails (SSYNC_EEXISTS):
 * branches are append-only. The ref is updated only if it still points at
 * the tip read at the start (compare-and-swap). @p new_tip may be NULL.
 * Files already on the branch with the same content are skipped; if that
 * leaves nothing, no commit is made and @p new_tip is the current tip (so a
 * retried seal is harmless). @p message NULL or "" means "seal".
 * @return 0, SSYNC_EEXISTS (a path exists with other content, or is both a
 * file and a directory), SSYNC_EINVAL (bad ref, path or nfiles == 0),
 * SSYNC_ECONFLICT (the ref moved meanwhile), or another code.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_commit_files(ssync_exchange *ex,
	const char *ref,
	size_t nfiles,
	const char *const *paths,      /* nfiles tree paths */
	const void *const *datas,      /* nfiles buffers */
	const size_t *lens,            /* nfiles lengths */
	const char *message,           /* commit message */
	ssync_oid_hex *new_tip,        /* OUT: the new commit, may be NULL */
	ssync_error *err);

/** Read the tip of @p ref. SSYNC_ENOTFOUND if the ref does not exist. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_ref_tip(ssync_exchange *ex,
	const char *ref, ssync_oid_hex *out, ssync_error *err);

/**
 * Point @p ref at @p oid, but only if it currently points at @p expected
 * ("" = must not exist). SSYNC_ECONFLICT if it moved meanwhile.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_ref_update(ssync_exchange *ex,
	const char *ref, const ssync_oid_hex *oid, const ssync_oid_hex *expected,
	const char *log_message, ssync_error *err);

/** Delete @p ref if it exists. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_ref_delete(ssync_exchange *ex,
	const char *ref, ssync_error *err);

/**
 * Drop every object no ref reaches (libgit2 has no gc): the reachable ones
 * go into one new pack, made durable, then the packs and loose objects that
 * were there before are deleted (*@p removed counts the files). For what a
 * replaced key store left behind (docs/PRIVACY.md §4). The caller holds the
 * sync lock: nothing may write objects meanwhile.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_purge(ssync_exchange *ex, size_t *removed, ssync_error *err);

typedef int (*ssync_exchange_ref_cb)(const char *ref, const ssync_oid_hex *tip,
	void *payload);

/** Call @p cb for each ref whose name starts with @p prefix, sorted by name. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_refs(ssync_exchange *ex,
	const char *prefix, ssync_exchange_ref_cb cb, void *payload, ssync_error *err);

/**
 * 1 if commit @p descendant has @p ancestor in its history (or they are
 * equal), 0 if not, <0 on error. An empty @p ancestor is everyone's ancestor.
 */
SSYNC_EXTERN int ssync_exchange_descends(ssync_exchange *ex,
	const ssync_oid_hex *descendant, const ssync_oid_hex *ancestor,
	ssync_error *err);

/**
 * Commits from the root to @p tip following first parents, oldest first, in
 * *@p out (free() it; NULL and *@p n 0 for an empty @p tip).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_first_parents(ssync_exchange *ex,
	const ssync_oid_hex *tip, ssync_oid_hex **out, int *n, ssync_error *err);

typedef int (*ssync_exchange_file_cb)(const char *path, const void *data,
	size_t len, void *payload);

/**
 * Stream the files that commit @p to has and commit @p from ("" = none) does
 * not, in path order, without loading them all at once. If any file present
 * in @p from was changed or removed in @p to, fail with SSYNC_EREWRITE
 * before calling @p cb at all. A non-zero return from @p cb stops the walk
 * and is returned.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_added_files(ssync_exchange *ex,
	const ssync_oid_hex *from, const ssync_oid_hex *to,
	ssync_exchange_file_cb cb, void *payload, ssync_error *err);

/** Layouts a branch may have (FORMAT.md §2 "Branch shape"). */
#define SSYNC_SHAPE_NODE 1      /**< node.json, seg/NNNNNNN/NNNNNNNNNNNN.seg */
#define SSYNC_SHAPE_DISTRICT 2  /**< district/genesis.json, certs/, revocations/ */

/**
 * Check that every commit from @p from ("" = none) to @p to, and every tree
 * they add, has exactly the shape our writer produces for @p layout: one
 * parent at most, git-valid author lines, only the documented file names,
 * modes 100644/40000, git's entry order. Anything else is SSYNC_ECORRUPT
 * (a git server that checks objects would refuse to take it from us).
 * @p good (may be NULL) gets the newest commit up to which everything passed
 * (@p from when nothing did), so a receiver can keep that much.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_check_shape(ssync_exchange *ex,
	int layout, const ssync_oid_hex *from, const ssync_oid_hex *to, ssync_oid_hex *good,
	ssync_error *err);

/** Read one file of commit @p commit. Caller frees *data_out with free(). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_read_file(ssync_exchange *ex,
	const ssync_oid_hex *commit, const char *path,
	void **data_out, size_t *len_out, ssync_error *err);

/**
 * Replace branch @p ref (refs/heads/...) by one new parentless commit
 * holding only the top-level file @p path: nothing of the previous content
 * stays reachable from the ref (docs/PRIVACY.md, key stores). The ref
 * moves only if it still points at the tip read at the start
 * (SSYNC_ECONFLICT otherwise). @p new_tip may be NULL.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_replace_file(ssync_exchange *ex,
	const char *ref, const char *path, const void *data, size_t len,
	const char *message, ssync_oid_hex *new_tip, ssync_error *err);

/**
 * Read the only file @p path of commit @p commit, which must have exactly
 * the shape ssync_exchange_replace_file makes (no parent, one file, mode
 * 100644; SSYNC_ECORRUPT otherwise) and be at most @p max bytes
 * (SSYNC_ETOOLARGE, checked before reading). *@p data_out is malloc'd and
 * NUL terminated (free()).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_read_single(ssync_exchange *ex,
	const ssync_oid_hex *commit, const char *path, size_t max,
	void **data_out, size_t *len_out, ssync_error *err);

/**
 * The one commit every node makes of content @p data (@p len bytes) under
 * the top-level file name @p path with @p message: no parent, one file,
 * author and committer "schoolsync <node@schoolsync>" at time 0, so equal
 * content gives an equal commit id on every node (hub-equivocation evidence,
 * docs/TRUST.md §4a). *@p out gets its id. With @p write 0 nothing is
 * written (the id is only computed, e.g. to compare with what a remote
 * holds); with 1 the blob, tree and commit are written to the repository.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_fixed_commit(ssync_exchange *ex,
	const char *path, const void *data, size_t len, const char *message, int write,
	ssync_oid_hex *out, ssync_error *err);

/** Remotes are stored in the repository's git config (remote.<name>.url). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_remote_add(ssync_exchange *ex,
	const char *name, const char *url, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_remote_remove(ssync_exchange *ex,
	const char *name, ssync_error *err);

typedef int (*ssync_exchange_remote_cb)(const char *name, const char *url,
	void *payload);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_remote_list(ssync_exchange *ex,
	ssync_exchange_remote_cb cb, void *payload, ssync_error *err);

/** Progress of a transfer; return non-zero from the callback to cancel. */
typedef struct ssync_transfer_progress {
	size_t total_objects;
	size_t received_objects;
	size_t indexed_objects;
	size_t received_bytes;
	size_t pushed_objects;
	size_t pushed_bytes;
} ssync_transfer_progress;

typedef int (*ssync_exchange_progress_cb)(const ssync_transfer_progress *p,
	void *payload);

typedef struct ssync_transfer_opts {
	unsigned int version;
	ssync_exchange_progress_cb progress; /* may be NULL */
	void *payload;
	const char *ssh_key_path;   /* ssh private key file; NULL = ssh-agent */
	const char *https_token;    /* bearer/basic token for https; never logged */
} ssync_transfer_opts;
#define SSYNC_TRANSFER_OPTS_VERSION 1
#define SSYNC_TRANSFER_OPTS_INIT { SSYNC_TRANSFER_OPTS_VERSION, NULL, NULL, NULL, NULL }

/**
 * Fetch refs/heads/node/-/ and refs/heads/district from @p remote (a remote
 * name configured with ssync_exchange_remote_add) into
 * refs/remotes/<remote>/... (those tracking refs mirror the remote exactly,
 * including deletions). Local branches are never touched. Remote URLs may be
 * local paths, file://, git://, http(s):// or ssh://. A local-path remote
 * is read directly (object copy, no pack rebuild). SSYNC_ENET if
 * unreachable or the transfer broke off; nothing is half-updated.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_fetch(ssync_exchange *ex,
	const char *remote, const ssync_transfer_opts *opts, ssync_error *err);

/**
 * Push local refs to the same names on @p remote, fast-forward only (never
 * forced). A ref the remote refuses as non-fast-forward yields
 * SSYNC_EREWRITE naming that ref; unreachable remote SSYNC_ENET.
 * A local-path remote that does not exist yet is created as a bare repo
 * (its parent directory must exist: an unmounted stick is SSYNC_ENET).
 *
 * @p refs are refs/heads/node/<node-id> or refs/heads/district. A ref the
 * remote already contains (same commit, or the remote is ahead) is left
 * alone. Refs that fast-forward are pushed even if another ref is refused;
 * the error then names the first refused ref. SSYNC_ECONFLICT if the
 * remote's commit is unknown here (fetch first) or a ref moved during the
 * push. The remote-tracking refs of pushed refs are updated.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_push(ssync_exchange *ex,
	const char *remote, size_t nrefs, const char *const *refs,
	const ssync_transfer_opts *opts, ssync_error *err);

/**
 * Replace the remote's @p ref with ours, but only if the remote's tip is
 * exactly @p lease (the commit the caller inspected): a force-push with a
 * lease, for `remote repair` (docs/OPERATIONS.md). Nothing else is pushed.
 * SSYNC_ECONFLICT if the remote's tip is not @p lease (nothing replaced);
 * SSYNC_EREWRITE if the server refuses to rewrite the branch. Equal tips
 * or a remote behind ours push as usual.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_exchange_push_lease(ssync_exchange *ex,
	const char *remote, const char *ref, const ssync_oid_hex *lease,
	const ssync_transfer_opts *opts, ssync_error *err);

/**
 * Local-path and file:// remotes are read and written directly (default:
 * enabled). Disabling it sends them through libgit2's own local transport;
 * meant for benchmarks and tests.
 */
SSYNC_EXTERN void ssync_exchange_set_local_fastpath(ssync_exchange *ex, int enabled);

/** Validate a remote name: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}, not ending in .lock. */
SSYNC_EXTERN int ssync_exchange_remote_name_valid(const char *name);

#endif
