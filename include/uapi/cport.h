/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cport: a completion port for Linux.
 *
 * User API of /dev/cport. Every open of the device is a port. The port is
 * sized with CPORT_IOC_SETUP, its rings are mapped with mmap() at the
 * CPORT_OFF_* offsets, and work is submitted and waited for with
 * CPORT_IOC_ENTER. See Documentation/userspace-api.rst.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef _UAPI_CPORT_H
#define _UAPI_CPORT_H

#include <linux/types.h>
#include <linux/ioctl.h>

/**
 * struct cport_sqe - submission queue entry
 * @opcode: CPORT_OP_*.
 * @flags: CPORT_SQE_F_*.
 * @buf_group: with CPORT_SQE_F_BUFFER_SELECT: the provided buffer group
 *             (CPORT_REGISTER_BUF_RING) the op takes its buffer from;
 *             otherwise must be 0. Old name: @resv0.
 * @resv0: @buf_group under its old name.
 * @fd: file descriptor the op acts on (CPORT_OP_POST: the target port;
 *      the I/O ops: the file; the socket ops: the socket (CPORT_OP_CLOSE:
 *      any file); CPORT_OP_CANCEL with CPORT_CANCEL_FD: the file whose ops
 *      to cancel; CPORT_OP_POLL_ADD: the file polled),
 *      otherwise must be 0. With
 *      CPORT_SQE_F_FIXED_FILE: an index into the registered file table.
 * @off: CPORT_OP_TIMEOUT: expiry in nanoseconds (relative, or absolute with
 *       CPORT_TIMEOUT_ABS); CPORT_OP_LINK_TIMEOUT: expiry in nanoseconds,
 *       relative, > 0; CPORT_OP_READ, _WRITE, _READV, _WRITEV,
 *       _READ_FIXED, _WRITE_FIXED: file offset, or CPORT_POS_CURRENT;
 *       CPORT_OP_FSYNC: start of the range; CPORT_OP_FLAG_SET, _CLEAR:
 *       the flag's number, 0 to 63; otherwise must be 0.
 * @addr: CPORT_OP_POST: user_data of the CQE posted to the target;
 *        CPORT_OP_TIMEOUT_REMOVE, CPORT_OP_CANCEL: user_data to match;
 *        CPORT_OP_READ, _WRITE: the buffer (READ with
 *        CPORT_SQE_F_BUFFER_SELECT: 0); CPORT_OP_READV, _WRITEV: the
 *        array of struct iovec; CPORT_OP_READ_FIXED, _WRITE_FIXED: the
 *        user address of the data, inside registered buffer @addr2;
 *        CPORT_OP_FLAG_WAIT: the mask of flags waited for, not 0;
 *        CPORT_OP_POLL_REMOVE: user_data of the POLL_ADD to match;
 *        otherwise must be 0.
 * @len: CPORT_OP_POST: res of the CQE posted to the target (as __s32);
 *       CPORT_OP_TIMEOUT with CPORT_TIMEOUT_MULTISHOT: number of shots
 *       (0 = until cancelled); CPORT_OP_READ, _WRITE, _READ_FIXED,
 *       _WRITE_FIXED: bytes;
 *       CPORT_OP_READV, _WRITEV: number of iovecs; CPORT_OP_FSYNC: length
 *       of the range (0 = to the end of the file); CPORT_OP_FLAG_WAIT,
 *       _SET, _CLEAR: the cluster (0: local, else a CPORT_CLUSTER_ASSOC
 *       handle); CPORT_OP_POLL_ADD, and CPORT_OP_POLL_REMOVE with
 *       CPORT_POLL_UPDATE_EVENTS: the EPOLL* events of interest;
 *       otherwise must be 0.
 * @op_flags: per-opcode flags: CPORT_TIMEOUT_*, CPORT_CANCEL_*,
 *            CPORT_FSYNC_* or (CPORT_OP_FLAG_WAIT) CPORT_FLAG_WAIT_ALL and
 *            CPORT_FLAG_WAIT_CONSUME, or CPORT_POLL_*; must be 0 for the
 *            read and write ops and CPORT_OP_FLAG_SET, _CLEAR.
 * @user_data: copied unchanged into the CQE(s) of this op.
 * @addr2: CPORT_OP_TIMEOUT with CPORT_TIMEOUT_MULTISHOT: period in ns
 *         (0 = same as @off, relative timers only); CPORT_OP_READ_FIXED,
 *         _WRITE_FIXED: index of the registered buffer;
 *         CPORT_OP_POLL_REMOVE with CPORT_POLL_UPDATE_USER_DATA: the new
 *         user_data; otherwise must be 0.
 * @ef_cluster: with CPORT_SQE_F_EVENT_FLAG: the cluster of the flag to set
 *              when the op completes (0: the port's local cluster, else a
 *              handle from CPORT_CLUSTER_ASSOC); otherwise must be 0.
 * @ef_bit: with CPORT_SQE_F_EVENT_FLAG: that flag's number, 0 to 63;
 *          otherwise must be 0.
 * @resv2: reserved, must be 0.
 * @sig_signo: with CPORT_SQE_F_SIGNAL (instead of @ef_cluster): the signal
 *             queued when the op completes, 1 to 64.
 * @sig_flags: with CPORT_SQE_F_SIGNAL (instead of @ef_bit): CPORT_SIG_*.
 * @sig_value: with CPORT_SQE_F_SIGNAL (instead of @resv2): the signal's
 *             si_value (sival_ptr; sival_int is its low 32 bits on
 *             little-endian machines).
 * @resv: the last three fields under their old name.
 *
 * The kernel reads every field exactly once. A field that is not used by the
 * opcode must be 0, or the op completes with -EINVAL.
 */
