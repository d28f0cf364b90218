// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_OP_TIMEOUT, CPORT_OP_TIMEOUT_REMOVE and CPORT_OP_CANCEL: one-shot
 * and multishot timers on every clock, coalescing under a slow consumer,
 * IRQ-context posting racing a reaper, cancellation and every error path.
 *
 * Times are only bounded from below: under TCG a timer may be very late.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <sys/epoll.h>
#include <sys/resource.h>

#include "cport_test.h"

#define WAIT_NS		(10 * NSEC_PER_SEC)

PORT_FIXTURE(tmo, 8, 32)

/* Push and submit one SQE; ASSERTs it was consumed. */
#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(0, sq_push((pt), &__s));				\
	ASSERT_EQ(1, sys_enter((pt)->fd, 1, 0, 0, 0));			\
} while (0)

/* Reap the next CQE, waiting up to WAIT_NS. */
#define NEXT(pt, c) ASSERT_EQ(0, cq_wait((pt), (c), WAIT_NS))

static void check_oneshot(struct __test_metadata *_metadata, struct port *pt,
			  clockid_t clk, __u32 op_flags, __u64 delay_ns)
{
	__u64 start = now_ns(clk);
	__u64 off = (op_flags & CPORT_TIMEOUT_ABS) ? start + delay_ns : delay_ns;
	struct cport_cqe c;

	SUBMIT(pt, sqe_timeout(off, op_flags, 0, 0, 0x71));
	NEXT(pt, &c);
	EXPECT_LE(start + delay_ns, now_ns(clk));
	EXPECT_EQ(0x71, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

/* ----------------------------------------------------------------- */
/* one-shot */

TEST_F(tmo, relative_oneshot_fires_once_after_delay)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_MONOTONIC, 0,
		      30 * NSEC_PER_MSEC);
}

TEST_F(tmo, relative_zero_fires_at_once)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_MONOTONIC, 0, 0);
}

TEST_F(tmo, absolute_monotonic)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_MONOTONIC,
		      CPORT_TIMEOUT_ABS, 30 * NSEC_PER_MSEC);
}

TEST_F(tmo, absolute_in_the_past_fires_at_once)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(1, CPORT_TIMEOUT_ABS, 0, 0, 0x72));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x72, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, c.flags);
}

TEST_F(tmo, boottime_relative)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_BOOTTIME,
		      CPORT_TIMEOUT_BOOTTIME, 25 * NSEC_PER_MSEC);
}

TEST_F(tmo, boottime_absolute)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_BOOTTIME,
		      CPORT_TIMEOUT_BOOTTIME | CPORT_TIMEOUT_ABS,
		      25 * NSEC_PER_MSEC);
}

TEST_F(tmo, realtime_relative)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_MONOTONIC,
		      CPORT_TIMEOUT_REALTIME, 25 * NSEC_PER_MSEC);
}

TEST_F(tmo, realtime_absolute)
{
	CPORT_SKIP_IF_ABSENT();
	check_oneshot(_metadata, &self->pt, CLOCK_REALTIME,
		      CPORT_TIMEOUT_REALTIME | CPORT_TIMEOUT_ABS,
		      25 * NSEC_PER_MSEC);
}

TEST_F(tmo, oneshots_complete_in_expiry_order)
{
	static const int ms[] = { 90, 30, 60 };
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		struct cport_sqe s = sqe_timeout(ms[i] * NSEC_PER_MSEC, 0, 0,
						 0, ms[i]);

		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(3, sys_enter(self->pt.fd, 3, 0, 0, 0));
	NEXT(&self->pt, &c);
	EXPECT_EQ(30, c.user_data);
	NEXT(&self->pt, &c);
	EXPECT_EQ(60, c.user_data);
	NEXT(&self->pt, &c);
	EXPECT_EQ(90, c.user_data);
}

TEST_F(tmo, inflight_and_reserved_while_armed)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(50 * NSEC_PER_MSEC, 0, 0, 0, 1));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "reserved"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "posted"));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "posted"));
}

TEST_F(tmo, ktime_max_accepted)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(INT64_MAX, 0, 0, 0, 5));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, cq_ready(&self->pt));
	SUBMIT(&self->pt, sqe_timeout_remove(5, 6));
	NEXT(&self->pt, &c);
	if (c.user_data == 5) {
		EXPECT_EQ(-ECANCELED, c.res);
		NEXT(&self->pt, &c);
		EXPECT_EQ(6, c.user_data);
		EXPECT_EQ(0, c.res);
	} else {
		EXPECT_EQ(6, c.user_data);
		EXPECT_EQ(0, c.res);
		NEXT(&self->pt, &c);
		EXPECT_EQ(5, c.user_data);
		EXPECT_EQ(-ECANCELED, c.res);
	}
}

/* ----------------------------------------------------------------- */
/* invalid timer SQEs: each completes with -EINVAL */

PORT_FIXTURE(bad_timeout, 4, 0)

FIXTURE_VARIANT(bad_timeout) {
	__u64 off;		/* for ABS: added to CLOCK_MONOTONIC now */
	__u32 op_flags;
	__u32 len;
	__u64 addr2;
	__s32 fd;
	__u64 addr;
};

