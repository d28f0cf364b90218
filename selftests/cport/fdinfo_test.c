// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/<pid>/fdinfo of a port: every field has its exact value after a
 * known sequence of operations.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

static const char *const fields[] = {
	"sq_entries", "cq_entries", "sq_head", "sq_tail", "cq_head",
	"cq_tail", "inflight", "reserved", "posted", "overflow", "waiters",
};

PORT_FIXTURE(info, 8, 0)

/* Compare every field with @want (same order as fields[]). */
static void expect_fields(struct __test_metadata *_metadata, int fd,
			  const long long *want)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		EXPECT_EQ(want[i], fdinfo(fd, fields[i]))
			TH_LOG("field %s", fields[i]);
}

TEST_F(info, fields_after_setup)
{
	static const long long want[] = { 8, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	CPORT_SKIP_IF_ABSENT();
	expect_fields(_metadata, self->pt.fd, want);
}

TEST_F(info, fields_in_documented_order)
{
	char path[64], line[256];
	unsigned int next = 0;
	FILE *f;

	CPORT_SKIP_IF_ABSENT();
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->pt.fd);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f) && next < ARRAY_SIZE(fields)) {
		size_t n = strlen(fields[next]);

		if (!strncmp(line, fields[next], n) && line[n] == ':')
			next++;
	}
	fclose(f);
	EXPECT_EQ(ARRAY_SIZE(fields), next);
}

TEST_F(info, fields_after_nops_and_reap)
{
	static const long long want1[] = { 8, 16, 3, 3, 0, 3, 0, 0, 3, 0, 0 };
	static const long long want2[] = { 8, 16, 3, 3, 2, 3, 0, 0, 3, 0, 0 };
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		struct cport_sqe s = sqe_nop(i);

		ASSERT_EQ(0, sq_push(pt, &s));
	}
	ASSERT_EQ(3, sys_enter(pt->fd, 3, 0, 0, 0));
	expect_fields(_metadata, pt->fd, want1);
	ASSERT_TRUE(cq_pop(pt, &c));
	ASSERT_TRUE(cq_pop(pt, &c));
	expect_fields(_metadata, pt->fd, want2);
}

TEST_F(info, sq_tail_shows_published_not_submitted)
{
	struct port *pt = &self->pt;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		struct cport_sqe s = sqe_nop(i);

		ASSERT_EQ(0, sq_push(pt, &s));
	}
	EXPECT_EQ(0, fdinfo(pt->fd, "sq_head"));
	EXPECT_EQ(2, fdinfo(pt->fd, "sq_tail"));
	EXPECT_EQ(0, fdinfo(pt->fd, "posted"));
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(1, fdinfo(pt->fd, "sq_head"));
	EXPECT_EQ(2, fdinfo(pt->fd, "sq_tail"));
}

TEST_F(info, inflight_and_reserved_follow_timers)
{
	static const long long armed[] = { 8, 16, 2, 2, 0, 0, 2, 2, 0, 0, 0 };
	static const long long removed[] = { 8, 16, 3, 3, 0, 2, 1, 1, 2, 0, 0 };
	struct port *pt = &self->pt;
	struct cport_sqe s;

	CPORT_SKIP_IF_ABSENT();
	s = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 1);
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	s = sqe_timeout(60 * NSEC_PER_SEC, 0, 0, 0, 2);
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	expect_fields(_metadata, pt->fd, armed);
	s = sqe_timeout_remove(1, 3);
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	/* the removal's CQE and the timer's -ECANCELED */
	ASSERT_EQ(0, sys_enter(pt->fd, 0, 2, CPORT_ENTER_TIMEOUT,
			       10 * NSEC_PER_SEC));
	expect_fields(_metadata, pt->fd, removed);
}

TEST_F(info, posted_counts_every_post)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_post(pt->fd, 9, 9, 10);
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 1, 1));
	ASSERT_EQ(0, sys_post(pt->fd, 2, 2));
	/* the posted CQE and the poster's own */
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	EXPECT_EQ(4, fdinfo(pt->fd, "posted"));
	EXPECT_EQ(4, fdinfo(pt->fd, "cq_tail"));
	/* refused posts are not counted */
	for (i = 4; i < 16; i++)
		ASSERT_EQ(0, sys_post(pt->fd, i, i));
	EXPECT_EQ(-EAGAIN, sys_post(pt->fd, 99, 99));
	EXPECT_EQ(16, fdinfo(pt->fd, "posted"));
}

