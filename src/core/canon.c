/*
 * One pass over an entry body that decides what every receiver decides:
 * the canonical encoding of docs/FORMAT.md §1 (byte rules, member order),
 * the header's field rules, the op shapes and the value rules — without
 * building a JSON tree or re-encoding anything. The writer runs it on every
 * body before signing (cheap enough for bulk imports); receivers run the
 * same function and then let jansson build the ops tree they apply.
 *
 * Refusals come in the receivers' order: a malformed body first (the branch
 * stops there), then the caller's schema checks (@c name), then the first
 * refused key or value (E_VALUE: kept as refused, the chain goes on).
 */
#define _GNU_SOURCE /* strtod_l, newlocale: reals are read and written in the C locale */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/ident.h"

typedef struct cur {
	const unsigned char *s, *p, *end;
	ssync_canon *out;
	ssync_error *err;
} cur;

/* What a scanned string held (decoded sizes, not bytes on the line). */
typedef struct str {
	size_t len;  /* decoded bytes */
	int nul;     /* a U+0000 */
	int ctl;     /* a control character (U+0000-U+001F, U+007F) */
	int escaped; /* any escape at all */
	int cut;     /* longer than the caller's buffer */
} str;

#define NAME_BUF 66 /* a table or column name is at most 64 bytes: longer ones show as cut */

static int bad(cur *c, int code, const char *what)
{
	return ssync_error_set(c->err, code, "entry body %s (byte %zu)%s", what, (size_t)(c->p - c->s),
		code == SSYNC_EENCODING ? " (E_ENCODING)" : "");
}

static int lit(cur *c, const char *text)
{
	size_t n = strlen(text);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, text, n) != 0)
		return bad(c, SSYNC_EENCODING, "is not the canonical layout of format 1 (docs/FORMAT.md §1)");
	c->p += n;
	return 0;
}

/* Length of a valid UTF-8 sequence at p (no overlongs, no surrogates,
 * at most U+10FFFF), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

int ssync_canon__utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t k;

	while (p < end) {
		if (*p < 0x80)
			k = 1;
		else if ((k = utf8_len(p, end)) == 0)
			return 0;
		p += k;
	}
	return 1;
}

static int uhex(unsigned char h)
{
	return h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/*
 * A string in canonical form at c->p. Decoded bytes go to @p buf (NUL-
 * terminated, at most cap - 1 of them) when buf is not NULL.
 */
