/* Receiving one node branch from a remote: accept only a fast-forward, pin
 * the node's key on first use when unmanaged, stream the new segments
 * through ingest, and advance our copy only when every new entry was
 * accepted. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/ident.h"
#include "schoolsync/node.h"
#include "sync_int.h"
#include "trust_int.h"


/* Pin a node's key the first time we see its branch (trust on first use),
 * unless the district's certificates already name it. */
static int learn_key(ssync_node *n, ssync_exchange *ex, const char *node, const ssync_oid_hex *tip, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	void *data = NULL;
	size_t len = 0;
	json_t *o = NULL;
	json_error_t jerr;
	sqlite3_stmt *q;
	int error = 0;

	if (ssync_log__peer_key(st, node, pk, NULL) == 0)
		return 0;
	if (ssync_trust_managed(st))
		return 0; /* trust (issue #4): with a pinned root, keys come only from certificates */
	if (ssync_exchange_read_file(ex, tip, "node.json", &data, &len, NULL) < 0)
		return 0; /* its entries will be quarantined as E_CERT */
	o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!o || !json_is_string(json_object_get(o, "pubkey")) ||
	    ssync_hex_decode(pk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0 ||
	    !json_is_string(json_object_get(o, "node")) || strcmp(json_string_value(json_object_get(o, "node")), node) != 0)
		goto done;
	if (!(q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_peer(node, pubkey, role, source, added) "
		"VALUES (?, ?, 'school', 'tofu', strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err))) {
		error = SSYNC_ERROR;
		goto done;
	}
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, pk, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "record node key");
	sqlite3_reset(q);
done:
	json_decref(o);
	return error;
}

typedef struct recv_ctx {
	ssync_node *n;
	ssync_ingest *in;
	int stopped;
	int error;
	ssync_error *err;
	const ssync_sync_opts *opts;
	int64_t lines;
} recv_ctx;

static int on_progress(void *payload, int64_t lines)
{
	recv_ctx *rc = payload;

	if (rc->opts && rc->opts->progress && (lines % 50) == 0 &&
	    rc->opts->progress("apply", lines, 0, rc->opts->payload) != 0) {
		rc->error = ssync_error_set(rc->err, SSYNC_ECANCELLED, "sync cancelled");
		return 1;
	}
	return 0;
}

static int on_segment(const char *path, const void *data, size_t len, void *payload)
{
	recv_ctx *rc = payload;
	int r;

	if (strncmp(path, "seg/", 4) != 0)
		return 0; /* node.json and other metadata */
	r = ssync_ingest__feed(rc->in, data, len, &rc->lines, on_progress, rc, rc->err);
	if (r < 0)
		rc->error = r;
	else if (r > 0 && rc->error == 0)
		rc->stopped = 1;
	return r != 0;
}

