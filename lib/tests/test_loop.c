// SPDX-License-Identifier: MIT
/*
 * Tests of loop.c: the cport_loop event loop (proactor ops, timers, posts,
 * stop, and the reactor's fds).
 *
 * No test measures time: timers are checked by counts that hold whatever
 * the VM's speed (a cancelled timer's callback never runs again, a one-shot
 * timer runs once).
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

/* What the callbacks saw; each test has its own. */
struct seen {
	unsigned int calls;
	unsigned int bad_thread;	/* calls not on the loop's thread */
	pthread_t loop_thread;
	unsigned int order[256];	/* arg of each call, in call order */
	struct cport_cqe cqes[256];
	uint32_t events[256];
	int fds[256];
	unsigned int stop_at;		/* stop the loop at this many calls */
	unsigned int cancel_at;		/* cancel timer @timer at this many */
	uint64_t timer;
	int ret;			/* of a call made from a callback */
};

static struct seen seen;

static void seen_reset(void)
{
	memset(&seen, 0, sizeof(seen));
	seen.loop_thread = pthread_self();
	seen.ret = 1;
}

static void record(struct cport_loop *loop, uintptr_t arg)
{
	if (!pthread_equal(pthread_self(), seen.loop_thread))
		seen.bad_thread++;
	if (seen.calls < 256)
		seen.order[seen.calls] = (unsigned int)arg;
	seen.calls++;
	if (seen.stop_at && seen.calls == seen.stop_at)
		cport_loop_stop(loop);
}

static void on_cqe(struct cport_loop *loop, const struct cport_cqe *cqe,
		   void *arg)
{
	if (seen.calls < 256)
		seen.cqes[seen.calls] = *cqe;
	record(loop, (uintptr_t)arg);
}

static void on_call(struct cport_loop *loop, void *arg)
{
	record(loop, (uintptr_t)arg);
}

static void on_fd(struct cport_loop *loop, int fd, uint32_t events,
		  void *arg)
{
	if (seen.calls < 256) {
		seen.events[seen.calls] = events;
		seen.fds[seen.calls] = fd;
	}
	record(loop, (uintptr_t)arg);
}

static struct cport_loop *loop_new(unsigned int entries)
{
	struct cport_loop *loop = NULL;
	int ret = cport_loop_new(&loop, entries, 0);

	ck_assert_msg(ret == 0, "cport_loop_new(%u): %d", entries, ret);
	ck_assert_ptr_nonnull(loop);
	seen_reset();
	return loop;
}

/* Run passes until @calls callbacks were seen in all (at most 10 s). */
static void run_until(struct cport_loop *loop, unsigned int calls)
{
	uint64_t end = now_ns() + 10000 * MS;

	while (seen.calls < calls) {
		int ret = cport_loop_run_once(loop, 100 * MS);

		ck_assert_int_ge(ret, 0);
		ck_assert_msg(now_ns() < end, "%u of %u callbacks", seen.calls,
			      calls);
	}
	ck_assert_uint_eq(seen.calls, calls);
}

/* cq_entries - sq_entries: how many ops, fds and timers a loop may have. */
static unsigned int loop_max_live(struct cport_loop *loop)
{
	struct cport *port = cport_loop_port(loop);

	return port->cq.ring_entries - port->sq.ring_entries;
}

/* ---- host: argument errors ---- */

START_TEST(loop_new_rejects_bad_arguments)
{
	struct cport_loop *loop = (struct cport_loop *)&seen;

	ck_assert_int_eq(KEEP_ERRNO(cport_loop_new(NULL, 8, 0)), -EFAULT);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_new(&loop, 8, 1)), -EINVAL);
	ck_assert_ptr_null(loop);
	loop = (struct cport_loop *)&seen;
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_new(&loop, 0, 0)), -EINVAL);
	ck_assert_ptr_null(loop);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_new(&loop, 0x40000000U, 0)),
			 -EINVAL);
}
END_TEST

START_TEST(loop_new_without_device_is_enoent)
{
	struct cport_loop *loop = (struct cport_loop *)&seen;

	hide_device();
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_new(&loop, 8, 0)), -ENOENT);
	ck_assert_ptr_null(loop);
}
END_TEST

START_TEST(loop_calls_reject_null_loop)
{
	uint64_t id = 7;

	cport_loop_free(NULL);
	cport_loop_stop(NULL);
	ck_assert_ptr_null(cport_loop_port(NULL));
	ck_assert_ptr_null(cport_loop_get_sqe(NULL, on_cqe, NULL));
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_fd(NULL, 0, EPOLLIN, on_fd,
						      NULL)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_mod_fd(NULL, 0, EPOLLIN)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_del_fd(NULL, 0)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_timer(NULL, MS, 0, on_call,
							 NULL, &id)),
			 -EINVAL);
	ck_assert_uint_eq(id, 7);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_cancel_timer(NULL, 1)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_post(NULL, on_call, NULL)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run(NULL)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run_once(NULL, 0)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_accept(NULL, 0, 0, on_cqe,
						      NULL)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_recv(NULL, 0, &id, sizeof(id),
						    0, on_cqe, NULL)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_send(NULL, 0, &id, sizeof(id),
						    0, on_cqe, NULL)),
			 -EINVAL);
}
END_TEST

/* ---- device: proactor ---- */

START_TEST(loop_ops_call_back_in_order_on_loop_thread)
{
	struct cport_loop *loop = loop_new(16);
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct cport_sqe *sqe = cport_loop_get_sqe(loop, on_cqe,
							   (void *)(uintptr_t)i);

		ck_assert_ptr_nonnull(sqe);
		cport_prep_nop(sqe);
	}
	ck_assert_int_eq(seen.calls, 0);
	run_until(loop, 8);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(seen.order[i], i);
		ck_assert_int_eq(seen.cqes[i].res, 0);
		ck_assert_uint_eq(seen.cqes[i].flags, 0);
	}
	ck_assert_uint_eq(seen.bad_thread, 0);
	/* Nothing more comes. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_op_result_reaches_callback)
{
	struct cport_loop *loop = loop_new(8);
	struct cport_sqe *sqe;
	char buf[8] = { 0 };
	char path[] = "/tmp/cport-loop-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	sqe = cport_loop_get_sqe(loop, on_cqe, (void *)1);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe = cport_loop_get_sqe(loop, on_cqe, (void *)2);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_timeout(sqe, 0, 0xff);	/* bad op_flags: -EINVAL */
	run_until(loop, 2);
	if (seen.order[0] == 2) {	/* the read may go to a worker */
		seen.cqes[2] = seen.cqes[0];
		seen.cqes[0] = seen.cqes[1];
		seen.cqes[1] = seen.cqes[2];
	}
	ck_assert_int_eq(seen.cqes[0].res, 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_int_eq(seen.cqes[1].res, -EINVAL);
	close(fd);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_multishot_op_calls_until_last_cqe)
{
	struct cport_loop *loop = loop_new(8);
	struct cport_sqe *sqe = cport_loop_get_sqe(loop, on_cqe, (void *)5);
	unsigned int i, shots = 0;

	ck_assert_ptr_nonnull(sqe);
	cport_prep_timer(sqe, MS, MS, 5, 0);
	while (!seen.calls || (seen.cqes[seen.calls - 1].flags &
			       CPORT_CQE_F_MORE))
		ck_assert_int_ge(cport_loop_run_once(loop, 1000 * MS), 0);
	for (i = 0; i < seen.calls; i++) {
		ck_assert_uint_eq(seen.order[i], 5);
		ck_assert_int_ge(seen.cqes[i].res, 1);
		shots += seen.cqes[i].res;
		ck_assert_uint_eq(seen.cqes[i].flags,
				  i + 1 < seen.calls ? CPORT_CQE_F_MORE : 0);
	}
	ck_assert_uint_eq(shots, 5);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	cport_loop_free(loop);
}
END_TEST

