// SPDX-License-Identifier: GPL-2.0
/*
 * cportstat - the cport ports and common clusters of the system, as
 * iostat and ipcs show theirs.
 *
 *   cportstat [-p PID] [INTERVAL [COUNT]]   ports (every INTERVAL s)
 *   cportstat -c                            common clusters
 *   cportstat -d NAME                       delete a permanent cluster
 *
 * Ports are found through /proc/PID/fd (links to /dev/cport) and read from
 * /proc/PID/fdinfo/FD; a port open in several places (dup, fork,
 * SCM_RIGHTS) is one row, told apart by fdinfo's id. Without root, only
 * the caller's processes can be read. Clusters come from
 * /proc/cport/clusters. See cportstat(8).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <uapi/cport.h>

#define CPORT_DEV	"/dev/cport"
#define CLUSTERS	"/proc/cport/clusters"

/* One port, from the fdinfo of one of its descriptors. */
struct port {
	unsigned long long id;
	int pid;			/* the first process seen with it */
	char comm[32];
	unsigned int fds;		/* descriptors seen, all processes */
	long long sq, cq, inflight, posted, posted_irq, waiters;
	long long pool_limit, pool_running;	/* -1: no pool */
	bool restricted;
};

struct table {
	struct port *p;
	size_t n, cap;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cportstat [-p PID] [INTERVAL [COUNT]]\n"
		"       cportstat -c\n"
		"       cportstat -d NAME\n");
}

/* fdinfo's "key:\tvalue" lines into @p; false if not a port's. */
static bool read_fdinfo(int pid, const char *fd, struct port *p)
{
	char path[320], line[256], key[64];
	long long v;
	bool id = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	memset(p, 0, sizeof(*p));
	p->pool_limit = p->pool_running = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]:%lli", key, &v) != 2) {
			if (!strncmp(line, "restrict_ops:", 13))
				p->restricted = true;
			continue;
		}
		if (!strcmp(key, "id")) {
			p->id = (unsigned long long)v;
			id = true;
		} else if (!strcmp(key, "sq_entries")) {
			p->sq = v;
		} else if (!strcmp(key, "cq_entries")) {
			p->cq = v;
		} else if (!strcmp(key, "inflight")) {
			p->inflight = v;
		} else if (!strcmp(key, "posted")) {
			p->posted = v;
		} else if (!strcmp(key, "posted_irq")) {
			p->posted_irq = v;
		} else if (!strcmp(key, "waiters")) {
			p->waiters = v;
		} else if (!strcmp(key, "pool_concurrency")) {
			p->pool_limit = v;
		} else if (!strcmp(key, "pool_running")) {
			p->pool_running = v;
		} else if (!strcmp(key, "restrict_ops")) {
			p->restricted = true;
		}
	}
	fclose(f);
	return id;
}

static void read_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static struct port *table_find(struct table *t, unsigned long long id)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->p[i].id == id)
			return &t->p[i];
	return NULL;
}

/* Every port of process @pid into @t. */
static void scan_pid(struct table *t, int pid)
{
	char path[320], link[64];
	struct dirent *de;
	struct port p, *q;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid,
			 de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, CPORT_DEV) || !read_fdinfo(pid, de->d_name, &p))
			continue;
		q = table_find(t, p.id);
		if (q) {
			q->fds++;
			continue;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 16;
			struct port *np = realloc(t->p, cap * sizeof(*np));

			if (!np)
				break;
			t->p = np;
			t->cap = cap;
		}
		p.pid = pid;
		p.fds = 1;
		read_comm(pid, p.comm, sizeof(p.comm));
		t->p[t->n++] = p;
	}
	closedir(d);
}

static void scan(struct table *t, int only_pid)
{
	struct dirent *de;
	DIR *d;

	t->n = 0;
	if (only_pid > 0) {
		scan_pid(t, only_pid);
		return;
	}
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			scan_pid(t, atoi(de->d_name));
	closedir(d);
}

