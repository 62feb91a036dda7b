/* Hub checkpoints, byte for byte (docs/TRUST.md §2): one signed line
 *   {"witness":1,"district":D,"hub":H,"n":N,"prev":P,"time":T,"heads":[[node,seq,hash],...]} TAB SIG LF
 * compact JSON in this member order, accepted only if re-encoding gives
 * the same bytes (like entries and trust objects). SIG is Ed25519 by the
 * hub node's certified key over BODY; the checkpoint's hash (what the next
 * one's prev names) is SHA-256 of BODY. Heads are sorted by node id, at
 * most one per node, at most SSYNC_WITNESS_MAX_HEADS. The signer encodes
 * with the same function the parser re-encodes with, and parses its own
 * line back before it returns it, so it never signs what receivers refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "entry_int.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/ident.h"
#include "wobj_int.h"

void ssync_witness__wobj_clear(ssync_wobj *w)
{
	free(w->body);
	w->body = NULL;
	w->body_len = 0;
}

void ssync_witness__wobj_free(ssync_wobj *w)
{
	if (!w)
		return;
	ssync_witness__wobj_clear(w);
	free(w);
}

static char *wobj_encode(const ssync_wobj *w, size_t *len)
{
	char hex[65];
	json_t *o = json_object(), *heads = json_array();
	char *s = NULL;
	int bad = !o || !heads, i;

	for (i = 0; !bad && i < w->nheads; i++) {
		json_t *h = json_array();
		ssync_hex_encode(hex, w->heads[i].hash, 32);
		bad = !h || json_array_append_new(h, json_string(w->heads[i].node)) ||
			json_array_append_new(h, json_integer(w->heads[i].seq)) ||
			json_array_append_new(h, json_string(hex)) || json_array_append_new(heads, h);
	}
	if (w->has_prev)
		ssync_hex_encode(hex, w->prev, 32);
	if (!bad)
		bad = json_object_set_new(o, "witness", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(w->district)) ||
			json_object_set_new(o, "hub", json_string(w->hub)) ||
			json_object_set_new(o, "n", json_integer(w->n)) ||
			json_object_set_new(o, "prev", w->has_prev ? json_string(hex) : json_null()) ||
			json_object_set_new(o, "time", json_integer(w->time)) ||
			json_object_set(o, "heads", heads);
	if (!bad && (s = json_dumps(o, SSYNC_JSON_FLAGS)))
		*len = strlen(s);
	json_decref(heads);
	json_decref(o);
	return s;
}

static int hex32(const char *s, unsigned char out[32])
{
	const char *p;

	if (!s || strlen(s) != 64)
		return -1;
	for (p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -1;
	return ssync_hex_decode(out, 32, s) == 0 ? 0 : -1;
}

static int id_ok(const char *s)
{
	return s && strlen(s) <= SSYNC_NODE_ID_MAX && ssync_ident_node_valid(s);
}

/* Everything but canonical bytes: the rules the writer must also keep. */
static int check_fields(const ssync_wobj *w, ssync_error *err)
{
	int i;

	if (!id_ok(w->district) || !id_ok(w->hub))
		return ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: bad district or hub id");
	if (w->n < 1 || w->n > INT64_C(999999999999) || (w->n == 1) == (w->has_prev != 0))
		return ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: position must be 1..999999999999, "
			"with prev null exactly at position 1");
	if (w->time < (int64_t)SSYNC_HLC_MIN_MS || w->time > (int64_t)SSYNC_HLC_MAX_MS)
		return ssync_error_set(err, SSYNC_ECLOCK, "checkpoint: time outside 2000-01-01 .. 2999-12-31 (E_CLOCK)");
	if (w->nheads < 0 || w->nheads > SSYNC_WITNESS_MAX_HEADS)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "checkpoint: more than %d heads", SSYNC_WITNESS_MAX_HEADS);
	for (i = 0; i < w->nheads; i++) {
		if (!ssync_ident_branch_parse(w->heads[i].node, NULL, NULL) || w->heads[i].seq < 1)
			return ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: head %d: bad node (or node.g<G>) name or seq", i);
		if (i > 0 && strcmp(w->heads[i - 1].node, w->heads[i].node) >= 0)
			return ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: heads not sorted by name, or a name twice");
	}
	return 0;
}

