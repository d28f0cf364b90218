// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_OP_READ, _WRITE, _READV, _WRITEV and _FSYNC: data, offsets and the
 * file position, every argument check, pipes (non-blocking only), cancel
 * racing the workers, and close with I/O in flight.
 *
 * Regular files here live in the guest's root file system (ramfs on the
 * stock 6.1 kernel: no FMODE_NOWAIT, so every op runs on the workqueue;
 * tmpfs has it on newer kernels, where cached data completes inline). The
 * results must be the same either way.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cport_test.h"

#define FILE_SIZE	(64 * 1024)
#define WAIT_NS		(10 * NSEC_PER_SEC)

static struct cport_sqe sqe_fsync(int fd, __u32 op_flags, __u64 user_data)
{
	struct cport_sqe s = {
		.opcode = CPORT_OP_FSYNC, .fd = fd, .op_flags = op_flags,
		.user_data = user_data,
	};

	return s;
}

/* Byte @i of the pattern the test file is filled with. */
static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 8) + 1);
}

FIXTURE(rw) {
	struct port pt;
	int file;		/* FILE_SIZE bytes of pat(), O_RDWR */
	char path[64];
};

FIXTURE_SETUP(rw)
{
	unsigned char buf[FILE_SIZE];
	size_t i;

	self->pt.fd = -1;
	self->file = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 64, 0, 0));
	snprintf(self->path, sizeof(self->path), "rw_test.%d", getpid());
	self->file = open(self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
	ASSERT_LE(0, self->file);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pat(i);
	ASSERT_EQ(FILE_SIZE, pwrite(self->file, buf, sizeof(buf), 0));
}

FIXTURE_TEARDOWN(rw)
{
	if (self->file >= 0) {
		close(self->file);
		unlink(self->path);
	}
	port_fini(&self->pt);
}

/* ----------------------------------------------------------------- */
/* data */

TEST_F(rw, read_at_offset_exact_bytes)
{
	unsigned char buf[5000];
	size_t i;

	CPORT_SKIP_IF_ABSENT();
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5000, run_one(_metadata, &self->pt,
				sqe_rw(CPORT_OP_READ, self->file, buf, 5000,
				       1234, 1)));
	for (i = 0; i < sizeof(buf); i++)
		ASSERT_EQ(pat(1234 + i), buf[i]) TH_LOG("byte %zu", i);
	/* An explicit offset leaves the file position alone. */
	EXPECT_EQ(0, lseek(self->file, 0, SEEK_CUR));
}

TEST_F(rw, write_at_offset_then_pread)
{
	unsigned char in[3000], out[3000];
	size_t i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	ASSERT_EQ(3000, run_one(_metadata, &self->pt,
				sqe_rw(CPORT_OP_WRITE, self->file, in, 3000,
				       FILE_SIZE - 1000, 2)));
	/* The file grew by 2000 bytes. */
	EXPECT_EQ(FILE_SIZE + 2000, lseek(self->file, 0, SEEK_END));
	ASSERT_EQ(3000, pread(self->file, out, 3000, FILE_SIZE - 1000));
	EXPECT_EQ(0, memcmp(in, out, 3000));
}

TEST_F(rw, readv_and_writev_scatter_gather)
{
	unsigned char a[100], b[1], c[4000], w1[10], w2[20];
	struct iovec rv[3] = {
		{ a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) },
	};
	struct iovec wv[2] = { { w1, sizeof(w1) }, { w2, sizeof(w2) } };
	unsigned char check[30];
	size_t i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(4101, run_one(_metadata, &self->pt,
				sqe_rw(CPORT_OP_READV, self->file, rv, 3, 10,
				       3)));
	for (i = 0; i < sizeof(a); i++)
		ASSERT_EQ(pat(10 + i), a[i]);
	ASSERT_EQ(pat(110), b[0]);
	for (i = 0; i < sizeof(c); i++)
		ASSERT_EQ(pat(111 + i), c[i]);

	memset(w1, 'x', sizeof(w1));
	memset(w2, 'y', sizeof(w2));
	ASSERT_EQ(30, run_one(_metadata, &self->pt,
			      sqe_rw(CPORT_OP_WRITEV, self->file, wv, 2, 500,
				     4)));
	ASSERT_EQ(30, pread(self->file, check, 30, 500));
	for (i = 0; i < 30; i++)
		ASSERT_EQ(i < 10 ? 'x' : 'y', check[i]);
}

TEST_F(rw, readv_more_than_fast_iovecs)
{
	static unsigned char buf[40];
	struct iovec v[40];
	size_t i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 40; i++) {
		v[i].iov_base = &buf[39 - i];	/* reversed */
		v[i].iov_len = 1;
	}
	ASSERT_EQ(40, run_one(_metadata, &self->pt,
			      sqe_rw(CPORT_OP_READV, self->file, v, 40, 0, 5)));
	for (i = 0; i < 40; i++)
		ASSERT_EQ(pat(i), buf[39 - i]);
}

TEST_F(rw, current_position_used_and_advanced)
{
	unsigned char buf[100];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(200, lseek(self->file, 200, SEEK_SET));
	ASSERT_EQ(100, run_one(_metadata, &self->pt,
			       sqe_rw(CPORT_OP_READ, self->file, buf, 100,
				      CPORT_POS_CURRENT, 6)));
	EXPECT_EQ(pat(200), buf[0]);
	EXPECT_EQ(pat(299), buf[99]);
	EXPECT_EQ(300, lseek(self->file, 0, SEEK_CUR));

	memset(buf, 'z', sizeof(buf));
	ASSERT_EQ(100, run_one(_metadata, &self->pt,
			       sqe_rw(CPORT_OP_WRITE, self->file, buf, 100,
				      CPORT_POS_CURRENT, 7)));
	EXPECT_EQ(400, lseek(self->file, 0, SEEK_CUR));
	ASSERT_EQ(1, pread(self->file, buf, 1, 399));
	EXPECT_EQ('z', buf[0]);
}

