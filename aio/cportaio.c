// SPDX-License-Identifier: MIT
/*
 * libcportaio: POSIX AIO (<aio.h>) on a cport port.
 *
 * aio_read, aio_write, aio_fsync, aio_error, aio_return, aio_suspend,
 * aio_cancel, lio_listio, aio_init and the *64 names, with SIGEV_NONE,
 * SIGEV_SIGNAL (queued by the kernel when the op completes,
 * CPORT_SQE_F_SIGNAL) and SIGEV_THREAD. cport-aio(7) is the user's guide.
 *
 * One port per process, made on first use. Each request has a record
 * here (struct aio_req): the CQE's user_data is the record, never the
 * aiocb, which the program may reuse as soon as it sees the result. The
 * result goes where glibc keeps it, the aiocb's __error_code and
 * __return_value.
 *
 * Life of a request: it is queued on its descriptor (struct aio_fd) and
 * issued to the kernel at once unless it must wait: a request on a stream
 * (pipe, socket, tty), an O_APPEND write and an fsync run alone on their
 * descriptor, in FIFO order, so those wait for the ones before them and
 * can be cancelled until they are issued. When its CQE is taken the result
 * is published, and the record goes on the done stack; a thread that
 * holds the lock later retires it (the descriptor's accounting, the next
 * queued request, SIGEV_THREAD, lio_listio's list) and frees it.
 *
 * Who takes CQEs: aio_error() and aio_suspend() take them, so that a
 * SIGEV_SIGNAL handler that calls aio_error() sees its result (the kernel
 * queues the signal once the CQE is in the ring). Every consumer takes a
 * CQE by a compare-and-swap of the CQ head and pushes the record on the
 * done stack by a compare-and-swap: both are async-signal-safe. A reaper
 * thread takes them too, but only while something needs it (aio.watch):
 * a request that waits for another, a SIGEV_THREAD or list notification
 * to come, a thread in aio_suspend(). Otherwise it sleeps on a futex, and
 * a request that completes inline costs no thread switch. A consumer
 * other than the reaper takes no lock: if the record needs retiring soon,
 * it wakes the reaper with a CQE of its own (CPORT_IOC_POST, user_data
 * AIO_KICK).
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cport.h>

#define AIO_PORT_ENTRIES	256	/* SQ entries */
#define AIO_MAX_REQUESTS	4096	/* records alive; EAGAIN beyond */
#define AIO_LISTIO_LIMIT	AIO_MAX_REQUESTS	/* lio_listio's nent */
#define AIO_FD_BUCKETS		256
/* The most one read or write moves, as read(2): longer ones are short. */
#define AIO_MAX_RW		0x7ffff000UL

/*
 * user_data of the CQEs that are no request's: AIO_KICK wakes the reaper
 * (one at a time: aio.kicked); AIO_NOTE is a list's signal, after a NOP.
 */
#define AIO_KICK		0
#define AIO_NOTE		1

struct aio_fd;

/* lio_listio(LIO_NOWAIT) with a notification: the list's state. */
struct aio_list {
	unsigned int pending;		/* members not retired (+1 while queuing) */
	struct sigevent ev;
};

struct aio_req {
	struct aiocb *cb;
	size_t len;			/* aio_nbytes, at most AIO_MAX_RW */
	size_t done;			/* a continued write: bytes so far */
	struct aio_fd *fd;		/* NULL once cancelled */
	struct aio_list *list;		/* or NULL */
	struct aio_req *next;		/* held queue, or done stack */
	struct sigevent ev;		/* the aiocb's, copied at submission */
	uint64_t off;
	int opcode;
	unsigned int op_flags;
	bool excl;			/* runs alone on its descriptor */
	bool kick;			/* retire soon: SIGEV_THREAD, a list... */
	bool published;			/* result already in the aiocb */
	bool cont;			/* a write that goes on when short */
	bool again;			/* cont: issue the rest (retire) */
};

/* What a descriptor is, for the op that does a request's I/O. */
enum aio_kind {
	AIO_FILE,	/* regular file, block device, seekable device */
	AIO_SOCK,	/* socket: CPORT_OP_RECV and CPORT_OP_SEND */
	AIO_STREAM,	/* pipe, FIFO, tty...: no offset */
};

/*
 * A descriptor's queue. Found by descriptor number and never freed (but
 * in a forked child), so a completion may read @held without the lock.
 */
struct aio_fd {
	int fd;
	enum aio_kind kind;
	bool stream;			/* kind != AIO_FILE: no offset */
	bool append;			/* O_APPEND */
	bool nonblock;			/* O_NONBLOCK */
	int alt_fd;			/* our non-blocking reopen, or -1 */
	bool excl_running;		/* the request in the kernel is excl */
	unsigned int kernel;		/* requests in the kernel (lock) */
	atomic_uint held;		/* requests waiting in @head */
	struct aio_req *head, *tail;	/* waiting requests, FIFO (lock) */
	struct aio_fd *next;		/* hash chain */
};

