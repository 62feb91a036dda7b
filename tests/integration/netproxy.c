/* netproxy: a tiny TCP proxy for the daemon's network tests (tc netem is
 * not available on these machines, TESTPLAN §1).
 *
 *   netproxy LISTEN_IP:PORT TARGET_IP:PORT [DELAY_MS [JITTER_MS]]
 *       forward both ways; every chunk is held DELAY_MS (+ random 0..JITTER_MS,
 *       kept in order) before it is passed on
 *   netproxy LISTEN_IP:PORT --blackhole
 *       accept connections and then never read or send anything: a server
 *       that "hangs" after the TCP handshake
 *
 * Built by the test scripts with `cc -O2 -o netproxy netproxy.c`. Single
 * threaded, poll(2), non-blocking sockets; exits on SIGTERM. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64
#define CHUNK 16384
#define QMAX 64 /* chunks queued per direction before we stop reading */

typedef struct chunk { struct chunk *next; long long due; size_t len, off; char data[CHUNK]; } chunk;
typedef struct dir { chunk *head, *tail; int n; int eof; int shut; long long last_due; } dir;
typedef struct conn { int c, s; int connecting; dir up, down; int used; } conn; /* up: c->s */

static conn cs[MAXC];
static long delay_ms, jitter_ms;

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int parse(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void nb(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void dir_free(dir *d)
{
	while (d->head) {
		chunk *n = d->head->next;
		free(d->head);
		d->head = n;
	}
	memset(d, 0, sizeof(*d));
}

static void conn_close(conn *k)
{
	if (k->c >= 0)
		close(k->c);
	if (k->s >= 0)
		close(k->s);
	dir_free(&k->up);
	dir_free(&k->down);
	memset(k, 0, sizeof(*k));
	k->c = k->s = -1;
}

/* read from fd into d; 0 ok, -1 closed/error */
static int pump_in(int fd, dir *d)
{
	chunk *ch = malloc(sizeof(*ch));
	ssize_t n;

	if (!ch)
		return -1;
	n = read(fd, ch->data, CHUNK);
	if (n <= 0) {
		free(ch);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		d->eof = 1;
		return n == 0 ? 0 : -1;
	}
	ch->len = (size_t)n;
	ch->off = 0;
	ch->next = NULL;
	ch->due = now_ms() + delay_ms + (jitter_ms > 0 ? random() % (jitter_ms + 1) : 0);
	if (ch->due < d->last_due)
		ch->due = d->last_due; /* keep the byte order */
	d->last_due = ch->due;
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->n++;
	return 0;
}

static int pump_out(int fd, dir *d)
{
	while (d->head && d->head->due <= now_ms()) {
		chunk *ch = d->head;
		ssize_t n = write(fd, ch->data + ch->off, ch->len - ch->off);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		ch->off += (size_t)n;
		if (ch->off < ch->len)
			return 0;
		d->head = ch->next;
		if (!d->head)
			d->tail = NULL;
		d->n--;
		free(ch);
	}
	if (!d->head && d->eof && !d->shut) {
		shutdown(fd, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

int main(int argc, char **argv)
{
	struct sockaddr_in la, ta;
	int lfd, one = 1, blackhole, i;

	if (argc < 3 || parse(argv[1], &la) < 0) {
		fprintf(stderr, "usage: netproxy LISTEN_IP:PORT (TARGET_IP:PORT [DELAY_MS [JITTER_MS]] | --blackhole)\n");
		return 2;
	}
	blackhole = strcmp(argv[2], "--blackhole") == 0;
	if (!blackhole && parse(argv[2], &ta) < 0) {
		fprintf(stderr, "netproxy: bad target %s\n", argv[2]);
		return 2;
	}
	delay_ms = argc > 3 ? atol(argv[3]) : 0;
	jitter_ms = argc > 4 ? atol(argv[4]) : 0;
	srandom((unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (i = 0; i < MAXC; i++)
		cs[i].c = cs[i].s = -1;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&la, sizeof(la)) != 0 || listen(lfd, 16) != 0) {
		fprintf(stderr, "netproxy: listen %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	nb(lfd);
	while (!stop) {
		struct pollfd p[1 + 2 * MAXC];
		int map[1 + 2 * MAXC], np = 0, timeout = 1000;
		long long now = now_ms();

		p[np].fd = lfd;
		p[np].events = POLLIN;
		map[np++] = -1;
		for (i = 0; i < MAXC; i++) {
			conn *k = &cs[i];
			short ce = 0, se = 0;
			if (!k->used)
				continue;
			if (blackhole) {
				p[np].fd = k->c; p[np].events = 0; map[np++] = i; /* notice hangups only */
				continue;
			}
			if (k->connecting) {
				se = POLLOUT;
			} else {
				if (!k->up.eof && k->up.n < QMAX) ce |= POLLIN;
				if (!k->down.eof && k->down.n < QMAX) se |= POLLIN;
				if (k->up.head) { if (k->up.head->due <= now) se |= POLLOUT; else if (k->up.head->due - now < timeout) timeout = (int)(k->up.head->due - now); }
				if (k->down.head) { if (k->down.head->due <= now) ce |= POLLOUT; else if (k->down.head->due - now < timeout) timeout = (int)(k->down.head->due - now); }
			}
			p[np].fd = k->c; p[np].events = ce; map[np++] = i;
			p[np].fd = k->s; p[np].events = se; map[np++] = i + MAXC;
		}
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL);
			if (c >= 0) {
				for (i = 0; i < MAXC && cs[i].used; i++)
					;
				if (i == MAXC) {
					close(c);
				} else {
					conn *k = &cs[i];
					memset(k, 0, sizeof(*k));
					k->used = 1;
					k->c = c;
					k->s = -1;
					nb(c);
					if (!blackhole) {
						k->s = socket(AF_INET, SOCK_STREAM, 0);
						nb(k->s);
						setsockopt(k->s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
						setsockopt(k->c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
						if (connect(k->s, (struct sockaddr *)&ta, sizeof(ta)) != 0 && errno != EINPROGRESS)
							conn_close(k);
						else
							k->connecting = 1;
					}
				}
			}
		}
		for (i = 1; i < np; i++) {
			int idx = map[i] % MAXC, is_s = map[i] >= MAXC;
			conn *k = &cs[idx];
			short re = p[i].revents;
			if (!k->used || !re)
				continue;
			if (blackhole) {
				if (re & (POLLHUP | POLLERR))
					conn_close(k);
				continue;
			}
			if (is_s && k->connecting) {
				int e = 0;
				socklen_t el = sizeof(e);
				getsockopt(k->s, SOL_SOCKET, SO_ERROR, &e, &el);
				if (e) { conn_close(k); continue; }
				k->connecting = 0;
				continue;
			}
			if (re & POLLIN) {
				if (pump_in(is_s ? k->s : k->c, is_s ? &k->down : &k->up) < 0) { conn_close(k); continue; }
			}
			if ((re & (POLLERR)) || ((re & POLLHUP) && !(re & POLLIN))) { conn_close(k); continue; }
		}
		/* writes are time-driven: try every due chunk */
		for (i = 0; i < MAXC; i++) {
			conn *k = &cs[i];
			if (!k->used || blackhole || k->connecting)
				continue;
			if (pump_out(k->s, &k->up) < 0 || pump_out(k->c, &k->down) < 0) { conn_close(k); continue; }
			if (k->up.shut && k->down.shut)
				conn_close(k);
		}
	}
	return 0;
}
