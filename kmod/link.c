// SPDX-License-Identifier: GPL-2.0
/*
 * cport: linked SQEs, CPORT_SQE_F_LINK.
 *
 * An SQE with CPORT_SQE_F_LINK is linked to the next SQE consumed by the
 * same submission: that one starts only after this one has completed with
 * res >= 0. A run of linked SQEs is a chain, ended by the first SQE
 * without the flag (or by the last SQE the submission consumes). The head
 * of a chain is issued at once, like any op; the members behind it wait in
 * a struct cport_chain: one entry on ->inflight_list, holding their CQ
 * reservations, each member counted in ->inflight.
 *
 * The op in flight, the head or a member, reports its terminal result to
 * the chain (__cport_chain_report()) from wherever it completes: the
 * submitter, a worker, a timer or a device interrupt. The chain's work then
 * issues the next member as the submitter would have, under ->submit_lock,
 * with the submitter's credentials and mm captured at submission and the
 * file its fd named at submission; or, if the result was an error, posts
 * -ECANCELED for each member left. A member that completes inline reports
 * at once, and the work goes on with the next.
 *
 * A canceller (CPORT_OP_CANCEL, the release of the port) cancels the
 * members not yet started: from the one it matched to the end of the
 * chain. It posts their -ECANCELED at once, under ->cq_lock, but leaves the
 * chain on ->inflight_list: only the chain's work unlinks it, once the op
 * in flight has reported and nothing is left. So while the work runs, the
 * port cannot be released under it.
 *
 * CPORT_OP_LINK_TIMEOUT, as the member right behind an op, bounds that
 * op: it is taken off the chain with the op, and armed (an hrtimer) once
 * the op is in flight. If the timer expires first, it posts -ETIME and
 * cancels the op from a work item (->lt_work); if the op reports first,
 * the timeout posts -ECANCELED. Either way the chain goes on with the op's
 * result. ->lt_armed, under ->cq_lock, makes sure only one of them posts.
 *
 * ->state, under ->cq_lock:
 *   WAITING  an op of the chain is in flight: its report queues the work.
 *   QUEUED   the work is queued.
 *   RUNNING  the work issues a member; a report meanwhile (the member
 *            completed during its issue) sets ->reported.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cq.h"
#include "flag_ops.h"
#include "io.h"
#include "link.h"
#include "opdef.h"
#include "signal.h"
#include "submit.h"

enum {
	CPORT_CHAIN_WAITING,
	CPORT_CHAIN_QUEUED,
	CPORT_CHAIN_RUNNING,
};

/**
 * struct cport_chain_member - an SQE of a chain, not started yet
 * @sqe: kernel copy of the SQE.
 * @file: the file @sqe's fd named at submission (a reference), or NULL.
 * @has_fd: @sqe names a file by descriptor: @file stands for it.
 * @self: that descriptor is the port's own (not held, see
 *        cport_sqe_fget()).
 */
struct cport_chain_member {
	struct cport_sqe	sqe;
	struct file		*file;
	bool			has_fd;
	bool			self;
};

/**
 * struct cport_chain - the members of a chain behind its op in flight
 * @req: on ->inflight_list until the work has issued or cancelled the last
 *       member; ->user_data is the first member's.
 * @refs: one for the chain's own life, until cport_chain_end(); one more
 *        while a canceller holds it between ->try_cancel and ->put.
 * @work: issues the members, one after the other.
 * @state: CPORT_CHAIN_*, under ->cq_lock.
 * @res: the result the op in flight reported.
 * @reported: a report arrived while RUNNING.
 * @cancel_from: set by cport_chain_match() for cport_chain_try_cancel().
 * @cred: the submitter's credentials.
 * @mm: the submitter's mm (mmgrab()), or NULL.
 * @files: the submitter's file table, as a cookie (task.c).
 * @gen: counts the ops the chain started, under ->cq_lock.
 * @cur_req: the request of the op in flight, if it made one.
 * @lt_timer: the timer of a CPORT_OP_LINK_TIMEOUT.
 * @lt_work: cancels the op the timer bounds, after it expired.
 * @lt_armed: the timer is armed and its CQE not posted, under ->cq_lock.
 * @lt_gen: @gen of the op the timer bounds.
 * @lt_user_data: the timeout's user_data.
 * @lt_ef: the timeout's event flag (CPORT_EF_*), or 0.
 * @next: index of the next member to issue, under ->cq_lock.
 * @nr: members; members from @nr on were cancelled, under ->cq_lock.
 * @total: members allocated (each holds a file reference).
 * @members: the members, in submission order.
 */
