/* Read-only status of a node's replica: own head, what is exported, what is
 * pending, conflict and quarantine counts, freshness of the other nodes.
 *
 * Invariants: nothing here writes (the store is opened SSYNC_STORE_READONLY,
 * no key is loaded); every read of ssync_status_read happens in one read
 * transaction so the numbers agree with each other. Workload: a handful of
 * indexed lookups plus two count(*) scans of small tables; the daemon calls
 * it once per status request from a worker thread, and the watcher once a
 * second, which costs one PRAGMA when nothing was committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "schoolsync/hlc.h"
#include "schoolsync/home.h"
#include "schoolsync/status.h"
#include "schoolsync/timefmt.h"
#include "schoolsync/trust.h"
#include "schoolsync/witness.h"
#include "lost_int.h"
#include "store_int.h"
#include "sync_int.h"

static const char SQL_HEAD[] =
	"SELECT coalesce(max(seq), 0) FROM ssync_entry WHERE node = ?1";
static const char SQL_CONFLICTS[] = "SELECT count(*) FROM ssync_conflict";
static const char SQL_QUARANTINE[] = "SELECT count(*) FROM ssync_quarantine";
/* Nodes we heard from, then enrolled peers we never heard from; never us.
 * Role and school only when a certificate says so (a TOFU pin's role is a
 * placeholder, docs/TRUST.md §1). */
static const char SQL_NODES[] =
	"SELECT s.node, s.last_seq, s.last_received, p.role, p.school_id FROM ssync_node_seen s "
	"LEFT JOIN ssync_peer p ON p.node = s.node AND p.source = 'cert' WHERE s.node <> ?1 "
	"UNION ALL "
	"SELECT node, 0, '', CASE WHEN source = 'cert' THEN role END, school_id FROM ssync_peer WHERE node <> ?1 "
	"AND node NOT IN (SELECT node FROM ssync_node_seen) "
	"ORDER BY 1";
/* This node's newest certificate (docs/TRUST.md §2) and any revocation. */
static const char SQL_OWN_CERT[] =
	"SELECT serial, role, school_id, valid_until FROM ssync_cert WHERE node = ?1 "
	"ORDER BY serial DESC LIMIT 1";
static const char SQL_OWN_REVOKED[] = "SELECT 1 FROM ssync_revocation WHERE node = ?1 LIMIT 1";
/* Where our next write's HLC starts (capture.c): our own last entry... */
static const char SQL_OWN_HLC[] = "SELECT hlc FROM ssync_entry WHERE node = ?1 ORDER BY seq DESC LIMIT 1";
/* ...and which applied entry carries it. No index on hlc (it would cost
 * every write a page): a scan, run only when the clock is ahead. */
static const char SQL_CLOCK_BY[] = "SELECT node, seq FROM ssync_entry WHERE hlc = ?1 AND state = 1 LIMIT 1";

static int open_replica(ssync_store **out, const char *home, ssync_error *err)
{
	char path[4096];
	struct stat sb;

	*out = NULL;
	if (ssync_home_path(path, sizeof(path), home, SSYNC_HOME_REPLICA, err) < 0)
		return SSYNC_EINVAL;
	if (stat(path, &sb) != 0) {
		ssync_error_set(err, errno == ENOENT ? SSYNC_ENOTFOUND : SSYNC_EIO,
			"no node in %s (%s: %s)", home, path, strerror(errno));
		ssync_error_hint(err, "create one with: schoolsync --home %s init --node ID", home);
		return err ? err->code : SSYNC_ENOTFOUND;
	}
	if (ssync_sync__home_safe(home, err) < 0)
		return err ? err->code : SSYNC_EUNSAFE;
	return ssync_store_open(out, path, SSYNC_STORE_READONLY, err);
}

static int count(ssync_store *st, const char *sql, const char *what, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, sql, err);
	int rc;

	if (!q)
		return err && err->code ? err->code : SSYNC_ERROR;
	rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : ssync_store__sqlerr(st, err, what);
}

