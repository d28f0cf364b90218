// SPDX-License-Identifier: GPL-2.0
/*
 * cport: the event flags of a port: CPORT_IOC_FLAGS, the FLAG_WAIT,
 * FLAG_SET and FLAG_CLEAR ops, event flags set by completions
 * (CPORT_SQE_F_EVENT_FLAG) and the poll arm.
 *
 * Lock order: ->cq_lock, then a cluster's ->lock, then wait queue locks. A
 * completion sets its op's flag under ->cq_lock, and that may release a
 * FLAG_WAIT of any port, whose CQE needs that port's ->cq_lock: so a
 * released FLAG_WAIT is never posted by the setter. It goes on its port's
 * ->ef_fired list and an irq_work posts it right after, from hard IRQ
 * context, with no other lock held.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cluster.h"
#include "compat.h"
#include "cq.h"
#include "flag_ops.h"
#include "flags.h"
#include "link.h"
#include "opdef.h"
#include "wait.h"

#define CPORT_FLAG_OP_FLAGS	(CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME)

/**
 * struct cport_flag_wait - a CPORT_OP_FLAG_WAIT in flight
 * @req: the request, on ->inflight_list until its CQE.
 * @w: the waiter, on @efc's list until released or cancelled.
 * @efc: the cluster, with a reference.
 * @fired: on ->ef_fired once released, until posted.
 */
struct cport_flag_wait {
	struct cport_req	req;
	struct cport_efw	w;
	struct cport_efc	*efc;
	struct llist_node	fired;
};

static void cport_flag_wait_free(struct cport_flag_wait *fw)
{
	cport_efc_put(fw->efc);
	kfree(fw);
}

/* ->cq_lock held: post the terminal CQE and unlink; the caller frees. */
static void __cport_flag_wait_finish(struct cport_flag_wait *fw, s32 res)
{
	struct cport_port *port = fw->req.port;

	lockdep_assert_held(&port->cq_lock);
	list_del_init(&fw->req.node);
	port->inflight--;
	__cport_cq_release(port, 1);
	__cport_cqe_post(port, fw->req.user_data, res, 0);
	if (fw->req.chain)
		__cport_chain_report(fw->req.chain, res);
}

/*
 * Context: hard IRQ (irq_work). Posts the released FLAG_WAITs, oldest
 * first.
 */
static void cport_flag_wait_fire(struct irq_work *work)
{
	struct cport_port *port = container_of(work, struct cport_port,
					       ef_work);
	struct cport_flag_wait *fw, *tmp;
	struct llist_node *list;
	unsigned long flags;

	list = llist_reverse_order(llist_del_all(&port->ef_fired));
	llist_for_each_entry_safe(fw, tmp, list, fired) {
		spin_lock_irqsave(&port->cq_lock, flags);
		__cport_flag_wait_finish(fw, __ffs64(fw->w.got));
		cport_cq_wake(port, 1);
		spin_unlock_irqrestore(&port->cq_lock, flags);
		cport_flag_wait_free(fw);
	}
}

/* Context: any, the cluster's ->lock held: the condition holds. */
static void cport_flag_wait_wake(struct cport_efw *w)
{
	struct cport_flag_wait *fw = container_of(w, struct cport_flag_wait,
						  w);
	struct cport_port *port = fw->req.port;

	llist_add(&fw->fired, &port->ef_fired);
	irq_work_queue(&port->ef_work);
}

/* ->cq_lock held, IRQs off. */
static int cport_flag_wait_try_cancel(struct cport_req *req)
{
	struct cport_flag_wait *fw = container_of(req, struct cport_flag_wait,
						  req);
	bool stopped;

	spin_lock(&fw->efc->lock);
	stopped = __cport_efw_stop(fw->efc, &fw->w);
	spin_unlock(&fw->efc->lock);
	if (!stopped)
		return -EALREADY;	/* released: the irq_work posts it */
	__cport_flag_wait_finish(fw, -ECANCELED);
	return 0;
}

static void cport_flag_wait_put(struct cport_req *req)
{
	cport_flag_wait_free(container_of(req, struct cport_flag_wait, req));
}

static const struct cport_req_ops cport_flag_wait_ops = {
	.try_cancel	= cport_flag_wait_try_cancel,
	.put		= cport_flag_wait_put,
};

/**
 * cport_flag_wait_prep() - check a FLAG_WAIT SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for a zero mask, unknown op_flags, an event flag
 * of its own, or another field set.
 */
int cport_flag_wait_prep(const struct cport_sqe *sqe)
{
	if (sqe->fd || sqe->off || sqe->addr2 || !sqe->addr)
		return -EINVAL;
	if (sqe->op_flags & ~CPORT_FLAG_OP_FLAGS)
		return -EINVAL;
	/* Its release may run under another port's ->cq_lock: no chains. */
	if (sqe->flags & CPORT_SQE_F_EVENT_FLAG)
		return -EINVAL;
	return 0;
}

