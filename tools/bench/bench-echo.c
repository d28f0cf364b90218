// SPDX-License-Identifier: MIT
/*
 * bench-echo: a TCP echo server on loopback, and clients doing round trips.
 *
 * One server thread serves C connections (default 4) from C client
 * threads of the same process. Each client writes a request of S bytes
 * (default 64) with a blocking write(), reads the S-byte answer back with
 * blocking reads, checks that it is its request, and starts again: one
 * round trip. TCP_NODELAY on both ends. Servers (-i):
 *
 *   cport-reactor   cport_loop: the listening socket and each connection
 *                   are added with cport_loop_add_fd() (a multishot
 *                   CPORT_OP_POLL_ADD underneath: edge-triggered), and
 *                   their handlers read() and write() the non-blocking
 *                   sockets themselves. The idiomatic way to write a
 *                   socket server on the loop, and the one bench-all runs.
 *   cport-proactor  cport_loop: each connection has one op in flight, a
 *                   CPORT_OP_READ of up to 4 KiB, then a CPORT_OP_WRITE of
 *                   what it read (again for the rest if short), then the
 *                   next READ; the SQEs come from cport_loop_get_sqe(), the
 *                   callbacks run on the CQEs. Only accept() is a reactor
 *                   handler.
 *   epoll           a plain epoll loop: level-triggered EPOLLIN on the
 *                   listening socket and each connection, epoll_wait() for
 *                   up to 64 events, the same read()/write() code as
 *                   cport-reactor.
 *
 * The reactor servers read up to 4 KiB and read again only when a read
 * filled the buffer: a short read from a TCP socket means its receive
 * queue was empty, and whatever arrives later is a new edge. So both make
 * the same system calls per request: one read, one write, one wait that
 * may serve several connections. A write that does not take everything
 * keeps the rest and waits for EPOLLOUT instead of EPOLLIN.
 *
 * After a warm-up, the clients' round trips during -t ms give one line:
 *
 *   bench=echo impl=cport-reactor conns=4 size=64 rounds=... secs=...
 *   rps=... us_per_rt=... vcsw=... ivcsw=... cs_per_rt=...
 *
 * (on one line; rps is round trips per second over all connections,
 * us_per_rt the mean time of one round trip of one connection, and
 * cs_per_rt the context switches of all the process's threads per round
 * trip, counted as bench-pool counts them). At
 * the end the clients close their connections and the server returns once
 * it has seen all of them close. Exit status 2 ("skip=") if /dev/cport is
 * missing or the module has no poll ops or no event flags (which
 * cport_loop needs).
 *
 * With -1 every thread is pinned to CPU 0: a wake-up is then a switch
 * between tasks of one CPU, with no IPI and no idle vCPU to wake, which
 * under TCG costs more than the system calls around it and varies most
 * when the host is busy (bench-flags -s does the same).
 *
 * Usage: bench-echo -i cport-reactor|cport-proactor|epoll [-t MS] [-c CONNS]
 *                   [-s SIZE] [-1]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cport.h>

#define MAX_CONNS	64
#define MAX_SIZE	4096
#define BUF_SIZE	4096
#define EP_EVENTS	64

struct echo;

/* The server's side of a connection. */
struct conn {
	struct echo *e;
	int fd;
	unsigned int out_off, out_len;	/* what is left to write back */
	char buf[BUF_SIZE];
};

/* A client's count, on a cacheline of its own. */
struct client {
	struct echo *e;
	unsigned int idx;
	_Atomic uint64_t rounds;
} __attribute__((aligned(64)));

struct echo {
	const struct mech *m;	/* -i */
	unsigned int ms, nconns, size;
	int one_cpu;		/* -1 */
	char head[128];
	atomic_int stop;

	struct sockaddr_in addr;	/* where the server listens */
	int lfd;
	unsigned int accepted, closed;	/* server thread only */
	struct conn *conns[MAX_CONNS];

	struct client clients[MAX_CONNS];

	int ep;				/* epoll */
	struct cport_loop *loop;	/* cport */
};

/* What a connection's handler wants next. */
enum { C_IN, C_OUT, C_CLOSE };

/* ---- the server's socket code, shared by the reactors ------------------ */

static int sock_gone(int err)
{
	return err == ECONNRESET || err == EPIPE;
}

