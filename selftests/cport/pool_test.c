// SPDX-License-Identifier: GPL-2.0
/*
 * Thread pools: cport_params.concurrency, CPORT_IOC_GETQ and the limit of
 * running pool threads (Documentation/userspace-api.rst, "Thread pools").
 *
 * Tests that need a blocking thread to lend its slot (preempt notifiers in
 * the kernel: fdinfo "pool_block_release: 1") SKIP without them.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stdatomic.h>
#include <sys/socket.h>

#include "cport_test.h"

/* How long a pool thread waits before it gives up (-ETIME: lost wake-up). */
#define POOL_WAIT_NS		(20 * NSEC_PER_SEC)
#define STOP_UD			(~0ULL)

static int sys_getq_raw(int fd, struct cport_getq *q)
{
	int ret = ioctl(fd, CPORT_IOC_GETQ, q);

	return ret < 0 ? -errno : ret;
}

static int sys_getq(int fd, struct cport_cqe *c, __u32 nr, __u32 flags,
		    __u64 timeout_ns)
{
	struct cport_getq q = {
		.cqes = (__u64)(uintptr_t)c, .nr = nr, .flags = flags,
		.timeout_ns = timeout_ns,
	};

	return sys_getq_raw(fd, &q);
}

/* Wait for one CQE, up to POOL_WAIT_NS. */
static int getq_one(int fd, struct cport_cqe *c)
{
	return sys_getq(fd, c, 1, CPORT_GETQ_TIMEOUT, POOL_WAIT_NS);
}

static int sys_leave(int fd)
{
	return sys_getq(fd, NULL, 0, CPORT_GETQ_LEAVE, 0);
}

/* Open and set up a port with @concurrency, mapped. */
static int pool_port(struct port *pt, __u32 entries, __u32 concurrency)
{
	struct cport_params p = {
		.sq_entries	= entries,
		.concurrency	= concurrency,
	};

	return port_init_params(pt, &p);
}

static bool block_release(int fd)
{
	return fdinfo(fd, "pool_block_release") == 1;
}

/* ------------------------------------------------------------------ */
/* setup */

TEST(concurrency_default_is_online_cpus)
{
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 0));
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), pt.p.concurrency);
	EXPECT_EQ(CPORT_FEAT_CONCURRENCY,
		  pt.p.features & CPORT_FEAT_CONCURRENCY);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN),
		  fdinfo(pt.fd, "pool_concurrency"));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_waiting"));
	port_fini(&pt);
}

TEST(concurrency_values)
{
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 3));
	EXPECT_EQ(3, pt.p.concurrency);
	EXPECT_EQ(3, fdinfo(pt.fd, "pool_concurrency"));
	port_fini(&pt);
	ASSERT_EQ(0, pool_port(&pt, 4, CPORT_CONCURRENCY_MAX));
	EXPECT_EQ(CPORT_CONCURRENCY_MAX, pt.p.concurrency);
	port_fini(&pt);
}

