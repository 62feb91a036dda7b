/* The web console in-process (src/web/): login tokens and sessions
 * (auth.c) and the server over a real loopback socket with a small HTTP/1.1
 * client written here (no libcurl): refusals without a session, CSRF,
 * body limits, paths that are not pages, binding. t_web_api.sh drives the
 * whole API against a real daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "helpers_core.h"
#include "schoolsync/web.h"
#include "web_int.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_web__token_is_single_use(void **state)
{
	web_auth *a;
	char tok[WEB_TOKEN_HEX + 1], sid[WEB_TOKEN_HEX + 1], sid2[WEB_TOKEN_HEX + 1];
	web_session s, s2;

	(void)state;
	assert_int_equal(ssync_web__auth_new(&a, 60, 60), 0);
	assert_int_equal(ssync_web__token_new(a, "王老师", tok, NULL), 0);
	assert_int_equal(strlen(tok), WEB_TOKEN_HEX);
	assert_int_equal(ssync_web__token_use(a, tok, sid, &s), 0);
	assert_string_equal(s.user, "王老师");
	assert_int_equal(strlen(s.csrf), WEB_TOKEN_HEX);
	assert_int_equal(ssync_web__token_use(a, tok, sid2, &s2), -1); /* used */
	assert_int_equal(ssync_web__session_get(a, sid, &s2), 0);
	assert_string_equal(s2.csrf, s.csrf);
	assert_int_equal(ssync_web__session_get(a, tok, &s2), -1); /* a token is not a session */
	ssync_web__session_end(a, sid);
	assert_int_equal(ssync_web__session_get(a, sid, &s2), -1);
	assert_int_equal(ssync_web__token_use(a, "", sid2, &s2), -1);
	ssync_web__auth_free(a);
}

static void test_web__tokens_and_sessions_expire(void **state)
{
	web_auth *a;
	char tok[WEB_TOKEN_HEX + 1], sid[WEB_TOKEN_HEX + 1];
	web_session s;

	(void)state;
	/* sessions idle 0.3 s, tokens 0.05 s */
	assert_int_equal(ssync_web__auth_new(&a, 0.3, 0.05), 0);
	assert_int_equal(ssync_web__token_new(a, "u", tok, NULL), 0);
	sleep_ms(120);
	assert_int_equal(ssync_web__token_use(a, tok, sid, &s), -1);
	assert_int_equal(ssync_web__token_new(a, "u", tok, NULL), 0);
	assert_int_equal(ssync_web__token_use(a, tok, sid, &s), 0);
	sleep_ms(100);
	assert_int_equal(ssync_web__session_get(a, sid, &s), 0); /* used: idle time starts again */
	sleep_ms(400);
	assert_int_equal(ssync_web__session_get(a, sid, &s), -1);
	ssync_web__auth_free(a);
}

static void test_web__open_tokens_are_bounded(void **state)
{
	web_auth *a;
	char tok[WEB_TOKEN_HEX + 1];
	ssync_error err;
	int i;

	(void)state;
	assert_int_equal(ssync_web__auth_new(&a, 60, 60), 0);
	for (i = 0; i < WEB_MAX_TOKENS; i++)
		assert_int_equal(ssync_web__token_new(a, "u", tok, NULL), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_web__token_new(a, "u", tok, &err), SSYNC_EBUSY);
	ssync_web__auth_free(a);
}

