// SPDX-License-Identifier: GPL-2.0
/*
 * cport: provided buffer rings (CPORT_REGISTER_BUF_RING).
 *
 * A buffer group is a ring of user buffers in the user's memory: a struct
 * cport_buf_ring header, then the entries. The user adds entries and
 * advances ->tail; an op with CPORT_SQE_F_BUFFER_SELECT takes the entry at
 * the kernel's head when it has data for it, and names the buffer's id in
 * its CQE. The ring is read with copy_from_user() by the op's attempt,
 * which runs with the submitter's mm (the submitter, a worker that adopted
 * the mm, or a thread of the submitting process), so nothing is pinned and
 * nothing is charged: a ring costs the port a small struct.
 *
 * Taking a buffer is two steps under the group's mutex: cport_kbuf_peek()
 * looks at the next entry, the op tries its non-blocking receive into it,
 * and only if that moved data cport_kbuf_commit() takes it. A receive that
 * would block leaves the buffer in the ring, so an idle connection holds
 * none.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "io.h"
#include "kbuf.h"

/**
 * cport_kbuf_register() - CPORT_REGISTER_BUF_RING, CPORT_UNREGISTER_BUF_RING
 * @port: the port.
 * @uarg: user pointer to the struct cport_buf_reg.
 * @reg: register (else unregister).
 *
 * Context: process context, ->submit_lock held.
 * Return: 0, or -EFAULT, -EINVAL, -EEXIST, -ENOENT, -ENOMEM.
 */
int cport_kbuf_register(struct cport_port *port, u64 uarg, bool reg)
{
	struct cport_buf_reg r;
	struct cport_kbuf_group *g;
	size_t size;

	lockdep_assert_held(&port->submit_lock);
	if (copy_from_user(&r, u64_to_user_ptr(uarg), sizeof(r)))
		return -EFAULT;
	if (r.flags || r.resv[0] || r.resv[1] ||
	    r.bgid >= CPORT_BUF_GROUPS_MAX)
		return -EINVAL;
	if (!reg) {
		if (r.ring_addr || r.ring_entries)
			return -EINVAL;
		g = port->kbufs[r.bgid];
		if (!g)
			return -ENOENT;
		port->kbufs[r.bgid] = NULL;
		cport_kbuf_group_put(g);
		return 0;
	}

	if (!r.ring_entries || r.ring_entries > CPORT_BUF_RING_MAX_ENTRIES ||
	    !is_power_of_2(r.ring_entries) || !r.ring_addr ||
	    !IS_ALIGNED(r.ring_addr, 8))
		return -EINVAL;
	size = struct_size((struct cport_buf_ring *)NULL, bufs,
			   r.ring_entries);
	if (!access_ok(u64_to_user_ptr(r.ring_addr), size))
		return -EFAULT;
	if (port->kbufs[r.bgid])
		return -EEXIST;

	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	refcount_set(&g->refs, 1);
	mutex_init(&g->lock);
	g->ring = u64_to_user_ptr(r.ring_addr);
	g->mask = r.ring_entries - 1;
	g->bgid = r.bgid;
	/*
	 * Taking starts at the ring's head: usually 0, a fresh ring. Written
	 * back at once: the ring must be writable, the kernel updates head.
	 */
	if (get_user(g->head, &g->ring->head) ||
	    put_user(g->head, &g->ring->head)) {
		kfree(g);
		return -EFAULT;
	}
	port->kbufs[r.bgid] = g;
	return 0;
}

/**
 * cport_kbuf_free_all() - drop the groups of a released port
 * @port: the port; no op is left.
 *
 * Context: process context.
 */
void cport_kbuf_free_all(struct cport_port *port)
{
	unsigned int i;

	for (i = 0; i < CPORT_BUF_GROUPS_MAX; i++) {
		if (port->kbufs[i])
			cport_kbuf_group_put(port->kbufs[i]);
		port->kbufs[i] = NULL;
	}
}

/**
 * cport_kbuf_group_get() - the group an SQE names, for an op to hold
 * @port: the port.
 * @bgid: the SQE's buf_group.
 *
 * Context: process context, ->submit_lock held.
 * Return: a reference to the group, or NULL (-ENOENT: not registered).
 */