TEST_F(rw, short_read_at_eof_then_zero)
{
	unsigned char buf[100];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(10, run_one(_metadata, &self->pt,
			      sqe_rw(CPORT_OP_READ, self->file, buf, 100,
				     FILE_SIZE - 10, 8)));
	EXPECT_EQ(pat(FILE_SIZE - 1), buf[9]);
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_rw(CPORT_OP_READ, self->file, buf, 100,
				    FILE_SIZE, 9)));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_rw(CPORT_OP_READ, self->file, buf, 100,
				    1ULL << 40, 10)));
}

TEST_F(rw, zero_length_ops_return_zero)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_rw(CPORT_OP_READ, self->file, NULL, 0, 0, 1)));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_rw(CPORT_OP_WRITE, self->file, NULL, 0, 0, 2)));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_rw(CPORT_OP_READV, self->file, NULL, 0, 0, 3)));
}

/* Many reads of distinct ranges in one ENTER: each lands in its buffer. */
TEST_F(rw, batch_of_reads_each_complete_once)
{
	static unsigned char bufs[32][2048];
	struct cport_cqe c;
	int seen[32] = { 0 };
	size_t i, j;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 32; i++) {
		struct cport_sqe s = sqe_rw(CPORT_OP_READ, self->file, bufs[i],
					    2048, i * 2048, i);

		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(32, sys_enter(self->pt.fd, 32, 0, 0, 0));
	for (i = 0; i < 32; i++) {
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		ASSERT_GT(32, c.user_data);
		ASSERT_EQ(2048, c.res);
		seen[c.user_data]++;
	}
	for (i = 0; i < 32; i++) {
		EXPECT_EQ(1, seen[i]);
		for (j = 0; j < 2048; j++)
			ASSERT_EQ(pat(i * 2048 + j), bufs[i][j]);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/*
 * Random writes, reads, writev and readv at random offsets and sizes,
 * checked against a copy of what the file must hold.
 */
TEST_F_TIMEOUT(rw, random_ops_match_shadow_copy, 600)
{
	static unsigned char shadow[FILE_SIZE], buf[8192], got[8192];
	int rounds = 300 * stress_factor(), round, res;
	__u64 seed = 0x5eed5eedULL;
	struct iovec v[4];
	size_t i, off, len;
	__u8 op;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < FILE_SIZE; i++)
		shadow[i] = pat(i);
	for (round = 0; round < rounds; round++) {
		op = CPORT_OP_READ + xrand(&seed) % 4;
		len = 1 + xrand(&seed) % sizeof(buf);
		off = xrand(&seed) % (FILE_SIZE - len + 1);
		switch (op) {
		case CPORT_OP_WRITE:
		case CPORT_OP_WRITEV:
			for (i = 0; i < len; i++)
				buf[i] = (unsigned char)xrand(&seed);
			break;
		default:
			memset(got, 0, len);
		}
		/* The vectored ops split the buffer in four unequal parts. */
		v[0].iov_base = op == CPORT_OP_WRITEV ? buf : got;
		v[0].iov_len = len / 7;
		for (i = 1; i < 4; i++) {
			v[i].iov_base = (char *)v[i - 1].iov_base +
					v[i - 1].iov_len;
			v[i].iov_len = i < 3 ? len / (5 - i) / 2 : 0;
		}
		v[3].iov_len = len - (v[0].iov_len + v[1].iov_len +
				      v[2].iov_len);
		if (op == CPORT_OP_READV || op == CPORT_OP_WRITEV)
			res = run_one(_metadata, &self->pt,
				      sqe_rw(op, self->file, v, 4, off, round));
		else
			res = run_one(_metadata, &self->pt,
				      sqe_rw(op, self->file,
					     op == CPORT_OP_WRITE ? buf : got,
					     len, off, round));
		ASSERT_EQ((int)len, res) TH_LOG("round %d op %u", round, op);
		if (op == CPORT_OP_WRITE || op == CPORT_OP_WRITEV)
			memcpy(shadow + off, buf, len);
		else
			ASSERT_EQ(0, memcmp(got, shadow + off, len))
				TH_LOG("round %d op %u off %zu len %zu", round,
				       op, off, len);
	}
	/* And the file as a whole. */
	for (off = 0; off < FILE_SIZE; off += sizeof(got)) {
		ASSERT_EQ((ssize_t)sizeof(got),
			  pread(self->file, got, sizeof(got), off));
		ASSERT_EQ(0, memcmp(got, shadow + off, sizeof(got)));
	}
}

/* A length beyond MAX_RW_COUNT is a short transfer, not an error. */
TEST_F(rw, huge_length_reads_what_there_is)
{
	unsigned char *buf = malloc(4096);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, buf);
	/* 0xffffffff bytes asked, 100 there: the buffer only needs 100. */
	EXPECT_EQ(100, run_one(_metadata, &self->pt,
			       sqe_rw(CPORT_OP_READ, self->file, buf,
				      0xffffffffU, FILE_SIZE - 100, 1)));
	EXPECT_EQ(pat(FILE_SIZE - 1), buf[99]);
	free(buf);
}

/*
 * Ops belong to the port, not to the thread that submitted them: a thread
 * submits a read of an empty pipe and exits; the read completes later.
 */
static void *submit_and_exit(void *arg)
{
	struct cport_sqe *s = arg;
	struct port *pt = (struct port *)(uintptr_t)s->addr2;
	struct cport_sqe copy = *s;

	copy.addr2 = 0;
	return (void *)(intptr_t)sq_submit_one(pt, &copy);
}

TEST_F(rw, read_outlives_submitting_thread)
{
	char out[8] = "";
	struct cport_sqe s;
	struct cport_cqe c;
	pthread_t thr;
	void *ret;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out), CPORT_POS_CURRENT,
		   77);
	s.addr2 = (__u64)(uintptr_t)&self->pt;	/* smuggled to the thread */
	ASSERT_EQ(0, pthread_create(&thr, NULL, submit_and_exit, &s));
	ASSERT_EQ(0, pthread_join(thr, &ret));
	ASSERT_EQ(1, (int)(intptr_t)ret);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	ASSERT_EQ(4, write(p[1], "late", 4));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(77, c.user_data);
	EXPECT_EQ(4, c.res);
	EXPECT_EQ(0, memcmp(out, "late", 4));
	close(p[0]);
	close(p[1]);
}

