// SPDX-License-Identifier: GPL-2.0
/*
 * cport: consuming the SQ ring, and CPORT_IOC_ENTER.
 *
 * The SQ ring is user memory: the tail is load-acquired once, each SQE is
 * copied field by field with READ_ONCE() into a private copy that is the
 * only one the op ever sees, and the kernel's own head decides which SQE is
 * next. A CQ slot is reserved for each SQE before it is consumed.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include "cq.h"
#include "cluster.h"
#include "drain.h"
#include "flag_ops.h"
#include "link.h"
#include "nop.h"
#include "opdef.h"
#include "restrict.h"
#include "signal.h"
#include "submit.h"
#include "task.h"
#include "wait.h"
#include "trace.h"

#define CPORT_ENTER_VALID	(CPORT_ENTER_TIMEOUT | CPORT_ENTER_FLAGS | \
				 CPORT_ENTER_FLAGS_ALL | CPORT_ENTER_FLAGS_CONSUME)
#define CPORT_ENTER_EF_FLAGS	(CPORT_ENTER_FLAGS_ALL | CPORT_ENTER_FLAGS_CONSUME)

/**
 * cport_sqe_copy() - the kernel's private copy of an SQE
 * @dst: the copy.
 * @src: the SQE in the shared ring; each field is read once.
 *
 * Context: any.
 */
void cport_sqe_copy(struct cport_sqe *dst, const struct cport_sqe *src)
{
	dst->opcode	= READ_ONCE(src->opcode);
	dst->flags	= READ_ONCE(src->flags);
	dst->buf_group	= READ_ONCE(src->buf_group);
	dst->fd		= READ_ONCE(src->fd);
	dst->off	= READ_ONCE(src->off);
	dst->addr	= READ_ONCE(src->addr);
	dst->len	= READ_ONCE(src->len);
	dst->op_flags	= READ_ONCE(src->op_flags);
	dst->user_data	= READ_ONCE(src->user_data);
	dst->addr2	= READ_ONCE(src->addr2);
	dst->resv[0]	= READ_ONCE(src->resv[0]);
	dst->resv[1]	= READ_ONCE(src->resv[1]);
}

/*
 * ORDERED and FIXED_FILE: the file I/O and socket ops; BUFFER_SELECT: READ,
 * RECV and RECVMSG. CANCEL (with CPORT_CANCEL_FD, which its prep checks)
 * and POLL_ADD take FIXED_FILE alone.
 */
static bool cport_sqe_flags_ok(const struct cport_sqe *sqe)
{
	/* Any op may link, drain, name an event flag (FLAG_WAIT's prep
	 * refuses it) and ask for a signal (signal.c checks which).
	 */
	u8 flags = sqe->flags & ~(CPORT_SQE_F_LINK | CPORT_SQE_F_DRAIN |
				  CPORT_SQE_F_EVENT_FLAG | CPORT_SQE_F_SIGNAL);

	if (!flags)
		return true;
	switch (sqe->opcode) {
	case CPORT_OP_READ:
		return !(flags & ~(CPORT_SQE_F_ORDERED | CPORT_SQE_F_FIXED_FILE |
				   CPORT_SQE_F_BUFFER_SELECT));
	case CPORT_OP_WRITE ... CPORT_OP_FSYNC:
	case CPORT_OP_READ_FIXED:
	case CPORT_OP_WRITE_FIXED:
		return !(flags & ~(CPORT_SQE_F_ORDERED |
					CPORT_SQE_F_FIXED_FILE));
	case CPORT_OP_CANCEL:
	case CPORT_OP_POLL_ADD:
		return flags == CPORT_SQE_F_FIXED_FILE;
	case CPORT_OP_RECV:
	case CPORT_OP_RECVMSG:
		return !(flags & ~(CPORT_SQE_F_ORDERED | CPORT_SQE_F_FIXED_FILE |
				   CPORT_SQE_F_BUFFER_SELECT));
	case CPORT_OP_ACCEPT:
	case CPORT_OP_CONNECT:
	case CPORT_OP_SEND:
	case CPORT_OP_SENDMSG:
	case CPORT_OP_SHUTDOWN:
	case CPORT_OP_CLOSE:
		return !(flags & ~(CPORT_SQE_F_ORDERED |
				   CPORT_SQE_F_FIXED_FILE));
	default:
		return false;
	}
}

/**
 * cport_issue_sqe() - check and run one SQE
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_*.
 *
 * Context: process context, ->submit_lock held: the submitter, or the
 * work of a chain acting for it (link.c).
 * Return: the result for an inline CQE, or CPORT_ISSUE_QUEUED.
 */
