// SPDX-License-Identifier: GPL-2.0
/*
 * libcportaio (aio/, cport-aio(7)): POSIX AIO calls as a program uses
 * them: aio_read, aio_write, aio_fsync, aio_error, aio_return,
 * aio_suspend, aio_cancel and lio_listio, with SIGEV_NONE, SIGEV_SIGNAL
 * (the kernel's completion signal, aio_error() in the handler) and
 * SIGEV_THREAD, on a regular file and on a pipe (one request at a time,
 * in order, the waiting ones cancelable), O_APPEND, offsets beyond 2 GiB,
 * EAGAIN, EINTR, and the errors reported at submission.
 *
 * Built three ways, one test list: aio_test (static, libcportaio.a before
 * libc.a), aio_linked_test (dynamic, -lcportaio) and aio_preload_test
 * (dynamic, glibc's aio, run with LD_PRELOAD=libcportaio.so.1): the first
 * test fails if the calls are glibc's.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <aio.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "cport_test.h"

#define NSEC	1000000000L

FIXTURE(aio) {
	char path[64];
	int fd;
};

FIXTURE_SETUP(aio)
{
	self->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	snprintf(self->path, sizeof(self->path), "/tmp/aio_test.%d",
		 getpid());
	self->fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(aio)
{
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
}

static struct aiocb cb_of(int fd, void *buf, size_t n, off_t off)
{
	struct aiocb cb;

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = buf;
	cb.aio_nbytes = n;
	cb.aio_offset = off;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	return cb;
}

/* aio_suspend() until @cb is done, 10 s at most; its aio_error(). */
static int wait_done(struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	struct timespec ts = { 10, 0 };

	while (aio_error(cb) == EINPROGRESS)
		if (aio_suspend(list, 1, &ts) && errno != EINTR)
			return -errno;
	return aio_error(cb);
}

/* What descriptor @fd is (its /proc/self/fd link) into @buf; or NULL. */
static const char *fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/*
 * How many descriptors of this process are @what (a /proc/self/fd link);
 * @fds: those fds, up to 8.
 */
static int fds_of(const char *what, int *fds)
{
	char target[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		if (!fd_link(fd, target, sizeof(target)) ||
		    strcmp(target, what))
			continue;
		if (fds && n < 8)
			fds[n] = fd;
		n++;
	}
	return n;
}

/* Some descriptor of this process is a cport port. */
static bool has_port_fd(void)
{
	return fds_of(CPORT_DEV, NULL) > 0;
}

/* These calls are libcportaio's, on a port, not glibc's thread pool. */
TEST_F(aio, requests_go_through_a_port)
{
	char buf[8] = "port";
	struct aiocb w;

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_TRUE(has_port_fd());
}

TEST_F(aio, write_then_read_back)
{
	char out[4096], in[4096];
	struct aiocb w, r;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < (int)sizeof(out); i++)
		out[i] = (char)(i * 7);
	w = cb_of(self->fd, out, sizeof(out), 8192);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_EQ((ssize_t)sizeof(out), aio_return(&w));
	r = cb_of(self->fd, in, sizeof(in), 8192);
	ASSERT_EQ(0, aio_read(&r));
	ASSERT_EQ(0, wait_done(&r));
	EXPECT_EQ((ssize_t)sizeof(in), aio_return(&r));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	/* At the end of the file: 0 bytes, no error. */
	r = cb_of(self->fd, in, sizeof(in), 1 << 20);
	ASSERT_EQ(0, aio_read(&r));
	ASSERT_EQ(0, wait_done(&r));
	EXPECT_EQ(0, aio_return(&r));
}

TEST_F(aio, many_in_flight_and_suspend_any)
{
	enum { N = 64 };
	static char bufs[N][512];
	struct aiocb cbs[N];
	const struct aiocb *list[N];
	int i, done = 0;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < N; i++) {
		memset(bufs[i], 'a' + i % 26, sizeof(bufs[i]));
		cbs[i] = cb_of(self->fd, bufs[i], sizeof(bufs[i]), i * 512);
		list[i] = &cbs[i];
		ASSERT_EQ(0, aio_write(&cbs[i]));
	}
	while (done < N) {
		struct timespec ts = { 10, 0 };

		ASSERT_EQ(0, aio_suspend(list, N, &ts));
		for (i = 0; i < N; i++) {
			if (!list[i] || aio_error(list[i]) == EINPROGRESS)
				continue;
			EXPECT_EQ(0, aio_error(list[i]));
			EXPECT_EQ(512, aio_return(&cbs[i]));
			list[i] = NULL;
			done++;
		}
	}
	EXPECT_EQ(N * 512, lseek(self->fd, 0, SEEK_END));
}

TEST_F(aio, fsync_and_fdatasync)
{
	struct aiocb w, f;
	char buf[100] = "sync me";

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	ASSERT_EQ(0, aio_write(&w));
	f = cb_of(self->fd, NULL, 0, 0);
	ASSERT_EQ(0, aio_fsync(O_SYNC, &f));
	ASSERT_EQ(0, wait_done(&f));
	EXPECT_EQ(0, aio_return(&f));
	ASSERT_EQ(0, wait_done(&w));
	f = cb_of(self->fd, NULL, 0, 0);
	ASSERT_EQ(0, aio_fsync(O_DSYNC, &f));
	ASSERT_EQ(0, wait_done(&f));
	/* Neither O_SYNC nor O_DSYNC: EINVAL at once. */
	errno = 0;
	EXPECT_EQ(-1, aio_fsync(O_RDONLY, &f));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(aio, offset_beyond_2gib)
{
	off_t off = (3LL << 30) + 4096;
	char out[64] = "past two gibibytes", in[64];
	struct aiocb w, r;

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, out, sizeof(out), off);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_EQ((ssize_t)sizeof(out), aio_return(&w));
	r = cb_of(self->fd, in, sizeof(in), off);
	ASSERT_EQ(0, aio_read64((struct aiocb64 *)&r));
	ASSERT_EQ(0, wait_done(&r));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	EXPECT_EQ(off + (off_t)sizeof(out), lseek(self->fd, 0, SEEK_END));
}

