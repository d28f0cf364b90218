// SPDX-License-Identifier: GPL-2.0
/*
 * The socket ops (CPORT_FEAT_NET): ACCEPT, CONNECT, SEND, RECV, SENDMSG,
 * RECVMSG, SHUTDOWN and CLOSE, and provided buffer rings
 * (CPORT_REGISTER_BUF_RING, CPORT_SQE_F_BUFFER_SELECT), tested against the
 * "Sockets" section of Documentation/userspace-api.rst: TCP over IPv4 and
 * IPv6 loopback, UDP, AF_UNIX stream and datagram; data integrity,
 * partial sends, end of file, resets, half-close, MSG_* flags, ancillary
 * data, multishot ACCEPT and RECV, a full CQ, cancellation races, teardown
 * with ops pending, a thousand connections, and every error path.
 *
 * The SQEs are filled from the uAPI alone (no libcport). No timing decides
 * a result: quiet_for() only checks that nothing arrives that must not.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/sockios.h>

#include "cport_test.h"

#define WAIT_NS		(20 * NSEC_PER_SEC)
#define MORE		CPORT_CQE_F_MORE
#define FBUF		CPORT_CQE_F_BUFFER
#define BSHIFT		CPORT_CQE_BUFFER_SHIFT
#define NOFEAT_MSG	"cport.ko without CPORT_FEAT_NET"

/* Push and submit one SQE; ASSERTs it was consumed. */
#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(0, sq_push((pt), &__s));				\
	ASSERT_EQ(1, sys_enter((pt)->fd, 1, 0, 0, 0));			\
} while (0)

/*
 * Reap the next CQE, waiting up to WAIT_NS in all: unlike cq_wait(), an
 * ENTER that keeps returning without a CQE (a thread woken to run task
 * work) cannot make it wait forever. Counts those returns.
 */
static unsigned long enter_empty_returns;

/*
 * CQEs net_run_one() reaped while it looked for its own: the CQEs of two
 * ops that complete at about the same time come in either order (a RECV
 * woken by the inline SEND of the same ENTER may post first). They are
 * handed out first, in order, by cq_wait_dl().
 */
static struct cport_cqe held[16];
static unsigned int nr_held;

static int cq_wait_dl(struct port *pt, struct cport_cqe *out, __u64 ns)
{
	__u64 end = now_ns(CLOCK_MONOTONIC) + ns, now;
	int ret;

	if (nr_held) {
		*out = held[0];
		memmove(held, held + 1, --nr_held * sizeof(held[0]));
		return 0;
	}
	for (;;) {
		if (cq_pop(pt, out))
			return 0;
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= end)
			return -ETIME;
		ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, end - now);
		if (ret >= 0 && !cq_ready(pt))
			enter_empty_returns++;
		if (ret < 0 && ret != -EINTR && !cq_ready(pt))
			return ret;
	}
}

#define NEXT(pt, c) ASSERT_EQ(0, cq_wait_dl((pt), (c), WAIT_NS))	\
	TH_LOG("no CQE in %llu s; %lu ENTERs returned without one",	\
	       WAIT_NS / NSEC_PER_SEC, enter_empty_returns)

/*
 * run_one() of cport_test.h with the bounded wait of cq_wait_dl(); the
 * CQE's flags must be @flags.
 */
static int net_run_one_flags(struct __test_metadata *_metadata,
			     struct port *pt, struct cport_sqe s, __u32 flags)
{
	struct cport_cqe c, other[16];
	unsigned int nr_other = 0, i;

	if (sq_submit_one(pt, &s) != 1)
		return INT_MIN;
	for (;;) {
		if (cq_wait_dl(pt, &c, WAIT_NS)) {
			TH_LOG("opcode %u: no CQE in %llu s; %lu ENTERs returned without one",
			       s.opcode, WAIT_NS / NSEC_PER_SEC,
			       enter_empty_returns);
			return INT_MIN + 1;
		}
		if (c.user_data == s.user_data ||
		    nr_other + nr_held == ARRAY_SIZE(held))
			break;
		other[nr_other++] = c;	/* another op's: keep it for later */
	}
	for (i = 0; i < nr_other; i++)
		held[nr_held++] = other[i];
	EXPECT_EQ(s.user_data, c.user_data);
	EXPECT_EQ(flags, c.flags);
	return c.res;
}

static int net_run_one(struct __test_metadata *_metadata, struct port *pt,
		       struct cport_sqe s)
{
	return net_run_one_flags(_metadata, pt, s, 0);
}

static int net_reap_n(struct port *pt, struct cport_cqe *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (cq_wait_dl(pt, &c[i], WAIT_NS))
			return i;
	return n;
}

/* Reap the next CQE and check all of it. */
#define EXPECT_CQE(pt, ud, r, fl) do {					\
	struct cport_cqe __c;						\
	NEXT((pt), &__c);						\
	EXPECT_EQ((__u64)(ud), __c.user_data);				\
	EXPECT_EQ((__s32)(r), __c.res);					\
	EXPECT_EQ((__u32)(fl), __c.flags);				\
} while (0)

/* The port has CPORT_FEAT_NET, else the fixture skips. */
#define NET_SETUP_PORT(pt, sq, cq) do {					\
	(pt)->fd = -1;							\
	if (!cport_present())						\
		SKIP(return, CPORT_SKIP_MSG);				\
	ASSERT_EQ(0, port_init((pt), (sq), (cq), 0));			\
	if (!((pt)->p.features & CPORT_FEAT_NET))			\
		SKIP(return, NOFEAT_MSG);				\
	sigpipe_count_start();						\
} while (0)

/* ----------------------------------------------------------------- */
/* SIGPIPE: sends never raise it */

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void sigpipe_count_start(void)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };

	sigpipes = 0;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ----------------------------------------------------------------- */
/* SQEs */

static struct cport_sqe sqe_net(__u8 op, int fd, const void *addr, __u32 len,
				__u32 op_flags, __u64 off, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = op, .fd = fd, .addr = (__u64)(uintptr_t)addr,
		.len = len, .op_flags = op_flags, .off = off,
		.user_data = user_data,
	};

	return s;
}

static struct cport_sqe sqe_send(int fd, const void *buf, __u32 len,
				 __u32 op_flags, __u64 user_data)
{
	return sqe_net(CPORT_OP_SEND, fd, buf, len, op_flags, 0, user_data);
}

static struct cport_sqe sqe_recv(int fd, void *buf, __u32 len,
				 __u32 op_flags, __u64 user_data)
{
	return sqe_net(CPORT_OP_RECV, fd, buf, len, op_flags, 0, user_data);
}

/* RECV with CPORT_SQE_F_BUFFER_SELECT from group @bgid (@off: multishot). */
static struct cport_sqe sqe_recv_bs(int fd, __u16 bgid, __u32 len,
				    __u64 off, __u64 user_data)
{
	struct cport_sqe s = sqe_net(CPORT_OP_RECV, fd, NULL, len, 0, off,
				     user_data);

	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = bgid;
	return s;
}

static struct cport_sqe sqe_accept(int fd, void *addr, socklen_t *alen,
				   __u32 op_flags, __u64 off, __u64 user_data)
{
	struct cport_sqe s = sqe_net(CPORT_OP_ACCEPT, fd, addr, 0, op_flags,
				     off, user_data);

	s.addr2 = (__u64)(uintptr_t)alen;
	return s;
}

static struct cport_sqe sqe_connect(int fd, const void *addr, socklen_t len,
				    __u64 user_data)
{
	return sqe_net(CPORT_OP_CONNECT, fd, addr, len, 0, 0, user_data);
}

static struct cport_sqe sqe_msg(__u8 op, int fd, struct msghdr *m,
				__u32 op_flags, __u64 user_data)
{
	return sqe_net(op, fd, m, 0, op_flags, 0, user_data);
}

static struct cport_sqe sqe_shutdown(int fd, int how, __u64 user_data)
{
	return sqe_net(CPORT_OP_SHUTDOWN, fd, NULL, how, 0, 0, user_data);
}

static struct cport_sqe sqe_close(int fd, __u64 user_data)
{
	return sqe_net(CPORT_OP_CLOSE, fd, NULL, 0, 0, 0, user_data);
}

static struct cport_sqe sqe_link_timeout(__u64 ns, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_LINK_TIMEOUT, .off = ns,
		.user_data = user_data,
	};

	return s;
}

static struct cport_sqe linked(struct cport_sqe s)
{
	s.flags |= CPORT_SQE_F_LINK;
	return s;
}

/* ----------------------------------------------------------------- */
/* sockets */

/* A loopback address of @family, port 0 (AF_UNIX: a new abstract name). */
static socklen_t loop_addr(int family, struct sockaddr_storage *ss)
{
	static int seq;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	{
		struct sockaddr_un *a = (struct sockaddr_un *)ss;
		int n;

		a->sun_family = AF_UNIX;
		n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
			     "cport-net.%d.%d", (int)getpid(), seq++);
		return offsetof(struct sockaddr_un, sun_path) + 1 + n;
	}
}

/* A socket bound to a loopback address, the address in *@ss, *@sl. */
static int bound_socket(int family, int type, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	*sl = loop_addr(family, ss);
	if (bind(fd, (struct sockaddr *)ss, *sl))
		goto err;
	*sl = sizeof(*ss);
	if (getsockname(fd, (struct sockaddr *)ss, sl))
		goto err;
	return fd;
err:
	err = -errno;
	close(fd);
	return err;
}

