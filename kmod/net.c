// SPDX-License-Identifier: GPL-2.0
/*
 * cport: socket ops: CPORT_OP_ACCEPT, CONNECT, SEND, RECV, SENDMSG,
 * RECVMSG, SHUTDOWN and CLOSE.
 *
 * Each op makes one non-blocking attempt when it is issued, in the
 * submitter. If the socket is not ready, the op waits for readiness on the
 * socket's wait queues (io.c), and each wake-up makes one more
 * non-blocking attempt: on the cport workqueue, acting as the submitter,
 * or, for an op that needs the submitter's file table or pid (->in_task,
 * see task.c), in a thread of the submitting process. No thread ever
 * sleeps on a socket, so every op can be cancelled at once.
 *
 * Multishot ACCEPT and RECV post one CQE with CPORT_CQE_F_MORE per
 * connection or arrival. They take a connection or data from the socket
 * only once a CQ slot is reserved for its CQE (cport_io_more_reserve());
 * without one they wait on ->pending_list and the connection, or the data,
 * stays in the socket.
 *
 * The ops call what the system calls call, except the LSM hooks the kernel
 * does not export to modules: security_socket_accept(), _connect() and
 * _shutdown() (Documentation/userspace-api.rst, "Sockets").
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/compat.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "compat.h"
#include "io.h"
#include "kbuf.h"
#include "net.h"
#include "opdef.h"
#include "register.h"

/* At most this many shots per run of a multishot op: others get a turn. */
#define CPORT_NET_SHOTS		32

/**
 * struct cport_net - a socket op
 * @io: the request (io.c).
 * @sock: the socket of @io.file.
 * @msg_flags: MSG_* of each attempt.
 * @waitall: MSG_WAITALL: go on after a partial transfer.
 * @dontwait: MSG_DONTWAIT: never wait.
 * @multishot: CPORT_NET_MULTISHOT.
 * @accept_flags: ACCEPT: O_NONBLOCK, O_CLOEXEC of the new file.
 * @uaddr: ACCEPT: where the peer's address goes, or NULL.
 * @uaddrlen: ACCEPT: its in/out length.
 * @addr: CONNECT, SENDMSG: the address, copied at submission; RECVMSG:
 *        the source address.
 * @addr_len: its length; SENDMSG: 0 without one.
 * @umsg: SENDMSG, RECVMSG: the user's struct msghdr.
 * @uname: RECVMSG: msg_name, or NULL.
 * @name_len: RECVMSG: msg_namelen at submission.
 * @ucontrol: RECVMSG: msg_control.
 * @control: SENDMSG: the ancillary data, copied at submission, or NULL.
 * @control_len: SENDMSG, RECVMSG: msg_controllen.
 * @offered: buffer select: bytes the last receive offered to take.
 * @fd: CLOSE: the descriptor.
 * @slot: CLOSE with CPORT_SQE_F_FIXED_FILE: the slot.
 * @fixed: CLOSE: @slot is valid.
 */
struct cport_net {
	struct cport_io			io;
	struct socket			*sock;
	unsigned int			msg_flags;
	bool				waitall;
	bool				dontwait;
	bool				multishot;
	int				accept_flags;
	struct sockaddr __user		*uaddr;
	int __user			*uaddrlen;
	struct sockaddr_storage		addr;
	int				addr_len;
	struct user_msghdr __user	*umsg;
	void __user			*uname;
	int				name_len;
	void __user			*ucontrol;
	void				*control;
	size_t				control_len;
	int				offered;
	int				fd;
	u32				slot;
	bool				fixed;
};

static struct cport_net *to_net(struct cport_io *io)
{
	return container_of(io, struct cport_net, io);
}

/* ->cleanup of a socket op. Context: process context. */
static void cport_net_cleanup(struct cport_io *io)
{
	struct cport_net *n = to_net(io);

	kfree(n->control);
}

static bool cport_net_is_send(u8 opcode)
{
	return opcode == CPORT_OP_SEND || opcode == CPORT_OP_SENDMSG;
}

