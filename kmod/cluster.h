/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_CLUSTER_H
#define _CPORT_CLUSTER_H

#include "cport_priv.h"

struct cport_efc;

int cport_clusters_init(struct cport_port *port);
void cport_clusters_release(struct cport_port *port);
void cport_clusters_exit(void);
int cport_clusters_show(struct seq_file *m, void *v);
long cport_ioctl_cluster(struct cport_port *port, void __user *argp);
struct cport_efc *cport_cluster_get(struct cport_port *port, u32 cluster,
				    bool write, int *err);
struct cport_efc *__cport_cluster_find(struct cport_port *port, u32 cluster,
				       bool write, int *err);

#endif /* _CPORT_CLUSTER_H */
