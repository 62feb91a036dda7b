#ifndef SSYNC_CLI_COMMANDS_H
#define SSYNC_CLI_COMMANDS_H

#include "cli.h"

/* cmd_node.c */
int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_sql(cli_ctx *ctx, int argc, char **argv);
int cmd_log(cli_ctx *ctx, int argc, char **argv);
int cmd_state_hash(cli_ctx *ctx, int argc, char **argv);

#endif
