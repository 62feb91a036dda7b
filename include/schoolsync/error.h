#ifndef SSYNC_ERROR_H
#define SSYNC_ERROR_H

#include <stddef.h>

#include "common.h"

/**
 * Error codes. 0 is success; every failure is negative. SSYNC_ERROR is the
 * generic code; the others are failures a caller is expected to handle.
 */
enum {
	SSYNC_OK = 0,
	SSYNC_ERROR = -1,     /**< generic failure; see message */
	SSYNC_ENOTFOUND = -2, /**< a named thing does not exist */
	SSYNC_EEXISTS = -3,   /**< it exists already */
	SSYNC_EPERM = -4,     /**< not allowed (policy, internal table) */
	SSYNC_EINVAL = -5,    /**< bad input: names, values, SQL, flags */
	SSYNC_EBUSY = -6,     /**< database or home locked: retry */
	SSYNC_ECONFLICT = -7, /**< conflicting state */
	SSYNC_EKEYPERM = -8,  /**< key file permissions unsafe */
	SSYNC_ESIG = -9,      /**< bad signature */
	SSYNC_ECHAIN = -10,   /**< hash chain / seq broken */
	SSYNC_EFORK = -11,    /**< equivocation: same (node, seq), two entries */
	SSYNC_EREWRITE = -12, /**< a remote branch was rewritten */
	SSYNC_ENET = -13,     /**< remote unreachable / transfer failed */
	SSYNC_EIO = -14,      /**< file system error */
	SSYNC_ECORRUPT = -15, /**< stored data is damaged */
	SSYNC_ETOOLARGE = -16,/**< input exceeds a documented limit */
	SSYNC_EENCODING = -17,/**< not canonical bytes / invalid UTF-8 */
	SSYNC_ESCHEMA = -18,  /**< entry or JSON does not fit the schema */
	SSYNC_ECANCELLED = -19,/**< operation cancelled or timed out */
	SSYNC_ECERT = -20,    /**< certificate missing, invalid, revoked, expired */
	SSYNC_EREADONLY = -21,/**< home or remote is read-only */
	SSYNC_ECLOCK = -22,   /**< a time outside the HLC range, or a clock that cannot be trusted */
	SSYNC_EUNSAFE = -23,  /**< a home, key or local remote others could change or that reaches outside itself */
	SSYNC_ETAMPER = -24,  /**< the replica was changed outside schoolsync (schema, internal state) */
	SSYNC_EVALUE = -25,   /**< a value or key no receiver accepts (docs/FORMAT.md §1 Values) */
	SSYNC_EREJECTED = -26 /**< a remote does not take our own branch: E_PUSH_REJECTED */
};

/** Details of a failure, owned by the caller and passed last. */
typedef struct ssync_error {
	int code;          /**< one of the SSYNC_E* codes */
	int sys_errno;     /**< errno when a system call failed, else 0 */
	int sqlite_rc;     /**< SQLite result code when SQLite failed, else 0 */
	char message[512]; /**< what failed and why */
	char hint[256];    /**< what the user can do next, may be empty */
} ssync_error;

/** Reset @p err to "no error". NULL is allowed. */
SSYNC_EXTERN void ssync_error_clear(ssync_error *err);

/**
 * Record a failure. The first error wins: if @p err already holds a failure
 * the call changes nothing. Returns @p code so callers can write
 * `return ssync_error_set(err, SSYNC_EINVAL, "bad %s", x);`.
 */
SSYNC_EXTERN int ssync_error_set(ssync_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/** Set the hint of the recorded failure (only if none is set yet). */
SSYNC_EXTERN void ssync_error_hint(ssync_error *err, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/** Short stable name of a code, e.g. "E_SIG". */
SSYNC_EXTERN const char *ssync_error_name(int code);

/**
 * @p err as the one JSON error object every program prints with --json
 * (docs/CONTROL.md): {"error":{"code":"E_NET","status":-13,"message":"..",
 * "hint":".."}} ("hint" only when there is one), compact, on one line, no
 * newline. NULL @p err or an empty one reads as a generic E_ERROR. Returns a
 * malloc'd string (free with free()); NULL if out of memory.
 */
SSYNC_EXTERN char *ssync_error_json(const ssync_error *err);

/**
 * Read such an object back into *out (cleared first): code from "status",
 * or from "code" when "status" is missing or unknown. SSYNC_ESCHEMA if
 * @p text (@p len bytes) is not one; *out then holds nothing.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_error_parse_json(ssync_error *out,
	const char *text, size_t len);

#endif
