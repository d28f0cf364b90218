/* SPDX-License-Identifier: MIT */
/*
 * libcport: user-space library for the cport completion port (/dev/cport).
 *
 * The low level follows liburing's shape: set a port up, get SQEs, prepare
 * them, submit, then peek at or wait for CQEs and mark them seen. On top of
 * it sit IOCP-style calls: post a completion to a port, and get queued
 * completions from any number of threads at once. Beside them, OpenVMS-style
 * event flags: set, clear, read and wait for any or all of 64 flags.
 *
 * Every function returns 0 or a positive count on success and -errno on
 * failure, and none of them ever changes errno.
 *
 * Threads. A port may be shared by many threads, but the calls fall into
 * two groups:
 *
 *  - thread-safe, callable from any number of threads at once:
 *    cport_post(), cport_post_fd(), cport_get_queued_completions(),
 *    cport_get_queued_completion(), cport_pool_leave(),
 *    cport_concurrency(), cport_enter() with to_submit == 0,
 *    the register calls (provided buffer rings included: cport_*_buf_ring()),
 *    the version calls, the event flag calls
 *    (cport_flag_*(), cport_flags_local(), cport_cluster_*());
 *  - single-threaded: the SQ side (cport_get_sqe(), cport_sq_ready(),
 *    cport_sq_space_left(), cport_submit*()) and the single-consumer CQ side
 *    (cport_peek_cqe(), cport_peek_batch_cqe(), cport_cq_ready(),
 *    cport_cqe_seen(), cport_cq_advance(), cport_wait_cqe*()). Each side
 *    needs one thread at a time, or a lock held by the caller. The SQ side
 *    and the CQ side may run in two different threads, but
 *    cport_wait_cqe_flags() submits and reaps: it belongs to both.
 *
 * Do not mix the two ways of reaping on one port: the single-consumer CQ calls
 * assume nobody else moves the CQ head, while cport_get_queued_completions()
 * moves it with compare-and-swap.
 *
 * See cport(7) and one page per function in section 3; the kernel interface is
 * Documentation/userspace-api.rst.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef _CPORT_H
#define _CPORT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/*
 * In the source tree this finds include/uapi/cport.h next to this file;
 * "make install" rewrites it to the installed <cport/uapi.h>.
 */
#include "uapi/cport.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CPORT_INLINE
#define CPORT_INLINE static inline
#endif

/*
 * The int64_t timeouts (cport_get_queued_completions(),
 * cport_get_queued_completion(), cport_flag_wait(), cport_wait_cqe_flags(),
 * cport_loop_run_once()): wait without a limit. The uint64_t ones
 * (cport_enter() with CPORT_ENTER_TIMEOUT, cport_submit_and_wait_timeout(),
 * cport_wait_cqe_timeout()) have no such value: call the variant without
 * a timeout; this value becomes UINT64_MAX there, which the kernel cuts to
 * KTIME_MAX (about 292 years). See cport(7), "Timeouts".
 */
#define CPORT_INFINITE		((int64_t)-1)

/* Path of the device opened by cport_setup(). */
#define CPORT_DEVICE_PATH	"/dev/cport"

/*
 * Shared-ring accessors, named after the kernel's. Each user of an
 * acquire/release says what it pairs with (userspace-api.rst, "Shared rings
 * and memory ordering").
 */
