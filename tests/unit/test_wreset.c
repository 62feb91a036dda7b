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

/* A checkpoint at @p pos signed by the hub, after the one held at pos - 1. */
static char *make_ckpt(fx *f, int64_t pos, int64_t time, size_t *len)
{
	ssync_wobj *w = calloc(1, sizeof(*w));
	sqlite3_stmt *q;
	char *line = NULL;

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
	assert_int_equal(ssync_witness__wobj_sign(w, f->hub, &line, len, NULL), 0);
	ssync_witness__wobj_clear(w);
	free(w);
	return line;
}

static void add_ckpt(fx *f, int64_t pos, int64_t time)
{
	char path[64], *line, why[600];
	const char *p = path;
	size_t len = 0;

	line = make_ckpt(f, pos, time, &len);
	ssync_witness__wobj_path(pos, path, sizeof(path));
	if (load(f, 1, &p, &line, &len, why, sizeof(why)))
		fail_msg("checkpoint %lld refused: %s", (long long)pos, why);
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

/* A fresh replica @p name of the district: genesis and the hub's certificate. */
static void open_store(fx *f, const char *name)
{
	char path[4200], hex[65];
	ssync_tobj t;

	snprintf(path, sizeof(path), "%s/%s.db", f->dir, name);
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
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	assert_int_equal(ssync_keys_generate(&f->root, NULL), 0);
	assert_int_equal(ssync_keys_generate(&f->hub, NULL), 0);
	open_store(f, "r");
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

/* A root rotation and witness resets 6, 9 and 10 signed by the new root, with
 * the checkpoints between them: one object per update, or all in one update
 * in git's tree order ('witness.10.reset' sorts before
 * 'witness.9.reset' as a path; 10 loaded first would refuse 9 as
 * overlapping), give the same rows; a reset the old root signs after the
 * rotation is refused. */
static void test_wreset__rotation_and_serials_in_one_update(void **state)
{
	fx *f = *state;
	const int64_t day = 86400000;
	ssync_keypair *r2 = NULL, *signer;
	ssync_tobj t;
	char *lines[6], paths[6][160], why[600], *a, *b;
	const char *pv[6];
	size_t lens[6];
	int i, k = 0;

	assert_int_equal(ssync_keys_generate(&r2, NULL), 0);
	for (i = 1; i <= 3; i++)
		add_ckpt(f, i, T0 + (i == 1 ? 0 : 200 * day));
	/* built and loaded one per update, in branch order */
	for (i = 0; i < 6; i++) {
		signer = r2;
		if (i == 0) {
			memset(&t, 0, sizeof(t));
			t.kind = SSYNC_TOBJ_ROTATE;
			snprintf(t.district, sizeof(t.district), "d1");
			t.serial = 5;
			memcpy(t.old_key, ssync_keys_public(f->root), SSYNC_PUBKEY_BYTES);
			memcpy(t.key, ssync_keys_public(r2), SSYNC_PUBKEY_BYTES);
			signer = f->root;
		} else if (i == 1) {
			reset_obj(&t, f, 6, 2, 3);
		} else if (i == 2 || i == 3) {
			lines[k] = make_ckpt(f, i + 2, T0 + day * i, &lens[k]);
			ssync_witness__wobj_path(i + 2, paths[k], sizeof(paths[k]));
		} else {
			reset_obj(&t, f, i == 4 ? 9 : 10, i == 4 ? 4 : 6, 5);
		}
		if (i != 2 && i != 3) {
			assert_int_equal(ssync_trust__tobj_sign(&t, signer, &lines[k], &lens[k], NULL), 0);
			ssync_trust__tobj_path(&t, paths[k], sizeof(paths[k]));
			ssync_trust__tobj_clear(&t);
		}
		pv[k] = paths[k];
		if (load(f, 1, &pv[k], &lines[k], &lens[k], why, sizeof(why)))
			fail_msg("%s refused: %s", paths[k], why);
		k++;
	}
	reset_obj(&t, f, 11, 6, 5);
	add_obj(f, &t, f->root, NULL, 1); /* the old root, after its rotation */
	a = snapshot(f);
	/* a fresh replica: the same checkpoints 1..3, then everything in one update */
	ssync_store_free(f->st);
	open_store(f, "fresh");
	for (i = 1; i <= 3; i++)
		add_ckpt(f, i, T0 + (i == 1 ? 0 : 200 * day));
	{
		const char *rp[6];
		char *rl[6];
		size_t rn[6];
		/* git's tree order, as the branch reader gives them */
		static const int tree_order[6] = { 0, 5, 1, 4, 2, 3 };
		for (i = 0; i < 6; i++) {
			rp[i] = pv[tree_order[i]];
			rl[i] = lines[tree_order[i]];
			rn[i] = lens[tree_order[i]];
		}
		if (load(f, 6, rp, rl, rn, why, sizeof(why)))
			fail_msg("one update refused: %s", why);
	}
	b = snapshot(f);
	assert_string_equal(a, b);
	for (i = 0; i < 6; i++)
		free(lines[i]);
	free(a);
	free(b);
	ssync_keys_free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wreset__refused_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wreset__rotation_and_serials_in_one_update, setup, teardown),
	};
	ssync_keys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