/**
 * cport_flag_wait_issue() - wait for a flag condition, as an op
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, ->submit_lock held.
 * Return: the lowest satisfying flag if the condition holds now, else
 * CPORT_ISSUE_QUEUED; -EINVAL (no such cluster), -EACCES (CONSUME in a
 * read-only association) or -ENOMEM.
 */
int cport_flag_wait_issue(struct cport_port *port,
			  const struct cport_sqe *sqe,
			  unsigned int issue_flags)
{
	struct cport_flag_wait *fw;
	struct cport_efc *efc;
	int ret;

	/* Consuming clears flags: that needs write access. */
	efc = cport_cluster_get(port, sqe->len,
				sqe->op_flags & CPORT_FLAG_WAIT_CONSUME, &ret);
	if (!efc)
		return ret;
	fw = kzalloc(sizeof(*fw), GFP_KERNEL_ACCOUNT);
	if (!fw) {
		cport_efc_put(efc);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&fw->req.node);
	INIT_LIST_HEAD(&fw->req.pending_node);
	fw->req.port = port;
	fw->req.user_data = sqe->user_data;
	fw->req.ops = &cport_flag_wait_ops;
	fw->req.opcode = sqe->opcode;
	fw->efc = efc;
	fw->w.mask = sqe->addr;
	fw->w.flags = sqe->op_flags;
	fw->w.wake = cport_flag_wait_wake;

	/* A release posts under ->cq_lock: it finds the request linked. */
	spin_lock_irq(&port->cq_lock);
	if (cport_efw_start(efc, &fw->w)) {
		spin_unlock_irq(&port->cq_lock);
		ret = __ffs64(fw->w.got);
		cport_flag_wait_free(fw);
		return ret;
	}
	cport_chain_attach(port, &fw->req);
	cport_inflight_add(port, &fw->req);
	port->inflight++;
	spin_unlock_irq(&port->cq_lock);
	return CPORT_ISSUE_QUEUED;
}

/**
 * cport_flag_change_prep() - check a FLAG_SET or FLAG_CLEAR SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for a bit above 63 or another field set.
 */
int cport_flag_change_prep(const struct cport_sqe *sqe)
{
	if (sqe->fd || sqe->addr || sqe->op_flags || sqe->addr2)
		return -EINVAL;
	return sqe->off > 63 ? -EINVAL : 0;
}

/**
 * cport_flag_change_issue() - set or clear one flag, as an op
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, ->submit_lock held.
 * Return: the flag's previous state, 0 or 1; -EINVAL or -EACCES.
 */
int cport_flag_change_issue(struct cport_port *port,
			    const struct cport_sqe *sqe,
			    unsigned int issue_flags)
{
	struct cport_efc *efc;
	int ret;

	efc = cport_cluster_get(port, sqe->len, true, &ret);
	if (!efc)
		return ret;
	if (sqe->opcode == CPORT_OP_FLAG_SET)
		ret = cport_efc_set(efc, sqe->off);
	else
		ret = cport_efc_clear(efc, sqe->off);
	cport_efc_put(efc);
	return ret;
}

/**
 * __cport_ef_check() - check an SQE's event flag fields
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 *
 * Context: any; ->cq_lock held.
 * Return: 0; -EINVAL for fields set without CPORT_SQE_F_EVENT_FLAG, a bit
 * above 63 or a cluster not associated; -EACCES for a read-only one.
 */
int __cport_ef_check(struct cport_port *port, const struct cport_sqe *sqe)
{
	int err;

	/* Its fields are the signal's (signal.c). */
	if (sqe->flags & CPORT_SQE_F_SIGNAL)
		return cport_sig_check(sqe);
	if (!(sqe->flags & CPORT_SQE_F_EVENT_FLAG))
		return (sqe->ef_cluster || sqe->ef_bit) ? -EINVAL : 0;
	if (sqe->ef_bit > 63)
		return -EINVAL;
	__cport_cluster_find(port, sqe->ef_cluster, true, &err);
	return err;
}

/**
 * cport_ef_check() - check an SQE's event flag fields
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context, ->submit_lock held.
 * Return: see __cport_ef_check().
 */
int cport_ef_check(struct cport_port *port, const struct cport_sqe *sqe)
{
	int ret;

	if (sqe->flags & CPORT_SQE_F_SIGNAL)
		return cport_sig_check(sqe);
	if (!(sqe->flags & CPORT_SQE_F_EVENT_FLAG))
		return (sqe->ef_cluster || sqe->ef_bit) ? -EINVAL : 0;
	spin_lock_irq(&port->cq_lock);
	ret = __cport_ef_check(port, sqe);
	spin_unlock_irq(&port->cq_lock);
	return ret;
}

