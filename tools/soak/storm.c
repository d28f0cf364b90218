// SPDX-License-Identifier: GPL-2.0
/*
 * soak: the kill storm.
 *
 * Each victim process opens two ports, A and B, and puts ops of every kind
 * in flight on A: one-shot and periodic timers (one of them FLAG_ONLY),
 * reads of an empty pipe and of a file, readv, reads and writes through
 * registered buffers and files, fsync, one-shot and multishot polls,
 * FLAG_WAITs on the local cluster, on a common cluster every victim shares
 * and on a private one, linked chains (bounded by LINK_TIMEOUTs, ending in
 * posts to B, to A itself and to the parent's port), a drain, cancels.
 * Beside the main thread, two pool threads wait in CPORT_IOC_GETQ on B
 * (concurrency 1, fed by posts), one thread waits for a flag of the common
 * cluster (CPORT_FLAGS_WAIT) and one sleeps in CPORT_IOC_ENTER with a flag
 * condition on B. The main thread reaps A and replaces every op that ends,
 * and keeps the multishot poll and the pool threads busy.
 *
 * The parent kills each victim with SIGKILL at a random moment: some
 * before they open a port, some while they set up and submit, some once
 * everything is in flight (the stage each reached is in shared memory, so
 * the three are counted, not guessed). After each wave it checks that
 * every victim died of that SIGKILL, that the module's reference count is
 * back where it was (every port released: nothing an op held kept one
 * alive), and that the victims' private clusters are gone.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "soak.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define STORM_CLUSTER	"soak-storm"
#define STORM_FILE	"/tmp/soak-storm-data"
#define STORM_FILE_SIZE	65536
#define BUF_SIZE	4096

/* How far a victim got. */
enum {
	STAGE_FORKED,		/* not run yet, or before its first port */
	STAGE_STARTED,		/* opening ports, registering, submitting */
	STAGE_IN_FLIGHT,	/* every kind of op in flight */
};

/* One victim's slot in shared memory. */
struct victim {
	int		stage;
	uint64_t	in_flight_ns;	/* CLOCK_MONOTONIC at STAGE_IN_FLIGHT */
	pid_t		pid;		/* (the parent's note) */
	char		error[120];	/* why it exited by itself */
};

struct storm_shared {
	uint64_t	ops;		/* SQEs accepted, posts made */
	struct victim	v[];
};

/* The op kinds a victim keeps in flight on port A. */
enum {
	K_TIMEOUT_SHORT,
	K_TIMEOUT_LONG,
	K_TIMER,
	K_TIMER_FLAG_ONLY,
	K_READ_PIPE,
	K_READ_FILE,
	K_READV_FILE,
	K_READ_FIXED,
	K_WRITE_FIXED,
	K_FSYNC,
	K_POLL,
	K_POLL_MULTI,
	K_FLAG_WAIT_LOCAL,
	K_FLAG_WAIT_COMMON,
	K_FLAG_WAIT_PRIVATE,
	K_FLAG_SET_PRIVATE,
	K_CHAIN_READ_LT,
	K_CHAIN_TIMEOUT_POST,
	K_CHAIN_FLAG_POST_SELF,
	K_POST_PARENT,
	K_DRAIN_NOP,
	K_CANCEL_LONG,
	K_NR,
};

/* A victim's state, all in its own memory. */
struct victim_ctx {
	struct storm_shared	*sh;
	struct victim		*me;
	struct cport		a, b;
	int			parent_fd;	/* the parent's port */
	int			pipe_empty[2];	/* nobody writes */
	int			pipe_poll[2];	/* written now and then */
	int			data_fd, out_fd;
	unsigned int		common, private;	/* cluster handles */
	char			*bufs;		/* 2 registered buffers */
	char			*rbuf;		/* plain reads */
	struct iovec		iov[2];
	uint64_t		seq;
	uint64_t		rnd;
};

