// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_TIMEOUT and CPORT_OP_TIMEOUT_REMOVE.
 *
 * A timeout is an hrtimer whose callback posts the CQE from hard-IRQ
 * context. A multishot timer posts one CQE per expiration; when the CQ has
 * no free slot for one, the expirations are kept in ->pending and reported
 * by a later CQE (res = how many it carries), so none is lost. The terminal
 * CQE uses the slot reserved at submission, so it can always be posted.
 *
 * Ownership: the request is on ->inflight_list until its terminal CQE.
 * Whoever unlinks it under ->cq_lock posts that CQE and drops the armed
 * timer's reference: the callback, or a canceller whose
 * hrtimer_try_to_cancel() won the timer. A canceller that finds the
 * callback of a multishot timer running takes a reference of its own, so
 * that it can wait for the callback with hrtimer_cancel() after unlocking:
 * the callback may already have dropped ->cq_lock and be about to re-arm,
 * and the cancellation must not wait for the next period.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/refcount.h>
#include <linux/slab.h>

#include "cancel.h"
#include "cq.h"
#include "link.h"
#include "opdef.h"
#include "timeout.h"

#define CPORT_TIMEOUT_FLAGS	(CPORT_TIMEOUT_ABS | CPORT_TIMEOUT_MULTISHOT | \
				 CPORT_TIMEOUT_BOOTTIME | CPORT_TIMEOUT_REALTIME | \
				 CPORT_TIMEOUT_FLAG_ONLY)

/**
 * struct cport_timeout - an armed timer
 * @req: the request, on ->inflight_list until the terminal CQE.
 * @refs: one for the armed timer, dropped with the terminal CQE; one more
 *        while a canceller waits for the callback.
 * @timer: the hrtimer.
 * @period: multishot period.
 * @shots: multishot expirations in all; 0 = until cancelled.
 * @left: expirations still to come when @shots is set.
 * @pending: expirations not reported yet. Under ->cq_lock.
 * @multishot: periodic timer.
 * @flag_only: expirations set the event flag and post no CQE.
 * @cancel: cancellation was requested while the callback ran; the callback
 *          posts -ECANCELED. Under ->cq_lock.
 */
struct cport_timeout {
	struct cport_req	req;
	refcount_t		refs;
	struct hrtimer		timer;
	ktime_t			period;
	u32			shots;
	u32			left;
	u32			pending;
	bool			multishot;
	bool			flag_only;
	bool			cancel;
};

static u64 cport_timeout_period(const struct cport_sqe *sqe)
{
	if (sqe->addr2)
		return sqe->addr2;
	/* An absolute first expiry is no period. */
	return (sqe->op_flags & CPORT_TIMEOUT_ABS) ? 0 : sqe->off;
}

/**
 * cport_timeout_prep() - check a TIMEOUT SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0 or -EINVAL.
 */
int cport_timeout_prep(const struct cport_sqe *sqe)
{
	u32 flags = sqe->op_flags;
	u64 period;

	if (sqe->fd || sqe->addr)
		return -EINVAL;
	if (flags & ~CPORT_TIMEOUT_FLAGS)
		return -EINVAL;
	if ((flags & CPORT_TIMEOUT_BOOTTIME) && (flags & CPORT_TIMEOUT_REALTIME))
		return -EINVAL;
	if (sqe->off > KTIME_MAX)
		return -EINVAL;
	if ((flags & CPORT_TIMEOUT_FLAG_ONLY) &&
	    (!(flags & CPORT_TIMEOUT_MULTISHOT) ||
	     !(sqe->flags & CPORT_SQE_F_EVENT_FLAG)))
		return -EINVAL;
	if (!(flags & CPORT_TIMEOUT_MULTISHOT))
		return (sqe->len || sqe->addr2) ? -EINVAL : 0;

	period = cport_timeout_period(sqe);
	if (period < CPORT_TIMEOUT_MIN_PERIOD_NS || period > KTIME_MAX)
		return -EINVAL;
	return 0;
}

static struct cport_timeout *to_timeout(struct cport_req *req)
{
	return container_of(req, struct cport_timeout, req);
}