static struct {
	pthread_mutex_t lock;		/* all but what is atomic */
	bool ready;
	struct cport port;
	pthread_t reaper;
	unsigned int requests;		/* records alive */
	struct aio_fd *fds[AIO_FD_BUCKETS];
	_Atomic(struct aio_req *) done;	/* published, not retired */
	atomic_bool kicked;		/* an AIO_KICK is on its way */
	atomic_int watch;		/* reasons for the reaper to watch */
	atomic_int taking;		/* consumers between CQE and result */
	atomic_uint reaper_gen;		/* the reaper's futex */
	atomic_uint gen;		/* results published, for futexes */
	atomic_int waiters;		/* threads in a futex wait on @gen */
} aio = { .lock = PTHREAD_MUTEX_INITIALIZER };

static long futex(atomic_uint *addr, int op, unsigned int val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* Results were published: wake aio_suspend() and lio_listio(LIO_WAIT). */
static void aio_wake_waiters(void)
{
	atomic_fetch_add(&aio.gen, 1);
	if (atomic_load(&aio.waiters))
		futex(&aio.gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/*
 * One more (@delta 1) or one less (-1) reason for the reaper to watch the
 * CQ; the first wakes it. Context: any, a signal handler included.
 */
static void aio_watch(int delta)
{
	if (atomic_fetch_add(&aio.watch, delta) == 0 && delta > 0) {
		atomic_fetch_add(&aio.reaper_gen, 1);
		futex(&aio.reaper_gen, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

/* Context: any, a signal handler included. */
static void aio_publish(struct aiocb *cb, int res)
{
	cb->__return_value = res < 0 ? -1 : res;
	/* The result before the state: aio_error() then aio_return(). */
	__atomic_store_n(&cb->__error_code, res < 0 ? -res : 0,
			 __ATOMIC_RELEASE);
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

/* ->lock held: a lock holder retires records. */
static void aio_notify_thread(const struct sigevent *ev)
{
	struct aio_thread_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr, *pa = ev->sigev_notify_attributes;
	pthread_t t;
	int state;

	if (!a)
		return;
	a->fn = ev->sigev_notify_function;
	a->value = ev->sigev_value;
	if (!pa) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pa = &attr;
	}
	if (pa != &attr && (pthread_attr_getdetachstate(pa, &state) ||
			    state == PTHREAD_CREATE_DETACHED))
		state = PTHREAD_CREATE_DETACHED;
	else
		state = PTHREAD_CREATE_JOINABLE;
	if (pthread_create(&t, pa, aio_thread_start, a))
		free(a);
	else if (state == PTHREAD_CREATE_JOINABLE)
		pthread_detach(t);	/* nobody joins a notification */
	if (pa == &attr)
		pthread_attr_destroy(&attr);
}

/* ->lock held. Return: an SQE; the SQ is flushed when it is full. */
static struct cport_sqe *aio_get_sqe(void)
{
	struct cport_sqe *sqe;

	while (!(sqe = cport_get_sqe(&aio.port)))
		cport_submit(&aio.port);
	return sqe;
}

/* Ask the kernel to queue @ev's signal, after a NOP: ->lock held. */
static void aio_issue_signal(const struct sigevent *ev, struct aio_req *r)
{
	struct cport_sqe *sqe = aio_get_sqe();

	cport_prep_nop(sqe);
	cport_sqe_set_signal(sqe, ev->sigev_signo, CPORT_SIG_PROCESS,
			     (uint64_t)(uintptr_t)ev->sigev_value.sival_ptr);
	cport_sqe_set_data(sqe, r);
}

/* Hand @r to the kernel: ->lock held; the caller submits. */
static void aio_issue(struct aio_req *r)
{
	struct aio_fd *f = r->fd;
	struct cport_sqe *sqe = aio_get_sqe();
	int fd = f->alt_fd >= 0 ? f->alt_fd : f->fd;
	char *buf = (char *)r->cb->aio_buf + r->done;
	size_t len = r->len - r->done;

	/*
	 * A socket: recv() and send(), which wait for readiness whether or
	 * not the socket is O_NONBLOCK, and send() all of it as write()
	 * would on a blocking socket.
	 */
	if (r->opcode == CPORT_OP_FSYNC)
		cport_prep_fsync(sqe, f->fd, r->op_flags);
	else if (f->kind == AIO_SOCK && r->opcode == CPORT_OP_READ)
		cport_prep_recv(sqe, fd, buf, len, 0);
	else if (f->kind == AIO_SOCK)
		cport_prep_send(sqe, fd, buf, len,
				f->nonblock ? 0 : MSG_WAITALL);
	else if (r->opcode == CPORT_OP_READ)
		cport_prep_read(sqe, fd, buf, len, r->off);
	else
		cport_prep_write(sqe, fd, buf, len, r->off);
	/* A write in parts signals once, at its end (aio_retire()). */
	if (r->ev.sigev_notify == SIGEV_SIGNAL && !r->cont)
		cport_sqe_set_signal(sqe, r->ev.sigev_signo, CPORT_SIG_PROCESS,
				     (uint64_t)(uintptr_t)
				     r->ev.sigev_value.sival_ptr);
	cport_sqe_set_data(sqe, r);
	r->fd->kernel++;
	if (r->excl)
		r->fd->excl_running = true;
	if (r->kick)
		aio_watch(1);
}

/* Issue what may run now of @f's waiting requests: ->lock held. */
static void aio_dispatch(struct aio_fd *f)
{
	struct aio_req *r;

	while ((r = f->head)) {
		if (r->excl ? f->kernel != 0 : f->excl_running)
			break;
		f->head = r->next;
		if (!f->head)
			f->tail = NULL;
		atomic_fetch_sub(&f->held, 1);
		aio_watch(-1);
		aio_issue(r);
	}
}

/* All of a list's members are retired: its notification. ->lock held. */
static void aio_list_done(struct aio_list *l)
{
	if (l->ev.sigev_notify == SIGEV_SIGNAL)
		aio_issue_signal(&l->ev, (struct aio_req *)AIO_NOTE);
	else if (l->ev.sigev_notify == SIGEV_THREAD)
		aio_notify_thread(&l->ev);
	free(l);
}

static void aio_list_put(struct aio_list *l)
{
	if (!--l->pending)
		aio_list_done(l);
}

/* Nothing is queued on @f or in the kernel: ->lock held. */
static void aio_fd_idle(struct aio_fd *f)
{
	/* Our reopen must not keep a pipe's other end from seeing EOF. */
	if (!f->kernel && !f->head && f->alt_fd >= 0) {
		close(f->alt_fd);
		f->alt_fd = -1;
	}
}

/* @r's result is published and its CQE taken: ->lock held. */
static void aio_retire(struct aio_req *r)
{
	struct aio_fd *f = r->fd;

	if (f) {			/* it was issued */
		f->kernel--;
		if (r->kick)
			aio_watch(-1);
		if (r->again) {		/* a short write: the rest, now */
			r->again = false;
			aio_issue(r);
			return;
		}
		if (r->excl)
			f->excl_running = false;
		if (r->cont && r->ev.sigev_notify == SIGEV_SIGNAL)
			aio_issue_signal(&r->ev, (struct aio_req *)AIO_NOTE);
	}
	if (r->ev.sigev_notify == SIGEV_THREAD)
		aio_notify_thread(&r->ev);
	if (r->list)
		aio_list_put(r->list);
	free(r);
	aio.requests--;
	if (f) {
		aio_dispatch(f);
		aio_fd_idle(f);
	}
}

/* Retire every record on the done stack, oldest first: ->lock held. */
static void aio_drain(void)
{
	struct aio_req *r, *next, *fifo = NULL;

	if (!atomic_load(&aio.done))
		return;
	for (r = atomic_exchange(&aio.done, NULL); r; r = next) {
		next = r->next;
		r->next = fifo;
		fifo = r;
	}
	for (r = fifo; r; r = next) {
		next = r->next;
		aio_retire(r);
	}
}

/*
 * Publish one CQE's result and put its record on the done stack.
 * Context: any, a signal handler included (async-signal-safe).
 * Return: true if the record should be retired soon.
 */
static bool aio_complete(const struct cport_cqe *c)
{
	struct aio_req *r = (struct aio_req *)(uintptr_t)c->user_data;
	struct aio_req *old;
	struct aio_fd *f;
	int res = c->res;
	bool kick;

	/*
	 * A short write on a blocking stream goes on, as write(2) would:
	 * the rest is issued when the record is retired, and the result is
	 * the total (or, after an error, what was written before it).
	 */
	if (r->cont && res > 0 && r->done + res < r->len) {
		r->done += res;
		r->again = true;
	} else if (r->cont && (res > 0 || r->done)) {
		res = res > 0 ? (int)(r->done + res) : (int)r->done;
	}
	if (!r->published && !r->again)
		aio_publish(r->cb, res);
	/* Read before the push: a lock holder may free @r right after. */
	kick = r->kick;
	f = r->fd;
	old = atomic_load(&aio.done);
	do
		r->next = old;
	while (!atomic_compare_exchange_weak(&aio.done, &old, r));
	/* After the push: a submitter that holds a request looks after. */
	return kick || (f && atomic_load(&f->held));
}

/*
 * Take every CQE there is, as one of several consumers.
 * Context: any, a signal handler included; @reaper: the reaper thread,
 * which retires what it took itself.
 *
 * aio.kicked is true while an AIO_KICK is in the ring or about to be: set
 * by the consumer that posts one, cleared by the reaper when it takes one
 * (it drains afterwards). Another consumer that takes it posts it again.
 */
static void aio_reap(bool reaper)
{
	struct cport_cq *cq = &aio.port.cq;
	unsigned int head, tail, n = 0;
	bool kick = false, repost = false;
	struct cport_cqe c;
	sigset_t all, old;

	if (__atomic_load_n(cq->khead, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(cq->ktail, __ATOMIC_ACQUIRE))
		return;
	/*
	 * From the CQE taken to its result published, no signal handler may
	 * run on this thread: one that calls aio_error() would see the
	 * request in progress after its signal came, and one in
	 * aio_suspend() would wait for itself. Handlers on other threads
	 * wait for ->taking to drop (aio_error()). The reaper blocks all.
	 */
	if (!reaper) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
	}
	atomic_fetch_add(&aio.taking, 1);
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
		if (c.user_data == AIO_KICK) {
			if (reaper)
				atomic_store(&aio.kicked, false);
			else
				repost = true;
			continue;
		}
		if (c.user_data == AIO_NOTE)
			continue;
		kick |= aio_complete(&c);
		n++;
	}
	atomic_fetch_sub(&aio.taking, 1);
	if (!reaper)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n || atomic_load(&aio.waiters))
		aio_wake_waiters();
	if (reaper)
		return;
	if (repost || (kick && !atomic_exchange(&aio.kicked, true)))
		cport_post_fd(aio.port.ring_fd, 0, AIO_KICK);
}

static void *aio_reaper(void *arg)
{
	unsigned int g;

	(void)arg;
	for (;;) {
		g = atomic_load(&aio.reaper_gen);
		aio_reap(true);
		if (atomic_load(&aio.done)) {
			pthread_mutex_lock(&aio.lock);
			aio_drain();
			cport_submit(&aio.port);
			pthread_mutex_unlock(&aio.lock);
		}
		if (atomic_load(&aio.watch))
			cport_enter(aio.port.ring_fd, 0, 1, 0, 0);
		else
			futex(&aio.reaper_gen, FUTEX_WAIT_PRIVATE, g, NULL);
	}
	return NULL;
}

static void aio_atfork_prepare(void)
{
	pthread_mutex_lock(&aio.lock);
}

static void aio_atfork_parent(void)
{
	pthread_mutex_unlock(&aio.lock);
}

/*
 * The child has no request, no reaper, and makes its own port. The
 * records of the parent's requests in the kernel are not reachable:
 * they stay allocated.
 */
static void aio_atfork_child(void)
{
	struct aio_req *r, *rn;
	struct aio_fd *f, *fn;
	int i;

	pthread_mutex_init(&aio.lock, NULL);
	if (aio.ready)
		cport_queue_exit(&aio.port);
	aio.ready = false;
	for (i = 0; i < AIO_FD_BUCKETS; i++) {
		for (f = aio.fds[i]; f; f = fn) {
			fn = f->next;
			for (r = f->head; r; r = rn) {
				rn = r->next;
				free(r);
			}
			if (f->alt_fd >= 0)
				close(f->alt_fd);
			free(f);
		}
		aio.fds[i] = NULL;
	}
	for (r = atomic_exchange(&aio.done, NULL); r; r = rn) {
		rn = r->next;
		free(r);
	}
	aio.requests = 0;
	atomic_store(&aio.kicked, false);
	atomic_store(&aio.waiters, 0);
	atomic_store(&aio.watch, 0);
	atomic_store(&aio.taking, 0);	/* the parent's reaper, maybe */
}

__attribute__((constructor)) static void aio_init_once(void)
{
	pthread_atfork(aio_atfork_prepare, aio_atfork_parent,
		       aio_atfork_child);
}

/* ->lock held. Return: 0, or an errno. */
static int aio_setup(void)
{
	struct cport_params p = { .flags = CPORT_SETUP_CQSIZE,
				  .cq_entries = AIO_MAX_REQUESTS * 2 };
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

/* ->lock held. Return: @fd's queue (made if @make), or NULL. */
static struct aio_fd *aio_fd_get(int fd, bool make)
{
	struct aio_fd **pp = &aio.fds[(unsigned int)fd % AIO_FD_BUCKETS];
	struct aio_fd *f;

	for (f = *pp; f; f = f->next)
		if (f->fd == fd)
			return f;
	if (!make)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = fd;
	f->alt_fd = -1;
	f->next = *pp;
	*pp = f;
	return f;
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

/*
 * A pipe, a FIFO, a tty: opening /proc/self/fd/N again gives the same
 * object. Not any other device (an open may make a new instance, or do
 * something), nor a pty master (/dev/ptmx would make a new pty).
 */
static bool aio_reopenable(int fd, const struct stat *st)
{
	unsigned int n;

	if (S_ISFIFO(st->st_mode))
		return true;
	return S_ISCHR(st->st_mode) && isatty(fd) &&
	       ioctl(fd, TIOCGPTN, &n) < 0;
}

/*
 * What @f is: read whenever it is idle (nothing queued or in the kernel),
 * and checked for every aio_fsync(). A pipe, FIFO or tty that is not
 * O_NONBLOCK is reopened non-blocking through /proc/self/fd
 * (a file of our own: the program's O_NONBLOCK is untouched), since the
 * kernel cannot try it without blocking otherwise; the reopen is closed
 * when @f is idle again. ->lock held. Return: 0, or an errno.
 */
static int aio_fd_refresh(struct aio_fd *f, int opcode)
{
	char path[32];
	struct stat st;
	int fl;

	fl = fcntl(f->fd, F_GETFL);
	if (fl < 0)
		return EBADF;
	/* POSIX: aio_fsync() needs a descriptor open for writing. */
	if (opcode == CPORT_OP_FSYNC && (fl & O_ACCMODE) == O_RDONLY)
		return EBADF;
	if (f->kernel || f->head)
		return 0;
	if (fstat(f->fd, &st))
		return EBADF;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		f->kind = AIO_FILE;
	else if (S_ISSOCK(st.st_mode))
		f->kind = AIO_SOCK;
	else if (lseek(f->fd, 0, SEEK_CUR) >= 0)
		f->kind = AIO_FILE;	/* a device with offsets */
	else
		f->kind = AIO_STREAM;
	f->stream = f->kind != AIO_FILE;
	f->append = fl & O_APPEND;
	f->nonblock = fl & O_NONBLOCK;
	if (f->alt_fd >= 0) {		/* left by a failed enqueue */
		close(f->alt_fd);
		f->alt_fd = -1;
	}
	if (!f->nonblock && aio_reopenable(f->fd, &st)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
		f->alt_fd = open(path, (fl & (O_ACCMODE | O_APPEND)) |
				 O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	}
	return 0;
}

/*
 * Queue one request; the caller submits. ->lock held, the port set up.
 * Return: 0, or an errno (nothing queued, the aiocb untouched).
 */
static int aio_enqueue(struct aiocb *cb, int opcode, unsigned int op_flags,
		       struct aio_list *list)
{
	struct aio_req *r;
	struct aio_fd *f;
	bool append;
	int ret;

	/* aio_fsync() uses aio_fildes and aio_sigevent only. */
	if ((opcode != CPORT_OP_FSYNC &&
	     (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)) ||
	    !aio_sigevent_ok(&cb->aio_sigevent))
		return EINVAL;
	if (cb->aio_fildes < 0)
		return EBADF;
	aio_drain();
	if (aio.requests >= AIO_MAX_REQUESTS) {
		/* Done but not yet seen by anyone: they make room. */
		aio_reap(false);
		aio_drain();
		if (aio.requests >= AIO_MAX_REQUESTS)
			return EAGAIN;
	}
	f = aio_fd_get(cb->aio_fildes, true);
	if (!f)
		return EAGAIN;
	ret = aio_fd_refresh(f, opcode);
	if (ret)
		return ret;
	append = opcode == CPORT_OP_WRITE && f->append;
	if (opcode != CPORT_OP_FSYNC && !f->stream && !append &&
	    cb->aio_offset < 0) {
		aio_fd_idle(f);
		return EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		aio_fd_idle(f);
		return EAGAIN;
	}
	r->cb = cb;
	r->len = cb->aio_nbytes < AIO_MAX_RW ? cb->aio_nbytes : AIO_MAX_RW;
	r->fd = f;
	r->list = list;
	r->ev = cb->aio_sigevent;
	r->opcode = opcode;
	r->op_flags = op_flags;
	/* A stream has no offset; an O_APPEND write goes at the end. */
	r->off = f->stream || append ? CPORT_POS_CURRENT :
				       (uint64_t)cb->aio_offset;
	/* POSIX: one at a time, in order, on a stream, for O_APPEND, fsync. */
	r->excl = f->stream || append || opcode == CPORT_OP_FSYNC;
	/* write(2) on a blocking pipe or tty writes it all. */
	r->cont = opcode == CPORT_OP_WRITE && f->kind == AIO_STREAM &&
		  !f->nonblock;
	/* With our reopen, retire soon: it must go once @f is idle. */
	r->kick = list || r->ev.sigev_notify == SIGEV_THREAD || r->cont ||
		  f->alt_fd >= 0;
	cb->__return_value = 0;
	__atomic_store_n(&cb->__error_code, EINPROGRESS, __ATOMIC_RELAXED);
	aio.requests++;
	if (list)
		list->pending++;
	if (!f->head && !(r->excl ? f->kernel : f->excl_running)) {
		aio_issue(r);
		return 0;
	}
	if (f->tail)
		f->tail->next = r;
	else
		f->head = r;
	f->tail = r;
	atomic_fetch_add(&f->held, 1);
	aio_watch(1);
	return 0;
}

/* Submit one request. Return: 0, or -1 with errno. */
static int aio_submit(struct aiocb *cb, int opcode, unsigned int op_flags)
{
	int ret;

	if (!cb) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&aio.lock);
	ret = aio_setup();
	if (!ret) {
		ret = aio_enqueue(cb, opcode, op_flags, NULL);
		/* Even if not: it may have issued others that were waiting. */
		cport_submit(&aio.port);
	}
	pthread_mutex_unlock(&aio.lock);
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

static int cportaio_read(struct aiocb *cb)
{
	return aio_submit(cb, CPORT_OP_READ, 0);
}

static int cportaio_write(struct aiocb *cb)
{
	return aio_submit(cb, CPORT_OP_WRITE, 0);
}

static int cportaio_fsync(int op, struct aiocb *cb)
{
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	return aio_submit(cb, CPORT_OP_FSYNC,
			  op == O_DSYNC ? CPORT_FSYNC_DATASYNC : 0);
}

/*
 * aio_error() of @cb while consumers take CQEs: until they are done, on
 * @gen (aio_reap() wakes it when ->taking drops; not on this thread,
 * which blocks signals while it takes). Context: any, a signal handler
 * included.
 */
static int aio_error_wait(const struct aiocb *cb)
{
	const struct timespec ms = { 0, 1000000 };
	unsigned int g;
	int e;

	atomic_fetch_add(&aio.waiters, 1);
	for (;;) {
		g = atomic_load(&aio.gen);
		e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
		if (e != EINPROGRESS || !atomic_load(&aio.taking))
			break;
		futex(&aio.gen, FUTEX_WAIT_PRIVATE, g, &ms);
	}
	atomic_fetch_sub(&aio.waiters, 1);
	return e;
}

/* Context: any, a signal handler included; errno is kept. */
static int cportaio_error(const struct aiocb *cb)
{
	int e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
	int saved = errno;

	if (e == EINPROGRESS && __atomic_load_n(&aio.ready, __ATOMIC_ACQUIRE)) {
		aio_reap(false);
		e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
		/* Another thread may hold its CQE, about to publish it. */
		if (e == EINPROGRESS && atomic_load(&aio.taking))
			e = aio_error_wait(cb);
		errno = saved;
	}
	return e;
}

/* Context: any, a signal handler included. */
static ssize_t cportaio_return(struct aiocb *cb)
{
	if (cportaio_error(cb) == EINPROGRESS) {
		errno = EINVAL;
		return -1;
	}
	return cb->__return_value;
}

/* Remove @r from its queue's waiting list (@prev: the one before it). */
static void aio_unhold(struct aio_fd *f, struct aio_req *prev,
		       struct aio_req *r)
{
	if (prev)
		prev->next = r->next;
	else
		f->head = r->next;
	if (f->tail == r)
		f->tail = prev;
	atomic_fetch_sub(&f->held, 1);
	aio_watch(-1);
}

/*
 * @r never reached the kernel: it ends with ECANCELED and is notified as
 * usual (its signal still comes from the kernel, after a NOP). ->lock held.
 */
static void aio_cancel_req(struct aio_req *r)
{
	aio_publish(r->cb, -ECANCELED);
	r->published = true;
	r->fd = NULL;
	if (r->ev.sigev_notify == SIGEV_SIGNAL) {
		aio_issue_signal(&r->ev, r);	/* retired at its CQE */
		return;
	}
	aio_retire(r);
}

static int cportaio_cancel(int fd, struct aiocb *cb)
{
	struct aio_req *r, *prev, *next;
	struct aio_fd *f;
	int cancelled = 0, ret;

	if (fcntl(fd, F_GETFD) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&aio.lock);
	if (!aio.ready) {
		pthread_mutex_unlock(&aio.lock);
		return AIO_ALLDONE;
	}
	/* What has completed is done, not cancelled. */
	aio_reap(false);
	aio_drain();
	f = aio_fd_get(fd, false);
	prev = NULL;
	for (r = f ? f->head : NULL; r; r = next) {
		next = r->next;
		if (cb && r->cb != cb) {
			prev = r;
			continue;
		}
		aio_unhold(f, prev, r);
		aio_cancel_req(r);
		cancelled++;
	}
	if (f)
		aio_fd_idle(f);
	if (cb) {
		if (cancelled)
			ret = AIO_CANCELED;
		else if (__atomic_load_n(&cb->__error_code,
					 __ATOMIC_ACQUIRE) == EINPROGRESS)
			ret = AIO_NOTCANCELED;	/* in the kernel: running */
		else
			ret = AIO_ALLDONE;
	} else {
		ret = f && f->kernel ? AIO_NOTCANCELED :
		      cancelled ? AIO_CANCELED : AIO_ALLDONE;
	}
	cport_submit(&aio.port);
	pthread_mutex_unlock(&aio.lock);
	if (cancelled)
		aio_wake_waiters();
	return ret;
}

/*
 * @list[0..n) all done (@all: lio_listio's list, whose LIO_NOP entries do
 * not count), or one of them; a list with nothing in it is done (as
 * glibc's aio_suspend() returns at once).
 */
static bool aio_done(const struct aiocb *const list[], int n, bool all)
{
	bool done, seen = false;
	int i;

	for (i = 0; i < n; i++) {
		if (!list[i] || (all && list[i]->aio_lio_opcode == LIO_NOP))
			continue;
		seen = true;
		done = __atomic_load_n(&list[i]->__error_code,
				       __ATOMIC_ACQUIRE) != EINPROGRESS;
		if (done != all)
			return done;
	}
	return all || !seen;
}

/* A thread cancelled in aio_wait(): what it counted goes. */
static void aio_wait_cleanup(void *arg)
{
	(void)arg;
	aio_watch(-1);
	atomic_fetch_sub(&aio.waiters, 1);
}

/*
 * Wait until one (or @all) of @list is done, until @timeout (relative)
 * or a signal: aio_wait()'s loop. Context: any, a signal handler included.
 * Return: 0, or an errno (EAGAIN: timed out; EINTR).
 */
static int aio_wait_loop(const struct aiocb *const list[], int n, bool all,
			 const struct timespec *timeout)
{
	struct timespec end, now, left, *tp = NULL;
	int type, err;
	unsigned int g;
	long r;

	if (timeout) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout->tv_sec;
		end.tv_nsec += timeout->tv_nsec;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		g = atomic_load(&aio.gen);
		if (__atomic_load_n(&aio.ready, __ATOMIC_ACQUIRE))
			aio_reap(false);
		if (aio_done(list, n, all))
			return 0;
		if (timeout) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0)
				return EAGAIN;
			tp = &left;
		}
		/* POSIX: aio_suspend() is a cancellation point. */
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
		r = futex(&aio.gen, FUTEX_WAIT_PRIVATE, g, tp);
		err = errno;
		pthread_setcanceltype(type, NULL);
		if (r < 0 && err == EINTR)
			return aio_done(list, n, all) ? 0 : EINTR;
		if (r < 0 && err == ETIMEDOUT)
			return aio_done(list, n, all) ? 0 : EAGAIN;
	}
}

/* aio_wait_loop(), counted as a waiter. */
static int aio_wait(const struct aiocb *const list[], int n, bool all,
		    const struct timespec *timeout)
{
	volatile int ret;

	atomic_fetch_add(&aio.waiters, 1);
	aio_watch(1);		/* the reaper publishes while we sleep */
	pthread_cleanup_push(aio_wait_cleanup, NULL);
	ret = aio_wait_loop(list, n, all, timeout);
	pthread_cleanup_pop(1);
	return ret;
}

static int cportaio_suspend(const struct aiocb *const list[], int n,
			    const struct timespec *timeout)
{
	int ret;

	if (n < 0 || (n && !list) ||
	    (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
			 timeout->tv_nsec >= 1000000000L))) {
		errno = EINVAL;
		return -1;
	}
	ret = aio_wait(list, n, false, timeout);
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

static int cportaio_lio_listio(int mode, struct aiocb *const list[], int n,
			       struct sigevent *sig)
{
	struct aio_list *l = NULL;
	bool eagain = false, failed = false;
	struct aiocb *cb;
	int i, op, ret;

	if ((mode != LIO_WAIT && mode != LIO_NOWAIT) || n < 0 ||
	    n > AIO_LISTIO_LIMIT || (n && !list) ||
	    (mode == LIO_NOWAIT && sig && !aio_sigevent_ok(sig))) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&aio.lock);
	ret = aio_setup();
	if (!ret && mode == LIO_NOWAIT && sig &&
	    sig->sigev_notify != SIGEV_NONE) {
		l = calloc(1, sizeof(*l));
		if (l) {
			l->ev = *sig;
			l->pending = 1;		/* ours, while queuing */
		} else {
			ret = EAGAIN;
		}
	}
	if (ret) {
		pthread_mutex_unlock(&aio.lock);
		errno = ret;
		return -1;
	}
	for (i = 0; i < n; i++) {
		cb = list[i];
		if (!cb || cb->aio_lio_opcode == LIO_NOP)
			continue;
		if (cb->aio_lio_opcode == LIO_READ)
			op = CPORT_OP_READ;
		else if (cb->aio_lio_opcode == LIO_WRITE)
			op = CPORT_OP_WRITE;
		else
			op = -1;
		ret = op < 0 ? EINVAL : aio_enqueue(cb, op, 0, l);
		if (ret) {
			/* The member's own status says why. */
			aio_publish(cb, -ret);
			if (ret == EAGAIN)
				eagain = true;
			else
				failed = true;
		}
	}
	/* An empty list is notified at once, as glibc does. */
	if (l)
		aio_list_put(l);
	cport_submit(&aio.port);
	pthread_mutex_unlock(&aio.lock);

	/* LIO_WAIT: every member that was queued, whatever the others did. */
	if (mode == LIO_WAIT) {
		ret = aio_wait((const struct aiocb *const *)list, n, true,
			       NULL);
		if (ret) {
			errno = ret;
			return -1;
		}
		for (i = 0; i < n; i++)
			if (list[i] && list[i]->aio_lio_opcode != LIO_NOP &&
			    list[i]->__error_code)
				failed = true;
	}
	if (eagain || failed) {
		errno = eagain ? EAGAIN : EIO;
		return -1;
	}
	return 0;
}

static void cportaio_init(const struct aioinit *init)
{
	(void)init;	/* no thread pool to size */
}

/*
 * The exported names. libcportaio.so binds them to glibc's versions, so
 * that a program built against glibc (aio_read@GLIBC_2.34, or
 * @GLIBC_2.2.5 from librt before 2.34) finds them when it is preloaded:
 * GLIBC_2.34 the default, GLIBC_2.2.5 (and GLIBC_2.4 for lio_listio) the
 * old ones. libcportaio.a has the plain names. On LP64, struct aiocb64
 * is struct aiocb: the *64 calls are the same.
 */
_Static_assert(sizeof(struct aiocb64) == sizeof(struct aiocb) &&
	       offsetof(struct aiocb64, aio_offset) ==
	       offsetof(struct aiocb, aio_offset),
	       "struct aiocb64 is not struct aiocb");

static int cportaio_read64(struct aiocb64 *cb)
{
	return cportaio_read((struct aiocb *)cb);
}

static int cportaio_write64(struct aiocb64 *cb)
{
	return cportaio_write((struct aiocb *)cb);
}

static int cportaio_fsync64(int op, struct aiocb64 *cb)
{
	return cportaio_fsync(op, (struct aiocb *)cb);
}

static int cportaio_error64(const struct aiocb64 *cb)
{
	return cportaio_error((const struct aiocb *)cb);
}

static ssize_t cportaio_return64(struct aiocb64 *cb)
{
	return cportaio_return((struct aiocb *)cb);
}

static int cportaio_suspend64(const struct aiocb64 *const list[], int n,
			      const struct timespec *timeout)
{
	return cportaio_suspend((const struct aiocb *const *)list, n,
				timeout);
}

static int cportaio_cancel64(int fd, struct aiocb64 *cb)
{
	return cportaio_cancel(fd, (struct aiocb *)cb);
}

static int cportaio_lio_listio64(int mode, struct aiocb64 *const list[],
				 int n, struct sigevent *sig)
{
	return cportaio_lio_listio(mode, (struct aiocb *const *)list, n, sig);
}

#ifdef CPORTAIO_SHARED
#define AIO_EXPORT(impl, name)						\
	extern __typeof__(impl) name##_2_34				\
		__attribute__((alias(#impl), symver(#name "@@GLIBC_2.34"))); \
	extern __typeof__(impl) name##_2_2_5				\
		__attribute__((alias(#impl), symver(#name "@GLIBC_2.2.5")))
#define AIO_EXPORT_2_4(impl, name)					\
	extern __typeof__(impl) name##_2_4				\
		__attribute__((alias(#impl), symver(#name "@GLIBC_2.4")))
#else
#define AIO_EXPORT(impl, name)						\
	extern __typeof__(impl) name					\
		__attribute__((alias(#impl), visibility("default")))
#define AIO_EXPORT_2_4(impl, name)					\
	_Static_assert(1, #name " has no version in libcportaio.a")
#endif

#define AIO_EXPORT2(impl, name)						\
	AIO_EXPORT(impl, name);						\
	AIO_EXPORT(impl##64, name##64)

AIO_EXPORT2(cportaio_read, aio_read);
AIO_EXPORT2(cportaio_write, aio_write);
AIO_EXPORT2(cportaio_fsync, aio_fsync);
AIO_EXPORT2(cportaio_error, aio_error);
AIO_EXPORT2(cportaio_return, aio_return);
AIO_EXPORT2(cportaio_suspend, aio_suspend);
AIO_EXPORT2(cportaio_cancel, aio_cancel);
AIO_EXPORT2(cportaio_lio_listio, lio_listio);
AIO_EXPORT_2_4(cportaio_lio_listio, lio_listio);
AIO_EXPORT_2_4(cportaio_lio_listio64, lio_listio64);
AIO_EXPORT(cportaio_init, aio_init);
