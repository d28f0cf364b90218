// SPDX-License-Identifier: GPL-2.0
/*
 * cport: completion signals (CPORT_SQE_F_SIGNAL).
 *
 * An SQE may ask for a signal when its op completes: the signal is queued
 * right after the terminal CQE is in the CQ ring, with si_code SI_ASYNCIO,
 * the submitter's si_value, pid and uid, to the submitting thread or (with
 * CPORT_SIG_PROCESS) to its process, as sigqueue() would queue it.
 *
 * When the SQE is consumed (cport_sig_accept()), a struct cport_sig is made
 * with a reference to the submitting thread's pid and kept in ->sigs under
 * a small id; the kernel's copy of the SQE then carries that id, and every
 * path that carries an op's event flag (requests, chains, deferred SQEs,
 * inline completions) carries it the same way (CPORT_EF_SIG, flags.h). The
 * terminal CQE's post calls __cport_sig_fire() under ->cq_lock, in any
 * context: it takes the signal out of ->sigs and queues an irq_work that
 * sends it once ->cq_lock is dropped (sending takes the target's siglock,
 * which a signalfd's wake-up nests outside another port's ->cq_lock).
 * The signal's pid reference is dropped later, in process context: at the
 * next SQE with a signal, or at release.
 *
 * The kernel fills in a signal's si_pid and si_uid as the sending task,
 * "current", sees them: it maps si_uid from current's user namespace to
 * the target's, and clears si_pid if current is not in the target's pid
 * namespace (or one below it). In hard IRQ context current is whatever
 * ran, the idle task included. So si_uid is given as current's namespace
 * sees the submitter's uid, at the send; and a signal is sent from the
 * irq_work only if current can name the submitter's pid there, else from
 * a worker of the system workqueue. In the initial pid namespace the
 * siginfo is always exact; in another one, si_pid may be 0 (the kernel's
 * way of saying "from outside"), as userspace-api.rst says.
 *
 * A module cannot queue a process-directed signal with a siginfo of its
 * own (kill_pid_info() is not exported): send_sig_info() queues it to one
 * thread. For CPORT_SIG_PROCESS the thread is chosen as the kernel would
 * for a process-directed signal: the submitting thread if it does not
 * block the signal, else the first thread of the process that does not
 * (a thread in sigwaitinfo() for it does not block it meanwhile); if every
 * thread blocks it, it stays pending for the thread group leader (or, if
 * that one has exited, the submitting thread), and only that thread can
 * take it: the main thread is where a process that blocks a signal in
 * every thread usually waits for it, while the submitter may be a
 * library's service thread that blocks everything (libcportaio's reaper).
 * userspace-api.rst says so.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/irq_work.h>
#include <linux/llist.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "cport_priv.h"
#include "flags.h"
#include "signal.h"

/* The kernel's copy of an SQE: ->sig_value is a signal's id in ->sigs. */
#define CPORT_SIG_K_ID		BIT(31)
/* The kernel's copy of an SQE: no memory for its signal (-ENOMEM). */
#define CPORT_SIG_K_NOMEM	BIT(30)

/**
 * struct cport_sig - a signal an op queues when it completes
 * @pid: the submitting thread (PIDTYPE_PID), referenced.
 * @tgid: its process (PIDTYPE_TGID), referenced.
 * @value: si_value.
 * @signo: the signal.
 * @flags: CPORT_SIG_*.
 * @spid: the submitter's process id, as its namespace sees it (si_pid).
 * @kuid: the submitter's uid (si_uid, as the sender's namespace sees it).
 * @node: on ->sig_send or ->sig_late, then on ->sig_done.
 */
struct cport_sig {
	struct pid		*pid;
	struct pid		*tgid;
	u64			value;
	int			signo;
	u32			flags;
	pid_t			spid;
	kuid_t			kuid;
	struct llist_node	node;
};

static bool cport_sig_multishot(const struct cport_sqe *sqe)
{
	switch (sqe->opcode) {
	case CPORT_OP_TIMEOUT:
		return sqe->op_flags & CPORT_TIMEOUT_MULTISHOT;
	case CPORT_OP_POLL_ADD:
		return sqe->op_flags & CPORT_POLL_MULTISHOT;
	case CPORT_OP_ACCEPT:
	case CPORT_OP_RECV:
		return sqe->off & CPORT_NET_MULTISHOT;
	default:
		return false;
	}
}

/* The user's part of an SQE's signal fields is valid. */
static bool cport_sig_valid(const struct cport_sqe *sqe)
{
	return !(sqe->flags & CPORT_SQE_F_EVENT_FLAG) &&
	       sqe->sig_signo >= 1 && sqe->sig_signo <= _NSIG &&
	       !(sqe->sig_flags & ~CPORT_SIG_PROCESS) &&
	       !cport_sig_multishot(sqe);
}

