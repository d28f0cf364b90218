// SPDX-License-Identifier: MIT
/*
 * Tests of syscall.c: cport_enter(), the raw CPORT_IOC_ENTER.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <fcntl.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

/* ---- host ---- */

START_TEST(enter_on_bad_fd_is_ebadf)
{
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(-1, 0, 0, 0, 0)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(-1, 1, 1, CPORT_ENTER_TIMEOUT,
						 MS)), -EBADF);
}
END_TEST

START_TEST(enter_on_non_port_is_enotty)
{
	int fd = non_port_fd();

	ck_assert_int_eq(KEEP_ERRNO(cport_enter(fd, 0, 0, 0, 0)), -ENOTTY);
	close(fd);
}
END_TEST

/* ---- device ---- */

START_TEST(enter_rejects_bad_arguments)
{
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 0, 1U << 31,
						 0)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0,
						 port.cq.ring_entries + 1, 0,
						 0)), -EINVAL);
	/* A timeout without CPORT_ENTER_TIMEOUT. */
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 1, 0, MS)),
			 -EINVAL);
	/* A flag condition: not with CPORT_IOC_ENTER_V1, nor without a mask. */
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 1,
						 CPORT_ENTER_FLAGS, 0)),
			 -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(enter_before_setup_is_ebadfd)
{
	int fd = open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(fd, 0, 0, 0, 0)), -EBADFD);
	close(fd);
}
END_TEST

START_TEST(enter_waits_with_timeout)
{
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 0, 0, 0)), 0);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 1,
						 CPORT_ENTER_TIMEOUT, 20 * MS)),
			 -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	ck_assert_int_eq(cport_enter(port.ring_fd, 0, 1, CPORT_ENTER_TIMEOUT, 0),
			 -ETIME);
	ck_assert_int_eq(cport_post(&port, 0, 1), 0);
	ck_assert_int_eq(cport_enter(port.ring_fd, 0, 1, CPORT_ENTER_TIMEOUT, 0),
			 0);
	ck_assert_int_eq(cport_enter(port.ring_fd, 0, 1, 0, 0), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(enter_submits_published_sqes)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 8);
	/* Publish by hand, as the library does, then enter raw. */
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 55);
	__cport_smp_store_release(port.sq.ktail, port.sq.sqe_tail);
	port.sq.sqe_head = port.sq.sqe_tail;
	/* Asking for more than was published consumes what was. */
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 4, 1, 0, 0)), 1);
	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe.user_data, 55);
	ck_assert_int_eq(cqe.res, 0);
	ck_assert_int_eq(cport_enter(port.ring_fd, 4, 0, 0, 0), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(enter_is_interrupted_by_signal)
{
	struct cport port;

	port_init(&port, 8);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_enter(port.ring_fd, 0, 1, 0, 0)),
			 -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	cport_queue_exit(&port);
}
END_TEST

Suite *syscall_host_suite(void)
{
	Suite *s = suite_create("syscall");

	ADD_TESTS(s, tcase_create("enter_errors"), 0,
		  enter_on_bad_fd_is_ebadf,
		  enter_on_non_port_is_enotty);
	return s;
}

Suite *syscall_device_suite(void)
{
	Suite *s = suite_create("syscall");

	ADD_TESTS(s, tcase_device("enter_errors"), 0,
		  enter_rejects_bad_arguments,
		  enter_before_setup_is_ebadfd,
		  enter_is_interrupted_by_signal);
	ADD_TESTS(s, tcase_device("enter"), 0,
		  enter_waits_with_timeout,
		  enter_submits_published_sqes);
	return s;
}
