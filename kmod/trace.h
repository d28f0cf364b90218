/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cport's tracepoints, in /sys/kernel/tracing/events/cport/. A port is
 * named by its id (fdinfo's). Enabling one patches kernel text: under
 * multi-threaded TCG, do it through /sbin/textpatch (VM-NOTES.md).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM cport

#if !defined(_CPORT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CPORT_TRACE_H

#include <linux/tracepoint.h>

#include "cport_priv.h"
#include "flags.h"

/* One SQ consumption: SQEs wanted, found published, consumed or error. */
TRACE_EVENT(cport_submit,
	TP_PROTO(struct cport_port *port, u32 want, int ret),
	TP_ARGS(port, want, ret),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, want)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->want = want;
		__entry->ret = ret;
	),
	TP_printk("port=%llu want=%u ret=%d", __entry->id, __entry->want,
		  __entry->ret)
);

/* An SQE checked and started (cport_issue_sqe()). */
TRACE_EVENT(cport_issue,
	TP_PROTO(struct cport_port *port, const struct cport_sqe *sqe),
	TP_ARGS(port, sqe),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(u8, opcode)
		__field(u8, flags)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = sqe->user_data;
		__entry->opcode = sqe->opcode;
		__entry->flags = sqe->flags;
	),
	TP_printk("port=%llu op=%u flags=%#x user_data=%#llx", __entry->id,
		  __entry->opcode, __entry->flags, __entry->user_data)
);

/* A CQE in the ring (__cport_cqe_post()), and the context posting it. */
TRACE_EVENT(cport_complete,
	TP_PROTO(struct cport_port *port, u64 user_data, s32 res, u32 flags),
	TP_ARGS(port, user_data, res, flags),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(s32, res)
		__field(u32, flags)
		__field(u8, ctx)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = user_data;
		__entry->res = res;
		__entry->flags = flags;
		__entry->ctx = in_hardirq() ? 2 : in_serving_softirq() ? 1 : 0;
	),
	TP_printk("port=%llu user_data=%#llx res=%d flags=%#x ctx=%s",
		  __entry->id, __entry->user_data, __entry->res,
		  __entry->flags,
		  __print_symbolic(__entry->ctx, { 0, "task" },
				   { 1, "softirq" }, { 2, "irq" }))
);

/* The CQ had no free slot: a submission's -EBUSY, a post's -EAGAIN. */
TRACE_EVENT(cport_cq_full,
	TP_PROTO(struct cport_port *port, int err),
	TP_ARGS(port, err),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->err = err;
	),
	TP_printk("port=%llu err=%d", __entry->id, __entry->err)
);

/* CPORT_IOC_POST. */
TRACE_EVENT(cport_post,
	TP_PROTO(struct cport_port *port, u64 user_data, s32 res, int ret),
	TP_ARGS(port, user_data, res, ret),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(s32, res)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = user_data;
		__entry->res = res;
		__entry->ret = ret;
	),
	TP_printk("port=%llu user_data=%#llx res=%d ret=%d", __entry->id,
		  __entry->user_data, __entry->res, __entry->ret)
);

/* An op in flight matched by a cancellation. */
TRACE_EVENT(cport_cancel,
	TP_PROTO(struct cport_port *port, const struct cport_req *req),
	TP_ARGS(port, req),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(u8, opcode)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = req->user_data;
		__entry->opcode = req->opcode;
	),
	TP_printk("port=%llu op=%u user_data=%#llx", __entry->id,
		  __entry->opcode, __entry->user_data)
);

/* A chain of @n linked ops after its head, or SQEs held back by a drain. */
DECLARE_EVENT_CLASS(cport_hold,
	TP_PROTO(struct cport_port *port, u64 user_data, unsigned int n),
	TP_ARGS(port, user_data, n),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(unsigned int, n)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = user_data;
		__entry->n = n;
	),
	TP_printk("port=%llu user_data=%#llx n=%u", __entry->id,
		  __entry->user_data, __entry->n)
);

