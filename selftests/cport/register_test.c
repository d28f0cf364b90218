// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_IOC_REGISTER, CPORT_OP_READ_FIXED, CPORT_OP_WRITE_FIXED and
 * CPORT_SQE_F_FIXED_FILE: data through registered buffers at random
 * offsets and sizes, registered files with every file op, every errno of
 * the ioctl and of the ops, RLIMIT_MEMLOCK accounting (as nobody, without
 * CAP_IPC_LOCK), and unregistering or closing the port while ops that use
 * the registrations are in flight.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/io_uring.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cport_test.h"

#define FILE_SIZE	(256 * 1024)
#define WAIT_NS		(10 * NSEC_PER_SEC)
#define PAGE		4096UL
/* The anonymous area the buffers are carved from. */
#define AREA_SIZE	(1024 * 1024)

static int sys_register_raw(int fd, struct cport_register *r)
{
	return ioctl(fd, CPORT_IOC_REGISTER, r) < 0 ? -errno : 0;
}

static int sys_register(int fd, __u32 op, const void *data, __u32 nr)
{
	struct cport_register r = {
		.op = op, .nr = nr, .data = (__u64)(uintptr_t)data,
	};

	return sys_register_raw(fd, &r);
}

static int reg_bufs(int fd, const struct iovec *iov, __u32 nr)
{
	return sys_register(fd, CPORT_REGISTER_BUFFERS, iov, nr);
}

static int reg_files(int fd, const int *fds, __u32 nr)
{
	return sys_register(fd, CPORT_REGISTER_FILES, fds, nr);
}

static int unreg_bufs(int fd)
{
	return sys_register(fd, CPORT_UNREGISTER_BUFFERS, NULL, 0);
}

static int unreg_files(int fd)
{
	return sys_register(fd, CPORT_UNREGISTER_FILES, NULL, 0);
}

/* READ_FIXED or WRITE_FIXED: @len bytes at @addr, in buffer @idx. */
static struct cport_sqe sqe_fixed(__u8 opcode, int fd, const void *addr,
				  __u32 len, __u64 off, __u64 idx,
				  __u64 user_data)
{
	struct cport_sqe s = sqe_rw(opcode, fd, addr, len, off, user_data);

	s.addr2 = idx;
	return s;
}

static struct cport_sqe with_flags(struct cport_sqe s, __u8 flags)
{
	s.flags = flags;
	return s;
}

/* Byte @i of the pattern the test file is filled with. */
static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 13 + (i >> 9) + 5);
}

FIXTURE(reg) {
	struct port pt;
	int file;		/* FILE_SIZE bytes of pat(), O_RDWR */
	char path[64];
	unsigned char *area;	/* AREA_SIZE bytes, anonymous */
};

FIXTURE_SETUP(reg)
{
	static unsigned char buf[FILE_SIZE];
	size_t i;

	self->pt.fd = -1;
	self->file = -1;
	self->area = MAP_FAILED;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 64, 0, 0));
	snprintf(self->path, sizeof(self->path), "register_test.%d",
		 getpid());
	self->file = open(self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
	ASSERT_LE(0, self->file);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pat(i);
	ASSERT_EQ(FILE_SIZE, pwrite(self->file, buf, sizeof(buf), 0));
	self->area = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	memset(self->area, 0, AREA_SIZE);
}

FIXTURE_TEARDOWN(reg)
{
	if (self->file >= 0) {
		close(self->file);
		unlink(self->path);
	}
	port_fini(&self->pt);
	if (self->area != MAP_FAILED)
		munmap(self->area, AREA_SIZE);
}

/* Three buffers in the area: unaligned, page-aligned, one page + 1 byte. */
static void three_bufs(unsigned char *area, struct iovec *iov)
{
	iov[0].iov_base = area + 123;
	iov[0].iov_len = 64 * 1024 + 1000;
	iov[1].iov_base = area + 128 * 1024;
	iov[1].iov_len = 8 * 1024;
	iov[2].iov_base = area + 256 * 1024 + PAGE - 1;
	iov[2].iov_len = PAGE + 1;
}

/*
 * Wait until the last reference to the read end of the pipe whose write
 * end is @wfd is gone: a write fails with EPIPE. True if so within 2 s.
 */
static bool pipe_reader_gone(int wfd)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (write(wfd, "", 1) < 0 && errno == EPIPE)
			return true;
		usleep(1000);
	}
	return false;
}

/* ----------------------------------------------------------------- */
/* data */

TEST_F(reg, feature_reported)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(CPORT_FEAT_REGISTER,
		  self->pt.p.features & CPORT_FEAT_REGISTER);
}

/*
 * Random ranges of random buffers, read from and written to random file
 * offsets; every byte checked against the file.
 */
