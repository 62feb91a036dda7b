/*
 * Fetch and push between the exchange repository and its remotes: the
 * transfer context (progress, cancellation, credentials), the network path
 * through libgit2 and, for a remote that is a local path (USB stick, hub
 * directory), the fast path that opens the other repository and copies
 * objects with exchange_local.c.
 *
 * Invariants:
 * - objects first, refs last: a ref moves only after every object it
 *   reaches is stored, inside a transaction that holds every ref's lock,
 *   so a failure leaves the old refs in place;
 * - a push never forces: anything but a fast-forward is refused;
 * - no token or URL password reaches an error message (scrub_secrets).
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

/* Replace every occurrence of @p secret in @p s by "***" (in place). */
static void scrub(char *s, size_t cap, const char *secret)
{
	size_t slen, rest;
	char *p, *from = s;

	if (!secret || !(slen = strlen(secret)))
		return;
	/* search after each replacement: "***" may itself contain the secret */
	while ((p = strstr(from, secret)) != NULL) {
		rest = strlen(p + slen);
		if (slen >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + slen, rest + 1);
			from = p + 3;
		} else if ((size_t)(p - s) + 3 + rest < cap) {
			memmove(p + 3, p + slen, rest + 1);
			memcpy(p, "***", 3);
			from = p + 3;
		} else {
			memmove(p, p + slen, rest + 1);
			from = p;
		}
	}
}

/* ------------------------------------------------------------------ */
/* transfer context                                                    */

/* Non-zero if the user's callback asks to stop. */
int ssync_exchange__user_progress(xfer *x)
{
	return x->opts && x->opts->progress && x->opts->progress(&x->prog, x->opts->payload);
}

/* Report progress from the calling thread; -1 once cancelled. */
int ssync_exchange__report(xfer *x)
{
	if (x->cancelled)
		return -1;
	if (ssync_exchange__user_progress(x)) {
		x->cancelled = 1;
		return -1;
	}
	return 0;
}

/*
 * Failure of a transfer step: cancelled, refused credentials and damaged
 * data keep their meaning; anything else means the remote or the link
 * failed.
 */
int ssync_exchange__xfail(xfer *x, ssync_error *err, int gcode, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[384];
	va_list ap;
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (x->cancelled)
		code = SSYNC_ECANCELLED;
	else if (x->auth_failed || gcode == GIT_EAUTH)
		code = SSYNC_EPERM;
	else if (gcode == GIT_EMISMATCH)
		code = SSYNC_ECORRUPT;
	else
		code = SSYNC_ENET;
	if (code == SSYNC_ECANCELLED)
		ssync_error_set(err, code, "%s: cancelled", what);
	else
		ssync_error_set(err, code, "%s: %s", what,
			e && e->message ? e->message : "unknown libgit2 error");
	if (code == SSYNC_EPERM)
		ssync_error_hint(err, "check the ssh key / agent or the https token for remote %s",
			x->remote);
	else if (code == SSYNC_ENET)
		ssync_error_hint(err, "remote %s is unreachable or the transfer broke off; "
			"it will be retried", x->remote);
	git_error_clear();
	return code;
}