/*
 * A read of a signalfd waits on its creator's signal handlers, which go
 * away when that process is reaped (POLLFREE): the read leaves the queue
 * and ends. Its buffer's address space went with the process before, so
 * it ends with -EFAULT, and the port, open in the parent, is fine.
 * signalfd has ->read_iter only since 6.8: before, the read fails at once
 * with -EINVAL and the test skips.
 */
static int signalfd_read_child(void *arg)
{
	static struct signalfd_siginfo si;
	struct port *pt = arg;
	struct cport_sqe s;
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK);
	if (sfd < 0)
		return 1;
	s = sqe_rw(CPORT_OP_READ, sfd, &si, sizeof(si), CPORT_POS_CURRENT,
		   0x3a0);
	if (sq_submit_one(pt, &s) != 1)
		return 2;
	/* Waiting, not failed at once, unless signalfd cannot be read so. */
	if (cq_ready(pt)) {
		struct cport_cqe c = { .res = 0 };

		cq_pop(pt, &c);
		return c.res == -EINVAL ? 4 : 3;
	}
	return 0;
}

TEST_F(rw, signalfd_read_ends_when_its_queue_goes_away)
{
	struct cport_cqe c;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ret = child_run(signalfd_read_child, &self->pt);
	if (ret == 4)
		SKIP(return, "signalfd has no read_iter (before 6.8)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(0x3a0, c.user_data);
	EXPECT_EQ(-EFAULT, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "inflight", 0, 20000));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "reserved"));
}

/* ----------------------------------------------------------------- */
/* errors */

TEST_F(rw, bad_fd_ebadf)
{
	char buf[8];

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_READ, -1, buf, 8, 0, 1)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_WRITE, 999, buf, 8, 0, 2)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_fsync(-5, 0, 3)));
}

TEST_F(rw, wrong_direction_ebadf)
{
	int ro = open(self->path, O_RDONLY | O_CLOEXEC);
	int wo = open(self->path, O_WRONLY | O_CLOEXEC);
	struct iovec v = { NULL, 0 };
	char buf[8];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_WRITE, ro, buf, 8, 0, 1)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_WRITEV, ro, &v, 1, 0, 2)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_READ, wo, buf, 8, 0, 3)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_READV, wo, &v, 1, 0, 4)));
	close(ro);
	close(wo);
}

TEST_F(rw, bad_buffer_efault)
{
	void *bad = fault_page();
	struct iovec v = { bad, 16 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READ, self->file, bad, 16,
					  0, 1)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_WRITE, self->file, bad, 16,
					  0, 2)));
	/* A kernel address is refused before any I/O. */
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READ, self->file,
					  (void *)0xffff888000000000ULL, 16,
					  0, 3)));
	/* The iovec array itself unreadable, or pointing nowhere. */
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READV, self->file, bad, 2,
					  0, 4)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READV, self->file, &v, 1,
					  0, 5)));
	/* The file did not change. */
	EXPECT_EQ(FILE_SIZE, lseek(self->file, 0, SEEK_END));
	munmap(bad, 4096);
}

TEST_F(rw, bad_fields_einval)
{
	struct cport_sqe s;
	char buf[8];
	__u8 op;

	CPORT_SKIP_IF_ABSENT();
	for (op = CPORT_OP_READ; op <= CPORT_OP_WRITEV; op++) {
		s = sqe_rw(op, self->file, buf, 1, 0, op);
		s.op_flags = 1;
		EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s))
			TH_LOG("op %u op_flags", op);
		s = sqe_rw(op, self->file, buf, 1, 0, op);
		s.addr2 = 1;
		EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s))
			TH_LOG("op %u addr2", op);
		/* Negative offsets other than CPORT_POS_CURRENT. */
		s = sqe_rw(op, self->file, buf, 1, 1ULL << 63, op);
		EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s))
			TH_LOG("op %u off 2^63", op);
		s = sqe_rw(op, self->file, buf, 1, ~0ULL - 1, op);
		EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s))
			TH_LOG("op %u off -2", op);
	}
}

TEST_F(rw, too_many_iovecs_einval)
{
	CPORT_SKIP_IF_ABSENT();
	/* UIO_MAXIOV is 1024; the array is not even read. */
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READV, self->file, NULL,
					  1025, 0, 1)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_WRITEV, self->file, NULL,
					  ~0U, 0, 2)));
}

TEST_F(rw, char_device_without_nowait_eopnotsupp)
{
	char buf[8];

	CPORT_SKIP_IF_ABSENT();
	/*
	 * A port is neither a regular file nor a block device, and cannot be
	 * tried without blocking: no worker is risked on it.
	 */
	EXPECT_EQ(-EOPNOTSUPP, run_one(_metadata, &self->pt,
				       sqe_rw(CPORT_OP_READ, self->pt.fd, buf,
					      8, CPORT_POS_CURRENT, 1)));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/*
 * A directory is neither a regular file nor a block device, and cannot be
 * tried without blocking: -EOPNOTSUPP, at an offset or at the file
 * position, READ or READV, where read(2) says EISDIR. Opened with
 * O_NONBLOCK it is tried, and vfs_iter_read() refuses a file without
 * ->read_iter: -EINVAL. It is never open for writing: WRITE is -EBADF.
 */
TEST_F(rw, directory_read_eopnotsupp_or_einval)
{
	struct iovec iov;
	char buf[8];
	int d;

	CPORT_SKIP_IF_ABSENT();
	d = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, d);
	EXPECT_EQ(-1, read(d, buf, sizeof(buf)));
	EXPECT_EQ(EISDIR, errno);
	EXPECT_EQ(-EOPNOTSUPP, run_one(_metadata, &self->pt,
				       sqe_rw(CPORT_OP_READ, d, buf, 8,
					      CPORT_POS_CURRENT, 1)));
	EXPECT_EQ(-EOPNOTSUPP, run_one(_metadata, &self->pt,
				       sqe_rw(CPORT_OP_READ, d, buf, 8, 0, 2)));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	EXPECT_EQ(-EOPNOTSUPP, run_one(_metadata, &self->pt,
				       sqe_rw(CPORT_OP_READV, d, &iov, 1, 0,
					      3)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_rw(CPORT_OP_WRITE, d, buf, 8, 0, 4)));
	close(d);

	d = open(".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, d);
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READ, d, buf, 8,
					  CPORT_POS_CURRENT, 5)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READ, d, buf, 8, 0, 6)));
	close(d);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

