/* Identifier rules (docs/FORMAT.md): node and district ids, SQL names. Both
 * are ASCII-only on purpose: they become git ref names, file names and SQL
 * identifiers, where anything else invites ambiguity. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

int ssync_ident_branch_parse(const char *name, char *node, int *gen)
{
	char id[SSYNC_NODE_ID_MAX + 1];
	const char *dot = name ? strchr(name, '.') : NULL;
	size_t n = dot ? (size_t)(dot - name) : (name ? strlen(name) : 0), i;
	long g = 1;

	if (!name || n == 0 || n > SSYNC_NODE_ID_MAX)
		return 0;
	memcpy(id, name, n);
	id[n] = 0;
	if (!ssync_ident_node_valid(id))
		return 0;
	if (dot) {
		const char *d = dot + 2;
		if (dot[1] != 'g' || !d[0] || d[0] == '0' || strlen(d) > 9)
			return 0;
		for (i = 0; d[i]; i++)
			if (d[i] < '0' || d[i] > '9')
				return 0;
		g = strtol(d, NULL, 10);
		if (g < 2)
			return 0;
	}
	if (node)
		memcpy(node, id, n + 1);
	if (gen)
		*gen = (int)g;
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
