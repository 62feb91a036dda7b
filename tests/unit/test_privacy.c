/* Private cells and key stores (docs/PRIVACY.md): the enc1: form, AEAD
 * bound to its cell, X25519 key files and sealed boxes, and the key store
 * decoder's one-encoding rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "helpers_core.h"
#include "keystore_int.h"
#include "tobj_int.h"
#include "schoolsync/cellcrypt.h"
#include "schoolsync/keys.h"

static void test_privacy__cell_roundtrip_and_binding(void **state)
{
	unsigned char key[SSYNC_DATAKEY_BYTES], other[SSYNC_DATAKEY_BYTES];
	char kid[SSYNC_KID_HEX + 1], kid2[SSYNC_KID_HEX + 1], got[SSYNC_KID_HEX + 1], *c = NULL, *m = NULL, *c2 = NULL;
	const char *clear = "王小明 三好学生";
	size_t len = 0;
	ssync_error err;

	(void)state;
	ssync_error_clear(&err);
	ssync_cell_newkey(key, kid);
	ssync_cell_newkey(other, kid2);
	assert_true(ssync_cell_kid_valid(kid));
	assert_string_not_equal(kid, kid2);
	assert_int_equal(ssync_cell_encrypt(&c, key, kid, "student_archive", "sch-a-1", "name", clear, strlen(clear), &err), 0);
	assert_int_equal(strncmp(c, "enc1:", 5), 0);
	assert_null(strstr(c, "王"));
	assert_true(ssync_cell_parse(c, strlen(c), got));
	assert_string_equal(got, kid);
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "student_archive", "sch-a-1", "name", c, strlen(c), &err), 0);
	assert_string_equal(m, clear);
	assert_int_equal(len, strlen(clear));
	free(m);
	/* the same value twice: different ciphertexts (random nonce) */
	assert_int_equal(ssync_cell_encrypt(&c2, key, kid, "student_archive", "sch-a-1", "name", clear, strlen(clear), &err), 0);
	assert_string_not_equal(c, c2);
	free(c2);
	/* moved to another column, row or table, or opened with another key: refused */
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "student_archive", "sch-a-1", "record", c, strlen(c), &err), SSYNC_ENOKEY);
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "student_archive", "sch-a-2", "name", c, strlen(c), &err), SSYNC_ENOKEY);
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "teacher", "sch-a-1", "name", c, strlen(c), &err), SSYNC_ENOKEY);
	assert_int_equal(ssync_cell_decrypt(&m, &len, other, "student_archive", "sch-a-1", "name", c, strlen(c), &err), SSYNC_ENOKEY);
	/* a flipped byte of the ciphertext */
	c[strlen(c) - 6] = c[strlen(c) - 6] == 'A' ? 'B' : 'A';
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "student_archive", "sch-a-1", "name", c, strlen(c), &err), SSYNC_ENOKEY);
	assert_null(m);
	free(c);
	/* empty clear text is a value too */
	assert_int_equal(ssync_cell_encrypt(&c, key, kid, "t", "k", "c", "", 0, &err), 0);
	assert_int_equal(ssync_cell_decrypt(&m, &len, key, "t", "k", "c", c, strlen(c), &err), 0);
	assert_string_equal(m, "");
	free(m);
	free(c);
}

static void test_privacy__cell_form(void **state)
{
	const char *bad[] = {
		"", "enc1:", "plain text", "enc2:00000000000000000000000000000000:AAAA",
		"enc1:0000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",   /* short kid */
		"enc1:0000000000000000000000000000000G:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  /* not hex */
		"enc1:0000000000000000000000000000000A:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  /* upper case */
		"enc1:00000000000000000000000000000000:AAAA",                                                       /* under nonce+tag */
		"enc1:00000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",    /* no padding */
		"enc1:00000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB==",  /* non-zero pad bits */
		"enc1:00000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA== ",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ssync_cell_parse(bad[i], strlen(bad[i]), NULL));
	assert_true(ssync_cell_parse("enc1:00000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		strlen("enc1:00000000000000000000000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), NULL));
}

