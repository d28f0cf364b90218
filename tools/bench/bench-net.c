// SPDX-License-Identifier: MIT
/*
 * bench-net: TCP echo servers on loopback under many connections.
 *
 * A load generator in this process opens C connections (-c, default 64)
 * and keeps one S-byte request (-s, default 64) in flight on each: it
 * sends, waits for the whole echo, checks it, sends the next. The client
 * is one thread (-C more) on epoll, so that 1000 connections do not need
 * 1000 threads. The servers (-i):
 *
 *   cport        one thread, a proactor on the port's rings: one multishot
 *                CPORT_OP_ACCEPT, per connection a multishot CPORT_OP_RECV
 *                taking provided buffers from a buffer ring, a
 *                CPORT_OP_SEND from the buffer, which then goes back to
 *                the ring; SQEs are submitted and the next CQE awaited in
 *                one CPORT_IOC_ENTER (cport_submit_and_wait()).
 *   io_uring     the same ops and structure with liburing: multishot
 *                accept, multishot recv with a provided buffer ring, send;
 *                io_uring_submit_and_wait().
 *   cport-poll   a diagnostic variant of cport: per connection a multishot
 *                CPORT_OP_POLL_ADD (posted from the socket's wake-up), and
 *                on each readiness CQE a one-shot RECV with buffer select
 *                and MSG_DONTWAIT, whose one attempt runs inside the next
 *                CPORT_IOC_ENTER; no attempt runs on a kernel worker.
 *   epoll        one thread, level-triggered epoll, read() and write().
 *   cport-pool   examples/echo-server.c itself (included): -w threads
 *                (default 4) in cport_get_queued_completions() under a
 *                concurrency value (-k, default: the CPUs).
 *   epoll-pool   -w threads in epoll_wait() on one epoll instance, each
 *                connection EPOLLONESHOT: read(), write(), EPOLL_CTL_MOD.
 *
 * After a warm-up, the round trips of -t ms give one line:
 *
 *   bench=net-echo impl=cport conns=1000 size=64 threads=1 rounds=...
 *   secs=... rps=... us_per_rt=... cs=... cs_per_req=...
 *
 * (one line; cs is the context switches, voluntary and not, of the server
 * threads only, and cs_per_req that per echoed request; sys_cs_per_req
 * counts every switch of the machine, kernel workers and the client
 * included, from /proc/stat; srv_us_per_req and cl_us_per_req are the CPU
 * time of the server threads and of the client threads per request, from
 * /proc/self/task/TID/schedstat, and sys_us_per_req the busy time of
 * every CPU per request, from /proc/stat. When srv_us_per_req and
 * cl_us_per_req are both about 1e6 / rps, both sides are busy all the
 * time: the client, the same for every server, bounds the rate as much
 * as the server does; dacks_per_req counts the ACKs the delayed-ACK timer
 * sent (TcpExt DelayedACKs) per request: when a connection's round trip
 * nears the timer's 40 ms minimum, as 1000 connections do under TCG, the
 * timer fires, its bare ACKs cost both sides CPU time, the round trip
 * grows further, and the rate settles about a fifth lower: a run lands in
 * one state or the other, and this column says which). Exit status 2
 * ("skip=") when the mechanism is missing (no /dev/cport, a module
 * without CPORT_FEAT_NET, io_uring disabled).
 *
 * Usage: bench-net -i IMPL [-t MS] [-c CONNS] [-s SIZE] [-w THREADS]
 *                  [-k CONCURRENCY] [-C CLIENT_THREADS]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <fcntl.h>
#include <liburing.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define ECHO_SERVER_NO_MAIN
#include "../../examples/echo-server.c"

#define MAX_CONNS	4096
#define MAX_SIZE	2048
#define MAX_THREADS	64
#define MAX_CLIENTS	8
#define BGID		0
#define BUF_SIZE	2048

struct bn;

struct impl {
	const char *name;
	int (*start)(struct bn *b);	/* 0, -errno; BENCH_EXIT_SKIP */
	void (*stop)(struct bn *b);
};

struct cl_conn {
	int fd;
	unsigned int got;	/* bytes of the echo received */
	uint32_t seq;
};

struct cl_thread {
	struct bn *b;
	pthread_t t;
	int ep;
	unsigned int first, n;	/* its connections */
	_Atomic uint64_t rounds;
	_Atomic pid_t tid;
} __attribute__((aligned(64)));

struct bn {
	const struct impl *impl;
	unsigned int ms, nconns, size, nthreads, conc, nclients;
	char head[192];
	struct sockaddr_in addr;
	int lfd;
	atomic_int stop;

