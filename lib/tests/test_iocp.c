// SPDX-License-Identifier: MIT
/*
 * Tests of iocp.c: cport_post(), cport_post_fd(),
 * cport_get_queued_completions(), cport_get_queued_completion(),
 * cport_pool_leave(), cport_concurrency().
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../examples/fd_pass.h"	/* send_fd(), recv_fd() */
#include "suites.h"
#include "util.h"

static const unsigned int starts[] = { 0, 0xfffffff0U };

/*
 * Several consumers take CQEs with cport_get_queued_completions() until
 * @total were taken; each records what it got. Failures are counted, not
 * asserted, since check asserts belong to the main thread.
 */
struct consumers {
	struct cport *port;
	unsigned int total;
	int64_t timeout_ns;
	bool empty_is_ebadf;	/* fake port: "empty" comes back as -EBADF */
	unsigned int taken;	/* atomic */
	unsigned int errors;	/* atomic */
	unsigned int bad_res;	/* atomic */
	int last_error;
	unsigned char *seen;	/* per user_data, atomic */
};

struct consumer {
	struct consumers *c;
	unsigned int max;
	unsigned int got;
};

static void *consumer_main(void *arg)
{
	struct consumer *me = arg;
	struct consumers *c = me->c;
	struct cport_cqe buf[16];

	while (__atomic_load_n(&c->taken, __ATOMIC_RELAXED) < c->total) {
		int i, ret = cport_get_queued_completions(c->port, buf, me->max,
							   c->timeout_ns);

		if (ret == -ETIME || (c->empty_is_ebadf && ret == -EBADF)) {
			sched_yield();
			continue;
		}
		if (ret <= 0 || ret > (int)me->max) {
			c->last_error = ret;
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		for (i = 0; i < ret; i++) {
			uint64_t ud = buf[i].user_data;

			if (ud >= c->total || buf[i].res != (int32_t)(ud * 3) ||
			    buf[i].flags) {
				__atomic_add_fetch(&c->bad_res, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			__atomic_add_fetch(&c->seen[ud], 1, __ATOMIC_RELAXED);
		}
		me->got += ret;
		__atomic_add_fetch(&c->taken, ret, __ATOMIC_RELAXED);
	}
	return NULL;
}

#define NR_CONSUMERS	4

static void run_consumers(struct consumers *c,
			  void (*produce)(struct consumers *))
{
	struct consumer me[NR_CONSUMERS];
	pthread_t tid[NR_CONSUMERS];
	unsigned int i, sum = 0;

	c->seen = calloc(c->total, 1);
	ck_assert_ptr_nonnull(c->seen);
	for (i = 0; i < NR_CONSUMERS; i++) {
		me[i].c = c;
		me[i].max = 1 + i * 5;	/* 1, 6, 11, 16 */
		me[i].got = 0;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, consumer_main,
						&me[i]), 0);
	}
	produce(c);
	for (i = 0; i < NR_CONSUMERS; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		sum += me[i].got;
	}
	ck_assert_msg(!c->errors, "%u consumer errors, last %d", c->errors,
		      c->last_error);
	ck_assert_uint_eq(c->bad_res, 0);
	ck_assert_uint_eq(c->taken, c->total);
	ck_assert_uint_eq(sum, c->total);
	for (i = 0; i < c->total; i++)
		ck_assert_msg(c->seen[i] == 1, "CQE %u taken %u times", i,
			      c->seen[i]);
	free(c->seen);
}

/* ---- host ---- */

START_TEST(post_fd_to_bad_fd_is_ebadf)
{
	struct cport port;

	ck_assert_int_eq(KEEP_ERRNO(cport_post_fd(-1, 0, 0)), -EBADF);
	fake_port_init(&port, 4, 8, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_post(&port, 1, 2)), -EBADF);
	fake_port_free(&port);
}
END_TEST

START_TEST(post_fd_to_non_port_is_enotty)
{
	int fd = non_port_fd();

	ck_assert_int_eq(KEEP_ERRNO(cport_post_fd(fd, 0, 0)), -ENOTTY);
	close(fd);
}
END_TEST

