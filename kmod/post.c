// SPDX-License-Identifier: GPL-2.0
/*
 * cport: posting user completions, to another port (CPORT_OP_POST) or to
 * the port itself (CPORT_IOC_POST, Windows' PostQueuedCompletionStatus).
 *
 * A post has no reservation in the target: it takes a free slot or fails
 * with -EAGAIN, so a completion is refused rather than lost.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/uaccess.h>

#include "cq.h"
#include "inject.h"
#include "link.h"
#include "opdef.h"
#include "post.h"
#include "register.h"
#include "trace.h"

/**
 * cport_post_prep() - check a POST SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL if off, op_flags or addr2 is set.
 */
int cport_post_prep(const struct cport_sqe *sqe)
{
	if (sqe->off || sqe->op_flags || sqe->addr2)
		return -EINVAL;
	return 0;
}

/**
 * cport_post_issue() - post {addr, len} to the port open at fd
 * @port: the submitting port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_*.
 *
 * The target may be @port itself. Its ->cq_lock is taken on its own, never
 * nested in another port's.
 *
 * Context: process context.
 * Return: 0, -EBADF if fd is not open, -EBADFD if it is not a port that is
 * set up, -EAGAIN if the target CQ has no free slot.
 */
int cport_post_issue(struct cport_port *port, const struct cport_sqe *sqe,
		     unsigned int issue_flags)
{
	struct cport_port *target;
	struct file *file;
	int ret;

	/* Chain members and deferred SQEs do not hold their port's file. */
	if (cport_issue_self(port, sqe))
		return cport_cq_post(port, sqe->addr, (s32)sqe->len,
				     issue_flags & CPORT_ISSUE_F_SYNC);
	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;

	target = cport_port_from_file(file);
	if (!target || !cport_port_ready(target))
		ret = -EBADFD;
	else
		ret = cport_cq_post(target, sqe->addr, (s32)sqe->len,
				    issue_flags & CPORT_ISSUE_F_SYNC);
	fput(file);
	return ret;
}

/**
 * cport_ioctl_post() - CPORT_IOC_POST: post a CQE to this port
 * @port: the port.
 * @argp: user pointer to struct cport_post.
 *
 * Context: process context.
 * Return: 0, -EFAULT, -EINVAL (flags or resv set), -EBADFD (not set up) or
 * -EAGAIN (no free CQ slot).
 */
long cport_ioctl_post(struct cport_port *port, void __user *argp)
{
	struct cport_post p;
	int ret;

	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if (p.flags || p.resv)
		return -EINVAL;
	if (!cport_port_ready(port))
		return -EBADFD;
	cport_inject_post(port);
	ret = cport_cq_post(port, p.user_data, p.res, false);
	trace_cport_post(port, p.user_data, p.res, ret);
	if (ret == -EAGAIN)
		trace_cport_cq_full(port, ret);
	return ret;
}