#define __cport_smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define __cport_smp_store_release(p, v) \
	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define __cport_read_once(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define __cport_write_once(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

/**
 * struct cport_sq - the submission side of a port, as mapped
 * @khead: SQ head, written by the kernel.
 * @ktail: SQ tail, written by the library when it submits.
 * @kflags: SQ flags (none defined yet).
 * @sqes: the SQE array.
 * @sqe_head: SQEs below this index have been published to @ktail.
 * @sqe_tail: next SQE handed out by cport_get_sqe().
 * @ring_mask: @ring_entries - 1.
 * @ring_entries: number of SQEs.
 * @ring_sz: size of the SQ ring mapping.
 * @ring_ptr: the SQ ring mapping.
 * @sqes_sz: size of the SQE mapping.
 * @pad: reserved.
 */
struct cport_sq {
	unsigned int *khead;
	unsigned int *ktail;
	unsigned int *kflags;
	struct cport_sqe *sqes;
	unsigned int sqe_head;
	unsigned int sqe_tail;
	unsigned int ring_mask;
	unsigned int ring_entries;
	size_t ring_sz;
	void *ring_ptr;
	size_t sqes_sz;
	unsigned int pad[4];
};

/**
 * struct cport_cq - the completion side of a port, as mapped
 * @khead: CQ head, written by the consumer(s).
 * @ktail: CQ tail, written by the kernel.
 * @kflags: CQ flags (none defined yet).
 * @koverflow: count of multishot expirations that were coalesced.
 * @cqes: the CQE array.
 * @ring_mask: @ring_entries - 1.
 * @ring_entries: number of CQEs.
 * @ring_sz: size of the CQ ring mapping.
 * @ring_ptr: the CQ ring mapping.
 * @pad: reserved.
 */
struct cport_cq {
	unsigned int *khead;
	unsigned int *ktail;
	unsigned int *kflags;
	unsigned int *koverflow;
	struct cport_cqe *cqes;
	unsigned int ring_mask;
	unsigned int ring_entries;
	size_t ring_sz;
	void *ring_ptr;
	unsigned int pad[4];
};

/**
 * struct cport - a port set up and mapped by cport_queue_init()
 * @sq: submission side.
 * @cq: completion side.
 * @flags: the CPORT_SETUP_* flags it was set up with.
 * @ring_fd: the port's file descriptor (-1 when not set up).
 * @features: CPORT_FEAT_* bits reported by the kernel.
 * @concurrency: the port's concurrency value (CPORT_FEAT_CONCURRENCY), or
 *               0; see cport_concurrency().
 * @pad: @concurrency under its old name (reserved in libcport 1.0, 1.1).
 * @flag_page: the port's read-only flag page (CPORT_OFF_FLAGS), or NULL
 *             when the module has none (before CPORT_FEAT_FLAGS).
 * @pad2: reserved; with @flag_page, the space of the former pad[1..2].
 *
 * @flag_page took over reserved words, so the size and the offsets of the
 * other fields are those of libcport 1.0 on every ABI: 8 bytes at offset
 * 184 with 64-bit pointers, 4 of 8 at offset 128 with 32-bit ones.
 */
struct cport {
	struct cport_sq sq;
	struct cport_cq cq;
	unsigned int flags;
	int ring_fd;
	unsigned int features;
	union {
		unsigned int concurrency;
		unsigned int pad;
	};
	union {
		const struct cport_flag_page *flag_page;
		unsigned int pad2[2];
	};
};

/* Setup and teardown (setup.c) */
int cport_setup(unsigned int entries, struct cport_params *p);
int cport_queue_mmap(int fd, struct cport_params *p, struct cport *port);
int cport_queue_init_params(unsigned int entries, struct cport *port,
			    struct cport_params *p);
int cport_queue_init(unsigned int entries, struct cport *port,
		     unsigned int flags);
void cport_queue_exit(struct cport *port);

/* Raw system call (syscall.c) */
int cport_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		unsigned int flags, uint64_t timeout_ns);

/* Submission and single-consumer waiting (queue.c) */
int cport_submit(struct cport *port);
int cport_submit_and_wait(struct cport *port, unsigned int wait_nr);
int cport_submit_and_wait_timeout(struct cport *port, unsigned int wait_nr,
				  uint64_t timeout_ns);
int cport_wait_cqe_nr(struct cport *port, struct cport_cqe **cqe_ptr,
		      unsigned int wait_nr);
int cport_wait_cqe_timeout(struct cport *port, struct cport_cqe **cqe_ptr,
			   uint64_t timeout_ns);

/* IOCP-style, thread-safe (iocp.c) */
int cport_post(struct cport *port, int32_t res, uint64_t user_data);
int cport_post_fd(int port_fd, int32_t res, uint64_t user_data);
int cport_get_queued_completions(struct cport *port, struct cport_cqe *out,
				 unsigned int max, int64_t timeout_ns);
int cport_get_queued_completion(struct cport *port, struct cport_cqe *out,
				int64_t timeout_ns);

/* Registered buffers and files (register.c) */
int cport_register_buffers(struct cport *port, const struct iovec *iovecs,
			   unsigned int nr);
int cport_unregister_buffers(struct cport *port);
int cport_register_files(struct cport *port, const int *fds, unsigned int nr);
int cport_unregister_files(struct cport *port);

/*
 * Provided buffer rings (net.c), thread-safe: a ring of user buffers
 * registered with the port as buffer group bgid, from which
 * cport_prep_recv_select() and cport_prep_recv_multishot() ops take a
 * buffer when data arrives. cport_setup_buf_ring() maps, initialises and
 * registers one; cport_free_buf_ring() unregisters and unmaps it.
 */
int cport_register_buf_ring(struct cport *port,
			    const struct cport_buf_reg *reg);
int cport_unregister_buf_ring(struct cport *port, unsigned int bgid);
struct cport_buf_ring *cport_setup_buf_ring(struct cport *port,
					    unsigned int entries,
					    unsigned int bgid, int *err);
int cport_free_buf_ring(struct cport *port, struct cport_buf_ring *br,
			unsigned int entries, unsigned int bgid);

/*
 * Restrictions (restrict.c): lock a port to the opcodes, SQE flags and
 * ioctls of *r, for good, before its descriptor goes to a sandbox.
 */
#define CPORT_RESTRICT_OP(op)		(1ULL << (op))
#define CPORT_RESTRICT_IOCTL(cmd)	(1ULL << _IOC_NR(cmd))
int cport_restrict(struct cport *port, const struct cport_restrict *r);

/* Event flags and common clusters, thread-safe (flags.c) */
int cport_flag_set(struct cport *port, unsigned int cluster, unsigned int bit);
int cport_flag_clear(struct cport *port, unsigned int cluster,
		     unsigned int bit);
int cport_flag_set_fd(int port_fd, unsigned int cluster, unsigned int bit);
int cport_flag_clear_fd(int port_fd, unsigned int cluster, unsigned int bit);
int cport_flag_read(struct cport *port, unsigned int cluster, uint64_t *flags);
int cport_flag_wait(struct cport *port, unsigned int cluster, uint64_t mask,
		    unsigned int flags, int64_t timeout_ns, uint64_t *result);
int cport_flag_poll_arm(struct cport *port, unsigned int cluster,
			uint64_t mask, unsigned int flags);
int cport_flag_poll_disarm(struct cport *port);
int cport_cluster_assoc(struct cport *port, const char *name,
			unsigned int flags, unsigned int mode,
			unsigned int *cluster);
int cport_cluster_disassoc(struct cport *port, unsigned int cluster);
int cport_cluster_delete(struct cport *port, const char *name);

/* What ended cport_wait_cqe_flags(): either bit, or both. */
#define CPORT_WAKE_CQE		(1U << 0) /* a CQE is ready: *cqe_ptr */
#define CPORT_WAKE_FLAGS	(1U << 1) /* the flag condition: *result */

/* Composite wait: submits, then single-consumer wait (flags.c) */
int cport_wait_cqe_flags(struct cport *port, struct cport_cqe **cqe_ptr,
			 unsigned int cluster, uint64_t mask,
			 unsigned int flags, int64_t timeout_ns,
			 uint64_t *result);

/*
 * Thread pools (iocp.c): CPORT_IOC_GETQ. cport_get_queued_completions()
 * counts its caller as a running pool thread under the port's concurrency
 * value until its next get; cport_pool_leave() ends that count early.
 * cport_concurrency() is the value in effect (0 without
 * CPORT_FEAT_CONCURRENCY).
 */
int cport_pool_leave(struct cport *port);
int cport_concurrency(struct cport *port);

/*
 * Event loop (loop.c). One thread runs the loop; cport_loop_post() and
 * cport_loop_stop() may be called from any thread. See cport_loop(3).
 *
 * Proactor: cport_loop_get_sqe() hands out an SQE whose completion calls
 * cb (once per CQE; a multishot op's last call has no CPORT_CQE_F_MORE).
 * Reactor: cport_loop_add_fd() calls cb with the ready EPOLL* events each
 * time fd becomes ready (a multishot poll), until cport_loop_del_fd().
 * Timers: cport_loop_add_timer() calls cb after first_ns, then every
 * period_ns (0: once), until cport_loop_cancel_timer().
 * cport_loop_post() runs cb on the loop's thread (thread-safe).
 * cport_loop_run() dispatches until cport_loop_stop() (returns 0) or an
 * error (-errno); the callback that calls cport_loop_stop() is the last one
 * it runs, and the next pass runs what it left. cport_loop_run_once() waits
 * up to timeout_ns (negative: no limit) for work and dispatches what is
 * ready, returning how many callbacks ran. flags of cport_loop_new() must
 * be 0.
 */
struct cport_loop;

typedef void (*cport_loop_cqe_fn)(struct cport_loop *loop,
				  const struct cport_cqe *cqe, void *arg);
typedef void (*cport_loop_fd_fn)(struct cport_loop *loop, int fd,
				 uint32_t events, void *arg);
typedef void (*cport_loop_fn)(struct cport_loop *loop, void *arg);

int cport_loop_new(struct cport_loop **loopp, unsigned int entries,
		   unsigned int flags);
void cport_loop_free(struct cport_loop *loop);
struct cport *cport_loop_port(struct cport_loop *loop);
struct cport_sqe *cport_loop_get_sqe(struct cport_loop *loop,
				     cport_loop_cqe_fn cb, void *arg);
int cport_loop_add_fd(struct cport_loop *loop, int fd, uint32_t events,
		      cport_loop_fd_fn cb, void *arg);
int cport_loop_mod_fd(struct cport_loop *loop, int fd, uint32_t events);
int cport_loop_del_fd(struct cport_loop *loop, int fd);
int cport_loop_add_timer(struct cport_loop *loop, uint64_t first_ns,
			 uint64_t period_ns, cport_loop_fn cb, void *arg,
			 uint64_t *id);
int cport_loop_cancel_timer(struct cport_loop *loop, uint64_t id);
int cport_loop_post(struct cport_loop *loop, cport_loop_fn cb, void *arg);
int cport_loop_run(struct cport_loop *loop);
int cport_loop_run_once(struct cport_loop *loop, int64_t timeout_ns);
void cport_loop_stop(struct cport_loop *loop);

/*
 * Socket ops on the loop (loop.c, CPORT_FEAT_NET), proactor style: each is
 * an op of cport_loop_get_sqe() whose CQEs call cb. cport_loop_accept() is
 * a multishot accept (a call per connection, res the new descriptor, with
 * CPORT_CQE_F_MORE); cport_loop_recv() and cport_loop_send() call cb once,
 * res the bytes moved or -errno. flags: SOCK_NONBLOCK, SOCK_CLOEXEC for
 * accept, MSG_* for recv and send. buf must live until cb runs.
 */
int cport_loop_accept(struct cport_loop *loop, int fd, int flags,
		      cport_loop_cqe_fn cb, void *arg);
int cport_loop_recv(struct cport_loop *loop, int fd, void *buf, size_t len,
		    int flags, cport_loop_cqe_fn cb, void *arg);
int cport_loop_send(struct cport_loop *loop, int fd, const void *buf,
		    size_t len, int flags, cport_loop_cqe_fn cb, void *arg);

/* Version of the library running (version.c) */
int cport_version_major(void);
int cport_version_minor(void);
bool cport_check_version(int major, int minor);

/*
 * SQ side. Single-threaded: one thread, or the caller's lock.
 */

/*
 * Number of SQEs handed out by cport_get_sqe() that the kernel has not
 * consumed yet (published or not).
 */
CPORT_INLINE unsigned int cport_sq_ready(const struct cport *port)
{
	/*
	 * Pairs with the kernel's store-release of the SQ head, done after
	 * it has read the SQEs: slots below the head may be reused.
	 */
	return port->sq.sqe_tail - __cport_smp_load_acquire(port->sq.khead);
}

/* Number of SQEs cport_get_sqe() can still hand out. */
CPORT_INLINE unsigned int cport_sq_space_left(const struct cport *port)
{
	return port->sq.ring_entries - cport_sq_ready(port);
}

/*
 * Next free SQE, or NULL when the SQ is full (submit, then try again). Its
 * content is stale: a cport_prep_*() helper clears it.
 */
CPORT_INLINE struct cport_sqe *cport_get_sqe(struct cport *port)
{
	struct cport_sq *sq = &port->sq;
	unsigned int tail = sq->sqe_tail;

	/* Pairs with the kernel's store-release of the SQ head (see above). */
	if (tail - __cport_smp_load_acquire(sq->khead) >= sq->ring_entries)
		return NULL;
	sq->sqe_tail = tail + 1;
	return &sq->sqes[tail & sq->ring_mask];
}

/*
 * Prep helpers. Each clears the whole SQE first, so reserved fields and the
 * fields the opcode does not use are 0, as the kernel requires. The SQE's
 * user_data is 0 afterwards: set it with cport_sqe_set_data64().
 */

CPORT_INLINE void __cport_prep(struct cport_sqe *sqe, uint8_t opcode)
{
	/*
	 * A struct copy rather than memset(): same code, and no -Warray-bounds
	 * noise from GCC on a cport_get_sqe() result not checked for NULL.
	 */
#ifdef __cplusplus
	const struct cport_sqe zero = {};
#else
	const struct cport_sqe zero = { 0 };
#endif

	*sqe = zero;
	sqe->opcode = opcode;
}

/* CPORT_OP_NOP: completes at once with res 0. */
CPORT_INLINE void cport_prep_nop(struct cport_sqe *sqe)
{
	__cport_prep(sqe, CPORT_OP_NOP);
}

/*
 * CPORT_OP_POST: post { post_user_data, res, 0 } to the port open at
 * target_fd (which may be this port).
 */
CPORT_INLINE void cport_prep_post(struct cport_sqe *sqe, int target_fd,
				  int32_t res, uint64_t post_user_data)
{
	__cport_prep(sqe, CPORT_OP_POST);
	sqe->fd = target_fd;
	sqe->addr = post_user_data;
	sqe->len = (uint32_t)res;
}

/*
 * CPORT_OP_TIMEOUT, one-shot: expires after ns (relative) or at ns
 * (CPORT_TIMEOUT_ABS). flags: CPORT_TIMEOUT_*.
 */
CPORT_INLINE void cport_prep_timeout(struct cport_sqe *sqe, uint64_t ns,
				     unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_TIMEOUT);
	sqe->off = ns;
	sqe->op_flags = flags;
}

