// SPDX-License-Identifier: MIT
/*
 * Helpers of the libcport test suites.
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void suite_add_tests(Suite *s, TCase *tc, int loop, ...)
{
	const TTest *t;
	va_list ap;

	va_start(ap, loop);
	while ((t = va_arg(ap, const TTest *))) {
		if (loop > 0)
			tcase_add_loop_test(tc, t, 0, loop);
		else
			tcase_add_test(tc, t);
	}
	va_end(ap);
	suite_add_tcase(s, tc);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000ULL,
		.tv_nsec = ns % 1000000000ULL,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool have_device(void)
{
	return access(CPORT_DEVICE_PATH, F_OK) == 0;
}

TCase *tcase_device(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, DEVICE_TIMEOUT);
	return tc;
}

void hide_device(void)
{
	if (!have_device())
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("none", "/dev", "tmpfs", 0, NULL), 0);
	ck_assert(!have_device());
}

static volatile sig_atomic_t sigalrm_seen;

static void on_sigalrm(int sig)
{
	(void)sig;
	sigalrm_seen++;
}

/*
 * SIGALRM every @ms until sigalrm_stop(): not just one, because on a loaded
 * VM the first may come before the call under test sleeps, which would
 * then sleep for ever.
 */
void arm_sigalrm_ms(unsigned int ms)
{
	struct sigaction sa;
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (ms % 1000) * 1000,
	};
	struct itimerval it = { .it_interval = tv, .it_value = tv };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigalrm;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

int sigalrm_count(void)
{
	return sigalrm_seen;
}

/* Disarm the SIGALRMs; return how many came since the count was reset. */
int sigalrm_stop(void)
{
	const struct itimerval off = { 0 };
	int n;

	ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
	n = sigalrm_seen;
	sigalrm_seen = 0;
	return n;
}

void port_init(struct cport *port, unsigned int entries)
{
	int ret = cport_queue_init(entries, port, 0);

	ck_assert_msg(ret == 0, "cport_queue_init(%u): %d", entries, ret);
}

int pop_cqe(struct cport *port, struct cport_cqe *cqe)
{
	struct cport_cqe *c;
	int ret = cport_peek_cqe(port, &c);

	if (ret)
		return ret;
	*cqe = *c;
	cport_cqe_seen(port, c);
	return 0;
}

/* Layout of the fake rings: indices first, then the arrays. */
struct fake_sq_ring {
	unsigned int head, tail, flags;
};

struct fake_cq_ring {
	unsigned int head, tail, flags, overflow;
	struct cport_cqe cqes[];
};

void fake_port_init(struct cport *port, unsigned int sq_entries,
		    unsigned int cq_entries, unsigned int start)
{
	struct fake_sq_ring *sr = calloc(1, sizeof(*sr));
	struct fake_cq_ring *cr = calloc(1, sizeof(*cr) +
					 cq_entries * sizeof(struct cport_cqe));
	struct cport_sqe *sqes = calloc(sq_entries, sizeof(*sqes));

	ck_assert(sr && cr && sqes);
	memset(port, 0, sizeof(*port));
	port->ring_fd = -1;
	sr->head = sr->tail = start;
	cr->head = cr->tail = start;
	port->sq.khead = &sr->head;
	port->sq.ktail = &sr->tail;
	port->sq.kflags = &sr->flags;
	port->sq.sqes = sqes;
	port->sq.sqe_head = port->sq.sqe_tail = start;
	port->sq.ring_mask = sq_entries - 1;
	port->sq.ring_entries = sq_entries;
	port->sq.ring_ptr = sr;
	port->cq.khead = &cr->head;
	port->cq.ktail = &cr->tail;
	port->cq.kflags = &cr->flags;
	port->cq.koverflow = &cr->overflow;
	port->cq.cqes = cr->cqes;
	port->cq.ring_mask = cq_entries - 1;
	port->cq.ring_entries = cq_entries;
	port->cq.ring_ptr = cr;
}

void fake_port_free(struct cport *port)
{
	free(port->sq.ring_ptr);
	free(port->sq.sqes);
	free(port->cq.ring_ptr);
	memset(port, 0, sizeof(*port));
}

void fake_kernel_post(struct cport *port, uint64_t user_data, int32_t res,
		      uint32_t flags)
{
	struct cport_cq *cq = &port->cq;
	unsigned int tail = __cport_read_once(cq->ktail);
	struct cport_cqe *cqe = &cq->cqes[tail & cq->ring_mask];

	/* Atomic, as consumers that lose a race may read it meanwhile. */
	__cport_write_once(&cqe->user_data, user_data);
	__cport_write_once(&cqe->res, res);
	__cport_write_once(&cqe->flags, flags);
	__cport_smp_store_release(cq->ktail, tail + 1);
}

unsigned int fake_kernel_consume(struct cport *port, struct cport_sqe *out,
				 unsigned int max)
{
	struct cport_sq *sq = &port->sq;
	unsigned int head = __cport_read_once(sq->khead);
	unsigned int tail = __cport_smp_load_acquire(sq->ktail);
	unsigned int n = 0;

	while (head + n != tail && n < max) {
		if (out)
			out[n] = sq->sqes[(head + n) & sq->ring_mask];
		n++;
	}
	__cport_smp_store_release(sq->khead, head + n);
	return n;
}

int non_port_fd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

long long errno_kept(long long ret, const char *call)
{
	ck_assert_msg(errno == ERRNO_CANARY, "%s changed errno to %d", call,
		      errno);
	return ret;
}
