/* The text encoding of an imported spreadsheet. Excel on Chinese Windows
 * saves "CSV" as GB18030/GBK; elsewhere it is UTF-8, often with a BOM.
 * Some GBK text is also valid UTF-8 (学思 is D1 A7 CB BC, which UTF-8 reads
 * as "ѧ˼"), so validity alone cannot tell them apart; mojibake must never
 * be stored and signed. The rule (auto):
 *
 *   BOM, or strictly valid UTF-8 whose characters are all ones a district's
 *   spreadsheet holds (ASCII, CJK, CJK and full-width punctuation, a few
 *   symbols)                                               -> UTF-8;
 *   otherwise, if it decodes as GB18030 into such characters only, and
 *   nine in ten of its double-byte characters are GB2312's     -> GB18030;
 *   otherwise                                   -> refuse, ask for --encoding.
 *
 * Conversion uses glibc's iconv. The whole file is read into memory first
 * (bounded by SSYNC_CSV_MAX_BYTES): detection needs all of it. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "csvenc_int.h"

#define SSYNC_CSV_MAX_BYTES (1024L * 1024L * 1024L)

/* Decode one UTF-8 sequence strictly (no overlongs, no surrogates, <= U+10FFFF);
 * returns its length or 0 if invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned long c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

/* Characters a Chinese school district's spreadsheet plausibly holds. */
static int plausible(unsigned long c)
{
	return c < 0x80 ||
		c == 0xa0 || c == 0xb7 || c == 0xd7 || c == 0xf7 || c == 0xb0 || c == 0xa7 || /* nbsp · × ÷ ° § */
		(c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x203b) || /* dashes, quotes, ‰ ※ */
		(c >= 0x2160 && c <= 0x217f) || (c >= 0x2460 && c <= 0x249b) || /* Ⅻ, ① */
		(c >= 0x2190 && c <= 0x2199) || c == 0x2103 || c == 0x2116 || c == 0x25cb || c == 0x25cf || /* arrows ℃ № ○ ● */
		c == 0x3007 || (c >= 0x3000 && c <= 0x303f) || /* CJK punctuation, 〇 */
		(c >= 0x3040 && c <= 0x30ff) || /* kana (names) */
		(c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) ||
		(c >= 0x20000 && c <= 0x3134f) || /* CJK ideographs and extensions */
		(c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xffef) || /* compatibility forms, full-width */
		c == 0xfeff; /* a BOM inside a field */
}

/* 1 valid UTF-8, and *odd = number of implausible characters; 0 invalid
 * (*bad = offset of the first invalid byte). */
static int utf8_scan(const unsigned char *s, size_t n, size_t *odd, size_t *bad)
{
	size_t i = 0, k;
	unsigned long c;

	*odd = 0;
	while (i < n) {
		if (!(k = utf8_next(s + i, n - i, &c))) {
			*bad = i;
			return 0;
		}
		if (!plausible(c))
			(*odd)++;
		i += k;
	}
	return 1;
}

/* GB18030 -> UTF-8 with iconv; 0, or -1 with *bad = offset of the first
 * byte iconv refused. *out is malloc'd. */
static int from_gb18030(const char *in, size_t n, char **out, size_t *outlen, size_t *bad)
{
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	char *buf, *ip = (char *)(uintptr_t)in, *op;
	size_t cap = n * 2 + 16, il = n, ol = cap;

	*out = NULL;
	*bad = 0;
	if (cd == (iconv_t)-1)
		return -2;
	if (!(buf = malloc(cap + 1))) {
		iconv_close(cd);
		return -3;
	}
	op = buf;
	/* GB18030 is at most 4 bytes per character and UTF-8 at most 4, and a
	 * 2-byte GBK character becomes 3 bytes: twice the input is enough. */
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
		*bad = (size_t)(ip - in);
		free(buf);
		iconv_close(cd);
		return -1;
	}
	iconv_close(cd);
	*op = 0;
	*out = buf;
	*outlen = (size_t)(op - buf);
	return 0;
}

/* 1 if the double-byte characters of @p s (read as GB18030) are mostly
 * GB2312's: hanzi (lead B0-F7) and common symbols (lead A1-A9), trail
 * A1-FE. Chinese text written in GBK is; UTF-8 read as GBK is not (its
 * continuation bytes 80-BF land in lead positions outside that block). */
static int gbk_typical(const unsigned char *s, size_t n)
{
	size_t i = 0, common = 0, rare = 0;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
		} else if (i + 1 < n && s[i + 1] >= 0x30 && s[i + 1] <= 0x39) {
			rare++; /* four-byte GB18030 */
			i += 4;
		} else {
			if (i + 1 < n && s[i + 1] >= 0xa1 && s[i + 1] <= 0xfe &&
			    ((s[i] >= 0xb0 && s[i] <= 0xf7) || (s[i] >= 0xa1 && s[i] <= 0xa9)))
				common++;
			else
				rare++;
			i += 2;
		}
	}
	return common + rare > 0 && common * 10 >= (common + rare) * 9;
}

static long line_of(const char *s, size_t off)
{
	long line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (s[i] == '\n')
			line++;
	return line;
}

