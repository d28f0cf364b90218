/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private helpers of the cport selftests.
 *
 * The tests talk to /dev/cport through raw ioctl() and mmap() only (never
 * through libcport), so that the kernel module and the library are tested
 * independently. This header opens, sets up and maps a port, and gives
 * acquire/release accessors for the shared ring indices, following the
 * ordering contract of Documentation/userspace-api.rst:
 *
 *   SQ tail: written by us, store-release after the SQE is filled.
 *   SQ head: written by the kernel, load-acquire before reusing a slot.
 *   CQ tail: written by the kernel, load-acquire before reading CQEs.
 *   CQ head: written by us, store-release after the CQEs were read.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_TEST_H
#define CPORT_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include <uapi/cport.h>

#include "kselftest_harness.h"

#define CPORT_DEV		"/dev/cport"
#define CPORT_PARAM_DIR		"/sys/module/cport/parameters"
#define CPORT_SKIP_MSG		"cport.ko not loaded"

/* Defaults of the module parameters (userspace-api.rst). */
#define CPORT_DEF_MAX_SQ	4096U
#define CPORT_DEF_MAX_CQ	32768U
#define CPORT_DEF_MAX_PORTS	1024U

#define CPORT_FEAT_KNOWN	(CPORT_FEAT_NODROP | CPORT_FEAT_POST | \
				 CPORT_FEAT_TIMER | CPORT_FEAT_LIFO_WAKE | \
				 CPORT_FEAT_RW | CPORT_FEAT_REGISTER | \
				 CPORT_FEAT_LINK | CPORT_FEAT_DRAIN | \
				 CPORT_FEAT_FLAGS | CPORT_FEAT_POLL)

#define NSEC_PER_MSEC		1000000ULL
#define NSEC_PER_SEC		1000000000ULL

/*
 * kselftest_harness.h of 6.1 runs the test body even when the fixture
 * setup called SKIP(): every test that uses a fixture starts with this.
 */
#define CPORT_SKIP_IF_ABSENT() do {		\
	if (_metadata->skip)			\
		return;				\
} while (0)

/*
 * The fixture @name of one port, self->pt, opened, set up with @sq_entries
 * and @cq_entries (0: the default) and mapped for each test; skipped when
 * the module is absent, so its tests start with CPORT_SKIP_IF_ABSENT().
 */
#define PORT_FIXTURE(name, sq_entries, cq_entries)			\
	FIXTURE(name) {							\
		struct port pt;						\
	};								\
									\
	FIXTURE_SETUP(name)						\
	{								\
		self->pt.fd = -1;					\
		if (!cport_present())					\
			SKIP(return, CPORT_SKIP_MSG);			\
		ASSERT_EQ(0, port_init(&self->pt, (sq_entries),		\
				       (cq_entries), 0));		\
	}								\
									\
	FIXTURE_TEARDOWN(name)						\
	{								\
		port_fini(&self->pt);					\
	}

/* --------------------------------------------------------------------- */
/* exit code: a binary whose every test was skipped exits with KSFT_SKIP */

static pid_t cport__harness_pid;

static void cport__exit_code(void)
{
	if (getpid() != cport__harness_pid)
		return;
	if (ksft_get_xskip_cnt() > 0 && ksft_get_pass_cnt() == 0 &&
	    ksft_get_fail_cnt() == 0 && ksft_get_error_cnt() == 0) {
		fflush(stdout);
		fflush(stderr);
		_exit(KSFT_SKIP);
	}
}

static void __attribute__((constructor)) cport__register_exit_code(void)
{
	cport__harness_pid = getpid();
	atexit(cport__exit_code);
}

/* --------------------------------------------------------------------- */
/* shared-memory accessors */

