// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_POLL_ADD and CPORT_OP_POLL_REMOVE, readiness of any file
 * turned into completions.
 *
 * A poll adds wait queue entries to the file's wait queues (vfs_poll()
 * with our queue proc, as epoll does). The file wakes them, often in hard
 * or soft IRQ context and always with its wait queue lock held; the entry's
 * callback then posts the CQE itself, under ->cq_lock taken with irqsave.
 * Lock order: a polled file's wait queue lock, then ->cq_lock. The
 * callback never sleeps, never allocates, and never calls vfs_poll(): a
 * wake-up without an event mask (key NULL) queues the work item, which
 * polls the file again in process context.
 *
 * Since ->cq_lock nests inside the wait queue locks, nobody may take a
 * wait queue lock with ->cq_lock held: a canceller (CPORT_OP_CANCEL,
 * POLL_REMOVE, a linked timeout, the release of the port) only marks the
 * poll ENDING under ->cq_lock and leaves the rest to the work item, which
 * takes the entries off their queues and posts the terminal CQE.
 *
 * ->state, under ->cq_lock, says who may end the poll:
 *
 *   ARMING   the submitter is adding the entries; a wake-up only ORs its
 *            events into ->early, which the submitter looks at.
 *   ARMED    on ->inflight_list. A wake-up with events of interest posts a
 *            CQE (multishot: with CPORT_CQE_F_MORE, or keeps the events
 *            pending in ->pending if the CQ has no free slot). If the
 *            poll ends (one-shot, or EPOLLERR/EPOLLHUP), the callback
 *            ends it itself when its entry is the poll's only one and the
 *            work is idle: it takes its entry off the queue it holds the
 *            lock of, and posts the terminal CQE. Otherwise it moves the
 *            poll to ENDING.
 *   ENDING   the end is decided, with result ->res: the work takes every
 *            entry off its queue, waits for the irq_work, posts the
 *            terminal CQE and unlinks. A canceller gets -EALREADY.
 *   DONE     the terminal CQE is posted; nothing touches the port again.
 *
 * So the terminal CQE is posted only once no entry is on a wait queue any
 * more: no callback can run after it, and every callback may touch the
 * port, which outlives the requests on its ->inflight_list. The work item
 * touches the port only while ->work_queued is set (under ->cq_lock), and
 * a callback does not end the poll itself meanwhile.
 *
 * References (->refs): one for the poll until DONE, dropped by whoever
 * posts the terminal CQE; one for the queued work; one per canceller
 * waiting for the work. The last one drops the polled file and frees.
 *
 * POLLFREE: the wait queue is about to be freed (after an RCU grace
 * period). The callback takes its entry off, clears ->head (store-release)
 * so that nobody touches that queue again, and ends the poll (-ECANCELED).
 *
 * A port polling another port (the file is a cport port): the target's
 * CQ wake-up may run with the target's ->cq_lock held, so taking our
 * ->cq_lock there would nest two locks of one class. The callback only
 * records the events and queues an irq_work, which posts with no other
 * lock held. So it does for an epoll or io_uring instance, whose wake-ups
 * may come from a port's (the instance watches a port) with that port's
 * ->cq_lock held (->defer). Polling the port itself is -EINVAL; a cycle of ports polling
 * each other could wake itself for ever, so a POLL_ADD on a port that has
 * a POLL_ADD on a port in flight itself fails with -ELOOP (checked under
 * cport_poll_mutex, which guards cport_poll_ports). Chains (A polls B
 * polls C) are allowed; cycles cannot be formed.
 *
 * Usage (liburing style):
 *
 *	cport_prep_poll_multishot(sqe, sock, EPOLLIN);
 *	// one CQE with CPORT_CQE_F_MORE and res = EPOLLIN per data arrival
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>

#include "cancel.h"
#include "cq.h"
#include "io.h"
#include "link.h"
#include "opdef.h"
#include "poll.h"
#include "register.h"
#include "trace.h"

#define CPORT_POLL_ADD_FLAGS	CPORT_POLL_MULTISHOT
#define CPORT_POLL_REMOVE_FLAGS	(CPORT_POLL_UPDATE_EVENTS | \
				 CPORT_POLL_UPDATE_USER_DATA)
