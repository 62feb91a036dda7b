#ifndef SSYNC_CHECKPOINT_INT_H
#define SSYNC_CHECKPOINT_INT_H

#include <sqlite3.h>

#include "schoolsync/error.h"

/* Background checkpoints for one writable connection (see checkpoint.c). */
typedef struct ssync_ckpt ssync_ckpt;

/* Installs the commit hook on @p db (opened from @p path). */
int ssync_ckpt__new(ssync_ckpt **out, sqlite3 *db, const char *path);
/* Stops the thread; call before closing the connection. */
void ssync_ckpt__free(ssync_ckpt *c);
/* Make every transaction committed so far durable (fsync of the WAL). */
int ssync_ckpt__sync_wal(ssync_ckpt *c, ssync_error *err);

#endif