TEST_F(info, counters_keep_running_past_ring_size)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, sys_post(pt->fd, i, i));
		ASSERT_TRUE(cq_pop(pt, &c));
	}
	EXPECT_EQ(40, fdinfo(pt->fd, "posted"));
	EXPECT_EQ(40, fdinfo(pt->fd, "cq_tail"));
	EXPECT_EQ(40, fdinfo(pt->fd, "cq_head"));
}

TEST_F(info, waiters_counts_sleeping_threads)
{
	struct enter_waiter s[2];
	struct cport_cqe c;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, enter_waiter_start(&s[i], self->pt.fd,
						20 * NSEC_PER_SEC));
		EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", i + 1,
					   10000));
	}
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 1, 10000));
	ASSERT_TRUE(cq_pop(&self->pt, &c));
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 2));
	EXPECT_TRUE(fdinfo_wait_eq(self->pt.fd, "waiters", 0, 10000));
	for (i = 0; i < 2; i++) {
		pthread_join(s[i].thr, NULL);
		EXPECT_EQ(0, s[i].ret);
	}
	EXPECT_EQ(0, fdinfo(self->pt.fd, "waiters"));
}

TEST_F(info, dup_fd_shows_same_port)
{
	int fd2;
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	fd2 = dup(self->pt.fd);
	ASSERT_LE(0, fd2);
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		EXPECT_EQ(fdinfo(self->pt.fd, fields[i]), fdinfo(fd2, fields[i]));
	close(fd2);
}

/* The local cluster's flags, and the common clusters associated. */
TEST_F(info, flags_and_clusters)
{
	struct cport_flags f = { .op = CPORT_FLAGS_SET, .bit = 62 };
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_ASSOC,
		.flags = CPORT_CLUSTER_CREATE,
		.mode = 0600,
		.name = "fdinfo.flags",
	};
	int fd;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, fdinfo(self->pt.fd, "ef_local"));
	EXPECT_EQ(0, fdinfo(self->pt.fd, "ef_clusters"));
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_FLAGS, &f));
	f.bit = 1;
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_FLAGS, &f));
	EXPECT_EQ(0x4000000000000002LL, fdinfo(self->pt.fd, "ef_local"));
	ASSERT_EQ(1, ioctl(self->pt.fd, CPORT_IOC_CLUSTER, &c));
	EXPECT_EQ(1, fdinfo(self->pt.fd, "ef_clusters"));

	/* Shown before setup too. */
	fd = open("/dev/cport", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	c.cluster = 0;
	ASSERT_EQ(0, ioctl(fd, CPORT_IOC_CLUSTER, &c));
	EXPECT_EQ(0, fdinfo(fd, "ef_local"));
	EXPECT_EQ(1, fdinfo(fd, "ef_clusters"));
	close(fd);
}

TEST_F(info, cq_head_written_by_user_is_shown)
{
	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(self->pt.fd, 1, 1));
	ASSERT_EQ(0, sys_post(self->pt.fd, 2, 2));
	store_release(self->pt.cq_head, 2);
	EXPECT_EQ(2, fdinfo(self->pt.fd, "cq_head"));
}

/* The lines of fdinfo that start with @key ":\t", up to @max, into @out. */
static int fdinfo_lines(int fd, const char *key, char (*out)[128], int max)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':' ||
		    line[klen + 1] != '\t')
			continue;
		if (n < max) {
			snprintf(out[n], sizeof(out[n]), "%s",
				 line + klen + 2);
			out[n][strcspn(out[n], "\n")] = '\0';
		}
		n++;
	}
	fclose(f);
	return n;
}

/* Ops in flight: opcode, user_data, age in ms; 16 lines at most. */
TEST_F(info, inflight_ops_listed_with_age)
{
	char lines[20][128];
	unsigned int op, age;
	unsigned long long ud;
	int i;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, fdinfo_lines(self->pt.fd, "op", lines, 20));
	ASSERT_EQ(1, sq_submit_one(&self->pt, &(struct cport_sqe){
		.opcode = CPORT_OP_TIMEOUT, .off = 10 * NSEC_PER_SEC,
		.user_data = 0xabc }));
	usleep(100000);
	ASSERT_EQ(1, fdinfo_lines(self->pt.fd, "op", lines, 20));
	ASSERT_EQ(3, sscanf(lines[0], "%u %llx %u", &op, &ud, &age));
	EXPECT_EQ(CPORT_OP_TIMEOUT, op);
	EXPECT_EQ(0xabc, ud);
	EXPECT_LE(90, age);
	EXPECT_GT(10000, age);
	EXPECT_EQ(LLONG_MIN, fdinfo(self->pt.fd, "op_more"));
	/* 20 in flight (the CQ has 16 slots: 7 more fit): 8 listed. */
	for (i = 0; i < 7; i++)
		ASSERT_EQ(1, sq_submit_one(&self->pt, &(struct cport_sqe){
			.opcode = CPORT_OP_TIMEOUT,
			.off = 10 * NSEC_PER_SEC, .user_data = 0x100 + i }));
	ASSERT_EQ(8, fdinfo_lines(self->pt.fd, "op", lines, 20));
	EXPECT_EQ(0, strncmp(lines[0], "2 0xabc ", 8));
	EXPECT_EQ(0, strncmp(lines[7], "2 0x106 ", 8));
}

