#ifndef SSYNC_CELLCRYPT_H
#define SSYNC_CELLCRYPT_H

#include <stddef.h>

#include "common.h"
#include "error.h"

/**
 * Private cells (docs/PRIVACY.md): a private column's value is stored,
 * signed and merged as the text
 *
 *     enc1:<kid>:<base64(nonce || ciphertext)>
 *
 * where kid names a 32-byte random data key (32 lower-case hex characters),
 * the AEAD is XChaCha20-Poly1305 (libsodium's IETF variant, 24-byte random
 * nonce) and its additional data binds the table, the row's key, the column
 * and the kid, so a ciphertext cannot be moved to another cell. base64 is
 * the standard alphabet with padding (sodium_base64_VARIANT_ORIGINAL).
 * Anyone can check the form; only a holder of the data key reads the value.
 */
#define SSYNC_DATAKEY_BYTES 32
#define SSYNC_KID_HEX 32
#define SSYNC_CELL_PREFIX "enc1:"

/** A new random data key and its kid (SSYNC_KID_HEX + 1 bytes). */
SSYNC_EXTERN void ssync_cell_newkey(unsigned char key[SSYNC_DATAKEY_BYTES], char kid[SSYNC_KID_HEX + 1]);

/** 1 if @p s is 32 lower-case hex characters (a kid). */
SSYNC_EXTERN int ssync_cell_kid_valid(const char *s);

/**
 * 1 if @p v (@p len bytes) is exactly a well-formed private cell (prefix,
 * kid, canonical base64 of at least nonce + tag); the kid is copied to
 * @p kid when not NULL. 0 otherwise. Needs no key.
 */
SSYNC_EXTERN int ssync_cell_parse(const char *v, size_t len, char kid[SSYNC_KID_HEX + 1]);

/**
 * Encrypt @p clear (@p len bytes of text) for the cell (@p table, @p pk,
 * @p col) under data key @p key named @p kid. *@p out is a malloc'd NUL
 * terminated string (free()).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_cell_encrypt(char **out,
	const unsigned char key[SSYNC_DATAKEY_BYTES], const char *kid,
	const char *table, const char *pk, const char *col,
	const char *clear, size_t len, ssync_error *err);

/**
 * Decrypt the cell value @p v of (@p table, @p pk, @p col) with @p key.
 * *@p out is malloc'd clear text, NUL terminated (free()), *@p out_len its
 * length. SSYNC_EINVAL if @p v is not a private cell; SSYNC_ENOKEY if the key
 * does not open it (wrong key, or moved from another cell, or altered).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_cell_decrypt(char **out, size_t *out_len,
	const unsigned char key[SSYNC_DATAKEY_BYTES],
	const char *table, const char *pk, const char *col,
	const char *v, size_t len, ssync_error *err);

#endif
