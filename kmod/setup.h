/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_SETUP_H
#define _CPORT_SETUP_H

#include "cport_priv.h"

long cport_ioctl_setup(struct cport_port *port, void __user *argp);
void cport_rings_free(struct cport_port *port);

#endif /* _CPORT_SETUP_H */
