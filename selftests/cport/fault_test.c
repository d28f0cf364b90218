// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures on the open, setup, mmap, register, submit, post,
 * timer, event flag and completion signal paths, injected with the kernel's fault injection
 * (failslab and fail_page_alloc,
 * Documentation/fault-injection/fault-injection.rst).
 *
 * Each test sweeps the failure point: writing N to /proc/thread-self/fail-nth
 * makes the N-th slab or page allocation of this thread fail, wherever it
 * is (in cport, in the VFS, in the allocator's own debugging hooks). For
 * N = 1, 2, 3, ... the operation runs once with the N-th allocation failing;
 * reading fail-nth back tells whether the N-th point was reached (it reads 0
 * once the fault fired). The sweep ends with the first N the operation does
 * not reach, which it must survive. At every N the operation either fails
 * with its documented error (ENOMEM, or a CQE with res -ENOMEM) or
 * succeeds (the failure was absorbed, e.g. by a fallback), leaves nothing
 * half-done behind (checked through fdinfo and the per-user port limit),
 * and the same operation succeeds right after. Leaks show up in the
 * kmemleak scan that `make check-debug` runs after unloading the module,
 * warnings in its console scan.
 *
 * The debugfs knobs are global: failslab and fail_page_alloc must not skip
 * sleeping allocations (ignore-gfp-wait=N) or order-0 pages (min-order=0),
 * and stay quiet (verbose=0: a stack dump per fault would look like a kernel
 * report). Their probability stays 0, so nothing but fail-nth fires; the
 * knobs are restored afterwards.
 *
 * Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the debug kernel of `make check-debug`);
 * on other kernels every test is skipped.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <sys/epoll.h>
#include <sys/uio.h>

#include "cport_test.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FAULT_DEBUGFS	"/sys/kernel/debug"
#define FAULT_SKIP_MSG	"kernel without fault injection (needs FAILSLAB, " \
			"FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS)"

/* No operation here comes near this many allocations. */
#define FAULT_MAX_POINTS	1000

struct fault_knob {
	const char *path;
	const char *value;
};

static const struct fault_knob fault_knobs[] = {
	{ FAULT_DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ FAULT_DEBUGFS "/failslab/verbose", "0" },
	{ FAULT_DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ FAULT_DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ FAULT_DEBUGFS "/fail_page_alloc/min-order", "0" },
	{ FAULT_DEBUGFS "/fail_page_alloc/verbose", "0" },
};

#define NR_KNOBS	(sizeof(fault_knobs) / sizeof(fault_knobs[0]))

static int file_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int file_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

FIXTURE(fault) {
	int nth;			/* /proc/thread-self/fail-nth */
	bool knobs_set;
	char saved[NR_KNOBS][32];	/* the knobs' values before the test */
	long saved_max_ports;		/* -1: not changed */
};

/* The ring sizes of the ports the tests set up. */
FIXTURE_VARIANT(fault) {
	__u32 sq_entries;
	__u32 cq_entries;
};

FIXTURE_VARIANT_ADD(fault, small) { .sq_entries = 4, .cq_entries = 0 };
/* Rings of several pages each. */
FIXTURE_VARIANT_ADD(fault, large) { .sq_entries = 512, .cq_entries = 2048 };

static bool fault_injection_present(void)
{
	char buf[32];
	size_t i;

	if (access(FAIL_NTH, W_OK))
		return false;
	for (i = 0; i < NR_KNOBS; i++)
		if (file_read(fault_knobs[i].path, buf, sizeof(buf)))
			return false;
	return true;
}

FIXTURE_SETUP(fault)
{
	char buf[32];
	size_t i;

	self->nth = -1;
	self->knobs_set = false;
	self->saved_max_ports = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!fault_injection_present())
		SKIP(return, FAULT_SKIP_MSG);

	/* With a probability, other tasks would see failures too. */
	ASSERT_EQ(0, file_read(FAULT_DEBUGFS "/failslab/probability", buf,
			       sizeof(buf)));
	ASSERT_STREQ("0", buf);
	ASSERT_EQ(0, file_read(FAULT_DEBUGFS "/fail_page_alloc/probability",
			       buf, sizeof(buf)));
	ASSERT_STREQ("0", buf);

	for (i = 0; i < NR_KNOBS; i++)
		ASSERT_EQ(0, file_read(fault_knobs[i].path, self->saved[i],
				       sizeof(self->saved[i])));
	self->knobs_set = true;
	for (i = 0; i < NR_KNOBS; i++)
		ASSERT_EQ(0, file_write(fault_knobs[i].path,
					fault_knobs[i].value));

	/* fail-nth belongs to the thread that opened it: this one. */
	self->nth = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth);
}

