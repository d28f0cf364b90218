// SPDX-License-Identifier: GPL-2.0
/*
 * cport: deliberate bugs for testing the debug kernel's checkers.
 *
 * Compiled only by `make check-debug CPORT_INJECT=<kind>` (see inject.h and
 * Documentation/testing.rst); a module with this file in it must never be
 * shipped. The first CPORT_IOC_POST after loading plants one bug, once, so
 * that one clear report comes out of it:
 *
 *   uaf      reads a freed object: KASAN reports a use-after-free.
 *   lockdep  takes ->cq_lock and a wait queue's lock in both orders: lockdep
 *            reports a possible circular locking dependency.
 *   leak     allocates an object and forgets it: kmemleak reports it as
 *            unreferenced in the scan after the module is unloaded.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/atomic.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "cport_priv.h"
#include "inject.h"

static atomic_t cport_inject_done = ATOMIC_INIT(0);

#if defined(CPORT_INJECT_UAF)

#define CPORT_INJECT_KIND	"use-after-free"

static noinline void cport_inject_bug(struct cport_port *port)
{
	u64 *copy;

	copy = kmalloc(sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return;
	*copy = port->posted;
	kfree(copy);
	/* The bug: a read through the freed pointer. */
	pr_info("cport: inject: read %llu from a freed object\n",
		READ_ONCE(*copy));
}

#elif defined(CPORT_INJECT_LOCKDEP)

#define CPORT_INJECT_KIND	"lock-order inversion"

static noinline void cport_inject_bug(struct cport_port *port)
{
	unsigned long flags;

	/*
	 * The real order: ->cq_lock, then a wait queue's lock (waking under
	 * ->cq_lock, cq.c). Take it once that way, so that lockdep knows it
	 * even if no test woke a poller yet...
	 */
	spin_lock_irqsave(&port->cq_lock, flags);
	spin_lock(&port->poll_wait.lock);
	spin_unlock(&port->poll_wait.lock);
	spin_unlock_irqrestore(&port->cq_lock, flags);

	/* ...then the bug: the other way round. */
	spin_lock_irqsave(&port->poll_wait.lock, flags);
	spin_lock(&port->cq_lock);
	spin_unlock(&port->cq_lock);
	spin_unlock_irqrestore(&port->poll_wait.lock, flags);
}

#elif defined(CPORT_INJECT_LEAK)

#define CPORT_INJECT_KIND	"memory leak"

static noinline void cport_inject_bug(struct cport_port *port)
{
	char *leak;

	/* The bug: nobody keeps the pointer. The text shows in the report. */
	leak = kzalloc(64, GFP_KERNEL);
	if (leak)
		strscpy(leak, "cport-inject-leak", 64);
}

#else
#error "CPORT_INJECT needs one of CPORT_INJECT_UAF, _LOCKDEP or _LEAK"
#endif

/**
 * cport_inject_post() - plant the injected bug on the first post
 * @port: the port CPORT_IOC_POST was called on.
 *
 * Context: process context, may sleep.
 */
void cport_inject_post(struct cport_port *port)
{
	if (atomic_xchg(&cport_inject_done, 1))
		return;
	pr_info("cport: inject: planting a %s (CPORT_INJECT)\n",
		CPORT_INJECT_KIND);
	cport_inject_bug(port);
}
