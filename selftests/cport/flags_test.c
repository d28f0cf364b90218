// SPDX-License-Identifier: GPL-2.0
/*
 * Event flags of a port's local cluster: CPORT_IOC_FLAGS (set, clear, read,
 * wait any/all with timeout and consume, poll arm), the read-only flag page,
 * the FLAG_SET, FLAG_CLEAR and FLAG_WAIT ops, CPORT_SQE_F_EVENT_FLAG on
 * ops and timers (CPORT_TIMEOUT_FLAG_ONLY), and the composite wait of
 * CPORT_IOC_ENTER with CPORT_ENTER_FLAGS. Common clusters: cluster_test.
 *
 * Every expectation comes from the "Event flags" section of
 * Documentation/userspace-api.rst.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <sys/epoll.h>

#include "cport_test.h"

#define WAIT_NS		(10 * NSEC_PER_SEC)
#define MS		NSEC_PER_MSEC

PORT_FIXTURE(ef, 8, 64)

/* An opened port that is not set up. */
FIXTURE(bare) {
	int fd;
};

FIXTURE_SETUP(bare)
{
	self->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	self->fd = cport_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bare)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Reap the next CQE, waiting up to WAIT_NS. */
#define NEXT(pt, c) ASSERT_EQ(0, cq_wait((pt), (c), WAIT_NS))

/* Push and submit SQE @sqe; ASSERTs it was consumed. */
#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(1, submit_n((pt), &__s, 1));				\
} while (0)

/* ----------------------------------------------------------------- */
/* set, clear, read */

TEST_F(ef, set_and_clear_return_previous_state)
{
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, flag_set(fd, CPORT_LOCAL, 5));
	EXPECT_EQ(1, flag_set(fd, CPORT_LOCAL, 5));
	EXPECT_EQ(1, flag_clear(fd, CPORT_LOCAL, 5));
	EXPECT_EQ(0, flag_clear(fd, CPORT_LOCAL, 5));
	EXPECT_EQ(0, flags_of(fd, CPORT_LOCAL));
}

TEST_F(ef, set_result_is_the_cluster_before)
{
	int fd = self->pt.fd;
	__u64 before = 0xdead;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, flag_change(fd, CPORT_FLAGS_SET, CPORT_LOCAL, 0, &before));
	EXPECT_EQ(0, before);
	EXPECT_EQ(0, flag_change(fd, CPORT_FLAGS_SET, CPORT_LOCAL, 63,
				 &before));
	EXPECT_EQ(BIT64(0), before);
	EXPECT_EQ(0, flag_change(fd, CPORT_FLAGS_SET, CPORT_LOCAL, 17,
				 &before));
	EXPECT_EQ(BIT64(0) | BIT64(63), before);
	EXPECT_EQ(1, flag_change(fd, CPORT_FLAGS_SET, CPORT_LOCAL, 17,
				 &before));
	EXPECT_EQ(BIT64(0) | BIT64(17) | BIT64(63), before);
	EXPECT_EQ(BIT64(0) | BIT64(17) | BIT64(63), flags_of(fd, CPORT_LOCAL));
}

TEST_F(ef, clear_result_is_the_cluster_before)
{
	int fd = self->pt.fd;
	__u64 before = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 40));
	EXPECT_EQ(1, flag_change(fd, CPORT_FLAGS_CLEAR, CPORT_LOCAL, 2,
				 &before));
	EXPECT_EQ(BIT64(2) | BIT64(40), before);
	EXPECT_EQ(0, flag_change(fd, CPORT_FLAGS_CLEAR, CPORT_LOCAL, 2,
				 &before));
	EXPECT_EQ(BIT64(40), before);
	EXPECT_EQ(BIT64(40), flags_of(fd, CPORT_LOCAL));
}

TEST_F(ef, read_of_a_new_port_is_zero)
{
	struct cport_flags f = { .op = CPORT_FLAGS_READ };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, sys_flags(self->pt.fd, &f));
	EXPECT_EQ(0, f.result);
}

TEST_F(ef, every_bit_from_0_to_63)
{
	int fd = self->pt.fd, bit;
	__u64 want = 0;

	CPORT_SKIP_IF_ABSENT();
	for (bit = 0; bit < 64; bit++) {
		ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, bit)) TH_LOG("bit %d", bit);
		want |= BIT64(bit);
		ASSERT_EQ(want, flags_of(fd, CPORT_LOCAL)) TH_LOG("bit %d", bit);
	}
	for (bit = 0; bit < 64; bit++) {
		ASSERT_EQ(1, flag_clear(fd, CPORT_LOCAL, bit))
			TH_LOG("bit %d", bit);
		want &= ~BIT64(bit);
		ASSERT_EQ(want, flags_of(fd, CPORT_LOCAL)) TH_LOG("bit %d", bit);
	}
}

TEST_F(bare, flag_ioctls_work_before_setup)
{
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, flag_set(self->fd, CPORT_LOCAL, 9));
	EXPECT_EQ(BIT64(9), flags_of(self->fd, CPORT_LOCAL));
	EXPECT_EQ(0, flag_wait(self->fd, CPORT_LOCAL, BIT64(9) | BIT64(10),
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(BIT64(9), result);
	EXPECT_EQ(1, flag_clear(self->fd, CPORT_LOCAL, 9));
	EXPECT_EQ(0, flag_poll_arm(self->fd, CPORT_LOCAL, BIT64(9), 0));
	EXPECT_EQ(0, flag_poll_disarm(self->fd));
	/* the port itself is still not set up */
	EXPECT_EQ(-EBADFD, sys_post(self->fd, 1, 1));
}

TEST_F(ef, local_clusters_of_two_ports_are_apart)
{
	struct port other;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&other, 4, 0, 0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ASSERT_EQ(0, flag_set(other.fd, CPORT_LOCAL, 4));
	EXPECT_EQ(BIT64(3), flags_of(self->pt.fd, CPORT_LOCAL));
	EXPECT_EQ(BIT64(4), flags_of(other.fd, CPORT_LOCAL));
	port_fini(&other);
}

static int set_bit_12_child(void *arg)
{
	return flag_set(*(int *)arg, CPORT_LOCAL, 12) == 0 ? 0 : 1;
}

/* After fork() the child's fd is the same port: the same local cluster. */
TEST_F(ef, forked_child_sets_the_same_local_cluster)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, child_run(set_bit_12_child, &self->pt.fd));
	EXPECT_EQ(BIT64(12), flags_of(self->pt.fd, CPORT_LOCAL));
}

/* ----------------------------------------------------------------- */
/* the flag page */

TEST_F(bare, flag_page_maps_before_setup)
{
	struct cport_flag_page *pg;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(self->fd);
	ASSERT_NE(NULL, pg) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0, flag_page_local(pg));
	ASSERT_EQ(0, flag_set(self->fd, CPORT_LOCAL, 33));
	EXPECT_EQ(BIT64(33), flag_page_local(pg));
	flag_page_unmap(pg);
}

TEST_F(ef, flag_page_equals_read_after_every_change)
{
	int fd = self->pt.fd, i;
	struct cport_flag_page *pg;
	__u64 seed = 0x5eed;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(fd);
	ASSERT_NE(NULL, pg);
	for (i = 0; i < 300; i++) {
		__u64 r = xrand(&seed);
		__u32 bit = r % 64;
		struct cport_cqe c;

		switch ((r >> 8) % 4) {
		case 0:
			ASSERT_LE(0, flag_set(fd, CPORT_LOCAL, bit));
			break;
		case 1:
			ASSERT_LE(0, flag_clear(fd, CPORT_LOCAL, bit));
			break;
		case 2:
			SUBMIT(&self->pt, sqe_flag(CPORT_OP_FLAG_SET,
						   CPORT_LOCAL, bit, i));
			NEXT(&self->pt, &c);
			break;
		default:
			SUBMIT(&self->pt, sqe_flag(CPORT_OP_FLAG_CLEAR,
						   CPORT_LOCAL, bit, i));
			NEXT(&self->pt, &c);
			break;
		}
		ASSERT_EQ(flags_of(fd, CPORT_LOCAL), flag_page_local(pg))
			TH_LOG("step %d", i);
	}
	flag_page_unmap(pg);
}

TEST_F(ef, flag_page_resv_reads_zero)
{
	struct cport_flag_page *pg;
	int i;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(self->pt.fd);
	ASSERT_NE(NULL, pg);
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 63));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 0));
	EXPECT_EQ(BIT64(0) | BIT64(63), flag_page_local(pg));
	for (i = 0; i < 7; i++)
		EXPECT_EQ(0, pg->resv[i]) TH_LOG("resv[%d]", i);
	flag_page_unmap(pg);
}

TEST_F(ef, flag_page_writable_mapping_eacces)
{
	long psz = sysconf(_SC_PAGESIZE);
	void *p;

	CPORT_SKIP_IF_ABSENT();
	p = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_SHARED, self->pt.fd,
		 CPORT_OFF_FLAGS);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("PROT_WRITE mapping of the flag page");
	if (p == MAP_FAILED) {
		EXPECT_EQ(EACCES, errno);
	} else {
		munmap(p, psz);
	}
}

TEST_F(ef, flag_page_mprotect_write_eacces)
{
	struct cport_flag_page *pg;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(self->pt.fd);
	ASSERT_NE(NULL, pg);
	EXPECT_EQ(-1, mprotect(pg, sysconf(_SC_PAGESIZE),
			       PROT_READ | PROT_WRITE))
		TH_LOG("the flag page became writable");
	EXPECT_EQ(EACCES, errno);
	flag_page_unmap(pg);
}

TEST_F(ef, flag_page_private_mapping_einval)
{
	long psz = sysconf(_SC_PAGESIZE);
	void *p;

	CPORT_SKIP_IF_ABSENT();
	p = mmap(NULL, psz, PROT_READ, MAP_PRIVATE, self->pt.fd,
		 CPORT_OFF_FLAGS);
	EXPECT_EQ(MAP_FAILED, p);
	if (p == MAP_FAILED) {
		EXPECT_EQ(EINVAL, errno);
	} else {
		munmap(p, psz);
	}
}

TEST_F(ef, flag_page_longer_than_a_page_einval)
{
	long psz = sysconf(_SC_PAGESIZE);
	void *p;

	CPORT_SKIP_IF_ABSENT();
	p = mmap(NULL, 2 * psz, PROT_READ, MAP_SHARED, self->pt.fd,
		 CPORT_OFF_FLAGS);
	EXPECT_EQ(MAP_FAILED, p);
	if (p == MAP_FAILED) {
		EXPECT_EQ(EINVAL, errno);
	} else {
		munmap(p, 2 * psz);
	}
	/* nor at an offset inside it */
	p = mmap(NULL, psz, PROT_READ, MAP_SHARED, self->pt.fd,
		 CPORT_OFF_FLAGS + psz);
	EXPECT_EQ(MAP_FAILED, p);
	if (p == MAP_FAILED) {
		EXPECT_EQ(EINVAL, errno);
	} else {
		munmap(p, psz);
	}
}

/* The mapping holds the port: the page outlives the fd. */
TEST_F(bare, flag_page_outlives_close)
{
	struct cport_flag_page *pg;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(self->fd);
	ASSERT_NE(NULL, pg);
	ASSERT_EQ(0, flag_set(self->fd, CPORT_LOCAL, 21));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(BIT64(21), flag_page_local(pg));
	flag_page_unmap(pg);
}

/* ----------------------------------------------------------------- */
/* CPORT_FLAGS_WAIT */

TEST_F(ef, wait_timeout_zero_unsatisfied_etime)
{
	__u64 result = 0xbad;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	EXPECT_EQ(-ETIME, flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(2),
				    CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(0, result);
	EXPECT_EQ(BIT64(1), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_any_satisfied_at_once_reports_set_flags_of_mask)
{
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 50));
	EXPECT_EQ(0, flag_wait(self->pt.fd, CPORT_LOCAL,
			       BIT64(1) | BIT64(2) | BIT64(3),
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(BIT64(1) | BIT64(2), result);
	/* without a timeout too: the condition is checked first */
	result = 0;
	EXPECT_EQ(0, flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(50), 0, 0,
			       &result));
	EXPECT_EQ(BIT64(50), result);
	/* not consuming: nothing changed */
	EXPECT_EQ(BIT64(1) | BIT64(2) | BIT64(50),
		  flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_all_satisfied_at_once)
{
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 4));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 63));
	EXPECT_EQ(0, flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(4) | BIT64(63),
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT,
			       0, &result));
	EXPECT_EQ(BIT64(4) | BIT64(63), result);
}

