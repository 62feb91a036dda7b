/* District trust (DESIGN §5, docs/TRUST.md). Trust objects -- genesis,
 * certificates, revocations -- are signed lines like entries (BODY TAB
 * SIG), canonical JSON whose first member names the kind, signed by the
 * district root. They live as files on refs/heads/district, a branch that
 * only ever adds files. A node with a pinned root (meta 'district_pubkey')
 * loads only objects that verify against it, takes signing keys only from
 * certificates, and judges every entry by the entry's own bytes, the trust
 * data and the log -- never its clock or arrival order. When trust data
 * changes under entries already held, the state is rebuilt from the log
 * (rebuild.c). This file: the object format, judging entries, receiving
 * the district branch; the admin's commands are in trust_admin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "trust_int.h"

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
	ssync_hex(hex, t->key, SSYNC_PUBKEY_BYTES);
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
		break;
	case SSYNC_TOBJ_REVOKE:
		bad = json_object_set_new(o, "revoke", json_integer(1)) ||
			json_object_set_new(o, "district", json_string(t->district)) ||
			json_object_set_new(o, "node", json_string(t->node)) ||
			json_object_set_new(o, "serial", json_integer(t->serial)) ||
			json_object_set_new(o, "after_seq", json_integer(t->after_seq));
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
	ssync_hex(s + t->body_len + 1, t->sig, SSYNC_SIG_BYTES);
	s[t->body_len + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
	s[t->body_len + 2 + 2 * SSYNC_SIG_BYTES] = 0;
	*line = s;
	*len = t->body_len + 2 + 2 * SSYNC_SIG_BYTES;
	return 0;
}

static int get_id(json_t *o, const char *k, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s || !ssync_node_id_valid(s) || strlen(s) >= cap)
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
static int tobj_parse(ssync_tobj *t, const char *line, size_t len, ssync_error *err)
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
	if (ssync_unhex(t->sig, SSYNC_SIG_BYTES, sighex) != 0)
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
	if (!t->kind || json_integer_value(json_object_get(o, first)) != 1 || get_id(o, "district", t->district, sizeof(t->district)) < 0) {
		error = ssync_error_set(err, SSYNC_ESCHEMA, "unknown trust object kind or bad district");
		goto done;
	}
	if (t->kind == SSYNC_TOBJ_GENESIS) {
		s = json_string_value(json_object_get(o, "name"));
		if (!s || strlen(s) >= sizeof(t->name) || ssync_unhex(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "root"))) != 0 ||
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
			    ssync_unhex(t->key, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0 ||
			    get_int(o, "valid_from", &t->valid_from, 0) < 0 || get_int(o, "valid_until", &t->valid_until, 1) < 0) {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "malformed certificate");
				goto done;
			}
			snprintf(t->role, sizeof(t->role), "%s", s);
			/* A zero or small-order key would verify forged signatures (TESTPLAN 31). */
			if (sodium_is_zero(t->key, SSYNC_PUBKEY_BYTES) || crypto_core_ed25519_is_valid_point(t->key) != 1) {
				error = ssync_error_set(err, SSYNC_ECERT, "certificate of %s carries an invalid key (E_CERT_BADKEY)", t->node);
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

int ssync_trust_managed(ssync_store *st)
{
	char *v = NULL;
	int r = ssync_store_meta_get(st, "district_pubkey", &v, NULL) == 0 && v && strlen(v) == 64;

	free(v);
	return r;
}

int ssync_trust__pinned_root(ssync_store *st, unsigned char root[SSYNC_PUBKEY_BYTES])
{
	char *v = NULL;
	int r = SSYNC_ENOTFOUND;

	if (ssync_store_meta_get(st, "district_pubkey", &v, NULL) == 0 && v && ssync_unhex(root, SSYNC_PUBKEY_BYTES, v) == 0)
		r = 0;
	free(v);
	return r;
}

int ssync_trust__quarantine(ssync_store *st, const char *node, int64_t seq, const char *code,
	const char *why, const char *line, size_t len, const char *source, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_quarantine(node, seq, code, reason, line, source, received) "
		"VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	if (line && len > 0 && line[len - 1] == '\n')
		len--;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_text(q, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, why, -1, SQLITE_STATIC);
	if (line)
		sqlite3_bind_blob(q, 5, line, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_text(q, 6, source ? source : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record quarantine");
}

/* ---- judging entries ---------------------------------------------------- */

static void fmt_ms(int64_t ms, char *buf, size_t len)
{
	ssync_hlc_format((uint64_t)ms << 16, buf, (unsigned)len);
}

int ssync_trust__judge(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT serial, role, school_id, pubkey, valid_from, valid_until "
		"FROM ssync_cert WHERE node=? ORDER BY serial", err);
	int64_t ms = (int64_t)ssync_hlc_ms(e->hlc), best_from = 0, best_until = 0;
	int ncert = 0, key_ok = 0, matched = 0, rc;

	v->state = 1;
	v->stop = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, e->node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t from = sqlite3_column_int64(q, 4);
		int64_t until = sqlite3_column_type(q, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 5);
		ncert++;
		if (sqlite3_column_bytes(q, 3) != SSYNC_PUBKEY_BYTES || ssync_entry_verify(e, sqlite3_column_blob(q, 3), NULL) != 0)
			continue;
		key_ok = 1;
		best_from = from;
		best_until = until;
		if (ms >= from && (until == 0 || ms <= until)) {
			matched = 1; /* the highest serial that covers the entry decides role and school */
			snprintf(v->role, sizeof(v->role), "%s", (const char *)sqlite3_column_text(q, 1));
			snprintf(v->school, sizeof(v->school), "%s", sqlite3_column_type(q, 2) == SQLITE_NULL ? "" :
				(const char *)sqlite3_column_text(q, 2));
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read certificates");
	if (ncert == 0) {
		v->stop = 1;
		v->code = SSYNC_ECERT;
		snprintf(v->qcode, sizeof(v->qcode), "E_CERT");
		snprintf(v->why, sizeof(v->why), "node %s has no certificate signed by the district root (E_CERT_UNKNOWN)", e->node);
		return 0;
	}
	if (!key_ok) {
		v->stop = 1;
		v->code = SSYNC_ESIG;
		snprintf(v->qcode, sizeof(v->qcode), "E_SIG");
		snprintf(v->why, sizeof(v->why), "signature does not verify with any certified key of node %s (E_SIG)", e->node);
		return 0;
	}
	{
		sqlite3_stmt *r = ssync_store__stmt(st, "SELECT min(after_seq) FROM ssync_revocation WHERE node=?", err);
		if (!r)
			return SSYNC_ERROR;
		sqlite3_bind_text(r, 1, e->node, -1, SQLITE_STATIC);
		if (sqlite3_step(r) == SQLITE_ROW && sqlite3_column_type(r, 0) != SQLITE_NULL &&
		    e->seq > sqlite3_column_int64(r, 0)) {
			v->state = 3;
			snprintf(v->qcode, sizeof(v->qcode), "E_REVOKED");
			snprintf(v->why, sizeof(v->why), "node %s was revoked after seq %lld; entry %s#%lld is refused (E_REVOKED)",
				e->node, (long long)sqlite3_column_int64(r, 0), e->node, (long long)e->seq);
		}
		sqlite3_reset(r);
		if (v->state == 3)
			return 0;
	}
	if (!matched) {
		char a[40], b[40], w[40];
		fmt_ms(ms, w, sizeof(w));
		fmt_ms(best_from, a, sizeof(a));
		if (best_until)
			fmt_ms(best_until, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "no end");
		v->state = 3;
		snprintf(v->qcode, sizeof(v->qcode), "E_CERT_EXPIRED");
		snprintf(v->why, sizeof(v->why), "entry %s#%lld written at %s, outside its certificate's validity %s .. %s (E_CERT_EXPIRED)",
			e->node, (long long)e->seq, w, a, b);
	}
	return 0;
}

/* ---- loading the district branch ----------------------------------------- */

typedef struct file_list {
	char **paths;
	char **datas;
	size_t *lens;
	int n, cap;
} file_list;

static void files_free(file_list *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		free(f->paths[i]);
		free(f->datas[i]);
	}
	free(f->paths);
	free(f->datas);
	free(f->lens);
	memset(f, 0, sizeof(*f));
}

static int collect_file(const char *path, const void *data, size_t len, void *payload)
{
	file_list *f = payload;

	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 16;
		char **p = realloc(f->paths, (size_t)cap * sizeof(char *));
		char **d;
		size_t *l;
		if (!p)
			return -1;
		f->paths = p;
		if (!(d = realloc(f->datas, (size_t)cap * sizeof(char *))))
			return -1;
		f->datas = d;
		if (!(l = realloc(f->lens, (size_t)cap * sizeof(size_t))))
			return -1;
		f->lens = l;
		f->cap = cap;
	}
	if (!(f->paths[f->n] = strdup(path)) || !(f->datas[f->n] = malloc(len + 1))) {
		free(f->paths[f->n]);
		return -1;
	}
	memcpy(f->datas[f->n], data, len);
	f->datas[f->n][len] = 0;
	f->lens[f->n] = len;
	f->n++;
	return 0;
}

/* The path an object must have on the branch. */
void ssync_trust__tobj_path(const ssync_tobj *t, char *buf, size_t len)
{
	if (t->kind == SSYNC_TOBJ_GENESIS)
		snprintf(buf, len, "district/genesis.json");
	else if (t->kind == SSYNC_TOBJ_CERT)
		snprintf(buf, len, "certs/%s.%lld.cert", t->node, (long long)t->serial);
	else
		snprintf(buf, len, "revocations/%s.%lld.rev", t->node, (long long)t->serial);
}

int ssync_trust__have_genesis(ssync_store *st)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_trust_obj WHERE kind='genesis'", NULL);
	int r;

	if (!q)
		return 0;
	r = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	return r;
}