struct cport_kbuf_group *cport_kbuf_group_get(struct cport_port *port,
					      u16 bgid)
{
	struct cport_kbuf_group *g;

	lockdep_assert_held(&port->submit_lock);
	if (bgid >= CPORT_BUF_GROUPS_MAX)
		return NULL;
	g = port->kbufs[array_index_nospec(bgid, CPORT_BUF_GROUPS_MAX)];
	if (g)
		refcount_inc(&g->refs);
	return g;
}

/* Context: process context. */
void cport_kbuf_group_put(struct cport_kbuf_group *g)
{
	if (refcount_dec_and_test(&g->refs)) {
		mutex_destroy(&g->lock);
		kfree(g);
	}
}

/**
 * cport_kbuf_peek() - look at the next buffer of a group
 * @g: the group, ->lock held.
 * @buf: out: the buffer.
 *
 * The ring is the user's: a tail more than the ring's size ahead of the
 * head counts as empty.
 *
 * Context: process context, with the submitter's mm.
 * Return: 0, -ENOBUFS (empty), -EFAULT (the ring is not readable),
 * -EINVAL (an entry of length 0).
 */
static int cport_kbuf_peek(struct cport_kbuf_group *g, struct cport_kbuf *buf)
{
	struct cport_buf_entry e;
	u32 tail;

	lockdep_assert_held(&g->lock);
	if (get_user(tail, &g->ring->tail))
		return -EFAULT;
	if (tail == g->head || tail - g->head > g->mask + 1)
		return -ENOBUFS;
	/* The entry was written before the tail (the user's release). */
	smp_rmb();
	if (copy_from_user(&e, &g->ring->bufs[g->head & g->mask], sizeof(e)))
		return -EFAULT;
	if (!e.len)
		return -EINVAL;
	buf->addr = u64_to_user_ptr(e.addr);
	buf->len = min_t(u32, e.len, MAX_RW_COUNT);
	buf->bid = e.bid;
	return 0;
}

/**
 * cport_kbuf_commit() - take the buffer cport_kbuf_peek() looked at
 * @g: the group, ->lock held since the peek.
 *
 * Context: process context, with the submitter's mm.
 */
static void cport_kbuf_commit(struct cport_kbuf_group *g)
{
	lockdep_assert_held(&g->lock);
	g->head++;
	/* Informative for the user; a ring unmapped meanwhile is its loss. */
	if (put_user(g->head, &g->ring->head))
		return;
}

/**
 * cport_kbuf_select() - the next buffer of an op's group, to read into
 * @io: an op with a group (->kbg).
 * @iov: out: the part of the buffer to fill, at most ->sel_len bytes.
 * @bid: out: the buffer's id.
 *
 * On success the group's ->lock is held until cport_kbuf_done(), so that
 * the buffer is taken only if the op put data into it.
 *
 * Context: process context, with the submitter's mm.
 * Return: 0, or -ENOBUFS (the group is empty), -EFAULT, -EINVAL, with the
 * lock not held.
 */
int cport_kbuf_select(struct cport_io *io, struct iovec *iov, u16 *bid)
{
	struct cport_kbuf buf;
	int ret;

	mutex_lock(&io->kbg->lock);
	ret = cport_kbuf_peek(io->kbg, &buf);
	if (!ret) {
		iov->iov_base = buf.addr;
		iov->iov_len = io->sel_len ? min(io->sel_len, buf.len) :
					     buf.len;
		*bid = buf.bid;
		if (!access_ok(iov->iov_base, iov->iov_len))
			ret = -EFAULT;
	}
	if (ret)
		mutex_unlock(&io->kbg->lock);
	return ret;
}

/**
 * cport_kbuf_done() - end the use of a buffer from cport_kbuf_select()
 * @io: the op.
 * @bid: the buffer's id.
 * @ret: what the op's transfer into it returned: the buffer is taken,
 *       and named in the op's ->cqe_flags, only if it is > 0.
 *
 * Context: process context, with the submitter's mm; drops the lock.
 */
void cport_kbuf_done(struct cport_io *io, u16 bid, int ret)
{
	if (ret > 0) {
		cport_kbuf_commit(io->kbg);
		io->cqe_flags = CPORT_CQE_F_BUFFER |
				(u32)bid << CPORT_CQE_BUFFER_SHIFT;
	}
	mutex_unlock(&io->kbg->lock);
}
