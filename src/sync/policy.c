/* Write policy (DESIGN §5, docs/POLICY.md): who may write which rows and
 * columns, read from ssync_policy (schema/003_policy.sql), never coded per
 * command. Checked before signing a local write and on every received
 * entry. A decision depends only on the op and the writer's certificate --
 * never on the row's merge state, so never on which entries a replica
 * happened to receive first:
 *   - on an owned table (rule owner:<col>) the row's owner is the school
 *     whose id prefixes its key ("<school>-..."), else the hub; a school
 *     writes only its own namespace, and the owner column, written by
 *     anyone, must name that owner (NULL for a hub row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merge_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/timefmt.h"
#include "schoolsync/ident.h"
#include "schoolsync/cellcrypt.h"
#include "schoolsync/policy.h"
#include "capture_int.h"
#include "policy_int.h"
#include "reenroll_int.h"

/* The rule for (tbl, col), else the table's '*'; "" if none. Two look-ups
 * by primary key: "col IN (?, '*') ORDER BY col='*'" built two temporary
 * b-trees per call, and the writer asks this for every op and private cell. */
static int rule_for(ssync_store *st, const char *tbl, const char *col, char *out, size_t len, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT coalesce((SELECT rule FROM ssync_policy WHERE tbl=?1 AND col=?2), "
		"(SELECT rule FROM ssync_policy WHERE tbl=?1 AND col='*'))", err);
	int rc;

	out[0] = 0;
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, col, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read policy");
}

int ssync_policy__key_owner(const char *pk, char out[SSYNC_NODE_ID_MAX + 1])
{
	const char *dash = pk ? strrchr(pk, '-') : NULL;
	size_t n = dash ? (size_t)(dash - pk) : 0;

	out[0] = 0;
	if (n == 0 || n > SSYNC_NODE_ID_MAX)
		return 0;
	memcpy(out, pk, n);
	out[n] = 0;
	if (!ssync_ident_node_valid(out) || strcmp(out, SSYNC_POLICY_HUB_NS) == 0)
		out[0] = 0;
	return out[0] != 0;
}