static inline __u32 load_acquire(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(__u32 *p, __u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline __u32 load_relaxed(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* --------------------------------------------------------------------- */
/* raw system calls: each returns the result, or -errno */

static inline bool cport_present(void)
{
	return access(CPORT_DEV, F_OK) == 0;
}

static inline int cport_open(void)
{
	int fd = open(CPORT_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int sys_setup(int fd, struct cport_params *p)
{
	return ioctl(fd, CPORT_IOC_SETUP, p) < 0 ? -errno : 0;
}

static inline int sys_enter_raw(int fd, struct cport_enter *e)
{
	int ret = ioctl(fd, CPORT_IOC_ENTER, e);

	return ret < 0 ? -errno : ret;
}

static inline int sys_enter(int fd, __u32 to_submit, __u32 min_complete,
			    __u32 flags, __u64 timeout_ns)
{
	struct cport_enter e = {
		.to_submit = to_submit,
		.min_complete = min_complete,
		.flags = flags,
		.timeout_ns = timeout_ns,
	};

	return sys_enter_raw(fd, &e);
}

static inline int sys_post(int fd, __u64 user_data, __s32 res)
{
	struct cport_post p = { .user_data = user_data, .res = res };

	return ioctl(fd, CPORT_IOC_POST, &p) < 0 ? -errno : 0;
}

/* Post, retrying while the CQ is full. */
static inline int sys_post_retry(int fd, __u64 user_data, __s32 res)
{
	int ret;

	while ((ret = sys_post(fd, user_data, res)) == -EAGAIN)
		sched_yield();
	return ret;
}

/* --------------------------------------------------------------------- */
/* a set-up and mapped port */

struct port {
	int fd;
	struct cport_params p;

	void *sq_ring;
	size_t sq_ring_sz;
	struct cport_sqe *sqes;
	size_t sqes_sz;
	void *cq_ring;
	size_t cq_ring_sz;

	__u32 *sq_head, *sq_tail, *sq_mask, *sq_entries, *sq_flags;
	__u32 *cq_head, *cq_tail, *cq_mask, *cq_entries, *cq_overflow;
	__u32 *cq_flags;
	struct cport_cqe *cqes;
};

static inline size_t port_sq_ring_size(const struct cport_params *p)
{
	return p->sq_off.flags + sizeof(__u32);
}

static inline size_t port_sqes_size(const struct cport_params *p)
{
	return (size_t)p->sq_entries * sizeof(struct cport_sqe);
}

static inline size_t port_cq_ring_size(const struct cport_params *p)
{
	return p->cq_off.cqes + (size_t)p->cq_entries * sizeof(struct cport_cqe);
}

static inline void *port_mmap(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
}

/* Map the three regions of a set-up port whose params are in @pt->p. */
static inline int port_map(struct port *pt)
{
	const struct cport_params *p = &pt->p;
	char *sq, *cq;
	int err;

	pt->sq_ring_sz = port_sq_ring_size(p);
	pt->sqes_sz = port_sqes_size(p);
	pt->cq_ring_sz = port_cq_ring_size(p);

	sq = port_mmap(pt->fd, pt->sq_ring_sz, CPORT_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	pt->sqes = port_mmap(pt->fd, pt->sqes_sz, CPORT_OFF_SQES);
	if (pt->sqes == MAP_FAILED) {
		err = -errno;
		munmap(sq, pt->sq_ring_sz);
		return err;
	}
	cq = port_mmap(pt->fd, pt->cq_ring_sz, CPORT_OFF_CQ_RING);
	if (cq == MAP_FAILED) {
		err = -errno;
		munmap(pt->sqes, pt->sqes_sz);
		munmap(sq, pt->sq_ring_sz);
		return err;
	}

	pt->sq_ring = sq;
	pt->sq_head = (__u32 *)(sq + p->sq_off.head);
	pt->sq_tail = (__u32 *)(sq + p->sq_off.tail);
	pt->sq_mask = (__u32 *)(sq + p->sq_off.ring_mask);
	pt->sq_entries = (__u32 *)(sq + p->sq_off.ring_entries);
	pt->sq_flags = (__u32 *)(sq + p->sq_off.flags);

	pt->cq_ring = cq;
	pt->cq_head = (__u32 *)(cq + p->cq_off.head);
	pt->cq_tail = (__u32 *)(cq + p->cq_off.tail);
	pt->cq_mask = (__u32 *)(cq + p->cq_off.ring_mask);
	pt->cq_entries = (__u32 *)(cq + p->cq_off.ring_entries);
	pt->cq_overflow = (__u32 *)(cq + p->cq_off.overflow);
	pt->cq_flags = (__u32 *)(cq + p->cq_off.flags);
	pt->cqes = (struct cport_cqe *)(cq + p->cq_off.cqes);
	return 0;
}

static inline void port_unmap(struct port *pt)
{
	if (pt->cq_ring)
		munmap(pt->cq_ring, pt->cq_ring_sz);
	if (pt->sqes)
		munmap(pt->sqes, pt->sqes_sz);
	if (pt->sq_ring)
		munmap(pt->sq_ring, pt->sq_ring_sz);
	pt->cq_ring = NULL;
	pt->sqes = NULL;
	pt->sq_ring = NULL;
}

/*
 * Open, set up with the parameters @p and map a port. Returns 0 or -errno,
 * and leaves pt->fd at -1 on failure.
 */
static inline int port_init_params(struct port *pt,
				   const struct cport_params *p)
{
	int ret;

	memset(pt, 0, sizeof(*pt));
	pt->fd = cport_open();
	if (pt->fd < 0)
		return pt->fd;
	pt->p = *p;
	ret = sys_setup(pt->fd, &pt->p);
	if (!ret)
		ret = port_map(pt);
	if (ret) {
		close(pt->fd);
		pt->fd = -1;
	}
	return ret;
}

/*
 * Open, set up and map a port. @cq_entries 0 means the default CQ size;
 * otherwise CPORT_SETUP_CQSIZE is added to @flags. Returns 0 or -errno, and
 * leaves pt->fd at -1 on failure.
 */
static inline int port_init(struct port *pt, __u32 sq_entries,
			    __u32 cq_entries, __u32 flags)
{
	struct cport_params p = {
		.sq_entries	= sq_entries,
		.cq_entries	= cq_entries,
		.flags		= flags | (cq_entries ? CPORT_SETUP_CQSIZE : 0),
	};

	return port_init_params(pt, &p);
}

static inline void port_fini(struct port *pt)
{
	port_unmap(pt);
	if (pt->fd >= 0)
		close(pt->fd);
	pt->fd = -1;
}

/* --------------------------------------------------------------------- */
/* SQ side */

/* Fill the next free SQE with @sqe and publish it. 0, or -EBUSY if full. */
static inline int sq_push(struct port *pt, const struct cport_sqe *sqe)
{
	__u32 tail = load_relaxed(pt->sq_tail);
	__u32 head = load_acquire(pt->sq_head);

	if (tail - head >= pt->p.sq_entries)
		return -EBUSY;
	pt->sqes[tail & (pt->p.sq_entries - 1)] = *sqe;
	store_release(pt->sq_tail, tail + 1);
	return 0;
}

/* Push one SQE and submit it; returns what ENTER returns. */
static inline int sq_submit_one(struct port *pt, const struct cport_sqe *sqe)
{
	int ret = sq_push(pt, sqe);

	if (ret)
		return ret;
	return sys_enter(pt->fd, 1, 0, 0, 0);
}

/* A READ, WRITE, READV, WRITEV (or _FIXED: set addr2) SQE. */
static inline struct cport_sqe sqe_rw(__u8 opcode, int fd, const void *addr,
				      __u32 len, __u64 off, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = opcode, .fd = fd, .addr = (__u64)(uintptr_t)addr,
		.len = len, .off = off, .user_data = user_data,
	};

	return s;
}

static inline struct cport_sqe sqe_nop(__u64 user_data)
{
	struct cport_sqe s = { .opcode = CPORT_OP_NOP, .user_data = user_data };

	return s;
}

static inline struct cport_sqe sqe_post(int fd, __u64 addr, __u32 len,
					__u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_POST, .fd = fd, .addr = addr, .len = len,
		.user_data = user_data,
	};

	return s;
}

static inline struct cport_sqe sqe_timeout(__u64 off, __u32 op_flags,
					   __u32 count, __u64 period,
					   __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_TIMEOUT, .off = off, .op_flags = op_flags,
		.len = count, .addr2 = period, .user_data = user_data,
	};

	return s;
}

static inline struct cport_sqe sqe_timeout_remove(__u64 target,
						  __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_TIMEOUT_REMOVE, .addr = target,
		.user_data = user_data,
	};

	return s;
}

static inline struct cport_sqe sqe_cancel(__u64 target, __u32 op_flags,
					  __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_CANCEL, .addr = target, .op_flags = op_flags,
		.user_data = user_data,
	};

	return s;
}

/* --------------------------------------------------------------------- */
/* event flags and clusters */

/* The cluster argument of the flag calls and ops: the port's own. */
#define CPORT_LOCAL		0U

#define BIT64(n)		(1ULL << (n))

static inline int sys_flags(int fd, struct cport_flags *f)
{
	int ret = ioctl(fd, CPORT_IOC_FLAGS, f);

	return ret < 0 ? -errno : ret;
}

/*
 * CPORT_FLAGS_SET or _CLEAR of flag @bit of @cluster: the flag's previous
 * state (0 or 1) or -errno; the cluster before the change in *@before
 * (if not NULL).
 */
static inline int flag_change(int fd, __u32 op, __u32 cluster, __u32 bit,
			      __u64 *before)
{
	struct cport_flags f = { .op = op, .cluster = cluster, .bit = bit };
	int ret = sys_flags(fd, &f);

	if (before)
		*before = f.result;
	return ret;
}

static inline int flag_set(int fd, __u32 cluster, __u32 bit)
{
	return flag_change(fd, CPORT_FLAGS_SET, cluster, bit, NULL);
}

static inline int flag_clear(int fd, __u32 cluster, __u32 bit)
{
	return flag_change(fd, CPORT_FLAGS_CLEAR, cluster, bit, NULL);
}

/* CPORT_FLAGS_READ into *@val: 0 or -errno. */
static inline int flag_read(int fd, __u32 cluster, __u64 *val)
{
	struct cport_flags f = { .op = CPORT_FLAGS_READ, .cluster = cluster };
	int ret = sys_flags(fd, &f);

	*val = f.result;
	return ret;
}

/* The flags of @cluster; ~0 if they cannot be read (never a real state). */
#define FLAGS_UNREADABLE	(~0ULL)

static inline __u64 flags_of(int fd, __u32 cluster)
{
	__u64 v = 0;

	return flag_read(fd, cluster, &v) ? FLAGS_UNREADABLE : v;
}

/*
 * CPORT_FLAGS_WAIT for @mask with @wflags (CPORT_FLAG_WAIT_*; @timeout_ns
 * only counts with CPORT_FLAG_WAIT_TIMEOUT): 0 or -errno, the result in
 * *@result (if not NULL).
 */
static inline int flag_wait(int fd, __u32 cluster, __u64 mask, __u32 wflags,
			    __u64 timeout_ns, __u64 *result)
{
	struct cport_flags f = {
		.op = CPORT_FLAGS_WAIT, .cluster = cluster, .mask = mask,
		.flags = wflags,
		.timeout_ns = (wflags & CPORT_FLAG_WAIT_TIMEOUT) ?
			      timeout_ns : 0,
	};
	int ret = sys_flags(fd, &f);

	if (result)
		*result = f.result;
	return ret;
}

static inline int flag_poll_arm(int fd, __u32 cluster, __u64 mask,
				__u32 wflags)
{
	struct cport_flags f = {
		.op = CPORT_FLAGS_POLL_ARM, .cluster = cluster, .mask = mask,
		.flags = wflags,
	};

	return sys_flags(fd, &f);
}

static inline int flag_poll_disarm(int fd)
{
	struct cport_flags f = { .op = CPORT_FLAGS_POLL_DISARM };

	return sys_flags(fd, &f);
}

/* The read-only flag page of port @fd, or NULL (errno set). */
static inline struct cport_flag_page *flag_page_map(int fd)
{
	void *p = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ, MAP_SHARED, fd,
		       CPORT_OFF_FLAGS);

	return p == MAP_FAILED ? NULL : p;
}

