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
int ssync_exchange__sync_ref_valid(const char *name)
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

int ssync_exchange__remote_name_check(const char *name, ssync_error *err)
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

int ssync_exchange__make_signature(git_signature **out, ssync_error *err)
{
	int error = git_signature_now(out, SIG_NAME, SIG_EMAIL);

	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "create commit signature");
	return 0;
}

/* Read the commit @p name points at; *found = 0 if the ref is missing. */
int ssync_exchange__read_tip(git_oid *out, int *found, git_repository *repo, const char *name,
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
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "read ref %s", name);
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
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "update %s", name);
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
	if ((error = ssync_exchange__read_tip(&id, &found, ex->repo, ref, err)) < 0)
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
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update %s: commit %s", ref, oid->hex);
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
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "delete ref %s", ref);
	return 0;
}

void ssync_exchange__ref_list_free(ref_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int ssync_exchange__ref_list_add(ref_list *l, const char *name, const git_oid *id)
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

int ssync_exchange__ref_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const ref_entry *)a)->name, ((const ref_entry *)b)->name);
}

const ref_entry *ssync_exchange__ref_list_find(const ref_list *l, const char *name)
{
	ref_entry key;

	key.name = (char *)name;
	if (!l->n)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(*l->v), ssync_exchange__ref_entry_cmp);
}

/*
 * Collect refs of @p repo whose names start with @p prefix (and, with
 * @p sync_only, that are travelling refs), resolved, sorted by name.
 */
int ssync_exchange__list_refs(ref_list *out, git_repository *repo, const char *prefix,
	int sync_only, ssync_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *res = NULL;
	size_t plen = strlen(prefix);
	int error;

	if ((error = git_reference_iterator_new(&it, repo)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "list refs of %s", git_repository_path(repo));
		goto done;
	}
	while ((error = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		if (strncmp(name, prefix, plen) == 0 && (!sync_only || ssync_exchange__sync_ref_valid(name))) {
			/* symbolic or dangling refs carry no segments: skip them */
			if (git_reference_resolve(&res, ref) == 0 && git_reference_target(res)) {
				if (ssync_exchange__ref_list_add(out, name, git_reference_target(res)) < 0) {
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
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "list refs of %s", git_repository_path(repo));
		goto done;
	}
	git_error_clear();
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), ssync_exchange__ref_entry_cmp);
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
	if ((error = ssync_exchange__list_refs(&l, ex->repo, prefix ? prefix : "", 0, err)) < 0)
		goto done;
	for (i = 0; i < l.n; i++) {
		oid_to_hex(&h, &l.v[i].id);
		if ((error = cb(l.v[i].name, &h, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	ssync_exchange__ref_list_free(&l);
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
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "compare commits");
	missing = !git_odb_exists(odb, &d) ? descendant->hex :
		!git_odb_exists(odb, &a) ? ancestor->hex : NULL;
	git_odb_free(odb);
	if (missing)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "commit %s is not in %s", missing,
			ex->gitdir);
	error = git_graph_descendant_of(ex->repo, &d, &a);
	if (error < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "compare commits %s and %s",
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
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "look up %s", f->path);
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
			error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "hash %s", paths[i]);
			goto done;
		}
	}
	if ((error = check_new_files(files, nfiles, err)) < 0)
		goto done;

	if ((error = ssync_exchange__read_tip(&tip, &found, ex->repo, ref, err)) < 0)
		goto done;
	if (found) {
		if ((error = git_commit_lookup(&parent, ex->repo, &tip)) < 0 ||
		    (error = git_commit_tree(&base, parent)) < 0) {
			error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tip of %s", ref);
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
			error = ssync_exchange__gfail(err, error, SSYNC_EIO, "store %s", files[i].path);
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
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "build tree for %s", ref);
		goto done;
	}
	if ((error = ssync_exchange__make_signature(&sig, err)) < 0)
		goto done;
	error = git_commit_create(&commit_id, ex->repo, NULL, sig, sig, NULL,
		message && message[0] ? message : "seal", tree, found ? 1 : 0,
		(const git_commit **)&parent);
	if (error < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_EIO, "commit on %s", ref);
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
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "read commit %s", hex);
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
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "%s in commit %s", path, commit->hex);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "%s in commit %s is not a file",
			path, commit->hex);
		goto done;
	}
	if ((error = git_blob_lookup(&blob, ex->repo, git_tree_entry_id(e))) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s in commit %s", path, commit->hex);
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

char *ssync_exchange__join_path(const char *prefix, const char *name)
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
			return ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
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
				path = ssync_exchange__join_path(prefix, git_tree_entry_name(oe));
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
		if (!(path = ssync_exchange__join_path(prefix, git_tree_entry_name(ne)))) {
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
			error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read tree %s", path);
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
			error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s of commit %s",
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