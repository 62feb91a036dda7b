/* Local writes: user SQL is prepared under the store's guard (only DML on replicated
 * tables), inside one transaction with a SQLite session attached; the
 * session's changeset becomes ops with per-cell prevs, split into entries of
 * bounded size, each signed and appended to the log before COMMIT. A crash
 * leaves either the write with its entries or neither. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "capture_int.h"
#include "entry_int.h"
#include "log_int.h"
#include "merge_int.h"
#include "samechg_int.h"
#include "sealer_int.h"
#include "schoolsync/hlc.h"
#include "witclock_int.h"

typedef struct stmt_list {
	sqlite3_stmt **v;
	int n;
	const char *one; /* the SQL was this one statement: cache it */
	sqlite3_stmt *cached; /* v points here when it came from the cache */
} stmt_list;

static void stmts_free(ssync_store *st, stmt_list *l)
{
	int i;

	if (l->one && l->n == 1) {
		ssync_store__user_keep(st, l->one, l->v[0]);
		l->n = 0;
	}
	for (i = 0; i < l->n; i++)
		sqlite3_finalize(l->v[i]);
	if (l->v != &l->cached)
		free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int prepare_all(ssync_store *st, const char *sql, stmt_list *l, int *readonly, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(st);
	sqlite3_stmt *s0;
	const char *tail = sql;
	int error = 0;

	*readonly = 1;
	if ((s0 = ssync_store__user_take(st, sql))) {
		l->cached = s0;
		l->v = &l->cached;
		l->n = 1;
		l->one = sql;
		*readonly = sqlite3_stmt_readonly(s0);
		return 0;
	}
	ssync_store__guard(st, 1);
	while (tail && *tail) {
		sqlite3_stmt *s = NULL;
		sqlite3_stmt **nv;
		const char *start = tail;
		if (sqlite3_prepare_v2(db, start, -1, &s, &tail) != SQLITE_OK) {
			if ((sqlite3_errcode(db) & 0xff) == SQLITE_AUTH && ssync_store__tampered(st))
				error = ssync_store__sqlerr(st, err, "SQL");
			else if (ssync_store__guard_denied(st)[0])
				error = ssync_error_set(err, SSYNC_EPERM, "%s", ssync_store__guard_denied(st));
			else
				error = ssync_error_set(err, SSYNC_EINVAL, "SQL error: %s", sqlite3_errmsg(db));
			goto done;
		}
		if (!s)
			continue; /* whitespace or comment */
		if (!(nv = realloc(l->v, (size_t)(l->n + 1) * sizeof(*nv)))) {
			sqlite3_finalize(s);
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		l->v = nv;
		l->v[l->n++] = s;
		if (!sqlite3_stmt_readonly(s))
			*readonly = 0;
	}
	if (l->n == 0)
		error = ssync_error_set(err, SSYNC_EINVAL, "no SQL statement given");
	else if (l->n == 1)
		l->one = sql;
done:
	ssync_store__guard(st, 0);
	return error;
}

static int run_stmt(ssync_store *st, sqlite3_stmt *s, ssync_row_cb cb, void *payload, ssync_error *err)
{
	int rc, n = sqlite3_column_count(s), stop = 0;
	const char **names = NULL, **vals = NULL;
	int *types = NULL;

	if (n > 0 && cb) {
		names = calloc((size_t)n, sizeof(char *));
		vals = calloc((size_t)n, sizeof(char *));
		types = calloc((size_t)n, sizeof(int));
		if (!names || !vals || !types) {
			free(names);
			free(vals);
			free(types);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int i;
		if (!names || stop)
			continue;
		for (i = 0; i < n; i++) {
			names[i] = sqlite3_column_name(s, i);
			types[i] = sqlite3_column_type(s, i);
			vals[i] = types[i] == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(s, i);
		}
		stop = cb(n, names, vals, types, payload);
	}
	free(names);
	free(vals);
	free(types);
	if (rc != SQLITE_DONE) {
		sqlite3 *db = ssync_store__db(st);
		int prim = sqlite3_extended_errcode(db) & 0xff;
		if (prim == SQLITE_CONSTRAINT || prim == SQLITE_MISMATCH || prim == SQLITE_ERROR || prim == SQLITE_RANGE || prim == SQLITE_TOOBIG)
			return ssync_error_set(err, SSYNC_EINVAL, "SQL error: %s", sqlite3_errmsg(db));
		return ssync_store__sqlerr(st, err, "run statement");
	}
	return 0;
}

static int table_filter(void *p, const char *tbl)
{
	return ssync_store_is_table((ssync_store *)p, tbl);
}

/* Entry being built from the changeset: its ops as the JSON text they sign
 * into (each op dumped and freed as soon as it is complete). */
typedef struct chunk {
	char *ops;
	size_t len, cap;
	int nops;
	int64_t seq;
	uint64_t hlc;
} chunk;

/* The clock guard runs for every entry: what receivers refuse is never signed. */
static int chunk_open(chunk *c, int64_t seq, uint64_t *last_hlc, ssync_error *err)
{
	int error;

	c->len = 0;
	c->nops = 0;
	c->seq = seq;
	if ((error = ssync_hlc_next(*last_hlc, ssync_hlc_wall_ms(), &c->hlc, err)) < 0)
		return error;
	*last_hlc = c->hlc;
	return 0;
}

static int chunk_reserve(chunk *c, size_t more)
{
	char *p;
	size_t cap = c->cap ? c->cap : 4096;

	if (c->len + more <= c->cap)
		return 0;
	while (cap < c->len + more)
		cap *= 2;
	if (!(p = realloc(c->ops, cap)))
		return SSYNC_ERROR;
	c->ops = p;
	c->cap = cap;
	return 0;
}

static int chunk_raw(chunk *c, const char *s, size_t n)
{
	if (chunk_reserve(c, n) < 0)
		return SSYNC_ERROR;
	memcpy(c->ops + c->len, s, n);
	c->len += n;
	return 0;
}

/* A value spliced in as jansson encodes it (SSYNC_JSON_FLAGS). */
static int chunk_json(chunk *c, const json_t *v)
{
	size_t n;

	if (chunk_reserve(c, 256) < 0)
		return SSYNC_ERROR;
	n = json_dumpb(v, c->ops + c->len, c->cap - c->len, SSYNC_JSON_FLAGS | JSON_ENCODE_ANY);
	if (n > c->cap - c->len) {
		if (chunk_reserve(c, n) < 0)
			return SSYNC_ERROR;
		n = json_dumpb(v, c->ops + c->len, c->cap - c->len, SSYNC_JSON_FLAGS | JSON_ENCODE_ANY);
	}
	if (n == 0)
		return SSYNC_ERROR;
	c->len += n;
	return 0;
}

/* A column name or version id. These are validated identifiers, which JSON
 * spells as themselves between quotes; anything else goes through jansson. */
static int chunk_name(chunk *c, const char *s)
{
	size_t i, n = strlen(s);
	json_t *j;
	int error;

	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-' || ch == '#' || ch == '$'))
			break;
	}
	if (i == n) {
		if (chunk_reserve(c, n + 2) < 0)
			return SSYNC_ERROR;
		c->ops[c->len++] = '"';
		memcpy(c->ops + c->len, s, n);
		c->len += n;
		c->ops[c->len++] = '"';
		return 0;
	}
	if (!(j = json_string(s)))
		return SSYNC_ERROR;
	error = chunk_json(c, j);
	json_decref(j);
	return error;
}

/* Append a sealed entry to the log; it becomes the chain's prev. Frees @p e. */
static int log_sealed(ssync_store *st, ssync_entry *e, unsigned char prev[SSYNC_HASH_BYTES],
	ssync_write_result *res, ssync_error *err)
{
	int error = ssync_log__insert(st, e, 1, err);

	if (error == 0) {
		memcpy(prev, e->hash, SSYNC_HASH_BYTES);
		if (res->entries == 0)
			res->first_seq = e->seq;
		res->last_seq = e->seq;
		res->entries++;
	}
	ssync_entry_free(e);
	return error;
}

/* Close the chunk into an entry. @p more: another chunk follows, so the
 * sealing can overlap with building it. */
static int chunk_seal(ssync_store *st, const ssync_signer *who, chunk *c, ssync_sealer *s, int more,
	unsigned char prev[SSYNC_HASH_BYTES], ssync_write_result *res, ssync_error *err)
{
	ssync_entry *e = NULL;
	int error;

	if ((error = ssync_sealer__take(s, &e, err)) < 0)
		return error;
	if (e && (error = log_sealed(st, e, prev, res, err)) < 0)
		return error;
	if (chunk_reserve(c, 1) < 0)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	c->ops[c->len++] = ']';
	if ((error = ssync_entry__build(&e, who->district, who->node, c->seq, c->seq > 1 ? prev : NULL,
		c->hlc, who->actor, ssync_store_schema_version(st), c->ops, c->len, err)) < 0)
		return error;
	if (more && ssync_sealer__hand(s, st, who->kp, e) == 0)
		return 0;
	if ((error = ssync_sealer__admit(st, e, err)) < 0) {
		ssync_entry_free(e);
		return error;
	}
	ssync_entry__seal(e, who->kp);
	return log_sealed(st, e, prev, res, err);
}

/*
 * Append cell [col, value, prevs] to the op being written (and to @p cells,
 * the op's tree for the policy check, when managed) and record it in the
 * row's merge state. Takes @p value.
 */
static int add_cell(ssync_store *st, const char *tbl, const char *pk, json_t *state, json_t *cells,
	const char *col, json_t *value, chunk *c, const ssync_signer *who, int fresh, int first,
	ssync_error *err)
{
	/* a new row's cells overwrite nothing: no prevs to look up (or allocate) */
	json_t *prevs = fresh ? (cells ? json_array() : NULL) : ssync_merge__leaf_ids(state, col);
	int error = 0;
	size_t i;

	/* A cell with more concurrent versions than one cell may name (a hostile
	 * or very busy district) is overwritten in steps: this write replaces
	 * the first SSYNC_PREVS_MAX, the rest stay as conflicts for the next
	 * write, so the cell never becomes unwritable. */
	while (prevs && json_array_size(prevs) > SSYNC_PREVS_MAX)
		json_array_remove(prevs, json_array_size(prevs) - 1);

	if (!prevs && (!fresh || cells)) {
		json_decref(value);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	/* A row new to this replica gets the compact state (saved by the caller). */
	if (!fresh && (error = ssync_merge__apply_cell(st, tbl, pk, state, col, value, c->hlc, who->node, c->seq, prevs, err)) < 0)
		goto done;
	if (chunk_raw(c, first ? "[" : ",[", first ? 1 : 2) < 0 || chunk_name(c, col) < 0 ||
	    chunk_raw(c, ",", 1) < 0 || chunk_json(c, value) < 0 || chunk_raw(c, ",[", 2) < 0)
		goto oom;
	for (i = 0; prevs && i < json_array_size(prevs); i++)
		if ((i > 0 && chunk_raw(c, ",", 1) < 0) || chunk_name(c, json_string_value(json_array_get(prevs, i))) < 0)
			goto oom;
	if (chunk_raw(c, "]]", 2) < 0)
		goto oom;
	if (cells && json_array_append_new(cells, json_pack("[sOO]", col, value, prevs)) != 0)
		goto oom;
	goto done;
oom:
	error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
done:
	json_decref(value);
	json_decref(prevs);
	return error;
}

static int record_changeset(ssync_store *st, const ssync_signer *who, int nchg, void *chg,
	ssync_write_result *res, ssync_error *err)
{
	sqlite3_changeset_iter *it = NULL;
	unsigned char prev[SSYNC_HASH_BYTES];
	int64_t seq;
	uint64_t last_hlc = 0, head_hlc = 0;
	int64_t cert_until = 0, max_seq = 0;
	chunk c = { NULL, 0, 0, 0, 0, 0 };
	ssync_sealer sl;
	char *hlcs = NULL;
	int error = 0, rc;
	/* trust (issue #4): the writer's certificate decides what it may write */
	json_t *jpk = NULL;
	int managed = 0, colrule = 0;
	char prole[16], pschool[SSYNC_NODE_ID_MAX + 1];

	memset(&sl, 0, sizeof(sl));
	if ((error = ssync_log__head(st, who->node, &seq, prev, &head_hlc, err)) < 0)
		return error;
	if (ssync_store_meta_get(st, "hlc", &hlcs, NULL) == 0 && hlcs) {
		last_hlc = strtoull(hlcs, NULL, 10);
		free(hlcs);
		/* Adopted before HLCs were bounded, from an entry now refused at
		 * parse: it never counted (our own head, below, still does). */
		if (last_hlc > SSYNC_HLC_MAX)
			last_hlc = 0;
	}
	if (head_hlc > last_hlc)
		last_hlc = head_hlc;
	/* The first HLC this write signs, before the checks: receivers judge
	 * the entry's time, not this PC's clock (TRUST.md §4, §4a). */
	if ((error = chunk_open(&c, seq + 1, &last_hlc, err)) < 0)
		return error;
	prole[0] = 0;
	if (who->policy && (error = who->policy->local(st, who->node, ssync_keys_public(who->kp), c.hlc, &managed, prole,
		pschool, &cert_until, &max_seq, err)) < 0)
		return error;
	if ((error = ssync_store__witness_clock(st, who->clock_override && strcmp(prole, "hub") == 0, c.hlc,
		head_hlc, err)) < 0)
		return error;
	if (sqlite3changeset_start(&it, nchg, chg) != SQLITE_OK)
		return ssync_error_set(err, SSYNC_ERROR, "read changeset");
	while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		const char *tbl;
		int ncol, op, indirect, i;
		unsigned char *pkflags;
		const ssync_table_info *t;
		sqlite3_value *pkv = NULL;
		json_t *state = NULL, *cells = NULL, *jop;
		const char *pk;
		int found = 0, fresh = 0;

		if (sqlite3changeset_op(it, &tbl, &ncol, &op, &indirect) != SQLITE_OK ||
		    sqlite3changeset_pk(it, &pkflags, &ncol) != SQLITE_OK) {
			error = ssync_error_set(err, SSYNC_ERROR, "read changeset");
			goto done;
		}
		if (!(t = ssync_store__table(st, tbl)) || t->ncols != ncol) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "changed table %s is not in the registry", tbl);
			goto done;
		}
		if (op == SQLITE_DELETE)
			rc = sqlite3changeset_old(it, t->pk, &pkv);
		else if (op == SQLITE_INSERT)
			rc = sqlite3changeset_new(it, t->pk, &pkv);
		else
			rc = sqlite3changeset_old(it, t->pk, &pkv);
		if (rc != SQLITE_OK || !pkv || sqlite3_value_type(pkv) == SQLITE_NULL) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: a row needs a non-empty %s", tbl, t->cols[t->pk]);
			goto done;
		}
		/* The key is signed as text: only text (or an integer, which has one
		 * spelling) is the same value at every receiver. */
		if (sqlite3_value_type(pkv) != SQLITE_TEXT && sqlite3_value_type(pkv) != SQLITE_INTEGER) {
			error = ssync_error_set(err, SSYNC_EVALUE, "%s: the key %s is a %s; keys are text (E_VALUE)", tbl,
				t->cols[t->pk], sqlite3_value_type(pkv) == SQLITE_BLOB ? "blob" : "real number");
			goto done;
		}
		pk = (const char *)sqlite3_value_text(pkv);
		if (!pk || !pk[0] || (size_t)sqlite3_value_bytes(pkv) > SSYNC_KEY_MAX_BYTES) {
			error = ssync_error_set(err, SSYNC_EVALUE, "%s: key '%.40s' must be 1 to %d bytes of text (E_VALUE)", tbl,
				pk ? pk : "", SSYNC_KEY_MAX_BYTES);
			goto done;
		}
		json_decref(jpk);
		/* the key's whole bytes: a NUL inside is then refused by admission */
		if (!(jpk = json_stringn(pk, (size_t)sqlite3_value_bytes(pkv)))) { /* jansson checks UTF-8 */
			error = ssync_error_set(err, SSYNC_EENCODING, "%s: key is not valid UTF-8", tbl);
			goto done;
		}
		if (c.len > SSYNC_ENTRY_TARGET_BYTES || c.nops >= SSYNC_ENTRY_MAX_OPS) {
			if ((error = chunk_seal(st, who, &c, &sl, 1, prev, res, err)) < 0)
				goto done;
			if ((error = chunk_open(&c, c.seq + 1, &last_hlc, err)) < 0)
				goto done;
			if (max_seq && c.seq > max_seq) {
				error = ssync_error_set(err, SSYNC_ECERT, "the district revoked node %s after its seq %lld; this "
					"write would pass it, and nothing was written (E_REVOKED)", who->node, (long long)max_seq);
				ssync_error_hint(err, "this node writes nothing more; if the revocation is wrong, call the district hub");
				goto done;
			}
			/* a long write may run past its certificate's end */
			if (cert_until && (int64_t)ssync_hlc_ms(c.hlc) > cert_until) {
				error = ssync_error_set(err, SSYNC_ECERT, "the certificate of node %s ended during this write; "
					"nothing was written (E_CERT_EXPIRED)", who->node);
				ssync_error_hint(err, "ask the hub to renew it: schoolsync district enroll %s ... --valid-until DATE",
					who->node);
				goto done;
			}
		}
		if (op == SQLITE_DELETE) {
			sqlite3_value *oldv[256];
			if (ncol > 256) {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "table %s has too many columns", tbl);
				goto done;
			}
			for (i = 0; i < ncol; i++)
				if (sqlite3changeset_old(it, i, &oldv[i]) != SQLITE_OK)
					oldv[i] = NULL;
			error = ssync_merge__load_old(st, tbl, pk, oldv, &state, &found, err);
		} else if (op == SQLITE_INSERT) {
			/* most inserts create a row: try that first, load only if it was known */
			if ((error = ssync_merge__try_create(st, tbl, pk, c.hlc, who->node, c.seq, &fresh, err)) == 0)
				error = fresh ? ((state = json_object()) ? 0 : ssync_error_set(err, SSYNC_ERROR, "out of memory")) :
					ssync_merge__load(st, tbl, pk, &state, &found, err);
		} else {
			error = ssync_merge__load(st, tbl, pk, &state, &found, err);
		}
		if (error < 0)
			goto done;
		if ((managed && !(cells = json_array())) || chunk_raw(&c, c.nops ? ",{\"t\":" : "[{\"t\":", 6) < 0 ||
		    chunk_name(&c, tbl) < 0 || chunk_raw(&c, ",\"k\":", 5) < 0 || chunk_json(&c, jpk) < 0 ||
		    chunk_raw(&c, ",\"c\":[", 6) < 0) {
			json_decref(state);
			json_decref(cells);
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (op == SQLITE_DELETE) {
			error = add_cell(st, tbl, pk, state, cells, "$row", json_integer(0), &c, who, 0, 1, err);
		} else {
			int first = 1;
			if (op == SQLITE_INSERT) {
				error = add_cell(st, tbl, pk, state, cells, "$row", json_integer(1), &c, who, fresh, 1, err);
				first = 0;
			}
			for (i = 0; i < ncol && error == 0; i++) {
				sqlite3_value *v = NULL;
				json_t *jv;
				if (i == t->pk)
					continue;
				if (sqlite3changeset_new(it, i, &v) != SQLITE_OK || !v)
					continue; /* unchanged column of an UPDATE */
				if (!(jv = ssync_merge__value_json(v, tbl, t->cols[i], err))) {
					error = err ? err->code : SSYNC_ERROR;
					if (error == 0)
						error = SSYNC_ERROR;
					break;
				}
				error = add_cell(st, tbl, pk, state, cells, t->cols[i], jv, &c, who, fresh, first, err);
				first = 0;
				res->cells++;
			}
		}
		if (error == 0 && chunk_raw(&c, "]}", 2) < 0)
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		if (error == 0)
			error = fresh ? 0 : ssync_merge__save(st, tbl, pk, state, err);
		json_decref(state);
		if (error < 0) {
			json_decref(cells);
			goto done;
		}
		c.nops++;
		res->rows++;
		/* trust (issue #4): refuse a write the policy forbids before anything is signed */
		if (managed) {
			if (!(jop = json_pack("{ssssso}", "t", tbl, "k", pk, "c", cells))) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			error = who->policy->check_op(st, prole, pschool, jop, NULL, found, &colrule, err);
			json_decref(jop);
			if (error != 0)
				goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		error = ssync_error_set(err, SSYNC_ERROR, "read changeset");
		goto done;
	}
	if (c.nops > 0) {
		if ((error = chunk_seal(st, who, &c, &sl, 0, prev, res, err)) < 0)
			goto done;
	}
	/* No need to store last_hlc: our head entry carries it, and the meta
	 * "hlc" only remembers what we observed from others (ingest). */
done:
	ssync_sealer__stop(&sl);
	json_decref(jpk);
	free(c.ops);
	sqlite3changeset_finalize(it);
	return error;
}

