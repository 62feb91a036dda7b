/* Helpers for the exchange tests (helpers_exchange.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "helpers_exchange.h"

int tx_setup(void **state)
{
	tx_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	*state = f;
	return 0;
}

int tx_teardown(void **state)
{
	tx_fixture *f = *state;

	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

char *tx_path(const tx_fixture *f, const char *name)
{
	static char buf[4][4200];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, name);
	return buf[i];
}

ssync_exchange *tx_open(const tx_fixture *f, const char *name)
{
	ssync_exchange *ex = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_open(&ex, tx_path(f, name), 1, &err), 0);
	assert_non_null(ex);
	return ex;
}

int tx_commit_strs(ssync_exchange *ex, const char *ref, ssync_oid_hex *tip, ssync_error *err, ...)
{
	const char *paths[64];
	const void *datas[64];
	size_t lens[64], n = 0;
	const char *p;
	va_list ap;

	va_start(ap, err);
	while ((p = va_arg(ap, const char *)) != NULL) {
		paths[n] = p;
		datas[n] = va_arg(ap, const char *);
		lens[n] = strlen(datas[n]);
		n++;
	}
	va_end(ap);
	return ssync_exchange_commit_files(ex, ref, n, paths, datas, lens, "test", tip, err);
}

void tx_expect_tip(ssync_exchange *ex, const char *ref, const char *hex)
{
	ssync_oid_hex tip;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_tip(ex, ref, &tip, &err), 0);
	assert_string_equal(tip.hex, hex);
}

void tx_expect_no_ref(ssync_exchange *ex, const char *ref)
{
	ssync_oid_hex tip;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_exchange_ref_tip(ex, ref, &tip, &err), SSYNC_ENOTFOUND);
}

int tx_collect_cb(const char *path, const void *data, size_t len, void *payload)
{
	tx_seen_files *s = payload;

	if (s->n < 1024)
		snprintf(s->paths[s->n], sizeof(s->paths[s->n]), "%s", path);
	if (s->n == 0)
		snprintf(s->first_data, sizeof(s->first_data), "%.*s", (int)len, (const char *)data);
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return 42;
	return 0;
}
