/* Receiving entries: parse, check authorship, district, chain, signature and
 * schema, then apply through merge in batched transactions. The first entry
 * that fails stops its branch (later entries cannot chain past it); it goes
 * to quarantine with the reason, and everything before it stays applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit_int.h"
#include "ingest_int.h"
#include "log_int.h"
#include "merge_int.h"
#include "readahead_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/trust.h"
#include "policy_int.h"
#include "reenroll_int.h"


#define BATCH 2000

struct ssync_ingest {
	ssync_store *st;
	char district[SSYNC_NODE_ID_MAX + 1];
	char node[SSYNC_NODE_ID_MAX + 1];
	char source[160];
	int have_key, in_tx, batch;
	int managed; /* trust (issue #4): a district root is pinned */
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	int64_t head;
	unsigned char head_hash[SSYNC_HASH_BYTES];
	uint64_t head_hlc, max_hlc;
	int64_t frozen_at; /* 0 = not frozen */
	/* key generation of the branch (reenroll.c): seqs first..last are its */
	int64_t gen, first, last;
	char waiting[200]; /* a generation not yet usable: stop here, silently */
	ssync_ahead *ahead; /* parse and signature checks on the second core */
	int ahead_failed;
	int unapplied; /* ssync_ingest__line_unapplied */
	ssync_ingest_stats stats;
	char stop[512];
	int stop_void; /* the stop is a re-enrolled node's void entries above the cut */
};

/* The branch of generation @p gen: its seq range and key (TRUST.md §5a). */
static int set_gen(ssync_ingest *in, int64_t gen, ssync_error *err)
{
	ssync_gen g[SSYNC_GENS_MAX];
	const ssync_gen *cur;
	int n = 0, i, error;

	in->gen = gen;
	in->first = 1;
	in->last = INT64_MAX;
	if ((error = ssync_trust__gens(in->st, in->node, g, &n, err)) < 0)
		return error;
	if (gen >= 2 && !(cur = ssync_trust__gen_find(g, n, gen))) {
		snprintf(in->waiting, sizeof(in->waiting), "branch node/%s.g%lld: no re-enrolment of generation %lld is held "
			"yet (it comes with the district branch)", in->node, (long long)gen, (long long)gen);
		return 0;
	}
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (g[i].gen > gen && g[i].after_seq < in->last)
			in->last = g[i].after_seq;
	if (gen >= 2) {
		cur = ssync_trust__gen_find(g, n, gen);
		in->first = cur->after_seq + 1;
		memcpy(in->pk, cur->key, SSYNC_PUBKEY_BYTES);
	} else {
		/* the key generation 2 replaced is generation 1's */
		const ssync_gen *g2 = ssync_trust__gen_find(g, n, 2);
		if (g2)
			memcpy(in->pk, g2->old_key, SSYNC_PUBKEY_BYTES);
	}
	in->have_key = 1;
	return 0;
}

int ssync_ingest__begin(ssync_ingest **out, ssync_store *st, const char *district,
	const char *node, const char *source, ssync_error *err)
{
	return ssync_ingest__begin_gen(out, st, district, node, 1, source, err);
}

