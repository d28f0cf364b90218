// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_IOC_ENTER: argument checks, submission, SQE validation, ring
 * wraparound, CQ back-pressure and the wait (timeout, signals).
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

FIXTURE(ring) {
	struct port pt;
};

FIXTURE_SETUP(ring)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 8, 0, 0));
	ASSERT_EQ(8, self->pt.p.sq_entries);
	ASSERT_EQ(16, self->pt.p.cq_entries);
}

FIXTURE_TEARDOWN(ring)
{
	port_fini(&self->pt);
}

/* ----------------------------------------------------------------- */
/* argument checks */

TEST_F(ring, unknown_flags_einval)
{
	int bit;

	CPORT_SKIP_IF_ABSENT();
	for (bit = 1; bit < 32; bit++)
		EXPECT_EQ(-EINVAL, sys_enter(self->pt.fd, 0, 0, 1U << bit, 0))
			TH_LOG("flag bit %d accepted", bit);
}

TEST_F(ring, nonzero_resv0_einval)
{
	struct cport_enter e = { .resv0 = 1 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_enter_raw(self->pt.fd, &e));
}

TEST_F(ring, nonzero_resv_einval)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		struct cport_enter e = { 0 };

		e.resv[i] = 1ULL << 63;
		EXPECT_EQ(-EINVAL, sys_enter_raw(self->pt.fd, &e))
			TH_LOG("resv[%d] accepted", i);
	}
}

TEST_F(ring, min_complete_above_cq_entries_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_enter(self->pt.fd, 0, 17, 0, 0));
	EXPECT_EQ(-EINVAL, sys_enter(self->pt.fd, 0, 0xffffffffU,
				     CPORT_ENTER_TIMEOUT, 0));
}

TEST_F(ring, min_complete_equal_cq_entries_accepted)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ETIME, sys_enter(self->pt.fd, 0, 16, CPORT_ENTER_TIMEOUT,
				    0));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, sys_post(self->pt.fd, i, 0));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 16, 0, 0));
}

TEST_F(ring, timeout_without_flag_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_enter(self->pt.fd, 0, 0, 0, 1));
	EXPECT_EQ(-EINVAL, sys_enter(self->pt.fd, 0, 1, 0, NSEC_PER_SEC));
}

TEST_F(ring, null_arg_efault)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(ring, unmapped_arg_efault)
{
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER, bad));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, 4096);
}

TEST_F(ring, invalid_args_consume_nothing)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(1);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(-EINVAL, sys_enter(pt->fd, 1, 0, 1U << 7, 0));
	EXPECT_EQ(-EINVAL, sys_enter(pt->fd, 1, 0, 0, 5));
	EXPECT_EQ(-EINVAL, sys_enter(pt->fd, 1, 17, 0, 0));
	EXPECT_EQ(0, load_acquire(pt->sq_head));
	EXPECT_EQ(0, cq_ready(pt));
	/* the SQE is still there to submit */
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
}

TEST_F(ring, nothing_to_do_returns_zero)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 0, 0, 0));
	/* to_submit with nothing published consumes nothing */
	EXPECT_EQ(0, sys_enter(self->pt.fd, 4, 0, 0, 0));
	EXPECT_EQ(0, load_acquire(self->pt.sq_head));
}

/* ----------------------------------------------------------------- */
/* submission */

TEST_F(ring, nop_round_trip)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(0xdeadbeefcafef00dULL);
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	EXPECT_EQ(1, load_acquire(pt->cq_tail));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xdeadbeefcafef00dULL, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_FALSE(cq_pop(pt, &c));
}

TEST_F(ring, submit_capped_at_published)
{
	struct port *pt = &self->pt;
	struct cport_sqe s;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		s = sqe_nop(i);
		ASSERT_EQ(0, sq_push(pt, &s));
	}
	EXPECT_EQ(2, sys_enter(pt->fd, 5, 0, 0, 0));
	EXPECT_EQ(2, load_acquire(pt->sq_head));
	EXPECT_EQ(2, cq_ready(pt));
}

TEST_F(ring, submit_only_to_submit)
{
	struct port *pt = &self->pt;
	struct cport_sqe s;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		s = sqe_nop(100 + i);
		ASSERT_EQ(0, sq_push(pt, &s));
	}
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	EXPECT_EQ(1, cq_ready(pt));
	EXPECT_EQ(2, sys_enter(pt->fd, 2, 0, 0, 0));
	EXPECT_EQ(3, load_acquire(pt->sq_head));
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(100 + i, c.user_data);
	}
}

