#ifndef SSYNC_WOBJ_INT_H
#define SSYNC_WOBJ_INT_H

/* Hub checkpoints (wobj.c, docs/TRUST.md §2 and §4a): the hub's signed,
 * hash-chained statements "at time T I held these heads", one line each
 * on refs/heads/district under witness/. Format, signing and parsing only;
 * what receivers do with them is witness.c. */

#include <stddef.h>
#include <stdint.h>

#include "schoolsync/error.h"
#include "schoolsync/ident.h"
#include "schoolsync/keys.h"

/* Heads one checkpoint may list (a round that saw more writes several). */
#define SSYNC_WITNESS_MAX_HEADS 256
/* A checkpoint line is at most this long (256 heads fit with room). */
#define SSYNC_WITNESS_MAX_LINE 65536

/* One listed head. @c node is the name of the branch the listed key
 * generation travels on: the node id for generation 1, "<id>.g<G>" for
 * generation G >= 2 after a re-enrolment (docs/TRUST.md §4a, §5a). */
typedef struct ssync_whead {
	char node[SSYNC_BRANCH_NAME_MAX + 1];
	int64_t seq;
	unsigned char hash[32];
} ssync_whead;

/* One checkpoint, parsed (or to be signed). */
typedef struct ssync_wobj {
	char district[SSYNC_NODE_ID_MAX + 1];
	char hub[SSYNC_NODE_ID_MAX + 1];
	int64_t n;                 /* position, 1.. */
	int has_prev;              /* 0 exactly when n == 1 */
	unsigned char prev[32];    /* SHA-256 of checkpoint n-1's BODY */
	int64_t time;              /* the hub's clock, ms since the epoch */
	int nheads;
	ssync_whead heads[SSYNC_WITNESS_MAX_HEADS];
	unsigned char sig[SSYNC_SIG_BYTES];
	unsigned char hash[32];    /* SHA-256 of body (set by sign and parse) */
	char *body;
	size_t body_len;
} ssync_wobj;

void ssync_witness__wobj_clear(ssync_wobj *w);
/* Clear and free a malloc'd checkpoint (NULL: nothing). */
void ssync_witness__wobj_free(ssync_wobj *w);
/* Encode, sign with the hub's key; the wire line into *line (malloc'd).
 * Refuses (EINVAL) what ssync_witness__wobj_parse would refuse. */
int ssync_witness__wobj_sign(ssync_wobj *w, const ssync_keypair *kp, char **line, size_t *len,
	ssync_error *err);
/* Parse and check one line (canonical, bounded, ordered heads); not its signature. */
int ssync_witness__wobj_parse(ssync_wobj *w, const char *line, size_t len, ssync_error *err);
/* witness/<n / 1000, 7 digits>/<n, 12 digits>.ckpt */
void ssync_witness__wobj_path(int64_t n, char *buf, size_t len);
/* The position a path names, or 0 if it is not a checkpoint path. */
int64_t ssync_witness__path_pos(const char *path);

#endif
