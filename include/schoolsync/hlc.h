#ifndef SSYNC_HLC_H
#define SSYNC_HLC_H

#include <stdint.h>

#include "common.h"

#include "error.h"

/**
 * Hybrid logical clock: milliseconds since the Unix epoch shifted left by 16,
 * or'ed with a 16-bit logical counter. Values are totally ordered as integers;
 * (hlc, node id) orders versions. A clock reading that goes backwards never
 * makes the HLC go backwards.
 *
 * Range (docs/FORMAT.md): the physical part lies in [SSYNC_HLC_MIN_MS,
 * SSYNC_HLC_MAX_MS] = 2000-01-01T00:00:00.000Z .. 2999-12-31T23:59:59.999Z,
 * so every valid HLC is below 2^61: no sum or shift on one can overflow an
 * int64 (JSON, SQLite). Receivers refuse entries outside it (E_CLOCK), and
 * the writer refuses to sign one.
 */
#define SSYNC_HLC_COUNTER_BITS 16
#define SSYNC_HLC_MIN_MS UINT64_C(946684800000)   /* 2000-01-01T00:00:00.000Z */
#define SSYNC_HLC_MAX_MS UINT64_C(32503679999999) /* 2999-12-31T23:59:59.999Z */
#define SSYNC_HLC_MIN (SSYNC_HLC_MIN_MS << SSYNC_HLC_COUNTER_BITS)
#define SSYNC_HLC_MAX ((SSYNC_HLC_MAX_MS << SSYNC_HLC_COUNTER_BITS) | 0xFFFFu)

/** Physical milliseconds of an HLC value. */
SSYNC_EXTERN uint64_t ssync_hlc_ms(uint64_t hlc);

/** Non-zero when @p hlc lies in [SSYNC_HLC_MIN, SSYNC_HLC_MAX]. */
SSYNC_EXTERN int ssync_hlc_in_range(uint64_t hlc);

/**
 * A fresh HLC for a local event: > @p last, and >= the clock reading. Pure
 * arithmetic (a clock reading above SSYNC_HLC_MAX_MS counts as that); the
 * writer goes through ssync_hlc_next, which refuses what receivers would.
 */
SSYNC_EXTERN uint64_t ssync_hlc_tick(uint64_t last, uint64_t now_ms);

/**
 * The writer's clock guard: the next HLC after @p last for a clock reading
 * of @p now_ms, or SSYNC_ECLOCK (nothing may be signed) when the reading is
 * outside the range -- the PC's clock is wrong, the message says what it
 * reads and the hint how to fix it -- or when the result would pass
 * SSYNC_HLC_MAX.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_hlc_next(uint64_t last, uint64_t now_ms, uint64_t *out,
	ssync_error *err);

/** Advance @p last past a received @p remote HLC (then tick it for the next event). */
SSYNC_EXTERN uint64_t ssync_hlc_observe(uint64_t last, uint64_t remote);

/**
 * Wall clock in milliseconds (CLOCK_REALTIME). It is a link seam: test
 * executables link tests/unit/helpers_clock.c, which defines it again (and
 * honours SCHOOLSYNC_FAKE_TIME_MS); the programs never read that variable.
 */
SSYNC_EXTERN uint64_t ssync_hlc_wall_ms(void);

/** Format the physical part as "2026-11-25T14:00:00.123Z" into @p buf (>= 32 bytes). */
SSYNC_EXTERN void ssync_hlc_format(uint64_t hlc, char *buf, unsigned int len);

#endif
