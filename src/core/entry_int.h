#ifndef SSYNC_ENTRY_INT_H
#define SSYNC_ENTRY_INT_H

#include <jansson.h>

#include "schoolsync/entry.h"

struct ssync_entry {
	char node[SSYNC_NODE_ID_MAX + 1];
	char district[SSYNC_NODE_ID_MAX + 1];
	int64_t seq;
	int has_prev;
	unsigned char prev[SSYNC_HASH_BYTES];
	uint64_t hlc;
	char *actor;
	int schema;
	json_t *ops;   /* parsed entries (NULL for ones built from text): array of {"t":table,"k":pk,"c":[[col,value,[prev...]],...]} */
	char *body;    /* canonical body bytes, NUL-terminated */
	size_t body_len;
	unsigned char sig[SSYNC_SIG_BYTES];
	unsigned char hash[SSYNC_HASH_BYTES];
	/* signature results worked out ahead (readahead.c): bit i of vok says
	 * whether sig verifies over body with vkeys[i] */
	const unsigned char (*vkeys)[SSYNC_PUBKEY_BYTES];
	int nvkeys;
	unsigned vok;
	/* the first refused key or value (E_VALUE), found by ssync_canon__body */
	int verdict_done, value_error;
	char *value_msg;
};

/* Flags every body is dumped with; parse re-dumps and compares bytes. */
#define SSYNC_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/*
 * Build an entry from fields; takes ownership of @p ops (a json array).
 * Encodes the body, hashes it and signs it with @p kp.
 */
int ssync_entry__create(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, json_t *ops, const ssync_keypair *kp, ssync_error *err);

/*
 * The same from the ops already encoded: @p ops is the compact JSON array
 * exactly as SSYNC_JSON_FLAGS dumps it (the write path appends each op's dump).
 */
int ssync_entry__create_text(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, const char *ops, size_t ops_len, const ssync_keypair *kp, ssync_error *err);

/* create_text in two steps: build encodes the body (no hash, no signature
 * yet); seal hashes and signs it, and may run on another thread. */
int ssync_entry__build(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, const char *ops, size_t ops_len, ssync_error *err);
void ssync_entry__seal(ssync_entry *e, const ssync_keypair *kp);

/* Validate one op (shape, identifiers); used by parse and by tests. */
int ssync_entry__check_op(const json_t *op, ssync_error *err);

/*
 * Parse a BODY alone (no signature): the same checks as ssync_entry_parse.
 * The writer parses what it is about to sign with it (capture.c); the
 * signature and hash of the result are zero.
 */
int ssync_entry__parse_body(ssync_entry **out, const char *body, size_t len, ssync_error *err);

/*
 * Value admission (docs/FORMAT.md §1 "Values"): every key and value of a
 * parsed entry is one every receiver accepts. SSYNC_EVALUE with the op,
 * column and reason otherwise. A function of the entry's bytes alone; the
 * writer runs it before signing, receivers before applying.
 */
int ssync_entry__admit_values(const ssync_entry *e, ssync_error *err);

/*
 * One pass over a body (src/core/canon.c): canonical encoding, header
 * fields, op shapes and value rules of docs/FORMAT.md §1, in the order
 * receivers refuse. Returns the body's refusal (E_ENCODING, E_SCHEMA,
 * E_CHAIN, E_CLOCK: the branch stops there); otherwise 0 with the header's
 * fields, where the ops array lies, the first refusal of @c name (called
 * for each op's table with column NULL, then for each cell's column but
 * "$row") and the first refused key or value (E_VALUE), in that order of
 * precedence for the caller.
 */
/* At most this many versions in one cell's prevs (FORMAT.md §1). */
#define SSYNC_PREVS_MAX 64

typedef struct ssync_canon {
	int (*name)(void *ctx, const char *table, const char *column, ssync_error *err);
	void *ctx;
	char district[SSYNC_NODE_ID_MAX + 1], node[SSYNC_NODE_ID_MAX + 1];
	int64_t seq;
	int has_prev;
	unsigned char prev[SSYNC_HASH_BYTES];
	uint64_t hlc;
	char actor[258];
	int schema;
	size_t ops_off, ops_len;
	int name_error, value_error;
	ssync_error name_err, value_err;
} ssync_canon;

int ssync_canon__body(const char *body, size_t len, ssync_canon *out, ssync_error *err);

/* A finite double in its canonical text (FORMAT.md §1 "Reals"); -1 if not finite. */
int ssync_canon__real(double d, char buf[40]);

/* 1 if @p s (@p n bytes) is UTF-8 as FORMAT.md §1 has it (no overlong
 * forms, no surrogates), 0 if not. */
int ssync_canon__utf8(const char *s, size_t n);

/* A version id names the entry that wrote a cell: "node#seq". */
int ssync_version_parse(const char *v, char node[SSYNC_NODE_ID_MAX + 1], int64_t *seq);

#endif
