// SPDX-License-Identifier: MIT
/*
 * Example 7: a thread pool on one port, IOCP style.
 *
 * Four worker threads wait on the same port with
 * cport_get_queued_completion(); work items are completions posted to it
 * with cport_post(), and each one is taken by exactly one worker. The port
 * was set up with a concurrency value of 2: however many workers wait, at
 * most two of them run at once (a worker counts as running from the moment
 * it takes a completion until it asks for the next one), so two CPUs are
 * not oversubscribed. Waiters are released newest first: the threads that
 * just ran, whose caches are warm, tend to get the next items while the
 * others stay asleep.
 *
 * Part 1: a producer thread posts sixteen items of computing. The workers
 * neither sleep nor print while they run; they log in memory what they
 * did, printed once the part is over: which thread ran what, and how many
 * ran at once, which never exceeds the concurrency value.
 *
 * Part 2: a worker that blocks lends its slot. Two items wait on a pipe
 * that only a third item writes to. Both take the two slots and block;
 * if the port did not let a third worker run meanwhile, nobody would ever
 * write to the pipe. (This needs preempt notifiers in the kernel: fdinfo
 * "pool_block_release: 1"; without them the part is skipped.)
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>

#include <cport.h>

#include "common.h"

#define NR_WORKERS	4
#define CONCURRENCY	2
#define NR_ITEMS	16
#define SPAN		20000	/* numbers tested for primality per item */
#define NR_WAITERS	2	/* part 2: items that wait for the gate */
#define NR_LOG		(NR_ITEMS + NR_WAITERS + 1)

/* user_data of the posts */
#define UD_QUIT		0	/* tells one worker to leave */
#define UD_ITEM		0x1000	/* + k: part 1, item k */
#define UD_WAIT		0x2000	/* part 2: wait for the gate */
#define UD_OPEN		0x3000	/* part 2: open the gate */

#define WAIT_NS		5000000000LL	/* longest wait for work */
#define GATE_MS		5000		/* longest wait at the gate */

struct log_entry {
	uint64_t what;	/* user_data of the item */
	int worker;
	int running;	/* workers running when it started, itself included */
	unsigned int primes;
	double start_ms, end_ms;
};

static struct cport port;
static struct log_entry runlog[NR_LOG];
static int log_len;			/* atomic */
static int running, max_running;	/* atomic */
static int taken[NR_ITEMS];		/* atomic: times item k was taken */
static int done, quits, errors;		/* atomic */
static int gate[2];			/* part 2: the pipe */

