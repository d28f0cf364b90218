// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_CANCEL, and cancellation of everything at teardown.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/file.h>
#include <linux/sched.h>

#include "cancel.h"
#include "cq.h"
#include "register.h"
#include "trace.h"

#define CPORT_CANCEL_FLAGS	(CPORT_CANCEL_ALL | CPORT_CANCEL_ANY | \
				 CPORT_CANCEL_FD)

/**
 * cport_cancel_reqs() - cancel in-flight requests
 * @port: the port.
 * @user_data: user_data to match, unless @flags has CPORT_CANCEL_ANY or
 *             CPORT_CANCEL_FD.
 * @flags: CPORT_CANCEL_*: ALL cancels every match instead of the oldest;
 *         FD matches the requests on @file instead of @user_data.
 * @opcode: only requests of this opcode; -1 for any.
 * @file: with CPORT_CANCEL_FD, the file to match.
 *
 * Each cancelled request has posted its terminal CQE (-ECANCELED) on
 * return, unless its own completion ran first and posted that instead.
 *
 * Context: process context.
 * Return: with CPORT_CANCEL_ALL the number cancelled, else 0; -ENOENT if
 * nothing matched; -EALREADY if every match is completing anyway.
 */
int cport_cancel_reqs(struct cport_port *port, u64 user_data, u32 flags,
		      int opcode, struct file *file)
{
	unsigned int found = 0, cancelled = 0, posted = 0;
	struct cport_req *req, *tmp;
	LIST_HEAD(done);
	LIST_HEAD(sync);
	int ret;

	spin_lock_irq(&port->cq_lock);
	/*
	 * The deferred SQEs are one request of no opcode: it matches those
	 * of @opcode among them (TIMEOUT_REMOVE of a deferred timer).
	 */
	port->defer_cancel_opcode = opcode;
	list_for_each_entry_safe(req, tmp, &port->inflight_list, node) {
		if (opcode >= 0 && req->opcode != opcode &&
		    req != &port->defer_req)
			continue;
		if (req->ops->match) {
			if (!req->ops->match(req, flags, user_data, file))
				continue;
		} else if (flags & CPORT_CANCEL_FD) {
			if (req->file != file)
				continue;
		} else if (!(flags & CPORT_CANCEL_ANY) &&
			   req->user_data != user_data) {
			continue;
		}
		found++;
		ret = req->ops->try_cancel(req);
		if (ret < 0)
			continue;
		cancelled++;
		trace_cport_cancel(port, req);
		if (ret == 0) {
			list_add_tail(&req->cancel_node, &done);
			posted++;
		} else {
			list_add_tail(&req->cancel_node, &sync);
		}
		if (!(flags & CPORT_CANCEL_ALL))
			break;
	}
	spin_unlock_irq(&port->cq_lock);

	if (posted)
		cport_cq_wake(port, posted);
	list_for_each_entry_safe(req, tmp, &done, cancel_node)
		req->ops->put(req);
	list_for_each_entry_safe(req, tmp, &sync, cancel_node)
		req->ops->cancel_sync(req);

	if (!found)
		return -ENOENT;
	if (!cancelled)
		return -EALREADY;
	return (flags & CPORT_CANCEL_ALL) ? cancelled : 0;
}

/**
 * cport_cancel_all_sync() - cancel every in-flight request and wait
 * @port: the port, being released: nobody submits any more.
 *
 * A one-shot completion running on another CPU (a timer callback) that
 * cannot be cancelled any more ends the request as soon as it takes
 * ->cq_lock, so this loop ends promptly. On return no callback references
 * the port.
 *
 * Context: process context.
 */
void cport_cancel_all_sync(struct cport_port *port)
{
	while (cport_cancel_reqs(port, 0, CPORT_CANCEL_ALL | CPORT_CANCEL_ANY,
				 -1, NULL) != -ENOENT)
		cond_resched();
}

/**
 * cport_cancel_prep() - check a CANCEL SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for unknown flags, addr with CPORT_CANCEL_ANY or
 * CPORT_CANCEL_FD, both of these, fd or CPORT_SQE_F_FIXED_FILE without
 * CPORT_CANCEL_FD, or another field set.
 */
int cport_cancel_prep(const struct cport_sqe *sqe)
{
	u32 flags = sqe->op_flags;

	if (sqe->off || sqe->len || sqe->addr2)
		return -EINVAL;
	if (flags & ~CPORT_CANCEL_FLAGS)
		return -EINVAL;
	if ((flags & (CPORT_CANCEL_ANY | CPORT_CANCEL_FD)) && sqe->addr)
		return -EINVAL;
	if ((flags & CPORT_CANCEL_ANY) && (flags & CPORT_CANCEL_FD))
		return -EINVAL;
	if (!(flags & CPORT_CANCEL_FD) && sqe->fd)
		return -EINVAL;
	/* A registered file stands for @fd only with CPORT_CANCEL_FD. */
	if ((sqe->flags & CPORT_SQE_F_FIXED_FILE) && !(flags & CPORT_CANCEL_FD))
		return -EINVAL;
	return 0;
}

/**
 * cport_cancel_issue() - cancel in-flight ops matching the SQE
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context.
 * Return: see cport_cancel_reqs(); -EBADF if CPORT_CANCEL_FD names no
 * open file (or no registered file, with CPORT_SQE_F_FIXED_FILE).
 */
int cport_cancel_issue(struct cport_port *port, const struct cport_sqe *sqe,
		       unsigned int issue_flags)
{
	struct file *file = NULL;
	int ret;

	if (sqe->op_flags & CPORT_CANCEL_FD) {
		file = cport_file_get(port, sqe);
		if (!file)
			return -EBADF;
	}
	ret = cport_cancel_reqs(port, sqe->addr, sqe->op_flags, -1, file);
	if (file)
		fput(file);
	return ret;
}
