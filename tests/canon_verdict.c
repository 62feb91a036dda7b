/* canon_verdict: one body per stdin line (bodies hold no raw LF), the
 * verdict of the one pass (src/core/canon.c) per stdout line: "<rc>
 * <value_error>". For tests/check_canon.py, which compares it with a
 * verifier written from docs/FORMAT.md alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "entry_int.h"

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		ssync_canon cn;
		ssync_error err;
		int rc;

		if (line[n - 1] == '\n')
			n--;
		memset(&cn, 0, sizeof(cn));
		ssync_error_clear(&err);
		rc = ssync_canon__body(line, (size_t)n, &cn, &err);
		if (printf("%d %d\n", rc, rc == 0 ? cn.value_error : 0) < 0)
			return 1;
	}
	free(line);
	return ferror(stdin) ? 1 : 0;
}
