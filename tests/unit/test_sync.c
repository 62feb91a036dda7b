#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "log_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/review.h"
#include "schoolsync/sync.h"
#include "sync_int.h"

typedef struct fx {
	char *dir, *hub, *ha, *hb;
	ssync_node *a, *b;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	ssync_exchange *hub = NULL;

	f->dir = th_tmpdir();
	f->hub = malloc(4096);
	snprintf(f->hub, 4096, "%s/hub.git", f->dir);
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 1, NULL), 0);
	ssync_exchange_free(hub);
	f->ha = th_node_home(f->dir, "sch-a");
	f->hb = th_node_home(f->dir, "sch-b");
	f->a = th_open(f->ha);
	f->b = th_open(f->hb);
	th_add_remote(f->a, "hub", f->hub);
	th_add_remote(f->b, "hub", f->hub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_node_free(f->a);
	ssync_node_free(f->b);
	th_rmtree(f->dir);
	free(f->ha);
	free(f->hb);
	free(f->hub);
	free(f->dir);
	free(f);
	return 0;
}

static void test_sync__two_nodes_converge_through_a_bare_repo(void **state)
{
	fx *f = *state;
	ssync_sync_report rep;
	char h1[65], h2[65];

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sql(f->b, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	th_sync_ok(f->a, &rep);
	assert_int_equal(rep.sealed, 1);
	assert_int_equal(rep.pushed_refs, 1);
	th_sync_ok(f->b, &rep);
	assert_int_equal(rep.applied, 1);
	th_sync_ok(f->a, &rep);
	assert_int_equal(rep.applied, 1);
	assert_int_equal(ssync_node_state_hash(f->a, h1, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->b, h2, NULL), 0);
	assert_string_equal(h1, h2);
	/* nothing new: nothing received, nothing pushed */
	th_sync_ok(f->a, &rep);
	assert_int_equal(rep.received, 0);
	assert_int_equal(rep.pushed_refs, 0);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_node_seen WHERE node='sch-a'"), 1);
}

static void test_sync__seal_survives_a_crash_before_recording(void **state)
{
	fx *f = *state;
	int64_t sealed = 0;
	ssync_error err;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','a')");
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z2','b')");
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync_seal(f->a, &sealed, &err), 0);
	assert_int_equal(sealed, 2);
	/* as if the process died after the commit, before recording it */
	assert_int_equal(ssync_store_meta_set(ssync_node_store(f->a), "exported_seq", "0", NULL), 0);
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z3','c')");
	assert_int_equal(ssync_sync_seal(f->a, &sealed, &err), 0);
	assert_int_equal(sealed, 1); /* only seq 3: seqs 1-2 are not sealed twice */
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone"), 3);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine"), 0);
}

static void test_sync__bad_signature_on_hub_is_quarantined_prefix_applied(void **state)
{
	fx *f = *state;
	ssync_exchange *hub = NULL;
	ssync_entry *e = NULL;
	char *line = NULL, path[64], *p;
	const char *paths[1];
	const void *datas[1];
	size_t lens[1], len = 0;
	ssync_error err;

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','崇西')");
	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z2','崇东')");
	/* an attacker appends seq 2 with a changed value, keeping the signature */
	ssync_error_clear(&err);
	assert_int_equal(ssync_log__get(ssync_node_store(f->a), "sch-a", 2, &e, NULL, &err), 0);
	assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
	assert_non_null(p = strstr(line, "崇东"));
	memcpy(p, "崇中", strlen("崇中"));
	ssync_sync__segment_path(path, sizeof(path), 2);
	paths[0] = path;
	datas[0] = line;
	lens[0] = len;
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 0, &err), 0);
	assert_int_equal(ssync_exchange_commit_files(hub, "refs/heads/node/sch-a", 1, paths, datas, lens, "evil", NULL, &err), 0);
	ssync_exchange_free(hub);
	th_sql(f->b, "INSERT INTO zone(id,name) VALUES ('zb','b')");
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z1'"), 1);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z2'"), 0);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND seq=2 AND code='E_SIG'"), 1);
	/* a is cut off from its own branch there: never silently. Its round
	 * still received b's entry (b still published its own entry). */
	{
		ssync_sync_report rep;
		ssync_sync_repair_report rr;
		ssync_error_clear(&err);
		assert_int_equal(ssync_sync_run(f->a, "hub", NULL, &rep, &err), SSYNC_EREJECTED);
		assert_non_null(strstr(err.message, "E_PUSH_REJECTED"));
		assert_int_equal(th_count(f->a, "SELECT count(*) FROM zone WHERE id='zb'"), 1);
		/* the way back: the forged line is not a's, so the branch is put back */
		ssync_error_clear(&err);
		assert_int_equal(ssync_sync_repair(f->a, "hub", &rr, &err), 0);
		assert_int_equal(rr.repaired, 1);
		assert_int_equal(rr.foreign_lines, 1);
		th_sync_ok(f->a, NULL);
		th_sync_ok(f->b, NULL);
		assert_int_equal(th_count(f->b, "SELECT count(*) FROM zone WHERE id='z2' AND name='崇东'"), 1);
	}
	free(line);
	ssync_entry_free(e);
}

