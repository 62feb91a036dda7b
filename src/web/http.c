/* Responses of the web console: every one carries the same security
 * headers (a CSP without inline script, no sniffing, no framing, no
 * referrer: a login link never leaks through a Referer), API answers are
 * JSON and never cached, and a failure is the CLI's error object
 * ({"error":{"code","status","message","hint"}}, ssync_error_json) with the
 * HTTP status its code maps to. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_int.h"

#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

unsigned int ssync_web__status_of(int code)
{
	switch (ssync_error_class(code)) {
	case SSYNC_OK:
		return MHD_HTTP_OK;
	case SSYNC_EINVAL:
	case SSYNC_EVALUE:
	case SSYNC_EENCODING:
		return MHD_HTTP_BAD_REQUEST;
	case SSYNC_ENOTFOUND:
		return MHD_HTTP_NOT_FOUND;
	case SSYNC_EEXISTS:
	case SSYNC_ECONFLICT:
		return MHD_HTTP_CONFLICT;
	case SSYNC_EPERM:
	case SSYNC_ECERT:
	case SSYNC_EREADONLY:
		return MHD_HTTP_FORBIDDEN;
	case SSYNC_ETOOLARGE:
		return MHD_HTTP_CONTENT_TOO_LARGE;
	case SSYNC_EBUSY:
	case SSYNC_ECANCELLED:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

enum MHD_Result ssync_web__send(web_req *r, unsigned int status, const char *ctype, const char *cache,
	const void *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	r->answered = 1;
	if (!(resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY)))
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache ? cache : "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	for (i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result ssync_web__send_json(web_req *r, unsigned int status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	enum MHD_Result ret;

	json_decref(v);
	if (!s) {
		static const char oom[] = "{\"error\":{\"code\":\"E_ERROR\",\"status\":-1,\"message\":\"out of memory\"}}";
		return ssync_web__send(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json; charset=utf-8", NULL,
			oom, sizeof(oom) - 1, NULL);
	}
	ret = ssync_web__send(r, status, "application/json; charset=utf-8", NULL, s, strlen(s), NULL);
	free(s);
	return ret;
}

static enum MHD_Result send_err_status(web_req *r, unsigned int status, const ssync_error *e)
{
	char *s = ssync_error_json(e);
	enum MHD_Result ret;

	if (!s)
		return ssync_web__send_json(r, status, NULL);
	ret = ssync_web__send(r, status, "application/json; charset=utf-8", NULL, s, strlen(s), NULL);
	free(s);
	return ret;
}

enum MHD_Result ssync_web__send_err(web_req *r, const ssync_error *e)
{
	return send_err_status(r, ssync_web__status_of(e->code), e);
}

enum MHD_Result ssync_web__send_error(web_req *r, unsigned int status, int code, const char *hint,
	const char *fmt, ...)
{
	ssync_error e;
	char msg[sizeof(e.message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ssync_error_clear(&e);
	ssync_error_set(&e, code, "%s", msg);
	if (hint)
		ssync_error_hint(&e, "%s", hint);
	return send_err_status(r, status, &e);
}

const char *ssync_web__arg(web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}