int cport_issue_sqe(struct cport_port *port, const struct cport_sqe *sqe,
		    unsigned int issue_flags)
{
	const struct cport_opdef *def;
	int ret;

	if (sqe->opcode >= CPORT_OP_LAST)
		return -EINVAL;
	ret = cport_restrict_sqe(port, sqe);
	if (ret)
		return ret;
	if (sqe->resv2 && !(sqe->flags & CPORT_SQE_F_SIGNAL))
		return -EINVAL;
	if (sqe->buf_group && !(sqe->flags & CPORT_SQE_F_BUFFER_SELECT))
		return -EINVAL;
	if (!cport_sqe_flags_ok(sqe))
		return -EINVAL;
	ret = cport_ef_check(port, sqe);
	if (ret)
		return ret;
	trace_cport_issue(port, sqe);

	/* The cheapest op is the one batches are made of: no indirect calls. */
	if (sqe->opcode == CPORT_OP_NOP)
		return cport_nop_prep(sqe);

	def = &cport_opdefs[array_index_nospec(sqe->opcode, CPORT_OP_LAST)];
	ret = def->prep(sqe);
	if (ret)
		return ret;
	/* A request the op makes takes it (cport_chain_attach()). */
	port->issue_ef = cport_sqe_ef(sqe);
	ret = def->issue(port, sqe, issue_flags);
	port->issue_ef = 0;
	return ret;
}

/*
 * No memory for a chain: the head completes with -ENOMEM, and its @n
 * members, consumed from the SQ, with -ECANCELED.
 */
static void cport_chain_fail(struct cport_port *port,
			     struct cport_cqe_batch *batch,
			     const struct cport_sqe *head, unsigned int n)
{
	u32 mask = port->sq_entries - 1;
	struct cport_sqe sqe;

	cport_cqe_batch_add(port, batch, head->user_data, -ENOMEM,
			    cport_sqe_ef(head));
	while (n--) {
		cport_sqe_copy(&sqe, &port->sqes[port->sq_head & mask]);
		WRITE_ONCE(port->sq_head, port->sq_head + 1);
		cport_ef_accept(port, &sqe);
		if (unlikely(sqe.flags & CPORT_SQE_F_SIGNAL))
			cport_sig_accept(port, &sqe);
		cport_cqe_batch_add(port, batch, sqe.user_data, -ECANCELED,
				    cport_sqe_ef(&sqe));
	}
}

/**
 * cport_submit() - consume up to @to_submit SQEs
 * @port: the port, set up.
 * @to_submit: SQEs wanted, > 0.
 * @will_wait: the caller waits for completions next.
 *
 * Context: process context, may sleep.
 * Return: the number consumed (0 if none was published), or -EBUSY if the
 * CQ has no free slot for the first one.
 */
int cport_submit(struct cport_port *port, u32 to_submit, bool will_wait)
{
	u32 mask = port->sq_entries - 1;
	struct cport_cqe_batch batch;
	u32 i, nr, got;
	int ret;

	batch.nr = 0;
	mutex_lock(&port->submit_lock);
	/* Pairs with the user's store-release of the tail after filling. */
	nr = smp_load_acquire(&port->sq->tail) - port->sq_head;
	nr = min3(nr, to_submit, port->sq_entries);
	if (!nr) {
		ret = 0;
		goto out_unlock;
	}

	got = cport_cq_reserve(port, nr);
	if (!got) {
		ret = -EBUSY;
		goto out_unlock;
	}

	for (i = 0; i < got; i++) {
		struct cport_chain *chain = NULL;
		struct cport_sqe sqe;
		unsigned int n;

		cport_sqe_copy(&sqe, &port->sqes[port->sq_head & mask]);
		/* fdinfo reads it without ->submit_lock. */
		WRITE_ONCE(port->sq_head, port->sq_head + 1);
		if (unlikely(sqe.flags & CPORT_SQE_F_EVENT_FLAG))
			cport_ef_accept(port, &sqe);
		if (unlikely(sqe.flags & CPORT_SQE_F_SIGNAL))
			cport_sig_accept(port, &sqe);
		/* Keep inline CQEs in submission order around other ops. */
		if (sqe.opcode != CPORT_OP_NOP || (sqe.flags & CPORT_SQE_F_LINK))
			cport_cqe_batch_flush(port, &batch);

		/* A linked SQE heads a chain of the SQEs after it. */
		n = cport_chain_count(port, &sqe, got - i - 1);
		if (n) {
			chain = cport_chain_create(port, n);
			if (!chain) {
				cport_chain_fail(port, &batch, &sqe, n);
				i += n;
				continue;
			}
			trace_cport_link(port, sqe.user_data, n);
			i += n;
		}
		if (cport_defer_needed(port, &sqe)) {
			/* Deferred CQEs come after the inline ones before. */
			cport_cqe_batch_flush(port, &batch);
			ret = cport_defer_add(port, &sqe, chain, n);
			if (!ret)
				continue;
		} else {
			port->issue_chain = chain;
			ret = cport_issue_sqe(port, &sqe,
					      (will_wait && i == got - 1) ?
					      CPORT_ISSUE_F_SYNC : 0);
			port->issue_chain = NULL;
		}
		if (ret != CPORT_ISSUE_QUEUED)
			cport_cqe_batch_add(port, &batch, sqe.user_data, ret,
					    cport_sqe_ef(&sqe));
		if (!chain)
			continue;
		/* The head's CQE goes before any of its chain's. */
		cport_cqe_batch_flush(port, &batch);
		cport_chain_head_issued(chain, ret);
		if (ret != CPORT_ISSUE_QUEUED)
			cport_chain_head_done(chain, ret);
	}
	/* Pairs with the user's load-acquire of the head: SQEs were read. */
	smp_store_release(&port->sq->head, port->sq_head);
	cport_cqe_batch_flush(port, &batch);
	/* A DRAIN with nothing before it may start at once. */
	if (READ_ONCE(port->defer_nr))
		cport_defer_kick(port);
	ret = got;

out_unlock:
	mutex_unlock(&port->submit_lock);
	trace_cport_submit(port, to_submit, ret);
	if (ret == -EBUSY)
		trace_cport_cq_full(port, ret);
	return ret;
}

