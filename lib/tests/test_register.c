// SPDX-License-Identifier: MIT
/*
 * Tests of register.c: cport_register_buffers(), cport_register_files()
 * and their unregister calls, with the FIXED prep helpers of <cport.h>
 * (whose field layout test_queue.c checks on the host).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

/* ---- host: the calls reach the ioctl and keep errno ---- */

START_TEST(register_on_non_port_is_enotty)
{
	struct iovec iov = { &iov, sizeof(iov) };
	struct cport port;
	int fd = non_port_fd();

	memset(&port, 0, sizeof(port));
	port.ring_fd = fd;
	ck_assert_int_eq(KEEP_ERRNO(cport_register_buffers(&port, &iov, 1)),
			 -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buffers(&port)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_register_files(&port, &fd, 1)),
			 -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_files(&port)), -ENOTTY);
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_files(&port)), -EBADF);
	close(fd);
}
END_TEST

START_TEST(restrict_on_non_port_is_enotty)
{
	struct cport_restrict r = { .ops = CPORT_RESTRICT_OP(CPORT_OP_NOP) };
	struct cport port;
	int fd = non_port_fd();

	memset(&port, 0, sizeof(port));
	port.ring_fd = fd;
	ck_assert_int_eq(KEEP_ERRNO(cport_restrict(&port, &r)), -ENOTTY);
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_restrict(&port, &r)), -EBADF);
	close(fd);
	/* The helpers are the bit of the opcode and of the ioctl number. */
	ck_assert_uint_eq(CPORT_RESTRICT_OP(CPORT_OP_READ), 1ULL << 5);
	ck_assert_uint_eq(CPORT_RESTRICT_IOCTL(CPORT_IOC_ENTER), 1ULL << 2);
	ck_assert_uint_eq(CPORT_RESTRICT_IOCTL(CPORT_IOC_ENTER_V1), 1ULL << 2);
}
END_TEST

Suite *register_host_suite(void)
{
	Suite *s = suite_create("register");

	ADD_TESTS(s, tcase_create("errors"), 0,
		  register_on_non_port_is_enotty,
		  restrict_on_non_port_is_enotty);
	return s;
}

/* ---- device ---- */

static struct cport_cqe wait_pop(struct cport *port)
{
	struct cport_cqe *c, cqe;
	int ret = cport_wait_cqe_timeout(port, &c, 10000 * MS);

	ck_assert_msg(ret == 0, "wait_cqe_timeout: %d", ret);
	cqe = *c;
	cport_cqe_seen(port, c);
	return cqe;
}

/* Write through one registered buffer, read back through another. */
START_TEST(fixed_buffers_and_files_round_trip)
{
	unsigned char *area;
	struct iovec iov[2];
	struct cport_sqe *sqe;
	struct cport port;
	int f, fds[2];

	area = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(area, MAP_FAILED);
	iov[0].iov_base = area + 10;
	iov[0].iov_len = 100;
	iov[1].iov_base = area + 4096;
	iov[1].iov_len = 2 * 4096;
	f = open("libcport_reg.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600);
	ck_assert_int_ge(f, 0);
	fds[0] = -1;
	fds[1] = f;
	port_init(&port, 8);
	ck_assert_uint_eq(port.features & CPORT_FEAT_REGISTER,
			  CPORT_FEAT_REGISTER);
	ck_assert_int_eq(KEEP_ERRNO(cport_register_buffers(&port, iov, 2)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_register_files(&port, fds, 2)), 0);
	ck_assert_int_eq(cport_register_files(&port, fds, 2), -EBUSY);

	memcpy(area + 20, "registered", 10);
	sqe = cport_get_sqe(&port);
	cport_prep_write_fixed(sqe, 1, area + 20, 10, 5, 0);
	cport_sqe_set_flags(sqe, CPORT_SQE_F_FIXED_FILE);
	cport_sqe_set_data64(sqe, 1);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 10);

	sqe = cport_get_sqe(&port);
	cport_prep_read_fixed(sqe, f, area + 4096 + 4090, 15, 0, 1);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 15);
	ck_assert_int_eq(memcmp(area + 4096 + 4095, "registered", 10), 0);

	/* Errors land in the CQE. */
	cport_prep_read_fixed(cport_get_sqe(&port), f, area, 1, 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EFAULT);
	cport_prep_read_fixed(cport_get_sqe(&port), f, area + 10, 1, 0, 2);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	sqe = cport_get_sqe(&port);
	cport_prep_read(sqe, 0, area, 1, 0);
	cport_sqe_set_flags(sqe, CPORT_SQE_F_FIXED_FILE);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EBADF);

	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buffers(&port)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buffers(&port)), -ENXIO);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_files(&port)), 0);
	ck_assert_int_eq(cport_unregister_files(&port), -ENXIO);
	cport_queue_exit(&port);
	close(f);
	unlink("libcport_reg.tmp");
	munmap(area, 3 * 4096);
}
END_TEST

/* cport_restrict(): what is allowed runs, the rest is -EACCES. */
START_TEST(restrict_allows_only_the_list)
{
	struct cport_restrict r = {
		.ops = CPORT_RESTRICT_OP(CPORT_OP_NOP),
		.ioctls = CPORT_RESTRICT_IOCTL(CPORT_IOC_ENTER),
	};
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;

	ck_assert_int_eq(cport_queue_init(8, &port, 0), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_restrict(&port, &r)), 0);
	ck_assert_int_eq(cport_restrict(&port, &r), -EBUSY);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 1);
	sqe = cport_get_sqe(&port);
	cport_prep_timeout(sqe, 1000, 0);
	cport_sqe_set_data64(sqe, 2);
	ck_assert_int_eq(cport_submit(&port), 2);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 1);
	ck_assert_int_eq(cqe.res, 0);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 2);
	ck_assert_int_eq(cqe.res, -EACCES);
	/* CPORT_IOC_POST is not on the list. */
	ck_assert_int_eq(cport_post(&port, 1, 3), -EACCES);
	cport_queue_exit(&port);
}
END_TEST

Suite *register_device_suite(void)
{
	Suite *s = suite_create("register");

	ADD_TESTS(s, tcase_device("fixed"), 0,
		  fixed_buffers_and_files_round_trip,
		  restrict_allows_only_the_list);
	return s;
}
