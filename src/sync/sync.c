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
#include "schoolsync/ident.h"
#include "schoolsync/node.h"
#include "schoolsync/timefmt.h"
#include "sync_int.h"
#include "trust_int.h"
#include "privacy_int.h"
#include "reenroll_int.h"
#include "wevidence_int.h"
#include "witness_pub_int.h"
#include "schoolsync/witness.h"



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



/* 1 if this node's key is certified for it (or the node is unmanaged), 0 if
 * not (yet), < 0 on a read failure. */
static int key_certified(ssync_node *n, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	sqlite3_stmt *q;
	int r;

	if (!ssync_trust_managed(st))
		return 1;
	if (!(q = ssync_store__stmt(st, "SELECT 1 FROM ssync_cert WHERE node=? AND pubkey=?", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, ssync_keys_public(ssync_node__keypair(n)), SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	r = ssync_store__step_row(st, q, "read own certificate", err);
	sqlite3_reset(q);
	return r;
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
	char ref[128], own[SSYNC_BRANCH_NAME_MAX + 1];
	ssync_oid_hex ours;
	int64_t gen = 1, first = 1;
	int i, error;

	/* The branch this key signs on: node/<id>, or node/<id>.g<G> for a
	 * re-enrolled key (TRUST.md §5a). The old generation's branch says
	 * nothing of what this key published (r14: the guard never lifted, its
	 * void entries stop every read of it, or lifted before the key's own
	 * history was read). */
	if (ssync_node__keypair(n)) {
		/* A key no certificate held names yet (a re-enrolment this remote
		 * does not carry) cannot tell which branch is its own: wait. */
		if ((error = key_certified(n, err)) <= 0)
			return error;
		gen = ssync_trust__own_gen(ssync_node_store(n), ssync_node_id(n), ssync_keys_public(ssync_node__keypair(n)),
			&first);
	}
	if (gen > 1)
		snprintf(own, sizeof(own), "%s.g%lld", ssync_node_id(n), (long long)gen);
	else
		snprintf(own, sizeof(own), "%s", ssync_node_id(n));
	for (i = 0; i < bl->n; i++) {
		if (strcmp(bl->names[i], own) != 0)
			continue;
		snprintf(ref, sizeof(ref), "refs/heads/node/%s", own);
		if (ssync_exchange_ref_tip(ex, ref, &ours, NULL) != 0 || strcmp(ours.hex, bl->tips[i].hex) != 0)
			return 0; /* stopped part way (see quarantine): not recovered */
		if ((error = ssync_store_meta_set(ssync_node_store(n), "recovering", "0", err)) < 0)
			return error;
		*still = 0;
		return 0;
	}
	return 0;
}

/*
 * One remote's round in phases (sync_int.h): the caller (parallel.c) runs
 * fetch and push on the remote's own thread, open/apply/finish on its own.
 */
int ssync_sync__round_open(ssync_node *n, const char *remote, ssync_sync__round *r, ssync_error *err)
{
	ssync_transfer_opts tinit = SSYNC_TRANSFER_OPTS_INIT;
	char prefix[128];
	int error;

	memset(r, 0, sizeof(*r));
	r->t0 = now_s();
	r->topts = tinit;
	if (!ssync_exchange_remote_name_valid(remote))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", remote ? remote : "");
	snprintf(r->remote, sizeof(r->remote), "%s", remote);
	snprintf(r->rep.remote, sizeof(r->rep.remote), "%s", remote);
	/* an https token lives outside the URL (OPERATIONS.md §3) */
	if ((error = ssync_node__remote_token(n, remote, r->token, sizeof(r->token), err)) < 0)
		return error;
	if (r->token[0])
		r->topts.https_token = r->token;
	if ((error = ssync_node__exchange_open(n, 1, &r->ex, err)) < 0)
		return error;
	/* What the remote showed last time, to notice it going backwards. */
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/node/", remote);
	r->old.prefix_len = strlen(prefix);
	return ssync_exchange_refs(r->ex, prefix, ssync_sync__collect_branch, &r->old, err);
}

/* The remote's thread: touches only r->ex, the stick and the network. */
int ssync_sync__round_fetch(ssync_sync__round *r, ssync_error *err)
{
	int error;

	if ((error = ssync_sync__create_stick(r->ex, r->remote, err)) < 0)
		return error;
	return ssync_exchange_fetch(r->ex, r->remote, &r->topts, err);
}

/* Push order: the district branch first (node branches may need its new
 * certificates), then node branches by node id and key generation, so a
 * guarded hub's update hook (one ref at a time, in push order) has
 * node/<id> in place before it judges node/<id>.g<G>, also past g9 where
 * name order would put .g10 before .g2. */
static int push_rank(const char *ref, char *id, int *gen)
{
	const char *b = ref + strlen("refs/heads/");

	*gen = 0;
	id[0] = 0;
	if (strcmp(b, "district") == 0)
		return 0;
	if (strncmp(b, "node/", 5) == 0 && ssync_ident_branch_parse(b + 5, id, gen))
		return 2;
	return 1;
}

static int push_order(const void *a, const void *b)
{
	char ia[SSYNC_NODE_ID_MAX + 1], ib[SSYNC_NODE_ID_MAX + 1];
	int ga, gb, ra = push_rank(a, ia, &ga), rb = push_rank(b, ib, &gb), c;

	if (ra != rb)
		return ra - rb;
	if (ra == 2 && (c = strcmp(ia, ib)) != 0)
		return c;
	if (ga != gb)
		return ga < gb ? -1 : 1;
	return strcmp(a, b);
}

/* Which branches the remote is behind on, into r->push_refs (and whether
 * our own branch there is blocked). */
int ssync_sync__round_collect(ssync_node *n, ssync_sync__round *r, ssync_error *err)
{
	int error, i;

	r->npush = 0;
	free(r->push_refs);
	r->push_refs = NULL;
	free(r->pc.refs);
	memset(&r->pc, 0, sizeof(r->pc));
	r->pc.ex = r->ex;
	r->pc.remote = r->remote;
	r->pc.err = err;
	snprintf(r->pc.own_ref, sizeof(r->pc.own_ref), "refs/heads/node/%s", ssync_node_id(n));
	/* E_ROLLBACK: the remote ahead on our branch is what sync reports */
	r->pc.rollback = r->rep.rollback;
	if ((error = ssync_exchange_refs(r->ex, "refs/heads/", collect_push, &r->pc, err)) < 0)
		return error;
	if (r->pc.n == 0)
		return 0;
	qsort(r->pc.refs, (size_t)r->pc.n, sizeof(r->pc.refs[0]), push_order);
	if (!(r->push_refs = calloc((size_t)r->pc.n, sizeof(char *))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	for (i = 0; i < r->pc.n; i++)
		r->push_refs[i] = r->pc.refs[i];
	r->npush = (size_t)r->pc.n;
	return 0;
}

/* 1 if the remote's node branches differ from what it showed last time. */
static int tips_changed(const branch_list *old, const branch_list *now)
{
	int i;

	if (old->n != now->n)
		return 1;
	for (i = 0; i < now->n; i++)
		if (strcmp(old->names[i], now->names[i]) != 0 || strcmp(old->tips[i].hex, now->tips[i].hex) != 0)
			return 1;
	return 0;
}

int ssync_sync__round_apply(ssync_node *n, ssync_sync__round *r, const ssync_sync_opts *opts, ssync_error *err)
{
	ssync_sync_report *rep = &r->rep;
	ssync_exchange *ex = r->ex;
	char prefix[128];
	int64_t wpos = 0;
	int error = 0, i, auditor;

	/* trust (issue #4): adopt the remote's district branch before any node branch */
	if ((error = ssync_trust__receive_district(ssync_node_store(n), ex, r->remote, &rep->rewritten_refs,
		&rep->quarantined, err)) < 0)
		return error;
	/* hub-equivocation evidence other nodes caught (TRUST.md §4a), judged
	 * by signed data alone, after the district branch named the witness */
	if (ssync_trust_managed(ssync_node_store(n)) &&
	    (error = ssync_witness__evidence_receive(ssync_node_store(n), ex, r->remote, &rep->quarantined, err)) < 0)
		return error;
	/* E_ROLLBACK, the clerk's choice: our never-published entries give way */
	if (opts && opts->adopt_remote && (error = ssync_sync__rollback_adopt(n, &rep->discarded, err)) < 0)
		return error;
	/* key stores (docs/PRIVACY.md): the newer ones, signed by their nodes */
	if ((error = ssync_privacy__receive(n, ex, r->remote, &rep->quarantined, err)) < 0)
		return error;
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/node/", r->remote);
	r->bl.prefix_len = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, ssync_sync__collect_branch, &r->bl, err)) < 0)
		return error;
	/* witness (TRUST.md §4a): the hub's time is fresh before it judges
	 * what this remote brought (nothing new: no checkpoint) */
	if (tips_changed(&r->old, &r->bl) &&
	    (error = ssync_witness__publish(n, ex, SSYNC_WITNESS_ALLOW_MS / 2, &wpos, err)) < 0)
		return error;
	if ((error = ssync_sync__check_stale(n, ex, r->remote, &r->old, &r->bl, rep, err)) < 0)
		return error;
	for (i = 0; i < r->bl.n; i++) {
		if (opts && opts->progress && opts->progress("verify", i, r->bl.n, opts->payload) != 0)
			return ssync_error_set(err, SSYNC_ECANCELLED, "sync cancelled");
		if ((error = ssync_sync__receive_branch(n, ex, r->remote, r->bl.names[i], &r->bl.tips[i], opts, rep,
			err)) < 0)
			return error;
	}
	if ((rep->recovering = ssync_node_recovering(n)) &&
	    (error = recovered(n, ex, &r->bl, &rep->recovering, err)) < 0)
		return error;
	if ((error = ssync_sync__rollback_checkpoint(n, err)) < 0)
		return error;
	rep->rollback = ssync_sync__rollback_active(ssync_node_store(n), NULL);
	/* keys.db on disk before entries encrypted with its keys are sealed */
	if ((error = ssync_privacy__make_durable(n, err)) < 0 ||
	    (error = ssync_sync__seal(n, ex, &rep->sealed, err)) < 0)
		return error;
	if ((error = ssync_privacy__publish(n, ex, err)) < 0)
		return error;
	/* ... and witnesses every head this round brought, before the push
	 * (in a quiet district, a checkpoint an hour keeps the time fresh) */
	if ((error = ssync_witness__publish(n, ex, INT64_C(3600000), &wpos, err)) < 0)
		return error;
	/* trust (issue #4): an auditor node syncs read-only */
	if ((auditor = ssync_trust__is_auditor(ssync_node_store(n), ssync_node_id(n), err)) < 0)
		return auditor;
	r->will_push = (!opts || !opts->no_push) && !auditor;
	return r->will_push ? ssync_sync__round_collect(n, r, err) : 0;
}

/* The remote's thread: the branches it is behind on, then key stores it
 * holds older versions of (replaced, leased; docs/PRIVACY.md). */
int ssync_sync__round_push(ssync_sync__round *r, ssync_error *err)
{
	int error, kp = 0;

	if (r->npush > 0 && (error = ssync_exchange_push(r->ex, r->remote, r->npush, r->push_refs, &r->topts, err)) < 0)
		return error;
	/* reads only r->ex (its node argument is unused): safe on this thread */
	if ((error = ssync_privacy__push(NULL, r->ex, r->remote, &r->topts, &kp, err)) < 0)
		return error;
	r->keys_pushed += kp;
	return 0;
}

int ssync_sync__round_finish(ssync_node *n, ssync_sync__round *r, int push_error, const ssync_error *perr,
	ssync_error *err)
{
	int error;

	if (r->will_push) {
		if (push_error < 0) {
			/* A refusal stays visible (status) until a push gets through;
			 * an unreachable remote is the daemon's backoff, not a refusal. */
			if (push_error != SSYNC_ENET && push_error != SSYNC_ECANCELLED && perr)
				(void)ssync_sync__push_problem(ssync_node_store(n), r->remote, perr, NULL);
			if (err && perr)
				*err = *perr;
			return push_error;
		}
		if (r->pc.blocked) {
			ssync_error berr;
			ssync_error_clear(&berr);
			error = blocked_error(r->remote, &r->pc, &berr);
			(void)ssync_sync__push_problem(ssync_node_store(n), r->remote, &berr, NULL);
			if (err && !err->code)
				*err = berr;
			return error;
		}
		if ((error = ssync_sync__push_problem(ssync_node_store(n), r->remote, NULL, err)) < 0)
			return error;
	}
	return count_conflicts(ssync_node_store(n), &r->rep.conflicts, err);
}

void ssync_sync__round_close(ssync_sync__round *r)
{
	sodium_memzero(r->token, sizeof(r->token));
	r->rep.seconds = now_s() - r->t0;
	free(r->bl.names);
	free(r->bl.tips);
	free(r->old.names);
	free(r->old.tips);
	free(r->pc.refs);
	free(r->push_refs);
	ssync_exchange_free(r->ex);
	r->ex = NULL;
	r->push_refs = NULL;
	r->pc.refs = NULL;
	memset(&r->bl, 0, sizeof(r->bl));
	memset(&r->old, 0, sizeof(r->old));
}