static inline void flag_page_unmap(struct cport_flag_page *pg)
{
	if (pg)
		munmap(pg, sysconf(_SC_PAGESIZE));
}

/* The local cluster as the page shows it (userspace-api.rst). */
static inline __u64 flag_page_local(const struct cport_flag_page *pg)
{
	return __atomic_load_n(&pg->local, __ATOMIC_ACQUIRE);
}

static inline int sys_cluster(int fd, struct cport_cluster *c)
{
	int ret = ioctl(fd, CPORT_IOC_CLUSTER, c);

	return ret < 0 ? -errno : ret;
}

/*
 * CPORT_CLUSTER_ASSOC of @name with @cflags and @mode: 1 (created), 0
 * (attached) or -errno; the handle in *@handle (if not NULL).
 */
static inline int cluster_assoc(int fd, const char *name, __u32 cflags,
				__u32 mode, __u32 *handle)
{
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_ASSOC, .flags = cflags, .mode = mode,
	};
	int ret;

	memcpy(c.name, name, strnlen(name, sizeof(c.name) - 1));
	ret = sys_cluster(fd, &c);
	if (handle)
		*handle = c.cluster;
	return ret;
}

static inline int cluster_disassoc(int fd, __u32 handle)
{
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_DISASSOC, .cluster = handle,
	};

	return sys_cluster(fd, &c);
}

