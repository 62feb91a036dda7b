/* One self-contained HTML page for a district officer: inline CSS, inline
 * SVG bar charts, no script, nothing fetched (it is mailed around and
 * opened offline). Rendered from the same JSON the CLI prints
 * (report.c), so the page never disagrees with `report --json`. Every
 * text from the data is HTML-escaped. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"
#include "schoolsync/node.h"

#define BAR "#2b6cb0"      /* main bars: the screenshot test looks for this colour */
#define BAR_OK "#2f855a"
#define BAR_WARN "#dd6b20"
#define BAR_BAD "#c53030"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

typedef struct bar {
	const char *label;
	double value;
	const char *color;
	char text[32];
} bar;

/* Horizontal bar chart; a dashed line marks @p target (< 0: none). */
static void hbar_chart(FILE *f, const char *title, const bar *bars, int n, double maxv, double target,
	const char *target_label)
{
	const int lw = 190, cw = 460, bh = 22, top = 30;
	int i, h = top + n * bh + 24;

	if (maxv <= 0)
		maxv = 1;
	if (target > maxv)
		maxv = target * 1.1;
	fprintf(f, "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>", lw + cw + 80, h, lw + cw + 80, h);
	esc(f, title);
	fprintf(f, "</title><text x=\"0\" y=\"18\" class=\"ct\">");
	esc(f, title);
	fputs("</text>", f);
	for (i = 0; i < n; i++) {
		int y = top + i * bh, w = (int)(bars[i].value / maxv * cw + 0.5);
		if (w < 1 && bars[i].value > 0)
			w = 1;
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"cl\">", lw - 8, y + 15);
		esc(f, bars[i].label);
		fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\" class=\"cv\">", lw, y + 3, w, bh - 6, bars[i].color ? bars[i].color : BAR,
			lw + w + 6, y + 15);
		esc(f, bars[i].text);
		fputs("</text>", f);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#718096\"/>", lw, top, lw, top + n * bh);
	if (target >= 0) {
		int x = lw + (int)(target / maxv * cw + 0.5);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c53030\" stroke-width=\"2\" "
			"stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%d\" class=\"tl\">", x, top - 4, x, top + n * bh + 4,
			x + 4, top + n * bh + 18);
		esc(f, target_label);
		fputs("</text>", f);
	}
	fputs("</svg></figure>\n", f);
}

static void summary_cards(FILE *f, json_t *r)
{
	size_t i;
	json_t *it;

	fputs("<div class=\"cards\">", f);
	json_array_foreach(json_object_get(r, "summary"), i, it) {
		fputs("<div class=\"card\"><div class=\"cv2\">", f);
		esc(f, json_string_value(json_object_get(it, "value")));
		fputs("</div><div class=\"cl2\">", f);
		esc(f, json_string_value(json_object_get(it, "label")));
		fputs("</div></div>", f);
	}
	fputs("</div>\n", f);
}

