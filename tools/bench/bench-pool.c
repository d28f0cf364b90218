// SPDX-License-Identifier: MIT
/*
 * bench-pool: a pool of worker threads fed by producer threads.
 *
 * W workers (default 8) take work items one at a time, do a fixed amount
 * of integer work on each (-w iterations of a 64-bit LCG, no system call),
 * and mark it done. P producers (default 2) each post a burst of B items
 * (default 32), then sleep on a futex until the workers have done all B,
 * then post the next burst: a closed loop, so the load is the same for
 * every mechanism and the queue never holds more than P * B items.
 * Mechanisms (-i):
 *
 *   cport   one port; a producer posts each item with cport_post()
 *           (CPORT_IOC_POST, one system call), a worker takes one with
 *           cport_get_queued_completion() (CPORT_IOC_GETQ when the module
 *           has CPORT_FEAT_CONCURRENCY, which then also enforces the
 *           port's concurrency value: -c, default 0 = the number of
 *           online CPUs; else libcport's shared CQ reaping, no limit).
 *   epoll   the common Linux design: a work queue guarded by a mutex, and
 *           one eventfd in one epoll set that all workers wait on. A
 *           producer pushes the item under the mutex and write()s 1 to the
 *           eventfd (one system call). A worker pops items while the queue
 *           has some, and calls epoll_wait() when it is empty. The eventfd
 *           is registered EPOLLIN | EPOLLET | EPOLLEXCLUSIVE: epoll_wait()
 *           callers of one epoll set sleep as exclusive waiters, so each
 *           write wakes one of them, and edge triggering keeps epoll from
 *           putting the ready eventfd back on its ready list and waking
 *           the next waiter, and the next (the herd a level-triggered
 *           eventfd shared by several threads causes). Nobody reads the
 *           eventfd: with EPOLLET a write is an edge whatever the count,
 *           and the 64-bit count cannot fill in a run.
 *
 * Both move one item per system call on each side; what differs is how
 * many threads the kernel wakes, and how often. After a warm-up, the run
 * counts the items done and the context switches of all the process's
 * threads (voluntary + nonvoluntary, from /proc/self/task/<tid>/status)
 * during -t ms, and prints one line:
 *
 *   bench=pool impl=cport workers=8 producers=2 burst=32 work=500
 *   concurrency=2 getq=ioctl items=... secs=... items_per_sec=...
 *   vcsw=... ivcsw=... cs_per_item=...
 *
 * (on one line; concurrency=none getq=ring for the library's reaping,
 * concurrency=- for epoll). Every item is checked: a CQE must carry the
 * res its producer posted with it, and every item of a burst must be done
 * exactly once; anything else ends the run with an error. Exit status 2
 * ("skip=") if /dev/cport is missing.
 *
 * Usage: bench-pool -i cport|epoll [-t MS] [-W WORKERS] [-p PRODUCERS]
 *                   [-b BURST] [-w WORK] [-c CONCURRENCY]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <cport.h>

#define MAX_WORKERS	64
#define MAX_PRODUCERS	8
#define MAX_BURST	256

/* An item: the producer's index above bit 32, its sequence number below. */
#define ITEM_QUIT	(~0ULL)
#define ITEM(prod, seq)	(((uint64_t)(prod) << 32) | (uint32_t)(seq))
#define ITEM_PROD(it)	((unsigned int)((it) >> 32))
/* The res a cport item carries: its sequence number, as a positive s32. */
#define ITEM_RES(it)	((int32_t)((it) & 0x7fffffff))

struct producer {
	struct pool *p;
	unsigned int idx;
	uint32_t seq;
	/* items of the current burst not done yet; the futex word */
	_Atomic uint32_t pending;
} __attribute__((aligned(64)));

struct pool {
	const struct mech *m;	/* -i */
	unsigned int ms, workers, producers, burst, work;
	int conc;		/* -c; 0: the default */
	char head[192];
	atomic_int stop;

	_Atomic uint64_t done __attribute__((aligned(64)));
	struct producer prod[MAX_PRODUCERS];

	/* cport */
	struct cport port;

	/* epoll: a ring of MAX_PRODUCERS * MAX_BURST + MAX_WORKERS items */
	pthread_mutex_t lock;
	uint64_t *q;
	unsigned int qhead, qtail, qsize;	/* under lock */
	int efd, ep;
};