static void __attribute__((noreturn, format(printf, 2, 3)))
victim_fail(struct victim_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->me->error, sizeof(c->me->error), fmt, ap);
	va_end(ap);
	_exit(1);
}

static struct cport_sqe *victim_sqe(struct victim_ctx *c, int kind)
{
	struct cport_sqe *sqe = cport_get_sqe(&c->a);

	if (sqe) {
		/* The prep helpers clear the SQE: user_data is set after. */
		c->seq++;
	}
	(void)kind;
	return sqe;
}

static void victim_tag(struct victim_ctx *c, struct cport_sqe *sqe, int kind)
{
	cport_sqe_set_data64(sqe, ((uint64_t)kind << 32) | (c->seq & 0xffffffff));
}

static uint64_t victim_ms(struct victim_ctx *c, unsigned int max)
{
	return (soak_rand(&c->rnd) % max + 1) * 1000000ULL;
}

/*
 * Queue the SQEs of one op of @kind (two for a chain). Returns how many
 * SQEs were queued, 0 when the SQ has no room.
 */
static int victim_prep(struct victim_ctx *c, int kind)
{
	struct cport_sqe *sqe, *sqe2;
	int n = 1;

	if (cport_sq_space_left(&c->a) < 2)
		return 0;
	sqe = victim_sqe(c, kind);
	switch (kind) {
	case K_TIMEOUT_SHORT:
		cport_prep_timeout(sqe, victim_ms(c, 30), 0);
		break;
	case K_TIMEOUT_LONG:
		cport_prep_timeout(sqe, 60000000000ULL, 0);
		break;
	case K_TIMER:
		cport_prep_timer(sqe, 20000000, 0, 0, 0);
		break;
	case K_TIMER_FLAG_ONLY:
		cport_prep_timer(sqe, 10000000, 0, 0, CPORT_TIMEOUT_FLAG_ONLY);
		cport_sqe_set_event_flag(sqe, 0, 3);
		break;
	case K_READ_PIPE:
		cport_prep_read(sqe, c->pipe_empty[0], c->rbuf, 64, CPORT_POS_CURRENT);
		break;
	case K_READ_FILE:
		cport_prep_read(sqe, c->data_fd, c->rbuf, BUF_SIZE,
				soak_rand(&c->rnd) % 8 * BUF_SIZE);
		cport_sqe_set_event_flag(sqe, 0, 4);
		break;
	case K_READV_FILE:
		cport_prep_readv(sqe, c->data_fd, c->iov, 2, 0);
		break;
	case K_READ_FIXED:
		cport_prep_read_fixed(sqe, 0, c->bufs, BUF_SIZE, BUF_SIZE, 0);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_FIXED_FILE);
		break;
	case K_WRITE_FIXED:
		cport_prep_write_fixed(sqe, 2, c->bufs + BUF_SIZE, BUF_SIZE,
				       soak_rand(&c->rnd) % 4 * BUF_SIZE, 1);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_FIXED_FILE);
		break;
	case K_FSYNC:
		cport_prep_fsync(sqe, c->out_fd, 0);
		break;
	case K_POLL:
		cport_prep_poll_add(sqe, c->pipe_empty[0], POLLIN);
		break;
	case K_POLL_MULTI:
		cport_prep_poll_multishot(sqe, c->pipe_poll[0], POLLIN);
		break;
	case K_FLAG_WAIT_LOCAL:
		cport_prep_flag_wait(sqe, 0, 1ULL << 7, 0);
		break;
	case K_FLAG_WAIT_COMMON:
		cport_prep_flag_wait(sqe, c->common, 1ULL << 62, 0);
		break;
	case K_FLAG_WAIT_PRIVATE:
		cport_prep_flag_wait(sqe, c->private, 1ULL << 1,
				     CPORT_FLAG_WAIT_CONSUME);
		break;
	case K_FLAG_SET_PRIVATE:
		cport_prep_flag_set(sqe, c->private, 1);
		break;
	case K_CHAIN_READ_LT:
		/* A read that never completes, bounded by a timeout. */
		cport_prep_read(sqe, c->pipe_empty[0], c->rbuf, 64,
				CPORT_POS_CURRENT);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_LINK);
		victim_tag(c, sqe, kind);
		sqe2 = victim_sqe(c, kind);
		cport_prep_link_timeout(sqe2, victim_ms(c, 50));
		sqe = sqe2;
		n = 2;
		break;
	case K_CHAIN_TIMEOUT_POST:
		/* A delayed post to B: the pool threads take it. */
		cport_prep_timeout(sqe, victim_ms(c, 20), 0);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_LINK);
		victim_tag(c, sqe, kind);
		sqe2 = victim_sqe(c, kind);
		cport_prep_post(sqe2, c->b.ring_fd, 1, c->seq);
		sqe = sqe2;
		n = 2;
		break;
	case K_CHAIN_FLAG_POST_SELF:
		/* A post to A itself once local flag 8 is set (it is not). */
		cport_prep_flag_wait(sqe, 0, 1ULL << 8, 0);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_LINK);
		victim_tag(c, sqe, kind);
		sqe2 = victim_sqe(c, kind);
		cport_prep_post(sqe2, c->a.ring_fd, 2, c->seq);
		sqe = sqe2;
		n = 2;
		break;
	case K_POST_PARENT:
		cport_prep_post(sqe, c->parent_fd, 3, c->seq);
		break;
	case K_DRAIN_NOP:
		cport_prep_nop(sqe);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_DRAIN);
		break;
	case K_CANCEL_LONG:
		cport_prep_cancel(sqe, (uint64_t)K_TIMEOUT_LONG << 32,
				  CPORT_CANCEL_ANY);
		break;
	}
	victim_tag(c, sqe, kind);
	return n;
}

