// SPDX-License-Identifier: MIT
/*
 * Tests of flags.c: event flags (set, clear, read, wait, poll arm).
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

#define BIT(n)		(1ULL << (n))
#define JUNK		0xa5a5a5a5a5a5a5a5ULL

/* Initial index values of fake rings: from 0, and just below the wrap. */
static const unsigned int starts[] = { 0, 0xfffffffeU };

/* ---- host: prep helpers ---- */

START_TEST(prep_flag_wait_sets_len_addr_op_flags)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_flag_wait(&sqe, 31, 0x8000000000000006ULL,
			     CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME);
	want_init(&want, CPORT_OP_FLAG_WAIT);
	want.len = 31;
	want.addr = 0x8000000000000006ULL;
	want.op_flags = CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_flag_set_and_clear_set_len_off)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_flag_set(&sqe, 2, 63);
	want_init(&want, CPORT_OP_FLAG_SET);
	want.len = 2;
	want.off = 63;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_flag_clear(&sqe, 0, 7);
	want_init(&want, CPORT_OP_FLAG_CLEAR);
	want.off = 7;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(sqe_set_event_flag_adds_flag_cluster_and_bit)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_timeout(&sqe, 5 * MS, 0);
	cport_sqe_set_flags(&sqe, CPORT_SQE_F_LINK);
	want = sqe;
	cport_sqe_set_event_flag(&sqe, 32, 63);
	want.flags = CPORT_SQE_F_LINK | CPORT_SQE_F_EVENT_FLAG;
	want.ef_cluster = 32;
	want.ef_bit = 63;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
	ck_assert_uint_eq(sqe.resv2, 0);
	ck_assert_uint_eq(sqe.resv[0], 32ULL | (63ULL << 32));
	/* cport_sqe_set_flags() replaces the flag, not the fields. */
	cport_sqe_set_flags(&sqe, 0);
	want.flags = 0;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

/* ---- host: argument checks of the library, then the ioctl ---- */

START_TEST(flag_calls_on_non_port_are_enotty)
{
	uint64_t v = JUNK;
	struct cport port;
	int fd = non_port_fd();

	memset(&port, 0, sizeof(port));
	port.ring_fd = fd;
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set(&port, 0, 1)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear(&port, 0, 1)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set_fd(fd, 0, 1)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear_fd(fd, 0, 1)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_read(&port, 0, &v)), -ENOTTY);
	ck_assert_uint_eq(v, 0);
	v = JUNK;
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, 1, 0, 0, &v)),
			 -ENOTTY);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_arm(&port, 0, 1, 0)),
			 -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_disarm(&port)), -ENOTTY);
	close(fd);
}
END_TEST

START_TEST(flag_calls_on_closed_fd_are_ebadf)
{
	uint64_t v;
	struct cport port;

	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set(&port, 0, 1)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear(&port, 0, 1)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set_fd(-1, 0, 1)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear_fd(-1, 0, 1)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_read(&port, 0, &v)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, 1,
						     CPORT_FLAG_WAIT_ALL |
						     CPORT_FLAG_WAIT_CONSUME,
						     CPORT_INFINITE, NULL)),
			 -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_arm(&port, 0, 1, 0)),
			 -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_disarm(&port)), -EBADF);
}
END_TEST

/*
 * The library rejects what it must not pass on before the ioctl: on a
 * port whose fd is -1, the kernel's answer would be -EBADF.
 */
START_TEST(flag_read_without_result_is_efault)
{
	struct cport port;

	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_read(&port, 0, NULL)), -EFAULT);
}
END_TEST

START_TEST(flag_wait_rejects_flags_of_the_library)
{
	uint64_t v = JUNK;
	struct cport port;

	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	/* TIMEOUT is the library's to set, from timeout_ns. */
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, 1,
						     CPORT_FLAG_WAIT_TIMEOUT,
						     0, &v)), -EINVAL);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(cport_flag_wait(&port, 0, 1, 1U << 31, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_wait(&port, 0, 1, CPORT_FLAG_WAIT_ALL, 0,
					 NULL), -EBADF);
}
END_TEST

START_TEST(cluster_calls_on_non_port_are_enotty)
{
	unsigned int h = 77;
	struct cport port;

	memset(&port, 0, sizeof(port));
	port.ring_fd = non_port_fd();
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, "x",
							 CPORT_CLUSTER_CREATE,
							 0600, &h)), -ENOTTY);
	ck_assert_uint_eq(h, 77);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_disassoc(&port, 1)), -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, "x")), -ENOTTY);
	close(port.ring_fd);
}
END_TEST

/* 63 characters: the longest name; one more is the library's -EINVAL. */
static const char name63[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
static const char name64[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.";

START_TEST(cluster_names_are_checked_before_the_ioctl)
{
	unsigned int h = 77;
	struct cport port;

	ck_assert_uint_eq(sizeof(name63) - 1, CPORT_CLUSTER_NAME_MAX);
	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, NULL, 0, 0,
							 &h)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, name64, 0, 0,
							 &h)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, name63, 0, 0,
							 NULL)), -EFAULT);
	ck_assert_int_eq(cport_cluster_assoc(&port, name63, 0, 0, &h), -EBADF);
	ck_assert_uint_eq(h, 77);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, NULL)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, name64)),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_delete(&port, name63), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_disassoc(&port, 1)), -EBADF);
}
END_TEST

/* On a fake port (the test plays the kernel's SQ side; ring_fd is -1). */
START_TEST(wait_cqe_flags_rejects_flags_before_submitting)
{
	static const unsigned int bad[] = {
		CPORT_ENTER_TIMEOUT, CPORT_ENTER_FLAGS, 1U << 31,
	};
	struct cport_cqe *cqe = (struct cport_cqe *)&cqe;
	uint64_t v = JUNK;
	struct cport port;
	unsigned int i;

	fake_port_init(&port, 4, 8, 0);
	cport_prep_nop(cport_get_sqe(&port));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
								  1, bad[i], 0,
								  &v)),
				 -EINVAL);
		ck_assert_ptr_null(cqe);
		ck_assert_uint_eq(v, 0);
	}
	/* Nothing was published. */
	ck_assert_uint_eq(fake_kernel_consume(&port, NULL, 4), 0);
	fake_port_free(&port);
}
END_TEST

