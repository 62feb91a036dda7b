#ifndef SSYNC_TEST_HELPERS_CORE_H
#define SSYNC_TEST_HELPERS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "schoolsync/node.h"
#include "schoolsync/sync.h"

/* A fresh directory under $TMPDIR; caller frees with th_rmtree + free. */
char *th_tmpdir(void);
/* Remove a directory tree (test scratch only). */
void th_rmtree(const char *path);
/* Init a node named @p id in a new directory @p parent/<id>; returns the home (malloc'd). */
char *th_node_home(const char *parent, const char *id);
/* Open a node; fails the test on error. */
ssync_node *th_open(const char *home);
/* Copy a directory tree (a closed home: files and directories, modes kept)
 * to @p to, which must not exist; fails the test on error. */
void th_copy_tree(const char *from, const char *to);
/* Run SQL; fails the test on error. */
void th_sql(ssync_node *n, const char *sql);
/* Count rows of a query's single integer result. */
long long th_count(ssync_node *n, const char *sql);

/* One node "sch-a" in a scratch directory: cmocka setup/teardown for it. */
/* Add remote NAME (URL) to the node's exchange repository; fails the test otherwise. */
void th_add_remote(ssync_node *n, const char *name, const char *url);
/* One sync round with remote "hub" that must succeed; its report in *rep (may be NULL). */
void th_sync_ok(ssync_node *n, ssync_sync_report *rep);

typedef struct th_fx {
	char *dir, *home;
	ssync_node *n;
} th_fx;
int th_fx_setup(void **state);
int th_fx_teardown(void **state);

#endif
