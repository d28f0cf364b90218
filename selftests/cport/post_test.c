// SPDX-License-Identifier: GPL-2.0
/*
 * Posting: CPORT_IOC_POST and CPORT_OP_POST, to self, to another port,
 * across threads and across processes (fd passed with SCM_RIGHTS), and every
 * error path.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cport_test.h"
/* send_fd(), recv_fd(): shared with the examples and the libcport tests */
#include "../../examples/fd_pass.h"

FIXTURE(post) {
	struct port pt;		/* the poster */
	struct port target;	/* another port */
};

FIXTURE_SETUP(post)
{
	self->pt.fd = -1;
	self->target.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 8, 0, 0));
	ASSERT_EQ(0, port_init(&self->target, 4, 0, 0));
	ASSERT_EQ(8, self->target.p.cq_entries);
}

FIXTURE_TEARDOWN(post)
{
	port_fini(&self->target);
	port_fini(&self->pt);
}

/* Submit one SQE on @pt and return the res of its (single) CQE. */
static int submit_get_res(struct __test_metadata *_metadata, struct port *pt,
			  struct cport_sqe s)
{
	struct cport_cqe c;

	if (sq_push(pt, &s) || sys_enter(pt->fd, 1, 0, 0, 0) != 1) {
		TH_LOG("submit failed");
		return INT_MIN;
	}
	if (cq_wait(pt, &c, 5 * NSEC_PER_SEC)) {
		TH_LOG("no CQE");
		return INT_MIN;
	}
	EXPECT_EQ(s.user_data, c.user_data);
	EXPECT_EQ(0, c.flags);
	return c.res;
}

/* ----------------------------------------------------------------- */
/* CPORT_IOC_POST */

TEST_F(post, ioctl_post_self_cqe_exact)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 0x1122334455667788ULL, -12345));
	EXPECT_EQ(1, load_acquire(self->pt.cq_tail));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0x1122334455667788ULL, c.user_data);
	EXPECT_EQ(-12345, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "posted"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(post, ioctl_post_extreme_values)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 0, INT32_MIN));
	ASSERT_EQ(0, sys_post(self->pt.fd, ~0ULL, INT32_MAX));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0, c.user_data);
	EXPECT_EQ(INT32_MIN, c.res);
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(~0ULL, c.user_data);
	EXPECT_EQ(INT32_MAX, c.res);
}

TEST_F(post, ioctl_post_keeps_order)
{
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, sys_post(self->pt.fd, 1000 + i, i));
	for (i = 0; i < 16; i++) {
		ASSERT_TRUE(cq_pop(&self->pt, &c));
		EXPECT_EQ(1000 + i, c.user_data);
		EXPECT_EQ(i, c.res);
	}
}

TEST_F(post, ioctl_post_nonzero_flags_einval)
{
	struct cport_post p = { .user_data = 1, .flags = 1 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_POST, &p));
	EXPECT_EQ(EINVAL, errno);
	p.flags = 1U << 31;
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_POST, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, load_acquire(self->pt.cq_tail));
}

TEST_F(post, ioctl_post_nonzero_resv_einval)
{
	struct cport_post p = { .user_data = 1, .resv = 1 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_POST, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, load_acquire(self->pt.cq_tail));
}

TEST_F(post, ioctl_post_null_efault)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_POST, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(post, ioctl_post_unmapped_efault)
{
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_POST, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, load_acquire(self->pt.cq_tail));
	munmap(bad, 4096);
}

TEST_F(post, ioctl_post_full_cq_eagain)
{
	struct port *t = &self->target;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, sys_post(t->fd, i, i));
	EXPECT_EQ(-EAGAIN, sys_post(t->fd, 8, 8));
	EXPECT_EQ(-EAGAIN, sys_post(t->fd, 8, 8));
	EXPECT_EQ(8, load_acquire(t->cq_tail));
	EXPECT_EQ(8, fdinfo(t->fd, "posted"));
	ASSERT_TRUE(cq_pop(t, &c));
	EXPECT_EQ(0, c.user_data);
	EXPECT_EQ(0, sys_post(t->fd, 8, 8));
	EXPECT_EQ(-EAGAIN, sys_post(t->fd, 9, 9));
	EXPECT_EQ(8, t->cqes[8 & 7].user_data);
}

