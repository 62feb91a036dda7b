/* A synthetic district for demos, tests and benchmarks, modelled on seed 004
 * (Chongming: 111 schools on three islands, 18 towns, six zones, 35 % of
 * schools under 200 students, eight local groups and four 名校+新校 groups)
 * and seed 003 (rotation rules). Deterministic: a splitmix64 stream seeded
 * by the caller drives every choice, ids included, so a test can rely on
 * the same district every run. The generated data obeys every rule the
 * commands enforce: `check` finds nothing in it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_int.h"
#include "report_int.h"
#include "schoolsync/hlc.h"

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t next(rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int uni(rng *r, int lo, int hi) /* inclusive */
{
	return lo + (int)(next(r) % (uint64_t)(hi - lo + 1));
}

static int chance(rng *r, int percent) { return (int)(next(r) % 1000) < percent * 10; }
static int chance_pm(rng *r, int permille) { return (int)(next(r) % 1000) < permille; }

#define PICK(r, arr) (arr)[next(r) % (sizeof(arr) / sizeof((arr)[0]))]

static const struct { const char *id, *name, *towns[6]; int weight; } zones[] = {
	{ "chongxi", "崇西", { "庙镇", "港西镇", "三星镇", "绿华镇", "新海镇", "新村乡" }, 16 },
	{ "chengqiao", "城桥", { "城桥镇", "建设镇" }, 24 },
	{ "chongzhong", "崇中", { "新河镇", "竖新镇", "东平镇" }, 14 },
	{ "baogang", "堡港", { "堡镇", "港沿镇" }, 16 },
	{ "chongdong", "崇东", { "陈家镇", "中兴镇", "向化镇" }, 16 },
	{ "changheng", "长横", { "长兴镇", "横沙乡" }, 14 },
};
#define NZONES 6

static const char *surnames[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
	"朱", "胡", "郭", "何", "高", "林", "郑", "谢", "宋", "唐", "许", "韩", "冯", "曹", "彭", "董", "袁",
	"潘", "蒋", "蔡", "杜", "叶", "程", "沈", "陆", "顾", "施", "倪", "钱", "龚", "瞿", "茅", "黄", "姚",
	"范", "金", "邱", "汤", "俞", "石", "严", "欧阳", "司马" };
static const char *given_f[] = { "静", "丽", "敏", "燕", "艳", "娟", "霞", "芳", "婷", "雯", "洁", "琳",
	"颖", "佳", "慧", "倩", "蕾", "萍", "红", "英", "晓", "雪", "梅", "璐", "怡", "欣", "悦", "嘉" };
static const char *given_m[] = { "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平",
	"辉", "鹏", "华", "飞", "俊", "峰", "建", "国", "文", "浩", "宇", "东", "健", "晨", "振", "宏" };
static const char *subjects[] = { "语文", "数学", "英语", "语文", "数学", "英语", "物理", "化学", "生物",
	"历史", "地理", "道德与法治", "音乐", "美术", "体育", "信息科技", "劳动", "心理健康", "科学" };
static const char *course_names[7][4] = {
	{ "红色崇明", "家乡的英雄", "少年法治课堂", "国旗下的成长" },
	{ "趣味数学", "英语戏剧", "科学探究", "大单元阅读" },
	{ "足球", "游泳", "跳绳", "篮球" },
	{ "崇明扁担戏", "水墨画", "合唱", "灶花" },
	{ "农艺农技", "生态种植", "家政烹饪", "木工" },
	{ "机器人", "编程入门", "无人机", "生态观察" },
	{ "心理成长营", "情绪小管家", "沙盘游戏", "青春期教育" },
};
static const char *categories[7] = { "思政", "学科", "文体", "艺术", "劳动", "科技", "心理" };
static const struct { const char *kind, *name; } resources[] = {
	{ "场馆", "体育馆" }, { "场馆", "游泳馆" }, { "场馆", "非遗文化馆" }, { "实验室", "创新实验室" },
	{ "实验室", "理科实验室" }, { "实验室", "外语听说测试教室" }, { "图书馆", "图书馆" },
	{ "劳动基地", "农艺农技基地" }, { "劳动基地", "水趣园" },
};
static const char *partners[] = { "上海市实验学校", "静安区南京西路幼儿园", "上海市第一师范学校附属小学",
	"黄浦区思南路幼儿园" };

