#ifndef SSYNC_DOMAIN_H
#define SSYNC_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer domain (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_DOMAIN
#error "schoolsync/domain.h is layer domain: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/**
 * The district's data model (schema/002_domain.sql) as the commands see it:
 * which columns each table has, what values they accept, which rows they
 * reference. Every write goes through ssync_node_sql_bound(), so every
 * command is one signed entry; the replica itself has no constraints
 * (DESIGN §4), so all validation happens here, before the write.
 */

/** Field types: what a column accepts (after trimming spaces). */
enum {
	SSYNC_FT_TEXT = 1, /**< UTF-8 text, max characters in max */
	SSYNC_FT_CODE,     /**< a code id: [a-z0-9][a-z0-9-]{0,62} */
	SSYNC_FT_INT,      /**< integer in [min, max] */
	SSYNC_FT_REAL,     /**< decimal number in [min, max] */
	SSYNC_FT_ENUM,     /**< one of values; aliases accepted, canonical stored */
	SSYNC_FT_REF,      /**< id of a row of table ref */
	SSYNC_FT_DATE,     /**< YYYY-MM-DD, a real calendar date */
	SSYNC_FT_TIME,     /**< HH:MM, 00:00..23:59 (24:00 allowed as an end) */
	SSYNC_FT_TERM,     /**< YYYY-1 or YYYY-2: school year and semester */
	SSYNC_FT_DAYS,     /**< ISO weekdays as digits 1..7 (Mon=1), e.g. 12345 */
	SSYNC_FT_BOOL      /**< 0/1; also 是/否, yes/no, true/false, y/n */
};

/** One column of a domain table (the id column is not listed). */
typedef struct ssync_field {
	const char *name;   /**< column name */
	const char *label;  /**< Chinese header name the importer also accepts */
	int type;           /**< SSYNC_FT_* */
	int required;       /**< commands and import refuse a row without it */
	const char *values; /**< ENUM: "canon[:alias,alias]|canon2..." */
	const char *ref;    /**< REF: the referenced table */
	int64_t min, max;   /**< INT/REAL range; TEXT maximum characters */
	int hub;            /**< hub column: left NULL when a school creates the row */
} ssync_field;

/** A domain table. */
typedef struct ssync_table_spec {
	const char *name;
	const char *label;      /**< e.g. "教师" */
	int owned;              /**< rows carry school_id, their owner school */
	int priv;               /**< private (student data): no reports, no export */
	int code_ids;           /**< ids are codes chosen by the hub (zone, school) */
	const char *unique;     /**< column unique district-wide, or NULL */
	int nfields;
	const ssync_field *fields;
} ssync_table_spec;

/** Number of domain tables and the i-th, in schema order. */
SSYNC_EXTERN int ssync_domain_ntables(void);
SSYNC_EXTERN const ssync_table_spec *ssync_domain_table_at(int i);
/** The spec of table @p name, or NULL. */
SSYNC_EXTERN const ssync_table_spec *ssync_domain_table(const char *name);
/** Index of column @p name (or its Chinese label) in @p t, or -1. */
SSYNC_EXTERN int ssync_domain_field_index(const ssync_table_spec *t, const char *name);

/**
 * Check and canonicalize one value for @p f: trims spaces, maps enum aliases
 * and booleans, checks ranges, dates, times and UTF-8. An empty value
 * yields *is_null = 1. On failure returns SSYNC_EINVAL and writes a
 * sentence for the user into @p why (no column name: callers add it).
 * Reference existence is not checked here (it needs the replica).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_normalize(const ssync_field *f,
	const char *in, char *out, size_t outlen, int *is_null, char *why, size_t whylen);

/** A fresh row id: "<school>-<16 hex digits>" from libsodium's randombytes. */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_new_id(const char *school_id,
	char *out, size_t outlen, ssync_error *err);

