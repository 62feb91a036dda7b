/* Private cells (docs/PRIVACY.md): the text form enc1:<kid>:<base64>, and
 * XChaCha20-Poly1305 under a data key with the cell's coordinates as
 * additional data. libsodium only; nothing here is home-made crypto. The
 * form check needs no key, so every node checks, signs and merges private
 * values as opaque text. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "schoolsync/cellcrypt.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define B64 sodium_base64_VARIANT_ORIGINAL
#define PREFIX_LEN (sizeof(SSYNC_CELL_PREFIX) - 1)
#define MAX_CELL (512u * 1024u) /* FORMAT.md: a value is at most 512 KiB */

void ssync_cell_newkey(unsigned char key[SSYNC_DATAKEY_BYTES], char kid[SSYNC_KID_HEX + 1])
{
	unsigned char id[SSYNC_KID_HEX / 2];

	ssync_keys_init();
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	randombytes_buf(id, sizeof(id));
	ssync_hex_encode(kid, id, sizeof(id));
}

int ssync_cell_kid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < SSYNC_KID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* Decode the base64 part; 1 if it is canonical (re-encodes to the same
 * bytes) and holds at least a nonce and a tag. *bin malloc'd. */
static int decode_b64(const char *b, size_t blen, unsigned char **bin, size_t *binlen)
{
	unsigned char *buf;
	const char *end = NULL;
	char *re;
	size_t n = 0, cap = blen / 4 * 3 + 3;
	int ok;

	*bin = NULL;
	if (blen == 0 || blen % 4 != 0 || blen > MAX_CELL || !(buf = malloc(cap)))
		return 0;
	if (sodium_base642bin(buf, cap, b, blen, NULL, &n, &end, B64) != 0 || end != b + blen ||
	    n < NONCE + TAG) {
		free(buf);
		return 0;
	}
	/* one spelling only: the re-encoding must be the same bytes */
	if (!(re = malloc(sodium_base64_ENCODED_LEN(n, B64)))) {
		free(buf);
		return 0;
	}
	sodium_bin2base64(re, sodium_base64_ENCODED_LEN(n, B64), buf, n, B64);
	ok = strlen(re) == blen && memcmp(re, b, blen) == 0;
	free(re);
	if (!ok) {
		free(buf);
		return 0;
	}
	*bin = buf;
	*binlen = n;
	return 1;
}

int ssync_cell_parse(const char *v, size_t len, char kid[SSYNC_KID_HEX + 1])
{
	unsigned char *bin = NULL;
	char k[SSYNC_KID_HEX + 1];
	size_t n;

	if (!v || len < PREFIX_LEN + SSYNC_KID_HEX + 2 || memcmp(v, SSYNC_CELL_PREFIX, PREFIX_LEN) != 0 ||
	    v[PREFIX_LEN + SSYNC_KID_HEX] != ':')
		return 0;
	memcpy(k, v + PREFIX_LEN, SSYNC_KID_HEX);
	k[SSYNC_KID_HEX] = 0;
	if (!ssync_cell_kid_valid(k))
		return 0;
	if (!decode_b64(v + PREFIX_LEN + SSYNC_KID_HEX + 1, len - PREFIX_LEN - SSYNC_KID_HEX - 1, &bin, &n))
		return 0;
	free(bin);
	if (kid)
		memcpy(kid, k, sizeof(k));
	return 1;
}

/* "ssync-cell-1" NUL table NUL pk NUL col NUL kid: the cell's coordinates.
 * NUL never occurs in a table, column, key or kid, so no two cells share it. */
static unsigned char *make_ad(const char *table, const char *pk, const char *col, const char *kid, size_t *len)
{
	const char *parts[5] = { "ssync-cell-1", table, pk, col, kid };
	unsigned char *ad, *p;
	size_t i, n = 0;

	for (i = 0; i < 5; i++)
		n += strlen(parts[i]) + 1;
	if (!(ad = malloc(n)))
		return NULL;
	for (p = ad, i = 0; i < 5; i++) {
		size_t l = strlen(parts[i]) + 1;
		memcpy(p, parts[i], l);
		p += l;
	}
	*len = n;
	return ad;
}

int ssync_cell_encrypt(char **out, const unsigned char key[SSYNC_DATAKEY_BYTES], const char *kid,
	const char *table, const char *pk, const char *col, const char *clear, size_t len, ssync_error *err)
{
	unsigned char *ad = NULL, *bin = NULL;
	unsigned long long clen = 0;
	size_t adlen = 0, b64len;
	char *s = NULL;
	int error = 0;

	*out = NULL;
	ssync_keys_init();
	if (!ssync_cell_kid_valid(kid))
		return ssync_error_set(err, SSYNC_EINVAL, "invalid data key id");
	if (len > (MAX_CELL - 200) / 4 * 3 - NONCE - TAG)
		return ssync_error_set(err, SSYNC_ETOOLARGE, "%s.%s: a private value is at most %u bytes", table, col,
			(unsigned)((MAX_CELL - 200) / 4 * 3 - NONCE - TAG));
	if (!(ad = make_ad(table, pk, col, kid, &adlen)) || !(bin = malloc(NONCE + len + TAG))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	randombytes_buf(bin, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(bin + NONCE, &clen, (const unsigned char *)clear, len,
		ad, adlen, NULL, bin, key);
	b64len = sodium_base64_ENCODED_LEN(NONCE + (size_t)clen, B64);
	if (!(s = malloc(PREFIX_LEN + SSYNC_KID_HEX + 1 + b64len))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	memcpy(s, SSYNC_CELL_PREFIX, PREFIX_LEN);
	memcpy(s + PREFIX_LEN, kid, SSYNC_KID_HEX);
	s[PREFIX_LEN + SSYNC_KID_HEX] = ':';
	sodium_bin2base64(s + PREFIX_LEN + SSYNC_KID_HEX + 1, b64len, bin, NONCE + (size_t)clen, B64);
	*out = s;
	s = NULL;
done:
	free(s);
	free(bin);
	free(ad);
	return error;
}

int ssync_cell_decrypt(char **out, size_t *out_len, const unsigned char key[SSYNC_DATAKEY_BYTES],
	const char *table, const char *pk, const char *col, const char *v, size_t len, ssync_error *err)
{
	unsigned char *bin = NULL, *ad = NULL;
	unsigned long long mlen = 0;
	char kid[SSYNC_KID_HEX + 1], *m = NULL;
	size_t n = 0, adlen = 0;
	int error = 0;

	*out = NULL;
	*out_len = 0;
	ssync_keys_init();
	if (!ssync_cell_parse(v, len, kid))
		return ssync_error_set(err, SSYNC_EINVAL, "%s.%s of %s is not an encrypted value", table, col, pk);
	if (!decode_b64(v + PREFIX_LEN + SSYNC_KID_HEX + 1, len - PREFIX_LEN - SSYNC_KID_HEX - 1, &bin, &n) ||
	    !(ad = make_ad(table, pk, col, kid, &adlen)) || !(m = malloc(n - NONCE - TAG + 1))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)m, &mlen, NULL, bin + NONCE, n - NONCE,
		ad, adlen, bin, key) != 0) {
		error = ssync_error_set(err, SSYNC_ENOKEY, "%s.%s of %s: the data key %.8s does not open it", table, col, pk, kid);
		goto done;
	}
	m[mlen] = 0;
	*out = m;
	*out_len = (size_t)mlen;
	m = NULL;
done:
	if (m)
		free(m);
	free(ad);
	free(bin);
	return error;
}
