/* audit verify | history: the auditor's commands (src/audit.c does the work). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "schoolsync/audit.h"

static int audit_help(void)
{
	printf("usage: schoolsync audit verify --repo PATH|URL --district-pubkey HEX [--json]\n"
		"       schoolsync audit history TABLE PK [--json]\n\n"
		"verify   from a copy of the exchange repository and the district's public key\n"
		"         alone: check that every branch only ever added files, every trust object\n"
		"         is signed by the root, every entry chains, is signed by a certified key,\n"
		"         not revoked, within its certificate's validity and allowed by the write\n"
		"         policy; rebuild the data in a scratch replica and print its state hash\n"
		"         (compare it with 'schoolsync state-hash' on the nodes). Exit 1 on any\n"
		"         failure, naming node, seq and reason. Refused entries (the system\n"
		"         refused them correctly) are listed but do not fail the audit.\n"
		"history  every change of one record held in this node's log: when (HLC time),\n"
		"         node, school, actor, column, old -> new, entry hash, the git commit that\n"
		"         published it, and whether it left the cell in conflict.\n");
	return CLI_EXIT_OK;
}

typedef struct vctx { cli_ctx *ctx; json_t *arr; } vctx;

static int on_finding(int fatal, const char *node, int64_t seq, const char *code, const char *reason, void *p)
{
	vctx *v = p;

	if (v->ctx->json) {
		json_array_append_new(v->arr, json_pack("{sbsssIssss}", "fatal", fatal, "node", node, "seq", (json_int_t)seq,
			"code", code, "reason", reason));
		return 0;
	}
	if (fatal)
		fprintf(stderr, "schoolsync: audit: %s: %s#%lld: %s\n", code, node, (long long)seq, reason);
	else
		printf("refused %s#%lld %s: %s\n", node, (long long)seq, code, reason);
	return 0;
}

static const char *state_name(int s)
{
	return s == 1 ? "applied" : s == 2 ? "held" : s == 3 ? "refused" : s == 4 ? "withdrawn" : "?";
}

static int on_change(const ssync_audit_change *c, void *p)
{
	vctx *v = p;

	if (v->ctx->json) {
		json_error_t je;
		json_t *o = json_loadb(c->old_json, strlen(c->old_json), JSON_DECODE_ANY, &je);
		json_t *n = json_loadb(c->new_json, strlen(c->new_json), JSON_DECODE_ANY, &je);
		json_t *r = json_object();
		if (!r)
			return 1;
		json_object_set_new(r, "hlc", json_integer((json_int_t)c->hlc));
		json_object_set_new(r, "time", json_string(c->time));
		json_object_set_new(r, "node", json_string(c->node));
		json_object_set_new(r, "seq", json_integer(c->seq));
		json_object_set_new(r, "school", json_string(c->school));
		json_object_set_new(r, "role", json_string(c->role));
		json_object_set_new(r, "actor", json_string(c->actor));
		json_object_set_new(r, "column", json_string(c->column));
		json_object_set_new(r, "old", o ? o : json_null());
		json_object_set_new(r, "new", n ? n : json_null());
		json_object_set_new(r, "hash", json_string(c->hash));
		json_object_set_new(r, "commit", json_string(c->commit));
		json_object_set_new(r, "conflict", json_boolean(c->conflict));
		json_object_set_new(r, "state", json_string(state_name(c->state)));
		json_array_append_new(v->arr, r);
		return 0;
	}
	printf("%s  %s#%lld  school %s  actor %s  %s: %s -> %s  entry %.16s  commit %.12s%s%s\n", c->time, c->node,
		(long long)c->seq, c->school[0] ? c->school : "-", c->actor, c->column, c->old_json, c->new_json, c->hash,
		c->commit[0] ? c->commit : "(unpublished)", c->conflict ? "  CONFLICT" : "",
		c->state != 1 ? (c->state == 3 ? "  REFUSED" : c->state == 2 ? "  HELD" : "  WITHDRAWN") : "");
	return 0;
}

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	const char *repo = NULL, *pub = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { "repo", 1, &repo, NULL }, { "district-pubkey", 1, &pub, NULL }, { NULL, 0, NULL, NULL } };
	ssync_error err;
	vctx v = { ctx, NULL };

	if (cli_parse(ctx, "audit", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		free(pos);
		return audit_help();
	}
	ssync_error_clear(&err);
	if (npos >= 1 && strcmp(pos[0], "verify") == 0) {
		ssync_audit_report rep;
		int e;
		free(pos);
		if (npos != 1 || !repo || !pub)
			return cli_usage(ctx, "audit verify", "--repo PATH|URL and --district-pubkey HEX are required");
		v.arr = json_array();
		e = ssync_audit_verify(repo, pub, on_finding, &v, &rep, &err);
		if (e < 0 && e != SSYNC_ECORRUPT) {
			json_decref(v.arr);
			return cli_fail(ctx, &err);
		}
		if (ctx->json) {
			rc = cli_print_json(json_pack("{sbsssIsIsIsIsIsIso}", "ok", e == 0, "state_hash", rep.state_hash,
				"trust_objects", (json_int_t)rep.trust_objects, "nodes", (json_int_t)rep.nodes,
				"entries", (json_int_t)rep.entries, "applied", (json_int_t)rep.applied,
				"refused", (json_int_t)rep.refused, "held", (json_int_t)rep.held, "findings", v.arr));
		} else {
			json_decref(v.arr);
			printf("%s: %lld trust objects, %lld nodes, %lld entries (%lld applied, %lld refused, %lld held)\n"
				"state-hash %s\n", e == 0 ? "verified" : "FAILED", (long long)rep.trust_objects, (long long)rep.nodes,
				(long long)rep.entries, (long long)rep.applied, (long long)rep.refused, (long long)rep.held,
				rep.state_hash[0] ? rep.state_hash : "-");
		}
		if (e < 0) {
			if (!ctx->json)
				fprintf(stderr, "schoolsync: error: %s [%s]\n", err.message, ssync_error_name(err.code));
			return CLI_EXIT_ERROR;
		}
		return rc;
	}
	if (npos >= 1 && strcmp(pos[0], "history") == 0) {
		ssync_node *n = NULL;
		if (npos != 3) {
			free(pos);
			return cli_usage(ctx, "audit history", "TABLE and PK are required");
		}
		if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc))) {
			free(pos);
			return rc;
		}
		v.arr = json_array();
		if (ssync_audit_history(n, pos[1], pos[2], on_change, &v, &err) < 0) {
			json_decref(v.arr);
			rc = cli_fail(ctx, &err);
		} else if (ctx->json) {
			rc = cli_print_json(v.arr);
		} else {
			json_decref(v.arr);
		}
		ssync_node_free(n);
		free(pos);
		return rc;
	}
	free(pos);
	return cli_usage(ctx, "audit", "a subcommand is required: verify or history");
}
