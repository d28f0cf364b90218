// SPDX-License-Identifier: MIT
/*
 * echo-server: a TCP echo server in the IOCP style, on one port.
 *
 * A pool of threads waits in cport_get_queued_completions() on one port
 * whose concurrency value bounds how many of them run at once. The
 * sockets are driven by completions only, no readiness:
 *
 *   - one multishot CPORT_OP_ACCEPT on the listening socket: a CQE per
 *     new connection;
 *   - per connection one multishot CPORT_OP_RECV with buffer select: the
 *     kernel takes a buffer from a provided buffer ring (group 0) only
 *     when data arrives, so an idle connection holds no buffer; a CQE per
 *     arrival names the buffer;
 *   - a CPORT_OP_SEND of what arrived, from that same buffer (again for
 *     the rest if it was short); when it is all sent the buffer goes back
 *     to the ring.
 *
 * End of file (a terminal RECV CQE with res 0) or an error closes the
 * connection with CPORT_OP_CLOSE once its sends are done. A RECV that
 * found the ring empty ends with -ENOBUFS (the data stays in the socket):
 * it is armed again once buffers came back.
 *
 * Order. The CQEs of one connection may be taken by two threads at once,
 * which would send its data out of order. But the kernel takes the ring's
 * buffers strictly in ring order, and every buffer it takes comes back in
 * a CQE: the server knows at which ring position it put each buffer, and
 * echoes arrivals in that order (an arrival that overtook an earlier one
 * waits for it). So bytes go back in the order they came.
 *
 * The SQ and the buffer ring are single-producer: the threads share them
 * under one mutex, and submit once per batch of CQEs.
 *
 * Usage:
 *   echo-server [-p PORT] [-w THREADS] [-c CONCURRENCY] [-n BUFFERS]
 *               [-s BUFSIZE]                serve until killed
 *   echo-server -d                          demo: the server, and clients
 *                                           in this process that check
 *                                           every byte (make demo)
 *   echo-server -C PORT                     client: each line of stdin to
 *                                           127.0.0.1:PORT, the echo to
 *                                           stdout
 *
 * tools/bench/bench-net includes this file (ECHO_SERVER_NO_MAIN) to
 * measure this very server.
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "common.h"
#include "net.h"

#define ECHO_BGID	0
#define ECHO_BATCH	32
#ifndef ECHO_GETQ_NS
#define ECHO_GETQ_NS	200000000LL	/* longest wait for a CQE: 200 ms */
#endif

/* user_data: kind in the top byte, a descriptor or a buffer id below */
#define UD_KIND(ud)	((ud) >> 56)
#define UD_ARG(ud)	((ud) & 0xffffffffULL)
#define UD(kind, arg)	(((uint64_t)(kind) << 56) | (uint32_t)(arg))
enum { K_QUIT, K_ACCEPT, K_RECV, K_SEND, K_CLOSE };

/* The server's side of a connection; under echo_srv.lock. */
struct echo_conn {
	int fd;
	int recv_live;		/* its multishot RECV has not ended */
	int sending;		/* a SEND is in flight */
	int held;		/* buffers holding its data */
	int eof;		/* no more data will come: close when idle */
	int q_head, q_tail;	/* buffers to send: a list through next */
};

/* A provided buffer; under echo_srv.lock. */
struct echo_buf {
	struct echo_conn *c;	/* whose data it holds, while it does */
	uint32_t pos;		/* ring position it was last added at */
	unsigned int len, off;	/* bytes held, bytes sent */
	int next;		/* next in c's send queue, -1 */
	int arrived;		/* its RECV CQE was taken, not yet echoed */
};

struct echo_srv {
	struct cport port;
	pthread_mutex_t lock;	/* SQ, ring, conns, bufs, counters */
	int lfd;
	unsigned int nthreads, concurrency, nbufs, bufsz, max_conns;

	struct cport_buf_ring *br;
	char *mem;
	struct echo_buf *bufs;
	int *slot_bid;		/* bid at ring slot pos & mask */
	uint32_t next_pos;	/* next ring position to echo */
	uint32_t added;		/* entries added to the ring so far */
	int recv_starved;	/* RECVs ended -ENOBUFS: list through rearm */