TEST_F(reg, fixed_read_write_random_ranges)
{
	static unsigned char check[FILE_SIZE];
	unsigned char shadow[FILE_SIZE];
	struct iovec iov[3];
	__u64 seed = 0x1234567ULL;
	int i, n = 300 * stress_factor();

	CPORT_SKIP_IF_ABSENT();
	three_bufs(self->area, iov);
	ASSERT_EQ(0, reg_bufs(self->pt.fd, iov, 3));
	for (i = 0; i < FILE_SIZE; i++)
		shadow[i] = pat(i);

	for (i = 0; i < n; i++) {
		unsigned int b = xrand(&seed) % 3;
		size_t blen = iov[b].iov_len;
		size_t boff = xrand(&seed) % blen;
		size_t len = 1 + xrand(&seed) % (blen - boff);
		size_t foff = xrand(&seed) % (FILE_SIZE - len);
		unsigned char *p = (unsigned char *)iov[b].iov_base + boff;
		bool write = xrand(&seed) & 1;
		size_t j;

		if (write) {
			for (j = 0; j < len; j++)
				p[j] = (unsigned char)xrand(&seed);
			ASSERT_EQ((int)len,
				  run_one(_metadata, &self->pt,
					  sqe_fixed(CPORT_OP_WRITE_FIXED,
						    self->file, p, len, foff,
						    b, i)))
				TH_LOG("write %d: buf %u off %zu len %zu",
				       i, b, boff, len);
			memcpy(shadow + foff, p, len);
		} else {
			memset(p, 0, len);
			ASSERT_EQ((int)len,
				  run_one(_metadata, &self->pt,
					  sqe_fixed(CPORT_OP_READ_FIXED,
						    self->file, p, len, foff,
						    b, i)))
				TH_LOG("read %d: buf %u off %zu len %zu",
				       i, b, boff, len);
			ASSERT_EQ(0, memcmp(p, shadow + foff, len))
				TH_LOG("read %d: buf %u off %zu len %zu",
				       i, b, boff, len);
		}
	}
	ASSERT_EQ(FILE_SIZE, pread(self->file, check, FILE_SIZE, 0));
	EXPECT_EQ(0, memcmp(check, shadow, FILE_SIZE));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));
}

/* Whole buffers, first and last byte, zero bytes at the very end. */
TEST_F(reg, fixed_buffer_edges)
{
	struct iovec iov[3];
	unsigned char *end;
	size_t j;

	CPORT_SKIP_IF_ABSENT();
	three_bufs(self->area, iov);
	ASSERT_EQ(0, reg_bufs(self->pt.fd, iov, 3));
	ASSERT_EQ((int)iov[0].iov_len,
		  run_one(_metadata, &self->pt,
			  sqe_fixed(CPORT_OP_READ_FIXED, self->file,
				    iov[0].iov_base, iov[0].iov_len, 7, 0, 1)));
	for (j = 0; j < iov[0].iov_len; j++)
		ASSERT_EQ(pat(7 + j), ((unsigned char *)iov[0].iov_base)[j]);
	end = (unsigned char *)iov[2].iov_base + iov[2].iov_len;
	ASSERT_EQ(1, run_one(_metadata, &self->pt,
			     sqe_fixed(CPORT_OP_READ_FIXED, self->file,
				       end - 1, 1, 999, 2, 2)));
	EXPECT_EQ(pat(999), end[-1]);
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     sqe_fixed(CPORT_OP_READ_FIXED, self->file, end, 0,
				       0, 2, 3)));
	/* CPORT_POS_CURRENT uses and advances the file position. */
	ASSERT_EQ(100, lseek(self->file, 100, SEEK_SET));
	ASSERT_EQ(10, run_one(_metadata, &self->pt,
			      sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					iov[1].iov_base, 10, CPORT_POS_CURRENT,
					1, 4)));
	EXPECT_EQ(pat(100), ((unsigned char *)iov[1].iov_base)[0]);
	EXPECT_EQ(110, lseek(self->file, 0, SEEK_CUR));
}

