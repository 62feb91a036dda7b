/* reenter [--apply] [--from FILE] [--node NODE]: this school's own entries
 * that will never apply (held for good, void, withdrawn), in human terms,
 * and written again as new entries without clobbering what changed since
 * (src/domain/reenter.c, docs/OPERATIONS.md §11). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/reenter.h"

static const char *kind_text(const char *k)
{
	if (strcmp(k, "held") == 0)
		return _("held for good");
	if (strcmp(k, "void") == 0)
		return _("void");
	if (strcmp(k, "fork") == 0 || strcmp(k, "withdrawn") == 0)
		return _("withdrawn (fork)");
	return _("discarded (rollback)");
}

static const char *result_text(const char *r, int apply)
{
	if (strcmp(r, "ok") == 0)
		return apply ? _("not written") : _("to write");
	if (strcmp(r, "written") == 0)
		return _("written");
	if (strcmp(r, "same") == 0)
		return _("already so");
	if (strcmp(r, "changed") == 0)
		return _("CHANGED SINCE: left as it is");
	if (strcmp(r, "gone") == 0)
		return _("row gone: left as it is");
	if (strcmp(r, "private") == 0)
		return _("private: use student-archive edit");
	if (strcmp(r, "unsupported") == 0)
		return _("a blob: not re-entered");
	return r;
}

static void value_text(json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_null(v))
		snprintf(out, n, "%s", _("(empty)"));
	else {
		char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(out, n, "%s", d ? d : "?");
		free(d);
	}
}

/* One table line per cell; an entry already re-entered gets one line. */
static void print_report(json_t *rep, int apply, int *changed, int *refused)
{
	const char *hdr[7] = { N_("entry"), N_("kind"), N_("written at"), N_("table"), N_("row"), N_("change"), N_("result") };
	cli_table *t = cli_table_new(7, hdr);
	json_t *entries = json_object_get(rep, "entries"), *e;
	size_t i;

	json_array_foreach(entries, i, e) {
		const char *st = json_string_value(json_object_get(e, "status"));
		char when[64];
		json_t *op;
		size_t j;
		cli_local_time(json_string_value(json_object_get(e, "time")), when, sizeof(when));
		if (strcmp(st, "done") == 0 || strcmp(st, "superseded") == 0) {
			char res[128];
			const char *row[7] = { json_string_value(json_object_get(e, "entry")),
				kind_text(json_string_value(json_object_get(e, "kind"))), when, "", "", "-", res };
			snprintf(res, sizeof(res), strcmp(st, "done") == 0 ? _("re-entered as %s") : _("superseded by %s"),
				json_string_value(json_object_get(e, "reentered_as")));
			(void)cli_table_add(t, row);
			continue;
		}
		if (strcmp(st, "refused") == 0)
			(*refused)++;
		json_array_foreach(json_object_get(e, "ops"), j, op) {
			json_t *c;
			size_t k;
			char rowname[400];
			const char *label = json_string_value(json_object_get(op, "label"));
			snprintf(rowname, sizeof(rowname), "%s%s%s%s", json_string_value(json_object_get(op, "key")),
				label ? " (" : "", label ? label : "", label ? ")" : "");
			json_array_foreach(json_object_get(op, "cells"), k, c) {
				const char *col = json_string_value(json_object_get(c, "column"));
				const char *res = json_string_value(json_object_get(c, "result"));
				char change[600], val[512];
				const char *row[7];
				/* a new row: its empty columns go without saying */
				if (json_is_null(json_object_get(c, "value")) && strcmp(json_string_value(json_object_get(op, "op")), "insert") == 0)
					continue;
				if (strcmp(col, "$row") == 0)
					snprintf(change, sizeof(change), "%s", json_integer_value(json_object_get(c, "value")) == 1 ?
						_("new row") : _("delete the row"));
				else {
					value_text(json_object_get(c, "value"), val, sizeof(val));
					snprintf(change, sizeof(change), "%s = %s", col, val);
				}
				*changed += strcmp(res, "changed") == 0 || strcmp(res, "gone") == 0;
				row[0] = json_string_value(json_object_get(e, "entry"));
				row[1] = kind_text(json_string_value(json_object_get(e, "kind")));
				row[2] = when;
				row[3] = json_string_value(json_object_get(op, "table"));
				row[4] = rowname;
				row[5] = change;
				row[6] = strcmp(st, "refused") == 0 && strcmp(res, "ok") == 0 ? _("refused (below)") :
					result_text(res, apply);
				(void)cli_table_add(t, row);
			}
		}
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	json_array_foreach(entries, i, e) {
		json_t *er = json_object_get(e, "error");
		if (json_is_object(er))
			printf(_("%s: refused: %s (%s)\n"), json_string_value(json_object_get(e, "entry")),
				json_string_value(json_object_get(er, "message")), json_string_value(json_object_get(er, "code")));
	}
}

int cmd_reenter(cli_ctx *ctx, int argc, char **argv)
{
	const char *from = NULL, *node = NULL, *actor = NULL;
	int help = 0, apply = 0, npos = 0, rc = CLI_EXIT_OK, changed = 0, refused = 0;
	char **pos = NULL, *report = NULL;
	const cli_opt opts[] = { { "apply", 0, NULL, &apply }, { "from", 1, &from, NULL }, { "node", 1, &node, NULL },
		{ "actor", 1, &actor, NULL }, { NULL, 0, NULL, NULL } };
	ssync_reenter_opts o = SSYNC_REENTER_OPTS_INIT;
	ssync_node *n;
	ssync_error err;
	json_t *rep;

	if (cli_parse(ctx, "reenter", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync reenter [--apply] [--from FILE] [--node NODE] [--actor NAME] [--json]\n\n"
			"This school's own entries that will never apply, with their changes (table, row,\n"
			"column, value): held for good (W_FUTURE_HLC: written while the PC's clock was far\n"
			"ahead), withdrawn after an equivocation (E_FORK), void after a re-enrolment\n"
			"(E_VOID) or discarded by sync --adopt-remote (E_ROLLBACK).\n"
			"  --apply      write their changes again as new entries, with today's clock, checked\n"
			"               like add and edit. A cell someone changed since is never overwritten:\n"
			"               it is listed as CHANGED SINCE (exit 3). Running it again writes nothing\n"
			"               more: each re-entry names the entry it replaces in its actor.\n"
			"  --from FILE  signed lines from another home (its reenter --json or quarantine --json),\n"
			"               e.g. a re-enrolled school's void entries from the hub\n"
			"  --node NODE  list another node's entries (the hub: to hand them to the school)\n"
			"Refused (E_CLOCK) while what it would write now would be held too; see\n"
			"docs/OPERATIONS.md §11.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "reenter", "unexpected argument");
	if (!(n = cli_open_node(ctx, apply ? 0 : SSYNC_NODE_READONLY, &rc)))
		return rc;
	o.node = node;
	o.from = &from;
	o.nfrom = from ? 1 : 0;
	o.apply = apply;
	o.actor = actor;
	ssync_error_clear(&err);
	if (ssync_reenter(n, &o, &report, &err) < 0) {
		rc = cli_fail(ctx, &err);
		ssync_node_free(n);
		return rc;
	}
	ssync_node_free(n);
	if (!(rep = json_loads(report, 0, NULL))) {
		free(report);
		return CLI_EXIT_ERROR;
	}
	free(report);
	if (ctx->json) {
		json_t *e;
		size_t i;
		json_array_foreach(json_object_get(rep, "entries"), i, e) {
			json_t *op, *c;
			size_t j, k;
			refused += strcmp(json_string_value(json_object_get(e, "status")), "refused") == 0;
			json_array_foreach(json_object_get(e, "ops"), j, op)
				json_array_foreach(json_object_get(op, "cells"), k, c)
					changed += strcmp(json_string_value(json_object_get(c, "result")), "changed") == 0 ||
						strcmp(json_string_value(json_object_get(c, "result")), "gone") == 0;
		}
		rc = cli_print_json(json_incref(rep));
	} else {
		json_t *ig;
		size_t i;
		long long pending = (long long)json_integer_value(json_object_get(rep, "pending"));
		json_array_foreach(json_object_get(rep, "ignored"), i, ig)
			printf(_("not taken from %s: %s\n"), from, json_string_value(ig));
		if (json_array_size(json_object_get(rep, "entries")) == 0)
			printf(_("nothing to re-enter: no entry of %s is held for good, void or withdrawn\n"),
				json_string_value(json_object_get(rep, "node")));
		else {
			print_report(rep, apply, &changed, &refused);
			if (apply)
				printf(_("\nre-entered %lld entr(y/ies) as new writes; %lld left to re-enter\n"),
					(long long)json_integer_value(json_object_get(rep, "written")), pending);
			else if (pending > 0)
				printf(_("\n%lld entr(y/ies) to re-enter: schoolsync reenter --apply writes them again\n"), pending);
			else
				printf(_("\nall of them were re-entered\n"));
			if (changed > 0)
				printf(_("%d cell(s) changed since these entries were written and are left as they are: "
					"check them and edit by hand if needed\n"), changed);
		}
	}
	json_decref(rep);
	if (rc == CLI_EXIT_OK && refused > 0)
		rc = CLI_EXIT_ERROR;
	else if (rc == CLI_EXIT_OK && apply && changed > 0)
		rc = CLI_EXIT_ATTENTION;
	return rc;
}
