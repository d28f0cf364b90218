// SPDX-License-Identifier: GPL-2.0
/*
 * cport: file ops that complete later, on the cport workqueue or from the
 * device.
 *
 * Three kinds of op come here:
 *
 * - An op that may block (buffered I/O on a regular file or a block device
 *   that missed the page cache, fsync) is handed to an unbound workqueue.
 *   Its I/O always ends, so a worker may wait for it.
 * - An op handed to a device (O_DIRECT on a block device) completes
 *   through ->ki_complete, in whatever context the device completes it:
 *   often hard or soft IRQ. It is submitted first without blocking by the
 *   submitter; if that would block, a worker submits it again, and may
 *   block while doing so (no free tag...), never for the I/O itself.
 * - An op on a stream (pipe, socket...) that would block waits for
 *   readiness instead: its wait queue entries are added to the file's wait
 *   queues (vfs_poll()), and a wake-up with a matching event queues the
 *   work item, which makes one more non-blocking attempt and either
 *   completes or arms the wait again. A multishot op (->keep_armed) leaves
 *   its entries on the queues from one attempt to the next, as epoll
 *   does, and takes them off only when it ends, is cancelled or waits for
 *   a CQ slot. No worker ever sleeps on a stream, so such an op can
 *   always be cancelled at once.
 *
 * The request captured the submitter's credentials, a reference to its mm
 * and to the file at submission; the worker acts with those credentials,
 * in that address space, and posts the terminal CQE into the slot reserved
 * at submission.
 *
 * ->state decides who ends the request:
 *
 *   PARKED    an ORDERED op waits for an earlier one on its file: the
 *             finish of that one moves it to QUEUED; a canceller to
 *             CANCELLED.
 *   ARMING    the readiness wait is being armed (by the submitter or the
 *             worker); a wake-up only sets ->woken.
 *   POLLING   armed: a wake-up moves it to QUEUED and queues the work; a
 *             canceller moves it to DISARM.
 *   DISARM    a canceller took it off POLLING: after dropping ->cq_lock it
 *             moves it to CANCELLED, removes the wait entries and posts
 *             -ECANCELED. Wait queue locks nest outside ->cq_lock (a
 *             poll's wake-up posts under ->cq_lock, poll.c), so the entries
 *             cannot be removed under ->cq_lock; meanwhile a wake-up finds
 *             no POLLING and does nothing.
 *   QUEUED    the work is queued: the worker moves it to RUNNING, a
 *             canceller to CANCELLED (posting -ECANCELED; the worker then
 *             only drops its reference).
 *   RUNNING   the worker owns it; a canceller waits (flush_work()) and
 *             looks again.
 *   WOKEN     RUNNING, and a multishot op's wait (which stays armed from
 *             one attempt to the next: ->keep_armed) was woken meanwhile,
 *             or the attempt stopped before the file ran dry
 *             (cport_io_again()): the worker queues it again rather than
 *             wait. A canceller waits as for RUNNING.
 *   PENDING   a multishot op found no free CQ slot for its next CQE
 *             (cport_io_more_reserve()): it is on ->pending_list, and its
 *             event stays where it is (the connection in the listen
 *             queue, the data in the socket). The flush that finds a slot
 *             moves it to QUEUED; a canceller to CANCELLED.
 *   DEVICE    the device has the I/O: its completion, maybe in IRQ
 *             context, posts the CQE and moves it to DONE (or, if an
 *             attempt without blocking would have blocked, to QUEUED for a
 *             worker to submit it again); a canceller waits for that
 *             (wait_var_event()) and looks again.
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
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "cq.h"
#include "io.h"
#include "kbuf.h"
#include "link.h"
#include "opdef.h"
#include "register.h"
#include "task.h"

enum {
	CPORT_IO_PARKED,
	CPORT_IO_ARMING,
	CPORT_IO_POLLING,
	CPORT_IO_QUEUED,
	CPORT_IO_RUNNING,
	CPORT_IO_WOKEN,
	CPORT_IO_DEVICE,
	CPORT_IO_DONE,
	CPORT_IO_DISARM,
	CPORT_IO_CANCELLED,
	CPORT_IO_PENDING,
};

static struct workqueue_struct *cport_io_wq;

/*
 * Run the work of @io: on the workqueue, or, for an op that must act in
 * the submitting process (->in_task), in a thread of that process when it
 * enters the port (task.c's list); an op that may run in either
 * (->task_pref) runs in such a thread if one waits on the port now.
 * Context: any, hard IRQ included.
 */
