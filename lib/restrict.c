// SPDX-License-Identifier: MIT
/*
 * libcport: CPORT_IOC_RESTRICT, a port's allowlist of opcodes, SQE flags
 * and ioctls, for good.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>

#include <cport.h>

#include "syscall.h"

/**
 * cport_restrict() - lock a port to an allowlist, for good
 * @port: the port.
 * @r: the allowed opcodes (CPORT_RESTRICT_OP()), SQE flags and ioctls
 *     (CPORT_RESTRICT_IOCTL()); reserved fields 0.
 *
 * Context: any thread.
 * Return: 0, or -errno (-EBUSY: restricted already; -EINVAL: unknown bits).
 */
int cport_restrict(struct cport *port, const struct cport_restrict *r)
{
	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_RESTRICT,
				 (void *)r);
}