/* A periodic op's callback cancels it, by the user_data of its CQE. */
static void on_cancel_self(struct cport_loop *loop,
			   const struct cport_cqe *cqe, void *arg)
{
	struct cport_sqe *sqe;

	on_cqe(loop, cqe, arg);
	if (seen.calls != 1)
		return;
	sqe = cport_loop_get_sqe(loop, NULL, NULL);
	if (!sqe) {
		seen.ret = -1;
		return;
	}
	cport_prep_cancel(sqe, cqe->user_data, 0);
}

START_TEST(loop_multishot_op_cancelled_by_its_user_data)
{
	struct cport_loop *loop = loop_new(8);
	struct cport_sqe *sqe = cport_loop_get_sqe(loop, on_cancel_self,
						   (void *)3);
	unsigned int i, last;

	ck_assert_ptr_nonnull(sqe);
	cport_prep_timer(sqe, MS, MS, 0, 0);
	while (!seen.calls || (seen.cqes[seen.calls - 1].flags &
			       CPORT_CQE_F_MORE))
		ck_assert_int_ge(cport_loop_run_once(loop, 1000 * MS), 0);
	ck_assert_int_eq(seen.ret, 1);
	last = seen.calls - 1;
	ck_assert_int_eq(seen.cqes[last].res, -ECANCELED);
	for (i = 0; i < last; i++)
		ck_assert_uint_eq(seen.cqes[i].flags, CPORT_CQE_F_MORE);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_uint_eq(seen.calls, last + 1);
	cport_loop_free(loop);
}
END_TEST

/* Each NOP's callback submits the next one until 64 ran. */
static void on_chain(struct cport_loop *loop, const struct cport_cqe *cqe,
		     void *arg)
{
	struct cport_sqe *sqe;

	on_cqe(loop, cqe, arg);
	if (seen.calls >= 64)
		return;
	sqe = cport_loop_get_sqe(loop, on_chain,
				 (void *)(uintptr_t)seen.calls);
	if (!sqe) {
		seen.ret = -1;
		return;
	}
	cport_prep_nop(sqe);
}

START_TEST(loop_callback_submits_next_op)
{
	struct cport_loop *loop = loop_new(4);
	struct cport_sqe *sqe = cport_loop_get_sqe(loop, on_chain, (void *)0);
	unsigned int i;

	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	run_until(loop, 64);
	ck_assert_int_eq(seen.ret, 1);
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(seen.order[i], i);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_get_sqe_submits_full_sq_then_limits_ops)
{
	struct cport_loop *loop = loop_new(4);
	unsigned int i, max = loop_max_live(loop);
	struct cport_sqe *sqe;

	ck_assert_uint_ge(max, 4);
	/* Beyond the SQ's 4 entries, get_sqe submits and goes on. */
	for (i = 0; i < max; i++) {
		sqe = cport_loop_get_sqe(loop, on_cqe, (void *)(uintptr_t)i);
		ck_assert_msg(sqe != NULL, "get_sqe %u of %u", i, max);
		cport_prep_nop(sqe);
	}
	ck_assert_ptr_null(cport_loop_get_sqe(loop, on_cqe, NULL));
	ck_assert_int_eq(seen.calls, 0);
	run_until(loop, max);
	for (i = 0; i < max; i++)
		ck_assert_uint_eq(seen.order[i], i);
	/* The records are free again. */
	sqe = cport_loop_get_sqe(loop, on_cqe, (void *)99);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	run_until(loop, max + 1);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_op_without_callback_is_dropped)
{
	struct cport_loop *loop = loop_new(4);
	struct cport_sqe *sqe = cport_loop_get_sqe(loop, NULL, NULL);

	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)1), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 1000 * MS), 1);
	ck_assert_uint_eq(seen.calls, 1);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	cport_loop_free(loop);
}
END_TEST

static void on_nested_run(struct cport_loop *loop, void *arg)
{
	(void)arg;
	seen.ret = cport_loop_run_once(loop, 0);
	if (!seen.ret)
		seen.ret = -1000;
	else if (seen.ret == -EBUSY)
		seen.ret = cport_loop_run(loop);
	seen.calls++;
}

START_TEST(loop_run_from_callback_is_ebusy)
{
	struct cport_loop *loop = loop_new(4);

	ck_assert_int_eq(cport_loop_post(loop, on_nested_run, NULL), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 1000 * MS), 1);
	ck_assert_int_eq(seen.ret, -EBUSY);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_run_once_times_out_with_zero)
{
	struct cport_loop *loop = loop_new(4);

	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run_once(loop, 0)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run_once(loop, 2 * MS)), 0);
	ck_assert_uint_eq(seen.calls, 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_run_once_is_interrupted_by_signal)
{
	struct cport_loop *loop = loop_new(4);
	struct itimerval every = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 20000 },
	}, off = { 0 };

	/*
	 * A SIGALRM every 20 ms, not just one: under a slow VM the first
	 * may come before the loop sleeps.
	 */
	arm_sigalrm_ms(20);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every, NULL), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run_once(loop, -1)), -EINTR);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
	ck_assert_int_ge(sigalrm_count(), 1);
	cport_loop_free(loop);
}
END_TEST

/* ---- device: posts ---- */

START_TEST(loop_posts_run_once_in_order)
{
	struct cport_loop *loop = loop_new(4);
	unsigned int i;

	for (i = 0; i < 200; i++)
		ck_assert_int_eq(KEEP_ERRNO(cport_loop_post(loop, on_call,
						(void *)(uintptr_t)i)), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 1000 * MS), 200);
	for (i = 0; i < 200 && i < 256; i++)
		ck_assert_uint_eq(seen.order[i], i);
	ck_assert_uint_eq(seen.bad_thread, 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_post(loop, NULL, NULL), -EINVAL);
	cport_loop_free(loop);
}
END_TEST

#define POSTERS		4
#define POSTS		1500

struct poster {
	struct cport_loop *loop;
	unsigned int id;
	unsigned int errors;
};

static unsigned char post_seen[POSTERS * POSTS];
static unsigned int post_next[POSTERS];	/* next index expected, per poster */
static unsigned int post_disorder;

