// SPDX-License-Identifier: GPL-2.0
/*
 * File I/O on block devices: O_DIRECT handed to the device and completed
 * from its interrupt (->ki_complete), buffered I/O through the workers.
 *
 * The devices are the VM runner's scratch disk on virtio-blk (/dev/vda,
 * serial "cport-scratch"; the test refuses any other disk) and null_blk
 * devices made here through configfs, one per variant: completion inline
 * in the submitter (irqmode 0), in softirq (1) and from an hrtimer (2). A
 * missing device skips the variant.
 *
 * fdinfo's posted_irq counts the CQEs posted in IRQ context: with an
 * interrupting device every O_DIRECT op must be among them, with irqmode 0
 * none may be.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <dirent.h>
#include <sys/uio.h>

#include "cport_test.h"

#define WAIT_NS		(20 * NSEC_PER_SEC)
#define NULLB_DIR	"/sys/kernel/config/nullb"
#define NULLB_MB_STR	"16"
/* The region the data tests use, at the start of the device. */
#define REGION		(1024 * 1024)
#define SECTOR		512

/* How an O_DIRECT op completes on this device. */
enum irq_expect { IRQ_NONE, IRQ_ALL };

FIXTURE(blk) {
	struct port pt;
	char nullb[128];	/* configfs directory of our null_blk */
	char dev[64];
	int fd;			/* O_RDWR | O_DIRECT */
	long long size;		/* bytes */
};

FIXTURE_VARIANT(blk) {
	bool virtio;
	int irqmode;		/* null_blk: 0 none, 1 softirq, 2 timer */
	unsigned int completion_nsec;
	enum irq_expect irq;
};

FIXTURE_VARIANT_ADD(blk, virtio) {
	.virtio = true, .irq = IRQ_ALL,
};

FIXTURE_VARIANT_ADD(blk, nullb_inline) {
	.irqmode = 0, .irq = IRQ_NONE,
};

FIXTURE_VARIANT_ADD(blk, nullb_softirq) {
	.irqmode = 1, .irq = IRQ_ALL,
};

FIXTURE_VARIANT_ADD(blk, nullb_timer) {
	.irqmode = 2, .completion_nsec = 50000, .irq = IRQ_ALL,
};

