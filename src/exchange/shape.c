/*
 * The shape of a branch, checked before anything on it is read or relayed.
 *
 * We relay other nodes' branches to git servers, and a server that checks
 * objects (receive.fsckObjects, gitolite, Gitea) refuses a whole push when
 * one object is odd: a tree entry named "..", ".git", "" or "a/b", a mode
 * like 100755 or 040000 written with a zero, unsorted or duplicate entries,
 * a commit with a broken author line. One such object on one branch would
 * stop everything a hub pushes. So every commit a branch gains, and every
 * tree those commits add, must be exactly what our writer produces
 * (FORMAT.md §2 "Branch shape"); anything else refuses the branch.
 *
 * The raw object bytes are parsed here (not libgit2's parsed view), because
 * libgit2 accepts forms git fsck refuses. Only trees that differ from the
 * parent commit's are read, so the cost is linear in what the branch gained.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "exchange_int.h"
#include "schoolsync/ident.h"

#define MAX_TREE_BYTES (16u << 20)  /* ~200,000 segment names in one folder */
#define MAX_COMMIT_BYTES 65536u
#define MAX_MESSAGE_BYTES 4096u

/* Levels of a node branch and of the district branch. */
enum { L_NODE_ROOT, L_NODE_SEG, L_NODE_DIR, L_DIST_ROOT, L_DIST_GENESIS, L_DIST_CERTS, L_DIST_REVS, L_DIST_WIT,
	L_DIST_WDIR };

typedef struct shape {
	git_repository *repo;
	git_odb *odb;
	ssync_error *err;
	const char *commit_hex;  /* for messages */
} shape;

static int bad(shape *s, const char *fmt, const char *a, const char *b)
{
	char what[300];

	snprintf(what, sizeof(what), fmt, a ? a : "", b ? b : "");
	ssync_error_set(s->err, SSYNC_ECORRUPT, "commit %.12s: %s (not the branch shape FORMAT.md §2 allows; "
		"git servers that check objects would refuse it)", s->commit_hex, what);
	ssync_error_hint(s->err, "the branch is not relayed; the node that wrote it must be repaired by the hub");
	return SSYNC_ECORRUPT;
}

static int digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* <node-id>.<serial>.<ext>, serial a decimal >= 1 without leading zero */
static int tobj_name_ok(const char *name, const char *ext)
{
	const char *dot1 = strchr(name, '.'), *dot2;
	char node[SSYNC_NODE_ID_MAX + 1];
	size_t n;

	if (!dot1 || (size_t)(dot1 - name) > SSYNC_NODE_ID_MAX)
		return 0;
	dot2 = strchr(dot1 + 1, '.');
	if (!dot2 || strcmp(dot2 + 1, ext) != 0)
		return 0;
	n = (size_t)(dot2 - dot1 - 1);
	if (n == 0 || n > 18 || dot1[1] == '0' || !digits(dot1 + 1, n))
		return 0;
	memcpy(node, name, (size_t)(dot1 - name));
	node[dot1 - name] = '\0';
	return ssync_ident_node_valid(node);
}

/*
 * Is @p name (a tree, if @p is_tree) allowed at @p level? Sets *sub to the
 * level of its entries. @p parent is the folder's name (segment folders).
 */
static int name_ok(int level, const char *name, int is_tree, const char *parent, int *sub)
{
	size_t n = strlen(name);

	switch (level) {
	case L_NODE_ROOT:
		if (is_tree && !strcmp(name, "seg")) {
			*sub = L_NODE_SEG;
			return 1;
		}
		return !is_tree && !strcmp(name, "node.json");
	case L_NODE_SEG:
		*sub = L_NODE_DIR;
		return is_tree && n == 7 && digits(name, 7);
	case L_NODE_DIR:
		/* seg/<first_seq / 100000, 7 digits>/<first_seq, 12 digits>.seg */
		return !is_tree && n == 16 && digits(name, 12) && !strcmp(name + 12, ".seg") &&
			strtoll(name, NULL, 10) / 100000 == strtoll(parent, NULL, 10);
	case L_DIST_ROOT:
		*sub = !strcmp(name, "district") ? L_DIST_GENESIS : !strcmp(name, "certs") ? L_DIST_CERTS :
			!strcmp(name, "witness") ? L_DIST_WIT : L_DIST_REVS;
		return is_tree && (!strcmp(name, "district") || !strcmp(name, "certs") ||
			!strcmp(name, "revocations") || !strcmp(name, "witness"));
	case L_DIST_GENESIS:
		/* and the root's rotations, root.<serial>.rotate (TRUST.md §3a),
		 * and witness resets, witness.<serial>.reset (§4b) */
		return !is_tree && (!strcmp(name, "genesis.json") ||
			(!strncmp(name, "root.", 5) && tobj_name_ok(name, "rotate")) ||
			(!strncmp(name, "witness.", 8) && tobj_name_ok(name, "reset")));
	case L_DIST_CERTS:
		/* a re-enrolment sits beside the certificates (TRUST.md §5a) */
		return !is_tree && (tobj_name_ok(name, "cert") || tobj_name_ok(name, "reenroll"));
	case L_DIST_REVS:
		return !is_tree && tobj_name_ok(name, "rev");
	case L_DIST_WIT:
		*sub = L_DIST_WDIR;
		return is_tree && n == 7 && digits(name, 7);
	case L_DIST_WDIR:
		/* witness/<n / 1000, 7 digits>/<n, 12 digits>.ckpt, n >= 1 (hub checkpoints) */
		return !is_tree && n == 17 && digits(name, 12) && !strcmp(name + 12, ".ckpt") &&
			strtoll(name, NULL, 10) >= 1 && strtoll(name, NULL, 10) / 1000 == strtoll(parent, NULL, 10);
	default:
		return 0;
	}
}