/*
 * CPORT_OP_LINK_TIMEOUT: put it right behind an SQE with CPORT_SQE_F_LINK;
 * if that op has not completed ns after it started, it is cancelled.
 */
CPORT_INLINE void cport_prep_link_timeout(struct cport_sqe *sqe, uint64_t ns)
{
	__cport_prep(sqe, CPORT_OP_LINK_TIMEOUT);
	sqe->off = ns;
}

/*
 * CPORT_OP_TIMEOUT with CPORT_TIMEOUT_MULTISHOT: first expiry after
 * first_ns, then every period_ns (0: first_ns, relative only), count shots
 * (0: until cancelled). flags: other CPORT_TIMEOUT_* bits.
 */
CPORT_INLINE void cport_prep_timer(struct cport_sqe *sqe, uint64_t first_ns,
				   uint64_t period_ns, unsigned int count,
				   unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_TIMEOUT);
	sqe->off = first_ns;
	sqe->addr2 = period_ns;
	sqe->len = count;
	sqe->op_flags = flags | CPORT_TIMEOUT_MULTISHOT;
}

/* CPORT_OP_TIMEOUT_REMOVE: cancel the timer whose user_data is user_data. */
CPORT_INLINE void cport_prep_timeout_remove(struct cport_sqe *sqe,
					    uint64_t user_data)
{
	__cport_prep(sqe, CPORT_OP_TIMEOUT_REMOVE);
	sqe->addr = user_data;
}

