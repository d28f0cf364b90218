// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_FSYNC, fsync() or fdatasync() of a range, on the
 * workqueue (io.c): writeback waits for the device.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/fs.h>

#include "fsync.h"
#include "io.h"
#include "opdef.h"
#include "register.h"

/**
 * cport_fsync_prep() - check an FSYNC SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for unknown op_flags, addr or addr2 set, or a
 * range that does not fit in a file offset.
 */
int cport_fsync_prep(const struct cport_sqe *sqe)
{
	if (sqe->addr || sqe->addr2)
		return -EINVAL;
	if (sqe->op_flags & ~CPORT_FSYNC_DATASYNC)
		return -EINVAL;
	if (sqe->off > LLONG_MAX || sqe->len > LLONG_MAX - sqe->off)
		return -EINVAL;
	return 0;
}

/* Context: a worker of io.c, acting for the submitter; sleeps. */
static int cport_fsync_work(struct cport_io *io)
{
	loff_t end = io->range_len ? io->pos + io->range_len - 1 : LLONG_MAX;

	return vfs_fsync_range(io->file, io->pos, end,
			       io->op_flags & CPORT_FSYNC_DATASYNC);
}

/**
 * cport_fsync_issue() - queue an fsync
 * @port: the port.
 * @sqe: kernel copy of the SQE, checked by cport_fsync_prep().
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, the submitter's.
 * Return: CPORT_ISSUE_QUEUED, or -EBADF or -ENOMEM for an inline CQE.
 */
int cport_fsync_issue(struct cport_port *port, const struct cport_sqe *sqe,
		      unsigned int issue_flags)
{
	struct cport_io *io;
	struct file *file;

	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;
	io = cport_io_alloc(port, sqe, file);
	if (!io) {
		fput(file);
		return -ENOMEM;
	}
	io->pos = sqe->off;
	io->range_len = sqe->len;
	io->op_flags = sqe->op_flags;
	if (cport_io_park(io, cport_fsync_work, false))
		return CPORT_ISSUE_QUEUED;
	return cport_io_start(io, cport_fsync_work, false, 0);
}
