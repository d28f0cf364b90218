// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_IOC_SETUP, sizing and allocating the rings.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>

#include "pool.h"
#include "setup.h"

#define CPORT_SETUP_FLAGS	(CPORT_SETUP_CQSIZE | CPORT_SETUP_CLAMP)

#define CPORT_FEATURES		(CPORT_FEAT_NODROP | CPORT_FEAT_POST | \
				 CPORT_FEAT_TIMER | CPORT_FEAT_LIFO_WAKE | \
				 CPORT_FEAT_RW | CPORT_FEAT_REGISTER | \
				 CPORT_FEAT_LINK | CPORT_FEAT_DRAIN | \
				 CPORT_FEAT_FLAGS | CPORT_FEAT_POLL | \
				 CPORT_FEAT_CONCURRENCY | CPORT_FEAT_NET | \
				 CPORT_FEAT_SIGNAL | CPORT_FEAT_RESTRICT)

static unsigned int max_sq_entries = 4096;
module_param(max_sq_entries, uint, 0644);
MODULE_PARM_DESC(max_sq_entries, "Largest SQ of a port (at most 32768)");

static unsigned int max_cq_entries = 32768;
module_param(max_cq_entries, uint, 0644);
MODULE_PARM_DESC(max_cq_entries, "Largest CQ of a port (at most 65536)");

/* The effective maximum: a power of two within [1, @hard]. */
static u32 cport_max_entries(unsigned int param, u32 hard)
{
	return rounddown_pow_of_two(clamp_t(u32, param, 1, hard));
}

/* @want <= @max is rounded up; above it, it fails or clamps. */
static int cport_ring_size(u32 want, u32 max, bool clamp, u32 *out)
{
	if (want > max) {
		if (!clamp)
			return -EINVAL;
		want = max;
	}
	/* @max is a power of two, so rounding up stays within it. */
	*out = roundup_pow_of_two(want);
	return 0;
}

static int cport_params_sizes(struct cport_params *p)
{
	u32 sq_max = cport_max_entries(READ_ONCE(max_sq_entries),
				       CPORT_SQ_ENTRIES_HARD);
	u32 cq_max = cport_max_entries(READ_ONCE(max_cq_entries),
				       CPORT_CQ_ENTRIES_HARD);
	bool clamp = p->flags & CPORT_SETUP_CLAMP;
	u32 sq, cq;

	if (!p->sq_entries)
		return -EINVAL;
	if (cport_ring_size(p->sq_entries, sq_max, clamp, &sq))
		return -EINVAL;

	if (p->flags & CPORT_SETUP_CQSIZE) {
		if (!p->cq_entries)
			return -EINVAL;
		if (cport_ring_size(p->cq_entries, cq_max, clamp, &cq))
			return -EINVAL;
	} else if (cport_ring_size(2 * sq, cq_max, clamp, &cq)) {
		return -EINVAL;
	}
	if (cq < sq)
		return -EINVAL;

	p->sq_entries = sq;
	p->cq_entries = cq;
	return 0;
}

static void cport_params_offsets(struct cport_params *p)
{
	memset(&p->sq_off, 0, sizeof(p->sq_off));
	p->sq_off.head = offsetof(struct cport_sq_ring, head);
	p->sq_off.tail = offsetof(struct cport_sq_ring, tail);
	p->sq_off.ring_mask = offsetof(struct cport_sq_ring, ring_mask);
	p->sq_off.ring_entries = offsetof(struct cport_sq_ring, ring_entries);
	p->sq_off.flags = offsetof(struct cport_sq_ring, flags);

	memset(&p->cq_off, 0, sizeof(p->cq_off));
	p->cq_off.head = offsetof(struct cport_cq_ring, head);
	p->cq_off.tail = offsetof(struct cport_cq_ring, tail);
	p->cq_off.ring_mask = offsetof(struct cport_cq_ring, ring_mask);
	p->cq_off.ring_entries = offsetof(struct cport_cq_ring, ring_entries);
	p->cq_off.overflow = offsetof(struct cport_cq_ring, overflow);
	p->cq_off.cqes = offsetof(struct cport_cq_ring, cqes);
	p->cq_off.flags = offsetof(struct cport_cq_ring, flags);
}

/**
 * cport_rings_free() - free the rings of a port
 * @port: the port.
 *
 * Context: process context.
 */
void cport_rings_free(struct cport_port *port)
{
	cport_region_free(&port->cq_region);
	cport_region_free(&port->sqe_region);
	cport_region_free(&port->sq_region);
	port->sq = NULL;
	port->sqes = NULL;
	port->cq = NULL;
}

static int cport_rings_alloc(struct cport_port *port, u32 sq, u32 cq)
{
	int ret;

	ret = cport_region_alloc(&port->sq_region, sizeof(*port->sq));
	if (ret)
		return ret;
	ret = cport_region_alloc(&port->sqe_region,
				 array_size(sq, sizeof(struct cport_sqe)));
	if (ret)
		goto err_free;
	ret = cport_region_alloc(&port->cq_region,
				 struct_size(port->cq, cqes, cq));
	if (ret)
		goto err_free;

	port->sq = port->sq_region.ptr;
	port->sqes = port->sqe_region.ptr;
	port->cq = port->cq_region.ptr;
	port->sq_entries = sq;
	port->cq_entries = cq;
	port->sq->ring_mask = sq - 1;
	port->sq->ring_entries = sq;
	port->cq->ring_mask = cq - 1;
	port->cq->ring_entries = cq;
	return 0;

err_free:
	cport_rings_free(port);
	return ret;
}

/**
 * cport_ioctl_setup() - CPORT_IOC_SETUP: size and allocate the rings
 * @port: the port.
 * @argp: user pointer to struct cport_params.
 *
 * Context: process context, sleeps.
 * The concurrency value is validated (0: the number of online CPUs) and
 * the port's pool domain created with it.
 *
 * Return: 0, -EFAULT, -EINVAL, -EBUSY (already set up) or -ENOMEM.
 */
long cport_ioctl_setup(struct cport_port *port, void __user *argp)
{
	struct cport_params p;
	int ret, i;

	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if ((p.flags & ~CPORT_SETUP_FLAGS) || p.features)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(p.resv1); i++)
		if (p.resv1[i])
			return -EINVAL;
	if (p.concurrency > CPORT_CONCURRENCY_MAX)
		return -EINVAL;
	if (!p.concurrency)
		p.concurrency = num_online_cpus();
	ret = cport_params_sizes(&p);
	if (ret)
		return ret;

	mutex_lock(&port->submit_lock);
	if (port->ready) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ret = cport_rings_alloc(port, p.sq_entries, p.cq_entries);
	if (ret)
		goto out_unlock;
	ret = cport_pool_create(port, p.concurrency);
	if (ret) {
		cport_rings_free(port);
		goto out_unlock;
	}

	p.features = CPORT_FEATURES;
	cport_params_offsets(&p);
	if (copy_to_user(argp, &p, sizeof(p))) {
		cport_pool_release(port);
		cport_rings_free(port);
		ret = -EFAULT;
		goto out_unlock;
	}
	/* Pairs with cport_port_ready(): rings are visible before @ready. */
	smp_store_release(&port->ready, true);

out_unlock:
	mutex_unlock(&port->submit_lock);
	return ret;
}