static void cport_sig_free(struct cport_sig *sig)
{
	put_pid(sig->pid);
	put_pid(sig->tgid);
	kfree(sig);
}

/* Free the signals that were sent. Context: process context. */
static void cport_sig_reap(struct cport_port *port)
{
	struct llist_node *list = llist_del_all(&port->sig_done);
	struct cport_sig *sig, *tmp;

	llist_for_each_entry_safe(sig, tmp, list, node)
		cport_sig_free(sig);
}

/**
 * cport_sig_accept() - an SQE with CPORT_SQE_F_SIGNAL was consumed
 * @port: the port.
 * @sqe: the kernel's copy of the SQE; its ->sig_value becomes the signal's
 *       id, or it is marked as failed.
 *
 * The signal is made now, once per SQE, whatever path the SQE takes. An
 * SQE whose signal fields are not valid is left as it is: its check
 * (cport_sig_check()) fails it with -EINVAL, and no signal is queued.
 *
 * Context: process context, the submitter's; ->submit_lock held.
 */
void cport_sig_accept(struct cport_port *port, struct cport_sqe *sqe)
{
	bool valid = cport_sig_valid(sqe);
	struct cport_sig *sig;
	u32 id;

	/* The kernel's marks, never the user's: those make it invalid. */
	sqe->sig_flags &= ~(CPORT_SIG_K_ID | CPORT_SIG_K_NOMEM);
	if (!valid)
		return;
	cport_sig_reap(port);
	sig = kzalloc(sizeof(*sig), GFP_KERNEL_ACCOUNT);
	if (!sig)
		goto nomem;
	sig->value = sqe->sig_value;
	sig->signo = sqe->sig_signo;
	sig->flags = sqe->sig_flags;
	sig->spid = task_tgid_vnr(current);
	sig->kuid = current_uid();
	sig->pid = get_task_pid(current, PIDTYPE_PID);
	sig->tgid = get_task_pid(current, PIDTYPE_TGID);
	if (xa_alloc_irq(&port->sigs, &id, sig, XA_LIMIT(1, CPORT_EF_SIG_MAX),
			 GFP_KERNEL_ACCOUNT)) {
		cport_sig_free(sig);
		goto nomem;
	}
	sqe->sig_value = id;
	sqe->sig_flags |= CPORT_SIG_K_ID;
	return;
nomem:
	sqe->sig_flags |= CPORT_SIG_K_NOMEM;
}

/**
 * cport_sig_check() - check an SQE's signal fields at issue
 * @sqe: the kernel's copy of the SQE, with CPORT_SQE_F_SIGNAL.
 *
 * Context: any.
 * Return: 0; -ENOMEM if its signal could not be made; -EINVAL for a
 * signal number outside 1 to 64, unknown CPORT_SIG_* flags, a multishot
 * op or CPORT_SQE_F_EVENT_FLAG too.
 */
int cport_sig_check(const struct cport_sqe *sqe)
{
	if (sqe->sig_flags & CPORT_SIG_K_NOMEM)
		return -ENOMEM;
	return (sqe->sig_flags & CPORT_SIG_K_ID) ? 0 : -EINVAL;
}

/**
 * cport_sqe_sig() - an SQE's signal, as its event flag is carried
 * @sqe: the kernel's copy of the SQE, accepted.
 *
 * Context: any.
 * Return: CPORT_EF_VALID | CPORT_EF_SIG | id, or 0 for none.
 */
u32 cport_sqe_sig(const struct cport_sqe *sqe)
{
	if (!(sqe->flags & CPORT_SQE_F_SIGNAL) ||
	    !(sqe->sig_flags & CPORT_SIG_K_ID))
		return 0;
	return CPORT_EF_VALID | CPORT_EF_SIG | (u32)sqe->sig_value;
}

/**
 * __cport_sig_fire() - an op with a signal posted its terminal CQE
 * @port: the port.
 * @id: the signal's id (CPORT_EF_SIG_ID()).
 *
 * A signal is sent once: a second call for the same id finds nothing.
 * Once the port is being released, the signal is dropped unsent.
 *
 * Context: any, hard IRQ included; ->cq_lock held.
 */
void __cport_sig_fire(struct cport_port *port, u32 id)
{
	struct cport_sig *sig;

	lockdep_assert_held(&port->cq_lock);
	xa_lock(&port->sigs);
	sig = __xa_erase(&port->sigs, id);
	xa_unlock(&port->sigs);
	if (!sig)
		return;
	if (port->sig_closing) {
		llist_add(&sig->node, &port->sig_done);
		return;
	}
	llist_add(&sig->node, &port->sig_send);
	irq_work_queue(&port->sig_work);
}