TEST_F(ef, wait_all_with_one_flag_missing_etime)
{
	__u64 result = 0xbad;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 4));
	EXPECT_EQ(-ETIME, flag_wait(self->pt.fd, CPORT_LOCAL,
				    BIT64(4) | BIT64(5),
				    CPORT_FLAG_WAIT_ALL |
				    CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(0, result);
}

TEST_F(ef, wait_timeout_elapses)
{
	__u64 start = now_ns(CLOCK_MONOTONIC), result = 0xbad;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ETIME, flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(7),
				    CPORT_FLAG_WAIT_TIMEOUT, 50 * MS, &result));
	EXPECT_LE(start + 50 * MS, now_ns(CLOCK_MONOTONIC));
	EXPECT_EQ(0, result);
}

TEST_F(ef, wait_woken_by_set_from_another_thread)
{
	struct flag_waiter w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, self->pt.fd, CPORT_LOCAL,
				       BIT64(7) | BIT64(8), 0));
	EXPECT_FALSE(w.returned);
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 8));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(8), w.result);
	EXPECT_EQ(BIT64(8), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_all_woken_only_by_the_last_flag)
{
	struct flag_waiter w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, self->pt.fd, CPORT_LOCAL,
				       BIT64(1) | BIT64(2) | BIT64(3),
				       CPORT_FLAG_WAIT_ALL));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 9));
	EXPECT_FALSE(flag_waiter_done(&w, 100));
	EXPECT_TRUE(task_sleeping_in(w.tid, SYS_ioctl));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(1) | BIT64(2) | BIT64(3), w.result);
}

/*
 * The waiter is released by the change that makes its condition true and
 * reports the flags at that moment, whatever changes before it runs.
 */
TEST_F(ef, wait_result_is_the_flags_at_release)
{
	struct flag_waiter w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, self->pt.fd, CPORT_LOCAL,
				       BIT64(1) | BIT64(2), 0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(1), w.result);
}

TEST_F(ef, wait_released_even_if_cleared_before_it_runs)
{
	struct flag_waiter w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, self->pt.fd, CPORT_LOCAL,
				       BIT64(3), 0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ASSERT_EQ(1, flag_clear(self->pt.fd, CPORT_LOCAL, 3));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("wake-up lost: set then clear");
	EXPECT_EQ(BIT64(3), w.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_any_consume_clears_the_set_flags_of_mask)
{
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 10));
	EXPECT_EQ(0, flag_wait(self->pt.fd, CPORT_LOCAL,
			       BIT64(1) | BIT64(2) | BIT64(3),
			       CPORT_FLAG_WAIT_CONSUME |
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(BIT64(1) | BIT64(2), result);
	EXPECT_EQ(BIT64(10), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_all_consume_clears_the_whole_mask)
{
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 10));
	EXPECT_EQ(0, flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(1) | BIT64(2),
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME |
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(BIT64(1) | BIT64(2), result);
	EXPECT_EQ(BIT64(10), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_consume_unsatisfied_consumes_nothing)
{
	__u64 result = 0xbad;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	EXPECT_EQ(-ETIME, flag_wait(self->pt.fd, CPORT_LOCAL,
				    BIT64(1) | BIT64(2),
				    CPORT_FLAG_WAIT_ALL |
				    CPORT_FLAG_WAIT_CONSUME |
				    CPORT_FLAG_WAIT_TIMEOUT, 10 * MS, &result));
	EXPECT_EQ(0, result);
	EXPECT_EQ(BIT64(1), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, wait_consume_woken_by_set)
{
	struct flag_waiter w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, self->pt.fd, CPORT_LOCAL,
				       BIT64(20) | BIT64(21),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 21));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(21), w.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

/* One set, two consuming waiters: the older takes it, the newer waits on. */
TEST_F(ef, consuming_waiters_oldest_takes_the_set)
{
	struct flag_waiter a, b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&a, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_waiter_start(&b, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	ASSERT_TRUE(flag_waiter_done(&a, 10000));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(BIT64(5), a.result);
	EXPECT_FALSE(flag_waiter_done(&b, 100)) TH_LOG("one set taken twice");
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	pthread_join(a.thr, NULL);
	pthread_join(b.thr, NULL);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(BIT64(5), b.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, nonconsuming_waiters_all_released_by_one_set)
{
	struct flag_waiter w[3];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, flag_waiter_start(&w[i], self->pt.fd, CPORT_LOCAL,
					       BIT64(6) | BIT64(i), 0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 6));
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].thr, NULL);
		EXPECT_EQ(0, w[i].ret) TH_LOG("waiter %d", i);
		EXPECT_EQ(BIT64(6), w[i].result) TH_LOG("waiter %d", i);
	}
	EXPECT_EQ(BIT64(6), flags_of(self->pt.fd, CPORT_LOCAL));
}

