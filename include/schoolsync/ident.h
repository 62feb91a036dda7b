#ifndef SSYNC_IDENT_H
#define SSYNC_IDENT_H

#include "common.h"

/**
 * Names that come from outside (the command line, a branch, an entry) are
 * checked here before they touch a file path, a git ref or SQL.
 */

/** 1 if @p id is a valid node, district or school id: [a-z0-9][a-z0-9-]{0,62}. */
SSYNC_EXTERN int ssync_ident_node_valid(const char *id);

/** Longest node branch name: a node id, ".g", up to 9 digits. */
#define SSYNC_BRANCH_NAME_MAX (SSYNC_NODE_ID_MAX + 11)

/**
 * Parse the name of a node branch (what follows refs/heads/node/): "<id>"
 * is key generation 1, "<id>.g<N>" (N >= 2, decimal, no leading zero, at
 * most 9 digits) is generation N after a re-enrolment (docs/TRUST.md §5a).
 * @param[out] node the node id (SSYNC_NODE_ID_MAX + 1 bytes), may be NULL
 * @param[out] gen the generation, may be NULL
 * @return 1 if valid, else 0.
 */
SSYNC_EXTERN int ssync_ident_branch_parse(const char *name, char *node, int *gen);

/** 1 if @p name is a valid SQL identifier (table, column): [A-Za-z_][A-Za-z0-9_]{0,63}. */
SSYNC_EXTERN int ssync_ident_sql_valid(const char *name);

#endif
