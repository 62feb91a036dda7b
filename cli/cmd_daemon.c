/* status, and `sync --now`: talk to the node's daemon through the library's
 * control client (schoolsync/control.h, docs/CONTROL.md). Without a daemon,
 * status reads the replica itself (sync/status.c) and says what it cannot
 * know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/control.h"
#include "schoolsync/status.h"
#include "schoolsync/store.h"
#include "schoolsync/sync.h"

/* "3m ago"-style text for @p secs. */
static void human_age(char *out, size_t n, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, n, "%llds", secs);
	else if (secs < 7200)
		snprintf(out, n, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(out, n, "%lldh%02lldm", secs / 3600, (secs % 3600) / 60);
	else
		snprintf(out, n, "%lldd%02lldh", secs / 86400, (secs % 86400) / 3600);
}

/* Age of a UTC timestamp as sync records it ("YYYY-MM-DDTHH:MM:SS..."), or -1. */
static long long age_of(const char *ts)
{
	struct tm tm;
	const char *end;

	if (!ts)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (!(end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) && !(end = strptime(ts, "%Y-%m-%d %H:%M:%S", &tm)))
		return -1;
	return (long long)(time(NULL) - timegm(&tm));
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Managed or not, enrolled or not: what a clerk must act on is said here. */
static void print_trust(json_t *node)
{
	if (!json_is_true(json_object_get(node, "managed"))) {
		printf(_("trust: UNMANAGED - no district root pinned: this node accepts every signed entry and\n"
			"       enforces no write policy. Run: schoolsync join --district %s --district-pubkey HEX\n"
			"       (the hub's 'district init' printed HEX)\n"),
			jstr(node, "district") ? jstr(node, "district") : "ID");
		return;
	}
	if (!json_is_true(json_object_get(node, "enrolled"))) {
		printf(_("trust: managed, NOT ENROLLED - no certificate for this node yet: its writes are refused.\n"
			"       Give the hub this node's id and public key; the certificate arrives with the next sync\n"));
		return;
	}
	{
		char until[64];
		const char *u = jstr(node, "cert_valid_until");
		printf(_("trust: managed, enrolled: role %s%s%s, certificate %lld, %s%s%s\n"), jstr(node, "role"),
			jstr(node, "school") ? ", school " : "", jstr(node, "school") ? jstr(node, "school") : "",
			(long long)json_integer_value(json_object_get(node, "cert_serial")),
			u ? _("valid until ") : _("no expiry"), u ? cli_local_time(u, until, sizeof(until)) : "",
			json_is_true(json_object_get(node, "revoked")) ? " - REVOKED: call the hub" : "");
	}
}

static void print_node(json_t *node)
{
	json_t *nodes = json_object_get(node, "nodes");
	size_t i;

	printf(_("node %s (district %s)\n"), jstr(node, "node"), jstr(node, "district") ? jstr(node, "district") : "?");
	if (json_object_get(node, "managed"))
		print_trust(node);
	if (json_is_true(json_object_get(node, "recovering")))
		printf(_("RESTORED, WAITING FOR ITS OWN HISTORY: writes are refused until a sync reads this node's\n"
			"       own branch (node/%s) from a remote that holds it - usually the hub:\n"
			"       schoolsync sync --remote hub. A new or empty USB stick does not count\n"
			"       (docs/OPERATIONS.md, Restoring a node)\n"), jstr(node, "node"));
	if (json_integer_value(json_object_get(node, "keys_sealed_elsewhere")) > 0)
		printf(_("KEYS SEALED ELSEWHERE: %lld of this node's own data keys are sealed to an encryption key\n"
			"       this node no longer has (restored without its enc.key?): its archives under them read\n"
			"       [encrypted] here; the hub and other readers still read them, and this node's key store\n"
			"       carries them on. Put the previous enc.key from the backup in this home as enc.key.old\n"
			"       and sync; or let the hub certify this home's new key (district enroll ... --enckey)\n"
			"       and re-seal them to it (schoolsync privacy reseal %s) (docs/PRIVACY.md §8)\n"),
			(long long)json_integer_value(json_object_get(node, "keys_sealed_elsewhere")), jstr(node, "node"));
	if (jstr(node, "rollback"))
		printf(_("ROLLBACK (E_ROLLBACK): %s\n"
			"       writes are refused. Run schoolsync sync --remote hub to adopt the district's copy of\n"
			"       this node's entries; if this node wrote after it was restored, add --adopt-remote to\n"
			"       discard those unpublished writes (kept in schoolsync quarantine to re-enter)\n"
			"       (docs/OPERATIONS.md §7, Restored from an old copy)\n"), jstr(node, "rollback"));
	if (json_is_object(json_object_get(node, "clock_ahead"))) {
		json_t *ca = json_object_get(node, "clock_ahead");
		printf(_("CLOCK AHEAD: this node's clock is at %s, %lld day(s) ahead of this PC's clock,\n"
			"       carried by entry %s: everything written here carries that time. If that node's\n"
			"       clock was wrong, the hub should revoke it; if this PC's clock is behind, fix it\n"
			"       (docs/TRUST.md, Clocks far ahead)\n"), jstr(ca, "time"),
			(long long)(json_integer_value(json_object_get(ca, "ahead_s")) / 86400),
			jstr(ca, "entry") ? jstr(ca, "entry") : "(not found)");
	}
	{
		/* hub-witnessed time (docs/TRUST.md §4a, OPERATIONS.md §11) */
		json_t *w = json_object_get(node, "witness");
		long long held = (long long)json_integer_value(json_object_get(w, "held"));
		long long back = (long long)json_integer_value(json_object_get(w, "backdated"));
		if (json_integer_value(json_object_get(w, "checkpoints")) > 0 && !jstr(w, "time")) {
			/* every checkpoint held is void (a witness reset from 1, TRUST.md §4b) */
			printf("witnessed time: none (checkpoints 1 to %lld are void: witness reset; the hub's next one brings it)\n",
				(long long)json_integer_value(json_object_get(w, "checkpoints")));
		} else if (json_integer_value(json_object_get(w, "checkpoints")) > 0) {
			char local[64];
			printf("witnessed time: %s (hub %s, checkpoint %lld)\n",
				cli_local_time(jstr(w, "time"), local, sizeof(local)), jstr(w, "hub") ? jstr(w, "hub") : "?",
				(long long)json_integer_value(json_object_get(w, "checkpoints")));
		}
		if (held > 0)
			printf("HELD (W_FUTURE_HLC): %lld entr%s dated ahead of the time the hub witnessed are kept but not\n"
				"       applied: the writing school's clock is ahead. They apply once the hub's time reaches\n"
				"       them, unless more than a day ahead: then that school fixes its clock and enters them\n"
				"       again (schoolsync quarantine; docs/OPERATIONS.md §11)\n", held, held == 1 ? "y" : "ies");
		if (json_integer_value(json_object_get(node, "reenter")) > 0)
			printf(_("RE-ENTER: %lld of this school's own entries will never apply (held for good, void or\n"
				"       withdrawn): list them with schoolsync reenter, write their changes again with\n"
				"       schoolsync reenter --apply (docs/OPERATIONS.md §11)\n"),
				(long long)json_integer_value(json_object_get(node, "reenter")));
		if (back > 0)
			printf("BACKDATED (E_BACKDATED): %lld entr%s dated long before the hub had seen their node further\n"
				"       were refused - a stolen key? Tell the hub (schoolsync quarantine)\n", back, back == 1 ? "y" : "ies");
		if (json_integer_value(json_object_get(w, "forks")) > 0)
			printf("HUB EQUIVOCATION (E_WITNESS_FORK): the hub signed two different checkpoints for one\n"
				"       position; both are kept as evidence (schoolsync quarantine). Call the district\n");
	}
	printf(_("own entries: head %lld, exported %lld, pending %lld (not yet pushed)%s\n"),
		(long long)json_integer_value(json_object_get(node, "head_seq")),
		(long long)json_integer_value(json_object_get(node, "exported_seq")),
		(long long)json_integer_value(json_object_get(node, "pending")),
		json_array_size(json_object_get(node, "push_rejected")) ? "; but a remote REFUSES them, see below" : "");
	{
		/* a remote that refuses our branch: our new entries reach nobody through it */
		json_t *pr = json_object_get(node, "push_rejected");
		for (i = 0; i < json_array_size(pr); i++) {
			json_t *p = json_array_get(pr, i);
			char local[64];
			printf(_("PUSH REJECTED by remote %s [%s]%s%s: %s\n"), jstr(p, "remote"), jstr(p, "code"),
				jstr(p, "at") ? " since " : "", jstr(p, "at") ? cli_local_time(jstr(p, "at"), local, sizeof(local)) : "",
				jstr(p, "message"));
			if (jstr(p, "hint"))
				printf(_("  what to do: %s\n"), jstr(p, "hint"));
		}
	}
	printf(_("conflicts: %lld   quarantined: %lld\n"),
		(long long)json_integer_value(json_object_get(node, "conflicts")),
		(long long)json_integer_value(json_object_get(node, "quarantined")));
	if (json_array_size(nodes)) {
		const char *hdr[] = { N_("other node"), N_("role"), N_("school"), N_("last seq"), N_("last received"), N_("age") };
		cli_table *t = cli_table_new(6, hdr);
		for (i = 0; t && i < json_array_size(nodes); i++) {
			json_t *o = json_array_get(nodes, i);
			const char *when = jstr(o, "last_received");
			char seq[24], age[32], local[64];
			const char *row[6];
			long long a = age_of(when);
			snprintf(seq, sizeof(seq), "%lld", (long long)json_integer_value(json_object_get(o, "last_seq")));
			if (!when)
				snprintf(age, sizeof(age), "never");
			else if (a < 0)
				snprintf(age, sizeof(age), "?");
			else
				human_age(age, sizeof(age), a);
			row[0] = jstr(o, "node");
			row[1] = jstr(o, "role") ? jstr(o, "role") : "-";
			row[2] = jstr(o, "school") ? jstr(o, "school") : "-";
			row[3] = seq;
			row[4] = when ? cli_local_time(when, local, sizeof(local)) : "never";
			row[5] = age;
			(void)cli_table_add(t, row);
		}
		if (t) {
			printf("\n");
			cli_table_print(t, stdout);
		}
		cli_table_free(t);
	} else {
		printf(_("\nother nodes: none heard from yet\n"));
	}
}

static void print_remotes(json_t *remotes)
{
	const char *hdr[] = { N_("remote"), N_("state"), N_("last success"), N_("last error"), N_("next attempt"), N_("backoff") };
	cli_table *t;
	size_t i;

	if (!json_array_size(remotes)) {
		printf(_("\nno remotes configured (schoolsync remote add NAME URL)\n"));
		return;
	}
	if (!(t = cli_table_new(6, hdr)))
		return;
	for (i = 0; i < json_array_size(remotes); i++) {
		json_t *r = json_array_get(remotes, i), *e = json_object_get(r, "last_error");
		json_t *next = json_object_get(r, "next_attempt_in_s");
		char ok[48], err[200], nx[32], bo[32];
		const char *row[6];
		if (json_is_string(json_object_get(r, "last_success"))) {
			char a[24];
			human_age(a, sizeof(a), json_integer_value(json_object_get(r, "last_success_age_s")));
			snprintf(ok, sizeof(ok), "%s ago", a);
		} else {
			snprintf(ok, sizeof(ok), "never");
		}
		if (json_is_object(e) && json_integer_value(json_object_get(r, "failures")) > 0) {
			char a[24];
			human_age(a, sizeof(a), json_integer_value(json_object_get(e, "age_s")));
			snprintf(err, sizeof(err), "%s ago [%s] %s", a, jstr(e, "code"), jstr(e, "message"));
		} else {
			snprintf(err, sizeof(err), "-");
		}
		if (json_is_number(next)) {
			char a[24];
			human_age(a, sizeof(a), (long long)(json_number_value(next) + 0.5));
			snprintf(nx, sizeof(nx), "in %s", a);
		} else {
			snprintf(nx, sizeof(nx), "now (running)");
		}
		if (json_integer_value(json_object_get(r, "failures")) > 0)
			snprintf(bo, sizeof(bo), "%.0fs (x%lld)", json_number_value(json_object_get(r, "backoff_s")),
				(long long)json_integer_value(json_object_get(r, "failures")));
		else
			snprintf(bo, sizeof(bo), "-");
		row[0] = jstr(r, "name");
		row[1] = jstr(r, "state");
		row[2] = ok;
		row[3] = err;
		row[4] = nx;
		row[5] = bo;
		(void)cli_table_add(t, row);
	}
	printf("\n");
	cli_table_print(t, stdout);
	cli_table_free(t);
}

int cmd_status(cli_ctx *ctx, int argc, char **argv)
{
	int help = 0, npos = 0, rc = CLI_EXIT_OK, ctl;
	char **pos = NULL, *resp = NULL;
	const char *problem = NULL;
	const cli_opt opts[] = { { NULL, 0, NULL, NULL } };
	json_t *out = NULL;
	ssync_status *st = NULL;
	ssync_error err, cerr;

	if (cli_parse(ctx, "status", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync status [--json]\n\n"
			"This node's sync state. From the running daemon (schoolsyncd): per remote\n"
			"the last success, the last error, the next attempt and the backoff. From\n"
			"the replica (also without a daemon): own entries not yet pushed, conflicts,\n"
			"quarantined entries, and when we last received anything from every other\n"
			"node. Exits 0 when it could say something, 1 when the replica is unreadable.\n"));
		return CLI_EXIT_OK;
	}
	if (npos)
		return cli_usage(ctx, "status", "unexpected argument");
	ssync_error_clear(&cerr);
	ctl = ssync_control_call(ctx->home, SSYNC_CONTROL_STATUS, SSYNC_CONTROL_STATUS_TIMEOUT_MS, &resp, &cerr);
	if (ctl == 0) {
		json_error_t jerr;
		if (!(out = json_loads(resp, 0, &jerr)) || !json_is_object(out)) {
			ssync_error_clear(&cerr);
			ctl = ssync_error_set(&cerr, SSYNC_ESCHEMA, "the daemon's answer is not JSON: %s", jerr.text);
			json_decref(out);
			out = NULL;
		} else {
			json_object_del(out, "ok");
		}
	}
	if (ctl < 0 && ctl != SSYNC_ENOTFOUND)
		problem = cerr.message; /* a daemon is there but did not answer */
	if (!out) {
		/* No daemon, or it did not answer: what the replica says. */
		char *s;
		ssync_error_clear(&err);
		if (ssync_status_read(&st, ctx->home, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto done;
		}
		if (!(s = ssync_status_json(st))) {
			rc = CLI_EXIT_ERROR;
			goto done;
		}
		out = json_pack("{s{sbss?}so}", "daemon", "running", 0, "problem", problem,
			"node", json_loads(s, 0, NULL));
		free(s);
		if (!out) {
			rc = CLI_EXIT_ERROR;
			goto done;
		}
	}
	{
		/* This process's check is the one writes get: the daemon's syncs
		 * run as this same program. */
		const char *wb = NULL;
		int on = ssync_store_walbuf_check(&wb);
		(void)json_object_set_new(out, "walbuf", json_pack("{sbss}", "on", on, "why", wb));
		if (!ctx->json && !on)
			printf(_("notice: replica writes use SQLite's own VFS, WAL shim %s\n"), wb);
	}
	if (ctx->json) {
		rc = cli_print_json(out);
		out = NULL;
		goto done;
	}
	{
		json_t *dm = json_object_get(out, "daemon"), *node = json_object_get(out, "node");
		if (json_is_object(node))
			print_node(node);
		else
			printf(_("replica: %s\n"), jstr(json_object_get(out, "node_error"), "message"));
		if (json_is_true(json_object_get(dm, "running"))) {
			char up[24];
			human_age(up, sizeof(up), json_integer_value(json_object_get(dm, "uptime_s")));
			printf(_("\ndaemon: running (pid %lld, up %s)%s%s\n"), (long long)json_integer_value(json_object_get(dm, "pid")),
				up, json_is_string(json_object_get(dm, "busy")) ? ", syncing with " : "",
				json_is_string(json_object_get(dm, "busy")) ? jstr(dm, "busy") : "");
			if (json_is_object(json_object_get(dm, "web"))) {
				json_t *web = json_object_get(dm, "web");
				const char *b = jstr(web, "bind");
				/* a wildcard bind is reached on loopback too */
				printf("web console: http://%s%s%s:%lld/ (a login link: schoolsync web)\n",
					b && strchr(b, ':') ? "[" : "", !b || strcmp(b, "0.0.0.0") == 0 ? "127.0.0.1" :
					strcmp(b, "::") == 0 ? "::1" : b, b && strchr(b, ':') ? "]" : "",
					(long long)json_integer_value(json_object_get(web, "port")));
			}
			print_remotes(json_object_get(out, "remotes"));
		} else if (jstr(dm, "problem")) {
			printf(_("\ndaemon: NOT ANSWERING (%s); remote state unknown\n"), jstr(dm, "problem"));
		} else {
			printf(_("\ndaemon: not running; remote state unknown. Start it with: systemctl start schoolsyncd\n"
				"(or: schoolsyncd --home %s). To sync once by hand: schoolsync sync\n"), ctx->home);
		}
	}
done:
	json_decref(out);
	free(resp);
	ssync_status_free(st);
	return rc;
}

int cli_daemon_sync_now(cli_ctx *ctx)
{
	char *resp = NULL;
	json_t *r = NULL, *results;
	ssync_error err;
	int error, rc = CLI_EXIT_OK, timeout_ms;
	size_t i;

	/* The daemon answers when every remote finished a round that started
	 * after this request; each round has the daemon's hard deadline, so
	 * never wait longer than its settings allow. */
	ssync_error_clear(&err);
	error = ssync_control_call(ctx->home, SSYNC_CONTROL_STATUS_DAEMON, SSYNC_CONTROL_STATUS_TIMEOUT_MS, &resp, &err);
	if (error == 0) {
		timeout_ms = ssync_control_sync_now_timeout_ms(resp, strlen(resp));
		free(resp);
		resp = NULL;
		error = ssync_control_call(ctx->home, SSYNC_CONTROL_SYNC_NOW_WAIT, timeout_ms, &resp, &err);
	}
	if (error == SSYNC_ENOTFOUND) {
		ssync_error_hint(&err, "start it (systemctl start schoolsyncd), or sync in this process: schoolsync sync");
		return cli_fail(ctx, &err);
	}
	if (error == 0 && !(r = json_loads(resp, 0, NULL)))
		error = ssync_error_set(&err, SSYNC_ESCHEMA, "the daemon's answer is not JSON");
	if (error < 0) {
		ssync_error e2;
		ssync_error_clear(&e2);
		ssync_error_set(&e2, error == SSYNC_ESCHEMA ? SSYNC_ESCHEMA : SSYNC_ERROR, "asking the daemon to sync: %s",
			err.message);
		if (error != SSYNC_ESCHEMA)
			ssync_error_hint(&e2, "the daemon may be hung: see its log, and restart it (systemctl restart schoolsyncd)");
		free(resp);
		return cli_fail(ctx, &e2);
	}
	{
		/* A refusal is the library's error object inside the answer. */
		ssync_error refused;
		if (ssync_error_parse_json(&refused, resp, strlen(resp)) == 0) {
			free(resp);
			json_decref(r);
			return cli_fail(ctx, &refused);
		}
	}
	free(resp);
	if (!json_is_true(json_object_get(r, "ok")))
		rc = CLI_EXIT_ERROR;
	if (ctx->json) {
		json_object_del(r, "ok");
		(void)cli_print_json(r);
		return rc;
	}
	results = json_object_get(r, "results");
	for (i = 0; i < json_array_size(results); i++) {
		json_t *o = json_array_get(results, i), *e = json_object_get(o, "error");
		if (json_is_true(json_object_get(o, "ok"))) {
			/* the report in its one form, read with the library's decoder */
			char *s = json_dumps(json_object_get(o, "report"), JSON_COMPACT);
			ssync_sync_report rep;
			ssync_error perr;
			ssync_error_clear(&perr);
			if (s && ssync_sync_report_parse(&rep, s, strlen(s), &perr) == 0)
				printf(_("%s: ok in %.2f s: received %lld, applied %lld, sealed %lld, pushed %d branch(es)\n"),
					jstr(o, "remote"), json_number_value(json_object_get(o, "seconds")),
					(long long)rep.received, (long long)rep.applied, (long long)rep.sealed, rep.pushed_refs);
			else
				printf(_("%s: ok in %.2f s (no report: %s)\n"), jstr(o, "remote"),
					json_number_value(json_object_get(o, "seconds")), s ? perr.message : "none");
			free(s);
		} else {
			printf(_("%s: FAILED [%s] %s; the daemon retries in %.0f s\n"), jstr(o, "remote"), jstr(e, "code"),
				jstr(e, "message"), json_number_value(json_object_get(o, "retry_in_s")));
		}
	}
	json_decref(r);
	return rc;
}
