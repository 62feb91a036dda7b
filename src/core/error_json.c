/* The error object of the programs' --json output, written and read in one
 * place: the CLI prints it, the daemon reads its sync child's back. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schoolsync/error.h"

/* The codes are small negative numbers; names come from ssync_error_name(). */
#define CODE_LOWEST (-64)

/* Length of the valid UTF-8 sequence at @p s (strict, as jansson checks
 * it: no overlong forms, surrogates or code points past U+10FFFF), 0 if
 * there is none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* @p in with every byte that is not part of valid UTF-8 replaced by '?'.
 * Messages are cut to their buffer by bytes, which can split a character,
 * and may quote bytes from outside (a path, a request): jansson refuses
 * such a string, and the error object must still be written (never silent). */
static void utf8_clean(char *out, size_t size, const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n;

	while (*s && o + 1 < size) {
		if ((n = utf8_len(s)) == 0) {
			out[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
}

char *ssync_error_json(const ssync_error *err)
{
	int code = err && err->code ? err->code : SSYNC_ERROR;
	char msg[sizeof(err->message)], hint[sizeof(err->hint)];
	json_t *e, *o;
	char *s = NULL;

	utf8_clean(msg, sizeof(msg), err && err->message[0] ? err->message : "unknown error");
	utf8_clean(hint, sizeof(hint), err ? err->hint : "");
	if (!(e = json_pack("{sssiss}", "code", ssync_error_name(code), "status", code, "message", msg)))
		return NULL;
	if (hint[0] && json_object_set_new(e, "hint", json_string(hint)) != 0) {
		json_decref(e);
		return NULL;
	}
	if ((o = json_pack("{so}", "error", e)))
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* A code functions return, by its name in the table (error.h); detail
 * codes (E_AUTHOR ...) are never returned, so they read as E_ERROR. */
static int code_of_name(const char *name)
{
	int c = ssync_error_code(name);

	return c < 0 && c >= CODE_LOWEST && ssync_error_class(c) == c ? c : SSYNC_ERROR;
}

int ssync_error_parse_json(ssync_error *out, const char *text, size_t len)
{
	json_t *o = text ? json_loadb(text, len, 0, NULL) : NULL;
	json_t *e = json_object_get(o, "error"), *st;
	const char *name, *msg, *hint;
	int code;

	ssync_error_clear(out);
	name = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (!json_is_object(e) || !name || !msg) {
		json_decref(o);
		return SSYNC_ESCHEMA;
	}
	st = json_object_get(e, "status");
	code = json_is_integer(st) ? (int)json_integer_value(st) : 0;
	if (code >= 0 || code < CODE_LOWEST || strcmp(ssync_error_name(code), name) != 0)
		code = code_of_name(name);
	ssync_error_set(out, code, "%s", msg);
	if ((hint = json_string_value(json_object_get(e, "hint"))) && *hint)
		ssync_error_hint(out, "%s", hint);
	json_decref(o);
	return 0;
}

int ssync_error_parse_output(ssync_error *out, const char *text, size_t len)
{
	const char *line_end = text + len, *last = NULL;
	size_t last_len = 0;

	ssync_error_clear(out);
	while (text && line_end > text) {
		const char *ls = line_end;
		size_t n;
		while (ls > text && ls[-1] != '\n')
			ls--;
		n = (size_t)(line_end - ls);
		while (n > 0 && (ls[n - 1] == '\r' || ls[n - 1] == ' '))
			n--;
		if (n > 0 && ls[0] == '{' && ssync_error_parse_json(out, ls, n) == 0)
			return 0;
		if (n > 0 && !last) {
			last = ls;
			last_len = n;
		}
		line_end = ls > text ? ls - 1 : text;
	}
	ssync_error_clear(out);
	ssync_error_set(out, SSYNC_ERROR, "%.*s", (int)(last_len < sizeof(out->message) ? last_len :
		sizeof(out->message) - 1), last ? last : "");
	return SSYNC_ENOTFOUND;
}