/* Registered files, by index, with plain and FIXED ops and FSYNC. */
TEST_F(reg, fixed_files_with_every_op)
{
	unsigned char out[64], in[64];
	struct iovec iov = { self->area, PAGE };
	int p[2], fds[4];
	size_t i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	fds[0] = p[0];
	fds[1] = -1;
	fds[2] = p[1];
	fds[3] = self->file;
	EXPECT_EQ(0, fdinfo(self->pt.fd, "files"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "buffers"));
	ASSERT_EQ(0, reg_files(self->pt.fd, fds, 4));
	ASSERT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	EXPECT_EQ(4, fdinfo(self->pt.fd, "files"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "buffers"));
	/* The table holds its own references. */
	close(p[0]);
	close(p[1]);

	for (i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i ^ 0x5a);
	EXPECT_EQ(64, run_one(_metadata, &self->pt,
			      with_flags(sqe_rw(CPORT_OP_WRITE, 2, out, 64,
						CPORT_POS_CURRENT, 1),
					 CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(64, run_one(_metadata, &self->pt,
			      with_flags(sqe_rw(CPORT_OP_READ, 0, in, 64,
						CPORT_POS_CURRENT, 2),
					 CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(0, memcmp(in, out, 64));

	/* FIXED ops on a fixed file, regular file and pipe. */
	EXPECT_EQ(64, run_one(_metadata, &self->pt,
			      with_flags(sqe_fixed(CPORT_OP_READ_FIXED, 3,
						   self->area, 64, 4000, 0, 3),
					 CPORT_SQE_F_FIXED_FILE)));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(pat(4000 + i), self->area[i]);
	EXPECT_EQ(64, run_one(_metadata, &self->pt,
			      with_flags(sqe_fixed(CPORT_OP_WRITE_FIXED, 2,
						   self->area, 64,
						   CPORT_POS_CURRENT, 0, 4),
					 CPORT_SQE_F_FIXED_FILE)));
	memset(self->area + 100, 0, 64);
	EXPECT_EQ(64, run_one(_metadata, &self->pt,
			      with_flags(sqe_fixed(CPORT_OP_READ_FIXED, 0,
						   self->area + 100, 64,
						   CPORT_POS_CURRENT, 0, 5),
					 CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(0, memcmp(self->area, self->area + 100, 64));

	/* READV and FSYNC, ORDERED too. */
	iov.iov_base = in;
	iov.iov_len = 16;
	EXPECT_EQ(16, run_one(_metadata, &self->pt,
			      with_flags(sqe_rw(CPORT_OP_READV, 3, &iov, 1, 32,
						6),
					 CPORT_SQE_F_FIXED_FILE |
					 CPORT_SQE_F_ORDERED)));
	EXPECT_EQ(pat(32), in[0]);
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
			     with_flags(sqe_rw(CPORT_OP_FSYNC, 3, NULL, 0, 0,
					       7),
					CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(0, unreg_files(self->pt.fd));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "files"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "buffers"));
}

/* ----------------------------------------------------------------- */
/* errors of the ops */

TEST_F(reg, fixed_file_bad_index_or_empty_slot_is_ebadf)
{
	unsigned char b[8];
	int fds[2] = { -1, self->file };

	CPORT_SKIP_IF_ABSENT();
	/* No table at all. */
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_READ, 0, b, 8, 0,
						    1),
					     CPORT_SQE_F_FIXED_FILE)));
	ASSERT_EQ(0, reg_files(self->pt.fd, fds, 2));
	EXPECT_EQ(8, run_one(_metadata, &self->pt,
			     with_flags(sqe_rw(CPORT_OP_READ, 1, b, 8, 0, 2),
					CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_READ, 0, b, 8, 0,
						    3),
					     CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_READ, 2, b, 8, 0,
						    4),
					     CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_WRITE, -1, b, 8,
						    0, 5),
					     CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_FSYNC, 0, NULL, 0,
						    0, 6),
					     CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_cancel(0, CPORT_CANCEL_FD, 7),
					     CPORT_SQE_F_FIXED_FILE)));
	/* Unregistered: the index means nothing any more. */
	EXPECT_EQ(0, unreg_files(self->pt.fd));
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  with_flags(sqe_rw(CPORT_OP_READ, 1, b, 8, 0,
						    8),
					     CPORT_SQE_F_FIXED_FILE)));
}

TEST_F(reg, fixed_buffer_errors)
{
	struct iovec iov[3];
	unsigned char *b0;

	CPORT_SKIP_IF_ABSENT();
	three_bufs(self->area, iov);
	b0 = iov[0].iov_base;
	EXPECT_EQ(-ENXIO, run_one(_metadata, &self->pt,
				  sqe_fixed(CPORT_OP_READ_FIXED, self->file, b0,
					    8, 0, 0, 1)));
	ASSERT_EQ(0, reg_bufs(self->pt.fd, iov, 3));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     b0, 8, 0, 3, 2)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_WRITE_FIXED, self->file,
					     b0, 8, 0, 1ULL << 32, 3)));
	/* Below, across the end, beyond; another buffer's address. */
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     b0 - 1, 8, 0, 0, 4)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     b0 + iov[0].iov_len - 7, 8, 0, 0,
					     5)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_WRITE_FIXED, self->file,
					     b0 + iov[0].iov_len + 1, 0, 0, 0,
					     6)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     iov[1].iov_base, 8, 0, 0, 7)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     b0, 0xffffffffU, 0, 0, 8)));
	/* The file checks of READ and WRITE apply. */
	EXPECT_EQ(-EBADF, run_one(_metadata, &self->pt,
				  sqe_fixed(CPORT_OP_READ_FIXED, -1, b0, 8, 0,
					    0, 9)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					     b0, 8, 1ULL << 63, 0, 10)));
	{
		struct cport_sqe s = sqe_fixed(CPORT_OP_READ_FIXED,
					       self->file, b0, 8, 0, 0, 11);

		s.op_flags = 1;
		EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, s));
	}
	/* addr2 stays reserved for the plain ops. */
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   sqe_fixed(CPORT_OP_READ, self->file, b0, 8,
					     0, 1, 12)));
	/* Unregistered. */
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));
	EXPECT_EQ(-ENXIO, run_one(_metadata, &self->pt,
				  sqe_fixed(CPORT_OP_READ_FIXED, self->file, b0,
					    8, 0, 0, 13)));
}

