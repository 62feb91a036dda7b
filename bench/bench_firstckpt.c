/* The first checkpoint a replica loads (docs/TRUST.md §4a): a managed hub
 * home holding ROWS rows (ROWS/PER writes of PER rows each) publishes its
 * first checkpoint, which loads it back into its own replica. Timed side by
 * side, RUNS times on fresh copies of the same home: the load as built (the
 * log is compared with the checkpoint; no replay when no verdict changes),
 * the comparison alone, and the full replay (ssync_trust_rebuild) that every
 * first checkpoint cost before. Usage: bench_firstckpt [rows=100000]
 * [per=10] [runs=3]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "schoolsync/node.h"
#include "schoolsync/trust.h"
#include "schoolsync/witness.h"
#include "witness_int.h"

int main(int argc, char **argv)
{
	int rows = argc > 1 ? atoi(argv[1]) : 100000, per = argc > 2 ? atoi(argv[2]) : 10,
	    runs = argc > 3 ? atoi(argv[3]) : 3, i, r;
	char dir[] = "/tmp/ssync-firstckpt-XXXXXX", tpl[600], key[600], root[65], cmd[1400];
	ssync_node *n = NULL;
	ssync_error err;
	double t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rows < per || per < 1 || runs < 1 || !mkdtemp(dir))
		return 1;
	ssync_error_clear(&err);
	snprintf(tpl, sizeof(tpl), "%s/template", dir);
	snprintf(key, sizeof(key), "%s/root.key", dir);
	if (ssync_node_init(tpl, "hub", "bench", NULL, &err) < 0 || ssync_node_open(&n, tpl, 0, &err) < 0 ||
	    ssync_trust_district_init(n, "bench", "bench", key, root, &err) < 0)
		bench_die("district", &err);
	t0 = bench_now();
	for (i = 0; i < rows / per; i++) {
		char sql[512];
		/* hub rows (no school prefix, owner NULL): the hub writes them */
		snprintf(sql, sizeof(sql), "WITH RECURSIVE k(v) AS (SELECT 1 UNION ALL SELECT v+1 FROM k WHERE v<%d) "
			"INSERT INTO teacher(id, school_id, name, title, birth_year) "
			"SELECT 't%dx'||v, NULL, '教师'||v, '中级', 1970+v%%30 FROM k", per, i);
		if (ssync_node_sql(n, sql, "bench", NULL, NULL, NULL, &err) < 0)
			bench_die("write", &err);
	}
	printf("replica: %d rows in %d entries, written in %.1f s\n", rows, rows / per, bench_now() - t0);
	ssync_node_free(n);
	printf("run | load first checkpoint, as built (s) | of which the comparison (s) | full replay, as before (s)\n");
	for (r = 1; r <= runs; r++) {
		char home[700];
		ssync_trust_rebuild_report rep;
		int64_t pos = 0;
		double load, check, replay;
		int need;

		snprintf(home, sizeof(home), "%s/run%d", dir, r);
		snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", tpl, home);
		if (system(cmd) != 0 || ssync_node_open(&n, home, 0, &err) < 0)
			bench_die("copy", &err);
		t0 = bench_now();
		if (ssync_witness_publish(n, 1, &pos, &err) < 0 || pos != 1)
			bench_die("checkpoint", &err);
		load = bench_now() - t0;
		/* the comparison again (same inputs: what the load ran) */
		t0 = bench_now();
		if ((need = ssync_witness__need_rebuild(ssync_node_store(n), 0, &err)) < 0)
			bench_die("check", &err);
		check = bench_now() - t0;
		t0 = bench_now();
		if (ssync_trust_rebuild(ssync_node_store(n), &rep, &err) < 0)
			bench_die("rebuild", &err);
		replay = bench_now() - t0;
		printf("%d | %.3f | %.3f%s | %.3f (%lld entries)\n", r, load, check, need ? " (asked for a replay)" : "",
			replay, (long long)rep.entries);
		ssync_node_free(n);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
