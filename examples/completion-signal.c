// SPDX-License-Identifier: MIT
/*
 * Example 12: completion signals, the way POSIX AIO's SIGEV_SIGNAL works.
 *
 * Two ops ask for a real-time signal when they complete
 * (cport_sqe_set_signal()): a READ of a pipe that a child writes into after
 * 150 ms, and a 60 ms timer, which completes in the timer interrupt. The
 * thread goes on with its own work (counting) and learns about each
 * completion from an SA_SIGINFO handler: si_code is SI_ASYNCIO and
 * si_value is what the op was given, here the address of the op's own
 * record. The CQE is in the ring before the signal is queued, so the
 * record's result can be read from the CQ once the handler ran.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <cport.h>

#include "common.h"

#define WRITE_MS	150
#define TIMER_MS	60
#define MESSAGE		"hello, signalled"

struct op {
	const char *name;
	volatile sig_atomic_t signalled;
	double t_signal;	/* ms */
	int32_t res;
};

static struct op op_read = { .name = "READ" };
static struct op op_timer = { .name = "TIMEOUT" };
static volatile sig_atomic_t nr_signals, bad_signals;

/* SA_SIGINFO handler: only async-signal-safe work, then main() reports. */
static void on_completion(int signo, siginfo_t *si, void *uctx)
{
	struct op *op = si->si_value.sival_ptr;

	(void)signo;
	(void)uctx;
	if (si->si_code != SI_ASYNCIO ||
	    (op != &op_read && op != &op_timer)) {
		bad_signals++;
		return;
	}
	op->t_signal = ex_ms();
	op->signalled = 1;
	nr_signals++;
}

static int child(int wfd)
{
	usleep(WRITE_MS * 1000);
	ex_say("child", "write(\"%s\")", MESSAGE);
	return write(wfd, MESSAGE, strlen(MESSAGE)) ==
	       (ssize_t)strlen(MESSAGE) ? 0 : 1;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_completion,
				.sa_flags = SA_SIGINFO };
	int signo = SIGRTMIN, p[2], status, ret, ok = 1;
	sigset_t block, old;
	unsigned long work = 0;
	struct cport_sqe *sqe;
	struct cport_cqe *cqe;
	struct cport port;
	char buf[64] = "";
	pid_t pid;

	ex_start();
	ret = cport_queue_init(8, &port, 0);
	if (ret < 0)
		return ex_skip("completion-signal", "%s: %s",
			       CPORT_DEVICE_PATH, strerror(-ret));
	if (!(port.features & CPORT_FEAT_SIGNAL))
		return ex_skip("completion-signal",
			       "cport.ko without CPORT_FEAT_SIGNAL");
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) || pipe(p)) {
		perror("sigaction/pipe");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		_exit(child(p[1]));
	close(p[1]);
	/* On 6.1 a pipe is tried without blocking only if it is O_NONBLOCK. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);

	/* The signal stays blocked while we check, so none is missed. */
	sigemptyset(&block);
	sigaddset(&block, signo);
	sigprocmask(SIG_BLOCK, &block, &old);

	sqe = cport_get_sqe(&port);
	cport_prep_read(sqe, p[0], buf, sizeof(buf) - 1, CPORT_POS_CURRENT);
	cport_sqe_set_signal(sqe, signo, CPORT_SIG_PROCESS,
			     (uint64_t)(uintptr_t)&op_read);
	cport_sqe_set_data(sqe, &op_read);
	sqe = cport_get_sqe(&port);
	cport_prep_timeout(sqe, TIMER_MS * 1000000ULL, 0);
	cport_sqe_set_signal(sqe, signo, CPORT_SIG_PROCESS,
			     (uint64_t)(uintptr_t)&op_timer);
	cport_sqe_set_data(sqe, &op_timer);
	ret = cport_submit(&port);
	ex_say("parent", "submitted %d ops, each with signal %d; now working",
	       ret, signo);
	if (ret != 2)
		return 1;

	/* Our own work between signals; sigsuspend() when there is none. */
	while (nr_signals < 2 && ex_ms() < 10000) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		for (int i = 0; i < 100000; i++)
			work++;
		sigprocmask(SIG_BLOCK, &block, NULL);
		if (nr_signals < 2)
			sigsuspend(&old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Each signal came after its CQE: both are in the ring now. */
	while (cport_peek_cqe(&port, &cqe) == 0) {
		struct op *op = (struct op *)(uintptr_t)cqe->user_data;

		op->res = cqe->res;
		cport_cqe_seen(&port, cqe);
	}
	ex_say("parent", "%s: signal at %.1f ms, res %d%s%s%s", op_read.name,
	       op_read.t_signal, op_read.res, op_read.res > 0 ? " \"" : "",
	       op_read.res > 0 ? buf : "", op_read.res > 0 ? "\"" : "");
	ex_say("parent", "%s: signal at %.1f ms, res %d (from the timer "
	       "interrupt)", op_timer.name, op_timer.t_signal, op_timer.res);
	ex_say("parent", "counted to %lu meanwhile", work);

	waitpid(pid, &status, 0);
	ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ok &= op_read.signalled && op_timer.signalled && !bad_signals;
	ok &= op_read.res == (int32_t)strlen(MESSAGE) &&
	      !strcmp(buf, MESSAGE);
	ok &= op_timer.res == 1;
	/* The timer's signal came first, before the child wrote. */
	ok &= op_timer.t_signal < op_read.t_signal &&
	      op_timer.t_signal >= TIMER_MS && op_read.t_signal >= WRITE_MS;
	cport_queue_exit(&port);
	if (!ok) {
		ex_say("parent", "FAIL: not what this example shows");
		return 1;
	}
	ex_say("parent", "both completions arrived as signals, each after "
	       "its CQE");
	return 0;
}