static inline int cluster_delete(int fd, const char *name)
{
	struct cport_cluster c = { .op = CPORT_CLUSTER_DELETE };

	memcpy(c.name, name, strnlen(name, sizeof(c.name) - 1));
	return sys_cluster(fd, &c);
}

/*
 * A cluster name of this test process: "cport_st.<pid>.<tag>". Each test
 * runs in its own process, so names never collide between tests, nor with
 * what a crashed test left behind.
 */
static inline void cluster_name(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "cport_st.%d.%s", (int)getpid(), tag);
}

/*
 * A CPORT_IOC_ENTER argument with the flag condition @mask of @cluster:
 * @flags gets CPORT_ENTER_FLAGS (add CPORT_ENTER_FLAGS_ALL, _CONSUME,
 * CPORT_ENTER_TIMEOUT as needed).
 */
static inline struct cport_enter enter_ef(__u32 to_submit, __u32 min_complete,
					  __u32 flags, __u64 timeout_ns,
					  __u32 cluster, __u64 mask)
{
	struct cport_enter e = {
		.to_submit = to_submit, .min_complete = min_complete,
		.flags = flags | CPORT_ENTER_FLAGS, .timeout_ns = timeout_ns,
		.ef_cluster = cluster, .ef_mask = mask,
	};

	return e;
}

