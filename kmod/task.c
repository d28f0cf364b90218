// SPDX-License-Identifier: GPL-2.0
/*
 * cport: work that must run in a thread of the submitting process.
 *
 * A kernel worker acts with the submitter's credentials and address space,
 * but not with its file table, and its pid is not the submitter's. So an
 * op that installs a descriptor (ACCEPT, RECVMSG with SCM_RIGHTS), looks
 * one up by number (SENDMSG with SCM_RIGHTS), closes one (CLOSE), or shows
 * the sender's pid to the peer (a send on an AF_UNIX socket) cannot be
 * retried on a worker once it had to wait. Such an op is ->in_task: its
 * work goes on the port's task list instead of the workqueue, and a thread
 * of the submitting process (one with the same file table and mm) runs it
 * when it is in, or next enters, CPORT_IOC_ENTER or CPORT_IOC_GETQ. The
 * wake-up of a queued item wakes one such waiter (and poll/epoll waiters:
 * the port polls readable while the list is not empty), which runs it and
 * goes back to waiting.
 *
 * The other socket ops (->task_pref) may run anywhere; their work runs in
 * a thread of the submitting process if one is waiting on the port when
 * the socket wakes them (cport_task_offer()), which saves a worker and a
 * wake-up per completion. If none waits but the process entered the port
 * a moment ago (a busy server), the work waits on the list for its next
 * entry, and a delayed work hands it to a worker if no thread came within
 * CPORT_TASK_SPEC_JIFFIES; otherwise a worker runs it at once.
 *
 * A thread runs an item if it has the item's file table and mm. Both are
 * only compared, never dereferenced; the mm is pinned by the op (mmgrab()),
 * so no other process can have that mm while the item exists, and a file
 * table address reused by another process never comes with that mm.
 *
 * The list is an llist: items are added from any context (a socket's
 * wake-up, in soft IRQ) without a lock. ->task_seq counts additions, so a
 * waiter sleeps only if nothing was added since it last ran the list.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/fdtable.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "io.h"
#include "task.h"

/*
 * How long an op offered to a busy process waits on the task list for
 * one of its threads to enter the port before a worker takes it.
 */
#define CPORT_TASK_SPEC_JIFFIES	2
/* A process that entered the port this recently counts as busy. */
#define CPORT_TASK_BUSY_JIFFIES	4

const int cport_task_wake_key;

/*
 * Put items @first..@last (linked) on the task list, then count them, so
 * that a waiter that sees the new count finds them (cport_task_seq()).
 * Context: any, hard IRQ included.
 */
static void cport_task_add(struct cport_port *port, struct llist_node *first,
			   struct llist_node *last)
{
	WRITE_ONCE(port->task_used, true);
	llist_add_batch(first, last, &port->task_list);
	/* The items before the count: pairs with the waiters' checks. */
	smp_mb__before_atomic();
	atomic_inc(&port->task_seq);
}

/*
 * Wake one waiter of the item's process, and the poll waiters. The caller
 * keeps the port alive: it holds ->cq_lock, a wait queue lock or the RCU
 * read lock, and the release of a port that ever had task items waits for
 * a grace period (cport_task_release()).
 * Context: any, hard IRQ included.
 */
static void cport_task_wake(struct cport_port *port, void *files)
{
	unsigned long flags;

	spin_lock_irqsave(&port->cq_wait.lock, flags);
	port->task_wake_files = files;
	__wake_up_locked_key(&port->cq_wait, TASK_NORMAL, CPORT_TASK_WAKE_KEY);
	port->task_wake_files = NULL;
	spin_unlock_irqrestore(&port->cq_wait.lock, flags);
	wake_up_interruptible_poll(&port->poll_wait, EPOLLIN | EPOLLRDNORM);
}

/**
 * cport_task_queue() - queue the work of an ->in_task op
 * @io: the op; the reference of its active side goes with it.
 *
 * Context: any, hard IRQ included.
 */
void cport_task_queue(struct cport_io *io)
{
	struct cport_port *port = io->req.port;

	cport_task_add(port, &io->task_node, &io->task_node);
	cport_task_wake(port, io->files);
}

/**
 * cport_task_offer() - let a waiting thread of the submitter run an op
 * @io: an op whose work may run on a worker or in a thread of the
 *      submitting process (->task_pref); the reference of its active side
 *      goes with it if it is taken.
 *
 * A thread of the submitting process that sleeps in CPORT_IOC_ENTER or
 * CPORT_IOC_GETQ on the port runs the work itself, as it wakes: no
 * worker, and no second wake-up for the CQE. A waiter found here runs the
 * task list before it leaves the wait (the add is under ->cq_wait.lock,
 * which its leaving takes), so the item cannot be stranded.
 *
 * Context: any, hard IRQ included; the caller keeps the port alive (see
 * cport_task_wake()).
 * Return: true if a waiter took it; false: the caller queues the work.
 */
