/* One sync round with one remote: fetch every node branch, accept only
 * fast-forwards, stream new segments through ingest, advance our copy of a
 * branch only when all its new entries were accepted, seal our own new
 * entries (after making them durable) and push every branch the remote is
 * behind on. Our copies of other nodes' branches are what we relay. */
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

#include <jansson.h>
#include <sodium.h>

#include "ingest_int.h"
#include "log_int.h"
#include "node_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/node.h"
#include "schoolsync/timefmt.h"
#include "sync_int.h"
#include "trust_int.h"
#include "privacy_int.h"

/* Growable byte buffer for a segment. */


static int count_conflicts(ssync_store *st, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT count(*) FROM ssync_conflict", err);

	*out = 0;
	if (!q)
		return SSYNC_ERROR;
	if (sqlite3_step(q) != SQLITE_ROW) { /* count(*): always one row */
		int error = ssync_store__sqlerr(st, err, "count conflicts");
		sqlite3_reset(q);
		return error;
	}
	*out = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct push_ctx {
	ssync_exchange *ex;
	const char *remote;
	char (*refs)[128];
	int n, cap;
	size_t prefix_len;
	ssync_error *err;
	char own_ref[128];        /* refs/heads/node/<us> */
	int blocked;              /* the remote's copy of our branch is not in our history */
	int rollback;             /* E_ROLLBACK active: a remote ahead on our branch is expected */
	ssync_oid_hex blocked_tip;
} push_ctx;

static int collect_push(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	push_ctx *p = payload;
	char tracking[256];
	ssync_oid_hex rtip;
	int rc;

	snprintf(tracking, sizeof(tracking), "refs/remotes/%s/%s", p->remote, ref + strlen("refs/heads/"));
	rc = ssync_exchange_ref_tip(p->ex, tracking, &rtip, NULL);
	if (rc == 0) {
		if (strcmp(rtip.hex, tip->hex) == 0)
			return 0;
		rc = ssync_exchange_descends(p->ex, tip, &rtip, NULL);
		if (rc != 1) {
			/* The remote is ahead or diverged: nothing to push. On another
			 * node's branch that is its business (receive reported it); on
			 * ours, only we write it, so someone else put commits there and
			 * our entries stop reaching this remote: never silent. */
			if (strcmp(ref, p->own_ref) == 0 && !p->rollback) {
				p->blocked = 1;
				p->blocked_tip = rtip;
			}
			return 0;
		}
	}
	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 32;
		void *a = realloc(p->refs, (size_t)cap * sizeof(*p->refs));
		if (!a)
			return -1;
		p->refs = a;
		p->cap = cap;
	}
	snprintf(p->refs[p->n++], sizeof(p->refs[0]), "%s", ref);
	return 0;
}


int ssync_sync__push_problem(ssync_store *st, const char *remote, const ssync_error *e, ssync_error *err)
{
	char key[128], at[32];
	time_t now = time(NULL);
	json_t *o;
	char *v;
	int error;

	snprintf(key, sizeof(key), "push_rejected:%s", remote);
	if (!e) {
		sqlite3_stmt *q = ssync_store__stmt(st, "DELETE FROM ssync_meta WHERE key=?", err);
		int rc;
		if (!q)
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "clear push problem");
	}
	(void)ssync_time_utc((int64_t)now * 1000, 0, at, sizeof(at));
	if (!(o = json_pack("{ssssssssss}", "remote", remote, "code", ssync_error_name(e->code), "message", e->message,
		"hint", e->hint, "at", at)) || !(v = json_dumps(o, JSON_COMPACT))) {
		json_decref(o);
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	json_decref(o);
	error = ssync_store_meta_set(st, key, v, err);
	free(v);
	return error;
}

