/* E_ROLLBACK (docs/TRUST.md §4 "Rollback"): only this node writes its own
 * branch, so a remote holding node/<self> ahead of our copy means our log
 * went back in time -- the home was restored from an old disk image or copy.
 * Signing now would re-use seqs the district already holds (equivocation,
 * the school frozen everywhere). So: the moment a sync sees it, meta
 * 'rollback' is set and writes and sealing are refused; the branch is then
 * read like any other, and the flag is cleared only when all of it was
 * adopted. If this node already signed entries for those seqs after the
 * restore (never published: sealing stops at the flag), the clerk discards
 * them explicitly (sync --adopt-remote); their lines stay in quarantine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"
#include "log_int.h"
#include "node_int.h"
#include "reenroll_int.h"
#include "schoolsync/trust.h"
#include "sync_int.h"

static int64_t meta_i64(ssync_store *st, const char *key)
{
	char *v = NULL;
	int64_t r = 0;

	if (ssync_store_meta_get(st, key, &v, NULL) == 0 && v)
		r = strtoll(v, NULL, 10);
	free(v);
	return r;
}

int ssync_sync__rollback_active(ssync_store *st, int64_t *fork_seq)
{
	char *v = NULL;
	int on = ssync_store_meta_get(st, "rollback", &v, NULL) == 0 && v && v[0];

	free(v);
	if (fork_seq)
		*fork_seq = on ? meta_i64(st, "rollback_seq") : 0;
	return on;
}

int ssync_sync__rollback_set(ssync_store *st, const char *why, int64_t fork_seq, ssync_error *err)
{
	char buf[32];
	int error;

	/* a conflict found once stays until --adopt-remote resolves it */
	if (fork_seq == 0 && ssync_sync__rollback_active(st, &fork_seq) && fork_seq > 0)
		return 0;
	snprintf(buf, sizeof(buf), "%lld", (long long)fork_seq);
	if ((error = ssync_store_meta_set(st, "rollback", why, err)) < 0)
		return error;
	return ssync_store_meta_set(st, "rollback_seq", buf, err);
}

int ssync_sync__rollback_clear(ssync_store *st, ssync_error *err)
{
	int error;

	int64_t fork_seq = 0;

	if (!ssync_sync__rollback_active(st, &fork_seq) || fork_seq > 0)
		return 0; /* only --adopt-remote (discard) ends a conflict */
	if ((error = ssync_store_meta_set(st, "rollback", "", err)) < 0)
		return error;
	return ssync_store_meta_set(st, "rollback_seq", "0", err);
}

/* Quarantine (code E_ROLLBACK, the signed line as evidence and for re-entry)
 * and delete our own entries from @p from on, in one transaction. */
