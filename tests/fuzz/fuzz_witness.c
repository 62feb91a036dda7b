/*
 * Hub checkpoints (src/sync/wobj.c): the witness/ lines of
 * refs/heads/district that every node reads. Oracles: a parsed checkpoint
 * keeps its bounds (position, time in the HLC range, at most
 * SSYNC_WITNESS_MAX_HEADS heads sorted by name: node id or id.g<G>), has a path that maps
 * back to its position, and signing it again with any key gives a line the
 * parser accepts with the same body bytes (the writer makes what receivers
 * take).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "wobj_int.h"

static ssync_wobj w, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ssync_keypair *kp;
	ssync_error err;
	char path[64], *line = NULL;
	size_t len = 0;
	int i;

	if (size > SSYNC_WITNESS_MAX_LINE + 16)
		return 0;
	ssync_keys_init();
	if (!kp && ssync_keys_generate(&kp, NULL) != 0)
		return 0;
	ssync_error_clear(&err);
	if (ssync_witness__wobj_parse(&w, (const char *)data, size, &err) == 0) {
		FZ_CHECK(w.n >= 1 && (w.n == 1) == !w.has_prev);
		FZ_CHECK(w.time >= (int64_t)SSYNC_HLC_MIN_MS && w.time <= (int64_t)SSYNC_HLC_MAX_MS);
		FZ_CHECK(w.nheads >= 0 && w.nheads <= SSYNC_WITNESS_MAX_HEADS);
		for (i = 1; i < w.nheads; i++)
			FZ_CHECK(strcmp(w.heads[i - 1].node, w.heads[i].node) < 0);
		ssync_witness__wobj_path(w.n, path, sizeof(path));
		FZ_CHECK(ssync_witness__path_pos(path) == w.n);
		{
			char *body = malloc(w.body_len + 1);
			size_t blen = w.body_len;
			FZ_CHECK(body != NULL);
			memcpy(body, w.body, blen + 1);
			FZ_CHECK(ssync_witness__wobj_sign(&w, kp, &line, &len, &err) == 0);
			FZ_CHECK(ssync_witness__wobj_parse(&back, line, len, &err) == 0);
			FZ_CHECK(back.body_len == blen && memcmp(back.body, body, blen) == 0);
			free(body);
		}
		free(line);
		ssync_witness__wobj_clear(&back);
	} else {
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
	}
	ssync_witness__wobj_clear(&w);
	return 0;
}
