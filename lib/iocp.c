// SPDX-License-Identifier: MIT
/*
 * libcport: IOCP-style calls. Posting a completion, and getting queued
 * completions from any number of threads at once.
 *
 * With CPORT_FEAT_CONCURRENCY the kernel takes the CQEs (CPORT_IOC_GETQ)
 * and counts the caller as a running pool thread under the port's
 * concurrency value. Without it, the library takes them itself:
 *
 * Several consumers share the CQ head: each copies the CQEs it wants to take
 * and then claims them by moving the head forward with one compare-and-swap.
 * A consumer whose CAS fails lost the race for those CQEs, drops its copies
 * and tries again from the new head. A successful CAS means the head did not
 * move since it was read, so the slots were not handed back to the kernel
 * and the copies are the CQEs themselves.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "syscall.h"

/**
 * cport_post_fd() - post a completion to any port (CPORT_IOC_POST)
 * @port_fd: an fd of the port (its own, a dup, or received by SCM_RIGHTS).
 * @res: res of the posted CQE.
 * @user_data: user_data of the posted CQE.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_post_fd(int port_fd, int32_t res, uint64_t user_data)
{
	struct cport_post post = {
		.user_data	= user_data,
		.res		= res,
	};
	int ret = __cport_sys_ioctl(port_fd, CPORT_IOC_POST, &post);

	return ret < 0 ? ret : 0;
}

/**
 * cport_post() - post a completion to @port
 * @port: the port.
 * @res: res of the posted CQE.
 * @user_data: user_data of the posted CQE.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_post(struct cport *port, int32_t res, uint64_t user_data)
{
	return cport_post_fd(port->ring_fd, res, user_data);
}

/*
 * A copy that loses the CAS race may overlap the kernel rewriting the slot
 * (the head had moved on); it is then thrown away, as a seqlock reader's.
 * Relaxed atomic loads make that overlap well-defined; on x86 and arm64 they
 * are plain loads.
 */
static void __cport_copy_cqe(struct cport_cqe *dst,
			     const struct cport_cqe *src)
{
	dst->user_data = __cport_read_once(&src->user_data);
	dst->res = __cport_read_once(&src->res);
	dst->flags = __cport_read_once(&src->flags);
}

/*
 * Take up to @max CQEs from the head. Returns how many were taken (0: the CQ
 * is empty), or -EIO when the indices make no sense (the head was
 * overwritten).
 */
