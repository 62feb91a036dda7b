#ifndef SSYNC_REPORT_H
#define SSYNC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "csvio.h"
#include "error.h"
#include "node.h"

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

/** The report's table (columns + rows) as CSV through @p cb. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_csv(ssync_node *n, const char *kind,
	const ssync_report_options *opts, ssync_write_cb cb, void *payload, ssync_error *err);

/**
 * Write one self-contained HTML file (inline CSS and SVG charts, no scripts,
 * nothing fetched) with the reports named in @p kinds to @p path.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_report_html(ssync_node *n, const char *const *kinds,
	int nkinds, const ssync_report_options *opts, const char *path, ssync_error *err);

#endif
