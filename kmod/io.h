/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_IO_H
#define _CPORT_IO_H

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "cport_priv.h"

struct cport_io;

/*
 * Runs the op in a worker, with the submitter's credentials and address
 * space. May sleep, unless the op waits for readiness (then it must not
 * block, and returns -EAGAIN to wait again). Returns the CQE's res.
 */
typedef int (*cport_io_fn)(struct cport_io *io);

/* Wait queues a readiness wait can be on: pipes use two. */
#define CPORT_IO_WAITS	2

/**
 * struct cport_io_wait - one wait queue entry of a readiness wait
 * @wqe: the entry.
 * @head: the wait queue it is on, or NULL; cleared (store-release) when
 *        the queue announces POLLFREE.
 * @io: the request.
 */
struct cport_io_wait {
	struct wait_queue_entry	wqe;
	struct wait_queue_head	*head;
	struct cport_io		*io;
};

/**
 * struct cport_io - a file op that completes later
 * @req: the request, on ->inflight_list until the terminal CQE.
 * @refs: one for ->inflight_list membership (dropped by whoever unlinks
 *        the request), one for the active side (the work item, or the
 *        armed readiness wait), one more while a canceller waits.
 * @state: CPORT_IO_*, see io.c; changed with cmpxchg.
 * @work: the work item.
 * @fn: what the worker runs.
 * @file: the file, referenced until the request is freed.
 * @cred: the submitter's credentials.
 * @mm: the submitter's mm (mmgrab()), or NULL if the op needs none.
 * @poll_events: 0 for an op that may block in the worker; else the events
 *               to wait for before each non-blocking attempt.
 * @pt: poll table used to arm the readiness wait.
 * @waits: the wait queue entries of the readiness wait.
 * @nr_waits: entries used in @waits.
 * @arm_error: the file wanted more wait queues than @waits holds.
 * @woken: an event arrived while the wait was being armed.
 * @keep_armed: a multishot op: the wait queue entries stay on the file's
 *              queues from one attempt to the next, and are taken off only
 *              when the op ends, is cancelled or waits for a CQ slot.
 * @armed: the entries are on the file's queues.
 * @pollfree: a wait queue announced POLLFREE: do not arm again.
 * @pos: file offset, unless @use_fpos.
 * @use_fpos: use and advance the file position (CPORT_POS_CURRENT).
 * @rw_flags: RWF_* of each attempt.
 * @iter: the user buffers, imported at submission.
 * @iov: the iovec array @iter points into: @fast_iov or allocated.
 * @fast_iov: iovecs of a small READV/WRITEV, or the one of a READ/WRITE.
 * @bufs: READ_FIXED, WRITE_FIXED: the registered buffer table @iter
 *        points into, referenced until the request is freed.
 * @range_len: CPORT_OP_FSYNC: length of the range, 0 = to the end.
 * @op_flags: the SQE's op_flags.
 * @ordered: CPORT_SQE_F_ORDERED: on ->ordered_list while in flight.
 * @ordered_node: entry in ->ordered_list, under ->cq_lock.
 * @device: the op is handed to the device and ends with
 *          cport_io_device_done() (cport_io_start_device()).
 * @kiocb: the kiocb of such an op; its ->ki_complete may run in IRQ
 *         context.
 * @saved_iter: @iter before the attempt, to restart it after -EAGAIN.
 * @free_work: frees the request when its last reference is dropped in
 *             IRQ context.
 * @in_task: the work must run in a thread of the submitting process
 *           (one with @files and @mm), not on a worker (task.c).
 * @task_pref: the work may run on a worker, but runs in a waiting thread
 *             of the submitting process if there is one (task.c).
 * @files: the submitter's file table, as a cookie (never dereferenced).
 * @task_node: entry on the port's task list.
 * @task_running: a thread of the submitter runs the work (task.c).
 * @need_slot: the work function found no free CQ slot for a multishot
 *             CQE (cport_io_more_reserve()).
 * @done: bytes moved so far by an op that goes on after a partial
 *        transfer; its terminal res if it is cancelled.
 * @cqe_flags: CPORT_CQE_F_* of the terminal CQE when res >= 0.
 * @cleanup: frees what the opcode added to the request, or NULL.
 * @kbg: CPORT_SQE_F_BUFFER_SELECT: the provided buffer group (kbuf.c),
 *       referenced until the request is freed; else NULL.
 * @sel_len: with @kbg: most bytes to take, 0 = the whole buffer.
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
	__poll_t		poll_events;
	poll_table		pt;
	struct cport_io_wait	waits[CPORT_IO_WAITS];
	unsigned int		nr_waits;
	bool			arm_error;
	bool			woken;
	bool			pollfree;
	bool			keep_armed;
	bool			armed;
	loff_t			pos;
	bool			use_fpos;
	rwf_t			rw_flags;
	struct iov_iter		iter;
	struct iovec		*iov;
	struct iovec		fast_iov[UIO_FASTIOV];
	struct cport_buf_table	*bufs;
	u64			range_len;
	u32			op_flags;
	bool			ordered;
	struct list_head	ordered_node;
	bool			device;
	struct kiocb		kiocb;
	struct iov_iter		saved_iter;
	struct work_struct	free_work;
	bool			in_task;
	bool			task_pref;
	void			*files;
	struct llist_node	task_node;
	bool			task_running;
	bool			need_slot;
	int			done;
	u32			cqe_flags;
	void			(*cleanup)(struct cport_io *io);
	struct cport_kbuf_group	*kbg;
	u32			sel_len;
};

int cport_io_init(void);
void cport_io_queue_work(struct work_struct *work);
void cport_io_queue_delayed_work(struct delayed_work *dwork,
				 unsigned long delay);
void cport_io_exit(void);

struct cport_io *cport_io_alloc(struct cport_port *port,
				const struct cport_sqe *sqe, struct file *file);
struct cport_io *cport_io_alloc_size(struct cport_port *port,
				     const struct cport_sqe *sqe,
				     struct file *file, size_t size);
void cport_io_free(struct cport_io *io);
int cport_io_import_iovec(struct cport_io *io, int dir,
			  const struct iovec __user *uvec, unsigned long nr);
int cport_io_start(struct cport_io *io, cport_io_fn fn, bool need_mm,
		   __poll_t poll_events);
bool cport_io_park(struct cport_io *io, cport_io_fn fn, bool need_mm);
int cport_io_start_device(struct cport_io *io, cport_io_fn first,
			  cport_io_fn fn, bool need_mm);
void cport_io_device_done(struct cport_io *io, s32 res, bool again);
int cport_io_complete(struct cport_io *io, int res);
void cport_io_task_run(struct cport_io *io);
void cport_io_task_cancel(struct cport_io *io);
void cport_io_cancel_files(struct cport_port *port, void *files);
void cport_io_again(struct cport_io *io);
bool cport_io_more_reserve(struct cport_io *io);
void cport_io_more_post(struct cport_io *io, s32 res, u32 cqe_flags);
void cport_io_more_unreserve(struct cport_io *io);

#endif /* _CPORT_IO_H */
