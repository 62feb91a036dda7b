#ifndef SSYNC_TRUST_H
#define SSYNC_TRUST_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"
#include "store.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/trust.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * District trust (docs/TRUST.md): a root key held offline by the district,
 * pinned by every node; certificates, revocations and the genesis record,
 * each a signed line on the branch refs/heads/district. When a root is
 * pinned (the node is "managed"), a node's signing key comes only from a
 * valid certificate and the write policy is enforced; without one
 * ("unmanaged", tests and demos) keys are pinned on first use and every
 * node may write everything.
 */

/**
 * On the hub's home: create the root key file @p root_key_path (mode 0600)
 * unless it exists, then the genesis record and the hub's own certificate on
 * the district branch, and pin the root. @p district_id must be the node's
 * district. Writes the root public key (64 hex + NUL) into @p root_hex.
 * SSYNC_EEXISTS if this node already has a district branch.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_init(ssync_node *n,
	const char *district_id, const char *name, const char *root_key_path,
	char root_hex[65], ssync_error *err);

/** What a certificate says (for enroll and list). */
typedef struct ssync_cert_info {
	char node[SSYNC_NODE_ID_MAX + 1];
	int64_t serial;
	char role[16];                        /**< school | hub | auditor */
	char school_id[SSYNC_NODE_ID_MAX + 1]; /**< "" when none */
	char pubkey[65];                      /**< hex */
	int64_t valid_from;                   /**< ms since epoch, 0 = always */
	int64_t valid_until;                  /**< ms since epoch, 0 = no end */
	int64_t revoked_after;                /**< last honoured seq, -1 = not revoked */
	char enckey[65];                      /**< X25519 key, hex; "" when none (docs/PRIVACY.md) */
} ssync_cert_info;

/**
 * Sign a certificate for @p c->node (role, school_id, pubkey, validity; the
 * serial is chosen and written back) with the root key and add it to the
 * district branch. SSYNC_ECERT if the key file is not the pinned root.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_enroll(ssync_node *n,
	ssync_cert_info *c, const char *root_key_path, ssync_error *err);

/**
 * Revoke @p node: its entries with seq > @p after_seq are refused on every
 * node, whatever order it learns things in; rows already applied from them
 * are rebuilt from the log.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_revoke(ssync_node *n,
	const char *node, int64_t after_seq, const char *root_key_path, ssync_error *err);

/**
 * Re-enrol @p node under a new key generation (docs/TRUST.md §5a): its
 * entries up to seq @p void_after stay valid; above it only @p new_pubkey
 * (64 hex) signs, on branch node/<node>.g<G>, and the old key's entries
 * there are void on every node; a freeze above the cut is lifted. Refused
 * (SSYNC_EINVAL) when this hub holds fewer entries than @p void_after, or
 * the node equivocated at or below it. @p new_enckey (64 hex, or NULL):
 * the new home's encryption key (docs/PRIVACY.md §5), required when the
 * node's certificate carried one, and never the old one (the old home's
 * key reads no new write). *gen_out: the new generation.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_reenroll(ssync_node *n,
	const char *node, const char *new_pubkey, const char *new_enckey, int64_t void_after,
	const char *root_key_path, int64_t *gen_out, ssync_error *err);

/**
 * Hand the district root over (docs/TRUST.md §3a): the root in office
 * (@p root_key_path) signs a rotation naming the key in @p new_root_path
 * (created, mode 0600, if absent). Every later trust object is signed by the
 * new root; nodes that pinned an older root follow the chain. Writes the new
 * root's public key (64 hex + NUL) into @p new_root_hex.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_rotate_root(ssync_node *n,
	const char *new_root_path, const char *root_key_path, char new_root_hex[65], ssync_error *err);

/**
 * Witness reset (docs/TRUST.md §4b), for a hub whose clock ran ahead when it
 * signed checkpoints, or a leaked hub key: checkpoints from position @p from
 * to the latest held are void on every node (@p from = latest + 1 voids
 * none), and the checkpoints after them are signed only by hub @p hub with
 * key @p pubkey_hex (64 hex). NULL @p hub: the witness in office; NULL
 * @p pubkey_hex: that hub's newest certified key. *to_out: the last
 * position voided (from - 1 if none).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_reset_witness(ssync_node *n, int64_t from,
	const char *hub, const char *pubkey_hex, const char *root_key_path, int64_t *to_out, ssync_error *err);

typedef int (*ssync_trust_cert_cb)(const ssync_cert_info *c, void *payload);

/** Every certificate held, by node then serial. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_list(ssync_store *st,
	ssync_trust_cert_cb cb, void *payload, ssync_error *err);

/**
 * Pin the district's root public key (64 hex) on this node: from now on
 * it accepts only district branches, certificates and entries that chain
 * to it. SSYNC_ECONFLICT if another root is pinned already.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_district_join(ssync_node *n,
	const char *root_hex, ssync_error *err);

/** 1 if a district root is pinned in @p st (managed mode). */
SSYNC_EXTERN int ssync_trust_managed(ssync_store *st);

/** What a rebuild did. */
typedef struct ssync_trust_rebuild_report {
	int64_t entries;  /**< entries replayed */
	int64_t applied;  /**< applied (state 1) */
	int64_t refused;  /**< refused (state 3: revoked, expired, policy) */
	int64_t held;     /**< held (state 2: row not known yet) */
} ssync_trust_rebuild_report;

/**
 * Recompute the domain state and merge state from the log alone, in one
 * transaction: clear domain tables, ssync_row and ssync_conflict, then
 * replay every entry in (hlc, node, seq) order, judging each against the
 * current trust data and policy. Used when trust data changes (a
 * revocation learned after the entries it cuts off) and by the auditor.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_trust_rebuild(ssync_store *st,
	ssync_trust_rebuild_report *rep, ssync_error *err);

#endif