TEST_F(aio, append_writes_in_call_order)
{
	struct aiocb w[8];
	char bufs[8][4], all[32];
	int fd, i;

	CPORT_SKIP_IF_ABSENT();
	fd = open(self->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < 8; i++) {
		memset(bufs[i], '0' + i, 4);
		/* The offset does not matter with O_APPEND. */
		w[i] = cb_of(fd, bufs[i], 4, 0);
		ASSERT_EQ(0, aio_write(&w[i]));
	}
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, wait_done(&w[i]));
		EXPECT_EQ(4, aio_return(&w[i]));
	}
	ASSERT_EQ(32, pread(self->fd, all, 32, 0));
	for (i = 0; i < 32; i++)
		EXPECT_EQ('0' + i / 4, all[i]);
	close(fd);
}

/*
 * A pipe (@flags: pipe2()'s) whose reads wait: the first is running, the
 * rest are queued.
 */
static int pipe_reads(int p[2], int flags, struct aiocb *r, char (*in)[8],
		      int n)
{
	int i;

	if (pipe2(p, flags | O_CLOEXEC))
		return -1;
	for (i = 0; i < n; i++) {
		r[i] = cb_of(p[0], in[i], 4, 0);
		if (aio_read(&r[i]))
			return -1;
	}
	usleep(20000);
	return 0;
}

/* Write 4 bytes per read of @r into the pipe: they get them in order. */
static void expect_reads_in_order(struct __test_metadata *_metadata,
				  int wfd, struct aiocb *r, char (*in)[8],
				  int n)
{
	char data[64];
	int i;

	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	for (i = 0; i < 4 * n; i++)
		data[i] = (char)('A' + i / 4);
	ASSERT_EQ(4 * n, write(wfd, data, 4 * n));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, wait_done(&r[i]));
		EXPECT_EQ(4, aio_return(&r[i]));
		EXPECT_EQ(0, memcmp(in[i], data + 4 * i, 4));
	}
}

/* A pipe: reads wait for data, one at a time, in the order of the calls. */
TEST_F(aio, pipe_reads_in_order)
{
	struct aiocb r[3];
	char in[3][8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe_reads(p, O_NONBLOCK, r, in, 3));
	expect_reads_in_order(_metadata, p[1], r, in, 3);
	close(p[0]);
	close(p[1]);
}

static volatile sig_atomic_t handler_seen, handler_err;
static volatile ssize_t handler_ret;
static struct aiocb *volatile handler_cb;

static void on_aio_signal(int signo, siginfo_t *si, void *uc)
{
	struct aiocb *cb = si->si_value.sival_ptr;

	(void)signo;
	(void)uc;
	if (si->si_code != SI_ASYNCIO || cb != handler_cb) {
		handler_err = -1;
		return;
	}
	/* The result is there in the handler already. */
	handler_err = aio_error(cb);
	handler_ret = aio_return(cb);
	handler_seen = 1;
}

TEST_F(aio, sigev_signal_from_the_kernel)
{
	struct sigaction sa = { .sa_sigaction = on_aio_signal,
				.sa_flags = SA_SIGINFO };
	char buf[32] = "signalled";
	struct aiocb w;
	sigset_t set, old;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sigaction(SIGRTMIN + 5, &sa, NULL));
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 5);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, &old));
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	w.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	w.aio_sigevent.sigev_signo = SIGRTMIN + 5;
	w.aio_sigevent.sigev_value.sival_ptr = &w;
	handler_cb = &w;
	ASSERT_EQ(0, aio_write(&w));
	for (i = 0; i < 1000 && !handler_seen; i++) {
		struct timespec ts = { 0, 10000000 };
		siginfo_t si;

		sigprocmask(SIG_SETMASK, &old, NULL);
		nanosleep(&ts, NULL);
		sigprocmask(SIG_BLOCK, &set, NULL);
		(void)si;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	ASSERT_TRUE(handler_seen);
	EXPECT_EQ(0, handler_err);
	EXPECT_EQ((ssize_t)sizeof(buf), handler_ret);
}

static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t thr_cond = PTHREAD_COND_INITIALIZER;
static int thr_calls;
static void *thr_value;
static pthread_t thr_self;

static void on_aio_thread(union sigval v)
{
	pthread_mutex_lock(&thr_lock);
	thr_calls++;
	thr_value = v.sival_ptr;
	thr_self = pthread_self();
	pthread_cond_broadcast(&thr_cond);
	pthread_mutex_unlock(&thr_lock);
}

TEST_F(aio, sigev_thread_calls_the_function)
{
	char buf[16] = "thread";
	struct timespec until;
	struct aiocb w;

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	w.aio_sigevent.sigev_notify = SIGEV_THREAD;
	w.aio_sigevent.sigev_notify_function = on_aio_thread;
	w.aio_sigevent.sigev_value.sival_ptr = &w;
	ASSERT_EQ(0, aio_write(&w));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&thr_lock);
	while (!thr_calls &&
	       !pthread_cond_timedwait(&thr_cond, &thr_lock, &until))
		;
	pthread_mutex_unlock(&thr_lock);
	ASSERT_EQ(1, thr_calls);
	EXPECT_EQ(&w, thr_value);
	EXPECT_FALSE(pthread_equal(thr_self, pthread_self()));
	EXPECT_EQ(0, aio_error(&w));
	EXPECT_EQ((ssize_t)sizeof(buf), aio_return(&w));
}

/*
 * SIGEV_THREAD with the aiocb reused as soon as aio_error() says done:
 * the notification still has the sigevent the request was given.
 */
