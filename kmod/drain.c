// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_SQE_F_DRAIN, a barrier in the submission order.
 *
 * An SQE with CPORT_SQE_F_DRAIN starts only after every SQE submitted
 * before it has completed, and the SQEs submitted after it start only
 * after it has completed. While such an SQE waits, it and every SQE
 * submitted after it are deferred: copied, with their file descriptors
 * resolved and the submitter's credentials and mm captured, onto
 * ->defer_list, in submission order. A chain (link.c) is deferred as its
 * head; its members wait in their chain as usual.
 *
 * "Everything before it has completed" needs no sequence numbers: every
 * consumed SQE holds one CQ reservation until its terminal CQE, so when
 * the only reservations left are those of the deferred SQEs and of the
 * members of the chains they head (->cq_reserved == ->defer_res), nothing
 * submitted before the first of them is still in flight.
 * __cport_cq_release() kicks the work when that becomes true; the work
 * issues deferred SQEs from the front, as their
 * submitters would have, stopping at one that is a barrier (a DRAIN SQE,
 * or the SQE right behind one) while anything else is outstanding.
 *
 * The deferred SQEs are one request on ->inflight_list (->defer_req), so
 * that CPORT_OP_CANCEL and the release of the port find them.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cq.h"
#include "drain.h"
#include "io.h"
#include "link.h"
#include "opdef.h"
#include "submit.h"
#include "trace.h"

/**
 * struct cport_defer - a deferred SQE
 * @node: entry in ->defer_list (or ->defer_free once cancelled).
 * @sqe: kernel copy of the SQE.
 * @file: the file @sqe's fd named at submission, or NULL.
 * @has_fd: @sqe names a file by descriptor: @file stands for it.
 * @self: that descriptor is the port's own (not held, see
 *        cport_sqe_fget()).
 * @barrier: waits until nothing before it is outstanding.
 * @chain: the chain @sqe heads, or NULL.
 * @chain_nr: the members of @chain.
 * @cred: the submitter's credentials.
 * @mm: the submitter's mm (mmgrab()), or NULL.
 * @files: the submitter's file table, as a cookie (task.c).
 */
struct cport_defer {
	struct list_head	node;
	struct cport_sqe	sqe;
	struct file		*file;
	bool			has_fd;
	bool			self;
	bool			barrier;
	struct cport_chain	*chain;
	unsigned int		chain_nr;
	const struct cred	*cred;
	struct mm_struct	*mm;
	void				*files;
};

static void cport_defer_free(struct cport_defer *d)
{
	if (d->file)
		fput(d->file);
	if (d->mm)
		mmdrop(d->mm);
	put_cred(d->cred);
	kfree(d);
}

/**
 * cport_defer_kick() - let the work look at the deferred SQEs
 * @port: the port.
 *
 * Context: any.
 */
void cport_defer_kick(struct cport_port *port)
{
	cport_io_queue_work(&port->defer_work);
}

/**
 * cport_defer_needed() - must this SQE be deferred?
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context, ->submit_lock held.
 * Return: true for a DRAIN SQE, and for any SQE while others are deferred,
 * but for CANCEL and TIMEOUT_REMOVE (not linked).
 */
bool cport_defer_needed(struct cport_port *port, const struct cport_sqe *sqe)
{
	if (sqe->flags & CPORT_SQE_F_DRAIN)
		return true;
	/*
	 * A cancel is never held up: it is how the ops a DRAIN waits for
	 * are ended.
	 */
	if ((sqe->opcode == CPORT_OP_CANCEL ||
	     sqe->opcode == CPORT_OP_TIMEOUT_REMOVE) &&
	    !(sqe->flags & CPORT_SQE_F_LINK))
		return false;
	return READ_ONCE(port->defer_nr);
}

/**
 * cport_defer_add() - defer an SQE
 * @port: the port.
 * @sqe: kernel copy of the SQE; its CQ slot is reserved.
 * @chain: the chain @sqe heads, or NULL.
 * @chain_nr: the members of @chain.
 *
 * Context: process context, the submitter's; ->submit_lock held.
 * Return: 0, or -ENOMEM (nothing deferred).
 */