int ssync_ingest__begin_gen(ssync_ingest **out, ssync_store *st, const char *district,
	const char *node, int64_t gen, const char *source, ssync_error *err)
{
	ssync_ingest *in = calloc(1, sizeof(*in));
	sqlite3_stmt *q;
	int error, rc;

	*out = NULL;
	if (!in)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	in->st = st;
	snprintf(in->district, sizeof(in->district), "%s", district);
	snprintf(in->node, sizeof(in->node), "%s", node);
	snprintf(in->source, sizeof(in->source), "%s", source ? source : "");
	if ((error = ssync_log__head(st, node, &in->head, in->head_hash, &in->head_hlc, err)) < 0)
		goto fail;
	in->have_key = ssync_log__peer_key(st, node, in->pk, NULL) == 0;
	in->managed = ssync_trust_managed(st);
	if (!(q = ssync_store__stmt(st, "SELECT seq FROM ssync_frozen WHERE node=?", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	/* A failed read must not pass for "not frozen". */
	if ((rc = ssync_store__step_row(st, q, "read frozen nodes", err)) > 0)
		in->frozen_at = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc < 0) {
		error = rc;
		goto fail;
	}
	in->gen = gen;
	in->first = 1;
	in->last = INT64_MAX;
	if (in->managed && (error = set_gen(in, gen, err)) < 0)
		goto fail;
	if (!in->managed && gen != 1)
		snprintf(in->waiting, sizeof(in->waiting), "key generations need a district root (unmanaged node)");
	*out = in;
	return 0;
fail:
	free(in);
	return error;
}

const char *ssync_ingest__stop_reason(const ssync_ingest *in)
{
	return in->stop;
}

int ssync_ingest__stop_void(const ssync_ingest *in)
{
	return in->stop_void;
}

/* Quarantine the line and stop the branch. */
static int reject(ssync_ingest *in, int64_t seq, int code, const char *reason,
	const char *line, size_t len, ssync_error *err)
{
	int error;

	snprintf(in->stop, sizeof(in->stop), "%s#%lld: %s", in->node, (long long)seq, reason);
	if ((error = ssync_ingest__quarantine(in->st, in->node, seq, code, reason, line, len, in->source, err)) < 0)
		return error;
	in->stats.quarantined++;
	return 1;
}

static int flush(ssync_ingest *in, ssync_error *err)
{
	char *s = NULL, buf[32];
	uint64_t last = 0;
	int error = 0;

	if (!in->in_tx)
		return 0;
	/* Keep our clock ahead of everything we applied (and only that). */
	if (in->max_hlc) {
		if (ssync_store_meta_get(in->st, "hlc", &s, NULL) == 0 && s)
			last = strtoull(s, NULL, 10);
		free(s);
		if (in->max_hlc > last) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ssync_hlc_observe(last, in->max_hlc));
			if ((error = ssync_store_meta_set(in->st, "hlc", buf, err)) < 0)
				return error;
		}
	}
	if ((error = ssync_store_commit(in->st, err)) < 0)
		return error;
	in->in_tx = 0;
	in->batch = 0;
	return 0;
}