TEST_F(aio, sigev_thread_aiocb_reused_at_once)
{
	char buf[16] = "reuse";
	struct timespec until;
	struct aiocb *w = malloc(sizeof(*w));
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, w);
	pthread_mutex_lock(&thr_lock);
	thr_calls = 0;
	thr_value = NULL;
	pthread_mutex_unlock(&thr_lock);
	for (i = 0; i < 20; i++) {
		*w = cb_of(self->fd, buf, sizeof(buf), 0);
		w->aio_sigevent.sigev_notify = SIGEV_THREAD;
		w->aio_sigevent.sigev_notify_function = on_aio_thread;
		w->aio_sigevent.sigev_value.sival_int = 1000 + i;
		ASSERT_EQ(0, aio_write(w));
		while (aio_error(w) == EINPROGRESS)
			;
		EXPECT_EQ((ssize_t)sizeof(buf), aio_return(w));
		memset(w, 0xa5, sizeof(*w));
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&thr_lock);
		while (thr_calls < i + 1 &&
		       !pthread_cond_timedwait(&thr_cond, &thr_lock, &until))
			;
		EXPECT_EQ(i + 1, thr_calls);
		EXPECT_EQ(1000 + i, (int)(intptr_t)thr_value);
		pthread_mutex_unlock(&thr_lock);
	}
	free(w);
}

TEST_F(aio, errors_at_submission_and_completion)
{
	char buf[16];
	struct aiocb cb;

	CPORT_SKIP_IF_ABSENT();
	cb = cb_of(-1, buf, sizeof(buf), 0);
	errno = 0;
	EXPECT_EQ(-1, aio_read(&cb));
	EXPECT_EQ(EBADF, errno);
	cb = cb_of(self->fd, buf, sizeof(buf), -1);
	errno = 0;
	EXPECT_EQ(-1, aio_read(&cb));
	EXPECT_EQ(EINVAL, errno);
	cb = cb_of(self->fd, buf, sizeof(buf), 0);
	cb.aio_reqprio = -1;
	errno = 0;
	EXPECT_EQ(-1, aio_write(&cb));
	EXPECT_EQ(EINVAL, errno);
	cb = cb_of(self->fd, buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = 12345;
	errno = 0;
	EXPECT_EQ(-1, aio_write(&cb));
	EXPECT_EQ(EINVAL, errno);
	/* A bad buffer is reported by aio_error(). */
	cb = cb_of(self->fd, (void *)8, sizeof(buf), 0);
	ASSERT_EQ(0, aio_write(&cb));
	EXPECT_EQ(EFAULT, wait_done(&cb));
	EXPECT_EQ(-1, aio_return(&cb));
}

/* The child of fork() has no requests and a port of its own. */
TEST_F(aio, fork_child_starts_afresh)
{
	char buf[8] = "parent";
	struct aiocb w;
	int status;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char b[8] = "child";
		struct aiocb c = cb_of(self->fd, b, sizeof(b), 64);

		_exit(aio_write(&c) || wait_done(&c) ||
		      aio_return(&c) != (ssize_t)sizeof(b) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Exec-safe: the port does not outlive an exec. */
TEST_F(aio, port_is_close_on_exec)
{
	char buf[4] = "x";
	struct aiocb w;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	ASSERT_EQ(1, fds_of(CPORT_DEV, &fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

TEST_F(aio, cancel_one_queued_on_a_stream)
{
	struct aiocb r[3];
	char in[3][8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe_reads(p, O_NONBLOCK, r, in, 3));
	/* The second: queued behind the first, so cancelled. */
	EXPECT_EQ(AIO_CANCELED, aio_cancel(p[0], &r[1]));
	EXPECT_EQ(ECANCELED, aio_error(&r[1]));
	EXPECT_EQ(-1, aio_return(&r[1]));
	/* The first is running on a stream: not cancelable, in progress. */
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], &r[0]));
	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	EXPECT_EQ(EINPROGRESS, aio_error(&r[2]));
	/* The rest still run in order: the third gets the second four. */
	ASSERT_EQ(8, write(p[1], "AAAACCCC", 8));
	ASSERT_EQ(0, wait_done(&r[0]));
	ASSERT_EQ(0, wait_done(&r[2]));
	EXPECT_EQ(0, memcmp(in[0], "AAAA", 4));
	EXPECT_EQ(0, memcmp(in[2], "CCCC", 4));
	/* Done: nothing to cancel. */
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[0], &r[0]));
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[0], &r[1]));
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[0], NULL));
	close(p[0]);
	close(p[1]);
}

TEST_F(aio, cancel_all_on_a_descriptor)
{
	struct aiocb r[4];
	char in[4][8];
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe_reads(p, O_NONBLOCK, r, in, 4));
	/* One of them is running: AIO_NOTCANCELED, the rest cancelled. */
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], NULL));
	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	for (i = 1; i < 4; i++) {
		EXPECT_EQ(ECANCELED, aio_error(&r[i]));
		EXPECT_EQ(-1, aio_return(&r[i]));
	}
	ASSERT_EQ(4, write(p[1], "DDDD", 4));
	ASSERT_EQ(0, wait_done(&r[0]));
	EXPECT_EQ(4, aio_return(&r[0]));
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[0], NULL));
	/* A descriptor that never had a request. */
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[1], NULL));
	close(p[0]);
	close(p[1]);
}

TEST_F(aio, cancel_errors)
{
	char buf[4];
	struct aiocb cb;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	close(fd);
	errno = 0;
	EXPECT_EQ(-1, aio_cancel(fd, NULL));
	EXPECT_EQ(EBADF, errno);
	/* aio_fildes is not the descriptor named. */
	cb = cb_of(self->fd, buf, sizeof(buf), 0);
	errno = 0;
	EXPECT_EQ(-1, aio_cancel(0, &cb));
	EXPECT_EQ(EINVAL, errno);
}