	struct cl_conn *cc;
	struct cl_thread cl[MAX_CLIENTS];

	/* server threads, for their context switches */
	pid_t tids[MAX_THREADS];
	atomic_uint ntids;
	pthread_t st[MAX_THREADS];

	/* single-thread proactors */
	int uring;
	int pollrecv;			/* cport-poll */
	struct cport port;
	struct io_uring ring;
	struct cport_buf_ring *cbr;
	struct io_uring_buf_ring *ubr;
	char *mem;
	unsigned int nbufs;
	struct px_buf { int fd; unsigned int gen, len, off; } *bufs;
	unsigned int *gen;		/* by descriptor: bumped on close */
	int *rearm;
	unsigned int nrearm;
	size_t ring_sz;

	unsigned long getq_timeouts;	/* cport-pool: GETQ waits ran out */
	int ep;				/* epoll, epoll-pool */
	struct echo_srv srv;		/* cport-pool */
};

static void record_tid(struct bn *b)
{
	unsigned int i = atomic_fetch_add(&b->ntids, 1);

	if (i < MAX_THREADS)
		b->tids[i] = syscall(SYS_gettid);
}

/*
 * The sum over threads @tids of what @parse reads from each one's
 * /proc/self/task/TID/@file; a thread whose file cannot be opened counts
 * 0 unless @must (then the run dies).
 */
static uint64_t tid_sum(struct bn *b, const pid_t *tids, unsigned int n,
			const char *file, bool must,
			uint64_t (*parse)(FILE *f))
{
	char path[64];
	uint64_t sum = 0;
	unsigned int i;
	FILE *f;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tids[i],
			 file);
		f = fopen(path, "r");
		if (!f && must)
			bench_die(b->head, "%s: %s", path, strerror(errno));
		if (!f)
			continue;
		sum += parse(f);
		fclose(f);
	}
	return sum;
}

/* status: voluntary and involuntary context switches. */
static uint64_t parse_switches(FILE *f)
{
	unsigned long long v;
	uint64_t sum = 0;
	char line[128];

	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			sum += v;
	return sum;
}

/* schedstat: CPU time in ns, its first field. */
static uint64_t parse_cpu_ns(FILE *f)
{
	unsigned long long v;

	return fscanf(f, "%llu", &v) == 1 ? v : 0;
}

/* Context switches of the server threads @tids so far. */
static uint64_t tid_switches(struct bn *b, const pid_t *tids, unsigned int n)
{
	return tid_sum(b, tids, n, "status", true, parse_switches);
}

/* CPU time in ns of the threads @tids so far. */
static uint64_t tid_cpu_ns(struct bn *b, const pid_t *tids, unsigned int n)
{
	return tid_sum(b, tids, n, "schedstat", false, parse_cpu_ns);
}

/* Busy CPU time of the whole machine so far, in ns (/proc/stat "cpu"). */
static uint64_t sys_busy_ns(void)
{
	unsigned long long u, ni, sy, id, io, irq, sirq;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t busy = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &u, &ni, &sy,
		   &id, &io, &irq, &sirq) == 7)
		busy = (u + ni + sy + irq + sirq) * (1000000000ULL / hz);
	fclose(f);
	return busy;
}

/*
 * Delayed ACKs the machine sent so far: ACKs sent by the delayed-ACK
 * timer, not with data (TcpExt DelayedACKs in /proc/net/netstat).
 */
