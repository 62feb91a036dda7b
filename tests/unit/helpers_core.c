#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers_core.h"
#include "schoolsync/exchange.h"

char *th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);

	assert_non_null(p);
	snprintf(p, 4096, "%s/ssync-test-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(p));
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

void th_rmtree(const char *path)
{
	if (path)
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *th_node_home(const char *parent, const char *id)
{
	char *home = malloc(4096);
	ssync_error err;

	assert_non_null(home);
	snprintf(home, 4096, "%s/%s", parent, id);
	ssync_error_clear(&err);
	if (ssync_node_init(home, id, "testdistrict", NULL, &err) != 0)
		fail_msg("init %s: %s", id, err.message);
	return home;
}

ssync_node *th_open(const char *home)
{
	ssync_node *n = NULL;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_node_open(&n, home, 0, &err) != 0)
		fail_msg("open %s: %s", home, err.message);
	return n;
}

void th_sql(ssync_node *n, const char *sql)
{
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_node_sql(n, sql, "tester", NULL, NULL, NULL, &err) != 0)
		fail_msg("sql '%s': %s", sql, err.message);
}

static int count_cb(int nc, const char *const *names, const char *const *vals, const int *types, void *p)
{
	(void)nc; (void)names; (void)types;
	*(long long *)p = vals[0] ? atoll(vals[0]) : 0;
	return 0;
}

long long th_count(ssync_node *n, const char *sql)
{
	long long v = -1;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_node_sql(n, sql, "tester", count_cb, &v, NULL, &err) != 0)
		fail_msg("query '%s': %s", sql, err.message);
	return v;
}

int th_fx_setup(void **state)
{
	th_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	f->home = th_node_home(f->dir, "sch-a");
	f->n = th_open(f->home);
	*state = f;
	return 0;
}

int th_fx_teardown(void **state)
{
	th_fx *f = *state;

	ssync_node_free(f->n);
	th_rmtree(f->dir);
	free(f->home);
	free(f->dir);
	free(f);
	return 0;
}

void th_add_remote(ssync_node *n, const char *name, const char *url)
{
	ssync_exchange *ex = NULL;
	char path[4096];
	ssync_error err;

	ssync_error_clear(&err);
	snprintf(path, sizeof(path), "%s/exchange.git", ssync_node_home(n));
	assert_int_equal(ssync_exchange_open(&ex, path, 0, &err), 0);
	if (ssync_exchange_remote_add(ex, name, url, &err) != 0)
		fail_msg("remote add: %s", err.message);
	ssync_exchange_free(ex);
}

void th_sync_ok(ssync_node *n, ssync_sync_report *rep)
{
	ssync_sync_report local;
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_sync_run(n, "hub", NULL, rep ? rep : &local, &err) != 0)
		fail_msg("sync %s: %s", ssync_node_id(n), err.message);
}

void th_copy_tree(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	struct stat sb;

	assert_non_null(d);
	assert_int_equal(stat(from, &sb), 0);
	assert_int_equal(mkdir(to, sb.st_mode & 0777), 0);
	while ((de = readdir(d))) {
		char a[4096], b[4096], buf[65536];
		ssize_t k;
		int in, out;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		assert_int_equal(lstat(a, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			th_copy_tree(a, b);
			continue;
		}
		assert_true(S_ISREG(sb.st_mode));
		assert_true((in = open(a, O_RDONLY)) >= 0);
		assert_true((out = open(b, O_WRONLY | O_CREAT | O_EXCL, sb.st_mode & 0777)) >= 0);
		while ((k = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)k), k);
		assert_int_equal(k, 0);
		close(in);
		close(out);
	}
	closedir(d);
}