/* CPORT_OP_CANCEL: cancel in-flight ops by user_data. flags: CPORT_CANCEL_*. */
CPORT_INLINE void cport_prep_cancel(struct cport_sqe *sqe, uint64_t user_data,
				    unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_CANCEL);
	sqe->addr = user_data;
	sqe->op_flags = flags;
}

/* The fields the file I/O ops share. */
CPORT_INLINE void __cport_prep_rw(struct cport_sqe *sqe, uint8_t opcode,
				  int fd, const void *addr, unsigned int len,
				  uint64_t offset)
{
	__cport_prep(sqe, opcode);
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->len = len;
	sqe->off = offset;
}

/*
 * CPORT_OP_READ / CPORT_OP_WRITE: nbytes at offset (CPORT_POS_CURRENT: the
 * file position, which the op advances) of the file open at fd.
 */
CPORT_INLINE void cport_prep_read(struct cport_sqe *sqe, int fd, void *buf,
				  unsigned int nbytes, uint64_t offset)
{
	__cport_prep_rw(sqe, CPORT_OP_READ, fd, buf, nbytes, offset);
}

CPORT_INLINE void cport_prep_write(struct cport_sqe *sqe, int fd,
				   const void *buf, unsigned int nbytes,
				   uint64_t offset)
{
	__cport_prep_rw(sqe, CPORT_OP_WRITE, fd, buf, nbytes, offset);
}

/* CPORT_OP_READV / CPORT_OP_WRITEV: nr_vecs iovecs, as preadv/pwritev. */
CPORT_INLINE void cport_prep_readv(struct cport_sqe *sqe, int fd,
				   const struct iovec *iovecs,
				   unsigned int nr_vecs, uint64_t offset)
{
	__cport_prep_rw(sqe, CPORT_OP_READV, fd, iovecs, nr_vecs, offset);
}

CPORT_INLINE void cport_prep_writev(struct cport_sqe *sqe, int fd,
				    const struct iovec *iovecs,
				    unsigned int nr_vecs, uint64_t offset)
{
	__cport_prep_rw(sqe, CPORT_OP_WRITEV, fd, iovecs, nr_vecs, offset);
}

/*
 * CPORT_OP_READ_FIXED / CPORT_OP_WRITE_FIXED: nbytes at buf, which lies
 * inside the buffer registered at index buf_index
 * (cport_register_buffers()), from or to the file open at fd at offset.
 * No page is pinned per op.
 */
CPORT_INLINE void cport_prep_read_fixed(struct cport_sqe *sqe, int fd,
					void *buf, unsigned int nbytes,
					uint64_t offset, unsigned int buf_index)
{
	__cport_prep_rw(sqe, CPORT_OP_READ_FIXED, fd, buf, nbytes, offset);
	sqe->addr2 = buf_index;
}