static void cport_io_dispatch(struct cport_io *io)
{
	if (io->in_task)
		cport_task_queue(io);
	else if (!io->task_pref || !cport_task_offer(io))
		queue_work(cport_io_wq, &io->work);
}

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
	return cport_io_alloc_size(port, sqe, file, sizeof(struct cport_io));
}

/**
 * cport_io_alloc_size() - a request for a file op, in a larger struct
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @file: the file; the request takes over this reference.
 * @size: bytes of the opcode's struct, which starts with the struct
 *        cport_io; ->cleanup frees what it adds.
 *
 * Context: process context.
 * Return: the request, or NULL (the caller still owns @file).
 */
struct cport_io *cport_io_alloc_size(struct cport_port *port,
				     const struct cport_sqe *sqe,
				     struct file *file, size_t size)
{
	struct cport_io *io;

	io = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!io)
		return NULL;
	INIT_LIST_HEAD(&io->req.node);
	INIT_LIST_HEAD(&io->req.pending_node);
	io->req.port = port;
	io->req.user_data = sqe->user_data;
	io->req.opcode = sqe->opcode;
	io->req.file = file;
	cport_chain_attach(port, &io->req);
	io->file = file;
	io->iov = io->fast_iov;
	io->ordered = sqe->flags & CPORT_SQE_F_ORDERED;
	INIT_LIST_HEAD(&io->ordered_node);
	return io;
}

/**
 * cport_io_import_iovec() - the iterator of an op's array of iovecs
 * @io: the request.
 * @dir: READ or WRITE.
 * @uvec: the user's array.
 * @nr: its entries.
 *
 * Copies the array; an array of more than UIO_FASTIOV entries is
 * allocated and kept in ->iov until the request is freed.
 *
 * Context: process context, the submitter's.
 * Return: 0 or the -errno of import_iovec().
 */
int cport_io_import_iovec(struct cport_io *io, int dir,
			  const struct iovec __user *uvec, unsigned long nr)
{
	ssize_t ret;

	ret = import_iovec(dir, uvec, nr, UIO_FASTIOV, &io->iov, &io->iter);
	if (ret < 0) {
		io->iov = io->fast_iov;
		return ret;
	}
	if (!io->iov)
		io->iov = io->fast_iov;
	return 0;
}

/**
 * cport_io_free() - free a request and what it holds
 * @io: the request, on no list and no wait queue.
 *
 * Context: process context (the file, credentials, mm and registered
 * buffers are dropped).
 */
void cport_io_free(struct cport_io *io)
{
	if (io->cleanup)
		io->cleanup(io);
	if (io->kbg)
		cport_kbuf_group_put(io->kbg);
	if (io->iov != io->fast_iov)
		kfree(io->iov);
	/* The last op using an unregistered buffer unpins its pages. */
	if (io->bufs)
		cport_buf_table_put(io->bufs);
	if (io->mm)
		mmdrop(io->mm);
	if (io->cred)
		put_cred(io->cred);
	fput(io->file);
	kfree(io);
}

static void cport_io_free_work(struct work_struct *work)
{
	cport_io_free(container_of(work, struct cport_io, free_work));
}

/* Context: any; in IRQ context, freeing is left to a worker. */
static void cport_io_put(struct cport_io *io)
{
	if (!refcount_dec_and_test(&io->refs))
		return;
	if (in_task()) {
		cport_io_free(io);
		return;
	}
	/* mmdrop() and fput() of the last reference want process context. */
	INIT_WORK(&io->free_work, cport_io_free_work);
	queue_work(cport_io_wq, &io->free_work);
}

/*
 * Take every wait queue entry off its queue. A queue that announced
 * POLLFREE may be freed after an RCU grace period: hence the RCU read
 * section, and ->head read with acquire.
 * Context: any; never under ->cq_lock (wait queue locks nest outside it).
 */
static void cport_io_disarm(struct cport_io *io)
{
	struct wait_queue_head *head;
	unsigned long flags;
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < io->nr_waits; i++) {
		/* Pairs with the store-release on POLLFREE in the wake-up. */
		head = smp_load_acquire(&io->waits[i].head);
		if (!head)
			continue;
		spin_lock_irqsave(&head->lock, flags);
		list_del_init(&io->waits[i].wqe.entry);
		spin_unlock_irqrestore(&head->lock, flags);
	}
	rcu_read_unlock();
	io->armed = false;
}

/*
 * A wake-up of one of the file's wait queues, with its lock held.
 * Context: any, including hard IRQ (e.g. a socket's data ready callback).
 */
