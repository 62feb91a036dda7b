/* Key store objects (keystore_int.h, docs/PRIVACY.md): encode, sign and
 * parse. Like trust objects, a body is accepted only if re-encoding its
 * parsed content gives the same bytes, so every node reads one meaning. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "entry_int.h"
#include "keystore_int.h"
#include "schoolsync/hex.h"
#include "schoolsync/ident.h"

#define B64 sodium_base64_VARIANT_ORIGINAL
#define BOX_B64 sodium_base64_ENCODED_LEN(SSYNC_KEYSTORE_BOX, B64) /* with NUL */

void ssync_keystore__clear(ssync_keystore *ks)
{
	int i;

	for (i = 0; i < ks->nkeys; i++)
		free(ks->keys[i].wraps);
	free(ks->keys);
	free(ks->erased);
	free(ks->grants);
	free(ks->body);
	memset(ks, 0, sizeof(*ks));
}

static int wrap_cmp(const void *a, const void *b)
{
	return strcmp(((const ssync_ks_wrap *)a)->node, ((const ssync_ks_wrap *)b)->node);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const ssync_ks_key *)a)->kid, ((const ssync_ks_key *)b)->kid);
}

static int kid_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int grant_cmp(const void *a, const void *b)
{
	const ssync_ks_grant *x = a, *y = b;
	int c = strcmp(x->auditor, y->auditor);

	return c ? c : strcmp(x->school, y->school);
}

static char *encode(const ssync_keystore *ks, size_t *len)
{
	json_t *o = json_object(), *keys = json_array(), *erased = json_array(), *grants = json_array();
	char b64[BOX_B64], *s = NULL;
	int i, j, bad = !o || !keys || !erased || !grants;

	for (i = 0; !bad && i < ks->nkeys; i++) {
		json_t *k = json_array(), *to = json_array();
		bad = !k || !to;
		for (j = 0; !bad && j < ks->keys[i].nwraps; j++) {
			sodium_bin2base64(b64, sizeof(b64), ks->keys[i].wraps[j].box, SSYNC_KEYSTORE_BOX, B64);
			bad = json_array_append_new(to, json_pack("[ss]", ks->keys[i].wraps[j].node, b64)) != 0;
		}
		bad = bad || json_array_append_new(k, json_string(ks->keys[i].kid)) || json_array_append(k, to) ||
			json_array_append(keys, k);
		json_decref(to);
		json_decref(k);
	}
	for (i = 0; !bad && i < ks->nerased; i++)
		bad = json_array_append_new(erased, json_string(ks->erased[i])) != 0;
	for (i = 0; !bad && i < ks->ngrants; i++)
		bad = json_array_append_new(grants, json_pack("[ss]", ks->grants[i].auditor, ks->grants[i].school)) != 0;
	bad = bad || json_object_set_new(o, "keystore", json_integer(1)) ||
		json_object_set_new(o, "district", json_string(ks->district)) ||
		json_object_set_new(o, "node", json_string(ks->node)) ||
		json_object_set_new(o, "version", json_integer(ks->version)) ||
		json_object_set(o, "keys", keys) || json_object_set(o, "erased", erased) ||
		json_object_set(o, "grants", grants);
	if (!bad && (s = json_dumps(o, SSYNC_JSON_FLAGS)))
		*len = strlen(s);
	json_decref(keys);
	json_decref(erased);
	json_decref(grants);
	json_decref(o);
	return s;
}