#define MS	NSEC_PER_MSEC

FIXTURE_VARIANT_ADD(bad_timeout, both_clocks) {
	.off = MS, .op_flags = CPORT_TIMEOUT_BOOTTIME | CPORT_TIMEOUT_REALTIME,
};
FIXTURE_VARIANT_ADD(bad_timeout, both_clocks_abs) {
	.off = MS, .op_flags = CPORT_TIMEOUT_BOOTTIME |
			       CPORT_TIMEOUT_REALTIME | CPORT_TIMEOUT_ABS,
};
FIXTURE_VARIANT_ADD(bad_timeout, both_clocks_multishot) {
	.off = MS, .addr2 = MS, .op_flags = CPORT_TIMEOUT_BOOTTIME |
		CPORT_TIMEOUT_REALTIME | CPORT_TIMEOUT_MULTISHOT,
};
FIXTURE_VARIANT_ADD(bad_timeout, unknown_flag_bit4) {
	.off = MS, .op_flags = 1U << 4,
};
FIXTURE_VARIANT_ADD(bad_timeout, unknown_flag_bit31) {
	.off = MS, .op_flags = 1U << 31,
};
FIXTURE_VARIANT_ADD(bad_timeout, off_above_ktime_max) {
	.off = (__u64)INT64_MAX + 1,
};
FIXTURE_VARIANT_ADD(bad_timeout, off_all_ones) {
	.off = ~0ULL,
};
FIXTURE_VARIANT_ADD(bad_timeout, abs_off_above_ktime_max) {
	.off = ~0ULL, .op_flags = CPORT_TIMEOUT_ABS,
};
FIXTURE_VARIANT_ADD(bad_timeout, oneshot_with_len) {
	.off = MS, .len = 3,
};
FIXTURE_VARIANT_ADD(bad_timeout, oneshot_with_addr2) {
	.off = MS, .addr2 = MS,
};
FIXTURE_VARIANT_ADD(bad_timeout, abs_oneshot_with_addr2) {
	.off = MS, .addr2 = MS, .op_flags = CPORT_TIMEOUT_ABS,
};
FIXTURE_VARIANT_ADD(bad_timeout, multishot_period_below_min) {
	.off = MS, .addr2 = CPORT_TIMEOUT_MIN_PERIOD_NS - 1,
	.op_flags = CPORT_TIMEOUT_MULTISHOT,
};
FIXTURE_VARIANT_ADD(bad_timeout, multishot_period_one_ns) {
	.off = MS, .addr2 = 1, .op_flags = CPORT_TIMEOUT_MULTISHOT,
};
FIXTURE_VARIANT_ADD(bad_timeout, multishot_implicit_period_below_min) {
	.off = CPORT_TIMEOUT_MIN_PERIOD_NS / 2,
	.op_flags = CPORT_TIMEOUT_MULTISHOT,
};
FIXTURE_VARIANT_ADD(bad_timeout, multishot_zero_off_no_period) {
	.off = 0, .op_flags = CPORT_TIMEOUT_MULTISHOT,
};
FIXTURE_VARIANT_ADD(bad_timeout, abs_multishot_without_period) {
	.off = MS, .op_flags = CPORT_TIMEOUT_MULTISHOT | CPORT_TIMEOUT_ABS,
};
FIXTURE_VARIANT_ADD(bad_timeout, fd_nonzero) {
	.off = MS, .fd = 1,
};
FIXTURE_VARIANT_ADD(bad_timeout, addr_nonzero) {
	.off = MS, .addr = 1,
};
FIXTURE_VARIANT_ADD(bad_timeout, multishot_addr_nonzero) {
	.off = MS, .addr = 1, .addr2 = MS, .op_flags = CPORT_TIMEOUT_MULTISHOT,
};