/* One request over a fresh connection; the whole answer (headers and body) into out. */
static int http(int port, const char *req, char *out, size_t outlen)
{
	struct sockaddr_in sa;
	struct timeval tv = { 20, 0 };
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
	ssize_t n;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	while (len + 1 < outlen && (n = recv(fd, out + len, outlen - 1 - len, 0)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(fd);
	if (sscanf(out, "HTTP/1.1 %d", &code) != 1)
		code = -1;
	return code;
}

static int get(int port, const char *path, const char *cookie, char *out, size_t outlen)
{
	char req[1024];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%sConnection: close\r\n\r\n", path, port,
		cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
	return http(port, req, out, outlen);
}

static void test_web__server_over_loopback(void **state)
{
	th_fx *fx = *state;
	ssync_web_options o = SSYNC_WEB_OPTIONS_INIT;
	ssync_web *w = NULL;
	ssync_error err;
	char url[SSYNC_WEB_URL_MAX], *out = malloc(1 << 16), cookie[128], req[1024];
	const char *p, *tok;
	int port;

	o.home = fx->home;
	ssync_error_clear(&err);
	assert_int_equal(ssync_web_start(&w, &o, &err), 0);
	port = ssync_web_port(w);
	assert_true(port > 0);
	assert_string_equal(ssync_web_bind(w), "127.0.0.1");

	assert_int_equal(get(port, "/api/session", NULL, out, 1 << 16), 401);
	assert_non_null(strstr(out, "\"code\":\"E_PERM\""));
	assert_int_equal(get(port, "/", NULL, out, 1 << 16), 200);
	assert_non_null(strstr(out, "Content-Security-Policy: default-src 'self'"));
	assert_non_null(strstr(out, "X-Frame-Options: DENY"));
	assert_int_equal(get(port, "/../../etc/passwd", NULL, out, 1 << 16), 404);
	assert_int_equal(get(port, "/%2e%2e/%2e%2e/etc/passwd", NULL, out, 1 << 16), 404);

	/* login: a link made for "clerk", spent once */
	assert_int_equal(ssync_web_login(w, "clerk", url, sizeof(url), &err), 0);
	tok = strstr(url, "/login?t=");
	assert_non_null(tok);
	assert_int_equal(get(port, tok, NULL, out, 1 << 16), 303);
	assert_non_null((p = strstr(out, "Set-Cookie: ssid=")));
	snprintf(cookie, sizeof(cookie), "ssid=%.64s", p + 17);
	assert_non_null(strstr(out, "HttpOnly; SameSite=Strict; Path=/"));
	assert_int_equal(get(port, tok, NULL, out, 1 << 16), 403);
	assert_int_equal(get(port, "/api/session", cookie, out, 1 << 16), 200);
	assert_non_null(strstr(out, "\"actor\":\"clerk\""));
	assert_non_null(strstr(out, "\"node\":\"sch-a\""));

	/* a write without the CSRF header: 403 */
	snprintf(req, sizeof(req), "POST /api/sync HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
		"Content-Length: 0\r\nConnection: close\r\n\r\n", port, cookie);
	assert_int_equal(http(port, req, out, 1 << 16), 403);
	/* a body larger than the limit: 413 before it is sent */
	snprintf(req, sizeof(req), "POST /api/tables/teacher HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
		"Content-Length: 100000000\r\nConnection: close\r\n\r\n", port, cookie);
	assert_int_equal(http(port, req, out, 1 << 16), 413);
	assert_non_null(strstr(out, "E_TOO_LARGE"));
	/* DNS rebinding: a foreign Host on the loopback console */
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
	assert_int_equal(http(port, req, out, 1 << 16), 421);
	/* bad user names for a link */
	assert_int_equal(ssync_web_login(w, "", url, sizeof(url), &err), SSYNC_EINVAL);
	assert_int_equal(ssync_web_login(w, "a\nb", url, sizeof(url), &err), SSYNC_EINVAL);
	ssync_web_stop(w);
	free(out);
}

static void test_web__bind_beyond_loopback_needs_allow_remote(void **state)
{
	th_fx *fx = *state;
	ssync_web_options o = SSYNC_WEB_OPTIONS_INIT;
	ssync_web *w = NULL;
	ssync_error err;

	o.home = fx->home;
	o.bind = "0.0.0.0";
	ssync_error_clear(&err);
	assert_int_equal(ssync_web_start(&w, &o, &err), SSYNC_EPERM);
	assert_null(w);
	assert_non_null(strstr(err.hint, "allow_remote"));
	o.bind = "localhost"; /* an address, not a name */
	ssync_error_clear(&err);
	assert_int_equal(ssync_web_start(&w, &o, &err), SSYNC_EINVAL);
	o.bind = "::1";
	ssync_error_clear(&err);
	if (ssync_web_start(&w, &o, &err) == 0) /* no IPv6 on some machines */
		ssync_web_stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_web__token_is_single_use),
		cmocka_unit_test(test_web__tokens_and_sessions_expire),
		cmocka_unit_test(test_web__open_tokens_are_bounded),
		cmocka_unit_test_setup_teardown(test_web__server_over_loopback, th_fx_setup, th_fx_teardown),
		cmocka_unit_test_setup_teardown(test_web__bind_beyond_loopback_needs_allow_remote, th_fx_setup, th_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
