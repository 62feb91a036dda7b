/* Shared by the witness unit tests (test_witness.c, test_witness_reset.c):
 * signed sample checkpoints, loading one, judging an entry by the rows held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "helpers_witness.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "tobj_int.h"
#include "witness_int.h"
#include "wreset_int.h"

ssync_wobj *wt_sample(void)
{
	ssync_wobj *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	snprintf(w->district, sizeof(w->district), "d1");
	snprintf(w->hub, sizeof(w->hub), "hub");
	w->n = 1;
	w->time = T0;
	w->nheads = 2;
	snprintf(w->heads[0].node, sizeof(w->heads[0].node), "hub");
	w->heads[0].seq = 3;
	memset(w->heads[0].hash, 0xab, 32);
	snprintf(w->heads[1].node, sizeof(w->heads[1].node), "sch-a");
	w->heads[1].seq = 12;
	memset(w->heads[1].hash, 0x01, 32);
	return w;
}

char *wt_signed_line(ssync_wobj *w, ssync_keypair *kp, size_t *len)
{
	ssync_error err;
	char *line = NULL;

	ssync_error_clear(&err);
	if (ssync_witness__wobj_sign(w, kp, &line, len, &err) != 0)
		fail_msg("sign: %s", err.message);
	return line;
}

/* Judging by held checkpoint rows: a replica with two checkpoints. */
void wt_exec_ok(ssync_node *n, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(ssync_store__db(ssync_node_store(n)), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

int wt_judge(ssync_node *n, const char *node, int64_t seq, int64_t ms, int64_t until, char *qcode)
{
	ssync_entry e;
	ssync_verdict v;
	ssync_error err;

	memset(&e, 0, sizeof(e));
	memset(&v, 0, sizeof(v));
	snprintf(e.node, sizeof(e.node), "%s", node);
	e.seq = seq;
	e.hlc = (uint64_t)ms << SSYNC_HLC_COUNTER_BITS;
	v.state = 1;
	ssync_error_clear(&err);
	assert_int_equal(ssync_witness__judge(ssync_node_store(n), &e, until, &v, &err), 0);
	snprintf(qcode, 24, "%s", v.state == 1 ? "" : v.qcode);
	return v.state;
}

/* Sign checkpoint @p pos (time @p t) listing one head @p name#@p seq and
 * load it; returns what ssync_witness__load returns (1: refused, in why). */
int wt_load_one(ssync_node *n, ssync_keypair *hub, int64_t pos, int64_t t, const char *name, int64_t seq,
	char *why, size_t whylen)
{
	ssync_wobj *w = calloc(1, sizeof(*w));
	ssync_store *st = ssync_node_store(n);
	sqlite3_stmt *q;
	char path[64], *line;
	size_t len = 0;
	int r;

	assert_non_null(w);
	snprintf(w->district, sizeof(w->district), "d1");
	snprintf(w->hub, sizeof(w->hub), "hub");
	w->n = pos;
	w->time = t;
	if (pos > 1) {
		w->has_prev = 1;
		assert_int_equal(sqlite3_prepare_v2(ssync_store__db(st), "SELECT hash FROM ssync_witness WHERE pos=?", -1, &q, NULL),
			SQLITE_OK);
		sqlite3_bind_int64(q, 1, pos - 1);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		memcpy(w->prev, sqlite3_column_blob(q, 0), 32);
		sqlite3_finalize(q);
	}
	w->nheads = 1;
	snprintf(w->heads[0].node, sizeof(w->heads[0].node), "%s", name);
	w->heads[0].seq = seq;
	memset(w->heads[0].hash, 0x07, 32);
	line = wt_signed_line(w, hub, &len);
	ssync_witness__wobj_path(pos, path, sizeof(path));
	why[0] = 0;
	r = ssync_witness__load(st, "d1", path, line, len, why, whylen, NULL);
	ssync_witness__wobj_clear(w);
	free(w);
	free(line);
	return r;
}

void wt_cert_row(ssync_node *n, const char *node, int serial, const ssync_keypair *kp)
{
	char hex[65], sql[400];

	ssync_hex_encode(hex, ssync_keys_public(kp), SSYNC_PUBKEY_BYTES);
	snprintf(sql, sizeof(sql), "INSERT INTO ssync_cert(node, serial, role, school_id, pubkey, valid_from, valid_until) "
		"VALUES ('%s', %d, 'hub', NULL, x'%s', 0, NULL)", node, serial, hex);
	wt_exec_ok(n, sql);
}

void wt_add_reset(ssync_node *n, const ssync_keypair *kp, int64_t serial, int64_t from, int64_t to, int apply)
{
	char hex[65], sql[700];
	ssync_tobj t;
	ssync_error err;

	ssync_hex_encode(hex, ssync_keys_public(kp), SSYNC_PUBKEY_BYTES);
	snprintf(sql, sizeof(sql), "INSERT INTO ssync_trust_obj(path, kind, node, serial, body, sig) VALUES "
		"('district/witness.%lld.reset', 'wreset', 'hub', %lld, '{\"wreset\":1,\"district\":\"d1\",\"serial\":%lld,"
		"\"from\":%lld,\"to\":%lld,\"hub\":\"hub\",\"pubkey\":\"%s\"}', zeroblob(64))", (long long)serial,
		(long long)serial, (long long)serial, (long long)from, (long long)to, hex);
	wt_exec_ok(n, sql);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_WRESET;
	t.serial = serial;
	t.wfrom = from;
	t.wto = to;
	ssync_error_clear(&err);
	if (apply)
		assert_int_equal(ssync_witness__reset_apply(ssync_node_store(n), &t, &err), 0);
}

char *wt_dump(ssync_node *n)
{
	sqlite3_stmt *q;
	char *out = calloc(1, 4096);
	size_t used = 0;

	assert_non_null(out);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)), "SELECT 'w', pos, time, hex(hash) FROM "
		"ssync_witness UNION ALL SELECT 'h', seq, time, node || pos FROM ssync_witness_head ORDER BY 1, 2", -1, &q, NULL),
		SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW && used < 4000)
		used += (size_t)snprintf(out + used, 4096 - used, "%s %lld %lld %.16s;", sqlite3_column_text(q, 0),
			(long long)sqlite3_column_int64(q, 1), (long long)sqlite3_column_int64(q, 2), sqlite3_column_text(q, 3));
	sqlite3_finalize(q);
	return out;
}
