/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_REGISTER_H
#define _CPORT_REGISTER_H

#include <linux/bvec.h>
#include <linux/refcount.h>
#include <linux/uio.h>

#include "cport_priv.h"

struct user_struct;
struct mm_struct;

/**
 * struct cport_buf - one registered buffer
 * @ubase: its user address.
 * @len: its length in bytes.
 * @nr_bvecs: entries in @bvecs: one per pinned page.
 * @bvecs: the pinned pages; the first starts at @ubase's page offset, the
 *         others at 0, and every one but the last ends at a page end.
 */
struct cport_buf {
	u64		ubase;
	u64		len;
	unsigned int	nr_bvecs;
	struct bio_vec	*bvecs;
};

/**
 * struct cport_buf_table - the registered buffers of a port
 * @refs: one for the port while registered, one per op using a buffer.
 * @nr: entries in @bufs.
 * @nr_pages: pages charged to @user and @mm.
 * @user: the user whose RLIMIT_MEMLOCK budget is charged, or NULL
 *        (CAP_IPC_LOCK).
 * @mm: the registering mm, whose pinned_vm is charged (mmgrab()).
 * @bufs: the buffers.
 */
struct cport_buf_table {
	refcount_t		refs;
	unsigned int		nr;
	unsigned long		nr_pages;
	struct user_struct	*user;
	struct mm_struct	*mm;
	struct cport_buf	bufs[];
};

/**
 * struct cport_file_table - the registered files of a port
 * @nr: entries in @files.
 * @files: a reference to each file, or NULL for an empty slot.
 */
struct cport_file_table {
	unsigned int	nr;
	struct file	*files[];
};

long cport_ioctl_register(struct cport_port *port, void __user *argp);
void cport_register_free(struct cport_port *port);
struct file *cport_file_get(struct cport_port *port,
			    const struct cport_sqe *sqe);
int cport_buf_import(struct cport_port *port, const struct cport_sqe *sqe,
		     int dir, struct iov_iter *iter,
		     struct cport_buf_table **tablep);
void cport_buf_table_put(struct cport_buf_table *t);

#endif /* _CPORT_REGISTER_H */
