#ifndef SSYNC_AUDIT_H
#define SSYNC_AUDIT_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "node.h"

/* Layer sync (docs/ARCHITECTURE.md): not for the layers below it. */
#if defined(SSYNC_LAYER) && SSYNC_LAYER < SSYNC_LAYER_SYNC
#error "schoolsync/audit.h is layer sync: a lower layer may not include it (docs/ARCHITECTURE.md)"
#endif

/** What auditing a repository found. */
typedef struct ssync_audit_report {
	int64_t trust_objects; /**< genesis, certificates, revocations verified */
	int64_t nodes;         /**< node branches read */
	int64_t entries;       /**< entries verified */
	int64_t applied;       /**< entries the rebuilt state includes */
	int64_t refused;       /**< authentic entries refused (revoked, expired, policy) */
	int64_t held;          /**< entries waiting for a row never published */
	int64_t failures;      /**< problems that fail the audit */
	char state_hash[65];   /**< state hash of the rebuilt replica */
} ssync_audit_report;

/**
 * One finding: @p fatal 1 fails the audit (forgery, tampering, rewrite),
 * 0 is a decision the system made correctly (a refused entry), listed for
 * the auditor. @p node is "district" for the district branch; @p seq 0 when
 * no entry is concerned.
 */
typedef int (*ssync_audit_finding_cb)(int fatal, const char *node, int64_t seq,
	const char *code, const char *reason, void *payload);

/**
 * Verify the exchange repository at @p repo (a path or URL) from the
 * district root public key @p root_hex alone: fetch it into a scratch bare
 * repository, check that every branch only ever added files, verify every
 * trust object against the root and every entry (chain, signature,
 * certificate, revocation, policy), rebuild the state in an in-memory
 * replica and put its state hash in @p rep.
 * @return 0 if nothing failed, SSYNC_ECORRUPT if something did (each
 * finding was passed to @p cb), another code if the audit could not run.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_audit_verify(const char *repo, const char *root_hex,
	ssync_audit_finding_cb cb, void *payload, ssync_audit_report *rep, ssync_error *err);

/** One change of one cell of a record, for audit history. */
typedef struct ssync_audit_change {
	uint64_t hlc;
	const char *time;     /**< the entry's time (UTC, from its HLC) */
	const char *node;
	int64_t seq;
	const char *school;   /**< the school the node speaks for ("" unknown) */
	const char *role;     /**< its certified role ("" unmanaged) */
	const char *actor;
	const char *column;   /**< a column, or "$row" (1 created/revived, 0 deleted) */
	const char *old_json; /**< JSON array of the values it overwrote */
	const char *new_json; /**< JSON value written */
	const char *hash;     /**< entry hash (hex) */
	const char *commit;   /**< the git commit that published it, "" if not yet */
	int conflict;         /**< the cell had more than one leaf after it */
	int state;            /**< 1 applied, 2 held, 3 refused, 4 withdrawn */
	int sig_ok;           /**< its signature verifies now against the node's known or certified keys */
} ssync_audit_change;

typedef int (*ssync_audit_change_cb)(const ssync_audit_change *c, void *payload);

/** "applied", "held", "refused", "withdrawn" or "unknown" for a change's state. */
SSYNC_EXTERN const char *ssync_audit_state_name(int state);

/**
 * One change as the JSON object that `audit history --json` and the web
 * console's /api/history print (one form for both): hlc, time, node, seq,
 * school, role, actor, column, old, new, hash, commit, conflict, state,
 * signature ("ok" or "bad", checked again when the history is read).
 * @p old_json / @p new_json replace c's own when not NULL (a private value
 * shown opened or as "[encrypted]"). malloc'd text; NULL when out of memory.
 */
SSYNC_EXTERN char *ssync_audit_change_json(const ssync_audit_change *c, const char *old_json,
	const char *new_json);

/**
 * Every change of record (@p table, @p pk) in @p n's log, in HLC order.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_audit_history(ssync_node *n, const char *table,
	const char *pk, ssync_audit_change_cb cb, void *payload, ssync_error *err);

/**
 * The same history from a repository alone (a path or URL, e.g. the hub's
 * bare repository), as ssync_audit_verify reads it: fetched into a scratch
 * repository and verified from the district root @p root_hex into an
 * in-memory replica (findings to @p fcb, counts in @p rep); then every
 * change of (@p table, @p pk) in HLC order to @p cb, with the commit of the
 * repository's node branch that published it and each entry's signature
 * checked against the district's certified keys. Both callbacks get
 * @p payload. @return 0; SSYNC_ECORRUPT after the history when the
 * repository does not verify (entries past a failure are not in it).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_audit_history_repo(const char *repo, const char *root_hex,
	const char *table, const char *pk, ssync_audit_finding_cb fcb, ssync_audit_change_cb cb, void *payload,
	ssync_audit_report *rep, ssync_error *err);

#endif
