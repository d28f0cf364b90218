// SPDX-License-Identifier: GPL-2.0
/*
 * soak: exactly one terminal CQE per accepted op, under stress.
 *
 * Two shared ports: S1, set up and mapped by the parent before it forks
 * (the processes inherit the fd and the ring mappings), and S2, set up
 * after the fork and passed to each process over a unix socket
 * (SCM_RIGHTS); they use it through ioctls only. Every thread of every
 * process, in a random mix:
 *
 *   - submits a group of ops on S1's SQ, under a process-shared lock (the
 *     SQ side wants one producer at a time): a NOP, a short timeout, a
 *     long timeout and its TIMEOUT_REMOVE, a long timeout and a CANCEL, a
 *     multishot timer of three shots, a read of an empty pipe bounded by a
 *     LINK_TIMEOUT, a POST op to S2, a one-shot poll and its CANCEL, a
 *     multishot poll and its POLL_REMOVE, a consuming FLAG_WAIT and the
 *     FLAG_SET that satisfies it, a file read (on the workqueue, with an
 *     event flag), a DRAIN NOP;
 *   - posts a CQE to S1 or S2 (CPORT_IOC_POST);
 *   - reaps both ports with CPORT_IOC_GETQ (concurrency 2 each).
 *
 * Every op and post gets a unique index, carried in its user_data; a
 * table in shared memory records which are expected (the SQE was consumed,
 * the post returned 0, the POST op's CQE said its post was made) and how
 * many terminal CQEs were seen for each. At the end every expected index
 * must have been seen exactly once and no other: lost, duplicated and
 * unexpected are counted, and the ports' fdinfo must show nothing in
 * flight and nothing reserved.
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>

#define ONCE_FILE	"/tmp/soak-once-data"
#define ONCE_GROUP_MAX	4		/* indices one group takes at most */
#define ONCE_STALL_NS	(30 * 1000000000ULL)	/* no progress: lost */

enum {
	G_NOP,
	G_TIMEOUT_SHORT,
	G_TIMEOUT_REMOVE,
	G_TIMEOUT_CANCEL,
	G_TIMER,
	G_READ_LT,
	G_POST_OP,
	G_POLL_CANCEL,
	G_POLL_REMOVE,
	G_FLAG_WAIT_SET,
	G_READ_FILE,
	G_DRAIN,
	G_NR,
};

/* What the index of a user_data stands for. */
enum {
	I_OP = 1,		/* an SQE */
	I_POST_OP,		/* a POST op: its post is the next index */
	I_POSTED,		/* a post (ioctl, or made by a POST op) */
};

struct once_shared {
	pthread_mutex_t	sq_lock;	/* S1's SQ side, process-shared */
	uint64_t	next;		/* next free index */
	uint64_t	expected;	/* indices expected, in all */
	uint64_t	seen;		/* terminal CQEs counted, in all */
	uint64_t	more;		/* non-terminal (multishot) CQEs */
	uint64_t	dups;
	uint64_t	ghosts;
	uint64_t	progress_ns;	/* when a CQE was last counted */
	uint64_t	ebusy;		/* submissions that found the CQ full */
	uint64_t	eagain;		/* posts that found the CQ full */
	unsigned int	workers_left;	/* threads still submitting */
	unsigned int	max;		/* size of the tables */
	uint8_t		*kind;		/* I_* per index, 0: unused */
	uint8_t		*expect;	/* 1: a terminal CQE must come */
	uint8_t		*count;		/* terminal CQEs seen */
};

struct once_proc {
	struct once_shared	*sh;
	struct cport		*s1;
	int			s2_fd;
	int			pipe_rd;	/* empty pipe */
	int			data_fd;
	const struct soak_opts	*o;
	unsigned int		proc;
};

struct once_thread {
	struct once_proc	*pp;
	unsigned int		id;	/* unique over all processes */
	uint64_t		rnd;
	char			buf[512];
};