TEST(concurrency_too_big_or_resv1)
{
	struct cport_params p = { .sq_entries = 4 };
	int fd;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fd = cport_open();
	ASSERT_LE(0, fd);
	p.concurrency = CPORT_CONCURRENCY_MAX + 1;
	EXPECT_EQ(-EINVAL, sys_setup(fd, &p));
	p.concurrency = 0;
	p.resv1[2] = 1;
	EXPECT_EQ(-EINVAL, sys_setup(fd, &p));
	p.resv1[2] = 0;
	/* nothing was set up by the failures */
	EXPECT_EQ(0, sys_setup(fd, &p));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* errnos */

TEST(getq_before_setup_is_enter_errno)
{
	struct cport_cqe c;
	int fd, enter;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fd = cport_open();
	ASSERT_LE(0, fd);
	enter = sys_enter(fd, 0, 1, 0, 0);
	EXPECT_EQ(-EBADFD, enter);
	EXPECT_EQ(enter, sys_getq(fd, &c, 1, 0, 0));
	EXPECT_EQ(enter, sys_leave(fd));
	close(fd);
}

FIXTURE(bad_getq) {
	struct port pt;
};

FIXTURE_VARIANT(bad_getq) {
	__u64 cqes;	/* 1: a valid array */
	__u32 nr, flags, resv0, resv1;
	__u64 timeout_ns, resv_a, resv_b;
};

FIXTURE_VARIANT_ADD(bad_getq, nr_zero) { .cqes = 1, .nr = 0 };
FIXTURE_VARIANT_ADD(bad_getq, nr_too_big)
	{ .cqes = 1, .nr = CPORT_GETQ_MAX + 1 };
FIXTURE_VARIANT_ADD(bad_getq, unknown_flag) { .cqes = 1, .nr = 1, .flags = 4 };
FIXTURE_VARIANT_ADD(bad_getq, high_flag)
	{ .cqes = 1, .nr = 1, .flags = 1U << 31 };
FIXTURE_VARIANT_ADD(bad_getq, resv0) { .cqes = 1, .nr = 1, .resv0 = 1 };
FIXTURE_VARIANT_ADD(bad_getq, resv1) { .cqes = 1, .nr = 1, .resv1 = 1 };
FIXTURE_VARIANT_ADD(bad_getq, resv_0) { .cqes = 1, .nr = 1, .resv_a = 1 };
FIXTURE_VARIANT_ADD(bad_getq, resv_1) { .cqes = 1, .nr = 1, .resv_b = 1 };
FIXTURE_VARIANT_ADD(bad_getq, timeout_without_flag)
	{ .cqes = 1, .nr = 1, .timeout_ns = 1 };
FIXTURE_VARIANT_ADD(bad_getq, leave_with_cqes)
	{ .cqes = 1, .flags = CPORT_GETQ_LEAVE };
FIXTURE_VARIANT_ADD(bad_getq, leave_with_nr)
	{ .nr = 1, .flags = CPORT_GETQ_LEAVE };
FIXTURE_VARIANT_ADD(bad_getq, leave_with_resv0)
	{ .flags = CPORT_GETQ_LEAVE, .resv0 = 1 };

FIXTURE_SETUP(bad_getq)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&self->pt, 4, 1));
}

FIXTURE_TEARDOWN(bad_getq)
{
	port_fini(&self->pt);
}

TEST_F(bad_getq, einval_takes_nothing)
{
	struct cport_cqe c[CPORT_GETQ_MAX + 1];
	struct cport_getq q = {
		.nr = variant->nr, .flags = variant->flags,
		.resv0 = variant->resv0, .resv1 = variant->resv1,
		.timeout_ns = variant->timeout_ns,
		.resv = { variant->resv_a, variant->resv_b },
	};

	CPORT_SKIP_IF_ABSENT();
	if (variant->cqes)
		q.cqes = (__u64)(uintptr_t)c;
	ASSERT_EQ(0, sys_post(self->pt.fd, 7, 0));
	EXPECT_EQ(-EINVAL, sys_getq_raw(self->pt.fd, &q));
	EXPECT_EQ(1, cq_ready(&self->pt));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "pool_running"));
}

