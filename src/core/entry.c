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

void ssync_entry_free(ssync_entry *e)
{
	if (!e)
		return;
	free(e->actor);
	free(e->value_msg);
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

int ssync_entry__admit_values(const ssync_entry *e, ssync_error *err)
{
	ssync_canon cn;
	int error;

	if (e->verdict_done)
		return e->value_error ? ssync_error_set(err, e->value_error, "%s", e->value_msg) : 0;
	/* built here, not parsed: the same one pass over its bytes */
	memset(&cn, 0, sizeof(cn));
	if ((error = ssync_canon__body(e->body, e->body_len, &cn, err)) < 0)
		return error;
	return cn.value_error ? ssync_error_set(err, cn.value_error, "%s", cn.value_err.message) : 0;
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
	/* from the environment or a login name: the user's to correct, not
	 * "out of memory" from the encoder (FORMAT.md §1: actor <= 256 bytes) */
	if (actor && (strlen(actor) > 256 || !ssync_canon__utf8(actor, strlen(actor)))) {
		ssync_entry_free(e);
		return ssync_error_set(err, SSYNC_EINVAL, "the actor name '%.40s' is not UTF-8 text of at most 256 bytes "
			"(set SCHOOLSYNC_ACTOR, or the writer's login name, to UTF-8)", actor);
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

/* Parse e->body (e->body_len bytes): the one-pass check of canon.c decides
 * (the same function the writer ran before signing), then jansson reads the
 * ops array it delimited into the tree receivers apply. */
static int parse_body_into(ssync_entry *e, ssync_error *err)
{
	ssync_canon cn;
	json_error_t jerr;
	int error;

	memset(&cn, 0, sizeof(cn));
	if ((error = ssync_canon__body(e->body, e->body_len, &cn, err)) < 0)
		return error;
	snprintf(e->node, sizeof(e->node), "%s", cn.node);
	snprintf(e->district, sizeof(e->district), "%s", cn.district);
	e->seq = cn.seq;
	e->has_prev = cn.has_prev;
	memcpy(e->prev, cn.prev, SSYNC_HASH_BYTES);
	e->hlc = cn.hlc;
	e->schema = cn.schema;
	if (!(e->actor = strdup(cn.actor)) ||
	    (cn.value_error && !(e->value_msg = strdup(cn.value_err.message))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	e->value_error = cn.value_error;
	e->verdict_done = 1;
	/* \u0000 parses (JSON_ALLOW_NUL): a NUL in a value is E_VALUE above */
	if (!(e->ops = json_loadb(e->body + cn.ops_off, cn.ops_len, JSON_ALLOW_NUL, &jerr)))
		return ssync_error_set(err, strstr(jerr.text, "memory") ? SSYNC_ERROR : SSYNC_EENCODING,
			"entry %s#%lld: ops not readable (%s)", e->node, (long long)e->seq, jerr.text);
	return 0;
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
