/* init, sql, log, state-hash: a node's own replica and log. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "schoolsync/domain.h"
#include "schoolsync/entry.h"
#include "schoolsync/privacy.h"
#include "schoolsync/hlc.h"
#include "schoolsync/keys.h"
#include "schoolsync/log.h"
#include "schoolsync/verify.h"

int cmd_init(cli_ctx *ctx, int argc, char **argv)
{
	const char *node = NULL, *district = NULL, *restore = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK, never = 0;
	char **pos = NULL, pub[65];
	const cli_opt opts[] = {
		{ "node", 1, &node, NULL },
		{ "district", 1, &district, NULL },
		{ "restore-key", 1, &restore, NULL },
		{ "never-published", 0, NULL, &never },
		{ NULL, 0, NULL, NULL }
	};
	ssync_error err;

	if (cli_parse(ctx, "init", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		printf(_("usage: schoolsync [--home DIR] init --node ID [--district ID] [--restore-key FILE [--never-published]] [--json]\n\n"
			"Create a node's home: the replica (replica.db), a new Ed25519 key\n"
			"(node.key, mode 0600: back it up) and the bare exchange repository.\n"
			"Node ids: 1-63 characters of a-z 0-9 and '-', starting with a letter or digit.\n"
			"--restore-key FILE re-creates a lost node from its backed-up key: it takes no\n"
			"writes until 'schoolsync sync' has read its own branch from a remote that\n"
			"holds it (usually the hub; an empty USB stick does not count).\n"
			"--never-published: the restored node never published an entry anywhere, so\n"
			"it may write at once. If it did publish, its first write equivocates and the\n"
			"district freezes it: when unsure, sync with the hub instead.\n"));
		free(pos);
		return CLI_EXIT_OK;
	}
	free(pos);
	if (npos > 0)
		return cli_usage(ctx, "init", "unexpected argument");
	if (!node)
		return cli_usage(ctx, "init", "--node ID is required");
	if (never && !restore)
		return cli_usage(ctx, "init", "--never-published goes with --restore-key");
	ssync_error_clear(&err);
	if ((restore ? ssync_node_restore(ctx->home, node, district, restore,
		never ? SSYNC_RESTORE_NEVER_PUBLISHED : 0, pub, &err) :
		ssync_node_init(ctx->home, node, district, pub, &err)) < 0)
		return cli_fail(ctx, &err);
	{
		/* the encryption key the hub certifies beside the signing key (docs/PRIVACY.md) */
		char ek[65] = "";
		ssync_node *n = cli_open_node(ctx, 0, &rc);
		if (!n)
			return rc;
		if (ssync_privacy_enckey_hex(n, ek, &err) < 0) {
			ssync_node_free(n);
			return cli_fail(ctx, &err);
		}
		ssync_node_free(n);
		if (ctx->json)
			rc = cli_print_json(json_pack("{ssssssssss}", "node", node, "district", district ? district : "default",
				"home", ctx->home, "pubkey", pub, "enckey", ek));
		else
			printf(_("node %s created in %s\npublic key %s\nencryption key %s\n"), node, ctx->home, pub, ek);
	}
	return rc;
}

typedef struct sql_out {
	cli_ctx *ctx;
	cli_table *table;
	json_t *rows;
	int err;
} sql_out;

static int sql_row(int n, const char *const *names, const char *const *vals, const int *types, void *p)
{
	sql_out *o = p;
	int i;

	if (o->ctx->json) {
		json_t *row = json_object();
		if (!row)
			return o->err = 1;
		for (i = 0; i < n; i++) {
			json_t *v;
			if (!vals[i])
				v = json_null();
			else if (types[i] == SSYNC_TYPE_INTEGER)
				v = json_integer(strtoll(vals[i], NULL, 10));
			else if (types[i] == SSYNC_TYPE_FLOAT)
				v = json_real(strtod(vals[i], NULL));
			else
				v = json_string(vals[i]);
			if (!v)
				v = json_string("(not UTF-8)");
			json_object_set_new(row, names[i], v);
		}
		json_array_append_new(o->rows, row);
		return 0;
	}
	if (!o->table && !(o->table = cli_table_new_raw(n, names)))
		return o->err = 1;
	return cli_table_add(o->table, vals) != 0 ? (o->err = 1) : 0;
}