TEST_F(bad_timeout, completes_einval)
{
	struct port *pt = &self->pt;
	struct cport_sqe s;
	struct cport_cqe c;
	__u64 off = variant->off;

	CPORT_SKIP_IF_ABSENT();
	if ((variant->op_flags & CPORT_TIMEOUT_ABS) && off < NSEC_PER_SEC)
		off += now_ns(CLOCK_MONOTONIC);
	s = sqe_timeout(off, variant->op_flags, variant->len, variant->addr2,
			0xe1);
	s.fd = variant->fd;
	s.addr = variant->addr;
	SUBMIT(pt, s);
	NEXT(pt, &c);
	EXPECT_EQ(0xe1, c.user_data);
	EXPECT_EQ(-EINVAL, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_TRUE(quiet_for(pt, 20));
}

/* ----------------------------------------------------------------- */
/* multishot */

struct shots {
	__u64 sum;	/* sum of res */
	int cqes;
	int terminal;	/* CQEs without MORE */
	int max_res;
	int last_res;
	int bad;	/* res < 1 before the terminal */
};

/* Reap CQEs of timer @ud until its terminal CQE. */
static void collect_shots(struct __test_metadata *_metadata, struct port *pt,
			  __u64 ud, struct shots *st)
{
	struct cport_cqe c;

	memset(st, 0, sizeof(*st));
	while (!st->terminal) {
		NEXT(pt, &c);
		ASSERT_EQ(ud, c.user_data);
		st->cqes++;
		st->last_res = c.res;
		if (!(c.flags & CPORT_CQE_F_MORE)) {
			st->terminal++;
			if (c.res < 0)
				break;
		} else if (c.res < 1) {
			st->bad++;
		}
		EXPECT_EQ(0, c.flags & ~CPORT_CQE_F_MORE);
		if (c.res > 0)
			st->sum += c.res;
		if (c.res > st->max_res)
			st->max_res = c.res;
	}
}

static void check_multishot_count(struct __test_metadata *_metadata,
				  struct port *pt, __u64 off, __u32 flags,
				  __u64 period, __u32 n)
{
	struct shots st;

	SUBMIT(pt, sqe_timeout(off, CPORT_TIMEOUT_MULTISHOT | flags, n, period,
			       0x3a));
	collect_shots(_metadata, pt, 0x3a, &st);
	EXPECT_EQ(n, st.sum);
	EXPECT_EQ(0, st.bad);
	EXPECT_LE(1, st.last_res);
	EXPECT_GE((int)n, st.cqes);
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_F(tmo, multishot_count_exact)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt, 2 * MS, 0, 0, 5);
}

TEST_F(tmo, multishot_count_one)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt, MS, 0, 0, 1);
}

TEST_F(tmo, multishot_explicit_period)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt, 5 * MS, 0, 2 * MS, 6);
}

TEST_F(tmo, multishot_min_period_accepted)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt,
			      CPORT_TIMEOUT_MIN_PERIOD_NS, 0, 0, 20);
}

TEST_F(tmo, multishot_absolute_with_period)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt,
			      now_ns(CLOCK_MONOTONIC) + 2 * MS,
			      CPORT_TIMEOUT_ABS, 2 * MS, 4);
}

TEST_F(tmo, multishot_boottime)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt, MS,
			      CPORT_TIMEOUT_BOOTTIME, 0, 3);
}

TEST_F(tmo, multishot_realtime_absolute)
{
	CPORT_SKIP_IF_ABSENT();
	check_multishot_count(_metadata, &self->pt,
			      now_ns(CLOCK_REALTIME) + 2 * MS,
			      CPORT_TIMEOUT_REALTIME | CPORT_TIMEOUT_ABS,
			      MS, 3);
}

TEST_F(tmo, multishot_unlimited_cancelled_terminal)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int more = 0, remove_res = INT_MIN, terminal = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_timeout(5 * MS, CPORT_TIMEOUT_MULTISHOT, 0, 0, 0x44));
	while (more < 3) {
		NEXT(pt, &c);
		ASSERT_EQ(0x44, c.user_data);
		ASSERT_EQ(CPORT_CQE_F_MORE, c.flags);
		ASSERT_LE(1, c.res);
		more++;
	}
	SUBMIT(pt, sqe_timeout_remove(0x44, 0x45));
	while (!terminal || remove_res == INT_MIN) {
		NEXT(pt, &c);
		if (c.user_data == 0x45) {
			EXPECT_EQ(0, c.flags);
			remove_res = c.res;
			continue;
		}
		ASSERT_EQ(0x44, c.user_data);
		if (c.flags & CPORT_CQE_F_MORE) {
			EXPECT_EQ(0, terminal) TH_LOG("MORE after terminal");
			EXPECT_LE(1, c.res);
			continue;
		}
		terminal++;
		EXPECT_EQ(-ECANCELED, c.res);
		EXPECT_EQ(0, c.flags);
	}
	EXPECT_EQ(0, remove_res);
	EXPECT_EQ(1, terminal);
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_F(tmo, multishot_cancelled_by_cancel_op)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int cancel_res = INT_MIN, terminal = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_timeout(5 * MS, CPORT_TIMEOUT_MULTISHOT, 1000000, 0,
			       0x46));
	NEXT(pt, &c);
	ASSERT_EQ(0x46, c.user_data);
	ASSERT_EQ(CPORT_CQE_F_MORE, c.flags);
	SUBMIT(pt, sqe_cancel(0x46, 0, 0x47));
	while (!terminal || cancel_res == INT_MIN) {
		NEXT(pt, &c);
		if (c.user_data == 0x47) {
			cancel_res = c.res;
			continue;
		}
		ASSERT_EQ(0x46, c.user_data);
		if (!(c.flags & CPORT_CQE_F_MORE)) {
			terminal++;
			EXPECT_EQ(-ECANCELED, c.res);
		}
	}
	EXPECT_EQ(0, cancel_res);
	EXPECT_TRUE(quiet_for(pt, 20));
}

/*
 * A 2-entry CQ and a 30-shot timer that nobody reaps for a while: one CQ
 * slot is reserved for the terminal CQE, the other takes the first shot,
 * and the shots that find no slot are coalesced, never lost.
 */