static volatile sig_atomic_t cancel_sigs, cancel_sig_bad;

static void on_cancel_signal(int signo, siginfo_t *si, void *uc)
{
	struct aiocb *cb = si->si_value.sival_ptr;

	(void)signo;
	(void)uc;
	if (si->si_code != SI_ASYNCIO || aio_error(cb) != ECANCELED)
		cancel_sig_bad = 1;
	else
		cancel_sigs++;
}

/* A cancelled request is notified as any other: signal and thread. */
TEST_F(aio, cancelled_requests_are_notified)
{
	struct sigaction sa = { .sa_sigaction = on_cancel_signal,
				.sa_flags = SA_SIGINFO };
	struct timespec until;
	struct aiocb r[3];
	char in[3][8];
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sigaction(SIGRTMIN + 6, &sa, NULL));
	pthread_mutex_lock(&thr_lock);
	thr_calls = 0;
	thr_value = NULL;
	pthread_mutex_unlock(&thr_lock);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (i = 0; i < 3; i++)
		r[i] = cb_of(p[0], in[i], 4, 0);
	r[1].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	r[1].aio_sigevent.sigev_signo = SIGRTMIN + 6;
	r[1].aio_sigevent.sigev_value.sival_ptr = &r[1];
	r[2].aio_sigevent.sigev_notify = SIGEV_THREAD;
	r[2].aio_sigevent.sigev_notify_function = on_aio_thread;
	r[2].aio_sigevent.sigev_value.sival_ptr = &r[2];
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, aio_read(&r[i]));
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], NULL));
	for (i = 0; i < 1000 && !cancel_sigs; i++)
		usleep(10000);
	EXPECT_EQ(1, cancel_sigs);
	EXPECT_EQ(0, cancel_sig_bad);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&thr_lock);
	while (!thr_calls &&
	       !pthread_cond_timedwait(&thr_cond, &thr_lock, &until))
		;
	EXPECT_EQ(1, thr_calls);
	EXPECT_EQ(&r[2], thr_value);
	pthread_mutex_unlock(&thr_lock);
	ASSERT_EQ(4, write(p[1], "EEEE", 4));
	ASSERT_EQ(0, wait_done(&r[0]));
	close(p[0]);
	close(p[1]);
}

/*
 * aio_fsync() covers every request queued before it: it completes after
 * all of them, however many there are and whatever order they run in.
 */
TEST_F(aio, fsync_after_earlier_writes)
{
	enum { N = 32 };
	static char bufs[N][4096];
	struct aiocb w[N], f;
	int round, i;

	CPORT_SKIP_IF_ABSENT();
	for (round = 0; round < 10; round++) {
		for (i = 0; i < N; i++) {
			memset(bufs[i], 'A' + round, sizeof(bufs[i]));
			w[i] = cb_of(self->fd, bufs[i], sizeof(bufs[i]),
				     (off_t)i * 4096);
			ASSERT_EQ(0, aio_write(&w[i]));
		}
		f = cb_of(self->fd, NULL, 0, 0);
		ASSERT_EQ(0, aio_fsync(round & 1 ? O_DSYNC : O_SYNC, &f));
		ASSERT_EQ(0, wait_done(&f));
		/* Done before the fsync, without waiting for them here. */
		for (i = 0; i < N; i++)
			ASSERT_NE(EINPROGRESS, aio_error(&w[i]));
		for (i = 0; i < N; i++)
			EXPECT_EQ(4096, aio_return(&w[i]));
	}
}

TEST_F(aio, fsync_errors)
{
	struct aiocb f;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	/* POSIX: a descriptor open for writing. */
	fd = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	f = cb_of(fd, NULL, 0, 0);
	errno = 0;
	EXPECT_EQ(-1, aio_fsync(O_SYNC, &f));
	EXPECT_EQ(EBADF, errno);
	close(fd);
	f = cb_of(fd, NULL, 0, 0);
	errno = 0;
	EXPECT_EQ(-1, aio_fsync(O_DSYNC, &f));
	EXPECT_EQ(EBADF, errno);
}

static void fill_list(struct aiocb *cbs, struct aiocb **list, int fd,
		      char (*bufs)[512], int n, int opcode)
{
	int i;

	for (i = 0; i < n; i++) {
		cbs[i] = cb_of(fd, bufs[i], 512, (off_t)i * 512);
		cbs[i].aio_lio_opcode = opcode;
		list[i] = &cbs[i];
	}
}

TEST_F(aio, lio_listio_wait)
{
	enum { N = 16 };
	static char out[N][512], in[N][512];
	struct aiocb cbs[N], *list[N + 2];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < N; i++)
		memset(out[i], 'a' + i, 512);
	fill_list(cbs, list, self->fd, out, N, LIO_WRITE);
	/* NULL entries and LIO_NOP are skipped. */
	list[N] = NULL;
	ASSERT_EQ(0, lio_listio(LIO_WAIT, list, N + 1, NULL));
	for (i = 0; i < N; i++) {
		EXPECT_EQ(0, aio_error(&cbs[i]));
		EXPECT_EQ(512, aio_return(&cbs[i]));
	}
	fill_list(cbs, list, self->fd, in, N, LIO_READ);
	cbs[3].aio_lio_opcode = LIO_NOP;
	cbs[3].__error_code = EINPROGRESS;	/* never looked at */
	ASSERT_EQ(0, lio_listio(LIO_WAIT, list, N, NULL));
	for (i = 0; i < N; i++) {
		if (i == 3)
			continue;
		EXPECT_EQ(512, aio_return(&cbs[i]));
		EXPECT_EQ(0, memcmp(out[i], in[i], 512));
	}
	/* An empty list. */
	EXPECT_EQ(0, lio_listio(LIO_WAIT, list, 0, NULL));
}