int ssync_policy__check_op(ssync_store *st, const char *role, const char *school,
	const json_t *op, const json_t *state, int found, int *column_rule, ssync_error *err)
{
	const char *tbl = json_string_value(json_object_get(op, "t"));
	const char *pk = json_string_value(json_object_get(op, "k"));
	json_t *cells = json_object_get(op, "c"), *cell;
	char trule[96], crule[96], owner[SSYNC_NODE_ID_MAX + 1] = "";
	const char *ocol = NULL, *me = school && *school ? school : "none";
	int is_hub, is_insert = 0, writes_owner = 0, error;
	size_t i;

	/* Ownership comes from the key alone, so the row's merge state (what
	 * this replica happened to receive first) plays no part. */
	(void)state;
	(void)found;
	*column_rule = 0;
	if (!tbl || !pk || !json_is_array(cells))
		return ssync_error_set(err, SSYNC_EINVAL, "malformed op");
	if (!role || strcmp(role, "auditor") == 0 || (strcmp(role, "hub") != 0 && strcmp(role, "school") != 0))
		return ssync_error_set(err, SSYNC_EPERM, "%s/%s: a node with role %s writes nothing (E_PERM)", tbl, pk, role ? role : "none");
	is_hub = strcmp(role, "hub") == 0;
	if ((error = rule_for(st, tbl, "*", trule, sizeof(trule), err)) < 0)
		return error;
	if (!trule[0])
		return is_hub ? 0 : ssync_error_set(err, SSYNC_EPERM, "%s/%s: table %s has no write policy; only the hub writes it (E_PERM)", tbl, pk, tbl);
	if (strncmp(trule, "owner:", 6) == 0)
		ocol = trule + 6;
	json_array_foreach(cells, i, cell) {
		const char *col = json_string_value(json_array_get(cell, 0));
		if (col && strcmp(col, "$row") == 0 && json_integer_value(json_array_get(cell, 1)) == 1)
			is_insert = 1;
	}
	/* Table-level rule (it also governs "$row": creating and deleting). */
	if (strcmp(trule, "none") == 0)
		return ssync_error_set(err, SSYNC_EPERM, "%s/%s: nobody writes table %s (E_PERM, rule none)", tbl, pk, tbl);
	if (!ocol && strcmp(trule, "hub") == 0 && !is_hub)
		return ssync_error_set(err, SSYNC_EPERM, "%s/%s: only the hub writes table %s; node speaks for school %s (E_PERM, rule hub)",
			tbl, pk, tbl, me);
	if (ocol) {
		/* A school writes only rows in its own key namespace. */
		ssync_policy__key_owner(pk, owner);
		if (!is_hub && !owner[0])
			return ssync_error_set(err, SSYNC_EPERM, "%s/%s: row belongs to the hub (its key has no school prefix "
				"\"<school>-\"); this node speaks for %s (E_PERM, rule owner:%s)", tbl, pk, me, ocol);
		if (!is_hub && strcmp(owner, me) != 0)
			return ssync_error_set(err, SSYNC_EPERM, "%s/%s: row is owned by school %s (its key's namespace); "
				"this node speaks for %s (E_PERM, rule owner:%s)", tbl, pk, owner, me, ocol);
	}
	/* Every cell: the owner column, then column rules. */
	json_array_foreach(cells, i, cell) {
		const char *col = json_string_value(json_array_get(cell, 0));
		json_t *val = json_array_get(cell, 1), *prevs = json_array_get(cell, 2);
		if (!col || strcmp(col, "$row") == 0)
			continue;
		if (ocol && strcmp(col, ocol) == 0) {
			/* The owner column always names the key's namespace (NULL: the
			 * hub's), for every writer, the hub included. */
			const char *v = json_string_value(val);
			writes_owner = 1;
			if (owner[0] ? !v || strcmp(v, owner) != 0 : !json_is_null(val))
				return ssync_error_set(err, SSYNC_EPERM, "%s/%s: column %s names the owning school and cannot change: "
					"it must be %s, as the key's namespace says, not %s (E_PERM, rule owner:%s)", tbl, pk, col,
					owner[0] ? owner : "NULL (a hub row)", v ? v : json_is_null(val) ? "NULL" : "a non-text value", ocol);
			continue;
		}
		if ((error = rule_for(st, tbl, col, crule, sizeof(crule), err)) < 0)
			return error;
		if (strcmp(crule, "none") == 0) {
			*column_rule = 1;
			return ssync_error_set(err, SSYNC_EPERM, "%s/%s: nobody writes column %s (E_PERM_COLUMN, rule none)", tbl, pk, col);
		}
		if (strcmp(crule, "hub") == 0 && !is_hub) {
			/* The owner creates the row with the cell NULL; everything later is the hub's. */
			if (!(is_insert && json_is_null(val) && json_array_size(prevs) == 0)) {
				*column_rule = 1;
				return ssync_error_set(err, SSYNC_EPERM, "%s/%s: column %s is written by the hub only; node speaks for school %s "
					"(E_PERM_COLUMN, rule hub)", tbl, pk, col, me);
			}
		}
	}
	/* Creating a row names its owner, so the visible owner column is always
	 * the key's namespace, whatever came before. */
	if (ocol && is_insert && !writes_owner)
		return ssync_error_set(err, SSYNC_EPERM, "%s/%s: an op creating the row must write its owner column %s (E_PERM, rule owner:%s)",
			tbl, pk, ocol, ocol);
	return 0;
}

int ssync_policy__check_entry(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err)
{
	json_t *op;
	size_t i;

	json_array_foreach(e->ops, i, op) {
		const char *tbl = json_string_value(json_object_get(op, "t"));
		const char *pk = json_string_value(json_object_get(op, "k"));
		json_t *state = NULL;
		ssync_error perr;
		int found = 0, colrule = 0, rc, error;

		if ((error = ssync_merge__load(st, tbl, pk, &state, &found, err)) < 0)
			return error;
		ssync_error_clear(&perr);
		rc = ssync_policy__check_op(st, v->role, v->school, op, state, found, &colrule, &perr);
		json_decref(state);
		if (rc == 0)
			continue;
		if (rc != SSYNC_EPERM && rc != SSYNC_ENOTFOUND) {
			if (err && !err->code)
				*err = perr;
			return rc;
		}
		v->state = rc == SSYNC_EPERM ? 3 : 2;
		snprintf(v->qcode, sizeof(v->qcode), "%s",
			ssync_error_name(rc == SSYNC_ENOTFOUND ? SSYNC_D_HELD : colrule ? SSYNC_D_PERM_COLUMN : SSYNC_EPERM));
		snprintf(v->why, sizeof(v->why), "entry %s#%lld by %.63s: %.300s", e->node, (long long)e->seq,
			v->school[0] ? v->school : v->role, perr.message);
		return 0;
	}
	return 0;
}

