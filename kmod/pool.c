// SPDX-License-Identifier: GPL-2.0
/*
 * cport: thread pools, the concurrency limit and CPORT_IOC_GETQ.
 *
 * A pool thread calls CPORT_IOC_GETQ, takes CQEs and "runs" until its next
 * GETQ: the port lets at most ->limit such threads run at once (IOCP's
 * concurrency value). A pool thread loop:
 *
 *	struct cport_cqe c[16];
 *	struct cport_getq q = { .cqes = (__u64)(uintptr_t)c, .nr = 16 };
 *
 *	for (;;) {
 *		int n = ioctl(fd, CPORT_IOC_GETQ, &q);
 *		// handle c[0..n-1]; the thread counts as running
 *	}
 *
 * The counting state lives in a small refcounted "domain", struct
 * cport_pool, that the port and the threads counted in it reference: a
 * thread may still be counted (and be scheduled) after the port is gone.
 *
 * Admission. ->running is an atomic counted against ->limit; a slot is
 * reserved (incremented below the limit) before CQEs are taken, and given
 * back if none could be. GETQ waiters sleep on the port's ->cq_wait,
 * exclusive and added at the head (newest first), next to ENTER waiters.
 * Their wake function accepts a wake-up only if a CQE is ready and it can
 * reserve a slot for its waiter (hand-off); otherwise it returns 0 and the
 * wake-up goes to the next waiter. Wake-ups for a freed slot carry
 * CPORT_POOL_WAKE_KEY, which ENTER waiters ignore. A woken waiter that
 * finds nothing to take gives the slot back, and giving a slot back always
 * wakes the next waiter that can use it, so no wake-up is lost.
 *
 * Blocking (CONFIG_PREEMPT_NOTIFIERS). Each pool thread registers one
 * preempt notifier, from its own context, and keeps it until it exits.
 * When it is switched out because it blocks (its state is not
 * TASK_RUNNING), it stops counting and an irq_work wakes a waiter of the
 * port later (no wake-ups under the runqueue lock); when it runs again it
 * counts again, even above the limit, as IOCP does. Its final switch
 * (TASK_DEAD) uncounts it and hands the registration to the same irq_work,
 * which frees it after an RCU grace period: the notifier list is still
 * being walked when the callback returns, with preemption off (an RCU
 * reader), and the irq_work, one for all CPUs, may already be running on
 * another CPU when the dying thread queues it.
 *
 * Without preempt notifiers (see userspace-api.rst) a thread counts on the
 * port it took CQEs from until its next GETQ or LEAVE there; blocking does
 * not release its slot; the slot of a thread that exited is taken back by
 * a GETQ waiter of the port that finds a CQE ready and no slot free
 * (waiters look again every CPORT_POOL_REAP_MS while no slot is free).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cq.h"
#include "pool.h"
#include "task.h"
#include "trace.h"

char cport_pool_wake_key;

#define CPORT_GETQ_FLAGS	(CPORT_GETQ_TIMEOUT | CPORT_GETQ_LEAVE)

/**
 * struct cport_pool - the counting domain of one port
 * @ref: the port's reference and each pool thread's that points here.
 * @running: threads counted as running; may exceed @limit for a while.
 * @waiting: threads queued in CPORT_IOC_GETQ, under ->cq_wait.lock.
 * @wake_pending: slots freed by blocking threads, not signalled yet.
 * @limit: the concurrency value; constant.
 * @lock: protects @port (and @threads); taken in hard IRQ: irqsave.
 * @port: the port, or NULL once it is released.
 * @wake_node: on cport_pool_wakes while @wake_pending is not 0.
 * @threads: without preempt notifiers: the threads counted here.
 */
struct cport_pool {
	refcount_t		ref;
	atomic_t		running;
	atomic_t		waiting;
	atomic_t		wake_pending;
	u32			limit;
	spinlock_t		lock;	/* @port, @threads; irqsave */
	struct cport_port	*port;
	struct llist_node	wake_node;
#ifndef CONFIG_PREEMPT_NOTIFIERS
	struct list_head	threads;
#endif
};