TEST(multishot_slow_consumer_coalesces)
{
	const __u32 n = 30;
	struct port pt;
	struct shots st;
	long long fdinfo_overflow;
	__u32 overflow;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 1, 2, 0));
	ASSERT_EQ(2, pt.p.cq_entries);
	SUBMIT(&pt, sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT, n, 0, 0x5c));
	sleep_ms(200);
	collect_shots(_metadata, &pt, 0x5c, &st);
	overflow = load_acquire(pt.cq_overflow);
	fdinfo_overflow = fdinfo(pt.fd, "overflow");
	EXPECT_EQ(n, st.sum);
	EXPECT_EQ(0, st.bad);
	EXPECT_LT(1, st.max_res) TH_LOG("no CQE coalesced shots");
	EXPECT_LT(st.cqes, (int)n);
	EXPECT_LT(0, overflow);
	/* coalesced shots are part of the res of later CQEs */
	EXPECT_GE(st.sum - st.cqes, overflow);
	EXPECT_EQ(overflow, fdinfo_overflow);
	EXPECT_EQ(0, fdinfo(pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt.fd, "reserved"));
	port_fini(&pt);
}

/*
 * A pending expiration is reported as soon as ENTER finds a free slot, not
 * only at the next expiration (an hour away here).
 */
TEST(multishot_pending_shot_flushed_by_enter)
{
	const __u64 hour = 3600 * NSEC_PER_SEC;
	struct port pt;
	struct cport_cqe c;
	int i, waited = 0;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 1, 4, 0));
	/* 3 posts, then the timer reserves the last slot for its terminal */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, sys_post(pt.fd, i, 0));
	SUBMIT(&pt, sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT, 0, hour, 0x9a));
	EXPECT_EQ(-EAGAIN, sys_post(pt.fd, 3, 0));
	while (load_acquire(pt.cq_overflow) == 0 && waited++ < 10000)
		usleep(1000);
	ASSERT_EQ(1, load_acquire(pt.cq_overflow));
	EXPECT_EQ(1, fdinfo(pt.fd, "overflow"));
	EXPECT_EQ(3, cq_ready(&pt));
	/* free one slot: the pending shot is posted by the next ENTER */
	ASSERT_TRUE(cq_pop(&pt, &c));
	EXPECT_EQ(0, c.user_data);
	ASSERT_EQ(0, sys_enter(pt.fd, 0, 0, 0, 0));
	ASSERT_EQ(3, cq_ready(&pt));
	ASSERT_TRUE(cq_pop(&pt, &c));
	ASSERT_TRUE(cq_pop(&pt, &c));
	ASSERT_TRUE(cq_pop(&pt, &c));
	EXPECT_EQ(0x9a, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(CPORT_CQE_F_MORE, c.flags);
	EXPECT_EQ(1, load_acquire(pt.cq_overflow));
	/* and it is still armed: remove it */
	SUBMIT(&pt, sqe_timeout_remove(0x9a, 0x9b));
	for (i = 0; i < 2; i++) {
		NEXT(&pt, &c);
		if (c.user_data == 0x9b) {
			EXPECT_EQ(0, c.res);
		} else {
			EXPECT_EQ(0x9a, c.user_data);
			EXPECT_EQ(-ECANCELED, c.res);
			EXPECT_EQ(0, c.flags);
		}
	}
	EXPECT_EQ(0, fdinfo(pt.fd, "inflight"));
	port_fini(&pt);
}

/* A cancelled timer's pending (coalesced) shots are dropped with it. */
TEST(multishot_cancel_drops_pending_shots)
{
	const __u64 hour = 3600 * NSEC_PER_SEC;
	struct port pt;
	struct cport_sqe s;
	struct cport_cqe c;
	int i, ret, waited = 0, removed = 0, terminal = 0;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 1, 4, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, sys_post(pt.fd, i, 0));
	SUBMIT(&pt, sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT, 0, hour, 0x9c));
	while (load_acquire(pt.cq_overflow) == 0 && waited++ < 10000)
		usleep(1000);
	ASSERT_EQ(1, load_acquire(pt.cq_overflow));
	/* one free slot, for the removal */
	ASSERT_TRUE(cq_pop(&pt, &c));
	s = sqe_timeout_remove(0x9c, 0x9d);
	ASSERT_EQ(0, sq_push(&pt, &s));
	ret = sys_enter(pt.fd, 1, 0, 0, 0);
	if (ret == -EBUSY)
		SKIP(return, "ENTER posted the pending shot before submitting");
	ASSERT_EQ(1, ret);
	while (cq_pop(&pt, &c)) {
		if (c.user_data < 3)
			continue;
		if (c.user_data == 0x9d) {
			EXPECT_EQ(0, c.res);
			removed++;
			continue;
		}
		ASSERT_EQ(0x9c, c.user_data);
		/* no CQE reports the dropped shot */
		EXPECT_EQ(0, c.flags);
		EXPECT_EQ(-ECANCELED, c.res);
		terminal++;
	}
	EXPECT_EQ(1, removed);
	EXPECT_EQ(1, terminal);
	EXPECT_EQ(0, fdinfo(pt.fd, "inflight"));
	port_fini(&pt);
}

/*
 * Timers post from hard-IRQ context while this thread reaps and another
 * thread posts from process context, on a small CQ: every CQE arrives once.
 */