/* ---- cport ------------------------------------------------------------- */

static void cp_setup(struct pool *p)
{
	struct cport_params params = { .concurrency = p->conc };
	const char *getq;
	char conc[16];
	int ret;

	/* P * B items in flight plus the quit items: a CQ of 2 * 256. */
	ret = cport_queue_init_params(256, &p->port, &params);
	if (ret == -ENOENT || ret == -ENODEV)
		bench_skip(p->head, "%s: %s", CPORT_DEVICE_PATH,
			   strerror(-ret));
	if (ret == -EINVAL && p->conc)
		bench_skip(p->head, "cport_queue_init_params with concurrency "
			   "%d: %s (no concurrency limit in this module)",
			   p->conc, strerror(-ret));
	if (ret < 0)
		bench_die(p->head, "cport_queue_init_params: %s",
			  strerror(-ret));
	if (params.cq_entries < p->producers * p->burst + p->workers)
		bench_die(p->head, "CQ of %u entries, want %u", params.cq_entries,
			  p->producers * p->burst + p->workers);
	if (params.features & CPORT_FEAT_CONCURRENCY) {
		/* The value in effect, as the setup reported it. */
		ret = cport_concurrency(&p->port);
		if (ret < 1 || (unsigned int)ret != params.concurrency ||
		    (p->conc && ret != p->conc))
			bench_die(p->head, "cport_concurrency() %d, setup "
				  "said %u, asked for %d", ret,
				  params.concurrency, p->conc);
		snprintf(conc, sizeof(conc), "%d", ret);
		getq = "ioctl";
	} else {
		snprintf(conc, sizeof(conc), "none");
		getq = "ring";
	}
	snprintf(p->head + strlen(p->head), sizeof(p->head) - strlen(p->head),
		 " concurrency=%s getq=%s", conc, getq);
}

static void cp_post(struct pool *p, uint64_t item)
{
	int ret = cport_post(&p->port, ITEM_RES(item), item);

	/* The CQ holds every item that can be in flight: never -EAGAIN. */
	if (ret < 0)
		bench_die(p->head, "cport_post: %s", strerror(-ret));
}

static uint64_t cp_take(struct pool *p)
{
	struct cport_cqe cqe;
	int ret;

	do {
		ret = cport_get_queued_completion(&p->port, &cqe,
						  CPORT_INFINITE);
	} while (ret == -EINTR);
	if (ret < 0)
		bench_die(p->head, "cport_get_queued_completion: %s",
			  strerror(-ret));
	if (cqe.user_data != ITEM_QUIT && cqe.res != ITEM_RES(cqe.user_data))
		bench_die(p->head, "CQE user_data %#llx res %d, want res %d",
			  (unsigned long long)cqe.user_data, cqe.res,
			  ITEM_RES(cqe.user_data));
	if (cqe.user_data == ITEM_QUIT && cqe.res != -1)
		bench_die(p->head, "quit CQE res %d, want -1", cqe.res);
	return cqe.user_data;
}

static void cp_quit(struct pool *p)
{
	int ret = cport_post(&p->port, -1, ITEM_QUIT);

	if (ret < 0)
		bench_die(p->head, "cport_post (quit): %s", strerror(-ret));
}

/*
 * A worker that took its quit item gives its slot back before it exits,
 * as a pool thread that stops taking completions should: on a kernel
 * without preempt notifiers an exited thread's slot comes back only when
 * a waiter finds it exited.
 */
static void cp_quit_taken(struct pool *p)
{
	int ret = cport_pool_leave(&p->port);

	if (ret < 0)
		bench_die(p->head, "cport_pool_leave: %s", strerror(-ret));
}

/* ---- epoll + eventfd + mutex ------------------------------------------- */

static void ep_setup(struct pool *p)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE,
	};

	p->qsize = MAX_PRODUCERS * MAX_BURST + MAX_WORKERS;
	p->q = calloc(p->qsize, sizeof(*p->q));
	if (!p->q)
		bench_die(p->head, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (p->efd < 0 || p->ep < 0)
		bench_die(p->head, "eventfd/epoll_create1: %s", strerror(errno));
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, p->efd, &ev))
		bench_die(p->head, "epoll_ctl: %s", strerror(errno));
	snprintf(p->head + strlen(p->head), sizeof(p->head) - strlen(p->head),
		 " concurrency=- getq=-");
}

