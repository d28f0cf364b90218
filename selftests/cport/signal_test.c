// SPDX-License-Identifier: GPL-2.0
/*
 * Completion signals (CPORT_SQE_F_SIGNAL): the siginfo, real-time signals
 * queued one per op and standard ones merged, the thread or the process
 * as target, completions from hard IRQ (a timer), a target thread that
 * exited, a full signal queue (RLIMIT_SIGPENDING), cancellation, close,
 * chains and drains, and every errno.
 *
 * Each test runs in its own process (the harness forks): its signal mask,
 * rlimits and pending signals are its own.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "cport_test.h"

#define WAIT_NS		(10 * NSEC_PER_SEC)
#define NOSIG_MSG	"no CPORT_FEAT_SIGNAL in this module"

FIXTURE(sig) {
	struct port pt;
	sigset_t set;
	int signo;
};

FIXTURE_SETUP(sig)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 16, 64, 0));
	if (!(self->pt.p.features & CPORT_FEAT_SIGNAL))
		SKIP(return, NOSIG_MSG);
	/* Blocked: the tests take the signals with sigtimedwait(). */
	self->signo = SIGRTMIN + 2;
	sigemptyset(&self->set);
	sigaddset(&self->set, self->signo);
	sigaddset(&self->set, SIGUSR1);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &self->set, NULL));
}

FIXTURE_TEARDOWN(sig)
{
	port_fini(&self->pt);
}

#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(0, sq_push((pt), &__s));				\
	ASSERT_EQ(1, sys_enter((pt)->fd, 1, 0, 0, 0));			\
} while (0)

#define NEXT(pt, c) ASSERT_EQ(0, cq_wait((pt), (c), WAIT_NS))

#define EXPECT_CQE(pt, ud, r) do {					\
	struct cport_cqe __c;						\
	NEXT((pt), &__c);						\
	EXPECT_EQ((__u64)(ud), __c.user_data);				\
	EXPECT_EQ((__s32)(r), __c.res);					\
	EXPECT_EQ(0U, __c.flags);					\
} while (0)

static struct cport_sqe with_sig(struct cport_sqe s, __u32 signo,
				 __u32 flags, __u64 value)
{
	s.flags |= CPORT_SQE_F_SIGNAL;
	s.sig_signo = signo;
	s.sig_flags = flags;
	s.sig_value = value;
	return s;
}

/* sigtimedwait() for @signo: the signal, or -errno (-EAGAIN: none). */
static int take(int signo, unsigned int ms, siginfo_t *si)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, signo);
	do {
		ret = sigtimedwait(&set, si, &ts);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static void expect_siginfo(struct __test_metadata *_metadata,
			   const siginfo_t *si, int signo, __u64 value)
{
	EXPECT_EQ(signo, si->si_signo);
	EXPECT_EQ(SI_ASYNCIO, si->si_code);
	EXPECT_EQ(value, (__u64)(uintptr_t)si->si_value.sival_ptr);
	EXPECT_EQ(getpid(), si->si_pid);
	EXPECT_EQ(getuid(), si->si_uid);
}

/* A NOP's signal: SI_ASYNCIO, our si_value, pid and uid; CQE first. */
TEST_F(sig, nop_signal_siginfo_after_cqe)
{
	const __u64 value = 0x1234567890abcdefULL;
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, with_sig(sqe_nop(0x11), self->signo, 0, value));
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	expect_siginfo(_metadata, &si, self->signo, value);
	/* The CQE was in the ring before the signal was queued. */
	EXPECT_EQ(1U, cq_ready(&self->pt));
	EXPECT_CQE(&self->pt, 0x11, 0);
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "sig_queued", 1, 2000));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "sig_lost"));
}

/* Real-time signals are queued one per op, in completion order. */
TEST_F(sig, rt_signals_queue_one_per_op)
{
	struct cport_sqe s[8];
	siginfo_t si;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 8; i++)
		s[i] = with_sig(sqe_nop(i), self->signo, 0, 100 + i);
	ASSERT_EQ(8, submit_n(&self->pt, s, 8));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
		EXPECT_EQ(100 + i, (int)(uintptr_t)si.si_value.sival_ptr);
	}
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "sig_queued", 8, 2000));
}

/* A standard signal already pending is merged, as the kernel does. */
TEST_F(sig, standard_signal_merges)
{
	struct cport_sqe s[3];
	siginfo_t si;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		s[i] = with_sig(sqe_nop(i), SIGUSR1, 0, 7 + i);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(SIGUSR1, take(SIGUSR1, 5000, &si));
	expect_siginfo(_metadata, &si, SIGUSR1, 7);
	EXPECT_EQ(-EAGAIN, take(SIGUSR1, 100, &si));
}