static void victim_submit(struct victim_ctx *c)
{
	int ret = cport_submit(&c->a);

	if (ret > 0)
		__atomic_fetch_add(&c->sh->ops, (uint64_t)ret, __ATOMIC_RELAXED);
	else if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
		victim_fail(c, "submit on port A: %s", strerror(-ret));
}

/* Pool thread: GETQ on B, without a time limit, forever. */
static void *victim_pool_thread(void *arg)
{
	struct victim_ctx *c = arg;
	struct cport_cqe cqe[4];

	for (;;)
		cport_get_queued_completions(&c->b, cqe, 4, CPORT_INFINITE);
	return NULL;
}

/* Waits for flag 63 of the common cluster, which nobody sets. */
static void *victim_flag_thread(void *arg)
{
	struct victim_ctx *c = arg;
	uint64_t res;

	for (;;)
		cport_flag_wait(&c->a, c->common, 1ULL << 63, 0, CPORT_INFINITE,
				&res);
	return NULL;
}

/* Sleeps in ENTER on B for local flag 9 of B (or a CQE it never sees). */
static void *victim_enter_thread(void *arg)
{
	struct victim_ctx *c = arg;
	struct cport_enter e = {
		.flags = CPORT_ENTER_FLAGS,
		.ef_mask = 1ULL << 9,
	};

	for (;;) {
		e.ef_result = 0;
		ioctl(c->b.ring_fd, CPORT_IOC_ENTER, &e);
	}
	return NULL;
}