CPORT_INLINE void cport_prep_write_fixed(struct cport_sqe *sqe, int fd,
					 const void *buf, unsigned int nbytes,
					 uint64_t offset,
					 unsigned int buf_index)
{
	__cport_prep_rw(sqe, CPORT_OP_WRITE_FIXED, fd, buf, nbytes, offset);
	sqe->addr2 = buf_index;
}

/*
 * CPORT_OP_FSYNC: fsync() the file open at fd, or fdatasync() with
 * CPORT_FSYNC_DATASYNC. A range: set sqe->off and sqe->len afterwards.
 */
CPORT_INLINE void cport_prep_fsync(struct cport_sqe *sqe, int fd,
				   unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_FSYNC);
	sqe->fd = fd;
	sqe->op_flags = flags;
}

/*
 * CPORT_OP_CANCEL with CPORT_CANCEL_FD: cancel the in-flight ops on the
 * file open at fd (the oldest, or all with CPORT_CANCEL_ALL in flags).
 */
CPORT_INLINE void cport_prep_cancel_fd(struct cport_sqe *sqe, int fd,
				       unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_CANCEL);
	sqe->fd = fd;
	sqe->op_flags = flags | CPORT_CANCEL_FD;
}

/*
 * CPORT_OP_FLAG_WAIT: completes when any of mask (all, with
 * CPORT_FLAG_WAIT_ALL in flags) is set in cluster (0: the local one, else a
 * cport_cluster_assoc() handle); res is the lowest flag that satisfied it.
 * flags: CPORT_FLAG_WAIT_ALL, CPORT_FLAG_WAIT_CONSUME.
 */
CPORT_INLINE void cport_prep_flag_wait(struct cport_sqe *sqe,
				       unsigned int cluster, uint64_t mask,
				       unsigned int flags)
{
	__cport_prep(sqe, CPORT_OP_FLAG_WAIT);
	sqe->len = cluster;
	sqe->addr = mask;
	sqe->op_flags = flags;
}

/*
 * CPORT_OP_FLAG_SET / CPORT_OP_FLAG_CLEAR: set or clear flag bit (0 to 63)
 * of cluster; res is its previous state, 0 or 1.
 */
CPORT_INLINE void cport_prep_flag_set(struct cport_sqe *sqe,
				      unsigned int cluster, unsigned int bit)
{
	__cport_prep(sqe, CPORT_OP_FLAG_SET);
	sqe->len = cluster;
	sqe->off = bit;
}

CPORT_INLINE void cport_prep_flag_clear(struct cport_sqe *sqe,
					unsigned int cluster, unsigned int bit)
{
	__cport_prep(sqe, CPORT_OP_FLAG_CLEAR);
	sqe->len = cluster;
	sqe->off = bit;
}

/*
 * CPORT_OP_POLL_ADD: a CQE when the file at fd has one of the EPOLL*
 * events (EPOLLERR and EPOLLHUP always count); res is the ready events.
 * One-shot and level-triggered: completes at once if fd is ready.
 */
CPORT_INLINE void cport_prep_poll_add(struct cport_sqe *sqe, int fd,
				      uint32_t events)
{
	__cport_prep(sqe, CPORT_OP_POLL_ADD);
	sqe->fd = fd;
	sqe->len = events;
}

/*
 * CPORT_OP_POLL_ADD with CPORT_POLL_MULTISHOT: edge-triggered, a CQE with
 * CPORT_CQE_F_MORE per wake-up that carries one of the events, until it
 * is removed (terminal res -ECANCELED) or the file reports EPOLLERR or
 * EPOLLHUP (terminal res: the events).
 */
CPORT_INLINE void cport_prep_poll_multishot(struct cport_sqe *sqe, int fd,
					    uint32_t events)
{
	cport_prep_poll_add(sqe, fd, events);
	sqe->op_flags = CPORT_POLL_MULTISHOT;
}

/*
 * CPORT_OP_POLL_REMOVE: removes the poll whose user_data is user_data
 * (its terminal CQE: -ECANCELED); res 0, -ENOENT or -EALREADY.
 */
CPORT_INLINE void cport_prep_poll_remove(struct cport_sqe *sqe,
					 uint64_t user_data)
{
	__cport_prep(sqe, CPORT_OP_POLL_REMOVE);
	sqe->addr = user_data;
}

/*
 * CPORT_OP_POLL_REMOVE with update flags (CPORT_POLL_UPDATE_EVENTS,
 * CPORT_POLL_UPDATE_USER_DATA): the poll whose user_data is old_user_data
 * now waits for events, and/or posts new_user_data; it stays armed.
 */
CPORT_INLINE void cport_prep_poll_update(struct cport_sqe *sqe,
					 uint64_t old_user_data,
					 uint64_t new_user_data,
					 uint32_t events, unsigned int flags)
{
	cport_prep_poll_remove(sqe, old_user_data);
	sqe->op_flags = flags;
	if (flags & CPORT_POLL_UPDATE_EVENTS)
		sqe->len = events;
	if (flags & CPORT_POLL_UPDATE_USER_DATA)
		sqe->addr2 = new_user_data;
}

/*
 * Socket ops (CPORT_FEAT_NET). Each is the system call of the same name,
 * run by the port without a thread sleeping on the socket; the CQE's res is
 * what the call returns, or -errno. fd is a socket (with
 * CPORT_SQE_F_FIXED_FILE, an index into the registered files). flags are
 * the call's own: SOCK_NONBLOCK and SOCK_CLOEXEC for accept, MSG_* for the
 * others (CPORT_SEND_MSG_FLAGS, CPORT_RECV_MSG_FLAGS). Lengths above
 * UINT32_MAX are clamped to UINT32_MAX (the kernel caps one transfer at
 * MAX_RW_COUNT anyway, giving a short count).
 */

