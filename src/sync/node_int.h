#ifndef SSYNC_NODE_INT_H
#define SSYNC_NODE_INT_H

#include "schoolsync/exchange.h"
#include "schoolsync/keys.h"
#include "schoolsync/node.h"

/* node.c: the home's exchange repository (created if missing when @p create). */
int ssync_node__exchange_open(ssync_node *n, int create, ssync_exchange **ex, ssync_error *err);

/*
 * node_remote.c: the https token for remote @p name, never kept in its URL:
 * $SCHOOLSYNC_TOKEN_<NAME> (upper case, '.' and '-' as '_'), else
 * HOME/tokens/<name> (a regular file of ours, mode 0600: E_UNSAFE
 * otherwise). @p out is "" when there is none.
 */
int ssync_node__remote_token(ssync_node *n, const char *name, char *out, size_t len, ssync_error *err);

/* node.c: one object a module keeps with the node (privacy.c: keys.db),
 * freed by @p free_fn when the node is freed. */
void *ssync_node__cache(const ssync_node *n);
void ssync_node__set_cache(ssync_node *n, void *p, void (*free_fn)(void *));

/* node.c: the node's signing key (NULL when opened without it). */
const ssync_keypair *ssync_node__keypair(const ssync_node *n);

#endif
