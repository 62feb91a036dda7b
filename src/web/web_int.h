/* The web console's internals (src/web/), shared by its files only. The
 * layer sees the library through include/schoolsync/ alone: no *_int.h of
 * another layer is on its include path (CMakeLists.txt).
 *
 * Files, lowest first (each calls only files above it):
 *   auth    one-time login tokens and sessions (memory only, one mutex)
 *   http    responses: security headers, JSON, the error object
 *   api     /api/session, /api/status and the daemon-facing calls
 *   data    /api/tables and their rows: list, one, add, edit, delete
 *   files   /api/import, /api/export, /api/reports
 *   review  /api/conflicts, /api/resolve, /api/history
 *   server  libmicrohttpd: listening, bodies, login, CSRF, routing, assets */
#ifndef SSYNC_WEB_INT_H
#define SSYNC_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "schoolsync/error.h"
#include "schoolsync/web.h"

/* ---- the pages (generated from src/web/assets by cmake/embed_assets.cmake) ---- */
typedef struct ssync_web_asset {
	const char *path;            /* URL path, "/index.html" */
	const char *mime;            /* Content-Type */
	const unsigned char *data;
	size_t len;
} ssync_web_asset;
extern const ssync_web_asset ssync_web__assets[]; /* ends with {NULL} */

/* ---- auth.c ---- */
#define WEB_USER_MAX 64
#define WEB_TOKEN_HEX 64             /* 32 random bytes */
#define WEB_MAX_TOKENS 32
#define WEB_MAX_SESSIONS 64

typedef struct web_auth web_auth;
typedef struct web_session {
	char user[WEB_USER_MAX];
	char csrf[WEB_TOKEN_HEX + 1];
} web_session;

int ssync_web__auth_new(web_auth **out, double idle_s, double ttl_s);
void ssync_web__auth_free(web_auth *a);
/* A new login token for @p user into tok (hex). SSYNC_EBUSY if too many are open. */
int ssync_web__token_new(web_auth *a, const char *user, char tok[WEB_TOKEN_HEX + 1], ssync_error *err);
/* Spend token @p tok: a new session (its id into sid, its data into *s). -1 if
 * the token is unknown, used or expired. */
int ssync_web__token_use(web_auth *a, const char *tok, char sid[WEB_TOKEN_HEX + 1], web_session *s);
/* The session @p sid (a cookie value) into *s, and mark it used; -1 if none or idle too long. */
int ssync_web__session_get(web_auth *a, const char *sid, web_session *s);
void ssync_web__session_end(web_auth *a, const char *sid);
/* Constant-time equality of two NUL-terminated secrets. */
int ssync_web__secret_eq(const char *a, const char *b);

/* ---- the server and one request (server.c owns them) ---- */
struct ssync_web {
	struct MHD_Daemon *mhd;
	web_auth *auth;
	char *home;
	char *bind;
	int port;
	int loopback;
	char host[80];               /* "127.0.0.1:PORT" as links name it */
};

typedef struct web_req {
	ssync_web *w;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	char *body;                  /* the request body, NUL-terminated */
	size_t len, cap, limit;
	int too_large;
	int has_session;
	char sid[WEB_TOKEN_HEX + 1];
	web_session s;
	int answered;
} web_req;

/* ---- http.c ---- */
/* Queue a response (security headers added); @p body is copied. Always MHD_YES
 * unless the connection must be closed. */
enum MHD_Result ssync_web__send(web_req *r, unsigned int status, const char *ctype,
	const char *cache, const void *body, size_t len, const char *const *headers);
/* @p v as JSON (consumed; NULL = out of memory, a 500). */
enum MHD_Result ssync_web__send_json(web_req *r, unsigned int status, json_t *v);
/* The CLI's error object (ssync_error_json) with the HTTP status for its code. */
enum MHD_Result ssync_web__send_err(web_req *r, const ssync_error *e);
enum MHD_Result ssync_web__send_error(web_req *r, unsigned int status, int code, const char *hint,
	const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 5, 6)))
#endif
	;
unsigned int ssync_web__status_of(int code);
/* A query argument, or NULL. */
const char *ssync_web__arg(web_req *r, const char *name);

/* ---- api.c ---- */
enum MHD_Result ssync_web__api_session(web_req *r);
enum MHD_Result ssync_web__api_status(web_req *r);
enum MHD_Result ssync_web__api_sync(web_req *r);
/* The node's role ("hub", "school", "auditor", "" unmanaged) and school. */
int ssync_web__node_role(const char *home, char *role, size_t rlen, char *school, size_t slen,
	char *node, size_t nlen, char *district, size_t dlen, ssync_error *err);

/* ---- data.c, files.c, review.c: the district's data. Each router takes
 * the URL after "/api/" and returns 0 for a path it does not serve, else 1
 * with the answer queued into *res. ---- */
struct ssync_node;
struct ssync_table_spec;
/* An everyday table by URL name; NULL for unknown or private ones. */
const struct ssync_table_spec *ssync_web__table(const char *name);
enum MHD_Result ssync_web__no_table(web_req *r, const char *name);
/* Open the node (flags as ssync_node_open); -1 with the error queued. */
int ssync_web__open(web_req *r, struct ssync_node **n, int flags, enum MHD_Result *res);
enum MHD_Result ssync_web__api_tables(web_req *r);
int ssync_web__api_rows(web_req *r, const char *path, enum MHD_Result *res);   /* data.c */
int ssync_web__api_files(web_req *r, const char *path, enum MHD_Result *res);  /* files.c: import, export, reports */
int ssync_web__api_review(web_req *r, const char *path, enum MHD_Result *res); /* review.c: conflicts, resolve, history */

#endif
