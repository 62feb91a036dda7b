/* Time as text (include/schoolsync/timefmt.h). The calendar arithmetic is
 * done here (days from a civil date and back, H. Hinnant's algorithms)
 * rather than with timegm/mktime, which roll 2026-02-31 over into March
 * instead of refusing it; only the local form asks the C library, for the
 * zone rules. Parsers take fixed shapes, digit by digit: no sscanf, which
 * accepts signs, spaces and short fields. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "schoolsync/error.h"
#include "schoolsync/timefmt.h"

#define MS_PER_DAY 86400000LL

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ssync_time_date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

int64_t ssync_time_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Floor division: the day of a time before 1970 starts before it. */
static int64_t day_of(int64_t ms)
{
	return ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
}

void ssync_time_civil(int64_t ms, int *y_out, int *m_out, int *d_out, int *weekday)
{
	int64_t z = day_of(ms), era, doe, yoe, doy, mp, y, m, d;

	if (weekday) /* 1970-01-01 was a Thursday */
		*weekday = (int)(((z % 7) + 7 + 3) % 7) + 1;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y_out)
		*y_out = (int)y;
	if (m_out)
		*m_out = (int)m;
	if (d_out)
		*d_out = (int)d;
}

const char *ssync_time_utc(int64_t ms, int with_ms, char *buf, size_t len)
{
	int64_t in_day = ms - day_of(ms) * MS_PER_DAY;
	int y, m, d;

	ssync_time_civil(ms, &y, &m, &d, NULL);
	if (y < 1 || y > 9999) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	if (with_ms)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(in_day / 3600000),
			(int)(in_day / 60000 % 60), (int)(in_day / 1000 % 60), (int)(in_day % 1000));
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(in_day / 3600000),
			(int)(in_day / 60000 % 60), (int)(in_day / 1000 % 60));
	return buf;
}

const char *ssync_time_local(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char zone[16] = "";
	long off;

	if (ms <= 0 || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return buf;
	}
	off = tm.tm_gmtoff;
	/* "%Z" is a name only where the zone has one; "+08" style is no name. */
	if (strftime(zone, sizeof(zone), " %Z", &tm) == 0 || zone[1] == '+' || zone[1] == '-')
		zone[0] = 0;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d %c%02ld:%02ld%s", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', (off < 0 ? -off : off) / 3600,
		(off < 0 ? -off : off) / 60 % 60, zone);
	return buf;
}

/* @p n decimal digits at @p s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at the start of @p s, a real date; returns its day number. */
static int date_at(const char *s, int64_t *days)
{
	int y = digits(s, 4), m, d;

	if (y < 0 || s[4] != '-' || (m = digits(s + 5, 2)) < 0 || s[7] != '-' || (d = digits(s + 8, 2)) < 0)
		return SSYNC_EINVAL;
	if (!ssync_time_date_valid(y, m, d))
		return SSYNC_EINVAL;
	*days = ssync_time_days(y, m, d);
	return 0;
}

int ssync_time_parse_date(const char *s, int64_t *ms_out)
{
	int64_t days;

	if (!s || strlen(s) != 10 || date_at(s, &days) < 0)
		return SSYNC_EINVAL;
	*ms_out = days * MS_PER_DAY;
	return 0;
}

int ssync_time_parse_utc(const char *s, int64_t *ms_out)
{
	int64_t days;
	int h, mi, se, frac = 0;
	const char *p;

	if (!s || strlen(s) < 19 || date_at(s, &days) < 0 || (s[10] != 'T' && s[10] != ' '))
		return SSYNC_EINVAL;
	if ((h = digits(s + 11, 2)) < 0 || s[13] != ':' || (mi = digits(s + 14, 2)) < 0 || s[16] != ':' ||
	    (se = digits(s + 17, 2)) < 0 || h > 23 || mi > 59 || se > 59)
		return SSYNC_EINVAL;
	p = s + 19;
	if (*p == '.') {
		if ((frac = digits(p + 1, 3)) < 0)
			return SSYNC_EINVAL;
		p += 4;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return SSYNC_EINVAL;
	*ms_out = days * MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + se) * 1000 + frac;
	return 0;
}

int ssync_time_parse_hm(const char *s, int *minutes_out)
{
	int h, m;

	if (!s || strlen(s) != 5 || (h = digits(s, 2)) < 0 || s[2] != ':' || (m = digits(s + 3, 2)) < 0 ||
	    h > 23 || m > 59)
		return SSYNC_EINVAL;
	*minutes_out = h * 60 + m;
	return 0;
}