TEST_F(reg, fixed_file_flag_on_other_ops_is_einval)
{
	int fds[1] = { self->file };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, reg_files(self->pt.fd, fds, 1));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_nop(1),
					      CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_post(0, 1, 0, 2),
					      CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_timeout(1000, 0, 0, 0, 3),
					      CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_timeout_remove(3, 4),
					      CPORT_SQE_F_FIXED_FILE)));
	/* CANCEL takes it only with CPORT_CANCEL_FD. */
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_cancel(0, CPORT_CANCEL_ANY, 5),
					      CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(-ENOENT, run_one(_metadata, &self->pt,
				   with_flags(sqe_cancel(0, CPORT_CANCEL_FD, 6),
					      CPORT_SQE_F_FIXED_FILE)));
	/* ORDERED is still refused on CANCEL. */
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_cancel(0, CPORT_CANCEL_FD, 7),
					      CPORT_SQE_F_FIXED_FILE |
					      CPORT_SQE_F_ORDERED)));
	/* Bits 5..7 are not (yet) flags. */
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
				   with_flags(sqe_rw(CPORT_OP_FSYNC, 0, NULL, 0,
						     0, 8),
					      CPORT_SQE_F_FIXED_FILE | 0x20)));
}

/* CANCEL with CPORT_CANCEL_FD on a registered file. */
TEST_F(reg, cancel_fd_by_fixed_index)
{
	struct cport_sqe s;
	struct cport_cqe c;
	unsigned char b[8];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, reg_files(self->pt.fd, p, 1));
	s = with_flags(sqe_rw(CPORT_OP_READ, 0, b, 8, CPORT_POS_CURRENT, 1),
		       CPORT_SQE_F_FIXED_FILE);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_EQ(0, cq_ready(&self->pt));
	s = with_flags(sqe_cancel(0, CPORT_CANCEL_FD, 2),
		       CPORT_SQE_F_FIXED_FILE);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(-ECANCELED, c.res);
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(0, c.res);
	close(p[0]);
	close(p[1]);
}

/* ----------------------------------------------------------------- */
/* errors of the ioctl */

TEST_F(reg, register_argument_errors)
{
	struct cport_register r;
	struct iovec iov = { self->area, PAGE };
	int fds[1] = { self->file };

	CPORT_SKIP_IF_ABSENT();
	memset(&r, 0, sizeof(r));
	r.op = CPORT_REGISTER_BUFFERS;
	r.nr = 1;
	r.data = (__u64)(uintptr_t)&iov;
	r.resv[0] = 1;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	r.resv[0] = 0;
	r.resv[1] = 1;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	r.resv[1] = 0;
	r.op = 4;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	/* Unregister takes neither nr nor data. */
	r.op = CPORT_UNREGISTER_BUFFERS;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	r.op = CPORT_UNREGISTER_FILES;
	r.nr = 0;
	EXPECT_EQ(-EINVAL, sys_register_raw(self->pt.fd, &r));
	/* Nothing to unregister. */
	EXPECT_EQ(-ENXIO, unreg_bufs(self->pt.fd));
	EXPECT_EQ(-ENXIO, unreg_files(self->pt.fd));
	/* nr 0, an unreadable array, the struct itself unreadable. */
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, &iov, 0));
	EXPECT_EQ(-EINVAL, reg_files(self->pt.fd, fds, 0));
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, (void *)8, 1));
	EXPECT_EQ(-EFAULT, reg_files(self->pt.fd, (void *)8, 1));
	EXPECT_EQ(-EFAULT, ioctl(self->pt.fd, CPORT_IOC_REGISTER, 8) ?
			   -errno : 0);
	/* Nothing was left registered by the failures. */
	EXPECT_EQ(-ENXIO, unreg_bufs(self->pt.fd));
	EXPECT_EQ(-ENXIO, unreg_files(self->pt.fd));
}

TEST(register_before_setup_is_ebadfd)
{
	struct iovec iov = { &iov, 1 };
	int fd;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fd = cport_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, reg_bufs(fd, &iov, 1));
	EXPECT_EQ(-EBADFD, unreg_files(fd));
	close(fd);
}