static int scan_string(cur *c, char *buf, size_t cap, str *si)
{
	memset(si, 0, sizeof(*si));
	if (c->p >= c->end || *c->p != '"')
		return bad(c, c->p >= c->end ? SSYNC_EENCODING : SSYNC_ESCHEMA, "has a value where a string belongs");
	c->p++;
	for (;;) {
		unsigned char b, d = 0;
		size_t n = 1;

		if (c->p >= c->end)
			return bad(c, SSYNC_EENCODING, "ends inside a string");
		b = *c->p;
		if (b == '"')
			break;
		if (b == '\\') {
			const unsigned char *q = c->p + 1;
			int h1, h2;
			if (q >= c->end)
				return bad(c, SSYNC_EENCODING, "ends inside an escape");
			switch (*q) {
			case '"': d = '"'; break;
			case '\\': d = '\\'; break;
			case 'b': d = 8; break;
			case 't': d = 9; break;
			case 'n': d = 10; break;
			case 'f': d = 12; break;
			case 'r': d = 13; break;
			case 'u':
				/* only the controls without a short escape, upper-case hex */
				if (c->end - q < 5 || q[1] != '0' || q[2] != '0' || (h1 = uhex(q[3])) < 0 || h1 > 1 ||
				    (h2 = uhex(q[4])) < 0)
					return bad(c, SSYNC_EENCODING, "has a \\u escape that is not canonical");
				d = (unsigned char)(h1 * 16 + h2);
				if (d == 8 || d == 9 || d == 10 || d == 12 || d == 13)
					return bad(c, SSYNC_EENCODING, "has a \\u escape where a short escape belongs");
				c->p += 4;
				break;
			default:
				return bad(c, SSYNC_EENCODING, "has an escape that is not canonical");
			}
			c->p += 2;
			si->escaped = 1;
			if (d < 0x20)
				si->ctl = 1;
			if (d == 0)
				si->nul = 1;
			if (buf && si->len + 1 < cap)
				buf[si->len] = (char)d;
			else
				si->cut |= buf != NULL;
			si->len++;
			continue;
		}
		if (b < 0x20)
			return bad(c, SSYNC_EENCODING, "has a raw control character in a string");
		if (b == 0x7f)
			si->ctl = 1;
		if (b >= 0x80 && (n = utf8_len(c->p, c->end)) == 0)
			return bad(c, SSYNC_EENCODING, "is not valid UTF-8");
		if (buf && si->len + n < cap)
			memcpy(buf + si->len, c->p, n);
		else
			si->cut |= buf != NULL;
		si->len += n;
		c->p += n;
	}
	c->p++;
	if (buf)
		buf[si->len < cap ? si->len : cap - 1] = 0;
	return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

int ssync_canon__real(double d, char buf[40])
{
	locale_t old;
	char *e;
	size_t n;

	pthread_once(&c_locale_once, c_locale_init);
	if (!c_locale || !isfinite(d))
		return -1;
	old = uselocale(c_locale);
	snprintf(buf, 32, "%.17g", d);
	uselocale(old);
	if (!strchr(buf, '.') && !strchr(buf, 'e'))
		strcat(buf, ".0");
	if ((e = strchr(buf, 'e'))) {
		char *q = e + 1, *digits;
		if (*q == '+')
			memmove(q, q + 1, strlen(q));
		else if (*q == '-')
			q++;
		digits = q;
		while (*digits == '0' && digits[1])
			digits++;
		memmove(q, digits, strlen(digits) + 1);
	}
	n = strlen(buf);
	return n > 0 && n < 40 ? 0 : -1;
}

/* A number: *is_real set for reals (checked canonical and finite),
 * integers in *iv. */
static int scan_number(cur *c, int64_t *iv, int *is_real)
{
	const unsigned char *t = c->p, *q = c->p;
	char tok[40], again[40];
	size_t n;

	*is_real = 0;
	if (q < c->end && *q == '-')
		q++;
	if (q >= c->end || *q < '0' || *q > '9')
		return bad(c, SSYNC_ESCHEMA, "has a value where a number belongs");
	while (q < c->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
		q++;
	n = (size_t)(q - t);
	if (n >= sizeof(tok))
		return bad(c, SSYNC_EENCODING, "has a number that is not canonical");
	memcpy(tok, t, n);
	tok[n] = 0;
	if (!strpbrk(tok, ".eE")) {
		/* decimal, no leading zeros, no -0, within 64 bits */
		const char *dg = tok[0] == '-' ? tok + 1 : tok;
		uint64_t v = 0, lim = tok[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		size_t i;
		if (!*dg || (dg[0] == '0' && (dg[1] || tok[0] == '-')))
			return bad(c, SSYNC_EENCODING, "has an integer that is not canonical");
		for (i = 0; dg[i]; i++) {
			if (dg[i] < '0' || dg[i] > '9' || v > (lim - (uint64_t)(dg[i] - '0')) / 10)
				return bad(c, SSYNC_EENCODING, "has an integer that is not canonical or not within 64 bits");
			v = v * 10 + (uint64_t)(dg[i] - '0');
		}
		*iv = tok[0] == '-' ? (int64_t)(0 - v) : (int64_t)v;
	} else {
		char *stop = NULL;
		double d;
		pthread_once(&c_locale_once, c_locale_init);
		if (!c_locale)
			return ssync_error_set(c->err, SSYNC_ERROR, "out of memory");
		d = strtod_l(tok, &stop, c_locale);
		if (!stop || *stop || ssync_canon__real(d, again) < 0 || strcmp(again, tok) != 0)
			return bad(c, SSYNC_EENCODING, "has a real number that is not canonical or not finite");
		*is_real = 1;
	}
	c->p = q;
	return 0;
}

static int scan_int(cur *c, int64_t *v, int code, const char *what)
{
	int is_real = 0, error;

	if ((error = scan_number(c, v, &is_real)) < 0)
		return error;
	return is_real ? bad(c, code, what) : 0;
}

int ssync_version_parse(const char *v, char node[SSYNC_NODE_ID_MAX + 1], int64_t *seq)
{
	const char *hash = v ? strrchr(v, '#') : NULL, *d;
	size_t nlen;
	uint64_t s = 0;

	if (!hash)
		return SSYNC_EINVAL;
	nlen = (size_t)(hash - v);
	if (nlen == 0 || nlen > SSYNC_NODE_ID_MAX)
		return SSYNC_EINVAL;
	memcpy(node, v, nlen);
	node[nlen] = 0;
	if (!ssync_ident_node_valid(node) || hash[1] < '1' || hash[1] > '9')
		return SSYNC_EINVAL;
	/* decimal digits within int64: strtoll saturates, so that would give
	 * many spellings of one version */
	for (d = hash + 1; *d; d++) {
		if (*d < '0' || *d > '9' || s > ((uint64_t)INT64_MAX - (uint64_t)(*d - '0')) / 10)
			return SSYNC_EINVAL;
		s = s * 10 + (uint64_t)(*d - '0');
	}
	*seq = (int64_t)s;
	return 0;
}

/* Up to 40 bytes of @p s for a message, control bytes shown as '?'. */
static const char *shown(char buf[48], const char *s, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	for (i = 0; i < n; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[n] = 0;
	return buf;
}

/* The first refused value, kept until the body is known well-formed. */
static void value_refused(cur *c, const char *tbl, const char *col, const char *key, size_t klen, const char *fmt, const char *why, size_t size)
{
	char kb[48];

	if (c->out->value_error)
		return;
	c->out->value_error = SSYNC_EVALUE;
	if (!col)
		ssync_error_set(&c->out->value_err, SSYNC_EVALUE, "%s row '%s': the key contains a control character; "
			"keys are 1-%d bytes of text without control characters (E_VALUE)", tbl, shown(kb, key, klen),
			SSYNC_KEY_MAX_BYTES);
	else if (!why)
		ssync_error_set(&c->out->value_err, SSYNC_EVALUE, fmt, tbl, col, shown(kb, key, klen), size,
			SSYNC_VALUE_MAX_BYTES);
	else
		ssync_error_set(&c->out->value_err, SSYNC_EVALUE, "%s.%s of row '%s': %s (E_VALUE)", tbl, col,
			shown(kb, key, klen), why);
}

static void name_check(cur *c, const char *tbl, const char *col)
{
	if (c->out->name && !c->out->name_error)
		c->out->name_error = c->out->name(c->out->ctx, tbl, col, &c->out->name_err);
}

/* Standard padded base64 exactly as the encoder writes it; its decoded size. */
static int blob_canonical(const unsigned char *b64, size_t blen, size_t *size)
{
	size_t cap = blen / 4 * 3 + 3, got = 0;
	unsigned char *bin;
	char *again = NULL;
	int ok = 0;

	if (blen % 4 != 0)
		return 0;
	if (!(bin = malloc(cap)))
		return -1;
	if (sodium_base642bin(bin, cap, (const char *)b64, blen, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) {
		if (!(again = malloc(sodium_base64_ENCODED_LEN(got, sodium_base64_VARIANT_ORIGINAL))))
			ok = -1;
		else {
			sodium_bin2base64(again, sodium_base64_ENCODED_LEN(got, sodium_base64_VARIANT_ORIGINAL), bin, got,
				sodium_base64_VARIANT_ORIGINAL);
			ok = strlen(again) == blen && memcmp(again, b64, blen) == 0;
		}
	}
	free(again);
	free(bin);
	*size = got;
	return ok;
}

static const char too_large[] = "%s.%s of row '%s': a value of %zu bytes, over the limit of %d (E_VALUE)";

/* [column, value, prevs] */
static int scan_cell(cur *c, const char *tbl, const char *key, size_t klen)
{
	char col[NAME_BUF], ver[160];
	int64_t iv = 0;
	size_t nprev = 0, bsz = 0;
	int error, is_real, is_row;
	str si;

	if ((error = lit(c, "[")) < 0 || (error = scan_string(c, col, sizeof(col), &si)) < 0)
		return error;
	is_row = strcmp(col, "$row") == 0 && !si.cut && !si.nul;
	if (si.cut || si.nul || (!is_row && !ssync_ident_sql_valid(col)))
		return bad(c, SSYNC_ESCHEMA, "has a cell with an invalid column name");
	if ((error = lit(c, ",")) < 0)
		return error;
	if (!is_row)
		name_check(c, tbl, col);
	if (c->p >= c->end)
		return bad(c, SSYNC_EENCODING, "ends inside a cell");
	if (*c->p == 'n') {
		if ((error = lit(c, "null")) < 0)
			return error;
		if (is_row)
			return bad(c, SSYNC_ESCHEMA, "has a row marker that is not 0 or 1");
	} else if (*c->p == '"') {
		if (is_row)
			return bad(c, SSYNC_ESCHEMA, "has a row marker that is not 0 or 1");
		if ((error = scan_string(c, NULL, 0, &si)) < 0)
			return error;
		if (si.nul)
			value_refused(c, tbl, col, key, klen, NULL, "text contains a NUL character", 0);
		else if (si.len > SSYNC_VALUE_MAX_BYTES)
			value_refused(c, tbl, col, key, klen, too_large, NULL, si.len);
	} else if (*c->p == '{') {
		const unsigned char *b64;
		int ok;
		if (is_row)
			return bad(c, SSYNC_ESCHEMA, "has a row marker that is not 0 or 1");
		if ((error = lit(c, "{\"b64\":")) < 0)
			return error;
		b64 = c->p + 1;
		if ((error = scan_string(c, NULL, 0, &si)) < 0 || (error = lit(c, "}")) < 0)
			return error;
		if (si.nul)
			return bad(c, SSYNC_ESCHEMA, "has a blob whose text contains NUL");
		/* an escape can only stand for a byte outside the base64 alphabet */
		if ((ok = si.escaped ? 0 : blob_canonical(b64, si.len, &bsz)) < 0)
			return ssync_error_set(c->err, SSYNC_ERROR, "out of memory");
		if (!ok)
			value_refused(c, tbl, col, key, klen, NULL, "a blob that is not canonical standard base64", 0);
		else if (bsz > SSYNC_VALUE_MAX_BYTES)
			value_refused(c, tbl, col, key, klen, too_large, NULL, bsz);
	} else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
		if ((error = scan_number(c, &iv, &is_real)) < 0)
			return error;
		if (is_row && (is_real || (iv != 0 && iv != 1)))
			return bad(c, SSYNC_ESCHEMA, "has a row marker that is not 0 or 1");
	} else
		return bad(c, SSYNC_ESCHEMA, "has a cell whose value is not null, a number, a string or a blob");
	if ((error = lit(c, ",[")) < 0)
		return error;
	while (c->p < c->end && *c->p != ']') {
		char node[SSYNC_NODE_ID_MAX + 1];
		int64_t seq;
		if ((nprev > 0 && (error = lit(c, ",")) < 0) || (error = scan_string(c, ver, sizeof(ver), &si)) < 0)
			return error;
		if (++nprev > SSYNC_PREVS_MAX || si.cut || si.nul || ssync_version_parse(ver, node, &seq) != 0)
			return bad(c, SSYNC_ESCHEMA, "has a cell with invalid prev versions");
	}
	return lit(c, "]]");
}

/* {"t":table,"k":key,"c":[cell,...]} */
static int scan_op(cur *c)
{
	char tbl[NAME_BUF], key[SSYNC_KEY_MAX_BYTES + 1];
	int error, n = 0;
	str si;

	if ((error = lit(c, "{\"t\":")) < 0 || (error = scan_string(c, tbl, sizeof(tbl), &si)) < 0)
		return error;
	if (si.cut || si.nul || !ssync_ident_sql_valid(tbl))
		return bad(c, SSYNC_ESCHEMA, "has an op with an invalid table name");
	name_check(c, tbl, NULL);
	if ((error = lit(c, ",\"k\":")) < 0 || (error = scan_string(c, key, sizeof(key), &si)) < 0)
		return error;
	if (si.len == 0 || si.len > SSYNC_KEY_MAX_BYTES)
		return bad(c, SSYNC_ESCHEMA, "has an op with an invalid key");
	if (si.ctl)
		value_refused(c, tbl, NULL, key, si.len, NULL, NULL, 0);
	if ((error = lit(c, ",\"c\":[")) < 0)
		return error;
	for (;; n++) {
		if (c->p < c->end && *c->p == ']' && n == 0)
			return bad(c, SSYNC_ESCHEMA, "has an op without cells");
		if ((error = scan_cell(c, tbl, key, si.len)) < 0)
			return error;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		break;
	}
	return lit(c, "]}");
}

static int header_string(cur *c, const char *member, char *buf, size_t cap, str *si)
{
	int error = lit(c, member);

	return error < 0 ? error : scan_string(c, buf, cap, si);
}

static int lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int ssync_canon__body(const char *body, size_t len, ssync_canon *out, ssync_error *err)
{
	cur c = { (const unsigned char *)body, (const unsigned char *)body, (const unsigned char *)body + len, out, err };
	char prev[2 * SSYNC_HASH_BYTES + 2], when[40], time[40];
	const unsigned char *ops;
	int64_t v;
	int error, is_real;
	str si;

	out->value_error = out->name_error = 0;
	if ((error = lit(&c, "{\"entry\":")) < 0 || (error = scan_number(&c, &v, &is_real)) < 0)
		return error;
	if (is_real || v != 1)
		return bad(&c, SSYNC_ESCHEMA, "is not format 1");
	if ((error = header_string(&c, ",\"district\":", out->district, sizeof(out->district), &si)) < 0)
		return error;
	if (si.cut || si.nul || !ssync_ident_node_valid(out->district))
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry has an invalid district id");
	if ((error = header_string(&c, ",\"node\":", out->node, sizeof(out->node), &si)) < 0)
		return error;
	if (si.cut || si.nul || !ssync_ident_node_valid(out->node))
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry has an invalid node id");
	if ((error = lit(&c, ",\"seq\":")) < 0 || (error = scan_int(&c, &out->seq, SSYNC_ESCHEMA, "has an invalid seq")) < 0)
		return error;
	if (out->seq < 1)
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry of %s has an invalid seq", out->node);
	if ((error = lit(&c, ",\"prev\":")) < 0)
		return error;
	out->has_prev = c.p < c.end && *c.p == '"';
	if (!out->has_prev && (error = lit(&c, "null")) < 0)
		return error;
	if (out->has_prev) {
		if ((error = scan_string(&c, prev, sizeof(prev), &si)) < 0)
			return error;
		if (si.len != 2 * SSYNC_HASH_BYTES || si.escaped || !lower_hex(prev, si.len) ||
		    ssync_hex_decode(out->prev, SSYNC_HASH_BYTES, prev) != 0)
			return ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid prev hash", out->node,
				(long long)out->seq);
	}
	if ((out->seq == 1) != !out->has_prev)
		return ssync_error_set(err, SSYNC_ECHAIN, "entry %s#%lld: prev must be null exactly for seq 1", out->node,
			(long long)out->seq);
	if ((error = lit(&c, ",\"hlc\":")) < 0 || (error = scan_int(&c, &v, SSYNC_ESCHEMA, "has an invalid hlc")) < 0)
		return error;
	if (v <= 0 || !ssync_hlc_in_range((uint64_t)v))
		/* before anything can compare, add to or adopt it (FORMAT.md §1) */
		return ssync_error_set(err, SSYNC_ECLOCK, "entry %s#%lld has hlc %lld, outside the range "
			"2000-01-01 to 2999-12-31 UTC (E_CLOCK)", out->node, (long long)out->seq, (long long)v);
	out->hlc = (uint64_t)v;
	if ((error = header_string(&c, ",\"time\":", time, sizeof(time), &si)) < 0)
		return error;
	ssync_hlc_format(out->hlc, when, sizeof(when));
	/* whole: "\u0000" and more after it is not the same time */
	if (si.cut || si.nul || si.len != strlen(when) || strcmp(time, when) != 0)
		return ssync_error_set(err, SSYNC_EENCODING, "entry %s#%lld: its time does not match its hlc (E_ENCODING)",
			out->node, (long long)out->seq);
	if ((error = header_string(&c, ",\"actor\":", out->actor, sizeof(out->actor), &si)) < 0)
		return error;
	if (si.cut || si.nul || si.len > 256)
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid actor", out->node, (long long)out->seq);
	if ((error = lit(&c, ",\"schema\":")) < 0 ||
	    (error = scan_int(&c, &v, SSYNC_ESCHEMA, "has an invalid schema version")) < 0)
		return error;
	if (v < 1 || v > 100000)
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid schema version", out->node,
			(long long)out->seq);
	out->schema = (int)v;
	if ((error = lit(&c, ",\"ops\":[")) < 0)
		return error;
	ops = c.p - 1;
	if (c.p < c.end && *c.p == ']')
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has no ops", out->node, (long long)out->seq);
	for (;;) {
		if ((error = scan_op(&c)) < 0)
			return error;
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		break;
	}
	if ((error = lit(&c, "]")) < 0)
		return error;
	out->ops_off = (size_t)(ops - c.s);
	out->ops_len = (size_t)(c.p - ops);
	if ((error = lit(&c, "}")) < 0)
		return error;
	if (c.p != c.end)
		return bad(&c, SSYNC_EENCODING, "has bytes after its end");
	return 0;
}
