// SPDX-License-Identifier: GPL-2.0
/*
 * cport: waiting for completions.
 *
 * Threads waiting in CPORT_IOC_ENTER sleep on ->cq_wait as exclusive
 * waiters added at the head of the queue, so a wake-up of one waiter picks
 * the newest (IOCP's LIFO release: the thread that ran last has the warmest
 * cache). Each posted CQE wakes at most one waiter whose min_complete is met;
 * a woken waiter leaves the queue at once (autoremove), so the next CQE
 * wakes the next one and there is no herd. A waiter that was woken but
 * leaves with an error, or with more CQEs ready than it waited for, passes
 * the wake-up on, so none is lost.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>

#include "cq.h"
#include "flag_ops.h"
#include "pool.h"
#include "task.h"
#include "wait.h"

struct cport_waiter {
	struct wait_queue_entry	wqe;
	struct cport_port	*port;
	u32			min_complete;
};

/*
 * Called by __wake_up() with ->cq_wait.lock held.
 * Context: any, including hard IRQ (CQEs posted by timer callbacks).
 * Return: 0 to skip this waiter (not enough CQEs for it, or a wake-up
 * for a freed pool slot, which only CPORT_IOC_GETQ waiters take), else
 * whether it was woken; a woken waiter is removed from the queue.
 */
static int cport_wake_function(struct wait_queue_entry *wqe, unsigned int mode,
			       int sync, void *key)
{
	struct cport_waiter *w = container_of(wqe, struct cport_waiter, wqe);

	/* Work for a thread of one process (task.c): it stays queued. */
	if (key == CPORT_TASK_WAKE_KEY)
		return cport_task_wake_match(w->port, wqe->private) ?
		       default_wake_function(wqe, mode, sync, key) : 0;
	if (key == CPORT_POOL_WAKE_KEY ||
	    cport_cq_ready(w->port) < w->min_complete)
		return 0;
	return autoremove_wake_function(wqe, mode, sync, key);
}

/* Queue @w at the head (newest first) unless it is still queued. */
static void cport_waiter_queue(struct cport_port *port, struct cport_waiter *w)
{
	spin_lock_irq(&port->cq_wait.lock);
	if (list_empty(&w->wqe.entry))
		__add_wait_queue(&port->cq_wait, &w->wqe);
	/* Full barrier: pairs with the smp_mb() in cport_cq_wake(). */
	set_current_state(TASK_INTERRUPTIBLE);
	spin_unlock_irq(&port->cq_wait.lock);
}

/* The flag half of a composite wait: a waiter on the cluster. */
struct cport_ef_sleeper {
	struct cport_efw	w;
	struct task_struct	*task;
};

/* Context: any, the cluster's ->lock held. */
static void cport_ef_sleeper_wake(struct cport_efw *w)
{
	wake_up_process(container_of(w, struct cport_ef_sleeper, w)->task);
}

/*
 * Stop waiting for the flags. Return: true if the condition was met (and
 * ->got set) before we left.
 */
static bool cport_ef_sleeper_done(struct cport_ef_cond *ef,
				  struct cport_ef_sleeper *s)
{
	if (cport_efw_stop(ef->efc, &s->w))
		return false;
	ef->got = s->w.got;
	return true;
}

/**
 * cport_cq_wait() - wait until the CQ holds @min_complete CQEs
 * @port: the port; set up, unless @min_complete is 0.
 * @min_complete: CQEs wanted; 0: only @ef ends the wait.
 * @timed: @timeout_ns is a limit.
 * @timeout_ns: relative limit; 0 means do not sleep.
 * @ef: a flag condition that ends the wait too, or NULL (then
 *      @min_complete > 0). Its ->got says whether it did.
 *
 * Context: process context, sleeps.
 * Return: 0, -ETIME or -EINTR.
 */
