/* The hub's guard: git's receive hook judges every pushed ref with the
 * receivers' own checks (branch shape, audit's verifier), so a junk commit,
 * a forged entry, a rewrite or a deletion never lands on a shared remote
 * and cannot cut a school off. Two modes: the `update` hook judges one ref
 * at a time (a bad ref refuses only itself), `pre-receive` the whole push
 * before any ref moves, with the pushed objects in git's quarantine (both
 * read through git's environment). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_int.h"
#include "privacy_int.h"
#include "wevidence_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/guard.h"
#include "schoolsync/hex.h"
#include "schoolsync/ident.h"
#include "schoolsync/keys.h"

#define GUARD_MAX_LINES 4096
#define GUARD_LINE_MAX 1024
#define NODE_PREFIX "refs/heads/node/"
#define KEYS_PREFIX "refs/heads/keys/"

typedef struct upd { ssync_oid_hex old, new; char ref[GUARD_LINE_MAX]; } upd;

typedef struct judge {
	ssync_exchange *ex;
	char root[65];
	ssync_oid_hex district;  /* the district tip nodes are judged under */
	int refused;
	upd *push;               /* the push's ref updates (pre-receive: all of them) */
	int npush;
	int *verdict;            /* per update: 0 not judged yet, 1 taken, 2 refused, 3 being judged */
	ssync_guard_refusal_cb cb;
	void *payload;
} judge;

static int is_zero(const ssync_oid_hex *o)
{
	return strspn(o->hex, "0") == 40;
}

static void refuse(judge *j, const char *ref, const char *reason)
{
	j->refused++;
	if (j->cb)
		j->cb(ref, reason, j->payload);
}

static int read_key(const char *gitdir, char *hex, ssync_error *err)
{
	char path[4200], buf[80];
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s%s", gitdir, SSYNC_GUARD_KEY_FILE);
	if (!(f = fopen(path, "r")))
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no pinned district key at %s: run 'schoolsync guard init'", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (strlen(buf) != 64 || ssync_hex_decode(pk, sizeof(pk), buf) != 0)
		return ssync_error_set(err, SSYNC_ECORRUPT, "%s does not hold a district root key (64 hex)", path);
	memcpy(hex, buf, 65);
	return 0;
}

/* A scratch replica pinned to the district key, with the district commits up
 * to @p tip verified into it (why set and 0 returned when they do not). */
static int trust_store(judge *j, const ssync_oid_hex *tip, ssync_store **out, char *why, size_t whylen,
	char *district, size_t dlen, ssync_error *err)
{
	ssync_oid_hex *dl = NULL;
	int64_t objects = 0;
	int n = 0, bad = 0, error;

	*out = NULL;
	why[0] = 0;
	if (ssync_audit__genesis_district(j->ex, tip, district, dlen) < 0) {
		snprintf(why, whylen, "district commit %.12s has no readable genesis record", tip->hex);
		return 0;
	}
	if ((error = ssync_store_open(out, ":memory:", SSYNC_STORE_CREATE, err)) < 0 ||
	    (error = ssync_store_meta_set(*out, "district", district, err)) < 0 ||
	    (error = ssync_store_meta_set(*out, "district_pubkey", j->root, err)) < 0 ||
	    (error = ssync_exchange_first_parents(j->ex, tip, &dl, &n, err)) < 0 ||
	    (error = ssync_audit__district(*out, j->ex, dl, n, &objects, &bad, why, whylen, err)) < 0)
		goto done;
	if (bad && !why[0])
		snprintf(why, whylen, "a trust object does not verify (%s)", ssync_error_name(bad));
done:
	free(dl);
	if (error < 0 || why[0]) {
		ssync_store_free(*out);
		*out = NULL;
	}
	return error;
}

