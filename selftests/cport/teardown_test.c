// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown: the last close or exit cancels and waits for timers in flight
 * (long ones, and 10 us periodic ones firing on another CPU), a mapping
 * keeps the port alive, and the module cannot be unloaded while a port
 * exists. A kernel report in dmesg during these tests is a failure of the
 * run (the VM runner checks the log).
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

#define PERIOD_NS	CPORT_TIMEOUT_MIN_PERIOD_NS

/* Arm @n timers on @pt, submitting in batches of at most sq_entries. */
static int arm_timers(struct port *pt, int n, __u64 off, __u32 flags,
		      __u64 period, __u64 ud)
{
	int i, batch = 0;

	for (i = 0; i < n; i++) {
		struct cport_sqe s = sqe_timeout(off, flags, 0, period, ud + i);

		if (sq_push(pt, &s))
			return -1;
		if (++batch == (int)pt->p.sq_entries || i == n - 1) {
			if (sys_enter(pt->fd, batch, 0, 0, 0) != batch)
				return -2;
			batch = 0;
		}
	}
	return 0;
}

/* Is the port still usable: a post and a NOP round trip. */
static bool port_works(struct port *pt)
{
	struct cport_sqe s = sqe_nop(0x600d);
	struct cport_cqe c;

	while (cq_pop(pt, &c))
		;
	if (sys_post(pt->fd, 0x6001, 1) || !cq_pop(pt, &c) ||
	    c.user_data != 0x6001)
		return false;
	if (sq_submit_one(pt, &s) != 1 || !cq_pop(pt, &c) ||
	    c.user_data != 0x600d)
		return false;
	return true;
}

/* After the teardowns of a test: a new port can be set up, and works. */
static void expect_module_still_works(struct __test_metadata *_metadata)
{
	struct port pt;

	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	EXPECT_TRUE(port_works(&pt));
	port_fini(&pt);
}

TEST(close_with_long_timers_in_flight)
{
	struct port pt;
	int round;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	for (round = 0; round < 5; round++) {
		ASSERT_EQ(0, port_init(&pt, 64, 512, 0));
		ASSERT_EQ(0, arm_timers(&pt, 256, 60 * NSEC_PER_SEC, 0, 0, 1));
		EXPECT_EQ(256, fdinfo(pt.fd, "inflight"));
		port_fini(&pt);
	}
	expect_module_still_works(_metadata);
}

TEST(close_with_periodic_timers_firing)
{
	struct port pt;
	int round;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	for (round = 0; round < 10; round++) {
		/* a small CQ so that shots are also being coalesced */
		ASSERT_EQ(0, port_init(&pt, 16, 32, 0));
		ASSERT_EQ(0, arm_timers(&pt, 16, PERIOD_NS,
					CPORT_TIMEOUT_MULTISHOT, 0, 1));
		sleep_ms(10 + round * 3);
		port_fini(&pt);
	}
	expect_module_still_works(_metadata);
}

TEST(close_while_reaping_periodic_timers)
{
	struct port pt;
	struct cport_cqe c;
	int round, i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	for (round = 0; round < 5; round++) {
		ASSERT_EQ(0, port_init(&pt, 8, 16, 0));
		/* long ones first: the periodic ones soon fill the CQ */
		ASSERT_EQ(0, arm_timers(&pt, 4, 60 * NSEC_PER_SEC, 0, 0, 100));
		ASSERT_EQ(0, arm_timers(&pt, 4, PERIOD_NS,
					CPORT_TIMEOUT_MULTISHOT, 0, 1));
		for (i = 0; i < 200; i++)
			cq_pop(&pt, &c);
		port_fini(&pt);
	}
}

/*
 * A process that sets up a port, arms @nlong 60 s timers and @nperiodic
 * periodic ones, and leaves with all of them in flight: it either exits
 * after @sleep_ms without closing or unmapping anything, or kills itself.
 * Run with child_run(): 0, 1000 + SIGKILL, or the step that failed.
 */
struct timers_child {
	__u32 sq_entries, cq_entries;
	int nlong, nperiodic;
	__u64 ud_long, ud_periodic;
	unsigned int sleep_ms;
	bool kill;
};

