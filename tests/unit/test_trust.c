/* District trust: init, enroll, join, certificates replacing TOFU, wrong
 * root key, revocation learned before or after the entries it cuts off
 * (same state), rebuild is idempotent, and only applied entries move a
 * receiver's clock (tests/unit, cmocka). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers_core.h"
#include "ingest_int.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "schoolsync/exchange.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"
#include "sync_int.h"
#include "trustdb_int.h"

typedef struct fx {
	char *dir, hub[4096], root[4096], rk[65];
	char *hh, *ha, *hb, *he;
	ssync_node *h, *a, *b, *e;
} fx;

static void enroll(fx *f, ssync_node *n, const char *school)
{
	ssync_cert_info c;
	ssync_error err;

	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "%s", ssync_node_id(n));
	snprintf(c.role, sizeof(c.role), "school");
	snprintf(c.school_id, sizeof(c.school_id), "%s", school);
	snprintf(c.pubkey, sizeof(c.pubkey), "%s", ssync_node_pubkey_hex(n));
	ssync_error_clear(&err);
	if (ssync_trust_district_enroll(f->h, &c, f->root, &err) != 0)
		fail_msg("enroll: %s", err.message);
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_join(n, f->rk, &err), 0);
	th_add_remote(n, "hub", f->hub);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	ssync_exchange *hub = NULL;
	ssync_error err;

	f->dir = th_tmpdir();
	snprintf(f->hub, sizeof(f->hub), "%s/hub.git", f->dir);
	snprintf(f->root, sizeof(f->root), "%s/root.key", f->dir);
	assert_int_equal(ssync_exchange_open(&hub, f->hub, 1, NULL), 0);
	ssync_exchange_free(hub);
	f->hh = th_node_home(f->dir, "hub");
	f->ha = th_node_home(f->dir, "sch-a");
	f->hb = th_node_home(f->dir, "sch-b");
	f->he = th_node_home(f->dir, "sch-e");
	f->h = th_open(f->hh);
	f->a = th_open(f->ha);
	f->b = th_open(f->hb);
	f->e = th_open(f->he);
	ssync_error_clear(&err);
	if (ssync_trust_district_init(f->h, "testdistrict", "Test", f->root, f->rk, &err) != 0)
		fail_msg("district init: %s", err.message);
	th_add_remote(f->h, "hub", f->hub);
	enroll(f, f->a, "sch-a");
	enroll(f, f->b, "sch-b");
	enroll(f, f->e, "sch-e");
	th_sync_ok(f->h, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_node_free(f->h);
	ssync_node_free(f->a);
	ssync_node_free(f->b);
	ssync_node_free(f->e);
	th_rmtree(f->dir);
	free(f->dir);
	free(f->hh);
	free(f->ha);
	free(f->hb);
	free(f->he);
	free(f);
	return 0;
}

static void test_trust__certificates_replace_tofu(void **state)
{
	fx *f = *state;

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','x')");
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM teacher"), 1);
	assert_int_equal(ssync_trust_managed(ssync_node_store(f->b)), 1);
	{
		/* "hub-..." keys are the hub's rows: no school may be called hub */
		ssync_cert_info c;
		ssync_error err;
		memset(&c, 0, sizeof(c));
		snprintf(c.node, sizeof(c.node), "sch-h");
		snprintf(c.role, sizeof(c.role), "school");
		snprintf(c.school_id, sizeof(c.school_id), "hub");
		snprintf(c.pubkey, sizeof(c.pubkey), "%s", ssync_node_pubkey_hex(f->b));
		ssync_error_clear(&err);
		assert_int_equal(ssync_trust_district_enroll(f->h, &c, f->root, &err), SSYNC_EINVAL);
		assert_non_null(strstr(err.message, "reserved"));
	}
}

