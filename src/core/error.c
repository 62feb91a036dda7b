/* Caller-owned error details: first error wins, so lower layers' messages are
 * never overwritten by the callers that pass them up. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error_int.h"
#include "schoolsync/error.h"

void ssync_error_clear(ssync_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int ssync_error_set(ssync_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	err->msg_fmt = ssync_error__capture(err->msg_args, sizeof(err->msg_args), fmt, ap) == 0 ? fmt : NULL;
	va_end(ap);
	ssync_error__nest(err);
	return code;
}

void ssync_error_hint(ssync_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	err->hint_fmt = ssync_error__capture(err->hint_args, sizeof(err->hint_args), fmt, ap) == 0 ? fmt : NULL;
	va_end(ap);
}

/* One row per code, generated from the tables in error.h. */
struct code_row {
	int code;
	const char *name;
	int cls;
	const char *hint;
};

#define ROW(name, num, str, hint) { num, str, num, hint },
#define DETAIL_ROW(name, num, str, cls, hint) { num, str, cls, hint },
static const struct code_row rows[] = {
	SSYNC_ERROR_CODES(ROW)
	SSYNC_ERROR_DETAILS(DETAIL_ROW)
};
#undef ROW
#undef DETAIL_ROW

static const struct code_row *find_code(int code)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].code == code)
			return &rows[i];
	return NULL;
}

const char *ssync_error_name(int code)
{
	const struct code_row *r = find_code(code);

	return r ? r->name : "E_UNKNOWN";
}

int ssync_error_code(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].code;
	return 1;
}

const char *ssync_error_code_hint(int code)
{
	const struct code_row *r = find_code(code);

	return r ? r->hint : "";
}

int ssync_error_class(int code)
{
	const struct code_row *r = find_code(code);

	return r ? r->cls : code;
}
