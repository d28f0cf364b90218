/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_PROCFS_H
#define _CPORT_PROCFS_H

int cport_procfs_init(void);
void cport_procfs_exit(void);

#endif /* _CPORT_PROCFS_H */
