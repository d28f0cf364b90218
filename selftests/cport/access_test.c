// SPDX-License-Identifier: GPL-2.0
/*
 * The administrator's switch (kmod/access.c): module parameters disabled
 * (0 every user, 1 group and CAP_SYS_ADMIN only, 2 nobody) and group,
 * checked at open() only. Tried as root, as root without CAP_SYS_ADMIN,
 * and as other users, in children. The teardown restores both.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <sys/sysmacros.h>

#include "cport_test.h"

#define UID_NOBODY	65534
#define GID_OTHER	4242

FIXTURE(access) {
	long saved_disabled, saved_group;
	bool have_saved;
};

FIXTURE_SETUP(access)
{
	self->have_saved = false;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (cport_param_read("disabled", &self->saved_disabled) ||
	    cport_param_read("group", &self->saved_group))
		SKIP(return, "no %s/disabled or group", CPORT_PARAM_DIR);
	self->have_saved = true;
}

FIXTURE_TEARDOWN(access)
{
	long d = -1, g = -2;

	if (!self->have_saved)
		return;
	cport_param_write("disabled", self->saved_disabled);
	cport_param_write("group", self->saved_group);
	cport_param_read("disabled", &d);
	cport_param_read("group", &g);
	EXPECT_EQ(self->saved_disabled, d);
	EXPECT_EQ(self->saved_group, g);
}

/* Who a child is when it acts. */
struct who {
	uid_t uid;
	gid_t gid;
	gid_t supp;		/* a supplementary group, or 0: none */
	int drop_admin;		/* drop CAP_SYS_ADMIN (root only) */
};

/* What a child does as @w: write @v to @param, or (NULL) open a port. */
struct job {
	const struct who *w;
	const char *param;
	long v;
};

/* Context: the child. Return: its exit status, errno or 0; 201+: setup. */
static int job_child(void *arg)
{
	const struct job *j = arg;
	const struct who *w = j->w;
	int fd;

	if (w->drop_admin && drop_cap(CAP_SYS_ADMIN))
		return 201;
	if (w->supp) {
		if (setgroups(1, &w->supp) || setresgid(w->gid, w->gid, w->gid) ||
		    setresuid(w->uid, w->uid, w->uid))
			return 202;
	} else if ((w->uid || w->gid) && become(w->uid, w->gid)) {
		return 202;
	}
	if (j->param)
		return -cport_param_write(j->param, j->v);
	fd = open(CPORT_DEV, O_RDWR | O_CLOEXEC);
	return fd < 0 ? errno : 0;
}

/* @j in a child: 0 or -errno; below -1000: the child could not set up. */
static int run_job(const struct job *j)
{
	int st = child_run(job_child, (void *)j);

	if (st < 0 || st >= 1000)
		return -2001;
	return st > 200 ? -1000 - st : -st;
}

/* In a child as @w: open() of /dev/cport. */
static int open_as(const struct who *w)
{
	return run_job(&(struct job){ .w = w });
}

/* In a child as @w: open @param for writing, write @v. */
static int write_param_as(const struct who *w, const char *param, long v)
{
	return run_job(&(struct job){ .w = w, .param = param, .v = v });
}

/* As open_as(), a user with @supp as a supplementary group. */
static int open_as_member(uid_t uid, gid_t gid, gid_t supp)
{
	return open_as(&(struct who){ .uid = uid, .gid = gid, .supp = supp });
}

static const struct who root = { 0 };
static const struct who root_no_admin = { .drop_admin = 1 };
static const struct who nobody = { .uid = UID_NOBODY, .gid = UID_NOBODY };
static const struct who other_gid = { .uid = UID_NOBODY, .gid = GID_OTHER };

TEST_F(access, defaults_and_modes)
{
	char path[128];
	struct stat st;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, self->saved_disabled);
	EXPECT_EQ(-1, self->saved_group);
	snprintf(path, sizeof(path), CPORT_PARAM_DIR "/disabled");
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0644, st.st_mode & 0777);
	snprintf(path, sizeof(path), CPORT_PARAM_DIR "/group");
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0644, st.st_mode & 0777);
}

/*
 * The node's number is fixed (misc major 10, minor 247), so that it can
 * exist before the module is loaded (the devname alias).
 */
TEST_F(access, device_number_is_fixed)
{
	struct stat st;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, stat(CPORT_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev));
	EXPECT_EQ(247, minor(st.st_rdev));
}

TEST_F(access, bad_values_are_refused)
{
	long v = -100;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, cport_param_write("disabled", 3));
	EXPECT_EQ(-EINVAL, cport_param_write("disabled", -1));
	EXPECT_EQ(-EINVAL, cport_param_write("group", -2));
	EXPECT_EQ(-ERANGE, cport_param_write("group", 1L << 40));
	ASSERT_EQ(0, cport_param_read("disabled", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, cport_param_read("group", &v));
	EXPECT_EQ(-1, v);
	/* Not writable but by root. */
	EXPECT_EQ(-EACCES, write_param_as(&nobody, "disabled", 2));
	EXPECT_EQ(-EACCES, write_param_as(&nobody, "group", UID_NOBODY));
}

/* 0: every user who can open the node. */
TEST_F(access, disabled_0_everyone)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, open_as(&root));
	EXPECT_EQ(0, open_as(&root_no_admin));
	EXPECT_EQ(0, open_as(&nobody));
}

/* 1: members of the group, and CAP_SYS_ADMIN. */
TEST_F(access, disabled_1_group_and_admin)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("disabled", 1));
	/* No group set: only CAP_SYS_ADMIN. */
	EXPECT_EQ(0, open_as(&root));
	EXPECT_EQ(-EPERM, open_as(&root_no_admin));
	EXPECT_EQ(-EPERM, open_as(&nobody));
	EXPECT_EQ(-EPERM, open_as(&other_gid));
	ASSERT_EQ(0, cport_param_write("group", GID_OTHER));
	/* Its primary group, or a supplementary one. */
	EXPECT_EQ(0, open_as(&other_gid));
	EXPECT_EQ(0, open_as_member(UID_NOBODY, UID_NOBODY, GID_OTHER));
	EXPECT_EQ(-EPERM, open_as(&nobody));
	EXPECT_EQ(-EPERM, open_as(&root_no_admin));
	EXPECT_EQ(0, open_as(&root));
}

/* 2: nobody, root included. */
TEST_F(access, disabled_2_nobody)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, cport_param_write("group", GID_OTHER));
	ASSERT_EQ(0, cport_param_write("disabled", 2));
	EXPECT_EQ(-EPERM, open_as(&root));
	EXPECT_EQ(-EPERM, open_as(&other_gid));
	EXPECT_EQ(-EPERM, open_as(&nobody));
	ASSERT_EQ(0, cport_param_write("disabled", 0));
	EXPECT_EQ(0, open_as(&nobody));
}

/* Checked at open() only: a port that exists goes on working. */
TEST_F(access, existing_port_keeps_working)
{
	struct cport_cqe c;
	struct port pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, 8, 0, 0));
	ASSERT_EQ(0, cport_param_write("disabled", 2));
	EXPECT_EQ(-EPERM, open_as(&root));
	EXPECT_EQ(0, sys_post(pt.fd, 0x51, 7));
	ASSERT_EQ(0, cq_wait(&pt, &c, 1000000000ULL));
	EXPECT_EQ(0x51, c.user_data);
	EXPECT_EQ(7, c.res);
	port_fini(&pt);
}

TEST_HARNESS_MAIN
