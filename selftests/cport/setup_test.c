// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_IOC_SETUP: sizes, flags, features, layout and every error path;
 * what a port refuses before it is set up.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

/* An opened, not yet set up port. */
FIXTURE(fresh) {
	int fd;
	__u32 max_sq, max_cq;
};

FIXTURE_SETUP(fresh)
{
	self->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	self->fd = cport_open();
	ASSERT_LE(0, self->fd);
	self->max_sq = cport_param_or("max_sq_entries", CPORT_DEF_MAX_SQ);
	self->max_cq = cport_param_or("max_cq_entries", CPORT_DEF_MAX_CQ);
}

FIXTURE_TEARDOWN(fresh)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Default sizing: the SQ is rounded up to a power of two, the CQ is 2x. */
FIXTURE(sizes) {
	int fd;
};

FIXTURE_VARIANT(sizes) {
	__u32 sq_in;
	__u32 sq_out;
};

FIXTURE_VARIANT_ADD(sizes, one) { .sq_in = 1, .sq_out = 1 };
FIXTURE_VARIANT_ADD(sizes, two) { .sq_in = 2, .sq_out = 2 };
FIXTURE_VARIANT_ADD(sizes, three) { .sq_in = 3, .sq_out = 4 };
FIXTURE_VARIANT_ADD(sizes, pow2_64) { .sq_in = 64, .sq_out = 64 };
FIXTURE_VARIANT_ADD(sizes, pow2_plus1_65) { .sq_in = 65, .sq_out = 128 };
FIXTURE_VARIANT_ADD(sizes, odd_1000) { .sq_in = 1000, .sq_out = 1024 };
FIXTURE_VARIANT_ADD(sizes, max_4096) { .sq_in = 4096, .sq_out = 4096 };

FIXTURE_SETUP(sizes)
{
	self->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (variant->sq_out > cport_param_or("max_sq_entries",
					     CPORT_DEF_MAX_SQ))
		SKIP(return, "max_sq_entries lowered below %u",
		     variant->sq_out);
	self->fd = cport_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sizes)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(sizes, default_cq_is_twice_rounded_sq)
{
	struct cport_params p = { .sq_entries = variant->sq_in };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(variant->sq_out, p.sq_entries);
	EXPECT_EQ(2 * variant->sq_out, p.cq_entries);
	EXPECT_EQ(0, p.flags);
}

