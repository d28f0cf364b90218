// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters in /sys/module/cport/parameters: max_ports_per_user,
 * max_sq_entries, max_cq_entries. The tests lower them and restore them in
 * the teardown. They need root.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

static const char *const params[] = {
	"max_sq_entries", "max_cq_entries", "max_ports_per_user",
};

FIXTURE(limits) {
	long saved[3];
	bool have_saved;
	int fds[16];
	int nfds;
};

FIXTURE_SETUP(limits)
{
	unsigned int i;

	self->nfds = 0;
	self->have_saved = false;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	for (i = 0; i < ARRAY_SIZE(params); i++)
		if (cport_param_read(params[i], &self->saved[i]))
			SKIP(return, "no %s/%s", CPORT_PARAM_DIR, params[i]);
	self->have_saved = true;
}

FIXTURE_TEARDOWN(limits)
{
	unsigned int i;
	int j;

	for (j = 0; j < self->nfds; j++)
		close(self->fds[j]);
	if (!self->have_saved)
		return;
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		long now = -1;

		cport_param_write(params[i], self->saved[i]);
		cport_param_read(params[i], &now);
		EXPECT_EQ(self->saved[i], now)
			TH_LOG("could not restore %s", params[i]);
	}
}

/* Open ports into self->fds until open fails; returns that -errno. */
static int open_until_failure(FIXTURE_DATA(limits) *self, int max)
{
	while (self->nfds < max) {
		int fd = cport_open();

		if (fd < 0)
			return fd;
		self->fds[self->nfds++] = fd;
	}
	return 0;
}

TEST_F(limits, params_have_documented_defaults)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(CPORT_DEF_MAX_SQ, self->saved[0]);
	EXPECT_EQ(CPORT_DEF_MAX_CQ, self->saved[1]);
	EXPECT_EQ(CPORT_DEF_MAX_PORTS, self->saved[2]);
}

TEST_F(limits, params_writable_by_root_only)
{
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), CPORT_PARAM_DIR "/%s", params[i]);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0644, st.st_mode & 0777) TH_LOG("%s", params[i]);
	}
}

TEST_F(limits, max_ports_per_user_emfile)
{
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 4));
	EXPECT_EQ(-EMFILE, open_until_failure(self, 16));
	/* nothing else of this uid holds a port in the test VM */
	EXPECT_EQ(4, self->nfds);
	EXPECT_EQ(-EMFILE, cport_open());
	/* closing one makes room for exactly one */
	close(self->fds[--self->nfds]);
	fd = cport_open();
	ASSERT_LE(0, fd);
	self->fds[self->nfds++] = fd;
	EXPECT_EQ(-EMFILE, cport_open());
}

TEST_F(limits, dup_does_not_count_as_a_port)
{
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 1));
	ASSERT_EQ(0, open_until_failure(self, 1));
	fd = dup(self->fds[0]);
	ASSERT_LE(0, fd);
	self->fds[self->nfds++] = fd;
	EXPECT_EQ(-EMFILE, cport_open());
	/* closing the dup does not release the port */
	close(self->fds[--self->nfds]);
	EXPECT_EQ(-EMFILE, cport_open());
}

TEST_F(limits, lowering_max_ports_keeps_existing_ports)
{
	struct cport_params p = { .sq_entries = 2 };
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, open_until_failure(self, 3));
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 1));
	EXPECT_EQ(-EMFILE, cport_open());
	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.sq_entries = 2;
		EXPECT_EQ(0, sys_setup(self->fds[i], &p));
		EXPECT_EQ(0, sys_post(self->fds[i], i, i));
	}
	while (self->nfds)
		close(self->fds[--self->nfds]);
	i = cport_open();
	EXPECT_LE(0, i);
	if (i >= 0)
		close(i);
}

TEST_F(limits, max_ports_counted_per_real_uid)
{
	pid_t pid;
	int status;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 2));
	EXPECT_EQ(-EMFILE, open_until_failure(self, 16));
	EXPECT_EQ(2, self->nfds);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		/* another real uid, still allowed to open the device */
		if (setresuid(65534, 0, 0))
			_exit(1);
		a = cport_open();
		b = cport_open();
		if (a < 0 || b < 0)
			_exit(2);
		if (cport_open() != -EMFILE)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* root is still at its limit */
	EXPECT_EQ(-EMFILE, cport_open());
}

TEST_F(limits, lower_max_sq_entries)
{
	struct cport_params p;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_sq_entries", 16));
	ASSERT_EQ(0, open_until_failure(self, 4));

	memset(&p, 0, sizeof(p));
	p.sq_entries = 32;
	EXPECT_EQ(-EINVAL, sys_setup(self->fds[0], &p));
	p.sq_entries = 17;
	EXPECT_EQ(-EINVAL, sys_setup(self->fds[0], &p));

	memset(&p, 0, sizeof(p));
	p.sq_entries = 16;
	EXPECT_EQ(0, sys_setup(self->fds[1], &p));
	EXPECT_EQ(16, p.sq_entries);
	EXPECT_EQ(32, p.cq_entries);

	memset(&p, 0, sizeof(p));
	p.sq_entries = 1000;
	p.flags = CPORT_SETUP_CLAMP;
	EXPECT_EQ(0, sys_setup(self->fds[2], &p));
	EXPECT_EQ(16, p.sq_entries);
	EXPECT_EQ(32, p.cq_entries);

	/* a port set up before the change keeps its size */
	fd = self->fds[3];
	ASSERT_EQ(0, cport_param_write("max_sq_entries", self->saved[0]));
	memset(&p, 0, sizeof(p));
	p.sq_entries = 64;
	ASSERT_EQ(0, sys_setup(fd, &p));
	ASSERT_EQ(0, cport_param_write("max_sq_entries", 16));
	EXPECT_EQ(64, fdinfo(fd, "sq_entries"));
	EXPECT_EQ(0, sys_post(fd, 1, 1));
}

TEST_F(limits, lower_max_cq_entries)
{
	struct cport_params p;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_cq_entries", 64));
	ASSERT_EQ(0, open_until_failure(self, 4));

	memset(&p, 0, sizeof(p));
	p.sq_entries = 4;
	p.cq_entries = 128;
	p.flags = CPORT_SETUP_CQSIZE;
	EXPECT_EQ(-EINVAL, sys_setup(self->fds[0], &p));

	memset(&p, 0, sizeof(p));
	p.sq_entries = 4;
	p.cq_entries = 64;
	p.flags = CPORT_SETUP_CQSIZE;
	EXPECT_EQ(0, sys_setup(self->fds[1], &p));
	EXPECT_EQ(64, p.cq_entries);

	memset(&p, 0, sizeof(p));
	p.sq_entries = 4;
	p.cq_entries = 100000;
	p.flags = CPORT_SETUP_CQSIZE | CPORT_SETUP_CLAMP;
	EXPECT_EQ(0, sys_setup(self->fds[2], &p));
	EXPECT_EQ(4, p.sq_entries);
	EXPECT_EQ(64, p.cq_entries);

	/* the default CQ (2 x sq) above the maximum is a size too big */
	memset(&p, 0, sizeof(p));
	p.sq_entries = 64;
	EXPECT_EQ(-EINVAL, sys_setup(self->fds[3], &p));
}

TEST_F(limits, open_after_limit_restored)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 1));
	ASSERT_EQ(0, open_until_failure(self, 1));
	EXPECT_EQ(-EMFILE, cport_open());
	ASSERT_EQ(0, cport_param_write("max_ports_per_user", 2));
	EXPECT_EQ(0, open_until_failure(self, 2));
}

TEST_HARNESS_MAIN
