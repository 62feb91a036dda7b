/* audit verify | history: the auditor's commands (src/audit.c does the work). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "schoolsync/privacy.h"
#include "schoolsync/audit.h"
#include "schoolsync/domain.h"

static int audit_help(void)
{
	printf(_("usage: schoolsync audit verify --repo PATH|URL --district-pubkey HEX [--json]\n"
		"       schoolsync audit history TABLE KEY [--column COLUMN] [--json]\n"
		"       schoolsync audit history TABLE ID --repo PATH|URL --district-pubkey HEX [--column COLUMN] [--json]\n\n"
		"verify   from a copy of the exchange repository and the district's public key\n"
		"         alone: check that every branch only ever added files, every trust object\n"
		"         is signed by the root, every entry chains, is signed by a certified key,\n"
		"         not revoked, within its certificate's validity and allowed by the write\n"
		"         policy; rebuild the data in a scratch replica and print its state hash\n"
		"         (compare it with 'schoolsync state-hash' on the nodes). Exit 1 on any\n"
		"         failure, naming node, seq and reason. Refused entries (the system\n"
		"         refused them correctly) are listed but do not fail the audit.\n"
		"history  every change of one record held in this node's log: when (local time;\n"
		"         --json keeps UTC), node, school, actor, column, old -> new, entry hash,\n"
		"         the git commit that published it, and whether it left the cell in\n"
		"         conflict. KEY is the record's id or the key a clerk knows: a teacher's\n"
		"         staff number, a school's code, a name only one row has. --column shows\n"
		"         only that column's changes. A KEY with no history exits 1.\n"
		"         With --repo: from a repository alone (the hub's bare repository), read\n"
		"         and verified as verify does; ID is the record's id; each change's\n"
		"         signature is checked against the district's certified keys. Exit 1\n"
		"         (after the history) if the repository does not verify.\n"));
	return CLI_EXIT_OK;
}

typedef struct vctx {
	cli_ctx *ctx;
	json_t *arr;
	const char *column; /* history --column, or NULL */
	ssync_privacy_reader *pr; /* opens private values this node holds keys for */
	ssync_node *n;
	const char *table;
	long shown;
	const char *key;    /* history: the record's id */
} vctx;

static int on_finding(int fatal, const char *node, int64_t seq, const char *code, const char *reason, void *p)
{
	vctx *v = p;

	if (v->ctx->json) {
		json_array_append_new(v->arr, json_pack("{sbsssIssss}", "fatal", fatal, "node", node, "seq", (json_int_t)seq,
			"code", code, "reason", reason));
		return 0;
	}
	if (fatal)
		fprintf(stderr, _("schoolsync: audit: %s: %s#%lld: %s\n"), code, node, (long long)seq, reason);
	else
		printf(_("refused %s#%lld %s: %s\n"), node, (long long)seq, code, reason);
	return 0;
}

/* A referencing column's value with the referenced row's name beside it. */
static void value_text(vctx *v, const char *column, const char *json, char *out, size_t n)
{
	const ssync_table_spec *t = ssync_domain_table(v->table);
	int fi = t ? ssync_domain_field_index(t, column) : -1;
	char label[200];
	json_error_t je;
	json_t *j;

	snprintf(out, n, "%s", json);
	if (!v->n || fi < 0 || t->fields[fi].type != SSYNC_FT_REF || !(j = json_loads(json, JSON_DECODE_ANY, &je)))
		return;
	if (json_is_string(j) && ssync_domain_label(v->n, t->fields[fi].ref, json_string_value(j), label, sizeof(label)) > 0)
		snprintf(out, n, "%s (%s)", json, label);
	json_decref(j);
}