TEST_F(ring, invalid_sqe_does_not_stop_batch)
{
	struct port *pt = &self->pt;
	struct cport_sqe s;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	s = sqe_nop(1);
	ASSERT_EQ(0, sq_push(pt, &s));
	s = sqe_nop(2);
	s.opcode = 0xee;
	ASSERT_EQ(0, sq_push(pt, &s));
	s = sqe_nop(3);
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(3, sys_enter(pt->fd, 3, 0, 0, 0));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(0, c.res);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-EINVAL, c.res);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(0, c.res);
}

/* An 8-entry SQ and 16-entry CQ go round 130 times, in odd batch sizes. */
TEST_F(ring, wraparound_many_laps)
{
	struct port *pt = &self->pt;
	const __u64 total = 8 * 130;
	__u64 sent = 0, seen = 0;
	unsigned int iter = 0;

	CPORT_SKIP_IF_ABSENT();
	while (sent < total) {
		__u32 batch = iter++ % 8 + 1;
		__u32 i;

		if (batch > total - sent)
			batch = total - sent;
		for (i = 0; i < batch; i++) {
			struct cport_sqe s = sqe_nop(0x1000000 + sent + i);

			ASSERT_EQ(0, sq_push(pt, &s));
		}
		ASSERT_EQ((int)batch, sys_enter(pt->fd, batch, batch, 0, 0));
		sent += batch;
		ASSERT_EQ((__u32)sent, load_acquire(pt->sq_head));
		for (i = 0; i < batch; i++) {
			struct cport_cqe c;

			ASSERT_TRUE(cq_pop(pt, &c));
			ASSERT_EQ(0x1000000 + seen, c.user_data);
			ASSERT_EQ(0, c.res);
			ASSERT_EQ(0, c.flags);
			seen++;
		}
		ASSERT_EQ(0, cq_ready(pt));
	}
	EXPECT_EQ(total, seen);
	EXPECT_EQ((long long)total, fdinfo(pt->fd, "posted"));
}

/* ----------------------------------------------------------------- */
/* CQ back-pressure */

static void submit_nops(struct __test_metadata *_metadata, struct port *pt,
			int n, __u64 ud)
{
	int i;

	for (i = 0; i < n; i++) {
		struct cport_sqe s = sqe_nop(ud + i);

		ASSERT_EQ(0, sq_push(pt, &s));
	}
	ASSERT_EQ(n, sys_enter(pt->fd, n, 0, 0, 0));
}

TEST_F(ring, cq_full_ebusy_consumes_nothing)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(16);
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	submit_nops(_metadata, pt, 8, 0);
	submit_nops(_metadata, pt, 8, 8);
	ASSERT_EQ(16, cq_ready(pt));
	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(16, load_acquire(pt->sq_head));
	EXPECT_EQ(16, load_acquire(pt->cq_tail));
	EXPECT_EQ(16, fdinfo(pt->fd, "posted"));
	/* again: still busy, still nothing consumed */
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(16, load_acquire(pt->sq_head));
	/* reaping one makes room for exactly one */
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0, c.user_data);
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(17, load_acquire(pt->sq_head));
	EXPECT_EQ(17, load_acquire(pt->cq_tail));
	EXPECT_EQ(16, pt->cqes[16 & 15].user_data);
}