static void test_trust__wrong_root_key_refused(void **state)
{
	fx *f = *state;
	ssync_cert_info c;
	ssync_error err;
	char other[4200], hex[65];
	ssync_node *z;
	char *hz = th_node_home(f->dir, "zz");

	z = th_open(hz);
	snprintf(other, sizeof(other), "%s/other.key", f->dir);
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_init(z, "testdistrict", "Fake", other, hex, &err), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "sch-q");
	snprintf(c.role, sizeof(c.role), "school");
	snprintf(c.school_id, sizeof(c.school_id), "sch-q");
	snprintf(c.pubkey, sizeof(c.pubkey), "%s", ssync_node_pubkey_hex(f->a));
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_enroll(f->h, &c, other, &err), SSYNC_ECERT);
	assert_non_null(strstr(err.message, "is not the district root"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_join(f->a, hex, &err), SSYNC_ECONFLICT);
	ssync_node_free(z);
	free(hz);
}

static void test_trust__revocation_order_independent(void **state)
{
	fx *f = *state;
	ssync_error err;
	char hh[65], hb[65], he[65];

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','ok')");
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-2','sch-a','cut')");
	th_sql(f->a, "UPDATE teacher SET name='defaced' WHERE id='sch-a-1'");
	th_sync_ok(f->a, NULL);
	th_sync_ok(f->e, NULL); /* e applies a#2..3 first */
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM teacher"), 2);
	th_sync_ok(f->h, NULL);
	ssync_error_clear(&err);
	if (ssync_trust_district_revoke(f->h, "sch-a", 1, f->root, &err) != 0)
		fail_msg("revoke: %s", err.message);
	th_sync_ok(f->h, NULL);
	th_sync_ok(f->b, NULL); /* b learns the revocation first */
	th_sync_ok(f->e, NULL); /* e learns it last: rebuild */
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM teacher"), 1);
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM teacher WHERE name='ok'"), 1);
	assert_int_equal(ssync_node_state_hash(f->h, hh, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->b, hb, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->e, he, NULL), 0);
	assert_string_equal(hh, hb);
	assert_string_equal(hb, he);
}

static void test_trust__rebuild_idempotent(void **state)
{
	fx *f = *state;
	ssync_trust_rebuild_report rep;
	char h1[65], h2[65];

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','x'),('sch-a-2','sch-a','y')");
	th_sql(f->a, "UPDATE teacher SET name='z' WHERE id='sch-a-1'");
	assert_int_equal(ssync_node_state_hash(f->a, h1, NULL), 0);
	assert_int_equal(ssync_trust_rebuild(ssync_node_store(f->a), &rep, NULL), 0);
	assert_int_equal(rep.applied, 2);
	assert_int_equal(ssync_node_state_hash(f->a, h2, NULL), 0);
	assert_string_equal(h1, h2);
}

/* The receiver's clock: what it remembers observing (meta "hlc", 0 if none). */
static uint64_t clock_of(ssync_node *n)
{
	char *v = NULL;
	uint64_t h = 0;

	if (ssync_store_meta_get(ssync_node_store(n), "hlc", &v, NULL) == 0 && v)
		h = strtoull(v, NULL, 10);
	free(v);
	return h;
}

/* The hlc of @p n's newest own entry. */
static uint64_t own_head_hlc(ssync_node *n)
{
	sqlite3_stmt *q;
	uint64_t h = 0;

	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)),
		"SELECT hlc FROM ssync_entry WHERE node=? ORDER BY seq DESC LIMIT 1", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		h = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return h;
}

#define YEAR_2900_MS "29379456000000" /* 2900-12-31T00:00:00Z */
#define DAY_MS (UINT64_C(86400000))

/* A node whose clock says 2900 writes (an old writer without the
 * witnessed-time check); the district revokes it after its sane entry. A
 * receiver that learns the revocation first refuses the entry; one that
 * learns the entry first holds it (W_FUTURE_HLC: beyond the time the hub
 * witnessed) and then refuses it. No clock moves; all agree. (Applied
 * first, revoked later: where no checkpoint exists, t_trust_revoke_audit.) */
