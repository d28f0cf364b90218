// SPDX-License-Identifier: GPL-2.0
/*
 * The module's tracepoints (kmod/trace.h), read through tracefs: each
 * event fires where it says, with the port's id and the op's fields, and
 * cport_complete says which context posted the CQE.
 *
 * Enabling and disabling patches kernel text: in the VM it goes through
 * /sbin/textpatch (VM-NOTES.md); the teardown always disables them.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <sys/mount.h>

#include "cport_test.h"

#define TRACING		"/sys/kernel/tracing"
#define EVENTS		TRACING "/events/cport"

/* Write @val to @file under tracefs, through textpatch when it exists. */
static int tracefs_write(const char *file, const char *val)
{
	char cmd[256];

	if (!access("/sbin/textpatch", X_OK))
		snprintf(cmd, sizeof(cmd),
			 "/sbin/textpatch sh -c 'echo %s > %s/%s'", val,
			 TRACING, file);
	else
		snprintf(cmd, sizeof(cmd), "sh -c 'echo %s > %s/%s'", val,
			 TRACING, file);
	return system(cmd) == 0 ? 0 : -1;
}

FIXTURE(tr) {
	struct port pt;
	unsigned long long id;
	bool enabled;
	char *buf;
};

FIXTURE_SETUP(tr)
{
	self->pt.fd = -1;
	self->enabled = false;
	self->buf = NULL;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (access(TRACING "/trace", F_OK))
		mount("nodev", TRACING, "tracefs", 0, NULL);
	if (access(EVENTS, F_OK))
		SKIP(return, "no %s (tracefs, or tracing off)", EVENTS);
	ASSERT_EQ(0, port_init(&self->pt, 8, 16, 0));
	self->id = fdinfo(self->pt.fd, "id");
	ASSERT_EQ(0, tracefs_write("trace", ""));
	ASSERT_EQ(0, tracefs_write("events/cport/enable", "1"));
	self->enabled = true;
	self->buf = malloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(tr)
{
	if (self->enabled)
		EXPECT_EQ(0, tracefs_write("events/cport/enable", "0"));
	if (self->pt.fd >= 0)
		port_fini(&self->pt);
	free(self->buf);
}

/* The trace buffer (after disabling the events), into self->buf. */
static void read_trace(struct __test_metadata *_metadata,
		       FIXTURE_DATA(tr) *self)
{
	size_t n = 0;
	ssize_t r;
	int fd;

	ASSERT_EQ(0, tracefs_write("events/cport/enable", "0"));
	self->enabled = false;
	fd = open(TRACING "/trace", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	while (n < (1 << 20) - 1 &&
	       (r = read(fd, self->buf + n, (1 << 20) - 1 - n)) > 0)
		n += r;
	close(fd);
	self->buf[n] = '\0';
}

/* A line of the trace with event @ev and the text @what in it. */
static bool has(FIXTURE_DATA(tr) *self, const char *ev, const char *what)
{
	char key[64];
	const char *p = self->buf;

	snprintf(key, sizeof(key), " %s: ", ev);
	while ((p = strstr(p, key))) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *w = strstr(p, what);

		if (w && w < p + len)
			return true;
		p += len;
	}
	return false;
}

#define EXPECT_TRACE(ev, fmt, ...) do {					\
		char _w[160];						\
									\
		snprintf(_w, sizeof(_w), fmt, ##__VA_ARGS__);		\
		EXPECT_TRUE(has(self, ev, _w)) TH_LOG("%s: %s", ev, _w); \
	} while (0)

TEST_F(tr, submit_issue_complete_post_cancel)
{
	struct cport_sqe s[2] = {
		sqe_nop(0x11),
		sqe_timeout(10 * NSEC_PER_SEC, 0, 0, 0, 0x12),
	};
	struct cport_cqe c[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(1, reap_n(&self->pt, c, 1));
	s[0] = sqe_cancel(0x12, 0, 0x13);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s[0]));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	EXPECT_EQ(-ECANCELED, c[0].res);
	EXPECT_EQ(0, c[1].res);
	EXPECT_EQ(0, sys_post(self->pt.fd, 0x14, 7));
	ASSERT_EQ(1, reap_n(&self->pt, c, 1));
	read_trace(_metadata, self);
	EXPECT_TRACE("cport_submit", "port=%llu want=2 ret=2", self->id);
	EXPECT_TRACE("cport_issue", "port=%llu op=0 flags=0x0 user_data=0x11",
		     self->id);
	EXPECT_TRACE("cport_issue", "port=%llu op=2 flags=0x0 user_data=0x12",
		     self->id);
	EXPECT_TRACE("cport_complete",
		     "port=%llu user_data=0x11 res=0 flags=0x0 ctx=task",
		     self->id);
	EXPECT_TRACE("cport_cancel", "port=%llu op=2 user_data=0x12",
		     self->id);
	EXPECT_TRACE("cport_complete", "port=%llu user_data=0x12 res=%d",
		     self->id, -ECANCELED);
	EXPECT_TRACE("cport_post", "port=%llu user_data=0x14 res=7 ret=0",
		     self->id);
}

/* A timer's CQE is posted from its hrtimer: interrupt context. */
TEST_F(tr, timer_completes_in_irq)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(1, run_one(_metadata, &self->pt,
			     sqe_timeout(1000000, 0, 0, 0, 0x21)));
	read_trace(_metadata, self);
	EXPECT_TRACE("cport_complete",
		     "port=%llu user_data=0x21 res=1 flags=0x0 ctx=irq", self->id);
}

