/* Time to converge: S schools each make W writes offline (R rows per write),
 * then sync through one hub (a bare repository on a path) until every school
 * holds everything. Also the cost of a sync with nothing new against S
 * branches. Usage: bench_converge [schools=100] [writes=1000] [rows=1]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schoolsync/exchange.h"
#include "bench_util.h"
#include "schoolsync/node.h"
#include "schoolsync/sync.h"

int main(int argc, char **argv)
{
	int S = argc > 1 ? atoi(argv[1]) : 100, W = argc > 2 ? atoi(argv[2]) : 1000, R = argc > 3 ? atoi(argv[3]) : 1;
	char dir[] = "/tmp/ssync-converge-XXXXXX", hub[600], cmd[700];
	ssync_node **nodes = calloc((size_t)S, sizeof(*nodes));
	ssync_exchange *ex = NULL;
	ssync_error err;
	ssync_sync_report rep;
	double t0, t1, t2, t3;
	int i, j, k, round;
	char h0[65], hi[65];

	if (!nodes || !mkdtemp(dir))
		return 1;
	ssync_error_clear(&err);
	snprintf(hub, sizeof(hub), "%s/hub.git", dir);
	if (ssync_exchange_open(&ex, hub, 1, &err) < 0)
		bench_die("hub", &err);
	ssync_exchange_free(ex);
	for (i = 0; i < S; i++) {
		char home[700], id[32], path[800];
		snprintf(id, sizeof(id), "school-%03d", i);
		snprintf(home, sizeof(home), "%s/%s", dir, id);
		if (ssync_node_init(home, id, "bench", NULL, &err) < 0 || ssync_node_open(&nodes[i], home, 0, &err) < 0)
			bench_die("init", &err);
		snprintf(path, sizeof(path), "%s/exchange.git", home);
		if (ssync_exchange_open(&ex, path, 0, &err) < 0 || ssync_exchange_remote_add(ex, "hub", hub, &err) < 0)
			bench_die("remote", &err);
		ssync_exchange_free(ex);
	}
	t0 = bench_now();
	for (i = 0; i < S; i++) {
		for (j = 0; j < W; j++) {
			char sql[512];
			snprintf(sql, sizeof(sql), "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM n WHERE k<%d) "
				"INSERT INTO teacher(id, school_id, name, title, birth_year) "
				"SELECT 'school-%03d-%d-'||k, 'school-%03d', '教师'||k, '中级', 1970+k%%30 FROM n", R, i, j, i);
			if (ssync_node_sql(nodes[i], sql, "bench", NULL, NULL, NULL, &err) < 0)
				bench_die("write", &err);
		}
	}
	t1 = bench_now();
	printf("%d schools x %d writes x %d rows: written offline in %.1f s (%.0f writes/s)\n", S, W, R, t1 - t0, S * W / (t1 - t0));
	/* Round 1: everyone syncs in turn (pushes its own, takes what is there).
	 * Round 2: everyone takes what the later schools pushed. */
	for (round = 1; round <= 2; round++) {
		double r0 = bench_now();
		long long applied = 0;
		for (i = 0; i < S; i++) {
			if (ssync_sync_run(nodes[i], "hub", NULL, &rep, &err) < 0)
				bench_die("sync", &err);
			applied += rep.applied;
		}
		printf("round %d: %.1f s, %lld entries applied in all\n", round, bench_now() - r0, applied);
	}
	t2 = bench_now();
	if (ssync_node_state_hash(nodes[0], h0, &err) < 0)
		bench_die("hash", &err);
	for (i = 1, k = 0; i < S; i++) {
		if (ssync_node_state_hash(nodes[i], hi, &err) < 0)
			bench_die("hash", &err);
		k += strcmp(h0, hi) != 0;
	}
	printf("converged: %s (%d of %d schools differ); time to converge after the writes: %.1f s\n",
		k ? "NO" : "yes", k, S, t2 - t1);
	t3 = bench_now();
	if (ssync_sync_run(nodes[0], "hub", NULL, &rep, &err) < 0)
		bench_die("sync", &err);
	printf("a sync with nothing new against %d branches: %.3f s\n", S, bench_now() - t3);
	for (i = 0; i < S; i++)
		ssync_node_free(nodes[i]);
	free(nodes);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && k == 0 ? 0 : 1;
}
