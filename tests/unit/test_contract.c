/* The CLI-daemon contract in the library: home layout, the error object,
 * the sync report's JSON form and a node's remotes (docs/CONTROL.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/control.h"
#include "schoolsync/error.h"
#include "schoolsync/home.h"
#include "schoolsync/sync.h"

static void test_contract__home_paths(void **state)
{
	char buf[64], big[300];
	ssync_error err;
	char *p;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_home_path(buf, sizeof(buf), "/h", SSYNC_HOME_REPLICA, &err), 0);
	assert_string_equal(buf, "/h/replica.db");
	assert_int_equal(ssync_home_path(buf, sizeof(buf), "/h", SSYNC_HOME_EXCHANGE, &err), 0);
	assert_string_equal(buf, "/h/exchange.git");
	assert_int_equal(ssync_home_path(buf, sizeof(buf), "/h", SSYNC_HOME_CONTROL_SOCK, &err), 0);
	assert_string_equal(buf, "/h/control.sock");
	assert_string_equal(ssync_home_name(SSYNC_HOME_KEY), "node.key");
	assert_string_equal(ssync_home_name((ssync_home_file)99), "");
	/* too long: an error, and no cut-short path left behind */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(ssync_home_path(buf, sizeof(buf), big, SSYNC_HOME_REPLICA, &err), SSYNC_EINVAL);
	assert_string_equal(buf, "");
	ssync_error_clear(&err);
	assert_int_equal(ssync_home_path(buf, sizeof(buf), "/h", (ssync_home_file)99, &err), SSYNC_EINVAL);
	p = ssync_home_path_dup("/h", SSYNC_HOME_DAEMON_LOCK);
	assert_non_null(p);
	assert_string_equal(p, "/h/daemon.lock");
	free(p);
}