/* CPORT_OP_FLAG_SET or _CLEAR of flag @bit of @cluster. */
static inline struct cport_sqe sqe_flag(__u8 opcode, __u32 cluster,
					__u32 bit, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = opcode, .len = cluster, .off = bit,
		.user_data = user_data,
	};

	return s;
}

/* CPORT_OP_FLAG_WAIT for @mask of @cluster (op_flags: CPORT_FLAG_WAIT_*). */
static inline struct cport_sqe sqe_flag_wait(__u32 cluster, __u64 mask,
					     __u32 op_flags, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_FLAG_WAIT, .len = cluster, .addr = mask,
		.op_flags = op_flags, .user_data = user_data,
	};

	return s;
}

/* @s with CPORT_SQE_F_EVENT_FLAG: set (@cluster, @bit) on completion. */
static inline struct cport_sqe sqe_ef(struct cport_sqe s, __u32 cluster,
				      __u32 bit)
{
	s.flags |= CPORT_SQE_F_EVENT_FLAG;
	s.ef_cluster = cluster;
	s.ef_bit = bit;
	return s;
}

/* --------------------------------------------------------------------- */
/* CQ side */

/* CQEs in the ring, as seen by the single consumer. */
static inline __u32 cq_ready(struct port *pt)
{
	return load_acquire(pt->cq_tail) - load_relaxed(pt->cq_head);
}