static void test_privacy__enckey_file_and_seal(void **state)
{
	char *dir = th_tmpdir(), path[4200];
	ssync_enckey *k = NULL, *back = NULL, *other = NULL;
	unsigned char box[32 + SSYNC_SEAL_OVERHEAD], out[32], msg[32];
	struct stat sb;
	ssync_error err;

	(void)state;
	ssync_error_clear(&err);
	snprintf(path, sizeof(path), "%s/enc.key", dir);
	assert_int_equal(ssync_enckey_generate(&k, &err), 0);
	assert_int_equal(ssync_enckey_generate(&other, &err), 0);
	assert_int_equal(ssync_enckey_save(k, path, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(ssync_enckey_save(k, path, &err), SSYNC_EEXISTS);
	assert_int_equal(ssync_enckey_load(&back, path, &err), 0);
	assert_memory_equal(ssync_enckey_public(k), ssync_enckey_public(back), SSYNC_ENCKEY_BYTES);
	randombytes_buf(msg, sizeof(msg));
	assert_int_equal(ssync_enckey_seal(box, msg, sizeof(msg), ssync_enckey_public(k)), 0);
	assert_int_equal(ssync_enckey_open(back, out, box, sizeof(box)), 0);
	assert_memory_equal(out, msg, sizeof(msg));
	assert_int_equal(ssync_enckey_open(other, out, box, sizeof(box)), SSYNC_ENOKEY);
	/* the file rules of node.key */
	assert_int_equal(chmod(path, 0644), 0);
	ssync_enckey_free(back);
	back = NULL;
	assert_int_equal(ssync_enckey_load(&back, path, &err), SSYNC_EKEYPERM);
	assert_null(back);
	ssync_enckey_free(k);
	ssync_enckey_free(other);
	th_rmtree(dir);
	free(dir);
}

static void make_store(ssync_keystore *ks, int nkeys)
{
	int i;

	memset(ks, 0, sizeof(*ks));
	snprintf(ks->district, sizeof(ks->district), "d1");
	snprintf(ks->node, sizeof(ks->node), "hub");
	ks->version = 3;
	ks->keys = calloc((size_t)nkeys, sizeof(*ks->keys));
	for (i = 0; i < nkeys; i++) {
		unsigned char k[32];
		ssync_cell_newkey(k, ks->keys[i].kid);
		ks->keys[i].nwraps = 2;
		ks->keys[i].wraps = calloc(2, sizeof(ssync_ks_wrap));
		snprintf(ks->keys[i].wraps[0].node, sizeof(ks->keys[i].wraps[0].node), "sch-a");
		snprintf(ks->keys[i].wraps[1].node, sizeof(ks->keys[i].wraps[1].node), "hub");
		randombytes_buf(ks->keys[i].wraps[0].box, SSYNC_KEYSTORE_BOX);
		randombytes_buf(ks->keys[i].wraps[1].box, SSYNC_KEYSTORE_BOX);
	}
	ks->nkeys = nkeys;
	ks->erased = calloc(1, sizeof(*ks->erased));
	snprintf(ks->erased[0], sizeof(ks->erased[0]), "%032x", 7);
	ks->nerased = 1;
	ks->grants = calloc(1, sizeof(*ks->grants));
	snprintf(ks->grants[0].auditor, sizeof(ks->grants[0].auditor), "aud-1");
	snprintf(ks->grants[0].school, sizeof(ks->grants[0].school), "sch-a");
	ks->ngrants = 1;
}

static void test_privacy__keystore_roundtrip_and_canonical(void **state)
{
	ssync_keypair *kp = NULL;
	ssync_keystore ks, back;
	ssync_error err;
	char *line = NULL, *bad;
	size_t len = 0;
	int i;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&kp, &err), 0);
	make_store(&ks, 5);
	assert_int_equal(ssync_keystore__sign(&ks, kp, &line, &len, &err), 0);
	assert_int_equal(ssync_keystore__parse(&back, line, len, &err), 0);
	assert_string_equal(back.node, "hub");
	assert_int_equal(back.version, 3);
	assert_int_equal(back.nkeys, 5);
	for (i = 1; i < 5; i++)
		assert_true(strcmp(back.keys[i - 1].kid, back.keys[i].kid) < 0); /* the writer sorted them */
	assert_string_equal(back.keys[0].wraps[0].node, "hub");
	assert_int_equal(back.nerased, 1);
	assert_string_equal(back.grants[0].auditor, "aud-1");
	assert_int_equal(ssync_keys_verify(ssync_keys_public(kp), back.body, back.body_len, back.sig), 0);
	ssync_keystore__clear(&back);
	/* another spelling of the same content is refused: a space, unsorted wraps */
	bad = malloc(len + 2);
	memcpy(bad, line, 1);
	bad[1] = ' ';
	memcpy(bad + 2, line + 1, len - 1);
	assert_int_not_equal(ssync_keystore__parse(&back, bad, len + 1, &err), 0);
	ssync_keystore__clear(&back);
	free(bad);
	bad = strdup(line);
	{
		char *h = strstr(bad, "[\"hub\""), *s = strstr(bad, "[\"sch-a\"");
		size_t a = 6 + 1 + 110 + 1, b = 8 + 1 + 110 + 1; /* ["hub","<108>"] and ["sch-a","<108>"] */
		char tmp[400];
		assert_non_null(h);
		assert_non_null(s);
		memcpy(tmp, h, a + 1 + b); /* swap the two wraps of the first key */
		memcpy(h, tmp + a + 1, b); /* the second wrap, from the copy: h..s overlap */
		h[b] = ',';
		memcpy(h + b + 1, tmp, a);
	}
	ssync_error_clear(&err);
	assert_int_equal(ssync_keystore__parse(&back, bad, len, &err), SSYNC_ESCHEMA);
	ssync_keystore__clear(&back);
	free(bad);
	/* junk */
	assert_int_not_equal(ssync_keystore__parse(&back, "{}\t00", 5, &err), 0);
	ssync_keystore__clear(&back);
	free(line);
	ssync_keystore__clear(&ks);
	ssync_keys_free(kp);
}

