// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_OP_POLL_ADD and CPORT_OP_POLL_REMOVE: one-shot (level) and
 * multishot (edge) polls on pipes, eventfds, socketpairs and TCP loopback
 * sockets; hang-ups, removal, updates, cancellation, a full CQ, teardown,
 * a port polled by another port (and the cycles refused), event flags,
 * links, and every error path.
 *
 * No timing decides a result: quiet_for() only checks that nothing
 * arrives that must not.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "cport_test.h"

#define WAIT_NS		(20 * NSEC_PER_SEC)

PORT_FIXTURE(pl, 16, 64)

/* Push and submit one SQE; ASSERTs it was consumed. */
#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(0, sq_push((pt), &__s));				\
	ASSERT_EQ(1, sys_enter((pt)->fd, 1, 0, 0, 0));			\
} while (0)

/* Reap the next CQE, waiting up to WAIT_NS. */
#define NEXT(pt, c) ASSERT_EQ(0, cq_wait((pt), (c), WAIT_NS))

/* Reap the next CQE and check all of it. */
#define EXPECT_CQE(pt, ud, r, fl) do {					\
	struct cport_cqe __c;						\
	NEXT((pt), &__c);						\
	EXPECT_EQ((__u64)(ud), __c.user_data);				\
	EXPECT_EQ((__s32)(r), __c.res);					\
	EXPECT_EQ((__u32)(fl), __c.flags);				\
} while (0)

#define MORE	CPORT_CQE_F_MORE

static struct cport_sqe sqe_poll(int fd, __u32 events, __u32 op_flags,
				 __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_POLL_ADD, .fd = fd, .len = events,
		.op_flags = op_flags, .user_data = user_data,
	};

	return s;
}

static struct cport_sqe sqe_poll_remove(__u64 target, __u32 op_flags,
					__u32 events, __u64 new_user_data,
					__u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_POLL_REMOVE, .addr = target,
		.op_flags = op_flags, .len = events, .addr2 = new_user_data,
		.user_data = user_data,
	};

	return s;
}

static void write1(int fd)
{
	char b = 'x';

	if (write(fd, &b, 1) != 1)
		abort();
}

static void efd_write(int fd, __u64 v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		abort();
}

/* Read whatever is there (non-blocking fds); returns bytes read. */
static ssize_t drain(int fd)
{
	char buf[4096];
	ssize_t n, all = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		all += n;
	return all;
}

/* A connected TCP pair over loopback: @c[0] client, @c[1] accepted. */
static int tcp_pair(int c[2], int *lfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto err;
	c[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c[0] < 0 || connect(c[0], (struct sockaddr *)&a, sizeof(a)))
		goto err;
	c[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c[1] < 0)
		goto err;
	if (lfd)
		*lfd = l;
	else
		close(l);
	return 0;
err:
	close(l);
	return -1;
}

/* ----------------------------------------------------------------- */
/* one-shot: level-triggered */

TEST_F(pl, pipe_oneshot_ready_before_arm_completes_at_once_and_again)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	write1(p[1]);
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(p[0], EPOLLIN, 0, 1)));
	/* Level: still readable, so a new poll completes at once again. */
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(p[0], EPOLLIN, 0, 2)));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, pipe_oneshot_waits_for_write)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, 0, 0x10));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x10, EPOLLIN, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, pipe_write_end_epollout_at_once)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	EXPECT_EQ(EPOLLOUT, run_one(_metadata, &self->pt,
				    sqe_poll(p[1], EPOLLOUT, 0, 3)));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, pipe_epollout_when_space_frees)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	/* Fill the pipe: not writable any more. */
	while (write(p[1], "0123456789abcdef", 16) == 16)
		;
	SUBMIT(&self->pt, sqe_poll(p[1], EPOLLOUT, 0, 4));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_LT(0, drain(p[0]));
	EXPECT_CQE(&self->pt, 4, EPOLLOUT, 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, eventfd_oneshot)
{
	int e;

	CPORT_SKIP_IF_ABSENT();
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	SUBMIT(&self->pt, sqe_poll(e, EPOLLIN, 0, 5));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	efd_write(e, 1);
	EXPECT_CQE(&self->pt, 5, EPOLLIN, 0);
	/* Still readable: level. */
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(e, EPOLLIN, 0, 6)));
	close(e);
}

TEST_F(pl, socketpair_oneshot_in_and_out)
{
	int s[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	EXPECT_EQ(EPOLLOUT, run_one(_metadata, &self->pt,
				    sqe_poll(s[0], EPOLLOUT, 0, 7)));
	SUBMIT(&self->pt, sqe_poll(s[0], EPOLLIN, 0, 8));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(s[1]);
	EXPECT_CQE(&self->pt, 8, EPOLLIN, 0);
	close(s[0]);
	close(s[1]);
}

TEST_F(pl, tcp_loopback_oneshot_accept_in_out)
{
	int c[2], l, a;
	char b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, tcp_pair(c, &l));
	/* The listener: readable when a connection waits. */
	SUBMIT(&self->pt, sqe_poll(l, EPOLLIN, 0, 9));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, a);
	{
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);

		ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&sa, &len));
		ASSERT_EQ(0, connect(a, (struct sockaddr *)&sa, sizeof(sa)));
	}
	EXPECT_CQE(&self->pt, 9, EPOLLIN, 0);

	EXPECT_EQ(EPOLLOUT, run_one(_metadata, &self->pt,
				    sqe_poll(c[1], EPOLLOUT, 0, 10)));
	SUBMIT(&self->pt, sqe_poll(c[1], EPOLLIN, 0, 11));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(1, send(c[0], "y", 1, 0));
	EXPECT_CQE(&self->pt, 11, EPOLLIN, 0);
	EXPECT_EQ(1, recv(c[1], &b, 1, 0));
	close(a);
	close(l);
	close(c[0]);
	close(c[1]);
}

