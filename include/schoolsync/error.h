#ifndef SSYNC_ERROR_H
#define SSYNC_ERROR_H

#include <stddef.h>

#include "common.h"

/**
 * Every error code in one table: X(NAME, number, "string code", "hint").
 *
 * The first rows are the codes functions return: 0 is success, every failure
 * is negative, SSYNC_ERROR is the generic code and the others are failures a
 * caller is expected to handle. Their string codes appear in error output
 * ("[E_SIG]", JSON "code") and quarantine rows. The hint is a generic next
 * step; a failure's own ssync_error.hint, when set, says more.
 */
#define SSYNC_ERROR_CODES(X) \
	X(OK,         0,   "OK",          "") \
	X(ERROR,     -1,   "E_ERROR",     "see the message") \
	X(ENOTFOUND, -2,   "E_NOTFOUND",  "check the name; list what exists") \
	X(EEXISTS,   -3,   "E_EXISTS",    "it exists already: use it, or choose another name") \
	X(EPERM,     -4,   "E_PERM",      "not allowed for this node (policy, internal table)") \
	X(EINVAL,    -5,   "E_INVAL",     "fix the input (names, values, SQL, flags)") \
	X(EBUSY,     -6,   "E_BUSY",      "the database or home is locked: retry") \
	X(ECONFLICT, -7,   "E_CONFLICT",  "the state conflicts with the request") \
	X(EKEYPERM,  -8,   "E_KEYPERM",   "the key file's permissions are unsafe: chmod 600") \
	X(ESIG,      -9,   "E_SIG",       "a signature does not verify: call the hub") \
	X(ECHAIN,    -10,  "E_CHAIN",     "a hash chain or sequence is broken: call the hub") \
	X(EFORK,     -11,  "E_FORK",      "a node signed two entries for one seq: call the hub") \
	X(EREWRITE,  -12,  "E_REWRITE",   "a remote branch was rewritten: call the hub, never force-push") \
	X(ENET,      -13,  "E_NET",       "the remote is unreachable or the transfer failed: check the network or USB stick, then sync again (a running daemon retries by itself)") \
	X(EIO,       -14,  "E_IO",        "a file system error: check the disk and permissions") \
	X(ECORRUPT,  -15,  "E_CORRUPT",   "stored data is damaged: rebuild from the exchange repository") \
	X(ETOOLARGE, -16,  "E_TOO_LARGE", "the input exceeds a documented limit") \
	X(EENCODING, -17,  "E_ENCODING",  "not canonical bytes or not valid UTF-8") \
	X(ESCHEMA,   -18,  "E_SCHEMA",    "the entry or JSON does not fit the schema: upgrade schoolsync") \
	X(ECANCELLED,-19,  "E_CANCELLED", "cancelled or timed out: a running daemon retries; run a manual command again") \
	X(ECERT,     -20,  "E_CERT",      "a certificate is missing, invalid, revoked or expired: call the hub") \
	X(EREADONLY, -21,  "E_READONLY",  "the home or remote is read-only: remount it read-write") \
	X(ECLOCK,    -22,  "E_CLOCK",     "a time outside the HLC range, or a clock that cannot be trusted: check the PC's clock") \
	X(EUNSAFE,   -23,  "E_UNSAFE",    "a home, key or local remote others could change, or that reaches outside itself") \
	X(ETAMPER,   -24,  "E_TAMPER",    "the replica was changed outside schoolsync: rebuild it from the log") \
	X(EVALUE,    -25,  "E_VALUE",     "a value or key no receiver accepts (docs/FORMAT.md, Values)") \
	X(EREJECTED, -26,  "E_PUSH_REJECTED", "a remote does not take our own branch") \
	X(EROLLBACK, -27,  "E_ROLLBACK",  "a remote holds this node's own branch ahead of its log (restored from an old copy): sync to adopt it, see status") \
	X(ENOKEY,    -30,  "E_NOKEY",     "no key opens this private value: only its recipients read it (docs/PRIVACY.md)")

/**
 * Detail codes: never returned, they name a failure more precisely in
 * messages ("... (E_AUTHOR)") and quarantine rows. Each has a number of its
 * own (below -100) so that names and numbers round-trip; the code returned
 * with it is ssync_error_class(). X(NAME, number, "string code", class, "hint").
 */