bool cport_task_offer(struct cport_io *io)
{
	struct cport_port *port = io->req.port;
	struct task_struct *t = NULL;
	struct wait_queue_entry *wqe;
	unsigned long flags;

	spin_lock_irqsave(&port->cq_wait.lock, flags);
	list_for_each_entry(wqe, &port->cq_wait.head, entry) {
		struct task_struct *w = wqe->private;

		if (READ_ONCE(w->files) == io->files && w->mm == io->mm) {
			t = w;
			break;
		}
	}
	if (t) {
		cport_task_add(port, &io->task_node, &io->task_node);
		wake_up_process(t);
	}
	spin_unlock_irqrestore(&port->cq_wait.lock, flags);
	if (t)
		return true;

	/*
	 * None waits, but the process entered the port a moment ago
	 * (CPORT_TASK_BUSY_JIFFIES): a busy server, which enters again soon
	 * (each ENTER runs the list). Leave the op for it, and let a worker
	 * take it if no thread did after CPORT_TASK_SPEC_JIFFIES.
	 */
	if (READ_ONCE(port->task_hint_files) != io->files ||
	    time_after(jiffies, READ_ONCE(port->task_hint_jiffies) +
				CPORT_TASK_BUSY_JIFFIES))
		return false;
	cport_task_add(port, &io->task_node, &io->task_node);
	if (!delayed_work_pending(&port->task_fallback))
		cport_io_queue_delayed_work(&port->task_fallback,
					    CPORT_TASK_SPEC_JIFFIES);
	/* An epoll loop learns that it should enter. */
	if (wq_has_sleeper(&port->poll_wait))
		wake_up_interruptible_poll(&port->poll_wait,
					   EPOLLIN | EPOLLRDNORM);
	return true;
}

/**
 * cport_task_note_enter() - a thread enters CPORT_IOC_ENTER or _GETQ
 * @port: the port.
 *
 * Remembers which process entered the port last, and when: its ops may
 * wait for its next entry rather than wake a worker (cport_task_offer()).
 *
 * Context: process context.
 */
void cport_task_note_enter(struct cport_port *port)
{
	unsigned long now = jiffies;

	/* Written only when they change: pool threads share the line. */
	if (READ_ONCE(port->task_hint_files) != current->files)
		WRITE_ONCE(port->task_hint_files, current->files);
	if (READ_ONCE(port->task_hint_jiffies) != now)
		WRITE_ONCE(port->task_hint_jiffies, now);
}

/*
 * The ops offered to a busy process that no thread of it took in time go
 * to the workqueue; ops that must run in the process stay.
 * Context: a kworker of the cport workqueue.
 */
static void cport_task_fallback_fn(struct work_struct *work)
{
	struct cport_port *port = container_of(to_delayed_work(work),
					       struct cport_port,
					       task_fallback);
	struct llist_node *node, *next, *first = NULL, *last = NULL;

	node = llist_del_all(&port->task_list);
	while (node) {
		struct cport_io *io = llist_entry(node, struct cport_io,
						  task_node);

		next = node->next;
		if (io->in_task) {
			node->next = first;
			first = node;
			if (!last)
				last = node;
		} else {
			cport_io_queue_work(&io->work);
		}
		node = next;
	}
	if (first)
		cport_task_add(port, first, last);
}

/**
 * cport_task_init() - the task list's part of a new port
 * @port: the port.
 *
 * Context: process context.
 */
void cport_task_init(struct cport_port *port)
{
	INIT_DELAYED_WORK(&port->task_fallback, cport_task_fallback_fn);
}

/**
 * cport_task_wake_match() - is a waiter's thread one a task wake-up is for?
 * @port: the port, whose ->cq_wait.lock the caller holds.
 * @t: the waiter's thread.
 *
 * Context: any, ->cq_wait.lock held.
 * Return: true if @t uses the file table of the process the wake-up in
 * progress is for.
 */
bool cport_task_wake_match(struct cport_port *port, struct task_struct *t)
{
	/* Only compared: a thread that changes its table meanwhile finds
	 * nothing to run, and the item waits for the next one.
	 */
	return READ_ONCE(t->files) == port->task_wake_files;
}

/**
 * cport_task_run() - run the task items of the calling thread's process
 * @port: the port.
 *
 * Items of other processes go back on the list, and their waiters are
 * woken again.
 *
 * Context: process context, inside CPORT_IOC_ENTER or CPORT_IOC_GETQ;
 * sleeps.
 * Return: the number of items run.
 */
unsigned int cport_task_run(struct cport_port *port)
{
	struct llist_node *node, *next, *first = NULL, *last = NULL;
	unsigned int ran = 0;

	if (llist_empty(&port->task_list))
		return 0;
	node = llist_reverse_order(llist_del_all(&port->task_list));
	while (node) {
		struct cport_io *io = llist_entry(node, struct cport_io,
						  task_node);

		next = node->next;
		if (io->files == current->files && io->mm == current->mm) {
			cport_io_task_run(io);
			ran++;
		} else {
			node->next = first;
			first = node;
			if (!last)
				last = node;
		}
		node = next;
	}
	if (first) {
		cport_task_add(port, first, last);
		for (node = first; node; node = node->next) {
			cport_task_wake(port, llist_entry(node, struct cport_io,
							  task_node)->files);
			if (node == last)
				break;
		}
	}
	return ran;
}

/**
 * cport_task_release() - drop the task items of a released port
 * @port: the port; every request was cancelled, nothing queues any more.
 *
 * Context: process context.
 */
void cport_task_release(struct cport_port *port)
{
	struct llist_node *node, *next;

	if (!READ_ONCE(port->task_used))
		return;
	/* A waker may still be in cport_task_wake(): see there. */
	synchronize_rcu();
	cancel_delayed_work_sync(&port->task_fallback);
	node = llist_del_all(&port->task_list);
	while (node) {
		next = node->next;
		cport_io_task_cancel(llist_entry(node, struct cport_io,
						 task_node));
		node = next;
	}
}
