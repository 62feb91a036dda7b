/* The SQLite replica: open with WAL and a busy timeout, apply the embedded
 * numbered migrations once each, keep the registry of replicated tables and a
 * small cache of prepared statements (keyed by the SQL literal's address, so
 * callers pass string constants). One store is used by one thread at a time. */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_int.h"
#include "schema_int.h"
#include <sodium.h>

#include "schoolsync/keys.h"
#include "store_int.h"

#define STMT_CACHE 192
#define USER_CACHE 8

struct ssync_store {
	sqlite3 *db;
	ssync_ckpt *ckpt;  /* writable stores: checkpoints off the write path */
	int schema_version;
	int ntables;
	ssync_table_info *tables;
	struct { const char *sql; sqlite3_stmt *stmt; } cache[STMT_CACHE];
	int ncache;
	/* user SQL a caller runs again and again (one statement each): the
	 * text is kept, so lookups compare it */
	struct { char *sql; sqlite3_stmt *stmt; } user[USER_CACHE];
	int user_next;
	int guard;         /* preparing user SQL: only DML on replicated tables */
	char denied[200];  /* why the guard refused the last statement */
	char tampered[200]; /* a trigger or view not of our schema was refused */
	char **foreign;     /* triggers and views found at open that our schema lacks */
	int nforeign;
	unsigned long trust_epoch; /* ssync_store__trust_touch */
};

static int is_foreign(const ssync_store *st, const char *name)
{
	int i;

	for (i = 0; i < st->nforeign; i++)
		if (!strcmp(st->foreign[i], name))
			return 1;
	return 0;
}

/* Triggers and views someone added with another tool (CTE names also reach
 * the authorizer as "views", so only these are refused there). */
static int find_foreign(ssync_store *st, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT name FROM main.sqlite_schema WHERE type IN ('trigger', 'view')",
			-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read schema");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		char **v;
		if (!name || ssync_schema__trigger_allowed(name))
			continue;
		if (!(v = realloc(st->foreign, (size_t)(st->nforeign + 1) * sizeof(*v))) ||
		    !(v[st->nforeign] = strdup(name))) {
			if (v)
				st->foreign = v;
			sqlite3_finalize(q);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		st->foreign = v;
		st->nforeign++;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read schema");
}

/* Installed once: changing the authorizer would expire every cached
 * statement. It only acts while the guard is on (user SQL being prepared). */
static int authorizer(void *p, int action, const char *a, const char *b, const char *db, const char *trigger)
{
	ssync_store *st = p;

	(void)b; (void)db;
	/* A trigger or view someone added with another tool never runs inside
	 * our statements (it could rewrite the policy while entries apply). */
	if (trigger && is_foreign(st, trigger)) {
		snprintf(st->tampered, sizeof(st->tampered), "trigger or view '%.60s' is not part of schoolsync's "
			"schema: it was added outside schoolsync and is not run (E_TAMPER)", trigger);
		return SQLITE_DENY;
	}
	if (!st->guard)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		if (a && ssync_store_is_table(st, a))
			return SQLITE_OK;
		/* SQLite registers table-valued functions (json_each) on first use
		 * as a schema write; SQLITE_DBCONFIG_DEFENSIVE still refuses any
		 * real write to the schema table. */
		if (a && (strcmp(a, "sqlite_master") == 0 || strcmp(a, "sqlite_schema") == 0))
			return SQLITE_OK;
		snprintf(st->denied, sizeof(st->denied), "writing table %s is not allowed "
			"(only the district's data tables can be written)", a ? a : "?");
		return SQLITE_DENY;
	default:
		snprintf(st->denied, sizeof(st->denied), "this kind of statement is not allowed "
			"(only SELECT, INSERT, UPDATE, DELETE on data tables)");
		return SQLITE_DENY;
	}
}

void ssync_store__guard(ssync_store *st, int on)
{
	st->guard = on;
	if (on)
		st->denied[0] = 0;
}

