/* schoolsync student-archive add|edit|show|list|export|erase: 一生一档案,
 * private end to end (docs/PRIVACY.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "schoolsync/domain.h"
#include "schoolsync/privacy.h"

#define NCOLS 5
static const char *const headers[NCOLS] = { "id", "school_id", "name", "grade", "record" };

typedef struct out_ctx {
	int mode; /* 0 table, 1 json, 2 csv */
	cli_table *t;
	json_t *rows;
	int hidden; /* values shown as [encrypted] */
} out_ctx;

static void csv_field(const char *v, int last)
{
	const char *p;

	if (v && strpbrk(v, ",\"\r\n")) {
		putchar('"');
		for (p = v; *p; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	} else if (v) {
		fputs(v, stdout);
	}
	putchar(last ? '\n' : ',');
}

static int on_row(int ncols, const char *const *names, const char *const *values, const int *types, void *p)
{
	out_ctx *o = p;
	int i;

	(void)types;
	if (ncols > NCOLS)
		ncols = NCOLS;
	for (i = 0; i < ncols; i++)
		o->hidden += values[i] && strcmp(values[i], SSYNC_PRIVACY_HIDDEN) == 0;
	if (o->mode == 1) {
		json_t *r = json_object();
		for (i = 0; r && i < ncols; i++)
			json_object_set_new(r, names[i], values[i] ? json_string(values[i]) : json_null());
		json_array_append_new(o->rows, r);
	} else if (o->mode == 2) {
		for (i = 0; i < ncols; i++)
			csv_field(values[i], i == ncols - 1);
	} else {
		const char *v[NCOLS];
		for (i = 0; i < NCOLS; i++)
			v[i] = i < ncols && values[i] ? values[i] : "";
		cli_table_add(o->t, v);
	}
	return 0;
}

static int help(void)
{
	printf(_("usage: schoolsync student-archive add --name NAME [--grade G] [--record TEXT] [--json]\n"
		"       schoolsync student-archive edit ID [--name NAME] [--grade G] [--record TEXT]\n"
		"       schoolsync student-archive show ID | list | export [--json]\n"
		"       schoolsync student-archive erase ID        (the owning school or the hub)\n\n"
		"一生一档案: name, grade and record are encrypted before they are written; only the\n"
		"owning school, the hub and auditors the hub granted can read them. Other nodes,\n"
		"relays, USB sticks and git hold ciphertext only. export writes CSV (docs/PRIVACY.md).\n"
		"Many students at once (a CSV saved from Excel, UTF-8 or GBK): schoolsync import\n"
		"student_archive FILE.csv, encrypted the same way.\n"));
	return CLI_EXIT_OK;
}

int cmd_archive(cli_ctx *ctx, int argc, char **argv)
{
	const char *name = NULL, *grade = NULL, *record = NULL, *actor = NULL;
	const cli_opt opts[] = { { "name", 1, &name, NULL }, { "grade", 1, &grade, NULL },
		{ "record", 1, &record, NULL }, { "actor", 1, &actor, NULL }, { NULL, 0, NULL, NULL } };
	char **pos = NULL, id[128];
	int npos = 0, hflag = 0, rc = CLI_EXIT_OK;
	ssync_node *n = NULL;
	ssync_error err;
	out_ctx o = { 0, NULL, NULL, 0 };
	const char *sub;

	if (cli_parse(ctx, "student-archive", argc, argv, opts, &hflag, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (hflag || npos == 0) {
		free(pos);
		return hflag ? help() : cli_usage(ctx, "student-archive", "a subcommand is required: add, edit, show, list, export, erase");
	}
	sub = pos[0];
	ssync_error_clear(&err);
	if (!(n = cli_open_node(ctx, 0, &rc)))
		goto out;
	if (strcmp(sub, "add") == 0 || strcmp(sub, "edit") == 0) {
		const char *names[3], *vals[3];
		int nf = 0, add = strcmp(sub, "add") == 0;
		if ((add && npos != 1) || (!add && npos != 2)) {
			rc = cli_usage(ctx, "student-archive", add ? "add takes no positional argument" : "edit ID");
			goto out;
		}
		if (name) { names[nf] = "name"; vals[nf++] = name; }
		if (grade) { names[nf] = "grade"; vals[nf++] = grade; }
		if (record) { names[nf] = "record"; vals[nf++] = record; }
		if (ssync_archive_write(n, add ? NULL : pos[1], nf, names, vals, actor, id, sizeof(id), &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{ss}", "id", id));
		else
			printf("%s\n", id);
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "list") == 0 || strcmp(sub, "export") == 0) {
		int show = strcmp(sub, "show") == 0;
		if ((show && npos != 2) || (!show && npos != 1)) {
			rc = cli_usage(ctx, "student-archive", show ? "show ID" : "no positional argument expected");
			goto out;
		}
		o.mode = ctx->json ? 1 : strcmp(sub, "export") == 0 ? 2 : 0;
		if (o.mode == 1 && !(o.rows = json_array())) {
			rc = CLI_EXIT_ERROR;
			goto out;
		}
		if (o.mode == 0 && !(o.t = cli_table_new(NCOLS, headers))) {
			rc = CLI_EXIT_ERROR;
			goto out;
		}
		if (o.mode == 2)
			printf("id,school_id,name,grade,record\n");
		if (ssync_archive_read(n, show ? pos[1] : NULL, on_row, &o, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (o.hidden) {
			/* this node's own rows under keys it cannot open: say what to do */
			int64_t lost = 0;
			if (ssync_privacy_keys_sealed_elsewhere(n, &lost, NULL) == 0 && lost > 0)
				fprintf(stderr, _("notice: %lld of this node's own data keys are sealed to an encryption key it no "
					"longer has (restored without its enc.key?): put the previous enc.key from the backup in this "
					"home as enc.key.old, then sync; the hub still reads these rows (docs/PRIVACY.md §8)\n"),
					(long long)lost);
		}
		if (o.mode == 1) {
			rc = cli_print_json(show && json_array_size(o.rows) == 1 ? json_incref(json_array_get(o.rows, 0)) : json_incref(o.rows));
		} else if (o.mode == 0) {
			cli_table_print(o.t, stdout);
		}
	} else if (strcmp(sub, "erase") == 0) {
		int nk = 0;
		if (npos != 2) {
			rc = cli_usage(ctx, "student-archive", "erase ID");
			goto out;
		}
		if (ssync_privacy_erase(n, "student_archive", pos[1], &nk, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssi}", "id", pos[1], "erased_keys", nk));
		else
			printf(_("erased %d data key(s) of %s here; the next sync tells the district (docs/PRIVACY.md)\n"), nk, pos[1]);
	} else {
		rc = cli_usage(ctx, "student-archive", "unknown subcommand '%s'", sub);
	}
out:
	json_decref(o.rows);
	cli_table_free(o.t);
	ssync_node_free(n);
	free(pos);
	return rc;
}

/* schoolsync privacy key | rotate-key */
int cmd_privacy(cli_ctx *ctx, int argc, char **argv)
{
	char **pos = NULL, hex[65];
	int npos = 0, hflag = 0, rc = CLI_EXIT_OK, r, reseal;
	ssync_node *n = NULL;
	ssync_error err;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };

	if (cli_parse(ctx, "privacy", argc, argv, opts, &hflag, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	reseal = npos == 2 && strcmp(pos[0], "reseal") == 0;
	if (hflag || (!reseal && (npos != 1 || (strcmp(pos[0], "key") && strcmp(pos[0], "rotate-key"))))) {
		free(pos);
		if (hflag) {
			printf(_("usage: schoolsync privacy key | rotate-key | reseal NODE [--json]\n\n"
				"key: this node's encryption public key (the hub certifies it: district enroll --enckey).\n"
				"rotate-key: a new encryption key; the old one is kept to open what was sealed to it.\n"
				"reseal NODE (hub): NODE lost the encryption key its data keys are sealed to; the hub seals\n"
				"  them again, to NODE's newly certified key among others, at its next sync.\n"));
			return CLI_EXIT_OK;
		}
		return cli_usage(ctx, "privacy", "key, rotate-key or reseal NODE");
	}
	ssync_error_clear(&err);
	if (!(n = cli_open_node(ctx, 0, &rc)))
		goto out;
	if (reseal) {
		int count = 0;
		if (ssync_privacy_reseal(n, pos[1], &count, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssi}", "node", pos[1], "resealed", count));
		else
			printf(_("%d data key(s) of %s go out in this hub's key store at its next sync, sealed to every reader of "
				"its school (docs/PRIVACY.md §8)\n"), count, pos[1]);
		goto out;
	}
	r = strcmp(pos[0], "key") == 0 ? ssync_privacy_enckey_hex(n, hex, &err) : ssync_privacy_rotate_enckey(n, hex, &err);
	if (r < 0) {
		rc = cli_fail(ctx, &err);
		goto out;
	}
	if (ctx->json)
		rc = cli_print_json(json_pack("{ss}", "enckey", hex));
	else
		printf("%s\n", hex);
out:
	ssync_node_free(n);
	free(pos);
	return rc;
}
