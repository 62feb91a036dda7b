/* A node's remotes: the CLI and the daemon name remotes through the node,
 * never through its exchange repository, which stays the sync layer's
 * business. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "node_int.h"

#define TOKEN_MAX 1024

static int open_ex(ssync_node *n, ssync_exchange **ex, ssync_error *err)
{
	/* Not created here: a node's home has its repository since init, and
	 * a read-only home must still list its remotes. */
	return ssync_node__exchange_open(n, 0, ex, err);
}

int ssync_node_remote_name_valid(const char *name)
{
	return ssync_exchange_remote_name_valid(name);
}

int ssync_node_remote_add(ssync_node *n, const char *name, const char *url, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if (!ssync_exchange_remote_name_valid(name)) {
		ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", name ? name : "");
		ssync_error_hint(err, "use letters, digits, '_', '.', '-'");
		return SSYNC_EINVAL;
	}
	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_add(ex, name, url, err);
	ssync_exchange_free(ex);
	return error;
}

int ssync_node_remote_remove(ssync_node *n, const char *name, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_remove(ex, name, err);
	ssync_exchange_free(ex);
	if (error == 0)
		error = ssync_node_remote_token_set(n, name, NULL, err);
	return error;
}

int ssync_node_remote_list(ssync_node *n, ssync_node_remote_cb cb, void *payload, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_list(ex, cb, payload, err);
	ssync_exchange_free(ex);
	return error;
}

static int token_path(ssync_node *n, const char *name, char *out, size_t len, ssync_error *err)
{
	if (!ssync_exchange_remote_name_valid(name))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", name ? name : "");
	if ((size_t)snprintf(out, len, "%s/tokens/%s", ssync_node_home(n), name) >= len)
		return ssync_error_set(err, SSYNC_EINVAL, "home path too long");
	return 0;
}

/* First line, printable ASCII only (a token, not text). */
static int token_clean(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && in[i] != '\n' && in[i] != '\r'; i++) {
		if (i + 1 >= len || i >= TOKEN_MAX || !isgraph((unsigned char)in[i]))
			return -1;
		out[i] = in[i];
	}
	out[i] = '\0';
	return i ? 0 : -1;
}

int ssync_node_remote_token_set(ssync_node *n, const char *name, const char *token, ssync_error *err)
{
	char path[4200], tmp[4300], clean[TOKEN_MAX + 1];
	int fd, error;
	size_t len;

	if ((error = token_path(n, name, path, sizeof(path), err)) < 0)
		return error;
	if (!token) {
		if (unlink(path) != 0 && errno != ENOENT)
			return ssync_error_set(err, SSYNC_EIO, "remove %s: %s", path, strerror(errno));
		return 0;
	}
	if (token_clean(token, clean, sizeof(clean)) < 0) {
		ssync_error_set(err, SSYNC_EINVAL, "the token for remote %s is empty, longer than %d bytes or holds "
			"spaces or control characters", name, TOKEN_MAX);
		return SSYNC_EINVAL;
	}
	snprintf(tmp, sizeof(tmp), "%s/tokens", ssync_node_home(n));
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return ssync_error_set(err, SSYNC_EIO, "create %s: %s", tmp, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return ssync_error_set(err, SSYNC_EIO, "create %s: %s", tmp, strerror(errno));
	len = strlen(clean);
	clean[len] = '\n';
	error = write(fd, clean, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0 ? 0 : -1;
	sodium_memzero(clean, sizeof(clean));
	if (close(fd) != 0 || error < 0 || rename(tmp, path) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "write %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return error;
	}
	return 0;
}

int ssync_node__remote_token(ssync_node *n, const char *name, char *out, size_t len, ssync_error *err)
{
	char env[128], path[4200], buf[TOKEN_MAX + 2];
	const char *v;
	struct stat sb;
	ssize_t got;
	size_t i;
	int fd, error;

	out[0] = '\0';
	if ((error = token_path(n, name, path, sizeof(path), err)) < 0)
		return error;
	snprintf(env, sizeof(env), "SCHOOLSYNC_TOKEN_");
	for (i = 0; name[i] && strlen(env) + 1 < sizeof(env); i++) {
		char c = name[i] == '.' || name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
		size_t l = strlen(env);
		env[l] = c;
		env[l + 1] = '\0';
	}
	if ((v = getenv(env)) != NULL && v[0]) {
		if (token_clean(v, out, len) < 0)
			return ssync_error_set(err, SSYNC_EINVAL, "%s is not a token (one line, printable)", env);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return 0;
		return ssync_error_set(err, errno == ELOOP ? SSYNC_EUNSAFE : SSYNC_EIO, "open %s: %s", path,
			strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		close(fd);
		ssync_error_set(err, SSYNC_EUNSAFE, "token file %s must be a regular file of ours with mode 0600", path);
		ssync_error_hint(err, "run: chmod 600 %s (and consider the token leaked if others could read it)", path);
		return SSYNC_EUNSAFE;
	}
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got < 0)
		return ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
	buf[got] = '\0';
	error = token_clean(buf, out, len) < 0 ?
		ssync_error_set(err, SSYNC_EINVAL, "token file %s does not hold a token (one line, printable)", path) : 0;
	sodium_memzero(buf, sizeof(buf));
	return error;
}
