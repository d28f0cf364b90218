// SPDX-License-Identifier: GPL-2.0
/*
 * tools/cportstat, run as an operator would: its rows for a port of ours
 * (found through /proc, one row for several descriptors), the rates of
 * its watch mode, and the common clusters it lists and deletes.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

static const char *cportstat_path(void)
{
	static const char *const where[] = {
		"/cport/bin/cportstat", "../../tools/cportstat/cportstat",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(where); i++)
		if (!access(where[i], X_OK))
			return where[i];
	return NULL;
}

/* Run cportstat with @args; its output into @out; its exit status. */
static int run(const char *args, char *out, size_t len)
{
	char cmd[256];
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", cportstat_path(), args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n + 1 < len && fgets(out + n, (int)(len - n), f))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct row {
	unsigned long long id;
	int pid;
	char comm[32];
	unsigned int fds;
	long long sq, cq, inflight, posted, waiters;
	char rate[32], irq[16], pool[32], flag[4];
};

/* The @nth (from 0) row of @out whose ID is @id. */
static bool find_row(const char *out, unsigned long long id, int nth,
		     struct row *r)
{
	const char *line = out;

	while (line && *line) {
		memset(r, 0, sizeof(*r));
		if (sscanf(line, "%llu %d %31s %u %lld %lld %lld %lld %31s %15s %lld %31s %3s",
			   &r->id, &r->pid, r->comm, &r->fds, &r->sq, &r->cq,
			   &r->inflight, &r->posted, r->rate, r->irq,
			   &r->waiters, r->pool, r->flag) >= 12 &&
		    r->id == id && nth-- == 0)
			return true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

FIXTURE(st) {
	struct port pt;
	unsigned long long id;
	char out[16384];
};

FIXTURE_SETUP(st)
{
	self->pt.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (!cportstat_path())
		SKIP(return, "no cportstat");
	ASSERT_EQ(0, port_init(&self->pt, 8, 16, 0));
	self->id = fdinfo(self->pt.fd, "id");
	ASSERT_LT(0, (long long)self->id);
}

FIXTURE_TEARDOWN(st)
{
	if (self->pt.fd >= 0)
		port_fini(&self->pt);
}

/* One row per port: its descriptors counted, its rings, its ops. */
TEST_F(st, port_row)
{
	char args[64];
	struct row r;
	int i, dupfd;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, sq_submit_one(&self->pt, &(struct cport_sqe){
			.opcode = CPORT_OP_TIMEOUT, .off = 10 * NSEC_PER_SEC,
			.user_data = i }));
	dupfd = dup(self->pt.fd);
	ASSERT_LE(0, dupfd);
	snprintf(args, sizeof(args), "-p %d", getpid());
	ASSERT_EQ(0, run(args, self->out, sizeof(self->out)));
	ASSERT_TRUE(find_row(self->out, self->id, 0, &r)) TH_LOG("%s", self->out);
	EXPECT_EQ(getpid(), r.pid);
	EXPECT_EQ(2, r.fds);
	EXPECT_EQ(8, r.sq);
	EXPECT_EQ(16, r.cq);
	EXPECT_EQ(3, r.inflight);
	EXPECT_STREQ("-", r.rate);	/* one report: no rate */
	EXPECT_NE(NULL, strstr(self->out, "\n1 port\n"));
	close(dupfd);
	/* Without -p: every port of the system, ours among them. */
	ASSERT_EQ(0, run("", self->out, sizeof(self->out)));
	EXPECT_TRUE(find_row(self->out, self->id, 0, &r));
}

struct poster {
	int fd;
	struct port *pt;
	volatile int stop;
	long n;
};

static void *post_loop(void *arg)
{
	struct poster *p = arg;
	struct cport_cqe c;

	while (!p->stop) {
		if (sys_post(p->fd, 1, 0) == 0)
			p->n++;
		while (cq_pop(p->pt, &c))
			;
		usleep(1000);
	}
	return NULL;
}

/* Watch mode: a report per interval, with the rate since the last. */
TEST_F(st, watch_mode_rates)
{
	struct poster p = { .fd = self->pt.fd, .pt = &self->pt };
	char args[64];
	struct row r;
	pthread_t t;
	double rate;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pthread_create(&t, NULL, post_loop, &p));
	snprintf(args, sizeof(args), "-p %d 0.5 3", getpid());
	EXPECT_EQ(0, run(args, self->out, sizeof(self->out)));
	p.stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_TRUE(find_row(self->out, self->id, 0, &r)) TH_LOG("%s", self->out);
	EXPECT_STREQ("-", r.rate);
	ASSERT_TRUE(find_row(self->out, self->id, 2, &r)) TH_LOG("%s", self->out);
	rate = strtod(r.rate, NULL);
	EXPECT_LT(0, rate) TH_LOG("%s", self->out);
	/* Posted from a thread: not in interrupt context. */
	EXPECT_STREQ("0.0", r.irq);
	EXPECT_FALSE(find_row(self->out, self->id, 3, &r));
}

TEST_F(st, restricted_port_marked)
{
	struct cport_restrict rs = { .ops = 1, .ioctls = 4 };
	char args[64];
	struct row r;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_RESTRICT, &rs));
	snprintf(args, sizeof(args), "-p %d", getpid());
	ASSERT_EQ(0, run(args, self->out, sizeof(self->out)));
	ASSERT_TRUE(find_row(self->out, self->id, 0, &r));
	EXPECT_STREQ("R", r.flag);
}

/* -c lists the common clusters, -d deletes a permanent one. */
TEST_F(st, clusters_list_and_delete)
{
	struct cport_cluster c = {
		.op = CPORT_CLUSTER_ASSOC,
		.flags = CPORT_CLUSTER_CREATE | CPORT_CLUSTER_PERMANENT,
		.mode = 0640,
		.name = "cstat.perm",
	};
	struct cport_flags f = { .op = CPORT_FLAGS_SET, .bit = 4 };
	char want[128];

	CPORT_SKIP_IF_ABSENT();
	if (geteuid())
		SKIP(return, "a permanent cluster needs CAP_SYS_ADMIN");
	ASSERT_EQ(1, ioctl(self->pt.fd, CPORT_IOC_CLUSTER, &c));
	f.cluster = c.cluster;
	ASSERT_EQ(0, ioctl(self->pt.fd, CPORT_IOC_FLAGS, &f));
	ASSERT_EQ(0, run("-c", self->out, sizeof(self->out)));
	snprintf(want, sizeof(want), "%-32s %6u %6u %6u %6u %04o %4s %5u %18s",
		 "cstat.perm", 0, 0, 0, 0, 0640, "P", 1, "0x10");
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, run("-d cstat.perm", self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, run("-c", self->out, sizeof(self->out)));
	EXPECT_EQ(NULL, strstr(self->out, "cstat.perm"));
	/* Gone: a second delete says so, and fails. */
	EXPECT_EQ(1, run("-d cstat.perm", self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, strerror(ENOENT)))
		TH_LOG("%s", self->out);
}

TEST(usage_errors)
{
	char out[1024];

	if (!cportstat_path())
		SKIP(return, "no cportstat");
	EXPECT_EQ(2, run("-x", out, sizeof(out)));
	EXPECT_EQ(2, run("0", out, sizeof(out)));
	EXPECT_EQ(2, run("1 0", out, sizeof(out)));
	EXPECT_EQ(2, run("-p abc", out, sizeof(out)));
	EXPECT_EQ(0, run("-h", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "usage: cportstat"));
}

TEST_HARNESS_MAIN
