/* The web console's HTTP server (libmicrohttpd, a thread per connection so
 * that a long poll or a slow import never holds up another page).
 *
 * What every request goes through, in this order:
 *  1. Host: on a loopback bind only a loopback name is answered (a page of
 *     another site that rebinds its DNS name to 127.0.0.1 gets 421).
 *  2. Body: at most 8 MiB for /api/import/, 64 KiB for anything else; a
 *     larger Content-Length is refused with 413 before a byte is read, a
 *     chunked body as soon as it grows past the limit; /api/ without a
 *     valid session is answered 401 before any body is read.
 *  3. /login?t=TOKEN spends a one-time token (auth.c) for a session cookie.
 *  4. /api/: the session cookie, else 401; a request that is not GET/HEAD
 *     needs X-CSRF-Token equal to the session's, and an Origin (when sent)
 *     equal to this server's, and a Sec-Fetch-Site (when sent) of
 *     same-origin; else 403 and nothing is done.
 *  5. Anything else is one of the compiled-in pages, looked up by exact
 *     path (no file system: "..", "%2e%2e" or "//" find nothing: 404). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "web_int.h"

#define BODY_MAX_JSON (64u * 1024)
#define BODY_MAX_CSV (8u * 1024 * 1024)
#define MAX_CONNECTIONS 64
#define CONNECTION_TIMEOUT_S 60

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/* Host header on a loopback bind: 127.x, localhost or [::1], with our port or none. */
static int host_ok(ssync_web *w, const char *host)
{
	char name[80];
	const char *colon;
	size_t n;

	if (!w->loopback)
		return 1; /* behind a reverse proxy the name is the proxy's business */
	if (!host || !*host || strlen(host) >= sizeof(name))
		return 0;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		if (!end)
			return 0;
		n = (size_t)(end - host + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return 0;
	} else {
		colon = strchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
	}
	memcpy(name, host, n);
	name[n] = 0;
	if (colon && atoi(colon + 1) != w->port)
		return 0;
	if (strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
		return 1;
	{
		struct in_addr a;
		return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
	}
}

static enum MHD_Result send_page(web_req *r, unsigned int status, const char *html)
{
	return ssync_web__send(r, status, "text/html; charset=utf-8", "no-store", html, strlen(html), NULL);
}

static enum MHD_Result do_login(web_req *r)
{
	const char *tok = ssync_web__arg(r, "t");
	char sid[WEB_TOKEN_HEX + 1], cookie[WEB_TOKEN_HEX + 64];
	const char *hdrs[] = { "Set-Cookie", cookie, "Location", "/", NULL, NULL };
	web_session s;

	if (strcmp(r->method, "GET") != 0)
		return send_page(r, MHD_HTTP_METHOD_NOT_ALLOWED, "<!DOCTYPE html><title>405</title><p>GET only</p>");
	if (!tok || strlen(tok) != WEB_TOKEN_HEX || ssync_web__token_use(r->w->auth, tok, sid, &s) < 0)
		return send_page(r, MHD_HTTP_FORBIDDEN, "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\">"
			"<title>schoolsync</title><h1>登录链接无效 / Login link not valid</h1>"
			"<p>此链接无效、已使用或已过期(10 分钟)。请在本机运行 <code>schoolsync web</code> 获取新链接。</p>"
			"<p>This link is unknown, used or expired (10 minutes). Run <code>schoolsync web</code> "
			"on this machine for a new one.</p></html>");
	snprintf(cookie, sizeof(cookie), "ssid=%s; HttpOnly; SameSite=Strict; Path=/", sid);
	return ssync_web__send(r, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", "no-store", "", 0, hdrs);
}

/* 4. above; 0 = may go on, else the refusal was queued into *res. */
static int check_api(web_req *r, enum MHD_Result *res)
{
	const char *sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ssid");
	int safe = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (!sid || ssync_web__session_get(r->w->auth, sid, &r->s) < 0) {
		*res = ssync_web__send_error(r, MHD_HTTP_UNAUTHORIZED, SSYNC_EPERM,
			"run 'schoolsync web' on this machine and open the link it prints",
			"not logged in (no session, or it ended after being idle)");
		return -1;
	}
	snprintf(r->sid, sizeof(r->sid), "%s", sid);
	r->has_session = 1;
	if (!safe) {
		const char *csrf = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
		const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
		const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
		const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
		char self[128];
		snprintf(self, sizeof(self), "http://%s", host ? host : "");
		if (!csrf || !ssync_web__secret_eq(csrf, r->s.csrf) || (origin && strcmp(origin, self) != 0) ||
		    (site && strcmp(site, "same-origin") != 0)) {
			*res = ssync_web__send_error(r, MHD_HTTP_FORBIDDEN, SSYNC_EPERM,
				"the console's pages send it; other sites cannot",
				"refused: a write needs the session's X-CSRF-Token header and must come from this console's own pages");
			return -1;
		}
	}
	return 0;
}

static enum MHD_Result route_api(web_req *r, const char *path)
{
	enum MHD_Result res;
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (check_api(r, &res) < 0)
		return res;
	if (strcmp(path, "session") == 0 && get)
		return ssync_web__api_session(r);
	if (strcmp(path, "status") == 0 && get)
		return ssync_web__api_status(r);
	if (strcmp(path, "sync") == 0 && strcmp(r->method, "POST") == 0)
		return ssync_web__api_sync(r);
	if (strcmp(path, "logout") == 0 && strcmp(r->method, "POST") == 0) {
		const char *hdrs[] = { "Set-Cookie", "ssid=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", NULL, NULL };
		ssync_web__session_end(r->w->auth, r->sid);
		return ssync_web__send(r, MHD_HTTP_OK, "application/json; charset=utf-8", NULL, "{\"ok\":true}", 11, hdrs);
	}
	if (ssync_web__api_rows(r, path, &res) || ssync_web__api_files(r, path, &res) ||
	    ssync_web__api_review(r, path, &res))
		return res;
	return ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, "docs/WEB.md lists the API",
		"no API %s /api/%.200s", r->method, path);
}

static enum MHD_Result route_asset(web_req *r)
{
	const ssync_web_asset *a;
	const char *path = strcmp(r->url, "/") == 0 ? "/index.html" : r->url;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return send_page(r, MHD_HTTP_METHOD_NOT_ALLOWED, "<!DOCTYPE html><title>405</title><p>GET only</p>");
	for (a = ssync_web__assets; a->path; a++)
		if (strcmp(a->path, path) == 0)
			return ssync_web__send(r, MHD_HTTP_OK, a->mime, "no-cache", a->data, a->len, NULL);
	return send_page(r, MHD_HTTP_NOT_FOUND, "<!DOCTYPE html><title>404</title><p>not found</p>");
}

static enum MHD_Result dispatch(web_req *r)
{
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");

	if (!host_ok(r->w, host))
		return send_page(r, 421, "<!DOCTYPE html><title>421</title><p>open the console as http://127.0.0.1:PORT/</p>");
	if (r->too_large) {
		char hint[64];
		snprintf(hint, sizeof(hint), "send at most %zu bytes", r->limit);
		return ssync_web__send_error(r, MHD_HTTP_CONTENT_TOO_LARGE, SSYNC_ETOOLARGE, hint,
			"request body larger than %zu bytes", r->limit);
	}
	if (strcmp(r->url, "/login") == 0)
		return do_login(r);
	if (strncmp(r->url, "/api/", 5) == 0)
		return route_api(r, r->url + 5);
	return route_asset(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	web_req *r = *con_cls;

	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		*con_cls = r;
		r->w = cls;
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->limit = strncmp(url, "/api/import/", 12) == 0 ? BODY_MAX_CSV : BODY_MAX_JSON;
		if (cl && strtoull(cl, NULL, 10) > r->limit) {
			r->too_large = 1;
			return dispatch(r); /* answered before the body is read */
		}
		/* no body is buffered for a request that has no session: 401 now */
		if (strncmp(url, "/api/", 5) == 0) {
			const char *sid = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "ssid");
			web_session s;
			if (!sid || ssync_web__session_get(r->w->auth, sid, &s) < 0)
				return dispatch(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->answered && !r->too_large) {
			if (r->len + *upload_size > r->limit) {
				r->too_large = 1;
			} else {
				if (r->len + *upload_size + 1 > r->cap) {
					size_t cap = r->cap ? r->cap : 4096;
					char *nb;
					while (cap < r->len + *upload_size + 1)
						cap *= 2;
					if (!(nb = realloc(r->body, cap)))
						return MHD_NO;
					r->body = nb;
					r->cap = cap;
				}
				memcpy(r->body + r->len, upload, *upload_size);
				r->len += *upload_size;
				r->body[r->len] = 0;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (!r->body && !(r->body = calloc(1, 1)))
		return MHD_NO;
	return dispatch(r);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	web_req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

int ssync_web_start(ssync_web **out, const ssync_web_options *opts, ssync_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	ssync_web *w = NULL;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int error = 0;
	const char *bind_addr;

	*out = NULL;
	if (!opts || opts->version != SSYNC_WEB_OPTIONS_VERSION || !opts->home)
		return ssync_error_set(err, SSYNC_EINVAL, "web console: options without a home or of another version");
	bind_addr = opts->bind && *opts->bind ? opts->bind : "127.0.0.1";
	if (opts->port < 0 || opts->port > 65535)
		return ssync_error_set(err, SSYNC_EINVAL, "web console: port %d is not 0..65535", opts->port);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, bind_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)opts->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, bind_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)opts->port);
		sl = sizeof(struct sockaddr_in6);
		flags |= MHD_USE_IPv6;
	} else {
		return ssync_error_set(err, SSYNC_EINVAL, "web console: bind address '%.100s' is not an IPv4 or IPv6 "
			"address (e.g. 127.0.0.1)", bind_addr);
	}
	(void)sl;
	if (!is_loopback((struct sockaddr *)&ss) && !opts->allow_remote) {
		error = ssync_error_set(err, SSYNC_EPERM, "web console: %s is not a loopback address; the console "
			"listens beyond this machine only with allow_remote", bind_addr);
		ssync_error_hint(err, "set \"allow_remote\": true in HOME/config.json \"web\" and put TLS in front "
			"(a reverse proxy): docs/WEB.md");
		return error;
	}
	if (!(w = calloc(1, sizeof(*w))) || !(w->home = strdup(opts->home)) || !(w->bind = strdup(bind_addr)) ||
	    ssync_web__auth_new(&w->auth, opts->session_idle_s, opts->token_ttl_s) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	w->loopback = is_loopback((struct sockaddr *)&ss);
	w->mhd = MHD_start_daemon(flags, (uint16_t)opts->port, NULL, NULL, on_request, w,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, (void *)w,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
		MHD_OPTION_END);
	if (!w->mhd) {
		error = ssync_error_set(err, SSYNC_EIO, "web console: cannot listen on %s port %d (in use, or not "
			"an address of this machine)", bind_addr, opts->port);
		ssync_error_hint(err, "choose another port, or 0 for a free one");
		goto done;
	}
	if (!(info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT)) || !info->port) {
		error = ssync_error_set(err, SSYNC_EIO, "web console: cannot tell which port it listens on");
		goto done;
	}
	w->port = info->port;
	snprintf(w->host, sizeof(w->host), strchr(bind_addr, ':') ? "[%s]:%d" : "%s:%d",
		strcmp(bind_addr, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(bind_addr, "::") == 0 ? "::1" : bind_addr, w->port);
	*out = w;
	w = NULL;
done:
	ssync_web_stop(w);
	return error;
}

int ssync_web_port(const ssync_web *w)
{
	return w ? w->port : 0;
}

const char *ssync_web_bind(const ssync_web *w)
{
	return w ? w->bind : "";
}

int ssync_web_login(ssync_web *w, const char *user, char *url, size_t urllen, ssync_error *err)
{
	char tok[WEB_TOKEN_HEX + 1];
	const unsigned char *p;
	int error;

	if (!user || !*user || strlen(user) >= WEB_USER_MAX)
		return ssync_error_set(err, SSYNC_EINVAL, "web login: the user name must be 1..%d bytes", WEB_USER_MAX - 1);
	for (p = (const unsigned char *)user; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return ssync_error_set(err, SSYNC_EINVAL, "web login: the user name has a control character");
	if ((error = ssync_web__token_new(w->auth, user, tok, err)) < 0)
		return error;
	if ((size_t)snprintf(url, urllen, "http://%s/login?t=%s", w->host, tok) >= urllen)
		error = ssync_error_set(err, SSYNC_EINVAL, "web login: the URL does not fit %zu bytes", urllen);
	sodium_memzero(tok, sizeof(tok));
	return error;
}

void ssync_web_stop(ssync_web *w)
{
	if (!w)
		return;
	if (w->mhd)
		MHD_stop_daemon(w->mhd);
	ssync_web__auth_free(w->auth);
	free(w->home);
	free(w->bind);
	free(w);
}