static int on_change(const ssync_audit_change *c, void *p)
{
	vctx *v = p;
	char when[64], oldv[600], newv[600];

	if (v->column && strcmp(v->column, c->column) != 0)
		return 0;
	v->shown++;
	/* a private value: clear where this node holds its key, else [encrypted] */
	char *old_open = ssync_privacy_reader_display_json(v->pr, v->table, v->key, c->column, c->old_json);
	char *new_open = ssync_privacy_reader_display_json(v->pr, v->table, v->key, c->column, c->new_json);
	const char *old_json = old_open ? old_open : c->old_json, *new_json = new_open ? new_open : c->new_json;
	if (v->ctx->json) {
		char *text = ssync_audit_change_json(c, old_json, new_json);
		json_t *r = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		if (!r) {
			free(old_open);
			free(new_open);
			return 1;
		}
		json_array_append_new(v->arr, r);
		free(old_open);
		free(new_open);
		return 0;
	}
	value_text(v, c->column, old_json, oldv, sizeof(oldv));
	value_text(v, c->column, new_json, newv, sizeof(newv));
	free(old_open);
	free(new_open);
	printf(_("%s  %s#%lld  school %s  actor %s  %s: %s -> %s  entry %.16s  commit %.12s%s%s\n"),
		cli_local_time(c->time, when, sizeof(when)), c->node,
		(long long)c->seq, c->school[0] ? c->school : "-", c->actor, c->column, oldv, newv, c->hash,
		c->commit[0] ? c->commit : "(unpublished)", c->conflict ? "  CONFLICT" : "",
		c->state != 1 ? (c->state == 3 ? "  REFUSED" : c->state == 2 ? "  HELD" : "  WITHDRAWN") : "");
	return 0;
}

/* history --repo: a failure of the repository's verification, on stderr
 * (the changes are the output); refused entries show in their changes. */
static int on_repo_finding(int fatal, const char *node, int64_t seq, const char *code, const char *reason, void *p)
{
	(void)p;
	if (fatal)
		fprintf(stderr, _("schoolsync: audit: %s: %s#%lld: %s\n"), code, node, (long long)seq, reason);
	return 0;
}

/* history TABLE ID --repo: the record's history from a repository alone. */
static int history_repo(cli_ctx *ctx, vctx *v, const char *word, const char *key, const char *repo, const char *pub)
{
	const char *table = strcmp(word, "group") == 0 ? "edu_group" : word;
	const ssync_table_spec *t = ssync_domain_table(table);
	ssync_audit_report rep;
	ssync_error err;
	int rc = CLI_EXIT_OK, e;

	if (!t)
		return cli_usage(ctx, "audit history", "unknown table '%s'", word);
	if (v->column && ssync_domain_field_index(t, v->column) < 0 && strcmp(v->column, "$row") != 0)
		return cli_usage(ctx, "audit history", "%s has no column '%s'", t->name, v->column);
	if (!pub)
		return cli_usage(ctx, "audit history", "--repo needs --district-pubkey HEX");
	if (v->column) {
		int fi = ssync_domain_field_index(t, v->column);
		if (fi >= 0)
			v->column = t->fields[fi].name;
	}
	v->table = t->name;
	v->key = key;
	v->arr = json_array();
	if (!ctx->json)
		printf("%s %s\n", t->name, key);
	ssync_error_clear(&err);
	e = ssync_audit_history_repo(repo, pub, t->name, key, on_repo_finding, on_change, v, &rep, &err);
	if (e < 0 && e != SSYNC_ECORRUPT) {
		rc = cli_fail(ctx, &err);
	} else if (v->shown == 0 && !v->column) {
		ssync_error_set(&err, SSYNC_ENOTFOUND, "no history of %s '%s' in %s", t->name, key, repo);
		ssync_error_hint(&err, "give the record's id (with --repo the key a clerk knows is not looked up)");
		rc = cli_fail(ctx, &err);
	} else {
		if (ctx->json) {
			rc = cli_print_json(v->arr);
			v->arr = NULL;
		} else if (v->shown == 0) {
			printf(_("(no changes of column %s)\n"), v->column);
		}
		if (e < 0)
			rc = cli_fail(ctx, &err);
	}
	json_decref(v->arr);
	v->arr = NULL;
	return rc;
}

/* history TABLE KEY: KEY may be what a clerk knows; a deleted row is found
 * by its id alone (its staff number left with it). */