static void test_trust__refused_entry_moves_no_clock(void **state)
{
	fx *f = *state;
	ssync_error err;
	char hh[65], hb[65], he[65];
	uint64_t now = ssync_hlc_wall_ms(), b0;

	sqlite3 *adb = ssync_store__db(ssync_node_store(f->a));

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','ok')");
	/* An old writer, without the witnessed-time check: a signs at 2900. */
	assert_int_equal(sqlite3_exec(adb, "CREATE TEMP TABLE w AS SELECT * FROM ssync_witness; DELETE FROM ssync_witness",
		NULL, NULL, NULL), SQLITE_OK);
	setenv("SCHOOLSYNC_FAKE_TIME_MS", YEAR_2900_MS, 1);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-2','sch-a','from 2900')");
	unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
	assert_int_equal(sqlite3_exec(adb, "INSERT INTO ssync_witness SELECT * FROM temp.w; DROP TABLE temp.w",
		NULL, NULL, NULL), SQLITE_OK);
	assert_true(ssync_hlc_ms(own_head_hlc(f->a)) >= UINT64_C(29379456000000));
	th_sync_ok(f->a, NULL);
	/* e holds the 2900 entry (beyond the hub's witnessed time, TRUST.md
	 * §4a): not applied, and its clock does not follow */
	th_sync_ok(f->e, NULL);
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND seq=2 AND code='W_FUTURE_HLC'"), 1);
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM teacher WHERE id='sch-a-2'"), 0);
	assert_true(ssync_hlc_ms(clock_of(f->e)) < now + DAY_MS);
	th_sync_ok(f->h, NULL);
	ssync_error_clear(&err);
	if (ssync_trust_district_revoke(f->h, "sch-a", 1, f->root, &err) != 0)
		fail_msg("revoke: %s", err.message);
	th_sync_ok(f->h, NULL);
	b0 = clock_of(f->b);
	th_sync_ok(f->b, NULL); /* b learns the revocation with the entries: a#2 refused */
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM teacher"), 1);
	assert_true(clock_of(f->b) >= b0);
	assert_true(ssync_hlc_ms(clock_of(f->b)) < now + DAY_MS);
	th_sql(f->b, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','b')");
	assert_true(ssync_hlc_ms(own_head_hlc(f->b)) < now + DAY_MS);
	th_sync_ok(f->e, NULL); /* e learns it: a#2 refused now, its clock still sane */
	assert_true(ssync_hlc_ms(clock_of(f->e)) < now + DAY_MS);
	th_sql(f->e, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-1','sch-e','e')");
	assert_true(ssync_hlc_ms(own_head_hlc(f->e)) < now + DAY_MS);
	th_sync_ok(f->b, NULL);
	th_sync_ok(f->e, NULL);
	th_sync_ok(f->h, NULL);
	th_sync_ok(f->b, NULL);
	assert_int_equal(ssync_node_state_hash(f->h, hh, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->b, hb, NULL), 0);
	assert_int_equal(ssync_node_state_hash(f->e, he, NULL), 0);
	assert_string_equal(hh, hb);
	assert_string_equal(hb, he);
}

/* An enrolled node's correctly signed entry with hlc = INT64_MAX (or just
 * past the range) is refused at parse: quarantined E_CLOCK, not in the log,
 * and the receiver's clock does not move. */
static void test_trust__int64_max_hlc_refused(void **state)
{
	fx *f = *state;
	const uint64_t bad[] = { (uint64_t)INT64_MAX, SSYNC_HLC_MAX + 1 };
	char keypath[4200], body[512], when[40], sig[2 * SSYNC_SIG_BYTES + 1], line[1024];
	unsigned char raw[SSYNC_SIG_BYTES];
	ssync_keypair *kp = NULL;
	ssync_ingest *in = NULL;
	ssync_ingest_stats stats;
	ssync_error err;
	uint64_t c0;
	size_t i;

	snprintf(keypath, sizeof(keypath), "%s/node.key", ssync_node_home(f->a));
	assert_int_equal(ssync_keys_load(&kp, keypath, NULL), 0);
	th_sync_ok(f->b, NULL);
	c0 = clock_of(f->b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssync_hlc_format(bad[i], when, sizeof(when));
		snprintf(body, sizeof(body), "{\"entry\":1,\"district\":\"testdistrict\",\"node\":\"sch-a\",\"seq\":1,"
			"\"prev\":null,\"hlc\":%llu,\"time\":\"%s\",\"actor\":\"x\",\"schema\":1,\"ops\":[{\"t\":\"teacher\","
			"\"k\":\"sch-a-9\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}]}", (unsigned long long)bad[i], when);
		ssync_keys_sign(kp, body, strlen(body), raw);
		ssync_hex_encode(sig, raw, SSYNC_SIG_BYTES);
		snprintf(line, sizeof(line), "%s\t%s\n", body, sig);
		ssync_error_clear(&err);
		assert_int_equal(ssync_ingest__begin(&in, ssync_node_store(f->b), "testdistrict", "sch-a", "test", &err), 0);
		assert_int_equal(ssync_ingest__line(in, line, strlen(line), &err), 1);
		assert_non_null(strstr(ssync_ingest__stop_reason(in), "E_CLOCK"));
		memset(&stats, 0, sizeof(stats));
		assert_int_equal(ssync_ingest__end(in, 0, &stats, &err), 0);
		assert_int_equal(stats.quarantined, 1);
		assert_int_equal(stats.applied, 0);
		assert_int_equal(clock_of(f->b), c0);
		assert_int_equal(th_count(f->b, "SELECT count(*) FROM teacher WHERE id='sch-a-9'"), 0);
		assert_int_equal(own_head_hlc(f->b), 0);
	}
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND code='E_CLOCK'"), 2);
	th_sql(f->b, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','b')");
	assert_true(ssync_hlc_ms(own_head_hlc(f->b)) < ssync_hlc_wall_ms() + DAY_MS);
	ssync_keys_free(kp);
}

/* Review of issue 14 (r14): the writer's checks judge the HLC it signs, not
 * only the PC's clock. A node whose own log already reached a time far past
 * the witnessed time (it wrote while its clock was years ahead, before it
 * held any checkpoint) must not go on signing entries every receiver holds
 * for good (W_FUTURE_HLC, TRUST.md §4a): its clock is right again, but each
 * entry's HLC must exceed its previous one. */
static void test_trust__writer_checks_the_hlc_it_signs(void **state)
{
	fx *f = *state;
	sqlite3 *adb = ssync_store__db(ssync_node_store(f->a));
	ssync_error err;
	uint64_t now = ssync_hlc_wall_ms();
	char when[32];

	th_sync_ok(f->a, NULL);
	assert_true(th_count(f->a, "SELECT count(*) FROM ssync_witness") > 0);
	/* written while no checkpoint was held, with the clock two years ahead */
	assert_int_equal(sqlite3_exec(adb, "CREATE TEMP TABLE w AS SELECT * FROM ssync_witness; DELETE FROM ssync_witness",
		NULL, NULL, NULL), SQLITE_OK);
	snprintf(when, sizeof(when), "%llu", (unsigned long long)(now + 730 * DAY_MS));
	setenv("SCHOOLSYNC_FAKE_TIME_MS", when, 1);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','ahead')");
	unsetenv("SCHOOLSYNC_FAKE_TIME_MS");
	assert_int_equal(sqlite3_exec(adb, "INSERT INTO ssync_witness SELECT * FROM temp.w; DROP TABLE temp.w",
		NULL, NULL, NULL), SQLITE_OK);
	/* the clock is right again: the next entry would still be dated 2 years ahead */
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-2','sch-a','x')",
		"tester", NULL, NULL, NULL, &err), SSYNC_ECLOCK);
	assert_non_null(strstr(err.message, "E_CLOCK"));
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM ssync_entry WHERE node='sch-a'"), 1);
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM teacher WHERE id='sch-a-2'"), 0);
}

/* The writer's certificate check is the receivers' (TRUST.md §4): a
 * certificate whose key is this node's must cover the HLC it signs, from
 * valid_from to valid_until. A certificate that starts next month (issued
 * ahead for the next school year) covers nothing written today: every
 * receiver refuses such an entry E_CERT_EXPIRED, so the writer must not
 * sign it. */
static void test_trust__writer_checks_certificate_window_on_its_hlc(void **state)
{
	fx *f = *state;
	ssync_cert_info c;
	ssync_error err;
	ssync_node *z;
	char *hz = th_node_home(f->dir, "sch-z");

	z = th_open(hz);
	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "sch-z");
	snprintf(c.role, sizeof(c.role), "school");
	snprintf(c.school_id, sizeof(c.school_id), "sch-z");
	snprintf(c.pubkey, sizeof(c.pubkey), "%s", ssync_node_pubkey_hex(z));
	c.valid_from = (int64_t)(ssync_hlc_wall_ms() + 30 * DAY_MS);
	ssync_error_clear(&err);
	if (ssync_trust_district_enroll(f->h, &c, f->root, &err) != 0)
		fail_msg("enroll: %s", err.message);
	ssync_error_clear(&err);
	assert_int_equal(ssync_trust_district_join(z, f->rk, &err), 0);
	th_add_remote(z, "hub", f->hub);
	th_sync_ok(f->h, NULL);
	th_sync_ok(z, NULL);
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(z, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-z-1','sch-z','early')",
		"tester", NULL, NULL, NULL, &err), SSYNC_ECERT);
	assert_non_null(strstr(err.message, "E_CERT_EXPIRED"));
	assert_int_equal(th_count(z, "SELECT count(*) FROM ssync_entry WHERE node='sch-z'"), 0);
	ssync_node_free(z);
	free(hz);
}

