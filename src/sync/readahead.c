/*
 * Received lines are parsed and their signatures checked on the second
 * core while the apply works on earlier lines: for single-row entries the
 * parse (with its canonical re-encoding check) and the Ed25519 verify were
 * about 70 % of applying them.
 *
 * Lines are slots in arrival order. The worker claims the next unclaimed
 * slot; the apply, reaching a slot the worker has not claimed, claims and
 * parses it itself, so the two cores share the work instead of the apply
 * waiting. The worker stays at most WINDOW lines ahead, which bounds the
 * memory parsed entries take.
 */
#include <stdlib.h>
#include <string.h>

#include "readahead_int.h"
#include "schoolsync/keys.h"
#include "worker_int.h"

#define WINDOW 256

enum { SLOT_OPEN, SLOT_WORKING, SLOT_DONE, SLOT_TAKEN };

typedef struct slot {
	const char *line;
	size_t len;
	int state;
	ssync_entry *e; /* SLOT_DONE: parsed (NULL if it did not parse) */
} slot;

struct ssync_ahead {
	ssync_worker w; /* the thread; its lock guards the fields below */
	int started, failed, busy;
	size_t cur;      /* the slot the worker is parsing */
	ssync_entry *cur_e;
	unsigned char keys[SSYNC_AHEAD_KEYS][SSYNC_PUBKEY_BYTES];
	int nkeys;
	slot *slots;
	size_t n, cap;
	size_t next; /* first slot nobody has claimed */
	size_t used; /* next slot the apply takes */
};

static ssync_entry *parse_and_check(ssync_ahead *a, const char *line, size_t len)
{
	ssync_entry *e = NULL;
	int k;

	if (ssync_entry_parse(&e, line, len, NULL) < 0)
		return NULL;
	for (k = 0; k < a->nkeys; k++)
		if (ssync_keys_verify(a->keys[k], e->body, e->body_len, e->sig) == 0)
			e->vok |= 1u << k;
	e->vkeys = (const unsigned char (*)[SSYNC_PUBKEY_BYTES])a->keys;
	e->nvkeys = a->nkeys;
	return e;
}

/* The worker (worker.c) claims the next open slot inside the window ... */
static int ahead_claim(void *p)
{
	ssync_ahead *a = p;

	if (a->next >= a->n || a->next >= a->used + WINDOW)
		return 0;
	a->cur = a->next++;
	a->slots[a->cur].state = SLOT_WORKING;
	a->busy = 1;
	return 1;
}

/* ... parses it without the lock (feed moves slots only when not busy) ... */
static void ahead_work(void *p)
{
	ssync_ahead *a = p;

	a->cur_e = parse_and_check(a, a->slots[a->cur].line, a->slots[a->cur].len);
}

/* ... and hands it over. */
static void ahead_done(void *p)
{
	ssync_ahead *a = p;

	a->slots[a->cur].e = a->cur_e;
	a->slots[a->cur].state = SLOT_DONE;
	a->busy = 0;
}

int ssync_ahead__new(ssync_ahead **out, const unsigned char (*keys)[SSYNC_PUBKEY_BYTES], int nkeys)
{
	ssync_ahead *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -1;
	if (ssync_worker__init(&a->w, ahead_claim, ahead_work, ahead_done, a) < 0) {
		free(a);
		return -1;
	}
	if (nkeys > SSYNC_AHEAD_KEYS)
		nkeys = SSYNC_AHEAD_KEYS; /* the rest are checked by the apply */
	if (nkeys > 0)
		memcpy(a->keys, keys, (size_t)nkeys * SSYNC_PUBKEY_BYTES);
	a->nkeys = nkeys;
	*out = a;
	return 0;
}

void ssync_ahead__drop(ssync_ahead *a)
{
	size_t i;

	if (!a)
		return;
	ssync_worker__lock(&a->w);
	a->n = a->next; /* nothing more to claim */
	while (a->busy)
		ssync_worker__wait(&a->w);
	for (i = a->used; i < a->next; i++)
		ssync_entry_free(a->slots[i].e);
	a->n = a->next = a->used = 0;
	ssync_worker__unlock(&a->w);
}

size_t ssync_ahead__ready(ssync_ahead *a)
{
	size_t i, n = 0;

	if (!a)
		return 0;
	ssync_worker__lock(&a->w);
	for (i = a->used; i < a->next; i++)
		n += a->slots[i].state == SLOT_DONE;
	ssync_worker__unlock(&a->w);
	return n;
}

void ssync_ahead__free(ssync_ahead *a)
{
	if (!a)
		return;
	ssync_ahead__drop(a);
	ssync_worker__destroy(&a->w); /* stops and joins the thread, if started */
	free(a->slots);
	free(a);
}

void ssync_ahead__feed(ssync_ahead *a, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	size_t n = 0;

	if (!a)
		return;
	ssync_ahead__drop(a);
	if (a->failed)
		return;
	ssync_worker__lock(&a->w);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 1024;
			slot *ns = realloc(a->slots, cap * sizeof(*ns));
			if (!ns)
				break; /* the apply parses what is not here */
			a->slots = ns;
			a->cap = cap;
		}
		a->slots[n].line = p;
		a->slots[n].len = l;
		a->slots[n].state = SLOT_OPEN;
		a->slots[n].e = NULL;
		n++;
		p += l;
	}
	a->n = n;
	if (!a->started && n > 1) {
		if (ssync_worker__start(&a->w) == 0)
			a->started = 1;
		else
			a->failed = 1;
	}
	ssync_worker__wake(&a->w);
	ssync_worker__unlock(&a->w);
}

ssync_entry *ssync_ahead__take(ssync_ahead *a, const char *line, size_t len)
{
	ssync_entry *e = NULL;
	slot *s;

	if (!a)
		return NULL;
	ssync_worker__lock(&a->w);
	if (a->used >= a->n || a->slots[a->used].line != line || a->slots[a->used].len != len) {
		ssync_worker__unlock(&a->w);
		return NULL;
	}
	s = &a->slots[a->used++];
	if (s->state == SLOT_OPEN) {
		a->next = a->used; /* ours: the worker moves on to the one after */
	} else {
		/* the worker is on it: rather than wait, do the next open line */
		while (s->state == SLOT_WORKING) {
			if (a->next < a->n && a->next < a->used + WINDOW) {
				size_t j = a->next++;
				ssync_entry *o;
				a->slots[j].state = SLOT_WORKING;
				ssync_worker__unlock(&a->w);
				o = parse_and_check(a, a->slots[j].line, a->slots[j].len);
				ssync_worker__lock(&a->w);
				a->slots[j].e = o;
				a->slots[j].state = SLOT_DONE;
			} else {
				ssync_worker__wait(&a->w);
			}
		}
		e = s->e;
		s->e = NULL;
	}
	s->state = SLOT_TAKEN;
	ssync_worker__wake(&a->w); /* the window moved */
	ssync_worker__unlock(&a->w);
	return e;
}
