-- Internal bookkeeping of a replica. Tables named ssync_* are never writable
-- through `schoolsync sql`; they change only through the library.

CREATE TABLE ssync_meta(
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- Tables that replicate. Every one has a single TEXT primary key and no
-- UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint beyond it, so that no
-- remote change can fail to apply (DESIGN §4). private=1: student data, never
-- in reports (encryption is a later step).
CREATE TABLE ssync_table(
	name    TEXT PRIMARY KEY,
	private INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Every entry held, ours and other nodes', exactly as signed.
-- state: 1 applied, 2 held (valid but cannot apply yet, see reason).
CREATE TABLE ssync_entry(
	node   TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	hash   BLOB NOT NULL,
	hlc    INTEGER NOT NULL,
	body   TEXT NOT NULL,
	sig    BLOB NOT NULL,
	state  INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY(node, seq)
) WITHOUT ROWID;

-- Merge state of each replicated row: per column, its leaf versions with
-- values, and overwritten versions not yet seen (see docs/MERGE.md).
CREATE TABLE ssync_row(
	tbl   TEXT NOT NULL,
	pk    TEXT NOT NULL,
	state TEXT NOT NULL,
	PRIMARY KEY(tbl, pk)
) WITHOUT ROWID;

-- Cells that currently have more than one leaf.
CREATE TABLE ssync_conflict(
	tbl TEXT NOT NULL,
	pk  TEXT NOT NULL,
	col TEXT NOT NULL,
	PRIMARY KEY(tbl, pk, col)
) WITHOUT ROWID;

-- Entries that failed a check, with the reason; never applied.
CREATE TABLE ssync_quarantine(
	id       INTEGER PRIMARY KEY,
	node     TEXT,
	seq      INTEGER,
	code     TEXT NOT NULL,
	reason   TEXT NOT NULL,
	line     TEXT,
	source   TEXT,
	received TEXT NOT NULL
);

-- Nodes whose entries we accept, with their signing keys (ours included).
-- role: school | hub | auditor; school_id: the school a node speaks for.
CREATE TABLE ssync_peer(
	node      TEXT PRIMARY KEY,
	pubkey    BLOB NOT NULL,
	role      TEXT NOT NULL DEFAULT 'school',
	school_id TEXT,
	source    TEXT NOT NULL,
	added     TEXT NOT NULL
) WITHOUT ROWID;

-- Freshness: when we last received anything from each node (sync writes it).
CREATE TABLE ssync_node_seen(
	node          TEXT PRIMARY KEY,
	last_seq      INTEGER NOT NULL,
	last_received TEXT NOT NULL
) WITHOUT ROWID;

-- Nodes we stopped accepting (equivocation: two entries for one seq). The
-- evidence is in ssync_quarantine; the hub decides.
CREATE TABLE ssync_frozen(
	node   TEXT PRIMARY KEY,
	seq    INTEGER NOT NULL,
	reason TEXT NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX ssync_quarantine_once ON ssync_quarantine(node, seq, code, ifnull(line, ''));
