/*
 * The fuzz targets without libFuzzer, for the default suite (any compiler):
 *     replay_<name> CORPUS_DIR [ITERATIONS]
 * feeds every file of CORPUS_DIR to LLVMFuzzerTestOneInput, then ITERATIONS
 * (default 3000, or $SSYNC_FUZZ_ITERS) inputs made from them by a
 * fixed-seed PRNG: bit flips, byte changes, inserts, deletes, cuts and
 * splices of two seeds. Same inputs every run, so a failure reproduces; on
 * a crash or a failed oracle (SIGABRT, SIGSEGV, ...) the input is written to
 * ./fuzz-replay-crash, for `fuzz_<name> fuzz-replay-crash` or a debugger.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_SEEDS 256
#define REPLAY_MAX_INPUT (256 * 1024)

typedef struct seed {
	uint8_t *p;
	size_t n;
} seed;

static uint64_t rng = 0x5eed5eed12345678ull;

static uint64_t next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load(const char *path, seed *s)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > REPLAY_MAX_INPUT || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	s->n = (size_t)n;
	s->p = malloc(s->n ? s->n : 1);
	if (!s->p || (s->n && fread(s->p, 1, s->n, f) != s->n)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Bytes the decoders care about, for inserts and changes. */
static const uint8_t special[] = { '"', '\\', '\t', '\n', '\r', ',', '{', '}', '[', ']', ':', '0', '9', '-',
	'e', 'n', 0, 0x7f, 0x80, 0xbf, 0xc0, 0xe4, 0xef, 0xff, 0x81, 0x30, 0xfe };

static size_t mutate(uint8_t *buf, size_t n, size_t cap, const seed *seeds, size_t nseeds)
{
	int rounds = 1 + (int)below(4), r;

	for (r = 0; r < rounds; r++) {
		size_t at = below(n + 1), k;
		switch (below(7)) {
		case 0: /* flip a bit */
			if (n)
				buf[below(n)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* a special byte */
			if (n)
				buf[below(n)] = special[below(sizeof(special))];
			break;
		case 2: /* insert special bytes */
			k = 1 + below(4);
			if (n + k <= cap) {
				memmove(buf + at + k, buf + at, n - at);
				for (size_t i = 0; i < k; i++)
					buf[at + i] = special[below(sizeof(special))];
				n += k;
			}
			break;
		case 3: /* delete a run */
			if (at < n) {
				k = 1 + below(n - at < 16 ? n - at : 16);
				memmove(buf + at, buf + at + k, n - at - k);
				n -= k;
			}
			break;
		case 4: /* cut */
			n = at;
			break;
		case 5: { /* splice: the head of this one, the tail of another */
			const seed *o = &seeds[below(nseeds)];
			size_t from = below(o->n + 1);
			k = o->n - from;
			if (at + k > cap)
				k = cap - at;
			memcpy(buf + at, o->p + from, k);
			n = at + k;
			break;
		}
		default: /* duplicate a run (repeated lines, fields) */
			if (at < n) {
				k = 1 + below(n - at < 64 ? n - at : 64);
				if (n + k <= cap) {
					memmove(buf + at + k, buf + at, n - at);
					n += k;
				}
			}
			break;
		}
	}
	return n;
}

static const uint8_t *cur;
static size_t cur_n;

/* Only async-signal-safe calls: save the input, then die of the signal. */
static void on_crash(int sig)
{
	static const char msg[] = "replay: the input is in ./fuzz-replay-crash\n";
	int fd = open("fuzz-replay-crash", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (cur && write(fd, cur, cur_n) < 0)
			(void)0;
		close(fd);
	}
	if (write(2, msg, sizeof(msg) - 1) < 0)
		(void)0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *p, size_t n)
{
	cur = p;
	cur_n = n;
	(void)LLVMFuzzerTestOneInput(p, n);
	cur = NULL;
}

int main(int argc, char **argv)
{
	seed seeds[MAX_SEEDS];
	char *names[MAX_SEEDS];
	size_t nseeds = 0, nnames = 0, i;
	long iters = 3000;
	const char *env = getenv("SSYNC_FUZZ_ITERS");
	uint8_t *buf;
	DIR *d;
	struct dirent *de;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
		return 2;
	}
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGILL, on_crash);
	if (argc > 2)
		iters = atol(argv[2]);
	else if (env && *env)
		iters = atol(env);
	if (!(d = opendir(argv[1]))) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d)) && nnames < MAX_SEEDS) {
		if (de->d_name[0] == '.')
			continue;
		if (!(names[nnames] = malloc(strlen(argv[1]) + strlen(de->d_name) + 2)))
			return 1;
		sprintf(names[nnames++], "%s/%s", argv[1], de->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_name); /* same order, same inputs */
	for (i = 0; i < nnames; i++) {
		if (load(names[i], &seeds[nseeds]) == 0)
			nseeds++;
		else
			fprintf(stderr, "skipped %s (unreadable or over %d bytes)\n", names[i], REPLAY_MAX_INPUT);
		free(names[i]);
	}
	if (nseeds == 0) {
		fprintf(stderr, "%s: no seeds\n", argv[1]);
		return 1;
	}
	for (i = 0; i < nseeds; i++)
		run(seeds[i].p, seeds[i].n);
	if (!(buf = malloc(2 * REPLAY_MAX_INPUT)))
		return 1;
	for (long it = 0; it < iters; it++) {
		const seed *s = &seeds[below(nseeds)];
		size_t n;
		memcpy(buf, s->p, s->n);
		n = mutate(buf, s->n, 2 * REPLAY_MAX_INPUT, seeds, nseeds);
		run(buf, n);
	}
	printf("%zu seeds and %ld mutated inputs passed\n", nseeds, iters);
	for (i = 0; i < nseeds; i++)
		free(seeds[i].p);
	free(buf);
	return 0;
}
