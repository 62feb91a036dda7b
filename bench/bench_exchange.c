/*
 * bench_exchange: how fast segments move between exchange repositories.
 *
 * Builds a branch of N pseudo-JSON segments (~SIZE bytes each, distinct,
 * random-looking like signed entries) in C commits, then times:
 *   fetch  local fast path   (remote is a path)
 *   fetch  libgit2 transport (file:// with the fast path turned off), from
 *          a source with our config (no delta search) and from a source
 *          with git's default config (what stock libgit2 does)
 *   push   fast path to a new directory (USB stick), libgit2 transport
 *   fetch  of one more small commit (the everyday sync round)
 * The machine's other load shows up in the figures: run it more than once.
 *
 * usage: bench_exchange [N [SIZE [COMMITS]]]   (default 2000 50000 100)
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <git2.h>

#include "schoolsync/exchange.h"

#define REF "refs/heads/node/sch-bench"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rand_chars(char *out, size_t n, const char *alphabet, size_t alen)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = alphabet[next_rand() % alen];
}

/* One segment: lines of entries with hex hashes and base64 signatures. */
static size_t make_segment(char *buf, size_t target, size_t seg)
{
	static const char *const tables[] = { "teacher", "rotation", "course", "booking",
		"enrollment" };
	static const char *const cols[] = { "title", "tier", "school_id", "status", "term",
		"name", "subject" };
	static const char hex[] = "0123456789abcdef";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0, seq = seg * 1000;

	while (n + 400 < target) {
		n += (size_t)snprintf(buf + n, target - n,
			"{\"seq\":%zu,\"node\":\"sch-%03u\",\"hlc\":\"%llu.%u\",\"table\":\"%s\",\"pk\":\"",
			seq++, (unsigned)(next_rand() % 200),
			(unsigned long long)(1700000000000ULL + next_rand() % 100000000ULL),
			(unsigned)(next_rand() % 100), tables[next_rand() % 5]);
		rand_chars(buf + n, 32, hex, 16);
		n += 32;
		n += (size_t)snprintf(buf + n, target - n,
			"\",\"ops\":[{\"col\":\"%s\",\"v\":\"v%llu\"}],\"prev\":\"",
			cols[next_rand() % 7], (unsigned long long)(next_rand() % 1000000));
		rand_chars(buf + n, 64, hex, 16);
		n += 64;
		n += (size_t)snprintf(buf + n, target - n, "\",\"sig\":\"");
		rand_chars(buf + n, 86, b64, 64);
		n += 86;
		n += (size_t)snprintf(buf + n, target - n, "==\"}\n");
	}
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process, all threads (immune to other load). */
static double cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_mark; /* cpu() when the timed step started */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static long long du_cb_total;

static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_cb_total += (long long)st->st_size;
	return 0;
}

static double disk_mb(const char *path)
{
	du_cb_total = 0;
	if (nftw(path, du_cb, 16, FTW_PHYS) != 0)
		return -1;
	return (double)du_cb_total / 1e6;
}

static void die(const char *what, const ssync_error *err)
{
	fprintf(stderr, "bench_exchange: %s: %s (%s)\n", what, err->message,
		ssync_error_name(err->code));
	exit(1);
}

static ssync_exchange *open_at(const char *dir, const char *name)
{
	ssync_exchange *ex = NULL;
	ssync_error err;
	char path[512];

	ssync_error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ssync_exchange_open(&ex, path, 1, &err) < 0)
		die(path, &err);
	return ex;
}

static void print_row(const char *what, double secs, double mb, double disk)
{
	printf("%-48s %7.2f s %8.1f MB/s  cpu %6.2f s", what, secs, secs > 0 ? mb / secs : 0.0,
		cpu() - cpu_mark);
	if (disk >= 0)
		printf("   (repo %.1f MB on disk)", disk);
	printf("\n");
}

/* Fetch remote @p url into a fresh repo @p name; returns seconds. */
static double time_fetch(const char *dir, const char *name, const char *url, int fastpath,
	ssync_oid_hex *tip)
{
	ssync_exchange *ex = open_at(dir, name);
	ssync_oid_hex got;
	ssync_error err;
	double t0, t;

	ssync_error_clear(&err);
	ssync_exchange_set_local_fastpath(ex, fastpath);
	if (ssync_exchange_remote_add(ex, "src", url, &err) < 0)
		die("remote add", &err);
	t0 = now();
	cpu_mark = cpu();
	if (ssync_exchange_fetch(ex, "src", NULL, &err) < 0)
		die("fetch", &err);
	t = now() - t0;
	if (ssync_exchange_ref_tip(ex, "refs/remotes/src/node/sch-bench", &got, &err) < 0)
		die("tip", &err);
	if (strcmp(got.hex, tip->hex) != 0) {
		fprintf(stderr, "bench_exchange: fetched tip %s, expected %s\n", got.hex, tip->hex);
		exit(1);
	}
	ssync_exchange_free(ex);
	return t;
}