/*
 * The thread a signal goes to: see the comment at the top. The RCU read
 * lock keeps the tasks.
 */
static struct task_struct *cport_sig_target(struct cport_sig *sig)
{
	struct task_struct *t = pid_task(sig->pid, PIDTYPE_PID);
	struct task_struct *leader, *p;

	if (!(sig->flags & CPORT_SIG_PROCESS))
		return t;
	if (t && !(t->flags & PF_EXITING) &&
	    !sigismember(&t->blocked, sig->signo))
		return t;
	leader = pid_task(sig->tgid, PIDTYPE_TGID);
	if (!leader)
		return NULL;
	for_each_thread(leader, p) {
		if (!(p->flags & PF_EXITING) &&
		    !sigismember(&p->blocked, sig->signo))
			return p;
	}
	if (!(leader->flags & PF_EXITING))
		return leader;
	return t ?: leader;
}

/*
 * Send one signal, unless @irq and the kernel would not let its siginfo
 * through as it is (see the comment at the top).
 * Context: hard IRQ (the irq_work, @irq), or a kworker.
 * Return: false if the signal must be sent from a worker instead.
 */
static bool cport_sig_send(struct cport_port *port, struct cport_sig *sig,
			   bool irq)
{
	struct kernel_siginfo info;
	struct task_struct *t;
	int ret = -ESRCH;

	rcu_read_lock();
	t = cport_sig_target(sig);
	if (t && irq && !task_pid_nr_ns(current, task_active_pid_ns(t))) {
		rcu_read_unlock();
		return false;
	}
	if (t) {
		clear_siginfo(&info);
		info.si_signo = sig->signo;
		info.si_code = SI_ASYNCIO;
		info.si_pid = sig->spid;
		info.si_uid = from_kuid_munged(current_user_ns(), sig->kuid);
		info.si_value.sival_ptr = (void __user *)(uintptr_t)sig->value;
		ret = send_sig_info(sig->signo, &info, t);
	}
	rcu_read_unlock();
	/* -EAGAIN: RLIMIT_SIGPENDING reached for a real-time signal. */
	if (ret)
		atomic64_inc(&port->sig_lost);
	else
		atomic64_inc(&port->sig_queued);
	return true;
}

/* Context: hard IRQ (irq_work), right after the post that fired it. */
static void cport_sig_work(struct irq_work *work)
{
	struct cport_port *port = container_of(work, struct cport_port,
					       sig_work);
	struct llist_node *list = llist_del_all(&port->sig_send);
	struct cport_sig *sig, *tmp;
	bool late = false;

	/* In the order the CQEs were posted. */
	list = llist_reverse_order(list);
	llist_for_each_entry_safe(sig, tmp, list, node) {
		/* After one goes late, the rest follow it, in order. */
		if (!late && cport_sig_send(port, sig, true)) {
			llist_add(&sig->node, &port->sig_done);
			continue;
		}
		late = true;
		llist_add(&sig->node, &port->sig_late);
	}
	if (late)
		schedule_work(&port->sig_late_work);
}

/* Context: a kworker of the system workqueue. */
static void cport_sig_late_work(struct work_struct *work)
{
	struct cport_port *port = container_of(work, struct cport_port,
					       sig_late_work);
	struct llist_node *list = llist_del_all(&port->sig_late);
	struct cport_sig *sig, *tmp;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(sig, tmp, list, node) {
		cport_sig_send(port, sig, false);
		llist_add(&sig->node, &port->sig_done);
	}
}

/**
 * cport_sig_init() - the completion signals' part of a new port
 * @port: the port.
 *
 * Context: process context.
 */
void cport_sig_init(struct cport_port *port)
{
	xa_init_flags(&port->sigs, XA_FLAGS_ALLOC1 | XA_FLAGS_LOCK_IRQ);
	init_irq_work(&port->sig_work, cport_sig_work);
	INIT_WORK(&port->sig_late_work, cport_sig_late_work);
}

/**
 * cport_sig_closing() - the port is being released: send no more signals
 * @port: the port.
 *
 * Ops cancelled by the release post their CQEs but queue no signal.
 *
 * Context: process context.
 */
void cport_sig_closing(struct cport_port *port)
{
	spin_lock_irq(&port->cq_lock);
	port->sig_closing = true;
	spin_unlock_irq(&port->cq_lock);
}

/**
 * cport_sig_release() - drop every signal of a released port
 * @port: the port; nothing posts any more.
 *
 * Context: process context.
 */
void cport_sig_release(struct cport_port *port)
{
	struct cport_sig *sig;
	unsigned long id;

	irq_work_sync(&port->sig_work);
	flush_work(&port->sig_late_work);
	xa_for_each(&port->sigs, id, sig)
		cport_sig_free(sig);
	xa_destroy(&port->sigs);
	cport_sig_reap(port);
}