TEST_F(ring, cq_full_partial_batch_returns_count)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 14; i++)
		ASSERT_EQ(0, sys_post(pt->fd, i, 0));
	for (i = 0; i < 5; i++) {
		struct cport_sqe s = sqe_nop(100 + i);

		ASSERT_EQ(0, sq_push(pt, &s));
	}
	EXPECT_EQ(2, sys_enter(pt->fd, 5, 0, 0, 0));
	EXPECT_EQ(2, load_acquire(pt->sq_head));
	EXPECT_EQ(16, cq_ready(pt));
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 3, 0, 0, 0));
	EXPECT_EQ(2, load_acquire(pt->sq_head));
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(i, c.user_data);
	}
	EXPECT_EQ(3, sys_enter(pt->fd, 3, 0, 0, 0));
	EXPECT_EQ(5, load_acquire(pt->sq_head));
	for (i = 3; i < 14; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(i, c.user_data);
	}
	for (i = 0; i < 5; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(100 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
	EXPECT_FALSE(cq_pop(pt, &c));
}

TEST_F(ring, inflight_reservations_count_as_full)
{
	struct port *pt = &self->pt;
	struct cport_sqe s;
	struct cport_cqe c;
	int i, cancelled = 0, cancel_res = -1;

	CPORT_SKIP_IF_ABSENT();
	/* 15 long timers reserve 15 of the 16 CQ slots */
	for (i = 0; i < 15; i++) {
		s = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 500 + i);
		ASSERT_EQ(0, sq_push(pt, &s));
		if (i == 7)
			ASSERT_EQ(8, sys_enter(pt->fd, 8, 0, 0, 0));
	}
	ASSERT_EQ(7, sys_enter(pt->fd, 7, 0, 0, 0));
	EXPECT_EQ(15, fdinfo(pt->fd, "reserved"));
	EXPECT_EQ(15, fdinfo(pt->fd, "inflight"));
	submit_nops(_metadata, pt, 1, 1);
	/* the ring holds one CQE, yet it is full */
	EXPECT_EQ(1, cq_ready(pt));
	s = sqe_nop(2);
	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(-EAGAIN, sys_post(pt->fd, 3, 0));
	/* drop that NOP SQE: reap, then cancel every timer */
	ASSERT_TRUE(cq_pop(pt, &c));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(2, c.user_data);
	s = sqe_cancel(0, CPORT_CANCEL_ANY | CPORT_CANCEL_ALL, 999);
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 16, CPORT_ENTER_TIMEOUT,
			       5 * NSEC_PER_SEC));
	while (cq_pop(pt, &c)) {
		if (c.user_data == 999) {
			cancel_res = c.res;
			continue;
		}
		EXPECT_LE(500, c.user_data);
		EXPECT_GT(515, c.user_data);
		EXPECT_EQ(-ECANCELED, c.res);
		EXPECT_EQ(0, c.flags);
		cancelled++;
	}
	EXPECT_EQ(15, cancel_res);
	EXPECT_EQ(15, cancelled);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

/* ----------------------------------------------------------------- */
/* waiting */

TEST_F(ring, wait_timeout_etime)
{
	const __u64 want = 50 * NSEC_PER_MSEC;
	__u64 t0, t1;

	CPORT_SKIP_IF_ABSENT();
	t0 = now_ns(CLOCK_MONOTONIC);
	EXPECT_EQ(-ETIME, sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT,
				    want));
	t1 = now_ns(CLOCK_MONOTONIC);
	EXPECT_LE(want, t1 - t0);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

TEST_F(ring, wait_timeout_zero_etime_without_sleeping)
{
	CPORT_SKIP_IF_ABSENT();
	/* a sleep here would be caught by the harness timeout */
	EXPECT_EQ(-ETIME, sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT,
				    0));
	EXPECT_EQ(-ETIME, sys_enter(self->pt.fd, 0, 16, CPORT_ENTER_TIMEOUT,
				    0));
}

TEST_F(ring, wait_timeout_zero_satisfied_returns_zero)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT, 0));
	EXPECT_EQ(-ETIME, sys_enter(self->pt.fd, 0, 2, CPORT_ENTER_TIMEOUT,
				    0));
}

/* A thread that unblocks ENTER by posting if it did not return in time. */
struct watchdog {
	pthread_t thr;
	int fd;
	int delay_ms;
	volatile int done;
	volatile int fired;
};

static void *watchdog_fn(void *arg)
{
	struct watchdog *w = arg;
	int i;

	for (i = 0; i < w->delay_ms && !w->done; i++)
		usleep(1000);
	if (!w->done) {
		w->fired = 1;
		sys_post(w->fd, 0xdead, 0);
	}
	return NULL;
}

TEST_F(ring, wait_already_satisfied_returns_at_once)
{
	struct watchdog w = { .fd = self->pt.fd, .delay_ms = 5000 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 2));
	ASSERT_EQ(0, pthread_create(&w.thr, NULL, watchdog_fn, &w));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 2, 0, 0));
	w.done = 1;
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.fired) TH_LOG("ENTER slept with min_complete met");
	EXPECT_EQ(2, cq_ready(&self->pt));
}

struct poster {
	pthread_t thr;
	int fd;
	int wait_waiters;	/* wait for this many waiters first */
	int n;
	__u64 ud;
};