START_TEST(wait_cqe_flags_publishes_pending_sqes_then_enters)
{
	struct cport_sqe *sqe, out[4];
	struct cport_cqe *cqe;
	uint64_t v = JUNK;
	struct cport port;

	fake_port_init(&port, 4, 8, starts[_i]);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 21);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 22);
	/* Entering fails (fd -1), after the SQEs were published. */
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0, 1,
						CPORT_ENTER_FLAGS_ALL |
						CPORT_ENTER_FLAGS_CONSUME,
						CPORT_INFINITE, &v)), -EBADF);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(fake_kernel_consume(&port, out, 4), 2);
	ck_assert_uint_eq(out[0].user_data, 21);
	ck_assert_uint_eq(out[1].user_data, 22);
	/* A CQE ready does not spare the system call: the flags count. */
	fake_kernel_post(&port, 5, 0, 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, 1, 0, 0, NULL),
			 -EBADF);
	ck_assert_ptr_null(cqe);
	fake_port_free(&port);
}
END_TEST

START_TEST(wait_cqe_flags_on_non_port_is_enotty)
{
	struct cport_cqe *cqe;
	struct cport port;
	int fd = non_port_fd();

	fake_port_init(&port, 4, 8, 0);
	port.ring_fd = fd;
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0, 1, 0,
							  0, NULL)), -ENOTTY);
	ck_assert_ptr_null(cqe);
	port.ring_fd = -1;
	fake_port_free(&port);
	close(fd);
}
END_TEST

START_TEST(sqe_set_signal_adds_flag_signo_flags_and_value)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_nop(&sqe);
	cport_sqe_set_flags(&sqe, CPORT_SQE_F_DRAIN);
	want = sqe;
	cport_sqe_set_signal(&sqe, 34, CPORT_SIG_PROCESS,
			     0x0123456789abcdefULL);
	want.flags = CPORT_SQE_F_DRAIN | CPORT_SQE_F_SIGNAL;
	want.sig_signo = 34;
	want.sig_flags = CPORT_SIG_PROCESS;
	want.sig_value = 0x0123456789abcdefULL;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
	/* The bytes of ef_cluster, ef_bit and resv2. */
	ck_assert_uint_eq(sqe.resv[0], 34ULL | ((__u64)CPORT_SIG_PROCESS << 32));
	ck_assert_uint_eq(sqe.resv2, 0x0123456789abcdefULL);
	ck_assert_uint_eq(offsetof(struct cport_sqe, sig_value), 56);
}
END_TEST

Suite *flags_host_suite(void)
{
	Suite *s = suite_create("flags");
	int n = sizeof(starts) / sizeof(starts[0]);

	ADD_TESTS(s, tcase_create("prep"), 0,
		  prep_flag_wait_sets_len_addr_op_flags,
		  prep_flag_set_and_clear_set_len_off,
		  sqe_set_event_flag_adds_flag_cluster_and_bit,
		  sqe_set_signal_adds_flag_signo_flags_and_value);
	ADD_TESTS(s, tcase_create("errors"), 0,
		  flag_calls_on_non_port_are_enotty,
		  flag_calls_on_closed_fd_are_ebadf,
		  flag_read_without_result_is_efault,
		  flag_wait_rejects_flags_of_the_library,
		  cluster_calls_on_non_port_are_enotty,
		  cluster_names_are_checked_before_the_ioctl,
		  wait_cqe_flags_rejects_flags_before_submitting,
		  wait_cqe_flags_on_non_port_is_enotty);
	ADD_TESTS(s, tcase_create("wait_cqe_flags"), n,
		  wait_cqe_flags_publishes_pending_sqes_then_enters);
	return s;
}

/* ---- device ---- */

static uint64_t read_local(struct cport *port)
{
	uint64_t v = JUNK;

	ck_assert_int_eq(cport_flag_read(port, 0, &v), 0);
	/* The flag page shows what the ioctl reads. */
	ck_assert_uint_eq(cport_flags_local(port), v);
	return v;
}

START_TEST(set_and_clear_return_the_previous_state)
{
	struct cport port;

	port_init(&port, 8);
	ck_assert_uint_eq(port.features & CPORT_FEAT_FLAGS, CPORT_FEAT_FLAGS);
	ck_assert_uint_eq(read_local(&port), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set(&port, 0, 5)), 0);
	ck_assert_uint_eq(read_local(&port), BIT(5));
	ck_assert_int_eq(cport_flag_set(&port, 0, 5), 1);
	ck_assert_int_eq(cport_flag_set(&port, 0, 63), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 0), 0);
	ck_assert_uint_eq(read_local(&port), BIT(0) | BIT(5) | BIT(63));
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear(&port, 0, 5)), 1);
	ck_assert_int_eq(cport_flag_clear(&port, 0, 5), 0);
	ck_assert_uint_eq(read_local(&port), BIT(0) | BIT(63));
	ck_assert_int_eq(cport_flag_clear(&port, 0, 63), 1);
	ck_assert_int_eq(cport_flag_clear(&port, 0, 0), 1);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(set_and_clear_reject_bad_bit_or_cluster)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set(&port, 0, 64)), -EINVAL);
	ck_assert_int_eq(cport_flag_clear(&port, 0, 64), -EINVAL);
	ck_assert_int_eq(cport_flag_set(&port, 0, ~0U), -EINVAL);
	/* Handles 1 to 32 exist only once associated. */
	ck_assert_int_eq(cport_flag_set(&port, 1, 0), -EINVAL);
	ck_assert_int_eq(cport_flag_clear(&port, CPORT_CLUSTER_MAX, 0),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_set(&port, CPORT_CLUSTER_MAX + 1, 0),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_read(&port, 1, &v)), -EINVAL);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

/*
 * The fd calls reach any port, set up or not: here one that was only
 * opened, whose local cluster exists from open().
 */
START_TEST(set_fd_and_clear_fd_reach_a_port_not_set_up)
{
	struct cport raw;
	uint64_t v;
	int fd = open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set_fd(fd, 0, 17)), 0);
	ck_assert_int_eq(cport_flag_set_fd(fd, 0, 17), 1);
	memset(&raw, 0, sizeof(raw));
	raw.ring_fd = fd;
	ck_assert_int_eq(cport_flag_read(&raw, 0, &v), 0);
	ck_assert_uint_eq(v, BIT(17));
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_clear_fd(fd, 0, 17)), 1);
	ck_assert_int_eq(cport_flag_clear_fd(fd, 0, 17), 0);
	ck_assert_int_eq(cport_flag_read(&raw, 0, &v), 0);
	ck_assert_uint_eq(v, 0);
	close(fd);
}
END_TEST

/* Two ports have two local clusters. */
START_TEST(set_fd_sets_the_flag_of_that_port)
{
	struct cport a, b;

	port_init(&a, 8);
	port_init(&b, 8);
	ck_assert_int_eq(cport_flag_set_fd(b.ring_fd, 0, 9), 0);
	ck_assert_uint_eq(read_local(&b), BIT(9));
	ck_assert_uint_eq(read_local(&a), 0);
	ck_assert_int_eq(cport_flag_clear_fd(b.ring_fd, 0, 9), 1);
	ck_assert_uint_eq(read_local(&b), 0);
	cport_queue_exit(&a);
	cport_queue_exit(&b);
}
END_TEST