struct cport_sqe {
	__u8	opcode;
	__u8	flags;
	union {
		__u16	buf_group;
		__u16	resv0;
	};
	__s32	fd;
	__u64	off;
	__u64	addr;
	__u32	len;
	__u32	op_flags;
	__u64	user_data;
	__u64	addr2;
	union {
		struct {
			__u32	ef_cluster;
			__u32	ef_bit;
			__u64	resv2;
		};
		struct {
			__u32	sig_signo;
			__u32	sig_flags;
			__u64	sig_value;
		};
		__u64	resv[2];
	};
};

/**
 * struct cport_cqe - completion queue entry
 * @user_data: the SQE's user_data (or the poster's choice for a post).
 * @res: result: >= 0 on success, -errno on failure.
 * @flags: CPORT_CQE_F_*.
 */
struct cport_cqe {
	__u64	user_data;
	__s32	res;
	__u32	flags;
};

/*
 * SQE flags. ORDERED (the file I/O ops, CPORT_OP_READ to _FSYNC, _READ_FIXED
 * and _WRITE_FIXED, and the socket ops, CPORT_OP_ACCEPT to _CLOSE): the op
 * starts only after every earlier ORDERED op on the same file has
 * completed, so such ops run in submission order (POSIX AIO on streams
 * needs it). On any other op: -EINVAL.
 */
#define CPORT_SQE_F_ORDERED	(1U << 0)
/*
 * LINK (any op): the next SQE consumed by the same submission starts only
 * after this op has completed with res >= 0; if it fails, the rest of the
 * chain completes with -ECANCELED.
 */
#define CPORT_SQE_F_LINK	(1U << 1)
/*
 * DRAIN (any op; of a chain, only its head): the op starts only after
 * every op submitted before it has completed, and ops submitted after it
 * start only after it has completed (CANCEL and TIMEOUT_REMOVE excepted).
 */
#define CPORT_SQE_F_DRAIN	(1U << 2)
/*
 * FIXED_FILE (the ops that take ORDERED; CPORT_OP_CANCEL with
 * CPORT_CANCEL_FD and CPORT_OP_POLL_ADD, there without ORDERED): @fd is an
 * index into the file table registered with CPORT_IOC_REGISTER
 * (CPORT_OP_CLOSE: the slot to empty). On any other op: -EINVAL.
 */
#define CPORT_SQE_F_FIXED_FILE	(1U << 3)
/*
 * EVENT_FLAG (any op but CPORT_OP_FLAG_WAIT): event flag (@ef_cluster,
 * @ef_bit) is cleared when the SQE is consumed and set right after the op's
 * terminal CQE is in the CQ ring, whatever its res (OpenVMS $QIO efn). The
 * flag must be in a cluster the port may set (-EACCES otherwise).
 */
#define CPORT_SQE_F_EVENT_FLAG	(1U << 4)
/*
 * BUFFER_SELECT (CPORT_OP_RECV, CPORT_OP_RECVMSG, CPORT_OP_READ): the op
 * has no buffer of its own; when data arrives it takes the next buffer of
 * provided buffer group @buf_group and names it in the CQE
 * (CPORT_CQE_F_BUFFER).
 */
#define CPORT_SQE_F_BUFFER_SELECT	(1U << 5)
/*
 * SIGNAL (any op but the multishot ones): when the op's terminal CQE is in
 * the CQ ring, whatever its res, signal @sig_signo is queued with si_code
 * SI_ASYNCIO, si_value @sig_value and the submitter's pid and uid, to the
 * thread that submitted the SQE, or with CPORT_SIG_PROCESS to its process
 * (see userspace-api.rst, "Completion signals"). Not with
 * CPORT_SQE_F_EVENT_FLAG: the two share the SQE's last 16 bytes.
 */
#define CPORT_SQE_F_SIGNAL	(1U << 6)

/*
 * sig_flags. PROCESS: the signal is for the submitter's process, not for
 * the submitting thread: a thread of the process that does not block it
 * takes it.
 */
#define CPORT_SIG_PROCESS	(1U << 0)

/* More CQEs will follow for this op (multishot): this one is not terminal. */
#define CPORT_CQE_F_MORE	(1U << 0)
/*
 * The op took a provided buffer: its id is flags >> CPORT_CQE_BUFFER_SHIFT.
 * The buffer is the user's again once the CQE is seen.
 */
#define CPORT_CQE_F_BUFFER	(1U << 1)
#define CPORT_CQE_BUFFER_SHIFT	16