/* Single-consumer reap of one CQE. true if one was taken. */
static inline bool cq_pop(struct port *pt, struct cport_cqe *out)
{
	__u32 head = load_relaxed(pt->cq_head);

	if (load_acquire(pt->cq_tail) == head)
		return false;
	*out = pt->cqes[head & (pt->p.cq_entries - 1)];
	store_release(pt->cq_head, head + 1);
	return true;
}

/*
 * Multi-consumer reap: copy the CQE at the head, then claim it with a CAS
 * on the head. A lost race discards the copy (the slot may have been reused
 * already) and retries.
 */
static inline bool cq_pop_cas(struct port *pt, struct cport_cqe *out)
{
	__u32 head = __atomic_load_n(pt->cq_head, __ATOMIC_ACQUIRE);

	for (;;) {
		struct cport_cqe c;

		if (load_acquire(pt->cq_tail) == head)
			return false;
		c = pt->cqes[head & (pt->p.cq_entries - 1)];
		if (__atomic_compare_exchange_n(pt->cq_head, &head, head + 1,
						false, __ATOMIC_RELEASE,
						__ATOMIC_ACQUIRE)) {
			*out = c;
			return true;
		}
	}
}

/*
 * Wait up to @timeout_ns for a CQE and reap it (single consumer).
 * 0, or -ETIME, or another -errno of ENTER.
 */
static inline int cq_wait(struct port *pt, struct cport_cqe *out,
			  __u64 timeout_ns)
{
	int ret;

	for (;;) {
		if (cq_pop(pt, out))
			return 0;
		ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, timeout_ns);
		if (ret == -EINTR)
			continue;
		if (ret < 0 && !cq_ready(pt))
			return ret;
	}
}

/* How long run_one() waits: long enough for a worker on the debug kernel. */
#define RUN_ONE_WAIT_NS		(20 * NSEC_PER_SEC)

/*
 * Submit one SQE and reap its CQE, which must be the only one coming;
 * returns its res (INT_MIN: not submitted, INT_MIN + 1: no CQE).
 */
static inline int run_one(struct __test_metadata *_metadata, struct port *pt,
			  struct cport_sqe s)
{
	struct cport_cqe c;

	if (sq_submit_one(pt, &s) != 1)
		return INT_MIN;
	if (cq_wait(pt, &c, RUN_ONE_WAIT_NS))
		return INT_MIN + 1;
	EXPECT_EQ(s.user_data, c.user_data);
	EXPECT_EQ(0, c.flags);
	return c.res;
}

/* Push @n SQEs and submit them with one ENTER; returns ENTER's result. */
static inline int submit_n(struct port *pt, const struct cport_sqe *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (sq_push(pt, &s[i]))
			return -ENOSPC;
	return sys_enter(pt->fd, n, 0, 0, 0);
}

/*
 * The module's reference count (/sys/module/cport/refcnt): every port
 * holds one, so it tells whether a closed port was really released.
 * -1 if it cannot be read.
 */
