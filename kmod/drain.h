/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_DRAIN_H
#define _CPORT_DRAIN_H

#include "cport_priv.h"

void cport_defer_init(struct cport_port *port);
void cport_defer_release(struct cport_port *port);
void cport_defer_kick(struct cport_port *port);
bool cport_defer_needed(struct cport_port *port, const struct cport_sqe *sqe);
int cport_defer_add(struct cport_port *port, const struct cport_sqe *sqe,
		    struct cport_chain *chain, unsigned int chain_nr);

#endif /* _CPORT_DRAIN_H */
