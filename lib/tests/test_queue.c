// SPDX-License-Identifier: MIT
/*
 * Tests of queue.c and of the inline SQ/CQ helpers of <cport.h>: the prep
 * helpers, getting SQEs, submitting, peeking at and waiting for CQEs.
 *
 * Host cases run the ring logic on fake rings (the test plays the kernel);
 * device cases run it against /dev/cport.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

/* Initial index values: from 0, and just below the 32-bit wrap. */
static const unsigned int starts[] = { 0, 0xfffffffeU };

/* ---- prep helpers (host) ---- */

START_TEST(prep_nop_clears_all_but_opcode)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_nop(&sqe);
	want_init(&want, CPORT_OP_NOP);
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_post_sets_fd_addr_len)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_post(&sqe, 7, -EPERM, 0x1122334455667788ULL);
	want_init(&want, CPORT_OP_POST);
	want.fd = 7;
	want.addr = 0x1122334455667788ULL;
	want.len = (uint32_t)-EPERM;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
	ck_assert_int_eq((int32_t)sqe.len, -EPERM);
}
END_TEST

START_TEST(prep_timeout_sets_off_and_flags)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_timeout(&sqe, 123456789ULL,
			   CPORT_TIMEOUT_ABS | CPORT_TIMEOUT_BOOTTIME);
	want_init(&want, CPORT_OP_TIMEOUT);
	want.off = 123456789ULL;
	want.op_flags = CPORT_TIMEOUT_ABS | CPORT_TIMEOUT_BOOTTIME;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_timer_is_multishot_timeout)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_timer(&sqe, 5 * MS, MS, 10, CPORT_TIMEOUT_REALTIME);
	want_init(&want, CPORT_OP_TIMEOUT);
	want.off = 5 * MS;
	want.addr2 = MS;
	want.len = 10;
	want.op_flags = CPORT_TIMEOUT_REALTIME | CPORT_TIMEOUT_MULTISHOT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_timer(&sqe, 1, 0, 0, 0);
	want_init(&want, CPORT_OP_TIMEOUT);
	want.off = 1;
	want.op_flags = CPORT_TIMEOUT_MULTISHOT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_timeout_remove_sets_addr)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_timeout_remove(&sqe, UINT64_MAX - 1);
	want_init(&want, CPORT_OP_TIMEOUT_REMOVE);
	want.addr = UINT64_MAX - 1;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_link_timeout_sets_off)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_link_timeout(&sqe, 123456789);
	want_init(&want, CPORT_OP_LINK_TIMEOUT);
	want.off = 123456789;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_cancel_sets_addr_and_flags)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_cancel(&sqe, 42, CPORT_CANCEL_ALL);
	want_init(&want, CPORT_OP_CANCEL);
	want.addr = 42;
	want.op_flags = CPORT_CANCEL_ALL;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(set_data64_sets_only_user_data)
{
	struct cport_sqe sqe, want;
	struct cport_cqe cqe = { 0 };

	junk(&sqe);
	cport_prep_post(&sqe, 3, 9, 11);
	cport_sqe_set_data64(&sqe, UINT64_MAX);
	want_init(&want, CPORT_OP_POST);
	want.fd = 3;
	want.len = 9;
	want.addr = 11;
	want.user_data = UINT64_MAX;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	cqe.user_data = sqe.user_data;
	ck_assert_uint_eq(cport_cqe_get_data64(&cqe), UINT64_MAX);
}
END_TEST

START_TEST(set_data_round_trips_pointers)
{
	struct cport_sqe sqe;
	struct cport_cqe cqe = { 0 };
	int obj;

	cport_prep_nop(&sqe);
	cport_sqe_set_data(&sqe, &obj);
	ck_assert_uint_eq(sqe.user_data, (uintptr_t)&obj);
	cqe.user_data = sqe.user_data;
	ck_assert_ptr_eq(cport_cqe_get_data(&cqe), &obj);
	cport_sqe_set_data(&sqe, NULL);
	ck_assert_uint_eq(sqe.user_data, 0);
}
END_TEST

/* ---- SQ ring (host, fake rings) ---- */