/* git's tree order: names compare as if a tree's name ended in '/' */
static int git_name_cmp(const char *a, int atree, const char *b, int btree)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	int c = memcmp(a, b, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = la > n ? (unsigned char)a[n] : atree ? '/' : 0;
	cb = lb > n ? (unsigned char)b[n] : btree ? '/' : 0;
	return (int)ca - (int)cb;
}

static int check_tree(shape *s, const git_oid *id, const git_oid *old_id, int level,
	const char *path, const char *folder);

/* Read an object's raw bytes, refusing a wrong type or an oversized one first. */
static int read_raw(shape *s, git_odb_object **out, const git_oid *id, git_object_t want,
	size_t max, const char *what)
{
	size_t len = 0;
	git_object_t type = GIT_OBJECT_INVALID;
	int error;

	*out = NULL;
	if ((error = git_odb_read_header(&len, &type, s->odb, id)) < 0)
		return ssync_exchange__gfail(s->err, error, SSYNC_ECORRUPT, "commit %.12s: read %s",
			s->commit_hex, what);
	if (type != want)
		return bad(s, "%s is a %s object", what, git_object_type2string(type));
	if (len > max)
		return bad(s, "%s is larger than the shape allows", what, NULL);
	if ((error = git_odb_read(out, s->odb, id)) < 0)
		return ssync_exchange__gfail(s->err, error, SSYNC_ECORRUPT, "commit %.12s: read %s",
			s->commit_hex, what);
	return 0;
}

/* The entry of @p name in the (already accepted) tree @p old_id, if any. */
static int old_entry(shape *s, const git_oid *old_id, const char *name, git_oid *out, int *found)
{
	git_tree *t = NULL;
	const git_tree_entry *e;

	*found = 0;
	if (!old_id)
		return 0;
	if (git_tree_lookup(&t, s->repo, old_id) < 0)
		return ssync_exchange__gfail(s->err, -1, SSYNC_ECORRUPT, "read accepted tree");
	if ((e = git_tree_entry_byname(t, name)) != NULL) {
		git_oid_cpy(out, git_tree_entry_id(e));
		*found = 1;
	}
	git_tree_free(t);
	return 0;
}

