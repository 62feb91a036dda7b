/* The district data model as data: one spec per table of
 * schema/002_domain.sql (column order matches the schema, id excluded), and
 * the value rules every command and the importer apply before a write.
 * Keep this file and the schema in step: test_domain checks that every
 * spec column exists in the replica. Values are canonicalized here (enum
 * aliases, 是/否, 2024/9/1 dates) so the replica holds one spelling. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error_int.h"
#include "schoolsync/domain.h"
#include "schoolsync/entry.h"
#include "schoolsync/timefmt.h"

#define TXT(n, l, req, max) { n, l, SSYNC_FT_TEXT, req, NULL, NULL, 0, max, 0 }
#define REF(n, l, req, tbl) { n, l, SSYNC_FT_REF, req, NULL, tbl, 0, 0, 0 }
#define INT(n, l, req, lo, hi) { n, l, SSYNC_FT_INT, req, NULL, NULL, lo, hi, 0 }
#define ENUM(n, l, req, v) { n, l, SSYNC_FT_ENUM, req, v, NULL, 0, 0, 0 }
#define TYPED(n, l, type, req) { n, l, type, req, NULL, NULL, 0, 0, 0 }
#define OWNER REF("school_id", "学校", 1, "school")

#define STAGES "kindergarten:幼儿园|primary:小学|middle:初中|nine-year:九年一贯制|high:高中"
#define TITLES "初级|中级|高级|正高级"
#define TIERS "见习|青年|骨干|名师|特级"
#define KINDS "互补代课|跨校兼课|学区带教|支教|跟岗"
#define CATEGORIES "思政|学科|文体|艺术|劳动|科技|心理"
#define RKINDS "场馆|实验室|图书馆|劳动基地|其他"

static const ssync_field zone_f[] = {
	TXT("name", "名称", 1, 40),
};
static const ssync_field group_f[] = {
	TXT("name", "名称", 1, 60),
	ENUM("kind", "类型", 1, "local:区内,区内集团|cross:名校+新校,跨区|stage:跨学段"),
	TXT("partner", "合作名校", 0, 60),
};
static const ssync_field school_f[] = {
	TXT("name", "校名", 1, 60),
	REF("zone_id", "学区", 1, "zone"),
	TXT("town", "镇", 0, 30),
	ENUM("stage", "学段", 1, STAGES),
	INT("students", "学生数", 1, 0, 20000),
	REF("group_id", "教育集团", 0, "edu_group"),
	ENUM("group_role", "集团角色", 0, "lead:牵头校|core:核心校|member:成员校|new:新校"),
};
static const ssync_field teacher_f[] = {
	OWNER,
	TXT("staff_no", "工号", 1, 32),
	TXT("name", "姓名", 1, 40),
	TXT("subject", "学科", 0, 20),
	ENUM("title", "职称", 1, TITLES),
	ENUM("tier", "梯队", 0, TIERS),
	INT("birth_year", "出生年份", 1, 1940, 2015),
	INT("joined_year", "入校年份", 1, 1955, 2100),
	ENUM("gender", "性别", 0, "男:m,male|女:f,female"),
	TYPED("committed", "承诺流动", SSYNC_FT_BOOL, 0),
	/* schema 006: when title / tier were awarded (seed 003's 新评) */
	INT("title_year", "职称评定年份", 0, 1950, 2100),
	INT("tier_year", "称号评定年份", 0, 1950, 2100),
};
static const ssync_field rotation_f[] = {
	/* Owner and from_school default to the teacher's school. */
	REF("school_id", "学校", 0, "school"),
	REF("teacher_id", "教师", 1, "teacher"),
	REF("from_school", "派出学校", 0, "school"),
	REF("to_school", "接收学校", 1, "school"),
	ENUM("kind", "方式", 1, KINDS),
	TYPED("term", "学期", SSYNC_FT_TERM, 1),
	{ "status", "状态", SSYNC_FT_ENUM, 0, ":proposed,待审批|approved:已批准|done:已完成|rejected:未批准", NULL, 0, 0, 1 },
	TXT("note", "备注", 0, 200),
};
static const ssync_field course_f[] = {
	OWNER,
	TXT("name", "课程名称", 1, 60),
	ENUM("category", "类别", 1, CATEGORIES),
	TYPED("offered", "申请共享", SSYNC_FT_BOOL, 0),
	{ "shared", "共享", SSYNC_FT_BOOL, 0, NULL, NULL, 0, 0, 1 },
	INT("capacity", "容量", 0, 1, 5000),
};
static const ssync_field enrollment_f[] = {
	OWNER,
	REF("course_id", "课程", 1, "course"),
	TYPED("term", "学期", SSYNC_FT_TERM, 1),
	INT("students", "人数", 1, 1, 5000),
};
static const ssync_field resource_f[] = {
	OWNER,
	TXT("name", "名称", 1, 60),
	ENUM("kind", "类型", 1, RKINDS),
	INT("capacity", "容量", 0, 1, 10000),
	TYPED("open_days", "开放日", SSYNC_FT_DAYS, 1),
	TYPED("open_from", "开放开始", SSYNC_FT_TIME, 1),
	TYPED("open_to", "开放结束", SSYNC_FT_TIME, 1),
	TYPED("shared", "对外共享", SSYNC_FT_BOOL, 0),
};
static const ssync_field booking_f[] = {
	OWNER,
	REF("resource_id", "场地", 1, "resource"),
	TYPED("day", "日期", SSYNC_FT_DATE, 1),
	TYPED("from_time", "开始", SSYNC_FT_TIME, 1),
	TYPED("to_time", "结束", SSYNC_FT_TIME, 1),
	INT("people", "人数", 0, 1, 10000),
	TXT("purpose", "用途", 0, 100),
};
static const ssync_field training_f[] = {
	OWNER,
	REF("teacher_id", "教师", 1, "teacher"),
	TXT("title", "培训名称", 1, 100),
	ENUM("level", "级别", 1, "市级|区级|学区|集团|校本"),
	{ "credits", "学分", SSYNC_FT_REAL, 1, NULL, NULL, 0, 100, 0 },
	INT("year", "年份", 1, 2000, 2100),
};
static const ssync_field observation_f[] = {
	OWNER,
	REF("teacher_id", "授课教师", 1, "teacher"),
	REF("observer_id", "观察教师", 0, "teacher"),
	TYPED("day", "日期", SSYNC_FT_DATE, 1),
	TXT("subject", "学科", 0, 20),
	INT("score", "评分", 0, 0, 100),
	TXT("note", "备注", 0, 500),
};
static const ssync_field funding_f[] = {
	ENUM("target_kind", "对象类型", 1, "zone:学区|group:集团|school:学校"),
	TXT("target_id", "对象", 1, 64),
	ENUM("source", "来源", 1, "市级|区级|绩效奖励|托管"),
	TXT("purpose", "用途", 0, 100),
	INT("amount", "金额", 1, 0, INT64_C(100000000000)),
	INT("year", "年份", 1, 2000, 2100),
};
static const ssync_field archive_f[] = {
	OWNER,
	TXT("name", "姓名", 1, 40),
	TXT("grade", "年级", 0, 20),
	TXT("record", "档案", 0, 4000),
};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))
static const ssync_table_spec tables[] = {
	{ "zone", "学区", 0, 0, 1, NULL, N(zone_f), zone_f },
	{ "edu_group", "教育集团", 0, 0, 1, NULL, N(group_f), group_f },
	{ "school", "学校", 0, 0, 1, NULL, N(school_f), school_f },
	{ "teacher", "教师", 1, 0, 0, "staff_no", N(teacher_f), teacher_f },
	{ "rotation", "交流轮岗", 1, 0, 0, NULL, N(rotation_f), rotation_f },
	{ "course", "课程", 1, 0, 0, NULL, N(course_f), course_f },
	{ "enrollment", "选课", 1, 0, 0, NULL, N(enrollment_f), enrollment_f },
	{ "resource", "场地资源", 1, 0, 0, NULL, N(resource_f), resource_f },
	{ "booking", "预约", 1, 0, 0, NULL, N(booking_f), booking_f },
	{ "training", "培训学分", 1, 0, 0, NULL, N(training_f), training_f },
	{ "observation", "课堂观察", 1, 0, 0, NULL, N(observation_f), observation_f },
	{ "funding", "经费", 0, 0, 0, NULL, N(funding_f), funding_f },
	{ "student_archive", "学生档案", 1, 1, 0, NULL, N(archive_f), archive_f },
};

