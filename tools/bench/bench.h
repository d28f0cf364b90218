/* SPDX-License-Identifier: MIT */
/*
 * Shared bits of the benchmark tools: a monotonic clock, the run-for-a-fixed
 * -time loop helper, thread pinning and the single result line.
 *
 * Every tool prints exactly one line on success, as space separated
 * key=value pairs, e.g.
 *
 *   bench=nop impl=cport batch=32 ops=1234567 secs=1.000 ops_per_sec=1234567
 *
 * or, when the mechanism is not available, one line ending with
 * "skip=<reason>" (the reason runs to the end of the line) and exit status 2, so that bench-all can tell "not measured" from
 * "failed" (any other non-zero status).
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_BENCH_H
#define CPORT_BENCH_H

#define _GNU_SOURCE
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

#define BENCH_EXIT_SKIP	2

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

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

/* The reason is the last field of the line and may contain spaces. */
__attribute__((noreturn, format(printf, 2, 3)))
static inline void bench_skip(const char *head, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s skip=%s\n", head, buf);
	exit(BENCH_EXIT_SKIP);
}

__attribute__((noreturn, format(printf, 2, 3)))
static inline void bench_die(const char *head, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s error: %s\n", head, buf);
	exit(1);
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