typedef struct school {
	char id[16], name[96], zone[16], stage[16], town[32];
	int zi, students, nteachers, first_teacher;
} school;

typedef struct teacher {
	char id[40], school[16];
	int age, joined, gender_f, key, due;
	const char *title, *tier;
} teacher;

typedef struct gen {
	rng r;
	json_t *rows[16];
	int ntab;
} gen;

/* Append one row [id, v1, .., vn] (NULL = SQL NULL) to table @p tab. */
static int row(gen *g, const char *tab, const char *id, ...)
{
	const ssync_table_spec *t = ssync_domain_table(tab);
	json_t *a = json_array();
	va_list ap;
	int i, ti;

	for (ti = 0; ti < ssync_domain_ntables() && ssync_domain_table_at(ti) != t; ti++)
		;
	if (!a || !t || json_array_append_new(a, json_string(id)) != 0) {
		json_decref(a);
		return -1;
	}
	va_start(ap, id);
	for (i = 0; i < t->nfields; i++) {
		const char *v = va_arg(ap, const char *);
		json_array_append_new(a, v ? json_string(v) : json_null());
	}
	va_end(ap);
	return json_array_append_new(g->rows[ti], a);
}

static void rid(gen *g, const char *school_id, char *out, size_t len)
{
	snprintf(out, len, "%s-%016llx", school_id, (unsigned long long)next(&g->r));
}

static const char *itoa_buf(char *b, long v)
{
	snprintf(b, 24, "%ld", v);
	return b;
}

static void make_schools(gen *g, school *s, int n)
{
	int i, total = 0, counters[NZONES][4] = { { 0 } };

	for (i = 0; i < NZONES; i++)
		total += zones[i].weight;
	for (i = 0; i < n; i++) {
		int w = uni(&g->r, 1, total), z = 0, ntowns = 0, k, stage_pick = uni(&g->r, 1, 100);
		const char *town, *stage, *word;
		char shortname[32];
		size_t tl;
		while (w > zones[z].weight) {
			w -= zones[z].weight;
			z++;
		}
		while (ntowns < 6 && zones[z].towns[ntowns])
			ntowns++;
		town = zones[z].towns[uni(&g->r, 0, ntowns - 1)];
		stage = stage_pick <= 35 ? "kindergarten" : stage_pick <= 65 ? "primary" : stage_pick <= 87 ? "middle" :
			stage_pick <= 95 ? "nine-year" : "high";
		word = strcmp(stage, "kindergarten") == 0 ? "幼儿园" : strcmp(stage, "primary") == 0 ? "小学" :
			strcmp(stage, "middle") == 0 ? "中学" : strcmp(stage, "nine-year") == 0 ? "学校" : "高级中学";
		/* 城桥镇 → 城桥; 堡镇 keeps its 镇 (one character alone reads badly). */
		tl = strlen(town);
		snprintf(shortname, sizeof(shortname), "%s", town);
		if (tl > 6)
			shortname[tl - 3] = 0;
		k = ++counters[z][stage_pick <= 35 ? 0 : stage_pick <= 65 ? 1 : stage_pick <= 87 ? 2 : 3];
		snprintf(s[i].id, sizeof(s[i].id), "cm-%03d", i + 1);
		if (k == 1)
			snprintf(s[i].name, sizeof(s[i].name), "%s%s", shortname, word);
		else
			snprintf(s[i].name, sizeof(s[i].name), "%s第%s%s", shortname,
				(const char *[]){ "二", "三", "四", "五", "六", "七", "八", "九", "十" }[(k - 2) % 9], word);
		if (k > 10)
			snprintf(s[i].name + strlen(s[i].name), sizeof(s[i].name) - strlen(s[i].name), "%d", k);
		snprintf(s[i].zone, sizeof(s[i].zone), "%s", zones[z].id);
		snprintf(s[i].stage, sizeof(s[i].stage), "%s", stage);
		s[i].zi = z;
		snprintf(s[i].town, sizeof(s[i].town), "%s", town);
		/* Seed 004: 35 % of schools have fewer than 200 students. */
		if (chance(&g->r, 35))
			s[i].students = uni(&g->r, 45, 199);
		else if (strcmp(stage, "kindergarten") == 0)
			s[i].students = uni(&g->r, 200, 600);
		else
			s[i].students = uni(&g->r, 250, 1800);
	}
}