/* A consuming and a non-consuming waiter: both see the set. */
TEST_F(ef, consuming_and_nonconsuming_waiter_both_released)
{
	struct flag_waiter a, b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&a, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       0));
	ASSERT_EQ(0, flag_waiter_start(&b, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	pthread_join(a.thr, NULL);
	pthread_join(b.thr, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(BIT64(5), a.result);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(BIT64(5), b.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

/*
 * The other way round: the consuming waiter is the older one and clears
 * the flag before the non-consuming one is looked at. The set made the
 * newer one's condition true all the same: it is released too.
 */
TEST_F(ef, consuming_older_nonconsuming_newer_both_released)
{
	struct flag_waiter a, b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&a, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_waiter_start(&b, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	EXPECT_TRUE(flag_waiter_done(&a, 10000));
	EXPECT_TRUE(flag_waiter_done(&b, 1000))
		TH_LOG("non-consuming waiter not released by the set");
	if (!b.returned)
		flag_set(self->pt.fd, CPORT_LOCAL, 5);
	pthread_join(a.thr, NULL);
	pthread_join(b.thr, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(BIT64(5), a.result);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(BIT64(5), b.result);
}

/* Wait-all consumers with overlapping masks: the oldest takes all of its. */
TEST_F(ef, consuming_wait_all_overlapping_masks)
{
	struct flag_waiter a, b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&a, self->pt.fd, CPORT_LOCAL,
				       BIT64(1) | BIT64(2),
				       CPORT_FLAG_WAIT_ALL |
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_waiter_start(&b, self->pt.fd, CPORT_LOCAL,
				       BIT64(2) | BIT64(3),
				       CPORT_FLAG_WAIT_ALL |
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_TRUE(flag_waiter_done(&a, 10000));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(BIT64(1) | BIT64(2), a.result);
	EXPECT_FALSE(flag_waiter_done(&b, 100));
	EXPECT_EQ(BIT64(3), flags_of(self->pt.fd, CPORT_LOCAL));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	pthread_join(a.thr, NULL);
	pthread_join(b.thr, NULL);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(BIT64(2) | BIT64(3), b.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

/* EINTR: a signal during the wait, never restarted. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

/* A thread that acts once task @target sleeps in ioctl(). */
enum act { ACT_SET, ACT_POST, ACT_SIGNAL };

struct actor {
	pthread_t thr;
	pid_t target;
	pthread_t target_thr;
	int fd;
	enum act what;
	__u32 bit;
	int saw_sleep;
	volatile int returned;	/* set by the target once it is back */
	int unblocked;		/* had to unblock a restarted ioctl */
};

static void *actor_fn(void *arg)
{
	struct actor *a = arg;
	int i;

	a->saw_sleep = task_sleeps_in(a->target, SYS_ioctl, 10000);
	switch (a->what) {
	case ACT_SET:
		flag_set(a->fd, CPORT_LOCAL, a->bit);
		break;
	case ACT_POST:
		sys_post(a->fd, 0xa0, 0);
		break;
	case ACT_SIGNAL:
		pthread_kill(a->target_thr, SIGUSR1);
		/* if the wait was restarted, unblock it: fail, not hang */
		for (i = 0; i < 3000 && !a->returned; i++)
			usleep(1000);
		if (!a->returned) {
			a->unblocked = 1;
			flag_set(a->fd, CPORT_LOCAL, a->bit);
			sys_post(a->fd, 0xdead, 0);
		}
		break;
	}
	return NULL;
}

static void actor_start(struct __test_metadata *_metadata, struct actor *a,
			int fd, enum act what, __u32 bit)
{
	memset(a, 0, sizeof(*a));
	a->target = sys_gettid();
	a->target_thr = pthread_self();
	a->fd = fd;
	a->what = what;
	a->bit = bit;
	ASSERT_EQ(0, pthread_create(&a->thr, NULL, actor_fn, a));
}

static void actor_join(struct __test_metadata *_metadata, struct actor *a)
{
	a->returned = 1;
	pthread_join(a->thr, NULL);
	EXPECT_TRUE(a->saw_sleep);
	EXPECT_EQ(0, a->unblocked) TH_LOG("the wait was restarted");
}

static void catch_sigusr1(struct __test_metadata *_metadata)
{
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	got_signal = 0;
}

TEST_F(ef, wait_signal_eintr_never_restarted)
{
	struct actor a;
	__u64 result = 0xbad;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	catch_sigusr1(_metadata);
	actor_start(_metadata, &a, self->pt.fd, ACT_SIGNAL, 30);
	ret = flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(30), 0, 0, &result);
	actor_join(_metadata, &a);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(1, got_signal);
}

TEST_F(ef, wait_with_timeout_signal_eintr)
{
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	catch_sigusr1(_metadata);
	actor_start(_metadata, &a, self->pt.fd, ACT_SIGNAL, 30);
	ret = flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(30),
			CPORT_FLAG_WAIT_CONSUME | CPORT_FLAG_WAIT_TIMEOUT,
			20 * NSEC_PER_SEC, NULL);
	actor_join(_metadata, &a);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(1, got_signal);
}

/* A timeout too long to ever pass is no timeout at all. */
TEST_F(ef, wait_with_the_longest_timeout_sleeps)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, ~0ULL,
					CPORT_LOCAL, BIT64(2));
	__u64 result = 0xbad;
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	actor_start(_metadata, &a, self->pt.fd, ACT_SET, 3);
	ret = flag_wait(self->pt.fd, CPORT_LOCAL, BIT64(3),
			CPORT_FLAG_WAIT_TIMEOUT, ~0ULL, &result);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret) TH_LOG("flag wait with timeout ~0");
	EXPECT_EQ(BIT64(3), result);
	actor_start(_metadata, &a, self->pt.fd, ACT_SET, 2);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret) TH_LOG("composite wait with timeout ~0");
	EXPECT_EQ(BIT64(2), e.ef_result);
}

/*
 * A consuming composite wait whose result cannot be written back (the
 * argument is in a read-only page: it can be read, not written) fails with
 * EFAULT and gives the flags it took back: a consumed flag is never lost.
 * The same wait with a writable argument takes them.
 */
TEST_F(ef, enter_consume_unwritable_result_gives_flags_back)
{
	const __u64 mask = BIT64(3) | BIT64(5);
	struct cport_enter *e;
	__u64 taken;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	e = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e);
	*e = enter_ef(0, 0, CPORT_ENTER_FLAGS_CONSUME | CPORT_ENTER_TIMEOUT,
		      0, CPORT_LOCAL, mask);
	ASSERT_EQ(0, mprotect(e, getpagesize(), PROT_READ));
	EXPECT_EQ(-EFAULT, sys_enter_raw(self->pt.fd, e));
	EXPECT_EQ(mask, flags_of(self->pt.fd, CPORT_LOCAL));

	ASSERT_EQ(0, mprotect(e, getpagesize(), PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, sys_enter_raw(self->pt.fd, e));
	taken = e->ef_result;
	EXPECT_NE(0, taken);
	EXPECT_EQ(0, taken & ~mask);
	EXPECT_EQ(mask & ~taken, flags_of(self->pt.fd, CPORT_LOCAL));
	munmap(e, getpagesize());
}

/* All 64 flags: bit 63 is no sign bit anywhere. */
TEST_F(ef, wait_all_of_all_64_flags)
{
	struct port *pt = &self->pt;
	__u64 result = 0;
	int bit;

	CPORT_SKIP_IF_ABSENT();
	for (bit = 0; bit < 63; bit++)
		ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, bit));
	EXPECT_EQ(-ETIME, flag_wait(pt->fd, CPORT_LOCAL, ~0ULL,
				    CPORT_FLAG_WAIT_ALL |
				    CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 63));
	EXPECT_EQ(63, run_one(_metadata, pt,
			      sqe_flag_wait(CPORT_LOCAL, BIT64(63), 0, 2)));
	EXPECT_EQ(0, run_one(_metadata, pt,
			     sqe_flag_wait(CPORT_LOCAL, ~0ULL,
					   CPORT_FLAG_WAIT_ALL, 3)));
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, ~0ULL,
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME |
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(~0ULL, result);
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
}

/* ----------------------------------------------------------------- */
/* CPORT_IOC_FLAGS argument checks: EINVAL, EFAULT */

/*
 * Every bad call is made with flag 1 set and a POLL_ARM of flag 1 in
 * place, so a call wrongly accepted shows: a WAIT returns 0 at once
 * instead of blocking, a SET of bit 64 or a CLEAR of bit 65 would hit
 * bit 0 or 1, a bad POLL_ARM or POLL_DISARM would replace or drop the
 * armed condition.
 */
PORT_FIXTURE(bad_flags, 4, 0)

FIXTURE_VARIANT(bad_flags) {
	__u32 op, cluster, bit, flags;
	__u64 mask, timeout_ns, resv;
};

#define B_SET		.op = CPORT_FLAGS_SET
#define B_CLEAR		.op = CPORT_FLAGS_CLEAR
#define B_READ		.op = CPORT_FLAGS_READ
#define B_WAIT		.op = CPORT_FLAGS_WAIT, .mask = 2,		\
			.flags = CPORT_FLAG_WAIT_TIMEOUT
#define B_ARM		.op = CPORT_FLAGS_POLL_ARM, .mask = 2
#define B_DISARM	.op = CPORT_FLAGS_POLL_DISARM

FIXTURE_VARIANT_ADD(bad_flags, unknown_op_6) { .op = 6 };
FIXTURE_VARIANT_ADD(bad_flags, unknown_op_max) { .op = 0xffffffffU };
FIXTURE_VARIANT_ADD(bad_flags, set_bit_64) { B_SET, .bit = 64 };
FIXTURE_VARIANT_ADD(bad_flags, set_bit_max) { B_SET, .bit = 0xffffffffU };
FIXTURE_VARIANT_ADD(bad_flags, set_flag_all)
	{ B_SET, .flags = CPORT_FLAG_WAIT_ALL };
FIXTURE_VARIANT_ADD(bad_flags, set_mask) { B_SET, .mask = 1 };
FIXTURE_VARIANT_ADD(bad_flags, set_timeout_ns) { B_SET, .timeout_ns = 1 };
FIXTURE_VARIANT_ADD(bad_flags, set_resv) { B_SET, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, set_cluster_not_associated)
	{ B_SET, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_flags, set_cluster_33) { B_SET, .cluster = 33 };
FIXTURE_VARIANT_ADD(bad_flags, set_cluster_max)
	{ B_SET, .cluster = 0xffffffffU };
FIXTURE_VARIANT_ADD(bad_flags, clear_bit_65) { B_CLEAR, .bit = 65 };
FIXTURE_VARIANT_ADD(bad_flags, clear_flag_consume)
	{ B_CLEAR, .bit = 1, .flags = CPORT_FLAG_WAIT_CONSUME };
FIXTURE_VARIANT_ADD(bad_flags, clear_mask) { B_CLEAR, .bit = 1, .mask = 2 };
FIXTURE_VARIANT_ADD(bad_flags, clear_resv) { B_CLEAR, .bit = 1, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, clear_cluster_not_associated)
	{ B_CLEAR, .bit = 1, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_flags, read_bit) { B_READ, .bit = 1 };
FIXTURE_VARIANT_ADD(bad_flags, read_flags)
	{ B_READ, .flags = CPORT_FLAG_WAIT_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_flags, read_mask) { B_READ, .mask = 1 };
FIXTURE_VARIANT_ADD(bad_flags, read_timeout_ns) { B_READ, .timeout_ns = 1 };
FIXTURE_VARIANT_ADD(bad_flags, read_resv) { B_READ, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, read_cluster_not_associated)
	{ B_READ, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_flags, wait_mask_0)
	{ .op = CPORT_FLAGS_WAIT, .flags = CPORT_FLAG_WAIT_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_flags, wait_all_mask_0)
	{ .op = CPORT_FLAGS_WAIT,
	  .flags = CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_flags, wait_bit) { B_WAIT, .bit = 1 };
FIXTURE_VARIANT_ADD(bad_flags, wait_unknown_flag)
	{ .op = CPORT_FLAGS_WAIT, .mask = 2,
	  .flags = CPORT_FLAG_WAIT_TIMEOUT | (1U << 3) };
FIXTURE_VARIANT_ADD(bad_flags, wait_unknown_flag_high)
	{ .op = CPORT_FLAGS_WAIT, .mask = 2,
	  .flags = CPORT_FLAG_WAIT_TIMEOUT | (1U << 31) };
FIXTURE_VARIANT_ADD(bad_flags, wait_timeout_ns_without_flag)
	{ .op = CPORT_FLAGS_WAIT, .mask = 2, .timeout_ns = 1000 };
FIXTURE_VARIANT_ADD(bad_flags, wait_resv) { B_WAIT, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, wait_cluster_not_associated)
	{ B_WAIT, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_flags, wait_cluster_33) { B_WAIT, .cluster = 33 };
FIXTURE_VARIANT_ADD(bad_flags, arm_mask_0) { .op = CPORT_FLAGS_POLL_ARM };
FIXTURE_VARIANT_ADD(bad_flags, arm_flag_consume)
	{ B_ARM, .flags = CPORT_FLAG_WAIT_CONSUME };
FIXTURE_VARIANT_ADD(bad_flags, arm_flag_timeout)
	{ B_ARM, .flags = CPORT_FLAG_WAIT_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_flags, arm_timeout_ns) { B_ARM, .timeout_ns = 1 };
FIXTURE_VARIANT_ADD(bad_flags, arm_bit) { B_ARM, .bit = 1 };
FIXTURE_VARIANT_ADD(bad_flags, arm_resv) { B_ARM, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, arm_cluster_not_associated)
	{ B_ARM, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_flags, disarm_bit) { B_DISARM, .bit = 1 };
FIXTURE_VARIANT_ADD(bad_flags, disarm_mask) { B_DISARM, .mask = 2 };
FIXTURE_VARIANT_ADD(bad_flags, disarm_flags)
	{ B_DISARM, .flags = CPORT_FLAG_WAIT_ALL };
FIXTURE_VARIANT_ADD(bad_flags, disarm_timeout_ns)
	{ B_DISARM, .timeout_ns = 1 };
FIXTURE_VARIANT_ADD(bad_flags, disarm_resv) { B_DISARM, .resv = 1 };
FIXTURE_VARIANT_ADD(bad_flags, disarm_cluster_not_associated)
	{ B_DISARM, .cluster = 1 };

static short poll_pri(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

TEST_F(bad_flags, einval_and_nothing_changes)
{
	struct cport_flags f = {
		.op = variant->op, .cluster = variant->cluster,
		.bit = variant->bit, .flags = variant->flags,
		.mask = variant->mask, .timeout_ns = variant->timeout_ns,
		.resv = variant->resv,
	};
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(1), 0));
	ASSERT_EQ(POLLPRI, poll_pri(fd));
	EXPECT_EQ(-EINVAL, sys_flags(fd, &f));
	EXPECT_EQ(BIT64(1), flags_of(fd, CPORT_LOCAL));
	EXPECT_EQ(POLLPRI, poll_pri(fd)) TH_LOG("armed condition changed");
	EXPECT_EQ(0, flag_poll_disarm(fd));
	EXPECT_EQ(-ENOENT, flag_poll_disarm(fd));
}

TEST_F(ef, flags_null_argument_efault)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_FLAGS, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(ef, flags_unreadable_argument_efault)
{
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_FLAGS, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
	munmap(bad, 4096);
}

/* A copy of @len bytes at @src in a read-only page (NULL on failure). */
static void *read_only_copy(const void *src, size_t len)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, src, len);
	if (mprotect(p, 4096, PROT_READ)) {
		munmap(p, 4096);
		return NULL;
	}
	return p;
}

/* A struct cport_flags @f in a read-only page: its result can't be written. */
static struct cport_flags *read_only_flags(const struct cport_flags *f)
{
	return read_only_copy(f, sizeof(*f));
}

TEST_F(ef, read_result_unwritable_efault)
{
	struct cport_flags f = { .op = CPORT_FLAGS_READ }, *ro;

	CPORT_SKIP_IF_ABSENT();
	ro = read_only_flags(&f);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_FLAGS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(ef, wait_result_unwritable_efault)
{
	struct cport_flags f = {
		.op = CPORT_FLAGS_WAIT, .mask = BIT64(3),
		.flags = CPORT_FLAG_WAIT_TIMEOUT,
	}, *ro;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ro = read_only_flags(&f);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_FLAGS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(ef, set_result_unwritable_efault)
{
	struct cport_flags f = { .op = CPORT_FLAGS_SET, .bit = 3 }, *ro;

	CPORT_SKIP_IF_ABSENT();
	ro = read_only_flags(&f);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_FLAGS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

/* ----------------------------------------------------------------- */
/* poll() and epoll: EPOLLPRI */

TEST_F(ef, poll_no_pri_when_nothing_armed)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	EXPECT_EQ(0, poll_pri(self->pt.fd));
}

TEST_F(ef, poll_pri_only_while_any_condition_holds)
{
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(3) | BIT64(4), 0));
	EXPECT_EQ(0, poll_pri(fd));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 9));
	EXPECT_EQ(0, poll_pri(fd));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 4));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 3));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	ASSERT_EQ(1, flag_clear(fd, CPORT_LOCAL, 4));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	ASSERT_EQ(1, flag_clear(fd, CPORT_LOCAL, 3));
	EXPECT_EQ(0, poll_pri(fd));
	/* a CQE is EPOLLIN, not EPOLLPRI */
	ASSERT_EQ(0, sys_post(fd, 1, 1));
	EXPECT_EQ(POLLIN, poll_pri(fd));
}

TEST_F(ef, poll_pri_only_while_all_condition_holds)
{
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(3) | BIT64(4),
				   CPORT_FLAG_WAIT_ALL));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 4));
	EXPECT_EQ(0, poll_pri(fd));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 3));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	ASSERT_EQ(1, flag_clear(fd, CPORT_LOCAL, 4));
	EXPECT_EQ(0, poll_pri(fd));
}

TEST_F(ef, poll_pri_at_once_if_condition_holds_when_armed)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 60));
	ASSERT_EQ(0, flag_poll_arm(self->pt.fd, CPORT_LOCAL, BIT64(60), 0));
	EXPECT_EQ(POLLPRI, poll_pri(self->pt.fd));
}

TEST_F(ef, poll_pri_and_in_together)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(self->pt.fd, CPORT_LOCAL, BIT64(2), 0));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_EQ(POLLIN | POLLPRI, poll_pri(self->pt.fd));
}

struct delayed_set {
	pthread_t thr;
	int fd;
	__u32 bit;
};

static void *set_after_50ms_fn(void *arg)
{
	struct delayed_set *d = arg;

	sleep_ms(50);
	flag_set(d->fd, CPORT_LOCAL, d->bit);
	return NULL;
}

TEST_F(ef, poll_sleeps_until_set)
{
	struct pollfd p = { .fd = self->pt.fd, .events = POLLPRI };
	struct delayed_set d = { .fd = self->pt.fd, .bit = 8 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(self->pt.fd, CPORT_LOCAL, BIT64(8), 0));
	ASSERT_EQ(0, pthread_create(&d.thr, NULL, set_after_50ms_fn, &d));
	EXPECT_EQ(1, poll(&p, 1, 20000));
	EXPECT_EQ(POLLPRI, p.revents);
	pthread_join(d.thr, NULL);
}

