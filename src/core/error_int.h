#ifndef SSYNC_ERROR_INT_H
#define SSYNC_ERROR_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "schoolsync/error.h"

/* Each argument fmt consumes from ap, printed with its own conversion, into
 * buf as NUL-separated pieces (error_fmt.c). -1 when they do not fit or the
 * format uses what the renderer does not take ("%N$"): the error then
 * stays English. */
int ssync_error__capture(char *buf, size_t n, const char *fmt, va_list ap);

/*
 * snprintf(why, whylen, fmt, ...) for a reason text that a caller then puts
 * into an error message with "%s" (the domain checks' "why"): also noted
 * (per thread), so ssync_error_set() can record its format and arguments
 * and ssync_error_localize() translate it inside the message. Returns 0.
 */
int ssync_error__reason(char *why, size_t whylen, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* In ssync_error_set: if an argument piece is the last noted reason, record it. */
void ssync_error__nest(ssync_error *err);

#endif