static int own_head(ssync_store *st, const char *node, int64_t *out, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, SQL_HEAD, err);
	int rc;

	if (!q)
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : ssync_store__sqlerr(st, err, "read own head");
}

static int read_nodes(ssync_store *st, ssync_status *s, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, SQL_NODES, err);
	size_t cap = 0;
	int rc;

	if (!q)
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, s->node_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *when = (const char *)sqlite3_column_text(q, 2);
		ssync_status_node *nd;

		if (s->nnodes == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			ssync_status_node *nn = realloc(s->nodes, ncap * sizeof(*nn));
			if (!nn) {
				sqlite3_reset(q);
				return ssync_error_set(err, SSYNC_ERROR, "out of memory");
			}
			s->nodes = nn;
			cap = ncap;
		}
		nd = &s->nodes[s->nnodes++];
		memset(nd, 0, sizeof(*nd));
		snprintf(nd->node, sizeof(nd->node), "%s", id ? id : "");
		nd->last_seq = sqlite3_column_int64(q, 1);
		snprintf(nd->last_received, sizeof(nd->last_received), "%s", when ? when : "");
		snprintf(nd->role, sizeof(nd->role), "%s", sqlite3_column_text(q, 3) ? (const char *)sqlite3_column_text(q, 3) : "");
		snprintf(nd->school_id, sizeof(nd->school_id), "%s",
			sqlite3_column_text(q, 4) ? (const char *)sqlite3_column_text(q, 4) : "");
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read node freshness");
}

/* Remotes that refuse our own branch (sync.c records them, meta
 * push_rejected:<remote>, until a push gets through). */
static int read_push_problems(ssync_store *st, ssync_status *s, ssync_error *err)
{
	sqlite3_stmt *q = ssync_store__stmt(st, "SELECT value FROM ssync_meta WHERE key >= 'push_rejected:' "
		"AND key < 'push_rejected;' ORDER BY key", err);
	int rc;

	if (!q)
		return err && err->code ? err->code : SSYNC_ERROR;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		json_t *o = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
		ssync_status_push *p, *nn;
		if (!o)
			continue; /* not ours to judge; sync rewrites it next round */
		if (!(nn = realloc(s->push_rejected, (s->npush_rejected + 1) * sizeof(*nn)))) {
			json_decref(o);
			sqlite3_reset(q);
			return ssync_error_set(err, SSYNC_ERROR, "out of memory");
		}
		s->push_rejected = nn;
		p = &nn[s->npush_rejected++];
		memset(p, 0, sizeof(*p));
#define PCOPY(f, k) snprintf(p->f, sizeof(p->f), "%s", json_string_value(json_object_get(o, k)) ? \
	json_string_value(json_object_get(o, k)) : "")
		PCOPY(remote, "remote");
		PCOPY(code, "code");
		PCOPY(message, "message");
		PCOPY(hint, "hint");
		PCOPY(at, "at");
#undef PCOPY
		json_decref(o);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "read push problems");
}

/* Managed or not, and what this node's own certificate says. */
static int read_trust(ssync_store *st, ssync_status *s, ssync_error *err)
{
	sqlite3_stmt *q;
	int rc;

	s->managed = ssync_trust_managed(st);
	if (!(q = ssync_store__stmt(st, SQL_OWN_CERT, err)))
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, s->node_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		s->enrolled = 1;
		s->cert_serial = sqlite3_column_int64(q, 0);
		snprintf(s->role, sizeof(s->role), "%s", sqlite3_column_text(q, 1) ? (const char *)sqlite3_column_text(q, 1) : "");
		snprintf(s->school_id, sizeof(s->school_id), "%s",
			sqlite3_column_text(q, 2) ? (const char *)sqlite3_column_text(q, 2) : "");
		s->cert_valid_until = sqlite3_column_int64(q, 3);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read own certificate");
	if (!(q = ssync_store__stmt(st, SQL_OWN_REVOKED, err)))
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, s->node_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	s->revoked = rc == SQLITE_ROW;
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read own revocation");
	return 0;
}