const char *ssync_store__guard_denied(const ssync_store *st)
{
	return st->denied;
}

int ssync_store__tampered(const ssync_store *st)
{
	return st->tampered[0] != 0;
}

sqlite3 *ssync_store__db(ssync_store *st) { return st->db; }
int ssync_store__ntables(const ssync_store *st) { return st->ntables; }
const ssync_table_info *ssync_store__table_at(const ssync_store *st, int i) { return &st->tables[i]; }
int ssync_store_schema_version(const ssync_store *st) { return st->schema_version; }

int ssync_store_schema_check(ssync_store *st, ssync_error *err)
{
	char msg[700];
	int n = ssync_schema__diff(st->db, msg, sizeof(msg));

	if (n < 0)
		return ssync_error_set(err, SSYNC_ERROR, "check the replica's schema: %s", msg);
	if (n == 0)
		return 0;
	ssync_error_set(err, SSYNC_ETAMPER, "the replica's schema differs from schoolsync's: %s (E_TAMPER)", msg);
	ssync_error_hint(err, "someone changed replica.db with another tool: remove what is extra (sqlite3 "
		"HOME/replica.db 'DROP TRIGGER name'), or restore the home from a backup");
	return SSYNC_ETAMPER;
}
int ssync_store__in_tx(ssync_store *st) { return !sqlite3_get_autocommit(st->db); }

void ssync_store__trust_touch(ssync_store *st) { st->trust_epoch++; }
unsigned long ssync_store__trust_epoch(const ssync_store *st) { return st->trust_epoch; }

const ssync_table_info *ssync_store__table(const ssync_store *st, const char *name)
{
	int lo = 0, hi = st->ntables - 1;

	if (!name)
		return NULL;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(name, st->tables[mid].name);
		if (c == 0)
			return &st->tables[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

int ssync_store_is_table(const ssync_store *st, const char *name)
{
	return ssync_store__table(st, name) != NULL;
}

int ssync_table__col(const ssync_table_info *t, const char *col)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], col) == 0)
			return i;
	return -1;
}

int ssync_store__sqlerr(ssync_store *st, ssync_error *err, const char *what)
{
	if ((sqlite3_extended_errcode(st->db) & 0xff) == SQLITE_AUTH && st->tampered[0]) {
		if (err && err->code == 0)
			err->sqlite_rc = sqlite3_extended_errcode(st->db);
		ssync_error_set(err, SSYNC_ETAMPER, "%s: %s", what, st->tampered);
		ssync_error_hint(err, "run: schoolsync verify (it lists what differs), then remove it with "
			"sqlite3 HOME/replica.db 'DROP TRIGGER name' or restore the home from a backup");
		return SSYNC_ETAMPER;
	}
	return ssync_store__dberr(st->db, err, what);
}

int ssync_store__dberr(sqlite3 *db, ssync_error *err, const char *what)
{
	int rc = sqlite3_extended_errcode(db);
	int code = SSYNC_ERROR;

	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		code = SSYNC_EBUSY;
	else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		code = SSYNC_ECORRUPT;
	else if ((rc & 0xff) == SQLITE_READONLY)
		code = SSYNC_EREADONLY;
	else if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
		 (rc & 0xff) == SQLITE_CANTOPEN)
		code = SSYNC_EIO;
	if (err && err->code == 0)
		err->sqlite_rc = rc;
	ssync_error_set(err, code, "%s: %s", what, sqlite3_errmsg(db));
	if (code == SSYNC_EBUSY)
		ssync_error_hint(err, "another process holds the replica; retry");
	else if (code == SSYNC_ECORRUPT)
		ssync_error_hint(err, "the replica is damaged; rebuild it from the exchange repository");
	return code;
}

int ssync_store__step_row(ssync_store *st, sqlite3_stmt *q, const char *what, ssync_error *err)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, what);
}

int ssync_store__step_done(sqlite3 *db, int rc, const char *what, ssync_error *err)
{
	return rc == SQLITE_DONE ? 0 : ssync_store__dberr(db, err, what);
}

