/*
 * Push: every branch the remote is behind on, as a fast-forward only (a
 * push never forces), over the network through libgit2 or, for a local
 * path (USB stick, hub directory), by the object copy of local.c. Objects
 * first, refs last: a failure leaves the remote's refs in place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "exchange_int.h"

/* ------------------------------------------------------------------ */
/* fetch / push                                                        */

/* What to do with one ref on push. */
enum push_kind {
	PUSH_CREATE,     /* the remote lacks it */
	PUSH_FF,         /* ours descends from the remote's */
	PUSH_NOOP,       /* equal, or the remote already contains ours */
	PUSH_REWRITE,    /* diverged: refused */
	PUSH_UNKNOWN,    /* the remote's commit is not here: fetch first */
	PUSH_LEASE       /* replace the remote's tip, which is exactly the lease */
};

typedef struct push_ref {
	const char *name;
	git_oid local, remote;
	int remote_found;
	const git_oid *lease;   /* set: replace the remote's tip only if it is this commit */
	enum push_kind kind;
	int refused;            /* the server said no */
	char status[160];
	char guard[400];        /* why a guarded hub's hook refused it (OPERATIONS.md §10) */
} push_ref;

static int classify(push_ref *p, git_repository *view)
{
	git_odb *odb = NULL;
	int error, known;

	if (!p->remote_found) {
		p->kind = PUSH_CREATE;
		return 0;
	}
	if (p->lease && !git_oid_equal(&p->local, &p->remote)) {
		/* a lease replaces only the exact tip that was looked at */
		p->kind = git_oid_equal(p->lease, &p->remote) ? PUSH_LEASE : PUSH_UNKNOWN;
		return 0;
	}
	if (git_oid_equal(&p->local, &p->remote)) {
		p->kind = PUSH_NOOP;
		return 0;
	}
	if ((error = git_repository_odb(&odb, view)) < 0)
		return error;
	known = git_odb_exists(odb, &p->remote);
	git_odb_free(odb);
	if (!known) {
		p->kind = PUSH_UNKNOWN;
		return 0;
	}
	if ((error = git_graph_descendant_of(view, &p->local, &p->remote)) < 0)
		return error;
	if (error) {
		p->kind = PUSH_FF;
		return 0;
	}
	if ((error = git_graph_descendant_of(view, &p->remote, &p->local)) < 0)
		return error;
	p->kind = error ? PUSH_NOOP : PUSH_REWRITE;
	return 0;
}

/* After a push, report the refs that were refused (first one named). */
static int push_verdict(const char *remote, push_ref *refs, size_t n, ssync_error *err)
{
	size_t i, nrewrite = 0, nother = 0;
	const push_ref *first = NULL;

	for (i = 0; i < n; i++) {
		if (refs[i].kind == PUSH_REWRITE || refs[i].kind == PUSH_UNKNOWN || refs[i].refused) {
			if (refs[i].kind == PUSH_REWRITE)
				nrewrite++;
			else
				nother++;
			if (!first || (refs[i].kind == PUSH_REWRITE && first->kind != PUSH_REWRITE))
				first = &refs[i];
		}
	}
	if (!first)
		return 0;
	if (first->kind == PUSH_REWRITE) {
		ssync_error_set(err, SSYNC_EREWRITE,
			"push to %s refused: %s there is not an ancestor of ours "
			"(history rewritten)%s", remote, first->name,
			nrewrite + nother > 1 ? "; other refs were refused too" : "");
		ssync_error_hint(err, "the branches have diverged; report it to the hub, "
			"never force-push");
		return SSYNC_EREWRITE;
	}
	if (first->kind == PUSH_UNKNOWN) {
		ssync_error_set(err, SSYNC_ECONFLICT,
			"push to %s refused: %s there has commits we do not hold%s", remote,
			first->name, nother > 1 ? "; other refs were refused too" : "");
		ssync_error_hint(err, "fetch from %s first, then push again", remote);
		return SSYNC_ECONFLICT;
	}
	if (strstr(first->status, "fast-forward") || strstr(first->status, "fetch first") ||
	    strstr(first->status, "stale")) {
		ssync_error_set(err, SSYNC_EREWRITE, "push to %s refused: %s is not a "
			"fast-forward there (%s)", remote, first->name, first->status);
		ssync_error_hint(err, "fetch from %s first; if it still fails the branch "
			"was rewritten", remote);
		return SSYNC_EREWRITE;
	}
	if (strstr(first->status, "lock")) {
		ssync_error_set(err, SSYNC_ECONFLICT, "push to %s: %s is being updated by "
			"someone else (%s)", remote, first->name, first->status);
		return SSYNC_ECONFLICT;
	}
	/* A hook refuses the whole push: name the ref the guard gave a reason for. */
	for (i = 0; i < n; i++) {
		if (refs[i].refused && refs[i].guard[0]) {
			ssync_error_set(err, SSYNC_ERROR, "push to %s refused %s: the hub's guard says: %s%s", remote,
				refs[i].name, refs[i].guard, nother > 1 ? "; the other refs of the push were refused with it" : "");
			ssync_error_hint(err, "see docs/OPERATIONS.md §10 (a guarded hub)");
			return SSYNC_ERROR;
		}
	}
	return ssync_error_set(err, SSYNC_ERROR, "push to %s refused %s: %s", remote,
		first->name, first->status);
}

