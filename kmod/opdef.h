/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_OPDEF_H
#define _CPORT_OPDEF_H

#include <linux/errno.h>

#include "cport_priv.h"

/* Returned by ->issue when the op posts its terminal CQE later. */
#define CPORT_ISSUE_QUEUED	(-EIOCBQUEUED)

/**
 * struct cport_opdef - what the submission path needs of an opcode
 * @prep: checks the op's fields in the kernel's private copy of the SQE.
 *        Return: 0 or -EINVAL.
 * @issue: runs the op. The op holds the reservation of one CQ slot.
 *         Return: the result for an inline terminal CQE, or
 *         CPORT_ISSUE_QUEUED when the op keeps the reservation and posts
 *         its terminal CQE itself.
 *
 * Both run in process context, with ->submit_lock held.
 */
struct cport_opdef {
	int	(*prep)(const struct cport_sqe *sqe);
	int	(*issue)(struct cport_port *port, const struct cport_sqe *sqe);
};

extern const struct cport_opdef cport_opdefs[CPORT_OP_LAST];

#endif /* _CPORT_OPDEF_H */