/* ----------------------------------------------------------------- */
/* streams: a non-blocking attempt, then a wait for readiness */

/* No CQE arrives within @ms. */
static bool no_cqe_for(struct port *pt, unsigned int ms)
{
	struct cport_cqe c;

	return cq_wait(pt, &c, ms * NSEC_PER_MSEC) == -ETIME;
}

TEST_F(rw, nonblocking_pipe_write_then_read_inline)
{
	char in[] = "hello pipe", out[32] = "";
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	EXPECT_EQ(10, run_one(_metadata, &self->pt,
			      sqe_rw(CPORT_OP_WRITE, p[1], in, 10,
				     CPORT_POS_CURRENT, 1)));
	EXPECT_EQ(10, run_one(_metadata, &self->pt,
			      sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out),
				     CPORT_POS_CURRENT, 2)));
	EXPECT_STREQ("hello pipe", out);
	close(p[0]);
	close(p[1]);
}

/* A read of an empty pipe waits; a write() by the test completes it. */
TEST_F(rw, empty_pipe_read_completes_when_data_arrives)
{
	char out[32] = "";
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out), CPORT_POS_CURRENT, 7);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_TRUE(no_cqe_for(&self->pt, 50));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));
	ASSERT_EQ(5, write(p[1], "later", 5));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(7, c.user_data);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(0, memcmp(out, "later", 5));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* A write to a full pipe waits until a read() makes room. */
TEST_F(rw, full_pipe_write_completes_when_room_appears)
{
	static char big[1 << 20];
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2], n;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	n = run_one(_metadata, &self->pt,
		    sqe_rw(CPORT_OP_WRITE, p[1], big, sizeof(big),
			   CPORT_POS_CURRENT, 1));
	ASSERT_LT(0, n);
	ASSERT_GT((int)sizeof(big), n);	/* the pipe is full */
	s = sqe_rw(CPORT_OP_WRITE, p[1], "xyz", 3, CPORT_POS_CURRENT, 2);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_TRUE(no_cqe_for(&self->pt, 50));
	/* Drain it all: the waiting write lands behind. */
	ASSERT_EQ(n, read(p[0], big, sizeof(big)));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(3, c.res);
	ASSERT_EQ(3, read(p[0], big, sizeof(big)));
	EXPECT_EQ(0, memcmp(big, "xyz", 3));
	close(p[0]);
	close(p[1]);
}

/* The last writer goes away: a waiting read sees end of file. */
TEST_F(rw, waiting_pipe_read_gets_eof_on_writer_close)
{
	char out[8];
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out), CPORT_POS_CURRENT, 3);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));
	close(p[1]);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(0, c.res);
	close(p[0]);
}

/* Two reads wait on one pipe; each write() feeds exactly one of them. */
TEST_F(rw, two_waiting_reads_each_get_one_write)
{
	char a[8] = "", b[8] = "";
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2], got = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = sqe_rw(CPORT_OP_READ, p[0], a, 4, CPORT_POS_CURRENT, 1);
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	s = sqe_rw(CPORT_OP_READ, p[0], b, 4, CPORT_POS_CURRENT, 2);
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	ASSERT_EQ(2, sys_enter(self->pt.fd, 2, 0, 0, 0));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));

	ASSERT_EQ(4, write(p[1], "1111", 4));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(4, c.res);
	got |= 1 << c.user_data;
	/* The other one went back to waiting. */
	EXPECT_TRUE(no_cqe_for(&self->pt, 50));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));

	ASSERT_EQ(4, write(p[1], "2222", 4));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(4, c.res);
	got |= 1 << c.user_data;
	EXPECT_EQ(6, got);
	EXPECT_TRUE((!strcmp(a, "1111") && !strcmp(b, "2222")) ||
		    (!strcmp(a, "2222") && !strcmp(b, "1111")));
	close(p[0]);
	close(p[1]);
}

/* A non-blocking socket: a waiting READ completes on write(). */
TEST_F(rw, socket_read_waits_for_data)
{
	char out[16] = "";
	struct cport_sqe s;
	struct cport_cqe c;
	int sv[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0, sv));
	s = sqe_rw(CPORT_OP_READ, sv[0], out, sizeof(out), CPORT_POS_CURRENT,
		   9);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));
	ASSERT_EQ(6, write(sv[1], "socket", 6));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(9, c.user_data);
	EXPECT_EQ(6, c.res);
	EXPECT_STREQ("socket", out);
	close(sv[0]);
	close(sv[1]);
}