	struct echo_conn **conns;	/* by descriptor */
	unsigned int conns_sz;
	int *rearm;			/* descriptors to arm RECV again */
	unsigned int nrearm;

	pthread_t *threads;
	pid_t *tids;			/* for per-thread statistics */
	atomic_uint started, running;
	atomic_ulong getq_timeouts;	/* waits that ended by the timeout */

	/* statistics */
	unsigned long accepted, closed, arrivals, bytes, enobufs, errors;
};

static void echo_err(struct echo_srv *s, const char *what, int err)
{
	s->errors++;
	fprintf(stderr, "echo-server: %s: %s\n", what, strerror(-err));
}

static struct cport_sqe *echo_sqe(struct echo_srv *s)
{
	struct cport_sqe *sqe = cport_get_sqe(&s->port);

	if (!sqe) {
		cport_submit(&s->port);
		sqe = cport_get_sqe(&s->port);
	}
	return sqe;
}

static void echo_arm_recv(struct echo_srv *s, struct echo_conn *c)
{
	struct cport_sqe *sqe = echo_sqe(s);

	cport_prep_recv_multishot(sqe, c->fd, ECHO_BGID, 0);
	sqe->user_data = UD(K_RECV, c->fd);
	c->recv_live = 1;
}

static void echo_arm_accept(struct echo_srv *s)
{
	struct cport_sqe *sqe = echo_sqe(s);

	cport_prep_multishot_accept(sqe, s->lfd, SOCK_CLOEXEC);
	sqe->user_data = UD(K_ACCEPT, 0);
}

/* Give buffer @bid back to the kernel. */
static void echo_buf_put(struct echo_srv *s, int bid)
{
	int mask = cport_buf_ring_mask(s->nbufs);

	if (s->bufs[bid].c)
		s->bufs[bid].c->held--;
	s->bufs[bid].c = NULL;
	s->bufs[bid].pos = s->added;
	s->slot_bid[s->added & mask] = bid;
	cport_buf_ring_add(s->br, s->mem + (size_t)bid * s->bufsz, s->bufsz,
			   bid, mask, 0);
	cport_buf_ring_advance(s->br, 1);
	s->added++;
}

static void echo_send(struct echo_srv *s, struct echo_conn *c, int bid)
{
	struct echo_buf *b = &s->bufs[bid];
	struct cport_sqe *sqe = echo_sqe(s);

	cport_prep_send(sqe, c->fd, s->mem + (size_t)bid * s->bufsz + b->off,
			b->len - b->off, 0);
	sqe->user_data = UD(K_SEND, bid);
	c->sending = 1;
}

/* The connection has no op left: close it; its descriptor may be reused. */
static void echo_close_if_idle(struct echo_srv *s, struct echo_conn *c)
{
	struct cport_sqe *sqe;

	if (c->recv_live || c->held)
		return;
	sqe = echo_sqe(s);
	cport_prep_close(sqe, c->fd);
	sqe->user_data = UD(K_CLOSE, c->fd);
	s->conns[c->fd] = NULL;
	s->closed++;
	free(c);
}

/* Start the next queued send of @c, or close it if it is done. */
static void echo_next_send(struct echo_srv *s, struct echo_conn *c)
{
	int bid = c->q_head;

	if (c->sending)
		return;
	if (bid < 0) {
		if (c->eof)
			echo_close_if_idle(s, c);
		return;
	}
	c->q_head = s->bufs[bid].next;
	if (c->q_head < 0)
		c->q_tail = -1;
	echo_send(s, c, bid);
}

/* Echo the arrivals in ring order, as far as they have been taken. */
static void echo_drain_arrivals(struct echo_srv *s)
{
	int mask = cport_buf_ring_mask(s->nbufs);

	while (s->next_pos != s->added) {
		int bid = s->slot_bid[s->next_pos & mask];
		struct echo_buf *b = &s->bufs[bid];
		struct echo_conn *c = b->c;

		if (!b->arrived || b->pos != s->next_pos)
			break;
		b->arrived = 0;
		s->next_pos++;
		if (!c) {
			/* Its connection is gone: only the position counts. */
			echo_buf_put(s, bid);
			continue;
		}
		b->next = -1;
		if (c->q_tail >= 0)
			s->bufs[c->q_tail].next = bid;
		else
			c->q_head = bid;
		c->q_tail = bid;
		echo_next_send(s, c);
	}
}

