// SPDX-License-Identifier: MIT
/*
 * libcport: registered buffers and files (CPORT_IOC_REGISTER).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "syscall.h"

static int __cport_register(struct cport *port, unsigned int op,
			    const void *data, unsigned int nr)
{
	struct cport_register r = {
		.op	= op,
		.nr	= nr,
		.data	= (uint64_t)(uintptr_t)data,
	};

	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_REGISTER, &r);
}

/**
 * cport_register_buffers() - pin buffers for CPORT_OP_READ_FIXED/_WRITE_FIXED
 * @port: the port.
 * @iovecs: the buffers; the array may be reused on return.
 * @nr: number of buffers, 1 to CPORT_REGISTER_MAX_BUFFERS.
 *
 * Context: any thread; concurrent registrations of one port fail with
 * -EBUSY but one.
 * Return: 0 or -errno.
 */
int cport_register_buffers(struct cport *port, const struct iovec *iovecs,
			   unsigned int nr)
{
	return __cport_register(port, CPORT_REGISTER_BUFFERS, iovecs, nr);
}

/**
 * cport_unregister_buffers() - drop the registered buffers
 * @port: the port.
 *
 * Ops in flight that use them keep their pages until they complete.
 *
 * Context: any thread.
 * Return: 0 or -errno (-ENXIO: none registered).
 */
int cport_unregister_buffers(struct cport *port)
{
	return __cport_register(port, CPORT_UNREGISTER_BUFFERS, NULL, 0);
}

/**
 * cport_register_files() - register files for CPORT_SQE_F_FIXED_FILE
 * @port: the port.
 * @fds: file descriptors, -1 for an empty slot; the port keeps its own
 *       references, the descriptors may be closed on return.
 * @nr: number of slots, 1 to CPORT_REGISTER_MAX_FILES.
 *
 * Context: any thread.
 * Return: 0 or -errno.
 */
int cport_register_files(struct cport *port, const int *fds, unsigned int nr)
{
	return __cport_register(port, CPORT_REGISTER_FILES, fds, nr);
}

/**
 * cport_unregister_files() - drop the registered files
 * @port: the port.
 *
 * Context: any thread.
 * Return: 0 or -errno (-ENXIO: none registered).
 */
int cport_unregister_files(struct cport *port)
{
	return __cport_register(port, CPORT_UNREGISTER_FILES, NULL, 0);
}