/**
 * struct cport_pool_waiter - a thread sleeping in CPORT_IOC_GETQ
 * @wqe: entry on ->cq_wait.
 * @port: the port.
 * @pool: its domain.
 * @slot: a waker reserved a slot for this waiter; under ->cq_wait.lock.
 */
struct cport_pool_waiter {
	struct wait_queue_entry	wqe;
	struct cport_port	*port;
	struct cport_pool	*pool;
	bool			slot;
};

static void cport_pool_put(struct cport_pool *pool);

/*
 * Reserve a running slot if fewer than ->limit threads run.
 * Context: any, hard IRQ included.
 */
static bool cport_pool_slot_get(struct cport_pool *pool)
{
	int r = atomic_read(&pool->running);

	do {
		if (r >= (int)pool->limit)
			return false;
	} while (!atomic_try_cmpxchg(&pool->running, &r, r + 1));
	return true;
}

/*
 * Wake up to @nr GETQ waiters of @pool's port for freed slots, if the port
 * still exists. ->lock keeps a released port out of reach.
 * Context: any, hard IRQ included; never under ->cq_wait.lock.
 */
static void cport_pool_kick(struct cport_pool *pool, int nr)
{
	unsigned long flags;

	/* __wake_up() with 0 would wake every exclusive waiter. */
	if (nr <= 0)
		return;
	/*
	 * Orders the caller's decrement of ->running before the wait queue
	 * scan (whose lock orders it with the waiters' queueing).
	 */
	smp_mb__after_atomic();
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->port)
		__wake_up(&pool->port->cq_wait, TASK_NORMAL, nr,
			  CPORT_POOL_WAKE_KEY);
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Give a slot back and pass it on. Context: process context. */
static void cport_pool_slot_put(struct cport_pool *pool)
{
	atomic_dec(&pool->running);
	cport_pool_kick(pool, 1);
}

#ifdef CONFIG_PREEMPT_NOTIFIERS

/**
 * struct cport_pool_thread - a pool thread's registration
 * @pn: its preempt notifier, on the thread's own list.
 * @pool: the domain it counts in (a reference), or NULL.
 * @counted: it counts in @pool->running.
 * @blocked: it stopped counting because it blocked; counts again when it
 *           runs.
 * @free_node: on cport_pool_dead once the thread is dead.
 * @rcu: frees it once the dead thread's last notifier walk is over.
 *
 * Only the thread itself reads and writes the fields, from its ioctls
 * (with preemption off) and its notifier callbacks.
 */
struct cport_pool_thread {
	struct preempt_notifier	pn;
	struct cport_pool	*pool;
	bool			counted;
	bool			blocked;
	struct llist_node	free_node;
	struct rcu_head		rcu;
};

static LLIST_HEAD(cport_pool_wakes);
static LLIST_HEAD(cport_pool_dead);

/* Context: an RCU callback (softirq). */
static void cport_pool_thread_free_rcu(struct rcu_head *rcu)
{
	struct cport_pool_thread *t =
		container_of(rcu, struct cport_pool_thread, rcu);

	if (t->pool)
		cport_pool_put(t->pool);
	kfree(t);
	/* Module text runs until we return: exit waits (rcu_barrier()). */
	module_put(THIS_MODULE);
}

/*
 * The deferred part of the notifiers: wake-ups for freed slots, and
 * freeing dead threads' registrations.
 * Context: hard IRQ (irq_work).
 */
