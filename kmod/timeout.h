/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_TIMEOUT_H
#define _CPORT_TIMEOUT_H

#include "cport_priv.h"

int cport_timeout_prep(const struct cport_sqe *sqe);
int cport_timeout_issue(struct cport_port *port, const struct cport_sqe *sqe,
			unsigned int issue_flags);
int cport_timeout_remove_prep(const struct cport_sqe *sqe);
int cport_timeout_remove_issue(struct cport_port *port,
			       const struct cport_sqe *sqe,
			       unsigned int issue_flags);

#endif /* _CPORT_TIMEOUT_H */