static int listener(int family, struct sockaddr_storage *ss, socklen_t *sl,
		    int backlog)
{
	int fd = bound_socket(family, SOCK_STREAM, ss, sl), err;

	if (fd >= 0 && listen(fd, backlog)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int listen_queue(int l);

/* accept4() that does not wait, whatever the listener's mode. */
static int accept_nb(int l)
{
	struct pollfd pfd = { .fd = l, .events = POLLIN };

	if (poll(&pfd, 1, 0) != 1) {
		errno = EAGAIN;
		return -1;
	}
	return accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* accept4() of a connection that is coming: waits up to 20 s. */
static int accept_wait(int l)
{
	struct pollfd pfd = { .fd = l, .events = POLLIN };

	if (poll(&pfd, 1, 20000) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Connect a new blocking socket to @ss: its fd or -errno. */
static int connect_to(int family, const struct sockaddr_storage *ss,
		      socklen_t sl)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, sl)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (family != AF_UNIX)
		nodelay(fd);
	return fd;
}

/* A connected stream pair: @s[0] the client, @s[1] the accepted socket. */
static int stream_pair(int family, int s[2])
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int l, err;

	if (family == AF_UNIX)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) ?
		       -errno : 0;
	l = listener(family, &ss, &sl, 4);
	if (l < 0)
		return l;
	s[0] = connect_to(family, &ss, sl);
	if (s[0] < 0) {
		close(l);
		return s[0];
	}
	s[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	err = s[1] < 0 ? -errno : 0;
	close(l);
	if (err)
		close(s[0]);
	else
		nodelay(s[1]);
	return err;
}

/* Two UDP sockets on loopback, each connected to the other if @conn. */
static int udp_pair(int family, int u[2], struct sockaddr_storage ss[2],
		    socklen_t sl[2], bool conn)
{
	int i;

	for (i = 0; i < 2; i++) {
		u[i] = bound_socket(family, SOCK_DGRAM, &ss[i], &sl[i]);
		if (u[i] < 0)
			return u[i];
	}
	if (conn && (connect(u[0], (struct sockaddr *)&ss[1], sl[1]) ||
		     connect(u[1], (struct sockaddr *)&ss[0], sl[0])))
		return -errno;
	return 0;
}

/* Bytes waiting in @fd's receive queue. */
static int inq(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -errno : n;
}

/* recv() on a descriptor that may be non-blocking: waits up to 20 s. */
static ssize_t recv_wait(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, 20000) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* Bytes @fd sent that its peer has not taken (TCP: not acknowledged). */
static int outq(int fd)
{
	int n = -1;

	return ioctl(fd, SIOCOUTQ, &n) ? -errno : n;
}

/* read() exactly @len bytes (blocking fd); bytes read. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

static void fill_random(void *buf, size_t len, __u64 *seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(xrand(seed) >> 56);
}

/* FNV-1a: the checksum the integrity tests compare. */
static __u64 csum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" :
	       family == AF_INET6 ? "IPv6" : "AF_UNIX";
}

/* Setup errors that mean the guest has no such transport. */
static bool no_transport(int err)
{
	return err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL ||
	       err == -EPROTONOSUPPORT;
}

/* ----------------------------------------------------------------- */
/* provided buffer rings */

struct bring {
	struct cport_buf_ring *ring;
	size_t ring_sz;
	__u32 entries;
	__u16 bgid;
	char *data;		/* buffer i at data + i * bsize */
	__u32 bsize;
	__u32 nbufs;
};

static int sys_register_raw(int fd, struct cport_register *r)
{
	return ioctl(fd, CPORT_IOC_REGISTER, r) < 0 ? -errno : 0;
}

static int buf_reg(int pfd, __u32 op, const struct cport_buf_reg *br)
{
	struct cport_register r = {
		.op = op, .data = (__u64)(uintptr_t)br,
	};

	return sys_register_raw(pfd, &r);
}

static int ring_register(int pfd, const void *ring, __u32 entries,
			 __u16 bgid)
{
	struct cport_buf_reg br = {
		.ring_addr = (__u64)(uintptr_t)ring, .ring_entries = entries,
		.bgid = bgid,
	};

	return buf_reg(pfd, CPORT_REGISTER_BUF_RING, &br);
}

static int ring_unregister(int pfd, __u16 bgid)
{
	struct cport_buf_reg br = { .bgid = bgid };

	return buf_reg(pfd, CPORT_UNREGISTER_BUF_RING, &br);
}

/* Hand buffer @bid back to the kernel (entry at the tail, then tail++). */
static void bring_add(struct bring *b, __u16 bid)
{
	__u32 tail = load_relaxed(&b->ring->tail);
	struct cport_buf_entry *e = &b->ring->bufs[tail & (b->entries - 1)];

	e->addr = (__u64)(uintptr_t)(b->data + (size_t)bid * b->bsize);
	e->len = b->bsize;
	e->bid = bid;
	e->resv = 0;
	store_release(&b->ring->tail, tail + 1);
}

/*
 * A ring of @entries entries, @nbufs buffers of @bsize bytes, the first
 * @fill of them added, registered as group @bgid of port @pfd: 0 or -errno.
 */
static int bring_init(struct bring *b, int pfd, __u16 bgid, __u32 entries,
		      __u32 nbufs, __u32 bsize, __u32 fill)
{
	__u32 i;
	int ret;

	memset(b, 0, sizeof(*b));
	b->entries = entries;
	b->bgid = bgid;
	b->bsize = bsize;
	b->nbufs = nbufs;
	b->ring_sz = sizeof(struct cport_buf_ring) +
		     (size_t)entries * sizeof(struct cport_buf_entry);
	b->ring = mmap(NULL, b->ring_sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b->data = mmap(NULL, (size_t)nbufs * bsize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->ring == MAP_FAILED || b->data == MAP_FAILED)
		return -ENOMEM;
	ret = ring_register(pfd, b->ring, entries, bgid);
	if (ret)
		return ret;
	for (i = 0; i < fill; i++)
		bring_add(b, i);
	return 0;
}

static void bring_free(struct bring *b)
{
	if (b->ring && b->ring != MAP_FAILED)
		munmap(b->ring, b->ring_sz);
	if (b->data && b->data != MAP_FAILED)
		munmap(b->data, (size_t)b->nbufs * b->bsize);
	b->ring = NULL;
	b->data = NULL;
}

static char *bring_buf(struct bring *b, __u32 bid)
{
	return b->data + (size_t)bid * b->bsize;
}

static __u32 cqe_bid(const struct cport_cqe *c)
{
	return c->flags >> BSHIFT;
}

/* ----------------------------------------------------------------- */
/* fixtures */

/* One port with room for a few dozen ops. */
FIXTURE(net) {
	struct port pt;
};

FIXTURE_SETUP(net)
{
	NET_SETUP_PORT(&self->pt, 64, 256);
}

FIXTURE_TEARDOWN(net)
{
	port_fini(&self->pt);
}

/* A connected stream pair of each family: s[0] and s[1]. */
FIXTURE(st) {
	struct port pt;
	int s[2];
};

FIXTURE_VARIANT(st) {
	int family;
};

FIXTURE_VARIANT_ADD(st, tcp4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(st, tcp6) { .family = AF_INET6 };
FIXTURE_VARIANT_ADD(st, unix) { .family = AF_UNIX };

FIXTURE_SETUP(st)
{
	int ret;

	self->s[0] = self->s[1] = -1;
	NET_SETUP_PORT(&self->pt, 64, 256);
	ret = stream_pair(variant->family, self->s);
	if (no_transport(ret))
		SKIP(return, "no %s loopback in this guest (%s)",
		     family_name(variant->family), strerror(-ret));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(st)
{
	if (self->s[0] >= 0)
		close(self->s[0]);
	if (self->s[1] >= 0)
		close(self->s[1]);
	port_fini(&self->pt);
}

/* A listening stream socket of each family. */
FIXTURE(acc) {
	struct port pt;
	int l;
	struct sockaddr_storage ss;
	socklen_t sl;
};

FIXTURE_VARIANT(acc) {
	int family;
};

FIXTURE_VARIANT_ADD(acc, tcp4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(acc, tcp6) { .family = AF_INET6 };
FIXTURE_VARIANT_ADD(acc, unix) { .family = AF_UNIX };

FIXTURE_SETUP(acc)
{
	self->l = -1;
	NET_SETUP_PORT(&self->pt, 64, 256);
	self->l = listener(variant->family, &self->ss, &self->sl, 64);
	if (no_transport(self->l))
		SKIP(return, "no %s loopback in this guest (%s)",
		     family_name(variant->family), strerror(-self->l));
	ASSERT_LE(0, self->l);
}

FIXTURE_TEARDOWN(acc)
{
	if (self->l >= 0)
		close(self->l);
	port_fini(&self->pt);
}

/*
 * A client socket of the acc fixture's family; AF_UNIX clients are bound
 * to an abstract name, so that the peer address has a length to truncate.
 */
static int acc_client(int family, const struct sockaddr_storage *ss,
		      socklen_t sl, struct sockaddr_storage *me,
		      socklen_t *mel)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (family == AF_UNIX) {
		*mel = loop_addr(AF_UNIX, me);
		if (bind(fd, (struct sockaddr *)me, *mel))
			goto err;
	}
	if (connect(fd, (const struct sockaddr *)ss, sl))
		goto err;
	*mel = sizeof(*me);
	if (getsockname(fd, (struct sockaddr *)me, mel))
		goto err;
	return fd;
err:
	close(fd);
	return -errno;
}

/* ----------------------------------------------------------------- */
/* ACCEPT */

/*
 * ACCEPT with each flag combination: res is the new descriptor, with
 * exactly the flags asked for, and the peer's address and its length are
 * written. The accept is submitted before the connect on odd rounds (its
 * later attempt runs in this thread, inside ENTER) and after it on even
 * ones (the first attempt, inline).
 */
TEST_F(acc, accept_fd_flags_and_peer_address)
{
	static const __u32 fl[] = {
		0, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_CLOEXEC | SOCK_NONBLOCK,
	};
	struct sockaddr_storage me, peer;
	struct cport_cqe c;
	socklen_t mel, alen;
	unsigned int i;
	int cl, fd;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2 * ARRAY_SIZE(fl); i++) {
		__u32 f = fl[i % ARRAY_SIZE(fl)];

		memset(&peer, 0xaa, sizeof(peer));
		alen = sizeof(peer);
		cl = -1;
		if (!(i & 1)) {
			cl = acc_client(variant->family, &self->ss, self->sl,
					&me, &mel);
			ASSERT_LE(0, cl);
		}
		SUBMIT(&self->pt, sqe_accept(self->l, &peer, &alen, f, 0,
					     0x100 + i));
		if (i & 1) {
			cl = acc_client(variant->family, &self->ss, self->sl,
					&me, &mel);
			ASSERT_LE(0, cl);
		}
		NEXT(&self->pt, &c);
		EXPECT_EQ(0x100 + i, c.user_data);
		EXPECT_EQ(0, c.flags);
		fd = c.res;
		ASSERT_LE(0, fd) TH_LOG("round %u: res %d", i, fd);
		EXPECT_EQ(!!(f & SOCK_CLOEXEC),
			  !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
		EXPECT_EQ(!!(f & SOCK_NONBLOCK),
			  !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
		/* The peer's address is the client's own. */
		EXPECT_EQ(mel, alen);
		EXPECT_EQ(0, memcmp(&me, &peer, mel));
		/* And the descriptor is the connection (maybe O_NONBLOCK). */
		EXPECT_EQ(1, write(cl, "a", 1));
		EXPECT_EQ(1, recv_wait(fd, &c, 1));
		close(fd);
		close(cl);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(acc, accept_without_address)
{
	int cl, fd;
	struct sockaddr_storage me;
	socklen_t mel;

	CPORT_SKIP_IF_ABSENT();
	cl = acc_client(variant->family, &self->ss, self->sl, &me, &mel);
	ASSERT_LE(0, cl);
	fd = net_run_one(_metadata, &self->pt,
		     sqe_accept(self->l, NULL, NULL, 0, 0, 1));
	ASSERT_LE(0, fd);
	close(fd);
	close(cl);
}

/* The address is cut to the size given; the length says the real one. */
TEST_F(acc, accept_address_truncated)
{
	struct sockaddr_storage me;
	unsigned char peer[sizeof(struct sockaddr_storage)];
	socklen_t mel, alen = 4;
	unsigned int i;
	int cl, fd;

	CPORT_SKIP_IF_ABSENT();
	cl = acc_client(variant->family, &self->ss, self->sl, &me, &mel);
	ASSERT_LE(0, cl);
	ASSERT_LT(4, mel);
	memset(peer, 0xaa, sizeof(peer));
	fd = net_run_one(_metadata, &self->pt,
		     sqe_accept(self->l, peer, &alen, 0, 0, 1));
	ASSERT_LE(0, fd);
	EXPECT_EQ(mel, alen);
	EXPECT_EQ(0, memcmp(peer, &me, 4));
	for (i = 4; i < sizeof(peer); i++)
		if (peer[i] != 0xaa)
			break;
	EXPECT_EQ(sizeof(peer), i) TH_LOG("byte %u written past the size", i);
	close(fd);
	close(cl);
}

/*
 * Multishot: one CQE with MORE per connection, each a distinct working
 * descriptor; a cancel ends it with a terminal -ECANCELED.
 */
TEST_F(acc, multishot_accept_n_connections_then_cancel)
{
	const int n = 8;
	int cl[8], got[8], i, j, seen = 0;
	struct sockaddr_storage me;
	struct cport_cqe c;
	socklen_t mel;
	char b;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_accept(self->l, NULL, NULL, SOCK_CLOEXEC,
				     CPORT_NET_MULTISHOT, 0x77));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	for (i = 0; i < n; i++) {
		cl[i] = acc_client(variant->family, &self->ss, self->sl, &me,
				   &mel);
		ASSERT_LE(0, cl[i]);
		b = (char)i;
		ASSERT_EQ(1, write(cl[i], &b, 1));
	}
	for (i = 0; i < n; i++) {
		NEXT(&self->pt, &c);
		EXPECT_EQ(0x77, c.user_data);
		EXPECT_EQ(MORE, c.flags);
		ASSERT_LE(0, c.res);
		got[i] = c.res;
		EXPECT_TRUE(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		ASSERT_EQ(1, recv(got[i], &b, 1, 0));
		ASSERT_LE(0, b);
		ASSERT_GT(n, b);
		EXPECT_FALSE(seen & (1 << b));
		seen |= 1 << b;
		for (j = 0; j < i; j++)
			EXPECT_NE(got[j], got[i]);
	}
	EXPECT_EQ((1 << n) - 1, seen);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	SUBMIT(&self->pt, sqe_cancel(0x77, 0, 0x78));
	EXPECT_CQE(&self->pt, 0x77, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0x78, 0, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	/* Cancelled: a new connection stays in the listen queue. */
	j = acc_client(variant->family, &self->ss, self->sl, &me, &mel);
	ASSERT_LE(0, j);
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	close(j);
	for (i = 0; i < n; i++) {
		close(got[i]);
		close(cl[i]);
	}
}

/* The op holds the listening socket: closing the descriptor does not end it. */
TEST_F(acc, multishot_accept_outlives_listener_descriptor)
{
	struct sockaddr_storage me;
	struct cport_cqe c;
	socklen_t mel;
	int cl, i;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_accept(self->l, NULL, NULL, 0,
				     CPORT_NET_MULTISHOT, 5));
	close(self->l);
	self->l = -1;
	for (i = 0; i < 3; i++) {
		cl = acc_client(variant->family, &self->ss, self->sl, &me,
				&mel);
		ASSERT_LE(0, cl);
		NEXT(&self->pt, &c);
		EXPECT_EQ(5, c.user_data);
		EXPECT_EQ(MORE, c.flags);
		ASSERT_LE(0, c.res);
		close(c.res);
		close(cl);
	}
	SUBMIT(&self->pt, sqe_cancel(5, 0, 6));
	EXPECT_CQE(&self->pt, 5, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 6, 0, 0);
}

/* CPORT_CANCEL_FD on the listening socket ends a pending accept. */
TEST_F(acc, accept_cancel_by_fd)
{
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_accept(self->l, NULL, NULL, 0, 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	s = sqe_cancel(0, CPORT_CANCEL_FD, 2);
	s.fd = self->l;
	SUBMIT(&self->pt, s);
	EXPECT_CQE(&self->pt, 1, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 2, 0, 0);
}

/*
 * An address that cannot be written: -EFAULT, and the new socket is
 * closed (the client sees the connection end).
 */
TEST_F(acc, accept_address_fault_closes_new_socket)
{
	struct sockaddr_storage me;
	socklen_t mel, alen = sizeof(struct sockaddr_storage);
	struct pollfd pfd;
	void *bad;
	char b;
	int cl;

	CPORT_SKIP_IF_ABSENT();
	bad = fault_page();
	ASSERT_NE(NULL, bad);
	cl = acc_client(variant->family, &self->ss, self->sl, &me, &mel);
	ASSERT_LE(0, cl);
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, bad, &alen, 0, 0, 1)));
	pfd.fd = cl;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	b = 0;
	/* End of file, or a reset: the socket is gone, not kept. */
	if (recv(cl, &b, 1, MSG_DONTWAIT) != 0)
		EXPECT_EQ(ECONNRESET, errno);
	/* And nothing waits in the listen queue any more. */
	EXPECT_EQ(-EAGAIN, accept_nb(self->l) < 0 ?
			   -errno : 0);
	close(cl);
	munmap(bad, 4096);
}

TEST_F(acc, accept_addrlen_fault)
{
	struct sockaddr_storage peer;
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, &peer, bad, 0, 0, 1)));
	munmap(bad, 4096);
}

TEST_F(acc, accept_bad_fields_einval)
{
	struct sockaddr_storage peer;
	socklen_t alen = sizeof(peer), neg = (socklen_t)-1;
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	/* An unknown accept4() flag. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, NULL, NULL, O_APPEND, 0,
					      1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, NULL, NULL, 1, 0, 1)));
	/* addr without addr2, and the reverse. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, &peer, NULL, 0, 0, 2)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, NULL, &alen, 0, 0, 3)));
	/* A negative *addr2. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, &peer, &neg, 0, 0, 4)));
	/* Multishot with an address. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, &peer, &alen, 0,
					      CPORT_NET_MULTISHOT, 5)));
	/* Unknown off bits; FIXED_BUF means nothing to ACCEPT. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, NULL, NULL, 0, 1ULL << 7,
					      6)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(self->l, NULL, NULL, 0,
					      CPORT_NET_FIXED_BUF, 6)));
	/* len must be 0. */
	s = sqe_accept(self->l, NULL, NULL, 0, 0, 7);
	s.len = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* Buffer select is for RECV and RECVMSG. */
	s = sqe_accept(self->l, NULL, NULL, 0, 0, 8);
	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* buf_group without buffer select. */
	s = sqe_accept(self->l, NULL, NULL, 0, 0, 9);
	s.buf_group = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* The reserved tail. */
	s = sqe_accept(self->l, NULL, NULL, 0, 0, 10);
	s.resv2 = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(net, accept_not_listening_einval)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	fd = bound_socket(AF_INET, SOCK_STREAM, &ss, &sl);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_accept(fd, NULL, NULL, 0, 0, 1)));
	close(fd);
}

TEST_F(net, accept_datagram_socket_eopnotsupp)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	fd = bound_socket(AF_INET, SOCK_DGRAM, &ss, &sl);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, net_run_one(_metadata, &self->pt,
				       sqe_accept(fd, NULL, NULL, 0, 0, 1)));
	close(fd);
}

/* No descriptor left: -EMFILE, and the connection stays queued. */
TEST_F(net, accept_emfile)
{
	struct sockaddr_storage ss;
	struct rlimit old, rl;
	socklen_t sl;
	int l, cl, fd;

	CPORT_SKIP_IF_ABSENT();
	l = listener(AF_INET, &ss, &sl, 4);
	ASSERT_LE(0, l);
	cl = connect_to(AF_INET, &ss, sl);
	ASSERT_LE(0, cl);
	/* 0, 1 and 2 are open: with a limit of 3 no descriptor is free. */
	for (fd = 0; fd < 3; fd++)
		if (!fd_open(fd))
			ASSERT_EQ(fd, open("/dev/null", O_RDWR));
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	rl = old;
	rl.rlim_cur = 3;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	fd = net_run_one(_metadata, &self->pt, sqe_accept(l, NULL, NULL, 0, 0, 1));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(-EMFILE, fd);
	if (fd >= 0)
		close(fd);
	/* The listener may see the handshake's last ACK only now. */
	fd = accept_wait(l);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	close(cl);
	close(l);
}

/* ----------------------------------------------------------------- */
/* SEND and RECV on streams */

/*
 * Move @len bytes from @tx over @from to @rx over @to, both through the
 * port: a RECV with MSG_WAITALL, and SENDs resubmitted with the rest while
 * a SEND comes back short. Returns the RECV's res (INT_MIN: a wrong CQE).
 */
static int port_transfer(struct __test_metadata *_metadata, struct port *pt,
			 int from, int to, const char *tx, char *rx,
			 __u32 len)
{
	__u32 sent = 0;
	int got = INT_MIN;
	bool recv_done = false;
	struct cport_cqe c;
	struct cport_sqe s[2] = {
		sqe_recv(to, rx, len, MSG_WAITALL, 0x40),
		sqe_send(from, tx, len, 0, 0x50),
	};

	if (submit_n(pt, s, 2) != 2)
		return INT_MIN;
	while (!recv_done || sent < len) {
		if (cq_wait_dl(pt, &c, WAIT_NS))
			return INT_MIN;
		if (c.user_data == 0x50) {
			if (c.res <= 0 || (__u32)c.res > len - sent) {
				TH_LOG("SEND res %d with %u left", c.res,
				       len - sent);
				return INT_MIN;
			}
			sent += c.res;
			if (sent < len) {
				s[1] = sqe_send(from, tx + sent, len - sent, 0,
						0x50);
				if (sq_submit_one(pt, &s[1]) != 1)
					return INT_MIN;
			}
		} else if (c.user_data == 0x40 && !recv_done) {
			recv_done = true;
			got = c.res;
		} else {
			TH_LOG("unexpected CQE %llx res %d",
			       (unsigned long long)c.user_data, c.res);
			return INT_MIN;
		}
	}
	return got;
}

/* Random sizes both ways, each transfer checked byte for byte. */
TEST_F_TIMEOUT(st, send_recv_random_sizes_integrity, 120)
{
	const __u32 max = 256 * 1024;
	__u64 seed = 0x5eed0000ULL + variant->family, total = 0;
	char *tx, *rx;
	int i, rounds = 24 * stress_factor();

	CPORT_SKIP_IF_ABSENT();
	tx = malloc(max);
	rx = malloc(max);
	ASSERT_NE(NULL, tx);
	ASSERT_NE(NULL, rx);
	for (i = 0; i < rounds; i++) {
		__u32 len = 1 + (__u32)(xrand(&seed) %
					((i & 3) == 3 ? max : 4096));
		int from = self->s[i & 1], to = self->s[!(i & 1)];

		fill_random(tx, len, &seed);
		memset(rx, 0, len);
		ASSERT_EQ((int)len, port_transfer(_metadata, &self->pt, from,
						  to, tx, rx, len))
			TH_LOG("round %d, %u bytes", i, len);
		ASSERT_EQ(csum(tx, len), csum(rx, len))
			TH_LOG("round %d, %u bytes", i, len);
		ASSERT_EQ(0, memcmp(tx, rx, len));
		total += len;
	}
	TH_LOG("%d transfers, %llu bytes", rounds, (unsigned long long)total);
	EXPECT_EQ(0, inq(self->s[0]));
	EXPECT_EQ(0, inq(self->s[1]));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	free(tx);
	free(rx);
}

/* Reads @len bytes of @fd into @buf, in a thread. */
struct reader {
	pthread_t thr;
	int fd;
	char *buf;
	size_t len;
	ssize_t got;
	size_t progress;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	size_t got = 0;
	ssize_t n;

	while (got < r->len) {
		n = read(r->fd, r->buf + got, r->len - got);
		if (n <= 0)
			break;
		got += n;
		__atomic_store_n(&r->progress, got, __ATOMIC_RELAXED);
	}
	r->got = got;
	return NULL;
}

/*
 * A small send buffer. Not the receiver's: with a TCP receive buffer of
 * a few KiB, TCP itself crawls on persist-timer probes (a plain blocking
 * send() of 512 KiB took 22.5 s in the TCG guest, 0.02 s without).
 */