FIXTURE_TEARDOWN(fault)
{
	size_t i;

	if (self->nth >= 0) {
		pwrite(self->nth, "0", 1, 0);
		close(self->nth);
	}
	if (self->knobs_set)
		for (i = 0; i < NR_KNOBS; i++)
			file_write(fault_knobs[i].path, self->saved[i]);
	if (self->saved_max_ports >= 0)
		cport_param_write("max_ports_per_user", self->saved_max_ports);
}

/*
 * Make the @n-th allocation of this thread from now on fail. Called right
 * before the system call under test, so that nothing else allocates first.
 */
static void fault_arm(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth, buf, len, 0) != len)
		abort();
}

/*
 * Disarm, right after the system call. True if the fault fired: the
 * operation reached its n-th allocation. fail-nth counts down with every
 * allocation and reads 0 once the fault fired.
 */
static bool fault_fired(int nth)
{
	char buf[16] = "";
	ssize_t n = pread(nth, buf, sizeof(buf) - 1, 0);

	if (n <= 0 || pwrite(nth, "0", 1, 0) != 1)
		abort();
	return strtoul(buf, NULL, 10) == 0;
}

/* A port, set up and mapped, with no ops in flight and an empty CQ. */
static void expect_port_idle(struct __test_metadata *_metadata,
			     struct port *pt)
{
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	EXPECT_EQ(0, fdinfo(pt->fd, "reserved"));
	EXPECT_EQ(0, cq_ready(pt));
}

/* A NOP round trip: the port works. */
static void expect_nop_works(struct __test_metadata *_metadata,
			     struct port *pt, __u64 user_data)
{
	struct cport_sqe s = sqe_nop(user_data);
	struct cport_cqe c;

	ASSERT_EQ(1, sq_submit_one(pt, &s));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(user_data, c.user_data);
	EXPECT_EQ(0, c.res);
}

/* ----------------------------------------------------------------- */
/* open() */

/*
 * With max_ports_per_user = 1, a port count leaked by a failed open makes
 * the next open fail with EMFILE.
 */
TEST_F(fault, open_fails_with_enomem_and_leaks_no_port_count)
{
	unsigned int n, enomem = 0;
	long max_ports = 0;
	bool fired;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	if (!cport_param_read("max_ports_per_user", &max_ports) &&
	    !cport_param_write("max_ports_per_user", 1))
		self->saved_max_ports = max_ports;
	else
		TH_LOG("cannot lower max_ports_per_user: no leak check");

	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		fault_arm(self->nth, n);
		fd = open(CPORT_DEV, O_RDWR | O_CLOEXEC);
		fired = fault_fired(self->nth);
		if (fd < 0) {
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_TRUE(fired);
			enomem++;
		} else {
			close(fd);
		}
		/* The next open succeeds: nothing was left behind. */
		fd = cport_open();
		ASSERT_LE(0, fd) TH_LOG("open after fault %u: %d", n, fd);
		close(fd);
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made open() fail with ENOMEM", n - 1,
	       enomem);
	EXPECT_LT(0, enomem);
}

/* ----------------------------------------------------------------- */
/* CPORT_IOC_SETUP and mmap() */

TEST_F(fault, setup_fails_with_enomem_then_succeeds)
{
	unsigned int n, enomem = 0;
	struct cport_params p;
	struct port pt;
	bool fired;
	int fd, ret;

	CPORT_SKIP_IF_ABSENT();
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		fd = cport_open();
		ASSERT_LE(0, fd);
		memset(&p, 0, sizeof(p));
		p.sq_entries = variant->sq_entries;
		p.cq_entries = variant->cq_entries;
		p.flags = variant->cq_entries ? CPORT_SETUP_CQSIZE : 0;

		fault_arm(self->nth, n);
		ret = ioctl(fd, CPORT_IOC_SETUP, &p);
		fired = fault_fired(self->nth);
		if (ret) {
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_TRUE(fired);
			enomem++;
			/* The port is not set up, and setting it up works. */
			EXPECT_EQ(-EBADFD, sys_post(fd, 1, 0));
			memset(&p, 0, sizeof(p));
			p.sq_entries = variant->sq_entries;
			p.cq_entries = variant->cq_entries;
			p.flags = variant->cq_entries ? CPORT_SETUP_CQSIZE : 0;
			ASSERT_EQ(0, sys_setup(fd, &p))
				TH_LOG("setup after fault %u", n);
		}
		memset(&pt, 0, sizeof(pt));
		pt.fd = fd;
		pt.p = p;
		ASSERT_EQ(0, port_map(&pt));
		expect_port_idle(_metadata, &pt);
		expect_nop_works(_metadata, &pt, n);
		port_fini(&pt);
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made setup fail with ENOMEM", n - 1,
	       enomem);
	EXPECT_LT(0, enomem);
}

