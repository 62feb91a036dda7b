/* Saying a library error in another language at the program's edge.
 *
 * ssync_error_set() keeps the format pointer and each argument as printed
 * (error__capture); ssync_error_localize() puts those pieces into the
 * translated format (one piece per conversion, in order or by "%N$").
 * Invariant: a translation is used only when the same renderer, given the
 * English format, reproduces the stored English text byte for byte, so a
 * message edited after it was set (a scrubbed token, a truncated one) is
 * never re-rendered from stale arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "error_int.h"
#include "schoolsync/error.h"

/* One conversion "%[flags][width][.prec][len]c": its length in the format,
 * its conversion character and length modifier. 0 when malformed. */
static size_t spec_len(const char *p, char *conv, char lenmod[3], int *stars, int *posn)
{
	const char *q = p + 1;
	int n = 0;

	*stars = 0;
	*posn = 0;
	memset(lenmod, 0, 3);
	/* "%N$" */
	while (*q >= '0' && *q <= '9')
		n = n * 10 + (*q++ - '0');
	if (*q == '$' && n > 0) {
		*posn = n;
		q++;
	} else {
		q = p + 1;
	}
	while (*q && strchr("-+ #0'", *q))
		q++;
	if (*q == '*') {
		(*stars)++;
		q++;
	}
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q == '.') {
		q++;
		if (*q == '*') {
			(*stars)++;
			q++;
		}
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q && strchr("hlzjtL", *q)) {
		lenmod[0] = *q++;
		if ((*q == 'h' || *q == 'l') && *q == lenmod[0])
			lenmod[1] = *q++;
	}
	if (!*q || !strchr("diouxXcspfFeEgGaA%", *q))
		return 0;
	*conv = *q;
	return (size_t)(q - p) + 1;
}

int ssync_error__capture(char *buf, size_t n, const char *fmt, va_list ap)
{
	const char *p;
	size_t used = 0;

	for (p = fmt; (p = strchr(p, '%'));) {
		char conv, lm[3], spec[64], piece[512];
		int stars, posn, w[2] = { 0, 0 }, k, len;
		size_t sl = spec_len(p, &conv, lm, &stars, &posn);

		if (sl == 0 || sl >= sizeof(spec) || posn)
			return -1;
		if (conv == '%') {
			p += sl;
			continue;
		}
		memcpy(spec, p, sl);
		spec[sl] = 0;
		for (k = 0; k < stars; k++)
			w[k] = va_arg(ap, int);
		/* Each type read as the format says: this is what vsnprintf
		 * read for the same format. */
#define PIECE(type) do { type v_ = va_arg(ap, type); \
		len = stars == 2 ? snprintf(piece, sizeof(piece), spec, w[0], w[1], v_) : \
		      stars == 1 ? snprintf(piece, sizeof(piece), spec, w[0], v_) : \
		      snprintf(piece, sizeof(piece), spec, v_); } while (0)
		if (conv == 's') {
			PIECE(const char *);
		} else if (conv == 'p') {
			PIECE(void *);
		} else if (strchr("fFeEgGaA", conv)) {
			if (lm[0] == 'L')
				PIECE(long double);
			else
				PIECE(double);
		} else if (conv == 'c' || !lm[0] || lm[0] == 'h') {
			/* char and short are promoted to int */
			if (strchr("ouxX", conv))
				PIECE(unsigned int);
			else
				PIECE(int);
		} else if (lm[0] == 'l' && lm[1] == 'l') {
			if (strchr("ouxX", conv))
				PIECE(unsigned long long);
			else
				PIECE(long long);
		} else if (lm[0] == 'l') {
			if (strchr("ouxX", conv))
				PIECE(unsigned long);
			else
				PIECE(long);
		} else if (lm[0] == 'z') {
			PIECE(size_t);
		} else if (lm[0] == 'j') {
			if (strchr("ouxX", conv))
				PIECE(unsigned long long);
			else
				PIECE(long long);
		} else if (lm[0] == 't') {
			PIECE(ptrdiff_t);
		} else {
			return -1;
		}
#undef PIECE
		if (len < 0 || (size_t)len >= sizeof(piece) || used + (size_t)len + 1 > n)
			return -1;
		memcpy(buf + used, piece, (size_t)len + 1);
		used += (size_t)len + 1;
		p += sl;
	}
	return 0;
}

/* The reason last made by ssync_error__reason on this thread. */
static _Thread_local struct {
	const char *fmt;
	int ok;
	char text[600];
	char args[192];
} last_reason;

int ssync_error__reason(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	last_reason.ok = ssync_error__capture(last_reason.args, sizeof(last_reason.args), fmt, ap) == 0 &&
		strlen(why) < sizeof(last_reason.text);
	va_end(ap);
	last_reason.fmt = fmt;
	snprintf(last_reason.text, sizeof(last_reason.text), "%s", why);
	return 0;
}

/* The idx-th NUL-separated piece of args (idx from 0), NULL past the end. */
static const char *piece_at(const char *args, size_t argn, int idx)
{
	const char *a = args, *end = args + argn;

	while (idx-- > 0) {
		a += strlen(a) + 1;
		if (a >= end)
			return NULL;
	}
	return a < end ? a : NULL;
}

/* fmt with the pieces in place of its conversions into out; -1 when a
 * conversion has no piece or out is too small. */