/* Write back what is left of the last request. */
static int conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = write(c->fd, c->buf + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += n;
		} else if (n < 0 && errno == EAGAIN) {
			return C_OUT;
		} else if (n < 0 && sock_gone(errno)) {
			return C_CLOSE;
		} else {
			bench_die(c->e->head, "server write: %zd %s", n,
				  strerror(errno));
		}
	}
	c->out_off = c->out_len = 0;
	return C_IN;
}

/* The socket is readable: echo what it holds. */
static int conn_readable(struct conn *c)
{
	ssize_t n;
	int ret;

	for (;;) {
		n = read(c->fd, c->buf, sizeof(c->buf));
		if (n == 0)
			return C_CLOSE;
		if (n < 0 && errno == EAGAIN)
			return C_IN;
		if (n < 0 && sock_gone(errno))
			return C_CLOSE;
		if (n < 0)
			bench_die(c->e->head, "server read: %s",
				  strerror(errno));
		c->out_len = n;
		ret = conn_flush(c);
		/* A short read emptied the receive queue: wait for more. */
		if (ret != C_IN || n < (ssize_t)sizeof(c->buf))
			return ret;
	}
}

/* The socket is writable again: finish the write, then read on. */
static int conn_writable(struct conn *c)
{
	int ret = conn_flush(c);

	return ret == C_IN ? conn_readable(c) : ret;
}

/* Accept what is pending; @add registers a new connection (0 or -errno). */
static void server_accept(struct echo *e, int (*add)(struct echo *e,
						     struct conn *c))
{
	struct conn *c;
	int fd, one = 1, ret;

	for (;;) {
		fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EAGAIN)
			return;
		if (fd < 0)
			bench_die(e->head, "accept4: %s", strerror(errno));
		if (e->accepted == e->nconns)
			bench_die(e->head, "more than %u connections",
				  e->nconns);
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			       sizeof(one)))
			bench_die(e->head, "TCP_NODELAY: %s", strerror(errno));
		c = calloc(1, sizeof(*c));
		if (!c)
			bench_die(e->head, "out of memory");
		c->e = e;
		c->fd = fd;
		e->conns[e->accepted++] = c;
		ret = add(e, c);
		if (ret < 0)
			bench_die(e->head, "registering connection: %s",
				  strerror(-ret));
	}
}

/* The connection is closed; true when it was the last one. */
static int server_close(struct echo *e, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	return ++e->closed == e->nconns;
}

static void server_free(struct echo *e)
{
	unsigned int i;

	for (i = 0; i < e->accepted; i++)
		free(e->conns[i]);
	close(e->lfd);
}

/* ---- epoll ------------------------------------------------------------- */

static int ep_ctl(struct echo *e, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(e->ep, op, fd, &ev) ? -errno : 0;
}

static int ep_add(struct echo *e, struct conn *c)
{
	return ep_ctl(e, EPOLL_CTL_ADD, c->fd, EPOLLIN, c);
}

/* Act on what a handler wants next; true when the server is done. */
static int ep_next(struct echo *e, struct conn *c, int want, int *cur)
{
	int ret = 0;

	if (want == C_CLOSE) {
		ret = ep_ctl(e, EPOLL_CTL_DEL, c->fd, 0, NULL);
		if (ret < 0)
			bench_die(e->head, "EPOLL_CTL_DEL: %s", strerror(-ret));
		return server_close(e, c);
	}
	if (want != *cur) {
		ret = ep_ctl(e, EPOLL_CTL_MOD, c->fd,
			     want == C_IN ? EPOLLIN : EPOLLOUT, c);
		if (ret < 0)
			bench_die(e->head, "EPOLL_CTL_MOD: %s", strerror(-ret));
	}
	*cur = want;
	return 0;
}

