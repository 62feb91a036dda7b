/* Audit: verify a hub repository from the district key alone; the audit's
 * state hash equals the nodes'; another root fails (tests/unit, cmocka). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/audit.h"
#include "schoolsync/exchange.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"

static int count_fatal(int fatal, const char *node, int64_t seq, const char *code, const char *reason, void *p)
{
	(void)node; (void)seq; (void)code; (void)reason;
	if (fatal)
		(*(int *)p)++;
	return 0;
}

static int count_change(const ssync_audit_change *c, void *p)
{
	(void)c;
	(*(int *)p)++;
	return 0;
}

static void test_audit__verify_clean_and_wrong_root(void **state)
{
	char *dir = th_tmpdir(), *hh = th_node_home(dir, "hub"), hub[4200], root[4200], rk[65], hash[65];
	ssync_node *h = th_open(hh);
	ssync_exchange *ex = NULL;
	ssync_audit_report rep;
	ssync_sync_report srep;
	ssync_error err;
	int fatal = 0, changes = 0;
	char path[4200];

	(void)state;
	snprintf(hub, sizeof(hub), "%s/hub.git", dir);
	snprintf(root, sizeof(root), "%s/root.key", dir);
	assert_int_equal(ssync_exchange_open(&ex, hub, 1, NULL), 0);
	ssync_exchange_free(ex);
	snprintf(path, sizeof(path), "%s/exchange.git", hh);
	assert_int_equal(ssync_exchange_open(&ex, path, 0, NULL), 0);
	assert_int_equal(ssync_exchange_remote_add(ex, "hub", hub, NULL), 0);
	ssync_exchange_free(ex);
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_init(h, "testdistrict", "T", root, rk, &err), 0);
	th_sql(h, "INSERT INTO school(id,name) VALUES ('s1','一校')");
	th_sql(h, "UPDATE school SET name='二校' WHERE id='s1'");
	assert_int_equal(ssync_sync_run(h, "hub", NULL, &srep, &err), 0);
	assert_int_equal(ssync_audit_verify(hub, rk, count_fatal, &fatal, &rep, &err), 0);
	assert_int_equal(fatal, 0);
	assert_int_equal(rep.entries, 2);
	assert_int_equal(ssync_node_state_hash(h, hash, NULL), 0);
	assert_string_equal(hash, rep.state_hash);
	/* history: $row + name on insert, name on update */
	assert_int_equal(ssync_audit_history(h, "school", "s1", count_change, &changes, &err), 0);
	assert_true(changes >= 3);
	/* another root */
	memset(rk, '1', 64);
	ssync_error_clear(&err);
	assert_int_equal(ssync_audit_verify(hub, rk, count_fatal, &fatal, &rep, &err), SSYNC_ECORRUPT);
	assert_true(fatal > 0);
	ssync_node_free(h);
	th_rmtree(dir);
	free(dir);
	free(hh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit__verify_clean_and_wrong_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
