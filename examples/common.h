/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the examples: a clock that starts with the program,
 * a printf that prefixes every line with the time since start and the
 * name of the actor, the check that turns a broken promise into a
 * non-zero exit, a child process at the other end of a pipe or socket,
 * and setting up a port.
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
#include <unistd.h>

#include "clock.h"

static uint64_t ex_t0_ns;
static int ex_failures;

static inline void ex_start(void)
{
	ex_t0_ns = mono_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Milliseconds since ex_start(); valid in a forked child too. */
static inline double ex_ms(void)
{
	return (double)(mono_ns() - ex_t0_ns) / 1e6;
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

/*
 * Exit status of an example that could not show what it shows (a kernel or
 * library without the feature): the demo reports it as skipped, not passed.
 */
#define EX_SKIP_STATUS	4

__attribute__((format(printf, 2, 3)))
static inline int ex_skip(const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s: SKIP: %s\n", name, buf);
	return EX_SKIP_STATUS;
}

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

/*
 * Fork a child that keeps pair[1] (of a pipe or socketpair) and exits with
 * what @child(pair[1]) returns; the parent keeps pair[0]. The child's pid,
 * or -1 if fork() failed (said on stderr).
 */
static inline pid_t ex_fork_child(int pair[2], int (*child)(int fd))
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		close(pair[0]);
		_exit(child(pair[1]));
	}
	close(pair[1]);
	return pid;
}

/*
 * The value of "@key:" in /proc/self/fdinfo/@fd (the port's fdinfo lines):
 * 0 and *@val set, or -1 if there is no such line.
 */
static inline int ex_fdinfo(int fd, const char *key, long *val)
{
	char path[64], line[128];
	size_t klen = strlen(key);
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (ret && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%ld", val) == 1)
			ret = 0;
	fclose(f);
	return ret;
}

#ifdef _CPORT_H
/* Set up @port with @entries SQEs: 0, or -1 after saying why not. */
static inline int ex_port_init(unsigned int entries, struct cport *port)
{
	int ret = cport_queue_init(entries, port, 0);

	if (ret < 0) {
		printf("cannot set up a port on %s: %s (is cport.ko loaded?)\n",
		       CPORT_DEVICE_PATH, strerror(-ret));
		return -1;
	}
	return 0;
}

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