static void ep_serve(struct echo *e)
{
	struct epoll_event ev[EP_EVENTS];
	int i, n, done = 0, cur, want;
	struct conn *c;

	e->ep = epoll_create1(EPOLL_CLOEXEC);
	if (e->ep < 0)
		bench_die(e->head, "epoll_create1: %s", strerror(errno));
	/* data.ptr NULL: the listening socket */
	i = ep_ctl(e, EPOLL_CTL_ADD, e->lfd, EPOLLIN, NULL);
	if (i < 0)
		bench_die(e->head, "EPOLL_CTL_ADD: %s", strerror(-i));
	while (!done) {
		n = epoll_wait(e->ep, ev, EP_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die(e->head, "epoll_wait: %s", strerror(errno));
		for (i = 0; i < n && !done; i++) {
			c = ev[i].data.ptr;
			if (!c) {
				server_accept(e, ep_add);
				continue;
			}
			cur = c->out_len ? C_OUT : C_IN;
			if (cur == C_OUT)
				want = conn_writable(c);
			else
				want = conn_readable(c);
			done = ep_next(e, c, want, &cur);
		}
	}
	close(e->ep);
}

/* ---- cport_loop, reactor ------------------------------------------------ */

static void lr_conn(struct cport_loop *loop, int fd, uint32_t events,
		    void *arg);

static void loop_check(struct echo *e, const char *what, int ret)
{
	if (ret < 0)
		bench_die(e->head, "%s: %s", what, strerror(-ret));
}

static int lr_add(struct echo *e, struct conn *c)
{
	return cport_loop_add_fd(e->loop, c->fd, EPOLLIN, lr_conn, c);
}

static void lr_accept(struct cport_loop *loop, int fd, uint32_t events,
		      void *arg)
{
	struct echo *e = arg;

	(void)loop;
	(void)fd;
	if (events & (EPOLLERR | EPOLLHUP))
		bench_die(e->head, "listening socket: events %#x", events);
	server_accept(e, lr_add);
}

static void lr_conn(struct cport_loop *loop, int fd, uint32_t events,
		    void *arg)
{
	struct conn *c = arg;
	struct echo *e = c->e;
	int want, was = c->out_len ? C_OUT : C_IN;

	if (was == C_OUT && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	want = was == C_OUT ? conn_writable(c) : conn_readable(c);
	if (want == C_CLOSE) {
		loop_check(e, "cport_loop_del_fd",
			   cport_loop_del_fd(loop, fd));
		if (server_close(e, c))
			cport_loop_stop(loop);
	} else if (want != was) {
		loop_check(e, "cport_loop_mod_fd",
			   cport_loop_mod_fd(loop, fd, want == C_IN ?
					     EPOLLIN : EPOLLOUT));
		/* Data that came while we waited for EPOLLOUT: no new edge. */
		if (want == C_IN)
			lr_conn(loop, fd, EPOLLIN, c);
	}
}

static void loop_setup(struct echo *e)
{
	struct cport *port;
	int ret;

	ret = cport_loop_new(&e->loop, 256, 0);
	if (ret == -ENOENT || ret == -ENODEV)
		bench_skip(e->head, "%s: %s", CPORT_DEVICE_PATH,
			   strerror(-ret));
	if (ret == -EOPNOTSUPP)
		bench_skip(e->head, "cport_loop_new: %s (no event flags in "
			   "this module)", strerror(-ret));
	loop_check(e, "cport_loop_new", ret);
	port = cport_loop_port(e->loop);
	if (!(port->features & CPORT_FEAT_POLL))
		bench_skip(e->head, "no CPORT_FEAT_POLL in this module");
}

static void loop_run(struct echo *e)
{
	loop_check(e, "cport_loop_run", cport_loop_run(e->loop));
	cport_loop_free(e->loop);
}

static void lr_serve(struct echo *e)
{
	loop_check(e, "cport_loop_add_fd",
		   cport_loop_add_fd(e->loop, e->lfd, EPOLLIN, lr_accept, e));
	loop_run(e);
}

/* ---- cport_loop, proactor ----------------------------------------------- */

static void lp_read_done(struct cport_loop *loop,
			 const struct cport_cqe *cqe, void *arg);
static void lp_write_done(struct cport_loop *loop,
			  const struct cport_cqe *cqe, void *arg);

static struct cport_sqe *lp_sqe(struct echo *e, cport_loop_cqe_fn cb,
				struct conn *c)
{
	struct cport_sqe *sqe = cport_loop_get_sqe(e->loop, cb, c);

	if (!sqe)
		bench_die(e->head, "cport_loop_get_sqe: no SQE");
	return sqe;
}

static void lp_read(struct conn *c)
{
	cport_prep_read(lp_sqe(c->e, lp_read_done, c), c->fd, c->buf,
			sizeof(c->buf), CPORT_POS_CURRENT);
}

static void lp_write(struct conn *c)
{
	cport_prep_write(lp_sqe(c->e, lp_write_done, c), c->fd,
			 c->buf + c->out_off, c->out_len - c->out_off,
			 CPORT_POS_CURRENT);
}

static void lp_close(struct cport_loop *loop, struct conn *c)
{
	if (server_close(c->e, c))
		cport_loop_stop(loop);
}

static void lp_read_done(struct cport_loop *loop,
			 const struct cport_cqe *cqe, void *arg)
{
	struct conn *c = arg;

	if (cqe->res == 0 || (cqe->res < 0 && sock_gone(-cqe->res))) {
		lp_close(loop, c);
		return;
	}
	if (cqe->res < 0)
		bench_die(c->e->head, "CPORT_OP_READ: %s", strerror(-cqe->res));
	c->out_off = 0;
	c->out_len = cqe->res;
	lp_write(c);
}

static void lp_write_done(struct cport_loop *loop,
			  const struct cport_cqe *cqe, void *arg)
{
	struct conn *c = arg;

	if (cqe->res < 0 && sock_gone(-cqe->res)) {
		lp_close(loop, c);
		return;
	}
	if (cqe->res <= 0)
		bench_die(c->e->head, "CPORT_OP_WRITE: %d %s", cqe->res,
			  cqe->res ? strerror(-cqe->res) : "");
	c->out_off += cqe->res;
	if (c->out_off < c->out_len) {
		lp_write(c);
		return;
	}
	c->out_off = c->out_len = 0;
	lp_read(c);
}

static int lp_add(struct echo *e, struct conn *c)
{
	(void)e;
	lp_read(c);
	return 0;
}

static void lp_accept(struct cport_loop *loop, int fd, uint32_t events,
		      void *arg)
{
	struct echo *e = arg;

	(void)loop;
	(void)fd;
	if (events & (EPOLLERR | EPOLLHUP))
		bench_die(e->head, "listening socket: events %#x", events);
	server_accept(e, lp_add);
}

static void lp_serve(struct echo *e)
{
	loop_check(e, "cport_loop_add_fd",
		   cport_loop_add_fd(e->loop, e->lfd, EPOLLIN, lp_accept, e));
	loop_run(e);
}

/* ---- the threads -------------------------------------------------------- */

struct mech {
	const char *name;	/* -i */
	void (*setup)(struct echo *e);
	void (*serve)(struct echo *e);
};

static const struct mech mechs[] = {
	{ "cport-reactor", loop_setup, lr_serve },
	{ "cport-proactor", loop_setup, lp_serve },
	{ "epoll", NULL, ep_serve },
};

static void *server(void *arg)
{
	struct echo *e = arg;

	if (e->one_cpu)
		bench_pin(0);
	e->m->serve(e);
	server_free(e);
	return NULL;
}

static void listen_setup(struct echo *e)
{
	socklen_t len = sizeof(e->addr);
	int one = 1;

	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->lfd < 0)
		bench_die(e->head, "socket: %s", strerror(errno));
	setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	e->addr.sin_family = AF_INET;
	e->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(e->lfd, (struct sockaddr *)&e->addr, sizeof(e->addr)) ||
	    getsockname(e->lfd, (struct sockaddr *)&e->addr, &len) ||
	    listen(e->lfd, MAX_CONNS))
		bench_die(e->head, "bind/listen on 127.0.0.1: %s",
			  strerror(errno));
}

