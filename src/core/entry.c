/* Log entries: encode, parse, sign, verify, hash. The signature covers the
 * exact body bytes; a parsed body must re-encode to the same bytes, so there
 * is only one encoding of any entry and two parsers cannot disagree on it
 * (duplicate keys, escapes, number forms are all rejected). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/ident.h"

int ssync_version_parse(const char *v, char node[SSYNC_NODE_ID_MAX + 1], int64_t *seq)
{
	const char *hash = v ? strrchr(v, '#') : NULL;
	size_t nlen;
	char *end = NULL;
	long long s;

	if (!hash)
		return SSYNC_EINVAL;
	nlen = (size_t)(hash - v);
	if (nlen == 0 || nlen > SSYNC_NODE_ID_MAX)
		return SSYNC_EINVAL;
	memcpy(node, v, nlen);
	node[nlen] = 0;
	if (!ssync_ident_node_valid(node) || hash[1] < '1' || hash[1] > '9')
		return SSYNC_EINVAL;
	s = strtoll(hash + 1, &end, 10);
	if (*end || s <= 0)
		return SSYNC_EINVAL;
	*seq = s;
	return 0;
}

void ssync_entry_free(ssync_entry *e)
{
	if (!e)
		return;
	free(e->actor);
	json_decref(e->ops);
	free(e->body);
	free(e);
}

const char *ssync_entry_node(const ssync_entry *e) { return e->node; }
const char *ssync_entry_district(const ssync_entry *e) { return e->district; }
const char *ssync_entry_actor(const ssync_entry *e) { return e->actor; }
int64_t ssync_entry_seq(const ssync_entry *e) { return e->seq; }
uint64_t ssync_entry_hlc(const ssync_entry *e) { return e->hlc; }
int ssync_entry_schema(const ssync_entry *e) { return e->schema; }
const unsigned char *ssync_entry_prev(const ssync_entry *e) { return e->has_prev ? e->prev : NULL; }
const unsigned char *ssync_entry_hash(const ssync_entry *e) { return e->hash; }
const unsigned char *ssync_entry_sig(const ssync_entry *e) { return e->sig; }

const char *ssync_entry_body(const ssync_entry *e, size_t *len)
{
	if (len)
		*len = e->body_len;
	return e->body;
}

/*
 * The body is the header members, then "ops" last. The header object is
 * dumped by jansson and its closing brace replaced by ,"ops":OPS} , which is
 * byte for byte what dumping the whole object would give (compact, ordered),
 * without building a tree of the ops on the write path.
 */
static const char ops_key[] = ",\"ops\":";
#define OPS_KEY_LEN (sizeof(ops_key) - 1)
#define HEADER_MAX 4096 /* ids of 63 bytes, an actor of 256 bytes even fully escaped */

/* The header members into @p buf without the closing brace: its length,
 * 0 if out of memory. */
static size_t encode_header(const ssync_entry *e, char buf[HEADER_MAX])
{
	char prevhex[2 * SSYNC_HASH_BYTES + 1], when[40];
	json_t *o = json_object();
	size_t n = 0;

	if (!o)
		return 0;
	ssync_hlc_format(e->hlc, when, sizeof(when));
	if (e->has_prev)
		ssync_hex_encode(prevhex, e->prev, SSYNC_HASH_BYTES);
	if (json_object_set_new(o, "entry", json_integer(1)) == 0 &&
	    json_object_set_new(o, "district", json_string(e->district)) == 0 &&
	    json_object_set_new(o, "node", json_string(e->node)) == 0 &&
	    json_object_set_new(o, "seq", json_integer(e->seq)) == 0 &&
	    json_object_set_new(o, "prev", e->has_prev ? json_string(prevhex) : json_null()) == 0 &&
	    json_object_set_new(o, "hlc", json_integer((json_int_t)e->hlc)) == 0 &&
	    json_object_set_new(o, "time", json_string(when)) == 0 &&
	    json_object_set_new(o, "actor", json_string(e->actor)) == 0 &&
	    json_object_set_new(o, "schema", json_integer(e->schema)) == 0)
		n = json_dumpb(o, buf, HEADER_MAX, SSYNC_JSON_FLAGS);
	json_decref(o);
	return n >= 2 && n <= HEADER_MAX && buf[n - 1] == '}' ? n - 1 : 0;
}