/* Our branch cannot reach @p remote: the error the round ends with. */
static int blocked_error(const char *remote, const push_ctx *pc, ssync_error *err)
{
	ssync_error_set(err, SSYNC_EREJECTED, "push to %s refused: %s there ends in commit %.12s, which this node never "
		"made (someone pushed onto this node's branch); this node's new entries no longer reach %s (E_PUSH_REJECTED)",
		remote, pc->own_ref + strlen("refs/heads/"), pc->blocked_tip.hex, remote);
	ssync_error_hint(err, "run: schoolsync remote repair %s (it checks those commits hold nothing this node signed, "
		"then puts this node's branch back; docs/OPERATIONS.md)", remote);
	return SSYNC_EREJECTED;
}

static int transfer_progress(const ssync_transfer_progress *p, void *payload)
{
	const ssync_sync_opts *opts = payload;

	if (p->total_objects > 0)
		return opts->progress("fetch", (int64_t)p->received_objects, (int64_t)p->total_objects, opts->payload);
	if (p->pushed_objects > 0)
		return opts->progress("push", (int64_t)p->pushed_objects, 0, opts->payload);
	return 0;
}



/*
 * A restored node (init --restore-key) writes again only once this remote
 * showed its own branch and we took all of it: our copy of node/<self> now
 * is the remote's tip. A remote without the branch (a fresh USB stick, a
 * new hub) proves nothing -- signing then would reuse seq 1 and the district
 * would freeze the node for equivocation -- so the guard stays.
 */
static int recovered(ssync_node *n, ssync_exchange *ex, const branch_list *bl, int *still, ssync_error *err)
{
	char ref[128];
	ssync_oid_hex ours;
	int i, error;

	for (i = 0; i < bl->n; i++) {
		if (strcmp(bl->names[i], ssync_node_id(n)) != 0)
			continue;
		snprintf(ref, sizeof(ref), "refs/heads/node/%s", ssync_node_id(n));
		if (ssync_exchange_ref_tip(ex, ref, &ours, NULL) != 0 || strcmp(ours.hex, bl->tips[i].hex) != 0)
			return 0; /* stopped part way (see quarantine): not recovered */
		if ((error = ssync_store_meta_set(ssync_node_store(n), "recovering", "0", err)) < 0)
			return error;
		*still = 0;
		return 0;
	}
	return 0;
}