START_TEST(get_queued_rejects_bad_arguments)
{
	struct cport_cqe out[2];
	struct cport port;

	fake_port_init(&port, 4, 8, 0);
	fake_kernel_post(&port, 1, 0, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 0,
								  0)), -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, NULL,
								  2, 0)),
			 -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, NULL, 0)),
			 -EINVAL);
	/* Nothing was taken. */
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	fake_port_free(&port);
}
END_TEST

START_TEST(get_queued_takes_a_batch_in_order)
{
	unsigned int start = starts[_i], i;
	struct cport_cqe out[16];
	struct cport port;

	fake_port_init(&port, 4, 16, start);
	for (i = 0; i < 10; i++)
		fake_kernel_post(&port, i, -(int32_t)i, i & 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 4,
								  0)), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(out[i].user_data, i);
		ck_assert_int_eq(out[i].res, -(int32_t)i);
		ck_assert_uint_eq(out[i].flags, i & 1);
	}
	ck_assert_uint_eq(*port.cq.khead, start + 4);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, out,
								 CPORT_INFINITE)),
			 0);
	ck_assert_uint_eq(out[0].user_data, 4);
	ck_assert_int_eq(cport_get_queued_completions(&port, out, 16, 10 * MS), 5);
	ck_assert_uint_eq(out[4].user_data, 9);
	ck_assert_uint_eq(*port.cq.khead, start + 10);
	/* Empty: it enters the kernel, which fails here (no fd). */
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 16,
								  0)), -EBADF);
	ck_assert_int_eq(cport_get_queued_completion(&port, out, CPORT_INFINITE),
			 -EBADF);
	fake_port_free(&port);
}
END_TEST

START_TEST(get_queued_detects_corrupt_head)
{
	struct cport_cqe out[4];
	struct cport port;
	unsigned int tail;

	fake_port_init(&port, 4, 8, starts[_i]);
	fake_kernel_post(&port, 1, 0, 0);
	fake_kernel_post(&port, 2, 0, 0);
	tail = *port.cq.ktail;
	*port.cq.khead = tail + 5;	/* head beyond the tail */
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 4,
								  0)), -EIO);
	*port.cq.khead = tail - 9;	/* more ready than the CQ holds */
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, out, 0)),
			 -EIO);
	ck_assert_uint_eq(*port.cq.khead, tail - 9);
	fake_port_free(&port);
}
END_TEST

/* Plays the kernel: posts total CQEs, waiting for free slots. */
static void fake_produce(struct consumers *c)
{
	struct cport_cq *cq = &c->port->cq;
	unsigned int i;

	for (i = 0; i < c->total; i++) {
		/*
		 * As the kernel: load-acquire the head before reusing a
		 * slot; pairs with the consumers' CAS (release).
		 */
		while (__cport_read_once(cq->ktail) -
		       __cport_smp_load_acquire(cq->khead) >= cq->ring_entries)
			sched_yield();
		fake_kernel_post(c->port, i, (int32_t)(i * 3), 0);
	}
}

START_TEST(get_queued_threads_take_each_cqe_once_fake)
{
	struct cport port;
	struct consumers c = {
		.port = &port,
		.total = 200000,
		.timeout_ns = 0,
		.empty_is_ebadf = true,
	};

	fake_port_init(&port, 4, 64, starts[_i]);
	run_consumers(&c, fake_produce);
	ck_assert_uint_eq(*port.cq.khead, starts[_i] + c.total);
	fake_port_free(&port);
}
END_TEST

/*
 * Many consumers race on a full ring: every CQE is there from the start, so
 * the threads contend on the head all the time. A claim that is not one
 * atomic compare-and-swap hands some CQEs out twice.
 */
struct racer {
	struct cport *port;
	pthread_barrier_t *go;
	unsigned char *seen;	/* atomic */
	unsigned int max;
	unsigned int got;
	int error;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct cport_cqe buf[4];

	pthread_barrier_wait(r->go);
	for (;;) {
		int i, ret = cport_get_queued_completions(r->port, buf, r->max,
							   0);

		if (ret == -EBADF)	/* empty: entered the (absent) kernel */
			break;
		if (ret <= 0) {
			r->error = ret;
			break;
		}
		for (i = 0; i < ret; i++)
			__atomic_add_fetch(&r->seen[buf[i].user_data], 1,
					   __ATOMIC_RELAXED);
		r->got += ret;
	}
	return NULL;
}

