// SPDX-License-Identifier: GPL-2.0
/*
 * Shared memory is untrusted: garbage in the shared indices, masks and
 * sizes, thousands of random SQEs, and bad user pointers must produce
 * errors (or valid results), never a hang or a kernel report.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <poll.h>
#include <sys/socket.h>

#include "cport_test.h"

PORT_FIXTURE(scribble, 8, 64)

/* Fill every SQE slot with a NOP whose user_data is its slot number. */
static void fill_nops(struct port *pt)
{
	__u32 i;

	for (i = 0; i < pt->p.sq_entries; i++)
		pt->sqes[i] = sqe_nop(i);
}

/* Reap everything; return how many CQEs, checking they are NOPs. */
static int drain_nops(struct __test_metadata *_metadata, struct port *pt)
{
	struct cport_cqe c;
	int n = 0;

	while (cq_pop(pt, &c)) {
		EXPECT_GT(pt->p.sq_entries, c.user_data);
		EXPECT_EQ(0, c.res);
		n++;
	}
	return n;
}

/*
 * Repair the indices the user writes, after the ones the kernel writes were
 * scribbled on too: the kernel's CQ tail is in fdinfo, and its SQ head is
 * republished when it consumes SQEs (every SQE slot holds a NOP).
 */
static void repair_rings(struct __test_metadata *_metadata, struct port *pt)
{
	int ret;

	fill_nops(pt);
	store_release(pt->cq_head, fdinfo(pt->fd, "cq_tail"));
	store_release(pt->sq_tail, load_acquire(pt->sq_head) + 0x40000000);
	ret = sys_enter(pt->fd, pt->p.sq_entries, 0, 0, 0);
	ASSERT_LT(0, ret);
	store_release(pt->sq_tail, load_acquire(pt->sq_head));
	store_release(pt->cq_head, fdinfo(pt->fd, "cq_tail"));
}

/* A port whose rings were scribbled on, once repaired, works exactly. */
static void expect_port_works(struct __test_metadata *_metadata,
			      struct port *pt)
{
	struct cport_sqe s = sqe_nop(0x600d);
	struct cport_cqe c;

	store_release(pt->sq_tail, load_acquire(pt->sq_head));
	store_release(pt->cq_head, load_acquire(pt->cq_tail));
	ASSERT_EQ(0, sys_post(pt->fd, 0x6001, 61));
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x6001, c.user_data);
	EXPECT_EQ(61, c.res);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x600d, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_FALSE(cq_pop(pt, &c));
}

/* ----------------------------------------------------------------- */
/* SQ indices */

TEST_F(scribble, huge_sq_tail_consumes_at_most_sq_entries)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	fill_nops(pt);
	store_release(pt->sq_tail, 0x80000000U);
	EXPECT_EQ(8, sys_enter(pt->fd, 1000, 0, 0, 0));
	EXPECT_EQ(8, load_acquire(pt->sq_head));
	EXPECT_EQ(8, drain_nops(_metadata, pt));
	EXPECT_EQ(8, sys_enter(pt->fd, 0xffffffffU, 0, 0, 0));
	EXPECT_EQ(16, load_acquire(pt->sq_head));
	EXPECT_EQ(8, drain_nops(_metadata, pt));
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, sq_tail_behind_head_consumes_at_most_sq_entries)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	fill_nops(pt);
	store_release(pt->sq_tail, 2);
	ASSERT_EQ(2, sys_enter(pt->fd, 2, 0, 0, 0));
	ASSERT_EQ(2, drain_nops(_metadata, pt));
	/* tail - head is now 0xffffffff */
	store_release(pt->sq_tail, 1);
	EXPECT_EQ(8, sys_enter(pt->fd, 8, 0, 0, 0));
	EXPECT_EQ(10, load_acquire(pt->sq_head));
	EXPECT_EQ(8, drain_nops(_metadata, pt));
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, sq_head_overwritten_by_kernel)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	/* the kernel keeps its own SQ head and republishes it */
	store_release(pt->sq_head, 1000);
	pt->sqes[0] = sqe_nop(0x4ead);
	store_release(pt->sq_tail, 1);
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x4ead, c.user_data);
}