/* Opcodes */
enum cport_op {
	CPORT_OP_NOP = 0,
	CPORT_OP_POST,
	CPORT_OP_TIMEOUT,
	CPORT_OP_TIMEOUT_REMOVE,
	CPORT_OP_CANCEL,
	CPORT_OP_READ,
	CPORT_OP_WRITE,
	CPORT_OP_READV,
	CPORT_OP_WRITEV,
	CPORT_OP_FSYNC,
	CPORT_OP_READ_FIXED,	/* 10: READ into a registered buffer */
	CPORT_OP_WRITE_FIXED,	/* 11: WRITE from a registered buffer */
	CPORT_OP_LINK_TIMEOUT,	/* 12: bounds the linked op in front of it */
	CPORT_OP_FLAG_WAIT,	/* 13: completes when a flag condition holds */
	CPORT_OP_FLAG_SET,	/* 14: sets one event flag */
	CPORT_OP_FLAG_CLEAR,	/* 15: clears one event flag */
	CPORT_OP_POLL_ADD,	/* 16: a CQE when the file at @fd is ready */
	CPORT_OP_POLL_REMOVE,	/* 17: removes or updates a POLL_ADD */
	CPORT_OP_ACCEPT,	/* 18: accept4() on a listening socket */
	CPORT_OP_CONNECT,	/* 19: connect() */
	CPORT_OP_SEND,		/* 20: send() */
	CPORT_OP_RECV,		/* 21: recv() */
	CPORT_OP_SENDMSG,	/* 22: sendmsg() */
	CPORT_OP_RECVMSG,	/* 23: recvmsg() */
	CPORT_OP_SHUTDOWN,	/* 24: shutdown() */
	CPORT_OP_CLOSE,		/* 25: close(), or empties a file slot */

	CPORT_OP_LAST,		/* not an opcode: first invalid value */
};

/* CPORT_OP_TIMEOUT op_flags */
#define CPORT_TIMEOUT_ABS	(1U << 0) /* @off is an absolute time */
#define CPORT_TIMEOUT_MULTISHOT	(1U << 1) /* periodic, CQE per shot */
#define CPORT_TIMEOUT_BOOTTIME	(1U << 2) /* CLOCK_BOOTTIME */
#define CPORT_TIMEOUT_REALTIME	(1U << 3) /* CLOCK_REALTIME */

/* Shortest period of a multishot timer. */
#define CPORT_TIMEOUT_MIN_PERIOD_NS	10000ULL

/* CPORT_OP_CANCEL op_flags */
#define CPORT_CANCEL_ALL	(1U << 0) /* every match, res = count */
#define CPORT_CANCEL_ANY	(1U << 1) /* match any user_data */
#define CPORT_CANCEL_FD		(1U << 2) /* match ops on the file at @fd */

/* @off of the read and write ops: use and advance the file position. */
#define CPORT_POS_CURRENT	(~0ULL)

/*
 * CPORT_OP_TIMEOUT op_flags, continued. FLAG_ONLY (with MULTISHOT and
 * CPORT_SQE_F_EVENT_FLAG): each expiration sets the event flag and posts
 * no CQE; only the terminal CQE is posted (after @len shots, or when the
 * timer is removed or cancelled).
 */
#define CPORT_TIMEOUT_FLAG_ONLY	(1U << 4)

/* CPORT_OP_FSYNC op_flags */
#define CPORT_FSYNC_DATASYNC	(1U << 0) /* fdatasync(): data, not metadata */

/*
 * CPORT_OP_POLL_ADD: @fd is the file (CPORT_SQE_F_FIXED_FILE allowed), @len
 * the EPOLL* events of interest (a non-zero subset of CPORT_POLL_EVENTS;
 * EPOLLERR and EPOLLHUP are always reported), @op_flags CPORT_POLL_*. The
 * CQE's res is the ready events (EPOLL* bits), or -errno.
 *
 * One-shot (default) is level-triggered: if the file is ready when the op
 * is issued, it completes at once; else at the first wake-up that carries
 * an event of interest. Multishot (CPORT_POLL_MULTISHOT) is
 * edge-triggered: a CQE with CPORT_CQE_F_MORE for readiness found when it
 * is issued, then one per wake-up of the file that carries an event of
 * interest. Wake-ups that find the CQ full are OR-ed together and posted
 * once a slot frees (never lost). A multishot poll ends with a terminal
 * CQE (no MORE): res -ECANCELED when removed or cancelled, or the events
 * when they include EPOLLERR or EPOLLHUP (nothing more can happen).
 */
#define CPORT_POLL_MULTISHOT	(1U << 0)
/*
 * CPORT_OP_POLL_REMOVE: @addr is the user_data of the POLL_ADD to act on.
 * Without update flags the poll is removed (its terminal CQE: -ECANCELED).
 * UPDATE_EVENTS: its events become @len; UPDATE_USER_DATA: its user_data
 * becomes @addr2; the poll stays armed and posts no CQE for the update.
 * res: 0, -ENOENT (no such poll), -EALREADY (it is completing).
 */
