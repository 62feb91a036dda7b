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

static void kdb_close(void *db)
{
	sqlite3_close(db);
}

void ssync_privacy__kdb_release(sqlite3 *db)
{
	(void)db; /* the node keeps it open until ssync_node_free */
}

/* keys.db, opened once per node and kept with it: opening a WAL database
 * for every private write cost milliseconds (bench_private). */
int ssync_privacy__kdb_open(ssync_node *n, sqlite3 **out, ssync_error *err)
{
	int error;

	if ((*out = ssync_node__cache(n)) != NULL)
		return 0;
	if ((error = kdb_connect(n, out, err)) < 0)
		return error;
	ssync_node__set_cache(n, *out, kdb_close);
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
	char path[4096], oldpath[4200];
	ssync_enckey *k = NULL;
	int error;

	if ((error = ssync_privacy__init_home(ssync_node_home(n), err)) < 0 ||
	    (error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_ENCKEY, err)) < 0)
		return error;
	snprintf(oldpath, sizeof(oldpath), "%s.old", path);
	/* the previous key opens what was sealed to it until owners re-wrap */
	if (rename(path, oldpath) != 0)
		return ssync_error_set(err, SSYNC_EIO, "rename %s: %s", path, strerror(errno));
	if ((error = ssync_enckey_generate(&k, err)) == 0 && (error = ssync_enckey_save(k, path, err)) == 0)
		ssync_hex_encode(hex, ssync_enckey_public(k), SSYNC_ENCKEY_BYTES);
	ssync_enckey_free(k);
	return error;
}

/* ---- readers ---- */

void ssync_privacy__readers_free(ssync_readers *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Every node that reads @p school's private rows (@p school "" = a hub
 * row): the newest certificate of each unrevoked node that carries an
 * encryption key, if it is the hub, a node of that school, or an auditor
 * the hub granted it. Sorted by node id. */