/**
 * cport_ef_accept() - an SQE with an event flag was consumed: clear it
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 *
 * As OpenVMS $QIO, so that a flag left set earlier does not satisfy a wait
 * for this op. A flag the port may not set is left alone (the op fails).
 *
 * Context: process context.
 */
void cport_ef_accept(struct cport_port *port, const struct cport_sqe *sqe)
{
	u32 ef = cport_sqe_ef(sqe);
	struct cport_efc *efc;
	int err;

	if (!ef || (ef & CPORT_EF_SIG))
		return;
	spin_lock_irq(&port->cq_lock);
	efc = __cport_cluster_find(port, CPORT_EF_CLUSTER(ef), true, &err);
	if (efc)
		cport_efc_clear(efc, CPORT_EF_BIT(ef));
	spin_unlock_irq(&port->cq_lock);
}

/**
 * __cport_ef_fire() - set an op's event flag after its terminal CQE
 * @port: the port.
 * @ef: CPORT_EF_* encoding, or 0 for none.
 *
 * The flag is set in the cluster the handle names now, if the port may
 * set it. Called right after the CQE was posted, so a thread that sees the
 * flag finds the CQE in the ring.
 *
 * Context: any, hard IRQ included; ->cq_lock held (it keeps the cluster
 * alive).
 */
void __cport_ef_fire(struct cport_port *port, u32 ef)
{
	struct cport_efc *efc;
	int err;

	if (!ef)
		return;
	if (ef & CPORT_EF_SIG) {
		__cport_sig_fire(port, CPORT_EF_SIG_ID(ef));
		return;
	}
	efc = __cport_cluster_find(port, CPORT_EF_CLUSTER(ef), true, &err);
	if (efc)
		cport_efc_set(efc, CPORT_EF_BIT(ef));
}

/* Context: any, the cluster's ->lock held: the armed condition holds. */
static void cport_flags_poll_wake(struct cport_efw *w)
{
	struct cport_port *port = container_of(w, struct cport_port,
					       poll_efw);

	wake_up_interruptible_poll(&port->poll_wait, EPOLLPRI);
}

/**
 * cport_flags_poll_disarm_locked() - drop the poll arm
 * @port: the port.
 * @efc: only if it names this cluster; NULL: whichever.
 *
 * Context: process context, ->ef_mutex held.
 */
void cport_flags_poll_disarm_locked(struct cport_port *port,
				    struct cport_efc *efc)
{
	struct cport_efc *armed = port->poll_efc;

	lockdep_assert_held(&port->ef_mutex);
	if (!armed || (efc && efc != armed))
		return;
	cport_efw_stop(armed, &port->poll_efw);
	spin_lock_irq(&port->cq_lock);
	WRITE_ONCE(port->poll_efc, NULL);
	spin_unlock_irq(&port->cq_lock);
	cport_efc_put(armed);
}

static int cport_flags_poll_arm(struct cport_port *port,
				struct cport_efc *efc, u64 mask, u32 flags)
{
	mutex_lock(&port->ef_mutex);
	cport_flags_poll_disarm_locked(port, NULL);
	port->poll_efw.mask = mask;
	port->poll_efw.flags = flags;
	port->poll_efw.persistent = true;
	port->poll_efw.wake = cport_flags_poll_wake;
	cport_efw_start(efc, &port->poll_efw);
	spin_lock_irq(&port->cq_lock);
	WRITE_ONCE(port->poll_efc, efc);
	spin_unlock_irq(&port->cq_lock);
	mutex_unlock(&port->ef_mutex);
	/* It may hold already: let epoll look again. */
	wake_up_interruptible_poll(&port->poll_wait, EPOLLPRI);
	return 0;
}

/**
 * cport_flags_poll() - the poll arm's part of poll()
 * @port: the port.
 *
 * Context: process context.
 * Return: EPOLLPRI while the armed condition holds, else 0.
 */
__poll_t cport_flags_poll(struct cport_port *port)
{
	__poll_t mask = 0;

	if (!READ_ONCE(port->poll_efc))
		return 0;
	spin_lock_irq(&port->cq_lock);
	if (port->poll_efc &&
	    cport_efw_met(&port->poll_efw, cport_efc_read(port->poll_efc)))
		mask = EPOLLPRI;
	spin_unlock_irq(&port->cq_lock);
	return mask;
}