static int cport_io_wake(struct wait_queue_entry *wqe, unsigned int mode,
			 int sync, void *key)
{
	struct cport_io_wait *w = container_of(wqe, struct cport_io_wait, wqe);
	struct cport_io *io = w->io;
	__poll_t mask = key_to_poll(key);

	if (mask & POLLFREE) {
		/* The queue goes away: leave it now, and never arm again. */
		WRITE_ONCE(io->pollfree, true);
		list_del_init(&wqe->entry);
		/* Off the queue before ->head reads NULL to cport_io_disarm(). */
		smp_store_release(&w->head, NULL);
	} else if (mask && !(mask & (io->poll_events | EPOLLERR | EPOLLHUP))) {
		return 0;
	}

	WRITE_ONCE(io->woken, true);
	/* Pairs with the atomic_xchg() in cport_io_arm(). */
	smp_mb();
	if (atomic_cmpxchg(&io->state, CPORT_IO_POLLING,
			   CPORT_IO_QUEUED) == CPORT_IO_POLLING) {
		/* A multishot op's entry stays: its work takes it off. */
		if (!io->keep_armed)
			list_del_init(&wqe->entry);
		/* The worker may free @io from here on. */
		cport_io_dispatch(io);
	} else if (io->keep_armed) {
		/* Its attempt may have missed this: it runs again. */
		atomic_cmpxchg(&io->state, CPORT_IO_RUNNING, CPORT_IO_WOKEN);
	}
	return 1;
}

/* vfs_poll() callback: one more wait queue of the file. */
static void cport_io_queue_proc(struct file *file, struct wait_queue_head *head,
				poll_table *pt)
{
	struct cport_io *io = container_of(pt, struct cport_io, pt);
	struct cport_io_wait *w;

	if (io->nr_waits == CPORT_IO_WAITS) {
		io->arm_error = true;
		return;
	}
	w = &io->waits[io->nr_waits++];
	init_waitqueue_func_entry(&w->wqe, cport_io_wake);
	w->io = io;
	w->head = head;
	add_wait_queue(head, &w->wqe);
}

/*
 * Arm the readiness wait; ->state is ARMING, so no canceller and no
 * wake-up can end the request meanwhile.
 * Context: process context, the submitter's or the worker's.
 * Return: 0 (waiting, or already queued again), or -EOPNOTSUPP if the
 * file uses more wait queues than a request holds.
 */
static int cport_io_arm(struct cport_io *io)
{
	__poll_t mask;

	io->nr_waits = 0;
	io->arm_error = false;
	WRITE_ONCE(io->woken, false);
	init_poll_funcptr(&io->pt, cport_io_queue_proc);
	io->pt._key = io->poll_events | EPOLLERR | EPOLLHUP;
	mask = vfs_poll(io->file, &io->pt);
	if (io->arm_error) {
		cport_io_disarm(io);
		return -EOPNOTSUPP;
	}
	io->armed = true;

	/* Full barrier; pairs with the smp_mb() in cport_io_wake(). */
	atomic_xchg(&io->state, CPORT_IO_POLLING);
	if (!(mask & (io->poll_events | EPOLLERR | EPOLLHUP)) &&
	    !READ_ONCE(io->woken))
		return 0;
	/*
	 * Ready already: the entries are removed by the worker. Once QUEUED
	 * a canceller may end the request and the port go: the RCU read
	 * lock keeps the port for the dispatch (cport_task_release()).
	 */
	rcu_read_lock();
	if (atomic_cmpxchg(&io->state, CPORT_IO_POLLING,
			   CPORT_IO_QUEUED) == CPORT_IO_POLLING)
		cport_io_dispatch(io);
	rcu_read_unlock();
	return 0;
}

/*
 * ->cq_lock held. An ORDERED op on @file ended: start the next one, if it
 * was parked behind it.
 */
static void __cport_io_start_next(struct cport_port *port, struct file *file)
{
	struct cport_io *next;

	list_for_each_entry(next, &port->ordered_list, ordered_node) {
		if (next->file != file)
			continue;
		if (atomic_cmpxchg(&next->state, CPORT_IO_PARKED,
				   CPORT_IO_QUEUED) == CPORT_IO_PARKED)
			cport_io_dispatch(next);
		return;
	}
}