static void cport_timeout_put(struct cport_timeout *t)
{
	if (refcount_dec_and_test(&t->refs))
		kfree(t);
}

/*
 * ->cq_lock held. Posts the terminal CQE and unlinks; the caller drops the
 * armed timer's reference after unlocking.
 */
static void __cport_timeout_finish(struct cport_timeout *t, s32 res)
{
	struct cport_port *port = t->req.port;

	lockdep_assert_held(&port->cq_lock);
	list_del_init(&t->req.node);
	list_del_init(&t->req.pending_node);
	port->inflight--;
	__cport_cq_release(port, 1);
	__cport_cqe_post_ef(port, t->req.user_data, res, t->req.ef);
	if (t->req.chain)
		__cport_chain_report(t->req.chain, res);
}

/* ->cq_lock held, CQ slot free: report the pending expirations. */
static void __cport_timeout_post_pending(struct cport_timeout *t)
{
	struct cport_port *port = t->req.port;

	__cport_cqe_post(port, t->req.user_data, t->pending, CPORT_CQE_F_MORE);
	t->pending = 0;
	list_del_init(&t->req.pending_node);
}

/*
 * Context: hard IRQ (hrtimer expiry; softirq on PREEMPT_RT). Wakes waiters
 * with ->cq_lock held (lock order: ->cq_lock, then the wait queue locks),
 * because the port may be freed as soon as the lock is dropped.
 */
static enum hrtimer_restart cport_timeout_fn(struct hrtimer *timer)
{
	struct cport_timeout *t = container_of(timer, struct cport_timeout,
					       timer);
	struct cport_port *port = t->req.port;
	unsigned long flags;
	u64 n;

	spin_lock_irqsave(&port->cq_lock, flags);
	if (t->cancel) {
		__cport_timeout_finish(t, -ECANCELED);
		goto out_free;
	}
	if (!t->multishot) {
		__cport_timeout_finish(t, 1);
		goto out_free;
	}

	/* Expirations since the last callback: more than 1 if we ran late. */
	n = hrtimer_forward_now(timer, t->period);
	if (t->shots) {
		n = min_t(u64, n, t->left);
		t->left -= n;
	}
	t->pending = min_t(u64, (u64)t->pending + n, S32_MAX);
	if (t->shots && !t->left) {
		__cport_timeout_finish(t, t->pending);
		goto out_free;
	}
	/* The flag marks the expiration, whether its CQE can go now or not. */
	__cport_ef_fire(port, t->req.ef);
	if (t->flag_only) {
		spin_unlock_irqrestore(&port->cq_lock, flags);
		return HRTIMER_RESTART;
	}

