/* SPDX-License-Identifier: MIT */
/*
 * Socket helpers shared by the network examples (echo-server, httpd) and
 * tools/bench/bench-net: a listening socket, a connect, a larger
 * descriptor limit, and - only while libcport lacks them - the socket op
 * helpers of libcport's API (cport_prep_accept() ... cport_cqe_buffer_id(),
 * the provided buffer ring calls).
 *
 * The Makefiles (examples/common.mk) define HAVE_CPORT_PREP_NET when
 * include/cport.h declares cport_prep_recv_multishot(), and
 * HAVE_CPORT_BUF_RING when it declares cport_setup_buf_ring(); with them
 * the stand-ins below drop out and the programs use the library's own,
 * which have the same names and arguments.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_EXAMPLES_NET_H
#define CPORT_EXAMPLES_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cport.h>

#ifndef HAVE_CPORT_PREP_NET
/* Stand-ins with the library's names: fill the SQE as the uAPI says. */
static inline void __net_prep(struct cport_sqe *sqe, uint8_t op, int fd)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
}

static inline void cport_prep_accept(struct cport_sqe *sqe, int fd,
				     struct sockaddr *addr,
				     socklen_t *addrlen, int flags)
{
	__net_prep(sqe, CPORT_OP_ACCEPT, fd);
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->addr2 = (uint64_t)(uintptr_t)addrlen;
	sqe->op_flags = flags;
}

static inline void cport_prep_multishot_accept(struct cport_sqe *sqe, int fd,
					       int flags)
{
	__net_prep(sqe, CPORT_OP_ACCEPT, fd);
	sqe->off = CPORT_NET_MULTISHOT;
	sqe->op_flags = flags;
}

static inline void cport_prep_send(struct cport_sqe *sqe, int fd,
				   const void *buf, size_t len, int flags)
{
	__net_prep(sqe, CPORT_OP_SEND, fd);
	sqe->addr = (uint64_t)(uintptr_t)buf;
	sqe->len = len;
	sqe->op_flags = flags;
}

static inline void cport_prep_recv(struct cport_sqe *sqe, int fd, void *buf,
				   size_t len, int flags)
{
	__net_prep(sqe, CPORT_OP_RECV, fd);
	sqe->addr = (uint64_t)(uintptr_t)buf;
	sqe->len = len;
	sqe->op_flags = flags;
}

static inline void cport_prep_recv_multishot(struct cport_sqe *sqe, int fd,
					     int group, int flags)
{
	__net_prep(sqe, CPORT_OP_RECV, fd);
	sqe->flags = CPORT_SQE_F_BUFFER_SELECT;
	sqe->buf_group = group;
	sqe->off = CPORT_NET_MULTISHOT;
	sqe->op_flags = flags;
}

static inline void cport_prep_shutdown(struct cport_sqe *sqe, int fd, int how)
{
	__net_prep(sqe, CPORT_OP_SHUTDOWN, fd);
	sqe->len = how;
}

static inline void cport_prep_close(struct cport_sqe *sqe, int fd)
{
	__net_prep(sqe, CPORT_OP_CLOSE, fd);
}

static inline int cport_cqe_buffer_id(const struct cport_cqe *cqe)
{
	if (!(cqe->flags & CPORT_CQE_F_BUFFER))
		return -1;
	return cqe->flags >> CPORT_CQE_BUFFER_SHIFT;
}
#endif /* !HAVE_CPORT_PREP_NET */

#ifndef HAVE_CPORT_BUF_RING
static inline size_t __net_buf_ring_size(unsigned int entries)
{
	size_t sz = sizeof(struct cport_buf_ring) +
		    entries * sizeof(struct cport_buf_entry);
	long page = sysconf(_SC_PAGESIZE);

	return (sz + page - 1) / page * page;
}

static inline int __net_buf_ring_reg(struct cport *port, unsigned int op,
				     struct cport_buf_reg *reg)
{
	struct cport_register r = {
		.op = op,
		.data = (uint64_t)(uintptr_t)reg,
	};

	return ioctl(port->ring_fd, CPORT_IOC_REGISTER, &r) ? -errno : 0;
}

/* A ring of @entries buffers for group @bgid, registered; NULL: *@err. */
static inline struct cport_buf_ring *
cport_setup_buf_ring(struct cport *port, unsigned int entries, int bgid,
		     int *err)
{
	struct cport_buf_reg reg = { .ring_entries = entries, .bgid = bgid };
	struct cport_buf_ring *br;
	int ret;

	br = mmap(NULL, __net_buf_ring_size(entries), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	ret = __net_buf_ring_reg(port, CPORT_REGISTER_BUF_RING, &reg);
	if (ret) {
		munmap(br, __net_buf_ring_size(entries));
		*err = ret;
		return NULL;
	}
	return br;
}

static inline int cport_free_buf_ring(struct cport *port,
				      struct cport_buf_ring *br,
				      unsigned int entries, int bgid)
{
	struct cport_buf_reg reg = { .bgid = bgid };
	int ret = __net_buf_ring_reg(port, CPORT_UNREGISTER_BUF_RING, &reg);

	munmap(br, __net_buf_ring_size(entries));
	return ret;
}

static inline int cport_buf_ring_mask(unsigned int entries)
{
	return entries - 1;
}

/* Fill entry tail + @offset; cport_buf_ring_advance() publishes it. */
static inline void cport_buf_ring_add(struct cport_buf_ring *br, void *addr,
				      unsigned int len, unsigned short bid,
				      int mask, int offset)
{
	struct cport_buf_entry *e = &br->bufs[(br->tail + offset) & mask];

	e->addr = (uint64_t)(uintptr_t)addr;
	e->len = len;
	e->bid = bid;
}

/* Publish @count added entries: pairs with the kernel's read of tail. */
static inline void cport_buf_ring_advance(struct cport_buf_ring *br,
					  int count)
{
	__atomic_store_n(&br->tail, br->tail + count, __ATOMIC_RELEASE);
}
#endif /* !HAVE_CPORT_BUF_RING */

/* A non-blocking TCP socket listening on 127.0.0.1:@port (0: any). */
static inline int net_listen(unsigned short port, int backlog,
			     struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    getsockname(fd, (struct sockaddr *)addr, &len) ||
	    listen(fd, backlog)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A blocking TCP connection to @addr with TCP_NODELAY; -errno. */
static inline int net_connect(const struct sockaddr_in *addr)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Raise the descriptor limit to @want (root may raise the hard one). */
static inline void net_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif /* CPORT_EXAMPLES_NET_H */