static int render(char *out, size_t n, const char *fmt, const char *args, size_t argn, int npieces)
{
	size_t o = 0;
	int next = 0;
	const char *p = fmt;

	while (*p) {
		const char *add = p, *piece;
		size_t addn = 1, sl;
		char conv, lm[3];
		int stars, posn;

		if (*p == '%') {
			if (!(sl = spec_len(p, &conv, lm, &stars, &posn)))
				return -1;
			if (conv == '%') {
				addn = 1;
				add = "%";
			} else {
				int idx = posn ? posn - 1 : next++;
				if (idx >= npieces || !(piece = piece_at(args, argn, idx)))
					return -1;
				add = piece;
				addn = strlen(piece);
			}
			p += sl;
		} else {
			p++;
		}
		if (o + addn >= n)
			return -1;
		memcpy(out + o, add, addn);
		o += addn;
	}
	out[o] = 0;
	return 0;
}

static int count_pieces(const char *args, size_t argn, const char *fmt)
{
	int k = 0;
	const char *p;

	/* As many pieces as the English format has conversions. */
	for (p = fmt; (p = strchr(p, '%'));) {
		char conv, lm[3];
		int stars, posn;
		size_t sl = spec_len(p, &conv, lm, &stars, &posn);
		if (!sl)
			return -1;
		if (conv != '%')
			k++;
		p += sl;
	}
	(void)args;
	(void)argn;
	return k;
}

void ssync_error__nest(ssync_error *err)
{
	const char *a = err->msg_args, *end = err->msg_args + sizeof(err->msg_args);
	int k;

	err->nested_fmt = NULL;
	if (!err->msg_fmt || !last_reason.ok || !last_reason.text[0])
		return;
	for (k = 0; a < end && *a; k++, a += strlen(a) + 1)
		if (strcmp(a, last_reason.text) == 0) {
			err->nested_fmt = last_reason.fmt;
			err->nested_index = k;
			memcpy(err->nested_args, last_reason.args, sizeof(err->nested_args));
			break;
		}
	last_reason.ok = 0; /* used once */
}

static void one(const char *english, const char *fmt, const char *args, size_t argn,
	const char *(*tr)(const char *), char *out, size_t n)
{
	char check[1024];
	const char *t;
	int k;

	if (!out || n == 0)
		return;
	snprintf(out, n, "%s", english);
	if (!fmt || !tr || !(t = tr(fmt)) || t == fmt || strcmp(t, fmt) == 0)
		return;
	if ((k = count_pieces(args, argn, fmt)) < 0)
		return;
	if (render(check, sizeof(check), fmt, args, argn, k) < 0 || strcmp(check, english) != 0)
		return;
	if (render(check, sizeof(check), t, args, argn, k) == 0)
		snprintf(out, n, "%s", check);
}

void ssync_error_localize(const ssync_error *err, const char *(*tr)(const char *fmt),
	char *msg, size_t msgn, char *hint, size_t hintn)
{
	if (msg && msgn)
		msg[0] = 0;
	if (hint && hintn)
		hint[0] = 0;
	if (!err)
		return;
	if (err->nested_fmt && err->msg_fmt && tr && msg && msgn) {
		/* Translate the nested reason, then the message around it; only
		 * when the stored English is exactly what the pieces make. */
		char args[sizeof(err->msg_args)], nested[600], *o = args, orig[1024];
		const char *a = err->msg_args, *end = err->msg_args + sizeof(err->msg_args);
		int k = 0, n = count_pieces(err->nested_args, sizeof(err->nested_args), err->nested_fmt), ok = n >= 0;
		int m = count_pieces(err->msg_args, sizeof(err->msg_args), err->msg_fmt);
		if (m < 0 || render(orig, sizeof(orig), err->msg_fmt, err->msg_args, sizeof(err->msg_args), m) != 0 ||
		    strcmp(orig, err->message) != 0)
			ok = 0;
		const char *piece = piece_at(err->msg_args, sizeof(err->msg_args), err->nested_index);
		if (ok && piece && render(nested, sizeof(nested), err->nested_fmt, err->nested_args,
		    sizeof(err->nested_args), n) == 0 && strcmp(nested, piece) == 0 &&
		    render(nested, sizeof(nested), tr(err->nested_fmt), err->nested_args, sizeof(err->nested_args), n) == 0) {
			memset(args, 0, sizeof(args));
			for (; a < end && *a && ok; k++, a += strlen(a) + 1) {
				const char *p = k == err->nested_index ? nested : a;
				size_t l = strlen(p) + 1;
				if ((size_t)(o - args) + l >= sizeof(args))
					ok = 0;
				else {
					memcpy(o, p, l);
					o += l;
				}
			}
			if (ok) {
				/* English text with the reason replaced, for the check in one() */
				char eng[1024];
				int np = count_pieces(args, sizeof(args), err->msg_fmt);
				if (np >= 0 && render(eng, sizeof(eng), err->msg_fmt, args, sizeof(args), np) == 0) {
					const char *t = tr(err->msg_fmt);
					snprintf(msg, msgn, "%s", eng);
					if (t && render(eng, sizeof(eng), t, args, sizeof(args), np) == 0)
						snprintf(msg, msgn, "%s", eng);
					goto hint;
				}
			}
		}
	}
	one(err->message, err->msg_fmt, err->msg_args, sizeof(err->msg_args), tr, msg, msgn);
hint:
	one(err->hint, err->hint_fmt, err->hint_args, sizeof(err->hint_args), tr, hint, hintn);
}