/* The flag half of an ENTER's arguments: all 0 without CPORT_ENTER_FLAGS. */
static int cport_enter_ef_check(const struct cport_enter *e, bool v1)
{
	if (!(e->flags & CPORT_ENTER_FLAGS))
		return ((e->flags & CPORT_ENTER_EF_FLAGS) || e->ef_cluster ||
			e->ef_mask || e->ef_result) ? -EINVAL : 0;
	return (v1 || !e->ef_mask || e->ef_result) ? -EINVAL : 0;
}

/**
 * cport_ioctl_enter() - CPORT_IOC_ENTER: submit, then wait
 * @port: the port.
 * @argp: user pointer to struct cport_enter.
 * @v1: called as CPORT_IOC_ENTER_V1, which writes nothing back.
 *
 * With CPORT_ENTER_FLAGS the wait ends on a flag condition too, and
 * ->ef_result tells the flags that ended it.
 *
 * Context: process context, sleeps.
 * Return: SQEs consumed if > 0; else 0, or the error of the submission or
 * the wait: -EFAULT, -EINVAL, -EACCES, -EBADFD, -EBUSY, -ETIME, -EINTR.
 */
long cport_ioctl_enter(struct cport_port *port, void __user *argp, bool v1)
{
	struct cport_ef_cond cond = { };
	struct cport_enter e;
	int submitted = 0;
	int ret;

	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	if ((e.flags & ~CPORT_ENTER_VALID) || cport_enter_ef_check(&e, v1))
		return -EINVAL;
	if (!(e.flags & CPORT_ENTER_TIMEOUT) && e.timeout_ns)
		return -EINVAL;
	if (!cport_port_ready(port))
		return -EBADFD;
	if (e.min_complete > port->cq_entries)
		return -EINVAL;
	if (e.flags & CPORT_ENTER_FLAGS) {
		cond.efc = cport_cluster_get(port, e.ef_cluster,
					     e.flags & CPORT_ENTER_FLAGS_CONSUME,
					     &ret);
		if (!cond.efc)
			return ret;
		cond.mask = e.ef_mask;
		cond.flags = ((e.flags & CPORT_ENTER_FLAGS_ALL) ?
			      CPORT_FLAG_WAIT_ALL : 0) |
			     ((e.flags & CPORT_ENTER_FLAGS_CONSUME) ?
			      CPORT_FLAG_WAIT_CONSUME : 0);
	}

	if (e.to_submit) {
		submitted = cport_submit(port, e.to_submit, e.min_complete);
		if (submitted < 0) {
			ret = submitted;
			goto out;
		}
	}

	/* Work of this process's ops that must run here (task.c). */
	cport_task_note_enter(port);
	cport_task_run(port);
	cport_cq_flush_pending(port);
	ret = 0;
	if (e.min_complete || cond.efc)
		ret = cport_cq_wait(port, e.min_complete,
				    e.flags & CPORT_ENTER_TIMEOUT,
				    e.timeout_ns, cond.efc ? &cond : NULL);
	if (cond.efc && put_user(cond.got,
				 &((struct cport_enter __user *)argp)->ef_result)) {
		cport_ef_cond_give_back(&cond);
		ret = -EFAULT;
		submitted = 0;
	}
	if (submitted)
		ret = submitted;
out:
	if (cond.efc)
		cport_efc_put(cond.efc);
	return ret;
}