static void on_thread_post(struct cport_loop *loop, void *arg)
{
	unsigned int v = (unsigned int)(uintptr_t)arg;
	unsigned int who = v / POSTS, n = v % POSTS;

	(void)loop;
	if (!pthread_equal(pthread_self(), seen.loop_thread))
		seen.bad_thread++;
	post_seen[v]++;
	if (post_next[who] != n)
		post_disorder++;
	post_next[who] = n + 1;
	seen.calls++;
}

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	unsigned int i;

	for (i = 0; i < POSTS; i++) {
		uintptr_t v = p->id * POSTS + i;

		if (cport_loop_post(p->loop, on_thread_post, (void *)v))
			p->errors++;
	}
	return NULL;
}

START_TEST(loop_posts_from_four_threads_run_exactly_once)
{
	struct cport_loop *loop = loop_new(4);
	struct poster p[POSTERS];
	pthread_t tid[POSTERS];
	unsigned int i;

	memset(post_seen, 0, sizeof(post_seen));
	memset(post_next, 0, sizeof(post_next));
	post_disorder = 0;
	for (i = 0; i < POSTERS; i++) {
		p[i] = (struct poster){ .loop = loop, .id = i };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, poster_main,
						&p[i]), 0);
	}
	run_until(loop, POSTERS * POSTS);
	for (i = 0; i < POSTERS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_uint_eq(p[i].errors, 0);
	}
	for (i = 0; i < POSTERS * POSTS; i++)
		ck_assert_msg(post_seen[i] == 1, "post %u ran %u times", i,
			      post_seen[i]);
	ck_assert_uint_eq(post_disorder, 0);
	ck_assert_uint_eq(seen.bad_thread, 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	cport_loop_free(loop);
}
END_TEST

/* Fill the loop's CQ with foreign CQEs until a post is refused. */
static unsigned int fill_cq(struct cport_loop *loop)
{
	struct cport *port = cport_loop_port(loop);
	unsigned int n = 0;

	while (cport_post(port, 0, 0) == 0)
		n++;
	ck_assert_int_eq(cport_post(port, 0, 0), -EAGAIN);
	ck_assert_uint_eq(n, port->cq.ring_entries);
	return n;
}

START_TEST(loop_post_works_with_full_cq)
{
	struct cport_loop *loop = loop_new(4);

	fill_cq(loop);
	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)3), 0);
	/* The foreign CQEs (user_data 0) are dropped; the post runs. */
	ck_assert_int_eq(cport_loop_run_once(loop, 1000 * MS), 1);
	ck_assert_uint_eq(seen.order[0], 3);
	ck_assert_int_eq(cport_cq_ready(cport_loop_port(loop)), 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_get_sqe_with_full_sq_and_cq_is_null)
{
	struct cport_loop *loop = loop_new(4);
	struct cport_sqe *sqe;
	unsigned int i;

	fill_cq(loop);
	for (i = 0; i < 4; i++) {
		sqe = cport_loop_get_sqe(loop, on_cqe, (void *)(uintptr_t)i);
		ck_assert_ptr_nonnull(sqe);
		cport_prep_nop(sqe);
	}
	/* The SQ is full and the kernel cannot take it: the CQ is full. */
	ck_assert_ptr_null(cport_loop_get_sqe(loop, on_cqe, (void *)9));
	/* The loop reaps, then submits; nothing was lost. */
	run_until(loop, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(seen.order[i], i);
		ck_assert_int_eq(seen.cqes[i].res, 0);
	}
	sqe = cport_loop_get_sqe(loop, on_cqe, (void *)4);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	run_until(loop, 5);
	ck_assert_uint_eq(seen.order[4], 4);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_pass_runs_cqes_then_posts)
{
	struct cport_loop *loop = loop_new(4);
	struct cport_sqe *sqe;

	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)2), 0);
	sqe = cport_loop_get_sqe(loop, on_cqe, (void *)1);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_nop(sqe);
	ck_assert_int_eq(cport_loop_run_once(loop, 1000 * MS), 2);
	ck_assert_uint_eq(seen.order[0], 1);
	ck_assert_uint_eq(seen.order[1], 2);
	cport_loop_free(loop);
}
END_TEST

/* ---- device: stop ---- */

struct stopper {
	struct cport_loop *loop;
	uint64_t delay_ns;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;

	sleep_ns(s->delay_ns);
	cport_loop_stop(s->loop);
	return NULL;
}

START_TEST(loop_stop_from_other_thread_wakes_sleeping_loop)
{
	struct cport_loop *loop = loop_new(4);
	struct stopper s = { .loop = loop, .delay_ns = 50 * MS };
	pthread_t tid;

	ck_assert_int_eq(pthread_create(&tid, NULL, stopper_main, &s), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_run(loop)), 0);
	pthread_join(tid, NULL);
	ck_assert_uint_eq(seen.calls, 0);
	/* The stop was used up: the loop sleeps again. */
	ck_assert_int_eq(cport_loop_run_once(loop, 2 * MS), 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_stop_works_with_full_cq)
{
	struct cport_loop *loop = loop_new(4);
	struct stopper s = { .loop = loop, .delay_ns = 20 * MS };
	pthread_t tid;

	fill_cq(loop);
	ck_assert_int_eq(pthread_create(&tid, NULL, stopper_main, &s), 0);
	ck_assert_int_eq(cport_loop_run(loop), 0);
	pthread_join(tid, NULL);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_stop_from_callback)
{
	struct cport_loop *loop = loop_new(4);
	unsigned int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cport_loop_post(loop, on_call,
						 (void *)(uintptr_t)i), 0);
	seen.stop_at = 2;
	/* The callback that stops is the last one run() runs. */
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, 2);
	/* The third post is not lost: the next pass runs it. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 1);
	ck_assert_uint_eq(seen.calls, 3);
	ck_assert_uint_eq(seen.order[2], 2);
	ck_assert_int_eq(cport_loop_run_once(loop, 2 * MS), 0);
	cport_loop_free(loop);
}
END_TEST

/* A stop in the middle of a pass's CQEs: the rest run next, in order. */
START_TEST(loop_stop_leaves_rest_of_pass_for_next_pass)
{
	struct cport_loop *loop = loop_new(8);
	struct cport_sqe *sqe;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		sqe = cport_loop_get_sqe(loop, on_cqe, (void *)(uintptr_t)i);
		ck_assert_ptr_nonnull(sqe);
		cport_prep_nop(sqe);
	}
	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)8), 0);
	seen.stop_at = 3;
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, 3);
	/* No new work: the next pass finishes the stopped one. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 6);
	for (i = 0; i < 9; i++)
		ck_assert_uint_eq(seen.order[i], i);
	/* A stop cuts the posts too; run_once() ignores it. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cport_loop_post(loop, on_call,
						 (void *)(uintptr_t)i), 0);
	seen.stop_at = 10;
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, 10);
	cport_loop_stop(loop);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 2);
	ck_assert_uint_eq(seen.calls, 12);
	ck_assert_uint_eq(seen.order[11], 2);
	/* That stop is still there: run() returns without a callback. */
	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)3), 0);
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, 12);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 1);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_stop_before_run_returns_without_callbacks)
{
	struct cport_loop *loop = loop_new(4);

	cport_loop_stop(loop);
	ck_assert_int_eq(cport_loop_post(loop, on_call, (void *)1), 0);
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, 0);
	/* The post waits for the next pass. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 1);
	ck_assert_uint_eq(seen.calls, 1);
	/* A pass of run_once() takes the wake-up; run() still returns. */
	cport_loop_stop(loop);
	ck_assert_int_eq(cport_loop_run_once(loop, -1), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 2 * MS), 0);
	ck_assert_int_eq(cport_loop_run(loop), 0);
	cport_loop_free(loop);
}
END_TEST

