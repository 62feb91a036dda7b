#ifndef SSYNC_HLC_H
#define SSYNC_HLC_H

#include <stdint.h>

#include "common.h"

/**
 * Hybrid logical clock: 48 bits of milliseconds since the Unix epoch, 16 bits
 * of logical counter. Values are totally ordered as integers; (hlc, node id)
 * orders versions. A clock reading that goes backwards never makes the HLC go
 * backwards.
 */
#define SSYNC_HLC_COUNTER_BITS 16
#define SSYNC_HLC_MAX_MS ((UINT64_C(1) << 47) - 1)

/** Physical milliseconds of an HLC value. */
SSYNC_EXTERN uint64_t ssync_hlc_ms(uint64_t hlc);

/** A fresh HLC for a local event: > @p last, and >= the clock reading. */
SSYNC_EXTERN uint64_t ssync_hlc_tick(uint64_t last, uint64_t now_ms);

/** Advance @p last past a received @p remote HLC (then tick it for the next event). */
SSYNC_EXTERN uint64_t ssync_hlc_observe(uint64_t last, uint64_t remote);

/** Wall clock in milliseconds (CLOCK_REALTIME); SCHOOLSYNC_FAKE_TIME_MS overrides for tests. */
SSYNC_EXTERN uint64_t ssync_hlc_wall_ms(void);

/** Format the physical part as "2026-11-25T14:00:00.123Z" into @p buf (>= 32 bytes). */
SSYNC_EXTERN void ssync_hlc_format(uint64_t hlc, char *buf, unsigned int len);

#endif