/* Review r14: a node restored from an old image that signed MORE entries
 * than it lost (log head 5, the district's checkpoint listed its seq 3 with
 * another entry) passed the checkpoint's rollback check, which compared
 * seqs only: a stick carrying the district branch without the node's own
 * branch let it seal and publish seq 1.. again (equivocation). A listing of
 * one of our own seqs whose hash is not our entry there is a rollback too. */
static void test_trust__checkpoint_names_other_own_entry(void **state)
{
	fx *f = *state;
	ssync_store *st = ssync_node_store(f->a);
	ssync_error err;
	char sql[400];
	int i;

	th_sync_ok(f->a, NULL);
	for (i = 1; i <= 5; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-%d','sch-a','x')", i);
		th_sql(f->a, sql);
	}
	/* the hub's checkpoint listed our seq 3 with the hash of our own entry: fine */
	assert_int_equal(sqlite3_exec(ssync_store__db(st), "INSERT INTO ssync_witness_head SELECT node, seq, "
		"(SELECT max(pos) FROM ssync_witness), hash, (SELECT max(time) FROM ssync_witness) FROM ssync_entry "
		"WHERE node='sch-a' AND seq=3", NULL, NULL, NULL), SQLITE_OK);
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync__rollback_checkpoint(f->a, &err), 0);
	assert_int_equal(ssync_sync__rollback_active(st, NULL), 0);
	/* ... with another entry's hash: our log is not the one the hub saw */
	assert_int_equal(sqlite3_exec(ssync_store__db(st), "UPDATE ssync_witness_head SET hash=randomblob(32) "
		"WHERE node='sch-a'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(ssync_sync__rollback_checkpoint(f->a, &err), 0);
	assert_int_equal(ssync_sync__rollback_active(st, NULL), 1);
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-9','sch-a','x')",
		"tester", NULL, NULL, NULL, &err), SSYNC_EROLLBACK);
}

