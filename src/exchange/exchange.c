/*
 * The git exchange repository (libgit2): segments committed on per-node
 * branches of a bare repository, its refs and its remotes. Transfers live
 * in exchange_xfer.c and exchange_local.c; exchange_int.h is shared.
 *
 * Invariants:
 * - branches only gain files: commit_files refuses to change a path and
 *   added_files refuses to read a history that changed or removed one;
 * - a ref moves only by compare-and-swap, so a failure leaves it in place.
 *
 * Workload: segments are distinct text files of tens of KB, thousands per
 * branch. Delta search finds almost nothing in them and dominated transfers
 * (17 s of 17.5 s for 100 MB here), so our repositories turn it off (see
 * ensure_config).
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

#define SIG_NAME "schoolsync"
#define SIG_EMAIL "node@schoolsync"

/* ------------------------------------------------------------------ */
/* errors                                                              */

static int map_git_code(int gcode, int klass, int fallback)
{
	switch (gcode) {
	case GIT_ENOTFOUND: return SSYNC_ENOTFOUND;
	case GIT_EEXISTS: return SSYNC_EEXISTS;
	case GIT_ELOCKED: return SSYNC_EBUSY;
	case GIT_EMODIFIED: return SSYNC_ECONFLICT;
	case GIT_ENONFASTFORWARD: return SSYNC_EREWRITE;
	case GIT_EUSER: return SSYNC_ECANCELLED;
	case GIT_EAUTH: return SSYNC_EPERM;
	case GIT_EOWNER: return SSYNC_EPERM;
	case GIT_ECERTIFICATE: return SSYNC_ENET;
	case GIT_EINVALIDSPEC: return SSYNC_EINVAL;
	case GIT_EMISMATCH: return SSYNC_ECORRUPT;
	default: break;
	}
	switch (klass) {
	case GIT_ERROR_NET:
	case GIT_ERROR_SSH:
	case GIT_ERROR_HTTP:
	case GIT_ERROR_SSL:
		return SSYNC_ENET;
	case GIT_ERROR_OS:
	case GIT_ERROR_FILESYSTEM:
		return SSYNC_EIO;
	case GIT_ERROR_ZLIB:
		return SSYNC_ECORRUPT;
	default:
		return fallback;
	}
}

/*
 * Record the libgit2 failure @p gcode as "<what>: <libgit2's reason>".
 * Returns the schoolsync code; unmapped failures get @p fallback.
 */
int ssync_exchange__gfail(ssync_error *err, int gcode, int fallback, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[384];
	va_list ap;
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	code = map_git_code(gcode, e ? e->klass : 0, fallback);
	ssync_error_set(err, code, "%s: %s", what,
		e && e->message ? e->message : "unknown libgit2 error");
	git_error_clear();
	return code;
}

/* ------------------------------------------------------------------ */
/* names and ids                                                       */

/* ------------------------------------------------------------------ */
/* open / free                                                         */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;

/* libgit2 is initialised once and never shut down (process lifetime). */
static void init_libgit2(void)
{
	if (git_libgit2_init() < 0 ||
	    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0)
		init_status = -1;
}

static int ensure_init(ssync_error *err)
{
	if (pthread_once(&init_once, init_libgit2) != 0 || init_status < 0)
		return ssync_error_set(err, SSYNC_ERROR, "libgit2 initialisation failed");
	return 0;
}

/*
 * Settings every repository we write to carries. Our own writes are fsync'd
 * by GIT_OPT_ENABLE_FSYNC_GITDIR (libgit2 1.5: loose objects, packs, refs);
 * core.fsync does the same for git itself (e.g. receive-pack on a hub);
 * core.fsyncObjectFiles is avoided, git warns on every command about it.
 * pack.deltaCacheSize=1 turns delta
 * search off in libgit2's packbuilder (which reads its big-file threshold
 * from that key) and pack.bigFileThreshold=1 does the same in libgit2
 * versions that read the right key and in git itself: segments do not
 * delta against each other and the search cost 4x the whole transfer.
 */
