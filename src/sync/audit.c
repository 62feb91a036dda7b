/* Audit: verify an exchange repository from the district's public key
 * alone, and trace every change of a record. Verification runs the same
 * code receivers run (trust loading, ingest, policy, rebuild) against an
 * in-memory replica, after checking that every commit of every branch only
 * added files -- so a history edited in place is caught even though the
 * auditor never saw an earlier copy of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "audit_int.h"
#include "ingest_int.h"
#include "log_int.h"
#include "reenroll_int.h"
#include "schoolsync/audit.h"
#include "schoolsync/exchange.h"
#include "schoolsync/hlc.h"
#include "schoolsync/home.h"
#include "trust_int.h"
#include "wevidence_int.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* Commits of @p ref, oldest first, following first parents. */
typedef struct oid_list { ssync_oid_hex *v; int n; } oid_list;

static int list_commits(ssync_exchange *ex, const char *ref, oid_list *out, ssync_error *err)
{
	ssync_oid_hex tip;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = ssync_exchange_ref_tip(ex, ref, &tip, err)) < 0)
		return error;
	return ssync_exchange_first_parents(ex, &tip, &out->v, &out->n, err);
}

typedef struct refs_ctx { char (*names)[SSYNC_BRANCH_NAME_MAX + 1]; int n, cap; size_t plen; } refs_ctx;

static int collect_ref(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	refs_ctx *r = payload;
	const char *node = ref + r->plen;

	(void)tip;
	if (!ssync_ident_branch_parse(node, NULL, NULL))
		return 0;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 32;
		void *nv = realloc(r->names, (size_t)cap * sizeof(*r->names));
		if (!nv)
			return -1;
		r->names = nv;
		r->cap = cap;
	}
	snprintf(r->names[r->n++], SSYNC_BRANCH_NAME_MAX + 1, "%s", node);
	return 0;
}

typedef struct feed_ctx {
	ssync_ingest *in;
	int stopped, error;
	int64_t lines;
	ssync_error *err;
} feed_ctx;

static int feed_segment(const char *path, const void *data, size_t len, void *payload)
{
	feed_ctx *f = payload;
	int r;

	if (strncmp(path, "seg/", 4) != 0)
		return 0;
	r = ssync_ingest__feed(f->in, data, len, &f->lines, NULL, NULL, f->err);
	if (r < 0)
		f->error = r;
	else if (r > 0)
		f->stopped = 1;
	return r != 0;
}

int ssync_audit__district(ssync_store *st, ssync_exchange *ex, const ssync_oid_hex *dl, int n, int64_t *objects,
	int *bad, char *why, size_t whylen, ssync_error *err)
{
	ssync_oid_hex empty;
	char reason[512];
	int i, error;

	memset(&empty, 0, sizeof(empty));
	*bad = 0;
	for (i = 0; i < n; i++) {
		int changed = 0;
		if ((error = ssync_trust__load_branch(st, ex, i ? &dl[i - 1] : &empty, &dl[i], &changed, bad, reason,
				sizeof(reason), err)) < 0)
			return error;
		if (*bad) {
			snprintf(why, whylen, "district commit %.12s: %s", dl[i].hex, reason);
			return 0;
		}
		*objects += changed;
	}
	return 0;
}