static void test_contract__home_default(void **state)
{
	char buf[512];

	(void)state;
	setenv("SCHOOLSYNC_HOME", "/srv/school", 1);
	assert_int_equal(ssync_home_default(buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "/srv/school");
	setenv("SCHOOLSYNC_HOME", "", 1);
	setenv("HOME", "/home/clerk", 1);
	assert_int_equal(ssync_home_default(buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "/home/clerk/.schoolsync");
	assert_int_equal(ssync_home_default(buf, 8, NULL), SSYNC_EINVAL);
	unsetenv("SCHOOLSYNC_HOME");
}

static void test_contract__error_json_round_trip(void **state)
{
	ssync_error err, back;
	char *s;

	(void)state;
	ssync_error_clear(&err);
	ssync_error_set(&err, SSYNC_ENET, "cannot reach hub: \"refused\"\n(port 9418)");
	ssync_error_hint(&err, "check the link");
	s = ssync_error_json(&err);
	assert_non_null(s);
	assert_null(strchr(s, '\n')); /* one line */
	assert_non_null(strstr(s, "\"code\":\"E_NET\""));
	assert_int_equal(ssync_error_parse_json(&back, s, strlen(s)), 0);
	assert_int_equal(back.code, SSYNC_ENET);
	assert_string_equal(back.message, err.message);
	assert_string_equal(back.hint, "check the link");
	free(s);
	/* no hint: no "hint" key */
	ssync_error_clear(&err);
	ssync_error_set(&err, SSYNC_ECANCELLED, "deadline");
	s = ssync_error_json(&err);
	assert_null(strstr(s, "hint"));
	free(s);
	/* no error at all still prints a valid object */
	s = ssync_error_json(NULL);
	assert_int_equal(ssync_error_parse_json(&back, s, strlen(s)), 0);
	assert_int_equal(back.code, SSYNC_ERROR);
	free(s);
}

static void test_contract__error_json_parse_refuses_others(void **state)
{
	ssync_error back;
	const char *by_name = "{\"error\":{\"code\":\"E_CERT\",\"message\":\"m\"}}";
	const char *bad[] = { "", "not json", "[]", "{\"remote\":\"hub\"}", "{\"error\":\"E_NET\"}",
		"{\"error\":{\"code\":\"E_NET\"}}", "{\"error\":{\"message\":\"m\"}}" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ssync_error_parse_json(&back, bad[i], strlen(bad[i])), SSYNC_ESCHEMA);
		assert_int_equal(back.code, 0);
	}
	/* code from the name when there is no status */
	assert_int_equal(ssync_error_parse_json(&back, by_name, strlen(by_name)), 0);
	assert_int_equal(back.code, SSYNC_ECERT);
}

static void test_contract__error_from_a_programs_stderr(void **state)
{
	const char *noisy = "\rfetch 10/20 objects   \nprogress noise\n"
		"{\"error\":{\"code\":\"E_NET\",\"status\":-13,\"message\":\"cannot reach hub\"}}\r\n\n";
	const char *two = "{\"error\":{\"code\":\"E_BUSY\",\"message\":\"first\"}}\n"
		"{\"error\":{\"code\":\"E_IO\",\"message\":\"last\"}}\n";
	const char *plain = "schoolsync: error: something\nhint: do this  \r\n\n\n";
	ssync_error e;

	(void)state;
	assert_int_equal(ssync_error_parse_output(&e, noisy, strlen(noisy)), 0);
	assert_int_equal(e.code, SSYNC_ENET);
	assert_string_equal(e.message, "cannot reach hub");
	assert_int_equal(ssync_error_parse_output(&e, two, strlen(two)), 0);
	assert_string_equal(e.message, "last");
	assert_int_equal(e.code, SSYNC_EIO);
	/* no error object: the last line that says something */
	assert_int_equal(ssync_error_parse_output(&e, plain, strlen(plain)), SSYNC_ENOTFOUND);
	assert_int_equal(e.code, SSYNC_ERROR);
	assert_string_equal(e.message, "hint: do this");
	assert_int_equal(ssync_error_parse_output(&e, "", 0), SSYNC_ENOTFOUND);
	assert_string_equal(e.message, "");
	assert_int_equal(ssync_error_parse_output(&e, "\n\n", 2), SSYNC_ENOTFOUND);
	assert_string_equal(e.message, "");
	/* a cut-off object is not one */
	assert_int_equal(ssync_error_parse_output(&e, two, 30), SSYNC_ENOTFOUND);
}

static void test_contract__report_round_trip(void **state)
{
	ssync_sync_report r, back;
	ssync_error err;
	char *s;

	(void)state;
	memset(&r, 0, sizeof(r));
	snprintf(r.remote, sizeof(r.remote), "usb-stick.1");
	r.sealed = 3;
	r.received = 5000000000LL; /* beyond 32 bits */
	r.applied = 4;
	r.duplicates = 5;
	r.quarantined = 6;
	r.held = 7;
	r.pushed_refs = 8;
	r.rewritten_refs = 9;
	r.conflicts = 10;
	r.seconds = 1.25;
	r.recovering = 1;
	s = ssync_sync_report_json(&r);
	assert_non_null(s);
	assert_null(strchr(s, '\n'));
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync_report_parse(&back, s, strlen(s), &err), 0);
	assert_memory_equal(&back, &r, sizeof(r));
	free(s);
}

static void test_contract__report_parse_is_strict(void **state)
{
	const char *ok = "{\"remote\":\"hub\",\"sealed\":0,\"received\":1,\"applied\":1,\"duplicates\":0,"
		"\"quarantined\":0,\"held\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,"
		"\"seconds\":0.5,\"later_field\":[1]}";
	const char *bad[] = {
		"", "[]", "{\"error\":{\"code\":\"E_NET\",\"message\":\"x\"}}",
		/* a counter missing */
		"{\"remote\":\"hub\",\"sealed\":0,\"received\":1,\"applied\":1,\"duplicates\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		/* negative, text, fraction */
		"{\"remote\":\"hub\",\"sealed\":-1,\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		"{\"remote\":\"hub\",\"sealed\":\"1\",\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		"{\"remote\":\"hub\",\"sealed\":1.5,\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		/* pushed_refs beyond an int */
		"{\"remote\":\"hub\",\"sealed\":1,\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":4294967296,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		/* no seconds; no remote; a remote name too long */
		"{\"remote\":\"hub\",\"sealed\":1,\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0}",
		"{\"sealed\":1,\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
		"{\"remote\":\"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\",\"sealed\":1,"
		"\"received\":1,\"applied\":1,\"duplicates\":0,\"held\":0,"
		"\"quarantined\":0,\"pushed_refs\":1,\"rewritten_refs\":0,\"conflicts\":0,\"seconds\":0.5}",
	};
	ssync_sync_report back;
	ssync_error err;
	size_t i;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_sync_report_parse(&back, ok, strlen(ok), &err), 0);
	assert_string_equal(back.remote, "hub");
	assert_int_equal(back.received, 1);
	assert_int_equal(back.pushed_refs, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(ssync_sync_report_parse(&back, bad[i], strlen(bad[i]), &err), SSYNC_ESCHEMA);
		assert_true(err.message[0] != 0);
		assert_string_equal(back.remote, "");
	}
}

typedef struct seen { int n; char names[4][64]; char urls[4][128]; } seen;

static int collect(const char *name, const char *url, void *p)
{
	seen *s = p;

	if (s->n < 4) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		snprintf(s->urls[s->n], sizeof(s->urls[0]), "%s", url);
	}
	s->n++;
	return 0;
}