/* Reported whether asked for or not. */
#define CPORT_POLL_ALWAYS	(EPOLLERR | EPOLLHUP)

/* Wait queues one poll can be on: pipes opened read-write use two. */
#define CPORT_POLL_WAITS	2

enum {
	CPORT_POLL_ARMING,
	CPORT_POLL_ARMED,
	CPORT_POLL_ENDING,
	CPORT_POLL_DONE,
};

struct cport_pollreq;

/**
 * struct cport_poll_wait - one wait queue entry of a poll
 * @wqe: the entry.
 * @head: the wait queue it is on, or NULL; cleared (store-release) when
 *        the queue announces POLLFREE.
 * @p: the poll.
 */
struct cport_poll_wait {
	struct wait_queue_entry	wqe;
	struct wait_queue_head	*head;
	struct cport_pollreq	*p;
};

/**
 * struct cport_pollreq - a POLL_ADD in flight
 * @req: the request, on ->inflight_list while ARMED or ENDING.
 * @refs: see the header comment.
 * @state: CPORT_POLL_*, under ->cq_lock.
 * @events: events of interest, with CPORT_POLL_ALWAYS; written under
 *          ->cq_lock, read locklessly by the callback as a first filter.
 * @early: events seen by callbacks while ARMING, under ->cq_lock.
 * @pending: multishot events not reported yet (CQ full), under ->cq_lock.
 * @res: the terminal result once ENDING.
 * @multishot: CPORT_POLL_MULTISHOT.
 * @repoll: a wake-up without events, or an update, wants the file polled
 *          again by the work; under ->cq_lock.
 * @work_queued: the work is queued or running and may touch the port;
 *               under ->cq_lock.
 * @pollfree: a queue announced POLLFREE while ARMING, under ->cq_lock.
 * @file: the polled file (a reference, dropped with the last @refs).
 * @target: the port @file is, or NULL.
 * @defer: @file's wake-ups may come with a port's ->cq_lock held: post
 *         from @iw.
 * @port_node: entry in cport_poll_ports while @target is set.
 * @pt: poll table used to add the entries.
 * @waits: the wait queue entries.
 * @nr_waits: entries used in @waits.
 * @arm_error: the file wanted more wait queues than @waits holds.
 * @work: polls again, and ends the poll when ENDING.
 * @iw: posts for a @target's wake-ups (see the header comment).
 * @iw_events: events recorded for @iw.
 */
struct cport_pollreq {
	struct cport_req	req;
	refcount_t		refs;
	int			state;
	__poll_t		events;
	__poll_t		early;
	__poll_t		pending;
	s32			res;
	bool			multishot;
	bool			repoll;
	bool			work_queued;
	bool			pollfree;
	struct file		*file;
	struct cport_port	*target;
	bool			defer;
	struct list_head	port_node;
	poll_table		pt;
	struct cport_poll_wait	waits[CPORT_POLL_WAITS];
	unsigned int		nr_waits;
	bool			arm_error;
	struct work_struct	work;
	struct irq_work		iw;
	atomic_t		iw_events;
};

/* Polls of a port on a port, to refuse cycles (-ELOOP). */
static DEFINE_MUTEX(cport_poll_mutex);
static LIST_HEAD(cport_poll_ports);

static struct cport_pollreq *to_pollreq(struct cport_req *req)
{
	return container_of(req, struct cport_pollreq, req);
}

/*
 * The uAPI carries EPOLL* values (<sys/epoll.h>), as struct epoll_event
 * does, and those are the bits of __poll_t on every architecture.
 * mangle_poll() and demangle_poll() convert to and from the POLL* values
 * of <poll.h>, which differ on some architectures and which the uAPI does
 * not use. So crossing the uAPI changes the type only, here and nowhere
 * else.
 */
static __poll_t cport_poll_from_uapi(u32 events)
{
	return (__force __poll_t)events;
}

/*
 * The events as a CQE's res: always a subset of ->events, that is of
 * CPORT_POLL_EVENTS and CPORT_POLL_ALWAYS, so never negative.
 */
static s32 cport_poll_to_res(__poll_t mask)
{
	return (__force u32)mask;
}

/* Context: any (fput() defers the final release out of IRQ context). */
static void cport_poll_put(struct cport_pollreq *p)
{
	if (!refcount_dec_and_test(&p->refs))
		return;
	fput(p->file);
	kfree(p);
}