/* ---- device: timers ---- */

static void on_timer(struct cport_loop *loop, void *arg)
{
	record(loop, (uintptr_t)arg);
	if (seen.cancel_at && seen.calls == seen.cancel_at)
		seen.ret = cport_loop_cancel_timer(loop, seen.timer);
}

START_TEST(loop_one_shot_timer_runs_once)
{
	struct cport_loop *loop = loop_new(4);
	uint64_t id = 0;

	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_timer(loop, MS, 0, on_timer,
							 (void *)7, &id)), 0);
	ck_assert_uint_ne(id, 0);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.order[0], 7);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_uint_eq(seen.calls, 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_cancel_timer(loop, id)),
			 -ENOENT);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_periodic_timer_cancelled_from_callback_stops)
{
	struct cport_loop *loop = loop_new(4);

	seen.cancel_at = 5;
	ck_assert_int_eq(cport_loop_add_timer(loop, MS, MS, on_timer,
					      (void *)8, &seen.timer), 0);
	run_until(loop, 5);
	ck_assert_int_eq(seen.ret, 0);
	/* Not one more call, whatever was pending. */
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_uint_eq(seen.calls, 5);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, seen.timer), -ENOENT);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_timer_cancelled_before_expiry_never_runs)
{
	struct cport_loop *loop = loop_new(4);
	uint64_t one, per;

	ck_assert_int_eq(cport_loop_add_timer(loop, 2 * MS, 0, on_timer,
					      (void *)1, &one), 0);
	ck_assert_int_eq(cport_loop_add_timer(loop, 2 * MS, 2 * MS, on_timer,
					      (void *)2, &per), 0);
	ck_assert_uint_ne(one, per);
	/* Cancelled before even being submitted. */
	ck_assert_int_eq(cport_loop_cancel_timer(loop, one), 0);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, per), 0);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, per), -ENOENT);
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_uint_eq(seen.calls, 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_periodic_timer_stops_loop)
{
	struct cport_loop *loop = loop_new(4);
	uint64_t id;

	seen.stop_at = 3;
	ck_assert_int_eq(cport_loop_add_timer(loop, MS, MS, on_timer,
					      (void *)9, &id), 0);
	ck_assert_int_eq(cport_loop_run(loop), 0);
	/* Exactly 3, however many expirations the last pass held. */
	ck_assert_uint_eq(seen.calls, 3);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, id), 0);
	cport_loop_free(loop);
}
END_TEST

/*
 * The cport_loop(3) example, made hard: the loop is late, so the CQ is
 * full and the kernel coalesces expirations into one CQE (res > 1). The
 * stop lands among that CQE's calls: run() still makes exactly stop_at
 * calls, and the next pass makes the rest of them.
 */
START_TEST(loop_stop_cuts_coalesced_timer_expirations)
{
	struct cport_loop *loop = loop_new(1);
	struct cport *port = cport_loop_port(loop);
	uint64_t id;
	int ret;

	ck_assert_int_eq(cport_loop_add_timer(loop, MS, MS, on_timer,
					      (void *)9, &id), 0);
	ck_assert_int_ge(cport_loop_run_once(loop, 0), 0);
	sleep_ns(50 * MS);
	ck_assert_uint_gt(__atomic_load_n(port->cq.koverflow,
					  __ATOMIC_RELAXED), 0);
	seen.stop_at = seen.calls + port->cq.ring_entries + 1;
	ck_assert_int_eq(cport_loop_run(loop), 0);
	ck_assert_uint_eq(seen.calls, seen.stop_at);
	/* The expirations the stop cut off run at the next pass. */
	ret = cport_loop_run_once(loop, 0);
	ck_assert_int_gt(ret, 0);
	ck_assert_uint_eq(seen.calls, seen.stop_at + (unsigned int)ret);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, id), 0);
	ck_assert_int_ge(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, id), -ENOENT);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_timer_rejects_bad_arguments)
{
	struct cport_loop *loop = loop_new(4);
	uint64_t id = 5;

	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_timer(loop, MS, 0, NULL,
							 NULL, &id)),
			 -EINVAL);
	ck_assert_int_eq(cport_loop_add_timer(loop, MS,
					      CPORT_TIMEOUT_MIN_PERIOD_NS - 1,
					      on_timer, NULL, &id), -EINVAL);
	ck_assert_int_eq(cport_loop_add_timer(loop, (uint64_t)INT64_MAX + 1,
					      0, on_timer, NULL, &id),
			 -EINVAL);
	ck_assert_uint_eq(id, 5);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_cancel_timer(loop, 0)),
			 -ENOENT);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, ~0ULL), -ENOENT);
	/* Timers need no id. */
	ck_assert_int_eq(cport_loop_add_timer(loop, MS, 0, on_timer, NULL,
					      NULL), 0);
	run_until(loop, 1);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_timers_count_against_the_op_limit)
{
	struct cport_loop *loop = loop_new(4);
	unsigned int i, max = loop_max_live(loop);
	uint64_t id;

	for (i = 0; i < max; i++)
		ck_assert_int_eq(cport_loop_add_timer(loop, 1000000 * MS, 0,
						      on_timer, NULL, &id), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_timer(loop, MS, 0,
							 on_timer, NULL,
							 &id)), -EBUSY);
	ck_assert_ptr_null(cport_loop_get_sqe(loop, on_cqe, NULL));
	/* All are submitted (the SQ holds 4), and nothing runs. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_cancel_timer(loop, id), 0);
	/* Freed at its terminal CQE: then one more fits. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_add_timer(loop, MS, 0, on_timer, NULL,
					      NULL), 0);
	run_until(loop, 1);
	cport_loop_free(loop);
}
END_TEST

/* ---- device: reactor ---- */

static bool have_poll(struct cport_loop *loop)
{
	return cport_loop_port(loop)->features & CPORT_FEAT_POLL;
}

static struct cport_loop *reactor_new(unsigned int entries)
{
	struct cport_loop *loop = loop_new(entries);

	ck_assert_msg(have_poll(loop), "the module has no CPORT_FEAT_POLL");
	return loop;
}