START_TEST(get_sqe_hands_out_each_slot_until_full)
{
	unsigned int start = starts[_i], i;
	struct cport port;
	struct cport_sqe *sqe;

	fake_port_init(&port, 4, 8, start);
	ck_assert_uint_eq(cport_sq_space_left(&port), 4);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	for (i = 0; i < 4; i++) {
		sqe = cport_get_sqe(&port);
		ck_assert_ptr_eq(sqe, &port.sq.sqes[(start + i) & 3]);
		ck_assert_uint_eq(cport_sq_ready(&port), i + 1);
		ck_assert_uint_eq(cport_sq_space_left(&port), 3 - i);
	}
	ck_assert_ptr_null(cport_get_sqe(&port));
	ck_assert_ptr_null(cport_get_sqe(&port));
	ck_assert_uint_eq(cport_sq_ready(&port), 4);
	/* Nothing was published, so the kernel frees nothing. */
	ck_assert_uint_eq(fake_kernel_consume(&port, NULL, 4), 0);
	ck_assert_ptr_null(cport_get_sqe(&port));
	fake_port_free(&port);
}
END_TEST

START_TEST(submit_publishes_sqes_in_order)
{
	unsigned int start = starts[_i], i;
	struct cport_sqe got[4];
	struct cport port;

	fake_port_init(&port, 4, 8, start);
	for (i = 0; i < 3; i++) {
		struct cport_sqe *sqe = cport_get_sqe(&port);

		ck_assert_ptr_nonnull(sqe);
		cport_prep_nop(sqe);
		cport_sqe_set_data64(sqe, 100 + i);
	}
	/* The fake port has no fd: publishing happens, entering fails. */
	ck_assert_int_eq(KEEP_ERRNO(cport_submit(&port)), -EBADF);
	ck_assert_uint_eq(*port.sq.ktail, start + 3);
	ck_assert_uint_eq(cport_sq_ready(&port), 3);

	/* The kernel takes two: their slots come back. */
	ck_assert_uint_eq(fake_kernel_consume(&port, got, 2), 2);
	ck_assert_uint_eq(got[0].user_data, 100);
	ck_assert_uint_eq(got[1].user_data, 101);
	ck_assert_uint_eq(cport_sq_ready(&port), 1);
	ck_assert_uint_eq(cport_sq_space_left(&port), 3);
	ck_assert_ptr_eq(cport_get_sqe(&port), &port.sq.sqes[(start + 3) & 3]);

	ck_assert_int_eq(cport_submit_and_wait(&port, 1), -EBADF);
	ck_assert_int_eq(cport_submit_and_wait_timeout(&port, 1, MS), -EBADF);
	ck_assert_uint_eq(*port.sq.ktail, start + 4);
	ck_assert_uint_eq(fake_kernel_consume(&port, got, 4), 2);
	ck_assert_uint_eq(got[0].user_data, 102);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	fake_port_free(&port);
}
END_TEST

/* ---- CQ ring (host, fake rings) ---- */

START_TEST(peek_cqe_on_empty_cq_is_eagain)
{
	struct cport_cqe *cqe = (struct cport_cqe *)&cqe;
	struct cport port;

	fake_port_init(&port, 4, 8, starts[_i]);
	ck_assert_int_eq(KEEP_ERRNO(cport_peek_cqe(&port, &cqe)), -EAGAIN);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	fake_port_free(&port);
}
END_TEST

START_TEST(peek_cqe_returns_oldest_and_seen_consumes_it)
{
	unsigned int start = starts[_i];
	struct cport_cqe *cqe;
	struct cport port;

	fake_port_init(&port, 4, 8, start);
	fake_kernel_post(&port, 10, -1, CPORT_CQE_F_MORE);
	fake_kernel_post(&port, 11, 0, 0);
	fake_kernel_post(&port, 12, 1, 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 3);

	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), 0);
	ck_assert_ptr_eq(cqe, &port.cq.cqes[start & 7]);
	ck_assert_uint_eq(cport_cqe_get_data64(cqe), 10);
	ck_assert_int_eq(cqe->res, -1);
	ck_assert_uint_eq(cqe->flags, CPORT_CQE_F_MORE);
	/* Peeking twice gives the same CQE. */
	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe->user_data, 10);

	cport_cqe_seen(&port, cqe);
	ck_assert_uint_eq(*port.cq.khead, start + 1);
	ck_assert_uint_eq(cport_cq_ready(&port), 2);
	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe->user_data, 11);

	cport_cqe_seen(&port, NULL);
	ck_assert_uint_eq(cport_cq_ready(&port), 2);
	cport_cq_advance(&port, 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 2);
	cport_cq_advance(&port, 2);
	ck_assert_uint_eq(*port.cq.khead, start + 3);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), -EAGAIN);
	fake_port_free(&port);
}
END_TEST