static inline long cport_module_refcnt(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open("/sys/module/cport/refcnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Waits up to 2 s for the module's reference count to be @want. */
static inline long cport_module_refcnt_wait(long want)
{
	long now = cport_module_refcnt();
	int i;

	for (i = 0; i < 200 && now != want; i++) {
		usleep(10000);
		now = cport_module_refcnt();
	}
	return now;
}

/* Reap @n CQEs into @c, in posting order; returns how many came. */
static inline int reap_n(struct port *pt, struct cport_cqe *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (cq_wait(pt, &c[i], RUN_ONE_WAIT_NS))
			return i;
	return n;
}

/* True if no CQE is ready, and none arrives within @ms milliseconds. */
static inline bool quiet_for(struct port *pt, unsigned int ms)
{
	int ret;

	if (cq_ready(pt))
		return false;
	ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, ms * NSEC_PER_MSEC);
	return ret == -ETIME && !cq_ready(pt);
}

/* --------------------------------------------------------------------- */
/* a thread that waits in ENTER for one CQE */

struct enter_waiter {
	pthread_t thr;
	int fd;
	__u64 timeout_ns;
	volatile int ret;	/* what ENTER returned */
	volatile int returned;	/* set once ENTER returned */
};

static inline void *enter_waiter_fn(void *arg)
{
	struct enter_waiter *w = arg;

	w->ret = sys_enter(w->fd, 0, 1, CPORT_ENTER_TIMEOUT, w->timeout_ns);
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start @w: waits on @fd, at most @timeout_ns. pthread_create()'s result. */
static inline int enter_waiter_start(struct enter_waiter *w, int fd,
				     __u64 timeout_ns)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->timeout_ns = timeout_ns;
	return pthread_create(&w->thr, NULL, enter_waiter_fn, w);
}

/* --------------------------------------------------------------------- */
/* is a task asleep in a system call? */

static inline pid_t sys_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* One look: is task @tid sleeping (S) in system call @nr? */
static inline bool task_sleeping_in(pid_t tid, long nr)
{
	char path[64], buf[512], *p;
	bool in_call = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		in_call = strtol(buf, &p, 10) == nr && p != buf;
	}
	if (!in_call)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/*
 * Wait up to @timeout_ms until task @tid (a thread or a process) sleeps in
 * system call @nr, e.g. a flag waiter queued in CPORT_IOC_FLAGS rather than
 * on its way there. Without /proc/<tid>/syscall (no CONFIG_HAVE_ARCH_TRACEHOOK)
 * it just waits 200 ms and hopes. true if seen asleep.
 */
static inline bool task_sleeps_in(pid_t tid, long nr, int timeout_ms)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)tid);
	if (access(path, R_OK)) {
		usleep(200000);
		return true;
	}
	for (i = 0; i < timeout_ms; i++) {
		if (task_sleeping_in(tid, nr))
			return true;
		usleep(1000);
	}
	return false;
}

/* --------------------------------------------------------------------- */
/* a thread that waits in CPORT_FLAGS_WAIT */

/* How long a flag waiter waits before it gives up (-ETIME: lost wake-up). */
#define FLAG_WAITER_NS		(20 * NSEC_PER_SEC)

struct flag_waiter {
	pthread_t thr;
	int fd;
	__u32 cluster;
	__u64 mask;
	__u32 wflags;		/* CPORT_FLAG_WAIT_TIMEOUT is added */
	volatile pid_t tid;
	volatile int ret;	/* what the WAIT returned */
	__u64 result;
	volatile int returned;	/* set once the WAIT returned */
};

static inline void *flag_waiter_fn(void *arg)
{
	struct flag_waiter *w = arg;
	__u64 result = 0;

	w->tid = sys_gettid();
	w->ret = flag_wait(w->fd, w->cluster, w->mask,
			   w->wflags | CPORT_FLAG_WAIT_TIMEOUT, FLAG_WAITER_NS,
			   &result);
	w->result = result;
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Start @w waiting for @mask of @cluster on @fd, and wait until it sleeps
 * in the ioctl (up to 10 s). 0, or -1 if it could not be started or was
 * not seen asleep.
 */
static inline int flag_waiter_start(struct flag_waiter *w, int fd,
				    __u32 cluster, __u64 mask, __u32 wflags)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cluster = cluster;
	w->mask = mask;
	w->wflags = wflags;
	if (pthread_create(&w->thr, NULL, flag_waiter_fn, w))
		return -1;
	for (i = 0; i < 10000 && !w->tid; i++)
		usleep(1000);
	return w->tid && task_sleeps_in(w->tid, SYS_ioctl, 10000) ? 0 : -1;
}