static int cport_flags_wait(struct cport_port *port, struct cport_flags *f,
			    u64 __user *resultp)
{
	struct cport_ef_cond cond = {
		.mask	= f->mask,
		.flags	= f->flags & CPORT_FLAG_OP_FLAGS,
	};
	int ret;

	if (f->bit || !f->mask)
		return -EINVAL;
	if (f->flags & ~(CPORT_FLAG_OP_FLAGS | CPORT_FLAG_WAIT_TIMEOUT))
		return -EINVAL;
	if (!(f->flags & CPORT_FLAG_WAIT_TIMEOUT) && f->timeout_ns)
		return -EINVAL;
	cond.efc = cport_cluster_get(port, f->cluster,
				     f->flags & CPORT_FLAG_WAIT_CONSUME, &ret);
	if (!cond.efc)
		return ret;
	/* No CQE ends it: the flag half of a composite wait, alone. */
	ret = cport_cq_wait(port, 0, f->flags & CPORT_FLAG_WAIT_TIMEOUT,
			    f->timeout_ns, &cond);
	if (put_user(cond.got, resultp)) {
		cport_ef_cond_give_back(&cond);
		ret = -EFAULT;
	}
	cport_efc_put(cond.efc);
	return ret;
}

/**
 * cport_ioctl_flags() - CPORT_IOC_FLAGS
 * @port: the port.
 * @argp: user pointer to struct cport_flags.
 *
 * Context: process context; WAIT sleeps.
 * Return: SET, CLEAR: the flag's previous state (0 or 1); the others: 0;
 * or -EFAULT, -EINVAL, -EACCES, -ENOENT, -ETIME, -EINTR.
 */
long cport_ioctl_flags(struct cport_port *port, void __user *argp)
{
	struct cport_flags __user *uf = argp;
	struct cport_flags f;
	struct cport_efc *efc;
	u64 old;
	int ret;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.resv)
		return -EINVAL;
	switch (f.op) {
	case CPORT_FLAGS_SET:
	case CPORT_FLAGS_CLEAR:
		if (f.flags || f.mask || f.timeout_ns || f.bit > 63)
			return -EINVAL;
		efc = cport_cluster_get(port, f.cluster, true, &ret);
		if (!efc)
			return ret;
		old = cport_efc_change(efc, f.bit, f.op == CPORT_FLAGS_SET);
		cport_efc_put(efc);
		if (put_user(old, &uf->result))
			return -EFAULT;
		return !!(old & BIT_ULL(f.bit));
	case CPORT_FLAGS_READ:
		if (f.bit || f.flags || f.mask || f.timeout_ns)
			return -EINVAL;
		efc = cport_cluster_get(port, f.cluster, false, &ret);
		if (!efc)
			return ret;
		old = cport_efc_read(efc);
		cport_efc_put(efc);
		return put_user(old, &uf->result) ? -EFAULT : 0;
	case CPORT_FLAGS_WAIT:
		return cport_flags_wait(port, &f, &uf->result);
	case CPORT_FLAGS_POLL_ARM:
		if (f.bit || f.timeout_ns || !f.mask ||
		    (f.flags & ~CPORT_FLAG_WAIT_ALL))
			return -EINVAL;
		efc = cport_cluster_get(port, f.cluster, false, &ret);
		if (!efc)
			return ret;
		/* The arm keeps the reference. */
		return cport_flags_poll_arm(port, efc, f.mask, f.flags);
	case CPORT_FLAGS_POLL_DISARM:
		if (f.cluster || f.bit || f.flags || f.mask || f.timeout_ns)
			return -EINVAL;
		mutex_lock(&port->ef_mutex);
		ret = port->poll_efc ? 0 : -ENOENT;
		cport_flags_poll_disarm_locked(port, NULL);
		mutex_unlock(&port->ef_mutex);
		return ret;
	default:
		return -EINVAL;
	}
}

/**
 * cport_flags_init() - the flag state of a new port
 * @port: the port, being opened.
 *
 * Context: process context.
 */
void cport_flags_init(struct cport_port *port)
{
	init_llist_head(&port->ef_fired);
	init_irq_work(&port->ef_work, cport_flag_wait_fire);
	INIT_LIST_HEAD(&port->poll_efw.node);
}

/**
 * cport_flags_release() - wait for the posting of released FLAG_WAITs
 * @port: the port, being released; every request is gone.
 *
 * Context: process context.
 */
void cport_flags_release(struct cport_port *port)
{
	irq_work_sync(&port->ef_work);
}

/**
 * cport_flags_mmap() - map the read-only flag page
 * @port: the port.
 * @vma: a shared, read-only VMA of one page at CPORT_OFF_FLAGS.
 *
 * Context: process context, mmap lock held for writing.
 * Return: 0; -EINVAL if @vma is larger than a page or not shared; -EACCES
 * if it is writable; or an error of vm_insert_page().
 */
int cport_flags_mmap(struct cport_port *port, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED) || vma_pages(vma) != 1)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE);
	return vm_insert_page(vma, vma->vm_start, port->flag_page);
}
