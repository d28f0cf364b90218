// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_SQE_F_LINK: chains of SQEs that start one after the other, an
 * error that cancels the rest, cancelling members, descriptors resolved at
 * submission, and teardown with chains waiting.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

#define WAIT_NS		(20 * NSEC_PER_SEC)

PORT_FIXTURE(link, 256, 0);

static struct cport_sqe linked(struct cport_sqe s)
{
	s.flags |= CPORT_SQE_F_LINK;
	return s;
}

TEST_F(link, nops_complete_in_order)
{
	struct cport_sqe s[4] = {
		linked(sqe_nop(1)), linked(sqe_nop(2)), linked(sqe_nop(3)),
		sqe_nop(4),
	};
	struct cport_cqe c[4];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ((__u64)i + 1, c[i].user_data);
		EXPECT_EQ(0, c[i].res);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/* A member starts only after the op in front of it: a timer here. */
TEST_F(link, member_waits_for_timer_in_front)
{
	struct cport_sqe s[3] = {
		linked(sqe_timeout(100 * NSEC_PER_MSEC, 0, 0, 0, 1)),
		linked(sqe_nop(2)), sqe_nop(3),
	};
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	/* Both members wait, holding their CQ slots. */
	EXPECT_EQ(3, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(3, fdinfo(self->pt.fd, "reserved"));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(1, c[0].res);	/* the timer expired once */
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(0, c[1].res);
	EXPECT_EQ(3, c[2].user_data);
	EXPECT_EQ(0, c[2].res);
}

/* An error breaks the chain: the members behind it are cancelled. */
TEST_F(link, error_cancels_the_rest)
{
	char buf[8];
	struct cport_sqe s[4] = {
		linked(sqe_nop(1)),
		linked(sqe_rw(CPORT_OP_READ, -1, buf, sizeof(buf), 0, 2)),
		linked(sqe_nop(3)), sqe_nop(4),
	};
	struct cport_cqe c[4];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(0, c[0].res);
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(-EBADF, c[1].res);
	EXPECT_EQ(3, c[2].user_data);
	EXPECT_EQ(-ECANCELED, c[2].res);
	EXPECT_EQ(4, c[3].user_data);
	EXPECT_EQ(-ECANCELED, c[3].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* A bad member (here: unknown opcode) fails where it stands. */
TEST_F(link, invalid_member_fails_and_cancels_after_it)
{
	struct cport_sqe bad = sqe_nop(2);
	struct cport_sqe s[3];
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	bad.opcode = 0xee;
	s[0] = linked(sqe_timeout(10 * NSEC_PER_MSEC, 0, 0, 0, 1));
	s[1] = linked(bad);
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(-EINVAL, c[1].res);
	EXPECT_EQ(-ECANCELED, c[2].res);
}

/*
 * Write, fsync, read back: each starts after the one before; the read sees
 * what the write wrote.
 */
TEST_F(link, write_fsync_read_back)
{
	char out[] = "linked write", in[sizeof(out)] = { 0 };
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	char path[64];
	int f;

	CPORT_SKIP_IF_ABSENT();
	snprintf(path, sizeof(path), "link_test.%d", getpid());
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, f);
	s[0] = linked(sqe_rw(CPORT_OP_WRITE, f, out, sizeof(out), 100, 1));
	s[1] = linked((struct cport_sqe){ .opcode = CPORT_OP_FSYNC, .fd = f,
					  .user_data = 2 });
	s[2] = sqe_rw(CPORT_OP_READ, f, in, sizeof(in), 100, 3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ((int)sizeof(out), c[0].res);
	EXPECT_EQ(0, c[1].res);
	EXPECT_EQ((int)sizeof(out), c[2].res);
	EXPECT_STREQ(out, in);
	close(f);
	unlink(path);
}

/*
 * A member's descriptor is the file it named at submission: closing the
 * descriptor meanwhile changes nothing; a bad one fails with -EBADF when
 * the member's turn comes.
 */
TEST_F(link, member_fd_resolved_at_submission)
{
	char out[] = "x", in[4] = { 0 }, buf[2];
	struct cport_sqe s[4];
	struct cport_cqe c[4];
	char path[64];
	int p[2], f;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	snprintf(path, sizeof(path), "link_fd.%d", getpid());
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(3, pwrite(f, "abc", 3, 0));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_rw(CPORT_OP_READ, f, in, 3, 0, 2));
	s[2] = linked(sqe_rw(CPORT_OP_READ, 1000, in, 3, 0, 3));
	s[3] = sqe_nop(4);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	/* The pipe read waits; the members behind it too. */
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	close(f);
	unlink(path);
	ASSERT_EQ(1, write(p[1], out, 1));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(3, c[1].res);
	EXPECT_STREQ("abc", in);
	EXPECT_EQ(-EBADF, c[2].res);
	EXPECT_EQ(-ECANCELED, c[3].res);
	close(p[0]);
	close(p[1]);
}

/* CANCEL of a member cancels it and the members after it, not before. */
TEST_F(link, cancel_member_cuts_the_chain_there)
{
	struct cport_sqe s[4], cs = sqe_cancel(3, 0, 100);
	struct cport_cqe c[5];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_nop(2));
	s[2] = linked(sqe_nop(3));
	s[3] = sqe_nop(4);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	/* The cancelled members' CQEs come before the cancel's. */
	EXPECT_EQ(3, c[0].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(4, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(100, c[2].user_data);
	EXPECT_EQ(0, c[2].res);
	/* The head and member 2 still run. */
	ASSERT_EQ(1, write(p[1], "y", 1));
	ASSERT_EQ(2, reap_n(&self->pt, c + 3, 2));
	EXPECT_EQ(1, c[3].user_data);
	EXPECT_EQ(1, c[3].res);
	EXPECT_EQ(2, c[4].user_data);
	EXPECT_EQ(0, c[4].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/*
 * CPORT_CANCEL_ALL: the chain is cut at its first member not started yet
 * that matches, every member after it is cancelled too (user_data 8
 * here), and the cancel's res counts the chain as one.
 */
TEST_F(link, cancel_all_counts_a_chain_as_one)
{
	struct cport_sqe s[4], cs = sqe_cancel(7, CPORT_CANCEL_ALL, 100);
	struct cport_cqe c[5];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_nop(7));
	s[2] = linked(sqe_nop(7));
	s[3] = sqe_nop(8);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_EQ(7, c[0].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(7, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(8, c[2].user_data);
	EXPECT_EQ(-ECANCELED, c[2].res);
	EXPECT_EQ(100, c[3].user_data);
	EXPECT_EQ(1, c[3].res);
	/* The head still runs. */
	ASSERT_EQ(1, write(p[1], "z", 1));
	ASSERT_EQ(1, reap_n(&self->pt, c + 4, 1));
	EXPECT_EQ(1, c[4].user_data);
	EXPECT_EQ(1, c[4].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/* Cancelling the head fails it, and so the whole chain. */
TEST_F(link, cancel_head_cancels_members)
{
	struct cport_sqe s[3], cs = sqe_cancel(1, 0, 100);
	struct cport_cqe c[4];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_nop(2));
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	/* The chain's work posts the members' after the cancel's CQE. */
	{
		int i, seen = 0;

		for (i = 1; i < 4; i++) {
			EXPECT_EQ(c[i].user_data == 100 ? 0 : -ECANCELED,
				  c[i].res);
			seen |= 1 << (c[i].user_data == 100 ? 0 :
				      c[i].user_data);
		}
		EXPECT_EQ(0x1 | 0x4 | 0x8, seen);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* The LINK flag of the last SQE an ENTER consumes links to nothing. */
TEST_F(link, link_on_last_sqe_is_ignored)
{
	struct cport_sqe s = linked(sqe_nop(1));
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, submit_n(&self->pt, &s, 1));
	ASSERT_EQ(1, reap_n(&self->pt, &c, 1));
	EXPECT_EQ(0, c.res);
	s = sqe_nop(2);
	ASSERT_EQ(1, submit_n(&self->pt, &s, 1));
	ASSERT_EQ(1, reap_n(&self->pt, &c, 1));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* A chain of 200 behind a timer: all in order, each once. */
TEST_F(link, long_chain_in_order)
{
	struct cport_sqe s[201];
	struct cport_cqe c[201];
	int i;

	CPORT_SKIP_IF_ABSENT();
	s[0] = linked(sqe_timeout(20 * NSEC_PER_MSEC, 0, 0, 0, 0));
	for (i = 1; i < 201; i++)
		s[i] = i < 200 ? linked(sqe_nop(i)) : sqe_nop(i);
	ASSERT_EQ(201, submit_n(&self->pt, s, 201));
	ASSERT_EQ(201, reap_n(&self->pt, c, 201));
	for (i = 0; i < 201; i++) {
		EXPECT_EQ((__u64)i, c[i].user_data);
		EXPECT_EQ(i ? 0 : 1, c[i].res);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/*
 * Two chains and an unlinked op in one submission do not wait for each
 * other; a chain whose ops complete inline completes within the ENTER, in
 * submission order.
 */
TEST_F(link, chains_are_independent)
{
	struct cport_sqe s[5];
	struct cport_cqe c[5];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = sqe_nop(2);
	s[2] = linked(sqe_nop(3));
	s[3] = sqe_nop(4);
	s[4] = sqe_nop(5);
	ASSERT_EQ(5, submit_n(&self->pt, s, 5));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(3, c[0].user_data);
	EXPECT_EQ(4, c[1].user_data);
	EXPECT_EQ(5, c[2].user_data);
	ASSERT_EQ(1, write(p[1], "z", 1));
	ASSERT_EQ(2, reap_n(&self->pt, c + 3, 2));
	EXPECT_EQ(1, c[3].user_data);
	EXPECT_EQ(2, c[4].user_data);
	close(p[0]);
	close(p[1]);
}

/* Closing the port, or exiting, with chains waiting leaves nothing. */
/*
 * A member that names the port itself (a POST to it) behind an op that
 * never ends must not keep the port alive once its fd is closed: the
 * release cancels the chain. Found by the fuzzer (tools/fuzz): the
 * member held a reference to the port's own file, so the port, and the
 * module, were never released.
 */
TEST(member_posting_to_own_port_does_not_pin_it)
{
	struct cport_sqe s[3];
	struct port pt;
	long before;

	CPORT_SKIP_IF_ABSENT();
	before = cport_module_refcnt();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
	s[0] = linked(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 1));
	s[1] = linked(sqe_post(pt.fd, 7, 0, 2));
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&pt, s, 3));
	port_fini(&pt);
	EXPECT_EQ(before, cport_module_refcnt_wait(before));
}

/* The members that name the port run as before: the POST lands. */
TEST(member_posting_to_own_port_posts)
{
	struct cport_sqe s[2];
	struct cport_cqe c;
	struct port pt;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
	s[0] = linked(sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, 1));
	s[1] = sqe_post(pt.fd, 7, 5, 2);
	ASSERT_EQ(2, submit_n(&pt, s, 2));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, cq_wait(&pt, &c, 20 * NSEC_PER_SEC));
		if (c.user_data == 7) {
			EXPECT_EQ(5, c.res);
		} else if (c.user_data == 2) {
			EXPECT_EQ(0, c.res);
		} else {
			EXPECT_EQ(1, c.user_data);
			EXPECT_EQ(1, c.res);
		}
	}
	port_fini(&pt);
}

TEST(close_and_exit_with_chains_waiting)
{
	int round, status, p[2];
	char buf[4];
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < 20; round++) {
		struct cport_sqe s[10];
		struct port pt;
		int i;

		ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
		s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 0));
		for (i = 1; i < 10; i++)
			s[i] = linked(i & 1 ? sqe_nop(i) :
				      sqe_timeout(NSEC_PER_SEC, 0, 0, 0, i));
		ASSERT_EQ(10, submit_n(&pt, s, 10));
		port_fini(&pt);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s[3];
		struct port pt;

		if (port_init(&pt, 16, 0, 0))
			_exit(1);
		s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 0));
		s[1] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 1));
		s[2] = sqe_nop(2);
		_exit(submit_n(&pt, s, 3) == 3 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(p[0]);
	close(p[1]);
}

/*
 * Cancel racing the head's completion: every op of every chain completes
 * exactly once, with its own result or -ECANCELED, and a member never
 * completes with its own result after one before it failed.
 */
TEST_F_TIMEOUT(link, cancel_races_completion, 300)
{
	int rounds = 300 * stress_factor();
	int round, p[2];
	char buf[4];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < rounds; round++) {
		struct cport_sqe s[4], cs;
		struct cport_cqe c;
		int res[5], i, n = 0;

		s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 0));
		s[1] = linked(sqe_nop(1));
		s[2] = linked(sqe_nop(2));
		s[3] = sqe_nop(3);
		cs = sqe_cancel(round & 1 ? 0 : 2, 0, 4);
		ASSERT_EQ(4, submit_n(&self->pt, s, 4));
		ASSERT_EQ(1, write(p[1], "w", 1));
		ASSERT_EQ(1, submit_n(&self->pt, &cs, 1));
		for (i = 0; i < 5; i++)
			res[i] = INT_MIN;
		while (n < 5) {
			ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
			ASSERT_GT(5, c.user_data);
			ASSERT_EQ(INT_MIN, res[c.user_data]);
			res[c.user_data] = c.res;
			n++;
		}
		/* The read got the byte, or was cancelled. */
		if (res[0] != 1)
			ASSERT_EQ(-ECANCELED, res[0]);
		for (i = 1; i < 4; i++) {
			if (res[i - 1] < 0) {
				ASSERT_EQ(-ECANCELED, res[i]);
			} else if (res[i] != -ECANCELED) {
				ASSERT_EQ(0, res[i]);
			}
		}
		/* The cancel found its target, or it had already ended. */
		if (res[4] != -ENOENT)
			ASSERT_EQ(0, res[4]);
		if (res[0] == -ECANCELED)	/* drain the byte */
			ASSERT_EQ(1, read(p[0], buf, 1));
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