static int __cport_reap_shared(struct cport_cq *cq, struct cport_cqe *out,
			       unsigned int max)
{
	/*
	 * Acquire pairs with the release of other consumers' CAS: a head we
	 * see was moved by someone who had seen a tail at least that far, so
	 * our own tail load below is not older than the head.
	 */
	unsigned int head = __cport_smp_load_acquire(cq->khead);
	unsigned int tail, ready, n, i;

	for (;;) {
		/* Pairs with the kernel's store-release of the CQ tail. */
		tail = __cport_smp_load_acquire(cq->ktail);
		ready = tail - head;
		if (!ready)
			return 0;
		if (ready > cq->ring_entries) {
			/*
			 * Either others took CQEs and the kernel posted
			 * more since we read the head, or the head is junk.
			 */
			unsigned int now = __cport_smp_load_acquire(cq->khead);

			if (now == head)
				return -EIO;
			head = now;
			continue;
		}
		n = ready < max ? ready : max;
		for (i = 0; i < n; i++)
			__cport_copy_cqe(&out[i],
					 &cq->cqes[(head + i) & cq->ring_mask]);
		/*
		 * Release: our copies are complete before the new head is
		 * seen; pairs with the kernel's load-acquire of the CQ head
		 * before it reuses a slot. On failure @head is reloaded with
		 * acquire, as above.
		 */
		if (__atomic_compare_exchange_n(cq->khead, &head, head + n,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return (int)n;
	}
}

/* CPORT_IOC_GETQ: the kernel waits, takes, and counts the caller. */
static int __cport_getq(struct cport *port, struct cport_cqe *out,
			unsigned int max, int64_t timeout_ns)
{
	struct cport_getq q = {
		.cqes		= (uint64_t)(uintptr_t)out,
		.nr		= max < CPORT_GETQ_MAX ? max : CPORT_GETQ_MAX,
		.flags		= timeout_ns >= 0 ? CPORT_GETQ_TIMEOUT : 0,
		.timeout_ns	= timeout_ns >= 0 ? (uint64_t)timeout_ns : 0,
	};

	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_GETQ, &q);
}

/**
 * cport_get_queued_completions() - take up to @max CQEs, waiting for one
 * @port: the port.
 * @out: array of @max CQEs, filled with copies.
 * @max: how many to take at most (>= 1).
 * @timeout_ns: relative limit of the wait; 0: do not sleep; negative
 *              (CPORT_INFINITE): no limit.
 *
 * The CQEs are copied and already handed back to the kernel: there is
 * nothing to mark seen. Each CQE goes to exactly one caller. A caller woken
 * for a CQE that another thread took goes back to wait, within @timeout_ns.
 * With CPORT_FEAT_CONCURRENCY, at most CPORT_GETQ_MAX are taken at once,
 * the wait also waits for a free slot of the port's concurrency value, and
 * the caller counts as running until its next call or cport_pool_leave().
 *
 * Context: thread-safe, with any number of consumers; do not mix with the
 * single-consumer CQ calls on the same port.
 * Return: the number of CQEs taken (>= 1), -ETIME, -EINTR, or -errno.
 */
int cport_get_queued_completions(struct cport *port, struct cport_cqe *out,
				 unsigned int max, int64_t timeout_ns)
{
	bool timed = timeout_ns >= 0;
	uint64_t deadline = 0, rem = 0;
	int ret;

	if (!out || !max)
		return -EINVAL;
	if (port->features & CPORT_FEAT_CONCURRENCY)
		return __cport_getq(port, out, max, timeout_ns);
	if (timed)
		deadline = __cport_now_ns() + (uint64_t)timeout_ns;

	for (;;) {
		ret = __cport_reap_shared(&port->cq, out, max);
		if (ret)
			return ret;
		if (timed) {
			uint64_t now = __cport_now_ns();

			rem = deadline > now ? deadline - now : 0;
		}
		ret = cport_enter(port->ring_fd, 0, 1,
				  timed ? CPORT_ENTER_TIMEOUT : 0, rem);
		if (ret < 0 && ret != -ETIME)
			return ret;
		if (ret == -ETIME || (timed && !rem)) {
			/* Out of time: one last look. */
			ret = __cport_reap_shared(&port->cq, out, max);
			return ret ? ret : -ETIME;
		}
		/* Woken with a CQE there: take it, unless someone was faster. */
	}
}

/**
 * cport_get_queued_completion() - take one CQE, waiting for it
 * @port: the port.
 * @out: filled with a copy of the CQE.
 * @timeout_ns: as for cport_get_queued_completions().
 *
 * Context: thread-safe, as cport_get_queued_completions().
 * Return: 0, -ETIME, -EINTR, or -errno.
 */
int cport_get_queued_completion(struct cport *port, struct cport_cqe *out,
				int64_t timeout_ns)
{
	int ret = cport_get_queued_completions(port, out, 1, timeout_ns);

	return ret < 0 ? ret : 0;
}

/**
 * cport_pool_leave() - stop counting as a running pool thread
 * @port: the port.
 *
 * The calling thread's slot (taken by its last get-queued call, on any
 * port) goes to a waiting thread at once, instead of at its next call.
 * Without CPORT_FEAT_CONCURRENCY there is nothing to leave.
 *
 * Context: thread-safe; acts on the calling thread.
 * Return: 0 or -errno.
 */
int cport_pool_leave(struct cport *port)
{
	struct cport_getq q = { .flags = CPORT_GETQ_LEAVE };

	if (!(port->features & CPORT_FEAT_CONCURRENCY))
		return 0;
	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_GETQ, &q);
}

/**
 * cport_concurrency() - the port's concurrency value
 * @port: the port.
 *
 * Context: thread-safe.
 * Return: the most pool threads running at once, or 0 when the kernel has
 * no CPORT_FEAT_CONCURRENCY.
 */
int cport_concurrency(struct cport *port)
{
	return (int)port->concurrency;
}
