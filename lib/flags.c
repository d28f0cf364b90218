// SPDX-License-Identifier: MIT
/*
 * libcport: event flags (CPORT_IOC_FLAGS), named common clusters
 * (CPORT_IOC_CLUSTER), and the composite wait for a CQE or a flag condition
 * (CPORT_IOC_ENTER with CPORT_ENTER_FLAGS).
 *
 * Each call but the composite wait is one ioctl and touches no ring, so
 * they are thread-safe. The local cluster can also be read without a system
 * call, from the flag page: cport_flags_local() in <cport.h>.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "queue.h"
#include "syscall.h"

/* The wait flags the caller may pass; CPORT_FLAG_WAIT_TIMEOUT is ours. */
#define CPORT_FLAG_WAIT_USER	(CPORT_FLAG_WAIT_ALL | \
				 CPORT_FLAG_WAIT_CONSUME)
/* Likewise for the composite wait: CPORT_ENTER_FLAGS and _TIMEOUT are ours. */
#define CPORT_ENTER_FLAGS_USER	(CPORT_ENTER_FLAGS_ALL | \
				 CPORT_ENTER_FLAGS_CONSUME)

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

/*
 * Copy @name into @c: -EINVAL if it is NULL or longer than
 * CPORT_CLUSTER_NAME_MAX. The kernel checks the rest (empty, characters).
 */
static int __cport_cluster_name(struct cport_cluster *c, const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, CPORT_CLUSTER_NAME_MAX + 1);
	if (len > CPORT_CLUSTER_NAME_MAX)
		return -EINVAL;
	memcpy(c->name, name, len);
	return 0;
}

/**
 * cport_cluster_assoc() - associate a named common cluster (OpenVMS $ASCEFC)
 * @port: the port.
 * @name: the cluster's name, 1 to 63 characters of [A-Za-z0-9_.$-].
 * @flags: CPORT_CLUSTER_CREATE, _EXCL, _PERMANENT, _RDONLY.
 * @mode: with CPORT_CLUSTER_CREATE, permission bits (0 to 0777) of a
 *        cluster this call creates; else 0.
 * @cluster: set to the handle, 1 to CPORT_CLUSTER_MAX, on success only.
 *
 * Context: thread-safe.
 * Return: 1 if the call created the cluster, 0 if it existed, or -errno.
 */
int cport_cluster_assoc(struct cport *port, const char *name,
			unsigned int flags, unsigned int mode,
			unsigned int *cluster)
{
	struct cport_cluster c = {
		.op	= CPORT_CLUSTER_ASSOC,
		.flags	= flags,
		.mode	= mode,
	};
	int ret;

	if (!cluster)
		return -EFAULT;
	ret = __cport_cluster_name(&c, name);
	if (ret)
		return ret;
	ret = __cport_sys_ioctl(port->ring_fd, CPORT_IOC_CLUSTER, &c);
	if (ret >= 0)
		*cluster = c.cluster;
	return ret;
}

/**
 * cport_cluster_disassoc() - drop a common cluster's handle ($DACEFC)
 * @port: the port.
 * @cluster: a handle from cport_cluster_assoc().
 *
 * The cluster goes away with its last association, unless it is permanent.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_cluster_disassoc(struct cport *port, unsigned int cluster)
{
	struct cport_cluster c = {
		.op		= CPORT_CLUSTER_DISASSOC,
		.cluster	= cluster,
	};

	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_CLUSTER, &c);
}

/**
 * cport_cluster_delete() - remove a common cluster's name ($DLCEFC)
 * @port: any port; the cluster need not be associated with it.
 * @name: the cluster's name.
 *
 * Ports that have the cluster associated keep it until they disassociate.
 *
 * Context: thread-safe.
 * Return: 0 or -errno.
 */
int cport_cluster_delete(struct cport *port, const char *name)
{
	struct cport_cluster c = {
		.op	= CPORT_CLUSTER_DELETE,
	};
	int ret = __cport_cluster_name(&c, name);

	if (ret)
		return ret;
	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_CLUSTER, &c);
}