START_TEST(wait_with_timeout_zero_is_etime)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, BIT(3), 0, 0,
						     &v)), -ETIME);
	ck_assert_uint_eq(v, 0);
	v = JUNK;
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(1) | BIT(3),
					 CPORT_FLAG_WAIT_ALL, 0, &v), -ETIME);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(read_local(&port), BIT(1));
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_times_out_after_the_timeout)
{
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, BIT(3), 0,
						     20 * MS, NULL)), -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_any_returns_the_set_flags_of_the_mask)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 2), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 40), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0,
						     BIT(1) | BIT(2) | BIT(3),
						     0, 0, &v)), 0);
	ck_assert_uint_eq(v, BIT(1) | BIT(2));
	/* Not consumed: the wait is satisfied again, without a limit. */
	v = JUNK;
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(40) | BIT(41), 0,
					 CPORT_INFINITE, &v), 0);
	ck_assert_uint_eq(v, BIT(40));
	ck_assert_uint_eq(read_local(&port), BIT(1) | BIT(2) | BIT(40));
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_all_needs_every_flag_of_the_mask)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(1) | BIT(63),
					 CPORT_FLAG_WAIT_ALL, 0, &v), -ETIME);
	ck_assert_int_eq(cport_flag_set(&port, 0, 63), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0,
						     BIT(1) | BIT(63),
						     CPORT_FLAG_WAIT_ALL, 0,
						     &v)), 0);
	ck_assert_uint_eq(v, BIT(1) | BIT(63));
	ck_assert_uint_eq(read_local(&port), BIT(1) | BIT(63));
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_consume_clears_what_satisfied_it)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 2), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 40), 0);
	/* Any: every flag of the mask that was set. */
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0,
						     BIT(1) | BIT(2) | BIT(3),
						     CPORT_FLAG_WAIT_CONSUME,
						     0, &v)), 0);
	ck_assert_uint_eq(v, BIT(1) | BIT(2));
	ck_assert_uint_eq(read_local(&port), BIT(40));
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(1) | BIT(2),
					 CPORT_FLAG_WAIT_CONSUME, 0, &v),
			 -ETIME);
	ck_assert_uint_eq(v, 0);
	/* All: the whole mask. */
	ck_assert_int_eq(cport_flag_set(&port, 0, 5), 0);
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(5) | BIT(40),
					 CPORT_FLAG_WAIT_ALL |
					 CPORT_FLAG_WAIT_CONSUME, 0, &v), 0);
	ck_assert_uint_eq(v, BIT(5) | BIT(40));
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

struct delayed_set {
	int fd;
	unsigned int bit;
	uint64_t delay_ns;
};

static void *set_later(void *arg)
{
	struct delayed_set *d = arg;

	sleep_ns(d->delay_ns);
	ck_assert_int_eq(cport_flag_set_fd(d->fd, 0, d->bit), 0);
	return NULL;
}

START_TEST(wait_sleeps_until_another_thread_sets)
{
	struct delayed_set d;
	struct cport port;
	pthread_t thread;
	uint64_t t0, v = JUNK;

	port_init(&port, 8);
	d.fd = port.ring_fd;
	d.bit = 33;
	d.delay_ns = 30 * MS;
	t0 = now_ns();
	ck_assert_int_eq(pthread_create(&thread, NULL, set_later, &d), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, BIT(33) | BIT(2),
						     CPORT_FLAG_WAIT_CONSUME,
						     CPORT_INFINITE, &v)), 0);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_uint_eq(v, BIT(33));
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_is_interrupted_by_signal)
{
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, BIT(0), 0,
						     CPORT_INFINITE, &v)),
			 -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	ck_assert_uint_eq(v, 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_rejects_bad_arguments)
{
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 0), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_wait(&port, 0, 0, 0, 0, NULL)),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_wait(&port, 0, 0, 0, CPORT_INFINITE, NULL),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(0), 1U << 31, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_wait(&port, 1, BIT(0), 0, 0, NULL),
			 -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

static short poll_revents(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLPRI };
	int n = poll(&pfd, 1, timeout_ms);

	ck_assert_int_ge(n, 0);
	return n ? pfd.revents : 0;
}

START_TEST(poll_arm_reports_pollpri_while_the_condition_holds)
{
	struct cport port;
	int fd;

	port_init(&port, 8);
	fd = port.ring_fd;
	ck_assert_int_eq(poll_revents(fd, 0), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_arm(&port, 0, BIT(7), 0)),
			 0);
	ck_assert_int_eq(poll_revents(fd, 0), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 6), 0);
	ck_assert_int_eq(poll_revents(fd, 0), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 7), 0);
	ck_assert_int_eq(poll_revents(fd, 0), POLLPRI);
	ck_assert_int_eq(cport_flag_clear(&port, 0, 7), 1);
	ck_assert_int_eq(poll_revents(fd, 0), 0);

	/* Arming again replaces the condition: now all of 7 and 8. */
	ck_assert_int_eq(cport_flag_poll_arm(&port, 0, BIT(7) | BIT(8),
					     CPORT_FLAG_WAIT_ALL), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 8), 0);
	ck_assert_int_eq(poll_revents(fd, 0), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 7), 0);
	ck_assert_int_eq(poll_revents(fd, 0), POLLPRI);
	/* A CQE adds POLLIN. */
	ck_assert_int_eq(cport_post(&port, 0, 1), 0);
	ck_assert_int_eq(poll_revents(fd, 0), POLLIN | POLLPRI);

	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_disarm(&port)), 0);
	ck_assert_int_eq(poll_revents(fd, 0), POLLIN);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_disarm(&port)), -ENOENT);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(poll_is_woken_when_the_condition_becomes_true)
{
	struct delayed_set d;
	struct cport port;
	pthread_t thread;
	uint64_t t0;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_poll_arm(&port, 0, BIT(12), 0), 0);
	d.fd = port.ring_fd;
	d.bit = 12;
	d.delay_ns = 30 * MS;
	t0 = now_ns();
	ck_assert_int_eq(pthread_create(&thread, NULL, set_later, &d), 0);
	ck_assert_int_eq(poll_revents(port.ring_fd, 10000), POLLPRI);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(poll_arm_rejects_bad_arguments)
{
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_poll_arm(&port, 0, 0, 0)),
			 -EINVAL);
	ck_assert_int_eq(cport_flag_poll_arm(&port, 0, BIT(0),
					     CPORT_FLAG_WAIT_CONSUME), -EINVAL);
	ck_assert_int_eq(cport_flag_poll_arm(&port, 0, BIT(0),
					     CPORT_FLAG_WAIT_TIMEOUT), -EINVAL);
	ck_assert_int_eq(cport_flag_poll_arm(&port, 2, BIT(0), 0), -EINVAL);
	/* Nothing got armed. */
	ck_assert_int_eq(cport_flag_poll_disarm(&port), -ENOENT);
	cport_queue_exit(&port);
}
END_TEST

