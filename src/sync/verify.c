/* Checking a replica against its log: every entry re-verified, and the data
 * rebuilt from the entries alone (through the same ingest path receivers
 * use) into an in-memory database. Equal state hashes prove nothing was
 * written around the log; after a crash they prove the write and its entry
 * committed together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"
#include "log_int.h"
#include "node_int.h"
#include "reenroll_int.h"
#include "schoolsync/log.h"
#include "schoolsync/verify.h"
#include "sync_int.h"

typedef struct vctx {
	ssync_verify_report *rep;
	ssync_store *st, *scratch;
	int64_t gen; /* the key generation the current ingest takes */
	ssync_gen g[SSYNC_GENS_MAX]; /* the current node's re-enrolments */
	int ng;
	const char *district;
	ssync_ingest *in;
	char node[SSYNC_NODE_ID_MAX + 1];
	int error;
	ssync_error *err;
	char first[300];
} vctx;

static int end_node(vctx *v)
{
	int error = 0;

	if (v->in) {
		error = ssync_ingest__end(v->in, 0, NULL, v->err);
		v->in = NULL;
	}
	return error;
}

/* The scratch store's key for @p node (copied from the replica's peers). */
static int set_key(ssync_store *scratch, const char *node, const unsigned char key[SSYNC_PUBKEY_BYTES],
	ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(ssync_store__db(scratch), "UPDATE ssync_peer SET pubkey=? WHERE node=?", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(scratch, err, "set a key generation's key");
	sqlite3_bind_blob(q, 1, key, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(scratch, err, "set a key generation's key");
}

static int on_item(const ssync_log_item *it, void *p)
{
	vctx *v = p;
	const ssync_entry *e = it->entry;
	char *line = NULL;
	size_t len = 0;
	int rc;

	v->rep->entries++;
	if (!e) {
		/* counted and named; the walk goes on to the other entries */
		v->rep->unreadable++;
		if (!v->first[0])
			snprintf(v->first, sizeof(v->first), "entry %s#%lld: %.200s", it->node, (long long)it->seq, it->problem);
		return 0;
	}
	if (!it->sig_ok) {
		v->rep->bad_signature++;
		if (!v->first[0])
			snprintf(v->first, sizeof(v->first), "entry %s#%lld: bad signature", ssync_entry_node(e), (long long)ssync_entry_seq(e));
	}
	if (!it->chain_ok) {
		v->rep->bad_chain++;
		if (!v->first[0])
			snprintf(v->first, sizeof(v->first), "entry %s#%lld: does not chain", ssync_entry_node(e), (long long)ssync_entry_seq(e));
	}
	if (it->state != 1)
		v->rep->not_applied++;
	{
		/* A re-enrolled node (TRUST.md §5a): each key generation's seqs
		 * verify with that generation's key, so the scratch store (which
		 * holds one key per node) takes the key as the seqs cross a cut. */
		int same = strcmp(v->node, ssync_entry_node(e)) == 0;
		int64_t gen;
		if (!same && (rc = ssync_trust__gens(v->st, ssync_entry_node(e), v->g, &v->ng, v->err)) < 0)
			return v->error = rc;
		gen = ssync_trust__gen_of(v->g, v->ng, ssync_entry_seq(e));
		if (!same || gen != v->gen) {
			const ssync_gen *k = ssync_trust__gen_find(v->g, v->ng, gen > 1 ? gen : 2);
			if ((rc = end_node(v)) < 0)
				return v->error = rc;
			snprintf(v->node, sizeof(v->node), "%s", ssync_entry_node(e));
			v->gen = gen;
			if (k && (rc = set_key(v->scratch, v->node, gen > 1 ? k->key : k->old_key, v->err)) < 0)
				return v->error = rc;
			if ((rc = ssync_ingest__begin(&v->in, v->scratch, v->district, v->node, "verify", v->err)) < 0)
				return v->error = rc;
		}
	}
	if ((rc = ssync_entry_line(e, &line, &len, v->err)) < 0)
		return v->error = rc;
	/* entries held unapplied still link the chain of those after them */
	rc = it->state == 1 ? ssync_ingest__line(v->in, line, len, v->err) :
		ssync_ingest__line_unapplied(v->in, line, len, v->err);
	free(line);
	if (rc < 0)
		return v->error = rc;
	if (rc > 0 && !v->first[0])
		snprintf(v->first, sizeof(v->first), "rebuild stopped: %s", ssync_ingest__stop_reason(v->in));
	return 0;
}

static int count(ssync_store *st, const char *sql, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int r;

	if (sqlite3_prepare_v2(ssync_store__db(st), sql, -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "count conflicts");
	if ((r = ssync_store__step_row(st, q, "count conflicts", err)) > 0)
		*out = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return r < 0 ? r : 0;
}

/* Copy the keys of every known node into the scratch store. */
static int copy_peers(ssync_store *from, ssync_store *to, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error = 0, rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(ssync_store__db(from), "SELECT node, pubkey, role, school_id, source FROM ssync_peer",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(from, err, "read peers");
	while (error == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 1) != SSYNC_PUBKEY_BYTES)
			continue;
		error = ssync_log__peer_add(to, (const char *)sqlite3_column_text(q, 0), sqlite3_column_blob(q, 1),
			(const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3),
			(const char *)sqlite3_column_text(q, 4), err);
	}
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(from, err, "read peers");
	sqlite3_finalize(q);
	return error;
}

int ssync_verify_replica(ssync_node *n, ssync_verify_report *rep, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n), *scratch = NULL;
	vctx v;
	int error = 0;

	ssync_error terr;
	char tamper[700] = "";

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	/* Changed with another tool: an extra trigger, view, index or table, or
	 * trust tables that the signed trust objects do not give. */
	ssync_error_clear(&terr);
	if ((error = ssync_store_schema_check(st, &terr)) == SSYNC_ETAMPER)
		snprintf(tamper, sizeof(tamper), "%s", terr.message);
	else if (error < 0)
		return ssync_error_set(err, error, "%s", terr.message);
	if (!tamper[0] && (error = ssync_sync__check_trust_state(st, tamper, sizeof(tamper), err)) < 0)
		return error;
	if (!tamper[0]) {
		/* rows removed whole (the newest checkpoints, a certificate with its
		 * derived rows) leave a consistent set: compare with the branch */
		ssync_exchange *ex = NULL;
		ssync_error oerr;
		ssync_error_clear(&oerr);
		if ((error = ssync_node__exchange_open(n, 0, &ex, &oerr)) == 0)
			error = ssync_sync__check_district_held(st, ex, tamper, sizeof(tamper), err);
		else if (error == SSYNC_ENOTFOUND)
			error = 0; /* no exchange repository yet: no branch to compare */
		else if (err)
			*err = oerr;
		ssync_exchange_free(ex);
		if (error < 0)
			return error;
	}
	error = 0;
	rep->tamper = tamper[0] != 0;
	if ((error = ssync_store_open(&scratch, ":memory:", SSYNC_STORE_CREATE, err)) < 0)
		return error;
	if ((error = copy_peers(st, scratch, err)) < 0)
		goto done;
	v.rep = rep;
	v.st = st;
	v.scratch = scratch;
	v.district = ssync_node_district(n);
	v.err = err;
	if ((error = ssync_log_foreach(st, NULL, on_item, &v, err)) != 0) {
		if (error > 0)
			error = v.error;
		(void)ssync_ingest__end(v.in, 1, NULL, NULL);
		v.in = NULL;
		if (error < 0)
			goto done;
	}
	if ((error = end_node(&v)) < 0)
		goto done;
	if ((error = ssync_store_state_hash(st, rep->state_hash, err)) < 0 ||
	    (error = ssync_store_state_hash(scratch, rep->rebuilt_hash, err)) < 0)
		goto done;
	if ((error = count(st, "SELECT count(*) FROM ssync_conflict", &rep->conflicts, err)) < 0 ||
	    (error = count(scratch, "SELECT count(*) FROM ssync_conflict", &rep->rebuilt_conflicts, err)) < 0)
		goto done;
	rep->drift = strcmp(rep->state_hash, rep->rebuilt_hash) != 0 || rep->conflicts != rep->rebuilt_conflicts;
	if ((error = count(st, "SELECT count(DISTINCT pos) FROM ssync_witness_fork", &rep->witness_forks, err)) < 0)
		goto done;
	if (tamper[0]) {
		error = ssync_error_set(err, SSYNC_ETAMPER, "%s%s", tamper, strstr(tamper, "E_TAMPER") ? "" : " (E_TAMPER)");
		ssync_error_hint(err, "the replica was changed with another tool: restore the home from a backup, or "
			"re-create it (init, join) and sync: everything signed comes back from the remotes");
	} else if (v.first[0])
		error = ssync_error_set(err, SSYNC_ECORRUPT, "%s", v.first);
	else if (rep->drift) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "the replica's data differs from what its log says "
			"(state %.12s, rebuilt from the log %.12s) (E_DRIFT)", rep->state_hash, rep->rebuilt_hash);
		ssync_error_hint(err, "data was changed outside schoolsync (e.g. with the sqlite3 tool); rebuild the replica from the log");
	} else if (rep->witness_forks > 0) {
		error = ssync_error_set(err, SSYNC_EFORK, "the hub signed two different checkpoints for each of %lld "
			"position(s): it showed different histories to different nodes (E_WITNESS_FORK)", (long long)rep->witness_forks);
		ssync_error_hint(err, "both signed checkpoints are kept as evidence (schoolsync quarantine, node 'witness'): "
			"call the district (docs/OPERATIONS.md §11)");
	}
done:
	ssync_store_free(scratch);
	return error;
}
