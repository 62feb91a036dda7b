/* Sealing private rows (src/sync/privseal.c, docs/PRIVACY.md §1-§5): the
 * readers kept with an open node follow the trust data (an enrolment or a
 * revocation made through this handle, and one made by another connection),
 * a removed reader makes the row's next write use a fresh key, and a batch
 * keeps its keys in one keys.db transaction or drops them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "helpers_core.h"
#include "schoolsync/cellcrypt.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"
#include "schoolsync/privacy.h"
#include "schoolsync/trust.h"

typedef struct fx {
	char *dir, home[4200], root[4200];
	ssync_node *n;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char hex[65];
	ssync_error err;

	assert_non_null(f);
	f->dir = th_tmpdir();
	snprintf(f->home, sizeof(f->home), "%s/hub", f->dir);
	snprintf(f->root, sizeof(f->root), "%s/root.key", f->dir);
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_init(f->home, "hub", "d1", NULL, &err), 0);
	f->n = th_open(f->home);
	if (ssync_trust_district_init(f->n, "d1", "test", f->root, hex, &err) != 0)
		fail_msg("district init: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	ssync_node_free(f->n);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Certify node @p id of school sch-a with a fresh encryption key. */
static void enroll(ssync_node *n, const char *root, const char *id)
{
	ssync_keypair *kp = NULL;
	ssync_enckey *ek = NULL;
	ssync_cert_info c;
	ssync_error err;

	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&kp, &err), 0);
	assert_int_equal(ssync_enckey_generate(&ek, &err), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "%s", id);
	snprintf(c.role, sizeof(c.role), "school");
	snprintf(c.school_id, sizeof(c.school_id), "sch-a");
	ssync_hex_encode(c.pubkey, ssync_keys_public(kp), SSYNC_PUBKEY_BYTES);
	ssync_hex_encode(c.enckey, ssync_enckey_public(ek), SSYNC_ENCKEY_BYTES);
	if (ssync_trust_district_enroll(n, &c, root, &err) != 0)
		fail_msg("enroll %s: %s", id, err.message);
	ssync_keys_free(kp);
	ssync_enckey_free(ek);
}

/* Seal row @p pk's name (and write it when @p write); its kid into @p kid. */
static void seal(ssync_node *n, const char *pk, int write, char kid[SSYNC_KID_HEX + 1])
{
	const char *cols[1] = { "name" }, *clear[1] = { "王小明" };
	char *out[1] = { NULL };
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_privacy_seal_row(n, "student_archive", pk, 1, cols, clear, out, &err) != 0)
		fail_msg("seal %s: %s", pk, err.message);
	assert_true(ssync_cell_parse(out[0], strlen(out[0]), kid));
	if (write) {
		const char *p[2] = { pk, out[0] };
		if (ssync_node_sql_bound(n, "INSERT INTO student_archive(id, school_id, name) VALUES (?1, 'sch-a', ?2) "
			"ON CONFLICT(id) DO UPDATE SET name = excluded.name", 2, p, "t", NULL, NULL, NULL, &err) != 0)
			fail_msg("write %s: %s", pk, err.message);
	}
	free(out[0]);
}

