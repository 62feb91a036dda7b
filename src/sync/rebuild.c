/* ssync_trust_rebuild: recompute the replicated state from the log alone, after
 * trust data changed under entries already held (trust.c). Every entry is
 * judged again (certificates, revocations, policy) and replayed in causal
 * order; decisions from an earlier judging are dropped first, so the result
 * depends only on the log and the trust data, never on arrival order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit_int.h"
#include "merge_int.h"
#include "policy_int.h"

static int exec_sql(ssync_store *st, const char *sql, ssync_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(ssync_store__db(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
		ssync_error_set(err, SSYNC_ERROR, "rebuild: %s", msg ? msg : "SQL error");
		sqlite3_free(msg);
		return SSYNC_ERROR;
	}
	return 0;
}

static int set_state(ssync_store *st, const char *node, int64_t seq, int state, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "UPDATE ssync_entry SET state=? WHERE node=? AND seq=?", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_int(q, 1, state);
	sqlite3_bind_text(q, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, seq);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "mark entry");
}

/* A value no receiver accepts keeps the entry refused, as ingest judged it. */
static int admit_value(ssync_store *st, const ssync_entry *e, ssync_verdict *v, ssync_error *err)
{
	ssync_error perr;
	int error;

	ssync_error_clear(&perr);
	if ((error = ssync_admit__entry(st, e, &perr)) == SSYNC_EVALUE) {
		v->state = 3;
		snprintf(v->qcode, sizeof(v->qcode), "%s", ssync_error_name(SSYNC_EVALUE));
		snprintf(v->why, sizeof(v->why), "%s", perr.message);
		return 0;
	}
	if (error < 0)
		ssync_error_set(err, error, "%s", perr.message);
	return error;
}