TEST_F(sizes, default_ignores_cq_entries_without_cqsize)
{
	struct cport_params p = {
		.sq_entries = variant->sq_in,
		.cq_entries = 3 * variant->sq_out + 7,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(variant->sq_out, p.sq_entries);
	EXPECT_EQ(2 * variant->sq_out, p.cq_entries);
}

TEST_F(fresh, cqsize_rounds_up_to_power_of_two)
{
	struct cport_params p = {
		.sq_entries = 8, .cq_entries = 100, .flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(8, p.sq_entries);
	EXPECT_EQ(128, p.cq_entries);
}

TEST_F(fresh, cqsize_equal_to_sq_accepted)
{
	struct cport_params p = {
		.sq_entries = 16, .cq_entries = 16, .flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(16, p.sq_entries);
	EXPECT_EQ(16, p.cq_entries);
}

TEST_F(fresh, cqsize_at_max_accepted)
{
	struct cport_params p = {
		.sq_entries = 1, .cq_entries = self->max_cq,
		.flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(1, p.sq_entries);
	EXPECT_EQ(self->max_cq, p.cq_entries);
}

TEST_F(fresh, clamp_sq_above_max)
{
	struct cport_params p = {
		.sq_entries = self->max_sq + 1, .flags = CPORT_SETUP_CLAMP,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(self->max_sq, p.sq_entries);
	EXPECT_EQ(2 * self->max_sq, p.cq_entries);
}

TEST_F(fresh, clamp_sq_huge_value)
{
	struct cport_params p = {
		.sq_entries = 0xffffffffU, .flags = CPORT_SETUP_CLAMP,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(self->max_sq, p.sq_entries);
}

TEST_F(fresh, clamp_cq_above_max)
{
	struct cport_params p = {
		.sq_entries = 4, .cq_entries = self->max_cq + 1,
		.flags = CPORT_SETUP_CQSIZE | CPORT_SETUP_CLAMP,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(4, p.sq_entries);
	EXPECT_EQ(self->max_cq, p.cq_entries);
}

TEST_F(fresh, clamp_without_excess_changes_nothing)
{
	struct cport_params p = {
		.sq_entries = 5, .cq_entries = 20,
		.flags = CPORT_SETUP_CQSIZE | CPORT_SETUP_CLAMP,
	};

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(8, p.sq_entries);
	EXPECT_EQ(32, p.cq_entries);
}

TEST_F(fresh, reports_known_features)
{
	struct cport_params p = { .sq_entries = 4 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(CPORT_FEAT_KNOWN, p.features & CPORT_FEAT_KNOWN);
}

TEST_F(fresh, writes_resv_fields_as_zero)
{
	struct cport_params p = { .sq_entries = 4 };

	CPORT_SKIP_IF_ABSENT();
	/* resv fields of the offsets are output: poison them first */
	p.sq_off.resv1 = 0xdeadbeef;
	p.sq_off.resv2 = 0xdeadbeefdeadbeefULL;
	p.cq_off.resv1 = 0xdeadbeef;
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(0, p.sq_off.resv1);
	EXPECT_EQ(0, p.sq_off.resv2);
	EXPECT_EQ(0, p.cq_off.resv1);
	/* resv[0] became concurrency (pool_test): out, the value in effect */
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), p.concurrency);
	EXPECT_EQ(0, p.resv1[0]);
	EXPECT_EQ(0, p.resv1[1]);
	EXPECT_EQ(0, p.resv1[2]);
}

static bool disjoint_u32_fields(const __u32 *offs, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (offs[i] % sizeof(__u32))
			return false;
		for (j = i + 1; j < n; j++)
			if (offs[i] == offs[j])
				return false;
	}
	return true;
}

TEST_F(fresh, sq_offsets_sane)
{
	struct cport_params p = { .sq_entries = 32 };
	__u32 offs[5];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	offs[0] = p.sq_off.head;
	offs[1] = p.sq_off.tail;
	offs[2] = p.sq_off.ring_mask;
	offs[3] = p.sq_off.ring_entries;
	offs[4] = p.sq_off.flags;
	EXPECT_TRUE(disjoint_u32_fields(offs, 5));
	/* the SQ ring region ends with flags and fits one page */
	for (i = 0; i < 5; i++)
		EXPECT_LE(offs[i], p.sq_off.flags);
	EXPECT_LE(p.sq_off.flags + 4, 4096);
}

TEST_F(fresh, cq_offsets_sane)
{
	struct cport_params p = { .sq_entries = 32 };
	__u32 offs[6];
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	offs[0] = p.cq_off.head;
	offs[1] = p.cq_off.tail;
	offs[2] = p.cq_off.ring_mask;
	offs[3] = p.cq_off.ring_entries;
	offs[4] = p.cq_off.overflow;
	offs[5] = p.cq_off.flags;
	EXPECT_TRUE(disjoint_u32_fields(offs, 6));
	/* every index lies before the CQE array, which is 8-byte aligned */
	for (i = 0; i < 6; i++)
		EXPECT_LE(offs[i] + 4, p.cq_off.cqes);
	EXPECT_EQ(0, p.cq_off.cqes % 8);
	EXPECT_LT(p.cq_off.cqes, 4096);
}

TEST_F(fresh, second_setup_ebusy)
{
	struct cport_params p = { .sq_entries = 4 };
	struct cport_params q = { .sq_entries = 8 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(-EBUSY, sys_setup(self->fd, &q));
	/* the first setup stays in force */
	EXPECT_EQ(4, fdinfo(self->fd, "sq_entries"));
}

TEST_F(fresh, failed_setup_leaves_port_unset)
{
	struct cport_params bad = { .sq_entries = 0 };
	struct cport_params good = { .sq_entries = 2 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(-EINVAL, sys_setup(self->fd, &bad));
	EXPECT_EQ(0, fdinfo(self->fd, "sq_entries"));
	ASSERT_EQ(0, sys_setup(self->fd, &good));
	EXPECT_EQ(2, good.sq_entries);
}

TEST_F(fresh, zero_sq_entries_einval)
{
	struct cport_params p = { .sq_entries = 0 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, sq_above_max_einval)
{
	struct cport_params p = { .sq_entries = self->max_sq + 1 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, sq_huge_no_rounding_overflow_einval)
{
	struct cport_params p = { .sq_entries = 0x80000001U };

	CPORT_SKIP_IF_ABSENT();
	/* rounding 0x80000001 up would overflow 32 bits */
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
	p.sq_entries = 0xffffffffU;
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, cq_above_max_einval)
{
	struct cport_params p = {
		.sq_entries = 4, .cq_entries = self->max_cq + 1,
		.flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, cq_huge_no_rounding_overflow_einval)
{
	struct cport_params p = {
		.sq_entries = 4, .cq_entries = 0x80000001U,
		.flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, cqsize_zero_einval)
{
	struct cport_params p = {
		.sq_entries = 4, .cq_entries = 0, .flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, cqsize_below_sq_einval)
{
	struct cport_params p = {
		.sq_entries = 16, .cq_entries = 8, .flags = CPORT_SETUP_CQSIZE,
	};

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, unknown_flags_einval)
{
	int bit;

	CPORT_SKIP_IF_ABSENT();
	for (bit = 2; bit < 32; bit++) {
		struct cport_params p = {
			.sq_entries = 4, .flags = 1U << bit,
		};

		EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p))
			TH_LOG("flag bit %d accepted", bit);
	}
	/* the port is still usable afterwards */
	{
		struct cport_params p = { .sq_entries = 4 };

		EXPECT_EQ(0, sys_setup(self->fd, &p));
	}
}

TEST_F(fresh, nonzero_features_einval)
{
	struct cport_params p = {
		.sq_entries = 4, .features = CPORT_FEAT_NODROP,
	};

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
	p.features = 1U << 31;
	EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p));
}

TEST_F(fresh, nonzero_resv_einval)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	/* resv[0] is concurrency now: pool_test checks its values */
	for (i = 0; i < 3; i++) {
		struct cport_params p = { .sq_entries = 4 };

		p.resv1[i] = 1;
		EXPECT_EQ(-EINVAL, sys_setup(self->fd, &p))
			TH_LOG("resv1[%d] != 0 accepted", i);
	}
}

TEST_F(fresh, null_pointer_efault)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->fd, CPORT_IOC_SETUP, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(fresh, unmapped_pointer_efault)
{
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, ioctl(self->fd, CPORT_IOC_SETUP, bad));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, 4096);
}

TEST_F(fresh, readonly_pointer_efault)
{
	struct cport_params *p;

	CPORT_SKIP_IF_ABSENT();
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	p->sq_entries = 4;
	ASSERT_EQ(0, mprotect(p, 4096, PROT_READ));
	/* SETUP writes the results back: a read-only struct must fail */
	EXPECT_EQ(-1, ioctl(self->fd, CPORT_IOC_SETUP, p));
	EXPECT_EQ(EFAULT, errno);
	munmap(p, 4096);
}

TEST_F(fresh, unknown_ioctl_enotty)
{
	struct cport_params p = { .sq_entries = 4 };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->fd, _IO(CPORT_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	/* right number, wrong size: a different command */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(CPORT_IOC_MAGIC, 0x01, __u64),
			    &p));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('T', 0x01, struct cport_params),
			    &p));
	EXPECT_EQ(ENOTTY, errno);
	/* and after setup */
	ASSERT_EQ(0, sys_setup(self->fd, &p));
	EXPECT_EQ(-1, ioctl(self->fd, _IO(CPORT_IOC_MAGIC, 0x00)));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(fresh, enter_before_setup_ebadfd)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EBADFD, sys_enter(self->fd, 0, 0, 0, 0));
	EXPECT_EQ(-EBADFD, sys_enter(self->fd, 1, 1, CPORT_ENTER_TIMEOUT, 0));
}

TEST_F(fresh, post_before_setup_ebadfd)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EBADFD, sys_post(self->fd, 1, 2));
}

