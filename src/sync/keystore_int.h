#ifndef SSYNC_KEYSTORE_INT_H
#define SSYNC_KEYSTORE_INT_H

/*
 * A node's key store (docs/PRIVACY.md, TRUST.md §2a): one signed line
 * BODY TAB SIGNATURE, BODY canonical compact JSON
 *   {"keystore":1,"district":D,"node":N,"version":V,
 *    "keys":[[KID,[[NODE,BOX],...]],...],"erased":[KID,...],"grants":[[AUDITOR,SCHOOL],...]}
 * signed (Ed25519) by NODE's certified key. BOX is the standard base64 of
 * crypto_box_seal(data key) to NODE's X25519 key (80 bytes, 108 characters).
 * Every list is sorted and without repeats, so there is one encoding.
 */
#include <stddef.h>
#include <stdint.h>

#include "schoolsync/cellcrypt.h"
#include "schoolsync/error.h"
#include "schoolsync/keys.h"

#define SSYNC_KEYSTORE_FILE "keystore"
#define SSYNC_KEYSTORE_MAX ((size_t)8 << 20) /* like a segment (FORMAT.md §2) */
#define SSYNC_KEYSTORE_BOX (SSYNC_DATAKEY_BYTES + SSYNC_SEAL_OVERHEAD)

typedef struct ssync_ks_wrap {
	char node[SSYNC_NODE_ID_MAX + 1];
	unsigned char box[SSYNC_KEYSTORE_BOX];
} ssync_ks_wrap;

typedef struct ssync_ks_key {
	char kid[SSYNC_KID_HEX + 1];
	int nwraps;
	ssync_ks_wrap *wraps;
} ssync_ks_key;

typedef struct ssync_ks_grant {
	char auditor[SSYNC_NODE_ID_MAX + 1];
	char school[SSYNC_NODE_ID_MAX + 1];
} ssync_ks_grant;

typedef struct ssync_keystore {
	char district[SSYNC_NODE_ID_MAX + 1];
	char node[SSYNC_NODE_ID_MAX + 1];
	int64_t version;
	int nkeys, nerased, ngrants;
	ssync_ks_key *keys;
	char (*erased)[SSYNC_KID_HEX + 1];
	ssync_ks_grant *grants;
	unsigned char sig[SSYNC_SIG_BYTES];
	char *body;
	size_t body_len;
} ssync_keystore;

void ssync_keystore__clear(ssync_keystore *ks);
/* Sort the lists (the writer's side), encode, sign: *line malloc'd. */
int ssync_keystore__sign(ssync_keystore *ks, const ssync_keypair *kp, char **line, size_t *len, ssync_error *err);
/* Parse one line: structure, ids, kids, boxes, order, canonical bytes.
 * Not the signature (the caller knows the node's key). */
int ssync_keystore__parse(ssync_keystore *ks, const char *line, size_t len, ssync_error *err);

#endif