/* A member fails: EIO, its own status says why, the others still ran. */
TEST_F(aio, lio_listio_member_fails)
{
	static char bufs[3][512];
	struct aiocb cbs[3], *list[3];

	CPORT_SKIP_IF_ABSENT();
	fill_list(cbs, list, self->fd, bufs, 3, LIO_WRITE);
	cbs[1].aio_offset = -1;			/* at submission */
	cbs[2].aio_buf = (void *)8;		/* in the kernel */
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_WAIT, list, 3, NULL));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, aio_error(&cbs[0]));
	EXPECT_EQ(512, aio_return(&cbs[0]));
	EXPECT_EQ(EINVAL, aio_error(&cbs[1]));
	EXPECT_EQ(-1, aio_return(&cbs[1]));
	EXPECT_EQ(EFAULT, aio_error(&cbs[2]));
	/* LIO_NOWAIT: EIO for what failed at submission only. */
	fill_list(cbs, list, self->fd, bufs, 3, LIO_WRITE);
	cbs[0].aio_lio_opcode = 77;
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_NOWAIT, list, 3, NULL));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(EINVAL, aio_error(&cbs[0]));
	EXPECT_EQ(0, wait_done(&cbs[1]));
	EXPECT_EQ(0, wait_done(&cbs[2]));
}

TEST_F(aio, lio_listio_errors)
{
	static char bufs[1][512];
	struct aiocb cbs[1], *list[1];
	struct sigevent bad = { .sigev_notify = 999 };

	CPORT_SKIP_IF_ABSENT();
	fill_list(cbs, list, self->fd, bufs, 1, LIO_WRITE);
	errno = 0;
	EXPECT_EQ(-1, lio_listio(7, list, 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_WAIT, list, -1, NULL));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_NOWAIT, list, 1, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* More than AIO_LISTIO_MAX (sysconf): EINVAL. */
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_NOWAIT, list, 1 << 20, NULL));
	EXPECT_EQ(EINVAL, errno);
}

static volatile sig_atomic_t list_sigs, list_sig_bad;
static struct aiocb *list_cbs;
static int list_n;

static void on_list_signal(int signo, siginfo_t *si, void *uc)
{
	int i;

	(void)signo;
	(void)uc;
	if (si->si_code != SI_ASYNCIO || si->si_value.sival_int != 4242)
		list_sig_bad = 1;
	/* The whole list is done when its signal comes. */
	for (i = 0; i < list_n; i++)
		if (aio_error(&list_cbs[i]) != 0)
			list_sig_bad = 2;
	list_sigs++;
}

TEST_F(aio, lio_listio_nowait_notifies_after_the_whole_list)
{
	enum { N = 24 };
	static char bufs[N][512];
	struct sigaction sa = { .sa_sigaction = on_list_signal,
				.sa_flags = SA_SIGINFO };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL };
	struct aiocb cbs[N], *list[N], nops[N], *nop_list[N];
	struct timespec until;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sigaction(SIGRTMIN + 7, &sa, NULL));
	ev.sigev_signo = SIGRTMIN + 7;
	ev.sigev_value.sival_int = 4242;
	fill_list(cbs, list, self->fd, bufs, N, LIO_WRITE);
	list_cbs = cbs;
	list_n = N;
	ASSERT_EQ(0, lio_listio(LIO_NOWAIT, list, N, &ev));
	for (i = 0; i < 1000 && !list_sigs; i++)
		usleep(10000);
	EXPECT_EQ(1, list_sigs);
	EXPECT_EQ(0, list_sig_bad);
	/* SIGEV_THREAD, and a list with nothing in it: notified at once. */
	pthread_mutex_lock(&thr_lock);
	thr_calls = 0;
	pthread_mutex_unlock(&thr_lock);
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = on_aio_thread;
	ev.sigev_value.sival_ptr = list;
	fill_list(cbs, list, self->fd, bufs, N, LIO_READ);
	ASSERT_EQ(0, lio_listio(LIO_NOWAIT, list, N, &ev));
	fill_list(nops, nop_list, self->fd, bufs, N, LIO_NOP);
	ASSERT_EQ(0, lio_listio(LIO_NOWAIT, nop_list, N, &ev));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&thr_lock);
	while (thr_calls < 2 &&
	       !pthread_cond_timedwait(&thr_cond, &thr_lock, &until))
		;
	EXPECT_EQ(2, thr_calls);
	EXPECT_EQ((void *)list, thr_value);
	pthread_mutex_unlock(&thr_lock);
	for (i = 0; i < N; i++)
		EXPECT_EQ(0, wait_done(&cbs[i]));
}

static void on_alarm(int signo)
{
	(void)signo;
}

/* A signal ends aio_suspend() and lio_listio(LIO_WAIT) with EINTR. */
TEST_F(aio, interrupted_by_a_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no restart */
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct timespec ts = { 10, 0 };
	const struct aiocb *clist[1];
	struct aiocb r[2], *list[1];
	char in[2][8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, pipe_reads(p, O_NONBLOCK, r, in, 1));
	clist[0] = &r[0];
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	errno = 0;
	EXPECT_EQ(-1, aio_suspend(clist, 1, &ts));
	EXPECT_EQ(EINTR, errno);
	/* lio_listio(LIO_WAIT): a second read, behind the first. */
	r[1] = cb_of(p[0], in[1], 4, 0);
	r[1].aio_lio_opcode = LIO_READ;
	list[0] = &r[1];
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	errno = 0;
	EXPECT_EQ(-1, lio_listio(LIO_WAIT, list, 1, NULL));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(EINPROGRESS, aio_error(&r[1]));
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], NULL));
	EXPECT_EQ(ECANCELED, aio_error(&r[1]));
	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	close(p[1]);	/* end of file for the first read */
	EXPECT_EQ(0, wait_done(&r[0]));
	EXPECT_EQ(0, aio_return(&r[0]));
	close(p[0]);
}