TEST_F(reg, register_twice_is_ebusy)
{
	struct iovec iov[3];
	int fds[2] = { self->file, -1 };

	CPORT_SKIP_IF_ABSENT();
	three_bufs(self->area, iov);
	ASSERT_EQ(0, reg_bufs(self->pt.fd, iov, 1));
	EXPECT_EQ(-EBUSY, reg_bufs(self->pt.fd, iov + 1, 1));
	ASSERT_EQ(0, reg_files(self->pt.fd, fds, 2));
	EXPECT_EQ(-EBUSY, reg_files(self->pt.fd, fds, 1));
	/* The first registrations are intact. */
	EXPECT_EQ(8, run_one(_metadata, &self->pt,
			     with_flags(sqe_fixed(CPORT_OP_READ_FIXED, 0,
						  iov[0].iov_base, 8, 0, 0, 1),
					CPORT_SQE_F_FIXED_FILE)));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));
	EXPECT_EQ(-ENXIO, unreg_bufs(self->pt.fd));
	EXPECT_EQ(0, reg_bufs(self->pt.fd, iov + 1, 2));
	EXPECT_EQ(0, unreg_files(self->pt.fd));
	EXPECT_EQ(-ENXIO, unreg_files(self->pt.fd));
	EXPECT_EQ(0, reg_files(self->pt.fd, fds, 1));
}

/*
 * Two threads register at the same moment: both may pass the early
 * "already registered?" check and build a table, but only one table is
 * installed; the other is freed and its caller gets EBUSY. Exactly one
 * wins each round, whichever check stops the loser.
 */
#define RACE_ROUNDS	20
#define RACE_BUFS	256
#define RACE_FILES	1000

struct reg_racer {
	pthread_barrier_t *go;
	int fd;
	bool files;
	const void *data;
	int ret;
};

static void *reg_racer_fn(void *arg)
{
	struct reg_racer *r = arg;

	pthread_barrier_wait(r->go);
	r->ret = r->files ? reg_files(r->fd, r->data, RACE_FILES) :
			    reg_bufs(r->fd, r->data, RACE_BUFS);
	return NULL;
}

static void reg_race(struct __test_metadata *_metadata, int fd, bool files,
		     const void *data)
{
	struct reg_racer r[2];
	pthread_barrier_t go;
	pthread_t thr[2];
	int round, i;

	for (round = 0; round < RACE_ROUNDS; round++) {
		ASSERT_EQ(0, pthread_barrier_init(&go, NULL, 2));
		for (i = 0; i < 2; i++) {
			r[i] = (struct reg_racer){ &go, fd, files, data, 1 };
			ASSERT_EQ(0, pthread_create(&thr[i], NULL,
						    reg_racer_fn, &r[i]));
		}
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, pthread_join(thr[i], NULL));
		pthread_barrier_destroy(&go);
		EXPECT_TRUE((r[0].ret == 0 && r[1].ret == -EBUSY) ||
			    (r[0].ret == -EBUSY && r[1].ret == 0))
			TH_LOG("round %d: %d and %d", round, r[0].ret,
			       r[1].ret);
		EXPECT_EQ(0, files ? unreg_files(fd) : unreg_bufs(fd));
	}
}

TEST_F(reg, racing_registrations_one_wins)
{
	static struct iovec iov[RACE_BUFS];
	static int fds[RACE_FILES];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_LE(RACE_BUFS * 16, AREA_SIZE);
	for (i = 0; i < RACE_BUFS; i++)
		iov[i] = (struct iovec){ self->area + i * 16, 16 };
	for (i = 0; i < RACE_FILES; i++)
		fds[i] = i % 2 ? self->file : -1;
	reg_race(_metadata, self->pt.fd, false, iov);
	reg_race(_metadata, self->pt.fd, true, fds);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "buffers"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "files"));
}

TEST_F(reg, register_bad_buffers)
{
	struct iovec iov[2];
	unsigned char *a = self->area;
	void *none = fault_page();
	void *ro;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, none);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);

	/* Zero length; oversized (checked before anything is pinned). */
	iov[0] = (struct iovec){ a, 0 };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 1));
	iov[0] = (struct iovec){ a, CPORT_REGISTER_MAX_BUF_SIZE + 1 };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 1));
	/* NULL, wrapping, kernel addresses, unmapped, read-only memory. */
	iov[0] = (struct iovec){ NULL, PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 1));
	iov[0] = (struct iovec){ (void *)-PAGE, 2 * PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 1));
	iov[0] = (struct iovec){ (void *)0xffff888000000000ULL, PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 1));
	iov[0] = (struct iovec){ none, PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 1));
	iov[0] = (struct iovec){ ro, PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 1));
	/* A good buffer, then a bad one: nothing stays registered. */
	iov[0] = (struct iovec){ a, PAGE };
	iov[1] = (struct iovec){ none, PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, iov, 2));
	EXPECT_EQ(-ENXIO, unreg_bufs(self->pt.fd));

	/* Overlapping, partly or wholly, in either order: EINVAL. */
	iov[0] = (struct iovec){ a, 2 * PAGE };
	iov[1] = (struct iovec){ a + PAGE, 2 * PAGE };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 2));
	iov[0] = (struct iovec){ a + 100, 10 };
	iov[1] = (struct iovec){ a, PAGE };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 2));
	iov[0] = (struct iovec){ a, 1 };
	iov[1] = (struct iovec){ a, 1 };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 2));
	iov[0] = (struct iovec){ a + 10, 10 };
	iov[1] = (struct iovec){ a + 19, 10 };
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov, 2));
	/* Adjacent buffers sharing a page do not overlap. */
	iov[0] = (struct iovec){ a + 10, 10 };
	iov[1] = (struct iovec){ a + 20, 10 };
	EXPECT_EQ(0, reg_bufs(self->pt.fd, iov, 2));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));

	munmap(ro, PAGE);
	munmap(none, PAGE);
}

