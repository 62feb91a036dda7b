/* Trust objects (docs/TRUST.md §2): genesis, certificates and revocations
 * are signed lines like entries (BODY TAB SIG), canonical JSON whose first
 * member names the kind, signed by the district root. Encode, sign, parse
 * and the path each must have on refs/heads/district. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "entry_int.h"
#include "tobj_int.h"

void ssync_trust__tobj_clear(ssync_tobj *t)
{
	free(t->body);
	memset(t, 0, sizeof(*t));
}

int ssync_trust__role_valid(const char *r)
{
	return strcmp(r, "school") == 0 || strcmp(r, "hub") == 0 || strcmp(r, "auditor") == 0;
}

/* The canonical body: members in this order, compact (docs/TRUST.md). */
static char *tobj_encode(const ssync_tobj *t, size_t *len)
{
	char hex[2 * SSYNC_PUBKEY_BYTES + 1];
	json_t *o = json_object();
	char *s = NULL;
	int bad = 0;

	if (!o)
		return NULL;
	ssync_hex_encode(hex, t->key, SSYNC_PUBKEY_BYTES);
	switch (t->kind) {
	case SSYNC_TOBJ_GENESIS:
		bad = json_object_set_new(o, "genesis", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "name", json_string(t->name)) ||
			json_object_set_new(o, "root", json_string(hex)) ||
			json_object_set_new(o, "created", json_integer(t->created));
		break;
	case SSYNC_TOBJ_CERT:
		bad = json_object_set_new(o, "cert", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "node", json_string(t->node)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "role", json_string(t->role)) ||
			json_object_set_new(o, "school", t->school[0] ? json_string(t->school) : json_null()) ||
			json_object_set_new(o, "pubkey", json_string(hex)) ||
			json_object_set_new(o, "valid_from", json_integer(t->valid_from)) ||
			json_object_set_new(o, "valid_until", t->valid_until ? json_integer(t->valid_until) : json_null());
		/* optional, last: certificates without it stay valid (TRUST.md §2) */
		if (!bad && t->has_enckey) {
			char ehex[2 * SSYNC_ENCKEY_BYTES + 1];
			ssync_hex_encode(ehex, t->enckey, SSYNC_ENCKEY_BYTES);
			bad = json_object_set_new(o, "enckey", json_string(ehex));
		}
		break;
	case SSYNC_TOBJ_REVOKE:
		bad = json_object_set_new(o, "revoke", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "node", json_string(t->node)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "after_seq", json_integer(t->after_seq));
		break;
	case SSYNC_TOBJ_REENROLL: {
		char oldhex[2 * SSYNC_PUBKEY_BYTES + 1];
		ssync_hex_encode(oldhex, t->old_key, SSYNC_PUBKEY_BYTES);
		bad = json_object_set_new(o, "reenroll", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "node", json_string(t->node)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "gen", json_integer(t->gen)) ||
			json_object_set_new(o, "old_pubkey", json_string(oldhex)) ||
			json_object_set_new(o, "after_seq", json_integer(t->after_seq)) ||
			json_object_set_new(o, "pubkey", json_string(hex));
		break;
	}
	case SSYNC_TOBJ_ROTATE: {
		char oldhex[2 * SSYNC_PUBKEY_BYTES + 1];
		ssync_hex_encode(oldhex, t->old_key, SSYNC_PUBKEY_BYTES);
		bad = json_object_set_new(o, "rotate", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "old_root", json_string(oldhex)) ||
			json_object_set_new(o, "new_root", json_string(hex));
		break;
	}
	case SSYNC_TOBJ_WRESET:
		bad = json_object_set_new(o, "wreset", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "from", json_integer(t->wfrom)) ||
			json_object_set_new(o, "to", json_integer(t->wto)) ||
			json_object_set_new(o, "hub", json_string(t->node)) ||
			json_object_set_new(o, "pubkey", json_string(hex));
		break;
	default:
		bad = 1;
	}
	if (!bad && (s = json_dumps(o, SSYNC_JSON_FLAGS)))
		*len = strlen(s);
	json_decref(o);
	return s;
}

