/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cport: private state of a port and the inline helpers of the hot path.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef _CPORT_PRIV_H
#define _CPORT_PRIV_H

#include <linux/cache.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/cport.h>

#include "flags.h"
#include "region.h"

struct cport_buf_table;
struct cport_file_table;
struct cport_pool;
struct cport_kbuf_group;

/*
 * Hard limits; the module parameters may only lower them. They keep every
 * size computed from them far from overflow.
 */
#define CPORT_SQ_ENTRIES_HARD	32768U
#define CPORT_CQ_ENTRIES_HARD	65536U

/*
 * Layout of the SQ ring mapping. head is written by the kernel, tail by the
 * user: they live in separate cachelines.
 */
struct cport_sq_ring {
	u32	head ____cacheline_aligned_in_smp;
	u32	tail ____cacheline_aligned_in_smp;
	u32	ring_mask ____cacheline_aligned_in_smp;
	u32	ring_entries;
	u32	flags;
};

/*
 * Layout of the CQ ring mapping. head is written by the user, tail by the
 * kernel; the CQE array starts on its own cacheline.
 */
struct cport_cq_ring {
	u32	head ____cacheline_aligned_in_smp;
	u32	tail ____cacheline_aligned_in_smp;
	u32	ring_mask ____cacheline_aligned_in_smp;
	u32	ring_entries;
	u32	overflow;
	u32	flags;
	struct cport_cqe cqes[] ____cacheline_aligned_in_smp;
};

struct cport_port;
struct cport_req;
struct cport_chain;

/**
 * struct cport_req_ops - what cancellation and teardown need of a request
 * @match: optional, called with ->cq_lock held: does the request match a
 *         cancel (CPORT_CANCEL_* @flags, @user_data, @file)? Without it,
 *         ->user_data or ->file is compared.
 * @try_cancel: called with ->cq_lock held, IRQs off. Returns 0 when the
 *              request is cancelled: the callee unlinked it and posted its
 *              terminal CQE (a chain, link.c: posted its members' and
 *              stays linked until its work ends it), and the caller drops
 *              the request with @put after unlocking. Returns 1 when the request's completion is
 *              running and cannot be stopped under the lock: the callee
 *              took a reference, and the caller finishes the cancellation
 *              with @cancel_sync after unlocking. Returns -EALREADY when the
 *              request is completing anyway.
 * @cancel_sync: after @try_cancel returned 1: waits for the running
 *               completion, posts -ECANCELED unless that completion ended
 *               the request, and drops the reference. Context: process.
 * @flush: called with ->cq_lock held, IRQs off, for a request on
 *         ->pending_list while the CQ has a free slot: posts the request's
 *         pending events as one non-terminal CQE and unlinks it from the
 *         pending list.
 * @put: drops the reference of a request @try_cancel cancelled.
 *       Context: any (a chain's: process context, as cancel.c calls it).
 */
struct cport_req_ops {
	bool	(*match)(struct cport_req *req, u32 flags, u64 user_data,
			 struct file *file);
	int	(*try_cancel)(struct cport_req *req);
	void	(*cancel_sync)(struct cport_req *req);
	void	(*flush)(struct cport_req *req);
	void	(*put)(struct cport_req *req);
};

/**
 * struct cport_req - an accepted op that outlives its submission
 * @node: entry in ->inflight_list, under ->cq_lock; empty once the
 *        terminal CQE is posted.
 * @pending_node: entry in ->pending_list, under ->cq_lock; empty when the
 *                request has no unreported events.
 * @port: the port, which outlives the request (release cancels it first).
 * @user_data: copied into every CQE.
 * @cancel_node: entry in a canceller's private list (cancel.c); only one
 *               canceller runs at a time (->submit_lock, or release).
 * @ops: cancellation and freeing.
 * @file: the file the op acts on (CPORT_CANCEL_FD), or NULL.
 * @opcode: CPORT_OP_*.
 * @chain: the chain this op heads or belongs to, which it reports its
 *         terminal result to; or NULL (link.c).
 * @since: jiffies when it went on ->inflight_list (fdinfo's age).
 * @ef: the event flag to set after the terminal CQE (CPORT_EF_*), or 0.
 */
struct cport_req {
	struct list_head		node;
	struct list_head		pending_node;
	struct list_head		cancel_node;
	struct cport_port		*port;
	u64				user_data;
	struct file			*file;
	const struct cport_req_ops	*ops;
	struct cport_chain		*chain;
	unsigned long			since;	/* jiffies, for fdinfo */
	u32				ef;
	u8				opcode;
};

/**
 * struct cport_efc_slot - a cluster a port has associated
 * @efc: the cluster, with the association's reference; NULL: free slot.
 * @write: the port may set and clear its flags.
 */
struct cport_efc_slot {
	struct cport_efc	*efc;
	bool			write;
};