static int push_wanted(const push_ref *p)
{
	return p->kind == PUSH_CREATE || p->kind == PUSH_FF || p->kind == PUSH_LEASE;
}

/* After a successful push our tracking refs match what the remote now has. */
static int track_pushed(ssync_exchange *ex, const char *remote, const push_ref *refs,
	size_t n, ssync_error *err)
{
	char *name = NULL;
	size_t i;
	int error = 0;

	for (i = 0; i < n && error == 0; i++) {
		git_reference *ref = NULL;

		if (!push_wanted(&refs[i]) || refs[i].refused)
			continue;
		free(name);
		if (!(name = ssync_exchange__tracking_name(remote, refs[i].name)))
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		if ((error = git_reference_create(&ref, ex->repo, name, &refs[i].local, 1,
				"schoolsync: push")) < 0)
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update %s", name);
		git_reference_free(ref);
	}
	free(name);
	return error;
}

/* Create a bare repository at @p path for a USB stick; the parent must exist. */
static int create_local_remote(xfer *x, const char *path, ssync_error *err)
{
	git_repository *repo = NULL;
	char *parent = strdup(path), *slash;
	struct stat st;
	int error;

	if (!parent)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) != NULL)
		slash == parent ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
	/* never mkdir -p: an unmounted stick must not turn into a local dir */
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error = ssync_error_set(err, SSYNC_ENET, "remote %s: %s does not exist",
			x->remote, parent);
		ssync_error_hint(err, "is the USB stick or network share mounted?");
		goto done;
	}
	error = ssync_exchange__init_bare(&repo, path, GIT_REPOSITORY_INIT_MKDIR, 1, err);
done:
	git_repository_free(repo);
	free(parent);
	return error;
}

/*
 * Fast path: the remote is a directory. Objects first, then the remote's
 * refs in one transaction that re-checks each old value under its lock.
 */
