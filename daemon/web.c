/* The web console inside the daemon (schoolsync/web.h, docs/WEB.md): started
 * with the daemon when config.json has "web", or on the first web-login
 * request (`schoolsync web`). The server runs on its own threads; this file
 * only starts and stops it on the loop thread. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"

int dmn_web_start(dmn *d, int port, const char *bind, char *errbuf, size_t errlen)
{
	ssync_web_options o = SSYNC_WEB_OPTIONS_INIT;
	ssync_error err;

	if (d->web)
		return 0;
	o.home = d->home;
	o.port = port >= 0 ? port : d->cfg.web_port >= 0 ? d->cfg.web_port : 0;
	o.bind = bind && *bind ? bind : d->cfg.web_bind[0] ? d->cfg.web_bind : NULL;
	o.allow_remote = d->cfg.web_allow_remote; /* only ever from the config file */
	o.session_idle_s = d->cfg.web_idle_s;
	ssync_error_clear(&err);
	if (ssync_web_start(&d->web, &o, &err) < 0) {
		snprintf(errbuf, errlen, "%s%s%s", err.message, err.hint[0] ? " (" : "", err.hint[0] ? err.hint : "");
		if (err.hint[0])
			snprintf(errbuf + strlen(errbuf), errlen - strlen(errbuf), ")");
		dmn_log(DMN_LOG_ERROR, "web console: %s", errbuf);
		return err.code < 0 ? err.code : SSYNC_ERROR;
	}
	dmn_log(DMN_LOG_INFO, "web console on http://%s%s%s:%d/ (log in with: schoolsync web)",
		strchr(ssync_web_bind(d->web), ':') ? "[" : "", ssync_web_bind(d->web),
		strchr(ssync_web_bind(d->web), ':') ? "]" : "", ssync_web_port(d->web));
	return 0;
}

json_t *dmn_web_json(dmn *d)
{
	if (!d->web)
		return json_null();
	return json_pack("{siss}", "port", ssync_web_port(d->web), "bind", ssync_web_bind(d->web));
}

void dmn_web_stop(dmn *d)
{
	ssync_web_stop(d->web); /* waits for requests in progress */
	d->web = NULL;
}
