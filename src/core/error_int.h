#ifndef SSYNC_ERROR_INT_H
#define SSYNC_ERROR_INT_H

#include <stdarg.h>
#include <stddef.h>

/* Each argument fmt consumes from ap, printed with its own conversion, into
 * buf as NUL-separated pieces (error_fmt.c). -1 when they do not fit or the
 * format uses what the renderer does not take ("%N$"): the error then
 * stays English. */
int ssync_error__capture(char *buf, size_t n, const char *fmt, va_list ap);

#endif
