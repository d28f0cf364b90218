// SPDX-License-Identifier: MIT
/*
 * Tests of setup.c: cport_setup(), cport_queue_mmap(), cport_queue_init(),
 * cport_queue_init_params(), cport_queue_exit().
 *
 * Copyright (C) 2026 The cport authors
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

static void junk_port(struct cport *port)
{
	memset(port, 0x5a, sizeof(*port));
}

/* A failed set-up leaves the port cleared, with no fd. */
static void assert_port_cleared(const struct cport *port)
{
	ck_assert_int_eq(port->ring_fd, -1);
	ck_assert_ptr_null(port->sq.ring_ptr);
	ck_assert_ptr_null(port->sq.sqes);
	ck_assert_ptr_null(port->cq.ring_ptr);
	ck_assert_ptr_null(port->flag_page);
	ck_assert_uint_eq(port->sq.ring_entries, 0);
	ck_assert_uint_eq(port->cq.ring_entries, 0);
}

static void assert_fd_closed(int fd)
{
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}

static unsigned int read_param(const char *name)
{
	char path[128];
	unsigned int v;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/cport/parameters/%s", name);
	f = fopen(path, "r");
	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(fscanf(f, "%u", &v), 1);
	fclose(f);
	return v;
}

/* ---- host (and device: the device is hidden in a mount namespace) ---- */

START_TEST(setup_without_device_is_enoent)
{
	struct cport_params p;
	struct cport port;

	hide_device();
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(KEEP_ERRNO(cport_setup(8, &p)), -ENOENT);
	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(8, &port, 0)), -ENOENT);
	assert_port_cleared(&port);
	junk_port(&port);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init_params(8, &port, &p)),
			 -ENOENT);
	assert_port_cleared(&port);
	/* Exiting a port that failed to set up does nothing. */
	cport_queue_exit(&port);
	assert_port_cleared(&port);
}
END_TEST

START_TEST(null_params_is_efault)
{
	struct cport port;
	int fd = non_port_fd();

	ck_assert_int_eq(KEEP_ERRNO(cport_setup(8, NULL)), -EFAULT);
	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, NULL, &port)), -EFAULT);
	assert_port_cleared(&port);
	close(fd);
}
END_TEST

START_TEST(queue_mmap_rejects_sizes_not_power_of_two)
{
	struct cport_params p;
	struct cport port;
	int fd = non_port_fd();

	memset(&p, 0, sizeof(p));
	p.sq_entries = 3;
	p.cq_entries = 8;
	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), -EINVAL);
	assert_port_cleared(&port);
	p.sq_entries = 4;
	p.cq_entries = 0;
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), -EINVAL);
	assert_port_cleared(&port);
	/* The fd still belongs to the caller. */
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	close(fd);
}
END_TEST

START_TEST(queue_mmap_on_non_port_is_enodev)
{
	struct cport_params p;
	struct cport port;
	int fd = non_port_fd();

	memset(&p, 0, sizeof(p));
	p.sq_entries = 4;
	p.cq_entries = 8;
	junk_port(&port);
	/* An eventfd cannot be mapped: mmap() says ENODEV. */
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), -ENODEV);
	assert_port_cleared(&port);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	close(fd);
}
END_TEST

START_TEST(queue_exit_leaves_unset_port_alone)
{
	struct cport port;
	int fd = non_port_fd();
	int fd0 = fcntl(0, F_GETFD);

	/* Zeroed: ring_fd 0 must not be closed. */
	memset(&port, 0, sizeof(port));
	KEEP_ERRNO((cport_queue_exit(&port), 0));
	ck_assert_int_eq(fcntl(0, F_GETFD), fd0);
	/* Not mapped: the fd is not the port's to close. */
	memset(&port, 0, sizeof(port));
	port.ring_fd = fd;
	cport_queue_exit(&port);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	close(fd);
}
END_TEST

/*
 * flag_page took over reserved words: size, alignment and the offsets of
 * the fields around it are those of libcport 1.0, on LP64 and ILP32.
 */
START_TEST(struct_cport_keeps_its_layout)
{
	const bool lp64 = sizeof(void *) == 8;

	ck_assert_uint_eq(sizeof(struct cport), lp64 ? 192 : 136);
	ck_assert_uint_eq(_Alignof(struct cport), lp64 ? 8 : 4);
	ck_assert_uint_eq(offsetof(struct cport, features), lp64 ? 176 : 120);
	ck_assert_uint_eq(offsetof(struct cport, pad), lp64 ? 180 : 124);
	ck_assert_uint_eq(offsetof(struct cport, concurrency),
			  lp64 ? 180 : 124);
	ck_assert_uint_eq(offsetof(struct cport, flag_page), lp64 ? 184 : 128);
	ck_assert_uint_eq(offsetof(struct cport, pad2), lp64 ? 184 : 128);
}
END_TEST