TEST(getq_efault_takes_nothing)
{
	struct cport_cqe c;
	struct port pt;
	void *bad;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	bad = fault_page();
	ASSERT_NE(NULL, bad);
	/* the argument itself */
	EXPECT_EQ(-EFAULT, ioctl(pt.fd, CPORT_IOC_GETQ, bad) < 0 ? -errno : 0);
	ASSERT_EQ(0, sys_post(pt.fd, 11, -5));
	/* the CQE array */
	EXPECT_EQ(-EFAULT, sys_getq(pt.fd, bad, 1, 0, 0));
	EXPECT_EQ(1, cq_ready(&pt));
	EXPECT_EQ(0, load_acquire(pt.cq_head));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	/* the CQE is still there, and the slot was given back */
	ASSERT_EQ(1, sys_getq(pt.fd, &c, 1, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(11, c.user_data);
	EXPECT_EQ(-5, c.res);
	EXPECT_EQ(1, load_acquire(pt.cq_head));
	munmap(bad, getpagesize());
	port_fini(&pt);
}

TEST(getq_etime)
{
	struct cport_cqe c;
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	EXPECT_EQ(-ETIME, sys_getq(pt.fd, &c, 1, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(-ETIME, sys_getq(pt.fd, &c, 1, CPORT_GETQ_TIMEOUT,
				   10 * NSEC_PER_MSEC));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_waiting"));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	port_fini(&pt);
}

TEST(getq_eio_on_a_scribbled_head)
{
	struct cport_cqe c;
	struct port pt;
	__u32 tail;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	ASSERT_EQ(0, sys_post(pt.fd, 1, 0));
	tail = load_acquire(pt.cq_tail);
	store_release(pt.cq_head, tail + 5);	/* beyond the tail */
	EXPECT_EQ(-EIO, sys_getq(pt.fd, &c, 1, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(tail + 5, load_acquire(pt.cq_head));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	/* put right, the CQE is there */
	store_release(pt.cq_head, tail - 1);
	ASSERT_EQ(1, sys_getq(pt.fd, &c, 1, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(1, c.user_data);
	port_fini(&pt);
}

/*
 * The shared CQ tail is the kernel's to write, but user space can scribble
 * on it: GETQ trusts only the kernel's own tail, and takes no more than
 * was posted. The next post writes the shared tail right again.
 */
TEST(getq_ignores_a_scribbled_tail)
{
	struct cport_cqe c[8];
	struct port pt;
	__u32 tail;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	ASSERT_EQ(0, sys_post(pt.fd, 1, 10));
	ASSERT_EQ(0, sys_post(pt.fd, 2, 20));
	tail = load_acquire(pt.cq_tail);
	ASSERT_EQ(2, tail);
	store_release(pt.cq_tail, tail + 5);	/* beyond what was posted */
	ASSERT_EQ(2, sys_getq(pt.fd, c, 8, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(10, c[0].res);
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(20, c[1].res);
	EXPECT_EQ(2, load_acquire(pt.cq_head));
	EXPECT_EQ(-ETIME, sys_getq(pt.fd, c, 8, CPORT_GETQ_TIMEOUT, 0));
	ASSERT_EQ(0, sys_post(pt.fd, 3, 30));
	EXPECT_EQ(3, load_acquire(pt.cq_tail));
	ASSERT_EQ(1, sys_getq(pt.fd, c, 8, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(3, c[0].user_data);
	EXPECT_EQ(0, sys_leave(pt.fd));
	port_fini(&pt);
}

/* A thread in CPORT_IOC_GETQ, with its result. */
struct getq_thread {
	pthread_t thr;
	int fd;
	__u32 flags;
	__u64 timeout_ns;
	pid_t tid;
	int ret;
	struct cport_cqe c;
	bool leave;		/* LEAVE after taking */
	int idx;
	atomic_int *order;	/* where to record idx, in order of taking */
	atomic_int *norder;
	_Atomic bool started;
};

static void *getq_thread_fn(void *arg)
{
	struct getq_thread *g = arg;

	g->tid = sys_gettid();
	atomic_store(&g->started, true);
	g->ret = sys_getq(g->fd, &g->c, 1, g->flags, g->timeout_ns);
	if (g->ret == 1 && g->order)
		g->order[atomic_fetch_add(g->norder, 1)] = g->idx;
	if (g->leave)
		sys_leave(g->fd);
	return NULL;
}

static int getq_thread_start(struct getq_thread *g, int fd, __u64 timeout_ns)
{
	g->fd = fd;
	g->timeout_ns = timeout_ns;
	g->flags = timeout_ns ? CPORT_GETQ_TIMEOUT : 0;
	atomic_store(&g->started, false);
	if (pthread_create(&g->thr, NULL, getq_thread_fn, g))
		return -1;
	while (!atomic_load(&g->started))
		sched_yield();
	return 0;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

TEST(getq_eintr)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct getq_thread g = { 0 };
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	ASSERT_EQ(0, getq_thread_start(&g, pt.fd, 0));
	ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "pool_waiting", 1, 10000));
	ASSERT_TRUE(task_sleeps_in(g.tid, SYS_ioctl, 10000));
	ASSERT_EQ(0, pthread_kill(g.thr, SIGUSR1));
	pthread_join(g.thr, NULL);
	EXPECT_EQ(-EINTR, g.ret);
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_waiting"));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	port_fini(&pt);
}

/* ------------------------------------------------------------------ */
/* taking and counting */

TEST(getq_takes_in_order_and_counts)
{
	struct cport_cqe c[4];
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, sys_post(pt.fd, 100 + i, i));
	ASSERT_EQ(3, sys_getq(pt.fd, c, 3, 0, 0));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(100 + i, c[i].user_data);
		EXPECT_EQ(i, c[i].res);
		EXPECT_EQ(0, c[i].flags);
	}
	EXPECT_EQ(3, load_acquire(pt.cq_head));
	EXPECT_EQ(1, fdinfo(pt.fd, "pool_running"));
	/* the running caller keeps its slot for its next CQEs */
	ASSERT_EQ(2, sys_getq(pt.fd, c, 4, 0, 0));
	EXPECT_EQ(103, c[0].user_data);
	EXPECT_EQ(104, c[1].user_data);
	EXPECT_EQ(1, fdinfo(pt.fd, "pool_running"));
	/* empty: the caller stops counting while it waits */
	EXPECT_EQ(-ETIME, sys_getq(pt.fd, c, 1, CPORT_GETQ_TIMEOUT, 0));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
	port_fini(&pt);
}

TEST(leave_frees_the_slot)
{
	struct cport_cqe c;
	struct getq_thread g = { 0 };
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	g.leave = true;
	EXPECT_EQ(0, sys_leave(pt.fd));	/* not counted: nothing to do */
	ASSERT_EQ(0, sys_post(pt.fd, 1, 0));
	ASSERT_EQ(1, sys_getq(pt.fd, &c, 1, 0, 0));
	EXPECT_EQ(1, fdinfo(pt.fd, "pool_running"));
	/* the slot is taken: another thread waits */
	ASSERT_EQ(0, getq_thread_start(&g, pt.fd, POOL_WAIT_NS));
	ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "pool_waiting", 1, 10000));
	ASSERT_TRUE(task_sleeps_in(g.tid, SYS_ioctl, 10000));
	/*
	 * From the post to the leave we do not block: with preempt
	 * notifiers a sleep of ours would lend our slot to g.
	 */
	ASSERT_EQ(0, sys_post(pt.fd, 2, 0));
	EXPECT_EQ(1, cq_ready(&pt));
	EXPECT_EQ(0, sys_leave(pt.fd));
	pthread_join(g.thr, NULL);
	EXPECT_EQ(1, g.ret);
	EXPECT_EQ(2, g.c.user_data);
	EXPECT_EQ(0, cq_ready(&pt));
	/* it left after taking */
	EXPECT_TRUE(fdinfo_wait_eq(pt.fd, "pool_running", 0, 10000));
	port_fini(&pt);
}

TEST(exiting_thread_frees_its_slot)
{
	struct getq_thread a = { 0 }, b = { 0 };
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	ASSERT_EQ(0, sys_post(pt.fd, 1, 0));
	ASSERT_EQ(0, getq_thread_start(&a, pt.fd, POOL_WAIT_NS));
	pthread_join(a.thr, NULL);	/* took it, exited counted */
	ASSERT_EQ(1, a.ret);
	ASSERT_EQ(0, getq_thread_start(&b, pt.fd, POOL_WAIT_NS));
	ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "pool_waiting", 1, 10000));
	ASSERT_EQ(0, sys_post(pt.fd, 2, 0));
	pthread_join(b.thr, NULL);
	EXPECT_EQ(1, b.ret);
	EXPECT_EQ(2, b.c.user_data);
	port_fini(&pt);
}

/* A pool thread that takes one CQE, then spins until told to go. */
struct spinner {
	pthread_t thr;
	int fd;
	int ret;
	struct cport_cqe c;
	_Atomic bool took, go, started;
};

static void *spinner_fn(void *arg)
{
	struct spinner *s = arg;

	atomic_store(&s->started, true);
	s->ret = getq_one(s->fd, &s->c);
	atomic_store(&s->took, true);
	while (!atomic_load(&s->go))
		;
	return NULL;
}

TEST(sleeping_thread_lends_its_slot)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
	struct spinner b = { 0 };
	struct cport_cqe c;
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	if (!block_release(pt.fd)) {
		port_fini(&pt);
		SKIP(return, "kernel without preempt notifiers");
	}
	ASSERT_EQ(0, sys_post(pt.fd, 1, 0));
	ASSERT_EQ(1, sys_getq(pt.fd, &c, 1, 0, 0));
	EXPECT_EQ(1, fdinfo(pt.fd, "pool_running"));
	/* B waits: the one slot is ours */
	b.fd = pt.fd;
	ASSERT_EQ(0, pthread_create(&b.thr, NULL, spinner_fn, &b));
	ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "pool_waiting", 1, 10000));
	ASSERT_EQ(0, sys_post(pt.fd, 2, 0));
	/* each nanosleep blocks us: our slot goes to B meanwhile */
	for (i = 0; i < 20000 && !atomic_load(&b.took); i++)
		nanosleep(&ts, NULL);
	ASSERT_TRUE(atomic_load(&b.took));
	EXPECT_EQ(1, b.ret);
	EXPECT_EQ(2, b.c.user_data);
	/* we run again and count again: 2 on a limit of 1, as IOCP does */
	EXPECT_EQ(2, fdinfo(pt.fd, "pool_running"));
	atomic_store(&b.go, true);
	pthread_join(b.thr, NULL);
	EXPECT_EQ(0, sys_leave(pt.fd));
	EXPECT_TRUE(fdinfo_wait_eq(pt.fd, "pool_running", 0, 10000));
	port_fini(&pt);
}

/*
 * M threads, concurrency N, a flood of CQEs; each thread's work is a spin
 * without system calls. At no time are more than N threads inside their
 * work, and every CQE is taken exactly once.
 */
#define LIMIT_M		8
#define LIMIT_N		2
#define LIMIT_CQES	600

struct limit_pool {
	int fd;
	atomic_int inside, max_inside, errors;
	atomic_uchar seen[LIMIT_CQES];
	atomic_int dup, taken;
};

/* A per-thread generator: rand() takes a lock, which may block. */
static __thread __u64 rng_state;

static unsigned int rng(void)
{
	if (!rng_state)
		rng_state = (__u64)sys_gettid() * 0x9e3779b97f4a7c15ULL | 1;
	return (unsigned int)(xrand(&rng_state) >> 33);
}

/*
 * Count the stops in c[0..n-1]; a thread ends on its first, and posts the
 * others back for the other threads.
 */
static int stops_in(int fd, const struct cport_cqe *c, int n)
{
	int i, stops = 0;

	for (i = 0; i < n; i++)
		stops += c[i].user_data == STOP_UD;
	for (i = 1; i < stops; i++)
		sys_post_retry(fd, STOP_UD, 0);
	return stops;
}

static void spin_work(unsigned int n)
{
	volatile unsigned int i;

	for (i = 0; i < n; i++)
		;
}

static void *limit_worker(void *arg)
{
	struct limit_pool *lp = arg;
	struct cport_cqe c[4];
	int n, i, in, max, stops;

	for (;;) {
		n = sys_getq(lp->fd, c, 1 + (rng() & 3), CPORT_GETQ_TIMEOUT,
			     POOL_WAIT_NS);
		if (n <= 0) {
			atomic_fetch_add(&lp->errors, 1);
			return NULL;
		}
		in = atomic_fetch_add(&lp->inside, 1) + 1;
		max = atomic_load(&lp->max_inside);
		while (in > max &&
		       !atomic_compare_exchange_weak(&lp->max_inside, &max, in))
			;
		spin_work(20000);
		atomic_fetch_sub(&lp->inside, 1);
		stops = stops_in(lp->fd, c, n);
		for (i = 0; i < n; i++) {
			if (c[i].user_data == STOP_UD)
				continue;
			if (c[i].user_data >= LIMIT_CQES ||
			    atomic_fetch_add(&lp->seen[c[i].user_data], 1))
				atomic_fetch_add(&lp->dup, 1);
			else
				atomic_fetch_add(&lp->taken, 1);
		}
		if (stops) {
			sys_leave(lp->fd);
			return NULL;
		}
	}
}

TEST(limit_holds_under_a_flood)
{
	static struct limit_pool lp;
	pthread_t thr[LIMIT_M];
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 64, LIMIT_N));
	lp.fd = pt.fd;
	for (i = 0; i < LIMIT_M; i++)
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, limit_worker, &lp));
	for (i = 0; i < LIMIT_CQES; i++)
		ASSERT_EQ(0, sys_post_retry(pt.fd, i, 0));
	/* all taken before the stops go in: a stop ends one batch */
	for (i = 0; i < 200000 && atomic_load(&lp.taken) < LIMIT_CQES; i++)
		usleep(100);
	for (i = 0; i < LIMIT_M; i++)
		ASSERT_EQ(0, sys_post_retry(pt.fd, STOP_UD, 0));
	for (i = 0; i < LIMIT_M; i++)
		pthread_join(thr[i], NULL);
	EXPECT_EQ(0, atomic_load(&lp.errors));
	EXPECT_EQ(0, atomic_load(&lp.dup));
	EXPECT_EQ(LIMIT_CQES, atomic_load(&lp.taken));
	EXPECT_GE(LIMIT_N, atomic_load(&lp.max_inside));
	EXPECT_LE(1, atomic_load(&lp.max_inside));
	EXPECT_EQ(0, cq_ready(&pt));
	EXPECT_TRUE(fdinfo_wait_eq(pt.fd, "pool_running", 0, 10000));
	port_fini(&pt);
}