/**
 * The school this node speaks for (ssync_peer.school_id of the node itself)
 * into @p out; SSYNC_ENOTFOUND if none is recorded.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_node_school(ssync_node *n,
	char *out, size_t outlen, ssync_error *err);

/**
 * Insert one row of @p table: @p values is aligned with the table's fields
 * (NULL or "" = unset). Every value is normalized; required fields,
 * references and the table's rules are checked (duplicate staff number, a
 * teacher's second rotation in a term, booking outside opening hours or
 * overlapping another booking, ...). @p id NULL = generate one (code-id
 * tables need it). One signed entry. The new id goes to @p id_out.
 * @return 0, SSYNC_EINVAL (bad value; message names the column),
 *         SSYNC_ENOTFOUND (a referenced row is missing), SSYNC_EEXISTS
 *         (id or unique value taken), SSYNC_ECONFLICT (overlap, second
 *         rotation), or a write error.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_insert(ssync_node *n, const char *table,
	const char *const *values, const char *id, const char *actor,
	char *id_out, size_t id_outlen, ssync_error *err);

/**
 * Set one column of an existing row (validated like insert). One signed
 * entry. SSYNC_ENOTFOUND if the row does not exist.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_set(ssync_node *n, const char *table,
	const char *id, const char *column, const char *value, const char *actor,
	ssync_error *err);

/**
 * The id of the row of @p table that @p key names: the id itself, else the
 * table's unique column (teacher.staff_no), else its name when exactly one
 * row has it. SSYNC_ENOTFOUND if none, SSYNC_ECONFLICT (listing them) if
 * several rows share the name.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_find_id(ssync_node *n, const char *table,
	const char *key, char *id_out, size_t id_outlen, ssync_error *err);

/**
 * Edit the row @p key names (see ssync_domain_find_id): @p values is
 * aligned with the table's fields; NULL keeps a field, "" clears it. The
 * edited row gets every check an insert gets (values, references, table
 * rules, the row itself excluded from its own uniqueness and overlap
 * rules); an owned row's school never changes (SSYNC_EPERM). Only changed
 * columns are written, as one signed entry; none changed: no entry and
 * *changed_out 0. The row's id goes to @p id_out.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_update(ssync_node *n, const char *table,
	const char *key, const char *const *values, const char *actor,
	char *id_out, size_t id_outlen, int *changed_out, ssync_error *err);

/**
 * Delete the row @p key names, as one signed entry. Refused with
 * SSYNC_ECONFLICT (naming them) while rows of other tables refer to it.
 */
/**
 * ssync_node_sql_bound() for people typing SQL (`schoolsync sql`): every
 * row a write inserts or updates in a district table is checked as add and
 * edit check it (values, references, table rules, the key's school), every
 * row it deletes as delete does (no row may still refer to it), before
 * anything is signed. Any refusal refuses the whole write: nothing is
 * written, SSYNC_EINVAL (or the rule's code) naming table, row and column.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_sql(ssync_node *n, const char *sql, int nparams,
	const char *const *params, const char *actor, ssync_row_cb cb, void *payload,
	ssync_write_result *res, ssync_error *err);

SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_delete(ssync_node *n, const char *table,
	const char *key, const char *actor, char *id_out, size_t id_outlen,
	ssync_error *err);

/**
 * Resolve cell @p column of the row @p key names: keep @p value (validated
 * like an edit) or the value of version @p version ("node#seq", as
 * `conflicts` shows it); exactly one of the two. One signed entry naming
 * every version of the cell, even when the value is the one shown, so the
 * conflict is gone on every replica that receives it. SSYNC_ENOTFOUND if
 * @p version is not a version of the cell. The kept value goes to
 * @p value_out ("" for NULL).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_resolve(ssync_node *n, const char *table,
	const char *key, const char *column, const char *value, const char *version,
	const char *actor, char *value_out, size_t value_outlen, ssync_error *err);

/** Rotation states (rotation.status; NULL in the table = proposed). */
#define SSYNC_ROT_APPROVED "approved"
#define SSYNC_ROT_DONE "done"
#define SSYNC_ROT_REJECTED "rejected"