int ssync_ingest__line(ssync_ingest *in, const char *line, size_t len, ssync_error *err)
{
	ssync_entry *e = NULL, *old = NULL;
	ssync_verdict tv;
	ssync_error perr;
	int error = 0, old_state = 0;
	int64_t seq = 0;

	ssync_error_clear(&perr);
	if (in->ahead && (e = ssync_ahead__take(in->ahead, line, len)))
		in->stats.ahead++;
	else if (ssync_entry_parse(&e, line, len, &perr) < 0)
		return reject(in, in->head + 1, perr.code, perr.message, line, len, err);
	seq = e->seq;
	if (strcmp(e->node, in->node) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "entry of node %s found on the branch of %s (%s)", e->node, in->node,
			ssync_error_name(SSYNC_D_AUTHOR));
		error = reject(in, seq, ssync_error_class(SSYNC_D_AUTHOR), why, line, len, err);
		goto done;
	}
	if (strcmp(e->district, in->district) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "entry belongs to district %s, not %s (%s)", e->district, in->district,
			ssync_error_name(SSYNC_D_DISTRICT));
		error = reject(in, seq, ssync_error_class(SSYNC_D_DISTRICT), why, line, len, err);
		goto done;
	}
	if (in->waiting[0]) {
		snprintf(in->stop, sizeof(in->stop), "%s", in->waiting);
		error = 1;
		goto done;
	}
	if (seq > in->last) {
		/* void, or a later generation's: never taken from this branch */
		snprintf(in->stop, sizeof(in->stop), "node %s was re-enrolled after seq %lld: entries of generation %lld "
			"above it are void (E_VOID)", in->node, (long long)in->last, (long long)in->gen);
		in->stop_void = 1;
		error = 1;
		goto done;
	}
	if (seq < in->first) {
		error = reject(in, seq, SSYNC_ECHAIN, "seq below the first of its key generation's branch (E_CHAIN)", line, len, err);
		goto done;
	}
	if (seq == in->first && in->first > 1 && in->head < seq - 1) {
		/* the generation chains onto seq first-1 of the one before: wait for it */
		snprintf(in->stop, sizeof(in->stop), "node %s generation %lld starts after seq %lld, held only up to %lld",
			in->node, (long long)in->gen, (long long)(seq - 1), (long long)in->head);
		error = 1;
		goto done;
	}
	if (in->frozen_at && seq >= in->frozen_at) {
		snprintf(in->stop, sizeof(in->stop), "node %s is frozen at seq %lld after equivocation", in->node, (long long)in->frozen_at);
		error = 1;
		goto done;
	}
	if (seq <= in->head) {
		int rc = ssync_log__get(in->st, in->node, seq, &old, &old_state, err);
		if (rc < 0 && rc != SSYNC_ENOTFOUND) {
			error = rc;
			goto done;
		}
		if (rc == 0 && memcmp(old->hash, e->hash, SSYNC_HASH_BYTES) == 0) {
			in->stats.duplicates++;
			goto done;
		}
		if (rc == 0 && in->have_key && ssync_entry_verify(e, in->pk, NULL) == 0) {
			/* Two validly signed entries for one seq: keep both as proof. */
			char *oline = NULL;
			size_t olen = 0;
			char why[200];
			snprintf(why, sizeof(why), "equivocation: node %s signed two different entries for seq %lld (E_FORK)",
				in->node, (long long)seq);
			if ((error = ssync_entry_line(old, &oline, &olen, err)) < 0)
				goto done;
			error = ssync_ingest__quarantine(in->st, in->node, seq, SSYNC_EFORK, why, oline, olen, "held", err);
			free(oline);
			if (error < 0)
				goto done;
			error = reject(in, seq, SSYNC_EFORK, why, line, len, err);
			if (error >= 0) {
				sqlite3_stmt *q = ssync_store__stmt(in->st, "INSERT OR IGNORE INTO ssync_frozen(node, seq, reason) VALUES (?, ?, ?)", err);
				if (!q) {
					error = SSYNC_ERROR;
					goto done;
				}
				sqlite3_bind_text(q, 1, in->node, -1, SQLITE_STATIC);
				sqlite3_bind_int64(q, 2, seq);
				sqlite3_bind_text(q, 3, why, -1, SQLITE_STATIC);
				if (sqlite3_step(q) != SQLITE_DONE)
					error = ssync_store__sqlerr(in->st, err, "record frozen node");
				sqlite3_reset(q);
				in->frozen_at = seq;
				in->stats.fork_seq = seq;
			}
			goto done;
		}
		error = reject(in, seq, SSYNC_ESIG, "entry differs from the one held for this seq and is not validly signed (E_SIG)", line, len, err);
		goto done;
	}
	if (seq != in->head + 1) {
		char why[160];
		snprintf(why, sizeof(why), "gap in the chain: expected seq %lld (E_CHAIN)", (long long)(in->head + 1));
		error = reject(in, seq, SSYNC_ECHAIN, why, line, len, err);
		goto done;
	}
	if (seq > 1 && memcmp(e->prev, in->head_hash, SSYNC_HASH_BYTES) != 0) {
		error = reject(in, seq, SSYNC_ECHAIN, "prev hash does not match the entry held before it (E_CHAIN)", line, len, err);
		goto done;
	}
	if (e->hlc <= in->head_hlc) {
		error = reject(in, seq, SSYNC_ECHAIN, "hlc does not increase along the chain (E_CHAIN)", line, len, err);
		goto done;
	}
	/* trust (issue #4): managed nodes take keys only from certificates;
	 * revoked / expired entries are kept in the log but refused (state 3). */
	memset(&tv, 0, sizeof(tv));
	tv.state = 1;
	if (in->managed) {
		if ((error = ssync_trust__judge(in->st, e, &tv, err)) < 0)
			goto done;
		if (tv.stop) {
			error = reject(in, seq, tv.code, tv.why, line, len, err);
			goto done;
		}
	} else if (!in->have_key) {
		error = reject(in, seq, SSYNC_ECERT, "no certified key for this node (E_CERT_UNKNOWN)", line, len, err);
		goto done;
	} else if (ssync_entry_verify(e, in->pk, NULL) != 0) {
		error = reject(in, seq, SSYNC_ESIG, "bad signature (E_SIG)", line, len, err);
		goto done;
	}
	/* The writer ran this same admission before signing (capture.c). */
	ssync_error_clear(&perr);
	if ((error = ssync_admit__entry(in->st, e, &perr)) == SSYNC_EVALUE && tv.state == 1) {
		/* authentic and chained, but a value no one accepts (an older
		 * writer's): kept as refused, so the chain goes on past it */
		tv.state = 3;
		snprintf(tv.qcode, sizeof(tv.qcode), "%s", ssync_error_name(SSYNC_EVALUE));
		snprintf(tv.why, sizeof(tv.why), "%s", perr.message);
		error = 0;
	} else if (error == SSYNC_ESCHEMA) {
		error = reject(in, seq, SSYNC_ESCHEMA, perr.message, line, len, err);
		goto done;
	} else if (error < 0 && error != SSYNC_EVALUE) {
		ssync_error_set(err, error, "%s", perr.message);
		goto done;
	}
	error = 0;
	if (!in->in_tx) {
		if ((error = ssync_store_begin(in->st, err)) < 0)
			goto done;
		in->in_tx = 1;
	}
	if (in->unapplied && tv.state == 1) {
		tv.state = 3;
		snprintf(tv.qcode, sizeof(tv.qcode), "%s", ssync_error_name(SSYNC_D_UNAPPLIED));
		snprintf(tv.why, sizeof(tv.why), "held unapplied by the replica being verified");
	}
	/* trust (issue #4): write policy; a violation is kept, refused, and the chain goes on */
	if (in->managed && tv.state == 1 && (error = ssync_policy__check_entry(in->st, e, &tv, err)) < 0)
		goto done;
	if ((error = ssync_log__insert(in->st, e, tv.state, err)) < 0)
		goto done;
	if (tv.state != 1) {
		if ((error = ssync_trust__quarantine(in->st, in->node, seq, tv.qcode, tv.why, line, len, in->source, err)) < 0)
			goto done;
		in->stats.refused++;
		if (tv.state == 2)
			in->stats.held++;
	} else if ((error = ssync_merge__apply_ops(in->st, e->ops, e->hlc, e->node, e->seq, err)) < 0)
		goto done;
	in->head = seq;
	memcpy(in->head_hash, e->hash, SSYNC_HASH_BYTES);
	in->head_hlc = e->hlc;
	/* Only an applied entry moves our clock: a refused or held one must not
	 * (a revoked node's far-future entry would otherwise stamp every later
	 * write of ours). A held one that a rebuild applies counts then. */
	if (tv.state == 1) {
		if (e->hlc > in->max_hlc)
			in->max_hlc = e->hlc;
		in->stats.applied++;
	}
	if (++in->batch >= BATCH)
		error = flush(in, err);
