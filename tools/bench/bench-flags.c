// SPDX-License-Identifier: MIT
/*
 * bench-flags: event flag round trip, set -> waiter wakes -> set back.
 *
 * A sets flag 0 and waits for flag 1; B waits for flag 0 and sets flag 1:
 * one round trip. Both waits consume the flag they waited for, so each one
 * sleeps in the kernel until the peer's set wakes it. A and B are pinned to
 * CPUs 0 and 1 (when there are two), so every wake crosses CPUs; two system
 * calls per side per round trip, with every mechanism. With -s both are
 * pinned to CPU 0: a wake is then a switch between two tasks of one CPU,
 * with no IPI and no idle CPU to wake up, which under TCG costs more than
 * the system calls do. Mechanisms (-i):
 *
 *   cport         CPORT_IOC_FLAGS on the local cluster of one port, shared
 *                 by A and B: CPORT_FLAGS_SET, then CPORT_FLAGS_WAIT with
 *                 CPORT_FLAG_WAIT_CONSUME and a one-flag mask.
 *   cport-common  the same in a common cluster (CPORT_IOC_CLUSTER, a name of
 *                 this run): A and B each open a port of their own and
 *                 associate it with the cluster.
 *   futex         a word per direction: store 1 + FUTEX_WAKE, FUTEX_WAIT
 *                 while 0, the waiter resets it (as bench-pingpong's).
 *   eventfd       an eventfd per direction: write() the peer's, a blocking
 *                 read() of one's own (no epoll).
 *
 * With -m process, B is a child process instead of a thread: cport-common
 * then opens B's port in the child and associates the cluster by name (what
 * common clusters are for), cport uses the port the child inherited (the
 * same port, so the same local cluster), futex uses shared futexes in a
 * MAP_SHARED page, eventfd the inherited eventfds.
 *
 * The cport mechanisms check what the kernel answers: a SET must find its
 * flag clear (the peer consumed it before it answered), a WAIT must report
 * exactly its flag, and the cluster must be 0 at the end. Any other answer
 * ends the run with an error saying which.
 *
 * Runs for a fixed time after a warm-up and prints one line:
 *
 *   bench=flags impl=cport mode=thread cpus=0,1 rounds=... secs=...
 *   rt_per_sec=... ns_per_rt=...
 *
 * (on one line). Exit status 2 ("skip=") if /dev/cport is missing or the
 * module has no event flags.
 *
 * Usage: bench-flags -i cport|cport-common|futex|eventfd [-m thread|process]
 *                    [-t MS] [-P|-s]
 *
 * Copyright (C) 2026 The cport authors
 */
#include "bench.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cport.h>

/* A waits for FLAG_A, B for FLAG_B. */
#define FLAG_A		1
#define FLAG_B		0

/*
 * What one side uses. In process mode B's copy lives in the child only,
 * so per-process things (fds, cluster handles) are here and not in the
 * shared struct ef.
 */
struct side {
	int fd;			/* cport: the port */
	__u32 cluster;		/* cport: 0 (local) or the common handle */
};

/* In a MAP_SHARED page: seen by both sides in both modes. */
struct ef {
	const struct mech *m;	/* -i */
	unsigned int ms;
	int pin, procs;
	int b_cpu;		/* B's CPU: 1, or 0 with -s */
	atomic_int stop;
	char head[96];
	char name[CPORT_CLUSTER_NAME_MAX + 1];	/* cport-common */

	struct side side[2];	/* [0] is A's, [1] is B's (thread mode) */
	int efd[2];		/* eventfd: [n] wakes the waiter for flag n */
	_Atomic uint32_t fw[2];	/* futex: likewise */
};

/* ---- cport ------------------------------------------------------------- */

static int cp_flags(struct ef *p, struct side *s, struct cport_flags *f)
{
	int ret;

	f->cluster = s->cluster;
	do {
		ret = ioctl(s->fd, CPORT_IOC_FLAGS, f);
	} while (ret < 0 && errno == EINTR && f->op == CPORT_FLAGS_WAIT);
	if (ret < 0)
		bench_die(p->head, "CPORT_IOC_FLAGS op %u cluster %u bit %u "
			  "mask %#llx: %s", f->op, f->cluster, f->bit,
			  (unsigned long long)f->mask, strerror(errno));
	return ret;
}

