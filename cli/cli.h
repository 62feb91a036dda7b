#ifndef SSYNC_CLI_H
#define SSYNC_CLI_H

#include <signal.h>
#include <stdio.h>

#include <jansson.h>

#include "schoolsync/error.h"
#include "schoolsync/node.h"
#include "schoolsync/timefmt.h"
#include "i18n.h"

/* Exit codes, mapped in one place (cli/common.c). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
/* sync: done, but entries were quarantined or held back (docs/OPERATIONS.md §6) */
#define CLI_EXIT_ATTENTION 3
/* sync --timeout default: seconds one remote's fetch (or push) may take */
#define CLI_SYNC_TIMEOUT_S 300

typedef struct cli_ctx {
	const char *home;  /* --home, $SCHOOLSYNC_HOME or ~/.schoolsync */
	int json;          /* --json given (globally or to the command) */
	int quiet;
	const char *prog;
} cli_ctx;

typedef struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(cli_ctx *ctx, int argc, char **argv);
} cli_cmd;

/*
 * Ctrl-C (SIGINT) and SIGTERM. By default the signal ends the program at
 * once, as the default action would (SQLite rolls back a transaction cut
 * short; $? is 130). A command whose work is not one SQLite transaction
 * (git writes: init, join, district, remote, sync, import) defers it:
 * cli_interrupted is set, the command stops at its next safe point, and
 * main ends by cli_exit_interrupted().
 */
extern volatile sig_atomic_t cli_interrupted;
void cli_signals_init(void);
void cli_defer_signals(void);
/* Say what was stopped, then die of the signal (exit status 128+signal). */
int cli_exit_interrupted(void);

/* Print err (message + hint) to stderr, or as JSON when --json; return exit code. */
int cli_fail(cli_ctx *ctx, const ssync_error *err);
/* err's message and hint in the user's language (gettext over
 * ssync_error_localize); a missing hint is the code's generic one. */
void cli_error_text(const ssync_error *err, char *msg, size_t msgn, char *hint, size_t hintn);
/* Usage error: message to stderr, exit 2. */
int cli_usage(cli_ctx *ctx, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* Open the node in ctx->home; prints the error and returns NULL on failure. */
ssync_node *cli_open_node(cli_ctx *ctx, int flags, int *exit_code);
/* Print a JSON value to stdout (indented, UTF-8) and free it. */
int cli_print_json(json_t *v);
/* Terminal display width of a UTF-8 string (CJK counts 2). */
int cli_display_width(const char *s);
/*
 * A UTC timestamp as the library records it ("YYYY-MM-DDTHH:MM:SS[.mmm]Z",
 * or with a space instead of T) in local time for people to read:
 * "YYYY-MM-DD HH:MM:SS +08:00 CST" from TZ / /etc/localtime (`--utc` sets
 * TZ=UTC; ssync_time_local).
 * JSON output keeps the UTC text. Copies the input unchanged when it does
 * not parse. Returns out.
 */
const char *cli_local_time(const char *utc, char *out, size_t n);
/* Milliseconds since the epoch, the same way; "-" for 0. */
const char *cli_local_time_ms(long long ms, char *out, size_t n);
/* Print rows as an aligned text table. */
typedef struct cli_table cli_table;
/* Headers are translated (gettext; mark literals with N_()); _raw keeps
 * them as given (SQL column names). */
cli_table *cli_table_new(int ncols, const char *const *headers);
cli_table *cli_table_new_raw(int ncols, const char *const *headers);
int cli_table_add(cli_table *t, const char *const *values);
void cli_table_print(cli_table *t, FILE *f);
void cli_table_free(cli_table *t);

/*
 * Parse "--flag value" style options. Each command declares a table; the
 * parser fills values and returns the index of the first positional
 * argument left, or -1 after printing a usage error. --help is handled by
 * the caller via the has_help flag.
 */
typedef struct cli_opt {
	const char *name;   /* without dashes */
	int takes_value;
	const char **value; /* for takes_value */
	int *flag;          /* for flags */
} cli_opt;
int cli_parse(cli_ctx *ctx, const char *cmd, int argc, char **argv, const cli_opt *opts,
	int *help, char ***pos, int *npos);

#endif
