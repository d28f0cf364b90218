// SPDX-License-Identifier: GPL-2.0
/*
 * cport: /proc/<pid>/fdinfo/<fd> of a port.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_priv.h"
#include "fdinfo.h"
#include "pool.h"

/**
 * cport_show_fdinfo() - print the state of a port
 * @m: the seq_file.
 * @file: the port file.
 *
 * Context: process context.
 */
void cport_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct cport_port *port = file->private_data;
	u32 sq_head, sq_tail, cq_head, cq_tail, inflight, reserved;
	unsigned int bufs, files, i, clusters = 0;
	u64 posted, posted_irq, overflow;

	if (!cport_port_ready(port)) {
		seq_puts(m, "sq_entries:\t0\ncq_entries:\t0\n");
		goto flags;
	}

	/* The kernel's own SQ head; the shared one may have been scribbled. */
	sq_head = READ_ONCE(port->sq_head);
	sq_tail = READ_ONCE(port->sq->tail);
	cq_head = READ_ONCE(port->cq->head);
	spin_lock_irq(&port->cq_lock);
	cq_tail = port->cq_tail;
	inflight = port->inflight;
	reserved = port->cq_reserved;
	posted = port->posted;
	posted_irq = port->posted_irq;
	overflow = port->overflow;
	spin_unlock_irq(&port->cq_lock);
	/*
	 * Not ->submit_lock: it is held while cancelling, which waits for
	 * workers, and a worker may be reading this very seq_file.
	 */
	bufs = READ_ONCE(port->nr_bufs);
	files = READ_ONCE(port->nr_files);

	seq_printf(m, "sq_entries:\t%u\n", port->sq_entries);
	seq_printf(m, "cq_entries:\t%u\n", port->cq_entries);
	seq_printf(m, "sq_head:\t%u\n", sq_head);
	seq_printf(m, "sq_tail:\t%u\n", sq_tail);
	seq_printf(m, "cq_head:\t%u\n", cq_head);
	seq_printf(m, "cq_tail:\t%u\n", cq_tail);
	seq_printf(m, "inflight:\t%u\n", inflight);
	seq_printf(m, "reserved:\t%u\n", reserved);
	seq_printf(m, "posted:\t%llu\n", posted);
	seq_printf(m, "posted_irq:\t%llu\n", posted_irq);
	seq_printf(m, "overflow:\t%llu\n", overflow);
	seq_printf(m, "waiters:\t%d\n", atomic_read(&port->nr_waiters));
	seq_printf(m, "buffers:\t%u\n", bufs);
	seq_printf(m, "files:\t%u\n", files);
	seq_printf(m, "sig_queued:\t%lld\n",
		   (long long)atomic64_read(&port->sig_queued));
	seq_printf(m, "sig_lost:\t%lld\n",
		   (long long)atomic64_read(&port->sig_lost));
	cport_pool_show_fdinfo(m, port);
flags:
	spin_lock_irq(&port->cq_lock);
	for (i = 1; i <= CPORT_CLUSTER_MAX; i++)
		clusters += !!port->efcs[i].efc;
	spin_unlock_irq(&port->cq_lock);
	seq_printf(m, "ef_local:\t%#llx\n", cport_efc_read(&port->efc_local));
	seq_printf(m, "ef_clusters:\t%u\n", clusters);
	/* Set once (restrict.c): the three fields are stable after. */
	if (smp_load_acquire(&port->restricted))
		seq_printf(m, "restrict_ops:\t%#llx\nrestrict_sqe_flags:\t%#x\nrestrict_ioctls:\t%#llx\n",
			   port->restrict_ops, port->restrict_sqe_flags,
			   port->restrict_ioctls);
}
