#ifndef SSYNC_WRESET_INT_H
#define SSYNC_WRESET_INT_H

/* Witness resets (wreset.c, docs/TRUST.md §4b): root-signed objects on the
 * district branch that void checkpoints from..to (a hub clock that ran
 * ahead, a leaked hub key) and name the hub and key that sign the
 * checkpoints after to. */

#include "schoolsync/error.h"
#include "schoolsync/keys.h"
#include "schoolsync/ident.h"
#include "store_int.h"
#include "tobj_int.h"

#define SSYNC_WRESET_MAX 64 /* resets a district may hold: each is a rare, manual act */

typedef struct ssync_wreset {
	int64_t serial, from, to;
	char hub[SSYNC_NODE_ID_MAX + 1];
	unsigned char key[SSYNC_PUBKEY_BYTES];
} ssync_wreset;

/* The reset that decides who signs checkpoint @p pos: among the held
 * resets with to < pos, the one with the highest serial. 1 and *out if
 * there is one, 0 if none (the first hub certificate's rule, witness.c).
 * @p pos = 0 asks for the next position (the latest reset). */
int ssync_witness__reset_for(ssync_store *st, int64_t pos, ssync_wreset *out, ssync_error *err);

/* 1 if a held reset voids checkpoint position @p pos. */
int ssync_witness__void_pos(ssync_store *st, int64_t pos, ssync_error *err);

/* Receivers' rules for a reset about to be loaded (root signature, path and
 * district already checked): it starts after every held reset's range, its
 * range reaches every checkpoint held, and the district holds fewer than
 * SSYNC_WRESET_MAX. 1 with @p why if refused, 0 if it may load. */
int ssync_witness__reset_check(ssync_store *st, const ssync_tobj *t, char *why, size_t whylen, ssync_error *err);

/* Apply a loaded reset to the checkpoints held: each void one keeps its
 * bytes (the hash chain and paths go on) but lists no head and carries the
 * time of the last valid checkpoint before the range (0 if none). */
int ssync_witness__reset_apply(ssync_store *st, const ssync_tobj *t, ssync_error *err);

#endif
