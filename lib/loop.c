// SPDX-License-Identifier: MIT
/*
 * libcport: cport_loop, a small callback event loop on one port.
 *
 * Proactor: cport_loop_get_sqe() hands out an SQE and remembers a callback
 * for its CQEs; cport_loop_accept(), cport_loop_recv() and
 * cport_loop_send() are socket ops made with it. Reactor:
 * cport_loop_add_fd() arms a multishot CPORT_OP_POLL_ADD and calls a
 * handler per readiness edge. Timers are CPORT_OP_TIMEOUT, one-shot or
 * multishot. cport_loop_post() and cport_loop_stop() work from any thread
 * and need no CQ slot.
 *
 * Records. Every op the loop has in flight (a proactor op, an fd's poll, a
 * timer) has a record in a slot table. Its CQEs carry user_data
 * (generation << 32) | slot: a CQE whose slot is free or whose generation
 * differs is stale and ignored. A slot is freed only at its op's terminal
 * CQE, and its generation then moves on, so no CQE ever reaches the wrong
 * record. The loop's own control SQEs (POLL_REMOVE, TIMEOUT_REMOVE) carry
 * user_data 0 and their CQEs are dropped.
 *
 * user_data. The prep helpers clear an SQE's user_data, so the loop cannot
 * set it when it hands the SQE out. It keeps the value in @stamp, indexed
 * like the SQ, and writes it into every SQE just before publishing them.
 *
 * Control SQEs. add_fd, mod_fd, del_fd, add_timer and cancel_timer never
 * need a free SQ slot at once: they queue a prepared SQE in @ctl, and each
 * pass moves what fits into the SQ. So they work from any callback, also
 * when the SQ and CQ are full.
 *
 * CQ slots. The kernel reserves one CQ slot for the terminal CQE of each
 * accepted op. The loop keeps at most cq_entries - sq_entries records, so
 * after it reaps the CQ at least sq_entries slots are free for new
 * submissions, control SQEs included: a remove never waits behind the
 * polls it is meant to end.
 *
 * Wake-ups. cport_loop_post() pushes a record on a lock-free list and
 * cport_loop_stop() sets a flag; either then sets local event flag
 * CPORT_LOOP_WAKE_BIT of the port. The loop waits with
 * cport_wait_cqe_flags() for a CQE or that flag (and consumes it), so a
 * wake-up needs no CQ slot and is never refused because the CQ is full.
 *
 * Stops. A pass of cport_loop_run() looks at the stop flag before each
 * callback, so the callback that calls cport_loop_stop() is the last one
 * it runs, however many CQEs, expirations and posts the pass holds. What
 * the pass did not run stays where it is (@cqes from @cqe_next, the rest
 * of a timer's expirations in its copied CQE, @taken): the next pass runs
 * it first, in order, before it reaps anything new. Nothing is lost.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stdlib.h>
#include <sys/epoll.h>

#include <cport.h>

#include "syscall.h"

/* Local event flag of the port that wakes the loop (post, stop). */
#define CPORT_LOOP_WAKE_BIT	63U
#define CPORT_LOOP_WAKE_MASK	(1ULL << CPORT_LOOP_WAKE_BIT)

enum __cport_loop_kind {
	CPORT_LOOP_FREE = 0,
	CPORT_LOOP_OP,		/* proactor op */
	CPORT_LOOP_FD,		/* reactor: an fd's multishot poll */
	CPORT_LOOP_TIMER,	/* one-shot or periodic timer */
};

/* State of a CPORT_LOOP_FD record. */
enum __cport_loop_fd_state {
	CPORT_LOOP_FD_ARMED = 0,	/* poll in flight */
	CPORT_LOOP_FD_ENDED,		/* terminal CQE seen, no poll */
};

struct __cport_loop_slot {
	uint32_t gen;		/* of the record in this slot, or next one */
	uint8_t kind;		/* enum __cport_loop_kind */
	uint8_t state;		/* CPORT_LOOP_FD: enum __cport_loop_fd_state */
	bool dead;		/* deleted/cancelled: no more callbacks */
	int fd;			/* CPORT_LOOP_FD */
	uint32_t events;	/* CPORT_LOOP_FD */
	uint32_t next_free;	/* free list, when kind is CPORT_LOOP_FREE */
	union {
		cport_loop_cqe_fn op_cb;
		cport_loop_fd_fn fd_cb;
		cport_loop_fn timer_cb;
	};
	void *arg;
};

/* A post: pushed by any thread, popped by the loop. */
struct __cport_loop_post {
	struct __cport_loop_post *next;
	cport_loop_fn cb;
	void *arg;
};

struct cport_loop {
	struct cport port;
	/* user_data of each SQ slot, written into the SQE when published */
	uint64_t *stamp;
	/* CQEs copied out of the CQ; those from @cqe_next on have not run */
	struct cport_cqe *cqes;
	unsigned int cqe_next, cqe_nr;
	/* the record table; slot 0 is never used (user_data 0: no record) */
	struct __cport_loop_slot *slots;
	uint32_t nr_slots;
	uint32_t free_head;	/* first free slot, 0: none */
	uint32_t live;		/* records in use */
	uint32_t max_live;	/* cq_entries - sq_entries */
	/* fd -> slot of its CPORT_LOOP_FD record (0: none) */
	uint32_t *fd_slot;
	unsigned int nr_fds;
	/* control SQEs waiting for an SQ slot: a FIFO */
	struct cport_sqe *ctl;
	unsigned int ctl_head, ctl_nr, ctl_cap;
	bool in_pass;		/* a pass is dispatching */
	bool in_run;		/* cport_loop_run() makes the passes */
	/* posts taken from @posts and not run yet (a stop), oldest first */
	struct __cport_loop_post *taken;
	/* written by any thread */
	struct __cport_loop_post *posts;	/* atomic, a LIFO stack */
	bool stop;				/* atomic */
};