#define CPORT_POLL_UPDATE_EVENTS	(1U << 1)
#define CPORT_POLL_UPDATE_USER_DATA	(1U << 2)

/* The events a POLL_ADD may ask for (values of <sys/epoll.h>). */
#define CPORT_POLL_EVENTS	0x00002fffU /* EPOLLIN..EPOLLMSG, EPOLLRDHUP */

/*
 * Socket ops. Fields of the SQE (all others must be 0):
 *
 * CPORT_OP_ACCEPT: @fd the listening socket; @op_flags SOCK_NONBLOCK,
 *   SOCK_CLOEXEC (accept4() flags) of the new descriptor; @addr a struct
 *   sockaddr for the peer's address and @addr2 a socklen_t in/out (as
 *   accept4()), both 0 or both set; @off CPORT_NET_* (MULTISHOT: not with
 *   @addr). res: the new descriptor.
 * CPORT_OP_CONNECT: @fd the socket; @addr the struct sockaddr, @len its
 *   length (1 to 128). res: 0.
 * CPORT_OP_SEND, CPORT_OP_RECV: @fd the socket; @addr the buffer and @len
 *   its length (RECV with CPORT_SQE_F_BUFFER_SELECT: @addr 0, @len 0 or
 *   the most bytes to take); @op_flags MSG_* flags (CPORT_SEND_MSG_FLAGS,
 *   CPORT_RECV_MSG_FLAGS); @off CPORT_NET_* flags; with
 *   CPORT_NET_FIXED_BUF, @addr2 the index of the registered buffer that
 *   holds @addr..@addr+@len. res: bytes sent or received (0: the peer
 *   shut down its side).
 * CPORT_OP_SENDMSG, CPORT_OP_RECVMSG: @fd the socket; @addr a struct
 *   msghdr (read when the op is submitted; RECVMSG writes back
 *   msg_namelen, msg_controllen and msg_flags when it completes); @op_flags
 *   MSG_* flags. RECVMSG with CPORT_SQE_F_BUFFER_SELECT: msg_iov and
 *   msg_iovlen must be 0; the data goes to the provided buffer.
 * CPORT_OP_SHUTDOWN: @fd the socket; @len SHUT_RD, SHUT_WR or SHUT_RDWR.
 * CPORT_OP_CLOSE: @fd the descriptor to close; with CPORT_SQE_F_FIXED_FILE
 *   the registered file slot to empty.
 *
 * See Documentation/userspace-api.rst for each op's errors.
 */
/* @off of CPORT_OP_ACCEPT and CPORT_OP_RECV */
#define CPORT_NET_MULTISHOT	(1ULL << 0) /* a CQE per connection/arrival */
/* @off of CPORT_OP_SEND and CPORT_OP_RECV: @addr2 is a registered buffer */
#define CPORT_NET_FIXED_BUF	(1ULL << 1)

/*
 * MSG_* flags each op accepts in @op_flags (values of <sys/socket.h>).
 * SEND, SENDMSG: OOB DONTROUTE DONTWAIT EOR WAITALL CONFIRM NOSIGNAL MORE.
 * RECV, RECVMSG: OOB PEEK TRUNC DONTWAIT WAITALL CMSG_CLOEXEC.
 */
#define CPORT_SEND_MSG_FLAGS	0x0000c9c5U
#define CPORT_RECV_MSG_FLAGS	0x40000163U
/* accept4() flags CPORT_OP_ACCEPT accepts (SOCK_NONBLOCK, SOCK_CLOEXEC). */
#define CPORT_ACCEPT_FLAGS	0x00080800U

/* Longest ancillary data (msg_controllen) of a SENDMSG or RECVMSG. */
#define CPORT_NET_CONTROL_MAX	4096U

/**
 * struct cport_buf_entry - one buffer of a provided buffer ring
 * @addr: user address of the buffer.
 * @len: its length in bytes, > 0.
 * @bid: its id, returned in the CQE of the op that fills it.
 * @resv: reserved, ignored.
 */
struct cport_buf_entry {
	__u64	addr;
	__u32	len;
	__u16	bid;
	__u16	resv;
};

/**
 * struct cport_buf_ring - a provided buffer ring in user memory
 * @tail: written by the user (store-release) after filling entries: the
 *        count of entries ever added, modulo 2^32.
 * @head: written by the kernel: the count of entries ever taken.
 * @resv: reserved, ignored.
 * @bufs: the ring's entries; entry i is bufs[i & (ring_entries - 1)].
 *
 * The entries from @head to @tail are the kernel's to take, in order; an
 * op that takes one names its @bid in its CQE. An entry the kernel has
 * taken is the user's again once its CQE is seen.
 */
struct cport_buf_ring {
	__u32	tail;
	__u32	head;
	__u64	resv;
	struct cport_buf_entry bufs[];
};