/* Our HLC against this PC's clock: a report for the clerk and the hub, never
 * an input to any decision (docs/TRUST.md §4, "Clocks far ahead"). */
static int read_clock(ssync_store *st, ssync_status *s, const char *meta_hlc, ssync_error *err)
{
	uint64_t h = meta_hlc[0] ? strtoull(meta_hlc, NULL, 10) : 0, own = 0, now = ssync_hlc_wall_ms();
	sqlite3_stmt *q;
	int rc;

	if (h > SSYNC_HLC_MAX)
		h = 0; /* from before the range existed: capture.c ignores it too */
	if (!(q = ssync_store__stmt(st, SQL_OWN_HLC, err)))
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_text(q, 1, s->node_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		own = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ssync_store__sqlerr(st, err, "read own clock");
	if (own > h)
		h = own;
	if (ssync_hlc_ms(h) <= now || ssync_hlc_ms(h) - now <= (uint64_t)SSYNC_STATUS_CLOCK_AHEAD_MS)
		return 0;
	s->clock_hlc = h;
	s->clock_ahead_ms = (int64_t)(ssync_hlc_ms(h) - now);
	if (!(q = ssync_store__stmt(st, SQL_CLOCK_BY, err)))
		return err && err->code ? err->code : SSYNC_ERROR;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)h);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		snprintf(s->clock_by, sizeof(s->clock_by), "%s", (const char *)sqlite3_column_text(q, 0));
		s->clock_by_seq = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ssync_store__sqlerr(st, err, "find the entry carrying the clock");
}

static int meta_copy(ssync_store *st, const char *key, char *buf, size_t n, int required, ssync_error *err)
{
	char *v = NULL;
	int error = ssync_store_meta_get(st, key, &v, err);

	if (error == SSYNC_ENOTFOUND && !required) {
		buf[0] = 0;
		return 0;
	}
	if (error == SSYNC_ENOTFOUND)
		return ssync_error_set(err, SSYNC_ECORRUPT, "replica has no %s", key);
	if (error < 0)
		return error;
	snprintf(buf, n, "%s", v);
	free(v);
	return 0;
}

/* keys.db read-only, if there is one: our own data keys sealed to an
 * encryption key we lack (keyrecover.c). A report: a keys.db that cannot
 * be read here shows 0 (sync and student-archive say why). */
