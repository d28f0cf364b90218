// SPDX-License-Identifier: GPL-2.0
/*
 * cport: event flag clusters (OpenVMS event flags, done in Linux).
 *
 * A cluster is 64 flags and a list of waiters under one spinlock. Setting a
 * flag checks the waiters in the order they came and releases every one
 * whose condition the change made true; a consuming waiter clears the
 * flags that satisfied it before the next consumer is looked at, so two
 * consumers can never take the same set flag. All of that happens under ->lock, in
 * whatever context the setter runs in (hard IRQ included): no sleeping, no
 * allocation. A waiter's ->wake decides what release means: wake a thread
 * (ioctl waits), queue a CQE (CPORT_OP_FLAG_WAIT, flag_ops.c) or wake poll
 * waiters (the poll arm).
 *
 * The local cluster's ->state is the word of the port's read-only flag
 * page, so user space reads it without a system call; it is only stored
 * under ->lock, with one 64-bit store.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/bitops.h>
#include <linux/slab.h>

#include "flags.h"
#include "trace.h"

/**
 * cport_efc_init() - initialise a cluster
 * @efc: the cluster, zeroed.
 * @state: where its flags live, or NULL for ->word.
 *
 * The caller holds the one reference.
 *
 * Context: any.
 */
void cport_efc_init(struct cport_efc *efc, u64 *state)
{
	spin_lock_init(&efc->lock);
	INIT_LIST_HEAD(&efc->waiters);
	efc->state = state ? state : &efc->word;
	refcount_set(&efc->refs, 1);
}

/**
 * cport_efc_alloc() - a new common cluster, all flags clear
 *
 * Context: process context.
 * Return: the cluster with one reference, or NULL.
 */
struct cport_efc *cport_efc_alloc(void)
{
	struct cport_efc *efc = kzalloc(sizeof(*efc), GFP_KERNEL_ACCOUNT);

	if (efc)
		cport_efc_init(efc, NULL);
	return efc;
}

/**
 * cport_efc_put() - drop a reference to a common cluster
 * @efc: the cluster; the last reference frees it. The name table and the
 *       local cluster's owner drop theirs in process context; a waiter may
 *       drop the last one of an unnamed common cluster in any context.
 *
 * Context: any.
 */
void cport_efc_put(struct cport_efc *efc)
{
	if (refcount_dec_and_test(&efc->refs)) {
		WARN_ON_ONCE(!list_empty(&efc->waiters) || efc->named);
		if (efc->state == &efc->word)
			kfree(efc);
	}
}

/*
 * ->lock held: store the flags. One 64-bit store, and a release: pairs
 * with the load-acquire of a user reading the flag page, so that what it
 * saw happen before a change (a CQE posted) is visible with it.
 */
static void __cport_efc_store(struct cport_efc *efc, u64 state)
{
	lockdep_assert_held(&efc->lock);
	/* Pairs with the user's load-acquire of the flag page. */
	smp_store_release(efc->state, state);
}

/*
 * ->lock held, a flag was just set: release the waiters the change
 * satisfies. Non-consuming waiters (and the poll arm) see the cluster as
 * the change left it, even where an older consumer takes a flag of theirs
 * in the same step; consumers, oldest first, see it minus what the older
 * ones took.
 */
static void __cport_efc_check(struct cport_efc *efc)
{
	u64 seen = *efc->state, state = seen;
	struct cport_efw *w, *tmp;

	lockdep_assert_held(&efc->lock);
	list_for_each_entry_safe(w, tmp, &efc->waiters, node) {
		bool consume = w->flags & CPORT_FLAG_WAIT_CONSUME;
		u64 view = consume ? state : seen;

		if (!cport_efw_met(w, view))
			continue;
		if (w->persistent) {
			w->wake(w);
			continue;
		}
		w->got = view & w->mask;
		if (consume) {
			state &= ~w->got;
			__cport_efc_store(efc, state);
		}
		list_del_init(&w->node);
		trace_cport_flag_wake(efc, w->mask, w->got);
		w->wake(w);
	}
}

