/* The remotes the daemon syncs with, as the latest `schoolsync remote list
 * --json` named them; each keeps its schedule and history across lists. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "schoolsync/redact.h"

dmn_remote *dmn_remote_find(dmn *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nremotes; i++)
		if (strcmp(d->remotes[i]->name, name) == 0)
			return d->remotes[i];
	return NULL;
}

static void remote_free(dmn_remote *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->url);
	free(r);
}

int dmn_remotes_update(dmn *d, json_t *arr, uint64_t now)
{
	dmn_remote **keep;
	size_t i, n = json_array_size(arr), nkeep = 0;

	if (!(keep = calloc(n + 1, sizeof(*keep))))
		return -1;
	for (i = 0; i < d->nremotes; i++)
		d->remotes[i]->listed = 0;
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		char shown[4096];
		const char *url = json_string_value(json_object_get(o, "url"));

		dmn_remote *r;

		/* only ever shown (status, the log): never keep a secret */
		if (url)
			url = ssync_redact_url(url, shown, sizeof(shown));
		if (!name || !*name)
			continue;
		if ((r = dmn_remote_find(d, name)) && r->listed)
			continue; /* listed twice */
		if (!r) {
			if (!(r = calloc(1, sizeof(*r))) || !(r->name = strdup(name))) {
				remote_free(r);
				continue;
			}
			r->s.next_due = now;
			dmn_log(DMN_LOG_INFO, "remote %s (%s): will sync", name, url ? url : "?");
		}
		if (url && (!r->url || strcmp(r->url, url) != 0)) {
			free(r->url);
			r->url = strdup(url);
		}
		r->listed = 1;
		keep[nkeep++] = r;
	}
	for (i = 0; i < d->nremotes; i++) {
		if (!d->remotes[i]->listed) {
			dmn_log(DMN_LOG_INFO, "remote %s removed: no longer syncing with it", d->remotes[i]->name);
			remote_free(d->remotes[i]);
		}
	}
	free(d->remotes);
	d->remotes = keep;
	d->nremotes = nkeep;
	return 0;
}

void dmn_remotes_free(dmn *d)
{
	size_t i;

	for (i = 0; i < d->nremotes; i++)
		remote_free(d->remotes[i]);
	free(d->remotes);
	d->remotes = NULL;
	d->nremotes = 0;
}
