/*
 * The git exchange repository (libgit2): segments committed on per-node
 * branches of a bare repository, and their transfer to and from remotes.
 *
 * Invariants:
 * - branches only gain files: commit_files refuses to change a path and
 *   added_files refuses to read a history that changed or removed one;
 * - a ref moves only after every object it reaches is stored (objects
 *   first, refs last), and by compare-and-swap or inside a transaction that
 *   holds every ref's lock, so a failure leaves the old refs in place.
 *
 * Workload: segments are distinct text files of tens of KB, thousands per
 * branch. Delta search finds almost nothing in them and dominated transfers
 * (17 s of 17.5 s for 100 MB here), so our repositories turn it off (see
 * ensure_config). A remote that is a local path (USB stick, hub directory)
 * skips libgit2's local transport: we open the other repository, list the
 * missing objects ourselves and store them as loose objects (small sets) or
 * as packs built on several threads straight into the destination.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <git2.h>

#include "schoolsync/exchange.h"

#define SIG_NAME "schoolsync"
#define SIG_EMAIL "node@schoolsync"
#define NODE_PREFIX "refs/heads/node/"
#define DISTRICT_REF "refs/heads/district"
#define HEADS_PREFIX "refs/heads/"
#define UNPACK_LIMIT 100        /* below: loose objects, like git's fetch.unpackLimit */
#ifndef MAX_PACK_THREADS
#define MAX_PACK_THREADS 4   /* compile-time knob for measurements */
#endif
#define MIN_OBJECTS_PER_THREAD 256

struct ssync_exchange {
	git_repository *repo;
	char *gitdir;       /* absolute, as libgit2 reports it */
	int no_fastpath;    /* 1: local-path remotes go through libgit2 */
};

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
static int gfail(ssync_error *err, int gcode, int fallback, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
static int gfail(ssync_error *err, int gcode, int fallback, const char *fmt, ...)
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
/* names and ids                                                       */

static int all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Parse @p h; *empty is set when it is "" (no commit). */
static int parse_oid(git_oid *out, int *empty, const ssync_oid_hex *h,
	const char *what, ssync_error *err)
{
	size_t len;

	memset(out, 0, sizeof(*out));
	*empty = 0;
	if (!h)
		return ssync_error_set(err, SSYNC_EINVAL, "%s: no commit id given", what);
	len = strnlen(h->hex, sizeof(h->hex));
	if (len == 0) {
		*empty = 1;
		return 0;
	}
	if (len != GIT_OID_HEXSZ || !all_hex(h->hex, len) ||
	    git_oid_fromstrn(out, h->hex, len) < 0) {
		git_error_clear();
		return ssync_error_set(err, SSYNC_EINVAL,
			"%s: '%.*s' is not a 40-digit hex commit id", what, (int)len, h->hex);
	}
	return 0;
}

static void oid_to_hex(ssync_oid_hex *out, const git_oid *id)
{
	if (!id || git_oid_is_zero(id))
		out->hex[0] = '\0';
	else
		git_oid_tostr(out->hex, sizeof(out->hex), id);
}

/* [a-z0-9][a-z0-9-]{0,62}, see SSYNC_NODE_ID_MAX */
static int node_id_valid(const char *s)
{
	size_t i;

	if (!s[0] || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];
		if (i >= SSYNC_NODE_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/* The refs that travel: refs/heads/node/<node-id> and refs/heads/district. */
static int sync_ref_valid(const char *name)
{
	if (!strcmp(name, DISTRICT_REF))
		return 1;
	return !strncmp(name, NODE_PREFIX, strlen(NODE_PREFIX)) &&
		node_id_valid(name + strlen(NODE_PREFIX));
}

static int ref_name_check(const char *name, const char *prefix, ssync_error *err)
{
	int valid = 0;

	if (!name || strncmp(name, prefix, strlen(prefix)) != 0 ||
	    git_reference_name_is_valid(&valid, name) < 0 || !valid) {
		git_error_clear();
		ssync_error_set(err, SSYNC_EINVAL, "'%s' is not a valid ref name under %s",
			name ? name : "(null)", prefix);
		return SSYNC_EINVAL;
	}
	return 0;
}

int ssync_exchange_remote_name_valid(const char *name)
{
	size_t i, len;

	if (!name)
		return 0;
	len = strlen(name);
	if (len == 0 || len > 63)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return 0;
		if (!alnum && c != '_' && c != '.' && c != '-')
			return 0;
	}
	/* ".." and a trailing ".lock" or "." would make invalid ref names */
	if (strstr(name, "..") || name[len - 1] == '.')
		return 0;
	if (len >= 5 && !strcmp(name + len - 5, ".lock"))
		return 0;
	return 1;
}

static int remote_name_check(const char *name, ssync_error *err)
{
	if (ssync_exchange_remote_name_valid(name))
		return 0;
	ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", name ? name : "(null)");
	ssync_error_hint(err, "use letters, digits, '_', '.' and '-' (at most 63), "
		"starting with a letter or digit");
	return SSYNC_EINVAL;
}

/* Segment paths: relative, '/'-separated, no empty/./../.git parts. */
static int tree_path_check(const char *path, ssync_error *err)
{
	const char *p, *part;
	size_t n;

	if (!path || !path[0] || strlen(path) > 4096)
		goto bad;
	for (p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f || c == '\\')
			goto bad;
	}
	part = path;
	for (;;) {
		p = strchr(part, '/');
		n = p ? (size_t)(p - part) : strlen(part);
		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.') ||
		    (n == 4 && !strncasecmp(part, ".git", 4)))
			goto bad;
		if (!p)
			break;
		part = p + 1;
	}
	return 0;
bad:
	ssync_error_set(err, SSYNC_EINVAL, "invalid tree path '%s'", path ? path : "(null)");
	ssync_error_hint(err, "paths are relative, '/'-separated, without empty, '.', "
		"'..' or '.git' parts");
	return SSYNC_EINVAL;
}

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
		error = gfail(err, error, SSYNC_ERROR, "open config of %s", git_repository_path(repo));
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
	error = gfail(err, error, SSYNC_EIO, "write config of %s", git_repository_path(repo));
done:
	git_buf_dispose(&cur);
	git_config_free(cfg);
	return error;
}

static int path_is_empty_dir(const char *path)
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

