// SPDX-License-Identifier: GPL-2.0
/*
 * A port across fork(): the child shares the fd and the mappings, new
 * mappings on either side map the same rings, and ops of an exiting process
 * stay in flight while another process holds the port.
 *
 * Each child runs one function (child_run() of cport_test.h) whose return
 * value is its exit status: 0 is success, any other value is the number of
 * the check that failed.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

PORT_FIXTURE(forked, 8, 0)

static int submit_nop_child(void *arg)
{
	struct port *pt = arg;
	struct cport_sqe s = sqe_nop(0xc41d);

	if (sq_push(pt, &s))
		return 1;
	if (sys_enter(pt->fd, 1, 0, 0, 0) != 1)
		return 2;
	return 0;
}

TEST_F(forked, child_submits_nop_through_inherited_ring)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(submit_nop_child, pt));
	EXPECT_EQ(1, load_acquire(pt->sq_tail));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xc41d, c.user_data);
	EXPECT_EQ(0, c.res);
}

static int post_ten_child(void *arg)
{
	struct port *pt = arg;
	int i;

	for (i = 0; i < 10; i++)
		if (sys_post(pt->fd, 0x100 + i, -i))
			return 1 + i;
	return 0;
}

TEST_F(forked, child_posts_parent_reaps)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(post_ten_child, pt));
	for (i = 0; i < 10; i++) {
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(0x100 + i, c.user_data);
		EXPECT_EQ(-i, c.res);
	}
	EXPECT_FALSE(cq_pop(pt, &c));
}

static int reap_aa_child(void *arg)
{
	struct port *pt = arg;
	struct cport_cqe c;

	if (!cq_pop(pt, &c))
		return 1;
	if (c.user_data != 0xaa || c.res != 1)
		return 2;
	return 0;
}

TEST_F(forked, child_reaps_what_parent_posted)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 0xaa, 1));
	ASSERT_EQ(0, child_run(reap_aa_child, pt));
	/* the child's head update is in the shared page */
	EXPECT_EQ(1, load_acquire(pt->cq_head));
	EXPECT_EQ(0, cq_ready(pt));
}

static int new_mapping_child(void *arg)
{
	struct port *pt = arg;
	struct port mine = *pt;
	struct cport_sqe s = sqe_nop(0xc0ffee);

	/* forget the inherited mappings, map afresh */
	mine.sq_ring = mine.cq_ring = NULL;
	mine.sqes = NULL;
	if (port_map(&mine))
		return 1;
	if ((void *)mine.cq_tail == (void *)pt->cq_tail)
		return 2;
	if (load_acquire(mine.cq_tail) != 1)
		return 3;
	if (mine.cqes[0].user_data != 0xbef0 || mine.cqes[0].res != 7)
		return 4;
	if (sq_push(&mine, &s))
		return 5;
	if (sys_enter(mine.fd, 1, 0, 0, 0) != 1)
		return 6;
	if (load_acquire(mine.cq_tail) != 2)
		return 7;
	return 0;
}

TEST_F(forked, child_new_mapping_maps_same_rings)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 0xbef0, 7));
	ASSERT_EQ(0, child_run(new_mapping_child, pt));
	EXPECT_EQ(1, load_acquire(pt->sq_tail));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xbef0, c.user_data);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xc0ffee, c.user_data);
	EXPECT_EQ(0, c.res);
}

static int post_c1_child(void *arg)
{
	struct port *pt = arg;

	return sys_post(pt->fd, 0xc1, 0xc1) ? 1 : 0;
}

TEST_F(forked, parent_new_mapping_sees_child_cqes)
{
	struct port *pt = &self->pt;
	struct port again;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(post_c1_child, pt));
	again = *pt;
	ASSERT_EQ(0, port_map(&again));
	EXPECT_EQ(1, load_acquire(again.cq_tail));
	EXPECT_EQ(0xc1, again.cqes[0].user_data);
	port_unmap(&again);
}

static int wait_for_9a_child(void *arg)
{
	struct port *pt = arg;
	struct cport_cqe c;

	if (sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, 20 * NSEC_PER_SEC))
		return 1;
	if (!cq_pop(pt, &c) || c.user_data != 0x9a)
		return 2;
	return 0;
}

TEST_F(forked, child_wakes_from_parent_post)
{
	struct port *pt = &self->pt;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	pid = child_start(wait_for_9a_child, pt);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(fdinfo_wait_eq(pt->fd, "waiters", 1, 10000));
	ASSERT_EQ(0, sys_post(pt->fd, 0x9a, 0));
	EXPECT_EQ(0, child_wait(pid));
}

static int submit_timer_child(void *arg)
{
	struct port *pt = arg;
	struct cport_sqe s = sqe_timeout(100 * NSEC_PER_MSEC, 0, 0, 0, 0x7e);

	return sq_submit_one(pt, &s) == 1 ? 0 : 1;
}

TEST_F(forked, exiting_child_leaves_its_timer_in_flight)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(submit_timer_child, pt));
	EXPECT_EQ(1, fdinfo(pt->fd, "inflight"));
	ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
	EXPECT_EQ(0x7e, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

static int submit_multishot_then_die_child(void *arg)
{
	struct port *pt = arg;
	struct cport_sqe s = sqe_timeout(20 * NSEC_PER_MSEC,
					 CPORT_TIMEOUT_MULTISHOT, 4,
					 2 * NSEC_PER_MSEC, 0x7f);

	if (sq_submit_one(pt, &s) != 1)
		return 1;
	raise(SIGKILL);
	return 2;
}

TEST_F(forked, killed_child_leaves_its_multishot_in_flight)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	__u64 sum = 0;
	bool terminal = false;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1000 + SIGKILL, child_run(submit_multishot_then_die_child,
					    pt));
	while (!terminal) {
		ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
		EXPECT_EQ(0x7f, c.user_data);
		ASSERT_LE(1, c.res);
		sum += c.res;
		terminal = !(c.flags & CPORT_CQE_F_MORE);
	}
	EXPECT_EQ(4, sum);
}

struct outlive_args {
	struct port *pt;
	int pipefd[2];
};

static int outlive_child(void *arg)
{
	struct outlive_args *oc = arg;
	struct port *pt = oc->pt;
	struct cport_sqe s = sqe_nop(0x5);
	struct cport_cqe c;
	char go;

	close(oc->pipefd[1]);
	/* wait until the parent dropped its fd and mappings */
	if (read(oc->pipefd[0], &go, 1) != 1)
		return 1;
	if (sys_post(pt->fd, 0x4, 4))
		return 2;
	if (sq_submit_one(pt, &s) != 1)
		return 3;
	if (!cq_pop(pt, &c) || c.user_data != 0x4 || c.res != 4)
		return 4;
	if (!cq_pop(pt, &c) || c.user_data != 0x5 || c.res != 0)
		return 5;
	return 0;
}

TEST_F(forked, port_outlives_parent_references)
{
	struct outlive_args oc = { .pt = &self->pt };
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe(oc.pipefd));
	pid = child_start(outlive_child, &oc);
	ASSERT_LE(0, pid);
	close(oc.pipefd[0]);
	port_fini(&self->pt);
	ASSERT_EQ(1, write(oc.pipefd[1], "g", 1));
	close(oc.pipefd[1]);
	EXPECT_EQ(0, child_wait(pid));
}

TEST_HARNESS_MAIN