int ssync_keystore__sign(ssync_keystore *ks, const ssync_keypair *kp, char **line, size_t *len, ssync_error *err)
{
	char *s;
	int i;

	*line = NULL;
	for (i = 0; i < ks->nkeys; i++)
		qsort(ks->keys[i].wraps, (size_t)ks->keys[i].nwraps, sizeof(ssync_ks_wrap), wrap_cmp);
	if (ks->nkeys)
		qsort(ks->keys, (size_t)ks->nkeys, sizeof(*ks->keys), key_cmp);
	if (ks->nerased)
		qsort(ks->erased, (size_t)ks->nerased, sizeof(*ks->erased), kid_cmp);
	if (ks->ngrants)
		qsort(ks->grants, (size_t)ks->ngrants, sizeof(*ks->grants), grant_cmp);
	free(ks->body);
	if (!(ks->body = encode(ks, &ks->body_len)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory encoding the key store");
	if (ks->body_len + 2 * SSYNC_SIG_BYTES + 2 > SSYNC_KEYSTORE_MAX)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "the key store would be %zu bytes, over the %zu it may have",
			ks->body_len, SSYNC_KEYSTORE_MAX);
	ssync_keys_sign(kp, ks->body, ks->body_len, ks->sig);
	if (!(s = malloc(ks->body_len + 2 * SSYNC_SIG_BYTES + 3)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(s, ks->body, ks->body_len);
	s[ks->body_len] = '\t';
	ssync_hex_encode(s + ks->body_len + 1, ks->sig, SSYNC_SIG_BYTES);
	s[ks->body_len + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
	s[ks->body_len + 2 + 2 * SSYNC_SIG_BYTES] = 0;
	*line = s;
	*len = ks->body_len + 2 + 2 * SSYNC_SIG_BYTES;
	return 0;
}

static int copy_id(char *out, size_t cap, json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !ssync_ident_node_valid(s) || strlen(s) >= cap)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int copy_kid(char *out, json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !ssync_cell_kid_valid(s))
		return -1;
	memcpy(out, s, SSYNC_KID_HEX + 1);
	return 0;
}

static int parse_box(unsigned char *box, json_t *v)
{
	const char *s = json_string_value(v), *end = NULL;
	size_t n = 0;

	/* the length pins the padding; the re-encoding pins the rest */
	if (!s || strlen(s) != BOX_B64 - 1 ||
	    sodium_base642bin(box, SSYNC_KEYSTORE_BOX, s, BOX_B64 - 1, NULL, &n, &end, B64) != 0 ||
	    n != SSYNC_KEYSTORE_BOX || *end)
		return -1;
	return 0;
}

static int parse_lists(ssync_keystore *ks, json_t *keys, json_t *erased, json_t *grants)
{
	size_t i, j;

	if (!json_is_array(keys) || !json_is_array(erased) || !json_is_array(grants))
		return -1;
	if ((json_array_size(keys) && !(ks->keys = calloc(json_array_size(keys), sizeof(*ks->keys)))) ||
	    (json_array_size(erased) && !(ks->erased = calloc(json_array_size(erased), sizeof(*ks->erased)))) ||
	    (json_array_size(grants) && !(ks->grants = calloc(json_array_size(grants), sizeof(*ks->grants)))))
		return -2;
	for (i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i), *to = json_array_get(k, 1);
		ssync_ks_key *key = &ks->keys[i];
		if (!json_is_array(k) || json_array_size(k) != 2 || !json_is_array(to) || json_array_size(to) == 0 ||
		    copy_kid(key->kid, json_array_get(k, 0)) < 0)
			return -1;
		ks->nkeys++;
		if (i > 0 && strcmp(ks->keys[i - 1].kid, key->kid) >= 0)
			return -1;
		if (!(key->wraps = calloc(json_array_size(to), sizeof(*key->wraps))))
			return -2;
		for (j = 0; j < json_array_size(to); j++) {
			json_t *w = json_array_get(to, j);
			if (!json_is_array(w) || json_array_size(w) != 2 ||
			    copy_id(key->wraps[j].node, sizeof(key->wraps[j].node), json_array_get(w, 0)) < 0 ||
			    parse_box(key->wraps[j].box, json_array_get(w, 1)) < 0)
				return -1;
			key->nwraps++;
			if (j > 0 && strcmp(key->wraps[j - 1].node, key->wraps[j].node) >= 0)
				return -1;
		}
	}
	for (i = 0; i < json_array_size(erased); i++) {
		if (copy_kid(ks->erased[i], json_array_get(erased, i)) < 0)
			return -1;
		ks->nerased++;
		if (i > 0 && strcmp(ks->erased[i - 1], ks->erased[i]) >= 0)
			return -1;
	}
	for (i = 0; i < json_array_size(grants); i++) {
		json_t *g = json_array_get(grants, i);
		if (!json_is_array(g) || json_array_size(g) != 2 ||
		    copy_id(ks->grants[i].auditor, sizeof(ks->grants[i].auditor), json_array_get(g, 0)) < 0 ||
		    copy_id(ks->grants[i].school, sizeof(ks->grants[i].school), json_array_get(g, 1)) < 0)
			return -1;
		ks->ngrants++;
		if (i > 0 && grant_cmp(&ks->grants[i - 1], &ks->grants[i]) >= 0)
			return -1;
	}
	return 0;
}

int ssync_keystore__parse(ssync_keystore *ks, const char *line, size_t len, ssync_error *err)
{
	json_t *o = NULL;
	json_error_t jerr;
	const char *tab, *first;
	char sighex[2 * SSYNC_SIG_BYTES + 1], *re = NULL;
	size_t relen = 0, i;
	int error = 0, rc;

	memset(ks, 0, sizeof(*ks));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len < 2 * SSYNC_SIG_BYTES + 2 || len > SSYNC_KEYSTORE_MAX || line[len - 2 * SSYNC_SIG_BYTES - 1] != '\t')
		return ssync_error_set(err, SSYNC_EENCODING, "key store: not a signed line (BODY TAB SIGNATURE)");
	tab = line + len - 2 * SSYNC_SIG_BYTES - 1;
	memcpy(sighex, tab + 1, 2 * SSYNC_SIG_BYTES);
	sighex[2 * SSYNC_SIG_BYTES] = 0;
	for (i = 0; i < 2 * SSYNC_SIG_BYTES; i++)
		if (!((sighex[i] >= '0' && sighex[i] <= '9') || (sighex[i] >= 'a' && sighex[i] <= 'f')))
			return ssync_error_set(err, SSYNC_EENCODING, "key store: signature is not lower-case hex");
	if (ssync_hex_decode(ks->sig, SSYNC_SIG_BYTES, sighex) != 0)
		return ssync_error_set(err, SSYNC_EENCODING, "key store: signature is not hex");
	ks->body_len = (size_t)(tab - line);
	if (memchr(line, '\0', ks->body_len) || !(ks->body = malloc(ks->body_len + 1)))
		return ssync_error_set(err, ks->body ? SSYNC_ERROR : SSYNC_EENCODING, "key store: bad body");
	memcpy(ks->body, line, ks->body_len);
	ks->body[ks->body_len] = 0;
	if (!(o = json_loadb(ks->body, ks->body_len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(o)) {
		error = ssync_error_set(err, SSYNC_EENCODING, "key store: body is not a JSON object");
		goto done;
	}
	first = json_object_iter_key(json_object_iter(o));
	if (!first || strcmp(first, "keystore") != 0 || !json_is_integer(json_object_get(o, "keystore")) ||
	    json_integer_value(json_object_get(o, "keystore")) != 1 ||
	    copy_id(ks->district, sizeof(ks->district), json_object_get(o, "district")) < 0 ||
	    copy_id(ks->node, sizeof(ks->node), json_object_get(o, "node")) < 0 ||
	    !json_is_integer(json_object_get(o, "version")) || json_integer_value(json_object_get(o, "version")) < 1) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "key store: not a key store, or bad district, node or version");
		goto done;
	}
	ks->version = json_integer_value(json_object_get(o, "version"));
	if ((rc = parse_lists(ks, json_object_get(o, "keys"), json_object_get(o, "erased"), json_object_get(o, "grants"))) < 0) {
		error = rc == -2 ? ssync_error_set(err, SSYNC_ERROR, "out of memory")
			: ssync_error_set(err, SSYNC_ESCHEMA, "key store of %s: malformed or unsorted keys, erased or grants", ks->node);
		goto done;
	}
	if (!(re = encode(ks, &relen))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (relen != ks->body_len || memcmp(re, ks->body, relen) != 0)
		error = ssync_error_set(err, SSYNC_EENCODING, "key store of %s is not in canonical encoding", ks->node);
done:
	free(re);
	json_decref(o);
	return error;
}
