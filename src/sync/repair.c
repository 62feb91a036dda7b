/* `schoolsync remote repair REMOTE`: the way back when someone pushed
 * commits onto this node's branch on a remote (docs/OPERATIONS.md "A
 * school's branch is blocked"). Our own signed branch is the truth: the
 * remote's copy is replaced by ours, with a lease on the exact tip we
 * inspected, and only if that copy holds nothing validly signed by this
 * node that our log lacks -- so a repair can never throw away an entry we
 * made (a home restored from an old backup recovers through sync instead).
 *
 * Workload: one fetch, one read of every segment of the remote's copy of
 * our branch (a repair is rare and run by a person), one push. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_int.h"
#include "node_int.h"
#include "sync_int.h"

typedef struct scan {
	ssync_store *st;
	const char *node;
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	ssync_sync_repair_report *rep;
	int64_t exported;         /* our branch holds our entries 1..exported */
	int64_t missing_seq;      /* > 0: an entry we signed that our branch lacks */
	int error;
	ssync_error *err;
} scan;

/* 1 if our branch holds exactly @p e (it holds our log's entries
 * 1..exported); 0 if not; <0 on a local failure. */
static int held(scan *s, const ssync_entry *e)
{
	ssync_entry *mine = NULL;
	int state = 0, r;

	if (ssync_entry_seq(e) > s->exported)
		return 0;
	r = ssync_log__get(s->st, s->node, ssync_entry_seq(e), &mine, &state, NULL);
	if (r == SSYNC_ENOTFOUND)
		return 0;
	if (r < 0)
		return ssync_error_set(s->err, r, "read own entry %s#%lld", s->node, (long long)ssync_entry_seq(e));
	r = memcmp(ssync_entry_hash(mine), ssync_entry_hash(e), SSYNC_HASH_BYTES) == 0;
	ssync_entry_free(mine);
	return r;
}

static int scan_file(const char *path, const void *data, size_t len, void *payload)
{
	scan *s = payload;
	const char *p = data, *end = p + len;

	s->rep->files++;
	if (strncmp(path, "seg/", 4) != 0)
		return 0; /* node.json and junk: no entries, nothing of ours to lose */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ssync_entry *e = NULL;
		int r;

		s->rep->lines++;
		if (ssync_entry_parse(&e, p, l, NULL) == 0 && strcmp(ssync_entry_node(e), s->node) == 0 &&
		    ssync_entry_verify(e, s->pk, NULL) == 0) {
			if ((r = held(s, e)) < 0) {
				ssync_entry_free(e);
				s->error = r;
				return 1;
			}
			if (r == 0 && (s->missing_seq == 0 || ssync_entry_seq(e) < s->missing_seq))
				s->missing_seq = ssync_entry_seq(e);
		} else {
			s->rep->foreign_lines++;
		}
		ssync_entry_free(e);
		p += l + 1;
	}
	return 0;
}

int ssync_sync_repair(ssync_node *n, const char *remote, ssync_sync_repair_report *rep, ssync_error *err)
{
	ssync_transfer_opts topts = SSYNC_TRANSFER_OPTS_INIT;
	ssync_exchange *ex = NULL;
	ssync_oid_hex mine, theirs, none;
	char tracking[256];
	scan s;
	int lockfd = -1, error, r;

	memset(rep, 0, sizeof(*rep));
	memset(&none, 0, sizeof(none));
	memset(&s, 0, sizeof(s));
	if (!ssync_exchange_remote_name_valid(remote))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", remote ? remote : "");
	snprintf(rep->remote, sizeof(rep->remote), "%s", remote);
	snprintf(rep->branch, sizeof(rep->branch), "refs/heads/node/%s", ssync_node_id(n));
	snprintf(tracking, sizeof(tracking), "refs/remotes/%s/node/%s", remote, ssync_node_id(n));
	if ((error = ssync_sync__lock(n, &lockfd, err)) < 0)
		return error;
	if ((error = ssync_node__exchange_open(n, 1, &ex, err)) < 0 ||
	    (error = ssync_exchange_fetch(ex, remote, &topts, err)) < 0)
		goto done;
	/* Nothing sealed, nothing there, or the remote not ahead of us: a plain
	 * sync pushes whatever is missing. */
	if ((r = ssync_exchange_ref_tip(ex, rep->branch, &mine, NULL)) == 0 &&
	    (r = ssync_exchange_ref_tip(ex, tracking, &theirs, NULL)) == 0 &&
	    strcmp(mine.hex, theirs.hex) != 0)
		r = ssync_exchange_descends(ex, &mine, &theirs, err);
	else if (r == 0)
		r = 1;
	if (r < 0 && r != SSYNC_ENOTFOUND) {
		error = r;
		goto done;
	}
	if (r != 0) {
		error = ssync_sync__push_problem(ssync_node_store(n), remote, NULL, err);
		goto done;
	}
	snprintf(rep->replaced, sizeof(rep->replaced), "%s", theirs.hex);
	/* Our branch first holds everything our log has, so the check below
	 * compares with what the remote will get. */
	{
		int64_t sealed = 0;
		char *v = NULL;
		if ((error = ssync_sync__seal(n, ex, &sealed, err)) < 0 ||
		    (error = ssync_exchange_ref_tip(ex, rep->branch, &mine, err)) < 0 ||
		    (error = ssync_store_meta_get(ssync_node_store(n), "exported_seq", &v, err)) < 0)
			goto done;
		s.exported = strtoll(v, NULL, 10);
		free(v);
	}
	/* What would be lost: every line of the remote's copy we signed must be in our log. */
	s.st = ssync_node_store(n);
	s.node = ssync_node_id(n);
	s.rep = rep;
	s.err = err;
	if (ssync_hex_decode(s.pk, SSYNC_PUBKEY_BYTES, ssync_node_pubkey_hex(n)) != 0) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "this node's public key is damaged");
		goto done;
	}
	{
		ssync_error rerr;
		ssync_error_clear(&rerr);
		r = ssync_exchange_added_files(ex, &none, &theirs, scan_file, &s, &rerr);
		if (s.error < 0) {
			error = s.error;
			goto done;
		}
		if (r < 0) {
			error = ssync_error_set(err, r, "remote %s: its copy of %s (%.12s) cannot be read to prove it holds "
				"nothing this node signed (%s); nothing was replaced", remote, rep->branch + strlen("refs/heads/"),
				theirs.hex, rerr.message);
			ssync_error_hint(err, "keep the evidence and ask the hub's admin to reset refs/heads/node/%s there "
				"(docs/OPERATIONS.md)", ssync_node_id(n));
			goto done;
		}
	}
	if (s.missing_seq > 0) {
		error = ssync_error_set(err, SSYNC_ECONFLICT, "remote %s holds entry %s#%lld signed by this node that this "
			"node's branch does not have; replacing the branch would lose it, so nothing was replaced",
			remote, s.node, (long long)s.missing_seq);
		ssync_error_hint(err, "was this home restored from an old backup? see docs/OPERATIONS.md \"Restoring a node\"");
		goto done;
	}
	if ((error = ssync_exchange_push_lease(ex, remote, rep->branch, &theirs, &topts, err)) < 0)
		goto done;
	snprintf(rep->tip, sizeof(rep->tip), "%s", mine.hex);
	rep->repaired = 1;
	error = ssync_sync__push_problem(ssync_node_store(n), remote, NULL, err);
done:
	ssync_exchange_free(ex);
	if (lockfd >= 0)
		close(lockfd);
	return error;
}
