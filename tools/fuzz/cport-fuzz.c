// SPDX-License-Identifier: GPL-2.0
/*
 * cport-fuzz - the guest side of the cport fuzzer.
 *
 * Decodes an input file into a program against /dev/cport and runs it:
 * port setup with good and bad parameters, SQEs of every opcode with
 * every flag and field (bad ones too), every ioctl with its struct,
 * scribbles on the shared rings, mmap/munmap of the regions, a second
 * thread and a forked child acting on the same port, a second port, and
 * close at any point. Every wait is bounded, so an execution ends within
 * a fraction of a second; everything it opened is closed, its thread
 * joined and its child reaped before it returns.
 *
 * Coverage comes from KCOV (/sys/kernel/debug/kcov, CONFIG_KCOV; only
 * cport.ko is instrumented): each task that acts on a port traces the
 * module's PCs into its own KCOV buffer, and consecutive PCs are hashed
 * into AFL's shared map as edges.
 *
 * Modes:
 *   cport-fuzz FILE                under afl-fuzz (__AFL_SHM_ID set and
 *                                  fd 198/199 open): the AFL fork server;
 *                                  FILE is afl-fuzz's @@
 *   cport-fuzz [-v] FILE...        replay each file once, in a child
 *   cport-fuzz --tap DIR|FILE...   replay every file, print TAP
 *                                  ("ok N - replay FILE")
 *
 * Without KCOV it says so and still runs the programs (replay).
 * The input format is described in tools/fuzz/README and mirrored by
 * tools/fuzz/mkcorpus, which writes the seed corpus.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcov.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <uapi/cport.h>

#define FORKSRV_FD	198
#define MAP_SIZE_DEF	65536U
#define KCOV_WORDS	(1UL << 16)	/* PCs per task and execution */
#define INPUT_MAX	(64 * 1024)
#define MAX_CMDS	128		/* commands per program */
#define MAX_SLEEP_US	30000		/* sleeps per program, in total */
#define BUF_SIZE	(64 * 1024)

enum { KC_MAIN, KC_THREAD, KC_CHILD, KC_N };

/* Coverage: one KCOV buffer per acting task, mapped before the fork. */
static int kcov_fd[KC_N] = { -1, -1, -1 };
static unsigned long *kcov_area[KC_N];
static bool have_kcov;
static uint8_t *afl_map;
static unsigned int afl_map_size = MAP_SIZE_DEF;
static bool verbose;
static int worker_fd[2] = { -1, -1 };	/* in a worker: its pipes */

static void kcov_start(int which)
{
	/* The trace goes on where the last task of this buffer left it. */
	if (!have_kcov)
		return;
	if (ioctl(kcov_fd[which], KCOV_ENABLE, KCOV_TRACE_PC))
		if (verbose)
			perror("cport-fuzz: KCOV_ENABLE");
}

static void kcov_stop(int which)
{
	if (have_kcov)
		ioctl(kcov_fd[which], KCOV_DISABLE, 0);
}

static void kcov_open(void)
{
	int i;

	for (i = 0; i < KC_N; i++) {
		kcov_fd[i] = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
		if (kcov_fd[i] < 0 ||
		    ioctl(kcov_fd[i], KCOV_INIT_TRACE, KCOV_WORDS)) {
			fprintf(stderr, "cport-fuzz: no KCOV (/sys/kernel/debug/kcov: %s): running without coverage\n",
				strerror(errno));
			return;
		}
		kcov_area[i] = mmap(NULL, KCOV_WORDS * sizeof(long),
				    PROT_READ | PROT_WRITE, MAP_SHARED,
				    kcov_fd[i], 0);
		if (kcov_area[i] == MAP_FAILED) {
			fprintf(stderr, "cport-fuzz: no KCOV (mmap: %s): running without coverage\n",
				strerror(errno));
			return;
		}
	}
	have_kcov = true;
}

static uint32_t pc_hash(uint64_t pc)
{
	pc ^= pc >> 33;
	pc *= 0xff51afd7ed558ccdULL;
	pc ^= pc >> 33;
	return (uint32_t)pc;
}

/* Edges: hash(previous PC, PC) of each task's trace into AFL's map. */
static unsigned long kcov_collect(void)
{
	unsigned long total = 0, n, i;
	uint32_t prev, cur;
	int k;

	if (!have_kcov)
		return 0;
	for (k = 0; k < KC_N; k++) {
		n = __atomic_load_n(&kcov_area[k][0], __ATOMIC_RELAXED);
		if (n > KCOV_WORDS - 1)
			n = KCOV_WORDS - 1;
		prev = 0;
		for (i = 0; i < n; i++) {
			cur = pc_hash(kcov_area[k][i + 1]);
			if (afl_map)
				afl_map[(cur ^ prev) & (afl_map_size - 1)]++;
			prev = cur >> 1;
		}
		total += n;
		kcov_area[k][0] = 0;
	}
	return total;
}

/*
 * Kernel reports: the fork server reads /dev/kmsg after each execution;
 * a report (KASAN, lockdep, UBSAN, WARNING, BUG...) makes the execution
 * count as a crash for AFL, so the input that caused it is saved. A
 * report from deferred work may show up one execution late.
 */
static int kmsg_fd = -1;
static const char *const report_marks[] = {
	"BUG:", "WARNING:", "UBSAN:", "KASAN:", "KCSAN:", "ODEBUG:", "Oops",
	"kernel BUG at", "general protection fault", "refcount_t:",
	"list_add corruption", "list_del corruption",
	"possible circular locking", "possible recursive locking",
	"inconsistent lock state", "suspicious RCU usage",
	"Kernel panic", "new suspected memory leak",
};

static void kmsg_open(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* The first report line since the last call, or NULL. */
static const char *kmsg_report(void)
{
	static char rec[2048], found[256];
	const char *msg;
	bool any = false;
	ssize_t n;
	size_t i;

	if (kmsg_fd < 0)
		return NULL;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		for (i = 0; i < sizeof(report_marks) / sizeof(*report_marks);
		     i++) {
			if (!any && strstr(msg, report_marks[i])) {
				snprintf(found, sizeof(found), "%.*s",
					 (int)strcspn(msg, "\n"), msg);
				any = true;
			}
		}
	}
	return any ? found : NULL;
}

/* ---- the input ---- */

