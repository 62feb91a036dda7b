/*
 * Erasure reaches git's objects too (docs/PRIVACY.md §4): a replaced key
 * store's older versions stay in a home's object database (and behind
 * remote tracking refs) until pruned, each still sealing every data key it
 * carried -- an erased one too -- to readers whose X25519 secrets sit in
 * the same home. When a store that dropped keys replaces an older one
 * here, keys.db notes it (meta 'purge'); at the end of the sync the refs
 * that still name older stores go and every unreachable object with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore_int.h"
#include "schoolsync/home.h"
#include "privacy_int.h"
#include "privacy_priv.h"

#define KEYS_REF "refs/heads/keys/"

static int set_flag(sqlite3 *kdb, const char *v, ssync_error *err)
{
	sqlite3_stmt *q = NULL;
	int error = 0;

	if (sqlite3_prepare_v2(kdb, "INSERT OR REPLACE INTO meta(k, v) VALUES ('purge', ?)", -1, &q, NULL) != SQLITE_OK)
		return ssync_privacy__kdb_err(kdb, err, "note a purge");
	sqlite3_bind_text(q, 1, v, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		error = ssync_privacy__kdb_err(kdb, err, "note a purge");
	sqlite3_finalize(q);
	return error;
}

int ssync_privacy__note_replaced(ssync_exchange *ex, sqlite3 *kdb, const ssync_oid_hex *old_tip,
	const ssync_keystore *now, ssync_error *err)
{
	ssync_keystore old;
	void *data = NULL;
	size_t len = 0;
	int i = 0, j = 0, dropped = 0;

	if (!old_tip || !old_tip->hex[0])
		return 0;
	memset(&old, 0, sizeof(old));
	/* an unreadable old copy: purge anyway, it may hold anything */
	if (ssync_exchange_read_single(ex, old_tip, SSYNC_KEYSTORE_FILE, SSYNC_KEYSTORE_MAX, &data, &len, NULL) < 0 ||
	    ssync_keystore__parse(&old, data, len, NULL) < 0) {
		dropped = 1;
	} else {
		/* both sorted by kid: a kid of the old store missing from the new */
		while (i < old.nkeys && !dropped) {
			int c = j < now->nkeys ? strcmp(old.keys[i].kid, now->keys[j].kid) : -1;
			if (c < 0)
				dropped = 1;
			else if (c == 0)
				i++, j++;
			else
				j++;
		}
	}
	free(data);
	ssync_keystore__clear(&old);
	return dropped ? set_flag(kdb, "1", err) : 0;
}

typedef struct stale {
	ssync_exchange *ex;
	char **refs;
	int n, cap;
	int oom;
} stale;

static int add_ref(stale *s, const char *ref)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 16;
		void *v = realloc(s->refs, (size_t)cap * sizeof(*s->refs));
		if (!v)
			return -1;
		s->refs = v;
		s->cap = cap;
	}
	if (!(s->refs[s->n] = strdup(ref)))
		return -1;
	s->n++;
	return 0;
}

/* refs/remotes/<r>/keys/<node> naming anything but our own store of
 * <node>: an older copy on that remote (we pushed ours, or will next time
 * after fetching it again) or one it refused. */
static int collect_tracking(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	stale *s = payload;
	const char *k = strstr(ref + strlen("refs/remotes/"), "/keys/");
	char local[200];
	ssync_oid_hex mine;

	if (!k)
		return 0;
	snprintf(local, sizeof(local), KEYS_REF "%s", k + strlen("/keys/"));
	if (ssync_exchange_ref_tip(s->ex, local, &mine, NULL) == 0 && strcmp(mine.hex, tip->hex) == 0)
		return 0;
	if (add_ref(s, ref) < 0) {
		s->oom = 1;
		return -1;
	}
	return 0;
}

/* refs/ssync/bad-keys/...: refused stores (a forged one can be an old
 * genuine store with a changed version: it still holds the old boxes). */
static int collect_all(const char *ref, const ssync_oid_hex *tip, void *payload)
{
	stale *s = payload;

	(void)tip;
	if (add_ref(s, ref) < 0) {
		s->oom = 1;
		return -1;
	}
	return 0;
}

int ssync_privacy__purge(ssync_node *n, ssync_exchange *ex, ssync_error *err)
{
	char path[4096];
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;
	stale s = { ex, NULL, 0, 0, 0 };
	size_t removed = 0;
	int i, error, want = 0;

	if ((error = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_KEYSDB, err)) < 0)
		return error;
	if (access(path, F_OK) != 0)
		return 0; /* no private row written or read here */
	if ((error = ssync_privacy__kdb_open(n, &kdb, err)) < 0)
		return error;
	if (sqlite3_prepare_v2(kdb, "SELECT v FROM meta WHERE k='purge'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		want = strcmp((const char *)sqlite3_column_text(q, 0), "1") == 0;
	sqlite3_finalize(q);
	if (!want)
		goto done;
	if ((error = ssync_exchange_refs(ex, "refs/remotes/", collect_tracking, &s, err)) < 0 ||
	    (error = ssync_exchange_refs(ex, "refs/ssync/bad-keys/", collect_all, &s, err)) < 0) {
		if (s.oom)
			error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < s.n && !error; i++)
		error = ssync_exchange_ref_delete(ex, s.refs[i], err);
	if (error < 0 || (error = ssync_exchange_purge(ex, &removed, err)) < 0) {
		ssync_error_hint(err, "the exchange itself is done; old key stores stay in this home's exchange.git "
			"until a sync can drop them (PRIVACY.md §4): check the disk, then sync again");
		goto done;
	}
	error = set_flag(kdb, "0", err);
done:
	for (i = 0; i < s.n; i++)
		free(s.refs[i]);
	free(s.refs);
	ssync_privacy__kdb_release(kdb);
	return error;
}