static int write_attr(const char *dir, const char *name, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * A memory-backed null_blk of 16 MiB with 512-byte sectors and a
 * queue depth of 4, so that a deep batch runs out of tags and the ops that
 * would block are submitted again by a worker. One hardware queue and no
 * poll queue: with more than one, blk-mq completes a softirq-mode request
 * at once in the submitter instead of raising BLOCK_SOFTIRQ. Fills @dev.
 */
static int nullb_create(const char *dir, int irqmode, unsigned int nsec,
			char *dev, size_t devlen)
{
	char val[32], path[256];
	int i;

	if (mkdir(dir, 0755))
		return -errno;
	snprintf(val, sizeof(val), "%d", irqmode);
	if (write_attr(dir, "size", NULLB_MB_STR) ||
	    write_attr(dir, "blocksize", "512") ||
	    write_attr(dir, "memory_backed", "1") ||
	    write_attr(dir, "hw_queue_depth", "4") ||
	    write_attr(dir, "submit_queues", "1") ||
	    write_attr(dir, "poll_queues", "0") ||
	    write_attr(dir, "irqmode", val))
		return -EIO;
	if (nsec) {
		snprintf(val, sizeof(val), "%u", nsec);
		if (write_attr(dir, "completion_nsec", val))
			return -EIO;
	}
	if (write_attr(dir, "power", "1"))
		return -EIO;
	/* The disk is named after the configfs item (6.1 on), or nullbN. */
	snprintf(path, sizeof(path), "/sys/block/%s", strrchr(dir, '/') + 1);
	if (!access(path, F_OK)) {
		snprintf(dev, devlen, "/dev/%s", strrchr(dir, '/') + 1);
	} else {
		snprintf(path, sizeof(path), "%s/index", dir);
		if (read_attr(path, val, sizeof(val)))
			return -EIO;
		snprintf(dev, devlen, "/dev/nullb%s", val);
	}
	/* devtmpfs adds the node with the disk; be lenient anyway. */
	for (i = 0; i < 50 && access(dev, F_OK); i++)
		usleep(20000);
	return access(dev, F_OK) ? -ENODEV : 0;
}

static void nullb_destroy(const char *dir)
{
	write_attr(dir, "power", "0");
	rmdir(dir);
}

/* The runner's scratch disk, and only that one. */
static bool scratch_disk(char *dev, size_t devlen)
{
	char serial[64];

	if (read_attr("/sys/block/vda/serial", serial, sizeof(serial)) ||
	    strcmp(serial, "cport-scratch"))
		return false;
	snprintf(dev, devlen, "/dev/vda");
	return true;
}

FIXTURE_SETUP(blk)
{
	self->pt.fd = -1;
	self->fd = -1;
	self->nullb[0] = '\0';
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (variant->virtio) {
		if (!scratch_disk(self->dev, sizeof(self->dev)))
			SKIP(return, "no scratch disk (/dev/vda, serial cport-scratch)");
	} else {
		if (access(NULLB_DIR, F_OK))
			SKIP(return, "null_blk with configfs is not available");
		snprintf(self->nullb, sizeof(self->nullb), "%s/cportblk%d",
			 NULLB_DIR, getpid());
		ASSERT_EQ(0, nullb_create(self->nullb, variant->irqmode,
					  variant->completion_nsec, self->dev,
					  sizeof(self->dev)));
	}
	self->fd = open(self->dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->size = lseek(self->fd, 0, SEEK_END);
	ASSERT_LE(REGION, self->size);
	ASSERT_EQ(0, port_init(&self->pt, 64, 0, 0));
}

FIXTURE_TEARDOWN(blk)
{
	port_fini(&self->pt);
	if (self->fd >= 0)
		close(self->fd);
	if (self->nullb[0])
		nullb_destroy(self->nullb);
}

static void *aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	return p;
}

/* xorshift: the same sequence on every run. */
static __u64 rnd(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One op of a batch: its buffer, offset and length. */
struct blk_op {
	unsigned char *buf;
	__u64 off;
	__u32 len;
};

/*
 * Submit @nr ops at once, reap every CQE; each must be @want's res for its
 * op (its length), exactly once. Returns the number of CQEs that did.
 */
static int run_batch(struct __test_metadata *_metadata, struct port *pt,
		     __u8 opcode, int fd, struct blk_op *ops, int nr)
{
	bool seen[64] = { false };
	int i, good = 0;

	for (i = 0; i < nr; i++) {
		struct cport_sqe s = sqe_rw(opcode, fd, ops[i].buf, ops[i].len,
					    ops[i].off, i);

		if (sq_push(pt, &s))
			return -1;
	}
	EXPECT_EQ(nr, sys_enter(pt->fd, nr, 0, 0, 0));
	for (i = 0; i < nr; i++) {
		struct cport_cqe c;

		if (cq_wait(pt, &c, WAIT_NS)) {
			TH_LOG("CQE %d of %d did not come", i, nr);
			return good;
		}
		if (c.user_data >= (__u64)nr || seen[c.user_data]) {
			TH_LOG("unexpected user_data %llu",
			       (unsigned long long)c.user_data);
			continue;
		}
		seen[c.user_data] = true;
		EXPECT_EQ((int)ops[c.user_data].len, c.res);
		good += c.res == (int)ops[c.user_data].len;
	}
	return good;
}

/*
 * Random sector-aligned writes of random lengths (up to 64 KiB) with
 * random data, 16 at a time, then reads of random ranges, each checked
 * against a shadow copy of the region.
 */
TEST_F_TIMEOUT(blk, direct_random_writes_then_reads_verified, 120)
{
	unsigned char *shadow = malloc(REGION);
	struct blk_op ops[16];
	long long irq0, irq1;
	__u64 seed = 0x9e3779b97f4a7c15ULL;
	int round, i, done = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, shadow);
	for (i = 0; i < 16; i++) {
		ops[i].buf = aligned(65536);
		ASSERT_NE(NULL, ops[i].buf);
	}
	/* A known starting state: zeroes, written directly. */
	memset(shadow, 0, REGION);
	for (i = 0; i < REGION / 65536; i++)
		ASSERT_EQ(65536, pwrite(self->fd, memset(ops[0].buf, 0, 65536),
					65536, (off_t)i * 65536));

	irq0 = fdinfo(self->pt.fd, "posted_irq");
	for (round = 0; round < 8; round++) {
		bool write = round < 4;

		for (i = 0; i < 16; i++) {
			__u32 len = (1 + rnd(&seed) % 128) * SECTOR;
			__u64 off;
			__u32 j;

			if (write) {
				/*
				 * Writes of one batch must not overlap: each
				 * stays in its own 64 KiB slot.
				 */
				off = (__u64)i * 65536 + rnd(&seed) %
				      ((65536 - len) / SECTOR + 1) * SECTOR;
				for (j = 0; j < len; j++)
					ops[i].buf[j] = rnd(&seed);
				memcpy(shadow + off, ops[i].buf, len);
			} else {
				off = rnd(&seed) % ((REGION - len) / SECTOR + 1) *
				      SECTOR;
			}
			ops[i].off = off;
			ops[i].len = len;
		}
		ASSERT_EQ(16, run_batch(_metadata, &self->pt,
					write ? CPORT_OP_WRITE : CPORT_OP_READ,
					self->fd, ops, 16));
		done += 16;
		if (write)
			continue;
		for (i = 0; i < 16; i++) {
			ASSERT_EQ(0, memcmp(ops[i].buf, shadow + ops[i].off,
					    ops[i].len)) {
				TH_LOG("read %d: %u bytes at %llu differ", i,
				       ops[i].len,
				       (unsigned long long)ops[i].off);
			}
		}
	}
	irq1 = fdinfo(self->pt.fd, "posted_irq");
	/* Every op completed in IRQ context, or none. */
	EXPECT_EQ(variant->irq == IRQ_ALL ? done : 0, irq1 - irq0);
	for (i = 0; i < 16; i++)
		free(ops[i].buf);
	free(shadow);
}

/*
 * 64 reads at once, far more than null_blk's 4 tags: those that find no
 * tag would block, and a worker submits them again. Each completes once.
 */
TEST_F_TIMEOUT(blk, deep_batch_each_completes_once, 120)
{
	struct blk_op ops[64];
	long long irq0;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 64; i++) {
		ops[i].buf = aligned(4096);
		ASSERT_NE(NULL, ops[i].buf);
		ops[i].off = (__u64)i * 4096;
		ops[i].len = 4096;
	}
	irq0 = fdinfo(self->pt.fd, "posted_irq");
	ASSERT_EQ(64, run_batch(_metadata, &self->pt, CPORT_OP_READ, self->fd,
				ops, 64));
	if (variant->irq == IRQ_ALL)
		EXPECT_EQ(64, fdinfo(self->pt.fd, "posted_irq") - irq0);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	for (i = 0; i < 64; i++)
		free(ops[i].buf);
}

