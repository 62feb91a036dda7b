/* A changeset of a write of the value a cell already shows (resolve),
 * written in sqlite3session's own format. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "samechg_int.h"

/* SQLite's varint (the changeset format's lengths). */
static size_t put_varint(unsigned char *p, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0, i;

	if (v > 0x00ffffffffffffffULL)
		return 0; /* lengths here are far smaller */
	do {
		tmp[n] = (unsigned char)((v & 0x7f) | (n ? 0x80 : 0));
		n++;
		v >>= 7;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* One changeset value (record format of sqlite3session): type byte, then data. */
static int put_value(unsigned char *buf, size_t cap, size_t *len, sqlite3_value *v)
{
	int type = v ? sqlite3_value_type(v) : 0;
	size_t need = 1 + 10 + (v ? (size_t)sqlite3_value_bytes(v) : 0);

	if (*len + need > cap)
		return -1;
	if (!v) {
		buf[(*len)++] = 0;
	} else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
		uint64_t u;
		int k;
		if (type == SQLITE_INTEGER) {
			u = (uint64_t)sqlite3_value_int64(v);
		} else {
			double d = sqlite3_value_double(v);
			memcpy(&u, &d, sizeof(u));
		}
		buf[(*len)++] = (unsigned char)(type == SQLITE_INTEGER ? 1 : 2);
		for (k = 7; k >= 0; k--)
			buf[(*len)++] = (unsigned char)(u >> (k * 8));
	} else if (type == SQLITE_NULL) {
		buf[(*len)++] = 5;
	} else {
		const void *d = type == SQLITE_BLOB ? sqlite3_value_blob(v) : (const void *)sqlite3_value_text(v);
		size_t n = (size_t)sqlite3_value_bytes(v);
		buf[(*len)++] = (unsigned char)(type == SQLITE_BLOB ? 4 : 3);
		*len += put_varint(buf + *len, n);
		if (n)
			memcpy(buf + *len, d, n);
		*len += n;
	}
	return 0;
}

/*
 * A changeset of one UPDATE of @p col in row @p pk whose old and new value
 * are both the cell's current value: SQLite's session omits an update that
 * changes nothing, but a resolution must still be a version naming every
 * leaf (docs/MERGE.md). record_changeset reads it like any other.
 */
int ssync_capture__same_value_changeset(ssync_store *st, const ssync_table_info *t, int col, const char *pk,
	void **out, int *nout, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, t->select_sql, err);
	unsigned char *buf = NULL;
	size_t cap, len = 0, nlen = strlen(t->name);
	int i, rc, error = 0;

	*out = NULL;
	*nout = 0;
	if (!q)
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? ssync_error_set(err, SSYNC_ENOTFOUND, "no %s %s", t->name, pk) :
			ssync_store__sqlerr(st, err, "read the row to resolve");
	}
	cap = 64 + nlen + (size_t)t->ncols * 2 + 2 * ((size_t)sqlite3_column_bytes(q, t->pk) + 16) +
		2 * ((size_t)sqlite3_column_bytes(q, col) + 16);
	if (!(buf = sqlite3_malloc64(cap))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	buf[len++] = 'T';
	len += put_varint(buf + len, (uint64_t)t->ncols);
	for (i = 0; i < t->ncols; i++)
		buf[len++] = (unsigned char)(i == t->pk ? 1 : 0);
	memcpy(buf + len, t->name, nlen + 1);
	len += nlen + 1;
	buf[len++] = SQLITE_UPDATE;
	buf[len++] = 0; /* not indirect */
	for (i = 0; i < t->ncols && error == 0; i++) /* old: key and the column */
		if (put_value(buf, cap, &len, i == t->pk || i == col ? sqlite3_column_value(q, i) : NULL) < 0)
			error = ssync_error_set(err, SSYNC_ERROR, "changeset buffer too small");
	for (i = 0; i < t->ncols && error == 0; i++) /* new: the column only */
		if (put_value(buf, cap, &len, i == col ? sqlite3_column_value(q, i) : NULL) < 0)
			error = ssync_error_set(err, SSYNC_ERROR, "changeset buffer too small");
	if (error == 0) {
		*out = buf;
		*nout = (int)len;
		buf = NULL;
	}
done:
	sqlite3_reset(q);
	sqlite3_free(buf);
	return error;
}
