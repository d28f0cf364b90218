/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_IO_H
#define _CPORT_IO_H

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "cport_priv.h"

struct cport_io;

/*
 * Runs the op in a worker, with the submitter's credentials and address
 * space. May sleep. Returns the CQE's res.
 */
typedef int (*cport_io_fn)(struct cport_io *io);

/**
 * struct cport_io - a file op handed to the cport workqueue
 * @req: the request, on ->inflight_list until the terminal CQE.
 * @refs: one for the work item, one for ->inflight_list membership (dropped
 *        by whoever unlinks the request), one more while a canceller waits.
 * @state: CPORT_IO_QUEUED, _RUNNING or _CANCELLED; changed with cmpxchg.
 * @work: the work item.
 * @fn: what the worker runs.
 * @file: the file, referenced until the request is freed.
 * @cred: the submitter's credentials.
 * @mm: the submitter's mm (mmgrab()), or NULL if the op needs none.
 * @pos: file offset, unless @use_fpos.
 * @use_fpos: use and advance the file position (CPORT_POS_CURRENT).
 * @iter: the user buffers, imported at submission.
 * @iov: the iovec array @iter points into: @fast_iov or allocated.
 * @fast_iov: iovecs of a small READV/WRITEV, or the one of a READ/WRITE.
 * @range_len: CPORT_OP_FSYNC: length of the range, 0 = to the end.
 * @op_flags: the SQE's op_flags.
 */
struct cport_io {
	struct cport_req	req;
	refcount_t		refs;
	atomic_t		state;
	struct work_struct	work;
	cport_io_fn		fn;
	struct file		*file;
	const struct cred	*cred;
	struct mm_struct	*mm;
	loff_t			pos;
	bool			use_fpos;
	struct iov_iter		iter;
	struct iovec		*iov;
	struct iovec		fast_iov[UIO_FASTIOV];
	u64			range_len;
	u32			op_flags;
};

int cport_io_init(void);
void cport_io_exit(void);

struct cport_io *cport_io_alloc(struct cport_port *port,
				const struct cport_sqe *sqe, struct file *file);
void cport_io_free(struct cport_io *io);
int cport_io_queue(struct cport_io *io, cport_io_fn fn, bool need_mm);

#endif /* _CPORT_IO_H */