static void victim_setup(struct victim_ctx *c)
{
	struct cport_params p = {
		.flags = CPORT_SETUP_CQSIZE, .cq_entries = 128,
		.concurrency = 1,
	};
	struct iovec reg[2];
	int files[3];
	char name[32];
	int ret;

	ret = cport_queue_init_params(32, &c->a, &p);
	if (ret)
		victim_fail(c, "port A: %s", strerror(-ret));
	memset(&p, 0, sizeof(p));
	p.concurrency = 1;
	ret = cport_queue_init_params(8, &c->b, &p);
	if (ret)
		victim_fail(c, "port B: %s", strerror(-ret));
	if (pipe2(c->pipe_empty, O_CLOEXEC) || pipe2(c->pipe_poll, O_CLOEXEC))
		victim_fail(c, "pipe: %m");
	c->data_fd = open(STORM_FILE, O_RDONLY | O_CLOEXEC);
	c->out_fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->data_fd < 0 || c->out_fd < 0)
		victim_fail(c, "open: %m");
	ret = cport_cluster_assoc(&c->a, STORM_CLUSTER, 0, 0, &c->common);
	if (ret)
		victim_fail(c, "associate %s: %s", STORM_CLUSTER, strerror(-ret));
	snprintf(name, sizeof(name), "soak-k%d", (int)getpid());
	ret = cport_cluster_assoc(&c->a, name,
				  CPORT_CLUSTER_CREATE | CPORT_CLUSTER_EXCL,
				  0600, &c->private);
	if (ret < 0)
		victim_fail(c, "create %s: %s", name, strerror(-ret));

	c->bufs = aligned_alloc(4096, 2 * BUF_SIZE);
	c->rbuf = malloc(2 * BUF_SIZE);
	if (!c->bufs || !c->rbuf)
		victim_fail(c, "out of memory");
	memset(c->bufs, 'b', 2 * BUF_SIZE);
	reg[0] = (struct iovec){ c->bufs, BUF_SIZE };
	reg[1] = (struct iovec){ c->bufs + BUF_SIZE, BUF_SIZE };
	c->iov[0] = (struct iovec){ c->rbuf, BUF_SIZE };
	c->iov[1] = (struct iovec){ c->rbuf + BUF_SIZE, BUF_SIZE };
	ret = cport_register_buffers(&c->a, reg, 2);
	if (ret)
		victim_fail(c, "register buffers: %s", strerror(-ret));
	files[0] = c->data_fd;
	files[1] = c->pipe_empty[0];
	files[2] = c->out_fd;
	ret = cport_register_files(&c->a, files, 3);
	if (ret)
		victim_fail(c, "register files: %s", strerror(-ret));
}

static void victim_threads(struct victim_ctx *c)
{
	void *(*fn[])(void *) = {
		victim_pool_thread, victim_pool_thread, victim_flag_thread,
		victim_enter_thread,
	};
	pthread_attr_t attr;
	pthread_t t;
	unsigned int i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < sizeof(fn) / sizeof(fn[0]); i++)
		if (pthread_create(&t, &attr, fn[i], c))
			victim_fail(c, "pthread_create failed");
	pthread_attr_destroy(&attr);
}