static int ensure_config(git_repository *repo, int hub, ssync_error *err)
{
	git_config *cfg = NULL;
	git_buf cur = { 0 };
	int error;
	int64_t v;

	if ((error = git_repository_config(&cfg, repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "open config of %s", git_repository_path(repo));
		goto done;
	}
	if ((git_config_get_string_buf(&cur, cfg, "core.fsync") < 0 ||
	     strcmp(cur.ptr, "objects,reference") != 0) &&
	    (error = git_config_set_string(cfg, "core.fsync", "objects,reference")) < 0)
		goto fail;
	if ((git_config_get_int64(&v, cfg, "pack.deltaCacheSize") < 0 || v != 1) &&
	    (error = git_config_set_int64(cfg, "pack.deltaCacheSize", 1)) < 0)
		goto fail;
	if ((git_config_get_int64(&v, cfg, "pack.bigFileThreshold") < 0 || v != 1) &&
	    (error = git_config_set_int64(cfg, "pack.bigFileThreshold", 1)) < 0)
		goto fail;
	/* a shared repo refuses rewrites from plain git pushes too */
	if (hub && (error = git_config_set_bool(cfg, "receive.denyNonFastForwards", 1)) < 0)
		goto fail;
	git_error_clear();
	error = 0;
	goto done;
fail:
	error = ssync_exchange__gfail(err, error, SSYNC_EIO, "write config of %s", git_repository_path(repo));
done:
	git_buf_dispose(&cur);
	git_config_free(cfg);
	return error;
}

int ssync_exchange__path_is_empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	(void)closedir(d); /* read-only: nothing to lose */
	return empty;
}

int ssync_exchange__init_bare(git_repository **out, const char *path, unsigned int flags,
	int hub, ssync_error *err)
{
	git_repository_init_options o;
	int error;

	if ((error = git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "create repository %s", path);
	o.flags = GIT_REPOSITORY_INIT_BARE | flags;
	if ((error = git_repository_init_ext(out, path, &o)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_EIO, "create repository %s", path);
	if ((error = ensure_config(*out, hub, err)) < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	return error;
}

/* Hand over @p ex with its repository open (or free it on @p error). */
static int opened(ssync_exchange **out, ssync_exchange *ex, int error, ssync_error *err)
{
	if (error == 0 && !(ex->gitdir = strdup(git_repository_path(ex->repo))))
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if (error < 0) {
		ssync_exchange_free(ex);
		return error;
	}
	*out = ex;
	return 0;
}

int ssync_exchange_open(ssync_exchange **out, const char *path, int create,
	ssync_error *err)
{
	ssync_exchange *ex = NULL;
	struct stat st;
	int error;

	if (!out)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_open: out is NULL");
	*out = NULL;
	if (!path || !path[0])
		return ssync_error_set(err, SSYNC_EINVAL, "exchange repository path is empty");
	if ((error = ensure_init(err)) < 0)
		return error;
	if (!(ex = calloc(1, sizeof(*ex))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");

	if (create && (stat(path, &st) < 0 ? errno == ENOENT : ssync_exchange__path_is_empty_dir(path))) {
		error = ssync_exchange__init_bare(&ex->repo, path, GIT_REPOSITORY_INIT_MKPATH, 0, err);
		if (error < 0)
			goto done;
	} else if ((error = git_repository_open_bare(&ex->repo, path)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "open exchange repository %s", path);
		if (error == SSYNC_ENOTFOUND)
			ssync_error_hint(err, "is %s a bare git repository?", path);
		goto done;
	} else if (ensure_config(ex->repo, 0, NULL) < 0) {
		/* a read-only copy (auditor) still works, just without our tuning */
		git_error_clear();
	}
	error = 0;
done:
	return opened(out, ex, error, err);
}

/* A receive hook's repository: git hands the hook GIT_DIR and, while a push
 * is quarantined, GIT_OBJECT_DIRECTORY + GIT_ALTERNATE_OBJECT_DIRECTORIES;
 * libgit2 honours them only with GIT_REPOSITORY_OPEN_FROM_ENV. */
int ssync_exchange_open_env(ssync_exchange **out, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if (!out)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_open_env: out is NULL");
	*out = NULL;
	if ((error = ensure_init(err)) < 0)
		return error;
	if (!(ex = calloc(1, sizeof(*ex))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if ((error = git_repository_open_ext(&ex->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "open the repository git runs this hook in");
		goto done;
	}
	error = 0;
done:
	return opened(out, ex, error, err);
}

const char *ssync_exchange_gitdir(const ssync_exchange *ex)
{
	return ex ? ex->gitdir : "";
}

void ssync_exchange_free(ssync_exchange *ex)
{
	if (!ex)
		return;
	git_repository_free(ex->repo);
	free(ex->gitdir);
	free(ex);
}

void ssync_exchange_set_local_fastpath(ssync_exchange *ex, int enabled)
{
	if (ex)
		ex->no_fastpath = !enabled;
}

/* ------------------------------------------------------------------ */
/* refs                                                                */

int ssync_exchange__make_signature(git_signature **out, ssync_error *err)
{
	int error = git_signature_now(out, SIG_NAME, SIG_EMAIL);

	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "create commit signature");
	return 0;
}

/* ------------------------------------------------------------------ */
/* commit_files                                                        */

/* ------------------------------------------------------------------ */
/* reading                                                             */

/* ------------------------------------------------------------------ */
/* remotes                                                             */