START_TEST(flags_local_reads_the_flag_page)
{
	struct cport_flag_page page;
	struct cport port;

	memset(&port, 0, sizeof(port));
	ck_assert_uint_eq(KEEP_ERRNO(cport_flags_local(&port)), 0);
	memset(&page, 0, sizeof(page));
	page.local = 0x8000000000000021ULL;
	port.flag_page = &page;
	ck_assert_uint_eq(KEEP_ERRNO(cport_flags_local(&port)),
			  0x8000000000000021ULL);
	page.local = 0;
	ck_assert_uint_eq(cport_flags_local(&port), 0);
}
END_TEST

/* ---- device ---- */

START_TEST(queue_init_sets_up_and_exit_tears_down)
{
	const unsigned int feats = CPORT_FEAT_NODROP | CPORT_FEAT_POST |
				   CPORT_FEAT_TIMER | CPORT_FEAT_LIFO_WAKE |
				   CPORT_FEAT_RW;
	struct cport port;
	int fd;

	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(8, &port, 0)), 0);
	fd = port.ring_fd;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_uint_eq(port.flags, 0);
	ck_assert_uint_eq(port.features & feats, feats);
	ck_assert_uint_eq(port.sq.ring_entries, 8);
	ck_assert_uint_eq(port.sq.ring_mask, 7);
	ck_assert_uint_eq(port.cq.ring_entries, 16);
	ck_assert_uint_eq(port.cq.ring_mask, 15);
	ck_assert_uint_eq(cport_sq_space_left(&port), 8);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	ck_assert_uint_eq(*port.cq.koverflow, 0);
	ck_assert_uint_eq(*port.sq.kflags, 0);
	ck_assert_uint_eq(*port.cq.kflags, 0);
	ck_assert_ptr_nonnull(port.flag_page);

	KEEP_ERRNO((cport_queue_exit(&port), 0));
	assert_port_cleared(&port);
	assert_fd_closed(fd);
}
END_TEST

START_TEST(queue_init_rounds_up_to_power_of_two)
{
	struct cport port;

	ck_assert_int_eq(cport_queue_init(5, &port, 0), 0);
	ck_assert_uint_eq(port.sq.ring_entries, 8);
	ck_assert_uint_eq(port.cq.ring_entries, 16);
	cport_queue_exit(&port);
	ck_assert_int_eq(cport_queue_init(1, &port, 0), 0);
	ck_assert_uint_eq(port.sq.ring_entries, 1);
	ck_assert_uint_eq(port.cq.ring_entries, 2);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(queue_init_zero_entries_is_einval)
{
	struct cport port;

	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(0, &port, 0)), -EINVAL);
	assert_port_cleared(&port);
}
END_TEST

START_TEST(queue_init_too_big_is_einval_unless_clamped)
{
	unsigned int max = read_param("max_sq_entries");
	struct cport port;

	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(max * 2, &port, 0)),
			 -EINVAL);
	assert_port_cleared(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(max * 2, &port,
						      CPORT_SETUP_CLAMP)), 0);
	ck_assert_uint_eq(port.sq.ring_entries, max);
	ck_assert_uint_eq(port.flags, CPORT_SETUP_CLAMP);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(queue_init_unknown_flag_is_einval)
{
	struct cport port;

	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init(8, &port, 1U << 31)),
			 -EINVAL);
	assert_port_cleared(&port);
}
END_TEST

START_TEST(queue_init_params_honours_cqsize)
{
	struct cport_params p;
	struct cport port;

	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	p.cq_entries = 100;
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init_params(8, &port, &p)), 0);
	ck_assert_uint_eq(p.sq_entries, 8);
	ck_assert_uint_eq(p.cq_entries, 128);
	ck_assert_uint_eq(port.sq.ring_entries, 8);
	ck_assert_uint_eq(port.cq.ring_entries, 128);
	ck_assert_uint_eq(port.flags, CPORT_SETUP_CQSIZE);
	ck_assert_uint_eq(port.features, p.features);
	ck_assert_uint_ne(p.cq_off.cqes, 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(queue_init_params_rejects_bad_params)
{
	struct cport_params p;
	struct cport port;

	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	p.cq_entries = 4;	/* < sq_entries */
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init_params(8, &port, &p)),
			 -EINVAL);
	assert_port_cleared(&port);

	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	ck_assert_int_eq(cport_queue_init_params(8, &port, &p), -EINVAL);

	memset(&p, 0, sizeof(p));
	p.features = CPORT_FEAT_POST;
	ck_assert_int_eq(cport_queue_init_params(8, &port, &p), -EINVAL);

	memset(&p, 0, sizeof(p));
	p.resv[3] = 1;
	ck_assert_int_eq(cport_queue_init_params(8, &port, &p), -EINVAL);
	assert_port_cleared(&port);
}
END_TEST