static uint64_t __cport_loop_ud(const struct cport_loop *loop, uint32_t idx)
{
	return (uint64_t)loop->slots[idx].gen << 32 | idx;
}

/* The live record that @ud names, or NULL (stale or not ours). */
static struct __cport_loop_slot *__cport_loop_find(struct cport_loop *loop,
						   uint64_t ud)
{
	uint32_t idx = (uint32_t)ud;
	struct __cport_loop_slot *s;

	if (!idx || idx >= loop->nr_slots)
		return NULL;
	s = &loop->slots[idx];
	if (s->kind == CPORT_LOOP_FREE || s->gen != (uint32_t)(ud >> 32))
		return NULL;
	return s;
}

/*
 * Take a free slot for a record of @kind; 0 when the loop has
 * max_live records already (-EBUSY) or memory ran out (-ENOMEM), with
 * *err set. The table may move: pointers into it die here.
 */
static uint32_t __cport_loop_alloc(struct cport_loop *loop, uint8_t kind,
				   int *err)
{
	struct __cport_loop_slot *s;
	uint32_t idx;

	if (loop->live >= loop->max_live) {
		*err = -EBUSY;
		return 0;
	}
	if (!loop->free_head) {
		uint32_t n = loop->nr_slots ? loop->nr_slots * 2 : 16;
		uint32_t i;

		s = realloc(loop->slots, n * sizeof(*s));
		if (!s) {
			*err = -ENOMEM;
			return 0;
		}
		memset(&s[loop->nr_slots], 0,
		       (n - loop->nr_slots) * sizeof(*s));
		/* Slot 0 stays unused: user_data 0 names no record. */
		for (i = loop->nr_slots ? loop->nr_slots : 1; i < n; i++) {
			s[i].gen = 1;
			s[i].next_free = i + 1 < n ? i + 1 : 0;
		}
		loop->free_head = loop->nr_slots ? loop->nr_slots : 1;
		loop->slots = s;
		loop->nr_slots = n;
	}
	idx = loop->free_head;
	s = &loop->slots[idx];
	loop->free_head = s->next_free;
	s->kind = kind;
	s->state = CPORT_LOOP_FD_ARMED;
	s->dead = false;
	s->fd = -1;
	s->events = 0;
	s->arg = NULL;
	loop->live++;
	return idx;
}

/* Free the record at @idx: its op has posted its terminal CQE. */
static void __cport_loop_release(struct cport_loop *loop, uint32_t idx)
{
	struct __cport_loop_slot *s = &loop->slots[idx];

	s->kind = CPORT_LOOP_FREE;
	s->gen = s->gen + 1 ? s->gen + 1 : 1;
	s->next_free = loop->free_head;
	loop->free_head = idx;
	loop->live--;
}

/*
 * Queue a control SQE (prepared from @sqe, with user_data @ud) for the
 * next pass. Returns 0 or -ENOMEM.
 */
static int __cport_loop_queue(struct cport_loop *loop,
			      const struct cport_sqe *sqe, uint64_t ud)
{
	unsigned int i;

	if (loop->ctl_head + loop->ctl_nr == loop->ctl_cap) {
		if (loop->ctl_head) {
			/* Compact: the FIFO starts at 0 again. */
			memmove(loop->ctl, &loop->ctl[loop->ctl_head],
				loop->ctl_nr * sizeof(*loop->ctl));
			loop->ctl_head = 0;
		} else {
			unsigned int n = loop->ctl_cap ? loop->ctl_cap * 2 : 16;
			struct cport_sqe *q = realloc(loop->ctl,
						      n * sizeof(*q));

			if (!q)
				return -ENOMEM;
			loop->ctl = q;
			loop->ctl_cap = n;
		}
	}
	i = loop->ctl_head + loop->ctl_nr++;
	loop->ctl[i] = *sqe;
	loop->ctl[i].user_data = ud;
	return 0;
}

/* Remember @ud for the SQE cport_get_sqe() just handed out. */
static void __cport_loop_set_stamp(struct cport_loop *loop, uint64_t ud)
{
	struct cport_sq *sq = &loop->port.sq;

	loop->stamp[(sq->sqe_tail - 1) & sq->ring_mask] = ud;
}

/* Move the queued control SQEs that fit into the SQ. */
static void __cport_loop_move_ctl(struct cport_loop *loop)
{
	while (loop->ctl_nr) {
		struct cport_sqe *sqe = cport_get_sqe(&loop->port);

		if (!sqe)
			return;
		*sqe = loop->ctl[loop->ctl_head];
		__cport_loop_set_stamp(loop, sqe->user_data);
		loop->ctl_head++;
		loop->ctl_nr--;
	}
	loop->ctl_head = 0;
}

/*
 * Write the user_data of every SQE handed out and not published yet: the
 * caller's prep helper cleared it.
 */
static void __cport_loop_stamp(struct cport_loop *loop)
{
	struct cport_sq *sq = &loop->port.sq;
	unsigned int i;

	for (i = sq->sqe_head; i != sq->sqe_tail; i++)
		sq->sqes[i & sq->ring_mask].user_data =
			loop->stamp[i & sq->ring_mask];
}