static void cport_pool_work_fn(struct irq_work *work)
{
	struct cport_pool_thread *t, *tt;
	struct cport_pool *pool, *tmp;
	struct llist_node *list;

	list = llist_del_all(&cport_pool_wakes);
	/* _safe: once ->wake_pending is 0 the node may be added again. */
	llist_for_each_entry_safe(pool, tmp, list, wake_node) {
		cport_pool_kick(pool, atomic_xchg(&pool->wake_pending, 0));
		cport_pool_put(pool);
	}
	list = llist_del_all(&cport_pool_dead);
	/* Its thread may still be walking its notifiers on another CPU. */
	llist_for_each_entry_safe(t, tt, list, free_node)
		call_rcu(&t->rcu, cport_pool_thread_free_rcu);
}

static DEFINE_IRQ_WORK(cport_pool_work, cport_pool_work_fn);

/*
 * A slot of @pool freed under the runqueue lock: wake a waiter later.
 * Context: IRQs off, runqueue lock held; no wake-ups, no allocation.
 */
static void cport_pool_wake_later(struct cport_pool *pool)
{
	if (atomic_inc_return(&pool->wake_pending) != 1)
		return;
	/* The thread's reference keeps @pool alive here. */
	refcount_inc(&pool->ref);
	llist_add(&pool->wake_node, &cport_pool_wakes);
	irq_work_queue(&cport_pool_work);
}

/* Context: the thread's own switch-out: IRQs off, runqueue lock held. */
static void cport_pool_sched_out(struct preempt_notifier *pn,
				 struct task_struct *next)
{
	struct cport_pool_thread *t =
		container_of(pn, struct cport_pool_thread, pn);
	unsigned int state = READ_ONCE(current->__state);

	/* Preempted, not blocking: it still runs. */
	if (state == TASK_RUNNING)
		return;
	if (t->counted) {
		t->counted = false;
		t->blocked = state != TASK_DEAD;
		trace_cport_pool_block(atomic_dec_return(&t->pool->running));
		cport_pool_wake_later(t->pool);
	}
	if (state == TASK_DEAD) {
		/* Never walked again after this switch: free it later. */
		llist_add(&t->free_node, &cport_pool_dead);
		irq_work_queue(&cport_pool_work);
	}
}

/* Context: the thread's own switch-in, preemption off. */
static void cport_pool_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct cport_pool_thread *t =
		container_of(pn, struct cport_pool_thread, pn);

	if (t->blocked) {
		t->blocked = false;
		t->counted = true;
		trace_cport_pool_wake(atomic_inc_return(&t->pool->running));
	}
}

static struct preempt_ops cport_pool_ops = {
	.sched_in	= cport_pool_sched_in,
	.sched_out	= cport_pool_sched_out,
};

/*
 * The calling thread's registration, registered now if it has none.
 * Context: process context, the thread itself.
 */
static struct cport_pool_thread *cport_pool_thread_get(bool create)
{
	struct cport_pool_thread *t;
	struct preempt_notifier *pn;

	/* Only this thread changes its list: no lock. */
	hlist_for_each_entry(pn, &current->preempt_notifiers, link)
		if (pn->ops == &cport_pool_ops)
			return container_of(pn, struct cport_pool_thread, pn);
	if (!create)
		return NULL;
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	preempt_notifier_init(&t->pn, &cport_pool_ops);
	/* The ops are module text: the registration pins the module. */
	__module_get(THIS_MODULE);
	preempt_disable();
	preempt_notifier_register(&t->pn);
	preempt_enable();
	return t;
}

/*
 * The thread stops counting. If it counts in @pool and @keep is set, its
 * slot is returned to the caller (true) instead of being given back.
 * Context: process context, the thread itself.
 */
static bool cport_pool_thread_leave(struct cport_pool_thread *t,
				    struct cport_pool *pool, bool keep)
{
	bool counted;

	preempt_disable();
	counted = t->counted;
	t->counted = false;
	preempt_enable();
	if (!counted)
		return false;
	if (keep && t->pool == pool)
		return true;
	cport_pool_slot_put(t->pool);
	return false;
}

/* The thread took CQEs with a slot of @pool: it counts there. */
static void cport_pool_thread_count(struct cport_pool_thread *t,
				    struct cport_pool *pool)
{
	struct cport_pool *old = NULL;

