/* demo-data: fill a node with a synthetic district (src/demo_data.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "schoolsync/domain.h"

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cmd_demo_data(cli_ctx *ctx, int argc, char **argv)
{
	const char *schools = NULL, *teachers = NULL, *seed = NULL, *year = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK, i;
	char **pos = NULL;
	const cli_opt opts[] = {
		{ "schools", 1, &schools, NULL }, { "teachers", 1, &teachers, NULL },
		{ "seed", 1, &seed, NULL }, { "year", 1, &year, NULL }, { NULL, 0, NULL, NULL }
	};
	ssync_demo_options o = SSYNC_DEMO_OPTIONS_INIT;
	ssync_demo_stats st;
	ssync_node *n;
	ssync_error err;
	struct timespec t0, t1;
	long v;

	if (cli_parse(ctx, "demo-data", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync demo-data [--schools N] [--teachers N] [--seed N] [--year YYYY] [--json]\n\n"
			"Fill this node with a synthetic district like seed 004's Chongming: zones\n"
			"崇西 城桥 崇中 堡港 崇东 长横, 18 towns, local and 名校+新校 groups, ~35 %%\n"
			"small schools (< 200 students), ~N teachers per school with Chinese names,\n"
			"rotations, courses, resources, bookings, training, observations, funding.\n"
			"Defaults: --schools 111 --teachers 30 --seed 1 --year: the current school year.\n"
			"The same seed gives the same district. One transaction of signed entries.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "demo-data", "unexpected argument");
	if (schools) {
		if (parse_num(schools, 2, 999, &v) < 0)
			return cli_usage(ctx, "demo-data", "--schools must be 2..999");
		o.schools = (int)v;
	}
	if (teachers) {
		if (parse_num(teachers, 2, 300, &v) < 0)
			return cli_usage(ctx, "demo-data", "--teachers must be 2..300");
		o.teachers = (int)v;
	}
	if (seed) {
		if (parse_num(seed, 0, 2147483647L, &v) < 0)
			return cli_usage(ctx, "demo-data", "--seed must be a non-negative number");
		o.seed = (uint64_t)v;
	}
	if (year) {
		if (parse_num(year, 2000, 2100, &v) < 0)
			return cli_usage(ctx, "demo-data", "--year must be 2000..2100");
		o.year = (int)v;
	}
	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ssync_domain_demo_generate(n, &o, &st, &err) < 0) {
		rc = cli_fail(ctx, &err);
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (ctx->json) {
			json_t *rows = json_object();
			for (i = 0; i < ssync_domain_ntables() && i < 16; i++)
				json_object_set_new(rows, ssync_domain_table_at(i)->name, json_integer(st.rows[i]));
			rc = cli_print_json(json_pack("{sosIsisfsf}", "rows", rows, "total", (json_int_t)st.total,
				"entries", st.entries, "seconds", secs, "rows_per_second", secs > 0 ? (double)st.total / secs : 0.0));
		} else {
			for (i = 0; i < ssync_domain_ntables() && i < 16; i++)
				if (st.rows[i])
					printf("%-12s %6ld\n", ssync_domain_table_at(i)->name, st.rows[i]);
			printf(_("%ld rows in %d signed entries, %.2f s (%.0f rows/s)\n"), st.total, st.entries, secs,
				secs > 0 ? (double)st.total / secs : 0.0);
		}
	}
done:
	ssync_node_free(n);
	return rc;
}
