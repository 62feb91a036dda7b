/*
 * Object copy for local-path remotes, which skip libgit2's local transport:
 * with our repository opened to also see the other one, list the objects
 * the destination lacks and store them as loose objects (small sets) or as
 * packs built on several threads straight into the destination.
 *
 * Invariants:
 * - objects are listed children before parents, so a copy that breaks off
 *   never leaves a stored tree or commit without what it points to;
 * - the user's progress callback only runs on the calling thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "exchange_int.h"

#define UNPACK_LIMIT 100        /* below: loose objects, like git's fetch.unpackLimit */
#ifndef MAX_PACK_THREADS
#define MAX_PACK_THREADS 4   /* compile-time knob for measurements */
#endif
#define MIN_OBJECTS_PER_THREAD 256

/* A default mutex fails only on misuse (EDEADLK/EPERM), never at random. */
static void xlock(xfer *x)
{
	(void)pthread_mutex_lock(&x->mu);
}

static void xunlock(xfer *x)
{
	(void)pthread_mutex_unlock(&x->mu);
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
/*
 * A file over the size a branch may hold is not copied (reading it could
 * cost its whole inflated size: a 1 GB zero-filled blob is 1 MB on disk).
 * The receiver then refuses the branch that names it, and nothing we accept
 * ever refers to it, so it is never pushed on either.
 */
static int oversized(git_repository *view, const git_oid *id)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t len = 0;
	int big = 0;

	if (git_repository_odb(&odb, view) == 0 && git_odb_read_header(&len, &type, odb, id) == 0)
		big = len > SSYNC_EXCHANGE__FILE_MAX;
	git_error_clear();
	git_odb_free(odb);
	return big;
}

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
			if (error == 1 && !git_odb_exists(dst, eid) && !oversized(view, eid) &&
			    (error = oidlist_add(out, eid)) < 0)
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
int ssync_exchange__open_view(git_repository **out, const char *our_gitdir, const char *other_objects)
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

int ssync_exchange__objects_dir(char **out, git_repository *repo)
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
		return ssync_exchange__report(j->x);
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

	if ((error = ssync_exchange__open_view(&view, j->our_gitdir, j->other_objects)) < 0 ||
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
		if (!x->cancelled && ssync_exchange__user_progress(x)) {
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
		error = ssync_exchange__xfail(x, err, jobs[i].error, "%s: write pack into %s", what, pack_dir);
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
		error = ssync_exchange__xfail(x, err, error, "%s: open objects", what);
		goto done;
	}
	for (i = 0; i < objs->n; i++) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), &objs->v[i]);
		if ((error = git_odb_read(&o, src, &objs->v[i])) < 0) {
			error = ssync_exchange__xfail(x, err, error, "%s: read object %s", what, hex);
			goto done;
		}
		error = git_odb_write(&id, dst, git_odb_object_data(o), git_odb_object_size(o),
			git_odb_object_type(o));
		if (error < 0) {
			error = ssync_exchange__xfail(x, err, error, "%s: store object %s", what, hex);
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
		if (ssync_exchange__report(x)) {
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
int ssync_exchange__transfer(xfer *x, git_repository *view, const char *our_gitdir,
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
		error = ssync_exchange__xfail(x, err, error, "%s: open objects", what);
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
		error = ssync_exchange__xfail(x, err, error, "%s: list missing objects", what);
		goto done;
	}
	x->prog.total_objects = objs.n;
	if (objs.n < UNPACK_LIMIT) {
		error = copy_loose(x, view, dst, &objs, what, err);
	} else {
		if ((error = ssync_exchange__objects_dir(&dst_objects, dst_repo)) < 0) {
			error = ssync_exchange__xfail(x, err, error, "%s: locate objects", what);
			goto done;
		}
		if (!(pack_dir = ssync_exchange__join_path(dst_objects, "pack"))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		error = write_packs(x, our_gitdir, other_objects, pack_dir, &objs, what, err);
	}
	if (error < 0)
		goto done;
	if ((error = git_odb_refresh(dst)) < 0) {
		error = ssync_exchange__xfail(x, err, error, "%s: reload objects", what);
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