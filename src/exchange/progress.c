/*
 * The transfer context shared by fetch, push and the local object copy:
 * progress reports, cancellation, classified failures, and scrubbing
 * secrets (tokens, URL passwords) out of every message.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <git2.h>
#include <sodium.h>

#include "exchange_int.h"


/* Replace every occurrence of @p secret in @p s by "***" (in place). */
static void scrub(char *s, size_t cap, const char *secret)
{
	size_t slen, rest;
	char *p, *from = s;

	if (!secret || !(slen = strlen(secret)))
		return;
	/* search after each replacement: "***" may itself contain the secret */
	while ((p = strstr(from, secret)) != NULL) {
		rest = strlen(p + slen);
		if (slen >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + slen, rest + 1);
			from = p + 3;
		} else if ((size_t)(p - s) + 3 + rest < cap) {
			memmove(p + 3, p + slen, rest + 1);
			memcpy(p, "***", 3);
			from = p + 3;
		} else {
			memmove(p, p + slen, rest + 1);
			from = p;
		}
	}
}

/* Non-zero if the user's callback asks to stop. */
int ssync_exchange__user_progress(xfer *x)
{
	return x->opts && x->opts->progress && x->opts->progress(&x->prog, x->opts->payload);
}

/* Report progress from the calling thread; -1 once cancelled. */
int ssync_exchange__report(xfer *x)
{
	if (x->cancelled)
		return -1;
	if (ssync_exchange__user_progress(x)) {
		x->cancelled = 1;
		return -1;
	}
	return 0;
}

/*
 * Failure of a transfer step: cancelled, refused credentials and damaged
 * data keep their meaning; anything else means the remote or the link
 * failed.
 */
int ssync_exchange__xfail(xfer *x, ssync_error *err, int gcode, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[384];
	va_list ap;
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (x->cancelled)
		code = SSYNC_ECANCELLED;
	else if (x->auth_failed || gcode == GIT_EAUTH)
		code = SSYNC_EPERM;
	else if (gcode == GIT_EMISMATCH)
		code = SSYNC_ECORRUPT;
	else
		code = SSYNC_ENET;
	if (code == SSYNC_ECANCELLED)
		ssync_error_set(err, code, "%s: cancelled", what);
	else
		ssync_error_set(err, code, "%s: %s", what,
			e && e->message ? e->message : "unknown libgit2 error");
	if (code == SSYNC_EPERM)
		ssync_error_hint(err, "check the ssh key / agent or the https token for remote %s",
			x->remote);
	else if (code == SSYNC_ENET)
		ssync_error_hint(err, "remote %s is unreachable or the transfer broke off: check the link, "
			"then sync again (a running schoolsyncd retries by itself)", x->remote);
	git_error_clear();
	return code;
}

int ssync_exchange__xfer_init(xfer *x, const char *remote, const ssync_transfer_opts *opts,
	ssync_error *err)
{
	memset(x, 0, sizeof(*x));
	x->remote = remote;
	x->opts = opts;
	if (pthread_mutex_init(&x->mu, NULL) != 0)
		return ssync_error_set(err, SSYNC_ERROR, "out of resources (mutex)");
	if (pthread_cond_init(&x->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&x->mu);
		return ssync_error_set(err, SSYNC_ERROR, "out of resources (condition)");
	}
	x->ready = 1;
	return 0;
}

void ssync_exchange__xfer_dispose(xfer *x)
{
	if (!x->ready)
		return;
	/* both are idle here: every writer thread has been joined */
	(void)pthread_mutex_destroy(&x->mu);
	(void)pthread_cond_destroy(&x->cv);
}

/* Never let a token or a password from a URL reach a message. */
void ssync_exchange__scrub_secrets(ssync_error *err, const ssync_transfer_opts *opts, const char *url)
{
	const char *at = NULL, *colon, *start = NULL;
	char pass[512];

	if (!err)
		return;
	if (opts && opts->https_token) {
		scrub(err->message, sizeof(err->message), opts->https_token);
		scrub(err->hint, sizeof(err->hint), opts->https_token);
	}
	if (url && (start = strstr(url, "://")) && (at = strchr(start + 3, '@')) &&
	    (colon = memchr(start + 3, ':', (size_t)(at - start - 3))) &&
	    (size_t)(at - colon - 1) < sizeof(pass)) {
		memcpy(pass, colon + 1, (size_t)(at - colon - 1));
		pass[at - colon - 1] = '\0';
		scrub(err->message, sizeof(err->message), pass);
		scrub(err->hint, sizeof(err->hint), pass);
	} else if (url && start && at && !strncasecmp(url, "http", 4) && (size_t)(at - start - 3) < sizeof(pass) &&
	    at > start + 3) {
		/* https://TOKEN@host: the user part is the token */
		memcpy(pass, start + 3, (size_t)(at - start - 3));
		pass[at - start - 3] = '\0';
		scrub(err->message, sizeof(err->message), pass);
		scrub(err->hint, sizeof(err->hint), pass);
	}
	sodium_memzero(pass, sizeof(pass));
	/* The recorded arguments could hold what was scrubbed: a message of
	 * a transfer with secrets is shown in English only. */
	if ((opts && opts->https_token) || at) {
		err->msg_fmt = err->hint_fmt = NULL;
		sodium_memzero(err->msg_args, sizeof(err->msg_args));
		sodium_memzero(err->hint_args, sizeof(err->hint_args));
	}
}