static int discard_from(ssync_store *st, const char *self, int64_t from, int64_t *n, ssync_error *err)
{
	sqlite3_stmt *q;
	int error, rc;

	*n = 0;
	if ((error = ssync_store_begin(st, err)) < 0)
		return error;
	if (!(q = ssync_store__stmt(st, "SELECT seq, body, sig FROM ssync_entry WHERE node=? AND seq>=? ORDER BY seq", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	sqlite3_bind_text(q, 1, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char why[256], *line;
		size_t blen = (size_t)sqlite3_column_bytes(q, 1);
		if (!(line = malloc(blen + 2 * SSYNC_SIG_BYTES + 2))) {
			sqlite3_reset(q);
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto fail;
		}
		memcpy(line, sqlite3_column_blob(q, 1), blen);
		line[blen] = '\t';
		ssync_hex_encode(line + blen + 1, sqlite3_column_blob(q, 2), SSYNC_SIG_BYTES);
		snprintf(why, sizeof(why), "discarded: signed by this node after it was restored from an old copy, for a seq "
			"the district already holds; never published; re-enter its change (E_ROLLBACK)");
		error = ssync_ingest__quarantine(st, self, sqlite3_column_int64(q, 0), SSYNC_EROLLBACK, why, line,
			blen + 1 + 2 * SSYNC_SIG_BYTES, "local", err);
		free(line);
		if (error < 0) {
			sqlite3_reset(q);
			goto fail;
		}
		(*n)++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read own entries");
		goto fail;
	}
	if (!(q = ssync_store__stmt(st, "DELETE FROM ssync_entry WHERE node=? AND seq>=?", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	sqlite3_bind_text(q, 1, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "discard own entries");
		goto fail;
	}
	/* The freeze was of our own unpublished signatures: nobody else holds them. */
	if (!(q = ssync_store__stmt(st, "DELETE FROM ssync_frozen WHERE node=?", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	sqlite3_bind_text(q, 1, self, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "unfreeze own node");
		goto fail;
	}
	{
		ssync_trust_rebuild_report rr;
		if ((error = ssync_trust_rebuild(st, &rr, err)) < 0)
			goto fail;
	}
	return ssync_store_commit(st, err);
fail:
	ssync_store_rollback(st);
	return error;
}

static int rollback_set_seq0(ssync_store *st, ssync_error *err)
{
	return ssync_store_meta_set(st, "rollback_seq", "0", err);
}

int ssync_sync__rollback_adopt(ssync_node *n, int64_t *discarded, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	int64_t fork_seq = 0, exported = meta_i64(st, "exported_seq");
	int error;

	*discarded = 0;
	if (!ssync_sync__rollback_active(st, &fork_seq) || fork_seq <= 0)
		return 0; /* nothing of ours is in the way: the sync adopts the remote's entries */
	if (exported >= fork_seq) {
		ssync_error_set(err, SSYNC_EROLLBACK, "this node published its own seq %lld.. after it was restored, and the "
			"district holds other entries for them: it equivocated, and discarding cannot undo that",
			(long long)fork_seq);
		ssync_error_hint(err, "the hub re-enrols the school under a new key generation (docs/OPERATIONS.md §7, "
			"A school frozen for equivocation)");
		return SSYNC_EROLLBACK;
	}
	if ((error = discard_from(st, ssync_node_id(n), fork_seq, discarded, err)) < 0)
		return error;
	/* writes stay refused: the branch is read next, and that clears it */
	return rollback_set_seq0(st, err);
}

/* The hub's checkpoints (docs/TRUST.md §4a) name each node's head as the hub
 * saw it. One naming our own head beyond our log says the same as a remote
 * ahead on our branch: our log went back in time. Run after the branches
 * of a round were read (they may have adopted the missing entries). For a
 * re-enrolled node, the listings of the key generation this home writes in
 * ("<id>.g<G>", §5a): they name only that generation's entries, never the
 * void ones an older key's listings may name; a retired home signs nothing. */
int ssync_sync__rollback_checkpoint(ssync_node *n, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	sqlite3_stmt *q;
	ssync_gen g[SSYNC_GENS_MAX];
	int64_t wseq = 0, wpos = 0, head = 0, fork_seq = 0, gen = 1, first = 1;
	int rc, error, ng = 0, i;
	char *cur = NULL, why[400], name[SSYNC_BRANCH_NAME_MAX + 1];

	if (ssync_node_recovering(n) || !ssync_trust_managed(st) || !ssync_node__keypair(n))
		return 0;
	if ((error = ssync_trust__gens(st, ssync_node_id(n), g, &ng, err)) < 0)
		return error;
	snprintf(name, sizeof(name), "%s", ssync_node_id(n));
	if (ng > 0) {
		gen = ssync_trust__own_gen(st, ssync_node_id(n), ssync_keys_public(ssync_node__keypair(n)), &first);
		/* a retired key signs nothing (reenroll.c), and generation 1's
		 * listings may name void entries */
		for (i = 0; i < ng; i++)
			if (g[i].gen > gen)
				return 0;
		snprintf(name, sizeof(name), "%s.g%lld", ssync_node_id(n), (long long)gen);
	}
	if (!(q = ssync_store__stmt(st, "SELECT seq, pos FROM ssync_witness_head WHERE node=? ORDER BY seq DESC LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(st, q, "read checkpoints", err)) > 0) {
		wseq = sqlite3_column_int64(q, 0);
		wpos = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return rc;
	if ((error = ssync_log__head(st, ssync_node_id(n), &head, NULL, NULL, err)) < 0)
		return error;
	if (wseq > head) {
		snprintf(why, sizeof(why), "the hub's checkpoint %lld witnessed this node's entries up to seq %lld, but its log "
			"ends at seq %lld (restored from an old copy?); writes wait until a sync has adopted them (E_ROLLBACK)",
			(long long)wpos, (long long)wseq, (long long)head);
		return ssync_sync__rollback_set(st, why, 0, err);
	}
	/* A listing of one of our seqs naming another entry: the hub saw a
	 * history of ours this log is not (restored from an old copy, then more
	 * signed than was lost). Seqs alone miss it; sealing would equivocate. */
	if (!(q = ssync_store__stmt(st, "SELECT h.seq, h.pos FROM ssync_witness_head h JOIN ssync_entry e ON e.node=?2 "
		"AND e.seq=h.seq WHERE h.node=?1 AND e.hash<>h.hash ORDER BY h.seq LIMIT 1", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
	if ((rc = ssync_store__step_row(st, q, "compare checkpoints with own entries", err)) > 0) {
		wseq = sqlite3_column_int64(q, 0);
		wpos = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		snprintf(why, sizeof(why), "the hub's checkpoint %lld witnessed another entry of this node at seq %lld than "
			"its log holds (restored from an old copy, and written since?); writes wait until a sync has read this "
			"node's branch (E_ROLLBACK)", (long long)wpos, (long long)wseq);
		return ssync_sync__rollback_set(st, why, 0, err);
	}
	/* a flag this check set, now answered */
	if (ssync_sync__rollback_active(st, &fork_seq) && fork_seq == 0 &&
	    ssync_store_meta_get(st, "rollback", &cur, NULL) == 0 && cur && !strncmp(cur, "the hub's checkpoint", 20))
		error = ssync_sync__rollback_clear(st, err);
	else
		error = 0;
	free(cur);
	return error;
}