	if (__cport_cq_free(port)) {
		__cport_timeout_post_pending(t);
		cport_cq_wake(port, 1);
	} else {
		port->overflow += n;
		WRITE_ONCE(port->cq->overflow, (u32)port->overflow);
		if (list_empty(&t->req.pending_node))
			list_add_tail(&t->req.pending_node,
				      &port->pending_list);
	}
	spin_unlock_irqrestore(&port->cq_lock, flags);
	return HRTIMER_RESTART;

out_free:
	/*
	 * Wake before unlocking: once the request is off ->inflight_list,
	 * release may free the port as soon as it can take ->cq_lock.
	 */
	cport_cq_wake(port, 1);
	spin_unlock_irqrestore(&port->cq_lock, flags);
	/*
	 * The hrtimer core does not touch a timer that returned NORESTART, so
	 * the last reference may go here.
	 */
	cport_timeout_put(t);
	return HRTIMER_NORESTART;
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static int cport_timeout_try_cancel(struct cport_req *req)
{
	struct cport_timeout *t = to_timeout(req);

	lockdep_assert_held(&req->port->cq_lock);
	if (t->cancel)
		return -EALREADY;
	/*
	 * -1: the callback runs on another CPU and waits for ->cq_lock. A
	 * one-shot timer is completing anyway; a multishot one is told to end
	 * with -ECANCELED instead of re-arming.
	 */
	if (hrtimer_try_to_cancel(&t->timer) < 0) {
		if (!t->multishot)
			return -EALREADY;
		t->cancel = true;
		refcount_inc(&t->refs);
		return 1;
	}
	__cport_timeout_finish(t, -ECANCELED);
	return 0;
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static void cport_timeout_flush(struct cport_req *req)
{
	__cport_timeout_post_pending(to_timeout(req));
}

/*
 * See struct cport_req_ops. After hrtimer_cancel() no callback runs and
 * none will: if none ended the request meanwhile, it is ours to end.
 * Context: process context.
 */
static void cport_timeout_cancel_sync(struct cport_req *req)
{
	struct cport_timeout *t = to_timeout(req);
	struct cport_port *port = req->port;
	bool finished = false;

	hrtimer_cancel(&t->timer);
	spin_lock_irq(&port->cq_lock);
	if (!list_empty(&req->node)) {
		__cport_timeout_finish(t, -ECANCELED);
		finished = true;
	}
	spin_unlock_irq(&port->cq_lock);
	if (finished) {
		cport_cq_wake(port, 1);
		cport_timeout_put(t);
	}
	cport_timeout_put(t);
}

static void cport_timeout_req_put(struct cport_req *req)
{
	cport_timeout_put(to_timeout(req));
}

static const struct cport_req_ops cport_timeout_ops = {
	.try_cancel	= cport_timeout_try_cancel,
	.cancel_sync	= cport_timeout_cancel_sync,
	.flush		= cport_timeout_flush,
	.put		= cport_timeout_req_put,
};

/**
 * cport_timeout_issue() - arm a timer
 * @port: the port.
 * @sqe: kernel copy of the SQE, checked by cport_timeout_prep().
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context.
 * Return: CPORT_ISSUE_QUEUED, or -ENOMEM.
 */
int cport_timeout_issue(struct cport_port *port, const struct cport_sqe *sqe,
			unsigned int issue_flags)
{
	u32 flags = sqe->op_flags;
	enum hrtimer_mode mode;
	struct cport_timeout *t;
	clockid_t clock;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;

	if (flags & CPORT_TIMEOUT_REALTIME)
		clock = CLOCK_REALTIME;
	else if (flags & CPORT_TIMEOUT_BOOTTIME)
		clock = CLOCK_BOOTTIME;
	else
		clock = CLOCK_MONOTONIC;
	mode = (flags & CPORT_TIMEOUT_ABS) ? HRTIMER_MODE_ABS : HRTIMER_MODE_REL;

	INIT_LIST_HEAD(&t->req.pending_node);
	refcount_set(&t->refs, 1);
	t->req.port = port;
	t->req.user_data = sqe->user_data;
	t->req.ops = &cport_timeout_ops;
	t->req.opcode = CPORT_OP_TIMEOUT;
	cport_chain_attach(port, &t->req);
	if (flags & CPORT_TIMEOUT_MULTISHOT) {
		t->multishot = true;
		t->period = ns_to_ktime(cport_timeout_period(sqe));
		t->shots = sqe->len;
		t->left = sqe->len;
		t->flag_only = flags & CPORT_TIMEOUT_FLAG_ONLY;
	}
	hrtimer_init(&t->timer, clock, mode);
	t->timer.function = cport_timeout_fn;

	spin_lock_irq(&port->cq_lock);
	cport_inflight_add(port, &t->req);
	port->inflight++;
	hrtimer_start(&t->timer, ns_to_ktime(sqe->off), mode);
	spin_unlock_irq(&port->cq_lock);
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_timeout_remove_prep() - check a TIMEOUT_REMOVE SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL if a field other than addr is set.
 */
int cport_timeout_remove_prep(const struct cport_sqe *sqe)
{
	if (sqe->fd || sqe->off || sqe->len || sqe->op_flags || sqe->addr2)
		return -EINVAL;
	return 0;
}

/**
 * cport_timeout_remove_issue() - cancel the timer with user_data == addr
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context.
 * Return: 0, -ENOENT or -EALREADY.
 */
int cport_timeout_remove_issue(struct cport_port *port,
			       const struct cport_sqe *sqe,
			       unsigned int issue_flags)
{
	return cport_cancel_reqs(port, sqe->addr, 0, CPORT_OP_TIMEOUT, NULL);
}
