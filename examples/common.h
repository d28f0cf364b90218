/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the examples: a clock that starts with the program,
 * a printf that prefixes every line with the time since start and the
 * name of the actor, and the check that turns a broken promise into a
 * non-zero exit.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_EXAMPLES_COMMON_H
#define CPORT_EXAMPLES_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct timespec ex_t0;
static int ex_failures;

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t ex_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void ex_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &ex_t0);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Milliseconds since ex_start(); valid in a forked child too. */
static inline double ex_ms(void)
{
	uint64_t t0 = (uint64_t)ex_t0.tv_sec * 1000000000ULL + ex_t0.tv_nsec;

	return (double)(ex_now_ns() - t0) / 1e6;
}

/* One line: "[  12.345 ms] who    : text". */
__attribute__((format(printf, 2, 3)))
static inline void ex_say(const char *who, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line, so parent and child lines do not interleave. */
	printf("[%9.3f ms] %-7s: %s\n", ex_ms(), who, buf);
	fflush(stdout);
}

/* Record a failed expectation; the program exits non-zero at the end. */
#define EX_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			ex_failures++;					\
			printf("FAIL: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

static inline int ex_finish(const char *name)
{
	if (ex_failures) {
		printf("%s: FAILED (%d check%s)\n", name, ex_failures,
		       ex_failures == 1 ? "" : "s");
		return 1;
	}
	printf("%s: OK\n", name);
	return 0;
}

#ifdef _CPORT_H
/* A fresh SQE; the examples never fill the SQ, so NULL is a bug. */
static inline struct cport_sqe *ex_get_sqe(struct cport *port)
{
	struct cport_sqe *sqe = cport_get_sqe(port);

	if (!sqe) {
		printf("FAIL: the SQ is full\n");
		exit(1);
	}
	return sqe;
}
#endif

#endif /* CPORT_EXAMPLES_COMMON_H */
