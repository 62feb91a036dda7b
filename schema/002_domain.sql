-- District data model (DESIGN §6), from the seed documents (学区化/集团化办学).
--
-- Merge contract (DESIGN §4): every replicated table has exactly one
-- constraint, `id TEXT PRIMARY KEY NOT NULL`. No UNIQUE, FOREIGN KEY, CHECK or
-- NOT NULL elsewhere, so no remote change can fail to apply. Validation lives
-- in the commands and the importer (src/domain.c); `schoolsync check` reports
-- what merging can still produce (overlaps, duplicates, dangling references).
--
-- Ids are made locally: zone/school/group ids are short codes chosen by the
-- hub (e.g. 'cm-042'); every other row id is its owner school's id plus 16
-- random hex digits ('cm-042-3fa9c2d1e0b4a7c6'). Rows a school owns carry
-- `school_id` (the owner, never changed after insert): the policy in
-- 003_policy.sql derives the owner from it.
--
-- Tables are WITHOUT ROWID: the text key is the row's only b-tree, so a write
-- touches one page instead of a table page plus a key-index page. Replicas
-- made before this change keep rowid tables; they behave the same.
--
-- Enumerated values are stored in the canonical form the commands accept
-- (see docs/DATA.md); Chinese text is UTF-8 throughout.

-- 学区: 崇西 城桥 崇中 堡港 崇东 长横 (seed 004).
CREATE TABLE zone(
	id   TEXT PRIMARY KEY NOT NULL,
	name TEXT
) WITHOUT ROWID;

-- 教育集团. kind: local (区内相邻校合并), cross (跨区"名校+新校"),
-- stage (跨学段). partner: the famous school outside the district (名校).
-- Members, and which of them leads, are school.group_id / group_role: one
-- place only, and no reference cycle (groups import before schools).
CREATE TABLE edu_group(
	id      TEXT PRIMARY KEY NOT NULL,
	name    TEXT,
	kind    TEXT,
	partner TEXT
) WITHOUT ROWID;

-- stage: kindergarten | primary | middle | nine-year | high.
-- group_role in its edu_group: lead (牵头校) | core (核心校) | member (成员校) | new (新校).
CREATE TABLE school(
	id         TEXT PRIMARY KEY NOT NULL,
	name       TEXT,
	zone_id    TEXT,
	town       TEXT,
	stage      TEXT,
	students   INTEGER,
	group_id   TEXT,
	group_role TEXT
) WITHOUT ROWID;

-- title: 初级 | 中级 | 高级 | 正高级; tier: 见习 | 青年 | 骨干 | 名师 | 特级.
-- joined_year: the year the teacher joined school_id (continuous service).
-- committed: 1 = a 骨干 teacher who committed to rotate (承诺流动, seed 003).
CREATE TABLE teacher(
	id          TEXT PRIMARY KEY NOT NULL,
	school_id   TEXT,
	staff_no    TEXT,
	name        TEXT,
	subject     TEXT,
	title       TEXT,
	tier        TEXT,
	birth_year  INTEGER,
	joined_year INTEGER,
	gender      TEXT,
	committed   INTEGER
) WITHOUT ROWID;

-- 交流轮岗. school_id: the proposing (home) school, owner of the row.
-- kind: 互补代课 | 跨校兼课 | 学区带教 | 支教 | 跟岗; term: 'YYYY-1' / 'YYYY-2'
-- (school year starting in September of YYYY, first or second semester).
-- status is the hub's: NULL = proposed, then approved | done | rejected.
CREATE TABLE rotation(
	id          TEXT PRIMARY KEY NOT NULL,
	school_id   TEXT,
	teacher_id  TEXT,
	from_school TEXT,
	to_school   TEXT,
	kind        TEXT,
	term        TEXT,
	status      TEXT,
	note        TEXT
) WITHOUT ROWID;

-- 校本/共享课程. category: 思政 学科 文体 艺术 劳动 科技 心理.
-- offered: 1 = the owner offers it for sharing; shared: 1 = the hub approved
-- it as a shared course (hub column).
CREATE TABLE course(
	id        TEXT PRIMARY KEY NOT NULL,
	school_id TEXT,
	name      TEXT,
	category  TEXT,
	offered   INTEGER,
	shared    INTEGER,
	capacity  INTEGER
) WITHOUT ROWID;

-- Students of school_id (the owner) taking another school's course; counts
-- only: who they are is in student_archive.
CREATE TABLE enrollment(
	id        TEXT PRIMARY KEY NOT NULL,
	school_id TEXT,
	course_id TEXT,
	term      TEXT,
	students  INTEGER
) WITHOUT ROWID;

-- 场馆 实验室 图书馆 劳动基地 ... open_days: ISO weekdays '12345' (Mon=1);
-- open_from/open_to: 'HH:MM'. shared: 1 = open to other schools (错峰排课).
CREATE TABLE resource(
	id        TEXT PRIMARY KEY NOT NULL,
	school_id TEXT,
	name      TEXT,
	kind      TEXT,
	capacity  INTEGER,
	open_days TEXT,
	open_from TEXT,
	open_to   TEXT,
	shared    INTEGER
) WITHOUT ROWID;

-- A use of a resource by school_id (the booking school owns the row).
-- day 'YYYY-MM-DD', from_time/to_time 'HH:MM'. Overlaps are reported by check.
CREATE TABLE booking(
	id          TEXT PRIMARY KEY NOT NULL,
	school_id   TEXT,
	resource_id TEXT,
	day         TEXT,
	from_time   TEXT,
	to_time     TEXT,
	people      INTEGER,
	purpose     TEXT
) WITHOUT ROWID;

-- 培训学分: level 市级 | 区级 | 学区 | 集团 | 校本.
CREATE TABLE training(
	id         TEXT PRIMARY KEY NOT NULL,
	school_id  TEXT,
	teacher_id TEXT,
	title      TEXT,
	level      TEXT,
	credits    REAL,
	year       INTEGER
) WITHOUT ROWID;

-- 课堂观察: observer_id watched teacher_id teach (often across schools).
CREATE TABLE observation(
	id          TEXT PRIMARY KEY NOT NULL,
	school_id   TEXT,
	teacher_id  TEXT,
	observer_id TEXT,
	day         TEXT,
	subject     TEXT,
	score       INTEGER,
	note        TEXT
) WITHOUT ROWID;

-- 经费 (hub): amount in yuan to a zone, group or school.
-- source: 市级 | 区级 | 绩效奖励 | 托管. target_kind: zone | group | school.
CREATE TABLE funding(
	id          TEXT PRIMARY KEY NOT NULL,
	target_kind TEXT,
	target_id   TEXT,
	source      TEXT,
	purpose     TEXT,
	amount      INTEGER,
	year        INTEGER
) WITHOUT ROWID;

-- 一生一档案: private (encrypted to the owner and the hub in a later issue);
-- never read by reports or check.
CREATE TABLE student_archive(
	id        TEXT PRIMARY KEY NOT NULL,
	school_id TEXT,
	name      TEXT,
	grade     TEXT,
	record    TEXT
) WITHOUT ROWID;

INSERT INTO ssync_table(name, private) VALUES
	('zone', 0), ('edu_group', 0), ('school', 0), ('teacher', 0),
	('rotation', 0), ('course', 0), ('enrollment', 0), ('resource', 0),
	('booking', 0), ('training', 0), ('observation', 0), ('funding', 0),
	('student_archive', 1);