START_TEST(peek_batch_cqe_returns_up_to_count_in_order)
{
	unsigned int start = starts[_i], i;
	struct cport_cqe *cqes[10];
	struct cport port;

	fake_port_init(&port, 4, 8, start);
	ck_assert_uint_eq(KEEP_ERRNO(cport_peek_batch_cqe(&port, cqes, 10)), 0);
	for (i = 0; i < 5; i++)
		fake_kernel_post(&port, i, (int32_t)i, 0);
	ck_assert_uint_eq(cport_peek_batch_cqe(&port, cqes, 3), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_eq(cqes[i], &port.cq.cqes[(start + i) & 7]);
		ck_assert_uint_eq(cqes[i]->user_data, i);
	}
	ck_assert_uint_eq(*port.cq.khead, start);
	ck_assert_uint_eq(cport_peek_batch_cqe(&port, cqes, 10), 5);
	ck_assert_uint_eq(cqes[4]->user_data, 4);
	cport_cq_advance(&port, 5);
	ck_assert_uint_eq(cport_peek_batch_cqe(&port, cqes, 10), 0);
	fake_port_free(&port);
}
END_TEST

START_TEST(wait_cqe_returns_ready_cqe_without_entering)
{
	struct cport_cqe *cqe;
	struct cport port;

	/* ring_fd is -1: entering the kernel would fail with -EBADF. */
	fake_port_init(&port, 4, 8, starts[_i]);
	fake_kernel_post(&port, 5, 0, 0);
	fake_kernel_post(&port, 6, 0, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe(&port, &cqe)), 0);
	ck_assert_uint_eq(cqe->user_data, 5);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_nr(&port, &cqe, 2)), 0);
	ck_assert_uint_eq(cqe->user_data, 5);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_timeout(&port, &cqe, 0)), 0);
	ck_assert_uint_eq(cqe->user_data, 5);
	cport_cqe_seen(&port, cqe);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &cqe, 10 * MS), 0);
	ck_assert_uint_eq(cqe->user_data, 6);
	fake_port_free(&port);
}
END_TEST

START_TEST(wait_cqe_enters_kernel_when_not_enough)
{
	struct cport_cqe *cqe = (struct cport_cqe *)&cqe;
	struct cport port;

	fake_port_init(&port, 4, 8, starts[_i]);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe(&port, &cqe)), -EBADF);
	ck_assert_ptr_null(cqe);
	fake_kernel_post(&port, 5, 0, 0);
	cqe = (struct cport_cqe *)&cqe;
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_nr(&port, &cqe, 2)), -EBADF);
	ck_assert_ptr_null(cqe);
	cport_cq_advance(&port, 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_timeout(&port, &cqe, MS)),
			 -EBADF);
	fake_port_free(&port);
}
END_TEST

START_TEST(wait_cqe_nr_zero_does_not_wait)
{
	struct cport_cqe *cqe;
	struct cport port;

	fake_port_init(&port, 4, 8, starts[_i]);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_nr(&port, &cqe, 0)), -EAGAIN);
	ck_assert_ptr_null(cqe);
	fake_kernel_post(&port, 8, 0, 0);
	ck_assert_int_eq(cport_wait_cqe_nr(&port, &cqe, 0), 0);
	ck_assert_uint_eq(cqe->user_data, 8);
	fake_port_free(&port);
}
END_TEST

/* ---- device ---- */

static void queue_nops(struct cport *port, unsigned int n, uint64_t ud0)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct cport_sqe *sqe = cport_get_sqe(port);

		ck_assert_ptr_nonnull(sqe);
		cport_prep_nop(sqe);
		cport_sqe_set_data64(sqe, ud0 + i);
	}
}

static struct cport_sqe *get_sqe(struct cport *port)
{
	struct cport_sqe *sqe = cport_get_sqe(port);

	ck_assert_ptr_nonnull(sqe);
	return sqe;
}

/* Wait for and pop one CQE. */
static struct cport_cqe wait_pop(struct cport *port)
{
	struct cport_cqe *c, cqe;
	int ret = cport_wait_cqe_timeout(port, &c, 10000 * MS);

	ck_assert_msg(ret == 0, "wait_cqe_timeout: %d", ret);
	cqe = *c;
	cport_cqe_seen(port, c);
	return cqe;
}

/* Pop n CQEs into out[] indexed by user_data - base (each exactly once). */
static void wait_pop_by_ud(struct cport *port, unsigned int n, uint64_t base,
			   struct cport_cqe *out)
{
	bool seen[16] = { false };
	unsigned int i;

	ck_assert_uint_le(n, 16);
	for (i = 0; i < n; i++) {
		struct cport_cqe cqe = wait_pop(port);
		uint64_t k = cqe.user_data - base;

		ck_assert_uint_lt(k, n);
		ck_assert(!seen[k]);
		seen[k] = true;
		out[k] = cqe;
	}
}