int cport_defer_add(struct cport_port *port, const struct cport_sqe *sqe,
		    struct cport_chain *chain, unsigned int chain_nr)
{
	bool drain = sqe->flags & CPORT_SQE_F_DRAIN;
	struct cport_defer *d;

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	d->sqe = *sqe;
	d->chain = chain;
	d->chain_nr = chain_nr;
	d->has_fd = cport_sqe_has_fd(sqe);
	if (d->has_fd)
		d->file = cport_sqe_fget(port, sqe, &d->self);
	d->cred = get_current_cred();
	d->files = current->files;
	if (current->mm) {
		d->mm = current->mm;
		mmgrab(d->mm);
	}
	/* The SQE after a DRAIN waits for it to complete. */
	d->barrier = drain || port->defer_after_drain;
	port->defer_after_drain = drain;

	trace_cport_drain(port, sqe->user_data, 1 + chain_nr);
	spin_lock_irq(&port->cq_lock);
	list_add_tail(&d->node, &port->defer_list);
	port->defer_nr++;
	port->defer_res += 1 + chain_nr;
	port->inflight++;
	if (list_empty(&port->defer_req.node))
		cport_inflight_add(port, &port->defer_req);
	spin_unlock_irq(&port->cq_lock);
	return 0;
}

/* ->cq_lock held: the first deferred SQE, if it may start now. */
static struct cport_defer *__cport_defer_pop(struct cport_port *port)
{
	struct cport_defer *d;

	d = list_first_entry_or_null(&port->defer_list, struct cport_defer,
				     node);
	if (!d || (d->barrier && port->cq_reserved != port->defer_res))
		return NULL;
	list_del_init(&d->node);
	port->defer_nr--;
	port->defer_res -= 1 + d->chain_nr;
	port->inflight--;
	if (!port->defer_nr) {
		list_del_init(&port->defer_req.node);
		port->defer_after_drain = false;
	}
	return d;
}

/*
 * Issue a deferred SQE as its submitter would have.
 * Context: a worker of cport_io_wq; ->submit_lock held.
 */
static void cport_defer_issue(struct cport_port *port, struct cport_defer *d)
{
	const struct cred *old_cred;
	bool use_mm = false;
	int ret;

	old_cred = override_creds(d->cred);
	if (d->mm) {
		use_mm = mmget_not_zero(d->mm);
		if (use_mm)
			kthread_use_mm(d->mm);
	}
	if (d->mm && !use_mm) {
		ret = -EFAULT;	/* the submitter's mm is gone */
	} else {
		port->issue_chain = d->chain;
		port->issue_sqe = d->has_fd ? &d->sqe : NULL;
		port->issue_file = d->file;
		port->issue_self = d->self;
		port->issue_files = d->files;
		ret = cport_issue_sqe(port, &d->sqe, 0);
		port->issue_files = NULL;
		port->issue_chain = NULL;
		port->issue_sqe = NULL;
		port->issue_file = NULL;
		port->issue_self = false;
	}
	if (ret != CPORT_ISSUE_QUEUED) {
		spin_lock_irq(&port->cq_lock);
		__cport_cqe_post_ef(port, d->sqe.user_data, ret,
				    cport_sqe_ef(&d->sqe));
		__cport_cq_release(port, 1);
		__cport_cq_wake(port, 1, false);
		spin_unlock_irq(&port->cq_lock);
	}
	if (d->chain) {
		cport_chain_head_issued(d->chain, ret);
		if (ret != CPORT_ISSUE_QUEUED)
			cport_chain_head_done(d->chain, ret);
	}
	if (use_mm) {
		kthread_unuse_mm(d->mm);
		mmput(d->mm);
	}
	revert_creds(old_cred);
}

/*
 * Issue the deferred SQEs that may start. The release of the port waits
 * for this work (cancel_work_sync()) before it looks for ops a last time.
 * Context: a worker of cport_io_wq.
 */
static void cport_defer_work(struct work_struct *work)
{
	struct cport_port *port = container_of(work, struct cport_port,
					       defer_work);
	struct cport_defer *d;

	mutex_lock(&port->submit_lock);
	for (;;) {
		spin_lock_irq(&port->cq_lock);
		d = __cport_defer_pop(port);
		spin_unlock_irq(&port->cq_lock);
		if (!d)
			break;
		cport_defer_issue(port, d);
		cport_defer_free(d);
	}
	mutex_unlock(&port->submit_lock);
}

static bool cport_defer_match_one(struct cport_port *port,
				  struct cport_defer *d)
{
	u32 flags = port->defer_cancel_flags;

