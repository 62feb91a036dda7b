#ifndef SSYNC_CONTROL_H
#define SSYNC_CONTROL_H

#include <stddef.h>

#include "common.h"
#include "error.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/control.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * The daemon's control socket, HOME/control.sock (schoolsync/home.h): the
 * protocol both sides speak and the client the programs use. One JSON line
 * each way per connection; docs/CONTROL.md has every message.
 */

/** Longest request line the daemon reads, its newline included. */
#define SSYNC_CONTROL_LINE_MAX 4096
/** The daemon's own limit on one `remote list` run, in seconds. */
#define SSYNC_CONTROL_LIST_DEADLINE_S 30.0
/** How long a client waits for a status answer (and to connect and send), ms. */
#define SSYNC_CONTROL_STATUS_TIMEOUT_MS 5000

typedef enum ssync_control_cmd {
	SSYNC_CONTROL_STATUS = 0,      /**< {"cmd":"status"}: daemon, node and remotes */
	SSYNC_CONTROL_STATUS_DAEMON,   /**< {"cmd":"status","node":false}: no replica read */
	SSYNC_CONTROL_SYNC_NOW,        /**< {"cmd":"sync-now"}: queue a round, answer at once */
	SSYNC_CONTROL_SYNC_NOW_WAIT,   /**< {"cmd":"sync-now","wait":true}: answer after the rounds */
	SSYNC_CONTROL_WEB_LOGIN        /**< {"cmd":"web-login","user":..}: a one-time web console link
	                                *   (has arguments: ssync_control_web_login_request) */
} ssync_control_cmd;

/** The request line for @p cmd, without its newline; "" if @p cmd is unknown
 *  or takes arguments (SSYNC_CONTROL_WEB_LOGIN). */
SSYNC_EXTERN const char *ssync_control_request(ssync_control_cmd cmd);

/**
 * The daemon's side: read one request line (@p len bytes, no newline).
 * SSYNC_EINVAL with the reason for anything that is not a known request.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_control_parse_request(const char *line,
	size_t len, ssync_control_cmd *out, ssync_error *err);

/**
 * A failure answer: {"ok":false,"error":{..}} with the error object of
 * ssync_error_json() (so ssync_error_parse_json() reads it back). malloc'd,
 * one line, no newline; NULL if out of memory.
 */
SSYNC_EXTERN char *ssync_control_error_reply(int code, const char *message);

/**
 * Send @p cmd to the daemon of @p home and read its one-line answer into
 * *reply_out (malloc'd, NUL-terminated, newline stripped), waiting at most
 * @p timeout_ms for it; connecting and sending are bounded by
 * SSYNC_CONTROL_STATUS_TIMEOUT_MS. Only a socket owned by our own user is
 * talked to (root may talk to any). Returns 0 with an answer;
 * SSYNC_ENOTFOUND when no daemon runs there ("no schoolsyncd runs for
 * HOME..."); SSYNC_ECANCELLED when it did not answer in time; SSYNC_EPERM,
 * SSYNC_EIO or SSYNC_ERROR otherwise. *reply_out is NULL on failure.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_control_call(const char *home,
	ssync_control_cmd cmd, int timeout_ms, char **reply_out, ssync_error *err);

/**
 * Like ssync_control_call(), for a request line built by the caller (one
 * line of JSON without its newline, e.g. ssync_control_web_login_request()).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_control_call_line(const char *home,
	const char *line, int timeout_ms, char **reply_out, ssync_error *err);

/** What a web-login request asks for (docs/CONTROL.md, docs/WEB.md). */
typedef struct ssync_control_web_login {
	char user[64];  /**< the actor of the console's writes (1..63 bytes) */
	int port;       /**< -1 = the daemon's choice (config, else a free port) */
	char bind[64];  /**< "" = the daemon's choice (config, else 127.0.0.1) */
} ssync_control_web_login;

/**
 * The request line {"cmd":"web-login","user":..,"port"?:N,"bind"?:..}
 * (no newline), malloc'd; NULL if out of memory or @p req does not fit
 * the protocol (user empty or too long).
 */
SSYNC_EXTERN char *ssync_control_web_login_request(const ssync_control_web_login *req);

/**
 * The daemon's side: the arguments of a web-login request line.
 * SSYNC_EINVAL naming what is wrong.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_control_parse_web_login(const char *line,
	size_t len, ssync_control_web_login *out, ssync_error *err);

/**
 * How long a client may wait for {"cmd":"sync-now","wait":true}, in ms,
 * from a status answer (@p status_reply, @p len bytes; NULL or unreadable
 * parts fall back to deadline 300 s, kill grace 5 s, one remote): a round
 * already running, the remote-list refresh, then one round per remote, each
 * bounded by the daemon's deadline plus its kill grace; doubled, plus 30 s;
 * at most a day.
 */
SSYNC_EXTERN int ssync_control_sync_now_timeout_ms(const char *status_reply, size_t len);

#endif
