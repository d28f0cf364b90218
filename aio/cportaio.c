// SPDX-License-Identifier: MIT
/*
 * libcportaio: POSIX AIO (<aio.h>) on a cport port.
 *
 * Work in progress (issue 15): aio_read, aio_write, aio_fsync, aio_error,
 * aio_return and aio_suspend, with SIGEV_NONE, SIGEV_SIGNAL (queued by the
 * kernel when the op completes, CPORT_SQE_F_SIGNAL) and SIGEV_THREAD.
 * Not yet: aio_cancel and lio_listio; glibc's symbol versions (so that
 * LD_PRELOAD interposes); aio_fsync waiting for the earlier unordered
 * reads and writes on a regular file (it follows only the ORDERED ops:
 * streams and O_APPEND writes); man pages. It is not installed: do not
 * preload it into programs yet.
 *
 * One port per process, made on first use. The result of a request goes
 * where glibc keeps it, the aiocb's __error_code and __return_value, and
 * the CQE's user_data is the aiocb. One reaper thread waits for CQEs; so
 * that a SIGEV_SIGNAL handler that calls aio_error() sees its result (the
 * kernel queues the signal once the CQE is in the ring, maybe before the
 * reaper ran), aio_error() reaps too: every consumer takes a CQE by a
 * compare-and-swap of the CQ head, which is async-signal-safe. A
 * SIGEV_THREAD notification needs a new thread, and its sigevent must be
 * read before the result is published (the aiocb may be reused from then
 * on): a consumer that is not the reaper posts such a CQE back to the port
 * (CPORT_IOC_POST, tagged), and the reaper completes it.
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cport.h>

#define AIO_PORT_ENTRIES	256	/* SQ; the CQ holds AIO_MAX_INFLIGHT */
#define AIO_MAX_INFLIGHT	4096

static struct {
	pthread_mutex_t lock;		/* set-up and the SQ */
	bool ready;
	bool failed;			/* no port: every call says EAGAIN */
	struct cport port;
	pthread_t reaper;
	atomic_uint gen;		/* completions processed, for futexes */
	atomic_int waiters;		/* threads in aio_suspend() */
	atomic_int inflight;		/* submitted, CQE not reaped */
} aio = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* user_data of a CQE posted back for the reaper: the aiocb, tagged. */
#define AIO_BOUNCE	1ULL

static long futex(atomic_uint *addr, int op, unsigned int val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* SIGEV_THREAD: the notification thread. */
struct aio_thread_arg {
	void (*fn)(union sigval);
	union sigval value;
};

static void *aio_thread_start(void *p)
{
	struct aio_thread_arg a = *(struct aio_thread_arg *)p;

	free(p);
	a.fn(a.value);
	return NULL;
}

/* Context: the reaper thread; @ev is a copy, the aiocb may be gone. */
static void aio_notify_thread(const struct sigevent *ev)
{
	struct aio_thread_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr, *pa = ev->sigev_notify_attributes;
	pthread_t t;

	if (!a)
		return;
	a->fn = ev->sigev_notify_function;
	a->value = ev->sigev_value;
	if (!pa) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pa = &attr;
	}
	if (pthread_create(&t, pa, aio_thread_start, a))
		free(a);
	else if (pa != &attr)
		pthread_detach(t);
	if (pa == &attr)
		pthread_attr_destroy(&attr);
}

/*
 * Record one CQE's result in its aiocb. Context: any, a signal handler
 * included (async-signal-safe); @reaper: the reaper thread.
 */
static void aio_complete(const struct cport_cqe *c, bool reaper)
{
	struct aiocb *cb = (struct aiocb *)(uintptr_t)(c->user_data &
						       ~AIO_BOUNCE);
	struct sigevent ev;
	bool thread;

	thread = cb->aio_sigevent.sigev_notify == SIGEV_THREAD;
	if (thread && !reaper) {
		/* Not here (a signal handler, maybe): the reaper does it. */
		cport_post_fd(aio.port.ring_fd, c->res,
			      (uintptr_t)cb | AIO_BOUNCE);
		return;
	}
	if (thread)
		ev = cb->aio_sigevent;
	atomic_fetch_sub(&aio.inflight, 1);
	cb->__return_value = c->res < 0 ? -1 : c->res;
	/* The result before the state: aio_error() then aio_return(). */
	__atomic_store_n(&cb->__error_code, c->res < 0 ? -c->res : 0,
			 __ATOMIC_RELEASE);
	if (thread)
		aio_notify_thread(&ev);
}

/*
 * Take every CQE there is, as one of several consumers.
 * Context: any, a signal handler included.
 * Return: the number taken.
 */