/* Fast-forward and branch shape, the same for every ref we take. */
static int forward_and_shape(judge *j, const upd *u, int layout, char *why, size_t whylen, ssync_error *err)
{
	ssync_oid_hex from;
	ssync_error lerr;
	int d, error;

	from = u->old;
	if (is_zero(&from))
		memset(&from, 0, sizeof(from));
	if ((d = ssync_exchange_descends(j->ex, &u->new, &from, err)) < 0)
		return d;
	if (!d) {
		snprintf(why, whylen, "not a fast-forward of %.12s: a branch only moves forward (E_REWRITE)", u->old.hex);
		return 0;
	}
	ssync_error_clear(&lerr);
	if ((error = ssync_exchange_check_shape(j->ex, layout, &from, &u->new, NULL, &lerr)) < 0) {
		if (error != SSYNC_ECORRUPT && error != SSYNC_ETOOLARGE && error != SSYNC_ENOTFOUND) {
			if (err)
				*err = lerr;
			return error;
		}
		snprintf(why, whylen, "not the shape schoolsync writes: %s (%s)", lerr.message, ssync_error_name(error));
	}
	return 0;
}

static int judge_district(judge *j, const upd *u, ssync_error *err)
{
	char why[900], district[SSYNC_NODE_ID_MAX + 1];
	ssync_store *st = NULL;
	int error;

	why[0] = 0;
	if ((error = forward_and_shape(j, u, SSYNC_SHAPE_DISTRICT, why, sizeof(why), err)) < 0)
		return error;
	if (!why[0] && (error = trust_store(j, &u->new, &st, why, sizeof(why), district, sizeof(district), err)) < 0)
		return error;
	ssync_store_free(st);
	if (why[0]) {
		char msg[1100];
		snprintf(msg, sizeof(msg), "%s; only trust objects signed by the pinned district root are taken", why);
		refuse(j, u->ref, msg);
		return 0;
	}
	j->district = u->new; /* node branches in this push are judged under it */
	return 0;
}

static int judge_one(judge *j, const upd *u, ssync_error *err);

/* The tip @p ref moves to in this same push, when that update is taken
 * (judged first if it was not yet): 1 and @p tip set, else 0. So a push
 * carrying node/<id> and node/<id>.g<G> is judged the same whatever the
 * mode or the order of its lines: the update hook sees node/<id> already
 * moved by git (schoolsync pushes it first), pre-receive reads it here. */
static int pushed_tip(judge *j, const char *ref, ssync_oid_hex *tip, ssync_error *err)
{
	int i, before, error;

	for (i = 0; i < j->npush; i++) {
		if (strcmp(j->push[i].ref, ref) != 0)
			continue;
		if (j->verdict[i] == 0) {
			j->verdict[i] = 3;
			before = j->refused;
			if ((error = judge_one(j, &j->push[i], err)) < 0)
				return error;
			j->verdict[i] = j->refused == before ? 1 : 2;
		}
		if (j->verdict[i] != 1)
			return 0;
		*tip = j->push[i].new;
		return 1;
	}
	return 0;
}

/* Generation G >= 2 chains onto the seqs of the generations before it
 * (TRUST.md §5a): take the hub's branches of generations 1..G-1 into the
 * scratch replica first, as a receiver holds them, so the new branch is
 * judged like a receiver judges it. Their own stops (void entries above a
 * cut) are not this push's business. */