int ssync_audit__node(ssync_store *st, ssync_exchange *ex, const char *district, const char *node,
	const char *source, const ssync_oid_hex *cl, int n, int *stopped, int64_t *lines, char *why, size_t whylen,
	ssync_error *err)
{
	ssync_oid_hex empty;
	feed_ctx f;
	int error = 0, i, gen = 1;
	char id[SSYNC_NODE_ID_MAX + 1];

	memset(&empty, 0, sizeof(empty));
	memset(&f, 0, sizeof(f));
	f.err = err;
	*stopped = 0;
	/* node/<id>.g<N>: key generation N of node id (TRUST.md §5a) */
	if (!ssync_ident_branch_parse(node, id, &gen))
		return ssync_error_set(err, SSYNC_EINVAL, "not a node branch: %s", node);
	if ((error = ssync_ingest__begin_gen(&f.in, st, district, id, gen, source, err)) < 0)
		return error;
	for (i = 0; i < n && !f.stopped; i++) {
		ssync_error lerr;
		ssync_error_clear(&lerr);
		error = ssync_exchange_added_files(ex, i ? &cl[i - 1] : &empty, &cl[i], feed_segment, &f, &lerr);
		if (error == SSYNC_EREWRITE) {
			snprintf(why, whylen, "branch node/%s: commit %.12s changed or removed a file an earlier commit added "
				"(E_REWRITE: history edited in place)", node, cl[i].hex);
			f.stopped = 2;
			error = 0;
		} else if (f.error < 0) {
			error = f.error;
		} else if (error < 0) {
			if (err && !err->code)
				*err = lerr;
		} else {
			error = 0;
		}
		if (error < 0)
			break;
	}
	if (error < 0) {
		(void)ssync_ingest__end(f.in, 1, NULL, NULL);
		return error;
	}
	if (f.stopped == 1)
		snprintf(why, whylen, "%s", ssync_ingest__stop_reason(f.in));
	*stopped = f.stopped == 1 && ssync_ingest__stop_void(f.in) ? 3 : f.stopped;
	*lines = f.lines;
	return ssync_ingest__end(f.in, 0, NULL, err);
}

static int finding(ssync_audit_finding_cb cb, void *payload, ssync_audit_report *rep, int fatal,
	const char *node, int64_t seq, const char *code, const char *reason)
{
	if (fatal)
		rep->failures++;
	return cb ? cb(fatal, node, seq, code, reason, payload) : 0;
}

/* The district id the genesis record claims (verified when loaded). */
int ssync_audit__genesis_district(ssync_exchange *ex, const ssync_oid_hex *tip, char *out, size_t len)
{
	void *data = NULL;
	size_t n = 0;
	json_t *o;
	const char *tab;
	int r = -1;

	if (ssync_exchange_read_file(ex, tip, "district/genesis.json", &data, &n, NULL) < 0)
		return -1;
	tab = memchr(data, '\t', n);
	if (tab && (o = json_loadb(data, (size_t)(tab - (const char *)data), 0, NULL))) {
		const char *d = json_string_value(json_object_get(o, "district"));
		if (d && ssync_ident_node_valid(d)) {
			snprintf(out, len, "%s", d);
			r = 0;
		}
		json_decref(o);
	}
	free(data);
	return r;
}

static int report_refused(ssync_store *st, ssync_audit_finding_cb cb, void *payload, ssync_audit_report *rep,
	ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT q.node, q.seq, q.code, q.reason FROM ssync_quarantine q "
		"JOIN ssync_entry e ON e.node=q.node AND e.seq=q.seq AND e.state IN (2,3) "
		"WHERE q.source='rebuild' ORDER BY q.node, q.seq", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read refused entries");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		finding(cb, payload, rep, 0, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
			(const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3));
	/* A busy or failed read must not pass for "nothing refused". */
	rc = rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read refused entries");
	sqlite3_finalize(q);
	return rc;
}

/* Evidence of hub equivocation the repository holds (TRUST.md §4a),
 * judged as a receiver judges it: good evidence is a failure (the hub
 * signed two checkpoints for one position), junk a finding that is not. */
static int report_evidence(ssync_exchange *ex, ssync_store *st, ssync_audit_finding_cb cb, void *payload,
	ssync_audit_report *rep, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int64_t qn = 0;
	int rc, error;

	if ((error = ssync_witness__evidence_receive(st, ex, "src", &qn, err)) < 0)
		return error;
	if (qn == 0)
		return 0;
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT node, seq, code, reason FROM ssync_quarantine "
		"WHERE node IN ('witness', 'evidence') ORDER BY node DESC, seq", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read hub-equivocation evidence");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		finding(cb, payload, rep, strcmp((const char *)sqlite3_column_text(q, 0), "witness") == 0,
			(const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
			(const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3));
	rc = rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read hub-equivocation evidence");
	sqlite3_finalize(q);
	return rc;
}