/* ----------------------------------------------------------------- */
/* CQ indices */

static void expect_cq_looks_full(struct __test_metadata *_metadata,
				 struct port *pt)
{
	struct cport_sqe s = sqe_nop(0x99);
	struct port other;
	struct cport_cqe c;
	__u32 tail = load_acquire(pt->cq_tail);

	ASSERT_EQ(0, sq_push(pt, &s));
	EXPECT_EQ(-EBUSY, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(-EAGAIN, sys_post(pt->fd, 0x98, 0));
	/* CPORT_OP_POST from another port is refused too */
	ASSERT_EQ(0, port_init(&other, 2, 0, 0));
	s = sqe_post(pt->fd, 0x97, 0, 0x96);
	ASSERT_EQ(1, sq_submit_one(&other, &s));
	ASSERT_TRUE(cq_pop(&other, &c));
	EXPECT_EQ(-EAGAIN, c.res);
	port_fini(&other);
	EXPECT_EQ(tail, load_acquire(pt->cq_tail));
	/* drop the unsubmitted NOP */
	store_release(pt->sq_tail, load_acquire(pt->sq_head));
}

TEST_F(scribble, cq_head_ahead_of_tail_looks_full)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 1, 1));
	ASSERT_EQ(0, sys_post(pt->fd, 2, 2));
	store_release(pt->cq_head, load_acquire(pt->cq_tail) + 5);
	expect_cq_looks_full(_metadata, pt);
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, cq_head_far_behind_looks_full)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 1, 1));
	store_release(pt->cq_head, load_acquire(pt->cq_tail) - 0x10000);
	expect_cq_looks_full(_metadata, pt);
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, cq_head_one_lap_behind_looks_full)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	/* tail - head = cq_entries + 1 */
	store_release(pt->cq_head, load_acquire(pt->cq_tail) - 65);
	expect_cq_looks_full(_metadata, pt);
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, garbage_cq_head_wait_and_poll_return)
{
	struct port *pt = &self->pt;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	store_release(pt->cq_head, 0xdeadbeef);
	ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, 10 * NSEC_PER_MSEC);
	EXPECT_TRUE(ret == 0 || ret == -ETIME) TH_LOG("ENTER %d", ret);
	ret = sys_enter(pt->fd, 0, 64, CPORT_ENTER_TIMEOUT, 0);
	EXPECT_TRUE(ret == 0 || ret == -ETIME) TH_LOG("ENTER %d", ret);
	{
		struct pollfd p = { .fd = pt->fd, .events = POLLIN };

		ret = poll(&p, 1, 10);
		EXPECT_TRUE(ret == 0 || (ret == 1 && p.revents == POLLIN))
			TH_LOG("poll %d revents %#x", ret, p.revents);
	}
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, garbage_cq_head_keeps_reserved_terminal_cqe)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_timeout(20 * NSEC_PER_MSEC, 0, 0, 0, 0x71);
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	/* the timer's slot was reserved at submit: it is still posted */
	store_release(pt->cq_head, 0x12345678);
	for (i = 0; i < 10000 && load_acquire(pt->cq_tail) == 0; i++)
		usleep(1000);
	ASSERT_EQ(1, load_acquire(pt->cq_tail));
	EXPECT_EQ(0x71, pt->cqes[0].user_data);
	EXPECT_EQ(1, pt->cqes[0].res);
	EXPECT_EQ(0, fdinfo(pt->fd, "inflight"));
	expect_port_works(_metadata, pt);
}