/**
 * struct cport_port - one open of /dev/cport
 * @submit_lock: serialises setup and SQ consumption.
 * @ready: set (store-release) once the rings exist; never cleared.
 * @sq_entries: SQ size, a power of two; constant after setup.
 * @cq_entries: CQ size, a power of two; constant after setup.
 * @sq_head: private copy of the SQ head, under @submit_lock.
 * @sq: the SQ ring mapping.
 * @sqes: the SQE array mapping.
 * @cq: the CQ ring mapping.
 * @bufs: registered buffers (register.c), or NULL; replaced under
 *        @submit_lock, read at submission.
 * @files: registered files (register.c), or NULL; likewise.
 * @nr_bufs: entries of @bufs, 0 without; written under @submit_lock, read
 *           locklessly by fdinfo.
 * @nr_files: entries of @files, likewise.
 * @sq_region: pages of @sq.
 * @sqe_region: pages of @sqes.
 * @cq_region: pages of @cq.
 * @cq_lock: protects the fields below it up to @pending_list. Taken from
 *           hard-IRQ context (hrtimer callbacks), so always with irqsave or
 *           irq.
 * @cq_tail: private copy of the CQ tail.
 * @cq_reserved: CQ slots held for accepted ops that have not posted their
 *               terminal CQE.
 * @inflight: requests on @inflight_list.
 * @posted: CQEs posted since setup.
 * @posted_irq: of those, CQEs posted in IRQ context (hard or soft).
 * @overflow: multishot expirations coalesced since setup.
 * @inflight_list: long-lived requests (timers), oldest first.
 * @pending_list: multishot requests holding unreported expirations.
 * @ordered_list: CPORT_SQE_F_ORDERED file ops in flight, in submission
 *                order (io.c).
 * @cq_wait: threads sleeping in CPORT_IOC_ENTER and CPORT_IOC_GETQ;
 *           exclusive, newest first.
 * @poll_wait: poll/epoll waiters.
 * @nr_waiters: threads sleeping in CPORT_IOC_ENTER.
 * @owner: real uid charged for this port (per-user port limit).
 * @issue_chain: under ->submit_lock, while an SQE is issued: the chain
 *               its request reports its terminal result to (link.c).
 * @issue_sqe: under ->submit_lock: the SQE being issued, if its fd was
 *             looked up at submission (a chain member, a deferred SQE).
 * @issue_file: the file that fd named then, or NULL.
 * @issue_self: under ->submit_lock: that fd named this port itself, whose
 *              file is not held (see cport_sqe_fget()).
 * @issue_files: under ->submit_lock, while a chain member or deferred SQE
 *               is issued by a worker: the submitter's file table, as a
 *               cookie (task.c); NULL while the submitter issues.
 * @defer_list: deferred SQEs, in submission order (drain.c), under
 *              ->cq_lock.
 * @defer_free: deferred SQEs cancelled, to free, under ->cq_lock.
 * @defer_nr: entries on @defer_list, under ->cq_lock.
 * @defer_res: CQ reservations they hold, with the members of the chains
 *             they head, under ->cq_lock.
 * @defer_after_drain: the last SQE deferred had CPORT_SQE_F_DRAIN.
 * @defer_req: the deferred SQEs on ->inflight_list, while there are any.
 * @defer_work: issues deferred SQEs once they may start.
 * @defer_cancel_flags: a cancel being matched against the deferred SQEs
 * @defer_cancel_user_data: (its flags, user_data, file), under
 * @defer_cancel_file: ->cq_lock.
 * @defer_cancel_opcode: and its opcode filter (-1: any), likewise.
 * @issue_ef: under ->submit_lock, while an SQE is issued: its event flag
 *            (CPORT_EF_*), which its request takes.
 * @ef_mutex: serialises association changes and the poll arm (cluster.c).
 * @flag_page: the read-only page at CPORT_OFF_FLAGS.
 * @efc_local: the local cluster; its flags are in @flag_page.
 * @efcs: [0]: the local cluster, [1..CPORT_CLUSTER_MAX]: associations.
 *        Written under @ef_mutex and ->cq_lock.
 * @poll_efc: the cluster of the poll arm (a reference), or NULL; written
 *            under @ef_mutex and ->cq_lock.
 * @poll_efw: the poll arm's waiter, on @poll_efc's list while armed.
 * @ef_fired: CPORT_OP_FLAG_WAIT requests whose condition holds, to post.
 * @ef_work: posts them (flag_ops.c).
 * @pool: the counting domain of the pool threads (pool.c); set at setup,
 *        detached at release.
 * @task_list: work of ops that must run in a thread of the submitting
 *             process (task.c).
 * @task_seq: additions to @task_list.
 * @task_used: @task_list was ever used.
 * @task_wake_files: under ->cq_wait.lock: the file table of the process a
 *                   task wake-up is for.
 * @kbufs: provided buffer groups (kbuf.c), by group id; replaced under
 *         @submit_lock.
 * @task_hint_files: the file table (a cookie) of the thread that entered
 *                   the port last (task.c).
 * @task_hint_jiffies: when it did.
 * @task_fallback: hands ops left for a busy process to a worker.
 * @sigs: completion signals of ops in flight (signal.c), by id.
 * @sig_work: sends the signals fired under ->cq_lock, once it is dropped.
 * @sig_send: signals to send, newest first.
 * @sig_late: signals the irq_work leaves to @sig_late_work, newest first.
 * @sig_late_work: sends them from process context.
 * @sig_done: signals sent (or dropped), to free in process context.
 * @sig_closing: under ->cq_lock: the port is being released; fired
 *               signals are dropped.
 * @sig_queued: signals queued to a thread.
 * @sig_lost: signals not queued: no thread to take them, or the queue was
 *            full (RLIMIT_SIGPENDING).
 * @restricted: CPORT_IOC_RESTRICT was called; set once (store-release)
 *              after the three lists, which never change after.
 * @restrict_sqe_flags: the SQE flags allowed.
 * @restrict_ops: the opcodes allowed, a bit each.
 * @restrict_ioctls: the ioctl numbers allowed, a bit each.
 * @id: the port's number, unique since the module was loaded (fdinfo).
 */