static void drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void pipe_nb(int pfd[2])
{
	ck_assert_int_eq(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
}

START_TEST(loop_fd_handler_gets_events_per_edge)
{
	struct cport_loop *loop = reactor_new(8);
	int pfd[2];

	pipe_nb(pfd);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_fd(loop, pfd[0], EPOLLIN,
						      on_fd, (void *)4)), 0);
	/* Not readable: armed, no call. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 2 * MS), 0);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.events[0], EPOLLIN);
	ck_assert_int_eq(seen.fds[0], pfd[0]);
	ck_assert_uint_eq(seen.order[0], 4);
	/* Edge-triggered: still readable, but no new wake-up, no call. */
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	/* Emptied, then written again: a new edge. */
	drain(pfd[0]);
	ck_assert_int_eq(write(pfd[1], "y", 1), 1);
	run_until(loop, 2);
	ck_assert_uint_eq(seen.events[1], EPOLLIN);
	ck_assert_uint_eq(seen.bad_thread, 0);
	ck_assert_int_eq(cport_loop_del_fd(loop, pfd[0]), 0);
	close(pfd[0]);
	close(pfd[1]);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_fd_ready_when_added_calls_at_once)
{
	struct cport_loop *loop = reactor_new(8);
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ck_assert_int_eq(cport_loop_add_fd(loop, sv[0], EPOLLOUT, on_fd,
					   (void *)1), 0);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.events[0], EPOLLOUT);
	ck_assert_int_eq(seen.fds[0], sv[0]);
	ck_assert_int_eq(cport_loop_del_fd(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_fd_hangup_ends_poll_until_mod)
{
	struct cport_loop *loop = reactor_new(8);
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ck_assert_int_eq(cport_loop_add_fd(loop, sv[0], EPOLLIN, on_fd,
					   (void *)2), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	close(sv[1]);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.events[0] & (EPOLLIN | EPOLLHUP),
			  EPOLLIN | EPOLLHUP);
	/* The poll ended: nothing more, the fd stays added. */
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_int_eq(cport_loop_add_fd(loop, sv[0], EPOLLIN, on_fd, NULL),
			 -EEXIST);
	/* mod_fd arms it again: the hang-up is found at once. */
	ck_assert_int_eq(cport_loop_mod_fd(loop, sv[0], EPOLLIN), 0);
	run_until(loop, 2);
	ck_assert_uint_eq(seen.events[1] & EPOLLHUP, EPOLLHUP);
	ck_assert_int_eq(cport_loop_del_fd(loop, sv[0]), 0);
	ck_assert_int_eq(cport_loop_del_fd(loop, sv[0]), -ENOENT);
	close(sv[0]);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_eventfd_handler_runs_per_write_after_read)
{
	struct cport_loop *loop = reactor_new(8);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t v = 1;
	int i;

	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(cport_loop_add_fd(loop, efd, EPOLLIN, on_fd, NULL),
			 0);
	for (i = 1; i <= 3; i++) {
		ck_assert_int_eq(write(efd, &v, sizeof(v)), sizeof(v));
		run_until(loop, i);
		ck_assert_uint_eq(seen.events[i - 1], EPOLLIN);
		ck_assert_int_eq(read(efd, &v, sizeof(v)), sizeof(v));
		ck_assert_uint_eq(v, 1);
	}
	ck_assert_int_eq(cport_loop_del_fd(loop, efd), 0);
	close(efd);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_del_fd_stops_calls_and_fd_may_close)
{
	struct cport_loop *loop = reactor_new(8);
	int pfd[2], again[2];

	pipe_nb(pfd);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN, on_fd, NULL),
			 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	/* Ready, and deleted before the loop looks: no call. */
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_del_fd(loop, pfd[0])), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	close(pfd[0]);
	close(pfd[1]);
	/* The same fd number, added again, works. */
	pipe_nb(again);
	ck_assert_int_eq(cport_loop_add_fd(loop, again[0], EPOLLIN, on_fd,
					   NULL), 0);
	ck_assert_int_eq(write(again[1], "x", 1), 1);
	run_until(loop, 1);
	ck_assert_int_eq(seen.fds[0], again[0]);
	ck_assert_int_eq(cport_loop_del_fd(loop, again[0]), 0);
	close(again[0]);
	close(again[1]);
	cport_loop_free(loop);
}
END_TEST

static void on_fd_del_self(struct cport_loop *loop, int fd, uint32_t events,
			   void *arg)
{
	on_fd(loop, fd, events, arg);
	seen.ret = cport_loop_del_fd(loop, fd);
}

START_TEST(loop_fd_handler_deletes_itself)
{
	struct cport_loop *loop = reactor_new(8);
	int pfd[2];

	pipe_nb(pfd);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN,
					   on_fd_del_self, NULL), 0);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	run_until(loop, 1);
	ck_assert_int_eq(seen.ret, 0);
	drain(pfd[0]);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_int_eq(cport_loop_del_fd(loop, pfd[0]), -ENOENT);
	close(pfd[0]);
	close(pfd[1]);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_mod_fd_changes_events)
{
	struct cport_loop *loop = reactor_new(8);
	int pfd[2];

	pipe_nb(pfd);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN, on_fd, NULL),
			 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	/* A pipe never has EPOLLPRI: a write no longer calls. */
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_mod_fd(loop, pfd[0], EPOLLPRI)),
			 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	/* Back to EPOLLIN: readable already, so the update calls. */
	ck_assert_int_eq(cport_loop_mod_fd(loop, pfd[0], EPOLLIN), 0);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.events[0], EPOLLIN);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	/* And the next edge calls. */
	drain(pfd[0]);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	run_until(loop, 2);
	ck_assert_uint_eq(seen.events[1], EPOLLIN);
	ck_assert_int_eq(cport_loop_del_fd(loop, pfd[0]), 0);
	close(pfd[0]);
	close(pfd[1]);
	cport_loop_free(loop);
}
END_TEST

#define MANY_FDS	64

START_TEST(loop_many_fds_each_called_once)
{
	struct cport_loop *loop = reactor_new(32);
	int pfd[MANY_FDS][2];
	unsigned int hits[MANY_FDS] = { 0 };
	unsigned int i, j;

	ck_assert_uint_ge(loop_max_live(loop), MANY_FDS);
	for (i = 0; i < MANY_FDS; i++) {
		pipe_nb(pfd[i]);
		ck_assert_int_eq(cport_loop_add_fd(loop, pfd[i][0], EPOLLIN,
						   on_fd, (void *)(uintptr_t)i),
				 0);
	}
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	for (i = MANY_FDS; i-- > 0;)
		ck_assert_int_eq(write(pfd[i][1], "x", 1), 1);
	run_until(loop, MANY_FDS);
	for (j = 0; j < MANY_FDS; j++) {
		i = seen.order[j];
		ck_assert_uint_lt(i, MANY_FDS);
		ck_assert_int_eq(seen.fds[j], pfd[i][0]);
		ck_assert_uint_eq(seen.events[j], EPOLLIN);
		hits[i]++;
	}
	for (i = 0; i < MANY_FDS; i++) {
		ck_assert_uint_eq(hits[i], 1);
		ck_assert_int_eq(cport_loop_del_fd(loop, pfd[i][0]), 0);
		close(pfd[i][0]);
		close(pfd[i][1]);
	}
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	cport_loop_free(loop);
}
END_TEST

