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

/* user_data of the CQEs that carry a ping/pong, and of our own POST SQEs. */
#define UD_MSG		0x6d7367ULL
#define UD_POST_SQE	0x706f7374ULL

struct pp {
	const struct mech *m;	/* -i */
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
static void cp_take_msg(struct pp *p, int me)
{
	struct cport *port = &p->port[me];
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

/*
 * A mechanism: @send wakes the peer @to; A waits for the answer with
 * @a_recv, B for the next ping with @b_recv. @send_recv, if any, does a
 * send and the wait for the answer in one call.
 */
struct mech {
	const char *name;	/* -i */
	void (*setup)(struct pp *p);
	void (*send)(struct pp *p, int to);
	void (*a_recv)(struct pp *p, int me);
	void (*b_recv)(struct pp *p, int me);
	void (*send_recv)(struct pp *p, int me);
};

static const struct mech mechs[] = {
	{ "cport", cp_setup, cpi_send, cp_take_msg, cp_take_msg,
	  cp_send_recv },
	{ "cport-ioctl", cp_setup, cpi_send, cp_take_msg, cpi_recv_gqc, NULL },
	{ "eventfd", efd_setup, efd_send, efd_recv, efd_recv, NULL },
	{ "futex", NULL, fx_send, fx_recv, fx_recv, NULL },
};

/* Wake the peer of @me, then wait (with @recv) until it answers. */
static void send_then_recv(struct pp *p, int me,
			   void (*recv)(struct pp *p, int me))
{
	if (p->m->send_recv) {
		p->m->send_recv(p, me);
	} else {
		p->m->send(p, !me);
		recv(p, me);
	}
}

/* A sends a ping to B and waits for the pong. */
static void a_round(void *arg)
{
	struct pp *p = arg;

	send_then_recv(p, 0, p->m->a_recv);
}

static void *b_thread(void *arg)
{
	struct pp *p = arg;

	if (p->pin)
		bench_pin(1);
	/* Wait for the first ping, then answer each ping and wait for the
	 * next one; the ping sent after 'stop' is not answered.
	 */
	p->m->b_recv(p, 1);
	while (!atomic_load(&p->stop))
		send_then_recv(p, 1, p->m->b_recv);
	return NULL;
}

/* A's final ping: only wakes B, which sees 'stop' and leaves. */
static void a_last_ping(struct pp *p)
{
	atomic_store(&p->stop, 1);
	p->m->send(p, 1);
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
	uint64_t rounds, ns = 0;
	const char *name = NULL;
	unsigned int i;
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
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(name, mechs[i].name))
			p.m = &mechs[i];
	if (!p.m)
		usage(argv[0]);
	snprintf(p.head, sizeof(p.head), "bench=pingpong impl=%s", name);

	if (p.m->setup)
		p.m->setup(&p);

	if (p.pin)
		bench_pin(0);
	if (pthread_create(&tb, NULL, b_thread, &p))
		bench_die(p.head, "pthread_create failed");

	/* the clock is read every 16 round trips */
	rounds = bench_run_for(a_round, &p, p.ms, 16, &ns);
	a_last_ping(&p);
	pthread_join(tb, NULL);

	printf("%s rounds=%llu secs=%.3f us_per_rt=%.2f\n", p.head,
	       (unsigned long long)rounds, ns / 1e9, ns / 1e3 / rounds);
	return 0;
}