/**
 * struct cport_buf_reg - argument of CPORT_REGISTER_BUF_RING and
 * CPORT_UNREGISTER_BUF_RING (pointed to by struct cport_register @data)
 * @ring_addr: REGISTER: user address of the struct cport_buf_ring, 8-byte
 *             aligned; must be 0 for UNREGISTER.
 * @ring_entries: REGISTER: entries of the ring, a power of two, 1 to
 *                CPORT_BUF_RING_MAX_ENTRIES; must be 0 for UNREGISTER.
 * @bgid: the buffer group, 0 to CPORT_BUF_GROUPS_MAX - 1.
 * @flags: reserved, must be 0.
 * @resv: reserved, must be 0.
 */
struct cport_buf_reg {
	__u64	ring_addr;
	__u32	ring_entries;
	__u16	bgid;
	__u16	flags;
	__u64	resv[2];
};

#define CPORT_BUF_RING_MAX_ENTRIES	32768U
#define CPORT_BUF_GROUPS_MAX		64U

/**
 * struct cport_sqring_offsets - layout of the SQ ring mapping
 * @head: offset of the __u32 head index. Written by the kernel, read by user.
 * @tail: offset of the __u32 tail index. Written by user, read by the kernel.
 * @ring_mask: offset of the __u32 index mask (ring_entries - 1).
 * @ring_entries: offset of the __u32 number of SQEs.
 * @flags: offset of the __u32 SQ flags (none defined, reads 0).
 * @resv1: reserved, 0.
 * @resv2: reserved, 0.
 *
 * SQEs live in their own mapping (CPORT_OFF_SQES); entry i of the ring is
 * SQE (i & ring_mask).
 */
struct cport_sqring_offsets {
	__u32	head;
	__u32	tail;
	__u32	ring_mask;
	__u32	ring_entries;
	__u32	flags;
	__u32	resv1;
	__u64	resv2;
};

/**
 * struct cport_cqring_offsets - layout of the CQ ring mapping
 * @head: offset of the __u32 head index. Written by user, read by the kernel.
 * @tail: offset of the __u32 tail index. Written by the kernel, read by user.
 * @ring_mask: offset of the __u32 index mask (ring_entries - 1).
 * @ring_entries: offset of the __u32 number of CQEs.
 * @overflow: offset of the __u32 count of multishot shots that found no free
 *            slot and were coalesced into a later CQE (never dropped).
 * @cqes: offset of the array of struct cport_cqe.
 * @flags: offset of the __u32 CQ flags (none defined, reads 0).
 * @resv1: reserved, 0.
 */
struct cport_cqring_offsets {
	__u32	head;
	__u32	tail;
	__u32	ring_mask;
	__u32	ring_entries;
	__u32	overflow;
	__u32	cqes;
	__u32	flags;
	__u32	resv1;
};

/**
 * struct cport_params - argument of CPORT_IOC_SETUP
 * @sq_entries: in: SQ size wanted (rounded up to a power of two);
 *              out: actual size.
 * @cq_entries: in, with CPORT_SETUP_CQSIZE: CQ size wanted (rounded up,
 *              >= @sq_entries); out: actual size (default 2 * @sq_entries).
 * @flags: in: CPORT_SETUP_*.
 * @features: out: CPORT_FEAT_*. Must be 0 on input.
 * @concurrency: in: most pool threads (CPORT_IOC_GETQ callers) running at
 *               once, 1 to CPORT_CONCURRENCY_MAX, or 0: the number of
 *               online CPUs; out: the value in effect. Old name: the
 *               first element of @resv.
 * @resv1: reserved, must be 0.
 * @resv: @concurrency and @resv1 under their old name.
 * @sq_off: out: SQ ring layout.
 * @cq_off: out: CQ ring layout.
 */
struct cport_params {
	__u32	sq_entries;
	__u32	cq_entries;
	__u32	flags;
	__u32	features;
	union {
		struct {
			__u32	concurrency;
			__u32	resv1[3];
		};
		__u32	resv[4];
	};
	struct cport_sqring_offsets sq_off;
	struct cport_cqring_offsets cq_off;
};

/* Largest value of cport_params.concurrency. */
#define CPORT_CONCURRENCY_MAX	4096U

/* CPORT_IOC_SETUP flags */
#define CPORT_SETUP_CQSIZE	(1U << 0) /* cq_entries is valid */
#define CPORT_SETUP_CLAMP	(1U << 1) /* clamp sizes to the maximum */

/* Features reported by CPORT_IOC_SETUP. Bits only ever get added. */
#define CPORT_FEAT_NODROP	(1U << 0) /* CQ slots reserved at submit */
#define CPORT_FEAT_POST		(1U << 1) /* CPORT_OP_POST, CPORT_IOC_POST */
#define CPORT_FEAT_TIMER	(1U << 2) /* multishot, coalescing timers */
#define CPORT_FEAT_LIFO_WAKE	(1U << 3) /* one waiter woken, newest first */
#define CPORT_FEAT_RW		(1U << 4) /* READ, WRITE, READV, WRITEV, FSYNC */
#define CPORT_FEAT_REGISTER	(1U << 5) /* CPORT_IOC_REGISTER, *_FIXED */
#define CPORT_FEAT_LINK		(1U << 6) /* SQE_F_LINK, OP_LINK_TIMEOUT */
#define CPORT_FEAT_DRAIN	(1U << 7) /* CPORT_SQE_F_DRAIN */
#define CPORT_FEAT_FLAGS	(1U << 8) /* event flags and clusters */
#define CPORT_FEAT_POLL		(1U << 9) /* POLL_ADD, POLL_REMOVE */
#define CPORT_FEAT_CONCURRENCY	(1U << 10) /* @concurrency, CPORT_IOC_GETQ */
#define CPORT_FEAT_NET		(1U << 11) /* socket ops, provided buffers */
#define CPORT_FEAT_SIGNAL	(1U << 12) /* CPORT_SQE_F_SIGNAL */
#define CPORT_FEAT_RESTRICT	(1U << 13) /* CPORT_IOC_RESTRICT */

