/* SPDX-License-Identifier: MIT */
/*
 * Passing a file descriptor to another process over a unix socket: one
 * byte of data that carries the fd as SCM_RIGHTS ancillary data. Holding an
 * fd to a port is what allows posting to it, so this is how a process that
 * did not inherit a port gets to post to it. Used by the post-process
 * example, and by the tests of posting from another process (libcport's
 * and the kselftests).
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_EXAMPLES_FD_PASS_H
#define CPORT_EXAMPLES_FD_PASS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* One byte of data, with room for one fd as ancillary data. */
struct fd_msg {
	char data;
	struct iovec iov;
	union {
		struct cmsghdr hdr;	/* aligns buf for CMSG_FIRSTHDR() */
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg;
};

static inline void fd_msg_init(struct fd_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->data = 'P';
	m->iov.iov_base = &m->data;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->u.buf;
	m->msg.msg_controllen = sizeof(m->u.buf);
}

/* Send @fd over the unix socket @sock: 0, or -1. */
static inline int send_fd(int sock, int fd)
{
	struct fd_msg m;
	struct cmsghdr *c;

	fd_msg_init(&m);
	c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m.msg, 0) == 1 ? 0 : -1;
}

/* Receive an fd sent with send_fd(), close-on-exec: the fd, or -1. */
static inline int recv_fd(int sock)
{
	struct fd_msg m;
	struct cmsghdr *c;
	int fd;

	fd_msg_init(&m);
	if (recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m.msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#endif /* CPORT_EXAMPLES_FD_PASS_H */