START_TEST(loop_fd_rejects_bad_arguments)
{
	struct cport_loop *loop = reactor_new(8);
	int pfd[2];

	pipe_nb(pfd);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_fd(loop, -1, EPOLLIN, on_fd,
						      NULL)), -EBADF);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_add_fd(loop, 999, EPOLLIN,
						      on_fd, NULL)), -EBADF);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], 0, on_fd, NULL),
			 -EINVAL);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN | EPOLLET,
					   on_fd, NULL), -EINVAL);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(cport_loop_mod_fd(loop, pfd[0], EPOLLIN), -ENOENT);
	ck_assert_int_eq(cport_loop_del_fd(loop, pfd[0]), -ENOENT);
	ck_assert_int_eq(cport_loop_del_fd(loop, -1), -ENOENT);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLIN, on_fd, NULL),
			 0);
	ck_assert_int_eq(cport_loop_add_fd(loop, pfd[0], EPOLLOUT, on_fd,
					   NULL), -EEXIST);
	ck_assert_int_eq(cport_loop_mod_fd(loop, pfd[0], 0), -EINVAL);
	ck_assert_int_eq(cport_loop_mod_fd(loop, pfd[0], 1U << 31), -EINVAL);
	ck_assert_int_eq(cport_loop_del_fd(loop, pfd[0]), 0);
	close(pfd[0]);
	close(pfd[1]);
	cport_loop_free(loop);
}
END_TEST

/* An fd whose poll fails: the handler gets EPOLLERR once. */
START_TEST(loop_fd_poll_error_reports_epollerr)
{
	struct cport_loop *loop = reactor_new(8);
	int port_fd = cport_loop_port(loop)->ring_fd;

	/* A port polling itself is a cycle: the kernel refuses it. */
	ck_assert_int_eq(cport_loop_add_fd(loop, port_fd, EPOLLIN, on_fd,
					   NULL), 0);
	run_until(loop, 1);
	ck_assert_uint_eq(seen.events[0], EPOLLERR);
	ck_assert_int_eq(cport_loop_run_once(loop, 5 * MS), 0);
	ck_assert_int_eq(cport_loop_del_fd(loop, port_fd), 0);
	cport_loop_free(loop);
}
END_TEST

/* ---- device: freeing ---- */

/* ---- device: sockets ---- */

static bool have_net(struct cport_loop *loop)
{
	return cport_loop_port(loop)->features & CPORT_FEAT_NET;
}

static struct cport_loop *net_loop_new(unsigned int entries)
{
	struct cport_loop *loop = loop_new(entries);

	ck_assert_msg(have_net(loop), "the module has no CPORT_FEAT_NET");
	return loop;
}

/* A TCP socket listening on 127.0.0.1, an ephemeral port; *sin: where. */
static int tcp_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* A client connected to @sin (loopback: connect() does not wait). */
static int tcp_client(const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (const struct sockaddr *)sin,
				 sizeof(*sin)), 0);
	return fd;
}

/* Read exactly @len bytes from a blocking socket (10 s at most). */
static void read_all(int fd, void *buf, size_t len)
{
	struct timeval tv = { .tv_sec = 10 };
	size_t got = 0;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		ck_assert_msg(n > 0, "read: %zd (errno %d)", n, errno);
		got += (size_t)n;
	}
}

/*
 * A tiny echo server on the loop: each accepted connection gets a recv;
 * what it receives is sent back, then the next recv is queued; at end of
 * file the connection is closed.
 */
struct echo_conn {
	int fd;
	char buf[64];
	unsigned int recvs, sends;
	int last_res;			/* of the last recv */
	bool closed;
};

struct echo {
	struct echo_conn conn[4];
	unsigned int accepted;
	struct cport_cqe accept_cqes[8];
	unsigned int accept_calls;
	int err;			/* first failed library call */
};

static struct echo echo;

static void echo_on_recv(struct cport_loop *loop, const struct cport_cqe *cqe,
			 void *arg);

static void echo_on_send(struct cport_loop *loop, const struct cport_cqe *cqe,
			 void *arg)
{
	struct echo_conn *c = arg;
	int ret;

	c->sends++;
	record(loop, 2);
	if (cqe->res < 0) {
		echo.err = echo.err ? echo.err : cqe->res;
		return;
	}
	ret = cport_loop_recv(loop, c->fd, c->buf, sizeof(c->buf), 0,
			      echo_on_recv, c);
	if (ret && !echo.err)
		echo.err = ret;
}

static void echo_on_recv(struct cport_loop *loop, const struct cport_cqe *cqe,
			 void *arg)
{
	struct echo_conn *c = arg;
	int ret;

	c->recvs++;
	c->last_res = cqe->res;
	record(loop, 3);
	if (cqe->res <= 0) {
		close(c->fd);
		c->closed = true;
		return;
	}
	ret = cport_loop_send(loop, c->fd, c->buf, (size_t)cqe->res,
			      MSG_WAITALL, echo_on_send, c);
	if (ret && !echo.err)
		echo.err = ret;
}

static void echo_on_accept(struct cport_loop *loop,
			   const struct cport_cqe *cqe, void *arg)
{
	int ret;

	(void)arg;
	if (echo.accept_calls < 8)
		echo.accept_cqes[echo.accept_calls] = *cqe;
	echo.accept_calls++;
	record(loop, 1);
	if (cqe->res < 0 || echo.accepted == 4)
		return;
	echo.conn[echo.accepted].fd = cqe->res;
	ret = cport_loop_recv(loop, cqe->res, echo.conn[echo.accepted].buf,
			      sizeof(echo.conn[0].buf), 0, echo_on_recv,
			      &echo.conn[echo.accepted]);
	if (ret && !echo.err)
		echo.err = ret;
	echo.accepted++;
}

/*
 * Multishot accept, recv and send over TCP loopback: two clients, each
 * echoed twice, then end of file; the accept ends when cancelled.
 */