static void io_full(struct echo *e, int fd, char *buf, size_t len, int wr)
{
	ssize_t n;

	while (len) {
		n = wr ? write(fd, buf, len) : read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die(e->head, "client %s: %zd %s",
				  wr ? "write" : "read", n,
				  n ? strerror(errno) : "end of file");
		buf += n;
		len -= n;
	}
}

static void *client(void *arg)
{
	struct client *cl = arg;
	struct echo *e = cl->e;
	char out[MAX_SIZE], in[MAX_SIZE];
	uint64_t seq = 0;
	int fd, one = 1;
	unsigned int i;

	if (e->one_cpu)
		bench_pin(0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		bench_die(e->head, "socket: %s", strerror(errno));
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(fd, (struct sockaddr *)&e->addr, sizeof(e->addr)))
		bench_die(e->head, "client connect: %s", strerror(errno));
	while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
		/* Each request differs: an echo of an old one is caught. */
		for (i = 0; i < e->size; i++)
			out[i] = (char)(seq + i * 7 + cl->idx * 131);
		io_full(e, fd, out, e->size, 1);
		io_full(e, fd, in, e->size, 0);
		if (memcmp(in, out, e->size))
			bench_die(e->head, "client %u: answer %llu is not "
				  "the request", cl->idx,
				  (unsigned long long)seq);
		seq++;
		atomic_store_explicit(&cl->rounds, seq, memory_order_relaxed);
	}
	close(fd);
	return NULL;
}

