// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_SQE_F_DRAIN: an SQE that waits for everything submitted before it,
 * and holds up everything submitted after it; cancels that are not held
 * up; drains heading chains; teardown with SQEs deferred.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

#define WAIT_NS		(20 * NSEC_PER_SEC)

PORT_FIXTURE(drain, 64, 0);

static struct cport_sqe with(struct cport_sqe s, __u8 flags)
{
	s.flags |= flags;
	return s;
}

static struct cport_sqe pipe_read(int fd, void *buf, __u64 user_data)
{
	return sqe_rw(CPORT_OP_READ, fd, buf, 1, CPORT_POS_CURRENT, user_data);
}

/* Reaped CQEs must carry these user_data, in this order. */
#define EXPECT_ORDER(c, ...) do {					\
	__u64 want_[] = { __VA_ARGS__ };				\
	unsigned int i_;						\
									\
	for (i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++)	\
		EXPECT_EQ(want_[i_], (c)[i_].user_data);		\
} while (0)

TEST_F(drain, drain_with_nothing_before_completes)
{
	struct cport_sqe s = with(sqe_nop(1), CPORT_SQE_F_DRAIN);
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, submit_n(&self->pt, &s, 1));
	ASSERT_EQ(1, reap_n(&self->pt, &c, 1));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/* The drain waits for the read before it; the NOP after waits too. */
