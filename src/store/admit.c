/* Admission: the checks an entry must pass to be applied, shared by the
 * writer (capture.c, before it signs) and receivers (ingest, rebuild), so
 * that a node can never sign what receivers refuse. Inputs are the entry's
 * bytes and the receiver's schema only. Both sides decide through the same
 * one pass over the bytes (src/core/canon.c) and the same name check. */
#include <string.h>

#include "admit_int.h"
#include "merge_int.h"

/* A table (column NULL) or column every replica of this schema has. */
static int admit_name(void *ctx, const char *tbl, const char *col, ssync_error *err)
{
	const ssync_table_info *t = ssync_store__table((ssync_store *)ctx, tbl);
	int ci;

	if (!t)
		return ssync_error_set(err, SSYNC_ESCHEMA, "writes unknown table %s (E_UNKNOWN_TABLE)", tbl);
	if (col && ((ci = ssync_table__col(t, col)) == -1 || ci == t->pk))
		return ssync_error_set(err, SSYNC_ESCHEMA, "writes unknown column %s.%s", tbl, col);
	return 0;
}

static int admit_schema(ssync_store *st, int schema, ssync_error *err)
{
	if (schema > ssync_store_schema_version(st))
		return ssync_error_set(err, SSYNC_ESCHEMA, "written with schema %d, this node has %d: upgrade schoolsync (E_SCHEMA)",
			schema, ssync_store_schema_version(st));
	return 0;
}

int ssync_admit__entry(ssync_store *st, const ssync_entry *e, ssync_error *err)
{
	const json_t *op, *cell;
	size_t i, j;
	int error;

	if ((error = admit_schema(st, e->schema, err)) < 0)
		return error;
	/* the names canon.c hands the writer's check, in the same order */
	json_array_foreach(e->ops, i, op) {
		const char *tbl = json_string_value(json_object_get(op, "t"));
		if ((error = admit_name(st, tbl, NULL, err)) < 0)
			return error;
		json_array_foreach(json_object_get(op, "c"), j, cell) {
			const char *col = json_string_value(json_array_get(cell, 0));
			if (strcmp(col, "$row") != 0 && (error = admit_name(st, tbl, col, err)) < 0)
				return error;
		}
	}
	return ssync_entry__admit_values(e, err);
}

int ssync_admit__body(ssync_store *st, const char *body, size_t len, ssync_error *err)
{
	ssync_canon cn;
	int error;

	if (len + 2 * SSYNC_SIG_BYTES + 1 > SSYNC_ENTRY_MAX_BYTES)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "entry of %zu bytes exceeds the %d byte limit", len, SSYNC_ENTRY_MAX_BYTES);
	memset(&cn, 0, sizeof(cn));
	cn.name = admit_name;
	cn.ctx = st;
	if ((error = ssync_canon__body(body, len, &cn, err)) < 0 || (error = admit_schema(st, cn.schema, err)) < 0)
		return error;
	if (cn.name_error)
		return ssync_error_set(err, cn.name_error, "%s", cn.name_err.message);
	if (cn.value_error)
		return ssync_error_set(err, cn.value_error, "%s", cn.value_err.message);
	return 0;
}