int ssync_privacy__readers(ssync_store *st, sqlite3 *kdb, const char *school, ssync_readers *out, ssync_error *err)
{
	sqlite3_stmt *q = NULL, *g = NULL;
	int rc, error = 0;

	memset(out, 0, sizeof(*out));
	if (!(q = ssync_store__stmt(st, "SELECT c.node, c.role, ifnull(c.school_id,''), o.body FROM ssync_cert c "
		"JOIN ssync_trust_obj o ON o.kind='cert' AND o.node=c.node AND o.serial=c.serial "
		"WHERE c.serial=(SELECT max(serial) FROM ssync_cert x WHERE x.node=c.node) "
		"AND NOT EXISTS (SELECT 1 FROM ssync_revocation r WHERE r.node=c.node) ORDER BY c.node", err)))
		return SSYNC_ERROR;
	if (sqlite3_prepare_v2(kdb, "SELECT 1 FROM grants WHERE auditor=? AND school=?", -1, &g, NULL) != SQLITE_OK) {
		sqlite3_reset(q);
		return ssync_privacy__kdb_err(kdb, err, "read grants");
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *node = (const char *)sqlite3_column_text(q, 0), *role = (const char *)sqlite3_column_text(q, 1);
		const char *sch = (const char *)sqlite3_column_text(q, 2);
		json_t *o = json_loads((const char *)sqlite3_column_text(q, 3), 0, NULL);
		const char *ek = json_string_value(json_object_get(o, "enckey"));
		unsigned char pk[SSYNC_ENCKEY_BYTES];
		int take = 0;

		if (ek && ssync_hex_decode(pk, sizeof(pk), ek) == 0) {
			if (strcmp(role, "hub") == 0)
				take = 1;
			else if (strcmp(role, "school") == 0)
				take = school[0] && strcmp(sch, school) == 0;
			else if (strcmp(role, "auditor") == 0 && school[0]) {
				sqlite3_bind_text(g, 1, node, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(g, 2, school, -1, SQLITE_TRANSIENT);
				take = sqlite3_step(g) == SQLITE_ROW;
				sqlite3_reset(g);
			}
		}
		json_decref(o);
		if (!take)
			continue;
		if (out->n == out->cap) {
			int cap = out->cap ? out->cap * 2 : 8;
			void *v = realloc(out->v, (size_t)cap * sizeof(*out->v));
			if (!v) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		snprintf(out->v[out->n].node, sizeof(out->v[0].node), "%s", node);
		memcpy(out->v[out->n].pk, pk, sizeof(pk));
		out->n++;
	}
	if (!error && rc != SQLITE_DONE)
		error = ssync_store__sqlerr(st, err, "read certificates");
	sqlite3_reset(q);
	sqlite3_finalize(g);
	if (error < 0)
		ssync_privacy__readers_free(out);
	return error;
}

void ssync_privacy__reader_token(const ssync_reader *r, char *out, size_t len)
{
	char pk[17];

	/* the first 8 bytes of the key name it well enough to notice a rotation */
	ssync_hex_encode(pk, r->pk, 8);
	snprintf(out, len, "%s:%s", r->node, pk);
}

/* "a:k1,b:k2": the readers, each with its encryption key (a token), for
 * noticing one was removed -- a node revoked or no longer granted, or a
 * key rotated away (its old secret may be in a thief's hands). malloc'd. */
static char *readers_list(const ssync_readers *r)
{
	size_t used = 0, cap = (size_t)r->n * (SSYNC_NODE_ID_MAX + 20) + 1;
	char *out = malloc(cap);
	int i;

	if (!out)
		return NULL;
	out[0] = 0;
	for (i = 0; i < r->n; i++) {
		char tok[SSYNC_NODE_ID_MAX + 20];
		ssync_privacy__reader_token(&r->v[i], tok, sizeof(tok));
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", tok);
	}
	return out;
}

/* 1 if the comma list @p list holds the token @p tok (@p len bytes). */
static int list_has(const char *list, const char *tok, size_t len)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && memcmp(p, tok, len) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* 1 if every token of the comma list @p was is still in @p now. */
static int readers_kept(const char *was, const char *now)
{
	const char *p = was;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l && !list_has(now, p, l))
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	return 1;
}

/* ---- writing ---- */

/* The kid of the row's current private cells, "" if none; @p cell gets a
 * copy of the first such cell and @p col its column (to tell which key
 * held under that kid really opens it). */
static int row_kid(ssync_store *st, const char *table, const char *pk, char kid[SSYNC_KID_HEX + 1], char **cell,
	const char **col, ssync_error *err)
{
	const ssync_table_info *t = ssync_store__table(st, table);
	sqlite3_stmt *q;
	int i, rc, error = 0;

	kid[0] = 0;
	*cell = NULL;
	*col = NULL;
	if (!t)
		return ssync_error_set(err, SSYNC_ENOTFOUND, "no replicated table %s", table);
	/* the registry's own SELECT by key: prepared once per store */
	if (!(q = ssync_store__stmt(st, t->select_sql, err)))
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (i = 0; i < t->ncols && !kid[0]; i++)
			if (sqlite3_column_type(q, i) == SQLITE_TEXT &&
			    ssync_cell_parse((const char *)sqlite3_column_text(q, i), (size_t)sqlite3_column_bytes(q, i), kid)) {
				*col = t->cols[i];
				if (!(*cell = strdup((const char *)sqlite3_column_text(q, i))))
					error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			}
	} else if (rc != SQLITE_DONE) {
		error = ssync_store__sqlerr(st, err, "read row");
	}
	sqlite3_reset(q);
	return error;
}

/* Does @p key open the cell @p v of table.col of @p pk? Several owners'
 * stores may claim one kid (kids are public); only the real key opens its
 * cells (the AEAD tag), so which key is used is a function of the set of
 * stores held, never of the order they came in (PRIVACY.md §8). */
