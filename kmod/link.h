/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_LINK_H
#define _CPORT_LINK_H

#include "cport_priv.h"

struct cport_chain;

unsigned int cport_chain_count(struct cport_port *port,
			       const struct cport_sqe *head, unsigned int left);
struct cport_chain *cport_chain_create(struct cport_port *port,
				       unsigned int nr);
void cport_chain_head_issued(struct cport_chain *chain, int res);
void cport_chain_head_done(struct cport_chain *chain, s32 res);
void cport_chain_attach(struct cport_port *port, struct cport_req *req);
int cport_link_timeout_prep(const struct cport_sqe *sqe);
int cport_link_timeout_issue(struct cport_port *port,
			     const struct cport_sqe *sqe,
			     unsigned int issue_flags);
void __cport_chain_report(struct cport_chain *chain, s32 res);
bool cport_sqe_has_fd(const struct cport_sqe *sqe);
bool cport_issue_file(struct cport_port *port, const struct cport_sqe *sqe,
		      struct file **file);
struct file *cport_sqe_fget(struct cport_port *port,
			    const struct cport_sqe *sqe, bool *self);
bool cport_issue_self(struct cport_port *port, const struct cport_sqe *sqe);

#endif /* _CPORT_LINK_H */
