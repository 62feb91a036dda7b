/* One hot cell: N nodes each overwrite the same cell of one row at the same
 * time (none saw the others), with a value of V bytes, and one receiver
 * applies the N entries through ingest (parse, checks, merge, log). The
 * cell ends with N leaves in conflict. Prints the time to apply them all and
 * the time of the last tenth, which shows whether the cost of one apply
 * grows with the leaves already held (quadratic total) or not.
 * Run: build/bench_hotcell [N...] (default 30 60 240) ; SSYNC_HOT_BYTES=V
 * (default 100000); SSYNC_HOT_REVERSE=1 applies the newest write first, so
 * the winner is never the entry being applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "entry_int.h"
#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/store.h"

static char *ops_for(const char *pk, const char *value, const char *prev)
{
	size_t n = strlen(value) + strlen(pk) + 200;
	char *s = malloc(n);

	if (!s)
		exit(1);
	if (prev)
		snprintf(s, n, "[{\"t\":\"zone\",\"k\":\"%s\",\"c\":[[\"name\",\"%s\",[\"%s\"]]]}]", pk, value, prev);
	else
		snprintf(s, n, "[{\"t\":\"zone\",\"k\":\"%s\",\"c\":[[\"$row\",1,[]],[\"name\",\"%s\",[]]]}]", pk, value);
	return s;
}

/* Sign one entry of @p node (seq 1) and feed it to the receiver as its branch. */
static void feed(ssync_store *st, const char *node, const char *ops, uint64_t hlc)
{
	ssync_keypair *kp = NULL;
	ssync_entry *e = NULL;
	ssync_ingest *in = NULL;
	char *line = NULL;
	size_t len = 0;
	ssync_error err;
	int r;

	ssync_error_clear(&err);
	if (ssync_keys_generate(&kp, &err) < 0 ||
	    ssync_log__peer_add(st, node, ssync_keys_public(kp), "school", NULL, "bench", &err) < 0 ||
	    ssync_entry__create_text(&e, "bench", node, 1, NULL, hlc, "bench", ssync_store_schema_version(st),
		ops, strlen(ops), kp, &err) < 0 ||
	    ssync_entry_line(e, &line, &len, &err) < 0 ||
	    ssync_ingest__begin(&in, st, "bench", node, "bench", &err) < 0)
		bench_die("prepare", &err);
	if ((r = ssync_ingest__line(in, line, len, &err)) != 0) {
		fprintf(stderr, "entry of %s refused: %s\n", node, ssync_ingest__stop_reason(in));
		exit(1);
	}
	if (ssync_ingest__end(in, 0, NULL, &err) < 0)
		bench_die("commit", &err);
	free(line);
	ssync_entry_free(e);
	ssync_keys_free(kp);
}

static void run(int n, size_t vbytes, int reverse)
{
	char path[] = "/tmp/ssync-hotcell-XXXXXX", db[64], node[32], val[32];
	ssync_store *st = NULL;
	ssync_error err;
	char *value, *ops;
	uint64_t hlc = (uint64_t)1700000000000 << 16;
	double t0, t9 = 0, t1;
	int i;

	if (!mkdtemp(path))
		exit(1);
	snprintf(db, sizeof(db), "%s/r.db", path);
	ssync_error_clear(&err);
	if (ssync_store_open(&st, db, SSYNC_STORE_CREATE, &err) < 0)
		bench_die("open", &err);
	if (!(value = malloc(vbytes + 1)))
		exit(1);
	memset(value, 'x', vbytes);
	value[vbytes] = 0;
	ops = ops_for("sch-0-hot", "base", NULL);
	feed(st, "sch-0", ops, hlc);
	free(ops);
	t0 = bench_now();
	for (i = 1; i <= n; i++) {
		snprintf(node, sizeof(node), "sch-%d", i);
		snprintf(val, sizeof(val), "%08d", i);
		memcpy(value, val, 8); /* every value differs */
		ops = ops_for("sch-0-hot", value, "sch-0#1");
		if (i == n - n / 10)
			t9 = bench_now();
		feed(st, node, ops, hlc + ((uint64_t)(reverse ? n + 1 - i : i) << 16));
		free(ops);
	}
	t1 = bench_now();
	printf("%4d concurrent writes of %zu bytes to one cell%s: applied in %7.2f s, "
		"the last tenth %.1f ms per write (the first nine tenths %.1f ms)\n",
		n, vbytes, reverse ? " (newest first)" : "", t1 - t0, (t1 - t9) * 1e3 / (n / 10 ? n / 10 : 1),
		(t9 - t0) * 1e3 / (n - n / 10 ? n - n / 10 : 1));
	fflush(stdout);
	free(value);
	ssync_store_free(st);
	unlink(db);
	{
		char wal[80];
		snprintf(wal, sizeof(wal), "%s-wal", db);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", db);
		unlink(wal);
	}
	rmdir(path);
}

int main(int argc, char **argv)
{
	const char *vb = getenv("SSYNC_HOT_BYTES");
	size_t vbytes = vb ? (size_t)atol(vb) : 100000;
	int i, rev = getenv("SSYNC_HOT_REVERSE") && atoi(getenv("SSYNC_HOT_REVERSE"));

	ssync_keys_init();
	if (argc < 2) {
		run(30, vbytes, rev);
		run(60, vbytes, rev);
		run(240, vbytes, rev);
	}
	for (i = 1; i < argc; i++)
		run(atoi(argv[i]), vbytes, rev);
	return 0;
}