int cmd_sql(cli_ctx *ctx, int argc, char **argv)
{
	const char *actor = NULL, *env = getenv("SCHOOLSYNC_SQL_UNCHECKED");
	int help = 0, npos = 0, rc = CLI_EXIT_OK, unchecked = 0, e;
	char **pos = NULL;
	const cli_opt opts[] = {
		{ "actor", 1, &actor, NULL }, { "unchecked", 0, NULL, &unchecked },
		{ NULL, 0, NULL, NULL }
	};
	sql_out out = { ctx, NULL, NULL, 0 };
	ssync_write_result res;
	ssync_node *n = NULL;
	ssync_error err;

	if (cli_parse(ctx, "sql", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		printf(_("usage: schoolsync sql \"STATEMENT; ...\" [PARAM...] [--actor NAME] [--unchecked] [--json]\n\n"
			"Run SQL on the replica. Reads print rows. Writes (INSERT, UPDATE, DELETE on\n"
			"the district's data tables) run in one transaction and become one signed\n"
			"entry in this node's log (bulk writes: several entries, committed together).\n"
			"Every row written is checked like add and edit (values, references, rules),\n"
			"every row deleted like delete: any problem and nothing is written (exit 1).\n"
			"--unchecked (or SCHOOLSYNC_SQL_UNCHECKED=1) skips those checks, as an older\n"
			"version did; 'schoolsync check' then finds what they would have refused.\n"
			"PARAMs bind to ?1, ?2, ... as text. The actor recorded is --actor, else\n"
			"$SCHOOLSYNC_ACTOR, else your user name. Internal tables (ssync_*), DDL,\n"
			"PRAGMA and ATTACH are refused.\n"));
		free(pos);
		return CLI_EXIT_OK;
	}
	if (npos < 1) {
		free(pos);
		return cli_usage(ctx, "sql", "a SQL statement is required");
	}
	if (!(n = cli_open_node(ctx, SSYNC_NODE_KEY_OPTIONAL, &rc))) {
		free(pos);
		return rc;
	}
	if (ctx->json && !(out.rows = json_array())) {
		free(pos);
		ssync_node_free(n);
		return CLI_EXIT_ERROR;
	}
	ssync_error_clear(&err);
	if (unchecked || (env && strcmp(env, "1") == 0))
		e = ssync_node_sql_bound(n, pos[0], npos - 1, (const char *const *)pos + 1, actor, sql_row, &out, &res, &err);
	else
		e = ssync_domain_sql(n, pos[0], npos - 1, (const char *const *)pos + 1, actor, sql_row, &out, &res, &err);
	if (e < 0) {
		rc = cli_fail(ctx, &err);
		goto done;
	}
	if (ctx->json) {
		if (res.readonly) {
			rc = cli_print_json(out.rows);
		} else {
			json_decref(out.rows);
			rc = cli_print_json(json_pack("{sisIsIsIsI}", "entries", res.entries,
				"first_seq", (json_int_t)res.first_seq, "last_seq", (json_int_t)res.last_seq,
				"rows", (json_int_t)res.rows, "cells", (json_int_t)res.cells));
		}
		out.rows = NULL;
	} else if (res.readonly) {
		if (out.table)
			cli_table_print(out.table, stdout);
		else
			printf(_("(no rows)\n"));
	} else if (res.entries == 0) {
		printf(_("nothing changed; no entry written\n"));
	} else {
		printf(_("%lld row(s) changed; entr%s %s#%lld"), (long long)res.rows, res.entries > 1 ? "ies" : "y",
			ssync_node_id(n), (long long)res.first_seq);
		if (res.entries > 1)
			printf("..%lld", (long long)res.last_seq);
		printf(_(" signed\n"));
	}
	if (out.err)
		rc = CLI_EXIT_ERROR;
done:
	json_decref(out.rows);
	cli_table_free(out.table);
	free(pos);
	ssync_node_free(n);
	return rc;
}

typedef struct log_out {
	cli_ctx *ctx;
	json_t *arr;
	cli_table *table;
	int bad;
} log_out;

/* A stored entry that does not parse: listed, counted, and the walk goes on. */
static int log_unreadable(log_out *o, const ssync_log_item *it)
{
	char seq[24];
	const char *row[6];

	o->bad++;
	snprintf(seq, sizeof(seq), "%lld", (long long)it->seq);
	if (o->ctx->json) {
		json_t *x = json_pack("{sssIssss}", "node", it->node, "seq", (json_int_t)it->seq,
			"status", "UNREADABLE", "problem", it->problem ? it->problem : "");
		if (x)
			json_array_append_new(o->arr, x);
		return 0;
	}
	row[0] = it->node;
	row[1] = seq;
	row[2] = "-";
	row[3] = "-";
	row[4] = "-";
	row[5] = "UNREADABLE";
	if (cli_table_add(o->table, row) != 0)
		o->bad++;
	fprintf(stderr, _("schoolsync: entry %s#%s: %s\n"), it->node, seq, it->problem ? it->problem : "");
	return 0;
}

static int log_item(const ssync_log_item *it, void *p)
{
	log_out *o = p;
	char hash[65], seq[24], when[40], nops[16], local[64];
	size_t blen;
	const char *body;
	json_error_t jerr;
	json_t *b;
	size_t ops;
	const char *status;

	if (!it->entry)
		return log_unreadable(o, it);
	body = ssync_entry_body(it->entry, &blen);
	b = json_loadb(body, blen, JSON_ALLOW_NUL, &jerr);
	ops = b ? json_array_size(json_object_get(b, "ops")) : 0;
	/* states: 1 applied, 2 held, 3 refused (trust, policy or value), 4 withdrawn (equivocation) */
	status = !it->sig_ok ? "BAD-SIGNATURE" : !it->chain_ok ? "BROKEN-CHAIN" :
		it->state == 1 ? "ok" : it->state == 3 ? "refused" : it->state == 4 ? "withdrawn" : "held";

	if (!it->sig_ok || !it->chain_ok)
		o->bad++;
	ssync_hex_encode(hash, ssync_entry_hash(it->entry), 32);
	ssync_hlc_format(ssync_entry_hlc(it->entry), when, sizeof(when));
	if (o->ctx->json) {
		json_t *x = json_pack("{sssIssssssssso*}", "node", ssync_entry_node(it->entry),
			"seq", (json_int_t)ssync_entry_seq(it->entry), "time", when,
			"actor", ssync_entry_actor(it->entry), "hash", hash, "status", status,
			"body", b);
		b = NULL;
		if (x)
			json_array_append_new(o->arr, x);
	} else {
		const char *row[6];
		snprintf(seq, sizeof(seq), "%lld", (long long)ssync_entry_seq(it->entry));
		snprintf(nops, sizeof(nops), "%zu", ops);
		hash[16] = 0;
		row[0] = ssync_entry_node(it->entry);
		row[1] = seq;
		row[2] = ssync_time_local((int64_t)ssync_hlc_ms(ssync_entry_hlc(it->entry)), local, sizeof(local));
		row[3] = ssync_entry_actor(it->entry);
		row[4] = nops;
		row[5] = status;
		if (cli_table_add(o->table, row) != 0)
			o->bad++;
		(void)hash;
	}
	json_decref(b);
	return 0;
}

int cmd_log(cli_ctx *ctx, int argc, char **argv)
{
	const char *node = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { "node", 1, &node, NULL }, { NULL, 0, NULL, NULL } };
	const char *hdr[] = { N_("node"), N_("seq"), N_("time"), N_("actor"), N_("rows"), N_("status") };
	log_out out = { ctx, NULL, NULL, 0 };
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "log", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync log [--node ID] [--json]\n\n"
			"List the entries this replica holds (all nodes, or one), checking each\n"
			"signature and the hash chain again. Status: ok (applied), held (waits for the\n"
			"row it changes to arrive), refused (trust or write policy), withdrawn\n"
			"(its node equivocated). Exits 1 if any signature or chain fails.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "log", "unexpected argument");
	if (node && !ssync_ident_node_valid(node))
		return cli_usage(ctx, "log", "invalid node id '%s'", node);
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	out.arr = json_array();
	out.table = cli_table_new(6, hdr);
	ssync_error_clear(&err);
	if (!out.arr || !out.table) {
		rc = CLI_EXIT_ERROR;
	} else if (ssync_log_foreach(ssync_node_store(n), node, log_item, &out, &err) < 0) {
		rc = cli_fail(ctx, &err);
	} else if (ctx->json) {
		rc = cli_print_json(out.arr);
		out.arr = NULL;
	} else {
		cli_table_print(out.table, stdout);
	}
	if (out.bad) {
		fprintf(stderr, _("schoolsync: %d entr%s failed verification\n"), out.bad, out.bad > 1 ? "ies" : "y");
		rc = CLI_EXIT_ERROR;
	}
	json_decref(out.arr);
	cli_table_free(out.table);
	ssync_node_free(n);
	return rc;
}