TEST_F(fault, mmap_fails_with_enomem_then_succeeds)
{
	unsigned int n, enomem = 0;
	struct port pt;
	size_t len;
	bool fired;
	void *cq;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	len = port_cq_ring_size(&pt.p);
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		fault_arm(self->nth, n);
		cq = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			  pt.fd, CPORT_OFF_CQ_RING);
		fired = fault_fired(self->nth);
		if (cq == MAP_FAILED) {
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_TRUE(fired);
			enomem++;
			cq = port_mmap(pt.fd, len, CPORT_OFF_CQ_RING);
			ASSERT_NE(MAP_FAILED, cq);
		}
		/* The new mapping shows the same ring. */
		EXPECT_EQ(*pt.cq_tail,
			  *(__u32 *)((char *)cq + pt.p.cq_off.tail));
		ASSERT_EQ(0, munmap(cq, len));
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made mmap fail with ENOMEM", n - 1,
	       enomem);
	EXPECT_LT(0, enomem);
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
}

/* ----------------------------------------------------------------- */
/* the timer path: CPORT_OP_TIMEOUT */

/*
 * Submit one SQE (a timer, a read...) with the n-th allocation failing.
 * ENTER itself must consume it (a failed op is reported in its CQE, not by
 * ENTER), and the CQE is -ENOMEM if the fault hit the op's allocation,
 * else the op's normal result. Returns the terminal CQE's res.
 */
static int submit_with_fault(struct __test_metadata *_metadata,
			      struct port *pt, int nth, unsigned int n,
			      struct cport_sqe s, bool *fired)
{
	struct cport_cqe c;
	int ret, res = 0;

	ASSERT_EQ(0, sq_push(pt, &s));
	fault_arm(nth, n);
	ret = sys_enter(pt->fd, 1, 0, 0, 0);
	*fired = fault_fired(nth);
	EXPECT_EQ(1, ret) TH_LOG("ENTER with fault %u: %d", n, ret);

	/* Every CQE of the op, up to its terminal one. */
	do {
		ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
		EXPECT_EQ(s.user_data, c.user_data);
		res = c.res;
	} while (c.flags & CPORT_CQE_F_MORE);
	expect_port_idle(_metadata, pt);
	return res;
}

TEST_F(fault, timeout_sqe_completes_with_enomem)
{
	struct cport_sqe s = sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, 0);
	unsigned int n, enomem = 0;
	bool fired, again;
	struct port pt;
	int res;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					 &fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(1, res) TH_LOG("fault %u: res %d", n, res);
		}
		if (!fired)
			break;
		/* The same SQE works right after. */
		s.user_data = ~0ULL;
		EXPECT_EQ(1, submit_with_fault(_metadata, &pt, self->nth,
						FAULT_MAX_POINTS, s, &again));
		EXPECT_FALSE(again);
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	port_fini(&pt);
}

