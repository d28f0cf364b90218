// SPDX-License-Identifier: GPL-2.0
/*
 * Waiting on a port: many threads reaping one CQ with a CAS on the head,
 * LIFO wake-up of ENTER waiters, poll() and epoll on the port fd.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <sys/epoll.h>

#include "cport_test.h"

PORT_FIXTURE(waitq, 8, 256)

/* ----------------------------------------------------------------- */
/* 8 threads, one CQ, each CQE reaped exactly once */

#define REAPERS		8
#define MSGS		2000
#define STOP_UD		0xffffffffffffffffULL

struct reap_ctx {
	struct port *pt;
	unsigned int seen[MSGS];	/* atomic counters */
	int bad;			/* atomic */
	int got;			/* atomic */
};

struct reaper {
	pthread_t thr;
	struct reap_ctx *ctx;
	int mine;
	int enter_errors;
};

static void *reaper_fn(void *arg)
{
	struct reaper *r = arg;
	struct reap_ctx *ctx = r->ctx;
	struct cport_cqe c;

	for (;;) {
		int ret;

		if (cq_pop_cas(ctx->pt, &c)) {
			if (c.user_data == STOP_UD)
				break;
			if (c.user_data >= MSGS || c.res != (__s32)c.user_data)
				__atomic_add_fetch(&ctx->bad, 1, __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&ctx->seen[c.user_data], 1,
						   __ATOMIC_RELAXED);
			__atomic_add_fetch(&ctx->got, 1, __ATOMIC_RELAXED);
			r->mine++;
			continue;
		}
		ret = sys_enter(ctx->pt->fd, 0, 1, 0, 0);
		if (ret && ret != -EINTR)
			r->enter_errors++;
	}
	return NULL;
}

/* A thread that posts to the port. */
struct poster {
	pthread_t thr;
	int fd;
	int ms;			/* delayed_post_fn: wait this long first */
	int errors;
};

static void *msg_poster_fn(void *arg)
{
	struct poster *p = arg;
	int i;

	for (i = 0; i < MSGS; i++)
		if (sys_post_retry(p->fd, i, i))
			p->errors++;
	/* one stop marker per reaper */
	for (i = 0; i < REAPERS; i++)
		if (sys_post_retry(p->fd, STOP_UD, -1))
			p->errors++;
	return NULL;
}

TEST_F_TIMEOUT(waitq, eight_threads_cas_reap_each_cqe_once, 120)
{
	static struct reap_ctx ctx;
	struct reaper r[REAPERS];
	struct poster p = { .fd = self->pt.fd };
	int i, once = 0, total = 0;

	CPORT_SKIP_IF_ABSENT();
	memset(&ctx, 0, sizeof(ctx));
	ctx.pt = &self->pt;
	for (i = 0; i < REAPERS; i++) {
		r[i].ctx = &ctx;
		r[i].mine = 0;
		r[i].enter_errors = 0;
		ASSERT_EQ(0, pthread_create(&r[i].thr, NULL, reaper_fn, &r[i]));
	}
	ASSERT_EQ(0, pthread_create(&p.thr, NULL, msg_poster_fn, &p));
	pthread_join(p.thr, NULL);
	for (i = 0; i < REAPERS; i++) {
		pthread_join(r[i].thr, NULL);
		EXPECT_EQ(0, r[i].enter_errors);
		total += r[i].mine;
	}
	EXPECT_EQ(0, p.errors);
	EXPECT_EQ(0, ctx.bad);
	EXPECT_EQ(MSGS, ctx.got);
	EXPECT_EQ(MSGS, total);
	for (i = 0; i < MSGS; i++) {
		if (ctx.seen[i] == 1)
			once++;
		else
			TH_LOG("user_data %d seen %u times", i, ctx.seen[i]);
	}
	EXPECT_EQ(MSGS, once);
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
	EXPECT_EQ(MSGS + REAPERS, fdinfo(self->pt.fd, "posted"));
}

/*
 * IOCP style: each thread takes one CQE and goes. 8 threads sleep in
 * ENTER, 8 CQEs are posted back to back; each thread must get one. A
 * thread woken for a CQE while on its way out with another one must pass
 * the surplus on, or a CQE is stranded with the others asleep (they would
 * time out here).
 */
struct one_taker {
	pthread_t thr;
	struct port *pt;
	int got;		/* CQEs taken: 0 or 1 */
	int timed_out;
};

