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

#include "io.h"
#include "task.h"

const int cport_task_wake_key;

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

	WRITE_ONCE(port->task_used, true);
	llist_add(&io->task_node, &port->task_list);
	/* After the add: a waiter that sees the new count finds the item. */
	smp_mb__before_atomic();
	atomic_inc(&port->task_seq);
	cport_task_wake(port, io->files);
}

/**
 * cport_task_wake_match() - is a waiter's thread one a task wake-up is for?
 * @port: the port, whose ->cq_wait.lock the caller holds.
 * @t: the waiter's thread.
 *
 * Context: any, ->cq_wait.lock held.
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
		llist_add_batch(first, last, &port->task_list);
		/* As in cport_task_queue(): the items before the count. */
		smp_mb__before_atomic();
		atomic_inc(&port->task_seq);
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
	node = llist_del_all(&port->task_list);
	while (node) {
		next = node->next;
		cport_io_task_cancel(llist_entry(node, struct cport_io,
						 task_node));
		node = next;
	}
}
