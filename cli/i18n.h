#ifndef SSYNC_CLI_I18N_H
#define SSYNC_CLI_I18N_H

/* Messages for people through gettext (glibc's libintl, no extra library):
 * LANG=zh_CN.UTF-8 (or LANGUAGE=zh_CN) shows the zh_CN catalogue in
 * po/zh_CN.po, anything else English. JSON output is never translated. */
#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

/* Bind the catalogue: $SCHOOLSYNC_LOCALEDIR, else locale/ beside the
 * program (a build tree), else the installed SSYNC_LOCALEDIR. */
void cli_i18n_init(const char *argv0);

#endif