/* ->cq_lock held: unlink, post the terminal CQE, wake one waiter. */
static void __cport_io_finish(struct cport_io *io, s32 res)
{
	struct cport_port *port = io->req.port;

	lockdep_assert_held(&port->cq_lock);
	if (io->ordered && !list_empty(&io->ordered_node)) {
		list_del_init(&io->ordered_node);
		__cport_io_start_next(port, io->file);
	}
	/* Bytes moved before a cancel (or a last -EAGAIN) are reported. */
	if ((res == -ECANCELED || res == -EAGAIN) && io->done > 0)
		res = io->done;
	list_del_init(&io->req.node);
	port->inflight--;
	__cport_cq_release(port, 1);
	__cport_cqe_post(port, io->req.user_data, res,
			 res >= 0 ? io->cqe_flags : 0);
	if (unlikely(io->req.ef))
		__cport_ef_fire(port, io->req.ef);
	if (io->req.chain)
		__cport_chain_report(io->req.chain, res);
	/* Under ->cq_lock: once it is dropped the port may be gone. */
	__cport_cq_wake(port, 1, false);
}

/* Run the op as the submitter. Context: a kworker of cport_io_wq. */
static int cport_io_run(struct cport_io *io)
{
	const struct cred *old_cred;
	bool use_mm = false;
	int res;

	/* The submitter itself, or a thread with its credentials: as is. */
	old_cred = current_cred() == io->cred ? NULL :
		   override_creds(io->cred);
	/* In a thread of the submitting process (->in_task): its own mm. */
	if (io->mm && current->mm != io->mm) {
		/* The submitter's address space, unless it is gone. */
		use_mm = mmget_not_zero(io->mm);
		if (use_mm)
			kthread_use_mm(io->mm);
	}
	if (io->mm && current->mm != io->mm)
		res = -EFAULT;
	else
		res = io->fn(io);
	if (use_mm) {
		kthread_unuse_mm(io->mm);
		mmput(io->mm);
	}
	if (old_cred)
		revert_creds(old_cred);
	return res;
}

/* Context: a kworker of cport_io_wq; sleeps. */
static void cport_io_work(struct work_struct *work)
{
	struct cport_io *io = container_of(work, struct cport_io, work);
	struct cport_port *port = io->req.port;
	int res;

	/* Whoever queued us left entries on the other queues. */
	if (!io->keep_armed)
		cport_io_disarm(io);
	if (atomic_cmpxchg(&io->state, CPORT_IO_QUEUED,
			   CPORT_IO_RUNNING) != CPORT_IO_QUEUED) {
		/* Cancelled: the canceller posted the CQE and unlinked. */
		if (io->armed)
			cport_io_disarm(io);
		cport_io_put(io);
		return;
	}

	if (io->device) {
		/* The device's reference, dropped by cport_io_device_done(). */
		refcount_inc(&io->refs);
		atomic_set(&io->state, CPORT_IO_DEVICE);
		res = cport_io_run(io);
		if (res != -EIOCBQUEUED)	/* not run: the mm is gone */
			cport_io_device_done(io, res, false);
		cport_io_put(io);	/* the work's */
		return;
	}

	io->need_slot = false;
	res = cport_io_run(io);
	if (res == -EAGAIN && io->need_slot) {
		/*
		 * A multishot op found the CQ full: wait for a free slot, off
		 * the file's queues (a canceller of PENDING frees it at once).
		 */
		if (io->armed)
			cport_io_disarm(io);
		spin_lock_irq(&port->cq_lock);
		if (__cport_cq_free(port)) {
			/* Freed meanwhile: go on at once. */
			atomic_set(&io->state, CPORT_IO_QUEUED);
			cport_io_dispatch(io);
		} else {
			port->overflow++;
			atomic_set(&io->state, CPORT_IO_PENDING);
			list_add_tail(&io->req.pending_node, &port->pending_list);
		}
		spin_unlock_irq(&port->cq_lock);
		return;
	}
	if (res == -EAGAIN && io->poll_events && !READ_ONCE(io->pollfree)) {
		if (io->armed) {
			/*
			 * Still on the queues: wait again, unless woken during
			 * the attempt (WOKEN). Once POLLING a wake-up or a
			 * canceller may end it at once: not touched after.
			 */
			if (atomic_cmpxchg(&io->state, CPORT_IO_RUNNING,
					   CPORT_IO_POLLING) == CPORT_IO_RUNNING)
				return;
			atomic_set(&io->state, CPORT_IO_QUEUED);
			/* Once QUEUED the port may go: see cport_io_arm(). */
			rcu_read_lock();
			cport_io_dispatch(io);
			rcu_read_unlock();
			return;
		}
		/* Not ready after all (another reader was first): wait again. */
		atomic_set(&io->state, CPORT_IO_ARMING);
		res = cport_io_arm(io);
		if (!res)
			return;
	}
	if (io->armed)
		cport_io_disarm(io);

	spin_lock_irq(&port->cq_lock);
	__cport_io_finish(io, res);
	spin_unlock_irq(&port->cq_lock);
	/* The port may be freed from here on. */
	cport_io_put(io);	/* ->inflight_list's reference */
	cport_io_put(io);	/* the active side's */
}

