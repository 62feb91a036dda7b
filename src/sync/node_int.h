#ifndef SSYNC_NODE_INT_H
#define SSYNC_NODE_INT_H

#include "schoolsync/exchange.h"
#include "schoolsync/node.h"

/* node.c: the home's exchange repository (created if missing when @p create). */
int ssync_node__exchange_open(ssync_node *n, int create, ssync_exchange **ex, ssync_error *err);

#endif