static void __attribute__((noreturn))
victim_main(struct storm_shared *sh, struct victim *me, int parent_fd,
	    uint64_t seed)
{
	struct victim_ctx c = {
		.sh = sh, .me = me, .parent_fd = parent_fd, .rnd = seed,
	};
	struct cport_cqe *cqe;
	unsigned int loops = 0;
	uint64_t last = 0;
	int kind, queued = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpriority(PRIO_PROCESS, 0, 0);
	__atomic_store_n(&me->stage, STAGE_STARTED, __ATOMIC_RELEASE);
	victim_setup(&c);
	victim_threads(&c);

	/* One op of every kind, in a random order of start. */
	kind = (int)(soak_rand(&c.rnd) % K_NR);
	for (int i = 0; i < K_NR; i++, kind = (kind + 1) % K_NR) {
		if (!victim_prep(&c, kind)) {
			victim_submit(&c);
			victim_prep(&c, kind);
		}
		/* Some submissions go in with a half-filled SQ. */
		if (soak_rand(&c.rnd) % 4 == 0)
			victim_submit(&c);
	}
	victim_submit(&c);
	cport_post(&c.b, 0, 1);
	cport_post(&c.b, 0, 2);
	__atomic_fetch_add(&sh->ops, 2, __ATOMIC_RELAXED);
	me->in_flight_ns = soak_now_ns();
	__atomic_store_n(&me->stage, STAGE_IN_FLIGHT, __ATOMIC_RELEASE);

	/* Replace every op that ends, until the SIGKILL. */
	for (;;) {
		int ret = cport_wait_cqe_timeout(&c.a, &cqe, 20000000);

		while (!ret) {
			bool more = cqe->flags & CPORT_CQE_F_MORE;

			cport_cqe_seen(&c.a, cqe);
			if (!more)
				queued++;
			ret = cport_peek_cqe(&c.a, &cqe);
		}
		while (queued > 0 &&
		       victim_prep(&c, (int)(soak_rand(&c.rnd) % K_NR)))
			queued--;
		victim_submit(&c);
		/*
		 * Wake the multishot poll and the pool threads now and then,
		 * not on every CQE: the poll's CQE would bring us back here
		 * at once, and a busy victim slows down the others' setup.
		 */
		if (soak_now_ns() - last < 20000000)
			continue;
		last = soak_now_ns();
		if (write(c.pipe_poll[1], "x", 1) < 0)
			victim_fail(&c, "write to the poll pipe: %m");
		if (++loops % 4 == 0) {
			char drain[64];

			if (read(c.pipe_poll[0], drain, sizeof(drain)) < 0)
				victim_fail(&c, "read the poll pipe: %m");
			if (!cport_post(&c.b, 0, loops))
				__atomic_fetch_add(&sh->ops, 1,
						   __ATOMIC_RELAXED);
		}
	}
}

