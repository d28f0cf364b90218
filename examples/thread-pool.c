// SPDX-License-Identifier: MIT
/*
 * Example 7: a thread pool on one port, IOCP style.
 *
 * Four worker threads wait on the same port with
 * cport_get_queued_completion(); a producer thread posts work items to it
 * with cport_post(). Each item is a completion that exactly one worker
 * takes. The port was set up with a concurrency value of 2: however many
 * workers wait, at most two of them run at once (a worker counts as
 * running from the moment it takes a completion until it asks for the
 * next one), so a machine with two CPUs is not oversubscribed. Waiters
 * are released newest first, so the threads that just ran, whose caches
 * are warm, tend to get the next items while the others stay asleep.
 *
 * The workers only compute (they do not sleep or print while they count as
 * running: a worker that sleeps elsewhere lends its slot to another). They
 * log what they did in memory, printed once the pool is done: the log
 * shows which thread ran what, and the most workers seen running at once.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <pthread.h>

#include <cport.h>

#include "common.h"

#define NR_WORKERS	4
#define CONCURRENCY	2
#define NR_ITEMS	16
#define SPAN		20000	/* numbers tested for primality per item */
#define UD_QUIT		0	/* a post that tells one worker to leave */
#define UD_ITEM		0x1000	/* UD_ITEM + k: work item k */
#define WAIT_NS		5000000000LL

struct log_entry {
	int item;
	int worker;
	int running;	/* workers running when it started, itself included */
	unsigned int primes;
	double start_ms, end_ms;
};

static struct cport port;
static struct log_entry runlog[NR_ITEMS];
static int log_len;		/* atomic */
static int running, max_running;	/* atomic */
static int taken[NR_ITEMS];	/* atomic: times item k was taken */
static int quits, errors;	/* atomic */

static unsigned int count_primes(unsigned int from, unsigned int to)
{
	unsigned int n, d, found = 0;

	for (n = from < 2 ? 2 : from; n < to; n++) {
		for (d = 2; d * d <= n; d++)
			if (n % d == 0)
				break;
		if (d * d > n)
			found++;
	}
	return found;
}

