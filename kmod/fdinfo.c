// SPDX-License-Identifier: GPL-2.0
/*
 * cport: /proc/<pid>/fdinfo/<fd> of a port.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/jiffies.h>

#include "cport_priv.h"
#include "fdinfo.h"
#include "pool.h"
#include "register.h"

/* At most this many lines of each list: fdinfo stays small. */
#define CPORT_FDINFO_LIST_MAX	16

/*
 * The ops in flight that outlive their submission, oldest first: opcode
 * (CPORT_OP_LAST for a chain or the deferred SQEs), user_data, age in
 * milliseconds. Context: process context.
 */
static void cport_fdinfo_inflight(struct seq_file *m, struct cport_port *port)
{
	unsigned long now = jiffies;
	struct cport_req *req;
	unsigned int n = 0;

	spin_lock_irq(&port->cq_lock);
	list_for_each_entry(req, &port->inflight_list, node) {
		if (n++ < CPORT_FDINFO_LIST_MAX)
			seq_printf(m, "op:\t%u %#llx %u\n", req->opcode,
				   req->user_data,
				   jiffies_to_msecs(now - req->since));
	}
	spin_unlock_irq(&port->cq_lock);
	if (n > CPORT_FDINFO_LIST_MAX)
		seq_printf(m, "op_more:\t%u\n", n - CPORT_FDINFO_LIST_MAX);
}

/*
 * The registered buffers (index, address, length) and files (index,
 * path). Only if ->submit_lock is free: it is held while cancelling,
 * which waits for workers, and a worker may be reading this very
 * seq_file; then "registered: busy". Context: process context.
 */
static void cport_fdinfo_registered(struct seq_file *m,
				    struct cport_port *port)
{
	struct cport_buf_table *bt;
	struct cport_file_table *ft;
	unsigned int i;

	if (!mutex_trylock(&port->submit_lock)) {
		seq_puts(m, "registered:\tbusy\n");
		return;
	}
	bt = port->bufs;
	for (i = 0; bt && i < bt->nr && i < CPORT_FDINFO_LIST_MAX; i++)
		seq_printf(m, "buf:\t%u %#llx %llu\n", i, bt->bufs[i].ubase,
			   bt->bufs[i].len);
	ft = port->files;
	for (i = 0; ft && i < ft->nr && i < CPORT_FDINFO_LIST_MAX; i++) {
		if (!ft->files[i])
			continue;
		seq_printf(m, "file:\t%u ", i);
		seq_file_path(m, ft->files[i], " \t\n\\");
		seq_putc(m, '\n');
	}
	mutex_unlock(&port->submit_lock);
}

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

	seq_printf(m, "id:\t%llu\n", port->id);
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
	cport_fdinfo_inflight(m, port);
	cport_fdinfo_registered(m, port);
flags:
	seq_printf(m, "ef_local:\t%#llx\n", cport_efc_read(&port->efc_local));
	/* The associated clusters: handle, name, rw or ro. */
	spin_lock_irq(&port->cq_lock);
	for (i = 1; i <= CPORT_CLUSTER_MAX; i++) {
		if (!port->efcs[i].efc)
			continue;
		clusters++;
		seq_printf(m, "cluster:\t%u %s %s\n", i,
			   port->efcs[i].efc->name,
			   port->efcs[i].write ? "rw" : "ro");
	}
	spin_unlock_irq(&port->cq_lock);
	seq_printf(m, "ef_clusters:\t%u\n", clusters);
	/* Set once (restrict.c): the three fields are stable after. */
	if (smp_load_acquire(&port->restricted))
		seq_printf(m, "restrict_ops:\t%#llx\nrestrict_sqe_flags:\t%#x\nrestrict_ioctls:\t%#llx\n",
			   port->restrict_ops, port->restrict_sqe_flags,
			   port->restrict_ioctls);
}