static void *one_taker_fn(void *arg)
{
	struct one_taker *t = arg;
	struct cport_cqe c;
	int ret;

	for (;;) {
		if (cq_pop_cas(t->pt, &c)) {
			t->got++;
			return NULL;
		}
		ret = sys_enter(t->pt->fd, 0, 1, CPORT_ENTER_TIMEOUT,
				5 * NSEC_PER_SEC);
		if (ret == -ETIME && !cq_ready(t->pt)) {
			t->timed_out++;
			return NULL;
		}
	}
}

TEST_F_TIMEOUT(waitq, take_one_and_go_strands_no_cqe, 300)
{
	int rounds = 100 * stress_factor(), round, i, got, stranded = 0;
	struct one_taker t[REAPERS];
	struct port poster;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&poster, REAPERS, 0, 0));
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < REAPERS; i++) {
			t[i].pt = &self->pt;
			t[i].got = 0;
			t[i].timed_out = 0;
			ASSERT_EQ(0, pthread_create(&t[i].thr, NULL,
						    one_taker_fn, &t[i]));
		}
		ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", REAPERS,
					   10000));
		/* All 8 in one ENTER of another port: back to back. */
		for (i = 0; i < REAPERS; i++) {
			struct cport_sqe s = sqe_post(self->pt.fd, i, i,
						      1000 + i);

			ASSERT_EQ(0, sq_push(&poster, &s));
		}
		ASSERT_EQ(REAPERS, sys_enter(poster.fd, REAPERS, 0, 0, 0));
		for (i = 0; i < REAPERS; i++) {
			struct cport_cqe c;

			ASSERT_TRUE(cq_pop(&poster, &c));
			ASSERT_EQ(0, c.res);
		}
		got = 0;
		for (i = 0; i < REAPERS; i++) {
			pthread_join(t[i].thr, NULL);
			got += t[i].got;
			stranded += t[i].timed_out;
		}
		ASSERT_EQ(REAPERS, got) TH_LOG("round %d", round);
		ASSERT_EQ(0, cq_ready(&self->pt));
	}
	EXPECT_EQ(0, stranded);
	port_fini(&poster);
}

/* ----------------------------------------------------------------- */
/* LIFO wake-up */

struct lifo_waiter {
	pthread_t thr;
	int fd;
	__u32 min_complete;
	int id;
	int *order;		/* shared: ids in wake-up order */
	int *norder;		/* atomic */
	volatile int ret;
	volatile int returned;
};

static void *lifo_waiter_fn(void *arg)
{
	struct lifo_waiter *w = arg;
	int slot;

	w->ret = sys_enter(w->fd, 0, w->min_complete, 0, 0);
	slot = __atomic_fetch_add(w->norder, 1, __ATOMIC_SEQ_CST);
	w->order[slot] = w->id;
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start waiters one by one, each seen asleep before the next starts. */
static void start_waiters(struct __test_metadata *_metadata,
			  struct lifo_waiter *w, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_create(&w[i].thr, NULL, lifo_waiter_fn,
					    &w[i]));
		ASSERT_TRUE(fdinfo_wait_eq(w[i].fd, "waiters", i + 1, 10000))
			TH_LOG("waiter %d not asleep", i);
		/* counted on entry: give it time to queue itself too */
		sleep_ms(20);
	}
}

static int count_returned(struct lifo_waiter *w, int n)
{
	int i, r = 0;

	for (i = 0; i < n; i++)
		r += __atomic_load_n(&w[i].returned, __ATOMIC_ACQUIRE);
	return r;
}

static bool wait_returned(struct lifo_waiter *w, int n, int want)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (count_returned(w, n) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

TEST_F_TIMEOUT(waitq, lifo_one_post_wakes_only_newest, 60)
{
	struct port *pt = &self->pt;
	struct lifo_waiter w[3];
	int order[3] = { -1, -1, -1 }, norder = 0;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = pt->fd;
		w[i].min_complete = 1;
		w[i].id = i;
		w[i].order = order;
		w[i].norder = &norder;
	}
	start_waiters(_metadata, w, 3);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sys_post(pt->fd, i, 0));
		ASSERT_TRUE(wait_returned(w, 3, i + 1));
		/* exactly one more waiter left: the newest one */
		EXPECT_TRUE(fdinfo_wait_eq(pt->fd, "waiters", 2 - i, 10000));
		EXPECT_EQ(2 - i, order[i]);
		EXPECT_EQ(0, w[2 - i].ret);
		ASSERT_TRUE(cq_pop(pt, &c));
		/* the others stay asleep */
		sleep_ms(50);
		EXPECT_EQ(i + 1, count_returned(w, 3));
		EXPECT_EQ(2 - i, fdinfo(pt->fd, "waiters"));
	}
	for (i = 0; i < 3; i++)
		pthread_join(w[i].thr, NULL);
}

