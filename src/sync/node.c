/* A node's home: replica, key, exchange repository. Opening checks the key
 * file's permissions before anything else; init writes the key last, so a
 * home without node.key was never a working node. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "capture_int.h"
#include "log_int.h"
#include "node_int.h"
#include "policy_int.h"
#include "privacy_int.h"
#include "schoolsync/exchange.h"
#include "schoolsync/home.h"
#include "schoolsync/node.h"

struct ssync_node {
	char *home;
	char id[SSYNC_NODE_ID_MAX + 1];
	char district[SSYNC_NODE_ID_MAX + 1];
	char pubhex[2 * SSYNC_PUBKEY_BYTES + 1];
	ssync_store *st;
	ssync_keypair *kp;
	void *cache;
	void (*cache_free)(void *);
};

const char *ssync_node_id(const ssync_node *n) { return n->id; }
const char *ssync_node_district(const ssync_node *n) { return n->district; }
const char *ssync_node_home(const ssync_node *n) { return n->home; }
const char *ssync_node_pubkey_hex(const ssync_node *n) { return n->pubhex; }
ssync_store *ssync_node_store(ssync_node *n) { return n->st; }
const ssync_keypair *ssync_node__keypair(const ssync_node *n) { return n->kp; }
void *ssync_node__cache(const ssync_node *n) { return n->cache; }

void ssync_node__set_cache(ssync_node *n, void *p, void (*free_fn)(void *))
{
	if (n->cache && n->cache_free)
		n->cache_free(n->cache);
	n->cache = p;
	n->cache_free = free_fn;
}

const char *ssync_node_default_actor(void)
{
	const char *a = getenv("SCHOOLSYNC_ACTOR");
	struct passwd *pw;

	if (a && *a)
		return a;
	if ((pw = getpwuid(geteuid())) && pw->pw_name)
		return pw->pw_name;
	return "unknown";
}

static int add_self_peer(ssync_store *st, const char *id, const unsigned char *pk, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "INSERT OR REPLACE INTO ssync_peer(node, pubkey, role, source, added) "
		"VALUES (?, ?, 'school', 'self', strftime('%Y-%m-%dT%H:%M:%SZ','now'))", err);
	int rc;

	if (!q)
		return SSYNC_ERROR;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, pk, SSYNC_PUBKEY_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "record own key");
}

/*
 * A home someone else can write is someone else's node: they could swap
 * the replica, plant a trigger or replace the key. Same rule as the daemon
 * and as sshd for ~/.ssh: a directory we own that no one else can write.
 */
