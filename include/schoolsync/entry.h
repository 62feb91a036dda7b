#ifndef SSYNC_ENTRY_H
#define SSYNC_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "ident.h"
#include "keys.h"

/**
 * One signed log entry. Wire form (docs/FORMAT.md): one line
 *     BODY TAB SIGNATURE-HEX LF
 * BODY is compact UTF-8 JSON starting {"entry":1,...}; the signature is
 * Ed25519 over the exact BODY bytes; the entry hash is SHA-256 of BODY.
 */
typedef struct ssync_entry ssync_entry;

#define SSYNC_HASH_BYTES 32
#define SSYNC_ENTRY_MAX_BYTES (1024 * 1024) /* one line, body + signature */
#define SSYNC_KEY_MAX_BYTES 256               /* a row's key, UTF-8 bytes */
#define SSYNC_VALUE_MAX_BYTES (512 * 1024)    /* one text (UTF-8 bytes) or blob (decoded bytes) */

/**
 * Parse one line (without or with its trailing LF). Checks syntax, field
 * types, identifiers, and that BODY is exactly the canonical encoding of what
 * it says (SSYNC_EENCODING otherwise). Does not check the signature.
 * Free with ssync_entry_free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_entry_parse(ssync_entry **out,
	const char *line, size_t len, ssync_error *err);

/** Verify the signature against @p pk. SSYNC_ESIG on failure. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_entry_verify(const ssync_entry *e,
	const unsigned char pk[SSYNC_PUBKEY_BYTES], ssync_error *err);

SSYNC_EXTERN void ssync_entry_free(ssync_entry *e);

SSYNC_EXTERN const char *ssync_entry_node(const ssync_entry *e);
SSYNC_EXTERN const char *ssync_entry_district(const ssync_entry *e);
SSYNC_EXTERN const char *ssync_entry_actor(const ssync_entry *e);
SSYNC_EXTERN int64_t ssync_entry_seq(const ssync_entry *e);
SSYNC_EXTERN uint64_t ssync_entry_hlc(const ssync_entry *e);
SSYNC_EXTERN int ssync_entry_schema(const ssync_entry *e);
/** Hash of the previous entry, or NULL for seq 1. */
SSYNC_EXTERN const unsigned char *ssync_entry_prev(const ssync_entry *e);
SSYNC_EXTERN const unsigned char *ssync_entry_hash(const ssync_entry *e);
SSYNC_EXTERN const unsigned char *ssync_entry_sig(const ssync_entry *e);
/** The exact signed body bytes (not NUL-terminated in the wire line, but NUL-terminated here). */
SSYNC_EXTERN const char *ssync_entry_body(const ssync_entry *e, size_t *len);

/**
 * The wire line (BODY TAB SIG LF) into a malloc'd buffer; caller frees with
 * free().
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_entry_line(const ssync_entry *e,
	char **out, size_t *len, ssync_error *err);

#endif
