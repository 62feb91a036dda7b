/* guard init | check | update | pre-receive: the hub's git receive hooks
 * (src/sync/guard.c judges, src/sync/guard_setup.c installs). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "schoolsync/guard.h"

static int guard_help(void)
{
	printf("usage: schoolsync guard init REPO --district-pubkey HEX [--all-or-nothing] [--json]\n"
		"       schoolsync guard check REPO [--json]\n"
		"       schoolsync guard update REF OLD NEW  (run by git, never by hand)\n"
		"       schoolsync guard pre-receive        (run by git, never by hand)\n\n"
		"init         make REPO (a bare git repository, created if missing) a guarded hub:\n"
		"             pin the district root key in REPO/" SSYNC_GUARD_KEY_FILE " and install\n"
		"             hooks/update running this binary, which judges each pushed ref\n"
		"             alone (a bad ref does not refuse the good ones of the same push).\n"
		"             --all-or-nothing installs hooks/pre-receive instead (for servers\n"
		"             that own the update hook, e.g. gitolite). Safe to run again.\n"
		"check        whether REPO is guarded (exit 1 if not, saying why).\n"
		"update       judge one ref update as git's update hook, as below.\n"
		"pre-receive  judge a push as git's hook: refs/heads/node/<id> only as a\n"
		"             fast-forward of the exact branch shape whose entries verify under\n"
		"             that node's certificate; refs/heads/district only fast-forward with\n"
		"             trust objects signed by the pinned root; no deletions, no other\n"
		"             refs. Each refusal names the ref and the reason on stderr, which\n"
		"             git shows to the pusher. See docs/OPERATIONS.md, 'A guarded hub'.\n");
	return CLI_EXIT_OK;
}

static void on_refusal(const char *ref, const char *reason, void *payload)
{
	++*(int *)payload;
	fprintf(stderr, "schoolsync guard: refused %s: %s\n", ref, reason);
}

static int print_status(cli_ctx *ctx, const char *verb, const ssync_guard_status *s)
{
	if (ctx->json) {
		int rc = cli_print_json(json_pack("{sbsbsssssssssbssss}", "ok", s->installed, "installed", s->installed,
			"repo", s->gitdir, "binary", s->binary, "district_pubkey", s->district_pubkey, "problem", s->problem,
			"changed", s->changed, "command", verb, "hook", s->hook));
		return rc != CLI_EXIT_OK ? rc : s->installed ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	if (s->installed) {
		printf("guarded: %s\n  hooks/%s runs %s guard %s\n  district root %s\n%s", s->gitdir, s->hook, s->binary,
			s->hook, s->district_pubkey, strcmp(verb, "init") == 0 && !s->changed ? "  (already set up: nothing changed)\n" : "");
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "schoolsync: not guarded: %s: %s\n", s->gitdir, s->problem);
	return CLI_EXIT_ERROR;
}

int cmd_guard(cli_ctx *ctx, int argc, char **argv)
{
	const char *pub = NULL;
	int help = 0, npos = 0, e, all = 0;
	char **pos = NULL, self[PATH_MAX];
	const cli_opt opts[] = { { "district-pubkey", 1, &pub, NULL }, { "all-or-nothing", 0, NULL, &all },
		{ NULL, 0, NULL, NULL } };
	ssync_guard_status s;
	ssync_error err;

	if (cli_parse(ctx, "guard", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help) {
		free(pos);
		return guard_help();
	}
	ssync_error_clear(&err);
	if (npos == 1 && strcmp(pos[0], "pre-receive") == 0) {
		int refused = 0;
		free(pos);
		e = ssync_guard_pre_receive(stdin, on_refusal, &refused, &err);
		if (e == 0)
			return CLI_EXIT_OK;
		if (refused > 0) {
			fprintf(stderr, "schoolsync guard: push refused (%s): nothing was updated\n", err.message);
			return CLI_EXIT_ERROR;
		}
		fprintf(stderr, "schoolsync guard: cannot judge the push, so it is refused: %s [%s]\n", err.message,
			ssync_error_name(err.code));
		return CLI_EXIT_ERROR;
	}
	if (npos == 4 && strcmp(pos[0], "update") == 0) {
		int refused = 0;
		e = ssync_guard_update(pos[1], pos[2], pos[3], on_refusal, &refused, &err);
		free(pos);
		if (e == 0)
			return CLI_EXIT_OK;
		if (refused > 0)
			return CLI_EXIT_ERROR; /* the reason is on stderr; git refuses this ref only */
		fprintf(stderr, "schoolsync guard: cannot judge the update, so it is refused: %s [%s]\n", err.message,
			ssync_error_name(err.code));
		return CLI_EXIT_ERROR;
	}
	if (npos == 2 && strcmp(pos[0], "init") == 0) {
		ssize_t n;
		if (!pub) {
			free(pos);
			return cli_usage(ctx, "guard init", "--district-pubkey HEX is required");
		}
		/* The hook must run this very binary, wherever git starts it from. */
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
			free(pos);
			ssync_error_set(&err, SSYNC_EIO, "cannot find this binary's path (/proc/self/exe)");
			return cli_fail(ctx, &err);
		}
		self[n] = 0;
		e = ssync_guard_init_mode(pos[1], pub, self, all ? SSYNC_GUARD_ALL_OR_NOTHING : SSYNC_GUARD_PER_REF, &s,
			&err);
		free(pos);
		return e < 0 ? cli_fail(ctx, &err) : print_status(ctx, "init", &s);
	}
	if (npos == 2 && strcmp(pos[0], "check") == 0) {
		e = ssync_guard_check(pos[1], &s, &err);
		free(pos);
		return e < 0 ? cli_fail(ctx, &err) : print_status(ctx, "check", &s);
	}
	free(pos);
	return cli_usage(ctx, "guard", "a subcommand is required: init REPO, check REPO, update REF OLD NEW or pre-receive");
}
