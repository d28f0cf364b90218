// SPDX-License-Identifier: GPL-2.0
/*
 * cport: file ops that may sleep, run on the cport workqueue.
 *
 * An op that cannot complete without blocking (buffered I/O that misses
 * the page cache, fsync) is handed to an unbound workqueue. The request
 * captured the submitter's credentials, a reference to its mm and to the
 * file at submission; the worker acts with those credentials, in that
 * address space, and posts the terminal CQE into the slot reserved at
 * submission.
 *
 * Ownership: ->state decides who ends the request. The worker moves it
 * from QUEUED to RUNNING before touching the file; a canceller moves it
 * from QUEUED to CANCELLED under ->cq_lock and posts -ECANCELED. Only one
 * of the two can win. A request that is RUNNING finishes normally: the
 * canceller (or the port's release) waits for it with flush_work().
 *
 * After the terminal CQE is posted and ->cq_lock dropped, the port may be
 * freed at once (its release finds nothing left to wait for): the worker
 * touches only the request after that. The workqueue is destroyed at
 * module unload, which waits for the last work item to return.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cq.h"
#include "io.h"
#include "opdef.h"

enum {
	CPORT_IO_QUEUED,
	CPORT_IO_RUNNING,
	CPORT_IO_CANCELLED,
};

static struct workqueue_struct *cport_io_wq;

static struct cport_io *to_io(struct cport_req *req)
{
	return container_of(req, struct cport_io, req);
}

/**
 * cport_io_alloc() - a request for a file op
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @file: the file; the request takes over this reference.
 *
 * Context: process context.
 * Return: the request, or NULL (the caller still owns @file).
 */
struct cport_io *cport_io_alloc(struct cport_port *port,
				const struct cport_sqe *sqe, struct file *file)
{
	struct cport_io *io;

	io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	if (!io)
		return NULL;
	INIT_LIST_HEAD(&io->req.node);
	INIT_LIST_HEAD(&io->req.pending_node);
	io->req.port = port;
	io->req.user_data = sqe->user_data;
	io->req.opcode = sqe->opcode;
	io->file = file;
	io->iov = io->fast_iov;
	return io;
}

/**
 * cport_io_free() - free a request and what it holds
 * @io: the request, no longer on any list.
 *
 * Context: process context (the file, credentials and mm are dropped).
 */
void cport_io_free(struct cport_io *io)
{
	if (io->iov != io->fast_iov)
		kfree(io->iov);
	if (io->mm)
		mmdrop(io->mm);
	if (io->cred)
		put_cred(io->cred);
	fput(io->file);
	kfree(io);
}

static void cport_io_put(struct cport_io *io)
{
	if (refcount_dec_and_test(&io->refs))
		cport_io_free(io);
}

/* ->cq_lock held: unlink, post the terminal CQE, wake one waiter. */
static void __cport_io_finish(struct cport_io *io, s32 res)
{
	struct cport_port *port = io->req.port;

	lockdep_assert_held(&port->cq_lock);
	list_del_init(&io->req.node);
	port->inflight--;
	port->cq_reserved--;
	__cport_cqe_post(port, io->req.user_data, res, 0);
	/* Under ->cq_lock: once it is dropped the port may be gone. */
	__cport_cq_wake(port, 1, false);
}

/* Context: a kworker of cport_io_wq; sleeps. */
static void cport_io_work(struct work_struct *work)
{
	struct cport_io *io = container_of(work, struct cport_io, work);
	struct cport_port *port = io->req.port;
	const struct cred *old_cred;
	bool use_mm = false;
	int res;

	if (atomic_cmpxchg(&io->state, CPORT_IO_QUEUED,
			   CPORT_IO_RUNNING) != CPORT_IO_QUEUED) {
		/* Cancelled: the canceller posted the CQE and unlinked. */
		cport_io_put(io);
		return;
	}

	old_cred = override_creds(io->cred);
	if (io->mm) {
		/* The submitter's address space, unless it is gone. */
		use_mm = mmget_not_zero(io->mm);
		if (use_mm)
			kthread_use_mm(io->mm);
	}
	if (io->mm && !use_mm)
		res = -EFAULT;
	else
		res = io->fn(io);
	if (use_mm) {
		kthread_unuse_mm(io->mm);
		mmput(io->mm);
	}
	revert_creds(old_cred);

	spin_lock_irq(&port->cq_lock);
	__cport_io_finish(io, res);
	spin_unlock_irq(&port->cq_lock);
	/* The port may be freed from here on. */
	cport_io_put(io);	/* ->inflight_list's reference */
	cport_io_put(io);	/* the work item's */
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static int cport_io_try_cancel(struct cport_req *req)
{
	struct cport_io *io = to_io(req);

	lockdep_assert_held(&req->port->cq_lock);
	if (atomic_cmpxchg(&io->state, CPORT_IO_QUEUED,
			   CPORT_IO_CANCELLED) == CPORT_IO_QUEUED) {
		__cport_io_finish(io, -ECANCELED);
		return 0;
	}
	/* Running: it ends on its own; wait for it after unlocking. */
	refcount_inc(&io->refs);
	return 1;
}

/* See struct cport_req_ops. Context: process context, sleeps. */
static void cport_io_cancel_sync(struct cport_req *req)
{
	struct cport_io *io = to_io(req);

	flush_work(&io->work);
	cport_io_put(io);
}

/* Never on ->pending_list: file ops post one CQE. */
static void cport_io_flush(struct cport_req *req)
{
}

static void cport_io_req_put(struct cport_req *req)
{
	cport_io_put(to_io(req));
}

static const struct cport_req_ops cport_io_ops = {
	.try_cancel	= cport_io_try_cancel,
	.cancel_sync	= cport_io_cancel_sync,
	.flush		= cport_io_flush,
	.put		= cport_io_req_put,
};

/**
 * cport_io_queue() - hand a request to the workqueue
 * @io: the request, from cport_io_alloc(), owned by the caller.
 * @fn: what the worker runs.
 * @need_mm: the op touches user memory.
 *
 * Context: process context, the submitter's.
 * Return: CPORT_ISSUE_QUEUED; the request belongs to the port now.
 */
int cport_io_queue(struct cport_io *io, cport_io_fn fn, bool need_mm)
{
	struct cport_port *port = io->req.port;

	io->fn = fn;
	io->cred = get_current_cred();
	if (need_mm && current->mm) {
		io->mm = current->mm;
		mmgrab(io->mm);
	}
	io->req.ops = &cport_io_ops;
	refcount_set(&io->refs, 2);
	atomic_set(&io->state, CPORT_IO_QUEUED);
	INIT_WORK(&io->work, cport_io_work);

	spin_lock_irq(&port->cq_lock);
	list_add_tail(&io->req.node, &port->inflight_list);
	port->inflight++;
	spin_unlock_irq(&port->cq_lock);
	queue_work(cport_io_wq, &io->work);
	return CPORT_ISSUE_QUEUED;
}

/* Context: module init. */
int cport_io_init(void)
{
	cport_io_wq = alloc_workqueue("cport_io", WQ_UNBOUND, 0);
	return cport_io_wq ? 0 : -ENOMEM;
}

/* Context: module exit; waits for the last work item. */
void cport_io_exit(void)
{
	destroy_workqueue(cport_io_wq);
}