struct cport_port {
	struct mutex		submit_lock;	/* setup, SQ consumption */
	bool			ready;
	u32			sq_entries;
	u32			cq_entries;
	u32			sq_head;
	struct cport_sq_ring	*sq;
	struct cport_sqe	*sqes;
	struct cport_cq_ring	*cq;
	struct cport_buf_table	*bufs;
	struct cport_file_table	*files;
	unsigned int		nr_bufs;
	unsigned int		nr_files;
	struct cport_region	sq_region;
	struct cport_region	sqe_region;
	struct cport_region	cq_region;

	spinlock_t		cq_lock ____cacheline_aligned_in_smp;
	u32			cq_tail;
	u32			cq_reserved;
	u32			inflight;
	u64			posted;
	u64			posted_irq;
	u64			overflow;
	struct list_head	inflight_list;
	struct list_head	pending_list;
	struct list_head	ordered_list;

	struct wait_queue_head	cq_wait ____cacheline_aligned_in_smp;
	struct wait_queue_head	poll_wait;
	atomic_t		nr_waiters;
	kuid_t			owner;
	struct cport_chain	*issue_chain;
	const struct cport_sqe	*issue_sqe;
	struct file		*issue_file;
	bool			issue_self;
	void			*issue_files;
	struct list_head	defer_list;
	struct list_head	defer_free;
	u32			defer_nr;
	u32			defer_res;
	bool			defer_after_drain;
	struct cport_req	defer_req;
	struct work_struct	defer_work;
	u32			defer_cancel_flags;
	u64			defer_cancel_user_data;
	struct file		*defer_cancel_file;
	int			defer_cancel_opcode;
	u32			issue_ef;
	struct mutex		ef_mutex;	/* associations, poll arm */
	struct page		*flag_page;
	struct cport_efc	efc_local;
	struct cport_efc_slot	efcs[CPORT_CLUSTER_MAX + 1];
	struct cport_efc	*poll_efc;
	struct cport_efw	poll_efw;
	struct llist_head	ef_fired;
	struct irq_work		ef_work;
	struct cport_pool	*pool;
	struct llist_head	task_list;
	atomic_t		task_seq;
	bool			task_used;
	void			*task_wake_files;
	struct cport_kbuf_group	*kbufs[CPORT_BUF_GROUPS_MAX];
	void			*task_hint_files;
	unsigned long		task_hint_jiffies;
	struct delayed_work	task_fallback;
	struct xarray		sigs;
	struct irq_work		sig_work;
	struct llist_head	sig_send;
	struct llist_head	sig_late;
	struct work_struct	sig_late_work;
	struct llist_head	sig_done;
	bool			sig_closing;
	atomic64_t		sig_queued;
	atomic64_t		sig_lost;
	bool			restricted;	/* set once; restrict.c */
	u32			restrict_sqe_flags;
	u64			restrict_ops;
	u64			restrict_ioctls;
	u64			id;		/* unique, from 1; fdinfo */
};

/*
 * Put @req on ->inflight_list, stamped with its start (fdinfo shows the
 * age). Context: ->cq_lock held.
 */
static inline void cport_inflight_add(struct cport_port *port,
				      struct cport_req *req)
{
	lockdep_assert_held(&port->cq_lock);
	req->since = jiffies;
	list_add_tail(&req->node, &port->inflight_list);
}

/* Returns the port if @file is a cport port, else NULL. */
struct cport_port *cport_port_from_file(struct file *file);

/* True once the rings exist. */
static inline bool cport_port_ready(struct cport_port *port)
{
	/* Pairs with the store-release in cport_ioctl_setup(). */
	return smp_load_acquire(&port->ready);
}

#endif /* _CPORT_PRIV_H */
