// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_READ, CPORT_OP_WRITE, CPORT_OP_READV, CPORT_OP_WRITEV,
 * CPORT_OP_READ_FIXED, CPORT_OP_WRITE_FIXED.
 *
 * The user buffers are imported at submission; those of the FIXED ops are
 * registered buffers, pinned already (register.c), so their ops need no
 * mm in the worker. A file that supports
 * non-blocking I/O (FMODE_NOWAIT), or was opened with O_NONBLOCK, is tried
 * at once without blocking (with RWF_NOWAIT, or without it for an
 * O_NONBLOCK file without FMODE_NOWAIT, which would refuse the flag: pipes
 * before 6.x). If that completes (data in the page cache, room in a
 * pipe...), the CQE is posted inline. If it would block:
 *
 * - a regular file or a block device goes to the workqueue (io.c), where
 *   the op may block: its I/O always ends;
 * - any other file (pipe, socket, tty...) waits for readiness (io.c), and
 *   each wake-up makes one more non-blocking attempt in a worker, so that
 *   the op can be cancelled at any time; a file that cannot be polled
 *   completes with -EAGAIN.
 *
 * A file that cannot be tried without blocking at all is given to a worker
 * only if it is a regular file or a block device; any other completes with
 * -EOPNOTSUPP.
 *
 * O_DIRECT on a block device, at an offset, is handed to the device with
 * an asynchronous kiocb: submitted without blocking by the submitter (or,
 * if that would block, by a worker), it completes through ->ki_complete,
 * usually in the device's interrupt, where the CQE is posted.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/uio.h>

#include "compat.h"
#include "io.h"
#include "kbuf.h"
#include "opdef.h"
#include "register.h"
#include "rw.h"

static bool cport_rw_is_write(u8 opcode)
{
	return opcode == CPORT_OP_WRITE || opcode == CPORT_OP_WRITEV ||
	       opcode == CPORT_OP_WRITE_FIXED;
}

static bool cport_rw_is_fixed(u8 opcode)
{
	return opcode == CPORT_OP_READ_FIXED || opcode == CPORT_OP_WRITE_FIXED;
}

/**
 * cport_rw_prep() - check a READ, WRITE, READV, WRITEV, READ_FIXED or
 * WRITE_FIXED SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for op_flags set, addr2 set (but for the FIXED
 * ops, where it is the buffer index), buffer select but on a READ without
 * addr, or an offset that is neither CPORT_POS_CURRENT nor below 2^63.
 */
int cport_rw_prep(const struct cport_sqe *sqe)
{
	if (sqe->op_flags || (sqe->addr2 && !cport_rw_is_fixed(sqe->opcode)))
		return -EINVAL;
	/* Buffer select: READ only, the buffer comes from the group. */
	if ((sqe->flags & CPORT_SQE_F_BUFFER_SELECT) &&
	    (sqe->opcode != CPORT_OP_READ || sqe->addr))
		return -EINVAL;
	if (sqe->off != CPORT_POS_CURRENT && sqe->off > LLONG_MAX)
		return -EINVAL;
	return 0;
}

/*
 * The transfer itself. Context: process context, the submitter's or a
 * worker acting for it; sleeps unless @flags has RWF_NOWAIT.
 */
static int __cport_rw_do(struct cport_io *io, rwf_t flags)
{
	struct file *file = io->file;
	bool fpos_lock = false;
	loff_t pos, *ppos;
	ssize_t ret;

	if (io->use_fpos) {
		if (file->f_mode & FMODE_ATOMIC_POS) {
			mutex_lock(&file->f_pos_lock);
			fpos_lock = true;
		}
		pos = file->f_pos;
	} else {
		pos = io->pos;
	}
	ppos = (file->f_mode & FMODE_STREAM) ? NULL : &pos;

	if (cport_rw_is_write(io->req.opcode))
		ret = cport_vfs_iter_write(file, &io->iter, ppos, flags);
	else
		ret = vfs_iter_read(file, &io->iter, ppos, flags);

	if (io->use_fpos) {
		if (ret >= 0 && ppos)
			file->f_pos = pos;
		if (fpos_lock)
			mutex_unlock(&file->f_pos_lock);
	}
	return ret;
}

/* A worker may block on the file: its I/O always ends. */
static bool cport_rw_may_block(struct file *file)
{
	umode_t mode = file_inode(file)->i_mode;

	return S_ISREG(mode) || S_ISBLK(mode);
}

/*
 * No buffer left in the group: that is an error only if there is data to
 * put in one. Return: -ENOBUFS (data, or an error to report), 0 (end of
 * file), or -EAGAIN (nothing yet: wait).
 */
static int cport_rw_nobufs(struct file *file)
{
	__poll_t mask;

	if (cport_rw_may_block(file) || !file_can_poll(file))
		return -ENOBUFS;
	mask = vfs_poll(file, NULL);
	if (mask & (EPOLLIN | EPOLLRDNORM | EPOLLERR))
		return -ENOBUFS;
	return (mask & EPOLLHUP) ? 0 : -EAGAIN;
}