static void test_sync__unreachable_remote_changes_nothing(void **state)
{
	fx *f = *state;
	ssync_sync_report rep;
	ssync_error err;
	char before[65], after[65];

	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','a')");
	th_add_remote(f->a, "gone", "/nonexistent/schoolsync/hub.git");
	assert_int_equal(ssync_node_state_hash(f->a, before, NULL), 0);
	ssync_error_clear(&err);
	assert_int_not_equal(ssync_sync_run(f->a, "gone", NULL, &rep, &err), 0);
	assert_true(err.message[0] != 0);
	assert_int_equal(ssync_node_state_hash(f->a, after, NULL), 0);
	assert_string_equal(before, after);
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z2','b')");
}

typedef struct outcomes { int n, ok, failed; char names[8][64]; int codes[8]; } outcomes;

static void on_remote(const ssync_sync_report *rep, int error, const ssync_error *err, void *payload)
{
	outcomes *o = payload;

	assert_true(o->n < 8);
	snprintf(o->names[o->n], sizeof(o->names[0]), "%s", rep->remote);
	o->codes[o->n++] = error;
	if (error < 0) {
		assert_non_null(err);
		assert_true(err->message[0] != 0);
		o->failed++;
	} else {
		o->ok++;
	}
}

/* The remotes of one round side by side (sync/parallel.c): a missing
 * remote fails alone, each remote is reported once, and what one remote
 * brought reaches the other in the same round whichever fetch ended first
 * (the relay push). */
static void test_sync__remotes_side_by_side_relay(void **state)
{
	fx *f = *state;
	const char *names[] = { "gone", "stick", "hub", "stick" };
	ssync_exchange *stick = NULL;
	ssync_oid_hex tip, ours;
	ssync_error err;
	outcomes o;
	char path[4200], ref[128];
	int i;

	th_sql(f->b, "INSERT INTO zone(id,name) VALUES ('z2','b')");
	th_sync_ok(f->b, NULL);
	snprintf(path, sizeof(path), "%s/stick.git", f->dir);
	assert_int_equal(ssync_exchange_open(&stick, path, 1, NULL), 0);
	ssync_exchange_free(stick);
	th_add_remote(f->a, "stick", path);
	th_add_remote(f->a, "gone", "/nonexistent/schoolsync/hub.git");
	th_sql(f->a, "INSERT INTO zone(id,name) VALUES ('z1','a')");
	memset(&o, 0, sizeof(o));
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync_run_remotes(f->a, 4, names, NULL, on_remote, &o, &err), 0);
	assert_int_equal(o.n, 3); /* "stick" named twice: synced once */
	assert_int_equal(o.ok, 2);
	assert_int_equal(o.failed, 1);
	for (i = 0; i < o.n; i++)
		if (!strcmp(o.names[i], "gone"))
			assert_int_equal(o.codes[i], SSYNC_ENET);
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM zone WHERE id='z2'"), 1);
	/* the stick holds both schools' branches, as the hub does */
	assert_int_equal(ssync_exchange_open(&stick, path, 0, NULL), 0);
	for (i = 0; i < 2; i++) {
		ssync_exchange *own = NULL;
		char own_path[4200];
		snprintf(ref, sizeof(ref), "refs/heads/node/%s", i ? "sch-b" : "sch-a");
		snprintf(own_path, sizeof(own_path), "%s/exchange.git", f->ha);
		assert_int_equal(ssync_exchange_ref_tip(stick, ref, &tip, NULL), 0);
		assert_int_equal(ssync_exchange_open(&own, own_path, 0, NULL), 0);
		assert_int_equal(ssync_exchange_ref_tip(own, ref, &ours, NULL), 0);
		assert_string_equal(tip.hex, ours.hex);
		ssync_exchange_free(own);
	}
	ssync_exchange_free(stick);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync__two_nodes_converge_through_a_bare_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__seal_survives_a_crash_before_recording, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__bad_signature_on_hub_is_quarantined_prefix_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__unreachable_remote_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__remotes_side_by_side_relay, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