/* ----------------------------------------------------------------- */
/* CPORT_OP_POST */

TEST_F(post, op_post_to_other_port)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, submit_get_res(_metadata, &self->pt,
				    sqe_post(self->target.fd,
					     0xa5a5a5a5a5a5a5a5ULL,
					     (__u32)-10, 0x77)));
	/* only the poster's CQE on the poster's port */
	EXPECT_EQ(0, cq_ready(&self->pt));
	ASSERT_EQ(1, cq_ready(&self->target));
	ASSERT_TRUE(cq_pop(&self->target, &c));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, c.user_data);
	EXPECT_EQ(-10, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(1, fdinfo(self->target.fd, "posted"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "posted"));
}

TEST_F(post, op_post_len_is_signed_res)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, submit_get_res(_metadata, &self->pt,
				    sqe_post(self->target.fd, 1, 0x80000000U,
					     2)));
	EXPECT_EQ(0, submit_get_res(_metadata, &self->pt,
				    sqe_post(self->target.fd, 3, 0x7fffffffU,
					     4)));
	ASSERT_TRUE(cq_pop(&self->target, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(INT32_MIN, c.res);
	ASSERT_TRUE(cq_pop(&self->target, &c));
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(INT32_MAX, c.res);
}

TEST_F(post, op_post_to_self)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_post(pt->fd, 0xf00d, 42, 0xbeef);
	struct cport_cqe c;
	int seen_target = 0, seen_poster = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 2, CPORT_ENTER_TIMEOUT,
			       5 * NSEC_PER_SEC));
	ASSERT_EQ(2, cq_ready(pt));
	while (cq_pop(pt, &c)) {
		EXPECT_EQ(0, c.flags);
		if (c.user_data == 0xf00d) {
			seen_target++;
			EXPECT_EQ(42, c.res);
		} else {
			seen_poster++;
			EXPECT_EQ(0xbeef, c.user_data);
			EXPECT_EQ(0, c.res);
		}
	}
	EXPECT_EQ(1, seen_target);
	EXPECT_EQ(1, seen_poster);
}

TEST_F(post, op_post_full_target_eagain)
{
	struct port *t = &self->target;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, sys_post(t->fd, i, i));
	EXPECT_EQ(-EAGAIN, submit_get_res(_metadata, &self->pt,
					  sqe_post(t->fd, 99, 99, 5)));
	/* target unchanged */
	EXPECT_EQ(8, load_acquire(t->cq_tail));
	EXPECT_EQ(0, load_acquire(t->cq_head));
	EXPECT_EQ(8, fdinfo(t->fd, "posted"));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(i, t->cqes[i].user_data);
}

TEST_F(post, op_post_full_self_still_completes)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_post(pt->fd, 0xf00d, 1, 0xbeef);
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	/* 15 CQEs: the POST's own slot is the last free one */
	for (i = 0; i < 15; i++)
		ASSERT_EQ(0, sys_post(pt->fd, i, 0));
	ASSERT_EQ(0, sq_push(pt, &s));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(16, cq_ready(pt));
	for (i = 0; i < 15; i++)
		ASSERT_TRUE(cq_pop(pt, &c));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0xbeef, c.user_data);
	EXPECT_EQ(-EAGAIN, c.res);
	EXPECT_FALSE(cq_pop(pt, &c));
}

TEST_F(post, op_post_to_pipe_ebadfd)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EBADFD, submit_get_res(_metadata, &self->pt,
					  sqe_post(p[1], 1, 1, 2)));
	EXPECT_EQ(-EBADFD, submit_get_res(_metadata, &self->pt,
					  sqe_post(p[0], 1, 1, 3)));
	close(p[0]);
	close(p[1]);
}

TEST_F(post, op_post_to_devnull_ebadfd)
{
	int fd = open("/dev/null", O_RDWR);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, submit_get_res(_metadata, &self->pt,
					  sqe_post(fd, 1, 1, 2)));
	close(fd);
}

TEST_F(post, op_post_to_unset_port_ebadfd)
{
	int fd = cport_open();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, submit_get_res(_metadata, &self->pt,
					  sqe_post(fd, 1, 1, 2)));
	close(fd);
}

