/*
 * Names that travel: node and district refs, remote names, tree paths and
 * object ids as text. Everything from outside is checked here before it
 * becomes a ref, a path or a config key.
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

#include "schoolsync/ident.h"

#include "exchange_int.h"


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
int ssync_exchange__parse_oid(git_oid *out, int *empty, const ssync_oid_hex *h,
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

void ssync_exchange__oid_to_hex(ssync_oid_hex *out, const git_oid *id)
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

/* The refs that travel: refs/heads/node/<node-id>, refs/heads/district,
 * the key stores refs/heads/keys/<node-id> (docs/PRIVACY.md) and evidence
 * of hub equivocation refs/heads/evidence/witness-<SHA-256 of its content,
 * 64 lower-case hex> (docs/TRUST.md §4a). */
int ssync_exchange__sync_ref_valid(const char *name)
{
	if (!strcmp(name, DISTRICT_REF))
		return 1;
	if (!strncmp(name, EVIDENCE_PREFIX, strlen(EVIDENCE_PREFIX)))
		return strlen(name + strlen(EVIDENCE_PREFIX)) == 64 &&
			strspn(name + strlen(EVIDENCE_PREFIX), "0123456789abcdef") == 64;
	if (!strncmp(name, KEYS_PREFIX, strlen(KEYS_PREFIX)))
		return node_id_valid(name + strlen(KEYS_PREFIX));
	/* node/<id>, or node/<id>.g<N> after a re-enrolment (TRUST.md §5a) */
	return !strncmp(name, NODE_PREFIX, strlen(NODE_PREFIX)) &&
		ssync_ident_branch_parse(name + strlen(NODE_PREFIX), NULL, NULL);
}

int ssync_exchange__ref_name_check(const char *name, const char *prefix, ssync_error *err)
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
int ssync_exchange__tree_path_check(const char *path, ssync_error *err)
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