/* A timer's completion, in hard IRQ context, queues the signal. */
TEST_F(sig, timer_completion_in_irq_context)
{
	long long irq0 = fdinfo(self->pt.fd, "posted_irq");
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, with_sig(sqe_timeout(20 * NSEC_PER_MSEC, 0, 0, 0,
					       0x21), self->signo, 0, 0x5151));
	ASSERT_EQ(self->signo, take(self->signo, 10000, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x5151);
	EXPECT_CQE(&self->pt, 0x21, 1);
	EXPECT_LT(irq0, fdinfo(self->pt.fd, "posted_irq"));
}

/* A cancelled op still notifies (POSIX AIO does), with its own value. */
TEST_F(sig, cancelled_op_signals)
{
	struct cport_cqe c;
	siginfo_t si;
	int i, seen = 0;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, with_sig(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0,
					       0x31), self->signo, 0, 0x77));
	SUBMIT(&self->pt, sqe_timeout_remove(0x31, 0x32));
	for (i = 0; i < 2; i++) {
		NEXT(&self->pt, &c);
		if (c.user_data == 0x31) {
			EXPECT_EQ(-ECANCELED, c.res);
			seen |= 1;
		} else {
			EXPECT_EQ(0x32, c.user_data);
			EXPECT_EQ(0, c.res);
			seen |= 2;
		}
	}
	EXPECT_EQ(3, seen);
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x77);
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
}

/* Ops cancelled because the port is closed queue no signal. */
TEST_F(sig, close_drops_pending_signals)
{
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, with_sig(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0,
					       0x41), self->signo, 0, 1));
	SUBMIT(&self->pt, with_sig(sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0,
					       0x42), self->signo,
				   CPORT_SIG_PROCESS, 2));
	port_fini(&self->pt);
	EXPECT_EQ(-EAGAIN, take(self->signo, 300, &si));
}

/* A member of a chain and a drained SQE queue their signals too. */
TEST_F(sig, chain_member_and_drain)
{
	struct cport_sqe s[3];
	siginfo_t si;
	int i;

	CPORT_SKIP_IF_ABSENT();
	s[0] = sqe_nop(1);
	s[0].flags = CPORT_SQE_F_LINK;
	s[1] = with_sig(sqe_nop(2), self->signo, 0, 0x202);
	s[2] = with_sig(sqe_nop(3), self->signo, 0, 0x303);
	s[2].flags |= CPORT_SQE_F_DRAIN;
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	for (i = 0; i < 3; i++) {
		struct cport_cqe c;

		NEXT(&self->pt, &c);
		EXPECT_EQ(0, c.res);
	}
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	EXPECT_EQ(0x202, (int)(uintptr_t)si.si_value.sival_ptr);
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	EXPECT_EQ(0x303, (int)(uintptr_t)si.si_value.sival_ptr);
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
}

/* A linked timeout with a signal: the timeout's CQE queues it. */
TEST_F(sig, link_timeout_signal)
{
	struct cport_sqe s[2];
	struct cport_cqe c;
	siginfo_t si;
	int i;

	CPORT_SKIP_IF_ABSENT();
	s[0] = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 0x51);
	s[0].flags = CPORT_SQE_F_LINK;
	s[1] = with_sig((struct cport_sqe){ .opcode = CPORT_OP_LINK_TIMEOUT,
					    .off = 20 * NSEC_PER_MSEC,
					    .user_data = 0x52 },
			self->signo, 0, 0x5252);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	for (i = 0; i < 2; i++)
		NEXT(&self->pt, &c);
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	EXPECT_EQ(0x5252, (int)(uintptr_t)si.si_value.sival_ptr);
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
}

/* ------------------------------------------------------------------ */
/* targets: the submitting thread, or the process */

struct waiter {
	int signo;
	unsigned int ms;
	pid_t tid;
	int got;
	siginfo_t si;
};

/* A thread that blocks nothing but waits for the signal in sigtimedwait. */
static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;

	w->tid = syscall(SYS_gettid);
	w->got = take(w->signo, w->ms, &w->si);
	return NULL;
}

static void start_waiter(struct __test_metadata *_metadata,
			 struct waiter *w, pthread_t *t)
{
	int i;

