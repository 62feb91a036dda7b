#ifndef SSYNC_REPORT_H
#define SSYNC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "csvio.h"
#include "error.h"
#include "node.h"

/* Layer domain (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_DOMAIN
#error "schoolsync/report.h is layer domain: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * What the hub reads: `check` (invariants per-cell merge cannot keep) and
 * the reports of DESIGN §6. Results are JSON text (documented in
 * docs/REPORTS.md) so the CLI, the daemon and tests share one builder;
 * CSV and a self-contained HTML page are rendered from the same data.
 * Private tables (student_archive) are never read.
 */

typedef struct ssync_report_options {
	unsigned int version;
	int year;           /**< school year (starts in September); 0 = the current one */
	int retire_male;    /**< statutory retirement age, men (60) */
	int retire_female;  /**< women (55) */
} ssync_report_options;
#define SSYNC_REPORT_OPTIONS_VERSION 1
#define SSYNC_REPORT_OPTIONS_INIT { SSYNC_REPORT_OPTIONS_VERSION, 0, 60, 55 }

/**
 * Run every check: overlapping bookings of one resource, a teacher on two
 * rotations in one term, duplicate staff numbers, references to rows that
 * do not exist (deleted or never arrived), values commands would refuse.
 * @param[out] json_out malloc'd JSON text, caller frees with free()
 * @param[out] count number of violations found
 * @return 0 (whatever was found) or an error code
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_check(ssync_node *n, char **json_out,
	long *count, ssync_error *err);

/**
 * Build report @p kind: "rotation", "courses", "resources" or "freshness".
 * Every report has "title", "summary" (label/value pairs), "columns" and
 * "rows" (the per-school or per-resource table) plus its own detail.
 * @param[out] json_out malloc'd JSON text, free with free()
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_json(ssync_node *n, const char *kind,
	const ssync_report_options *opts, char **json_out, ssync_error *err);

/** What ssync_report_rows() hands its callback, in this order. */
enum {
	SSYNC_REPORT_TITLE = 1,   /**< one value: the title */
	SSYNC_REPORT_SUMMARY = 2, /**< two values: label, value (several) */
	SSYNC_REPORT_COLUMNS = 3, /**< the table's column headers */
	SSYNC_REPORT_ROW = 4      /**< one table row (several); NULL for an empty cell */
};

/** One part of a report as text; return non-zero to stop. */
typedef int (*ssync_report_row_cb)(int section, int nvals, const char *const *vals, void *payload);

/**
 * Report @p kind as text, part by part (title, summary lines, column
 * headers, rows): integers in decimal, reals with one decimal. For
 * printers that lay the report out themselves (the CLI's terminal table).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_rows(ssync_node *n, const char *kind,
	const ssync_report_options *opts, ssync_report_row_cb cb, void *payload, ssync_error *err);

/** The report's table (columns + rows) as CSV through @p cb. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_csv(ssync_node *n, const char *kind,
	const ssync_report_options *opts, ssync_write_cb cb, void *payload, ssync_error *err);

/**
 * Write one self-contained HTML file (inline CSS and SVG charts, no scripts,
 * nothing fetched) with the reports named in @p kinds to @p path.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_html(ssync_node *n, const char *const *kinds,
	int nkinds, const ssync_report_options *opts, const char *path, ssync_error *err);

/**
 * Report @p kind as the page of ssync_report_html() draws it, one
 * `<section class="report">` (heading, summary cards, SVG charts, tables;
 * no script, no style: the classes are styled by the page that shows it,
 * docs/WEB.md), for the web console. *html_out is malloc'd (free()),
 * NULL on failure.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_html_section(ssync_node *n, const char *kind,
	const ssync_report_options *opts, char **html_out, ssync_error *err);

#endif
