/*
 * Fetch: remote refs into refs/remotes/<remote>/, objects first and refs
 * last (one transaction holding every ref lock), over the network through
 * libgit2 or, for a local-path remote, by the object copy of local.c.
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
char *ssync_exchange__local_path_of(const char *url)
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
char *ssync_exchange__tracking_name(const char *remote, const char *ref)
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
		if (!(name = ssync_exchange__tracking_name(remote, heads->v[i].name))) {
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

int ssync_exchange__ref_list_ids(git_oid **out, const ref_list *l)
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
int ssync_exchange__remote_broke(ssync_error *err)
{
	if (err)
		err->code = SSYNC_ENET;
	return SSYNC_ENET;
}

int ssync_exchange__open_local_remote(git_repository **out, xfer *x, const char *path,
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
	if ((error = ssync_exchange__open_local_remote(&src, x, path, err)) < 0)
		goto done;
	if ((error = ssync_exchange__list_refs(heads, src, HEADS_PREFIX, 1, err)) < 0) {
		error = ssync_exchange__remote_broke(err);
		goto done;
	}
	if ((error = ssync_exchange__list_refs(&mine, ex->repo, "refs/", 0, err)) < 0)
		goto done;
	if (ssync_exchange__ref_list_ids(&wants, heads) < 0 || ssync_exchange__ref_list_ids(&haves, &mine) < 0) {
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
	if ((error = ssync_exchange__connect_remote(r, GIT_DIRECTION_FETCH, x, what, err)) < 0)
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
		ssync_exchange__net_callbacks(&fo.callbacks, x);
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
	if ((error = ssync_exchange__xfer_init(&x, remote, opts, err)) < 0 ||
	    (error = ssync_exchange__lookup_remote(&r, ex, remote, err)) < 0)
		goto done;
	/* a stick or share is checked before anything in it is opened */
	if ((path = ssync_exchange__local_path_of(git_remote_url(r))) != NULL &&
	    (error = ssync_exchange__local_repo_safe(path, remote, err)) < 0)
		goto done;
	if (!ex->no_fastpath && path)
		error = fetch_local(ex, &x, path, &heads, err);
	else
		error = fetch_network(ex, &x, r, &heads, err);
	if (error < 0)
		goto done;
	error = update_tracking(ex, remote, &heads, 1, err);
done:
	ssync_exchange__scrub_secrets(err, opts, r ? git_remote_url(r) : NULL);
	free(path);
	ssync_exchange__ref_list_free(&heads);
	git_remote_free(r);
	ssync_exchange__xfer_dispose(&x);
	return error;
}