DEFINE_EVENT(cport_hold, cport_link,
	TP_PROTO(struct cport_port *port, u64 user_data, unsigned int n),
	TP_ARGS(port, user_data, n));

DEFINE_EVENT(cport_hold, cport_drain,
	TP_PROTO(struct cport_port *port, u64 user_data, unsigned int n),
	TP_ARGS(port, user_data, n));

/* An event flag set or cleared; @old: the cluster before. */
TRACE_EVENT(cport_flag,
	TP_PROTO(const struct cport_efc *efc, unsigned int bit, bool set,
		 u64 old),
	TP_ARGS(efc, bit, set, old),
	TP_STRUCT__entry(
		__array(char, name, CPORT_CLUSTER_NAME_MAX + 1)
		__field(u64, old)
		__field(unsigned int, bit)
		__field(bool, set)
	),
	TP_fast_assign(
		strscpy(__entry->name, efc->name, sizeof(__entry->name));
		__entry->old = old;
		__entry->bit = bit;
		__entry->set = set;
	),
	TP_printk("cluster=%s bit=%u %s old=%#llx",
		  __entry->name[0] ? __entry->name : "(local)", __entry->bit,
		  __entry->set ? "set" : "clear", __entry->old)
);

/* A flag waiter queued (wait) or released by the condition (wake). */
DECLARE_EVENT_CLASS(cport_flag_waiter,
	TP_PROTO(const struct cport_efc *efc, u64 mask, u64 got),
	TP_ARGS(efc, mask, got),
	TP_STRUCT__entry(
		__array(char, name, CPORT_CLUSTER_NAME_MAX + 1)
		__field(u64, mask)
		__field(u64, got)
	),
	TP_fast_assign(
		strscpy(__entry->name, efc->name, sizeof(__entry->name));
		__entry->mask = mask;
		__entry->got = got;
	),
	TP_printk("cluster=%s mask=%#llx got=%#llx",
		  __entry->name[0] ? __entry->name : "(local)",
		  __entry->mask, __entry->got)
);

DEFINE_EVENT(cport_flag_waiter, cport_flag_wait,
	TP_PROTO(const struct cport_efc *efc, u64 mask, u64 got),
	TP_ARGS(efc, mask, got));

DEFINE_EVENT(cport_flag_waiter, cport_flag_wake,
	TP_PROTO(const struct cport_efc *efc, u64 mask, u64 got),
	TP_ARGS(efc, mask, got));

/* A pool thread blocked (its slot freed) or came back (counted again). */
DECLARE_EVENT_CLASS(cport_pool_thread,
	TP_PROTO(int running),
	TP_ARGS(running),
	TP_STRUCT__entry(
		__field(int, running)
	),
	TP_fast_assign(
		__entry->running = running;
	),
	TP_printk("running=%d", __entry->running)
);

DEFINE_EVENT(cport_pool_thread, cport_pool_block,
	TP_PROTO(int running),
	TP_ARGS(running));

DEFINE_EVENT(cport_pool_thread, cport_pool_wake,
	TP_PROTO(int running),
	TP_ARGS(running));

/* A POLL_ADD's file signalled readiness (@mask: its events). */
TRACE_EVENT(cport_poll_wake,
	TP_PROTO(struct cport_port *port, u64 user_data, u32 mask),
	TP_ARGS(port, user_data, mask),
	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, user_data)
		__field(u32, mask)
	),
	TP_fast_assign(
		__entry->id = port->id;
		__entry->user_data = user_data;
		__entry->mask = mask;
	),
	TP_printk("port=%llu user_data=%#llx mask=%#x", __entry->id,
		  __entry->user_data, __entry->mask)
);

#endif /* _CPORT_TRACE_H */

/* Out of the kernel tree: the header is found here, not in trace/events/. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