static double time_push(ssync_exchange *src, const char *url, int fastpath)
{
	static int seq;
	const char *refs[] = { REF };
	ssync_error err;
	char name[32];
	double t0, t;

	ssync_error_clear(&err);
	snprintf(name, sizeof(name), "dst%d", ++seq);
	ssync_exchange_set_local_fastpath(src, fastpath);
	if (ssync_exchange_remote_add(src, name, url, &err) < 0)
		die("remote add", &err);
	t0 = now();
	cpu_mark = cpu();
	if (ssync_exchange_push(src, name, 1, refs, NULL, &err) < 0)
		die("push", &err);
	t = now() - t0;
	ssync_exchange_set_local_fastpath(src, 1);
	return t;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
	size_t size = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 50000;
	size_t commits = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 100;
	char dir[] = "/tmp/ssync-bench-exchange-XXXXXX";
	char path[600], url[600];
	ssync_exchange *src, *dst;
	ssync_oid_hex tip, tip2;
	ssync_error err;
	size_t i, c, per, total = 0;
	double t0, t, mb;
	char **names, **bufs;
	const char **paths;
	const void **datas;
	size_t *lens;

	if (n == 0 || size < 1000 || commits == 0 || commits > n) {
		fprintf(stderr, "usage: bench_exchange [N [SIZE>=1000 [COMMITS<=N]]]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	per = (n + commits - 1) / commits;
	names = calloc(per, sizeof(*names));
	bufs = calloc(per, sizeof(*bufs));
	paths = calloc(per, sizeof(*paths));
	datas = calloc(per, sizeof(*datas));
	lens = calloc(per, sizeof(*lens));
	if (!names || !bufs || !paths || !datas || !lens)
		return 1;
	for (i = 0; i < per; i++) {
		names[i] = malloc(64);
		bufs[i] = malloc(size + 1);
		if (!names[i] || !bufs[i])
			return 1;
	}

	printf("bench_exchange: %zu segments of ~%zu bytes in %zu commits, dir %s\n",
		n, size, commits, dir);
	src = open_at(dir, "src.git");
	ssync_error_clear(&err);
	t0 = now();
	cpu_mark = cpu();
	for (c = 0, i = 0; i < n; c++) {
		size_t k;

		for (k = 0; k < per && i < n; k++, i++) {
			snprintf(names[k], 64, "seg/%06zu/%012zu.seg", i / 1000, i);
			lens[k] = make_segment(bufs[k], size, i);
			paths[k] = names[k];
			datas[k] = bufs[k];
			total += lens[k];
		}
		if (ssync_exchange_commit_files(src, REF, k, paths, datas, lens, "seal", &tip,
				&err) < 0)
			die("commit", &err);
	}
	t = now() - t0;
	mb = (double)total / 1e6;
	snprintf(path, sizeof(path), "%s/src.git", dir);
	printf("data: %.1f MB raw\n", mb);
	print_row("commit (generate + store, loose objects)", t, mb, disk_mb(path));

	snprintf(path, sizeof(path), "%s/src.git", dir);
	t = time_fetch(dir, "fast.git", path, 1, &tip);
	snprintf(path, sizeof(path), "%s/fast.git", dir);
	print_row("fetch, local fast path (path remote)", t, mb, disk_mb(path));

	snprintf(url, sizeof(url), "file://%s/src.git", dir);
	t = time_fetch(dir, "lg2.git", url, 0, &tip);
	snprintf(path, sizeof(path), "%s/lg2.git", dir);
	print_row("fetch, libgit2 transport (file://), our config", t, mb, disk_mb(path));

	snprintf(path, sizeof(path), "%s/usb.git", dir);
	t = time_push(src, path, 1);
	print_row("push, fast path (creates the repo)", t, mb, disk_mb(path));

	dst = open_at(dir, "usb2.git");
	ssync_exchange_free(dst);
	snprintf(url, sizeof(url), "file://%s/usb2.git", dir);
	t = time_push(src, url, 0);
	print_row("push, libgit2 transport (file://)", t, mb, -1);

	/*
	 * stock.git: packed, with git's default config (delta search on), as a
	 * repository made by plain git or libgit2 would be.
	 */
	snprintf(path, sizeof(path), "%s/stock.git", dir);
	{
		git_repository *plain = NULL;

		if (git_repository_init(&plain, path, 1) < 0) {
			fprintf(stderr, "bench_exchange: init %s: %s\n", path, git_error_last()->message);
			return 1;
		}
		git_repository_free(plain);
	}
	t = time_push(src, path, 1);
	snprintf(url, sizeof(url), "file://%s/stock.git", dir);
	t = time_fetch(dir, "stocklg2.git", url, 0, &tip);
	print_row("fetch, libgit2 transport, stock-config source", t, mb, -1);
	t = time_fetch(dir, "stockfast.git", path, 1, &tip);
	print_row("fetch, fast path, stock-config packed source", t, mb, -1);

	/* one more round: a single new segment */
	snprintf(names[0], 64, "seg/%06zu/%012zu.seg", n / 1000, n);
	lens[0] = make_segment(bufs[0], size, n);
	paths[0] = names[0];
	datas[0] = bufs[0];
	if (ssync_exchange_commit_files(src, REF, 1, paths, datas, lens, "seal", &tip2, &err) < 0)
		die("commit", &err);
	dst = open_at(dir, "fast.git");
	t0 = now();
	cpu_mark = cpu();
	if (ssync_exchange_fetch(dst, "src", NULL, &err) < 0)
		die("fetch", &err);
	t = now() - t0;
	ssync_exchange_free(dst);
	print_row("fetch, fast path, 1 new segment", t, (double)lens[0] / 1e6, -1);
	dst = open_at(dir, "lg2.git");
	ssync_exchange_set_local_fastpath(dst, 0);
	t0 = now();
	cpu_mark = cpu();
	if (ssync_exchange_fetch(dst, "src", NULL, &err) < 0)
		die("fetch", &err);
	t = now() - t0;
	ssync_exchange_free(dst);
	print_row("fetch, libgit2 transport, 1 new segment", t, (double)lens[0] / 1e6, -1);

	ssync_exchange_free(src);
	for (i = 0; i < per; i++) {
		free(names[i]);
		free(bufs[i]);
	}
	free(names);
	free(bufs);
	free(paths);
	free(datas);
	free(lens);
	if (!getenv("SSYNC_BENCH_KEEP") && nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
		perror("cleanup");
	return 0;
}
