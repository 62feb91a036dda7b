/* Sealing: our own entries not yet published become a segment commit on
 * our node branch, after the replica is made durable (DESIGN "Durability
 * before publication"). A segment holds at most 8 MiB bytes. */
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
#include "reenroll_int.h"
#include "trust_int.h"


void ssync_sync__segment_path(char *buf, size_t len, int64_t first_seq)
{
	snprintf(buf, len, "seg/%07lld/%012lld.seg", (long long)(first_seq / 100000), (long long)first_seq);
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
static int resync_exported(ssync_exchange *ex, const char *ref, int64_t base, int64_t *exported, ssync_error *err)
{
	ssync_oid_hex tip;
	int rc;

	if (*exported < base)
		*exported = base;
	if ((rc = ssync_exchange_ref_tip(ex, ref, &tip, NULL)) == SSYNC_ENOTFOUND) {
		*exported = base;
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

int ssync_sync__seal(ssync_node *n, ssync_exchange *ex, int64_t *sealed, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char ref[128], paths[64][48], msg[160];
	/* 64 segments, plus node.json on a node's first seal */
	const char *pathv[65];
	const void *datav[65];
	size_t lenv[65];
	buf bufs[64];
	int nseg = 0, error = 0, i, rc = SQLITE_DONE;
	int64_t exported, head, s, first_in_seg = 0, gen = 1, first = 1, base = 0;
	sqlite3_stmt *q = NULL;

	*sealed = 0;
	memset(bufs, 0, sizeof(bufs));
	/* After a re-enrolment this node's key writes generation G on its own
	 * branch, node/<id>.g<G>, from seq cut+1 (TRUST.md §5a). */
	{
		unsigned char pk[SSYNC_PUBKEY_BYTES];
		if (ssync_hex_decode(pk, SSYNC_PUBKEY_BYTES, ssync_node_pubkey_hex(n)) == 0 &&
		    (gen = ssync_trust__own_gen(st, ssync_node_id(n), pk, &first)) >= 2)
			base = first - 1;
	}
	if (gen >= 2)
		snprintf(ref, sizeof(ref), "refs/heads/node/%s.g%lld", ssync_node_id(n), (long long)gen);
	else
		snprintf(ref, sizeof(ref), "refs/heads/node/%s", ssync_node_id(n));
	if ((error = ssync_log__head(st, ssync_node_id(n), &head, NULL, NULL, err)) < 0)
		return error;
	exported = meta_int(st, "exported_seq");
	if ((error = resync_exported(ex, ref, base, &exported, err)) < 0)
		return error;
	/* E_ROLLBACK: what we signed may collide with what a remote holds */
	if (exported >= head || ssync_sync__rollback_active(st, NULL))
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
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
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
	/* A busy or failed read must not seal a shortened log as if complete. */
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read own entries");
		goto done;
	}
	(void)first_in_seg;
	for (i = 0; i < nseg; i++) {
		pathv[i] = paths[i];
		datav[i] = bufs[i].p;
		lenv[i] = bufs[i].n;
	}
	/* A node's first commit carries its public key so peers can find it. */
	if (exported == base) {
		static char pubfile[256];
		snprintf(pubfile, sizeof(pubfile), "{\"node\":\"%s\",\"district\":\"%s\",\"pubkey\":\"%s\"}\n",
			ssync_node_id(n), ssync_node_district(n), ssync_node_pubkey_hex(n));
		pathv[nseg] = "node.json";
		datav[nseg] = pubfile;
		lenv[nseg] = strlen(pubfile);
	}
	snprintf(msg, sizeof(msg), "%s: entries %lld..%lld", ssync_node_id(n), (long long)(exported + 1), (long long)s);
	if ((error = ssync_exchange_commit_files(ex, ref, (size_t)nseg + (exported == base), pathv, datav, lenv, msg, NULL, err)) < 0)
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

int ssync_sync_seal(ssync_node *n, int64_t *sealed_out, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int64_t dummy;
	int error, lockfd = -1;

	if (!sealed_out)
		sealed_out = &dummy;
	*sealed_out = 0;
	if ((error = ssync_sync__lock(n, &lockfd, err)) < 0)
		return error;
	if ((error = ssync_node__exchange_open(n, 1, &ex, err)) == 0)
		error = ssync_sync__seal(n, ex, sealed_out, err);
	ssync_exchange_free(ex);
	close(lockfd);
	return error;
}