int cport_cq_wait(struct cport_port *port, u32 min_complete, bool timed,
		  u64 timeout_ns, struct cport_ef_cond *ef)
{
	struct cport_waiter w = {
		.port		= port,
		.min_complete	= min_complete,
	};
	struct cport_ef_sleeper s = {
		.w.wake	= cport_ef_sleeper_wake,
		.task	= current,
	};
	bool woken = false, timed_out = false, flagged = false;
	ktime_t expires = 0;
	u32 task_seq;
	int ret;

	if (ef) {
		ef->got = 0;
		s.w.mask = ef->mask;
		s.w.flags = ef->flags;
		if (cport_efw_start(ef->efc, &s.w)) {
			ef->got = s.w.got;
			return 0;
		}
	}
	if (min_complete && cport_cq_ready(port) >= min_complete) {
		ret = 0;
		goto out_ef;
	}
	if (timed && !timeout_ns) {
		ret = -ETIME;
		goto out_ef;
	}
	if (timed)
		expires = ktime_add_safe(ktime_get(),
					 ns_to_ktime(min_t(u64, timeout_ns,
							   KTIME_MAX)));

	init_waitqueue_func_entry(&w.wqe, cport_wake_function);
	INIT_LIST_HEAD(&w.wqe.entry);	/* empty = not queued */
	w.wqe.private = current;
	w.wqe.flags = WQ_FLAG_EXCLUSIVE;
	if (min_complete)
		atomic_inc(&port->nr_waiters);
	for (;;) {
		/* Work of this process's ops that must run here (task.c). */
		task_seq = cport_task_seq(port);
		cport_task_run(port);
		if (min_complete)
			cport_waiter_queue(port, &w);
		else
			set_current_state(TASK_INTERRUPTIBLE);
		/* Released under the cluster's ->lock, then woken. */
		if (ef && list_empty_careful(&s.w.node)) {
			ret = 0;
			break;
		}
		if (min_complete && cport_cq_ready(port) >= min_complete) {
			ret = 0;
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (timed_out) {
			ret = -ETIME;
			break;
		}
		/* Ordered by set_current_state() above: see cport_task_queue(). */
		if (cport_task_seq(port) != task_seq) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		if (timed)
			timed_out = !schedule_hrtimeout(&expires,
							HRTIMER_MODE_ABS);
		else
			schedule();
	}
	__set_current_state(TASK_RUNNING);
	if (min_complete) {
		/* Empty entry: a poster removed us: the wake-up was ours. */
		woken = list_empty_careful(&w.wqe.entry);
		finish_wait(&port->cq_wait, &w.wqe);
		atomic_dec(&port->nr_waiters);
	}

out_ef:
	/* Flags handed to us, even just now, are ours: never lose them. */
	if (ef && cport_ef_sleeper_done(ef, &s)) {
		flagged = true;
		ret = 0;
	}
	/*
	 * A woken waiter that leaves without success passes its wake-up on.
	 * So does one that leaves with more CQEs ready than it asked for: it
	 * may have been woken for a CQE while it was on its way out with
	 * another (requeued for the re-check above), and its thread may take
	 * just one and go; the surplus must not sit there with every other
	 * waiter asleep. One that leaves for flags may take no CQE at all.
	 */
	if (woken && (ret || flagged ||
		      cport_cq_ready(port) > min_complete))
		cport_cq_wake(port, 1);
	return ret;
}

/**
 * cport_ef_cond_give_back() - undo what a consuming wait took
 * @ef: a flag condition whose wait ended; ->got is set again in the
 *      cluster if the wait consumed it, and cleared.
 *
 * For a wait whose result cannot reach its caller (-EFAULT): a consumed
 * flag must never be lost.
 *
 * Context: any.
 */
void cport_ef_cond_give_back(struct cport_ef_cond *ef)
{
	if (!(ef->flags & CPORT_FLAG_WAIT_CONSUME))
		return;
	while (ef->got) {
		cport_efc_set(ef->efc, __ffs64(ef->got));
		ef->got &= ef->got - 1;
	}
}

/**
 * cport_poll() - poll/epoll on the port fd
 * @file: the port file.
 * @wait: poll table.
 *
 * Context: process context.
 * Return: EPOLLIN | EPOLLRDNORM while the CQ holds a CQE; EPOLLPRI while
 * the condition armed with CPORT_FLAGS_POLL_ARM holds.
 */
__poll_t cport_poll(struct file *file, poll_table *wait)
{
	struct cport_port *port = file->private_data;

	__poll_t mask;

	poll_wait(file, &port->poll_wait, wait);
	mask = cport_flags_poll(port);
	if (!cport_port_ready(port))
		return mask;
	/* Pairs with the smp_mb() in cport_cq_wake(): see wq_has_sleeper(). */
	smp_mb();
	/* Task items want a thread of their process to enter (task.c). */
	if (cport_cq_ready(port) || !llist_empty(&port->task_list))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}