static int audit_repo(ssync_exchange *ex, ssync_store *st, const char *root_hex,
	ssync_audit_finding_cb cb, void *payload, ssync_audit_report *rep, ssync_error *err)
{
	oid_list dl;
	refs_ctx nodes;
	ssync_oid_hex dtip;
	char district[SSYNC_NODE_ID_MAX + 1], why[768];
	int error = 0, j;

	memset(&dl, 0, sizeof(dl));
	memset(&nodes, 0, sizeof(nodes));
	if (ssync_exchange_ref_tip(ex, "refs/remotes/src/district", &dtip, NULL) < 0) {
		finding(cb, payload, rep, 1, "district", 0, ssync_error_name(SSYNC_ECERT), "the repository has no district branch (refs/heads/district)");
		return 0;
	}
	if (ssync_audit__genesis_district(ex, &dtip, district, sizeof(district)) < 0) {
		finding(cb, payload, rep, 1, "district", 0, ssync_error_name(SSYNC_ECERT), "the district branch has no readable genesis record");
		return 0;
	}
	if ((error = ssync_store_meta_set(st, "district", district, err)) < 0 ||
	    (error = ssync_store_meta_set(st, "district_pubkey", root_hex, err)) < 0)
		return error;
	/* The district branch, commit by commit. */
	if ((error = list_commits(ex, "refs/remotes/src/district", &dl, err)) < 0)
		goto done;
	{
		int bad = 0;
		if ((error = ssync_audit__district(st, ex, dl.v, dl.n, &rep->trust_objects, &bad, why, sizeof(why), err)) < 0)
			goto done;
		if (bad) {
			finding(cb, payload, rep, 1, "district", 0, ssync_error_name(bad), why);
			goto done; /* nothing after a bad trust object can be judged */
		}
	}
	if ((error = report_evidence(ex, st, cb, payload, rep, err)) < 0)
		goto done;
	/* Every node branch, commit by commit, through the receivers' ingest. */
	nodes.plen = strlen("refs/remotes/src/node/");
	if ((error = ssync_exchange_refs(ex, "refs/remotes/src/node/", collect_ref, &nodes, err)) < 0)
		goto done;
	for (j = 0; j < nodes.n; j++) {
		char ref[160], source[160];
		oid_list cl;
		int stopped = 0;
		int64_t lines = 0;
		snprintf(ref, sizeof(ref), "refs/remotes/src/node/%s", nodes.names[j]);
		snprintf(source, sizeof(source), "audit:node/%s", nodes.names[j]);
		rep->nodes++;
		if ((error = list_commits(ex, ref, &cl, err)) < 0)
			goto done;
		error = ssync_audit__node(st, ex, district, nodes.names[j], source, cl.v, cl.n, &stopped, &lines, why,
			sizeof(why), err);
		free(cl.v);
		if (error < 0)
			goto done;
		if (stopped == 2) {
			finding(cb, payload, rep, 1, nodes.names[j], 0, ssync_error_name(SSYNC_EREWRITE), why);
		} else if (stopped == 1 || stopped == 3) {
			/* The stop reason is "node#seq: reason (E_CODE)". */
			const char *h = strchr(why, '#');
			const char *code = strstr(why, "(E_");
			char cbuf[32];
			snprintf(cbuf, sizeof(cbuf), "%s", ssync_error_name(SSYNC_D_VERIFY));
			if (code) {
				size_t k = 0;
				code++;
				while (code[k] && code[k] != ')' && code[k] != ':' && k < sizeof(cbuf) - 1) {
					cbuf[k] = code[k];
					k++;
				}
				cbuf[k] = 0;
			}
			/* a re-enrolled node's old-key entries above the cut are void on
			 * every replica by design (TRUST.md §5a): shown, not a failure */
			finding(cb, payload, rep, stopped != 3, nodes.names[j],
				h ? strtoll(h + 1, NULL, 10) : 0, cbuf, why);
		}
		rep->entries += lines;
	}
	/* The state every honest replica converges on: a replay in causal order. */
	{
		ssync_trust_rebuild_report rr;
		if ((error = ssync_trust_rebuild(st, &rr, err)) < 0)
			goto done;
		rep->applied = rr.applied;
		rep->refused = rr.refused;
		rep->held = rr.held;
	}
	if ((error = report_refused(st, cb, payload, rep, err)) < 0)
		goto done;
	error = ssync_store_state_hash(st, rep->state_hash, err);
done:
	free(dl.v);
	free(nodes.names);
	return error;
}