/* A size_t length in the SQE's 32-bit @len: clamped, never truncated. */
CPORT_INLINE uint32_t __cport_net_len(size_t len)
{
	return len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
}

/* The fields SEND and RECV share. */
CPORT_INLINE void __cport_prep_sr(struct cport_sqe *sqe, uint8_t opcode,
				  int fd, const void *buf, size_t len,
				  int flags)
{
	__cport_prep_rw(sqe, opcode, fd, buf, __cport_net_len(len), 0);
	sqe->op_flags = (uint32_t)flags;
}

/*
 * A buffer group in the SQE's 16-bit @buf_group: a group above 0xffff
 * becomes 0xffff, which no port has (CPORT_BUF_GROUPS_MAX), so the op
 * fails with -EINVAL instead of naming another group.
 */
CPORT_INLINE uint16_t __cport_buf_group(unsigned int group)
{
	return group > 0xffffU ? 0xffffU : (uint16_t)group;
}

/*
 * CPORT_OP_ACCEPT: accept4(fd, addr, addrlen, flags). addr and addrlen
 * are both NULL, or both set (*addrlen: in, the size of addr; out, the
 * address's length); res is the new descriptor.
 */
CPORT_INLINE void cport_prep_accept(struct cport_sqe *sqe, int fd,
				    struct sockaddr *addr, socklen_t *addrlen,
				    int flags)
{
	__cport_prep(sqe, CPORT_OP_ACCEPT);
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->addr2 = (uint64_t)(uintptr_t)addrlen;
	sqe->op_flags = (uint32_t)flags;
}

/*
 * CPORT_OP_ACCEPT with CPORT_NET_MULTISHOT: a CQE with CPORT_CQE_F_MORE
 * per accepted connection (res: its descriptor), until an error or a
 * cancel ends it. No peer address: use getpeername().
 */
CPORT_INLINE void cport_prep_multishot_accept(struct cport_sqe *sqe, int fd,
					      int flags)
{
	cport_prep_accept(sqe, fd, NULL, NULL, flags);
	sqe->off = CPORT_NET_MULTISHOT;
}

/* CPORT_OP_CONNECT: connect(fd, addr, addrlen); res 0 once connected. */
CPORT_INLINE void cport_prep_connect(struct cport_sqe *sqe, int fd,
				     const struct sockaddr *addr,
				     socklen_t addrlen)
{
	__cport_prep(sqe, CPORT_OP_CONNECT);
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->len = addrlen;
}

/* CPORT_OP_SEND: send(fd, buf, len, flags); res: the bytes sent. */
CPORT_INLINE void cport_prep_send(struct cport_sqe *sqe, int fd,
				  const void *buf, size_t len, int flags)
{
	__cport_prep_sr(sqe, CPORT_OP_SEND, fd, buf, len, flags);
}

/*
 * CPORT_OP_SEND with CPORT_NET_FIXED_BUF: buf .. buf + len lies inside
 * the buffer registered at index buf_index (cport_register_buffers()).
 */
CPORT_INLINE void cport_prep_send_fixed(struct cport_sqe *sqe, int fd,
					const void *buf, size_t len, int flags,
					unsigned int buf_index)
{
	cport_prep_send(sqe, fd, buf, len, flags);
	sqe->off = CPORT_NET_FIXED_BUF;
	sqe->addr2 = buf_index;
}

/* CPORT_OP_RECV: recv(fd, buf, len, flags); res: the bytes, 0 at EOF. */
CPORT_INLINE void cport_prep_recv(struct cport_sqe *sqe, int fd, void *buf,
				  size_t len, int flags)
{
	__cport_prep_sr(sqe, CPORT_OP_RECV, fd, buf, len, flags);
}

/* CPORT_OP_RECV into a registered buffer, as cport_prep_send_fixed(). */
CPORT_INLINE void cport_prep_recv_fixed(struct cport_sqe *sqe, int fd,
					void *buf, size_t len, int flags,
					unsigned int buf_index)
{
	cport_prep_recv(sqe, fd, buf, len, flags);
	sqe->off = CPORT_NET_FIXED_BUF;
	sqe->addr2 = buf_index;
}

/*
 * CPORT_OP_RECV with CPORT_SQE_F_BUFFER_SELECT: when data arrives, the op
 * takes the next buffer of provided buffer group group and fills it with
 * up to max_len bytes (0: the whole buffer); the CQE names the buffer
 * (cport_cqe_buffer_id()). Sets the SQE flag: cport_sqe_set_flags()
 * afterwards replaces it, so include CPORT_SQE_F_BUFFER_SELECT there.
 */
CPORT_INLINE void cport_prep_recv_select(struct cport_sqe *sqe, int fd,
					 unsigned int group, size_t max_len,
					 int flags)
{
	cport_prep_recv(sqe, fd, NULL, max_len, flags);
	sqe->flags = (uint8_t)(sqe->flags | CPORT_SQE_F_BUFFER_SELECT);
	sqe->buf_group = __cport_buf_group(group);
}

/*
 * CPORT_OP_READ with CPORT_SQE_F_BUFFER_SELECT: reads up to max_len bytes
 * (0: the whole buffer) at offset into the next buffer of provided buffer
 * group group, taken only if data went into it; the CQE names the buffer
 * (cport_cqe_buffer_id()). Include CPORT_SQE_F_BUFFER_SELECT in a later
 * cport_sqe_set_flags().
 */
CPORT_INLINE void cport_prep_read_select(struct cport_sqe *sqe, int fd,
					 unsigned int group,
					 unsigned int max_len,
					 uint64_t offset)
{
	__cport_prep_rw(sqe, CPORT_OP_READ, fd, NULL, max_len, offset);
	sqe->flags = (uint8_t)(sqe->flags | CPORT_SQE_F_BUFFER_SELECT);
	sqe->buf_group = __cport_buf_group(group);
}