static int key_opens(const unsigned char *key, const char *table, const char *pk, const char *col, const char *v,
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

int ssync_privacy_seal_row(ssync_node *n, const char *table, const char *pk, int ncols, const char *const *cols,
	const char *const *clear, char **out, ssync_error *err)
{
	ssync_store *st = ssync_node_store(n);
	ssync_readers rd = { 0 };
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	unsigned char key[SSYNC_DATAKEY_BYTES];
	char kid[SSYNC_KID_HEX + 1], school[SSYNC_NODE_ID_MAX + 1], *rlist = NULL, *cell = NULL;
	const char *ccol = NULL;
	int i, rc, have = 0, error;

	for (i = 0; i < ncols; i++)
		out[i] = NULL;
	(void)ssync_policy__key_owner(pk, school);
	if ((error = row_kid(st, table, pk, kid, &cell, &ccol, err)) < 0 || (error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		goto done;
	if ((error = ssync_privacy__readers(st, kdb, school, &rd, err)) < 0)
		goto done;
	if (!(rlist = readers_list(&rd))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (kid[0]) {
		/* only a key this node made: it alone knows every reader the key
		 * was ever sealed to (a key another node made -- the owner's, when
		 * the hub writes -- may have been sealed to an auditor revoked
		 * since, which kept it) */
		if (sqlite3_prepare_v2(kdb, "SELECT key, readers, origin FROM data_key WHERE kid=? AND owner=?", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_privacy__kdb_err(kdb, err, "read data key");
			goto done;
		}
		sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
		/* only the key that opens the row's cell: a squatter's key under
		 * this kid would hand it the new values */
		while ((rc = sqlite3_step(q)) == SQLITE_ROW && !have)
			if (sqlite3_column_bytes(q, 0) == SSYNC_DATAKEY_BYTES &&
			    key_opens(sqlite3_column_blob(q, 0), table, pk, ccol, cell, strlen(cell))) {
				/* a reader removed since the key was made must not read
				 * new writes; a recovered key's past readers are unknown */
				if (!sqlite3_column_bytes(q, 2) && readers_kept((const char *)sqlite3_column_text(q, 1), rlist)) {
					memcpy(key, sqlite3_column_blob(q, 0), SSYNC_DATAKEY_BYTES);
					have = 1;
				}
				break;
			}
		sqlite3_finalize(q);
		q = NULL;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			error = ssync_privacy__kdb_err(kdb, err, "read data key");
			goto done;
		}
	}
	if (!have) {
		ssync_cell_newkey(key, kid);
		if (sqlite3_prepare_v2(kdb, "INSERT INTO data_key(kid, owner, school, key, readers) VALUES (?,?,?,?,?)",
			-1, &q, NULL) != SQLITE_OK) {
			error = ssync_privacy__kdb_err(kdb, err, "store data key");
			goto done;
		}
		sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, ssync_node_id(n), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, school, -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 4, key, SSYNC_DATAKEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, rlist, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			error = ssync_privacy__kdb_err(kdb, err, "store data key");
			goto done;
		}
	}
	for (i = 0; i < ncols; i++) {
		if (!clear[i])
			continue;
		if ((error = ssync_cell_encrypt(&out[i], key, kid, table, pk, cols[i], clear[i], strlen(clear[i]), err)) < 0)
			goto done;
	}
done:
	sodium_memzero(key, sizeof(key));
	if (error < 0)
		for (i = 0; i < ncols; i++) {
			free(out[i]);
			out[i] = NULL;
		}
	sqlite3_finalize(q);
	free(cell);
	free(rlist);
	ssync_privacy__kdb_release(kdb);
	ssync_privacy__readers_free(&rd);
	return error;
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
		    key_opens(sqlite3_column_blob(r->get, 0), table, pk, col, v, len)) {
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
	int64_t until = 0;
	int managed = 0, error;

	*nkids = 0;
	if (!t || !t->priv)
		return ssync_error_set(err, SSYNC_EINVAL, "%s is not a private table", table ? table : "");
	/* who may erase: the certificate valid now (nothing is signed here) */
	if ((error = ssync_policy__local(st, ssync_node_id(n), NULL, ssync_hlc_tick(0, ssync_hlc_wall_ms()), &managed, role,
		school, &until, err)) < 0)
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
	int64_t until = 0;
	int managed = 0, error;

	if (!auditor || !school || !ssync_ident_node_valid(auditor) || !ssync_ident_node_valid(school))
		return ssync_error_set(err, SSYNC_EINVAL, "--auditor and --school must be node ids");
	if ((error = ssync_policy__local(st, ssync_node_id(n), NULL, ssync_hlc_tick(0, ssync_hlc_wall_ms()), &managed, role,
		sch, &until, err)) < 0)
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