/* A pipe opened read-write waits on both its queues: two entries. */
TEST_F(pl, pipe_on_two_wait_queues)
{
	char path[64];
	int p[2], rw;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	rw = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rw);
	/* One-shot, ended by the worker (the callback holds one queue). */
	SUBMIT(&self->pt, sqe_poll(rw, EPOLLIN, 0, 0x38));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x38, EPOLLIN, 0);
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "inflight", 0, 20000));
	EXPECT_EQ(1, drain(rw));
	/* Multishot on both: writable at once, then each write. */
	SUBMIT(&self->pt, sqe_poll(rw, EPOLLIN | EPOLLOUT,
				   CPORT_POLL_MULTISHOT, 0x39));
	EXPECT_CQE(&self->pt, 0x39, EPOLLOUT, MORE);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x39, EPOLLIN, MORE);
	/* A pipe wakes its writers only when a read frees a full one. */
	EXPECT_EQ(1, drain(rw));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	SUBMIT(&self->pt, sqe_poll_remove(0x39, 0, 0, 0, 0x3a));
	EXPECT_CQE(&self->pt, 0x39, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x3a, 0, 0);
	write1(p[1]);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	close(rw);
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* multishot: edge-triggered */

/* One CQE per burst, none while nothing new happens. */
static void check_multishot_edges(struct __test_metadata *_metadata,
				  struct port *pt, int rfd, int wfd,
				  bool is_eventfd)
{
	int i;

	SUBMIT(pt, sqe_poll(rfd, EPOLLIN, CPORT_POLL_MULTISHOT, 0x20));
	EXPECT_TRUE(quiet_for(pt, 30));
	for (i = 0; i < 4; i++) {
		if (is_eventfd)
			efd_write(wfd, 1);
		else
			write1(wfd);
		EXPECT_CQE(pt, 0x20, EPOLLIN, MORE);
		EXPECT_TRUE(quiet_for(pt, 30));
		EXPECT_LT(0, drain(rfd));
		EXPECT_TRUE(quiet_for(pt, 10));
	}
	EXPECT_EQ(1, fdinfo(pt->fd, "inflight"));
	SUBMIT(pt, sqe_poll_remove(0x20, 0, 0, 0, 0x21));
	EXPECT_CQE(pt, 0x20, -ECANCELED, 0);
	EXPECT_CQE(pt, 0x21, 0, 0);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_F(pl, multishot_pipe_one_cqe_per_write)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	check_multishot_edges(_metadata, &self->pt, p[0], p[1], false);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, multishot_eventfd_one_cqe_per_write)
{
	int e;

	CPORT_SKIP_IF_ABSENT();
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	check_multishot_edges(_metadata, &self->pt, e, e, true);
	close(e);
}

TEST_F(pl, multishot_socketpair_one_cqe_per_write)
{
	int s[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	check_multishot_edges(_metadata, &self->pt, s[0], s[1], false);
	close(s[0]);
	close(s[1]);
}

TEST_F(pl, multishot_tcp_cqe_per_send_quiet_when_drained)
{
	struct cport_cqe c;
	int t[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, tcp_pair(t, NULL));
	SUBMIT(&self->pt, sqe_poll(t[1], EPOLLIN, CPORT_POLL_MULTISHOT, 0x22));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, send(t[0], "z", 1, 0));
		NEXT(&self->pt, &c);
		EXPECT_EQ(0x22, c.user_data);
		EXPECT_EQ(EPOLLIN, c.res);
		EXPECT_EQ(MORE, c.flags);
		EXPECT_EQ(1, drain(t[1]));
		/* Nothing more than readability was signalled per send. */
		while (cq_pop(&self->pt, &c)) {
			EXPECT_EQ(EPOLLIN, c.res);
			EXPECT_EQ(MORE, c.flags);
		}
		EXPECT_TRUE(quiet_for(&self->pt, 30));
	}
	SUBMIT(&self->pt, sqe_poll_remove(0x22, 0, 0, 0, 0x23));
	EXPECT_CQE(&self->pt, 0x22, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x23, 0, 0);
	close(t[0]);
	close(t[1]);
}

TEST_F(pl, multishot_reports_readiness_found_at_issue)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	write1(p[1]);
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0x24));
	EXPECT_CQE(&self->pt, 0x24, EPOLLIN, MORE);
	/* Edge: the data still there is no new event. */
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x24, EPOLLIN, MORE);
	SUBMIT(&self->pt, sqe_poll_remove(0x24, 0, 0, 0, 0x25));
	EXPECT_CQE(&self->pt, 0x24, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x25, 0, 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, multishot_ends_on_pipe_hangup)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0x26));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x26, EPOLLIN, MORE);
	EXPECT_EQ(1, drain(p[0]));
	close(p[1]);
	/* Terminal: no MORE, the hang-up reported. */
	EXPECT_CQE(&self->pt, 0x26, EPOLLHUP, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
}