TEST_F(fault, multishot_timeout_completes_with_enomem)
{
	/* 3 shots, 1 ms apart: two CQEs with MORE, then the terminal one. */
	struct cport_sqe s = sqe_timeout(NSEC_PER_MSEC, CPORT_TIMEOUT_MULTISHOT,
					 3, NSEC_PER_MSEC, 0);
	unsigned int n, enomem = 0;
	struct port pt;
	bool fired;
	int res;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					 &fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			/* The last CQE carries what is left of the 3 shots. */
			EXPECT_LE(1, res);
			EXPECT_GE(3, res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
}

/*
 * A one-shot POLL_ADD on a readable pipe: it allocates its request, then
 * finds the pipe ready and completes at once.
 */
TEST_F(fault, poll_add_sqe_completes_with_enomem)
{
	struct cport_sqe s = { .opcode = CPORT_OP_POLL_ADD, .len = EPOLLIN };
	unsigned int n, enomem = 0;
	struct port pt;
	bool fired;
	int res, p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(1, write(p[1], "x", 1));
	s.fd = p[0];
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					 &fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(EPOLLIN, res) TH_LOG("fault %u: res %d", n,
						      res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* the I/O path: CPORT_OP_READV, request and iovec array allocations */

TEST_F(fault, readv_sqe_completes_with_enomem)
{
	static unsigned char buf[40], data[4096];
	unsigned int n, i, enomem = 0;
	struct cport_sqe s;
	struct iovec v[40];	/* more than UIO_FASTIOV: allocated */
	struct port pt;
	bool fired;
	int f, res;

	CPORT_SKIP_IF_ABSENT();
	f = open("fault_rw.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(4096, pwrite(f, data, sizeof(data), 0));
	for (i = 0; i < 40; i++) {
		v[i].iov_base = &buf[i];
		v[i].iov_len = 1;
	}
	memset(&s, 0, sizeof(s));
	s.opcode = CPORT_OP_READV;
	s.fd = f;
	s.addr = (__u64)(uintptr_t)v;
	s.len = 40;
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					&fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(40, res) TH_LOG("fault %u: res %d", n, res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LE(2, enomem);	/* the request, and the iovec array */
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	close(f);
	unlink("fault_rw.tmp");
}

/* FSYNC allocates its request only: -ENOMEM in its CQE, else 0. */
TEST_F(fault, fsync_sqe_completes_with_enomem)
{
	static unsigned char data[4096];
	unsigned int n, enomem = 0;
	struct cport_sqe s;
	struct port pt;
	bool fired;
	int f, res;

	CPORT_SKIP_IF_ABSENT();
	f = open("fault_fsync.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(4096, pwrite(f, data, sizeof(data), 0));
	memset(&s, 0, sizeof(s));
	s.opcode = CPORT_OP_FSYNC;
	s.fd = f;
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					&fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(0, res) TH_LOG("fault %u: res %d", n, res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LE(1, enomem);	/* the request */
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	close(f);
	unlink("fault_fsync.tmp");
}

/* ----------------------------------------------------------------- */
/* CPORT_IOC_REGISTER, and READ_FIXED */

static int sys_register(int fd, __u32 op, const void *data, __u32 nr)
{
	struct cport_register r = {
		.op = op, .nr = nr, .data = (__u64)(uintptr_t)data,
	};

	return ioctl(fd, CPORT_IOC_REGISTER, &r) < 0 ? -errno : 0;
}

/* Three buffers in @area (12 pages): unaligned, aligned, across pages. */
static void fault_bufs(unsigned char *area, struct iovec *iov)
{
	iov[0] = (struct iovec){ area + 10, 5000 };
	iov[1] = (struct iovec){ area + 4 * 4096, 4096 };
	iov[2] = (struct iovec){ area + 8 * 4096 + 1, 3 * 4096 };
}

/*
 * Every allocation of a buffer registration (the iovec copy, the table,
 * the page and bio_vec arrays, whatever pinning allocates): ENOMEM, with
 * nothing left registered or pinned, and the registration works next.
 */
TEST_F(fault, register_buffers_fails_with_enomem_then_succeeds)
{
	unsigned int n, enomem = 0;
	unsigned char *area;
	struct iovec iov[3];
	struct port pt;
	bool fired;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	area = mmap(NULL, 12 * 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	memset(area, 1, 12 * 4096);
	fault_bufs(area, iov);
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		fault_arm(self->nth, n);
		ret = sys_register(pt.fd, CPORT_REGISTER_BUFFERS, iov, 3);
		fired = fault_fired(self->nth);
		if (ret) {
			ASSERT_EQ(-ENOMEM, ret) TH_LOG("fault %u", n);
			ASSERT_TRUE(fired);
			enomem++;
			EXPECT_EQ(-ENXIO, sys_register(pt.fd,
					CPORT_UNREGISTER_BUFFERS, NULL, 0));
			ASSERT_EQ(0, sys_register(pt.fd,
					CPORT_REGISTER_BUFFERS, iov, 3))
				TH_LOG("register after fault %u", n);
		}
		EXPECT_EQ(0, sys_register(pt.fd, CPORT_UNREGISTER_BUFFERS,
					  NULL, 0));
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made REGISTER_BUFFERS fail with ENOMEM",
	       n - 1, enomem);
	EXPECT_LE(2, enomem);	/* at least the iovec copy and the table */
	expect_port_idle(_metadata, &pt);
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	munmap(area, 12 * 4096);
}

TEST_F(fault, register_files_fails_with_enomem_then_succeeds)
{
	unsigned int n, enomem = 0;
	struct port pt;
	int fds[3], ret;
	bool fired;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	fds[0] = open("/", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fds[0]);
	fds[1] = -1;
	fds[2] = fds[0];
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		fault_arm(self->nth, n);
		ret = sys_register(pt.fd, CPORT_REGISTER_FILES, fds, 3);
		fired = fault_fired(self->nth);
		if (ret) {
			ASSERT_EQ(-ENOMEM, ret) TH_LOG("fault %u", n);
			ASSERT_TRUE(fired);
			enomem++;
			EXPECT_EQ(-ENXIO, sys_register(pt.fd,
					CPORT_UNREGISTER_FILES, NULL, 0));
			ASSERT_EQ(0, sys_register(pt.fd, CPORT_REGISTER_FILES,
						  fds, 3))
				TH_LOG("register after fault %u", n);
		}
		EXPECT_EQ(0, sys_register(pt.fd, CPORT_UNREGISTER_FILES,
					  NULL, 0));
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made REGISTER_FILES fail with ENOMEM",
	       n - 1, enomem);
	EXPECT_LE(2, enomem);	/* the fd array copy and the table */
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	close(fds[0]);
}

/* READ_FIXED allocates only its request: -ENOMEM in the CQE, or 40. */
TEST_F(fault, read_fixed_sqe_completes_with_enomem)
{
	static unsigned char buf[4096] __attribute__((aligned(4096)));
	static unsigned char data[4096];
	struct iovec iov = { buf, sizeof(buf) };
	unsigned int n, enomem = 0;
	struct cport_sqe s;
	struct port pt;
	bool fired;
	int f, res;

	CPORT_SKIP_IF_ABSENT();
	f = open("fault_fixed.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(4096, pwrite(f, data, sizeof(data), 0));
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	ASSERT_EQ(0, sys_register(pt.fd, CPORT_REGISTER_BUFFERS, &iov, 1));
	ASSERT_EQ(0, sys_register(pt.fd, CPORT_REGISTER_FILES, &f, 1));
	memset(&s, 0, sizeof(s));
	s.opcode = CPORT_OP_READ_FIXED;
	s.flags = CPORT_SQE_F_FIXED_FILE;
	s.fd = 0;
	s.addr = (__u64)(uintptr_t)(buf + 100);
	s.len = 40;
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					&fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(40, res) TH_LOG("fault %u: res %d", n, res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LE(1, enomem);	/* the request */
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
	close(f);
	unlink("fault_fixed.tmp");
}

/* ----------------------------------------------------------------- */
/* the submit path: a batch around a failing op */

/*
 * NOP, TIMEOUT, POST (to the port itself), NOP in one ENTER: whatever
 * allocation fails, all four are consumed and each gets exactly one CQE;
 * only the timer's can be -ENOMEM.
 */
TEST_F(fault, batch_around_failed_timeout_completes_every_sqe)
{
	unsigned int n, i, enomem = 0;
	struct cport_sqe s[4];
	struct cport_cqe c;
	struct port pt;
	int ret, seen[4];
	bool fired;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries < 4 ?
			       4 : variant->sq_entries, 0, 0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s[0] = sqe_nop(0);
		s[1] = sqe_timeout(NSEC_PER_MSEC, 0, 0, 0, 1);
		s[2] = sqe_post(pt.fd, 2, 42, 2);
		s[3] = sqe_nop(3);
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, sq_push(&pt, &s[i]));

		fault_arm(self->nth, n);
		ret = sys_enter(pt.fd, 4, 0, 0, 0);
		fired = fault_fired(self->nth);
		ASSERT_EQ(4, ret) TH_LOG("fault %u", n);

		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 5; i++) {	/* the POST adds one CQE */
			ASSERT_EQ(0, cq_wait(&pt, &c, 10 * NSEC_PER_SEC));
			ASSERT_GT(4, c.user_data);
			seen[c.user_data & 3]++;
			switch (c.user_data) {
			case 1:
				if (c.res == -ENOMEM)
					enomem++;
				else
					EXPECT_EQ(1, c.res);
				break;
			case 2:	/* the POST's own CQE, and the posted one */
				EXPECT_TRUE(c.res == 0 || c.res == 42);
				break;
			default:
				EXPECT_EQ(0, c.res);
			}
		}
		EXPECT_EQ(1, seen[0]);
		EXPECT_EQ(1, seen[1]);
		EXPECT_EQ(2, seen[2]);
		EXPECT_EQ(1, seen[3]);
		expect_port_idle(_metadata, &pt);
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	port_fini(&pt);
}

/*
 * A chain whose allocation fails: the head completes with -ENOMEM, its
 * members with -ECANCELED, and the SQE after the chain runs as usual;
 * ENTER consumes exactly the four SQEs.
 */
TEST_F(fault, linked_chain_completes_every_sqe)
{
	unsigned int n, i, enomem = 0;
	struct cport_sqe s[4];
	struct cport_cqe c[4];
	struct port pt;
	bool fired;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries < 4 ?
			       4 : variant->sq_entries, 0, 0));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		for (i = 0; i < 4; i++) {
			s[i] = sqe_nop(i);
			if (i < 2)
				s[i].flags = CPORT_SQE_F_LINK;
			ASSERT_EQ(0, sq_push(&pt, &s[i]));
		}
		fault_arm(self->nth, n);
		ret = sys_enter(pt.fd, 4, 0, 0, 0);
		fired = fault_fired(self->nth);
		ASSERT_EQ(4, ret) TH_LOG("fault %u", n);
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, cq_wait(&pt, &c[i], 10 * NSEC_PER_SEC));
		for (i = 0; i < 4; i++)
			EXPECT_EQ(i, c[i].user_data);
		if (c[0].res == -ENOMEM) {
			enomem++;
			EXPECT_EQ(-ECANCELED, c[1].res);
			EXPECT_EQ(-ECANCELED, c[2].res);
		} else {
			EXPECT_EQ(0, c[0].res);
			EXPECT_EQ(0, c[1].res);
			EXPECT_EQ(0, c[2].res);
		}
		EXPECT_EQ(0, c[3].res);
		expect_port_idle(_metadata, &pt);
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	port_fini(&pt);
}

/* ----------------------------------------------------------------- */
/* the post path */

/*
 * Posting never allocates (DESIGN: completions never allocate, so they
 * cannot fail for lack of memory): with the very first allocation set to
 * fail, CPORT_IOC_POST, CPORT_OP_POST to the port itself and to another
 * port, and NOP never reach it.
 */
/* ----------------------------------------------------------------- */
/* event flags: CPORT_OP_FLAG_WAIT and CPORT_IOC_CLUSTER */

/*
 * A FLAG_WAIT whose condition holds at submission still allocates its
 * request first: it completes with the flag's number, or -ENOMEM.
 */
TEST_F(fault, flag_wait_sqe_completes_with_enomem)
{
	struct cport_flags f = { .op = CPORT_FLAGS_SET, .bit = 6 };
	struct cport_sqe s = {
		.opcode = CPORT_OP_FLAG_WAIT, .addr = 1ULL << 6,
	};
	unsigned int n, enomem = 0;
	struct port pt;
	bool fired;
	int res;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	ASSERT_EQ(0, ioctl(pt.fd, CPORT_IOC_FLAGS, &f));
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					 &fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
		} else {
			EXPECT_EQ(6, res) TH_LOG("fault %u: res %d", n, res);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	/* Not consumed, and nothing left waiting on the cluster. */
	f.op = CPORT_FLAGS_READ;
	f.bit = 0;
	ASSERT_EQ(0, ioctl(pt.fd, CPORT_IOC_FLAGS, &f));
	EXPECT_EQ(1ULL << 6, f.result);
	expect_nop_works(_metadata, &pt, 1);
	port_fini(&pt);
}

/*
 * Creating a common cluster fails with ENOMEM and leaves no name behind
 * (an attach finds nothing) and no count against the user's limit.
 */
TEST_F(fault, cluster_create_fails_with_enomem_then_succeeds)
{
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_ASSOC, .flags = CPORT_CLUSTER_CREATE,
		.mode = 0600, .name = "fault.create",
	};
	unsigned int n, enomem = 0;
	bool fired;
	int fd, ret;

	CPORT_SKIP_IF_ABSENT();
	fd = cport_open();
	ASSERT_LE(0, fd);
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		c.flags = CPORT_CLUSTER_CREATE;
		c.mode = 0600;
		fault_arm(self->nth, n);
		ret = ioctl(fd, CPORT_IOC_CLUSTER, &c);
		fired = fault_fired(self->nth);
		if (ret < 0) {
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_TRUE(fired);
			enomem++;
			c.flags = 0;
			c.mode = 0;
			EXPECT_EQ(-1, ioctl(fd, CPORT_IOC_CLUSTER, &c));
			EXPECT_EQ(ENOENT, errno);
		} else {
			ASSERT_EQ(1, ret);
			ASSERT_EQ(1, c.cluster);
			c.op = CPORT_CLUSTER_DISASSOC;
			c.flags = 0;
			c.mode = 0;
			memset(c.name, 0, sizeof(c.name));
			ASSERT_EQ(0, ioctl(fd, CPORT_IOC_CLUSTER, &c));
			c.op = CPORT_CLUSTER_ASSOC;
			c.cluster = 0;
			strcpy(c.name, "fault.create");
		}
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made ASSOC fail with ENOMEM", n - 1,
	       enomem);
	EXPECT_LT(0, enomem);
	close(fd);
}

/* ----------------------------------------------------------------- */
/* CPORT_IOC_GETQ */

/* GETQ of one CQE without sleeping, or (@flags) LEAVE. */
static int fault_getq(int fd, struct cport_cqe *c, __u32 flags)
{
	struct cport_getq q = {
		.cqes = flags ? 0 : (__u64)(uintptr_t)c,
		.nr = flags ? 0 : 1,
		.flags = flags ? flags : CPORT_GETQ_TIMEOUT,
	};
	int ret = ioctl(fd, CPORT_IOC_GETQ, &q);

	return ret < 0 ? -errno : ret;
}

/*
 * A pool thread's registration is allocated at its first GETQ (with
 * preempt notifiers) or at every GETQ (without): a failure takes nothing
 * and leaves the thread uncounted.
 */
TEST_F(fault, getq_fails_with_enomem_takes_nothing)
{
	unsigned int n, enomem = 0;
	struct cport_params p;
	struct cport_cqe c;
	struct port pt;
	bool fired;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		memset(&pt, 0, sizeof(pt));
		pt.fd = cport_open();
		ASSERT_LE(0, pt.fd);
		memset(&p, 0, sizeof(p));
		p.sq_entries = variant->sq_entries;
		p.concurrency = 1;
		ASSERT_EQ(0, sys_setup(pt.fd, &p));
		pt.p = p;
		ASSERT_EQ(0, port_map(&pt));
		ASSERT_EQ(0, sys_post(pt.fd, n, 0));

		fault_arm(self->nth, n);
		ret = fault_getq(pt.fd, &c, 0);
		fired = fault_fired(self->nth);
		if (ret < 0) {
			ASSERT_EQ(-ENOMEM, ret);
			ASSERT_TRUE(fired);
			enomem++;
			EXPECT_EQ(1, cq_ready(&pt));
			EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
			ASSERT_EQ(1, fault_getq(pt.fd, &c, 0))
				TH_LOG("GETQ after fault %u", n);
		} else {
			ASSERT_EQ(1, ret);
		}
		EXPECT_EQ(n, c.user_data);
		EXPECT_EQ(1, fdinfo(pt.fd, "pool_running"));
		EXPECT_EQ(0, fault_getq(pt.fd, NULL, CPORT_GETQ_LEAVE));
		EXPECT_EQ(0, fdinfo(pt.fd, "pool_running"));
		port_fini(&pt);
		if (!fired)
			break;
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u made GETQ fail with ENOMEM", n - 1,
	       enomem);
	EXPECT_LT(0, enomem);
}

