#ifndef SSYNC_KEYS_H
#define SSYNC_KEYS_H

#include <stddef.h>

#include "common.h"
#include "error.h"
#include "hex.h"

#define SSYNC_PUBKEY_BYTES 32
#define SSYNC_SIG_BYTES 64

/** An Ed25519 key pair; the secret half lives in sodium_malloc'd memory. */
typedef struct ssync_keypair ssync_keypair;

/** Initialise libsodium; aborts the process if it cannot (never continue without it). */
SSYNC_EXTERN void ssync_keys_init(void);

/** Make a new random key pair. Free with ssync_keys_free(). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_keys_generate(ssync_keypair **out, ssync_error *err);

/**
 * Write the secret key to @p path (hex, mode 0600, temp file + fsync + rename).
 * SSYNC_EEXISTS if the file exists: keys are never overwritten.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_keys_save(const ssync_keypair *kp,
	const char *path, ssync_error *err);

/**
 * Load a key file. SSYNC_EKEYPERM if group or others can read or write it,
 * or it is not owned by the current user; SSYNC_ENOTFOUND if missing.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_keys_load(ssync_keypair **out,
	const char *path, ssync_error *err);

SSYNC_EXTERN void ssync_keys_free(ssync_keypair *kp);

/** The 32-byte public key (valid while @p kp lives). */
SSYNC_EXTERN const unsigned char *ssync_keys_public(const ssync_keypair *kp);

/** Detached Ed25519 signature of @p msg into @p sig (64 bytes). */
SSYNC_EXTERN void ssync_keys_sign(const ssync_keypair *kp, const void *msg,
	size_t len, unsigned char sig[SSYNC_SIG_BYTES]);

/** 0 if @p sig is a valid signature of @p msg by @p pk, else SSYNC_ESIG. */
SSYNC_EXTERN int ssync_keys_verify(const unsigned char pk[SSYNC_PUBKEY_BYTES],
	const void *msg, size_t len, const unsigned char sig[SSYNC_SIG_BYTES]);

/*
 * A node's X25519 encryption key pair (docs/PRIVACY.md), beside its signing
 * key: data keys of private cells are sealed to its public half
 * (crypto_box_seal). The secret half lives in sodium_malloc'd memory; the
 * file (HOME/enc.key) has the same rules as node.key.
 */
#define SSYNC_ENCKEY_BYTES 32
#define SSYNC_SEAL_OVERHEAD 48 /* crypto_box_SEALBYTES */
typedef struct ssync_enckey ssync_enckey;

/** Make a new random X25519 key pair. Free with ssync_enckey_free(). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_enckey_generate(ssync_enckey **out, ssync_error *err);
/** Write the secret half to @p path (hex, 0600); SSYNC_EEXISTS if it exists. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_enckey_save(const ssync_enckey *k, const char *path, ssync_error *err);
/** Load like ssync_keys_load (SSYNC_EKEYPERM, SSYNC_ENOTFOUND). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_enckey_load(ssync_enckey **out, const char *path, ssync_error *err);
SSYNC_EXTERN void ssync_enckey_free(ssync_enckey *k);
/** The 32-byte public key (valid while @p k lives). */
SSYNC_EXTERN const unsigned char *ssync_enckey_public(const ssync_enckey *k);
/** Seal @p len bytes to @p pk into @p out (len + SSYNC_SEAL_OVERHEAD bytes). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_enckey_seal(unsigned char *out, const void *msg, size_t len,
	const unsigned char pk[SSYNC_ENCKEY_BYTES]);
/**
 * Open a sealed box addressed to @p k into @p out (boxlen - SSYNC_SEAL_OVERHEAD
 * bytes). SSYNC_ENOKEY if it was not sealed to this key or was altered.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_enckey_open(const ssync_enckey *k, unsigned char *out,
	const unsigned char *box, size_t boxlen);

#endif
