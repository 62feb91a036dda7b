/*
 * Private columns on a node (docs/PRIVACY.md): the node's X25519 key
 * (HOME/enc.key, kept like node.key), the data keys it can open
 * (HOME/keys.db: never replicated, never in git), who reads a school's rows
 * (its own nodes, the hub, auditors the hub granted), sealing a row's cells
 * and reading them back, erasure and grants. The key stores that carry data
 * keys between nodes are in keysync.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "privacy_int.h"
#include "privacy_priv.h"
#include "node_int.h"
#include "policy_int.h"
#include "schoolsync/cellcrypt.h"
#include "schoolsync/hex.h"
#include "schoolsync/hlc.h"
#include "schoolsync/home.h"
#include "schoolsync/trust.h"

/* WAL and synchronous=NORMAL: a write's data key costs no fsync of its
 * own; ssync_privacy__make_durable makes keys.db durable before sync seals
 * the entries that need its keys (the replica's own rule, DESIGN §3).
 * secure_delete: an erased data key is overwritten with zeros in its page,
 * not left in free space; ssync_privacy__kdb_scrub empties the WAL, whose
 * older frames still hold the page as it was. */
static const char kdb_schema[] =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
	"CREATE TABLE IF NOT EXISTS data_key(kid TEXT NOT NULL, owner TEXT NOT NULL, school TEXT NOT NULL,"
	" key BLOB NOT NULL, readers TEXT NOT NULL DEFAULT '', PRIMARY KEY(kid, owner)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS erased(kid TEXT PRIMARY KEY) WITHOUT ROWID;"
	"DROP TABLE IF EXISTS erase_req;" /* its first form (3089ed1), keyed by school: requests come again */
	"CREATE TABLE IF NOT EXISTS erase_ask(node TEXT NOT NULL, kid TEXT NOT NULL, school TEXT NOT NULL,"
	" PRIMARY KEY(node, kid)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS erase_ask_kid ON erase_ask(kid);"
	"CREATE TABLE IF NOT EXISTS seen(node TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS grants(auditor TEXT NOT NULL, school TEXT NOT NULL, PRIMARY KEY(auditor, school)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;"
	/* boxes of this node's own data keys it cannot open (keysync's
	 * recovery, PRIVACY.md §8): carried into its next store as they are */
	"CREATE TABLE IF NOT EXISTS carried(kid TEXT NOT NULL, school TEXT NOT NULL, node TEXT NOT NULL,"
	" box BLOB NOT NULL, PRIMARY KEY(kid, node)) WITHOUT ROWID;";

static int kdb_connect(ssync_node *n, sqlite3 **out, ssync_error *err);

/* keys.db before user_version 1 held one data key per kid (the first
 * owner's): a school's store could squat another school's kids for a
 * reader that applied it first (PRIVACY.md §8). Keys are now held per
 * (kid, owner); existing rows keep their owner. */
static const char kdb_migrate_1[] =
	"CREATE TABLE data_key_1(kid TEXT NOT NULL, owner TEXT NOT NULL, school TEXT NOT NULL,"
	" key BLOB NOT NULL, readers TEXT NOT NULL DEFAULT '', PRIMARY KEY(kid, owner)) WITHOUT ROWID;"
	"INSERT INTO data_key_1(kid, owner, school, key, readers) SELECT kid, owner, school, key, readers FROM data_key;"
	"DROP TABLE data_key; ALTER TABLE data_key_1 RENAME TO data_key; PRAGMA user_version=1;";

/* user_version 2: origin 'recovered' marks a data key this node took back
 * from its own key store after a restore (keyrecover.c): whom it was
 * sealed to before is unknown, so no new write reuses it. */
static const char kdb_migrate_2[] =
	"ALTER TABLE data_key ADD COLUMN origin TEXT NOT NULL DEFAULT ''; PRAGMA user_version=2;";