START_TEST(submit_returns_number_consumed)
{
	struct cport port;
	unsigned int i;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit(&port)), 0);
	queue_nops(&port, 3, 100);
	ck_assert_uint_eq(cport_sq_ready(&port), 3);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit(&port)), 3);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_uint_eq(cport_sq_space_left(&port), 8);
	/* A NOP completes inline: the CQEs are there, in order. */
	ck_assert_uint_eq(cport_cq_ready(&port), 3);
	for (i = 0; i < 3; i++) {
		struct cport_cqe cqe;

		ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
		ck_assert_uint_eq(cqe.user_data, 100 + i);
		ck_assert_int_eq(cqe.res, 0);
		ck_assert_uint_eq(cqe.flags, 0);
	}
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(get_sqe_is_null_when_sq_full)
{
	struct cport port;
	unsigned int i;

	port_init(&port, 4);
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(cport_get_sqe(&port));
	ck_assert_ptr_null(cport_get_sqe(&port));
	ck_assert_uint_eq(cport_sq_space_left(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(submit_with_cq_full_is_ebusy_and_keeps_sqes)
{
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 4);	/* CQ: 8 */
	ck_assert_uint_eq(port.cq.ring_entries, 8);
	queue_nops(&port, 4, 0);
	ck_assert_int_eq(cport_submit(&port), 4);
	queue_nops(&port, 4, 4);
	ck_assert_int_eq(cport_submit(&port), 4);
	ck_assert_uint_eq(cport_cq_ready(&port), 8);

	queue_nops(&port, 1, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit(&port)), -EBUSY);
	ck_assert_uint_eq(cport_sq_ready(&port), 1);
	ck_assert_int_eq(cport_submit_and_wait(&port, 1), -EBUSY);

	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe.user_data, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_uint_eq(cport_sq_ready(&port), 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 8);
	cport_cq_advance(&port, 7);
	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe.user_data, 8);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(submit_and_wait_waits_for_timer)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 20 * MS, 0);
	cport_sqe_set_data64(sqe, 77);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_submit_and_wait(&port, 1)), 1);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe.user_data, 77);
	ck_assert_int_eq(cqe.res, 1);

	/* Nothing to submit: returns 0 once the wait is satisfied. */
	ck_assert_int_eq(cport_post(&port, 3, 78), 0);
	ck_assert_int_eq(cport_submit_and_wait(&port, 1), 0);
	ck_assert_int_eq(pop_cqe(&port, &cqe), 0);
	ck_assert_uint_eq(cqe.user_data, 78);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(submit_and_wait_timeout_is_etime_when_nothing_comes)
{
	struct cport_sqe *sqe;
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_submit_and_wait_timeout(&port, 1,
								   30 * MS)),
			 -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_int_eq(cport_submit_and_wait_timeout(&port, 1, 0), -ETIME);

	/* The timer fires within the limit: consumed 1, CQE there. */
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 10 * MS, 0);
	t0 = now_ns();
	ck_assert_int_eq(cport_submit_and_wait_timeout(&port, 1, 10000 * MS), 1);
	ck_assert_uint_ge(now_ns() - t0, 10 * MS);
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	cport_cq_advance(&port, 1);

	/*
	 * The timer fires after the limit: the SQE was consumed, so the count
	 * is returned and the wait's -ETIME is not (as io_uring_enter()).
	 */
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 10000 * MS, 0);
	ck_assert_int_eq(cport_submit_and_wait_timeout(&port, 1, 10 * MS), 1);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_blocks_until_timer_fires)
{
	struct cport_cqe *cqe;
	struct cport_sqe *sqe;
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 20 * MS, 0);
	cport_sqe_set_data64(sqe, 5);
	t0 = now_ns();
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe(&port, &cqe)), 0);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	ck_assert_uint_eq(cqe->user_data, 5);
	ck_assert_int_eq(cqe->res, 1);
	ck_assert_uint_eq(cqe->flags, 0);
	cport_cqe_seen(&port, cqe);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_nr_waits_for_all)
{
	struct cport_cqe *cqe;
	struct cport port;
	unsigned int i;
	uint64_t t0;

	port_init(&port, 8);
	for (i = 0; i < 3; i++) {
		struct cport_sqe *sqe = get_sqe(&port);

		cport_prep_timeout(sqe, (10 + 10 * i) * MS, 0);
		cport_sqe_set_data64(sqe, i);
	}
	t0 = now_ns();
	ck_assert_int_eq(cport_submit(&port), 3);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_nr(&port, &cqe, 3)), 0);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_uint_eq(cport_cq_ready(&port), 3);
	ck_assert_uint_eq(cqe->user_data, 0);
	cport_cq_advance(&port, 3);

	/* More than the CQ can hold: the kernel refuses. */
	cqe = (struct cport_cqe *)&cqe;
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_nr(&port, &cqe,
						       port.cq.ring_entries + 1)),
			 -EINVAL);
	ck_assert_ptr_null(cqe);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit_and_wait(&port,
						port.cq.ring_entries + 1)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit_and_wait_timeout(&port,
						port.cq.ring_entries + 1, MS)),
			 -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_timeout_is_etime_on_empty_cq)
{
	struct cport_cqe *cqe = (struct cport_cqe *)&cqe;
	struct cport_sqe *sqe;
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_timeout(&port, &cqe, 40 * MS)),
			 -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 40 * MS);
	ck_assert_ptr_null(cqe);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_timeout(&port, &cqe, 0)),
			 -ETIME);

	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 10 * MS, 0);
	cport_sqe_set_data64(sqe, 9);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &cqe, 10000 * MS), 0);
	ck_assert_uint_eq(cqe->user_data, 9);
	cport_queue_exit(&port);
}
END_TEST