int ssync_sync__home_safe(const char *home, ssync_error *err)
{
	struct stat sb;

	if (stat(home, &sb) != 0)
		return ssync_error_set(err, SSYNC_EIO, "home %s: %s", home, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		ssync_error_set(err, SSYNC_EUNSAFE, "home %s is not a directory", home);
		return SSYNC_EUNSAFE;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		ssync_error_set(err, SSYNC_EUNSAFE, "home %s is %s (mode %04o, owner uid %u): others could change "
			"this node's data and key", home, sb.st_uid != geteuid() ? "owned by another user" :
			(sb.st_mode & S_IWOTH) ? "writable by everyone" : "writable by its group",
			(unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		if (sb.st_uid != geteuid()) {
			/* The usual cause: a home made with sudo (owner root) used by
			 * the daemon's user, or root using the daemon's home. Running
			 * as root is never the fix. */
			struct passwd *pw;
			char mine[64], theirs[64];
			/* getpwuid's result is overwritten by the next call: copy it */
			pw = getpwuid(geteuid());
			snprintf(mine, sizeof(mine), "%s", pw ? pw->pw_name : "USER");
			pw = getpwuid(sb.st_uid);
			snprintf(theirs, sizeof(theirs), "%s", pw ? pw->pw_name : "OWNER");
			if (sb.st_uid == 0)
				ssync_error_hint(err, "the home belongs to root (made with sudo?): give it to the user that runs "
					"schoolsync: sudo chown -R %s: %s (do not run schoolsync as root)", mine, home);
			else if (geteuid() == 0)
				ssync_error_hint(err, "run it as the home's owner, not as root: runuser -u %s -- schoolsync "
					"--home %s ... (or sudo -u %s)", theirs, home, theirs);
			else
				ssync_error_hint(err, "run schoolsync as the home's owner (%s, uid %u), or make the home yours: "
					"sudo chown -R %s: %s", theirs, (unsigned)sb.st_uid, mine, home);
		} else
			ssync_error_hint(err, "run: chmod 700 %s", home);
		return SSYNC_EUNSAFE;
	}
	return 0;
}

static int do_init(const char *home, const char *node_id, const char *district, const char *restore_key,
	unsigned int flags, char *pubkey_hex, ssync_error *err)
{
	char dbpath[4096], keypath[4096], expath[4096];
	ssync_keypair *kp = NULL;
	ssync_store *st = NULL;
	ssync_exchange *ex = NULL;
	struct stat sb;
	int error = 0, made_db = 0;

	if (!district)
		district = "default";
	if (!ssync_ident_node_valid(node_id)) {
		ssync_error_set(err, SSYNC_EINVAL, "invalid node id '%s'", node_id ? node_id : "");
		ssync_error_hint(err, "node ids are 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit (they become git ref and file names)");
		return SSYNC_EINVAL;
	}
	if (!ssync_ident_node_valid(district)) {
		ssync_error_set(err, SSYNC_EINVAL, "invalid district id '%s'", district);
		ssync_error_hint(err, "district ids follow the node id rule: a-z, 0-9 and '-'");
		return SSYNC_EINVAL;
	}
	if ((error = ssync_home_path(dbpath, sizeof(dbpath), home, SSYNC_HOME_REPLICA, err)) < 0 ||
	    (error = ssync_home_path(keypath, sizeof(keypath), home, SSYNC_HOME_KEY, err)) < 0 ||
	    (error = ssync_home_path(expath, sizeof(expath), home, SSYNC_HOME_EXCHANGE, err)) < 0)
		return error;
	if (mkdir(home, 0700) != 0 && errno != EEXIST) {
		ssync_error_set(err, errno == EACCES || errno == EROFS ? SSYNC_EREADONLY : SSYNC_EIO,
			"create home %s: %s", home, strerror(errno));
		return err ? err->code : SSYNC_EIO;
	}
	if ((error = ssync_sync__home_safe(home, err)) < 0)
		return error;
	if (access(keypath, F_OK) == 0) {
		ssync_error_set(err, SSYNC_EEXISTS, "a node already lives in %s (node.key exists)", home);
		ssync_error_hint(err, "use another --home, or keep using this node");
		return SSYNC_EEXISTS;
	}
	if (access(home, W_OK) != 0) {
		ssync_error_set(err, SSYNC_EREADONLY, "home %s is not writable: %s", home, strerror(errno));
		return SSYNC_EREADONLY;
	}
	if (stat(dbpath, &sb) == 0) {
		/* Left by an interrupted init: reuse it only if it holds no entries. */
		int64_t seq = 0;
		if ((error = ssync_store_open(&st, dbpath, 0, err)) < 0)
			return error;
		sqlite3_stmt *q = ssync_store__stmt(st, "SELECT count(*) FROM ssync_entry", err);
		if (!q) {
			error = SSYNC_ERROR;
			goto done;
		}
		if (sqlite3_step(q) != SQLITE_ROW) { /* count(*): always one row */
			error = ssync_store__sqlerr(st, err, "count entries");
			sqlite3_reset(q);
			goto done;
		}
		seq = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (seq > 0) {
			error = ssync_error_set(err, SSYNC_EEXISTS, "%s holds a replica with entries but no node.key", home);
			ssync_error_hint(err, "restore node.key from your backup instead of running init again");
			goto done;
		}
	} else {
		made_db = 1;
		if ((error = ssync_store_open(&st, dbpath, SSYNC_STORE_CREATE, err)) < 0)
			goto done;
	}
	if (restore_key) {
		if ((error = ssync_keys_load(&kp, restore_key, err)) < 0)
			goto done;
	} else if ((error = ssync_keys_generate(&kp, err)) < 0) {
		goto done;
	}
	if ((error = ssync_exchange_open(&ex, expath, 1, err)) < 0)
		goto done;
	/* what we create is ours alone, whatever the umask (the key is 0600 in keys.c) */
	if (chmod(expath, 0700) != 0 || chmod(dbpath, 0600) != 0) {
		error = ssync_error_set(err, SSYNC_EIO, "restrict modes in %s: %s", home, strerror(errno));
		goto done;
	}
	if ((error = ssync_store_begin(st, err)) < 0)
		goto done;
	if ((error = ssync_store_meta_set(st, "node_id", node_id, err)) < 0 ||
	    (error = ssync_store_meta_set(st, "district", district, err)) < 0 ||
	    (error = add_self_peer(st, node_id, ssync_keys_public(kp), err)) < 0 ||
	    (restore_key && !(flags & SSYNC_RESTORE_NEVER_PUBLISHED) &&
	     (error = ssync_store_meta_set(st, "recovering", "1", err)) < 0) ||
	    (error = ssync_store_commit(st, err)) < 0) {
		ssync_store_rollback(st);
		goto done;
	}
	if ((error = ssync_store_make_durable(st, err)) < 0)
		goto done;
	/* the encryption key before node.key: a home with node.key is whole */
	if ((error = ssync_privacy__init_home(home, err)) < 0)
		goto done;
	if ((error = ssync_keys_save(kp, keypath, err)) < 0)
		goto done;
	if (pubkey_hex)
		ssync_hex_encode(pubkey_hex, ssync_keys_public(kp), SSYNC_PUBKEY_BYTES);
done:
	ssync_exchange_free(ex);
	ssync_store_free(st);
	ssync_keys_free(kp);
	if (error < 0 && made_db) {
		char side[4200];
		(void)unlink(dbpath);
		snprintf(side, sizeof(side), "%s-wal", dbpath);
		(void)unlink(side);
		snprintf(side, sizeof(side), "%s-shm", dbpath);
		(void)unlink(side);
	}
	return error;
}

int ssync_node_init(const char *home, const char *node_id, const char *district, char *pubkey_hex, ssync_error *err)
{
	return do_init(home, node_id, district, NULL, 0, pubkey_hex, err);
}

int ssync_node_restore(const char *home, const char *node_id, const char *district,
	const char *key_path, unsigned int flags, char *pubkey_hex, ssync_error *err)
{
	if (!key_path)
		return ssync_error_set(err, SSYNC_EINVAL, "restoring a node needs its key file");
	return do_init(home, node_id, district, key_path, flags, pubkey_hex, err);
}

int ssync_node_recovering(ssync_node *n)
{
	char *v = NULL;
	int r = ssync_store_meta_get(n->st, "recovering", &v, NULL) == 0 && v && strcmp(v, "1") == 0;

	free(v);
	return r;
}

/* Entries judged under other policy rules (an older program) are judged
 * again, so a replica never keeps a decision today's rules would not make. */
static int rejudge(ssync_store *st, ssync_error *err)
{
	ssync_trust_rebuild_report rep;
	char *v = NULL;
	int error, same;

	if (!ssync_trust_managed(st))
		return 0;
	error = ssync_store_meta_get(st, "policy_version", &v, err);
	if (error < 0 && error != SSYNC_ENOTFOUND)
		return error;
	same = v && strcmp(v, SSYNC_POLICY__VERSION) == 0;
	free(v);
	if (same)
		return 0;
	if (err && error == SSYNC_ENOTFOUND)
		ssync_error_clear(err);
	if (ssync_trust__need_rebuild(st))
		return ssync_trust_rebuild(st, &rep, err);
	return ssync_store_meta_set(st, "policy_version", SSYNC_POLICY__VERSION, err);
}

int ssync_node_open(ssync_node **out, const char *home, int flags, ssync_error *err)
{
	char dbpath[4096], keypath[4096], *v = NULL;
	ssync_node *n = NULL;
	int error = 0;

	*out = NULL;
	if ((error = ssync_home_path(dbpath, sizeof(dbpath), home, SSYNC_HOME_REPLICA, err)) < 0 ||
	    (error = ssync_home_path(keypath, sizeof(keypath), home, SSYNC_HOME_KEY, err)) < 0)
		return error;
	if (access(dbpath, F_OK) != 0) {
		ssync_error_set(err, SSYNC_ENOTFOUND, "no node in %s (replica.db missing)", home);
		ssync_error_hint(err, "create one with: schoolsync --home %s init --node ID", home);
		return SSYNC_ENOTFOUND;
	}
	if ((error = ssync_sync__home_safe(home, err)) < 0)
		return error;
	if (!(n = calloc(1, sizeof(*n))) || !(n->home = strdup(home))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	if (access(home, W_OK) != 0 && errno == EROFS) {
		error = ssync_error_set(err, SSYNC_EREADONLY, "home %s is on a read-only file system", home);
		ssync_error_hint(err, "remount it read-write, or copy the home to writable storage");
		goto done;
	}
	if (!(flags & SSYNC_NODE_READONLY)) {
		ssync_error kerr;
		ssync_error_clear(&kerr);
		error = ssync_keys_load(&n->kp, keypath, &kerr);
		if (error == SSYNC_ENOTFOUND && (flags & SSYNC_NODE_KEY_OPTIONAL)) {
			error = 0; /* reads still work; writes will say the key is missing */
		} else if (error < 0) {
			if (err && err->code == 0)
				*err = kerr;
			goto done;
		}
	}
	if ((error = ssync_store_open(&n->st, dbpath, 0, err)) < 0)
		goto done;
	if ((error = ssync_store_meta_get(n->st, "node_id", &v, err)) < 0) {
		if (error == SSYNC_ENOTFOUND)
			error = ssync_error_set(err, SSYNC_ECORRUPT, "replica in %s has no node id", home);
		goto done;
	}
	snprintf(n->id, sizeof(n->id), "%s", v);
	free(v);
	v = NULL;
	if ((error = ssync_store_meta_get(n->st, "district", &v, err)) < 0)
		goto done;
	snprintf(n->district, sizeof(n->district), "%s", v);
	{
		unsigned char pk[SSYNC_PUBKEY_BYTES];
		if ((error = ssync_log__peer_key(n->st, n->id, pk, err)) < 0)
			goto done;
		/* Managed, the newest certificate may name another key: a new home
		 * waiting for its re-enrolment, or a retired one (TRUST.md §5a). It
		 * opens; the writer's check refuses what it may not sign. */
		if (n->kp && sodium_memcmp(pk, ssync_keys_public(n->kp), SSYNC_PUBKEY_BYTES) != 0 &&
		    !ssync_trust_managed(n->st)) {
			error = ssync_error_set(err, SSYNC_ECERT, "node.key in %s does not belong to node %s", home, n->id);
			ssync_error_hint(err, "restore the right key file for this node");
			goto done;
		}
		ssync_hex_encode(n->pubhex, n->kp ? ssync_keys_public(n->kp) : pk, SSYNC_PUBKEY_BYTES);
	}
	if (!(flags & SSYNC_NODE_READONLY) && (error = rejudge(n->st, err)) < 0)
		goto done;
	*out = n;
	n = NULL;
done:
	free(v);
	ssync_node_free(n);
	return error;
}

int ssync_node__exchange_open(ssync_node *n, int create, ssync_exchange **ex, ssync_error *err)
{
	char path[4096];
	int error;

	*ex = NULL;
	if ((error = ssync_home_path(path, sizeof(path), n->home, SSYNC_HOME_EXCHANGE, err)) < 0)
		return error;
	return ssync_exchange_open(ex, path, create, err);
}

void ssync_node_free(ssync_node *n)
{
	if (!n)
		return;
	if (n->cache && n->cache_free)
		n->cache_free(n->cache);
	ssync_store_free(n->st);
	ssync_keys_free(n->kp);
	free(n->home);
	free(n);
}

/* The hub's documented override of the writer's witnessed-time check
 * (docs/OPERATIONS.md "Clock refused"); capture honours it for role hub only. */
static int hub_clock_override(void)
{
	const char *v = getenv("SCHOOLSYNC_HUB_CLOCK_OVERRIDE");

	return v && strcmp(v, "1") == 0;
}

int ssync_node_sql_bound(ssync_node *n, const char *sql, int nparams, const char *const *params,
	const char *actor, ssync_row_cb cb, void *payload, ssync_write_result *res, ssync_error *err)
{
	return ssync_node_sql_checked(n, sql, nparams, params, actor, cb, payload, NULL, NULL, res, err);
}

int ssync_node_sql_checked(ssync_node *n, const char *sql, int nparams, const char *const *params,
	const char *actor, ssync_row_cb cb, void *payload, ssync_write_check_cb check, void *check_payload,
	ssync_write_result *res, ssync_error *err)
{
	ssync_signer who = { n->id, n->district, n->kp, actor ? actor : ssync_node_default_actor(), &ssync_policy__writer,
		hub_clock_override(), check, check_payload };
	ssync_write_result local;

	if (!res)
		res = &local;
	if (strlen(who.actor) > 256)
		return ssync_error_set(err, SSYNC_EINVAL, "actor name longer than 256 bytes");
	return ssync_capture__exec(n->st, &who, sql, nparams, params, cb, payload, res, err);
}

int ssync_node_write_cell(ssync_node *n, const char *table, const char *pk, const char *column,
	const char *value, const char *actor, ssync_write_result *res, ssync_error *err)
{
	ssync_signer who = { n->id, n->district, n->kp, actor ? actor : ssync_node_default_actor(), &ssync_policy__writer,
		hub_clock_override(), NULL, NULL };
	ssync_capture_force force = { table, pk, column };
	ssync_write_result local;
	const char *params[2] = { pk, value };
	char *sql;
	int error;

	if (!res)
		res = &local;
	if (strlen(who.actor) > 256)
		return ssync_error_set(err, SSYNC_EINVAL, "actor name longer than 256 bytes");
	if (!table || !column || !pk || !ssync_store_is_table(n->st, table))
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	/* %w quotes the identifiers; the table is a registered one, the
	 * column is checked against the registry by the capture. */
	if (!(sql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = ?2 WHERE id = ?1", table, column)))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	error = ssync_capture__exec_force(n->st, &who, sql, 2, params, &force, res, err);
	sqlite3_free(sql);
	if (error == 0 && res->rows == 0)
		error = ssync_error_set(err, SSYNC_ENOTFOUND, "no %s %s", table, pk);
	return error;
}

int ssync_node_sql(ssync_node *n, const char *sql, const char *actor, ssync_row_cb cb,
	void *payload, ssync_write_result *res, ssync_error *err)
{
	return ssync_node_sql_bound(n, sql, 0, NULL, actor, cb, payload, res, err);
}

int ssync_node_state_hash(ssync_node *n, char hex[65], ssync_error *err)
{
	return ssync_store_state_hash(n->st, hex, err);
}
