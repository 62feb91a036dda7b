/* gettext set-up for the CLI (see i18n.h). Only LC_MESSAGES and LC_CTYPE
 * follow the environment: numbers, sorting and time stay as before, so
 * output that scripts read does not change with the language. */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

#ifndef SSYNC_LOCALEDIR
#define SSYNC_LOCALEDIR "/usr/local/share/locale"
#endif

static const char *wanted_language(void)
{
	static const char *const vars[] = { "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return "";
}

void cli_i18n_init(const char *argv0)
{
	static char dir[PATH_MAX + 16];
	const char *env = getenv("SCHOOLSYNC_LOCALEDIR"), *lang = wanted_language();
	char exe[PATH_MAX];
	struct stat sb;
	ssize_t n;

	(void)argv0;
	/* Translated texts (ours, and strerror's from glibc) are UTF-8: with
	 * an ASCII LC_CTYPE gettext would turn every Chinese character into
	 * '?'. Byte handling does not depend on it (keys and values are
	 * checked as UTF-8 by the library itself). */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		(void)setlocale(LC_CTYPE, "");
	if (!setlocale(LC_MESSAGES, "") && strncmp(lang, "zh", 2) == 0) {
		/* The zh_CN locale is often not generated on a server; messages
		 * need no more than UTF-8, and gettext honours LANGUAGE in any
		 * locale but "C". */
		if (setlocale(LC_MESSAGES, "C.UTF-8") && !getenv("LANGUAGE"))
			(void)setenv("LANGUAGE", "zh_CN", 1);
	}
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		char *slash;
		exe[n] = 0;
		if ((slash = strrchr(exe, '/')))
			*slash = 0;
		snprintf(dir, sizeof(dir), "%s/locale", exe);
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
			snprintf(dir, sizeof(dir), "%s", SSYNC_LOCALEDIR);
	} else {
		snprintf(dir, sizeof(dir), "%s", SSYNC_LOCALEDIR);
	}
	(void)bindtextdomain("schoolsync", dir);
	(void)bind_textdomain_codeset("schoolsync", "UTF-8");
	(void)textdomain("schoolsync");
}