	ASSERT_EQ(0, pthread_create(t, NULL, waiter_fn, w));
	for (i = 0; i < 5000 && !__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	ASSERT_TRUE(task_sleeps_in(w->tid, SYS_rt_sigtimedwait, 5000));
}

/* CPORT_SIG_PROCESS: a thread that does not block it (in sigwait) gets it. */
TEST_F(sig, process_target_thread_that_takes_it)
{
	struct waiter w = { .signo = self->signo, .ms = 10000 };
	siginfo_t si;
	pthread_t t;

	CPORT_SKIP_IF_ABSENT();
	start_waiter(_metadata, &w, &t);
	SUBMIT(&self->pt, with_sig(sqe_nop(0x61), self->signo,
				   CPORT_SIG_PROCESS, 0x6161));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(self->signo, w.got);
	expect_siginfo(_metadata, &w.si, self->signo, 0x6161);
	/* Not also pending for the submitter, which blocks it. */
	EXPECT_EQ(-EAGAIN, take(self->signo, 0, &si));
	EXPECT_CQE(&self->pt, 0x61, 0);
}

/* Without it the signal is the submitting thread's only. */
TEST_F(sig, thread_target_not_for_other_threads)
{
	struct waiter w = { .signo = self->signo, .ms = 300 };
	siginfo_t si;
	pthread_t t;

	CPORT_SKIP_IF_ABSENT();
	start_waiter(_metadata, &w, &t);
	SUBMIT(&self->pt, with_sig(sqe_nop(0x62), self->signo, 0, 0x6262));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EAGAIN, w.got);
	ASSERT_EQ(self->signo, take(self->signo, 0, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x6262);
}

struct submitter {
	struct port *pt;
	__u32 flags;
	int ret;
};

/* A thread that submits a 100 ms timer with a signal, then exits. */
static void *submit_and_exit(void *arg)
{
	struct submitter *s = arg;
	struct cport_sqe sqe = with_sig(sqe_timeout(100 * NSEC_PER_MSEC, 0,
						    0, 0, 0x71),
					SIGRTMIN + 2, s->flags, 0x7171);

	s->ret = sq_submit_one(s->pt, &sqe);
	return NULL;
}

/* The submitting thread exited: its signal is lost, and counted. */
TEST_F(sig, exited_thread_target_is_lost)
{
	struct submitter s = { .pt = &self->pt, .flags = 0 };
	siginfo_t si;
	pthread_t t;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_and_exit, &s));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, s.ret);
	EXPECT_CQE(&self->pt, 0x71, 1);
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "sig_lost", 1, 2000));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "sig_queued"));
	EXPECT_EQ(-EAGAIN, take(self->signo, 100, &si));
}

/* With CPORT_SIG_PROCESS a thread of the process still takes it. */
TEST_F(sig, exited_submitter_process_target)
{
	struct submitter s = { .pt = &self->pt, .flags = CPORT_SIG_PROCESS };
	siginfo_t si;
	pthread_t t;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_and_exit, &s));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, s.ret);
	EXPECT_CQE(&self->pt, 0x71, 1);
	/* Every thread blocks it: it waits for the leader, us. */
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x7171);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "sig_queued"));
}

struct blocked_submitter {
	struct port *pt;
	int ret;
	volatile int done;
	int pending;		/* the signal was pending for this thread */
};

/* Blocks every signal (a service thread), submits, stays alive. */
static void *submit_all_blocked(void *arg)
{
	struct blocked_submitter *s = arg;
	struct cport_sqe sqe = with_sig(sqe_nop(0x72), SIGRTMIN + 2,
					CPORT_SIG_PROCESS, 0x7272);
	sigset_t all, pend;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	s->ret = sq_submit_one(s->pt, &sqe);
	while (!s->done)
		usleep(1000);
	sigpending(&pend);
	s->pending = sigismember(&pend, SIGRTMIN + 2);
	return NULL;
}

/*
 * Every thread blocks it, the submitter is alive: it waits for the thread
 * group leader (us), not for the submitter, which may never unblock it.
 */
TEST_F(sig, every_thread_blocks_it_leader_takes_it)
{
	struct blocked_submitter s = { .pt = &self->pt };
	siginfo_t si;
	pthread_t t;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(SIGRTMIN + 2, self->signo);
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_all_blocked, &s));
	/* Queued while we were not waiting for it: we block it too. */
	ASSERT_TRUE(fdinfo_wait_eq(self->pt.fd, "sig_queued", 1, 5000));
	ASSERT_EQ(self->signo, take(self->signo, 0, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x7272);
	s.done = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, s.ret);
	EXPECT_EQ(0, s.pending);
	EXPECT_CQE(&self->pt, 0x72, 0);
}