TEST_F(post, op_post_to_closed_fd_ebadf)
{
	int fd = dup(self->target.fd);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-EBADF, submit_get_res(_metadata, &self->pt,
					 sqe_post(fd, 1, 1, 2)));
	EXPECT_EQ(0, load_acquire(self->target.cq_tail));
}

TEST_F(post, op_post_to_negative_fd_ebadf)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EBADF, submit_get_res(_metadata, &self->pt,
					 sqe_post(-1, 1, 1, 2)));
	EXPECT_EQ(-EBADF, submit_get_res(_metadata, &self->pt,
					 sqe_post(INT_MIN, 1, 1, 3)));
	EXPECT_EQ(-EBADF, submit_get_res(_metadata, &self->pt,
					 sqe_post(INT_MAX, 1, 1, 4)));
}

TEST_F(post, op_post_nonzero_op_flags_einval)
{
	struct cport_sqe s = sqe_post(self->target.fd, 1, 1, 2);

	CPORT_SKIP_IF_ABSENT();
	s.op_flags = 1;
	EXPECT_EQ(-EINVAL, submit_get_res(_metadata, &self->pt, s));
	EXPECT_EQ(0, load_acquire(self->target.cq_tail));
}

TEST_F(post, post_wakes_waiter_on_target)
{
	pid_t pid;
	int status;

	CPORT_SKIP_IF_ABSENT();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* wait for the parent to sleep in ENTER, then post */
		if (!fdinfo_wait_eq(self->target.fd, "waiters", 1, 10000))
			_exit(2);
		_exit(sys_post(self->target.fd, 0x51, 0x52) ? 3 : 0);
	}
	EXPECT_EQ(0, sys_enter(self->target.fd, 0, 1, CPORT_ENTER_TIMEOUT,
			       20 * NSEC_PER_SEC));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, cq_ready(&self->target));
}

/*
 * A POST op whose submitter waits in the same ENTER wakes the target's
 * sleepers with a sync wake-up (the submitter is about to sleep): both a
 * thread in ENTER and a thread in poll() on the target still get theirs.
 */
struct target_sleeper {
	int fd;
	int ret;
};

static void *target_enter_fn(void *arg)
{
	struct target_sleeper *t = arg;

	t->ret = sys_enter(t->fd, 0, 1, CPORT_ENTER_TIMEOUT,
			   20 * NSEC_PER_SEC);
	return NULL;
}

static void *target_poll_fn(void *arg)
{
	struct target_sleeper *t = arg;
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

	t->ret = poll(&pfd, 1, 20000) == 1 ? pfd.revents : -1;
	return NULL;
}

TEST_F(post, op_post_sync_wakes_target_waiter_and_poller)
{
	struct target_sleeper w = { .fd = self->target.fd, .ret = INT_MIN };
	struct target_sleeper p = { .fd = self->target.fd, .ret = INT_MIN };
	struct cport_sqe s = sqe_post(self->target.fd, 0x61, 0x62, 0x63);
	pthread_t wt, ptt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&wt, NULL, target_enter_fn, &w));
	ASSERT_EQ(0, pthread_create(&ptt, NULL, target_poll_fn, &p));
	ASSERT_TRUE(fdinfo_wait_eq(self->target.fd, "waiters", 1, 10000));
	/* Nothing tells when poll() sleeps: give it time; it passes anyway. */
	usleep(200000);
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	EXPECT_EQ(1, sys_enter(self->pt.fd, 1, 1, 0, 0));
	ASSERT_EQ(0, pthread_join(wt, NULL));
	ASSERT_EQ(0, pthread_join(ptt, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(POLLIN, p.ret);
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0x63, c.user_data);
	EXPECT_EQ(0, c.res);
	ASSERT_TRUE(cq_pop(&self->target, &c));
	EXPECT_EQ(0x61, c.user_data);
	EXPECT_EQ(0x62, c.res);
	EXPECT_EQ(0, cq_ready(&self->target));
}

/* ----------------------------------------------------------------- */
/* between threads */

#define NTHREADS	4
#define PER_THREAD	250