TEST_F(ef, epoll_wakes_on_the_set)
{
	struct epoll_event ev = { .events = EPOLLPRI, .data.u64 = 0x77 };
	struct epoll_event out[2];
	struct delayed_set d = { .fd = self->pt.fd, .bit = 11 };
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(self->pt.fd, CPORT_LOCAL, BIT64(11), 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->pt.fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(0, pthread_create(&d.thr, NULL, set_after_50ms_fn, &d));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 20000));
	EXPECT_EQ(EPOLLPRI, out[0].events);
	EXPECT_EQ(0x77, out[0].data.u64);
	pthread_join(d.thr, NULL);
	/* level-triggered: reported while the condition holds */
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(1, flag_clear(self->pt.fd, CPORT_LOCAL, 11));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

TEST_F(ef, epoll_wakes_on_a_set_by_an_op)
{
	struct epoll_event ev = { .events = EPOLLPRI | EPOLLET };
	struct epoll_event out[2];
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(self->pt.fd, CPORT_LOCAL, BIT64(12), 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->pt.fd, &ev));
	/* a timer's flag, set from its hrtimer callback */
	SUBMIT(&self->pt, sqe_ef(sqe_timeout(20 * MS, 0, 0, 0, 1),
				 CPORT_LOCAL, 12));
	ASSERT_LE(1, epoll_wait(ep, out, 2, 20000));
	EXPECT_TRUE(out[0].events & EPOLLPRI);
	EXPECT_EQ(BIT64(12), flags_of(self->pt.fd, CPORT_LOCAL));
	close(ep);
}

TEST_F(ef, disarm_when_not_armed_enoent)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, flag_poll_disarm(self->pt.fd));
}

TEST_F(ef, disarm_drops_the_condition)
{
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(2), 0));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 2));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	EXPECT_EQ(0, flag_poll_disarm(fd));
	EXPECT_EQ(0, poll_pri(fd));
	EXPECT_EQ(-ENOENT, flag_poll_disarm(fd));
}

TEST_F(ef, rearm_replaces_the_condition)
{
	int fd = self->pt.fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(1), 0));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 1));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(2), 0));
	EXPECT_EQ(0, poll_pri(fd));
	ASSERT_EQ(0, flag_set(fd, CPORT_LOCAL, 2));
	EXPECT_EQ(POLLPRI, poll_pri(fd));
	/* any -> all of the same flags */
	ASSERT_EQ(0, flag_poll_arm(fd, CPORT_LOCAL, BIT64(2) | BIT64(5),
				   CPORT_FLAG_WAIT_ALL));
	EXPECT_EQ(0, poll_pri(fd));
	/* one condition only: one disarm drops it */
	EXPECT_EQ(0, flag_poll_disarm(fd));
	EXPECT_EQ(-ENOENT, flag_poll_disarm(fd));
}

/* ----------------------------------------------------------------- */
/* CPORT_OP_FLAG_SET, CPORT_OP_FLAG_CLEAR */

TEST_F(ef, op_set_and_clear_res_is_previous_state)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, run_one(_metadata, pt, sqe_flag(CPORT_OP_FLAG_SET,
						     CPORT_LOCAL, 44, 1)));
	EXPECT_EQ(BIT64(44), flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(1, run_one(_metadata, pt, sqe_flag(CPORT_OP_FLAG_SET,
						     CPORT_LOCAL, 44, 2)));
	EXPECT_EQ(1, run_one(_metadata, pt, sqe_flag(CPORT_OP_FLAG_CLEAR,
						     CPORT_LOCAL, 44, 3)));
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(0, run_one(_metadata, pt, sqe_flag(CPORT_OP_FLAG_CLEAR,
						     CPORT_LOCAL, 44, 4)));
	EXPECT_EQ(0, run_one(_metadata, pt, sqe_flag(CPORT_OP_FLAG_SET,
						     CPORT_LOCAL, 63, 5)));
	EXPECT_EQ(BIT64(63), flags_of(pt->fd, CPORT_LOCAL));
}

/* They complete inline: the CQE and the change are there when ENTER returns. */
TEST_F(ef, op_set_completes_inline)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_flag(CPORT_OP_FLAG_SET, CPORT_LOCAL, 7, 9);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, submit_n(pt, &s, 1));
	EXPECT_EQ(1, cq_ready(pt));
	EXPECT_EQ(BIT64(7), flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

TEST_F(ef, op_set_with_event_flag_sets_both)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, run_one(_metadata, pt,
			     sqe_ef(sqe_flag(CPORT_OP_FLAG_SET, CPORT_LOCAL,
					     3, 1), CPORT_LOCAL, 4)));
	EXPECT_EQ(BIT64(3) | BIT64(4), flags_of(pt->fd, CPORT_LOCAL));
	/*
	 * CLEAR of the flag its own event flag names: the flag is cleared
	 * when the SQE is consumed, so the CLEAR finds it clear, and it is
	 * set again after the CQE.
	 */
	EXPECT_EQ(0, run_one(_metadata, pt,
			     sqe_ef(sqe_flag(CPORT_OP_FLAG_CLEAR, CPORT_LOCAL,
					     3, 2), CPORT_LOCAL, 3)));
	EXPECT_EQ(BIT64(3) | BIT64(4), flags_of(pt->fd, CPORT_LOCAL));
}

/*
 * Bad flag SQEs: each completes with its res, and sets nothing. Flag 1 is
 * set first: a FLAG_WAIT on it that is wrongly accepted completes at once
 * with res 1; a bit of 64 or 65 that is wrongly masked hits flag 0 or 1.
 */
PORT_FIXTURE(bad_sqe, 8, 0)

FIXTURE_VARIANT(bad_sqe) {
	struct cport_sqe s;
	int expect;
	__u64 after;	/* the local cluster afterwards */
};

#define FSET		.opcode = CPORT_OP_FLAG_SET
#define FCLR		.opcode = CPORT_OP_FLAG_CLEAR
#define FWAIT		.opcode = CPORT_OP_FLAG_WAIT, .addr = 2
#define EF		.flags = CPORT_SQE_F_EVENT_FLAG
#define BAD_SQE(...)	{ .s = { __VA_ARGS__ }, .expect = -EINVAL, .after = 2 }
#define AFTER_ANY	(~0ULL)

FIXTURE_VARIANT_ADD(bad_sqe, flag_set_valid)
	{ .s = { FSET, .off = 5 }, .expect = 0, .after = 2 | BIT64(5) };
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_bit_64) BAD_SQE(FSET, .off = 64);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_bit_2_pow_32)
	BAD_SQE(FSET, .off = 1ULL << 32);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_cluster_not_associated)
	BAD_SQE(FSET, .off = 5, .len = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_cluster_33)
	BAD_SQE(FSET, .off = 5, .len = 33);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_fd) BAD_SQE(FSET, .off = 5, .fd = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_addr)
	BAD_SQE(FSET, .off = 5, .addr = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_op_flags)
	BAD_SQE(FSET, .off = 5, .op_flags = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_addr2)
	BAD_SQE(FSET, .off = 5, .addr2 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_resv0)
	BAD_SQE(FSET, .off = 5, .resv0 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_resv2)
	BAD_SQE(FSET, .off = 5, .resv2 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_ef_cluster_without_event_flag)
	BAD_SQE(FSET, .off = 5, .ef_cluster = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_ef_bit_without_event_flag)
	BAD_SQE(FSET, .off = 5, .ef_bit = 6);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_ordered)
	BAD_SQE(FSET, .off = 5, .flags = CPORT_SQE_F_ORDERED);
FIXTURE_VARIANT_ADD(bad_sqe, flag_set_fixed_file)
	BAD_SQE(FSET, .off = 5, .flags = CPORT_SQE_F_FIXED_FILE);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_valid)
	{ .s = { FCLR, .off = 1 }, .expect = 1, .after = 0 };
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_bit_65) BAD_SQE(FCLR, .off = 65);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_cluster_not_associated)
	BAD_SQE(FCLR, .off = 1, .len = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_fd) BAD_SQE(FCLR, .off = 1, .fd = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_addr)
	BAD_SQE(FCLR, .off = 1, .addr = 2);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_op_flags)
	BAD_SQE(FCLR, .off = 1, .op_flags = CPORT_FLAG_WAIT_ALL);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_addr2)
	BAD_SQE(FCLR, .off = 1, .addr2 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_clear_resv2)
	BAD_SQE(FCLR, .off = 1, .resv2 = 1ULL << 63);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_valid)
	{ .s = { FWAIT }, .expect = 1, .after = 2 };
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_mask_0)
	BAD_SQE(.opcode = CPORT_OP_FLAG_WAIT);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_all_mask_0)
	BAD_SQE(.opcode = CPORT_OP_FLAG_WAIT,
		.op_flags = CPORT_FLAG_WAIT_ALL);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_cluster_not_associated)
	BAD_SQE(FWAIT, .len = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_cluster_33) BAD_SQE(FWAIT, .len = 33);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_fd) BAD_SQE(FWAIT, .fd = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_off) BAD_SQE(FWAIT, .off = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_addr2) BAD_SQE(FWAIT, .addr2 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_op_flag_timeout)
	BAD_SQE(FWAIT, .op_flags = CPORT_FLAG_WAIT_TIMEOUT);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_unknown_op_flag)
	BAD_SQE(FWAIT, .op_flags = 1U << 3);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_resv2) BAD_SQE(FWAIT, .resv2 = 1);
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_ef_bit_without_event_flag)
	BAD_SQE(FWAIT, .ef_bit = 1);
/*
 * A FLAG_WAIT may not name a flag; whether the flag it named anyway is set
 * after its -EINVAL the text leaves open ("whatever its res" vs "any SQE
 * but CPORT_OP_FLAG_WAIT may name a flag"): not checked.
 */
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_event_flag)
	{ .s = { FWAIT, EF, .ef_bit = 9 }, .expect = -EINVAL,
	  .after = AFTER_ANY };
FIXTURE_VARIANT_ADD(bad_sqe, flag_wait_event_flag_consume)
	{ .s = { FWAIT, EF, .ef_bit = 9, .op_flags = CPORT_FLAG_WAIT_CONSUME },
	  .expect = -EINVAL, .after = AFTER_ANY };
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_bit_64)
	BAD_SQE(.opcode = CPORT_OP_NOP, EF, .ef_bit = 64);
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_bit_65)
	BAD_SQE(.opcode = CPORT_OP_NOP, EF, .ef_bit = 65);
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_cluster_not_associated)
	BAD_SQE(.opcode = CPORT_OP_NOP, EF, .ef_cluster = 1, .ef_bit = 9);
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_cluster_33)
	BAD_SQE(.opcode = CPORT_OP_NOP, EF, .ef_cluster = 33, .ef_bit = 9);
/* the flag is valid, the NOP is not: set "whatever its res" */
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_resv2)
	{ .s = { .opcode = CPORT_OP_NOP, EF, .ef_bit = 9, .resv2 = 1 },
	  .expect = -EINVAL, .after = 2 | BIT64(9) };
FIXTURE_VARIANT_ADD(bad_sqe, nop_event_flag_valid)
	{ .s = { .opcode = CPORT_OP_NOP, EF, .ef_bit = 9 }, .expect = 0,
	  .after = 2 | BIT64(9) };

