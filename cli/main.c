/* schoolsync: the command table and global options. Each command lives in a
 * cmd_<group>.c file and parses its own options with cli_parse(). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/home.h"
#include "schoolsync/keys.h"

static const cli_cmd commands[] = {
	{ "init", N_("create a node's home: replica, key, exchange repository"), cmd_init },
	{ "sql", N_("run SQL: reads print rows, writes become one signed entry"), cmd_sql },
	{ "log", N_("list the entries held, verified"), cmd_log },
	{ "state-hash", N_("digest of the visible data (equal on converged replicas)"), cmd_state_hash },
	{ "verify", N_("check the replica against its log (signatures, chains, drift)"), cmd_verify },
	{ "remote", N_("add, list, remove git remotes"), cmd_remote },
	{ "sync", N_("exchange logs with remotes: fetch, verify, apply, seal, push"), cmd_sync },
	{ "conflicts", N_("cells written concurrently, with every version"), cmd_conflicts },
	{ "resolve", N_("settle a conflicted cell: keep one version or a new value"), cmd_resolve },
	{ "quarantine", N_("received entries that failed a check, with the reason"), cmd_quarantine },
	{ "reenter", N_("this school's entries that will never apply: list, write again (--apply)"), cmd_reenter },
	{ "status", N_("sync state: remotes (from the daemon), pending, conflicts, freshness"), cmd_status },
	{ "web", N_("a one-time login link to the local web console"), cmd_web },
	{ "zone", N_("学区: add, edit, delete, list, show"), cmd_domain },
	{ "group", N_("教育集团: add, edit, delete, list, show"), cmd_domain },
	{ "school", N_("schools: add, edit, delete, list, show"), cmd_domain },
	{ "teacher", N_("teachers: add, edit, delete, list, show"), cmd_domain },
	{ "rotation", N_("交流轮岗: propose, approve, reject, complete, list, show"), cmd_domain },
	{ "course", N_("courses: add, share, approve, list, show"), cmd_domain },
	{ "enrollment", N_("students in other schools' shared courses: add, list"), cmd_domain },
	{ "enroll", N_("enrol students in a shared course (= enrollment add)"), cmd_domain },
	{ "resource", N_("场馆 实验室 图书馆 劳动基地: add, list, show"), cmd_domain },
	{ "booking", N_("bookings of resources: add, list, show"), cmd_domain },
	{ "book", N_("book a resource (= booking add)"), cmd_domain },
	{ "training", N_("training credits: add, list"), cmd_domain },
	{ "observation", N_("课堂观察: add, list"), cmd_domain },
	{ "funding", N_("经费: add, list (the hub)"), cmd_domain },
	{ "student-archive", N_("一生一档案 (encrypted): add, edit, show, list, export, erase"), cmd_archive },
	{ "privacy", N_("this node's encryption key: key, rotate-key"), cmd_privacy },
	{ "import", N_("import a CSV spreadsheet into a table, all or nothing"), cmd_import },
	{ "export", N_("write a table as CSV or JSON"), cmd_export },
	{ "check", N_("invariants merging cannot keep: overlaps, duplicates, dangling references"), cmd_check },
	{ "report", N_("rotation, courses, resources, freshness reports (text, JSON, CSV, HTML)"), cmd_report },
	{ "demo-data", N_("fill this node with a synthetic district (seed 004's Chongming)"), cmd_demo_data },
	{ "district", N_("district trust (hub): init, enroll, revoke, list certificates"), cmd_district },
	{ "join", N_("pin the district's root public key on this node"), cmd_join },
	{ "audit", N_("verify a repository from the district key alone; history of a record"), cmd_audit },
	{ "guard", N_("a hub's git receive hook: init, check, pre-receive (refuses what receivers refuse)"), cmd_guard },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const cli_cmd *c;

	fprintf(f, _("usage: schoolsync [--home DIR] [--json] COMMAND [ARGS...]\n\n"
		"Offline-first sync of a school district's data.\n\n"
		"Global options:\n"
		"  --home DIR   the node's home (default: $SCHOOLSYNC_HOME, else ~/.schoolsync)\n"
		"  --json       machine-readable output (times stay UTC, ISO 8601 with Z)\n"
		"  --utc        show times in UTC (default: local time, from TZ)\n"
		"  --help       this help; 'schoolsync COMMAND --help' for a command\n"
		"  --version    print the version\n\n"
		"Commands:\n"));
	for (c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, _(c->summary));
}

/*
 * Who writes, when neither --actor nor $SCHOOLSYNC_ACTOR says: "actor" in
 * HOME/config.json (say "教务处 王老师"), so entries do not all name the OS
 * user the clerk happens to log in as (often root). A file that is not
 * readable JSON is the daemon's to report (schoolsyncd --check-config).
 */
