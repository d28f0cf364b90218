// SPDX-License-Identifier: GPL-2.0
/*
 * cport: the completion queue.
 *
 * Every CQE goes through __cport_cqe_post(), under ->cq_lock. Posting never
 * sleeps and never allocates, so it runs in any context, hard IRQ included.
 *
 * No CQE is ever dropped. An op reserves the slot of its terminal CQE when
 * it is accepted (cport_cq_reserve()), so posting it cannot fail. A post
 * that has no reservation (CPORT_OP_POST, CPORT_IOC_POST, a multishot
 * intermediate CQE) needs a slot that is neither filled nor reserved, and
 * otherwise fails (-EAGAIN) or stays pending in its request.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "cq.h"
#include "trace.h"

/**
 * __cport_cq_free() - CQ slots neither filled nor reserved
 * @port: the port.
 *
 * The head comes from user space. If it claims more CQEs filled than the
 * ring holds, the CQ counts as full: a scribbling user only stops itself.
 *
 * Context: any; ->cq_lock held.
 * Return: the number of free slots.
 */
u32 __cport_cq_free(struct cport_port *port)
	__must_hold(&port->cq_lock)
{
	u32 used;

	lockdep_assert_held(&port->cq_lock);
	/* Pairs with the user's store-release of the head: slots are reused
	 * only after the user finished reading them.
	 */
	used = port->cq_tail - smp_load_acquire(&port->cq->head);
	if (used > port->cq_entries)
		return 0;
	used += port->cq_reserved;
	return used >= port->cq_entries ? 0 : port->cq_entries - used;
}

/**
 * __cport_cqe_post() - write one CQE at the tail and publish it
 * @port: the port.
 * @user_data: CQE user_data.
 * @res: CQE res.
 * @flags: CQE flags.
 *
 * The caller made sure a slot is free or held a reservation for it.
 *
 * Context: any, including hard IRQ; ->cq_lock held.
 */
void __cport_cqe_post(struct cport_port *port, u64 user_data, s32 res,
		      u32 flags)
	__must_hold(&port->cq_lock)
{
	struct cport_cqe *cqe;

	lockdep_assert_held(&port->cq_lock);
	cqe = &port->cq->cqes[port->cq_tail & (port->cq_entries - 1)];
	WRITE_ONCE(cqe->user_data, user_data);
	WRITE_ONCE(cqe->res, res);
	WRITE_ONCE(cqe->flags, flags);
	port->cq_tail++;
	port->posted++;
	if (!in_task())
		port->posted_irq++;
	trace_cport_complete(port, user_data, res, flags);
	/* Pairs with the user's load-acquire of the tail before reading. */
	smp_store_release(&port->cq->tail, port->cq_tail);
}

/**
 * cport_cq_reserve() - reserve slots for terminal CQEs
 * @port: the port.
 * @nr: slots wanted.
 *
 * Context: process context.
 * Return: the number of slots reserved, 0 to @nr.
 */
u32 cport_cq_reserve(struct cport_port *port, u32 nr)
{
	u32 got;

	spin_lock_irq(&port->cq_lock);
	got = min(nr, __cport_cq_free(port));
	port->cq_reserved += got;
	spin_unlock_irq(&port->cq_lock);
	return got;
}

/**
 * cport_cq_unreserve() - give back reservations that were not used
 * @port: the port.
 * @nr: slots to give back.
 *
 * Context: process context.
 */
void cport_cq_unreserve(struct cport_port *port, u32 nr)
{
	spin_lock_irq(&port->cq_lock);
	WARN_ON_ONCE(port->cq_reserved < nr);
	__cport_cq_release(port, nr);
	spin_unlock_irq(&port->cq_lock);
}

/**
 * cport_cq_post() - post a CQE that has no reservation
 * @port: the port.
 * @user_data: CQE user_data.
 * @res: CQE res.
 * @sync: the caller sleeps next: the woken waiter may run on this CPU.
 *
 * Context: any, including hard IRQ.
 * Return: 0, or -EAGAIN if no slot is free (nothing posted).
 */
