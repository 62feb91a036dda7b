/* Witness resets (docs/TRUST.md §4b). The chain of checkpoints never goes
 * back in time, and every writer refuses a clock behind it, so a hub that
 * once signed with its clock a year ahead -- or a leaked hub key that signed
 * at 2999 -- would stop every school's writes until real time caught up.
 * A reset is the district root's answer: checkpoints from..to are void (they
 * keep their bytes, so the hash chain and the branch's paths go on, but
 * list nothing and carry the last valid time), and the checkpoints after to
 * are signed by the hub and key it names. Every input is signed data on the
 * one district branch, so every replica voids the same checkpoints whatever
 * it loaded first; the caller rebuilds (verdicts may change). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "schoolsync/hex.h"
#include "wreset_int.h"

static int parse_row(const char *body, int64_t serial, ssync_wreset *r)
{
	json_t *o = json_loads(body, 0, NULL);
	const char *hub, *key;
	int ok;

	memset(r, 0, sizeof(*r));
	r->serial = serial;
	/* loaded only after the receivers' checks: well formed */
	ok = o && json_is_integer(json_object_get(o, "from")) && json_is_integer(json_object_get(o, "to")) &&
		(hub = json_string_value(json_object_get(o, "hub"))) && strlen(hub) < sizeof(r->hub) &&
		(key = json_string_value(json_object_get(o, "pubkey"))) &&
		ssync_hex_decode(r->key, SSYNC_PUBKEY_BYTES, key) == 0;
	if (ok) {
		r->from = json_integer_value(json_object_get(o, "from"));
		r->to = json_integer_value(json_object_get(o, "to"));
		snprintf(r->hub, sizeof(r->hub), "%s", hub);
	}
	json_decref(o);
	return ok ? 0 : -1;
}

/* Every held reset, newest serial first; *n of them. */
static int resets(ssync_store *st, ssync_wreset *out, int *n, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT body, serial FROM ssync_trust_obj WHERE kind='wreset' "
		"ORDER BY serial DESC", err);
	int rc;

	*n = 0;
	if (!q)
		return SSYNC_ERROR;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < SSYNC_WRESET_MAX) {
		if (parse_row((const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1), &out[*n]) < 0) {
			sqlite3_reset(q);
			return ssync_error_set(err, SSYNC_ECORRUPT, "a witness reset held on this node does not parse");
		}
		(*n)++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read witness resets");
	return 0;
}

int ssync_witness__reset_for(ssync_store *st, int64_t pos, ssync_wreset *out, ssync_error *err)
{
	ssync_wreset v[SSYNC_WRESET_MAX];
	int n = 0, i, r;

	if ((r = resets(st, v, &n, err)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (pos == 0 || v[i].to < pos) {
			*out = v[i];
			return 1;
		}
	return 0;
}

int ssync_witness__void_pos(ssync_store *st, int64_t pos, ssync_error *err)
{
	ssync_wreset v[SSYNC_WRESET_MAX];
	int n = 0, i, r;

	if ((r = resets(st, v, &n, err)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (pos >= v[i].from && pos <= v[i].to)
			return 1;
	return 0;
}

static int max_pos(ssync_store *st, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT ifnull(max(pos), 0) FROM ssync_witness", err);
	int r;

	if (!q)
		return SSYNC_ERROR;
	/* an aggregate: always one row */
	if ((r = ssync_store__step_row(st, q, "read checkpoints", err)) > 0)
		*out = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return r < 0 ? r : 0;
}

int ssync_witness__reset_check(ssync_store *st, const ssync_tobj *t, char *why, size_t whylen, ssync_error *err)
{
	ssync_wreset v[SSYNC_WRESET_MAX];
	int64_t held = 0;
	int n = 0, i, r;

	if ((r = resets(st, v, &n, err)) < 0 || (r = max_pos(st, &held, err)) < 0)
		return r;
	if (n >= SSYNC_WRESET_MAX) {
		snprintf(why, whylen, "witness reset %lld: the district already holds %d witness resets (E_CHAIN)",
			(long long)t->serial, SSYNC_WRESET_MAX);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (t->wfrom <= v[i].to) {
			snprintf(why, whylen, "witness reset %lld voids from checkpoint %lld, inside or before reset %lld "
				"(up to %lld): resets follow one another (E_CHAIN)", (long long)t->serial,
				(long long)t->wfrom, (long long)v[i].serial, (long long)v[i].to);
			return 1;
		}
	/* Its range reaches the latest checkpoint before it on the branch, so a
	 * checkpoint after to is one signed after the reset: by the key it names. */
	if (t->wto < held) {
		snprintf(why, whylen, "witness reset %lld ends at checkpoint %lld, but checkpoint %lld came before it "
			"(E_CHAIN)", (long long)t->serial, (long long)t->wto, (long long)held);
		return 1;
	}
	return 0;
}

int ssync_witness__reset_apply(ssync_store *st, const ssync_tobj *t, ssync_error *err)
{
	sqlite3_stmt *q;
	int64_t floor = 0;
	int r, rc;

	if (t->wfrom > t->wto)
		return 0; /* names the witness key only */
	if (t->wfrom > 1) {
		if (!(q = ssync_store__stmt(st, "SELECT time FROM ssync_witness WHERE pos=?", err)))
			return SSYNC_ERROR;
		sqlite3_bind_int64(q, 1, t->wfrom - 1);
		if ((r = ssync_store__step_row(st, q, "read a checkpoint", err)) > 0)
			floor = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (r < 0)
			return r;
	}
	if (!(q = ssync_store__stmt(st, "UPDATE ssync_witness SET time=? WHERE pos BETWEEN ? AND ?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, floor);
	sqlite3_bind_int64(q, 2, t->wfrom);
	sqlite3_bind_int64(q, 3, t->wto);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "void checkpoints");
	if (!(q = ssync_store__stmt(st, "DELETE FROM ssync_witness_head WHERE pos BETWEEN ? AND ?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, t->wfrom);
	sqlite3_bind_int64(q, 2, t->wto);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "void witnessed heads");
	return 0;
}