static void sealed_elsewhere(const char *home, ssync_status *s)
{
	char path[4096];
	sqlite3 *kdb = NULL;
	sqlite3_stmt *q = NULL;

	if (ssync_home_path(path, sizeof(path), home, SSYNC_HOME_KEYSDB, NULL) < 0 || access(path, F_OK) != 0)
		return;
	if (sqlite3_open_v2(path, &kdb, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(kdb, "SELECT count(DISTINCT kid) FROM carried c WHERE node=? AND NOT EXISTS (SELECT 1 FROM data_key d WHERE d.kid=c.kid)", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, s->node_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			s->keys_sealed_elsewhere = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	sqlite3_close(kdb);
}

int ssync_status_read(ssync_status **out, const char *home, ssync_error *err)
{
	ssync_store *st = NULL;
	ssync_status *s = NULL;
	sqlite3 *db;
	char exported[32], recovering[8], hlc[32];
	int error = 0, in_tx = 0;

	*out = NULL;
	if ((error = open_replica(&st, home, err)) < 0)
		goto done;
	if (!(s = calloc(1, sizeof(*s)))) {
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory");
		goto done;
	}
	db = ssync_store__db(st);
	/* A deferred read transaction: one WAL snapshot for every number below. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		error = ssync_store__sqlerr(st, err, "begin read");
		goto done;
	}
	in_tx = 1;
	if ((error = meta_copy(st, "node_id", s->node_id, sizeof(s->node_id), 1, err)) < 0 ||
	    (error = meta_copy(st, "district", s->district, sizeof(s->district), 0, err)) < 0 ||
	    (error = meta_copy(st, "exported_seq", exported, sizeof(exported), 0, err)) < 0 ||
	    (error = meta_copy(st, "recovering", recovering, sizeof(recovering), 0, err)) < 0 ||
	    (error = meta_copy(st, "rollback", s->rollback, sizeof(s->rollback), 0, err)) < 0 ||
	    (error = meta_copy(st, "hlc", hlc, sizeof(hlc), 0, err)) < 0 ||
	    (error = own_head(st, s->node_id, &s->head_seq, err)) < 0 ||
	    (error = count(st, SQL_CONFLICTS, "count conflicts", &s->conflicts, err)) < 0 ||
	    (error = count(st, SQL_QUARANTINE, "count quarantine", &s->quarantined, err)) < 0 ||
	    (error = read_nodes(st, s, err)) < 0 ||
	    (error = read_push_problems(st, s, err)) < 0 ||
	    (error = read_trust(st, s, err)) < 0)
		goto done;
	s->exported_seq = exported[0] ? strtoll(exported, NULL, 10) : 0;
	s->recovering = strcmp(recovering, "1") == 0;
	if ((error = read_clock(st, s, hlc, err)) < 0)
		goto done;
	{
		/* A replica opened read-only before its first read-write open
		 * since the upgrade has no checkpoint tables yet: none held. */
		ssync_error werr;
		ssync_error_clear(&werr);
		if (ssync_witness_info_get(st, &s->witness, &werr) < 0)
			memset(&s->witness, 0, sizeof(s->witness));
		/* own entries that will never apply and wait for `reenter`: a
		 * report, so a replica that cannot tell shows none */
		ssync_error_clear(&werr);
		if (ssync_lost__pending(st, s->node_id, &s->reenter, &werr) < 0)
			s->reenter = 0;
	}
	sealed_elsewhere(home, s);
	if (s->exported_seq < 0)
		s->exported_seq = 0;
	s->pending = s->head_seq > s->exported_seq ? s->head_seq - s->exported_seq : 0;
	*out = s;
	s = NULL;
done:
	if (in_tx)
		(void)sqlite3_exec(ssync_store__db(st), "COMMIT", NULL, NULL, NULL); /* read-only: nothing to lose */
	ssync_status_free(s);
	ssync_store_free(st);
	return error;
}

void ssync_status_free(ssync_status *s)
{
	if (!s)
		return;
	free(s->nodes);
	free(s->push_rejected);
	free(s);
}

static json_t *str_or_null(const char *v)
{
	return v && v[0] ? json_string(v) : json_null();
}

char *ssync_status_json(const ssync_status *s)
{
	json_t *o, *arr;
	char *out = NULL, until[32];
	size_t i;

	if (!(arr = json_array()))
		return NULL;
	for (i = 0; i < s->nnodes; i++) {
		const ssync_status_node *nd = &s->nodes[i];
		/* Every value code paired with its key: a missing one makes
		 * json_pack fail, and the node would silently vanish. */
		json_t *e = json_pack("{sssIsososo}", "node", nd->node, "last_seq", (json_int_t)nd->last_seq,
			"last_received", str_or_null(nd->last_received), "role", str_or_null(nd->role),
			"school", str_or_null(nd->school_id));
		if (!e || json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	until[0] = 0;
	if (s->cert_valid_until > 0)
		(void)ssync_time_utc(s->cert_valid_until, 0, until, sizeof(until));
	o = json_pack("{sssssIsIsIsIsIsbsbsbsososososbso}", "node", s->node_id, "district", s->district,
		"head_seq", (json_int_t)s->head_seq, "exported_seq", (json_int_t)s->exported_seq,
		"pending", (json_int_t)s->pending, "conflicts", (json_int_t)s->conflicts,
		"quarantined", (json_int_t)s->quarantined, "managed", s->managed, "enrolled", s->enrolled,
		"revoked", s->revoked, "role", str_or_null(s->role), "school", str_or_null(s->school_id),
		"cert_serial", s->cert_serial > 0 ? json_integer((json_int_t)s->cert_serial) : json_null(),
		"cert_valid_until", str_or_null(until), "recovering", s->recovering,
		"rollback", str_or_null(s->rollback));
	if (o && json_object_set_new(o, "keys_sealed_elsewhere", json_integer((json_int_t)s->keys_sealed_elsewhere)) != 0) {
		json_decref(o);
		o = NULL;
	}
	{
		json_t *pr = json_array();
		for (i = 0; pr && i < s->npush_rejected; i++) {
			const ssync_status_push *p = &s->push_rejected[i];
			if (json_array_append_new(pr, json_pack("{sssssssoso}", "remote", p->remote, "code", p->code,
				"message", p->message, "hint", str_or_null(p->hint), "at", str_or_null(p->at))) != 0) {
				json_decref(pr);
				pr = NULL;
			}
		}
		if (!pr || (o && json_object_set_new(o, "push_rejected", pr) != 0)) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o) {
		json_t *ca = json_null();
		if (s->clock_ahead_ms > 0) {
			char when[40], by[SSYNC_NODE_ID_MAX + 32];
			ssync_hlc_format(s->clock_hlc, when, sizeof(when));
			snprintf(by, sizeof(by), "%s#%lld", s->clock_by, (long long)s->clock_by_seq);
			ca = json_pack("{sssIso}", "time", when, "ahead_s", (json_int_t)(s->clock_ahead_ms / 1000),
				"entry", s->clock_by[0] ? json_string(by) : json_null());
		}
		if (!ca || json_object_set_new(o, "clock_ahead", ca) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o) {
		const ssync_witness_info *w = &s->witness;
		char when[40];
		json_t *wj;
		when[0] = 0;
		if (w->last_time > 0)
			(void)ssync_time_utc(w->last_time, 1, when, sizeof(when));
		wj = json_pack("{sIsososIsIsI}", "checkpoints", (json_int_t)w->checkpoints, "time", str_or_null(when),
			"hub", str_or_null(w->hub), "held", (json_int_t)w->held, "backdated", (json_int_t)w->backdated,
			"forks", (json_int_t)w->forks);
		if (!wj || json_object_set_new(o, "witness", wj) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o && json_object_set_new(o, "reenter", json_integer((json_int_t)s->reenter)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o && json_object_set_new(o, "nodes", arr) == 0)
		out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else if (!o)
		json_decref(arr);
	json_decref(o);
	return out;
}

struct ssync_status_watch {
	ssync_store *st;
	char node[SSYNC_NODE_ID_MAX + 1];
	int64_t data_version;
	int64_t head;
	int primed;
};

int ssync_status_watch_open(ssync_status_watch **out, const char *home, ssync_error *err)
{
	ssync_status_watch *w = NULL;
	int error = 0;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return ssync_error_set(err, SSYNC_ERROR, "out of memory");
	if ((error = open_replica(&w->st, home, err)) < 0 ||
	    (error = meta_copy(w->st, "node_id", w->node, sizeof(w->node), 1, err)) < 0)
		goto done;
	*out = w;
	w = NULL;
done:
	ssync_status_watch_free(w);
	return error;
}

static const char SQL_DATA_VERSION[] = "PRAGMA data_version";

int ssync_status_watch_poll(ssync_status_watch *w, int64_t *head_out, int *changed_out, ssync_error *err)
{
	int64_t dv = 0;
	int error, changed;

	if ((error = count(w->st, SQL_DATA_VERSION, "read data_version", &dv, err)) < 0)
		return error;
	changed = !w->primed || dv != w->data_version;
	if (changed) {
		if ((error = own_head(w->st, w->node, &w->head, err)) < 0)
			return error;
		w->data_version = dv;
		w->primed = 1;
	}
	*head_out = w->head;
	if (changed_out)
		*changed_out = changed;
	return 0;
}

void ssync_status_watch_free(ssync_status_watch *w)
{
	if (!w)
		return;
	ssync_store_free(w->st);
	free(w);
}
