/*
 * pcdisk: a disk image for power-cut tests, served over FUSE, that knows
 * which writes reached stable storage.
 *
 *   pcdisk IMAGE MOUNTPOINT [fuse options]
 *
 * MOUNTPOINT/disk is IMAGE's contents, held in memory; attach it to a loop
 * device and mount the file system on it. The loop device turns a cache
 * flush (what fsync and a journal commit send) into fsync of this file, so
 * pcdisk sees the same stream of writes and flushes a disk does. It keeps
 * two images: what the file system has written (what reads return), and
 * what it had written at its last completed flush (what a disk with a
 * volatile write cache keeps when the power goes).
 *
 * Writing "snap MODE SEED PATH" to MOUNTPOINT/ctl writes the image a power
 * cut at this moment could leave to PATH, while no other request is served
 * (pcdisk runs single-threaded), so the copy is of one instant:
 *   flushed  only what the last flush made stable;
 *   subset   that, plus each write since then kept or lost at random (a
 *            disk cache may write back in any order between flushes);
 *   all      every write the device received (a disk without a volatile
 *            cache; what a plain copy of a loop device's file gives).
 * "arm MODE SEED PATH N" makes the same snap later, at the first write that
 * leaves N or more writes since the last flush: a cut in the middle of a
 * burst (a journal commit, a checkpoint copying pages), which a cut at a
 * random moment rarely meets when flushes are frequent. N 0 disarms.
 * Each snap prints one line to stderr: writes since the flush, writes kept.
 * Requests are whole block-layer requests, so sectors are not torn.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pc_write {
	off_t off;
	size_t len;
	unsigned char *data;
} pc_write;

static unsigned char *cur, *stable;
static size_t disk_size;
static pc_write *pending;
static size_t npending, cappending;
static unsigned long long nflush, nwrite;
/* an armed snap: taken at the first write that leaves arm_n writes pending */
static char arm_mode[16], arm_out[1024];
static unsigned arm_seed;
static size_t arm_n;

static void drop_pending(void)
{
	size_t i;

	for (i = 0; i < npending; i++)
		free(pending[i].data);
	npending = 0;
}

static int pc_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (strcmp(path, "/disk") == 0) {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)disk_size;
	} else if (strcmp(path, "/ctl") == 0) {
		st->st_mode = S_IFREG | 0200;
		st->st_nlink = 1;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int pc_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk", NULL, 0, 0);
	fill(buf, "ctl", NULL, 0, 0);
	return 0;
}

static int pc_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/disk") != 0 && strcmp(path, "/ctl") != 0)
		return -ENOENT;
	fi->direct_io = 1; /* every write reaches us; nothing cached in between */
	return 0;
}

static int pc_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, "/ctl") == 0)
		return 0;
	return (size_t)size == disk_size ? 0 : -EPERM;
}

static int pc_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, "/disk") != 0)
		return -EACCES;
	if (off < 0 || (size_t)off >= disk_size)
		return 0;
	if (n > disk_size - (size_t)off)
		n = disk_size - (size_t)off;
	memcpy(buf, cur + off, n);
	return (int)n;
}

/* Snapshot of a power cut now; see the header comment. */
static int snap(const char *mode, unsigned seed, const char *out)
{
	unsigned char *img = malloc(disk_size);
	size_t i, kept = 0;
	int fd, all = strcmp(mode, "all") == 0, subset = strcmp(mode, "subset") == 0;
	size_t done = 0;

	if (!img)
		return -ENOMEM;
	if (!all && !subset && strcmp(mode, "flushed") != 0) {
		free(img);
		return -EINVAL;
	}
	srand(seed);
	memcpy(img, stable, disk_size);
	for (i = 0; i < npending; i++) {
		if (all || (subset && (rand() & 1))) {
			memcpy(img + pending[i].off, pending[i].data, pending[i].len);
			kept++;
		}
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
		free(img);
		return -errno;
	}
	while (done < disk_size) {
		ssize_t w = write(fd, img + done, disk_size - done);
		if (w <= 0) {
			close(fd);
			free(img);
			return -EIO;
		}
		done += (size_t)w;
	}
	free(img);
	if (close(fd) != 0)
		return -EIO;
	fprintf(stderr, "pcdisk: snap %s seed %u: %zu writes since the last flush (%llu flushes, %llu writes in all), %zu kept\n",
		mode, seed, npending, nflush, nwrite, kept);
	return 0;
}