#define SSYNC_ERROR_DETAILS(X) \
	X(D_AUTHOR,        -101, "E_AUTHOR",       SSYNC_EPERM,     "an entry sits on another node's branch: call the hub") \
	X(D_DISTRICT,      -102, "E_DISTRICT",     SSYNC_ECERT,     "data of another district: check the remote's URL") \
	X(D_CERT_UNKNOWN,  -103, "E_CERT_UNKNOWN", SSYNC_ECERT,     "the node has no certificate yet: the hub certifies it") \
	X(D_CERT_BADKEY,   -104, "E_CERT_BADKEY",  SSYNC_ECERT,     "the certificate carries an invalid key") \
	X(D_CERT_EXPIRED,  -105, "E_CERT_EXPIRED", SSYNC_ECERT,     "written outside its certificate's validity: check the node's clock") \
	X(D_REVOKED,       -106, "E_REVOKED",      SSYNC_ECERT,     "the node was revoked: its later entries are refused") \
	X(D_ROOT,          -107, "E_ROOT",         SSYNC_ECERT,     "names another district root key: call the hub") \
	X(D_PERM_COLUMN,   -108, "E_PERM_COLUMN",  SSYNC_EPERM,     "the column is written by another role") \
	X(D_HELD,          -109, "W_HELD",         SSYNC_ENOTFOUND, "waits for the entry that created the row") \
	X(D_DRIFT,         -110, "E_DRIFT",        SSYNC_ECORRUPT,  "data changed outside schoolsync: rebuild the replica") \
	X(D_VERIFY,        -111, "E_VERIFY",       SSYNC_ECORRUPT,  "the audit could not verify a branch: see the reason") \
	X(D_REMOTE_STALE,  -112, "W_REMOTE_STALE", SSYNC_OK,        "a stale mirror or rollback: our copy is pushed again") \
	X(D_USAGE,         -113, "E_USAGE",        SSYNC_EINVAL,    "see the command's --help") \
	X(D_UNAPPLIED,     -114, "W_UNAPPLIED",    SSYNC_OK,        "held unapplied by the replica being verified") \
	X(D_GUARD,         -115, "E_GUARD",        SSYNC_EPERM,     "the hub's guard refused a push: see the ref and reason it names") \
	X(D_FUTURE_HLC,    -121, "W_FUTURE_HLC",   SSYNC_ECLOCK,    "dated ahead of the time the hub witnessed: held, not applied; fix the writer's clock") \
	X(D_BACKDATED,     -122, "E_BACKDATED",    SSYNC_ECLOCK,    "dated before the hub had seen its node further: refused (a stolen key?)") \
	X(D_WITNESS_FORK,  -123, "E_WITNESS_FORK", SSYNC_EFORK,     "the hub signed two checkpoints for one position: call the district") \
	X(D_VOID,          -119, "E_VOID",         SSYNC_ECERT,     "signed by a key a re-enrolment replaced, above its cut: void everywhere")

#define SSYNC__ERROR_ENUM(name, num, str, hint) SSYNC_##name = num,
#define SSYNC__DETAIL_ENUM(name, num, str, cls, hint) SSYNC_##name = num,
enum {
	SSYNC_ERROR_CODES(SSYNC__ERROR_ENUM)
};
enum {
	SSYNC_ERROR_DETAILS(SSYNC__DETAIL_ENUM)
};
#undef SSYNC__ERROR_ENUM
#undef SSYNC__DETAIL_ENUM

/** Details of a failure, owned by the caller and passed last. */
typedef struct ssync_error {
	int code;          /**< one of the SSYNC_E* codes */
	int sys_errno;     /**< errno when a system call failed, else 0 */
	int sqlite_rc;     /**< SQLite result code when SQLite failed, else 0 */
	char message[512]; /**< what failed and why */
	char hint[256];    /**< what the user can do next, may be empty */
	/* What ssync_error_localize() needs to say message and hint in another
	 * language at the program's edge: the formats they were made from (NULL
	 * when not made from one) and each argument as printed, NUL-separated.
	 * The library itself stays English. */
	const char *msg_fmt;
	const char *hint_fmt;
	char msg_args[384];
	char hint_args[192];
	/* One argument of the message that was itself made from a format (a
	 * domain check's reason, ssync_error__reason): its index among the
	 * message's arguments, its format (NULL: none) and arguments, so it is
	 * translated too. */
	const char *nested_fmt;
	int nested_index;
	char nested_args[192];
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

/**
 * @p err's message and hint in another language, for the program's edge
 * (the CLI passes gettext): @p tr maps an English format string of the
 * library (the ones ssync_error_set and ssync_error_hint were given) to its
 * translation with the same conversions, or returns it unchanged. The
 * arguments recorded when the error was set fill the translation. Where a
 * text was not made from a format, was changed after it was set, or its
 * translation does not fit, the English text is copied. @p msg / @p hint
 * (NULL allowed) receive NUL-terminated text, truncated to their size.
 */
SSYNC_EXTERN void ssync_error_localize(const ssync_error *err, const char *(*tr)(const char *fmt),
	char *msg, size_t msgn, char *hint, size_t hintn);

/** Short stable name of a code or detail code, e.g. "E_SIG"; "E_UNKNOWN" for others. */
SSYNC_EXTERN const char *ssync_error_name(int code);

/**
 * The code (or detail code) named @p name, e.g. SSYNC_ESIG for "E_SIG".
 * @return the code, or 1 (no code is positive) when the name is unknown.
 */
SSYNC_EXTERN int ssync_error_code(const char *name);

/** The generic next step for @p code from the table; "" when unknown. */
SSYNC_EXTERN const char *ssync_error_code_hint(int code);

/** The code returned with detail code @p code; other codes map to themselves. */
SSYNC_EXTERN int ssync_error_class(int code);

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

/**
 * What a failed program of ours said on stderr (@p text, @p len bytes):
 * the last line that is the error object above, read into *out (0); when
 * there is none, SSYNC_ENOTFOUND with *out set to SSYNC_ERROR and the last
 * non-empty line as its message ("" if there is none). Progress and other
 * noise before the object are skipped.
 */
SSYNC_EXTERN int ssync_error_parse_output(ssync_error *out, const char *text, size_t len);

#endif