/**
 * Move rotation @p id to @p status: proposed → approved | rejected,
 * approved → done. Anything else is SSYNC_EINVAL naming the current state.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_rotation_set_status(ssync_node *n,
	const char *id, const char *status, const char *actor, ssync_error *err);

/** Course sharing: the owner offers it (offered=1), the hub approves (shared=1). */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_course_offer(ssync_node *n, const char *id,
	const char *actor, ssync_error *err);
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_course_approve(ssync_node *n, const char *id,
	const char *actor, ssync_error *err);

/**
 * Find a row: by id, or for tables with a unique column (teacher.staff_no)
 * by that value. Calls @p cb once with the row (column names and text
 * values). SSYNC_ENOTFOUND if absent.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_get(ssync_node *n, const char *table,
	const char *key, ssync_row_cb cb, void *payload, ssync_error *err);

/**
 * List the rows of @p table ordered by id, optionally only those whose
 * column @p filter_col equals @p filter_val (both NULL = all rows).
 * Private tables are refused with SSYNC_EPERM.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_list(ssync_node *n, const char *table,
	const char *filter_col, const char *filter_val, ssync_row_cb cb, void *payload,
	ssync_error *err);

/**
 * Like ssync_domain_list with several filters, all of which must match
 * (column @p cols[i] equals @p vals[i], normalized as add would store it:
 * 初中 matches middle; "" matches NULL).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_list_where(ssync_node *n, const char *table,
	int nfilters, const char *const *cols, const char *const *vals, ssync_row_cb cb,
	void *payload, ssync_error *err);

/**
 * What people call row @p id of @p table, for display beside the id: its
 * name (a rotation: "teacher -> school"). Writes "" and returns 0 when the
 * row or a name is not known (private tables never); 1 when found.
 */
SSYNC_EXTERN int ssync_domain_label(ssync_node *n, const char *table, const char *id,
	char *out, size_t outlen);

/** Options of the synthetic district generator. */
typedef struct ssync_demo_options {
	unsigned int version;
	int schools;        /**< number of schools (seed 004: 111) */
	int teachers;       /**< average teachers per school (about 30) */
	uint64_t seed;      /**< same seed, same district (ids included) */
	int year;           /**< school year of "this year" rotations; 0 = the current one */
} ssync_demo_options;
#define SSYNC_DEMO_OPTIONS_VERSION 1
#define SSYNC_DEMO_OPTIONS_INIT { SSYNC_DEMO_OPTIONS_VERSION, 111, 30, 1, 0 }

/** Rows written per table, in ssync_domain_table_at() order. */
typedef struct ssync_demo_stats {
	long rows[16];
	long total;
	int entries;
} ssync_demo_stats;

/**
 * Fill the replica with a realistic synthetic district modelled on seed 004
 * (Chongming): 6 zones (崇西 城桥 崇中 堡港 崇东 长横), 18 towns, local and
 * 名校+新校 groups, ~35 % small schools (< 200 students), teachers with
 * Chinese names, rotations, courses, resources, bookings, training,
 * observations and funding. Written as one transaction of signed entries.
 * Deterministic for a given seed. The replica should hold no domain data yet.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_domain_demo_generate(ssync_node *n,
	const ssync_demo_options *opts, ssync_demo_stats *stats, ssync_error *err);

/**
 * Student archives (private, docs/PRIVACY.md): add (@p id NULL: a new row of
 * this node's school, "name" required) or edit row @p id, setting the
 * @p nfields columns @p names (name, grade, record) to @p values, validated
 * like every domain value and encrypted before they are written. One
 * signed entry. The row id goes to @p id_out.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_archive_write(ssync_node *n, const char *id, int nfields,
	const char *const *names, const char *const *values, const char *actor,
	char *id_out, size_t id_outlen, ssync_error *err);

/**
 * Rows of student_archive (row @p id, else this node's school's, else all
 * for the hub) with private values opened where this node holds the key,
 * SSYNC_PRIVACY_HIDDEN where it does not. Columns: id, school_id, name,
 * grade, record.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_archive_read(ssync_node *n, const char *id,
	ssync_row_cb cb, void *payload, ssync_error *err);

#endif