static void test_contract__node_remotes(void **state)
{
	th_fx *fx = *state;
	ssync_error err;
	seen s;

	memset(&s, 0, sizeof(s));
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_remote_add(fx->n, "zz-usb", "/media/stick", &err), 0);
	assert_int_equal(ssync_node_remote_add(fx->n, "hub", "git://hub.example/x.git", &err), 0);
	assert_int_equal(ssync_node_remote_add(fx->n, "../evil", "/tmp/x", &err), SSYNC_EINVAL);
	assert_false(ssync_node_remote_name_valid("a/b"));
	assert_true(ssync_node_remote_name_valid("hub"));
	ssync_error_clear(&err);
	assert_int_equal(ssync_node_remote_list(fx->n, collect, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "hub"); /* by name */
	assert_string_equal(s.urls[1], "/media/stick");
	assert_int_equal(ssync_node_remote_remove(fx->n, "hub", &err), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ssync_node_remote_list(fx->n, collect, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "zz-usb");
}

static void test_contract__control_requests_round_trip(void **state)
{
	ssync_control_cmd c, back;
	ssync_error err;

	(void)state;
	for (c = SSYNC_CONTROL_STATUS; c <= SSYNC_CONTROL_SYNC_NOW_WAIT; c++) {
		const char *line = ssync_control_request(c);
		assert_true(strlen(line) > 0 && strlen(line) < SSYNC_CONTROL_LINE_MAX);
		assert_null(strchr(line, '\n'));
		ssync_error_clear(&err);
		assert_int_equal(ssync_control_parse_request(line, strlen(line), &back, &err), 0);
		assert_int_equal(back, c);
	}
	assert_string_equal(ssync_control_request((ssync_control_cmd)42), "");
}

static void test_contract__control_bad_requests(void **state)
{
	const char *bad[] = { "", "status", "{}", "{\"cmd\":7}", "{\"cmd\":\"reboot\"}", "[\"status\"]" };
	ssync_control_cmd c = SSYNC_CONTROL_SYNC_NOW;
	ssync_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(ssync_control_parse_request(bad[i], strlen(bad[i]), &c, &err), SSYNC_EINVAL);
		assert_true(err.message[0] != 0);
	}
	assert_int_equal(c, SSYNC_CONTROL_SYNC_NOW); /* untouched */
	/* "node":false only for a false, not for anything falsy */
	{
		const char *zero = "{\"cmd\":\"status\",\"node\":0}";
		assert_int_equal(ssync_control_parse_request(zero, strlen(zero), &c, &err), 0);
	}
	assert_int_equal(c, SSYNC_CONTROL_STATUS);
}