static int read_all(const char *path, char **out, size_t *outlen, ssync_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *buf = NULL;
	size_t n;

	*out = NULL;
	if (!f) {
		ssync_error_set(err, errno == ENOENT ? SSYNC_ENOTFOUND : SSYNC_EIO, "open %s: %s", path, strerror(errno));
		return err ? err->code : SSYNC_EIO;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fclose(f);
		return ssync_error_set(err, SSYNC_EINVAL, "%s is not a regular file", path);
	}
	if (sb.st_size > SSYNC_CSV_MAX_BYTES) {
		fclose(f);
		return ssync_error_set(err, SSYNC_EINVAL, "%s is %lld bytes; a spreadsheet import is at most %ld",
			path, (long long)sb.st_size, SSYNC_CSV_MAX_BYTES);
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		fclose(f);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory reading %s", path);
	}
	n = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return SSYNC_EIO;
	}
	fclose(f);
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	return 0;
}

int ssync_csvio__decode(const char *path, const char *encoding, char **out, size_t *outlen,
	char used[16], ssync_error *err)
{
	char *raw = NULL, *conv = NULL;
	size_t n = 0, odd = 0, bad = 0, clen = 0, codd = 0, cbad = 0, skip = 0;
	int error, want_utf8, want_gb, valid, gb;

	*out = NULL;
	*outlen = 0;
	used[0] = 0;
	if (!encoding || !*encoding)
		encoding = "auto";
	want_utf8 = strcasecmp(encoding, "utf-8") == 0 || strcasecmp(encoding, "utf8") == 0;
	want_gb = strcasecmp(encoding, "gb18030") == 0 || strcasecmp(encoding, "gbk") == 0 ||
		strcasecmp(encoding, "gb2312") == 0 || strcasecmp(encoding, "cp936") == 0;
	if (!want_utf8 && !want_gb && strcasecmp(encoding, "auto") != 0)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown encoding '%s': auto, utf-8 or gb18030 (gbk)", encoding);
	if ((error = read_all(path, &raw, &n, err)) < 0)
		return error;
	/* Excel's UTF-8 byte order mark: UTF-8 for sure. A file saved again by
	 * other tools may carry several; the text returned has none (fuzz_csv:
	 * with three, one was left glued to the first header name). */
	while (n - skip >= 3 && memcmp(raw + skip, "\xef\xbb\xbf", 3) == 0)
		skip += 3;
	valid = utf8_scan((const unsigned char *)raw + skip, n - skip, &odd, &bad);
	if (want_utf8 || skip) {
		if (!valid) {
			error = ssync_error_set(err, SSYNC_EENCODING, "%s line %ld: not valid UTF-8 (byte %zu)%s", path,
				line_of(raw, bad + skip), bad + skip + 1, skip ? " although the file starts with a UTF-8 mark" : "");
			if (!skip)
				ssync_error_hint(err, "a file saved by Excel on Chinese Windows is GB18030: --encoding gb18030");
			goto done;
		}
		snprintf(used, 16, "utf-8");
		goto keep;
	}
	if (!want_gb && valid && odd == 0) {
		snprintf(used, 16, "utf-8");
		goto keep;
	}
	gb = from_gb18030(raw, n, &conv, &clen, &cbad);
	if (gb < -1) {
		error = ssync_error_set(err, gb == -3 ? SSYNC_ERROR : SSYNC_EENCODING,
			gb == -3 ? "out of memory converting %s" : "this system's iconv cannot read GB18030 (%s)", path);
		goto done;
	}
	if (want_gb) {
		if (gb < 0) {
			error = ssync_error_set(err, SSYNC_EENCODING, "%s line %ld: not valid GB18030 (byte %zu)", path,
				line_of(raw, cbad), cbad + 1);
			if (valid)
				ssync_error_hint(err, "the file is valid UTF-8: --encoding utf-8");
			goto done;
		}
		snprintf(used, 16, "gb18030");
		goto converted;
	}
	/* auto, and the file is not plainly UTF-8 Chinese text */
	if (gb == 0 && utf8_scan((const unsigned char *)conv, clen, &codd, &cbad) && codd == 0 &&
	    gbk_typical((const unsigned char *)raw, n)) {
		snprintf(used, 16, "gb18030");
		goto converted;
	}
	if (!valid && gb < 0) {
		error = ssync_error_set(err, SSYNC_EENCODING, "%s: neither UTF-8 (line %ld) nor GB18030 (line %ld)", path,
			line_of(raw, bad), line_of(raw, cbad));
		ssync_error_hint(err, "save the sheet again as \"CSV UTF-8\", or give --encoding utf-8|gb18030");
		goto done;
	}
	error = ssync_error_set(err, SSYNC_EENCODING, "%s: cannot tell whether it is UTF-8 or GB18030 "
		"(read as %s it holds characters a school spreadsheet rarely has)", path, valid ? "UTF-8" : "GB18030");
	ssync_error_hint(err, "check a Chinese cell and give --encoding utf-8 or --encoding gb18030");
	goto done;
converted:
	free(raw);
	*out = conv;
	*outlen = clen;
	return 0;
keep:
	if (skip)
		memmove(raw, raw + skip, n - skip + 1);
	*out = raw;
	*outlen = n - skip;
	return 0;
done:
	free(raw);
	free(conv);
	return error;
}
