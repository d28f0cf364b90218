// SPDX-License-Identifier: MIT
/*
 * bench-stall: how much of the time were the CPUs taken away from us?
 *
 * One thread per online CPU, pinned, reads the clock in a tight loop for a
 * fixed time and adds up the gaps longer than a threshold (default 300 us):
 * time during which the thread did not run although it never blocked. On
 * bare metal that is interrupts and other tasks; in a TCG guest it is mostly
 * the host preempting the vCPU threads (another VM, a build). bench-all runs
 * it once per round, so that a table measured on a busy host says so.
 *
 *   bench=stall cpus=2 secs=0.200 stalled_pct=1.2 max_gap_us=850
 *
 * Usage: bench-stall [-t MS] [-g GAP_US]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#define MAX_CPUS	64

struct stall {
	int cpu;
	uint64_t ns, gap_ns;
	uint64_t elapsed_ns, stalled_ns, max_gap_ns;
};

static void *stall_thread(void *arg)
{
	struct stall *s = arg;
	uint64_t t0, prev, now, end;

	bench_pin(s->cpu);
	t0 = prev = mono_ns();
	end = t0 + s->ns;
	do {
		now = mono_ns();
		if (now - prev > s->gap_ns) {
			s->stalled_ns += now - prev;
			if (now - prev > s->max_gap_ns)
				s->max_gap_ns = now - prev;
		}
		prev = now;
	} while (now < end);
	/* A stall may run past the end: measure against the real time. */
	s->elapsed_ns = now - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	static struct stall st[MAX_CPUS];
	static pthread_t th[MAX_CPUS];
	uint64_t ms = 200, gap_us = 300, stalled = 0, elapsed = 0, max_gap = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, i;

	while ((c = getopt(argc, argv, "t:g:h")) != -1) {
		switch (c) {
		case 't':
			ms = bench_atol(argv[0], optarg);
			break;
		case 'g':
			gap_us = bench_atol(argv[0], optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-t MS] [-g GAP_US]\n",
				argv[0]);
			return 1;
		}
	}
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAX_CPUS)
		ncpu = MAX_CPUS;

	for (i = 0; i < ncpu; i++) {
		st[i].cpu = i;
		st[i].ns = ms * 1000000ULL;
		st[i].gap_ns = gap_us * 1000ULL;
		if (pthread_create(&th[i], NULL, stall_thread, &st[i]))
			bench_die("bench=stall", "pthread_create failed");
	}
	for (i = 0; i < ncpu; i++) {
		pthread_join(th[i], NULL);
		stalled += st[i].stalled_ns;
		elapsed += st[i].elapsed_ns;
		if (st[i].max_gap_ns > max_gap)
			max_gap = st[i].max_gap_ns;
	}
	printf("bench=stall cpus=%ld secs=%.3f stalled_pct=%.1f max_gap_us=%.0f\n",
	       ncpu, ms / 1e3, 100.0 * stalled / elapsed,
	       max_gap / 1e3);
	return 0;
}