/* The caller's check of each changed row (ssync_write_check_cb), before
 * anything is signed; the changeset names the rows by table and key. */
static int check_changed(const ssync_signer *who, int nchg, void *chg, ssync_error *err)
{
	sqlite3_changeset_iter *it = NULL;
	int rc, error = 0;

	if (sqlite3changeset_start(&it, nchg, chg) != SQLITE_OK)
		return ssync_error_set(err, SSYNC_ERROR, "read changeset");
	while (error == 0 && (rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		const char *tbl;
		int ncol, op, ind;
		unsigned char *pkcols;
		sqlite3_value *pkv = NULL;
		char pk[512];

		if (sqlite3changeset_op(it, &tbl, &ncol, &op, &ind) != SQLITE_OK ||
		    sqlite3changeset_pk(it, &pkcols, &ncol) != SQLITE_OK) {
			error = ssync_error_set(err, SSYNC_ERROR, "read changeset");
			break;
		}
		/* Replicated tables have one primary key column (registry). */
		for (rc = 0; rc < ncol && !pkcols[rc]; rc++)
			;
		/* The key: new for an insert, old otherwise (an update's new
		 * value of an unchanged column is absent). */
		if (rc >= ncol || (op == SQLITE_INSERT ? sqlite3changeset_new(it, rc, &pkv) :
		    sqlite3changeset_old(it, rc, &pkv)) != SQLITE_OK || !pkv)
			continue;
		snprintf(pk, sizeof(pk), "%s", sqlite3_value_text(pkv) ? (const char *)sqlite3_value_text(pkv) : "");
		error = who->check(tbl, pk, op == SQLITE_INSERT ? SSYNC_WRITE_INSERT : op == SQLITE_DELETE ?
			SSYNC_WRITE_DELETE : SSYNC_WRITE_UPDATE, who->check_payload, err);
	}
	sqlite3changeset_finalize(it);
	return error;
}

static int exec_impl(ssync_store *st, const ssync_signer *who, const char *sql,
	int nparams, const char *const *params, ssync_row_cb cb, void *payload,
	const ssync_capture_force *force, ssync_write_result *res, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(st);
	sqlite3_session *sess = NULL;
	stmt_list l = { NULL, 0, NULL, NULL };
	void *chg = NULL;
	int nchg = 0, readonly = 1, error = 0, i, in_tx = 0;

	memset(res, 0, sizeof(*res));
	if ((error = prepare_all(st, sql, &l, &readonly, err)) < 0)
		goto done;
	for (i = 0; i < nparams; i++) {
		int s;
		for (s = 0; s < l.n; s++) {
			if (i < sqlite3_bind_parameter_count(l.v[s]))
				sqlite3_bind_text(l.v[s], i + 1, params[i], -1, SQLITE_STATIC);
		}
	}
	res->readonly = readonly;
	if (readonly) {
		for (i = 0; i < l.n && error == 0; i++)
			error = run_stmt(st, l.v[i], cb, payload, err);
		goto done;
	}
	if (!who->kp) {
		ssync_error_set(err, SSYNC_EREADONLY, "this node's key (node.key) is not available, and writes must be signed");
		ssync_error_hint(err, "restore node.key from your backup into the home (mode 0600)");
		error = SSYNC_EREADONLY;
		goto done;
	}
	if ((error = ssync_store_begin(st, err)) < 0)
		goto done;
	in_tx = 1;
	/* read in the write transaction: no separate read transaction per write */
	{
		char *rec = NULL;
		int recovering = ssync_store_meta_get(st, "recovering", &rec, NULL) == 0 && rec && strcmp(rec, "1") == 0;
		free(rec);
		rec = NULL;
		if (recovering) {
			error = ssync_error_set(err, SSYNC_EBUSY, "this node was restored from its key and has not yet "
				"read its own branch (node/%s) from a remote; writing now could reuse a sequence number "
				"the district already holds, and the node would be frozen for equivocation", who->node);
			ssync_error_hint(err, "sync with a remote that holds this node's history, usually the hub: "
				"schoolsync sync --remote hub (a new or empty USB stick does not count); "
				"see docs/OPERATIONS.md, Restoring a node");
			goto done;
		}
		/* E_ROLLBACK (sync/rollback.c sets it): our own branch on a remote is
		 * ahead of this log; signing now would re-use its seqs. */
		if (ssync_store_meta_get(st, "rollback", &rec, NULL) == 0 && rec && rec[0]) {
			error = ssync_error_set(err, SSYNC_EROLLBACK, "writes refused: %s", rec);
			ssync_error_hint(err, "run: schoolsync sync (it adopts the remote's copy of this node's entries; if "
				"this node wrote after it was restored, schoolsync sync --adopt-remote discards those unpublished "
				"writes, kept in schoolsync quarantine for re-entry); docs/OPERATIONS.md §7");
			free(rec);
			goto done;
		}
		free(rec);
	}
	if (sqlite3session_create(db, "main", &sess) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "create session");
		goto done;
	}
	sqlite3session_table_filter(sess, table_filter, st);
	if (sqlite3session_attach(sess, NULL) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "attach session");
		goto done;
	}
	for (i = 0; i < l.n && error == 0; i++)
		error = run_stmt(st, l.v[i], cb, payload, err);
	if (error < 0)
		goto done;
	if (sqlite3session_changeset(sess, &nchg, &chg) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "collect changes");
		goto done;
	}
	sqlite3session_delete(sess);
	sess = NULL;
	if (nchg == 0 && force) {
		const ssync_table_info *t = ssync_store__table(st, force->table);
		int col;
		for (col = 0; t && col < t->ncols && strcmp(t->cols[col], force->column) != 0; col++)
			;
		if (!t || col >= t->ncols || col == t->pk) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s has no column %s to write", force->table, force->column);
			goto done;
		}
		sqlite3_free(chg); /* an empty changeset may still be a buffer */
		chg = NULL;
		if ((error = ssync_capture__same_value_changeset(st, t, col, force->pk, &chg, &nchg, err)) < 0)
			goto done;
	}
	if (nchg > 0 && who->check && (error = check_changed(who, nchg, chg, err)) < 0)
		goto done;
	if (nchg > 0 && (error = record_changeset(st, who, nchg, chg, res, err)) < 0)
		goto done;
	error = ssync_store_commit(st, err);
	in_tx = 0;
done:
	if (sess)
		sqlite3session_delete(sess);
	sqlite3_free(chg);
	stmts_free(st, &l);
	if (in_tx)
		ssync_store_rollback(st);
	if (error < 0)
		memset(res, 0, sizeof(*res));
	return error;
}

int ssync_capture__exec(ssync_store *st, const ssync_signer *who, const char *sql,
	int nparams, const char *const *params, ssync_row_cb cb, void *payload,
	ssync_write_result *res, ssync_error *err)
{
	return exec_impl(st, who, sql, nparams, params, cb, payload, NULL, res, err);
}

int ssync_capture__exec_force(ssync_store *st, const ssync_signer *who, const char *sql,
	int nparams, const char *const *params, const ssync_capture_force *force,
	ssync_write_result *res, ssync_error *err)
{
	return exec_impl(st, who, sql, nparams, params, NULL, NULL, force, res, err);
}
