/* Spreadsheets and reports over HTTP: import a CSV (the request body's
 * bytes, UTF-8 or GB18030, detected as the CLI detects them), export a
 * table as CSV, and a report as the HTML section the report page draws.
 * Import and export are the CLI's library calls (ssync_csvio_import,
 * ssync_csvio_export): all or nothing, every bad line and column listed,
 * the logged-in user as the actor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schoolsync/csvio.h"
#include "schoolsync/domain.h"
#include "schoolsync/node.h"
#include "schoolsync/report.h"
#include "web_int.h"

/* The body into a private temporary file: the importer reads a path. */
static int body_file(web_req *r, char *path, size_t len, ssync_error *err)
{
	const char *dir = getenv("TMPDIR");
	size_t off = 0;
	int fd;

	snprintf(path, len, "%s/ssync-web-import-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) /* mode 0600 */
		return ssync_error_set(err, SSYNC_EIO, "temporary file %s: %s", path, strerror(errno));
	while (off < r->len) {
		ssize_t n = write(fd, r->body + off, r->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(path);
			return ssync_error_set(err, SSYNC_EIO, "write %s: %s", path, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd) != 0) {
		unlink(path);
		return ssync_error_set(err, SSYNC_EIO, "write %s: %s", path, strerror(errno));
	}
	return 0;
}

static enum MHD_Result import(web_req *r, const ssync_table_spec *t)
{
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_import_result res;
	const char *enc = ssync_web__arg(r, "encoding"), *dry = ssync_web__arg(r, "dry_run");
	char path[4200], school[64];
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result ans;
	json_t *probs;
	long i;
	int e;

	if (enc && *enc && strcmp(enc, "auto") != 0 && strcmp(enc, "utf-8") != 0 && strcmp(enc, "gb18030") != 0 &&
	    strcmp(enc, "gbk") != 0)
		return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
			"encoding must be utf-8 or gb18030 (or none: detected)");
	memset(&res, 0, sizeof(res));
	if (ssync_web__open(r, &n, 0, &ans) < 0)
		return ans;
	ssync_error_clear(&err);
	if (body_file(r, path, sizeof(path), &err) < 0) {
		ssync_node_free(n);
		return ssync_web__send_err(r, &err);
	}
	/* as the CLI's import: owned rows default to this node's school */
	if (ssync_domain_node_school(n, school, sizeof(school), NULL) == 0)
		o.school_id = school;
	o.dry_run = dry && strcmp(dry, "0") != 0;
	o.actor = r->s.user;
	o.encoding = enc && *enc ? enc : NULL;
	e = ssync_csvio_import(n, t->name, path, &o, &res, &err);
	unlink(path);
	if (e < 0 && res.nproblems == 0) {
		ans = ssync_web__send_err(r, &err);
	} else {
		/* judged: every problem (line, column, message), nothing written unless ok */
		probs = json_array();
		for (i = 0; i < res.nproblems; i++)
			json_array_append_new(probs, json_pack("{sIsssiss}", "line", (json_int_t)res.problems[i].line,
				"column", res.problems[i].column_name, "column_index", res.problems[i].column,
				"message", res.problems[i].message));
		ans = ssync_web__send_json(r, MHD_HTTP_OK, json_pack("{sbsbsIsIsissssso}", "ok", e == 0,
			"dry_run", o.dry_run, "rows", (json_int_t)res.rows, "inserted", (json_int_t)res.inserted,
			"entries", res.entries, "encoding", res.encoding, "table", t->name, "errors", probs));
	}
	ssync_csvio_result_clear(&res);
	ssync_node_free(n);
	return ans;
}

typedef struct buf { char *p; size_t len, cap; } buf;

static int to_buf(const char *data, size_t len, void *payload)
{
	buf *b = payload;

	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *np;
		while (cap < b->len + len)
			cap *= 2;
		if (!(np = realloc(b->p, cap)))
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static enum MHD_Result export(web_req *r, const ssync_table_spec *t)
{
	const char *bom = ssync_web__arg(r, "bom");
	char disp[128];
	const char *hdrs[] = { "Content-Disposition", disp, NULL, NULL };
	buf b = { NULL, 0, 0 };
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result ans;

	if (ssync_web__open(r, &n, SSYNC_NODE_READONLY, &ans) < 0)
		return ans;
	ssync_error_clear(&err);
	/* Excel on Chinese Windows reads UTF-8 only after a byte order mark */
	if (bom && strcmp(bom, "0") != 0 && to_buf("\xEF\xBB\xBF", 3, &b) != 0) {
		ssync_node_free(n);
		return ssync_web__send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	}
	if (ssync_csvio_export(n, t->name, SSYNC_FORMAT_CSV, to_buf, &b, &err) < 0) {
		ans = ssync_web__send_err(r, &err);
	} else {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.csv\"", t->name);
		ans = ssync_web__send(r, MHD_HTTP_OK, "text/csv; charset=utf-8", "no-store", b.p ? b.p : "", b.len, hdrs);
	}
	free(b.p);
	ssync_node_free(n);
	return ans;
}

static enum MHD_Result report(web_req *r, const char *kind)
{
	ssync_report_options o = SSYNC_REPORT_OPTIONS_INIT;
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result ans;
	char *html = NULL;

	if (strcmp(kind, "rotation") != 0 && strcmp(kind, "courses") != 0 && strcmp(kind, "resources") != 0 &&
	    strcmp(kind, "freshness") != 0)
		return ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, NULL,
			"no report '%.64s' (rotation, courses, resources, freshness)", kind);
	if (ssync_web__open(r, &n, SSYNC_NODE_READONLY, &ans) < 0)
		return ans;
	ssync_error_clear(&err);
	if (ssync_report_html_section(n, kind, &o, &html, &err) < 0)
		ans = ssync_web__send_err(r, &err);
	else
		ans = ssync_web__send(r, MHD_HTTP_OK, "text/html; charset=utf-8", "no-store", html, strlen(html), NULL);
	free(html);
	ssync_node_free(n);
	return ans;
}

int ssync_web__api_files(web_req *r, const char *path, enum MHD_Result *res)
{
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	const ssync_table_spec *t;
	char name[64];

	if (strncmp(path, "import/", 7) == 0) {
		if (!(t = ssync_web__table(path + 7)))
			*res = ssync_web__no_table(r, path + 7);
		else if (strcmp(r->method, "POST") != 0)
			*res = ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL, "POST the CSV file");
		else
			*res = import(r, t);
		return 1;
	}
	if (strncmp(path, "export/", 7) == 0) {
		size_t n = strlen(path + 7);
		if (n < 5 || strcmp(path + 7 + n - 4, ".csv") != 0 || n - 4 >= sizeof(name)) {
			*res = ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, NULL, "export as /api/export/TABLE.csv");
			return 1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), path + 7);
		if (!(t = ssync_web__table(name)))
			*res = ssync_web__no_table(r, name);
		else
			*res = get ? export(r, t) : ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL, "GET only");
		return 1;
	}
	if (strncmp(path, "reports/", 8) == 0) {
		*res = get ? report(r, path + 8) : ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL,
			"GET only");
		return 1;
	}
	return 0;
}
