/* Private rows beside a public table, in one run (issue 15, docs/PRIVACY.md):
 * signed single-row writes per second on student_archive (each row's three
 * private cells encrypted under a new per-row data key, recorded in
 * keys.db) and on teacher (three clear text cells), both written by a
 * managed hub; then a second node joined to the district receives each
 * branch through a bare repository: entries applied per second (it opens
 * nothing: it is no reader). The district has @p schools enrolled school
 * nodes (sch-a and others), each with an encryption key, as a district
 * has: the readers of a row are the hub and sch-a. Then each table gets a
 * bulk import of the same rows (ssync_csvio_import, one call).
 * Run: build/bench/bench_private [rows] [runs] [schools]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "schoolsync/csvio.h"
#include "schoolsync/hex.h"
#include "schoolsync/keys.h"
#include "schoolsync/node.h"
#include "schoolsync/privacy.h"
#include "schoolsync/sync.h"
#include "schoolsync/trust.h"

typedef struct figures {
	double write_s, apply_s, seal_s, write_cpu, apply_cpu, import_s;
	int64_t applied;
	long imported;
} figures;

static int nschools = 20;

/* Certify school node @p id (school @p id) with fresh keys. */
static void enroll(ssync_node *n, const char *root, const char *id)
{
	ssync_keypair *kp = NULL;
	ssync_enckey *ek = NULL;
	ssync_cert_info c;
	ssync_error err;

	ssync_error_clear(&err);
	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "%s", id);
	snprintf(c.role, sizeof(c.role), "school");
	snprintf(c.school_id, sizeof(c.school_id), "%s", id);
	if (ssync_keys_generate(&kp, &err) < 0 || ssync_enckey_generate(&ek, &err) < 0)
		bench_die("keys", &err);
	ssync_hex_encode(c.pubkey, ssync_keys_public(kp), SSYNC_PUBKEY_BYTES);
	ssync_hex_encode(c.enckey, ssync_enckey_public(ek), SSYNC_ENCKEY_BYTES);
	if (ssync_trust_district_enroll(n, &c, root, &err) < 0)
		bench_die("enroll", &err);
	ssync_keys_free(kp);
	ssync_enckey_free(ek);
}

/* One import of @p rows new rows into the table (its own ids): rows/s, or
 * 0 with the reason printed when the build refuses it. */
static void import(ssync_node *n, const char *dir, int priv, int rows, figures *f)
{
	ssync_import_options o = SSYNC_IMPORT_OPTIONS_INIT;
	ssync_import_result res;
	ssync_error err;
	char path[700];
	FILE *fp;
	double t0;
	int i;

	snprintf(path, sizeof(path), "%s/%s.csv", dir, priv ? "private" : "public");
	if (!(fp = fopen(path, "w")))
		return;
	fputs(priv ? "id,name,grade,record\n" : "id,staff_no,name,subject,title,birth_year,joined_year\n", fp);
	for (i = 0; i < rows; i++)
		if (priv)
			fprintf(fp, "sch-a-i%08d,王小明%d,三年级,\"三好学生，家住城桥镇\"\n", i, i);
		else
			fprintf(fp, "sch-a-i%08d,T%08d,王小明%d,语文,中级,1980,2005\n", i, i, i);
	fclose(fp);
	o.school_id = "sch-a";
	ssync_error_clear(&err);
	t0 = bench_now();
	if (ssync_csvio_import(n, priv ? "student_archive" : "teacher", path, &o, &res, &err) == 0) {
		f->import_s = bench_now() - t0;
		f->imported = res.inserted;
	} else {
		fprintf(stderr, "import %s: %s\n", priv ? "student_archive" : "teacher", err.message);
	}
	ssync_csvio_result_clear(&res);
}

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
	for (i = 0; i < nschools; i++) {
		char sid[32];
		snprintf(sid, sizeof(sid), i ? "sch-x%03d" : "sch-a", i);
		enroll(n, root, sid);
	}

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
	/* the owning school's row, for import's reference check */
	if (ssync_node_sql(n, "INSERT INTO zone(id, name) VALUES ('z1', '城桥'); INSERT INTO school(id, name, zone_id, stage, "
		"students) VALUES ('sch-a', '城桥中学', 'z1', 'middle', 900)", "bench", NULL, NULL, NULL, &err) < 0)
		bench_die("school row", &err);
	import(n, dir, priv, rows, f);
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
	double w[2][16], a[2][16], wc[2][16], ac[2][16], im[2][16];
	figures f;

	if (argc > 3)
		nschools = atoi(argv[3]);
	if (rows < 1 || reps < 1 || reps > 16 || nschools < 1 || nschools > 999 || !mkdtemp(tmpl))
		return 1;
	printf("rows per table: %d, one signed entry each, written by a managed hub of a district of %d schools; "
		"%d alternating runs\n", rows, nschools, reps);
	printf("%-4s %-16s %10s %12s %16s %14s %14s\n", "run", "table", "writes/s", "CPU us/write", "apply entries/s",
		"CPU us/entry", "import rows/s");
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
			im[priv][k] = f.imported ? f.imported / f.import_s : 0;
			printf("%-4d %-16s %10.0f %12.0f %16.0f %14.0f %14.0f\n", k + 1, priv ? "student_archive" : "teacher",
				w[priv][k], wc[priv][k], a[priv][k], ac[priv][k], im[priv][k]);
			if (f.applied != rows)
				fprintf(stderr, "warning: %lld of %d entries applied\n", (long long)f.applied, rows);
		}
	}
	{
		double wp = median(w[0], reps), wq = median(w[1], reps), ap = median(a[0], reps), aq = median(a[1], reps);
		double cp = median(wc[0], reps), cq = median(wc[1], reps), dp = median(ac[0], reps), dq = median(ac[1], reps);
		double ip = median(im[0], reps), iq = median(im[1], reps);
		printf("median  teacher         %10.0f %12.0f %16.0f %14.0f %14.0f\n", wp, cp, ap, dp, ip);
		printf("median  student_archive %10.0f %12.0f %16.0f %14.0f %14.0f\n", wq, cq, aq, dq, iq);
		printf("private / public (medians): writes/s %.0f%%, CPU per write %.0f%%; apply/s %.0f%%, CPU per entry %.0f%%\n",
			100.0 * wq / wp, 100.0 * cq / cp, 100.0 * aq / ap, 100.0 * dq / dp);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : 1;
}