static void cp_set(struct ef *p, struct side *s, unsigned int bit)
{
	struct cport_flags f = { .op = CPORT_FLAGS_SET, .bit = bit };
	int ret = cp_flags(p, s, &f);

	/* Its waiter consumed it before it answered the previous round. */
	if (ret != 0)
		bench_die(p->head, "SET of flag %u (cluster %u) returned %d, "
			  "want 0 (was clear); cluster before %#llx", bit,
			  s->cluster, ret, (unsigned long long)f.result);
}

static void cp_wait(struct ef *p, struct side *s, unsigned int bit)
{
	struct cport_flags f = {
		.op = CPORT_FLAGS_WAIT,
		.flags = CPORT_FLAG_WAIT_CONSUME,
		.mask = 1ULL << bit,
	};

	cp_flags(p, s, &f);
	if (f.result != f.mask)
		bench_die(p->head, "WAIT|CONSUME for flag %u (cluster %u) "
			  "returned 0 with result %#llx, want %#llx", bit,
			  s->cluster, (unsigned long long)f.result,
			  (unsigned long long)f.mask);
}

static int cp_open(struct ef *p)
{
	int fd = open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0 && (errno == ENOENT || errno == ENODEV))
		bench_skip(p->head, "%s: %s", CPORT_DEVICE_PATH,
			   strerror(errno));
	if (fd < 0)
		bench_die(p->head, "open %s: %s", CPORT_DEVICE_PATH,
			  strerror(errno));
	return fd;
}

/* Skip, rather than fail, on a module without event flags. */
static void cp_probe(struct ef *p, int fd)
{
	struct cport_flags f = { .op = CPORT_FLAGS_READ };

	if (ioctl(fd, CPORT_IOC_FLAGS, &f) < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			bench_skip(p->head, "CPORT_IOC_FLAGS: %s (no event "
				   "flags in this module)", strerror(errno));
		bench_die(p->head, "CPORT_IOC_FLAGS READ: %s",
			  strerror(errno));
	}
	if (f.result)
		bench_die(p->head, "a new port's local cluster is %#llx, "
			  "want 0", (unsigned long long)f.result);
}

static void cp_setup(struct ef *p)
{
	p->side[0].fd = cp_open(p);
	cp_probe(p, p->side[0].fd);
	p->side[1] = p->side[0];
}

/* Associate @s's port with the run's cluster, creating it if @create. */
static void cpc_assoc(struct ef *p, struct side *s, int create)
{
	struct cport_cluster c = { .op = CPORT_CLUSTER_ASSOC };
	int ret;

	if (create) {
		c.flags = CPORT_CLUSTER_CREATE | CPORT_CLUSTER_EXCL;
		c.mode = 0600;
	}
	memcpy(c.name, p->name, sizeof(p->name));
	ret = ioctl(s->fd, CPORT_IOC_CLUSTER, &c);
	if (ret < 0 && create && (errno == ENOTTY || errno == EINVAL))
		bench_skip(p->head, "CPORT_IOC_CLUSTER: %s (no common "
			   "clusters in this module)", strerror(errno));
	if (ret < 0)
		bench_die(p->head, "CPORT_CLUSTER_ASSOC %s%s: %s", p->name,
			  create ? " CREATE|EXCL" : "", strerror(errno));
	if (ret != !!create)
		bench_die(p->head, "CPORT_CLUSTER_ASSOC %s returned %d, want "
			  "%d", p->name, ret, !!create);
	if (c.cluster < 1 || c.cluster > CPORT_CLUSTER_MAX)
		bench_die(p->head, "CPORT_CLUSTER_ASSOC gave handle %u",
			  c.cluster);
	s->cluster = c.cluster;
}

