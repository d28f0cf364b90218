// SPDX-License-Identifier: MIT
/*
 * libcport: provided buffer rings (CPORT_REGISTER_BUF_RING), the buffers
 * that socket receives with CPORT_SQE_F_BUFFER_SELECT take when data
 * arrives. The socket prep helpers are inline in <cport.h>.
 *
 * A ring is user memory: a struct cport_buf_ring header and a power of two
 * of struct cport_buf_entry. cport_setup_buf_ring() takes whole pages of
 * private anonymous memory for it, so the ring shares no page with other
 * data and is 8-byte aligned as the kernel requires.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stdint.h>

#include <cport.h>

#include "syscall.h"

static int __cport_buf_ring_ioctl(struct cport *port, unsigned int op,
				  const struct cport_buf_reg *reg)
{
	struct cport_register r = {
		.op	= op,
		.nr	= 0,
		.data	= (uint64_t)(uintptr_t)reg,
	};

	return __cport_sys_ioctl(port->ring_fd, CPORT_IOC_REGISTER, &r);
}

static bool __cport_buf_ring_entries_ok(unsigned int entries)
{
	return entries && entries <= CPORT_BUF_RING_MAX_ENTRIES &&
	       !(entries & (entries - 1));
}

/* Bytes mapped for a ring of @entries: whole pages. */
static size_t __cport_buf_ring_size(unsigned int entries)
{
	int saved = errno;
	long page = sysconf(_SC_PAGESIZE);
	size_t size = sizeof(struct cport_buf_ring) +
		      (size_t)entries * sizeof(struct cport_buf_entry);

	errno = saved;
	if (page <= 0)
		page = 4096;
	return (size + (size_t)page - 1) & ~((size_t)page - 1);
}

/**
 * cport_register_buf_ring() - register a provided buffer ring
 * @port: the port.
 * @reg: the ring (@ring_addr, @ring_entries), its group (@bgid); @flags
 *       and @resv 0. The struct may be reused on return; the ring may not.
 *
 * Context: any thread.
 * Return: 0 or -errno: -EINVAL (bad size, alignment, group or reserved
 * field; a module without CPORT_FEAT_NET), -EFAULT, -EEXIST (the group is
 * registered).
 */
int cport_register_buf_ring(struct cport *port,
			    const struct cport_buf_reg *reg)
{
	return __cport_buf_ring_ioctl(port, CPORT_REGISTER_BUF_RING, reg);
}

/**
 * cport_unregister_buf_ring() - unregister a provided buffer group
 * @port: the port.
 * @bgid: the group.
 *
 * Ops already using the group finish with it; the ring's memory is the
 * caller's to free.
 *
 * Context: any thread.
 * Return: 0 or -errno: -ENOENT (the group is not registered), -EINVAL.
 */
int cport_unregister_buf_ring(struct cport *port, unsigned int bgid)
{
	struct cport_buf_reg reg;

	/* The kernel's bgid is 16 bits: never let a group wrap to another. */
	if (bgid > UINT16_MAX)
		return -EINVAL;
	memset(&reg, 0, sizeof(reg));
	reg.bgid = (uint16_t)bgid;
	return __cport_buf_ring_ioctl(port, CPORT_UNREGISTER_BUF_RING, &reg);
}

/**
 * cport_setup_buf_ring() - map, initialise and register a buffer ring
 * @port: the port.
 * @entries: entries of the ring, a power of two, 1 to
 *           CPORT_BUF_RING_MAX_ENTRIES.
 * @bgid: the buffer group, below CPORT_BUF_GROUPS_MAX.
 * @err: if not NULL, set to 0, or to -errno when NULL is returned.
 *
 * The ring is empty: add buffers with cport_buf_ring_add() and
 * cport_buf_ring_advance().
 *
 * Context: any thread.
 * Return: the ring, or NULL: -EINVAL (@entries, @bgid), -ENOMEM, or an
 * error of cport_register_buf_ring() (nothing is left mapped).
 */
__cport_cold struct cport_buf_ring *
cport_setup_buf_ring(struct cport *port, unsigned int entries,
		     unsigned int bgid, int *err)
{
	struct cport_buf_ring *br = NULL;
	struct cport_buf_reg reg;
	size_t size;
	int ret = -EINVAL;

	if (!__cport_buf_ring_entries_ok(entries) || bgid > UINT16_MAX)
		goto out;
	size = __cport_buf_ring_size(entries);
	br = __cport_sys_mmap_anon(size, &ret);
	if (!br)
		goto out;
	cport_buf_ring_init(br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = entries;
	reg.bgid = (uint16_t)bgid;
	ret = cport_register_buf_ring(port, &reg);
	if (ret) {
		__cport_sys_munmap(br, size);
		br = NULL;
	}
out:
	if (err)
		*err = ret;
	return br;
}

/**
 * cport_free_buf_ring() - unregister and unmap a cport_setup_buf_ring() ring
 * @port: the port.
 * @br: the ring.
 * @entries: @entries given to cport_setup_buf_ring().
 * @bgid: @bgid given to cport_setup_buf_ring().
 *
 * The ring is unmapped once the kernel no longer has it: after the
 * unregister, or when it fails with -ENOENT (not registered), -EBADF or
 * -EBADFD (the port is closed or not set up, so nothing is registered).
 * After any other error the ring stays mapped and registered: the kernel
 * could still write where it was.
 *
 * Context: any thread.
 * Return: 0, or -errno: -EINVAL (@br NULL, bad @entries or @bgid; nothing
 * done), or the error of cport_unregister_buf_ring().
 */
__cport_cold int cport_free_buf_ring(struct cport *port,
				     struct cport_buf_ring *br,
				     unsigned int entries, unsigned int bgid)
{
	int ret;

	if (!br || !__cport_buf_ring_entries_ok(entries) || bgid > UINT16_MAX)
		return -EINVAL;
	ret = cport_unregister_buf_ring(port, bgid);
	if (ret && ret != -ENOENT && ret != -EBADF && ret != -EBADFD)
		return ret;
	__cport_sys_munmap(br, __cport_buf_ring_size(entries));
	return ret;
}
