#ifndef SSYNC_WEB_H
#define SSYNC_WEB_H

#include <stddef.h>

#include "common.h"
#include "error.h"

/* Layer web (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_WEB
#error "schoolsync/web.h is layer web: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * The local web console (docs/WEB.md): an HTTP server (libmicrohttpd) on
 * its own threads serving the pages compiled into the program and a JSON
 * API under /api/ that calls the same library functions as the CLI. Login
 * is by one-time token (ssync_web_login), then a session cookie; every
 * write needs the session's CSRF token. Tokens and sessions live in this
 * process's memory only.
 */

typedef struct ssync_web ssync_web;

typedef struct ssync_web_options {
	unsigned int version;
	const char *home;       /**< the node's home (required) */
	const char *bind;       /**< address to listen on; NULL = "127.0.0.1" */
	int port;               /**< TCP port; 0 = pick a free one */
	int allow_remote;       /**< 1: a non-loopback bind is allowed (put TLS in front: docs/WEB.md) */
	double session_idle_s;  /**< a session unused this long ends; 0 = 1800 */
	double token_ttl_s;     /**< a login token unused this long expires; 0 = 600 */
} ssync_web_options;
#define SSYNC_WEB_OPTIONS_VERSION 1
#define SSYNC_WEB_OPTIONS_INIT { SSYNC_WEB_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0 }

/** Longest login URL ssync_web_login writes, its NUL included. */
#define SSYNC_WEB_URL_MAX 256

/**
 * Start serving. Refuses (SSYNC_EPERM) a bind address that is not loopback
 * unless @p opts->allow_remote; SSYNC_EINVAL for an address that does not
 * parse; SSYNC_EIO when the port cannot be bound (the message names it).
 * Free with ssync_web_stop(); *out is NULL on failure.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_web_start(ssync_web **out,
	const ssync_web_options *opts, ssync_error *err);

/** The port it listens on (the one picked when 0 was asked for). */
SSYNC_EXTERN int ssync_web_port(const ssync_web *w);
/** The address it listens on, as given (default "127.0.0.1"). */
SSYNC_EXTERN const char *ssync_web_bind(const ssync_web *w);

/**
 * A new one-time login link for @p user (the actor recorded in the
 * console's writes; 1..63 bytes of UTF-8, no control characters):
 * "http://HOST:PORT/login?t=TOKEN" into @p url (SSYNC_WEB_URL_MAX bytes).
 * The token is 32 random bytes, good once, for token_ttl_s. Thread-safe.
 * SSYNC_EINVAL for a bad user name; SSYNC_EBUSY when too many unused
 * tokens are outstanding.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_web_login(ssync_web *w, const char *user,
	char *url, size_t urllen, ssync_error *err);

/** Stop serving (waits for the requests in progress) and free. NULL: nothing. */
SSYNC_EXTERN void ssync_web_stop(ssync_web *w);

#endif