static int push_local(ssync_exchange *ex, xfer *x, const char *path, push_ref *refs,
	size_t n, ssync_error *err)
{
	git_repository *dst = NULL, *view = NULL;
	git_transaction *tx = NULL;
	git_signature *sig = NULL;
	ref_list theirs = { 0 };
	git_oid *wants = NULL, *haves = NULL;
	char *dst_objects = NULL, what[256];
	struct stat st;
	size_t i, nwants = 0;
	int error;

	snprintf(what, sizeof(what), "push to %s (%s)", x->remote, path);
	if ((stat(path, &st) < 0 && errno == ENOENT) || ssync_exchange__path_is_empty_dir(path)) {
		if ((error = create_local_remote(x, path, err)) < 0)
			goto done;
	}
	if ((error = ssync_exchange__open_local_remote(&dst, x, path, err)) < 0)
		goto done;
	if ((error = ssync_exchange__list_refs(&theirs, dst, HEADS_PREFIX, 0, err)) < 0) {
		error = ssync_exchange__remote_broke(err);
		goto done;
	}
	if ((error = ssync_exchange__objects_dir(&dst_objects, dst)) < 0 ||
	    (error = ssync_exchange__open_view(&view, ex->gitdir, dst_objects)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s", what);
		goto done;
	}
	if (!(wants = malloc(n * sizeof(*wants))) || ssync_exchange__ref_list_ids(&haves, &theirs) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		const ref_entry *t = ssync_exchange__ref_list_find(&theirs, refs[i].name);

		if ((refs[i].remote_found = t != NULL))
			git_oid_cpy(&refs[i].remote, &t->id);
		if ((error = classify(&refs[i], view)) < 0) {
			error = ssync_exchange__xfail(x, err, error, "%s: compare %s", what, refs[i].name);
			goto done;
		}
		if (push_wanted(&refs[i]))
			git_oid_cpy(&wants[nwants++], &refs[i].local);
	}
	if (nwants == 0) {
		error = 0;
		goto done;
	}
	if ((error = ssync_exchange__transfer(x, view, ex->gitdir, dst_objects, dst, wants, nwants,
			haves, theirs.n, what, err)) < 0)
		goto done;
	if ((error = ssync_exchange__make_signature(&sig, err)) < 0)
		goto done;
	if ((error = git_transaction_new(&tx, dst)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s: update refs", what);
		goto done;
	}
	for (i = 0; i < n; i++) {
		git_oid now;
		int found;

		if (!push_wanted(&refs[i]))
			continue;
		if ((error = git_transaction_lock_ref(tx, refs[i].name)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ENET, "%s: lock %s", what, refs[i].name);
			goto done;
		}
		/* compare-and-swap: nobody may have moved it since we looked */
		if ((error = ssync_exchange__read_tip(&now, &found, dst, refs[i].name, err)) < 0)
			goto done;
		if (found != refs[i].remote_found ||
		    (found && !git_oid_equal(&now, &refs[i].remote))) {
			error = ssync_error_set(err, SSYNC_ECONFLICT,
				"%s: %s moved during the push", what, refs[i].name);
			ssync_error_hint(err, "another node pushed at the same time; sync again");
			goto done;
		}
		if ((error = git_transaction_set_target(tx, refs[i].name, &refs[i].local, sig,
				"schoolsync: push")) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ENET, "%s: update %s", what, refs[i].name);
			goto done;
		}
	}
	if ((error = git_transaction_commit(tx)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ENET, "%s: update refs", what);
		goto done;
	}
	error = 0;
done:
	git_transaction_free(tx);
	git_signature_free(sig);
	free(wants);
	free(haves);
	free(dst_objects);
	ssync_exchange__ref_list_free(&theirs);
	git_repository_free(view);
	git_repository_free(dst);
	return error;
}

typedef struct push_cb_ctx {
	xfer *x;
	push_ref *refs;
	size_t n;
	char line[512];   /* the server's message line being received */
	size_t llen;
} push_cb_ctx;

static push_cb_ctx *push_ctx_of(xfer *x);

static int push_update_cb(const char *refname, const char *status, void *payload)
{
	push_cb_ctx *c = push_ctx_of(payload);
	size_t i;

	if (!status || !c)
		return 0;
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->refs[i].name, refname) == 0) {
			c->refs[i].refused = 1;
			snprintf(c->refs[i].status, sizeof(c->refs[i].status), "%s", status);
		}
	}
	return 0;
}

/* A guarded hub's hook names each refused ref on its own line, which git
 * relays as "remote:" text: keep the reason so the pusher's error says it. */
static void guard_line(push_cb_ctx *c)
{
	static const char mark[] = "schoolsync guard: refused ";
	const char *p = strstr(c->line, mark), *colon;
	size_t i, n;

	if (!p || !(colon = strstr(p += sizeof(mark) - 1, ": ")))
		return;
	n = (size_t)(colon - p);
	for (i = 0; i < c->n; i++)
		if (strlen(c->refs[i].name) == n && strncmp(c->refs[i].name, p, n) == 0 && !c->refs[i].guard[0])
			snprintf(c->refs[i].guard, sizeof(c->refs[i].guard), "%s", colon + 2);
}

