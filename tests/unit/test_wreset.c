/* Witness resets through the receivers' loader (docs/TRUST.md §4b,
 * ssync_trust__load_files, which the guard runs per commit too): a reset the
 * root did not sign, one at a path its serial does not give, or with
 * positions at the edges (0, negative, past 999999999999, INT64_MAX, to <
 * from - 1, to below the latest checkpoint held, overlapping a held reset),
 * a bad hub id or key is refused and changes nothing: the trust objects,
 * checkpoints and listings held are byte for byte the same afterwards. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"
#include "trust_int.h"
#include "tobj_int.h"
#include "witness_int.h"
#include "wobj_int.h"

#define T0 INT64_C(1764085566000) /* 2025-11-25 */

typedef struct fx {
	char *dir;
	ssync_store *st;
	ssync_keypair *root, *hub;
} fx;

/* Load the given files as one district update; returns *bad. */
static int load(fx *f, int n, const char **paths, char **lines, const size_t *lens, char *why, size_t whylen)
{
	int changed = 0, bad = 0;

	assert_int_equal(ssync_trust__load_files(f->st, n, (char *const *)paths, lines, lens, &changed, &bad, why, whylen,
		NULL), 0);
	if (bad)
		assert_int_equal(changed, 0);
	return bad;
}

static void add_obj(fx *f, ssync_tobj *t, const ssync_keypair *signer, const char *path_or_null, int want_bad)
{
	char path[160], *line = NULL, why[600];
	const char *p;
	size_t len = 0;
	int bad;

	assert_int_equal(ssync_trust__tobj_sign(t, signer, &line, &len, NULL), 0);
	ssync_trust__tobj_path(t, path, sizeof(path));
	p = path_or_null ? path_or_null : path;
	bad = load(f, 1, &p, &line, &len, why, sizeof(why));
	if (!!bad != want_bad)
		fail_msg("%s: bad %d, wanted %d (%s)", p, bad, want_bad, why);
	free(line);
	ssync_trust__tobj_clear(t);
}

static void add_ckpt(fx *f, int64_t pos, int64_t time)
{
	ssync_wobj *w = calloc(1, sizeof(*w));
	sqlite3_stmt *q;
	char path[64], *line = NULL, why[600];
	const char *p = path;
	size_t len = 0;

	assert_non_null(w);
	snprintf(w->district, sizeof(w->district), "d1");
	snprintf(w->hub, sizeof(w->hub), "hub");
	w->n = pos;
	w->time = time;
	if (pos > 1) {
		w->has_prev = 1;
		assert_int_equal(sqlite3_prepare_v2(ssync_store__db(f->st), "SELECT hash FROM ssync_witness WHERE pos=?", -1,
			&q, NULL), SQLITE_OK);
		sqlite3_bind_int64(q, 1, pos - 1);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		memcpy(w->prev, sqlite3_column_blob(q, 0), 32);
		sqlite3_finalize(q);
	}
	w->nheads = 1;
	snprintf(w->heads[0].node, sizeof(w->heads[0].node), "sch-a");
	w->heads[0].seq = pos;
	memset(w->heads[0].hash, 0x07, 32);
	assert_int_equal(ssync_witness__wobj_sign(w, f->hub, &line, &len, NULL), 0);
	ssync_witness__wobj_path(pos, path, sizeof(path));
	if (load(f, 1, &p, &line, &len, why, sizeof(why)))
		fail_msg("checkpoint %lld refused: %s", (long long)pos, why);
	ssync_witness__wobj_clear(w);
	free(w);
	free(line);
}

/* Every row the district branch's objects made, as text. */
static char *snapshot(fx *f)
{
	sqlite3_stmt *q;
	size_t cap = 1 << 16, used = 0;
	char *out = calloc(1, cap);

	assert_non_null(out);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(f->st),
		"SELECT 'o', path, kind, serial, hex(body) FROM ssync_trust_obj UNION ALL "
		"SELECT 'w', pos, time, hub, hex(hash) FROM ssync_witness UNION ALL "
		"SELECT 'h', node, seq, pos, time FROM ssync_witness_head UNION ALL "
		"SELECT 'c', node, serial, role, hex(pubkey) FROM ssync_cert ORDER BY 1, 2, 3", -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW && used + 1024 < cap) {
		int i;
		for (i = 0; i < 5; i++)
			used += (size_t)snprintf(out + used, cap - used, "%s|", (const char *)sqlite3_column_text(q, i));
		out[used++] = '\n';
	}
	sqlite3_finalize(q);
	return out;
}