/*
 * A READ with buffer select: takes the group's next buffer only if data
 * went into it, and names it in ->cqe_flags.
 * Context: as __cport_rw_do(), with the submitter's mm.
 */
static int cport_rw_do_select(struct cport_io *io, rwf_t flags)
{
	u16 bid;
	int ret;

	ret = cport_kbuf_select(io, io->fast_iov, &bid);
	if (ret)
		return ret == -ENOBUFS ? cport_rw_nobufs(io->file) : ret;
	iov_iter_init(&io->iter, READ, io->fast_iov, 1,
		      io->fast_iov[0].iov_len);
	ret = __cport_rw_do(io, flags);
	cport_kbuf_done(io, bid, ret);
	return ret;
}

static int cport_rw_do(struct cport_io *io, rwf_t flags)
{
	return io->kbg ? cport_rw_do_select(io, flags) :
			 __cport_rw_do(io, flags);
}

/* Context: a worker of io.c, acting for the submitter; sleeps. */
static int cport_rw_work(struct cport_io *io)
{
	return cport_rw_do(io, 0);
}

/*
 * The file said it is ready: one more non-blocking attempt.
 * Context: a worker of io.c, acting for the submitter; does not block.
 * Return: as cport_rw_do(); -EAGAIN (buffers untouched) to wait again.
 */
static int cport_rw_retry(struct cport_io *io)
{
	struct iov_iter saved = io->iter;
	int ret;

	ret = cport_rw_do(io, io->rw_flags);
	/*
	 * A block device refuses a buffered write with RWF_NOWAIT: that
	 * only means a worker must do it.
	 */
	if (ret == -EOPNOTSUPP && (io->rw_flags & RWF_NOWAIT) &&
	    cport_rw_may_block(io->file))
		ret = -EAGAIN;
	if (ret == -EAGAIN)
		io->iter = saved;
	return ret;
}

/* The file can be tried without blocking: FMODE_NOWAIT, or O_NONBLOCK. */
static bool cport_rw_can_try(struct file *file)
{
	return (file->f_mode & FMODE_NOWAIT) || (file->f_flags & O_NONBLOCK);
}

/* O_DIRECT on a block device, at an offset: the device completes it. */
static bool cport_rw_to_device(struct cport_io *io)
{
	struct file *file = io->file;

	return S_ISBLK(file_inode(file)->i_mode) &&
	       (file->f_flags & O_DIRECT) && !io->use_fpos && !io->kbg &&
	       (cport_rw_is_write(io->req.opcode) ? file->f_op->write_iter :
						    file->f_op->read_iter);
}

/*
 * The device finished the op, or it never reached the device.
 * Context: any, including hard IRQ (the block layer's completion).
 */
static void cport_rw_device_complete(struct kiocb *kiocb, long res)
{
	struct cport_io *io = container_of(kiocb, struct cport_io, kiocb);
	bool again = (kiocb->ki_flags & IOCB_NOWAIT) && res == -EAGAIN;

	if (again)
		io->iter = io->saved_iter;
	cport_io_device_done(io, res, again);
}

/*
 * Hand the op to the device; without blocking if @nowait.
 * Context: process context, the submitter's or a worker acting for it.
 * Return: -EIOCBQUEUED: cport_rw_device_complete() ends the op.
 */
static int cport_rw_device_submit(struct cport_io *io, bool nowait)
{
	bool write = cport_rw_is_write(io->req.opcode);
	struct kiocb *kiocb = &io->kiocb;
	struct file *file = io->file;
	ssize_t ret;

	init_sync_kiocb(kiocb, file);
	kiocb->ki_pos = io->pos;
	kiocb->ki_complete = cport_rw_device_complete;
	if (write)
		kiocb->ki_flags |= IOCB_WRITE;
	if (nowait)
		kiocb->ki_flags |= IOCB_NOWAIT;
	io->saved_iter = io->iter;

	ret = rw_verify_area(write ? WRITE : READ, file, &kiocb->ki_pos,
			     iov_iter_count(&io->iter));
	if (!ret && write)
		ret = file->f_op->write_iter(kiocb, &io->iter);
	else if (!ret)
		ret = file->f_op->read_iter(kiocb, &io->iter);
	if (ret != -EIOCBQUEUED)
		cport_rw_device_complete(kiocb, ret);
	return -EIOCBQUEUED;
}

/* Context: process context, the submitter's; does not block. */
static int cport_rw_device_first(struct cport_io *io)
{
	return cport_rw_device_submit(io, true);
}

/* Context: a worker of io.c, acting for the submitter; may block. */
static int cport_rw_device_work(struct cport_io *io)
{
	return cport_rw_device_submit(io, false);
}

static __poll_t cport_rw_events(struct cport_io *io)
{
	return cport_rw_is_write(io->req.opcode) ? EPOLLOUT | EPOLLWRNORM :
						   EPOLLIN | EPOLLRDNORM;
}