static uint64_t once_ud(uint64_t idx)
{
	return (uint64_t)SOAK_MAGIC << 48 | idx;
}

static uint64_t once_alloc(struct once_shared *sh, unsigned int n)
{
	uint64_t idx = __atomic_fetch_add(&sh->next, n, __ATOMIC_RELAXED);

	if (idx + n > sh->max) {
		/* Sized in soak_once(); reaching this is a bug of ours. */
		soak_log("FAIL: once: index table full");
		_exit(3);
	}
	return idx;
}

static void once_expect(struct once_shared *sh, uint64_t idx)
{
	/* Before the CQE can be counted as ghost: see once_count(). */
	__atomic_store_n(&sh->expect[idx], 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&sh->expected, 1, __ATOMIC_RELEASE);
}

static void once_unexpect(struct once_shared *sh, uint64_t idx)
{
	__atomic_store_n(&sh->expect[idx], 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&sh->expected, 1, __ATOMIC_RELEASE);
}

/* Count one CQE taken from S1 or S2. */
static void once_count(struct once_shared *sh, const struct cport_cqe *cqe)
{
	uint64_t idx = cqe->user_data & 0xffffffffffffULL;
	uint8_t n;

	if (cqe->user_data >> 48 != SOAK_MAGIC || idx >= sh->max ||
	    !__atomic_load_n(&sh->kind[idx], __ATOMIC_ACQUIRE)) {
		if (__atomic_fetch_add(&sh->ghosts, 1, __ATOMIC_RELAXED) < 5)
			soak_log("FAIL: once: a CQE nobody asked for: "
				 "user_data %#llx res %d flags %#x",
				 (unsigned long long)cqe->user_data, cqe->res,
				 cqe->flags);
		return;
	}
	if (cqe->flags & CPORT_CQE_F_MORE) {
		__atomic_fetch_add(&sh->more, 1, __ATOMIC_RELAXED);
		return;
	}
	/*
	 * The post of a POST op was expected when the op was accepted, so
	 * that the count of expected CQEs never falls behind; it was not
	 * made if the op failed.
	 */
	if (sh->kind[idx] == I_POST_OP && cqe->res != 0)
		once_unexpect(sh, idx + 1);
	n = __atomic_fetch_add(&sh->count[idx], 1, __ATOMIC_ACQ_REL);
	if (n) {
		if (__atomic_fetch_add(&sh->dups, 1, __ATOMIC_RELAXED) < 5)
			soak_log("FAIL: once: a second terminal CQE for "
				 "user_data %#llx res %d",
				 (unsigned long long)cqe->user_data, cqe->res);
	}
	__atomic_fetch_add(&sh->seen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->progress_ns, soak_now_ns(), __ATOMIC_RELAXED);
}

static int once_getq(int fd, struct cport_cqe *out, unsigned int max,
		     int64_t timeout_ns)
{
	struct cport_getq q = {
		.cqes = (uint64_t)(uintptr_t)out,
		.nr = max,
		.flags = CPORT_GETQ_TIMEOUT,
		.timeout_ns = (uint64_t)timeout_ns,
	};
	int ret = ioctl(fd, CPORT_IOC_GETQ, &q);

	return ret < 0 ? -errno : ret;
}

/* Take what is ready on both ports (waiting up to @timeout_ns on each). */
static int once_reap(struct once_proc *pp, int64_t timeout_ns)
{
	struct cport_cqe cqe[16];
	int fds[2] = { pp->s1->ring_fd, pp->s2_fd };
	int i, j, n, total = 0;

	for (i = 0; i < 2; i++) {
		n = once_getq(fds[i], cqe, 16, timeout_ns);
		for (j = 0; j < n; j++)
			once_count(pp->sh, &cqe[j]);
		if (n > 0)
			total += n;
		else if (n != -ETIME && n != -EINTR)
			soak_log("FAIL: once: GETQ: %s", strerror(-n));
	}
	return total;
}