sqlite3_stmt *ssync_store__stmt(ssync_store *st, const char *sql, ssync_error *err)
{
	sqlite3_stmt *stmt = NULL;
	int i;

	for (i = 0; i < st->ncache; i++) {
		if (st->cache[i].sql == sql) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			return st->cache[i].stmt;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
		ssync_store__sqlerr(st, err, "prepare");
		return NULL;
	}
	if (st->ncache < STMT_CACHE) {
		st->cache[st->ncache].sql = sql;
		st->cache[st->ncache].stmt = stmt;
		st->ncache++;
	}
	/* A full cache is a programming error (too many distinct statements);
	 * the statement then leaks until close, which sqlite3_close_v2 handles. */
	return stmt;
}

/* A statement the guard passed when it was prepared stays valid if SQLite
 * re-prepares it after a schema change: the same text names the same
 * tables, and only our migrations change the schema. */
sqlite3_stmt *ssync_store__user_take(ssync_store *st, const char *sql)
{
	int i;

	for (i = 0; i < USER_CACHE; i++) {
		if (st->user[i].sql && strcmp(st->user[i].sql, sql) == 0) {
			sqlite3_stmt *s = st->user[i].stmt;
			free(st->user[i].sql);
			st->user[i].sql = NULL;
			st->user[i].stmt = NULL;
			return s;
		}
	}
	return NULL;
}

void ssync_store__user_keep(ssync_store *st, const char *sql, sqlite3_stmt *s)
{
	int i = st->user_next;
	char *copy = strdup(sql);

	if (!copy) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	st->user_next = (i + 1) % USER_CACHE;
	sqlite3_finalize(st->user[i].stmt);
	free(st->user[i].sql);
	st->user[i].sql = copy;
	st->user[i].stmt = s;
}

static int exec(ssync_store *st, const char *sql, ssync_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = ssync_store__sqlerr(st, err, "replica");
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

static void free_tables(ssync_store *st)
{
	int i, j;

	for (i = 0; i < st->ntables; i++) {
		for (j = 0; j < st->tables[i].ncols; j++)
			free(st->tables[i].cols[j]);
		free(st->tables[i].cols);
		free(st->tables[i].name);
		sqlite3_free(st->tables[i].upsert_sql);
		sqlite3_free(st->tables[i].delete_sql);
		sqlite3_free(st->tables[i].select_sql);
	}
	free(st->tables);
	st->tables = NULL;
	st->ntables = 0;
}

/* Statements the merge uses to materialize rows; names were validated. */
static int build_sql(ssync_table_info *t, ssync_error *err)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	int i;

	sqlite3_str_appendf(s, "INSERT OR REPLACE INTO \"%w\"(", t->name);
	for (i = 0; i < t->ncols; i++)
		sqlite3_str_appendf(s, "%s\"%w\"", i ? "," : "", t->cols[i]);
	sqlite3_str_appendall(s, ") VALUES (");
	for (i = 0; i < t->ncols; i++)
		sqlite3_str_appendall(s, i ? ",?" : "?");
	sqlite3_str_appendall(s, ")");
	t->upsert_sql = sqlite3_str_finish(s);
	t->delete_sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE \"%w\"=?", t->name, t->cols[t->pk]);
	t->select_sql = sqlite3_mprintf("SELECT * FROM \"%w\" WHERE \"%w\"=?", t->name, t->cols[t->pk]);
	if (!t->upsert_sql || !t->delete_sql || !t->select_sql)
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	return 0;
}

/* Load the registry of replicated tables and check each fits the merge
 * contract: one TEXT primary key column, identifiers we can quote safely. */
