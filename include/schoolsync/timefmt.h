#ifndef SSYNC_TIMEFMT_H
#define SSYNC_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * Time as text, in one place: the UTC forms the library stores and sends
 * (HLC times, certificate validity, arrival times), the local form people
 * read, and parsers that accept only real calendar dates and times
 * (2026-02-31, 2026-13-01 and 24:00 are refused, never rolled over).
 * Milliseconds are since 1970-01-01T00:00:00Z; the calendar is the
 * proleptic Gregorian one, years 0001-9999. Nothing here reads the clock.
 */

/** 1 if @p y-@p m-@p d is a real date (leap years included), else 0. */
SSYNC_EXTERN int ssync_time_date_valid(int y, int m, int d);

/** Days from 1970-01-01 to a valid date (negative before it). */
SSYNC_EXTERN int64_t ssync_time_days(int y, int m, int d);

/**
 * The UTC calendar date of @p ms: year, month 1-12, day 1-31 and ISO
 * weekday 1-7 (Monday = 1). Any out-parameter may be NULL.
 */
SSYNC_EXTERN void ssync_time_civil(int64_t ms, int *y, int *m, int *d, int *weekday);

/**
 * UTC text of @p ms: "YYYY-MM-DDTHH:MM:SS.mmmZ" with @p with_ms, else
 * "YYYY-MM-DDTHH:MM:SSZ"; "invalid" outside years 0001-9999. Returns buf.
 */
SSYNC_EXTERN const char *ssync_time_utc(int64_t ms, int with_ms, char *buf, size_t len);

/**
 * Local time for people: "YYYY-MM-DD HH:MM:SS +08:00 CST" (the zone from TZ
 * or /etc/localtime; the abbreviation only when the system has a name for
 * it). "-" for @p ms <= 0. Returns buf.
 */
SSYNC_EXTERN const char *ssync_time_local(int64_t ms, char *buf, size_t len);

/**
 * Parse a date "YYYY-MM-DD" (exactly that shape) into UTC midnight.
 * @return 0, or SSYNC_EINVAL for another shape or a date that does not exist.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_time_parse_date(const char *s, int64_t *ms_out);

/**
 * Parse a UTC date-time as the library writes it: "YYYY-MM-DDTHH:MM:SS"
 * (or a space for the T), then an optional ".mmm" and an optional "Z".
 * @return 0, or SSYNC_EINVAL for another shape or an impossible date or
 *   time (hour 24, minute or second 60).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_time_parse_utc(const char *s, int64_t *ms_out);

/**
 * Parse a time of day "HH:MM" (00:00 to 23:59) into minutes after midnight.
 * @return 0, or SSYNC_EINVAL.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_time_parse_hm(const char *s, int *minutes_out);

#endif