static void echo_on_accept(struct echo_srv *s, const struct cport_cqe *cqe)
{
	struct echo_conn *c;
	int one = 1;

	if (!(cqe->flags & CPORT_CQE_F_MORE)) {
		if (cqe->res != -ECANCELED)
			echo_arm_accept(s);
		if (cqe->res < 0 && cqe->res != -ECANCELED)
			echo_err(s, "ACCEPT ended", cqe->res);
	}
	if (cqe->res < 0)
		return;
	if ((unsigned int)cqe->res >= s->conns_sz || s->conns[cqe->res]) {
		echo_err(s, "ACCEPT: descriptor out of range", -EMFILE);
		close(cqe->res);
		return;
	}
	setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cqe->res);
		return;
	}
	c->fd = cqe->res;
	c->q_head = c->q_tail = -1;
	s->conns[c->fd] = c;
	s->accepted++;
	echo_arm_recv(s, c);
}

static void echo_on_recv(struct echo_srv *s, const struct cport_cqe *cqe)
{
	struct echo_conn *c = s->conns[UD_ARG(cqe->user_data)];
	int bid = cport_cqe_buffer_id(cqe);

	if (bid >= 0 && (unsigned int)bid < s->nbufs) {
		struct echo_buf *b = &s->bufs[bid];

		/* Even without a connection it must pass the sequencer. */
		b->arrived = 1;
		b->c = c;
		if (!c)
			return;
		c->held++;
		b->len = cqe->res > 0 ? cqe->res : 0;
		b->off = 0;
		s->arrivals++;
		s->bytes += b->len;
	}
	if (!c || cqe->flags & CPORT_CQE_F_MORE)
		return;
	/* The multishot RECV ended. */
	c->recv_live = 0;
	if (cqe->res == -ENOBUFS) {
		/* Arm it again once a buffer comes back (echo_pass). */
		s->enobufs++;
		s->rearm[s->nrearm++] = c->fd;
	} else if (cqe->res > 0) {
		echo_arm_recv(s, c);
	} else {
		if (cqe->res < 0 && cqe->res != -ECONNRESET &&
		    cqe->res != -ECANCELED)
			echo_err(s, "RECV", cqe->res);
		c->eof = 1;
		echo_close_if_idle(s, c);
	}
}

static void echo_on_send(struct echo_srv *s, const struct cport_cqe *cqe)
{
	int bid = UD_ARG(cqe->user_data);
	struct echo_buf *b = &s->bufs[bid];
	struct echo_conn *c = b->c;

	c->sending = 0;
	if (cqe->res < 0) {
		if (cqe->res != -EPIPE && cqe->res != -ECONNRESET)
			echo_err(s, "SEND", cqe->res);
		/* Drop what is queued; make the RECV end. */
		c->eof = 1;
		shutdown(c->fd, SHUT_RDWR);
		echo_buf_put(s, bid);
		while (c->q_head >= 0) {
			int next = s->bufs[c->q_head].next;

			echo_buf_put(s, c->q_head);
			c->q_head = next;
		}
		c->q_tail = -1;
		echo_close_if_idle(s, c);
		return;
	}
	b->off += cqe->res;
	if (b->off < b->len) {
		echo_send(s, c, bid);
		return;
	}
	echo_buf_put(s, bid);
	echo_next_send(s, c);
}

/* One batch of CQEs, under the lock; true if the thread must quit. */
static int echo_pass(struct echo_srv *s, const struct cport_cqe *cqes, int n)
{
	int i, quit = 0, ret;
	unsigned int j, head;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n; i++) {
		const struct cport_cqe *cqe = &cqes[i];

		switch (UD_KIND(cqe->user_data)) {
		case K_QUIT:
			/* One quit per thread: pass on the others. */
			if (quit++)
				cport_post(&s->port, 0, UD(K_QUIT, 0));
			break;
		case K_ACCEPT:
			echo_on_accept(s, cqe);
			break;
		case K_RECV:
			echo_on_recv(s, cqe);
			break;
		case K_SEND:
			echo_on_send(s, cqe);
			break;
		case K_CLOSE:
			if (cqe->res < 0)
				echo_err(s, "CLOSE", cqe->res);
			break;
		}
	}
	echo_drain_arrivals(s);
	/* Connections whose RECV ran out of buffers, once there are some. */
	head = __atomic_load_n(&s->br->head, __ATOMIC_ACQUIRE);
	if (s->nrearm && head != s->added) {
		for (j = 0; j < s->nrearm; j++) {
			struct echo_conn *c = s->conns[s->rearm[j]];

			if (c && !c->eof && !c->recv_live)
				echo_arm_recv(s, c);
		}
		s->nrearm = 0;
	}
	ret = cport_submit(&s->port);
	if (ret < 0)
		echo_err(s, "cport_submit", ret);
	pthread_mutex_unlock(&s->lock);
	return quit;
}

