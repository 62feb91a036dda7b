#ifndef SSYNC_TEST_HELPERS_DOMAIN_H
#define SSYNC_TEST_HELPERS_DOMAIN_H

#include "schoolsync/node.h"

/* A fresh node in its own mkdtemp home (ssync_node_init + open). */
typedef struct hd_env {
	char home[256];
	ssync_node *n;
} hd_env;

int hd_setup(void **state);
int hd_teardown(void **state);
/* Run SQL with text params (NULL-terminated list); asserts success. */
void hd_sql(ssync_node *n, const char *sql, ...);
/* First column of the first row of a read, as a long (-1 if no row). */
long hd_count(ssync_node *n, const char *sql);
/* Two zones, four schools (cm-001..cm-004), resources: a small base. */
void hd_base(ssync_node *n);
/* Insert through the domain API; asserts the code. Values "col=value". */
int hd_insert(ssync_node *n, const char *table, char *id_out, ...);
/* Write @p text to a file in the env's home; returns the path (static buffer). */
const char *hd_file(hd_env *e, const char *name, const char *text);

#endif
