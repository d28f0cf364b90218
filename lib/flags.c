// SPDX-License-Identifier: MIT
/*
 * libcport: event flags (CPORT_IOC_FLAGS).
 *
 * Each call is one ioctl and touches no ring, so all are thread-safe. The
 * local cluster can also be read without a system call, from the flag
 * page: cport_flags_local() in <cport.h>.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "syscall.h"

/* The wait flags the caller may pass; CPORT_FLAG_WAIT_TIMEOUT is ours. */
#define CPORT_FLAG_WAIT_USER	(CPORT_FLAG_WAIT_ALL | \
				 CPORT_FLAG_WAIT_CONSUME)

static int __cport_flags(int fd, struct cport_flags *f)
{
	return __cport_sys_ioctl(fd, CPORT_IOC_FLAGS, f);
}

static int __cport_flag_change(int fd, unsigned int op, unsigned int cluster,
			       unsigned int bit)
{
	struct cport_flags f = {
		.op		= op,
		.cluster	= cluster,
		.bit		= bit,
	};

	return __cport_flags(fd, &f);
}

/**
 * cport_flag_set_fd() - set an event flag of any port (CPORT_FLAGS_SET)
 * @port_fd: an fd of the port (its own, a dup, or received by SCM_RIGHTS);
 *           it need not be set up.
 * @cluster: 0: the port's local cluster; else a handle of that port.
 * @bit: the flag, 0 to 63.
 *
 * Context: thread-safe.
 * Return: the flag's previous state, 0 or 1, or -errno.
 */
int cport_flag_set_fd(int port_fd, unsigned int cluster, unsigned int bit)
{
	return __cport_flag_change(port_fd, CPORT_FLAGS_SET, cluster, bit);
}

/**
 * cport_flag_clear_fd() - clear an event flag of any port (CPORT_FLAGS_CLEAR)
 * @port_fd: as for cport_flag_set_fd().
 * @cluster: as for cport_flag_set_fd().
 * @bit: the flag, 0 to 63.
 *
 * Context: thread-safe.
 * Return: the flag's previous state, 0 or 1, or -errno.
 */
int cport_flag_clear_fd(int port_fd, unsigned int cluster, unsigned int bit)
{
	return __cport_flag_change(port_fd, CPORT_FLAGS_CLEAR, cluster, bit);
}

/**
 * cport_flag_set() - set an event flag of @port
 * @port: the port.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @bit: the flag, 0 to 63.
 *
 * Context: thread-safe.
 * Return: the flag's previous state, 0 or 1, or -errno.
 */
int cport_flag_set(struct cport *port, unsigned int cluster, unsigned int bit)
{
	return cport_flag_set_fd(port->ring_fd, cluster, bit);
}

/**
 * cport_flag_clear() - clear an event flag of @port
 * @port: the port.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @bit: the flag, 0 to 63.
 *
 * Context: thread-safe.
 * Return: the flag's previous state, 0 or 1, or -errno.
 */
int cport_flag_clear(struct cport *port, unsigned int cluster,
		     unsigned int bit)
{
	return cport_flag_clear_fd(port->ring_fd, cluster, bit);
}

/**
 * cport_flag_read() - read the 64 flags of a cluster (CPORT_FLAGS_READ)
 * @port: the port.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @flags: set to the cluster (flag n is bit n); to 0 on failure.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_flag_read(struct cport *port, unsigned int cluster, uint64_t *flags)
{
	struct cport_flags f = {
		.op		= CPORT_FLAGS_READ,
		.cluster	= cluster,
	};
	int ret;

	if (!flags)
		return -EFAULT;
	ret = __cport_flags(port->ring_fd, &f);
	*flags = ret < 0 ? 0 : f.result;
	return ret < 0 ? ret : 0;
}

/**
 * cport_flag_wait() - wait for any or all of a set of flags
 * @port: the port.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @mask: the flags waited for, not 0.
 * @flags: CPORT_FLAG_WAIT_ALL (all of @mask, not any),
 *         CPORT_FLAG_WAIT_CONSUME (clear what satisfied the wait).
 * @timeout_ns: relative limit; 0: do not sleep; negative (CPORT_INFINITE):
 *              no limit.
 * @result: if not NULL, set to the flags of @mask that satisfied the wait
 *          (those cleared, with CONSUME); to 0 on failure.
 *
 * Context: thread-safe; sleeps.
 * Return: 0, -ETIME, -EINTR (never restarted), or -errno.
 */
int cport_flag_wait(struct cport *port, unsigned int cluster, uint64_t mask,
		    unsigned int flags, int64_t timeout_ns, uint64_t *result)
{
	struct cport_flags f = {
		.op		= CPORT_FLAGS_WAIT,
		.cluster	= cluster,
		.flags		= flags,
		.mask		= mask,
	};
	int ret = -EINVAL;

	if (flags & ~CPORT_FLAG_WAIT_USER)
		goto out;
	if (timeout_ns >= 0) {
		f.flags |= CPORT_FLAG_WAIT_TIMEOUT;
		f.timeout_ns = (uint64_t)timeout_ns;
	}
	ret = __cport_flags(port->ring_fd, &f);
out:
	if (result)
		*result = ret < 0 ? 0 : f.result;
	return ret < 0 ? ret : 0;
}

/**
 * cport_flag_poll_arm() - make poll() report EPOLLPRI on a flag condition
 * @port: the port.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @mask: the flags of the condition, not 0.
 * @flags: CPORT_FLAG_WAIT_ALL (all of @mask, not any), or 0.
 *
 * The port has one such condition; arming again replaces it.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_flag_poll_arm(struct cport *port, unsigned int cluster,
			uint64_t mask, unsigned int flags)
{
	struct cport_flags f = {
		.op		= CPORT_FLAGS_POLL_ARM,
		.cluster	= cluster,
		.flags		= flags,
		.mask		= mask,
	};

	return __cport_flags(port->ring_fd, &f);
}

/**
 * cport_flag_poll_disarm() - drop the condition of cport_flag_poll_arm()
 * @port: the port.
 *
 * Context: thread-safe.
 * Return: 0, -ENOENT if none is armed, or -errno.
 */
int cport_flag_poll_disarm(struct cport *port)
{
	struct cport_flags f = {
		.op		= CPORT_FLAGS_POLL_DISARM,
	};

	return __cport_flags(port->ring_fd, &f);
}