static void *echo_thread(void *arg)
{
	struct echo_srv *s = arg;
	struct cport_cqe cqes[ECHO_BATCH];
	unsigned int me = atomic_fetch_add(&s->started, 1);
	int n;

	s->tids[me] = syscall(SYS_gettid);
	atomic_fetch_add(&s->running, 1);
	for (;;) {
		/*
		 * Not CPORT_INFINITE: a guard. The first socket module lost
		 * a GETQ wake-up now and then (a waiter handed a slot while
		 * it ran task items queued again holding it; fixed in the
		 * module). A wait that runs out is counted (getq_timeouts in
		 * bench-net): anything but 0 is a bug.
		 */
		n = cport_get_queued_completions(&s->port, cqes, ECHO_BATCH,
						 ECHO_GETQ_NS);
		if (n == -ETIME) {
			atomic_fetch_add(&s->getq_timeouts, 1);
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n < 0) {
			echo_err(s, "cport_get_queued_completions", n);
			break;
		}
		if (echo_pass(s, cqes, n))
			break;
	}
	cport_pool_leave(&s->port);
	return NULL;
}

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Set up the port (concurrency @s->concurrency, a CQ for @s->max_conns
 * connections), the buffer ring, and start the threads serving @s->lfd.
 * 0 or -errno; -EOPNOTSUPP: the module has no socket ops.
 */