TEST_F(pl, multishot_ends_on_socket_hangup)
{
	struct cport_cqe c;
	int s[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	SUBMIT(&self->pt, sqe_poll(s[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0x27));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	close(s[1]);
	/* Maybe a readable edge first (EOF); then the terminal hang-up. */
	do {
		NEXT(&self->pt, &c);
		EXPECT_EQ(0x27, c.user_data);
		if (c.flags & MORE) {
			EXPECT_EQ(EPOLLIN, c.res);
		}
	} while (c.flags & MORE);
	EXPECT_EQ(EPOLLIN | EPOLLHUP, c.res);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(s[0]);
}

TEST_F(pl, err_and_hup_reported_unasked)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct cport_cqe c;
	int l, s;

	CPORT_SKIP_IF_ABSENT();
	/* A port nobody listens on: bind one, then close it. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&a, &len));
	close(l);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, s);
	SUBMIT(&self->pt, sqe_poll(s, EPOLLIN, CPORT_POLL_MULTISHOT, 0x28));
	/* A fresh socket reports EPOLLHUP at once: terminal. */
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x28, c.user_data);
	EXPECT_EQ(0, c.flags);
	EXPECT_TRUE(c.res & EPOLLHUP);
	close(s);

	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, s);
	ASSERT_EQ(-1, connect(s, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_TRUE(errno == EINPROGRESS || errno == ECONNREFUSED);
	/*
	 * Refused: EPOLLERR (unless connect() reported the error itself)
	 * and EPOLLHUP, though only EPOLLPRI was asked for.
	 */
	SUBMIT(&self->pt, sqe_poll(s, EPOLLPRI, 0, 0x29));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0x29, c.user_data);
	EXPECT_EQ(0, c.flags);
	EXPECT_NE(0, c.res & (EPOLLERR | EPOLLHUP));
	EXPECT_EQ(0, c.res & ~(EPOLLERR | EPOLLHUP));
	close(s);
}

/* ----------------------------------------------------------------- */
/* remove, update, cancel */

TEST_F(pl, remove_oneshot_posts_ecanceled_then_zero)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, 0, 0x30));
	SUBMIT(&self->pt, sqe_poll_remove(0x30, 0, 0, 0, 0x31));
	EXPECT_CQE(&self->pt, 0x30, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x31, 0, 0);
	/* Removed: a write posts nothing. */
	write1(p[1]);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, remove_unknown_enoent)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_poll_remove(0x99, 0, 0, 0, 0x32)));
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_poll_remove(0x99,
						   CPORT_POLL_UPDATE_USER_DATA,
						   0, 1, 0x33)));
	/* A completed poll is gone too. */
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	write1(p[1]);
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(p[0], EPOLLIN, 0, 0x34)));
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_poll_remove(0x34, 0, 0, 0, 0x35)));
	/* A timer is no poll. */
	SUBMIT(&self->pt, sqe_timeout(NSEC_PER_SEC * 100, 0, 0, 0, 0x36));
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_poll_remove(0x36, 0, 0, 0, 0x37)));
	SUBMIT(&self->pt, sqe_timeout_remove(0x36, 0x38));
	EXPECT_CQE(&self->pt, 0x36, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x38, 0, 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, update_user_data)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0x40));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_poll_remove(0x40, CPORT_POLL_UPDATE_USER_DATA,
					     0, 0x41, 0x42)));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x41, EPOLLIN, MORE);
	/* The old user_data names nothing now. */
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_poll_remove(0x40, 0, 0, 0, 0x43)));
	SUBMIT(&self->pt, sqe_poll_remove(0x41, 0, 0, 0, 0x44));
	EXPECT_CQE(&self->pt, 0x41, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x44, 0, 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, update_events_not_ready_then_event)
{
	int s[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	/*
	 * Asked EPOLLRDHUP, which no write brings (a socket's data wake-up
	 * carries EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND); make it
	 * EPOLLIN.
	 */
	SUBMIT(&self->pt, sqe_poll(s[0], EPOLLRDHUP, 0, 0x45));
	write1(s[1]);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(1, drain(s[0]));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_poll_remove(0x45, CPORT_POLL_UPDATE_EVENTS,
					     EPOLLIN, 0, 0x46)));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(s[1]);
	EXPECT_CQE(&self->pt, 0x45, EPOLLIN, 0);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(s[0]);
	close(s[1]);
}

TEST_F(pl, update_events_and_user_data_ready_completes)
{
	struct cport_cqe c[2];
	int s[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	SUBMIT(&self->pt, sqe_poll(s[0], EPOLLIN, 0, 0x47));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	/* Writable already: a one-shot for EPOLLOUT is level, completes. */
	SUBMIT(&self->pt, sqe_poll_remove(0x47, CPORT_POLL_UPDATE_EVENTS |
					  CPORT_POLL_UPDATE_USER_DATA,
					  EPOLLOUT, 0x48, 0x49));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	/* The update's CQE and the poll's come in either order. */
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, c[i].flags);
		if (c[i].user_data == 0x49) {
			EXPECT_EQ(0, c[i].res);
		} else {
			EXPECT_EQ(EPOLLOUT, c[i].res);
		}
	}
	EXPECT_NE(c[0].user_data, c[1].user_data);
	EXPECT_TRUE(c[0].user_data == 0x48 || c[1].user_data == 0x48);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(s[0]);
	close(s[1]);
}

TEST_F(pl, cancel_by_user_data_and_by_fd)
{
	struct cport_sqe s;
	int p[2], e;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, 0, 0x50));
	SUBMIT(&self->pt, sqe_poll(e, EPOLLIN, CPORT_POLL_MULTISHOT, 0x51));
	SUBMIT(&self->pt, sqe_poll(e, EPOLLIN, 0, 0x52));
	SUBMIT(&self->pt, sqe_cancel(0x50, 0, 0x53));
	EXPECT_CQE(&self->pt, 0x50, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x53, 0, 0);

	s = sqe_cancel(0, CPORT_CANCEL_FD | CPORT_CANCEL_ALL, 0x54);
	s.fd = e;
	SUBMIT(&self->pt, s);
	{
		struct cport_cqe c[2];

		/* Both ended before the cancel's CQE, in either order. */
		ASSERT_EQ(2, reap_n(&self->pt, c, 2));
		EXPECT_EQ(0x51 + 0x52, c[0].user_data + c[1].user_data);
		EXPECT_EQ(-ECANCELED, c[0].res);
		EXPECT_EQ(-ECANCELED, c[1].res);
		EXPECT_EQ(0, c[0].flags | c[1].flags);
	}
	EXPECT_CQE(&self->pt, 0x54, 2, 0);
	efd_write(e, 1);
	write1(p[1]);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(e);
	close(p[0]);
	close(p[1]);
}