static void small_buffers(int snd, int rcv)
{
	int v = 4096;

	(void)rcv;
	setsockopt(snd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/*
 * A big SEND into a peer that does not read completes with what fit (a
 * short count); with MSG_WAITALL it waits, and completes with every byte
 * once the peer reads.
 */
TEST_F_TIMEOUT(st, partial_send_then_waitall_send, 120)
{
	const __u32 len = 512 * 1024;
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	__u64 seed = 42;
	struct reader r = { .fd = -1 };
	char *tx, *tx2;
	int first;

	CPORT_SKIP_IF_ABSENT();
	small_buffers(self->s[0], self->s[1]);
	tx = malloc(len);
	tx2 = malloc(len);
	r.buf = malloc(2 * (size_t)len);
	ASSERT_NE(NULL, tx);
	ASSERT_NE(NULL, tx2);
	ASSERT_NE(NULL, r.buf);
	fill_random(tx, len, &seed);
	fill_random(tx2, len, &seed);

	first = net_run_one(_metadata, &self->pt,
			sqe_send(self->s[0], tx, len, 0, 1));
	ASSERT_LT(0, first);
	ASSERT_GT((int)len, first) TH_LOG("a 512 KiB SEND fit in small buffers");

	SUBMIT(&self->pt, sqe_send(self->s[0], tx2, len, MSG_WAITALL, 2));
	/* The peer does not read: nothing can complete. */
	EXPECT_TRUE(quiet_for(&self->pt, 100));
	r.fd = self->s[1];
	r.len = (size_t)first + len;
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, reader_fn, &r));
	/* Fails only if the transfer stops moving for WAIT_NS. */
	{
		struct cport_cqe c;
		size_t seen = 0, now;
		int ret;

		for (;;) {
			ret = cq_wait_dl(&self->pt, &c, WAIT_NS);
			if (!ret)
				break;
			now = __atomic_load_n(&r.progress, __ATOMIC_RELAXED);
			ASSERT_NE(seen, now)
				TH_LOG("stalled: the peer read %zu of %zu bytes, no SEND CQE, nothing moved for %llu s",
				       now, r.len, WAIT_NS / NSEC_PER_SEC);
			seen = now;
		}
		EXPECT_EQ(2, c.user_data);
		EXPECT_EQ((int)len, c.res);
		EXPECT_EQ(0, c.flags);
	}
	pthread_join(r.thr, NULL);
	TH_LOG("first SEND %d bytes; the MSG_WAITALL one took %.1f s", first,
	       (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	ASSERT_EQ((ssize_t)r.len, r.got);
	EXPECT_EQ(0, memcmp(r.buf, tx, first));
	EXPECT_EQ(csum(tx2, len), csum(r.buf + first, len));
	EXPECT_EQ(0, sigpipes);
	free(tx);
	free(tx2);
	free(r.buf);
}

/*
 * CPORT_SQE_F_ORDERED sends on one socket: each starts when the one
 * before it ended, so big MSG_WAITALL sends do not interleave.
 */
TEST_F_TIMEOUT(st, ordered_sends_do_not_interleave, 120)
{
	const __u32 len = 192 * 1024;
	struct reader r = { .fd = -1 };
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	static char tx[3][192 * 1024];
	int i;

	CPORT_SKIP_IF_ABSENT();
	small_buffers(self->s[0], self->s[1]);
	for (i = 0; i < 3; i++) {
		memset(tx[i], 'A' + i, len);
		s[i] = sqe_send(self->s[0], tx[i], len, MSG_WAITALL, i + 1);
		s[i].flags = CPORT_SQE_F_ORDERED;
	}
	r.buf = malloc(3 * (size_t)len);
	ASSERT_NE(NULL, r.buf);
	r.fd = self->s[1];
	r.len = 3 * (size_t)len;
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, reader_fn, &r));
	ASSERT_EQ(3, net_reap_n(&self->pt, c, 3));
	/* All sends ended: the reader sees EOF if any came back short. */
	shutdown(self->s[0], SHUT_WR);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ((__u64)i + 1, c[i].user_data);
		EXPECT_EQ((int)len, c[i].res) TH_LOG("send %d", i + 1);
	}
	pthread_join(r.thr, NULL);
	ASSERT_EQ((ssize_t)r.len, r.got);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(csum(tx[i], len), csum(r.buf + (size_t)i * len, len))
			TH_LOG("send %d interleaved", i + 1);
	free(r.buf);
}

/*
 * An ORDERED RECV behind another one starts when that one ends, and then
 * waits for data like any RECV: it does not complete with -EAGAIN.
 */
TEST_F(st, ordered_recvs_each_wait_for_data)
{
	struct cport_sqe s[2];
	char a[4], b[4];

	CPORT_SKIP_IF_ABSENT();
	s[0] = sqe_recv(self->s[0], a, sizeof(a), 0, 1);
	s[1] = sqe_recv(self->s[0], b, sizeof(b), 0, 2);
	s[0].flags = s[1].flags = CPORT_SQE_F_ORDERED;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(1, write(self->s[1], "1", 1));
	EXPECT_CQE(&self->pt, 1, 1, 0);
	/* The second has started now; no data for it yet. */
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	ASSERT_EQ(1, write(self->s[1], "2", 1));
	EXPECT_CQE(&self->pt, 2, 1, 0);
	EXPECT_EQ('1', a[0]);
	EXPECT_EQ('2', b[0]);
}

/* len 0 completes at once with 0, SEND and RECV, data or not. */
TEST_F(st, zero_length_send_and_recv)
{
	char b[4];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_send(self->s[0], b, 0, 0, 1)));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, 0, 0, 2)));
	EXPECT_EQ(0, inq(self->s[1]));
	ASSERT_EQ(3, write(self->s[1], "abc", 3));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, 0, 0, 3)));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, 0, MSG_WAITALL, 4)));
	EXPECT_EQ(3, inq(self->s[0]));
}

/* A RECV waiting when the peer shuts down or closes: res 0. */
TEST_F(st, recv_eof_after_peer_shutdown_and_close)
{
	char b[16];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(0, shutdown(self->s[1], SHUT_WR));
	EXPECT_CQE(&self->pt, 1, 0, 0);
	/* Again, at once. */
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, sizeof(b), 0, 2)));
	/* The other way: the peer closes. */
	SUBMIT(&self->pt, sqe_recv(self->s[1], b, sizeof(b), 0, 3));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	close(self->s[0]);
	self->s[0] = -1;
	EXPECT_CQE(&self->pt, 3, 0, 0);
}

/* MSG_WAITALL and a shutdown before len: res is the count so far. */
TEST_F(st, recv_waitall_short_on_shutdown)
{
	char b[100];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), MSG_WAITALL, 1));
	ASSERT_EQ(10, write(self->s[1], "0123456789", 10));
	EXPECT_TRUE(quiet_for(&self->pt, 50));
	ASSERT_EQ(5, write(self->s[1], "abcde", 5));
	ASSERT_EQ(0, shutdown(self->s[1], SHUT_WR));
	EXPECT_CQE(&self->pt, 1, 15, 0);
	EXPECT_EQ(0, memcmp(b, "0123456789abcde", 15));
}

/* MSG_WAITALL cancelled after it moved bytes completes with their count. */
TEST_F(st, recv_waitall_cancelled_after_bytes)
{
	char b[100];
	int i;

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), MSG_WAITALL, 1));
	ASSERT_EQ(10, write(self->s[1], "0123456789", 10));
	/*
	 * Wait until the op has taken the bytes: delivered (nothing left
	 * unacknowledged or unread on the sender's side), then not in the
	 * receive queue either.
	 */
	for (i = 0; i < 20000 && (outq(self->s[1]) != 0 ||
				  inq(self->s[0]) != 0); i++)
		usleep(1000);
	ASSERT_EQ(0, outq(self->s[1]));
	ASSERT_EQ(0, inq(self->s[0]));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	SUBMIT(&self->pt, sqe_cancel(1, 0, 2));
	EXPECT_CQE(&self->pt, 1, 10, 0);
	EXPECT_CQE(&self->pt, 2, 0, 0);
	EXPECT_EQ(0, memcmp(b, "0123456789", 10));
}

/* The peer resets the connection: a waiting RECV gets -ECONNRESET. */
TEST_F(st, recv_peer_reset_econnreset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char b[16];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	if (variant->family == AF_UNIX) {
		/* AF_UNIX: closing with unread data resets the peer. */
		ASSERT_EQ(1, write(self->s[0], "u", 1));
	} else {
		ASSERT_EQ(0, setsockopt(self->s[1], SOL_SOCKET, SO_LINGER,
					&lg, sizeof(lg)));
	}
	close(self->s[1]);
	self->s[1] = -1;
	EXPECT_CQE(&self->pt, 1, -ECONNRESET, 0);
}

/* SHUTDOWN SHUT_WR: the peer sees EOF, data still flows the other way. */
TEST_F(st, shutdown_half_close)
{
	char b[16];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_shutdown(self->s[0], SHUT_WR, 1)));
	EXPECT_EQ(0, read(self->s[1], b, sizeof(b)));
	ASSERT_EQ(3, write(self->s[1], "xyz", 3));
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, sizeof(b), 0, 2)));
	EXPECT_EQ(0, memcmp(b, "xyz", 3));
	/* Writing after SHUT_WR: -EPIPE, and no SIGPIPE. */
	EXPECT_EQ(-EPIPE, net_run_one(_metadata, &self->pt,
				  sqe_send(self->s[0], "q", 1, 0, 3)));
	EXPECT_EQ(0, sigpipes);
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_shutdown(self->s[0], SHUT_RD, 4)));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_shutdown(self->s[0], SHUT_RDWR, 5)));
}

TEST_F(st, shutdown_bad_how_einval)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_shutdown(self->s[0], 3, 1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_shutdown(self->s[0], -1, 2)));
}

/* A send on a socket shut down for writing: -EPIPE, never SIGPIPE. */
TEST_F(st, send_epipe_no_sigpipe)
{
	sigset_t pending;

	CPORT_SKIP_IF_ABSENT();
	/* Default action: a SIGPIPE would show as pending while blocked. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&pending);
	sigaddset(&pending, SIGPIPE);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &pending, NULL));
	ASSERT_EQ(0, shutdown(self->s[0], SHUT_WR));
	EXPECT_EQ(-EPIPE, net_run_one(_metadata, &self->pt,
				  sqe_send(self->s[0], "abc", 3, 0, 1)));
	EXPECT_EQ(-EPIPE, net_run_one(_metadata, &self->pt,
				  sqe_send(self->s[0], "abc", 3, MSG_WAITALL,
					   2)));
	sigemptyset(&pending);
	ASSERT_EQ(0, sigpending(&pending));
	EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

/* MSG_DONTWAIT: one attempt, -EAGAIN instead of waiting. */
TEST_F(st, dontwait_eagain)
{
	static char big[65536];
	int i, r = 0;
	char b[8];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EAGAIN, net_run_one(_metadata, &self->pt,
				   sqe_recv(self->s[0], b, sizeof(b),
					    MSG_DONTWAIT, 1)));
	small_buffers(self->s[0], self->s[1]);
	for (i = 0; i < 1000; i++) {
		r = net_run_one(_metadata, &self->pt,
			    sqe_send(self->s[0], big, sizeof(big),
				     MSG_DONTWAIT, 2));
		if (r <= 0)
			break;
	}
	EXPECT_EQ(-EAGAIN, r);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* MSG_PEEK leaves the data; the next RECV takes the same bytes. */
TEST_F(st, recv_peek)
{
	char a[16] = "", b[16] = "";

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(8, write(self->s[1], "peekdata", 8));
	EXPECT_EQ(8, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], a, sizeof(a), MSG_PEEK, 1)));
	EXPECT_EQ(8, inq(self->s[0]));
	EXPECT_EQ(8, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, sizeof(b), 0, 2)));
	EXPECT_EQ(0, memcmp(a, "peekdata", 8));
	EXPECT_EQ(0, memcmp(b, "peekdata", 8));
	EXPECT_EQ(0, inq(self->s[0]));
}

/* A RECV waiting for data gets it when it comes, at most len bytes. */
TEST_F(st, recv_waits_then_takes_at_most_len)
{
	char b[4];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	ASSERT_EQ(6, write(self->s[1], "abcdef", 6));
	EXPECT_CQE(&self->pt, 1, 4, 0);
	EXPECT_EQ(0, memcmp(b, "abcd", 4));
	EXPECT_EQ(2, inq(self->s[0]));
}

/* SENDMSG and RECVMSG gather and scatter over unequal iovecs. */
TEST_F(st, sendmsg_recvmsg_scatter_gather)
{
	static const size_t tl[] = { 100, 1, 3000, 17 };
	static const size_t rl[] = { 7, 2000, 50, 1044, 17 };
	char tx[3118], rx[3118];
	struct iovec tiov[4], riov[5];
	struct msghdr tm = { .msg_iov = tiov, .msg_iovlen = 4 };
	struct msghdr rm = { .msg_iov = riov, .msg_iovlen = 5 };
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	size_t off = 0;
	__u64 seed = 7;
	int i;

	CPORT_SKIP_IF_ABSENT();
	fill_random(tx, sizeof(tx), &seed);
	memset(rx, 0, sizeof(rx));
	for (i = 0; i < 4; i++) {
		tiov[i].iov_base = tx + off;
		tiov[i].iov_len = tl[i];
		off += tl[i];
	}
	ASSERT_EQ(sizeof(tx), off);
	for (off = 0, i = 0; i < 5; i++) {
		riov[i].iov_base = rx + off;
		riov[i].iov_len = rl[i];
		off += rl[i];
	}
	ASSERT_EQ(sizeof(rx), off);
	rm.msg_flags = 0x7fff;	/* written back */
	s[0] = sqe_msg(CPORT_OP_RECVMSG, self->s[1], &rm, MSG_WAITALL, 1);
	s[1] = sqe_msg(CPORT_OP_SENDMSG, self->s[0], &tm, 0, 2);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, net_reap_n(&self->pt, c, 2));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ((int)sizeof(tx), c[i].res);
		EXPECT_EQ(0, c[i].flags);
	}
	EXPECT_EQ(0, memcmp(tx, rx, sizeof(tx)));
	EXPECT_EQ(0, rm.msg_flags);
	EXPECT_EQ(0, rm.msg_controllen);
}

/* The op holds the socket: closing the descriptor does not end a RECV. */
TEST_F(st, recv_outlives_descriptor)
{
	char b[8];
	int dup_fd;

	CPORT_SKIP_IF_ABSENT();
	dup_fd = dup(self->s[0]);
	ASSERT_LE(0, dup_fd);
	SUBMIT(&self->pt, sqe_recv(dup_fd, b, sizeof(b), 0, 1));
	close(dup_fd);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(2, write(self->s[1], "hi", 2));
	EXPECT_CQE(&self->pt, 1, 2, 0);
}

TEST_F(st, recv_cancel_by_user_data_and_fd)
{
	struct cport_sqe s;
	char b[8];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->s[0], b, sizeof(b), 0, 1));
	SUBMIT(&self->pt, sqe_recv(self->s[1], b, sizeof(b), 0, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	SUBMIT(&self->pt, sqe_cancel(1, 0, 3));
	EXPECT_CQE(&self->pt, 1, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 3, 0, 0);
	s = sqe_cancel(0, CPORT_CANCEL_FD, 4);
	s.fd = self->s[1];
	SUBMIT(&self->pt, s);
	EXPECT_CQE(&self->pt, 2, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 4, 0, 0);
	/* Nothing was taken from the sockets. */
	ASSERT_EQ(1, write(self->s[1], "z", 1));
	EXPECT_EQ(1, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->s[0], b, sizeof(b), 0, 5)));
}

/* ----------------------------------------------------------------- */
/* SENDMSG and RECVMSG with SCM_RIGHTS (AF_UNIX) */