/*
 * A buffer whose first page is there and whose second is not: the first
 * page is pinned, the second cannot be, and the one that was pinned is
 * let go again. EFAULT, and nothing is registered.
 */
TEST_F(reg, register_buffer_half_mapped)
{
	struct iovec iov;
	char *two;

	CPORT_SKIP_IF_ABSENT();
	two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	memset(two, 0x5a, PAGE);	/* present and writable */
	ASSERT_EQ(0, mprotect(two + PAGE, PAGE, PROT_NONE));
	iov = (struct iovec){ two, 2 * PAGE };
	EXPECT_EQ(-EFAULT, reg_bufs(self->pt.fd, &iov, 1));
	EXPECT_EQ(-ENXIO, unreg_bufs(self->pt.fd));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "buffers"));
	/* The first page alone is fine. */
	iov = (struct iovec){ two, PAGE };
	EXPECT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));
	munmap(two, 2 * PAGE);
}

TEST_F(reg, register_too_many)
{
	static struct iovec iov[CPORT_REGISTER_MAX_BUFFERS + 1];
	static int fds[CPORT_REGISTER_MAX_FILES + 1];
	struct rlimit old, rl = { 8192, 8192 };
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i <= CPORT_REGISTER_MAX_BUFFERS; i++) {
		iov[i].iov_base = self->area + i * 16;
		iov[i].iov_len = 16;
	}
	EXPECT_EQ(-EINVAL, reg_bufs(self->pt.fd, iov,
				    CPORT_REGISTER_MAX_BUFFERS + 1));
	/* The maximum works: 1024 buffers in 4 pages, each pinned. */
	EXPECT_EQ(0, reg_bufs(self->pt.fd, iov, CPORT_REGISTER_MAX_BUFFERS));
	EXPECT_EQ(16, run_one(_metadata, &self->pt,
			      sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					iov[1023].iov_base, 16, 16, 1023, 1)));
	EXPECT_EQ(pat(16), self->area[1023 * 16]);

	/* The file table is bounded by RLIMIT_NOFILE as well: raise it. */
	if (geteuid())
		SKIP(return, "needs root to raise RLIMIT_NOFILE");
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (i = 0; i <= CPORT_REGISTER_MAX_FILES; i++)
		fds[i] = -1;
	fds[CPORT_REGISTER_MAX_FILES - 1] = self->file;
	EXPECT_EQ(-EINVAL, reg_files(self->pt.fd, fds,
				     CPORT_REGISTER_MAX_FILES + 1));
	EXPECT_EQ(0, reg_files(self->pt.fd, fds, CPORT_REGISTER_MAX_FILES));
	EXPECT_EQ(8, run_one(_metadata, &self->pt,
			     with_flags(sqe_rw(CPORT_OP_READ,
					       CPORT_REGISTER_MAX_FILES - 1,
					       self->area, 8, 0, 2),
					CPORT_SQE_F_FIXED_FILE)));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

static int nofile_child(void *arg)
{
	struct rlimit rl = { 16, 16 };
	int fd = *(int *)arg;
	int fds[17];
	int i;

	for (i = 0; i < 17; i++)
		fds[i] = -1;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 1;
	if (reg_files(fd, fds, 17) != -EMFILE)
		return 2;
	if (reg_files(fd, fds, 16))
		return 3;
	return unreg_files(fd) ? 4 : 0;
}

TEST_F(reg, register_bad_files)
{
	int fds[3], sv[2], other;

	CPORT_SKIP_IF_ABSENT();
	fds[0] = self->file;
	fds[1] = 1000;		/* not open */
	EXPECT_EQ(-EBADF, reg_files(self->pt.fd, fds, 2));
	fds[1] = -2;
	EXPECT_EQ(-EBADF, reg_files(self->pt.fd, fds, 2));
	/* Files that could hold a reference to the port. */
	fds[1] = self->pt.fd;
	EXPECT_EQ(-EBADF, reg_files(self->pt.fd, fds, 2));
	other = cport_open();
	ASSERT_LE(0, other);
	fds[1] = other;
	EXPECT_EQ(-EBADF, reg_files(self->pt.fd, fds, 2));
	close(other);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fds[1] = sv[0];
	EXPECT_EQ(-EOPNOTSUPP, reg_files(self->pt.fd, fds, 2));
	close(sv[0]);
	close(sv[1]);
	/* An io_uring, if this kernel lets us have one. */
	{
		struct io_uring_params up;
		int ring;

		memset(&up, 0, sizeof(up));
		ring = syscall(__NR_io_uring_setup, 4, &up);
		if (ring >= 0) {
			fds[1] = ring;
			EXPECT_EQ(-EOPNOTSUPP, reg_files(self->pt.fd, fds, 2));
			close(ring);
		} else {
			TH_LOG("no io_uring (%d): not tried", errno);
		}
	}
	EXPECT_EQ(-ENXIO, unreg_files(self->pt.fd));
	/* RLIMIT_NOFILE bounds the table, too. */
	EXPECT_EQ(0, child_run(nofile_child, &self->pt.fd));
}

