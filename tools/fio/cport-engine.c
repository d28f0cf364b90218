// SPDX-License-Identifier: GPL-2.0
/*
 * cport-engine: an external fio ioengine that does its I/O through a cport
 * completion port (/dev/cport, libcport).
 *
 * Usage, with fio built from the same source tree as this engine (see
 * tools/fio/build-fio; fio checks FIO_IOOPS_VERSION when it loads it):
 *
 *	fio --ioengine=external:/path/to/cport-engine.so --iodepth=32 ...
 *
 * Each fio thread (job) has a port of its own, with an SQ of at least
 * iodepth entries. ->queue() prepares one SQE per io_u (CPORT_OP_READ,
 * _WRITE or _FSYNC; user_data is the io_u), ->commit() submits what was
 * queued, ->getevents() reaps CQEs into an array that ->event() reads.
 *
 * Back-pressure: the kernel reserves a CQ slot for every SQE it consumes
 * and stops with EBUSY when none is free. fio never has more than iodepth
 * io_us in flight and the CQ is at least as large as the SQ, so that only
 * happens if CQEs wait to be reaped; an SQE the kernel left behind stays
 * published in the SQ and goes with the next enter, which ->getevents()
 * always does before it waits.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "ioengines.h"

#include <cport.h>

/**
 * struct cport_fio_data - per-thread engine state (td->io_ops_data)
 * @port: the thread's port.
 * @events: io_us reaped by the last ->getevents(), read by ->event().
 * @queued: io_us queued since the last ->commit(), to stamp their issue
 *	time when they are submitted.
 * @nr_queued: number of entries in @queued.
 * @depth: size of @events and @queued (fio's iodepth).
 */
struct cport_fio_data {
	struct cport port;
	struct io_u **events;
	struct io_u **queued;
	unsigned int nr_queued;
	unsigned int depth;
};

static void cport_fio_free(struct cport_fio_data *cd)
{
	free(cd->events);
	free(cd->queued);
	free(cd);
}

static int cport_fio_init(struct thread_data *td)
{
	unsigned int depth = td->o.iodepth ? td->o.iodepth : 1;
	struct cport_fio_data *cd;
	int ret;

	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return 1;
	cd->depth = depth;
	cd->events = calloc(depth, sizeof(*cd->events));
	cd->queued = calloc(depth, sizeof(*cd->queued));
	if (!cd->events || !cd->queued) {
		cport_fio_free(cd);
		return 1;
	}

	/* The kernel rounds the SQ up to a power of two; the CQ is larger. */
	ret = cport_queue_init(depth, &cd->port, 0);
	if (ret < 0) {
		td_verror(td, -ret, "cport_queue_init");
		log_err("cport: cport_queue_init(%u): %s (is cport.ko loaded?)\n",
			depth, strerror(-ret));
		cport_fio_free(cd);
		return 1;
	}
	td->io_ops_data = cd;
	return 0;
}

static void cport_fio_cleanup(struct thread_data *td)
{
	struct cport_fio_data *cd = td->io_ops_data;

	if (!cd)
		return;
	/* Closing the port cancels and waits for whatever is in flight. */
	cport_queue_exit(&cd->port);
	cport_fio_free(cd);
	td->io_ops_data = NULL;
}

static enum fio_q_status cport_fio_queue(struct thread_data *td,
					 struct io_u *io_u)
{
	struct cport_fio_data *cd = td->io_ops_data;
	struct fio_file *f = io_u->file;
	struct cport_sqe *sqe;

	fio_ro_check(td, io_u);

	if (io_u->ddir == DDIR_TRIM || io_u->ddir == DDIR_SYNC_FILE_RANGE ||
	    (ddir_rw(io_u->ddir) && io_u->xfer_buflen > UINT_MAX)) {
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}

	/*
	 * The SQ holds at least iodepth SQEs: it is full only while SQEs
	 * the kernel refused wait for a free CQ slot.
	 */
	if (cd->nr_queued >= cd->depth)
		return FIO_Q_BUSY;
	sqe = cport_get_sqe(&cd->port);
	if (!sqe)
		return FIO_Q_BUSY;

	switch (io_u->ddir) {
	case DDIR_READ:
		cport_prep_read(sqe, f->fd, io_u->xfer_buf,
				(unsigned int)io_u->xfer_buflen, io_u->offset);
		break;
	case DDIR_WRITE:
		cport_prep_write(sqe, f->fd, io_u->xfer_buf,
				 (unsigned int)io_u->xfer_buflen, io_u->offset);
		break;
	case DDIR_DATASYNC:
		cport_prep_fsync(sqe, f->fd, CPORT_FSYNC_DATASYNC);
		break;
	default:	/* DDIR_SYNC */
		cport_prep_fsync(sqe, f->fd, 0);
		break;
	}
	cport_sqe_set_data(sqe, io_u);
	cd->queued[cd->nr_queued++] = io_u;
	return FIO_Q_QUEUED;
}