struct cport_chain {
	struct cport_req		req;
	refcount_t			refs;
	struct work_struct		work;
	int				state;
	s32				res;
	bool				reported;
	unsigned int			cancel_from;
	const struct cred		*cred;
	struct mm_struct		*mm;
	void				*files;
	unsigned int			gen;
	struct cport_req		*cur_req;
	struct hrtimer			lt_timer;
	struct work_struct		lt_work;
	bool				lt_armed;
	unsigned int			lt_gen;
	u64				lt_user_data;
	u32				lt_ef;
	unsigned int			next;
	unsigned int			nr;
	unsigned int			total;
	struct cport_chain_member	members[];
};

/**
 * cport_sqe_has_fd() - does the SQE name a file by descriptor?
 * @sqe: kernel copy of the SQE.
 *
 * Context: any.
 * Return: true for the ops that take a file descriptor in @fd.
 */
bool cport_sqe_has_fd(const struct cport_sqe *sqe)
{
	if (sqe->flags & CPORT_SQE_F_FIXED_FILE)
		return false;
	switch (sqe->opcode) {
	case CPORT_OP_POST:
	case CPORT_OP_READ ... CPORT_OP_FSYNC:
	case CPORT_OP_READ_FIXED:
	case CPORT_OP_WRITE_FIXED:
	case CPORT_OP_POLL_ADD:
	case CPORT_OP_ACCEPT ... CPORT_OP_CLOSE:
		return true;
	case CPORT_OP_CANCEL:
		return sqe->op_flags & CPORT_CANCEL_FD;
	default:
		return false;
	}
}

static void cport_chain_free(struct cport_chain *chain)
{
	unsigned int i;

	for (i = 0; i < chain->total; i++)
		if (chain->members[i].file)
			fput(chain->members[i].file);
	if (chain->mm)
		mmdrop(chain->mm);
	put_cred(chain->cred);
	kvfree(chain);
}

/*
 * ->cq_lock held: post -ECANCELED for members @from to the end, which no
 * longer belong to the chain. Return: how many.
 */
static unsigned int __cport_chain_cancel(struct cport_chain *chain,
					 unsigned int from)
{
	struct cport_port *port = chain->req.port;
	unsigned int i, n;

	lockdep_assert_held(&port->cq_lock);
	if (from < chain->next)
		from = chain->next;
	if (from >= chain->nr)
		return 0;
	n = chain->nr - from;
	for (i = from; i < chain->nr; i++)
		__cport_cqe_post_ef(port, chain->members[i].sqe.user_data,
				    -ECANCELED,
				    cport_sqe_ef(&chain->members[i].sqe));
	port->inflight -= n;
	__cport_cq_release(port, n);
	chain->nr = from;
	__cport_cq_wake(port, n, false);
	return n;
}

/* ->cq_lock held: post the linked timeout's CQE, once. */
static void __cport_chain_lt_post(struct cport_chain *chain, s32 res)
{
	struct cport_port *port = chain->req.port;

	chain->lt_armed = false;
	port->inflight--;
	__cport_cq_release(port, 1);
	__cport_cqe_post_ef(port, chain->lt_user_data, res, chain->lt_ef);
	__cport_cq_wake(port, 1, false);
}

/* Context: hard IRQ (hrtimer). The chain is linked: the port lives. */
static enum hrtimer_restart cport_chain_lt_fn(struct hrtimer *timer)
{
	struct cport_chain *chain = container_of(timer, struct cport_chain,
						 lt_timer);
	struct cport_port *port = chain->req.port;
	unsigned long flags;

