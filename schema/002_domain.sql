-- District data model (DESIGN §6). All primary keys are text ids made
-- locally; no constraints a remote change could violate.

CREATE TABLE zone(
	id   TEXT PRIMARY KEY NOT NULL,
	name TEXT
);
CREATE TABLE school(
	id       TEXT PRIMARY KEY NOT NULL,
	name     TEXT,
	zone_id  TEXT,
	town     TEXT,
	stage    TEXT,
	students INTEGER
);
CREATE TABLE teacher(
	id          TEXT PRIMARY KEY NOT NULL,
	school_id   TEXT,
	staff_no    TEXT,
	name        TEXT,
	subject     TEXT,
	title       TEXT,
	tier        TEXT,
	birth_year  INTEGER,
	joined_year INTEGER
);

INSERT INTO ssync_table(name) VALUES ('zone'), ('school'), ('teacher');