static char *encode_body(const ssync_entry *e, const char *ops, size_t ops_len, size_t *len)
{
	char head[HEADER_MAX], *s;
	size_t hlen = encode_header(e, head);

	if (hlen == 0 || !(s = malloc(hlen + OPS_KEY_LEN + ops_len + 2)))
		return NULL;
	memcpy(s, head, hlen);
	memcpy(s + hlen, ops_key, OPS_KEY_LEN);
	memcpy(s + hlen + OPS_KEY_LEN, ops, ops_len);
	*len = hlen + OPS_KEY_LEN + ops_len + 1;
	s[*len - 1] = '}';
	s[*len] = 0;
	return s;
}

/* 1 if @p e's body is exactly what encode_body gives for its fields and
 * @p ops, 0 if not, -1 when out of memory. */
static int body_is_canonical(const ssync_entry *e, const char *ops, size_t ops_len)
{
	char head[HEADER_MAX];
	size_t hlen = encode_header(e, head);

	if (hlen == 0)
		return -1;
	return e->body_len == hlen + OPS_KEY_LEN + ops_len + 1 &&
		memcmp(e->body, head, hlen) == 0 &&
		memcmp(e->body + hlen, ops_key, OPS_KEY_LEN) == 0 &&
		memcmp(e->body + hlen + OPS_KEY_LEN, ops, ops_len) == 0 &&
		e->body[e->body_len - 1] == '}';
}

/* A JSON string with no NUL inside: with JSON_ALLOW_NUL the parser lets
 * \u0000 through, so names are checked whole, not up to their first NUL. */
static int whole_string(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v);
}

static int is_value(const json_t *v)
{
	if (json_is_null(v) || json_is_integer(v) || json_is_real(v) || json_is_string(v))
		return 1;
	/* blobs: {"b64":"..."} */
	if (json_is_object(v) && json_object_size(v) == 1) {
		json_t *b = json_object_get(v, "b64");
		return b && json_is_string(b) && whole_string(b);
	}
	return 0;
}

int ssync_entry__check_op(const json_t *op, ssync_error *err)
{
	json_t *t, *k, *c, *cell;
	size_t i, j;

	if (!json_is_object(op) || json_object_size(op) != 3)
		return ssync_error_set(err, SSYNC_ESCHEMA, "op is not an object with exactly t, k, c");
	t = json_object_get(op, "t");
	k = json_object_get(op, "k");
	c = json_object_get(op, "c");
	if (!json_is_string(t) || !whole_string(t) || !ssync_ident_sql_valid(json_string_value(t)))
		return ssync_error_set(err, SSYNC_ESCHEMA, "op has an invalid table name");
	if (!json_is_string(k) || json_string_length(k) == 0 || json_string_length(k) > SSYNC_KEY_MAX_BYTES)
		return ssync_error_set(err, SSYNC_ESCHEMA, "op on %s has an invalid key", json_string_value(t));
	if (!json_is_array(c) || json_array_size(c) == 0)
		return ssync_error_set(err, SSYNC_ESCHEMA, "op on %s has no cells", json_string_value(t));
	json_array_foreach(c, i, cell) {
		json_t *col, *prevs, *p;
		const char *cn;
		if (!json_is_array(cell) || json_array_size(cell) != 3)
			return ssync_error_set(err, SSYNC_ESCHEMA, "cell %zu of %s is not [column, value, prevs]", i, json_string_value(t));
		col = json_array_get(cell, 0);
		prevs = json_array_get(cell, 2);
		cn = json_string_value(col);
		if (!cn || !whole_string(col) || (strcmp(cn, "$row") != 0 && !ssync_ident_sql_valid(cn)))
			return ssync_error_set(err, SSYNC_ESCHEMA, "cell %zu of %s has an invalid column name", i, json_string_value(t));
		if (!is_value(json_array_get(cell, 1)))
			return ssync_error_set(err, SSYNC_ESCHEMA, "cell %s.%s has an invalid value", json_string_value(t), cn);
		if (strcmp(cn, "$row") == 0) {
			json_t *v = json_array_get(cell, 1);
			if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1))
				return ssync_error_set(err, SSYNC_ESCHEMA, "row marker of %s must be 0 or 1", json_string_value(t));
		}
		if (!json_is_array(prevs) || json_array_size(prevs) > 64)
			return ssync_error_set(err, SSYNC_ESCHEMA, "cell %s.%s has invalid prevs", json_string_value(t), cn);
		json_array_foreach(prevs, j, p) {
			char node[SSYNC_NODE_ID_MAX + 1];
			int64_t seq;
			if (!json_is_string(p) || !whole_string(p) || ssync_version_parse(json_string_value(p), node, &seq) != 0)
				return ssync_error_set(err, SSYNC_ESCHEMA, "cell %s.%s has an invalid prev version", json_string_value(t), cn);
		}
	}
	return 0;
}