struct post_thread {
	pthread_t thr;
	int fd;
	int idx;
	int errors;
};

static void *post_thread_fn(void *arg)
{
	struct post_thread *t = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++)
		if (sys_post_retry(t->fd, ((__u64)t->idx << 32) | i, t->idx))
			t->errors++;
	return NULL;
}

TEST_F(post, between_threads_nothing_lost_per_thread_order)
{
	struct post_thread th[NTHREADS];
	int next[NTHREADS] = { 0 };
	struct cport_cqe c;
	int i, got = 0;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < NTHREADS; i++) {
		th[i].fd = self->pt.fd;
		th[i].idx = i;
		th[i].errors = 0;
		ASSERT_EQ(0, pthread_create(&th[i].thr, NULL, post_thread_fn,
					    &th[i]));
	}
	while (got < NTHREADS * PER_THREAD) {
		int t, seq;

		ASSERT_EQ(0, cq_wait(&self->pt, &c, 10 * NSEC_PER_SEC));
		t = c.user_data >> 32;
		seq = c.user_data & 0xffffffff;
		ASSERT_LE(0, t);
		ASSERT_GT(NTHREADS, t);
		EXPECT_EQ(t, c.res);
		/* one thread's posts arrive in the order it made them */
		ASSERT_EQ(next[t], seq);
		next[t]++;
		got++;
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i].thr, NULL);
		EXPECT_EQ(0, th[i].errors);
		EXPECT_EQ(PER_THREAD, next[i]);
	}
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(NTHREADS * PER_THREAD, fdinfo(self->pt.fd, "posted"));
}

/* ----------------------------------------------------------------- */
/* between processes, the fd passed over a unix socket */

#define XPROC_N		200

/*
 * The child is forked before the port exists, so its only way to the port
 * is the fd it receives. It posts XPROC_N CQEs with CPORT_IOC_POST, then
 * XPROC_N more with CPORT_OP_POST from a port of its own.
 */
TEST(post_across_processes_scm_rights)
{
	struct port pt;
	int sv[2], status, i, got = 0;
	pid_t pid;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct port own;
		int fd;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(10);
		for (i = 0; i < XPROC_N; i++)
			if (sys_post_retry(fd, 0xc0de000000000000ULL | i, i))
				_exit(11);
		if (port_init(&own, 4, 0, 0))
			_exit(12);
		for (i = 0; i < XPROC_N; i++) {
			struct cport_sqe s = sqe_post(fd, 0xd0de000000000000ULL | i,
						      -i, i);
			struct cport_cqe c;

			do {
				if (sq_submit_one(&own, &s) != 1)
					_exit(13);
				if (cq_wait(&own, &c, 10 * NSEC_PER_SEC))
					_exit(14);
				if (c.user_data != (__u64)i)
					_exit(15);
			} while (c.res == -EAGAIN);
			if (c.res != 0)
				_exit(16);
		}
		port_fini(&own);
		close(fd);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, port_init(&pt, 16, 0, 0));
	ASSERT_EQ(0, send_fd(sv[0], pt.fd));
	while (got < 2 * XPROC_N) {
		struct cport_cqe c;
		__u64 tag;
		int seq;

		ASSERT_EQ(0, cq_wait(&pt, &c, 20 * NSEC_PER_SEC));
		tag = c.user_data & 0xffff000000000000ULL;
		seq = c.user_data & 0xffffffff;
		EXPECT_EQ(0, c.flags);
		if (got < XPROC_N) {
			ASSERT_EQ(0xc0de000000000000ULL, tag);
			ASSERT_EQ(got, seq);
			ASSERT_EQ(got, c.res);
		} else {
			ASSERT_EQ(0xd0de000000000000ULL, tag);
			ASSERT_EQ(got - XPROC_N, seq);
			ASSERT_EQ(-(got - XPROC_N), c.res);
		}
		got++;
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* exactly 2N: nothing more arrives */
	EXPECT_EQ(0, cq_ready(&pt));
	EXPECT_EQ(2 * XPROC_N, fdinfo(pt.fd, "posted"));
	close(sv[0]);
	port_fini(&pt);
}

TEST_HARNESS_MAIN
