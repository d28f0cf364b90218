/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_SIGNAL_H
#define _CPORT_SIGNAL_H

#include <linux/types.h>
#include <uapi/cport.h>

struct cport_port;

void cport_sig_init(struct cport_port *port);
void cport_sig_accept(struct cport_port *port, struct cport_sqe *sqe);
int cport_sig_check(const struct cport_sqe *sqe);
u32 cport_sqe_sig(const struct cport_sqe *sqe);
void __cport_sig_fire(struct cport_port *port, u32 id);
void cport_sig_closing(struct cport_port *port);
void cport_sig_release(struct cport_port *port);

#endif /* _CPORT_SIGNAL_H */
