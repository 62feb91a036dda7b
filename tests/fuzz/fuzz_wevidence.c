/*
 * Hub-equivocation evidence (src/sync/wevidence.c): the content of a
 * refs/heads/evidence/witness-<hash> ref that any node or stick may carry.
 * Oracles: accepted evidence is two checkpoints for one district, hub and
 * position in strict hash order, and the encoder gives back exactly the
 * input bytes whichever order it is handed the two (one content per fork,
 * so one ref name and one commit on every node).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wevidence_int.h"

static ssync_wobj a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_error err;
	char *out = NULL;
	size_t len = 0;

	if (size > SSYNC_EVIDENCE_MAX + 16)
		return 0;
	ssync_error_clear(&err);
	if (ssync_witness__evidence_parse(&a, &b, (const char *)data, size, &err) == 0) {
		FZ_CHECK(a.n == b.n && strcmp(a.district, b.district) == 0 && strcmp(a.hub, b.hub) == 0);
		FZ_CHECK(memcmp(a.hash, b.hash, 32) < 0);
		FZ_CHECK(ssync_witness__evidence_encode(&a, &b, &out, &len, &err) == 0);
		FZ_CHECK(len == size && memcmp(out, data, size) == 0);
		free(out);
		out = NULL;
		FZ_CHECK(ssync_witness__evidence_encode(&b, &a, &out, &len, &err) == 0);
		FZ_CHECK(len == size && memcmp(out, data, size) == 0);
		free(out);
	} else {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
	}
	ssync_witness__wobj_clear(&a);
	ssync_witness__wobj_clear(&b);
	return 0;
}
