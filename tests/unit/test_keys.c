#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers_core.h"
#include "schoolsync/keys.h"

static void test_keys__save_load_sign_verify(void **state)
{
	char *dir = th_tmpdir(), path[4200];
	ssync_keypair *kp = NULL, *back = NULL;
	unsigned char sig[64];
	struct stat sb;
	ssync_error err;

	(void)state;
	snprintf(path, sizeof(path), "%s/node.key", dir);
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_generate(&kp, &err), 0);
	assert_int_equal(ssync_keys_save(kp, path, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(ssync_keys_load(&back, path, &err), 0);
	assert_memory_equal(ssync_keys_public(kp), ssync_keys_public(back), 32);
	ssync_keys_sign(back, "学区", strlen("学区"), sig);
	assert_int_equal(ssync_keys_verify(ssync_keys_public(kp), "学区", strlen("学区"), sig), 0);
	sig[10] ^= 1;
	assert_int_equal(ssync_keys_verify(ssync_keys_public(kp), "学区", strlen("学区"), sig), SSYNC_ESIG);
	/* never overwritten */
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_save(kp, path, &err), SSYNC_EEXISTS);
	ssync_keys_free(kp);
	ssync_keys_free(back);
	th_rmtree(dir);
	free(dir);
}

static void test_keys__unsafe_missing_or_corrupt_refused(void **state)
{
	char *dir = th_tmpdir(), path[4200];
	ssync_keypair *kp = NULL, *back = NULL;
	ssync_error err;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/node.key", dir);
	assert_int_equal(ssync_keys_generate(&kp, NULL), 0);
	assert_int_equal(ssync_keys_save(kp, path, NULL), 0);
	assert_int_equal(chmod(path, 0644), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_load(&back, path, &err), SSYNC_EKEYPERM);
	assert_null(back);
	assert_non_null(strstr(err.message, "0644"));
	assert_non_null(strstr(err.hint, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(remove(path), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_load(&back, path, &err), SSYNC_ENOTFOUND);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	ssync_error_clear(&err);
	assert_int_equal(ssync_keys_load(&back, path, &err), SSYNC_ECORRUPT);
	ssync_keys_free(kp);
	th_rmtree(dir);
	free(dir);
}

static void test_keys__hex(void **state)
{
	unsigned char b[4];
	char h[9];

	(void)state;
	assert_int_equal(ssync_hex_decode(b, 4, "00ff10ab"), 0);
	ssync_hex_encode(h, b, 4);
	assert_string_equal(h, "00ff10ab");
	assert_int_equal(ssync_hex_decode(b, 4, "00ff10a"), SSYNC_EINVAL);
	assert_int_equal(ssync_hex_decode(b, 4, "00ff10xz"), SSYNC_EINVAL);
	assert_int_equal(ssync_hex_decode(b, 4, "00ff10ab00"), SSYNC_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys__save_load_sign_verify),
		cmocka_unit_test(test_keys__unsafe_missing_or_corrupt_refused),
		cmocka_unit_test(test_keys__hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