TEST_F(bad_sqe, completes_with_res_and_sets_nothing)
{
	struct cport_sqe s = variant->s;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	s.user_data = 0xbad5;
	ASSERT_EQ(1, submit_n(&self->pt, &s, 1));
	NEXT(&self->pt, &c);
	EXPECT_EQ(0xbad5, c.user_data);
	EXPECT_EQ(variant->expect, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_TRUE(quiet_for(&self->pt, 10));
	if (variant->after != AFTER_ANY) {
		EXPECT_EQ(variant->after, flags_of(self->pt.fd, CPORT_LOCAL));
	} else {
		TH_LOG("flags after: %#llx",
		       (unsigned long long)flags_of(self->pt.fd, CPORT_LOCAL));
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/* ----------------------------------------------------------------- */
/* CPORT_OP_FLAG_WAIT */

TEST_F(ef, op_wait_completes_when_a_later_set_happens)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(7), 0, 0x70));
	EXPECT_TRUE(quiet_for(pt, 50));
	EXPECT_EQ(1, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(1, fdinfo(pt->fd, "reserved"));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 7));
	NEXT(pt, &c);
	EXPECT_EQ(0x70, c.user_data);
	EXPECT_EQ(7, c.res);
	EXPECT_EQ(0, c.flags);
	/* not consuming */
	EXPECT_EQ(BIT64(7), flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_TRUE(quiet_for(pt, 10));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_F(ef, op_wait_satisfied_at_submission_res_is_lowest_flag)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 9));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 4));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 2));
	EXPECT_EQ(4, run_one(_metadata, pt,
			     sqe_flag_wait(CPORT_LOCAL,
					   BIT64(4) | BIT64(9) | BIT64(12),
					   0, 1)));
	EXPECT_EQ(BIT64(2) | BIT64(4) | BIT64(9),
		  flags_of(pt->fd, CPORT_LOCAL));
}

TEST_F(ef, op_wait_all_res_is_lowest_flag_of_mask)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 3));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(3) | BIT64(40),
				 CPORT_FLAG_WAIT_ALL, 0x71));
	EXPECT_TRUE(quiet_for(pt, 30));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 40));
	NEXT(pt, &c);
	EXPECT_EQ(0x71, c.user_data);
	EXPECT_EQ(3, c.res);
}

TEST_F(ef, op_wait_consume_clears_what_satisfied_it)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 6));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 30));
	EXPECT_EQ(5, run_one(_metadata, pt,
			     sqe_flag_wait(CPORT_LOCAL,
					   BIT64(5) | BIT64(6) | BIT64(7),
					   CPORT_FLAG_WAIT_CONSUME, 1)));
	EXPECT_EQ(BIT64(30), flags_of(pt->fd, CPORT_LOCAL));
}

TEST_F(ef, op_wait_all_consume_clears_the_mask)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 8));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 30));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(8) | BIT64(9),
				 CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME,
				 0x72));
	EXPECT_TRUE(quiet_for(pt, 30));
	EXPECT_EQ(BIT64(8) | BIT64(30), flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 9));
	NEXT(pt, &c);
	EXPECT_EQ(0x72, c.user_data);
	EXPECT_EQ(8, c.res);
	EXPECT_EQ(BIT64(30), flags_of(pt->fd, CPORT_LOCAL));
}

/* The wait, then the set that releases it, in one ENTER. */
TEST_F(ef, op_wait_released_by_a_set_op_of_the_same_enter)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2] = {
		sqe_flag_wait(CPORT_LOCAL, BIT64(6), CPORT_FLAG_WAIT_CONSUME,
			      0x61),
		sqe_flag(CPORT_OP_FLAG_SET, CPORT_LOCAL, 6, 0x62),
	};
	struct cport_cqe c[2];
	int i, got = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(pt, s, 2));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	for (i = 0; i < 2; i++) {
		if (c[i].user_data == 0x61) {
			EXPECT_EQ(6, c[i].res);
			got |= 1;
		} else {
			EXPECT_EQ(0x62, c[i].user_data);
			EXPECT_EQ(0, c[i].res);
			got |= 2;
		}
	}
	EXPECT_EQ(3, got);
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
}

TEST_F(ef, op_waits_consuming_oldest_takes_the_set)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(5),
				 CPORT_FLAG_WAIT_CONSUME, 0xa));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(5),
				 CPORT_FLAG_WAIT_CONSUME, 0xb));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	NEXT(pt, &c);
	EXPECT_EQ(0xa, c.user_data);
	EXPECT_EQ(5, c.res);
	EXPECT_TRUE(quiet_for(pt, 50)) TH_LOG("one set taken twice");
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	NEXT(pt, &c);
	EXPECT_EQ(0xb, c.user_data);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
}

/* An ioctl waiter and an op wait compete in start order as well. */
TEST_F(ef, op_wait_and_ioctl_waiter_oldest_takes_the_set)
{
	struct port *pt = &self->pt;
	struct flag_waiter w;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_waiter_start(&w, pt->fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(5),
				 CPORT_FLAG_WAIT_CONSUME, 0xb));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	ASSERT_TRUE(flag_waiter_done(&w, 10000));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(5), w.result);
	EXPECT_TRUE(quiet_for(pt, 50));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	NEXT(pt, &c);
	EXPECT_EQ(0xb, c.user_data);
	EXPECT_EQ(5, c.res);
	pthread_join(w.thr, NULL);
}

TEST_F(ef, op_waits_consuming_older_nonconsuming_newer_both_complete)
{
	struct port *pt = &self->pt;
	struct cport_cqe c[2];
	int i, seen = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(5),
				 CPORT_FLAG_WAIT_CONSUME, 1));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(5), 0, 2));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	NEXT(pt, &c[0]);
	ASSERT_EQ(0, cq_wait(pt, &c[1], 2 * NSEC_PER_SEC))
		TH_LOG("non-consuming FLAG_WAIT not released by the set");
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(5, c[i].res);
		seen |= 1 << c[i].user_data;
	}
	EXPECT_EQ(6, seen);
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
}

/* A NOP's event flag releases a FLAG_WAIT of the same ENTER: NOP first. */
TEST_F(ef, op_wait_released_by_the_event_flag_of_a_nop)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2] = {
		sqe_flag_wait(CPORT_LOCAL, BIT64(7), 0, 1),
		sqe_ef(sqe_nop(2), CPORT_LOCAL, 7),
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(pt, s, 2));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(0, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(7, c[1].res);
}

TEST_F(ef, op_waits_nonconsuming_all_complete)
{
	struct port *pt = &self->pt;
	struct cport_cqe c[3];
	int i, seen = 0;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(20 + i) | BIT64(5),
					 0, i));
	EXPECT_TRUE(quiet_for(pt, 30));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 5));
	ASSERT_EQ(3, reap_n(pt, c, 3));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(5, c[i].res);
		ASSERT_GT(3, c[i].user_data);
		seen |= 1 << c[i].user_data;
	}
	EXPECT_EQ(7, seen);
	EXPECT_EQ(BIT64(5), flags_of(pt->fd, CPORT_LOCAL));
}

TEST_F(ef, op_wait_cancel_by_user_data_ecanceled)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(1), 0, 0x51));
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(2), 0, 0x52));
	SUBMIT(pt, sqe_cancel(0x51, 0, 0x53));
	NEXT(pt, &c);
	EXPECT_EQ(0x51, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	NEXT(pt, &c);
	EXPECT_EQ(0x53, c.user_data);
	EXPECT_EQ(0, c.res);
	/* the other wait is still there; the cancelled one sets nothing */
	EXPECT_EQ(1, fdinfo(pt->fd, "inflight"));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 2));
	NEXT(pt, &c);
	EXPECT_EQ(0x52, c.user_data);
	EXPECT_EQ(2, c.res);
	EXPECT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 1));
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
}

TEST_F(ef, op_wait_cancel_any_all)
{
	struct port *pt = &self->pt;
	struct cport_cqe c[4];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(i), 0, i));
	SUBMIT(pt, sqe_cancel(0, CPORT_CANCEL_ANY | CPORT_CANCEL_ALL, 0x99));
	ASSERT_EQ(4, reap_n(pt, c, 4));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ECANCELED, c[i].res);
	EXPECT_EQ(0x99, c[3].user_data);
	EXPECT_EQ(3, c[3].res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

TEST_F(ef, op_wait_ended_by_linked_timeout)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2] = {
		sqe_flag_wait(CPORT_LOCAL, BIT64(1), 0, 0x41),
		{ .opcode = CPORT_OP_LINK_TIMEOUT, .off = 20 * MS,
		  .user_data = 0x42 },
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	s[0].flags = CPORT_SQE_F_LINK;
	ASSERT_EQ(2, submit_n(pt, s, 2));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	EXPECT_EQ(0x42, c[0].user_data);
	EXPECT_EQ(-ETIME, c[0].res);
	EXPECT_EQ(0x41, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

/* A chain: the NOP starts once the flag wait completed. */
TEST_F(ef, op_wait_heads_a_chain)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2] = {
		sqe_flag_wait(CPORT_LOCAL, BIT64(1), 0, 0x41),
		sqe_nop(0x42),
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	s[0].flags = CPORT_SQE_F_LINK;
	ASSERT_EQ(2, submit_n(pt, s, 2));
	EXPECT_TRUE(quiet_for(pt, 30));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 1));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	EXPECT_EQ(0x41, c[0].user_data);
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(0x42, c[1].user_data);
	EXPECT_EQ(0, c[1].res);
}

TEST_F(ef, op_wait_pending_at_close)
{
	struct port other;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&other, 8, 0, 0));
	for (i = 0; i < 4; i++) {
		struct cport_sqe s = sqe_flag_wait(CPORT_LOCAL, BIT64(i),
						   i & 1 ?
						   CPORT_FLAG_WAIT_CONSUME : 0,
						   i);

		ASSERT_EQ(1, submit_n(&other, &s, 1));
	}
	EXPECT_EQ(4, fdinfo(other.fd, "inflight"));
	port_fini(&other);
	/* and a port whose last fd goes while a timer is about to set */
	ASSERT_EQ(0, port_init(&other, 8, 0, 0));
	{
		struct cport_sqe s[2] = {
			sqe_flag_wait(CPORT_LOCAL, BIT64(3), 0, 1),
			sqe_ef(sqe_timeout(MS, 0, 0, 0, 2), CPORT_LOCAL, 3),
		};

		ASSERT_EQ(2, submit_n(&other, s, 2));
	}
	port_fini(&other);
	/* the module is still fine */
	EXPECT_EQ(0, run_one(_metadata, &self->pt, sqe_nop(1)));
}

/* A timer sets the flag from its hrtimer callback; the wait's CQE follows. */
TEST_F(ef, op_wait_released_by_a_timer_from_irq)
{
	struct port *pt = &self->pt;
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_flag_wait(CPORT_LOCAL, BIT64(8), 0, 0x81));
	SUBMIT(pt, sqe_ef(sqe_timeout(20 * MS, 0, 0, 0, 0x82), CPORT_LOCAL, 8));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	/* the flag is set after the timer's CQE is in the ring */
	EXPECT_EQ(0x82, c[0].user_data);
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(0x81, c[1].user_data);
	EXPECT_EQ(8, c[1].res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

/* ----------------------------------------------------------------- */
/* CPORT_SQE_F_EVENT_FLAG */

TEST_F(ef, event_flag_of_a_nop_set_with_its_cqe)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_ef(sqe_nop(0x11), CPORT_LOCAL, 13);
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, submit_n(pt, &s, 1));
	EXPECT_EQ(BIT64(13), flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x11, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, c.flags);
}