/* The data file the victims read. */
static int storm_file(void)
{
	char buf[4096];
	int fd, i;

	fd = open(STORM_FILE, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	memset(buf, 'd', sizeof(buf));
	for (i = 0; i < STORM_FILE_SIZE / (int)sizeof(buf); i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	close(fd);
	return 0;
}

/* Reap the parent's port: the victims' POSTs land there. */
static void storm_reap(struct cport *port)
{
	struct cport_cqe *cqe;

	while (!cport_peek_cqe(port, &cqe))
		cport_cqe_seen(port, cqe);
}

struct storm_count {
	uint64_t	stage[3];
	uint64_t	setup_ns;	/* sum of fork-to-in-flight times */
	uint64_t	setup_n;	/* (for the report) */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * One wave: fork @n victims, kill each at its moment, reap them, check
 * what they left. Returns how many victims failed by themselves.
 */
static int storm_wave(struct storm_shared *sh, unsigned int n,
		      struct cport *parent, uint64_t *rnd, uint64_t span_ns,
		      struct storm_count *cnt, struct soak_result *r)
{
	pid_t pid[n];
	uint64_t when[n], forked[n], start, killed_ns;
	unsigned int i, failed = 0;
	int status;

	memset(sh->v, 0, n * sizeof(sh->v[0]));
	for (i = 0; i < n; i++) {
		/* A tenth die at once; the others within 2 setup times. */
		if (soak_rand(rnd) % 10 == 0)
			when[i] = 0;
		else
			when[i] = soak_rand(rnd) % span_ns;
	}
	start = soak_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t seed = soak_rand(rnd);

		forked[i] = soak_now_ns();
		pid[i] = fork();
		if (pid[i] < 0) {
			soak_log("FAIL: fork: %m");
			r->errors++;
			n = i;
			break;
		}
		if (!pid[i])
			victim_main(sh, &sh->v[i], parent->ring_fd, seed);
		/* Some die before they can run at all. */
		if (!when[i])
			kill(pid[i], SIGKILL);
		when[i] += forked[i] - start;
	}

	/* Kill in the order of the moments drawn. */
	{
		uint64_t order[n];

		for (i = 0; i < n; i++)
			order[i] = when[i] << 8 | i;
		qsort(order, n, sizeof(order[0]), cmp_u64);
		for (i = 0; i < n; i++) {
			unsigned int k = order[i] & 0xff;
			uint64_t now = soak_now_ns() - start;

			if (when[k] > now)
				soak_sleep_ns(when[k] - now);
			kill(pid[k], SIGKILL);
		}
	}

	killed_ns = soak_now_ns();
	for (i = 0; i < n; i++) {
		struct victim *v = &sh->v[i];
		int stage;

		if (waitpid(pid[i], &status, 0) < 0) {
			soak_log("FAIL: waitpid %d: %m", (int)pid[i]);
			r->errors++;
			continue;
		}
		stage = __atomic_load_n(&v->stage, __ATOMIC_ACQUIRE);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			soak_log("FAIL: victim %d did not die of SIGKILL "
				 "(status %#x): %s", (int)pid[i], status,
				 v->error[0] ? v->error : "?");
			failed++;
			continue;
		}
		cnt->stage[stage]++;
		if (stage == STAGE_IN_FLIGHT) {
			cnt->setup_ns += v->in_flight_ns - forked[i];
			cnt->setup_n++;
		}
		r->killed++;
	}

	if (soak_verbose > 1)
		soak_log("storm: wave: forks and kills %.1f ms, exits %.1f ms",
			 (killed_ns - start) / 1e6,
			 (soak_now_ns() - killed_ns) / 1e6);

	for (i = 0; i < n; i++)
		sh->v[i].pid = pid[i];
	storm_reap(parent);
	return (int)failed;
}

/*
 * The victims' private clusters went with their last user, the port that
 * created them. Only once the ports are released: a port's last reference
 * may go after its process was reaped (an op's worker held the mm, whose
 * mappings hold the port's file).
 */
static void storm_clusters(struct storm_shared *sh, unsigned int n,
			   struct cport *parent, struct soak_result *r)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		char name[32];
		unsigned int h;
		int ret;

		snprintf(name, sizeof(name), "soak-k%d", (int)sh->v[i].pid);
		ret = cport_cluster_assoc(parent, name, 0, 0, &h);
		if (ret != -ENOENT) {
			soak_log("LEAK: cluster %s still exists after its "
				 "process died (%d)", name, ret);
			r->leaks++;
			if (ret >= 0)
				cport_cluster_disassoc(parent, h);
		}
	}
}

