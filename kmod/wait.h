/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_WAIT_H
#define _CPORT_WAIT_H

#include <linux/poll.h>

#include "cport_priv.h"

int cport_cq_wait(struct cport_port *port, u32 min_complete, bool timed,
		  u64 timeout_ns);
__poll_t cport_poll(struct file *file, poll_table *wait);

#endif /* _CPORT_WAIT_H */