struct in {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t get8(struct in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static uint16_t get16(struct in *in)
{
	return get8(in) | (uint16_t)get8(in) << 8;
}

static uint32_t get32(struct in *in)
{
	return get16(in) | (uint32_t)get16(in) << 16;
}

static uint64_t get64(struct in *in)
{
	return get32(in) | (uint64_t)get32(in) << 32;
}

/* A sub-program of LEN bytes, for a thread or a child; skipped here. */
static struct in sub_in(struct in *in)
{
	size_t len = get8(in);
	struct in s;

	if (len > in->n - in->i)
		len = in->n - in->i;
	s.p = in->p + in->i;
	s.n = len;
	s.i = 0;
	in->i += len;
	return s;
}

/* ---- the world one execution acts on ---- */

struct port {
	int fd;
	bool ready;
	struct cport_params p;
	uint8_t *sq, *cq, *sqes, *fpage;
	size_t sq_sz, cq_sz, sqes_sz;
};

static struct world {
	struct port port[2];
	int pipe_blk[2];	/* blocking pipe */
	int pipe_nb[2];		/* O_NONBLOCK pipe */
	int memfd;		/* regular file */
	int evfd;
	int nullfd;
	int blkfd;		/* /dev/vda, O_DIRECT, if there is one */
	int sock[2];		/* AF_UNIX: refused by REGISTER_FILES */
	int epfd;
	uint8_t *buf;		/* BUF_SIZE bytes, page aligned */
	uint8_t *hole;		/* an unmapped page */
	struct iovec iov[8];
	struct cport_cqe cqes[CPORT_GETQ_MAX];
	/* ring memory changes under this lock (mmap, munmap, close) */
	pthread_rwlock_t maplock;
	pthread_t thread;
	bool thread_on;
	pid_t child;
	unsigned int sleep_us;
	unsigned int cmds;
	bool fds_known;		/* the descriptors open before it ran */
	uint8_t fd_before[4096 / 8];
} w;

/*
 * Sockets for the socket ops, made the first time a program asks for one
 * (most programs never do): a TCP listener with a connected pair, a UDP
 * socket connected to itself, an AF_UNIX listener and datagram pair, an
 * unconnected TCP socket, and the addresses and message headers the
 * addr chooser of the socket ops points at. All non-blocking: the
 * harness's own calls never wait.
 */
#define NET_CLIENTS	16
static struct net {
	bool on;
	int tl, tc, ta;		/* TCP listener, client, accepted */
	int udp;
	int ul;			/* AF_UNIX stream listener */
	int ud[2];		/* AF_UNIX datagram pair */
	int fresh;		/* TCP, never connected */
	int cl[NET_CLIENTS];	/* clients connected by C_NET */
	unsigned int ncl;
	struct sockaddr_in tcp_addr, udp_addr, closed_addr;
	struct sockaddr_un unix_addr;
	socklen_t unix_len;
	socklen_t last_len;	/* the length of the last address chosen */
	struct sockaddr_storage peer;
	socklen_t alen, alen_small, alen_neg;
	struct msghdr msg[4];
	struct sockaddr_storage name;
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char bigctl[CPORT_NET_CONTROL_MAX + 64];
} nw;

/* A provided buffer ring: the entries point into w.buf. */
#define RING_ENTRIES_MAX	CPORT_BUF_RING_MAX_ENTRIES
#define RING_FILLED		256

/*
 * Made once, before the fork server forks, and inherited: the buffers, an
 * unmapped page, /dev/null and /dev/vda (stateless enough to share), and
 * a page shared by every process of an execution (cleanup flags).
 */
static struct once {
	uint8_t *buf;
	uint8_t *hole;
	struct cport_buf_ring *ring;	/* 16 + 16 * RING_ENTRIES_MAX bytes */
	uint8_t *ro;			/* a read-only page */
	int nullfd;
	int blkfd;
	volatile uint32_t *shared;	/* [0]: a permanent cluster was asked */
} once;

static const char *const cluster_names[] = {
	"fz.a", "fz.b", "fz$c-9_", "", "bad name", "fz/d",
};
#define N_GOOD_NAMES 3

static void sleep_us(unsigned int us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	if (w.sleep_us + us > MAX_SLEEP_US)
		return;
	w.sleep_us += us;
	nanosleep(&ts, NULL);
}

/* ioctl(), traced with -v: what the program did and what it got. */
static long xioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	long ret = ioctl(fd, cmd, arg);

	if (verbose)
		fprintf(stderr, "  %-10s fd %d -> %ld%s%s\n", what, fd, ret,
			ret < 0 ? " " : "", ret < 0 ? strerror(errno) : "");
	return ret;
}

static void unmap_port(struct port *pt)
{
	pthread_rwlock_wrlock(&w.maplock);
	if (pt->sq)
		munmap(pt->sq, pt->sq_sz);
	if (pt->cq)
		munmap(pt->cq, pt->cq_sz);
	if (pt->sqes)
		munmap(pt->sqes, pt->sqes_sz);
	if (pt->fpage)
		munmap(pt->fpage, 4096);
	pt->sq = pt->cq = pt->sqes = pt->fpage = NULL;
	pthread_rwlock_unlock(&w.maplock);
}

static void *map_one(int fd, size_t len, uint64_t off, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static void map_port(struct port *pt, unsigned int which)
{
	struct cport_params *p = &pt->p;

	pthread_rwlock_wrlock(&w.maplock);
	pt->sq_sz = p->sq_off.flags + 4;
	pt->cq_sz = p->cq_off.cqes + p->cq_entries * sizeof(struct cport_cqe);
	pt->sqes_sz = p->sq_entries * sizeof(struct cport_sqe);
	if ((which & 1) && !pt->sq)
		pt->sq = map_one(pt->fd, pt->sq_sz, CPORT_OFF_SQ_RING,
				 PROT_READ | PROT_WRITE);
	if ((which & 2) && !pt->cq)
		pt->cq = map_one(pt->fd, pt->cq_sz, CPORT_OFF_CQ_RING,
				 PROT_READ | PROT_WRITE);
	if ((which & 4) && !pt->sqes)
		pt->sqes = map_one(pt->fd, pt->sqes_sz, CPORT_OFF_SQES,
				   PROT_READ | PROT_WRITE);
	if ((which & 8) && !pt->fpage)
		pt->fpage = map_one(pt->fd, 4096, CPORT_OFF_FLAGS, PROT_READ);
	pthread_rwlock_unlock(&w.maplock);
}

static const uint32_t sq_tab[16] = {
	1, 2, 4, 8, 16, 32, 64, 3, 5, 100, 4096, 8192, 0, 1U << 20, 7, 16,
};
static const uint32_t cq_tab[16] = {
	0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 65536, 3, 5, 1U << 20, 7,
	0xffffffffU,
};
static const uint32_t conc_tab[8] = { 0, 1, 2, 4, 4096, 4097, 3, 1 };

/*
 * Setup parameters, 3 bytes:
 *   a: SQ size (sq_tab[a & 15]); bit 4: CQSIZE; bit 5: CLAMP; bit 6: an
 *      unknown setup flag; bit 7: non-zero features (bad)
 *   b: CQ size (cq_tab[b & 15]); bits 4-6: concurrency (conc_tab);
 *      bit 7: non-zero resv1 (bad)
 *   c: mmap: bit 0 SQ ring, 1 CQ ring, 2 SQEs, 3 flag page (all if 0)
 */
static void setup_port(struct port *pt, uint8_t a, uint8_t b, uint8_t c)
{
	struct cport_params p;

	memset(&p, 0, sizeof(p));
	p.sq_entries = sq_tab[a & 15];
	p.cq_entries = cq_tab[b & 15];
	if (a & 0x10)
		p.flags |= CPORT_SETUP_CQSIZE;
	if (a & 0x20)
		p.flags |= CPORT_SETUP_CLAMP;
	if (a & 0x40)
		p.flags |= 1U << 7;
	if (a & 0x80)
		p.features = 1;
	p.concurrency = conc_tab[(b >> 4) & 7];
	if (b & 0x80)
		p.resv1[1] = 1;
	if (xioctl(pt->fd, CPORT_IOC_SETUP, &p, "setup"))
		return;
	if (pt->ready)	/* cannot happen: a second SETUP is EBUSY */
		abort();
	pthread_rwlock_wrlock(&w.maplock);
	pt->p = p;
	pt->ready = true;
	pthread_rwlock_unlock(&w.maplock);
	/* Sizes the harness relies on must be what it asked for. */
	if (!p.sq_entries || (p.sq_entries & (p.sq_entries - 1)) ||
	    p.cq_entries < p.sq_entries || p.sq_entries > 32768 ||
	    p.cq_entries > 65536)
		abort();
	map_port(pt, (c & 15) ? c : 15);
}

static void open_port(struct port *pt)
{
	pt->fd = open("/dev/cport", O_RDWR | O_CLOEXEC);
	pt->ready = false;
}

static void close_port(struct port *pt, bool unmap)
{
	if (unmap)
		unmap_port(pt);
	if (pt->fd >= 0)
		close(pt->fd);
	pt->fd = -1;
}

static void world_once(void)
{
	once.buf = mmap(NULL, BUF_SIZE + 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	once.shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (once.buf == MAP_FAILED || once.shared == MAP_FAILED)
		abort();
	once.hole = once.buf + BUF_SIZE;
	munmap(once.hole, 4096);
	once.ring = mmap(NULL, 16 + 16 * (size_t)RING_ENTRIES_MAX,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	once.ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (once.ring == MAP_FAILED || once.ro == MAP_FAILED)
		abort();
	once.nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	once.blkfd = open("/dev/vda", O_RDWR | O_DIRECT | O_CLOEXEC);
}


/*
 * The descriptors a program may create without the harness knowing
 * (ACCEPT, SCM_RIGHTS received, dup): whatever is open at the end that
 * was not open at the start is closed, so that a persistent worker does
 * not run out of them.
 */
static void fds_snapshot(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int fd;

	memset(w.fd_before, 0, sizeof(w.fd_before));
	w.fds_known = d != NULL;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd < 4096)
			w.fd_before[fd / 8] |= 1U << (fd % 8);
	}
	closedir(d);
}

static void fds_close_new(void)
{
	struct dirent *de;
	int fd, dfd, n = 0, list[256];
	DIR *d;

	if (!w.fds_known)
		return;
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL && n < 256) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == dfd || fd >= 4096)
			continue;
		if (!(w.fd_before[fd / 8] & (1U << (fd % 8))))
			list[n++] = fd;
	}
	closedir(d);
	while (n > 0)
		close(list[--n]);
}

/* The buffer ring as a program starts with it: empty, entries valid. */
static void ring_reset(void)
{
	struct cport_buf_ring *r = once.ring;
	unsigned int i;

	r->head = r->tail = 0;
	r->resv = 0;
	for (i = 0; i < RING_FILLED; i++) {
		r->bufs[i].addr = (uintptr_t)(once.buf + (i % 16) * 4096);
		r->bufs[i].len = (i & 3) == 3 ? 16 : 4096;
		r->bufs[i].bid = i;
		r->bufs[i].resv = 0;
	}
}