/*
 * One CPORT_IOC_ENTER with a flag condition and min_complete 1; the _IOWR
 * number, as ef_result comes back.
 */
static int __cport_enter_flags(struct cport *port, unsigned int to_submit,
			       unsigned int cluster, uint64_t mask,
			       unsigned int flags, bool timed,
			       uint64_t timeout_ns, uint64_t *got)
{
	struct cport_enter e = {
		.to_submit	= to_submit,
		.min_complete	= 1,
		.flags		= CPORT_ENTER_FLAGS | flags |
				  (timed ? CPORT_ENTER_TIMEOUT : 0),
		.ef_cluster	= cluster,
		.timeout_ns	= timeout_ns,
		.ef_mask	= mask,
	};
	int ret = __cport_sys_ioctl(port->ring_fd, CPORT_IOC_ENTER, &e);

	*got = e.ef_result;
	return ret;
}

/**
 * cport_wait_cqe_flags() - submit, then wait for a CQE or a flag condition
 * @port: the port.
 * @cqe_ptr: set to the oldest CQE when one is ready, else NULL.
 * @cluster: 0: the local cluster; else a cport_cluster_assoc() handle.
 * @mask: the flags of the condition, not 0.
 * @flags: CPORT_ENTER_FLAGS_ALL (all of @mask, not any),
 *         CPORT_ENTER_FLAGS_CONSUME (clear what satisfied the condition).
 * @timeout_ns: relative limit; 0: do not sleep; negative (CPORT_INFINITE):
 *              no limit.
 * @result: if not NULL, set to the flags that satisfied the condition (those
 *          cleared, with CONSUME), 0 if it did not end the wait.
 *
 * Submits the pending SQEs, as cport_submit_and_wait() does; when the CQ
 * has no slot for them (-EBUSY) they stay pending, for a later call, and
 * the wait goes on without them: the CQ is full, so it ends at once.
 *
 * Context: SQ side and single-consumer CQ side, both.
 * Return: CPORT_WAKE_CQE and/or CPORT_WAKE_FLAGS; -ETIME, -EINTR, or
 * -errno.
 */
int cport_wait_cqe_flags(struct cport *port, struct cport_cqe **cqe_ptr,
			 unsigned int cluster, uint64_t mask,
			 unsigned int flags, int64_t timeout_ns,
			 uint64_t *result)
{
	bool timed = timeout_ns >= 0;
	uint64_t deadline = timed ? __cport_deadline(timeout_ns) : 0;
	unsigned int to_submit;
	uint64_t got = 0;
	int ret, wake;

	*cqe_ptr = NULL;
	if (result)
		*result = 0;
	if (flags & ~CPORT_ENTER_FLAGS_USER)
		return -EINVAL;

	to_submit = __cport_flush_sq(port);
	for (;;) {
		uint64_t rem = timed ? __cport_remaining(deadline) : 0;

		ret = __cport_enter_flags(port, to_submit, cluster, mask, flags,
					  timed, rem, &got);
		if (ret == -EBUSY && to_submit) {
			to_submit = 0;
			continue;
		}
		if (ret < 0 && ret != -ETIME)
			return ret;

		/* With one consumer, a CQE the kernel saw is still there. */
		wake = cport_peek_cqe(port, cqe_ptr) ? 0 : CPORT_WAKE_CQE;
		if (got)
			wake |= CPORT_WAKE_FLAGS;
		if (wake) {
			if (result)
				*result = got;
			return wake;
		}
		if (ret == -ETIME || (timed && !__cport_remaining(deadline)))
			return -ETIME;
		/*
		 * With SQEs consumed, the kernel returns their number even
		 * when the wait that followed was interrupted: neither
		 * condition holds and time is left, so a signal came.
		 */
		if (ret > 0)
			return -EINTR;
		/* Woken for nothing we can see: wait again. */
		to_submit = 0;
	}
}