/* A name of this test process: clusters are shared by the whole system. */
static const char *cluster_name(const char *tag)
{
	static char names[4][CPORT_CLUSTER_NAME_MAX + 1];
	static unsigned int n;
	char *name = names[n++ % 4];

	snprintf(name, CPORT_CLUSTER_NAME_MAX + 1, "libcport.%s.%d", tag,
		 (int)getpid());
	return name;
}

START_TEST(cluster_assoc_creates_then_attaches)
{
	const char *name = cluster_name("shared");
	unsigned int ha = 0, hb = 0;
	struct cport a, b;
	uint64_t v;

	port_init(&a, 8);
	port_init(&b, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&a, name,
							 CPORT_CLUSTER_CREATE,
							 0600, &ha)), 1);
	ck_assert_uint_eq(ha, 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&b, name,
							 CPORT_CLUSTER_CREATE,
							 0600, &hb)), 0);
	ck_assert_uint_eq(hb, 1);

	/* One cluster, seen by both ports; the local ones are apart. */
	ck_assert_int_eq(cport_flag_set(&a, ha, 11), 0);
	ck_assert_int_eq(cport_flag_set(&b, hb, 11), 1);
	ck_assert_int_eq(cport_flag_read(&b, hb, &v), 0);
	ck_assert_uint_eq(v, BIT(11));
	ck_assert_int_eq(cport_flag_wait(&b, hb, BIT(11),
					 CPORT_FLAG_WAIT_CONSUME, 0, &v), 0);
	ck_assert_uint_eq(v, BIT(11));
	ck_assert_int_eq(cport_flag_read(&a, ha, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(read_local(&a), 0);
	ck_assert_uint_eq(read_local(&b), 0);
	cport_queue_exit(&a);
	cport_queue_exit(&b);
}
END_TEST

START_TEST(cluster_assoc_errors)
{
	const char *name = cluster_name("errors");
	const char *missing = cluster_name("missing");
	unsigned int h = 0, h2 = 77;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, missing, 0, 0,
							 &h2)), -ENOENT);
	ck_assert_int_eq(cport_cluster_assoc(&port, missing,
					     CPORT_CLUSTER_RDONLY, 0, &h2),
			 -ENOENT);
	ck_assert_int_eq(cport_cluster_assoc(&port, name,
					     CPORT_CLUSTER_CREATE |
					     CPORT_CLUSTER_EXCL, 0600, &h), 1);
	ck_assert_uint_eq(h, 1);
	ck_assert_int_eq(cport_cluster_assoc(&port, name,
					     CPORT_CLUSTER_CREATE |
					     CPORT_CLUSTER_EXCL, 0600, &h2),
			 -EEXIST);
	/* Associated with this port already. */
	ck_assert_int_eq(cport_cluster_assoc(&port, name, 0, 0, &h2), -EBUSY);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, CPORT_CLUSTER_CREATE,
					     0600, &h2), -EBUSY);
	/* Names and flags the kernel refuses. */
	ck_assert_int_eq(cport_cluster_assoc(&port, "", CPORT_CLUSTER_CREATE,
					     0600, &h2), -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, "a b",
					     CPORT_CLUSTER_CREATE, 0600, &h2),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, "a/b",
					     CPORT_CLUSTER_CREATE, 0600, &h2),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, missing,
					     CPORT_CLUSTER_EXCL, 0, &h2),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, missing, 0, 0600, &h2),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, missing,
					     CPORT_CLUSTER_CREATE, 01000, &h2),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, missing, 1U << 31, 0,
					     &h2), -EINVAL);
	ck_assert_uint_eq(h2, 77);
	cport_queue_exit(&port);
}
END_TEST

/* The lowest free handle, up to CPORT_CLUSTER_MAX per port. */
START_TEST(cluster_handles_are_the_lowest_free)
{
	char name[CPORT_CLUSTER_NAME_MAX + 1];
	struct cport port;
	unsigned int i, h;

	port_init(&port, 8);
	for (i = 1; i <= CPORT_CLUSTER_MAX; i++) {
		snprintf(name, sizeof(name), "%s.%u", cluster_name("max"), i);
		ck_assert_int_eq(cport_cluster_assoc(&port, name,
						     CPORT_CLUSTER_CREATE,
						     0600, &h), 1);
		ck_assert_uint_eq(h, i);
	}
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port,
							 cluster_name("more"),
							 CPORT_CLUSTER_CREATE,
							 0600, &h)), -EMFILE);
	ck_assert_int_eq(cport_cluster_disassoc(&port, 7), 0);
	ck_assert_int_eq(cport_cluster_disassoc(&port, 3), 0);
	ck_assert_int_eq(cport_cluster_assoc(&port, cluster_name("more"),
					     CPORT_CLUSTER_CREATE, 0600, &h),
			 1);
	ck_assert_uint_eq(h, 3);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(cluster_disassoc_drops_the_handle_and_the_last_the_cluster)
{
	const char *name = cluster_name("disassoc");
	struct cport a, b;
	unsigned int ha, hb, h;
	uint64_t v;

	port_init(&a, 8);
	port_init(&b, 8);
	ck_assert_int_eq(cport_cluster_assoc(&a, name, CPORT_CLUSTER_CREATE,
					     0600, &ha), 1);
	ck_assert_int_eq(cport_cluster_assoc(&b, name, 0, 0, &hb), 0);
	ck_assert_int_eq(cport_flag_set(&a, ha, 0), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_disassoc(&a, ha)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_disassoc(&a, ha)), -EINVAL);
	ck_assert_int_eq(cport_flag_set(&a, ha, 0), -EINVAL);
	ck_assert_int_eq(cport_cluster_disassoc(&a, 0), -EINVAL);
	ck_assert_int_eq(cport_cluster_disassoc(&a, CPORT_CLUSTER_MAX + 1),
			 -EINVAL);
	/* b still holds it, with its flags. */
	ck_assert_int_eq(cport_flag_read(&b, hb, &v), 0);
	ck_assert_uint_eq(v, BIT(0));
	ck_assert_int_eq(cport_cluster_assoc(&a, name, 0, 0, &h), 0);
	ck_assert_int_eq(cport_cluster_disassoc(&a, h), 0);
	/* The last association goes: so does the cluster. */
	ck_assert_int_eq(cport_cluster_disassoc(&b, hb), 0);
	ck_assert_int_eq(cport_cluster_assoc(&a, name, 0, 0, &h), -ENOENT);
	ck_assert_int_eq(cport_cluster_assoc(&a, name, CPORT_CLUSTER_CREATE,
					     0600, &h), 1);
	ck_assert_int_eq(cport_flag_read(&a, h, &v), 0);
	ck_assert_uint_eq(v, 0);
	cport_queue_exit(&a);
	cport_queue_exit(&b);
}
END_TEST