static int mark_seen(ssync_store *st, const char *node, ssync_error *err)
{
	int64_t head = 0;
	sqlite3_stmt *q;
	int rc, error;

	if ((error = ssync_log__head(st, node, &head, NULL, NULL, err)) < 0)
		return error;
	if (!(q = ssync_store__stmt(st, "INSERT INTO ssync_node_seen(node, last_seq, last_received) "
		"VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now')) ON CONFLICT(node) DO UPDATE SET "
		"last_seq=excluded.last_seq, last_received=excluded.last_received", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, head);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record freshness");
}


int ssync_sync__collect_branch(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	branch_list *b = payload;
	const char *node = ref + b->prefix_len;

	if (!ssync_ident_branch_parse(node, NULL, NULL))
		return 0; /* never turn a strange ref name into a path or SQL */
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 32;
		void *a = realloc(b->names, (size_t)cap * sizeof(*b->names));
		void *t;
		if (!a)
			return -1;
		b->names = a;
		if (!(t = realloc(b->tips, (size_t)cap * sizeof(*b->tips))))
			return -1;
		b->tips = t;
		b->cap = cap;
	}
	snprintf(b->names[b->n], sizeof(b->names[b->n]), "%s", node);
	b->tips[b->n] = *tip;
	b->n++;
	return 0;
}

/* Failures that are about this machine, not about what a remote sent. */
static int local_failure(int code)
{
	return code == SSYNC_EIO || code == SSYNC_EBUSY || code == SSYNC_ECANCELLED ||
		code == SSYNC_EREADONLY || code == SSYNC_ERROR;
}

/*
 * Receive one node's branch from the remote-tracking ref. A fast-forward is
 * streamed from our tip. A branch that diverged from ours is streamed from
 * its start: entries we hold are duplicates, and the first one that differs
 * shows what happened (equivocation: two signed entries for one seq; or a
 * forgery). Either way our copy of the branch is kept.
 */
int ssync_sync__receive_branch(ssync_node *n, ssync_exchange *ex, const char *remote, const char *node,
	const ssync_oid_hex *rtip, const ssync_sync_opts *opts, ssync_sync_report *rep, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char local_ref[128], source[160];
	ssync_oid_hex ltip, from, good;
	ssync_ingest_stats stats;
	ssync_error berr;
	recv_ctx rc;
	int error = 0, d, diverged = 0, self_behind = 0, gen = 1;
	char id[SSYNC_NODE_ID_MAX + 1];

	memset(&stats, 0, sizeof(stats));
	/* node/<id> or node/<id>.g<N> (a key generation, TRUST.md §5a) */
	if (!ssync_ident_branch_parse(node, id, &gen))
		return 0;
	snprintf(local_ref, sizeof(local_ref), "refs/heads/node/%s", node);
	snprintf(source, sizeof(source), "%s:node/%s", remote, node);
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, local_ref, &ltip, NULL)) < 0 && error != SSYNC_ENOTFOUND)
		return ssync_error_set(err, error, "read %s", local_ref);
	error = 0;
	if (strcmp(ltip.hex, rtip->hex) == 0)
		return 0;
	if (ltip.hex[0]) {
		if ((d = ssync_exchange_descends(ex, rtip, &ltip, err)) < 0)
			return d;
		if (!d) {
			if ((d = ssync_exchange_descends(ex, &ltip, rtip, err)) < 0)
				return d;
			if (d)
				return 0; /* the remote is behind: we push */
			diverged = 1;
		}
	}
	from = ltip;
	if (diverged)
		memset(&from, 0, sizeof(from));
	/* Nothing odd is read or relayed: a tree git fsck refuses stops here. */
	ssync_error_clear(&berr);
	if ((error = ssync_exchange_check_shape(ex, SSYNC_SHAPE_NODE, &from, rtip, &good, &berr)) < 0) {
		char why[700];
		if (local_failure(error)) {
			if (err && !err->code)
				*err = berr;
			return error;
		}
		snprintf(why, sizeof(why), "branch node/%s on remote %s cannot be accepted past %.12s: %s (%s)", node,
			remote, good.hex[0] ? good.hex : "its start", berr.message, ssync_error_name(error));
		rep->quarantined++;
		if ((error = ssync_ingest__quarantine(st, node, 0, SSYNC_ECORRUPT, why, rtip->hex, strlen(rtip->hex),
				remote, err)) < 0)
			return error;
		if (!good.hex[0] || !strcmp(good.hex, from.hex))
			return 0;
		rtip = &good; /* take (and relay) the commits before the odd one */
	}
	/* Our own branch ahead of (or beside) our copy: our log went back in
	 * time (rollback.c). Refuse writes before reading it. */
	if (strcmp(id, ssync_node_id(n)) == 0 && !ssync_node_recovering(n)) {
		char why[400];
		snprintf(why, sizeof(why), "remote %s holds this node's own branch node/%s ahead of its log (restored "
			"from an old copy?); writes wait until a sync has adopted it (E_ROLLBACK)", remote, node);
		if ((error = ssync_sync__rollback_set(st, why, 0, err)) < 0)
			return error;
		self_behind = 1;
	}
	if (gen == 1 && (error = learn_key(n, ex, node, rtip, err)) < 0)
		return error;
	if ((error = ssync_ingest__begin_gen(&rc.in, st, ssync_node_district(n), id, gen, source, err)) < 0)
		return error;
	rc.n = n;
	rc.stopped = 0;
	rc.error = 0;
	rc.err = err;
	rc.opts = opts;
	rc.lines = 0;
	ssync_error_clear(&berr);
	error = ssync_exchange_added_files(ex, &from, rtip, on_segment, &rc, &berr);
	if (rc.error < 0) {
		error = rc.error;
	} else if (error > 0) {
		error = 0; /* stopped by our callback */
	} else if (error < 0 && !local_failure(error)) {
		/* What the remote holds for this branch cannot be read as an
		 * append-only log (rewritten segment, symlink, damaged tree):
		 * refuse the branch, keep ours, carry on with the others. */
		char why[700];
		snprintf(why, sizeof(why), "branch node/%s on remote %s cannot be accepted: %s (%s)", node, remote,
			berr.message, ssync_error_name(error));
		error = ssync_ingest__quarantine(st, node, 0, error == SSYNC_EREWRITE ? SSYNC_EREWRITE : SSYNC_ECORRUPT,
			why, rtip->hex, strlen(rtip->hex), remote, err);
		rep->rewritten_refs++;
		rc.stopped = 1;
	} else if (error < 0 && err && err->code == 0) {
		*err = berr;
	}
	if (error < 0) {
		(void)ssync_ingest__end(rc.in, 1, NULL, NULL);
		return error;
	}
	if ((error = ssync_ingest__end(rc.in, 0, &stats, err)) < 0)
		return error;
	if (stats.fork_seq > 0 && (error = ssync_ingest__withdraw_fork(st, id, stats.fork_seq, err)) < 0)
		return error;
	if (self_behind && stats.fork_seq > 0) {
		char why[600];
		snprintf(why, sizeof(why), "this node signed its own seq %lld.. after it was restored from an old copy, and "
			"remote %s holds other entries for them; they were never published (E_ROLLBACK)",
			(long long)stats.fork_seq, remote);
		if ((error = ssync_sync__rollback_set(st, why, stats.fork_seq, err)) < 0)
			return error;
		rep->rollback = 1;
	} else if (self_behind) {
		/* Every entry we signed that the remote holds is ours now. A stop
		 * here is at a line we did not sign (junk on our branch: a chain
		 * cannot go on past it), which E_PUSH_REJECTED reports, not this. */
		if ((error = ssync_sync__rollback_clear(st, err)) < 0)
			return error;
		rep->rollback_adopted += stats.applied + stats.refused;
		/* the district branch came from the same old copy: if no checkpoint
		 * held lists what was adopted, sign no trust data until one does */
		if (stats.applied + stats.refused > 0) {
			unsigned char hh[SSYNC_HASH_BYTES];
			int64_t own = 0;
			uint64_t hl = 0;
			if ((error = ssync_log__head(st, ssync_node_id(n), &own, hh, &hl, err)) < 0 ||
			    (error = ssync_trust__stale_note(st, ssync_node_id(n), own, "E_ROLLBACK", err)) < 0)
				return error;
		}
		rep->rollback = ssync_sync__rollback_active(st, NULL);
	}
	rep->received += rc.lines - stats.duplicates + stats.quarantined;
	rep->applied += stats.applied;
	rep->duplicates += stats.duplicates;
	rep->quarantined += stats.quarantined;
	rep->held += stats.held; /* W_FUTURE_HLC (docs/TRUST.md §4a) */
	if (stats.applied > 0 && (error = mark_seen(st, id, err)) < 0)
		return error;
	if (diverged) {
		/* Another history: entries that chain were taken (and a differing
		 * one was quarantined above), but a branch only moves forward. */
		char why[256];
		snprintf(why, sizeof(why), "branch node/%s on remote %s was rewritten (not a fast-forward of %.12s); "
			"ours is kept (E_REWRITE: possible rollback attack)", node, remote, ltip.hex);
		if ((error = ssync_ingest__quarantine(st, node, 0, SSYNC_EREWRITE, why, rtip->hex, strlen(rtip->hex), remote, err)) < 0)
			return error;
		rep->rewritten_refs++;
		return 0;
	}
	/* Relay only what we fully accepted. */
	if (!rc.stopped && !diverged) {
		if ((error = ssync_exchange_ref_update(ex, local_ref, rtip, &ltip, "sync: fast-forward", err)) < 0)
			return error;
	}
	return 0;
}