TEST_F(scribble, cq_tail_overwritten_by_kernel)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sys_post(pt->fd, 1, 1));
	store_release(pt->cq_tail, 777);
	ASSERT_EQ(0, sys_post(pt->fd, 2, 2));
	/* the kernel's own tail: the CQE lands in slot 1 */
	EXPECT_EQ(2, load_acquire(pt->cq_tail));
	EXPECT_EQ(2, pt->cqes[1].user_data);
	EXPECT_EQ(2, pt->cqes[1].res);
}

/* ----------------------------------------------------------------- */
/* masks, sizes and other shared fields */

TEST_F(scribble, garbage_masks_and_sizes_ignored)
{
	struct port *pt = &self->pt;
	__u64 ud = 0;
	int lap, i;

	CPORT_SKIP_IF_ABSENT();
	*pt->sq_mask = 0xffffffff;
	*pt->sq_entries = 0xffffffff;
	*pt->sq_flags = 0xffffffff;
	*pt->cq_mask = 0xffffffff;
	*pt->cq_entries = 0;
	*pt->cq_overflow = 0xffffffff;
	*pt->cq_flags = 0xffffffff;
	/* the rings keep working with the real sizes, several laps */
	for (lap = 0; lap < 20; lap++) {
		for (i = 0; i < 8; i++) {
			struct cport_sqe s = sqe_nop(ud + i);

			ASSERT_EQ(0, sq_push(pt, &s));
		}
		ASSERT_EQ(8, sys_enter(pt->fd, 8, 8, 0, 0));
		for (i = 0; i < 8; i++) {
			struct cport_cqe c;

			ASSERT_TRUE(cq_pop(pt, &c));
			ASSERT_EQ(ud + i, c.user_data);
			ASSERT_EQ(0, c.res);
		}
		ud += 8;
	}
	EXPECT_EQ(8, fdinfo(pt->fd, "sq_entries"));
	EXPECT_EQ(64, fdinfo(pt->fd, "cq_entries"));
	EXPECT_EQ(160, fdinfo(pt->fd, "posted"));
}

TEST_F(scribble, unmapped_rings_do_not_matter_to_kernel)
{
	struct port *pt = &self->pt;
	struct cport_sqe s = sqe_nop(0x11);

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, sq_push(pt, &s));
	port_unmap(pt);
	EXPECT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(0, sys_post(pt->fd, 0x12, 0));
	EXPECT_EQ(0, sys_enter(pt->fd, 0, 2, 0, 0));
	ASSERT_EQ(0, port_map(pt));
	EXPECT_EQ(2, load_acquire(pt->cq_tail));
	EXPECT_EQ(0x11, pt->cqes[0].user_data);
	EXPECT_EQ(0x12, pt->cqes[1].user_data);
}

/* A thread scribbles on every shared index while the port is used. */
struct scribbler {
	pthread_t thr;
	struct port *pt;
	volatile int stop;
};