START_TEST(cluster_delete_removes_the_name_only)
{
	const char *name = cluster_name("delete");
	unsigned int h, h2;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, CPORT_CLUSTER_CREATE,
					     0600, &h), 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, name)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, name)),
			 -ENOENT);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, 0, 0, &h2), -ENOENT);
	/* The port keeps the cluster it had. */
	ck_assert_int_eq(cport_flag_set(&port, h, 2), 0);
	ck_assert_int_eq(cport_flag_set(&port, h, 2), 1);
	/* A new cluster of the same name is another cluster. */
	ck_assert_int_eq(cport_cluster_assoc(&port, name, CPORT_CLUSTER_CREATE,
					     0600, &h2), 1);
	ck_assert_uint_ne(h2, h);
	ck_assert_int_eq(cport_flag_set(&port, h2, 2), 0);
	ck_assert_int_eq(cport_cluster_delete(&port, "a b"), -EINVAL);
	ck_assert_int_eq(cport_cluster_delete(&port, ""), -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(cluster_permanent_outlives_its_associations)
{
	const char *name = cluster_name("permanent");
	struct cport port;
	unsigned int h;
	uint64_t v;

	ck_assert_int_eq(geteuid(), 0);
	port_init(&port, 8);
	ck_assert_int_eq(cport_cluster_assoc(&port, name,
					     CPORT_CLUSTER_PERMANENT, 0, &h),
			 -EINVAL);
	ck_assert_int_eq(cport_cluster_assoc(&port, name,
					     CPORT_CLUSTER_CREATE |
					     CPORT_CLUSTER_PERMANENT, 0600, &h),
			 1);
	ck_assert_int_eq(cport_flag_set(&port, h, 42), 0);
	ck_assert_int_eq(cport_cluster_disassoc(&port, h), 0);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, 0, 0, &h), 0);
	ck_assert_int_eq(cport_flag_read(&port, h, &v), 0);
	ck_assert_uint_eq(v, BIT(42));
	ck_assert_int_eq(cport_cluster_disassoc(&port, h), 0);
	ck_assert_int_eq(cport_cluster_delete(&port, name), 0);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, 0, 0, &h), -ENOENT);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(cluster_rdonly_reads_and_waits_but_does_not_change)
{
	const char *name = cluster_name("rdonly");
	unsigned int hw, hr;
	struct cport port, other;
	uint64_t v;

	port_init(&port, 8);
	port_init(&other, 8);
	ck_assert_int_eq(cport_cluster_assoc(&other, name, CPORT_CLUSTER_CREATE,
					     0600, &hw), 1);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, CPORT_CLUSTER_RDONLY,
					     0, &hr), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_flag_set(&port, hr, 1)), -EACCES);
	ck_assert_int_eq(cport_flag_clear(&port, hr, 1), -EACCES);
	ck_assert_int_eq(cport_flag_set(&other, hw, 1), 0);
	ck_assert_int_eq(cport_flag_read(&port, hr, &v), 0);
	ck_assert_uint_eq(v, BIT(1));
	ck_assert_int_eq(cport_flag_wait(&port, hr, BIT(1), 0, 0, &v), 0);
	ck_assert_uint_eq(v, BIT(1));
	ck_assert_int_eq(cport_flag_poll_arm(&port, hr, BIT(1), 0), 0);
	ck_assert_int_eq(poll_revents(port.ring_fd, 0), POLLPRI);
	/* Dropping the cluster drops the poll arm on it. */
	ck_assert_int_eq(cport_cluster_disassoc(&port, hr), 0);
	ck_assert_int_eq(poll_revents(port.ring_fd, 0), 0);
	ck_assert_int_eq(cport_flag_poll_disarm(&port), -ENOENT);
	cport_queue_exit(&port);
	cport_queue_exit(&other);
}
END_TEST

/* As nobody: the mode of a root cluster, PERMANENT, DELETE. */
START_TEST(cluster_mode_is_checked_at_every_association)
{
	const char *priv = cluster_name("priv");
	const char *pub = cluster_name("pub");
	struct cport root, port;
	unsigned int h;

	ck_assert_int_eq(geteuid(), 0);
	port_init(&root, 8);
	port_init(&port, 8);
	ck_assert_int_eq(cport_cluster_assoc(&root, priv, CPORT_CLUSTER_CREATE,
					     0600, &h), 1);
	ck_assert_int_eq(cport_cluster_assoc(&root, pub, CPORT_CLUSTER_CREATE,
					     0644, &h), 1);
	ck_assert_int_eq(setgroups(0, NULL), 0);
	ck_assert_int_eq(setresgid(65534, 65534, 65534), 0);
	ck_assert_int_eq(setresuid(65534, 65534, 65534), 0);

	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_assoc(&port, priv,
							 CPORT_CLUSTER_RDONLY,
							 0, &h)), -EACCES);
	ck_assert_int_eq(cport_cluster_assoc(&port, pub, 0, 0, &h), -EACCES);
	ck_assert_int_eq(cport_cluster_assoc(&port, pub, CPORT_CLUSTER_RDONLY,
					     0, &h), 0);
	ck_assert_int_eq(cport_cluster_assoc(&port, cluster_name("perm"),
					     CPORT_CLUSTER_CREATE |
					     CPORT_CLUSTER_PERMANENT, 0600, &h),
			 -EPERM);
	ck_assert_int_eq(KEEP_ERRNO(cport_cluster_delete(&port, pub)), -EPERM);
	cport_queue_exit(&port);
	cport_queue_exit(&root);
}
END_TEST

static void assert_no_cqe(struct cport *port)
{
	struct cport_cqe *cqe;

	ck_assert_int_eq(cport_peek_cqe(port, &cqe), -EAGAIN);
}