/*
 * The uint64_t timeouts have no "no limit" value of their own, but the
 * longest one is no limit in practice: UINT64_MAX, which is also what
 * CPORT_INFINITE becomes when passed to them, waits for the timer (the
 * kernel clamps a limit to KTIME_MAX, about 292 years).
 */
START_TEST(longest_uint64_timeout_waits_without_limit)
{
	struct cport_cqe *cqe;
	struct cport_sqe *sqe;
	struct cport port;
	uint64_t t0;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 20 * MS, 0);
	cport_sqe_set_data64(sqe, 1);
	t0 = now_ns();
	ck_assert_int_eq(cport_submit_and_wait_timeout(&port, 1, UINT64_MAX),
			 1);
	ck_assert_uint_ge(now_ns() - t0, 20 * MS);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &cqe, 0), 0);
	ck_assert_uint_eq(cqe->user_data, 1);
	cport_cqe_seen(&port, cqe);

	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 20 * MS, 0);
	cport_sqe_set_data64(sqe, 2);
	ck_assert_int_eq(cport_submit(&port), 1);
	t0 = now_ns();
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &cqe,
						(uint64_t)CPORT_INFINITE), 0);
	ck_assert_uint_ge(now_ns() - t0, 10 * MS);
	ck_assert_uint_eq(cqe->user_data, 2);
	cport_cqe_seen(&port, cqe);

	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 20 * MS, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(cport_enter(port.ring_fd, 0, 1, CPORT_ENTER_TIMEOUT,
				     UINT64_MAX), 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(wait_cqe_is_interrupted_by_signal)
{
	struct cport_cqe *cqe;
	struct cport port;

	port_init(&port, 8);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe(&port, &cqe)), -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	ck_assert_ptr_null(cqe);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_wait_cqe_timeout(&port, &cqe,
							    10000 * MS)),
			 -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_submit_and_wait(&port, 1)), -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(peek_on_device_port)
{
	struct cport_cqe *cqe, *cqes[8];
	struct cport port;

	port_init(&port, 8);
	ck_assert_int_eq(KEEP_ERRNO(cport_peek_cqe(&port, &cqe)), -EAGAIN);
	ck_assert_ptr_null(cqe);
	ck_assert_uint_eq(cport_peek_batch_cqe(&port, cqes, 8), 0);
	queue_nops(&port, 4, 20);
	ck_assert_int_eq(cport_submit(&port), 4);
	ck_assert_uint_eq(cport_peek_batch_cqe(&port, cqes, 8), 4);
	ck_assert_uint_eq(cqes[3]->user_data, 23);
	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), 0);
	ck_assert_ptr_eq(cqe, cqes[0]);
	cport_cq_advance(&port, 4);
	ck_assert_int_eq(cport_peek_cqe(&port, &cqe), -EAGAIN);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(timer_multishot_reports_every_shot)
{
	struct cport_sqe *sqe;
	struct cport port;
	int32_t sum = 0;
	unsigned int n = 0;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timer(sqe, 2 * MS, 2 * MS, 3, 0);
	cport_sqe_set_data64(sqe, 31);
	ck_assert_int_eq(cport_submit(&port), 1);
	for (;;) {
		struct cport_cqe cqe = wait_pop(&port);

		ck_assert_uint_eq(cqe.user_data, 31);
		ck_assert_int_ge(cqe.res, 1);
		sum += cqe.res;
		n++;
		if (!(cqe.flags & CPORT_CQE_F_MORE))
			break;
		ck_assert_int_lt(sum, 3);
	}
	ck_assert_int_eq(sum, 3);
	ck_assert_uint_le(n, 3);
	ck_assert_int_eq(cport_wait_cqe_timeout(&port, &(struct cport_cqe *){0},
						20 * MS), -ETIME);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(timeout_abs_fires_at_the_time)
{
	struct timespec ts;
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;
	uint64_t when;

	port_init(&port, 8);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	when = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec + 20 * MS;
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, when, CPORT_TIMEOUT_ABS);
	ck_assert_int_eq(cport_submit(&port), 1);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, 1);
	ck_assert_uint_ge(now_ns(), when);
	cport_queue_exit(&port);
}
END_TEST

