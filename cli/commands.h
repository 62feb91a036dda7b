#ifndef SSYNC_CLI_COMMANDS_H
#define SSYNC_CLI_COMMANDS_H

#include "cli.h"

/* cmd_node.c */
int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_sql(cli_ctx *ctx, int argc, char **argv);
int cmd_log(cli_ctx *ctx, int argc, char **argv);
int cmd_state_hash(cli_ctx *ctx, int argc, char **argv);
int cmd_verify(cli_ctx *ctx, int argc, char **argv);

/* cmd_sync.c */
int cmd_remote(cli_ctx *ctx, int argc, char **argv);
int cmd_sync(cli_ctx *ctx, int argc, char **argv);
int cmd_conflicts(cli_ctx *ctx, int argc, char **argv);
int cmd_quarantine(cli_ctx *ctx, int argc, char **argv);

/* cmd_daemon.c: ask a running daemon to sync now; returns an exit code. */
int cli_daemon_sync_now(cli_ctx *ctx);
int cmd_status(cli_ctx *ctx, int argc, char **argv);

/* cmd_domain.c: TABLE add|list|show and workflow verbs; cmd_demo.c; cmd_data.c */
int cmd_domain(cli_ctx *ctx, int argc, char **argv);
/* cmd_archive.c: student-archive (private rows) and privacy keys */
int cmd_archive(cli_ctx *ctx, int argc, char **argv);
int cmd_privacy(cli_ctx *ctx, int argc, char **argv);
int cmd_demo_data(cli_ctx *ctx, int argc, char **argv);
int cmd_import(cli_ctx *ctx, int argc, char **argv);
int cmd_export(cli_ctx *ctx, int argc, char **argv);
/* cmd_report.c */
int cmd_check(cli_ctx *ctx, int argc, char **argv);
int cmd_report(cli_ctx *ctx, int argc, char **argv);
/* cmd_district.c: district init|enroll|revoke|list, join (trust, issue #4) */
int cmd_district(cli_ctx *ctx, int argc, char **argv);
int cmd_join(cli_ctx *ctx, int argc, char **argv);
/* cmd_resolve.c: resolve TABLE ID COLUMN --value|--pick */
int cmd_resolve(cli_ctx *ctx, int argc, char **argv);
/* cmd_reenter.c: reenter [--apply] (entries that will never apply, written again) */
int cmd_reenter(cli_ctx *ctx, int argc, char **argv);
/* cmd_audit.c: audit verify|history */
int cmd_audit(cli_ctx *ctx, int argc, char **argv);
/* cmd_web.c: web (a login link to the web console, docs/WEB.md) */
int cmd_web(cli_ctx *ctx, int argc, char **argv);
/* cmd_guard.c: guard init|check|pre-receive (a hub's receive hook) */
int cmd_guard(cli_ctx *ctx, int argc, char **argv);

#endif
