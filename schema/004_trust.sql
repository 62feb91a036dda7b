-- District trust (DESIGN §5, docs/TRUST.md): the verified content of the
-- district branch (refs/heads/district), as the library loaded it. Only
-- objects signed by the pinned root (meta 'district_pubkey') get here.
--
-- ssync_entry.state gains two values: 3 refused (authentic and kept in the
-- log as evidence, never applied: revoked, certificate expired, policy) and
-- 0 (only inside ssync_rebuild's transaction: not yet replayed).

-- Every trust object held, exactly as signed (BODY and signature).
CREATE TABLE ssync_trust_obj(
	path   TEXT PRIMARY KEY,
	kind   TEXT NOT NULL,   -- genesis | cert | revoke
	node   TEXT,
	serial INTEGER,
	body   TEXT NOT NULL,
	sig    BLOB NOT NULL
) WITHOUT ROWID;

-- Certificates: a node's signing key, role and school, valid for entries
-- whose HLC milliseconds lie in [valid_from, valid_until] (NULL = no end).
CREATE TABLE ssync_cert(
	node        TEXT NOT NULL,
	serial      INTEGER NOT NULL,
	role        TEXT NOT NULL,
	school_id   TEXT,
	pubkey      BLOB NOT NULL,
	valid_from  INTEGER NOT NULL,
	valid_until INTEGER,
	PRIMARY KEY(node, serial)
) WITHOUT ROWID;

-- Revocations: entries of node with seq > after_seq are refused.
CREATE TABLE ssync_revocation(
	node      TEXT NOT NULL,
	serial    INTEGER NOT NULL,
	after_seq INTEGER NOT NULL,
	PRIMARY KEY(node, serial)
) WITHOUT ROWID;