	if (t->pool != pool)
		refcount_inc(&pool->ref);
	preempt_disable();
	if (t->pool != pool) {
		old = t->pool;
		t->pool = pool;
	}
	t->counted = true;
	preempt_enable();
	if (old)
		cport_pool_put(old);
}

/* Nothing to reap: a blocked or dead thread gives its slot back itself. */
static bool cport_pool_reap(struct cport_pool *pool)
{
	return false;
}

/**
 * cport_pool_init() - enable the notifiers
 *
 * Context: module init.
 * Return: 0.
 */
int cport_pool_init(void)
{
	preempt_notifier_inc();
	return 0;
}

/**
 * cport_pool_exit() - wait for the deferred work, disable the notifiers
 *
 * No thread is registered any more: each held a module reference.
 *
 * Context: module exit.
 */
void cport_pool_exit(void)
{
	irq_work_sync(&cport_pool_work);
	/* The registrations it handed to RCU: their callback is ours. */
	rcu_barrier();
	preempt_notifier_dec();
}

#else /* !CONFIG_PREEMPT_NOTIFIERS */

/**
 * struct cport_pool_thread - a thread counted in a domain (fallback)
 * @node: on ->threads, under ->lock.
 * @pid: the thread, referenced.
 */
struct cport_pool_thread {
	struct list_head	node;
	struct pid		*pid;
};

#define CPORT_POOL_REAP_MS	20

static struct cport_pool_thread *cport_pool_thread_get(bool create)
{
	struct cport_pool_thread *t;

	if (!create)
		return NULL;
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	return t ? t : ERR_PTR(-ENOMEM);
}

static void cport_pool_thread_free(struct cport_pool_thread *t)
{
	put_pid(t->pid);
	kfree(t);
}

/* The caller's entry in @pool, unlinked, or NULL. */
static struct cport_pool_thread *cport_pool_thread_unlink(struct cport_pool *pool)
{
	struct cport_pool_thread *t, *found = NULL;
	struct pid *pid = task_pid(current);

	spin_lock_irq(&pool->lock);
	list_for_each_entry(t, &pool->threads, node) {
		if (t->pid == pid) {
			list_del(&t->node);
			found = t;
			break;
		}
	}
	spin_unlock_irq(&pool->lock);
	return found;
}

static bool cport_pool_thread_leave(struct cport_pool_thread *unused,
				    struct cport_pool *pool, bool keep)
{
	struct cport_pool_thread *t = cport_pool_thread_unlink(pool);

	if (!t)
		return false;
	cport_pool_thread_free(t);
	if (keep)
		return true;
	cport_pool_slot_put(pool);
	return false;
}

static void cport_pool_thread_count(struct cport_pool_thread *t,
				    struct cport_pool *pool)
{
	t->pid = get_pid(task_pid(current));
	spin_lock_irq(&pool->lock);
	list_add(&t->node, &pool->threads);
	spin_unlock_irq(&pool->lock);
}

/*
 * Take back the slots of counted threads that exited. Return: whether
 * any was. Context: process context.
 */
static bool cport_pool_reap(struct cport_pool *pool)
{
	struct cport_pool_thread *t, *tmp;
	LIST_HEAD(dead);
	int n = 0;

	spin_lock_irq(&pool->lock);
	rcu_read_lock();
	list_for_each_entry_safe(t, tmp, &pool->threads, node) {
		if (!pid_task(t->pid, PIDTYPE_PID)) {
			list_move(&t->node, &dead);
			n++;
		}
	}
	rcu_read_unlock();
	spin_unlock_irq(&pool->lock);
	list_for_each_entry_safe(t, tmp, &dead, node)
		cport_pool_thread_free(t);
	if (n) {
		atomic_sub(n, &pool->running);
		cport_pool_kick(pool, n);
	}
	return n;
}

