/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libcport test suites.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_LIB_TESTS_UTIL_H
#define CPORT_LIB_TESTS_UTIL_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cport.h>

/* An errno value no system call returns: it must survive every call. */
#define ERRNO_CANARY	4242

/*
 * Evaluate a library call with errno set to the canary and check that the
 * call left errno alone, whatever it returned. Yields the call's value.
 */
#define KEEP_ERRNO(call) \
	(errno = ERRNO_CANARY, errno_kept((call), #call))

/* Fails the test unless errno is ERRNO_CANARY; returns ret. */
long long errno_kept(long long ret, const char *call);

#define MS	1000000ULL	/* ns */

/* Timeout (s) of device test cases: the VM runs under TCG. */
#define DEVICE_TIMEOUT	60

/*
 * Add the test case @tc to @s with the tests that follow (TTest pointers,
 * as START_TEST names them). With @loop > 0 each is a loop test that runs
 * for _i = 0 .. loop - 1. A test case may hold tests added before.
 */
#define ADD_TESTS(s, tc, loop, ...) \
	suite_add_tests((s), (tc), (loop), __VA_ARGS__, (const TTest *)NULL)

/* ADD_TESTS() without the terminating NULL. */
void suite_add_tests(Suite *s, TCase *tc, int loop, ...);

uint64_t now_ns(void);
void sleep_ns(uint64_t ns);
bool have_device(void);
TCase *tcase_device(const char *name);

/* Make /dev/cport vanish for this (forked) test: a new mount namespace. */
void hide_device(void);

/* SIGALRM, without SA_RESTART, after ms: interrupts a wait in the kernel. */
void arm_sigalrm_ms(unsigned int ms);
int sigalrm_count(void);
int sigalrm_stop(void);

/* Set up a real port, failing the test if it cannot. */
void port_init(struct cport *port, unsigned int entries);

/* Pop the oldest CQE of a single-consumer port into *cqe; -EAGAIN if none. */
int pop_cqe(struct cport *port, struct cport_cqe *cqe);

/*
 * A fake port: the rings live in ordinary memory and the test plays the
 * kernel. ring_fd is -1, so anything that enters the kernel gets -EBADF.
 * @start is the initial value of every index (to test wrap-around).
 */
void fake_port_init(struct cport *port, unsigned int sq_entries,
		    unsigned int cq_entries, unsigned int start);
void fake_port_free(struct cport *port);
/* As the kernel: write a CQE at the tail, then store-release the tail. */
void fake_kernel_post(struct cport *port, uint64_t user_data, int32_t res,
		      uint32_t flags);
/* As the kernel: consume up to max published SQEs, copying them to out. */
unsigned int fake_kernel_consume(struct cport *port, struct cport_sqe *out,
				 unsigned int max);

/* Not a port: an eventfd (ioctl: ENOTTY, mmap: ENODEV). */
int non_port_fd(void);

/* Fill an SQE with junk, so that a prep helper must set every field. */
static inline void junk(struct cport_sqe *sqe)
{
	memset(sqe, 0xa5, sizeof(*sqe));
}

/* What a prep helper must leave: all 0 but the opcode (and its fields). */
static inline void want_init(struct cport_sqe *want, uint8_t opcode)
{
	memset(want, 0, sizeof(*want));
	want->opcode = opcode;
}

#endif /* CPORT_LIB_TESTS_UTIL_H */
