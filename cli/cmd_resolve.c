/* resolve TABLE ID COLUMN (--value V | --pick VERSION): settle a conflicted
 * cell in one signed write that names every version of it, even when the
 * value kept is the one shown (src/domain/edit.c, docs/MERGE.md). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/domain.h"

static const char *table_of(const char *word)
{
	/* the command words of cmd_domain.c that differ from the table name */
	return strcmp(word, "group") == 0 ? "edu_group" : word;
}

int cmd_resolve(cli_ctx *ctx, int argc, char **argv)
{
	const char *value = NULL, *pick = NULL, *actor = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL, kept[4096];
	const cli_opt opts[] = { { "value", 1, &value, NULL }, { "pick", 1, &pick, NULL }, { "actor", 1, &actor, NULL },
		{ NULL, 0, NULL, NULL } };
	ssync_node *n = NULL;
	ssync_error err;

	if (cli_parse(ctx, "resolve", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		free(pos);
		printf(_("usage: schoolsync resolve TABLE ID COLUMN (--value V | --pick VERSION) [--actor NAME] [--json]\n\n"
			"Settle a cell that `schoolsync conflicts` lists: keep the value of one version\n"
			"(--pick node#seq, as conflicts shows it) or a new value (--value, checked like\n"
			"an edit). One signed entry that names every version of the cell, so the\n"
			"conflict is gone on every node that receives it, even when the value kept is\n"
			"the one already shown. ID may be the id or, for teachers, the staff number.\n"
			"In a managed district the write policy decides who may write the column.\n"));
		return CLI_EXIT_OK;
	}
	if (npos != 3) {
		free(pos);
		return cli_usage(ctx, "resolve", "TABLE ID COLUMN are required");
	}
	if (!value == !pick) {
		free(pos);
		return cli_usage(ctx, "resolve", "give exactly one of --value V or --pick VERSION");
	}
	if (!(n = cli_open_node(ctx, 0, &rc))) {
		free(pos);
		return rc;
	}
	ssync_error_clear(&err);
	if (ssync_domain_resolve(n, table_of(pos[0]), pos[1], pos[2], value, pick, actor, kept, sizeof(kept), &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (ctx->json)
		rc = cli_print_json(json_pack("{ssssssssss?}", "table", table_of(pos[0]), "key", pos[1], "column", pos[2],
			"result", "resolved", "value", kept[0] ? kept : NULL));
	else
		printf(_("%s %s .%s resolved: %s%s%s (one entry; the conflict clears on every node that receives it)\n"),
			table_of(pos[0]), pos[1], pos[2], kept[0] ? "'" : "", kept[0] ? kept : "NULL", kept[0] ? "'" : "");
	free(pos);
	ssync_node_free(n);
	return rc;
}
