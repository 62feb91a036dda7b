/*
 * pc_writer: the long-running writer of t_power_cut.sh.
 *
 *   pc_writer HOME DURABLE_FILE SEED [--lie]
 *
 * Writes signed entries into the node at HOME until it is killed, as a
 * daemon-like process would: runs of 1..200 single-row writes, one run in
 * 16 a 300-row write, each write numbered k (teacher name "w<k>", school
 * "pc"). After each run it makes the replica durable
 * (ssync_store_make_durable) and only once that has returned appends
 * "durable K" to DURABLE_FILE, which lives outside the disk under test:
 * every write numbered up to K had returned before that fsync began.
 * --lie appends the line without making anything durable: the negative
 * control, whose cuts must show lost writes. It also writes less (runs of
 * 1..20 single-row writes, 50 ms apart): at full speed the WAL reaches the
 * checkpoint thread's 16 MB within a second, and the checkpoint's fsyncs
 * would make most writes durable before a cut anyway.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schoolsync/node.h"
#include "schoolsync/store.h"

#define BULK 300

static void die(const char *what, const ssync_error *err)
{
	fprintf(stderr, "pc_writer: %s: %s\n", what, err->message);
	exit(1);
}

int main(int argc, char **argv)
{
	ssync_node *n = NULL;
	ssync_error err;
	ssync_write_result res;
	long long k = 0;
	unsigned seed;
	int lie, fd;

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--lie") != 0)) {
		fprintf(stderr, "usage: pc_writer HOME DURABLE_FILE SEED [--lie]\n");
		return 2;
	}
	seed = (unsigned)strtoul(argv[3], NULL, 10);
	lie = argc == 5;
	srand(seed);
	if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0) {
		perror(argv[2]);
		return 1;
	}
	ssync_error_clear(&err);
	if (ssync_node_open(&n, argv[1], 0, &err) < 0)
		die("open", &err);
	{
		const char *wb = NULL;
		(void)ssync_store_walbuf(&wb);
		fprintf(stderr, "pc_writer: seed %u%s; WAL shim %s\n", seed, lie ? ", lying about durability" : "", wb);
	}
	for (;;) {
		int run = 1 + rand() % (lie ? 20 : 200), i;
		char line[64];

		if (!lie && rand() % 16 == 0) {
			char sql[400];
			k++;
			snprintf(sql, sizeof(sql), "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%d) "
				"INSERT INTO teacher(id, school_id, name) SELECT 'p%lld-'||i, 'pc', 'w%lld' FROM s", BULK, k, k);
			if (ssync_node_sql(n, sql, "pc", NULL, NULL, &res, &err) < 0)
				die("bulk write", &err);
		}
		for (i = 0; i < run; i++) {
			char id[32], name[32];
			const char *p[2] = { id, name };
			k++;
			snprintf(id, sizeof(id), "p%lld", k);
			snprintf(name, sizeof(name), "w%lld", k);
			if (ssync_node_sql_bound(n, "INSERT INTO teacher(id, school_id, name) VALUES (?1, 'pc', ?2)",
				2, p, "pc", NULL, NULL, &res, &err) < 0)
				die("write", &err);
		}
		if (!lie && ssync_store_make_durable(ssync_node_store(n), &err) < 0)
			die("make durable", &err);
		snprintf(line, sizeof(line), "durable %lld\n", k);
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
			perror("durable file");
			return 1;
		}
		if (lie) {
			struct timespec pause = { 0, 50 * 1000 * 1000 };
			(void)nanosleep(&pause, NULL);
		}
	}
}
