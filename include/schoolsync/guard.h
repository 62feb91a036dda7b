#ifndef SSYNC_GUARD_H
#define SSYNC_GUARD_H

#include <stdio.h>

#include "common.h"
#include "error.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/guard.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** File in a guarded repository's git directory holding the pinned district root key (hex). */
#define SSYNC_GUARD_KEY_FILE "schoolsync-district.pub"

/** One refused ref update: @p ref and why (shown to the pusher by git). */
typedef void (*ssync_guard_refusal_cb)(const char *ref, const char *reason, void *payload);

/**
 * Judge a push as git's pre-receive hook: read "<old> <new> <ref>" lines
 * from @p in, open the repository from git's environment (the quarantined
 * objects included) and run the receivers' checks (branch shape, fast-forward,
 * every new entry verified under its node's certificate per the district
 * branch, root-signed trust objects). Deletions and other refs are refused.
 * @return 0 if every update is accepted, SSYNC_EPERM (detail E_GUARD) if
 * one is not (each passed to @p cb first), another code if the guard could
 * not judge (nothing passed to @p cb then: the caller refuses the push).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_pre_receive(FILE *in, ssync_guard_refusal_cb cb, void *payload,
	ssync_error *err);

/**
 * Judge one ref update as git's update hook (argv: REF OLD NEW), with the
 * same checks as ssync_guard_pre_receive; a node branch is judged under the
 * district branch the repository holds now (a district update earlier in
 * the same push has moved it). A refused ref refuses only itself: git
 * applies the push's other refs that pass. Returns as above.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_update(const char *ref, const char *old_hex, const char *new_hex,
	ssync_guard_refusal_cb cb, void *payload, ssync_error *err);

/** Which hook a guarded repository runs. */
enum {
	SSYNC_GUARD_PER_REF = 0,     /**< hooks/update: each ref judged alone (the default) */
	SSYNC_GUARD_ALL_OR_NOTHING = 1 /**< hooks/pre-receive: one bad ref refuses the whole push */
};

/** What guard init/check found or did. */
typedef struct ssync_guard_status {
	int installed;           /**< hook and pinned key present and ours */
	int changed;             /**< init wrote something */
	char gitdir[4096];       /**< the repository's git directory */
	char binary[4096];       /**< the binary the hook runs ("" if none) */
	char district_pubkey[65];/**< pinned root key ("" if none) */
	char problem[512];       /**< why not installed ("" if it is) */
	char hook[16];           /**< "update", "pre-receive" or "" (none of ours) */
} ssync_guard_status;

/**
 * Make @p repo (created bare if missing) a guarded repository: pin
 * @p root_hex and install hooks/update exec'ing @p binary (an absolute
 * path) with "guard update REF OLD NEW". Idempotent; another pinned key or
 * a hook that is not ours is SSYNC_EEXISTS (nothing changed). Same as
 * ssync_guard_init_mode with SSYNC_GUARD_PER_REF.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_init(const char *repo, const char *root_hex, const char *binary,
	ssync_guard_status *out, ssync_error *err);

/**
 * The same with @p mode SSYNC_GUARD_PER_REF (hooks/update) or
 * SSYNC_GUARD_ALL_OR_NOTHING (hooks/pre-receive, for servers that own the
 * update hook, e.g. gitolite). Our hook of the other mode is removed.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_init_mode(const char *repo, const char *root_hex,
	const char *binary, int mode, ssync_guard_status *out, ssync_error *err);

/** Report whether @p repo is guarded (out->installed; out->problem says why not). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_check(const char *repo, ssync_guard_status *out, ssync_error *err);

#endif
