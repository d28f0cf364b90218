/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_FDINFO_H
#define _CPORT_FDINFO_H

#include <linux/fs.h>
#include <linux/seq_file.h>

void cport_show_fdinfo(struct seq_file *m, struct file *file);

#endif /* _CPORT_FDINFO_H */
