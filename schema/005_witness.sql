-- Hub-witnessed time (docs/TRUST.md §4a): the hub's signed checkpoints as
-- loaded from refs/heads/district (witness/...), verified against the hub's
-- certificate. Only checkpoints that extend the held chain get here.

-- Every checkpoint held, exactly as signed; pos is its position n.
CREATE TABLE ssync_witness(
	pos  INTEGER PRIMARY KEY,
	hub  TEXT NOT NULL,
	time INTEGER NOT NULL,   -- the hub's clock when it signed, ms
	hash BLOB NOT NULL,      -- SHA-256 of body (the next one's prev)
	body TEXT NOT NULL,
	sig  BLOB NOT NULL
);

-- The heads the checkpoints list: node's entries up to seq were first
-- witnessed at time (the time of checkpoint pos). Per node, seq and pos
-- grow together, so the first checkpoint covering (node, s) is the row
-- with the smallest seq >= s.
CREATE TABLE ssync_witness_head(
	node TEXT NOT NULL,
	seq  INTEGER NOT NULL,
	pos  INTEGER NOT NULL,
	hash BLOB NOT NULL,
	time INTEGER NOT NULL,
	PRIMARY KEY(node, seq)
) WITHOUT ROWID;

-- Evidence of hub equivocation: another validly signed checkpoint for a
-- position we hold (body/sig: the other one; ours is in ssync_witness).
CREATE TABLE ssync_witness_fork(
	pos    INTEGER NOT NULL,
	body   TEXT NOT NULL,
	sig    BLOB NOT NULL,
	source TEXT,
	PRIMARY KEY(pos, body)
) WITHOUT ROWID;