	spin_lock_irqsave(&port->cq_lock, flags);
	if (chain->lt_armed && chain->lt_gen == chain->gen) {
		__cport_chain_lt_post(chain, -ETIME);
		cport_io_queue_work(&chain->lt_work);
	}
	spin_unlock_irqrestore(&port->cq_lock, flags);
	return HRTIMER_NORESTART;
}

/*
 * The linked timeout expired: cancel the op it bounds, unless it has
 * reported meanwhile. Context: a worker; cport_chain_end() waits for it.
 */
static void cport_chain_lt_work(struct work_struct *work)
{
	struct cport_chain *chain = container_of(work, struct cport_chain,
						 lt_work);
	struct cport_port *port = chain->req.port;
	struct cport_req *req = NULL;
	int ret = -EALREADY;

	spin_lock_irq(&port->cq_lock);
	/* Not reported yet: its request is alive, on ->inflight_list. */
	if (chain->state == CPORT_CHAIN_WAITING &&
	    chain->lt_gen == chain->gen && chain->cur_req) {
		req = chain->cur_req;
		ret = req->ops->try_cancel(req);
	}
	spin_unlock_irq(&port->cq_lock);
	if (ret == 0) {
		/* try_cancel() posted the op's -ECANCELED: wake for it. */
		cport_cq_wake(port, 1);
		req->ops->put(req);
	} else if (ret == 1) {
		req->ops->cancel_sync(req);
	}
}

/*
 * ->cq_lock held. The chain's op was issued, with result @ret, and @lt (or
 * NULL) bounds it: arm the timer if the op is in flight and has not
 * @reported yet; else the op was first.
 */
static void __cport_chain_lt_start(struct cport_chain *chain,
				   struct cport_chain_member *lt, int ret,
				   bool reported)
{
	int err;

	if (!lt)
		return;
	chain->lt_user_data = lt->sqe.user_data;
	chain->lt_ef = cport_sqe_ef(&lt->sqe);
	chain->lt_gen = chain->gen;
	chain->lt_armed = true;
	/* Checked here: it is never issued. The op runs unbounded. */
	if ((lt->sqe.flags & ~(CPORT_SQE_F_LINK | CPORT_SQE_F_EVENT_FLAG |
				CPORT_SQE_F_SIGNAL)) ||
	    lt->sqe.resv0 ||
	    (lt->sqe.resv2 && !(lt->sqe.flags & CPORT_SQE_F_SIGNAL)) ||
	    cport_link_timeout_prep(&lt->sqe)) {
		__cport_chain_lt_post(chain, -EINVAL);
		return;
	}
	err = __cport_ef_check(chain->req.port, &lt->sqe);
	if (err) {
		__cport_chain_lt_post(chain, err);
		return;
	}
	if (ret != CPORT_ISSUE_QUEUED || reported) {
		__cport_chain_lt_post(chain, -ECANCELED);
		return;
	}
	hrtimer_start(&chain->lt_timer, ns_to_ktime(lt->sqe.off),
		      HRTIMER_MODE_REL);
}

/* ->cq_lock held: take the member at ->next off if it is a LINK_TIMEOUT. */
static struct cport_chain_member *
__cport_chain_take_lt(struct cport_chain *chain)
{
	struct cport_chain_member *m;

	if (chain->next >= chain->nr)
		return NULL;
	m = &chain->members[chain->next];
	if (m->sqe.opcode != CPORT_OP_LINK_TIMEOUT)
		return NULL;
	chain->next++;
	return m;
}

/**
 * __cport_chain_report() - the chain's op in flight completed
 * @chain: the chain the op reports to.
 * @res: the op's terminal result.
 *
 * Context: any, including hard IRQ; the port's ->cq_lock held.
 */