TEST_F(fresh, mmap_before_setup_ebadfd)
{
	static const off_t offs[] = {
		CPORT_OFF_SQ_RING, CPORT_OFF_CQ_RING, CPORT_OFF_SQES,
	};
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		void *m = port_mmap(self->fd, 4096, offs[i]);

		EXPECT_EQ(MAP_FAILED, m);
		EXPECT_EQ(EBADFD, errno) TH_LOG("offset %#lx", (long)offs[i]);
		if (m != MAP_FAILED)
			munmap(m, 4096);
	}
}

TEST_F(fresh, fdinfo_before_setup_shows_zero_sizes_only)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, fdinfo(self->fd, "sq_entries"));
	EXPECT_EQ(0, fdinfo(self->fd, "cq_entries"));
	EXPECT_EQ(LLONG_MIN, fdinfo(self->fd, "inflight"));
	EXPECT_EQ(LLONG_MIN, fdinfo(self->fd, "sq_head"));
	EXPECT_EQ(LLONG_MIN, fdinfo(self->fd, "waiters"));
}

/* A port is a stream (stream_open()): it has no file position. */
TEST_F(fresh, lseek_and_pread_espipe)
{
	char c;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_CUR));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ(ESPIPE, errno);
}

TEST(open_honours_cloexec)
{
	int fd, fd2;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fd = open(CPORT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fd2 = open(CPORT_DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	close(fd2);
	close(fd);
}

TEST(each_open_is_a_new_port)
{
	struct cport_params a = { .sq_entries = 4 };
	struct cport_params b = { .sq_entries = 16 };
	int fa, fb;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fa = cport_open();
	fb = cport_open();
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, sys_setup(fa, &a));
	/* b is a different port: not busy */
	ASSERT_EQ(0, sys_setup(fb, &b));
	EXPECT_EQ(4, fdinfo(fa, "sq_entries"));
	EXPECT_EQ(16, fdinfo(fb, "sq_entries"));
	/* a post to one is not seen by the other */
	ASSERT_EQ(0, sys_post(fa, 7, 7));
	EXPECT_EQ(1, fdinfo(fa, "cq_tail"));
	EXPECT_EQ(0, fdinfo(fb, "cq_tail"));
	close(fa);
	close(fb);
}

TEST(dup_shares_the_port)
{
	struct cport_params p = { .sq_entries = 4 };
	struct cport_params q = { .sq_entries = 4 };
	int fd, fd2;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	fd = cport_open();
	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sys_setup(fd, &p));
	EXPECT_EQ(-EBUSY, sys_setup(fd2, &q));
	EXPECT_EQ(0, sys_post(fd2, 1, 1));
	EXPECT_EQ(1, fdinfo(fd, "posted"));
	close(fd2);
	close(fd);
}

TEST_HARNESS_MAIN
