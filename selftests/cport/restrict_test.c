// SPDX-License-Identifier: GPL-2.0
/*
 * CPORT_IOC_RESTRICT (kmod/restrict.c): a port locks itself, for good, to
 * an allowlist of opcodes, SQE flags and ioctls. What is not on it gets
 * -EACCES: in the CQE for an SQE, from the call for an ioctl. Every errno
 * of the ioctl itself.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

#define OP(op)		(1ULL << (op))
#define IOC(cmd)	(1ULL << _IOC_NR(cmd))
/* What a port needs to submit at all. */
#define IOC_ENTER	IOC(CPORT_IOC_ENTER)

static int sys_restrict(int fd, const struct cport_restrict *r)
{
	return ioctl(fd, CPORT_IOC_RESTRICT, r) ? -errno : 0;
}

FIXTURE(rs) {
	struct port pt;
};

FIXTURE_SETUP(rs)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->pt, 16, 0, 0));
}

FIXTURE_TEARDOWN(rs)
{
	if (self->pt.fd >= 0)
		port_fini(&self->pt);
}

TEST_F(rs, feature_bit)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_TRUE(self->pt.p.features & CPORT_FEAT_RESTRICT);
}

/* Bad input: the exact errno, and the port is not restricted. */
TEST_F(rs, bad_input_einval_efault)
{
	struct cport_restrict r;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 8; i++) {
		memset(&r, 0, sizeof(r));
		switch (i) {
		case 0: r.resv0 = 1; break;
		case 1: r.resv[0] = 1; break;
		case 2: r.resv[2] = 1ULL << 63; break;
		case 3: r.ops = OP(CPORT_OP_LAST); break;
		case 4: r.sqe_flags = 1U << 7; break;
		case 5: r.ioctls = 1; break;		/* bit 0: no ioctl */
		case 6: r.ioctls = 1ULL << 9; break;	/* past RESTRICT */
		case 7: r.ops = ~0ULL; break;
		}
		EXPECT_EQ(-EINVAL, sys_restrict(self->pt.fd, &r))
			TH_LOG("case %d", i);
	}
	EXPECT_EQ(-EFAULT, sys_restrict(self->pt.fd, (void *)8));
	EXPECT_EQ(LLONG_MIN, fdinfo(self->pt.fd, "restrict_ops"));
	/* Nothing taken: everything still works, and a good call is first. */
	EXPECT_EQ(0, run_one(_metadata, &self->pt, sqe_nop(1)));
	EXPECT_EQ(0, sys_post(self->pt.fd, 2, 0));
	memset(&r, 0, sizeof(r));
	r.ops = OP(CPORT_OP_NOP);
	r.ioctls = IOC_ENTER;
	EXPECT_EQ(0, sys_restrict(self->pt.fd, &r));
}

TEST_F(rs, once_only_ebusy)
{
	struct cport_restrict r = { .ops = ~0ULL >> (64 - CPORT_OP_LAST),
				    .sqe_flags = 0x7f,
				    .ioctls = 0x1feULL };

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, sys_restrict(self->pt.fd, &r));
	/* Even the same list, even a wider one: for good. */
	EXPECT_EQ(-EBUSY, sys_restrict(self->pt.fd, &r));
	r.ops = OP(CPORT_OP_NOP);
	EXPECT_EQ(-EBUSY, sys_restrict(self->pt.fd, &r));
	/* Everything allowed: everything works. */
	EXPECT_EQ(0, run_one(_metadata, &self->pt, sqe_nop(3)));
}

TEST_F(rs, opcodes_not_listed_eacces)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP) |
					   OP(CPORT_OP_TIMEOUT),
				    .ioctls = IOC_ENTER };
	struct cport_sqe bad = sqe_nop(4);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_restrict(self->pt.fd, &r));
	EXPECT_EQ(0, run_one(_metadata, &self->pt, sqe_nop(1)));
	EXPECT_EQ(1, run_one(_metadata, &self->pt,
			     sqe_timeout(1000, 0, 0, 0, 2)));
	EXPECT_EQ(-EACCES, run_one(_metadata, &self->pt,
				   sqe_post(self->pt.fd, 9, 0, 3)));
	EXPECT_EQ(-EACCES, run_one(_metadata, &self->pt,
				   sqe_cancel(2, 0, 5)));
	/* An opcode that does not exist is still -EINVAL. */
	bad.opcode = CPORT_OP_LAST;
	EXPECT_EQ(-EINVAL, run_one(_metadata, &self->pt, bad));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "inflight"));
}