int ssync_domain_demo_generate(ssync_node *n, const ssync_demo_options *opts, ssync_demo_stats *stats, ssync_error *err)
{
	const ssync_demo_options defaults = SSYNC_DEMO_OPTIONS_INIT;
	gen g;
	school *s = NULL;
	teacher *t = NULL;
	char **sqls = NULL, *json = NULL, b1[24], b2[24], b3[24], id[64];
	const char **params = NULL;
	size_t sqlcap = 0;
	int i, j, ntables = ssync_domain_ntables(), nt = 0, tcap, error = 0, year;
	long staff = 100000;
	ssync_write_result wr;

	memset(&g, 0, sizeof(g));
	if (!opts)
		opts = &defaults;
	if (opts->schools < 2 || opts->schools > 999 || opts->teachers < 2 || opts->teachers > 300)
		return ssync_error_set(err, SSYNC_EINVAL, "demo: schools must be 2..999 and teachers 2..300");
	year = opts->year ? opts->year : ssync_report__school_year((int64_t)ssync_hlc_wall_ms());
	g.r.s = opts->seed;
	for (i = 0; i < ntables; i++)
		if (!(g.rows[i] = json_array()))
			goto oom;
	if (!(s = calloc((size_t)opts->schools, sizeof(*s))))
		goto oom;
	make_schools(&g, s, opts->schools);
	for (i = 0; i < NZONES; i++)
		if (row(&g, "zone", zones[i].id, zones[i].name) < 0)
			goto oom;
	/* Groups: eight local groups led by big schools, four 名校+新校. */
	{
		int made = 0, cross = 0;
		char gid[16], gname[160];
		for (i = 0; i < opts->schools && made < 8; i++) {
			if (s[i].students < 600 || strcmp(s[i].stage, "high") == 0)
				continue;
			snprintf(gid, sizeof(gid), "g-%02d", ++made);
			snprintf(gname, sizeof(gname), "%s教育集团", s[i].name);
			if (row(&g, "edu_group", gid, gname, "local", NULL) < 0)
				goto oom;
			/* Lead + up to two small schools of the same zone and stage. */
			{
				int m = 0;
				for (j = 0; j < opts->schools && m < 2; j++)
					if (j != i && s[j].zi == s[i].zi && strcmp(s[j].stage, s[i].stage) == 0 &&
					    s[j].students < 200 && s[j].nteachers == 0) {
						s[j].nteachers = -(100 + made);
						m++;
					}
				s[i].nteachers = -(200 + made);
			}
		}
		for (i = opts->schools - 1; i >= 0 && cross < 4; i--) {
			const char *z = s[i].zone;
			if (s[i].nteachers != 0 || (strcmp(z, "chengqiao") != 0 && strcmp(z, "chongdong") != 0) ||
			    strcmp(s[i].stage, "high") == 0)
				continue;
			snprintf(gid, sizeof(gid), "g-x%d", cross + 1);
			snprintf(gname, sizeof(gname), "%s+%s", partners[cross], s[i].name);
			if (row(&g, "edu_group", gid, gname, "cross", partners[cross]) < 0)
				goto oom;
			s[i].nteachers = -(300 + cross + 1);
			cross++;
		}
	}
	for (i = 0; i < opts->schools; i++) {
		char gid[16] = "";
		const char *role = NULL;
		int mark = -s[i].nteachers;
		if (mark >= 300) {
			snprintf(gid, sizeof(gid), "g-x%d", mark - 300);
			role = "new";
		} else if (mark >= 200) {
			snprintf(gid, sizeof(gid), "g-%02d", mark - 200);
			role = "lead";
		} else if (mark >= 100) {
			snprintf(gid, sizeof(gid), "g-%02d", mark - 100);
			role = "member";
		}
		s[i].nteachers = 0;
		if (row(&g, "school", s[i].id, s[i].name, s[i].zone, s[i].town,
			s[i].stage, itoa_buf(b1, s[i].students), gid[0] ? gid : NULL, role) < 0)
			goto oom;
	}
	/* Teachers: about opts->teachers per school, more in big schools. */
	tcap = opts->schools * (opts->teachers * 3 + 10);
	if (!(t = calloc((size_t)tcap, sizeof(*t))))
		goto oom;
	for (i = 0; i < opts->schools; i++) {
		int k, cnt = (int)((double)opts->teachers * (s[i].students / 25.0 + 12.0) / 34.0 + 0.5);
		if (cnt < 6)
			cnt = 6;
		if (cnt > opts->teachers * 3)
			cnt = opts->teachers * 3;
		s[i].first_teacher = nt;
		s[i].nteachers = cnt;
		for (k = 0; k < cnt && nt < tcap; k++, nt++) {
			teacher *x = &t[nt];
			char name[32], staffno[16];
			int tenure, two = chance(&g.r, 45), kinder = strcmp(s[i].stage, "kindergarten") == 0;
			x->gender_f = chance(&g.r, kinder ? 95 : 68);
			x->age = uni(&g.r, 23, x->gender_f ? 54 : 59);
			tenure = uni(&g.r, 0, x->age - 22 < 30 ? x->age - 22 : 30);
			if (chance(&g.r, 30) && x->age - 22 >= 10)
				tenure = uni(&g.r, 10, x->age - 22 < 30 ? x->age - 22 : 30);
			x->joined = year - tenure;
			x->title = x->age < 28 ? (chance(&g.r, 85) ? "初级" : "中级") : x->age < 36 ? (chance(&g.r, 45) ? "初级" : "中级") :
				x->age < 46 ? (chance(&g.r, 55) ? "中级" : "高级") : (chance_pm(&g.r, 40) ? "正高级" : chance(&g.r, 50) ? "高级" : "中级");
			x->tier = year - x->joined < 1 && x->age < 25 ? "见习" : x->age < 35 ? (chance(&g.r, 60) ? "青年" : NULL) :
				chance_pm(&g.r, 8) ? "特级" : chance(&g.r, 4) ? "名师" : chance(&g.r, 18) ? "骨干" : NULL;
			snprintf(x->school, sizeof(x->school), "%s", s[i].id);
			rid(&g, s[i].id, x->id, sizeof(x->id));
			snprintf(name, sizeof(name), "%s%s%s", PICK(&g.r, surnames),
				x->gender_f ? PICK(&g.r, given_f) : PICK(&g.r, given_m),
				two ? (x->gender_f ? PICK(&g.r, given_f) : PICK(&g.r, given_m)) : "");
			snprintf(staffno, sizeof(staffno), "CM%06ld", staff++);
			{
				int committed = x->tier && strcmp(x->tier, "骨干") == 0 && chance(&g.r, 40);
				int retire = (x->gender_f ? 55 : 60) - x->age;
				x->key = (x->tier && strcmp(x->tier, "特级") == 0) || strcmp(x->title, "正高级") == 0 || committed;
				x->due = year - x->joined >= 10 && retire > 5 && strcmp(x->title, "初级") != 0;
				/* Award years from the age, not the generator, so a seed
				 * still gives the district it gave before schema 006. */
				char ty_s[24], ry_s[24];
				int ty = year - x->age % 9, ry = year - x->age % 5, earliest = year - x->age + 23;
				if (row(&g, "teacher", x->id, s[i].id, staffno, name, kinder ? "学前教育" : PICK(&g.r, subjects),
					x->title, x->tier, itoa_buf(b1, year - x->age), itoa_buf(b2, x->joined),
					x->gender_f ? "女" : "男", committed ? "1" : "0",
					strcmp(x->title, "初级") != 0 ? itoa_buf(ty_s, ty > earliest ? ty : earliest) : NULL,
					x->tier ? itoa_buf(ry_s, ry > earliest ? ry : earliest) : NULL) < 0)
					goto oom;
			}
		}
	}
	/* Rotations: ~11 % of those due and ~22 % of key teachers this year,
	 * to another school of the same zone; some still proposed; some last year. */
	for (i = 0; i < nt; i++) {
		teacher *x = &t[i];
		int pct = x->key ? 22 : x->due ? 11 : 2, k, to = -1, from = atoi(x->school + 3) - 1;
		int last = x->due && chance(&g.r, 8);
		const char *status;
		if (!chance(&g.r, pct) && !last)
			continue;
		for (k = 0; k < 20 && to < 0; k++) {
			int c = uni(&g.r, 0, opts->schools - 1);
			if (c != from && s[c].zi == s[from].zi)
				to = c;
		}
		if (to < 0)
			to = (from + 1) % opts->schools;
		rid(&g, x->school, id, sizeof(id));
		snprintf(b3, sizeof(b3), "%d-%d", last ? year - 1 : year, uni(&g.r, 1, 2));
		status = last ? "done" : chance(&g.r, 12) ? NULL : chance(&g.r, 30) ? "done" : "approved";
		if (row(&g, "rotation", id, x->school, x->id, x->school, s[to].id, PICK(&g.r, ((const char *[]){ "互补代课",
			"跨校兼课", "学区带教", "支教", "跟岗" })), b3, status, NULL) < 0)
			goto oom;
	}
	/* Courses: 1-3 per school; about 60 % of schools share one. */
	for (i = 0; i < opts->schools; i++) {
		int k, nc = uni(&g.r, 1, 3), share = chance(&g.r, 60);
		for (k = 0; k < nc; k++) {
			int c = uni(&g.r, 0, 6), offered = share && k == 0;
			rid(&g, s[i].id, id, sizeof(id));
			if (row(&g, "course", id, s[i].id, course_names[c][uni(&g.r, 0, 3)], categories[c],
				offered ? "1" : "0", offered && chance(&g.r, 85) ? "1" : "0", itoa_buf(b1, uni(&g.r, 20, 60))) < 0)
				goto oom;
		}
	}
	/* Enrollments in shared courses of other schools of the same zone. */
	{
		json_t *courses = g.rows[5];
		size_t ci;
		for (ci = 0; ci < json_array_size(courses); ci++) {
			json_t *c = json_array_get(courses, ci);
			const char *owner = json_string_value(json_array_get(c, 1));
			const char *shared = json_string_value(json_array_get(c, 5));
			int o = atoi(owner + 3) - 1, k, m = uni(&g.r, 0, 3);
			if (!shared || strcmp(shared, "1") != 0)
				continue;
			for (k = 0; k < m; k++) {
				int c2 = -1, tries;
				for (tries = 0; tries < 40 && c2 < 0; tries++) {
					c2 = uni(&g.r, 0, opts->schools - 1);
					if (c2 == o || s[c2].zi != s[o].zi)
						c2 = -1;
				}
				if (c2 < 0)
					continue;
				rid(&g, s[c2].id, id, sizeof(id));
				snprintf(b3, sizeof(b3), "%d-%d", year, k % 2 + 1);
				if (row(&g, "enrollment", id, s[c2].id, json_string_value(json_array_get(c, 0)), b3,
					itoa_buf(b1, uni(&g.r, 5, 40))) < 0)
					goto oom;
			}
		}
	}
	/* Resources and bookings by other schools, one per open day, no overlaps. */
	for (i = 0; i < opts->schools; i++) {
		int k, nr = s[i].students < 200 ? uni(&g.r, 0, 1) : uni(&g.r, 1, 2);
		for (k = 0; k < nr; k++) {
			int r = uni(&g.r, 0, (int)(sizeof(resources) / sizeof(resources[0])) - 1);
			int shared = chance(&g.r, 55), nb, day, used = 0;
			const char *days = chance(&g.r, 70) ? "12345" : "123456";
			char rname[128], rid_s[64];
			snprintf(rname, sizeof(rname), "%s%s", s[i].name, resources[r].name);
			rid(&g, s[i].id, rid_s, sizeof(rid_s));
			if (row(&g, "resource", rid_s, s[i].id, rname, resources[r].kind, itoa_buf(b1, uni(&g.r, 30, 300)),
				days, "08:00", "17:00", shared ? "1" : "0") < 0)
				goto oom;
			if (!shared)
				continue;
			nb = uni(&g.r, 0, 8);
			/* Days from 1 September of the school year; weekday by Zeller-free counting:
			 * 1 Sept 2024 was a Sunday; step one day at a time. */
			for (day = 0; used < nb && day < 120; day++) {
				int y, m, d, wd, other;
				char date[32];
				{
					static const int mdays[] = { 30, 31, 30, 31 }; /* Sep..Dec */
					int dd = day, mi = 0;
					while (dd >= mdays[mi]) {
						dd -= mdays[mi];
						mi++;
					}
					y = year;
					m = 9 + mi;
					d = dd + 1;
				}
				{
					static const int kk[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
					int yy = m < 3 ? y - 1 : y;
					wd = (yy + yy / 4 - yy / 100 + yy / 400 + kk[m - 1] + d) % 7;
					if (wd == 0)
						wd = 7;
				}
				if (!strchr(days, '0' + wd) || !chance(&g.r, 25))
					continue;
				other = uni(&g.r, 0, opts->schools - 1);
				if (other == i)
					continue;
				snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
				rid(&g, s[other].id, id, sizeof(id));
				if (row(&g, "booking", id, s[other].id, rid_s, date, used % 2 ? "14:00" : "09:00",
					used % 2 ? "15:30" : "10:30", itoa_buf(b1, uni(&g.r, 10, 45)), "错峰排课") < 0)
					goto oom;
				used++;
			}
		}
	}
	/* Training credits, observations across schools, funding (seed 004 figures). */
	for (i = 0; i < nt; i++) {
		if (chance(&g.r, 50)) {
			rid(&g, t[i].school, id, sizeof(id));
			if (row(&g, "training", id, t[i].school, t[i].id,
				PICK(&g.r, ((const char *[]){ "学区联合教研", "大单元设计研修", "见习教师规范化培训", "骨干教师研修班",
					"名校浸润式跟岗培训" })), PICK(&g.r, ((const char *[]){ "市级", "区级", "学区", "集团", "校本" })),
				PICK(&g.r, ((const char *[]){ "1", "2", "3", "0.5", "4" })), itoa_buf(b1, year)) < 0)
				goto oom;
		}
		if (chance(&g.r, 15) && nt > 1) {
			int o = uni(&g.r, 0, nt - 1);
			char date[32];
			if (o == i)
				continue;
			snprintf(date, sizeof(date), "%04d-%02d-%02d", year, uni(&g.r, 9, 12), uni(&g.r, 1, 28));
			rid(&g, t[o].school, id, sizeof(id));
			if (row(&g, "observation", id, t[o].school, t[i].id, t[o].id, date, NULL,
				itoa_buf(b1, uni(&g.r, 70, 98)), "课堂观察") < 0)
				goto oom;
		}
	}
	for (i = 0; i < NZONES; i++) {
		snprintf(id, sizeof(id), "hub-fund-%d-z%d", year, i + 1);
		if (row(&g, "funding", id, "zone", zones[i].id, "绩效奖励", "学区绩效奖励", "150000", itoa_buf(b1, year)) < 0)
			goto oom;
	}
	{
		size_t gi;
		for (gi = 0; gi < json_array_size(g.rows[1]); gi++) {
			json_t *gr = json_array_get(g.rows[1], gi);
			const char *gid = json_string_value(json_array_get(gr, 0));
			int cross = strcmp(json_string_value(json_array_get(gr, 2)), "cross") == 0;
			snprintf(id, sizeof(id), "hub-fund-%d-%s", year, gid);
			if (row(&g, "funding", id, "group", gid, cross ? "托管" : "区级", cross ? "名校托管经费" : "分校区办公经费",
				cross ? "600000" : "100000", itoa_buf(b1, year)) < 0)
				goto oom;
		}
	}
	/* One write: every table's rows as one bound JSON array each. */
	if (!(sqls = calloc((size_t)ntables, sizeof(char *))) || !(params = calloc((size_t)ntables, sizeof(char *))))
		goto oom;
	{
		char *sql = NULL, *p;
		int np = 0;
		sqlcap = 1;
		for (i = 0; i < ntables; i++) {
			const ssync_table_spec *ts = ssync_domain_table_at(i);
			if (json_array_size(g.rows[i]) == 0)
				continue;
			if (!(params[np] = sqls[i] = json_dumps(g.rows[i], JSON_COMPACT)))
				goto oom;
			np++;
			sqlcap += 128 + (size_t)ts->nfields * 64;
		}
		if (!(sql = malloc(sqlcap)))
			goto oom;
		p = sql;
		*p = 0;
		np = 0;
		for (i = 0; i < ntables; i++) {
			const ssync_table_spec *ts = ssync_domain_table_at(i);
			if (!sqls[i])
				continue;
			np++;
			p += snprintf(p, sqlcap - (size_t)(p - sql), "INSERT INTO \"%s\"(\"id\"", ts->name);
			for (j = 0; j < ts->nfields; j++)
				p += snprintf(p, sqlcap - (size_t)(p - sql), ", \"%s\"", ts->fields[j].name);
			p += snprintf(p, sqlcap - (size_t)(p - sql), ") SELECT json_extract(value, '$[0]')");
			for (j = 0; j < ts->nfields; j++)
				p += snprintf(p, sqlcap - (size_t)(p - sql), ", json_extract(value, '$[%d]')", j + 1);
			p += snprintf(p, sqlcap - (size_t)(p - sql), " FROM json_each(?%d);\n", np);
		}
		ssync_domain__warm_json(ssync_store__db(ssync_node_store(n)));
		error = ssync_node_sql_bound(n, sql, np, params, NULL, NULL, NULL, &wr, err);
		free(sql);
		if (error < 0)
			goto done;
	}
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		for (i = 0; i < ntables && i < 16; i++) {
			stats->rows[i] = (long)json_array_size(g.rows[i]);
			stats->total += stats->rows[i];
		}
		stats->entries = wr.entries;
	}
	goto done;
oom:
	error = ssync_error_set(err, SSYNC_ERROR, "out of memory generating the demo district");
done:
	for (i = 0; i < ntables && i < 16; i++) {
		json_decref(g.rows[i]);
		if (sqls)
			free(sqls[i]);
	}
	free(sqls);
	free(params);
	free(json);
	free(s);
	free(t);
	return error;
}
