/* import / export: the district's spreadsheets in and out (src/csvio.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/csvio.h"
#include "schoolsync/domain.h"

static void table_names(FILE *f)
{
	int i;

	/* student_archive too: its private columns are encrypted as add does */
	for (i = 0; i < ssync_domain_ntables(); i++)
		fprintf(f, "%s%s", i ? " " : "", ssync_domain_table_at(i)->name);
	fputc('\n', f);
}

/* Rows checked / written, on stderr: "\r" updates on a terminal, a line
 * per call elsewhere (--progress into a log). Stops the import at the next
 * row when Ctrl-C was pressed (main defers the signal for import). */
static int import_progress(const char *phase, long done, long total, void *p)
{
	const int *tty = p;

	if (strcmp(phase, "check") == 0)
		fprintf(stderr, _("%simport: checked %ld/%ld rows%s"), *tty ? "\r" : "", done, total, *tty ? "   " : "\n");
	else if (done < total || total == 0)
		fprintf(stderr, _("%simport: writing %ld rows in one transaction%s"), *tty ? "\r" : "", total,
			*tty ? "   " : "\n");
	else
		fprintf(stderr, _("%simport: wrote %ld rows\n"), *tty ? "\r" : "", total);
	fflush(stderr);
	return cli_interrupted != 0;
}

static int import_quiet(const char *phase, long done, long total, void *p)
{
	(void)phase; (void)done; (void)total; (void)p;
	return cli_interrupted != 0;
}