static void *poster_fn(void *arg)
{
	struct poster *p = arg;
	int i;

	if (p->wait_waiters)
		fdinfo_wait_eq(p->fd, "waiters", p->wait_waiters, 10000);
	for (i = 0; i < p->n; i++)
		sys_post_retry(p->fd, p->ud + i, 0);
	return NULL;
}

TEST_F(ring, wait_counts_cqes_already_present)
{
	struct poster p = { .fd = self->pt.fd, .wait_waiters = 1, .n = 1,
			    .ud = 2 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 0));
	ASSERT_EQ(0, pthread_create(&p.thr, NULL, poster_fn, &p));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 2, 0, 0));
	pthread_join(p.thr, NULL);
	EXPECT_EQ(2, cq_ready(&self->pt));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

TEST_F(ring, wait_woken_by_post_from_other_thread)
{
	struct poster p = { .fd = self->pt.fd, .wait_waiters = 1, .n = 3,
			    .ud = 10 };
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&p.thr, NULL, poster_fn, &p));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 3, 0, 0));
	EXPECT_LE(3, cq_ready(&self->pt));
	pthread_join(p.thr, NULL);
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(cq_pop(&self->pt, &c));
		EXPECT_EQ(10 + i, c.user_data);
	}
}

TEST_F(ring, submit_and_wait_returns_consumed_count)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(77);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 1, 0, 0));
	EXPECT_EQ(1, cq_ready(pt));
}

TEST_F(ring, consumed_count_hides_wait_timeout)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(78);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	/* the wait for 2 times out, but one SQE was consumed */
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 2, CPORT_ENTER_TIMEOUT,
			       10 * NSEC_PER_MSEC));
	EXPECT_EQ(1, cq_ready(pt));
}

/* EINTR: a signal during the wait, never restarted. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

struct kicker {
	pthread_t thr;
	pthread_t target;
	int fd;
	volatile int returned;
	volatile int unblocked;
	volatile int saw_waiter;
};

static void *kicker_fn(void *arg)
{
	struct kicker *k = arg;
	int i;

	k->saw_waiter = fdinfo_wait_eq(k->fd, "waiters", 1, 10000);
	pthread_kill(k->target, SIGUSR1);
	/* if ENTER was restarted, unblock it so the test fails, not hangs */
	for (i = 0; i < 3000 && !k->returned; i++)
		usleep(1000);
	if (!k->returned) {
		k->unblocked = 1;
		sys_post(k->fd, 0xdead, 0);
	}
	return NULL;
}

static void check_wait_eintr(struct __test_metadata *_metadata, int fd,
			     int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };
	struct kicker k = { .target = pthread_self(), .fd = fd };
	int ret;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	got_signal = 0;
	ASSERT_EQ(0, pthread_create(&k.thr, NULL, kicker_fn, &k));
	ret = sys_enter(fd, 0, 1, 0, 0);
	k.returned = 1;
	pthread_join(k.thr, NULL);
	EXPECT_TRUE(k.saw_waiter);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(1, got_signal);
	EXPECT_EQ(0, k.unblocked) TH_LOG("ENTER was restarted after a signal");
	EXPECT_EQ(0, fdinfo(fd, "waiters"));
}

TEST_F(ring, wait_signal_eintr_without_sa_restart)
{
	CPORT_SKIP_IF_ABSENT();
	check_wait_eintr(_metadata, self->pt.fd, 0);
}

TEST_F(ring, wait_signal_eintr_even_with_sa_restart)
{
	CPORT_SKIP_IF_ABSENT();
	check_wait_eintr(_metadata, self->pt.fd, SA_RESTART);
}

TEST_F(ring, wait_signal_eintr_with_timeout)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct kicker k = { .target = pthread_self(), .fd = self->pt.fd };
	int ret;

	CPORT_SKIP_IF_ABSENT();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&k.thr, NULL, kicker_fn, &k));
	ret = sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT,
			20 * NSEC_PER_SEC);
	k.returned = 1;
	pthread_join(k.thr, NULL);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(0, k.unblocked);
}

/* ----------------------------------------------------------------- */
/* SQE validation: every opcode, every field it does not use */

enum sqe_field {
	F_NONE, F_FLAGS, F_RESV0, F_FD, F_OFF, F_ADDR, F_LEN, F_OPFLAGS,
	F_ADDR2, F_RESV_0, F_RESV_1, F_OPCODE,
};

PORT_FIXTURE(bad_sqe, 8, 0)

FIXTURE_VARIANT(bad_sqe) {
	__u8 opcode;
	enum sqe_field field;
	__u64 value;
	int expect;	/* res of the SQE's CQE */
};