START_TEST(loop_socket_helpers_echo_over_tcp)
{
	struct cport_loop *loop = net_loop_new(16);
	struct cport_sqe *sqe;
	struct sockaddr_in sin;
	int lfd = tcp_listener(&sin), cfd[2];
	char got[16];
	unsigned int i;

	memset(&echo, 0, sizeof(echo));
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_accept(loop, lfd, SOCK_CLOEXEC,
						      echo_on_accept, NULL)),
			 0);
	/* Submitted before any client connects. */
	ck_assert_int_eq(cport_loop_run_once(loop, 0), 0);
	for (i = 0; i < 2; i++) {
		cfd[i] = tcp_client(&sin);
		run_until(loop, seen.calls + 1);	/* the accept */
		ck_assert_int_eq(echo.err, 0);
		ck_assert_uint_eq(echo.accepted, i + 1);
		ck_assert_uint_eq(echo.accept_cqes[i].flags &
				  CPORT_CQE_F_MORE, CPORT_CQE_F_MORE);
		ck_assert_int_ge(echo.accept_cqes[i].res, 0);
		/* SOCK_CLOEXEC reached the new descriptor. */
		ck_assert_int_eq(fcntl(echo.conn[i].fd, F_GETFD), FD_CLOEXEC);
	}
	/* Echo, on both connections, twice; the loop runs meanwhile. */
	for (i = 0; i < 4; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "ping %u", i);
		unsigned int calls = seen.calls;

		ck_assert_int_eq(write(cfd[i % 2], msg, (size_t)len), len);
		run_until(loop, calls + 2);	/* recv, then send */
		ck_assert_int_eq(echo.err, 0);
		read_all(cfd[i % 2], got, (size_t)len);
		ck_assert_int_eq(memcmp(got, msg, (size_t)len), 0);
	}
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(echo.conn[i].sends, 2);
		ck_assert_uint_eq(echo.conn[i].recvs, 2);
	}
	/* End of file: the last recv says 0 and the server closes. */
	for (i = 0; i < 2; i++) {
		shutdown(cfd[i], SHUT_WR);
		run_until(loop, seen.calls + 1);
		ck_assert_int_eq(echo.conn[i].last_res, 0);
		ck_assert(echo.conn[i].closed);
		ck_assert_int_eq(read(cfd[i], got, sizeof(got)), 0);
		close(cfd[i]);
	}
	/* Cancel the accept by the user_data its callback saw. */
	sqe = cport_loop_get_sqe(loop, NULL, NULL);
	ck_assert_ptr_nonnull(sqe);
	cport_prep_cancel(sqe, echo.accept_cqes[0].user_data, 0);
	run_until(loop, seen.calls + 1);
	ck_assert_uint_eq(echo.accept_calls, 3);
	ck_assert_int_eq(echo.accept_cqes[2].res, -ECANCELED);
	ck_assert_uint_eq(echo.accept_cqes[2].flags & CPORT_CQE_F_MORE, 0);
	ck_assert_uint_eq(seen.bad_thread, 0);
	/* That was the accept's last CQE: nothing more comes. */
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_uint_eq(echo.accept_calls, 3);
	cport_loop_free(loop);
	close(lfd);
}
END_TEST

/*
 * A send larger than the socket buffers with MSG_WAITALL moves it all, in
 * several attempts, while the loop's thread is the reader. (Buffers made
 * small with SO_SNDBUF/SO_RCVBUF would make TCP wait for delayed ACKs:
 * seconds under TCG.)
 */
START_TEST(loop_send_waitall_moves_everything)
{
	struct cport_loop *loop = net_loop_new(8);
	size_t len = 8 << 20;
	char *out = malloc(len), *in = malloc(len);
	struct sockaddr_in sin;
	int lfd = tcp_listener(&sin), cfd, sfd;
	size_t i, got = 0;

	ck_assert(out && in);
	for (i = 0; i < len; i++)
		out[i] = (char)(i * 7 + i / 4096);
	cfd = tcp_client(&sin);
	sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(cport_loop_send(loop, sfd, out, len, MSG_WAITALL,
					 on_cqe, (void *)1), 0);
	/* The loop sleeps between partial sends: nothing blocks. */
	while (got < len) {
		ssize_t n;

		ck_assert_int_ge(cport_loop_run_once(loop, 0), 0);
		n = recv(cfd, in + got, len - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else
			ck_assert_int_eq(errno, EAGAIN);
	}
	run_until(loop, 1);
	ck_assert_int_eq(seen.cqes[0].res, (int)len);
	ck_assert_int_eq(memcmp(in, out, len), 0);
	cport_loop_free(loop);
	close(sfd);
	close(cfd);
	close(lfd);
	free(in);
	free(out);
}
END_TEST

START_TEST(loop_socket_helpers_reject_bad_arguments)
{
	struct cport_loop *loop = net_loop_new(8);
	unsigned int i;
	char buf[8];
	int efd = non_port_fd();

	ck_assert_int_eq(KEEP_ERRNO(cport_loop_accept(loop, efd, 0, NULL,
						      NULL)), -EINVAL);
	ck_assert_int_eq(cport_loop_accept(loop, efd, SOCK_NONBLOCK | 1,
					   on_cqe, NULL), -EINVAL);
	ck_assert_int_eq(cport_loop_accept(loop, -1, 0, on_cqe, NULL), -EBADF);
	ck_assert_int_eq(cport_loop_recv(loop, efd, buf, sizeof(buf), 0, NULL,
					 NULL), -EINVAL);
	ck_assert_int_eq(cport_loop_recv(loop, efd, buf, sizeof(buf),
					 MSG_NOSIGNAL, on_cqe, NULL), -EINVAL);
	ck_assert_int_eq(cport_loop_recv(loop, -1, buf, sizeof(buf), 0,
					 on_cqe, NULL), -EBADF);
	ck_assert_int_eq(cport_loop_send(loop, efd, buf, sizeof(buf), MSG_PEEK,
					 on_cqe, NULL), -EINVAL);
	ck_assert_int_eq(cport_loop_send(loop, -1, buf, sizeof(buf), 0, NULL,
					 NULL), -EBADF);
	/* Nothing was queued by the refusals. */
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);

	/* What only the kernel can tell reaches the callback. */
	ck_assert_int_eq(cport_loop_recv(loop, efd, buf, sizeof(buf), 0,
					 on_cqe, (void *)1), 0);
	ck_assert_int_eq(cport_loop_send(loop, efd, buf, sizeof(buf), 0,
					 on_cqe, (void *)2), 0);
	ck_assert_int_eq(cport_loop_accept(loop, efd, 0, on_cqe, (void *)3),
			 0);
	run_until(loop, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(seen.cqes[i].res, -ENOTSOCK);
		ck_assert_uint_eq(seen.cqes[i].flags & CPORT_CQE_F_MORE, 0);
	}
	/* send with a NULL callback: run, and dropped. */
	ck_assert_int_eq(cport_loop_send(loop, efd, buf, sizeof(buf), 0, NULL,
					 NULL), 0);
	ck_assert_int_eq(cport_loop_run_once(loop, 100 * MS), 0);
	cport_loop_free(loop);
	close(efd);
}
END_TEST

/* Without CPORT_FEAT_NET the helpers refuse at once, and queue nothing. */
START_TEST(loop_socket_helpers_need_feat_net)
{
	struct cport_loop *loop = loop_new(8);
	struct cport *port = cport_loop_port(loop);
	char buf[4];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	/* Whatever the module has: the library decides by the bit. */
	port->features &= ~CPORT_FEAT_NET;
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_accept(loop, sv[0], 0, on_cqe,
						      NULL)), -EOPNOTSUPP);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_recv(loop, sv[0], buf,
						    sizeof(buf), 0, on_cqe,
						    NULL)), -EOPNOTSUPP);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_send(loop, sv[1], buf,
						    sizeof(buf), 0, NULL,
						    NULL)), -EOPNOTSUPP);
	ck_assert_int_eq(cport_loop_run_once(loop, 10 * MS), 0);
	ck_assert_uint_eq(seen.calls, 0);
	cport_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The socket ops are loop ops: they count against the same limit. */
