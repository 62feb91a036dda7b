/* Login tokens and sessions of the web console, in this process's memory
 * only (nothing on disk: a restart logs everyone out, and a token or
 * session id never lands in a file another user might read).
 *
 * A token is 32 random bytes (libsodium), good once and for ttl_s; spending
 * it makes a session: a random id (the cookie) and a random CSRF token, and
 * the user name the token was made for. A session unused for idle_s ends.
 * Lookups compare in constant time. At most WEB_MAX_TOKENS open tokens and
 * WEB_MAX_SESSIONS sessions: a new session pushes out the least recently
 * used one; too many open tokens is refused. One mutex: the server's
 * threads and the daemon's control socket call in concurrently. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "web_int.h"

typedef struct slot {
	int used;
	char secret[WEB_TOKEN_HEX + 1]; /* token, or session id */
	double last;                    /* monotonic seconds: made (token) / last used (session) */
	web_session s;
} slot;

struct web_auth {
	pthread_mutex_t mu;
	double idle_s, ttl_s;
	slot tokens[WEB_MAX_TOKENS];
	slot sessions[WEB_MAX_SESSIONS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void random_hex(char out[WEB_TOKEN_HEX + 1])
{
	unsigned char b[WEB_TOKEN_HEX / 2];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, WEB_TOKEN_HEX + 1, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
}

static void wipe(slot *s)
{
	sodium_memzero(s, sizeof(*s));
}

int ssync_web__secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && la > 0 && sodium_memcmp(a, b, la) == 0;
}

int ssync_web__auth_new(web_auth **out, double idle_s, double ttl_s)
{
	web_auth *a;

	*out = NULL;
	if (sodium_init() < 0 || !(a = calloc(1, sizeof(*a))))
		return SSYNC_ERROR;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return SSYNC_ERROR;
	}
	a->idle_s = idle_s > 0 ? idle_s : 1800;
	a->ttl_s = ttl_s > 0 ? ttl_s : 600;
	*out = a;
	return 0;
}

void ssync_web__auth_free(web_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

/* Forget expired tokens and idle sessions (under the mutex). */
static void expire(web_auth *a, double now)
{
	int i;

	for (i = 0; i < WEB_MAX_TOKENS; i++)
		if (a->tokens[i].used && now - a->tokens[i].last > a->ttl_s)
			wipe(&a->tokens[i]);
	for (i = 0; i < WEB_MAX_SESSIONS; i++)
		if (a->sessions[i].used && now - a->sessions[i].last > a->idle_s)
			wipe(&a->sessions[i]);
}

int ssync_web__token_new(web_auth *a, const char *user, char tok[WEB_TOKEN_HEX + 1], ssync_error *err)
{
	double now = now_s();
	int i, error = 0;

	pthread_mutex_lock(&a->mu);
	expire(a, now);
	for (i = 0; i < WEB_MAX_TOKENS && a->tokens[i].used; i++)
		;
	if (i == WEB_MAX_TOKENS) {
		error = ssync_error_set(err, SSYNC_EBUSY, "%d login links are open and unused; wait until they "
			"expire (%.0f s after they were made) or use one", WEB_MAX_TOKENS, a->ttl_s);
	} else {
		slot *s = &a->tokens[i];
		s->used = 1;
		s->last = now;
		random_hex(s->secret);
		snprintf(s->s.user, sizeof(s->s.user), "%s", user);
		memcpy(tok, s->secret, sizeof(s->secret));
	}
	pthread_mutex_unlock(&a->mu);
	return error;
}

int ssync_web__token_use(web_auth *a, const char *tok, char sid[WEB_TOKEN_HEX + 1], web_session *out)
{
	double now = now_s();
	int i, found = -1, oldest = 0;

	pthread_mutex_lock(&a->mu);
	expire(a, now);
	/* every slot compared, so the time taken says nothing about which matched */
	for (i = 0; i < WEB_MAX_TOKENS; i++)
		if (a->tokens[i].used && ssync_web__secret_eq(a->tokens[i].secret, tok))
			found = i;
	if (found >= 0) {
		slot *s;
		for (i = 0; i < WEB_MAX_SESSIONS; i++) {
			if (!a->sessions[i].used) {
				oldest = i;
				break;
			}
			if (a->sessions[i].last < a->sessions[oldest].last)
				oldest = i;
		}
		s = &a->sessions[oldest];
		wipe(s);
		s->used = 1;
		s->last = now;
		random_hex(s->secret);
		random_hex(s->s.csrf);
		memcpy(s->s.user, a->tokens[found].s.user, sizeof(s->s.user));
		wipe(&a->tokens[found]); /* single use */
		memcpy(sid, s->secret, sizeof(s->secret));
		*out = s->s;
	}
	pthread_mutex_unlock(&a->mu);
	return found >= 0 ? 0 : -1;
}

int ssync_web__session_get(web_auth *a, const char *sid, web_session *out)
{
	double now = now_s();
	int i, found = -1;

	pthread_mutex_lock(&a->mu);
	expire(a, now);
	for (i = 0; i < WEB_MAX_SESSIONS; i++)
		if (a->sessions[i].used && ssync_web__secret_eq(a->sessions[i].secret, sid))
			found = i;
	if (found >= 0) {
		a->sessions[found].last = now;
		*out = a->sessions[found].s;
	}
	pthread_mutex_unlock(&a->mu);
	return found >= 0 ? 0 : -1;
}

void ssync_web__session_end(web_auth *a, const char *sid)
{
	int i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < WEB_MAX_SESSIONS; i++)
		if (a->sessions[i].used && ssync_web__secret_eq(a->sessions[i].secret, sid))
			wipe(&a->sessions[i]);
	pthread_mutex_unlock(&a->mu);
}
