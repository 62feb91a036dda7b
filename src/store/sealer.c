/* The sealer thread of a large write (capture.c): admission and signing of
 * one entry on the second core while the next one is built. */
#include "admit_int.h"
#include "sealer_int.h"

/* Everything a node signs, every receiver accepts: the receivers' own parse
 * and admission, on the exact bytes about to be signed. */
int ssync_sealer__admit(ssync_store *st, const ssync_entry *e, ssync_error *err)
{
	int error = ssync_admit__body(st, e->body, e->body_len, err);

	if (error == SSYNC_EVALUE)
		ssync_error_hint(err, "nothing was written. Text may not contain NUL (keep binary data in a blob), "
			"keys are text without control characters, a value is at most 512 KiB (docs/FORMAT.md)");
	return error;
}

static int sealer_claim(void *p)
{
	return ((ssync_sealer *)p)->busy;
}

/* Admission and signing of a big write's entry run here, on the second
 * core, while the next entry is built. */
static void sealer_work(void *p)
{
	ssync_sealer *s = p;

	ssync_error_clear(&s->err);
	if ((s->error = ssync_sealer__admit(s->st, s->e, &s->err)) == 0)
		ssync_entry__seal(s->e, s->kp);
}

static void sealer_done(void *p)
{
	((ssync_sealer *)p)->busy = 0;
}

int ssync_sealer__start(ssync_sealer *s, ssync_store *st, const ssync_keypair *kp)
{
	s->kp = kp;
	s->st = st;
	if (ssync_worker__init(&s->w, sealer_claim, sealer_work, sealer_done, s) < 0)
		return -1;
	if (ssync_worker__start(&s->w) < 0) {
		ssync_worker__destroy(&s->w);
		return -1;
	}
	s->started = 1;
	return 0;
}

/* The entry handed over, admitted and sealed (*out NULL if none); its
 * refusal if admission refused it. */
int ssync_sealer__take(ssync_sealer *s, ssync_entry **out, ssync_error *err)
{
	int error = 0;

	*out = NULL;
	if (!s->started)
		return 0;
	ssync_worker__lock(&s->w);
	while (s->busy)
		ssync_worker__wait(&s->w);
	*out = s->e;
	s->e = NULL;
	if (*out && s->error < 0) {
		error = ssync_error_set(err, s->error, "%s", s->err.message);
		ssync_error_hint(err, "%s", s->err.hint);
		ssync_entry_free(*out);
		*out = NULL;
	}
	s->error = 0;
	ssync_worker__unlock(&s->w);
	return error;
}

void ssync_sealer__stop(ssync_sealer *s)
{
	ssync_entry *e = NULL;

	if (!s->started)
		return;
	(void)ssync_sealer__take(s, &e, NULL); /* the write is ending either way */
	ssync_entry_free(e);
	ssync_worker__destroy(&s->w);
	s->started = 0;
}


/* Hand @p e to the sealer thread (started first if need be); -1 if it
 * cannot run, and the caller seals @p e itself. */
int ssync_sealer__hand(ssync_sealer *s, ssync_store *st, const ssync_keypair *kp, ssync_entry *e)
{
	if (!s->started && ssync_sealer__start(s, st, kp) < 0)
		return -1;
	ssync_worker__lock(&s->w);
	s->e = e;
	s->busy = 1;
	ssync_worker__wake(&s->w);
	ssync_worker__unlock(&s->w);
	return 0;
}