/* A waiting read is cancelled at once, and the data stays in the pipe. */
TEST_F(rw, waiting_pipe_read_cancelled)
{
	struct cport_sqe s;
	struct cport_cqe c;
	char out[8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out), CPORT_POS_CURRENT, 4);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));
	s = sqe_cancel(4, 0, 5);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(4, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(5, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	/* Nobody took what is written now. */
	ASSERT_EQ(2, write(p[1], "ok", 2));
	ASSERT_EQ(2, read(p[0], out, sizeof(out)));
	close(p[0]);
	close(p[1]);
}

static struct cport_sqe sqe_cancel_fd(int fd, __u32 op_flags,
				      __u64 user_data)
{
	struct cport_sqe s = sqe_cancel(0, op_flags | CPORT_CANCEL_FD,
					user_data);

	s.fd = fd;
	return s;
}

/* CPORT_CANCEL_FD: the ops on one file, found through any fd of it. */
TEST_F(rw, cancel_by_fd)
{
	char bufs[3][8];
	struct cport_sqe s;
	struct cport_cqe c;
	int a[2], b[2], i, dup_a, seen = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(a, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, pipe2(b, O_CLOEXEC | O_NONBLOCK));
	for (i = 0; i < 3; i++) {
		s = sqe_rw(CPORT_OP_READ, i < 2 ? a[0] : b[0], bufs[i], 8,
			   CPORT_POS_CURRENT, i);
		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(3, sys_enter(self->pt.fd, 3, 0, 0, 0));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));

	/* Nothing on the write end, nothing on a file with no ops. */
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_cancel_fd(a[1], CPORT_CANCEL_ALL, 10)));
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   sqe_cancel_fd(self->file, 0, 11)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_cancel_fd(-1, 0, 12)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_cancel_fd(1000, 0, 13)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_cancel_fd(a[0], CPORT_CANCEL_ANY, 14)));

	/* Both reads of pipe a, through a dup of its read end. */
	dup_a = fcntl(a[0], F_DUPFD_CLOEXEC, 0);
	ASSERT_LE(0, dup_a);
	s = sqe_cancel_fd(dup_a, CPORT_CANCEL_ALL, 20);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		if (c.user_data == 20) {
			EXPECT_EQ(2, c.res);
		} else {
			ASSERT_GT(2, c.user_data);
			EXPECT_EQ(-ECANCELED, c.res);
			seen |= 1 << c.user_data;
		}
	}
	EXPECT_EQ(3, seen);
	EXPECT_EQ(1, fdinfo(self->pt.fd, "inflight"));

	/* Pipe b's read: the oldest match, res 0. */
	s = sqe_cancel_fd(b[0], 0, 21);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(21, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(dup_a);
	for (i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

/*
 * Cancel racing the wake-up, thousands of times: one ENTER submits a read
 * of an empty pipe (it waits), a write of one byte to that pipe (which
 * wakes the read: a worker retries it on another CPU) and a cancel of the
 * read. The read ends exactly once: with the byte (then the pipe is empty)
 * or with -ECANCELED (then the byte is still in the pipe).
 */
TEST_F_TIMEOUT(rw, cancel_races_readiness_wakeup, 600)
{
	int rounds = 2000 * stress_factor(), round, i, p[2];
	unsigned int got = 0, cancelled = 0;
	struct cport_sqe s[3];
	struct cport_cqe c;
	char in = 'q', out, left;
	int read_res, seen[3], spin;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	for (round = 0; round < rounds; round++) {
		out = 0;
		s[0] = sqe_rw(CPORT_OP_READ, p[0], &out, 1, CPORT_POS_CURRENT,
			      0);
		s[1] = sqe_rw(CPORT_OP_WRITE, p[1], &in, 1, CPORT_POS_CURRENT,
			      1);
		s[2] = sqe_cancel(0, 0, 2);
		for (i = 0; i < 3; i++)
			ASSERT_EQ(0, sq_push(&self->pt, &s[i]));
		if (round & 1) {
			/* Give the worker a varying head start. */
			ASSERT_EQ(2, sys_enter(self->pt.fd, 2, 0, 0, 0));
			for (spin = (round * 37) % 4096; spin; spin--)
				__asm__ __volatile__("" ::: "memory");
			ASSERT_EQ(1, sys_enter(self->pt.fd, 1, 0, 0, 0));
		} else {
			ASSERT_EQ(3, sys_enter(self->pt.fd, 3, 0, 0, 0));
		}
		memset(seen, 0, sizeof(seen));
		read_res = INT_MIN;
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
			ASSERT_GT(3, c.user_data);
			seen[c.user_data % 3]++;
			if (c.user_data == 0) {
				read_res = c.res;
			} else if (c.user_data == 1) {
				ASSERT_EQ(1, c.res);
			} else {
				ASSERT_TRUE(c.res == 0 || c.res == -ENOENT)
					TH_LOG("cancel res %d", c.res);
			}
		}
		ASSERT_EQ(1, seen[0]);
		ASSERT_EQ(1, seen[1]);
		ASSERT_EQ(1, seen[2]);
		if (read_res == 1) {
			ASSERT_EQ('q', out);
			ASSERT_EQ(-1, read(p[0], &left, 1));
			ASSERT_EQ(EAGAIN, errno);
			got++;
		} else {
			ASSERT_EQ(-ECANCELED, read_res);
			ASSERT_EQ(1, read(p[0], &left, 1));
			cancelled++;
		}
		ASSERT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	}
	TH_LOG("%u reads got the byte, %u were cancelled", got, cancelled);
	close(p[0]);
	close(p[1]);
}

/*
 * A blocking pipe: where the kernel marks pipes FMODE_NOWAIT (6.12) it is
 * tried without blocking and then waited for; where it does not (6.1) it
 * is refused with -EOPNOTSUPP, since no worker may sleep on it.
 */
TEST_F(rw, blocking_pipe_waits_or_eopnotsupp)
{
	char in[] = "abc", out[8] = "";
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2], w, r;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	w = run_one(_metadata, &self->pt,
		    sqe_rw(CPORT_OP_WRITE, p[1], in, 3, CPORT_POS_CURRENT, 1));
	r = run_one(_metadata, &self->pt,
		    sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out),
			   CPORT_POS_CURRENT, 2));
	if (w == -EOPNOTSUPP) {
		EXPECT_EQ(-EOPNOTSUPP, r);
		TH_LOG("pipes have no FMODE_NOWAIT on this kernel");
	} else {
		EXPECT_EQ(3, w);
		EXPECT_EQ(3, r);
		EXPECT_STREQ("abc", out);
		/* Empty again: the next read waits, and is cancelled. */
		s = sqe_rw(CPORT_OP_READ, p[0], out, sizeof(out),
			   CPORT_POS_CURRENT, 3);
		ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
		EXPECT_TRUE(no_cqe_for(&self->pt, 20));
		s = sqe_cancel(3, 0, 4);
		ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		EXPECT_EQ(3, c.user_data);
		EXPECT_EQ(-ECANCELED, c.res);
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		EXPECT_EQ(4, c.user_data);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

TEST_F(rw, pipe_with_offset_espipe)
{
	char buf[8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-ESPIPE, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_READ, p[0], buf, 8, 0, 1)));
	EXPECT_EQ(-ESPIPE, run_one(_metadata, &self->pt,
				   sqe_rw(CPORT_OP_WRITE, p[1], buf, 8, 5, 2)));
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* CPORT_SQE_F_ORDERED */