START_TEST(wait_cqe_flags_reports_the_flag_condition)
{
	struct cport_cqe *cqe = NULL;
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 3), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
							  BIT(3) | BIT(4), 0,
							  1000 * MS, &v)),
			 CPORT_WAKE_FLAGS);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(v, BIT(3));
	/* Not consumed. */
	ck_assert_uint_eq(read_local(&port), BIT(3));
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(3), 0,
					      CPORT_INFINITE, &v),
			 CPORT_WAKE_FLAGS);
	ck_assert_uint_eq(v, BIT(3));
	assert_no_cqe(&port);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_flags_reports_a_cqe)
{
	struct cport_cqe *cqe = NULL;
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_post(&port, -7, 99), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
							  BIT(3), 0,
							  CPORT_INFINITE, &v)),
			 CPORT_WAKE_CQE);
	ck_assert_ptr_nonnull(cqe);
	ck_assert_uint_eq(cqe->user_data, 99);
	ck_assert_int_eq(cqe->res, -7);
	ck_assert_uint_eq(v, 0);
	/* Not removed: the caller marks it seen. */
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	cport_cqe_seen(&port, cqe);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

/* The kernel looks at the flags first: a ready CQE does not hide them. */
START_TEST(wait_cqe_flags_reports_both)
{
	struct cport_cqe *cqe = NULL;
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_post(&port, 0, 98), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 0), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(0) | BIT(1),
					      CPORT_ENTER_FLAGS_ALL |
					      CPORT_ENTER_FLAGS_CONSUME, 0,
					      &v),
			 CPORT_WAKE_CQE | CPORT_WAKE_FLAGS);
	ck_assert_ptr_nonnull(cqe);
	ck_assert_uint_eq(cqe->user_data, 98);
	ck_assert_uint_eq(v, BIT(0) | BIT(1));
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_flags_times_out)
{
	struct cport_cqe *cqe = (struct cport_cqe *)&cqe;
	uint64_t t0, v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
							  BIT(2), 0, 0, &v)),
			 -ETIME);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(1) | BIT(2),
					      CPORT_ENTER_FLAGS_ALL, 0, &v),
			 -ETIME);
	t0 = now_ns();
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(2), 0,
					      20 * MS, &v), -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	ck_assert_uint_eq(v, 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_flags_consumes_what_satisfied_it)
{
	struct cport_cqe *cqe;
	uint64_t v = JUNK;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 1), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 2), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 9), 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0,
					      BIT(1) | BIT(2) | BIT(3),
					      CPORT_ENTER_FLAGS_CONSUME, 0, &v),
			 CPORT_WAKE_FLAGS);
	ck_assert_uint_eq(v, BIT(1) | BIT(2));
	ck_assert_uint_eq(read_local(&port), BIT(9));
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(1),
					      CPORT_ENTER_FLAGS_CONSUME, 0, &v),
			 -ETIME);
	cport_queue_exit(&port);
}
END_TEST

/* The SQEs prepared are submitted, and their CQE ends the wait. */
START_TEST(wait_cqe_flags_submits_pending_sqes)
{
	struct cport_sqe *sqe;
	struct cport_cqe *cqe;
	struct cport port;

	port_init(&port, 8);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 77);
	ck_assert_uint_eq(cport_sq_ready(&port), 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
							  BIT(0), 0,
							  CPORT_INFINITE,
							  NULL)),
			 CPORT_WAKE_CQE);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_uint_eq(cqe->user_data, 77);
	ck_assert_int_eq(cqe->res, 0);
	cport_queue_exit(&port);
}
END_TEST

/* With the CQ full the SQEs stay pending, and the CQEs are reported. */
START_TEST(wait_cqe_flags_with_cq_full_keeps_sqes_pending)
{
	struct cport_cqe *cqe;
	struct cport_sqe *sqe;
	struct cport port;
	unsigned int i;

	port_init(&port, 8);
	for (i = 0; i < port.cq.ring_entries; i++)
		ck_assert_int_eq(cport_post(&port, 0, 1000 + i), 0);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, 66);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(0), 0,
					      CPORT_INFINITE, NULL),
			 CPORT_WAKE_CQE);
	ck_assert_uint_eq(cqe->user_data, 1000);
	ck_assert_uint_eq(cport_sq_ready(&port), 1);
	cport_cq_advance(&port, port.cq.ring_entries);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(0), 0,
					      CPORT_INFINITE, NULL),
			 CPORT_WAKE_CQE);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_uint_eq(cqe->user_data, 66);
	cport_queue_exit(&port);
}
END_TEST

static void *post_later(void *arg)
{
	struct delayed_set *d = arg;

	sleep_ns(d->delay_ns);
	ck_assert_int_eq(cport_post_fd(d->fd, 0, d->bit), 0);
	return NULL;
}

/* Asleep, woken by either: a flag set, then a CQE posted, by a thread. */
START_TEST(wait_cqe_flags_sleeps_until_either_comes)
{
	struct cport_cqe *cqe;
	struct delayed_set d;
	struct cport port;
	pthread_t thread;
	uint64_t t0, v = JUNK;

	port_init(&port, 8);
	d.fd = port.ring_fd;
	d.bit = 50;
	d.delay_ns = 30 * MS;
	t0 = now_ns();
	ck_assert_int_eq(pthread_create(&thread, NULL, set_later, &d), 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(50),
					      CPORT_ENTER_FLAGS_CONSUME,
					      CPORT_INFINITE, &v),
			 CPORT_WAKE_FLAGS);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_uint_eq(v, BIT(50));
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_uint_eq(read_local(&port), 0);

	t0 = now_ns();
	ck_assert_int_eq(pthread_create(&thread, NULL, post_later, &d), 0);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(50), 0,
					      10000 * MS, &v),
			 CPORT_WAKE_CQE);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(cqe->user_data, 50);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_flags_is_interrupted_by_signal)
{
	struct cport_cqe *cqe;
	struct cport port;

	port_init(&port, 8);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0,
							  BIT(0), 0,
							  CPORT_INFINITE,
							  NULL)), -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	ck_assert_ptr_null(cqe);
	cport_queue_exit(&port);
}
END_TEST

/*
 * Interrupted after submitting: the kernel returns the number of SQEs
 * consumed, the library sees that neither condition holds and says so.
 */
START_TEST(wait_cqe_flags_after_submitting_is_interrupted_by_signal)
{
	struct cport_cqe *cqe;
	struct cport port;

	port_init(&port, 8);
	cport_prep_timeout(cport_get_sqe(&port), 10000 * MS, 0);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(0), 0,
					      CPORT_INFINITE, NULL), -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_ptr_null(cqe);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_flags_rejects_bad_arguments)
{
	struct cport_cqe *cqe;
	uint64_t v;
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(cport_post(&port, 0, 1), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_flags(&port, &cqe, 0, 0, 0,
							  0, &v)), -EINVAL);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 1, BIT(0), 0, 0,
					      &v), -EINVAL);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(0),
					      CPORT_ENTER_TIMEOUT, 0, &v),
			 -EINVAL);
	ck_assert_ptr_null(cqe);
	cport_queue_exit(&port);
}
END_TEST

