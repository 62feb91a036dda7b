/* District trust (DESIGN §5, docs/TRUST.md). Trust objects -- genesis,
 * certificates, revocations -- are signed lines like entries (BODY TAB
 * SIG), canonical JSON whose first member names the kind, signed by the
 * district root. They live as files on refs/heads/district, a branch that
 * only ever adds files. A node with a pinned root (meta 'district_pubkey')
 * loads only objects that verify against it, takes signing keys only from
 * certificates, and judges every entry by the entry's own bytes, the trust
 * data and the log -- never its clock or arrival order. When trust data
 * changes under entries already held, the state is rebuilt from the log
 * (rebuild.c). This file: the object format, judging entries, receiving
 * the district branch; the admin's commands are in trust_admin.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "reenroll_int.h"
#include "trust_int.h"
#include "wevidence_int.h"
#include "witness_int.h"
#include "wobj_int.h"
#include "wreset_int.h"

/* ---- judging entries ---------------------------------------------------- */

/* ---- loading the district branch ----------------------------------------- */

typedef struct file_list {
	char **paths;
	char **datas;
	size_t *lens;
	int n, cap;
} file_list;

static void files_free(file_list *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		free(f->paths[i]);
		free(f->datas[i]);
	}
	free(f->paths);
	free(f->datas);
	free(f->lens);
	memset(f, 0, sizeof(*f));
}

static int collect_file(const char *path, const void *data, size_t len, void *payload)
{
	file_list *f = payload;

	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 16;
		char **p = realloc(f->paths, (size_t)cap * sizeof(char *));
		char **d;
		size_t *l;
		if (!p)
			return -1;
		f->paths = p;
		if (!(d = realloc(f->datas, (size_t)cap * sizeof(char *))))
			return -1;
		f->datas = d;
		if (!(l = realloc(f->lens, (size_t)cap * sizeof(size_t))))
			return -1;
		f->lens = l;
		f->cap = cap;
	}
	if (!(f->paths[f->n] = strdup(path)) || !(f->datas[f->n] = malloc(len + 1))) {
		free(f->paths[f->n]);
		return -1;
	}
	memcpy(f->datas[f->n], data, len);
	f->datas[f->n][len] = 0;
	f->lens[f->n] = len;
	f->n++;
	return 0;
}

