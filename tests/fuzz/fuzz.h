#ifndef SSYNC_FUZZ_H
#define SSYNC_FUZZ_H

/*
 * Fuzz targets (docs/FUZZING.md). Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput; it links either with libFuzzer (SSYNC_FUZZ=ON,
 * clang) or with replay.c, a plain main for the default suite that feeds
 * the seed corpus and fixed-seed mutations of it.
 */

#include <stddef.h>
#include <stdint.h>

#include "schoolsync/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A finding of an oracle (not a crash): print it and abort, so both
 * libFuzzer and the replay test report it with the input. */
#define FZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fz_fail(__FILE__, __LINE__, #cond); \
	} while (0)
void fz_fail(const char *file, int line, const char *what);

/*
 * The one replica of this process: node "hub" of district "cm" in a
 * scratch directory under $TMPDIR (removed at exit), unmanaged, holding the
 * fixed test key of node "sa" as a known peer (fz_resign signs with it).
 * Created on first use; aborts if it cannot be.
 */
ssync_node *fz_node(void);
/* Sign again, with the test key of "sa", every line of @p data (LF
 * separated) that ends in TAB and 128 characters: the signature is put
 * there in lower-case hex. Returns the lines signed. */
size_t fz_resign(char *data, size_t size);
/* A scratch file path of this process (in the replica's directory). */
const char *fz_scratch(const char *name);
/* Write @p data to the scratch file @p name; returns its path. */
const char *fz_write(const char *name, const uint8_t *data, size_t size);
/* The input as a NUL-terminated copy (malloc'd; aborts when out of memory). */
char *fz_strdup(const uint8_t *data, size_t size);

#endif
