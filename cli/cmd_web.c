/* schoolsync web: a one-time login link to the web console (docs/WEB.md).
 *
 * With a daemon running for the home, it asks the daemon (control socket,
 * web-login) and the console runs inside the daemon, which starts it on
 * the first request if config.json did not. Without a daemon, this
 * process serves the console itself in the foreground until Ctrl-C; "sync
 * now" then answers that no daemon runs. The actor of the console's
 * writes is --user, else the OS user who runs this command. */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/control.h"
#include "schoolsync/status.h"
#include "schoolsync/web.h"

static void help(void)
{
	printf(_("usage: schoolsync web [--user NAME] [--port N] [--bind ADDR] [--json]\n\n"
		"Print a one-time link that logs into this node's web console, valid for 10 minutes:\n"
		"  http://127.0.0.1:PORT/login?t=TOKEN\n"
		"With schoolsyncd running, the console runs inside it (started now if HOME/config.json\n"
		"\"web\" did not start it). Without a daemon, this command serves the console itself\n"
		"until Ctrl-C.\n\n"
		"  --user NAME   who the console's writes are recorded as (default: the OS user)\n"
		"  --port N      port when the console is started now (default: config, else a free one)\n"
		"  --bind ADDR   address when started now (default 127.0.0.1; another address needs\n"
		"                \"allow_remote\": true in config.json and TLS in front, docs/WEB.md)\n"));
}

static int print_link(cli_ctx *ctx, const char *url, int port, const char *bind, const char *user, int daemon)
{
	int rc = CLI_EXIT_OK;

	if (ctx->json)
		rc = cli_print_json(json_pack("{sssisssssisb}", "url", url, "port", port, "bind", bind, "user", user,
			"expires_s", 600, "daemon", daemon));
	else
		printf("%s\n", url);
	fflush(stdout); /* a foreground console keeps running: the link must be out now */
	return rc;
}

/* No daemon: serve here until SIGINT/SIGTERM. */
static int serve_foreground(cli_ctx *ctx, const ssync_control_web_login *req, int allow_remote)
{
	ssync_web_options o = SSYNC_WEB_OPTIONS_INIT;
	ssync_web *w = NULL;
	ssync_status *st = NULL;
	ssync_error err;
	char url[SSYNC_WEB_URL_MAX];
	sigset_t set;
	int sig = 0, rc;

	/* Serve only a node this user can read: the pages would show nothing else. */
	ssync_error_clear(&err);
	if (ssync_status_read(&st, ctx->home, &err) < 0)
		return cli_fail(ctx, &err);
	ssync_status_free(st);

	/* Blocked before the server's threads start, so they inherit the
	 * mask and the signal comes to sigwait below. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	o.home = ctx->home;
	o.port = req->port >= 0 ? req->port : 0;
	o.bind = req->bind[0] ? req->bind : NULL;
	o.allow_remote = allow_remote;
	ssync_error_clear(&err);
	if (ssync_web_start(&w, &o, &err) < 0 || ssync_web_login(w, req->user, url, sizeof(url), &err) < 0) {
		ssync_web_stop(w);
		return cli_fail(ctx, &err);
	}
	rc = print_link(ctx, url, ssync_web_port(w), ssync_web_bind(w), req->user, 0);
	if (!ctx->json)
		fprintf(stderr, _("no schoolsyncd runs for %s: serving the console here until Ctrl-C\n"), ctx->home);
	(void)sigwait(&set, &sig);
	ssync_web_stop(w);
	/* Ctrl-C ends serving like any command's: exit 130 (main). */
	if (sig == SIGINT || sig == SIGTERM)
		cli_interrupted = sig;
	return rc;
}

int cmd_web(cli_ctx *ctx, int argc, char **argv)
{
	const char *user = NULL, *port = NULL, *bind = NULL;
	int help_flag = 0, npos = 0, rc, allow_remote = 0;
	char **pos = NULL, *line = NULL, *resp = NULL;
	const cli_opt opts[] = { { "user", 1, &user, NULL }, { "port", 1, &port, NULL }, { "bind", 1, &bind, NULL },
		{ "allow-remote", 0, NULL, &allow_remote }, { NULL, 0, NULL, NULL } };
	ssync_control_web_login req;
	ssync_error err;
	json_t *ans;

	if (cli_parse(ctx, "web", argc, argv, opts, &help_flag, &pos, &npos) < 0)
		return CLI_EXIT_USAGE;
	free(pos);
	if (help_flag) {
		help();
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "web", "unexpected argument");
	memset(&req, 0, sizeof(req));
	req.port = -1;
	if (!user) {
		struct passwd *pw = getpwuid(geteuid());
		user = pw && pw->pw_name ? pw->pw_name : "unknown";
	}
	if (!*user || strlen(user) >= sizeof(req.user))
		return cli_usage(ctx, "web", "--user must be 1..%zu bytes", sizeof(req.user) - 1);
	snprintf(req.user, sizeof(req.user), "%s", user);
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (!*port || *end || p < 0 || p > 65535)
			return cli_usage(ctx, "web", "--port must be 0..65535");
		req.port = (int)p;
	}
	if (bind) {
		if (strlen(bind) >= sizeof(req.bind))
			return cli_usage(ctx, "web", "--bind must be an IP address");
		snprintf(req.bind, sizeof(req.bind), "%s", bind);
	}
	/* jansson takes UTF-8 only; the name is recorded in signed entries */
	if (!(line = ssync_control_web_login_request(&req)))
		return cli_usage(ctx, "web", "--user must be UTF-8 text (1..%zu bytes)", sizeof(req.user) - 1);
	ssync_error_clear(&err);
	rc = ssync_control_call_line(ctx->home, line, SSYNC_CONTROL_STATUS_TIMEOUT_MS, &resp, &err);
	free(line);
	if (rc == SSYNC_ENOTFOUND)
		return serve_foreground(ctx, &req, allow_remote);
	if (rc < 0)
		return cli_fail(ctx, &err);
	ans = json_loads(resp, 0, NULL);
	if (!json_is_true(json_object_get(ans, "ok"))) {
		if (ssync_error_parse_json(&err, resp, strlen(resp)) < 0)
			ssync_error_set(&err, SSYNC_ERROR, "the daemon refused without saying why");
		rc = cli_fail(ctx, &err);
	} else {
		rc = print_link(ctx, json_string_value(json_object_get(ans, "url")),
			(int)json_integer_value(json_object_get(ans, "port")),
			json_string_value(json_object_get(ans, "bind")), req.user, 1);
	}
	json_decref(ans);
	free(resp);
	return rc;
}