/* Review r14: a node that has learnt its own revocation went on signing
 * entries past the cut -- the clerk saw success, every receiver refused
 * them (E_REVOKED). The writer runs the receivers' revocation rule. */
static void test_trust__revoked_writer_signs_nothing(void **state)
{
	fx *f = *state;
	ssync_error err;

	th_sync_ok(f->e, NULL);
	th_sql(f->e, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-1','sch-e','kept')");
	ssync_error_clear(&err);
	if (ssync_trust_district_revoke(f->h, "sch-e", 2, f->root, &err) != 0)
		fail_msg("revoke: %s", err.message);
	th_sync_ok(f->h, NULL);
	th_sync_ok(f->e, NULL);
	/* a write of two entries (seq 2 and 3) would pass the cut: nothing of it */
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(f->e, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2100) "
		"INSERT INTO teacher(id,school_id,name) SELECT 'sch-e-x' || i, 'sch-e', 'bulk' FROM c",
		"tester", NULL, NULL, NULL, &err), SSYNC_ECERT);
	assert_non_null(strstr(err.message, "E_REVOKED"));
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM ssync_entry WHERE node='sch-e'"), 1);
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM teacher WHERE name='bulk'"), 0);
	/* seq 2 is still honoured; seq 3 is not */
	th_sql(f->e, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-2','sch-e','last')");
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_sql(f->e, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-3','sch-e','cut')",
		"tester", NULL, NULL, NULL, &err), SSYNC_ECERT);
	assert_non_null(strstr(err.message, "E_REVOKED"));
	assert_int_equal(th_count(f->e, "SELECT count(*) FROM ssync_entry WHERE node='sch-e'"), 2);
}

