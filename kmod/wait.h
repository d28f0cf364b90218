/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_WAIT_H
#define _CPORT_WAIT_H

#include <linux/poll.h>

#include "cport_priv.h"

/**
 * struct cport_ef_cond - the flag half of a composite wait
 * @efc: the cluster, referenced by the caller.
 * @mask: flags, not 0.
 * @flags: CPORT_FLAG_WAIT_ALL, CPORT_FLAG_WAIT_CONSUME.
 * @got: out: the flags that ended the wait (consumed, with CONSUME), or 0.
 */
struct cport_ef_cond {
	struct cport_efc	*efc;
	u64			mask;
	u32			flags;
	u64			got;
};

int cport_cq_wait(struct cport_port *port, u32 min_complete, bool timed,
		  u64 timeout_ns, struct cport_ef_cond *ef);
void cport_ef_cond_give_back(struct cport_ef_cond *ef);
__poll_t cport_poll(struct file *file, poll_table *wait);

#endif /* _CPORT_WAIT_H */