/* ----------------------------------------------------------------- */
/* RLIMIT_MEMLOCK, as nobody (no CAP_IPC_LOCK) */

#define MEMLOCK_PAGES	16

struct memlock_arg {
	unsigned char *area;
};

static int memlock_child(void *varg)
{
	struct memlock_arg *arg = varg;
	struct rlimit rl = { MEMLOCK_PAGES * PAGE, MEMLOCK_PAGES * PAGE };
	struct iovec all = { arg->area, MEMLOCK_PAGES * PAGE };
	struct iovec more = { arg->area, MEMLOCK_PAGES * PAGE + 1 };
	struct iovec one = { arg->area + 64 * PAGE, 1 };
	struct port a, b;

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 1;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 2;
	if (port_init(&a, 4, 0, 0) || port_init(&b, 4, 0, 0))
		return 3;
	/* One page more than the limit (the +1 spills into a 17th page). */
	if (reg_bufs(a.fd, &more, 1) != -ENOMEM)
		return 4;
	if (reg_bufs(a.fd, &all, 1))
		return 5;
	/* The budget is the user's: another port has none left. */
	if (reg_bufs(b.fd, &one, 1) != -ENOMEM)
		return 6;
	if (unreg_bufs(a.fd))
		return 7;
	if (reg_bufs(b.fd, &all, 1))
		return 8;
	/* Released with the port. */
	port_fini(&b);
	if (reg_bufs(a.fd, &all, 1))
		return 9;
	if (unreg_bufs(a.fd))
		return 10;
	port_fini(&a);
	return 0;
}

TEST_F(reg, memlock_limit_is_enomem_without_cap_ipc_lock)
{
	struct memlock_arg arg = { self->area };

	CPORT_SKIP_IF_ABSENT();
	if (geteuid())
		SKIP(return, "needs root to become nobody");
	EXPECT_EQ(0, child_run(memlock_child, &arg));
}

/* Root (CAP_IPC_LOCK) is exempt from the limit. */
TEST_F(reg, memlock_limit_does_not_bind_cap_ipc_lock)
{
	struct rlimit old, rl = { PAGE, PAGE };
	struct iovec iov = { self->area, AREA_SIZE };

	CPORT_SKIP_IF_ABSENT();
	if (geteuid())
		SKIP(return, "needs CAP_IPC_LOCK");
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
}

/* ----------------------------------------------------------------- */
/* unregister and close with ops in flight */

/*
 * A pipe read into a registered buffer waits for data; the buffers are
 * unregistered, the memory even unmapped; the data still lands in the
 * pinned pages, and the op completes. KASAN catches a use after free.
 */
TEST_F(reg, unregister_buffers_while_read_waits)
{
	unsigned char *buf = self->area + 3 * PAGE;
	struct iovec iov = { buf, 2 * PAGE };
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	/* ORDERED: the second starts (and waits) once the first is done. */
	for (i = 0; i < 2; i++) {
		s = with_flags(sqe_fixed(CPORT_OP_READ_FIXED, p[0],
					 buf + i * PAGE, 100,
					 CPORT_POS_CURRENT, 0, i + 1),
			       CPORT_SQE_F_ORDERED);
		ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	}
	sleep_ms(50);
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(2, fdinfo(self->pt.fd, "inflight"));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));
	/* A new table may be registered meanwhile. */
	EXPECT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	EXPECT_EQ(0, unreg_bufs(self->pt.fd));

	ASSERT_EQ(5, write(p[1], "hello", 5));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(5, c.res);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));

	/* The second op's pages outlive the mapping. */
	ASSERT_EQ(0, munmap(self->area, AREA_SIZE));
	self->area = MAP_FAILED;
	ASSERT_EQ(3, write(p[1], "bye", 3));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	close(p[0]);
	close(p[1]);
}

