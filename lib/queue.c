// SPDX-License-Identifier: MIT
/*
 * libcport: submitting SQEs and waiting for CQEs (single consumer).
 *
 * The hot paths (get an SQE, peek, advance) are inline in <cport.h>; what is
 * here makes a system call anyway.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "queue.h"
#include "syscall.h"

/*
 * Publish the SQEs handed out since the last flush, and return how many the
 * kernel has still to consume (after -EBUSY it leaves some behind; they are
 * submitted again with the next ones).
 */
unsigned int __cport_flush_sq(struct cport *port)
{
	struct cport_sq *sq = &port->sq;
	unsigned int tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		/*
		 * Pairs with the kernel's load-acquire of the SQ tail: the
		 * SQEs we filled are visible before the tail publishing them.
		 */
		__cport_smp_store_release(sq->ktail, tail);
	}
	/* Pairs with the kernel's store-release of the SQ head. */
	return tail - __cport_smp_load_acquire(sq->khead);
}

/**
 * cport_submit() - submit the prepared SQEs
 * @port: the port.
 *
 * Always enters the kernel, which also reports timer expirations that were
 * waiting for a free CQ slot.
 *
 * Context: SQ side, single-threaded.
 * Return: the number of SQEs consumed, 0, or -errno.
 */
int cport_submit(struct cport *port)
{
	return cport_enter(port->ring_fd, __cport_flush_sq(port), 0, 0, 0);
}

/**
 * cport_submit_and_wait() - submit, then wait for @wait_nr CQEs
 * @port: the port.
 * @wait_nr: number of CQEs to wait for (0: do not wait).
 *
 * Context: SQ side, single-threaded.
 * Return: the number of SQEs consumed, 0 when nothing was consumed and the
 * wait was satisfied, or -errno.
 */
int cport_submit_and_wait(struct cport *port, unsigned int wait_nr)
{
	return cport_enter(port->ring_fd, __cport_flush_sq(port), wait_nr, 0, 0);
}

/**
 * cport_submit_and_wait_timeout() - submit, then wait for @wait_nr CQEs at
 * most @timeout_ns
 * @port: the port.
 * @wait_nr: number of CQEs to wait for (0: do not wait).
 * @timeout_ns: relative limit of the wait (0: do not sleep).
 *
 * Context: SQ side, single-threaded.
 * Return: as cport_submit_and_wait(); -ETIME when nothing was consumed and
 * the time ran out.
 */
int cport_submit_and_wait_timeout(struct cport *port, unsigned int wait_nr,
				  uint64_t timeout_ns)
{
	return cport_enter(port->ring_fd, __cport_flush_sq(port), wait_nr,
			   CPORT_ENTER_TIMEOUT, timeout_ns);
}

/* CLOCK_MONOTONIC time @timeout_ns from now, saturated. */
uint64_t __cport_deadline(uint64_t timeout_ns)
{
	uint64_t now = __cport_now_ns();

	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

/* Time left until @deadline, 0 once it has passed. */
uint64_t __cport_remaining(uint64_t deadline)
{
	uint64_t now = __cport_now_ns();

	return deadline > now ? deadline - now : 0;
}

/* If @wait_nr (at least one) CQEs are ready, point at the oldest. */
static bool __cport_cqes_ready(struct cport *port, struct cport_cqe **cqe_ptr,
			       unsigned int wait_nr)
{
	unsigned int ready = cport_cq_ready(port);

	if (!ready || ready < wait_nr)
		return false;
	return !cport_peek_cqe(port, cqe_ptr);
}

static int __cport_wait(struct cport *port, struct cport_cqe **cqe_ptr,
			unsigned int wait_nr, bool timed, uint64_t timeout_ns)
{
	uint64_t deadline = timed ? __cport_deadline(timeout_ns) : 0;
	uint64_t rem = 0;
	int ret;

	for (;;) {
		if (__cport_cqes_ready(port, cqe_ptr, wait_nr))
			return 0;
		if (!wait_nr) {
			ret = -EAGAIN;
			break;
		}
		if (timed)
			rem = __cport_remaining(deadline);
		ret = cport_enter(port->ring_fd, 0, wait_nr,
				  timed ? CPORT_ENTER_TIMEOUT : 0, rem);
		if (ret == -ETIME || (!ret && timed && !rem)) {
			/* Out of time: one last look. */
			if (__cport_cqes_ready(port, cqe_ptr, wait_nr))
				return 0;
			ret = -ETIME;
			break;
		}
		if (ret < 0)
			break;
		/*
		 * The kernel saw enough CQEs; with one consumer they are
		 * still there, so the next check returns them.
		 */
	}
	*cqe_ptr = NULL;
	return ret;
}

/**
 * cport_wait_cqe_nr() - wait until @wait_nr CQEs are ready
 * @port: the port.
 * @cqe_ptr: set to the oldest CQE, or NULL on failure.
 * @wait_nr: number of CQEs to wait for; 0: do not wait (-EAGAIN if none).
 *
 * Does not submit.
 *
 * Context: single consumer.
 * Return: 0 or -errno.
 */
int cport_wait_cqe_nr(struct cport *port, struct cport_cqe **cqe_ptr,
		      unsigned int wait_nr)
{
	return __cport_wait(port, cqe_ptr, wait_nr, false, 0);
}

/**
 * cport_wait_cqe_timeout() - wait for a CQE at most @timeout_ns
 * @port: the port.
 * @cqe_ptr: set to the oldest CQE, or NULL on failure.
 * @timeout_ns: relative limit (0: look once, do not sleep).
 *
 * Does not submit.
 *
 * Context: single consumer.
 * Return: 0, -ETIME when no CQE came in time, or another -errno.
 */
int cport_wait_cqe_timeout(struct cport *port, struct cport_cqe **cqe_ptr,
			   uint64_t timeout_ns)
{
	return __cport_wait(port, cqe_ptr, 1, true, timeout_ns);
}
