/* SPDX-License-Identifier: MIT */
/*
 * Shared bits of the benchmark tools: a monotonic clock (the examples'),
 * the run-for-a-fixed-time loop, thread pinning and the single result line.
 *
 * Every tool prints exactly one line on success, as space separated
 * key=value pairs, e.g.
 *
 *   bench=nop impl=cport batch=32 ops=1234567 secs=1.000 ops_per_sec=1234567
 *
 * or, when the mechanism is not available, one line ending with
 * "skip=<reason>" (the reason runs to the end of the line) and exit status
 * 2, so that bench-all can tell "not measured" from "failed" (any other
 * non-zero status).
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_BENCH_H
#define CPORT_BENCH_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../examples/clock.h"

#define BENCH_EXIT_SKIP	2
#define BENCH_WARMUP_MS	50

/* Pin the calling thread to @cpu if the machine has it; ignore failure. */
static inline void bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || sysconf(_SC_NPROCESSORS_ONLN) <= cpu)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Call @round(@arg) for BENCH_WARMUP_MS, then again until @ms have passed,
 * reading the clock every @every calls (a power of two) only. Returns the
 * number of calls after the warm-up, and sets *@ns to the time they took.
 */
static inline uint64_t bench_run_for(void (*round)(void *arg), void *arg,
				     unsigned int ms, unsigned int every,
				     uint64_t *ns)
{
	uint64_t t0, t = 0, end, calls = 0;

	end = mono_ns() + (uint64_t)BENCH_WARMUP_MS * 1000000ULL;
	do {
		round(arg);
	} while (mono_ns() < end);

	t0 = mono_ns();
	end = t0 + (uint64_t)ms * 1000000ULL;
	for (;;) {
		round(arg);
		calls++;
		if ((calls & (every - 1)) == 0 && (t = mono_ns()) >= end)
			break;
	}
	*ns = t - t0;
	return calls;
}

/*
 * Print "@head @tag<reason>" on @f and exit with @status: bench_skip()
 * (the reason is the last field of the line and may contain spaces) and
 * bench_die().
 */
__attribute__((noreturn, format(printf, 5, 6)))
static inline void bench_exit(int status, FILE *f, const char *head,
			      const char *tag, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%s %s", head, tag);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	exit(status);
}

#define bench_skip(head, ...) \
	bench_exit(BENCH_EXIT_SKIP, stdout, (head), "skip=", __VA_ARGS__)
#define bench_die(head, ...) \
	bench_exit(1, stderr, (head), "error: ", __VA_ARGS__)

/*
 * Context switches of all threads of the process so far, from
 * /proc/self/task/<tid>/status: voluntary in *@vol, nonvoluntary in
 * *@invol. A thread that exits takes its counts with it: read them while
 * the threads that matter live.
 */
static inline void bench_ctxt_switches(const char *head, uint64_t *vol,
				       uint64_t *invol)
{
	char path[300], line[128];
	unsigned long long v;
	struct dirent *d;
	DIR *dir;
	FILE *f;

	*vol = *invol = 0;
	dir = opendir("/proc/self/task");
	if (!dir)
		bench_die(head, "/proc/self/task: %s", strerror(errno));
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			bench_die(head, "%s: %s", path, strerror(errno));
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "voluntary_ctxt_switches: %llu",
				   &v) == 1)
				*vol += v;
			else if (sscanf(line,
					"nonvoluntary_ctxt_switches: %llu",
					&v) == 1)
				*invol += v;
		}
		fclose(f);
	}
	closedir(dir);
}

/* Parse a positive integer option value or die. */
static inline long bench_atol(const char *prog, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(1);
	}
	return v;
}

#endif /* CPORT_BENCH_H */