START_TEST(get_queued_threads_race_on_full_ring_fake)
{
	const unsigned int entries = 1U << 15, rounds = 8;
	struct racer r[NR_CONSUMERS];
	pthread_t tid[NR_CONSUMERS];
	pthread_barrier_t go;
	unsigned char *seen = malloc(entries);
	struct cport port;
	unsigned int i, k;

	ck_assert_ptr_nonnull(seen);
	fake_port_init(&port, 4, entries, starts[_i]);
	for (k = 0; k < rounds; k++) {
		unsigned int sum = 0;

		memset(seen, 0, entries);
		for (i = 0; i < entries; i++)
			fake_kernel_post(&port, i, 0, 0);
		pthread_barrier_init(&go, NULL, NR_CONSUMERS);
		for (i = 0; i < NR_CONSUMERS; i++) {
			r[i] = (struct racer){
				.port = &port, .go = &go, .seen = seen,
				.max = 1 + (i & 1),
			};
			ck_assert_int_eq(pthread_create(&tid[i], NULL,
							racer_main, &r[i]), 0);
		}
		for (i = 0; i < NR_CONSUMERS; i++) {
			pthread_join(tid[i], NULL);
			ck_assert_int_eq(r[i].error, 0);
			sum += r[i].got;
		}
		pthread_barrier_destroy(&go);
		ck_assert_uint_eq(sum, entries);
		for (i = 0; i < entries; i++)
			ck_assert_msg(seen[i] == 1, "round %u: CQE %u taken %u times",
				      k, i, seen[i]);
		ck_assert_uint_eq(*port.cq.khead, *port.cq.ktail);
	}
	fake_port_free(&port);
	free(seen);
}
END_TEST

/* ---- device ---- */

START_TEST(post_then_get_queued_completion)
{
	struct cport_cqe cqe;
	struct cport port;

	port_init(&port, 4);
	ck_assert_int_eq(KEEP_ERRNO(cport_post(&port, -5, 77)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, &cqe,
								 CPORT_INFINITE)),
			 0);
	ck_assert_uint_eq(cqe.user_data, 77);
	ck_assert_int_eq(cqe.res, -5);
	ck_assert_uint_eq(cqe.flags, 0);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(post_to_full_cq_is_eagain)
{
	struct cport_cqe cqe;
	struct cport port;
	unsigned int i;

	port_init(&port, 4);	/* CQ: 8 */
	for (i = 0; i < port.cq.ring_entries; i++)
		ck_assert_int_eq(cport_post(&port, 0, i), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_post(&port, 0, 99)), -EAGAIN);
	ck_assert_int_eq(KEEP_ERRNO(cport_post_fd(port.ring_fd, 0, 99)),
			 -EAGAIN);
	ck_assert_int_eq(cport_get_queued_completion(&port, &cqe, 0), 0);
	ck_assert_uint_eq(cqe.user_data, 0);
	ck_assert_int_eq(cport_post(&port, 0, 100), 0);
	ck_assert_int_eq(cport_post(&port, 0, 101), -EAGAIN);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(post_fd_to_other_port)
{
	struct cport port, other;
	struct cport_cqe cqe;

	port_init(&port, 4);
	port_init(&other, 4);
	ck_assert_int_eq(KEEP_ERRNO(cport_post_fd(other.ring_fd, 42, 43)), 0);
	ck_assert_int_eq(cport_get_queued_completion(&port, &cqe, 0), -ETIME);
	ck_assert_int_eq(cport_get_queued_completion(&other, &cqe, 0), 0);
	ck_assert_uint_eq(cqe.user_data, 43);
	ck_assert_int_eq(cqe.res, 42);
	cport_queue_exit(&other);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(post_fd_before_setup_is_ebadfd)
{
	int fd = open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_post_fd(fd, 0, 0)), -EBADFD);
	close(fd);
}
END_TEST