static int echo_srv_start(struct echo_srv *s)
{
	struct cport_params p;
	unsigned int i;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	/* A slot per RECV, per SEND, the ACCEPT, the quits, the closes. */
	p.cq_entries = pow2_at_least(3 * s->max_conns + s->nthreads + 512);
	p.concurrency = s->concurrency;
	ret = cport_queue_init_params(256, &s->port, &p);
	if (ret < 0)
		return ret;
	if (!(s->port.features & CPORT_FEAT_NET)) {
		cport_queue_exit(&s->port);
		return -EOPNOTSUPP;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->nbufs = pow2_at_least(s->nbufs);
	s->br = cport_setup_buf_ring(&s->port, s->nbufs, ECHO_BGID, &ret);
	if (!s->br)
		goto err_port;
	ret = -ENOMEM;
	s->mem = malloc((size_t)s->nbufs * s->bufsz);
	s->bufs = calloc(s->nbufs, sizeof(*s->bufs));
	s->slot_bid = calloc(s->nbufs, sizeof(*s->slot_bid));
	/* Indexed by descriptor: as many as the process may open. */
	s->conns_sz = net_nofile(2 * s->max_conns + 256);
	s->conns = calloc(s->conns_sz, sizeof(*s->conns));
	s->rearm = calloc(s->conns_sz, sizeof(*s->rearm));
	s->threads = calloc(s->nthreads, sizeof(*s->threads));
	s->tids = calloc(s->nthreads, sizeof(*s->tids));
	if (!s->mem || !s->bufs || !s->slot_bid || !s->conns || !s->rearm ||
	    !s->threads || !s->tids)
		goto err_port;
	for (i = 0; i < s->nbufs; i++)
		echo_buf_put(s, i);
	echo_arm_accept(s);
	ret = cport_submit(&s->port);
	if (ret < 0)
		goto err_port;
	for (i = 0; i < s->nthreads; i++)
		if (pthread_create(&s->threads[i], NULL, echo_thread, s)) {
			ret = -EAGAIN;
			goto err_port;
		}
	while (atomic_load(&s->running) < s->nthreads)
		usleep(1000);
	return 0;

err_port:
	cport_queue_exit(&s->port);
	return ret;
}

/* Stop the threads (a quit each), close the port and every connection. */
static void echo_srv_stop(struct echo_srv *s)
{
	unsigned int i;

	for (i = 0; i < s->nthreads; i++) {
		int ret;

		while ((ret = cport_post(&s->port, 0, UD(K_QUIT, 0))) ==
		       -EAGAIN)
			usleep(1000);
		if (ret < 0)
			echo_err(s, "cport_post", ret);
	}
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	cport_free_buf_ring(&s->port, s->br, s->nbufs, ECHO_BGID);
	cport_queue_exit(&s->port);
	for (i = 0; i < s->conns_sz; i++)
		if (s->conns[i]) {
			close(s->conns[i]->fd);
			free(s->conns[i]);
		}
	free(s->mem);
	free(s->bufs);
	free(s->slot_bid);
	free(s->conns);
	free(s->rearm);
	free(s->threads);
	free(s->tids);
}

#ifndef ECHO_SERVER_NO_MAIN

#define DEMO_CLIENTS	8
#define DEMO_ROUNDS	50
#define DEMO_BIG	(64 * 1024)	/* one message of many buffers */

struct demo_client {
	struct sockaddr_in addr;
	int idx;
	int ok;
	unsigned long bytes;
};

static int io_all(int fd, void *buf, size_t len, int wr)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = wr ? write(fd, p, len) : read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Round trips of growing size, then one message of DEMO_BIG bytes sent by
 * a second thread while this one reads it back (it crosses many buffers
 * and many CQEs, which several threads take), then EOF.
 */
struct big_writer {
	int fd;
	char *buf;
};

static void *demo_big_writer(void *arg)
{
	struct big_writer *w = arg;

	io_all(w->fd, w->buf, DEMO_BIG, 1);
	return NULL;
}

static void *demo_client(void *arg)
{
	struct demo_client *cl = arg;
	static char big_out[DEMO_CLIENTS][DEMO_BIG], big_in[DEMO_CLIENTS][DEMO_BIG];
	char out[1024], in[1024];
	struct big_writer w;
	pthread_t wt;
	int fd, r, i;
	size_t len;

	fd = net_connect(&cl->addr);
	if (fd < 0)
		return NULL;
	for (r = 0; r < DEMO_ROUNDS; r++) {
		len = 1 + (r * 37 + cl->idx * 11) % sizeof(out);
		for (i = 0; i < (int)len; i++)
			out[i] = (char)(r * 7 + i + cl->idx);
		if (io_all(fd, out, len, 1) || io_all(fd, in, len, 0) ||
		    memcmp(in, out, len))
			goto out;
		cl->bytes += len;
	}
	for (i = 0; i < DEMO_BIG; i++)
		big_out[cl->idx][i] = (char)(i * 13 + i / 251 + cl->idx);
	w.fd = fd;
	w.buf = big_out[cl->idx];
	pthread_create(&wt, NULL, demo_big_writer, &w);
	r = io_all(fd, big_in[cl->idx], DEMO_BIG, 0);
	pthread_join(wt, NULL);
	if (r || memcmp(big_in[cl->idx], big_out[cl->idx], DEMO_BIG))
		goto out;
	cl->bytes += DEMO_BIG;
	/* EOF: the server closes its side, our read sees 0. */
	shutdown(fd, SHUT_WR);
	cl->ok = read(fd, in, 1) == 0;
out:
	close(fd);
	return NULL;
}

/* -C: a line client for a server started by hand. */
static int line_client(unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(port),
	};
	char line[4096], back[4096];
	int fd = net_connect(&addr);
	size_t len;

	if (fd < 0) {
		fprintf(stderr, "echo-server: connect to port %u: %s\n", port,
			strerror(-fd));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		len = strlen(line);
		if (io_all(fd, line, len, 1) || io_all(fd, back, len, 0))
			return 1;
		fwrite(back, 1, len, stdout);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

static int demo(struct echo_srv *s)
{
	struct demo_client cl[DEMO_CLIENTS];
	pthread_t t[DEMO_CLIENTS];
	unsigned long total = 0;
	int i, ok = 0;

	ex_say("main", "%u threads in cport_get_queued_completions(), "
	       "concurrency %u, %u buffers of %u bytes in the ring",
	       s->nthreads, cport_concurrency(&s->port), s->nbufs, s->bufsz);
	ex_say("main", "%d clients: %d round trips of 1..1024 bytes, one "
	       "%d-byte message, then EOF", DEMO_CLIENTS, DEMO_ROUNDS,
	       DEMO_BIG);
	for (i = 0; i < DEMO_CLIENTS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].idx = i;
		if (getsockname(s->lfd, (struct sockaddr *)&cl[i].addr,
				&(socklen_t){ sizeof(cl[i].addr) }))
			return 1;
		pthread_create(&t[i], NULL, demo_client, &cl[i]);
	}
	for (i = 0; i < DEMO_CLIENTS; i++) {
		pthread_join(t[i], NULL);
		ok += cl[i].ok;
		total += cl[i].bytes;
	}
	/* The last CLOSE may still be in flight: give it a moment. */
	for (i = 0; i < 100; i++) {
		pthread_mutex_lock(&s->lock);
		if (s->closed == DEMO_CLIENTS) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);
		usleep(10000);
	}
	pthread_mutex_lock(&s->lock);
	ex_say("main", "%d of %d clients got every byte back in order "
	       "(%lu bytes) and saw the server close", ok, DEMO_CLIENTS,
	       total);
	ex_say("server", "accepted %lu, closed %lu, %lu arrivals (RECV CQEs "
	       "with a buffer), %lu RECVs re-armed after -ENOBUFS, %lu errors",
	       s->accepted, s->closed, s->arrivals, s->enobufs, s->errors);
	ex_say("server", "%lu waits of %lld ms ran out (idle, or a wake-up "
	       "that did not come)", atomic_load(&s->getq_timeouts),
	       ECHO_GETQ_NS / 1000000);
	EX_CHECK(ok == DEMO_CLIENTS, "%d clients ok", ok);
	EX_CHECK(s->accepted == DEMO_CLIENTS, "accepted %lu", s->accepted);
	EX_CHECK(s->closed == DEMO_CLIENTS, "closed %lu", s->closed);
	EX_CHECK(!s->errors, "%lu errors", s->errors);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int main(int argc, char **argv)
{
	static struct echo_srv s = {
		.nthreads = 4, .concurrency = 2, .nbufs = 64, .bufsz = 2048,
		.max_conns = 1024,
	};
	struct sockaddr_in addr;
	unsigned short port = 0;
	int c, demo_mode = 0, ret;

	while ((c = getopt(argc, argv, "p:w:c:n:s:dC:h")) != -1) {
		switch (c) {
		case 'C':
			return line_client(atoi(optarg));
		case 'p':
			port = atoi(optarg);
			break;
		case 'w':
			s.nthreads = atoi(optarg);
			break;
		case 'c':
			s.concurrency = atoi(optarg);
			break;
		case 'n':
			s.nbufs = atoi(optarg);
			break;
		case 's':
			s.bufsz = atoi(optarg);
			break;
		case 'd':
			demo_mode = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-p PORT] [-w THREADS] "
				"[-c CONCURRENCY] [-n BUFFERS] [-s BUFSIZE] "
				"[-d] | -C PORT\n", argv[0]);
			return 2;
		}
	}
	if (!s.nthreads || !s.nbufs || !s.bufsz)
		return 2;
	ex_start();
	s.lfd = net_listen(port, 4096, &addr);
	if (s.lfd < 0) {
		printf("echo-server: listen: %s\n", strerror(-s.lfd));
		return 1;
	}
	ret = echo_srv_start(&s);
	if (ret == -EOPNOTSUPP)
		return ex_skip("echo-server", "the module has no "
			       "CPORT_FEAT_NET (socket ops)");
	if (ret == -ENOENT || ret == -ENODEV)
		return ex_skip("echo-server", "%s: %s", CPORT_DEVICE_PATH,
			       strerror(-ret));
	if (ret < 0) {
		printf("echo-server: setup: %s\n", strerror(-ret));
		return 1;
	}
	ex_say("main", "listening on 127.0.0.1:%u", ntohs(addr.sin_port));
	if (!demo_mode) {
		for (;;)
			pause();
	}
	demo(&s);
	echo_srv_stop(&s);
	close(s.lfd);
	return ex_finish("echo-server");
}
#endif /* ECHO_SERVER_NO_MAIN */
