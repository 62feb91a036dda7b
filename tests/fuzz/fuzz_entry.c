/*
 * Entry lines (src/core/entry.c, src/store/admit.c): what a receiver runs on
 * every line of a segment before the signature: parse (syntax, types,
 * identifiers, canonical body), value admission, and the replica's schema
 * admission. Oracles: a parsed entry re-encodes to a line that parses to
 * the same entry (same body bytes and hash); admission is read-only; what
 * the one-pass check (src/core/canon.c) accepts, jansson reads and prints
 * back byte for byte (the writer's encoder: so the two cannot disagree on a
 * body); the writer's admission of the body answers exactly as the
 * receiver's admission of the parsed entry.
 */
#include <stdlib.h>
#include <string.h>

#include "admit_int.h"
#include "entry_int.h"
#include "fuzz.h"
#include "schoolsync/entry.h"
#include "schoolsync/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssync_entry *e = NULL, *e2 = NULL;
	ssync_error err;
	char *line = NULL;
	const char *b1, *b2;
	size_t len = 0, n1, n2;
	ssync_node *n = fz_node();

	if (size > SSYNC_ENTRY_MAX_BYTES + 1)
		return 0;
	ssync_error_clear(&err);
	if (ssync_entry_parse(&e, (const char *)data, size, &err) < 0) {
		FZ_CHECK(e == NULL);
		FZ_CHECK(err.code != 0 && err.message[0] != '\0');
		return 0;
	}
	FZ_CHECK(e != NULL);
	FZ_CHECK(ssync_entry_seq(e) >= 1);
	FZ_CHECK((ssync_entry_prev(e) == NULL) == (ssync_entry_seq(e) == 1));
	ssync_error_clear(&err);
	FZ_CHECK(ssync_entry_line(e, &line, &len, &err) == 0);
	FZ_CHECK(len > 0 && line[len - 1] == '\n');
	ssync_error_clear(&err);
	FZ_CHECK(ssync_entry_parse(&e2, line, len, &err) == 0);
	b1 = ssync_entry_body(e, &n1);
	b2 = ssync_entry_body(e2, &n2);
	FZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
	FZ_CHECK(memcmp(ssync_entry_hash(e), ssync_entry_hash(e2), SSYNC_HASH_BYTES) == 0);
	FZ_CHECK(memcmp(ssync_entry_sig(e), ssync_entry_sig(e2), SSYNC_SIG_BYTES) == 0);
	{
		/* jansson reads what canon.c accepted, and prints the same bytes */
		json_t *o = json_loadb(b1, n1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
		char *ops = o ? json_dumps(json_object_get(o, "ops"), SSYNC_JSON_FLAGS) : NULL;
		ssync_entry *e3 = NULL;
		FZ_CHECK(o != NULL && ops != NULL);
		FZ_CHECK(ssync_entry__build(&e3, ssync_entry_district(e), ssync_entry_node(e), ssync_entry_seq(e),
			ssync_entry_prev(e), ssync_entry_hlc(e), ssync_entry_actor(e), (int)json_integer_value(json_object_get(o, "schema")),
			ops, strlen(ops), &err) == 0);
		b2 = ssync_entry_body(e3, &n2);
		FZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
		ssync_entry_free(e3);
		free(ops);
		json_decref(o);
	}
	{
		/* the writer's verdict on these bytes is the receiver's */
		int rw, rr;
		ssync_error_clear(&err);
		(void)ssync_entry__admit_values(e, &err);
		ssync_error_clear(&err);
		rr = ssync_admit__entry(ssync_node_store(n), e, &err);
		ssync_error_clear(&err);
		rw = ssync_admit__body(ssync_node_store(n), b1, n1, &err);
		FZ_CHECK(rw == rr);
	}
	free(line);
	ssync_entry_free(e2);
	ssync_entry_free(e);
	return 0;
}