/* Fetch @p repo into a scratch bare repository under @p tmp (created here)
 * and audit it into an in-memory replica: what verify and history --repo
 * both read. The caller frees with scratch_free, also on failure. */
static int scratch_audit(const char *repo, const char *root_hex, ssync_audit_finding_cb cb, void *payload,
	ssync_audit_report *rep, char tmp[4096], ssync_exchange **exo, ssync_store **sto, ssync_error *err)
{
	char rpath[4200], url[4096];
	const char *base = getenv("TMPDIR");
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	ssync_transfer_opts topts = SSYNC_TRANSFER_OPTS_INIT;
	int error = 0;

	tmp[0] = 0;
	*exo = NULL;
	*sto = NULL;
	memset(rep, 0, sizeof(*rep));
	if (!root_hex || ssync_hex_decode(pk, SSYNC_PUBKEY_BYTES, root_hex) != 0)
		return ssync_error_set(err, SSYNC_EINVAL, "--district-pubkey must be the district root public key (64 hex)");
	if (!repo || !*repo)
		return ssync_error_set(err, SSYNC_EINVAL, "--repo PATH|URL is required");
	if (repo[0] != '/' && !strstr(repo, "://") && realpath(repo, url))
		repo = url;
	snprintf(tmp, 4096, "%s/ssync-audit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		tmp[0] = 0;
		return ssync_error_set(err, SSYNC_EIO, "create a scratch directory in %s", base && *base ? base : "/tmp");
	}
	snprintf(rpath, sizeof(rpath), "%s/repo.git", tmp);
	if ((error = ssync_exchange_open(exo, rpath, 1, err)) < 0 ||
	    (error = ssync_exchange_remote_add(*exo, "src", repo, err)) < 0 ||
	    (error = ssync_exchange_fetch(*exo, "src", &topts, err)) < 0 ||
	    (error = ssync_store_open(sto, ":memory:", SSYNC_STORE_CREATE, err)) < 0)
		return error;
	return audit_repo(*exo, *sto, root_hex, cb, payload, rep, err);
}

static void scratch_free(const char *tmp, ssync_exchange *ex, ssync_store *st)
{
	ssync_store_free(st);
	ssync_exchange_free(ex);
	if (tmp[0])
		(void)nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* the scratch clone */
}

int ssync_audit_verify(const char *repo, const char *root_hex, ssync_audit_finding_cb cb, void *payload,
	ssync_audit_report *rep, ssync_error *err)
{
	char tmp[4096];
	ssync_exchange *ex = NULL;
	ssync_store *st = NULL;
	int error;

	git_libgit2_init();
	if ((error = scratch_audit(repo, root_hex, cb, payload, rep, tmp, &ex, &st, err)) == 0 && rep->failures > 0)
		error = ssync_error_set(err, SSYNC_ECORRUPT, "audit failed: %lld problem(s) found", (long long)rep->failures);
	scratch_free(tmp, ex, st);
	git_libgit2_shutdown();
	return error;
}

/* ---- history ------------------------------------------------------------- */

typedef struct seg_map { int64_t *first; int *gen; ssync_oid_hex *commit; int n, cap; } seg_map;

typedef struct seg_ctx { seg_map *m; const ssync_oid_hex *commit; int gen; } seg_ctx;