/* RLIMIT_SIGPENDING reached: a real-time signal is lost, and counted. */
TEST_F(sig, full_signal_queue_loses_rt_signal)
{
	struct rlimit rl = { 0, 0 };
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, setrlimit(RLIMIT_SIGPENDING, &rl));
	SUBMIT(&self->pt, with_sig(sqe_nop(0x81), self->signo, 0, 1));
	EXPECT_CQE(&self->pt, 0x81, 0);
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "sig_lost", 1, 2000));
	EXPECT_EQ(-EAGAIN, take(self->signo, 100, &si));
}

/* ------------------------------------------------------------------ */
/* bad input: the exact errno, and no signal */

static void expect_einval_nosig(struct __test_metadata *_metadata,
				struct port *pt, struct cport_sqe s, int signo)
{
	siginfo_t si;

	EXPECT_EQ(-EINVAL, run_one(_metadata, pt, s));
	EXPECT_EQ(-EAGAIN, take(signo, 0, &si));
	EXPECT_EQ(-EAGAIN, take(SIGRTMIN + 2, 0, &si));
}

TEST_F(sig, bad_signal_numbers)
{
	CPORT_SKIP_IF_ABSENT();
	expect_einval_nosig(_metadata, &self->pt,
			    with_sig(sqe_nop(1), 0, 0, 1), self->signo);
	expect_einval_nosig(_metadata, &self->pt,
			    with_sig(sqe_nop(2), 65, 0, 1), self->signo);
	expect_einval_nosig(_metadata, &self->pt,
			    with_sig(sqe_nop(3), 0xffffffff, 0, 1),
			    self->signo);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "sig_queued"));
}

TEST_F(sig, bad_signal_flags)
{
	__u32 bad[] = { 2, 0x40000000, 0x80000000, 0xc0000000, 0xffffffff };
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	/* The top two are the kernel's own marks: never taken from users. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_einval_nosig(_metadata, &self->pt,
				    with_sig(sqe_nop(i), self->signo, bad[i],
					     1),
				    self->signo);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "sig_queued"));
}

/* Not with an event flag: they share the SQE's last 16 bytes. */
TEST_F(sig, not_with_event_flag)
{
	struct cport_sqe s = with_sig(sqe_nop(1), self->signo, 0, 0);

	CPORT_SKIP_IF_ABSENT();
	s.flags |= CPORT_SQE_F_EVENT_FLAG;
	expect_einval_nosig(_metadata, &self->pt, s, self->signo);
	EXPECT_EQ(0, flags_of(self->pt.fd, CPORT_LOCAL));
}

/* Not for multishot ops: one signal per op. */
TEST_F(sig, not_for_multishot_ops)
{
	struct cport_sqe s;
	int fds[2];

	CPORT_SKIP_IF_ABSENT();
	s = sqe_timeout(NSEC_PER_MSEC, CPORT_TIMEOUT_MULTISHOT, 3,
			NSEC_PER_MSEC, 1);
	expect_einval_nosig(_metadata, &self->pt,
			    with_sig(s, self->signo, 0, 1), self->signo);
	ASSERT_EQ(0, pipe(fds));
	s = (struct cport_sqe){ .opcode = CPORT_OP_POLL_ADD, .fd = fds[0],
				.len = POLLIN,
				.op_flags = CPORT_POLL_MULTISHOT,
				.user_data = 2 };
	expect_einval_nosig(_metadata, &self->pt,
			    with_sig(s, self->signo, 0, 1), self->signo);
	close(fds[0]);
	close(fds[1]);
}

/* Without CPORT_SQE_F_SIGNAL the fields must be 0, as before. */
TEST_F(sig, fields_without_the_flag)
{
	struct cport_sqe s = sqe_nop(1);

	CPORT_SKIP_IF_ABSENT();
	s.sig_value = 5;
	expect_einval_nosig(_metadata, &self->pt, s, self->signo);
	s = sqe_nop(2);
	s.sig_signo = self->signo;
	expect_einval_nosig(_metadata, &self->pt, s, self->signo);
}

/* An op that fails on its own still queues its (valid) signal. */
TEST_F(sig, failing_op_signals)
{
	struct cport_sqe s;
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	s = with_sig(sqe_rw(CPORT_OP_READ, -1, NULL, 0, 0, 0x91),
		     self->signo, 0, 0x9191);
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt, s));
	ASSERT_EQ(self->signo, take(self->signo, 5000, &si));
	expect_siginfo(_metadata, &si, self->signo, 0x9191);
}

TEST_HARNESS_MAIN