static int timers_child_fn(void *arg)
{
	const struct timers_child *tc = arg;
	struct port pt;

	if (port_init(&pt, tc->sq_entries, tc->cq_entries, 0))
		return 1;
	if (arm_timers(&pt, tc->nlong, 60 * NSEC_PER_SEC, 0, 0, tc->ud_long))
		return 2;
	if (arm_timers(&pt, tc->nperiodic, PERIOD_NS, CPORT_TIMEOUT_MULTISHOT,
		       0, tc->ud_periodic))
		return 3;
	if (tc->kill) {
		raise(SIGKILL);
		return 4;
	}
	sleep_ms(tc->sleep_ms);
	/* no close, no munmap: exit tears the port down */
	return 0;
}

TEST(exit_with_timers_in_flight)
{
	struct timers_child tc = {
		.sq_entries = 32, .cq_entries = 128,
		.nlong = 32, .ud_long = 1, .nperiodic = 8, .ud_periodic = 100,
	};
	int round;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	for (round = 0; round < 5; round++) {
		tc.sleep_ms = round * 4;
		ASSERT_EQ(0, child_run(timers_child_fn, &tc));
	}
}

TEST(killed_with_timers_in_flight)
{
	struct timers_child tc = {
		.sq_entries = 8,
		.nlong = 4, .ud_long = 10, .nperiodic = 4, .ud_periodic = 1,
		.kill = true,
	};
	int round;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	for (round = 0; round < 3; round++)
		ASSERT_EQ(1000 + SIGKILL, child_run(timers_child_fn, &tc))
			TH_LOG("not killed: 1000 + signal, or the exit status");
}

TEST(close_while_another_thread_waits)
{
	struct enter_waiter w;
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	ASSERT_EQ(0, enter_waiter_start(&w, pt.fd, 300 * NSEC_PER_MSEC));
	ASSERT_TRUE(fdinfo_wait_eq(pt.fd, "waiters", 1, 10000));
	port_fini(&pt);
	pthread_join(w.thr, NULL);
	/* the waiter's own reference kept the port alive until it left */
	EXPECT_EQ(-ETIME, w.ret);
}

TEST(mapping_keeps_port_alive_after_close)
{
	struct port pt;
	struct cport_sqe s = sqe_timeout(30 * NSEC_PER_MSEC, 0, 0, 0, 0x3e);
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	ASSERT_EQ(1, sq_submit_one(&pt, &s));
	ASSERT_EQ(0, close(pt.fd));
	pt.fd = -1;
	/* the timer is still armed: its CQE lands in the mapped ring */
	for (i = 0; i < 10000 && load_acquire(pt.cq_tail) == 0; i++)
		usleep(1000);
	ASSERT_EQ(1, load_acquire(pt.cq_tail));
	EXPECT_EQ(0x3e, pt.cqes[0].user_data);
	EXPECT_EQ(1, pt.cqes[0].res);
	EXPECT_EQ(0, pt.cqes[0].flags);
	port_fini(&pt);
}

TEST(munmap_then_close_with_timers)
{
	struct cport_params again = { .sq_entries = 4 };
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 8, 0, 0));
	ASSERT_EQ(0, arm_timers(&pt, 4, PERIOD_NS, CPORT_TIMEOUT_MULTISHOT, 0,
				1));
	port_unmap(&pt);
	sleep_ms(5);
	/* the rings are gone from user space; timers still post into them */
	EXPECT_EQ(-EBUSY, sys_setup(pt.fd, &again));
	EXPECT_EQ(4, fdinfo(pt.fd, "inflight"));
	port_fini(&pt);
}

/*
 * The last close racing timer callbacks that run on another CPU: timers are
 * armed from CPU 0, which then idles so they fire there, while CPU 1 closes
 * the port as soon as the first CQE shows. Teardown must neither wait for
 * a multishot timer's next period (4 s here) nor leave a callback touching
 * the freed port (a KASAN kernel reports that).
 */