static void reset_obj(ssync_tobj *t, const fx *f, int64_t serial, int64_t from, int64_t to)
{
	memset(t, 0, sizeof(*t));
	t->kind = SSYNC_TOBJ_WRESET;
	snprintf(t->district, sizeof(t->district), "d1");
	snprintf(t->node, sizeof(t->node), "hub");
	t->serial = serial;
	t->wfrom = from;
	t->wto = to;
	memcpy(t->key, ssync_keys_public(f->hub), SSYNC_PUBKEY_BYTES);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char path[4200], hex[65];
	ssync_tobj t;

	assert_non_null(f);
	f->dir = th_tmpdir();
	assert_int_equal(ssync_keys_generate(&f->root, NULL), 0);
	assert_int_equal(ssync_keys_generate(&f->hub, NULL), 0);
	snprintf(path, sizeof(path), "%s/r.db", f->dir);
	assert_int_equal(ssync_store_open(&f->st, path, SSYNC_STORE_CREATE, NULL), 0);
	ssync_hex_encode(hex, ssync_keys_public(f->root), SSYNC_PUBKEY_BYTES);
	assert_int_equal(ssync_store_meta_set(f->st, "district", "d1", NULL), 0);
	assert_int_equal(ssync_store_meta_set(f->st, "district_pubkey", hex, NULL), 0);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_GENESIS;
	snprintf(t.district, sizeof(t.district), "d1");
	snprintf(t.name, sizeof(t.name), "reset test");
	memcpy(t.key, ssync_keys_public(f->root), SSYNC_PUBKEY_BYTES);
	t.created = T0;
	add_obj(f, &t, f->root, NULL, 0);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_CERT;
	snprintf(t.district, sizeof(t.district), "d1");
	snprintf(t.node, sizeof(t.node), "hub");
	snprintf(t.role, sizeof(t.role), "hub");
	t.serial = 1;
	memcpy(t.key, ssync_keys_public(f->hub), SSYNC_PUBKEY_BYTES);
	add_obj(f, &t, f->root, NULL, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_store_free(f->st);
	ssync_keys_free(f->root);
	ssync_keys_free(f->hub);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void test_wreset__refused_changes_nothing(void **state)
{
	fx *f = *state;
	static const int64_t edges[][2] = {
		{ 0, 3 }, { 1, INT64_C(1000000000000) }, { 1, INT64_MAX }, { INT64_MAX, 3 }, { INT64_MAX, INT64_MAX },
		{ 3, 1 }, { 2, 2 }, { 1, 1 }, { 5, 3 }, { 4, 2 },
	};
	ssync_tobj t;
	char *before, *after;
	size_t i;

	add_ckpt(f, 1, T0);
	add_ckpt(f, 2, T0 + 200 * INT64_C(86400000));
	add_ckpt(f, 3, T0 + 200 * INT64_C(86400000));
	before = snapshot(f);
	/* not signed by the root; at a path its serial does not give */
	reset_obj(&t, f, 5, 2, 3);
	add_obj(f, &t, f->hub, NULL, 1);
	reset_obj(&t, f, 5, 2, 3);
	add_obj(f, &t, f->root, "district/witness.6.reset", 1);
	reset_obj(&t, f, 5, 2, 3);
	add_obj(f, &t, f->root, "district/witness.05.reset", 1);
	reset_obj(&t, f, 5, 2, 3);
	add_obj(f, &t, f->root, "district/witness.x.reset", 1);
	/* positions at the edges, to < from - 1, to below the latest held (3) */
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		reset_obj(&t, f, 5, edges[i][0], edges[i][1]);
		add_obj(f, &t, f->root, NULL, 1);
	}
	/* a bad hub id, a key that is no valid point */
	reset_obj(&t, f, 5, 2, 3);
	snprintf(t.node, sizeof(t.node), "Hub!");
	add_obj(f, &t, f->root, NULL, 1);
	reset_obj(&t, f, 5, 2, 3);
	memset(t.key, 0, SSYNC_PUBKEY_BYTES);
	add_obj(f, &t, f->root, NULL, 1);
	after = snapshot(f);
	assert_string_equal(before, after);
	free(after);
	/* the good one loads and voids 2..3; then an overlapping one changes nothing */
	reset_obj(&t, f, 5, 2, 3);
	add_obj(f, &t, f->root, NULL, 0);
	free(before);
	before = snapshot(f);
	reset_obj(&t, f, 6, 3, 3);
	add_obj(f, &t, f->root, NULL, 1);
	reset_obj(&t, f, 6, 1, 3);
	add_obj(f, &t, f->root, NULL, 1);
	after = snapshot(f);
	assert_string_equal(before, after);
	/* and one that only names the key after 3 loads */
	reset_obj(&t, f, 6, 4, 3);
	add_obj(f, &t, f->root, NULL, 0);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wreset__refused_changes_nothing, setup, teardown),
	};
	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
