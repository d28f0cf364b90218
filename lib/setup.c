// SPDX-License-Identifier: MIT
/*
 * libcport: opening, sizing, mapping and closing a port.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "syscall.h"

static void __cport_port_clear(struct cport *port)
{
	memset(port, 0, sizeof(*port));
	port->ring_fd = -1;
}

static bool __cport_is_pow2(unsigned int n)
{
	return n && !(n & (n - 1));
}

static size_t __cport_max(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Bytes of the SQ ring mapping: up to the end of its last index. */
static size_t __cport_sq_ring_size(const struct cport_sqring_offsets *o)
{
	size_t end = o->head;

	end = __cport_max(end, o->tail);
	end = __cport_max(end, o->ring_mask);
	end = __cport_max(end, o->ring_entries);
	end = __cport_max(end, o->flags);
	return end + sizeof(uint32_t);
}

/* Bytes of the CQ ring mapping: indices, then the CQE array. */
static size_t __cport_cq_ring_size(const struct cport_params *p)
{
	const struct cport_cqring_offsets *o = &p->cq_off;
	size_t end = o->head;

	end = __cport_max(end, o->tail);
	end = __cport_max(end, o->ring_mask);
	end = __cport_max(end, o->ring_entries);
	end = __cport_max(end, o->overflow);
	end = __cport_max(end, o->flags);
	end += sizeof(uint32_t);
	return __cport_max(end, o->cqes + (size_t)p->cq_entries *
					   sizeof(struct cport_cqe));
}

static void *__cport_at(void *base, uint32_t off)
{
	return (char *)base + off;
}

/* The rings: the library writes the SQEs, the SQ tail and the CQ head. */
static void *__cport_mmap_rw(size_t len, int fd, off_t off, int *err)
{
	return __cport_sys_mmap(len, PROT_READ | PROT_WRITE, fd, off, err);
}

/*
 * Map the flag page (read-only: only the kernel writes it). A module from
 * before event flags refuses the offset with EINVAL: the port works
 * without it, and cport_flags_local() reads 0.
 */
static int __cport_map_flag_page(int fd, struct cport *port)
{
	int ret = 0;

	port->flag_page = __cport_sys_mmap(sizeof(struct cport_flag_page),
					   PROT_READ, fd, CPORT_OFF_FLAGS,
					   &ret);
	return ret == -EINVAL ? 0 : ret;
}

static void __cport_unmap_flag_page(struct cport *port)
{
	if (port->flag_page)
		__cport_sys_munmap((void *)(uintptr_t)port->flag_page,
				   sizeof(struct cport_flag_page));
}

/**
 * cport_setup() - open /dev/cport and size its rings (CPORT_IOC_SETUP)
 * @entries: SQ entries wanted.
 * @p: in: flags and cq_entries (with CPORT_SETUP_CQSIZE), other fields 0;
 *     out: sizes, features and ring offsets.
 *
 * Context: any thread.
 * Return: the port's file descriptor (close-on-exec), or -errno.
 */