static unsigned int aio_reap(bool reaper)
{
	struct cport_cq *cq = &aio.port.cq;
	unsigned int head, tail, n = 0;
	struct cport_cqe c;

	for (;;) {
		head = __atomic_load_n(cq->khead, __ATOMIC_ACQUIRE);
		tail = __atomic_load_n(cq->ktail, __ATOMIC_ACQUIRE);
		if (head == tail)
			break;
		c = cq->cqes[head & cq->ring_mask];
		/* Ours only if nobody moved the head meanwhile. */
		if (!__atomic_compare_exchange_n(cq->khead, &head, head + 1,
						 false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			continue;
		aio_complete(&c, reaper);
		n++;
	}
	if (n) {
		atomic_fetch_add(&aio.gen, 1);
		if (atomic_load(&aio.waiters))
			futex((atomic_uint *)&aio.gen, FUTEX_WAKE_PRIVATE,
			      INT_MAX, NULL);
	}
	return n;
}

static void *aio_reaper(void *arg)
{
	(void)arg;
	for (;;) {
		cport_enter(aio.port.ring_fd, 0, 1, 0, 0);
		aio_reap(true);
	}
	return NULL;
}

static void aio_atfork_child(void)
{
	/* The child has no request and no reaper: it makes its own port. */
	pthread_mutex_init(&aio.lock, NULL);
	if (aio.ready)
		cport_queue_exit(&aio.port);
	aio.ready = false;
	aio.failed = false;
	atomic_store(&aio.inflight, 0);
	atomic_store(&aio.waiters, 0);
}

/* ->lock held. Return: 0, or an errno. */
static int aio_setup(void)
{
	struct cport_params p = { .flags = CPORT_SETUP_CQSIZE,
				  .cq_entries = AIO_MAX_INFLIGHT * 2 };
	pthread_attr_t attr;
	sigset_t all, old;
	int ret;

	if (aio.ready)
		return 0;
	ret = cport_queue_init_params(AIO_PORT_ENTRIES, &aio.port, &p);
	if (ret < 0)
		return EAGAIN;
	if (!(aio.port.features & CPORT_FEAT_SIGNAL)) {
		cport_queue_exit(&aio.port);
		return EAGAIN;
	}
	/* The reaper takes no signal: a process's signals go elsewhere. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&aio.reaper, &attr, aio_reaper, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		cport_queue_exit(&aio.port);
		return EAGAIN;
	}
	aio.ready = true;
	return 0;
}

__attribute__((constructor)) static void aio_init_once(void)
{
	pthread_atfork(NULL, NULL, aio_atfork_child);
}

static bool aio_sigevent_ok(const struct sigevent *ev)
{
	switch (ev->sigev_notify) {
	case SIGEV_NONE:
		return true;
	case SIGEV_SIGNAL:
		return ev->sigev_signo >= 1 && ev->sigev_signo <= SIGRTMAX;
	case SIGEV_THREAD:
		return ev->sigev_notify_function != NULL;
	default:
		return false;
	}
}

/* Submit one request. Return: 0, or -1 with errno. */
static int aio_submit(struct aiocb *cb, int opcode, int op_flags)
{
	bool stream, append = false;
	struct cport_sqe *sqe;
	struct stat st;
	uint64_t off;
	int fl, ret;

	if (!cb || cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX ||
	    !aio_sigevent_ok(&cb->aio_sigevent)) {
		errno = EINVAL;
		return -1;
	}
	fl = fcntl(cb->aio_fildes, F_GETFL);
	if (fl < 0 || fstat(cb->aio_fildes, &st)) {
		errno = EBADF;
		return -1;
	}
	stream = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	if (opcode == CPORT_OP_WRITE && (fl & O_APPEND))
		append = true;
	if (opcode != CPORT_OP_FSYNC && !stream && !append &&
	    cb->aio_offset < 0) {
		errno = EINVAL;
		return -1;
	}
	/* A stream has no offset; an O_APPEND write goes at the end. */
	off = (stream || append) ? CPORT_POS_CURRENT : (uint64_t)cb->aio_offset;

	pthread_mutex_lock(&aio.lock);
	ret = aio_setup();
	if (!ret && atomic_load(&aio.inflight) >= AIO_MAX_INFLIGHT)
		ret = EAGAIN;
	if (ret) {
		pthread_mutex_unlock(&aio.lock);
		errno = ret;
		return -1;
	}
	sqe = cport_get_sqe(&aio.port);
	if (!sqe) {
		cport_submit(&aio.port);
		sqe = cport_get_sqe(&aio.port);
	}
	if (!sqe) {
		pthread_mutex_unlock(&aio.lock);
		errno = EAGAIN;
		return -1;
	}
	cb->__return_value = 0;
	__atomic_store_n(&cb->__error_code, EINPROGRESS, __ATOMIC_RELAXED);
	if (opcode == CPORT_OP_FSYNC) {
		cport_prep_fsync(sqe, cb->aio_fildes, op_flags);
	} else if (opcode == CPORT_OP_READ) {
		cport_prep_read(sqe, cb->aio_fildes, (void *)cb->aio_buf,
				cb->aio_nbytes, off);
	} else {
		cport_prep_write(sqe, cb->aio_fildes,
				 (const void *)cb->aio_buf, cb->aio_nbytes, off);
	}
	/* POSIX: one request at a time, in order, on a stream or O_APPEND. */
	if (stream || append || opcode == CPORT_OP_FSYNC)
		cport_sqe_set_flags(sqe, CPORT_SQE_F_ORDERED);
	if (cb->aio_sigevent.sigev_notify == SIGEV_SIGNAL)
		cport_sqe_set_signal(sqe, cb->aio_sigevent.sigev_signo,
				     CPORT_SIG_PROCESS,
				     (uint64_t)(uintptr_t)
				     cb->aio_sigevent.sigev_value.sival_ptr);
	cport_sqe_set_data(sqe, cb);
	atomic_fetch_add(&aio.inflight, 1);
	ret = cport_submit(&aio.port);
	pthread_mutex_unlock(&aio.lock);
	if (ret < 0) {
		/* Cannot happen with AIO_MAX_INFLIGHT below the CQ size. */
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

int aio_read(struct aiocb *cb)
{
	return aio_submit(cb, CPORT_OP_READ, 0);
}

int aio_write(struct aiocb *cb)
{
	return aio_submit(cb, CPORT_OP_WRITE, 0);
}

int aio_fsync(int op, struct aiocb *cb)
{
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	return aio_submit(cb, CPORT_OP_FSYNC,
			  op == O_DSYNC ? CPORT_FSYNC_DATASYNC : 0);
}

int aio_error(const struct aiocb *cb)
{
	int e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);

	if (e == EINPROGRESS && aio.ready) {
		aio_reap(false);
		e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
	}
	return e;
}

ssize_t aio_return(struct aiocb *cb)
{
	if (aio_error(cb) == EINPROGRESS) {
		errno = EINVAL;
		return -1;
	}
	return cb->__return_value;
}

static bool aio_any_done(const struct aiocb *const list[], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] && __atomic_load_n(&list[i]->__error_code,
					       __ATOMIC_ACQUIRE) !=
			       EINPROGRESS)
			return true;
	return false;
}

int aio_suspend(const struct aiocb *const list[], int n,
		const struct timespec *timeout)
{
	struct timespec end, now, left, *tp = NULL;
	unsigned int g;
	long ret;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	if (timeout) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout->tv_sec;
		end.tv_nsec += timeout->tv_nsec;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
	}
	atomic_fetch_add(&aio.waiters, 1);
	for (;;) {
		g = atomic_load(&aio.gen);
		if (aio.ready)
			aio_reap(false);
		if (aio_any_done(list, n)) {
			ret = 0;
			break;
		}
		if (timeout) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0) {
				errno = EAGAIN;
				ret = -1;
				break;
			}
			tp = &left;
		}
		ret = futex(&aio.gen, FUTEX_WAIT_PRIVATE, g, tp);
		if (ret < 0 && errno == EINTR) {
			ret = -1;
			break;
		}
		if (ret < 0 && errno == ETIMEDOUT) {
			errno = EAGAIN;
			ret = -1;
			break;
		}
	}
	atomic_fetch_sub(&aio.waiters, 1);
	return ret ? -1 : 0;
}

void aio_init(const struct aioinit *init)
{
	(void)init;	/* no thread pool to size */
}

/* The 64-bit offset names: struct aiocb64 is struct aiocb on LP64. */
_Static_assert(sizeof(struct aiocb64) == sizeof(struct aiocb),
	       "aiocb64 is not aiocb");

int aio_read64(struct aiocb64 *cb)
{
	return aio_read((struct aiocb *)cb);
}

int aio_write64(struct aiocb64 *cb)
{
	return aio_write((struct aiocb *)cb);
}

int aio_fsync64(int op, struct aiocb64 *cb)
{
	return aio_fsync(op, (struct aiocb *)cb);
}

int aio_error64(const struct aiocb64 *cb)
{
	return aio_error((const struct aiocb *)cb);
}

ssize_t aio_return64(struct aiocb64 *cb)
{
	return aio_return((struct aiocb *)cb);
}

int aio_suspend64(const struct aiocb64 *const list[], int n,
		  const struct timespec *timeout)
{
	return aio_suspend((const struct aiocb *const *)list, n, timeout);
}
