// SPDX-License-Identifier: MIT
/*
 * libcport: the raw CPORT_IOC_ENTER call.
 *
 * cport_enter() cannot ask for a flag condition (CPORT_ENTER_FLAGS needs
 * ef_mask), so it never needs the result written back: it uses
 * CPORT_IOC_ENTER_V1, the _IOW number that modules from before event flags
 * know too, and later ones keep accepting. cport_wait_cqe_flags() uses the
 * _IOWR CPORT_IOC_ENTER.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "syscall.h"

/**
 * cport_enter() - submit SQEs and/or wait for CQEs (CPORT_IOC_ENTER_V1)
 * @fd: the port.
 * @to_submit: number of published SQEs to consume.
 * @min_complete: wait until this many CQEs are in the CQ ring (0: no wait).
 * @flags: CPORT_ENTER_TIMEOUT or 0 (CPORT_ENTER_FLAGS: -EINVAL).
 * @timeout_ns: with CPORT_ENTER_TIMEOUT, relative limit of the wait.
 *
 * Context: thread-safe when @to_submit is 0; submitting needs the SQ side to
 * be single-threaded.
 * Return: the number of SQEs consumed if positive, else 0 or -errno.
 */
int cport_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		unsigned int flags, uint64_t timeout_ns)
{
	struct cport_enter e = {
		.to_submit	= to_submit,
		.min_complete	= min_complete,
		.flags		= flags,
		.timeout_ns	= timeout_ns,
	};

	return __cport_sys_ioctl(fd, CPORT_IOC_ENTER_V1, &e);
}