static void note_running(int now)
{
	int max = __atomic_load_n(&max_running, __ATOMIC_RELAXED);

	while (now > max &&
	       !__atomic_compare_exchange_n(&max_running, &max, now, false,
					    __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg, ret, now, k;
	struct cport_cqe cqe;
	struct log_entry *e;

	for (;;) {
		/* Not running from here: asking for work gives the slot back. */
		ret = cport_get_queued_completion(&port, &cqe, WAIT_NS);
		if (ret) {
			printf("FAIL: worker %d: cport_get_queued_completion: "
			       "%s\n", id, strerror(-ret));
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		now = __atomic_add_fetch(&running, 1, __ATOMIC_RELAXED);
		note_running(now);
		if (cqe.user_data == UD_QUIT) {
			__atomic_sub_fetch(&running, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&quits, 1, __ATOMIC_RELAXED);
			ret = cport_pool_leave(&port);
			if (ret) {
				printf("FAIL: worker %d: cport_pool_leave: %s\n",
				       id, strerror(-ret));
				__atomic_add_fetch(&errors, 1,
						   __ATOMIC_RELAXED);
			}
			return NULL;
		}
		k = (int)(cqe.user_data - UD_ITEM);
		if (k < 0 || k >= NR_ITEMS || cqe.res != k) {
			printf("FAIL: worker %d: user_data %#llx res %d\n", id,
			       (unsigned long long)cqe.user_data, cqe.res);
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&running, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&taken[k], 1, __ATOMIC_RELAXED);
		e = &runlog[__atomic_fetch_add(&log_len, 1, __ATOMIC_RELAXED)];
		e->item = k;
		e->worker = id;
		e->running = now;
		e->start_ms = ex_ms();
		e->primes = count_primes(k * SPAN, (k + 1) * SPAN);
		e->end_ms = ex_ms();
		__atomic_sub_fetch(&running, 1, __ATOMIC_RELAXED);
	}
}

static void *producer(void *arg)
{
	int k, ret;

	(void)arg;
	for (k = 0; k < NR_ITEMS; k++) {
		ret = cport_post(&port, k, UD_ITEM + k);
		if (ret) {
			printf("FAIL: producer: cport_post: %s\n",
			       strerror(-ret));
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		}
	}
	for (k = 0; k < NR_WORKERS; k++)
		if (cport_post(&port, 0, UD_QUIT))
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	int i, ret, per_worker[NR_WORKERS] = { 0 };
	pthread_t workers[NR_WORKERS], prod;
	struct cport_params p;
	unsigned int total = 0;
	long val;

	ex_start();
	memset(&p, 0, sizeof(p));
	p.concurrency = CONCURRENCY;
	ret = cport_queue_init_params(64, &port, &p);
	if (ret < 0) {
		printf("cannot set up a port: %s (is cport.ko loaded?)\n",
		       strerror(-ret));
		return 1;
	}
	if (!(port.features & CPORT_FEAT_CONCURRENCY)) {
		cport_queue_exit(&port);
		return ex_skip("thread-pool",
			       "the module has no CPORT_FEAT_CONCURRENCY");
	}
	ret = cport_concurrency(&port);
	ex_say("main", "port fd %d set up with concurrency %d: "
	       "cport_concurrency() -> %d", port.ring_fd, CONCURRENCY, ret);
	EX_CHECK(ret == CONCURRENCY, "cport_concurrency: %d", ret);
	if (!ex_fdinfo(port.ring_fd, "concurrency", &val)) {
		ex_say("main", "fdinfo says concurrency: %ld", val);
		EX_CHECK(val == CONCURRENCY, "fdinfo concurrency %ld", val);
	}
	/* Touch the log now: no page fault while a worker runs. */
	memset(runlog, 0, sizeof(runlog));

	for (i = 0; i < NR_WORKERS; i++)
		if (pthread_create(&workers[i], NULL, worker, (void *)(long)i)) {
			printf("pthread_create failed\n");
			return 1;
		}
	ex_say("main", "%d workers wait in cport_get_queued_completion()",
	       NR_WORKERS);
	ex_say("main", "producer thread posts %d work items, then %d quits",
	       NR_ITEMS, NR_WORKERS);
	if (pthread_create(&prod, NULL, producer, NULL)) {
		printf("pthread_create failed\n");
		return 1;
	}
	pthread_join(prod, NULL);
	for (i = 0; i < NR_WORKERS; i++)
		pthread_join(workers[i], NULL);
	ex_say("main", "all workers left; what each one did:");

	for (i = 0; i < log_len; i++) {
		struct log_entry *e = &runlog[i];

		ex_say("log", "item %2d on worker %d (%d running): %u primes in "
		       "[%d, %d), %.1f-%.1f ms", e->item, e->worker,
		       e->running, e->primes, e->item * SPAN,
		       (e->item + 1) * SPAN, e->start_ms, e->end_ms);
		per_worker[e->worker]++;
		total += e->primes;
	}
	for (i = 0; i < NR_WORKERS; i++)
		ex_say("main", "worker %d ran %d items", i, per_worker[i]);

	EX_CHECK(!errors, "%d errors", errors);
	EX_CHECK(log_len == NR_ITEMS, "%d items run, want %d", log_len,
		 NR_ITEMS);
	for (i = 0; i < NR_ITEMS; i++)
		EX_CHECK(taken[i] == 1, "item %d taken %d times", i, taken[i]);
	EX_CHECK(quits == NR_WORKERS, "%d workers quit", quits);
	/* Primes below NR_ITEMS * SPAN = 320000: 27608. */
	EX_CHECK(total == 27608, "%u primes in all", total);
	ex_say("main", "at most %d workers ran at once, with %d in the pool and "
	       "a concurrency value of %d", max_running, NR_WORKERS,
	       CONCURRENCY);
	EX_CHECK(max_running >= 1 && max_running <= CONCURRENCY,
		 "%d workers ran at once", max_running);
	cport_queue_exit(&port);
	return ex_finish("thread-pool");
}