static struct cport_sqe ordered(struct cport_sqe s)
{
	s.flags = CPORT_SQE_F_ORDERED;
	return s;
}

/* 8 one-byte reads wait on a pipe in order; one write feeds them in order. */
TEST_F(rw, ordered_reads_take_bytes_in_submission_order)
{
	char bytes[8];
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	memset(bytes, 0, sizeof(bytes));
	for (i = 0; i < 8; i++) {
		s = ordered(sqe_rw(CPORT_OP_READ, p[0], &bytes[i], 1,
				   CPORT_POS_CURRENT, i));
		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(8, sys_enter(self->pt.fd, 8, 0, 0, 0));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));
	EXPECT_EQ(8, fdinfo(self->pt.fd, "inflight"));
	ASSERT_EQ(8, write(p[1], "abcdefgh", 8));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		/* Each one starts after the one before it ended. */
		EXPECT_EQ((__u64)i, c.user_data);
		EXPECT_EQ(1, c.res);
	}
	EXPECT_EQ(0, memcmp(bytes, "abcdefgh", 8));
	close(p[0]);
	close(p[1]);
}

/* 48 appends through the file position land in submission order. */
TEST_F(rw, ordered_writes_at_file_position_keep_order)
{
	char rec[48][16], got[48 * 16];
	struct cport_sqe s;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, ftruncate(self->file, 0));
	ASSERT_EQ(0, lseek(self->file, 0, SEEK_SET));
	for (i = 0; i < 48; i++) {
		snprintf(rec[i], sizeof(rec[i]), "record %02d .....", i);
		s = ordered(sqe_rw(CPORT_OP_WRITE, self->file, rec[i], 16,
				   CPORT_POS_CURRENT, i));
		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(48, sys_enter(self->pt.fd, 48, 0, 0, 0));
	for (i = 0; i < 48; i++) {
		ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
		EXPECT_EQ((__u64)i, c.user_data);
		EXPECT_EQ(16, c.res);
	}
	ASSERT_EQ((ssize_t)sizeof(got), pread(self->file, got, sizeof(got), 0));
	for (i = 0; i < 48; i++)
		EXPECT_EQ(0, memcmp(&got[i * 16], rec[i], 16)) TH_LOG("rec %d", i);
	EXPECT_EQ(48 * 16, lseek(self->file, 0, SEEK_CUR));
}

/* Cancel a parked op: the one behind it moves up. */
TEST_F(rw, cancelled_parked_op_lets_next_start)
{
	char a = 0, b = 0, cc = 0;
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = ordered(sqe_rw(CPORT_OP_READ, p[0], &a, 1, CPORT_POS_CURRENT, 1));
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	s = ordered(sqe_rw(CPORT_OP_READ, p[0], &b, 1, CPORT_POS_CURRENT, 2));
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	s = ordered(sqe_rw(CPORT_OP_READ, p[0], &cc, 1, CPORT_POS_CURRENT, 3));
	ASSERT_EQ(0, sq_push(&self->pt, &s));
	ASSERT_EQ(3, sys_enter(self->pt.fd, 3, 0, 0, 0));
	EXPECT_TRUE(no_cqe_for(&self->pt, 20));

	s = sqe_cancel(2, 0, 9);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(9, c.user_data);
	EXPECT_EQ(0, c.res);

	ASSERT_EQ(2, write(p[1], "xy", 2));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(1, c.res);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ('x', a);
	EXPECT_EQ(0, b);
	EXPECT_EQ('y', cc);
	close(p[0]);
	close(p[1]);
}

/* Ops on other files are not held up by an ORDERED chain. */
TEST_F(rw, ordered_chain_does_not_hold_other_files)
{
	char a = 0, buf[4];
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	s = ordered(sqe_rw(CPORT_OP_READ, p[0], &a, 1, CPORT_POS_CURRENT, 1));
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_EQ(4, run_one(_metadata, &self->pt,
			     ordered(sqe_rw(CPORT_OP_READ, self->file, buf, 4,
					    0, 2))));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     ordered(sqe_fsync(self->file, 0, 3))));
	ASSERT_EQ(1, write(p[1], "z", 1));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ('z', a);
	close(p[0]);
	close(p[1]);
}

TEST_F(rw, sqe_flags_checked)
{
	struct cport_sqe s;
	char buf[4];

	CPORT_SKIP_IF_ABSENT();
	/* ORDERED is for the file I/O ops only. */
	s = sqe_nop(1);
	s.flags = CPORT_SQE_F_ORDERED;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s = sqe_timeout(1000, 0, 0, 0, 2);
	s.flags = CPORT_SQE_F_ORDERED;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	/* Unknown flags. */
	s = sqe_rw(CPORT_OP_READ, self->file, buf, 4, 0, 3);
	s.flags = 1 << 5;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s.flags = 0x80 | CPORT_SQE_F_ORDERED;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	/* And ORDERED alone works. */
	s.flags = CPORT_SQE_F_ORDERED;
	EXPECT_EQ(4, run_one(_metadata, &self->pt, s));
}

/* Closing the port with a parked chain ends it all. */
TEST(close_with_ordered_chain_parked)
{
	static char bytes[32];
	struct port pt;
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, port_init(&pt, 32, 0, 0));
	for (i = 0; i < 32; i++) {
		struct cport_sqe s = sqe_rw(CPORT_OP_READ, p[0], &bytes[i], 1,
					    CPORT_POS_CURRENT, i);

		s.flags = CPORT_SQE_F_ORDERED;
		ASSERT_EQ(0, sq_push(&pt, &s));
	}
	ASSERT_EQ(32, sys_enter(pt.fd, 32, 0, 0, 0));
	EXPECT_EQ(32, fdinfo(pt.fd, "inflight"));
	port_fini(&pt);
	/* Nothing read what comes now. */
	ASSERT_EQ(3, write(p[1], "abc", 3));
	ASSERT_EQ(3, read(p[0], bytes, sizeof(bytes)));
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* fsync */