TEST_F(rs, sqe_flags_not_listed_eacces)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP),
				    .sqe_flags = CPORT_SQE_F_DRAIN,
				    .ioctls = IOC_ENTER };
	struct cport_sqe s = sqe_nop(1);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_restrict(self->pt.fd, &r));
	s.flags = CPORT_SQE_F_DRAIN;
	EXPECT_EQ(0, run_one(_metadata, &self->pt, s));
	s.flags = CPORT_SQE_F_LINK;
	s.user_data = 2;
	EXPECT_EQ(-EACCES, run_one(_metadata, &self->pt, s));
	s.flags = CPORT_SQE_F_SIGNAL;
	s.user_data = 3;
	EXPECT_EQ(-EACCES, run_one(_metadata, &self->pt, s));
}

/* A chain: the member that is not allowed fails, the rest is cancelled. */
TEST_F(rs, chain_member_not_listed)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP),
				    .sqe_flags = CPORT_SQE_F_LINK,
				    .ioctls = IOC_ENTER };
	struct cport_sqe s[3] = { sqe_nop(1),
				  sqe_timeout(1000, 0, 0, 0, 2), sqe_nop(3) };
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_restrict(self->pt.fd, &r));
	s[0].flags = CPORT_SQE_F_LINK;
	s[1].flags = CPORT_SQE_F_LINK;
	ASSERT_EQ(3, submit_n(&self->pt, s, 3));
	ASSERT_EQ(3, reap_n(&self->pt, c, 3));
	EXPECT_EQ(1, c[0].user_data);
	EXPECT_EQ(0, c[0].res);
	EXPECT_EQ(2, c[1].user_data);
	EXPECT_EQ(-EACCES, c[1].res);
	EXPECT_EQ(3, c[2].user_data);
	EXPECT_EQ(-ECANCELED, c[2].res);
}

TEST_F(rs, ioctls_not_listed_eacces)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP),
				    .ioctls = IOC_ENTER | IOC(CPORT_IOC_FLAGS) };
	struct cport_register reg = { .op = CPORT_UNREGISTER_FILES };
	struct cport_enter e = { 0 };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_restrict(self->pt.fd, &r));
	EXPECT_EQ(-EACCES, sys_post(self->pt.fd, 1, 0));
	EXPECT_EQ(-EACCES, ioctl(self->pt.fd, CPORT_IOC_SETUP, &e) ? -errno : 0);
	EXPECT_EQ(-EACCES, ioctl(self->pt.fd, CPORT_IOC_REGISTER, &reg) ?
		  -errno : 0);
	EXPECT_EQ(-EACCES, ioctl(self->pt.fd, CPORT_IOC_GETQ, &e) ? -errno : 0);
	/* Listed: they work. ENTER_V1 is ENTER's number. */
	EXPECT_EQ(0, flag_set(self->pt.fd, 0, 3));
	EXPECT_EQ(0, sys_enter(self->pt.fd, 0, 0, 0, 0));
	EXPECT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_ENTER_V1, &e) ? -errno : 0);
	/* An unknown ioctl is -ENOTTY whatever the list. */
	EXPECT_EQ(-ENOTTY, ioctl(self->pt.fd, _IO(CPORT_IOC_MAGIC, 0x30)) ?
		  -errno : 0);
}

/* Before setup: the list can leave out setup itself. */
TEST(restrict_before_setup)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP),
				    .ioctls = IOC(CPORT_IOC_SETUP) | IOC_ENTER };
	struct cport_params p = { .sq_entries = 4 };
	int fd;

	CPORT_SKIP_IF_ABSENT();
	fd = cport_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sys_restrict(fd, &r));
	EXPECT_EQ(0, sys_setup(fd, &p));
	close(fd);
	fd = cport_open();
	ASSERT_LE(0, fd);
	r.ioctls = IOC_ENTER;
	ASSERT_EQ(0, sys_restrict(fd, &r));
	EXPECT_EQ(-EACCES, sys_setup(fd, &p));
	close(fd);
}

/* fdinfo shows the lists; every descriptor of the port has them. */
TEST_F(rs, fdinfo_and_inherited)
{
	struct cport_restrict r = { .ops = OP(CPORT_OP_NOP),
				    .sqe_flags = CPORT_SQE_F_LINK,
				    .ioctls = IOC_ENTER };
	int status;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(LLONG_MIN, fdinfo(self->pt.fd, "restrict_ops"));
	ASSERT_EQ(0, sys_restrict(self->pt.fd, &r));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "restrict_ops"));
	EXPECT_EQ(CPORT_SQE_F_LINK, fdinfo(self->pt.fd, "restrict_sqe_flags"));
	EXPECT_EQ(4, fdinfo(self->pt.fd, "restrict_ioctls"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = dup(self->pt.fd);

		_exit(sys_post(fd, 1, 0) == -EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