/* More than 16 in flight: 16 lines and op_more. */
TEST(inflight_ops_bounded)
{
	char lines[40][128];
	struct port pt;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_init(&pt, 32, 64, 0));
	for (i = 0; i < 30; i++)
		ASSERT_EQ(1, sq_submit_one(&pt, &(struct cport_sqe){
			.opcode = CPORT_OP_TIMEOUT,
			.off = 10 * NSEC_PER_SEC, .user_data = i }));
	EXPECT_EQ(30, fdinfo(pt.fd, "inflight"));
	EXPECT_EQ(16, fdinfo_lines(pt.fd, "op", lines, 40));
	EXPECT_EQ(14, fdinfo(pt.fd, "op_more"));
	port_fini(&pt);
}

/* Registered buffers (index, address, length) and files (index, path). */
TEST_F(info, registered_buffers_and_files_listed)
{
	static char b0[4096], b1[100];
	struct iovec iov[2] = { { b0, sizeof(b0) }, { b1, sizeof(b1) } };
	struct cport_register r = { .op = CPORT_REGISTER_BUFFERS, .nr = 2,
				    .data = (__u64)(uintptr_t)iov };
	char lines[4][128], want[128];
	int fds[3], fd;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(0, fdinfo_lines(self->pt.fd, "buf", lines, 4));
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_REGISTER, &r));
	ASSERT_EQ(2, fdinfo_lines(self->pt.fd, "buf", lines, 4));
	snprintf(want, sizeof(want), "0 %#llx 4096",
		 (unsigned long long)(uintptr_t)b0);
	EXPECT_STREQ(want, lines[0]);
	snprintf(want, sizeof(want), "1 %#llx 100",
		 (unsigned long long)(uintptr_t)b1);
	EXPECT_STREQ(want, lines[1]);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	fds[0] = fd;
	fds[1] = -1;		/* an empty slot: not listed */
	fds[2] = fd;
	r = (struct cport_register){ .op = CPORT_REGISTER_FILES, .nr = 3,
				     .data = (__u64)(uintptr_t)fds };
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_REGISTER, &r));
	close(fd);
	ASSERT_EQ(2, fdinfo_lines(self->pt.fd, "file", lines, 4));
	EXPECT_STREQ("0 /dev/null", lines[0]);
	EXPECT_STREQ("2 /dev/null", lines[1]);
}

/* Associated clusters: handle, name, rw or ro. */
TEST_F(info, clusters_listed)
{
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_ASSOC,
		.flags = CPORT_CLUSTER_CREATE,
		.mode = 0600,
		.name = "fdinfo.list",
	};
	char lines[4][128];
	int fd;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, ioctl(self->pt.fd, CPORT_IOC_CLUSTER, &c));
	EXPECT_EQ(1, c.cluster);
	/* A second one, made by another port, taken read-only. */
	fd = open("/dev/cport", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	snprintf(c.name, sizeof(c.name), "fdinfo.ro");
	c.cluster = 0;
	ASSERT_EQ(1, ioctl(fd, CPORT_IOC_CLUSTER, &c));
	c.flags = CPORT_CLUSTER_RDONLY;
	c.mode = 0;
	c.cluster = 0;
	/* 0: it existed (1: created); the handle comes back in .cluster. */
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_CLUSTER, &c));
	EXPECT_EQ(2, c.cluster);
	close(fd);
	ASSERT_EQ(2, fdinfo_lines(self->pt.fd, "cluster", lines, 4));
	EXPECT_STREQ("1 fdinfo.list rw", lines[0]);
	EXPECT_STREQ("2 fdinfo.ro ro", lines[1]);
	EXPECT_EQ(2, fdinfo(self->pt.fd, "ef_clusters"));
}

TEST_HARNESS_MAIN
