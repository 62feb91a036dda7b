/*
 * Key stores (src/sync/keystore.c, docs/PRIVACY.md): the one signed line
 * of refs/heads/keys/<node> every node reads from any remote or stick.
 * Oracles: a parsed store has valid ids and kids within their buffers,
 * sorted lists, and re-signing its content gives back the same body.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keystore_int.h"
#include "schoolsync/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ssync_keypair *kp;
	ssync_keystore ks;
	ssync_error err;
	int i;

	if (size > 256 * 1024)
		return 0;
	ssync_keys_init();
	if (!kp && ssync_keys_generate(&kp, NULL) < 0)
		return 0;
	ssync_error_clear(&err);
	if (ssync_keystore__parse(&ks, (const char *)data, size, &err) == 0) {
		char *line = NULL, *body;
		size_t len = 0, blen = ks.body_len;
		FZ_CHECK(memchr(ks.node, '\0', sizeof(ks.node)) && memchr(ks.district, '\0', sizeof(ks.district)));
		FZ_CHECK(ks.version >= 1 && ks.body_len <= size);
		for (i = 0; i < ks.nkeys; i++) {
			FZ_CHECK(ssync_cell_kid_valid(ks.keys[i].kid) && ks.keys[i].nwraps >= 1);
			FZ_CHECK(i == 0 || strcmp(ks.keys[i - 1].kid, ks.keys[i].kid) < 0);
		}
		for (i = 0; i < ks.nerased; i++)
			FZ_CHECK(ssync_cell_kid_valid(ks.erased[i]));
		body = malloc(blen);
		FZ_CHECK(body != NULL);
		memcpy(body, ks.body, blen);
		/* the writer's encoding of what was read is exactly what was read */
		FZ_CHECK(ssync_keystore__sign(&ks, kp, &line, &len, &err) == 0);
		FZ_CHECK(ks.body_len == blen && memcmp(ks.body, body, blen) == 0);
		free(line);
		free(body);
	} else {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
	}
	ssync_keystore__clear(&ks);
	return 0;
}