union cmsg_fd {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static void msg_with_fd(struct msghdr *m, struct iovec *iov, void *data,
			size_t len, union cmsg_fd *cb, int fd)
{
	struct cmsghdr *cm;

	memset(m, 0, sizeof(*m));
	memset(cb, 0, sizeof(*cb));
	iov->iov_base = data;
	iov->iov_len = len;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_control = cb->buf;
	m->msg_controllen = sizeof(cb->buf);
	if (fd < 0)
		return;
	cm = CMSG_FIRSTHDR(m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}

/* The descriptor an SCM_RIGHTS message carried, or -1. */
static int msg_fd(struct msghdr *m)
{
	struct cmsghdr *cm = CMSG_FIRSTHDR(m);
	int fd;

	if (!cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A descriptor received into the table works: it is the pipe's end. */
static void check_passed_pipe(struct __test_metadata *_metadata, int fd,
			      int rd)
{
	char b = 0;

	ASSERT_LE(0, fd);
	EXPECT_EQ(1, write(fd, "P", 1));
	EXPECT_EQ(1, read(rd, &b, 1));
	EXPECT_EQ('P', b);
}

/* Both ends through the port, the data there before the RECVMSG. */
TEST_F(net, scm_rights_sendmsg_recvmsg)
{
	struct msghdr tm, rm;
	struct iovec tiov, riov;
	union cmsg_fd tcb, rcb;
	char rx[8] = "";
	int sp[2], p[2], fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	msg_with_fd(&tm, &tiov, "fd!", 3, &tcb, p[1]);
	msg_with_fd(&rm, &riov, rx, sizeof(rx), &rcb, -1);
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
			     sqe_msg(CPORT_OP_SENDMSG, sp[0], &tm, 0, 1)));
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
			     sqe_msg(CPORT_OP_RECVMSG, sp[1], &rm,
				     MSG_CMSG_CLOEXEC, 2)));
	EXPECT_EQ(0, memcmp(rx, "fd!", 3));
	EXPECT_EQ(CMSG_SPACE(sizeof(int)), rm.msg_controllen);
	/* As recvmsg(2) writes it: the flag asked for comes back. */
	EXPECT_EQ(MSG_CMSG_CLOEXEC, rm.msg_flags);
	fd = msg_fd(&rm);
	EXPECT_NE(p[1], fd);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	check_passed_pipe(_metadata, fd, p[0]);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/*
 * RECVMSG submitted before the data: its later attempt needs a thread of
 * this process in ENTER. Another thread waits in ENTER; the data comes
 * from a plain sendmsg(); the waiter is woken and the descriptor lands in
 * the table.
 */
TEST_F(net, scm_rights_recvmsg_before_data_waiter_runs_it)
{
	struct msghdr tm, rm;
	struct iovec tiov, riov;
	union cmsg_fd tcb, rcb;
	struct enter_waiter w;
	struct cport_cqe c;
	char rx[8] = "";
	int sp[2], p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	msg_with_fd(&rm, &riov, rx, sizeof(rx), &rcb, -1);
	SUBMIT(&self->pt, sqe_msg(CPORT_OP_RECVMSG, sp[1], &rm, 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(0, enter_waiter_start(&w, self->pt.fd, WAIT_NS));
	/* Whether it sleeps yet or enters later, it runs the attempt. */
	usleep(20000);
	msg_with_fd(&tm, &tiov, "late", 4, &tcb, p[1]);
	ASSERT_EQ(4, sendmsg(sp[0], &tm, 0));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(4, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(0, memcmp(rx, "late", 4));
	EXPECT_EQ(CMSG_SPACE(sizeof(int)), rm.msg_controllen);
	check_passed_pipe(_metadata, msg_fd(&rm), p[0]);
	close(msg_fd(&rm));
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/*
 * Without a thread in ENTER the completion waits: the port polls readable
 * meanwhile, the CQ stays empty until this thread enters.
 */
TEST_F(net, scm_rights_recvmsg_completes_on_enter_port_polls_readable)
{
	struct msghdr tm, rm;
	struct iovec tiov, riov;
	union cmsg_fd tcb, rcb;
	struct pollfd pfd;
	char rx[8] = "";
	int sp[2], p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	msg_with_fd(&rm, &riov, rx, sizeof(rx), &rcb, -1);
	SUBMIT(&self->pt, sqe_msg(CPORT_OP_RECVMSG, sp[1], &rm, 0, 1));
	msg_with_fd(&tm, &tiov, "poll", 4, &tcb, p[1]);
	ASSERT_EQ(4, sendmsg(sp[0], &tm, 0));
	pfd.fd = self->pt.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	EXPECT_EQ(1, poll(&pfd, 1, 20000));
	EXPECT_TRUE(pfd.revents & POLLIN);
	/* The attempt is this process's to run: not done behind its back. */
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(0, rx[0]);
	EXPECT_CQE(&self->pt, 1, 4, 0);
	check_passed_pipe(_metadata, msg_fd(&rm), p[0]);
	close(msg_fd(&rm));
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/* SENDMSG with SCM_RIGHTS submitted while the peer's queue is full. */
TEST_F(net, scm_rights_sendmsg_waits_for_room)
{
	struct msghdr tm, rm;
	struct iovec tiov, riov;
	union cmsg_fd tcb, rcb;
	char rx[8] = "", junk[4096];
	int sp[2], p[2], r;
	ssize_t n, drained = 0, filled = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	memset(junk, 'j', sizeof(junk));
	while ((n = send(sp[0], junk, 16, MSG_DONTWAIT)) == 16)
		filled++;
	ASSERT_EQ(EAGAIN, errno);
	msg_with_fd(&tm, &tiov, "room", 4, &tcb, p[1]);
	SUBMIT(&self->pt, sqe_msg(CPORT_OP_SENDMSG, sp[0], &tm, 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	while (drained < filled) {
		n = recv(sp[1], junk, sizeof(junk), 0);
		ASSERT_EQ(16, n);
		drained++;
	}
	EXPECT_CQE(&self->pt, 1, 4, 0);
	msg_with_fd(&rm, &riov, rx, sizeof(rx), &rcb, -1);
	r = net_run_one(_metadata, &self->pt,
		    sqe_msg(CPORT_OP_RECVMSG, sp[1], &rm, 0, 2));
	EXPECT_EQ(4, r);
	check_passed_pipe(_metadata, msg_fd(&rm), p[0]);
	close(msg_fd(&rm));
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/* The sender's credentials a SO_PASSCRED receiver sees: -1 if none. */
static pid_t recv_cred_pid(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cb;
	char data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *cm;
	struct ucred uc;

	if (recvmsg(fd, &m, MSG_DONTWAIT) <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_CREDENTIALS)
		return -1;
	memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
	return uc.pid;
}

/*
 * An AF_UNIX send carries the submitter's pid, whether it runs at once
 * or later (the peer's queue full: the attempt runs in this process,
 * inside ENTER, not on a kernel worker).
 */
TEST_F(net, unix_send_carries_submitters_credentials)
{
	char junk[16];
	int sp[2], one = 1, filled = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one,
				sizeof(one)));
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
				 sqe_send(sp[0], "now", 3, 0, 1)));
	EXPECT_EQ(getpid(), recv_cred_pid(sp[1]));
	memset(junk, 'j', sizeof(junk));
	while (send(sp[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		filled++;
	SUBMIT(&self->pt, sqe_send(sp[0], "late", 4, 0, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	while (filled--)
		ASSERT_EQ((pid_t)getpid(), recv_cred_pid(sp[1]));
	EXPECT_CQE(&self->pt, 2, 4, 0);
	EXPECT_EQ(getpid(), recv_cred_pid(sp[1]));
	close(sp[0]);
	close(sp[1]);
}

/* msg_controllen above CPORT_NET_CONTROL_MAX: -ENOBUFS; iovlen: -EMSGSIZE */
TEST_F(net, msghdr_limits)
{
	static char ctl[CPORT_NET_CONTROL_MAX + 8];
	struct iovec iov = { .iov_base = ctl, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sockaddr_storage ss;
	int sp[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp));
	m.msg_control = ctl;
	m.msg_controllen = CPORT_NET_CONTROL_MAX + 1;
	EXPECT_EQ(-ENOBUFS, net_run_one(_metadata, &self->pt,
				    sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0,
					    1)));
	EXPECT_EQ(-ENOBUFS, net_run_one(_metadata, &self->pt,
				    sqe_msg(CPORT_OP_RECVMSG, sp[1], &m, 0,
					    2)));
	m.msg_control = NULL;
	m.msg_controllen = 0;
	m.msg_iovlen = UIO_MAXIOV + 1;
	EXPECT_EQ(-EMSGSIZE, net_run_one(_metadata, &self->pt,
				     sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0,
					     3)));
	EXPECT_EQ(-EMSGSIZE, net_run_one(_metadata, &self->pt,
				     sqe_msg(CPORT_OP_RECVMSG, sp[1], &m, 0,
					     4)));
	/* A destination longer than 128 bytes. */
	m.msg_iovlen = 1;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	m.msg_name = &ss;
	m.msg_namelen = sizeof(ss) + 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0, 5)));
	EXPECT_EQ(0, inq(sp[1]));
	close(sp[0]);
	close(sp[1]);
}

/* ----------------------------------------------------------------- */
/* datagrams: UDP and AF_UNIX */

FIXTURE(dg) {
	struct port pt;
	int u[2];
	struct sockaddr_storage ss[2];
	socklen_t sl[2];
};

FIXTURE_VARIANT(dg) {
	int family;
	bool conn;
};

FIXTURE_VARIANT_ADD(dg, udp4_connected) { .family = AF_INET, .conn = true };
FIXTURE_VARIANT_ADD(dg, udp4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(dg, udp6_connected) { .family = AF_INET6, .conn = true };
FIXTURE_VARIANT_ADD(dg, udp6) { .family = AF_INET6 };
FIXTURE_VARIANT_ADD(dg, unix_connected) { .family = AF_UNIX, .conn = true };
FIXTURE_VARIANT_ADD(dg, unix) { .family = AF_UNIX };

FIXTURE_SETUP(dg)
{
	int ret;

	self->u[0] = self->u[1] = -1;
	NET_SETUP_PORT(&self->pt, 64, 256);
	ret = udp_pair(variant->family, self->u, self->ss, self->sl,
		       variant->conn);
	if (no_transport(ret))
		SKIP(return, "no %s loopback in this guest (%s)",
		     family_name(variant->family), strerror(-ret));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(dg)
{
	if (self->u[0] >= 0)
		close(self->u[0]);
	if (self->u[1] >= 0)
		close(self->u[1]);
	port_fini(&self->pt);
}

/* Connected: SEND and RECV, one datagram each, boundaries kept. */
TEST_F(dg, send_recv_datagrams)
{
	char b[64];

	CPORT_SKIP_IF_ABSENT();
	if (!variant->conn) {
		/* Unconnected: no destination (AF_UNIX: not connected). */
		EXPECT_EQ(variant->family == AF_UNIX ? -ENOTCONN :
			  -EDESTADDRREQ,
			  net_run_one(_metadata, &self->pt,
				  sqe_send(self->u[0], "x", 1, 0, 1)));
		return;
	}
	SUBMIT(&self->pt, sqe_recv(self->u[1], b, sizeof(b), 0, 2));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(5, net_run_one(_metadata, &self->pt,
			     sqe_send(self->u[0], "first", 5, 0, 1)));
	EXPECT_CQE(&self->pt, 2, 5, 0);
	EXPECT_EQ(0, memcmp(b, "first", 5));
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
			     sqe_send(self->u[0], "two", 3, 0, 3)));
	EXPECT_EQ(1, net_run_one(_metadata, &self->pt,
			     sqe_send(self->u[0], "3", 1, 0, 4)));
	EXPECT_EQ(3, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->u[1], b, sizeof(b), 0, 5)));
	EXPECT_EQ(1, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->u[1], b, sizeof(b), 0, 6)));
	EXPECT_EQ('3', b[0]);
}

/* MSG_TRUNC: the datagram's real length; the rest is dropped. */
TEST_F(dg, recv_trunc_real_length)
{
	char b[4];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(10, sendto(self->u[0], "0123456789", 10, 0,
			     (struct sockaddr *)&self->ss[1], self->sl[1]));
	ASSERT_EQ(3, sendto(self->u[0], "abc", 3, 0,
			    (struct sockaddr *)&self->ss[1], self->sl[1]));
	EXPECT_EQ(10, net_run_one(_metadata, &self->pt,
			      sqe_recv(self->u[1], b, 2, MSG_TRUNC, 1)));
	EXPECT_EQ(0, memcmp(b, "01", 2));
	/* Without MSG_TRUNC: what fit. */
	EXPECT_EQ(2, net_run_one(_metadata, &self->pt,
			     sqe_recv(self->u[1], b, 2, 0, 2)));
	EXPECT_EQ(0, memcmp(b, "ab", 2));
	EXPECT_EQ(-EAGAIN, net_run_one(_metadata, &self->pt,
				   sqe_recv(self->u[1], b, 2, MSG_DONTWAIT,
					    3)));
}

/* A zero-length datagram: RECV res 0. */
TEST_F(dg, recv_zero_length_datagram)
{
	char b[4];

	CPORT_SKIP_IF_ABSENT();
	SUBMIT(&self->pt, sqe_recv(self->u[1], b, sizeof(b), 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(0, sendto(self->u[0], b, 0, 0,
			    (struct sockaddr *)&self->ss[1], self->sl[1]));
	EXPECT_CQE(&self->pt, 1, 0, 0);
}

/*
 * SENDMSG with msg_name to the receiver; RECVMSG, submitted first, writes
 * the source address, msg_namelen and msg_flags back.
 */
TEST_F(dg, sendmsg_name_recvmsg_source)
{
	struct sockaddr_storage from;
	char rx[16] = "";
	struct iovec tiov = { .iov_base = "hello", .iov_len = 5 };
	struct iovec riov = { .iov_base = rx, .iov_len = sizeof(rx) };
	struct msghdr tm = {
		.msg_iov = &tiov, .msg_iovlen = 1,
		.msg_name = &self->ss[1], .msg_namelen = self->sl[1],
	};
	struct msghdr rm = {
		.msg_iov = &riov, .msg_iovlen = 1,
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_flags = 0x7fff,
	};

	CPORT_SKIP_IF_ABSENT();
	memset(&from, 0xaa, sizeof(from));
	SUBMIT(&self->pt, sqe_msg(CPORT_OP_RECVMSG, self->u[1], &rm, 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(5, net_run_one(_metadata, &self->pt,
			     sqe_msg(CPORT_OP_SENDMSG, self->u[0], &tm, 0,
				     2)));
	EXPECT_CQE(&self->pt, 1, 5, 0);
	EXPECT_EQ(0, memcmp(rx, "hello", 5));
	EXPECT_EQ(self->sl[0], rm.msg_namelen);
	EXPECT_EQ(0, memcmp(&from, &self->ss[0], self->sl[0]));
	EXPECT_EQ(0, rm.msg_flags);
	EXPECT_EQ(0, rm.msg_controllen);
}

/* RECVMSG of a datagram that does not fit: msg_flags says MSG_TRUNC. */
TEST_F(dg, recvmsg_truncated_sets_msg_trunc)
{
	char rx[4];
	struct iovec riov = { .iov_base = rx, .iov_len = sizeof(rx) };
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(8, sendto(self->u[0], "12345678", 8, 0,
			    (struct sockaddr *)&self->ss[1], self->sl[1]));
	EXPECT_EQ(4, net_run_one(_metadata, &self->pt,
			     sqe_msg(CPORT_OP_RECVMSG, self->u[1], &rm, 0,
				     1)));
	EXPECT_EQ(MSG_TRUNC, rm.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(rx, "1234", 4));
}

/* ----------------------------------------------------------------- */
/* CONNECT */

FIXTURE(con) {
	struct port pt;
	int l;
	struct sockaddr_storage ss;
	socklen_t sl;
};

FIXTURE_VARIANT(con) {
	int family;
};

FIXTURE_VARIANT_ADD(con, tcp4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(con, tcp6) { .family = AF_INET6 };
FIXTURE_VARIANT_ADD(con, unix) { .family = AF_UNIX };

FIXTURE_SETUP(con)
{
	self->l = -1;
	NET_SETUP_PORT(&self->pt, 64, 256);
	self->l = listener(variant->family, &self->ss, &self->sl, 8);
	if (no_transport(self->l))
		SKIP(return, "no %s loopback in this guest (%s)",
		     family_name(variant->family), strerror(-self->l));
	ASSERT_LE(0, self->l);
}

FIXTURE_TEARDOWN(con)
{
	if (self->l >= 0)
		close(self->l);
	port_fini(&self->pt);
}

TEST_F(con, connect_then_data_then_eisconn)
{
	char b[4] = "";
	int fd, a;

	CPORT_SKIP_IF_ABSENT();
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_connect(fd, &self->ss, self->sl, 1)));
	a = accept4(self->l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_EQ(2, net_run_one(_metadata, &self->pt,
			     sqe_send(fd, "ok", 2, 0, 2)));
	EXPECT_EQ(2, read(a, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "ok", 2));
	EXPECT_EQ(-EISCONN, net_run_one(_metadata, &self->pt,
				    sqe_connect(fd, &self->ss, self->sl, 3)));
	close(a);
	close(fd);
}

/* A non-blocking socket connects the same way. */
TEST_F(con, connect_nonblocking_socket)
{
	int fd, a;

	CPORT_SKIP_IF_ABSENT();
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
			     sqe_connect(fd, &self->ss, self->sl, 1)));
	a = accept4(self->l, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_LE(0, a);
	close(a);
	close(fd);
}

/* Nobody listens there any more: -ECONNREFUSED. */
TEST_F(con, connect_refused)
{
	int fd;

	CPORT_SKIP_IF_ABSENT();
	close(self->l);
	self->l = -1;
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ECONNREFUSED, net_run_one(_metadata, &self->pt,
					 sqe_connect(fd, &self->ss, self->sl,
						     1)));
	close(fd);
}

TEST_F(con, connect_bad_len_and_address)
{
	void *bad = fault_page();
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_connect(fd, &self->ss, 0, 1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_connect(fd, &self->ss, 129, 2)));
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_connect(fd, bad, self->sl, 3)));
	close(fd);
	munmap(bad, 4096);
}

/*
 * A connect that cannot finish: TCP to a listener whose accept queue is
 * full (the SYN is dropped and retried for minutes). A linked
 * CPORT_OP_LINK_TIMEOUT is the connect timeout: -ETIME, then the connect's
 * -ECANCELED. AF_UNIX instead completes at once with -EAGAIN.
 */
TEST_F(con, connect_full_backlog_link_timeout)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	socklen_t sl;
	int l, c1, probe, fd, r;

	CPORT_SKIP_IF_ABSENT();
	l = listener(variant->family, &ss, &sl, 0);
	ASSERT_LE(0, l);
	/* A backlog of 0 holds one connection. */
	c1 = connect_to(variant->family, &ss, sl);
	ASSERT_LE(0, c1);
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	if (variant->family == AF_UNIX) {
		EXPECT_EQ(-EAGAIN, net_run_one(_metadata, &self->pt,
					   sqe_connect(fd, &ss, sl, 1)));
		goto out;
	}
	/* Does a connect hang here? A non-blocking probe must stay pending. */
	probe = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC |
		       SOCK_NONBLOCK, 0);
	ASSERT_LE(0, probe);
	r = connect(probe, (struct sockaddr *)&ss, sl);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINPROGRESS, errno);
	pfd.fd = probe;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 200) != 0) {
		close(probe);
		close(fd);
		close(c1);
		close(l);
		SKIP(return, "a connect to a full listener does not hang here");
	}
	/* The probe is still connecting: -EALREADY for a second connect. */
	EXPECT_EQ(-EALREADY, net_run_one(_metadata, &self->pt,
				     sqe_connect(probe, &ss, sl, 9)));
	close(probe);

	s[0] = linked(sqe_connect(fd, &ss, sl, 1));
	s[1] = sqe_link_timeout(200 * NSEC_PER_MSEC, 2);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, net_reap_n(&self->pt, c, 2));
	EXPECT_EQ(2, c[0].user_data);
	EXPECT_EQ(-ETIME, c[0].res);
	EXPECT_EQ(1, c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
out:
	close(fd);
	close(c1);
	close(l);
}