static int note_segment(const char *path, const void *data, size_t len, void *payload)
{
	seg_ctx *c = payload;
	const char *slash = strrchr(path, '/');
	seg_map *m = c->m;

	(void)data;
	(void)len;
	if (strncmp(path, "seg/", 4) != 0 || !slash)
		return 0;
	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 64;
		int64_t *f = realloc(m->first, (size_t)cap * sizeof(int64_t));
		ssync_oid_hex *co;
		int *g;
		if (!f)
			return -1;
		m->first = f;
		if (!(co = realloc(m->commit, (size_t)cap * sizeof(*co))))
			return -1;
		m->commit = co;
		if (!(g = realloc(m->gen, (size_t)cap * sizeof(int))))
			return -1;
		m->gen = g;
		m->cap = cap;
	}
	m->first[m->n] = strtoll(slash + 1, NULL, 10);
	m->gen[m->n] = c->gen;
	m->commit[m->n] = *c->commit;
	m->n++;
	return 0;
}

/* Which commit published each segment of @p node's branches (every key
 * generation, node/<id>[.g<G>] under @p prefix) in @p ex; none if NULL. */
static void load_seg_map(ssync_exchange *ex, const char *prefix, const char *node, seg_map *m)
{
	char ref[160], id[SSYNC_NODE_ID_MAX + 1];
	refs_ctx names;
	oid_list cl;
	ssync_oid_hex empty;
	int i, j, gen;

	memset(m, 0, sizeof(*m));
	memset(&empty, 0, sizeof(empty));
	memset(&names, 0, sizeof(names));
	if (!ex)
		return;
	names.plen = strlen(prefix);
	snprintf(ref, sizeof(ref), "%s%s", prefix, node);
	if (ssync_exchange_refs(ex, ref, collect_ref, &names, NULL) < 0) {
		free(names.names);
		return;
	}
	for (j = 0; j < names.n; j++) {
		if (!ssync_ident_branch_parse(names.names[j], id, &gen) || strcmp(id, node) != 0)
			continue; /* another node whose id starts with this one */
		snprintf(ref, sizeof(ref), "%s%s", prefix, names.names[j]);
		if (list_commits(ex, ref, &cl, NULL) == 0) {
			for (i = 0; i < cl.n; i++) {
				seg_ctx c = { m, &cl.v[i], gen };
				if (ssync_exchange_added_files(ex, i ? &cl.v[i - 1] : &empty, &cl.v[i], note_segment, &c, NULL) < 0)
					break;
			}
		}
		free(cl.v);
	}
	free(names.names);
}

/* The commit of @p gen's branch whose segment holds @p seq (a re-enrolled
 * node's generations share seqs above a cut: the void old key's and the new). */
static const char *commit_of(const seg_map *m, int64_t seq, int gen)
{
	int i, best = -1;

	for (i = 0; i < m->n; i++)
		if (m->gen[i] == gen && m->first[i] <= seq && (best < 0 || m->first[i] > m->first[best]))
			best = i;
	return best < 0 ? "" : m->commit[best].hex;
}

typedef struct node_info {
	char node[SSYNC_NODE_ID_MAX + 1];
	char school[SSYNC_NODE_ID_MAX + 1];
	char role[16];
	seg_map segs;
} node_info;

const char *ssync_audit_state_name(int s)
{
	return s == 1 ? "applied" : s == 2 ? "held" : s == 3 ? "refused" : s == 4 ? "withdrawn" : "unknown";
}

char *ssync_audit_change_json(const ssync_audit_change *c, const char *old_json, const char *new_json)
{
	const char *oj = old_json ? old_json : c->old_json, *nj = new_json ? new_json : c->new_json;
	json_t *o = oj ? json_loads(oj, JSON_DECODE_ANY, NULL) : NULL;
	json_t *nw = nj ? json_loads(nj, JSON_DECODE_ANY, NULL) : NULL;
	json_t *r = json_pack("{sI ss? ss? sI ss? ss? ss? ss? so so ss? ss? sb ss ss}", "hlc", (json_int_t)c->hlc, "time", c->time,
		"node", c->node, "seq", (json_int_t)c->seq, "school", c->school, "role", c->role, "actor", c->actor,
		"column", c->column, "old", o ? o : json_null(), "new", nw ? nw : json_null(), "hash", c->hash,
		"commit", c->commit, "conflict", c->conflict, "state", ssync_audit_state_name(c->state),
		"signature", c->sig_ok ? "ok" : "bad");
	char *text = r ? json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(r);
	return text;
}

