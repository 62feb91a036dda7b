/*
 * Refs of the exchange repository: reading tips, compare-and-swap updates,
 * sorted ref lists and ancestry. A ref moves only by compare-and-swap, so a
 * failure leaves it in place.
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
int ssync_exchange__ref_cas(git_repository *repo, const char *name, const git_oid *id,
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
	if ((error = ssync_exchange__ref_name_check(ref, "refs/", err)) < 0)
		return error;
	if ((error = ssync_exchange__read_tip(&id, &found, ex->repo, ref, err)) < 0)
		return error;
	if (!found)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "ref %s does not exist", ref);
	ssync_exchange__oid_to_hex(out, &id);
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
	if ((error = ssync_exchange__ref_name_check(ref, "refs/", err)) < 0 ||
	    (error = ssync_exchange__parse_oid(&id, &empty, oid, "new ref target", err)) < 0 ||
	    (error = ssync_exchange__parse_oid(&old, &old_empty, expected, "expected ref target", err)) < 0)
		return error;
	if (empty)
		return ssync_error_set(err, SSYNC_EINVAL,
			"update %s: empty target (use ssync_exchange_ref_delete)", ref);
	/* a ref never points at something we do not hold */
	if ((error = git_commit_lookup(&commit, ex->repo, &id)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ERROR, "update %s: commit %s", ref, oid->hex);
		goto done;
	}
	error = ssync_exchange__ref_cas(ex->repo, ref, &id, old_empty ? NULL : &old,
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
	if ((error = ssync_exchange__ref_name_check(ref, "refs/", err)) < 0)
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
		ssync_exchange__oid_to_hex(&h, &l.v[i].id);
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
	if ((error = ssync_exchange__parse_oid(&d, &d_empty, descendant, "descendant", err)) < 0 ||
	    (error = ssync_exchange__parse_oid(&a, &a_empty, ancestor, "ancestor", err)) < 0)
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

int ssync_exchange_first_parents(ssync_exchange *ex, const ssync_oid_hex *tip, ssync_oid_hex **out, int *n,
	ssync_error *err)
{
	git_revwalk *w = NULL;
	git_oid oid;
	int error, rc, empty, cap = 0;

	*out = NULL;
	*n = 0;
	if ((error = ssync_exchange__parse_oid(&oid, &empty, tip, "tip", err)) < 0 || empty)
		return error;
	if ((error = git_revwalk_new(&w, ex->repo)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "walk %s", tip->hex);
	git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	git_revwalk_simplify_first_parent(w);
	if ((error = git_revwalk_push(w, &oid)) < 0) {
		error = ssync_exchange__gfail(err, error, SSYNC_ENOTFOUND, "walk %s", tip->hex);
		goto done;
	}
	while ((rc = git_revwalk_next(&oid, w)) == 0) {
		if (*n == cap) {
			int ncap = cap ? cap * 2 : 64;
			ssync_oid_hex *nv = realloc(*out, (size_t)ncap * sizeof(*nv));
			if (!nv) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			*out = nv;
			cap = ncap;
		}
		git_oid_tostr((*out)[*n].hex, sizeof((*out)[*n].hex), &oid);
		(*n)++;
	}
	if (rc != GIT_ITEROVER)
		error = ssync_exchange__gfail(err, rc, SSYNC_ECORRUPT, "walk %s", tip->hex);
done:
	git_revwalk_free(w);
	if (error < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return error;
}
