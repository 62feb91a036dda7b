#ifndef SSYNC_PRIVACY_PRIV_H
#define SSYNC_PRIVACY_PRIV_H

/* Shared by privacy.c, privseal.c, keysync.c and keypurge.c only. */
#include <sqlite3.h>

#include "keystore_int.h"
#include "schoolsync/cellcrypt.h"
#include "schoolsync/exchange.h"
#include "schoolsync/keys.h"
#include "schoolsync/node.h"
#include "store_int.h"

typedef struct ssync_reader {
	char node[SSYNC_NODE_ID_MAX + 1];
	unsigned char pk[SSYNC_ENCKEY_BYTES];
} ssync_reader;

typedef struct ssync_readers {
	ssync_reader *v;
	int n, cap;
} ssync_readers;

/* One school's readers as read from the certificates: @p base the hubs and
 * the school's own nodes, @p auditors every auditor with an encryption key
 * (whether the hub granted it this school is asked of keys.db at each use,
 * so a grant or its withdrawal needs no invalidation). */
typedef struct ssync_rcache {
	char school[SSYNC_NODE_ID_MAX + 1];
	ssync_readers base, auditors;
} ssync_rcache;

/* What a node keeps for its private rows between calls (ssync_node__cache):
 * the keys.db connection, statements prepared once, and the readers per
 * school (privseal.c), valid while the trust tables are unchanged: this
 * connection's trust epoch and the replica's data_version (other
 * connections' commits) are what they were when the readers were read. */
typedef struct ssync_privacy_state {
	sqlite3 *kdb;
	sqlite3_stmt *key_get, *key_ins, *grant_get, *key_drop;
	ssync_rcache *rc;
	int nrc, caprc, rc_ok;
	unsigned long trust_epoch;
	int64_t data_version;
} ssync_privacy_state;

/* The node's privacy state (keys.db opened on first use, closed with the node). */
int ssync_privacy__state(ssync_node *n, ssync_privacy_state **out, ssync_error *err);
/* The node's keys.db connection (its state's); release is a no-op kept so
 * every use reads as a pair. */
int ssync_privacy__kdb_open(ssync_node *n, sqlite3 **out, ssync_error *err);
void ssync_privacy__kdb_release(sqlite3 *db);
int ssync_privacy__kdb_err(sqlite3 *db, ssync_error *err, const char *what);
int ssync_privacy__kdb_exec(sqlite3 *db, const char *sql, ssync_error *err);
/* Step a statement that returns no row, then reset it; @p what names it in the error. */
int ssync_privacy__kdb_step(sqlite3 *db, sqlite3_stmt *q, ssync_error *err, const char *what);
/* Empty keys.db's WAL after keys were deleted (best effort). */
void ssync_privacy__kdb_scrub(sqlite3 *db);
/* The node's current encryption key and the previous one (may be NULL). */
int ssync_privacy__enckeys(ssync_node *n, ssync_enckey **cur, ssync_enckey **old, ssync_error *err);
/* Open a key store box with @p cur, else @p old (may be NULL): 1 if opened. */
int ssync_privacy__open_box(ssync_enckey *cur, ssync_enckey *old, unsigned char *key, const unsigned char *box);
/* Take a store's erasure notices and, when @p is_hub, its grants (replacing
 * the ones held) into keys.db, inside the caller's transaction (keysync.c). */
int ssync_privacy__take_notices(sqlite3 *kdb, const ssync_keystore *ks, int is_hub, ssync_error *err);
/* Every reader of @p school's rows, read afresh (privseal.c). */
int ssync_privacy__readers(ssync_store *st, sqlite3 *kdb, const char *school, ssync_readers *out, ssync_error *err);
void ssync_privacy__readers_free(ssync_readers *r);
/* "node:<16 hex of its enckey>": a reader as data_key.readers records it
 * (@p len >= SSYNC_NODE_ID_MAX + 20; privseal.c). */
void ssync_privacy__reader_token(const ssync_reader *r, char *out, size_t len);
/* Note in keys.db (meta 'purge') that the store at @p old_tip, which
 * @p now replaces here, carried a kid @p now lacks: its objects must go
 * (keypurge.c). */
int ssync_privacy__note_replaced(ssync_exchange *ex, sqlite3 *kdb, const ssync_oid_hex *old_tip,
	const ssync_keystore *now, ssync_error *err);
/* Drop the cached readers (privacy.c, when the state is freed or stale). */
void ssync_privacy__rcache_clear(ssync_privacy_state *ps);
/* Does @p key open the cell @p v of table.col of @p pk? (the AEAD tag decides) */
int ssync_privacy__key_opens(const unsigned char *key, const char *table, const char *pk, const char *col,
	const char *v, size_t len);
/* A school's erasures (its store's "erased"): recorded as requests, then
 * honoured for the keys of that school held here (keyerase.c). */
int ssync_privacy__erase_requests(ssync_node *n, sqlite3 *kdb, const ssync_keystore *ks, ssync_error *err);
int ssync_privacy__erase_resolve(ssync_node *n, sqlite3 *kdb, ssync_error *err);

/* keyrecover.c: this node's own key store read back (PRIVACY.md §8). */
struct ssync_keystore;
/* Take our own store @p ks, a copy we do not hold (restored home, or
 * another home of this node): the data keys sealed to us come back as
 * origin 'recovered', the ones we cannot open are carried; a hub takes
 * its erasures and grants back. @p is_hub -1: a store our key before a
 * re-enrolment signed: it only adds. In one keys.db transaction. */
int ssync_privacy__take_own(ssync_node *n, sqlite3 *kdb, const struct ssync_keystore *ks, int is_hub, ssync_error *err);
/* A hub's re-sealed copies (privacy reseal) of @p owner's keys that
 * @p owner's store, just applied, no longer holds: the owner erased them. */
int ssync_privacy__drop_adopted(ssync_node *n, sqlite3 *kdb, const char *owner, ssync_error *err);
/* Carried boxes to us that a key we now hold (enc.key.old) opens. */
int ssync_privacy__reclaim(ssync_node *n, sqlite3 *kdb, ssync_error *err);
/* Append the carried kids to @p ks (wraps of current readers only) and
 * hash them into @p h (crypto_generichash_state *). */
int ssync_privacy__add_carried(ssync_node *n, sqlite3 *kdb, struct ssync_keystore *ks, void *h, ssync_error *err);

#endif
