// SPDX-License-Identifier: MIT
/*
 * Example 4b: completion callbacks with cport_loop, a proactor.
 *
 * Example 4a kept its own table from user_data to callback; cport_loop
 * keeps it instead. cport_loop_get_sqe() hands out an SQE tied to a
 * callback and its argument, the program fills the SQE with any prep
 * helper, and cport_loop_run() submits, waits and calls each callback
 * when its operation is done. The program only says what to do next. Here:
 *
 *   - a NOP, which completes at once;
 *   - a one-shot timer op of 150 ms, whose callback starts a follow-up NOP
 *     (callbacks may start new work);
 *   - a loop timer (cport_loop_add_timer) every 40 ms, cancelled by its own
 *     third call;
 *   - cport_loop_post() from another thread: the callback runs on the
 *     loop's thread, not on the poster's;
 *   - the follow-up NOP's callback stops the loop once everything ran.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <pthread.h>

#include <cport.h>

#include "common.h"

#define TIMER_MS	150
#define TICK_MS		40
#define NR_TICKS	3
#define POSTED_ARG	0x1234

static pthread_t loop_thread;
static uint64_t tick_id;
static int nr_nop, nr_timer, nr_follow_up, nr_ticks, nr_posted;
static int off_thread;		/* callbacks that ran on another thread */
static double timer_at_ms;

static void on_thread_check(const char *who)
{
	if (!pthread_equal(pthread_self(), loop_thread)) {
		printf("FAIL: %s ran on another thread\n", who);
		off_thread++;
	}
}

static void on_nop(struct cport_loop *loop, const struct cport_cqe *cqe,
		   void *arg)
{
	(void)loop;
	on_thread_check("on_nop");
	ex_say("cb", "on_nop(\"%s\"): res=%d", (const char *)arg, cqe->res);
	EX_CHECK(cqe->res == 0, "NOP res %d", cqe->res);
	nr_nop++;
}

static void on_follow_up(struct cport_loop *loop,
			 const struct cport_cqe *cqe, void *arg)
{
	(void)arg;
	on_thread_check("on_follow_up");
	ex_say("cb", "on_follow_up: res=%d; everything ran: cport_loop_stop()",
	       cqe->res);
	EX_CHECK(cqe->res == 0, "follow-up NOP res %d", cqe->res);
	nr_follow_up++;
	cport_loop_stop(loop);
}

static void on_timer(struct cport_loop *loop, const struct cport_cqe *cqe,
		     void *arg)
{
	struct cport_sqe *sqe;

	(void)arg;
	on_thread_check("on_timer");
	timer_at_ms = ex_ms();
	ex_say("cb", "on_timer: res=%d (one expiration); starting a follow-up "
	       "NOP", cqe->res);
	EX_CHECK(cqe->res == 1, "timer res %d", cqe->res);
	nr_timer++;
	sqe = cport_loop_get_sqe(loop, on_follow_up, NULL);
	EX_CHECK(sqe, "cport_loop_get_sqe: NULL");
	if (sqe)
		cport_prep_nop(sqe);
}

static void on_tick(struct cport_loop *loop, void *arg)
{
	int ret;

	(void)arg;
	on_thread_check("on_tick");
	nr_ticks++;
	ex_say("cb", "on_tick: loop timer, call %d of %d", nr_ticks, NR_TICKS);
	if (nr_ticks == NR_TICKS) {
		ret = cport_loop_cancel_timer(loop, tick_id);
		ex_say("cb", "on_tick: cport_loop_cancel_timer() -> %d", ret);
		EX_CHECK(ret == 0, "cport_loop_cancel_timer: %s",
			 strerror(-ret));
	}
}

static void on_posted(struct cport_loop *loop, void *arg)
{
	(void)loop;
	on_thread_check("on_posted");
	ex_say("cb", "on_posted(%#lx): on the loop's thread", (long)arg);
	EX_CHECK((long)arg == POSTED_ARG, "arg %#lx", (long)arg);
	nr_posted++;
}

static void *poster(void *arg)
{
	struct cport_loop *loop = arg;
	int ret;

	usleep(60 * 1000);
	ex_say("thread", "cport_loop_post(on_posted) from another thread");
	ret = cport_loop_post(loop, on_posted, (void *)(long)POSTED_ARG);
	EX_CHECK(ret == 0, "cport_loop_post: %s", strerror(-ret));
	return NULL;
}

int main(void)
{
	struct cport_loop *loop;
	struct cport_sqe *sqe;
	pthread_t thr;
	int ret;

	ex_start();
	ret = cport_loop_new(&loop, 16, 0);
	if (ret < 0) {
		printf("cport_loop_new: %s (is cport.ko loaded?)\n",
		       strerror(-ret));
		return 1;
	}
	loop_thread = pthread_self();
	ex_say("main", "loop on port fd %d", cport_loop_port(loop)->ring_fd);

	sqe = cport_loop_get_sqe(loop, on_nop, "first");
	EX_CHECK(sqe, "cport_loop_get_sqe: NULL");
	if (sqe)
		cport_prep_nop(sqe);
	sqe = cport_loop_get_sqe(loop, on_timer, NULL);
	EX_CHECK(sqe, "cport_loop_get_sqe: NULL");
	if (sqe)
		cport_prep_timeout(sqe, TIMER_MS * 1000000ULL, 0);
	ret = cport_loop_add_timer(loop, TICK_MS * 1000000ULL,
				   TICK_MS * 1000000ULL, on_tick, NULL,
				   &tick_id);
	EX_CHECK(ret == 0, "cport_loop_add_timer: %s", strerror(-ret));
	ex_say("main", "queued a NOP, a %d ms timer op, a loop timer every "
	       "%d ms; cport_loop_run()", TIMER_MS, TICK_MS);

	if (pthread_create(&thr, NULL, poster, loop)) {
		printf("pthread_create failed\n");
		return 1;
	}
	ret = cport_loop_run(loop);
	ex_say("main", "cport_loop_run() -> %d", ret);
	EX_CHECK(ret == 0, "cport_loop_run: %s", strerror(-ret));
	pthread_join(thr, NULL);

	/*
	 * The follow-up stopped the loop at about 150 ms; the posts and the
	 * ticks may still be due if the machine is slow: finish them.
	 */
	while ((nr_posted < 1 || nr_ticks < NR_TICKS) &&
	       cport_loop_run_once(loop, 5000000000LL) > 0)
		;
	EX_CHECK(nr_nop == 1 && nr_timer == 1 && nr_follow_up == 1,
		 "callbacks: NOP %d, timer %d, follow-up %d", nr_nop,
		 nr_timer, nr_follow_up);
	EX_CHECK(nr_posted == 1, "posted callback ran %d times", nr_posted);
	EX_CHECK(nr_ticks == NR_TICKS, "loop timer ran %d times", nr_ticks);
	EX_CHECK(!off_thread, "%d callbacks off the loop's thread", off_thread);
	/* A timer never expires early. */
	EX_CHECK(timer_at_ms >= TIMER_MS, "timer ran at %.1f ms", timer_at_ms);

	/* The cancelled loop timer stays quiet. */
	ret = cport_loop_run_once(loop, 3 * TICK_MS * 1000000LL);
	ex_say("main", "cport_loop_run_once(%d ms) -> %d: nothing left to run",
	       3 * TICK_MS, ret);
	EX_CHECK(ret == 0, "cport_loop_run_once: %d", ret);
	EX_CHECK(nr_ticks == NR_TICKS, "loop timer ran %d times", nr_ticks);
	cport_loop_free(loop);
	return ex_finish("loop-callbacks");
}