static uint64_t sys_delayed_acks(void)
{
	char names[4096], values[4096], *n, *v, *sn, *sv;
	uint64_t ret = 0;
	FILE *f = fopen("/proc/net/netstat", "r");

	if (!f)
		return 0;
	while (fgets(names, sizeof(names), f) &&
	       fgets(values, sizeof(values), f)) {
		if (strncmp(names, "TcpExt:", 7))
			continue;
		n = strtok_r(names, " \n", &sn);
		v = strtok_r(values, " \n", &sv);
		while (n && v) {
			if (!strcmp(n, "DelayedACKs")) {
				ret = strtoull(v, NULL, 10);
				break;
			}
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return ret;
}

/* Context switches of the whole machine so far (/proc/stat "ctxt"). */
static uint64_t sys_switches(void)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ctxt %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static unsigned int pow2_ge(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* ---- single-thread proactor: cport or io_uring, the same code ---------- */

#define PX_QUIT		0
#define PX_ACCEPT	1
#define PX_RECV		2
#define PX_SEND		3
#define PX_POLL		4	/* cport-poll: readiness of a connection */
#define PX_RECV1	5	/* cport-poll: its one-shot RECV */
#define PX_UD(k, a)	(((uint64_t)(k) << 56) | (uint32_t)(a))
/* cport-poll: the descriptor's generation too, for POLL_REMOVE */
#define PX_UDG(k, a, g)	(PX_UD(k, a) | ((uint64_t)((g) & 0xffffff) << 32))

/* One normalized CQE. */
struct px_cqe {
	uint64_t ud;
	int res;
	int more;
	int bid;	/* -1: none */
};

static void *px_sqe(struct bn *b)
{
	void *sqe;

	if (b->uring) {
		sqe = io_uring_get_sqe(&b->ring);
		if (!sqe) {
			io_uring_submit(&b->ring);
			sqe = io_uring_get_sqe(&b->ring);
		}
	} else {
		sqe = cport_get_sqe(&b->port);
		if (!sqe) {
			cport_submit(&b->port);
			sqe = cport_get_sqe(&b->port);
		}
	}
	if (!sqe)
		bench_die(b->head, "no SQE");
	return sqe;
}

static void px_accept(struct bn *b)
{
	void *sqe = px_sqe(b);

	if (b->uring) {
		io_uring_prep_multishot_accept(sqe, b->lfd, NULL, NULL,
					       SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, PX_UD(PX_ACCEPT, 0));
	} else {
		cport_prep_multishot_accept(sqe, b->lfd, SOCK_CLOEXEC);
		((struct cport_sqe *)sqe)->user_data = PX_UD(PX_ACCEPT, 0);
	}
}

static void px_recv(struct bn *b, int fd)
{
	void *sqe = px_sqe(b);

	if (b->pollrecv) {
		/* One RECV now; the data is there (or -EAGAIN). */
		cport_prep_recv_select(sqe, fd, BGID, 0, MSG_DONTWAIT);
		((struct cport_sqe *)sqe)->user_data =
			PX_UDG(PX_RECV1, fd, b->gen[fd]);
		return;
	}

	if (b->uring) {
		struct io_uring_sqe *s = sqe;

		io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
		s->flags |= IOSQE_BUFFER_SELECT;
		s->buf_group = BGID;
		io_uring_sqe_set_data64(s, PX_UD(PX_RECV, fd));
	} else {
		cport_prep_recv_multishot(sqe, fd, BGID, 0);
		((struct cport_sqe *)sqe)->user_data = PX_UD(PX_RECV, fd);
	}
}

static void px_send(struct bn *b, int bid)
{
	struct px_buf *pb = &b->bufs[bid];
	char *p = b->mem + (size_t)bid * BUF_SIZE + pb->off;
	void *sqe = px_sqe(b);

	if (b->uring) {
		io_uring_prep_send(sqe, pb->fd, p, pb->len - pb->off,
				   MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, PX_UD(PX_SEND, bid));
	} else {
		cport_prep_send(sqe, pb->fd, p, pb->len - pb->off, 0);
		((struct cport_sqe *)sqe)->user_data = PX_UD(PX_SEND, bid);
	}
}

/* Buffer @bid back into the ring (published by px_publish()). */
static void px_put(struct bn *b, int bid, int *added)
{
	char *p = b->mem + (size_t)bid * BUF_SIZE;

	if (b->uring)
		io_uring_buf_ring_add(b->ubr, p, BUF_SIZE, bid,
				      io_uring_buf_ring_mask(b->nbufs),
				      *added);
	else
		cport_buf_ring_add(b->cbr, p, BUF_SIZE, bid,
				   cport_buf_ring_mask(b->nbufs), *added);
	(*added)++;
}

static void px_publish(struct bn *b, int added)
{
	if (!added)
		return;
	if (b->uring)
		io_uring_buf_ring_advance(b->ubr, added);
	else
		cport_buf_ring_advance(b->cbr, added);
}

static void px_handle(struct bn *b, const struct px_cqe *c, int *added,
		      int *quit)
{
	unsigned int kind = c->ud >> 56, arg = (uint32_t)c->ud;
	struct px_buf *pb;
	int one = 1;

	switch (kind) {
	case PX_QUIT:
		*quit = 1;
		break;
	case PX_ACCEPT:
		if (!c->more && c->res != -ECANCELED)
			px_accept(b);
		if (c->res < 0) {
			if (c->res != -ECANCELED)
				fprintf(stderr, "%s accept: %s\n", b->head,
					strerror(-c->res));
			break;
		}
		if (c->res >= MAX_CONNS * 2 + 64)
			bench_die(b->head, "descriptor %d", c->res);
		setsockopt(c->res, IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
		if (b->pollrecv) {
			struct cport_sqe *sqe = px_sqe(b);

			cport_prep_poll_multishot(sqe, c->res,
						  EPOLLIN | EPOLLRDHUP);
			sqe->user_data = PX_UDG(PX_POLL, c->res,
						b->gen[c->res]);
			break;
		}
		px_recv(b, c->res);
		break;
	case PX_POLL:
		/* Readable (or the end): one RECV, issued in this ENTER. */
		if (c->more && ((c->ud >> 32) & 0xffffff) ==
		    (b->gen[arg] & 0xffffff))
			px_recv(b, arg);
		break;
	case PX_RECV1:
		if (((c->ud >> 32) & 0xffffff) != (b->gen[arg] & 0xffffff)) {
			if (c->bid >= 0)
				px_put(b, c->bid, added);
			break;
		}
		if (c->bid >= 0 && c->res > 0) {
			pb = &b->bufs[c->bid];
			pb->fd = arg;
			pb->gen = b->gen[arg];
			pb->len = c->res;
			pb->off = 0;
			px_send(b, c->bid);
		} else if (c->res == -ENOBUFS) {
			b->rearm[b->nrearm++] = arg;
		} else if (c->res != -EAGAIN) {
			/* EOF or an error: remove the poll, then close. */
			struct cport_sqe *sqe = px_sqe(b);

			cport_prep_poll_remove(sqe, PX_UDG(PX_POLL, arg,
							   b->gen[arg]));
			sqe->user_data = PX_UD(PX_SEND, 0xffffffff);
			b->gen[arg]++;
			close(arg);
		}
		break;
	case PX_RECV:
		if (c->bid >= 0 && c->res > 0) {
			pb = &b->bufs[c->bid];
			pb->fd = arg;
			pb->gen = b->gen[arg];
			pb->len = c->res;
			pb->off = 0;
			px_send(b, c->bid);
		} else if (c->bid >= 0) {
			px_put(b, c->bid, added);
		}
		if (c->more)
			break;
		if (c->res == -ENOBUFS || c->res > 0) {
			b->rearm[b->nrearm++] = arg;
		} else {
			/* EOF or an error: sends in flight hold the socket. */
			b->gen[arg]++;
			close(arg);
		}
		break;
	case PX_SEND:
		if (arg == 0xffffffff)	/* a POLL_REMOVE */
			break;
		pb = &b->bufs[arg];
		if (c->res > 0 && pb->gen == b->gen[pb->fd]) {
			pb->off += c->res;
			if (pb->off < pb->len) {
				px_send(b, arg);
				break;
			}
		}
		px_put(b, arg, added);
		break;
	}
}

/* Take the CQEs there are; true once a quit was among them. */
static int px_reap(struct bn *b, int *added)
{
	struct px_cqe c;
	int quit = 0;

	if (b->uring) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		io_uring_for_each_cqe(&b->ring, head, cqe) {
			c.ud = cqe->user_data;
			c.res = cqe->res;
			c.more = !!(cqe->flags & IORING_CQE_F_MORE);
			c.bid = cqe->flags & IORING_CQE_F_BUFFER ?
				(int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) :
				-1;
			px_handle(b, &c, added, &quit);
			n++;
		}
		io_uring_cq_advance(&b->ring, n);
	} else {
		struct cport_cqe *cqe;

		while (!cport_peek_cqe(&b->port, &cqe)) {
			c.ud = cqe->user_data;
			c.res = cqe->res;
			c.more = !!(cqe->flags & CPORT_CQE_F_MORE);
			c.bid = cport_cqe_buffer_id(cqe);
			cport_cqe_seen(&b->port, cqe);
			px_handle(b, &c, added, &quit);
		}
	}
	return quit;
}

static void *px_thread(void *arg)
{
	struct bn *b = arg;
	unsigned int i;
	int ret, added, quit = 0;

	record_tid(b);
	while (!quit) {
		if (b->uring)
			ret = io_uring_submit_and_wait(&b->ring, 1);
		else
			ret = cport_submit_and_wait(&b->port, 1);
		if (ret < 0 && ret != -EINTR && ret != -ETIME)
			bench_die(b->head, "submit_and_wait: %s",
				  strerror(-ret));
		added = 0;
		quit = px_reap(b, &added);
		px_publish(b, added);
		/* RECVs that ran out of buffers, now that some are back. */
		for (i = 0; i < b->nrearm; i++)
			px_recv(b, b->rearm[i]);
		b->nrearm = 0;
	}
	return NULL;
}

static int px_start(struct bn *b)
{
	int ret, added = 0;
	unsigned int i;

	b->nbufs = pow2_ge(b->nconns < 64 ? 64 : b->nconns);
	b->mem = malloc((size_t)b->nbufs * BUF_SIZE);
	b->bufs = calloc(b->nbufs, sizeof(*b->bufs));
	b->gen = calloc(MAX_CONNS * 2 + 64, sizeof(*b->gen));
	b->rearm = calloc(MAX_CONNS * 2 + 64, sizeof(*b->rearm));
	if (!b->mem || !b->bufs || !b->gen || !b->rearm)
		bench_die(b->head, "out of memory");
	if (b->uring) {
		struct io_uring_params p = { 0 };
		struct io_uring_buf_reg reg = { 0 };

		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = pow2_ge(2 * b->nconns + 512);
#ifdef IORING_SETUP_COOP_TASKRUN
		p.flags |= IORING_SETUP_COOP_TASKRUN;
#endif
		ret = io_uring_queue_init_params(256, &b->ring, &p);
		if (ret == -EINVAL) {
			memset(&p, 0, sizeof(p));
			p.flags = IORING_SETUP_CQSIZE;
			p.cq_entries = pow2_ge(2 * b->nconns + 512);
			ret = io_uring_queue_init_params(256, &b->ring, &p);
		}
		if (ret < 0)
			bench_skip(b->head, "io_uring_queue_init: %s",
				   strerror(-ret));
		b->ring_sz = b->nbufs * sizeof(struct io_uring_buf);
		b->ubr = mmap(NULL, b->ring_sz, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->ubr == MAP_FAILED)
			bench_die(b->head, "mmap: %s", strerror(errno));
		io_uring_buf_ring_init(b->ubr);
		reg.ring_addr = (uint64_t)(uintptr_t)b->ubr;
		reg.ring_entries = b->nbufs;
		reg.bgid = BGID;
		ret = io_uring_register_buf_ring(&b->ring, &reg, 0);
		if (ret < 0)
			bench_skip(b->head, "io_uring_register_buf_ring: %s",
				   strerror(-ret));
	} else {
		struct cport_params p;

		memset(&p, 0, sizeof(p));
		p.flags = CPORT_SETUP_CQSIZE;
		/* a slot per RECV, per SEND, and the ACCEPT and the quit */
		p.cq_entries = pow2_ge(2 * b->nconns + 512);
		ret = cport_queue_init_params(256, &b->port, &p);
		if (ret < 0)
			bench_skip(b->head, "%s: %s", CPORT_DEVICE_PATH,
				   strerror(-ret));
		if (!(b->port.features & CPORT_FEAT_NET))
			bench_skip(b->head, "no CPORT_FEAT_NET in this module");
		b->cbr = cport_setup_buf_ring(&b->port, b->nbufs, BGID, &ret);
		if (!b->cbr)
			bench_die(b->head, "cport_setup_buf_ring: %s",
				  strerror(-ret));
	}
	for (i = 0; i < b->nbufs; i++)
		px_put(b, i, &added);
	px_publish(b, added);
	px_accept(b);
	if (pthread_create(&b->st[0], NULL, px_thread, b))
		bench_die(b->head, "pthread_create failed");
	return 0;
}

static void px_stop(struct bn *b)
{
	if (b->uring) {
		struct io_uring_sqe *sqe;
		struct io_uring r2;

		/* Wake the server with a NOP from another ring: MSG_RING. */
		if (io_uring_queue_init(2, &r2, 0) == 0) {
			sqe = io_uring_get_sqe(&r2);
			io_uring_prep_msg_ring(sqe, b->ring.ring_fd, 0,
					       PX_UD(PX_QUIT, 0), 0);
			io_uring_submit_and_wait(&r2, 1);
			io_uring_queue_exit(&r2);
		}
	} else {
		cport_post(&b->port, 0, PX_UD(PX_QUIT, 0));
	}
	pthread_join(b->st[0], NULL);
	if (b->uring) {
		io_uring_queue_exit(&b->ring);
		munmap(b->ubr, b->ring_sz);
	} else {
		cport_free_buf_ring(&b->port, b->cbr, b->nbufs, BGID);
		cport_queue_exit(&b->port);
	}
}

static int cport_px_start(struct bn *b)
{
	b->uring = 0;
	return px_start(b);
}

/* Multishot POLL_ADD per connection, then a one-shot RECV issued inline. */
static int cport_poll_start(struct bn *b)
{
	b->uring = 0;
	b->pollrecv = 1;
	return px_start(b);
}

static int uring_px_start(struct bn *b)
{
	b->uring = 1;
	return px_start(b);
}

/* ---- epoll: one thread, or a pool of threads on one instance ----------- */

static int ep_ctl(struct bn *b, int op, int fd, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.fd = fd };

	return epoll_ctl(b->ep, op, fd, &e);
}

/* Accept what is pending. */
static void ep_accept(struct bn *b, uint32_t conn_events)
{
	int fd, one = 1;

	for (;;) {
		fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ep_ctl(b, EPOLL_CTL_ADD, fd, conn_events))
			bench_die(b->head, "EPOLL_CTL_ADD: %s",
				  strerror(errno));
	}
}

/* Echo what the socket holds; false once it is closed. */
static int ep_echo(int fd)
{
	char buf[BUF_SIZE];
	ssize_t n, w, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			break;
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EAGAIN) {
				/* The peer waits for its echo: rare. */
				w = 0;
				sched_yield();
				continue;
			}
			if (w < 0)
				goto closed;
		}
		if (n < (ssize_t)sizeof(buf))
			return 1;
	}