static int cmp_id(const void *a, const void *b)
{
	const struct port *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * One report. @prev: the last one (watch mode: rates over @secs), or NULL
 * (totals since setup).
 */
static void report(struct table *t, const struct table *prev, double secs)
{
	const struct port *o;
	char rate[32], irq[16], pool[32];
	long long dp, di;
	size_t i;

	qsort(t->p, t->n, sizeof(*t->p), cmp_id);
	printf("%6s %7s %-15s %3s %5s %5s %8s %10s %9s %5s %4s %7s%s\n",
	       "ID", "PID", "COMMAND", "FDS", "SQ", "CQ", "INFLIGHT",
	       "POSTED", "POSTED/s", "IRQ%", "WAIT", "POOL", "");
	for (i = 0; i < t->n; i++) {
		const struct port *p = &t->p[i];

		o = prev ? table_find((struct table *)prev, p->id) : NULL;
		dp = p->posted - (o ? o->posted : 0);
		di = p->posted_irq - (o ? o->posted_irq : 0);
		if (prev && o && secs > 0)
			snprintf(rate, sizeof(rate), "%.0f", dp / secs);
		else
			snprintf(rate, sizeof(rate), "-");
		if (dp > 0)
			snprintf(irq, sizeof(irq), "%.1f", 100.0 * di / dp);
		else
			snprintf(irq, sizeof(irq), "-");
		if (p->pool_limit >= 0)
			snprintf(pool, sizeof(pool), "%lld/%lld",
				 p->pool_running, p->pool_limit);
		else
			snprintf(pool, sizeof(pool), "-");
		printf("%6llu %7d %-15.15s %3u %5lld %5lld %8lld %10lld %9s %5s %4lld %7s%s\n",
		       p->id, p->pid, p->comm, p->fds, p->sq, p->cq,
		       p->inflight, p->posted, rate, irq, p->waiters, pool,
		       p->restricted ? " R" : "");
	}
	printf("%zu port%s\n", t->n, t->n == 1 ? "" : "s");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ports(int pid, double interval, long count)
{
	struct table cur = { 0 }, prev = { 0 }, tmp;
	double t0, t1;
	long i;

	scan(&cur, pid);
	report(&cur, NULL, 0);
	t0 = now_s();
	for (i = 1; interval > 0 && (count <= 0 || i < count); i++) {
		struct timespec ts = { (time_t)interval,
				       (long)((interval - (time_t)interval) *
					      1e9) };

		nanosleep(&ts, NULL);
		tmp = prev;
		prev = cur;
		cur = tmp;
		scan(&cur, pid);
		t1 = now_s();
		printf("\n");
		report(&cur, &prev, t1 - t0);
		fflush(stdout);
		t0 = t1;
	}
	free(cur.p);
	free(prev.p);
	return 0;
}

static int clusters(void)
{
	char name[80], perm[4], flags[32];
	unsigned int uid, gid, cuid, cgid, mode, assoc;
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen(CLUSTERS, "re");
	if (!f) {
		fprintf(stderr, "cportstat: %s: %s\n", CLUSTERS,
			strerror(errno));
		return 1;
	}
	printf("%-32s %6s %6s %6s %6s %4s %4s %5s %18s\n", "NAME", "UID",
	       "GID", "CUID", "CGID", "MODE", "PERM", "ASSOC", "FLAGS");
	if (!fgets(line, sizeof(line), f))	/* the header */
		line[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%79s %u %u %u %u %o %3s %u %31s", name, &uid,
			   &gid, &cuid, &cgid, &mode, perm, &assoc,
			   flags) != 9)
			continue;
		printf("%-32s %6u %6u %6u %6u %04o %4s %5u %18s\n", name, uid,
		       gid, cuid, cgid, mode, perm, assoc, flags);
		n++;
	}
	fclose(f);
	printf("%d cluster%s\n", n, n == 1 ? "" : "s");
	return 0;
}

/* CPORT_CLUSTER_DELETE on a port of our own: the kernel checks rights. */
static int delete_cluster(const char *name)
{
	struct cport_cluster c;
	int fd, ret = 0;

	if (strlen(name) > CPORT_CLUSTER_NAME_MAX) {
		fprintf(stderr, "cportstat: %s: name too long\n", name);
		return 1;
	}
	fd = open(CPORT_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cportstat: %s: %s\n", CPORT_DEV,
			strerror(errno));
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.op = CPORT_CLUSTER_DELETE;
	snprintf(c.name, sizeof(c.name), "%s", name);
	if (ioctl(fd, CPORT_IOC_CLUSTER, &c)) {
		fprintf(stderr, "cportstat: delete %s: %s\n", name,
			strerror(errno));
		ret = 1;
	}
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	double interval = 0;
	long count = 0;
	char *end;
	int opt, pid = 0;

	while ((opt = getopt(argc, argv, "cd:p:h")) != -1) {
		switch (opt) {
		case 'c':
			return clusters();
		case 'd':
			return delete_cluster(optarg);
		case 'p':
			pid = (int)strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		interval = strtod(argv[optind], &end);
		if (*end || interval <= 0) {
			usage(stderr);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		count = strtol(argv[optind], &end, 10);
		if (*end || count <= 0) {
			usage(stderr);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	return ports(pid, interval, count);
}