/*
 * An ORDERED op whose turn came: the whole op, as cport_rw_issue() would
 * have started it, from a worker acting for the submitter. If it must wait
 * for readiness, it says so with -EAGAIN and ->poll_events, and the worker
 * arms the wait; each wake-up then runs cport_rw_retry().
 * Context: a worker of io.c; blocks only on a regular file or block device.
 */
static int cport_rw_ordered(struct cport_io *io)
{
	struct file *file = io->file;
	int ret;

	if (!cport_rw_can_try(file))
		return cport_rw_may_block(file) ? cport_rw_do(io, 0) :
						  -EOPNOTSUPP;
	ret = cport_rw_retry(io);
	if (ret != -EAGAIN)
		return ret;
	if (cport_rw_may_block(file))
		return cport_rw_do(io, 0);
	if (!file_can_poll(file))
		return -EAGAIN;
	io->fn = cport_rw_retry;
	io->poll_events = cport_rw_events(io);
	return -EAGAIN;
}

static int cport_rw_import(struct cport_port *port, struct cport_io *io,
			   const struct cport_sqe *sqe)
{
	int dir = cport_rw_is_write(sqe->opcode) ? WRITE : READ;
	void __user *addr = u64_to_user_ptr(sqe->addr);

	/* Buffer select: the buffer is taken when data is there for it. */
	if (sqe->flags & CPORT_SQE_F_BUFFER_SELECT) {
		io->kbg = cport_kbuf_group_get(port, sqe->buf_group);
		if (!io->kbg)
			return -ENOENT;
		io->sel_len = min_t(u32, sqe->len, MAX_RW_COUNT);
		return 0;
	}
	/* At most CPORT_REGISTER_MAX_BUF_SIZE: below MAX_RW_COUNT. */
	if (cport_rw_is_fixed(sqe->opcode))
		return cport_buf_import(port, sqe, dir, &io->iter, &io->bufs);

	if (sqe->opcode == CPORT_OP_READ || sqe->opcode == CPORT_OP_WRITE) {
		/* The VFS caps a transfer at MAX_RW_COUNT: a short count. */
		size_t len = min_t(size_t, sqe->len, MAX_RW_COUNT);

		if (!access_ok(addr, len))
			return -EFAULT;
		io->fast_iov[0].iov_base = addr;
		io->fast_iov[0].iov_len = len;
		iov_iter_init(&io->iter, dir, io->fast_iov, 1, len);
		return 0;
	}
	return cport_io_import_iovec(io, dir, addr, sqe->len);
}

/**
 * cport_rw_issue() - start a read or a write
 * @port: the port.
 * @sqe: kernel copy of the SQE, checked by cport_rw_prep().
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, the submitter's.
 * Return: bytes transferred or -errno for an inline CQE, or
 * CPORT_ISSUE_QUEUED.
 */
int cport_rw_issue(struct cport_port *port, const struct cport_sqe *sqe,
		   unsigned int issue_flags)
{
	bool write = cport_rw_is_write(sqe->opcode);
	bool need_mm = !cport_rw_is_fixed(sqe->opcode);
	struct cport_io *io;
	struct file *file;
	int ret;

	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;
	if (!(file->f_mode & (write ? FMODE_WRITE : FMODE_READ))) {
		ret = -EBADF;
		goto out_fput;
	}
	if (sqe->off != CPORT_POS_CURRENT &&
	    !(file->f_mode & (write ? FMODE_PWRITE : FMODE_PREAD))) {
		ret = -ESPIPE;
		goto out_fput;
	}

	io = cport_io_alloc(port, sqe, file);
	if (!io) {
		ret = -ENOMEM;
		goto out_fput;
	}
	io->use_fpos = sqe->off == CPORT_POS_CURRENT;
	io->pos = io->use_fpos ? 0 : sqe->off;
	/* An O_NONBLOCK file never blocks: it needs no RWF_NOWAIT. */
	io->rw_flags = (file->f_mode & FMODE_NOWAIT) ? RWF_NOWAIT : 0;
	ret = cport_rw_import(port, io, sqe);
	if (ret)
		goto out_free;
	/* An ORDERED op behind another on the file starts when that ends. */
	if (cport_io_park(io, cport_rw_ordered, need_mm))
		return CPORT_ISSUE_QUEUED;
	if (cport_rw_to_device(io))
		return cport_io_start_device(io, cport_rw_device_first,
					     cport_rw_device_work, need_mm);

	if (!cport_rw_can_try(file)) {
		if (!cport_rw_may_block(file)) {
			ret = -EOPNOTSUPP;
			goto out_free;
		}
		return cport_io_start(io, cport_rw_work, need_mm, 0);
	}
	ret = cport_rw_retry(io);
	if (ret != -EAGAIN)
		return cport_io_complete(io, ret);	/* frees it */
	if (cport_rw_may_block(file))
		return cport_io_start(io, cport_rw_work, need_mm, 0);
	if (!file_can_poll(file))
		goto out_free;	/* -EAGAIN: nothing tells when to retry */
	return cport_io_start(io, cport_rw_retry, need_mm,
			      cport_rw_events(io));

out_free:
	cport_io_free(io);	/* drops the file too */
	return ret;
out_fput:
	fput(file);
	return ret;
}