int cmd_state_hash(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL, hex[65];
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "state-hash", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync state-hash [--json]\n\n"
			"Print a SHA-256 digest of the visible data. Two replicas holding the\n"
			"same entries print the same digest, whatever order they arrived in.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "state-hash", "unexpected argument");
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	ssync_error_clear(&err);
	if (ssync_node_state_hash(n, hex, &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (ctx->json)
		rc = cli_print_json(json_pack("{ssss}", "node", ssync_node_id(n), "state_hash", hex));
	else
		printf("%s\n", hex);
	ssync_node_free(n);
	return rc;
}

int cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK, failed;
	char **pos = NULL;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	ssync_verify_report rep;
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "verify", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync verify [--json]\n\n"
			"Check this replica against its own log: every entry's signature and hash\n"
			"chain, then rebuild the data from the log alone and compare state hashes.\n"
			"A difference (E_DRIFT) means data was changed outside schoolsync.\n"
			"Exits 1 on any problem.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "verify", "unexpected argument");
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	ssync_error_clear(&err);
	failed = ssync_verify_replica(n, &rep, &err) < 0;
	if (failed && rep.entries == 0 && !rep.state_hash[0]) {
		rc = cli_fail(ctx, &err);
		goto done;
	}
	if (ctx->json) {
		json_t *o = json_pack("{sbsIsIsIsIsIsssssbsIsIsb}", "ok", !failed, "entries", (json_int_t)rep.entries,
			"bad_signature", (json_int_t)rep.bad_signature, "bad_chain", (json_int_t)rep.bad_chain,
			"unreadable", (json_int_t)rep.unreadable,
			"not_applied", (json_int_t)rep.not_applied, "state_hash", rep.state_hash,
			"rebuilt_hash", rep.rebuilt_hash, "drift", rep.drift, "conflicts", (json_int_t)rep.conflicts,
			"rebuilt_conflicts", (json_int_t)rep.rebuilt_conflicts, "tamper", rep.tamper);
		if (o && json_object_set_new(o, "witness_forks", json_integer((json_int_t)rep.witness_forks)) < 0) {
			json_decref(o);
			o = NULL;
		}
		/* what failed, so a script need not parse stderr */
		if (o && failed && (json_object_set_new(o, "code", json_string(ssync_error_name(err.code))) < 0 ||
		    json_object_set_new(o, "reason", json_string(err.message)) < 0)) {
			json_decref(o);
			o = NULL;
		}
		rc = cli_print_json(o);
	} else {
		printf(_("entries %lld: bad signatures %lld, broken chains %lld, unreadable %lld, held %lld\n"
			"state hash   %s\nrebuilt hash %s\nconflicts %lld (rebuilt %lld)\n%s\n"),
			(long long)rep.entries, (long long)rep.bad_signature, (long long)rep.bad_chain, (long long)rep.unreadable,
			(long long)rep.not_applied, rep.state_hash, rep.rebuilt_hash, (long long)rep.conflicts,
			(long long)rep.rebuilt_conflicts, failed ? "FAILED" : "ok: the replica is exactly what its log says");
	}
	if (failed) {
		if (!ctx->json)
			cli_fail(ctx, &err);
		rc = CLI_EXIT_ERROR;
	}
done:
	ssync_node_free(n);
	return rc;
}
