#ifndef SSYNC_COMMON_H
#define SSYNC_COMMON_H

#if defined(__GNUC__)
#define SSYNC_EXTERN __attribute__((visibility("default")))
#define SSYNC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SSYNC_EXTERN
#define SSYNC_WARN_UNUSED
#endif

#define SSYNC_NODE_ID_MAX 63 /* [a-z0-9][a-z0-9-]{0,62} */

#endif
