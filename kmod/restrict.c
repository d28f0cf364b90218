// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_IOC_RESTRICT, a port that locks itself to an allowlist of
 * opcodes, SQE flags and ioctls before its descriptor goes to a sandboxed
 * process (as IORING_REGISTER_RESTRICTIONS does for io_uring).
 *
 * The allowlists are written once, under ->submit_lock, and never change:
 * SQE consumption reads them under that lock (cport_restrict_sqe()), the
 * ioctl entry without it, after a load-acquire of ->restricted that pairs
 * with the store-release here.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/bits.h>
#include <linux/uaccess.h>

#include "restrict.h"

/* The ioctl numbers there are (_IOC_NR): 1 to CPORT_IOC_RESTRICT's. */
#define CPORT_IOCTL_NRS	GENMASK_ULL(_IOC_NR(CPORT_IOC_RESTRICT), 1)
/* Every CPORT_SQE_F_* there is. */
#define CPORT_SQE_F_ALL	(CPORT_SQE_F_ORDERED | CPORT_SQE_F_LINK | \
			 CPORT_SQE_F_DRAIN | CPORT_SQE_F_FIXED_FILE | \
			 CPORT_SQE_F_EVENT_FLAG | CPORT_SQE_F_BUFFER_SELECT | \
			 CPORT_SQE_F_SIGNAL)

/**
 * cport_ioctl_restrict() - CPORT_IOC_RESTRICT
 * @port: the port.
 * @argp: user pointer to struct cport_restrict.
 *
 * Context: process context, may sleep.
 * Return: 0; -EFAULT, -EINVAL (unknown bits, reserved fields), -EBUSY
 * (restricted already).
 */
long cport_ioctl_restrict(struct cport_port *port, void __user *argp)
{
	struct cport_restrict r;
	long ret = 0;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.resv0 || r.resv[0] || r.resv[1] || r.resv[2] ||
	    (r.ops & ~GENMASK_ULL(CPORT_OP_LAST - 1, 0)) ||
	    (r.sqe_flags & ~CPORT_SQE_F_ALL) ||
	    (r.ioctls & ~CPORT_IOCTL_NRS))
		return -EINVAL;

	mutex_lock(&port->submit_lock);
	if (port->restricted) {
		ret = -EBUSY;
	} else {
		port->restrict_ops = r.ops;
		port->restrict_sqe_flags = r.sqe_flags;
		port->restrict_ioctls = r.ioctls;
		/* Pairs with the load-acquire in cport_restrict_ioctl_ok(). */
		smp_store_release(&port->restricted, true);
	}
	mutex_unlock(&port->submit_lock);
	return ret;
}

/**
 * cport_restrict_ioctl_ok() - may ioctl @cmd be called on @port?
 * @port: the port.
 * @cmd: any ioctl command; one that is not a port's (another magic, or a
 *       number no CPORT_IOC_* has) is left to the caller's -ENOTTY.
 *
 * Context: any.
 * Return: 0, or -EACCES.
 */
int cport_restrict_ioctl_ok(struct cport_port *port, unsigned int cmd)
{
	u64 bit = BIT_ULL(_IOC_NR(cmd) & 63);

	/* Pairs with the store-release in cport_ioctl_restrict(). */
	if (!smp_load_acquire(&port->restricted) ||
	    cmd == CPORT_IOC_RESTRICT || _IOC_TYPE(cmd) != CPORT_IOC_MAGIC ||
	    !(bit & CPORT_IOCTL_NRS))
		return 0;
	return port->restrict_ioctls & bit ? 0 : -EACCES;
}