/* Up to 40 bytes of @p s for a message, control bytes shown as '?'. */
static const char *shown(char buf[48], const char *s, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	for (i = 0; i < n; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[n] = 0;
	return buf;
}

/* One cell value; 0 or a reason in @p why. */
static int admit_value(const json_t *v, const char **why, size_t *size)
{
	*size = 0;
	if (json_is_string(v)) {
		*size = json_string_length(v);
		if (memchr(json_string_value(v), 0, *size)) {
			*why = "text contains a NUL character";
			return -1;
		}
	} else if (json_is_real(v)) {
		if (!isfinite(json_real_value(v))) {
			*why = "a number that is not finite";
			return -1;
		}
	} else if (json_is_object(v)) {
		/* a blob: standard base64, padded, exactly as the encoder writes it */
		const char *b64 = json_string_value(json_object_get(v, "b64"));
		size_t blen = json_string_length(json_object_get(v, "b64")), got = 0;
		unsigned char *bin = malloc(blen / 4 * 3 + 3);
		char *again = NULL;
		int ok = 0;

		if (!bin) {
			*why = "out of memory";
			return -2;
		}
		if (blen % 4 == 0 && sodium_base642bin(bin, blen / 4 * 3 + 3, b64, blen, NULL, &got, NULL,
			sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    (again = malloc(sodium_base64_ENCODED_LEN(got, sodium_base64_VARIANT_ORIGINAL)))) {
			sodium_bin2base64(again, sodium_base64_ENCODED_LEN(got, sodium_base64_VARIANT_ORIGINAL), bin, got,
				sodium_base64_VARIANT_ORIGINAL);
			ok = strlen(again) == blen && memcmp(again, b64, blen) == 0;
		}
		free(again);
		free(bin);
		*size = got;
		if (!ok) {
			*why = "a blob that is not canonical standard base64";
			return -1;
		}
	}
	if (*size > SSYNC_VALUE_MAX_BYTES) {
		*why = "too large";
		return -1;
	}
	return 0;
}

int ssync_entry__admit_values(const ssync_entry *e, ssync_error *err)
{
	const json_t *op;
	size_t i;

	json_array_foreach(e->ops, i, op) {
		const char *t = json_string_value(json_object_get(op, "t"));
		const json_t *k = json_object_get(op, "k"), *cell;
		const char *ks = json_string_value(k);
		size_t klen = json_string_length(k), j, n;
		char kb[48];

		for (j = 0; j < klen; j++)
			if ((unsigned char)ks[j] < 0x20 || ks[j] == 0x7f)
				return ssync_error_set(err, SSYNC_EVALUE, "%s row '%s': the key contains a control character "
					"(byte 0x%02X); keys are 1-%d bytes of text without control characters (E_VALUE)",
					t, shown(kb, ks, klen), (unsigned)(unsigned char)ks[j], SSYNC_KEY_MAX_BYTES);
		json_array_foreach(json_object_get(op, "c"), j, cell) {
			const char *col = json_string_value(json_array_get(cell, 0)), *why = NULL;
			int r;
			if (strcmp(col, "$row") == 0)
				continue;
			if ((r = admit_value(json_array_get(cell, 1), &why, &n)) == -2)
				return ssync_error_set(err, SSYNC_ERROR, "out of memory");
			if (r < 0 && n > SSYNC_VALUE_MAX_BYTES)
				return ssync_error_set(err, SSYNC_EVALUE, "%s.%s of row '%s': a value of %zu bytes, over the "
					"limit of %d (E_VALUE)", t, col, shown(kb, ks, klen), n, SSYNC_VALUE_MAX_BYTES);
			if (r < 0)
				return ssync_error_set(err, SSYNC_EVALUE, "%s.%s of row '%s': %s (E_VALUE)",
					t, col, shown(kb, ks, klen), why);
		}
	}
	return 0;
}

int ssync_entry__build(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, const char *ops, size_t ops_len, ssync_error *err)
{
	ssync_entry *e;

	*out = NULL;
	if (!(e = calloc(1, sizeof(*e))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if (!ssync_ident_node_valid(node) || !ssync_ident_node_valid(district)) {
		ssync_entry_free(e);
		return ssync_error_set(err, SSYNC_EINVAL, "invalid node or district id");
	}
	if (!ssync_hlc_in_range(hlc)) { /* receivers would refuse it at parse */
		ssync_entry_free(e);
		return ssync_error_set(err, SSYNC_ECLOCK, "hlc %llu is outside the range 2000-01-01 to 2999-12-31 UTC (E_CLOCK)",
			(unsigned long long)hlc);
	}
	snprintf(e->node, sizeof(e->node), "%s", node);
	snprintf(e->district, sizeof(e->district), "%s", district);
	e->seq = seq;
	e->hlc = hlc;
	e->schema = schema;
	if (prev) {
		e->has_prev = 1;
		memcpy(e->prev, prev, SSYNC_HASH_BYTES);
	}
	if (!(e->actor = strdup(actor ? actor : "")) || !(e->body = encode_body(e, ops, ops_len, &e->body_len))) {
		ssync_entry_free(e);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory encoding entry");
	}
	if (e->body_len + 2 * SSYNC_SIG_BYTES + 2 > SSYNC_ENTRY_MAX_BYTES) {
		size_t n = e->body_len;
		ssync_entry_free(e);
		return ssync_error_set(err, SSYNC_ETOOLARGE, "entry of %zu bytes exceeds the %d byte limit", n, SSYNC_ENTRY_MAX_BYTES);
	}
	*out = e;
	return 0;
}

void ssync_entry__seal(ssync_entry *e, const ssync_keypair *kp)
{
	crypto_hash_sha256(e->hash, (const unsigned char *)e->body, e->body_len);
	ssync_keys_sign(kp, e->body, e->body_len, e->sig);
}

int ssync_entry__create_text(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, const char *ops, size_t ops_len, const ssync_keypair *kp, ssync_error *err)
{
	int error = ssync_entry__build(out, district, node, seq, prev, hlc, actor, schema, ops, ops_len, err);

	if (error == 0)
		ssync_entry__seal(*out, kp);
	return error;
}

int ssync_entry__create(ssync_entry **out, const char *district, const char *node,
	int64_t seq, const unsigned char *prev, uint64_t hlc, const char *actor,
	int schema, json_t *ops, const ssync_keypair *kp, ssync_error *err)
{
	char *text = ops ? json_dumps(ops, SSYNC_JSON_FLAGS) : NULL;
	int error;

	*out = NULL;
	if (!text) {
		json_decref(ops);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory encoding entry");
	}
	if ((error = ssync_entry__create_text(out, district, node, seq, prev, hlc, actor, schema,
		text, strlen(text), kp, err)) == 0)
		(*out)->ops = ops;
	else
		json_decref(ops);
	free(text);
	return error;
}

static const char *get_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Parse e->body (e->body_len bytes): JSON, the ten members, ops, and the
 * canonical encoding. Fills e's fields; e->ops is set on success. */
static int parse_body_into(ssync_entry *e, ssync_error *err)
{
	json_t *o = NULL, *v;
	json_error_t jerr;
	const char *s;
	char *opstext = NULL;
	size_t i;
	int error = 0, canon;

	/* \u0000 parses (JSON_ALLOW_NUL): identifiers are checked whole and
	 * values by admission, so a NUL in a value is refused as E_VALUE and
	 * does not stop the branch (docs/FORMAT.md §1 Values). */
	if (!(o = json_loadb(e->body, e->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr))) {
		error = ssync_error_set(err, SSYNC_EENCODING, "entry body is not valid JSON (column %d: %s)", jerr.column, jerr.text);
		goto done;
	}
	if (!json_is_object(o) || json_object_size(o) != 10 ||
	    json_integer_value(json_object_get(o, "entry")) != 1 || !json_is_integer(json_object_get(o, "entry"))) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry body does not have the 10 fields of format 1");
		goto done;
	}
	if (!(s = get_str(o, "node")) || !ssync_ident_node_valid(s)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry has an invalid node id");
		goto done;
	}
	snprintf(e->node, sizeof(e->node), "%s", s);
	if (!(s = get_str(o, "district")) || !ssync_ident_node_valid(s)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry has an invalid district id");
		goto done;
	}
	snprintf(e->district, sizeof(e->district), "%s", s);
	v = json_object_get(o, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry of %s has an invalid seq", e->node);
		goto done;
	}
	e->seq = json_integer_value(v);
	v = json_object_get(o, "prev");
	if (json_is_string(v)) {
		if (ssync_hex_decode(e->prev, SSYNC_HASH_BYTES, json_string_value(v)) != 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid prev hash", e->node, (long long)e->seq);
			goto done;
		}
		e->has_prev = 1;
	} else if (!json_is_null(v)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid prev", e->node, (long long)e->seq);
		goto done;
	}
	if ((e->seq == 1) != !e->has_prev) {
		error = ssync_error_set(err, SSYNC_ECHAIN, "entry %s#%lld: prev must be null exactly for seq 1", e->node, (long long)e->seq);
		goto done;
	}
	v = json_object_get(o, "hlc");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid hlc", e->node, (long long)e->seq);
		goto done;
	}
	e->hlc = (uint64_t)json_integer_value(v);
	if (!ssync_hlc_in_range(e->hlc)) {
		/* Before anything can compare, add to or adopt it (FORMAT.md §1). */
		error = ssync_error_set(err, SSYNC_ECLOCK, "entry %s#%lld has hlc %llu, outside the range "
			"2000-01-01 to 2999-12-31 UTC (E_CLOCK)", e->node, (long long)e->seq, (unsigned long long)e->hlc);
		goto done;
	}
	if (!json_is_string(json_object_get(o, "time"))) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has no time", e->node, (long long)e->seq);
		goto done;
	}
	if (!(s = get_str(o, "actor")) || strlen(s) > 256) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid actor", e->node, (long long)e->seq);
		goto done;
	}
	if (!(e->actor = strdup(s))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	v = json_object_get(o, "schema");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has an invalid schema version", e->node, (long long)e->seq);
		goto done;
	}
	e->schema = (int)json_integer_value(v);
	v = json_object_get(o, "ops");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "entry %s#%lld has no ops", e->node, (long long)e->seq);
		goto done;
	}
	for (i = 0; i < json_array_size(v); i++) {
		if ((error = ssync_entry__check_op(json_array_get(v, i), err)) < 0)
			goto done;
	}
	e->ops = json_incref(v);
	/* Only the canonical encoding is accepted. */
	if (!(opstext = json_dumps(v, SSYNC_JSON_FLAGS)) || (canon = body_is_canonical(e, opstext, strlen(opstext))) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (!canon) {
		error = ssync_error_set(err, SSYNC_EENCODING, "entry %s#%lld is not in canonical encoding", e->node, (long long)e->seq);
		goto done;
	}
done:
	free(opstext);
	json_decref(o);
	return error;
}


