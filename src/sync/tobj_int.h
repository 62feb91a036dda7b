#ifndef SSYNC_TOBJ_INT_H
#define SSYNC_TOBJ_INT_H

/* Trust objects (tobj.c): the signed lines on refs/heads/district. */

#include <stddef.h>
#include <stdint.h>

#include "schoolsync/error.h"
#include "schoolsync/keys.h"

#define SSYNC_DISTRICT_REF "refs/heads/district"

enum { SSYNC_TOBJ_GENESIS = 1, SSYNC_TOBJ_CERT = 2, SSYNC_TOBJ_REVOKE = 3, SSYNC_TOBJ_REENROLL = 4,
	SSYNC_TOBJ_ROTATE = 5 /* the district root hands over to a new one (TRUST.md §3a) */,
	SSYNC_TOBJ_WRESET = 6 /* the root voids checkpoints from..to and names the witness key (§4b) */ };

/* One trust object, parsed. */
typedef struct ssync_tobj {
	int kind;
	char district[SSYNC_NODE_ID_MAX + 1];
	char node[SSYNC_NODE_ID_MAX + 1];
	char name[257];
	char role[16];
	char school[SSYNC_NODE_ID_MAX + 1]; /* "" = null */
	int64_t serial, created, valid_from, valid_until /* 0 = null */, after_seq;
	int64_t gen;                               /* reenroll: the new key generation (>= 2) */
	int64_t wfrom, wto;                        /* wreset: checkpoints wfrom..wto are void (wfrom = wto + 1: none) */
	unsigned char key[SSYNC_PUBKEY_BYTES]; /* genesis: root; cert, reenroll: the node's (new) key;
	                                         wreset: the key that signs checkpoints after wto (node: its hub) */
	unsigned char old_key[SSYNC_PUBKEY_BYTES]; /* reenroll: the key whose entries after after_seq are void;
	                                             rotate: the old root (key: the new root) */
	unsigned char enckey[SSYNC_ENCKEY_BYTES]; /* cert: X25519 key, when has_enckey */
	int has_enckey;
	unsigned char sig[SSYNC_SIG_BYTES];
	char *body;
	size_t body_len;
} ssync_tobj;

void ssync_trust__tobj_clear(ssync_tobj *t);
int ssync_trust__role_valid(const char *r);
/* Encode and sign with the root; the wire line into *line (malloc'd). */
int ssync_trust__tobj_sign(ssync_tobj *t, const ssync_keypair *root, char **line, size_t *len,
	ssync_error *err);
/* Parse and check one object line (canonical, known kind); not its signature. */
int ssync_trust__tobj_parse(ssync_tobj *t, const char *line, size_t len, ssync_error *err);
/* The path an object must have on the branch. */
void ssync_trust__tobj_path(const ssync_tobj *t, char *buf, size_t len);

#endif