static void ep_post(struct pool *p, uint64_t item)
{
	uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	if (p->qtail - p->qhead >= p->qsize)
		bench_die(p->head, "work queue overflow");
	p->q[p->qtail++ % p->qsize] = item;
	pthread_mutex_unlock(&p->lock);
	if (write(p->efd, &one, sizeof(one)) != sizeof(one))
		bench_die(p->head, "eventfd write: %s", strerror(errno));
}

static uint64_t ep_take(struct pool *p)
{
	struct epoll_event ev;
	uint64_t item;
	int n;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->qhead != p->qtail) {
			item = p->q[p->qhead++ % p->qsize];
			pthread_mutex_unlock(&p->lock);
			return item;
		}
		pthread_mutex_unlock(&p->lock);
		/*
		 * An item pushed after we looked comes with a write, and
		 * its edge waits on epoll's ready list: nothing is missed.
		 */
		n = epoll_wait(p->ep, &ev, 1, -1);
		if (n < 0 && errno != EINTR)
			bench_die(p->head, "epoll_wait: %s", strerror(errno));
	}
}

static void ep_quit(struct pool *p)
{
	ep_post(p, ITEM_QUIT);
}

/*
 * A worker that took a quit item leaves without looking at the queue
 * again, and the write that came with the next quit item may have woken
 * a worker that found the edge already taken: pass the wake-up on.
 */
static void ep_quit_taken(struct pool *p)
{
	uint64_t one = 1;
	int more;

	pthread_mutex_lock(&p->lock);
	more = p->qhead != p->qtail;
	pthread_mutex_unlock(&p->lock);
	if (more && write(p->efd, &one, sizeof(one)) != sizeof(one))
		bench_die(p->head, "eventfd write: %s", strerror(errno));
}

/* ---- the threads ------------------------------------------------------- */

struct mech {
	const char *name;	/* -i */
	void (*setup)(struct pool *p);
	void (*post)(struct pool *p, uint64_t item);
	uint64_t (*take)(struct pool *p);
	void (*quit)(struct pool *p);
	void (*quit_taken)(struct pool *p);
};