TEST_F_TIMEOUT(waitq, lifo_skips_waiter_whose_min_complete_is_unmet, 60)
{
	struct port *pt = &self->pt;
	struct lifo_waiter w[2];
	int order[2] = { -1, -1 }, norder = 0;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = pt->fd;
		w[i].id = i;
		w[i].order = order;
		w[i].norder = &norder;
	}
	w[0].min_complete = 1;	/* older */
	w[1].min_complete = 2;	/* newer */
	start_waiters(_metadata, w, 2);
	ASSERT_EQ(0, sys_post(pt->fd, 1, 0));
	ASSERT_TRUE(wait_returned(w, 2, 1));
	EXPECT_EQ(0, order[0]);
	EXPECT_TRUE(fdinfo_wait_eq(pt->fd, "waiters", 1, 10000));
	sleep_ms(50);
	EXPECT_EQ(1, count_returned(w, 2));
	/* the CQE is not reaped: a second one meets the newer's min */
	ASSERT_EQ(0, sys_post(pt->fd, 2, 0));
	ASSERT_TRUE(wait_returned(w, 2, 2));
	EXPECT_EQ(1, order[1]);
	EXPECT_EQ(0, w[0].ret);
	EXPECT_EQ(0, w[1].ret);
	EXPECT_EQ(0, fdinfo(pt->fd, "waiters"));
	for (i = 0; i < 2; i++)
		pthread_join(w[i].thr, NULL);
}

/*
 * A woken waiter that leaves without success passes its wake-up on. The
 * newer waiter times out at about the moment of the post; whatever the
 * interleaving, the CQE must not be stranded: if the newer one did not
 * return 0, the older one must be woken.
 */
TEST_F_TIMEOUT(waitq, wakeup_passed_on_when_newest_times_out, 120)
{
	struct port *pt = &self->pt;
	int iter, handed = 0, kept = 0;

	CPORT_SKIP_IF_ABSENT();
	for (iter = 0; iter < 30; iter++) {
		struct enter_waiter older, newer;
		struct cport_cqe c;
		int i;

		ASSERT_EQ(0, enter_waiter_start(&older, pt->fd,
						60 * NSEC_PER_SEC));
		ASSERT_TRUE(fdinfo_wait_eq(pt->fd, "waiters", 1, 10000));
		ASSERT_EQ(0, enter_waiter_start(&newer, pt->fd,
						(iter % 6) * 500000 + 1));
		/* post about when the newer one's timeout runs out */
		for (i = 0; i < 2000 && !newer.returned &&
		     fdinfo(pt->fd, "waiters") < 2; i++)
			usleep(50);
		ASSERT_EQ(0, sys_post(pt->fd, iter, 0));
		pthread_join(newer.thr, NULL);
		if (newer.ret == 0) {
			kept++;
			/* the older one may stay asleep; wake it */
			ASSERT_EQ(0, sys_post(pt->fd, 1000 + iter, 0));
		} else {
			ASSERT_EQ(-ETIME, newer.ret);
			handed++;
		}
		for (i = 0; i < 10000 && !older.returned; i++)
			usleep(1000);
		ASSERT_TRUE(older.returned)
			TH_LOG("iter %d: CQE stranded (newer %d)", iter,
			       newer.ret);
		pthread_join(older.thr, NULL);
		EXPECT_EQ(0, older.ret);
		while (cq_pop(pt, &c))
			;
		ASSERT_EQ(0, fdinfo(pt->fd, "waiters"));
	}
	TH_LOG("newer kept the wake-up %d times, passed it on %d times", kept,
	       handed);
}

TEST_F(waitq, waiter_woken_by_timer_from_irq)
{
	struct enter_waiter t;
	struct cport_sqe s = sqe_timeout(30 * NSEC_PER_MSEC, 0, 0, 0, 0x77);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, enter_waiter_start(&t, self->pt.fd, 20 * NSEC_PER_SEC));
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 1, 10000));
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	pthread_join(t.thr, NULL);
	EXPECT_EQ(0, t.ret);
	EXPECT_EQ(1, cq_ready(&self->pt));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