/*
 * A poll and a READ waiting on the same pipe: the poll's wake-up posts
 * under the port's CQ lock with the pipe's wait queue lock held, so the
 * READ's cancel must not take that queue lock under the CQ lock.
 */
TEST_F(pl, poll_and_waiting_read_on_one_pipe)
{
	char buf[8];
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0x58));
	for (i = 0; i < 10; i++) {
		SUBMIT(&self->pt, sqe_rw(CPORT_OP_READ, p[0], buf, sizeof(buf),
					 CPORT_POS_CURRENT, 0x59));
		EXPECT_TRUE(quiet_for(&self->pt, 10));
		SUBMIT(&self->pt, sqe_cancel(0x59, 0, 0x5a));
		EXPECT_CQE(&self->pt, 0x59, -ECANCELED, 0);
		EXPECT_CQE(&self->pt, 0x5a, 0, 0);
		write1(p[1]);
		EXPECT_CQE(&self->pt, 0x58, EPOLLIN, MORE);
		EXPECT_EQ(1, drain(p[0]));
	}
	SUBMIT(&self->pt, sqe_poll_remove(0x58, 0, 0, 0, 0x5b));
	EXPECT_CQE(&self->pt, 0x58, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x5b, 0, 0);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* errors */

TEST_F(pl, add_bad_fields_einval)
{
	int p[2];
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
#define ADD_EINVAL(field, val) do {					\
	s = sqe_poll(p[0], EPOLLIN, 0, 0x60);				\
	s.field = (val);						\
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));		\
} while (0)
	ADD_EINVAL(len, 0);
	ADD_EINVAL(len, EPOLLIN | 0x4000);	/* POLLFREE */
	ADD_EINVAL(len, EPOLLIN | EPOLLET);
	ADD_EINVAL(len, EPOLLIN | EPOLLONESHOT);
	ADD_EINVAL(len, EPOLLIN | EPOLLEXCLUSIVE);
	ADD_EINVAL(op_flags, CPORT_POLL_UPDATE_EVENTS);
	ADD_EINVAL(op_flags, CPORT_POLL_MULTISHOT | (1U << 31));
	ADD_EINVAL(off, 1);
	ADD_EINVAL(addr, 1);
	ADD_EINVAL(addr2, 1);
	ADD_EINVAL(resv0, 1);
	ADD_EINVAL(resv2, 1);
	ADD_EINVAL(flags, CPORT_SQE_F_ORDERED);
	ADD_EINVAL(ef_bit, 1);	/* without CPORT_SQE_F_EVENT_FLAG */
#undef ADD_EINVAL
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, remove_bad_fields_einval)
{
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
#define RM_EINVAL(field, val) do {					\
	s = sqe_poll_remove(0x70, 0, 0, 0, 0x71);			\
	s.field = (val);						\
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));		\
} while (0)
	RM_EINVAL(fd, 3);
	RM_EINVAL(off, 1);
	RM_EINVAL(len, EPOLLIN);	/* without UPDATE_EVENTS */
	RM_EINVAL(addr2, 1);		/* without UPDATE_USER_DATA */
	RM_EINVAL(op_flags, CPORT_POLL_MULTISHOT);
	RM_EINVAL(op_flags, 1U << 3);
	RM_EINVAL(op_flags, CPORT_POLL_UPDATE_EVENTS);	/* events 0 */
	RM_EINVAL(flags, CPORT_SQE_F_FIXED_FILE);
	RM_EINVAL(resv2, 1);
#undef RM_EINVAL
	s = sqe_poll_remove(0x70, CPORT_POLL_UPDATE_EVENTS, 0x4000, 0, 0x72);
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
}

TEST_F(pl, bad_fd_ebadf)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_poll(-1, EPOLLIN, 0, 0x80)));
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	close(p[1]);
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_poll(p[1], EPOLLIN, 0, 0x81)));
	close(p[0]);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

TEST_F(pl, fixed_file)
{
	struct cport_register r = { .op = CPORT_REGISTER_FILES, .nr = 2 };
	struct cport_sqe s;
	int p[2], fds[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	/* No file table yet. */
	s = sqe_poll(0, EPOLLIN, 0, 0x90);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt, s));

	fds[0] = -1;
	fds[1] = p[0];
	r.data = (__u64)(uintptr_t)fds;
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_REGISTER, &r));
	s = sqe_poll(1, EPOLLIN, 0, 0x91);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	SUBMIT(&self->pt, s);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x91, EPOLLIN, 0);
	/* An empty slot, an index beyond the table. */
	s.fd = 0;
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt, s));
	s.fd = 2;
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt, s));
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, file_without_poll_is_always_ready)
{
	char path[] = "/tmp/cport-poll-XXXXXX";
	int f;

	CPORT_SKIP_IF_ABSENT();
	f = mkstemp(path);
	ASSERT_LE(0, f);
	unlink(path);
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(f, EPOLLIN, 0, 0xa0)));
	EXPECT_EQ(EPOLLIN | EPOLLOUT,
		  run_one(_metadata, &self->pt,
			  sqe_poll(f, EPOLLIN | EPOLLOUT,
				   CPORT_POLL_MULTISHOT, 0xa1)));
	/* Never anything else: a poll for EPOLLPRI ends with 0. */
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_poll(f, EPOLLPRI, 0, 0xa2)));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(f);
}

/* ----------------------------------------------------------------- */
/* a full CQ */

FIXTURE(tiny) {
	struct port pt;
};