struct close_racer {
	pthread_t thr;
	struct port pt;
	int go;			/* iteration armed; -1: stop */
	int done;		/* iteration closed */
	__u64 close_ns;
};

static void *close_racer_fn(void *arg)
{
	struct close_racer *r = arg;
	int last = 0, it;

	pin_to_cpu(1);
	for (;;) {
		__u64 t0;

		while ((it = __atomic_load_n(&r->go, __ATOMIC_ACQUIRE)) == last)
			;
		if (it < 0)
			break;
		last = it;
		while (load_acquire(r->pt.cq_tail) == 0)
			;
		t0 = now_ns(CLOCK_MONOTONIC);
		port_fini(&r->pt);
		r->close_ns = now_ns(CLOCK_MONOTONIC) - t0;
		__atomic_store_n(&r->done, it, __ATOMIC_RELEASE);
	}
	return NULL;
}

FIXTURE(close_race) {
	int unused;
};

FIXTURE_SETUP(close_race)
{
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
}

FIXTURE_TEARDOWN(close_race)
{
}

TEST_F_TIMEOUT(close_race, timer_callbacks_on_other_cpu, 300)
{
	struct close_racer r = { 0 };
	__u64 worst = 0;
	int it, k;

	CPORT_SKIP_IF_ABSENT();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	pin_to_cpu(0);
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, close_racer_fn, &r));
	for (it = 1; it <= 100 * stress_factor(); it++) {
		ASSERT_EQ(0, port_init(&r.pt, 16, 64, 0));
		/* one-shots around the first CQE, and long-period multishots */
		for (k = 0; k < 4; k++)
			ASSERT_EQ(0, arm_timers(&r.pt, 8, 100000 + k * 50000 +
						(it % 10) * 10000, 0, 0,
						1 + 8 * k));
		ASSERT_EQ(0, arm_timers(&r.pt, 4, 100000 + (it % 7) * 10000,
					CPORT_TIMEOUT_MULTISHOT,
					4 * NSEC_PER_SEC, 100));
		__atomic_store_n(&r.go, it, __ATOMIC_RELEASE);
		while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != it)
			usleep(500);
		if (r.close_ns > worst)
			worst = r.close_ns;
		EXPECT_GT(3 * NSEC_PER_SEC, r.close_ns)
			TH_LOG("iteration %d: close took %llu ms", it,
			       (unsigned long long)(r.close_ns / NSEC_PER_MSEC));
	}
	__atomic_store_n(&r.go, -1, __ATOMIC_RELEASE);
	pthread_join(r.thr, NULL);
	TH_LOG("slowest close: %llu us", (unsigned long long)(worst / 1000));
}

/* ----------------------------------------------------------------- */
/* module unload */

static bool can_unload_modules(void)
{
	return geteuid() == 0;
}

/* Try to unload the module, which must refuse: a port still exists. */
static void expect_unload_refused(struct __test_metadata *_metadata)
{
	int ret = syscall(SYS_delete_module, "cport", O_NONBLOCK) ? -errno : 0;

	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EAGAIN)
		TH_LOG("delete_module returned %d", ret);
}

TEST(unload_refused_while_port_open)
{
	int fd;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!can_unload_modules())
		SKIP(return, "needs root");
	fd = cport_open();
	ASSERT_LE(0, fd);
	expect_unload_refused(_metadata);
	close(fd);
	EXPECT_TRUE(cport_present());
}

TEST(unload_refused_while_set_up_port_open)
{
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!can_unload_modules())
		SKIP(return, "needs root");
	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	ASSERT_EQ(0, arm_timers(&pt, 2, 60 * NSEC_PER_SEC, 0, 0, 1));
	expect_unload_refused(_metadata);
	EXPECT_TRUE(port_works(&pt));
	port_fini(&pt);
}

TEST(unload_refused_while_only_a_mapping_remains)
{
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!can_unload_modules())
		SKIP(return, "needs root");
	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	close(pt.fd);
	pt.fd = -1;
	expect_unload_refused(_metadata);
	port_fini(&pt);
	EXPECT_TRUE(cport_present());
}

TEST_HARNESS_MAIN
