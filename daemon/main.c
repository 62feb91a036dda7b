/* schoolsyncd: arguments, the one-daemon-per-home lock, leftovers of a
 * previous daemon, then the loop (loop.c).
 *
 * It always runs in the foreground: systemd (dist/schoolsyncd.service,
 * Type=notify) or the operator's supervisor keeps it running, collects its
 * stderr and restarts it; --foreground is accepted for scripts written for
 * daemons that fork. Exit status: 0 after a clean stop, 1 on errors, 2 on
 * usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "schoolsync/home.h"
#include "schoolsync/keys.h"
#include "schoolsync/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: schoolsyncd [--home DIR] [--foreground] [--check-config]\n\n"
		"Keep one school's replica in sync: a sync round with every remote every\n"
		"sync_interval_s, a few seconds after local writes, with backoff while a\n"
		"remote is unreachable and a hard deadline on every round.\n\n"
		"  --home DIR      the node's home (default: $SCHOOLSYNC_HOME, else ~/.schoolsync)\n"
		"  --foreground    accepted for compatibility; schoolsyncd never forks\n"
		"  --check-config  validate HOME/config.json and exit\n\n"
		"Settings: HOME/config.json (see docs/OPERATIONS.md); SIGHUP reloads them.\n"
		"SIGTERM/SIGINT: let the running round finish (stop_grace_s), then exit.\n"
		"Status: schoolsync --home DIR status. Environment: SCHOOLSYNC_CLI = the\n"
		"schoolsync binary to run (default: next to schoolsyncd).\n");
}

/* One daemon per home: a write lock on HOME/daemon.lock held for our
 * lifetime. The kernel drops it when we die, even by kill -9, so it is never
 * stale. A POSIX record lock (fcntl), not flock: flock belongs to the open
 * file, which a child shares from fork() until its exec closes it
 * (O_CLOEXEC) - a daemon killed in that window left its lock to the child
 * for a moment, and the next daemon refused to start. A record lock
 * belongs to the process and is never inherited. The file is never
 * unlinked (unlinking a lock file races with the next locker); it holds our
 * pid for the operator. */
static int take_lock(const char *home)
{
	char path[PATH_MAX], buf[32];
	struct flock fl;
	int fd, n;

	if (ssync_home_path(path, sizeof(path), home, SSYNC_HOME_DAEMON_LOCK, NULL) < 0) {
		dmn_log(DMN_LOG_ERROR, "home path too long: %s", home);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		dmn_log(DMN_LOG_ERROR, "open %s: %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		if (errno == EACCES || errno == EAGAIN) {
			ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[r > 0 ? r : 0] = 0;
			buf[strcspn(buf, "\n")] = 0;
			dmn_log(DMN_LOG_ERROR, "another schoolsyncd (pid %s) already runs for %s; not starting a second one",
				buf[0] ? buf : "?", home);
		} else {
			dmn_log(DMN_LOG_ERROR, "lock %s: %s", path, strerror(errno));
		}
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		dmn_log(DMN_LOG_WARN, "write pid to %s: %s", path, strerror(errno));
	return fd; /* kept open (and locked) until exit */
}

/* A daemon killed with -9 leaves its sync child running (it has its own
 * session). It is harmless, but might hang on a dead link forever with no
 * deadline watching it: stop it. Every child inherits SCHOOLSYNCD_HOME=<home>
 * (it survives exec, unlike the command line), and only a process carrying
 * exactly that entry is touched, so a recycled pid is safe. */
static int is_our_child(long pid, const char *home)
{
	char path[64], want[PATH_MAX + 32];
	static char env[1 << 16];
	size_t n, i, wl;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(env, 1, sizeof(env) - 1, f);
	fclose(f);
	env[n] = 0;
	wl = (size_t)snprintf(want, sizeof(want), "SCHOOLSYNCD_HOME=%s", home);
	for (i = 0; i < n; i += strlen(env + i) + 1)
		if (strlen(env + i) == wl && memcmp(env + i, want, wl) == 0)
			return 1;
	return 0;
}

static void reap_orphan(const char *home, double grace_s)
{
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;
	int waited;

	if (ssync_home_path(path, sizeof(path), home, SSYNC_HOME_DAEMON_CHILD, NULL) < 0)
		return;
	if (!(f = fopen(path, "re")))
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 1 && is_our_child(pid, home)) {
		struct timespec ts = { 0, 50 * 1000000L };
		dmn_log(DMN_LOG_WARN, "a sync process (pid %ld) of a previous daemon is still running: stopping it", pid);
		if (kill((pid_t)-pid, SIGTERM) != 0)
			(void)kill((pid_t)pid, SIGTERM);
		/* A zombie has an empty environ: is_our_child() says "gone". */
		for (waited = 0; waited < (int)(grace_s * 20) && is_our_child(pid, home); waited++)
			nanosleep(&ts, NULL);
		if (is_our_child(pid, home) && kill((pid_t)-pid, SIGKILL) != 0)
			(void)kill((pid_t)pid, SIGKILL);
	}
	(void)unlink(path);
}

/* The schoolsync binary: $SCHOOLSYNC_CLI, else next to this executable. */
static char *find_cli(void)
{
	const char *env = getenv("SCHOOLSYNC_CLI");
	char exe[PATH_MAX], *slash, *out;
	size_t size = sizeof(exe);

	if (env && *env)
		return strdup(env);
	if (uv_exepath(exe, &size) != 0)
		return NULL;
	exe[size < sizeof(exe) ? size : sizeof(exe) - 1] = 0;
	if (!(slash = strrchr(exe, '/')))
		return NULL;
	*slash = 0;
	if (!(out = malloc(strlen(exe) + sizeof("/schoolsync"))))
		return NULL;
	sprintf(out, "%s/schoolsync", exe);
	return out;
}