/*
 * CPORT_OP_RECV, multishot, with buffer select: a CQE with
 * CPORT_CQE_F_MORE and a buffer of group per arrival, until EOF (res 0),
 * an error, -ENOBUFS or a cancel ends it.
 */
CPORT_INLINE void cport_prep_recv_multishot(struct cport_sqe *sqe, int fd,
					    unsigned int group, int flags)
{
	cport_prep_recv_select(sqe, fd, group, 0, flags);
	sqe->off = CPORT_NET_MULTISHOT;
}

/*
 * CPORT_OP_SENDMSG / CPORT_OP_RECVMSG: sendmsg() / recvmsg() with msg.
 * RECVMSG writes msg_namelen, msg_controllen and msg_flags back when it
 * completes: msg and what it points to must live until the CQE.
 */
CPORT_INLINE void cport_prep_sendmsg(struct cport_sqe *sqe, int fd,
				     const struct msghdr *msg, int flags)
{
	__cport_prep_rw(sqe, CPORT_OP_SENDMSG, fd, msg, 0, 0);
	sqe->op_flags = (uint32_t)flags;
}

CPORT_INLINE void cport_prep_recvmsg(struct cport_sqe *sqe, int fd,
				     struct msghdr *msg, int flags)
{
	__cport_prep_rw(sqe, CPORT_OP_RECVMSG, fd, msg, 0, 0);
	sqe->op_flags = (uint32_t)flags;
}

/* CPORT_OP_SHUTDOWN: shutdown(fd, how); how is SHUT_RD, _WR or _RDWR. */
CPORT_INLINE void cport_prep_shutdown(struct cport_sqe *sqe, int fd, int how)
{
	__cport_prep(sqe, CPORT_OP_SHUTDOWN);
	sqe->fd = fd;
	sqe->len = (uint32_t)how;
}

/* CPORT_OP_CLOSE: close(fd), any file but the port's own descriptor. */
CPORT_INLINE void cport_prep_close(struct cport_sqe *sqe, int fd)
{
	__cport_prep(sqe, CPORT_OP_CLOSE);
	sqe->fd = fd;
}

/*
 * CPORT_OP_CLOSE with CPORT_SQE_F_FIXED_FILE: empty registered file slot
 * slot; ops that hold its file keep it.
 */
CPORT_INLINE void cport_prep_close_fixed(struct cport_sqe *sqe,
					 unsigned int slot)
{
	cport_prep_close(sqe, (int)slot);
	sqe->flags = (uint8_t)(sqe->flags | CPORT_SQE_F_FIXED_FILE);
}

/*
 * SQE flags (CPORT_SQE_F_*); call after the prep helper, which clears them.
 * This replaces them all, CPORT_SQE_F_EVENT_FLAG included.
 * CPORT_SQE_F_FIXED_FILE makes the fd given to the prep helper an index
 * into the files registered with cport_register_files().
 */
CPORT_INLINE void cport_sqe_set_flags(struct cport_sqe *sqe, unsigned int flags)
{
	sqe->flags = (uint8_t)flags;
}

/*
 * CPORT_SQE_F_EVENT_FLAG: flag bit of cluster is cleared when the SQE is
 * consumed and set once the op's terminal CQE is in the CQ ring, whatever
 * its res. Adds to the SQE's flags: call after cport_sqe_set_flags(). Any
 * op but CPORT_OP_FLAG_WAIT.
 */
CPORT_INLINE void cport_sqe_set_event_flag(struct cport_sqe *sqe,
					   unsigned int cluster,
					   unsigned int bit)
{
	sqe->flags = (uint8_t)(sqe->flags | CPORT_SQE_F_EVENT_FLAG);
	sqe->ef_cluster = cluster;
	sqe->ef_bit = bit;
}

/*
 * CPORT_SQE_F_SIGNAL: once the op's terminal CQE is in the CQ ring,
 * whatever its res, signal signo (1 to 64) is queued with si_code
 * SI_ASYNCIO and si_value value, to the submitting thread or, with
 * CPORT_SIG_PROCESS in flags, to its process. Adds to the SQE's flags:
 * call after cport_sqe_set_flags(). Not with cport_sqe_set_event_flag()
 * (the two share their SQE fields), not for multishot ops.
 */
CPORT_INLINE void cport_sqe_set_signal(struct cport_sqe *sqe, int signo,
				       unsigned int flags, uint64_t value)
{
	sqe->flags = (uint8_t)(sqe->flags | CPORT_SQE_F_SIGNAL);
	sqe->sig_signo = (uint32_t)signo;
	sqe->sig_flags = flags;
	sqe->sig_value = value;
}

CPORT_INLINE void cport_sqe_set_data64(struct cport_sqe *sqe, uint64_t data)
{
	sqe->user_data = data;
}

CPORT_INLINE void cport_sqe_set_data(struct cport_sqe *sqe, void *data)
{
	sqe->user_data = (uint64_t)(uintptr_t)data;
}

CPORT_INLINE uint64_t cport_cqe_get_data64(const struct cport_cqe *cqe)
{
	return cqe->user_data;
}

CPORT_INLINE void *cport_cqe_get_data(const struct cport_cqe *cqe)
{
	return (void *)(uintptr_t)cqe->user_data;
}

/*
 * Provided buffer rings. The user is the only writer of the tail and of
 * the entries between the kernel's head and the tail; single-threaded per
 * ring, or the caller's lock.
 */

/* An empty ring: head and tail 0. Before cport_register_buf_ring(). */
CPORT_INLINE void cport_buf_ring_init(struct cport_buf_ring *br)
{
	br->tail = 0;
	br->head = 0;
}

/* The index mask of a ring of entries entries (a power of two). */
CPORT_INLINE int cport_buf_ring_mask(unsigned int entries)
{
	return (int)(entries - 1);
}