/*
 * Stamp the issue time of the io_us about to be submitted (the engine says
 * FIO_ASYNCIO_SETS_ISSUE_TIME, so that the time an io_u waited for the
 * commit does not count as device time, as for libaio and io_uring).
 */
static void cport_fio_stamp_queued(struct thread_data *td,
				   struct cport_fio_data *cd)
{
	struct timespec now;
	unsigned int i;

	if (!cd->nr_queued)
		return;
	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (i = 0; i < cd->nr_queued; i++) {
			cd->queued[i]->issue_time = now;
			io_u_queued(td, cd->queued[i]);
		}
		if (td->o.read_iolog_file)
			td->last_issue = now;
	}
	cd->nr_queued = 0;
}

static int cport_fio_commit(struct thread_data *td)
{
	struct cport_fio_data *cd = td->io_ops_data;
	int ret;

	if (!cport_sq_ready(&cd->port))
		return 0;
	cport_fio_stamp_queued(td, cd);
	ret = cport_submit(&cd->port);
	/*
	 * A partial submit, EBUSY (no free CQ slot) and EINTR leave the
	 * rest published in the SQ: ->getevents() submits it again before
	 * it waits, and fio calls that, since it counts these io_us in
	 * flight.
	 */
	if (ret >= 0 || ret == -EBUSY || ret == -EINTR)
		return 0;
	return ret;
}

/* Move the CQEs that are ready, at most max - nr, into ->events. */
static unsigned int cport_fio_reap(struct cport_fio_data *cd, unsigned int nr,
				   unsigned int max)
{
	struct cport_cqe *cqe;
	unsigned int seen = 0;

	while (nr < max && !cport_peek_cqe(&cd->port, &cqe)) {
		struct io_u *io_u = cport_cqe_get_data(cqe);
		int res = cqe->res;

		if (res < 0) {
			io_u->error = -res;
		} else {
			io_u->error = 0;
			if (ddir_rw(io_u->ddir))
				io_u->resid = io_u->xfer_buflen - res;
		}
		cd->events[nr++] = io_u;
		/* Hand each slot back at once: the kernel may reuse it. */
		cport_cqe_seen(&cd->port, cqe);
		seen++;
	}
	return seen;
}

static uint64_t ts_to_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

static int cport_fio_getevents(struct thread_data *td, unsigned int min,
			       unsigned int max, const struct timespec *t)
{
	struct cport_fio_data *cd = td->io_ops_data;
	uint64_t timeout_ns = t ? ts_to_ns(t) : 0;
	unsigned int nr = 0;
	int ret;

	if (max > cd->depth)
		max = cd->depth;
	if (min > max)
		min = max;
	/* In case fio did not ->commit() what it queued. */
	cport_fio_stamp_queued(td, cd);

	for (;;) {
		nr += cport_fio_reap(cd, nr, max);
		if (nr >= min && !cport_sq_ready(&cd->port))
			break;
		if (nr >= min) {
			/*
			 * Enough, but SQEs still wait: submit, don't sleep.
			 * What the kernel refuses again (EBUSY) goes with
			 * the next enter.
			 */
			cport_submit(&cd->port);
			break;
		}
		/*
		 * Submit what the kernel left behind, then wait for the
		 * CQEs still missing. The kernel counts the CQEs in the ring,
		 * and every one seen so far has been handed back.
		 */
		if (t)
			ret = cport_submit_and_wait_timeout(&cd->port, min - nr,
							    timeout_ns);
		else
			ret = cport_submit_and_wait(&cd->port, min - nr);
		if (ret == -ETIME) {
			nr += cport_fio_reap(cd, nr, max);
			break;
		}
		if (ret == -EBUSY) {
			/*
			 * Nothing consumed: every CQ slot holds a CQE or is
			 * reserved for an op in flight. Reap the former, or
			 * wait for one of the latter to complete.
			 */
			if (!cport_cq_ready(&cd->port)) {
				struct cport_cqe *cqe;

				ret = cport_wait_cqe_nr(&cd->port, &cqe, 1);
				if (ret < 0 && ret != -EINTR)
					return ret;
			}
			continue;
		}
		if (ret < 0 && ret != -EINTR)
			return ret;
	}
	return nr;
}

static struct io_u *cport_fio_event(struct thread_data *td, int event)
{
	struct cport_fio_data *cd = td->io_ops_data;

	return cd->events[event];
}

/* fio finds this by name when it dlopen()s the engine. */
struct ioengine_ops ioengine = {
	.name			= "cport",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= cport_fio_init,
	.queue			= cport_fio_queue,
	.commit			= cport_fio_commit,
	.getevents		= cport_fio_getevents,
	.event			= cport_fio_event,
	.cleanup		= cport_fio_cleanup,
	.open_file		= generic_open_file,
	.close_file		= generic_close_file,
	.get_file_size		= generic_get_file_size,
};
