/* check and report: what the hub reads (src/domain/check.c, report.c). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include <jansson.h>

#include "schoolsync/report.h"

int cmd_check(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL, *json = NULL;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	ssync_node *n;
	ssync_error err;
	long count = 0;

	if (cli_parse(ctx, "check", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync check [--json]\n\n"
			"Find what per-cell merging cannot prevent, with the records and schools\n"
			"involved: overlapping bookings of one resource, a teacher on two rotations\n"
			"in one term, duplicate staff numbers, references to rows that do not exist\n"
			"(deleted, or not yet arrived), values the commands would refuse.\n"
			"Exit status: 0 nothing found, 1 violations found (or an error).\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "check", "unexpected argument");
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	ssync_error_clear(&err);
	if (ssync_report_check(n, &json, &count, &err) < 0) {
		rc = cli_fail(ctx, &err);
	} else if (ctx->json) {
		printf("%s\n", json);
		rc = count ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	} else {
		json_error_t jerr;
		json_t *r = json_loads(json, 0, &jerr), *v;
		size_t i;
		json_array_foreach(json_object_get(r, "violations"), i, v) {
			json_t *s;
			size_t k;
			printf("%-19s %s\n", json_string_value(json_object_get(v, "kind")),
				json_string_value(json_object_get(v, "message")));
			printf(_("%-19s schools:"), "");
			json_array_foreach(json_object_get(v, "schools"), k, s)
				printf(" %s", json_string_value(s));
			printf("\n");
		}
		printf(_("%ld violation%s found\n"), count, count == 1 ? "" : "s");
		json_decref(r);
		rc = count ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	}
	free(json);
	ssync_node_free(n);
	return rc;
}

static int to_stdout(const char *buf, size_t len, void *p)
{
	(void)p;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

typedef struct text_out {
	cli_table *t;
} text_out;

static int text_part(int section, int nvals, const char *const *vals, void *p)
{
	text_out *o = p;
	const char *row[32];
	int k;

	if (section == SSYNC_REPORT_TITLE) {
		printf("%s\n", vals[0] ? vals[0] : "");
	} else if (section == SSYNC_REPORT_SUMMARY) {
		int pad = 40 - cli_display_width(vals[0] ? vals[0] : "");
		printf("  %s%*s %s\n", vals[0] ? vals[0] : "", pad > 0 ? pad : 0, "", vals[1] ? vals[1] : "");
	} else if (section == SSYNC_REPORT_COLUMNS) {
		/* The library's column names (src/domain/report.c), for the
		 * catalogue: cli_table_new translates the ones it has. */
		static const char *const columns[] = { N_("bookings"), N_("by_others"), N_("days"), N_("due"),
			N_("hours_by_others"), N_("key teachers"), N_("key_rate_pct"), N_("key_rotated"), N_("kind"),
			N_("last_received"), N_("last_seq"), N_("last_written"), N_("meets_10pct"), N_("name"), N_("node"),
			N_("open"), N_("other_schools"), N_("rate_pct"), N_("resource"), N_("rotated"), N_("rotated_due"),
			N_("school"), N_("school_name"), N_("status"), N_("teachers"), N_("total"), N_("zone") };
		const char *hdr[32];
		(void)columns;
		for (k = 0; k < nvals && k < 32; k++)
			hdr[k] = !vals[k] ? "" : strcmp(vals[k], "key") == 0 ? _("key teachers") : _(vals[k]);
		printf("\n");
		if (nvals > 32 || !(o->t = cli_table_new_raw(nvals, hdr)))
			return 1;
	} else if (o->t) {
		for (k = 0; k < nvals && k < 32; k++)
			row[k] = vals[k] ? vals[k] : "";
		return cli_table_add(o->t, row) != 0;
	}
	return 0;
}

int cmd_report(cli_ctx *ctx, int argc, char **argv)
{
	const char *html = NULL, *year = NULL;
	int help = 0, npos = 0, csv = 0, bom = 0, rc = CLI_EXIT_OK, i;
	char **pos = NULL, *json = NULL;
	const cli_opt opts[] = {
		{ "html", 1, &html, NULL }, { "csv", 0, NULL, &csv }, { "bom", 0, NULL, &bom }, { "year", 1, &year, NULL },
		{ NULL, 0, NULL, NULL }
	};
	ssync_report_options o = SSYNC_REPORT_OPTIONS_INIT;
	ssync_node *n = NULL;
	ssync_error err;
	static const char *all[] = { "rotation", "courses", "resources", "freshness" };

	if (cli_parse(ctx, "report", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		printf(_("usage: schoolsync report rotation|courses|resources|freshness|all\n"
			"                        [--year YYYY] [--json | --csv [--bom] | --html FILE]\n\n"
			"  rotation   teachers due to rotate (≥10 years at one school, more than 5 years\n"
			"             before retirement, title 中级 or above), rotated this school year,\n"
			"             rate against the 10 %% target; 特级/正高级/committed 骨干 against 20 %%\n"
			"  courses    schools × categories of shared courses; schools with none; progress to 10\n"
			"  resources  the sharing list with use by other schools\n"
			"  freshness  when each school's data last arrived\n\n"
			"--year: the school year starting that September (default: the current one).\n"
			"--csv --bom starts the CSV with the UTF-8 mark Excel needs to show Chinese.\n"
			"--html writes one self-contained page with charts (several reports: list them).\n"));
		free(pos);
		return CLI_EXIT_OK;
	}
	if (npos < 1) {
		free(pos);
		return cli_usage(ctx, "report", "which report? rotation, courses, resources, freshness");
	}
	if (bom && !csv) {
		free(pos);
		return cli_usage(ctx, "report", "--bom goes with --csv");
	}
	if ((csv && (ctx->json || html)) || (ctx->json && html)) {
		free(pos);
		return cli_usage(ctx, "report", "choose one of --json, --csv, --html");
	}
	if (year) {
		char *end;
		long y = strtol(year, &end, 10);
		if (*end || y < 2000 || y > 2100) {
			free(pos);
			return cli_usage(ctx, "report", "--year must be 2000..2100");
		}
		o.year = (int)y;
	}
	if (!html && (npos != 1 || strcmp(pos[0], "all") == 0)) {
		free(pos);
		return cli_usage(ctx, "report", "one report at a time, except with --html");
	}
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc))) {
		free(pos);
		return rc;
	}
	ssync_error_clear(&err);
	if (html) {
		const char **kinds = (const char **)pos;
		int nk = npos;
		if (npos == 1 && strcmp(pos[0], "all") == 0) {
			kinds = all;
			nk = 4;
		}
		if (ssync_report_html(n, kinds, nk, &o, html, &err) < 0)
			rc = cli_fail(ctx, &err);
		else if (!ctx->quiet)
			fprintf(stderr, _("wrote %s\n"), html);
	} else if (csv) {
		if (bom)
			fputs("\xef\xbb\xbf", stdout);
		if (ssync_report_csv(n, pos[0], &o, to_stdout, NULL, &err) < 0)
			rc = cli_fail(ctx, &err);
	} else if (ctx->json) {
		if (ssync_report_json(n, pos[0], &o, &json, &err) < 0)
			rc = cli_fail(ctx, &err);
		else
			printf("%s\n", json);
	} else {
		text_out t = { NULL };
		if (ssync_report_rows(n, pos[0], &o, text_part, &t, &err) < 0)
			rc = cli_fail(ctx, &err);
		if (t.t) {
			cli_table_print(t.t, stdout);
			cli_table_free(t.t);
		}
	}
	(void)i;
	free(json);
	free(pos);
	ssync_node_free(n);
	return rc;
}
