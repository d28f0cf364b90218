// SPDX-License-Identifier: GPL-2.0
/*
 * libcportaio (aio/, work in progress): POSIX AIO calls as a program uses
 * them, linked statically before libc: aio_read, aio_write, aio_fsync,
 * aio_error, aio_return and aio_suspend, with SIGEV_NONE, SIGEV_SIGNAL
 * (the kernel's completion signal, aio_error() in the handler) and
 * SIGEV_THREAD, on a regular file and on a pipe (one request at a time,
 * in order), O_APPEND, offsets beyond 2 GiB, and the errors reported at
 * submission.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <aio.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

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

/* Some descriptor of this process is a cport port. */
static bool has_port_fd(void)
{
	char path[64], target[64];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, CPORT_DEV))
			return true;
	}
	return false;
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

/* A pipe: reads wait for data, one at a time, in the order of the calls. */
TEST_F(aio, pipe_reads_in_order)
{
	struct aiocb r[3];
	char in[3][8];
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	for (i = 0; i < 3; i++) {
		r[i] = cb_of(p[0], in[i], 4, 0);
		ASSERT_EQ(0, aio_read(&r[i]));
	}
	usleep(20000);
	EXPECT_EQ(EINPROGRESS, aio_error(&r[0]));
	ASSERT_EQ(12, write(p[1], "AAAABBBBCCCC", 12));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, wait_done(&r[i]));
		EXPECT_EQ(4, aio_return(&r[i]));
		EXPECT_EQ(0, memcmp(in[i], "AAAABBBBCCCC" + 4 * i, 4));
	}
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

TEST_HARNESS_MAIN