/**
 * cport_loop_new() - set up an event loop and its port
 * @loopp: set to the new loop on success.
 * @entries: SQ size of the port (as cport_queue_init()); its CQ gets four
 *           times as many, or twice if the module refuses that.
 * @flags: must be 0.
 *
 * Context: any thread.
 * Return: 0, -EFAULT (@loopp NULL), -EINVAL, -ENOMEM, -EOPNOTSUPP (the
 * module has no event flags), or an error of cport_queue_init_params().
 */
__cport_cold int cport_loop_new(struct cport_loop **loopp,
				 unsigned int entries, unsigned int flags)
{
	struct cport_params p;
	struct cport_loop *loop;
	struct cport *port;
	int ret;

	if (!loopp)
		return -EFAULT;
	*loopp = NULL;
	if (flags || !entries || entries > UINT32_MAX / 4)
		return -EINVAL;
	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	port = &loop->port;
	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	ret = cport_queue_init_params(entries, port, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		ret = cport_queue_init_params(entries, port, &p);
	}
	if (ret)
		goto err_free;
	ret = -EOPNOTSUPP;
	if (!(port->features & CPORT_FEAT_FLAGS))
		goto err_exit;
	ret = -ENOMEM;
	loop->stamp = calloc(port->sq.ring_entries, sizeof(*loop->stamp));
	loop->cqes = calloc(port->cq.ring_entries, sizeof(*loop->cqes));
	if (!loop->stamp || !loop->cqes)
		goto err_exit;
	loop->max_live = port->cq.ring_entries - port->sq.ring_entries;
	if (!loop->max_live)
		loop->max_live = 1;
	*loopp = loop;
	return 0;

err_exit:
	cport_queue_exit(port);
err_free:
	free(loop->stamp);
	free(loop->cqes);
	free(loop);
	return ret;
}

/**
 * cport_loop_free() - close a loop's port and free the loop
 * @loop: the loop, or NULL (nothing happens).
 *
 * Closing the port cancels what is in flight (the kernel waits for file
 * I/O a worker has started). No callback runs from here on, and posts not
 * run yet are dropped. Not from a callback of @loop, and not while another
 * thread may still call cport_loop_post() or cport_loop_stop() on it.
 *
 * Context: the loop's thread.
 */
__cport_cold void cport_loop_free(struct cport_loop *loop)
{
	struct __cport_loop_post *p, *next;

	if (!loop)
		return;
	cport_queue_exit(&loop->port);
	p = __atomic_exchange_n(&loop->posts, NULL, __ATOMIC_ACQUIRE);
	for (; p; p = next) {
		next = p->next;
		free(p);
	}
	for (p = loop->taken; p; p = next) {
		next = p->next;
		free(p);
	}
	free(loop->stamp);
	free(loop->cqes);
	free(loop->slots);
	free(loop->fd_slot);
	free(loop->ctl);
	free(loop);
}

/**
 * cport_loop_port() - the port under a loop
 * @loop: the loop.
 *
 * For the calls that do not touch the rings: event flags (but local flag
 * 63, which wakes the loop), registered files and buffers. Submitting or
 * reaping on it directly confuses the loop.
 *
 * Context: any thread.
 * Return: the port, or NULL if @loop is NULL.
 */
struct cport *cport_loop_port(struct cport_loop *loop)
{
	return loop ? &loop->port : NULL;
}

/* A free SQE, submitting what is pending if the SQ is full; or NULL. */
static struct cport_sqe *__cport_loop_sqe(struct cport_loop *loop)
{
	struct cport_sqe *sqe = cport_get_sqe(&loop->port);

	if (sqe)
		return sqe;
	__cport_loop_stamp(loop);
	cport_submit(&loop->port);
	return cport_get_sqe(&loop->port);
}

/*
 * An SQE for a proactor op with callback @cb, or NULL with *err set:
 * -EBUSY (the loop has max_live records), -ENOMEM, -EAGAIN (the SQ is
 * full and the CQ too, so submitting freed no slot).
 */
static struct cport_sqe *__cport_loop_get_sqe(struct cport_loop *loop,
					      cport_loop_cqe_fn cb, void *arg,
					      int *err)
{
	struct cport_sqe *sqe;
	uint32_t idx;

	idx = __cport_loop_alloc(loop, CPORT_LOOP_OP, err);
	if (!idx)
		return NULL;
	sqe = __cport_loop_sqe(loop);
	if (!sqe) {
		__cport_loop_release(loop, idx);
		*err = -EAGAIN;
		return NULL;
	}
	loop->slots[idx].op_cb = cb;
	loop->slots[idx].arg = arg;
	__cport_loop_set_stamp(loop, __cport_loop_ud(loop, idx));
	return sqe;
}

/**
 * cport_loop_get_sqe() - an SQE whose CQEs call @cb
 * @loop: the loop.
 * @cb: called with each CQE of the op (a multishot op: until the CQE
 *      without CPORT_CQE_F_MORE); NULL: the CQEs are dropped.
 * @arg: passed to @cb.
 *
 * Prepare the SQE with a cport_prep_*() helper, but leave its user_data
 * alone: the loop sets it when it submits, at its next pass. When the SQ
 * is full, the SQEs in it are submitted first. The user_data of the CQEs
 * @cb gets names the op: cport_prep_cancel() of it cancels the op.
 *
 * Context: the loop's thread (in a callback or between passes).
 * Return: the SQE; NULL if @loop is NULL, the loop has
 * cq_entries - sq_entries ops, fds and timers already, the SQ is full and
 * cannot be submitted now (the CQ is full: retry from a later callback),
 * or memory ran out.
 */
