/*
 * Trust objects (src/sync/tobj.c): the lines of refs/heads/district that
 * every node reads: genesis, certificates (enrolment), revocations,
 * re-enrolments, root rotations and witness resets.
 * Oracles: a parsed object has a known kind, a path on the branch, and
 * fields within their buffers; its signature check (against its own key
 * and a fixed one) answers without crashing.
 */
#include <string.h>

#include "fuzz.h"
#include "schoolsync/keys.h"
#include "tobj_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_tobj t;
	ssync_error err;
	char path[512];
	static const unsigned char zero[SSYNC_PUBKEY_BYTES];

	if (size > 64 * 1024)
		return 0;
	ssync_keys_init();
	memset(&t, 0, sizeof(t));
	ssync_error_clear(&err);
	if (ssync_trust__tobj_parse(&t, (const char *)data, size, &err) == 0) {
		FZ_CHECK(t.kind >= SSYNC_TOBJ_GENESIS && t.kind <= SSYNC_TOBJ_WRESET);
		/* a reset's range: 1 <= from <= to + 1, within checkpoint positions */
		FZ_CHECK(t.kind != SSYNC_TOBJ_WRESET || (t.wfrom >= 1 && t.wfrom <= t.wto + 1 && t.wto <= INT64_C(999999999999)));
		FZ_CHECK(memchr(t.district, '\0', sizeof(t.district)) && memchr(t.node, '\0', sizeof(t.node)));
		FZ_CHECK(memchr(t.name, '\0', sizeof(t.name)) && memchr(t.role, '\0', sizeof(t.role)));
		FZ_CHECK(t.body != NULL && t.body_len <= size);
		ssync_trust__tobj_path(&t, path, sizeof(path));
		FZ_CHECK(path[0] != '\0');
		(void)ssync_keys_verify(t.key, t.body, t.body_len, t.sig);
		(void)ssync_keys_verify(zero, t.body, t.body_len, t.sig);
	} else {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
	}
	ssync_trust__tobj_clear(&t);
	return 0;
}