/*
 * ->cq_lock held: let the work run, with its own reference.
 * Context: any, hard IRQ included.
 */
static void __cport_poll_queue_work(struct cport_pollreq *p)
{
	lockdep_assert_held(&p->req.port->cq_lock);
	if (p->work_queued)
		return;
	p->work_queued = true;
	refcount_inc(&p->refs);
	cport_io_queue_work(&p->work);
}

/*
 * ->cq_lock held, ARMED or ENDING, on no wait queue: post the terminal
 * CQE, unlink, wake. The caller drops the poll's reference after
 * unlocking. Context: any, hard IRQ included.
 */
static void __cport_poll_finish(struct cport_pollreq *p, s32 res)
{
	struct cport_port *port = p->req.port;

	lockdep_assert_held(&port->cq_lock);
	/* Events still pending go first, if a slot is free for them. */
	if (p->pending && res < 0 && __cport_cq_free(port))
		__cport_cqe_post(port, p->req.user_data,
				 cport_poll_to_res(p->pending), CPORT_CQE_F_MORE);
	p->pending = 0;
	list_del_init(&p->req.pending_node);
	list_del_init(&p->req.node);
	port->inflight--;
	p->state = CPORT_POLL_DONE;
	__cport_cq_release(port, 1);
	__cport_cqe_post_ef(port, p->req.user_data, res, p->req.ef);
	if (p->req.chain)
		__cport_chain_report(p->req.chain, res);
	/* Under ->cq_lock: once it is dropped the port may be gone. */
	__cport_cq_wake(port, 1, false);
}

/*
 * ->cq_lock held, a slot free: report the pending events.
 * Context: any, hard IRQ included.
 */
static void __cport_poll_post_pending(struct cport_pollreq *p)
{
	__cport_cqe_post(p->req.port, p->req.user_data,
			 cport_poll_to_res(p->pending), CPORT_CQE_F_MORE);
	p->pending = 0;
	list_del_init(&p->req.pending_node);
}

/* ->cq_lock held: do events @mask end the poll? Context: any. */
static bool __cport_poll_ends(struct cport_pollreq *p, __poll_t mask)
{
	__poll_t ready = mask & p->events;

	return ready && (!p->multishot || (ready & CPORT_POLL_ALWAYS));
}

/*
 * ->cq_lock held, ARMED: the file reported @mask. A multishot poll posts
 * a CQE (or keeps the events pending). A poll that ends is ended here if
 * @direct (the caller took the only entry off its queue), else moved to
 * ENDING for the work.
 * Context: any, hard IRQ included.
 * Return: true if the poll was ended here: the caller drops its reference
 * after unlocking.
 */
static bool __cport_poll_event(struct cport_pollreq *p, __poll_t mask,
			       bool direct)
{
	struct cport_port *port = p->req.port;
	__poll_t ready = mask & p->events;

	lockdep_assert_held(&port->cq_lock);
	if (!ready)
		return false;
	if (!__cport_poll_ends(p, mask)) {
		p->pending |= ready;
		if (__cport_cq_free(port)) {
			__cport_poll_post_pending(p);
			__cport_cq_wake(port, 1, false);
		} else {
			port->overflow++;
			WRITE_ONCE(port->cq->overflow, (u32)port->overflow);
			if (list_empty(&p->req.pending_node))
				list_add_tail(&p->req.pending_node,
					      &port->pending_list);
		}
		return false;
	}
	/* The last events of a multishot poll: nothing more can happen. */
	ready |= p->pending;
	p->pending = 0;
	if (direct) {
		__cport_poll_finish(p, cport_poll_to_res(ready));
		return true;
	}
	p->state = CPORT_POLL_ENDING;
	p->res = cport_poll_to_res(ready);
	__cport_poll_queue_work(p);
	return false;
}

/*
 * A wake-up of one of the polled file's wait queues, with its lock held.
 * Context: any, including hard IRQ (a socket's data ready callback).
 */
