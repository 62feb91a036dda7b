/* A home's encryption key file (docs/PRIVACY.md): made at init, or on
 * first need in a home an older version made. Apart from privacy.c so that
 * node.c's init can call it without a cycle between the two. */
#include <unistd.h>

#include "privacy_int.h"
#include "schoolsync/home.h"
#include "schoolsync/keys.h"

int ssync_privacy__init_home(const char *home, ssync_error *err)
{
	char path[4096];
	ssync_enckey *k = NULL;
	int error;

	if ((error = ssync_home_path(path, sizeof(path), home, SSYNC_HOME_ENCKEY, err)) < 0)
		return error;
	if (access(path, F_OK) == 0)
		return 0;
	if ((error = ssync_enckey_generate(&k, err)) == 0)
		error = ssync_enckey_save(k, path, err);
	ssync_enckey_free(k);
	return error;
}