/* A full CQ: the submission's -EBUSY and the post's -EAGAIN. */
TEST_F(tr, cq_full)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, sys_post(self->pt.fd, i, 0));
	EXPECT_EQ(-EAGAIN, sys_post(self->pt.fd, 99, 0));
	ASSERT_EQ(0, sq_push(&self->pt, &(struct cport_sqe){ .user_data = 1 }));
	EXPECT_EQ(-EBUSY, sys_enter(self->pt.fd, 1, 0, 0, 0));
	read_trace(_metadata, self);
	EXPECT_TRACE("cport_cq_full", "port=%llu err=%d", self->id, -EAGAIN);
	EXPECT_TRACE("cport_cq_full", "port=%llu err=%d", self->id, -EBUSY);
	EXPECT_TRACE("cport_submit", "port=%llu want=1 ret=%d", self->id,
		     -EBUSY);
}

/* A chain, a drain, and the flags they and FLAG_WAIT use. */
TEST_F(tr, link_drain_flags)
{
	struct cport_sqe s[3] = { sqe_nop(0x31), sqe_nop(0x32), sqe_nop(0x33) };
	struct cport_cqe c[3];

	CPORT_SKIP_IF_ABSENT();
	s[0].flags = CPORT_SQE_F_LINK;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	/* A drain behind a timer: held back until it fires. */
	s[0] = sqe_timeout(1000000, 0, 0, 0, 0x34);
	s[1] = sqe_nop(0x35);
	s[1].flags = CPORT_SQE_F_DRAIN;
	ASSERT_EQ(2, submit_n(&self->pt, s, 2));
	ASSERT_EQ(2, reap_n(&self->pt, c, 2));
	/* FLAG_WAIT on flag 5 of the local cluster, then the flag set. */
	s[0] = sqe_flag_wait(0, 1ULL << 5, 0, 0x36);
	ASSERT_EQ(1, sq_submit_one(&self->pt, &s[0]));
	EXPECT_EQ(0, flag_set(self->pt.fd, 0, 5));
	ASSERT_EQ(1, reap_n(&self->pt, c, 1));
	EXPECT_EQ(0x36, c[0].user_data);
	read_trace(_metadata, self);
	EXPECT_TRACE("cport_link", "port=%llu user_data=0x31 n=1", self->id);
	EXPECT_TRACE("cport_drain", "port=%llu user_data=0x35 n=1", self->id);
	EXPECT_TRACE("cport_flag_wait", "cluster=(local) mask=0x20 got=0x0");
	EXPECT_TRACE("cport_flag", "cluster=(local) bit=5 set old=0x0");
	EXPECT_TRACE("cport_flag_wake", "cluster=(local) mask=0x20 got=0x20");
}

/* A POLL_ADD's file becomes readable: the wake-up, its events. */
TEST_F(tr, poll_wake)
{
	struct cport_cqe c;
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(1, sq_submit_one(&self->pt, &(struct cport_sqe){
		.opcode = CPORT_OP_POLL_ADD, .fd = p[0], .len = POLLIN,
		.user_data = 0x41 }));
	usleep(20000);
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(1, reap_n(&self->pt, &c, 1));
	read_trace(_metadata, self);
	EXPECT_TRACE("cport_poll_wake", "port=%llu user_data=0x41 mask=0x",
		     self->id);
	close(p[0]);
	close(p[1]);
}

/*
 * A pool thread that took a CQE, then sleeps: it blocks (its slot freed)
 * and comes back (counted again). Needs preempt notifiers.
 */
TEST(pool_block_and_wake)
{
	struct cport_params p = { .sq_entries = 4, .concurrency = 1 };
	struct cport_cqe c;
	struct cport_getq q = { .cqes = (__u64)(uintptr_t)&c, .nr = 1,
				.flags = CPORT_GETQ_TIMEOUT,
				.timeout_ns = 10 * NSEC_PER_SEC };
	struct port pt;
	char *buf;
	int fd, n;

	CPORT_SKIP_IF_ABSENT();
	if (access(TRACING "/trace", F_OK))
		mount("nodev", TRACING, "tracefs", 0, NULL);
	if (access(EVENTS, F_OK))
		SKIP(return, "no %s", EVENTS);
	ASSERT_EQ(0, port_init_params(&pt, &p));
	if (fdinfo(pt.fd, "pool_block_release") != 1) {
		port_fini(&pt);
		SKIP(return, "no preempt notifiers: no block events");
	}
	ASSERT_EQ(0, tracefs_write("trace", ""));
	ASSERT_EQ(0, tracefs_write("events/cport/cport_pool_block/enable", "1"));
	ASSERT_EQ(0, tracefs_write("events/cport/cport_pool_wake/enable", "1"));
	ASSERT_EQ(0, sys_post(pt.fd, 0x51, 0));
	ASSERT_EQ(1, ioctl(pt.fd, CPORT_IOC_GETQ, &q));
	usleep(20000);		/* blocks: counted out, then in again */
	EXPECT_EQ(0, tracefs_write("events/cport/cport_pool_block/enable", "0"));
	EXPECT_EQ(0, tracefs_write("events/cport/cport_pool_wake/enable", "0"));
	buf = calloc(1, 1 << 20);
	ASSERT_NE(NULL, buf);
	fd = open(TRACING "/trace", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	n = read(fd, buf, (1 << 20) - 1);
	close(fd);
	ASSERT_LT(0, n);
	EXPECT_NE(NULL, strstr(buf, "cport_pool_block: running=0"));
	EXPECT_NE(NULL, strstr(buf, "cport_pool_wake: running=1"));
	free(buf);
	port_fini(&pt);
}

TEST_HARNESS_MAIN