static void *scribbler_fn(void *arg)
{
	struct scribbler *s = arg;
	__u64 seed = 0x5eed5eed5eedULL;

	while (!s->stop) {
		__u64 r = xrand(&seed);

		switch (r & 7) {
		case 0:
			store_release(s->pt->sq_tail, r >> 32);
			break;
		case 1:
			store_release(s->pt->cq_head, r >> 32);
			break;
		case 2:
			store_release(s->pt->sq_head, r >> 32);
			break;
		case 3:
			store_release(s->pt->cq_tail, r >> 32);
			break;
		default:
			s->pt->sqes[(r >> 8) & 7].opcode = r >> 16;
			s->pt->sqes[(r >> 8) & 7].user_data = r;
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(scribble, concurrent_scribbling_while_in_use, 120)
{
	struct port *pt = &self->pt;
	struct scribbler sc = { .pt = pt };
	struct cport_sqe s = sqe_timeout(NSEC_PER_MSEC, CPORT_TIMEOUT_MULTISHOT,
					 0, 0, 0x7);
	bool removed = false, terminal = false;
	__u64 t_end;
	int ret;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	/* NOPs everywhere, or the timer's SQE would be resubmitted below */
	fill_nops(pt);
	ASSERT_EQ(0, pthread_create(&sc.thr, NULL, scribbler_fn, &sc));
	t_end = now_ns(CLOCK_MONOTONIC) + 300 * NSEC_PER_MSEC;
	while (now_ns(CLOCK_MONOTONIC) < t_end) {
		ret = sys_enter(pt->fd, 8, 0, 0, 0);
		ASSERT_TRUE(ret >= 0 || ret == -EBUSY) TH_LOG("ENTER %d", ret);
		ret = sys_post(pt->fd, 1, 1);
		ASSERT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("POST %d", ret);
		ret = sys_enter(pt->fd, 0, 1, CPORT_ENTER_TIMEOUT, 100000);
		ASSERT_TRUE(ret == 0 || ret == -ETIME) TH_LOG("wait %d", ret);
	}
	sc.stop = 1;
	pthread_join(sc.thr, NULL);
	/* repaired, the multishot timer is still armed: remove it */
	repair_rings(_metadata, pt);
	EXPECT_TRUE(fdinfo_wait_eq(pt->fd, "inflight", 1, 10000));
	s = sqe_timeout_remove(0x7, 0x8);
	ASSERT_EQ(1, sq_submit_one(pt, &s));
	while (!removed || !terminal) {
		struct cport_cqe c;

		ASSERT_EQ(0, cq_wait(pt, &c, 10 * NSEC_PER_SEC));
		if (c.user_data == 0x8) {
			EXPECT_EQ(0, c.res);
			removed = true;
		} else if (c.user_data == 0x7 &&
			   !(c.flags & CPORT_CQE_F_MORE)) {
			EXPECT_EQ(-ECANCELED, c.res);
			terminal = true;
		}
	}
	/* random SQEs the scribbler made may still be completing */
	ASSERT_TRUE(fdinfo_wait_eq(pt->fd, "inflight", 0, 10000));
	/* and the port works */
	expect_port_works(_metadata, pt);
}

/* ----------------------------------------------------------------- */
/* random SQEs */

#define RANDOM_SQES	4000
#define CANCEL_UD	0xcafe000000000000ULL

static bool res_allowed(__s32 res)
{
	switch (res) {
	case -EINVAL: case -EBADF: case -EBADFD: case -EAGAIN:
	case -ENOENT: case -EALREADY: case -ECANCELED:
	case -EFAULT: case -ESPIPE: case -EOPNOTSUPP:	/* the I/O ops */
	case -ENXIO:	/* the FIXED ops: no buffers registered */
	case -ENOTSOCK: case -ENOBUFS: case -EMSGSIZE:	/* the socket ops */
		return true;
	default:
		return res >= 0;
	}
}

static const __u32 timeout_flag_sets[] = {
	0, CPORT_TIMEOUT_ABS, CPORT_TIMEOUT_BOOTTIME, CPORT_TIMEOUT_REALTIME,
	CPORT_TIMEOUT_ABS | CPORT_TIMEOUT_BOOTTIME,
	CPORT_TIMEOUT_MULTISHOT, CPORT_TIMEOUT_MULTISHOT | CPORT_TIMEOUT_ABS,
	CPORT_TIMEOUT_MULTISHOT | CPORT_TIMEOUT_REALTIME,
};

/* A connected pair the valid socket SQEs use: SEND on [0], RECV on [1]. */
static int scribble_socks[2] = { -1, -1 };
static char scribble_buf[64];

/* A valid SQE of a random opcode; @base is the user_data of this batch. */
static void valid_random_sqe(__u64 *seed, struct cport_sqe *s, int sink_fd,
			     __u64 base, __u64 ud)
{
	__u64 r = xrand(seed);

	memset(s, 0, sizeof(*s));
	s->opcode = r % CPORT_OP_LAST;
	r >>= 8;
	switch (s->opcode) {
	case CPORT_OP_POST:
		s->fd = (r & 3) ? sink_fd : (int)((r >> 2) & 3) - 1;
		s->addr = xrand(seed);
		s->len = xrand(seed);
		break;
	case CPORT_OP_TIMEOUT:
		s->op_flags = timeout_flag_sets[r & 7];
		s->off = (r & 8) ? (r >> 16) % (3 * NSEC_PER_MSEC) : xrand(seed);
		if (s->op_flags & CPORT_TIMEOUT_ABS)
			s->off = (r & 16) ? s->off + now_ns(CLOCK_MONOTONIC) : 1;
		if (s->op_flags & CPORT_TIMEOUT_MULTISHOT) {
			s->len = (r >> 5) & 7;
			s->addr2 = CPORT_TIMEOUT_MIN_PERIOD_NS +
				   ((r >> 40) & 0x3ffff);
		}
		break;
	case CPORT_OP_TIMEOUT_REMOVE:
		s->addr = base + (r & 63);
		break;
	case CPORT_OP_CANCEL:
		s->op_flags = r & (CPORT_CANCEL_ALL | CPORT_CANCEL_ANY);
		if (!(s->op_flags & CPORT_CANCEL_ANY))
			s->addr = base + ((r >> 4) & 63);
		break;
	case CPORT_OP_CLOSE:
		/* Never a descriptor of the test itself, even with a byte changed. */
		s->fd = -1;
		break;
	case CPORT_OP_SEND:
	case CPORT_OP_RECV:
		s->fd = scribble_socks[s->opcode == CPORT_OP_RECV];
		s->addr = (__u64)(uintptr_t)scribble_buf;
		s->len = r % sizeof(scribble_buf);
		break;
	case CPORT_OP_LINK_TIMEOUT:
		/* Valid fields; -EINVAL unless a random LINK flag is in front. */
		s->off = 1 + (r >> 8) % (3 * NSEC_PER_MSEC);
		break;
	}
	s->user_data = ud;
}

/*
 * One third valid SQEs of every opcode, one third valid SQEs with one
 * random byte changed, one third random bytes.
 */
static void random_sqe(__u64 *seed, struct cport_sqe *s, int sink_fd,
		       __u64 base, __u64 ud)
{
	__u64 r = xrand(seed);
	unsigned int i;

	switch (r % 3) {
	case 0:
		valid_random_sqe(seed, s, sink_fd, base, ud);
		break;
	case 1:
		valid_random_sqe(seed, s, sink_fd, base, ud);
		/* any byte but user_data's */
		i = (r >> 8) % sizeof(*s);
		if (i >= offsetof(struct cport_sqe, user_data) &&
		    i < offsetof(struct cport_sqe, addr2))
			i += 8;
		((unsigned char *)s)[i] ^= 1 + ((r >> 16) % 255);
		break;
	default:
		for (i = 0; i < sizeof(*s) / sizeof(__u64); i++)
			((__u64 *)s)[i] = xrand(seed);
		if (r & 8)
			s->opcode %= CPORT_OP_LAST;
		/* Never a real signal to ourselves (signal_test has those). */
		if (s->flags & CPORT_SQE_F_SIGNAL)
			s->sig_signo |= 0x100;
		break;
	}
	/*
	 * A DRAIN holds up every SQE after it until all before it ended,
	 * and random timers may run until the batch's final cancel: keep one
	 * random DRAIN in eight, or almost nothing would run.
	 */
	if ((s->flags & CPORT_SQE_F_DRAIN) && ((r >> 40) & 7))
		s->flags &= ~CPORT_SQE_F_DRAIN;
	s->user_data = ud;
}

struct random_run {
	unsigned char terminal[RANDOM_SQES];
	int done;
	int ok_results;
};

/* Account for one CQE of the random run. */
static void random_cqe(struct __test_metadata *_metadata,
		       struct random_run *run, const struct cport_cqe *c)
{
	if ((c->user_data & ~0xffffULL) == CANCEL_UD)
		return;
	ASSERT_GT(RANDOM_SQES, c->user_data)
		TH_LOG("stray CQE %llx res %d",
		       (unsigned long long)c->user_data, c->res);
	ASSERT_TRUE(res_allowed(c->res))
		TH_LOG("SQE %llu: res %d", (unsigned long long)c->user_data,
		       c->res);
	ASSERT_EQ(0, c->flags & ~CPORT_CQE_F_MORE);
	if (c->flags & CPORT_CQE_F_MORE) {
		ASSERT_LE(1, c->res);
		ASSERT_EQ(0, run->terminal[c->user_data])
			TH_LOG("SQE %llu: MORE after terminal",
			       (unsigned long long)c->user_data);
		return;
	}
	ASSERT_EQ(0, run->terminal[c->user_data])
		TH_LOG("SQE %llu: second terminal CQE",
		       (unsigned long long)c->user_data);
	run->terminal[c->user_data] = 1;
	run->done++;
	if (c->res >= 0)
		run->ok_results++;
}

TEST_F_TIMEOUT(scribble, random_sqes_each_get_one_terminal_cqe, 180)
{
	static struct random_run run;
	__u64 seed = 0x0123456789abcdefULL;
	int batch_start, i;
	struct cport_cqe c;
	struct port big, sink;

	CPORT_SKIP_IF_ABSENT();
	memset(&run, 0, sizeof(run));
	ASSERT_EQ(0, port_init(&big, 64, 512, 0));
	/* posts go to this other port (or to bad fds), never to big */
	ASSERT_EQ(0, port_init(&sink, 4, 64, 0));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, scribble_socks));
	for (batch_start = 0; batch_start < RANDOM_SQES; batch_start += 64) {
		int n = RANDOM_SQES - batch_start < 64 ?
			RANDOM_SQES - batch_start : 64;
		struct cport_sqe cancel = sqe_cancel(0, CPORT_CANCEL_ANY |
						     CPORT_CANCEL_ALL,
						     CANCEL_UD | batch_start);
		int ret;

		for (i = 0; i < n; i++) {
			struct cport_sqe s;

			random_sqe(&seed, &s, sink.fd, batch_start,
				   batch_start + i);
			ASSERT_EQ(0, sq_push(&big, &s));
		}
		ASSERT_EQ(n, sys_enter(big.fd, n, 0, 0, 0));
		/* cancel whatever this batch left in flight */
		ASSERT_EQ(0, sq_push(&big, &cancel));
		while ((ret = sys_enter(big.fd, 1, 0, 0, 0)) == -EBUSY)
			while (cq_pop(&big, &c))
				random_cqe(_metadata, &run, &c);
		ASSERT_EQ(1, ret);
		while (run.done < batch_start + n) {
			ASSERT_EQ(0, cq_wait(&big, &c, 10 * NSEC_PER_SEC))
				TH_LOG("batch at %d: %d terminal CQEs",
				       batch_start, run.done);
			random_cqe(_metadata, &run, &c);
		}
		/* only the cancel's own CQE may be left */
		while (cq_pop(&big, &c))
			random_cqe(_metadata, &run, &c);
		ASSERT_EQ(batch_start + n, run.done);
		ASSERT_EQ(0, fdinfo(big.fd, "inflight"));
		/* every CQE on the sink is a post: drain it */
		while (cq_pop(&sink, &c))
			ASSERT_EQ(0, c.flags);
	}
	for (i = 0; i < RANDOM_SQES; i++)
		ASSERT_EQ(1, run.terminal[i]);
	TH_LOG("%d of %d random SQEs succeeded", run.ok_results, RANDOM_SQES);
	/*
	 * Some of every kind succeeded. Not many more: random LINK flags make
	 * chains, where one failure cancels the SQEs behind it.
	 */
	EXPECT_LT(RANDOM_SQES / 20, run.ok_results);
	expect_port_works(_metadata, &big);
	port_fini(&sink);
	port_fini(&big);
	close(scribble_socks[0]);
	close(scribble_socks[1]);
}

TEST_F(scribble, random_sqes_behind_huge_sq_tail)
{
	struct port *pt = &self->pt;
	__u64 seed = 42;
	struct cport_cqe c;
	int round, i;

	CPORT_SKIP_IF_ABSENT();
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 8; i++) {
			random_sqe(&seed, &pt->sqes[i], -1, 0, i);
			/* keep them one-shot and finite: no MORE CQEs */
			if (pt->sqes[i].opcode == CPORT_OP_TIMEOUT)
				pt->sqes[i].op_flags &= ~CPORT_TIMEOUT_MULTISHOT;
		}
		store_release(pt->sq_tail, load_acquire(pt->sq_head) + 0x7fffffff);
		ASSERT_EQ(8, sys_enter(pt->fd, 64, 0, 0, 0));
		/* cancel timers left in flight, then drain */
		store_release(pt->sq_tail, load_acquire(pt->sq_head));
		pt->sqes[load_acquire(pt->sq_head) & 7] =
			sqe_cancel(0, CPORT_CANCEL_ANY | CPORT_CANCEL_ALL, 0xcc);
		store_release(pt->sq_tail, load_acquire(pt->sq_head) + 1);
		ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
		ASSERT_TRUE(fdinfo_wait_eq(pt->fd, "inflight", 0, 10000));
		while (cq_pop(pt, &c))
			if (c.user_data != 0xcc)
				ASSERT_TRUE(res_allowed(c.res));
	}
	expect_port_works(_metadata, pt);
}