#define BAD(op, f, v)	{ .opcode = op, .field = f, .value = v,	\
			  .expect = -EINVAL }
#define NOP	CPORT_OP_NOP
#define POST	CPORT_OP_POST
#define TMO	CPORT_OP_TIMEOUT
#define RM	CPORT_OP_TIMEOUT_REMOVE
#define CANCEL	CPORT_OP_CANCEL

FIXTURE_VARIANT_ADD(bad_sqe, unknown_opcode_last)
	BAD(0, F_OPCODE, CPORT_OP_LAST);
FIXTURE_VARIANT_ADD(bad_sqe, unknown_opcode_128) BAD(0, F_OPCODE, 128);
FIXTURE_VARIANT_ADD(bad_sqe, unknown_opcode_255) BAD(0, F_OPCODE, 255);

FIXTURE_VARIANT_ADD(bad_sqe, nop_valid) {
	.opcode = CPORT_OP_NOP, .field = F_NONE, .expect = 0,
};
FIXTURE_VARIANT_ADD(bad_sqe, nop_flags) BAD(NOP, F_FLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_flags_high) BAD(NOP, F_FLAGS, 0x80);
FIXTURE_VARIANT_ADD(bad_sqe, nop_resv0) BAD(NOP, F_RESV0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_fd) BAD(NOP, F_FD, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_fd_negative) BAD(NOP, F_FD, -1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_off) BAD(NOP, F_OFF, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_addr) BAD(NOP, F_ADDR, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_len) BAD(NOP, F_LEN, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_op_flags) BAD(NOP, F_OPFLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_addr2) BAD(NOP, F_ADDR2, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_resv_0) BAD(NOP, F_RESV_0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_resv_1) BAD(NOP, F_RESV_1, 1ULL << 63);

FIXTURE_VARIANT_ADD(bad_sqe, post_valid) {
	.opcode = CPORT_OP_POST, .field = F_NONE, .expect = 0,
};
FIXTURE_VARIANT_ADD(bad_sqe, post_flags) BAD(POST, F_FLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_resv0) BAD(POST, F_RESV0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_off) BAD(POST, F_OFF, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_op_flags) BAD(POST, F_OPFLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_addr2) BAD(POST, F_ADDR2, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_resv_0) BAD(POST, F_RESV_0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, post_resv_1) BAD(POST, F_RESV_1, 1);

FIXTURE_VARIANT_ADD(bad_sqe, timeout_valid) {
	.opcode = CPORT_OP_TIMEOUT, .field = F_NONE, .expect = 1,
};
FIXTURE_VARIANT_ADD(bad_sqe, timeout_flags) BAD(TMO, F_FLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_resv0) BAD(TMO, F_RESV0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_fd) BAD(TMO, F_FD, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_addr) BAD(TMO, F_ADDR, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_oneshot_len) BAD(TMO, F_LEN, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_oneshot_addr2) BAD(TMO, F_ADDR2, 20000);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_unknown_op_flag)
	BAD(TMO, F_OPFLAGS, 1U << 4);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_resv_0) BAD(TMO, F_RESV_0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_resv_1) BAD(TMO, F_RESV_1, 1);

FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_valid) {
	.opcode = CPORT_OP_TIMEOUT_REMOVE, .field = F_NONE, .expect = -ENOENT,
};
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_flags) BAD(RM, F_FLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_resv0) BAD(RM, F_RESV0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_fd) BAD(RM, F_FD, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_off) BAD(RM, F_OFF, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_len) BAD(RM, F_LEN, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_op_flags) BAD(RM, F_OPFLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_addr2) BAD(RM, F_ADDR2, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_resv_0) BAD(RM, F_RESV_0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_remove_resv_1) BAD(RM, F_RESV_1, 1);

FIXTURE_VARIANT_ADD(bad_sqe, cancel_valid) {
	.opcode = CPORT_OP_CANCEL, .field = F_NONE, .expect = -ENOENT,
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_flags) BAD(CANCEL, F_FLAGS, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_resv0) BAD(CANCEL, F_RESV0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_fd) BAD(CANCEL, F_FD, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_off) BAD(CANCEL, F_OFF, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_len) BAD(CANCEL, F_LEN, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_addr2) BAD(CANCEL, F_ADDR2, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_unknown_op_flag)
	BAD(CANCEL, F_OPFLAGS, 1U << 3);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_any_with_addr)
	BAD(CANCEL, F_OPFLAGS, CPORT_CANCEL_ANY);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_fd_with_addr)
	BAD(CANCEL, F_OPFLAGS, CPORT_CANCEL_FD);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_resv_0) BAD(CANCEL, F_RESV_0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cancel_resv_1) BAD(CANCEL, F_RESV_1, 1);