int ssync_witness__wobj_sign(ssync_wobj *w, const ssync_keypair *kp, char **line, size_t *len, ssync_error *err)
{
	ssync_wobj *back = NULL;
	char *s;
	int error;

	*line = NULL;
	ssync_witness__wobj_clear(w);
	if ((error = check_fields(w, err)) < 0)
		return error;
	if (!(w->body = wobj_encode(w, &w->body_len)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory encoding a checkpoint");
	if (w->body_len + 2 + 2 * SSYNC_SIG_BYTES > SSYNC_WITNESS_MAX_LINE)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "checkpoint longer than %d bytes", SSYNC_WITNESS_MAX_LINE);
	crypto_hash_sha256(w->hash, (const unsigned char *)w->body, w->body_len);
	ssync_keys_sign(kp, w->body, w->body_len, w->sig);
	if (!(s = malloc(w->body_len + 2 * SSYNC_SIG_BYTES + 3)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(s, w->body, w->body_len);
	s[w->body_len] = '\t';
	ssync_hex_encode(s + w->body_len + 1, w->sig, SSYNC_SIG_BYTES);
	s[w->body_len + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
	s[w->body_len + 2 + 2 * SSYNC_SIG_BYTES] = 0;
	*len = w->body_len + 2 + 2 * SSYNC_SIG_BYTES;
	/* What we sign, every receiver parses: check it with their parser. */
	if (!(back = calloc(1, sizeof(*back)))) {
		free(s);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	error = ssync_witness__wobj_parse(back, s, *len, err);
	ssync_witness__wobj_free(back);
	if (error < 0) {
		free(s);
		return error;
	}
	*line = s;
	return 0;
}

static int get_int(json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int ssync_witness__wobj_parse(ssync_wobj *w, const char *line, size_t len, ssync_error *err)
{
	json_t *o = NULL, *heads, *v;
	json_error_t jerr;
	const char *tab, *s;
	char *re = NULL;
	size_t relen = 0, i;
	int error = 0;

	memset(w, 0, sizeof(*w));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len < 2 * SSYNC_SIG_BYTES + 2 || len + 1 > SSYNC_WITNESS_MAX_LINE || line[len - 2 * SSYNC_SIG_BYTES - 1] != '\t')
		return ssync_error_set(err, SSYNC_EENCODING, "checkpoint: not a signed line (BODY TAB SIGNATURE) of at most %d bytes",
			SSYNC_WITNESS_MAX_LINE);
	tab = line + len - 2 * SSYNC_SIG_BYTES - 1;
	for (s = tab + 1; s < line + len; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return ssync_error_set(err, SSYNC_EENCODING, "checkpoint: signature is not lower-case hex");
	{
		char sighex[2 * SSYNC_SIG_BYTES + 1];
		memcpy(sighex, tab + 1, 2 * SSYNC_SIG_BYTES);
		sighex[2 * SSYNC_SIG_BYTES] = 0;
		if (ssync_hex_decode(w->sig, SSYNC_SIG_BYTES, sighex) != 0)
			return ssync_error_set(err, SSYNC_EENCODING, "checkpoint: signature is not hex");
	}
	w->body_len = (size_t)(tab - line);
	if (!(w->body = malloc(w->body_len + 1)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(w->body, line, w->body_len);
	w->body[w->body_len] = 0;
	if (!(o = json_loadb(w->body, w->body_len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(o) ||
	    json_object_size(o) != 7) {
		error = ssync_error_set(err, SSYNC_EENCODING, "checkpoint: body is not a JSON object of seven members");
		goto done;
	}
	s = json_object_iter_key(json_object_iter(o));
	if (!s || strcmp(s, "witness") != 0 || !json_is_integer(json_object_get(o, "witness")) ||
	    json_integer_value(json_object_get(o, "witness")) != 1) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: first member must be \"witness\":1");
		goto done;
	}
	if (!(s = json_string_value(json_object_get(o, "district"))) || strlen(s) > SSYNC_NODE_ID_MAX ||
	    !snprintf(w->district, sizeof(w->district), "%s", s) ||
	    !(s = json_string_value(json_object_get(o, "hub"))) || strlen(s) > SSYNC_NODE_ID_MAX ||
	    !snprintf(w->hub, sizeof(w->hub), "%s", s) || get_int(json_object_get(o, "n"), &w->n) < 0 ||
	    get_int(json_object_get(o, "time"), &w->time) < 0) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: district, hub, n or time missing or of the wrong type");
		goto done;
	}
	v = json_object_get(o, "prev");
	if (json_is_string(v)) {
		if (hex32(json_string_value(v), w->prev) < 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: prev is not 64 lower-case hex");
			goto done;
		}
		w->has_prev = 1;
	} else if (!json_is_null(v)) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: prev must be a hash or null");
		goto done;
	}
	heads = json_object_get(o, "heads");
	if (!json_is_array(heads) || json_array_size(heads) > SSYNC_WITNESS_MAX_HEADS) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: heads must be an array of at most %d",
			SSYNC_WITNESS_MAX_HEADS);
		goto done;
	}
	for (i = 0; i < json_array_size(heads); i++) {
		json_t *h = json_array_get(heads, i);
		ssync_whead *wh = &w->heads[i];
		if (!json_is_array(h) || json_array_size(h) != 3 || !(s = json_string_value(json_array_get(h, 0))) ||
		    strlen(s) > SSYNC_BRANCH_NAME_MAX || get_int(json_array_get(h, 1), &wh->seq) < 0 ||
		    hex32(json_string_value(json_array_get(h, 2)), wh->hash) < 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "checkpoint: head %zu must be [node, seq, hash]", i);
			goto done;
		}
		snprintf(wh->node, sizeof(wh->node), "%s", s);
		w->nheads++;
	}
	if ((error = check_fields(w, err)) < 0)
		goto done;
	if (!(re = wobj_encode(w, &relen))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (relen != w->body_len || memcmp(re, w->body, relen) != 0) {
		error = ssync_error_set(err, SSYNC_EENCODING, "checkpoint is not in canonical encoding");
		goto done;
	}
	crypto_hash_sha256(w->hash, (const unsigned char *)w->body, w->body_len);
done:
	free(re);
	json_decref(o);
	if (error < 0)
		ssync_witness__wobj_clear(w);
	return error;
}

void ssync_witness__wobj_path(int64_t n, char *buf, size_t len)
{
	snprintf(buf, len, "witness/%07lld/%012lld.ckpt", (long long)(n / 1000), (long long)n);
}

int64_t ssync_witness__path_pos(const char *path)
{
	char want[64];
	int64_t n = 0;
	size_t i;

	if (strncmp(path, "witness/", 8) != 0 || strlen(path) != 8 + 7 + 1 + 12 + 5)
		return 0;
	for (i = 0; i < 12; i++) {
		char c = path[16 + i];
		if (c < '0' || c > '9')
			return 0;
		n = n * 10 + (c - '0');
	}
	ssync_witness__wobj_path(n, want, sizeof(want));
	return n >= 1 && strcmp(want, path) == 0 ? n : 0;
}
