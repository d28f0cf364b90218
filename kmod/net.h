/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_NET_H
#define _CPORT_NET_H

#include "cport_priv.h"

int cport_net_prep(const struct cport_sqe *sqe);
int cport_net_issue(struct cport_port *port, const struct cport_sqe *sqe,
		    unsigned int issue_flags);

#endif /* _CPORT_NET_H */