int cmd_import(cli_ctx *ctx, int argc, char **argv)
{
	const char *school = NULL, *actor = NULL, *encoding = NULL;
	int help = 0, npos = 0, dry = 0, rc = CLI_EXIT_OK, e, show = 0, tty = isatty(2);
	long i;
	char **pos = NULL, own[64];
	const cli_opt opts[] = {
		{ "school", 1, &school, NULL }, { "actor", 1, &actor, NULL }, { "dry-run", 0, NULL, &dry },
		{ "encoding", 1, &encoding, NULL }, { "progress", 0, NULL, &show }, { NULL, 0, NULL, NULL }
	};
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_import_result res;
	ssync_node *n = NULL;
	ssync_error err;
	struct timespec t0, t1;
	double secs;

	if (cli_parse(ctx, "import", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		printf(_("usage: schoolsync import TABLE FILE.csv [--school ID] [--encoding auto|utf-8|gb18030]\n"
			"                         [--dry-run] [--progress] [--actor NAME] [--json]\n\n"
			"Import a spreadsheet saved as CSV: UTF-8 (with or without BOM) or GB18030/GBK,\n"
			"as Excel on Chinese Windows saves it. --encoding auto (the default) tells them\n"
			"apart and refuses a file it cannot be sure of rather than store garbled text;\n"
			"then give --encoding utf-8 or gb18030. The first row\n"
			"names the columns: schema names (staff_no) or their Chinese labels (工号), in\n"
			"any order; an id column is optional. Every row is checked like the everyday\n"
			"commands and against the other rows of the file. All or nothing: if any row\n"
			"is bad, nothing is written and every bad line and column is listed.\n"
			"--school fills school_id where the file has none (default: the school this\n"
			"node speaks for). --progress prints rows done/total to stderr (always on a\n"
			"terminal). Ctrl-C stops it with nothing written (exit 130). Exit 1 on any problem.\n"
			"Tables: "));
		table_names(stdout);
		free(pos);
		return CLI_EXIT_OK;
	}
	if (npos != 2) {
		free(pos);
		return cli_usage(ctx, "import", "needs TABLE and FILE.csv");
	}
	if (!(n = cli_open_node(ctx, 0, &rc))) {
		free(pos);
		return rc;
	}
	/* Like add: owned rows default to the school this node speaks for. */
	if (!school && ssync_domain_node_school(n, own, sizeof(own), NULL) == 0)
		school = own;
	o.school_id = school;
	o.encoding = encoding;
	o.dry_run = dry;
	o.actor = actor;
	o.progress = (show || tty) && !ctx->json ? import_progress : import_quiet;
	o.progress_payload = &tty;
	ssync_error_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = ssync_csvio_import(n, pos[0], pos[1], &o, &res, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (ctx->json) {
		json_t *probs = json_array();
		for (i = 0; probs && i < res.nproblems; i++)
			json_array_append_new(probs, json_pack("{sIsissss}", "line", (json_int_t)res.problems[i].line,
				"column", res.problems[i].column, "column_name", res.problems[i].column_name,
				"message", res.problems[i].message));
		if (e < 0 && res.nproblems == 0) {
			json_decref(probs);
			rc = cli_fail(ctx, &err);
		} else {
			rc = cli_print_json(json_pack("{sssssssbsIsIsisIsIsosf}", "table", pos[0], "file", pos[1],
				"encoding", res.encoding, "ok", e == 0,
				"rows", (json_int_t)res.rows, "inserted", (json_int_t)res.inserted, "entries", res.entries,
				"first_seq", (json_int_t)res.first_seq, "last_seq", (json_int_t)res.last_seq,
				"problems", probs, "seconds", secs));
			if (e < 0)
				rc = CLI_EXIT_ERROR;
		}
	} else if (e < 0) {
		for (i = 0; i < res.nproblems; i++) {
			const ssync_import_problem *p = &res.problems[i];
			if (p->column)
				fprintf(stderr, _("%s:%ld: column %d (%s): %s\n"), pos[1], p->line, p->column, p->column_name, p->message);
			else
				fprintf(stderr, "%s:%ld: %s\n", pos[1], p->line, p->message);
		}
		rc = cli_fail(ctx, &err);
	} else if (dry) {
		printf(_("%ld rows of %s checked (%s): no problems (dry run, nothing written)\n"), res.rows, pos[0], res.encoding);
	} else {
		printf(_("%ld rows imported into %s from %s in %d signed entr%s (%.2f s, %.0f rows/s)\n"), res.inserted, pos[0],
			res.encoding, res.entries, res.entries == 1 ? "y" : "ies", secs,
			secs > 0 ? (double)res.inserted / secs : 0.0);
	}
	ssync_csvio_result_clear(&res);
	ssync_node_free(n);
	free(pos);
	return rc;
}

static int to_stdout(const char *buf, size_t len, void *p)
{
	(void)p;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

int cmd_export(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, csv = 0, json = 0, bom = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = {
		{ "csv", 0, NULL, &csv }, { "bom", 0, NULL, &bom }, { NULL, 0, NULL, NULL }
	};
	ssync_node *n;
	ssync_error err;

	if (cli_parse(ctx, "export", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	json = ctx->json;
	if (help) {
		printf(_("usage: schoolsync export TABLE [--csv [--bom] | --json]\n\n"
			"Write every row of TABLE to stdout as CSV (default; --bom adds the UTF-8 mark\n"
			"Excel needs to show Chinese) or as a JSON array. Private tables are never\n"
			"exported. Tables: "));
		table_names(stdout);
		free(pos);
		return CLI_EXIT_OK;
	}
	if (npos != 1) {
		free(pos);
		return cli_usage(ctx, "export", "needs one TABLE");
	}
	if (csv && json) {
		free(pos);
		return cli_usage(ctx, "export", "choose --csv or --json");
	}
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc))) {
		free(pos);
		return rc;
	}
	ssync_error_clear(&err);
	if (bom && !json)
		fputs("\xef\xbb\xbf", stdout);
	if (ssync_csvio_export(n, pos[0], json ? SSYNC_FORMAT_JSON : SSYNC_FORMAT_CSV, to_stdout, NULL, &err) < 0)
		rc = cli_fail(ctx, &err);
	if (fflush(stdout) != 0)
		rc = CLI_EXIT_ERROR;
	ssync_node_free(n);
	free(pos);
	return rc;
}
