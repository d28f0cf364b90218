// SPDX-License-Identifier: MIT
/*
 * Example 4a: completions through the port, one callback per operation,
 * with the low-level calls (example 4b does the same with cport_loop).
 *
 * Instead of asking "can I do it now?" (examples 2 and 3), the program
 * hands the port whole operations and is told when each one is *done*. A
 * small table maps each op's user_data to a callback; the main loop only
 * waits for CQEs and dispatches them. The ops:
 *
 *   - a NOP, which completes at once;
 *   - a one-shot timer of 150 ms;
 *   - a POST to this same port, which produces two CQEs: the POST op's own
 *     result, and the completion it delivered (user_data and res chosen by
 *     the poster, like PostQueuedCompletionStatus);
 *   - and, from inside the timer's callback, one more op (a NOP): callbacks
 *     may start new work.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>

#include <cport.h>

#include "common.h"

#define TIMER_MS	150
#define POSTED_RES	42

/* user_data of each op; the table below maps them to callbacks. */
enum {
	UD_NOP = 1,
	UD_TIMER,
	UD_POST_OP,	/* the POST SQE's own CQE */
	UD_POSTED,	/* the CQE the POST delivered */
	UD_FOLLOW_UP,	/* NOP submitted by the timer's callback */
};

struct op;
typedef void (*op_cb)(struct cport *port, struct op *op,
		      const struct cport_cqe *cqe);

struct op {
	uint64_t user_data;
	const char *what;
	op_cb cb;
	int32_t want_res;	/* the res this op must complete with */
	int fired;		/* number of CQEs seen */
	double at_ms;
};

static void on_nop(struct cport *port, struct op *op,
		   const struct cport_cqe *cqe);
static void on_timer(struct cport *port, struct op *op,
		     const struct cport_cqe *cqe);
static void on_post_op(struct cport *port, struct op *op,
		       const struct cport_cqe *cqe);
static void on_posted(struct cport *port, struct op *op,
		      const struct cport_cqe *cqe);

#define OP(ud, name, fn, res) \
	{ .user_data = (ud), .what = (name), .cb = (fn), .want_res = (res) }
static struct op ops[] = {
	OP(UD_NOP,	 "NOP",			  on_nop,     0),
	OP(UD_TIMER,	 "timer 150 ms",	  on_timer,   1),
	OP(UD_POST_OP,	 "POST op (sender side)", on_post_op, 0),
	OP(UD_POSTED,	 "posted completion",	  on_posted,  POSTED_RES),
	OP(UD_FOLLOW_UP, "follow-up NOP",	  on_nop,     0),
};
#define NR_OPS	(sizeof(ops) / sizeof(ops[0]))

static struct op *find_op(uint64_t user_data)
{
	size_t i;

	for (i = 0; i < NR_OPS; i++)
		if (ops[i].user_data == user_data)
			return &ops[i];
	return NULL;
}

static void on_nop(struct cport *port, struct op *op,
		   const struct cport_cqe *cqe)
{
	(void)port;
	ex_say("cb", "on_nop(%s): res=%d, nothing to do but note it",
	       op->what, cqe->res);
}

static void on_timer(struct cport *port, struct op *op,
		     const struct cport_cqe *cqe)
{
	struct cport_sqe *sqe;
	int ret;

	ex_say("cb", "on_timer(%s): res=%d expiration; starting a follow-up NOP",
	       op->what, cqe->res);
	sqe = ex_get_sqe(port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, UD_FOLLOW_UP);
	ret = cport_submit(port);
	EX_CHECK(ret == 1, "cport_submit: %d", ret);
}

static void on_post_op(struct cport *port, struct op *op,
		       const struct cport_cqe *cqe)
{
	(void)port;
	ex_say("cb", "on_post_op(%s): res=%d, the post was delivered",
	       op->what, cqe->res);
}

static void on_posted(struct cport *port, struct op *op,
		      const struct cport_cqe *cqe)
{
	(void)port;
	ex_say("cb", "on_posted(%s): res=%d, the value the poster chose",
	       op->what, cqe->res);
}

static int all_fired(void)
{
	size_t i;

	for (i = 0; i < NR_OPS; i++)
		if (!ops[i].fired)
			return 0;
	return 1;
}

static int submit_initial_ops(struct cport *port)
{
	struct cport_sqe *sqe;

	sqe = ex_get_sqe(port);
	cport_prep_nop(sqe);
	cport_sqe_set_data64(sqe, UD_NOP);

	sqe = ex_get_sqe(port);
	cport_prep_timeout(sqe, TIMER_MS * 1000000ULL, 0);
	cport_sqe_set_data64(sqe, UD_TIMER);

	/* Post to ourselves: the target is this port's own fd. */
	sqe = ex_get_sqe(port);
	cport_prep_post(sqe, port->ring_fd, POSTED_RES, UD_POSTED);
	cport_sqe_set_data64(sqe, UD_POST_OP);

	return cport_submit(port);
}

int main(void)
{
	struct cport_cqe *cqe;
	struct cport port;
	unsigned int loops = 0;
	int ret;

	ex_start();
	if (ex_port_init(16, &port))
		return 1;
	ex_say("main", "port open (fd %d), %u SQEs, %u CQEs",
	       port.ring_fd, port.sq.ring_entries, port.cq.ring_entries);

	ret = submit_initial_ops(&port);
	ex_say("main", "submitted NOP, timer %d ms, POST to self: %d ops in one call",
	       TIMER_MS, ret);
	EX_CHECK(ret == 3, "cport_submit returned %d", ret);

	while (!all_fired() && loops++ < 20) {
		struct op *op;

		/* Wait at most 5 s: an op that never completes is a failure. */
		ret = cport_wait_cqe_timeout(&port, &cqe, 5000000000ULL);
		if (ret < 0) {
			EX_CHECK(ret == 0, "cport_wait_cqe_timeout: %s",
				 strerror(-ret));
			break;
		}
		op = find_op(cqe->user_data);
		ex_say("main", "CQE user_data=%llu res=%d flags=%#x -> %s",
		       (unsigned long long)cqe->user_data, cqe->res, cqe->flags,
		       op ? op->what : "(unknown!)");
		EX_CHECK(op, "CQE with unknown user_data %llu",
			 (unsigned long long)cqe->user_data);
		if (op) {
			op->fired++;
			op->at_ms = ex_ms();
			EX_CHECK(cqe->res == op->want_res,
				 "%s: res %d, want %d", op->what, cqe->res,
				 op->want_res);
			op->cb(&port, op, cqe);
		}
		cport_cqe_seen(&port, cqe);
	}

	for (size_t i = 0; i < NR_OPS; i++)
		EX_CHECK(ops[i].fired == 1, "%s completed %d times",
			 ops[i].what, ops[i].fired);
	/* The timer completes after the others, and not before its time. */
	EX_CHECK(find_op(UD_TIMER)->at_ms >= TIMER_MS * 0.9,
		 "timer fired at %.1f ms", find_op(UD_TIMER)->at_ms);
	EX_CHECK(find_op(UD_NOP)->at_ms < find_op(UD_TIMER)->at_ms,
		 "NOP after the timer");

	/* Nothing else may be pending. */
	ret = cport_peek_cqe(&port, &cqe);
	EX_CHECK(ret == -EAGAIN, "extra CQE user_data %llu",
		 cqe ? (unsigned long long)cqe->user_data : 0ULL);
	ex_say("main", "all %zu ops completed once each; the loop never asked "
	       "whether anything was ready", NR_OPS);
	cport_queue_exit(&port);
	return ex_finish("port-callbacks");
}