static int sync_round(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	ssync_transfer_opts topts = SSYNC_TRANSFER_OPTS_INIT;
	branch_list bl, old;
	push_ctx pc;
	char prefix[128], token[1100];
	double t0 = now_s();
	int error = 0, i, auditor;

	memset(rep, 0, sizeof(*rep));
	memset(&bl, 0, sizeof(bl));
	memset(&old, 0, sizeof(old));
	memset(&pc, 0, sizeof(pc));
	if (!ssync_exchange_remote_name_valid(remote))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", remote ? remote : "");
	snprintf(rep->remote, sizeof(rep->remote), "%s", remote);
	/* Remote entries never apply under a trigger someone planted. */
	if ((error = ssync_store_schema_check(ssync_node_store(n), err)) < 0)
		return error;
	/* an https token lives outside the URL (OPERATIONS.md §3) */
	if ((error = ssync_node__remote_token(n, remote, token, sizeof(token), err)) < 0)
		return error;
	if (token[0])
		topts.https_token = token;
	if ((error = ssync_node__exchange_open(n, 1, &ex, err)) < 0)
		goto done;
	if (opts && opts->progress) {
		topts.progress = transfer_progress;
		topts.payload = (void *)opts;
	}
	if ((error = ssync_sync__create_stick(ex, remote, err)) < 0)
		goto done;
	/* What the remote showed last time, to notice it going backwards. */
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/node/", remote);
	old.prefix_len = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, ssync_sync__collect_branch, &old, err)) < 0)
		goto done;
	if ((error = ssync_exchange_fetch(ex, remote, &topts, err)) < 0)
		goto done;
	/* trust (issue #4): adopt the remote's district branch before any node branch */
	if ((error = ssync_trust__receive_district(ssync_node_store(n), ex, remote, &rep->rewritten_refs,
		&rep->quarantined, err)) < 0)
		goto done;
	/* E_ROLLBACK, the clerk's choice: our never-published entries give way */
	if (opts && opts->adopt_remote && (error = ssync_sync__rollback_adopt(n, &rep->discarded, err)) < 0)
		goto done;
	/* key stores (docs/PRIVACY.md): the newer ones, signed by their nodes */
	if ((error = ssync_privacy__receive(n, ex, remote, &rep->quarantined, err)) < 0)
		goto done;
	bl.prefix_len = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, ssync_sync__collect_branch, &bl, err)) < 0)
		goto done;
	if ((error = ssync_sync__check_stale(n, ex, remote, &old, &bl, rep, err)) < 0)
		goto done;
	for (i = 0; i < bl.n; i++) {
		if (opts && opts->progress && opts->progress("verify", i, bl.n, opts->payload) != 0) {
			error = ssync_error_set(err, SSYNC_ECANCELLED, "sync cancelled");
			goto done;
		}
		if ((error = ssync_sync__receive_branch(n, ex, remote, bl.names[i], &bl.tips[i], opts, rep, err)) < 0)
			goto done;
	}
	if ((rep->recovering = ssync_node_recovering(n)) &&
	    (error = recovered(n, ex, &bl, &rep->recovering, err)) < 0)
		goto done;
	rep->rollback = ssync_sync__rollback_active(ssync_node_store(n), NULL);
	if ((error = ssync_sync__seal(n, ex, &rep->sealed, err)) < 0)
		goto done;
	if ((error = ssync_privacy__publish(n, ex, err)) < 0)
		goto done;
	/* trust (issue #4): an auditor node syncs read-only */
	if ((auditor = ssync_trust__is_auditor(ssync_node_store(n), ssync_node_id(n), err)) < 0) {
		error = auditor;
		goto done;
	}
	if ((!opts || !opts->no_push) && !auditor) {
		pc.ex = ex;
		pc.remote = remote;
		pc.err = err;
		snprintf(pc.own_ref, sizeof(pc.own_ref), "refs/heads/node/%s", ssync_node_id(n));
		/* E_ROLLBACK: the remote ahead on our branch is what sync reports */
		pc.rollback = rep->rollback;
		if ((error = ssync_exchange_refs(ex, "refs/heads/", collect_push, &pc, err)) < 0)
			goto done;
		if (pc.n > 0) {
			const char **refs = calloc((size_t)pc.n, sizeof(char *));
			if (!refs) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			for (i = 0; i < pc.n; i++)
				refs[i] = pc.refs[i];
			error = ssync_exchange_push(ex, remote, (size_t)pc.n, refs, &topts, err);
			free(refs);
			if (error < 0) {
				/* A refusal stays visible (status) until a push gets through;
				 * an unreachable remote is the daemon's backoff, not a refusal. */
				if (error != SSYNC_ENET && error != SSYNC_ECANCELLED && err)
					(void)ssync_sync__push_problem(ssync_node_store(n), remote, err, NULL);
				goto done;
			}
			rep->pushed_refs = pc.n;
		}
		{
			int kp = 0;
			if ((error = ssync_privacy__push(n, ex, remote, &topts, &kp, err)) < 0)
				goto done;
			rep->pushed_refs += kp;
		}
		if (pc.blocked) {
			ssync_error berr;
			ssync_error_clear(&berr);
			error = blocked_error(remote, &pc, &berr);
			(void)ssync_sync__push_problem(ssync_node_store(n), remote, &berr, NULL);
			if (err && !err->code)
				*err = berr;
			goto done;
		}
		if ((error = ssync_sync__push_problem(ssync_node_store(n), remote, NULL, err)) < 0)
			goto done;
	}
	error = count_conflicts(ssync_node_store(n), &rep->conflicts, err);
done:
	sodium_memzero(token, sizeof(token));
	rep->seconds = now_s() - t0;
	free(bl.names);
	free(bl.tips);
	free(old.names);
	free(old.tips);
	free(pc.refs);
	ssync_exchange_free(ex);
	return error;
}

int ssync_sync_run(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err)
{
	int lockfd = -1, error;

	memset(rep, 0, sizeof(*rep));
	if ((error = ssync_sync__lock(n, &lockfd, err)) < 0)
		return error;
	error = sync_round(n, remote, opts, rep, err);
	close(lockfd);
	return error;
}