/* A's port creates the cluster; B's associates in cpc_attach(). */
static void cpc_setup(struct ef *p)
{
	snprintf(p->name, sizeof(p->name), "bench-flags.%d", (int)getpid());
	p->side[0].fd = cp_open(p);
	cp_probe(p, p->side[0].fd);
	cpc_assoc(p, &p->side[0], 1);
}

/* In B's thread or process: a port of its own, in the same cluster. */
static void cpc_attach(struct ef *p, struct side *s)
{
	/* A child drops A's port (it stays open in the parent). */
	if (p->procs)
		close(p->side[0].fd);
	s->fd = cp_open(p);
	cpc_assoc(p, s, 0);
}

/* After the run: B consumed the last flag A set, nothing is left. */
static void cp_check_clear(struct ef *p)
{
	struct cport_flags f = { .op = CPORT_FLAGS_READ };

	cp_flags(p, &p->side[0], &f);
	if (f.result)
		bench_die(p->head, "cluster %u is %#llx after the run, want 0",
			  p->side[0].cluster, (unsigned long long)f.result);
}

/* ---- futex ------------------------------------------------------------- */

static void fx_set(struct ef *p, struct side *s, unsigned int bit)
{
	int op = p->procs ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE;

	(void)s;
	atomic_store_explicit(&p->fw[bit], 1, memory_order_release);
	syscall(SYS_futex, &p->fw[bit], op, 1, NULL, NULL, 0);
}

static void fx_wait(struct ef *p, struct side *s, unsigned int bit)
{
	int op = p->procs ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE;

	(void)s;
	while (!atomic_load_explicit(&p->fw[bit], memory_order_acquire))
		syscall(SYS_futex, &p->fw[bit], op, 0, NULL, NULL, 0);
	/* The peer sets it again only after we answered: no lost wake-up. */
	atomic_store_explicit(&p->fw[bit], 0, memory_order_relaxed);
}

/* ---- eventfd ------------------------------------------------------------ */

static void efd_set(struct ef *p, struct side *s, unsigned int bit)
{
	uint64_t one = 1;

	(void)s;
	if (write(p->efd[bit], &one, sizeof(one)) != sizeof(one))
		bench_die(p->head, "eventfd write: %s", strerror(errno));
}

static void efd_wait(struct ef *p, struct side *s, unsigned int bit)
{
	uint64_t v;
	ssize_t n;

	(void)s;
	do {
		n = read(p->efd[bit], &v, sizeof(v));
	} while (n < 0 && errno == EINTR);
	if (n != sizeof(v))
		bench_die(p->head, "eventfd read: %s", strerror(errno));
	if (v != 1)
		bench_die(p->head, "eventfd read %llu, want 1",
			  (unsigned long long)v);
}

static void efd_setup(struct ef *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		p->efd[i] = eventfd(0, EFD_CLOEXEC);
		if (p->efd[i] < 0)
			bench_skip(p->head, "eventfd: %s", strerror(errno));
	}
}

/* ---- the two sides ------------------------------------------------------ */

/*
 * A mechanism: @set wakes the waiter for flag @bit, @wait sleeps until
 * it is set and takes it. @attach, if any, runs first in B's thread or
 * process; @check, if any, in A after B has left.
 */
struct mech {
	const char *name;	/* -i */
	void (*setup)(struct ef *p);
	void (*attach)(struct ef *p, struct side *s);
	void (*set)(struct ef *p, struct side *s, unsigned int bit);
	void (*wait)(struct ef *p, struct side *s, unsigned int bit);
	void (*check)(struct ef *p);
};

static const struct mech mechs[] = {
	{ "cport", cp_setup, NULL, cp_set, cp_wait, cp_check_clear },
	{ "cport-common", cpc_setup, cpc_attach, cp_set, cp_wait,
	  cp_check_clear },
	{ "futex", NULL, NULL, fx_set, fx_wait, NULL },
	{ "eventfd", efd_setup, NULL, efd_set, efd_wait, NULL },
};