static struct cport_cqe wait_pop(struct cport *port)
{
	struct cport_cqe *c, cqe;
	int ret = cport_wait_cqe_timeout(port, &c, 10000 * MS);

	ck_assert_msg(ret == 0, "wait_cqe_timeout: %d", ret);
	cqe = *c;
	cport_cqe_seen(port, c);
	return cqe;
}

static void submit_one(struct cport *port)
{
	ck_assert_int_eq(cport_submit(port), 1);
}

START_TEST(flag_set_and_clear_ops_return_the_previous_state)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 8);
	sqe = cport_get_sqe(&port);
	cport_prep_flag_set(sqe, 0, 44);
	cport_sqe_set_data64(sqe, 1);
	submit_one(&port);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 1);
	ck_assert_int_eq(cqe.res, 0);
	ck_assert_uint_eq(read_local(&port), BIT(44));
	cport_prep_flag_set(cport_get_sqe(&port), 0, 44);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, 1);
	cport_prep_flag_clear(cport_get_sqe(&port), 0, 44);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, 1);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_prep_flag_clear(cport_get_sqe(&port), 0, 44);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, 0);
	/* Errors land in the CQE. */
	cport_prep_flag_set(cport_get_sqe(&port), 0, 64);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	cport_prep_flag_clear(cport_get_sqe(&port), 3, 0);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(flag_wait_op_completes_when_the_condition_holds)
{
	struct cport_cqe *c, cqe;
	struct cport_sqe *sqe;
	struct cport port;

	port_init(&port, 8);
	/* Holds at submission: at once, res the lowest flag. */
	ck_assert_int_eq(cport_flag_set(&port, 0, 12), 0);
	ck_assert_int_eq(cport_flag_set(&port, 0, 9), 0);
	sqe = cport_get_sqe(&port);
	cport_prep_flag_wait(sqe, 0, BIT(9) | BIT(12) | BIT(20), 0);
	cport_sqe_set_data64(sqe, 5);
	submit_one(&port);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 5);
	ck_assert_int_eq(cqe.res, 9);
	ck_assert_uint_eq(read_local(&port), BIT(9) | BIT(12));

	/* Pending until all of 20 and 21 are set, then consumed. */
	sqe = cport_get_sqe(&port);
	cport_prep_flag_wait(sqe, 0, BIT(20) | BIT(21),
			     CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME);
	cport_sqe_set_data64(sqe, 6);
	submit_one(&port);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &c, 20 * MS), -ETIME);
	ck_assert_int_eq(cport_flag_set(&port, 0, 21), 0);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &c, 20 * MS), -ETIME);
	ck_assert_int_eq(cport_flag_set(&port, 0, 20), 0);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 6);
	ck_assert_int_eq(cqe.res, 20);
	ck_assert_uint_eq(read_local(&port), BIT(9) | BIT(12));
	cport_queue_exit(&port);
}
END_TEST

START_TEST(flag_wait_op_is_cancelled_and_checked)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 8);
	sqe = cport_get_sqe(&port);
	cport_prep_flag_wait(sqe, 0, BIT(1), 0);
	cport_sqe_set_data64(sqe, 7);
	submit_one(&port);
	cport_prep_cancel(cport_get_sqe(&port), 7, 0);
	submit_one(&port);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 7);
	ck_assert_int_eq(cqe.res, -ECANCELED);
	ck_assert_int_eq(wait_pop(&port).res, 0);

	cport_prep_flag_wait(cport_get_sqe(&port), 0, 0, 0);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	cport_prep_flag_wait(cport_get_sqe(&port), 4, BIT(1), 0);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	cport_prep_flag_wait(cport_get_sqe(&port), 0, BIT(1),
			     CPORT_FLAG_WAIT_TIMEOUT);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	ck_assert_uint_eq(read_local(&port), 0);
	/*
	 * A FLAG_WAIT cannot name a flag to set: -EINVAL, and the flag it
	 * names is left alone (neither cleared nor set).
	 */
	ck_assert_int_eq(cport_flag_set(&port, 0, 3), 0);
	sqe = cport_get_sqe(&port);
	cport_prep_flag_wait(sqe, 0, BIT(1), 0);
	cport_sqe_set_event_flag(sqe, 0, 2);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	ck_assert_uint_eq(read_local(&port), BIT(3));
	sqe = cport_get_sqe(&port);
	cport_prep_flag_wait(sqe, 0, BIT(1), 0);
	cport_sqe_set_event_flag(sqe, 0, 3);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	ck_assert_uint_eq(read_local(&port), BIT(3));
	cport_queue_exit(&port);
}
END_TEST

/* Cleared when the SQE is consumed, set once the CQE is in the ring. */
START_TEST(event_flag_is_cleared_at_submission_and_set_after_the_cqe)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;
	uint64_t v = JUNK;

	port_init(&port, 8);
	ck_assert_int_eq(cport_flag_set(&port, 0, 4), 0);
	sqe = cport_get_sqe(&port);
	cport_prep_timeout(sqe, 30 * MS, 0);
	cport_sqe_set_event_flag(sqe, 0, 4);
	cport_sqe_set_data64(sqe, 8);
	submit_one(&port);
	ck_assert_uint_eq(read_local(&port), 0);
	ck_assert_int_eq(cport_flag_wait(&port, 0, BIT(4), 0, CPORT_INFINITE,
					 &v), 0);
	ck_assert_uint_eq(v, BIT(4));
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 8);
	ck_assert_int_eq(cqe.res, 1);	/* one expiration */

	/* Whatever the res: an op that fails sets it too. */
	sqe = cport_get_sqe(&port);
	cport_prep_read(sqe, -1, &v, sizeof(v), 0);
	cport_sqe_set_event_flag(sqe, 0, 5);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EBADF);
	ck_assert_uint_eq(read_local(&port), BIT(4) | BIT(5));
	cport_queue_exit(&port);
}
END_TEST

START_TEST(event_flag_with_bad_bit_or_cluster_fails_the_op)
{
	const char *name = cluster_name("ef");
	struct cport_sqe *sqe;
	struct cport port, other;
	unsigned int h, hw;

	port_init(&port, 8);
	port_init(&other, 8);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_event_flag(sqe, 0, 64);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_event_flag(sqe, 9, 0);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	ck_assert_uint_eq(read_local(&port), 0);

	/* A read-only association: -EACCES, and the flag stays as it was. */
	ck_assert_int_eq(cport_cluster_assoc(&other, name, CPORT_CLUSTER_CREATE,
					     0600, &hw), 1);
	ck_assert_int_eq(cport_flag_set(&other, hw, 3), 0);
	ck_assert_int_eq(cport_cluster_assoc(&port, name, CPORT_CLUSTER_RDONLY,
					     0, &h), 0);
	sqe = cport_get_sqe(&port);
	cport_prep_nop(sqe);
	cport_sqe_set_event_flag(sqe, h, 3);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EACCES);
	ck_assert_int_eq(cport_flag_set(&other, hw, 3), 1);
	cport_prep_flag_clear(cport_get_sqe(&port), h, 3);
	submit_one(&port);
	ck_assert_int_eq(wait_pop(&port).res, -EACCES);
	cport_queue_exit(&port);
	cport_queue_exit(&other);
}
END_TEST