/* ------------------------------------------------------------------ */
/* fetch / push                                                        */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The directory a local-path or file:// URL names, or NULL for network URLs. */
static char *local_path_of(const char *url)
{
	const char *p;
	char *out, *o;

	if (!strncmp(url, "file://", 7)) {
		p = url + 7;
		if (!strncmp(p, "localhost/", 10))
			p += 9;
		if (*p != '/')
			return NULL;
	} else if (url[0] == '/') {
		p = url;
	} else {
		return NULL;
	}
	if (!(out = malloc(strlen(p) + 1)))
		return NULL;
	for (o = out; *p; p++) {
		if (p[0] == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0 && url[0] != '/') {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* "refs/heads/X" -> "refs/remotes/<remote>/X" */
static char *tracking_name(const char *remote, const char *ref)
{
	size_t n = strlen("refs/remotes/") + strlen(remote) + 1 +
		strlen(ref + strlen(HEADS_PREFIX)) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "refs/remotes/%s/%s", remote, ref + strlen(HEADS_PREFIX));
	return s;
}

/*
 * Make refs/remotes/<remote>/{node/..,district} mirror @p heads (the
 * remote's refs) in one transaction: every ref is locked before any moves.
 */
static int update_tracking(ssync_exchange *ex, const char *remote, const ref_list *heads,
	int prune, ssync_error *err)
{
	git_transaction *tx = NULL;
	git_signature *sig = NULL;
	git_odb *odb = NULL;
	ref_list cur = { 0 };
	char prefix[128], *name = NULL;
	size_t i, changes = 0;
	int error;

	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/", remote);
	if ((error = ssync_exchange__list_refs(&cur, ex->repo, prefix, 0, err)) < 0 ||
	    (error = ssync_exchange__make_signature(&sig, err)) < 0)
		goto done;
	if ((error = git_repository_odb(&odb, ex->repo)) < 0 ||
	    (error = git_transaction_new(&tx, ex->repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update refs of remote %s", remote);
		goto done;
	}
	for (i = 0; i < heads->n; i++) {
		const ref_entry *c;

		free(name);
		if (!(name = tracking_name(remote, heads->v[i].name))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if ((c = ssync_exchange__ref_list_find(&cur, name)) && git_oid_equal(&c->id, &heads->v[i].id))
			continue;
		if (!git_odb_exists(odb, &heads->v[i].id)) {
			error = ssync_error_set(err, SSYNC_ECORRUPT,
				"remote %s: objects of %s did not arrive", remote, heads->v[i].name);
			goto done;
		}
		if ((error = git_transaction_lock_ref(tx, name)) < 0 ||
		    (error = git_transaction_set_target(tx, name, &heads->v[i].id, sig,
				"schoolsync: fetch")) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update %s", name);
			goto done;
		}
		changes++;
	}
	/* prune: our tracking refs for branches the remote no longer has */
	for (i = 0; prune && i < cur.n; i++) {
		char head[512];
		ref_entry key;

		snprintf(head, sizeof(head), HEADS_PREFIX "%s", cur.v[i].name + strlen(prefix));
		if (!ssync_exchange__sync_ref_valid(head))
			continue; /* not ours to manage */
		key.name = head;
		if (heads->n && bsearch(&key, heads->v, heads->n, sizeof(*heads->v), ssync_exchange__ref_entry_cmp))
			continue;
		if ((error = git_transaction_lock_ref(tx, cur.v[i].name)) < 0 ||
		    (error = git_transaction_remove(tx, cur.v[i].name)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "prune %s", cur.v[i].name);
			goto done;
		}
		changes++;
	}
	if (changes && (error = git_transaction_commit(tx)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update refs of remote %s", remote);
		goto done;
	}
	error = 0;
done:
	free(name);
	git_transaction_free(tx);
	git_odb_free(odb);
	git_signature_free(sig);
	ssync_exchange__ref_list_free(&cur);
	return error;
}

static int ref_list_ids(git_oid **out, const ref_list *l)
{
	size_t i;

	*out = malloc((l->n ? l->n : 1) * sizeof(**out));
	if (!*out)
		return -1;
	for (i = 0; i < l->n; i++)
		git_oid_cpy(&(*out)[i], &l->v[i].id);
	return 0;
}

/* A failure reading the other repository is the remote's: SSYNC_ENET. */
static int remote_broke(ssync_error *err)
{
	if (err)
		err->code = SSYNC_ENET;
	return SSYNC_ENET;
}

static int open_local_remote(git_repository **out, xfer *x, const char *path,
	ssync_error *err)
{
	int error = git_repository_open_bare(out, path);

	if (error < 0) {
		git_error_clear();
		error = ssync_error_set(err, SSYNC_ENET,
			"remote %s: no bare git repository at %s", x->remote, path);
		ssync_error_hint(err, "is the USB stick or network share mounted?");
	}
	return error;
}

static int fetch_local(ssync_exchange *ex, xfer *x, const char *path, ref_list *heads,
	ssync_error *err)
{
	git_repository *src = NULL, *view = NULL;
	ref_list mine = { 0 };
	git_oid *wants = NULL, *haves = NULL;
	char *src_objects = NULL;
	char what[256];
	int error;

	snprintf(what, sizeof(what), "fetch from %s (%s)", x->remote, path);
	if ((error = open_local_remote(&src, x, path, err)) < 0)
		goto done;
	if ((error = ssync_exchange__list_refs(heads, src, HEADS_PREFIX, 1, err)) < 0) {
		error = remote_broke(err);
		goto done;
	}
	if ((error = ssync_exchange__list_refs(&mine, ex->repo, "refs/", 0, err)) < 0)
		goto done;
	if (ref_list_ids(&wants, heads) < 0 || ref_list_ids(&haves, &mine) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = ssync_exchange__objects_dir(&src_objects, src)) < 0 ||
	    (error = ssync_exchange__open_view(&view, ex->gitdir, src_objects)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s", what);
		goto done;
	}
	error = ssync_exchange__transfer(x, view, ex->gitdir, src_objects, ex->repo, wants, heads->n,
		haves, mine.n, what, err);
done:
	free(wants);
	free(haves);
	free(src_objects);
	ssync_exchange__ref_list_free(&mine);
	git_repository_free(view);
	git_repository_free(src);
	return error;
}

static int cred_cb(git_credential **out, const char *url, const char *user_from_url,
	unsigned int allowed, void *payload)
{
	xfer *x = payload;
	const char *user = user_from_url && user_from_url[0] ? user_from_url : "git";
	const char *key = x->opts ? x->opts->ssh_key_path : NULL;
	const char *token = x->opts ? x->opts->https_token : NULL;
	char pub[4096];
	struct stat st;

	(void)url;
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && x->ssh_tries++ == 0) {
		if (!key)
			return git_credential_ssh_key_from_agent(out, user);
		snprintf(pub, sizeof(pub), "%s.pub", key);
		return git_credential_ssh_key_new(out, user,
			stat(pub, &st) == 0 ? pub : NULL, key, NULL);
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token && x->pass_tries++ == 0)
		return git_credential_userpass_plaintext_new(out, "x-access-token", token);
	/* refused once already, or nothing to offer: stop instead of looping */
	x->auth_failed = 1;
	git_error_set_str(GIT_ERROR_NET, "authentication failed");
	return GIT_EAUTH;
}

static int fetch_progress_cb(const git_indexer_progress *st, void *payload)
{
	xfer *x = payload;

	x->prog.total_objects = st->total_objects;
	x->prog.received_objects = st->received_objects;
	x->prog.indexed_objects = st->indexed_objects;
	x->prog.received_bytes = st->received_bytes;
	return ssync_exchange__report(x);
}

static int push_progress_cb(unsigned int current, unsigned int total, size_t bytes,
	void *payload)
{
	xfer *x = payload;

	x->prog.total_objects = total;
	x->prog.pushed_objects = current;
	x->prog.pushed_bytes = bytes;
	return ssync_exchange__report(x);
}

static void net_callbacks(git_remote_callbacks *cbs, xfer *x)
{
	memset(cbs, 0, sizeof(*cbs));
	cbs->version = GIT_REMOTE_CALLBACKS_VERSION;
	cbs->credentials = cred_cb;
	cbs->transfer_progress = fetch_progress_cb;
	cbs->push_transfer_progress = push_progress_cb;
	cbs->payload = x;
}

static int connect_remote(git_remote *r, git_direction dir, xfer *x, const char *what,
	ssync_error *err)
{
	git_remote_callbacks cbs;
	git_proxy_options proxy;
	int error;

	net_callbacks(&cbs, x);
	if ((error = git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION)) < 0)
		return ssync_exchange__xfail(x, err, error, "%s: connect", what);
	proxy.type = GIT_PROXY_AUTO;
	if ((error = git_remote_connect(r, dir, &cbs, &proxy, NULL)) < 0)
		return ssync_exchange__xfail(x, err, error, "%s: connect", what);
	return 0;
}

static int fetch_network(ssync_exchange *ex, xfer *x, git_remote *r, ref_list *heads,
	ssync_error *err)
{
	const git_remote_head **rh = NULL;
	git_fetch_options fo;
	git_strarray specs = { 0 };
	git_odb *odb = NULL;
	char what[256];
	size_t i, n = 0;
	int error;

	snprintf(what, sizeof(what), "fetch from %s", x->remote);
	if ((error = connect_remote(r, GIT_DIRECTION_FETCH, x, what, err)) < 0)
		goto done;
	if ((error = git_remote_ls(&rh, &n, r)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s: list refs", what);
		goto done;
	}
	for (i = 0; i < n; i++)
		if (ssync_exchange__sync_ref_valid(rh[i]->name) && ssync_exchange__ref_list_add(heads, rh[i]->name, &rh[i]->oid) < 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
	if (heads->n)
		qsort(heads->v, heads->n, sizeof(*heads->v), ssync_exchange__ref_entry_cmp);
	if ((error = git_repository_odb(&odb, ex->repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s: open objects", what);
		goto done;
	}
	/* ask only for the valid refs we lack; the rest is not ours to take */
	if (!(specs.strings = calloc(heads->n ? heads->n : 1, sizeof(char *)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < heads->n; i++) {
		size_t len;

		if (git_odb_exists(odb, &heads->v[i].id))
			continue;
		len = 2 * strlen(heads->v[i].name) + 2;
		if (!(specs.strings[specs.count] = malloc(len))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		snprintf(specs.strings[specs.count++], len, "%s:%s", heads->v[i].name,
			heads->v[i].name);
	}
	if (specs.count) {
		if ((error = git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s", what);
			goto done;
		}
		net_callbacks(&fo.callbacks, x);
		fo.prune = GIT_FETCH_NO_PRUNE;
		fo.update_fetchhead = 0;
		fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
		fo.proxy_opts.type = GIT_PROXY_AUTO;
		if ((error = git_remote_download(r, &specs, &fo)) < 0) {
			error = ssync_exchange__xfail(x, err, error, "%s: download", what);
			goto done;
		}
		if ((error = git_odb_refresh(odb)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s: reload objects", what);
			goto done;
		}
	}
	error = 0;
done:
	if (git_remote_connected(r) && git_remote_disconnect(r) < 0)
		git_error_clear(); /* nothing left to save on this connection */
	for (i = 0; i < specs.count; i++)
		free(specs.strings[i]);
	free(specs.strings);
	git_odb_free(odb);
	return error;
}

static int xfer_init(xfer *x, const char *remote, const ssync_transfer_opts *opts,
	ssync_error *err)
{
	memset(x, 0, sizeof(*x));
	x->remote = remote;
	x->opts = opts;
	if (pthread_mutex_init(&x->mu, NULL) != 0)
		return ssync_error_set(err, SSYNC_ERROR, "out of resources (mutex)");
	if (pthread_cond_init(&x->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&x->mu);
		return ssync_error_set(err, SSYNC_ERROR, "out of resources (condition)");
	}
	x->ready = 1;
	return 0;
}

static void xfer_dispose(xfer *x)
{
	if (!x->ready)
		return;
	/* both are idle here: every writer thread has been joined */
	(void)pthread_mutex_destroy(&x->mu);
	(void)pthread_cond_destroy(&x->cv);
}

/* Look up @p name; message and hint if it is not configured. */
static int lookup_remote(git_remote **out, ssync_exchange *ex, const char *name,
	ssync_error *err)
{
	int error;

	*out = NULL;
	if ((error = ssync_exchange__remote_name_check(name, err)) < 0)
		return error;
	error = git_remote_lookup(out, ex->repo, name);
	if (error == GIT_ENOTFOUND || error == GIT_EINVALIDSPEC) {
		git_error_clear();
		ssync_error_set(err, SSYNC_ENOTFOUND, "no remote named %s", name);
		ssync_error_hint(err, "add it first (ssync_exchange_remote_add)");
		return SSYNC_ENOTFOUND;
	}
	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "read remote %s", name);
	if (!git_remote_url(*out)) {
		git_remote_free(*out);
		*out = NULL;
		return ssync_error_set(err, SSYNC_EINVAL, "remote %s has no URL", name);
	}
	return 0;
}

/* Never let a token or a password from a URL reach a message. */
static void scrub_secrets(ssync_error *err, const ssync_transfer_opts *opts, const char *url)
{
	const char *at, *colon, *start;
	char pass[512];

	if (!err)
		return;
	if (opts && opts->https_token) {
		scrub(err->message, sizeof(err->message), opts->https_token);
		scrub(err->hint, sizeof(err->hint), opts->https_token);
	}
	if (url && (start = strstr(url, "://")) && (at = strchr(start + 3, '@')) &&
	    (colon = memchr(start + 3, ':', (size_t)(at - start - 3))) &&
	    (size_t)(at - colon - 1) < sizeof(pass)) {
		memcpy(pass, colon + 1, (size_t)(at - colon - 1));
		pass[at - colon - 1] = '\0';
		scrub(err->message, sizeof(err->message), pass);
		scrub(err->hint, sizeof(err->hint), pass);
	}
}

int ssync_exchange_fetch(ssync_exchange *ex, const char *remote,
	const ssync_transfer_opts *opts, ssync_error *err)
{
	git_remote *r = NULL;
	ref_list heads = { 0 };
	char *path = NULL;
	xfer x;
	int error;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_fetch: NULL exchange");
	if ((error = xfer_init(&x, remote, opts, err)) < 0 ||
	    (error = lookup_remote(&r, ex, remote, err)) < 0)
		goto done;
	if (!ex->no_fastpath && (path = local_path_of(git_remote_url(r))) != NULL)
		error = fetch_local(ex, &x, path, &heads, err);
	else
		error = fetch_network(ex, &x, r, &heads, err);
	if (error < 0)
		goto done;
	error = update_tracking(ex, remote, &heads, 1, err);
done:
	scrub_secrets(err, opts, r ? git_remote_url(r) : NULL);
	free(path);
	ssync_exchange__ref_list_free(&heads);
	git_remote_free(r);
	xfer_dispose(&x);
	return error;
}

/* What to do with one ref on push. */
enum push_kind {
	PUSH_CREATE,     /* the remote lacks it */
	PUSH_FF,         /* ours descends from the remote's */
	PUSH_NOOP,       /* equal, or the remote already contains ours */
	PUSH_REWRITE,    /* diverged: refused */
	PUSH_UNKNOWN     /* the remote's commit is not here: fetch first */
};

typedef struct push_ref {
	const char *name;
	git_oid local, remote;
	int remote_found;
	enum push_kind kind;
	int refused;            /* the server said no */
	char status[160];
} push_ref;

static int classify(push_ref *p, git_repository *view)
{
	git_odb *odb = NULL;
	int error, known;

	if (!p->remote_found) {
		p->kind = PUSH_CREATE;
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
	return ssync_error_set(err, SSYNC_ERROR, "push to %s refused %s: %s", remote,
		first->name, first->status);
}

static int push_wanted(const push_ref *p)
{
	return p->kind == PUSH_CREATE || p->kind == PUSH_FF;
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
		if (!(name = tracking_name(remote, refs[i].name)))
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
	if ((error = open_local_remote(&dst, x, path, err)) < 0)
		goto done;
	if ((error = ssync_exchange__list_refs(&theirs, dst, HEADS_PREFIX, 0, err)) < 0) {
		error = remote_broke(err);
		goto done;
	}
	if ((error = ssync_exchange__objects_dir(&dst_objects, dst)) < 0 ||
	    (error = ssync_exchange__open_view(&view, ex->gitdir, dst_objects)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s", what);
		goto done;
	}
	if (!(wants = malloc(n * sizeof(*wants))) || ref_list_ids(&haves, &theirs) < 0) {
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
	if ((error = connect_remote(r, GIT_DIRECTION_PUSH, x, what, err)) < 0)
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
		/* no '+': the server must refuse anything but a fast-forward */
		if (!(specs.strings[specs.count] = malloc(2 * strlen(refs[i].name) + 2))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		sprintf(specs.strings[specs.count++], "%s:%s", refs[i].name, refs[i].name);
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
	net_callbacks(&po.callbacks, x);
	po.callbacks.push_update_reference = push_update_cb;
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

int ssync_exchange_push(ssync_exchange *ex, const char *remote, size_t nrefs,
	const char *const *refs, const ssync_transfer_opts *opts, ssync_error *err)
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
	if ((error = xfer_init(&xp.x, remote, opts, err)) < 0 ||
	    (error = lookup_remote(&r, ex, remote, err)) < 0)
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
		if ((error = ssync_exchange__read_tip(&pr[i].local, &found, ex->repo, refs[i], err)) < 0)
			goto done;
		if (!found) {
			error = ssync_error_set(err, SSYNC_ENOTFOUND, "push: no local ref %s", refs[i]);
			goto done;
		}
	}
	if (!ex->no_fastpath && (path = local_path_of(git_remote_url(r))) != NULL)
		error = push_local(ex, &xp.x, path, pr, nrefs, err);
	else
		error = push_network(ex, &xp, r, pr, nrefs, err);
	if (error < 0)
		goto done;
	if ((error = track_pushed(ex, remote, pr, nrefs, err)) < 0)
		goto done;
	error = push_verdict(remote, pr, nrefs, err);
done:
	scrub_secrets(err, opts, r ? git_remote_url(r) : NULL);
	free(path);
	free(pr);
	git_remote_free(r);
	xfer_dispose(&xp.x);
	return error;
}