static const struct mech mechs[] = {
	{ "cport", cp_setup, cp_post, cp_take, cp_quit, cp_quit_taken },
	{ "epoll", ep_setup, ep_post, ep_take, ep_quit, ep_quit_taken },
};

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* The work an item stands for: @n steps of an LCG, no system call. */
static uint64_t work(uint64_t x, unsigned int n)
{
	while (n--)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	volatile uint64_t sink;
	struct producer *pr;
	uint64_t item;
	uint32_t left;

	for (;;) {
		item = p->m->take(p);
		if (item == ITEM_QUIT) {
			if (p->m->quit_taken)
				p->m->quit_taken(p);
			break;
		}
		if (ITEM_PROD(item) >= p->producers)
			bench_die(p->head, "item %#llx of no producer",
				  (unsigned long long)item);
		sink = work(item, p->work);
		(void)sink;
		pr = &p->prod[ITEM_PROD(item)];
		atomic_fetch_add_explicit(&p->done, 1, memory_order_relaxed);
		left = atomic_fetch_sub(&pr->pending, 1);
		if (left == 0)
			bench_die(p->head, "item %#llx done twice, or not "
				  "posted", (unsigned long long)item);
		if (left == 1)
			futex(&pr->pending, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

static void *producer(void *arg)
{
	struct producer *pr = arg;
	struct pool *p = pr->p;
	unsigned int i;
	uint32_t v;

	while (!atomic_load(&p->stop)) {
		atomic_store(&pr->pending, p->burst);
		for (i = 0; i < p->burst; i++)
			p->m->post(p, ITEM(pr->idx, pr->seq++));
		while ((v = atomic_load(&pr->pending)) != 0)
			futex(&pr->pending, FUTEX_WAIT_PRIVATE, v);
	}
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i cport|epoll [-t MS] [-W WORKERS] [-p PRODUCERS]\n"
		"          [-b BURST] [-w WORK] [-c CONCURRENCY]\n"
		"  -W  worker threads (default 8, at most %d)\n"
		"  -p  producer threads (default 2, at most %d)\n"
		"  -b  items per burst of a producer (default 32, at most %d)\n"
		"  -w  LCG steps of work per item (default 500)\n"
		"  -c  cport: the port's concurrency value (default 0: the\n"
		"      number of online CPUs)\n",
		prog, MAX_WORKERS, MAX_PRODUCERS, MAX_BURST);
	exit(1);
}

static void parse(struct pool *p, int argc, char **argv)
{
	const char *name = NULL;
	unsigned int i;
	int c;

	while ((c = getopt(argc, argv, "i:t:W:p:b:w:c:h")) != -1) {
		switch (c) {
		case 'i':
			name = optarg;
			break;
		case 't':
			p->ms = bench_atol(argv[0], optarg);
			break;
		case 'W':
			p->workers = bench_atol(argv[0], optarg);
			break;
		case 'p':
			p->producers = bench_atol(argv[0], optarg);
			break;
		case 'b':
			p->burst = bench_atol(argv[0], optarg);
			break;
		case 'w':
			p->work = bench_atol(argv[0], optarg);
			break;
		case 'c':
			p->conc = bench_atol(argv[0], optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!name || p->workers > MAX_WORKERS ||
	    p->producers > MAX_PRODUCERS || p->burst > MAX_BURST)
		usage(argv[0]);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(name, mechs[i].name))
			p->m = &mechs[i];
	if (!p->m || (p->conc && strcmp(name, "cport")))
		usage(argv[0]);
	snprintf(p->head, sizeof(p->head), "bench=pool impl=%s workers=%u "
		 "producers=%u burst=%u work=%u", name, p->workers,
		 p->producers, p->burst, p->work);
}

int main(int argc, char **argv)
{
	static struct pool p = {
		.ms = 1000, .workers = 8, .producers = 2, .burst = 32,
		.work = 500,
	};
	pthread_t wt[MAX_WORKERS], pt[MAX_PRODUCERS];
	uint64_t v0, i0, v1, i1, d0, d1, t0, t1, items, cs;
	unsigned int i;

	parse(&p, argc, argv);
	p.m->setup(&p);

	for (i = 0; i < p.workers; i++)
		if (pthread_create(&wt[i], NULL, worker, &p))
			bench_die(p.head, "pthread_create failed");
	for (i = 0; i < p.producers; i++) {
		p.prod[i].p = &p;
		p.prod[i].idx = i;
		if (pthread_create(&pt[i], NULL, producer, &p.prod[i]))
			bench_die(p.head, "pthread_create failed");
	}

	sleep_ms(BENCH_WARMUP_MS);
	bench_ctxt_switches(p.head, &v0, &i0);
	d0 = atomic_load(&p.done);
	t0 = mono_ns();
	sleep_ms(p.ms);
	bench_ctxt_switches(p.head, &v1, &i1);
	d1 = atomic_load(&p.done);
	t1 = mono_ns();

	/* Each producer finishes its burst; then one quit item per worker. */
	atomic_store(&p.stop, 1);
	for (i = 0; i < p.producers; i++)
		pthread_join(pt[i], NULL);
	for (i = 0; i < p.workers; i++)
		p.m->quit(&p);
	for (i = 0; i < p.workers; i++)
		pthread_join(wt[i], NULL);
	for (i = 0; i < p.producers; i++)
		if (atomic_load(&p.prod[i].pending))
			bench_die(p.head, "producer %u: %u items not done", i,
				  atomic_load(&p.prod[i].pending));

	items = d1 - d0;
	cs = (v1 - v0) + (i1 - i0);
	if (!items)
		bench_die(p.head, "no item done in %u ms", p.ms);
	printf("%s items=%llu secs=%.3f items_per_sec=%.0f vcsw=%llu "
	       "ivcsw=%llu cs_per_item=%.4f\n", p.head,
	       (unsigned long long)items, (t1 - t0) / 1e9,
	       items * 1e9 / (t1 - t0), (unsigned long long)(v1 - v0),
	       (unsigned long long)(i1 - i0), (double)cs / items);
	return 0;
}