closed:
	close(fd);
	return 0;
}

static void *ep_thread(void *arg)
{
	struct bn *b = arg;
	struct epoll_event ev[64];
	int i, n;

	record_tid(b);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		n = epoll_wait(b->ep, ev, 64, 100);
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == b->lfd)
				ep_accept(b, EPOLLIN);
			else
				ep_echo(ev[i].data.fd);
		}
	}
	return NULL;
}

static void *epp_thread(void *arg)
{
	struct bn *b = arg;
	struct epoll_event ev[ECHO_BATCH];
	int i, n;

	record_tid(b);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		n = epoll_wait(b->ep, ev, ECHO_BATCH, 100);
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == b->lfd) {
				ep_accept(b, EPOLLIN | EPOLLONESHOT);
				ep_ctl(b, EPOLL_CTL_MOD, fd,
				       EPOLLIN | EPOLLONESHOT);
			} else if (ep_echo(fd)) {
				ep_ctl(b, EPOLL_CTL_MOD, fd,
				       EPOLLIN | EPOLLONESHOT);
			}
		}
	}
	return NULL;
}

static int ep_start_n(struct bn *b, void *(*fn)(void *), unsigned int n,
		      uint32_t lev)
{
	unsigned int i;

	fcntl(b->lfd, F_SETFL, O_NONBLOCK);
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	if (b->ep < 0 || ep_ctl(b, EPOLL_CTL_ADD, b->lfd, lev))
		bench_die(b->head, "epoll: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (pthread_create(&b->st[i], NULL, fn, b))
			bench_die(b->head, "pthread_create failed");
	return 0;
}

static int ep_start(struct bn *b)
{
	b->nthreads = 1;
	return ep_start_n(b, ep_thread, 1, EPOLLIN);
}

static int epp_start(struct bn *b)
{
	return ep_start_n(b, epp_thread, b->nthreads, EPOLLIN | EPOLLONESHOT);
}

static void ep_stop(struct bn *b)
{
	unsigned int i;

	atomic_store(&b->stop, 1);
	for (i = 0; i < b->nthreads; i++)
		pthread_join(b->st[i], NULL);
	close(b->ep);
}

/* ---- the thread-pool echo server of examples/echo-server.c ------------- */

static int pool_start(struct bn *b)
{
	unsigned int i;
	int ret;

	memset(&b->srv, 0, sizeof(b->srv));
	b->srv.lfd = b->lfd;
	b->srv.nthreads = b->nthreads;
	b->srv.concurrency = b->conc;
	b->srv.nbufs = b->nconns < 64 ? 64 : b->nconns;
	b->srv.bufsz = BUF_SIZE;
	b->srv.max_conns = b->nconns;
	ret = echo_srv_start(&b->srv);
	if (ret == -EOPNOTSUPP)
		bench_skip(b->head, "no CPORT_FEAT_NET in this module");
	if (ret < 0)
		bench_skip(b->head, "echo server: %s", strerror(-ret));
	for (i = 0; i < b->nthreads; i++)
		b->tids[i] = b->srv.tids[i];
	b->ntids = b->nthreads;
	return 0;
}

static void pool_stop(struct bn *b)
{
	b->getq_timeouts = atomic_load(&b->srv.getq_timeouts);
	echo_srv_stop(&b->srv);
	if (b->srv.errors)
		bench_die(b->head, "the echo server saw %lu errors",
			  b->srv.errors);
}

static const struct impl impls[] = {
	{ "cport", cport_px_start, px_stop },
	{ "io_uring", uring_px_start, px_stop },
	{ "cport-poll", cport_poll_start, px_stop },
	{ "epoll", ep_start, ep_stop },
	{ "cport-pool", pool_start, pool_stop },
	{ "epoll-pool", epp_start, ep_stop },
};

/* ---- the load generator ----------------------------------------------- */

static void cl_fill(char *p, unsigned int size, uint32_t seq, unsigned int i)
{
	unsigned int k;

	for (k = 0; k < size; k++)
		p[k] = (char)(seq + k * 7 + i * 131);
}

static void cl_send(struct bn *b, struct cl_conn *c, unsigned int idx)
{
	char out[MAX_SIZE];
	ssize_t n;

	cl_fill(out, b->size, c->seq, idx);
	n = write(c->fd, out, b->size);
	if (n != (ssize_t)b->size)
		bench_die(b->head, "client write: %zd %s", n, strerror(errno));
	c->got = 0;
}

static void *cl_thread(void *arg)
{
	struct cl_thread *t = arg;
	struct bn *b = t->b;
	struct epoll_event ev[64];
	char in[MAX_SIZE], want[MAX_SIZE];
	unsigned int i, idx;
	uint64_t rounds = 0;
	struct cl_conn *c;
	ssize_t n;
	int k, nev;

	atomic_store(&t->tid, syscall(SYS_gettid));

	for (i = 0; i < t->n; i++)
		cl_send(b, &b->cc[t->first + i], t->first + i);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		nev = epoll_wait(t->ep, ev, 64, 100);
		for (k = 0; k < nev; k++) {
			idx = ev[k].data.u32;
			c = &b->cc[idx];
			n = read(c->fd, in + c->got, b->size - c->got);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0)
				bench_die(b->head, "client read: %zd %s", n,
					  n ? strerror(errno) : "EOF");
			/* Check what came against what was sent. */
			cl_fill(want, b->size, c->seq, idx);
			if (memcmp(in + c->got, want + c->got, n))
				bench_die(b->head, "connection %u: answer %u "
					  "is not the request", idx, c->seq);
			c->got += n;
			if (c->got < b->size)
				continue;
			c->seq++;
			rounds++;
			atomic_store_explicit(&t->rounds, rounds,
					      memory_order_relaxed);
			cl_send(b, c, idx);
		}
	}
	return NULL;
}