void __cport_chain_report(struct cport_chain *chain, s32 res)
{
	lockdep_assert_held(&chain->req.port->cq_lock);
	/* The op beat its linked timeout. */
	if (chain->lt_armed && chain->lt_gen == chain->gen) {
		__cport_chain_lt_post(chain, -ECANCELED);
		hrtimer_try_to_cancel(&chain->lt_timer);
	}
	chain->res = res;
	if (chain->state == CPORT_CHAIN_RUNNING) {
		chain->reported = true;
		return;
	}
	WARN_ON_ONCE(chain->state != CPORT_CHAIN_WAITING);
	chain->state = CPORT_CHAIN_QUEUED;
	cport_io_queue_work(&chain->work);
}

/* Issue one member as the submitter would have. ->submit_lock held. */
static int cport_chain_issue(struct cport_chain *chain,
			     struct cport_chain_member *m, bool last)
{
	struct cport_port *port = chain->req.port;
	int ret;

	lockdep_assert_held(&port->submit_lock);
	if (m->sqe.flags & CPORT_SQE_F_DRAIN)
		return -EINVAL;	/* only a chain's head may drain */
	port->issue_chain = last ? NULL : chain;
	port->issue_sqe = m->has_fd ? &m->sqe : NULL;
	port->issue_file = m->file;
	port->issue_self = m->self;
	port->issue_files = chain->files;
	ret = cport_issue_sqe(port, &m->sqe, 0);
	port->issue_files = NULL;
	port->issue_chain = NULL;
	port->issue_sqe = NULL;
	port->issue_file = NULL;
	port->issue_self = false;
	return ret;
}

/*
 * Issue members until one stays in flight (it reports later: true) or none
 * is left (false: the caller unlinks and frees the chain). @have_mm: the
 * submitter's mm is usable, if it had one.
 * Context: process context, acting as the submitter (its credentials and
 * mm); ->submit_lock held.
 */
static bool cport_chain_run(struct cport_chain *chain, bool have_mm)
{
	struct cport_port *port = chain->req.port;

	lockdep_assert_held(&port->submit_lock);
	spin_lock_irq(&port->cq_lock);
	chain->state = CPORT_CHAIN_RUNNING;
	for (;;) {
		struct cport_chain_member *m, *lt;
		bool last;
		int ret;

		/* An error breaks the chain. */
		if (chain->res < 0)
			__cport_chain_cancel(chain, chain->next);
		if (chain->next >= chain->nr)
			break;
		m = &chain->members[chain->next++];
		lt = __cport_chain_take_lt(chain);
		/* Without a report to wait for, the chain ends with it. */
		last = chain->next == chain->nr && !lt;
		/* The member leaves the chain; its op has the reservation. */
		port->inflight--;
		chain->reported = false;
		chain->gen++;
		spin_unlock_irq(&port->cq_lock);

		if (chain->mm && !have_mm)
			ret = -EFAULT;	/* the submitter's mm is gone */
		else
			ret = cport_chain_issue(chain, m, last);

		spin_lock_irq(&port->cq_lock);
		if (ret != CPORT_ISSUE_QUEUED) {
			__cport_cq_release(port, 1);
			__cport_cqe_post_ef(port, m->sqe.user_data, ret,
					    cport_sqe_ef(&m->sqe));
			__cport_cq_wake(port, 1, false);
			chain->res = ret;
		}
		__cport_chain_lt_start(chain, lt, ret, chain->reported);
		if (ret != CPORT_ISSUE_QUEUED || last || chain->reported)
			continue;
		/* In flight: its report queues the work. */
		chain->state = CPORT_CHAIN_WAITING;
		spin_unlock_irq(&port->cq_lock);
		return true;
	}
	spin_unlock_irq(&port->cq_lock);
	return false;
}

/* Context: process context. */
static void cport_chain_put_ref(struct cport_chain *chain)
{
	if (refcount_dec_and_test(&chain->refs))
		cport_chain_free(chain);
}

/* Nothing left: unlink and free. The port may be freed from here on. */
static void cport_chain_end(struct cport_chain *chain)
{
	struct cport_port *port = chain->req.port;

	/* Posted already, if it was armed: the op it bounded reported. */
	hrtimer_cancel(&chain->lt_timer);
	cancel_work_sync(&chain->lt_work);
	spin_lock_irq(&port->cq_lock);
	list_del_init(&chain->req.node);
	spin_unlock_irq(&port->cq_lock);
	cport_chain_put_ref(chain);
}

