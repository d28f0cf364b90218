// SPDX-License-Identifier: MIT
/*
 * Example 8: a periodic timer.
 *
 * One multishot CPORT_OP_TIMEOUT with a period of 100 ms and a count of 5
 * produces one CQE per tick. Every CQE but the last carries
 * CPORT_CQE_F_MORE ("this op is not finished"); the fifth, without it, is
 * the op's one terminal CQE. Each CQE's res is the number of expirations it
 * reports: 1, unless ticks found the CQ full and were coalesced.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>

#include <cport.h>

#include "common.h"

#define PERIOD_MS	100
#define COUNT		5
#define UD_TIMER	0x7417

int main(void)
{
	unsigned int cqes = 0, shots = 0, terminal = 0;
	double start_ms, last_ms;
	struct cport_cqe *cqe;
	struct cport_sqe *sqe;
	struct cport port;
	long inflight;
	int ret;

	ex_start();
	if (ex_port_init(8, &port))
		return 1;

	start_ms = ex_ms();
	sqe = ex_get_sqe(&port);
	cport_prep_timer(sqe, PERIOD_MS * 1000000ULL, PERIOD_MS * 1000000ULL,
			 COUNT, 0);
	cport_sqe_set_data64(sqe, UD_TIMER);
	ret = cport_submit(&port);
	last_ms = ex_ms();
	ex_say("main", "submitted one multishot timer: period %d ms, count %d (ret %d)",
	       PERIOD_MS, COUNT, ret);
	EX_CHECK(ret == 1, "cport_submit: %d", ret);
	if (!ex_fdinfo(port.ring_fd, "inflight", &inflight)) {
		ex_say("main", "fdinfo says inflight: %ld", inflight);
		EX_CHECK(inflight == 1, "inflight %ld, want 1", inflight);
	}

	while (!terminal) {
		double now;

		ret = cport_wait_cqe_timeout(&port, &cqe, 5000000000ULL);
		if (ret < 0) {
			EX_CHECK(ret == 0, "no CQE within 5 s: %s",
				 strerror(-ret));
			break;
		}
		now = ex_ms();
		cqes++;
		shots += cqe->res > 0 ? cqe->res : 0;
		terminal = !(cqe->flags & CPORT_CQE_F_MORE);
		ex_say("timer", "CQE %u: res=%d flags=%s  (+%.1f ms)%s", cqes,
		       cqe->res, terminal ? "0" : "CPORT_CQE_F_MORE",
		       now - last_ms,
		       terminal ? "  <- terminal: the op is done" : "");
		EX_CHECK(cqe->user_data == UD_TIMER, "user_data %llu",
			 (unsigned long long)cqe->user_data);
		EX_CHECK(cqe->res >= 1, "res %d", cqe->res);
		last_ms = now;
		cport_cqe_seen(&port, cqe);
	}

	EX_CHECK(shots == COUNT, "%u expirations reported, want %d", shots,
		 COUNT);
	EX_CHECK(terminal, "no terminal CQE");
	/* The timer was armed after start_ms: five periods have passed. */
	EX_CHECK(last_ms - start_ms >= COUNT * PERIOD_MS * 0.98,
		 "finished after %.1f ms", last_ms - start_ms);
	ex_say("main", "%u CQEs reported %u expirations in %.1f ms",
	       cqes, shots, last_ms - start_ms);

	/* After the terminal CQE the op is gone: nothing more comes. */
	ret = cport_wait_cqe_timeout(&port, &cqe, 2 * PERIOD_MS * 1000000ULL);
	ex_say("main", "waited %d ms more: %s", 2 * PERIOD_MS,
	       ret == -ETIME ? "no CQE (ETIME), the timer is finished" :
	       "unexpected CQE!");
	EX_CHECK(ret == -ETIME, "wait after terminal returned %d", ret);
	if (!ex_fdinfo(port.ring_fd, "inflight", &inflight)) {
		ex_say("main", "fdinfo says inflight: %ld", inflight);
		EX_CHECK(inflight == 0, "inflight %ld, want 0", inflight);
	}
	cport_queue_exit(&port);
	return ex_finish("periodic-timer");
}