/*
 * The certificate of key @p pk that covers @p ms as receivers choose it
 * (judge.c: the highest serial whose window holds the entry's time): its
 * role, school and end (*until, 0 = none). 1 if found; 0 with *from and
 * *until of the key's newest certificate otherwise.
 */
static int cert_covering(ssync_store *st, const char *node, const unsigned char *pk, int64_t ms, char role[16],
	char school[SSYNC_NODE_ID_MAX + 1], int64_t *from, int64_t *until, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT role, school_id, valid_from, valid_until, pubkey FROM ssync_cert "
		"WHERE node=? ORDER BY serial", err);
	int64_t cu = 0;
	int rc, found = 0;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t f = sqlite3_column_int64(q, 2);
		int64_t u = sqlite3_column_type(q, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 3);
		if (pk && (sqlite3_column_bytes(q, 4) != SSYNC_PUBKEY_BYTES ||
		    sodium_memcmp(sqlite3_column_blob(q, 4), pk, SSYNC_PUBKEY_BYTES) != 0))
			continue;
		*from = f;
		*until = u;
		if (ms >= f && (u == 0 || ms <= u)) {
			found = 1;
			cu = u;
			snprintf(role, 16, "%s", (const char *)sqlite3_column_text(q, 0));
			snprintf(school, SSYNC_NODE_ID_MAX + 1, "%s", sqlite3_column_type(q, 1) == SQLITE_NULL ? "" :
				(const char *)sqlite3_column_text(q, 1));
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read own certificates");
	if (found)
		*until = cu;
	return found;
}

/* Receivers refuse every entry of @p node past its smallest revocation cut
 * (judge.c, E_REVOKED): once this node holds its own revocation, its next
 * seq past the cut signs nothing (r14: the clerk saw success, every school
 * refused the entry). */
static int revoked_check(ssync_store *st, const char *node, int64_t *until, int64_t *max_seq, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT (SELECT min(after_seq) FROM ssync_revocation WHERE node=?1), "
		"(SELECT ifnull(max(seq), 0) FROM ssync_entry WHERE node=?1)", err);
	int64_t cut = -1, head = 0;
	int r;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	if ((r = ssync_store__step_row(st, q, "read own revocation", err)) > 0) {
		if (sqlite3_column_type(q, 0) != SQLITE_NULL)
			cut = sqlite3_column_int64(q, 0);
		head = sqlite3_column_int64(q, 1);
		r = 0;
	}
	sqlite3_reset(q);
	if (r < 0)
		return r;
	if (cut >= 0 && head + 1 <= cut)
		*max_seq = cut; /* a long write stops at the cut too */
	if (cut < 0 || head + 1 <= cut)
		return 0;
	*until = 0;
	ssync_error_set(err, SSYNC_ECERT, "the district revoked node %s after its seq %lld; nothing it signs now is "
		"accepted anywhere (E_REVOKED)", node, (long long)cut);
	ssync_error_hint(err, "this node writes nothing more; if the revocation is wrong, call the district hub");
	return SSYNC_ECERT;
}

