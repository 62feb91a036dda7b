#ifndef SSYNC_SAMECHG_INT_H
#define SSYNC_SAMECHG_INT_H

#include "store_int.h"

/*
 * A changeset of one UPDATE of @p col in row @p pk whose old and new value
 * are both the cell's current value: SQLite's session omits an update that
 * changes nothing, but a resolution must still be a version naming every
 * leaf (docs/MERGE.md). record_changeset reads it like any other.
 */
int ssync_capture__same_value_changeset(ssync_store *st, const ssync_table_info *t, int col, const char *pk,
	void **out, int *nout, ssync_error *err);

#endif