static int cport_poll_wake(struct wait_queue_entry *wqe, unsigned int mode,
			   int sync, void *key)
{
	struct cport_poll_wait *w = container_of(wqe, struct cport_poll_wait,
						 wqe);
	struct cport_pollreq *p = w->p;
	struct cport_port *port = p->req.port;
	__poll_t mask = key_to_poll(key);
	unsigned long flags;
	bool ended = false;

	if (mask & POLLFREE) {
		/* The queue goes away: leave it now, never touch it again. */
		list_del_init(&wqe->entry);
		/* Off the queue before ->head reads NULL to the disarm. */
		smp_store_release(&w->head, NULL);
		spin_lock_irqsave(&port->cq_lock, flags);
		if (p->state == CPORT_POLL_ARMING) {
			p->pollfree = true;
		} else if (p->state == CPORT_POLL_ARMED) {
			p->state = CPORT_POLL_ENDING;
			p->res = -ECANCELED;
			__cport_poll_queue_work(p);
		}
		spin_unlock_irqrestore(&port->cq_lock, flags);
		return 1;
	}
	trace_cport_poll_wake(port, p->req.user_data, (__force u32)mask);
	/* A first filter; the events are looked at again under the lock. */
	if (mask && !(mask & READ_ONCE(p->events)))
		return 0;
	if (p->defer) {
		/* Maybe a port's wake-up, under its ->cq_lock. */
		atomic_or((__force int)mask, &p->iw_events);
		irq_work_queue(&p->iw);
		return 1;
	}

	spin_lock_irqsave(&port->cq_lock, flags);
	if (p->state == CPORT_POLL_ARMING) {
		p->early |= mask;
		/* No events in the wake-up: poll again once armed. */
		if (!mask)
			p->repoll = true;
	} else if (p->state == CPORT_POLL_ARMED) {
		if (!mask) {
			/* No events in the wake-up: poll again, not here. */
			p->repoll = true;
			__cport_poll_queue_work(p);
		} else {
			/* Our entry is the only one, and we hold its lock. */
			bool direct = p->nr_waits == 1 && !p->work_queued &&
				      __cport_poll_ends(p, mask);

			if (direct)
				list_del_init(&wqe->entry);
			ended = __cport_poll_event(p, mask, direct);
		}
	}
	spin_unlock_irqrestore(&port->cq_lock, flags);
	if (ended)
		cport_poll_put(p);
	return 1;
}

/*
 * Events from a polled port, recorded by cport_poll_wake().
 * Context: hard IRQ (irq_work), no other lock held.
 */
static void cport_poll_iw(struct irq_work *iw)
{
	struct cport_pollreq *p = container_of(iw, struct cport_pollreq, iw);
	struct cport_port *port = p->req.port;
	__poll_t mask;
	unsigned long flags;

	mask = (__force __poll_t)atomic_xchg(&p->iw_events, 0);
	spin_lock_irqsave(&port->cq_lock, flags);
	if (!mask) {
		/* A wake-up without events: the work polls again. */
		p->repoll = true;
		if (p->state == CPORT_POLL_ARMED)
			__cport_poll_queue_work(p);
	} else if (p->state == CPORT_POLL_ARMING) {
		p->early |= mask;
	} else if (p->state == CPORT_POLL_ARMED) {
		__cport_poll_event(p, mask, false);
	}
	spin_unlock_irqrestore(&port->cq_lock, flags);
}

/* vfs_poll() callback: one more wait queue of the file. */
static void cport_poll_queue_proc(struct file *file,
				  struct wait_queue_head *head, poll_table *pt)
{
	struct cport_pollreq *p = container_of(pt, struct cport_pollreq, pt);
	struct cport_poll_wait *w;

	if (p->nr_waits == CPORT_POLL_WAITS) {
		p->arm_error = true;
		return;
	}
	w = &p->waits[p->nr_waits++];
	init_waitqueue_func_entry(&w->wqe, cport_poll_wake);
	w->p = p;
	w->head = head;
	add_wait_queue(head, &w->wqe);
}

/*
 * Take every entry off its queue, and wait for the irq_work. A queue that
 * announced POLLFREE may be freed after an RCU grace period: hence the RCU
 * read section, and ->head read with acquire. Afterwards no callback runs.
 * Context: process context; ->cq_lock not held.
 */