/* Waiters queued in a known order are released newest first. */
#define LIFO_WAITERS	4

TEST(waiters_released_newest_first)
{
	struct getq_thread g[LIFO_WAITERS] = { 0 };
	atomic_int order[LIFO_WAITERS], norder = 0;
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 8, 1));
	for (i = 0; i < LIFO_WAITERS; i++) {
		g[i].idx = i;
		g[i].order = order;
		g[i].norder = &norder;
		g[i].leave = true;
		ASSERT_EQ(0, getq_thread_start(&g[i], pt.fd, POOL_WAIT_NS));
		ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "pool_waiting", i + 1,
					   10000));
		ASSERT_TRUE(task_sleeps_in(g[i].tid, SYS_ioctl, 10000));
	}
	for (i = 0; i < LIFO_WAITERS; i++) {
		ASSERT_EQ(0, sys_post(pt.fd, 50 + i, 0));
		/* the taker records itself, leaves, exits */
		pthread_join(g[LIFO_WAITERS - 1 - i].thr, NULL);
		ASSERT_EQ(i + 1, atomic_load(&norder));
		EXPECT_EQ(LIFO_WAITERS - 1 - i, order[i]);
		EXPECT_EQ(1, g[LIFO_WAITERS - 1 - i].ret);
		EXPECT_EQ(50 + i, g[LIFO_WAITERS - 1 - i].c.user_data);
	}
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_waiting"));
	port_fini(&pt);
}

