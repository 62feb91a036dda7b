/* Local write throughput: signed single-row write transactions per second,
 * and a 100,000-row bulk import (one atomic call, split into bounded
 * entries). Prints figures; run: build/bench_write [single_count] [bulk_rows]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "schoolsync/node.h"

int main(int argc, char **argv)
{
	int single = argc > 1 ? atoi(argv[1]) : 20000;
	int bulk = argc > 2 ? atoi(argv[2]) : 100000;
	const char *keep = argc > 3 ? argv[3] : NULL; /* keep the node in this home */
	char dir[] = "/tmp/ssync-bench-XXXXXX", home[512], sql[256], cmd[600];
	ssync_node *n = NULL;
	ssync_error err;
	ssync_write_result res;
	struct rusage ru;
	double t0, t1;
	int i;

	if (!mkdtemp(dir))
		return 1;
	snprintf(home, sizeof(home), "%s/node", dir);
	if (keep)
		snprintf(home, sizeof(home), "%s", keep);
	ssync_error_clear(&err);
	if (ssync_node_init(home, "bench", NULL, NULL, &err) < 0 || ssync_node_open(&n, home, 0, &err) < 0)
		bench_die("init", &err);

	t0 = bench_now();
	for (i = 0; i < single; i++) {
		char id[32], name[32];
		const char *p[3] = { id, name, "中级" };
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(name, sizeof(name), "教师%d", i);
		if (ssync_node_sql_bound(n, "INSERT INTO teacher(id, school_id, name, title) VALUES (?1, 'bench', ?2, ?3)",
			3, p, "bench", NULL, NULL, &res, &err) < 0)
			bench_die("write", &err);
	}
	t1 = bench_now();
	printf("signed single-row writes: %d in %.2f s = %.0f writes/s (%.1f us each)\n",
		single, t1 - t0, single / (t1 - t0), (t1 - t0) * 1e6 / single);

	if (bulk > 0) {
		snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d) "
			"INSERT INTO teacher(id, school_id, name, subject, title, birth_year, joined_year) "
			"SELECT 'b'||i, 'bench', '教师'||i, '数学', '中级', 1960+i%%40, 1990+i%%30 FROM n", bulk);
		t0 = bench_now();
		if (ssync_node_sql(n, sql, "import", NULL, NULL, &res, &err) < 0)
			bench_die("bulk", &err);
		t1 = bench_now();
		printf("bulk import: %d rows (6 columns) in %.2f s = %.0f rows/s, %d entries (seq %lld..%lld)\n",
			bulk, t1 - t0, bulk / (t1 - t0), res.entries, (long long)res.first_seq, (long long)res.last_seq);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
	ssync_node_free(n);
	if (keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		return system(cmd) == 0 ? 0 : 1;
	}
	snprintf(cmd, sizeof(cmd), "du -sh %s/node/replica.db* | head -3; rm -rf %s", dir, dir);
	return system(cmd) == 0 ? 0 : 1;
}