static int feed_earlier_gens(judge *j, ssync_store *st, const char *district, const char *id, int gen,
	ssync_error *err)
{
	char ref[GUARD_LINE_MAX], name[SSYNC_BRANCH_NAME_MAX + 1], source[200], why[900];
	ssync_oid_hex tip, *cl = NULL;
	int64_t lines = 0;
	int g, n = 0, stopped = 0, error = 0;

	for (g = 1; g < gen && error == 0; g++) {
		if (g == 1)
			snprintf(name, sizeof(name), "%s", id);
		else
			snprintf(name, sizeof(name), "%s.g%d", id, g);
		snprintf(ref, sizeof(ref), NODE_PREFIX "%s", name);
		if ((error = pushed_tip(j, ref, &tip, err)) < 0)
			break;
		if (error == 0 && ssync_exchange_ref_tip(j->ex, ref, &tip, NULL) < 0)
			continue; /* not on the hub: generation G's first entry will wait (refused below) */
		error = 0;
		snprintf(source, sizeof(source), "guard:node/%s", name);
		why[0] = 0;
		if ((error = ssync_exchange_first_parents(j->ex, &tip, &cl, &n, err)) == 0)
			error = ssync_audit__node(st, j->ex, district, name, source, cl, n, &stopped, &lines, why, sizeof(why),
				err);
		free(cl);
		cl = NULL;
	}
	return error;
}

static int judge_node(judge *j, const upd *u, ssync_error *err)
{
	const char *node = u->ref + strlen(NODE_PREFIX);
	char why[900], district[SSYNC_NODE_ID_MAX + 1], source[200], id[SSYNC_NODE_ID_MAX + 1];
	ssync_oid_hex *cl = NULL;
	ssync_store *st = NULL;
	int64_t lines = 0;
	int n = 0, stopped = 0, gen = 1, error;

	why[0] = 0;
	/* node/<id>, or node/<id>.g<G>: key generation G after a re-enrolment */
	if (!ssync_ident_branch_parse(node, id, &gen)) {
		refuse(j, u->ref, "not a valid node branch (node/<id> or node/<id>.g<N>)");
		return 0;
	}
	if (!j->district.hex[0]) {
		refuse(j, u->ref, "this hub has no district branch yet: push refs/heads/district first");
		return 0;
	}
	if ((error = forward_and_shape(j, u, SSYNC_SHAPE_NODE, why, sizeof(why), err)) < 0)
		return error;
	if (!why[0] && (error = trust_store(j, &j->district, &st, why, sizeof(why), district, sizeof(district), err)) < 0)
		return error;
	if (!why[0] && gen > 1 && (error = feed_earlier_gens(j, st, district, id, gen, err)) < 0) {
		ssync_store_free(st);
		return error;
	}
	if (!why[0]) {
		/* The whole branch from its start: a chain is judged from its first entry;
		 * a generation's seqs and key are the ones the district's re-enrolment names. */
		snprintf(source, sizeof(source), "guard:node/%s", node);
		if ((error = ssync_exchange_first_parents(j->ex, &u->new, &cl, &n, err)) < 0 ||
		    (error = ssync_audit__node(st, j->ex, district, node, source, cl, n, &stopped, &lines, why, sizeof(why),
				err)) < 0) {
			free(cl);
			ssync_store_free(st);
			return error;
		}
		/* Entries of a retired key above a re-enrolment's cut are void on
		 * every replica and skipped silently by receivers (TRUST.md §5a):
		 * a branch that only ends in them is taken, so a hub that lacks the
		 * old generation can still get it whole (commits do not split at the
		 * cut) and a school relaying it is not refused with it. */
		if (!stopped || stopped == 3)
			why[0] = 0;
	}
	free(cl);
	ssync_store_free(st);
	if (why[0])
		refuse(j, u->ref, why);
	return 0;
}

/* A key store (docs/PRIVACY.md) is replaced, not appended: the one ref
 * this guard lets move backwards in git's sense, and only to a newer
 * version signed by the node itself. */