static void cport_poll_disarm(struct cport_pollreq *p)
{
	struct wait_queue_head *head;
	unsigned long flags;
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < p->nr_waits; i++) {
		/* Pairs with the store-release on POLLFREE in the wake-up. */
		head = smp_load_acquire(&p->waits[i].head);
		if (!head)
			continue;
		spin_lock_irqsave(&head->lock, flags);
		list_del_init(&p->waits[i].wqe.entry);
		spin_unlock_irqrestore(&head->lock, flags);
	}
	rcu_read_unlock();
	if (p->defer)
		irq_work_sync(&p->iw);
}

/* Context: process context. A port polled no more may be polled again. */
static void cport_poll_port_del(struct cport_pollreq *p)
{
	if (!p->target)
		return;
	mutex_lock(&cport_poll_mutex);
	list_del_init(&p->port_node);
	mutex_unlock(&cport_poll_mutex);
}

/*
 * Polls the file again (a wake-up without events, an update), or ends the
 * poll (ENDING). Touches the port only while ->work_queued is set.
 * Context: a kworker of the cport workqueue.
 */
static void cport_poll_work(struct work_struct *work)
{
	struct cport_pollreq *p = container_of(work, struct cport_pollreq,
					       work);
	struct cport_port *port = p->req.port;
	bool repoll;
	__poll_t mask;

	for (;;) {
		spin_lock_irq(&port->cq_lock);
		if (p->state == CPORT_POLL_ENDING)
			break;
		repoll = p->repoll && p->state == CPORT_POLL_ARMED;
		p->repoll = false;
		if (!repoll) {
			p->work_queued = false;
			spin_unlock_irq(&port->cq_lock);
			cport_poll_put(p);	/* the work's */
			return;
		}
		spin_unlock_irq(&port->cq_lock);

		mask = vfs_poll(p->file, NULL);
		spin_lock_irq(&port->cq_lock);
		if (p->state == CPORT_POLL_ARMED)
			__cport_poll_event(p, mask, false);
		spin_unlock_irq(&port->cq_lock);
	}
	spin_unlock_irq(&port->cq_lock);

	/* ENDING: nobody else ends it; take it off the file's queues. */
	cport_poll_disarm(p);
	cport_poll_port_del(p);
	spin_lock_irq(&port->cq_lock);
	__cport_poll_finish(p, p->res);
	p->work_queued = false;
	spin_unlock_irq(&port->cq_lock);
	/* The port may be freed from here on. */
	cport_poll_put(p);	/* the poll's */
	cport_poll_put(p);	/* the work's */
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static int cport_poll_try_cancel(struct cport_req *req)
{
	struct cport_pollreq *p = to_pollreq(req);

	lockdep_assert_held(&req->port->cq_lock);
	if (p->state != CPORT_POLL_ARMED)
		return -EALREADY;
	/* The wait queue locks nest outside ours: the work disarms. */
	p->state = CPORT_POLL_ENDING;
	p->res = -ECANCELED;
	__cport_poll_queue_work(p);
	refcount_inc(&p->refs);
	return 1;
}

/*
 * See struct cport_req_ops. The work posts the terminal CQE.
 * Context: process context, sleeps.
 */
static void cport_poll_cancel_sync(struct cport_req *req)
{
	struct cport_pollreq *p = to_pollreq(req);

	flush_work(&p->work);
	cport_poll_put(p);
}

/* See struct cport_req_ops. Context: ->cq_lock held, IRQs off. */
static void cport_poll_flush(struct cport_req *req)
{
	__cport_poll_post_pending(to_pollreq(req));
}

static void cport_poll_req_put(struct cport_req *req)
{
	cport_poll_put(to_pollreq(req));
}

static const struct cport_req_ops cport_poll_ops = {
	.try_cancel	= cport_poll_try_cancel,
	.cancel_sync	= cport_poll_cancel_sync,
	.flush		= cport_poll_flush,
	.put		= cport_poll_req_put,
};

static bool cport_poll_events_ok(u32 events)
{
	return events && !(events & ~CPORT_POLL_EVENTS);
}

/**
 * cport_poll_add_prep() - check a POLL_ADD SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for events 0 or outside CPORT_POLL_EVENTS, unknown
 * op_flags, or another field set.
 */
int cport_poll_add_prep(const struct cport_sqe *sqe)
{
	if (sqe->off || sqe->addr || sqe->addr2)
		return -EINVAL;
	if (sqe->op_flags & ~CPORT_POLL_ADD_FLAGS)
		return -EINVAL;
	return cport_poll_events_ok(sqe->len) ? 0 : -EINVAL;
}

/*
 * A port may not poll itself, nor a port that polls a port (-ELOOP):
 * then no cycle can be formed. Context: process context.
 */
static int cport_poll_port_add(struct cport_pollreq *p)
{
	struct cport_pollreq *q;
	int ret = 0;

	if (!p->target)
		return 0;
	if (p->target == p->req.port)
		return -EINVAL;
	mutex_lock(&cport_poll_mutex);
	list_for_each_entry(q, &cport_poll_ports, port_node) {
		if (q->req.port == p->target) {
			ret = -ELOOP;
			break;
		}
	}
	if (!ret)
		list_add_tail(&p->port_node, &cport_poll_ports);
	mutex_unlock(&cport_poll_mutex);
	return ret;
}

/*
 * An epoll or io_uring instance wakes its pollers from the wake-ups of the
 * files it watches, which may be ports posting under their ->cq_lock.
 */
static bool cport_poll_file_nests(struct file *file)
{
	const char *name = (const char *)file->f_path.dentry->d_name.name;

	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC)
		return false;
	return !strcmp(name, "[eventpoll]") || !strcmp(name, "[io_uring]");
}