/* ----------------------------------------------------------------- */
/* bad user pointers */

static void *straddling(void **base)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mprotect(p + 4096, 4096, PROT_NONE);
	*base = p;
	/* 8 bytes readable, the rest in the PROT_NONE page */
	return p + 4096 - 8;
}

#define KERNEL_PTR	((void *)0xffffffff81000000UL)

TEST(bad_pointers_to_every_ioctl_efault)
{
	static const unsigned long cmds[] = {
		CPORT_IOC_SETUP, CPORT_IOC_ENTER, CPORT_IOC_POST,
	};
	void *none = fault_page(), *base = NULL, *strad;
	struct port pt;
	int fresh;
	unsigned int i;

	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	strad = straddling(&base);
	ASSERT_NE(NULL, none);
	ASSERT_NE(NULL, strad);
	memset(strad, 0, 8);
	ASSERT_EQ(0, port_init(&pt, 4, 0, 0));
	fresh = cport_open();
	ASSERT_LE(0, fresh);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		/* SETUP on a fresh port, the others on a set-up one */
		int fd = cmds[i] == CPORT_IOC_SETUP ? fresh : pt.fd;
		void *ptrs[] = { NULL, none, strad, KERNEL_PTR,
				 (void *)~0UL, (void *)1 };
		unsigned int j;

		for (j = 0; j < ARRAY_SIZE(ptrs); j++) {
			EXPECT_EQ(-1, ioctl(fd, cmds[i], ptrs[j]))
				TH_LOG("cmd %u ptr %u accepted", i, j);
			EXPECT_EQ(EFAULT, errno)
				TH_LOG("cmd %u ptr %u", i, j);
		}
	}
	/* nothing was set up or posted by those calls */
	EXPECT_EQ(0, fdinfo(fresh, "sq_entries"));
	EXPECT_EQ(0, load_acquire(pt.cq_tail));
	close(fresh);
	port_fini(&pt);
	munmap(none, 4096);
	munmap(base, 8192);
}

TEST_HARNESS_MAIN
