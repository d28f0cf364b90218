/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cport: differences between the kernel versions cport builds against.
 * Each entry names the version that introduced what it papers over. Kbuild
 * probes the kernel headers for the feature (CPORT_HAVE_*) rather than
 * comparing versions, so distribution backports are picked up too.
 */
#ifndef _CPORT_COMPAT_H
#define _CPORT_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <net/sock.h>
#include <linux/uio.h>

/* 6.3 made vm_flags read-only and added vm_flags_set(). */
#ifndef CPORT_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set,
				vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/*
 * 6.8 moved the freeze protection of a write (file_start_write()) into
 * vfs_iter_write(), and added file_write_started() with it; before, the
 * caller took it. cport_vfs_iter_write() is vfs_iter_write() as of 6.8.
 */
#ifdef CPORT_HAVE_FILE_WRITE_STARTED
#define cport_vfs_iter_write	vfs_iter_write
#else
static inline ssize_t cport_vfs_iter_write(struct file *file,
					   struct iov_iter *iter, loff_t *ppos,
					   rwf_t flags)
{
	ssize_t ret;

	file_start_write(file);
	ret = vfs_iter_write(file, iter, ppos, flags);
	file_end_write(file);
	return ret;
}
#endif

/*
 * 6.10 passed the arguments of proto_ops->accept() in a struct
 * proto_accept_arg. cport_sock_accept() is the call as of 6.10.
 */
static inline int cport_sock_accept(struct socket *sock,
				    struct socket *newsock, int flags)
{
#ifdef CPORT_HAVE_PROTO_ACCEPT_ARG
	struct proto_accept_arg arg = {
		.flags	= flags,
		.kern	= false,
	};

	return sock->ops->accept(sock, newsock, &arg);
#else
	return sock->ops->accept(sock, newsock, flags, false);
#endif
}

/*
 * Differences that need no entry, because cport avoids them:
 * - 6.12 removed no_llseek, which 6.0 had already made NULL: cport_fops
 *   leaves .llseek unset and stream_open() makes lseek() fail with -ESPIPE.
 */

#endif /* _CPORT_COMPAT_H */