/* READV and WRITEV: one op, several aligned buffers. */
TEST_F(blk, direct_writev_then_readv)
{
	unsigned char *w[3], *r[3];
	struct iovec wv[3], rv[3];
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		w[i] = aligned(4096);
		r[i] = aligned(4096);
		ASSERT_NE(NULL, w[i]);
		ASSERT_NE(NULL, r[i]);
		memset(w[i], 'a' + i, 4096);
		memset(r[i], 0, 4096);
		wv[i] = (struct iovec){ w[i], (i + 1) * SECTOR };
		rv[i] = (struct iovec){ r[i], (i + 1) * SECTOR };
	}
	EXPECT_EQ(6 * SECTOR, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_WRITEV, self->fd, wv, 3, 8192, 1)));
	EXPECT_EQ(6 * SECTOR, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READV, self->fd, rv, 3, 8192, 2)));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, memcmp(w[i], r[i], (i + 1) * SECTOR));
		free(w[i]);
		free(r[i]);
	}
}

/*
 * A completion signal (CPORT_SQE_F_SIGNAL) from the device's completion:
 * hard or soft IRQ in the irq variants. The CQE is in the ring first.
 */
TEST_F(blk, direct_read_completion_signal)
{
	unsigned char *buf = aligned(4096);
	int signo = SIGRTMIN + 3;
	struct timespec ts = { 10, 0 };
	long long irq0 = fdinfo(self->pt.fd, "posted_irq");
	struct cport_sqe s;
	struct cport_cqe c;
	sigset_t set;
	siginfo_t si;

	CPORT_SKIP_IF_ABSENT();
	if (!(self->pt.p.features & CPORT_FEAT_SIGNAL))
		SKIP(return, "no CPORT_FEAT_SIGNAL in this module");
	ASSERT_NE(NULL, buf);
	sigemptyset(&set);
	sigaddset(&set, signo);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	s = sqe_rw(CPORT_OP_READ, self->fd, buf, 4096, 0, 0xb1);
	s.flags = CPORT_SQE_F_SIGNAL;
	s.sig_signo = signo;
	s.sig_value = 0xb1b1;
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s));
	ASSERT_EQ(signo, sigtimedwait(&set, &si, &ts));
	EXPECT_EQ(SI_ASYNCIO, si.si_code);
	EXPECT_EQ(0xb1b1, (long)(uintptr_t)si.si_value.sival_ptr);
	EXPECT_EQ(getpid(), si.si_pid);
	EXPECT_LE(1U, cq_ready(&self->pt));
	ASSERT_EQ(0, cq_wait(&self->pt, &c, 10 * NSEC_PER_SEC));
	EXPECT_EQ(0xb1, c.user_data);
	EXPECT_EQ(4096, c.res);
	if (variant->irq == IRQ_ALL)
		EXPECT_LT(irq0, fdinfo(self->pt.fd, "posted_irq"));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "sig_queued"));
	free(buf);
}

