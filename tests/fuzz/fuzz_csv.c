/*
 * Spreadsheet import (src/domain/csvenc.c, csvio.c): the file a clerk
 * gives `import`, as bytes. Decoded as auto (UTF-8 / GB18030 detection),
 * utf-8 and gb18030, then imported as a dry run (every row validated,
 * nothing written) into a table picked by the input's length. Oracles: what
 * decodes is valid UTF-8 without a BOM; a forced encoding that succeeds
 * agrees with auto when auto picked it; a dry run writes no entry.
 */
#include <stdlib.h>
#include <string.h>

#include "csvenc_int.h"
#include "fuzz.h"
#include "schoolsync/csvio.h"
#include "schoolsync/node.h"

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], k, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static const char *tables[] = { "teacher", "zone", "school" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_node *n = fz_node();
	const char *path;
	const char *enc[] = { NULL, "utf-8", "gb18030" };
	char *out[3] = { NULL, NULL, NULL }, used[3][16];
	size_t len[3] = { 0, 0, 0 };
	int rc[3], irc;
	ssync_import_options opts = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_import_result res;
	ssync_error err;

	if (size > 128 * 1024)
		return 0;
	path = fz_write("in.csv", data, size);
	for (int i = 0; i < 3; i++) {
		ssync_error_clear(&err);
		used[i][0] = '\0';
		rc[i] = ssync_csvio__decode(path, enc[i], &out[i], &len[i], used[i], &err);
		if (rc[i] == 0) {
			FZ_CHECK(out[i] != NULL && out[i][len[i]] == '\0');
			FZ_CHECK(utf8_valid((const unsigned char *)out[i], len[i]));
			FZ_CHECK(!(len[i] >= 3 && memcmp(out[i], "\xef\xbb\xbf", 3) == 0));
		} else {
			FZ_CHECK(err.message[0] != '\0');
		}
	}
	if (rc[0] == 0) {
		int k = strcmp(used[0], "gb18030") == 0 ? 2 : 1;
		FZ_CHECK(strcmp(used[0], "utf-8") == 0 || k == 2);
		FZ_CHECK(rc[k] == 0 && len[k] == len[0] && memcmp(out[k], out[0], len[0]) == 0);
	}
	for (int i = 0; i < 3; i++)
		free(out[i]);
	opts.dry_run = 1;
	opts.actor = "fuzz";
	opts.school_id = "sa";
	memset(&res, 0, sizeof(res));
	ssync_error_clear(&err);
	irc = ssync_csvio_import(n, tables[size % 3], path, &opts, &res, &err);
	FZ_CHECK(irc <= 0);
	if (irc < 0)
		FZ_CHECK(err.message[0] != '\0' || res.nproblems > 0);
	FZ_CHECK(res.inserted == 0 && res.entries == 0);
	ssync_csvio_result_clear(&res);
	return 0;
}
