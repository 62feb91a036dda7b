#ifndef SSYNC_CSVIO_H
#define SSYNC_CSVIO_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer domain (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_DOMAIN
#error "schoolsync/csvio.h is layer domain: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * Spreadsheets in and out: import TABLE FILE.csv, export TABLE.
 * CSV is read and written with libcsv. Imported files are UTF-8 (with or
 * without BOM) or GB18030/GBK (Excel on Chinese Windows), detected or given
 * (ssync_import_options.encoding); text that could be either is refused,
 * never stored garbled. Exports are UTF-8.
 */

/** One bad cell or row of an import. */
typedef struct ssync_import_problem {
	long line;             /**< line of the file where the record starts (1 = header) */
	int column;            /**< 1-based column in the file, 0 = the whole row */
	char column_name[64];  /**< header text of that column, "" for a whole row */
	char message[400];     /**< what is wrong, for the clerk */
} ssync_import_problem;

typedef struct ssync_import_result {
	long rows;                     /**< data rows read (blank rows skipped) */
	long inserted;                 /**< rows written (0 unless every row was valid) */
	int entries;                   /**< signed entries appended */
	int64_t first_seq, last_seq;
	long nproblems;                /**< bad cells/rows found */
	ssync_import_problem *problems;/**< sorted by line, column; free with ssync_csvio_result_clear() */
	char encoding[16];             /**< the file's encoding as read: "utf-8" or "gb18030" */
} ssync_import_result;

typedef struct ssync_import_options {
	unsigned int version;
	const char *school_id; /**< owner school for rows whose school_id is empty / absent */
	int dry_run;           /**< validate only */
	const char *actor;     /**< NULL = ssync_node_default_actor() */
	const char *encoding;  /**< (version 2) NULL/"auto", "utf-8", "gb18030"/"gbk" */
	/**
	 * (version 3) Called with phase "check" and rows checked so far of
	 * @p total, every 1 % (at least every 256 rows), then "write" before
	 * (done 0) and after (done = total) the one write. A non-zero return
	 * before the write cancels: SSYNC_ECANCELLED, nothing written. NULL
	 * for none.
	 */
	int (*progress)(const char *phase, long done, long total, void *payload);
	void *progress_payload;
} ssync_import_options;
#define SSYNC_IMPORT_OPTIONS_VERSION 3
#define SSYNC_IMPORT_OPTIONS_INIT { SSYNC_IMPORT_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, NULL }

/**
 * Import the CSV file @p path into @p table, all or nothing. The header row
 * names columns (schema names or their Chinese labels, in any order; `id`
 * optional). Every row is validated like the everyday commands (values,
 * references, table rules) and against the other rows of the file (staff
 * numbers, a teacher's rotations per term, overlapping bookings). If any
 * row is bad nothing is written, @p res lists every problem, and the call
 * returns SSYNC_EINVAL. Otherwise every row is written in one transaction
 * (one or more signed entries committed together).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_csvio_import(ssync_node *n, const char *table,
	const char *path, const ssync_import_options *opts, ssync_import_result *res,
	ssync_error *err);
SSYNC_EXTERN void ssync_csvio_result_clear(ssync_import_result *res);

/** Output sink: write @p len bytes; return non-zero to fail. */
typedef int (*ssync_write_cb)(const char *buf, size_t len, void *payload);

enum { SSYNC_FORMAT_CSV = 1, SSYNC_FORMAT_JSON = 2 };

/**
 * Write every row of @p table, ordered by id, as CSV (header row of column
 * names; cells that spreadsheets would run as formulas are prefixed with
 * ') or as a JSON array of objects. Private tables: SSYNC_EPERM.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_csvio_export(ssync_node *n, const char *table, int format,
	ssync_write_cb cb, void *payload, ssync_error *err);

/** Write one CSV record (values may be NULL = empty) through @p cb. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_csvio_write_row(ssync_write_cb cb, void *payload,
	int n, const char *const *values);

#endif