START_TEST(post_fd_from_other_process_via_scm_rights)
{
	struct cport_cqe cqe;
	struct cport port;
	int sv[2], status;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* A process without the port, until it receives its fd. */
		int fd;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(2);
		_exit(cport_post_fd(fd, 1234, 0xfeedULL) ? 3 : 0);
	}
	close(sv[1]);
	port_init(&port, 4);
	ck_assert_int_eq(send_fd(sv[0], port.ring_fd), 0);
	ck_assert_int_eq(cport_get_queued_completion(&port, &cqe, 10000 * MS), 0);
	ck_assert_uint_eq(cqe.user_data, 0xfeedULL);
	ck_assert_int_eq(cqe.res, 1234);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(sv[0]);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(get_queued_takes_what_is_there)
{
	struct cport_cqe out[8];
	struct cport port;
	unsigned int i;

	port_init(&port, 4);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(cport_post(&port, (int32_t)i, 10 + i), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 2,
								  0)), 2);
	ck_assert_uint_eq(out[0].user_data, 10);
	ck_assert_uint_eq(out[1].user_data, 11);
	ck_assert_int_eq(cport_get_queued_completions(&port, out, 8,
						      CPORT_INFINITE), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(out[i].user_data, 12 + i);
		ck_assert_int_eq(out[i].res, (int32_t)(2 + i));
	}
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(get_queued_times_out_when_empty)
{
	struct cport_cqe out[4];
	struct cport port;
	uint64_t t0;

	port_init(&port, 4);
	t0 = now_ns();
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 4,
								  30 * MS)),
			 -ETIME);
	ck_assert_uint_ge(now_ns() - t0, 30 * MS);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 4,
								  0)), -ETIME);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, out,
								 20 * MS)),
			 -ETIME);
	cport_queue_exit(&port);
}
END_TEST

static void *late_post(void *arg)
{
	sleep_ns(50 * MS);
	cport_post(arg, 7, 8);
	return NULL;
}

START_TEST(get_queued_infinite_waits_for_late_post)
{
	struct cport_cqe out[4];
	struct cport port;
	pthread_t tid;
	uint64_t t0;

	port_init(&port, 4);
	t0 = now_ns();
	ck_assert_int_eq(pthread_create(&tid, NULL, late_post, &port), 0);
	ck_assert_int_eq(cport_get_queued_completions(&port, out, 4,
						      CPORT_INFINITE), 1);
	ck_assert_uint_ge(now_ns() - t0, 50 * MS);
	ck_assert_uint_eq(out[0].user_data, 8);
	ck_assert_int_eq(out[0].res, 7);
	pthread_join(tid, NULL);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(get_queued_is_interrupted_by_signal)
{
	struct cport_cqe out[4];
	struct cport port;

	port_init(&port, 4);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out, 4,
								  CPORT_INFINITE)),
			 -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	arm_sigalrm_ms(50);
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completion(&port, out,
								 10000 * MS)),
			 -EINTR);
	ck_assert_int_ge(sigalrm_stop(), 1);
	cport_queue_exit(&port);
}
END_TEST

/* Posts total CQEs with cport_post(), retrying while the CQ is full. */
static void device_produce(struct consumers *c)
{
	unsigned int i;
	int ret;

	for (i = 0; i < c->total; i++) {
		while ((ret = cport_post(c->port, (int32_t)(i * 3), i)) ==
		       -EAGAIN)
			sched_yield();
		ck_assert_int_eq(ret, 0);
	}
}