/* A connect that completes before its linked timeout: 0, then -ECANCELED. */
TEST_F(con, connect_beats_link_timeout)
{
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	int fd, a;

	CPORT_SKIP_IF_ABSENT();
	fd = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	s[0] = linked(sqe_connect(fd, &self->ss, self->sl, 1));
	s[1] = sqe_link_timeout(10 * NSEC_PER_SEC, 2);
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, net_reap_n(&self->pt, c, 2));
	EXPECT_EQ(1, c[0].user_data + c[1].user_data - 2);
	EXPECT_EQ(0, c[0].user_data == 1 ? c[0].res : c[1].res);
	EXPECT_EQ(-ECANCELED, c[0].user_data == 2 ? c[0].res : c[1].res);
	a = accept4(self->l, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_LE(0, a);
	close(a);
	close(fd);
}

/* ----------------------------------------------------------------- */
/* provided buffer rings */

/* A port and a connected AF_UNIX stream pair (or TCP: variant). */
FIXTURE(pb) {
	struct port pt;
	int s[2];
	struct bring b;
};

FIXTURE_VARIANT(pb) {
	int family;
};

FIXTURE_VARIANT_ADD(pb, tcp4) { .family = AF_INET };
FIXTURE_VARIANT_ADD(pb, unix) { .family = AF_UNIX };

FIXTURE_SETUP(pb)
{
	self->s[0] = self->s[1] = -1;
	memset(&self->b, 0, sizeof(self->b));
	NET_SETUP_PORT(&self->pt, 64, 256);
	ASSERT_EQ(0, stream_pair(variant->family, self->s));
}

FIXTURE_TEARDOWN(pb)
{
	if (self->s[0] >= 0)
		close(self->s[0]);
	if (self->s[1] >= 0)
		close(self->s[1]);
	port_fini(&self->pt);
	bring_free(&self->b);
}

/* RECV with buffer select: the CQE names the buffer, filled with the data. */
TEST_F(pb, recv_buffer_select_names_buffer)
{
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 3, 8, 8, 64, 4));
	for (i = 0; i < 4; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "msg-%d", i);

		if (i & 1) {
			SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 3, 0, 0,
						      10 + i));
			EXPECT_TRUE(quiet_for(&self->pt, 20));
			ASSERT_EQ(n, write(self->s[1], msg, n));
		} else {
			ASSERT_EQ(n, write(self->s[1], msg, n));
			SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 3, 0, 0,
						      10 + i));
		}
		NEXT(&self->pt, &c);
		EXPECT_EQ(10 + i, c.user_data);
		EXPECT_EQ(n, c.res);
		EXPECT_EQ(FBUF, c.flags & 0xffff);
		/* Taken in order from the head. */
		EXPECT_EQ((__u32)i, cqe_bid(&c));
		EXPECT_EQ(0, memcmp(bring_buf(&self->b, cqe_bid(&c)), msg, n));
		EXPECT_EQ((__u32)i + 1, load_acquire(&self->b.ring->head));
	}
}

/* len limits what a buffer takes; the rest stays in the socket. */
TEST_F(pb, recv_buffer_select_len_limits)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 0, 4, 4, 64, 4));
	ASSERT_EQ(10, write(self->s[1], "0123456789", 10));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 0, 4, 0, 1));
	NEXT(&self->pt, &c);
	EXPECT_EQ(4, c.res);
	EXPECT_EQ(FBUF | (0U << BSHIFT), c.flags);
	EXPECT_EQ(0, memcmp(bring_buf(&self->b, 0), "0123", 4));
	EXPECT_EQ(6, inq(self->s[0]));
	/* A buffer smaller than the data: what fits. */
	bring_free(&self->b);
	ASSERT_EQ(0, ring_unregister(self->pt.fd, 0));
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 0, 4, 4, 5, 4));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 0, 0, 0, 2));
	NEXT(&self->pt, &c);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(FBUF, c.flags);
	EXPECT_EQ(0, memcmp(bring_buf(&self->b, 0), "45678", 5));
	EXPECT_EQ(1, inq(self->s[0]));
}

/* No buffer left: -ENOBUFS, no buffer flag, the data stays in the socket. */
TEST_F(pb, recv_buffers_exhausted_enobufs)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 1, 2, 2, 32, 1));
	ASSERT_EQ(3, write(self->s[1], "one", 3));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 1, 0, 0, 1));
	NEXT(&self->pt, &c);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(FBUF | (0U << BSHIFT), c.flags);
	ASSERT_EQ(3, write(self->s[1], "two", 3));
	/* Data there, no buffer: at once. */
	EXPECT_EQ(-ENOBUFS, net_run_one(_metadata, &self->pt,
				    sqe_recv_bs(self->s[0], 1, 0, 0, 2)));
	EXPECT_EQ(3, inq(self->s[0]));
	/* No data, no buffer: it waits for data, then -ENOBUFS. */
	ASSERT_EQ(3, recv(self->s[0], &c, 3, 0));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 1, 0, 0, 3));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(5, write(self->s[1], "three", 5));
	EXPECT_CQE(&self->pt, 3, -ENOBUFS, 0);
	EXPECT_EQ(5, inq(self->s[0]));
	/* A buffer added: the data is there to take. */
	bring_add(&self->b, 1);
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 1, 0, 0, 4));
	NEXT(&self->pt, &c);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(FBUF | (1U << BSHIFT), c.flags);
	EXPECT_EQ(0, memcmp(bring_buf(&self->b, 1), "three", 5));
}

/* A group that was never registered: -ENOENT. */
TEST_F(pb, recv_unregistered_group_enoent)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(4, write(self->s[1], "data", 4));
	EXPECT_EQ(-ENOENT, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 7, 0, 0, 1)));
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 6, 2, 2, 32, 2));
	EXPECT_EQ(-ENOENT, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 7, 0, 0, 2)));
	/* Unregistered again: -ENOENT again. */
	ASSERT_EQ(0, ring_unregister(self->pt.fd, 6));
	EXPECT_EQ(-ENOENT, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 6, 0, 0, 3)));
	EXPECT_EQ(4, inq(self->s[0]));
}

/* An entry with len 0: the op fails with -EINVAL. */
TEST_F(pb, ring_entry_len_zero_einval)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 2, 2, 2, 32, 0));
	self->b.ring->bufs[0].addr = (__u64)(uintptr_t)self->b.data;
	self->b.ring->bufs[0].len = 0;
	self->b.ring->bufs[0].bid = 0;
	store_release(&self->b.ring->tail, 1);
	ASSERT_EQ(4, write(self->s[1], "data", 4));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 2, 0, 0, 1)));
	EXPECT_EQ(4, inq(self->s[0]));
}

/*
 * No buffer left, and the peer shut its side: that is end of file (0),
 * for a RECV, a multishot RECV and a RECVMSG, not -ENOBUFS (nothing
 * waits for a buffer), and no buffer is taken.
 */
TEST_F(pb, empty_ring_at_eof_is_eof)
{
	struct msghdr m = { .msg_flags = 0 };
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 2, 4, 4, 32, 0));
	ASSERT_EQ(0, shutdown(self->s[1], SHUT_WR));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
				 sqe_recv_bs(self->s[0], 2, 0, 0, 1)));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 2, 0, CPORT_NET_MULTISHOT,
				      2));
	EXPECT_CQE(&self->pt, 2, 0, 0);
	s = sqe_msg(CPORT_OP_RECVMSG, self->s[0], &m, 0, 3);
	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = 2;
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt, s));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* A tail more than ring_entries ahead of head counts as empty. */
TEST_F(pb, ring_tail_too_far_counts_as_empty)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 2, 4, 4, 32, 4));
	store_release(&self->b.ring->tail, 4 + 4 + 1);
	ASSERT_EQ(4, write(self->s[1], "data", 4));
	EXPECT_EQ(-ENOBUFS, net_run_one(_metadata, &self->pt,
				    sqe_recv_bs(self->s[0], 2, 0, 0, 1)));
	EXPECT_EQ(4, inq(self->s[0]));
}

/* The ring unmapped behind the kernel's back: -EFAULT when it is read. */
TEST_F(pb, ring_unmapped_efault)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 2, 4, 4, 32, 4));
	munmap(self->b.ring, self->b.ring_sz);
	self->b.ring = NULL;
	ASSERT_EQ(4, write(self->s[1], "data", 4));
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 2, 0, 0, 1)));
}

/* RECVMSG with buffer select: msg_iov 0, the data in the buffer. */
TEST_F(pb, recvmsg_buffer_select)
{
	struct msghdr m = { .msg_flags = 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = 1 };
	struct cport_sqe s;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 4, 4, 4, 32, 4));
	ASSERT_EQ(5, write(self->s[1], "rmsg!", 5));
	s = sqe_msg(CPORT_OP_RECVMSG, self->s[0], &m, 0, 1);
	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = 4;
	SUBMIT(&self->pt, s);
	NEXT(&self->pt, &c);
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(FBUF | (0U << BSHIFT), c.flags);
	EXPECT_EQ(0, memcmp(bring_buf(&self->b, 0), "rmsg!", 5));
	/* With an iovec: -EINVAL. */
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
}

/* Multishot RECV: a CQE with MORE and a buffer per arrival, 0 at EOF. */
TEST_F(pb, multishot_recv_per_arrival_then_eof)
{
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 5, 16, 16, 64, 16));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 5, 0, CPORT_NET_MULTISHOT,
				      0x5a));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	for (i = 0; i < 6; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "arrival-%d", i);

		ASSERT_EQ(n, write(self->s[1], msg, n));
		NEXT(&self->pt, &c);
		EXPECT_EQ(0x5a, c.user_data);
		EXPECT_EQ(n, c.res);
		EXPECT_EQ(MORE | FBUF, c.flags & 0xffff);
		EXPECT_EQ((__u32)i, cqe_bid(&c));
		EXPECT_EQ(0, memcmp(bring_buf(&self->b, cqe_bid(&c)), msg,
				    n));
	}
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(0, shutdown(self->s[1], SHUT_WR));
	EXPECT_CQE(&self->pt, 0x5a, 0, 0);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* A large arrival fills several buffers, one CQE each, in order. */
TEST_F(pb, multishot_recv_large_arrival_several_buffers)
{
	char tx[200], rx[200];
	struct cport_cqe c;
	__u64 seed = 3;
	int got = 0, cqes = 0;

	CPORT_SKIP_IF_ABSENT();
	fill_random(tx, sizeof(tx), &seed);
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 5, 8, 8, 64, 8));
	ASSERT_EQ(200, write(self->s[1], tx, sizeof(tx)));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 5, 0, CPORT_NET_MULTISHOT,
				      1));
	while (got < 200) {
		NEXT(&self->pt, &c);
		ASSERT_EQ(MORE | FBUF, c.flags & 0xffff);
		ASSERT_LT(0, c.res);
		ASSERT_GE(64, c.res);
		ASSERT_GE(200, got + c.res);
		memcpy(rx + got, bring_buf(&self->b, cqe_bid(&c)), c.res);
		got += c.res;
		cqes++;
	}
	EXPECT_EQ(0, memcmp(tx, rx, sizeof(tx)));
	EXPECT_LE(4, cqes);
	SUBMIT(&self->pt, sqe_cancel(1, 0, 2));
	EXPECT_CQE(&self->pt, 1, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 2, 0, 0);
}

/* Multishot ends with -ENOBUFS (terminal) when the ring runs dry. */
TEST_F(pb, multishot_recv_enobufs_terminal)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 5, 2, 2, 64, 2));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 5, 0, CPORT_NET_MULTISHOT,
				      1));
	ASSERT_EQ(1, write(self->s[1], "a", 1));
	NEXT(&self->pt, &c);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(MORE | FBUF, c.flags);
	ASSERT_EQ(1, write(self->s[1], "b", 1));
	NEXT(&self->pt, &c);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(MORE | FBUF | (1U << BSHIFT), c.flags);
	ASSERT_EQ(1, write(self->s[1], "c", 1));
	EXPECT_CQE(&self->pt, 1, -ENOBUFS, 0);
	EXPECT_EQ(1, inq(self->s[0]));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(pb, recv_buffer_select_bad_combinations_einval)
{
	char b[8];
	struct iovec iov = { .iov_base = b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 1, 4, 4, 32, 4));
	ASSERT_EQ(1, write(self->s[1], "x", 1));
	/* Buffer select on SEND. */
	s = sqe_send(self->s[0], b, 1, 0, 1);
	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* With addr. */
	s = sqe_recv_bs(self->s[0], 1, 0, 0, 2);
	s.addr = (__u64)(uintptr_t)b;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* With FIXED_BUF. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_recv_bs(self->s[0], 1, 0,
					       CPORT_NET_FIXED_BUF, 3)));
	/* MSG_WAITALL, MSG_PEEK. */
	s = sqe_recv_bs(self->s[0], 1, 0, 0, 4);
	s.op_flags = MSG_WAITALL;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s.op_flags = MSG_PEEK;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* MULTISHOT without buffer select, and on SEND. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_RECV, self->s[0], b, 8, 0,
					   CPORT_NET_MULTISHOT, 5)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_SEND, self->s[0], b, 1, 0,
					   CPORT_NET_MULTISHOT, 6)));
	/* Buffer select on SENDMSG. */
	s = sqe_msg(CPORT_OP_SENDMSG, self->s[0], &m, 0, 7);
	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* Nothing was taken. */
	EXPECT_EQ(0U, load_acquire(&self->b.ring->head));
	EXPECT_EQ(1, inq(self->s[0]));
}

/* Registration errors. */
TEST_F(net, buf_ring_register_errors)
{
	const size_t sz = 16 + 16 * 64;
	struct cport_register r;
	struct cport_buf_reg br;
	char *ring, *ro;
	void *bad;

	CPORT_SKIP_IF_ABSENT();
	ring = mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ring);
	ro = mmap(NULL, sz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	bad = fault_page();
	ASSERT_NE(NULL, bad);
	/* Sizes: not a power of two, 0, above the maximum. */
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring, 3, 0));
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring, 0, 0));
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring,
					 CPORT_BUF_RING_MAX_ENTRIES * 2, 0));
	/* Alignment. */
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring + 4, 4, 0));
	/* Group. */
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring, 4,
					 CPORT_BUF_GROUPS_MAX));
	EXPECT_EQ(-EINVAL, ring_register(self->pt.fd, ring, 4, 0xffff));
	/* flags, resv, nr, the register's resv. */
	memset(&br, 0, sizeof(br));
	br.ring_addr = (__u64)(uintptr_t)ring;
	br.ring_entries = 4;
	br.flags = 1;
	EXPECT_EQ(-EINVAL, buf_reg(self->pt.fd, CPORT_REGISTER_BUF_RING, &br));
	br.flags = 0;
	br.resv[1] = 1;
	EXPECT_EQ(-EINVAL, buf_reg(self->pt.fd, CPORT_REGISTER_BUF_RING, &br));
	br.resv[1] = 0;
	memset(&r, 0, sizeof(r));
	r.op = CPORT_REGISTER_BUF_RING;
	r.data = (__u64)(uintptr_t)&br;
	r.nr = 1;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	r.nr = 0;
	r.resv[0] = 1;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	/* Not writable, not mapped (groups of their own: a wrong success
	 * must not make the next case fail with -EEXIST). */
	EXPECT_EQ(-EFAULT, ring_register(self->pt.fd, ro, 4, 10));
	EXPECT_EQ(-EFAULT, ring_register(self->pt.fd, bad, 4, 11));
	/* The struct cport_buf_reg itself unreadable. */
	r.resv[0] = 0;
	r.data = (__u64)(uintptr_t)bad;
	EXPECT_EQ(-EFAULT, sys_register_raw(self->pt.fd, &r));
	/* Unregister: unknown group, non-zero ring fields. */
	EXPECT_EQ(-ENOENT, ring_unregister(self->pt.fd, 9));
	/* Register, then again: -EEXIST; another group is fine. */
	EXPECT_EQ(0, ring_register(self->pt.fd, ring, 4, 9));
	EXPECT_EQ(-EEXIST, ring_register(self->pt.fd, ring + sz, 4, 9));
	EXPECT_EQ(0, ring_register(self->pt.fd, ring + sz, 64,
				   CPORT_BUF_GROUPS_MAX - 1));
	memset(&br, 0, sizeof(br));
	br.bgid = 9;
	br.ring_entries = 4;
	EXPECT_EQ(-EINVAL, buf_reg(self->pt.fd, CPORT_UNREGISTER_BUF_RING,
				   &br));
	br.ring_entries = 0;
	br.ring_addr = (__u64)(uintptr_t)ring;
	EXPECT_EQ(-EINVAL, buf_reg(self->pt.fd, CPORT_UNREGISTER_BUF_RING,
				   &br));
	EXPECT_EQ(0, ring_unregister(self->pt.fd, 9));
	EXPECT_EQ(-ENOENT, ring_unregister(self->pt.fd, 9));
	/* Registered again after unregistering. */
	EXPECT_EQ(0, ring_register(self->pt.fd, ring, 1, 9));
	EXPECT_EQ(0, ring_unregister(self->pt.fd, 9));
	EXPECT_EQ(0, ring_unregister(self->pt.fd, CPORT_BUF_GROUPS_MAX - 1));
	/* The largest ring. */
	munmap(ring, 2 * sz);
	ring = mmap(NULL, 16 + 16 * (size_t)CPORT_BUF_RING_MAX_ENTRIES,
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ring);
	EXPECT_EQ(0, ring_register(self->pt.fd, ring,
				   CPORT_BUF_RING_MAX_ENTRIES, 12));
	EXPECT_EQ(0, ring_unregister(self->pt.fd, 12));
	munmap(ring, 16 + 16 * (size_t)CPORT_BUF_RING_MAX_ENTRIES);
	munmap(ro, sz);
	munmap(bad, 4096);
}

