#ifndef SSYNC_TEST_HELPERS_EXCHANGE_H
#define SSYNC_TEST_HELPERS_EXCHANGE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "schoolsync/exchange.h"

/* Shared by test_exchange_*.c: git exchange repositories in a scratch directory. */
#define NODE_A "refs/heads/node/sch-a"
#define NODE_C "refs/heads/node/sch-c"
#define DISTRICT "refs/heads/district"

typedef struct tx_fixture {
	char *dir;
} tx_fixture;

/* cmocka setup/teardown: a fresh directory under $TMPDIR, removed after. */
int tx_setup(void **state);
int tx_teardown(void **state);

/* @p name inside the fixture's directory (one of 4 rotating static buffers). */
char *tx_path(const tx_fixture *f, const char *name);
/* Open (creating) the exchange repository @p name; fails the test on error. */
ssync_exchange *tx_open(const tx_fixture *f, const char *name);
/* Commit string files given as path, content, path, content, ..., NULL. */
int tx_commit_strs(ssync_exchange *ex, const char *ref, ssync_oid_hex *tip, ssync_error *err, ...);
void tx_expect_tip(ssync_exchange *ex, const char *ref, const char *hex);
void tx_expect_no_ref(ssync_exchange *ex, const char *ref);

/* Collects what added_files streams. */
typedef struct tx_seen_files {
	char paths[1024][64];
	char first_data[64];
	size_t n;
	size_t stop_after;   /* 0 = never */
} tx_seen_files;
int tx_collect_cb(const char *path, const void *data, size_t len, void *payload);

#endif
