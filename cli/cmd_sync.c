/* remote, sync, conflicts, quarantine: exchanging logs and what needs review. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "commands.h"
#include "schoolsync/privacy.h"
#include "schoolsync/domain.h"
#include "schoolsync/hlc.h"
#include "schoolsync/redact.h"
#include "schoolsync/review.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"
#include "schoolsync/witness.h"

typedef struct remotes { json_t *arr; cli_table *t; } remotes;

static int remote_row(const char *name, const char *url, void *p)
{
	remotes *r = p;
	char shown[4096];
	const char *row[2] = { name, ssync_redact_url(url, shown, sizeof(shown)) };

	if (r->arr)
		json_array_append_new(r->arr, json_pack("{ssss}", "name", name, "url", shown));
	else
		cli_table_add(r->t, row);
	return 0;
}

/* remote repair NAME: put this node's branch back (docs/OPERATIONS.md). */
static int remote_repair(cli_ctx *ctx, const char *remote)
{
	ssync_sync_repair_report rep;
	ssync_error err;
	ssync_node *n;
	int rc = CLI_EXIT_OK;

	if (!ssync_node_remote_name_valid(remote))
		return cli_usage(ctx, "remote", "invalid remote name '%s'", remote);
	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	if (ssync_sync_repair(n, remote, &rep, &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (ctx->json)
		rc = cli_print_json(json_pack("{sssssbsososIsIsI}", "remote", rep.remote, "branch", rep.branch,
			"repaired", rep.repaired, "replaced", rep.repaired ? json_string(rep.replaced) : json_null(),
			"tip", rep.repaired ? json_string(rep.tip) : json_null(), "files", (json_int_t)rep.files,
			"lines", (json_int_t)rep.lines, "foreign_lines", (json_int_t)rep.foreign_lines));
	else if (!rep.repaired)
		printf(_("remote %s: %s needs no repair (it is not ahead of this node's); sync pushes what it lacks\n"),
			rep.remote, rep.branch + strlen("refs/heads/"));
	else
		printf(_("remote %s: %s repaired: its tip %.12s (%lld line(s) not signed by this node, nothing of ours lost) "
			"replaced by ours %.12s\n"), rep.remote, rep.branch + strlen("refs/heads/"), rep.replaced,
			(long long)rep.foreign_lines, rep.tip);
	ssync_node_free(n);
	return rc;
}

int cmd_remote(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const char *token_file = NULL;
	const cli_opt opts[] = { { "token-file", 1, &token_file, NULL }, { NULL, 0, NULL, NULL } };
	ssync_node *n = NULL;
	ssync_error err;
	const char *sub;
	char shown[4096];

	if (cli_parse(ctx, "remote", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help || npos == 0) {
		printf(_("usage: schoolsync remote add NAME URL [--token-file FILE]\n"
			"       schoolsync remote list [--json]\n"
			"       schoolsync remote remove NAME\n"
			"       schoolsync remote repair NAME\n\n"
			"Git remotes this node syncs with. URL: a local path (relative ones are stored\n"
			"absolute) or file:// (a USB stick: created as a bare repository on first\n"
			"push, but only where a stick is mounted), git://, http(s):// (smart HTTP) or\n"
			"ssh:// (ssh-agent). Names: letters, digits, '_', '.', '-'.\n"
			"An https token never belongs in the URL: --token-file FILE keeps FILE's first\n"
			"line in HOME/tokens/NAME (mode 0600), or set SCHOOLSYNC_TOKEN_<NAME>. URLs are\n"
			"shown with any password or token as ***.\n"
			"repair: when sync fails with E_PUSH_REJECTED (someone pushed onto this node's\n"
			"branch there), put this node's branch back, if the remote's copy holds nothing\n"
			"this node signed that it lacks (docs/OPERATIONS.md).\n"));
		free(pos);
		return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	sub = pos[0];
	ssync_error_clear(&err);
	if (strcmp(sub, "add") == 0) {
		if (npos != 3) {
			free(pos);
			return cli_usage(ctx, "remote", "usage: remote add NAME URL");
		}
		if (!ssync_node_remote_name_valid(pos[1])) {
			rc = cli_usage(ctx, "remote", "invalid remote name '%s' (letters, digits, '_', '.', '-')", pos[1]);
			goto done;
		}
		const char *url = pos[2], *colon = strchr(url, ':'), *slash = strchr(url, '/');
		char absurl[4096], cwd[4096];
		/* A relative path (git takes them) means the caller's directory;
		 * the daemon runs elsewhere, so store it absolute. host:path
		 * (a colon before any slash) stays scp-like ssh. */
		if (!strstr(url, "://") && url[0] != '/' && url[0] != '-' && (!colon || (slash && slash < colon))) {
			if (!getcwd(cwd, sizeof(cwd)) ||
			    snprintf(absurl, sizeof(absurl), "%s/%s", cwd, strncmp(url, "./", 2) == 0 ? url + 2 : url) >=
			    (int)sizeof(absurl)) {
				rc = cli_usage(ctx, "remote", "cannot make '%s' an absolute path", url);
				goto done;
			}
			url = absurl;
		}
		if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
			goto done;
		ssync_redact_url(url, shown, sizeof(shown));
		if (token_file) {
			char buf[1100] = "";
			FILE *tf = fopen(token_file, "r");
			int ok = tf && fgets(buf, sizeof(buf), tf) != NULL;
			if (tf)
				fclose(tf);
			if (!ok) {
				ssync_error_set(&err, SSYNC_ENOTFOUND, "cannot read a token from %s", token_file);
				rc = cli_fail(ctx, &err);
				goto done;
			}
			ok = ssync_node_remote_token_set(n, pos[1], buf, &err) == 0;
			sodium_memzero(buf, sizeof(buf));
			if (!ok) {
				rc = cli_fail(ctx, &err);
				goto done;
			}
		}
		if (ssync_node_remote_add(n, pos[1], url, &err) < 0)
			rc = cli_fail(ctx, &err);
		else if (ctx->json)
			rc = cli_print_json(json_pack("{sssssb}", "name", pos[1], "url", shown, "token", token_file != NULL));
		else
			printf(_("remote %s added: %s%s\n"), pos[1], shown, token_file ? " (token kept in the home, mode 0600)" :
				ssync_url_has_secret(url) ? "\nwarning: the URL holds a password or token, stored in "
				"exchange.git/config; prefer: remote add NAME URL --token-file FILE" : "");
	} else if (strcmp(sub, "remove") == 0) {
		if (npos != 2) {
			free(pos);
			return cli_usage(ctx, "remote", "usage: remote remove NAME");
		}
		if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
			goto done;
		if (ssync_node_remote_remove(n, pos[1], &err) < 0)
			rc = cli_fail(ctx, &err);
		else if (!ctx->json)
			printf(_("remote %s removed\n"), pos[1]);
		else
			rc = cli_print_json(json_pack("{ss}", "removed", pos[1]));
	} else if (strcmp(sub, "list") == 0) {
		const char *hdr[2] = { N_("name"), N_("url") };
		remotes r = { NULL, NULL };
		if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
			goto done;
		if (ctx->json)
			r.arr = json_array();
		else
			r.t = cli_table_new(2, hdr);
		if (ssync_node_remote_list(n, remote_row, &r, &err) < 0)
			rc = cli_fail(ctx, &err);
		else if (r.arr) {
			rc = cli_print_json(r.arr);
			r.arr = NULL;
		} else {
			cli_table_print(r.t, stdout);
		}
		json_decref(r.arr);
		cli_table_free(r.t);
	} else if (strcmp(sub, "repair") == 0) {
		if (npos != 2) {
			free(pos);
			return cli_usage(ctx, "remote", "usage: remote repair NAME");
		}
		rc = remote_repair(ctx, pos[1]);
	} else {
		rc = cli_usage(ctx, "remote", "unknown subcommand '%s'", sub);
	}
done:
	ssync_node_free(n);
	free(pos);
	return rc;
}

/* Without a terminal: only watch for SIGTERM/SIGINT (the daemon's deadline). */
static int quiet_progress(const char *phase, int64_t done, int64_t total, void *p)
{
	(void)phase; (void)done; (void)total; (void)p;
	return cli_interrupted != 0;
}

static int progress(const char *phase, int64_t done, int64_t total, void *p)
{
	const char *unit = strcmp(phase, "fetch") == 0 || strcmp(phase, "push") == 0 ? "objects" :
		strcmp(phase, "verify") == 0 ? "branches" : "entries";

	(void)p;
	if (total > 0)
		fprintf(stderr, "\r%-7s %lld/%lld %s   ", phase, (long long)done, (long long)total, unit);
	else
		fprintf(stderr, "\r%-7s %lld %s   ", phase, (long long)done, unit);
	fflush(stderr);
	return cli_interrupted != 0;
}

static int list_remote_name(const char *name, const char *url, void *p)
{
	json_t *a = p;
	(void)url;
	return json_array_append_new(a, json_string(name));
}

/* The report's one JSON form, from the library (docs/CONTROL.md). */
static json_t *report_json(const ssync_sync_report *r)
{
	char *s = ssync_sync_report_json(r);
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;

	free(s);
	return o;
}

/* What one `sync` saw, remote by remote, in the order they finished. */
typedef struct sync_run {
	cli_ctx *ctx;
	ssync_node *n;
	json_t *reports;
	int failed, oom, tty;
	int64_t quarantined, held, rewritten;
	int recovering;
} sync_run;

/* Each remote is printed when it finishes, so the order of these lines is
 * the order of events (a dead remote's line comes at its deadline). */
static void remote_done(const ssync_sync_report *rep, int error, const ssync_error *err, void *payload)
{
	sync_run *sr = payload;
	cli_ctx *ctx = sr->ctx;

	if (sr->tty)
		fputc('\n', stderr);
	sr->quarantined += rep->quarantined;
	sr->held += rep->held;
	sr->rewritten += rep->rewritten_refs;
	if (error < 0) {
		sr->failed++;
		if (ctx->json) {
			/* the error object (docs/CONTROL.md §2) with the remote it is about */
			char *s = ssync_error_json(err);
			json_t *o = s ? json_loads(s, 0, NULL) : NULL;
			char *line;
			free(s);
			if (o && json_object_set_new(o, "remote", json_string(rep->remote)) == 0 &&
			    (line = json_dumps(o, JSON_COMPACT))) {
				fprintf(stderr, "%s\n", line);
				free(line);
			} else {
				cli_fail(ctx, err);
			}
			json_decref(o);
		} else {
			cli_fail(ctx, err);
		}
		fflush(stderr);
		return;
	}
	if (ctx->json) {
		json_t *o = report_json(rep);
		if (!o || json_array_append_new(sr->reports, o) != 0)
			sr->oom = 1;
	} else {
		printf(_("%s: received %lld, applied %lld, duplicates %lld, quarantined %lld; sealed %lld; "
			"pushed %d branch(es)%s; %lld conflict(s); %.2f s\n"), rep->remote,
			(long long)rep->received, (long long)rep->applied, (long long)rep->duplicates,
			(long long)rep->quarantined, (long long)rep->sealed, rep->pushed_refs,
			rep->rewritten_refs ? " (some remote branches were REWRITTEN: see quarantine)" : "",
			(long long)rep->conflicts, rep->seconds);
		fflush(stdout);
	}
	if (rep->discarded)
		fprintf(stderr, _("notice: discarded %lld entries this node signed after it was restored from an old "
			"copy (never published); they are in schoolsync quarantine (E_ROLLBACK): re-enter them\n"),
			(long long)rep->discarded);
	if (rep->rollback_adopted)
		fprintf(stderr, _("notice: %s held %lld of this node's own entries that its log lacked (restored from an "
			"old copy?); adopted, and writes go on after them\n"), rep->remote, (long long)rep->rollback_adopted);
	if (rep->rollback) {
		ssync_error e;
		ssync_error_clear(&e);
		ssync_error_set(&e, SSYNC_EROLLBACK, "a remote holds this node's own branch node/%s ahead of its log "
			"and it was not adopted whole; writes are refused (schoolsync status says why)", ssync_node_id(sr->n));
		ssync_error_hint(&e, "if this node wrote after it was restored from an old copy: schoolsync sync "
			"--remote %s --adopt-remote (discards those unpublished writes, kept in schoolsync quarantine "
			"to re-enter); docs/OPERATIONS.md §7", rep->remote);
		cli_fail(ctx, &e);
		sr->failed++;
	}
	if (rep->recovering) {
		sr->recovering = 1;
		fprintf(stderr, _("notice: %s does not hold this restored node's own branch (node/%s), so writes "
			"stay refused; sync with a remote that holds it, usually the hub (docs/OPERATIONS.md, "
			"Restoring a node)\n"), rep->remote, ssync_node_id(sr->n));
	}
}

int cmd_sync(cli_ctx *ctx, int argc, char **argv)
{
	const char *remote = NULL, *timeout = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK, no_push = 0, now = 0, single = 0, adopt = 0, show_progress = 0;
	char **pos = NULL, *list = NULL, *end = NULL;
	const cli_opt opts[] = {
		{ "remote", 1, &remote, NULL },
		{ "no-push", 0, NULL, &no_push },
		{ "now", 0, NULL, &now }, { "progress", 0, NULL, &show_progress },
		{ "timeout", 1, &timeout, NULL },
		{ "adopt-remote", 0, NULL, &adopt },
		{ NULL, 0, NULL, NULL }
	};
	ssync_sync_opts so = SSYNC_SYNC_OPTS_INIT;
	ssync_node *n = NULL;
	json_t *names = NULL;
	const char **namev = NULL;
	sync_run sr;
	ssync_error err;
	size_t i;

	if (cli_parse(ctx, "sync", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync sync [--remote NAME[,NAME...]] [--timeout SECONDS] [--no-push] [--now]\n"
			"                       [--adopt-remote] [--progress] [--json]\n\n"
			"One sync round with each remote (or the ones named): fetch every school's branch,\n"
			"verify and apply new entries (failures go to quarantine, the rest applies),\n"
			"seal this node's new entries into its branch, push what the remote lacks.\n"
			"The remotes' transfers run side by side; each remote's fetch, and each push,\n"
			"is given up after --timeout seconds (default %d; 0: no limit), and the other\n"
			"remotes go on. --now asks the running daemon to sync instead.\n"
			"--adopt-remote: after E_ROLLBACK, discard this node's own never-published\n"
			"entries that the remote's copy of its branch replaces (kept in quarantine).\n\n"
			"Exit status: 0 done; 1 a remote failed (each failure is named); 3 done, but\n"
			"entries were quarantined or held back, or writes stay refused: see the summary\n"
			"and schoolsync quarantine / status.\n"
			"--progress shows each phase's progress on stderr (always on a terminal).\n"
			"Ctrl-C stops at a safe point (exit 130): what was applied stays, nothing is\n"
			"half-written.\n"), CLI_SYNC_TIMEOUT_S);
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "sync", "unexpected argument");
	if (now)
		return cli_daemon_sync_now(ctx);
	so.timeout_s = CLI_SYNC_TIMEOUT_S;
	if (timeout) {
		so.timeout_s = strtod(timeout, &end);
		if (!*timeout || *end || so.timeout_s < 0 || so.timeout_s > 86400)
			return cli_usage(ctx, "sync", "--timeout takes seconds, 0 to 86400 (0: no limit)");
	}
	names = json_array();
	memset(&sr, 0, sizeof(sr));
	ssync_error_clear(&err);
	if (!names)
		return cli_print_json(NULL);
	if (remote) {
		/* NAME or NAME,NAME,... (names never hold a comma) */
		char *save = NULL, *tok;
		single = !strchr(remote, ',');
		if (!(list = strdup(remote))) {
			rc = cli_print_json(NULL);
			goto done;
		}
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!ssync_node_remote_name_valid(tok)) {
				rc = cli_usage(ctx, "sync", "invalid remote name '%s'", tok);
				goto done;
			}
			json_array_append_new(names, json_string(tok));
		}
		if (json_array_size(names) == 0) {
			rc = cli_usage(ctx, "sync", "--remote takes a name");
			goto done;
		}
	}
	if (!(n = cli_open_node(ctx, 0, &rc)))
		goto done;
	/* Never silent: an unmanaged node takes anything signed and enforces no
	 * policy; in a managed district that is a skipped 'join'. */
	if (!ssync_trust_managed(ssync_node_store(n)) && !ctx->quiet)
		fprintf(stderr, _("warning: node %s is UNMANAGED (no district root pinned): it accepts every signed entry "
			"and enforces no write policy. In a managed district run: schoolsync join --district %s "
			"--district-pubkey HEX\n"), ssync_node_id(n), ssync_node_district(n));
	if (!remote) {
		if (ssync_node_remote_list(n, list_remote_name, names, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto done;
		}
		if (json_array_size(names) == 0) {
			ssync_error_set(&err, SSYNC_ENOTFOUND, "no remotes configured");
			ssync_error_hint(&err, "add one with: schoolsync remote add hub URL");
			rc = cli_fail(ctx, &err);
			goto done;
		}
	}
	if (!(namev = calloc(json_array_size(names), sizeof(*namev))) || !(sr.reports = json_array())) {
		rc = cli_print_json(NULL);
		goto done;
	}
	for (i = 0; i < json_array_size(names); i++)
		namev[i] = json_string_value(json_array_get(names, i));
	so.no_push = no_push;
	so.adopt_remote = adopt;
	/* A signal (main defers it for sync) cancels at the next progress
	 * point; the transaction in flight either commits or rolls back. */
	sr.tty = !ctx->json && (show_progress || isatty(2));
	so.progress = sr.tty ? progress : quiet_progress;
	sr.ctx = ctx;
	sr.n = n;
	if (ssync_sync_run_remotes(n, json_array_size(names), namev, &so, remote_done, &sr, &err) < 0) {
		rc = cli_fail(ctx, &err);
		goto done;
	}
	if (ctx->json && (!single || json_array_size(sr.reports) > 0))
		rc = cli_print_json(single ? json_incref(json_array_get(sr.reports, 0)) : json_incref(sr.reports));
	if (sr.failed || sr.oom) {
		rc = CLI_EXIT_ERROR;
	} else if (sr.quarantined || sr.held || sr.rewritten || sr.recovering) {
		/* Never silent: done, but someone must look (docs/OPERATIONS.md §6). */
		rc = CLI_EXIT_ATTENTION;
		if (!ctx->quiet)
			fprintf(stderr, _("attention: this round quarantined %lld entr%s, held back %lld and refused %lld "
				"rewritten branch(es)%s; everything else was applied. Look with: schoolsync quarantine "
				"(the reasons); the hub decides (docs/OPERATIONS.md, Troubleshooting). Exit status 3.\n"),
				(long long)sr.quarantined, sr.quarantined == 1 ? "y" : "ies", (long long)sr.held,
				(long long)sr.rewritten, sr.recovering ? "; this restored node's writes stay refused" : "");
	}
	/* Hub equivocation is held as evidence for good: every round says so,
	 * on the node that caught it and on every node it reached alike
	 * (docs/TRUST.md §4a, OPERATIONS.md §11). */
	if (rc == CLI_EXIT_OK || rc == CLI_EXIT_ATTENTION) {
		ssync_witness_info wi;
		ssync_error werr;
		ssync_error_clear(&werr);
		if (ssync_witness_info_get(ssync_node_store(n), &wi, &werr) == 0 && wi.forks > 0) {
			rc = CLI_EXIT_ATTENTION;
			if (!ctx->quiet)
				fprintf(stderr, _("attention: HUB EQUIVOCATION (E_WITNESS_FORK): the district hub signed two "
					"different checkpoints for %lld position(s), showing different histories to different "
					"schools; both signed checkpoints are kept as evidence and passed on by every sync. "
					"Call the district office (the root key holder): docs/OPERATIONS.md §11. Exit status 3.\n"),
					(long long)wi.forks);
		}
	}
done:
	free(list);
	free(namev);
	json_decref(names);
	json_decref(sr.reports);
	ssync_node_free(n);
	return rc;
}

typedef struct conf_out { cli_ctx *ctx; json_t *arr; int count; ssync_node *n; ssync_privacy_reader *pr; } conf_out;

static int conflict_row(const ssync_conflict *c, void *p)
{
	conf_out *o = p;
	int i;

	o->count++;
	if (o->arr) {
		json_t *leaves = json_array();
		for (i = 0; i < c->nleaves; i++) {
			char when[40];
			json_error_t jerr;
			/* a private value: clear where this node holds its key, else [encrypted] */
			char *shown = ssync_privacy_reader_display_json(o->pr, c->table, c->pk, c->column, c->leaves[i].value_json);
			json_t *v = json_loads(shown ? shown : c->leaves[i].value_json ? c->leaves[i].value_json : "null", JSON_DECODE_ANY, &jerr);
			free(shown);
			ssync_hlc_format(c->leaves[i].hlc, when, sizeof(when));
			json_array_append_new(leaves, json_pack("{sosssIsssssb}", "value", v ? v : json_null(),
				"node", c->leaves[i].node, "seq", (json_int_t)c->leaves[i].seq, "time", when,
				"actor", c->leaves[i].actor, "winner", c->leaves[i].winner));
		}
		json_array_append_new(o->arr, json_pack("{ssssssso}", "table", c->table, "key", c->pk,
			"column", c->column, "versions", leaves));
		return 0;
	}
	{
		char label[200];
		int named = o->n && ssync_domain_label(o->n, c->table, c->pk, label, sizeof(label)) > 0;
		printf("%s %s%s%s%s .%s\n", c->table, c->pk, named ? " (" : "", named ? label : "", named ? ")" : "", c->column);
	}
	for (i = 0; i < c->nleaves; i++) {
		char utc[40], when[64];
		ssync_hlc_format(c->leaves[i].hlc, utc, sizeof(utc));
		cli_local_time(utc, when, sizeof(when));
		char *shown = ssync_privacy_reader_display_json(o->pr, c->table, c->pk, c->column, c->leaves[i].value_json);
		const char *v = shown ? shown : c->leaves[i].value_json ? c->leaves[i].value_json : "null";
		int pad = 24 - cli_display_width(v);
		printf("  %s %s%*s by %s#%lld (%s) at %s\n", c->leaves[i].winner ? "shown " : "other ",
			v, pad > 0 ? pad : 0, "", c->leaves[i].node,
			(long long)c->leaves[i].seq, c->leaves[i].actor, when);
		free(shown);
	}
	return 0;
}

int cmd_conflicts(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	conf_out o = { ctx, NULL, 0, NULL, NULL };
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "conflicts", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync conflicts [--json]\n\n"
			"Cells that two or more nodes wrote without seeing each other's write. The\n"
			"value shown everywhere is the deterministic winner (latest HLC, then node\n"
			"id); the others are kept here until someone writes a new value, which\n"
			"resolves the conflict on every node. To keep one of the versions shown:\n"
			"  schoolsync resolve TABLE ID COLUMN --pick NODE#SEQ    (or --value V)\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "conflicts", "unexpected argument");
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	o.n = n;
	if (ssync_privacy_reader_open(&o.pr, n, NULL) < 0)
		o.pr = NULL; /* no keys.db here (a read-only home): private values show as their ciphertext */
	if (ctx->json)
		o.arr = json_array();
	ssync_error_clear(&err);
	if (ssync_review_conflicts(ssync_node_store(n), conflict_row, &o, &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (o.arr) {
		rc = cli_print_json(o.arr);
		o.arr = NULL;
	} else if (o.count == 0)
		printf(_("no conflicts\n"));
	json_decref(o.arr);
	ssync_privacy_reader_free(o.pr);
	ssync_node_free(n);
	return rc;
}

typedef struct q_out { json_t *arr; cli_table *t; int count; } q_out;

static int quarantine_row(const ssync_quarantine_item *q, void *p)
{
	q_out *o = p;
	char seq[24];

	o->count++;
	snprintf(seq, sizeof(seq), "%lld", (long long)q->seq);
	if (o->arr) {
		json_t *line = q->line ? json_stringn(q->line, (size_t)q->line_len) : json_null();
		json_array_append_new(o->arr, json_pack("{sIsssIsssssssssO*}", "id", (json_int_t)q->id, "node", q->node,
			"seq", (json_int_t)q->seq, "code", q->code, "reason", q->reason, "source", q->source,
			"received", q->received, "line", line));
		json_decref(line);
	} else {
		char local[64];
		const char *row[6] = { cli_local_time(q->received, local, sizeof(local)), q->node, seq, q->code,
			q->source, q->reason };
		cli_table_add(o->t, row);
	}
	return 0;
}

int cmd_quarantine(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	const char *hdr[6] = { N_("received"), N_("node"), N_("seq"), N_("code"), N_("from"), N_("reason") };
	q_out o = { NULL, NULL, 0 };
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "quarantine", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync quarantine [--json]\n\n"
			"Entries received that failed a check (bad signature, broken chain,\n"
			"equivocation, unknown key, rewritten branch, ...), with the reason. They\n"
			"were not applied; everything else was. --json includes the raw lines.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "quarantine", "unexpected argument");
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	if (ctx->json)
		o.arr = json_array();
	else
		o.t = cli_table_new(6, hdr);
	ssync_error_clear(&err);
	if (ssync_review_quarantine(ssync_node_store(n), quarantine_row, &o, &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (o.arr) {
		rc = cli_print_json(o.arr);
		o.arr = NULL;
	} else if (o.count == 0)
		printf(_("quarantine is empty\n"));
	else
		cli_table_print(o.t, stdout);
	json_decref(o.arr);
	cli_table_free(o.t);
	ssync_node_free(n);
	return rc;
}
