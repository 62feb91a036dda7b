/* guard init / check: a bare repository whose update hook runs
 * `schoolsync guard update REF OLD NEW` (or, all or nothing, whose
 * pre-receive hook runs `schoolsync guard pre-receive`), with the district
 * root key pinned in a file of the repository (the hook trusts nothing a
 * pusher can send). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schoolsync/exchange.h"
#include "schoolsync/guard.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"

#define HOOK_MARK "# schoolsync guard (installed by 'schoolsync guard init'; do not edit)\n"

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	return 0;
}

/* Write @p data to @p path through a temporary file (mode @p mode). */
static int write_file(const char *path, const char *data, mode_t mode, ssync_error *err)
{
	char tmp[4300];
	size_t len = strlen(data);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
		return ssync_error_set(err, SSYNC_EIO, "create %s: %s", tmp, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ssync_error_set(err, SSYNC_EIO, "write %s: %s", tmp, strerror(e));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return ssync_error_set(err, SSYNC_EIO, "write %s: %s", path, strerror(e));
	}
	return 0;
}

static void hook_text(char *out, size_t len, const char *binary, int mode)
{
	if (mode == SSYNC_GUARD_ALL_OR_NOTHING)
		snprintf(out, len, "#!/bin/sh\n" HOOK_MARK "exec '%s' guard pre-receive\n", binary);
	else
		snprintf(out, len, "#!/bin/sh\n" HOOK_MARK "exec '%s' guard update \"$1\" \"$2\" \"$3\"\n", binary);
}

static const char *hook_name(int mode)
{
	return mode == SSYNC_GUARD_ALL_OR_NOTHING ? "pre-receive" : "update";
}

/* The binary our hook @p name in @p gitdir runs, into @p bin ("" if the
 * hook is missing or not ours). */
static void hook_binary(const char *gitdir, const char *name, char *bin, size_t len)
{
	char path[4300], buf[8192];
	const char *q, *e;
	size_t n;

	bin[0] = 0;
	snprintf(path, sizeof(path), "%shooks/%s", gitdir, name);
	if (read_small(path, buf, sizeof(buf)) == 0 && strstr(buf, HOOK_MARK) && (q = strstr(buf, "exec '")) &&
	    (e = strchr(q + 6, '\'')) && (n = (size_t)(e - q - 6)) < len) {
		memcpy(bin, q + 6, n);
		bin[n] = 0;
	}
}

/* Fill @p out from what the repository holds (the update hook first). */
static void inspect(const char *gitdir, ssync_guard_status *out)
{
	char path[4300], buf[128];
	unsigned char pk[SSYNC_PUBKEY_BYTES];

	snprintf(out->gitdir, sizeof(out->gitdir), "%s", gitdir);
	snprintf(path, sizeof(path), "%s%s", gitdir, SSYNC_GUARD_KEY_FILE);
	if (read_small(path, buf, 80) == 0) {
		buf[strcspn(buf, "\r\n")] = 0;
		if (strlen(buf) == 64 && ssync_hex_decode(pk, sizeof(pk), buf) == 0)
			memcpy(out->district_pubkey, buf, 65);
	}
	hook_binary(gitdir, "update", out->binary, sizeof(out->binary));
	if (out->binary[0])
		snprintf(out->hook, sizeof(out->hook), "update");
	else {
		hook_binary(gitdir, "pre-receive", out->binary, sizeof(out->binary));
		if (out->binary[0])
			snprintf(out->hook, sizeof(out->hook), "pre-receive");
	}
	snprintf(path, sizeof(path), "%shooks/%s", gitdir, out->hook[0] ? out->hook : "update");
	if (!out->district_pubkey[0])
		snprintf(out->problem, sizeof(out->problem), "no pinned district key (%s): run 'schoolsync guard init'",
			SSYNC_GUARD_KEY_FILE);
	else if (!out->binary[0])
		snprintf(out->problem, sizeof(out->problem), "hooks/update (or hooks/pre-receive) is missing or not the "
			"guard's: run 'schoolsync guard init'");
	else if (access(path, X_OK) != 0)
		snprintf(out->problem, sizeof(out->problem), "hooks/%s is not executable: chmod 755 it", out->hook);
	else if (access(out->binary, X_OK) != 0)
		snprintf(out->problem, sizeof(out->problem), "the hook runs %s, which is not an executable here: "
			"run 'schoolsync guard init' again with the installed binary", out->binary);
	out->installed = !out->problem[0];
}

