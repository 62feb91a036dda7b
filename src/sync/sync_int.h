#ifndef SSYNC_SYNC_INT_H
#define SSYNC_SYNC_INT_H

#include "entry_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/sync.h"
#include "schoolsync/ident.h"
#include "schoolsync/node.h"
#include "node_int.h"
#include "store_int.h"

/* Segment path for a segment whose first entry is @p first_seq. */
void ssync_sync__segment_path(char *buf, size_t len, int64_t first_seq);


/* The largest segment we write (FORMAT.md §2). */
#define SEGMENT_MAX_BYTES (8 * 1024 * 1024)

/* Node branches of one ref prefix with their tips. */
typedef struct branch_list {
	char (*names)[SSYNC_BRANCH_NAME_MAX + 1]; /* node/<name>: <id> or <id>.g<N> */
	ssync_oid_hex *tips;
	int n, cap;
	size_t prefix_len;
} branch_list;

/* Branches one remote is behind on (sync.c). */
typedef struct push_ctx {
	ssync_exchange *ex;
	const char *remote;
	char (*refs)[128];
	int n, cap;
	size_t prefix_len;
	ssync_error *err;
	char own_ref[128];        /* refs/heads/node/<us> */
	int blocked;              /* the remote's copy of our branch is not in our history */
	int rollback;             /* E_ROLLBACK active: a remote ahead on our branch is expected */
	ssync_oid_hex blocked_tip;
} push_ctx;

/*
 * One remote's round, in phases (sync.c), driven by parallel.c: open, then
 * fetch on the remote's own thread, apply into the replica on the caller's
 * (one remote at a time), push on the remote's thread again (collect first;
 * again when other remotes brought new commits meanwhile), finish, close.
 * The remote's thread touches only ex, topts and the network.
 */
typedef struct ssync_sync__round {
	char remote[64];
	ssync_exchange *ex;          /* this remote's own repository handle */
	ssync_transfer_opts topts;
	char token[1100];
	branch_list old, bl;
	push_ctx pc;
	const char **push_refs;
	size_t npush;
	int will_push;
	int keys_pushed;             /* key stores replaced on the remote (the remote's thread) */
	double t0;
	ssync_sync_report rep;
} ssync_sync__round;
int ssync_sync__round_open(ssync_node *n, const char *remote, ssync_sync__round *r, ssync_error *err);
int ssync_sync__round_fetch(ssync_sync__round *r, ssync_error *err);
int ssync_sync__round_apply(ssync_node *n, ssync_sync__round *r, const ssync_sync_opts *opts, ssync_error *err);
int ssync_sync__round_collect(ssync_node *n, ssync_sync__round *r, ssync_error *err);
int ssync_sync__round_push(ssync_sync__round *r, ssync_error *err);
int ssync_sync__round_finish(ssync_node *n, ssync_sync__round *r, int push_error, const ssync_error *perr,
	ssync_error *err);
void ssync_sync__round_close(ssync_sync__round *r);

/* seal.c */
int ssync_sync__seal(ssync_node *n, ssync_exchange *ex, int64_t *sealed, ssync_error *err);
/* receive.c */
int ssync_sync__collect_branch(const char *ref, const ssync_oid_hex *tip, void *payload);
/* receive.c */
int ssync_sync__receive_branch(ssync_node *n, ssync_exchange *ex, const char *remote, const char *node,
	const ssync_oid_hex *rtip, const ssync_sync_opts *opts, ssync_sync_report *rep, ssync_error *err);
/* lock.c */
int ssync_sync__lock(ssync_node *n, int *fd_out, ssync_error *err);
/* The same lock, waiting up to @p wait_ms for a running sync to end
 * (commands that commit to the exchange outside a round: district
 * enroll/revoke). Taking it removes git's *.lock files in the exchange:
 * whoever commits there must hold it. */
int ssync_sync__lock_wait(ssync_node *n, int *fd_out, int wait_ms, ssync_error *err);
/* How long district enroll/revoke wait for a running sync (ms); a knob for tests. */
extern int ssync_sync__lock_wait_ms;
/* usb.c */
int ssync_sync__check_stale(ssync_node *n, ssync_exchange *ex, const char *remote, const branch_list *old,
	const branch_list *now, ssync_sync_report *rep, ssync_error *err);
/* sync.c: record (@p e set) or clear (NULL) that @p remote refuses our
 * branch, as meta push_rejected:<remote> (JSON: remote, code, message,
 * hint, at) for status. */
int ssync_sync__push_problem(ssync_store *st, const char *remote, const ssync_error *e, ssync_error *err);
/* usb.c */
int ssync_sync__create_stick(ssync_exchange *ex, const char *remote, ssync_error *err);

/* tamper.c: the trust tables hold exactly what the signed trust objects
 * held give (certificates, revocations, certified keys and roles); sets
 * @p why (empty when they agree). Unmanaged nodes: nothing to compare. */
int ssync_sync__check_trust_state(ssync_store *st, char *why, size_t whylen, ssync_error *err);

/* tamper.c: every file of the node's own district branch is held (a trust
 * object in ssync_trust_obj, a checkpoint in ssync_witness); @p why names
 * what is missing (E_TAMPER), "" if nothing. */
int ssync_sync__check_district_held(ssync_store *st, ssync_exchange *ex, char *why, size_t whylen, ssync_error *err);

/* rollback.c (E_ROLLBACK): meta 'rollback' holds why writes and sealing
 * are refused ("" = not); *fork_seq: the first own seq this node signed
 * that conflicts with the remote's (0 if none). */
int ssync_sync__rollback_active(ssync_store *st, int64_t *fork_seq);
int ssync_sync__rollback_set(ssync_store *st, const char *why, int64_t fork_seq, ssync_error *err);
int ssync_sync__rollback_clear(ssync_store *st, ssync_error *err);
/* sync --adopt-remote: discard our own never-published entries from the
 * conflicting seq on (kept in quarantine, E_ROLLBACK); refused when they
 * were published. *discarded counts them. */
int ssync_sync__rollback_adopt(ssync_node *n, int64_t *discarded, ssync_error *err);
/* A held hub checkpoint naming our own head beyond our log: E_ROLLBACK too. */
int ssync_sync__rollback_checkpoint(ssync_node *n, ssync_error *err);

/* node.c: SSYNC_EUNSAFE unless @p home is a directory we own that no one
 * else can write (init, every open, status). */
int ssync_sync__home_safe(const char *home, ssync_error *err);

#endif