static struct cport_sqe sqe_link_timeout(__u64 ns, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_LINK_TIMEOUT, .off = ns,
		.user_data = user_data,
	};

	return s;
}

/*
 * A linked timeout that expires cancels the op in front of it, and so the
 * rest of the chain; its own CQE, -ETIME, comes first.
 */
TEST_F(link, link_timeout_expires_and_cancels_op)
{
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_link_timeout(50 * NSEC_PER_MSEC, 2));
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(-ETIME, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(3, c[2].user_data);
	EXPECT_EQ(-ECANCELED, c[2].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

/* The op completes first: the timeout completes with -ECANCELED. */
TEST_F(link, op_beats_link_timeout)
{
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1));
	s[1] = linked(sqe_link_timeout(10 * NSEC_PER_SEC, 2));
	s[2] = sqe_nop(3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	EXPECT_TRUE(quiet_for(&self->pt, 20));
	ASSERT_EQ(1, write(p[1], "a", 1));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(3, c[2].user_data);
	EXPECT_EQ(0, c[2].res);
	close(p[0]);
	close(p[1]);
}

/* An op that completes inline leaves its linked timeout nothing to do. */
TEST_F(link, inline_op_link_timeout_cancelled)
{
	struct cport_sqe s[4] = {
		linked(sqe_nop(1)), linked(sqe_link_timeout(NSEC_PER_SEC, 2)),
		linked(sqe_nop(3)), sqe_link_timeout(NSEC_PER_SEC, 4),
	};
	struct cport_cqe c[4];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ((__u64)i + 1, c[i].user_data);
		EXPECT_EQ(i & 1 ? -ECANCELED : 0, c[i].res);
	}
}