/* Every group: CPORT_BUF_GROUPS_MAX of them, each usable. */
TEST_F(net, buf_ring_all_groups)
{
	const size_t sz = 16 + 16 * 2;
	char *rings;
	unsigned int g;

	CPORT_SKIP_IF_ABSENT();
	rings = mmap(NULL, sz * CPORT_BUF_GROUPS_MAX, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rings);
	for (g = 0; g < CPORT_BUF_GROUPS_MAX; g++)
		ASSERT_EQ(0, ring_register(self->pt.fd, rings + g * sz, 2, g))
			TH_LOG("group %u", g);
	for (g = 0; g < CPORT_BUF_GROUPS_MAX; g++)
		ASSERT_EQ(0, ring_unregister(self->pt.fd, g));
	munmap(rings, sz * CPORT_BUF_GROUPS_MAX);
}

/* Unregistering a group in use: the op finishes with it. */
TEST_F(pb, unregister_while_recv_waits)
{
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&self->b, self->pt.fd, 8, 4, 4, 32, 4));
	SUBMIT(&self->pt, sqe_recv_bs(self->s[0], 8, 0, 0, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	ASSERT_EQ(0, ring_unregister(self->pt.fd, 8));
	ASSERT_EQ(3, write(self->s[1], "use", 3));
	NEXT(&self->pt, &c);
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(FBUF, c.flags);
	EXPECT_EQ(0, memcmp(bring_buf(&self->b, 0), "use", 3));
}

/* ----------------------------------------------------------------- */
/* bad input */

/* Every socket op on a pipe: -ENOTSOCK; on no descriptor: -EBADF. */
TEST_F(net, not_a_socket_and_bad_fd)
{
	static const __u8 ops[] = {
		CPORT_OP_ACCEPT, CPORT_OP_CONNECT, CPORT_OP_SEND,
		CPORT_OP_RECV, CPORT_OP_SENDMSG, CPORT_OP_RECVMSG,
		CPORT_OP_SHUTDOWN,
	};
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char b[8];
	unsigned int i;
	int p[2], fds[2], j;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	iov.iov_base = b;
	iov.iov_len = sizeof(b);
	fds[0] = p[0];
	fds[1] = 100000;	/* not open */
	for (j = 0; j < 2; j++) {
		for (i = 0; i < ARRAY_SIZE(ops); i++) {
			struct cport_sqe s = sqe_net(ops[i], fds[j], NULL, 0, 0,
						     0, i);

			switch (ops[i]) {
			case CPORT_OP_CONNECT:
				s.addr = (__u64)(uintptr_t)&sin;
				s.len = sizeof(sin);
				break;
			case CPORT_OP_SEND:
			case CPORT_OP_RECV:
				s.addr = (__u64)(uintptr_t)b;
				s.len = sizeof(b);
				break;
			case CPORT_OP_SENDMSG:
			case CPORT_OP_RECVMSG:
				s.addr = (__u64)(uintptr_t)&m;
				break;
			case CPORT_OP_SHUTDOWN:
				s.len = SHUT_RDWR;
				break;
			}
			EXPECT_EQ(j ? -EBADF : -ENOTSOCK,
				  net_run_one(_metadata, &self->pt, s))
				TH_LOG("opcode %u on %s", ops[i],
				       j ? "a closed fd" : "a pipe");
		}
	}
	/* -1 too. */
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt,
				  sqe_recv(-1, b, sizeof(b), 0, 9)));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* Unknown op_flags, off bits, SQE flags and non-zero unused fields. */
TEST_F(net, unknown_bits_einval)
{
	char b[8];
	struct iovec iov = { .iov_base = b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cport_sqe s;
	int sp[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(1, write(sp[1], "x", 1));
	/* MSG_* flags outside each op's set. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_send(sp[0], b, 1, MSG_PEEK, 1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_send(sp[0], b, 1, MSG_TRUNC, 1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_send(sp[0], b, 1, 1U << 31, 1)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_recv(sp[0], b, 1, MSG_EOR, 2)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_recv(sp[0], b, 1, MSG_NOSIGNAL, 2)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_recv(sp[0], b, 1, MSG_ERRQUEUE, 2)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_RECVMSG, sp[0], &m,
					   MSG_MORE, 3)));
	/* Unknown off bits. */
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_RECV, sp[0], b, 1, 0,
					   1ULL << 2, 4)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_SEND, sp[0], b, 1, 0,
					   1ULL << 63, 4)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_SENDMSG, sp[0], &m, 0, 0,
					   CPORT_NET_FIXED_BUF, 4)));
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt,
				   sqe_net(CPORT_OP_SHUTDOWN, sp[0], NULL,
					   SHUT_WR, 0, 1, 4)));
	/* An unknown SQE flag. */
	s = sqe_recv(sp[0], b, 1, 0, 5);
	s.flags = 1U << 6;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s.flags = 1U << 7;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* buf_group without buffer select. */
	s = sqe_recv(sp[0], b, 1, 0, 6);
	s.buf_group = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* addr2 without FIXED_BUF. */
	s = sqe_send(sp[0], b, 1, 0, 7);
	s.addr2 = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* Fields SHUTDOWN, CONNECT, SENDMSG and CLOSE do not use. */
	s = sqe_shutdown(sp[0], SHUT_WR, 8);
	s.addr = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_shutdown(sp[0], SHUT_WR, 8);
	s.op_flags = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0, 9);
	s.len = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_connect(sp[0], b, 2, 10);
	s.op_flags = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_close(sp[0], 11);
	s.len = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_close(sp[0], 11);
	s.off = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s = sqe_close(sp[0], 11);
	s.resv2 = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* Nothing above acted: the socket is open, the byte unread. */
	EXPECT_TRUE(fd_open(sp[0]));
	EXPECT_EQ(1, inq(sp[0]));
	close(sp[0]);
	close(sp[1]);
}

/* Buffers, addresses and headers that are not the user's: -EFAULT. */
TEST_F(net, bad_addresses_efault)
{
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *bad = fault_page();
	char b[8];
	int sp[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_send(sp[0], bad, 8, 0, 1)));
	EXPECT_EQ(0, inq(sp[1]));
	ASSERT_EQ(4, write(sp[1], "data", 4));
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_recv(sp[0], bad, 8, 0, 2)));
	/* msghdr unreadable. */
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_SENDMSG, sp[0],
					   (struct msghdr *)bad, 0, 3)));
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_RECVMSG, sp[0],
					   (struct msghdr *)bad, 0, 4)));
	/* iovec array unreadable. */
	m.msg_iov = (struct iovec *)bad;
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0, 5)));
	/* iovec pointing to nothing. */
	m.msg_iov = &iov;
	iov.iov_base = bad;
	iov.iov_len = 4;
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0, 6)));
	/* Control data unreadable. */
	iov.iov_base = b;
	m.msg_control = bad;
	m.msg_controllen = 64;
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_msg(CPORT_OP_SENDMSG, sp[0], &m, 0, 7)));
	/* Addresses far outside user space. */
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt,
				   sqe_send(sp[0], (void *)(uintptr_t)
					    0xffff888000000000ULL, 8, 0, 8)));
	close(sp[0]);
	close(sp[1]);
	munmap(bad, 4096);
}

/* ----------------------------------------------------------------- */
/* CLOSE */

TEST_F(net, close_descriptor)
{
	int sp[2], p[2], fd;
	char b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt, sqe_close(sp[0], 1)));
	EXPECT_FALSE(fd_open(sp[0]));
	/* The peer sees end of file. */
	EXPECT_EQ(0, read(sp[1], &b, 1));
	/* Not open (before anything reuses the number). */
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, sqe_close(sp[0], 3)));
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, sqe_close(-1, 4)));
	/* Any file, not only sockets. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt, sqe_close(p[1], 2)));
	EXPECT_EQ(0, read(p[0], &b, 1));
	/* The port's own descriptor, and a dup of it. */
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt,
				  sqe_close(self->pt.fd, 5)));
	EXPECT_TRUE(fd_open(self->pt.fd));
	fd = dup(self->pt.fd);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, sqe_close(fd, 6)));
	EXPECT_TRUE(fd_open(fd));
	close(fd);
	close(sp[1]);
	close(p[0]);
}

static int sys_register_files(int pfd, const int *fds, __u32 nr)
{
	struct cport_register r = {
		.op = CPORT_REGISTER_FILES, .nr = nr,
		.data = (__u64)(uintptr_t)fds,
	};

	return sys_register_raw(pfd, &r);
}

/*
 * CLOSE of a fixed slot empties it; the descriptor stays open. (AF_UNIX
 * sockets and ports cannot be registered: a TCP pair.)
 */
TEST_F(net, close_fixed_slot)
{
	int sp[2], tbl[2];
	struct cport_sqe s;
	char b[4];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, stream_pair(AF_INET, sp));
	tbl[0] = sp[0];
	tbl[1] = -1;
	ASSERT_EQ(0, sys_register_files(self->pt.fd, tbl, 2));
	/* A fixed socket works for the socket ops. */
	s = sqe_send(0, "fx", 2, 0, 1);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	EXPECT_EQ(2, net_run_one(_metadata, &self->pt, s));
	EXPECT_EQ(2, read_full(sp[1], b, 2));
	/* A fixed RECV waiting while its slot is emptied keeps the file. */
	s = sqe_recv(0, b, sizeof(b), 0, 2);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	SUBMIT(&self->pt, s);
	s = sqe_close(0, 3);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt, s));
	EXPECT_TRUE(fd_open(sp[0]));
	ASSERT_EQ(1, write(sp[1], "k", 1));
	EXPECT_CQE(&self->pt, 2, 1, 0);
	/* Empty now, and an empty slot: -EBADF. */
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, s));
	s.fd = 1;
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, s));
	/* Out of the table. */
	s.fd = 2;
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, s));
	s = sqe_send(0, "fx", 2, 0, 4);
	s.flags = CPORT_SQE_F_FIXED_FILE;
	EXPECT_EQ(-EBADF, net_run_one(_metadata, &self->pt, s));
	/* The descriptor still works. */
	EXPECT_EQ(2, write(sp[0], "ok", 2));
	close(sp[0]);
	close(sp[1]);
}

/* A chain RECV -> SEND -> CLOSE closes the socket after the send. */
TEST_F(net, chain_recv_send_close)
{
	struct cport_sqe s[3];
	struct cport_cqe c[3];
	char b[8], r[8] = "";
	int sp[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	s[0] = linked(sqe_recv(sp[0], b, 4, 0, 1));
	s[1] = linked(sqe_send(sp[0], "pong", 4, 0, 2));
	s[2] = sqe_close(sp[0], 3);
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_TRUE(fd_open(sp[0]));
	ASSERT_EQ(4, write(sp[1], "ping", 4));
	ASSERT_EQ(3, net_reap_n(&self->pt, c, 3));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ((__u64)i + 1, c[i].user_data);
		EXPECT_EQ(i < 2 ? 4 : 0, c[i].res);
	}
	EXPECT_EQ(4, read_full(sp[1], r, 4));
	EXPECT_EQ(0, memcmp(r, "pong", 4));
	EXPECT_EQ(0, read(sp[1], r, 1));
	EXPECT_FALSE(fd_open(sp[0]));
	close(sp[1]);
}

/* ----------------------------------------------------------------- */
/* registered buffers: CPORT_NET_FIXED_BUF */

static int sys_register_bufs(int pfd, const struct iovec *iov, __u32 nr)
{
	struct cport_register r = {
		.op = CPORT_REGISTER_BUFFERS, .nr = nr,
		.data = (__u64)(uintptr_t)iov,
	};

	return sys_register_raw(pfd, &r);
}

TEST_F(net, fixed_buf_send_recv)
{
	struct iovec iov;
	struct cport_sqe s;
	char *area;
	int sp[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	area = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	/* No buffers registered: -ENXIO. */
	s = sqe_net(CPORT_OP_SEND, sp[0], area, 4, 0, CPORT_NET_FIXED_BUF,
		    1);
	EXPECT_EQ(-ENXIO, net_run_one(_metadata, &self->pt, s));
	iov.iov_base = area;
	iov.iov_len = 65536;
	ASSERT_EQ(0, sys_register_bufs(self->pt.fd, &iov, 1));
	memcpy(area + 100, "FIXD", 4);
	s = sqe_net(CPORT_OP_SEND, sp[0], area + 100, 4, 0,
		    CPORT_NET_FIXED_BUF, 2);
	EXPECT_EQ(4, net_run_one(_metadata, &self->pt, s));
	s = sqe_net(CPORT_OP_RECV, sp[1], area + 1000, 16, 0,
		    CPORT_NET_FIXED_BUF, 3);
	EXPECT_EQ(4, net_run_one(_metadata, &self->pt, s));
	EXPECT_EQ(0, memcmp(area + 1000, "FIXD", 4));
	/* No such index. */
	s = sqe_net(CPORT_OP_SEND, sp[0], area, 4, 0, CPORT_NET_FIXED_BUF,
		    4);
	s.addr2 = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* Not inside the buffer. */
	s = sqe_net(CPORT_OP_SEND, sp[0], area + 65530, 8, 0,
		    CPORT_NET_FIXED_BUF, 5);
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt, s));
	s = sqe_net(CPORT_OP_RECV, sp[1], area - 4096, 8, 0,
		    CPORT_NET_FIXED_BUF, 6);
	EXPECT_EQ(-EFAULT, net_run_one(_metadata, &self->pt, s));
	EXPECT_EQ(0, inq(sp[1]));
	close(sp[0]);
	close(sp[1]);
	munmap(area, 65536);
}

/* ----------------------------------------------------------------- */
/* a full CQ: multishot ops keep their events pending, nothing is lost */

FIXTURE(tiny) {
	struct port pt;
};

FIXTURE_SETUP(tiny)
{
	/* Two slots: one for the multishot op's terminal CQE, one free. */
	NET_SETUP_PORT(&self->pt, 1, 2);
}

FIXTURE_TEARDOWN(tiny)
{
	port_fini(&self->pt);
}

/* The accept queue of a TCP listener (tcpi_unacked of a LISTEN socket). */
static int listen_queue(int l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	return (int)ti.tcpi_unacked;
}

TEST_F(tiny, multishot_accept_full_cq_connections_wait_in_listen_queue)
{
	const int n = 6;
	struct sockaddr_storage ss;
	struct cport_cqe c;
	int l, cl[6], got[6], i, j;
	socklen_t sl;

	CPORT_SKIP_IF_ABSENT();
	l = listener(AF_INET, &ss, &sl, 16);
	ASSERT_LE(0, l);
	SUBMIT(&self->pt, sqe_accept(l, NULL, NULL, SOCK_CLOEXEC,
				     CPORT_NET_MULTISHOT, 0xac));
	for (i = 0; i < n; i++) {
		cl[i] = connect_to(AF_INET, &ss, sl);
		ASSERT_LE(0, cl[i]);
	}
	/* One CQE fits; ENTER again with the CQ full takes nothing. */
	ASSERT_EQ(0, sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT,
			       WAIT_NS));
	ASSERT_EQ(0, sys_enter(self->pt.fd, 0, 0, 0, 0));
	EXPECT_EQ(1, cq_ready(&self->pt));
	EXPECT_EQ(n - 1, listen_queue(l));
	for (i = 0; i < n; i++) {
		/* Reaping frees the slot; cq_wait() enters and resumes it. */
		NEXT(&self->pt, &c);
		EXPECT_EQ(0xac, c.user_data);
		EXPECT_EQ(MORE, c.flags);
		ASSERT_LE(0, c.res);
		got[i] = c.res;
		for (j = 0; j < i; j++)
			EXPECT_NE(got[j], got[i]);
	}
	EXPECT_EQ(0, listen_queue(l));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	SUBMIT(&self->pt, sqe_cancel(0xac, 0, 0xad));
	EXPECT_CQE(&self->pt, 0xac, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0xad, 0, 0);
	for (i = 0; i < n; i++) {
		close(got[i]);
		close(cl[i]);
	}
	close(l);
}

TEST_F(tiny, multishot_recv_full_cq_data_waits_in_socket)
{
	char tx[100], rx[100];
	struct cport_cqe c;
	struct bring b;
	__u64 seed = 11;
	int sp[2], i, got = 0, cqes = 0;

	CPORT_SKIP_IF_ABSENT();
	fill_random(tx, sizeof(tx), &seed);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, bring_init(&b, self->pt.fd, 1, 16, 16, 16, 16));
	SUBMIT(&self->pt, sqe_recv_bs(sp[0], 1, 0, CPORT_NET_MULTISHOT, 0x3c));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(20, write(sp[1], tx + 20 * i, 20));
	/* The first CQE fills the free slot; the rest waits in the socket. */
	ASSERT_EQ(0, sys_enter(self->pt.fd, 0, 1, CPORT_ENTER_TIMEOUT,
			       WAIT_NS));
	EXPECT_EQ(1, cq_ready(&self->pt));
	c = self->pt.cqes[load_relaxed(self->pt.cq_head) &
			  (self->pt.p.cq_entries - 1)];
	EXPECT_EQ(100 - c.res, inq(sp[0]));
	while (got < 100) {
		NEXT(&self->pt, &c);
		ASSERT_EQ(0x3c, c.user_data);
		ASSERT_EQ(MORE | FBUF, c.flags & 0xffff);
		ASSERT_LT(0, c.res);
		ASSERT_GE(16, c.res);
		ASSERT_GE(100, got + c.res);
		memcpy(rx + got, bring_buf(&b, cqe_bid(&c)), c.res);
		got += c.res;
		cqes++;
		bring_add(&b, cqe_bid(&c));
	}
	EXPECT_EQ(0, memcmp(tx, rx, sizeof(tx)));
	EXPECT_LE(7, cqes);
	EXPECT_EQ(0, inq(sp[0]));
	ASSERT_EQ(0, shutdown(sp[1], SHUT_WR));
	EXPECT_CQE(&self->pt, 0x3c, 0, 0);
	close(sp[0]);
	close(sp[1]);
	bring_free(&b);
}