TEST_F(waitq, waiters_count_back_to_zero_after_timeouts)
{
	struct enter_waiter t[3];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, enter_waiter_start(&t[i], self->pt.fd,
						300 * NSEC_PER_MSEC));
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 3, 10000));
	for (i = 0; i < 3; i++) {
		pthread_join(t[i].thr, NULL);
		EXPECT_EQ(-ETIME, t[i].ret);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

/* ----------------------------------------------------------------- */
/* poll() and epoll */

static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

TEST_F(waitq, poll_not_readable_when_empty)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, poll_now(self->pt.fd));
}

TEST_F(waitq, poll_readable_after_post)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->pt.fd));
}

TEST_F(waitq, poll_not_readable_after_reap)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 2));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->pt.fd));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0, poll_now(self->pt.fd));
}

TEST_F(waitq, poll_not_readable_with_only_inflight_ops)
{
	struct cport_sqe s = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 1);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_EQ(0, poll_now(self->pt.fd));
}

static void *delayed_post_fn(void *arg)
{
	struct poster *d = arg;

	sleep_ms(d->ms);
	sys_post(d->fd, 0xd, 0xd);
	return NULL;
}

TEST_F(waitq, poll_sleeps_until_post)
{
	struct poster d = { .fd = self->pt.fd, .ms = 50 };
	struct pollfd p = { .fd = self->pt.fd, .events = POLLIN };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&d.thr, NULL, delayed_post_fn, &d));
	EXPECT_EQ(1, poll(&p, 1, 20000));
	EXPECT_EQ(POLLIN, p.revents);
	pthread_join(d.thr, NULL);
}

TEST_F(waitq, post_wakes_poll_and_an_enter_waiter)
{
	struct enter_waiter t;
	struct poster d = { .fd = self->pt.fd, .ms = 0 };
	struct pollfd p = { .fd = self->pt.fd, .events = POLLIN };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, enter_waiter_start(&t, self->pt.fd, 20 * NSEC_PER_SEC));
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 1, 10000));
	d.ms = 50;
	ASSERT_EQ(0, pthread_create(&d.thr, NULL, delayed_post_fn, &d));
	EXPECT_EQ(1, poll(&p, 1, 20000));
	pthread_join(d.thr, NULL);
	pthread_join(t.thr, NULL);
	EXPECT_EQ(0, t.ret);
}

/* An epoll instance watching @fd for @ev->events; ends the test on failure. */
static int epoll_watch(struct __test_metadata *_metadata, int fd,
		       struct epoll_event *ev)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev));
	return ep;
}

TEST_F(waitq, epoll_level_triggered)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1234 };
	struct epoll_event out[2];
	struct cport_cqe c;
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ep = epoll_watch(_metadata, self->pt.fd, &ev);
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(EPOLLIN, out[0].events);
	EXPECT_EQ(0x1234, out[0].data.u64);
	/* level-triggered: still readable until reaped */
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

TEST_F(waitq, epoll_edge_triggered_event_per_post)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ep = epoll_watch(_metadata, self->pt.fd, &ev);
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	/* poll waiters are woken on every post, even when already readable */
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 2));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

TEST_F(waitq, epoll_wakes_on_timer_cqe)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event out[2];
	struct cport_sqe s = sqe_timeout(30 * NSEC_PER_MSEC, 0, 0, 0, 0x71);
	struct cport_cqe c;
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ep = epoll_watch(_metadata, self->pt.fd, &ev);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 20000));
	EXPECT_EQ(EPOLLIN, out[0].events);
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(0x71, c.user_data);
	EXPECT_EQ(1, c.res);
	close(ep);
}

TEST_F(waitq, epoll_wakes_on_multishot_cqes)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	struct cport_sqe s = sqe_timeout(2 * NSEC_PER_MSEC,
					 CPORT_TIMEOUT_MULTISHOT, 3, 0, 0x72);
	struct cport_cqe c;
	__u64 sum = 0;
	bool terminal = false;
	int ep;

	CPORT_SKIP_IF_ABSENT();
	ep = epoll_watch(_metadata, self->pt.fd, &ev);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	while (!terminal) {
		if (!cq_pop(&self->pt, &c)) {
			ASSERT_EQ(1, epoll_wait(ep, out, 2, 20000));
			continue;
		}
		EXPECT_EQ(0x72, c.user_data);
		sum += c.res;
		terminal = !(c.flags & CPORT_CQE_F_MORE);
	}
	EXPECT_EQ(3, sum);
	close(ep);
}

TEST_HARNESS_MAIN
