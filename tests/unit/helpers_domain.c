/* Test helpers for the domain, csvio and report tests: a fresh node per
 * test in its own mkdtemp home, and a small district to work on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers_core.h"
#include "helpers_domain.h"
#include "schoolsync/domain.h"
#include "schoolsync/keys.h"

int hd_setup(void **state)
{
	hd_env *e = calloc(1, sizeof(*e));
	ssync_error err;

	if (!e)
		return -1;
	ssync_keys_init();
	{
		char *d = th_tmpdir(); /* its own directory under $TMPDIR */
		snprintf(e->home, sizeof(e->home), "%s", d);
		free(d);
	}
	ssync_error_clear(&err);
	if (ssync_node_init(e->home, "hub", "test", NULL, &err) < 0 || ssync_node_open(&e->n, e->home, 0, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.message);
		return -1;
	}
	*state = e;
	return 0;
}

int hd_teardown(void **state)
{
	hd_env *e = *state;

	ssync_node_free(e->n);
	th_rmtree(e->home);
	free(e);
	return 0;
}

void hd_sql(ssync_node *n, const char *sql, ...)
{
	const char *params[32];
	int np = 0;
	va_list ap;
	ssync_error err;

	va_start(ap, sql);
	while (np < 32 && (params[np] = va_arg(ap, const char *)) != NULL)
		np++;
	va_end(ap);
	ssync_error_clear(&err);
	if (ssync_node_sql_bound(n, sql, np, params, "test", NULL, NULL, NULL, &err) < 0)
		fail_msg("sql %s: %s", sql, err.message);
}

static int count_cb(int nc, const char *const *names, const char *const *vals, const int *types, void *p)
{
	(void)nc; (void)names; (void)types;
	*(long *)p = vals[0] ? atol(vals[0]) : 0;
	return 1;
}

long hd_count(ssync_node *n, const char *sql)
{
	long v = -1;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_node_sql(n, sql, "test", count_cb, &v, NULL, &err) < 0)
		fail_msg("sql %s: %s", sql, err.message);
	return v;
}

int hd_insert(ssync_node *n, const char *table, char *id_out, ...)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	const char *vals[20] = { NULL };
	char store[20][200], *id = NULL, idbuf[200];
	const char *kv;
	va_list ap;
	ssync_error err;
	int i = 0, rc;

	assert_non_null(t);
	va_start(ap, id_out);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(kv, '=');
		char col[64];
		int f;
		assert_non_null(eq);
		snprintf(col, sizeof(col), "%.*s", (int)(eq - kv), kv);
		if (strcmp(col, "id") == 0) {
			snprintf(idbuf, sizeof(idbuf), "%s", eq + 1);
			id = idbuf;
			continue;
		}
		f = ssync_domain_field_index(t, col);
		if (f < 0)
			fail_msg("no column %s in %s", col, table);
		snprintf(store[i], sizeof(store[i]), "%s", eq + 1);
		vals[f] = store[i++];
	}
	va_end(ap);
	ssync_error_clear(&err);
	rc = ssync_domain_insert(n, table, vals, id, "test", id_out, id_out ? 160 : 0, &err);
	if (rc < 0 && getenv("HD_VERBOSE"))
		fprintf(stderr, "insert %s: %s\n", table, err.message);
	return rc;
}

void hd_base(ssync_node *n)
{
	assert_int_equal(hd_insert(n, "zone", NULL, "id=chengqiao", "name=城桥", NULL), 0);
	assert_int_equal(hd_insert(n, "zone", NULL, "id=baogang", "name=堡港", NULL), 0);
	assert_int_equal(hd_insert(n, "school", NULL, "id=cm-001", "name=城桥中学", "zone_id=chengqiao", "town=城桥镇",
		"stage=middle", "students=900", NULL), 0);
	assert_int_equal(hd_insert(n, "school", NULL, "id=cm-002", "name=城桥小学", "zone_id=chengqiao", "town=城桥镇",
		"stage=小学", "students=150", NULL), 0);
	assert_int_equal(hd_insert(n, "school", NULL, "id=cm-003", "name=堡镇中学", "zone_id=baogang", "town=堡镇",
		"stage=middle", "students=600", NULL), 0);
	assert_int_equal(hd_insert(n, "school", NULL, "id=cm-004", "name=堡镇幼儿园", "zone_id=baogang", "town=堡镇",
		"stage=幼儿园", "students=120", NULL), 0);
}

const char *hd_file(hd_env *e, const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->home, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}