/**
 * struct cport_enter - argument of CPORT_IOC_ENTER
 * @to_submit: number of SQEs to consume from the SQ ring (at most the
 *             number published, at most sq_entries).
 * @min_complete: wait until at least this many CQEs are in the CQ ring
 *                (0: do not wait). Must be <= cq_entries.
 * @flags: CPORT_ENTER_*.
 * @ef_cluster: with CPORT_ENTER_FLAGS: the cluster of the flag condition
 *              (0: local, else a CPORT_CLUSTER_ASSOC handle); must be 0
 *              otherwise. Old name: @resv0.
 * @resv0: @ef_cluster under its old name.
 * @timeout_ns: with CPORT_ENTER_TIMEOUT: relative wait limit in ns
 *              (0: do not sleep); must be 0 otherwise.
 * @ef_mask: with CPORT_ENTER_FLAGS: the flags of the condition, not 0;
 *           must be 0 otherwise.
 * @ef_result: out, with CPORT_ENTER_FLAGS: the flags that satisfied the
 *             condition (with CPORT_ENTER_FLAGS_CONSUME: the flags this
 *             call cleared), 0 if the flag condition did not end the wait.
 *             Must be 0 on input.
 * @resv: @ef_mask and @ef_result under their old name.
 *
 * With CPORT_ENTER_FLAGS the wait ends when the CQ holds @min_complete
 * CQEs (0: never), OR the flag condition holds (any of @ef_mask set; all of
 * them with CPORT_ENTER_FLAGS_ALL), OR the timeout expires, whichever comes
 * first. @ef_result != 0 says the flag condition ended it, the CQ says
 * whether @min_complete CQEs are there; -ETIME (nothing submitted) says
 * neither happened.
 */
struct cport_enter {
	__u32	to_submit;
	__u32	min_complete;
	__u32	flags;
	union {
		__u32	ef_cluster;
		__u32	resv0;
	};
	__u64	timeout_ns;
	union {
		struct {
			__u64	ef_mask;
			__u64	ef_result;
		};
		__u64	resv[2];
	};
};

/* CPORT_IOC_ENTER flags */
#define CPORT_ENTER_TIMEOUT	(1U << 0) /* timeout_ns is valid */
#define CPORT_ENTER_FLAGS	(1U << 1) /* also wait for a flag condition */
#define CPORT_ENTER_FLAGS_ALL	(1U << 2) /* ... all of ef_mask, not any */
#define CPORT_ENTER_FLAGS_CONSUME (1U << 3) /* ... clear what satisfied it */

/**
 * struct cport_post - argument of CPORT_IOC_POST
 * @user_data: user_data of the posted CQE.
 * @res: res of the posted CQE.
 * @flags: reserved, must be 0.
 * @resv: reserved, must be 0.
 */
struct cport_post {
	__u64	user_data;
	__s32	res;
	__u32	flags;
	__u64	resv;
};

/**
 * struct cport_register - argument of CPORT_IOC_REGISTER
 * @op: CPORT_REGISTER_* or CPORT_UNREGISTER_*.
 * @nr: CPORT_REGISTER_BUFFERS: number of struct iovec at @data (1 to
 *      CPORT_REGISTER_MAX_BUFFERS); CPORT_REGISTER_FILES: number of int
 *      file descriptors at @data (1 to CPORT_REGISTER_MAX_FILES, -1 is an
 *      empty slot); CPORT_REGISTER_BUF_RING, CPORT_UNREGISTER_BUF_RING
 *      and the other unregister ops: must be 0.
 * @data: user pointer to the array; CPORT_REGISTER_BUF_RING and
 *        CPORT_UNREGISTER_BUF_RING: to a struct cport_buf_reg; must be 0
 *        for the other unregister ops.
 * @resv: reserved, must be 0.
 */
struct cport_register {
	__u32	op;
	__u32	nr;
	__aligned_u64 data;
	__u64	resv[2];
};

/* struct cport_register ops */
#define CPORT_REGISTER_BUFFERS		0
#define CPORT_UNREGISTER_BUFFERS	1
#define CPORT_REGISTER_FILES		2
#define CPORT_UNREGISTER_FILES		3
#define CPORT_REGISTER_BUF_RING		4	/* a provided buffer group */
#define CPORT_UNREGISTER_BUF_RING	5