__cport_cold int cport_setup(unsigned int entries, struct cport_params *p)
{
	int fd, ret;

	if (!p)
		return -EFAULT;
	fd = __cport_sys_open(CPORT_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fd;
	p->sq_entries = entries;
	ret = __cport_sys_ioctl(fd, CPORT_IOC_SETUP, p);
	if (ret < 0) {
		__cport_sys_close(fd);
		return ret;
	}
	return fd;
}

/**
 * cport_queue_mmap() - map the rings of a set-up port into @port
 * @fd: a port set up with @p (cport_setup()); @port owns it on success.
 * @p: the parameters CPORT_IOC_SETUP returned for @fd.
 * @port: filled on success, cleared (ring_fd = -1) on failure.
 *
 * Context: any thread.
 * Return: 0 or -errno.
 */
__cport_cold int cport_queue_mmap(int fd, struct cport_params *p,
				  struct cport *port)
{
	struct cport_sq *sq = &port->sq;
	struct cport_cq *cq = &port->cq;
	int ret = 0;

	__cport_port_clear(port);
	if (!p)
		return -EFAULT;
	if (!__cport_is_pow2(p->sq_entries) || !__cport_is_pow2(p->cq_entries))
		return -EINVAL;

	sq->ring_sz = __cport_sq_ring_size(&p->sq_off);
	sq->ring_ptr = __cport_mmap_rw(sq->ring_sz, fd, CPORT_OFF_SQ_RING,
				       &ret);
	if (!sq->ring_ptr)
		goto err_clear;
	sq->sqes_sz = (size_t)p->sq_entries * sizeof(struct cport_sqe);
	sq->sqes = __cport_mmap_rw(sq->sqes_sz, fd, CPORT_OFF_SQES, &ret);
	if (!sq->sqes)
		goto err_unmap_sq_ring;
	cq->ring_sz = __cport_cq_ring_size(p);
	cq->ring_ptr = __cport_mmap_rw(cq->ring_sz, fd, CPORT_OFF_CQ_RING,
				       &ret);
	if (!cq->ring_ptr)
		goto err_unmap_sqes;
	ret = __cport_map_flag_page(fd, port);
	if (ret)
		goto err_unmap_cq_ring;

	sq->khead = __cport_at(sq->ring_ptr, p->sq_off.head);
	sq->ktail = __cport_at(sq->ring_ptr, p->sq_off.tail);
	sq->kflags = __cport_at(sq->ring_ptr, p->sq_off.flags);
	sq->ring_mask = p->sq_entries - 1;
	sq->ring_entries = p->sq_entries;
	/* Nobody else submits yet: start where the kernel is. */
	sq->sqe_tail = __cport_read_once(sq->ktail);
	sq->sqe_head = sq->sqe_tail;

	cq->khead = __cport_at(cq->ring_ptr, p->cq_off.head);
	cq->ktail = __cport_at(cq->ring_ptr, p->cq_off.tail);
	cq->kflags = __cport_at(cq->ring_ptr, p->cq_off.flags);
	cq->koverflow = __cport_at(cq->ring_ptr, p->cq_off.overflow);
	cq->cqes = __cport_at(cq->ring_ptr, p->cq_off.cqes);
	cq->ring_mask = p->cq_entries - 1;
	cq->ring_entries = p->cq_entries;

	/* The sizes in the rings must be the ones @p announced. */
	if (*(unsigned int *)__cport_at(sq->ring_ptr, p->sq_off.ring_entries) !=
	    p->sq_entries ||
	    *(unsigned int *)__cport_at(cq->ring_ptr, p->cq_off.ring_entries) !=
	    p->cq_entries) {
		ret = -EINVAL;
		goto err_unmap_flag_page;
	}

	port->flags = p->flags;
	port->features = p->features;
	port->concurrency = (p->features & CPORT_FEAT_CONCURRENCY) ?
			    p->concurrency : 0;
	port->ring_fd = fd;
	return 0;

err_unmap_flag_page:
	__cport_unmap_flag_page(port);
err_unmap_cq_ring:
	__cport_sys_munmap(cq->ring_ptr, cq->ring_sz);
err_unmap_sqes:
	__cport_sys_munmap(sq->sqes, sq->sqes_sz);
err_unmap_sq_ring:
	__cport_sys_munmap(sq->ring_ptr, sq->ring_sz);
err_clear:
	__cport_port_clear(port);
	return ret;
}

/**
 * cport_queue_init_params() - open, set up and map a port
 * @entries: SQ entries wanted.
 * @port: filled on success, cleared (ring_fd = -1) on failure.
 * @p: as for cport_setup().
 *
 * Context: any thread.
 * Return: 0 or -errno.
 */
__cport_cold int cport_queue_init_params(unsigned int entries,
					 struct cport *port,
					 struct cport_params *p)
{
	int fd, ret;

	fd = cport_setup(entries, p);
	if (fd < 0) {
		__cport_port_clear(port);
		return fd;
	}
	ret = cport_queue_mmap(fd, p, port);
	if (ret) {
		__cport_sys_close(fd);
		return ret;
	}
	return 0;
}

/**
 * cport_queue_init() - open, set up and map a port
 * @entries: SQ entries wanted.
 * @port: filled on success, cleared (ring_fd = -1) on failure.
 * @flags: CPORT_SETUP_* (CPORT_SETUP_CQSIZE needs cport_queue_init_params()).
 *
 * Context: any thread.
 * Return: 0 or -errno.
 */
__cport_cold int cport_queue_init(unsigned int entries, struct cport *port,
				  unsigned int flags)
{
	struct cport_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return cport_queue_init_params(entries, port, &p);
}

/**
 * cport_queue_exit() - unmap the rings and close the port's fd
 * @port: a port from cport_queue_init*() or cport_queue_mmap(); one that
 *        failed to set up, or was already exited, or is all zeroes, is left
 *        alone.
 *
 * Context: no other thread may use @port any more.
 */
__cport_cold void cport_queue_exit(struct cport *port)
{
	/*
	 * The three ring mappings exist, and the fd is ours, exactly when
	 * set-up succeeded; a cleared or zeroed struct (fd 0!) is left alone.
	 * The flag page may be missing (older module).
	 */
	if (!port->sq.ring_ptr)
		return;
	__cport_unmap_flag_page(port);
	__cport_sys_munmap(port->cq.ring_ptr, port->cq.ring_sz);
	__cport_sys_munmap(port->sq.sqes, port->sq.sqes_sz);
	__cport_sys_munmap(port->sq.ring_ptr, port->sq.ring_sz);
	__cport_sys_close(port->ring_fd);
	__cport_port_clear(port);
}