static void test_privacy__cert_enckey_optional(void **state)
{
	ssync_keypair *root = NULL, *node = NULL;
	ssync_enckey *ek = NULL;
	ssync_tobj t, back;
	ssync_error err;
	char *line = NULL;
	size_t len = 0;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&root, &err), 0);
	assert_int_equal(ssync_keys_generate(&node, &err), 0);
	assert_int_equal(ssync_enckey_generate(&ek, &err), 0);
	memset(&t, 0, sizeof(t));
	t.kind = SSYNC_TOBJ_CERT;
	snprintf(t.district, sizeof(t.district), "d1");
	snprintf(t.node, sizeof(t.node), "sch-a");
	snprintf(t.role, sizeof(t.role), "school");
	snprintf(t.school, sizeof(t.school), "sch-a");
	t.serial = 2;
	memcpy(t.key, ssync_keys_public(node), 32);
	/* without an encryption key: exactly the old format */
	assert_int_equal(ssync_trust__tobj_sign(&t, root, &line, &len, &err), 0);
	assert_null(strstr(line, "enckey"));
	assert_int_equal(ssync_trust__tobj_parse(&back, line, len, &err), 0);
	assert_false(back.has_enckey);
	ssync_trust__tobj_clear(&back);
	free(line);
	/* with one: the last member, read back */
	memcpy(t.enckey, ssync_enckey_public(ek), 32);
	t.has_enckey = 1;
	assert_int_equal(ssync_trust__tobj_sign(&t, root, &line, &len, &err), 0);
	assert_non_null(strstr(line, "\"valid_until\":null,\"enckey\":\""));
	assert_int_equal(ssync_trust__tobj_parse(&back, line, len, &err), 0);
	assert_true(back.has_enckey);
	assert_memory_equal(back.enckey, ssync_enckey_public(ek), 32);
	ssync_trust__tobj_clear(&back);
	free(line);
	ssync_trust__tobj_clear(&t);
	ssync_keys_free(root);
	ssync_keys_free(node);
	ssync_enckey_free(ek);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_privacy__cell_roundtrip_and_binding),
		cmocka_unit_test(test_privacy__cell_form),
		cmocka_unit_test(test_privacy__enckey_file_and_seal),
		cmocka_unit_test(test_privacy__keystore_roundtrip_and_canonical),
		cmocka_unit_test(test_privacy__cert_enckey_optional),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