/* The hook capture calls before a local write signs (see capture_int.h). */
int ssync_policy__local(ssync_store *st, const char *node, const unsigned char *pk, uint64_t hlc, int *managed,
	char role[16], char school[SSYNC_NODE_ID_MAX + 1], int64_t *until, int64_t *max_seq, ssync_error *err)
{
	sqlite3_stmt *q;
	int64_t ms = (int64_t)ssync_hlc_ms(hlc), from = 0;
	char when[40], at[40];
	int rc, error;

	*managed = ssync_trust_managed(st);
	role[0] = school[0] = 0;
	*until = 0;
	*max_seq = 0;
	if (!*managed)
		return 0; /* unmanaged (no district root): no policy, see docs/TRUST.md */

	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_peer WHERE node=? AND source='cert'", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE) {
		ssync_error_set(err, SSYNC_ECERT, "node %s has no certificate from the district yet; it cannot write (E_CERT_UNKNOWN)", node);
		ssync_error_hint(err, "ask the hub to run 'schoolsync district enroll %s ...', then run 'schoolsync sync'", node);
		return SSYNC_ECERT;
	}
	if (rc != SQLITE_ROW)
		return ssync_store__sqlerr(st, err, "read own certificate");
	/* an uncertified key, one a re-enrolment replaced, or a generation whose start is not held yet */
	if (pk && (error = ssync_trust__writer_gen_check(st, node, pk, err)) < 0)
		return error;
	/* Receivers judge the entry's HLC against the windows of its key's
	 * certificates (TRUST.md §4), never a clock: so does the writer, with
	 * the HLC it is about to sign (above every entry it applied, so it may
	 * be ahead of this PC's clock), and role and school come from the
	 * certificate they will choose. */
	if ((rc = cert_covering(st, node, pk, ms, role, school, &from, until, err)) < 0)
		return rc;
	if (rc > 0)
		return revoked_check(st, node, until, max_seq, err);
	(void)ssync_time_utc(ms, 1, at, sizeof(at));
	if (from > ms) {
		(void)ssync_time_utc(from, 1, when, sizeof(when));
		ssync_error_set(err, SSYNC_ECERT, "the certificate of node %s is valid only from %s; an entry written now (%s) "
			"is accepted nowhere (E_CERT_EXPIRED)", node, when, at);
		ssync_error_hint(err, "wait until then, or ask the hub for a certificate valid now: schoolsync district enroll "
			"%s ... --valid-from DATE", node);
	} else {
		(void)ssync_time_utc(*until, 1, when, sizeof(when));
		ssync_error_set(err, SSYNC_ECERT, "the certificate of node %s expired at %s; nothing it signs now (%s) is "
			"accepted (E_CERT_EXPIRED)", node, when, at);
		ssync_error_hint(err, "ask the hub to renew it: schoolsync district enroll %s ... --valid-until DATE", node);
	}
	*until = 0;
	return SSYNC_ECERT;
}

int ssync_policy_check(ssync_store *st, const char *role, const char *school, const char *op_json, ssync_error *err)
{
	json_error_t jerr;
	json_t *op = json_loads(op_json ? op_json : "", 0, &jerr), *state = NULL;
	int found = 0, colrule = 0, error;

	if (!op)
		return ssync_error_set(err, SSYNC_EINVAL, "op is not JSON: %s", jerr.text);
	if ((error = ssync_entry__check_op(op, err)) == 0 &&
	    (error = ssync_merge__load(st, json_string_value(json_object_get(op, "t")),
		json_string_value(json_object_get(op, "k")), &state, &found, err)) == 0)
		error = ssync_policy__check_op(st, role, school, op, state, found, &colrule, err);
	json_decref(state);
	json_decref(op);
	return error;
}

int ssync_policy__private_col(ssync_store *st, const char *tbl, const char *col, ssync_error *err)
{
	const ssync_table_info *t = ssync_store__table(st, tbl);
	char rule[128];
	int error;

	if (!t || !t->priv || !col || col[0] == '$' || strcmp(col, t->cols[t->pk]) == 0)
		return 0;
	if ((error = rule_for(st, tbl, "*", rule, sizeof(rule), err)) < 0)
		return error;
	if (strncmp(rule, "owner:", 6) == 0 && strcmp(rule + 6, col) == 0)
		return 0;
	return 1;
}

/* The local writer also keeps private columns private: it signs only the
 * encrypted form (or NULL) there. Receivers need no key and check nothing
 * more, so old logs stay valid (docs/PRIVACY.md). */
static int writer_check_op(ssync_store *st, const char *role, const char *school, const json_t *op,
	const json_t *state, int found, int *column_rule, ssync_error *err)
{
	const char *tbl = json_string_value(json_object_get(op, "t"));
	json_t *cell;
	size_t i;
	int error;

	if ((error = ssync_policy__check_op(st, role, school, op, state, found, column_rule, err)) < 0)
		return error;
	json_array_foreach(json_object_get(op, "c"), i, cell) {
		const char *col = json_string_value(json_array_get(cell, 0));
		json_t *v = json_array_get(cell, 1);
		if ((error = ssync_policy__private_col(st, tbl, col, err)) < 0)
			return error;
		if (error == 0 || json_is_null(v))
			continue;
		if (!json_is_string(v) || !ssync_cell_parse(json_string_value(v), json_string_length(v), NULL)) {
			ssync_error_set(err, SSYNC_EPERM, "%s/%s: column %s is private and only its encrypted form is "
				"written (E_PERM, private column)", tbl, json_string_value(json_object_get(op, "k")), col);
			ssync_error_hint(err, "write it with: schoolsync student-archive add|edit (docs/PRIVACY.md)");
			return SSYNC_EPERM;
		}
	}
	return 0;
}

const ssync_write_policy ssync_policy__writer = { ssync_policy__local, writer_check_op };