static void default_actor(const char *home)
{
	char path[4200];
	json_t *root, *a;

	if (getenv("SCHOOLSYNC_ACTOR") || ssync_home_path(path, sizeof(path), home, SSYNC_HOME_CONFIG, NULL) < 0)
		return;
	if (!(root = json_load_file(path, 0, NULL)))
		return;
	a = json_object_get(root, "actor");
	if (json_is_string(a) && json_string_length(a) > 0 && json_string_length(a) <= 256 &&
	    setenv("SCHOOLSYNC_ACTOR", json_string_value(a), 1) != 0)
		fprintf(stderr, _("schoolsync: warning: cannot use the actor of %s\n"), path);
	json_decref(root);
}

int main(int argc, char **argv)
{
	cli_ctx ctx;
	const cli_cmd *c;
	static char homebuf[4096];
	int i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.prog = "schoolsync";
	cli_i18n_init(argv[0]);
	ssync_keys_init();
	/* A remote that drops the connection must give E_NET, not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--home") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, _("schoolsync: --home needs a directory\n"));
				return CLI_EXIT_USAGE;
			}
			ctx.home = argv[++i];
		} else if (strncmp(argv[i], "--home=", 7) == 0) {
			ctx.home = argv[i] + 7;
		} else if (strcmp(argv[i], "--json") == 0) {
			ctx.json = 1;
		} else if (strcmp(argv[i], "--utc") == 0) {
			if (setenv("TZ", "UTC", 1) != 0) {
				fprintf(stderr, _("schoolsync: --utc: cannot set TZ\n"));
				return CLI_EXIT_ERROR;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf(_("schoolsync 0.1.0\n"));
			return CLI_EXIT_OK;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, _("schoolsync: unknown option '%s'\n"), argv[i]);
			usage(stderr);
			return CLI_EXIT_USAGE;
		} else {
			break;
		}
	}
	tzset();
	if (i >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* The guard runs as a git server's hook, where no node home exists. */
	if (strcmp(argv[i], "guard") == 0)
		return cmd_guard(&ctx, argc - i, argv + i);
	if (!ctx.home || !*ctx.home) {
		ssync_error err;
		ssync_error_clear(&err);
		if (ssync_home_default(homebuf, sizeof(homebuf), &err) < 0)
			return cli_fail(&ctx, &err);
		ctx.home = homebuf;
	}
	default_actor(ctx.home);
	cli_signals_init();
	for (c = commands; c->name; c++)
		if (strcmp(c->name, argv[i]) == 0) {
			static const char *const deferring[] = { "init", "join", "district", "remote", "sync",
				"import", NULL };
			int k, rc;
			for (k = 0; deferring[k]; k++)
				if (strcmp(deferring[k], c->name) == 0)
					cli_defer_signals();
			rc = c->run(&ctx, argc - i, argv + i);
			return cli_interrupted ? cli_exit_interrupted() : rc;
		}
	fprintf(stderr, _("schoolsync: unknown command '%s'\n"), argv[i]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