/*
 * The op in flight reported: go on with the chain.
 * Context: a worker of cport_io_wq; takes the submitter's credentials and
 * mm.
 */
static void cport_chain_work(struct work_struct *work)
{
	struct cport_chain *chain = container_of(work, struct cport_chain,
						 work);
	struct cport_port *port = chain->req.port;
	const struct cred *old_cred;
	bool use_mm = false;
	bool waiting;

	old_cred = override_creds(chain->cred);
	if (chain->mm) {
		use_mm = mmget_not_zero(chain->mm);
		if (use_mm)
			kthread_use_mm(chain->mm);
	}
	mutex_lock(&port->submit_lock);
	waiting = cport_chain_run(chain, use_mm);
	mutex_unlock(&port->submit_lock);
	if (use_mm) {
		kthread_unuse_mm(chain->mm);
		mmput(chain->mm);
	}
	revert_creds(old_cred);
	if (!waiting)
		cport_chain_end(chain);
}

static struct cport_chain *to_chain(struct cport_req *req)
{
	return container_of(req, struct cport_chain, req);
}

/*
 * See struct cport_req_ops: the first member not started yet that matches
 * is where a cancel cuts the chain. Context: ->cq_lock held.
 */
static bool cport_chain_match(struct cport_req *req, u32 flags, u64 user_data,
			      struct file *file)
{
	struct cport_chain *chain = to_chain(req);
	unsigned int i;

	/*
	 * Matched even with no member left: the release of the port must
	 * find the chain until its work has unlinked it (-EALREADY).
	 */
	if (flags & CPORT_CANCEL_ANY) {
		chain->cancel_from = chain->next;
		return true;
	}
	for (i = chain->next; i < chain->nr; i++) {
		struct cport_chain_member *m = &chain->members[i];

		if ((flags & CPORT_CANCEL_FD) ? m->file == file :
						m->sqe.user_data == user_data) {
			chain->cancel_from = i;
			return true;
		}
	}
	return false;
}

/*
 * See struct cport_req_ops. Cancels the matched member and all after it;
 * the chain stays linked until its work is done with it.
 * Context: ->cq_lock held, IRQs off.
 */
static int cport_chain_try_cancel(struct cport_req *req)
{
	struct cport_chain *chain = to_chain(req);

	if (!__cport_chain_cancel(chain, chain->cancel_from))
		return -EALREADY;
	/* Until ->put: the work may end the chain as soon as we unlock. */
	refcount_inc(&chain->refs);
	return 0;
}

/* Never returned 1 by ->try_cancel. */
static void cport_chain_cancel_sync(struct cport_req *req)
{
}

/* Never on ->pending_list. */
static void cport_chain_flush(struct cport_req *req)
{
}

/* After ->try_cancel returned 0. Context: process context. */
static void cport_chain_put(struct cport_req *req)
{
	cport_chain_put_ref(to_chain(req));
}

static const struct cport_req_ops cport_chain_ops = {
	.match		= cport_chain_match,
	.try_cancel	= cport_chain_try_cancel,
	.cancel_sync	= cport_chain_cancel_sync,
	.flush		= cport_chain_flush,
	.put		= cport_chain_put,
};

/**
 * cport_chain_count() - members of the chain a linked SQE heads
 * @port: the port.
 * @head: kernel copy of the head SQE, with CPORT_SQE_F_LINK.
 * @left: SQEs this submission still consumes after the head.
 *
 * Context: process context, ->submit_lock held.
 * Return: the number of SQEs after the head that belong to its chain.
 */
unsigned int cport_chain_count(struct cport_port *port,
			       const struct cport_sqe *head, unsigned int left)
{
	u32 mask = port->sq_entries - 1;
	unsigned int n = 0;

	if (!(head->flags & CPORT_SQE_F_LINK))
		return 0;
	while (n < left) {
		/* Only a hint: the copies decide what each member does. */
		u8 flags = READ_ONCE(port->sqes[(port->sq_head + n) & mask].flags);

		n++;
		if (!(flags & CPORT_SQE_F_LINK))
			break;
	}
	return n;
}

