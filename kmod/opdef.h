/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_OPDEF_H
#define _CPORT_OPDEF_H

#include <linux/bits.h>
#include <linux/errno.h>

#include "cport_priv.h"

/* Returned by ->issue when the op posts its terminal CQE later. */
#define CPORT_ISSUE_QUEUED	(-EIOCBQUEUED)

/*
 * ->issue flags. SYNC: this is the last op of an ENTER that waits next, so
 * a thread woken by the op may run on this CPU (WF_SYNC), as pipes do.
 */
#define CPORT_ISSUE_F_SYNC	BIT(0)

/**
 * struct cport_opdef - what the submission path needs of an opcode
 * @prep: checks the op's fields in the kernel's private copy of the SQE;
 *        returns 0 or -EINVAL.
 * @issue: runs the op, with CPORT_ISSUE_F_* flags. The op holds the
 *         reservation of one CQ slot. Returns the result for an inline
 *         terminal CQE, or CPORT_ISSUE_QUEUED when the op keeps the
 *         reservation and posts its terminal CQE itself.
 *
 * Both run in process context, with ->submit_lock held.
 */
struct cport_opdef {
	int	(*prep)(const struct cport_sqe *sqe);
	int	(*issue)(struct cport_port *port, const struct cport_sqe *sqe,
			 unsigned int issue_flags);
};

extern const struct cport_opdef cport_opdefs[CPORT_OP_LAST];

#endif /* _CPORT_OPDEF_H */