int ssync_domain_ntables(void) { return N(tables); }

const ssync_table_spec *ssync_domain_table_at(int i)
{
	return i >= 0 && i < N(tables) ? &tables[i] : NULL;
}

const ssync_table_spec *ssync_domain_table(const char *name)
{
	int i;

	for (i = 0; name && i < N(tables); i++)
		if (strcmp(tables[i].name, name) == 0)
			return &tables[i];
	return NULL;
}

int ssync_domain_field_index(const ssync_table_spec *t, const char *name)
{
	int i;

	for (i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0 || strcmp(t->fields[i].label, name) == 0)
			return i;
	return -1;
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 if invalid. Rejects
 * overlongs, surrogates and code points above U+10FFFF. */
static int utf8_seq(const unsigned char *s, unsigned int *cp)
{
	unsigned int c = s[0];
	int n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Trim ASCII blanks and U+3000 (ideographic space, common in spreadsheets). */
static void trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;

	for (;;) {
		if (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
			n--;
		} else if (n >= 3 && memcmp(p, "\xe3\x80\x80", 3) == 0) {
			p += 3;
			n -= 3;
		} else {
			break;
		}
	}
	for (;;) {
		if (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		else if (n >= 3 && memcmp(p + n - 3, "\xe3\x80\x80", 3) == 0)
			n -= 3;
		else
			break;
	}
	*s = p;
	*len = n;
}

static int reason_fail(char *why, size_t whylen, const char *fmt, const char *a, const char *b)
{
	/* noted, so the message that carries it is translated whole */
	(void)ssync_error__reason(why, whylen, fmt, a, b ? b : "");
	return SSYNC_EINVAL;
}

static int parse_int(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!*s || (!isdigit((unsigned char)*s) && *s != '-' && *s != '+'))
		return -1;
	x = strtoll(s, &end, 10);
	if (*end)
		return -1;
	*v = x;
	return 0;
}

/* One or two digits at *p (moving past them); -1 if none. */
static int small_num(const char **p)
{
	int v = -1, n = 0;

	while (n < 2 && isdigit((unsigned char)**p)) {
		v = (v < 0 ? 0 : v * 10) + (**p - '0');
		(*p)++;
		n++;
	}
	return v;
}

/* "2026-09-01", "2026/9/1", "2026.9.1" (one separator throughout) → "2026-09-01";
 * only real dates (ssync_time_date_valid): 2026-02-31 and 2026-13-01 are refused. */
static int norm_date(const char *s, char *out, size_t outlen)
{
	const char *p = s + 4;
	char sep = s[0] ? s[4] : 0;
	int y = 0, m, d, i;

	for (i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		y = y * 10 + (s[i] - '0');
	}
	if (sep != '-' && sep != '/' && sep != '.')
		return -1;
	p++;
	if ((m = small_num(&p)) < 0 || *p++ != sep || (d = small_num(&p)) < 0 || *p)
		return -1;
	if (y < 1900 || y > 2200 || !ssync_time_date_valid(y, m, d))
		return -1;
	snprintf(out, outlen, "%04d-%02d-%02d", y, m, d);
	return 0;
}

/* "8:05" or "08:05" → "08:05"; 00:00 to 23:59 (24:00 is refused). */
static int norm_time(const char *s, char *out, size_t outlen)
{
	const char *p = s;
	int h, m, mins;
	char buf[8];

	if ((h = small_num(&p)) < 0 || *p++ != ':' || (m = small_num(&p)) < 0 || *p)
		return -1;
	snprintf(buf, sizeof(buf), "%02d:%02d", h, m);
	if (ssync_time_parse_hm(buf, &mins) < 0)
		return -1;
	snprintf(out, outlen, "%s", buf);
	return 0;
}

/* "12345", "1-5", "1,3,5" → sorted digits. */
static int norm_days(const char *s, char *out, size_t outlen)
{
	int have[8] = { 0 }, i, k = 0;

	if (outlen < 8)
		return -1;
	for (; *s; s++) {
		if (*s >= '1' && *s <= '7' && s[1] == '-' && s[2] >= '1' && s[2] <= '7') {
			int a = *s - '0', b = s[2] - '0';
			if (a > b)
				return -1;
			for (i = a; i <= b; i++)
				have[i] = 1;
			s += 2;
		} else if (*s >= '1' && *s <= '7') {
			have[*s - '0'] = 1;
		} else if (*s != ',' && *s != ' ') {
			return -1;
		}
	}
	for (i = 1; i <= 7; i++)
		if (have[i])
			out[k++] = (char)('0' + i);
	out[k] = 0;
	return k ? 0 : -1;
}

/* Match @p s against "canon[:alias,alias]|..." (ASCII case-insensitive). */
static int enum_match(const char *values, const char *s, char *out, size_t outlen)
{
	const char *p = values;

	while (*p) {
		const char *end = strchr(p, '|'), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p), clen;
		colon = memchr(p, ':', len);
		clen = colon ? (size_t)(colon - p) : len;
		/* Compare s with the canonical name and each alias. */
		{
			const char *q = p, *stop = p + len;
			size_t slen = strlen(s);
			while (q < stop) {
				const char *e = q;
				while (e < stop && *e != ':' && *e != ',')
					e++;
				if ((size_t)(e - q) == slen && strncasecmp(q, s, slen) == 0) {
					if (clen + 1 > outlen)
						return -1;
					memcpy(out, p, clen);
					out[clen] = 0;
					return 0;
				}
				q = e + 1;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	return -1;
}

/* "初级, 中级, ..." from the canonical names (the empty one shown as its first alias). */
static void enum_list(const char *values, char *out, size_t outlen)
{
	const char *p = values;
	size_t o = 0;

	out[0] = 0;
	while (*p && o + 1 < outlen) {
		const char *end = strchr(p, '|');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t clen = strcspn(p, ":|");
		const char *name = p;
		if (clen == 0) {
			name = p + 1;
			clen = strcspn(name, ",|");
		}
		o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", o ? ", " : "", (int)clen, name);
		if (o >= outlen)
			break;
		if (!end)
			break;
		p = end + 1;
		(void)len;
	}
}

int ssync_domain_normalize(const ssync_field *f, const char *in, char *out, size_t outlen,
	int *is_null, char *why, size_t whylen)
{
	const char *s = in ? in : "";
	size_t len = strlen(s), i, chars = 0;
	char buf[4096];

	*is_null = 0;
	out[0] = 0;
	trim(&s, &len);
	if (len == 0) {
		*is_null = 1;
		if (f->required)
			return reason_fail(why, whylen, "a value is required%s", "", NULL);
		return 0;
	}
	if (len >= sizeof(buf) || len >= outlen)
		return reason_fail(why, whylen, "value is too long%s", "", NULL);
	for (i = 0; i < len;) {
		unsigned int cp;
		int n = utf8_seq((const unsigned char *)s + i, &cp);
		if (n == 0 || i + (size_t)n > len)
			return reason_fail(why, whylen, "value is not valid UTF-8 (save the file as UTF-8)%s", "", NULL);
		if (cp < 0x20 && !(f->type == SSYNC_FT_TEXT && (cp == '\n' || cp == '\t')))
			return reason_fail(why, whylen, "value contains a control character%s", "", NULL);
		i += (size_t)n;
		chars++;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	switch (f->type) {
	case SSYNC_FT_TEXT:
		if (f->max && chars > (size_t)f->max) {
			char m[32];
			snprintf(m, sizeof(m), "%lld", (long long)f->max);
			return reason_fail(why, whylen, "'%.60s...' is longer than %s characters", buf, m);
		}
		memcpy(out, buf, len + 1);
		return 0;
	case SSYNC_FT_CODE:
		if (!ssync_ident_node_valid(buf))
			return reason_fail(why, whylen, "'%s' is not a valid code: use 1-63 of a-z, 0-9 and '-'%s", buf, NULL);
		memcpy(out, buf, len + 1);
		return 0;
	case SSYNC_FT_REF:
		if (len > 128)
			return reason_fail(why, whylen, "'%.40s...' is too long for an id%s", buf, NULL);
		memcpy(out, buf, len + 1);
		return 0;
	case SSYNC_FT_INT: {
		int64_t v;
		char lo[24], hi[24], rng[64];
		if (parse_int(buf, &v) < 0)
			return reason_fail(why, whylen, "'%s' is not a whole number%s", buf, NULL);
		if (v < f->min || v > f->max) {
			snprintf(lo, sizeof(lo), "%lld", (long long)f->min);
			snprintf(hi, sizeof(hi), "%lld", (long long)f->max);
			snprintf(rng, sizeof(rng), "%s..%s", lo, hi);
			return reason_fail(why, whylen, "%s is out of range %s", buf, rng);
		}
		snprintf(out, outlen, "%lld", (long long)v);
		return 0;
	}
	case SSYNC_FT_REAL: {
		char *end;
		double v = strtod(buf, &end);
		if (*end || !isfinite(v) || !(isdigit((unsigned char)buf[0]) || buf[0] == '-' || buf[0] == '.'))
			return reason_fail(why, whylen, "'%s' is not a number%s", buf, NULL);
		if (v < (double)f->min || v > (double)f->max)
			return reason_fail(why, whylen, "%s is out of range%s", buf, NULL);
		snprintf(out, outlen, "%.15g", v);
		return 0;
	}
	case SSYNC_FT_ENUM: {
		char list[512];
		if (enum_match(f->values, buf, out, outlen) == 0) {
			if (!out[0])
				*is_null = 1;
			return 0;
		}
		enum_list(f->values, list, sizeof(list));
		return reason_fail(why, whylen, "'%s' is not one of %s", buf, list);
	}
	case SSYNC_FT_BOOL:
		if (enum_match("1:yes,y,true,是,对,√|0:no,n,false,否,", buf, out, outlen) == 0)
			return 0;
		return reason_fail(why, whylen, "'%s' is not yes/no (1/0, 是/否)%s", buf, NULL);
	case SSYNC_FT_DATE:
		if (norm_date(buf, out, outlen) < 0)
			return reason_fail(why, whylen, "'%s' is not a date YYYY-MM-DD%s", buf, NULL);
		return 0;
	case SSYNC_FT_TIME:
		if (norm_time(buf, out, outlen) < 0)
			return reason_fail(why, whylen, "'%s' is not a time HH:MM%s", buf, NULL);
		return 0;
	case SSYNC_FT_TERM: {
		int y, t, n = 0;
		if (sscanf(buf, "%4d-%1d%n", &y, &t, &n) != 2 || buf[n] || (t != 1 && t != 2) || y < 2000 || y > 2100)
			return reason_fail(why, whylen, "'%s' is not a term YYYY-1 or YYYY-2 (school year, semester)%s", buf, NULL);
		snprintf(out, outlen, "%04d-%d", y, t);
		return 0;
	}
	case SSYNC_FT_DAYS:
		if (norm_days(buf, out, outlen) < 0)
			return reason_fail(why, whylen, "'%s' is not a set of weekdays like 12345 or 1-5 (Mon=1)%s", buf, NULL);
		return 0;
	default:
		return reason_fail(why, whylen, "unknown field type%s", "", NULL);
	}
}
