/* One sync round with one remote: fetch every node branch, accept only
 * fast-forwards, stream new segments through ingest, advance our copy of a
 * branch only when all its new entries were accepted, seal our own new
 * entries (after making them durable) and push every branch the remote is
 * behind on. Our copies of other nodes' branches are what we relay. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/node.h"
#include "sync_int.h"
#include "trust_int.h"

#define SEGMENT_MAX_BYTES (8 * 1024 * 1024)

void ssync_sync__segment_path(char *buf, size_t len, int64_t first_seq)
{
	snprintf(buf, len, "seg/%07lld/%012lld.seg", (long long)(first_seq / 100000), (long long)first_seq);
}

static int open_exchange(ssync_node *n, ssync_exchange **ex, ssync_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/exchange.git", ssync_node_home(n));
	return ssync_exchange_open(ex, path, 1, err);
}

static int64_t meta_int(ssync_store *st, const char *key)
{
	char *v = NULL;
	int64_t r = 0;

	if (ssync_store_meta_get(st, key, &v, NULL) == 0 && v)
		r = strtoll(v, NULL, 10);
	free(v);
	return r;
}

static int meta_set_int(ssync_store *st, const char *key, int64_t v, ssync_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return ssync_store_meta_set(st, key, buf, err);
}

/* Growable byte buffer for a segment. */
typedef struct buf { char *p; size_t n, cap; } buf;

static int buf_add(buf *b, const char *s, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *np;
		while (cap < b->n + n)
			cap *= 2;
		if (!(np = realloc(b->p, cap)))
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	return 0;
}

/* Last seq of a segment: the seq of its last line. */
static int64_t segment_last_seq(const char *data, size_t len)
{
	const char *end = data + len, *p, *start;
	ssync_entry *e = NULL;
	int64_t seq = 0;

	if (len == 0)
		return 0;
	p = end - 1; /* the final LF */
	start = p;
	while (start > data && start[-1] != '\n')
		start--;
	if (ssync_entry_parse(&e, start, (size_t)(end - start), NULL) == 0) {
		seq = ssync_entry_seq(e);
		ssync_entry_free(e);
	}
	return seq;
}

/* Find how far our branch already goes (a crash may have come between the
 * commit and recording it): follow segments named by first seq. */
static int resync_exported(ssync_exchange *ex, const char *ref, int64_t *exported, ssync_error *err)
{
	ssync_oid_hex tip;
	int rc;

	if ((rc = ssync_exchange_ref_tip(ex, ref, &tip, NULL)) == SSYNC_ENOTFOUND) {
		*exported = 0;
		return 0;
	}
	if (rc < 0)
		return ssync_error_set(err, rc, "read branch %s", ref);
	for (;;) {
		char path[64];
		void *data = NULL;
		size_t len = 0;
		int64_t last;
		ssync_sync__segment_path(path, sizeof(path), *exported + 1);
		rc = ssync_exchange_read_file(ex, &tip, path, &data, &len, NULL);
		if (rc == SSYNC_ENOTFOUND)
			return 0;
		if (rc < 0)
			return ssync_error_set(err, rc, "read segment %s of %s", path, ref);
		last = segment_last_seq(data, len);
		free(data);
		if (last <= *exported)
			return ssync_error_set(err, SSYNC_ECORRUPT, "segment %s on %s is damaged", path, ref);
		*exported = last;
	}
}