/*
 * A multishot RECV's wait stays armed between attempts, and one attempt
 * takes at most 32 datagrams: 100 queued before the SQE, then 100 sent
 * to the armed op in a burst, all come out, in order, with no arrival
 * after them to wake it.
 */
TEST(multishot_recv_udp_burst_beyond_one_attempt)
{
	struct sockaddr_storage ss[2];
	socklen_t sl[2];
	struct cport_cqe c;
	struct port pt;
	struct bring b;
	int u[2] = { -1, -1 }, i, round;
	char msg[32];

	NET_SETUP_PORT(&pt, 64, 512);
	ASSERT_EQ(0, udp_pair(AF_INET, u, ss, sl, true));
	ASSERT_EQ(0, bring_init(&b, pt.fd, 7, 256, 256, 32, 256));
	for (round = 0; round < 2; round++) {
		if (round == 0) {
			for (i = 0; i < 100; i++) {
				int n = snprintf(msg, sizeof(msg), "d%d-%d",
						 round, i);

				ASSERT_EQ(n, send(u[1], msg, n, 0));
			}
			SUBMIT(&pt, sqe_recv_bs(u[0], 7, 0,
						CPORT_NET_MULTISHOT, 0x77));
		} else {
			EXPECT_TRUE(quiet_for(&pt, 30));
			for (i = 0; i < 100; i++) {
				int n = snprintf(msg, sizeof(msg), "d%d-%d",
						 round, i);

				ASSERT_EQ(n, send(u[1], msg, n, 0));
			}
		}
		for (i = 0; i < 100; i++) {
			int n = snprintf(msg, sizeof(msg), "d%d-%d", round, i);

			NEXT(&pt, &c);
			ASSERT_EQ(0x77, c.user_data);
			ASSERT_EQ(n, c.res);
			ASSERT_EQ(MORE | FBUF, c.flags & 0xffff);
			ASSERT_EQ(0, memcmp(bring_buf(&b, cqe_bid(&c)), msg,
					    n));
			bring_add(&b, cqe_bid(&c));
		}
		EXPECT_EQ(0, inq(u[0]));
	}
	SUBMIT(&pt, sqe_cancel(0x77, 0, 0x78));
	EXPECT_CQE(&pt, 0x77, -ECANCELED, 0);
	EXPECT_CQE(&pt, 0x78, 0, 0);
	EXPECT_EQ(0, fdinfo(pt.fd, "inflight"));
	close(u[0]);
	close(u[1]);
	port_fini(&pt);
	bring_free(&b);
}

/* ----------------------------------------------------------------- */
/* cancel racing arrival: exactly one terminal CQE, nothing lost */

struct racer {
	pthread_t thr;
	int fd;
	volatile int go, done, stop;
	/* ACCEPT race: connect instead of writing */
	const struct sockaddr_storage *ss;
	socklen_t sl;
	int per_round;
	int fds[16];
};

static void spin_us(unsigned int us)
{
	__u64 end = now_ns(CLOCK_MONOTONIC) + us * 1000ULL;

	while (now_ns(CLOCK_MONOTONIC) < end)
		;
}

static void *write_racer(void *arg)
{
	struct racer *r = arg;
	int seen = 0;

	pin_to_cpu(1);
	while (!r->stop) {
		int g = __atomic_load_n(&r->go, __ATOMIC_ACQUIRE);

		if (g == seen) {
			sched_yield();
			continue;
		}
		seen = g;
		if (g & 1)
			sched_yield();
		if (write(r->fd, "r", 1) != 1)
			abort();
		__atomic_store_n(&r->done, g, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F_TIMEOUT(net, cancel_races_recv_arrival, 120)
{
	struct racer r = { .go = 0 };
	int sp[2], i, rounds = 300 * stress_factor();
	int got_data = 0, got_cancel = 0;
	char b[8], x;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	r.fd = sp[1];
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, write_racer, &r));
	pin_to_cpu(0);
	for (i = 1; i <= rounds; i++) {
		__u64 ud = (__u64)i << 8;
		struct cport_cqe c[2], *rc, *cc;
		struct cport_sqe s = sqe_cancel(ud | 1, 0, ud | 2);

		SUBMIT(&self->pt, sqe_recv(sp[0], b, sizeof(b), 0, ud | 1));
		ASSERT_EQ(0, sq_push(&self->pt, &s));
		__atomic_store_n(&r.go, i, __ATOMIC_RELEASE);
		/* From at once to well after the arrival (TCG: ms): both outcomes. */
		spin_us((i * 37) % 5000);
		ASSERT_EQ(1, sys_enter(self->pt.fd, 1, 0, 0, 0));
		ASSERT_EQ(2, net_reap_n(&self->pt, c, 2));
		rc = c[0].user_data == (ud | 1) ? &c[0] : &c[1];
		cc = c[0].user_data == (ud | 1) ? &c[1] : &c[0];
		ASSERT_EQ(ud | 1, rc->user_data) TH_LOG("round %d", i);
		ASSERT_EQ(ud | 2, cc->user_data) TH_LOG("round %d", i);
		EXPECT_EQ(0, rc->flags);
		while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != i)
			sched_yield();
		if (rc->res == -ECANCELED) {
			/* Cancelled: the cancel says so, the byte is unread. */
			ASSERT_EQ(0, cc->res) TH_LOG("round %d", i);
			ASSERT_EQ(1, recv(sp[0], &x, 1, MSG_DONTWAIT))
				TH_LOG("round %d: the byte was lost", i);
			got_cancel++;
		} else {
			/*
			 * The data won. The cancel found nothing, found it
			 * completing, or found an attempt already running:
			 * that one it waits for, and counts as cancelled
			 * though the CQE carries the attempt's result
			 * (userspace-api.rst, CPORT_OP_CANCEL).
			 */
			ASSERT_EQ(1, rc->res) TH_LOG("round %d", i);
			ASSERT_TRUE(cc->res == -ENOENT ||
				    cc->res == -EALREADY || cc->res == 0)
				TH_LOG("round %d: cancel res %d", i, cc->res);
			ASSERT_EQ(-1, recv(sp[0], &x, 1, MSG_DONTWAIT));
			got_data++;
		}
	}
	r.stop = 1;
	pthread_join(r.thr, NULL);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	TH_LOG("%d rounds: %d got the byte, %d cancelled", rounds, got_data,
	       got_cancel);
	close(sp[0]);
	close(sp[1]);
}

/*
 * Multishot RECV with provided buffers, cancelled while data arrives:
 * CQEs with MORE and a buffer, then exactly one terminal -ECANCELED; the
 * bytes in the CQEs and those left in the socket add up to what was sent.
 */
TEST_F_TIMEOUT(net, cancel_races_multishot_recv, 120)
{
	struct racer r = { .go = 0 };
	int sp[2], i, rounds = 100 * stress_factor();
	struct bring b;
	char x[64];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(0, bring_init(&b, self->pt.fd, 3, 64, 64, 16, 64));
	r.fd = sp[1];
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, write_racer, &r));
	pin_to_cpu(0);
	for (i = 1; i <= rounds; i++) {
		__u64 ud = (__u64)i << 8;
		int got = 0, cancel_res = INT_MIN, n;
		bool terminal = false;
		struct cport_cqe c;

		SUBMIT(&self->pt, sqe_recv_bs(sp[0], 3, 0, CPORT_NET_MULTISHOT,
					      ud | 1));
		__atomic_store_n(&r.go, i, __ATOMIC_RELEASE);
		spin_us((i * 53) % 300);
		SUBMIT(&self->pt, sqe_cancel(ud | 1, 0, ud | 2));
		while (!terminal || cancel_res == INT_MIN) {
			NEXT(&self->pt, &c);
			if (c.user_data == (ud | 2)) {
				ASSERT_TRUE(terminal) TH_LOG("round %d", i);
				cancel_res = c.res;
				continue;
			}
			ASSERT_EQ(ud | 1, c.user_data) TH_LOG("round %d", i);
			ASSERT_FALSE(terminal);
			if (c.flags & MORE) {
				ASSERT_EQ(MORE | FBUF, c.flags & 0xffff);
				ASSERT_EQ(1, c.res);
				ASSERT_EQ('r', *bring_buf(&b, cqe_bid(&c)));
				bring_add(&b, cqe_bid(&c));
				got += c.res;
			} else {
				ASSERT_EQ(-ECANCELED, c.res)
					TH_LOG("round %d", i);
				terminal = true;
			}
		}
		EXPECT_EQ(0, cancel_res);
		while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != i)
			sched_yield();
		n = recv(sp[0], x, sizeof(x), MSG_DONTWAIT);
		if (n < 0)
			n = 0;
		ASSERT_EQ(1, got + n)
			TH_LOG("round %d: %d by CQE, %d left", i, got, n);
	}
	r.stop = 1;
	pthread_join(r.thr, NULL);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(sp[0]);
	close(sp[1]);
	bring_free(&b);
}

static void *connect_racer(void *arg)
{
	struct racer *r = arg;
	int seen = 0, k;

	while (!r->stop) {
		int g = __atomic_load_n(&r->go, __ATOMIC_ACQUIRE);

		if (g == seen) {
			sched_yield();
			continue;
		}
		seen = g;
		for (k = 0; k < r->per_round; k++)
			r->fds[k] = connect_to(AF_INET, r->ss, r->sl);
		__atomic_store_n(&r->done, g, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Multishot ACCEPT cancelled while connections arrive: one terminal
 * -ECANCELED, after it no CQE, and every connection either accepted
 * through the port or still in the listen queue.
 */
TEST_F_TIMEOUT(net, cancel_races_multishot_accept, 120)
{
	struct racer r = { .go = 0, .per_round = 4 };
	struct sockaddr_storage ss;
	int l, i, k, rounds = 40 * stress_factor();
	socklen_t sl;

	CPORT_SKIP_IF_ABSENT();
	l = listener(AF_INET, &ss, &sl, 64);
	ASSERT_LE(0, l);
	r.ss = &ss;
	r.sl = sl;
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, connect_racer, &r));
	for (i = 1; i <= rounds; i++) {
		__u64 ud = (__u64)i << 8;
		struct cport_cqe c;
		int accepted = 0, left = 0, fd, cancel_res = INT_MIN;
		bool terminal = false;

		SUBMIT(&self->pt, sqe_accept(l, NULL, NULL, SOCK_CLOEXEC,
					     CPORT_NET_MULTISHOT, ud | 1));
		__atomic_store_n(&r.go, i, __ATOMIC_RELEASE);
		if (i & 1)
			sched_yield();
		SUBMIT(&self->pt, sqe_cancel(ud | 1, 0, ud | 2));
		while (!terminal || cancel_res == INT_MIN) {
			NEXT(&self->pt, &c);
			if (c.user_data == (ud | 2)) {
				ASSERT_TRUE(terminal) TH_LOG("round %d", i);
				cancel_res = c.res;
				continue;
			}
			ASSERT_EQ(ud | 1, c.user_data);
			ASSERT_FALSE(terminal);
			if (c.flags & MORE) {
				ASSERT_LE(0, c.res);
				close(c.res);
				accepted++;
			} else {
				ASSERT_EQ(-ECANCELED, c.res);
				terminal = true;
			}
		}
		EXPECT_EQ(0, cancel_res);
		for (k = 0; k < 20000000 &&
			    __atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != i; k++)
			sched_yield();
		ASSERT_EQ(i, r.done) TH_LOG("round %d: connects not done", i);
		/*
		 * connect() returns before the listener has seen the last ACK
		 * of the handshake: wait (5 s at most) until every connection
		 * is accepted or queued.
		 */
		for (k = 0; k < 5000 &&
			    accepted + listen_queue(l) < r.per_round; k++)
			usleep(1000);
		EXPECT_TRUE(quiet_for(&self->pt, 5));
		while ((fd = accept_nb(l)) >= 0) {
			close(fd);
			left++;
		}
		ASSERT_EQ(r.per_round, accepted + left)
			TH_LOG("round %d: %d accepted, %d queued", i, accepted,
			       left);
		for (k = 0; k < r.per_round; k++)
			close(r.fds[k]);
	}
	r.stop = 1;
	pthread_join(r.thr, NULL);
	close(l);
}

/* ----------------------------------------------------------------- */
/* teardown with ops pending */

/* What a port with every kind of socket op pending holds. */
struct pending {
	struct port pt;
	int l;			/* listener with a multishot ACCEPT */
	struct sockaddr_storage ss;
	socklen_t sl;
	int l2, l2c;		/* full listener, a CONNECT hangs on it */
	struct sockaddr_storage ss2;
	socklen_t sl2;
	int sp[2];		/* RECV on sp[0], RECVMSG on sp[1] */
	int tp[2];		/* TCP pair, multishot RECV on tp[0] */
	int dg[2];		/* full datagram pair, SENDMSG on dg[0] */
	int cfd;		/* the hanging connect's socket */
	int pipefd[2];		/* passed by the SENDMSG */
	struct bring b;
	char buf[64];
	struct msghdr rm, tm;
	struct iovec riov, tiov;
	union cmsg_fd rcb, tcb;
};

/* Set up @pd and submit the ops: 0, or the step that failed. */
static int pending_start(struct pending *pd)
{
	struct cport_sqe s;

	memset(pd, 0, sizeof(*pd));
	if (port_init(&pd->pt, 16, 64, 0))
		return 1;
	pd->l = listener(AF_INET, &pd->ss, &pd->sl, 16);
	pd->l2 = listener(AF_INET, &pd->ss2, &pd->sl2, 0);
	if (pd->l < 0 || pd->l2 < 0)
		return 2;
	pd->l2c = connect_to(AF_INET, &pd->ss2, pd->sl2);
	if (pd->l2c < 0)
		return 3;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pd->sp) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pd->dg) ||
	    pipe2(pd->pipefd, O_CLOEXEC) || stream_pair(AF_INET, pd->tp))
		return 4;
	while (send(pd->dg[0], "f", 1, MSG_DONTWAIT) == 1)
		;
	if (bring_init(&pd->b, pd->pt.fd, 0, 4, 4, 64, 4))
		return 5;
	pd->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pd->cfd < 0)
		return 6;
	msg_with_fd(&pd->rm, &pd->riov, pd->buf, sizeof(pd->buf), &pd->rcb,
		    -1);
	msg_with_fd(&pd->tm, &pd->tiov, "tm", 2, &pd->tcb, pd->pipefd[1]);

	s = sqe_accept(pd->l, NULL, NULL, 0, CPORT_NET_MULTISHOT, 1);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 10;
	s = sqe_recv(pd->sp[0], pd->buf, sizeof(pd->buf), 0, 2);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 11;
	s = sqe_msg(CPORT_OP_RECVMSG, pd->sp[1], &pd->rm, 0, 3);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 12;
	s = sqe_recv_bs(pd->tp[0], 0, 0, CPORT_NET_MULTISHOT, 4);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 13;
	s = sqe_connect(pd->cfd, &pd->ss2, pd->sl2, 5);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 14;
	s = sqe_msg(CPORT_OP_SENDMSG, pd->dg[0], &pd->tm, 0, 6);
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 15;
	s = sqe_send(pd->tp[1], pd->buf, 0, 0, 7);	/* completes */
	if (sq_submit_one(&pd->pt, &s) != 1)
		return 16;
	/* The op holds the listener: its descriptor may go. */
	close(pd->l);
	pd->l = -1;
	return 0;
}

