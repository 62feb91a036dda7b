#ifndef SSYNC_COMMON_H
#define SSYNC_COMMON_H

#if defined(__GNUC__)
#define SSYNC_EXTERN __attribute__((visibility("default")))
#define SSYNC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SSYNC_EXTERN
#define SSYNC_WARN_UNUSED
#endif

/*
 * The library's layers, lowest first (docs/ARCHITECTURE.md). CMake compiles
 * each layer with SSYNC_LAYER set to its number; a public header of a higher
 * layer refuses to be included there.
 */
#define SSYNC_LAYER_CORE 1
#define SSYNC_LAYER_STORE 2
#define SSYNC_LAYER_EXCHANGE 3
#define SSYNC_LAYER_SYNC 4
#define SSYNC_LAYER_DOMAIN 5
#define SSYNC_LAYER_WEB 6

#define SSYNC_NODE_ID_MAX 63 /* [a-z0-9][a-z0-9-]{0,62} */

#endif
