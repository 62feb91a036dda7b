#ifndef SSYNC_REDACT_H
#define SSYNC_REDACT_H

#include <stddef.h>

#include "common.h"

/**
 * @p url as it may be shown: every printer (remote add/list, status, the
 * daemon's log, errors) passes remote URLs through this one function.
 * A password in the user part becomes "***" (https://user:***@host/...); a
 * user part of an http(s) URL with no password is a token on its own
 * (https://TOKEN@host) and becomes "***" whole; values of query parameters
 * whose names say token, key, secret, pass or auth become "***". Other URLs
 * and local paths are copied unchanged. The result is cut to @p len - 1
 * bytes (never in the middle of a secret: a secret is never copied).
 * Returns @p out.
 */
SSYNC_EXTERN char *ssync_redact_url(const char *url, char *out, size_t len);

/** 1 if @p url holds a secret that ssync_redact_url would hide. */
SSYNC_EXTERN int ssync_url_has_secret(const char *url);

#endif