/* A sets B's flag and waits for its own. */
static void a_round(void *arg)
{
	struct ef *p = arg;

	p->m->set(p, &p->side[0], FLAG_B);
	p->m->wait(p, &p->side[0], FLAG_A);
}

/* B: in a thread, or in the child with its own copy of side[1]. */
static void b_loop(struct ef *p)
{
	struct side s = p->side[1];

	if (p->pin)
		bench_pin(p->b_cpu);
	if (p->m->attach)
		p->m->attach(p, &s);
	/* Wait for the first set, then answer each one and wait for the
	 * next; the set that follows 'stop' is not answered.
	 */
	p->m->wait(p, &s, FLAG_B);
	while (!atomic_load(&p->stop)) {
		p->m->set(p, &s, FLAG_A);
		p->m->wait(p, &s, FLAG_B);
	}
	if (p->m->attach)
		close(s.fd);
}

static void *b_thread(void *arg)
{
	b_loop(arg);
	return NULL;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i cport|cport-common|futex|eventfd "
		"[-m thread|process] [-t MS] [-P|-s]\n"
		"  -m  B is a thread (default) or a child process\n"
		"  -P  do not pin the two sides to CPUs 0 and 1\n"
		"  -s  pin both sides to CPU 0\n", prog);
	exit(1);
}

static struct ef *ef_alloc(void)
{
	struct ef *p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	p->ms = 1000;
	p->pin = 1;
	p->b_cpu = 1;
	return p;
}

/* Start B; A's final set after 'stop' only wakes it, and it leaves. */
static uint64_t run(struct ef *p, uint64_t *ns)
{
	uint64_t rounds;
	pthread_t tb;
	pid_t pid = 0;
	int status;

	if (p->pin)
		bench_pin(0);
	if (p->procs) {
		pid = fork();
		if (pid < 0)
			bench_die(p->head, "fork: %s", strerror(errno));
		if (pid == 0) {
			/* Do not outlive A if it is killed (timeout). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			b_loop(p);
			_exit(0);
		}
	} else if (pthread_create(&tb, NULL, b_thread, p)) {
		bench_die(p->head, "pthread_create failed");
	}

	/* the clock is read every 16 round trips */
	rounds = bench_run_for(a_round, p, p->ms, 16, ns);
	atomic_store(&p->stop, 1);
	p->m->set(p, &p->side[0], FLAG_B);

	if (!p->procs) {
		pthread_join(tb, NULL);
	} else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		   WEXITSTATUS(status)) {
		/* The child said why on stderr (bench_die). */
		bench_die(p->head, "side B (pid %d) failed: status %#x",
			  (int)pid, status);
	}
	return rounds;
}

int main(int argc, char **argv)
{
	struct ef *p = ef_alloc();
	const char *name = NULL, *mode = "thread";
	uint64_t rounds, ns = 0;
	unsigned int i;
	int c;

	while ((c = getopt(argc, argv, "i:m:t:Psh")) != -1) {
		switch (c) {
		case 'i':
			name = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 't':
			p->ms = bench_atol(argv[0], optarg);
			break;
		case 'P':
			p->pin = 0;
			break;
		case 's':
			p->b_cpu = 0;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!name)
		usage(argv[0]);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(name, mechs[i].name))
			p->m = &mechs[i];
	if (!p->m)
		usage(argv[0]);
	if (!strcmp(mode, "process"))
		p->procs = 1;
	else if (strcmp(mode, "thread"))
		usage(argv[0]);
	snprintf(p->head, sizeof(p->head),
		 "bench=flags impl=%s mode=%s cpus=%s", name, mode,
		 !p->pin ? "any" : p->b_cpu ? "0,1" : "0");

	if (p->m->setup)
		p->m->setup(p);
	rounds = run(p, &ns);
	if (p->m->check)
		p->m->check(p);

	printf("%s rounds=%llu secs=%.3f rt_per_sec=%.0f ns_per_rt=%.0f\n",
	       p->head, (unsigned long long)rounds, ns / 1e9,
	       rounds * 1e9 / ns, (double)ns / rounds);
	return 0;
}
