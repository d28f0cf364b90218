// SPDX-License-Identifier: GPL-2.0
/*
 * cport: /proc/cport/, what is not one port's (a port's own state is in
 * its fdinfo):
 *
 *   clusters  the common event flag clusters of the reader's user
 *             namespace (cluster.c), as /proc/sysvipc/ lists IPC objects;
 *             what tools/cportstat -c shows.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "cluster.h"
#include "procfs.h"

static struct proc_dir_entry *cport_proc_dir;

/**
 * cport_procfs_init() - make /proc/cport/
 *
 * Context: process context, module init.
 * Return: 0 or -ENOMEM.
 */
int cport_procfs_init(void)
{
	cport_proc_dir = proc_mkdir("cport", NULL);
	if (!cport_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("clusters", 0444, cport_proc_dir,
				cport_clusters_show)) {
		proc_remove(cport_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

/**
 * cport_procfs_exit() - remove /proc/cport/, waiting for its readers
 *
 * Context: process context, module exit.
 */
void cport_procfs_exit(void)
{
	proc_remove(cport_proc_dir);
}