static int judge_keys(judge *j, const upd *u, ssync_error *err)
{
	const char *node = u->ref + strlen(KEYS_PREFIX);
	char why[900], district[SSYNC_NODE_ID_MAX + 1];
	ssync_oid_hex old;
	ssync_store *st = NULL;
	int error;

	if (!ssync_ident_node_valid(node)) {
		refuse(j, u->ref, "not a valid node id");
		return 0;
	}
	if (!j->district.hex[0]) {
		refuse(j, u->ref, "this hub has no district branch yet: push refs/heads/district first");
		return 0;
	}
	if ((error = trust_store(j, &j->district, &st, why, sizeof(why), district, sizeof(district), err)) < 0)
		return error;
	old = u->old;
	if (is_zero(&old))
		memset(&old, 0, sizeof(old));
	if (!why[0] && (error = ssync_privacy__check_store(st, j->ex, district, node, &old, &u->new, why, sizeof(why), err)) < 0) {
		ssync_store_free(st);
		return error;
	}
	ssync_store_free(st);
	if (why[0])
		refuse(j, u->ref, why);
	return 0;
}

/* Hub-equivocation evidence (TRUST.md §4a): created once, never moved,
 * and only what every receiver takes: the commit every node makes of two
 * checkpoints the district's witness signed for one position. */
static int judge_evidence(judge *j, const upd *u, ssync_error *err)
{
	char why[600], district[SSYNC_NODE_ID_MAX + 1];
	ssync_store *st = NULL;
	ssync_wobj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char *data = NULL;
	size_t len = 0;
	int error = 0;

	why[0] = 0;
	if (!a || !b) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (!is_zero(&u->old))
		snprintf(why, sizeof(why), "evidence is written once and never moved");
	else if (!j->district.hex[0])
		snprintf(why, sizeof(why), "this hub has no district branch yet: push refs/heads/district first");
	else if ((error = trust_store(j, &j->district, &st, why, sizeof(why), district, sizeof(district), err)) < 0)
		goto done;
	if (!why[0] && (error = ssync_witness__evidence_judge(st, j->ex, u->ref, &u->new, a, b, &data, &len, why,
		sizeof(why), err)) < 0)
		goto done;
	if (why[0])
		refuse(j, u->ref, why);
done:
	free(data);
	ssync_witness__wobj_free(a);
	ssync_witness__wobj_free(b);
	ssync_store_free(st);
	return error;
}

static int parse_line(char *line, upd *u)
{
	char *a = line, *b, *c;

	line[strcspn(line, "\r\n")] = 0;
	if (!(b = strchr(a, ' ')) || !(c = strchr(b + 1, ' ')))
		return -1;
	*b++ = 0;
	*c++ = 0;
	if (strlen(a) != 40 || strlen(b) != 40 || strspn(a, "0123456789abcdef") != 40 ||
	    strspn(b, "0123456789abcdef") != 40 || !*c)
		return -1;
	memcpy(u->old.hex, a, 41);
	memcpy(u->new.hex, b, 41);
	snprintf(u->ref, sizeof(u->ref), "%s", c);
	return 0;
}

/* Open the hook's repository and its pinned key; the district tip node
 * branches are judged under is the hub's (a district ref earlier in the
 * same push moves it). */
static int judge_open(judge *j, ssync_guard_refusal_cb cb, void *payload, ssync_error *err)
{
	int error;

	memset(j, 0, sizeof(*j));
	j->cb = cb;
	j->payload = payload;
	if ((error = ssync_exchange_open_env(&j->ex, err)) < 0 ||
	    (error = read_key(ssync_exchange_gitdir(j->ex), j->root, err)) < 0)
		return error;
	if (ssync_exchange_ref_tip(j->ex, "refs/heads/district", &j->district, NULL) < 0)
		memset(&j->district, 0, sizeof(j->district));
	return 0;
}

static int judge_one(judge *j, const upd *u, ssync_error *err)
{
	int is_district = strcmp(u->ref, "refs/heads/district") == 0;

	if (is_zero(&u->new)) {
		refuse(j, u->ref, "deleting a branch is refused: schoolsync branches are append-only");
		return 0;
	}
	if (is_district)
		return judge_district(j, u, err);
	if (strncmp(u->ref, NODE_PREFIX, strlen(NODE_PREFIX)) == 0)
		return judge_node(j, u, err);
	if (strncmp(u->ref, KEYS_PREFIX, strlen(KEYS_PREFIX)) == 0)
		return judge_keys(j, u, err);
	if (strncmp(u->ref, SSYNC_EVIDENCE_PREFIX, strlen(SSYNC_EVIDENCE_PREFIX)) == 0)
		return judge_evidence(j, u, err);
	refuse(j, u->ref, "only refs/heads/district, refs/heads/node/<id>[.g<N>], refs/heads/keys/<id> and "
		"refs/heads/evidence/witness-<hash> are taken here");
	return 0;
}

