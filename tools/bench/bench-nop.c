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

struct nop_args {
	unsigned int batch;
	unsigned int ms;
	void *ring;		/* the implementation's ring */
	char head[96];
};

/* ---- io_uring ---------------------------------------------------------- */

static int uring_init(void *ring)
{
	return io_uring_queue_init(RING_ENTRIES, ring, 0);
}

static void uring_exit(void *ring)
{
	io_uring_queue_exit(ring);
}

static void uring_round(void *arg)
{
	struct nop_args *a = arg;
	struct io_uring *ring = a->ring;
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

/* ---- cport ------------------------------------------------------------- */

static int port_init(void *port)
{
	return cport_queue_init(RING_ENTRIES, port, 0);
}

static void port_exit(void *port)
{
	cport_queue_exit(port);
}

static void port_round(void *arg)
{
	struct nop_args *a = arg;
	struct cport *port = a->ring;
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

/* ------------------------------------------------------------------------ */

static const struct nop_impl {
	const char *name;	/* -i */
	const char *init_name;
	int (*init)(void *ring);	/* RING_ENTRIES, default flags */
	void (*round)(void *args);
	void (*exit)(void *ring);
} impls[] = {
	{ "io_uring", "io_uring_queue_init", uring_init, uring_round,
	  uring_exit },
	{ "cport", "cport_queue_init", port_init, port_round, port_exit },
};

/* Run @im's rounds for a->ms; return the ops done and the time they took. */
static uint64_t run(struct nop_args *a, const struct nop_impl *im,
		    uint64_t *ns)
{
	union {
		struct io_uring uring;
		struct cport port;
	} ring;
	uint64_t rounds;
	int ret;

	ret = im->init(&ring);
	if (ret < 0)
		bench_skip(a->head, "%s: %s", im->init_name, strerror(-ret));
	a->ring = &ring;
	/* the clock is read every 8 rounds */
	rounds = bench_run_for(im->round, a, a->ms, 8, ns);
	im->exit(&ring);
	return rounds * a->batch;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s -i cport|io_uring [-b BATCH] [-t MS]\n",
		prog);
	exit(1);
}

int main(int argc, char **argv)
{
	struct nop_args a = { .batch = 1, .ms = 1000 };
	const struct nop_impl *im = NULL;
	const char *impl = NULL;
	uint64_t ops, ns = 0;
	unsigned int i;
	int c;

	while ((c = getopt(argc, argv, "i:b:t:h")) != -1) {
		switch (c) {
		case 'i':
			impl = optarg;
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
	if (!impl || a.batch > RING_ENTRIES)
		usage(argv[0]);
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (!strcmp(impl, impls[i].name))
			im = &impls[i];
	if (!im)
		usage(argv[0]);
	snprintf(a.head, sizeof(a.head), "bench=nop impl=%s batch=%u",
		 impl, a.batch);

	ops = run(&a, im, &ns);
	printf("%s ops=%llu secs=%.3f ops_per_sec=%.0f\n", a.head,
	       (unsigned long long)ops, ns / 1e9, ops * 1e9 / ns);
	return 0;
}