TEST_F(ef, event_flag_cleared_when_the_sqe_is_consumed)
{
	struct port *pt = &self->pt;
	struct cport_flag_page *pg;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(pt->fd);
	ASSERT_NE(NULL, pg);
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 10));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 11));
	SUBMIT(pt, sqe_ef(sqe_timeout(200 * MS, 0, 0, 0, 0x12),
			  CPORT_LOCAL, 10));
	/* stale flag cleared at once, the other untouched */
	EXPECT_EQ(BIT64(11), flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(BIT64(11), flag_page_local(pg));
	NEXT(pt, &c);
	EXPECT_EQ(0x12, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(10),
			       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
	EXPECT_EQ(BIT64(10) | BIT64(11), flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(BIT64(10) | BIT64(11), flag_page_local(pg));
	flag_page_unmap(pg);
}

TEST_F(ef, event_flag_set_whatever_the_res)
{
	struct port *pt = &self->pt;
	struct cport_sqe bad = sqe_ef(sqe_nop(0x13), CPORT_LOCAL, 14);

	CPORT_SKIP_IF_ABSENT();
	/* a NOP with a bad field: -EINVAL, the flag is set all the same */
	bad.addr = 1;
	EXPECT_EQ(-EINVAL, run_one(_metadata, pt, bad));
	EXPECT_EQ(BIT64(14), flags_of(pt->fd, CPORT_LOCAL));
	/* a POST to a bad fd */
	EXPECT_EQ(-EBADF, run_one(_metadata, pt,
				  sqe_ef(sqe_post(-1, 0, 0, 0x14),
					 CPORT_LOCAL, 15)));
	EXPECT_EQ(BIT64(14) | BIT64(15), flags_of(pt->fd, CPORT_LOCAL));
}

TEST_F(ef, event_flag_set_after_a_cancelled_timer)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_ef(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 0x15),
			  CPORT_LOCAL, 16));
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	SUBMIT(pt, sqe_timeout_remove(0x15, 0x16));
	NEXT(pt, &c);
	EXPECT_EQ(0x15, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	NEXT(pt, &c);
	EXPECT_EQ(0x16, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(BIT64(16), flags_of(pt->fd, CPORT_LOCAL));
}

/* Every member of a chain: cleared at submission, set after its CQE. */
TEST_F(ef, event_flags_of_chain_members)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[3] = {
		sqe_ef(sqe_timeout(30 * MS, 0, 0, 0, 1), CPORT_LOCAL, 1),
		sqe_ef(sqe_nop(2), CPORT_LOCAL, 2),
		sqe_ef(sqe_nop(3), CPORT_LOCAL, 3),
	};
	struct cport_cqe c[3];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, i));
	s[0].flags |= CPORT_SQE_F_LINK;
	s[1].flags |= CPORT_SQE_F_LINK;
	ASSERT_EQ(3, submit_n(pt, s, 3));
	/* the members that did not start are consumed all the same */
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, 0xe,
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT,
			       WAIT_NS, NULL));
	ASSERT_EQ(3, cq_ready(pt));
	ASSERT_EQ(3, reap_n(pt, c, 3));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i + 1, c[i].user_data);
}

TEST_F(ef, event_flags_of_a_broken_chain)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[3] = {
		sqe_ef(sqe_nop(1), CPORT_LOCAL, 1),
		sqe_ef(sqe_nop(2), CPORT_LOCAL, 2),
		sqe_ef(sqe_nop(3), CPORT_LOCAL, 3),
	};
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	s[0].addr = 1;		/* -EINVAL: breaks the chain */
	s[0].flags |= CPORT_SQE_F_LINK;
	s[1].flags |= CPORT_SQE_F_LINK;
	ASSERT_EQ(3, submit_n(pt, s, 3));
	ASSERT_EQ(3, reap_n(pt, c, 3));
	EXPECT_EQ(-EINVAL, c[0].res);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(-ECANCELED, c[2].res);
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, 0xe,
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT,
			       WAIT_NS, NULL));
}

TEST_F(ef, event_flag_of_a_drained_sqe)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 4));
	s[0] = sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT, 1);
	s[1] = sqe_ef(sqe_nop(2), CPORT_LOCAL, 4);
	s[1].flags |= CPORT_SQE_F_DRAIN;
	ASSERT_EQ(2, submit_n(pt, s, 2));
	/* deferred, but consumed: cleared */
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	EXPECT_TRUE(quiet_for(pt, 30));
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_EQ(1, write(p[1], "a", 1));
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(4),
			       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
	ASSERT_EQ(2, cq_ready(pt));
	ASSERT_EQ(2, reap_n(pt, c, 2));
	EXPECT_EQ(1, c[0].res);
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(0, c[1].res);
	close(p[0]);
	close(p[1]);
}

/*
 * "Any SQE but CPORT_OP_FLAG_WAIT may name a flag": a LINK_TIMEOUT too.
 * It fires, cancels the read, and both flags are set.
 */
TEST_F(ef, event_flags_of_a_read_and_its_linked_timeout)
{
	struct port *pt = &self->pt;
	struct cport_sqe s[2];
	struct cport_cqe c;
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = sqe_ef(sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT,
			     1), CPORT_LOCAL, 5);
	s[0].flags |= CPORT_SQE_F_LINK;
	s[1] = sqe_nop(2);
	s[1].opcode = CPORT_OP_LINK_TIMEOUT;
	s[1].off = 20 * MS;
	s[1] = sqe_ef(s[1], CPORT_LOCAL, 6);
	ASSERT_EQ(2, submit_n(pt, s, 2));
	NEXT(pt, &c);
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-ETIME, c.res);
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(5) | BIT64(6),
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT,
			       2 * NSEC_PER_SEC, NULL));
	if (c.user_data == 2 && c.res != -ETIME) {
		/* the read runs unbounded: end it */
		ASSERT_EQ(1, write(p[1], "c", 1));
	}
	NEXT(pt, &c);
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	EXPECT_EQ(BIT64(5) | BIT64(6), flags_of(pt->fd, CPORT_LOCAL));
	close(p[0]);
	close(p[1]);
}

/* A read that waits for readiness: set when the data comes. */
TEST_F(ef, event_flag_of_a_pipe_read)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	SUBMIT(pt, sqe_ef(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				 CPORT_POS_CURRENT, 1), CPORT_LOCAL, 7));
	EXPECT_TRUE(quiet_for(pt, 30));
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_EQ(1, write(p[1], "b", 1));
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(7),
			       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
	ASSERT_EQ(1, cq_ready(pt));
	NEXT(pt, &c);
	EXPECT_EQ(1, c.res);
	/* and a cancelled one */
	SUBMIT(pt, sqe_ef(sqe_rw(CPORT_OP_READ, p[0], buf, 1,
				 CPORT_POS_CURRENT, 2), CPORT_LOCAL, 7));
	EXPECT_EQ(0, flags_of(pt->fd, CPORT_LOCAL));
	SUBMIT(pt, sqe_cancel(2, 0, 3));
	NEXT(pt, &c);
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	NEXT(pt, &c);
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(BIT64(7), flags_of(pt->fd, CPORT_LOCAL));
	close(p[0]);
	close(p[1]);
}

/* An SQE that is not consumed (the CQ is full) does not clear its flag. */
TEST_F(ef, event_flag_untouched_when_the_sqe_is_not_consumed)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_ef(sqe_nop(0x44), CPORT_LOCAL, 4);
	struct cport_cqe c;
	int n = 0;

	CPORT_SKIP_IF_ABSENT();
	while (sys_post(pt->fd, 0x1000 + n, 0) == 0)
		n++;
	ASSERT_EQ(pt->p.cq_entries, n);
	ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, 4));
	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(BIT64(4), flags_of(pt->fd, CPORT_LOCAL));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(BIT64(4), flags_of(pt->fd, CPORT_LOCAL));
}

/*
 * The flag is set right after the op's CQE is in the ring: whoever sees
 * the flag (here a spin on the flag page while a timer fires from its
 * hrtimer callback) finds the CQE.
 */
TEST_F_TIMEOUT(ef, event_flag_seen_set_means_cqe_in_ring, 60)
{
	struct port *pt = &self->pt;
	int i, n = 20 * stress_factor();
	struct cport_flag_page *pg;

	CPORT_SKIP_IF_ABSENT();
	pg = flag_page_map(pt->fd);
	ASSERT_NE(NULL, pg);
	for (i = 0; i < n; i++) {
		__u64 deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
		struct cport_cqe c;

		SUBMIT(pt, sqe_ef(sqe_timeout((i % 4) * MS / 2, 0, 0, 0, i),
				  CPORT_LOCAL, 17));
		while (!(flag_page_local(pg) & BIT64(17))) {
			ASSERT_GT(deadline, now_ns(CLOCK_MONOTONIC));
		}
		ASSERT_EQ(1, cq_ready(pt)) TH_LOG("round %d", i);
		ASSERT_TRUE(cq_pop(pt, &c));
		EXPECT_EQ(i, c.user_data);
		EXPECT_EQ(1, c.res);
	}
	flag_page_unmap(pg);
}

/* "Wait until these five ops are done": five flags, one wait-all. */
TEST_F(ef, five_timers_five_flags_one_wait_all)
{
	struct port *pt = &self->pt;
	__u64 start = now_ns(CLOCK_MONOTONIC), result = 0;
	struct cport_cqe c[5];
	int i, seen = 0;

	CPORT_SKIP_IF_ABSENT();
	/* stale flags from before must not satisfy the wait */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, i));
	for (i = 0; i < 5; i++)
		SUBMIT(pt, sqe_ef(sqe_timeout((50 - 10 * i) * MS, 0, 0, 0, i),
				  CPORT_LOCAL, i));
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, 0x1f,
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_TIMEOUT,
			       WAIT_NS, &result));
	EXPECT_EQ(0x1f, result);
	EXPECT_LE(start + 50 * MS, now_ns(CLOCK_MONOTONIC));
	/* all five CQEs are in the ring */
	ASSERT_EQ(5, cq_ready(pt));
	ASSERT_EQ(5, reap_n(pt, c, 5));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(1, c[i].res);
		ASSERT_GT(5, c[i].user_data);
		seen |= 1 << c[i].user_data;
	}
	EXPECT_EQ(0x1f, seen);
}

/* The same in one ENTER: submit five, wait for their five flags. */
TEST_F(ef, enter_submits_five_and_waits_for_their_flags)
{
	struct port *pt = &self->pt;
	__u64 start = now_ns(CLOCK_MONOTONIC);
	struct cport_enter e = enter_ef(5, 0, CPORT_ENTER_FLAGS_ALL |
					CPORT_ENTER_TIMEOUT, WAIT_NS,
					CPORT_LOCAL, 0x1f);
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, flag_set(pt->fd, CPORT_LOCAL, i));
	for (i = 0; i < 5; i++) {
		struct cport_sqe s = sqe_ef(sqe_timeout((10 + 10 * i) * MS, 0,
							0, 0, i),
					    CPORT_LOCAL, i);

		ASSERT_EQ(0, sq_push(pt, &s));
	}
	EXPECT_EQ(5, sys_enter_raw(pt->fd, &e));
	EXPECT_EQ(0x1f, e.ef_result);
	EXPECT_LE(start + 50 * MS, now_ns(CLOCK_MONOTONIC));
	EXPECT_EQ(5, cq_ready(pt));
}

TEST_F(ef, multishot_timer_sets_its_flag_at_every_shot)
{
	struct port *pt = &self->pt;
	int wakes = 0, sum = 0, more = 0, reaped = 0;
	bool terminal = false;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_ef(sqe_timeout(3 * MS, CPORT_TIMEOUT_MULTISHOT, 4, 0,
				      0x31), CPORT_LOCAL, 6));
	while (!terminal) {
		ASSERT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(6),
				       CPORT_FLAG_WAIT_CONSUME |
				       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
		wakes++;
		/*
		 * Each set follows its shot's CQE (a 64-entry CQ coalesces
		 * nothing), and each wake-up consumed at least one set.
		 */
		ASSERT_LE(wakes, reaped + (int)cq_ready(pt))
			TH_LOG("flag set before its CQE");
		while (cq_pop(pt, &c)) {
			reaped++;
			ASSERT_EQ(0x31, c.user_data);
			ASSERT_LE(1, c.res);
			sum += c.res;
			if (c.flags & CPORT_CQE_F_MORE)
				more++;
			else
				terminal = true;
		}
	}
	EXPECT_EQ(4, sum);
	EXPECT_GE(4, wakes);
	EXPECT_TRUE(quiet_for(pt, 20));
	TH_LOG("%d wake-ups, %d shot CQEs", wakes, more + 1);
}

/*
 * Shots whose CQE is coalesced set the flag too: a 2-entry CQ holds the
 * first shot and the terminal CQE's reserved slot, nobody reaps, and the
 * flag keeps being set by the later shots.
 */
TEST(multishot_timer_sets_its_flag_when_its_cqe_is_coalesced)
{
	struct port pt;
	int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&pt, 1, 2, 0));
	SUBMIT(&pt, sqe_ef(sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT, 0, 0,
				       0x35), CPORT_LOCAL, 5));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, flag_wait(pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME |
				       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL))
			TH_LOG("wake-up %d", i);
	}
	EXPECT_EQ(1, cq_ready(&pt));
	EXPECT_LE(1, load_acquire(pt.cq_overflow));
	/* the release cancels the timer */
	port_fini(&pt);
}