int ssync_entry_parse(ssync_entry **out, const char *line, size_t len, ssync_error *err)
{
	ssync_entry *e = NULL;
	const char *tab, *s;
	size_t i;
	int error = 0;

	*out = NULL;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > SSYNC_ENTRY_MAX_BYTES)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "entry line of %zu bytes exceeds the limit", len);
	if (len < 2 * SSYNC_SIG_BYTES + 2 || line[len - 2 * SSYNC_SIG_BYTES - 1] != '\t')
		return ssync_error_set(err, SSYNC_ESCHEMA, "entry line is not BODY<TAB>SIGNATURE");
	tab = line + len - 2 * SSYNC_SIG_BYTES - 1;
	for (s = line; s < tab; s++)
		if (*s == '\t' || *s == '\n' || *s == '\0')
			return ssync_error_set(err, SSYNC_EENCODING, "entry body contains a raw control byte");
	if (!(e = calloc(1, sizeof(*e))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	for (i = 0; i < 2 * SSYNC_SIG_BYTES; i++)
		if (!((tab[1 + i] >= '0' && tab[1 + i] <= '9') || (tab[1 + i] >= 'a' && tab[1 + i] <= 'f'))) {
			error = ssync_error_set(err, SSYNC_EENCODING, "signature is not lower-case hex");
			goto done;
		}
	{
		char sighex[2 * SSYNC_SIG_BYTES + 1];
		memcpy(sighex, tab + 1, 2 * SSYNC_SIG_BYTES);
		sighex[2 * SSYNC_SIG_BYTES] = 0;
		if (ssync_hex_decode(e->sig, SSYNC_SIG_BYTES, sighex) != 0) {
			error = ssync_error_set(err, SSYNC_EENCODING, "signature is not hex");
			goto done;
		}
	}
	e->body_len = (size_t)(tab - line);
	if (!(e->body = malloc(e->body_len + 1))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	memcpy(e->body, line, e->body_len);
	e->body[e->body_len] = 0;
	crypto_hash_sha256(e->hash, (const unsigned char *)e->body, e->body_len);
	if ((error = parse_body_into(e, err)) < 0)
		goto done;
	*out = e;
	e = NULL;
done:
	ssync_entry_free(e);
	return error;
}

int ssync_entry__parse_body(ssync_entry **out, const char *body, size_t len, ssync_error *err)
{
	ssync_entry *e;
	int error;

	*out = NULL;
	if (len + 2 * SSYNC_SIG_BYTES + 1 > SSYNC_ENTRY_MAX_BYTES)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "entry of %zu bytes exceeds the %d byte limit", len, SSYNC_ENTRY_MAX_BYTES);
	if (memchr(body, '\n', len) || memchr(body, '\t', len) || memchr(body, 0, len))
		return ssync_error_set(err, SSYNC_EENCODING, "entry body contains a raw control byte");
	if (!(e = calloc(1, sizeof(*e))) || !(e->body = malloc(len + 1))) {
		free(e);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	memcpy(e->body, body, len);
	e->body[len] = 0;
	e->body_len = len;
	if ((error = parse_body_into(e, err)) < 0) {
		ssync_entry_free(e);
		return error;
	}
	*out = e;
	return 0;
}

int ssync_entry_verify(const ssync_entry *e, const unsigned char pk[SSYNC_PUBKEY_BYTES], ssync_error *err)
{
	int i, ok = -1;

	for (i = 0; i < e->nvkeys && ok < 0; i++)
		if (memcmp(e->vkeys[i], pk, SSYNC_PUBKEY_BYTES) == 0)
			ok = (e->vok >> i) & 1u;
	if (ok < 0)
		ok = ssync_keys_verify(pk, e->body, e->body_len, e->sig) == 0;
	if (!ok)
		return ssync_error_set(err, SSYNC_ESIG, "bad signature on entry %s#%lld", e->node, (long long)e->seq);
	return 0;
}

int ssync_entry_line(const ssync_entry *e, char **out, size_t *len, ssync_error *err)
{
	size_t n = e->body_len + 1 + 2 * SSYNC_SIG_BYTES + 1;
	char *s = malloc(n + 1);

	*out = NULL;
	if (!s)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(s, e->body, e->body_len);
	s[e->body_len] = '\t';
	ssync_hex_encode(s + e->body_len + 1, e->sig, SSYNC_SIG_BYTES);
	s[n - 1] = '\n';
	s[n] = 0;
	*out = s;
	if (len)
		*len = n;
	return 0;
}
