#ifndef SSYNC_CSVENC_INT_H
#define SSYNC_CSVENC_INT_H

#include <stddef.h>

#include "schoolsync/error.h"

/*
 * Read the spreadsheet @p path whole and return it as UTF-8 without a BOM
 * in *out (malloc'd, NUL-terminated; the caller frees it). @p encoding:
 * NULL/"auto", "utf-8" or "gb18030" (also "gbk", "gb2312", "cp936"). The
 * encoding used goes to @p used ("utf-8" or "gb18030"). SSYNC_EENCODING,
 * naming the line, when the file is not in that encoding, or (auto) when
 * it cannot tell (csvenc.c explains the rule).
 */
int ssync_csvio__decode(const char *path, const char *encoding, char **out, size_t *outlen,
	char used[16], ssync_error *err);

#endif
