/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_POOL_H
#define _CPORT_POOL_H

#include <linux/seq_file.h>

#include "cport_priv.h"

/*
 * Key of the wake-ups that mean "a pool slot freed", not "a CQE arrived":
 * only CPORT_IOC_GETQ waiters accept them (wait.c skips them).
 */
extern char cport_pool_wake_key;
#define CPORT_POOL_WAKE_KEY	((void *)&cport_pool_wake_key)

int cport_pool_init(void);
void cport_pool_exit(void);
int cport_pool_create(struct cport_port *port, u32 concurrency);
void cport_pool_release(struct cport_port *port);
long cport_ioctl_getq(struct cport_port *port, void __user *argp);
void cport_pool_show_fdinfo(struct seq_file *m, struct cport_port *port);

#endif /* _CPORT_POOL_H */