/*
 * A NOP with a completion signal: the signal's record is the only
 * allocation. -ENOMEM queues no signal; success queues exactly one.
 */
TEST_F(fault, signal_sqe_completes_with_enomem_and_no_signal)
{
	struct cport_sqe s = sqe_nop(0);
	struct timespec zero = { 0, 0 }, wait = { 5, 0 };
	unsigned int n, enomem = 0;
	int signo = SIGRTMIN + 4;
	bool fired, again;
	struct port pt;
	sigset_t set;
	siginfo_t si;
	int res;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	if (!(pt.p.features & CPORT_FEAT_SIGNAL)) {
		port_fini(&pt);
		SKIP(return, "no CPORT_FEAT_SIGNAL in this module");
	}
	sigemptyset(&set);
	sigaddset(&set, signo);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	s.flags = CPORT_SQE_F_SIGNAL;
	s.sig_signo = signo;
	for (n = 1; n <= FAULT_MAX_POINTS; n++) {
		s.user_data = n;
		s.sig_value = n;
		res = submit_with_fault(_metadata, &pt, self->nth, n, s,
					 &fired);
		if (res == -ENOMEM) {
			EXPECT_TRUE(fired);
			enomem++;
			EXPECT_EQ(-1, sigtimedwait(&set, &si, &zero));
		} else {
			EXPECT_EQ(0, res) TH_LOG("fault %u: res %d", n, res);
			ASSERT_EQ(signo, sigtimedwait(&set, &si, &wait));
			EXPECT_EQ(n, (unsigned long)si.si_value.sival_ptr);
		}
		if (!fired)
			break;
		/* The same SQE works right after. */
		s.user_data = ~0ULL;
		EXPECT_EQ(0, submit_with_fault(_metadata, &pt, self->nth,
						FAULT_MAX_POINTS, s, &again));
		EXPECT_FALSE(again);
		ASSERT_EQ(signo, sigtimedwait(&set, &si, &wait));
	}
	ASSERT_GE(FAULT_MAX_POINTS, n);
	TH_LOG("%u allocations, %u gave a -ENOMEM CQE", n - 1, enomem);
	EXPECT_LT(0, enomem);
	port_fini(&pt);
}