/* Many posters and takers: every CQE taken, every thread finishes. */
#define STRESS_POSTERS	2
#define STRESS_TAKERS	6
#define STRESS_EACH	400

struct stress {
	int fd;
	atomic_int taken, errors;
};

static void *stress_poster(void *arg)
{
	struct stress *st = arg;
	int i;

	for (i = 0; i < STRESS_EACH; i++)
		if (sys_post_retry(st->fd, i, 0))
			atomic_fetch_add(&st->errors, 1);
	return NULL;
}

static void *stress_taker(void *arg)
{
	struct timespec ts = { 0, 1000 };
	struct stress *st = arg;
	struct cport_cqe c[3];
	int n, stops;

	for (;;) {
		n = sys_getq(st->fd, c, 1 + (rng() % 3), CPORT_GETQ_TIMEOUT,
			     POOL_WAIT_NS);
		if (n <= 0) {
			atomic_fetch_add(&st->errors, 1);
			return NULL;
		}
		stops = stops_in(st->fd, c, n);
		atomic_fetch_add(&st->taken, n - stops);
		if (stops) {
			sys_leave(st->fd);
			return NULL;
		}
		/* sometimes block while running */
		if (!(rng() & 7))
			nanosleep(&ts, NULL);
	}
}

TEST(no_lost_wakeup_under_stress)
{
	pthread_t p[STRESS_POSTERS], t[STRESS_TAKERS];
	static struct stress st;
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&pt, 16, 2));
	st.fd = pt.fd;
	for (i = 0; i < STRESS_TAKERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_taker, &st));
	for (i = 0; i < STRESS_POSTERS; i++)
		ASSERT_EQ(0, pthread_create(&p[i], NULL, stress_poster, &st));
	for (i = 0; i < STRESS_POSTERS; i++)
		pthread_join(p[i], NULL);
	for (i = 0; i < 200000 &&
	     atomic_load(&st.taken) < STRESS_POSTERS * STRESS_EACH; i++)
		usleep(100);
	for (i = 0; i < STRESS_TAKERS; i++)
		ASSERT_EQ(0, sys_post_retry(pt.fd, STOP_UD, 0));
	for (i = 0; i < STRESS_TAKERS; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, atomic_load(&st.errors));
	EXPECT_EQ(STRESS_POSTERS * STRESS_EACH, atomic_load(&st.taken));
	EXPECT_EQ(0, cq_ready(&pt));
	EXPECT_TRUE(fdinfo_wait_eq(pt.fd, "pool_running", 0, 10000));
	EXPECT_EQ(0, fdinfo(pt.fd, "pool_waiting"));
	port_fini(&pt);
}