static int seal(ssync_node *n, ssync_exchange *ex, int64_t *sealed, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char ref[128], paths[64][48], msg[160];
	const char *pathv[64];
	const void *datav[64];
	size_t lenv[64];
	buf bufs[64];
	int nseg = 0, error = 0, i;
	int64_t exported, head, s, first_in_seg = 0;
	sqlite3_stmt *q = NULL;

	*sealed = 0;
	memset(bufs, 0, sizeof(bufs));
	snprintf(ref, sizeof(ref), "refs/heads/node/%s", ssync_node_id(n));
	if ((error = ssync_log__head(st, ssync_node_id(n), &head, NULL, NULL, err)) < 0)
		return error;
	exported = meta_int(st, "exported_seq");
	if ((error = resync_exported(ex, ref, &exported, err)) < 0)
		return error;
	if (exported >= head)
		goto record;
	/* Nothing unsynced may be published (DESIGN: durability before publication). */
	if ((error = ssync_store_make_durable(st, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT seq, body, sig FROM ssync_entry WHERE node=? AND seq>? ORDER BY seq",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read own entries");
	sqlite3_bind_text(q, 1, ssync_node_id(n), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, exported);
	s = exported;
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(q, 0);
		size_t blen = (size_t)sqlite3_column_bytes(q, 1);
		char sighex[2 * SSYNC_SIG_BYTES + 2];
		if (seq != s + 1) {
			error = ssync_error_set(err, SSYNC_ECORRUPT, "own log has a gap at seq %lld", (long long)(s + 1));
			goto done;
		}
		if (nseg == 0 || bufs[nseg - 1].n + blen > SEGMENT_MAX_BYTES) {
			if (nseg == 64)
				break; /* the rest goes in the next round */
			first_in_seg = seq;
			ssync_sync__segment_path(paths[nseg], sizeof(paths[nseg]), first_in_seg);
			nseg++;
		}
		ssync_hex_encode(sighex, sqlite3_column_blob(q, 2), SSYNC_SIG_BYTES);
		sighex[2 * SSYNC_SIG_BYTES] = '\n';
		if (buf_add(&bufs[nseg - 1], (const char *)sqlite3_column_blob(q, 1), blen) < 0 ||
		    buf_add(&bufs[nseg - 1], "\t", 1) < 0 ||
		    buf_add(&bufs[nseg - 1], sighex, 2 * SSYNC_SIG_BYTES + 1) < 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory sealing");
			goto done;
		}
		s = seq;
	}
	(void)first_in_seg;
	for (i = 0; i < nseg; i++) {
		pathv[i] = paths[i];
		datav[i] = bufs[i].p;
		lenv[i] = bufs[i].n;
	}
	/* A node's first commit carries its public key so peers can find it. */
	if (exported == 0) {
		static char pubfile[256];
		snprintf(pubfile, sizeof(pubfile), "{\"node\":\"%s\",\"district\":\"%s\",\"pubkey\":\"%s\"}\n",
			ssync_node_id(n), ssync_node_district(n), ssync_node_pubkey_hex(n));
		pathv[nseg] = "node.json";
		datav[nseg] = pubfile;
		lenv[nseg] = strlen(pubfile);
	}
	snprintf(msg, sizeof(msg), "%s: entries %lld..%lld", ssync_node_id(n), (long long)(exported + 1), (long long)s);
	if ((error = ssync_exchange_commit_files(ex, ref, (size_t)nseg + (exported == 0), pathv, datav, lenv, msg, NULL, err)) < 0)
		goto done;
	*sealed = s - exported;
	exported = s;
record:
	if (exported != meta_int(st, "exported_seq"))
		error = meta_set_int(st, "exported_seq", exported, err);
done:
	sqlite3_finalize(q);
	for (i = 0; i < 64; i++)
		free(bufs[i].p);
	return error;
}

static int take_sync_lock(ssync_node *n, int *fd_out, ssync_error *err);

int ssync_sync_seal(ssync_node *n, int64_t *sealed_out, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int64_t dummy;
	int error, lockfd = -1;

	if (!sealed_out)
		sealed_out = &dummy;
	*sealed_out = 0;
	if ((error = take_sync_lock(n, &lockfd, err)) < 0)
		return error;
	if ((error = open_exchange(n, &ex, err)) == 0)
		error = seal(n, ex, sealed_out, err);
	ssync_exchange_free(ex);
	close(lockfd);
	return error;
}

/* Pin a node's key the first time we see its branch (trust on first use),
 * unless the district's certificates already name it. */
static int learn_key(ssync_node *n, ssync_exchange *ex, const char *node, const ssync_oid_hex *tip, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	void *data = NULL;
	size_t len = 0;
	json_t *o = NULL;
	json_error_t jerr;
	sqlite3_stmt *q;
	int error = 0;

	if (ssync_log__peer_key(st, node, pk, NULL) == 0)
		return 0;
	if (ssync_trust_managed(st))
		return 0; /* trust (issue #4): with a pinned root, keys come only from certificates */
	if (ssync_exchange_read_file(ex, tip, "node.json", &data, &len, NULL) < 0)
		return 0; /* its entries will be quarantined as E_CERT */
	o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!o || !json_is_string(json_object_get(o, "pubkey")) ||
	    ssync_hex_decode(pk, SSYNC_PUBKEY_BYTES, json_string_value(json_object_get(o, "pubkey"))) != 0 ||
	    !json_is_string(json_object_get(o, "node")) || strcmp(json_string_value(json_object_get(o, "node")), node) != 0)
		goto done;
	if (!(q = ssync_store__stmt(st, "INSERT OR IGNORE INTO ssync_peer(node, pubkey, role, source, added) "
		"VALUES (?, ?, 'school', 'tofu', strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err))) {
		error = SSYNC_ERROR;
		goto done;
	}
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, pk, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "record node key");
	sqlite3_reset(q);
done:
	json_decref(o);
	return error;
}

typedef struct recv_ctx {
	ssync_node *n;
	ssync_ingest *in;
	int stopped;
	int error;
	ssync_error *err;
	const ssync_sync_opts *opts;
	int64_t lines;
} recv_ctx;

static int on_progress(void *payload, int64_t lines)
{
	recv_ctx *rc = payload;

	if (rc->opts && rc->opts->progress && (lines % 50) == 0 &&
	    rc->opts->progress("apply", lines, 0, rc->opts->payload) != 0) {
		rc->error = ssync_error_set(rc->err, SSYNC_ECANCELLED, "sync cancelled");
		return 1;
	}
	return 0;
}

static int on_segment(const char *path, const void *data, size_t len, void *payload)
{
	recv_ctx *rc = payload;
	int r;

	if (strncmp(path, "seg/", 4) != 0)
		return 0; /* node.json and other metadata */
	r = ssync_ingest__feed(rc->in, data, len, &rc->lines, on_progress, rc, rc->err);
	if (r < 0)
		rc->error = r;
	else if (r > 0 && rc->error == 0)
		rc->stopped = 1;
	return r != 0;
}

static int mark_seen(ssync_store *st, const char *node, ssync_error *err)
{
	int64_t head = 0;
	sqlite3_stmt *q;
	int rc, error;

	if ((error = ssync_log__head(st, node, &head, NULL, NULL, err)) < 0)
		return error;
	if (!(q = ssync_store__stmt(st, "INSERT INTO ssync_node_seen(node, last_seq, last_received) "
		"VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now')) ON CONFLICT(node) DO UPDATE SET "
		"last_seq=excluded.last_seq, last_received=excluded.last_received", err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, head);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record freshness");
}

typedef struct branch_list {
	char (*names)[SSYNC_NODE_ID_MAX + 1];
	ssync_oid_hex *tips;
	int n, cap;
	size_t prefix_len;
} branch_list;

static int collect_branch(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	branch_list *b = payload;
	const char *node = ref + b->prefix_len;

	if (!ssync_ident_node_valid(node))
		return 0; /* never turn a strange ref name into a path or SQL */
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 32;
		void *a = realloc(b->names, (size_t)cap * sizeof(*b->names));
		void *t;
		if (!a)
			return -1;
		b->names = a;
		if (!(t = realloc(b->tips, (size_t)cap * sizeof(*b->tips))))
			return -1;
		b->tips = t;
		b->cap = cap;
	}
	snprintf(b->names[b->n], sizeof(b->names[b->n]), "%s", node);
	b->tips[b->n] = *tip;
	b->n++;
	return 0;
}

/* Failures that are about this machine, not about what a remote sent. */
static int local_failure(int code)
{
	return code == SSYNC_EIO || code == SSYNC_EBUSY || code == SSYNC_ECANCELLED ||
		code == SSYNC_EREADONLY || code == SSYNC_ERROR;
}

/*
 * Receive one node's branch from the remote-tracking ref. A fast-forward is
 * streamed from our tip. A branch that diverged from ours is streamed from
 * its start: entries we hold are duplicates, and the first one that differs
 * shows what happened (equivocation: two signed entries for one seq; or a
 * forgery). Either way our copy of the branch is kept.
 */
static int receive_branch(ssync_node *n, ssync_exchange *ex, const char *remote, const char *node,
	const ssync_oid_hex *rtip, const ssync_sync_opts *opts, ssync_sync_report *rep, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char local_ref[128], source[160];
	ssync_oid_hex ltip, from;
	ssync_ingest_stats stats;
	ssync_error berr;
	recv_ctx rc;
	int error = 0, d, diverged = 0;

	memset(&stats, 0, sizeof(stats));
	snprintf(local_ref, sizeof(local_ref), "refs/heads/node/%s", node);
	snprintf(source, sizeof(source), "%s:node/%s", remote, node);
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, local_ref, &ltip, NULL)) < 0 && error != SSYNC_ENOTFOUND)
		return ssync_error_set(err, error, "read %s", local_ref);
	error = 0;
	if (strcmp(ltip.hex, rtip->hex) == 0)
		return 0;
	if (ltip.hex[0]) {
		if ((d = ssync_exchange_descends(ex, rtip, &ltip, err)) < 0)
			return d;
		if (!d) {
			if ((d = ssync_exchange_descends(ex, &ltip, rtip, err)) < 0)
				return d;
			if (d)
				return 0; /* the remote is behind: we push */
			diverged = 1;
		}
	}
	if ((error = learn_key(n, ex, node, rtip, err)) < 0)
		return error;
	if ((error = ssync_ingest__begin(&rc.in, st, ssync_node_district(n), node, source, err)) < 0)
		return error;
	rc.n = n;
	rc.stopped = 0;
	rc.error = 0;
	rc.err = err;
	rc.opts = opts;
	rc.lines = 0;
	from = ltip;
	if (diverged)
		memset(&from, 0, sizeof(from));
	ssync_error_clear(&berr);
	error = ssync_exchange_added_files(ex, &from, rtip, on_segment, &rc, &berr);
	if (rc.error < 0) {
		error = rc.error;
	} else if (error > 0) {
		error = 0; /* stopped by our callback */
	} else if (error < 0 && !local_failure(error)) {
		/* What the remote holds for this branch cannot be read as an
		 * append-only log (rewritten segment, symlink, damaged tree):
		 * refuse the branch, keep ours, carry on with the others. */
		char why[700];
		snprintf(why, sizeof(why), "branch node/%s on remote %s cannot be accepted: %s (%s)", node, remote,
			berr.message, ssync_error_name(error));
		error = ssync_ingest__quarantine(st, node, 0, error == SSYNC_EREWRITE ? SSYNC_EREWRITE : SSYNC_ECORRUPT,
			why, rtip->hex, strlen(rtip->hex), remote, err);
		rep->rewritten_refs++;
		rc.stopped = 1;
	} else if (error < 0 && err && err->code == 0) {
		*err = berr;
	}
	if (error < 0) {
		(void)ssync_ingest__end(rc.in, 1, NULL, NULL);
		return error;
	}
	if ((error = ssync_ingest__end(rc.in, 0, &stats, err)) < 0)
		return error;
	if (stats.fork_seq > 0 && (error = ssync_ingest__withdraw_fork(st, node, stats.fork_seq, err)) < 0)
		return error;
	rep->received += rc.lines - stats.duplicates + stats.quarantined;
	rep->applied += stats.applied;
	rep->duplicates += stats.duplicates;
	rep->quarantined += stats.quarantined;
	if (stats.applied > 0 && (error = mark_seen(st, node, err)) < 0)
		return error;
	if (diverged) {
		/* Another history: entries that chain were taken (and a differing
		 * one was quarantined above), but a branch only moves forward. */
		char why[256];
		snprintf(why, sizeof(why), "branch node/%s on remote %s was rewritten (not a fast-forward of %.12s); "
			"ours is kept (E_REWRITE: possible rollback attack)", node, remote, ltip.hex);
		if ((error = ssync_ingest__quarantine(st, node, 0, SSYNC_EREWRITE, why, rtip->hex, strlen(rtip->hex), remote, err)) < 0)
			return error;
		rep->rewritten_refs++;
		return 0;
	}
	/* Relay only what we fully accepted. */
	if (!rc.stopped && !diverged) {
		if ((error = ssync_exchange_ref_update(ex, local_ref, rtip, &ltip, "sync: fast-forward", err)) < 0)
			return error;
	}
	return 0;
}

