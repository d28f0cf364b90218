/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_POLL_H
#define _CPORT_POLL_H

#include "cport_priv.h"

int cport_poll_add_prep(const struct cport_sqe *sqe);
int cport_poll_add_issue(struct cport_port *port, const struct cport_sqe *sqe,
			 unsigned int issue_flags);
int cport_poll_remove_prep(const struct cport_sqe *sqe);
int cport_poll_remove_issue(struct cport_port *port,
			    const struct cport_sqe *sqe,
			    unsigned int issue_flags);

#endif /* _CPORT_POLL_H */
