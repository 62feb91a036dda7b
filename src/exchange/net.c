/*
 * The network path through libgit2: credentials (ssh agent, key files,
 * tokens), progress callbacks and connecting with a deadline.
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

void ssync_exchange__net_callbacks(git_remote_callbacks *cbs, xfer *x)
{
	memset(cbs, 0, sizeof(*cbs));
	cbs->version = GIT_REMOTE_CALLBACKS_VERSION;
	cbs->credentials = cred_cb;
	cbs->transfer_progress = fetch_progress_cb;
	cbs->push_transfer_progress = push_progress_cb;
	cbs->payload = x;
}

int ssync_exchange__connect_remote(git_remote *r, git_direction dir, xfer *x, const char *what,
	ssync_error *err)
{
	git_remote_callbacks cbs;
	git_proxy_options proxy;
	int error;

	ssync_exchange__net_callbacks(&cbs, x);
	if ((error = git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION)) < 0)
		return ssync_exchange__xfail(x, err, error, "%s: connect", what);
	proxy.type = GIT_PROXY_AUTO;
	if ((error = git_remote_connect(r, dir, &cbs, &proxy, NULL)) < 0)
		return ssync_exchange__xfail(x, err, error, "%s: connect", what);
	return 0;
}

/* Look up @p name; message and hint if it is not configured. */
int ssync_exchange__lookup_remote(git_remote **out, ssync_exchange *ex, const char *name,
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
		ssync_error_hint(err, "list the remotes with: schoolsync remote list; add one with: schoolsync remote add %s URL", name);
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