static int load_tables(ssync_store *st, ssync_error *err)
{
	sqlite3_stmt *q = NULL, *ti = NULL;
	int error = 0, n = 0, cap = 0, rc;

	free_tables(st);
	if (sqlite3_prepare_v2(st->db, "SELECT name, private FROM ssync_table ORDER BY name", -1, &q, NULL) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "read table registry");
		goto done;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		ssync_table_info *t;
		int npk = 0;

		if (!ssync_ident_sql_valid(name)) {
			error = ssync_error_set(err, SSYNC_ESCHEMA, "schema registers an invalid table name '%s'", name ? name : "");
			goto done;
		}
		if (n == cap) {
			ssync_table_info *nt;
			cap = cap ? cap * 2 : 16;
			nt = realloc(st->tables, (size_t)cap * sizeof(*nt));
			if (!nt) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			st->tables = nt;
		}
		t = &st->tables[n];
		memset(t, 0, sizeof(*t));
		t->name = strdup(name);
		t->priv = sqlite3_column_int(q, 1);
		t->pk = -1;
		st->ntables = ++n;
		if (!t->name) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if (sqlite3_prepare_v2(st->db, "SELECT name, pk, type FROM pragma_table_info(?)", -1, &ti, NULL) != SQLITE_OK) {
			error = ssync_store__sqlerr(st, err, "read table info");
			goto done;
		}
		sqlite3_bind_text(ti, 1, name, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(ti)) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(ti, 0);
			char **nc;
			if (!ssync_ident_sql_valid(col) || col[0] == '$') {
				error = ssync_error_set(err, SSYNC_ESCHEMA, "table %s has an invalid column name", name);
				goto done;
			}
			nc = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(char *));
			if (!nc) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			t->cols = nc;
			if (!(t->cols[t->ncols] = strdup(col))) {
				error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
				goto done;
			}
			if (sqlite3_column_int(ti, 1) > 0) {
				t->pk = t->ncols;
				npk++;
			}
			t->ncols++;
		}
		if ((error = ssync_store__step_done(st->db, rc, "read table info", err)) < 0)
			goto done;
		sqlite3_finalize(ti);
		ti = NULL;
		if (t->ncols == 0 || npk != 1) {
			error = ssync_error_set(err, SSYNC_ESCHEMA,
				"replicated table %s needs exactly one primary key column", name);
			goto done;
		}
		if ((error = build_sql(t, err)) < 0)
			goto done;
	}
	/* A busy registry read must not leave a table unknown (unreplicated). */
	error = ssync_store__step_done(st->db, rc, "read table registry", err);
done:
	sqlite3_finalize(ti);
	sqlite3_finalize(q);
	return error;
}

static int migrate(ssync_store *st, ssync_error *err)
{
	const ssync_schema_file *f;
	sqlite3_stmt *q = NULL;
	int error = 0, have = 0;

	if ((error = exec(st, SSYNC_SCHEMA_TABLE_SQL, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version),0) FROM ssync_schema", -1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read schema version");
	if ((error = ssync_store__step_row(st, q, "read schema version", err)) < 0) {
		sqlite3_finalize(q);
		return error;
	}
	have = sqlite3_column_int(q, 0); /* an aggregate: always one row */
	sqlite3_finalize(q);
	q = NULL;
	error = 0;

	for (f = ssync__schema_files; f->name; f++) {
		if (f->version <= have)
			continue;
		if ((error = exec(st, "BEGIN IMMEDIATE", err)) < 0)
			return error;
		if ((error = exec(st, f->sql, err)) < 0) {
			ssync_error_hint(err, "schema file %s failed to apply", f->name);
			goto fail;
		}
		if (sqlite3_prepare_v2(st->db, "INSERT INTO ssync_schema(version, name, applied_at) "
			"VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_store__sqlerr(st, err, "record schema version");
			goto fail;
		}
		sqlite3_bind_int(q, 1, f->version);
		sqlite3_bind_text(q, 2, f->name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			error = ssync_store__sqlerr(st, err, "record schema version");
			goto fail;
		}
		sqlite3_finalize(q);
		q = NULL;
		if ((error = exec(st, "COMMIT", err)) < 0)
			goto fail;
		have = f->version;
	}
	st->schema_version = have;
	/* Replicas made before rebuild sorted its replay order itself carry an
	 * index on the log that costs every write a page. */
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_schema WHERE type='index' AND name='ssync_entry_hlc'",
		-1, &q, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "read schema");
	error = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	q = NULL;
	if (error && (error = exec(st, "DROP INDEX ssync_entry_hlc", err)) < 0)
		return error;
	return 0;
fail:
	sqlite3_finalize(q);
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return error;
}

