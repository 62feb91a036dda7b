/* Private rows beside a public table, in one run (issue 15, docs/PRIVACY.md):
 * signed single-row writes per second on student_archive (each row's three
 * private cells encrypted under a new per-row data key, recorded in
 * keys.db) and on teacher (three clear text cells), both written by a
 * managed hub; then a second node joined to the district receives each
 * branch through a bare repository: entries applied per second (it opens
 * nothing: it is no reader). Run: build/bench/bench_private [rows]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "schoolsync/node.h"
#include "schoolsync/privacy.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"

typedef struct figures {
	double write_s, apply_s, seal_s, write_cpu, apply_cpu;
	int64_t applied;
} figures;

/* user + system CPU seconds of this process: on a loaded machine far
 * steadier than wall time */
static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void phase(const char *dir, int priv, int rows, figures *f)
{
	double c0;
	char home[600], rx[600], remote[600], root[600], hex[65], id[64], sql[256];
	ssync_node *n = NULL, *r = NULL;
	ssync_sync_report rep;
	ssync_error err;
	double t0;
	int i;

	ssync_error_clear(&err);
	snprintf(home, sizeof(home), "%s/%s-hub", dir, priv ? "private" : "public");
	snprintf(rx, sizeof(rx), "%s/%s-rx", dir, priv ? "private" : "public");
	snprintf(remote, sizeof(remote), "%s/%s.git", dir, priv ? "private" : "public");
	snprintf(root, sizeof(root), "%s/%s-root.key", dir, priv ? "private" : "public");
	if (ssync_node_init(home, "hub", "d1", NULL, &err) < 0 || ssync_node_open(&n, home, 0, &err) < 0 ||
	    ssync_trust_district_init(n, "d1", "bench", root, hex, &err) < 0 || ssync_node_remote_add(n, "r", remote, &err) < 0)
		bench_die("hub", &err);
	t0 = bench_now();
	c0 = cpu_now();
	for (i = 0; i < rows; i++) {
		const char *cols[3] = { "name", "grade", "record" }, *clear[3] = { "王小明", "三年级", "三好学生，家住城桥镇" };
		char *enc[3] = { NULL, NULL, NULL };
		const char *params[5];
		snprintf(id, sizeof(id), "sch-a-%08d", i);
		params[0] = id;
		if (priv) {
			double ts = bench_now();
			if (ssync_privacy_seal_row(n, "student_archive", id, 3, cols, clear, enc, &err) < 0)
				bench_die("seal", &err);
			f->seal_s += bench_now() - ts;
			params[1] = enc[0];
			params[2] = enc[1];
			params[3] = enc[2];
			snprintf(sql, sizeof(sql), "INSERT INTO student_archive(id, school_id, name, grade, record) VALUES (?1, 'sch-a', ?2, ?3, ?4)");
		} else {
			params[1] = clear[0];
			params[2] = "语文";
			params[3] = clear[2];
			snprintf(sql, sizeof(sql), "INSERT INTO teacher(id, school_id, name, subject, title) VALUES (?1, 'sch-a', ?2, ?3, ?4)");
		}
		if (ssync_node_sql_bound(n, sql, 4, params, "bench", NULL, NULL, NULL, &err) < 0)
			bench_die("write", &err);
		free(enc[0]);
		free(enc[1]);
		free(enc[2]);
	}
	f->write_s = bench_now() - t0;
	f->write_cpu = cpu_now() - c0;
	if (ssync_sync_run(n, "r", NULL, &rep, &err) < 0)
		bench_die("hub sync", &err);
	if (ssync_node_init(rx, "sch-b", "d1", NULL, &err) < 0 || ssync_node_open(&r, rx, 0, &err) < 0 ||
	    ssync_trust_district_join(r, hex, &err) < 0 || ssync_node_remote_add(r, "r", remote, &err) < 0)
		bench_die("receiver", &err);
	t0 = bench_now();
	c0 = cpu_now();
	if (ssync_sync_run(r, "r", NULL, &rep, &err) < 0)
		bench_die("receiver sync", &err);
	f->apply_s = bench_now() - t0;
	f->apply_cpu = cpu_now() - c0;
	f->applied = rep.applied;
	ssync_node_free(r);
	ssync_node_free(n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int rows = argc > 1 ? atoi(argv[1]) : 2000, reps = argc > 2 ? atoi(argv[2]) : 3, k;
	char tmpl[] = "/tmp/bench_private.XXXXXX", dir[64], cmd[700];
	double w[2][16], a[2][16], wc[2][16], ac[2][16];
	figures f;

	if (rows < 1 || reps < 1 || reps > 16 || !mkdtemp(tmpl))
		return 1;
	printf("rows per table: %d, one signed entry each, written by a managed hub; %d alternating runs\n", rows, reps);
	printf("%-4s %-16s %10s %12s %16s %14s\n", "run", "table", "writes/s", "CPU us/write", "apply entries/s", "CPU us/entry");
	for (k = 0; k < reps; k++) {
		int priv;
		for (priv = 0; priv < 2; priv++) {
			memset(&f, 0, sizeof(f));
			snprintf(dir, sizeof(dir), "%s/%d", tmpl, k);
			if (priv == 0 && mkdir(dir, 0700) != 0)
				return 1;
			phase(dir, priv, rows, &f);
			w[priv][k] = rows / f.write_s;
			wc[priv][k] = 1e6 * f.write_cpu / rows;
			a[priv][k] = f.applied / f.apply_s;
			ac[priv][k] = 1e6 * f.apply_cpu / (f.applied ? f.applied : 1);
			printf("%-4d %-16s %10.0f %12.0f %16.0f %14.0f\n", k + 1, priv ? "student_archive" : "teacher",
				w[priv][k], wc[priv][k], a[priv][k], ac[priv][k]);
			if (f.applied != rows)
				fprintf(stderr, "warning: %lld of %d entries applied\n", (long long)f.applied, rows);
		}
	}
	{
		double wp = median(w[0], reps), wq = median(w[1], reps), ap = median(a[0], reps), aq = median(a[1], reps);
		double cp = median(wc[0], reps), cq = median(wc[1], reps), dp = median(ac[0], reps), dq = median(ac[1], reps);
		printf("median  teacher         %10.0f %12.0f %16.0f %14.0f\n", wp, cp, ap, dp);
		printf("median  student_archive %10.0f %12.0f %16.0f %14.0f\n", wq, cq, aq, dq);
		printf("private / public (medians): writes/s %.0f%%, CPU per write %.0f%%; apply/s %.0f%%, CPU per entry %.0f%%\n",
			100.0 * wq / wp, 100.0 * cq / cp, 100.0 * aq / ap, 100.0 * dq / dp);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : 1;
}