static int kdb_version(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int kdb_migrate(sqlite3 *db, ssync_error *err)
{
	int v;

	if (kdb_version(db) >= 2)
		return 0; /* the usual open takes no write lock */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(db, err, "migrate data keys");
	/* read again inside the write lock: two processes opening at once migrate once */
	v = kdb_version(db);
	if (v < 0 || (v == 0 && sqlite3_exec(db, kdb_migrate_1, NULL, NULL, NULL) != SQLITE_OK) ||
	    (v < 2 && sqlite3_exec(db, kdb_migrate_2, NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int error = ssync_privacy__kdb_err(db, err, "migrate data keys");
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return error;
	}
	return 0;
}

int ssync_privacy__kdb_err(sqlite3 *db, ssync_error *err, const char *what)
{
	return ssync_error_set(err, SSYNC_EIO, "keys.db: %s: %s", what, sqlite3_errmsg(db));
}

void ssync_privacy__readers_free(ssync_readers *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void ssync_privacy__rcache_clear(ssync_privacy_state *ps)
{
	int i;

	for (i = 0; i < ps->nrc; i++) {
		ssync_privacy__readers_free(&ps->rc[i].base);
		ssync_privacy__readers_free(&ps->rc[i].auditors);
	}
	ps->nrc = 0;
	ps->rc_ok = 0;
}

static void state_free(void *p)
{
	ssync_privacy_state *ps = p;

	ssync_privacy__rcache_clear(ps);
	free(ps->rc);
	sqlite3_finalize(ps->key_get);
	sqlite3_finalize(ps->key_ins);
	sqlite3_finalize(ps->grant_get);
	sqlite3_finalize(ps->key_drop);
	sqlite3_close(ps->kdb);
	free(ps);
}

void ssync_privacy__kdb_release(sqlite3 *db)
{
	(void)db; /* the node keeps it open until ssync_node_free */
}

/* keys.db, opened once per node and kept with it: opening a WAL database
 * for every private write cost milliseconds (bench_private). */
int ssync_privacy__state(ssync_node *n, ssync_privacy_state **out, ssync_error *err)
{
	ssync_privacy_state *ps;
	int error;

	if ((*out = ssync_node__cache(n)) != NULL)
		return 0;
	if (!(ps = calloc(1, sizeof(*ps))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if ((error = kdb_connect(n, &ps->kdb, err)) < 0) {
		free(ps);
		return error;
	}
	ssync_node__set_cache(n, ps, state_free);
	*out = ps;
	return 0;
}

int ssync_privacy__kdb_open(ssync_node *n, sqlite3 **out, ssync_error *err)
{
	ssync_privacy_state *ps = NULL;
	int error;

	*out = NULL;
	if ((error = ssync_privacy__state(n, &ps, err)) < 0)
		return error;
	*out = ps->kdb;
	return 0;
}

static int kdb_connect(ssync_node *n, sqlite3 **out, ssync_error *err)
{
	char path[4096];
	struct stat sb;
	mode_t old;
	sqlite3 *db = NULL;
	int error, rc;

	*out = NULL;
	if ((error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_KEYSDB, err)) < 0)
		return error;
	old = umask(077);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		error = ssync_error_set(err, SSYNC_EIO, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return error;
	}
	/* clear data keys: the same rule as node.key */
	if (stat(path, &sb) != 0 || (sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		sqlite3_close(db);
		ssync_error_set(err, SSYNC_EKEYPERM, "%s must be mode 0600 and owned by uid %u", path, (unsigned)geteuid());
		ssync_error_hint(err, "run: chmod 600 %s", path);
		return SSYNC_EKEYPERM;
	}
	sqlite3_busy_timeout(db, 5000);
	/* closing must not checkpoint (and fsync) after every write */
	(void)sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (sqlite3_exec(db, kdb_schema, NULL, NULL, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(db, err, "create tables");
		sqlite3_close(db);
		return error;
	}
	if ((error = kdb_migrate(db, err)) < 0) {
		sqlite3_close(db);
		return error;
	}
	*out = db;
	return 0;
}

int ssync_privacy__make_durable(ssync_node *n, ssync_error *err)
{
	char path[4096];
	sqlite3 *kdb = NULL;
	int error;

	if ((error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_KEYSDB, err)) < 0)
		return error;
	if (access(path, F_OK) != 0)
		return 0; /* no private row written or read here */
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	/* a full checkpoint fsyncs the log, copies it and fsyncs the file;
	 * TRUNCATE then empties the log (no deleted key lingers in old frames) */
	if (sqlite3_exec(kdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		error = ssync_privacy__kdb_err(kdb, err, "make keys.db durable");
	ssync_privacy__kdb_release(kdb);
	return error;
}

void ssync_privacy__kdb_scrub(sqlite3 *kdb)
{
	/* best effort: a reader of an older snapshot (the daemon) keeps the
	 * log busy; the next sync's checkpoint truncates it then */
	if (sqlite3_exec(kdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		return;
}

int ssync_privacy__kdb_exec(sqlite3 *db, const char *sql, ssync_error *err)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : ssync_privacy__kdb_err(db, err, sql);
}

int ssync_privacy__kdb_step(sqlite3 *db, sqlite3_stmt *q, ssync_error *err, const char *what)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_privacy__kdb_err(db, err, what);
}

int ssync_privacy__take_notices(sqlite3 *kdb, const ssync_keystore *ks, int is_hub, ssync_error *err)
{
	sqlite3_stmt *er = NULL, *gr = NULL;
	int i, error = 0;

	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO erased(kid) VALUES (?)", -1, &er, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO grants(auditor, school) VALUES (?,?)", -1, &gr, NULL) != SQLITE_OK ||
	    (is_hub && sqlite3_exec(kdb, "DELETE FROM grants", NULL, NULL, NULL) != SQLITE_OK))
		error = ssync_privacy__kdb_err(kdb, err, "record erasures and grants");
	for (i = 0; !error && i < ks->nerased; i++) {
		sqlite3_bind_text(er, 1, ks->erased[i], -1, SQLITE_STATIC);
		error = ssync_privacy__kdb_step(kdb, er, err, "record erasure");
	}
	for (i = 0; !error && is_hub && i < ks->ngrants; i++) {
		sqlite3_bind_text(gr, 1, ks->grants[i].auditor, -1, SQLITE_STATIC);
		sqlite3_bind_text(gr, 2, ks->grants[i].school, -1, SQLITE_STATIC);
		error = ssync_privacy__kdb_step(kdb, gr, err, "record grant");
	}
	sqlite3_finalize(er);
	sqlite3_finalize(gr);
	return error;
}

int ssync_privacy__open_box(ssync_enckey *cur, ssync_enckey *old, unsigned char *key, const unsigned char *box)
{
	return ssync_enckey_open(cur, key, box, SSYNC_KEYSTORE_BOX) == 0 ||
		(old && ssync_enckey_open(old, key, box, SSYNC_KEYSTORE_BOX) == 0);
}

/* ---- the node's encryption keys ---- */

int ssync_privacy__enckeys(ssync_node *n, ssync_enckey **cur, ssync_enckey **old, ssync_error *err)
{
	char path[4200];
	int error;

	*cur = NULL;
	if (old)
		*old = NULL;
	if ((error = ssync_privacy__init_home(ssync_node_home(n), err)) < 0)
		return error;
	if ((error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_ENCKEY, err)) < 0 ||
	    (error = ssync_enckey_load(cur, path, err)) < 0)
		return error;
	if (old) {
		strcat(path, ".old");
		if (access(path, F_OK) == 0 && (error = ssync_enckey_load(old, path, err)) < 0) {
			ssync_enckey_free(*cur);
			*cur = NULL;
			return error;
		}
	}
	return 0;
}

int ssync_privacy_enckey_hex(ssync_node *n, char *hex, ssync_error *err)
{
	ssync_enckey *k = NULL;
	int error;

	if ((error = ssync_privacy__enckeys(n, &k, NULL, err)) == 0)
		ssync_hex_encode(hex, ssync_enckey_public(k), SSYNC_ENCKEY_BYTES);
	ssync_enckey_free(k);
	return error;
}

int ssync_privacy_rotate_enckey(ssync_node *n, char *hex, ssync_error *err)
{
	char path[4096], oldpath[4200], newpath[4200];
	ssync_enckey *k = NULL;
	int error;

	if ((error = ssync_privacy__init_home(ssync_node_home(n), err)) < 0 ||
	    (error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_ENCKEY, err)) < 0)
		return error;
	snprintf(oldpath, sizeof(oldpath), "%s.old", path);
	snprintf(newpath, sizeof(newpath), "%s.new", path);
	/* enc.key.old may still open boxes nobody re-sealed yet (a rotation
	 * not yet certified, or the key a restored home got back): a second
	 * rotation would have overwritten it */
	if (access(oldpath, F_OK) == 0) {
		ssync_error_set(err, SSYNC_EEXISTS, "%s still holds this node's previous encryption key", oldpath);
		ssync_error_hint(err, "once the hub certified the current key (district enroll ... --enckey) and every owner "
			"synced since (status shows no KEYS SEALED ELSEWHERE), move enc.key.old into the backup, then rotate again");
		return SSYNC_EEXISTS;
	}
	/* the new key is on disk before the old one moves: a failure leaves enc.key as it was */
	if ((error = ssync_enckey_generate(&k, err)) < 0 || (error = ssync_enckey_save(k, newpath, err)) < 0)
		goto done;
	/* the previous key opens what was sealed to it until owners re-wrap */
	if (rename(path, oldpath) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "rename %s: %s", path, strerror(errno));
		(void)unlink(newpath);
		goto done;
	}
	if (rename(newpath, path) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "rename %s: %s", newpath, strerror(errno));
		(void)rename(oldpath, path); /* put the key in use back */
		goto done;
	}
	ssync_hex_encode(hex, ssync_enckey_public(k), SSYNC_ENCKEY_BYTES);
done:
	ssync_enckey_free(k);
	return error;
}

/* ---- keys ---- */

/* Does @p key open the cell @p v of table.col of @p pk? Several owners'
 * stores may claim one kid (kids are public); only the real key opens its
 * cells (the AEAD tag), so which key is used is a function of the set of
 * stores held, never of the order they came in (PRIVACY.md §8). */
int ssync_privacy__key_opens(const unsigned char *key, const char *table, const char *pk, const char *col, const char *v,
	size_t len)
{
	char *m = NULL;
	size_t mlen = 0;
	int ok = ssync_cell_decrypt(&m, &mlen, key, table, pk, col, v, len, NULL) == 0;

	if (m) {
		sodium_memzero(m, mlen);
		free(m);
	}
	return ok;
}

/* ---- reading ---- */

struct ssync_privacy_reader {
	ssync_node *n;
	sqlite3 *kdb;
	sqlite3_stmt *get;
};

int ssync_privacy_reader_open(ssync_privacy_reader **out, ssync_node *n, ssync_error *err)
{
	ssync_privacy_reader *r = calloc(1, sizeof(*r));
	int error;

	*out = NULL;
	if (!r)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	r->n = n;
	if ((error = ssync_privacy__kdb_open(n, &r->kdb, err)) < 0) {
		free(r);
		return error;
	}
	if (sqlite3_prepare_v2(r->kdb, "SELECT key FROM data_key WHERE kid=? ORDER BY owner", -1, &r->get, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(r->kdb, err, "read data keys");
		ssync_privacy_reader_free(r);
		return error;
	}
	*out = r;
	return 0;
}

void ssync_privacy_reader_free(ssync_privacy_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->get);
	ssync_privacy__kdb_release(r->kdb);
	free(r);
}

int ssync_privacy_col_private(ssync_node *n, const char *table, const char *col, ssync_error *err)
{
	return ssync_policy__private_col(ssync_node_store(n), table, col, err);
}

int ssync_privacy_reader_is_private(ssync_privacy_reader *r, const char *table, const char *col)
{
	return ssync_policy__private_col(ssync_node_store(r->n), table, col, NULL) == 1;
}

/* 1 if @p kid is one of ours whose box to us no key we hold opens
 * (keyrecover.c carries it), for the message that says what to do. */
static int carried_to_us(ssync_node *n, sqlite3 *kdb, const char *kid)
{
	sqlite3_stmt *q = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(kdb, "SELECT 1 FROM carried WHERE kid=? AND node=?", -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

int ssync_privacy_reader_open_cell(ssync_privacy_reader *r, const char *table, const char *pk, const char *col,
	const char *v, size_t len, char **out, ssync_error *err)
{
	unsigned char key[SSYNC_DATAKEY_BYTES];
	char kid[SSYNC_KID_HEX + 1];
	size_t olen;
	int error, rc, nkeys = 0, found = 0;

	*out = NULL;
	if (!ssync_cell_parse(v, len, kid))
		return ssync_error_set(err, SSYNC_EINVAL, "%s.%s of %s is not an encrypted value", table, col, pk);
	sqlite3_bind_text(r->get, 1, kid, -1, SQLITE_STATIC);
	/* every owner's key under this kid: only the real one opens the cell */
	while ((rc = sqlite3_step(r->get)) == SQLITE_ROW) {
		nkeys++;
		if (sqlite3_column_bytes(r->get, 0) == SSYNC_DATAKEY_BYTES &&
		    ssync_privacy__key_opens(sqlite3_column_blob(r->get, 0), table, pk, col, v, len)) {
			memcpy(key, sqlite3_column_blob(r->get, 0), SSYNC_DATAKEY_BYTES);
			found = 1;
			break;
		}
	}
	sqlite3_reset(r->get);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_privacy__kdb_err(r->kdb, err, "read data key");
	if (!found) {
		if (nkeys)
			return ssync_error_set(err, SSYNC_ENOKEY, "%s.%s of %s: the data key %.8s does not open it", table, col,
				pk, kid);
		if (carried_to_us(r->n, r->kdb, kid) == 1) {
			ssync_error_set(err, SSYNC_ENOKEY, "%s.%s of %s: its data key %.8s is sealed to an encryption key this "
				"node no longer has", table, col, pk, kid);
			ssync_error_hint(err, "put this node's previous enc.key (from the backup) in its home as enc.key.old, "
				"then sync; the hub still reads it (docs/PRIVACY.md §8)");
			return SSYNC_ENOKEY;
		}
		return ssync_error_set(err, SSYNC_ENOKEY, "%s.%s of %s: this node holds no key %.8s (not a reader, or erased)",
			table, col, pk, kid);
	}
	error = ssync_cell_decrypt(out, &olen, key, table, pk, col, v, len, err);
	sodium_memzero(key, sizeof(key));
	return error;
}

/* Replace each encrypted string in @p j (a string, or an array of them)
 * by its clear text or SSYNC_PRIVACY_HIDDEN; 1 if anything changed. */
static int open_json(ssync_privacy_reader *r, const char *table, const char *pk, const char *col, json_t *j)
{
	size_t i;
	int changed = 0;

	if (json_is_array(j)) {
		for (i = 0; i < json_array_size(j); i++) {
			json_t *e = json_array_get(j, i);
			if (json_is_string(e) && ssync_cell_parse(json_string_value(e), json_string_length(e), NULL)) {
				char *clear = NULL;
				if (ssync_privacy_reader_open_cell(r, table, pk, col, json_string_value(e), json_string_length(e), &clear, NULL) < 0)
					clear = NULL; /* not a reader, or erased: shown hidden */
				json_array_set_new(j, i, json_string(clear ? clear : SSYNC_PRIVACY_HIDDEN));
				free(clear);
				changed = 1;
			}
		}
	}
	return changed;
}

char *ssync_privacy_reader_display_json(ssync_privacy_reader *r, const char *table, const char *pk, const char *col,
	const char *value_json)
{
	json_t *j, *box;
	char *out = NULL;

	if (!r || !value_json || !ssync_privacy_reader_is_private(r, table, col) ||
	    !(j = json_loads(value_json, JSON_DECODE_ANY, NULL)))
		return NULL;
	/* a single value is handled as a one-element array */
	if ((box = json_is_array(j) ? json_incref(j) : json_pack("[O]", j)) && open_json(r, table, pk, col, box))
		out = json_dumps(json_is_array(j) ? box : json_array_get(box, 0), JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(box);
	json_decref(j);
	return out;
}

/* ---- erasure and grants ---- */

/* Collect the kids of (table, pk)'s private cells in every entry held. */
static int log_kids(ssync_store *st, const char *table, const char *pk, sqlite3 *kdb, int *nkids, ssync_error *err)
{
	sqlite3_stmt *q, *ins = NULL;
	json_t *needle = json_string(pk);
	char *k = needle ? json_dumps(needle, JSON_ENCODE_ANY) : NULL;
	int rc, error = 0;

	json_decref(needle);
	if (!k)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if (!(q = ssync_store__stmt(st, "SELECT body FROM ssync_entry WHERE instr(body, ?) > 0", err))) {
		free(k);
		return SSYNC_ERROR;
	}
	if (sqlite3_prepare_v2(kdb, "INSERT OR IGNORE INTO erased(kid) VALUES (?)", -1, &ins, NULL) != SQLITE_OK) {
		sqlite3_reset(q);
		free(k);
		return ssync_privacy__kdb_err(kdb, err, "record erasure");
	}
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && !error) {
		json_t *body = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL), *op, *cell;
		size_t i, j;
		json_array_foreach(json_object_get(body, "ops"), i, op) {
			if (strcmp(json_string_value(json_object_get(op, "t")) ? json_string_value(json_object_get(op, "t")) : "", table) ||
			    strcmp(json_string_value(json_object_get(op, "k")) ? json_string_value(json_object_get(op, "k")) : "", pk))
				continue;
			json_array_foreach(json_object_get(op, "c"), j, cell) {
				json_t *v = json_array_get(cell, 1);
				char kid[SSYNC_KID_HEX + 1];
				if (!json_is_string(v) || !ssync_cell_parse(json_string_value(v), json_string_length(v), kid))
					continue;
				sqlite3_bind_text(ins, 1, kid, -1, SQLITE_TRANSIENT);
				if (sqlite3_step(ins) != SQLITE_DONE)
					error = ssync_privacy__kdb_err(kdb, err, "record erasure");
				else
					*nkids += sqlite3_changes(kdb);
				sqlite3_reset(ins);
			}
		}
		json_decref(body);
	}
	if (!error && rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = ssync_store__sqlerr(st, err, "read the log");
	sqlite3_reset(q);
	sqlite3_finalize(ins);
	free(k);
	return error;
}

int ssync_privacy_erase(ssync_node *n, const char *table, const char *pk, int *nkids, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	const ssync_table_info *t = ssync_store__table(st, table);
	char role[16], school[SSYNC_NODE_ID_MAX + 1], owner[SSYNC_NODE_ID_MAX + 1];
	sqlite3 *kdb = NULL;
	int64_t until = 0, max_seq = 0;
	int managed = 0, error;

	*nkids = 0;
	if (!t || !t->priv)
		return ssync_error_set(err, SSYNC_EINVAL, "%s is not a private table", table ? table : "");
	/* who may erase: the certificate valid now (nothing is signed here) */
	if ((error = ssync_policy__local(st, ssync_node_id(n), NULL, ssync_hlc_tick(0, ssync_hlc_wall_ms()), &managed, role,
		school, &until, &max_seq, err)) < 0)
		return error;
	(void)ssync_policy__key_owner(pk, owner);
	if (managed && strcmp(role, "hub") != 0 && strcmp(school, owner) != 0)
		return ssync_error_set(err, SSYNC_EPERM, "%s/%s belongs to %s: only that school or the hub erases it",
			table, pk, owner[0] ? owner : "the hub");
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	if ((error = ssync_privacy__kdb_exec(kdb, "BEGIN IMMEDIATE", err)) < 0)
		goto done;
	/* purge: the next sync drops the old key stores from git's objects */
	if ((error = log_kids(st, table, pk, kdb, nkids, err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM data_key WHERE kid IN (SELECT kid FROM erased)", err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "DELETE FROM carried WHERE kid IN (SELECT kid FROM erased)", err)) < 0 ||
	    (error = ssync_privacy__kdb_exec(kdb, "INSERT OR REPLACE INTO meta(k, v) VALUES ('purge', '1')", err)) < 0) {
		(void)sqlite3_exec(kdb, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	if ((error = ssync_privacy__kdb_exec(kdb, "COMMIT", err)) == 0)
		ssync_privacy__kdb_scrub(kdb);
done:
	ssync_privacy__kdb_release(kdb);
	return error;
}

int ssync_privacy_grant(ssync_node *n, const char *auditor, const char *school, int on, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	char role[16], sch[SSYNC_NODE_ID_MAX + 1];
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	int64_t until = 0, max_seq = 0;
	int managed = 0, error;

	if (!auditor || !school || !ssync_ident_node_valid(auditor) || !ssync_ident_node_valid(school))
		return ssync_error_set(err, SSYNC_EINVAL, "--auditor and --school must be node ids");
	if ((error = ssync_policy__local(st, ssync_node_id(n), NULL, ssync_hlc_tick(0, ssync_hlc_wall_ms()), &managed, role,
		sch, &until, &max_seq, err)) < 0)
		return error;
	if (!managed || strcmp(role, "hub") != 0)
		return ssync_error_set(err, SSYNC_EPERM, "only the district hub grants auditors access to private rows");
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(kdb, on ? "INSERT OR IGNORE INTO grants(auditor, school) VALUES (?,?)"
		: "DELETE FROM grants WHERE auditor=? AND school=?", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_privacy__kdb_err(kdb, err, "write grants");
		goto done;
	}
	sqlite3_bind_text(q, 1, auditor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, school, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "write grants");
done:
	sqlite3_finalize(q);
	ssync_privacy__kdb_release(kdb);
	return error;
}