START_TEST(setup_returns_set_up_fd_for_queue_mmap)
{
	struct cport_params p;
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;
	int fd, ret;

	memset(&p, 0, sizeof(p));
	fd = KEEP_ERRNO(cport_setup(4, &p));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_uint_eq(p.sq_entries, 4);
	ck_assert_uint_eq(p.cq_entries, 8);

	/* Set up once only. */
	{
		struct cport_params again;

		memset(&again, 0, sizeof(again));
		again.sq_entries = 4;
		ret = ioctl(fd, CPORT_IOC_SETUP, &again);
		ck_assert_int_eq(ret, -1);
		ck_assert_int_eq(errno, EBUSY);
	}

	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), 0);
	ck_assert_int_eq(port.ring_fd, fd);
	ck_assert_uint_eq(port.sq.ring_entries, 4);
	ck_assert_uint_eq(port.features, p.features);
	sqe = cport_get_sqe(&port);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	cport_queue_exit(&port);
	assert_fd_closed(fd);
}
END_TEST

START_TEST(queue_mmap_before_setup_is_ebadfd)
{
	struct cport_params p;
	struct cport port;
	int fd = open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	memset(&p, 0, sizeof(p));
	p.sq_entries = 4;
	p.cq_entries = 8;
	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), -EBADFD);
	assert_port_cleared(&port);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	close(fd);
}
END_TEST

START_TEST(queue_mmap_with_wrong_sizes_is_einval)
{
	struct cport_params p;
	struct cport port;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = cport_setup(4, &p);
	ck_assert_int_ge(fd, 0);
	p.sq_entries = 64;	/* not what the kernel set up */
	junk_port(&port);
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_mmap(fd, &p, &port)), -EINVAL);
	assert_port_cleared(&port);
	close(fd);
}
END_TEST

/* The flag page of a new port: mapped, every word 0. */
START_TEST(queue_init_maps_flag_page)
{
	const struct cport_flag_page *page;
	struct cport port;
	unsigned int i;

	port_init(&port, 8);
	ck_assert_uint_eq(port.features & CPORT_FEAT_FLAGS, CPORT_FEAT_FLAGS);
	page = port.flag_page;
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_eq(cport_flags_local(&port), 0);
	ck_assert_uint_eq(page->local, 0);
	for (i = 0; i < sizeof(page->resv) / sizeof(page->resv[0]); i++)
		ck_assert_uint_eq(page->resv[i], 0);
	cport_queue_exit(&port);
	ck_assert_ptr_null(port.flag_page);
}
END_TEST

/* Only the kernel writes the flag page: a store to it is SIGSEGV. */
START_TEST(flag_page_is_read_only)
{
	struct cport port;

	port_init(&port, 8);
	ck_assert_ptr_nonnull(port.flag_page);
	*(volatile __u64 *)&port.flag_page->local = 1;
	ck_abort_msg("the store to the flag page did not fault");
}
END_TEST

Suite *setup_host_suite(void)
{
	Suite *s = suite_create("setup");

	ADD_TESTS(s, tcase_create("no_device"), 0,
		  setup_without_device_is_enoent);
	ADD_TESTS(s, tcase_create("arguments"), 0,
		  null_params_is_efault,
		  queue_mmap_rejects_sizes_not_power_of_two,
		  queue_mmap_on_non_port_is_enodev,
		  queue_exit_leaves_unset_port_alone);
	ADD_TESTS(s, tcase_create("flag_page"), 0,
		  struct_cport_keeps_its_layout,
		  flags_local_reads_the_flag_page);
	return s;
}

Suite *setup_device_suite(void)
{
	Suite *s = suite_create("setup");
	TCase *tc;

	ADD_TESTS(s, tcase_device("queue_init"), 0,
		  queue_init_sets_up_and_exit_tears_down,
		  queue_init_rounds_up_to_power_of_two,
		  queue_init_zero_entries_is_einval,
		  queue_init_too_big_is_einval_unless_clamped,
		  queue_init_unknown_flag_is_einval);
	ADD_TESTS(s, tcase_device("queue_init_params"), 0,
		  queue_init_params_honours_cqsize,
		  queue_init_params_rejects_bad_params);
	ADD_TESTS(s, tcase_device("setup_and_mmap"), 0,
		  setup_returns_set_up_fd_for_queue_mmap,
		  queue_mmap_before_setup_is_ebadfd,
		  queue_mmap_with_wrong_sizes_is_einval);
	tc = tcase_device("flag_page");
	tcase_add_test_raise_signal(tc, flag_page_is_read_only, SIGSEGV);
	ADD_TESTS(s, tc, 0,
		  queue_init_maps_flag_page);
	ADD_TESTS(s, tcase_device("no_device"), 0,
		  setup_without_device_is_enoent,
		  null_params_is_efault);
	return s;
}