int cport_pool_init(void)
{
	return 0;
}

void cport_pool_exit(void)
{
}

#endif /* CONFIG_PREEMPT_NOTIFIERS */

/* Context: any, hard IRQ included. */
static void cport_pool_put(struct cport_pool *pool)
{
	if (!refcount_dec_and_test(&pool->ref))
		return;
#ifndef CONFIG_PREEMPT_NOTIFIERS
	{
		struct cport_pool_thread *t, *tmp;

		list_for_each_entry_safe(t, tmp, &pool->threads, node)
			cport_pool_thread_free(t);
	}
#endif
	kfree(pool);
}

/**
 * cport_pool_create() - give a port being set up its domain
 * @port: the port.
 * @concurrency: the limit, 1 to CPORT_CONCURRENCY_MAX.
 *
 * Context: process context, ->submit_lock held.
 * Return: 0 or -ENOMEM.
 */
int cport_pool_create(struct cport_port *port, u32 concurrency)
{
	struct cport_pool *pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);

	if (!pool)
		return -ENOMEM;
	refcount_set(&pool->ref, 1);
	pool->limit = concurrency;
	spin_lock_init(&pool->lock);
	pool->port = port;
#ifndef CONFIG_PREEMPT_NOTIFIERS
	INIT_LIST_HEAD(&pool->threads);
#endif
	port->pool = pool;
	return 0;
}

/**
 * cport_pool_release() - detach a port from its domain
 * @port: the port, being released (or its setup failing).
 *
 * Threads may still count in the domain; deferred wake-ups find no port
 * once this returns.
 *
 * Context: process context.
 */
void cport_pool_release(struct cport_port *port)
{
	struct cport_pool *pool = port->pool;

	if (!pool)
		return;
	spin_lock_irq(&pool->lock);
	pool->port = NULL;
	spin_unlock_irq(&pool->lock);
	port->pool = NULL;
	cport_pool_put(pool);
}

/* CQEs copied per chunk through the stack. */
#define CPORT_POOL_CHUNK	8

/*
 * Copy @n CQEs from index @head of the CQ to @ucqes. A slot may be
 * rewritten meanwhile if another consumer took it and the kernel reused
 * it: the caller's compare-and-swap then fails and the copy is dropped,
 * so the racy reads are marked as such.
 * Context: process context, may fault.
 * Return: 0 or -EFAULT.
 */
static int cport_pool_copy(struct cport_port *port,
			   struct cport_cqe __user *ucqes, u32 head, u32 n)
{
	struct cport_cqe buf[CPORT_POOL_CHUNK];
	u32 mask = port->cq_entries - 1;
	u32 i, done, k;

	for (done = 0; done < n; done += k) {
		k = min_t(u32, n - done, CPORT_POOL_CHUNK);
		for (i = 0; i < k; i++) {
			const struct cport_cqe *c =
				&port->cq->cqes[(head + done + i) & mask];

			buf[i].user_data = READ_ONCE(c->user_data);
			buf[i].res = READ_ONCE(c->res);
			buf[i].flags = READ_ONCE(c->flags);
		}
		if (copy_to_user(ucqes + done, buf, k * sizeof(*buf)))
			return -EFAULT;
	}
	return 0;
}

/*
 * Take 1 to @nr CQEs from the CQ head, as the library's multi-consumer
 * reaping does: copy them out, then claim them by moving the head with a
 * compare-and-swap; retry from the new head if another consumer moved it.
 * Nothing is taken when the copy faults. No lock is held: the copy may
 * sleep.
 * Context: process context.
 * Return: CQEs taken, 0 if none is ready, -EFAULT, or -EIO when the shared
 * head is junk.
 */
static int cport_pool_take(struct cport_port *port,
			   struct cport_cqe __user *ucqes, u32 nr)
{
	struct cport_cq_ring *cq = port->cq;
	u32 head, tail, ready, n;

