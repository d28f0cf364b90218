// SPDX-License-Identifier: MIT
/*
 * bench-nop: NOP throughput, cport vs io_uring.
 *
 * Each round fills BATCH NOP SQEs, submits them and waits for their
 * completions with ONE system call (cport: CPORT_IOC_ENTER with
 * to_submit = min_complete = BATCH; io_uring: io_uring_enter() with
 * GETEVENTS), then reaps the CQEs from the ring without a system call.
 * Both rings have 64 SQ entries and default flags. The tool runs for a fixed
 * time after a short warm-up and prints one line:
 *
 *   bench=nop impl=cport batch=32 ops=... secs=... ops_per_sec=...
 *
 * Usage: bench-nop -i cport|io_uring [-b BATCH] [-t MS]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <liburing.h>

#include <cport.h>

#define RING_ENTRIES	64
#define WARMUP_MS	50

struct nop_args {
	const char *impl;
	unsigned int batch;
	unsigned int ms;
	char head[96];
};

typedef void (*round_fn)(struct nop_args *a, void *ring);

/*
 * Run @round after a warm-up until @a->ms passed; return the number of ops
 * done and the time it took. The clock is read every 8 rounds.
 */
static void timed_loop(struct nop_args *a, round_fn round, void *ring,
		       uint64_t *ops, uint64_t *ns)
{
	uint64_t t0, t = 0, end, done = 0;
	unsigned int it = 0;

	end = bench_now_ns() + (uint64_t)WARMUP_MS * 1000000ULL;
	do {
		round(a, ring);
	} while (bench_now_ns() < end);

	t0 = bench_now_ns();
	end = t0 + (uint64_t)a->ms * 1000000ULL;
	for (;;) {
		round(a, ring);
		done += a->batch;
		if ((++it & 7) == 0 && (t = bench_now_ns()) >= end)
			break;
	}
	*ops = done;
	*ns = t - t0;
}

/* ---- io_uring ---------------------------------------------------------- */

static void uring_round(struct nop_args *a, void *r)
{
	struct io_uring *ring = r;
	struct io_uring_cqe *cqe;
	unsigned int i, head, seen = 0;
	int ret;

	for (i = 0; i < a->batch; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (!sqe)
			bench_die(a->head, "SQ full");
		io_uring_prep_nop(sqe);
		sqe->user_data = i;
	}
	ret = io_uring_submit_and_wait(ring, a->batch);
	if (ret != (int)a->batch)
		bench_die(a->head, "io_uring_submit_and_wait: %d", ret);
	while (seen < a->batch) {
		unsigned int n = 0;

		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res < 0)
				bench_die(a->head, "NOP res %d", cqe->res);
			n++;
		}
		io_uring_cq_advance(ring, n);
		seen += n;
		if (seen < a->batch) {
			ret = io_uring_wait_cqe(ring, &cqe);
			if (ret < 0)
				bench_die(a->head, "io_uring_wait_cqe: %d", ret);
		}
	}
}

static void run_uring(struct nop_args *a, uint64_t *ops, uint64_t *ns)
{
	struct io_uring ring;
	int ret;

	ret = io_uring_queue_init(RING_ENTRIES, &ring, 0);
	if (ret < 0)
		bench_skip(a->head, "io_uring_queue_init: %s", strerror(-ret));
	timed_loop(a, uring_round, &ring, ops, ns);
	io_uring_queue_exit(&ring);
}

/* ---- cport ------------------------------------------------------------- */

static void cport_round(struct nop_args *a, void *p)
{
	struct cport *port = p;
	struct cport_cqe *cqes[RING_ENTRIES], *cqe;
	unsigned int i, n, seen = 0;
	int ret;

	for (i = 0; i < a->batch; i++) {
		struct cport_sqe *sqe = cport_get_sqe(port);

		if (!sqe)
			bench_die(a->head, "SQ full");
		cport_prep_nop(sqe);
		sqe->user_data = i;
	}
	ret = cport_submit_and_wait(port, a->batch);
	if (ret != (int)a->batch)
		bench_die(a->head, "cport_submit_and_wait: %d", ret);
	while (seen < a->batch) {
		n = cport_peek_batch_cqe(port, cqes, a->batch - seen);
		for (i = 0; i < n; i++)
			if (cqes[i]->res < 0)
				bench_die(a->head, "NOP res %d", cqes[i]->res);
		cport_cq_advance(port, n);
		seen += n;
		if (seen < a->batch) {
			ret = cport_wait_cqe(port, &cqe);
			if (ret < 0)
				bench_die(a->head, "cport_wait_cqe: %d", ret);
		}
	}
}

static void run_cport(struct nop_args *a, uint64_t *ops, uint64_t *ns)
{
	struct cport port;
	int ret;

	ret = cport_queue_init(RING_ENTRIES, &port, 0);
	if (ret < 0)
		bench_skip(a->head, "cport_queue_init: %s", strerror(-ret));
	timed_loop(a, cport_round, &port, ops, ns);
	cport_queue_exit(&port);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s -i cport|io_uring [-b BATCH] [-t MS]\n",
		prog);
	exit(1);
}

int main(int argc, char **argv)
{
	struct nop_args a = { .impl = NULL, .batch = 1, .ms = 1000 };
	uint64_t ops = 0, ns = 0;
	int c;

	while ((c = getopt(argc, argv, "i:b:t:h")) != -1) {
		switch (c) {
		case 'i':
			a.impl = optarg;
			break;
		case 'b':
			a.batch = bench_atol(argv[0], optarg);
			break;
		case 't':
			a.ms = bench_atol(argv[0], optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!a.impl || a.batch > RING_ENTRIES)
		usage(argv[0]);
	snprintf(a.head, sizeof(a.head), "bench=nop impl=%s batch=%u",
		 a.impl, a.batch);

	if (!strcmp(a.impl, "io_uring"))
		run_uring(&a, &ops, &ns);
	else if (!strcmp(a.impl, "cport"))
		run_cport(&a, &ops, &ns);
	else
		usage(argv[0]);

	printf("%s ops=%llu secs=%.3f ops_per_sec=%.0f\n", a.head,
	       (unsigned long long)ops, ns / 1e9, ops * 1e9 / ns);
	return 0;
}