/* "Wait until these five ops are done" is one wait-all. */
START_TEST(event_flags_of_five_ops_make_one_wait_all)
{
	struct cport_sqe *sqe;
	struct cport port;
	unsigned int i;
	uint64_t v = JUNK;

	port_init(&port, 8);
	for (i = 0; i < 5; i++) {
		sqe = cport_get_sqe(&port);
		cport_prep_timeout(sqe, (5 + 5 * i) * MS, 0);
		cport_sqe_set_event_flag(sqe, 0, 10 + i);
	}
	ck_assert_int_eq(cport_submit(&port), 5);
	ck_assert_int_eq(cport_flag_wait(&port, 0, 0x1fULL << 10,
					 CPORT_FLAG_WAIT_ALL |
					 CPORT_FLAG_WAIT_CONSUME,
					 CPORT_INFINITE, &v), 0);
	ck_assert_uint_eq(v, 0x1fULL << 10);
	ck_assert_uint_eq(cport_cq_ready(&port), 5);
	ck_assert_uint_eq(read_local(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

/* A FLAG_ONLY timer sets its flag at each expiration and posts no CQE. */
START_TEST(flag_only_timer_wakes_wait_cqe_flags_without_a_cqe)
{
	struct cport_cqe *cqe, c[2];
	struct cport_sqe *sqe;
	struct cport port;
	uint64_t v = JUNK;
	unsigned int i;

	port_init(&port, 8);
	sqe = cport_get_sqe(&port);
	cport_prep_timer(sqe, 20 * MS, 20 * MS, 0, CPORT_TIMEOUT_FLAG_ONLY);
	cport_sqe_set_event_flag(sqe, 0, 6);
	cport_sqe_set_data64(sqe, 9);
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(6),
					      CPORT_ENTER_FLAGS_CONSUME,
					      10000 * MS, &v),
			 CPORT_WAKE_FLAGS);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(v, BIT(6));
	ck_assert_int_eq(cport_wait_cqe_flags(&port, &cqe, 0, BIT(6),
					      CPORT_ENTER_FLAGS_CONSUME,
					      10000 * MS, &v),
			 CPORT_WAKE_FLAGS);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	/* Removed: its terminal CQE, and the remove's own, in any order. */
	sqe = cport_get_sqe(&port);
	cport_prep_timeout_remove(sqe, 9);
	cport_sqe_set_data64(sqe, 10);
	submit_one(&port);
	ck_assert_int_eq(cport_wait_cqe_nr(&port, &cqe, 2), 0);
	ck_assert_int_eq(pop_cqe(&port, &c[0]), 0);
	ck_assert_int_eq(pop_cqe(&port, &c[1]), 0);
	i = c[0].user_data == 9 ? 0 : 1;
	ck_assert_uint_eq(c[i].user_data, 9);
	ck_assert_int_eq(c[i].res, -ECANCELED);
	ck_assert_uint_eq(c[i].flags, 0);
	ck_assert_uint_eq(c[!i].user_data, 10);
	ck_assert_int_eq(c[!i].res, 0);
	ck_assert_int_eq(pop_cqe(&port, &c[0]), -EAGAIN);
	cport_queue_exit(&port);
}
END_TEST

Suite *flags_device_suite(void)
{
	Suite *s = suite_create("flags");

	ADD_TESTS(s, tcase_device("set_clear_read"), 0,
		  set_and_clear_return_the_previous_state,
		  set_and_clear_reject_bad_bit_or_cluster,
		  set_fd_and_clear_fd_reach_a_port_not_set_up,
		  set_fd_sets_the_flag_of_that_port);
	ADD_TESTS(s, tcase_device("wait"), 0,
		  wait_with_timeout_zero_is_etime,
		  wait_times_out_after_the_timeout,
		  wait_any_returns_the_set_flags_of_the_mask,
		  wait_all_needs_every_flag_of_the_mask,
		  wait_consume_clears_what_satisfied_it,
		  wait_sleeps_until_another_thread_sets,
		  wait_is_interrupted_by_signal,
		  wait_rejects_bad_arguments);
	ADD_TESTS(s, tcase_device("poll"), 0,
		  poll_arm_reports_pollpri_while_the_condition_holds,
		  poll_is_woken_when_the_condition_becomes_true,
		  poll_arm_rejects_bad_arguments);
	ADD_TESTS(s, tcase_device("cluster"), 0,
		  cluster_assoc_creates_then_attaches,
		  cluster_assoc_errors,
		  cluster_handles_are_the_lowest_free,
		  cluster_disassoc_drops_the_handle_and_the_last_the_cluster,
		  cluster_delete_removes_the_name_only,
		  cluster_permanent_outlives_its_associations,
		  cluster_rdonly_reads_and_waits_but_does_not_change,
		  cluster_mode_is_checked_at_every_association);
	ADD_TESTS(s, tcase_device("wait_cqe_flags"), 0,
		  wait_cqe_flags_reports_the_flag_condition,
		  wait_cqe_flags_reports_a_cqe,
		  wait_cqe_flags_reports_both,
		  wait_cqe_flags_times_out,
		  wait_cqe_flags_consumes_what_satisfied_it,
		  wait_cqe_flags_submits_pending_sqes,
		  wait_cqe_flags_with_cq_full_keeps_sqes_pending,
		  wait_cqe_flags_sleeps_until_either_comes,
		  wait_cqe_flags_is_interrupted_by_signal,
		  wait_cqe_flags_after_submitting_is_interrupted_by_signal,
		  wait_cqe_flags_rejects_bad_arguments);
	ADD_TESTS(s, tcase_device("ops"), 0,
		  flag_set_and_clear_ops_return_the_previous_state,
		  flag_wait_op_completes_when_the_condition_holds,
		  flag_wait_op_is_cancelled_and_checked,
		  event_flag_is_cleared_at_submission_and_set_after_the_cqe,
		  event_flag_with_bad_bit_or_cluster_fails_the_op,
		  event_flags_of_five_ops_make_one_wait_all,
		  flag_only_timer_wakes_wait_cqe_flags_without_a_cqe);
	return s;
}