/*
 * ->cq_lock held, IRQs off. Cancel unless a worker (or an arming) holds
 * the request. Return: 0 if cancelled (-ECANCELED posted, request
 * unlinked; the caller drops ->inflight_list's reference); 2 if moved
 * from POLLING to DISARM (cport_io_cancel_sync() ends it); 1 if busy;
 * -EALREADY if another canceller is ending it.
 */
static int __cport_io_cancel(struct cport_io *io)
{
	if (atomic_cmpxchg(&io->state, CPORT_IO_QUEUED,
			   CPORT_IO_CANCELLED) == CPORT_IO_QUEUED) {
		/* The queued work drops the active side's reference. */
		__cport_io_finish(io, -ECANCELED);
		return 0;
	}
	if (atomic_cmpxchg(&io->state, CPORT_IO_POLLING,
			   CPORT_IO_DISARM) == CPORT_IO_POLLING)
		return 2;
	if (atomic_cmpxchg(&io->state, CPORT_IO_PENDING,
			   CPORT_IO_CANCELLED) == CPORT_IO_PENDING) {
		list_del_init(&io->req.pending_node);
		__cport_io_finish(io, -ECANCELED);
		/* The pending side's reference; ->inflight_list's remains. */
		refcount_dec(&io->refs);
		return 0;
	}
	if (atomic_cmpxchg(&io->state, CPORT_IO_PARKED,
			   CPORT_IO_CANCELLED) == CPORT_IO_PARKED) {
		__cport_io_finish(io, -ECANCELED);
		/* The parked side's reference; ->inflight_list's remains. */
		refcount_dec(&io->refs);
		return 0;
	}
	switch (atomic_read(&io->state)) {
	case CPORT_IO_DISARM:
	case CPORT_IO_CANCELLED:
		return -EALREADY;
	default:
		return 1;
	}
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static int cport_io_try_cancel(struct cport_req *req)
{
	struct cport_io *io = to_io(req);
	int ret;

	lockdep_assert_held(&req->port->cq_lock);
	ret = __cport_io_cancel(io);
	if (ret <= 0)
		return ret;
	/* Running or arming, or armed (DISARM): finish after unlocking. */
	refcount_inc(&io->refs);
	return 1;
}

/*
 * See struct cport_req_ops. A running op on a regular file finishes with
 * its own result; one on a stream may have armed its wait again, and is
 * cancelled then. Context: process context, sleeps.
 */
static void cport_io_cancel_sync(struct cport_req *req)
{
	struct cport_io *io = to_io(req);
	struct cport_port *port = req->port;
	int ret;

	for (;;) {
		/* Taken off POLLING by a canceller: the first here ends it. */
		if (atomic_cmpxchg(&io->state, CPORT_IO_DISARM,
				   CPORT_IO_CANCELLED) == CPORT_IO_DISARM) {
			cport_io_disarm(io);
			spin_lock_irq(&port->cq_lock);
			__cport_io_finish(io, -ECANCELED);
			spin_unlock_irq(&port->cq_lock);
			/* The armed wait's reference; ->inflight_list's remains. */
			refcount_dec(&io->refs);
			ret = 0;
			break;
		}
		flush_work(&io->work);
		/* A thread of the submitter runs it (task.c): wait for that. */
		if (io->in_task || io->task_pref)
			wait_var_event(&io->task_running,
				       !READ_ONCE(io->task_running));
		/* The device has it: wait for cport_io_device_done(). */
		wait_var_event(&io->state,
			       atomic_read(&io->state) != CPORT_IO_DEVICE);
		spin_lock_irq(&port->cq_lock);
		ret = list_empty(&req->node) ? -ENOENT : __cport_io_cancel(io);
		spin_unlock_irq(&port->cq_lock);
		if (ret != 1 && ret != 2)
			break;
	}
	if (!ret)
		cport_io_put(io);	/* ->inflight_list's reference */
	cport_io_put(io);		/* ours */
}

/*
 * A multishot op waits for a free CQ slot, and there is one: let it go on
 * (it takes its event and posts it itself).
 * Context: ->cq_lock held, IRQs off.
 */
static void cport_io_flush(struct cport_req *req)
{
	struct cport_io *io = to_io(req);

	list_del_init(&req->pending_node);
	if (atomic_cmpxchg(&io->state, CPORT_IO_PENDING,
			   CPORT_IO_QUEUED) == CPORT_IO_PENDING)
		cport_io_dispatch(io);
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

/*
 * Capture the submitter's credentials (and mm), once.
 * Context: process context, the submitter's (or a worker acting for it).
 */
static void cport_io_prepare(struct cport_io *io, cport_io_fn fn,
			     bool need_mm)
{
	io->fn = fn;
	if (io->cred)
		return;
	io->cred = get_current_cred();
	if (need_mm && current->mm) {
		io->mm = current->mm;
		mmgrab(io->mm);
	}
	io->req.ops = &cport_io_ops;
	/* The port's ->flush looks for such ops when a process exits. */
	if (io->in_task)
		WRITE_ONCE(io->req.port->task_used, true);
	refcount_set(&io->refs, 2);
	INIT_WORK(&io->work, cport_io_work);
}

/* ->cq_lock held: put @io on the port's lists. */
static void __cport_io_link(struct cport_io *io)
{
	struct cport_port *port = io->req.port;

	cport_inflight_add(port, &io->req);
	port->inflight++;
	if (io->ordered)
		list_add_tail(&io->ordered_node, &port->ordered_list);
}

/**
 * cport_io_complete() - end an op that completed at its issue
 * @io: the request, from cport_io_alloc(), owned by the caller.
 * @res: the op's result.
 *
 * Context: process context, the submitter's.
 * Return: @res for an inline CQE (the request is freed); or, if the CQE
 * needs flags (->cqe_flags, a provided buffer), CPORT_ISSUE_QUEUED: the
 * terminal CQE is posted already.
 */
int cport_io_complete(struct cport_io *io, int res)
{
	struct cport_port *port = io->req.port;

	if (!io->cqe_flags || res < 0) {
		cport_io_free(io);
		return res;
	}
	cport_io_prepare(io, NULL, false);
	atomic_set(&io->state, CPORT_IO_RUNNING);
	spin_lock_irq(&port->cq_lock);
	__cport_io_link(io);
	__cport_io_finish(io, res);
	spin_unlock_irq(&port->cq_lock);
	cport_io_put(io);	/* ->inflight_list's reference */
	cport_io_put(io);	/* the active side's */
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_io_park() - park an ORDERED op behind an earlier one on its file
 * @io: the request, from cport_io_alloc(), owned by the caller.
 * @fn: what the worker runs once the op may start: the whole op, from its
 *      first attempt on.
 * @need_mm: the op touches user memory.
 *
 * Context: process context, the submitter's; ->submit_lock held, so no
 * other ORDERED op joins ->ordered_list meanwhile.
 * Return: true if parked (the request belongs to the port now: return
 * CPORT_ISSUE_QUEUED); false if no earlier op on the file is in flight and
 * the caller goes on (the request is still the caller's).
 */
bool cport_io_park(struct cport_io *io, cport_io_fn fn, bool need_mm)
{
	struct cport_port *port = io->req.port;
	struct cport_io *prev;
	bool busy = false;

	if (!io->ordered)
		return false;
	cport_io_prepare(io, fn, need_mm);
	atomic_set(&io->state, CPORT_IO_PARKED);
	spin_lock_irq(&port->cq_lock);
	list_for_each_entry(prev, &port->ordered_list, ordered_node) {
		if (prev->file == io->file) {
			busy = true;
			break;
		}
	}
	if (busy)
		__cport_io_link(io);
	spin_unlock_irq(&port->cq_lock);
	return busy;
}

/**
 * cport_io_start() - let a request complete later
 * @io: the request, from cport_io_alloc(), owned by the caller.
 * @fn: what the worker runs.
 * @need_mm: the op touches user memory.
 * @poll_events: 0: queue the work now (@fn may block). Else: the file is
 *               not ready; wait for these events, then run @fn, which must
 *               not block and returns -EAGAIN to wait again.
 *
 * Context: process context, the submitter's.
 * Return: CPORT_ISSUE_QUEUED; the request belongs to the port now (if the
 * wait cannot be armed, its terminal CQE is posted already).
 */
int cport_io_start(struct cport_io *io, cport_io_fn fn, bool need_mm,
		   __poll_t poll_events)
{
	struct cport_port *port = io->req.port;
	int ret;

	cport_io_prepare(io, fn, need_mm);
	io->poll_events = poll_events;
	atomic_set(&io->state, poll_events ? CPORT_IO_ARMING : CPORT_IO_QUEUED);

	spin_lock_irq(&port->cq_lock);
	__cport_io_link(io);
	spin_unlock_irq(&port->cq_lock);

	if (!poll_events) {
		cport_io_dispatch(io);
		return CPORT_ISSUE_QUEUED;
	}
	ret = cport_io_arm(io);
	if (ret) {
		spin_lock_irq(&port->cq_lock);
		__cport_io_finish(io, ret);
		spin_unlock_irq(&port->cq_lock);
		cport_io_put(io);
		cport_io_put(io);
	}
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_io_start_device() - hand an op to a device
 * @io: the request, from cport_io_alloc(), owned by the caller.
 * @first: submits the op here and now, without blocking.
 * @fn: submits the op again from a worker, after @first found that it
 *      would block; may block.
 * @need_mm: the op touches user memory (not registered buffers).
 *
 * @first and @fn end the op with exactly one cport_io_device_done(), at
 * once or later from the device's completion, and return -EIOCBQUEUED.
 *
 * Context: process context, the submitter's.
 * Return: CPORT_ISSUE_QUEUED; the request belongs to the port now.
 */
int cport_io_start_device(struct cport_io *io, cport_io_fn first,
			  cport_io_fn fn, bool need_mm)
{
	struct cport_port *port = io->req.port;

	cport_io_prepare(io, fn, need_mm);
	io->device = true;
	atomic_set(&io->state, CPORT_IO_DEVICE);
	/* The device's reference, dropped by cport_io_device_done(). */
	refcount_inc(&io->refs);

	spin_lock_irq(&port->cq_lock);
	__cport_io_link(io);
	spin_unlock_irq(&port->cq_lock);

	first(io);
	cport_io_put(io);	/* the submitter's */
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_io_device_done() - the device finished an op
 * @io: the request, started with cport_io_start_device().
 * @res: the CQE's res.
 * @again: the attempt without blocking would have blocked: submit the op
 *         again from a worker instead of completing it.
 *
 * Context: any, including hard IRQ (a block device's completion).
 */
void cport_io_device_done(struct cport_io *io, s32 res, bool again)
{
	struct cport_port *port = io->req.port;
	unsigned long flags;

	if (again) {
		/* The device's reference goes to the work. */
		atomic_set(&io->state, CPORT_IO_QUEUED);
		queue_work(cport_io_wq, &io->work);
		wake_up_var(&io->state);
		return;
	}

	spin_lock_irqsave(&port->cq_lock, flags);
	__cport_io_finish(io, res);
	atomic_set(&io->state, CPORT_IO_DONE);
	spin_unlock_irqrestore(&port->cq_lock, flags);
	/* The port may be freed from here on. */
	cport_io_put(io);	/* ->inflight_list's reference */
	cport_io_put(io);	/* the device's */
	/*
	 * Only the address is used: @io may be freed already, unless a
	 * canceller waits, and then it holds a reference.
	 */
	wake_up_var(&io->state);
}

/**
 * cport_io_task_run() - run the work of an ->in_task op here
 * @io: the op, taken off the port's task list (task.c); the list's
 *      reference (the active side's) comes with it.
 *
 * Context: process context, a thread of the submitting process inside
 * CPORT_IOC_ENTER or CPORT_IOC_GETQ; sleeps.
 */
void cport_io_task_run(struct cport_io *io)
{
	/* A canceller may wait for us: keep @io until we told it. */
	refcount_inc(&io->refs);
	WRITE_ONCE(io->task_running, true);
	cport_io_work(&io->work);
	WRITE_ONCE(io->task_running, false);
	wake_up_var(&io->task_running);
	cport_io_put(io);
}

/**
 * cport_io_task_cancel() - drop an ->in_task op from a released port
 * @io: the op, taken off the task list of a port whose requests were all
 *      cancelled already.
 *
 * Context: process context.
 */
void cport_io_task_cancel(struct cport_io *io)
{
	/* The canceller posted its CQE; only the list's reference is left. */
	WARN_ON_ONCE(atomic_read(&io->state) != CPORT_IO_CANCELLED);
	/* A multishot op's wait may still be armed (->keep_armed). */
	if (io->armed)
		cport_io_disarm(io);
	cport_io_put(io);
}

/**
 * cport_io_cancel_files() - cancel the ->in_task ops of a file table
 * @port: the port.
 * @files: the file table (a cookie) whose process is gone: no thread of it
 *         will ever run its task items.
 *
 * Context: process context, ->submit_lock held (one canceller at a time).
 */
void cport_io_cancel_files(struct cport_port *port, void *files)
{
	struct cport_req *req, *tmp;
	unsigned int posted = 0;
	LIST_HEAD(done);
	LIST_HEAD(sync);
	int ret;

	lockdep_assert_held(&port->submit_lock);
	spin_lock_irq(&port->cq_lock);
	list_for_each_entry_safe(req, tmp, &port->inflight_list, node) {
		if (req->ops != &cport_io_ops || !to_io(req)->in_task ||
		    to_io(req)->files != files)
			continue;
		ret = cport_io_try_cancel(req);
		if (ret < 0)
			continue;
		if (ret == 0) {
			list_add_tail(&req->cancel_node, &done);
			posted++;
		} else {
			list_add_tail(&req->cancel_node, &sync);
		}
	}
	spin_unlock_irq(&port->cq_lock);
	if (posted)
		cport_cq_wake(port, posted);
	list_for_each_entry_safe(req, tmp, &done, cancel_node)
		req->ops->put(req);
	list_for_each_entry_safe(req, tmp, &sync, cancel_node)
		req->ops->cancel_sync(req);
}

/**
 * cport_io_again() - the attempt stopped before the file ran dry
 * @io: a multishot op, in its work function, which returns -EAGAIN next.
 *
 * A multishot op's wait stays armed between attempts (->keep_armed), so
 * an attempt that leaves an event where it is (it took its share of
 * shots) says so: the op is queued again instead of waiting for a
 * wake-up that may not come.
 *
 * Context: process context, the op's work function.
 */
void cport_io_again(struct cport_io *io)
{
	atomic_cmpxchg(&io->state, CPORT_IO_RUNNING, CPORT_IO_WOKEN);
}

/**
 * cport_io_more_reserve() - a CQ slot for one more non-terminal CQE
 * @io: a multishot op, in its work function.
 *
 * A multishot op takes its next event (a connection, data) only when the
 * CQE that reports it cannot fail: it reserves the slot first. Without a
 * free slot it sets ->need_slot and its work function returns -EAGAIN:
 * the op then waits on ->pending_list, and its event stays where it is.
 *
 * Context: process context.
 * Return: true if a slot is reserved (use it with cport_io_more_post() or
 * give it back with cport_io_more_unreserve()).
 */
bool cport_io_more_reserve(struct cport_io *io)
{
	struct cport_port *port = io->req.port;
	bool got;

	spin_lock_irq(&port->cq_lock);
	got = __cport_cq_free(port);
	if (got)
		port->cq_reserved++;
	spin_unlock_irq(&port->cq_lock);
	if (!got)
		io->need_slot = true;
	return got;
}

/**
 * cport_io_more_post() - post a non-terminal CQE into the reserved slot
 * @io: a multishot op that holds a reservation from
 *      cport_io_more_reserve().
 * @res: the CQE's res.
 * @cqe_flags: CPORT_CQE_F_* besides CPORT_CQE_F_MORE.
 *
 * Context: process context.
 */
void cport_io_more_post(struct cport_io *io, s32 res, u32 cqe_flags)
{
	struct cport_port *port = io->req.port;

	spin_lock_irq(&port->cq_lock);
	__cport_cq_release(port, 1);
	__cport_cqe_post(port, io->req.user_data, res,
			 cqe_flags | CPORT_CQE_F_MORE);
	spin_unlock_irq(&port->cq_lock);
	cport_cq_wake(port, 1);
}

/**
 * cport_io_more_unreserve() - give back a reservation not used
 * @io: the op.
 *
 * Context: process context.
 */
void cport_io_more_unreserve(struct cport_io *io)
{
	cport_cq_unreserve(io->req.port, 1);
}

/**
 * cport_io_queue_work() - queue a work item on the cport workqueue
 * @work: the work; module unload waits for it.
 *
 * Context: any.
 */
void cport_io_queue_work(struct work_struct *work)
{
	queue_work(cport_io_wq, work);
}

/**
 * cport_io_queue_delayed_work() - queue a delayed work on the cport workqueue
 * @dwork: the work; module unload waits for it.
 * @delay: jiffies.
 *
 * Context: any.
 */
void cport_io_queue_delayed_work(struct delayed_work *dwork,
				 unsigned long delay)
{
	queue_delayed_work(cport_io_wq, dwork, delay);
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
	/*
	 * A device completion that posted the last CQE may still be on its
	 * way out of cport_io_put(), about to queue a free_work; IRQ and
	 * softirq handlers are RCU readers, so after a grace period it has
	 * queued it, and destroying the workqueue runs it.
	 */
	synchronize_rcu();
	destroy_workqueue(cport_io_wq);
}