int ssync_trust_rebuild(ssync_store *st, ssync_trust_rebuild_report *rep, ssync_error *err)
{
	sqlite3 *db = ssync_store__db(st);
	int managed = ssync_trust_managed(st), error = 0, i, own_tx = !ssync_store__in_tx(st);
	uint64_t last_hlc = 0, clock = 0;
	char last_node[SSYNC_NODE_ID_MAX + 1] = "";
	int64_t last_seq = 0;

	memset(rep, 0, sizeof(*rep));
	if (own_tx && (error = ssync_store_begin(st, err)) < 0)
		return error;
	for (i = 0; i < ssync_store__ntables(st); i++) {
		char *sql = sqlite3_mprintf("DELETE FROM \"%w\"", ssync_store__table_at(st, i)->name);
		if (!sql) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		error = exec_sql(st, sql, err);
		sqlite3_free(sql);
		if (error < 0)
			goto done;
	}
	/* Decisions made by judging entries are recomputed; other quarantine rows stay. */
	if ((error = exec_sql(st, "DELETE FROM ssync_row; DELETE FROM ssync_conflict; "
		"DELETE FROM ssync_quarantine WHERE source='rebuild' OR (seq > 0 AND code IN "
		"('E_REVOKED','E_CERT_EXPIRED','E_PERM','E_PERM_COLUMN','W_HELD','E_VALUE','W_FUTURE_HLC','E_BACKDATED')); "
		"UPDATE ssync_entry SET state=0 WHERE state IN (1,2,3);", err)) < 0)
		goto done;
	/* Replay in (hlc, node, seq) order -- causal order, since a writer's HLC
	 * is above everything it had seen -- in keyset pages, so the statement
	 * never reads rows this loop updates. The order is sorted once into a
	 * temporary table: an index on the log would cost every write a page. */
	if ((error = exec_sql(st, "DROP TABLE IF EXISTS temp.ssync_replay; "
		"CREATE TEMP TABLE ssync_replay(hlc INTEGER, node TEXT, seq INTEGER, PRIMARY KEY(hlc, node, seq)) WITHOUT ROWID; "
		"INSERT INTO temp.ssync_replay SELECT hlc, node, seq FROM ssync_entry WHERE state=0;", err)) < 0)
		goto done;
	for (;;) {
		sqlite3_stmt *q = NULL;
		int rows = 0, rc;
		if (sqlite3_prepare_v2(db, "SELECT e.node, e.seq, e.body, e.sig, e.hlc FROM temp.ssync_replay r "
			"JOIN ssync_entry e ON e.node=r.node AND e.seq=r.seq WHERE e.state=0 AND "
			"(r.hlc, r.node, r.seq) > (?, ?, ?) ORDER BY r.hlc, r.node, r.seq LIMIT 512", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_store__sqlerr(st, err, "read log");
			goto done;
		}
		sqlite3_bind_int64(q, 1, (sqlite3_int64)last_hlc);
		sqlite3_bind_text(q, 2, last_node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 3, last_seq);
		/* Collect the page first: applying runs other statements on these rows. */
		{
			char *lines[512];
			size_t lens[512];
			char nodes[512][SSYNC_NODE_ID_MAX + 1];
			int64_t seqs[512];
			int n = 0, k;
			while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < 512) {
				size_t blen = (size_t)sqlite3_column_bytes(q, 2);
				char *l = malloc(blen + 2 * SSYNC_SIG_BYTES + 2);
				if (!l || sqlite3_column_bytes(q, 3) != SSYNC_SIG_BYTES) {
					free(l);
					error = ssync_error_set(err, SSYNC_ECORRUPT, "stored entry %s#%lld is damaged",
						(const char *)sqlite3_column_text(q, 0), (long long)sqlite3_column_int64(q, 1));
					break;
				}
				memcpy(l, sqlite3_column_blob(q, 2), blen);
				l[blen] = '\t';
				ssync_hex_encode(l + blen + 1, sqlite3_column_blob(q, 3), SSYNC_SIG_BYTES);
				lines[n] = l;
				lens[n] = blen + 1 + 2 * SSYNC_SIG_BYTES;
				snprintf(nodes[n], sizeof(nodes[n]), "%s", (const char *)sqlite3_column_text(q, 0));
				seqs[n] = sqlite3_column_int64(q, 1);
				n++;
				last_hlc = (uint64_t)sqlite3_column_int64(q, 4);
				snprintf(last_node, sizeof(last_node), "%s", (const char *)sqlite3_column_text(q, 0));
				last_seq = sqlite3_column_int64(q, 1);
			}
			/* A page cut short by SQLITE_BUSY would end the replay half done. */
			if (error == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
				error = ssync_store__sqlerr(st, err, "read the log to replay");
			sqlite3_finalize(q);
			rows = n;
			for (k = 0; k < n; k++) {
				ssync_entry *e = NULL;
				ssync_verdict v;
				ssync_error perr;
				ssync_error_clear(&perr);
				if (error == 0 && ssync_entry_parse(&e, lines[k], lens[k], &perr) == SSYNC_ECLOCK) {
					/* Held from before HLCs were bounded: refused now, like
					 * on every receiver, rather than stopping the rebuild. */
					rep->refused++;
					if ((error = set_state(st, nodes[k], seqs[k], 3, err)) == 0)
						error = ssync_trust__quarantine(st, nodes[k], seqs[k], ssync_error_name(SSYNC_ECLOCK), perr.message,
							lines[k], lens[k], "rebuild", err);
				} else if (error == 0 && !e) {
					error = ssync_error_set(err, perr.code, "%s", perr.message);
				} else if (error == 0) {
					memset(&v, 0, sizeof(v));
					v.state = 1;
					rep->entries++;
					if (managed && (error = ssync_trust__judge(st, e, &v, err)) == 0) {
						if (v.stop) {
							v.state = 3;
							snprintf(v.qcode, sizeof(v.qcode), "%s", ssync_error_name(v.code));
						}
						if (v.state == 1)
							error = ssync_policy__check_entry(st, e, &v, err);
					}
					if (error == 0 && v.state == 1)
						error = admit_value(st, e, &v, err);
					if (error == 0 && v.state == 1)
						error = ssync_merge__apply_ops(st, e->ops, e->hlc, e->node, e->seq, err);
					if (error == 0)
						error = set_state(st, e->node, e->seq, v.state, err);
					if (error == 0 && v.state != 1)
						error = ssync_trust__quarantine(st, e->node, e->seq, v.qcode, v.why, lines[k], lens[k], "rebuild", err);
					if (v.state == 1) {
						rep->applied++;
						if (e->hlc > clock)
							clock = e->hlc;
					} else if (v.state == 2) {
						rep->held++;
					} else {
						rep->refused++;
					}
				}
				ssync_entry_free(e);
				free(lines[k]);
			}
		}
		if (error < 0)
			goto done;
		if (rows < 512)
			break;
	}
	if ((error = exec_sql(st, "DROP TABLE temp.ssync_replay", err)) < 0)
		goto done;
	/* Every decision now follows the compiled rules (node.c re-judges when they change). */
	if ((error = ssync_store_meta_set(st, "policy_version", SSYNC_POLICY__VERSION, err)) < 0)
		goto done;
	/* Our clock is "above every applied entry": recomputed from the replay,
	 * so an entry refused now (revoked after it was applied) stops counting.
	 * Our own head still bounds our next write from below (capture.c). */
	{
		char buf[32];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)clock);
		if ((error = ssync_store_meta_set(st, "hlc", buf, err)) < 0)
			goto done;
	}
	if (own_tx) {
		error = ssync_store_commit(st, err);
		own_tx = 0;
	}
done:
	if (own_tx && error < 0)
		ssync_store_rollback(st);
	return error;
}