int main(int argc, char **argv)
{
	const char *home_arg = NULL;
	char home[PATH_MAX], cfgpath[PATH_MAX + 16], errbuf[1024], homebuf[PATH_MAX + 16], *cli = NULL;
	int i, check_only = 0, lockfd = -1, rc = 1;
	dmn_config cfg;
	uv_loop_t *loop;
	static dmn d;
	struct stat sb;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
			home_arg = argv[++i];
		} else if (strncmp(argv[i], "--home=", 7) == 0) {
			home_arg = argv[i] + 7;
		} else if (strcmp(argv[i], "--foreground") == 0 || strcmp(argv[i], "-f") == 0) {
			/* always */
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_only = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("schoolsyncd 0.1.0 (libuv %s)\n", uv_version_string());
			return 0;
		} else {
			fprintf(stderr, "schoolsyncd: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!home_arg || !*home_arg) {
		if (ssync_home_default(homebuf, sizeof(homebuf), NULL) < 0) {
			fprintf(stderr, "schoolsyncd: home path too long\n");
			return 1;
		}
		home_arg = homebuf;
	}
	/* An absolute, canonical home: the control socket, the child's command
	 * line and the orphan check all name it the same way. */
	if (!realpath(home_arg, home)) {
		fprintf(stderr, "schoolsyncd: home %s: %s\n", home_arg, strerror(errno));
		return 1;
	}
	if (ssync_home_path(cfgpath, sizeof(cfgpath), home, SSYNC_HOME_CONFIG, NULL) < 0 ||
	    ssync_home_path(homebuf, sizeof(homebuf), home, SSYNC_HOME_REPLICA, NULL) < 0) {
		fprintf(stderr, "schoolsyncd: home path too long: %s\n", home);
		return 1;
	}
	if (dmn_config_load(&cfg, cfgpath, errbuf, sizeof(errbuf)) < 0) {
		fprintf(stderr, "schoolsyncd: %s\n", errbuf);
		return 1;
	}
	if (dmn_config_unknown(cfgpath, errbuf, sizeof(errbuf)) > 0) {
		if (check_only) {
			fprintf(stderr, "schoolsyncd: %s\n", errbuf);
			return 1;
		}
		fprintf(stderr, "schoolsyncd: warning: %s (ignored)\n", errbuf);
	}
	if (check_only) {
		printf("%s: ok (interval %g s, debounce %g s, deadline %g s, backoff %g..%g s)\n", cfgpath,
			cfg.sync_interval_s, cfg.debounce_s, cfg.deadline_s, cfg.backoff_base_s, cfg.backoff_max_s);
		return 0;
	}
	dmn_log_setup(cfg.log_level, cfg.use_syslog);
	if (stat(homebuf, &sb) != 0) {
		dmn_log(DMN_LOG_ERROR, "no node in %s (%s: %s); create one with: schoolsync --home %s init --node ID",
			home, ssync_home_name(SSYNC_HOME_REPLICA), strerror(errno), home);
		return 1;
	}
	ssync_keys_init();
	/* Writes to a control client that went away must fail with EPIPE, not
	 * kill us. (uv_spawn resets signal dispositions in children.) */
	signal(SIGPIPE, SIG_IGN);
	if ((lockfd = take_lock(home)) < 0)
		return 1;
	/* Marks our children (see reap_orphan); set before any thread exists. */
	if (setenv("SCHOOLSYNCD_HOME", home, 1) != 0)
		dmn_log(DMN_LOG_WARN, "setenv: %s", strerror(errno));
	reap_orphan(home, cfg.kill_grace_s);
	if (!(cli = find_cli())) {
		dmn_log(DMN_LOG_ERROR, "cannot find the schoolsync binary: set SCHOOLSYNC_CLI");
		goto done;
	}
	if (access(cli, X_OK) != 0) {
		dmn_log(DMN_LOG_ERROR, "schoolsync binary %s: %s (set SCHOOLSYNC_CLI)", cli, strerror(errno));
		goto done;
	}
	loop = uv_default_loop();
	if (dmn_init(&d, loop, home, cli, &cfg) < 0) {
		dmn_log(DMN_LOG_ERROR, "out of memory");
		goto done;
	}
	if (dmn_start(&d) < 0) {
		(void)uv_run(loop, UV_RUN_DEFAULT); /* let the closes complete */
		dmn_free(&d);
		goto done;
	}
	dmn_log(DMN_LOG_INFO, "started for %s (pid %ld): interval %g s, debounce %g s, deadline %g s, backoff %g..%g s, cli %s",
		home, (long)getpid(), cfg.sync_interval_s, cfg.debounce_s, cfg.deadline_s, cfg.backoff_base_s,
		cfg.backoff_max_s, cli);
	{
		/* the sync children run the same binary with the same SQLite */
		const char *wb = NULL;
		int on = ssync_store_walbuf_check(&wb);
		dmn_log(on ? DMN_LOG_INFO : DMN_LOG_WARN, "replica writes: WAL shim %s", wb);
	}
	dmn_sd_notify("READY=1");
	(void)uv_run(loop, UV_RUN_DEFAULT);
	rc = d.exit_code;
	dmn_free(&d);
	if (uv_loop_close(loop) != 0)
		dmn_log(DMN_LOG_WARN, "loop closed with handles still open");
done:
	free(cli);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