static void table(FILE *f, json_t *r, const char *caption)
{
	json_t *cols = json_object_get(r, "columns"), *rows = json_object_get(r, "rows"), *row, *v;
	size_t i, k;

	fprintf(f, "<details><summary>");
	esc(f, caption);
	fprintf(f, " (%zu)</summary><table><thead><tr>", json_array_size(rows));
	json_array_foreach(cols, k, v) {
		fputs("<th>", f);
		esc(f, json_string_value(v));
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	json_array_foreach(rows, i, row) {
		fputs("<tr>", f);
		json_array_foreach(row, k, v) {
			if (json_is_string(v)) {
				fputs("<td>", f);
				esc(f, json_string_value(v));
			} else if (json_is_integer(v)) {
				fprintf(f, "<td class=\"n\">%lld", (long long)json_integer_value(v));
			} else if (json_is_real(v)) {
				fprintf(f, "<td class=\"n\">%.1f", json_real_value(v));
			} else {
				fputs("<td>", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table></details>\n", f);
}

static int cmp_bar_desc(const void *a, const void *b)
{
	const bar *x = a, *y = b;
	return x->value < y->value ? 1 : x->value > y->value ? -1 : 0;
}

static void rotation_html(FILE *f, json_t *r)
{
	json_t *zones = json_object_get(r, "zones"), *z, *d = json_object_get(r, "district");
	bar bars[32], kb[32];
	size_t i;
	int n = 0;
	double maxv = 0, kmax = 0;

	json_array_foreach(zones, i, z) {
		if (n >= 31)
			break;
		bars[n].label = kb[n].label = json_string_value(json_object_get(z, "zone"));
		bars[n].value = json_real_value(json_object_get(z, "rate"));
		kb[n].value = json_real_value(json_object_get(z, "key_rate"));
		bars[n].color = bars[n].value >= 10 ? BAR : BAR_WARN;
		kb[n].color = kb[n].value >= 20 ? BAR : BAR_WARN;
		snprintf(bars[n].text, sizeof(bars[n].text), "%.1f %% (%lld/%lld)", bars[n].value,
			(long long)json_integer_value(json_object_get(z, "rotated_due")),
			(long long)json_integer_value(json_object_get(z, "due")));
		snprintf(kb[n].text, sizeof(kb[n].text), "%.1f %% (%lld/%lld)", kb[n].value,
			(long long)json_integer_value(json_object_get(z, "key_rotated")),
			(long long)json_integer_value(json_object_get(z, "key")));
		if (bars[n].value > maxv)
			maxv = bars[n].value;
		if (kb[n].value > kmax)
			kmax = kb[n].value;
		n++;
	}
	bars[n].label = kb[n].label = "全区 district";
	bars[n].value = json_real_value(json_object_get(d, "rate"));
	kb[n].value = json_real_value(json_object_get(d, "key_rate"));
	bars[n].color = bars[n].value >= 10 ? BAR_OK : BAR_BAD;
	kb[n].color = kb[n].value >= 20 ? BAR_OK : BAR_BAD;
	snprintf(bars[n].text, sizeof(bars[n].text), "%.1f %%", bars[n].value);
	snprintf(kb[n].text, sizeof(kb[n].text), "%.1f %%", kb[n].value);
	if (bars[n].value > maxv)
		maxv = bars[n].value;
	if (kb[n].value > kmax)
		kmax = kb[n].value;
	n++;
	hbar_chart(f, "Rotation rate of teachers due, by zone 学区交流比例", bars, n, maxv * 1.15, 10, "target 10 %");
	hbar_chart(f, "特级 / 正高级 / committed 骨干 rotated, by zone", kb, n, kmax * 1.15, 20, "target 20 %");
	table(f, r, "Per school 各校明细");
}

static void courses_html(FILE *f, json_t *r)
{
	static const char *cats[7] = { "思政", "学科", "文体", "艺术", "劳动", "科技", "心理" };
	json_t *per = json_object_get(json_object_get(r, "district"), "per_category"), *none, *it;
	bar bars[8];
	double maxv = 0;
	long total = (long)json_integer_value(json_object_get(json_object_get(r, "district"), "shared_courses"));
	size_t i;
	int k;

	for (k = 0; k < 7; k++) {
		bars[k].label = cats[k];
		bars[k].value = (double)json_integer_value(json_object_get(per, cats[k]));
		bars[k].color = BAR;
		snprintf(bars[k].text, sizeof(bars[k].text), "%.0f", bars[k].value);
		if (bars[k].value > maxv)
			maxv = bars[k].value;
	}
	bars[7].label = "progress to 10 目标";
	bars[7].value = (double)total;
	bars[7].color = total >= 10 ? BAR_OK : BAR_WARN;
	snprintf(bars[7].text, sizeof(bars[7].text), "%ld / 10", total);
	if (total > maxv)
		maxv = (double)total;
	hbar_chart(f, "Shared courses by category 共享课程类别", bars, 8, maxv * 1.15, 10, "target 10");
	none = json_object_get(r, "schools_without");
	fprintf(f, "<p><b>Schools without a shared course 尚无共享课程的学校 (%zu):</b> ", json_array_size(none));
	json_array_foreach(none, i, it) {
		if (i)
			fputs("、", f);
		esc(f, json_string_value(json_object_get(it, "name")));
	}
	fputs("</p>\n", f);
	table(f, r, "Schools × categories 学校 × 类别");
}

static void resources_html(FILE *f, json_t *r)
{
	json_t *rows = json_object_get(r, "rows"), *row;
	bar bars[512];
	size_t i;
	int n = 0;

	json_array_foreach(rows, i, row) {
		if (n >= 512)
			break;
		bars[n].label = json_string_value(json_array_get(row, 1));
		bars[n].value = (double)json_integer_value(json_array_get(row, 7));
		bars[n].color = BAR;
		snprintf(bars[n].text, sizeof(bars[n].text), "%.0f", bars[n].value);
		n++;
	}
	qsort(bars, (size_t)n, sizeof(bar), cmp_bar_desc);
	if (n > 15)
		n = 15;
	hbar_chart(f, "Most used by other schools (bookings) 他校使用最多", bars, n, n ? bars[0].value * 1.15 : 1, -1, "");
	table(f, r, "Sharing list 共享清单");
}

static void freshness_html(FILE *f, json_t *r)
{
	json_t *rows = json_object_get(r, "rows"), *row;
	bar bars[1024];
	size_t i;
	int n = 0;

	json_array_foreach(rows, i, row) {
		const char *st = json_string_value(json_array_get(row, 7));
		if (n >= 1024)
			break;
		bars[n].label = json_string_value(json_array_get(row, 1));
		bars[n].value = json_is_null(json_array_get(row, 6)) ? 30 : json_real_value(json_array_get(row, 6));
		if (bars[n].value > 30)
			bars[n].value = 30;
		bars[n].color = strcmp(st, "ok") == 0 ? BAR_OK : strcmp(st, "late") == 0 ? BAR_WARN : BAR_BAD;
		if (strcmp(st, "never") == 0)
			snprintf(bars[n].text, sizeof(bars[n].text), "never 从未");
		else
			snprintf(bars[n].text, sizeof(bars[n].text), "%.1f d", json_real_value(json_array_get(row, 6)));
		n++;
	}
	qsort(bars, (size_t)n, sizeof(bar), cmp_bar_desc);
	if (n > 25)
		n = 25;
	hbar_chart(f, "Days since data last arrived (stalest 25) 距上次同步天数", bars, n, 30, 7, "7 days");
	table(f, r, "All schools 全部学校");
}

/* One report: its heading, summary cards, charts and tables. */
static void section(FILE *f, json_t *rep)
{
	const char *k = json_string_value(json_object_get(rep, "report"));

	fprintf(f, "<section id=\"%s\" class=\"report\"><h2>", k);
	esc(f, json_string_value(json_object_get(rep, "title")));
	fputs("</h2>\n", f);
	summary_cards(f, rep);
	if (strcmp(k, "rotation") == 0)
		rotation_html(f, rep);
	else if (strcmp(k, "courses") == 0)
		courses_html(f, rep);
	else if (strcmp(k, "resources") == 0)
		resources_html(f, rep);
	else
		freshness_html(f, rep);
	fputs("</section>\n", f);
}

int ssync_report_html_section(ssync_node *n, const char *kind, const ssync_report_options *opts,
	char **html_out, ssync_error *err)
{
	json_t *rep;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	*html_out = NULL;
	if (!(rep = ssync_report__build(n, kind, opts, err)))
		return err && err->code ? err->code : SSYNC_ERROR;
	if (!(f = open_memstream(&buf, &len))) {
		json_decref(rep);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	section(f, rep);
	json_decref(rep);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	*html_out = buf;
	return 0;
}

int ssync_report_html(ssync_node *n, const char *const *kinds, int nkinds, const ssync_report_options *opts,
	const char *path, ssync_error *err)
{
	FILE *f = NULL;
	json_t *reps[8] = { NULL };
	char now[64], tmp[4200];
	int i, error = 0;

	if (nkinds < 1 || nkinds > 8)
		return ssync_error_set(err, SSYNC_EINVAL, "between 1 and 8 reports per page");
	for (i = 0; i < nkinds; i++)
		if (!(reps[i] = ssync_report__build(n, kinds[i], opts, err))) {
			error = err && err->code ? err->code : SSYNC_ERROR;
			goto done;
		}
	/* Written beside the target and renamed: a reader never sees half a page. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		error = ssync_error_set(err, SSYNC_EINVAL, "path too long: %s", path);
		goto done;
	}
	if (!(f = fopen(tmp, "w"))) {
		error = ssync_error_set(err, SSYNC_EIO, "create %s: %s", tmp, strerror(errno));
		goto done;
	}
	(void)ssync_time_local((int64_t)ssync_hlc_wall_ms(), now, sizeof(now)); /* read by people */
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>学区报告 District report</title>"
		"<style>body{font-family:\"Noto Sans CJK SC\",\"Noto Sans SC\",\"PingFang SC\",\"Microsoft YaHei\",sans-serif;"
		"margin:24px;color:#1a202c;max-width:1100px}h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;"
		"border-bottom:2px solid " BAR ";padding-bottom:4px;margin-top:36px}.meta{color:#4a5568;font-size:13px}"
		".cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #cbd5e0;border-radius:6px;"
		"padding:10px 14px;min-width:160px;background:#f7fafc}.cv2{font-size:18px;font-weight:bold}.cl2{font-size:12px;"
		"color:#4a5568}.chart{margin:16px 0}.ct{font-size:14px;font-weight:bold;fill:#1a202c}.cl{font-size:12px;"
		"fill:#2d3748}.cv{font-size:12px;fill:#1a202c}.tl{font-size:11px;fill:#c53030}table{border-collapse:collapse;"
		"font-size:12px;margin:8px 0}th,td{border:1px solid #e2e8f0;padding:3px 6px}th{background:#edf2f7}"
		"td.n{text-align:right}summary{cursor:pointer;font-weight:bold;margin:8px 0}"
		"@media print{details{display:block}}</style></head><body>\n", f);
	fputs("<h1>学区报告 District report</h1><p class=\"meta\">district ", f);
	esc(f, ssync_node_district(n));
	fputs(" · node ", f);
	esc(f, ssync_node_id(n));
	fputs(" · generated ", f);
	esc(f, now);
	fputs(" · data as held by this replica</p>\n", f);
	for (i = 0; i < nkinds; i++)
		section(f, reps[i]);
	fputs("</body></html>\n", f);
	if (fflush(f) != 0 || ferror(f)) {
		error = ssync_error_set(err, SSYNC_EIO, "write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (fclose(f) != 0) {
		f = NULL;
		error = ssync_error_set(err, SSYNC_EIO, "write %s: %s", tmp, strerror(errno));
		goto done;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		error = ssync_error_set(err, SSYNC_EIO, "rename %s to %s: %s", tmp, path, strerror(errno));
done:
	if (f)
		fclose(f);
	if (error < 0)
		(void)remove(tmp);
	for (i = 0; i < 8; i++)
		json_decref(reps[i]);
	return error;
}