static void test_contract__control_web_login_round_trip(void **state)
{
	ssync_control_web_login req, back;
	ssync_control_cmd c;
	ssync_error err;
	char *line;
	const char *bad[] = { "{\"cmd\":\"web-login\"}", "{\"cmd\":\"web-login\",\"user\":\"\"}",
		"{\"cmd\":\"web-login\",\"user\":\"u\",\"port\":70000}",
		"{\"cmd\":\"web-login\",\"user\":\"u\",\"port\":\"80\"}",
		"{\"cmd\":\"web-login\",\"user\":\"u\",\"bind\":7}" };
	size_t i;

	(void)state;
	/* it has arguments: no fixed line */
	assert_string_equal(ssync_control_request(SSYNC_CONTROL_WEB_LOGIN), "");
	memset(&req, 0, sizeof(req));
	snprintf(req.user, sizeof(req.user), "%s", "教务处 王老师");
	req.port = 8080;
	snprintf(req.bind, sizeof(req.bind), "%s", "127.0.0.1");
	assert_non_null(line = ssync_control_web_login_request(&req));
	assert_null(strchr(line, '\n'));
	ssync_error_clear(&err);
	assert_int_equal(ssync_control_parse_request(line, strlen(line), &c, &err), 0);
	assert_int_equal(c, SSYNC_CONTROL_WEB_LOGIN);
	assert_int_equal(ssync_control_parse_web_login(line, strlen(line), &back, &err), 0);
	assert_string_equal(back.user, req.user);
	assert_int_equal(back.port, 8080);
	assert_string_equal(back.bind, "127.0.0.1");
	free(line);
	/* port and bind left to the daemon */
	req.port = -1;
	req.bind[0] = 0;
	assert_non_null(line = ssync_control_web_login_request(&req));
	assert_int_equal(ssync_control_parse_web_login(line, strlen(line), &back, &err), 0);
	assert_int_equal(back.port, -1);
	assert_string_equal(back.bind, "");
	free(line);
	req.user[0] = 0;
	assert_null(ssync_control_web_login_request(&req));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssync_error_clear(&err);
		assert_int_equal(ssync_control_parse_web_login(bad[i], strlen(bad[i]), &back, &err), SSYNC_EINVAL);
		assert_true(err.message[0] != 0);
	}
}

static void test_contract__control_error_reply_reads_back(void **state)
{
	char *s = ssync_control_error_reply(SSYNC_ENOTFOUND, "no remotes configured");
	ssync_error back;

	(void)state;
	assert_non_null(s);
	assert_non_null(strstr(s, "\"ok\":false"));
	assert_int_equal(ssync_error_parse_json(&back, s, strlen(s)), 0);
	assert_int_equal(back.code, SSYNC_ENOTFOUND);
	assert_string_equal(back.message, "no remotes configured");
	free(s);
}

static void test_contract__control_sync_now_wait_limit(void **state)
{
	const char *st = "{\"ok\":true,\"daemon\":{\"settings\":{\"deadline_s\":10,\"kill_grace_s\":1}},"
		"\"remotes\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}";
	const char *huge = "{\"daemon\":{\"settings\":{\"deadline_s\":1e12}}}";
	/* per round 10+1+1 = 12 s; list 30+1+1 = 32 s; first = max = 32 s;
	 * 2 * (32 + 32 + 3 * 12) + 30 = 230 s */
	(void)state;
	assert_int_equal(ssync_control_sync_now_timeout_ms(st, strlen(st)), 230000);
	/* without settings: deadline 300, grace 5, one remote:
	 * per 306, list 36, 2 * (306 + 36 + 306) + 30 = 1326 s */
	assert_int_equal(ssync_control_sync_now_timeout_ms(NULL, 0), 1326000);
	assert_int_equal(ssync_control_sync_now_timeout_ms("garbage", 7), 1326000);
	assert_int_equal(ssync_control_sync_now_timeout_ms(huge, strlen(huge)), 86400000);
}

static void test_contract__control_call_without_daemon(void **state)
{
	char *dir = th_tmpdir(), *reply = (char *)1;
	ssync_error err;

	(void)state;
	ssync_error_clear(&err);
	assert_int_equal(ssync_control_call(dir, SSYNC_CONTROL_STATUS, 100, &reply, &err), SSYNC_ENOTFOUND);
	assert_null(reply);
	assert_non_null(strstr(err.message, "no schoolsyncd runs"));
	th_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract__home_paths),
		cmocka_unit_test(test_contract__home_default),
		cmocka_unit_test(test_contract__error_json_round_trip),
		cmocka_unit_test(test_contract__error_json_parse_refuses_others),
		cmocka_unit_test(test_contract__error_from_a_programs_stderr),
		cmocka_unit_test(test_contract__report_round_trip),
		cmocka_unit_test(test_contract__report_parse_is_strict),
		cmocka_unit_test_setup_teardown(test_contract__node_remotes, th_fx_setup, th_fx_teardown),
		cmocka_unit_test(test_contract__control_requests_round_trip),
		cmocka_unit_test(test_contract__control_bad_requests),
		cmocka_unit_test(test_contract__control_web_login_round_trip),
		cmocka_unit_test(test_contract__control_error_reply_reads_back),
		cmocka_unit_test(test_contract__control_sync_now_wait_limit),
		cmocka_unit_test(test_contract__control_call_without_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