/*
 * READ_FIXED and WRITE_FIXED: registered buffers go to the device as they
 * are (no pinning per op), and complete the same way.
 */
TEST_F(blk, direct_fixed_buffers)
{
	unsigned char *buf = aligned(4 * 4096);
	struct iovec iov = { .iov_len = 4 * 4096 };
	struct cport_register r = {
		.op = CPORT_REGISTER_BUFFERS, .nr = 1,
	};
	long long irq0;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, buf);
	iov.iov_base = buf;
	r.data = (__u64)(uintptr_t)&iov;
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_REGISTER, &r));
	for (i = 0; i < 2 * 4096; i++)
		buf[i] = (unsigned char)(i * 13 + 5);
	memset(buf + 2 * 4096, 0, 2 * 4096);
	irq0 = fdinfo(self->pt.fd, "posted_irq");
	{
		struct cport_sqe w = sqe_rw(CPORT_OP_WRITE_FIXED, self->fd,
					    buf, 2 * 4096, 3 * 4096, 1);
		struct cport_sqe rd = sqe_rw(CPORT_OP_READ_FIXED, self->fd,
					     buf + 2 * 4096, 2 * 4096,
					     3 * 4096, 2);

		w.addr2 = 0;
		rd.addr2 = 0;
		EXPECT_EQ(2 * 4096, run_one(_metadata, &self->pt, w));
		EXPECT_EQ(2 * 4096, run_one(_metadata, &self->pt, rd));
	}
	EXPECT_EQ(0, memcmp(buf, buf + 2 * 4096, 2 * 4096));
	EXPECT_EQ(variant->irq == IRQ_ALL ? 2 : 0,
		  fdinfo(self->pt.fd, "posted_irq") - irq0);
	free(buf);
}

/*
 * A chain across the device's completions: the read is submitted only
 * after the device completed the write (from its interrupt), and sees it.
 */
TEST_F(blk, linked_direct_write_then_read)
{
	unsigned char *w = aligned(8192), *r = aligned(8192);
	struct cport_sqe s[2];
	struct cport_cqe c[2];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	for (i = 0; i < 8192; i++)
		w[i] = (unsigned char)(i * 29 + 3);
	memset(r, 0, 8192);
	s[0] = sqe_rw(CPORT_OP_WRITE, self->fd, w, 8192, 5 * 4096, 1);
	s[0].flags = CPORT_SQE_F_LINK;
	s[1] = sqe_rw(CPORT_OP_READ, self->fd, r, 8192, 5 * 4096, 2);
	ASSERT_EQ(0, sq_push(&self->pt, &s[0]));
	ASSERT_EQ(0, sq_push(&self->pt, &s[1]));
	ASSERT_EQ(2, sys_enter(self->pt.fd, 2, 0, 0, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, cq_wait(&self->pt, &c[i], 20 * NSEC_PER_SEC));
		EXPECT_EQ((__u64)i + 1, c[i].user_data);
		EXPECT_EQ(8192, c[i].res);
	}
	EXPECT_EQ(0, memcmp(w, r, 8192));
	free(w);
	free(r);
}

/* The block layer's alignment rules: -EINVAL in the CQE. */
TEST_F(blk, direct_unaligned_einval)
{
	unsigned char *buf = aligned(8192);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, buf + 1, 4096, 0, 1)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, buf, 4096, 100, 2)));
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_WRITE, self->fd, buf, 100, 0, 3)));
	free(buf);
}

/* At the end of the device: a short read, then 0 (EOF). */
TEST_F(blk, direct_read_at_end_short_then_eof)
{
	unsigned char *buf = aligned(8192);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(4096, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, buf, 8192, self->size - 4096,
			 1)));
	EXPECT_EQ(0, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, buf, 4096, self->size, 2)));
	free(buf);
}

/* A buffer the process does not own: -EFAULT, never a kernel report. */
TEST_F(blk, direct_bad_buffer_efault)
{
	void *hole = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, hole, 4096, 0, 1)));
	EXPECT_EQ(-EFAULT, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_WRITE, self->fd, hole, 4096, 0, 2)));
	munmap(hole, 8192);
}

