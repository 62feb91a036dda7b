/*
 * Internal state that must follow from signed data. The certificates,
 * revocations and the certified keys and roles (ssync_peer, source 'cert')
 * are loaded from signed trust objects; someone with the stock sqlite3 tool
 * can edit them (make this node a "hub" so that it signs what every receiver
 * refuses, or change another node's key). We reload every trust object held
 * into a scratch store through the receivers' own checks and compare; the
 * hub's checkpoints likewise (a row edited, or removed from the middle of
 * the chain, shows). Rows removed whole -- the newest checkpoints, or a
 * certificate with its derived rows -- leave a consistent smaller set, so
 * every file of the node's own district branch (which moves only after its
 * files loaded) must also be held (check_district_held).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schoolsync/hex.h"
#include "sync_int.h"
#include "tobj_int.h"
#include "trust_int.h"
#include "wobj_int.h"

/* One query's rows as "a|b|c" lines, in its order. */
static int rows_text(ssync_store *st, const char *sql, char **out, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap);
	int rc, i;

	*out = NULL;
	if (!buf)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	buf[0] = '\0';
	if (sqlite3_prepare_v2(ssync_store__db(st), sql, -1, &q, NULL) != SQLITE_OK) {
		free(buf);
		return ssync_store__sqlerr(st, err, "read trust tables");
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(q); i++) {
			const char *v = (const char *)sqlite3_column_text(q, i);
			size_t n = strlen(v ? v : "") + 2;
			if (len + n + 1 > cap) {
				char *nb;
				while (len + n + 1 > cap)
					cap *= 2;
				if (!(nb = realloc(buf, cap))) {
					sqlite3_finalize(q);
					free(buf);
					return ssync_error_set(err, SSYNC_ERROR, "out of memory");
				}
				buf = nb;
			}
			len += (size_t)snprintf(buf + len, cap - len, "%s%c", v ? v : "",
				i + 1 < sqlite3_column_count(q) ? '|' : '\n');
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(buf);
		return ssync_store__sqlerr(st, err, "read trust tables");
	}
	*out = buf;
	return 0;
}

/* First line that differs between @p a and @p b, for the message. */
static void first_diff(const char *a, const char *b, char *out, size_t len)
{
	while (*a && *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
		if (la != lb || memcmp(a, b, la) != 0)
			break;
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
	snprintf(out, len, "holds '%.*s' where the signed trust data gives '%.*s'",
		(int)(strchr(a, '\n') ? strchr(a, '\n') - a : (long)strlen(a)), *a ? a : "(nothing)",
		(int)(strchr(b, '\n') ? strchr(b, '\n') - b : (long)strlen(b)), *b ? b : "(nothing)");
}

static const struct { const char *table, *sql; } derived[] = {
	{ "ssync_cert", "SELECT node, serial, role, coalesce(school_id, ''), hex(pubkey), valid_from, "
		"coalesce(valid_until, '') FROM ssync_cert ORDER BY node, serial" },
	{ "ssync_revocation", "SELECT node, serial, after_seq FROM ssync_revocation ORDER BY node, serial" },
	{ "ssync_peer", "SELECT node, hex(pubkey), role, coalesce(school_id, '') FROM ssync_peer "
		"WHERE source = 'cert' ORDER BY node" },
	/* the hub's checkpoints (docs/TRUST.md §4a): what judging and the
	 * writer's clock check read */
	{ "ssync_witness", "SELECT pos, hub, time, hex(hash) FROM ssync_witness ORDER BY pos" },
	{ "ssync_witness_head", "SELECT node, seq, pos, hex(hash), time FROM ssync_witness_head ORDER BY node, seq" },
};

int ssync_sync__check_trust_state(ssync_store *st, char *why, size_t whylen, ssync_error *err)
{
	ssync_store *t = NULL;
	sqlite3_stmt *q = NULL;
	char **paths = NULL, **datas = NULL, *root = NULL, *district = NULL, reason[512];
	size_t *lens = NULL;
	int n = 0, cap = 0, i, rc, error = 0, changed = 0, bad = 0;

	why[0] = '\0';
	if (!ssync_trust_managed(st))
		return 0; /* no signed trust data: nothing is derived from it */
	if ((error = ssync_store_meta_get(st, "district_pubkey", &root, err)) < 0 ||
	    (error = ssync_store_meta_get(st, "district", &district, err)) < 0)
		goto done;
	if ((error = ssync_store_open(&t, ":memory:", SSYNC_STORE_CREATE, err)) < 0 ||
	    (error = ssync_store_meta_set(t, "district_pubkey", root, err)) < 0 ||
	    (error = ssync_store_meta_set(t, "district", district ? district : "", err)) < 0)
		goto done;
	/* trust objects, then the checkpoints in position order (their paths,
	 * witness/..., are what load_files expects) */
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT path, body, sig FROM (SELECT 0 AS k, path, body, sig FROM "
			"ssync_trust_obj UNION ALL SELECT 1, printf('witness/%07d/%012d.ckpt', pos / 1000, pos), body, sig "
			"FROM ssync_witness) ORDER BY k, path", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "read trust objects");
		goto done;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(q, 1);
		size_t blen = (size_t)sqlite3_column_bytes(q, 1);
		char sighex[2 * SSYNC_SIG_BYTES + 1];

		if (n == cap) {
			int c = cap ? cap * 2 : 32;
			void *a = realloc(paths, (size_t)c * sizeof(*paths)), *b, *l;
			if (a)
				paths = a;
			b = a ? realloc(datas, (size_t)c * sizeof(*datas)) : NULL;
			if (b)
				datas = b;
			l = b ? realloc(lens, (size_t)c * sizeof(*lens)) : NULL;
			if (!l) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			lens = l;
			cap = c;
		}
		if (sqlite3_column_bytes(q, 2) != SSYNC_SIG_BYTES) {
			snprintf(why, whylen, "ssync_trust_obj %s has a damaged signature", sqlite3_column_text(q, 0));
			break;
		}
		ssync_hex_encode(sighex, sqlite3_column_blob(q, 2), SSYNC_SIG_BYTES);
		paths[n] = strdup((const char *)sqlite3_column_text(q, 0));
		datas[n] = malloc(blen + sizeof(sighex) + 2);
		if (!paths[n] || !datas[n]) {
			free(paths[n]);
			free(datas[n]);
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			break;
		}
		memcpy(datas[n], body ? body : "", blen);
		datas[n][blen] = '\t';
		memcpy(datas[n] + blen + 1, sighex, 2 * SSYNC_SIG_BYTES);
		datas[n][blen + 1 + 2 * SSYNC_SIG_BYTES] = '\n';
		lens[n] = blen + 2 + 2 * SSYNC_SIG_BYTES;
		n++;
	}
	if (error < 0 || why[0])
		goto done;
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read trust objects");
		goto done;
	}
	if ((error = ssync_trust__load_files(t, n, paths, datas, lens, &changed, &bad, reason, sizeof(reason), err)) < 0)
		goto done;
	if (bad) {
		snprintf(why, whylen, "a trust object held does not verify: %s", reason);
		goto done;
	}
	for (i = 0; i < (int)(sizeof(derived) / sizeof(derived[0])) && !why[0]; i++) {
		char *mine = NULL, *signed_ = NULL;
		if ((error = rows_text(st, derived[i].sql, &mine, err)) < 0 ||
		    (error = rows_text(t, derived[i].sql, &signed_, err)) < 0) {
			free(mine);
			goto done;
		}
		if (strcmp(mine, signed_) != 0) {
			first_diff(mine, signed_, reason, sizeof(reason));
			snprintf(why, whylen, "%s %s", derived[i].table, reason);
		}
		free(mine);
		free(signed_);
	}