done:
	ssync_entry_free(old);
	ssync_entry_free(e);
	return error;
}

int ssync_ingest__line_unapplied(ssync_ingest *in, const char *line, size_t len, ssync_error *err)
{
	int r;

	in->unapplied = 1;
	r = ssync_ingest__line(in, line, len, err);
	in->unapplied = 0;
	return r;
}

/* The keys an entry of this node can verify with: its certified keys
 * (managed) or its pinned one. */
/* The keys the read-ahead may check signatures with; -1 when they cannot be
 * read (then there is no read-ahead: each line is checked on the apply path). */
static int candidate_keys(ssync_ingest *in, unsigned char keys[SSYNC_AHEAD_KEYS][SSYNC_PUBKEY_BYTES])
{
	sqlite3_stmt *q;
	int n = 0, rc = SQLITE_DONE;

	if (!in->managed) {
		if (in->have_key)
			memcpy(keys[n++], in->pk, SSYNC_PUBKEY_BYTES);
		return n;
	}
	if (!(q = ssync_store__stmt(in->st, "SELECT pubkey FROM ssync_cert WHERE node=? ORDER BY serial DESC", NULL)))
		return -1;
	sqlite3_bind_text(q, 1, in->node, -1, SQLITE_STATIC);
	while (n < SSYNC_AHEAD_KEYS && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if (sqlite3_column_bytes(q, 0) == SSYNC_PUBKEY_BYTES)
			memcpy(keys[n++], sqlite3_column_blob(q, 0), SSYNC_PUBKEY_BYTES);
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

void ssync_ingest__segment(ssync_ingest *in, const char *data, size_t len)
{
	if (!in->ahead && !in->ahead_failed) {
		unsigned char keys[SSYNC_AHEAD_KEYS][SSYNC_PUBKEY_BYTES];
		int n = candidate_keys(in, keys);
		if (n < 0 || ssync_ahead__new(&in->ahead, (const unsigned char (*)[SSYNC_PUBKEY_BYTES])keys, n) < 0)
			in->ahead_failed = 1; /* the lines are parsed here, one by one */
	}
	ssync_ahead__feed(in->ahead, data, len);
}

void ssync_ingest__segment_done(ssync_ingest *in)
{
	ssync_ahead__drop(in->ahead);
}

int ssync_ingest__feed(ssync_ingest *in, const char *data, size_t len, int64_t *lines,
	int (*each)(void *payload, int64_t lines), void *payload, ssync_error *err)
{
	const char *p = data, *end = data + len;
	int r = 0;

	ssync_ingest__segment(in, data, len);
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if ((r = ssync_ingest__line(in, p, l, err)) == 0) {
			++*lines;
			if (each && each(payload, *lines) != 0)
				r = 1;
		}
		p += l;
	}
	ssync_ingest__segment_done(in); /* before the caller frees data */
	return r;
}

size_t ssync_ingest__ahead_ready(ssync_ingest *in)
{
	return ssync_ahead__ready(in->ahead);
}

int ssync_ingest__end(ssync_ingest *in, int abort, ssync_ingest_stats *stats, ssync_error *err)
{
	int error = 0;

	if (!in)
		return 0;
	if (abort) {
		if (in->in_tx)
			ssync_store_rollback(in->st);
	} else {
		error = flush(in, err);
	}
	ssync_ahead__free(in->ahead);
	if (stats) {
		stats->applied += in->stats.applied;
		stats->duplicates += in->stats.duplicates;
		stats->quarantined += in->stats.quarantined;
		stats->refused += in->stats.refused;
		stats->held += in->stats.held;
		stats->ahead += in->stats.ahead;
		if (in->stats.fork_seq)
			stats->fork_seq = in->stats.fork_seq;
	}
	free(in);
	return error;
}

int ssync_ingest__quarantine(ssync_store *st, const char *node, int64_t seq, int code,
	const char *reason, const char *line, size_t line_len, const char *source, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_quarantine(node, seq, code, reason, line, source, received) "
		"VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	if (line_len > 0 && line[line_len - 1] == '\n')
		line_len--;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_text(q, 3, ssync_error_name(code), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
	/* A line that is not UTF-8 is kept as a blob: it is evidence. */
	if (line)
		sqlite3_bind_blob(q, 5, line, (int)(line_len > SSYNC_ENTRY_MAX_BYTES ? SSYNC_ENTRY_MAX_BYTES : line_len), SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_text(q, 6, source ? source : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record quarantine");
	return 0;
}


int ssync_ingest__withdraw_fork(ssync_store *st, const char *node, int64_t seq, ssync_error *err)
{
	sqlite3_stmt *q;
	int error, rc;

	if ((error = ssync_store_begin(st, err)) < 0)
		return error;
	if (!(q = ssync_store__stmt(st, "UPDATE ssync_entry SET state=4 WHERE node=? AND seq>=? AND state=1", err))) {
		error = SSYNC_ERROR;
		goto fail;
	}
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "withdraw entries");
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