static int nb_socket(int family, int type)
{
	return socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

static pthread_mutex_t net_lock = PTHREAD_MUTEX_INITIALIZER;

static void net_init_locked(void);

/* The thread of a program may ask first: made once either way. */
static void net_init(void)
{
	if (__atomic_load_n(&nw.on, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&net_lock);
	if (!nw.on)
		net_init_locked();
	pthread_mutex_unlock(&net_lock);
}

static void net_init_locked(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len;
	int i, t;

	nw.tl = nw.tc = nw.ta = nw.udp = nw.ul = nw.fresh = -1;
	nw.ud[0] = nw.ud[1] = -1;
	for (i = 0; i < NET_CLIENTS; i++)
		nw.cl[i] = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* A loopback port nobody listens on (CONNECT: refused). */
	t = nb_socket(AF_INET, SOCK_STREAM);
	nw.closed_addr = a;
	len = sizeof(nw.closed_addr);
	if (t >= 0 && !bind(t, (struct sockaddr *)&a, sizeof(a)))
		getsockname(t, (struct sockaddr *)&nw.closed_addr, &len);
	if (t >= 0)
		close(t);

	nw.tl = nb_socket(AF_INET, SOCK_STREAM);
	nw.tcp_addr = a;
	len = sizeof(nw.tcp_addr);
	if (nw.tl >= 0 && !bind(nw.tl, (struct sockaddr *)&a, sizeof(a)) &&
	    !listen(nw.tl, 8) &&
	    !getsockname(nw.tl, (struct sockaddr *)&nw.tcp_addr, &len)) {
		nw.tc = nb_socket(AF_INET, SOCK_STREAM);
		if (nw.tc >= 0)
			connect(nw.tc, (struct sockaddr *)&nw.tcp_addr,
				sizeof(nw.tcp_addr));
		/* Loopback: the handshake is done when connect() returns. */
		nw.ta = accept4(nw.tl, NULL, NULL,
				SOCK_CLOEXEC | SOCK_NONBLOCK);
	}

	nw.udp = nb_socket(AF_INET, SOCK_DGRAM);
	nw.udp_addr = a;
	len = sizeof(nw.udp_addr);
	if (nw.udp >= 0 && !bind(nw.udp, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(nw.udp, (struct sockaddr *)&nw.udp_addr, &len))
		connect(nw.udp, (struct sockaddr *)&nw.udp_addr,
			sizeof(nw.udp_addr));

	nw.ul = nb_socket(AF_UNIX, SOCK_STREAM);
	nw.unix_addr.sun_family = AF_UNIX;
	nw.unix_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		snprintf(nw.unix_addr.sun_path + 1,
			 sizeof(nw.unix_addr.sun_path) - 1, "cport-fuzz.%d",
			 (int)getpid());
	if (nw.ul >= 0 && (bind(nw.ul, (struct sockaddr *)&nw.unix_addr,
				nw.unix_len) || listen(nw.ul, 4))) {
		close(nw.ul);
		nw.ul = -1;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       nw.ud))
		nw.ud[0] = nw.ud[1] = -1;
	nw.fresh = nb_socket(AF_INET, SOCK_STREAM);
	__atomic_store_n(&nw.on, true, __ATOMIC_RELEASE);
}

static void net_fini(void)
{
	unsigned int i;
	int fds[] = { nw.tl, nw.tc, nw.ta, nw.udp, nw.ul, nw.ud[0], nw.ud[1],
		      nw.fresh };

	if (!nw.on)
		return;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < NET_CLIENTS; i++)
		if (nw.cl[i] >= 0)
			close(nw.cl[i]);
	nw.on = false;
}

static void world_init(void)
{
	static char pattern[704];
	int i;

	memset(&w, 0, sizeof(w));
	pthread_rwlock_init(&w.maplock, NULL);
	w.port[0].fd = w.port[1].fd = -1;
	w.child = -1;
	w.buf = once.buf;
	w.hole = once.hole;
	w.nullfd = once.nullfd;
	w.blkfd = once.blkfd;
	once.shared[0] = 0;
	if (pipe2(w.pipe_blk, O_CLOEXEC))
		w.pipe_blk[0] = w.pipe_blk[1] = -1;
	if (pipe2(w.pipe_nb, O_CLOEXEC | O_NONBLOCK))
		w.pipe_nb[0] = w.pipe_nb[1] = -1;
	w.memfd = memfd_create("cport-fuzz", MFD_CLOEXEC);
	if (w.memfd >= 0) {
		for (i = 0; i < (int)sizeof(pattern); i++)
			pattern[i] = "cport-fuzz"[i % 10];
		if (write(w.memfd, pattern, sizeof(pattern)) < 0)
			abort();
	}
	w.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       w.sock))
		w.sock[0] = w.sock[1] = -1;
	w.epfd = epoll_create1(EPOLL_CLOEXEC);
	for (i = 0; i < 8; i++) {
		w.iov[i].iov_base = w.buf + i * 4096;
		w.iov[i].iov_len = 512 << (i & 3);
	}
	fds_snapshot();
	ring_reset();
	memset(&nw, 0, sizeof(nw));
}