/* SQLite's default memory statistics take a global mutex on every
 * allocation; nothing here reads them. Only possible before SQLite starts:
 * if the embedding program started it first, its settings stay. */
static void sqlite_setup(void)
{
	if (!sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0))
		(void)sqlite3_initialize();
}

int ssync_store_open(ssync_store **out, const char *path, int flags, ssync_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	ssync_store *st = NULL;
	int error = 0, oflags;

	*out = NULL;
	(void)pthread_once(&once, sqlite_setup);
	if (!(st = calloc(1, sizeof(*st))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	oflags = (flags & SSYNC_STORE_READONLY) ? SQLITE_OPEN_READONLY :
		SQLITE_OPEN_READWRITE | ((flags & SSYNC_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, ssync_store__vfs()) != SQLITE_OK) {
		if (!st->db) {
			error = ssync_error_set(err, SSYNC_ERROR, "open %s: out of memory", path);
		} else {
			error = ssync_error_set(err, (flags & SSYNC_STORE_CREATE) ? SSYNC_EIO : SSYNC_ENOTFOUND,
				"open replica %s: %s", path, sqlite3_errmsg(st->db));
			ssync_error_hint(err, "check the home directory exists and is writable, or run: schoolsync init");
		}
		goto done;
	}
	sqlite3_extended_result_codes(st->db, 1);
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(st->db, 5000);
	if (!(flags & SSYNC_STORE_READONLY)) {
		/* Commits do not fsync; checkpoints (checkpoint.c) and sync's
		 * ssync_store_make_durable before it publishes do. */
		if ((error = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			"PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16384", err)) < 0)
			goto done;
		if (ssync_ckpt__new(&st->ckpt, st->db, path) < 0) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			goto done;
		}
		if ((error = migrate(st, err)) < 0)
			goto done;
	} else {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version),0) FROM ssync_schema", -1, &q, NULL) != SQLITE_OK) {
			error = ssync_store__sqlerr(st, err, "read schema version");
			goto done;
		}
		if ((error = ssync_store__step_row(st, q, "read schema version", err)) < 0) {
			sqlite3_finalize(q);
			goto done;
		}
		st->schema_version = sqlite3_column_int(q, 0); /* an aggregate: always one row */
		sqlite3_finalize(q);
		error = 0;
	}
	if ((error = load_tables(st, err)) < 0)
		goto done;
	if ((error = find_foreign(st, err)) < 0)
		goto done;
	sqlite3_set_authorizer(st->db, authorizer, st);
	*out = st;
	st = NULL;
done:
	ssync_store_free(st);
	return error;
}

void ssync_store_free(ssync_store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	for (i = 0; i < USER_CACHE; i++) {
		sqlite3_finalize(st->user[i].stmt);
		free(st->user[i].sql);
	}
	free_tables(st);
	for (i = 0; i < st->nforeign; i++)
		free(st->foreign[i]);
	free(st->foreign);
	ssync_ckpt__free(st->ckpt);
	sqlite3_close_v2(st->db);
	free(st);
}

static int step_cached(ssync_store *st, const char *sql, const char *what, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, sql, err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, what);
	return 0;
}

int ssync_store_begin(ssync_store *st, ssync_error *err)
{
	return step_cached(st, "BEGIN IMMEDIATE", "begin transaction", err);
}

int ssync_store_commit(ssync_store *st, ssync_error *err)
{
	int error = step_cached(st, "COMMIT", "commit", err);
	if (error < 0)
		ssync_store_rollback(st);
	return error;
}

