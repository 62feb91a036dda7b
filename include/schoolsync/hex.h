#ifndef SSYNC_HEX_H
#define SSYNC_HEX_H

#include <stddef.h>

#include "common.h"
#include "error.h"

/** Lower-case hex of @p len bytes into @p out (2*len+1 bytes, NUL-terminated). */
SSYNC_EXTERN void ssync_hex_encode(char *out, const unsigned char *bin, size_t len);

/** Parse exactly @p len bytes of hex (2*len characters, nothing else); SSYNC_EINVAL otherwise. */
SSYNC_EXTERN int ssync_hex_decode(unsigned char *out, size_t len, const char *hex);

#endif