/*
 * S1's SQ, shared by every process: written under ->sq_lock only, so the
 * ring's own tail is the truth (each process's struct cport keeps private
 * copies the others do not move).
 */
struct once_sq {
	struct cport_sq	*sq;
	unsigned int	tail;
	unsigned int	n;
};

static struct cport_sqe *once_sqe(struct once_sq *q)
{
	struct cport_sqe *sqe = &q->sq->sqes[(q->tail + q->n) &
					      q->sq->ring_mask];

	q->n++;
	return sqe;
}

static void once_tag(struct once_shared *sh, struct cport_sqe *sqe,
		     uint64_t idx, int kind)
{
	__atomic_store_n(&sh->kind[idx], (uint8_t)kind, __ATOMIC_RELEASE);
	sqe->user_data = once_ud(idx);
}

/* Fill one group of SQEs; returns the indices of its SQEs, in order. */
static unsigned int once_prep(struct once_thread *t, struct once_sq *q,
			      int g, uint64_t *idx)
{
	struct once_proc *pp = t->pp;
	struct once_shared *sh = pp->sh;
	struct cport_sqe *sqe;
	uint64_t base = once_alloc(sh, ONCE_GROUP_MAX);
	unsigned int bit = t->id % 32, n = 0;

	switch (g) {
	case G_NOP:
		cport_prep_nop(sqe = once_sqe(q));
		idx[n++] = base;
		break;
	case G_TIMEOUT_SHORT:
		cport_prep_timeout(sqe = once_sqe(q),
				   soak_rand(&t->rnd) % 500000, 0);
		idx[n++] = base;
		break;
	case G_TIMEOUT_REMOVE:
	case G_TIMEOUT_CANCEL:
		cport_prep_timeout(sqe = once_sqe(q), 10000000000ULL, 0);
		once_tag(sh, sqe, base, I_OP);
		sqe = once_sqe(q);
		if (g == G_TIMEOUT_REMOVE)
			cport_prep_timeout_remove(sqe, once_ud(base));
		else
			cport_prep_cancel(sqe, once_ud(base), 0);
		idx[n++] = base;
		idx[n++] = base + 1;
		break;
	case G_TIMER:
		cport_prep_timer(sqe = once_sqe(q), 20000, 20000, 3, 0);
		idx[n++] = base;
		break;
	case G_READ_LT:
		cport_prep_read(sqe = once_sqe(q), pp->pipe_rd, t->buf, 16,
				CPORT_POS_CURRENT);
		cport_sqe_set_flags(sqe, CPORT_SQE_F_LINK);
		once_tag(sh, sqe, base, I_OP);
		cport_prep_link_timeout(sqe = once_sqe(q),
					100000 + soak_rand(&t->rnd) % 2000000);
		idx[n++] = base;
		idx[n++] = base + 1;
		break;
	case G_POST_OP:
		/*
		 * Its post is index base + 1: expected from now on (the SQE
		 * is always consumed in the end), until its CQE says the
		 * post was not made.
		 */
		cport_prep_post(sqe = once_sqe(q), pp->s2_fd, 7,
				once_ud(base + 1));
		__atomic_store_n(&sh->kind[base + 1], I_POSTED,
				 __ATOMIC_RELEASE);
		once_expect(sh, base + 1);
		once_tag(sh, sqe, base, I_POST_OP);
		idx[n++] = base;
		return n;
	case G_POLL_CANCEL:
	case G_POLL_REMOVE:
		if (g == G_POLL_CANCEL)
			cport_prep_poll_add(sqe = once_sqe(q), pp->pipe_rd,
					    POLLIN);
		else
			cport_prep_poll_multishot(sqe = once_sqe(q),
						  pp->pipe_rd, POLLIN);
		once_tag(sh, sqe, base, I_OP);
		sqe = once_sqe(q);
		if (g == G_POLL_CANCEL)
			cport_prep_cancel(sqe, once_ud(base), 0);
		else
			cport_prep_poll_remove(sqe, once_ud(base));
		idx[n++] = base;
		idx[n++] = base + 1;
		break;
	case G_FLAG_WAIT_SET:
		/* Only this thread uses the bit: every set meets its wait. */
		cport_prep_flag_wait(sqe = once_sqe(q), 0, 1ULL << bit,
				     CPORT_FLAG_WAIT_CONSUME);
		once_tag(sh, sqe, base, I_OP);
		cport_prep_flag_set(sqe = once_sqe(q), 0, bit);
		idx[n++] = base;
		idx[n++] = base + 1;
		break;
	case G_READ_FILE:
		cport_prep_read(sqe = once_sqe(q), pp->data_fd, t->buf,
				sizeof(t->buf), soak_rand(&t->rnd) % 4096);
		cport_sqe_set_event_flag(sqe, 0, 32 + bit);
		idx[n++] = base;
		break;
	case G_DRAIN:
		cport_prep_nop(sqe = once_sqe(q));
		cport_sqe_set_flags(sqe, CPORT_SQE_F_DRAIN);
		idx[n++] = base;
		break;
	}
	once_tag(sh, sqe, idx[n - 1], I_OP);
	return n;
}

