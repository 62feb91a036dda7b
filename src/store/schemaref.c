/*
 * The schema our migrations create, as a reference to hold a replica
 * against. Anyone who can write the home can open replica.db with the stock
 * sqlite3 tool and add a trigger (which would then run inside our apply
 * transactions and could rewrite the policy), a view, an index or a table.
 * The reference is built once per process by running the compiled-in schema
 * files in a private in-memory database; it is immutable afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "schema_int.h"
#include "store_int.h"

typedef struct ref_obj {
	char *type, *name, *tbl, *sql;
} ref_obj;

static struct {
	ref_obj *v;
	size_t n;
	int ok;
} ref;

/* Objects of a database, sorted by (type, name); sqlite's own are left out. */
#define LIST_SQL "SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema " \
	"WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"

static char *dup_col(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);

	return strdup(s ? s : "");
}

static int list_objects(sqlite3 *db, ref_obj **out, size_t *n_out)
{
	sqlite3_stmt *q = NULL;
	ref_obj *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*n_out = 0;
	if (sqlite3_prepare_v2(db, LIST_SQL, -1, &q, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			ref_obj *nv = realloc(v, c * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
			cap = c;
		}
		v[n].type = dup_col(q, 0);
		v[n].name = dup_col(q, 1);
		v[n].tbl = dup_col(q, 2);
		v[n].sql = dup_col(q, 3);
		n++;
		if (!v[n - 1].type || !v[n - 1].name || !v[n - 1].tbl || !v[n - 1].sql)
			break;
	}
	sqlite3_finalize(q);
	*out = v;
	*n_out = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

static void free_objects(ref_obj *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].type);
		free(v[i].name);
		free(v[i].tbl);
		free(v[i].sql);
	}
	free(v);
}

static void build_reference(void)
{
	const ssync_schema_file *f;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		goto done;
	if (sqlite3_exec(db, SSYNC_SCHEMA_TABLE_SQL, NULL, NULL, NULL) != SQLITE_OK)
		goto done;
	for (f = ssync__schema_files; f->name; f++)
		if (sqlite3_exec(db, f->sql, NULL, NULL, NULL) != SQLITE_OK)
			goto done;
	if (list_objects(db, &ref.v, &ref.n) == 0)
		ref.ok = 1;
done:
	sqlite3_close(db);
}

static int reference(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, build_reference);
	return ref.ok;
}

int ssync_schema__trigger_allowed(const char *name)
{
	size_t i;

	if (!reference())
		return 0;
	for (i = 0; i < ref.n; i++)
		if ((!strcmp(ref.v[i].type, "trigger") || !strcmp(ref.v[i].type, "view")) &&
		    !strcmp(ref.v[i].name, name))
			return 1;
	return 0;
}

static void note(char *msg, size_t len, int *count, const char *what, const ref_obj *o)
{
	size_t used = strlen(msg);

	if (++*count > 5 || used + 8 >= len) {
		if (*count == 6 && used + 8 < len)
			snprintf(msg + used, len - used, "; ...");
		return;
	}
	snprintf(msg + used, len - used, "%s%s %s %s%s%s", used ? "; " : "", what, o->type, o->name,
		strcmp(o->name, o->tbl) ? " on " : "", strcmp(o->name, o->tbl) ? o->tbl : "");
}

static int obj_cmp(const ref_obj *a, const ref_obj *b)
{
	int c = strcmp(a->type, b->type);

	return c ? c : strcmp(a->name, b->name);
}

int ssync_schema__diff(sqlite3 *db, char *msg, size_t len)
{
	ref_obj *have = NULL;
	size_t n = 0, i = 0, j = 0;
	int count = 0;

	msg[0] = '\0';
	if (!reference()) {
		snprintf(msg, len, "could not build the reference schema (out of memory?)");
		return -1;
	}
	if (list_objects(db, &have, &n) < 0) {
		free_objects(have, n);
		snprintf(msg, len, "could not read the replica's schema: %s", sqlite3_errmsg(db));
		return -1;
	}
	while (i < n || j < ref.n) {
		int c = i >= n ? 1 : j >= ref.n ? -1 : obj_cmp(&have[i], &ref.v[j]);
		if (c < 0) {
			note(msg, len, &count, "extra", &have[i++]);
		} else if (c > 0) {
			note(msg, len, &count, "missing", &ref.v[j++]);
		} else {
			if (strcmp(have[i].sql, ref.v[j].sql) || strcmp(have[i].tbl, ref.v[j].tbl))
				note(msg, len, &count, "changed", &have[i]);
			i++;
			j++;
		}
	}
	free_objects(have, n);
	return count;
}