TEST_F(aio, suspend_timeout_and_errors)
{
	struct timespec zero = { 0, 0 }, short_ts = { 0, 30000000 };
	struct timespec bad = { 0, 1000000000L };
	const struct aiocb *clist[2];
	struct timespec t0, t1;
	struct aiocb r[1];
	char in[1][8];
	int p[2];
	long ms;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe_reads(p, O_NONBLOCK, r, in, 1));
	clist[0] = NULL;	/* NULL entries are ignored */
	clist[1] = &r[0];
	errno = 0;
	EXPECT_EQ(-1, aio_suspend(clist, 2, &zero));
	EXPECT_EQ(EAGAIN, errno);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	EXPECT_EQ(-1, aio_suspend(clist, 2, &short_ts));
	EXPECT_EQ(EAGAIN, errno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_LE(30, ms);
	errno = 0;
	EXPECT_EQ(-1, aio_suspend(clist, 2, &bad));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(4, write(p[1], "FFFF", 4));
	EXPECT_EQ(0, aio_suspend(clist, 2, NULL));
	EXPECT_EQ(0, aio_error(&r[0]));
	close(p[0]);
	close(p[1]);
}

/* Past AIO_MAX (cport-aio(7): 4096 requests at once): EAGAIN, no drop. */
TEST_F(aio, eagain_when_full)
{
	enum { MAX = 4096 };
	struct aiocb *r = calloc(MAX + 1, sizeof(*r));
	char in[8];
	int p[2], i, n;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (n = 0; n <= MAX; n++) {
		r[n] = cb_of(p[0], in, 1, 0);
		if (aio_read(&r[n]))
			break;
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LT(0, n);
	EXPECT_GE(MAX, n);
	/* Every request that was taken is still there. */
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], NULL));
	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	for (i = 1; i < n; i++)
		ASSERT_EQ(ECANCELED, aio_error(&r[i]));
	ASSERT_EQ(1, write(p[1], "G", 1));
	ASSERT_EQ(0, wait_done(&r[0]));
	/* Room again. */
	r[1] = cb_of(p[0], in, 1, 0);
	EXPECT_EQ(0, aio_read(&r[1]));
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[0], NULL));
	close(p[1]);
	EXPECT_EQ(0, wait_done(&r[1]));
	EXPECT_EQ(0, aio_return(&r[1]));
	close(p[0]);
	free(r);
}

/* Threads submitting and waiting at once, on one file. */
struct mt_arg {
	int fd;
	int id;
	int bad;
};

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	char out[256], in[256];
	struct aiocb w, r;
	int i;

	for (i = 0; i < 50; i++) {
		off_t off = ((off_t)a->id * 50 + i) * 256;

		memset(out, a->id * 50 + i, sizeof(out));
		w = cb_of(a->fd, out, sizeof(out), off);
		if (aio_write(&w) || wait_done(&w) || aio_return(&w) != 256)
			a->bad++;
		r = cb_of(a->fd, in, sizeof(in), off);
		if (aio_read(&r) || wait_done(&r) || aio_return(&r) != 256 ||
		    memcmp(in, out, sizeof(in)))
			a->bad++;
	}
	return NULL;
}

TEST_F(aio, threads_at_once)
{
	struct mt_arg args[4];
	pthread_t t[4];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 4; i++) {
		args[i] = (struct mt_arg){ .fd = self->fd, .id = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mt_worker, &args[i]));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, args[i].bad);
	}
}

/* A blocking pipe (no O_NONBLOCK): reads wait in order, writes write all. */
struct pipe_reader {
	int fd;
	size_t want;
	char *buf;
	size_t got;
};

static void *read_all(void *arg)
{
	struct pipe_reader *pr = arg;
	ssize_t n;

	while (pr->got < pr->want) {
		n = read(pr->fd, pr->buf + pr->got, pr->want - pr->got);
		if (n <= 0)
			break;
		pr->got += n;
	}
	return NULL;
}

TEST_F(aio, blocking_pipe)
{
	enum { BIG = 256 * 1024 };
	struct pipe_reader pr;
	struct aiocb r[2], w;
	char in[2][8], *out;
	pthread_t t;
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe_reads(p, 0, r, in, 2));
	expect_reads_in_order(_metadata, p[1], r, in, 2);
	/* Four times what the pipe holds: done when all of it is written. */
	out = malloc(BIG);
	pr = (struct pipe_reader){ .fd = p[0], .want = BIG,
				   .buf = malloc(BIG) };
	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, pr.buf);
	for (i = 0; i < BIG; i++)
		out[i] = (char)(i % 251);
	w = cb_of(p[1], out, BIG, 0);
	ASSERT_EQ(0, aio_write(&w));
	usleep(50000);
	errno = EXDEV;		/* aio_error() keeps errno */
	EXPECT_EQ(EINPROGRESS, aio_error(&w));
	EXPECT_EQ(EXDEV, errno);
	ASSERT_EQ(0, pthread_create(&t, NULL, read_all, &pr));
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_EQ(BIG, aio_return(&w));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ((size_t)BIG, pr.got);
	EXPECT_EQ(0, memcmp(out, pr.buf, BIG));
	/* Our reopen is gone once idle: closing the writer is EOF. */
	close(p[1]);
	r[0] = cb_of(p[0], in[0], 4, 0);
	ASSERT_EQ(0, aio_read(&r[0]));
	EXPECT_EQ(0, wait_done(&r[0]));
	EXPECT_EQ(0, aio_return(&r[0]));
	close(p[0]);
	free(out);
	free(pr.buf);
}

/*
 * A blocking socket nobody reads: the first big write stays in progress
 * (write(2) on it would block), the ones behind it are cancelled.
 */