/* Bounds of a registration. */
#define CPORT_REGISTER_MAX_BUFFERS	1024U
#define CPORT_REGISTER_MAX_BUF_SIZE	(1ULL << 30)	/* bytes per buffer */
#define CPORT_REGISTER_MAX_FILES	4096U

/**
 * struct cport_flags - argument of CPORT_IOC_FLAGS
 * @op: CPORT_FLAGS_*.
 * @cluster: 0: the port's local cluster; else a handle returned by
 *           CPORT_CLUSTER_ASSOC.
 * @bit: SET, CLEAR: the flag's number, 0 to 63; must be 0 otherwise.
 * @flags: WAIT: CPORT_FLAG_WAIT_ALL, _CONSUME, _TIMEOUT; POLL_ARM:
 *         CPORT_FLAG_WAIT_ALL; must be 0 otherwise.
 * @mask: WAIT, POLL_ARM: the flags of the condition, not 0; must be 0
 *        otherwise.
 * @timeout_ns: WAIT with CPORT_FLAG_WAIT_TIMEOUT: relative limit in ns
 *              (0: do not sleep); must be 0 otherwise.
 * @result: out. SET, CLEAR: the whole cluster before the change; READ: the
 *          cluster; WAIT: the flags of @mask that satisfied the condition
 *          (with CPORT_FLAG_WAIT_CONSUME: the flags this call cleared).
 * @resv: reserved, must be 0.
 */
struct cport_flags {
	__u32	op;
	__u32	cluster;
	__u32	bit;
	__u32	flags;
	__u64	mask;
	__u64	timeout_ns;
	__u64	result;
	__u64	resv;
};

/*
 * struct cport_flags ops. The ioctl returns, for SET and CLEAR, the flag's
 * previous state (0 or 1); for the others, 0.
 */
#define CPORT_FLAGS_SET		0	/* $SETEF */
#define CPORT_FLAGS_CLEAR	1	/* $CLREF */
#define CPORT_FLAGS_READ	2	/* $READEF */
#define CPORT_FLAGS_WAIT	3	/* $WAITFR, $WFLOR, $WFLAND */
#define CPORT_FLAGS_POLL_ARM	4	/* poll() reports EPOLLPRI on the condition */
#define CPORT_FLAGS_POLL_DISARM	5

/* Flag wait flags: CPORT_FLAGS_WAIT, CPORT_FLAGS_POLL_ARM, CPORT_OP_FLAG_WAIT */
#define CPORT_FLAG_WAIT_ALL	(1U << 0) /* all of mask (AND), not any (OR) */
/* CONSUME: clear the flags that satisfied the wait, atomically with it. */
#define CPORT_FLAG_WAIT_CONSUME	(1U << 1)
#define CPORT_FLAG_WAIT_TIMEOUT	(1U << 2) /* timeout_ns is valid (ioctl) */

/**
 * struct cport_cluster - argument of CPORT_IOC_CLUSTER
 * @op: CPORT_CLUSTER_*.
 * @flags: ASSOC: CPORT_CLUSTER_CREATE, _EXCL, _PERMANENT, _RDONLY; must be
 *         0 otherwise.
 * @mode: ASSOC with CPORT_CLUSTER_CREATE: permission bits of a cluster this
 *        call creates (0 to 0777: read = read and wait, write = set and
 *        clear, for owner, group, other); must be 0 otherwise.
 * @cluster: ASSOC: out, the handle (1 to CPORT_CLUSTER_MAX); DISASSOC: in,
 *           the handle; must be 0 otherwise.
 * @name: ASSOC, DELETE: the cluster's name: 1 to 63 bytes, each a letter
 *        (A to Z, a to z), a digit, '_', '.', '$' or '-', then a NUL;
 *        must be all 0 for DISASSOC.
 * @resv: reserved, must be 0.
 */
struct cport_cluster {
	__u32	op;
	__u32	flags;
	__u32	mode;
	__u32	cluster;
	char	name[64];
	__u64	resv[2];
};

/* struct cport_cluster ops */
#define CPORT_CLUSTER_ASSOC	0	/* $ASCEFC; returns 1 if created, else 0 */
#define CPORT_CLUSTER_DISASSOC	1	/* $DACEFC */
#define CPORT_CLUSTER_DELETE	2	/* $DLCEFC */

/* CPORT_CLUSTER_ASSOC flags */
#define CPORT_CLUSTER_CREATE	(1U << 0) /* create if missing */
#define CPORT_CLUSTER_EXCL	(1U << 1) /* with CREATE: -EEXIST if it exists */
/* PERMANENT (with CREATE, CAP_SYS_ADMIN): lives until CPORT_CLUSTER_DELETE */
#define CPORT_CLUSTER_PERMANENT	(1U << 2)
#define CPORT_CLUSTER_RDONLY	(1U << 3) /* ask read access only */

/* Most common clusters one port may have associated at once. */
#define CPORT_CLUSTER_MAX	32U
#define CPORT_CLUSTER_NAME_MAX	63U

