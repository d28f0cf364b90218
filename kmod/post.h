/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_POST_H
#define _CPORT_POST_H

#include "cport_priv.h"

int cport_post_prep(const struct cport_sqe *sqe);
int cport_post_issue(struct cport_port *port, const struct cport_sqe *sqe,
		     unsigned int issue_flags);
long cport_ioctl_post(struct cport_port *port, void __user *argp);

#endif /* _CPORT_POST_H */