/*
 * Submit one group on S1 under the shared lock. SQEs the kernel did not
 * consume (-EBUSY: the CQ is full) stay published and are submitted again
 * after reaping, still under the lock, so that a chain is never split
 * between two submitters.
 */
static void once_submit(struct once_thread *t, int g)
{
	struct once_proc *pp = t->pp;
	struct once_shared *sh = pp->sh;
	struct cport_sq *sq = &pp->s1->sq;
	struct once_sq q = { .sq = sq };
	uint64_t idx[ONCE_GROUP_MAX];
	unsigned int n, done = 0;

	if (g == G_FLAG_WAIT_SET &&
	    pp->o->procs * pp->o->threads > 32)
		g = G_NOP;	/* the bits would be shared */
	pthread_mutex_lock(&sh->sq_lock);
	q.tail = __atomic_load_n(sq->ktail, __ATOMIC_RELAXED);
	/* Everything published before was consumed: there is room. */
	n = once_prep(t, &q, g, idx);
	/* Pairs with the kernel's load-acquire of the SQ tail. */
	__atomic_store_n(sq->ktail, q.tail + n, __ATOMIC_RELEASE);
	while (done < n) {
		int ret = cport_enter(pp->s1->ring_fd, n - done, 0, 0, 0);

		if (ret > 0) {
			unsigned int i;

			for (i = done; i < done + (unsigned int)ret; i++)
				once_expect(sh, idx[i]);
			done += (unsigned int)ret;
			continue;
		}
		if (ret >= 0 || ret == -EBUSY || ret == -EAGAIN) {
			__atomic_fetch_add(&sh->ebusy, 1, __ATOMIC_RELAXED);
			once_reap(pp, 0);
			soak_sleep_ns(100000);
			continue;
		}
		if (ret != -EINTR) {
			soak_log("FAIL: once: submit: %s", strerror(-ret));
			_exit(3);
		}
	}
	pthread_mutex_unlock(&sh->sq_lock);
}

static void once_post(struct once_thread *t)
{
	struct once_proc *pp = t->pp;
	struct once_shared *sh = pp->sh;
	uint64_t idx = once_alloc(sh, 1);
	bool s2 = soak_rand(&t->rnd) & 1;
	int ret;

	__atomic_store_n(&sh->kind[idx], I_POSTED, __ATOMIC_RELEASE);
	for (;;) {
		/* Expected before it is posted: a reaper may be quick. */
		once_expect(sh, idx);
		ret = cport_post_fd(s2 ? pp->s2_fd : pp->s1->ring_fd,
				    (int32_t)t->id, once_ud(idx));
		if (!ret)
			return;
		/* Not posted after all. */
		once_unexpect(sh, idx);
		if (ret != -EAGAIN) {
			soak_log("FAIL: once: post: %s", strerror(-ret));
			_exit(3);
		}
		__atomic_fetch_add(&sh->eagain, 1, __ATOMIC_RELAXED);
		once_reap(pp, 0);
	}
}