struct cport_sqe *cport_loop_get_sqe(struct cport_loop *loop,
				     cport_loop_cqe_fn cb, void *arg)
{
	int err;

	if (!loop)
		return NULL;
	return __cport_loop_get_sqe(loop, cb, arg, &err);
}

/* The checks the socket helpers share. */
static int __cport_loop_net_check(struct cport_loop *loop, int fd,
				  cport_loop_cqe_fn cb, bool need_cb)
{
	if (!loop || (need_cb && !cb))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!(loop->port.features & CPORT_FEAT_NET))
		return -EOPNOTSUPP;
	return 0;
}

/**
 * cport_loop_accept() - accept connections, calling @cb for each
 * @loop: the loop.
 * @fd: a listening stream socket.
 * @flags: SOCK_NONBLOCK, SOCK_CLOEXEC: flags of the new descriptors.
 * @cb: called with each CQE: res the new descriptor (the callee's to
 *      close) with CPORT_CQE_F_MORE; the last CQE, without MORE, is the
 *      error or -ECANCELED that ended the accept.
 * @arg: passed to @cb.
 *
 * A multishot CPORT_OP_ACCEPT, submitted at the loop's next pass. It runs
 * until an error ends it, or until it is cancelled: cport_prep_cancel()
 * of the user_data of a CQE @cb got, or a CPORT_CANCEL_FD cancel of @fd.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop or @cb NULL, bad @flags), -EBADF (@fd
 * negative), -EOPNOTSUPP (the module has no CPORT_FEAT_NET), -EBUSY (the
 * loop has cq_entries - sq_entries ops, fds and timers), -EAGAIN (the SQ
 * and the CQ are full: retry from a later callback), -ENOMEM.
 */
int cport_loop_accept(struct cport_loop *loop, int fd, int flags,
		      cport_loop_cqe_fn cb, void *arg)
{
	struct cport_sqe *sqe;
	int ret = __cport_loop_net_check(loop, fd, cb, true);

	if (ret)
		return ret;
	if ((unsigned int)flags & ~CPORT_ACCEPT_FLAGS)
		return -EINVAL;
	sqe = __cport_loop_get_sqe(loop, cb, arg, &ret);
	if (!sqe)
		return ret;
	cport_prep_multishot_accept(sqe, fd, flags);
	return 0;
}

/**
 * cport_loop_recv() - receive once from a socket, then call @cb
 * @loop: the loop.
 * @fd: the socket.
 * @buf: where the data goes; must stay valid until @cb runs.
 * @len: its size (above UINT32_MAX: UINT32_MAX).
 * @flags: MSG_* flags of recv(), within CPORT_RECV_MSG_FLAGS.
 * @cb: called once with the CQE: res the bytes received, 0 at end of
 *      file, or -errno.
 * @arg: passed to @cb.
 *
 * A CPORT_OP_RECV, submitted at the loop's next pass; no thread sleeps
 * while the socket has no data.
 *
 * Context: the loop's thread.
 * Return: as cport_loop_accept() (-EINVAL: @loop or @cb NULL, bad
 * @flags).
 */
int cport_loop_recv(struct cport_loop *loop, int fd, void *buf, size_t len,
		    int flags, cport_loop_cqe_fn cb, void *arg)
{
	struct cport_sqe *sqe;
	int ret = __cport_loop_net_check(loop, fd, cb, true);

	if (ret)
		return ret;
	if ((unsigned int)flags & ~CPORT_RECV_MSG_FLAGS)
		return -EINVAL;
	sqe = __cport_loop_get_sqe(loop, cb, arg, &ret);
	if (!sqe)
		return ret;
	cport_prep_recv(sqe, fd, buf, len, flags);
	return 0;
}

/**
 * cport_loop_send() - send once on a socket, then call @cb
 * @loop: the loop.
 * @fd: the socket.
 * @buf: the data; must stay valid until @cb runs (or, with @cb NULL,
 *       until the op has completed).
 * @len: its length (above UINT32_MAX: UINT32_MAX).
 * @flags: MSG_* flags of send(), within CPORT_SEND_MSG_FLAGS;
 *         MSG_NOSIGNAL is implied.
 * @cb: called once with the CQE: res the bytes sent (fewer than @len when
 *      the socket buffer took fewer; MSG_WAITALL: all of them), or -errno;
 *      NULL: the result is dropped.
 * @arg: passed to @cb.
 *
 * A CPORT_OP_SEND, submitted at the loop's next pass.
 *
 * Context: the loop's thread.
 * Return: as cport_loop_accept() (-EINVAL: @loop NULL, bad @flags).
 */
int cport_loop_send(struct cport_loop *loop, int fd, const void *buf,
		    size_t len, int flags, cport_loop_cqe_fn cb, void *arg)
{
	struct cport_sqe *sqe;
	int ret = __cport_loop_net_check(loop, fd, cb, false);

	if (ret)
		return ret;
	if ((unsigned int)flags & ~CPORT_SEND_MSG_FLAGS)
		return -EINVAL;
	sqe = __cport_loop_get_sqe(loop, cb, arg, &ret);
	if (!sqe)
		return ret;
	cport_prep_send(sqe, fd, buf, len, flags);
	return 0;
}

/* Make the fd map hold @fd. */
static int __cport_loop_fd_map(struct cport_loop *loop, int fd)
{
	unsigned int n = loop->nr_fds ? loop->nr_fds : 64;
	uint32_t *map;

	if ((unsigned int)fd < loop->nr_fds)
		return 0;
	while (n <= (unsigned int)fd)
		n *= 2;
	map = realloc(loop->fd_slot, n * sizeof(*map));
	if (!map)
		return -ENOMEM;
	memset(&map[loop->nr_fds], 0, (n - loop->nr_fds) * sizeof(*map));
	loop->fd_slot = map;
	loop->nr_fds = n;
	return 0;
}