#define BAD_UD		0xbad5e0000000abcdULL
#define TARGET_UD	0x7700770077007700ULL

/* A valid SQE of @op, for which only the variant's field is then changed. */
static struct cport_sqe valid_sqe(__u8 op, int port_fd)
{
	switch (op) {
	case CPORT_OP_POST:
		/* posts to this same port */
		return sqe_post(port_fd, TARGET_UD, 5, BAD_UD);
	case CPORT_OP_TIMEOUT:
		return sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, BAD_UD);
	case CPORT_OP_TIMEOUT_REMOVE:
		return sqe_timeout_remove(0x999, BAD_UD);
	case CPORT_OP_CANCEL:
		return sqe_cancel(0x999, 0, BAD_UD);
	default:
		return sqe_nop(BAD_UD);
	}
}

TEST_F(bad_sqe, completes_with_expected_res)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = valid_sqe(variant->opcode, pt->fd);
	struct cport_cqe c;
	int found = 0, others = 0;

	CPORT_SKIP_IF_ABSENT();
	switch (variant->field) {
	case F_NONE:
		break;
	case F_OPCODE:
		s.opcode = variant->value;
		break;
	case F_FLAGS:
		s.flags = variant->value;
		break;
	case F_RESV0:
		s.resv0 = variant->value;
		break;
	case F_FD:
		s.fd = variant->value;
		break;
	case F_OFF:
		s.off = variant->value;
		break;
	case F_ADDR:
		s.addr = variant->value;
		break;
	case F_LEN:
		s.len = variant->value;
		break;
	case F_OPFLAGS:
		s.op_flags = variant->value;
		break;
	case F_ADDR2:
		s.addr2 = variant->value;
		break;
	case F_RESV_0:
		s.resv[0] = variant->value;
		break;
	case F_RESV_1:
		s.resv[1] = variant->value;
		break;
	}
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	/* the one terminal CQE of the SQE */
	while (!found) {
		ASSERT_EQ(0, cq_wait(pt, &c, 5 * NSEC_PER_SEC));
		if (c.user_data != BAD_UD) {
			others++;
			EXPECT_EQ(TARGET_UD, c.user_data);
			EXPECT_EQ(5, c.res);
			continue;
		}
		found = 1;
		EXPECT_EQ(variant->expect, c.res);
		EXPECT_EQ(0, c.flags);
	}
	/* a valid post also posted its target CQE; nothing else came */
	if (variant->opcode == CPORT_OP_POST && variant->expect == 0) {
		if (!others) {
			ASSERT_EQ(0, cq_wait(pt, &c, NSEC_PER_SEC));
			EXPECT_EQ(TARGET_UD, c.user_data);
			EXPECT_EQ(5, c.res);
			EXPECT_EQ(0, c.flags);
		}
	} else {
		EXPECT_EQ(0, others);
	}
	EXPECT_EQ(0, cq_ready(pt));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

/*
 * Inline CQEs are posted in batches of a fixed size (32 in the module):
 * 100 NOPs in one ENTER fill several batches, and every CQE still comes
 * out once, in submission order; a NOP with a reserved field set fails in
 * its place without breaking the batch it is in.
 */
PORT_FIXTURE(big, 128, 0)

TEST_F(big, hundred_nops_in_order_across_batches)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 100; i++) {
		struct cport_sqe s = sqe_nop(0x5000 + i);

		if (i % 33 == 32)
			s.resv0 = 1;
		ASSERT_EQ(0, sq_push(pt, &s));
	}
	ASSERT_EQ(100, sys_enter(pt->fd, 100, 100, 0, 0));
	ASSERT_EQ(100, cq_ready(pt));
	for (i = 0; i < 100; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(0x5000 + i, c.user_data);
		EXPECT_EQ(i % 33 == 32 ? -EINVAL : 0, c.res);
		EXPECT_EQ(0, c.flags);
	}
	EXPECT_FALSE(cq_pop(pt, &c));
	EXPECT_EQ(100, fdinfo(pt->fd, "posted"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_HARNESS_MAIN
