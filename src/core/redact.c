/* Remote URLs as they may be shown: one function for every printer, so a
 * token given in a URL never reaches output, JSON or a log. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schoolsync/redact.h"

#define MASK "***"

typedef struct sink {
	char *out;
	size_t len, used;
} sink;

static void put(sink *s, const char *p, size_t n)
{
	size_t room;

	if (!s->len)
		return;
	room = s->len - 1 - s->used;
	if (n > room)
		n = room;
	memcpy(s->out + s->used, p, n);
	s->used += n;
	s->out[s->used] = '\0';
}

static int secret_param(const char *name, size_t n)
{
	static const char *const words[] = { "token", "key", "secret", "pass", "auth", "sig", NULL };
	size_t i, w;

	for (w = 0; words[w]; w++) {
		size_t wl = strlen(words[w]);
		for (i = 0; i + wl <= n; i++)
			if (!strncasecmp(name + i, words[w], wl))
				return 1;
	}
	return 0;
}

/* Walk @p url; with @p s NULL only report whether anything would be hidden. */
static int redact(const char *url, sink *s)
{
	const char *scheme_end = strstr(url, "://"), *auth, *auth_end, *at, *q, *p;
	int hid = 0, http;

	if (!scheme_end) {
		if (s)
			put(s, url, strlen(url));
		return 0;
	}
	http = (size_t)(scheme_end - url) >= 4 && !strncasecmp(url, "http", 4);
	auth = scheme_end + 3;
	auth_end = auth + strcspn(auth, "/?#");
	/* the last '@' before the path ends the user part */
	at = NULL;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (s)
		put(s, url, (size_t)(auth - url));
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			if (s) {
				put(s, auth, (size_t)(colon - auth));
				put(s, ":" MASK, strlen(":" MASK));
			}
			hid = 1;
		} else if (http) {
			if (s)
				put(s, MASK, strlen(MASK));
			hid = 1;
		} else if (s) {
			put(s, auth, (size_t)(at - auth));
		}
		auth = at;
	}
	q = strchr(auth_end, '?');
	if (!q) {
		if (s)
			put(s, auth, strlen(auth));
		return hid;
	}
	if (s)
		put(s, auth, (size_t)(q + 1 - auth));
	for (p = q + 1; *p && *p != '#';) {
		size_t plen = strcspn(p, "&#"), nlen = strcspn(p, "=&#");
		if (nlen < plen && secret_param(p, nlen)) {
			if (s) {
				put(s, p, nlen + 1);
				put(s, MASK, strlen(MASK));
			}
			hid = 1;
		} else if (s) {
			put(s, p, plen);
		}
		p += plen;
		if (*p == '&') {
			if (s)
				put(s, "&", 1);
			p++;
		}
	}
	if (s)
		put(s, p, strlen(p));
	return hid;
}

char *ssync_redact_url(const char *url, char *out, size_t len)
{
	sink s;

	s.out = out;
	s.len = len;
	s.used = 0;
	if (len)
		out[0] = '\0';
	if (url)
		(void)redact(url, &s);
	return out;
}

int ssync_url_has_secret(const char *url)
{
	return url ? redact(url, NULL) : 0;
}
