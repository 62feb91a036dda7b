/* Identifier rules (docs/FORMAT.md): node and district ids, SQL names. Both
 * are ASCII-only on purpose: they become git ref names, file names and SQL
 * identifiers, where anything else invites ambiguity. */
#include <stddef.h>

#include "schoolsync/ident.h"

int ssync_ident_node_valid(const char *id)
{
	size_t i;

	if (!id || !id[0])
		return 0;
	for (i = 0; id[i]; i++) {
		char c = id[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
		if (!ok || i >= SSYNC_NODE_ID_MAX)
			return 0;
	}
	return 1;
}

int ssync_ident_sql_valid(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			(i > 0 && c >= '0' && c <= '9');
		if (!ok || i >= 64)
			return 0;
	}
	return 1;
}