static void clients_connect(struct bn *b)
{
	unsigned int i, per = (b->nconns + b->nclients - 1) / b->nclients;
	struct cl_thread *t;
	int fd;

	b->cc = calloc(b->nconns, sizeof(*b->cc));
	if (!b->cc)
		bench_die(b->head, "out of memory");
	for (i = 0; i < b->nclients; i++) {
		t = &b->cl[i];
		t->b = b;
		t->first = i * per;
		t->n = t->first >= b->nconns ? 0 :
		       (b->nconns - t->first < per ? b->nconns - t->first :
			per);
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		if (t->ep < 0)
			bench_die(b->head, "epoll_create1: %s",
				  strerror(errno));
	}
	for (i = 0; i < b->nconns; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		fd = net_connect(&b->addr);
		if (fd < 0)
			bench_die(b->head, "connect %u: %s", i,
				  strerror(-fd));
		fcntl(fd, F_SETFL, O_NONBLOCK);
		b->cc[i].fd = fd;
		t = &b->cl[i / per];
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &e))
			bench_die(b->head, "epoll_ctl: %s", strerror(errno));
	}
}

static uint64_t rounds(struct bn *b)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < b->nclients; i++)
		sum += atomic_load_explicit(&b->cl[i].rounds,
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
		"usage: %s -i cport|io_uring|epoll|cport-pool|epoll-pool|"
		"cport-poll\n"
		"          [-t MS] [-c CONNS] [-s SIZE] [-w THREADS] "
		"[-k CONCURRENCY] [-C CLIENT_THREADS]\n", prog);
	exit(1);
}

