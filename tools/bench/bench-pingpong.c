// SPDX-License-Identifier: MIT
/*
 * bench-pingpong: cross-thread wake round trip.
 *
 * Thread A wakes thread B, which wakes A back: one round trip. Each thread
 * sleeps in the kernel until woken, so this measures wake-up latency, not
 * spinning. A and B are pinned to CPUs 0 and 1 (when there are two), so every
 * wake crosses CPUs. Mechanisms (-i):
 *
 *   cport       A submits a CPORT_OP_POST SQE aimed at B's port and waits
 *               for 2 CQEs (its own POST result + B's reply) in the same
 *               CPORT_IOC_ENTER; B does the same towards A. One system call
 *               per side per round trip: the completion-port idiom.
 *   cport-ioctl A posts with CPORT_IOC_POST on B's fd, then waits on its own
 *               port; B takes the post with cport_get_queued_completions()
 *               and posts back. Two system calls per side.
 *   eventfd     each thread has an eventfd in its own epoll set: write() the
 *               peer's eventfd, epoll_wait() on its own, read() to reset.
 *   futex       a word per direction: store 1 + FUTEX_WAKE, FUTEX_WAIT
 *               while 0 (private futexes). The kernel's cheapest wake.
 *
 * Runs for a fixed time after a warm-up and prints one line:
 *
 *   bench=pingpong impl=eventfd rounds=... secs=... us_per_rt=...
 *
 * Usage: bench-pingpong -i cport|cport-ioctl|eventfd|futex [-t MS] [-P]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <cport.h>

#define WARMUP_MS	50

enum impl { IMPL_CPORT, IMPL_CPORT_IOCTL, IMPL_EVENTFD, IMPL_FUTEX };

/* user_data of the CQEs that carry a ping/pong, and of our own POST SQEs. */
#define UD_MSG		0x6d7367ULL
#define UD_POST_SQE	0x706f7374ULL

struct pp {
	enum impl impl;
	unsigned int ms;
	int pin;
	atomic_int stop;
	char head[96];

	/* eventfd + epoll: [0] is A's, [1] is B's */
	int efd[2], ep[2];
	/* futex: fw[0] wakes A, fw[1] wakes B */
	_Atomic uint32_t fw[2];
	/* cport: port[0] is A's, port[1] is B's */
	struct cport port[2];
};

/* ---- eventfd + epoll --------------------------------------------------- */

static void efd_send(struct pp *p, int to)
{
	uint64_t one = 1;

	if (write(p->efd[to], &one, sizeof(one)) != sizeof(one))
		bench_die(p->head, "eventfd write: %s", strerror(errno));
}

