/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_FSYNC_H
#define _CPORT_FSYNC_H

#include "cport_priv.h"

int cport_fsync_prep(const struct cport_sqe *sqe);
int cport_fsync_issue(struct cport_port *port, const struct cport_sqe *sqe,
		      unsigned int issue_flags);

#endif /* _CPORT_FSYNC_H */
