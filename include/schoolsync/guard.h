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

/** What guard init/check found or did. */
typedef struct ssync_guard_status {
	int installed;           /**< hook and pinned key present and ours */
	int changed;             /**< init wrote something */
	char gitdir[4096];       /**< the repository's git directory */
	char binary[4096];       /**< the binary the hook runs ("" if none) */
	char district_pubkey[65];/**< pinned root key ("" if none) */
	char problem[512];       /**< why not installed ("" if it is) */
} ssync_guard_status;

/**
 * Make @p repo (created bare if missing) a guarded repository: pin
 * @p root_hex and install hooks/pre-receive exec'ing @p binary (an absolute
 * path) with "guard pre-receive". Idempotent; another pinned key or a hook
 * that is not ours is SSYNC_EEXISTS (nothing changed).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_init(const char *repo, const char *root_hex, const char *binary,
	ssync_guard_status *out, ssync_error *err);

/** Report whether @p repo is guarded (out->installed; out->problem says why not). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_guard_check(const char *repo, ssync_guard_status *out, ssync_error *err);

#endif