int soak_storm(const struct soak_opts *o, struct soak_result *r)
{
	struct storm_shared *sh;
	struct storm_count cnt;
	struct cport parent;
	struct cport_params p = {
		.flags = CPORT_SETUP_CQSIZE, .cq_entries = 4096,
	};
	uint64_t rnd = o->seed ^ 0x5707e, start = soak_now_ns();
	uint64_t span_ns = 500000000, leaked0 = r->leaks, t;
	unsigned int done = 0, common, waves = 0;
	long long inflight = -1, reserved = -1, posted = 0;
	int base, refs, ret, status = 0;

	memset(&cnt, 0, sizeof(cnt));
	if (o->wave > 256) {
		soak_log("FAIL: storm: waves of at most 256 processes");
		return -1;
	}
	sh = soak_shared(sizeof(*sh) + o->wave * sizeof(sh->v[0]));
	if (!sh || storm_file()) {
		soak_log("FAIL: storm: setup: %m");
		r->errors++;
		return -1;
	}
	ret = cport_queue_init_params(64, &parent, &p);
	if (ret) {
		soak_log("FAIL: storm: parent port: %s", strerror(-ret));
		r->errors++;
		return -1;
	}
	/* The common cluster lives while the parent is associated. */
	ret = cport_cluster_assoc(&parent, STORM_CLUSTER, CPORT_CLUSTER_CREATE,
				  0600, &common);
	if (ret < 0) {
		soak_log("FAIL: storm: cluster: %s", strerror(-ret));
		r->errors++;
		return -1;
	}
	base = soak_module_refs();
	/*
	 * The parent forks and kills on time only if the victims, busy
	 * setting up on two vCPUs, do not take its CPU (they go back to 0).
	 */
	setpriority(PRIO_PROCESS, 0, -10);

	while (done < o->kills) {
		unsigned int n = o->kills - done < o->wave ?
				 o->kills - done : o->wave;
		uint64_t in_flight = cnt.stage[STAGE_IN_FLIGHT];
		int failed = storm_wave(sh, n, &parent, &rnd, span_ns, &cnt, r);

		if (failed) {
			r->errors += (uint64_t)failed;
			status = -1;
		}
		done += n;
		waves++;
		/*
		 * Aim at a third to half of them dying with everything in
		 * flight, the others before or while they set up: the time
		 * that takes depends on the kernel, the wave and the machine.
		 */
		in_flight = cnt.stage[STAGE_IN_FLIGHT] - in_flight;
		if (in_flight * 4 < n)
			span_ns = span_ns * 3 / 2;
		else if (in_flight * 2 > n && span_ns > 20000000)
			span_ns = span_ns * 3 / 4;
		t = soak_now_ns();
		refs = soak_wait_refs(base, 10000);
		if (soak_verbose > 1)
			soak_log("storm: references back in %.1f ms",
				 (soak_now_ns() - t) / 1e6);
		if (refs != base) {
			soak_log("LEAK: after wave %u: cport.ko has %d "
				 "references, %d before: ports or pool "
				 "threads of killed processes never released",
				 waves, refs, base);
			r->leaks += (uint64_t)(refs > base ? refs - base : 1);
			base = refs;	/* report each leak once */
			status = -1;
		}
		storm_clusters(sh, n, &parent, r);
		if (soak_verbose || waves % 10 == 0)
			soak_log("storm: %u/%u killed (%.1f s), %llu ops, "
				 "kill span %.1f ms", done, o->kills,
				 (soak_now_ns() - start) / 1e9,
				 (unsigned long long)sh->ops, span_ns / 1e6);
	}

	/* Every post to the parent's port has been reaped: no op left. */
	storm_reap(&parent);
	if (soak_fdinfo(parent.ring_fd, "inflight", &inflight) ||
	    soak_fdinfo(parent.ring_fd, "reserved", &reserved) ||
	    soak_fdinfo(parent.ring_fd, "posted", &posted) || inflight ||
	    reserved) {
		soak_log("FAIL: storm: parent port: inflight %lld, reserved "
			 "%lld (fdinfo)", inflight, reserved);
		r->errors++;
		status = -1;
	}
	cport_cluster_disassoc(&parent, common);
	cport_queue_exit(&parent);
	refs = soak_wait_refs(base - 1, 10000);
	if (refs != base - 1) {
		soak_log("LEAK: cport.ko has %d references after the storm, "
			 "%d expected", refs, base - 1);
		r->leaks++;
		status = -1;
	}
	unlink(STORM_FILE);
	r->ops += sh->ops;
	soak_log("storm: %llu processes killed (%llu before their first "
		 "port, %llu while setting up and submitting, %llu with all "
		 "in flight; %.0f ms from fork to all in flight), %llu ops, "
		 "%lld posts to the parent, %llu leaks, %.1f s",
		 (unsigned long long)r->killed,
		 (unsigned long long)cnt.stage[STAGE_FORKED],
		 (unsigned long long)cnt.stage[STAGE_STARTED],
		 (unsigned long long)cnt.stage[STAGE_IN_FLIGHT],
		 cnt.setup_n ? cnt.setup_ns / 1e6 / cnt.setup_n : 0.0,
		 (unsigned long long)sh->ops, posted,
		 (unsigned long long)(r->leaks - leaked0),
		 (soak_now_ns() - start) / 1e9);
	munmap(sh, sizeof(*sh) + o->wave * sizeof(sh->v[0]));
	return status;
}