void ssync_store_rollback(ssync_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int ssync_store_make_durable(ssync_store *st, ssync_error *err)
{
	if (!st->ckpt)
		return ssync_error_set(err, SSYNC_EREADONLY, "the replica is open read-only");
	return ssync_ckpt__sync_wal(st->ckpt, err);
}

int ssync_store_meta_get(ssync_store *st, const char *key, char **out, ssync_error *err)
{
	sqlite3_stmt *q;
	int rc;

	*out = NULL;
	if (!(q = ssync_store__stmt(st, "SELECT value FROM ssync_meta WHERE key=?", err)))
		return err ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*out = strdup((const char *)sqlite3_column_text(q, 0));
		sqlite3_reset(q);
		return *out ? 0 : ssync_error_set(err, SSYNC_ERROR, "out of memory");
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return SSYNC_ENOTFOUND;
	return ssync_store__sqlerr(st, err, "read meta");
}

int ssync_store_meta_set(ssync_store *st, const char *key, const char *value, ssync_error *err)
{
	sqlite3_stmt *q;
	int rc;

	if (!(q = ssync_store__stmt(st, "INSERT INTO ssync_meta(key, value) VALUES (?, ?) "
		"ON CONFLICT(key) DO UPDATE SET value=excluded.value", err)))
		return err ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "write meta");
	return 0;
}

static void hash_value(crypto_hash_sha256_state *h, sqlite3_stmt *q, int i)
{
	unsigned char tag;
	uint64_t len;
	const void *p = NULL;
	char num[40];

	switch (sqlite3_column_type(q, i)) {
	case SQLITE_NULL: tag = 'n'; len = 0; break;
	case SQLITE_INTEGER:
		tag = 'i';
		len = (uint64_t)snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(q, i));
		p = num;
		break;
	case SQLITE_FLOAT:
		tag = 'r';
		len = (uint64_t)snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(q, i));
		p = num;
		break;
	case SQLITE_TEXT:
		tag = 't';
		p = sqlite3_column_text(q, i);
		len = (uint64_t)sqlite3_column_bytes(q, i);
		break;
	default:
		tag = 'b';
		p = sqlite3_column_blob(q, i);
		len = (uint64_t)sqlite3_column_bytes(q, i);
		break;
	}
	crypto_hash_sha256_update(h, &tag, 1);
	crypto_hash_sha256_update(h, (const unsigned char *)&len, sizeof(len));
	if (len)
		crypto_hash_sha256_update(h, p, len);
}

int ssync_store_state_hash(ssync_store *st, char hex[65], ssync_error *err)
{
	crypto_hash_sha256_state h;
	unsigned char out[32];
	sqlite3 *db = ssync_store__db(st);
	int i, j, error = 0;

	crypto_hash_sha256_init(&h);
	/* One read transaction: a consistent snapshot without blocking writers. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return ssync_store__sqlerr(st, err, "state hash");
	for (i = 0; i < ssync_store__ntables(st); i++) {
		const ssync_table_info *t = ssync_store__table_at(st, i);
		sqlite3_stmt *q = NULL;
		char *sql;
		int rc;

		crypto_hash_sha256_update(&h, (const unsigned char *)t->name, strlen(t->name) + 1);
		if (!(sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY \"%w\"", t->name, t->cols[t->pk]))) {
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
			break;
		}
		rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
		sqlite3_free(sql);
		if (rc != SQLITE_OK) {
			error = ssync_store__sqlerr(st, err, "state hash");
			break;
		}
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			for (j = 0; j < sqlite3_column_count(q); j++)
				hash_value(&h, q, j);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE) {
			error = ssync_store__sqlerr(st, err, "state hash");
			break;
		}
	}
	ssync_store_rollback(st);
	if (error < 0)
		return error;
	crypto_hash_sha256_final(&h, out);
	ssync_hex_encode(hex, out, 32);
	return 0;
}
