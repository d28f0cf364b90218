/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_CANCEL_H
#define _CPORT_CANCEL_H

#include "cport_priv.h"

int cport_cancel_reqs(struct cport_port *port, u64 user_data, u32 flags,
		      int opcode, struct file *file);
void cport_cancel_all_sync(struct cport_port *port);
int cport_cancel_prep(const struct cport_sqe *sqe);
int cport_cancel_issue(struct cport_port *port, const struct cport_sqe *sqe,
		       unsigned int issue_flags);

#endif /* _CPORT_CANCEL_H */
