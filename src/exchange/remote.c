/*
 * Remotes of the exchange repository: add (URL checked), remove, list.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <git2.h>

#include "exchange_int.h"


/*
 * Accept the URL forms our transports handle. Relative paths are refused:
 * the daemon's working directory is not the user's.
 */
static int url_check(const char *url, ssync_error *err)
{
	static const char *const schemes[] = { "file://", "git://", "http://",
		"https://", "ssh://", "ssh+git://", "git+ssh://" };
	const char *p, *colon, *slash;
	size_t i;

	if (!url || !url[0] || strlen(url) > 4096)
		goto bad;
	for (p = url; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			goto bad;
	if (url[0] == '-')
		goto bad;
	if (strstr(url, "://")) {
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (!strncmp(url, schemes[i], strlen(schemes[i])))
				return 0;
		goto bad;
	}
	if (url[0] == '/')
		return 0;
	/* scp-like ssh: [user@]host:path */
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && colon != url && (!slash || colon < slash))
		return 0;
bad:
	ssync_error_set(err, SSYNC_EINVAL, "unsupported remote URL '%s'", url ? url : "(null)");
	ssync_error_hint(err, "use an absolute path, file://, git://, http(s)://, ssh:// "
		"or user@host:path");
	return SSYNC_EINVAL;
}

int ssync_exchange_remote_add(ssync_exchange *ex, const char *name, const char *url,
	ssync_error *err)
{
	git_remote *r = NULL;
	git_config *cfg = NULL;
	char spec[256], key[128];
	int error, created = 0;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_remote_add: NULL exchange");
	if ((error = ssync_exchange__remote_name_check(name, err)) < 0 || (error = url_check(url, err)) < 0)
		return error;
	snprintf(spec, sizeof(spec), "+" NODE_PREFIX "*:refs/remotes/%s/node/*", name);
	error = git_remote_create_with_fetchspec(&r, ex->repo, name, url, spec);
	if (error == GIT_EEXISTS) {
		git_error_clear();
		return ssync_error_set(err, SSYNC_EEXISTS, "remote %s exists already", name);
	}
	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "add remote %s", name);
	created = 1;
	snprintf(spec, sizeof(spec), "+" DISTRICT_REF ":refs/remotes/%s/district", name);
	if ((error = git_remote_add_fetch(ex->repo, name, spec)) < 0 ||
	    (error = git_remote_set_autotag(ex->repo, name, GIT_REMOTE_DOWNLOAD_TAGS_NONE)) < 0 ||
	    (error = git_repository_config(&cfg, ex->repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "configure remote %s", name);
		goto done;
	}
	/* so that a plain `git fetch` in this repository mirrors like we do */
	snprintf(key, sizeof(key), "remote.%s.prune", name);
	if ((error = git_config_set_bool(cfg, key, 1)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "configure remote %s", name);
		goto done;
	}
	error = 0;
done:
	if (error < 0 && created && git_remote_delete(ex->repo, name) < 0)
		git_error_clear(); /* the first error is the one to report */
	git_config_free(cfg);
	git_remote_free(r);
	return error;
}

int ssync_exchange_remote_remove(ssync_exchange *ex, const char *name, ssync_error *err)
{
	git_remote *r = NULL;
	git_config *cfg = NULL;
	ref_list tracking = { 0 };
	char prefix[128], key[128];
	size_t i;
	int error;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_remote_remove: NULL exchange");
	if ((error = ssync_exchange__remote_name_check(name, err)) < 0)
		return error;
	if ((error = git_remote_lookup(&r, ex->repo, name)) < 0) {
		if (error == GIT_ENOTFOUND) {
			git_error_clear();
			return ssync_error_set(err, SSYNC_ENOTFOUND, "no remote named %s", name);
		}
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "remove remote %s", name);
	}
	git_remote_free(r);
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/", name);
	if ((error = ssync_exchange__list_refs(&tracking, ex->repo, prefix, 0, err)) < 0)
		goto done;
	for (i = 0; i < tracking.n; i++) {
		if ((error = git_reference_remove(ex->repo, tracking.v[i].name)) < 0 &&
		    error != GIT_ENOTFOUND) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "remove remote %s: delete %s", name,
				tracking.v[i].name);
			goto done;
		}
	}
	/*
	 * libgit2 1.5's git_remote_delete fails on a remote with two fetch
	 * lines ("entry is not unique due to being a multivar"): drop them
	 * first. Nothing here reads them back; fetch passes its own refspecs.
	 */
	snprintf(key, sizeof(key), "remote.%s.fetch", name);
	if ((error = git_repository_config(&cfg, ex->repo)) < 0 ||
	    ((error = git_config_delete_multivar(cfg, key, ".*")) < 0 && error != GIT_ENOTFOUND) ||
	    (error = git_remote_delete(ex->repo, name)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "remove remote %s", name);
		goto done;
	}
	error = 0;
done:
	git_error_clear();
	git_config_free(cfg);
	ssync_exchange__ref_list_free(&tracking);
	return error;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ssync_exchange_remote_list(ssync_exchange *ex, ssync_exchange_remote_cb cb,
	void *payload, ssync_error *err)
{
	git_strarray names = { 0 };
	git_remote *r = NULL;
	size_t i;
	int error;

	if (!ex || !cb)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_remote_list: NULL argument");
	if ((error = git_remote_list(&names, ex->repo)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "list remotes");
	if (names.count)
		qsort(names.strings, names.count, sizeof(char *), str_cmp);
	for (i = 0; i < names.count; i++) {
		if ((error = git_remote_lookup(&r, ex->repo, names.strings[i])) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "read remote %s", names.strings[i]);
			goto done;
		}
		error = cb(names.strings[i], git_remote_url(r) ? git_remote_url(r) : "", payload);
		git_remote_free(r);
		r = NULL;
		if (error != 0)
			goto done;
	}
	error = 0;
done:
	git_strarray_dispose(&names);
	return error;
}