TEST_F(aio, blocking_socket_write_blocks_and_cancel)
{
	enum { N = 4, BIG = 1 << 20 };
	struct pipe_reader pr;
	struct aiocb w[N], r;
	char *out, in[8];
	pthread_t t;
	int sv[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	out = calloc(1, BIG);
	ASSERT_NE(NULL, out);
	for (i = 0; i < N; i++) {
		w[i] = cb_of(sv[0], out, BIG, 0);
		ASSERT_EQ(0, aio_write(&w[i]));
	}
	usleep(50000);
	EXPECT_EQ(EINPROGRESS, aio_error(&w[0]));
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(sv[0], NULL));
	EXPECT_EQ(EINPROGRESS, aio_error(&w[0]));
	for (i = 1; i < N; i++)
		EXPECT_EQ(ECANCELED, aio_error(&w[i]));
	/* Read it all: the first completes, whole. */
	pr = (struct pipe_reader){ .fd = sv[1], .want = BIG,
				   .buf = malloc(BIG) };
	ASSERT_NE(NULL, pr.buf);
	ASSERT_EQ(0, pthread_create(&t, NULL, read_all, &pr));
	ASSERT_EQ(0, wait_done(&w[0]));
	EXPECT_EQ(BIG, aio_return(&w[0]));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ((size_t)BIG, pr.got);
	/* And a read on a blocking socket waits for data. */
	r = cb_of(sv[0], in, sizeof(in), 0);
	ASSERT_EQ(0, aio_read(&r));
	usleep(20000);
	EXPECT_EQ(EINPROGRESS, aio_error(&r));
	ASSERT_EQ(2, write(sv[1], "hi", 2));
	ASSERT_EQ(0, wait_done(&r));
	EXPECT_EQ(2, aio_return(&r));
	close(sv[0]);
	close(sv[1]);
	free(out);
	free(pr.buf);
}

TEST_F(aio, suspend_with_nothing_to_wait_for)
{
	const struct aiocb *list[3] = { NULL, NULL, NULL };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, aio_suspend(list, 3, NULL));
	EXPECT_EQ(0, aio_suspend(list, 0, NULL));
}

struct suspender {
	const struct aiocb *list[1];
};

static void *suspend_forever(void *arg)
{
	struct suspender *sp = arg;

	aio_suspend(sp->list, 1, NULL);
	return (void *)1;
}

/* aio_suspend() is a cancellation point. */
TEST_F(aio, cancel_a_thread_in_aio_suspend)
{
	struct suspender sp;
	struct aiocb r;
	char in[8];
	void *ret = NULL;
	pthread_t t;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	r = cb_of(p[0], in, 4, 0);
	ASSERT_EQ(0, aio_read(&r));
	sp.list[0] = &r;
	ASSERT_EQ(0, pthread_create(&t, NULL, suspend_forever, &sp));
	usleep(50000);
	ASSERT_EQ(0, pthread_cancel(t));
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(PTHREAD_CANCELED, ret);
	ASSERT_EQ(4, write(p[1], "JJJJ", 4));
	ASSERT_EQ(0, wait_done(&r));
	close(p[0]);
	close(p[1]);
}

TEST_F(aio, sigev_thread_with_detached_attributes)
{
	char buf[16] = "detached";
	pthread_attr_t attr;
	struct timespec until;
	struct aiocb w;

	CPORT_SKIP_IF_ABSENT();
	pthread_mutex_lock(&thr_lock);
	thr_calls = 0;
	pthread_mutex_unlock(&thr_lock);
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setdetachstate(&attr,
						 PTHREAD_CREATE_DETACHED));
	w = cb_of(self->fd, buf, sizeof(buf), 0);
	w.aio_sigevent.sigev_notify = SIGEV_THREAD;
	w.aio_sigevent.sigev_notify_function = on_aio_thread;
	w.aio_sigevent.sigev_notify_attributes = &attr;
	w.aio_sigevent.sigev_value.sival_ptr = &w;
	ASSERT_EQ(0, aio_write(&w));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&thr_lock);
	while (!thr_calls &&
	       !pthread_cond_timedwait(&thr_cond, &thr_lock, &until))
		;
	EXPECT_EQ(1, thr_calls);
	EXPECT_EQ(&w, thr_value);
	pthread_mutex_unlock(&thr_lock);
	pthread_attr_destroy(&attr);
}

/* aio_fsync() reads aio_fildes and aio_sigevent only. */
TEST_F(aio, fsync_ignores_other_fields)
{
	struct aiocb f;

	CPORT_SKIP_IF_ABSENT();
	f = cb_of(self->fd, (void *)8, 12345, -77);
	f.aio_reqprio = -5;
	ASSERT_EQ(0, aio_fsync(O_SYNC, &f));
	EXPECT_EQ(0, wait_done(&f));
}

/*
 * Requests that completed but that nobody looked at yet do not hold
 * their place: submitting goes on, without aio_error() in between.
 */
TEST_F(aio, done_but_unseen_requests_make_room)
{
	enum { N = 6000 };
	struct aiocb *w = calloc(N, sizeof(*w));
	static char buf[64];
	int i, tries = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, w);
	for (i = 0; i < N; i++) {
		w[i] = cb_of(self->fd, buf, sizeof(buf), (off_t)i * 64);
		while (aio_write(&w[i])) {
			ASSERT_EQ(EAGAIN, errno);
			ASSERT_GT(10000, ++tries);	/* 10 s at most */
			usleep(1000);
		}
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, wait_done(&w[i]));
		EXPECT_EQ(64, aio_return(&w[i]));
	}
	free(w);
}

/*
 * A request issued by the library's thread (queued behind another on a
 * stream) with SIGEV_SIGNAL, while every thread blocks the signal: it is
 * pending for the process's main thread, which takes it.
 */