/* GETQ on another port moves the count there. */
TEST(thread_moves_between_ports)
{
	struct port a, b;
	struct cport_cqe c;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&a, 4, 1));
	ASSERT_EQ(0, pool_port(&b, 4, 1));
	ASSERT_EQ(0, sys_post(a.fd, 1, 0));
	ASSERT_EQ(0, sys_post(b.fd, 2, 0));
	ASSERT_EQ(1, sys_getq(a.fd, &c, 1, 0, 0));
	EXPECT_EQ(1, fdinfo(a.fd, "pool_running"));
	ASSERT_EQ(1, sys_getq(b.fd, &c, 1, 0, 0));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(1, fdinfo(b.fd, "pool_running"));
	if (block_release(a.fd)) {
		EXPECT_EQ(0, fdinfo(a.fd, "pool_running"));
	} else {
		/* documented fallback: counted on a until GETQ/LEAVE there */
		EXPECT_EQ(1, fdinfo(a.fd, "pool_running"));
		EXPECT_EQ(0, sys_leave(a.fd));
		EXPECT_EQ(0, fdinfo(a.fd, "pool_running"));
		EXPECT_EQ(1, fdinfo(b.fd, "pool_running"));
	}
	EXPECT_EQ(0, sys_leave(b.fd));
	EXPECT_EQ(0, fdinfo(b.fd, "pool_running"));
	port_fini(&a);
	port_fini(&b);
}