static int count_conflicts(ssync_store *st, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT count(*) FROM ssync_conflict", err);

	*out = 0;
	if (!q)
		return SSYNC_ERROR;
	if (sqlite3_step(q) == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct push_ctx {
	ssync_exchange *ex;
	const char *remote;
	char (*refs)[128];
	int n, cap;
	size_t prefix_len;
	ssync_error *err;
} push_ctx;

static int collect_push(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	push_ctx *p = payload;
	char tracking[256];
	ssync_oid_hex rtip;
	int rc;

	snprintf(tracking, sizeof(tracking), "refs/remotes/%s/%s", p->remote, ref + strlen("refs/heads/"));
	rc = ssync_exchange_ref_tip(p->ex, tracking, &rtip, NULL);
	if (rc == 0) {
		if (strcmp(rtip.hex, tip->hex) == 0)
			return 0;
		rc = ssync_exchange_descends(p->ex, tip, &rtip, NULL);
		if (rc != 1)
			return 0; /* the remote is ahead or diverged: nothing to push */
	}
	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 32;
		void *a = realloc(p->refs, (size_t)cap * sizeof(*p->refs));
		if (!a)
			return -1;
		p->refs = a;
		p->cap = cap;
	}
	snprintf(p->refs[p->n++], sizeof(p->refs[0]), "%s", ref);
	return 0;
}

static int sync_round(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err);

static int transfer_progress(const ssync_transfer_progress *p, void *payload)
{
	const ssync_sync_opts *opts = payload;

	if (p->total_objects > 0)
		return opts->progress("fetch", (int64_t)p->received_objects, (int64_t)p->total_objects, opts->payload);
	if (p->pushed_objects > 0)
		return opts->progress("push", (int64_t)p->pushed_objects, 0, opts->payload);
	return 0;
}

static int remove_lock(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t len = strlen(path);

	(void)sb; (void)ftw;
	if (flag == FTW_F && len > 5 && strcmp(path + len - 5, ".lock") == 0)
		(void)unlink(path);
	return 0;
}

/*
 * One sync at a time per home (HOME/sync.lock, released by the kernel if the
 * process dies). Holding it proves any git *.lock file left in the exchange
 * repository belongs to a sync that was killed: remove them, or every later
 * round would fail to update refs.
 */
static int take_sync_lock(ssync_node *n, int *fd_out, ssync_error *err)
{
	char path[4096], dir[4096];
	int fd;

	*fd_out = -1;
	snprintf(path, sizeof(path), "%s/sync.lock", ssync_node_home(n));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ssync_error_set(err, errno == EROFS || errno == EACCES ? SSYNC_EREADONLY : SSYNC_EIO,
			"open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		ssync_error_set(err, SSYNC_EBUSY, "another sync is running on %s", ssync_node_home(n));
		ssync_error_hint(err, "wait for it to finish (schoolsync status shows the daemon's rounds)");
		return SSYNC_EBUSY;
	}
	snprintf(dir, sizeof(dir), "%s/exchange.git/refs", ssync_node_home(n));
	(void)nftw(dir, remove_lock, 16, FTW_PHYS);
	snprintf(dir, sizeof(dir), "%s/exchange.git/packed-refs.lock", ssync_node_home(n));
	(void)unlink(dir);
	*fd_out = fd;
	return 0;
}

int ssync_sync_run(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err)
{
	int lockfd = -1, error;

	memset(rep, 0, sizeof(*rep));
	if ((error = take_sync_lock(n, &lockfd, err)) < 0)
		return error;
	error = sync_round(n, remote, opts, rep, err);
	close(lockfd);
	return error;
}

typedef struct url_find { const char *name; char url[4096]; int found; } url_find;

static int find_url(const char *name, const char *url, void *p)
{
	url_find *f = p;

	if (strcmp(name, f->name) == 0) {
		snprintf(f->url, sizeof(f->url), "%s", url);
		f->found = 1;
	}
	return 0;
}

/*
 * A USB stick's remote is a path to a repository that may not exist yet: if
 * its directory does (the stick is mounted), create the bare repository so
 * the first sync can push. A missing directory means "not mounted": the
 * fetch then fails with E_NET and nothing is created.
 */
static int create_stick(ssync_exchange *ex, const char *remote, ssync_error *err)
{
	url_find f;
	const char *path;
	char parent[4096], *slash;
	struct stat sb;
	ssync_exchange *stick = NULL;
	int error;

	memset(&f, 0, sizeof(f));
	f.name = remote;
	if ((error = ssync_exchange_remote_list(ex, find_url, &f, err)) < 0)
		return error;
	if (!f.found)
		return 0; /* fetch reports the unknown remote */
	path = f.url;
	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	if (path[0] != '/' || stat(path, &sb) == 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", path);
	if (!(slash = strrchr(parent, '/')) || slash == parent)
		return 0;
	*slash = 0;
	if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	if ((error = ssync_exchange_open(&stick, path, 1, err)) < 0)
		return error;
	ssync_exchange_free(stick);
	return 0;
}

/*
 * A remote whose branch went back to an older commit, or lost a branch it
 * had, is a stale mirror or a rollback: say so. We never follow it back, and
 * the push brings it forward again.
 */
static int check_stale(ssync_node *n, ssync_exchange *ex, const char *remote, const branch_list *old,
	const branch_list *now, ssync_sync_report *rep, ssync_error *err)
{
	int i, j, error;

	for (i = 0; i < old->n; i++) {
		const ssync_oid_hex *cur = NULL;
		char why[300];
		for (j = 0; j < now->n; j++)
			if (strcmp(old->names[i], now->names[j]) == 0)
				cur = &now->tips[j];
		if (cur && strcmp(cur->hex, old->tips[i].hex) == 0)
			continue;
		if (cur) {
			int d = ssync_exchange_descends(ex, &old->tips[i], cur, NULL);
			if (d != 1)
				continue; /* moved forward (or diverged: receive_branch reports that) */
			snprintf(why, sizeof(why), "remote %s went back on branch node/%s (%.12s, it showed %.12s before): "
				"stale mirror or rollback (W_REMOTE_STALE); not followed, our copy is pushed again",
				remote, old->names[i], cur->hex, old->tips[i].hex);
		} else {
			snprintf(why, sizeof(why), "remote %s no longer has branch node/%s (it showed %.12s before): "
				"deleted or stale mirror (W_REMOTE_STALE); our copy is pushed again",
				remote, old->names[i], old->tips[i].hex);
		}
		if ((error = ssync_ingest__quarantine(ssync_node_store(n), old->names[i], 0, SSYNC_EREWRITE, why,
			old->tips[i].hex, strlen(old->tips[i].hex), remote, err)) < 0)
			return error;
		rep->rewritten_refs++;
	}
	return 0;
}

static int sync_round(ssync_node *n, const char *remote, const ssync_sync_opts *opts,
	ssync_sync_report *rep, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	ssync_transfer_opts topts = SSYNC_TRANSFER_OPTS_INIT;
	branch_list bl, old;
	push_ctx pc;
	char prefix[128];
	double t0 = now_s();
	int error = 0, i;

	memset(rep, 0, sizeof(*rep));
	memset(&bl, 0, sizeof(bl));
	memset(&old, 0, sizeof(old));
	memset(&pc, 0, sizeof(pc));
	if (!ssync_exchange_remote_name_valid(remote))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", remote ? remote : "");
	snprintf(rep->remote, sizeof(rep->remote), "%s", remote);
	if ((error = open_exchange(n, &ex, err)) < 0)
		return error;
	if (opts && opts->progress) {
		topts.progress = transfer_progress;
		topts.payload = (void *)opts;
	}
	if ((error = create_stick(ex, remote, err)) < 0)
		goto done;
	/* What the remote showed last time, to notice it going backwards. */
	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/node/", remote);
	old.prefix_len = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, collect_branch, &old, err)) < 0)
		goto done;
	if ((error = ssync_exchange_fetch(ex, remote, &topts, err)) < 0)
		goto done;
	/* trust (issue #4): adopt the remote's district branch before any node branch */
	if ((error = ssync_trust__receive_district(ssync_node_store(n), ex, remote, &rep->rewritten_refs,
		&rep->quarantined, err)) < 0)
		goto done;
	bl.prefix_len = strlen(prefix);
	if ((error = ssync_exchange_refs(ex, prefix, collect_branch, &bl, err)) < 0)
		goto done;
	if ((error = check_stale(n, ex, remote, &old, &bl, rep, err)) < 0)
		goto done;
	for (i = 0; i < bl.n; i++) {
		if (opts && opts->progress && opts->progress("verify", i, bl.n, opts->payload) != 0) {
			error = ssync_error_set(err, SSYNC_ECANCELLED, "sync cancelled");
			goto done;
		}
		if ((error = receive_branch(n, ex, remote, bl.names[i], &bl.tips[i], opts, rep, err)) < 0)
			goto done;
	}
	/* Our own branch, if the remote had it, is now recovered: writes may resume. */
	{
		char *rec = NULL;
		if (ssync_store_meta_get(ssync_node_store(n), "recovering", &rec, NULL) == 0 && rec && strcmp(rec, "1") == 0)
			error = ssync_store_meta_set(ssync_node_store(n), "recovering", "0", err);
		free(rec);
		if (error < 0)
			goto done;
	}
	if ((error = seal(n, ex, &rep->sealed, err)) < 0)
		goto done;
	/* trust (issue #4): an auditor node syncs read-only */
	if ((!opts || !opts->no_push) && !ssync_trust__is_auditor(ssync_node_store(n), ssync_node_id(n))) {
		pc.ex = ex;
		pc.remote = remote;
		pc.err = err;
		if ((error = ssync_exchange_refs(ex, "refs/heads/", collect_push, &pc, err)) < 0)
			goto done;
		if (pc.n > 0) {
			const char **refs = calloc((size_t)pc.n, sizeof(char *));
			if (!refs) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			for (i = 0; i < pc.n; i++)
				refs[i] = pc.refs[i];
			error = ssync_exchange_push(ex, remote, (size_t)pc.n, refs, &topts, err);
			free(refs);
			if (error < 0)
				goto done;
			rep->pushed_refs = pc.n;
		}
	}
	error = count_conflicts(ssync_node_store(n), &rep->conflicts, err);
done:
	rep->seconds = now_s() - t0;
	free(bl.names);
	free(bl.tips);
	free(old.names);
	free(old.tips);
	free(pc.refs);
	ssync_exchange_free(ex);
	return error;
}