static int history(cli_ctx *ctx, vctx *v, const char *word, const char *key)
{
	const char *table = strcmp(word, "group") == 0 ? "edu_group" : word;
	const ssync_table_spec *t = ssync_domain_table(table);
	ssync_node *n = NULL;
	ssync_error err;
	char id[160], label[200];
	int rc = CLI_EXIT_OK, e;

	if (!t)
		return cli_usage(ctx, "audit history", "unknown table '%s'", word);
	if (v->column && ssync_domain_field_index(t, v->column) < 0 && strcmp(v->column, "$row") != 0)
		return cli_usage(ctx, "audit history", "%s has no column '%s'", t->name, v->column);
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	ssync_error_clear(&err);
	e = ssync_domain_find_id(n, t->name, key, id, sizeof(id), &err);
	if (e == SSYNC_ENOTFOUND) {
		snprintf(id, sizeof(id), "%s", key); /* maybe deleted: its history is still held */
	} else if (e < 0) {
		rc = cli_fail(ctx, &err);
		goto done;
	}
	if (v->column) {
		/* the column's spec name, whichever name (Chinese label) was given */
		int fi = ssync_domain_field_index(t, v->column);
		if (fi >= 0)
			v->column = t->fields[fi].name;
	}
	v->n = n;
	v->table = t->name;
	v->key = id;
	if (ssync_privacy_reader_open(&v->pr, n, NULL) < 0)
		v->pr = NULL; /* no keys.db here (a read-only home): private values show as their ciphertext */
	v->arr = json_array();
	ssync_error_clear(&err);
	if (!ctx->json) {
		(void)ssync_domain_label(n, t->name, id, label, sizeof(label));
		if (e == 0)
			printf("%s %s%s%s%s\n", t->name, id, label[0] ? " (" : "", label, label[0] ? ")" : "");
	}
	if (ssync_audit_history(n, t->name, id, on_change, v, &err) < 0) {
		rc = cli_fail(ctx, &err);
	} else if (v->shown == 0 && (e < 0 || !v->column)) {
		ssync_error_set(&err, SSYNC_ENOTFOUND, "no history of %s '%s' in this node's log", t->name, key);
		ssync_error_hint(&err, "give the record's id%s (see: schoolsync %s list)", t->unique ? " or staff number" : "",
			word);
		rc = cli_fail(ctx, &err);
	} else if (ctx->json) {
		rc = cli_print_json(v->arr);
		v->arr = NULL;
	} else if (v->shown == 0) {
		printf(_("(no changes of column %s)\n"), v->column);
	}
done:
	json_decref(v->arr);
	v->arr = NULL;
	ssync_privacy_reader_free(v->pr);
	v->pr = NULL;
	ssync_node_free(n);
	return rc;
}

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	const char *repo = NULL, *pub = NULL, *column = NULL;
	char absrepo[4096];
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { "repo", 1, &repo, NULL }, { "district-pubkey", 1, &pub, NULL },
		{ "column", 1, &column, NULL }, { NULL, 0, NULL, NULL } };
	ssync_error err;
	vctx v = { ctx, NULL, NULL, NULL, NULL, NULL, 0, NULL };

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
		/* a relative path means the caller's directory (git takes them) */
		if (!strstr(repo, "://") && repo[0] != '/' && (!strchr(repo, ':') ||
		    (strchr(repo, '/') && strchr(repo, '/') < strchr(repo, ':'))) && realpath(repo, absrepo))
			repo = absrepo;
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
			printf(_("%s: %lld trust objects, %lld nodes, %lld entries (%lld applied, %lld refused, %lld held)\n"
				"state-hash %s\n"), e == 0 ? "verified" : "FAILED", (long long)rep.trust_objects, (long long)rep.nodes,
				(long long)rep.entries, (long long)rep.applied, (long long)rep.refused, (long long)rep.held,
				rep.state_hash[0] ? rep.state_hash : "-");
		}
		if (e < 0) {
			if (!ctx->json) {
				char m[1024];
				cli_error_text(&err, m, sizeof(m), NULL, 0);
				fprintf(stderr, _("schoolsync: error: %s [%s]\n"), m, ssync_error_name(err.code));
			}
			return CLI_EXIT_ERROR;
		}
		return rc;
	}
	if (npos >= 1 && strcmp(pos[0], "history") == 0) {
		if (npos != 3) {
			free(pos);
			return cli_usage(ctx, "audit history", "TABLE and KEY are required");
		}
		v.column = column;
		if (repo) {
			/* a relative path means the caller's directory */
			if (!strstr(repo, "://") && repo[0] != '/' && (!strchr(repo, ':') ||
			    (strchr(repo, '/') && strchr(repo, '/') < strchr(repo, ':'))) && realpath(repo, absrepo))
				repo = absrepo;
			rc = history_repo(ctx, &v, pos[1], pos[2], repo, pub);
		} else {
			rc = history(ctx, &v, pos[1], pos[2]);
		}
		free(pos);
		return rc;
	}
	free(pos);
	return cli_usage(ctx, "audit", "a subcommand is required: verify or history");
}
