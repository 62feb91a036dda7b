/* Shared pieces of the fuzz targets: the per-process scratch replica. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "fuzz.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"
#include "store_int.h"

/* The test key of node "sa": fixed, so fz_sign re-signs what the fuzzer
 * changed and the checks after the signature are reached (TESTPLAN 23). */
static const unsigned char fz_seed[crypto_sign_SEEDBYTES] = "schoolsync fuzz test key of sa!";
static unsigned char fz_pk[crypto_sign_PUBLICKEYBYTES], fz_sk[crypto_sign_SECRETKEYBYTES];

static char fz_dir[512];
static char fz_path[1024];
static ssync_node *fz_n;

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz oracle failed: %s:%d: %s\n", file, line, what);
	abort();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fz_cleanup(void)
{
	if (fz_n) {
		ssync_node_free(fz_n);
		fz_n = NULL;
	}
	if (fz_dir[0])
		nftw(fz_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fz_dir[0] = '\0';
}

ssync_node *fz_node(void)
{
	char home[600];
	const char *tmp = getenv("TMPDIR");
	ssync_error err;
	char *sql = NULL, pkhex[2 * crypto_sign_PUBLICKEYBYTES + 1];

	if (fz_n)
		return fz_n;
	ssync_keys_init();
	if (crypto_sign_seed_keypair(fz_pk, fz_sk, fz_seed) != 0)
		abort();
	ssync_hex_encode(pkhex, fz_pk, sizeof(fz_pk));
	snprintf(fz_dir, sizeof(fz_dir), "%s/ssync-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fz_dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fz_cleanup);
	snprintf(home, sizeof(home), "%s/hub", fz_dir);
	ssync_error_clear(&err);
	if (ssync_node_init(home, "hub", "cm", NULL, &err) < 0 || ssync_node_open(&fz_n, home, 0, &err) < 0) {
		fprintf(stderr, "fuzz: replica: %s\n", err.message);
		abort();
	}
	sql = sqlite3_mprintf("INSERT INTO ssync_peer(node, pubkey, source, added) "
		"VALUES ('sa', X'%s', 'fuzz', '2026-01-01T00:00:00Z')", pkhex);
	if (!sql || sqlite3_exec(ssync_store__db(ssync_node_store(fz_n)), sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz: peer key: %s\n", sqlite3_errmsg(ssync_store__db(ssync_node_store(fz_n))));
		abort();
	}
	sqlite3_free(sql);
	return fz_n;
}

const char *fz_scratch(const char *name)
{
	fz_node();
	snprintf(fz_path, sizeof(fz_path), "%s/%s", fz_dir, name);
	return fz_path;
}

const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
	const char *p = fz_scratch(name);
	FILE *f = fopen(p, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror("fuzz: scratch file");
		abort();
	}
	return p;
}

char *fz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

size_t fz_resign(char *data, size_t size)
{
	size_t done = 0, start = 0, i;
	const size_t hexlen = 2 * crypto_sign_BYTES;
	unsigned char sig[crypto_sign_BYTES];
	char hex[2 * crypto_sign_BYTES + 1];

	fz_node();
	for (i = 0; i <= size; i++) {
		size_t end;
		if (i < size && data[i] != '\n')
			continue;
		end = i; /* the line is [start, end) */
		if (end - start > hexlen + 1 && data[end - hexlen - 1] == '\t') {
			crypto_sign_detached(sig, NULL, (const unsigned char *)data + start, end - hexlen - 1 - start, fz_sk);
			ssync_hex_encode(hex, sig, sizeof(sig));
			memcpy(data + end - hexlen, hex, hexlen);
			done++;
		}
		start = i + 1;
	}
	return done;
}
