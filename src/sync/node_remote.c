/* A node's remotes: the CLI and the daemon name remotes through the node,
 * never through its exchange repository, which stays the sync layer's
 * business. */
#include "node_int.h"

static int open_ex(ssync_node *n, ssync_exchange **ex, ssync_error *err)
{
	/* Not created here: a node's home has its repository since init, and
	 * a read-only home must still list its remotes. */
	return ssync_node__exchange_open(n, 0, ex, err);
}

int ssync_node_remote_name_valid(const char *name)
{
	return ssync_exchange_remote_name_valid(name);
}

int ssync_node_remote_add(ssync_node *n, const char *name, const char *url, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if (!ssync_exchange_remote_name_valid(name)) {
		ssync_error_set(err, SSYNC_EINVAL, "invalid remote name '%s'", name ? name : "");
		ssync_error_hint(err, "use letters, digits, '_', '.', '-'");
		return SSYNC_EINVAL;
	}
	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_add(ex, name, url, err);
	ssync_exchange_free(ex);
	return error;
}

int ssync_node_remote_remove(ssync_node *n, const char *name, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_remove(ex, name, err);
	ssync_exchange_free(ex);
	return error;
}

int ssync_node_remote_list(ssync_node *n, ssync_node_remote_cb cb, void *payload, ssync_error *err)
{
	ssync_exchange *ex = NULL;
	int error;

	if ((error = open_ex(n, &ex, err)) == 0)
		error = ssync_exchange_remote_list(ex, cb, payload, err);
	ssync_exchange_free(ex);
	return error;
}
