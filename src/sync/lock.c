/* One sync at a time per home: HOME/sync.lock, released by the kernel if
 * the process dies. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest_int.h"
#include "log_int.h"
#include "schoolsync/hlc.h"
#include "schoolsync/home.h"
#include "schoolsync/node.h"
#include "sync_int.h"
#include "trust_int.h"


static int remove_lock(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t len = strlen(path);

	(void)sb; (void)ftw;
	if (flag == FTW_F && len > 5 && strcmp(path + len - 5, ".lock") == 0)
		(void)unlink(path);
	return 0;
}

/*
 * One sync at a time per home (HOME/sync.lock, released by the kernel if the
 * process dies). Holding it proves any git *.lock file left in the exchange
 * repository belongs to a sync that was killed: remove them, or every later
 * round would fail to update refs.
 */
int ssync_sync__lock(ssync_node *n, int *fd_out, ssync_error *err)
{
	return ssync_sync__lock_wait(n, fd_out, 0, err);
}

int ssync_sync__lock_wait_ms = 30000;

int ssync_sync__lock_wait(ssync_node *n, int *fd_out, int wait_ms, ssync_error *err)
{
	char path[4096], dir[4096];
	int fd, waited = 0, got;

	*fd_out = -1;
	if ((fd = ssync_home_path(path, sizeof(path), ssync_node_home(n), SSYNC_HOME_SYNC_LOCK, err)) < 0 ||
	    (fd = ssync_home_path(dir, sizeof(dir) - 32, ssync_node_home(n), SSYNC_HOME_EXCHANGE, err)) < 0)
		return fd;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ssync_error_set(err, errno == EROFS || errno == EACCES ? SSYNC_EREADONLY : SSYNC_EIO,
			"open %s: %s", path, strerror(errno));
	/* A sync round lasts seconds: an admin command waits for it (polling,
	 * bounded) rather than failing; a sync never waits for another. */
	for (;;) {
		struct timespec ts = { 0, 50 * 1000000L };
		if ((got = flock(fd, LOCK_EX | LOCK_NB) == 0) || errno != EWOULDBLOCK || waited >= wait_ms)
			break;
		(void)nanosleep(&ts, NULL);
		waited += 50;
	}
	if (!got) {
		close(fd);
		ssync_error_set(err, SSYNC_EBUSY, "another sync is running on %s", ssync_node_home(n));
		ssync_error_hint(err, "wait for it to finish (schoolsync status shows the daemon's rounds)");
		return SSYNC_EBUSY;
	}
	{
		/* dir holds HOME/exchange.git, with room for the names below */
		size_t base = strlen(dir);
		snprintf(dir + base, sizeof(dir) - base, "/refs");
		(void)nftw(dir, remove_lock, 16, FTW_PHYS);
		snprintf(dir + base, sizeof(dir) - base, "/packed-refs.lock");
		(void)unlink(dir);
	}
	*fd_out = fd;
	return 0;
}