/*
 * Without O_DIRECT, through the page cache: a block device refuses a
 * buffered write without blocking, so a worker does it; the data reads
 * back through cport and through O_DIRECT (after an fsync).
 */
TEST_F(blk, buffered_write_read_fsync)
{
	unsigned char *w = aligned(8192), *r = aligned(8192);
	struct cport_sqe fs = {
		.opcode = CPORT_OP_FSYNC, .user_data = 3,
	};
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	fd = open(self->dev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(w, 0x5a, 8192);
	memset(r, 0, 8192);
	EXPECT_EQ(8192, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_WRITE, fd, w, 8192, 65536, 1)));
	EXPECT_EQ(8192, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, fd, r, 8192, 65536, 2)));
	EXPECT_EQ(0, memcmp(w, r, 8192));
	fs.fd = fd;
	EXPECT_EQ(0, run_one(_metadata, &self->pt, fs));
	memset(r, 0, 8192);
	EXPECT_EQ(8192, pread(self->fd, r, 8192, 65536));
	EXPECT_EQ(0, memcmp(w, r, 8192));
	close(fd);
	free(w);
	free(r);
}

/*
 * Cancelling ops the device has: none can be stopped; the cancel waits and
 * each op completes once with its own result.
 */
TEST_F(blk, cancel_while_device_has_them)
{
	struct blk_op ops[8];
	struct cport_cqe c;
	int i, n = 0, reads = 0, cancel_res = INT_MIN;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 8; i++) {
		struct cport_sqe s;

		ops[i].buf = aligned(4096);
		ASSERT_NE(NULL, ops[i].buf);
		s = sqe_rw(CPORT_OP_READ, self->fd, ops[i].buf, 4096,
			   (__u64)i * 4096, i);
		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	{
		struct cport_sqe s = sqe_cancel(0, CPORT_CANCEL_ANY |
						CPORT_CANCEL_ALL, 100);

		ASSERT_EQ(0, sq_push(&self->pt, &s));
	}
	ASSERT_EQ(9, sys_enter(self->pt.fd, 9, 0, 0, 0));
	while (n < 9 && !cq_wait(&self->pt, &c, WAIT_NS)) {
		n++;
		if (c.user_data == 100) {
			cancel_res = c.res;
			continue;
		}
		ASSERT_GT(8, c.user_data);
		/* Done already, or stopped before it reached the device. */
		if (c.res != -ECANCELED)
			ASSERT_EQ(4096, c.res);
		reads++;
	}
	EXPECT_EQ(9, n);
	EXPECT_EQ(8, reads);
	/* -ENOENT if all had completed before the cancel looked. */
	if (cancel_res != -ENOENT)
		EXPECT_LE(0, cancel_res);
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
	for (i = 0; i < 8; i++)
		free(ops[i].buf);
}

/*
 * Close the port, and exit a process, with O_DIRECT ops in flight: the
 * release waits for the device; nothing is left behind (the debug kernel
 * checks for use after free and leaks).
 */
TEST_F_TIMEOUT(blk, close_and_exit_with_direct_io_in_flight, 120)
{
	unsigned char *buf = aligned(32 * 4096);
	int round, i, status;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, buf);
	for (round = 0; round < 10; round++) {
		struct port pt;

		ASSERT_EQ(0, port_init(&pt, 32, 0, 0));
		for (i = 0; i < 32; i++) {
			struct cport_sqe s = sqe_rw(i & 1 ? CPORT_OP_WRITE :
						    CPORT_OP_READ, self->fd,
						    buf + i * 4096, 4096,
						    (__u64)i * 4096, i);

			ASSERT_EQ(0, sq_push(&pt, &s));
		}
		ASSERT_EQ(32, sys_enter(pt.fd, 32, 0, 0, 0));
		port_fini(&pt);
	}

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct port pt;

		if (port_init(&pt, 32, 0, 0))
			_exit(1);
		for (i = 0; i < 32; i++) {
			struct cport_sqe s = sqe_rw(CPORT_OP_READ, self->fd,
						    buf + i * 4096, 4096,
						    (__u64)i * 4096, i);

			if (sq_push(&pt, &s))
				_exit(2);
		}
		_exit(sys_enter(pt.fd, 32, 0, 0, 0) == 32 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The device still works. */
	EXPECT_EQ(4096, run_one(_metadata, &self->pt,
		  sqe_rw(CPORT_OP_READ, self->fd, buf, 4096, 0, 7)));
	free(buf);
}

TEST_HARNESS_MAIN