/*
 * Closing a port while threads count in it: they go on, and their next
 * GETQ (on another port) or exit finds nothing of it. Waiters hold the
 * port (the ioctl's file reference) until they leave: -ETIME.
 */
TEST(close_while_counted_and_waiting)
{
	struct getq_thread w = { 0 };
	struct spinner s = { 0 };
	struct cport_cqe c;
	struct port a, b;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&a, 4, 1));
	ASSERT_EQ(0, pool_port(&b, 4, 1));
	/* s counts in a, we too (over the limit is fine: we post first) */
	ASSERT_EQ(0, sys_post(a.fd, 1, 0));
	s.fd = a.fd;
	ASSERT_EQ(0, pthread_create(&s.thr, NULL, spinner_fn, &s));
	while (!atomic_load(&s.took))
		sched_yield();
	ASSERT_EQ(1, s.ret);
	ASSERT_EQ(0, getq_thread_start(&w, a.fd, 300 * NSEC_PER_MSEC));
	ASSERT_TRUE(fdinfo_wait_eq(a.fd, "pool_waiting", 1, 10000));
	port_fini(&a);
	pthread_join(w.thr, NULL);
	EXPECT_EQ(-ETIME, w.ret);
	/* s, counted in the closed port, exits */
	atomic_store(&s.go, true);
	pthread_join(s.thr, NULL);
	/* we were never counted in a; b works as before */
	ASSERT_EQ(0, sys_post(b.fd, 2, 0));
	ASSERT_EQ(1, sys_getq(b.fd, &c, 1, 0, 0));
	EXPECT_EQ(2, c.user_data);
	port_fini(&b);
}

/* A thread counted in a port that is gone takes CQEs from another. */
struct mover {
	int fd_a, fd_b;
	_Atomic bool took, go;
	int ret_a, ret_b;
};

static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	struct cport_cqe c;

	m->ret_a = getq_one(m->fd_a, &c);
	atomic_store(&m->took, true);
	while (!atomic_load(&m->go))
		sched_yield();
	m->ret_b = getq_one(m->fd_b, &c);
	sys_leave(m->fd_b);
	return NULL;
}

TEST(counted_in_a_closed_port_moves_on)
{
	struct mover m = { 0 };
	struct port a, b;
	pthread_t thr;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pool_port(&a, 4, 1));
	ASSERT_EQ(0, pool_port(&b, 4, 1));
	m.fd_a = a.fd;
	m.fd_b = b.fd;
	ASSERT_EQ(0, sys_post(a.fd, 1, 0));
	ASSERT_EQ(0, pthread_create(&thr, NULL, mover_fn, &m));
	while (!atomic_load(&m.took))
		sched_yield();
	port_fini(&a);		/* the last reference: released */
	ASSERT_EQ(0, sys_post(b.fd, 2, 0));
	atomic_store(&m.go, true);
	pthread_join(thr, NULL);
	EXPECT_EQ(1, m.ret_a);
	EXPECT_EQ(1, m.ret_b);
	EXPECT_TRUE(fdinfo_wait_eq(b.fd, "pool_running", 0, 10000));
	port_fini(&b);
}

/*
 * With preempt notifiers a pool thread's registration holds the module
 * (its callbacks are module text) until the thread exits, port or not.
 */
TEST(unload_refused_while_a_pool_thread_lives)
{
	struct spinner s = { 0 };
	struct port pt;
	int ret;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_EQ(0, pool_port(&pt, 4, 1));
	if (!block_release(pt.fd)) {
		port_fini(&pt);
		SKIP(return, "kernel without preempt notifiers");
	}
	ASSERT_EQ(0, sys_post(pt.fd, 1, 0));
	s.fd = pt.fd;
	ASSERT_EQ(0, pthread_create(&s.thr, NULL, spinner_fn, &s));
	while (!atomic_load(&s.took))
		sched_yield();
	ASSERT_EQ(1, s.ret);
	port_fini(&pt);		/* no port, no mapping left */
	ret = syscall(SYS_delete_module, "cport", O_NONBLOCK) ? -errno : 0;
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EAGAIN)
		TH_LOG("delete_module returned %d", ret);
	atomic_store(&s.go, true);
	pthread_join(s.thr, NULL);
	EXPECT_TRUE(cport_present());
}

