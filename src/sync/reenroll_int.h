#ifndef SSYNC_REENROLL_INT_H
#define SSYNC_REENROLL_INT_H

/* Key generations (reenroll.c, docs/TRUST.md §5a). A re-enrolment (signed
 * by the root) names a node, a generation G >= 2, the key it replaces, a cut
 * C and the new key: the node's seqs above C belong to generation G and
 * only the new key signs them; entries of older keys above C are void.
 * Generation of (node, seq) = the largest G whose cut lies below seq (1 if
 * none): a function of the trust data alone, so every replica agrees. */

#include "schoolsync/keys.h"
#include "store_int.h"
#include "tobj_int.h"

#define SSYNC_GENS_MAX 16

typedef struct ssync_gen {
	int64_t gen, after_seq;
	unsigned char key[SSYNC_PUBKEY_BYTES];     /* the generation's key */
	unsigned char old_key[SSYNC_PUBKEY_BYTES]; /* the key it replaced */
} ssync_gen;

/* The re-enrolments of @p node held, by generation (*n = 0 if none). */
int ssync_trust__gens(ssync_store *st, const char *node, ssync_gen g[SSYNC_GENS_MAX], int *n, ssync_error *err);
/* Generation of @p seq (1 if no cut lies below it). */
int64_t ssync_trust__gen_of(const ssync_gen *g, int n, int64_t seq);
/* The generation record of @p gen, NULL for 1 or unknown. */
const ssync_gen *ssync_trust__gen_find(const ssync_gen *g, int n, int64_t gen);
/* 1 if @p key is some generation's (>= 2) key. */
int ssync_trust__gen_key_is_new(const ssync_gen *g, int n, const unsigned char *key);
/*
 * A re-enrolment was just loaded (inside the load's transaction): entries
 * of its node above its cut that its generation's key did not sign are
 * void -- quarantined (E_VOID) and deleted -- and a freeze above the cut is
 * lifted. The caller's rebuild recomputes the data.
 */
int ssync_trust__reenroll_loaded(ssync_store *st, const ssync_tobj *t, ssync_error *err);
/*
 * Before a local write (managed): may this node, with key @p pk, sign its
 * next seq? SSYNC_ECERT if the key was replaced by a re-enrolment, SSYNC_EBUSY
 * if its generation starts after seqs this replica does not hold yet.
 */
int ssync_trust__writer_gen_check(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	ssync_error *err);
/* The generation this node writes in with key @p pk (1 if no re-enrolment names it). */
int64_t ssync_trust__own_gen(ssync_store *st, const char *node, const unsigned char pk[SSYNC_PUBKEY_BYTES],
	int64_t *first_seq);

#endif
