/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_RESTRICT_H
#define _CPORT_RESTRICT_H

#include "cport_priv.h"

long cport_ioctl_restrict(struct cport_port *port, void __user *argp);
int cport_restrict_ioctl_ok(struct cport_port *port, unsigned int cmd);

/*
 * May @sqe be submitted on @port? Context: ->submit_lock held (the
 * restriction is set under it). Return: 0, or -EACCES.
 */
static inline int cport_restrict_sqe(struct cport_port *port,
				     const struct cport_sqe *sqe)
{
	if (likely(!port->restricted))
		return 0;
	if (!(port->restrict_ops & BIT_ULL(sqe->opcode)) ||
	    (sqe->flags & ~port->restrict_sqe_flags))
		return -EACCES;
	return 0;
}

#endif /* _CPORT_RESTRICT_H */