static int push_sideband_cb(const char *str, int len, void *payload)
{
	push_cb_ctx *c = push_ctx_of(payload);
	int i;

	for (i = 0; c && i < len; i++) {
		if (str[i] == '\n' || str[i] == '\r') {
			c->line[c->llen] = 0;
			guard_line(c);
			c->llen = 0;
		} else if (c->llen < sizeof(c->line) - 1) {
			c->line[c->llen++] = str[i];
		}
	}
	return 0;
}

/* The push context rides in the xfer the callbacks already receive. */
typedef struct xfer_push {
	xfer x;              /* first: callbacks get a pointer to it */
	push_cb_ctx ctx;
} xfer_push;

static push_cb_ctx *push_ctx_of(xfer *x)
{
	return &((xfer_push *)x)->ctx;
}

static int push_network(ssync_exchange *ex, xfer_push *xp, git_remote *r, push_ref *refs,
	size_t n, ssync_error *err)
{
	xfer *x = &xp->x;
	const git_remote_head **rh = NULL;
	git_push_options po;
	git_strarray specs = { 0 };
	char what[256];
	size_t i, j, nh = 0;
	int error;

	snprintf(what, sizeof(what), "push to %s", x->remote);
	if ((error = ssync_exchange__connect_remote(r, GIT_DIRECTION_PUSH, x, what, err)) < 0)
		goto done;
	if ((error = git_remote_ls(&rh, &nh, r)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s: list refs", what);
		goto done;
	}
	if (!(specs.strings = calloc(n, sizeof(char *)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < nh; j++) {
			if (!strcmp(rh[j]->name, refs[i].name)) {
				refs[i].remote_found = 1;
				git_oid_cpy(&refs[i].remote, &rh[j]->oid);
			}
		}
		if ((error = classify(&refs[i], ex->repo)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s: compare %s", what, refs[i].name);
			goto done;
		}
		if (!push_wanted(&refs[i]))
			continue;
		/* no '+' but for a lease: the server must refuse anything but a
		 * fast-forward; a lease's '+' replaces the tip the server just
		 * advertised (it is sent as the old value, which the server checks) */
		if (!(specs.strings[specs.count] = malloc(2 * strlen(refs[i].name) + 3))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		sprintf(specs.strings[specs.count++], "%s%s:%s", refs[i].kind == PUSH_LEASE ? "+" : "",
			refs[i].name, refs[i].name);
	}
	if (specs.count == 0) {
		error = 0;
		goto done;
	}
	xp->ctx.x = x;
	xp->ctx.refs = refs;
	xp->ctx.n = n;
	if ((error = git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s", what);
		goto done;
	}
	ssync_exchange__net_callbacks(&po.callbacks, x);
	po.callbacks.push_update_reference = push_update_cb;
	po.callbacks.sideband_progress = push_sideband_cb;
	po.proxy_opts.type = GIT_PROXY_AUTO;
	po.pb_parallelism = 1; /* our config turns delta search off anyway */
	error = git_remote_upload(r, &specs, &po);
	if (error == GIT_ENONFASTFORWARD) {
		/* the remote moved between our look and the upload */
		git_error_clear();
		error = ssync_error_set(err, SSYNC_ECONFLICT,
			"%s: a ref moved on the remote during the push", what);
		ssync_error_hint(err, "fetch from %s, then push again", x->remote);
		goto done;
	}
	if (error < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s: upload", what);
		goto done;
	}
	error = 0;
done:
	if (git_remote_connected(r) && git_remote_disconnect(r) < 0)
		git_error_clear(); /* the push itself has finished or failed */
	for (i = 0; i < specs.count; i++)
		free(specs.strings[i]);
	free(specs.strings);
	return error;
}

static int push_refs(ssync_exchange *ex, const char *remote, size_t nrefs, const char *const *refs,
	const git_oid *lease, const ssync_transfer_opts *opts, ssync_error *err)
{
	git_remote *r = NULL;
	push_ref *pr = NULL;
	char *path = NULL;
	xfer_push xp;
	size_t i, j;
	int error, found;

	if (!ex || (nrefs && !refs))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_push: NULL argument");
	memset(&xp, 0, sizeof(xp));
	if ((error = ssync_exchange__xfer_init(&xp.x, remote, opts, err)) < 0 ||
	    (error = ssync_exchange__lookup_remote(&r, ex, remote, err)) < 0)
		goto done;
	if (nrefs == 0) {
		error = 0;
		goto done;
	}
	if (!(pr = calloc(nrefs, sizeof(*pr)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < nrefs; i++) {
		if (!refs[i] || !ssync_exchange__sync_ref_valid(refs[i])) {
			error = ssync_error_set(err, SSYNC_EINVAL,
				"push: '%s' is neither refs/heads/node/<node-id> nor %s",
				refs[i] ? refs[i] : "(null)", DISTRICT_REF);
			goto done;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(refs[j], refs[i])) {
				error = ssync_error_set(err, SSYNC_EINVAL, "push: %s given twice", refs[i]);
				goto done;
			}
		pr[i].name = refs[i];
		pr[i].lease = lease;
		if ((error = ssync_exchange__read_tip(&pr[i].local, &found, ex->repo, refs[i], err)) < 0)
			goto done;
		if (!found) {
			error = ssync_error_set(err, SSYNC_ENOTFOUND, "push: no local ref %s", refs[i]);
			goto done;
		}
	}
	/* a stick or share is checked before anything in it is opened */
	if ((path = ssync_exchange__local_path_of(git_remote_url(r))) != NULL &&
	    (error = ssync_exchange__local_repo_safe(path, remote, err)) < 0)
		goto done;
	if (!ex->no_fastpath && path)
		error = push_local(ex, &xp.x, path, pr, nrefs, err);
	else
		error = push_network(ex, &xp, r, pr, nrefs, err);
	if (error < 0)
		goto done;
	if ((error = track_pushed(ex, remote, pr, nrefs, err)) < 0)
		goto done;
	if (lease && pr[0].kind == PUSH_UNKNOWN) {
		char *h = git_oid_tostr_s(&pr[0].remote);
		error = ssync_error_set(err, SSYNC_ECONFLICT, "push to %s: %s there moved to %.12s since it was looked at; "
			"nothing was replaced", remote, pr[0].name, h ? h : "?");
		ssync_error_hint(err, "look again: schoolsync remote repair %s", remote);
		goto done;
	}
	if (lease && pr[0].refused) {
		error = ssync_error_set(err, SSYNC_EREWRITE, "push to %s: the server refused to replace %s (%s)",
			remote, pr[0].name, pr[0].status);
		ssync_error_hint(err, "the server forbids rewriting branches (git config receive.denyNonFastForwards); "
			"see docs/OPERATIONS.md \"A school's branch is blocked\"");
		goto done;
	}
	error = push_verdict(remote, pr, nrefs, err);
done:
	ssync_exchange__scrub_secrets(err, opts, r ? git_remote_url(r) : NULL);
	free(path);
	free(pr);
	git_remote_free(r);
	ssync_exchange__xfer_dispose(&xp.x);
	return error;
}

int ssync_exchange_push(ssync_exchange *ex, const char *remote, size_t nrefs,
	const char *const *refs, const ssync_transfer_opts *opts, ssync_error *err)
{
	return push_refs(ex, remote, nrefs, refs, NULL, opts, err);
}

int ssync_exchange_push_lease(ssync_exchange *ex, const char *remote, const char *ref,
	const ssync_oid_hex *lease, const ssync_transfer_opts *opts, ssync_error *err)
{
	git_oid id;
	int error, empty;

	if (!ref || !lease)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_push_lease: NULL argument");
	if ((error = ssync_exchange__parse_oid(&id, &empty, lease, "push lease", err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_EINVAL, "push lease: no commit given");
	return push_refs(ex, remote, 1, &ref, &id, opts, err);
}
