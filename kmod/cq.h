/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_CQ_H
#define _CPORT_CQ_H

#include <linux/lockdep.h>

#include "cport_priv.h"

void cport_defer_kick(struct cport_port *port);

/*
 * ->cq_lock held: @nr CQ reservations were used (terminal CQEs posted) or
 * given back. When only the deferred SQEs' (and their chains') are left,
 * nothing submitted before them is outstanding: a DRAIN may start
 * (drain.c).
 */
static inline void __cport_cq_release(struct cport_port *port, u32 nr)
{
	lockdep_assert_held(&port->cq_lock);
	port->cq_reserved -= nr;
	if (unlikely(port->defer_nr) && port->cq_reserved == port->defer_res)
		cport_defer_kick(port);
}

/* Inline completions of one submission batch, posted under one lock. */
#define CPORT_CQE_BATCH	32

struct cport_cqe_batch {
	unsigned int	nr;
	struct cport_cqe cqes[CPORT_CQE_BATCH];
	u32		ef[CPORT_CQE_BATCH];
};

/*
 * Number of CQEs the user has not consumed yet. A scribbled head may make
 * it anything; callers only use it to decide whether to stop waiting.
 * Context: any.
 */
static inline u32 cport_cq_ready(struct cport_port *port)
{
	/* Pairs with the user's store-release of the head after reaping. */
	return READ_ONCE(port->cq_tail) - smp_load_acquire(&port->cq->head);
}

u32 __cport_cq_free(struct cport_port *port);
void __cport_cqe_post(struct cport_port *port, u64 user_data, s32 res,
		      u32 flags);
void __cport_ef_fire(struct cport_port *port, u32 ef);

/*
 * ->cq_lock held: post a terminal CQE, then set the op's event flag
 * (CPORT_EF_*, 0: none), so that whoever sees the flag finds the CQE.
 * Context: any, hard IRQ included.
 */
static inline void __cport_cqe_post_ef(struct cport_port *port, u64 user_data,
				       s32 res, u32 ef)
{
	__cport_cqe_post(port, user_data, res, 0);
	if (unlikely(ef))
		__cport_ef_fire(port, ef);
}

u32 cport_cq_reserve(struct cport_port *port, u32 nr);
void cport_cq_unreserve(struct cport_port *port, u32 nr);
int cport_cq_post(struct cport_port *port, u64 user_data, s32 res, bool sync);
void __cport_cq_wake(struct cport_port *port, unsigned int nr, bool sync);

static inline void cport_cq_wake(struct cport_port *port, unsigned int nr)
{
	__cport_cq_wake(port, nr, false);
}

void cport_cq_flush_pending(struct cport_port *port);
void cport_cqe_batch_add(struct cport_port *port, struct cport_cqe_batch *b,
			 u64 user_data, s32 res, u32 ef);
void cport_cqe_batch_flush(struct cport_port *port, struct cport_cqe_batch *b);

#endif /* _CPORT_CQ_H */