/* true once @w returned, within @timeout_ms. */
static inline bool flag_waiter_done(struct flag_waiter *w, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms; i++) {
		if (__atomic_load_n(&w->returned, __ATOMIC_ACQUIRE))
			return true;
		usleep(1000);
	}
	return __atomic_load_n(&w->returned, __ATOMIC_ACQUIRE);
}

/* --------------------------------------------------------------------- */
/* child processes, which report through their exit status: 0 is success */

/* Fork a child that exits with what @fn(@arg) returns. Its pid, or -1. */
static inline pid_t child_start(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

/*
 * Wait for the child @pid: its exit status, 1000 + the signal that killed
 * it, or -1 if there is no such child (a failed child_start() included).
 */
static inline int child_wait(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status))
		return 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/* Run @fn(@arg) in a child and wait for it: what child_wait() returns. */
static inline int child_run(int (*fn)(void *arg), void *arg)
{
	return child_wait(child_start(fn, arg));
}

/* --------------------------------------------------------------------- */
/* /proc/self/fdinfo */

/* Read the numeric field @key of fd's fdinfo; 0 or -ENOENT/-errno. */
static inline int fdinfo_get(int fd, const char *key, long long *val)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		/* Base 0: "ef_local" is hexadecimal. */
		*val = strtoll(line + klen + 1, NULL, 0);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* The field's value, or LLONG_MIN if it cannot be read. */
static inline long long fdinfo(int fd, const char *key)
{
	long long v = 0;

	return fdinfo_get(fd, key, &v) ? LLONG_MIN : v;
}

/* Poll fdinfo until @key == @want; true on success within @timeout_ms. */
static inline bool fdinfo_wait_eq(int fd, const char *key, long long want,
				  int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms; i++) {
		if (fdinfo(fd, key) == want)
			return true;
		usleep(1000);
	}
	return fdinfo(fd, key) == want;
}

/* --------------------------------------------------------------------- */
/* time */

static inline __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --------------------------------------------------------------------- */
/* module parameters */

static inline int cport_param_read(const char *name, long *val)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), CPORT_PARAM_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*val = strtol(buf, NULL, 10);
	return 0;
}

static inline int cport_param_write(const char *name, long val)
{
	char path[128], buf[64];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), CPORT_PARAM_DIR "/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", val);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Drop to @uid/@gid for good, without supplementary groups. */
static inline int become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/* Drop capability @cap from the effective, permitted and inheritable sets. */
static inline int drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	__u32 bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[cap / 32].effective &= ~bit;
	d[cap / 32].permitted &= ~bit;
	d[cap / 32].inheritable &= ~bit;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* The current value of a size limit, or its default when unreadable. */
static inline __u32 cport_param_or(const char *name, __u32 def)
{
	long v = 0;

	return cport_param_read(name, &v) ? def : (__u32)v;
}

/* --------------------------------------------------------------------- */
/* misc */

/* A page that faults on any access: for EFAULT tests. */
static inline void *fault_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Pin the calling thread to @cpu (races that need two CPUs). */
static inline void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Repeat factor of the race and stress tests: CPORT_STRESS=N in the
 * environment runs them N times longer (default 1).
 */
static inline int stress_factor(void)
{
	const char *s = getenv("CPORT_STRESS");
	int n = s ? atoi(s) : 1;

	return n > 0 ? n : 1;
}

/* A small deterministic PRNG (xorshift64*). */
static inline __u64 xrand(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* CPORT_TEST_H */