/**
 * cport_net_prep() - check a socket op's SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for a field the op does not use, or a flag or
 * combination it does not take (see userspace-api.rst).
 */
int cport_net_prep(const struct cport_sqe *sqe)
{
	bool select = sqe->flags & CPORT_SQE_F_BUFFER_SELECT;
	bool fixed_buf = sqe->off & CPORT_NET_FIXED_BUF;

	switch (sqe->opcode) {
	case CPORT_OP_ACCEPT:
		if (sqe->len || (sqe->op_flags & ~CPORT_ACCEPT_FLAGS) ||
		    (sqe->off & ~CPORT_NET_MULTISHOT) ||
		    !sqe->addr != !sqe->addr2 ||
		    ((sqe->off & CPORT_NET_MULTISHOT) && sqe->addr))
			return -EINVAL;
		return 0;
	case CPORT_OP_CONNECT:
		if (sqe->off || sqe->op_flags || sqe->addr2 || !sqe->len ||
		    sqe->len > sizeof(struct sockaddr_storage))
			return -EINVAL;
		return 0;
	case CPORT_OP_SEND:
	case CPORT_OP_RECV:
		if (sqe->opcode == CPORT_OP_SEND ?
		    (sqe->op_flags & ~CPORT_SEND_MSG_FLAGS) ||
		    (sqe->off & ~CPORT_NET_FIXED_BUF) :
		    (sqe->op_flags & ~CPORT_RECV_MSG_FLAGS) ||
		    (sqe->off & ~(CPORT_NET_FIXED_BUF | CPORT_NET_MULTISHOT)))
			return -EINVAL;
		if (!fixed_buf && sqe->addr2)
			return -EINVAL;
		if (select && (sqe->addr || fixed_buf ||
			       (sqe->op_flags & (MSG_WAITALL | MSG_PEEK))))
			return -EINVAL;
		if ((sqe->off & CPORT_NET_MULTISHOT) && !select)
			return -EINVAL;
		return 0;
	case CPORT_OP_SENDMSG:
	case CPORT_OP_RECVMSG:
		if (sqe->off || sqe->len || sqe->addr2 || !sqe->addr ||
		    (sqe->op_flags & ~(sqe->opcode == CPORT_OP_SENDMSG ?
				       CPORT_SEND_MSG_FLAGS :
				       CPORT_RECV_MSG_FLAGS)))
			return -EINVAL;
		if (select && (sqe->op_flags & (MSG_WAITALL | MSG_PEEK)))
			return -EINVAL;
		return 0;
	case CPORT_OP_SHUTDOWN:
		if (sqe->off || sqe->addr || sqe->addr2 || sqe->op_flags ||
		    sqe->len > SHUT_RDWR)
			return -EINVAL;
		return 0;
	case CPORT_OP_CLOSE:
		if (sqe->off || sqe->addr || sqe->addr2 || sqe->op_flags ||
		    sqe->len)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* accept4()'s way of writing an address back. Context: process context. */
static int cport_net_put_addr(struct sockaddr_storage *kaddr, int klen,
			      void __user *uaddr, int __user *ulen)
{
	int len;

	if (get_user(len, ulen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min(len, klen);
	if (len && copy_to_user(uaddr, kaddr, len))
		return -EFAULT;
	return put_user(klen, ulen) ? -EFAULT : 0;
}

/*
 * Accept one connection into a new descriptor of the submitter, as
 * accept4() does, without blocking.
 * Context: a thread of the submitting process (the submitter, or task.c).
 * Return: the descriptor, or -errno (-EAGAIN: no connection).
 */
static int cport_net_accept_one(struct cport_net *n)
{
	struct socket *sock = n->sock, *newsock;
	struct sockaddr_storage addr;
	struct file *newfile;
	int fd, ret, len;

	newsock = sock_alloc();
	if (!newsock)
		return -ENFILE;
	newsock->type = sock->type;
	newsock->ops = sock->ops;
	__module_get(newsock->ops->owner);

	fd = get_unused_fd_flags(n->accept_flags & O_CLOEXEC);
	if (fd < 0) {
		sock_release(newsock);
		return fd;
	}
	/* On failure it releases @newsock. */
	newfile = sock_alloc_file(newsock, n->accept_flags & O_NONBLOCK,
				  sock->sk->sk_prot_creator->name);
	if (IS_ERR(newfile)) {
		put_unused_fd(fd);
		return PTR_ERR(newfile);
	}
	ret = cport_sock_accept(sock, newsock,
				n->io.file->f_flags | O_NONBLOCK);
	if (ret < 0)
		goto out_fput;
	if (n->uaddr) {
		len = newsock->ops->getname(newsock, (struct sockaddr *)&addr,
					    2);
		if (len < 0) {
			ret = -ECONNABORTED;
			goto out_fput;
		}
		ret = cport_net_put_addr(&addr, len, n->uaddr, n->uaddrlen);
		if (ret)
			goto out_fput;
	}
	fd_install(fd, newfile);
	return fd;

out_fput:
	fput(newfile);
	put_unused_fd(fd);
	return ret;
}

/* ACCEPT. Context: a thread of the submitting process. */
static int cport_net_accept(struct cport_io *io)
{
	return cport_net_accept_one(to_net(io));
}

/* Multishot ACCEPT. Context: a thread of the submitting process. */
static int cport_net_accept_multi(struct cport_io *io)
{
	struct cport_net *n = to_net(io);
	int i, ret;

	for (i = 0; i < CPORT_NET_SHOTS; i++) {
		/* The connection stays queued until its CQE has a slot. */
		if (!cport_io_more_reserve(io))
			return -EAGAIN;
		ret = cport_net_accept_one(n);
		if (ret < 0) {
			cport_io_more_unreserve(io);
			return ret;
		}
		cport_io_more_post(io, ret, 0);
	}
	/* Others get a turn; there may be more connections queued. */
	cport_io_again(io);
	return -EAGAIN;
}

/*
 * Is there data (or an end of file) to take? For buffer select with no
 * buffer left: a buffer is missed only if there is something to put in it.
 * Return: -ENOBUFS (data), 0 (end of file), -EAGAIN, or -errno.
 */
static int cport_net_probe(struct cport_net *n)
{
	struct msghdr msg = {};
	struct kvec kv;
	char c;
	int ret;

	kv.iov_base = &c;
	kv.iov_len = 1;
	ret = kernel_recvmsg(n->sock, &msg, &kv, 1, 1,
			     MSG_PEEK | MSG_DONTWAIT);
	return ret > 0 ? -ENOBUFS : ret;
}

/*
 * The user's struct msghdr of a RECVMSG, written back after a receive:
 * msg_namelen (with the address), msg_controllen and msg_flags, as
 * recvmsg() does.
 */
static int cport_net_recvmsg_done(struct cport_net *n, struct msghdr *msg,
				  void __user *control_start)
{
	struct user_msghdr __user *um = n->umsg;
	int ret;

	if (n->uname) {
		ret = cport_net_put_addr(&n->addr, msg->msg_namelen, n->uname,
					 &um->msg_namelen);
		if (ret)
			return ret;
	}
	if (put_user(msg->msg_flags & ~MSG_CMSG_COMPAT, &um->msg_flags))
		return -EFAULT;
	if (n->ucontrol &&
	    put_user((__kernel_size_t)(msg->msg_control_user - control_start),
		     &um->msg_controllen))
		return -EFAULT;
	return 0;
}

/*
 * One non-blocking receive (RECV, RECVMSG), into the op's buffers or a
 * provided buffer. Sets ->cqe_flags for a provided buffer it took.
 * Context: the submitter, a worker acting for it, or a thread of its
 * process (task.c).
 * Return: bytes received, 0 at end of file, or -errno (-EAGAIN: nothing).
 */
static int cport_net_recv_once(struct cport_net *n)
{
	struct cport_io *io = &n->io;
	void __user *control_start = n->ucontrol;
	struct msghdr msg = {};
	struct iovec iov;
	u16 bid;
	int ret;

	/* As recvmsg(): SCM_RIGHTS reads it here (scm_detach_fds()). */
	msg.msg_flags = n->msg_flags & MSG_CMSG_CLOEXEC;
	if (io->req.opcode == CPORT_OP_RECVMSG) {
		msg.msg_name = n->uname ? &n->addr : NULL;
		msg.msg_control_user = n->ucontrol;
		msg.msg_control_is_user = true;
		msg.msg_controllen = n->control_len;
	}
	if (!n->io.kbg) {
		msg.msg_iter = io->iter;
		ret = sock_recvmsg(n->sock, &msg, n->msg_flags);
		if (ret > 0)
			io->iter = msg.msg_iter;
		goto out;
	}

	ret = cport_kbuf_select(io, &iov, &bid);
	if (ret == -ENOBUFS) {
		/* No buffer: -ENOBUFS if data waits for one, 0 at EOF. */
		ret = cport_net_probe(n);
		goto out;
	}
	if (ret)
		goto out;
	iov_iter_init(&msg.msg_iter, READ, &iov, 1, iov.iov_len);
	n->offered = iov.iov_len;
	ret = sock_recvmsg(n->sock, &msg, n->msg_flags);
	/* Only a buffer data went into is taken. */
	cport_kbuf_done(io, bid, ret);
out:
	if (ret >= 0 && io->req.opcode == CPORT_OP_RECVMSG) {
		int err = cport_net_recvmsg_done(n, &msg, control_start);

		if (err)
			ret = err;
	}
	return ret;
}

/* One non-blocking send (SEND, SENDMSG). Context: as cport_net_recv_once. */
static int cport_net_send_once(struct cport_net *n)
{
	struct cport_io *io = &n->io;
	struct msghdr msg = {};
	int ret;

	if (n->addr_len) {
		msg.msg_name = &n->addr;
		msg.msg_namelen = n->addr_len;
	}
	if (n->control) {
		msg.msg_control = n->control;
		msg.msg_controllen = n->control_len;
	}
	msg.msg_flags = n->msg_flags;
	msg.msg_iter = io->iter;
	ret = sock_sendmsg(n->sock, &msg);
	if (ret > 0)
		io->iter = msg.msg_iter;
	return ret;
}

/*
 * One attempt of a one-shot SEND, RECV, SENDMSG or RECVMSG: completes on
 * the first transfer, or with MSG_WAITALL once everything is moved.
 * Context: as cport_net_recv_once.
 * Return: the CQE's res, or -EAGAIN to wait for readiness again.
 */
static int cport_net_xfer(struct cport_io *io)
{
	struct cport_net *n = to_net(io);
	int ret;

	if (cport_net_is_send(io->req.opcode))
		ret = cport_net_send_once(n);
	else
		ret = cport_net_recv_once(n);

	if (ret > 0 && n->waitall) {
		io->done += ret;
		if (iov_iter_count(&io->iter))
			return -EAGAIN;
		return io->done;
	}
	/* An end or an error after a partial transfer: report the bytes. */
	if (ret <= 0 && ret != -EAGAIN && io->done)
		return io->done;
	return ret;
}

/* Multishot RECV. Context: as cport_net_recv_once. */
static int cport_net_recv_multi(struct cport_io *io)
{
	struct cport_net *n = to_net(io);
	int i, ret;

	for (i = 0; i < CPORT_NET_SHOTS; i++) {
		/* The data stays in the socket until its CQE has a slot. */
		if (!cport_io_more_reserve(io))
			return -EAGAIN;
		io->cqe_flags = 0;
		ret = cport_net_recv_once(n);
		if (ret <= 0) {
			cport_io_more_unreserve(io);
			io->cqe_flags = 0;
			return ret;
		}
		cport_io_more_post(io, ret, io->cqe_flags);
		/*
		 * A stream gave less than the buffer holds: it is empty now,
		 * most likely. Arm the wait (which polls it once more) rather
		 * than try a receive that would find nothing.
		 */
		if (ret < n->offered && n->sock->type == SOCK_STREAM)
			return -EAGAIN;
	}
	/* Others get a turn; there may be more data. */
	cport_io_again(io);
	return -EAGAIN;
}

/*
 * A connect in progress: done once the socket is writable or failed. The
 * connect is called once more, as a blocking connect() ends, so that the
 * socket counts as connected (a later CONNECT: -EISCONN).
 * Context: a worker acting for the submitter, or a thread of its process.
 */
static int cport_net_connect_wait(struct cport_io *io)
{
	struct cport_net *n = to_net(io);
	__poll_t mask = vfs_poll(io->file, NULL);
	int ret;

	if (!(mask & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return -EAGAIN;
	ret = sock_error(n->sock->sk);
	if (ret)
		return ret;
	ret = kernel_connect(n->sock, (struct sockaddr *)&n->addr,
			     n->addr_len, O_NONBLOCK);
	switch (ret) {
	case -EISCONN:
		return 0;
	case -EALREADY:
	case -EINPROGRESS:
		return -EAGAIN;	/* not connected yet after all */
	default:
		return ret;
	}
}

/* CLOSE of a descriptor. Context: a thread of the submitting process. */
static int cport_net_close_fd(struct cport_io *io)
{
	struct cport_net *n = to_net(io);
	struct file *file = fget(n->fd);

	/* Closed and reused meanwhile: not the file this op was for. */
	if (file != io->file) {
		if (file)
			fput(file);
		return -EBADF;
	}
	fput(file);
	return close_fd(n->fd);
}

/*
 * Empty a registered file slot, if it still holds the file. Context:
 * process context; takes ->submit_lock unless @locked.
 */
static int cport_net_close_slot(struct cport_port *port, u32 slot,
				struct file *file, bool locked)
{
	struct cport_file_table *t;
	struct file *old = NULL;

	if (!locked)
		mutex_lock(&port->submit_lock);
	t = port->files;
	if (t && slot < t->nr) {
		slot = array_index_nospec(slot, t->nr);
		if (t->files[slot] == file) {
			old = file;
			t->files[slot] = NULL;
		}
	}
	if (!locked)
		mutex_unlock(&port->submit_lock);
	if (!old)
		return -EBADF;
	fput(old);
	return 0;
}

/* An ORDERED CLOSE of a slot, in its turn. Context: a worker. */
static int cport_net_close_fixed(struct cport_io *io)
{
	struct cport_net *n = to_net(io);

	return cport_net_close_slot(io->req.port, n->slot, io->file, false);
}

/* The events an op waits for. */
static __poll_t cport_net_events(u8 opcode)
{
	switch (opcode) {
	case CPORT_OP_CONNECT:
	case CPORT_OP_SEND:
	case CPORT_OP_SENDMSG:
		return EPOLLOUT | EPOLLWRNORM;
	default:
		return EPOLLIN | EPOLLRDNORM;
	}
}

/* The user buffers of a SEND or RECV. Context: the submitter's. */
static int cport_net_import(struct cport_port *port, struct cport_net *n,
			    const struct cport_sqe *sqe)
{
	int dir = sqe->opcode == CPORT_OP_SEND ? WRITE : READ;
	struct cport_io *io = &n->io;
	void __user *addr = u64_to_user_ptr(sqe->addr);
	size_t len = min_t(size_t, sqe->len, MAX_RW_COUNT);

	if (sqe->off & CPORT_NET_FIXED_BUF)
		return cport_buf_import(port, sqe, dir, &io->iter, &io->bufs);
	if (!access_ok(addr, len))
		return -EFAULT;
	io->fast_iov[0].iov_base = addr;
	io->fast_iov[0].iov_len = len;
	iov_iter_init(&io->iter, dir, io->fast_iov, 1, len);
	return 0;
}

/* The user's struct msghdr of a SENDMSG or RECVMSG, at submission. */
static int cport_net_import_msg(struct cport_net *n,
				const struct cport_sqe *sqe, bool select)
{
	bool send = sqe->opcode == CPORT_OP_SENDMSG;
	struct cport_io *io = &n->io;
	struct user_msghdr um;
	ssize_t ret;

	/* The 32-bit layout of struct msghdr is not supported. */
	if (in_compat_syscall())
		return -EOPNOTSUPP;
	n->umsg = u64_to_user_ptr(sqe->addr);
	if (copy_from_user(&um, n->umsg, sizeof(um)))
		return -EFAULT;
	/* As sendmsg() and recvmsg(): negative is wrong, too long is cut. */
	if (um.msg_namelen < 0)
		return -EINVAL;
	um.msg_namelen = min_t(int, um.msg_namelen,
			       sizeof(struct sockaddr_storage));
	if (um.msg_controllen > CPORT_NET_CONTROL_MAX)
		return -ENOBUFS;

	if (send && um.msg_name && um.msg_namelen) {
		if (copy_from_user(&n->addr, um.msg_name, um.msg_namelen))
			return -EFAULT;
		n->addr_len = um.msg_namelen;
	} else if (!send && um.msg_name) {
		n->uname = um.msg_name;
		n->name_len = um.msg_namelen;
	}
	n->control_len = um.msg_controllen;
	if (um.msg_controllen && send) {
		n->control = memdup_user(um.msg_control, um.msg_controllen);
		if (IS_ERR(n->control)) {
			ret = PTR_ERR(n->control);
			n->control = NULL;
			return ret;
		}
	} else if (um.msg_controllen) {
		n->ucontrol = um.msg_control;
	}

	if (select) {
		if (um.msg_iov || um.msg_iovlen)
			return -EINVAL;
		return 0;
	}
	if (um.msg_iovlen > UIO_MAXIOV)
		return -EMSGSIZE;
	return cport_io_import_iovec(io, send ? WRITE : READ, um.msg_iov,
				     um.msg_iovlen);
}

/*
 * The op needs a thread of the submitting process: it makes or takes
 * descriptors, or shows the sender's pid to the peer.
 */
static bool cport_net_in_task(struct cport_net *n, u8 opcode)
{
	switch (opcode) {
	case CPORT_OP_ACCEPT:
	case CPORT_OP_CLOSE:
		return true;
	case CPORT_OP_SEND:
	case CPORT_OP_SENDMSG:
		return n->control_len || n->sock->sk->sk_family == AF_UNIX;
	case CPORT_OP_RECVMSG:
		return n->control_len;
	default:
		return false;
	}
}

/* CLOSE. Context: process context, ->submit_lock held. */
static int cport_net_close_issue(struct cport_port *port,
				 const struct cport_sqe *sqe)
{
	bool ordered = sqe->flags & CPORT_SQE_F_ORDERED;
	bool fixed = sqe->flags & CPORT_SQE_F_FIXED_FILE;
	struct cport_net *n;
	struct file *file;

	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;
	if (cport_port_from_file(file) == port) {
		fput(file);
		return -EBADF;
	}
	if (fixed && !ordered) {
		fput(file);
		return cport_net_close_slot(port, sqe->fd, file, true);
	}
	/* The submitter itself, nothing to wait for: close it now. */
	if (!ordered && !port->issue_files) {
		fput(file);
		return close_fd(sqe->fd);
	}

	n = (struct cport_net *)cport_io_alloc_size(port, sqe, file,
						    sizeof(*n));
	if (!n) {
		fput(file);
		return -ENOMEM;
	}
	n->io.cleanup = cport_net_cleanup;
	n->fd = sqe->fd;
	n->slot = sqe->fd;
	n->fixed = fixed;
	n->io.in_task = !fixed;
	n->io.files = port->issue_files ?: current->files;
	if (cport_io_park(&n->io, fixed ? cport_net_close_fixed :
				  cport_net_close_fd, true))
		return CPORT_ISSUE_QUEUED;
	if (fixed) {
		cport_io_free(&n->io);
		return cport_net_close_slot(port, sqe->fd, file, true);
	}
	if (!port->issue_files) {
		int ret = cport_net_close_fd(&n->io);

		cport_io_free(&n->io);
		return ret;
	}
	return cport_io_start(&n->io, cport_net_close_fd, true, 0);
}

/* Fill in @n from the SQE. Context: the submitter's, ->submit_lock held. */
static int cport_net_setup(struct cport_port *port, struct cport_net *n,
			   const struct cport_sqe *sqe)
{
	bool select = sqe->flags & CPORT_SQE_F_BUFFER_SELECT;
	unsigned int flags = sqe->op_flags;

	n->multishot = sqe->off & CPORT_NET_MULTISHOT;
	/* Its wait stays armed from one attempt to the next (io.c). */
	n->io.keep_armed = n->multishot;
	switch (sqe->opcode) {
	case CPORT_OP_ACCEPT:
		n->accept_flags = flags;
		if (sqe->addr) {
			int len;

			n->uaddr = u64_to_user_ptr(sqe->addr);
			n->uaddrlen = u64_to_user_ptr(sqe->addr2);
			/* Checked now, as accept4() checks before it waits. */
			if (get_user(len, n->uaddrlen))
				return -EFAULT;
			if (len < 0)
				return -EINVAL;
		}
		return 0;
	case CPORT_OP_CONNECT:
		if (copy_from_user(&n->addr, u64_to_user_ptr(sqe->addr),
				   sqe->len))
			return -EFAULT;
		n->addr_len = sqe->len;
		return 0;
	case CPORT_OP_SHUTDOWN:
		return 0;
	default:
		break;
	}

	/* SEND, RECV, SENDMSG, RECVMSG */
	n->waitall = flags & MSG_WAITALL;
	n->dontwait = flags & MSG_DONTWAIT;
	n->msg_flags = (flags & ~MSG_WAITALL) | MSG_DONTWAIT;
	if (cport_net_is_send(sqe->opcode))
		n->msg_flags |= MSG_NOSIGNAL;
	if (select) {
		n->io.kbg = cport_kbuf_group_get(port, sqe->buf_group);
		if (!n->io.kbg)
			return -ENOENT;
		n->io.sel_len = min_t(u32, sqe->len, MAX_RW_COUNT);
	}
	if (sqe->opcode == CPORT_OP_SENDMSG || sqe->opcode == CPORT_OP_RECVMSG)
		return cport_net_import_msg(n, sqe, select);
	if (select)
		return 0;
	return cport_net_import(port, n, sqe);
}

/*
 * SEND or RECV of a plain user buffer, issued by the submitter itself and
 * on its own (not ORDERED, not in a chain, no MSG_WAITALL): its first
 * attempt needs no request. It is made here, on the stack; a request is
 * made only if the op has to wait for the socket.
 */
static bool cport_net_fast(struct cport_port *port,
			   const struct cport_sqe *sqe)
{
	if (sqe->opcode != CPORT_OP_SEND && sqe->opcode != CPORT_OP_RECV)
		return false;
	return !port->issue_files && !port->issue_chain && !sqe->off &&
	       !(sqe->flags & (CPORT_SQE_F_BUFFER_SELECT |
			       CPORT_SQE_F_ORDERED)) &&
	       !(sqe->op_flags & MSG_WAITALL);
}

/*
 * The one attempt of a cport_net_fast() op: as cport_net_xfer() would
 * make it, with the same flags.
 * Context: process context, the submitter's.
 * Return: the CQE's res, or -EAGAIN (not ready: the op waits).
 */
static int cport_net_fast_xfer(struct socket *sock,
			       const struct cport_sqe *sqe)
{
	void __user *addr = u64_to_user_ptr(sqe->addr);
	size_t len = min_t(size_t, sqe->len, MAX_RW_COUNT);
	unsigned int flags = sqe->op_flags | MSG_DONTWAIT;
	struct msghdr msg = {};
	struct iovec iov;

	if (!access_ok(addr, len))
		return -EFAULT;
	iov.iov_base = addr;
	iov.iov_len = len;
	if (sqe->opcode == CPORT_OP_SEND) {
		iov_iter_init(&msg.msg_iter, WRITE, &iov, 1, len);
		msg.msg_flags = flags | MSG_NOSIGNAL;
		return sock_sendmsg(sock, &msg);
	}
	/* RECV of 0 bytes: nothing to take, nothing to wait for. */
	if (!len)
		return 0;
	iov_iter_init(&msg.msg_iter, READ, &iov, 1, len);
	return sock_recvmsg(sock, &msg, flags);
}

/**
 * cport_net_issue() - start a socket op
 * @port: the port.
 * @sqe: kernel copy of the SQE, checked by cport_net_prep().
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context, ->submit_lock held: the submitter, or the
 * work of a chain or drain acting for it (port->issue_files set).
 * Return: res for an inline CQE, or CPORT_ISSUE_QUEUED.
 */
int cport_net_issue(struct cport_port *port, const struct cport_sqe *sqe,
		    unsigned int issue_flags)
{
	bool submitter = !port->issue_files;
	bool tried;
	struct cport_net *n;
	struct socket *sock;
	struct file *file;
	cport_io_fn fn;
	int ret;

	if (sqe->opcode == CPORT_OP_CLOSE)
		return cport_net_close_issue(port, sqe);

	file = cport_file_get(port, sqe);
	if (!file)
		return -EBADF;
	sock = sock_from_file(file);
	if (!sock) {
		fput(file);
		return -ENOTSOCK;
	}
	if (sqe->opcode == CPORT_OP_SHUTDOWN) {
		ret = kernel_sock_shutdown(sock, sqe->len);
		fput(file);
		return ret;
	}
	tried = cport_net_fast(port, sqe);
	if (tried) {
		ret = cport_net_fast_xfer(sock, sqe);
		if (ret != -EAGAIN || (sqe->op_flags & MSG_DONTWAIT)) {
			fput(file);
			return ret;
		}
	}

	n = (struct cport_net *)cport_io_alloc_size(port, sqe, file,
						    sizeof(*n));
	if (!n) {
		fput(file);
		return -ENOMEM;
	}
	n->io.cleanup = cport_net_cleanup;
	n->sock = sock;
	ret = cport_net_setup(port, n, sqe);
	if (ret)
		goto out_free;
	n->io.in_task = cport_net_in_task(n, sqe->opcode);
	/* The others save a worker when a thread of the submitter waits. */
	n->io.task_pref = !n->io.in_task;
	n->io.files = port->issue_files ?: current->files;

	switch (sqe->opcode) {
	case CPORT_OP_ACCEPT:
		fn = n->multishot ? cport_net_accept_multi : cport_net_accept;
		break;
	case CPORT_OP_CONNECT:
		fn = cport_net_connect_wait;
		break;
	case CPORT_OP_RECV:
		fn = n->multishot ? cport_net_recv_multi : cport_net_xfer;
		break;
	default:
		fn = cport_net_xfer;
		break;
	}

	/* RECV of 0 bytes: nothing to take, nothing to wait for. */
	if (sqe->opcode == CPORT_OP_RECV && !n->io.kbg &&
	    !iov_iter_count(&n->io.iter)) {
		ret = 0;
		goto out_free;
	}
	/*
	 * An ORDERED op behind another on the socket starts when that ends;
	 * then, if the socket is not ready, it waits for these events.
	 */
	if (!n->dontwait)
		n->io.poll_events = cport_net_events(sqe->opcode);
	if (cport_io_park(&n->io, fn, true))
		return CPORT_ISSUE_QUEUED;

	if (sqe->opcode == CPORT_OP_CONNECT) {
		ret = kernel_connect(sock, (struct sockaddr *)&n->addr,
				     n->addr_len, O_NONBLOCK);
		if (ret != -EINPROGRESS)
			goto out_free;
	} else if (!n->multishot && !tried && (submitter || !n->io.in_task)) {
		/* The first attempt, here and now. */
		ret = fn(&n->io);
		if (ret == -EAGAIN && n->dontwait && n->io.done)
			ret = n->io.done;	/* MSG_WAITALL, partial */
		if (ret != -EAGAIN || n->dontwait)
			return cport_io_complete(&n->io, ret);
	} else if (n->dontwait) {
		/* One attempt where it may run: the worker or task.c. */
		return cport_io_start(&n->io, fn, true, 0);
	}
	/* No thread sleeps on a socket: wait for it to be ready. */
	return cport_io_start(&n->io, fn, true, cport_net_events(sqe->opcode));

out_free:
	cport_io_free(&n->io);	/* drops the file too */
	return ret;
}