/* FLAG_ONLY: shots set the flag and post nothing; only the terminal CQE. */
TEST_F(ef, flag_only_timer_posts_only_its_terminal_cqe)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int wakes = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_ef(sqe_timeout(3 * MS, CPORT_TIMEOUT_MULTISHOT |
				      CPORT_TIMEOUT_FLAG_ONLY, 5, 0, 0x32),
			  CPORT_LOCAL, 7));
	while (!cq_ready(pt)) {
		ASSERT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(7),
				       CPORT_FLAG_WAIT_CONSUME |
				       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
		wakes++;
		ASSERT_GE(5, wakes);
	}
	NEXT(pt, &c);
	EXPECT_EQ(0x32, c.user_data);
	EXPECT_EQ(0, c.flags);
	/* res: the expirations since the start */
	EXPECT_EQ(5, c.res);
	EXPECT_TRUE(quiet_for(pt, 30));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
	EXPECT_EQ(0, fdinfo(pt->fd, "overflow"));
	TH_LOG("terminal res %d after %d wake-ups", c.res, wakes);
}

TEST_F(ef, flag_only_timer_until_removed)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(pt, sqe_ef(sqe_timeout(2 * MS, CPORT_TIMEOUT_MULTISHOT |
				      CPORT_TIMEOUT_FLAG_ONLY, 0, 0, 0x33),
			  CPORT_LOCAL, 8));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(8),
				       CPORT_FLAG_WAIT_CONSUME |
				       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
		ASSERT_EQ(0, cq_ready(pt)) TH_LOG("a CQE for a flag-only shot");
	}
	SUBMIT(pt, sqe_timeout_remove(0x33, 0x34));
	NEXT(pt, &c);
	EXPECT_EQ(0x33, c.user_data);
	/* Removed: -ECANCELED, as any timer (CPORT_OP_TIMEOUT). */
	EXPECT_EQ(-ECANCELED, c.res);
	EXPECT_EQ(0, c.flags);
	NEXT(pt, &c);
	EXPECT_EQ(0x34, c.user_data);
	EXPECT_EQ(0, c.res);
	/* set after the terminal CQE */
	EXPECT_EQ(0, flag_wait(pt->fd, CPORT_LOCAL, BIT64(8),
			       CPORT_FLAG_WAIT_CONSUME |
			       CPORT_FLAG_WAIT_TIMEOUT, WAIT_NS, NULL));
	EXPECT_TRUE(quiet_for(pt, 20));
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
}

/* FLAG_ONLY without MULTISHOT or without an event flag: -EINVAL. */
TEST_F(ef, flag_only_without_multishot_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_ef(sqe_timeout(MS,
						      CPORT_TIMEOUT_FLAG_ONLY,
						      0, 0, 1),
					  CPORT_LOCAL, 1)));
}

TEST_F(ef, flag_only_without_event_flag_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_timeout(MS, CPORT_TIMEOUT_MULTISHOT |
					       CPORT_TIMEOUT_FLAG_ONLY, 2, 0,
					       1)));
}

/* ----------------------------------------------------------------- */
/* the composite wait: CPORT_IOC_ENTER with CPORT_ENTER_FLAGS */

TEST_F(ef, enter_flags_ended_by_a_set)
{
	struct cport_enter e = enter_ef(0, 1, 0, 0, CPORT_LOCAL,
					BIT64(3) | BIT64(4));
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	actor_start(_metadata, &a, self->pt.fd, ACT_SET, 4);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(BIT64(4), e.ef_result);
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(BIT64(4), flags_of(self->pt.fd, CPORT_LOCAL));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

TEST_F(ef, enter_flags_already_set_returns_at_once)
{
	struct cport_enter e = enter_ef(0, 1, 0, 0, CPORT_LOCAL, BIT64(9));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 9));
	EXPECT_EQ(0, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(9), e.ef_result);
}

TEST_F(ef, enter_flags_ended_by_cqes_ef_result_zero)
{
	struct cport_enter e = enter_ef(0, 1, 0, 0, CPORT_LOCAL, BIT64(3));
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	actor_start(_metadata, &a, self->pt.fd, ACT_POST, 0);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, e.ef_result);
	EXPECT_EQ(1, cq_ready(&self->pt));
}

TEST_F(ef, enter_flags_min_complete_0_cqes_do_not_end_it)
{
	struct cport_enter e = enter_ef(0, 0, CPORT_ENTER_TIMEOUT, 30 * MS,
					CPORT_LOCAL, BIT64(3));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_EQ(-ETIME, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(0, e.ef_result);
}

TEST_F(ef, enter_flags_timeout_etime)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 30 * MS,
					CPORT_LOCAL, BIT64(3));
	__u64 start = now_ns(CLOCK_MONOTONIC);

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ETIME, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(0, e.ef_result);
	EXPECT_LE(start + 30 * MS, now_ns(CLOCK_MONOTONIC));
	e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 0, CPORT_LOCAL, BIT64(3));
	EXPECT_EQ(-ETIME, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(0, e.ef_result);
}

TEST_F(ef, enter_flags_timeout_zero_satisfied)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 0,
					CPORT_LOCAL, BIT64(3));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	EXPECT_EQ(0, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(3), e.ef_result);
}

TEST_F(ef, enter_flags_consume_any)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_FLAGS_CONSUME, 0,
					CPORT_LOCAL,
					BIT64(1) | BIT64(2) | BIT64(3));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 30));
	EXPECT_EQ(0, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(1) | BIT64(2), e.ef_result);
	EXPECT_EQ(BIT64(30), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, enter_flags_all)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_FLAGS_ALL |
					CPORT_ENTER_TIMEOUT, 20 * MS,
					CPORT_LOCAL, BIT64(1) | BIT64(2));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	EXPECT_EQ(-ETIME, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(0, e.ef_result);
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 2));
	e.ef_result = 0;
	EXPECT_EQ(0, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(1) | BIT64(2), e.ef_result);
	EXPECT_EQ(BIT64(1) | BIT64(2), flags_of(self->pt.fd, CPORT_LOCAL));
}

TEST_F(ef, enter_flags_all_consume_woken_by_set)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_FLAGS_ALL |
					CPORT_ENTER_FLAGS_CONSUME, 0,
					CPORT_LOCAL, BIT64(1) | BIT64(2));
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 7));
	actor_start(_metadata, &a, self->pt.fd, ACT_SET, 2);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(BIT64(1) | BIT64(2), e.ef_result);
	EXPECT_EQ(BIT64(7), flags_of(self->pt.fd, CPORT_LOCAL));
}

/* A consuming waiter that leaves because of CQEs consumes nothing. */
TEST_F(ef, enter_flags_consume_ended_by_cqes_consumes_nothing)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_FLAGS_ALL |
					CPORT_ENTER_FLAGS_CONSUME, 0,
					CPORT_LOCAL, BIT64(1) | BIT64(2));
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	actor_start(_metadata, &a, self->pt.fd, ACT_POST, 0);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, e.ef_result);
	EXPECT_EQ(1, cq_ready(&self->pt));
	EXPECT_EQ(BIT64(1), flags_of(self->pt.fd, CPORT_LOCAL));
}

/* Submit and wait: the return value is still the number consumed. */
TEST_F(ef, enter_flags_submit_returns_consumed_count)
{
	struct cport_enter e = enter_ef(1, 0, CPORT_ENTER_TIMEOUT, WAIT_NS,
					CPORT_LOCAL, BIT64(5));
	struct cport_sqe s = sqe_ef(sqe_nop(0x21), CPORT_LOCAL, 5);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	EXPECT_EQ(1, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(5), e.ef_result);
	EXPECT_EQ(1, cq_ready(&self->pt));
}

TEST_F(ef, enter_flags_signal_eintr)
{
	struct cport_enter e = enter_ef(0, 1, 0, 0, CPORT_LOCAL, BIT64(30));
	struct actor a;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	catch_sigusr1(_metadata);
	actor_start(_metadata, &a, self->pt.fd, ACT_SIGNAL, 30);
	ret = sys_enter_raw(self->pt.fd, &e);
	actor_join(_metadata, &a);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(0, e.ef_result);
	EXPECT_EQ(1, got_signal);
}

/* A thread in a composite ENTER. */
struct ef_enterer {
	pthread_t thr;
	int fd;
	struct cport_enter e;
	volatile pid_t tid;
	volatile int ret;
	volatile int returned;
};

static void *ef_enterer_fn(void *arg)
{
	struct ef_enterer *w = arg;

	w->tid = sys_gettid();
	w->ret = sys_enter_raw(w->fd, &w->e);
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start it and wait until it sleeps in the ioctl: 0 or -1. */
static int ef_enterer_start(struct ef_enterer *w, int fd,
			    struct cport_enter e)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->e = e;
	if (pthread_create(&w->thr, NULL, ef_enterer_fn, w))
		return -1;
	for (i = 0; i < 10000 && !w->tid; i++)
		usleep(1000);
	return w->tid && task_sleeps_in(w->tid, SYS_ioctl, 10000) ? 0 : -1;
}

static bool ef_enterer_done(struct ef_enterer *w, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms; i++) {
		if (__atomic_load_n(&w->returned, __ATOMIC_ACQUIRE))
			return true;
		usleep(1000);
	}
	return __atomic_load_n(&w->returned, __ATOMIC_ACQUIRE);
}

/*
 * A composite waiter whose CQ condition is off (min_complete 0) is the
 * newest waiter when a CQE comes: the CQE must still wake the older ENTER
 * waiter, whose min_complete it meets.
 */
TEST_F(ef, composite_waiter_without_cq_condition_strands_no_cqe)
{
	struct enter_waiter old;
	struct ef_enterer w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, enter_waiter_start(&old, self->pt.fd, 10 * NSEC_PER_SEC));
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 1, 10000));
	ASSERT_EQ(0, ef_enterer_start(&w, self->pt.fd,
				      enter_ef(0, 0, CPORT_ENTER_TIMEOUT,
					       15 * NSEC_PER_SEC, CPORT_LOCAL,
					       BIT64(5))));
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 0));
	pthread_join(old.thr, NULL);
	EXPECT_EQ(0, old.ret) TH_LOG("the CQE's wake-up was lost");
	EXPECT_FALSE(ef_enterer_done(&w, 100));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(5), w.e.ef_result);
}

/* LIFO holds with composite waiters: the newest whose min_complete is met. */
TEST_F(ef, composite_waiter_newest_takes_the_cqe)
{
	struct enter_waiter old;
	struct ef_enterer w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, enter_waiter_start(&old, self->pt.fd, 20 * NSEC_PER_SEC));
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 1, 10000));
	ASSERT_EQ(0, ef_enterer_start(&w, self->pt.fd,
				      enter_ef(0, 1, CPORT_ENTER_TIMEOUT,
					       20 * NSEC_PER_SEC, CPORT_LOCAL,
					       BIT64(5))));
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 0));
	ASSERT_TRUE(ef_enterer_done(&w, 10000));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, w.e.ef_result);
	EXPECT_FALSE(old.returned);
	pthread_join(w.thr, NULL);
	/* one more CQE for the older one */
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 0));
	pthread_join(old.thr, NULL);
	EXPECT_EQ(0, old.ret);
}

/* A consuming composite waiter and a consuming ioctl waiter: oldest first. */
TEST_F(ef, composite_and_ioctl_consumers_oldest_first)
{
	struct flag_waiter fw;
	struct ef_enterer w;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, ef_enterer_start(&w, self->pt.fd,
				      enter_ef(0, 1, CPORT_ENTER_FLAGS_CONSUME |
					       CPORT_ENTER_TIMEOUT,
					       20 * NSEC_PER_SEC, CPORT_LOCAL,
					       BIT64(5))));
	ASSERT_EQ(0, flag_waiter_start(&fw, self->pt.fd, CPORT_LOCAL, BIT64(5),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	ASSERT_TRUE(ef_enterer_done(&w, 10000));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(5), w.e.ef_result);
	EXPECT_FALSE(flag_waiter_done(&fw, 100));
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 5));
	pthread_join(w.thr, NULL);
	pthread_join(fw.thr, NULL);
	EXPECT_EQ(0, fw.ret);
	EXPECT_EQ(BIT64(5), fw.result);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

