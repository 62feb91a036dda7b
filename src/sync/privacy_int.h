#ifndef SSYNC_PRIVACY_INT_H
#define SSYNC_PRIVACY_INT_H

/* Key stores in a sync round (privacy.c, docs/PRIVACY.md). */
#include "schoolsync/exchange.h"
#include "schoolsync/privacy.h"

/* Take the remote's newer key stores (refs/remotes/<remote>/keys/<node>):
 * shape, signature by the node's certified key, version above the one
 * held; open what is sealed to us into keys.db; move refs/heads/keys/<node>.
 * A bad one is quarantined (*quarantined counts it), never followed. */
int ssync_privacy__receive(ssync_node *n, ssync_exchange *ex, const char *remote, int64_t *quarantined,
	ssync_error *err);
/* Replace refs/heads/keys/<us> when what it must hold changed. */
int ssync_privacy__publish(ssync_node *n, ssync_exchange *ex, ssync_error *err);
/* Push our newer key stores where the remote holds an older version (a
 * replacement: a push with a lease on the remote's tip we read). Runs on
 * the remote's own thread (sync/parallel.c, n passed as NULL): it may touch
 * only @p ex and the network, never the node or its replica. */
int ssync_privacy__push(ssync_node *n, ssync_exchange *ex, const char *remote, const ssync_transfer_opts *topts,
	int *pushed, ssync_error *err);
/* After a key store that dropped data keys was replaced here (an erasure,
 * a revocation): delete the key refs that still name older stores (remote
 * tracking refs, refused stores) and drop every object no ref reaches, so
 * no old store sealing an erased key stays in this home's git objects.
 * Only when keys.db says so (meta 'purge'); the caller holds the sync lock. */
int ssync_privacy__purge(ssync_node *n, ssync_exchange *ex, ssync_error *err);
/* keys.db on disk (fsync'd) before entries encrypted with its keys are
 * sealed and pushed: a published value whose key was lost is lost. */
int ssync_privacy__make_durable(ssync_node *n, ssync_error *err);
/* The guard's check of a pushed refs/heads/keys/<node> (tip @p tip, the
 * hub's current @p old or ""): shape, canonical, signed by the node's key
 * certified in @p st, district, and a version above the one it replaces.
 * A refusal is 0 with @p why set. */
int ssync_privacy__check_store(ssync_store *st, ssync_exchange *ex, const char *district, const char *node,
	const ssync_oid_hex *old, const ssync_oid_hex *tip, char *why, size_t whylen, ssync_error *err);
/* init: make HOME/enc.key. */
int ssync_privacy__init_home(const char *home, ssync_error *err);

#endif