	/* Pairs with the release of other consumers' head updates. */
	head = smp_load_acquire(&cq->head);
	for (;;) {
		/* Pairs with the store-release in __cport_cqe_post(). */
		tail = smp_load_acquire(&cq->tail);
		/* The kernel's own tail bounds a scribbled shared one. */
		if (tail - head > READ_ONCE(port->cq_tail) - head)
			tail = READ_ONCE(port->cq_tail);
		ready = tail - head;
		if (!ready)
			return 0;
		if (ready > port->cq_entries) {
			/* As above: others took CQEs, or the head is junk. */
			u32 now = smp_load_acquire(&cq->head);

			if (now == head)
				return -EIO;
			head = now;
			continue;
		}
		n = min(ready, nr);
		if (cport_pool_copy(port, ucqes, head, n))
			return -EFAULT;
		/*
		 * Fully ordered: the copies are complete before the slots go
		 * back to the kernel (pairs with the load-acquire of the head
		 * in __cport_cq_free()); on failure @head is the new head.
		 */
		if (try_cmpxchg(&cq->head, &head, head + n))
			return n;
	}
}

/*
 * Wake function of GETQ waiters: accept the wake-up only with a CQE ready
 * and a slot reserved for the waiter (hand-off). Called by __wake_up()
 * with ->cq_wait.lock held.
 * Context: any, hard IRQ included.
 * Return: 1 if the waiter was handed a slot (and dequeued), else 0.
 */
static int cport_pool_wake_function(struct wait_queue_entry *wqe,
				    unsigned int mode, int sync, void *key)
{
	struct cport_pool_waiter *w =
		container_of(wqe, struct cport_pool_waiter, wqe);

	/* Work for a thread of one process (task.c): it stays queued. */
	if (key == CPORT_TASK_WAKE_KEY)
		return cport_task_wake_match(w->port, wqe->private) ?
		       default_wake_function(wqe, mode, sync, key) : 0;
	if (w->slot || !cport_cq_ready(w->port) ||
	    !cport_pool_slot_get(w->pool))
		return 0;
	w->slot = true;
	list_del_init(&wqe->entry);
	atomic_dec(&w->pool->waiting);
	default_wake_function(wqe, mode, sync, key);
	return 1;
}

/*
 * Queue @w at the head (newest first) unless it is queued, and get ready
 * to sleep. Return: true if a slot was handed to @w instead (not queued).
 */
static bool cport_pool_queue(struct cport_pool_waiter *w)
{
	struct wait_queue_head *wq = &w->port->cq_wait;

	spin_lock_irq(&wq->lock);
	/*
	 * A waker handed us a slot (and dequeued us) since we last looked:
	 * take it instead of queueing again with it, skipped by every waker
	 * as one that has a slot. A wake-up that does not dequeue (task
	 * items, task.c) lets us run on while we are still queued.
	 */
	if (w->slot) {
		w->slot = false;
		spin_unlock_irq(&wq->lock);
		return true;
	}
	if (list_empty(&w->wqe.entry)) {
		__add_wait_queue(wq, &w->wqe);
		atomic_inc(&w->pool->waiting);
	}
	/* Full barrier: pairs with the smp_mb()s before the wake-ups. */
	set_current_state(TASK_INTERRUPTIBLE);
	spin_unlock_irq(&wq->lock);
	return false;
}

/* Leave the queue. Return: whether a waker had handed us a slot. */
static bool cport_pool_dequeue(struct cport_pool_waiter *w)
{
	struct wait_queue_head *wq = &w->port->cq_wait;
	bool slot;

	spin_lock_irq(&wq->lock);
	if (!list_empty(&w->wqe.entry)) {
		list_del_init(&w->wqe.entry);
		atomic_dec(&w->pool->waiting);
	}
	slot = w->slot;
	w->slot = false;
	spin_unlock_irq(&wq->lock);
	return slot;
}

/*
 * Take the slot a waker handed us (and dequeued us for), if any.
 * Context: process context.
 */