/* Encode and sign with the root; the wire line into *line (malloc'd). */
int ssync_trust__tobj_sign(ssync_tobj *t, const ssync_keypair *root, char **line, size_t *len, ssync_error *err)
{
	char *s;

	*line = NULL;
	free(t->body);
	if (!(t->body = tobj_encode(t, &t->body_len)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory encoding a trust object");
	ssync_keys_sign(root, t->body, t->body_len, t->sig);
	if (!(s = malloc(t->body_len + 2 * SSYNC_SIG_BYTES + 3)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(s, t->body, t->body_len);
	s[t->body_len] = '\t';
	ssync_hex_encode(s + t->body_len + 1, t->sig, SSYNC_SIG_BYTES);
	s[t->body_len + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
	s[t->body_len + 2 + 2 * SSYNC_SIG_BYTES] = 0;
	*line = s;
	*len = t->body_len + 2 + 2 * SSYNC_SIG_BYTES;
	return 0;
}

static int get_id(json_t *o, const char *k, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s || !ssync_ident_node_valid(s) || strlen(s) >= cap)
		return -1;
	snprintf(out, cap, "%s", s);
	return 0;
}

static int get_int(json_t *o, const char *k, int64_t *out, int nullable)
{
	json_t *v = json_object_get(o, k);

	if (nullable && json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Parse one line: syntax, types, and byte-identical re-encoding (the same
 * canonical rule as entries: there is exactly one encoding of an object). */
int ssync_trust__tobj_parse(ssync_tobj *t, const char *line, size_t len, ssync_error *err)
{
	json_t *o = NULL;
	json_error_t jerr;
	const char *tab, *first, *s;
	char *re = NULL;
	size_t relen = 0;
	int error = 0;
	char sighex[2 * SSYNC_SIG_BYTES + 1];

	memset(t, 0, sizeof(*t));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len < 2 * SSYNC_SIG_BYTES + 2 || len > 65536 || line[len - 2 * SSYNC_SIG_BYTES - 1] != '\t')
		return ssync_error_set(err, SSYNC_EENCODING, "not a signed line (BODY TAB SIGNATURE)");
	tab = line + len - 2 * SSYNC_SIG_BYTES - 1;
	memcpy(sighex, tab + 1, 2 * SSYNC_SIG_BYTES);
	sighex[2 * SSYNC_SIG_BYTES] = 0;
	for (s = sighex; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return ssync_error_set(err, SSYNC_EENCODING, "signature is not lower-case hex");
	if (ssync_hex_decode(t->sig, SSYNC_SIG_BYTES, sighex) != 0)
		return ssync_error_set(err, SSYNC_EENCODING, "signature is not hex");
	t->body_len = (size_t)(tab - line);
	if (!(t->body = malloc(t->body_len + 1)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	memcpy(t->body, line, t->body_len);
	t->body[t->body_len] = 0;
	if (!(o = json_loadb(t->body, t->body_len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(o)) {
		error = ssync_error_set(err, SSYNC_EENCODING, "body is not a JSON object");
		goto done;
	}
	first = json_object_iter_key(json_object_iter(o));
	if (!first) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "empty trust object");
		goto done;
	}
	if (strcmp(first, "genesis") == 0)
		t->kind = SSYNC_TOBJ_GENESIS;
	else if (strcmp(first, "cert") == 0)
		t->kind = SSYNC_TOBJ_CERT;
	else if (strcmp(first, "revoke") == 0)
		t->kind = SSYNC_TOBJ_REVOKE;
	else if (strcmp(first, "reenroll") == 0)
		t->kind = SSYNC_TOBJ_REENROLL;
	else if (strcmp(first, "rotate") == 0)
		t->kind = SSYNC_TOBJ_ROTATE;
	else if (strcmp(first, "wreset") == 0)
		t->kind = SSYNC_TOBJ_WRESET;
	if (!t->kind || json_integer_value(json_object_get(o, first)) != 1 || get_id(o, "district", t->district, sizeof(t->district)) < 0) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "unknown trust object kind or bad district");
		goto done;
	}
	if (t->kind == SSYNC_TOBJ_WRESET) {
		/* positions are checkpoint positions (1..999999999999); from = to + 1
		 * voids nothing and only names the witness key */
		if (get_int(o, "serial", &t->serial, 0) < 0 || t->serial < 1 || get_int(o, "from", &t->wfrom, 0) < 0 ||
		    get_int(o, "to", &t->wto, 0) < 0 || t->wfrom < 1 || t->wto > INT64_C(999999999999) ||
		    t->wfrom > t->wto + 1 || get_id(o, "hub", t->node, sizeof(t->node)) < 0 ||
		    ssync_hex_decode(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed witness reset");
			goto done;
		}
		if (sodium_is_zero(t->key, SSYNC_PUBKEY_BYTES) || crypto_core_ed25519_is_valid_point(t->key) != 1) {
			error = ssync_error_set(err, SSYNC_ECERT, "witness reset carries an invalid key (E_CERT_BADKEY)");
			goto done;
		}
	} else if (t->kind == SSYNC_TOBJ_ROTATE) {
		if (get_int(o, "serial", &t->serial, 0) < 0 || t->serial < 1 ||
		    ssync_hex_decode(t->old_key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "old_root"))) != 0 ||
		    ssync_hex_decode(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "new_root"))) != 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed root rotation");
			goto done;
		}
		if (sodium_is_zero(t->key, SSYNC_PUBKEY_BYTES) || crypto_core_ed25519_is_valid_point(t->key) != 1 ||
		    sodium_memcmp(t->key, t->old_key, SSYNC_PUBKEY_BYTES) == 0) {
			error = ssync_error_set(err, SSYNC_ECERT, "root rotation carries an invalid or unchanged key (E_ROOT)");
			goto done;
		}
		snprintf(t->node, sizeof(t->node), "root");
	} else if (t->kind == SSYNC_TOBJ_GENESIS) {
		s = json_string_value(json_object_get(o, "name"));
		if (!s || strlen(s) >= sizeof(t->name) || ssync_hex_decode(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "root"))) != 0 ||
		    get_int(o, "created", &t->created, 0) < 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed genesis record");
			goto done;
		}
		snprintf(t->name, sizeof(t->name), "%s", s);
	} else {
		if (get_id(o, "node", t->node, sizeof(t->node)) < 0 || get_int(o, "serial", &t->serial, 0) < 0 || t->serial < 1) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed node or serial");
			goto done;
		}
		if (t->kind == SSYNC_TOBJ_CERT) {
			json_t *sch = json_object_get(o, "school");
			s = json_string_value(json_object_get(o, "role"));
			if (!s || !ssync_trust__role_valid(s) || (!json_is_null(sch) && get_id(o, "school", t->school, sizeof(t->school)) < 0) ||
			    ssync_hex_decode(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0 ||
			    get_int(o, "valid_from", &t->valid_from, 0) < 0 || get_int(o, "valid_until", &t->valid_until, 1) < 0) {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed certificate");
				goto done;
			}
			snprintf(t->role, sizeof(t->role), "%s", s);
			if (json_object_get(o, "enckey")) {
				/* an all-zero X25519 key would seal to nobody's secret */
				if (ssync_hex_decode(t->enckey, SSYNC_ENCKEY_BYTES, json_string_value(json_object_get(o, "enckey"))) != 0 ||
				    sodium_is_zero(t->enckey, SSYNC_ENCKEY_BYTES)) {
					error = ssync_error_set(err, SSYNC_ECERT, "certificate of %s carries an invalid encryption key (E_CERT_BADKEY)", t->node);
					goto done;
				}
				t->has_enckey = 1;
			}
			/* A zero or small-order key would verify forged signatures (TESTPLAN 31). */
			if (sodium_is_zero(t->key, SSYNC_PUBKEY_BYTES) || crypto_core_ed25519_is_valid_point(t->key) != 1) {
				error = ssync_error_set(err, SSYNC_ECERT, "certificate of %s carries an invalid key (E_CERT_BADKEY)", t->node);
				goto done;
			}
		} else if (t->kind == SSYNC_TOBJ_REENROLL) {
			if (get_int(o, "gen", &t->gen, 0) < 0 || t->gen < 2 || t->gen > 999999999 ||
			    ssync_hex_decode(t->old_key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "old_pubkey"))) != 0 ||
			    get_int(o, "after_seq", &t->after_seq, 0) < 0 ||
			    ssync_hex_decode(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0) {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed re-enrolment");
				goto done;
			}
			if (sodium_is_zero(t->key, SSYNC_PUBKEY_BYTES) || crypto_core_ed25519_is_valid_point(t->key) != 1 ||
			    sodium_memcmp(t->key, t->old_key, SSYNC_PUBKEY_BYTES) == 0) {
				error = ssync_error_set(err, SSYNC_ECERT, "re-enrolment of %s carries an invalid or unchanged key (E_CERT_BADKEY)", t->node);
				goto done;
			}
		} else if (get_int(o, "after_seq", &t->after_seq, 0) < 0) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed revocation");
			goto done;
		}
	}
	if (!(re = tobj_encode(t, &relen))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (relen != t->body_len || memcmp(re, t->body, relen) != 0)
		error = ssync_error_set(err, SSYNC_EENCODING, "trust object is not in canonical encoding");
done:
	free(re);
	json_decref(o);
	return error;
}

/* The path an object must have on the branch. */
void ssync_trust__tobj_path(const ssync_tobj *t, char *buf, size_t len)
{
	if (t->kind == SSYNC_TOBJ_GENESIS)
		snprintf(buf, len, "district/genesis.json");
	else if (t->kind == SSYNC_TOBJ_CERT)
		snprintf(buf, len, "certs/%s.%lld.cert", t->node, (long long)t->serial);
	else if (t->kind == SSYNC_TOBJ_ROTATE)
		snprintf(buf, len, "district/root.%lld.rotate", (long long)t->serial);
	else if (t->kind == SSYNC_TOBJ_WRESET)
		snprintf(buf, len, "district/witness.%lld.reset", (long long)t->serial);
	else if (t->kind == SSYNC_TOBJ_REENROLL)
		snprintf(buf, len, "certs/%s.%lld.reenroll", t->node, (long long)t->serial);
	else
		snprintf(buf, len, "revocations/%s.%lld.rev", t->node, (long long)t->serial);
}