/* Bad composite waits. Flag 1 is set: one wrongly accepted returns 0. */
PORT_FIXTURE(bad_enter, 4, 0)

FIXTURE_VARIANT(bad_enter) {
	__u32 flags, ef_cluster;
	__u64 ef_mask, ef_result;
};

#define WITH_FLAGS	(CPORT_ENTER_FLAGS | CPORT_ENTER_TIMEOUT)

FIXTURE_VARIANT_ADD(bad_enter, all_without_flags)
	{ .flags = CPORT_ENTER_FLAGS_ALL | CPORT_ENTER_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_enter, consume_without_flags)
	{ .flags = CPORT_ENTER_FLAGS_CONSUME | CPORT_ENTER_TIMEOUT };
FIXTURE_VARIANT_ADD(bad_enter, ef_cluster_without_flags)
	{ .flags = CPORT_ENTER_TIMEOUT, .ef_cluster = 1 };
FIXTURE_VARIANT_ADD(bad_enter, ef_mask_without_flags)
	{ .flags = CPORT_ENTER_TIMEOUT, .ef_mask = 2 };
FIXTURE_VARIANT_ADD(bad_enter, ef_result_without_flags)
	{ .flags = CPORT_ENTER_TIMEOUT, .ef_result = 2 };
FIXTURE_VARIANT_ADD(bad_enter, ef_mask_0) { .flags = WITH_FLAGS };
FIXTURE_VARIANT_ADD(bad_enter, ef_mask_0_all)
	{ .flags = WITH_FLAGS | CPORT_ENTER_FLAGS_ALL };
FIXTURE_VARIANT_ADD(bad_enter, ef_result_nonzero)
	{ .flags = WITH_FLAGS, .ef_mask = 2, .ef_result = 2 };
FIXTURE_VARIANT_ADD(bad_enter, ef_cluster_not_associated)
	{ .flags = WITH_FLAGS, .ef_mask = 2, .ef_cluster = 1 };
FIXTURE_VARIANT_ADD(bad_enter, ef_cluster_33)
	{ .flags = WITH_FLAGS, .ef_mask = 2, .ef_cluster = 33 };
FIXTURE_VARIANT_ADD(bad_enter, unknown_flag_with_flags)
	{ .flags = WITH_FLAGS | (1U << 4), .ef_mask = 2 };

TEST_F(bad_enter, einval)
{
	struct cport_enter e = {
		.min_complete = 1, .flags = variant->flags,
		.ef_cluster = variant->ef_cluster, .ef_mask = variant->ef_mask,
		.ef_result = variant->ef_result,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 1));
	EXPECT_EQ(-EINVAL, sys_enter_raw(self->pt.fd, &e));
	EXPECT_EQ(BIT64(1), flags_of(self->pt.fd, CPORT_LOCAL));
}

/* A struct cport_enter @e in a read-only page. */
static struct cport_enter *read_only_enter(const struct cport_enter *e)
{
	return read_only_copy(e, sizeof(*e));
}

TEST_F(ef, enter_flags_ef_result_unwritable_efault)
{
	struct cport_enter e = enter_ef(0, 1, 0, 0, CPORT_LOCAL, BIT64(3)), *ro;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	ro = read_only_enter(&e);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

/* CPORT_IOC_ENTER_V1: the _IOW number of earlier releases. */
TEST_F(ef, enter_v1_submits_and_waits)
{
	struct cport_enter e = { .to_submit = 1, .min_complete = 1 };
	struct cport_sqe s = sqe_nop(0x31);
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	EXPECT_EQ(1, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, &e));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0x31, c.user_data);
	e.to_submit = 0;
	e.flags = CPORT_ENTER_TIMEOUT;
	e.timeout_ns = 10 * MS;
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, &e));
	EXPECT_EQ(ETIME, errno);
}

TEST_F(ef, enter_v1_rejects_flags_einval)
{
	struct cport_enter e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 0,
					CPORT_LOCAL, BIT64(3));

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, 3));
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, &e));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, e.ef_result);
	/* nor the flag fields without the flag */
	e.flags = CPORT_ENTER_TIMEOUT;
	EXPECT_EQ(-1, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, &e));
	EXPECT_EQ(EINVAL, errno);
}

/* _IOW: it never writes back, so a read-only argument is fine. */
TEST_F(ef, enter_v1_never_writes_back)
{
	struct cport_enter e = { .min_complete = 1 }, *ro;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	ro = read_only_enter(&e);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, ro));
	munmap(ro, 4096);
}

/* ----------------------------------------------------------------- */
/* race: setters, a clearer, consuming waiters (ioctl and ops) */

#define RACE_BITS	8
#define RACE_MASK	((1ULL << RACE_BITS) - 1)
#define STOP_BIT	63

struct race {
	struct port *pt;
	int iters;
	int stop;		/* atomic: the clearer and op consumer stop */
	long sets;		/* atomic: SETs that found the flag clear */
	long clears;		/* atomic: CLEARs that found it set */
	long consumed;		/* atomic: flags consumed by waiters */
	long consumed_ops;	/* atomic: flags consumed by FLAG_WAIT ops */
	int errors;		/* atomic */
	int lost;		/* atomic: waits that timed out */
};

struct race_thread {
	pthread_t thr;
	struct race *r;
	__u64 seed;
};

static void race_err(struct race *r)
{
	__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
}

static void *race_setter_fn(void *arg)
{
	struct race_thread *t = arg;
	struct race *r = t->r;
	long n = 0;
	int i, ret;

	for (i = 0; i < r->iters; i++) {
		ret = flag_set(r->pt->fd, CPORT_LOCAL,
			       xrand(&t->seed) % RACE_BITS);
		if (ret == 0)
			n++;
		else if (ret != 1)
			race_err(r);
		if (!(i & 15))
			sched_yield();
	}
	__atomic_add_fetch(&r->sets, n, __ATOMIC_RELAXED);
	return NULL;
}

static void *race_clearer_fn(void *arg)
{
	struct race_thread *t = arg;
	struct race *r = t->r;
	long n = 0;
	int ret;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		ret = flag_clear(r->pt->fd, CPORT_LOCAL,
				 xrand(&t->seed) % RACE_BITS);
		if (ret == 1)
			n++;
		else if (ret != 0)
			race_err(r);
		usleep(50);
	}
	__atomic_add_fetch(&r->clears, n, __ATOMIC_RELAXED);
	return NULL;
}

static void *race_waiter_fn(void *arg)
{
	struct race_thread *t = arg;
	struct race *r = t->r;
	long n = 0;

	for (;;) {
		__u64 got = 0;
		int ret = flag_wait(r->pt->fd, CPORT_LOCAL,
				    RACE_MASK | BIT64(STOP_BIT),
				    CPORT_FLAG_WAIT_CONSUME |
				    CPORT_FLAG_WAIT_TIMEOUT, FLAG_WAITER_NS,
				    &got);

		if (ret == -ETIME) {
			__atomic_add_fetch(&r->lost, 1, __ATOMIC_RELAXED);
			break;
		}
		if (ret || !got || (got & ~(RACE_MASK | BIT64(STOP_BIT)))) {
			race_err(r);
			break;
		}
		n += __builtin_popcountll(got & RACE_MASK);
		if (got & BIT64(STOP_BIT))
			break;
	}
	__atomic_add_fetch(&r->consumed, n, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * One FLAG_WAIT op per flag, one-flag masks, CONSUME: each CQE is exactly
 * one consumed flag; resubmitted until told to stop, then cancelled.
 */
static void *race_op_waiter_fn(void *arg)
{
	struct race_thread *t = arg;
	struct race *r = t->r;
	struct port *pt = r->pt;
	int i, ret, pending = RACE_BITS;
	bool cancel_sent = false;
	struct cport_sqe s;
	struct cport_cqe c;
	long n = 0;

	for (i = 0; i < RACE_BITS; i++) {
		s = sqe_flag_wait(CPORT_LOCAL, BIT64(i),
				  CPORT_FLAG_WAIT_CONSUME, i);
		if (submit_n(pt, &s, 1) != 1) {
			race_err(r);
			return NULL;
		}
	}
	for (;;) {
		if (!cancel_sent && __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
			s = sqe_cancel(0, CPORT_CANCEL_ANY | CPORT_CANCEL_ALL,
				       0xcc);
			if (submit_n(pt, &s, 1) != 1)
				race_err(r);
			cancel_sent = true;
			pending++;	/* the cancel's own CQE */
		}
		if (cancel_sent && !pending)
			break;
		ret = cq_wait(pt, &c, 10 * MS);
		if (ret == -ETIME)
			continue;
		if (ret) {
			race_err(r);
			break;
		}
		if (c.user_data == 0xcc || c.res == -ECANCELED) {
			pending--;
			continue;
		}
		if (c.user_data >= RACE_BITS || c.res != (int)c.user_data) {
			race_err(r);
			pending--;
			continue;
		}
		n++;
		if (cancel_sent) {
			pending--;
			continue;
		}
		s = sqe_flag_wait(CPORT_LOCAL, BIT64(c.user_data),
				  CPORT_FLAG_WAIT_CONSUME, c.user_data);
		if (submit_n(pt, &s, 1) != 1)
			race_err(r);
	}
	__atomic_add_fetch(&r->consumed_ops, n, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * Every SET that found its flag clear is matched by exactly one of: a
 * consumption by a waiter (thread or op), a CLEAR that found it set, or
 * the flag still set at the end. A double consumption breaks the sum, a
 * lost wake-up leaves a flag set that nobody takes (or a waiter timing
 * out).
 */
TEST_F_TIMEOUT(ef, race_sets_clears_and_consumers_each_set_once, 120)
{
	struct race_thread setters[2], clearer, waiters[2], opw;
	struct race r = { .pt = &self->pt, .iters = 2000 * stress_factor() };
	__u64 deadline, left;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		waiters[i] = (struct race_thread){ .r = &r };
		ASSERT_EQ(0, pthread_create(&waiters[i].thr, NULL,
					    race_waiter_fn, &waiters[i]));
	}
	opw = (struct race_thread){ .r = &r };
	ASSERT_EQ(0, pthread_create(&opw.thr, NULL, race_op_waiter_fn, &opw));
	clearer = (struct race_thread){ .r = &r, .seed = 99 };
	ASSERT_EQ(0, pthread_create(&clearer.thr, NULL, race_clearer_fn,
				    &clearer));
	for (i = 0; i < 2; i++) {
		setters[i] = (struct race_thread){ .r = &r, .seed = 1 + i };
		ASSERT_EQ(0, pthread_create(&setters[i].thr, NULL,
					    race_setter_fn, &setters[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(setters[i].thr, NULL);
	/* the consumers must take what is left: no wake-up lost */
	deadline = now_ns(CLOCK_MONOTONIC) + 10 * NSEC_PER_SEC;
	while ((left = flags_of(self->pt.fd, CPORT_LOCAL) & RACE_MASK) &&
	       now_ns(CLOCK_MONOTONIC) < deadline)
		usleep(1000);
	EXPECT_EQ(0, left) TH_LOG("flags left set with waiters asleep");
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(clearer.thr, NULL);
	pthread_join(opw.thr, NULL);
	/* one stop flag per thread waiter; each takes one and goes */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, flag_set(self->pt.fd, CPORT_LOCAL, STOP_BIT));
		deadline = now_ns(CLOCK_MONOTONIC) + 10 * NSEC_PER_SEC;
		while (flags_of(self->pt.fd, CPORT_LOCAL) & BIT64(STOP_BIT)) {
			ASSERT_GT(deadline, now_ns(CLOCK_MONOTONIC));
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(waiters[i].thr, NULL);
	left = flags_of(self->pt.fd, CPORT_LOCAL);
	EXPECT_EQ(0, r.errors);
	EXPECT_EQ(0, r.lost);
	EXPECT_EQ(r.sets, r.consumed + r.consumed_ops + r.clears +
		  __builtin_popcountll(left & RACE_MASK));
	EXPECT_EQ(0, left & BIT64(STOP_BIT));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	TH_LOG("%ld sets: %ld consumed by ioctl waiters, %ld by ops, %ld cleared",
	       r.sets, r.consumed, r.consumed_ops, r.clears);
}

TEST_HARNESS_MAIN