static int init_bare(git_repository **out, const char *path, unsigned int flags,
	int hub, ssync_error *err)
{
	git_repository_init_options o;
	int error;

	if ((error = git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION)) < 0)
		return gfail(err, error, SSYNC_ERROR, "create repository %s", path);
	o.flags = GIT_REPOSITORY_INIT_BARE | flags;
	if ((error = git_repository_init_ext(out, path, &o)) < 0)
		return gfail(err, error, SSYNC_EIO, "create repository %s", path);
	if ((error = ensure_config(*out, hub, err)) < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	return error;
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

	if (create && (stat(path, &st) < 0 ? errno == ENOENT : path_is_empty_dir(path))) {
		error = init_bare(&ex->repo, path, GIT_REPOSITORY_INIT_MKPATH, 0, err);
		if (error < 0)
			goto done;
	} else if ((error = git_repository_open_bare(&ex->repo, path)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "open exchange repository %s", path);
		if (error == SSYNC_ENOTFOUND)
			ssync_error_hint(err, "is %s a bare git repository?", path);
		goto done;
	} else if (ensure_config(ex->repo, 0, NULL) < 0) {
		/* a read-only copy (auditor) still works, just without our tuning */
		git_error_clear();
	}
	if (!(ex->gitdir = strdup(git_repository_path(ex->repo)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	*out = ex;
	ex = NULL;
	error = 0;
done:
	ssync_exchange_free(ex);
	return error;
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

static int make_signature(git_signature **out, ssync_error *err)
{
	int error = git_signature_now(out, SIG_NAME, SIG_EMAIL);

	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "create commit signature");
	return 0;
}

/* Read the commit @p name points at; *found = 0 if the ref is missing. */
static int read_tip(git_oid *out, int *found, git_repository *repo, const char *name,
	ssync_error *err)
{
	int error = git_reference_name_to_id(out, repo, name);

	*found = 0;
	if (error == GIT_ENOTFOUND) {
		git_error_clear();
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "read ref %s", name);
	*found = 1;
	return 0;
}

/*
 * Point @p name at @p id if it still points at @p expected (NULL: if it
 * does not exist yet).
 */
static int ref_cas(git_repository *repo, const char *name, const git_oid *id,
	const git_oid *expected, const char *msg, ssync_error *err)
{
	git_reference *ref = NULL;
	char want[GIT_OID_HEXSZ + 1];
	int error;

	if (expected)
		error = git_reference_create_matching(&ref, repo, name, id, 1, expected, msg);
	else
		error = git_reference_create(&ref, repo, name, id, 0, msg);
	git_reference_free(ref);
	if (error == GIT_EMODIFIED || error == GIT_EEXISTS ||
	    (expected && error == GIT_ENOTFOUND)) {
		git_error_clear();
		if (expected)
			git_oid_tostr(want, sizeof(want), expected);
		return ssync_error_set(err, SSYNC_ECONFLICT,
			"update %s: it moved meanwhile (expected %s)", name,
			expected ? want : "no ref");
	}
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "update %s", name);
	return 0;
}

int ssync_exchange_ref_tip(ssync_exchange *ex, const char *ref, ssync_oid_hex *out,
	ssync_error *err)
{
	git_oid id;
	int error, found;

	if (!ex || !out)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_ref_tip: NULL argument");
	out->hex[0] = '\0';
	if ((error = ref_name_check(ref, "refs/", err)) < 0)
		return error;
	if ((error = read_tip(&id, &found, ex->repo, ref, err)) < 0)
		return error;
	if (!found)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "ref %s does not exist", ref);
	oid_to_hex(out, &id);
	return 0;
}

int ssync_exchange_ref_update(ssync_exchange *ex, const char *ref,
	const ssync_oid_hex *oid, const ssync_oid_hex *expected,
	const char *log_message, ssync_error *err)
{
	git_commit *commit = NULL;
	git_oid id, old;
	int error, empty, old_empty;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_ref_update: NULL exchange");
	if ((error = ref_name_check(ref, "refs/", err)) < 0 ||
	    (error = parse_oid(&id, &empty, oid, "new ref target", err)) < 0 ||
	    (error = parse_oid(&old, &old_empty, expected, "expected ref target", err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_EINVAL,
			"update %s: empty target (use ssync_exchange_ref_delete)", ref);
	/* a ref never points at something we do not hold */
	if ((error = git_commit_lookup(&commit, ex->repo, &id)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "update %s: commit %s", ref, oid->hex);
		goto done;
	}
	error = ref_cas(ex->repo, ref, &id, old_empty ? NULL : &old,
		log_message ? log_message : "schoolsync: update", err);
done:
	git_commit_free(commit);
	return error;
}

int ssync_exchange_ref_delete(ssync_exchange *ex, const char *ref, ssync_error *err)
{
	int error;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_ref_delete: NULL exchange");
	if ((error = ref_name_check(ref, "refs/", err)) < 0)
		return error;
	error = git_reference_remove(ex->repo, ref);
	if (error == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "delete ref %s", ref);
	return 0;
}

/* A growable list of (ref name, commit id), sortable by name. */
typedef struct ref_entry {
	char *name;
	git_oid id;
} ref_entry;

typedef struct ref_list {
	ref_entry *v;
	size_t n, cap;
} ref_list;

static void ref_list_free(ref_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int ref_list_add(ref_list *l, const char *name, const git_oid *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		ref_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return -1;
	git_oid_cpy(&l->v[l->n].id, id);
	l->n++;
	return 0;
}

static int ref_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const ref_entry *)a)->name, ((const ref_entry *)b)->name);
}

static const ref_entry *ref_list_find(const ref_list *l, const char *name)
{
	ref_entry key;

	key.name = (char *)name;
	if (!l->n)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(*l->v), ref_entry_cmp);
}

/*
 * Collect refs of @p repo whose names start with @p prefix (and, with
 * @p sync_only, that are travelling refs), resolved, sorted by name.
 */