static struct cport_pollreq *cport_poll_alloc(struct cport_port *port,
					      const struct cport_sqe *sqe,
					      struct file *file)
{
	struct cport_pollreq *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return NULL;
	INIT_LIST_HEAD(&p->req.node);
	INIT_LIST_HEAD(&p->req.pending_node);
	INIT_LIST_HEAD(&p->port_node);
	p->req.port = port;
	p->req.user_data = sqe->user_data;
	p->req.file = file;
	p->req.ops = &cport_poll_ops;
	p->req.opcode = CPORT_OP_POLL_ADD;
	refcount_set(&p->refs, 1);
	p->state = CPORT_POLL_ARMING;
	p->events = cport_poll_from_uapi(sqe->len) | CPORT_POLL_ALWAYS;
	p->multishot = sqe->op_flags & CPORT_POLL_MULTISHOT;
	p->file = file;
	p->target = cport_port_from_file(file);
	p->defer = p->target || cport_poll_file_nests(file);
	INIT_WORK(&p->work, cport_poll_work);
	init_irq_work(&p->iw, cport_poll_iw);
	return p;
}

/*
 * The poll ends at issue: with @res as its inline CQE. Context: process
 * context, the submitter's; the poll is on no list of the port.
 */
static int cport_poll_end_inline(struct cport_pollreq *p, int res)
{
	cport_poll_disarm(p);
	cport_poll_port_del(p);
	cport_poll_put(p);
	return res;
}

/*
 * ->cq_lock held, ARMING: the events found at issue.
 * Return: true if now ARMED, on ->inflight_list (*@posted: a CQE was
 * posted); false if the poll ends at once with the inline result *@res.
 */
static bool __cport_poll_arm(struct cport_pollreq *p, __poll_t mask,
			     int *res, bool *posted)
{
	struct cport_port *port = p->req.port;
	__poll_t ready = (mask | p->early) & p->events;

	*res = cport_poll_to_res(ready);
	if (p->pollfree || p->arm_error) {
		*res = p->pollfree ? -ECANCELED : -EOPNOTSUPP;
		return false;
	}
	/* Nothing to wait on (no ->poll): never any other event. */
	if (!p->nr_waits || __cport_poll_ends(p, ready))
		return false;

	cport_inflight_add(port, &p->req);
	port->inflight++;
	p->state = CPORT_POLL_ARMED;
	if (ready) {
		p->pending = ready;
		if (__cport_cq_free(port)) {
			__cport_poll_post_pending(p);
			*posted = true;
		} else {
			port->overflow++;
			WRITE_ONCE(port->cq->overflow, (u32)port->overflow);
			list_add_tail(&p->req.pending_node, &port->pending_list);
		}
	}
	if (p->repoll)
		__cport_poll_queue_work(p);
	return true;
}