static int pc_ctl(const char *buf, size_t n)
{
	char line[1200], mode[16], out[1024];
	unsigned seed, at;

	if (n >= sizeof(line))
		return -EINVAL;
	memcpy(line, buf, n);
	line[n] = 0;
	if (sscanf(line, "arm %15s %u %1023s %u", mode, &seed, out, &at) == 4) {
		memcpy(arm_mode, mode, sizeof(arm_mode));
		memcpy(arm_out, out, sizeof(arm_out));
		arm_seed = seed;
		arm_n = at; /* 0 disarms */
		return 0;
	}
	if (sscanf(line, "snap %15s %u %1023s", mode, &seed, out) != 3)
		return -EINVAL;
	return snap(mode, seed, out);
}

static int pc_write_op(const char *path, const char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	pc_write *w;
	int rc;

	(void)fi;
	if (strcmp(path, "/ctl") == 0) {
		rc = pc_ctl(buf, n);
		return rc < 0 ? rc : (int)n;
	}
	if (strcmp(path, "/disk") != 0)
		return -EACCES;
	if (off < 0 || (size_t)off > disk_size || n > disk_size - (size_t)off)
		return -ENOSPC;
	if (npending == cappending) {
		size_t cap = cappending ? cappending * 2 : 1024;
		pc_write *nw = realloc(pending, cap * sizeof(*nw));
		if (!nw)
			return -ENOMEM;
		pending = nw;
		cappending = cap;
	}
	w = &pending[npending];
	if (!(w->data = malloc(n ? n : 1)))
		return -ENOMEM;
	memcpy(w->data, buf, n);
	w->off = off;
	w->len = n;
	npending++;
	nwrite++;
	memcpy(cur + off, buf, n);
	if (arm_n && npending >= arm_n) {
		arm_n = 0;
		if (snap(arm_mode, arm_seed, arm_out) < 0)
			fprintf(stderr, "pcdisk: armed snap to %s failed\n", arm_out);
	}
	return (int)n;
}

/* A cache flush: everything written so far is stable. */
static int pc_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	size_t i;

	(void)datasync;
	(void)fi;
	if (strcmp(path, "/disk") != 0)
		return 0;
	for (i = 0; i < npending; i++)
		memcpy(stable + pending[i].off, pending[i].data, pending[i].len);
	drop_pending();
	nflush++;
	return 0;
}

static const struct fuse_operations ops = {
	.getattr = pc_getattr,
	.readdir = pc_readdir,
	.open = pc_open,
	.truncate = pc_truncate,
	.read = pc_read,
	.write = pc_write_op,
	.fsync = pc_fsync,
};

int main(int argc, char **argv)
{
	struct stat st;
	char *fargv[16];
	int fargc = 0, i, fd, rc;
	size_t done = 0;

	if (argc < 3 || argc > 12) {
		fprintf(stderr, "usage: pcdisk IMAGE MOUNTPOINT [fuse options]\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		fprintf(stderr, "pcdisk: cannot read %s\n", argv[1]);
		return 1;
	}
	disk_size = (size_t)st.st_size;
	if (!(cur = malloc(disk_size)) || !(stable = malloc(disk_size))) {
		fprintf(stderr, "pcdisk: out of memory for a %zu-byte image\n", disk_size);
		return 1;
	}
	while (done < disk_size) {
		ssize_t r = read(fd, cur + done, disk_size - done);
		if (r <= 0) {
			fprintf(stderr, "pcdisk: short read of %s\n", argv[1]);
			return 1;
		}
		done += (size_t)r;
	}
	close(fd);
	memcpy(stable, cur, disk_size);
	/* foreground, single-threaded: a snap sees no request half-done */
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";
	fargv[fargc++] = "-s";
	for (i = 3; i < argc; i++)
		fargv[fargc++] = argv[i];
	fargv[fargc++] = argv[2];
	fargv[fargc] = NULL;
	rc = fuse_main(fargc, fargv, &ops, NULL);
	drop_pending();
	free(pending);
	free(cur);
	free(stable);
	return rc;
}