static uint64_t rounds(struct echo *e)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < e->nconns; i++)
		sum += atomic_load_explicit(&e->clients[i].rounds,
					    memory_order_relaxed);
	return sum;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i cport-reactor|cport-proactor|epoll [-t MS]\n"
		"          [-c CONNS] [-s SIZE] [-1]\n"
		"  -c  connections, one client thread each (default 4, at most "
		"%d)\n"
		"  -s  bytes per request and answer (default 64, at most %d)\n"
		"  -1  pin every thread to CPU 0\n",
		prog, MAX_CONNS, MAX_SIZE);
	exit(1);
}

int main(int argc, char **argv)
{
	static struct echo e = { .ms = 1000, .nconns = 4, .size = 64 };
	pthread_t st, ct[MAX_CONNS];
	uint64_t r0, r1, t0, t1, v0, i0, v1, i1;
	const char *name = NULL;
	unsigned int i;
	int c;

	while ((c = getopt(argc, argv, "i:t:c:s:1h")) != -1) {
		switch (c) {
		case 'i':
			name = optarg;
			break;
		case 't':
			e.ms = bench_atol(argv[0], optarg);
			break;
		case 'c':
			e.nconns = bench_atol(argv[0], optarg);
			break;
		case 's':
			e.size = bench_atol(argv[0], optarg);
			break;
		case '1':
			e.one_cpu = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!name || e.nconns > MAX_CONNS || e.size > MAX_SIZE)
		usage(argv[0]);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(name, mechs[i].name))
			e.m = &mechs[i];
	if (!e.m)
		usage(argv[0]);
	snprintf(e.head, sizeof(e.head), "bench=echo impl=%s conns=%u size=%u "
		 "cpus=%s", name, e.nconns, e.size, e.one_cpu ? "0" : "all");

	if (e.one_cpu)
		bench_pin(0);
	if (e.m->setup)
		e.m->setup(&e);
	listen_setup(&e);
	if (pthread_create(&st, NULL, server, &e))
		bench_die(e.head, "pthread_create failed");
	for (i = 0; i < e.nconns; i++) {
		e.clients[i].e = &e;
		e.clients[i].idx = i;
		if (pthread_create(&ct[i], NULL, client, &e.clients[i]))
			bench_die(e.head, "pthread_create failed");
	}

	sleep_ms(BENCH_WARMUP_MS);
	bench_ctxt_switches(e.head, &v0, &i0);
	r0 = rounds(&e);
	t0 = mono_ns();
	sleep_ms(e.ms);
	bench_ctxt_switches(e.head, &v1, &i1);
	r1 = rounds(&e);
	t1 = mono_ns();

	atomic_store(&e.stop, 1);
	for (i = 0; i < e.nconns; i++)
		pthread_join(ct[i], NULL);
	pthread_join(st, NULL);

	if (r1 == r0)
		bench_die(e.head, "no round trip in %u ms", e.ms);
	/* us_per_rt: the mean round trip of one connection */
	printf("%s rounds=%llu secs=%.3f rps=%.0f us_per_rt=%.2f vcsw=%llu "
	       "ivcsw=%llu cs_per_rt=%.3f\n", e.head,
	       (unsigned long long)(r1 - r0), (t1 - t0) / 1e9,
	       (r1 - r0) * 1e9 / (t1 - t0),
	       (double)e.nconns * (t1 - t0) / 1e3 / (r1 - r0),
	       (unsigned long long)(v1 - v0), (unsigned long long)(i1 - i0),
	       (double)(v1 - v0 + i1 - i0) / (r1 - r0));
	return 0;
}
