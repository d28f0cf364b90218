// SPDX-License-Identifier: GPL-2.0
/*
 * soak - kill storm and exactly-once check of cport, for `make soak`.
 *
 * Two parts, one after the other, in one VM boot (tools/vm/run runs this
 * with cport.ko loaded, then unloads it and scans kmemleak):
 *
 *   storm  -k processes in waves of -w, each with ops of every kind in
 *          flight on its ports (storm.c), each SIGKILLed at a random
 *          moment; after each wave the module's reference count must come
 *          back to what it was (no port left behind) and the processes'
 *          private clusters must be gone.
 *   once   -p processes x -t threads submitting (under a shared lock),
 *          posting and reaping (CPORT_IOC_GETQ) on two shared ports, one
 *          inherited through fork, one passed over a unix socket
 *          (once.c); every op has a unique user_data and its terminal CQE
 *          must be seen exactly once, also when it is cancelled or times
 *          out.
 *
 * The last line is
 *   soak: guest: <n> processes killed, <m> ops, <l> lost, <d> duplicated,
 *         <x> leaks
 * and the status is 0 only if l, d, x and every other error count are 0.
 * tools/soak/soak-summary adds the kmemleak result on the host.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "soak.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int soak_verbose;

uint64_t soak_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void soak_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* xorshift64*: each process and thread has its own state. */
uint64_t soak_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Zeroed memory shared with the processes forked later. */
void *soak_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * References to cport.ko: one per open port file (its fops own the
 * module) and per pool thread registration. -1 if unknown.
 */
int soak_module_refs(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/sys/module/cport/refcnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoi(buf);
}

/*
 * Wait up to @timeout_ms for the module's references to drop to @want:
 * the last fput of a port may be deferred to a worker. Returns the count
 * last seen.
 */
int soak_wait_refs(int want, unsigned int timeout_ms)
{
	uint64_t end = soak_now_ns() + timeout_ms * 1000000ULL;
	int refs;

	for (;;) {
		refs = soak_module_refs();
		if (refs <= want || soak_now_ns() > end)
			return refs;
		soak_sleep_ns(10000000);
	}
}

/* One "key:\tvalue" line of /proc/self/fdinfo/@fd: 0, or -1. */
int soak_fdinfo(int fd, const char *key, long long *val)
{
	char path[64], line[128];
	size_t len = strlen(key);
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			*val = strtoll(line + len + 1, NULL, 0);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

void soak_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("soak: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: soak [-k KILLS] [-w WAVE] [-p PROCS] [-t THREADS]\n"
		"            [-g GROUPS] [-s SEED] [-v] [storm|once]...\n"
		"  -k  kill storm: processes in all (default 1000)\n"
		"  -w  processes forked and killed per wave (default 20)\n"
		"  -p  exactly-once: processes sharing the ports (default 4)\n"
		"  -t  threads per process (default 4)\n"
		"  -g  op groups each thread submits (default 400)\n"
		"  -s  random seed (default: from the clock, printed)\n"
		"  -v  say more\n"
		"Without a part name both run, storm first.\n");
	exit(2);
}

static unsigned int opt_uint(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v > 1000000)
		usage();
	return (unsigned int)v;
}

int main(int argc, char **argv)
{
	struct soak_opts o = {
		.kills = 1000, .wave = 20, .procs = 4, .threads = 4,
		.groups = 400,
	};
	struct soak_result r = { 0 };
	bool storm = false, once = false, seeded = false;
	uint64_t start = soak_now_ns();
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "k:w:p:t:g:s:v")) != -1) {
		switch (opt) {
		case 'k': o.kills = opt_uint(optarg); break;
		case 'w': o.wave = opt_uint(optarg); break;
		case 'p': o.procs = opt_uint(optarg); break;
		case 't': o.threads = opt_uint(optarg); break;
		case 'g': o.groups = opt_uint(optarg); break;
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'v': o.verbose++; break;
		default: usage();
		}
	}
	for (; optind < argc; optind++) {
		if (!strcmp(argv[optind], "storm"))
			storm = true;
		else if (!strcmp(argv[optind], "once"))
			once = true;
		else
			usage();
	}
	if (!storm && !once)
		storm = once = true;
	if (!o.wave || !o.procs || !o.threads || o.procs > 64 ||
	    o.threads > 64)
		usage();
	if (!seeded)
		o.seed = soak_now_ns() ^ ((uint64_t)getpid() << 32);
	soak_verbose = o.verbose;
	setvbuf(stdout, NULL, _IOLBF, 0);
	soak_log("seed %#llx; storm: %u processes in waves of %u; "
		 "exactly-once: %u processes x %u threads x %u groups",
		 (unsigned long long)o.seed, storm ? o.kills : 0, o.wave,
		 once ? o.procs : 0, o.threads, o.groups);

	if (soak_module_refs() < 0) {
		soak_log("FAIL: /sys/module/cport/refcnt: cport.ko not loaded?");
		return 1;
	}
	if (storm && soak_storm(&o, &r))
		status = 1;
	if (once && soak_once(&o, &r))
		status = 1;
	if (r.lost || r.dups || r.ghosts || r.leaks || r.errors)
		status = 1;

	soak_log("%.1f s; %llu unexpected CQEs, %llu other errors",
		 (soak_now_ns() - start) / 1e9, (unsigned long long)r.ghosts,
		 (unsigned long long)r.errors);
	soak_log("guest: %llu processes killed, %llu ops, %llu lost, "
		 "%llu duplicated, %llu leaks",
		 (unsigned long long)r.killed, (unsigned long long)r.ops,
		 (unsigned long long)r.lost, (unsigned long long)r.dups,
		 (unsigned long long)r.leaks);
	return status;
}
