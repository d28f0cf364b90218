/* SPDX-License-Identifier: GPL-2.0 */
/*
 * soak: the kill storm and the exactly-once run of `make soak`.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_SOAK_H
#define CPORT_SOAK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cport.h>

/* Sizes of one run (command line, see usage() in soak.c). */
struct soak_opts {
	unsigned int	kills;		/* kill storm: processes in all */
	unsigned int	wave;		/* ... forked and killed at once */
	unsigned int	procs;		/* exactly-once: processes */
	unsigned int	threads;	/* ... threads in each */
	unsigned int	groups;		/* ... op groups per thread */
	uint64_t	seed;
	int		verbose;
};

/* What one part found. */
struct soak_result {
	uint64_t	killed;		/* storm: processes SIGKILLed */
	uint64_t	ops;		/* SQEs accepted and CQEs posted */
	uint64_t	lost;		/* accepted ops without a terminal CQE */
	uint64_t	dups;		/* terminal CQEs beyond the first */
	uint64_t	ghosts;		/* CQEs of ops never accepted */
	uint64_t	leaks;		/* ports, module refs, clusters left */
	uint64_t	errors;		/* anything else that went wrong */
};

int soak_storm(const struct soak_opts *o, struct soak_result *r);
int soak_once(const struct soak_opts *o, struct soak_result *r);

/* Helpers (soak.c). */
uint64_t soak_now_ns(void);
void soak_sleep_ns(uint64_t ns);
uint64_t soak_rand(uint64_t *state);
void *soak_shared(size_t size);
int soak_module_refs(void);
int soak_fdinfo(int fd, const char *key, long long *val);
int soak_wait_refs(int want, unsigned int timeout_ms);
void soak_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int soak_verbose;

#define SOAK_MAGIC	0x50a4U		/* high 16 bits of our user_data */

#endif /* CPORT_SOAK_H */