/**
 * cport_poll_add_issue() - arm a poll
 * @port: the port.
 * @sqe: kernel copy of the SQE, checked by cport_poll_add_prep().
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, ->submit_lock held.
 * Return: CPORT_ISSUE_QUEUED; or the ready events (a one-shot poll found
 * the file ready, a file that cannot be waited on); or -EBADF, -EINVAL
 * (the port itself), -ELOOP, -ENOMEM, -EOPNOTSUPP (more than two wait
 * queues), -ECANCELED (a wait queue went away meanwhile).
 */
int cport_poll_add_issue(struct cport_port *port, const struct cport_sqe *sqe,
			 unsigned int issue_flags)
{
	struct cport_pollreq *p;
	struct file *file;
	bool armed, posted = false;
	__poll_t mask;
	int ret;

	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;
	p = cport_poll_alloc(port, sqe, file);
	if (!p) {
		fput(file);
		return -ENOMEM;
	}
	ret = cport_poll_port_add(p);
	if (ret) {
		cport_poll_put(p);
		return ret;
	}

	init_poll_funcptr(&p->pt, cport_poll_queue_proc);
	p->pt._key = p->events;
	mask = vfs_poll(file, &p->pt);

	spin_lock_irq(&port->cq_lock);
	armed = __cport_poll_arm(p, mask, &ret, &posted);
	if (armed)
		cport_chain_attach(port, &p->req);
	spin_unlock_irq(&port->cq_lock);
	if (!armed)
		return cport_poll_end_inline(p, ret);
	if (posted)
		cport_cq_wake(port, 1);
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_poll_remove_prep() - check a POLL_REMOVE SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for unknown op_flags, bad events with
 * CPORT_POLL_UPDATE_EVENTS, len without it, addr2 without
 * CPORT_POLL_UPDATE_USER_DATA, or another field set.
 */
int cport_poll_remove_prep(const struct cport_sqe *sqe)
{
	u32 flags = sqe->op_flags;

	if (sqe->fd || sqe->off)
		return -EINVAL;
	if (flags & ~CPORT_POLL_REMOVE_FLAGS)
		return -EINVAL;
	if (flags & CPORT_POLL_UPDATE_EVENTS) {
		if (!cport_poll_events_ok(sqe->len))
			return -EINVAL;
	} else if (sqe->len) {
		return -EINVAL;
	}
	if (!(flags & CPORT_POLL_UPDATE_USER_DATA) && sqe->addr2)
		return -EINVAL;
	return 0;
}

/* Context: process context. Return: 0, -ENOENT or -EALREADY. */
static int cport_poll_update(struct cport_port *port,
			     const struct cport_sqe *sqe)
{
	struct cport_pollreq *p;
	struct cport_req *req;
	int ret = -ENOENT;

	spin_lock_irq(&port->cq_lock);
	list_for_each_entry(req, &port->inflight_list, node) {
		if (req->opcode != CPORT_OP_POLL_ADD ||
		    req->user_data != sqe->addr)
			continue;
		p = to_pollreq(req);
		if (p->state != CPORT_POLL_ARMED) {
			ret = -EALREADY;
			break;
		}
		if (sqe->op_flags & CPORT_POLL_UPDATE_USER_DATA)
			req->user_data = sqe->addr2;
		if (sqe->op_flags & CPORT_POLL_UPDATE_EVENTS) {
			WRITE_ONCE(p->events, cport_poll_from_uapi(sqe->len) |
					      CPORT_POLL_ALWAYS);
			/* Ready for the new events already? Look again. */
			p->repoll = true;
			__cport_poll_queue_work(p);
		}
		ret = 0;
		break;
	}
	spin_unlock_irq(&port->cq_lock);
	return ret;
}

/**
 * cport_poll_remove_issue() - remove or update the POLL_ADD whose
 * user_data is @addr
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * A removed poll has posted its terminal CQE (-ECANCELED) on return.
 *
 * Context: process context.
 * Return: 0, -ENOENT (no such poll) or -EALREADY (it is completing).
 */
int cport_poll_remove_issue(struct cport_port *port,
			    const struct cport_sqe *sqe,
			    unsigned int issue_flags)
{
	if (sqe->op_flags & CPORT_POLL_REMOVE_FLAGS)
		return cport_poll_update(port, sqe);
	return cport_cancel_reqs(port, sqe->addr, 0, CPORT_OP_POLL_ADD, NULL);
}