/* A replica judged under older policy rules (version 1 held entries as
 * W_HELD) is judged again when the node opens. */
static void test_trust__old_policy_rejudged_on_open(void **state)
{
	fx *f = *state;
	char h1[65], h2[65], *v = NULL;

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','x')");
	assert_int_equal(ssync_node_state_hash(f->a, h1, NULL), 0);
	assert_int_equal(ssync_trust__quarantine(ssync_node_store(f->a), "sch-a", 1, "W_HELD", "held by version 1",
		NULL, 0, "sync", NULL), 0);
	assert_int_equal(ssync_store_meta_set(ssync_node_store(f->a), "policy_version", "1", NULL), 0);
	ssync_node_free(f->a);
	f->a = th_open(f->ha);
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM ssync_quarantine WHERE code='W_HELD'"), 0);
	assert_int_equal(ssync_store_meta_get(ssync_node_store(f->a), "policy_version", &v, NULL), 0);
	assert_string_equal(v, "2");
	free(v);
	assert_int_equal(ssync_node_state_hash(f->a, h2, NULL), 0);
	assert_string_equal(h1, h2);
}

/* Merge state that no entry stands behind any more (a re-enrolment deleted
 * every entry the log held as void, TRUST.md §5a) still asks for a rebuild,
 * which clears it. Found by test_converge's re-enrolment schedules: the
 * void entry's value stayed on one replica only. */
