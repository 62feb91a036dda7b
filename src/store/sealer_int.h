#ifndef SSYNC_SEALER_INT_H
#define SSYNC_SEALER_INT_H

#include "entry_int.h"
#include "store_int.h"
#include "worker_int.h"

/*
 * While a large write builds its next entry, the previous one is hashed and
 * signed on the other core (about 1.5 ms for 256 KiB). One entry in flight
 * is enough: building one takes several times longer than sealing it.
 */
typedef struct ssync_sealer {
	ssync_worker w;
	int started, busy;
	ssync_entry *e; /* handed over, or sealed and not yet logged */
	const ssync_keypair *kp;
	ssync_store *st; /* admission reads only the table registry */
	int error;       /* admission of e refused it (e is then not sealed) */
	ssync_error err;
} ssync_sealer;

/* Everything a node signs, every receiver accepts: the receivers' own
 * one-pass check of the exact bytes about to be signed. */
int ssync_sealer__admit(ssync_store *st, const ssync_entry *e, ssync_error *err);
int ssync_sealer__start(ssync_sealer *s, ssync_store *st, const ssync_keypair *kp);
int ssync_sealer__hand(ssync_sealer *s, ssync_store *st, const ssync_keypair *kp, ssync_entry *e);
/* The entry handed over, admitted and sealed (*out NULL if none); its
 * refusal if admission refused it. */
int ssync_sealer__take(ssync_sealer *s, ssync_entry **out, ssync_error *err);
void ssync_sealer__stop(ssync_sealer *s);

#endif