int ssync_guard_pre_receive(FILE *in, ssync_guard_refusal_cb cb, void *payload, ssync_error *err)
{
	judge j;
	upd *u = NULL;
	char line[GUARD_LINE_MAX + 100];
	int n = 0, i, pass, error = 0;

	memset(&j, 0, sizeof(j));
	if (!(u = calloc(GUARD_MAX_LINES, sizeof(*u))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	while (fgets(line, sizeof(line), in)) {
		if (n == GUARD_MAX_LINES) {
			error = ssync_error_set(err, SSYNC_ETOOLARGE, "more than %d refs in one push", GUARD_MAX_LINES);
			goto done;
		}
		if (!strchr(line, '\n') && !feof(in)) {
			error = ssync_error_set(err, SSYNC_ETOOLARGE, "a ref update line over %d bytes", GUARD_LINE_MAX);
			goto done;
		}
		if (parse_line(line, &u[n]) < 0) {
			error = ssync_error_set(err, SSYNC_EINVAL, "not a pre-receive line (<old> <new> <ref>): run only as git's hook");
			goto done;
		}
		n++;
	}
	if ((error = judge_open(&j, cb, payload, err)) < 0)
		goto done;
	/* The district branch first: node branches of the same push may need its
	 * new certificates. */
	j.push = u;
	j.npush = n;
	if (!(j.verdict = calloc((size_t)(n ? n : 1), sizeof(int)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (pass = 0; pass < 2 && error == 0; pass++) {
		for (i = 0; i < n && error == 0; i++) {
			int is_district = strcmp(u[i].ref, "refs/heads/district") == 0, before = j.refused;
			if (is_district != (pass == 0) || j.verdict[i])
				continue;
			j.verdict[i] = 3;
			error = judge_one(&j, &u[i], err);
			j.verdict[i] = j.refused == before ? 1 : 2;
		}
	}
	if (error == 0 && j.refused)
		error = ssync_error_set(err, ssync_error_class(SSYNC_D_GUARD), "the guard refused %d of %d ref update(s) (%s)",
			j.refused, n, ssync_error_name(SSYNC_D_GUARD));
done:
	ssync_exchange_free(j.ex);
	free(j.verdict);
	free(u);
	return error;
}

int ssync_guard_update(const char *ref, const char *old_hex, const char *new_hex, ssync_guard_refusal_cb cb,
	void *payload, ssync_error *err)
{
	judge j;
	upd u;
	char line[GUARD_LINE_MAX + 100];
	int error;

	memset(&j, 0, sizeof(j));
	if (!ref || !old_hex || !new_hex || strlen(ref) >= GUARD_LINE_MAX ||
	    snprintf(line, sizeof(line), "%s %s %s\n", old_hex, new_hex, ref) >= (int)sizeof(line) ||
	    parse_line(line, &u) < 0)
		return ssync_error_set(err, SSYNC_EINVAL, "not an update hook's arguments (REF OLD NEW): run only as git's hook");
	if ((error = judge_open(&j, cb, payload, err)) == 0 && (error = judge_one(&j, &u, err)) == 0 && j.refused)
		error = ssync_error_set(err, ssync_error_class(SSYNC_D_GUARD), "the guard refused %s (%s)", u.ref,
			ssync_error_name(SSYNC_D_GUARD));
	ssync_exchange_free(j.ex);
	return error;
}