/* A timer bounded by a linked timeout, through the library's helpers. */
START_TEST(link_timeout_cancels_linked_timer)
{
	struct cport_sqe *sqe;
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 10000 * MS, 0);
	cport_sqe_set_flags(sqe, CPORT_SQE_F_LINK);
	cport_sqe_set_data64(sqe, 1);
	sqe = get_sqe(&port);
	cport_prep_link_timeout(sqe, 20 * MS);
	cport_sqe_set_data64(sqe, 2);
	ck_assert_int_eq(cport_submit(&port), 2);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 2);
	ck_assert_int_eq(cqe.res, -ETIME);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 1);
	ck_assert_int_eq(cqe.res, -ECANCELED);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(timeout_remove_cancels_timer)
{
	struct cport_cqe cqes[2];
	struct cport_sqe *sqe;
	struct cport port;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_timeout(sqe, 10000 * MS, 0);
	cport_sqe_set_data64(sqe, 1000);
	ck_assert_int_eq(cport_submit(&port), 1);
	sqe = get_sqe(&port);
	cport_prep_timeout_remove(sqe, 1000);
	cport_sqe_set_data64(sqe, 1001);
	ck_assert_int_eq(cport_submit(&port), 1);
	wait_pop_by_ud(&port, 2, 1000, cqes);
	ck_assert_int_eq(cqes[0].res, -ECANCELED);
	ck_assert_uint_eq(cqes[0].flags, 0);
	ck_assert_int_eq(cqes[1].res, 0);

	sqe = get_sqe(&port);
	cport_prep_timeout_remove(sqe, 1000);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -ENOENT);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(cancel_all_any_cancels_every_timer)
{
	struct cport_cqe cqes[3];
	struct cport_sqe *sqe;
	struct cport port;
	unsigned int i;

	port_init(&port, 8);
	for (i = 0; i < 2; i++) {
		sqe = get_sqe(&port);
		cport_prep_timer(sqe, 10000 * MS, 0, 0, 0);
		cport_sqe_set_data64(sqe, 2000 + i);
	}
	sqe = get_sqe(&port);
	cport_prep_cancel(sqe, 0, CPORT_CANCEL_ALL | CPORT_CANCEL_ANY);
	cport_sqe_set_data64(sqe, 2002);
	ck_assert_int_eq(cport_submit(&port), 3);
	wait_pop_by_ud(&port, 3, 2000, cqes);
	ck_assert_int_eq(cqes[0].res, -ECANCELED);
	ck_assert_int_eq(cqes[1].res, -ECANCELED);
	ck_assert_uint_eq(cqes[0].flags, 0);
	ck_assert_uint_eq(cqes[1].flags, 0);
	ck_assert_int_eq(cqes[2].res, 2);

	sqe = get_sqe(&port);
	cport_prep_cancel(sqe, 1234, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -ENOENT);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(prep_post_to_self_posts_two_cqes)
{
	struct cport_cqe cqes[2];
	struct cport_sqe *sqe;
	struct cport port;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_post(sqe, port.ring_fd, -7, 3001);
	cport_sqe_set_data64(sqe, 3000);
	ck_assert_int_eq(cport_submit(&port), 1);
	wait_pop_by_ud(&port, 2, 3000, cqes);
	ck_assert_int_eq(cqes[0].res, 0);
	ck_assert_int_eq(cqes[1].res, -7);
	ck_assert_uint_eq(cqes[1].flags, 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(prep_post_to_other_port)
{
	struct cport port, other;
	struct cport_sqe *sqe;
	struct cport_cqe cqe;

	port_init(&port, 8);
	port_init(&other, 8);
	sqe = get_sqe(&port);
	cport_prep_post(sqe, other.ring_fd, 12, 4001);
	cport_sqe_set_data64(sqe, 4000);
	ck_assert_int_eq(cport_submit(&port), 1);
	cqe = wait_pop(&port);
	ck_assert_uint_eq(cqe.user_data, 4000);
	ck_assert_int_eq(cqe.res, 0);
	cqe = wait_pop(&other);
	ck_assert_uint_eq(cqe.user_data, 4001);
	ck_assert_int_eq(cqe.res, 12);
	ck_assert_int_eq(cport_peek_cqe(&port, &(struct cport_cqe *){0}), -EAGAIN);
	cport_queue_exit(&other);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(prep_post_to_non_port_fails_in_cqe)
{
	struct cport_sqe *sqe;
	struct cport port;
	int fd = non_port_fd();

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_post(sqe, fd, 1, 1);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EBADFD);
	sqe = get_sqe(&port);
	cport_prep_post(sqe, -1, 1, 1);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EBADF);
	close(fd);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(sqe_with_nonzero_reserved_field_fails_with_einval)
{
	struct cport_sqe *sqe;
	struct cport port;

	port_init(&port, 8);
	sqe = get_sqe(&port);
	cport_prep_nop(sqe);
	sqe->resv[1] = 1;
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	sqe = get_sqe(&port);
	cport_prep_nop(sqe);
	sqe->opcode = CPORT_OP_LAST;
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(prep_read_write_set_fd_buf_len_off)
{
	struct cport_sqe sqe, want;
	char buf[4];

	junk(&sqe);
	cport_prep_read(&sqe, 5, buf, 4000, 77);
	want_init(&want, CPORT_OP_READ);
	want.fd = 5;
	want.addr = (uint64_t)(uintptr_t)buf;
	want.len = 4000;
	want.off = 77;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_write(&sqe, 6, buf, 1, CPORT_POS_CURRENT);
	want_init(&want, CPORT_OP_WRITE);
	want.fd = 6;
	want.addr = (uint64_t)(uintptr_t)buf;
	want.len = 1;
	want.off = CPORT_POS_CURRENT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_readv_writev_set_iovecs)
{
	struct cport_sqe sqe, want;
	struct iovec v[3];

	junk(&sqe);
	cport_prep_readv(&sqe, 8, v, 3, 1ULL << 40);
	want_init(&want, CPORT_OP_READV);
	want.fd = 8;
	want.addr = (uint64_t)(uintptr_t)v;
	want.len = 3;
	want.off = 1ULL << 40;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_writev(&sqe, 9, v, 2, 0);
	want_init(&want, CPORT_OP_WRITEV);
	want.fd = 9;
	want.addr = (uint64_t)(uintptr_t)v;
	want.len = 2;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_cancel_fd_sets_fd_and_flag)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_cancel_fd(&sqe, 12, CPORT_CANCEL_ALL);
	want_init(&want, CPORT_OP_CANCEL);
	want.fd = 12;
	want.op_flags = CPORT_CANCEL_ALL | CPORT_CANCEL_FD;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(sqe_set_flags_sets_only_flags)
{
	struct cport_sqe sqe, want;

	cport_prep_nop(&sqe);
	want = sqe;
	cport_sqe_set_flags(&sqe, CPORT_SQE_F_ORDERED);
	want.flags = CPORT_SQE_F_ORDERED;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
	cport_sqe_set_flags(&sqe, 0);
	ck_assert_uint_eq(sqe.flags, 0);
}
END_TEST

START_TEST(prep_read_write_fixed_set_buf_index)
{
	struct cport_sqe sqe, want;
	char buf[4];

	junk(&sqe);
	cport_prep_read_fixed(&sqe, 5, buf, 4000, 77, 1023);
	want_init(&want, CPORT_OP_READ_FIXED);
	want.fd = 5;
	want.addr = (uint64_t)(uintptr_t)buf;
	want.len = 4000;
	want.off = 77;
	want.addr2 = 1023;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_write_fixed(&sqe, 6, buf, 1, CPORT_POS_CURRENT, 0);
	cport_sqe_set_flags(&sqe, CPORT_SQE_F_FIXED_FILE);
	want_init(&want, CPORT_OP_WRITE_FIXED);
	want.fd = 6;
	want.addr = (uint64_t)(uintptr_t)buf;
	want.len = 1;
	want.off = CPORT_POS_CURRENT;
	want.flags = CPORT_SQE_F_FIXED_FILE;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_fsync_sets_fd_and_flags)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_fsync(&sqe, 11, CPORT_FSYNC_DATASYNC);
	want_init(&want, CPORT_OP_FSYNC);
	want.fd = 11;
	want.op_flags = CPORT_FSYNC_DATASYNC;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

Suite *queue_host_suite(void)
{
	Suite *s = suite_create("queue");
	int n = sizeof(starts) / sizeof(starts[0]);

	ADD_TESTS(s, tcase_create("prep"), 0,
		  prep_nop_clears_all_but_opcode,
		  prep_post_sets_fd_addr_len,
		  prep_timeout_sets_off_and_flags,
		  prep_timer_is_multishot_timeout,
		  prep_timeout_remove_sets_addr, prep_link_timeout_sets_off,
		  prep_cancel_sets_addr_and_flags,
		  prep_read_write_set_fd_buf_len_off,
		  prep_readv_writev_set_iovecs,
		  prep_read_write_fixed_set_buf_index,
		  prep_fsync_sets_fd_and_flags,
		  prep_cancel_fd_sets_fd_and_flag,
		  sqe_set_flags_sets_only_flags);
	ADD_TESTS(s, tcase_create("user_data"), 0,
		  set_data64_sets_only_user_data,
		  set_data_round_trips_pointers);
	ADD_TESTS(s, tcase_create("sq_ring"), n,
		  get_sqe_hands_out_each_slot_until_full,
		  submit_publishes_sqes_in_order);
	ADD_TESTS(s, tcase_create("cq_ring"), n,
		  peek_cqe_on_empty_cq_is_eagain,
		  peek_cqe_returns_oldest_and_seen_consumes_it,
		  peek_batch_cqe_returns_up_to_count_in_order);
	ADD_TESTS(s, tcase_create("wait"), n,
		  wait_cqe_returns_ready_cqe_without_entering,
		  wait_cqe_enters_kernel_when_not_enough,
		  wait_cqe_nr_zero_does_not_wait);
	return s;
}

/* A file written, synced and read back through the port. */
START_TEST(file_write_fsync_read_round_trip)
{
	char out[] = "0123456789", in[11] = "", a[4] = "", b[8] = "";
	struct iovec v[2] = { { a, 3 }, { b, 7 } };
	struct cport_sqe *sqe;
	struct cport port;
	int f;

	f = open("libcport_rw.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600);
	ck_assert_int_ge(f, 0);
	port_init(&port, 8);

	cport_prep_write(get_sqe(&port), f, out, 10, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 10);

	cport_prep_fsync(get_sqe(&port), f, CPORT_FSYNC_DATASYNC);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 0);

	cport_prep_read(get_sqe(&port), f, in, 10, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 10);
	ck_assert_str_eq(in, "0123456789");

	cport_prep_readv(get_sqe(&port), f, v, 2, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 10);
	ck_assert_str_eq(a, "012");
	ck_assert_str_eq(b, "3456789");

	sqe = get_sqe(&port);
	cport_prep_writev(sqe, f, v, 2, CPORT_POS_CURRENT);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, 10);
	ck_assert_int_eq(lseek(f, 0, SEEK_CUR), 10);

	/* Errors land in the CQE. */
	cport_prep_read(get_sqe(&port), -1, in, 10, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EBADF);
	cport_prep_fsync(get_sqe(&port), f, 0x80);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -EINVAL);

	cport_queue_exit(&port);
	close(f);
	unlink("libcport_rw.tmp");
}
END_TEST

Suite *queue_device_suite(void)
{
	Suite *s = suite_create("queue");

	ADD_TESTS(s, tcase_device("submit"), 0,
		  submit_returns_number_consumed,
		  get_sqe_is_null_when_sq_full,
		  submit_with_cq_full_is_ebusy_and_keeps_sqes,
		  submit_and_wait_waits_for_timer,
		  submit_and_wait_timeout_is_etime_when_nothing_comes);
	ADD_TESTS(s, tcase_device("wait"), 0,
		  wait_cqe_blocks_until_timer_fires,
		  wait_cqe_nr_waits_for_all,
		  wait_cqe_timeout_is_etime_on_empty_cq,
		  longest_uint64_timeout_waits_without_limit,
		  wait_cqe_is_interrupted_by_signal,
		  peek_on_device_port);
	ADD_TESTS(s, tcase_device("timer"), 0,
		  timer_multishot_reports_every_shot,
		  timeout_abs_fires_at_the_time,
		  timeout_remove_cancels_timer,
		  link_timeout_cancels_linked_timer,
		  cancel_all_any_cancels_every_timer);
	ADD_TESTS(s, tcase_device("post_op"), 0,
		  prep_post_to_self_posts_two_cqes,
		  prep_post_to_other_port,
		  prep_post_to_non_port_fails_in_cqe);
	ADD_TESTS(s, tcase_device("file_io"), 0,
		  file_write_fsync_read_round_trip);
	ADD_TESTS(s, tcase_device("invalid_sqe"), 0,
		  sqe_with_nonzero_reserved_field_fails_with_einval);
	return s;
}