/**
 * cport_chain_create() - take the members of a chain off the SQ
 * @port: the port.
 * @nr: members, from cport_chain_count(), > 0: the next @nr SQEs.
 *
 * Copies the SQEs (advancing ->sq_head past them), resolves their file
 * descriptors, captures the submitter's credentials and mm, and puts the
 * chain on ->inflight_list, waiting for its head to report.
 *
 * Context: process context, the submitter's; ->submit_lock held.
 * Return: the chain, or NULL if out of memory (nothing consumed: the
 * caller consumes the SQEs and posts their CQEs).
 */
struct cport_chain *cport_chain_create(struct cport_port *port,
				       unsigned int nr)
{
	u32 mask = port->sq_entries - 1;
	struct cport_chain *chain;
	unsigned int i;

	chain = kvzalloc(struct_size(chain, members, nr), GFP_KERNEL_ACCOUNT);
	if (!chain)
		return NULL;
	INIT_LIST_HEAD(&chain->req.node);
	INIT_LIST_HEAD(&chain->req.pending_node);
	chain->req.port = port;
	chain->req.ops = &cport_chain_ops;
	refcount_set(&chain->refs, 1);
	chain->req.opcode = CPORT_OP_LAST;	/* no opcode of its own */
	INIT_WORK(&chain->work, cport_chain_work);
	INIT_WORK(&chain->lt_work, cport_chain_lt_work);
	hrtimer_init(&chain->lt_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	chain->lt_timer.function = cport_chain_lt_fn;
	chain->cred = get_current_cred();
	chain->files = current->files;
	if (current->mm) {
		chain->mm = current->mm;
		mmgrab(chain->mm);
	}
	chain->nr = nr;
	chain->total = nr;
	for (i = 0; i < nr; i++) {
		struct cport_chain_member *m = &chain->members[i];

		cport_sqe_copy(&m->sqe, &port->sqes[port->sq_head & mask]);
		WRITE_ONCE(port->sq_head, port->sq_head + 1);
		cport_ef_accept(port, &m->sqe);
		if (unlikely(m->sqe.flags & CPORT_SQE_F_SIGNAL))
			cport_sig_accept(port, &m->sqe);
		if (cport_sqe_has_fd(&m->sqe)) {
			m->has_fd = true;
			m->file = cport_sqe_fget(port, &m->sqe, &m->self);
		}
	}
	chain->req.user_data = chain->members[0].sqe.user_data;

	spin_lock_irq(&port->cq_lock);
	cport_inflight_add(port, &chain->req);
	port->inflight += nr;
	spin_unlock_irq(&port->cq_lock);
	return chain;
}

/**
 * cport_chain_head_issued() - the head was issued
 * @chain: the chain.
 * @res: the head's result, already posted; or CPORT_ISSUE_QUEUED.
 *
 * Arms the linked timeout right behind the head, if there is one. The head
 * may have reported already.
 *
 * Context: process context, the submitter's; ->submit_lock held.
 */
void cport_chain_head_issued(struct cport_chain *chain, int res)
{
	struct cport_port *port = chain->req.port;
	struct cport_chain_member *lt;

	spin_lock_irq(&port->cq_lock);
	lt = __cport_chain_take_lt(chain);
	__cport_chain_lt_start(chain, lt, res,
			       chain->state != CPORT_CHAIN_WAITING);
	spin_unlock_irq(&port->cq_lock);
}

/**
 * cport_chain_attach() - a request of the op being issued
 * @port: the port.
 * @req: the request, being made.
 *
 * If the op is a chain's, the request reports its terminal result to the
 * chain (__cport_chain_report()), and is the one a linked timeout cancels.
 *
 * Context: process context, ->submit_lock held.
 */
void cport_chain_attach(struct cport_port *port, struct cport_req *req)
{
	req->chain = port->issue_chain;
	req->ef = port->issue_ef;
	if (req->chain)
		req->chain->cur_req = req;
}

/**
 * cport_chain_head_done() - the head completed inline
 * @chain: the chain.
 * @res: the head's result, already posted.
 *
 * The submitter goes on with the members itself, as far as they complete
 * inline.
 *
 * Context: process context, the submitter's; ->submit_lock held.
 */
void cport_chain_head_done(struct cport_chain *chain, s32 res)
{
	chain->res = res;
	if (!cport_chain_run(chain, true))
		cport_chain_end(chain);
}

/**
 * cport_issue_file() - the file an SQE being issued names by descriptor
 * @port: the port.
 * @sqe: the SQE.
 * @file: out: a new reference to the file, or NULL (no such descriptor).
 *
 * The descriptor of a chain member, or of a deferred SQE, was resolved at
 * submission, in the submitter's file table: the worker issuing it has
 * none.
 *
 * Context: process context, ->submit_lock held.
 * Return: true if @sqe is a chain member being issued (*@file is set).
 */
bool cport_issue_file(struct cport_port *port, const struct cport_sqe *sqe,
		      struct file **file)
{
	lockdep_assert_held(&port->submit_lock);
	if (!port->issue_sqe || port->issue_sqe != sqe)
		return false;
	*file = port->issue_file ? get_file(port->issue_file) : NULL;
	return true;
}

/**
 * cport_sqe_fget() - look up the descriptor of an SQE issued later
 * @port: the port the SQE was submitted to.
 * @sqe: kernel copy of the SQE; it names a file by descriptor.
 * @self: out: the descriptor is @port's own.
 *
 * A chain member or a deferred SQE holds the file its descriptor names
 * until it is issued, in the submitter's file table at submission. It
 * does not hold @port's own file (a POST to the port itself): that
 * reference would keep the port alive until the SQE is issued, but only
 * the release of the port cancels an SQE that waits for something that
 * never comes (a FLAG_WAIT in front of it, a drain behind an endless
 * timer), so a process that died with one would leak the port, its
 * rings and its module reference for good. The port outlives its
 * requests anyway: cport_post_issue() posts to it directly.
 *
 * Context: process context, the submitter's.
 * Return: a new reference to the file; NULL if the descriptor is not
 * open, or is @port's own (*@self is then true).
 */
struct file *cport_sqe_fget(struct cport_port *port,
			    const struct cport_sqe *sqe, bool *self)
{
	struct file *file = fget(sqe->fd);

	*self = file && cport_port_from_file(file) == port;
	if (*self) {
		/* Not the last reference: the descriptor holds one. */
		fput(file);
		return NULL;
	}
	return file;
}

/**
 * cport_issue_self() - does the SQE being issued name the port itself?
 * @port: the port.
 * @sqe: the SQE.
 *
 * Context: process context, ->submit_lock held.
 * Return: true if @sqe is a chain member or deferred SQE being issued whose
 * descriptor named @port at submission (see cport_sqe_fget()).
 */
bool cport_issue_self(struct cport_port *port, const struct cport_sqe *sqe)
{
	lockdep_assert_held(&port->submit_lock);
	return port->issue_sqe == sqe && port->issue_self;
}

/**
 * cport_link_timeout_prep() - check a LINK_TIMEOUT SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for an expiry of 0 or beyond KTIME_MAX, or another
 * field set.
 */
int cport_link_timeout_prep(const struct cport_sqe *sqe)
{
	if (sqe->fd || sqe->addr || sqe->len || sqe->op_flags || sqe->addr2)
		return -EINVAL;
	if (!sqe->off || sqe->off > KTIME_MAX)
		return -EINVAL;
	return 0;
}

/**
 * cport_link_timeout_issue() - a LINK_TIMEOUT that bounds no op
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * A LINK_TIMEOUT right behind a linked op is taken by the chain with that
 * op and never issued; one issued on its own (the head of a chain, an SQE
 * without a linked op in front, a second one in a row) bounds nothing.
 *
 * Context: process context.
 * Return: -EINVAL.
 */
int cport_link_timeout_issue(struct cport_port *port,
			     const struct cport_sqe *sqe,
			     unsigned int issue_flags)
{
	return -EINVAL;
}