/**
 * struct cport_getq - argument of CPORT_IOC_GETQ (IOCP's
 * GetQueuedCompletionStatusEx)
 * @cqes: user pointer to an array of @nr struct cport_cqe, filled with the
 *        CQEs taken; must be 0 with CPORT_GETQ_LEAVE.
 * @nr: most CQEs to take, 1 to CPORT_GETQ_MAX; must be 0 with
 *      CPORT_GETQ_LEAVE.
 * @flags: CPORT_GETQ_*.
 * @resv0: reserved, must be 0.
 * @resv1: reserved, must be 0.
 * @timeout_ns: with CPORT_GETQ_TIMEOUT: relative limit of the wait in ns
 *              (0: do not sleep); must be 0 otherwise.
 * @resv: reserved, must be 0.
 *
 * The calling thread stops counting as running on the port it last took
 * CQEs from, then waits until the CQ holds a CQE and fewer than the port's
 * concurrency value of pool threads are running; waiters are released
 * newest first. It takes 1 to @nr CQEs from the CQ head (the slots go back
 * to the kernel, as when a consumer moves the head) and counts as running
 * until its next CPORT_IOC_GETQ, CPORT_GETQ_LEAVE, or exit. While a running
 * thread sleeps anywhere else (I/O, a lock, a sleep), its slot lends itself
 * to a waiting thread; see Documentation/userspace-api.rst.
 *
 * Return: the number of CQEs taken (>= 1); 0 with CPORT_GETQ_LEAVE; or
 * -errno: -ETIME, -EINTR, -EFAULT (nothing was taken), -EINVAL.
 */
struct cport_getq {
	__u64	cqes;
	__u32	nr;
	__u32	flags;
	__u32	resv0;
	__u32	resv1;
	__u64	timeout_ns;
	__u64	resv[2];
};

/* CPORT_IOC_GETQ flags */
#define CPORT_GETQ_TIMEOUT	(1U << 0) /* timeout_ns is valid */
#define CPORT_GETQ_LEAVE	(1U << 1) /* stop counting as running, return */

/* Most CQEs one CPORT_IOC_GETQ takes. */
#define CPORT_GETQ_MAX		256U

/**
 * struct cport_flag_page - the read-only page at CPORT_OFF_FLAGS
 * @local: the port's local cluster: bit n is flag n. Always equal to what
 *         CPORT_FLAGS_READ would return at that moment.
 * @resv: reserved, reads 0.
 */
struct cport_flag_page {
	__u64	local;
	__u64	resv[7];
};

/**
 * struct cport_restrict - CPORT_IOC_RESTRICT: what the port may do from now
 * on, for good (once per port; a second call fails with -EBUSY)
 * @ops: bit n set: opcode n may be submitted (bits from CPORT_OP_LAST on
 *       must be 0); any other opcode completes with -EACCES.
 * @sqe_flags: the CPORT_SQE_F_* an SQE may carry; an SQE with another
 *             completes with -EACCES.
 * @resv0: must be 0.
 * @ioctls: bit n set: the ioctl whose number (_IOC_NR()) is n may be
 *          called (CPORT_IOC_ENTER and CPORT_IOC_ENTER_V1 share bit 2);
 *          another fails with -EACCES. Bit 0 and bits above
 *          CPORT_IOC_RESTRICT's number must be 0; CPORT_IOC_RESTRICT's own
 *          bit means nothing (it fails with -EBUSY from then on).
 * @resv: must be 0.
 */
struct cport_restrict {
	__u64	ops;
	__u32	sqe_flags;
	__u32	resv0;
	__u64	ioctls;
	__u64	resv[3];
};

#define CPORT_IOC_MAGIC		0xC5
#define CPORT_IOC_SETUP		_IOWR(CPORT_IOC_MAGIC, 0x01, struct cport_params)
#define CPORT_IOC_ENTER		_IOWR(CPORT_IOC_MAGIC, 0x02, struct cport_enter)
#define CPORT_IOC_POST		_IOW(CPORT_IOC_MAGIC, 0x03, struct cport_post)
#define CPORT_IOC_REGISTER	_IOW(CPORT_IOC_MAGIC, 0x04, struct cport_register)
#define CPORT_IOC_FLAGS		_IOWR(CPORT_IOC_MAGIC, 0x05, struct cport_flags)
#define CPORT_IOC_CLUSTER	_IOWR(CPORT_IOC_MAGIC, 0x06, struct cport_cluster)
#define CPORT_IOC_GETQ		_IOW(CPORT_IOC_MAGIC, 0x07, struct cport_getq)
#define CPORT_IOC_RESTRICT	_IOW(CPORT_IOC_MAGIC, 0x08, struct cport_restrict)
/* CPORT_IOC_ENTER before event flags: accepted, never writes back. */
#define CPORT_IOC_ENTER_V1	_IOW(CPORT_IOC_MAGIC, 0x02, struct cport_enter)

/* mmap() offsets of the regions of a port */
#define CPORT_OFF_SQ_RING	0ULL
#define CPORT_OFF_CQ_RING	0x8000000ULL
#define CPORT_OFF_SQES		0x10000000ULL
/* mmap() offset of the read-only struct cport_flag_page (one page) */
#define CPORT_OFF_FLAGS		0x18000000ULL

#endif /* _UAPI_CPORT_H */