int cport_cq_post(struct cport_port *port, u64 user_data, s32 res, bool sync)
{
	unsigned long flags;
	int ret = -EAGAIN;

	spin_lock_irqsave(&port->cq_lock, flags);
	if (__cport_cq_free(port)) {
		__cport_cqe_post(port, user_data, res, 0);
		ret = 0;
	}
	spin_unlock_irqrestore(&port->cq_lock, flags);
	if (!ret)
		__cport_cq_wake(port, 1, sync);
	return ret;
}

/**
 * __cport_cq_wake() - wake waiters after CQEs were posted
 * @port: the port.
 * @nr: CQEs posted: at most this many ENTER waiters are woken, each the
 *      newest whose min_complete is met (see wait.c).
 * @sync: the caller is about to sleep (WF_SYNC, as pipes): a single woken
 *        waiter may be run on this CPU instead of being sent an IPI.
 *
 * Context: any, including hard IRQ; ->cq_lock may be held (it nests
 * outside the wait queue locks).
 */
void __cport_cq_wake(struct cport_port *port, unsigned int nr, bool sync)
{
	/*
	 * Orders the tail store before the checks for sleepers; pairs with
	 * set_current_state() in cport_cq_wait() and the smp_mb() in
	 * cport_poll().
	 */
	smp_mb();
	/* waitqueue_active() is safe: ordered by the smp_mb() above. */
	if (waitqueue_active(&port->cq_wait)) {
		if (sync && nr == 1)
			__wake_up_sync_key(&port->cq_wait, TASK_NORMAL, NULL);
		else
			__wake_up(&port->cq_wait, TASK_NORMAL, nr, NULL);
	}
	/* waitqueue_active() is safe: ordered by the smp_mb() above. */
	if (waitqueue_active(&port->poll_wait)) {
		if (sync)
			wake_up_interruptible_sync_poll(&port->poll_wait,
							EPOLLIN | EPOLLRDNORM);
		else
			wake_up_interruptible_poll(&port->poll_wait,
						   EPOLLIN | EPOLLRDNORM);
	}
}

/**
 * cport_cq_flush_pending() - post events that found the CQ full earlier
 * @port: the port.
 *
 * Context: process context.
 */
void cport_cq_flush_pending(struct cport_port *port)
{
	struct cport_req *req, *tmp;
	unsigned int n = 0;

	if (list_empty_careful(&port->pending_list))
		return;

	spin_lock_irq(&port->cq_lock);
	list_for_each_entry_safe(req, tmp, &port->pending_list, pending_node) {
		if (!__cport_cq_free(port))
			break;
		req->ops->flush(req);
		n++;
	}
	spin_unlock_irq(&port->cq_lock);
	if (n)
		cport_cq_wake(port, n);
}

/**
 * cport_cqe_batch_add() - queue an inline completion
 * @port: the port.
 * @b: the batch; flushed when full.
 * @user_data: CQE user_data.
 * @res: CQE res.
 * @ef: the op's event flag (CPORT_EF_*), or 0.
 *
 * The op holds a reservation, consumed when the batch is flushed.
 *
 * Context: process context.
 */
void cport_cqe_batch_add(struct cport_port *port, struct cport_cqe_batch *b,
			 u64 user_data, s32 res, u32 ef)
{
	struct cport_cqe *cqe = &b->cqes[b->nr];

	b->ef[b->nr++] = ef;
	cqe->user_data = user_data;
	cqe->res = res;
	cqe->flags = 0;
	if (b->nr == CPORT_CQE_BATCH)
		cport_cqe_batch_flush(port, b);
}

/**
 * cport_cqe_batch_flush() - post the queued inline completions
 * @port: the port.
 * @b: the batch, empty on return.
 *
 * Context: process context.
 */
void cport_cqe_batch_flush(struct cport_port *port, struct cport_cqe_batch *b)
{
	unsigned int i, nr = b->nr;

	if (!nr)
		return;

	spin_lock_irq(&port->cq_lock);
	WARN_ON_ONCE(port->cq_reserved < nr);
	__cport_cq_release(port, nr);
	for (i = 0; i < nr; i++)
		__cport_cqe_post_ef(port, b->cqes[i].user_data,
				    b->cqes[i].res, b->ef[i]);
	spin_unlock_irq(&port->cq_lock);
	b->nr = 0;
	cport_cq_wake(port, nr);
}