/* Every change of (@p table, @p pk) in @p st's log; the publishing commits
 * from @p ex's node branches under @p prefix. */
static int history_store(ssync_store *st, ssync_exchange *ex, const char *prefix, const char *table, const char *pk,
	ssync_audit_change_cb cb, void *payload, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	json_t *versions = json_object(), *leaves = json_object();
	node_info *nodes = NULL;
	int nnodes = 0, error = 0, rc;
	char needle[400];

	if (!versions || !leaves) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (!table || !ssync_store_is_table(st, table)) {
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "no replicated table '%s'", table ? table : "");
		goto done;
	}
	snprintf(needle, sizeof(needle), "{\"t\":\"%s\",", table);
	if (sqlite3_prepare_v2(ssync_store__db(st), "SELECT node, seq, body, sig, state FROM ssync_entry "
		"WHERE instr(body, ?) > 0 ORDER BY hlc, node, seq", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "read log");
		goto done;
	}
	sqlite3_bind_text(q, 1, needle, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char hash[65], when[40];
		ssync_entry *e = NULL;
		node_info *ni = NULL;
		json_t *op;
		size_t i, k;
		int state = sqlite3_column_int(q, 4), sig_ok, gen = 1;

		if (ssync_log__parse_row(q, 2, 3, "?", 0, &e, NULL) < 0)
			continue;
		for (k = 0; k < (size_t)nnodes; k++)
			if (strcmp(nodes[k].node, e->node) == 0)
				ni = &nodes[k];
		if (!ni) {
			node_info *nv = realloc(nodes, (size_t)(nnodes + 1) * sizeof(*nv));
			sqlite3_stmt *pq;
			if (!nv) {
				ssync_entry_free(e);
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			nodes = nv;
			ni = &nodes[nnodes++];
			memset(ni, 0, sizeof(*ni));
			snprintf(ni->node, sizeof(ni->node), "%s", e->node);
			/* The certificate that covers the entry would be exact; the newest is what we show. */
			if ((pq = ssync_store__stmt(st, "SELECT role, ifnull(school_id,'') FROM ssync_cert WHERE node=? ORDER BY serial DESC LIMIT 1", NULL))) {
				sqlite3_bind_text(pq, 1, e->node, -1, SQLITE_STATIC);
				int prc = sqlite3_step(pq);
				if (prc == SQLITE_ROW) {
					snprintf(ni->role, sizeof(ni->role), "%s", (const char *)sqlite3_column_text(pq, 0));
					snprintf(ni->school, sizeof(ni->school), "%s", (const char *)sqlite3_column_text(pq, 1));
				} else if (prc != SQLITE_DONE) {
					error = ssync_store__sqlerr(st, err, "read certificate");
				}
				sqlite3_reset(pq);
			}
			if (error < 0) {
				ssync_entry_free(e);
				break;
			}
			load_seg_map(ex, prefix, e->node, &ni->segs);
		}
		{
			ssync_gen g[SSYNC_GENS_MAX];
			int ng = 0;
			if ((error = ssync_trust__gens(st, e->node, g, &ng, err)) < 0) {
				ssync_entry_free(e);
				break;
			}
			gen = (int)ssync_trust__gen_of(g, ng, e->seq);
		}
		ssync_hex_encode(hash, e->hash, SSYNC_HASH_BYTES);
		ssync_hlc_format(e->hlc, when, sizeof(when));
		sig_ok = ssync_log__sig_ok(st, e);
		json_array_foreach(e->ops, i, op) {
			json_t *cell;
			size_t c;
			if (strcmp(json_string_value(json_object_get(op, "t")), table) != 0 ||
			    strcmp(json_string_value(json_object_get(op, "k")), pk) != 0)
				continue;
			json_array_foreach(json_object_get(op, "c"), c, cell) {
				const char *col = json_string_value(json_array_get(cell, 0));
				json_t *prevs = json_array_get(cell, 2), *old = json_array(), *p, *lv;
				char vid[SSYNC_NODE_ID_MAX + 32], key[SSYNC_NODE_ID_MAX + 300];
				char *oldj, *newj;
				ssync_audit_change ch;
				size_t pi;

				snprintf(vid, sizeof(vid), "%s#%lld", e->node, (long long)e->seq);
				if (!(lv = json_object_get(leaves, col))) {
					lv = json_array();
					json_object_set_new(leaves, col, lv);
				}
				json_array_foreach(prevs, pi, p) {
					json_t *ov;
					size_t li;
					snprintf(key, sizeof(key), "%s|%s", col, json_string_value(p));
					ov = json_object_get(versions, key);
					json_array_append(old, ov ? ov : json_null());
					for (li = 0; li < json_array_size(lv); li++)
						if (strcmp(json_string_value(json_array_get(lv, li)), json_string_value(p)) == 0) {
							json_array_remove(lv, li);
							break;
						}
				}
				if (state == 1) {
					snprintf(key, sizeof(key), "%s|%s", col, vid);
					json_object_set(versions, key, json_array_get(cell, 1));
					json_array_append_new(lv, json_string(vid));
				}
				oldj = json_dumps(old, JSON_COMPACT | JSON_ENCODE_ANY);
				newj = json_dumps(json_array_get(cell, 1), JSON_COMPACT | JSON_ENCODE_ANY);
				memset(&ch, 0, sizeof(ch));
				ch.hlc = e->hlc;
				ch.time = when;
				ch.node = e->node;
				ch.seq = e->seq;
				ch.school = ni->school;
				ch.role = ni->role;
				ch.actor = e->actor;
				ch.column = col;
				ch.old_json = oldj ? oldj : "[]";
				ch.new_json = newj ? newj : "null";
				ch.hash = hash;
				ch.commit = commit_of(&ni->segs, e->seq, gen);
				ch.conflict = state == 1 && json_array_size(lv) > 1;
				ch.state = state;
				ch.sig_ok = sig_ok;
				rc = cb(&ch, payload);
				free(oldj);
				free(newj);
				json_decref(old);
				if (rc != 0)
					break;
			}
		}
		ssync_entry_free(e);
	}
	/* The history stops early only on an error, never silently. */
	if (error == 0 && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read log");
done:
	sqlite3_finalize(q);
	json_decref(versions);
	json_decref(leaves);
	for (rc = 0; rc < nnodes; rc++) {
		free(nodes[rc].segs.first);
		free(nodes[rc].segs.gen);
		free(nodes[rc].segs.commit);
	}
	free(nodes);
	return error;
}

int ssync_audit_history(ssync_node *n, const char *table, const char *pk, ssync_audit_change_cb cb,
	void *payload, ssync_error *err)
{
	char path[4200];
	ssync_exchange *ex = NULL;
	int error;

	git_libgit2_init();
	/* no exchange repository: the changes are shown, their commits empty */
	if (ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_EXCHANGE, NULL) < 0 ||
	    ssync_exchange_open(&ex, path, 0, NULL) < 0)
		ex = NULL;
	error = history_store(ssync_node_store(n), ex, "refs/heads/node/", table, pk, cb, payload, err);
	ssync_exchange_free(ex);
	git_libgit2_shutdown();
	return error;
}

int ssync_audit_history_repo(const char *repo, const char *root_hex, const char *table, const char *pk,
	ssync_audit_finding_cb fcb, ssync_audit_change_cb cb, void *payload, ssync_audit_report *rep, ssync_error *err)
{
	char tmp[4096];
	ssync_exchange *ex = NULL;
	ssync_store *st = NULL;
	int error;

	git_libgit2_init();
	if ((error = scratch_audit(repo, root_hex, fcb, payload, rep, tmp, &ex, &st, err)) == 0)
		error = history_store(st, ex, "refs/remotes/src/node/", table, pk, cb, payload, err);
	if (error == 0 && rep->failures > 0)
		error = ssync_error_set(err, SSYNC_ECORRUPT, "the repository does not verify: %lld problem(s) found; the "
			"history shows only what verifies (E_VERIFY)", (long long)rep->failures);
	scratch_free(tmp, ex, st);
	git_libgit2_shutdown();
	return error;
}
