/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_RW_H
#define _CPORT_RW_H

#include "cport_priv.h"

int cport_rw_prep(const struct cport_sqe *sqe);
int cport_rw_issue(struct cport_port *port, const struct cport_sqe *sqe,
		   unsigned int issue_flags);

#endif /* _CPORT_RW_H */