#define ATOMIC_INC(p)	__atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define ATOMIC_DEC(p)	__atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)
#define ATOMIC_GET(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)

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
	int max = ATOMIC_GET(&max_running);

	while (now > max &&
	       !__atomic_compare_exchange_n(&max_running, &max, now, false,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
}

/* Part 2: wait until the gate gives this worker a byte. 0, or -1. */
static int wait_at_gate(void)
{
	struct pollfd pfd = { .fd = gate[0], .events = POLLIN };
	char c;

	for (;;) {
		/* Blocks: the worker's slot goes to another worker. */
		if (poll(&pfd, 1, GATE_MS) != 1)
			return -1;
		if (read(gate[0], &c, 1) == 1)
			return 0;
		if (errno != EAGAIN)	/* EAGAIN: the other waiter took it */
			return -1;
	}
}

/* Run one item; the caller counts as running. */
static void run_item(int id, const struct cport_cqe *cqe, int now)
{
	struct log_entry *e = &runlog[ATOMIC_INC(&log_len) - 1];
	uint64_t ud = cqe->user_data;
	int k = (int)(ud - UD_ITEM);

	e->what = ud;
	e->worker = id;
	e->running = now;
	e->start_ms = ex_ms();
	if (ud >= UD_ITEM && ud < UD_ITEM + NR_ITEMS && cqe->res == k) {
		ATOMIC_INC(&taken[k]);
		e->primes = count_primes(k * SPAN, (k + 1) * SPAN);
	} else if (ud == UD_WAIT) {
		if (wait_at_gate()) {
			printf("FAIL: worker %d: nobody opened the gate "
			       "within %d ms\n", id, GATE_MS);
			ATOMIC_INC(&errors);
		}
	} else if (ud == UD_OPEN) {
		if (write(gate[1], "gg", NR_WAITERS) != NR_WAITERS)
			ATOMIC_INC(&errors);
	} else {
		printf("FAIL: worker %d: user_data %#llx res %d\n", id,
		       (unsigned long long)ud, cqe->res);
		ATOMIC_INC(&errors);
	}
	e->end_ms = ex_ms();
}

static void *worker(void *arg)
{
	int id = (int)(long)arg, ret, now;
	struct cport_cqe cqe;

	for (;;) {
		/* Asking for work gives the slot back. */
		ret = cport_get_queued_completion(&port, &cqe, WAIT_NS);
		if (ret) {
			printf("FAIL: worker %d: cport_get_queued_completion: "
			       "%s\n", id, strerror(-ret));
			ATOMIC_INC(&errors);
			return NULL;
		}
		if (cqe.user_data == UD_QUIT)
			break;
		now = ATOMIC_INC(&running);
		note_running(now);
		run_item(id, &cqe, now);
		ATOMIC_DEC(&running);
		ATOMIC_INC(&done);
	}
	ATOMIC_INC(&quits);
	ret = cport_pool_leave(&port);
	if (ret) {
		printf("FAIL: worker %d: cport_pool_leave: %s\n", id,
		       strerror(-ret));
		ATOMIC_INC(&errors);
	}
	return NULL;
}

static void post(int32_t res, uint64_t user_data)
{
	int ret = cport_post(&port, res, user_data);

	if (ret) {
		printf("FAIL: cport_post: %s\n", strerror(-ret));
		ATOMIC_INC(&errors);
	}
}

static void *producer(void *arg)
{
	int k;

	(void)arg;
	for (k = 0; k < NR_ITEMS; k++)
		post(k, UD_ITEM + k);
	return NULL;
}

/* Wait until @n items are done, at most 10 s: 0, or -1. */
static int wait_done(int n)
{
	int i;

	for (i = 0; i < 1000 && ATOMIC_GET(&done) < n; i++)
		usleep(10 * 1000);
	return ATOMIC_GET(&done) < n ? -1 : 0;
}

static void print_log(int from, int to)
{
	int i;

	for (i = from; i < to; i++) {
		struct log_entry *e = &runlog[i];

		if (e->what >= UD_ITEM && e->what < UD_ITEM + NR_ITEMS)
			ex_say("log", "item %2d on worker %d (%d running): %u "
			       "primes, %.1f-%.1f ms", (int)(e->what - UD_ITEM),
			       e->worker, e->running, e->primes, e->start_ms,
			       e->end_ms);
		else
			ex_say("log", "%s on worker %d (%d running): %.1f-%.1f "
			       "ms", e->what == UD_WAIT ? "wait at the gate" :
			       "open the gate   ", e->worker, e->running,
			       e->start_ms, e->end_ms);
	}
}

/* Part 1: computing items, at most CONCURRENCY workers at once. */
static void part1(void)
{
	int i, per_worker[NR_WORKERS] = { 0 };
	unsigned int total = 0;
	pthread_t prod;

	ex_say("main", "part 1: a producer thread posts %d work items",
	       NR_ITEMS);
	if (pthread_create(&prod, NULL, producer, NULL)) {
		printf("FAIL: pthread_create\n");
		exit(1);
	}
	pthread_join(prod, NULL);
	EX_CHECK(!wait_done(NR_ITEMS), "%d items of %d done", done, NR_ITEMS);
	print_log(0, log_len);
	for (i = 0; i < log_len; i++) {
		per_worker[runlog[i].worker]++;
		total += runlog[i].primes;
	}
	for (i = 0; i < NR_WORKERS; i++)
		ex_say("main", "worker %d ran %d items", i, per_worker[i]);
	EX_CHECK(log_len == NR_ITEMS, "%d items run, want %d", log_len,
		 NR_ITEMS);
	for (i = 0; i < NR_ITEMS; i++)
		EX_CHECK(taken[i] == 1, "item %d taken %d times", i, taken[i]);
	/* Primes below NR_ITEMS * SPAN = 320000: 27608. */
	EX_CHECK(total == 27608, "%u primes in all", total);
	ex_say("main", "part 1: at most %d workers ran at once, of %d, with a "
	       "concurrency value of %d", max_running, NR_WORKERS,
	       CONCURRENCY);
	EX_CHECK(max_running >= 1 && max_running <= CONCURRENCY,
		 "%d workers ran at once", max_running);
}

/*
 * Part 2: two workers block, a third runs and unblocks them. 0, or 1 when
 * the kernel cannot show it.
 */
static int part2(void)
{
	int first = log_len, i, waiters = 0;
	struct log_entry *opener = NULL;
	long lends;

	if (ex_fdinfo(port.ring_fd, "pool_block_release", &lends) || !lends) {
		ex_say("main", "part 2 SKIPPED: fdinfo pool_block_release is "
		       "not 1: a blocking worker keeps its slot here");
		return 1;
	}
	if (pipe(gate) || fcntl(gate[0], F_SETFL, O_NONBLOCK)) {
		perror("pipe");
		exit(1);
	}
	ex_say("main", "part 2: post %d items that wait at a gate, then one "
	       "that opens it", NR_WAITERS);
	for (i = 0; i < NR_WAITERS; i++)
		post(0, UD_WAIT);
	post(0, UD_OPEN);
	EX_CHECK(!wait_done(NR_ITEMS + NR_WAITERS + 1),
		 "part 2: %d items of %d done", done - NR_ITEMS,
		 NR_WAITERS + 1);
	print_log(first, log_len);
	for (i = first; i < log_len; i++)
		if (runlog[i].what == UD_OPEN)
			opener = &runlog[i];
	EX_CHECK(opener, "nobody opened the gate");
	/*
	 * Both waiters were still in their items when the opener started:
	 * it could only run because a blocked waiter lent it its slot.
	 */
	for (i = first; opener && i < log_len; i++)
		if (runlog[i].what == UD_WAIT) {
			waiters++;
			EX_CHECK(runlog[i].end_ms >= opener->start_ms,
				 "a waiter left at %.1f ms, before the gate "
				 "opened at %.1f ms", runlog[i].end_ms,
				 opener->start_ms);
		}
	EX_CHECK(waiters == NR_WAITERS, "%d waiters ran", waiters);
	if (opener)
		ex_say("main", "part 2: the waiters blocked and lent their "
		       "slots; worker %d opened the gate, %d workers in items",
		       opener->worker, opener->running);
	close(gate[0]);
	close(gate[1]);
	return 0;
}

int main(void)
{
	struct cport_params p;
	pthread_t workers[NR_WORKERS];
	long val;
	int i, ret, skipped;

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
	ret = ex_fdinfo(port.ring_fd, "pool_concurrency", &val);
	ex_say("main", "fdinfo says pool_concurrency: %ld", ret ? -1 : val);
	EX_CHECK(!ret && val == CONCURRENCY, "fdinfo pool_concurrency %ld",
		 ret ? -1 : val);
	/*
	 * No page fault while a worker runs: a fault that waits for a lock
	 * is blocking too, and would lend the worker's slot.
	 */
	memset(runlog, 0, sizeof(runlog));
	count_primes(0, 100);

	for (i = 0; i < NR_WORKERS; i++)
		if (pthread_create(&workers[i], NULL, worker, (void *)(long)i)) {
			printf("FAIL: pthread_create\n");
			return 1;
		}
	ex_say("main", "%d workers wait in cport_get_queued_completion()",
	       NR_WORKERS);

	part1();
	skipped = part2();

	for (i = 0; i < NR_WORKERS; i++)
		post(0, UD_QUIT);
	for (i = 0; i < NR_WORKERS; i++)
		pthread_join(workers[i], NULL);
	ex_say("main", "%d workers took a quit and left the pool", quits);
	EX_CHECK(quits == NR_WORKERS, "%d workers quit", quits);
	EX_CHECK(!errors, "%d errors", errors);
	cport_queue_exit(&port);
	if (skipped && !ex_failures)
		return ex_skip("thread-pool", "part 1 did what it shows, "
			       "part 2 could not run here");
	return ex_finish("thread-pool");
}