static void efd_recv(struct pp *p, int me)
{
	struct epoll_event ev;
	uint64_t v;
	int n;

	do {
		n = epoll_wait(p->ep[me], &ev, 1, -1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		bench_die(p->head, "epoll_wait: %d %s", n, strerror(errno));
	if (read(p->efd[me], &v, sizeof(v)) != sizeof(v))
		bench_die(p->head, "eventfd read: %s", strerror(errno));
}

static void efd_setup(struct pp *p)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i;

	for (i = 0; i < 2; i++) {
		p->efd[i] = eventfd(0, EFD_CLOEXEC);
		p->ep[i] = epoll_create1(EPOLL_CLOEXEC);
		if (p->efd[i] < 0 || p->ep[i] < 0)
			bench_skip(p->head, "eventfd/epoll: %s", strerror(errno));
		if (epoll_ctl(p->ep[i], EPOLL_CTL_ADD, p->efd[i], &ev))
			bench_die(p->head, "epoll_ctl: %s", strerror(errno));
	}
}

/* ---- futex ------------------------------------------------------------- */

static void fx_send(struct pp *p, int to)
{
	atomic_store_explicit(&p->fw[to], 1, memory_order_release);
	syscall(SYS_futex, &p->fw[to], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void fx_recv(struct pp *p, int me)
{
	while (!atomic_load_explicit(&p->fw[me], memory_order_acquire))
		syscall(SYS_futex, &p->fw[me], FUTEX_WAIT_PRIVATE, 0, NULL,
			NULL, 0);
	/* The peer sends again only after we answered: no lost wake-up. */
	atomic_store_explicit(&p->fw[me], 0, memory_order_relaxed);
}

/* ---- cport ------------------------------------------------------------- */

/* Take one CQE from @me's port; check it is a message. */
static void cp_take_msg(struct pp *p, struct cport *port)
{
	struct cport_cqe *cqe;
	int ret;

	ret = cport_wait_cqe(port, &cqe);
	if (ret < 0)
		bench_die(p->head, "cport_wait_cqe: %d", ret);
	if (cqe->user_data != UD_MSG)
		bench_die(p->head, "unexpected CQE ud=%llx res=%d",
			  (unsigned long long)cqe->user_data, cqe->res);
	cport_cqe_seen(port, cqe);
}

/*
 * One system call: post to the peer and wait for two CQEs on our port,
 * the POST op's own result and the peer's answer (in either order).
 */
static void cp_send_recv(struct pp *p, int me)
{
	struct cport *port = &p->port[me];
	struct cport_sqe *sqe = cport_get_sqe(port);
	struct cport_cqe *cqe;
	int ret, i, msgs = 0;

	if (!sqe)
		bench_die(p->head, "SQ full");
	cport_prep_post(sqe, p->port[!me].ring_fd, 0, UD_MSG);
	sqe->user_data = UD_POST_SQE;
	ret = cport_submit_and_wait(port, 2);
	if (ret != 1)
		bench_die(p->head, "cport_submit_and_wait: %d", ret);
	for (i = 0; i < 2; i++) {
		ret = cport_peek_cqe(port, &cqe);
		if (ret < 0)
			bench_die(p->head, "cport_peek_cqe: %d", ret);
		if (cqe->user_data == UD_POST_SQE && cqe->res < 0)
			bench_die(p->head, "POST op res %d", cqe->res);
		msgs += cqe->user_data == UD_MSG;
		cport_cqe_seen(port, cqe);
	}
	if (msgs != 1)
		bench_die(p->head, "expected one message, got %d", msgs);
}

static void cpi_send(struct pp *p, int to)
{
	int ret = cport_post_fd(p->port[to].ring_fd, 0, UD_MSG);

	if (ret < 0)
		bench_die(p->head, "cport_post_fd: %d", ret);
}

static void cpi_recv_gqc(struct pp *p, int me)
{
	struct cport_cqe cqe;
	int ret;

	ret = cport_get_queued_completions(&p->port[me], &cqe, 1,
					   CPORT_INFINITE);
	if (ret != 1)
		bench_die(p->head, "cport_get_queued_completions: %d", ret);
	if (cqe.user_data != UD_MSG)
		bench_die(p->head, "unexpected CQE ud=%llx",
			  (unsigned long long)cqe.user_data);
}

static void cp_setup(struct pp *p)
{
	int i, ret;

	for (i = 0; i < 2; i++) {
		ret = cport_queue_init(8, &p->port[i], 0);
		if (ret < 0)
			bench_skip(p->head, "cport_queue_init: %s",
				   strerror(-ret));
	}
}

/* ---- the two threads ---------------------------------------------------- */

/* A sends a ping to B and waits for the pong. */
static void a_round(struct pp *p)
{
	switch (p->impl) {
	case IMPL_CPORT:
		cp_send_recv(p, 0);
		break;
	case IMPL_CPORT_IOCTL:
		cpi_send(p, 1);
		cp_take_msg(p, &p->port[0]);
		break;
	case IMPL_EVENTFD:
		efd_send(p, 1);
		efd_recv(p, 0);
		break;
	case IMPL_FUTEX:
		fx_send(p, 1);
		fx_recv(p, 0);
		break;
	}
}

static void *b_thread(void *arg)
{
	struct pp *p = arg;

	if (p->pin)
		bench_pin(1);
	/* Wait for the first ping, then answer each ping and wait for the
	 * next one; the ping sent after 'stop' is not answered.
	 */
	switch (p->impl) {
	case IMPL_CPORT:
		cp_take_msg(p, &p->port[1]);
		while (!atomic_load(&p->stop))
			cp_send_recv(p, 1);
		break;
	case IMPL_CPORT_IOCTL:
		for (;;) {
			cpi_recv_gqc(p, 1);
			if (atomic_load(&p->stop))
				break;
			cpi_send(p, 0);
		}
		break;
	case IMPL_EVENTFD:
		for (;;) {
			efd_recv(p, 1);
			if (atomic_load(&p->stop))
				break;
			efd_send(p, 0);
		}
		break;
	case IMPL_FUTEX:
		for (;;) {
			fx_recv(p, 1);
			if (atomic_load(&p->stop))
				break;
			fx_send(p, 0);
		}
		break;
	}
	return NULL;
}

/* A's final ping: only wakes B, which sees 'stop' and leaves. */
static void a_last_ping(struct pp *p)
{
	atomic_store(&p->stop, 1);
	switch (p->impl) {
	case IMPL_CPORT:
	case IMPL_CPORT_IOCTL:
		cpi_send(p, 1);
		break;
	case IMPL_EVENTFD:
		efd_send(p, 1);
		break;
	case IMPL_FUTEX:
		fx_send(p, 1);
		break;
	}
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i cport|cport-ioctl|eventfd|futex [-t MS] [-P]\n"
		"  -P  do not pin the two threads to CPUs 0 and 1\n", prog);
	exit(1);
}

int main(int argc, char **argv)
{
	static struct pp p = { .ms = 1000, .pin = 1 };
	uint64_t t0, t = 0, end, rounds = 0;
	const char *name = NULL;
	pthread_t tb;
	int c;

	while ((c = getopt(argc, argv, "i:t:Ph")) != -1) {
		switch (c) {
		case 'i':
			name = optarg;
			break;
		case 't':
			p.ms = bench_atol(argv[0], optarg);
			break;
		case 'P':
			p.pin = 0;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!name)
		usage(argv[0]);
	if (!strcmp(name, "cport"))
		p.impl = IMPL_CPORT;
	else if (!strcmp(name, "cport-ioctl"))
		p.impl = IMPL_CPORT_IOCTL;
	else if (!strcmp(name, "eventfd"))
		p.impl = IMPL_EVENTFD;
	else if (!strcmp(name, "futex"))
		p.impl = IMPL_FUTEX;
	else
		usage(argv[0]);
	snprintf(p.head, sizeof(p.head), "bench=pingpong impl=%s", name);

	if (p.impl == IMPL_EVENTFD)
		efd_setup(&p);
	else if (p.impl != IMPL_FUTEX)
		cp_setup(&p);

	if (p.pin)
		bench_pin(0);
	if (pthread_create(&tb, NULL, b_thread, &p))
		bench_die(p.head, "pthread_create failed");

	end = bench_now_ns() + (uint64_t)WARMUP_MS * 1000000ULL;
	do {
		a_round(&p);
	} while (bench_now_ns() < end);

	t0 = bench_now_ns();
	end = t0 + (uint64_t)p.ms * 1000000ULL;
	for (;;) {
		a_round(&p);
		rounds++;
		if ((rounds & 15) == 0 && (t = bench_now_ns()) >= end)
			break;
	}
	a_last_ping(&p);
	pthread_join(tb, NULL);

	printf("%s rounds=%llu secs=%.3f us_per_rt=%.2f\n", p.head,
	       (unsigned long long)rounds, (t - t0) / 1e9,
	       (t - t0) / 1e3 / rounds);
	return 0;
}