static int store_obj(ssync_store *st, const ssync_tobj *t, const char *path, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT INTO ssync_trust_obj(path, kind, node, serial, body, sig) VALUES (?, ?, ?, ?, ?, ?)", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, t->kind == SSYNC_TOBJ_GENESIS ? "genesis" : t->kind == SSYNC_TOBJ_CERT ? "cert" : "revoke", -1, SQLITE_STATIC);
	if (t->kind == SSYNC_TOBJ_GENESIS) {
		sqlite3_bind_null(q, 3);
		sqlite3_bind_null(q, 4);
	} else {
		sqlite3_bind_text(q, 3, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, t->serial);
	}
	sqlite3_bind_text(q, 5, t->body, (int)t->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, t->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record trust object");
	if (t->kind == SSYNC_TOBJ_CERT) {
		if (!(q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_cert(node, serial, role, school_id, pubkey, valid_from, valid_until) "
			"VALUES (?, ?, ?, ?, ?, ?, ?)", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t->serial);
		sqlite3_bind_text(q, 3, t->role, -1, SQLITE_STATIC);
		if (t->school[0])
			sqlite3_bind_text(q, 4, t->school, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 4);
		sqlite3_bind_blob(q, 5, t->key, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(q, 6, t->valid_from);
		if (t->valid_until)
			sqlite3_bind_int64(q, 7, t->valid_until);
		else
			sqlite3_bind_null(q, 7);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record certificate");
		/* The peer table names the newest certified key (equivocation checks use it). */
		if (!(q = ssync_store__stmt(st, "SELECT max(serial) FROM ssync_cert WHERE node=?", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) == t->serial;
		sqlite3_reset(q);
		if (rc)
			return ssync_log__peer_add(st, t->node, t->key, t->role, t->school[0] ? t->school : NULL, "cert", err);
	} else if (t->kind == SSYNC_TOBJ_REVOKE) {
		if (!(q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_revocation(node, serial, after_seq) VALUES (?, ?, ?)", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t->serial);
		sqlite3_bind_int64(q, 3, t->after_seq);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record revocation");
	}
	return 0;
}

/* Verify one file of the district branch; fills why on failure (returns 1). */
static int check_file(ssync_store *st, const unsigned char root[SSYNC_PUBKEY_BYTES], const char *district,
	const char *path, const char *data, size_t len, ssync_tobj *t, char *why, size_t whylen)
{
	ssync_error perr;
	char want[160];
	const char *nl = memchr(data, '\n', len);

	ssync_error_clear(&perr);
	if (!nl || (size_t)(nl - data) + 1 != len) {
		snprintf(why, whylen, "%s: not exactly one signed line (E_CERT)", path);
		return 1;
	}
	if (tobj_parse(t, data, len, &perr) < 0) {
		snprintf(why, whylen, "%s: %s (E_CERT)", path, perr.message);
		return 1;
	}
	if (ssync_keys_verify(root, t->body, t->body_len, t->sig) != 0) {
		snprintf(why, whylen, "%s: not signed by the pinned district root (E_CERT: forged or from another district)", path);
		return 1;
	}
	if (strcmp(t->district, district) != 0) {
		snprintf(why, whylen, "%s: belongs to district %s, not %s (E_DISTRICT)", path, t->district, district);
		return 1;
	}
	ssync_trust__tobj_path(t, want, sizeof(want));
	if (strcmp(want, path) != 0) {
		snprintf(why, whylen, "%s: object must be stored as %s (E_CERT)", path, want);
		return 1;
	}
	if (t->kind == SSYNC_TOBJ_GENESIS && sodium_memcmp(t->key, root, SSYNC_PUBKEY_BYTES) != 0) {
		snprintf(why, whylen, "%s: names another root key (E_ROOT)", path);
		return 1;
	}
	(void)st;
	return 0;
}

int ssync_trust__load_branch(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, int *changed, int *bad, char *why, size_t whylen, ssync_error *err)
{
	unsigned char root[SSYNC_PUBKEY_BYTES];
	file_list f;
	char *district = NULL;
	int error = 0, i, pass, in_tx = 0;
	ssync_error lerr;

	*changed = 0;
	*bad = 0;
	why[0] = 0;
	memset(&f, 0, sizeof(f));
	if (ssync_trust__pinned_root(st, root) != 0)
		return ssync_error_set(err, SSYNC_ECERT, "no district root is pinned on this node");
	if ((error = ssync_store_meta_get(st, "district", &district, err)) < 0)
		return error;
	ssync_error_clear(&lerr);
	error = ssync_exchange_added_files(ex, from, to, collect_file, &f, &lerr);
	if (error == SSYNC_EREWRITE) {
		*bad = 1;
		snprintf(why, whylen, "district branch changed or removed an existing file (E_REWRITE: possible rollback attack)");
		error = 0;
		goto done;
	}
	if (error != 0) {
		if (error > 0 || !lerr.message[0])
			error = ssync_error_set(err, error < 0 ? error : SSYNC_ERROR, "read district branch");
		else if (err && !err->code)
			*err = lerr;
		goto done;
	}
	if ((error = ssync_store_begin(st, err)) < 0)
		goto done;
	in_tx = 1;
	/* Genesis first, then certificates, then revocations. */
	for (pass = SSYNC_TOBJ_GENESIS; pass <= SSYNC_TOBJ_REVOKE && !*bad; pass++) {
		for (i = 0; i < f.n && !*bad; i++) {
			ssync_tobj t;
			int kind = strncmp(f.paths[i], "district/", 9) == 0 ? SSYNC_TOBJ_GENESIS :
				strncmp(f.paths[i], "certs/", 6) == 0 ? SSYNC_TOBJ_CERT :
				strncmp(f.paths[i], "revocations/", 12) == 0 ? SSYNC_TOBJ_REVOKE : 0;
			if (kind == 0) {
				*bad = 1;
				snprintf(why, whylen, "%s: unexpected file on the district branch (E_CERT)", f.paths[i]);
				break;
			}
			if (kind != pass)
				continue;
			if (check_file(st, root, district, f.paths[i], f.datas[i], f.lens[i], &t, why, whylen)) {
				*bad = 1;
			} else if (t.kind != kind) {
				*bad = 1;
				snprintf(why, whylen, "%s: holds the wrong kind of object (E_CERT)", f.paths[i]);
			} else if (t.kind == SSYNC_TOBJ_GENESIS && ssync_trust__have_genesis(st)) {
				*bad = 1;
				snprintf(why, whylen, "%s: a second genesis record (E_ROOT)", f.paths[i]);
			} else if (t.kind != SSYNC_TOBJ_GENESIS && !ssync_trust__have_genesis(st)) {
				*bad = 1;
				snprintf(why, whylen, "%s: district branch has no genesis record (E_CERT)", f.paths[i]);
			} else if ((error = store_obj(st, &t, f.paths[i], err)) < 0) {
				ssync_trust__tobj_clear(&t);
				goto done;
			} else {
				(*changed)++;
			}
			ssync_trust__tobj_clear(&t);
		}
	}
	if (*bad) {
		ssync_store_rollback(st);
		in_tx = 0;
		*changed = 0;
		goto done;
	}
	error = ssync_store_commit(st, err);
	in_tx = 0;
done:
	if (in_tx)
		ssync_store_rollback(st);
	files_free(&f);
	free(district);
	return error;
}

/* 1 if the log holds entries of nodes that have trust data newer than the
 * last rebuild: simplest sound rule -- any change with entries of a
 * certified or revoked node present triggers a full rebuild. */
int ssync_trust__need_rebuild(ssync_store *st)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT 1 FROM ssync_entry e WHERE e.node IN "
		"(SELECT node FROM ssync_cert UNION SELECT node FROM ssync_revocation) LIMIT 1", NULL);
	int r;

	if (!q)
		return 1;
	r = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	return r;
}

int ssync_trust__receive_district(ssync_store *st, ssync_exchange *ex, const char *remote,
	int *rewritten, int64_t *quarantined, ssync_error *err)
{
	char rref[160], why[512];
	ssync_oid_hex rtip, ltip;
	int error, d, changed = 0, bad = 0;

	if (!ssync_trust_managed(st))
		return 0;
	snprintf(rref, sizeof(rref), "refs/remotes/%s/district", remote);
	if ((error = ssync_exchange_ref_tip(ex, rref, &rtip, NULL)) == SSYNC_ENOTFOUND)
		return 0;
	if (error < 0)
		return ssync_error_set(err, error, "read %s", rref);
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, SSYNC_DISTRICT_REF, &ltip, NULL)) < 0 && error != SSYNC_ENOTFOUND)
		return ssync_error_set(err, error, "read %s", SSYNC_DISTRICT_REF);
	if (strcmp(ltip.hex, rtip.hex) == 0)
		return 0;
	if (ltip.hex[0]) {
		if ((d = ssync_exchange_descends(ex, &ltip, &rtip, err)) < 0)
			return d;
		if (d)
			return 0; /* the remote is behind: the push brings it up */
		if ((d = ssync_exchange_descends(ex, &rtip, &ltip, err)) < 0)
			return d;
		if (!d) {
			snprintf(why, sizeof(why), "district branch on remote %s was rewritten (not a fast-forward of %.12s); "
				"ours is kept (E_REWRITE: possible rollback attack)", remote, ltip.hex);
			(*rewritten)++;
			(*quarantined)++;
			return ssync_trust__quarantine(st, "district", 0, "E_REWRITE", why, rtip.hex, strlen(rtip.hex), remote, err);
		}
	}
	if ((error = ssync_trust__load_branch(st, ex, &ltip, &rtip, &changed, &bad, why, sizeof(why), err)) < 0)
		return error;
	if (bad) {
		char msg[600];
		snprintf(msg, sizeof(msg), "district branch on remote %s refused: %s", remote, why);
		(*quarantined)++;
		if (strstr(why, "E_REWRITE"))
			(*rewritten)++;
		return ssync_trust__quarantine(st, "district", 0, strstr(why, "E_REWRITE") ? "E_REWRITE" : "E_CERT",
			msg, rtip.hex, strlen(rtip.hex), remote, err);
	}
	if ((error = ssync_exchange_ref_update(ex, SSYNC_DISTRICT_REF, &rtip, &ltip, "sync: district fast-forward", err)) < 0)
		return error;
	if (changed && ssync_trust__need_rebuild(st)) {
		ssync_rebuild_report rep;
		return ssync_rebuild(st, &rep, err);
	}
	return 0;
}

int ssync_trust__is_auditor(ssync_store *st, const char *node)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT role FROM ssync_peer WHERE node=? AND source='cert'", NULL);
	int r = 0;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		r = strcmp((const char *)sqlite3_column_text(q, 0), "auditor") == 0;
	sqlite3_reset(q);
	return r;
}