START_TEST(loop_socket_ops_count_against_the_op_limit)
{
	struct cport_loop *loop = net_loop_new(4);
	unsigned int i, max = loop_max_live(loop);
	int sv[2];
	char buf[4];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	for (i = 0; i < max; i++)
		ck_assert_int_eq(cport_loop_recv(loop, sv[0], buf, 1, 0,
						 on_cqe, NULL), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_loop_recv(loop, sv[0], buf, 1, 0,
						    on_cqe, NULL)), -EBUSY);
	ck_assert_int_eq(cport_loop_send(loop, sv[1], buf, 1, 0, NULL, NULL),
			 -EBUSY);
	ck_assert_int_eq(cport_loop_accept(loop, sv[0], 0, on_cqe, NULL),
			 -EBUSY);
	ck_assert_ptr_null(cport_loop_get_sqe(loop, on_cqe, NULL));
	/* One byte in: one recv completes, and its record is free again. */
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	run_until(loop, 1);
	ck_assert_int_eq(seen.cqes[0].res, 1);
	ck_assert_int_eq(cport_loop_send(loop, sv[1], "y", 1, 0, NULL, NULL),
			 0);
	run_until(loop, 2);
	ck_assert_int_eq(seen.cqes[1].res, 1);
	cport_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * A loop with work of every kind in flight, freed: returns the first
 * failed step (0: none). No check call in here: libcheck allocates too.
 */
static unsigned int free_calls;	/* callbacks run before the free */

static int free_with_work(void)
{
	struct cport_loop *loop;
	struct cport_sqe *sqe;
	uint64_t id;

	if (cport_loop_new(&loop, 8, 0))
		return 1;
	if (cport_loop_add_timer(loop, MS, MS, on_timer, NULL, &id))
		return 2;
	if (cport_loop_add_timer(loop, 1000000 * MS, 0, on_timer, NULL, &id))
		return 3;
	sqe = cport_loop_get_sqe(loop, on_cqe, NULL);
	if (!sqe)
		return 4;
	/* Local flag 5 is never set: in flight until the port closes. */
	cport_prep_flag_wait(sqe, 0, 1ULL << 5, 0);
	/* The 1 ms timer may have fired already on a slow machine. */
	if (cport_loop_run_once(loop, 0) < 0)
		return 5;
	sqe = cport_loop_get_sqe(loop, on_cqe, NULL);	/* never submitted */
	if (!sqe)
		return 6;
	cport_prep_nop(sqe);
	if (cport_loop_cancel_timer(loop, id))
		return 8;
	if (have_poll(loop)) {
		int pfd[2];

		if (pipe(pfd))
			return 9;
		if (cport_loop_add_fd(loop, pfd[0], EPOLLIN, on_fd, NULL) ||
		    cport_loop_add_fd(loop, pfd[1], EPOLLOUT, on_fd, NULL))
			return 10;
		if (cport_loop_run_once(loop, 0) < 0)
			return 11;
		if (cport_loop_del_fd(loop, pfd[1]))
			return 12;
		close(pfd[1]);
		close(pfd[0]);
	}
	/* Not run: dropped by the free. */
	if (cport_loop_post(loop, on_call, NULL))
		return 7;
	sleep_ns(3 * MS);
	free_calls = seen.calls;
	cport_loop_free(loop);
	return 0;
}

/*
 * Blocks allocated and not freed: defined by tests/alloc_count.c in
 * libcport_loop_test only (weak: the host binary has none).
 */
extern long alloc_live __attribute__((weak));

START_TEST(loop_free_with_work_in_flight_leaks_nothing)
{
	long before, after;
	int step;

	ck_assert_msg(&alloc_live != NULL, "not linked with alloc_count.c");
	seen_reset();
	before = __atomic_load_n(&alloc_live, __ATOMIC_RELAXED);
	step = free_with_work();
	after = __atomic_load_n(&alloc_live, __ATOMIC_RELAXED);
	ck_assert_int_eq(step, 0);
	ck_assert_int_eq(after, before);
	/* Timer and EPOLLOUT calls may run before the free; none after. */
	ck_assert_uint_eq(seen.calls, free_calls);
}
END_TEST

Suite *loop_host_suite(void)
{
	Suite *s = suite_create("loop");

	ADD_TESTS(s, tcase_create("arguments"), 0,
		  loop_new_rejects_bad_arguments,
		  loop_new_without_device_is_enoent,
		  loop_calls_reject_null_loop);
	return s;
}

Suite *loop_device_suite(void)
{
	Suite *s = suite_create("loop");

	ADD_TESTS(s, tcase_device("proactor"), 0,
		  loop_ops_call_back_in_order_on_loop_thread,
		  loop_op_result_reaches_callback,
		  loop_multishot_op_calls_until_last_cqe,
		  loop_multishot_op_cancelled_by_its_user_data,
		  loop_callback_submits_next_op,
		  loop_get_sqe_submits_full_sq_then_limits_ops,
		  loop_op_without_callback_is_dropped,
		  loop_run_from_callback_is_ebusy,
		  loop_run_once_times_out_with_zero,
		  loop_run_once_is_interrupted_by_signal);
	ADD_TESTS(s, tcase_device("post"), 0,
		  loop_posts_run_once_in_order,
		  loop_posts_from_four_threads_run_exactly_once,
		  loop_post_works_with_full_cq,
		  loop_get_sqe_with_full_sq_and_cq_is_null,
		  loop_pass_runs_cqes_then_posts);
	ADD_TESTS(s, tcase_device("stop"), 0,
		  loop_stop_from_other_thread_wakes_sleeping_loop,
		  loop_stop_works_with_full_cq,
		  loop_stop_from_callback,
		  loop_stop_leaves_rest_of_pass_for_next_pass,
		  loop_stop_before_run_returns_without_callbacks);
	ADD_TESTS(s, tcase_device("timer"), 0,
		  loop_one_shot_timer_runs_once,
		  loop_periodic_timer_cancelled_from_callback_stops,
		  loop_timer_cancelled_before_expiry_never_runs,
		  loop_periodic_timer_stops_loop,
		  loop_stop_cuts_coalesced_timer_expirations,
		  loop_timer_rejects_bad_arguments,
		  loop_timers_count_against_the_op_limit);
	ADD_TESTS(s, tcase_device("reactor"), 0,
		  loop_fd_handler_gets_events_per_edge,
		  loop_fd_ready_when_added_calls_at_once,
		  loop_fd_hangup_ends_poll_until_mod,
		  loop_eventfd_handler_runs_per_write_after_read,
		  loop_del_fd_stops_calls_and_fd_may_close,
		  loop_fd_handler_deletes_itself,
		  loop_mod_fd_changes_events,
		  loop_many_fds_each_called_once,
		  loop_fd_rejects_bad_arguments,
		  loop_fd_poll_error_reports_epollerr);
	ADD_TESTS(s, tcase_device("sockets_echo"), 0,
		  loop_socket_helpers_echo_over_tcp);
	ADD_TESTS(s, tcase_device("sockets_waitall"), 0,
		  loop_send_waitall_moves_everything);
	ADD_TESTS(s, tcase_device("sockets"), 0,
		  loop_socket_helpers_reject_bad_arguments,
		  loop_socket_helpers_need_feat_net,
		  loop_socket_ops_count_against_the_op_limit);
	ADD_TESTS(s, tcase_device("free"), 0,
		  loop_free_with_work_in_flight_leaks_nothing);
	ADD_TESTS(s, tcase_device("device_arguments"), 0,
		  loop_new_rejects_bad_arguments);
	return s;
}