static void *once_thread_fn(void *arg)
{
	struct once_thread *t = arg;
	struct once_proc *pp = t->pp;
	struct once_shared *sh = pp->sh;
	unsigned int i;

	for (i = 0; i < pp->o->groups; i++) {
		unsigned int r = (unsigned int)(soak_rand(&t->rnd) % 100);

		if (r < 70)
			once_submit(t, (int)(soak_rand(&t->rnd) % G_NR));
		else
			once_post(t);
		if (r % 3 == 0)
			once_reap(pp, 0);
	}
	__atomic_fetch_sub(&sh->workers_left, 1, __ATOMIC_RELEASE);

	/* Reap until every expected CQE is in, or nothing moves for long. */
	for (;;) {
		uint64_t exp, seen, last;

		once_reap(pp, 2000000);
		if (__atomic_load_n(&sh->workers_left, __ATOMIC_ACQUIRE))
			continue;
		seen = __atomic_load_n(&sh->seen, __ATOMIC_ACQUIRE);
		exp = __atomic_load_n(&sh->expected, __ATOMIC_ACQUIRE);
		if (seen >= exp)
			break;
		last = __atomic_load_n(&sh->progress_ns, __ATOMIC_RELAXED);
		if (soak_now_ns() - last > ONCE_STALL_NS)
			break;
	}
	cport_pool_leave(pp->s1);
	return NULL;
}

static void __attribute__((noreturn))
once_proc_main(struct once_proc *pp, int sock)
{
	struct once_thread *t;
	pthread_t tid[64];
	unsigned int i;
	char c;
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 ||
	    !(cm = CMSG_FIRSTHDR(&msg)) || cm->cmsg_type != SCM_RIGHTS) {
		soak_log("FAIL: once: no port fd from the parent");
		_exit(3);
	}
	memcpy(&pp->s2_fd, CMSG_DATA(cm), sizeof(int));
	close(sock);

	t = calloc(pp->o->threads, sizeof(*t));
	if (!t)
		_exit(3);
	for (i = 0; i < pp->o->threads; i++) {
		t[i].pp = pp;
		t[i].id = pp->proc * pp->o->threads + i;
		t[i].rnd = pp->o->seed ^ (0x0ce0ULL + t[i].id) * 0x9e3779b9ULL;
		if (pthread_create(&tid[i], NULL, once_thread_fn, &t[i])) {
			soak_log("FAIL: once: pthread_create");
			_exit(3);
		}
	}
	for (i = 0; i < pp->o->threads; i++)
		pthread_join(tid[i], NULL);
	_exit(0);
}

static int send_fd(int sock, int fd)
{
	char c = 'S';
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Nothing in flight, nothing reserved, every CQE taken. */
static int once_port_idle(const char *name, int fd)
{
	long long inflight = -1, reserved = -1, head = -1, tail = -2;

	if (soak_fdinfo(fd, "inflight", &inflight) ||
	    soak_fdinfo(fd, "reserved", &reserved) ||
	    soak_fdinfo(fd, "cq_head", &head) ||
	    soak_fdinfo(fd, "cq_tail", &tail) || inflight || reserved ||
	    head != tail) {
		soak_log("FAIL: once: %s not idle at the end: inflight %lld, "
			 "reserved %lld, cq_head %lld, cq_tail %lld (fdinfo)",
			 name, inflight, reserved, head, tail);
		return -1;
	}
	return 0;
}

static void once_dump_file(const char *path, const char *prefix)
{
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		soak_log("%s%s", prefix, line);
	}
	fclose(f);
}