static bool cport_pool_handed(struct cport_pool_waiter *w)
{
	struct wait_queue_head *wq = &w->port->cq_wait;
	bool slot;

	spin_lock_irq(&wq->lock);
	slot = w->slot;
	w->slot = false;
	spin_unlock_irq(&wq->lock);
	return slot;
}

/* A CQE is ready and a slot was reserved for it. */
static bool cport_pool_admit(struct cport_port *port, struct cport_pool *pool)
{
	return cport_cq_ready(port) && cport_pool_slot_get(pool);
}

/*
 * Wait for a CQE and a slot, and take CQEs. @slot: the caller holds a
 * slot already.
 * Context: process context, sleeps.
 * Return: CQEs taken (the slot is kept), or -errno (no slot kept).
 */
static int cport_pool_wait_take(struct cport_port *port,
				struct cport_pool *pool,
				struct cport_cqe __user *ucqes, u32 nr,
				bool slot, bool timed, u64 timeout_ns)
{
	struct cport_pool_waiter w = {
		.port	= port,
		.pool	= pool,
	};
	bool timed_out = false;
	ktime_t expires = 0, wake;
	u32 task_seq;
	int ret;

	init_waitqueue_func_entry(&w.wqe, cport_pool_wake_function);
	INIT_LIST_HEAD(&w.wqe.entry);	/* empty = not queued */
	w.wqe.private = current;
	w.wqe.flags = WQ_FLAG_EXCLUSIVE;
	if (timed && timeout_ns)
		expires = ktime_add_safe(ktime_get(),
					 ns_to_ktime(min_t(u64, timeout_ns,
							   KTIME_MAX)));
	timed_out = timed && !timeout_ns;

	for (;;) {
		/* Work of this process's ops that must run here (task.c). */
		task_seq = cport_task_seq(port);
		cport_task_run(port);
		if (!slot)
			slot = cport_pool_admit(port, pool);
		if (slot) {
			ret = cport_pool_take(port, ucqes, nr);
			if (ret)
				break;
			/* Another consumer was faster. */
			cport_pool_slot_put(pool);
			slot = false;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (timed_out) {
			ret = -ETIME;
			break;
		}
		if (cport_pool_queue(&w)) {
			slot = true;
			continue;
		}
		/* Re-check after queueing: a post or a freed slot raced us. */
		if (cport_pool_admit(port, pool)) {
			__set_current_state(TASK_RUNNING);
			slot = true;
			if (cport_pool_dequeue(&w))
				cport_pool_slot_put(pool);
			continue;
		}
		/* Ordered by set_current_state(): see cport_task_queue(). */
		/*
		 * Going round again without sleeping: a slot a waker handed
		 * us meanwhile is ours now, or we would queue again holding
		 * it, skipped by every waker.
		 */
		if (cport_task_seq(port) != task_seq) {
			__set_current_state(TASK_RUNNING);
			slot = cport_pool_handed(&w);
			continue;
		}
		wake = expires;
		if (cport_cq_ready(port) && cport_pool_reap(pool)) {
			__set_current_state(TASK_RUNNING);
			slot = cport_pool_handed(&w);
			continue;
		}
#ifndef CONFIG_PREEMPT_NOTIFIERS
		/*
		 * No slot free: a counted thread may have exited, and no
		 * wake-up says so. Look again soon.
		 */
		if (atomic_read(&pool->running) >= (int)pool->limit) {
			ktime_t soon = ktime_add_ms(ktime_get(),
						    CPORT_POOL_REAP_MS);

			if (!timed || ktime_before(soon, wake))
				wake = soon;
		}
#endif
		if (wake) {
			if (!schedule_hrtimeout(&wake, HRTIMER_MODE_ABS) &&
			    timed && wake == expires)
				timed_out = true;
		} else {
			schedule();
		}
		__set_current_state(TASK_RUNNING);
		/* Woken by a waker that handed us a slot: we were dequeued. */
		slot = cport_pool_handed(&w);
	}
	/* A slot handed to us on our way out is not ours: pass it on. */
	if (cport_pool_dequeue(&w))
		cport_pool_slot_put(pool);
	/* Work offered to us while we were queued (task.c) is ours. */
	cport_task_run(port);
	if (ret < 0 && slot)
		cport_pool_slot_put(pool);
	return ret;
}

/* CPORT_GETQ_LEAVE: stop counting as running. */
static long cport_pool_leave(struct cport_pool *pool)
{
	struct cport_pool_thread *t = cport_pool_thread_get(false);

#ifdef CONFIG_PREEMPT_NOTIFIERS
	if (!t)
		return 0;
#endif
	cport_pool_thread_leave(t, pool, false);
	return 0;
}

static int cport_getq_check(const struct cport_getq *q)
{
	if ((q->flags & ~CPORT_GETQ_FLAGS) || q->resv0 || q->resv1 ||
	    q->resv[0] || q->resv[1])
		return -EINVAL;
	if (!(q->flags & CPORT_GETQ_TIMEOUT) && q->timeout_ns)
		return -EINVAL;
	if (q->flags & CPORT_GETQ_LEAVE)
		return (q->cqes || q->nr) ? -EINVAL : 0;
	return (!q->nr || q->nr > CPORT_GETQ_MAX) ? -EINVAL : 0;
}

/**
 * cport_ioctl_getq() - CPORT_IOC_GETQ: leave, wait, take CQEs, run
 * @port: the port.
 * @argp: user pointer to struct cport_getq.
 *
 * Context: process context, sleeps.
 * Return: CQEs taken (>= 1); 0 for CPORT_GETQ_LEAVE; -EFAULT (nothing
 * taken), -EINVAL, -EBADFD (not set up), -ETIME, -EINTR, -ENOMEM, -EIO
 * (the shared CQ head is junk).
 */
long cport_ioctl_getq(struct cport_port *port, void __user *argp)
{
	struct cport_pool_thread *t;
	struct cport_pool *pool;
	struct cport_getq q;
	bool slot;
	int ret;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	ret = cport_getq_check(&q);
	if (ret)
		return ret;
	if (!cport_port_ready(port))
		return -EBADFD;
	pool = port->pool;
	if (q.flags & CPORT_GETQ_LEAVE)
		return cport_pool_leave(pool);

	t = cport_pool_thread_get(true);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Still counted here: the slot goes on to the next CQEs. */
	slot = cport_pool_thread_leave(t, pool, true);
	cport_task_note_enter(port);
	ret = cport_pool_wait_take(port, pool, u64_to_user_ptr(q.cqes), q.nr,
				   slot, q.flags & CPORT_GETQ_TIMEOUT,
				   q.timeout_ns);
	if (ret > 0) {
		cport_pool_thread_count(t, pool);
		/* Slots freed: events that found the CQ full may go in. */
		cport_cq_flush_pending(port);
	}
#ifndef CONFIG_PREEMPT_NOTIFIERS
	else
		kfree(t);
#endif
	return ret;
}

/**
 * cport_pool_show_fdinfo() - the pool lines of fdinfo
 * @m: the seq_file.
 * @port: a set-up port.
 *
 * Context: process context.
 */
void cport_pool_show_fdinfo(struct seq_file *m, struct cport_port *port)
{
	struct cport_pool *pool = port->pool;

	seq_printf(m, "pool_concurrency:\t%u\n", pool->limit);
	seq_printf(m, "pool_running:\t%d\n", atomic_read(&pool->running));
	seq_printf(m, "pool_waiting:\t%d\n", atomic_read(&pool->waiting));
	/* 1: a thread that blocks lends its slot (preempt notifiers). */
	seq_printf(m, "pool_block_release:\t%d\n",
		   IS_ENABLED(CONFIG_PREEMPT_NOTIFIERS));
}