FIXTURE_SETUP(tiny)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	/* Two slots: one for the poll's terminal CQE, one free. */
	ASSERT_EQ(0, port_init(&self->pt, 1, 2, 0));
}

FIXTURE_TEARDOWN(tiny)
{
	port_fini(&self->pt);
}

TEST_F(tiny, multishot_full_cq_keeps_events_pending)
{
	const int n = 20;
	struct cport_cqe c;
	int e, i;

	CPORT_SKIP_IF_ABSENT();
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	SUBMIT(&self->pt, sqe_poll(e, EPOLLIN, CPORT_POLL_MULTISHOT, 0xb0));
	/* Each eventfd write is one wake-up. */
	for (i = 0; i < n; i++)
		efd_write(e, 1);
	/* The first one took the free slot; the others found none. */
	EXPECT_EQ(n - 1, fdinfo(self->pt.fd, "overflow"));
	EXPECT_EQ((__u32)(n - 1), load_acquire(self->pt.cq_overflow));
	ASSERT_EQ(1, cq_ready(&self->pt));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0xb0, c.user_data);
	EXPECT_EQ(EPOLLIN, c.res);
	EXPECT_EQ(MORE, c.flags);
	/* ENTER posts what was pending: one CQE for them all. */
	EXPECT_CQE(&self->pt, 0xb0, EPOLLIN, MORE);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(n - 1, fdinfo(self->pt.fd, "overflow"));
	/* A new event goes straight out again. */
	efd_write(e, 1);
	EXPECT_CQE(&self->pt, 0xb0, EPOLLIN, MORE);
	SUBMIT(&self->pt, sqe_poll_remove(0xb0, 0, 0, 0, 0xb1));
	EXPECT_CQE(&self->pt, 0xb0, -ECANCELED, 0);
	/* The remove had the slot the poll's terminal CQE freed. */
	EXPECT_CQE(&self->pt, 0xb1, 0, 0);
	close(e);
}

TEST_F(tiny, pending_events_join_the_terminal_cqe)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0xb2));
	write1(p[1]);
	write1(p[1]);
	/* The second write found the CQ full: pending. */
	EXPECT_EQ(1, fdinfo(self->pt.fd, "overflow"));
	close(p[1]);
	/*
	 * The hang-up ends the poll in its reserved slot, with the rest.
	 * Reaping first would let an ENTER post the pending event alone.
	 */
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "inflight", 0, 20000));
	EXPECT_CQE(&self->pt, 0xb2, EPOLLIN, MORE);
	EXPECT_CQE(&self->pt, 0xb2, EPOLLIN | EPOLLHUP, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
}

/* A writer thread and a slow consumer: every write is seen. */
struct stress {
	int efd;
	int writes;
};

static void *stress_writer(void *arg)
{
	struct stress *st = arg;
	int i;

	for (i = 0; i < st->writes; i++) {
		efd_write(st->efd, 1);
		if (!(i % 16))
			sched_yield();
	}
	return NULL;
}

TEST_F(tiny, stress_writer_slow_consumer_loses_nothing)
{
	struct stress st = { .writes = 3000 };
	__u64 seen = 0, v;
	struct cport_cqe c;
	pthread_t th;
	int cqes = 0;

	CPORT_SKIP_IF_ABSENT();
	st.efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, st.efd);
	SUBMIT(&self->pt, sqe_poll(st.efd, EPOLLIN, CPORT_POLL_MULTISHOT,
				   0xc0));
	ASSERT_EQ(0, pthread_create(&th, NULL, stress_writer, &st));
	/*
	 * Every CQE says "readable since the last one": reading the counter
	 * after each, the writes add up. A lost event would leave the last
	 * writes unseen, and the wait would time out.
	 */
	while (seen < (__u64)st.writes) {
		NEXT(&self->pt, &c);
		ASSERT_EQ(0xc0, c.user_data);
		ASSERT_EQ(EPOLLIN, c.res);
		ASSERT_EQ(MORE, c.flags);
		cqes++;
		if (!(cqes % 4))
			sched_yield();
		if (read(st.efd, &v, sizeof(v)) == sizeof(v))
			seen += v;
	}
	pthread_join(th, NULL);
	EXPECT_EQ((__u64)st.writes, seen);
	TH_LOG("%d writes, %d CQEs, %lld coalesced", st.writes, cqes,
	       fdinfo(self->pt.fd, "overflow"));
	/* Whatever is still coming is readiness already consumed. */
	while (cq_pop(&self->pt, &c) || !quiet_for(&self->pt, 30))
		EXPECT_EQ(MORE, c.flags);
	SUBMIT(&self->pt, sqe_poll_remove(0xc0, 0, 0, 0, 0xc1));
	EXPECT_CQE(&self->pt, 0xc0, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0xc1, 0, 0);
	close(st.efd);
}

/* ----------------------------------------------------------------- */
/* teardown */

TEST(close_port_with_polls_armed)
{
	int p[2], e, s[2], t[2], i;
	struct port pt;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	ASSERT_EQ(0, tcp_pair(t, NULL));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, port_init(&pt, 8, 16, 0));
		SUBMIT(&pt, sqe_poll(p[0], EPOLLIN, 0, 1));
		SUBMIT(&pt, sqe_poll(e, EPOLLIN, CPORT_POLL_MULTISHOT, 2));
		SUBMIT(&pt, sqe_poll(s[0], EPOLLIN, CPORT_POLL_MULTISHOT, 3));
		SUBMIT(&pt, sqe_poll(t[1], EPOLLIN, 0, 4));
		SUBMIT(&pt, sqe_poll(p[1], EPOLLOUT, CPORT_POLL_MULTISHOT, 5));
		if (i > 0) {	/* written in an earlier round, never read */
			EXPECT_CQE(&pt, 2, EPOLLIN, MORE);
		}
		EXPECT_CQE(&pt, 5, EPOLLOUT, MORE);
		EXPECT_EQ(5, fdinfo(pt.fd, "inflight"));
		if (i & 1)
			efd_write(e, 1);	/* racing the release */
		port_fini(&pt);
		/* Nothing may touch the freed port now. */
		efd_write(e, 1);
		write1(s[1]);
		EXPECT_EQ(1, drain(s[0]));
	}
	close(p[0]);
	close(p[1]);
	close(e);
	close(s[0]);
	close(s[1]);
	close(t[0]);
	close(t[1]);
}