#define RACE_SHOTS	400
#define RACE_POSTS	300
#define RACE_ONESHOTS	40

struct race_poster {
	pthread_t thr;
	int fd;
	int errors;
};

static void *race_poster_fn(void *arg)
{
	struct race_poster *rp = arg;
	int i;

	for (i = 0; i < RACE_POSTS; i++)
		if (sys_post_retry(rp->fd, 0x9000000000000000ULL | i, i))
			rp->errors++;
	return NULL;
}

TEST_F_TIMEOUT(tmo, irq_posting_races_reaper, 120)
{
	struct port *pt = &self->pt;
	struct race_poster rp = { .fd = pt->fd };
	static unsigned char post_seen[RACE_POSTS], one_seen[RACE_ONESHOTS];
	__u64 sum1 = 0, sum2 = 0;
	int term1 = 0, term2 = 0, posts = 0, ones = 0, submitted = 0;
	struct cport_sqe s;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	/* one batch: the first timer could fill the CQ before a second ENTER */
	s = sqe_timeout(20000, CPORT_TIMEOUT_MULTISHOT, RACE_SHOTS, 0, 0x1);
	ASSERT_EQ(0, sq_push(pt, &s));
	s = sqe_timeout(35000, CPORT_TIMEOUT_MULTISHOT, RACE_SHOTS, 0, 0x2);
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(2, sys_enter(pt->fd, 2, 0, 0, 0));
	ASSERT_EQ(0, pthread_create(&rp.thr, NULL, race_poster_fn, &rp));
	while (!term1 || !term2 || posts < RACE_POSTS || ones < RACE_ONESHOTS) {
		if (submitted < RACE_ONESHOTS) {
			s = sqe_timeout((submitted % 7) * 100000, 0, 0, 0,
					0x8000000000000000ULL | submitted);
			if (load_relaxed(pt->sq_tail) ==
			    load_acquire(pt->sq_head))
				ASSERT_EQ(0, sq_push(pt, &s));
			if (sys_enter(pt->fd, 1, 0, 0, 0) == 1)
				submitted++;
		}
		if (!cq_pop(pt, &c)) {
			int ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT,
					    WAIT_NS);

			ASSERT_TRUE(ret == 0 || ret == -EINTR ||
				    (ret == -ETIME && cq_ready(pt)))
				TH_LOG("ENTER %d, sums %llu %llu posts %d ones %d",
				       ret, sum1, sum2, posts, ones);
			continue;
		}
		if (c.user_data == 0x1 || c.user_data == 0x2) {
			int *term = c.user_data == 0x1 ? &term1 : &term2;

			ASSERT_EQ(0, *term) TH_LOG("CQE after terminal");
			ASSERT_LE(1, c.res);
			if (c.user_data == 0x1)
				sum1 += c.res;
			else
				sum2 += c.res;
			if (!(c.flags & CPORT_CQE_F_MORE))
				(*term)++;
		} else if ((c.user_data >> 60) == 0x9) {
			int i = c.user_data & 0xffff;

			ASSERT_GT(RACE_POSTS, i);
			ASSERT_EQ(0, post_seen[i]);
			EXPECT_EQ(i, c.res);
			post_seen[i] = 1;
			posts++;
		} else {
			int i = c.user_data & 0xffff;

			ASSERT_EQ(0x8000000000000000ULL | i, c.user_data);
			ASSERT_GT(RACE_ONESHOTS, i);
			ASSERT_EQ(0, one_seen[i]);
			EXPECT_EQ(1, c.res);
			EXPECT_EQ(0, c.flags);
			one_seen[i] = 1;
			ones++;
		}
	}
	pthread_join(rp.thr, NULL);
	EXPECT_EQ(0, rp.errors);
	EXPECT_EQ(RACE_SHOTS, sum1);
	EXPECT_EQ(RACE_SHOTS, sum2);
	EXPECT_EQ(1, term1);
	EXPECT_EQ(1, term2);
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

/* ----------------------------------------------------------------- */
/* TIMEOUT_REMOVE */

TEST_F(tmo, remove_cancels_timer)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i, seen_rm = 0, seen_t = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_timeout(10 * NSEC_PER_SEC, 0, 0, 0, 0x10));
	SUBMIT(pt, sqe_timeout_remove(0x10, 0x11));
	for (i = 0; i < 2; i++) {
		NEXT(pt, &c);
		EXPECT_EQ(0, c.flags);
		if (c.user_data == 0x11) {
			seen_rm++;
			EXPECT_EQ(0, c.res);
		} else {
			seen_t++;
			EXPECT_EQ(0x10, c.user_data);
			EXPECT_EQ(-ECANCELED, c.res);
		}
	}
	EXPECT_EQ(1, seen_rm);
	EXPECT_EQ(1, seen_t);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
	EXPECT_TRUE(quiet_for(pt, 20));
}