	if (port->defer_cancel_opcode >= 0 &&
	    d->sqe.opcode != port->defer_cancel_opcode)
		return false;
	if (flags & CPORT_CANCEL_ANY)
		return true;
	if (flags & CPORT_CANCEL_FD)
		return d->has_fd && d->file == port->defer_cancel_file;
	return d->sqe.user_data == port->defer_cancel_user_data;
}

/* See struct cport_req_ops. Context: ->cq_lock held. */
static bool cport_defer_match(struct cport_req *req, u32 flags, u64 user_data,
			      struct file *file)
{
	struct cport_port *port = req->port;
	struct cport_defer *d;

	port->defer_cancel_flags = flags;
	port->defer_cancel_user_data = user_data;
	port->defer_cancel_file = file;
	list_for_each_entry(d, &port->defer_list, node)
		if (cport_defer_match_one(port, d))
			return true;
	return false;
}

/*
 * See struct cport_req_ops: cancels the matching deferred SQE (every one
 * with CPORT_CANCEL_ALL or _ANY); a cancelled chain head fails its chain.
 * Context: ->cq_lock held, IRQs off.
 */
static int cport_defer_try_cancel(struct cport_req *req)
{
	struct cport_port *port = req->port;
	u32 flags = port->defer_cancel_flags;
	struct cport_defer *d, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(d, tmp, &port->defer_list, node) {
		if (!cport_defer_match_one(port, d))
			continue;
		list_move_tail(&d->node, &port->defer_free);
		port->defer_nr--;
		port->defer_res -= 1 + d->chain_nr;
		port->inflight--;
		__cport_cqe_post_ef(port, d->sqe.user_data, -ECANCELED,
				    cport_sqe_ef(&d->sqe));
		if (d->chain)
			__cport_chain_report(d->chain, -ECANCELED);
		n++;
		if (!(flags & (CPORT_CANCEL_ALL | CPORT_CANCEL_ANY)))
			break;
	}
	if (!port->defer_nr) {
		list_del_init(&port->defer_req.node);
		port->defer_after_drain = false;
	}
	if (!n)
		return -EALREADY;
	/* Last: may kick the work, with ->defer_nr already right. */
	__cport_cq_release(port, n);
	__cport_cq_wake(port, n, false);
	return 0;
}

/* Never returned 1 by ->try_cancel. */
static void cport_defer_cancel_sync(struct cport_req *req)
{
}

/* Never on ->pending_list. */
static void cport_defer_flush(struct cport_req *req)
{
}

/* After ->try_cancel returned 0: free what it cancelled. Process context. */
static void cport_defer_put(struct cport_req *req)
{
	struct cport_port *port = req->port;
	struct cport_defer *d, *tmp;
	LIST_HEAD(done);

	spin_lock_irq(&port->cq_lock);
	list_splice_init(&port->defer_free, &done);
	spin_unlock_irq(&port->cq_lock);
	list_for_each_entry_safe(d, tmp, &done, node)
		cport_defer_free(d);
}

static const struct cport_req_ops cport_defer_ops = {
	.match		= cport_defer_match,
	.try_cancel	= cport_defer_try_cancel,
	.cancel_sync	= cport_defer_cancel_sync,
	.flush		= cport_defer_flush,
	.put		= cport_defer_put,
};

/**
 * cport_defer_init() - set up a new port's deferral state
 * @port: the port, being opened.
 *
 * Context: process context.
 */
void cport_defer_init(struct cport_port *port)
{
	INIT_LIST_HEAD(&port->defer_list);
	INIT_LIST_HEAD(&port->defer_free);
	INIT_WORK(&port->defer_work, cport_defer_work);
	INIT_LIST_HEAD(&port->defer_req.node);
	INIT_LIST_HEAD(&port->defer_req.pending_node);
	port->defer_req.port = port;
	port->defer_req.ops = &cport_defer_ops;
	port->defer_req.opcode = CPORT_OP_LAST;	/* no opcode of its own */
}

/**
 * cport_defer_release() - the port goes: wait for the work
 * @port: the port; every op was cancelled, so nothing is deferred.
 *
 * The work may have issued SQEs meanwhile: the caller cancels again.
 *
 * Context: process context.
 */
void cport_defer_release(struct cport_port *port)
{
	cancel_work_sync(&port->defer_work);
	WARN_ON_ONCE(!list_empty(&port->defer_list));
}