/**
 * cport_efc_change() - set or clear one flag
 * @efc: the cluster.
 * @bit: the flag, < 64.
 * @set: set, else clear.
 *
 * Setting releases the waiters the change satisfies.
 *
 * Context: any, hard IRQ included; never sleeps.
 * Return: the cluster before the change.
 */
u64 cport_efc_change(struct cport_efc *efc, unsigned int bit, bool set)
{
	unsigned long flags;
	u64 old;

	spin_lock_irqsave(&efc->lock, flags);
	old = *efc->state;
	trace_cport_flag(efc, bit, set, old);
	if (set && !(old & BIT_ULL(bit))) {
		__cport_efc_store(efc, old | BIT_ULL(bit));
		__cport_efc_check(efc);
	} else if (!set && (old & BIT_ULL(bit))) {
		__cport_efc_store(efc, old & ~BIT_ULL(bit));
	}
	spin_unlock_irqrestore(&efc->lock, flags);
	return old;
}

/**
 * cport_efc_set() - set one flag (OpenVMS $SETEF)
 * @efc: the cluster.
 * @bit: the flag, < 64.
 *
 * Context: any, hard IRQ included; never sleeps, never allocates.
 * Return: the flag's previous state, 0 or 1.
 */
int cport_efc_set(struct cport_efc *efc, unsigned int bit)
{
	return !!(cport_efc_change(efc, bit, true) & BIT_ULL(bit));
}

/**
 * cport_efc_clear() - clear one flag (OpenVMS $CLREF)
 * @efc: the cluster.
 * @bit: the flag, < 64.
 *
 * Context: any, hard IRQ included; never sleeps, never allocates.
 * Return: the flag's previous state, 0 or 1.
 */
int cport_efc_clear(struct cport_efc *efc, unsigned int bit)
{
	return !!(cport_efc_change(efc, bit, false) & BIT_ULL(bit));
}

/**
 * cport_efc_read() - the flags of a cluster
 * @efc: the cluster.
 *
 * Context: any.
 * Return: the 64 flags.
 */
u64 cport_efc_read(struct cport_efc *efc)
{
	return READ_ONCE(*efc->state);
}

/**
 * cport_efw_start() - check a condition, and wait for it if it fails
 * @efc: the cluster.
 * @w: the waiter, its ->mask, ->flags and ->wake set.
 *
 * If the condition holds, ->got is set (and consumed) and @w is not queued.
 *
 * Context: any; takes ->lock with irqsave.
 * Return: true if the condition held at once.
 */
bool cport_efw_start(struct cport_efc *efc, struct cport_efw *w)
{
	unsigned long flags;
	bool met;
	u64 state;

	spin_lock_irqsave(&efc->lock, flags);
	state = *efc->state;
	met = cport_efw_met(w, state);
	if (met && !w->persistent) {
		w->got = state & w->mask;
		if (w->flags & CPORT_FLAG_WAIT_CONSUME)
			__cport_efc_store(efc, state & ~w->got);
	} else {
		w->got = 0;
		list_add_tail(&w->node, &efc->waiters);
		trace_cport_flag_wait(efc, w->mask, 0);
	}
	spin_unlock_irqrestore(&efc->lock, flags);
	return met && !w->persistent;
}

/**
 * __cport_efw_stop() - stop waiting, ->lock held
 * @efc: the cluster.
 * @w: the waiter.
 *
 * Return: true if @w was still waiting (it is not any more); false if it
 * had been released (->got says by what).
 */
bool __cport_efw_stop(struct cport_efc *efc, struct cport_efw *w)
{
	lockdep_assert_held(&efc->lock);
	if (list_empty(&w->node))
		return false;
	list_del_init(&w->node);
	return true;
}

/**
 * cport_efw_stop() - stop waiting
 * @efc: the cluster.
 * @w: the waiter.
 *
 * Context: any.
 * Return: see __cport_efw_stop().
 */
bool cport_efw_stop(struct cport_efc *efc, struct cport_efw *w)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&efc->lock, flags);
	ret = __cport_efw_stop(efc, w);
	spin_unlock_irqrestore(&efc->lock, flags);
	return ret;
}