/* Where every thread of a stuck process sleeps. */
static void once_dump_proc(pid_t pid)
{
	char path[300], prefix[300];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(prefix, sizeof(prefix), "  %d/%s: ", (int)pid,
			 d->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack",
			 (int)pid, d->d_name);
		once_dump_file(path, prefix);
	}
	closedir(dir);
}

/*
 * Wait for the processes; if no CQE has been counted for ONCE_STALL_NS
 * while some are still running, say where everything is and kill them.
 */
static int once_watch(struct once_shared *sh, const pid_t *pid,
		      unsigned int nproc, int s1, int s2)
{
	unsigned int k, ticks = 0;
	char path[64];

	for (;;) {
		uint64_t last;
		int alive = 0;

		for (k = 0; k < nproc; k++) {
			siginfo_t si = { .si_pid = 0 };

			/* Not reaped here: waitpid() below takes the status. */
			if (!waitid(P_PID, (id_t)pid[k], &si,
				    WEXITED | WNOHANG | WNOWAIT) && !si.si_pid)
				alive++;
		}
		if (!alive)
			return 0;
		last = __atomic_load_n(&sh->progress_ns, __ATOMIC_RELAXED);
		if (soak_now_ns() - last > ONCE_STALL_NS + 5000000000ULL)
			break;
		soak_sleep_ns(200000000);
		if (soak_verbose && ++ticks % 25 == 0)
			soak_log("once: %llu expected, %llu seen, %u threads "
				 "submitting, CQ full %llu/%llu",
				 (unsigned long long)sh->expected,
				 (unsigned long long)sh->seen, sh->workers_left,
				 (unsigned long long)sh->ebusy,
				 (unsigned long long)sh->eagain);
	}
	soak_log("FAIL: once: stuck: %llu CQEs expected, %llu seen, %u "
		 "threads still submitting; the ports, then the threads:",
		 (unsigned long long)sh->expected,
		 (unsigned long long)sh->seen, sh->workers_left);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", s1);
	once_dump_file(path, "  S1 ");
	if (s2 >= 0) {
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", s2);
		once_dump_file(path, "  S2 ");
	}
	for (k = 0; k < nproc; k++)
		once_dump_proc(pid[k]);
	for (k = 0; k < nproc; k++)
		kill(pid[k], SIGKILL);
	return -1;
}