TEST_F(fault, post_and_nop_never_allocate)
{
	struct port pt, target;
	struct cport_sqe s;
	struct cport_cqe c;
	bool fired;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, variant->sq_entries, variant->cq_entries,
			       0));
	ASSERT_EQ(0, port_init(&target, 4, 0, 0));

	fault_arm(self->nth, 1);
	ret = sys_post(pt.fd, 7, -7);
	fired = fault_fired(self->nth);
	EXPECT_EQ(0, ret);
	EXPECT_FALSE(fired) TH_LOG("CPORT_IOC_POST allocated");
	ASSERT_TRUE(cq_pop(&pt, &c));
	EXPECT_EQ(7, c.user_data);
	EXPECT_EQ(-7, c.res);

	s = sqe_post(target.fd, 8, 8, 9);
	ASSERT_EQ(0, sq_push(&pt, &s));
	fault_arm(self->nth, 1);
	ret = sys_enter(pt.fd, 1, 0, 0, 0);
	fired = fault_fired(self->nth);
	EXPECT_EQ(1, ret);
	EXPECT_FALSE(fired) TH_LOG("CPORT_OP_POST allocated");
	ASSERT_TRUE(cq_pop(&pt, &c));
	EXPECT_EQ(9, c.user_data);
	EXPECT_EQ(0, c.res);
	ASSERT_TRUE(cq_pop(&target, &c));
	EXPECT_EQ(8, c.user_data);
	EXPECT_EQ(8, c.res);

	s = sqe_post(pt.fd, 10, 10, 11);
	ASSERT_EQ(0, sq_push(&pt, &s));
	fault_arm(self->nth, 1);
	ret = sys_enter(pt.fd, 1, 0, 0, 0);
	fired = fault_fired(self->nth);
	EXPECT_EQ(1, ret);
	EXPECT_FALSE(fired) TH_LOG("CPORT_OP_POST to itself allocated");
	EXPECT_EQ(2, cq_ready(&pt));

	while (cq_pop(&pt, &c))
		;
	s = sqe_nop(12);
	ASSERT_EQ(0, sq_push(&pt, &s));
	fault_arm(self->nth, 1);
	ret = sys_enter(pt.fd, 1, 0, 0, 0);
	fired = fault_fired(self->nth);
	EXPECT_EQ(1, ret);
	EXPECT_FALSE(fired) TH_LOG("NOP allocated");
	ASSERT_TRUE(cq_pop(&pt, &c));
	EXPECT_EQ(12, c.user_data);

	expect_port_idle(_metadata, &pt);
	port_fini(&target);
	port_fini(&pt);
}

TEST_HARNESS_MAIN