int ssync_guard_check(const char *repo, ssync_guard_status *out, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = ssync_exchange_open(&ex, repo, 0, err)) < 0)
		return error;
	inspect(ssync_exchange_gitdir(ex), out);
	ssync_exchange_free(ex);
	return 0;
}

int ssync_guard_init(const char *repo, const char *root_hex, const char *binary, ssync_guard_status *out,
	ssync_error *err)
{
	return ssync_guard_init_mode(repo, root_hex, binary, SSYNC_GUARD_PER_REF, out, err);
}

int ssync_guard_init_mode(const char *repo, const char *root_hex, const char *binary, int mode,
	ssync_guard_status *out, ssync_error *err)
{
	unsigned char pk[SSYNC_PUBKEY_BYTES];
	char path[4300], want[4400], key[80], ours[4096], other[4096];
	ssync_exchange *ex = NULL;
	const char *gitdir;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!root_hex || strlen(root_hex) != 64 || ssync_hex_decode(pk, sizeof(pk), root_hex) != 0)
		return ssync_error_set(err, SSYNC_EINVAL, "--district-pubkey must be the district root public key (64 hex)");
	if (!binary || binary[0] != '/' || strchr(binary, '\'') || strchr(binary, '\n') || access(binary, X_OK) != 0)
		return ssync_error_set(err, SSYNC_EINVAL, "the hook needs the absolute path of an executable schoolsync "
			"without quotes (got '%s')", binary ? binary : "");
	if ((error = ssync_exchange_open(&ex, repo, 1, err)) < 0)
		return error;
	gitdir = ssync_exchange_gitdir(ex);
	inspect(gitdir, out);
	snprintf(key, sizeof(key), "%s", root_hex);
	for (char *p = key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	if (out->district_pubkey[0] && strcmp(out->district_pubkey, key) != 0) {
		error = ssync_error_set(err, SSYNC_EEXISTS, "%s pins another district key (%.16s...)", gitdir,
			out->district_pubkey);
		ssync_error_hint(err, "a guarded hub serves one district; remove %s%s by hand to re-pin", gitdir,
			SSYNC_GUARD_KEY_FILE);
		goto done;
	}
	if (mode != SSYNC_GUARD_PER_REF && mode != SSYNC_GUARD_ALL_OR_NOTHING) {
		error = ssync_error_set(err, SSYNC_EINVAL, "unknown guard mode %d", mode);
		goto done;
	}
	hook_binary(gitdir, hook_name(mode), ours, sizeof(ours));
	hook_binary(gitdir, hook_name(!mode), other, sizeof(other));
	snprintf(path, sizeof(path), "%shooks/%s", gitdir, hook_name(mode));
	if (!ours[0] && access(path, F_OK) == 0) {
		error = ssync_error_set(err, SSYNC_EEXISTS, "%s exists and is not the guard's hook", path);
		ssync_error_hint(err, "move it aside (or call it from elsewhere) and run guard init again");
		goto done;
	}
	if (!out->district_pubkey[0]) {
		char text[80];
		snprintf(text, sizeof(text), "%s\n", key);
		snprintf(path, sizeof(path), "%s%s", gitdir, SSYNC_GUARD_KEY_FILE);
		if ((error = write_file(path, text, 0644, err)) < 0)
			goto done;
		out->changed = 1;
	}
	if (strcmp(ours, binary) != 0) {
		snprintf(path, sizeof(path), "%shooks", gitdir);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			error = ssync_error_set(err, SSYNC_EIO, "create %s: %s", path, strerror(errno));
			goto done;
		}
		hook_text(want, sizeof(want), binary, mode);
		snprintf(path, sizeof(path), "%shooks/%s", gitdir, hook_name(mode));
		if ((error = write_file(path, want, 0755, err)) < 0)
			goto done;
		out->changed = 1;
	}
	if (other[0]) {
		/* one mode at a time: the other hook would judge the push again
		 * (pre-receive: all or nothing) */
		snprintf(path, sizeof(path), "%shooks/%s", gitdir, hook_name(!mode));
		if (unlink(path) < 0) {
			error = ssync_error_set(err, SSYNC_EIO, "remove %s: %s", path, strerror(errno));
			goto done;
		}
		out->changed = 1;
	}
	{
		int changed = out->changed;
		memset(out, 0, sizeof(*out));
		inspect(gitdir, out);
		out->changed = changed;
	}
done:
	ssync_exchange_free(ex);
	return error;
}
