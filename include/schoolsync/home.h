#ifndef SSYNC_HOME_H
#define SSYNC_HOME_H

#include <stddef.h>

#include "common.h"
#include "error.h"

/**
 * A node's home directory, the one place that knows its layout (layer
 * core: every layer and both programs use it):
 *
 *   replica.db      the SQLite replica (domain tables, log, merge state)
 *   node.key        the node's Ed25519 secret key, mode 0600
 *   exchange.git/   the bare git exchange repository
 *   config.json     the daemon's settings (docs/OPERATIONS.md)
 *   sync.lock       one sync round at a time (flock)
 *   daemon.lock     one daemon per home (fcntl record lock; holds its pid)
 *   daemon.child    pid of the daemon's running sync process
 *   control.sock    the daemon's control socket (docs/CONTROL.md)
 *   enc.key         the node's X25519 encryption key, mode 0600 (docs/PRIVACY.md)
 *   keys.db         data keys this node can open (SQLite, 0600; not replicated)
 */
typedef enum ssync_home_file {
	SSYNC_HOME_REPLICA = 0,
	SSYNC_HOME_KEY,
	SSYNC_HOME_EXCHANGE,
	SSYNC_HOME_CONFIG,
	SSYNC_HOME_SYNC_LOCK,
	SSYNC_HOME_DAEMON_LOCK,
	SSYNC_HOME_DAEMON_CHILD,
	SSYNC_HOME_CONTROL_SOCK,
	SSYNC_HOME_ENCKEY,
	SSYNC_HOME_KEYSDB
} ssync_home_file;

/** The file's name inside the home, e.g. "replica.db"; "" if @p f is unknown. */
SSYNC_EXTERN const char *ssync_home_name(ssync_home_file f);

/**
 * HOME/NAME into @p out (@p len bytes). SSYNC_EINVAL if it does not fit or
 * @p f is unknown (nothing is cut short silently).
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_home_path(char *out, size_t len,
	const char *home, ssync_home_file f, ssync_error *err);

/** HOME/NAME, malloc'd (free with free()); NULL if out of memory or @p f is unknown. */
SSYNC_EXTERN char *ssync_home_path_dup(const char *home, ssync_home_file f);

/**
 * The home the programs use when none is given: $SCHOOLSYNC_HOME, else
 * $HOME/.schoolsync, else ./.schoolsync. Written into @p out; SSYNC_EINVAL
 * if it does not fit.
 */
SSYNC_EXTERN SSYNC_WARN_UNUSED int ssync_home_default(char *out, size_t len,
	ssync_error *err);

#endif
