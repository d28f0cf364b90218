/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_KBUF_H
#define _CPORT_KBUF_H

#include <linux/mutex.h>
#include <linux/refcount.h>

#include "cport_priv.h"

struct cport_io;
struct iovec;

/**
 * struct cport_kbuf_group - a provided buffer ring registered with a port
 * @refs: one for the port while registered, one per op using the group.
 * @lock: serialises taking buffers: held from the look at the next entry
 *        to the decision whether the op used it.
 * @ring: the ring in the registering process's memory.
 * @mask: ring entries - 1.
 * @head: entries taken, the kernel's own count (the ring's copy is only
 *        informative).
 * @bgid: the group id.
 */
struct cport_kbuf_group {
	refcount_t			refs;
	struct mutex			lock;	/* taking buffers */
	struct cport_buf_ring __user	*ring;
	u32				mask;
	u32				head;
	u16				bgid;
};

/**
 * struct cport_kbuf - a buffer looked at, not yet taken
 * @addr: its user address.
 * @len: its length, at most MAX_RW_COUNT.
 * @bid: its id.
 */
struct cport_kbuf {
	void __user	*addr;
	u32		len;
	u16		bid;
};

int cport_kbuf_register(struct cport_port *port, u64 uarg, bool reg);
void cport_kbuf_free_all(struct cport_port *port);
struct cport_kbuf_group *cport_kbuf_group_get(struct cport_port *port,
					      u16 bgid);
void cport_kbuf_group_put(struct cport_kbuf_group *g);
int cport_kbuf_select(struct cport_io *io, struct iovec *iov, u16 *bid);
void cport_kbuf_done(struct cport_io *io, u16 bid, int ret);

#endif /* _CPORT_KBUF_H */