static void test_trust__void_entries_leave_no_rows(void **state)
{
	fx *f = *state;
	ssync_store *st;
	ssync_trust_rebuild_report rep;

	th_sync_ok(f->a, NULL);
	th_sql(f->a, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','x')");
	st = ssync_node_store(f->a);
	assert_int_equal(ssync_trust__need_rebuild(st), 1);
	assert_int_equal(sqlite3_exec(ssync_store__db(st), "DELETE FROM ssync_entry", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(ssync_trust__need_rebuild(st), 1);
	assert_int_equal(ssync_trust_rebuild(st, &rep, NULL), 0);
	assert_int_equal(th_count(f->a, "SELECT count(*) FROM teacher"), 0);
	assert_int_equal(ssync_trust__need_rebuild(st), 0);
}

/* A replica upgraded from before HLCs were bounded may hold an INT64_MAX
 * entry it applied, and a clock that followed it. A rebuild refuses the
 * entry (E_CLOCK, state 3) instead of failing, recomputes the clock, and the
 * next write is sane again. */
static void test_trust__rebuild_refuses_stored_out_of_range(void **state)
{
	fx *f = *state;
	sqlite3 *db = ssync_store__db(ssync_node_store(f->b));
	ssync_trust_rebuild_report rep;
	sqlite3_stmt *q;
	char when[40], body[512], big[32];

	th_sync_ok(f->b, NULL);
	ssync_hlc_format((uint64_t)INT64_MAX, when, sizeof(when));
	snprintf(body, sizeof(body), "{\"entry\":1,\"district\":\"testdistrict\",\"node\":\"sch-a\",\"seq\":1,"
		"\"prev\":null,\"hlc\":%lld,\"time\":\"%s\",\"actor\":\"x\",\"schema\":1,\"ops\":[{\"t\":\"teacher\","
		"\"k\":\"sch-a-9\",\"c\":[[\"$row\",1,[]],[\"school_id\",\"sch-a\",[]]]}]}", (long long)INT64_MAX, when);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO ssync_entry(node, seq, hash, hlc, body, sig, state) "
		"VALUES ('sch-a', 1, zeroblob(32), ?, ?, zeroblob(64), 1)", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, INT64_MAX);
	sqlite3_bind_text(q, 2, body, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	snprintf(big, sizeof(big), "%lld", (long long)INT64_MAX);
	assert_int_equal(ssync_store_meta_set(ssync_node_store(f->b), "hlc", big, NULL), 0);
	assert_int_equal(ssync_trust_rebuild(ssync_node_store(f->b), &rep, NULL), 0);
	assert_int_equal(rep.refused, 1);
	assert_int_equal(th_count(f->b, "SELECT state FROM ssync_entry WHERE node='sch-a' AND seq=1"), 3);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM ssync_quarantine WHERE node='sch-a' AND code='E_CLOCK'"), 1);
	assert_int_equal(th_count(f->b, "SELECT count(*) FROM teacher WHERE id='sch-a-9'"), 0);
	assert_true(clock_of(f->b) <= SSYNC_HLC_MAX);
	th_sql(f->b, "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','b')");
	assert_true(ssync_hlc_ms(own_head_hlc(f->b)) < ssync_hlc_wall_ms() + DAY_MS);
}

/* district enroll/revoke commit to the exchange outside a round: they take
 * the sync lock too, since a round taking it removes git's *.lock files
 * (issue 13). While a round holds it, revoke waits, then gives up with
 * E_BUSY and the district branch has not moved. */
static void test_trust__admin_takes_the_sync_lock(void **state)
{
	fx *f = *state;
	ssync_exchange *ex = NULL;
	ssync_oid_hex before, after;
	ssync_error err;
	char gitdir[4200];
	int lockfd = -1, saved = ssync_sync__lock_wait_ms;

	snprintf(gitdir, sizeof(gitdir), "%s/exchange.git", f->hh);
	assert_int_equal(ssync_exchange_open(&ex, gitdir, 0, NULL), 0);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/district", &before, NULL), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync__lock(f->h, &lockfd, &err), 0); /* a round runs */
	ssync_sync__lock_wait_ms = 100;
	assert_int_equal(ssync_trust_district_revoke(f->h, "sch-e", 0, f->root, &err), SSYNC_EBUSY);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/district", &after, NULL), 0);
	assert_string_equal(before.hex, after.hex);
	close(lockfd);                                             /* the round ends */
	ssync_error_clear(&err);
	if (ssync_trust_district_revoke(f->h, "sch-e", 0, f->root, &err) != 0)
		fail_msg("revoke: %s", err.message);
	assert_int_equal(ssync_exchange_ref_tip(ex, "refs/heads/district", &after, NULL), 0);
	assert_string_not_equal(before.hex, after.hex);
	ssync_sync__lock_wait_ms = saved;
	ssync_exchange_free(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trust__certificates_replace_tofu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__wrong_root_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__revocation_order_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__rebuild_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__refused_entry_moves_no_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__int64_max_hlc_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__writer_checks_the_hlc_it_signs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__writer_checks_certificate_window_on_its_hlc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__checkpoint_names_other_own_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__revoked_writer_signs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__rebuild_refuses_stored_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__old_policy_rejudged_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__admin_takes_the_sync_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust__void_entries_leave_no_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
