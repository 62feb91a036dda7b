/* Hex as the wire format writes it (lower case, docs/FORMAT.md), through
 * libsodium's constant-time codec. */
#include <string.h>

#include <sodium.h>

#include "schoolsync/hex.h"

void ssync_hex_encode(char *out, const unsigned char *bin, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, bin, len);
}

int ssync_hex_decode(unsigned char *out, size_t len, const char *hex)
{
	size_t got = 0;
	const char *end = NULL;

	if (!hex || strlen(hex) != 2 * len)
		return SSYNC_EINVAL;
	if (sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, &end) != 0 || got != len || *end)
		return SSYNC_EINVAL;
	return 0;
}