/* The slot of @fd's record, or 0. */
static uint32_t __cport_loop_fd_find(struct cport_loop *loop, int fd)
{
	if (fd < 0 || (unsigned int)fd >= loop->nr_fds)
		return 0;
	return loop->fd_slot[fd];
}

/* Is @fd an open file descriptor? Leaves errno alone. */
static bool __cport_loop_fd_open(int fd)
{
	int saved = errno;
	bool open = fd >= 0 && fcntl(fd, F_GETFD) >= 0;

	errno = saved;
	return open;
}

static int __cport_loop_check_events(uint32_t events)
{
	return events && !(events & ~CPORT_POLL_EVENTS) ? 0 : -EINVAL;
}

/* Queue the multishot POLL_ADD of the fd record at @idx. */
static int __cport_loop_arm_fd(struct cport_loop *loop, uint32_t idx)
{
	struct __cport_loop_slot *s = &loop->slots[idx];
	struct cport_sqe sqe;

	cport_prep_poll_multishot(&sqe, s->fd, s->events);
	return __cport_loop_queue(loop, &sqe, __cport_loop_ud(loop, idx));
}

/**
 * cport_loop_add_fd() - call @cb each time @fd becomes ready
 * @loop: the loop.
 * @fd: an open file descriptor that supports poll().
 * @events: the EPOLL* events of interest (EPOLLIN, EPOLLOUT, ...), a
 *          non-zero subset of CPORT_POLL_EVENTS; EPOLLERR and EPOLLHUP are
 *          always reported.
 * @cb: the handler, called with the ready events.
 * @arg: passed to @cb.
 *
 * Edge-triggered (a multishot CPORT_OP_POLL_ADD): @cb runs when @fd is
 * ready at the next pass, then at each wake-up of the file that carries
 * one of @events. When the file reports EPOLLERR or EPOLLHUP, or the poll
 * fails (@cb then gets EPOLLERR), the poll ends: @fd stays added but is no
 * longer watched, until cport_loop_mod_fd() re-arms it or
 * cport_loop_del_fd() removes it.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop or @cb NULL, bad @events), -EBADF (@fd not
 * open), -EEXIST (@fd added already), -EBUSY (the loop has
 * cq_entries - sq_entries ops, fds and timers), -EOPNOTSUPP (the module
 * has no CPORT_OP_POLL_ADD), -ENOMEM.
 */
int cport_loop_add_fd(struct cport_loop *loop, int fd, uint32_t events,
		      cport_loop_fd_fn cb, void *arg)
{
	uint32_t idx;
	int ret;

	if (!loop || !cb || __cport_loop_check_events(events))
		return -EINVAL;
	if (!__cport_loop_fd_open(fd))
		return -EBADF;
	if (!(loop->port.features & CPORT_FEAT_POLL))
		return -EOPNOTSUPP;
	if (__cport_loop_fd_find(loop, fd))
		return -EEXIST;
	ret = __cport_loop_fd_map(loop, fd);
	if (ret)
		return ret;
	idx = __cport_loop_alloc(loop, CPORT_LOOP_FD, &ret);
	if (!idx)
		return ret;
	loop->slots[idx].fd = fd;
	loop->slots[idx].events = events;
	loop->slots[idx].fd_cb = cb;
	loop->slots[idx].arg = arg;
	ret = __cport_loop_arm_fd(loop, idx);
	if (ret) {
		__cport_loop_release(loop, idx);
		return ret;
	}
	loop->fd_slot[fd] = idx;
	return 0;
}

/**
 * cport_loop_mod_fd() - change the events an added fd is watched for
 * @loop: the loop.
 * @fd: an fd added with cport_loop_add_fd().
 * @events: the new events, as for cport_loop_add_fd().
 *
 * If @fd is ready for one of the new events, the handler runs for it, as
 * when it was added. An fd whose poll has ended (EPOLLERR, EPOLLHUP) is
 * armed again.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop NULL, bad @events), -ENOENT (@fd not added),
 * -ENOMEM.
 */
int cport_loop_mod_fd(struct cport_loop *loop, int fd, uint32_t events)
{
	struct __cport_loop_slot *s;
	struct cport_sqe sqe;
	uint32_t idx;
	int ret;

	if (!loop || __cport_loop_check_events(events))
		return -EINVAL;
	idx = __cport_loop_fd_find(loop, fd);
	if (!idx)
		return -ENOENT;
	s = &loop->slots[idx];
	if (s->state == CPORT_LOOP_FD_ENDED) {
		uint32_t old = s->events;

		s->events = events;
		ret = __cport_loop_arm_fd(loop, idx);
		if (ret) {
			s->events = old;
			return ret;
		}
		s->state = CPORT_LOOP_FD_ARMED;
		return 0;
	}
	cport_prep_poll_update(&sqe, __cport_loop_ud(loop, idx), 0, events,
			       CPORT_POLL_UPDATE_EVENTS);
	ret = __cport_loop_queue(loop, &sqe, 0);
	if (!ret)
		s->events = events;
	return ret;
}

/**
 * cport_loop_del_fd() - stop watching an fd
 * @loop: the loop.
 * @fd: an fd added with cport_loop_add_fd().
 *
 * The handler is not called for @fd after this returns, even for readiness
 * already in the CQ; @fd may be closed at once and added again.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop NULL), -ENOENT (@fd not added), -ENOMEM.
 */