/* A timer bounded by a shorter linked timeout is cancelled by it. */
TEST_F(link, link_timeout_bounds_a_timer)
{
	struct cport_sqe s[2] = {
		linked(sqe_timeout(NSEC_PER_SEC, 0, 0, 0, 1)),
		sqe_link_timeout(30 * NSEC_PER_MSEC, 2),
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(-ETIME, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
}

/*
 * The op a linked timeout cancels posts -ECANCELED from the timeout's
 * work, and that must wake the thread already waiting for both CQEs:
 * nothing else will (the timer is a minute long). It used not to, and the
 * waiter slept until its own timeout, then found both CQEs and returned
 * 0: so the check is how long the wait took, against a 10 s limit (the
 * debug kernel under load takes well under 1 s).
 */
TEST_F(link, link_timeout_cancel_wakes_waiter)
{
	struct cport_sqe s[2] = {
		linked(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 1)),
		sqe_link_timeout(30 * NSEC_PER_MSEC, 2),
	};
	struct timespec t0, t1;
	struct cport_cqe c[2];
	double waited;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, sys_enter(self->pt.fd, 0, 2, CPORT_ENTER_TIMEOUT,
			       10 * NSEC_PER_SEC));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	EXPECT_LT(waited, 5.0)
		TH_LOG("woken after %.3f s: the -ECANCELED woke nobody", waited);
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(-ETIME, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/*
 * A LINK_TIMEOUT with nothing linked in front, a second one in a row, or
 * bad fields: -EINVAL. One with bad fields leaves its op unbounded.
 */
TEST_F(link, link_timeout_misuse_einval)
{
	struct cport_sqe s[4], bad;
	struct cport_cqe c[4];

	CPORT_SKIP_IF_ABSENT();
	s[0] = sqe_link_timeout(NSEC_PER_SEC, 1);
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s[0]));
	s[0] = linked(sqe_link_timeout(NSEC_PER_SEC, 1));
	s[1] = sqe_nop(2);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(-EINVAL, c[0].res);
	EXPECT_EQ(-ECANCELED, c[1].res);

	/* NOP, LT, LT: the second bounds nothing. */
	s[0] = linked(sqe_nop(1));
	s[1] = linked(sqe_link_timeout(NSEC_PER_SEC, 2));
	s[2] = linked(sqe_link_timeout(NSEC_PER_SEC, 3));
	s[3] = sqe_nop(4);
	ASSERT_EQ(4, submit_n(&self->pt, s, 4));
	ASSERT_EQ(4, reap_n(&self->pt, c, 4));
	EXPECT_EQ(0, c[0].res);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(-EINVAL, c[2].res);
	EXPECT_EQ(-ECANCELED, c[3].res);

	/* Expiry 0, a field set: -EINVAL; the timer in front runs on. */
	bad = sqe_link_timeout(0, 2);
	s[0] = linked(sqe_timeout(20 * NSEC_PER_MSEC, 0, 0, 0, 1));
	s[1] = bad;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(-EINVAL, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(1, c[1].res);
	bad = sqe_link_timeout(NSEC_PER_SEC, 2);
	bad.len = 1;
	s[1] = bad;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(-EINVAL, c[0].res);
	EXPECT_EQ(1, c[1].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* Close the port with linked timeouts armed: nothing left behind. */
TEST(close_with_link_timeouts_armed)
{
	int round, p[2];
	char buf[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < 20; round++) {
		struct cport_sqe s[3];
		struct port pt;

		ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
		s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 1));
		s[1] = linked(sqe_link_timeout(round & 1 ? NSEC_PER_SEC :
					       NSEC_PER_MSEC, 2));
		s[2] = sqe_nop(3);
		ASSERT_EQ(3, submit_n(&pt, s, 3));
		if (round & 2)
			usleep(2000);
		port_fini(&pt);
	}
	close(p[0]);
	close(p[1]);
}

/*
 * A linked timeout racing the op's completion: each CQE exactly once; a
 * read that got its byte never shows -ECANCELED, and -ECANCELED on the
 * timeout means the read completed first.
 */
/* A member posting to its own port posts there, as an SQE on its own would. */
TEST_F(link, member_posts_to_its_own_port)
{
	struct cport_sqe s[2] = {
		linked(sqe_flag_wait(0, 1ULL << 5, 0, 1)),
		sqe_post(self->pt.fd, 77, 7, 2),
	};
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 20));
	ASSERT_EQ(0, flag_set(self->pt.fd, 0, 5));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(5, c[0].res);
	/* The post is in the CQ before the POST op's own CQE. */
	EXPECT_EQ(77, c[1].user_data);
	EXPECT_EQ(7, c[1].res);
	EXPECT_EQ(2, c[2].user_data);
	EXPECT_EQ(0, c[2].res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/* The module's reference count: one per open port, -1 if unknown. */
static int module_refs(void)
{
	FILE *f = fopen("/sys/module/cport/refcnt", "re");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/*
 * A chain that waits for a flag nobody will set, then posts to its own
 * port, and a deferred post to the port: the members and the deferred SQE
 * must not hold the port's own file, or closing it would never release
 * it (the release is what cancels them). Found by make soak: processes
 * SIGKILLed with such a chain left their ports and module references.
 */
TEST(close_with_posts_to_itself_waiting)
{
	int refs, p[2], i;
	struct port pt;
	char buf[2];

	CPORT_SKIP_IF_ABSENT();
	refs = module_refs();
	if (refs < 0)
		SKIP(return, "no /sys/module/cport/refcnt");
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
	{
		struct cport_sqe s[5] = {
			linked(sqe_flag_wait(0, 1ULL << 5, 0, 1)),
			sqe_post(pt.fd, 77, 0, 2),
			sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			       3),
			sqe_nop(4),
			sqe_post(pt.fd, 78, 0, 5),
		};

		s[3].flags |= CPORT_SQE_F_DRAIN;
		ASSERT_EQ(5, submit_n(&pt, s, 5));
	}
	EXPECT_EQ(refs + 1, module_refs());
	port_fini(&pt);
	/* The last fput may be deferred to a worker: wait a little. */
	for (i = 0; i < 200 && module_refs() != refs; i++)
		usleep(10000);
	EXPECT_EQ(refs, module_refs());
	close(p[0]);
	close(p[1]);
}

TEST_F_TIMEOUT(link, link_timeout_races_completion, 300)
{
	int rounds = 300 * stress_factor();
	int round, p[2];
	char buf[4];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (round = 0; round < rounds; round++) {
		struct cport_sqe s[3];
		struct cport_cqe c;
		int res[3] = { INT_MIN, INT_MIN, INT_MIN }, n;

		s[0] = linked(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				     CPORT_POS_CURRENT, 0));
		s[1] = linked(sqe_link_timeout((round % 50 + 1) * 20000, 1));
		s[2] = sqe_nop(2);
		ASSERT_EQ(3, submit_n(&self->pt, s, 3));
		ASSERT_EQ(1, write(p[1], "r", 1));
		for (n = 0; n < 3; n++) {
			ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
			ASSERT_GT(3, c.user_data);
			ASSERT_EQ(INT_MIN, res[c.user_data]);
			res[c.user_data] = c.res;
		}
		if (res[1] == -ECANCELED) {
			ASSERT_EQ(1, res[0]);
		} else {
			ASSERT_EQ(-ETIME, res[1]);
		}
		if (res[0] == 1) {
			ASSERT_EQ(0, res[2]);
		} else {
			ASSERT_EQ(-ECANCELED, res[0]);
			ASSERT_EQ(-ECANCELED, res[2]);
			ASSERT_EQ(1, read(p[0], buf, 1));
		}
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
