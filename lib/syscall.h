/* SPDX-License-Identifier: MIT */
/*
 * Internal system call wrappers of libcport. Each returns the result or
 * -errno, and leaves errno as it found it: the library never sets errno.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_LIB_SYSCALL_H
#define CPORT_LIB_SYSCALL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define __cport_cold	__attribute__((cold))

static inline int __cport_sys_open(const char *path, int flags)
{
	int saved = errno;
	int ret = open(path, flags);

	if (ret < 0)
		ret = -errno;
	errno = saved;
	return ret;
}

static inline void __cport_sys_close(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

static inline int __cport_sys_ioctl(int fd, unsigned long req, void *arg)
{
	int saved = errno;
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		ret = -errno;
	errno = saved;
	return ret;
}

/* Returns the shared mapping, or NULL with *err set to -errno. */
static inline void *__cport_sys_mmap(size_t len, int prot, int fd, off_t off,
				     int *err)
{
	int saved = errno;
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	if (p == MAP_FAILED) {
		*err = -errno;
		p = NULL;
	}
	errno = saved;
	return p;
}

/* Private anonymous memory, zeroed; or NULL with *err set to -errno. */
static inline void *__cport_sys_mmap_anon(size_t len, int *err)
{
	int saved = errno;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		*err = -errno;
		p = NULL;
	}
	errno = saved;
	return p;
}

static inline void __cport_sys_munmap(void *addr, size_t len)
{
	int saved = errno;

	munmap(addr, len);
	errno = saved;
}

/* CLOCK_MONOTONIC in ns: the clock of the relative ENTER timeouts. */
static inline uint64_t __cport_now_ns(void)
{
	int saved = errno;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	errno = saved;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif /* CPORT_LIB_SYSCALL_H */
