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

/* Write @p n secret bytes as hex to @p path: umask 077, temp file, fsync,
 * rename; never over an existing file (keys are never overwritten). */
static int write_secret(const unsigned char *bytes, size_t n, const char *path, ssync_error *err)
{
	char tmp[4096], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
	mode_t old;
	int fd = -1, error = 0;
	size_t len;

	if (n > crypto_sign_SECRETKEYBYTES)
		return ssync_error_set(err, SSYNC_EINVAL, "secret too long for %s", path);
	if (access(path, F_OK) == 0)
		return ssync_error_set(err, SSYNC_EEXISTS, "key file %s already exists; not overwriting it", path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ssync_error_set(err, SSYNC_EINVAL, "key path too long: %s", path);
	ssync_hex_encode(hex, bytes, n);
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

int ssync_keys_save(const ssync_keypair *kp, const char *path, ssync_error *err)
{
	return write_secret(kp->sk, crypto_sign_SECRETKEYBYTES, path, err);
}

/* Read @p n secret bytes (hex) from @p path, refusing a file others could
 * read or change (checked on the open fd, as openssh's authfile.c does).
 * @p what names the key in messages ("node key", "encryption key"). */
static int read_secret(unsigned char *bytes, size_t n, const char *path, const char *what, ssync_error *err)
{
	char buf[2 * crypto_sign_SECRETKEYBYTES + 8];
	struct stat sb;
	ssize_t got;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT) {
			ssync_error_set(err, SSYNC_ENOTFOUND, "%s %s is missing", what, path);
			ssync_error_hint(err, "restore the key from your backup, or create a node with: schoolsync init --node ID");
			return SSYNC_ENOTFOUND;
		}
		return ssync_error_set(err, SSYNC_EIO, "open %s %s: %s", what, path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "stat %s: %s", path, strerror(errno));
		goto done;
	}
	if ((sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		error = ssync_error_set(err, SSYNC_EKEYPERM,
			"%s %s has unsafe permissions %04o (owner uid %u): it must be mode 0600 and owned by uid %u",
			what, path, (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, (unsigned)geteuid());
		ssync_error_hint(err, "run: chmod 600 %s (and consider the key leaked if others could read it)", path);
		goto done;
	}
	got = read(fd, buf, sizeof(buf) - 1);
	if (got < 0) {
		error = ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
		goto done;
	}
	buf[got] = 0;
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		buf[--got] = 0;
	if ((size_t)got != 2 * n || ssync_hex_decode(bytes, n, buf) != 0)
		error = ssync_error_set(err, SSYNC_ECORRUPT, "%s %s is not a valid key file", what, path);
done:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return error;
}

int ssync_keys_load(ssync_keypair **out, const char *path, ssync_error *err)
{
	ssync_keypair *kp = NULL;
	int error;

	ssync_keys_init();
	*out = NULL;
	if (!(kp = kp_alloc()))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory for key");
	if ((error = read_secret(kp->sk, crypto_sign_SECRETKEYBYTES, path, "node key", err)) < 0)
		goto done;
	if (crypto_sign_ed25519_sk_to_pk(kp->pk, kp->sk) != 0) {
		error = ssync_error_set(err, SSYNC_ECORRUPT, "node key %s is not a valid key file", path);
		goto done;
	}
	*out = kp;
	kp = NULL;
done:
	ssync_keys_free(kp);
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

/* X25519 encryption keys (docs/PRIVACY.md): same file rules as node.key. */
struct ssync_enckey {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char *sk; /* crypto_box_SECRETKEYBYTES, sodium_malloc */
};

static ssync_enckey *ek_alloc(void)
{
	ssync_enckey *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	if (!(k->sk = sodium_malloc(crypto_box_SECRETKEYBYTES))) {
		free(k);
		return NULL;
	}
	return k;
}

void ssync_enckey_free(ssync_enckey *k)
{
	if (!k)
		return;
	sodium_free(k->sk);
	free(k);
}

int ssync_enckey_generate(ssync_enckey **out, ssync_error *err)
{
	ssync_enckey *k;

	ssync_keys_init();
	*out = NULL;
	if (!(k = ek_alloc()))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory for key");
	crypto_box_keypair(k->pk, k->sk);
	*out = k;
	return 0;
}

int ssync_enckey_save(const ssync_enckey *k, const char *path, ssync_error *err)
{
	return write_secret(k->sk, crypto_box_SECRETKEYBYTES, path, err);
}

int ssync_enckey_load(ssync_enckey **out, const char *path, ssync_error *err)
{
	ssync_enckey *k;
	int error;

	ssync_keys_init();
	*out = NULL;
	if (!(k = ek_alloc()))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory for key");
	if ((error = read_secret(k->sk, crypto_box_SECRETKEYBYTES, path, "encryption key", err)) < 0 ||
	    crypto_scalarmult_base(k->pk, k->sk) != 0) {
		ssync_enckey_free(k);
		return error < 0 ? error : ssync_error_set(err, SSYNC_ECORRUPT, "encryption key %s is not valid", path);
	}
	*out = k;
	return 0;
}

const unsigned char *ssync_enckey_public(const ssync_enckey *k)
{
	return k->pk;
}

int ssync_enckey_seal(unsigned char *out, const void *msg, size_t len, const unsigned char pk[SSYNC_ENCKEY_BYTES])
{
	return crypto_box_seal(out, msg, len, pk) == 0 ? 0 : SSYNC_ERROR;
}

int ssync_enckey_open(const ssync_enckey *k, unsigned char *out, const unsigned char *box, size_t boxlen)
{
	if (boxlen < crypto_box_SEALBYTES || crypto_box_seal_open(out, box, boxlen, k->pk, k->sk) != 0)
		return SSYNC_ENOKEY;
	return 0;
}
