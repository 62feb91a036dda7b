/* What every command shares: option parsing, opening the node, printing
 * errors (one place maps codes to exit status), JSON and table output. */
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "cli.h"
#include "i18n.h"

volatile sig_atomic_t cli_interrupted;
static volatile sig_atomic_t deferred;

static void on_signal(int sig)
{
	cli_interrupted = sig;
	if (!deferred) {
		/* Die of it, as without a handler (raise is async-signal-safe;
		 * the signal is blocked until this handler returns). */
		(void)signal(sig, SIG_DFL);
		(void)raise(sig);
	}
}

void cli_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

void cli_defer_signals(void)
{
	deferred = 1;
}

int cli_exit_interrupted(void)
{
	int sig = cli_interrupted;

	fprintf(stderr, _("schoolsync: interrupted (%s): stopped at a safe point, nothing half-written\n"),
		sig == SIGINT ? "Ctrl-C" : "SIGTERM");
	fflush(NULL);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
	return 128 + sig;
}

static const char *tr_gettext(const char *fmt)
{
	return gettext(fmt);
}

void cli_error_text(const ssync_error *err, char *msg, size_t msgn, char *hint, size_t hintn)
{
	ssync_error_localize(err, tr_gettext, msg, msgn, hint, hintn);
	if (msg && msgn && !msg[0])
		snprintf(msg, msgn, "%s", _("unknown error"));
	/* No hint of its own: the code's generic next step (error.h). */
	if (hint && hintn && !hint[0] && err && err->code != SSYNC_ERROR && ssync_error_code_hint(err->code)[0])
		snprintf(hint, hintn, "%s", _(ssync_error_code_hint(err->code)));
}

int cli_fail(cli_ctx *ctx, const ssync_error *err)
{
	char msg[sizeof(err->message) * 2], hint[sizeof(err->hint) * 2];

	if (ctx && ctx->json) {
		char *s = ssync_error_json(err);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
	} else {
		cli_error_text(err, msg, sizeof(msg), hint, sizeof(hint));
		fprintf(stderr, _("schoolsync: error: %s [%s]\n"), msg, ssync_error_name(err ? err->code : SSYNC_ERROR));
		if (hint[0])
			fprintf(stderr, _("hint: %s\n"), hint);
	}
	return CLI_EXIT_ERROR;
}

int cli_usage(cli_ctx *ctx, const char *cmd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, _("schoolsync %s: %s\n"), cmd, buf);
	fprintf(stderr, _("run 'schoolsync %s --help' for usage\n"), cmd);
	(void)ctx;
	return CLI_EXIT_USAGE;
}

ssync_node *cli_open_node(cli_ctx *ctx, int flags, int *exit_code)
{
	ssync_error err;
	ssync_node *n = NULL;

	ssync_error_clear(&err);
	if (ssync_node_open(&n, ctx->home, flags, &err) < 0) {
		*exit_code = cli_fail(ctx, &err);
		return NULL;
	}
	return n;
}

int cli_print_json(json_t *v)
{
	int rc = 0;

	if (!v) {
		fprintf(stderr, _("schoolsync: error: out of memory building JSON\n"));
		return CLI_EXIT_ERROR;
	}
	if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		rc = CLI_EXIT_ERROR;
	fputc('\n', stdout);
	json_decref(v);
	return rc;
}

int cli_display_width(const char *s)
{
	static int locale_set;
	mbstate_t ps;
	int w = 0;
	size_t len = strlen(s);

	if (!locale_set) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			(void)setlocale(LC_CTYPE, "");
		locale_set = 1;
	}
	memset(&ps, 0, sizeof(ps));
	while (len > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, len, &ps);
		int cw;
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			w++;
			s++;
			len--;
			memset(&ps, 0, sizeof(ps));
			continue;
		}
		cw = wcwidth(wc);
		w += cw < 0 ? 1 : cw;
		s += n;
		len -= n;
	}
	return w;
}

const char *cli_local_time_ms(long long ms, char *out, size_t n)
{
	return ssync_time_local(ms, out, n);
}

const char *cli_local_time(const char *utc, char *out, size_t n)
{
	int64_t ms;

	if (!utc || ssync_time_parse_utc(utc, &ms) < 0) {
		snprintf(out, n, "%s", utc ? utc : "");
		return out;
	}
	return ssync_time_local(ms, out, n);
}

struct cli_table {
	int ncols, nrows, cap;
	char **cells; /* nrows+1 rows (row 0 = headers) */
};

cli_table *cli_table_new_raw(int ncols, const char *const *headers)
{
	cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (cli_table_add(t, headers) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

cli_table *cli_table_new(int ncols, const char *const *headers)
{
	const char *tr[64];
	int i;

	if (ncols > 64)
		return cli_table_new_raw(ncols, headers);
	for (i = 0; i < ncols; i++)
		tr[i] = headers[i] && headers[i][0] ? _(headers[i]) : headers[i];
	return cli_table_new_raw(ncols, tr);
}

int cli_table_add(cli_table *t, const char *const *values)
{
	int i;

	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof(char *));
		if (!n)
			return -1;
		t->cells = n;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *v = values[i] ? values[i] : "NULL";
		char *c = strdup(v), *p;
		if (!c)
			return -1;
		for (p = c; *p; p++)
			if (*p == '\n' || *p == '\t' || *p == '\r')
				*p = ' ';
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
	return 0;
}

void cli_table_print(cli_table *t, FILE *f)
{
	int *w = calloc((size_t)t->ncols, sizeof(int));
	int r, c;

	if (!w)
		return;
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			int dw = cli_display_width(t->cells[r * t->ncols + c]);
			if (dw > w[c])
				w[c] = dw > 60 ? 60 : dw;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int pad = w[c] - cli_display_width(s);
			fputs(s, f);
			if (c + 1 < t->ncols)
				fprintf(f, "%*s  ", pad > 0 ? pad : 0, "");
		}
		fputc('\n', f);
		if (r == 0) {
			for (c = 0; c < t->ncols; c++) {
				int k;
				for (k = 0; k < w[c]; k++)
					fputc('-', f);
				if (c + 1 < t->ncols)
					fputs("  ", f);
			}
			fputc('\n', f);
		}
	}
	free(w);
}

void cli_table_free(cli_table *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int cli_parse(cli_ctx *ctx, const char *cmd, int argc, char **argv, const cli_opt *opts,
	int *help, char ***pos, int *npos)
{
	int i, only_pos = 0;

	*help = 0;
	*npos = 0;
	if (!(*pos = calloc((size_t)argc + 1, sizeof(char *)))) {
		fprintf(stderr, _("schoolsync: error: out of memory\n"));
		return -1;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const cli_opt *o;
		const char *eq;
		size_t nlen;

		if (only_pos || a[0] != '-' || a[1] == 0) {
			(*pos)[(*npos)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			ctx->json = 1;
			continue;
		}
		if (a[1] != '-') {
			cli_usage(ctx, cmd, "unknown option '%s'", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (o = opts; o && o->name; o++)
			if (strlen(o->name) == nlen && strncmp(o->name, a, nlen) == 0)
				break;
		if (!o || !o->name) {
			cli_usage(ctx, cmd, "unknown option '--%.*s'", (int)nlen, a);
			return -1;
		}
		if (o->takes_value) {
			if (eq) {
				*o->value = eq + 1;
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				cli_usage(ctx, cmd, "option '--%s' needs a value", o->name);
				return -1;
			}
		} else {
			if (eq) {
				cli_usage(ctx, cmd, "option '--%s' takes no value", o->name);
				return -1;
			}
			*o->flag = 1;
		}
	}
	return 0;
}