TEST_F(rw, fsync_and_datasync_succeed)
{
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_fsync(self->file, 0, 1)));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_fsync(self->file, CPORT_FSYNC_DATASYNC, 2)));
	s = sqe_fsync(self->file, 0, 3);
	s.off = 4096;
	s.len = 4096;
	EXPECT_EQ(0, run_one(_metadata, &self->pt, s));
}

TEST_F(rw, fsync_bad_fields_einval)
{
	struct cport_sqe s;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	s = sqe_fsync(self->file, 2, 1);
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s = sqe_fsync(self->file, 0, 2);
	s.addr = 1;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s = sqe_fsync(self->file, 0, 3);
	s.addr2 = 1;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s = sqe_fsync(self->file, 0, 4);
	s.off = 1ULL << 63;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	s = sqe_fsync(self->file, 0, 5);
	s.off = (1ULL << 63) - 1;
	s.len = 1;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	/* A pipe cannot be synced. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_fsync(p[1], 0, 6)));
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* cancellation and teardown */

/*
 * CANCEL of everything right behind a batch of reads: every read ends with
 * exactly one CQE, either its full length (it ran) or -ECANCELED (it had
 * not started). Which one is a race; the total never varies.
 */
TEST_F_TIMEOUT(rw, cancel_races_workers_one_cqe_each, 600)
{
	static unsigned char bufs[16][1024];
	int rounds = 30 * stress_factor(), round;
	unsigned int cancelled = 0, completed = 0;
	struct cport_cqe c;
	int i, seen[32];

	CPORT_SKIP_IF_ABSENT();
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < 16; i++) {
			struct cport_sqe s = sqe_rw(CPORT_OP_READ, self->file,
						    bufs[i], 1024, i * 1024,
						    i);

			ASSERT_EQ(0, sq_push(&self->pt, &s));
		}
		{
			struct cport_sqe s = sqe_cancel(0, CPORT_CANCEL_ANY |
							CPORT_CANCEL_ALL, 16);

			ASSERT_EQ(0, sq_push(&self->pt, &s));
		}
		ASSERT_EQ(17, sys_enter(self->pt.fd, 17, 0, 0, 0));
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 17; i++) {
			ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
			ASSERT_GE(16, c.user_data);
			seen[c.user_data & 31]++;
			if (c.user_data == 16) {
				/* A count, or nothing left in flight. */
				EXPECT_TRUE(c.res >= 0 || c.res == -ENOENT)
					TH_LOG("cancel res %d", c.res);
			} else if (c.res == -ECANCELED) {
				cancelled++;
			} else {
				ASSERT_EQ(1024, c.res);
				completed++;
			}
		}
		for (i = 0; i < 17; i++)
			ASSERT_EQ(1, seen[i]);
		EXPECT_EQ(0, cq_ready(&self->pt));
		EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	}
	TH_LOG("%u reads ran, %u were cancelled before they started",
	       completed, cancelled);
}

/* Close the port with reads and fsyncs queued: nothing hangs or leaks. */
/*
 * Eight threads share one port, each writing then reading back its own
 * slice of a file in random 1-4 KiB pieces, submitting and reaping
 * concurrently: every CQE is its submitter's (user_data carries the
 * thread), every byte lands where it was written.
 */
#define MT_THREADS	8
#define MT_SLICE	(32 * 1024)

struct mt_arg {
	struct port *pt;
	int file;
	int id;
	int errors;
	pthread_mutex_t *sq_lock;	/* the SQ has one producer at a time */
	int *done;		/* per thread: CQEs reaped for it */
};

static int mt_wait_own(struct mt_arg *a, int want)
{
	struct cport_cqe c;

	/* Anyone may reap anyone's CQE; each thread waits for its count. */
	while (__atomic_load_n(&a->done[a->id], __ATOMIC_ACQUIRE) < want) {
		if (cq_pop_cas(a->pt, &c)) {
			int who = (int)(c.user_data >> 32);

			if (who < 0 || who >= MT_THREADS ||
			    c.res != (int)(c.user_data & 0xffffffff))
				__atomic_add_fetch(&a->errors, 1,
						   __ATOMIC_RELAXED);
			__atomic_add_fetch(&a->done[who], 1, __ATOMIC_RELEASE);
			continue;
		}
		sys_enter(a->pt->fd, 0, 1, CPORT_ENTER_TIMEOUT,
			  NSEC_PER_MSEC);
	}
	return 0;
}

