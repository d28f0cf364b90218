/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_SUBMIT_H
#define _CPORT_SUBMIT_H

#include "cport_priv.h"

void cport_sqe_copy(struct cport_sqe *dst, const struct cport_sqe *src);
int cport_issue_sqe(struct cport_port *port, const struct cport_sqe *sqe,
		    unsigned int issue_flags);
int cport_submit(struct cport_port *port, u32 to_submit, bool will_wait);
long cport_ioctl_enter(struct cport_port *port, void __user *argp, bool v1);

#endif /* _CPORT_SUBMIT_H */