/*
 * Write the entry buf_offset places past the tail: buffer addr of len
 * bytes, named bid in the CQE that takes it. Not visible to the kernel
 * until cport_buf_ring_advance(): add a batch at offsets 0, 1, ..., then
 * advance by its size once.
 */
CPORT_INLINE void cport_buf_ring_add(struct cport_buf_ring *br, void *addr,
				     unsigned int len, unsigned short bid,
				     int mask, int buf_offset)
{
	/* Only the user writes the tail: a plain read of it is current. */
	unsigned int tail = __cport_read_once(&br->tail);
	struct cport_buf_entry *buf;

	buf = &br->bufs[(tail + (unsigned int)buf_offset) & (unsigned int)mask];
	buf->addr = (uint64_t)(uintptr_t)addr;
	buf->len = len;
	buf->bid = bid;
	buf->resv = 0;
}

/* Hand count entries added with cport_buf_ring_add() to the kernel. */
CPORT_INLINE void cport_buf_ring_advance(struct cport_buf_ring *br,
					 int count)
{
	/*
	 * Pairs with the kernel's load-acquire of the tail before it reads
	 * an entry: the entries written above are visible once the tail
	 * covers them. Only the user writes the tail: a plain read of it is
	 * current.
	 */
	__cport_smp_store_release(&br->tail,
				  __cport_read_once(&br->tail) +
				  (unsigned int)count);
}

/*
 * The id of the provided buffer a CQE's op took (CPORT_CQE_F_BUFFER), or
 * -1 if it took none. The buffer is the user's again once the CQE is seen.
 */
CPORT_INLINE int cport_cqe_buffer_id(const struct cport_cqe *cqe)
{
	if (!(cqe->flags & CPORT_CQE_F_BUFFER))
		return -1;
	return (int)(cqe->flags >> CPORT_CQE_BUFFER_SHIFT);
}

/*
 * Event flags.
 */

/*
 * The port's local cluster (flag n is bit n), read from the flag page
 * without a system call; 0 when the page is not mapped. Thread-safe.
 */
CPORT_INLINE uint64_t cport_flags_local(const struct cport *port)
{
	const struct cport_flag_page *page = port->flag_page;

	/*
	 * Pairs with the kernel's store-release of the word, made under the
	 * cluster's lock: what the caller reads after seeing a flag (say,
	 * the CQE of the op that set it) is not older than the flag.
	 */
	return page ? __cport_smp_load_acquire(&page->local) : 0;
}

/*
 * Single-consumer CQ side. One thread at a time, or the caller's lock; not to
 * be mixed with cport_get_queued_completions() on the same port.
 */

/* Number of CQEs ready to be reaped. */
CPORT_INLINE unsigned int cport_cq_ready(const struct cport *port)
{
	/*
	 * Pairs with the kernel's store-release of the CQ tail, done after it
	 * wrote the CQEs: every CQE below the tail we read is visible. Only
	 * we write the head, so a plain read of it is current.
	 */
	return __cport_smp_load_acquire(port->cq.ktail) -
	       __cport_read_once(port->cq.khead);
}

/* Mark nr CQEs seen, handing their slots back to the kernel. */
CPORT_INLINE void cport_cq_advance(struct cport *port, unsigned int nr)
{
	if (nr) {
		struct cport_cq *cq = &port->cq;

		/*
		 * Pairs with the kernel's load-acquire of the CQ head before
		 * it reuses a slot: our reads of these CQEs are done before
		 * the kernel may overwrite them.
		 */
		__cport_smp_store_release(cq->khead,
					  __cport_read_once(cq->khead) + nr);
	}
}

/* Mark the CQE returned by cport_peek_cqe()/cport_wait_cqe*() seen. */
CPORT_INLINE void cport_cqe_seen(struct cport *port, struct cport_cqe *cqe)
{
	if (cqe)
		cport_cq_advance(port, 1);
}

/*
 * The oldest CQE, without removing it: 0 and *cqe_ptr set, or -EAGAIN and
 * *cqe_ptr = NULL when the CQ is empty. Never enters the kernel.
 */
CPORT_INLINE int cport_peek_cqe(struct cport *port, struct cport_cqe **cqe_ptr)
{
	struct cport_cq *cq = &port->cq;
	unsigned int head = __cport_read_once(cq->khead);

	/* Pairs with the kernel's store-release of the CQ tail. */
	if (__cport_smp_load_acquire(cq->ktail) == head) {
		*cqe_ptr = NULL;
		return -EAGAIN;
	}
	*cqe_ptr = &cq->cqes[head & cq->ring_mask];
	return 0;
}

/*
 * Up to count of the oldest CQEs, without removing them. Returns how many
 * pointers were stored in cqes[]; mark them seen with cport_cq_advance().
 */
CPORT_INLINE unsigned int cport_peek_batch_cqe(struct cport *port,
					       struct cport_cqe **cqes,
					       unsigned int count)
{
	struct cport_cq *cq = &port->cq;
	unsigned int head = __cport_read_once(cq->khead);
	unsigned int ready, i;

	/* Pairs with the kernel's store-release of the CQ tail. */
	ready = __cport_smp_load_acquire(cq->ktail) - head;
	if (count > ready)
		count = ready;
	for (i = 0; i < count; i++)
		cqes[i] = &cq->cqes[(head + i) & cq->ring_mask];
	return count;
}

/* Wait for a CQE, without a time limit. Does not submit. */
CPORT_INLINE int cport_wait_cqe(struct cport *port, struct cport_cqe **cqe_ptr)
{
	if (!cport_peek_cqe(port, cqe_ptr))
		return 0;
	return cport_wait_cqe_nr(port, cqe_ptr, 1);
}

#ifdef __cplusplus
}
#endif

#endif /* _CPORT_H */