TEST_F(tmo, remove_unknown_enoent)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(10 * NSEC_PER_SEC, 0, 0, 0, 0x10));
	SUBMIT(&self->pt, sqe_timeout_remove(0x12, 0x11));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x11, c.user_data);
	EXPECT_EQ(-ENOENT, c.res);
	/* the other timer is untouched */
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(tmo, remove_after_expiry_enoent)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(MS, 0, 0, 0, 0x20));
	NEXT(&self->pt, &c);
	EXPECT_EQ(1, c.res);
	SUBMIT(&self->pt, sqe_timeout_remove(0x20, 0x21));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x21, c.user_data);
	EXPECT_EQ(-ENOENT, c.res);
}

TEST_F(tmo, remove_twice_second_enoent)
{
	struct cport_cqe c;
	int i, enoent = 0, ok = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_timeout(10 * NSEC_PER_SEC, 0, 0, 0, 0x30));
	SUBMIT(&self->pt, sqe_timeout_remove(0x30, 0x31));
	SUBMIT(&self->pt, sqe_timeout_remove(0x30, 0x32));
	for (i = 0; i < 3; i++) {
		NEXT(&self->pt, &c);
		if (c.user_data == 0x31) {
			EXPECT_EQ(0, c.res);
			ok++;
		} else if (c.user_data == 0x32) {
			EXPECT_EQ(-ENOENT, c.res);
			enoent++;
		} else {
			EXPECT_EQ(-ECANCELED, c.res);
		}
	}
	EXPECT_EQ(1, ok);
	EXPECT_EQ(1, enoent);
}

TEST_F(tmo, remove_does_not_cancel_other_ops)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	/* a NOP that completed with the same user_data is not "in flight" */
	SUBMIT(&self->pt, sqe_nop(0x40));
	NEXT(&self->pt, &c);
	SUBMIT(&self->pt, sqe_timeout_remove(0x40, 0x41));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x41, c.user_data);
	EXPECT_EQ(-ENOENT, c.res);
}

/*
 * Remove racing the expiry. -EALREADY cannot be forced, so only check that
 * every outcome is one the spec allows, and one terminal CQE per timer.
 */
TEST_F_TIMEOUT(tmo, remove_racing_expiry_outcomes_consistent, 300)
{
	struct port *pt = &self->pt;
	int iter, cancelled = 0, already = 0, missed = 0;

	CPORT_SKIP_IF_ABSENT();
	for (iter = 0; iter < 60 * stress_factor(); iter++) {
		__u64 off = (iter % 10) * 20000;
		struct cport_sqe s1 = sqe_timeout(off, 0, 0, 0, 0xa0);
		struct cport_sqe s2 = sqe_timeout_remove(0xa0, 0xa1);
		struct cport_cqe c;
		int rm = INT_MIN, tres = INT_MIN, tcount = 0, i;
		volatile int spin;

		ASSERT_EQ(0, sq_push(pt, &s1));
		if (iter & 1) {
			ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
			for (spin = 0; spin < (iter % 10) * 500; spin++)
				;
			ASSERT_EQ(0, sq_push(pt, &s2));
			ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
		} else {
			ASSERT_EQ(0, sq_push(pt, &s2));
			ASSERT_EQ(2, sys_enter(pt->fd, 2, 0, 0, 0));
		}
		for (i = 0; i < 2; i++) {
			NEXT(pt, &c);
			EXPECT_EQ(0, c.flags);
			if (c.user_data == 0xa1) {
				rm = c.res;
			} else {
				ASSERT_EQ(0xa0, c.user_data);
				tres = c.res;
				tcount++;
			}
		}
		ASSERT_EQ(1, tcount);
		ASSERT_TRUE(quiet_for(pt, 2));
		if (rm == 0) {
			ASSERT_EQ(-ECANCELED, tres);
			cancelled++;
		} else if (rm == -EALREADY) {
			ASSERT_EQ(1, tres);
			already++;
		} else {
			ASSERT_EQ(-ENOENT, rm);
			ASSERT_EQ(1, tres);
			missed++;
		}
		ASSERT_EQ(0, fdinfo(pt->fd, "inflight"));
	}
	TH_LOG("cancelled %d, already %d, missed %d", cancelled, already,
	       missed);
}

/* ----------------------------------------------------------------- */
/* CANCEL */

/* Arm one 60 s timer per @uds entry, in order. */
static void arm_long(struct __test_metadata *_metadata, struct port *pt,
		     const __u64 *uds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		SUBMIT(pt, sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, uds[i]));
}

/*
 * Submit @s and reap until its CQE plus @want_cancelled -ECANCELED CQEs have
 * arrived. Returns the CQE's res; counts cancelled CQEs per user_data.
 */
static int cancel_and_count(struct __test_metadata *_metadata,
			    struct port *pt, struct cport_sqe s,
			    int want_cancelled, __u64 count_ud,
			    int *cancelled, int *cancelled_ud)
{
	int res = INT_MIN, got = 0;
	struct cport_cqe c;

	*cancelled = 0;
	*cancelled_ud = 0;
	if (sq_push(pt, &s) || sys_enter(pt->fd, 1, 0, 0, 0) != 1)
		return INT_MIN;
	while (res == INT_MIN || got < want_cancelled) {
		if (cq_wait(pt, &c, WAIT_NS))
			break;
		EXPECT_EQ(0, c.flags);
		if (c.user_data == s.user_data) {
			res = c.res;
			continue;
		}
		EXPECT_EQ(-ECANCELED, c.res);
		got++;
		(*cancelled)++;
		if (c.user_data == count_ud)
			(*cancelled_ud)++;
	}
	/* and no extra cancellation */
	EXPECT_TRUE(quiet_for(pt, 20));
	return res;
}