TEST_F(drain, drain_waits_for_earlier_and_holds_later)
{
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	EXPECT_EQ(3, fdinfo(self->pt.fd, "inflight"));
	ASSERT_EQ(1, write(p[1], "a", 1));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_ORDER(c, 1, 2, 3);
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(0, c[1].res);
	EXPECT_EQ(0, c[2].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/* A drain op in flight holds up the ops after it until it completes. */
TEST_F(drain, later_ops_wait_for_the_drain_op)
{
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = with(pipe_read(p[0], buf, 1), CPORT_SQE_F_DRAIN);
	s[1] = sqe_nop(2);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	/* Later submissions are held up as well. */
	s[0] = sqe_nop(3);
	ASSERT_EQ(1, submit_n(&self->pt, s, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 20));
	ASSERT_EQ(1, write(p[1], "b", 1));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_ORDER(c, 1, 2);
	ASSERT_EQ(1, reap_n(&self->pt, c, 1));
	EXPECT_EQ(3, c[0].user_data);
	close(p[0]);
	close(p[1]);
}

/* Drain after a timer: the timer's CQE comes first. */
TEST_F(drain, drain_after_timer)
{
	struct cport_sqe s[2] = {
		sqe_timeout(30 * NSEC_PER_MSEC, 0, 0, 0, 1),
		with(sqe_nop(2), CPORT_SQE_F_DRAIN),
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_ORDER(c, 1, 2);
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(0, c[1].res);
}

/* Two drains: each waits for all before it. */
TEST_F(drain, two_drains_in_order)
{
	struct cport_sqe s[5];
	struct cport_cqe c[5];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_timeout(20 * NSEC_PER_MSEC, 0, 0, 0, 3);
	s[3] = with(sqe_nop(4), CPORT_SQE_F_DRAIN);
	s[4] = sqe_nop(5);
	ASSERT_EQ(5, submit_n(&self->pt, s, 5));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(1, write(p[1], "c", 1));
	ASSERT_EQ(5, reap_n(&self->pt, c, 5));
	EXPECT_ORDER(c, 1, 2, 3, 4, 5);
	EXPECT_EQ(1, c[2].res);
	close(p[0]);
	close(p[1]);
}

/*
 * CANCEL is never held up: it cancels a deferred SQE, or the op a drain
 * waits for.
 */
TEST_F(drain, cancel_is_not_held_up)
{
	struct cport_sqe s[3], cs;
	struct cport_cqe c[3];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	cs = sqe_cancel(3, 0, 100);
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_ORDER(c, 3, 100);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(0, c[1].res);
	/* Cancel the read: the drain then runs. */
	cs = sqe_cancel(1, 0, 101);
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	/* The drain's CQE comes from the worker: after the cancel's. */
	EXPECT_ORDER(c, 1, 101, 2);
	EXPECT_EQ(0, c[2].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/*
 * TIMEOUT_REMOVE is not held up either, and removes a deferred timer; it
 * matches timers only. Found by make soak: the timer ran its full time.
 */
TEST_F(drain, timeout_remove_cancels_a_deferred_timer)
{
	struct cport_sqe s[4], rs;
	struct cport_cqe c[3];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_timeout(10 * NSEC_PER_SEC, 0, 0, 0, 3);
	s[3] = sqe_nop(4);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	rs = sqe_timeout_remove(3, 100);
	ASSERT_EQ(1, submit_n(&self->pt, &rs, 1));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_ORDER(c, 3, 100);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(0, c[1].res);
	/* A deferred NOP is not a timer. */
	rs = sqe_timeout_remove(4, 101);
	ASSERT_EQ(1, submit_n(&self->pt, &rs, 1));
	ASSERT_EQ(1, reap_n(&self->pt, c, 1));
	EXPECT_EQ(101, c[0].user_data);
	EXPECT_EQ(-ENOENT, c[0].res);
	ASSERT_EQ(1, write(p[1], "t", 1));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_ORDER(c, 1, 2, 4);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/*
 * CANCEL with CPORT_CANCEL_FD finds a deferred SQE by its file: the
 * drained read of the second pipe is cancelled, the NOP deferred behind
 * it (no file) is not, nor is the read of the first pipe it waits for.
 */
TEST_F(drain, cancel_by_fd_finds_a_deferred_sqe)
{
	struct cport_sqe s[3], cs;
	struct cport_cqe c[2];
	char buf[2], buf2[2];
	int p[2], q[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	ASSERT_EQ(0, pipe2(q, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(pipe_read(q[0], buf2, 2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	cs = sqe_cancel(0, CPORT_CANCEL_FD, 100);
	cs.fd = q[0];
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_ORDER(c, 2, 100);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(0, c[1].res);
	EXPECT_EQ(2, fdinfo(self->pt.fd, "inflight"));
	/* The first read ends; the NOP was never cancelled. */
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	/* In either order: the NOP may start when the drain was cancelled. */
	i = c[0].user_data == 1 ? 0 : 1;
	EXPECT_EQ(1, c[i].user_data);
	EXPECT_EQ(1, c[i].res);
	EXPECT_EQ(3, c[1 - i].user_data);
	EXPECT_EQ(0, c[1 - i].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/*
 * CANCEL with CPORT_CANCEL_ALL cancels every deferred SQE that matches,
 * each with its own -ECANCELED, but its res counts them as one: here a
 * read in flight and three deferred NOPs, all with user_data 7, make 4
 * cancelled ops and res 2.
 */
TEST_F(drain, cancel_all_counts_deferred_sqes_as_one)
{
	struct cport_sqe s[4], cs;
	struct cport_cqe c[5];
	int p[2], i, n7 = 0;
	char buf[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 7);
	s[1] = with(sqe_nop(7), CPORT_SQE_F_DRAIN);
	s[2] = sqe_nop(7);
	s[3] = sqe_nop(7);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	EXPECT_EQ(4, fdinfo(self->pt.fd, "inflight"));
	cs = sqe_cancel(7, CPORT_CANCEL_ALL, 100);
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(5, reap_n(&self->pt, c, 5));
	for (i = 0; i < 5; i++) {
		if (c[i].user_data == 100) {
			EXPECT_EQ(2, c[i].res);
			continue;
		}
		EXPECT_EQ(7, c[i].user_data);
		EXPECT_EQ(-ECANCELED, c[i].res);
		n7++;
	}
	EXPECT_EQ(4, n7);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/* A drain heading a chain: the chain starts after what came before. */
TEST_F(drain, drain_heading_a_chain)
{
	struct cport_sqe s[4];
	struct cport_cqe c[4];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = pipe_read(p[0], buf, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN | CPORT_SQE_F_LINK);
	s[2] = with(sqe_timeout(10 * NSEC_PER_MSEC, 0, 0, 0, 3),
		    CPORT_SQE_F_LINK);
	s[3] = sqe_nop(4);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(1, write(p[1], "d", 1));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_ORDER(c, 1, 2, 3, 4);
	EXPECT_EQ(1, c[2].res);
	EXPECT_EQ(0, c[3].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* Only a chain's head may drain: a member with the flag fails. */
TEST_F(drain, drain_on_chain_member_einval)
{
	struct cport_sqe s[3] = {
		with(sqe_nop(1), CPORT_SQE_F_LINK),
		with(sqe_nop(2), CPORT_SQE_F_DRAIN | CPORT_SQE_F_LINK),
		sqe_nop(3),
	};
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_ORDER(c, 1, 2, 3);
	EXPECT_EQ(0, c[0].res);
	EXPECT_EQ(-EINVAL, c[1].res);
	EXPECT_EQ(-ECANCELED, c[2].res);
}

/* Close and exit with SQEs deferred: nothing left behind. */
/*
 * A deferred SQE that names the port itself (a POST to it, behind a
 * DRAIN waiting for a timer that never fires in time) must not keep the
 * port alive once its fd is closed. Found by the fuzzer (tools/fuzz).
 */
TEST(deferred_post_to_own_port_does_not_pin_it)
{
	struct cport_sqe s[3];
	struct port pt;
	long before;

	CPORT_SKIP_IF_ABSENT();
	before = cport_module_refcnt();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
	s[0] = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 1);
	s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
	s[2] = sqe_post(pt.fd, 7, 0, 3);
	ASSERT_EQ(3, submit_n(&pt, s, 3));
	port_fini(&pt);
	EXPECT_EQ(before, cport_module_refcnt_wait(before));
}

TEST(close_and_exit_with_sqes_deferred)
{
	int round, status, p[2];
	char buf[2];
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < 20; round++) {
		struct cport_sqe s[12];
		struct port pt;
		int i;

		ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
		s[0] = pipe_read(p[0], buf, 0);
		s[1] = with(sqe_nop(1), CPORT_SQE_F_DRAIN);
		for (i = 2; i < 12; i++)
			s[i] = (i % 3) ? sqe_nop(i) :
			       with(sqe_timeout(NSEC_PER_SEC, 0, 0, 0, i),
				    CPORT_SQE_F_LINK);
		ASSERT_EQ(12, submit_n(&pt, s, 12));
		port_fini(&pt);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s[3];
		struct port pt;

		if (port_init(&pt, 16, 0, 0))
			_exit(1);
		s[0] = pipe_read(p[0], buf, 0);
		s[1] = with(sqe_nop(1), CPORT_SQE_F_DRAIN);
		s[2] = sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT, 2);
		_exit(submit_n(&pt, s, 3) == 3 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(p[0]);
	close(p[1]);
}

/*
 * The drain's op never completes before the op in front of it, however
 * the write that ends that op races the submission.
 */
TEST_F_TIMEOUT(drain, drain_order_holds_under_races, 300)
{
	int rounds = 300 * stress_factor();
	int round, p[2];
	char buf[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < rounds; round++) {
		struct cport_sqe s[3];
		struct cport_cqe c[3];

		s[0] = pipe_read(p[0], buf, 1);
		s[1] = with(sqe_nop(2), CPORT_SQE_F_DRAIN);
		s[2] = sqe_nop(3);
		ASSERT_EQ(1, submit_n(&self->pt, s, 1));
		if (round & 1)
			ASSERT_EQ(1, write(p[1], "e", 1));
		ASSERT_EQ(2, submit_n(&self->pt, s + 1, 2));
		if (!(round & 1))
			ASSERT_EQ(1, write(p[1], "e", 1));
		ASSERT_EQ(3, reap_n(&self->pt, c, 3));
		ASSERT_EQ(1, c[0].user_data);
		ASSERT_EQ(2, c[1].user_data);
		ASSERT_EQ(3, c[2].user_data);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