static int once_data_file(void)
{
	char buf[4096];
	int fd = open(ONCE_FILE, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	memset(buf, 'o', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -1;
	}
	return fd;
}

int soak_once(const struct soak_opts *o, struct soak_result *r)
{
	/* Small CQs: submissions and posts meet a full CQ now and then. */
	struct cport_params p = {
		.flags = CPORT_SETUP_CQSIZE, .cq_entries = 128,
		.concurrency = 2,
	};
	struct once_proc pp = { .o = o };
	struct once_shared *sh;
	pthread_mutexattr_t ma;
	struct cport s1, s2;
	pid_t pid[64];
	int sock[64][2], pipefd[2];
	uint64_t i, lost = 0, start = soak_now_ns();
	unsigned int k, nproc = 0;
	size_t max;
	int ret, status, res = 0;

	max = (size_t)o->procs * o->threads * o->groups * ONCE_GROUP_MAX + 64;
	sh = soak_shared(sizeof(*sh) + 3 * max);
	if (!sh) {
		soak_log("FAIL: once: out of memory");
		r->errors++;
		return -1;
	}
	sh->max = (unsigned int)max;
	sh->kind = (uint8_t *)(sh + 1);
	sh->expect = sh->kind + max;
	sh->count = sh->expect + max;
	sh->workers_left = o->procs * o->threads;
	sh->progress_ns = soak_now_ns();
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->sq_lock, &ma);

	pp.sh = sh;
	pp.data_fd = once_data_file();
	if (pp.data_fd < 0 || pipe2(pipefd, O_CLOEXEC)) {
		soak_log("FAIL: once: setup: %m");
		r->errors++;
		return -1;
	}
	pp.pipe_rd = pipefd[0];
	ret = cport_queue_init_params(64, &s1, &p);
	if (ret) {
		soak_log("FAIL: once: port S1: %s", strerror(-ret));
		r->errors++;
		return -1;
	}
	pp.s1 = &s1;

	for (k = 0; k < o->procs; k++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       sock[k])) {
			soak_log("FAIL: once: socketpair: %m");
			r->errors++;
			break;
		}
		pp.proc = k;
		pid[k] = fork();
		if (pid[k] < 0) {
			soak_log("FAIL: once: fork: %m");
			r->errors++;
			break;
		}
		if (!pid[k]) {
			close(sock[k][0]);
			once_proc_main(&pp, sock[k][1]);
		}
		close(sock[k][1]);
		nproc++;
	}

	/* S2 exists only after the fork: the processes get it by fd. */
	memset(&p, 0, sizeof(p));
	p.flags = CPORT_SETUP_CQSIZE;
	p.cq_entries = 64;
	p.concurrency = 2;
	ret = cport_queue_init_params(8, &s2, &p);
	if (ret) {
		soak_log("FAIL: once: port S2: %s", strerror(-ret));
		r->errors++;
		for (k = 0; k < nproc; k++)
			kill(pid[k], SIGKILL);
	}
	for (k = 0; k < nproc; k++) {
		if (!ret && send_fd(sock[k][0], s2.ring_fd)) {
			soak_log("FAIL: once: sending S2: %m");
			r->errors++;
		}
		close(sock[k][0]);
	}
	if (once_watch(sh, pid, nproc, s1.ring_fd, ret ? -1 : s2.ring_fd)) {
		r->errors++;
		res = -1;
	}
	for (k = 0; k < nproc; k++) {
		if (waitpid(pid[k], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			soak_log("FAIL: once: process %d ended with status "
				 "%#x", (int)pid[k], status);
			r->errors++;
			res = -1;
		}
	}

	for (i = 0; i < sh->next && i < max; i++) {
		if (sh->expect[i] && !sh->count[i]) {
			if (lost++ < 5)
				soak_log("FAIL: once: no terminal CQE for "
					 "user_data %#llx (kind %u)",
					 (unsigned long long)once_ud(i),
					 sh->kind[i]);
		} else if (!sh->expect[i] && sh->count[i]) {
			if (sh->ghosts++ < 5)
				soak_log("FAIL: once: a CQE for user_data "
					 "%#llx, which was never accepted",
					 (unsigned long long)once_ud(i));
		}
	}
	if (!ret && (once_port_idle("S1", s1.ring_fd) ||
		     once_port_idle("S2", s2.ring_fd))) {
		r->errors++;
		res = -1;
	}
	r->lost += lost;
	r->dups += sh->dups;
	r->ghosts += sh->ghosts;
	r->ops += sh->expected;
	soak_log("once: %u processes x %u threads: %llu ops expected, %llu "
		 "terminal CQEs, %llu MORE CQEs; CQ full: %llu submits, %llu "
		 "posts; %llu lost, %llu duplicated, %llu unexpected, %.1f s",
		 nproc, o->threads, (unsigned long long)sh->expected,
		 (unsigned long long)sh->seen, (unsigned long long)sh->more,
		 (unsigned long long)sh->ebusy, (unsigned long long)sh->eagain,
		 (unsigned long long)lost, (unsigned long long)sh->dups,
		 (unsigned long long)sh->ghosts,
		 (soak_now_ns() - start) / 1e9);
	if (!ret)
		cport_queue_exit(&s2);
	cport_queue_exit(&s1);
	close(pipefd[0]);
	close(pipefd[1]);
	close(pp.data_fd);
	unlink(ONCE_FILE);
	if (lost || sh->dups || sh->ghosts)
		res = -1;
	return res;
}