TEST_F(tmo, cancel_one_match)
{
	static const __u64 uds[] = { 0x50, 0x50, 0x51 };
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 3);
	EXPECT_EQ(0, cancel_and_count(_metadata, &self->pt,
				      sqe_cancel(0x50, 0, 0x5f), 1, 0x50,
				      &n, &n_ud));
	EXPECT_EQ(1, n);
	EXPECT_EQ(1, n_ud);
	EXPECT_EQ(2, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, cancel_and_count(_metadata, &self->pt,
				      sqe_cancel(0x50, 0, 0x5f), 1, 0x50,
				      &n, &n_ud));
	EXPECT_EQ(1, n_ud);
	EXPECT_EQ(-ENOENT, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0x50, 0, 0x5f), 0, 0,
					    &n, &n_ud));
	EXPECT_EQ(0, n);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(tmo, cancel_one_takes_oldest)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	/* same user_data: the older expires in 60 s, the newer in 200 ms */
	SUBMIT(pt, sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 0x60));
	SUBMIT(pt, sqe_timeout(200 * MS, 0, 0, 0, 0x60));
	EXPECT_EQ(0, cancel_and_count(_metadata, pt, sqe_cancel(0x60, 0, 0x6f),
				      1, 0x60, &n, &n_ud));
	EXPECT_EQ(1, n_ud);
	/* the newer one is left, and fires */
	NEXT(pt, &c);
	EXPECT_EQ(0x60, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

TEST_F(tmo, cancel_all_returns_count)
{
	static const __u64 uds[] = { 0x70, 0x71, 0x70, 0x70 };
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 4);
	EXPECT_EQ(3, cancel_and_count(_metadata, &self->pt,
				      sqe_cancel(0x70, CPORT_CANCEL_ALL, 0x7f),
				      3, 0x70, &n, &n_ud));
	EXPECT_EQ(3, n);
	EXPECT_EQ(3, n_ud);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "reserved"));
}

TEST_F(tmo, cancel_all_nothing_enoent)
{
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0x70, CPORT_CANCEL_ALL,
						       0x7f),
					    0, 0, &n, &n_ud));
}

TEST_F(tmo, cancel_nothing_enoent)
{
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0x70, 0, 0x7f), 0, 0,
					    &n, &n_ud));
}

TEST_F(tmo, cancel_any_takes_one)
{
	static const __u64 uds[] = { 0x80, 0x81, 0x82 };
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 3);
	EXPECT_EQ(0, cancel_and_count(_metadata, &self->pt,
				      sqe_cancel(0, CPORT_CANCEL_ANY, 0x8f),
				      1, 0x80, &n, &n_ud));
	EXPECT_EQ(1, n);
	EXPECT_EQ(2, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(tmo, cancel_any_all_takes_every_op)
{
	static const __u64 uds[] = { 0x90, 0x91, 0x92, 0x93, 0x93 };
	struct cport_cqe c;
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 5);
	/* a multishot timer is an in-flight op too */
	SUBMIT(&self->pt, sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT, 0,
				      3600 * NSEC_PER_SEC, 0x94));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x94, c.user_data);
	EXPECT_EQ(CPORT_CQE_F_MORE, c.flags);
	EXPECT_EQ(6, cancel_and_count(_metadata, &self->pt,
				      sqe_cancel(0, CPORT_CANCEL_ANY |
						 CPORT_CANCEL_ALL, 0x9f),
				      6, 0x93, &n, &n_ud));
	EXPECT_EQ(6, n);
	EXPECT_EQ(2, n_ud);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

TEST_F(tmo, cancel_any_nothing_enoent)
{
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0, CPORT_CANCEL_ANY,
						       0x8f),
					    0, 0, &n, &n_ud));
}

TEST_F(tmo, cancel_any_with_addr_einval)
{
	static const __u64 uds[] = { 0xa0 };
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 1);
	EXPECT_EQ(-EINVAL, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0xa0, CPORT_CANCEL_ANY,
						       0xaf),
					    0, 0, &n, &n_ud));
	EXPECT_EQ(0, n);
	EXPECT_EQ(-EINVAL, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0xa0, CPORT_CANCEL_ANY |
						       CPORT_CANCEL_ALL, 0xaf),
					    0, 0, &n, &n_ud));
	EXPECT_EQ(0, n);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(tmo, cancel_unknown_flag_einval)
{
	static const __u64 uds[] = { 0xb0 };
	int n, n_ud;

	CPORT_SKIP_IF_ABSENT();
	arm_long(_metadata, &self->pt, uds, 1);
	EXPECT_EQ(-EINVAL, cancel_and_count(_metadata, &self->pt,
					    sqe_cancel(0xb0, 1U << 3, 0xbf),
					    0, 0, &n, &n_ud));
	EXPECT_EQ(0, n);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
}

