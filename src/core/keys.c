/* Node keys: Ed25519 through libsodium. The secret key sits in guarded
 * sodium_malloc memory and is wiped on free; the key file is written with
 * umask 077 via temp + fsync + rename, and refused when others can read it
 * (checked on the open fd, as openssh's authfile.c does). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "schoolsync/keys.h"

struct ssync_keypair {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc */
};

void ssync_keys_init(void)
{
	if (sodium_init() < 0)
		abort();
}

static ssync_keypair *kp_alloc(void)
{
	ssync_keypair *kp = calloc(1, sizeof(*kp));

	if (!kp)
		return NULL;
	if (!(kp->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES))) {
		free(kp);
		return NULL;
	}
	return kp;
}

void ssync_keys_free(ssync_keypair *kp)
{
	if (!kp)
		return;
	sodium_free(kp->sk); /* wipes before freeing */
	free(kp);
}

int ssync_keys_generate(ssync_keypair **out, ssync_error *err)
{
	ssync_keypair *kp;

	ssync_keys_init();
	*out = NULL;
	if (!(kp = kp_alloc()))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory for key");
	crypto_sign_keypair(kp->pk, kp->sk);
	*out = kp;
	return 0;
}

const unsigned char *ssync_keys_public(const ssync_keypair *kp)
{
	return kp->pk;
}

int ssync_keys_save(const ssync_keypair *kp, const char *path, ssync_error *err)
{
	char tmp[4096], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
	mode_t old;
	int fd = -1, error = 0;
	size_t len;

	if (access(path, F_OK) == 0)
		return ssync_error_set(err, SSYNC_EEXISTS, "key file %s already exists; not overwriting it", path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ssync_error_set(err, SSYNC_EINVAL, "key path too long: %s", path);
	ssync_hex_encode(hex, kp->sk, crypto_sign_SECRETKEYBYTES);
	len = strlen(hex);
	hex[len++] = '\n';
	old = umask(077);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	umask(old);
	if (fd < 0) {
		error = ssync_error_set(err, errno == EROFS || errno == EACCES ? SSYNC_EREADONLY : SSYNC_EIO,
			"create key file %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (write(fd, hex, len) != (ssize_t)len || fsync(fd) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "write key file %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		error = ssync_error_set(err, SSYNC_EIO, "close key file %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "rename %s: %s", tmp, strerror(errno));
		goto done;
	}
done:
	sodium_memzero(hex, sizeof(hex));
	if (fd >= 0)
		close(fd);
	if (error < 0)
		(void)unlink(tmp);
	return error;
}

int ssync_keys_load(ssync_keypair **out, const char *path, ssync_error *err)
{
	char buf[2 * crypto_sign_SECRETKEYBYTES + 8];
	ssync_keypair *kp = NULL;
	struct stat sb;
	ssize_t n;
	int fd, error = 0;

	ssync_keys_init();
	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT) {
			ssync_error_set(err, SSYNC_ENOTFOUND, "node key %s is missing", path);
			ssync_error_hint(err, "restore the key from your backup, or create a node with: schoolsync init --node ID");
			return SSYNC_ENOTFOUND;
		}
		return ssync_error_set(err, SSYNC_EIO, "open node key %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "stat %s: %s", path, strerror(errno));
		goto done;
	}
	if ((sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		error = ssync_error_set(err, SSYNC_EKEYPERM,
			"node key %s has unsafe permissions %04o (owner uid %u): it must be mode 0600 and owned by uid %u",
			path, (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, (unsigned)geteuid());
		ssync_error_hint(err, "run: chmod 600 %s (and consider the key leaked if others could read it)", path);
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		error = ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
		goto done;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	if (!(kp = kp_alloc())) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory for key");
		goto done;
	}
	if (ssync_hex_decode(kp->sk, crypto_sign_SECRETKEYBYTES, buf) != 0 ||
	    crypto_sign_ed25519_sk_to_pk(kp->pk, kp->sk) != 0) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "node key %s is not a valid key file", path);
		goto done;
	}
	*out = kp;
	kp = NULL;
done:
	sodium_memzero(buf, sizeof(buf));
	ssync_keys_free(kp);
	close(fd);
	return error;
}

void ssync_keys_sign(const ssync_keypair *kp, const void *msg, size_t len,
	unsigned char sig[SSYNC_SIG_BYTES])
{
	crypto_sign_detached(sig, NULL, msg, len, kp->sk);
}

int ssync_keys_verify(const unsigned char pk[SSYNC_PUBKEY_BYTES], const void *msg,
	size_t len, const unsigned char sig[SSYNC_SIG_BYTES])
{
	/* Anything other than 0 is a failure. */
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return SSYNC_ESIG;
	return 0;
}
