/* SPDX-License-Identifier: MIT */
/*
 * The monotonic clock in nanoseconds: what the examples time their steps
 * with, and the benchmarks (tools/bench) their runs.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_EXAMPLES_CLOCK_H
#define CPORT_EXAMPLES_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif /* CPORT_EXAMPLES_CLOCK_H */
