-- Who may write what, as data (DESIGN §5; vocabulary in docs/POLICY.md).
-- Enforcement lives in the policy module; this file only declares.
--
-- col '*' is the table's default; a named column overrides it.
-- rule 'owner:<column>': the school named in <column> of the row owns it (a
--       school node writes only rows it owns; the owner column is immutable);
--       the hub may write any row.
-- rule 'hub': only the hub writes. On an owned row, the owner creates the
--       row with the column NULL (the initial state, e.g. rotation.status
--       NULL = proposed) and only the hub sets it afterwards.
-- rule 'none': nobody writes (reserved, e.g. for retired columns).
CREATE TABLE ssync_policy(
	tbl  TEXT NOT NULL,
	col  TEXT NOT NULL,
	rule TEXT NOT NULL,
	PRIMARY KEY(tbl, col)
) WITHOUT ROWID;

INSERT INTO ssync_policy(tbl, col, rule) VALUES
	('zone', '*', 'hub'),
	('edu_group', '*', 'hub'),
	('school', '*', 'hub'),
	('funding', '*', 'hub'),
	('teacher', '*', 'owner:school_id'),
	('rotation', '*', 'owner:school_id'),
	('rotation', 'status', 'hub'),
	('course', '*', 'owner:school_id'),
	('course', 'shared', 'hub'),
	('enrollment', '*', 'owner:school_id'),
	('resource', '*', 'owner:school_id'),
	('booking', '*', 'owner:school_id'),
	('training', '*', 'owner:school_id'),
	('observation', '*', 'owner:school_id'),
	('student_archive', '*', 'owner:school_id');