TEST_F(aio, queued_request_signal_to_the_main_thread)
{
	struct aiocb r[2];
	sigset_t set, old;
	char in[2][8];
	siginfo_t si;
	struct timespec ts = { 2, 0 };
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 8);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, &old));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i < 2; i++)
		r[i] = cb_of(p[0], in[i], 4, 0);
	r[1].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	r[1].aio_sigevent.sigev_signo = SIGRTMIN + 8;
	r[1].aio_sigevent.sigev_value.sival_int = 8888;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, aio_read(&r[i]));
	ASSERT_EQ(8, write(p[1], "KKKKLLLL", 8));
	/* Sent while we were not in sigtimedwait(): we block it too. */
	EXPECT_EQ(0, wait_done(&r[1]));
	usleep(200000);
	ASSERT_EQ(SIGRTMIN + 8, sigtimedwait(&set, &si, &ts));
	EXPECT_EQ(SI_ASYNCIO, si.si_code);
	EXPECT_EQ(8888, si.si_value.sival_int);
	EXPECT_EQ(0, aio_error(&r[1]));
	EXPECT_EQ(0, memcmp(in[1], "LLLL", 4));
	EXPECT_EQ(0, wait_done(&r[0]));
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	close(p[1]);
}

/* A write on a blocking pipe in several parts: one signal, at its end. */
TEST_F(aio, whole_write_signals_once)
{
	enum { BIG = 256 * 1024 };
	struct timespec ts = { 2, 0 }, short_ts = { 0, 200000000 };
	struct pipe_reader pr;
	sigset_t set, old;
	struct aiocb w;
	siginfo_t si;
	pthread_t t;
	char *out;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 9);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, &old));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	out = calloc(1, BIG);
	pr = (struct pipe_reader){ .fd = p[0], .want = BIG,
				   .buf = malloc(BIG) };
	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, pr.buf);
	w = cb_of(p[1], out, BIG, 0);
	w.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	w.aio_sigevent.sigev_signo = SIGRTMIN + 9;
	w.aio_sigevent.sigev_value.sival_int = 99;
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, pthread_create(&t, NULL, read_all, &pr));
	ASSERT_EQ(SIGRTMIN + 9, sigtimedwait(&set, &si, &ts));
	EXPECT_EQ(99, si.si_value.sival_int);
	/* The result is there when the signal is. */
	EXPECT_EQ(0, aio_error(&w));
	EXPECT_EQ(BIG, aio_return(&w));
	EXPECT_EQ(-1, sigtimedwait(&set, &si, &short_ts));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pthread_join(t, NULL));
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	close(p[1]);
	free(out);
	free(pr.buf);
}

/* A pty's slave, blocking: the same terminal, not a new one. */
TEST_F(aio, blocking_tty)
{
	char in[16] = "", out[] = "tty!";
	struct aiocb w, r;
	int m, sl;

	CPORT_SKIP_IF_ABSENT();
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		SKIP(return, "no pty: %s", strerror(errno));
	ASSERT_EQ(0, grantpt(m));
	ASSERT_EQ(0, unlockpt(m));
	sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, sl);
	/* Raw: no echo, no line discipline in the way. */
	{
		struct termios tio;

		ASSERT_EQ(0, tcgetattr(sl, &tio));
		cfmakeraw(&tio);
		ASSERT_EQ(0, tcsetattr(sl, TCSANOW, &tio));
	}
	r = cb_of(sl, in, 4, 0);
	ASSERT_EQ(0, aio_read(&r));
	usleep(20000);
	EXPECT_EQ(EINPROGRESS, aio_error(&r));
	ASSERT_EQ(4, write(m, out, 4));
	ASSERT_EQ(0, wait_done(&r));
	EXPECT_EQ(4, aio_return(&r));
	EXPECT_EQ(0, memcmp(in, out, 4));
	w = cb_of(sl, out, 4, 0);
	ASSERT_EQ(0, aio_write(&w));
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_EQ(4, aio_return(&w));
	memset(in, 0, sizeof(in));
	EXPECT_EQ(4, read(m, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, out, 4));
	close(sl);
	close(m);
}

/* Descriptors of this process that are the pipe @fd is. */
static int pipe_refs(int fd)
{
	char want[64];

	return fd_link(fd, want, sizeof(want)) ? fds_of(want, NULL) : -1;
}

/*
 * The reopen of a blocking pipe is the library's: a child of fork() does
 * not keep it (it would hold the pipe open), and it goes when idle.
 */
TEST_F(aio, reopened_pipe_is_not_inherited)
{
	struct aiocb r;
	char in[8];
	int p[2], status, i;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(2, pipe_refs(p[0]));
	r = cb_of(p[0], in, 4, 0);
	ASSERT_EQ(0, aio_read(&r));
	usleep(20000);
	EXPECT_EQ(3, pipe_refs(p[0]));	/* ours, while in progress */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pipe_refs(p[0]) == 2 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(4, write(p[1], "MMMM", 4));
	ASSERT_EQ(0, wait_done(&r));
	/* Closed by the library's thread right after. */
	for (i = 0; i < 1000 && pipe_refs(p[0]) != 2; i++)
		usleep(1000);
	EXPECT_EQ(2, pipe_refs(p[0]));
	close(p[0]);
	close(p[1]);
}

/*
 * Exit and exec with a request in progress: the port goes with the old
 * image (close-on-exec), the request with it; nothing hangs.
 */
TEST_F(aio, exec_and_exit_with_a_request_in_progress)
{
	int p[2], status, i;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i < 2; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			char in[8];
			struct aiocb r = cb_of(p[0], in, 4, 0);

			if (aio_read(&r) || aio_error(&r) != EINPROGRESS)
				_exit(3);
			if (i == 0)
				_exit(0);
			execl("/bin/true", "true", (char *)NULL);
			_exit(4);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