/*
 * TIMEOUT_REMOVE of a multishot timer whose callback is running on another
 * CPU, just after it posted a CQE: the remove reports success (0), so the
 * terminal -ECANCELED CQE must follow promptly, not one period later.
 *
 * The timer is armed from CPU 0, which then idles so that the timer fires
 * there; the remover spins on CPU 1 until the first CQE appears and removes
 * at once. Many epoll instances on the port make the callback's wake-up,
 * which runs after the CQ lock is dropped, long enough to land in.
 */
#define RACE_EPOLLS	800
#define RACE_PERIOD_NS	(8 * NSEC_PER_SEC)

struct remove_racer {
	pthread_t thr;
	struct port *pt;
	int go;			/* iteration to run; -1: stop */
	int done;		/* last iteration done */
	__u32 tail0;		/* CQ tail before the iteration's timer */
	int remove_res;
	int terminal_res;
	__u64 terminal_ns;	/* from the remove's return */
	bool timed_out;
};

static void *remove_racer_fn(void *arg)
{
	struct remove_racer *r = arg;
	struct port *pt = r->pt;
	int last = 0;

	pin_to_cpu(1);
	for (;;) {
		struct cport_sqe s;
		struct cport_cqe c;
		bool got_remove = false, got_terminal = false;
		__u32 tail0;
		__u64 t0;
		int it;

		while ((it = __atomic_load_n(&r->go, __ATOMIC_ACQUIRE)) == last)
			;
		if (it < 0)
			break;
		last = it;
		tail0 = r->tail0;
		/* wait for the first shot's CQE, then remove at once */
		while (load_acquire(pt->cq_tail) == tail0)
			;
		s = sqe_timeout_remove(0x1000 + it, 0x2000 + it);
		sq_push(pt, &s);
		sys_enter(pt->fd, 1, 0, 0, 0);
		t0 = now_ns(CLOCK_MONOTONIC);
		r->timed_out = false;
		while (!got_remove || !got_terminal) {
			if (cq_wait(pt, &c, 3 * NSEC_PER_SEC)) {
				r->timed_out = true;
				break;
			}
			if (c.user_data == 0x2000ULL + it) {
				r->remove_res = c.res;
				got_remove = true;
			} else if (c.user_data == 0x1000ULL + it &&
				   !(c.flags & CPORT_CQE_F_MORE)) {
				r->terminal_res = c.res;
				r->terminal_ns = now_ns(CLOCK_MONOTONIC) - t0;
				got_terminal = true;
			}
		}
		__atomic_store_n(&r->done, it, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F_TIMEOUT(tmo, multishot_remove_racing_callback_terminal_is_prompt, 300)
{
	struct remove_racer r = { .pt = &self->pt };
	int ep[RACE_EPOLLS], i, it, failures = 0, nep = RACE_EPOLLS;
	struct rlimit rl;

	CPORT_SKIP_IF_ABSENT();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < RACE_EPOLLS + 64)
		nep = rl.rlim_cur > 96 ? rl.rlim_cur - 64 : 32;
	for (i = 0; i < nep; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		ep[i] = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, ep[i]);
		ASSERT_EQ(0, epoll_ctl(ep[i], EPOLL_CTL_ADD, self->pt.fd, &ev));
	}
	pin_to_cpu(0);
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, remove_racer_fn, &r));
	for (it = 1; it <= 200 * stress_factor() && !failures; it++) {
		struct cport_sqe s = sqe_timeout(300000, CPORT_TIMEOUT_MULTISHOT,
						 0, RACE_PERIOD_NS,
						 0x1000 + it);

		r.tail0 = load_acquire(self->pt.cq_tail);
		ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
		__atomic_store_n(&r.go, it, __ATOMIC_RELEASE);
		/* idle on CPU 0, where the timer fires */
		while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != it)
			usleep(1000);
		if (r.timed_out) {
			TH_LOG("iteration %d: remove res %d, no terminal CQE 3 s later (period %llu s)",
			       it, r.remove_res,
			       (unsigned long long)(RACE_PERIOD_NS / NSEC_PER_SEC));
			failures++;
			break;
		}
		EXPECT_EQ(0, r.remove_res);
		EXPECT_EQ(-ECANCELED, r.terminal_res);
	}
	EXPECT_EQ(0, failures);
	__atomic_store_n(&r.go, -1, __ATOMIC_RELEASE);
	pthread_join(r.thr, NULL);
	for (i = 0; i < nep; i++)
		close(ep[i]);
	if (failures) {
		/* the teardown of that timer must not wait for its period */
		__u64 t0 = now_ns(CLOCK_MONOTONIC), dt;

		port_fini(&self->pt);
		dt = now_ns(CLOCK_MONOTONIC) - t0;
		EXPECT_GT(3 * NSEC_PER_SEC, dt)
			TH_LOG("close() of the port then took %llu ms",
			       (unsigned long long)(dt / NSEC_PER_MSEC));
	}
}

TEST_HARNESS_MAIN