static int list_refs(ref_list *out, git_repository *repo, const char *prefix,
	int sync_only, ssync_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *res = NULL;
	size_t plen = strlen(prefix);
	int error;

	if ((error = git_reference_iterator_new(&it, repo)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "list refs of %s", git_repository_path(repo));
		goto done;
	}
	while ((error = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		if (strncmp(name, prefix, plen) == 0 && (!sync_only || sync_ref_valid(name))) {
			/* symbolic or dangling refs carry no segments: skip them */
			if (git_reference_resolve(&res, ref) == 0 && git_reference_target(res)) {
				if (ref_list_add(out, name, git_reference_target(res)) < 0) {
					error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
					goto done;
				}
			}
			git_error_clear();
			git_reference_free(res);
			res = NULL;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (error != GIT_ITEROVER) {
		error = gfail(err, error, SSYNC_ERROR, "list refs of %s", git_repository_path(repo));
		goto done;
	}
	git_error_clear();
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), ref_entry_cmp);
	error = 0;
done:
	git_reference_free(res);
	git_reference_free(ref);
	git_reference_iterator_free(it);
	return error;
}

int ssync_exchange_refs(ssync_exchange *ex, const char *prefix,
	ssync_exchange_ref_cb cb, void *payload, ssync_error *err)
{
	ref_list l = { 0 };
	ssync_oid_hex h;
	size_t i;
	int error;

	if (!ex || !cb)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_refs: NULL argument");
	if ((error = list_refs(&l, ex->repo, prefix ? prefix : "", 0, err)) < 0)
		goto done;
	for (i = 0; i < l.n; i++) {
		oid_to_hex(&h, &l.v[i].id);
		if ((error = cb(l.v[i].name, &h, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	ref_list_free(&l);
	return error;
}

int ssync_exchange_descends(ssync_exchange *ex, const ssync_oid_hex *descendant,
	const ssync_oid_hex *ancestor, ssync_error *err)
{
	git_odb *odb = NULL;
	const char *missing;
	git_oid d, a;
	int error, d_empty, a_empty;

	if (!ex)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_descends: NULL exchange");
	if ((error = parse_oid(&d, &d_empty, descendant, "descendant", err)) < 0 ||
	    (error = parse_oid(&a, &a_empty, ancestor, "ancestor", err)) < 0)
		return error;
	if (a_empty)
		return 1;
	if (d_empty)
		return 0;
	if (git_oid_equal(&d, &a))
		return 1;
	if ((error = git_repository_odb(&odb, ex->repo)) < 0)
		return gfail(err, error, SSYNC_ERROR, "compare commits");
	missing = !git_odb_exists(odb, &d) ? descendant->hex :
		!git_odb_exists(odb, &a) ? ancestor->hex : NULL;
	git_odb_free(odb);
	if (missing)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "commit %s is not in %s", missing,
			ex->gitdir);
	error = git_graph_descendant_of(ex->repo, &d, &a);
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "compare commits %s and %s",
			descendant->hex, ancestor->hex);
	return error ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* commit_files                                                        */

typedef struct new_file {
	const char *path;
	const void *data;
	size_t len;
	git_oid id;
	int skip;          /* already on the branch, or a duplicate in the call */
} new_file;

static int new_file_cmp(const void *a, const void *b)
{
	return strcmp(((const new_file *)a)->path, ((const new_file *)b)->path);
}

/* Check new files against each other: one content per path, no D/F clash. */
static int check_new_files(new_file *f, size_t n, ssync_error *err)
{
	char *prefix = NULL;
	size_t i;
	int error = 0;

	qsort(f, n, sizeof(*f), new_file_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(f[i - 1].path, f[i].path) != 0)
			continue;
		if (!git_oid_equal(&f[i - 1].id, &f[i].id)) {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"path %s given twice with different content", f[i].path);
			goto done;
		}
		f[i].skip = 1;
	}
	for (i = 0; i < n; i++) {
		const char *slash = f[i].path;
		new_file key;

		while ((slash = strchr(slash, '/')) != NULL) {
			free(prefix);
			if (!(prefix = strndup(f[i].path, (size_t)(slash - f[i].path)))) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			key.path = prefix;
			if (bsearch(&key, f, n, sizeof(*f), new_file_cmp)) {
				error = ssync_error_set(err, SSYNC_EEXISTS,
					"path %s is both a file and a directory", prefix);
				goto done;
			}
			slash++;
		}
	}
done:
	free(prefix);
	return error;
}

/* Compare one new file with the branch's current tree. */
static int check_against_tree(new_file *f, git_tree *tree, ssync_error *err)
{
	git_tree_entry *e = NULL;
	char *prefix = NULL;
	const char *slash;
	int error;

	error = git_tree_entry_bypath(&e, tree, f->path);
	if (error == 0) {
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
		    git_oid_equal(git_tree_entry_id(e), &f->id)) {
			f->skip = 1;
		} else {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"%s already exists with different content", f->path);
			ssync_error_hint(err, "branches are append-only: write a new segment path");
		}
		goto done;
	}
	if (error != GIT_ENOTFOUND) {
		error = gfail(err, error, SSYNC_ERROR, "look up %s", f->path);
		goto done;
	}
	git_error_clear();
	error = 0;
	/* a parent directory that is a file on the branch is a clash too */
	for (slash = f->path; (slash = strchr(slash, '/')) != NULL; slash++) {
		free(prefix);
		git_tree_entry_free(e);
		e = NULL;
		if (!(prefix = strndup(f->path, (size_t)(slash - f->path)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (git_tree_entry_bypath(&e, tree, prefix) < 0) {
			git_error_clear();
			break;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			error = ssync_error_set(err, SSYNC_EEXISTS,
				"%s: %s is a file on the branch", f->path, prefix);
			goto done;
		}
	}
done:
	free(prefix);
	git_tree_entry_free(e);
	return error;
}

int ssync_exchange_commit_files(ssync_exchange *ex, const char *ref, size_t nfiles,
	const char *const *paths, const void *const *datas, const size_t *lens,
	const char *message, ssync_oid_hex *new_tip, ssync_error *err)
{
	new_file *files = NULL;
	git_tree_update *ups = NULL;
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_oid tip, tree_id, commit_id, blob_id;
	size_t i, nups = 0;
	int error, found;

	if (new_tip)
		new_tip->hex[0] = '\0';
	if (!ex || (nfiles && (!paths || !datas || !lens)))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_commit_files: NULL argument");
	if ((error = ref_name_check(ref, HEADS_PREFIX, err)) < 0)
		return error;
	if (nfiles == 0)
		return ssync_error_set(err, SSYNC_EINVAL, "commit on %s: no files given", ref);
	if (!(files = calloc(nfiles, sizeof(*files))) || !(ups = calloc(nfiles, sizeof(*ups)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < nfiles; i++) {
		if ((error = tree_path_check(paths[i], err)) < 0)
			goto done;
		if (!datas[i] && lens[i]) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: NULL data", paths[i]);
			goto done;
		}
		files[i].path = paths[i];
		files[i].data = datas[i] ? datas[i] : "";
		files[i].len = lens[i];
		if ((error = git_odb_hash(&files[i].id, files[i].data, files[i].len,
				GIT_OBJECT_BLOB)) < 0) {
			error = gfail(err, error, SSYNC_ERROR, "hash %s", paths[i]);
			goto done;
		}
	}
	if ((error = check_new_files(files, nfiles, err)) < 0)
		goto done;

	if ((error = read_tip(&tip, &found, ex->repo, ref, err)) < 0)
		goto done;
	if (found) {
		if ((error = git_commit_lookup(&parent, ex->repo, &tip)) < 0 ||
		    (error = git_commit_tree(&base, parent)) < 0) {
			error = gfail(err, error, SSYNC_ECORRUPT, "read tip of %s", ref);
			goto done;
		}
		for (i = 0; i < nfiles; i++)
			if (!files[i].skip && (error = check_against_tree(&files[i], base, err)) < 0)
				goto done;
	}

	for (i = 0; i < nfiles; i++) {
		if (files[i].skip)
			continue;
		if ((error = git_blob_create_from_buffer(&blob_id, ex->repo, files[i].data,
				files[i].len)) < 0) {
			error = gfail(err, error, SSYNC_EIO, "store %s", files[i].path);
			goto done;
		}
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].filemode = GIT_FILEMODE_BLOB;
		ups[nups].path = files[i].path;
		git_oid_cpy(&ups[nups].id, &blob_id);
		nups++;
	}
	if (nups == 0) {
		/* everything is there already (a retried seal): nothing to commit */
		if (new_tip)
			oid_to_hex(new_tip, &tip);
		error = 0;
		goto done;
	}
	if ((error = git_tree_create_updated(&tree_id, ex->repo, base, nups, ups)) < 0 ||
	    (error = git_tree_lookup(&tree, ex->repo, &tree_id)) < 0) {
		error = gfail(err, error, SSYNC_EIO, "build tree for %s", ref);
		goto done;
	}
	if ((error = make_signature(&sig, err)) < 0)
		goto done;
	error = git_commit_create(&commit_id, ex->repo, NULL, sig, sig, NULL,
		message && message[0] ? message : "seal", tree, found ? 1 : 0,
		(const git_commit **)&parent);
	if (error < 0) {
		error = gfail(err, error, SSYNC_EIO, "commit on %s", ref);
		goto done;
	}
	if ((error = ref_cas(ex->repo, ref, &commit_id, found ? &tip : NULL,
			"schoolsync: commit", err)) < 0)
		goto done;
	if (new_tip)
		oid_to_hex(new_tip, &commit_id);
done:
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	free(ups);
	free(files);
	return error;
}

/* ------------------------------------------------------------------ */
/* reading                                                             */

static int commit_tree(git_tree **out, git_repository *repo, const git_oid *id,
	const char *hex, ssync_error *err)
{
	git_commit *c = NULL;
	int error;

	*out = NULL;
	if ((error = git_commit_lookup(&c, repo, id)) < 0 ||
	    (error = git_commit_tree(out, c)) < 0)
		error = gfail(err, error, SSYNC_ERROR, "read commit %s", hex);
	git_commit_free(c);
	return error;
}

int ssync_exchange_read_file(ssync_exchange *ex, const ssync_oid_hex *commit,
	const char *path, void **data_out, size_t *len_out, ssync_error *err)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	git_oid id;
	size_t len;
	int error, empty;

	if (data_out)
		*data_out = NULL;
	if (len_out)
		*len_out = 0;
	if (!ex || !data_out || !len_out)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_read_file: NULL argument");
	if ((error = parse_oid(&id, &empty, commit, "read file", err)) < 0 ||
	    (error = tree_path_check(path, err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "%s: no commit given", path);
	if ((error = commit_tree(&tree, ex->repo, &id, commit->hex, err)) < 0)
		goto done;
	if ((error = git_tree_entry_bypath(&e, tree, path)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "%s in commit %s", path, commit->hex);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "%s in commit %s is not a file",
			path, commit->hex);
		goto done;
	}
	if ((error = git_blob_lookup(&blob, ex->repo, git_tree_entry_id(e))) < 0) {
		error = gfail(err, error, SSYNC_ECORRUPT, "read %s in commit %s", path, commit->hex);
		goto done;
	}
	len = (size_t)git_blob_rawsize(blob);
	if (!(*data_out = malloc(len ? len : 1))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory reading %s", path);
		goto done;
	}
	memcpy(*data_out, git_blob_rawcontent(blob), len);
	*len_out = len;
	error = 0;
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return error;
}

typedef struct added_file {
	char *path;
	git_oid id;
} added_file;

typedef struct added_list {
	added_file *v;
	size_t n, cap;
} added_list;

static void added_list_free(added_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static char *join_path(const char *prefix, const char *name)
{
	size_t a = strlen(prefix), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	memcpy(p, prefix, a);
	if (a)
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

/* Add every blob under @p tree, in git tree order (= byte order of paths). */
static int collect_added(added_list *out, git_repository *repo, git_tree *old_tree,
	const git_tree *new_tree, const char *prefix, ssync_error *err);

static int add_entry(added_list *out, git_repository *repo, const git_tree_entry *e,
	const char *path, ssync_error *err)
{
	git_tree *sub = NULL;
	int error;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		if ((error = git_tree_lookup(&sub, repo, git_tree_entry_id(e))) < 0)
			return gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
		error = collect_added(out, repo, NULL, sub, path, err);
		git_tree_free(sub);
		return error;
	}
	if (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB &&
	    git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB_EXECUTABLE)
		return ssync_error_set(err, SSYNC_ECORRUPT,
			"%s is neither a file nor a directory (mode %o)", path,
			(unsigned)git_tree_entry_filemode(e));
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		added_file *v = realloc(out->v, cap * sizeof(*v));
		if (!v)
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		out->v = v;
		out->cap = cap;
	}
	if (!(out->v[out->n].path = strdup(path)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	git_oid_cpy(&out->v[out->n].id, git_tree_entry_id(e));
	out->n++;
	return 0;
}

/*
 * Walk @p new_tree against @p old_tree (may be NULL): entries only in the
 * new tree are added, entries whose content, type or mode changed or that
 * vanished are a rewrite.
 */
static int collect_added(added_list *out, git_repository *repo, git_tree *old_tree,
	const git_tree *new_tree, const char *prefix, ssync_error *err)
{
	git_tree *os = NULL, *ns = NULL;
	char *path = NULL;
	size_t i;
	int error = 0;

	if (old_tree) {
		for (i = 0; i < git_tree_entrycount(old_tree); i++) {
			const git_tree_entry *oe = git_tree_entry_byindex(old_tree, i);
			if (!git_tree_entry_byname(new_tree, git_tree_entry_name(oe))) {
				path = join_path(prefix, git_tree_entry_name(oe));
				error = ssync_error_set(err, SSYNC_EREWRITE,
					"history rewritten: %s was removed",
					path ? path : git_tree_entry_name(oe));
				goto done;
			}
		}
	}
	for (i = 0; i < git_tree_entrycount(new_tree); i++) {
		const git_tree_entry *ne = git_tree_entry_byindex(new_tree, i);
		const git_tree_entry *oe = old_tree ?
			git_tree_entry_byname(old_tree, git_tree_entry_name(ne)) : NULL;

		free(path);
		if (!(path = join_path(prefix, git_tree_entry_name(ne)))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (!oe) {
			if ((error = add_entry(out, repo, ne, path, err)) < 0)
				goto done;
			continue;
		}
		if (git_oid_equal(git_tree_entry_id(oe), git_tree_entry_id(ne)) &&
		    git_tree_entry_filemode_raw(oe) == git_tree_entry_filemode_raw(ne))
			continue;
		if (git_tree_entry_type(oe) != GIT_OBJECT_TREE ||
		    git_tree_entry_type(ne) != GIT_OBJECT_TREE) {
			error = ssync_error_set(err, SSYNC_EREWRITE,
				"history rewritten: %s was changed", path);
			goto done;
		}
		if ((error = git_tree_lookup(&os, repo, git_tree_entry_id(oe))) < 0 ||
		    (error = git_tree_lookup(&ns, repo, git_tree_entry_id(ne))) < 0) {
			error = gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
			goto done;
		}
		if ((error = collect_added(out, repo, os, ns, path, err)) < 0)
			goto done;
		git_tree_free(os);
		git_tree_free(ns);
		os = ns = NULL;
	}
done:
	free(path);
	git_tree_free(os);
	git_tree_free(ns);
	return error;
}

int ssync_exchange_added_files(ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, ssync_exchange_file_cb cb, void *payload,
	ssync_error *err)
{
	added_list l = { 0 };
	git_tree *old_tree = NULL, *new_tree = NULL;
	git_blob *blob = NULL;
	git_oid from_id, to_id;
	size_t i;
	int error, from_empty, to_empty;

	if (!ex || !cb)
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_added_files: NULL argument");
	if ((error = parse_oid(&from_id, &from_empty, from, "added files: from", err)) < 0 ||
	    (error = parse_oid(&to_id, &to_empty, to, "added files: to", err)) < 0)
		return error;
	if (to_empty)
		return ssync_error_set(err, SSYNC_EINVAL, "added files: no 'to' commit given");
	if ((!from_empty &&
	     (error = commit_tree(&old_tree, ex->repo, &from_id, from->hex, err)) < 0) ||
	    (error = commit_tree(&new_tree, ex->repo, &to_id, to->hex, err)) < 0)
		goto done;
	/* the whole difference is checked before the first callback */
	if ((error = collect_added(&l, ex->repo, old_tree, new_tree, "", err)) < 0)
		goto done;
	for (i = 0; i < l.n; i++) {
		if ((error = git_blob_lookup(&blob, ex->repo, &l.v[i].id)) < 0) {
			error = gfail(err, error, SSYNC_ECORRUPT, "read %s of commit %s",
				l.v[i].path, to->hex);
			goto done;
		}
		error = cb(l.v[i].path, git_blob_rawcontent(blob),
			(size_t)git_blob_rawsize(blob), payload);
		git_blob_free(blob);
		blob = NULL;
		if (error != 0)
			goto done;
	}
	error = 0;
done:
	git_tree_free(old_tree);
	git_tree_free(new_tree);
	added_list_free(&l);
	return error;
}

/* ------------------------------------------------------------------ */
/* remotes                                                             */

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
	if ((error = remote_name_check(name, err)) < 0 || (error = url_check(url, err)) < 0)
		return error;
	snprintf(spec, sizeof(spec), "+" NODE_PREFIX "*:refs/remotes/%s/node/*", name);
	error = git_remote_create_with_fetchspec(&r, ex->repo, name, url, spec);
	if (error == GIT_EEXISTS) {
		git_error_clear();
		return ssync_error_set(err, SSYNC_EEXISTS, "remote %s exists already", name);
	}
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "add remote %s", name);
	created = 1;
	snprintf(spec, sizeof(spec), "+" DISTRICT_REF ":refs/remotes/%s/district", name);
	if ((error = git_remote_add_fetch(ex->repo, name, spec)) < 0 ||
	    (error = git_remote_set_autotag(ex->repo, name, GIT_REMOTE_DOWNLOAD_TAGS_NONE)) < 0 ||
	    (error = git_repository_config(&cfg, ex->repo)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "configure remote %s", name);
		goto done;
	}
	/* so that a plain `git fetch` in this repository mirrors like we do */
	snprintf(key, sizeof(key), "remote.%s.prune", name);
	if ((error = git_config_set_bool(cfg, key, 1)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "configure remote %s", name);
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
	if ((error = remote_name_check(name, err)) < 0)
		return error;
	if ((error = git_remote_lookup(&r, ex->repo, name)) < 0) {
		if (error == GIT_ENOTFOUND) {
			git_error_clear();
			return ssync_error_set(err, SSYNC_ENOTFOUND, "no remote named %s", name);
		}
		return gfail(err, error, SSYNC_ERROR, "remove remote %s", name);
	}
	git_remote_free(r);
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/", name);
	if ((error = list_refs(&tracking, ex->repo, prefix, 0, err)) < 0)
		goto done;
	for (i = 0; i < tracking.n; i++) {
		if ((error = git_reference_remove(ex->repo, tracking.v[i].name)) < 0 &&
		    error != GIT_ENOTFOUND) {
			error = gfail(err, error, SSYNC_ERROR, "remove remote %s: delete %s", name,
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
		error = gfail(err, error, SSYNC_ERROR, "remove remote %s", name);
		goto done;
	}
	error = 0;
done:
	git_error_clear();
	git_config_free(cfg);
	ref_list_free(&tracking);
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
		return gfail(err, error, SSYNC_ERROR, "list remotes");
	if (names.count)
		qsort(names.strings, names.count, sizeof(char *), str_cmp);
	for (i = 0; i < names.count; i++) {
		if ((error = git_remote_lookup(&r, ex->repo, names.strings[i])) < 0) {
			error = gfail(err, error, SSYNC_ERROR, "read remote %s", names.strings[i]);
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

/* ------------------------------------------------------------------ */
/* transfer context                                                    */

typedef struct xfer {
	const char *remote;            /* remote name, for messages */
	const ssync_transfer_opts *opts;
	ssync_transfer_progress prog;
	int cancelled;                 /* the user's callback asked to stop */
	int ssh_tries, pass_tries;
	int auth_failed;

	/* pack writers on other threads report here */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int threaded;
	int ready;                     /* mu and cv are initialised */
} xfer;

/* A default mutex fails only on misuse (EDEADLK/EPERM), never at random. */
static void xlock(xfer *x)
{
	(void)pthread_mutex_lock(&x->mu);
}

static void xunlock(xfer *x)
{
	(void)pthread_mutex_unlock(&x->mu);
}

/* Non-zero if the user's callback asks to stop. */
static int user_progress(xfer *x)
{
	return x->opts && x->opts->progress && x->opts->progress(&x->prog, x->opts->payload);
}

/* Report progress from the calling thread; -1 once cancelled. */
static int report(xfer *x)
{
	if (x->cancelled)
		return -1;
	if (user_progress(x)) {
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
static int xfail(xfer *x, ssync_error *err, int gcode, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
static int xfail(xfer *x, ssync_error *err, int gcode, const char *fmt, ...)
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
/* object enumeration (local fast path)                                */

/* A set of object ids: open addressing, ids are uniformly random. */
typedef struct oidset {
	git_oid *slot;
	unsigned char *used;
	size_t cap, n;
} oidset;

static void oidset_free(oidset *s)
{
	free(s->slot);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

static size_t oid_hash(const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

static int oidset_grow(oidset *s)
{
	oidset t = { 0 };
	size_t i, j;

	t.cap = s->cap ? s->cap * 2 : 1024;
	t.slot = malloc(t.cap * sizeof(*t.slot));
	t.used = calloc(t.cap, 1);
	if (!t.slot || !t.used) {
		oidset_free(&t);
		return -1;
	}
	for (i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		for (j = oid_hash(&s->slot[i]) & (t.cap - 1); t.used[j]; j = (j + 1) & (t.cap - 1))
			;
		git_oid_cpy(&t.slot[j], &s->slot[i]);
		t.used[j] = 1;
	}
	t.n = s->n;
	oidset_free(s);
	*s = t;
	return 0;
}

/* 1 if @p id was added, 0 if it was there, -1 out of memory. */
static int oidset_add(oidset *s, const git_oid *id)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap && oidset_grow(s) < 0)
		return -1;
	for (j = oid_hash(id) & (s->cap - 1); s->used[j]; j = (j + 1) & (s->cap - 1))
		if (git_oid_equal(&s->slot[j], id))
			return 0;
	git_oid_cpy(&s->slot[j], id);
	s->used[j] = 1;
	s->n++;
	return 1;
}

typedef struct oidlist {
	git_oid *v;
	size_t n, cap;
} oidlist;

static int oidlist_add(oidlist *l, const git_oid *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		git_oid *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	git_oid_cpy(&l->v[l->n++], id);
	return 0;
}

/* Everything under a tree the destination's refs reach is there already. */
static int mark_tree(git_repository *view, const git_oid *id, oidset *seen)
{
	git_tree *tree = NULL;
	size_t i;
	int error;

	if ((error = oidset_add(seen, id)) <= 0)
		return error;
	if ((error = git_tree_lookup(&tree, view, id)) < 0)
		return error;
	for (i = 0; i < git_tree_entrycount(tree) && error >= 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			error = mark_tree(view, git_tree_entry_id(e), seen);
		else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			error = oidset_add(seen, git_tree_entry_id(e));
	}
	git_tree_free(tree);
	return error < 0 ? error : 0;
}

/*
 * List what of @p id the destination lacks, children before parents, so a
 * stored tree never lacks its entries even if the copy breaks off.
 */
static int collect_tree(git_repository *view, git_odb *dst, const git_oid *id,
	oidset *seen, oidlist *out)
{
	git_tree *tree = NULL;
	size_t i;
	int error;

	if ((error = oidset_add(seen, id)) <= 0)
		return error;
	if ((error = git_tree_lookup(&tree, view, id)) < 0)
		return error;
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const git_oid *eid = git_tree_entry_id(e);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			if ((error = collect_tree(view, dst, eid, seen, out)) < 0)
				goto done;
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			if ((error = oidset_add(seen, eid)) < 0)
				goto done;
			if (error == 1 && !git_odb_exists(dst, eid) && (error = oidlist_add(out, eid)) < 0)
				goto done;
		}
	}
	error = 0;
	if (!git_odb_exists(dst, id))
		error = oidlist_add(out, id);
done:
	git_tree_free(tree);
	return error;
}

static int is_commit(git_odb *odb, const git_oid *id)
{
	git_object_t type;
	size_t len;

	if (git_odb_read_header(&len, &type, odb, id) < 0) {
		git_error_clear();
		return 0;
	}
	return type == GIT_OBJECT_COMMIT;
}

/*
 * The objects reachable from @p wants and not from @p haves, minus those
 * @p dst holds already, oldest commit first. @p view sees both sides.
 */
static int enumerate(oidlist *out, git_repository *view, git_odb *dst,
	const git_oid *wants, size_t nwants, const git_oid *haves, size_t nhaves)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	git_odb *vodb = NULL;
	oidset seen = { 0 };
	git_oid id;
	size_t i;
	int error;

	if ((error = git_repository_odb(&vodb, view)) < 0 ||
	    (error = git_revwalk_new(&walk, view)) < 0 ||
	    (error = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0)
		goto done;
	for (i = 0; i < nhaves; i++) {
		if (!is_commit(vodb, &haves[i]))
			continue;
		if ((error = git_revwalk_hide(walk, &haves[i])) < 0 ||
		    (error = git_commit_lookup(&c, view, &haves[i])) < 0 ||
		    (error = mark_tree(view, git_commit_tree_id(c), &seen)) < 0)
			goto done;
		git_commit_free(c);
		c = NULL;
	}
	for (i = 0; i < nwants; i++)
		if ((error = git_revwalk_push(walk, &wants[i])) < 0)
			goto done;
	while ((error = git_revwalk_next(&id, walk)) == 0) {
		if ((error = git_commit_lookup(&c, view, &id)) < 0 ||
		    (error = collect_tree(view, dst, git_commit_tree_id(c), &seen, out)) < 0)
			goto done;
		git_commit_free(c);
		c = NULL;
		if (!git_odb_exists(dst, &id) && (error = oidlist_add(out, &id)) < 0)
			goto done;
	}
	if (error == GIT_ITEROVER)
		error = 0;
done:
	if (error == -1 && !git_error_last())
		git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory listing objects");
	git_commit_free(c);
	git_revwalk_free(walk);
	git_odb_free(vodb);
	oidset_free(&seen);
	return error;
}

/*
 * Open our own repository once more and let it also see @p other_objects:
 * the revwalk, the fast-forward checks and the packbuilder then work across
 * both sides, and the packbuilder reads our config (no delta search).
 */
static int open_view(git_repository **out, const char *our_gitdir, const char *other_objects)
{
	git_odb *odb = NULL;
	int error;

	if ((error = git_repository_open_bare(out, our_gitdir)) < 0)
		return error;
	if ((error = git_repository_odb(&odb, *out)) < 0 ||
	    (error = git_odb_add_disk_alternate(odb, other_objects)) < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	git_odb_free(odb);
	return error;
}

static int objects_dir(char **out, git_repository *repo)
{
	git_buf b = { 0 };
	int error;

	*out = NULL;
	if ((error = git_repository_item_path(&b, repo, GIT_REPOSITORY_ITEM_OBJECTS)) < 0)
		return error;
	*out = strdup(b.ptr);
	git_buf_dispose(&b);
	if (!*out) {
		git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
		return -1;
	}
	return 0;
}

/* One pack, written by one thread from its own repository handle. */
typedef struct pack_job {
	xfer *x;
	const char *our_gitdir, *other_objects, *pack_dir;
	const git_oid *ids;
	size_t n;
	git_indexer_progress st;
	int error, done;
	char msg[256];
	pthread_t thread;
} pack_job;

static void job_sum(xfer *x, pack_job *jobs, size_t njobs)
{
	size_t i;

	x->prog.received_objects = x->prog.indexed_objects = x->prog.received_bytes = 0;
	for (i = 0; i < njobs; i++) {
		x->prog.received_objects += jobs[i].st.received_objects;
		x->prog.indexed_objects += jobs[i].st.indexed_objects;
		x->prog.received_bytes += jobs[i].st.received_bytes;
	}
}

static int job_progress(const git_indexer_progress *st, void *payload)
{
	pack_job *j = payload;
	int stop;

	if (!j->x->threaded) {
		j->st = *st;
		job_sum(j->x, j, 1);
		return report(j->x);
	}
	xlock(j->x);
	j->st = *st;
	stop = j->x->cancelled;
	xunlock(j->x);
	return stop ? -1 : 0;
}

static int write_pack(pack_job *j)
{
	git_repository *view = NULL;
	git_packbuilder *pb = NULL;
	const git_error *e;
	size_t i;
	int error;

	if ((error = open_view(&view, j->our_gitdir, j->other_objects)) < 0 ||
	    (error = git_packbuilder_new(&pb, view)) < 0)
		goto done;
	git_packbuilder_set_threads(pb, 1);
	for (i = 0; i < j->n; i++)
		if ((error = git_packbuilder_insert(pb, &j->ids[i], NULL)) < 0)
			goto done;
	error = git_packbuilder_write(pb, j->pack_dir, 0, job_progress, j);
done:
	if (error < 0 && (e = git_error_last()) != NULL)
		snprintf(j->msg, sizeof(j->msg), "%s", e->message);
	git_error_clear();
	git_packbuilder_free(pb);
	git_repository_free(view);
	return error;
}

static void *pack_thread(void *arg)
{
	pack_job *j = arg;
	int error = write_pack(j);

	xlock(j->x);
	j->error = error;
	j->done = 1;
	(void)pthread_cond_signal(&j->x->cv); /* cannot fail on a valid cond */
	xunlock(j->x);
	return NULL;
}

static size_t pack_threads(size_t nobjects)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus : 1;

	if (!(git_libgit2_features() & GIT_FEATURE_THREADS))
		return 1;
	if (n > MAX_PACK_THREADS)
		n = MAX_PACK_THREADS;
	if (n > nobjects / MIN_OBJECTS_PER_THREAD)
		n = nobjects / MIN_OBJECTS_PER_THREAD;
	return n ? n : 1;
}

/*
 * Pack @p objs into @p pack_dir. zlib compression of the pack is single
 * threaded in libgit2, so large sets are cut into one pack per core; the
 * calling thread only reports progress, so the user's callback always runs
 * on it.
 */
static int write_packs(xfer *x, const char *our_gitdir, const char *other_objects,
	const char *pack_dir, const oidlist *objs, const char *what, ssync_error *err)
{
	pack_job *jobs = NULL;
	size_t i, njobs = pack_threads(objs->n), started = 0, ndone;
	struct timespec ts;
	int error = 0;

	if (!(jobs = calloc(njobs, sizeof(*jobs))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	for (i = 0; i < njobs; i++) {
		jobs[i].x = x;
		jobs[i].our_gitdir = our_gitdir;
		jobs[i].other_objects = other_objects;
		jobs[i].pack_dir = pack_dir;
		jobs[i].ids = objs->v + objs->n * i / njobs;
		jobs[i].n = objs->n * (i + 1) / njobs - objs->n * i / njobs;
	}
	if (njobs == 1) {
		x->threaded = 0;
		jobs[0].error = write_pack(&jobs[0]);
		goto collect;
	}
	x->threaded = 1;
	for (i = 0; i < njobs; i++) {
		if (pthread_create(&jobs[i].thread, NULL, pack_thread, &jobs[i]) != 0) {
			/* run what could not get a thread here, after the others */
			break;
		}
		started++;
	}
	for (;;) {
		xlock(x);
		for (ndone = 0, i = 0; i < started; i++)
			ndone += jobs[i].done;
		if (ndone < started) {
			(void)clock_gettime(CLOCK_REALTIME, &ts); /* valid clock: cannot fail */
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			/* a timeout just means: report progress and look again */
			(void)pthread_cond_timedwait(&x->cv, &x->mu, &ts);
			for (ndone = 0, i = 0; i < started; i++)
				ndone += jobs[i].done;
		}
		job_sum(x, jobs, njobs);
		xunlock(x);
		/* the last report comes after every writer is done */
		if (!x->cancelled && user_progress(x)) {
			xlock(x);
			x->cancelled = 1;
			xunlock(x);
		}
		if (ndone == started)
			break;
	}
	for (i = 0; i < started; i++)
		if (pthread_join(jobs[i].thread, NULL) != 0)
			jobs[i].error = -1;
	x->threaded = 0;
	for (i = started; i < njobs && !x->cancelled; i++)
		jobs[i].error = write_pack(&jobs[i]);
collect:
	if (x->cancelled) {
		error = ssync_error_set(err, SSYNC_ECANCELLED, "%s: cancelled", what);
		goto done;
	}
	for (i = 0; i < njobs; i++) {
		if (jobs[i].error >= 0)
			continue;
		if (jobs[i].msg[0])
			git_error_set_str(GIT_ERROR_NET, jobs[i].msg);
		error = xfail(x, err, jobs[i].error, "%s: write pack into %s", what, pack_dir);
		break;
	}
done:
	free(jobs);
	return error;
}

/* Copy a few objects one by one (a pack per sync round would pile up). */
static int copy_loose(xfer *x, git_repository *view, git_odb *dst, const oidlist *objs,
	const char *what, ssync_error *err)
{
	git_odb *src = NULL;
	git_odb_object *o = NULL;
	git_oid id;
	size_t i;
	int error;

	if ((error = git_repository_odb(&src, view)) < 0) {
		error = xfail(x, err, error, "%s: open objects", what);
		goto done;
	}
	for (i = 0; i < objs->n; i++) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), &objs->v[i]);
		if ((error = git_odb_read(&o, src, &objs->v[i])) < 0) {
			error = xfail(x, err, error, "%s: read object %s", what, hex);
			goto done;
		}
		error = git_odb_write(&id, dst, git_odb_object_data(o), git_odb_object_size(o),
			git_odb_object_type(o));
		if (error < 0) {
			error = xfail(x, err, error, "%s: store object %s", what, hex);
			goto done;
		}
		if (!git_oid_equal(&id, &objs->v[i])) {
			error = ssync_error_set(err, SSYNC_ECORRUPT, "%s: object %s is damaged",
				what, hex);
			goto done;
		}
		x->prog.received_objects++;
		x->prog.indexed_objects++;
		x->prog.received_bytes += git_odb_object_size(o);
		git_odb_object_free(o);
		o = NULL;
		if (report(x)) {
			error = ssync_error_set(err, SSYNC_ECANCELLED, "%s: cancelled", what);
			goto done;
		}
	}
	error = 0;
done:
	git_odb_object_free(o);
	git_odb_free(src);
	return error;
}

/*
 * Move what @p dst lacks of @p wants (given @p dst holds @p haves) from
 * the side @p view can see into @p dst_repo. @p view is our repository
 * plus @p other_objects.
 */
static int transfer(xfer *x, git_repository *view, const char *our_gitdir,
	const char *other_objects, git_repository *dst_repo,
	const git_oid *wants, size_t nwants, const git_oid *haves, size_t nhaves,
	const char *what, ssync_error *err)
{
	git_odb *dst = NULL;
	oidlist objs = { 0 }, need = { 0 };
	char *pack_dir = NULL, *dst_objects = NULL;
	size_t i;
	int error;

	if ((error = git_repository_odb(&dst, dst_repo)) < 0) {
		error = xfail(x, err, error, "%s: open objects", what);
		goto done;
	}
	for (i = 0; i < nwants; i++)
		if (!git_odb_exists(dst, &wants[i]) && oidlist_add(&need, &wants[i]) < 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
	if (need.n == 0) {
		error = 0;
		goto done;
	}
	if ((error = enumerate(&objs, view, dst, need.v, need.n, haves, nhaves)) < 0) {
		error = xfail(x, err, error, "%s: list missing objects", what);
		goto done;
	}
	x->prog.total_objects = objs.n;
	if (objs.n < UNPACK_LIMIT) {
		error = copy_loose(x, view, dst, &objs, what, err);
	} else {
		if ((error = objects_dir(&dst_objects, dst_repo)) < 0) {
			error = xfail(x, err, error, "%s: locate objects", what);
			goto done;
		}
		if (!(pack_dir = join_path(dst_objects, "pack"))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		error = write_packs(x, our_gitdir, other_objects, pack_dir, &objs, what, err);
	}
	if (error < 0)
		goto done;
	if ((error = git_odb_refresh(dst)) < 0) {
		error = xfail(x, err, error, "%s: reload objects", what);
		goto done;
	}
	error = 0;
done:
	free(pack_dir);
	free(dst_objects);
	free(objs.v);
	free(need.v);
	git_odb_free(dst);
	return error;
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
	if ((error = list_refs(&cur, ex->repo, prefix, 0, err)) < 0 ||
	    (error = make_signature(&sig, err)) < 0)
		goto done;
	if ((error = git_repository_odb(&odb, ex->repo)) < 0 ||
	    (error = git_transaction_new(&tx, ex->repo)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "update refs of remote %s", remote);
		goto done;
	}
	for (i = 0; i < heads->n; i++) {
		const ref_entry *c;

		free(name);
		if (!(name = tracking_name(remote, heads->v[i].name))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if ((c = ref_list_find(&cur, name)) && git_oid_equal(&c->id, &heads->v[i].id))
			continue;
		if (!git_odb_exists(odb, &heads->v[i].id)) {
			error = ssync_error_set(err, SSYNC_ECORRUPT,
				"remote %s: objects of %s did not arrive", remote, heads->v[i].name);
			goto done;
		}
		if ((error = git_transaction_lock_ref(tx, name)) < 0 ||
		    (error = git_transaction_set_target(tx, name, &heads->v[i].id, sig,
				"schoolsync: fetch")) < 0) {
			error = gfail(err, error, SSYNC_ERROR, "update %s", name);
			goto done;
		}
		changes++;
	}
	/* prune: our tracking refs for branches the remote no longer has */
	for (i = 0; prune && i < cur.n; i++) {
		char head[512];
		ref_entry key;

		snprintf(head, sizeof(head), HEADS_PREFIX "%s", cur.v[i].name + strlen(prefix));
		if (!sync_ref_valid(head))
			continue; /* not ours to manage */
		key.name = head;
		if (heads->n && bsearch(&key, heads->v, heads->n, sizeof(*heads->v), ref_entry_cmp))
			continue;
		if ((error = git_transaction_lock_ref(tx, cur.v[i].name)) < 0 ||
		    (error = git_transaction_remove(tx, cur.v[i].name)) < 0) {
			error = gfail(err, error, SSYNC_ERROR, "prune %s", cur.v[i].name);
			goto done;
		}
		changes++;
	}
	if (changes && (error = git_transaction_commit(tx)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "update refs of remote %s", remote);
		goto done;
	}
	error = 0;
done:
	free(name);
	git_transaction_free(tx);
	git_odb_free(odb);
	git_signature_free(sig);
	ref_list_free(&cur);
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
	if ((error = list_refs(heads, src, HEADS_PREFIX, 1, err)) < 0) {
		error = remote_broke(err);
		goto done;
	}
	if ((error = list_refs(&mine, ex->repo, "refs/", 0, err)) < 0)
		goto done;
	if (ref_list_ids(&wants, heads) < 0 || ref_list_ids(&haves, &mine) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if ((error = objects_dir(&src_objects, src)) < 0 ||
	    (error = open_view(&view, ex->gitdir, src_objects)) < 0) {
		error = xfail(x, err, error, "%s", what);
		goto done;
	}
	error = transfer(x, view, ex->gitdir, src_objects, ex->repo, wants, heads->n,
		haves, mine.n, what, err);
done:
	free(wants);
	free(haves);
	free(src_objects);
	ref_list_free(&mine);
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
	return report(x);
}

static int push_progress_cb(unsigned int current, unsigned int total, size_t bytes,
	void *payload)
{
	xfer *x = payload;

	x->prog.total_objects = total;
	x->prog.pushed_objects = current;
	x->prog.pushed_bytes = bytes;
	return report(x);
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
		return xfail(x, err, error, "%s: connect", what);
	proxy.type = GIT_PROXY_AUTO;
	if ((error = git_remote_connect(r, dir, &cbs, &proxy, NULL)) < 0)
		return xfail(x, err, error, "%s: connect", what);
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
		error = xfail(x, err, error, "%s: list refs", what);
		goto done;
	}
	for (i = 0; i < n; i++)
		if (sync_ref_valid(rh[i]->name) && ref_list_add(heads, rh[i]->name, &rh[i]->oid) < 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
	if (heads->n)
		qsort(heads->v, heads->n, sizeof(*heads->v), ref_entry_cmp);
	if ((error = git_repository_odb(&odb, ex->repo)) < 0) {
		error = gfail(err, error, SSYNC_ERROR, "%s: open objects", what);
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
			error = gfail(err, error, SSYNC_ERROR, "%s", what);
			goto done;
		}
		net_callbacks(&fo.callbacks, x);
		fo.prune = GIT_FETCH_NO_PRUNE;
		fo.update_fetchhead = 0;
		fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
		fo.proxy_opts.type = GIT_PROXY_AUTO;
		if ((error = git_remote_download(r, &specs, &fo)) < 0) {
			error = xfail(x, err, error, "%s: download", what);
			goto done;
		}
		if ((error = git_odb_refresh(odb)) < 0) {
			error = gfail(err, error, SSYNC_ERROR, "%s: reload objects", what);
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
	if ((error = remote_name_check(name, err)) < 0)
		return error;
	error = git_remote_lookup(out, ex->repo, name);
	if (error == GIT_ENOTFOUND || error == GIT_EINVALIDSPEC) {
		git_error_clear();
		ssync_error_set(err, SSYNC_ENOTFOUND, "no remote named %s", name);
		ssync_error_hint(err, "add it first (ssync_exchange_remote_add)");
		return SSYNC_ENOTFOUND;
	}
	if (error < 0)
		return gfail(err, error, SSYNC_ERROR, "read remote %s", name);
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
	ref_list_free(&heads);
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
			error = gfail(err, error, SSYNC_ERROR, "update %s", name);
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
	error = init_bare(&repo, path, GIT_REPOSITORY_INIT_MKDIR, 1, err);
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
	if ((stat(path, &st) < 0 && errno == ENOENT) || path_is_empty_dir(path)) {
		if ((error = create_local_remote(x, path, err)) < 0)
			goto done;
	}
	if ((error = open_local_remote(&dst, x, path, err)) < 0)
		goto done;
	if ((error = list_refs(&theirs, dst, HEADS_PREFIX, 0, err)) < 0) {
		error = remote_broke(err);
		goto done;
	}
	if ((error = objects_dir(&dst_objects, dst)) < 0 ||
	    (error = open_view(&view, ex->gitdir, dst_objects)) < 0) {
		error = xfail(x, err, error, "%s", what);
		goto done;
	}
	if (!(wants = malloc(n * sizeof(*wants))) || ref_list_ids(&haves, &theirs) < 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		const ref_entry *t = ref_list_find(&theirs, refs[i].name);

		if ((refs[i].remote_found = t != NULL))
			git_oid_cpy(&refs[i].remote, &t->id);
		if ((error = classify(&refs[i], view)) < 0) {
			error = xfail(x, err, error, "%s: compare %s", what, refs[i].name);
			goto done;
		}
		if (push_wanted(&refs[i]))
			git_oid_cpy(&wants[nwants++], &refs[i].local);
	}
	if (nwants == 0) {
		error = 0;
		goto done;
	}
	if ((error = transfer(x, view, ex->gitdir, dst_objects, dst, wants, nwants,
			haves, theirs.n, what, err)) < 0)
		goto done;
	if ((error = make_signature(&sig, err)) < 0)
		goto done;
	if ((error = git_transaction_new(&tx, dst)) < 0) {
		error = xfail(x, err, error, "%s: update refs", what);
		goto done;
	}
	for (i = 0; i < n; i++) {
		git_oid now;
		int found;

		if (!push_wanted(&refs[i]))
			continue;
		if ((error = git_transaction_lock_ref(tx, refs[i].name)) < 0) {
			error = gfail(err, error, SSYNC_ENET, "%s: lock %s", what, refs[i].name);
			goto done;
		}
		/* compare-and-swap: nobody may have moved it since we looked */
		if ((error = read_tip(&now, &found, dst, refs[i].name, err)) < 0)
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
			error = gfail(err, error, SSYNC_ENET, "%s: update %s", what, refs[i].name);
			goto done;
		}
	}
	if ((error = git_transaction_commit(tx)) < 0) {
		error = gfail(err, error, SSYNC_ENET, "%s: update refs", what);
		goto done;
	}
	error = 0;
done:
	git_transaction_free(tx);
	git_signature_free(sig);
	free(wants);
	free(haves);
	free(dst_objects);
	ref_list_free(&theirs);
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
		error = xfail(x, err, error, "%s: list refs", what);
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
			error = gfail(err, error, SSYNC_ERROR, "%s: compare %s", what, refs[i].name);
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
		error = gfail(err, error, SSYNC_ERROR, "%s", what);
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
		error = xfail(x, err, error, "%s: upload", what);
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
		if (!refs[i] || !sync_ref_valid(refs[i])) {
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
		if ((error = read_tip(&pr[i].local, &found, ex->repo, refs[i], err)) < 0)
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