/* After the port is gone: nothing holds the listener any more. */
static bool listener_released(const struct sockaddr_storage *ss,
			      socklen_t sl)
{
	int i, fd;

	for (i = 0; i < 200; i++) {
		fd = connect_to(AF_INET, ss, sl);
		if (fd == -ECONNREFUSED)
			return true;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return false;
}

/* Nothing holds the pipe's write end once we closed ours: POLLHUP. */
static bool pipe_hung_up(int rd)
{
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	int i;

	for (i = 0; i < 200; i++) {
		if (poll(&pfd, 1, 10) == 1 && (pfd.revents & POLLHUP))
			return true;
	}
	return false;
}

static void pending_close(struct pending *pd)
{
	close(pd->l2);
	close(pd->l2c);
	close(pd->cfd);
	close(pd->sp[0]);
	close(pd->sp[1]);
	close(pd->tp[0]);
	close(pd->tp[1]);
	close(pd->dg[0]);
	close(pd->dg[1]);
	close(pd->pipefd[0]);
	if (pd->pipefd[1] >= 0)
		close(pd->pipefd[1]);
	bring_free(&pd->b);
}

/* Checks after the port holding @pd's ops is gone. */
static void pending_check_released(struct __test_metadata *_metadata,
				   struct pending *pd, long base, bool raced)
{
	EXPECT_EQ(base, cport_module_refcnt_wait(base));
	/* The ACCEPT's reference to the listener is gone. */
	EXPECT_TRUE(listener_released(&pd->ss, pd->sl));
	/* The SENDMSG's copy of the descriptor it was passing is gone. */
	close(pd->pipefd[1]);
	pd->pipefd[1] = -1;
	EXPECT_TRUE(pipe_hung_up(pd->pipefd[0]));
	/* Nothing reads for a dead port. */
	EXPECT_EQ(1, write(pd->sp[0], "z", 1));
	EXPECT_EQ(1, write(pd->sp[1], "y", 1));
	usleep(10000);
	EXPECT_EQ(1, inq(pd->sp[1]));
	EXPECT_LE(1, inq(pd->sp[0]));
	/*
	 * And the provided buffers are untouched (unless data raced the
	 * release: the multishot RECV may have taken it just before).
	 */
	if (!raced)
		EXPECT_EQ(0U, pd->b.ring ? load_acquire(&pd->b.ring->head) :
			  0U);
}

static bool net_feature(void)
{
	struct port pt;
	bool ret;

	if (port_init(&pt, 1, 0, 0))
		return false;
	ret = pt.p.features & CPORT_FEAT_NET;
	port_fini(&pt);
	return ret;
}

/*
 * Closing the port with ACCEPT, RECV, RECVMSG, multishot RECV, CONNECT
 * and SENDMSG (SCM_RIGHTS) pending: no hang, every reference dropped.
 */
FIXTURE(bare) {
	int unused;
};

FIXTURE_SETUP(bare)
{
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!net_feature())
		SKIP(return, NOFEAT_MSG);
}

FIXTURE_TEARDOWN(bare)
{
}

TEST_F_TIMEOUT(bare, close_port_with_socket_ops_pending, 120)
{
	struct pending pd;
	long base;
	int i;

	CPORT_SKIP_IF_ABSENT();
	base = cport_module_refcnt();
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, pending_start(&pd)) TH_LOG("round %d", i);
		/* Six ops wait; the zero-length SEND completed. */
		EXPECT_EQ(6, fdinfo(pd.pt.fd, "inflight"))
			TH_LOG("round %d", i);
		EXPECT_EQ(1, cq_ready(&pd.pt));
		if (i & 1) {
			/* Arrivals racing the release. */
			EXPECT_EQ(1, write(pd.sp[1], "a", 1));
			EXPECT_EQ(1, write(pd.tp[1], "b", 1));
		}
		port_fini(&pd.pt);
		pending_check_released(_metadata, &pd, base, i & 1);
		pending_close(&pd);
	}
}

static int exit_with_pending(void *arg)
{
	struct pending *pd = arg;

	/* Exits with the port open and every op pending. */
	return pending_start(pd);
}

/* The same, the process exiting without closing anything. */
TEST_F_TIMEOUT(bare, exit_with_socket_ops_pending, 120)
{
	struct pending pd;
	long base;
	int i;

	CPORT_SKIP_IF_ABSENT();
	base = cport_module_refcnt();
	for (i = 0; i < 4; i++) {
		memset(&pd, 0, sizeof(pd));
		/* The child's descriptors are its own: re-create ours. */
		pd.l = listener(AF_INET, &pd.ss, &pd.sl, 16);
		ASSERT_LE(0, pd.l);
		close(pd.l);
		ASSERT_EQ(0, child_run(exit_with_pending, &pd));
		EXPECT_EQ(base, cport_module_refcnt_wait(base));
	}
}

/*
 * The submitter of an ACCEPT exits while the port stays open (another
 * process holds it): the ACCEPT completes with -ECANCELED.
 */
struct exiter {
	struct port *pt;
	int l;
};

static int submit_accept_and_exit(void *arg)
{
	struct exiter *ex = arg;
	struct cport_sqe s = sqe_accept(ex->l, NULL, NULL, 0, 0, 0xe1);
	struct cport_sqe m = sqe_accept(ex->l, NULL, NULL, 0,
					CPORT_NET_MULTISHOT, 0xe2);

	if (sq_submit_one(ex->pt, &s) != 1 || sq_submit_one(ex->pt, &m) != 1)
		return 1;
	return 0;
}

TEST_F(net, accept_submitter_exits_ecanceled)
{
	struct sockaddr_storage ss;
	struct exiter ex;
	struct cport_cqe c[2];
	socklen_t sl;
	int l, cl, fd;

	CPORT_SKIP_IF_ABSENT();
	l = listener(AF_INET, &ss, &sl, 8);
	ASSERT_LE(0, l);
	ex.pt = &self->pt;
	ex.l = l;
	ASSERT_EQ(0, child_run(submit_accept_and_exit, &ex));
	ASSERT_EQ(2, net_reap_n(&self->pt, c, 2));
	EXPECT_EQ(0xe1 + 0xe2, c[0].user_data + c[1].user_data);
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(0, c[0].flags);
	EXPECT_EQ(-ECANCELED, c[1].res);
	EXPECT_EQ(0, c[1].flags);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	/* A connection now waits for an accept of ours. */
	cl = connect_to(AF_INET, &ss, sl);
	ASSERT_LE(0, cl);
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	fd = accept_nb(l);
	EXPECT_LE(0, fd);
	close(fd);
	close(cl);
	close(l);
}

/*
 * The same, with a connection arriving while the child is not in ENTER:
 * its ACCEPT's attempt waits for a thread of the child, which exits
 * instead. -ECANCELED, and the connection is still in the listen queue
 * (not accepted into a file table that is gone).
 */
struct exiter2 {
	struct port *pt;
	int l;
	const struct sockaddr_storage *ss;
	socklen_t sl;
};

static int accept_then_arrival_then_exit(void *arg)
{
	struct exiter2 *ex = arg;
	struct cport_sqe s = sqe_accept(ex->l, NULL, NULL, 0, 0, 0xe3);
	int cl;

	if (sq_submit_one(ex->pt, &s) != 1)
		return 1;
	cl = connect_to(AF_INET, ex->ss, ex->sl);
	if (cl < 0)
		return 2;
	/* Give the wake-up time to queue the attempt; then exit. */
	usleep(20000);
	return 0;
}

TEST_F(net, accept_submitter_exits_after_arrival_ecanceled)
{
	struct sockaddr_storage ss;
	struct exiter2 ex;
	struct cport_cqe c;
	socklen_t sl;
	int l, fd;

	CPORT_SKIP_IF_ABSENT();
	l = listener(AF_INET, &ss, &sl, 8);
	ASSERT_LE(0, l);
	ex.pt = &self->pt;
	ex.l = l;
	ex.ss = &ss;
	ex.sl = sl;
	ASSERT_EQ(0, child_run(accept_then_arrival_then_exit, &ex));
	ASSERT_EQ(1, net_reap_n(&self->pt, &c, 1));
	EXPECT_EQ(0xe3, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	/* The child's client is gone; its connection was never accepted. */
	fd = accept_nb(l);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	close(l);
}

/* ----------------------------------------------------------------- */
/* a thousand connections */

FIXTURE(big) {
	struct port pt;
};

FIXTURE_SETUP(big)
{
	NET_SETUP_PORT(&self->pt, 256, 4096);
}

FIXTURE_TEARDOWN(big)
{
	port_fini(&self->pt);
}

#define MANY		1000

struct many {
	const struct sockaddr_storage *ss;
	socklen_t sl;
	int cl[MANY];
	volatile int made;
	volatile int err;
};

static void *many_connector(void *arg)
{
	struct many *m = arg;
	int i;

	for (i = 0; i < MANY; i++) {
		m->cl[i] = connect_to(AF_INET, m->ss, m->sl);
		if (m->cl[i] < 0) {
			m->err = m->cl[i];
			break;
		}
		__atomic_store_n(&m->made, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Push @s and submit in batches of the SQ size. */
static int submit_all(struct port *pt, struct cport_sqe *s, int n)
{
	int done = 0, batch, ret;

	while (done < n) {
		batch = n - done;
		if (batch > (int)pt->p.sq_entries)
			batch = pt->p.sq_entries;
		ret = submit_n(pt, s + done, batch);
		if (ret != batch)
			return ret < 0 ? ret : -EIO;
		done += batch;
	}
	return 0;
}

/*
 * MANY connections accepted by one multishot ACCEPT while a thread
 * connects them, then a byte echoed on each through RECV and SEND. Sized
 * for a TCG guest with a debug kernel (natively it takes well under a
 * second).
 */
TEST_F_TIMEOUT(big, thousand_connections_accept_and_echo, 240)
{
	static struct many m;
	static int srv[MANY];
	static char rx[MANY];
	static struct cport_sqe s[MANY];
	struct sockaddr_storage ss;
	struct cport_cqe c;
	struct rlimit rl;
	pthread_t th;
	socklen_t sl;
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	int l, i, n = 0;
	char b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < 2 * MANY + 64) {
		rl.rlim_cur = 2 * MANY + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			SKIP(return, "cannot raise RLIMIT_NOFILE to %d: %s",
			     2 * MANY + 64, strerror(errno));
	}
	l = listener(AF_INET, &ss, &sl, 1024);
	ASSERT_LE(0, l);
	memset(&m, 0, sizeof(m));
	m.ss = &ss;
	m.sl = sl;
	SUBMIT(&self->pt, sqe_accept(l, NULL, NULL, SOCK_CLOEXEC,
				     CPORT_NET_MULTISHOT, 0xa11));
	ASSERT_EQ(0, pthread_create(&th, NULL, many_connector, &m));
	while (n < MANY) {
		NEXT(&self->pt, &c);
		ASSERT_EQ(0xa11, c.user_data);
		ASSERT_EQ(MORE, c.flags) TH_LOG("after %d: res %d", n, c.res);
		ASSERT_LE(0, c.res);
		srv[n++] = c.res;
	}
	pthread_join(th, NULL);
	ASSERT_EQ(0, m.err);
	ASSERT_EQ(MANY, m.made);
	TH_LOG("%d connections accepted in %.1f s", MANY,
	       (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);

	/* A RECV on each accepted socket, then every client writes. */
	for (i = 0; i < MANY; i++)
		s[i] = sqe_recv(srv[i], &rx[i], 1, 0, i);
	ASSERT_EQ(0, submit_all(&self->pt, s, MANY));
	for (i = 0; i < MANY; i++) {
		b = (char)(i * 7 + 1);
		ASSERT_EQ(1, write(m.cl[i], &b, 1));
	}
	for (i = 0; i < MANY; i++) {
		NEXT(&self->pt, &c);
		ASSERT_GT(MANY, c.user_data);
		ASSERT_EQ(1, c.res) TH_LOG("connection %llu",
					   (unsigned long long)c.user_data);
		ASSERT_EQ(0, c.flags);
	}
	/* Echo: a SEND of what came, on each. */
	for (i = 0; i < MANY; i++)
		s[i] = sqe_send(srv[i], &rx[i], 1, 0, MANY + i);
	ASSERT_EQ(0, submit_all(&self->pt, s, MANY));
	for (i = 0; i < MANY; i++) {
		NEXT(&self->pt, &c);
		ASSERT_EQ(1, c.res);
	}
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(1, read(m.cl[i], &b, 1));
		ASSERT_EQ((char)(i * 7 + 1), b) TH_LOG("client %d", i);
	}
	TH_LOG("echoed on all in %.1f s", (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	SUBMIT(&self->pt, sqe_cancel(0xa11, 0, 0xa12));
	EXPECT_CQE(&self->pt, 0xa11, -ECANCELED, 0);
	EXPECT_CQE(&self->pt, 0xa12, 0, 0);
	for (i = 0; i < MANY; i++) {
		close(srv[i]);
		close(m.cl[i]);
	}
	close(l);
}

/*
 * NET_TEST_ONLY=tok1,tok2 runs only the tests whose "fixture.test" name
 * contains one of the tokens (the others report SKIP): the 6.1 harness
 * has no command-line filter, and a TCG guest is slow.
 */
static void net_not_selected(struct __test_metadata *_metadata,
			     struct __fixture_variant_metadata *variant)
{
	(void)variant;
	SKIP(return, "not selected by NET_TEST_ONLY");
}

static bool net_selected(const char *only, const char *name)
{
	char tok[128];
	const char *p = only, *e;
	size_t n;

	while (*p) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n && n < sizeof(tok)) {
			memcpy(tok, p, n);
			tok[n] = '\0';
			if (strstr(name, tok))
				return true;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *only = getenv("NET_TEST_ONLY");
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	char name[256];

	for (f = __fixture_list; only && *only && f; f = f->next) {
		for (t = f->tests; t; t = t->next) {
			snprintf(name, sizeof(name), "%s.%s", f->name,
				 t->name);
			if (!net_selected(only, name))
				t->fn = net_not_selected;
		}
	}
	return test_harness_run(argc, argv);
}

/* ------------------------------------------------------------------ */
/* READ with buffer select */

static struct cport_sqe sqe_read_select(int fd, __u16 bgid, __u32 len,
					__u64 off, __u64 user_data)
{
	struct cport_sqe s = sqe_rw(CPORT_OP_READ, fd, NULL, len, off,
				    user_data);

	s.flags = CPORT_SQE_F_BUFFER_SELECT;
	s.buf_group = bgid;
	return s;
}

/* On a pipe: waits for data holding no buffer, then takes one. */
TEST_F(net, read_select_pipe_takes_buffer_when_data_arrives)
{
	struct bring b;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&b, self->pt.fd, 5, 4, 4, 16, 2));
	/* O_NONBLOCK: 6.1's pipes cannot be tried without it (rw.c). */
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	SUBMIT(&self->pt, sqe_read_select(p[0], 5, 0, CPORT_POS_CURRENT, 1));
	EXPECT_TRUE(quiet_for(&self->pt, 30));
	EXPECT_EQ(0, load_relaxed(&b.ring->head));	/* nothing taken */
	ASSERT_EQ(5, write(p[1], "hello", 5));
	EXPECT_CQE(&self->pt, 1, 5, CPORT_CQE_F_BUFFER |
				    (0U << CPORT_CQE_BUFFER_SHIFT));
	EXPECT_EQ(0, memcmp(bring_buf(&b, 0), "hello", 5));
	EXPECT_EQ(1, load_relaxed(&b.ring->head));
	/* len caps what one READ takes: 3 of the 5 bytes, buffer 1. */
	ASSERT_EQ(5, write(p[1], "world", 5));
	EXPECT_EQ(3, net_run_one_flags(_metadata, &self->pt,
				       sqe_read_select(p[0], 5, 3,
						       CPORT_POS_CURRENT, 2),
				       CPORT_CQE_F_BUFFER |
				       (1U << CPORT_CQE_BUFFER_SHIFT)));
	EXPECT_EQ(0, memcmp(bring_buf(&b, 1), "wor", 3));
	/* No buffer left: -ENOBUFS while there is data, the data stays. */
	EXPECT_EQ(-ENOBUFS, net_run_one(_metadata, &self->pt,
				       sqe_read_select(p[0], 5, 0,
						       CPORT_POS_CURRENT, 3)));
	/* End of file with no buffer: 0, no buffer named. */
	{
		char rest[2];

		ASSERT_EQ(2, read(p[0], rest, 2));
	}
	close(p[1]);
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
				 sqe_read_select(p[0], 5, 0,
						 CPORT_POS_CURRENT, 4)));
	close(p[0]);
	bring_free(&b);
}

/* On a regular file, at an offset; the buffer's id comes back. */
TEST_F(net, read_select_regular_file)
{
	char path[] = "/tmp/net_test_readsel.XXXXXX";
	struct bring b;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, bring_init(&b, self->pt.fd, 6, 8, 8, 32, 8));
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(10, pwrite(fd, "0123456789", 10, 0));
	EXPECT_EQ(6, net_run_one_flags(_metadata, &self->pt,
				       sqe_read_select(fd, 6, 0, 4, 1),
				       CPORT_CQE_F_BUFFER |
				       (0U << CPORT_CQE_BUFFER_SHIFT)));
	EXPECT_EQ(0, memcmp(bring_buf(&b, 0), "456789", 6));
	/* At the end of the file: 0, no buffer taken. */
	EXPECT_EQ(0, net_run_one(_metadata, &self->pt,
				 sqe_read_select(fd, 6, 0, 10, 2)));
	EXPECT_EQ(1, load_relaxed(&b.ring->head));
	close(fd);
	bring_free(&b);
}

/* Bad input: exact errnos. */
TEST_F(net, read_select_bad_input)
{
	struct cport_sqe s;
	char buf[4];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(1, write(p[1], "x", 1));
	/* No such group. */
	EXPECT_EQ(-ENOENT, net_run_one(_metadata, &self->pt,
				       sqe_read_select(p[0], 9, 0,
						       CPORT_POS_CURRENT, 1)));
	/* A buffer of its own as well. */
	s = sqe_read_select(p[0], 9, 1, CPORT_POS_CURRENT, 2);
	s.addr = (__u64)(uintptr_t)buf;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* WRITE, READV, READ_FIXED do not select. */
	s = sqe_read_select(p[1], 9, 1, CPORT_POS_CURRENT, 3);
	s.opcode = CPORT_OP_WRITE;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s.opcode = CPORT_OP_READV;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	s.opcode = CPORT_OP_READ_FIXED;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	/* buf_group without the flag. */
	s = sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT, 4);
	s.buf_group = 1;
	EXPECT_EQ(-EINVAL, net_run_one(_metadata, &self->pt, s));
	close(p[0]);
	close(p[1]);
}
