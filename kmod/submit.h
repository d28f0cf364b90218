/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_SUBMIT_H
#define _CPORT_SUBMIT_H

#include "cport_priv.h"

int cport_submit(struct cport_port *port, u32 to_submit, bool will_wait);
long cport_ioctl_enter(struct cport_port *port, void __user *argp);

#endif /* _CPORT_SUBMIT_H */