/* The same for files: the op holds its own reference. */
TEST_F(reg, unregister_files_while_read_waits)
{
	unsigned char b[16];
	struct cport_sqe s;
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, reg_files(self->pt.fd, p, 1));
	s = with_flags(sqe_rw(CPORT_OP_READ, 0, b, sizeof(b),
			      CPORT_POS_CURRENT, 1),
		       CPORT_SQE_F_FIXED_FILE);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	sleep_ms(20);
	EXPECT_EQ(0, cq_ready(&self->pt));
	EXPECT_EQ(0, unreg_files(self->pt.fd));
	/* Only the op holds the read end now. */
	close(p[0]);
	ASSERT_EQ(3, write(p[1], "abc", 3));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, WAIT_NS));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(0, memcmp(b, "abc", 3));
	/* And it let go of it. */
	EXPECT_TRUE(pipe_reader_gone(p[1]));
	close(p[1]);
}

/* Unregistering files drops the table's references. */
TEST_F(reg, unregister_files_drops_references)
{
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, reg_files(self->pt.fd, p, 1));
	close(p[0]);
	ASSERT_EQ(1, write(p[1], "x", 1));
	EXPECT_EQ(0, unreg_files(self->pt.fd));
	EXPECT_TRUE(pipe_reader_gone(p[1]));
	close(p[1]);
}

/*
 * Close the port with both tables registered and ops using them in
 * flight: the release cancels the ops and drops everything (the pipe's
 * read end is gone afterwards; kmemleak and the module unload check the
 * rest).
 */
TEST_F(reg, close_with_registrations_and_ops_in_flight)
{
	struct iovec iov = { self->area, 4 * PAGE };
	struct cport_sqe s;
	int p[2], i;

	CPORT_SKIP_IF_ABSENT();
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, reg_files(self->pt.fd, p, 1));
	ASSERT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	close(p[0]);
	for (i = 0; i < 4; i++) {
		s = with_flags(sqe_fixed(CPORT_OP_READ_FIXED, 0,
					 self->area + i * PAGE, PAGE,
					 CPORT_POS_CURRENT, 0, i),
			       CPORT_SQE_F_FIXED_FILE);
		ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	}
	/* One that completes inline, one on the workqueue. */
	s = with_flags(sqe_fixed(CPORT_OP_WRITE_FIXED, self->file,
				 self->area, PAGE, 0, 0, 9), 0);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	EXPECT_LE(4, fdinfo(self->pt.fd, "inflight"));
	port_fini(&self->pt);
	EXPECT_TRUE(pipe_reader_gone(p[1]));
	close(p[1]);
}

/* Register and unregister in a loop while another thread submits. */
struct flipper {
	int fd;
	struct iovec iov;
	volatile int stop;
	int errors;
	int cycles;
};

static void *flipper_fn(void *arg)
{
	struct flipper *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		if (reg_bufs(f->fd, &f->iov, 1))
			f->errors++;
		usleep(100);
		if (unreg_bufs(f->fd))
			f->errors++;
		usleep(100);
		f->cycles++;
	}
	return NULL;
}

TEST_F(reg, unregister_races_submission)
{
	struct flipper f = {
		.fd = self->pt.fd, .iov = { self->area, 4 * PAGE },
	};
	int i, n = 400 * stress_factor(), ok = 0, enxio = 0;
	pthread_t thr;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&thr, NULL, flipper_fn, &f));
	for (i = 0; i < n; i++) {
		int res = run_one(_metadata, &self->pt,
				  sqe_fixed(CPORT_OP_READ_FIXED, self->file,
					    self->area + 100, 3000, 50, 0, i));

		if (res == 3000)
			ok++;
		else if (res == -ENXIO)
			enxio++;
		else
			ASSERT_EQ(3000, res) TH_LOG("op %d", i);
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	EXPECT_EQ(0, f.errors);
	EXPECT_EQ(n, ok + enxio);
	TH_LOG("%d read, %d found no buffers, %d cycles", ok, enxio,
	       f.cycles);
	if (ok) {
		EXPECT_EQ(pat(50), self->area[100]);
		EXPECT_EQ(pat(3049), self->area[3099]);
	}
}

/*
 * A forked child sharing the port uses the registrations too: the data
 * lands in the pages the parent registered.
 */
TEST_F(reg, forked_child_reads_into_parents_buffer)
{
	struct iovec iov = { self->area, PAGE };
	int fds[1] = { self->file };
	struct cport_sqe s;
	struct cport_cqe c;
	pid_t pid;
	int status;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, reg_bufs(self->pt.fd, &iov, 1));
	ASSERT_EQ(0, reg_files(self->pt.fd, fds, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's copy of the area is not the registered one. */
		memset(self->area, 0xee, PAGE);
		s = with_flags(sqe_fixed(CPORT_OP_READ_FIXED, 0, self->area,
					 4, 10, 0, 77),
			       CPORT_SQE_F_FIXED_FILE);
		if (sq_submit_one(&self->pt, &s) != 1)
			_exit(1);
		if (cq_wait(&self->pt, &c, WAIT_NS) || c.res != 4)
			_exit(2);
		_exit(self->area[0] == 0xee ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The pages registered by the parent got the data. */
	EXPECT_EQ(pat(10), self->area[0]);
	EXPECT_EQ(pat(13), self->area[3]);
}

TEST_HARNESS_MAIN