int cport_loop_del_fd(struct cport_loop *loop, int fd)
{
	struct __cport_loop_slot *s;
	struct cport_sqe sqe;
	uint32_t idx;
	int ret;

	if (!loop)
		return -EINVAL;
	idx = __cport_loop_fd_find(loop, fd);
	if (!idx)
		return -ENOENT;
	s = &loop->slots[idx];
	if (s->state == CPORT_LOOP_FD_ENDED) {
		loop->fd_slot[fd] = 0;
		__cport_loop_release(loop, idx);
		return 0;
	}
	cport_prep_poll_remove(&sqe, __cport_loop_ud(loop, idx));
	ret = __cport_loop_queue(loop, &sqe, 0);
	if (ret)
		return ret;
	/* Freed at the poll's terminal CQE; silent until then. */
	s->dead = true;
	loop->fd_slot[fd] = 0;
	return 0;
}

/**
 * cport_loop_add_timer() - call @cb after @first_ns, then every @period_ns
 * @loop: the loop.
 * @first_ns: delay of the first expiration (CLOCK_MONOTONIC, relative).
 * @period_ns: period of the next ones, at least CPORT_TIMEOUT_MIN_PERIOD_NS;
 *             0: expire once.
 * @cb: called once per expiration (expirations that the kernel coalesced,
 *      because the loop was late, make as many calls in a row).
 * @arg: passed to @cb.
 * @id: if not NULL, set to the timer's id for cport_loop_cancel_timer()
 *      (never 0).
 *
 * A one-shot timer ends after its call; a periodic one runs until
 * cancelled.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop or @cb NULL, @first_ns above INT64_MAX, a
 * period below the minimum), -EBUSY (the loop has cq_entries - sq_entries
 * ops, fds and timers), -ENOMEM.
 */
int cport_loop_add_timer(struct cport_loop *loop, uint64_t first_ns,
			 uint64_t period_ns, cport_loop_fn cb, void *arg,
			 uint64_t *id)
{
	struct cport_sqe sqe;
	uint32_t idx;
	uint64_t ud;
	int ret;

	if (!loop || !cb || first_ns > INT64_MAX || period_ns > INT64_MAX ||
	    (period_ns && period_ns < CPORT_TIMEOUT_MIN_PERIOD_NS))
		return -EINVAL;
	idx = __cport_loop_alloc(loop, CPORT_LOOP_TIMER, &ret);
	if (!idx)
		return ret;
	if (period_ns)
		cport_prep_timer(&sqe, first_ns, period_ns, 0, 0);
	else
		cport_prep_timeout(&sqe, first_ns, 0);
	ud = __cport_loop_ud(loop, idx);
	ret = __cport_loop_queue(loop, &sqe, ud);
	if (ret) {
		__cport_loop_release(loop, idx);
		return ret;
	}
	loop->slots[idx].timer_cb = cb;
	loop->slots[idx].arg = arg;
	if (id)
		*id = ud;
	return 0;
}

/**
 * cport_loop_cancel_timer() - cancel a timer
 * @loop: the loop.
 * @id: the id cport_loop_add_timer() gave.
 *
 * Its callback does not run after this returns, even for expirations
 * already in the CQ.
 *
 * Context: the loop's thread.
 * Return: 0; -EINVAL (@loop NULL); -ENOENT (no such timer: a one-shot
 * timer whose callback has run, a cancelled one, or a bad @id); -ENOMEM.
 */
int cport_loop_cancel_timer(struct cport_loop *loop, uint64_t id)
{
	struct __cport_loop_slot *s;
	struct cport_sqe sqe;
	int ret;

	if (!loop)
		return -EINVAL;
	s = __cport_loop_find(loop, id);
	if (!s || s->kind != CPORT_LOOP_TIMER || s->dead)
		return -ENOENT;
	cport_prep_timeout_remove(&sqe, id);
	ret = __cport_loop_queue(loop, &sqe, 0);
	if (ret)
		return ret;
	/* Freed at the timer's terminal CQE; silent until then. */
	s->dead = true;
	return 0;
}

/* Wake the loop: set its event flag. Async-signal-safe. */
static void __cport_loop_wake(struct cport_loop *loop)
{
	/* Fails only if the port is gone: then nobody is waiting. */
	cport_flag_set_fd(loop->port.ring_fd, 0, CPORT_LOOP_WAKE_BIT);
}

/**
 * cport_loop_post() - run @cb on the loop's thread
 * @loop: the loop.
 * @cb: the callback.
 * @arg: passed to @cb.
 *
 * @cb runs once, at the loop's next pass, after the CQEs of that pass;
 * posts run in the order they were made. A post needs no CQ slot: a full
 * CQ never refuses it. Posts not run when the loop is freed are dropped.
 *
 * Context: thread-safe, from any thread, callbacks included.
 * Return: 0; -EINVAL (@loop or @cb NULL); -ENOMEM.
 */