int main(int argc, char **argv)
{
	static struct bn b = { .ms = 1000, .nconns = 64, .size = 64,
			       .nthreads = 4, .nclients = 1 };
	uint64_t r0, r1, t0, t1, c0, c1, s0, s1, v0, v1, l0, l1, m0, m1;
	uint64_t d0, d1;
	pid_t ctids[MAX_CLIENTS];
	const char *name = NULL;
	unsigned int i;
	int c;

	while ((c = getopt(argc, argv, "i:t:c:s:w:k:C:h")) != -1) {
		switch (c) {
		case 'i':
			name = optarg;
			break;
		case 't':
			b.ms = bench_atol(argv[0], optarg);
			break;
		case 'c':
			b.nconns = bench_atol(argv[0], optarg);
			break;
		case 's':
			b.size = bench_atol(argv[0], optarg);
			break;
		case 'w':
			b.nthreads = bench_atol(argv[0], optarg);
			break;
		case 'k':
			b.conc = bench_atol(argv[0], optarg);
			break;
		case 'C':
			b.nclients = bench_atol(argv[0], optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!name || b.nconns > MAX_CONNS || b.size > MAX_SIZE ||
	    b.nthreads > MAX_THREADS || b.nclients > MAX_CLIENTS ||
	    b.nclients > b.nconns)
		usage(argv[0]);
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (!strcmp(name, impls[i].name))
			b.impl = &impls[i];
	if (!b.impl)
		usage(argv[0]);
	if (b.impl->start == cport_px_start ||
	    b.impl->start == uring_px_start ||
	    b.impl->start == cport_poll_start)
		b.nthreads = 1;
	snprintf(b.head, sizeof(b.head), "bench=net-echo impl=%s conns=%u "
		 "size=%u threads=%u", name, b.nconns, b.size,
		 b.impl->start == ep_start ? 1 : b.nthreads);
	signal(SIGPIPE, SIG_IGN);
	net_nofile(2 * MAX_CONNS + 256);

	b.lfd = net_listen(0, 4096, &b.addr);
	if (b.lfd < 0)
		bench_die(b.head, "listen: %s", strerror(-b.lfd));
	b.impl->start(&b);
	clients_connect(&b);
	for (i = 0; i < b.nclients; i++)
		if (pthread_create(&b.cl[i].t, NULL, cl_thread, &b.cl[i]))
			bench_die(b.head, "pthread_create failed");

	sleep_ms(BENCH_WARMUP_MS + b.nconns / 4);
	for (i = 0; i < b.nclients; i++)
		ctids[i] = atomic_load(&b.cl[i].tid);
	c0 = tid_switches(&b, b.tids, b.ntids);
	s0 = sys_switches();
	v0 = tid_cpu_ns(&b, b.tids, b.ntids);
	l0 = tid_cpu_ns(&b, ctids, b.nclients);
	m0 = sys_busy_ns();
	d0 = sys_delayed_acks();
	r0 = rounds(&b);
	t0 = mono_ns();
	sleep_ms(b.ms);
	c1 = tid_switches(&b, b.tids, b.ntids);
	s1 = sys_switches();
	v1 = tid_cpu_ns(&b, b.tids, b.ntids);
	l1 = tid_cpu_ns(&b, ctids, b.nclients);
	m1 = sys_busy_ns();
	d1 = sys_delayed_acks();
	r1 = rounds(&b);
	t1 = mono_ns();

	atomic_store(&b.stop, 1);
	for (i = 0; i < b.nclients; i++)
		pthread_join(b.cl[i].t, NULL);
	for (i = 0; i < b.nconns; i++)
		close(b.cc[i].fd);
	b.impl->stop(&b);

	if (r1 == r0)
		bench_die(b.head, "no round trip in %u ms", b.ms);
	printf("%s rounds=%llu secs=%.3f rps=%.0f us_per_rt=%.2f cs=%llu "
	       "cs_per_req=%.3f sys_cs_per_req=%.3f getq_timeouts=%lu "
	       "srv_us_per_req=%.2f cl_us_per_req=%.2f sys_us_per_req=%.2f "
	       "dacks_per_req=%.4f\n",
	       b.head, (unsigned long long)(r1 - r0),
	       (t1 - t0) / 1e9, (r1 - r0) * 1e9 / (t1 - t0),
	       (double)b.nconns * (t1 - t0) / 1e3 / (r1 - r0),
	       (unsigned long long)(c1 - c0),
	       (double)(c1 - c0) / (r1 - r0), (double)(s1 - s0) / (r1 - r0),
	       b.getq_timeouts, (v1 - v0) / 1e3 / (r1 - r0),
	       (l1 - l0) / 1e3 / (r1 - r0), (m1 - m0) / 1e3 / (r1 - r0),
	       (double)(d1 - d0) / (r1 - r0));
	return 0;
}