static void *mt_fn(void *p)
{
	struct mt_arg *a = p;
	static __thread unsigned char out[MT_SLICE], in[MT_SLICE];
	__u64 seed = 0x1234567ULL * (a->id + 1);
	size_t off = 0;
	int n = 0, i;

	for (i = 0; i < MT_SLICE; i++)
		out[i] = (unsigned char)(a->id * 31 + i * 7 + (i >> 10));
	/* Writes, in random pieces. */
	while (off < MT_SLICE) {
		size_t len;
		struct cport_sqe s;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		len = 1024 + seed % 3072;
		if (len > MT_SLICE - off)
			len = MT_SLICE - off;
		s = sqe_rw(CPORT_OP_WRITE, a->file, out + off, len,
			   (__u64)a->id * MT_SLICE + off,
			   ((__u64)a->id << 32) | len);
		pthread_mutex_lock(a->sq_lock);
		if (sq_submit_one(a->pt, &s) != 1)
			__atomic_add_fetch(&a->errors, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(a->sq_lock);
		off += len;
		n++;
	}
	mt_wait_own(a, n);
	/* Read the slice back in 4 KiB pieces. */
	for (off = 0; off < MT_SLICE; off += 4096) {
		struct cport_sqe s = sqe_rw(CPORT_OP_READ, a->file, in + off,
					    4096,
					    (__u64)a->id * MT_SLICE + off,
					    ((__u64)a->id << 32) | 4096);

		pthread_mutex_lock(a->sq_lock);
		if (sq_submit_one(a->pt, &s) != 1)
			__atomic_add_fetch(&a->errors, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(a->sq_lock);
		n++;
	}
	mt_wait_own(a, n);
	if (memcmp(in, out, MT_SLICE))
		__atomic_add_fetch(&a->errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

TEST_F_TIMEOUT(rw, many_threads_share_a_port, 120)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct mt_arg args[MT_THREADS];
	pthread_t thr[MT_THREADS];
	int done[MT_THREADS] = { 0 };
	int i, errors = 0;
	struct port pt;

	CPORT_SKIP_IF_ABSENT();
	/* A CQ larger than all that can be in flight: no EBUSY. */
	ASSERT_EQ(0, port_init(&pt, 64, 1024, 0));
	ASSERT_EQ(0, ftruncate(self->file, MT_THREADS * MT_SLICE));
	for (i = 0; i < MT_THREADS; i++) {
		args[i] = (struct mt_arg){
			.pt = &pt, .file = self->file, .id = i,
			.sq_lock = &lock, .done = done,
		};
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, mt_fn, &args[i]));
	}
	for (i = 0; i < MT_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		errors += args[i].errors;
	}
	EXPECT_EQ(0, errors);
	EXPECT_EQ(0, fdinfo(pt.fd, "inflight"));
	port_fini(&pt);
}

TEST(close_with_io_in_flight)
{
	static unsigned char buf[64][4096];
	struct port pt;
	int f, i, round;

	CPORT_SKIP_IF_ABSENT();
	f = open("close_io.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, ftruncate(f, 64 * 4096));
	for (round = 0; round < 10; round++) {
		ASSERT_EQ(0, port_init(&pt, 64, 0, 0));
		for (i = 0; i < 64; i++) {
			struct cport_sqe s = (i & 7) ? sqe_rw(CPORT_OP_READ, f,
				buf[i], 4096, i * 4096, i) : sqe_fsync(f, 0, i);

			ASSERT_EQ(0, sq_push(&pt, &s));
		}
		ASSERT_EQ(64, sys_enter(pt.fd, 64, 0, 0, 0));
		port_fini(&pt);
	}
	close(f);
	unlink("close_io.tmp");
}

/*
 * 100 reads waiting on pipes whose write ends another process keeps open:
 * closing the port ends them at once, and frees the pipes' read ends (the
 * writer then sees EPIPE).
 */
TEST(close_with_100_pipe_reads_waiting)
{
	static char bufs[100][8];
	int p[100][2], i;
	struct port pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, 128, 0, 0));
	for (i = 0; i < 100; i++) {
		struct cport_sqe s;

		ASSERT_EQ(0, pipe2(p[i], O_CLOEXEC | O_NONBLOCK));
		s = sqe_rw(CPORT_OP_READ, p[i][0], bufs[i], 8,
			   CPORT_POS_CURRENT, i);
		ASSERT_EQ(0, sq_push(&pt, &s));
	}
	ASSERT_EQ(100, sys_enter(pt.fd, 100, 0, 0, 0));
	EXPECT_EQ(100, fdinfo(pt.fd, "inflight"));
	for (i = 0; i < 100; i++)
		close(p[i][0]);		/* only the port's references remain */
	port_fini(&pt);
	/* The release dropped them: the read ends are gone. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 100; i++) {
		EXPECT_EQ(-1, write(p[i][1], "x", 1));
		EXPECT_EQ(EPIPE, errno);
		close(p[i][1]);
	}
}

/* A child killed with 100 reads waiting on pipes exits at once. */
static int wait_on_pipes(void *arg)
{
	static char bufs[100][8];
	int (*p)[2] = arg, i;
	struct port pt;

	if (port_init(&pt, 128, 0, 0))
		return 1;
	for (i = 0; i < 100; i++) {
		struct cport_sqe s = sqe_rw(CPORT_OP_READ, p[i][0], bufs[i], 8,
					    CPORT_POS_CURRENT, i);

		if (sq_push(&pt, &s))
			return 2;
	}
	if (sys_enter(pt.fd, 100, 0, 0, 0) != 100)
		return 3;
	/* Wait for a completion that never comes. */
	sys_enter(pt.fd, 0, 1, 0, 0);
	return 4;
}

TEST(killed_with_100_pipe_reads_waiting)
{
	int p[100][2], i, status;
	struct timespec t0, t1;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, pipe2(p[i], O_CLOEXEC | O_NONBLOCK));
	pid = child_start(wait_on_pipes, p);
	ASSERT_LT(0, pid);
	/* Until the child's reads wait: it holds 100 more read ends. */
	sleep_ms(200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status %#x", status);
	TH_LOG("exit took %ld ms", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000000));
	for (i = 0; i < 100; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

/* A child exits with I/O queued: its port goes away with it. */
static int exit_with_io(void *arg)
{
	static unsigned char buf[32][4096];
	int f = *(int *)arg, i;
	struct port pt;

	if (port_init(&pt, 32, 0, 0))
		return 1;
	for (i = 0; i < 32; i++) {
		struct cport_sqe s = sqe_rw(CPORT_OP_READ, f, buf[i], 4096,
					    i * 4096, i);

		if (sq_push(&pt, &s))
			return 2;
	}
	if (sys_enter(pt.fd, 32, 0, 0, 0) != 32)
		return 3;
	_exit(0);	/* port, mapping and queued reads left behind */
}

TEST(exit_with_io_in_flight)
{
	int f, i;

	CPORT_SKIP_IF_ABSENT();
	f = open("exit_io.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, ftruncate(f, 32 * 4096));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, child_run(exit_with_io, &f));
	close(f);
	unlink("exit_io.tmp");
}

TEST_HARNESS_MAIN