struct closer {
	int fd;
	volatile pid_t tid;
	int ret;
};

static void *waiter_fn(void *arg)
{
	struct closer *cl = arg;

	cl->tid = sys_gettid();
	cl->ret = sys_enter(cl->fd, 0, 1, CPORT_ENTER_TIMEOUT,
			    20 * NSEC_PER_SEC);
	return NULL;
}

TEST(close_port_while_another_thread_waits)
{
	struct closer cl = { .tid = 0 };
	struct port pt;
	pthread_t th;
	int e, p[2];

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, port_init(&pt, 8, 16, 0));
	SUBMIT(&pt, sqe_poll(e, EPOLLIN, CPORT_POLL_MULTISHOT, 1));
	SUBMIT(&pt, sqe_poll(p[0], EPOLLIN, 0, 2));
	cl.fd = pt.fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, waiter_fn, &cl));
	while (!cl.tid)
		sched_yield();
	ASSERT_TRUE(task_sleeps_in(cl.tid, SYS_ioctl, 20000));
	/* The waiter holds the file: the port lives until its wait ends. */
	port_unmap(&pt);
	close(pt.fd);
	efd_write(e, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(0, cl.ret);
	/* Released now, the polls cancelled: nothing touches it. */
	efd_write(e, 1);
	write1(p[1]);
	close(e);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, close_polled_fd_while_armed)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT, 0xd0));
	/* The poll holds the file: closing the descriptor changes nothing. */
	close(p[0]);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0xd0, EPOLLIN, MORE);
	/* The last writer goes: the reader sees the hang-up. */
	close(p[1]);
	EXPECT_CQE(&self->pt, 0xd0, EPOLLIN | EPOLLHUP, 0);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/*
 * A signalfd's wait queue is its poller's signal handlers: the child that
 * polls it exits, the queue goes away (POLLFREE), and its polls end with
 * -ECANCELED; the port, still open in the parent, is fine.
 */
static int pollfree_child(void *arg)
{
	struct port *pt = arg;
	struct cport_sqe s[2];
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK);
	if (sfd < 0)
		return 1;
	s[0] = sqe_poll(sfd, EPOLLIN, 0, 0x180);
	s[1] = sqe_poll(sfd, EPOLLIN, CPORT_POLL_MULTISHOT, 0x181);
	return submit_n(pt, s, 2) == 2 ? 0 : 2;
}

TEST_F(pl, pollfree_when_signalfd_queue_goes_away)
{
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(pollfree_child, &self->pt));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(0x180 + 0x181, c[0].user_data + c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(0, c[0].flags | c[1].flags);
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "inflight", 0, 20000));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	EXPECT_EQ(1, run_one(_metadata, &self->pt,
			     sqe_timeout(0, 0, 0, 0, 0x182)));
}

/* Removals, cancels and hang-ups racing a writer's wake-ups. */
struct hammer {
	int efd;
	int pfd;
	volatile int stop;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	char b[64];

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		efd_write(h->efd, 1);
		if (write(h->pfd, "x", 1) != 1 &&
		    read(h->pfd, b, sizeof(b)) < 0)
			sched_yield();
	}
	return NULL;
}

/* Count a poll's terminal CQE (user_data 1 to 3). */
#define COUNT_END(c, ends) do {						\
	if ((c).user_data <= 3 && !((c).flags & MORE))			\
		(ends)++;						\
} while (0)

/* Submit one SQE; while the CQ is full, reap (counting ends) and retry. */
#define SUBMIT_REAPING(pt, sqe, c, ends) do {				\
	struct cport_sqe __q = (sqe);					\
	int __r;							\
									\
	ASSERT_EQ(0, sq_push((pt), &__q));				\
	while ((__r = sys_enter((pt)->fd, 1, 0, 0, 0)) == -EBUSY)	\
		while (cq_pop((pt), &(c)))				\
			COUNT_END(c, ends);				\
	ASSERT_EQ(1, __r);						\
} while (0)

/*
 * 200 rounds against a writer that floods the CQ with multishot CQEs: 0.15 s
 * on 6.1, 14-22 s on the debug kernel with the host busy (make test-times),
 * almost all of it reaping the flood, none waiting (the longest CQE wait
 * seen was 0.43 s). The default 30 s was too close: a slow run was killed
 * by the harness and looked like a lost CQE. With 120 s, a lost CQE shows
 * as NEXT's -ETIME after its 20 s, never as a timeout.
 */