/* The reader nodes keys.db recorded for @p kid ("" if it holds none). */
static void readers_of(const fx *f, const char *kid, char *out, size_t len)
{
	char path[4300];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/keys.db", f->home);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT readers FROM data_key WHERE kid=?", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		/* "node:key16,...": the nodes only */
		const char *p = (const char *)sqlite3_column_text(q, 0);
		size_t o = 0;
		while (*p && o + 1 < len) {
			if (*p == ':')
				while (*p && *p != ',')
					p++;
			else
				out[o++] = *p++;
		}
		out[o] = 0;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_privseal__readers_follow_trust(void **state)
{
	fx *f = *state;
	char k1[33], k2[33], k3[33], k4[33], r[512];
	ssync_node *other;
	ssync_error err;

	ssync_error_clear(&err);
	seal(f->n, "sch-a-s1", 1, k1);
	readers_of(f, k1, r, sizeof(r));
	assert_string_equal(r, "hub");
	/* enrolled through this handle: the next row's key is sealed to it too */
	enroll(f->n, f->root, "sch-a");
	seal(f->n, "sch-a-s2", 1, k2);
	readers_of(f, k2, r, sizeof(r));
	assert_string_equal(r, "hub,sch-a");
	/* no reader removed: the row keeps its key */
	seal(f->n, "sch-a-s1", 1, k3);
	assert_string_equal(k3, k1);
	/* enrolled by another connection (another process, in life) */
	other = th_open(f->home);
	enroll(other, f->root, "sch-a2");
	ssync_node_free(other);
	seal(f->n, "sch-a-s3", 0, k3);
	readers_of(f, k3, r, sizeof(r));
	assert_string_equal(r, "hub,sch-a,sch-a2");
	/* revoked: gone from new keys, and a row it could read gets a fresh key */
	if (ssync_trust_district_revoke(f->n, "sch-a", 0, f->root, &err) != 0)
		fail_msg("revoke: %s", err.message);
	seal(f->n, "sch-a-s4", 0, k4);
	readers_of(f, k4, r, sizeof(r));
	assert_string_equal(r, "hub,sch-a2");
	seal(f->n, "sch-a-s2", 1, k4);
	assert_string_not_equal(k4, k2);
	readers_of(f, k4, r, sizeof(r));
	assert_string_equal(r, "hub,sch-a2");
	/* a hub row: hubs only */
	seal(f->n, "hub-s5", 0, k4);
	readers_of(f, k4, r, sizeof(r));
	assert_string_equal(r, "hub");
}

static void test_privseal__batch_commit_and_drop(void **state)
{
	fx *f = *state;
	const char *cols[2] = { "name", "record" }, *clear[2] = { "李华", NULL };
	char *out[2], kid[33], r[512];
	ssync_privacy_batch *b = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	/* rolled back before commit: no key */
	assert_int_equal(ssync_privacy_batch_open(&b, f->n, &err), 0);
	assert_int_equal(ssync_privacy_batch_seal(b, "student_archive", "sch-a-b1", 2, cols, clear, out, &err), 0);
	assert_null(out[1]); /* NULL stays NULL */
	assert_true(ssync_cell_parse(out[0], strlen(out[0]), kid));
	free(out[0]);
	ssync_privacy_batch_free(b);
	readers_of(f, kid, r, sizeof(r));
	assert_string_equal(r, "");
	/* committed, then dropped (the write failed) */
	assert_int_equal(ssync_privacy_batch_open(&b, f->n, &err), 0);
	assert_int_equal(ssync_privacy_batch_seal(b, "student_archive", "sch-a-b2", 2, cols, clear, out, &err), 0);
	assert_true(ssync_cell_parse(out[0], strlen(out[0]), kid));
	free(out[0]);
	assert_int_equal(ssync_privacy_batch_commit(b, &err), 0);
	readers_of(f, kid, r, sizeof(r));
	assert_string_equal(r, "hub");
	assert_int_equal(ssync_privacy_batch_seal(b, "student_archive", "sch-a-b3", 2, cols, clear, out, &err), SSYNC_EINVAL);
	assert_int_equal(ssync_privacy_batch_drop(b, &err), 0);
	ssync_privacy_batch_free(b);
	readers_of(f, kid, r, sizeof(r));
	assert_string_equal(r, "");
	/* committed and kept */
	assert_int_equal(ssync_privacy_batch_open(&b, f->n, &err), 0);
	assert_int_equal(ssync_privacy_batch_seal(b, "student_archive", "sch-a-b4", 2, cols, clear, out, &err), 0);
	assert_true(ssync_cell_parse(out[0], strlen(out[0]), kid));
	free(out[0]);
	assert_int_equal(ssync_privacy_batch_commit(b, &err), 0);
	ssync_privacy_batch_free(b);
	readers_of(f, kid, r, sizeof(r));
	assert_string_equal(r, "hub");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_privseal__readers_follow_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privseal__batch_commit_and_drop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