TEST_HARNESS_MAIN

/* ------------------------------------------------------------------ */
/* task wake-ups */

/*
 * A thread that waits in GETQ may be woken to run task items (task.c: a
 * socket op's attempt offered to a waiting thread of the submitter), and
 * such a wake-up leaves it queued. A CQE posted meanwhile may hand it a
 * slot and dequeue it; it must take that slot, not queue again with it
 * (it then slept holding the slot, skipped by every waker, with a CQE in
 * the CQ). The echo-server benchmark's shutdown hung on it: quits posted
 * while RECVs complete, one quit per thread, the extra ones passed on.
 */
#define QUIT_THREADS	4
#define QUIT_ROUNDS	20
#define QUIT_RECVS	64

static void spin_ns(__u64 ns)
{
	__u64 end = now_ns(CLOCK_MONOTONIC) + ns;

	while (now_ns(CLOCK_MONOTONIC) < end)
		;
}

struct quit_pool {
	int		fd;
	atomic_int	lost;
};

static void *quit_pool_thread(void *arg)
{
	struct quit_pool *qp = arg;
	struct cport_cqe c[4];
	int n, i, quit = 0;

	while (!quit) {
		n = sys_getq(qp->fd, c, 4, CPORT_GETQ_TIMEOUT, POOL_WAIT_NS);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			atomic_fetch_add(&qp->lost, 1);	/* -ETIME: lost */
			break;
		}
		for (i = 0; i < n; i++)
			if (c[i].user_data == STOP_UD && quit++)
				sys_post_retry(qp->fd, STOP_UD, 0);
		/* Work on what it took: it counts as running meanwhile. */
		spin_ns(100 * 1000);
	}
	sys_leave(qp->fd);
	return NULL;
}

FIXTURE(taskwake) {
	int unused;
};

FIXTURE_SETUP(taskwake)
{
}

FIXTURE_TEARDOWN(taskwake)
{
}

TEST_F_TIMEOUT(taskwake, getq_slot_handed_during_task_wakeup, 300)
{
	static char rx[QUIT_RECVS];
	pthread_t thr[QUIT_THREADS];
	struct quit_pool qp;
	int round, i, sp[2];
	struct port pt;

	CPORT_SKIP_IF_ABSENT();
	for (round = 0; round < QUIT_ROUNDS; round++) {
		ASSERT_EQ(0, pool_port(&pt, 64, 2));
		if (!(pt.p.features & CPORT_FEAT_NET)) {
			port_fini(&pt);
			SKIP(return, "no socket ops");
		}
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
		qp.fd = pt.fd;
		atomic_init(&qp.lost, 0);
		for (i = 0; i < QUIT_THREADS; i++)
			ASSERT_EQ(0, pthread_create(&thr[i], NULL,
						    quit_pool_thread, &qp));
		/* RECVs that wait: their data wakes a pool thread to run them. */
		for (i = 0; i < QUIT_RECVS; i++) {
			struct cport_sqe s = sqe_rw(CPORT_OP_RECV, sp[0],
						    &rx[i], 1, 0, i + 1);

			s.off = 0;
			ASSERT_EQ(0, sq_push(&pt, &s));
		}
		ASSERT_EQ(QUIT_RECVS, sys_enter(pt.fd, QUIT_RECVS, 0, 0, 0));
		usleep(round % 4 * 500);
		/* Data for a RECV at a time, the quits among them. */
		for (i = 0; i < QUIT_RECVS; i++) {
			ASSERT_EQ(1, write(sp[1], "x", 1));
			if (i % (QUIT_RECVS / QUIT_THREADS) == round % 8)
				ASSERT_EQ(0, sys_post_retry(pt.fd, STOP_UD, 0));
			spin_ns((round % 3) * 20 * 1000);
		}
		for (i = 0; i < QUIT_THREADS; i++)
			pthread_join(thr[i], NULL);
		ASSERT_EQ(0, atomic_load(&qp.lost))
			TH_LOG("round %d: a GETQ waiter was never woken "
			       "(pool_running %lld, CQEs ready %u)", round,
			       fdinfo(pt.fd, "pool_running"), cq_ready(&pt));
		close(sp[0]);
		close(sp[1]);
		port_fini(&pt);
	}
}
