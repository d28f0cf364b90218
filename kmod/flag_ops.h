/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_FLAG_OPS_H
#define _CPORT_FLAG_OPS_H

#include <linux/poll.h>

#include "cport_priv.h"

void cport_flags_init(struct cport_port *port);
void cport_flags_release(struct cport_port *port);
long cport_ioctl_flags(struct cport_port *port, void __user *argp);
void cport_flags_poll_disarm_locked(struct cport_port *port,
				    struct cport_efc *efc);
__poll_t cport_flags_poll(struct cport_port *port);
int cport_flags_mmap(struct cport_port *port, struct vm_area_struct *vma);

int __cport_ef_check(struct cport_port *port, const struct cport_sqe *sqe);
int cport_ef_check(struct cport_port *port, const struct cport_sqe *sqe);
void cport_ef_accept(struct cport_port *port, const struct cport_sqe *sqe);
void __cport_ef_fire(struct cport_port *port, u32 ef);

int cport_flag_wait_prep(const struct cport_sqe *sqe);
int cport_flag_wait_issue(struct cport_port *port,
			  const struct cport_sqe *sqe,
			  unsigned int issue_flags);
int cport_flag_change_prep(const struct cport_sqe *sqe);
int cport_flag_change_issue(struct cport_port *port,
			    const struct cport_sqe *sqe,
			    unsigned int issue_flags);

#endif /* _CPORT_FLAG_OPS_H */