static void world_fini(void)
{
	int i, fds[] = {
		w.pipe_blk[0], w.pipe_blk[1], w.pipe_nb[0], w.pipe_nb[1],
		w.memfd, w.evfd, w.sock[0], w.sock[1], w.epfd,
	};

	for (i = 0; i < 2; i++)
		close_port(&w.port[i], true);
	for (i = 0; i < (int)(sizeof(fds) / sizeof(fds[0])); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	net_fini();
	fds_close_new();
}

/* ---- field choosers: small tables make valid values likely ---- */

static int pick_fd(struct in *in)
{
	uint8_t s = get8(in);

	switch (s & 15) {
	case 0: return w.port[0].fd;
	case 1: return w.port[1].fd;
	case 2: return w.pipe_blk[0];
	case 3: return w.pipe_blk[1];
	case 4: return w.memfd;
	case 5: return w.nullfd;
	case 6: return w.evfd;
	case 7: return -1;
	case 8: return 9999;
	case 9: return s >> 4;		/* a registered-file index */
	case 10: return w.blkfd;
	case 11: return w.sock[0];
	case 12: return w.pipe_nb[0];
	case 13: return w.pipe_nb[1];
	case 14: return w.epfd;
	default: return (int)get32(in);
	}
}

static uint64_t pick_off(struct in *in)
{
	static const uint64_t tab[16] = {
		0, 1000, 50000, 1000000, 3000000, CPORT_POS_CURRENT, 1, 3,
		63, 64, 512, 4096, 1ULL << 63, INT64_MAX, 10000, 0,
	};
	uint8_t s = get8(in);

	if ((s & 15) == 15)
		return get64(in);
	if ((s & 15) == 14)
		return s >> 4;		/* a flag number, a user_data */
	return tab[s & 15];
}

static uint64_t ring_addr(unsigned int k)
{
	struct port *pt = &w.port[0];
	uint8_t *p = k == 0 ? pt->sq : k == 1 ? pt->cq : pt->sqes;

	return (uint64_t)(uintptr_t)p;
}

static uint64_t pick_addr(struct in *in)
{
	uint8_t s = get8(in);

	switch (s & 15) {
	case 0: return 0;
	case 1: return (uintptr_t)w.buf;
	case 2: return (uintptr_t)(w.buf + 512 * (s >> 4));
	case 3: return (uintptr_t)w.iov;
	case 4: return (uintptr_t)(w.iov + (s >> 4 & 7));
	case 5: return (uintptr_t)w.hole;
	case 6: return 0xffff888000000000ULL;
	case 7: return (uintptr_t)w.buf + BUF_SIZE - 100;	/* straddles */
	case 8: return ring_addr((s >> 4) % 3);
	case 9: return 0x1000;
	case 10: return s >> 4;	/* a user_data, a mask */
	case 11: return 1ULL << (s >> 4);
	case 12: return ~0ULL;
	default: return get64(in);
	}
}

static uint32_t pick_len(struct in *in)
{
	static const uint32_t tab[16] = {
		0, 1, 2, 4, 16, 512, 4096, 8192, EPOLLIN, EPOLLOUT,
		EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1024, 1025, 0x7ffff000,
		0, 0,
	};
	uint8_t s = get8(in);

	if ((s & 15) == 15)
		return get32(in);
	if ((s & 15) == 14)
		return s >> 4;		/* a cluster, an iovec count */
	return tab[s & 15];
}


/* ---- choosers of the socket ops (CPORT_OP_ACCEPT..CPORT_OP_CLOSE) ---- */

static bool is_net_op(uint8_t op)
{
	return op >= CPORT_OP_ACCEPT && op <= CPORT_OP_CLOSE;
}

static int pick_net_fd(struct in *in)
{
	uint8_t s = get8(in);

	net_init();
	switch (s & 15) {
	case 0: return w.port[0].fd;
	case 1: return w.sock[0];
	case 2: return w.sock[1];
	case 3: return nw.tl;
	case 4: return nw.tc;
	case 5: return nw.ta;
	case 6: return nw.udp;
	case 7: return nw.ul;
	case 8: return nw.ud[0];
	case 9: return s >> 4;		/* a registered-file index */
	case 10: return w.pipe_nb[0];	/* not a socket */
	case 11: return -1;
	case 12: return 9999;
	case 13: return nw.fresh;
	case 14: return nw.ud[1];
	default: return (int)get32(in);
	}
}

/* A struct msghdr of kind @k (0-15) in nw.msg[], built afresh. */
static struct msghdr *net_msg(unsigned int k)
{
	struct msghdr *m = &nw.msg[k & 3];
	struct cmsghdr *cm;
	int fds[3] = { w.pipe_nb[1], w.evfd, w.memfd };

	memset(m, 0, sizeof(*m));
	m->msg_iov = w.iov;
	m->msg_iovlen = 1 + (k & 1);
	switch (k >> 1) {
	case 0:			/* data only */
		break;
	case 1:			/* a name: the UDP socket / room for one */
		memcpy(&nw.name, &nw.udp_addr, sizeof(nw.udp_addr));
		m->msg_name = &nw.name;
		m->msg_namelen = (k & 1) ? sizeof(nw.name) :
					   sizeof(nw.udp_addr);
		break;
	case 2:			/* SCM_RIGHTS: 1 to 3 descriptors */
		memset(&nw.ctl, 0, sizeof(nw.ctl));
		m->msg_control = nw.ctl.buf;
		m->msg_controllen = CMSG_SPACE((1 + (k & 1) * 2) * sizeof(int));
		cm = CMSG_FIRSTHDR(m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((1 + (k & 1) * 2) * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (1 + (k & 1) * 2) * sizeof(int));
		break;
	case 3:			/* SCM_CREDENTIALS / room for control */
		memset(&nw.ctl, 0, sizeof(nw.ctl));
		m->msg_control = nw.ctl.buf;
		m->msg_controllen = sizeof(nw.ctl.buf);
		if (k & 1) {
			struct ucred uc = { getpid(), getuid(), getgid() };

			cm = CMSG_FIRSTHDR(m);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_CREDENTIALS;
			cm->cmsg_len = CMSG_LEN(sizeof(uc));
			memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
			m->msg_controllen = CMSG_SPACE(sizeof(uc));
		}
		break;
	case 4:			/* the iovec array unmapped, or NULL */
		m->msg_iov = (k & 1) ? (struct iovec *)w.hole : NULL;
		break;
	case 5:			/* too many iovecs / too much control */
		if (k & 1) {
			m->msg_iovlen = 1025;
		} else {
			m->msg_control = nw.bigctl;
			m->msg_controllen = sizeof(nw.bigctl);
		}
		break;
	case 6:			/* a name too long / unmapped */
		m->msg_name = (k & 1) ? (void *)w.hole : (void *)&nw.name;
		m->msg_namelen = (k & 1) ? 16 : 129;
		break;
	default:		/* no iovec: buffer select */
		m->msg_iov = NULL;
		m->msg_iovlen = 0;
		break;
	}
	return m;
}

static uint64_t pick_net_addr(struct in *in)
{
	uint8_t s = get8(in);

	net_init();
	nw.last_len = 16;
	switch (s & 15) {
	case 0: return 0;
	case 1: return (uintptr_t)w.buf;
	case 2: return (uintptr_t)(w.buf + 512 * (s >> 4));
	case 3: return (uintptr_t)net_msg(s >> 4);
	case 4: return (uintptr_t)net_msg(2 + ((s >> 4) & 1));
	case 5: return (uintptr_t)net_msg(4 + ((s >> 4) & 1));
	case 6: return (uintptr_t)&nw.tcp_addr;
	case 7:
		nw.last_len = nw.unix_len;
		return (uintptr_t)&nw.unix_addr;
	case 8: return (uintptr_t)&nw.closed_addr;
	case 9: return (uintptr_t)&nw.udp_addr;
	case 10: return (uintptr_t)&nw.peer;
	case 11: return (uintptr_t)w.hole;
	case 12: return 0xffff888000000000ULL;
	case 13: return (uintptr_t)w.buf + BUF_SIZE - 100;	/* straddles */
	case 14: return ring_addr((s >> 4) % 3);
	default: return get64(in);
	}
}

/* @addr2: ACCEPT's socklen_t, or a registered buffer's index. */
static uint64_t pick_net_addr2(struct in *in)
{
	uint8_t s = get8(in);

	switch (s & 7) {
	case 0: return 0;
	case 1:
		nw.alen = sizeof(nw.peer);
		return (uintptr_t)&nw.alen;
	case 2:
		nw.alen_small = 4;
		return (uintptr_t)&nw.alen_small;
	case 3:
		nw.alen_neg = (socklen_t)-1;
		return (uintptr_t)&nw.alen_neg;
	case 4: return (uintptr_t)w.hole;
	case 5: return s >> 3;		/* a buffer index */
	case 6: return (uintptr_t)once.ro;
	default: return get64(in);
	}
}

/* @len: CONNECT's address length, SHUTDOWN's how, a byte count. */
static uint32_t pick_net_len(struct in *in, uint8_t op)
{
	static const uint32_t alens[8] = { 0, 1, 2, 16, 28, 110, 128, 129 };

	if (op == CPORT_OP_CONNECT) {
		uint8_t s = get8(in);

		if (s & 8)
			return alens[s & 7];
		return nw.last_len;
	}
	return pick_len(in);
}

/* @op_flags: MSG_* (or accept4() flags) from one byte; bit 7: raw too. */
static uint32_t pick_net_flags(struct in *in, uint8_t op)
{
	uint8_t b = get8(in);
	uint32_t f = 0;

	if (op == CPORT_OP_ACCEPT) {
		if (b & 1)
			f |= SOCK_NONBLOCK;
		if (b & 2)
			f |= SOCK_CLOEXEC;
		if (b & 4)
			f |= O_APPEND;			/* bad */
	} else {
		if (b & 1)
			f |= MSG_DONTWAIT;
		if (b & 2)
			f |= MSG_WAITALL;
		if (b & 4)
			f |= MSG_PEEK;
		if (b & 8)
			f |= MSG_TRUNC;
		if (b & 0x10)
			f |= MSG_OOB;
		if (b & 0x20)
			f |= MSG_NOSIGNAL | MSG_MORE;
		if (b & 0x40)
			f |= (op == CPORT_OP_RECV || op == CPORT_OP_RECVMSG) ?
			     MSG_CMSG_CLOEXEC : MSG_EOR | MSG_CONFIRM;
	}
	if (b & 0x80)
		f |= get32(in);
	return f;
}

/* @buf_group: mostly a few small groups, sometimes anything. */
static uint16_t pick_group(uint8_t b)
{
	if (b & 0x80)
		return (uint16_t)(b | (b << 8));
	return b & 7;
}

/* ---- ring access ---- */

static void sq_push(struct port *pt, const struct cport_sqe *sqe)
{
	uint32_t *tailp, tail, mask;

	if (!pt->ready || !pt->sq || !pt->sqes)
		return;
	mask = pt->p.sq_entries - 1;
	tailp = (uint32_t *)(pt->sq + pt->p.sq_off.tail);
	tail = __atomic_load_n(tailp, __ATOMIC_RELAXED);
	memcpy(pt->sqes + (tail & mask) * sizeof(*sqe), sqe, sizeof(*sqe));
	__atomic_store_n(tailp, tail + 1, __ATOMIC_RELEASE);
}

/* Builds one SQE: 12 bytes of choices, more for raw values. */

/*
 * CPORT_SQE_F_SIGNAL: the signals an SQE may name. Every valid one is
 * blocked in the whole program (main()), so that queued signals pile up
 * (up to RLIMIT_SIGPENDING, then they are lost: the kernel counts them)
 * instead of killing it; 0 and 65 are refused with -EINVAL.
 */
#define FUZZ_NSIGNALS	8
static int fuzz_signals[FUZZ_NSIGNALS] = { 0, 65, SIGUSR1, SIGUSR2 };

static const uint32_t sig_flags_tab[6] = {
	0, CPORT_SIG_PROCESS, 2, 1U << 30, 1U << 31, ~0U,
};

static void fuzz_signals_block(void)
{
	sigset_t set;
	int i;

	fuzz_signals[4] = SIGRTMIN;
	fuzz_signals[5] = SIGRTMIN + 1;
	fuzz_signals[6] = SIGRTMAX;
	fuzz_signals[7] = SIGRTMIN + 2;
	sigemptyset(&set);
	for (i = 0; i < FUZZ_NSIGNALS; i++)
		if (fuzz_signals[i] >= 1 && fuzz_signals[i] <= SIGRTMAX)
			sigaddset(&set, fuzz_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void cmd_sqe(struct in *in, struct port *pt, unsigned int copies)
{
	struct cport_sqe sqe;
	uint8_t shape;
	unsigned int i;
	bool net;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = get8(in) % (CPORT_OP_LAST + 3);
	net = is_net_op(sqe.opcode);
	sqe.flags = get8(in);
	if (!(sqe.flags & 0x80))	/* mostly known flags */
		sqe.flags &= 0x7f;
	shape = get8(in);		/* which fields to fill */
	if (shape & 0x01)
		sqe.fd = net ? pick_net_fd(in) : pick_fd(in);
	if (shape & 0x02)
		sqe.off = pick_off(in);	/* CPORT_NET_*: 1, 3, 0-15 */
	if (shape & 0x04)
		sqe.addr = net ? pick_net_addr(in) : pick_addr(in);
	if (shape & 0x08)
		sqe.len = net ? pick_net_len(in, sqe.opcode) : pick_len(in);
	if (shape & 0x10)
		sqe.op_flags = net ? pick_net_flags(in, sqe.opcode) : get8(in);
	if (shape & 0x20)
		sqe.addr2 = net ? pick_net_addr2(in) : pick_off(in);
	if (shape & 0x40) {
		sqe.ef_cluster = get8(in) % 6;
		sqe.ef_bit = get8(in) % 66;
	}
	if (shape & 0x80) {
		/* resv0 is buf_group: a group with BUFFER_SELECT */
		uint8_t g = get8(in);

		sqe.resv0 = (sqe.flags & CPORT_SQE_F_BUFFER_SELECT) ?
			    pick_group(g) : g;
		sqe.resv2 = get8(in);
	}
	if (sqe.flags & CPORT_SQE_F_SIGNAL) {
		/*
		 * The completion signal's fields share ef_*'s and resv2: only
		 * signals this program blocks (fuzz_signals), or bad values.
		 */
		uint8_t v = get8(in);

		sqe.sig_signo = fuzz_signals[v % FUZZ_NSIGNALS];
		sqe.sig_flags = sig_flags_tab[(v >> 4) % 6];
		sqe.sig_value = get8(in);
	}
	sqe.user_data = get8(in) & 7;
	pthread_rwlock_rdlock(&w.maplock);
	for (i = 0; i <= copies; i++)
		sq_push(pt, &sqe);
	pthread_rwlock_unlock(&w.maplock);
}

static const uint64_t wait_tab[8] = {
	0, 0, 10000, 100000, 500000, 1000000, 2000000, 4000000,
};

/* ENTER: submit, maybe wait; every wait is bounded. */
static void cmd_enter(struct in *in, struct port *pt)
{
	struct cport_enter e;
	uint8_t a = get8(in), b = get8(in), c = get8(in);
	unsigned long cmd = CPORT_IOC_ENTER;

	memset(&e, 0, sizeof(e));
	e.to_submit = (a & 0x80) ? a & 0x7f : pt->p.sq_entries;
	e.min_complete = b & 0x3f;
	e.flags = c & 0x0f;
	if (e.min_complete || (e.flags & CPORT_ENTER_FLAGS))
		e.flags |= CPORT_ENTER_TIMEOUT;
	if (e.flags & CPORT_ENTER_TIMEOUT)
		e.timeout_ns = wait_tab[(b >> 6) | ((c >> 3) & 4)];
	if (e.flags & CPORT_ENTER_FLAGS) {
		e.ef_cluster = get8(in) % 5;
		e.ef_mask = pick_addr(in);
	}
	if (c & 0x80) {			/* bad: fails before any wait */
		switch (get8(in) & 3) {
		case 0: e.flags |= 1U << 9; break;
		case 1: e.resv0 = 1; e.flags &= ~CPORT_ENTER_FLAGS; break;
		case 2: e.min_complete = 1U << 20; break;
		default: e.ef_result = 1; break;
		}
	}
	if ((c & 0x60) == 0x60 && !(e.flags & CPORT_ENTER_FLAGS))
		cmd = CPORT_IOC_ENTER_V1;
	xioctl(pt->fd, cmd, (c & 0x70) == 0x50 ? (void *)w.hole : (void *)&e,
	       "enter");
}

static void cmd_reap(struct in *in, struct port *pt)
{
	uint32_t *headp, *tailp, head, tail, n, i, mask;
	uint8_t a = get8(in);
	volatile struct cport_cqe *cqe;
	uint64_t sum = 0;

	pthread_rwlock_rdlock(&w.maplock);
	if (!pt->ready || !pt->cq)
		goto out;
	mask = pt->p.cq_entries - 1;
	headp = (uint32_t *)(pt->cq + pt->p.cq_off.head);
	tailp = (uint32_t *)(pt->cq + pt->p.cq_off.tail);
	head = __atomic_load_n(headp, __ATOMIC_RELAXED);
	tail = __atomic_load_n(tailp, __ATOMIC_ACQUIRE);
	n = a ? a : 0xffffffffU;
	if (tail - head < n)
		n = tail - head;
	if (n > pt->p.cq_entries)
		n = pt->p.cq_entries;
	cqe = (struct cport_cqe *)(pt->cq + pt->p.cq_off.cqes);
	for (i = 0; i < n; i++) {
		sum += cqe[(head + i) & mask].user_data;
		if (verbose)
			fprintf(stderr, "  cqe %llu res %d flags %u\n",
				(unsigned long long)cqe[(head + i) & mask].user_data,
				cqe[(head + i) & mask].res,
				cqe[(head + i) & mask].flags);
	}
	__atomic_store_n(headp, head + n, __ATOMIC_RELEASE);
out:
	pthread_rwlock_unlock(&w.maplock);
	(void)sum;
}

static void cmd_post(struct in *in, struct port *pt)
{
	struct cport_post p;
	uint8_t a = get8(in);

	memset(&p, 0, sizeof(p));
	p.user_data = a & 7;
	p.res = (int8_t)get8(in);
	if (a & 0x40)
		p.flags = 1;
	if (a & 0x80)
		p.resv = 1;
	xioctl(pt->fd, CPORT_IOC_POST, (a & 0x38) == 0x38 ? NULL : &p, "post");
}

static void cmd_getq(struct in *in, struct port *pt)
{
	struct cport_getq q;
	uint8_t a = get8(in), b = get8(in);

	memset(&q, 0, sizeof(q));
	q.nr = a & 0x3f;
	if (a & 0x40)
		q.nr = CPORT_GETQ_MAX + (a & 1);
	q.flags = (b & 3) | CPORT_GETQ_TIMEOUT;
	if (b & 0x04)
		q.flags &= ~CPORT_GETQ_TIMEOUT;	/* only with LEAVE: below */
	q.timeout_ns = wait_tab[(b >> 3) & 7];
	switch ((b >> 6) & 3) {
	case 0: q.cqes = (uintptr_t)w.cqes; break;
	case 1: q.cqes = (uintptr_t)w.hole; break;
	case 2: q.cqes = (uintptr_t)w.cqes; q.resv0 = a >> 7; break;
	default: q.cqes = 0; break;
	}
	if (q.flags & CPORT_GETQ_LEAVE) {
		if (!(a & 0x80)) {
			q.cqes = 0;
			q.nr = 0;
		}
	} else if (!(q.flags & CPORT_GETQ_TIMEOUT)) {
		/* no limit: only as a request that fails at once */
		q.flags |= 1U << 5;
	}
	if (!(q.flags & CPORT_GETQ_TIMEOUT))
		q.timeout_ns = 0;
	xioctl(pt->fd, CPORT_IOC_GETQ, &q, "getq");
}

static void cmd_flags(struct in *in, struct port *pt)
{
	struct cport_flags f;
	uint8_t a = get8(in), b = get8(in);

	memset(&f, 0, sizeof(f));
	f.op = (a & 7) % 7;
	f.cluster = ((a >> 3) & 7) % 5;
	f.bit = b & 0x3f;
	if ((a & 0xc0) == 0xc0)
		f.bit = 64 + (b & 1);
	f.flags = (b >> 6) | ((a & 0x80) ? 4 : 0);
	if (f.op == CPORT_FLAGS_WAIT || f.op == CPORT_FLAGS_POLL_ARM ||
	    (a & 0x40))
		f.mask = pick_addr(in);
	if (f.op == CPORT_FLAGS_WAIT) {
		f.flags |= CPORT_FLAG_WAIT_TIMEOUT;
		f.timeout_ns = wait_tab[get8(in) & 7];
	}
	xioctl(pt->fd, CPORT_IOC_FLAGS, &f, "flags");
}

static void cmd_cluster(struct in *in, struct port *pt)
{
	struct cport_cluster c;
	uint8_t a = get8(in), b = get8(in);
	const char *name;

	memset(&c, 0, sizeof(c));
	c.op = a & 3;
	c.flags = (b & 0x1f);
	c.mode = (a & 0x80) ? 0600 : (a & 0x40) ? 0444 : 0;
	if (c.op == CPORT_CLUSTER_DISASSOC || (b & 0x20))
		c.cluster = get8(in) % 34;
	name = cluster_names[((a >> 2) & 7) % 6];
	if (c.op != CPORT_CLUSTER_DISASSOC || (b & 0x40))
		strcpy(c.name, name);
	if (c.flags & CPORT_CLUSTER_PERMANENT)
		once.shared[0] = 1;
	if ((b & 0xc0) == 0xc0)
		memset(c.name, 'x', sizeof(c.name));	/* no NUL */
	xioctl(pt->fd, CPORT_IOC_CLUSTER, &c, "cluster");
}


/*
 * CPORT_REGISTER_BUF_RING / CPORT_UNREGISTER_BUF_RING (a bits 0-2 = 4/5):
 *   a bits 3-5: where data points (0-1 the cport_buf_reg, 2 unmapped, 3
 *   NULL, 4-7 the cport_buf_reg); a bit 6: resv of the register; b bits
 *   0-2: nr (must be 0). Then c: the ring (c & 7: the ring, misaligned,
 *   unmapped, read-only, NULL, the SQ ring mapping, w.buf, raw u64; bit 3:
 *   non-zero flags; bit 4: non-zero resv), d: entries (d & 15: 1 2 4 8 16
 *   256 0 3 32768 65536 5 7 64 128 1024 raw u32), e: bgid (pick_group;
 *   with UNREGISTER, bit 6 keeps ring and entries: bad).
 */
static void cmd_register_ring(struct in *in, struct port *pt, uint8_t a,
			      uint8_t b)
{
	static const uint32_t ents[16] = {
		1, 2, 4, 8, 16, 256, 0, 3, 32768, 65536, 5, 7, 64, 128, 1024, 0,
	};
	struct cport_register r;
	struct cport_buf_reg br;
	uint8_t c = get8(in), d = get8(in), e = get8(in);

	memset(&r, 0, sizeof(r));
	memset(&br, 0, sizeof(br));
	r.op = a & 7;
	r.nr = (b & 7) == 7 ? 1 : 0;
	switch ((a >> 3) & 7) {
	case 2: r.data = (uintptr_t)w.hole; break;
	case 3: r.data = 0; break;
	default: r.data = (uintptr_t)&br; break;
	}
	if (a & 0x40)
		r.resv[1] = 1;
	switch (c & 7) {
	case 0: br.ring_addr = (uintptr_t)once.ring; break;
	case 1: br.ring_addr = (uintptr_t)once.ring + 4; break;
	case 2: br.ring_addr = (uintptr_t)w.hole; break;
	case 3: br.ring_addr = (uintptr_t)once.ro; break;
	case 4: br.ring_addr = 0; break;
	case 5: br.ring_addr = ring_addr(0); break;
	case 6: br.ring_addr = (uintptr_t)w.buf; break;
	default: br.ring_addr = get64(in); break;
	}
	if (c & 8)
		br.flags = 1;
	if (c & 0x10)
		br.resv[c & 0x20 ? 1 : 0] = 1;
	br.ring_entries = (d & 15) == 15 ? get32(in) : ents[d & 15];
	br.bgid = pick_group(e);
	if (r.op == CPORT_UNREGISTER_BUF_RING && !(e & 0x40)) {
		br.ring_addr = 0;
		br.ring_entries = 0;
	}
	xioctl(pt->fd, CPORT_IOC_REGISTER, &r, "register-ring");
}

static void cmd_register(struct in *in, struct port *pt)
{
	struct cport_register r;
	uint8_t a = get8(in), b = get8(in);
	int fds[8];
	int i;

	memset(&r, 0, sizeof(r));
	r.op = a & 7;
	r.nr = b & 7;
	if (r.op == CPORT_REGISTER_BUF_RING ||
	    r.op == CPORT_UNREGISTER_BUF_RING) {
		cmd_register_ring(in, pt, a, b);
		return;
	}
	for (i = 0; i < 8; i++) {
		fds[i] = (b & 0x80) ? pick_fd(in) : (i & 1 ? -1 : w.memfd);
	}
	switch ((a >> 3) & 7) {
	case 0: r.data = (uintptr_t)w.iov; break;
	case 1: r.data = (uintptr_t)fds; break;
	case 2: r.data = (uintptr_t)w.hole; break;
	case 3: r.data = 0; break;
	case 4: r.data = (uintptr_t)(r.op == CPORT_REGISTER_FILES ? (void *)fds
							 : (void *)w.iov);
		break;
	default:
		r.data = (uintptr_t)(r.op & 2 ? (void *)fds : (void *)w.iov);
		break;
	}
	if (r.op == CPORT_UNREGISTER_BUFFERS || r.op == CPORT_UNREGISTER_FILES) {
		if (!(a & 0x80)) {
			r.nr = 0;
			r.data = 0;
		}
	}
	if (a & 0x40)
		r.resv[1] = 1;
	if ((b & 0x78) == 0x78)
		r.nr = get16(in);
	xioctl(pt->fd, CPORT_IOC_REGISTER, &r, "register");
}

/* Stores a value into the shared memory: indices, masks, SQEs, CQEs. */
static void cmd_scribble(struct in *in, struct port *pt)
{
	uint8_t a = get8(in);
	uint16_t off = get16(in);
	uint32_t val = get32(in);
	uint8_t *base = NULL;
	size_t sz = 0;

	pthread_rwlock_rdlock(&w.maplock);
	if (!pt->ready)
		goto out;
	switch (a & 3) {
	case 0: base = pt->sq; sz = pt->sq_sz; break;
	case 1: base = pt->cq; sz = pt->cq_sz; break;
	default: base = pt->sqes; sz = pt->sqes_sz; break;
	}
	if (!base)
		goto out;
	if (a & 0x80) {			/* an index: head, tail, mask... */
		const struct cport_sqring_offsets *so = &pt->p.sq_off;
		const struct cport_cqring_offsets *co = &pt->p.cq_off;
		uint32_t sqf[] = { so->head, so->tail, so->ring_mask,
				   so->ring_entries, so->flags };
		uint32_t cqf[] = { co->head, co->tail, co->ring_mask,
				   co->ring_entries, co->overflow, co->flags };

		if ((a & 3) == 0)
			off = sqf[((a >> 2) & 7) % 5];
		else if ((a & 3) == 1)
			off = cqf[((a >> 2) & 7) % 6];
		if ((a & 0x40) && (a & 3) < 2) {	/* relative: head+k */
			uint32_t cur = *(uint32_t *)(base + (off & ~3U));

			val = cur + (int8_t)val;
		}
	}
	off &= ~3U;
	if ((size_t)off + 4 <= sz)
		__atomic_store_n((uint32_t *)(base + off), val,
				 __ATOMIC_RELEASE);
out:
	pthread_rwlock_unlock(&w.maplock);
}

static void cmd_mmap(struct in *in, struct port *pt)
{
	uint8_t a = get8(in);
	static const uint64_t offs[] = {
		CPORT_OFF_SQ_RING, CPORT_OFF_CQ_RING, CPORT_OFF_SQES,
		CPORT_OFF_FLAGS, 0x4000000, 0x1000, 0x20000000, 0x18001000,
	};
	void *p;
	size_t len;
	int prot, flags;

	switch (a & 3) {
	case 0:				/* unmap regions */
		if (a & 4) {
			unmap_port(pt);
			return;
		}
		pthread_rwlock_wrlock(&w.maplock);
		if ((a & 8) && pt->sqes) {
			munmap(pt->sqes, pt->sqes_sz);
			pt->sqes = NULL;
		}
		if ((a & 16) && pt->cq) {
			munmap(pt->cq, pt->cq_sz);
			pt->cq = NULL;
		}
		if ((a & 32) && pt->fpage) {
			munmap(pt->fpage, 4096);
			pt->fpage = NULL;
		}
		pthread_rwlock_unlock(&w.maplock);
		return;
	case 1:				/* map what is missing */
		if (pt->ready && pt->fd >= 0)
			map_port(pt, (a >> 2) & 15);
		else if (pt->fd >= 0)
			map_port(pt, 8);
		return;
	default:			/* odd mappings, unmapped at once */
		len = (size_t)((a >> 2) & 7) * 4096 + ((a & 0x20) ? 1 : 0);
		if (!len)
			len = 1U << 20;
		prot = (a & 0x40) ? PROT_READ : PROT_READ | PROT_WRITE;
		flags = (a & 0x80) ? MAP_PRIVATE : MAP_SHARED;
		p = mmap(NULL, len, prot, flags, pt->fd, offs[get8(in) & 7]);
		if (p != MAP_FAILED)
			munmap(p, len);
		return;
	}
}

static void cmd_pipe_io(struct in *in)
{
	uint8_t a = get8(in), b[64];
	uint64_t one = 1;
	ssize_t r;

	memset(b, 'p', sizeof(b));
	switch (a & 7) {
	case 0:
		r = write(w.pipe_nb[1], b, (a >> 3) + 1);
		break;
	case 1:
		r = read(w.pipe_nb[0], b, sizeof(b));
		break;
	case 2:
		r = write(w.evfd, &one, 8);
		break;
	case 3:
		r = read(w.evfd, &one, 8);
		break;
	case 4:
		r = write(w.sock[1], b, (a >> 3) + 1);
		break;
	case 5:
		r = read(w.sock[0], b, sizeof(b));
		break;
	case 6:				/* a blocking pipe with data */
		r = write(w.pipe_blk[1], b, 1);
		break;
	default:
		/* hang up: polls and reads see EPOLLHUP/EOF */
		if (a & 8) {
			if (w.pipe_nb[1] >= 0)
				close(w.pipe_nb[1]);
			w.pipe_nb[1] = -1;
		} else {
			shutdown(w.sock[1], SHUT_RDWR);
		}
		r = 0;
		break;
	}
	(void)r;
}


/*
 * C_NET: plain socket calls around the socket ops, a byte a:
 *   a & 7: 0 send 1 to 57 bytes (bits 5-7) from the peer of the TCP
 *          pair, AF_UNIX stream, UDP, AF_UNIX datagram (bits 3-4), 1
 *          read on the other side (bits 3-4), 2 connect a
 *          new TCP client (ACCEPT has a connection to take), 3 the same
 *          over AF_UNIX, 4 shutdown (SHUT_WR) a peer, 5 reset the TCP
 *          pair (SO_LINGER 0, close), 6 provided buffers: add
 *          (a >> 3) + 1 entries at the ring's tail, or scribble the
 *          ring (bit 7), 7 sendmsg() with SCM_RIGHTS on the AF_UNIX
 *          pairs.
 */
static void cmd_net(struct in *in)
{
	uint8_t a = get8(in), b[64];
	struct cport_buf_ring *ring = once.ring;
	struct linger lg = { 1, 0 };
	int fds[4], k = (a >> 3) & 3, fd;
	ssize_t r = 0;

	net_init();
	memset(b, 'n', sizeof(b));
	fds[0] = nw.ta;
	fds[1] = w.sock[1];
	fds[2] = nw.udp;
	fds[3] = nw.ud[1];
	switch (a & 7) {
	case 0:
		r = send(fds[k], b, ((a >> 5) & 7) * 8 + 1,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 1:
		r = recv(k == 1 ? w.sock[0] : k == 3 ? nw.ud[0] : fds[k], b,
			 sizeof(b), MSG_DONTWAIT);
		break;
	case 2:
	case 3:
		if (nw.ncl >= NET_CLIENTS)
			break;
		fd = nb_socket((a & 7) == 2 ? AF_INET : AF_UNIX, SOCK_STREAM);
		if (fd < 0)
			break;
		if ((a & 7) == 2)
			r = connect(fd, (struct sockaddr *)&nw.tcp_addr,
				    sizeof(nw.tcp_addr));
		else
			r = connect(fd, (struct sockaddr *)&nw.unix_addr,
				    nw.unix_len);
		nw.cl[nw.ncl++] = fd;
		if (a & 0x80)
			r = send(fd, b, 8, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 4:
		r = shutdown(fds[k], SHUT_WR);
		break;
	case 5:
		if (nw.tc >= 0) {
			setsockopt(nw.tc, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
			close(nw.tc);
			nw.tc = -1;
		}
		break;
	case 6:
		if (a & 0x80) {
			/* bogus: tail far ahead, an entry of length 0 */
			if (a & 0x40)
				__atomic_store_n(&ring->tail,
						 ring->head + 100000,
						 __ATOMIC_RELEASE);
			else
				ring->bufs[ring->tail & 7].len = 0;
		} else {
			__atomic_store_n(&ring->tail,
					 ring->tail + ((a >> 3) & 15) + 1,
					 __ATOMIC_RELEASE);
		}
		break;
	default: {
		struct msghdr *m = net_msg(4 + ((a >> 3) & 1));

		r = sendmsg((a & 0x20) ? nw.ud[1] : w.sock[1], m,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	}
	if (verbose)
		fprintf(stderr, "  net %u -> %zd\n", a & 7, r);
}

static void cmd_poll(struct in *in, struct port *pt)
{
	uint8_t a = get8(in);
	struct pollfd pfd = { pt->fd, POLLIN | POLLPRI, 0 };
	struct epoll_event ev = { EPOLLIN | EPOLLPRI, { 0 } };

	switch (a & 3) {
	case 0:
		poll(&pfd, 1, (a >> 2) & 3);
		break;
	case 1:
		epoll_ctl(w.epfd, EPOLL_CTL_ADD, pt->fd, &ev);
		break;
	case 2:
		epoll_wait(w.epfd, &ev, 1, (a >> 2) & 3);
		break;
	default:
		epoll_ctl(w.epfd, EPOLL_CTL_DEL, pt->fd, NULL);
		break;
	}
}

static void cmd_misc(struct in *in, struct port *pt)
{
	uint8_t a = get8(in);
	char path[64], buf[1024];
	int fd;

	memset(buf, 0, sizeof(buf));
	switch (a & 7) {
	case 0:				/* fdinfo */
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pt->fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf)) < 0)
				buf[0] = 0;
			close(fd);
		}
		break;
	case 1:				/* unknown ioctls, known sizes */
		if (a & 8)
			ioctl(pt->fd, _IOWR(CPORT_IOC_MAGIC, 8 + (a >> 4),
					    struct cport_enter), buf);
		else
			ioctl(pt->fd, _IOW(CPORT_IOC_MAGIC, 1 + (a >> 4) % 7,
					   char[8]), buf);
		break;
	case 2:				/* NULL and bad arguments */
		ioctl(pt->fd, (a & 8) ? CPORT_IOC_FLAGS : CPORT_IOC_CLUSTER,
		      (a & 16) ? NULL : (void *)w.hole);
		break;
	case 3:				/* read, write on the port itself */
		if (a & 8)
			fd = write(pt->fd, buf, 8);
		else
			fd = read(pt->fd, buf, 8);
		break;
	case 4:				/* dup: one more reference */
		fd = dup(pt->fd);
		if (fd >= 0)
			close(fd);
		break;
	case 5:				/* SETUP of a set-up port, or bad */
		ioctl(pt->fd, CPORT_IOC_SETUP, (a & 8) ? NULL : (void *)buf);
		break;
	default:			/* a throw-away port */
		fd = open("/dev/cport", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			struct cport_params p;

			memset(&p, 0, sizeof(p));
			p.sq_entries = sq_tab[(a >> 3) & 15];
			ioctl(fd, CPORT_IOC_SETUP, &p);
			close(fd);
		}
		break;
	}
}

/*
 * C_RESTRICT: CPORT_IOC_RESTRICT (once per port: later calls are EBUSY),
 * a byte a, then:
 *   a & 3 == 0  all but one opcode, one SQE flag and one ioctl (3 bytes)
 *   a & 3 == 1  everything allowed: the checks run, nothing is refused
 *   a & 3 == 2  the raw struct from the input (48 bytes): mostly EINVAL
 *   a & 3 == 3  a bad pointer (EFAULT)
 */
static void cmd_restrict(struct in *in, struct port *pt)
{
	uint8_t a = get8(in);
	struct cport_restrict r;
	unsigned int i;

	memset(&r, 0, sizeof(r));
	r.ops = ~0ULL >> (64 - CPORT_OP_LAST);
	r.sqe_flags = 0x7f;
	r.ioctls = 0x1feULL;
	switch (a & 3) {
	case 0:
		r.ops &= ~(1ULL << (get8(in) % CPORT_OP_LAST));
		r.sqe_flags &= ~(1U << (get8(in) % 7));
		r.ioctls &= ~(1ULL << (1 + get8(in) % 8));
		break;
	case 2:
		for (i = 0; i < sizeof(r); i++)
			((uint8_t *)&r)[i] = get8(in);
		break;
	case 3:
		xioctl(pt->fd, CPORT_IOC_RESTRICT, w.hole, "restrict");
		return;
	}
	xioctl(pt->fd, CPORT_IOC_RESTRICT, &r, "restrict");
}

/* ---- programs, threads, children ---- */

enum {
	C_SQE, C_ENTER, C_REAP, C_POST, C_GETQ, C_FLAGS, C_CLUSTER,
	C_REGISTER, C_SCRIBBLE, C_MMAP, C_THREAD, C_FORK, C_CLOSE, C_SETUP,
	C_PIPE_IO, C_SLEEP, C_POLL, C_MISC, C_FILL, C_NET, C_RESTRICT, C_N
};

#define ROLE_MAIN	0
#define ROLE_THREAD	1
#define ROLE_CHILD	2

static void run_program(struct in *in, int role);

static void *thread_main(void *arg)
{
	struct in *in = arg;

	kcov_start(KC_THREAD);
	run_program(in, ROLE_THREAD);
	kcov_stop(KC_THREAD);
	free(in);
	return NULL;
}

static void join_thread(void)
{
	if (w.thread_on)
		pthread_join(w.thread, NULL);
	w.thread_on = false;
}

static void reap_child(void)
{
	if (w.child > 0) {
		kill(w.child, SIGKILL);
		while (waitpid(w.child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	w.child = -1;
}

static void cmd_thread(struct in *in)
{
	struct in sub = sub_in(in), *p;

	join_thread();
	p = malloc(sizeof(*p));
	if (!p)
		return;
	*p = sub;
	if (pthread_create(&w.thread, NULL, thread_main, p) == 0)
		w.thread_on = true;
	else
		free(p);
}

static void cmd_fork(struct in *in)
{
	struct in sub = sub_in(in);
	pid_t pid;

	reap_child();
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The worker's pipes: its death must close them. */
		if (worker_fd[0] >= 0) {
			close(worker_fd[0]);
			close(worker_fd[1]);
		}
		/* The thread may have held them at the fork. */
		pthread_rwlock_init(&w.maplock, NULL);
		pthread_mutex_init(&net_lock, NULL);
		kcov_start(KC_CHILD);
		run_program(&sub, ROLE_CHILD);
		kcov_stop(KC_CHILD);
		_exit(0);
	}
	w.child = pid;
}

static void cmd_close(struct in *in, int role)
{
	uint8_t a = get8(in);
	struct port *pt = &w.port[a & 1];

	if (role == ROLE_THREAD)
		return;
	switch ((a >> 1) & 3) {
	case 0:				/* close; the mappings stay */
		close_port(pt, false);
		break;
	case 1:				/* close and unmap: the port goes */
		close_port(pt, true);
		break;
	default:			/* a new port in its place */
		close_port(pt, true);
		open_port(pt);
		break;
	}
}

static void run_program(struct in *in, int role)
{
	struct port *pt;
	uint8_t c;

	while (in->i < in->n && w.cmds < MAX_CMDS) {
		c = get8(in);
		/* bit 7: act on the second port */
		pt = &w.port[c >> 7];
		w.cmds++;
		if (verbose)
			fprintf(stderr, "%s cmd %u port %d\n",
				role == ROLE_MAIN ? "main" :
				role == ROLE_THREAD ? "thread" : "child",
				(c & 0x7f) % C_N, c >> 7);
		switch ((c & 0x7f) % C_N) {
		case C_SQE:
			cmd_sqe(in, pt, 0);
			break;
		case C_FILL:
			cmd_sqe(in, pt, get8(in) & 63);
			break;
		case C_ENTER:
			cmd_enter(in, pt);
			break;
		case C_REAP:
			cmd_reap(in, pt);
			break;
		case C_POST:
			cmd_post(in, pt);
			break;
		case C_GETQ:
			cmd_getq(in, pt);
			break;
		case C_FLAGS:
			cmd_flags(in, pt);
			break;
		case C_CLUSTER:
			cmd_cluster(in, pt);
			break;
		case C_REGISTER:
			cmd_register(in, pt);
			break;
		case C_SCRIBBLE:
			cmd_scribble(in, pt);
			break;
		case C_MMAP:
			if (role == ROLE_THREAD)
				get8(in);
			else
				cmd_mmap(in, pt);
			break;
		case C_THREAD:
			if (role == ROLE_MAIN)
				cmd_thread(in);
			else
				sub_in(in);
			break;
		case C_FORK:
			if (role == ROLE_MAIN)
				cmd_fork(in);
			else
				sub_in(in);
			break;
		case C_CLOSE:
			cmd_close(in, role);
			break;
		case C_SETUP: {
			uint8_t a = get8(in), b = get8(in), m = get8(in);

			if (role != ROLE_THREAD && pt->fd >= 0 && !pt->ready)
				setup_port(pt, a, b, m);
			break;
		}
		case C_PIPE_IO:
			cmd_pipe_io(in);
			break;
		case C_SLEEP:
			sleep_us(50U * (get8(in) & 63));
			break;
		case C_POLL:
			cmd_poll(in, pt);
			break;
		case C_MISC:
			cmd_misc(in, pt);
			break;
		case C_NET:
			cmd_net(in);
			break;
		case C_RESTRICT:
			cmd_restrict(in, pt);
			break;
		}
	}
}

/*
 * One execution. Header, 8 bytes:
 *   0-2  setup of port 0 (setup_port())
 *   3    bit 0: no setup; bit 1: map the flag page before setup;
 *        bit 2: open and set up port 1 too
 *   4-6  setup of port 1
 *   7    reserved
 * then commands (run_program()).
 */
static void execute(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	uint8_t h[8];
	int i, fd;

	for (i = 0; i < 8; i++)
		h[i] = get8(&in);
	world_init();
	kcov_start(KC_MAIN);
	open_port(&w.port[0]);
	if (w.port[0].fd >= 0) {
		if (h[3] & 2)
			map_port(&w.port[0], 8);
		if (!(h[3] & 1))
			setup_port(&w.port[0], h[0], h[1], h[2]);
	}
	if (h[3] & 4) {
		open_port(&w.port[1]);
		if (w.port[1].fd >= 0)
			setup_port(&w.port[1], h[4], h[5], h[6]);
	}
	run_program(&in, ROLE_MAIN);
	join_thread();
	reap_child();
	world_fini();
	kcov_stop(KC_MAIN);

	/* Permanent clusters outlive the program: delete the names. */
	fd = once.shared[0] ? open("/dev/cport", O_RDWR | O_CLOEXEC) : -1;
	if (fd >= 0) {
		for (i = 0; i < N_GOOD_NAMES; i++) {
			struct cport_cluster c;

			memset(&c, 0, sizeof(c));
			c.op = CPORT_CLUSTER_DELETE;
			strcpy(c.name, cluster_names[i]);
			ioctl(fd, CPORT_IOC_CLUSTER, &c);
		}
		close(fd);
	}
}

static ssize_t read_file(const char *path, uint8_t *buf, size_t max)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)total < max) {
		n = read(fd, buf + total, max - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

static int run_file(const char *path)
{
	static uint8_t buf[INPUT_MAX];
	ssize_t n = read_file(path, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "cport-fuzz: %s: %s\n", path, strerror(errno));
		return 1;
	}
	execute(buf, n);
	return 0;
}

/* Kills and reaps what an execution may have left: its process group. */
static void reap_all(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

/* ---- AFL++ fork server (fds 198 and 199) ---- */

/*
 * The fork server runs each execution in a worker, a child in a process
 * group of its own. A worker runs up to CPORT_FUZZ_PERSIST executions
 * (default 1), one per request, each cleaning up after itself, then
 * exits: forking and tearing down a process costs as much as a short
 * program on the debug kernel. AFL gets the worker's pid, which it kills
 * on a timeout; a worker that dies (crash, timeout) reports its wait
 * status, and the next request starts a new one.
 */
struct worker {
	pid_t pid;
	int cmd;		/* server -> worker: one byte per execution */
	int done;		/* worker -> server: run_file()'s result */
	unsigned int runs;
};

static void worker_start(struct worker *wk, const char *path)
{
	int cmd[2], done[2], ret;
	char c;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(done, O_CLOEXEC))
		exit(1);
	wk->pid = fork();
	if (wk->pid < 0)
		exit(1);
	if (wk->pid == 0) {
		close(FORKSRV_FD);
		close(FORKSRV_FD + 1);
		close(cmd[1]);
		close(done[0]);
		worker_fd[0] = cmd[0];
		worker_fd[1] = done[1];
		setpgid(0, 0);
		while (read(cmd[0], &c, 1) == 1) {
			ret = run_file(path);
			if (write(done[1], &ret, sizeof(ret)) != sizeof(ret))
				break;
		}
		_exit(0);
	}
	setpgid(wk->pid, wk->pid);
	close(cmd[0]);
	close(done[1]);
	wk->cmd = cmd[1];
	wk->done = done[0];
	wk->runs = 0;
}

/* Ends the worker and whatever it left; returns its wait status. */
static int worker_stop(struct worker *wk)
{
	int status = 0;

	close(wk->cmd);
	close(wk->done);
	while (waitpid(wk->pid, &status, 0) < 0 && errno == EINTR)
		;
	reap_all(wk->pid);
	wk->pid = -1;
	return status;
}

static void fork_server(const char *path)
{
	const char *id = getenv("__AFL_SHM_ID");
	const char *sz = getenv("AFL_MAP_SIZE");
	const char *pe = getenv("CPORT_FUZZ_PERSIST");
	struct worker wk = { .pid = -1 };
	unsigned int persist = pe && atoi(pe) > 0 ? atoi(pe) : 1;
	uint32_t msg = 0;
	int status, ret;
	char c = 0;

	if (sz && atoi(sz) > 0)
		afl_map_size = atoi(sz);
	if (afl_map_size & (afl_map_size - 1))
		afl_map_size = MAP_SIZE_DEF;
	afl_map = shmat(atoi(id), NULL, 0);
	if (afl_map == (void *)-1) {
		perror("cport-fuzz: shmat");
		exit(1);
	}
	/* Orphans of an execution come back to us, to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (write(FORKSRV_FD + 1, &msg, 4) != 4)
		exit(1);
	for (;;) {
		if (read(FORKSRV_FD, &msg, 4) != 4)
			exit(0);
		if (wk.pid > 0 && write(wk.cmd, &c, 1) != 1)
			worker_stop(&wk);	/* died between executions */
		if (wk.pid < 0) {
			worker_start(&wk, path);
			if (write(wk.cmd, &c, 1) != 1)
				exit(1);
		}
		if (write(FORKSRV_FD + 1, &wk.pid, 4) != 4)
			exit(1);
		if (read(wk.done, &ret, sizeof(ret)) == sizeof(ret)) {
			status = W_EXITCODE(ret & 0xff, 0);
			if (++wk.runs >= persist || ret)
				worker_stop(&wk);
		} else {
			status = worker_stop(&wk);
		}
		kcov_collect();
		/* No coverage at all: keep AFL from calling it uninstrumented. */
		if (!have_kcov)
			afl_map[0] = 1;
		if (kmsg_report() && !WIFSIGNALED(status))
			status = SIGABRT;	/* "killed by SIGABRT" */
		if (write(FORKSRV_FD + 1, &status, 4) != 4)
			exit(1);
	}
}

/* ---- replay ---- */

/* The module's reference count: one per port (and pool thread), or -1. */
static long module_refcnt(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd = open("/sys/module/cport/refcnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Waits up to 1 s for the count to come back to @want. */
static long module_refcnt_settle(long want)
{
	long now = module_refcnt();
	int i;

	for (i = 0; i < 100 && now != want; i++) {
		usleep(10000);
		now = module_refcnt();
	}
	return now;
}


static int replay_one(const char *path, unsigned long *pcs,
		      const char **report)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		alarm(30);
		_exit(run_file(path));
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	reap_all(pid);
	*pcs = kcov_collect();
	*report = kmsg_report();
	return status;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files to replay: FILE arguments, and the files of DIR arguments. */
static int collect(char **args, int n, char ***out)
{
	char **list = NULL, **tmp, path[PATH_MAX];
	int count = 0, i, start;
	struct dirent *de;
	struct stat st;
	DIR *d;

	for (i = 0; i < n; i++) {
		if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			d = opendir(args[i]);
			if (!d)
				continue;
			start = count;
			while ((de = readdir(d))) {
				snprintf(path, sizeof(path), "%s/%s", args[i],
					 de->d_name);
				if (de->d_name[0] == '.' || stat(path, &st) ||
				    !S_ISREG(st.st_mode))
					continue;
				tmp = realloc(list, (count + 1) * sizeof(*list));
				if (!tmp)
					exit(1);
				list = tmp;
				list[count++] = strdup(path);
			}
			closedir(d);
			qsort(list + start, count - start, sizeof(*list),
			      cmp_str);
		} else {
			tmp = realloc(list, (count + 1) * sizeof(*list));
			if (!tmp)
				exit(1);
			list = tmp;
			list[count++] = strdup(args[i]);
		}
	}
	*out = list;
	return count;
}

static int replay(char **args, int n, bool tap)
{
	const char *report;
	unsigned long pcs;
	long base, now;
	char **files;
	int count, i, status, failed = 0;

	count = collect(args, n, &files);
	if (tap) {
		printf("TAP version 13\n1..%d\n", count);
		if (!have_kcov)
			printf("# no KCOV: replaying without coverage\n");
	}
	base = module_refcnt();
	for (i = 0; i < count; i++) {
		status = replay_one(files[i], &pcs, &report);
		/* Everything the program opened is closed: no port may stay. */
		now = base < 0 ? base : module_refcnt_settle(base);
		if (status == 0 && now != base) {
			failed++;
			printf("%s%d - replay %s # a port outlived the program: module refcnt %ld, was %ld\n",
			       tap ? "not ok " : "cport-fuzz: FAIL ", i + 1,
			       files[i], now, base);
			base = now;
		} else if (status == 0 && report) {
			failed++;
			printf("%s%d - replay %s # kernel report: %s\n",
			       tap ? "not ok " : "cport-fuzz: FAIL ", i + 1,
			       files[i], report);
		} else if (status == 0) {
			if (tap)
				printf("ok %d - replay %s\n", i + 1, files[i]);
			else
				printf("cport-fuzz: %s: ok, %lu PCs\n",
				       files[i], pcs);
		} else {
			failed++;
			printf("%s%d - replay %s # status 0x%x%s%s\n",
			       tap ? "not ok " : "cport-fuzz: FAIL ", i + 1,
			       files[i], status,
			       WIFSIGNALED(status) ? ", signal " : "",
			       WIFSIGNALED(status) ?
			       strsignal(WTERMSIG(status)) : "");
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	bool tap = false;
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	fuzz_signals_block();
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--tap"))
			tap = true;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else
			break;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: cport-fuzz [-v] [--tap] FILE|DIR...\n");
		return 2;
	}
	kcov_open();
	kmsg_open();
	world_once();
	if (getenv("__AFL_SHM_ID") && fcntl(FORKSRV_FD, F_GETFD) != -1 &&
	    fcntl(FORKSRV_FD + 1, F_GETFD) != -1)
		fork_server(argv[i]);
	return replay(argv + i, argc - i, tap);
}