done:
	sqlite3_finalize(q);
	for (i = 0; i < n; i++) {
		free(paths[i]);
		free(datas[i]);
	}
	free(paths);
	free(datas);
	free(lens);
	free(root);
	free(district);
	ssync_store_free(t);
	return error;
}

typedef struct held_ctx {
	ssync_store *st;
	int64_t missing, first_pos, last_pos;
	char first_obj[200];
	int error;
	ssync_error *err;
} held_ctx;

static int held_file(const char *path, const void *data, size_t len, void *payload)
{
	held_ctx *h = payload;
	int64_t pos = ssync_witness__path_pos(path);
	sqlite3_stmt *q = ssync_store__stmt(h->st, pos > 0 ? "SELECT 1 FROM ssync_witness WHERE pos=?" :
		"SELECT 1 FROM ssync_trust_obj WHERE path=?", h->err);
	int r;

	(void)data;
	(void)len;
	if (!q)
		return h->error = SSYNC_ERROR;
	if (pos > 0)
		sqlite3_bind_int64(q, 1, pos);
	else
		sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	r = ssync_store__step_row(h->st, q, "read trust objects", h->err);
	sqlite3_reset(q);
	if (r < 0)
		return h->error = r;
	if (r == 0) {
		h->missing++;
		if (pos > 0) {
			if (!h->first_pos || pos < h->first_pos)
				h->first_pos = pos;
			if (pos > h->last_pos)
				h->last_pos = pos;
		} else if (!h->first_obj[0]) {
			snprintf(h->first_obj, sizeof(h->first_obj), "%s", path);
		}
	}
	return 0;
}

int ssync_sync__check_district_held(ssync_store *st, ssync_exchange *ex, char *why, size_t whylen, ssync_error *err)
{
	ssync_oid_hex tip, none;
	held_ctx h;
	int error;

	why[0] = '\0';
	if (!ssync_trust_managed(st) || ssync_exchange_ref_tip(ex, SSYNC_DISTRICT_REF, &tip, NULL) < 0)
		return 0; /* no district branch: nothing to compare */
	memset(&none, 0, sizeof(none));
	memset(&h, 0, sizeof(h));
	h.st = st;
	h.err = err;
	error = ssync_exchange_added_files(ex, &none, &tip, held_file, &h, err);
	if (h.error < 0)
		return h.error;
	if (error < 0)
		return error;
	if (h.first_pos) {
		char range[64];
		if (h.first_pos == h.last_pos)
			snprintf(range, sizeof(range), "checkpoint %lld", (long long)h.first_pos);
		else
			snprintf(range, sizeof(range), "checkpoints %lld..%lld", (long long)h.first_pos, (long long)h.last_pos);
		snprintf(why, whylen, "ssync_witness lacks %s (%lld file(s) missing in all) that the district branch holds "
			"(refs/heads/district, loaded when it moved): removed by hand, or (on the hub) lost in a crash between its "
			"commit and its load (E_TAMPER)", range, (long long)h.missing);
	}
	else if (h.first_obj[0])
		snprintf(why, whylen, "ssync_trust_obj lacks %s%s that the district branch holds (refs/heads/district, "
			"loaded when it moved): removed by hand, or (on the hub) lost in a crash between its commit and its load "
			"(E_TAMPER)", h.first_obj,
			h.missing > 1 ? " and other files" : "");
	return 0;
}
