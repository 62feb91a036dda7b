/* Admission: the checks an entry must pass to be applied, shared by the
 * writer (capture.c, before it signs) and receivers (ingest, rebuild), so
 * that a node can never sign what receivers refuse. Inputs are the entry's
 * bytes and the receiver's schema only. */
#include "admit_int.h"
#include "merge_int.h"

int ssync_admit__entry(ssync_store *st, const ssync_entry *e, ssync_error *err)
{
	int error;

	if (e->schema > ssync_store_schema_version(st))
		return ssync_error_set(err, SSYNC_ESCHEMA, "written with schema %d, this node has %d: upgrade schoolsync (E_SCHEMA)",
			e->schema, ssync_store_schema_version(st));
	if ((error = ssync_merge__check_ops(st, e->ops, err)) < 0)
		return error;
	return ssync_entry__admit_values(e, err);
}

int ssync_admit__body(ssync_store *st, const char *body, size_t len, ssync_error *err)
{
	ssync_entry *e = NULL;
	int error;

	if ((error = ssync_entry__parse_body(&e, body, len, err)) == 0)
		error = ssync_admit__entry(st, e, err);
	ssync_entry_free(e);
	return error;
}