START_TEST(get_queued_threads_take_each_cqe_once)
{
	struct cport port;
	struct consumers c = {
		.port = &port,
		.total = 20000,
		.timeout_ns = 50 * MS,
	};

	port_init(&port, 32);	/* CQ: 64 */
	run_consumers(&c, device_produce);
	ck_assert_uint_eq(cport_cq_ready(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

struct timer_consumer {
	struct cport *port;
	int32_t sum;		/* atomic */
	bool done;		/* atomic */
	unsigned int errors;	/* atomic */
};

static void *timer_consumer_main(void *arg)
{
	struct timer_consumer *t = arg;
	struct cport_cqe out[4];

	while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
		int i, ret = cport_get_queued_completions(t->port, out, 4,
							   20 * MS);

		if (ret == -ETIME)
			continue;
		if (ret < 0) {
			__atomic_add_fetch(&t->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		for (i = 0; i < ret; i++) {
			__atomic_add_fetch(&t->sum, out[i].res,
					   __ATOMIC_RELAXED);
			if (!(out[i].flags & CPORT_CQE_F_MORE))
				__atomic_store_n(&t->done, true,
						 __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

START_TEST(get_queued_threads_reap_timer_shots)
{
	struct timer_consumer t = { 0 };
	struct cport_sqe *sqe;
	struct cport port;
	pthread_t tid[2];
	int i;

	port_init(&port, 4);
	t.port = &port;
	sqe = cport_get_sqe(&port);
	cport_prep_timer(sqe, MS, MS, 50, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL,
						timer_consumer_main, &t), 0);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	ck_assert_uint_eq(t.errors, 0);
	ck_assert_int_eq(t.sum, 50);
	cport_queue_exit(&port);
}
END_TEST

/* ---- thread pools ---- */

START_TEST(pool_calls_without_the_feature)
{
	struct cport port;

	fake_port_init(&port, 4, 8, 0);
	ck_assert_uint_eq(port.features & CPORT_FEAT_CONCURRENCY, 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_concurrency(&port)), 0);
	/* nothing to leave; no system call (the fake port has no fd) */
	ck_assert_int_eq(KEEP_ERRNO(cport_pool_leave(&port)), 0);
	fake_port_free(&port);
}
END_TEST

/* A numeric field of the port's fdinfo, or -1. */
static long long pool_fdinfo(struct cport *port, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", port->ring_fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtoll(line + klen + 1, NULL, 0);
	fclose(f);
	return v;
}

START_TEST(concurrency_is_reported)
{
	struct cport_params p = { .concurrency = 3 };
	struct cport port;

	port_init(&port, 4);
	ck_assert_uint_eq(port.features & CPORT_FEAT_CONCURRENCY,
			  CPORT_FEAT_CONCURRENCY);
	ck_assert_int_eq(KEEP_ERRNO(cport_concurrency(&port)),
			 sysconf(_SC_NPROCESSORS_ONLN));
	cport_queue_exit(&port);
	ck_assert_int_eq(cport_queue_init_params(4, &port, &p), 0);
	ck_assert_uint_eq(p.concurrency, 3);
	ck_assert_int_eq(cport_concurrency(&port), 3);
	ck_assert_int_eq(pool_fdinfo(&port, "pool_concurrency"), 3);
	cport_queue_exit(&port);
	p.concurrency = CPORT_CONCURRENCY_MAX + 1;
	ck_assert_int_eq(KEEP_ERRNO(cport_queue_init_params(4, &port, &p)),
			 -EINVAL);
}
END_TEST

START_TEST(get_queued_counts_the_caller_until_leave)
{
	struct cport_params p = { .concurrency = 1 };
	struct cport_cqe out[300];
	struct cport port;
	unsigned int i;

	ck_assert_int_eq(cport_queue_init_params(256, &port, &p), 0);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(cport_post(&port, 0, i), 0);
	/* at most CPORT_GETQ_MAX at once through the kernel */
	ck_assert_int_eq(KEEP_ERRNO(cport_get_queued_completions(&port, out,
								  300, 0)),
			 CPORT_GETQ_MAX);
	for (i = 0; i < CPORT_GETQ_MAX; i++)
		ck_assert_uint_eq(out[i].user_data, i);
	ck_assert_int_eq(pool_fdinfo(&port, "pool_running"), 1);
	ck_assert_int_eq(KEEP_ERRNO(cport_pool_leave(&port)), 0);
	ck_assert_int_eq(pool_fdinfo(&port, "pool_running"), 0);
	ck_assert_int_eq(cport_get_queued_completion(&port, out, 0), 0);
	ck_assert_uint_eq(out[0].user_data, CPORT_GETQ_MAX);
	ck_assert_int_eq(pool_fdinfo(&port, "pool_running"), 1);
	ck_assert_int_eq(cport_pool_leave(&port), 0);
	ck_assert_int_eq(cport_pool_leave(&port), 0);
	cport_queue_exit(&port);
}
END_TEST

struct pool_getter {
	struct cport *port;
	int64_t timeout_ns;
	int ret;
	bool done;	/* atomic */
	struct cport_cqe cqe;
};

static void *pool_getter_main(void *arg)
{
	struct pool_getter *g = arg;

	g->ret = cport_get_queued_completion(g->port, &g->cqe, g->timeout_ns);
	cport_pool_leave(g->port);
	__atomic_store_n(&g->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Wait for @g without blocking: a running pool thread that blocks lends
 * its slot (preempt notifiers), which would let @g in.
 */
static void pool_getter_spin(struct pool_getter *g, pthread_t tid)
{
	while (!__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
		;
	pthread_join(tid, NULL);
}

START_TEST(get_queued_waits_for_a_slot)
{
	struct cport_params p = { .concurrency = 1 };
	struct pool_getter g = { .timeout_ns = 30 * MS };
	struct cport_cqe out;
	struct cport port;
	pthread_t tid;

	ck_assert_int_eq(cport_queue_init_params(4, &port, &p), 0);
	g.port = &port;
	ck_assert_int_eq(cport_post(&port, 1, 1), 0);
	ck_assert_int_eq(cport_post(&port, 2, 2), 0);
	ck_assert_int_eq(cport_get_queued_completion(&port, &out, 0), 0);
	ck_assert_uint_eq(out.user_data, 1);
	/* we run: another thread finds the CQE but no slot */
	ck_assert_int_eq(pthread_create(&tid, NULL, pool_getter_main, &g), 0);
	pool_getter_spin(&g, tid);
	ck_assert_int_eq(g.ret, -ETIME);
	ck_assert_uint_eq(cport_cq_ready(&port), 1);
	/* once we leave, it gets it */
	ck_assert_int_eq(cport_pool_leave(&port), 0);
	g.timeout_ns = 10000 * MS;
	g.done = false;
	ck_assert_int_eq(pthread_create(&tid, NULL, pool_getter_main, &g), 0);
	pthread_join(tid, NULL);
	ck_assert_int_eq(g.ret, 0);
	ck_assert_uint_eq(g.cqe.user_data, 2);
	ck_assert_int_eq(g.cqe.res, 2);
	cport_queue_exit(&port);
}
END_TEST

Suite *iocp_host_suite(void)
{
	Suite *s = suite_create("iocp");
	int n = sizeof(starts) / sizeof(starts[0]);
	TCase *tc;

	ADD_TESTS(s, tcase_create("post_errors"), 0,
		  post_fd_to_bad_fd_is_ebadf,
		  post_fd_to_non_port_is_enotty);

	tc = tcase_create("get_queued");
	tcase_add_test(tc, get_queued_rejects_bad_arguments);
	ADD_TESTS(s, tc, n,
		  get_queued_takes_a_batch_in_order,
		  get_queued_detects_corrupt_head);

	tc = tcase_create("get_queued_threads");
	tcase_set_timeout(tc, 60);
	ADD_TESTS(s, tc, n,
		  get_queued_threads_take_each_cqe_once_fake,
		  get_queued_threads_race_on_full_ring_fake);

	ADD_TESTS(s, tcase_create("pool"), 0,
		  pool_calls_without_the_feature);
	return s;
}

Suite *iocp_device_suite(void)
{
	Suite *s = suite_create("iocp");

	ADD_TESTS(s, tcase_device("post"), 0,
		  post_then_get_queued_completion,
		  post_to_full_cq_is_eagain,
		  post_fd_to_other_port,
		  post_fd_before_setup_is_ebadfd,
		  post_fd_to_non_port_is_enotty,
		  post_fd_from_other_process_via_scm_rights);
	ADD_TESTS(s, tcase_device("get_queued"), 0,
		  get_queued_takes_what_is_there,
		  get_queued_times_out_when_empty,
		  get_queued_infinite_waits_for_late_post,
		  get_queued_is_interrupted_by_signal);
	ADD_TESTS(s, tcase_device("get_queued_threads"), 0,
		  get_queued_threads_take_each_cqe_once,
		  get_queued_threads_reap_timer_shots);
	ADD_TESTS(s, tcase_device("pool"), 0,
		  concurrency_is_reported,
		  get_queued_counts_the_caller_until_leave,
		  get_queued_waits_for_a_slot);
	return s;
}