TEST_F_TIMEOUT(pl, remove_and_cancel_race_wakeups, 120)
{
	struct hammer h = { .stop = 0 };
	struct cport_cqe c;
	int s[2], i, ends;
	pthread_t th;
	__u64 v;

	CPORT_SKIP_IF_ABSENT();
	h.efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, h.efd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
	h.pfd = s[1];
	ASSERT_EQ(0, pthread_create(&th, NULL, hammer_fn, &h));
	for (i = 0; i < 200; i++) {
		__u64 last;

		ends = 0;
		SUBMIT_REAPING(&self->pt, sqe_poll(h.efd, EPOLLIN,
						   CPORT_POLL_MULTISHOT, 1),
			       c, ends);
		SUBMIT_REAPING(&self->pt, sqe_poll(s[0], EPOLLIN | EPOLLOUT,
						   CPORT_POLL_MULTISHOT, 2),
			       c, ends);
		SUBMIT_REAPING(&self->pt, sqe_poll(s[0], EPOLLIN, 0, 3),
			       c, ends);
		/* Remove one (maybe completed already), or cancel them all. */
		if (i & 1)
			SUBMIT_REAPING(&self->pt,
				       sqe_poll_remove(1 + i % 3, 0, 0, 0, 4),
				       c, ends);
		else
			SUBMIT_REAPING(&self->pt,
				       sqe_cancel(0, CPORT_CANCEL_ANY |
						  CPORT_CANCEL_ALL, 4),
				       c, ends);
		if (read(h.efd, &v, sizeof(v)) < 0)
			v = 0;
		drain(s[0]);
		/* Then cancel whatever is left. */
		SUBMIT_REAPING(&self->pt,
			       sqe_cancel(0, CPORT_CANCEL_ANY | CPORT_CANCEL_ALL,
					  5), c, ends);
		do {
			NEXT(&self->pt, &c);
			COUNT_END(c, ends);
			last = c.user_data;
		} while (last != 5);
		/* Each of the three polls ended exactly once. */
		ASSERT_EQ(3, ends);
		ASSERT_EQ(0, fdinfo(self->pt.fd, "inflight"));
		while (cq_pop(&self->pt, &c))
			ASSERT_EQ(0, c.flags & MORE);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(h.efd);
	close(s[0]);
	close(s[1]);
}

/* ----------------------------------------------------------------- */
/* the port in epoll, ports polling ports */

TEST_F(pl, port_fd_in_epoll_loop)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct cport_cqe c;
	int ep, e, i;

	CPORT_SKIP_IF_ABSENT();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	e = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, e);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->pt.fd, &ev));
	SUBMIT(&self->pt, sqe_poll(e, EPOLLIN, CPORT_POLL_MULTISHOT, 0xe0));
	for (i = 0; i < 10; i++) {
		EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
		efd_write(e, 1);
		ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 20000));
		EXPECT_EQ(EPOLLIN, ev.events);
		ASSERT_TRUE(cq_pop(&self->pt, &c));
		EXPECT_EQ(0xe0, c.user_data);
		EXPECT_EQ(EPOLLIN, c.res);
		EXPECT_EQ(MORE, c.flags);
		EXPECT_EQ(8, drain(e));
	}
	SUBMIT(&self->pt, sqe_poll_remove(0xe0, 0, 0, 0, 0xe1));
	EXPECT_CQE(&self->pt, 0xe0, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0xe1, 0, 0);
	close(e);
	close(ep);
}

TEST_F(pl, port_polls_port)
{
	struct port b;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&b, 8, 16, 0));
	SUBMIT(&self->pt, sqe_poll(b.fd, EPOLLIN, 0, 0xf0));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, sys_post(b.fd, 7, 0));
	EXPECT_CQE(&self->pt, 0xf0, EPOLLIN, 0);
	/* B's CQ still holds the CQE: level, at once. */
	EXPECT_EQ(EPOLLIN, run_one(_metadata, &self->pt,
				   sqe_poll(b.fd, EPOLLIN, 0, 0xf1)));
	ASSERT_TRUE(cq_pop(&b, &c));
	EXPECT_EQ(7, c.user_data);

	SUBMIT(&self->pt, sqe_poll(b.fd, EPOLLIN, CPORT_POLL_MULTISHOT, 0xf2));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, sys_post(b.fd, 8, 0));
		EXPECT_CQE(&self->pt, 0xf2, EPOLLIN, MORE);
		ASSERT_TRUE(cq_pop(&b, &c));
		EXPECT_TRUE(quiet_for(&self->pt, 10));
	}
	/* B's own timer, posted from hard IRQ under B's ->cq_lock. */
	SUBMIT(&b, sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, 9));
	EXPECT_CQE(&self->pt, 0xf2, EPOLLIN, MORE);
	EXPECT_CQE(&b, 9, 1, 0);
	SUBMIT(&self->pt, sqe_poll_remove(0xf2, 0, 0, 0, 0xf3));
	EXPECT_CQE(&self->pt, 0xf2, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0xf3, 0, 0);
	port_fini(&b);
}

/*
 * Through epoll: A polls an epoll instance that watches port B, or A
 * itself. B's post wakes the instance with B's ->cq_lock held, A's with
 * A's own: A's poll must not take its ->cq_lock there.
 */
TEST_F(pl, port_polls_epoll_watching_ports)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct cport_cqe c;
	struct port b;
	int ep, i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&b, 8, 16, 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &ev));
	SUBMIT(&self->pt, sqe_poll(ep, EPOLLIN, CPORT_POLL_MULTISHOT, 0x130));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, sys_post(b.fd, 1, 0));
		EXPECT_CQE(&self->pt, 0x130, EPOLLIN, MORE);
		ASSERT_TRUE(cq_pop(&b, &c));
		/* Consume the instance's readiness: the next post is new. */
		EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
		EXPECT_TRUE(quiet_for(&self->pt, 10));
	}
	/* B's timer posts from hard IRQ, under B's ->cq_lock. */
	SUBMIT(&b, sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, 2));
	EXPECT_CQE(&self->pt, 0x130, EPOLLIN, MORE);
	SUBMIT(&self->pt, sqe_poll_remove(0x130, 0, 0, 0, 0x131));
	EXPECT_CQE(&self->pt, 0x130, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x131, 0, 0);

	/* The instance watches A itself: a one-shot ends the loop. */
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, b.fd, NULL));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->pt.fd, &ev));
	SUBMIT(&self->pt, sqe_poll(ep, EPOLLIN, 0, 0x132));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, sys_post(self->pt.fd, 0x133, 0));
	EXPECT_CQE(&self->pt, 0x133, 0, 0);
	EXPECT_CQE(&self->pt, 0x132, EPOLLIN, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(ep);
	port_fini(&b);
}

