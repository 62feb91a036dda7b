#ifndef SSYNC_SYNC_H
#define SSYNC_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/sync.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** Progress callback: phase is "fetch", "verify", "apply", "push"; return non-zero to cancel. */
typedef int (*ssync_sync_progress_cb)(const char *phase, int64_t done, int64_t total, void *payload);

typedef struct ssync_sync_opts {
	unsigned int version;
	ssync_sync_progress_cb progress; /* may be NULL */
	void *payload;
	int no_push;                     /* fetch and apply only */
	int adopt_remote;                /* E_ROLLBACK: discard own never-published entries the remote's replace */
	double timeout_s;                /* deadline of each remote's fetch, and of each push (0 = none) */
} ssync_sync_opts;
#define SSYNC_SYNC_OPTS_VERSION 2
#define SSYNC_SYNC_OPTS_INIT { SSYNC_SYNC_OPTS_VERSION, NULL, NULL, 0, 0, 0 }

/** What one sync round with one remote did. */
typedef struct ssync_sync_report {
	char remote[64];
	int64_t sealed;        /**< own entries sealed into a new segment */
	int64_t received;      /**< new entries read from the remote */
	int64_t applied;       /**< entries verified and applied */
	int64_t held;          /**< valid entries held back (see quarantine) */
	int64_t quarantined;   /**< entries that failed a check */
	int64_t duplicates;    /**< entries we already had */
	int pushed_refs;       /**< branches the remote was behind on */
	int rewritten_refs;    /**< branches the remote rewrote (refused) */
	int64_t conflicts;     /**< cells with several leaves after the round */
	double seconds;
	int recovering;        /**< 1: restored node, its own branch still not read (writes refused) */
	int rollback;          /**< 1: E_ROLLBACK: own branch on the remote is ahead and not adopted (writes refused) */
	int64_t rollback_adopted; /**< own entries adopted from the remote's copy of our branch (a rollback repaired) */
	int64_t discarded;     /**< own never-published entries discarded (--adopt-remote), kept in quarantine */
} ssync_sync_report;

/**
 * @p r as its one JSON form (docs/CONTROL.md), what `schoolsync sync
 * --json` prints and the daemon reads back: {"remote","sealed","received",
 * "applied","duplicates","quarantined","held","pushed_refs",
 * "rewritten_refs","conflicts","seconds","recovering","rollback","rollback_adopted","discarded"}, compact, one line, no newline.
 * Returns a malloc'd string (free with free()); NULL if out of memory.
 */
SSYNC_EXTERN char *ssync_sync_report_json(const ssync_sync_report *r);

/**
 * Read that form back into *out (zeroed first). Every field must be there
 * with its type (counts: integers >= 0; seconds: a number >= 0; remote: a
 * string that fits); keys it does not know are ignored, so fields can be
 * added. SSYNC_ESCHEMA (with what is wrong) otherwise.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_sync_report_parse(ssync_sync_report *out,
	const char *text, size_t len, ssync_error *err);

/**
 * Seal unexported own entries into a segment commit on our node branch
 * (after making the replica durable). *sealed_out: entries sealed (0 if none).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_sync_seal(ssync_node *n, int64_t *sealed_out,
	ssync_error *err);

/**
 * One sync round with remote @p remote: seal, fetch, verify, apply, relay,
 * push. SSYNC_ENET when the remote cannot be reached (nothing changed
 * locally). Entries failing checks are quarantined and do not fail the round.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_sync_run(ssync_node *n, const char *remote,
	const ssync_sync_opts *opts, ssync_sync_report *rep, ssync_error *err);

/**
 * Called on the caller's thread once per remote, in the order the remotes
 * finish: @p error is 0 (then @p rep is the round's report) or the code
 * @p err describes (@p rep still names the remote and holds what was done
 * before the failure). Pointers are valid during the call only.
 */
typedef void (*ssync_sync_remote_cb)(const ssync_sync_report *rep, int error, const ssync_error *err,
	void *payload);

/**
 * One round with each of @p remotes at once (docs/ARCHITECTURE.md, "The
 * path of one sync round"): every remote's fetch and push run on a thread
 * of their own with their own repository handle, while what they bring is
 * verified and applied into the replica on the caller's thread, one remote
 * at a time, in the order their fetches end (each branch committed as it
 * completes). A remote whose fetch or push is still running
 * opts->timeout_s after it started is given up (SSYNC_ECANCELLED naming
 * it); the others are not held up by it. Branches that another remote
 * brought after a remote's push are pushed to it again in the same round;
 * if that push fails, @p cb is called a second time for the remote.
 *
 * Outcomes arrive through @p cb (required). Returns 0 once every remote
 * has finished or been given up, or a negative code when the round could
 * not start at all (another sync running, a tampered replica, ...). A
 * transfer given up that does not notice its cancellation (a server that
 * accepted the connection and then went silent) is left on a detached
 * thread holding only its own repository handle until it ends or the
 * process exits; it updates at most refs/remotes/<remote>/.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_sync_run_remotes(ssync_node *n, size_t nremotes,
	const char *const *remotes, const ssync_sync_opts *opts, ssync_sync_remote_cb cb, void *payload,
	ssync_error *err);

/** What `remote repair` did. */
typedef struct ssync_sync_repair_report {
	char remote[64];
	char branch[128];     /**< refs/heads/node/<this node> */
	char replaced[41];    /**< the remote's tip that was replaced; "" if nothing needed repair */
	char tip[41];         /**< our tip, now the remote's */
	int repaired;         /**< 1 if the remote's copy was replaced */
	int64_t files;        /**< files read in the remote's copy */
	int64_t lines;        /**< segment lines read */
	int64_t foreign_lines;/**< lines not validly signed by this node (dropped with the copy) */
} ssync_sync_repair_report;

/**
 * Put this node's own branch back on @p remote after someone pushed commits
 * onto it there (the round then fails with SSYNC_EREJECTED,
 * E_PUSH_REJECTED). Fetches, reads the remote's copy of our branch, and --
 * only if every line in it that this node validly signed is in our log --
 * replaces it with ours, leased on the exact tip it read. Nothing to do
 * (rep->repaired 0) if the remote is not ahead of us. SSYNC_ECONFLICT if
 * the copy holds an entry of ours that we lack, or it moved meanwhile;
 * SSYNC_EREWRITE if the server refuses rewrites; SSYNC_ENET unreachable.
 * Clears the push problem status shows on success.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_sync_repair(ssync_node *n, const char *remote,
	ssync_sync_repair_report *rep, ssync_error *err);

#endif
