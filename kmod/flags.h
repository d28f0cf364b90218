/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_FLAGS_H
#define _CPORT_FLAGS_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <uapi/cport.h>

#include "signal.h"

struct cport_efw;
struct user_namespace;

/*
 * An op's event flag (CPORT_SQE_F_EVENT_FLAG), as requests and deferred
 * completions carry it: 0 for none.
 */
#define CPORT_EF_VALID		BIT(31)
#define CPORT_EF_CLUSTER(ef)	(((ef) >> 6) & 0x3f)
#define CPORT_EF_BIT(ef)	((ef) & 63)
/*
 * Not a flag but a completion signal (CPORT_SQE_F_SIGNAL, signal.c), which
 * travels the same way: its id in the port's table.
 */
#define CPORT_EF_SIG		BIT(30)
#define CPORT_EF_SIG_MAX	(BIT(30) - 1)
#define CPORT_EF_SIG_ID(ef)	((ef) & CPORT_EF_SIG_MAX)

/*
 * The SQE's event flag or completion signal, or 0 if it has none or names
 * no possible flag.
 */
static inline u32 cport_sqe_ef(const struct cport_sqe *sqe)
{
	if (unlikely(sqe->flags & CPORT_SQE_F_SIGNAL))
		return cport_sqe_sig(sqe);
	if (!(sqe->flags & CPORT_SQE_F_EVENT_FLAG) ||
	    sqe->ef_cluster > CPORT_CLUSTER_MAX || sqe->ef_bit > 63 ||
	    sqe->opcode == CPORT_OP_FLAG_WAIT)
		return 0;
	return CPORT_EF_VALID | sqe->ef_cluster << 6 | sqe->ef_bit;
}

/**
 * struct cport_efc - an event flag cluster: 64 flags and their waiters
 * @lock: protects @state's changes and @waiters. Taken in any context,
 *        hard IRQ included, so always irqsave; nests inside ->cq_lock.
 * @state: the flags: the local cluster's word in the flag page, or @word.
 * @word: a common cluster's flags.
 * @waiters: struct cport_efw, in the order they started waiting.
 * @refs: the port (local) or each association, each waiter, and the name
 *        while it is registered (common, cluster.c).
 * @hnode: in the name table, while @named (cluster.c, its mutex).
 * @ns: user namespace of the name (a reference, while @named).
 * @uid: owner.
 * @cuid: creator.
 * @gid: owner's group.
 * @cgid: creator's group.
 * @mode: permission bits, like SysV IPC.
 * @nassoc: associations, under the name table's mutex.
 * @permanent: outlives its last association, until deleted.
 * @named: the name is registered.
 * @creator: real uid charged for it (max_clusters_per_user).
 * @name: NUL-terminated.
 */
struct cport_efc {
	spinlock_t		lock;	/* @state changes, @waiters */
	u64			*state;
	u64			word;
	struct list_head	waiters;
	refcount_t		refs;
	struct hlist_node	hnode;
	struct user_namespace	*ns;
	kuid_t			uid, cuid, creator;
	kgid_t			gid, cgid;
	umode_t			mode;
	unsigned int		nassoc;
	bool			permanent;
	bool			named;
	char			name[CPORT_CLUSTER_NAME_MAX + 1];
};

/**
 * struct cport_efw - a waiter for a flag condition
 * @node: on ->waiters while waiting, under ->lock; empty once released.
 * @mask: flags of the condition, not 0.
 * @flags: CPORT_FLAG_WAIT_ALL, CPORT_FLAG_WAIT_CONSUME.
 * @got: the flags that satisfied it, written under ->lock when released.
 * @persistent: stays queued when satisfied (poll arm): never consumes.
 * @wake: called under ->lock, any context, when the condition holds.
 */
struct cport_efw {
	struct list_head	node;
	u64			mask;
	u32			flags;
	u64			got;
	bool			persistent;
	void			(*wake)(struct cport_efw *w);
};

struct cport_efc *cport_efc_alloc(void);
void cport_efc_init(struct cport_efc *efc, u64 *state);
void cport_efc_put(struct cport_efc *efc);

static inline struct cport_efc *cport_efc_get(struct cport_efc *efc)
{
	refcount_inc(&efc->refs);
	return efc;
}

int cport_efc_set(struct cport_efc *efc, unsigned int bit);
int cport_efc_clear(struct cport_efc *efc, unsigned int bit);
u64 cport_efc_read(struct cport_efc *efc);
u64 cport_efc_change(struct cport_efc *efc, unsigned int bit, bool set);

/* Is @w's condition met by @state? */
static inline bool cport_efw_met(const struct cport_efw *w, u64 state)
{
	if (w->flags & CPORT_FLAG_WAIT_ALL)
		return (state & w->mask) == w->mask;
	return state & w->mask;
}

bool cport_efw_start(struct cport_efc *efc, struct cport_efw *w);
bool cport_efw_stop(struct cport_efc *efc, struct cport_efw *w);
bool __cport_efw_stop(struct cport_efc *efc, struct cport_efw *w);

#endif /* _CPORT_FLAGS_H */