static int check_tree(shape *s, const git_oid *id, const git_oid *old_id, int level,
	const char *path, const char *folder)
{
	git_odb_object *obj = NULL;
	const unsigned char *p, *end;
	char prev[64] = "", name[64], *sub_path = NULL;
	int prev_tree = 0, error = 0, count = 0;

	if (old_id && git_oid_equal(id, old_id))
		return 0; /* unchanged since the accepted tip */
	if ((error = read_raw(s, &obj, id, GIT_OBJECT_TREE, MAX_TREE_BYTES, path[0] ? path : "the root tree")) < 0)
		return error;
	p = git_odb_object_data(obj);
	end = p + git_odb_object_size(obj);
	while (p < end) {
		const unsigned char *sp = memchr(p, ' ', (size_t)(end - p)), *nul;
		git_oid eid, oid_old;
		int is_tree, sub = -1, found;
		size_t nlen;

		if (!sp) {
			error = bad(s, "%s: damaged tree", path, NULL);
			goto done;
		}
		/* exactly the two modes git writes for what we store */
		if ((size_t)(sp - p) == 6 && !memcmp(p, "100644", 6))
			is_tree = 0;
		else if ((size_t)(sp - p) == 5 && !memcmp(p, "40000", 5))
			is_tree = 1;
		else {
			char mode[16];
			snprintf(mode, sizeof(mode), "%.*s", (int)((sp - p) < 12 ? (sp - p) : 12), (const char *)p);
			error = bad(s, "%s: entry with mode %s", path, mode);
			goto done;
		}
		nul = memchr(sp + 1, '\0', (size_t)(end - sp - 1));
		if (!nul || (size_t)(end - nul - 1) < GIT_OID_RAWSZ) {
			error = bad(s, "%s: damaged tree", path, NULL);
			goto done;
		}
		nlen = (size_t)(nul - sp - 1);
		if (nlen == 0 || nlen >= sizeof(name)) {
			error = bad(s, "%s: entry with an empty or overlong name", path, NULL);
			goto done;
		}
		memcpy(name, sp + 1, nlen);
		name[nlen] = '\0';
		/* the name rules exclude "", ".", "..", ".git", '/' and odd bytes */
		if (!name_ok(level, name, is_tree, folder, &sub)) {
			char shown[80];
			size_t i;
			for (i = 0; i < nlen && i < 40; i++)
				shown[i] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
			shown[i] = '\0';
			error = bad(s, "'%s' is not allowed in %s", shown, path[0] ? path : "the root tree");
			goto done;
		}
		if (count > 0 && git_name_cmp(prev, prev_tree, name, is_tree) >= 0) {
			error = bad(s, "%s: entries unsorted or repeated at '%s'", path, name);
			goto done;
		}
		git_oid_fromraw(&eid, nul + 1);
		p = nul + 1 + GIT_OID_RAWSZ;
		memcpy(prev, name, nlen + 1);
		prev_tree = is_tree;
		count++;
		if (!is_tree)
			continue; /* blob contents are the receivers' business (FORMAT.md §3) */
		if ((error = old_entry(s, old_id, name, &oid_old, &found)) < 0)
			goto done;
		free(sub_path);
		if (!(sub_path = ssync_exchange__join_path(path, name))) {
			error = ssync_error_set(s->err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if ((error = check_tree(s, &eid, found ? &oid_old : NULL, sub, sub_path, name)) < 0)
			goto done;
	}
	if (count == 0 && path[0])
		error = bad(s, "%s: empty folder", path, NULL);
done:
	free(sub_path);
	git_odb_object_free(obj);
	return error;
}

/* "name <email> seconds +hhmm" as git fsck wants it */
static int ident_ok(const char *s, size_t n)
{
	const char *lt = memchr(s, '<', n), *gt, *e = s + n, *p, *t;

	if (!lt || lt == s || lt[-1] != ' ')
		return 0;
	for (p = s; p < lt; p++)
		if (*p == '>' || *p == '\n' || *p == '\0')
			return 0;
	if (!(gt = memchr(lt + 1, '>', (size_t)(e - lt - 1))))
		return 0;
	for (p = lt + 1; p < gt; p++)
		if (*p == '<' || *p == '\n' || *p == '\0')
			return 0;
	p = gt + 1;
	if (p >= e || *p++ != ' ')
		return 0;
	if (p >= e || *p < '0' || *p > '9' || (*p == '0' && p + 1 < e && p[1] != ' '))
		return 0;
	t = p;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	/* at most 12 digits (year 33658): git fsck refuses a date that
	 * overflows (badDateOverflow) and libgit2 cannot read the commit */
	if (p - t > 12 || e - p != 6 || p[0] != ' ' || (p[1] != '+' && p[1] != '-') || !digits(p + 2, 4))
		return 0;
	return 1;
}

static int utf8_text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len, k;
		unsigned cp;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n)
			return 0;
		cp = c & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * One commit: "tree", at most one "parent", "author", "committer", a blank
 * line and a short UTF-8 message; nothing else (no gpgsig, no encoding).
 */
static int check_commit(shape *s, const git_oid *id, git_oid *tree, git_oid *parent, int *nparents)
{
	git_odb_object *obj = NULL;
	const char *p, *end, *nl;
	int error, line = 0;

	*nparents = 0;
	if ((error = read_raw(s, &obj, id, GIT_OBJECT_COMMIT, MAX_COMMIT_BYTES, "the commit")) < 0)
		return error;
	p = git_odb_object_data(obj);
	end = p + git_odb_object_size(obj);
	for (;; line++) {
		size_t n;
		if (!(nl = memchr(p, '\n', (size_t)(end - p)))) {
			error = bad(s, "damaged commit header", NULL, NULL);
			goto done;
		}
		n = (size_t)(nl - p);
		if (n == 0)
			break;
		if (line == 0 && n == 45 && !memcmp(p, "tree ", 5) &&
		    git_oid_fromstrn(tree, p + 5, 40) == 0) {
			/* fine */
		} else if (line == 1 && n == 47 && !memcmp(p, "parent ", 7) &&
		    git_oid_fromstrn(parent, p + 7, 40) == 0) {
			*nparents = 1;
		} else if (line == 1 + *nparents && n > 7 && !memcmp(p, "author ", 7) && ident_ok(p + 7, n - 7)) {
			/* fine */
		} else if (line == 2 + *nparents && n > 10 && !memcmp(p, "committer ", 10) &&
		    ident_ok(p + 10, n - 10)) {
			/* fine */
		} else {
			git_error_clear();
			error = bad(s, "commit header line %s is not allowed (one parent at most, no signatures "
				"or encodings)", line == 0 ? "1" : line == 1 ? "2" : line == 2 ? "3" : "4+", NULL);
			goto done;
		}
		p = nl + 1;
	}
	if (line != 3 + *nparents) {
		error = bad(s, "commit header incomplete", NULL, NULL);
		goto done;
	}
	p = nl + 1;
	if ((size_t)(end - p) > MAX_MESSAGE_BYTES || !utf8_text_ok((const unsigned char *)p, (size_t)(end - p)))
		error = bad(s, "commit message too long or not plain UTF-8 text", NULL, NULL);
done:
	git_odb_object_free(obj);
	return error;
}

int ssync_exchange_check_shape(ssync_exchange *ex, int layout, const ssync_oid_hex *from,
	const ssync_oid_hex *to, ssync_oid_hex *good, ssync_error *err)
{
	shape s;
	git_oid from_id, cur, tree, parent, *chain = NULL;
	ssync_oid_hex hex;
	size_t n = 0, cap = 0, i;
	int error, from_empty, to_empty, np;

	if (!ex || (layout != SSYNC_SHAPE_NODE && layout != SSYNC_SHAPE_DISTRICT))
		return ssync_error_set(err, SSYNC_EINVAL, "ssync_exchange_check_shape: bad argument");
	if ((error = ssync_exchange__parse_oid(&from_id, &from_empty, from, "shape: from", err)) < 0 ||
	    (error = ssync_exchange__parse_oid(&cur, &to_empty, to, "shape: to", err)) < 0)
		return error;
	if (to_empty)
		return ssync_error_set(err, SSYNC_EINVAL, "shape: no 'to' commit given");
	if (good)
		*good = *from;
	memset(&s, 0, sizeof(s));
	s.repo = ex->repo;
	s.err = err;
	if ((error = git_repository_odb(&s.odb, ex->repo)) < 0)
		return ssync_exchange__gfail(err, error, SSYNC_ERROR, "open object database");
	/* Walk back to the accepted tip (or the root) checking each commit, then
	 * check the trees oldest first, each against its parent's. */
	for (;;) {
		if (!from_empty && git_oid_equal(&cur, &from_id))
			break;
		ssync_exchange__oid_to_hex(&hex, &cur);
		s.commit_hex = hex.hex;
		if ((error = check_commit(&s, &cur, &tree, &parent, &np)) < 0)
			goto done;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			git_oid *v = realloc(chain, c * 2 * sizeof(*v));
			if (!v) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			chain = v;
			cap = c;
		}
		git_oid_cpy(&chain[2 * n], &cur);
		git_oid_cpy(&chain[2 * n + 1], &tree);
		n++;
		if (!np) {
			if (!from_empty) {
				error = bad(&s, "the branch does not continue the accepted tip", NULL, NULL);
				goto done;
			}
			break;
		}
		git_oid_cpy(&cur, &parent);
	}
	for (i = n; i-- > 0;) {
		git_oid old_tree;
		const git_oid *old = NULL;
		git_commit *pc = NULL;

		ssync_exchange__oid_to_hex(&hex, &chain[2 * i]);
		s.commit_hex = hex.hex;
		if (i + 1 < n) {
			old = &chain[2 * (i + 1) + 1];
		} else if (!from_empty) {
			if ((error = git_commit_lookup(&pc, ex->repo, &from_id)) < 0) {
				error = ssync_exchange__gfail(err, error, SSYNC_ECORRUPT, "read %s", from->hex);
				goto done;
			}
			git_oid_cpy(&old_tree, git_commit_tree_id(pc));
			git_commit_free(pc);
			old = &old_tree;
		}
		if ((error = check_tree(&s, &chain[2 * i + 1], old,
				layout == SSYNC_SHAPE_NODE ? L_NODE_ROOT : L_DIST_ROOT, "", "")) < 0)
			goto done;
		if (good)
			*good = hex; /* every commit up to this one is fine */
	}
	error = 0;
done:
	free(chain);
	git_odb_free(s.odb);
	return error;
}
