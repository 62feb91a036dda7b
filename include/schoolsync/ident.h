#ifndef SSYNC_IDENT_H
#define SSYNC_IDENT_H

#include "common.h"

/**
 * Names that come from outside (the command line, a branch, an entry) are
 * checked here before they touch a file path, a git ref or SQL.
 */

/** 1 if @p id is a valid node, district or school id: [a-z0-9][a-z0-9-]{0,62}. */
SSYNC_EXTERN int ssync_ident_node_valid(const char *id);

/** 1 if @p name is a valid SQL identifier (table, column): [A-Za-z_][A-Za-z0-9_]{0,63}. */
SSYNC_EXTERN int ssync_ident_sql_valid(const char *name);

#endif