int cport_loop_post(struct cport_loop *loop, cport_loop_fn cb, void *arg)
{
	struct __cport_loop_post *p, *old;

	if (!loop || !cb)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cb = cb;
	p->arg = arg;
	old = __atomic_load_n(&loop->posts, __ATOMIC_RELAXED);
	do {
		p->next = old;
		/*
		 * Release: *p is complete before the loop can see it; pairs
		 * with the loop's acquire exchange of the list.
		 */
	} while (!__atomic_compare_exchange_n(&loop->posts, &old, p, true,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	/*
	 * Only the first post on an empty list wakes the loop: the loop
	 * consumes the flag before it takes the list, so a post that found
	 * the list non-empty is taken with the one that woke it.
	 */
	if (!old)
		__cport_loop_wake(loop);
	return 0;
}

/**
 * cport_loop_stop() - make cport_loop_run() return
 * @loop: the loop, or NULL (nothing happens).
 *
 * cport_loop_run() runs no callback after it has seen the stop: the
 * callback that calls cport_loop_stop() is the last one, and a sleeping
 * loop wakes up and runs none. Then cport_loop_run() returns 0. The
 * callbacks of the pass that did not run are kept, in order, for the next
 * pass (of cport_loop_run_once() or cport_loop_run()). A stop made while
 * no cport_loop_run() runs makes the next one return 0 without running a
 * callback. cport_loop_run_once() ignores stops. Needs no CQ slot.
 *
 * Context: thread-safe, from any thread, callbacks included, and
 * async-signal-safe.
 */
void cport_loop_stop(struct cport_loop *loop)
{
	if (!loop)
		return;
	__atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
	__cport_loop_wake(loop);
}

/* Dispatch a CQE of a proactor op. Returns the number of callbacks run. */
static int __cport_loop_op_cqe(struct cport_loop *loop, uint32_t idx,
			       const struct cport_cqe *cqe)
{
	cport_loop_cqe_fn cb = loop->slots[idx].op_cb;
	void *arg = loop->slots[idx].arg;

	if (!(cqe->flags & CPORT_CQE_F_MORE))
		__cport_loop_release(loop, idx);
	if (!cb)
		return 0;
	cb(loop, cqe, arg);
	return 1;
}

/* Dispatch a CQE of an fd's poll. */
static int __cport_loop_fd_cqe(struct cport_loop *loop, uint32_t idx,
			       const struct cport_cqe *cqe)
{
	struct __cport_loop_slot *s = &loop->slots[idx];
	uint32_t events;

	if (!(cqe->flags & CPORT_CQE_F_MORE)) {
		if (s->dead) {
			__cport_loop_release(loop, idx);
			return 0;
		}
		/* Ended by EPOLLERR/EPOLLHUP or an error: disarmed. */
		s->state = CPORT_LOOP_FD_ENDED;
	} else if (s->dead) {
		return 0;
	}
	events = cqe->res > 0 ? (uint32_t)cqe->res : EPOLLERR;
	s->fd_cb(loop, s->fd, events, s->arg);
	return 1;
}

/*
 * True when the pass must run no more callbacks: cport_loop_run() makes it
 * and was stopped. cport_loop_run_once() ignores stops.
 */
static bool __cport_loop_stopped(struct cport_loop *loop)
{
	/* Acquire pairs with the release in cport_loop_stop(). */
	return loop->in_run && __atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE);
}

/*
 * Dispatch a CQE of a timer: one call per expiration it reports. A stop
 * between two calls leaves the rest in @cqe (res) and clears *@done.
 */
static int __cport_loop_timer_cqe(struct cport_loop *loop, uint32_t idx,
				  struct cport_cqe *cqe, bool *done)
{
	uint64_t ud = __cport_loop_ud(loop, idx);
	bool last = !(cqe->flags & CPORT_CQE_F_MORE);
	int i, n = cqe->res > 0 ? cqe->res : 0;
	int ran = 0;

	if (loop->slots[idx].dead)
		n = 0;
	if (last) {
		cport_loop_fn cb = loop->slots[idx].timer_cb;
		void *arg = loop->slots[idx].arg;

		/*
		 * Done: cport_loop_cancel_timer() from @cb is -ENOENT. The
		 * loop's timers end with one expiration at most (a one-shot
		 * timer's, or none: a periodic one ends only when cancelled
		 * or failed), so a stop has nothing to cut here.
		 */
		__cport_loop_release(loop, idx);
		for (i = 0; i < n; i++, ran++)
			cb(loop, arg);
		return ran;
	}
	for (i = 0; i < n; i++, ran++) {
		struct __cport_loop_slot *s = __cport_loop_find(loop, ud);

		/* Cancelled by an earlier call? The table may have moved. */
		if (!s || s->dead)
			break;
		/* Stopped by an earlier call: the rest is the next pass's. */
		if (i && __cport_loop_stopped(loop)) {
			cqe->res = n - i;
			*done = false;
			break;
		}
		s->timer_cb(loop, s->arg);
	}
	return ran;
}

/* Clears *@done if a stop left part of @cqe (a timer's) for later. */
static int __cport_loop_dispatch(struct cport_loop *loop,
				 struct cport_cqe *cqe, bool *done)
{
	struct __cport_loop_slot *s = __cport_loop_find(loop, cqe->user_data);
	uint32_t idx = (uint32_t)cqe->user_data;

	if (!s)
		return 0;	/* a control SQE's CQE, or stale */
	switch (s->kind) {
	case CPORT_LOOP_OP:
		return __cport_loop_op_cqe(loop, idx, cqe);
	case CPORT_LOOP_FD:
		return __cport_loop_fd_cqe(loop, idx, cqe);
	default:
		return __cport_loop_timer_cqe(loop, idx, cqe, done);
	}
}

/*
 * Run the callbacks of the CQEs copied out, from @cqe_next on, adding
 * their number to *@ran. Returns false if a stop left some for the next
 * pass.
 */
static bool __cport_loop_run_cqes(struct cport_loop *loop, int *ran)
{
	while (loop->cqe_next < loop->cqe_nr) {
		bool done = true;

		if (__cport_loop_stopped(loop))
			return false;
		*ran += __cport_loop_dispatch(loop,
					      &loop->cqes[loop->cqe_next],
					      &done);
		if (!done)
			return false;
		loop->cqe_next++;
	}
	return true;
}

/*
 * Run the posts, oldest first: those a stop left in @taken, else those
 * made so far. Returns the number run.
 */
static int __cport_loop_run_posts(struct cport_loop *loop)
{
	struct __cport_loop_post *p, *next, *fifo = NULL;
	int ran = 0;

	if (!loop->taken) {
		/* Acquire pairs with the release of the posters' CAS. */
		p = __atomic_exchange_n(&loop->posts, NULL, __ATOMIC_ACQUIRE);
		for (; p; p = next) {
			next = p->next;
			p->next = fifo;
			fifo = p;
		}
		loop->taken = fifo;
	}
	while ((p = loop->taken) && !__cport_loop_stopped(loop)) {
		loop->taken = p->next;
		p->cb(loop, p->arg);
		free(p);
		ran++;
	}
	return ran;
}

/* True if a stop left callbacks of a pass for the next one. */
static bool __cport_loop_left(struct cport_loop *loop)
{
	return loop->cqe_next < loop->cqe_nr || loop->taken;
}

/* True if a pass has work without waiting. */
static bool __cport_loop_busy(struct cport_loop *loop)
{
	return __cport_loop_left(loop) || cport_cq_ready(&loop->port) ||
	       loop->ctl_nr || __atomic_load_n(&loop->posts, __ATOMIC_RELAXED);
}

/*
 * One pass: submit, wait up to @timeout_ns (negative: no limit) for a CQE
 * or a wake-up, then run the callbacks of the CQEs there and the posts.
 * A pass after a stop first finishes the stopped one: it runs what that
 * one left, without waiting, and reaps nothing new.
 */
static int __cport_loop_pass(struct cport_loop *loop, int64_t timeout_ns)
{
	struct cport *port = &loop->port;
	bool resume = __cport_loop_left(loop);
	unsigned int i, n, head;
	struct cport_cqe *cqe;
	int ret, ran = 0;

	__cport_loop_move_ctl(loop);
	__cport_loop_stamp(loop);
	if (__cport_loop_busy(loop))
		timeout_ns = 0;
	ret = cport_wait_cqe_flags(port, &cqe, 0, CPORT_LOOP_WAKE_MASK,
				   CPORT_ENTER_FLAGS_CONSUME, timeout_ns, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;

	if (!resume) {
		/*
		 * Copy the CQEs out and hand the slots back before any
		 * callback, so that callbacks find the CQ with room for what
		 * they submit.
		 */
		n = cport_cq_ready(port);
		if (n > port->cq.ring_entries)
			return -EIO;	/* the CQ head was overwritten */
		head = __cport_read_once(port->cq.khead);
		for (i = 0; i < n; i++)
			loop->cqes[i] =
				port->cq.cqes[(head + i) & port->cq.ring_mask];
		cport_cq_advance(port, n);
		loop->cqe_next = 0;
		loop->cqe_nr = n;
	}
	if (__cport_loop_run_cqes(loop, &ran))
		ran += __cport_loop_run_posts(loop);
	if (!ran && ret == -EINTR)
		return -EINTR;
	return ran;
}

/**
 * cport_loop_run_once() - one pass of the loop
 * @loop: the loop.
 * @timeout_ns: longest wait for work; 0: do not sleep; negative: no limit.
 *
 * Submits what is pending, waits until a CQE, a post or a stop is there
 * (not at all if one already is) or the time is up, then runs the
 * callbacks of the CQEs that are in the CQ, in their order, then the posts.
 * After a pass that cport_loop_stop() ended early, it runs instead what
 * that pass left, without waiting. A stop does not cut its own pass.
 *
 * Context: the loop's thread; not from a callback.
 * Return: the number of callbacks run (0: the time ran out, or the pass
 * had only the loop's own work); -EINVAL (@loop NULL); -EBUSY (called from
 * a callback); -EINTR (a signal, and no callback ran); or another -errno
 * of the wait.
 */
int cport_loop_run_once(struct cport_loop *loop, int64_t timeout_ns)
{
	int ret;

	if (!loop)
		return -EINVAL;
	if (loop->in_pass)
		return -EBUSY;
	loop->in_pass = true;
	ret = __cport_loop_pass(loop, timeout_ns);
	loop->in_pass = false;
	return ret;
}

/**
 * cport_loop_run() - run the loop until cport_loop_stop()
 * @loop: the loop.
 *
 * Signals do not end it (a handler may call cport_loop_stop()). After a
 * stop it runs no callback: the one that called cport_loop_stop() is the
 * last.
 *
 * Context: the loop's thread; not from a callback.
 * Return: 0 after cport_loop_stop(); -EINVAL (@loop NULL); -EBUSY (called
 * from a callback); or the -errno of a failed wait.
 */
int cport_loop_run(struct cport_loop *loop)
{
	int ret;

	if (!loop)
		return -EINVAL;
	if (loop->in_pass)
		return -EBUSY;
	loop->in_run = true;
	for (;;) {
		/*
		 * A stop that came before run() may have had its wake-up
		 * consumed by a cport_loop_run_once(): do not sleep then.
		 */
		bool stopping = __atomic_load_n(&loop->stop, __ATOMIC_RELAXED);

		ret = cport_loop_run_once(loop, stopping ? 0 : -1);
		if (ret < 0 && ret != -EINTR)
			break;
		/* Acquire pairs with the release in cport_loop_stop(). */
		if (__atomic_exchange_n(&loop->stop, false, __ATOMIC_ACQUIRE)) {
			ret = 0;
			break;
		}
	}
	loop->in_run = false;
	return ret;
}