TEST_F(pl, self_poll_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_poll(self->pt.fd, EPOLLIN, 0, 0xf4)));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

TEST_F(pl, cycle_of_two_ports_eloop)
{
	struct port b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&b, 8, 16, 0));
	SUBMIT(&self->pt, sqe_poll(b.fd, EPOLLIN, CPORT_POLL_MULTISHOT, 1));
	EXPECT_EQ(-ELOOP, run_one(_metadata, &b,
				  sqe_poll(self->pt.fd, EPOLLIN, 0, 2)));
	/* That -ELOOP CQE in B's CQ woke A's poll. */
	EXPECT_CQE(&self->pt, 1, EPOLLIN, MORE);
	/* Once A's poll is gone, B may poll A. */
	SUBMIT(&self->pt, sqe_poll_remove(1, 0, 0, 0, 3));
	EXPECT_CQE(&self->pt, 1, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 3, 0, 0);
	SUBMIT(&b, sqe_poll(self->pt.fd, EPOLLIN, 0, 4));
	EXPECT_TRUE(quiet_for(&b, 30));
	EXPECT_EQ(-ELOOP, run_one(_metadata, &self->pt,
				  sqe_poll(b.fd, EPOLLIN, 0, 5)));
	/* ... and that one in A's CQ completes B's poll. */
	EXPECT_CQE(&b, 4, EPOLLIN, 0);
	EXPECT_TRUE(quiet_for(&b, 30));
	port_fini(&b);
}

TEST_F(pl, cycle_of_three_ports_eloop)
{
	struct port b, c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&b, 8, 16, 0));
	ASSERT_EQ(0, port_init(&c, 8, 16, 0));
	SUBMIT(&self->pt, sqe_poll(b.fd, EPOLLIN, CPORT_POLL_MULTISHOT, 1));
	SUBMIT(&b, sqe_poll(c.fd, EPOLLIN, CPORT_POLL_MULTISHOT, 2));
	EXPECT_EQ(-ELOOP, run_one(_metadata, &c,
				  sqe_poll(self->pt.fd, EPOLLIN, 0, 3)));
	/* The -ELOOP CQE in C travels to B, and from B to A. */
	EXPECT_CQE(&b, 2, EPOLLIN, MORE);
	EXPECT_CQE(&self->pt, 1, EPOLLIN, MORE);
	/* So does a post to C. */
	EXPECT_EQ(0, sys_post(c.fd, 4, 0));
	EXPECT_CQE(&b, 2, EPOLLIN, MORE);
	EXPECT_CQE(&self->pt, 1, EPOLLIN, MORE);
	EXPECT_TRUE(quiet_for(&b, 30));
	/*
	 * A's poll holds B's file: closing B's descriptor releases nothing.
	 * A's release drops B's last reference, B's release its poll of C.
	 */
	port_fini(&b);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	port_fini(&c);
}

/* ----------------------------------------------------------------- */
/* event flags, links */

TEST_F(pl, event_flag_set_at_completion)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	SUBMIT(&self->pt, sqe_ef(sqe_poll(p[0], EPOLLIN, 0, 0x100),
				 CPORT_LOCAL, 5));
	/* Cleared when the SQE is consumed. */
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(5));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(5));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x100, EPOLLIN, 0);
	EXPECT_EQ(BIT64(5), flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(5));

	/* A multishot one sets it with its terminal CQE only. */
	EXPECT_LT(0, drain(p[0]));
	SUBMIT(&self->pt, sqe_ef(sqe_poll(p[0], EPOLLIN, CPORT_POLL_MULTISHOT,
					  0x101), CPORT_LOCAL, 6));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x101, EPOLLIN, MORE);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(6));
	close(p[1]);
	EXPECT_CQE(&self->pt, 0x101, EPOLLIN | EPOLLHUP, 0);
	EXPECT_EQ(BIT64(6), flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(6));
	close(p[0]);
}

TEST_F(pl, linked_poll_runs_the_next_op_after_it)
{
	struct cport_sqe s[3];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	/* NOP -> POLL_ADD (a member: fd looked up at submission) -> NOP */
	s[0] = sqe_nop(0x110);
	s[0].flags = CPORT_SQE_F_LINK;
	s[1] = sqe_poll(p[0], EPOLLIN, 0, 0x111);
	s[1].flags = CPORT_SQE_F_LINK;
	s[2] = sqe_nop(0x112);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	EXPECT_CQE(&self->pt, 0x110, 0, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	write1(p[1]);
	EXPECT_CQE(&self->pt, 0x111, EPOLLIN, 0);
	EXPECT_CQE(&self->pt, 0x112, 0, 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(pl, linked_timeout_cancels_poll)
{
	struct cport_sqe s[2] = {
		sqe_poll(0, EPOLLIN, 0, 0x120),
		{ .opcode = CPORT_OP_LINK_TIMEOUT, .off = 10 * NSEC_PER_MSEC,
		  .user_data = 0x121 },
	};
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	s[0].fd = p[0];
	s[0].flags = CPORT_SQE_F_LINK;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	{
		struct cport_cqe c[2];
		int i;

		ASSERT_EQ(2, reap_n(&self->pt, c, 2));
		for (i = 0; i < 2; i++) {
			EXPECT_EQ(0, c[i].flags);
			if (c[i].user_data == 0x120) {
				EXPECT_EQ(-ECANCELED, c[i].res);
			} else {
				EXPECT_EQ(-ETIME, c[i].res);
			}
		}
		EXPECT_NE(c[0].user_data, c[1].user_data);
	}
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
