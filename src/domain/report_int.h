#ifndef SSYNC_REPORT_INT_H
#define SSYNC_REPORT_INT_H

#include <jansson.h>

#include "schoolsync/report.h"

/* Build report @p kind as a JSON object (caller decrefs); NULL on failure. */
json_t *ssync_report__build(ssync_node *n, const char *kind, const ssync_report_options *opts, ssync_error *err);
/* A table cell as the CSV and terminal tables show it: text as it is,
 * integers in decimal, reals with one decimal, NULL for null. */
const char *ssync_report__cell(const json_t *v, char buf[40]);
/* The school year (starting in September) that @p now_ms falls in. */
int ssync_report__school_year(int64_t now_ms);

#endif
