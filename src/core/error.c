/* Caller-owned error details: first error wins, so lower layers' messages are
 * never overwritten by the callers that pass them up. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
}

const char *ssync_error_name(int code)
{
	switch (code) {
	case SSYNC_OK: return "OK";
	case SSYNC_ERROR: return "E_ERROR";
	case SSYNC_ENOTFOUND: return "E_NOTFOUND";
	case SSYNC_EEXISTS: return "E_EXISTS";
	case SSYNC_EPERM: return "E_PERM";
	case SSYNC_EINVAL: return "E_INVAL";
	case SSYNC_EBUSY: return "E_BUSY";
	case SSYNC_ECONFLICT: return "E_CONFLICT";
	case SSYNC_EKEYPERM: return "E_KEYPERM";
	case SSYNC_ESIG: return "E_SIG";
	case SSYNC_ECHAIN: return "E_CHAIN";
	case SSYNC_EFORK: return "E_FORK";
	case SSYNC_EREWRITE: return "E_REWRITE";
	case SSYNC_ENET: return "E_NET";
	case SSYNC_EIO: return "E_IO";
	case SSYNC_ECORRUPT: return "E_CORRUPT";
	case SSYNC_ETOOLARGE: return "E_TOO_LARGE";
	case SSYNC_EENCODING: return "E_ENCODING";
	case SSYNC_ESCHEMA: return "E_SCHEMA";
	case SSYNC_ECANCELLED: return "E_CANCELLED";
	case SSYNC_ECERT: return "E_CERT";
	case SSYNC_EREADONLY: return "E_READONLY";
	case SSYNC_ECLOCK: return "E_CLOCK";
	case SSYNC_EUNSAFE: return "E_UNSAFE";
	case SSYNC_ETAMPER: return "E_TAMPER";
	case SSYNC_EVALUE: return "E_VALUE";
	case SSYNC_EREJECTED: return "E_PUSH_REJECTED";
	default: return "E_UNKNOWN";
	}
}