static int store_obj(ssync_store *st, const ssync_tobj *t, const char *path, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT INTO ssync_trust_obj(path, kind, node, serial, body, sig) VALUES (?, ?, ?, ?, ?, ?)", err);
	int rc;

	ssync_store__trust_touch(st); /* readers cached from these tables are stale now (privseal.c) */
	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, t->kind == SSYNC_TOBJ_GENESIS ? "genesis" : t->kind == SSYNC_TOBJ_CERT ? "cert" :
		t->kind == SSYNC_TOBJ_REENROLL ? "reenroll" : t->kind == SSYNC_TOBJ_ROTATE ? "rotate" :
		t->kind == SSYNC_TOBJ_WRESET ? "wreset" : "revoke", -1, SQLITE_STATIC);
	if (t->kind == SSYNC_TOBJ_GENESIS) {
		sqlite3_bind_null(q, 3);
		sqlite3_bind_null(q, 4);
	} else {
		sqlite3_bind_text(q, 3, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, t->serial);
	}
	sqlite3_bind_text(q, 5, t->body, (int)t->body_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, t->sig, SSYNC_SIG_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "record trust object");
	if (t->kind == SSYNC_TOBJ_CERT) {
		if (!(q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_cert(node, serial, role, school_id, pubkey, valid_from, valid_until) "
			"VALUES (?, ?, ?, ?, ?, ?, ?)", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t->serial);
		sqlite3_bind_text(q, 3, t->role, -1, SQLITE_STATIC);
		if (t->school[0])
			sqlite3_bind_text(q, 4, t->school, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 4);
		sqlite3_bind_blob(q, 5, t->key, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(q, 6, t->valid_from);
		if (t->valid_until)
			sqlite3_bind_int64(q, 7, t->valid_until);
		else
			sqlite3_bind_null(q, 7);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record certificate");
		/* The peer table names the newest certified key (equivocation checks use it). */
		if (!(q = ssync_store__stmt(st, "SELECT max(serial) FROM ssync_cert WHERE node=?", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		/* an aggregate: always one row */
		if ((rc = ssync_store__step_row(st, q, "read certificates", err)) > 0)
			rc = sqlite3_column_int64(q, 0) == t->serial;
		sqlite3_reset(q);
		if (rc < 0)
			return rc;
		if (rc)
			return ssync_log__peer_add(st, t->node, t->key, t->role, t->school[0] ? t->school : NULL, "cert", err);
	} else if (t->kind == SSYNC_TOBJ_REENROLL) {
		return ssync_trust__reenroll_loaded(st, t, err);
	} else if (t->kind == SSYNC_TOBJ_WRESET) {
		return ssync_witness__reset_apply(st, t, err);
	} else if (t->kind == SSYNC_TOBJ_REVOKE) {
		if (!(q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_revocation(node, serial, after_seq) VALUES (?, ?, ?)", err)))
			return SSYNC_ERROR;
		sqlite3_bind_text(q, 1, t->node, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t->serial);
		sqlite3_bind_int64(q, 3, t->after_seq);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return ssync_store__sqlerr(st, err, "record revocation");
	}
	return 0;
}

/* Verify one file of the district branch; fills why on failure (returns 1). */
static int check_file(ssync_store *st, const unsigned char root[SSYNC_PUBKEY_BYTES], const char *district,
	const char *path, const char *data, size_t len, ssync_tobj *t, char *why, size_t whylen)
{
	ssync_error perr;
	char want[160];
	const char *nl = memchr(data, '\n', len);
	unsigned char signer[SSYNC_PUBKEY_BYTES];

	ssync_error_clear(&perr);
	if (!nl || (size_t)(nl - data) + 1 != len) {
		snprintf(why, whylen, "%s: not exactly one signed line (E_CERT)", path);
		return 1;
	}
	if (ssync_trust__tobj_parse(t, data, len, &perr) < 0) {
		snprintf(why, whylen, "%s: %s (E_CERT)", path, perr.message);
		return 1;
	}
	/* The root that signs an object is the one in office at its serial:
	 * the pinned root, handed over by each rotation below it (§3a). */
	if (t->kind == SSYNC_TOBJ_GENESIS) {
		/* self-signed by the root it names; that the pinned root is that
		 * one, or one it was rotated to, is checked once the whole update
		 * is in (load_files), since the rotations come after it */
		root = t->key;
	} else {
		/* a rotation is signed by the root before it; anything else by
		 * the root after every rotation up to its own serial, so an old
		 * root cannot take the rotation's serial either */
		int rr = ssync_trust__root_at(st, t->kind == SSYNC_TOBJ_ROTATE ? t->serial : t->serial + 1, signer);
		if (rr < 0) {
			snprintf(why, whylen, "%s: cannot read the district root's rotations (E_CERT)", path);
			return 1;
		}
		if (rr > 0 && ssync_keys_verify(root, t->body, t->body_len, t->sig) == 0) {
			snprintf(why, whylen, "%s: signed by a district root after it handed over to a new one (serial %lld "
				"follows its rotation) (E_ROOT)", path, (long long)t->serial);
			return 1;
		}
		root = signer;
	}
	if (ssync_keys_verify(root, t->body, t->body_len, t->sig) != 0) {
		snprintf(why, whylen, "%s: not signed by the pinned district root (E_CERT: forged or from another district)", path);
		return 1;
	}
	if (t->kind == SSYNC_TOBJ_ROTATE && sodium_memcmp(t->old_key, root, SSYNC_PUBKEY_BYTES) != 0) {
		snprintf(why, whylen, "%s: names another old root than the one in office (E_ROOT)", path);
		return 1;
	}
	if (strcmp(t->district, district) != 0) {
		snprintf(why, whylen, "%s: belongs to district %s, not %s (E_DISTRICT)", path, t->district, district);
		return 1;
	}
	ssync_trust__tobj_path(t, want, sizeof(want));
	if (strcmp(want, path) != 0) {
		snprintf(why, whylen, "%s: object must be stored as %s (E_CERT)", path, want);
		return 1;
	}
	return 0;
}

/* the load pass of the hub's checkpoints (witness.c): after every kind of object */
#define PASS_WITNESS 100

/* district/root.<serial>.rotate and district/witness.<serial>.reset: the
 * serial (each kind loads in serial order); every other file sorts after */
static long long rotate_serial(const char *path)
{
	if (strncmp(path, "district/root.", 14) == 0)
		return strtoll(path + 14, NULL, 10);
	if (strncmp(path, "district/witness.", 17) == 0)
		return strtoll(path + 17, NULL, 10);
	return LLONG_MAX;
}

int ssync_trust__load_files(ssync_store *st, int n, char *const *paths, char *const *datas, const size_t *lens,
	int *changed, int *bad, char *why, size_t whylen, ssync_error *err)
{
	static const int passes[] = { SSYNC_TOBJ_GENESIS, SSYNC_TOBJ_ROTATE, SSYNC_TOBJ_CERT, SSYNC_TOBJ_REVOKE,
		SSYNC_TOBJ_REENROLL, SSYNC_TOBJ_WRESET, PASS_WITNESS };
	unsigned char root[SSYNC_PUBKEY_BYTES];
	char *district = NULL;
	int error = 0, i, pass, pi, oi, in_tx = 0, hg, rs, *order = NULL;

	*changed = 0;
	*bad = 0;
	why[0] = 0;
	if (ssync_trust__pinned_root(st, root) != 0)
		return ssync_error_set(err, SSYNC_ECERT, "no district root is pinned on this node");
	/* objects are judged from the genesis root on (the pinned one may be a
	 * root it was rotated to, §3a) */
	if ((error = ssync_trust__genesis_root(st, root, err)) < 0 && error != SSYNC_ENOTFOUND)
		return error;
	error = 0;
	if ((error = ssync_store_meta_get(st, "district", &district, err)) < 0)
		return error;
	if ((error = ssync_store_begin(st, err)) < 0)
		goto done;
	in_tx = 1;
	/* Genesis first, then certificates, revocations, re-enrolments, then
	 * the hub's checkpoints (in path order = position order), verified
	 * against the certificates. */
	/* Root rotations right after the genesis, in serial order: each names
	 * the root in office before it (§3a). */
	if (n > 0 && !(order = malloc((size_t)n * sizeof(int)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) {
		int k = order[i], j = i;
		while (j > 0 && rotate_serial(paths[order[j - 1]]) > rotate_serial(paths[k])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	for (pi = 0; pi < (int)(sizeof(passes) / sizeof(passes[0])) && !*bad; pi++) {
		pass = passes[pi];
		for (oi = 0; oi < n && !*bad; oi++) {
			ssync_tobj t;
			size_t pl;
			int kind;
			i = order[oi];
			pl = strlen(paths[i]);
			kind = strncmp(paths[i], "district/root.", 14) == 0 ? SSYNC_TOBJ_ROTATE :
				strncmp(paths[i], "district/witness.", 17) == 0 ? SSYNC_TOBJ_WRESET :
				strncmp(paths[i], "district/", 9) == 0 ? SSYNC_TOBJ_GENESIS :
				strncmp(paths[i], "certs/", 6) == 0 && pl > 9 && !strcmp(paths[i] + pl - 9, ".reenroll") ?
				SSYNC_TOBJ_REENROLL :
				strncmp(paths[i], "certs/", 6) == 0 ? SSYNC_TOBJ_CERT :
				strncmp(paths[i], "revocations/", 12) == 0 ? SSYNC_TOBJ_REVOKE :
				ssync_witness__path_pos(paths[i]) > 0 ? PASS_WITNESS : 0;
			if (kind == 0) {
				*bad = SSYNC_ECERT;
				snprintf(why, whylen, "%s: unexpected file on the district branch (E_CERT)", paths[i]);
				break;
			}
			if (kind != pass)
				continue;
			if (kind == PASS_WITNESS) {
				if ((hg = ssync_witness__load(st, district, paths[i], datas[i], lens[i], why, whylen, err)) < 0) {
					error = hg;
					goto done;
				}
				/* not counted in *changed: a checkpoint changes no
				 * certificate (the caller asks witness.c) */
				if (hg)
					*bad = SSYNC_ECERT;
				continue;
			}
			if (check_file(st, root, district, paths[i], datas[i], lens[i], &t, why, whylen)) {
				*bad = SSYNC_ECERT;
			} else if (t.kind != kind) {
				*bad = SSYNC_ECERT;
				snprintf(why, whylen, "%s: holds the wrong kind of object (E_CERT)", paths[i]);
			} else if ((hg = ssync_trust__have_genesis(st, err)) < 0) {
				error = hg;
				ssync_trust__tobj_clear(&t);
				goto done;
			} else if (t.kind == SSYNC_TOBJ_WRESET && hg &&
				   (rs = ssync_witness__reset_check(st, &t, why, whylen, err)) != 0) {
				if (rs < 0) {
					error = rs;
					ssync_trust__tobj_clear(&t);
					goto done;
				}
				*bad = SSYNC_ECERT;
			} else if (t.kind == SSYNC_TOBJ_GENESIS && hg) {
				*bad = SSYNC_ECERT;
				snprintf(why, whylen, "%s: a second genesis record (E_ROOT)", paths[i]);
			} else if (t.kind != SSYNC_TOBJ_GENESIS && !hg) {
				*bad = SSYNC_ECERT;
				snprintf(why, whylen, "%s: district branch has no genesis record (E_CERT)", paths[i]);
			} else if ((error = store_obj(st, &t, paths[i], err)) < 0) {
				ssync_trust__tobj_clear(&t);
				goto done;
			} else {
				(*changed)++;
				if (t.kind == SSYNC_TOBJ_GENESIS)
					memcpy(root, t.key, SSYNC_PUBKEY_BYTES);
			}
			ssync_trust__tobj_clear(&t);
		}
	}
	/* The root this node pinned at join must be the genesis root or one the
	 * rotations held hand over to: a branch that never reaches it is not
	 * this district's (§3a). */
	if (!*bad && (hg = ssync_trust__pinned_reached(st, err)) <= 0) {
		if (hg < 0) {
			error = hg;
			goto done;
		}
		*bad = SSYNC_ECERT;
		snprintf(why, whylen, "not signed by the pinned district root: the genesis record names another root and "
			"no rotation held hands over to the pinned one (E_ROOT: another district, or a copy of the branch "
			"older than the rotation to it)");
	}
	if (*bad) {
		ssync_store_rollback(st);
		in_tx = 0;
		*changed = 0;
		goto done;
	}
	error = ssync_store_commit(st, err);
	in_tx = 0;
done:
	if (in_tx)
		ssync_store_rollback(st);
	free(order);
	free(district);
	return error;
}

int ssync_trust__load_branch(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *from,
	const ssync_oid_hex *to, int *changed, int *bad, char *why, size_t whylen, ssync_error *err)
{
	file_list f;
	int error = 0;
	ssync_error lerr;

	*changed = 0;
	*bad = 0;
	why[0] = 0;
	memset(&f, 0, sizeof(f));
	if (!ssync_trust_managed(st))
		return ssync_error_set(err, SSYNC_ECERT, "no district root is pinned on this node");
	ssync_error_clear(&lerr);
	/* Nothing odd is loaded or relayed (a tree git fsck refuses stops here). */
	if ((error = ssync_exchange_check_shape(ex, SSYNC_SHAPE_DISTRICT, from, to, NULL, &lerr)) == SSYNC_ECORRUPT) {
		*bad = SSYNC_ECORRUPT;
		snprintf(why, whylen, "%s (E_CORRUPT)", lerr.message);
		error = 0;
		goto done;
	} else if (error < 0) {
		if (err && !err->code)
			*err = lerr;
		goto done;
	}
	error = ssync_exchange_added_files(ex, from, to, collect_file, &f, &lerr);
	if (error == SSYNC_EREWRITE) {
		*bad = SSYNC_EREWRITE;
		snprintf(why, whylen, "district branch changed or removed an existing file (E_REWRITE: possible rollback attack)");
		error = 0;
		goto done;
	}
	if (error != 0) {
		if (error > 0 || !lerr.message[0])
			error = ssync_error_set(err, error < 0 ? error : SSYNC_ERROR, "read district branch");
		else if (err && !err->code)
			*err = lerr;
		goto done;
	}
	error = ssync_trust__load_files(st, f.n, f.paths, f.datas, f.lens, changed, bad, why, whylen, err);
done:
	files_free(&f);
	return error;
}

int ssync_trust__receive_district(ssync_store *st, ssync_exchange *ex, const char *remote,
	int *rewritten, int64_t *quarantined, ssync_error *err)
{
	char rref[160], why[512];
	ssync_oid_hex rtip, ltip;
	int error, d, changed = 0, bad = 0;
	int64_t wtime = 0, wfrom = 0;

	if (!ssync_trust_managed(st))
		return 0;
	snprintf(rref, sizeof(rref), "refs/remotes/%s/district", remote);
	if ((error = ssync_exchange_ref_tip(ex, rref, &rtip, NULL)) == SSYNC_ENOTFOUND)
		return 0;
	if (error < 0)
		return ssync_error_set(err, error, "read %s", rref);
	memset(&ltip, 0, sizeof(ltip));
	if ((error = ssync_exchange_ref_tip(ex, SSYNC_DISTRICT_REF, &ltip, NULL)) < 0 && error != SSYNC_ENOTFOUND)
		return ssync_error_set(err, error, "read %s", SSYNC_DISTRICT_REF);
	if (strcmp(ltip.hex, rtip.hex) == 0)
		return 0;
	if (ltip.hex[0]) {
		if ((d = ssync_exchange_descends(ex, &ltip, &rtip, err)) < 0)
			return d;
		if (d)
			return 0; /* the remote is behind: the push brings it up */
		if ((d = ssync_exchange_descends(ex, &rtip, &ltip, err)) < 0)
			return d;
		if (!d) {
			int forks = 0;
			/* A hub showing different checkpoints to different nodes is
			 * caught here: keep its other signed checkpoint as evidence. */
			if ((error = ssync_witness__fork_scan(st, ex, &rtip, remote, &forks, err)) < 0)
				return error;
			*quarantined += forks;
			snprintf(why, sizeof(why), "district branch on remote %s was rewritten (not a fast-forward of %.12s); "
				"ours is kept (E_REWRITE: possible rollback attack)", remote, ltip.hex);
			(*rewritten)++;
			(*quarantined)++;
			return ssync_trust__quarantine(st, "district", 0, ssync_error_name(SSYNC_EREWRITE), why, rtip.hex, strlen(rtip.hex), remote, err);
		}
	}
	if ((error = ssync_witness__latest(st, &wtime, &wfrom, err)) < 0)
		return error;
	if ((error = ssync_trust__load_branch(st, ex, &ltip, &rtip, &changed, &bad, why, sizeof(why), err)) < 0)
		return error;
	if (bad) {
		char msg[600];
		snprintf(msg, sizeof(msg), "district branch on remote %s refused: %s", remote, why);
		(*quarantined)++;
		if (bad == SSYNC_EREWRITE)
			(*rewritten)++;
		return ssync_trust__quarantine(st, "district", 0, ssync_error_name(bad),
			msg, rtip.hex, strlen(rtip.hex), remote, err);
	}
	if ((error = ssync_exchange_ref_update(ex, SSYNC_DISTRICT_REF, &rtip, &ltip, "sync: district fast-forward", err)) < 0)
		return error;
	return ssync_trust__after_load(st, changed, wfrom, err);
}

int ssync_trust__after_load(ssync_store *st, int changed, int64_t wfrom, ssync_error *err)
{
	ssync_trust_rebuild_report rep;
	int64_t wtime = 0, wcount = 0;
	int r = 0;

	if (changed && ssync_trust__need_rebuild(st))
		return ssync_trust_rebuild(st, &rep, err);
	/* New checkpoints: rebuild only if a verdict on an entry held can change. */
	if ((r = ssync_witness__latest(st, &wtime, &wcount, err)) < 0)
		return r;
	if (wcount == wfrom || (r = ssync_witness__need_rebuild(st, wfrom, err)) <= 0)
		return r;
	return ssync_trust_rebuild(st, &rep, err);
}
