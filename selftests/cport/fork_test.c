// SPDX-License-Identifier: GPL-2.0
/*
 * A port across fork(): the child shares the fd and the mappings, new
 * mappings on either side map the same rings, and ops of an exiting process
 * stay in flight while another process holds the port.
 *
 * Child processes report through their exit status: 0 is success, any other
 * value is the number of the check that failed.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

FIXTURE(forked) {
	struct port pt;
};

FIXTURE_SETUP(forked)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 8, 0, 0));
}

FIXTURE_TEARDOWN(forked)
{
	port_fini(&self->pt);
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status))
		return 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

TEST_F(forked, child_submits_nop_through_inherited_ring)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s = sqe_nop(0xc41d);

		if (sq_push(pt, &s))
			_exit(1);
		if (sys_enter(pt->fd, 1, 0, 0, 0) != 1)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	EXPECT_EQ(1, load_acquire(pt->sq_tail));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xc41d, c.user_data);
	EXPECT_EQ(0, c.res);
}

TEST_F(forked, child_posts_parent_reaps)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	pid_t pid;
	int i;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 10; i++)
			if (sys_post(pt->fd, 0x100 + i, -i))
				_exit(1 + i);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	for (i = 0; i < 10; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(0x100 + i, c.user_data);
		EXPECT_EQ(-i, c.res);
	}
	EXPECT_FALSE(cq_pop(pt, &c));
}

TEST_F(forked, child_reaps_what_parent_posted)
{
	struct port *pt = &self->pt;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 0xaa, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_cqe c;

		if (!cq_pop(pt, &c))
			_exit(1);
		if (c.user_data != 0xaa || c.res != 1)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* the child's head update is in the shared page */
	EXPECT_EQ(1, load_acquire(pt->cq_head));
	EXPECT_EQ(0, cq_ready(pt));
}

TEST_F(forked, child_new_mapping_maps_same_rings)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 0xbef0, 7));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct port mine = *pt;
		struct cport_sqe s = sqe_nop(0xc0ffee);

		/* forget the inherited mappings, map afresh */
		mine.sq_ring = mine.cq_ring = NULL;
		mine.sqes = NULL;
		if (port_map(&mine))
			_exit(1);
		if ((void *)mine.cq_tail == (void *)pt->cq_tail)
			_exit(2);
		if (load_acquire(mine.cq_tail) != 1)
			_exit(3);
		if (mine.cqes[0].user_data != 0xbef0 || mine.cqes[0].res != 7)
			_exit(4);
		if (sq_push(&mine, &s))
			_exit(5);
		if (sys_enter(mine.fd, 1, 0, 0, 0) != 1)
			_exit(6);
		if (load_acquire(mine.cq_tail) != 2)
			_exit(7);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	EXPECT_EQ(1, load_acquire(pt->sq_tail));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xbef0, c.user_data);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xc0ffee, c.user_data);
	EXPECT_EQ(0, c.res);
}

TEST_F(forked, parent_new_mapping_sees_child_cqes)
{
	struct port *pt = &self->pt;
	struct port again;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sys_post(pt->fd, 0xc1, 0xc1) ? 1 : 0);
	ASSERT_EQ(0, wait_child(pid));
	again = *pt;
	ASSERT_EQ(0, port_map(&again));
	EXPECT_EQ(1, load_acquire(again.cq_tail));
	EXPECT_EQ(0xc1, again.cqes[0].user_data);
	port_unmap(&again);
}

TEST_F(forked, child_wakes_from_parent_post)
{
	struct port *pt = &self->pt;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_cqe c;

		if (sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT,
			      20 * NSEC_PER_SEC))
			_exit(1);
		if (!cq_pop(pt, &c) || c.user_data != 0x9a)
			_exit(2);
		_exit(0);
	}
	ASSERT_TRUE(fdinfo_wait_eq(pt->fd, "waiters", 1, 10000));
	ASSERT_EQ(0, sys_post(pt->fd, 0x9a, 0));
	EXPECT_EQ(0, wait_child(pid));
}

TEST_F(forked, exiting_child_leaves_its_timer_in_flight)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s = sqe_timeout(100 * NSEC_PER_MSEC, 0, 0, 0,
						 0x7e);

		_exit(sq_submit_one(pt, &s) == 1 ? 0 : 1);
	}
	ASSERT_EQ(0, wait_child(pid));
	EXPECT_EQ(1, fdinfo(pt->fd, "inflight"));
	ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
	EXPECT_EQ(0x7e, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

TEST_F(forked, killed_child_leaves_its_multishot_in_flight)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	__u64 sum = 0;
	bool terminal = false;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s = sqe_timeout(20 * NSEC_PER_MSEC,
						 CPORT_TIMEOUT_MULTISHOT, 4,
						 2 * NSEC_PER_MSEC, 0x7f);

		if (sq_submit_one(pt, &s) != 1)
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	ASSERT_EQ(1000 + SIGKILL, wait_child(pid));
	while (!terminal) {
		ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
		EXPECT_EQ(0x7f, c.user_data);
		ASSERT_LE(1, c.res);
		sum += c.res;
		terminal = !(c.flags & CPORT_CQE_F_MORE);
	}
	EXPECT_EQ(4, sum);
}

TEST_F(forked, port_outlives_parent_references)
{
	struct port *pt = &self->pt;
	int pipefd[2];
	pid_t pid;
	char go;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cport_sqe s = sqe_nop(0x5);
		struct cport_cqe c;

		close(pipefd[1]);
		/* wait until the parent dropped its fd and mappings */
		if (read(pipefd[0], &go, 1) != 1)
			_exit(1);
		if (sys_post(pt->fd, 0x4, 4))
			_exit(2);
		if (sq_submit_one(pt, &s) != 1)
			_exit(3);
		if (!cq_pop(pt, &c) || c.user_data != 0x4 || c.res != 4)
			_exit(4);
		if (!cq_pop(pt, &c) || c.user_data != 0x5 || c.res != 0)
			_exit(5);
		_exit(0);
	}
	close(pipefd[0]);
	port_fini(pt);
	ASSERT_EQ(1, write(pipefd[1], "g", 1));
	close(pipefd[1]);
	EXPECT_EQ(0, wait_child(pid));
}

TEST_HARNESS_MAIN
