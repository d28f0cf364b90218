// SPDX-License-Identifier: GPL-2.0
/*
 * cport: a completion port for Linux.
 *
 * /dev/cport is a misc device; every open is a port with a submission and a
 * completion ring shared with user space. A minimal user:
 *
 *	int fd = open("/dev/cport", O_RDWR | O_CLOEXEC);
 *	struct cport_params p = { .sq_entries = 8 };
 *	struct cport_post post = { .user_data = 42, .res = 1 };
 *
 *	ioctl(fd, CPORT_IOC_SETUP, &p);
 *	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct cport_cqe),
 *		  PROT_READ | PROT_WRITE, MAP_SHARED, fd, CPORT_OFF_CQ_RING);
 *	ioctl(fd, CPORT_IOC_POST, &post);
 *	// the CQ ring now holds { .user_data = 42, .res = 1 }
 *
 * See Documentation/userspace-api.rst for the whole interface.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "access.h"
#include "cancel.h"
#include "cluster.h"
#include "cport_priv.h"
#include "drain.h"
#include "fdinfo.h"
#include "flag_ops.h"
#include "io.h"
#include "limits.h"
#include "pool.h"
#include "procfs.h"
#include "post.h"
#include "register.h"
#include "restrict.h"
#include "setup.h"
#include "signal.h"
#include "submit.h"
#include "task.h"
#include "wait.h"

static const struct file_operations cport_fops;

/**
 * cport_port_from_file() - the port behind a file, if it is one
 * @file: any file.
 *
 * Context: any.
 * Return: the port, or NULL if @file is not a cport port.
 */
struct cport_port *cport_port_from_file(struct file *file)
{
	return file->f_op == &cport_fops ? file->private_data : NULL;
}

/* Ports opened since load: fdinfo's id tells ports apart (cportstat). */
static atomic64_t cport_ports_opened = ATOMIC64_INIT(0);

static int cport_open(struct inode *inode, struct file *file)
{
	struct cport_port *port;
	kuid_t uid = current_uid();
	int ret;

	ret = cport_may_open();
	if (ret)
		return ret;
	ret = cport_user_get(uid);
	if (ret)
		return ret;

	port = kzalloc(sizeof(*port), GFP_KERNEL_ACCOUNT);
	if (!port) {
		cport_user_put(uid);
		return -ENOMEM;
	}
	ret = cport_clusters_init(port);
	if (ret) {
		kfree(port);
		cport_user_put(uid);
		return ret;
	}
	cport_flags_init(port);
	port->id = atomic64_inc_return(&cport_ports_opened);
	mutex_init(&port->submit_lock);
	spin_lock_init(&port->cq_lock);
	INIT_LIST_HEAD(&port->inflight_list);
	INIT_LIST_HEAD(&port->pending_list);
	INIT_LIST_HEAD(&port->ordered_list);
	cport_defer_init(port);
	cport_task_init(port);
	cport_sig_init(port);
	init_waitqueue_head(&port->cq_wait);
	init_waitqueue_head(&port->poll_wait);
	port->owner = uid;

	file->private_data = port;
	return stream_open(inode, file);
}

/*
 * The last reference is gone: every fd and every mapping (each holds the
 * file). Nobody can submit or read the CQ any more.
 */
static int cport_release(struct inode *inode, struct file *file)
{
	struct cport_port *port = file->private_data;

	/* Threads may outlive the port in its pool: detach it first. */
	cport_pool_release(port);
	if (port->ready) {
		/* Ops cancelled from here on queue no signal (signal.c). */
		cport_sig_closing(port);
		cport_cancel_all_sync(port);
		/* The deferral work may have issued ops meanwhile. */
		cport_defer_release(port);
		cport_cancel_all_sync(port);
		/* Cancelled task items still hold their list's reference. */
		cport_task_release(port);
		/* Released FLAG_WAITs are posted; their irq_work may still run. */
		cport_flags_release(port);
		WARN_ON_ONCE(port->cq_reserved || port->inflight);
		cport_register_free(port);
		cport_rings_free(port);
	}
	cport_sig_release(port);
	cport_clusters_release(port);
	cport_user_put(port->owner);
	mutex_destroy(&port->submit_lock);
	kfree(port);
	return 0;
}

/*
 * Every close of a descriptor of the port. When the last thread of a
 * process closes its file table (@id), ops that wait for a thread of that
 * process (task.c) can never run: cancel them.
 */
static int cport_flush(struct file *file, fl_owner_t id)
{
	struct cport_port *port = file->private_data;

	if (!(current->flags & PF_EXITING) || !cport_port_ready(port) ||
	    !READ_ONCE(port->task_used))
		return 0;
	mutex_lock(&port->submit_lock);
	cport_io_cancel_files(port, id);
	mutex_unlock(&port->submit_lock);
	return 0;
}

static long cport_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct cport_port *port = file->private_data;
	void __user *argp = (void __user *)arg;
	int ret;

	ret = cport_restrict_ioctl_ok(port, cmd);
	if (ret)
		return ret;
	switch (cmd) {
	case CPORT_IOC_SETUP:
		return cport_ioctl_setup(port, argp);
	case CPORT_IOC_ENTER:
		return cport_ioctl_enter(port, argp, false);
	case CPORT_IOC_ENTER_V1:
		return cport_ioctl_enter(port, argp, true);
	case CPORT_IOC_POST:
		return cport_ioctl_post(port, argp);
	case CPORT_IOC_REGISTER:
		return cport_ioctl_register(port, argp);
	case CPORT_IOC_FLAGS:
		return cport_ioctl_flags(port, argp);
	case CPORT_IOC_CLUSTER:
		return cport_ioctl_cluster(port, argp);
	case CPORT_IOC_GETQ:
		return cport_ioctl_getq(port, argp);
	case CPORT_IOC_RESTRICT:
		return cport_ioctl_restrict(port, argp);
	default:
		return -ENOTTY;
	}
}

static int cport_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cport_port *port = file->private_data;
	struct cport_region *r;

	/* The flag page exists from open(). */
	if ((u64)vma->vm_pgoff << PAGE_SHIFT == CPORT_OFF_FLAGS)
		return cport_flags_mmap(port, vma);
	if (!cport_port_ready(port))
		return -EBADFD;

	switch ((u64)vma->vm_pgoff << PAGE_SHIFT) {
	case CPORT_OFF_SQ_RING:
		r = &port->sq_region;
		break;
	case CPORT_OFF_SQES:
		r = &port->sqe_region;
		break;
	case CPORT_OFF_CQ_RING:
		r = &port->cq_region;
		break;
	default:
		return -EINVAL;
	}
	return cport_region_mmap(r, vma);
}

static const struct file_operations cport_fops = {
	.owner		= THIS_MODULE,
	.open		= cport_open,
	.release	= cport_release,
	.flush		= cport_flush,
	.unlocked_ioctl	= cport_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= cport_mmap,
	.poll		= cport_poll,
	.show_fdinfo	= cport_show_fdinfo,
};

/*
 * A fixed minor, so that /dev/cport can exist before the module is loaded
 * (kmod's static nodes, from the devname alias below) and its first open
 * loads it. 247 is free among the kernel's misc minors (miscdevice.h, up
 * to 6.12); if another driver holds it, a dynamic minor is taken instead.
 * The mode is devtmpfs's default for the node; the package's udev rule
 * (kmod/60-cport.rules) makes it 0660, group cport.
 */
#define CPORT_MINOR	247

static struct miscdevice cport_misc = {
	.minor	= CPORT_MINOR,
	.name	= "cport",
	.fops	= &cport_fops,
	.mode	= 0666,
};

static int __init cport_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct cport_sqe) != 64);
	BUILD_BUG_ON(sizeof(struct cport_cqe) != 16);
	BUILD_BUG_ON(sizeof(struct cport_params) != 96);
	BUILD_BUG_ON(sizeof(struct cport_enter) != 40);
	BUILD_BUG_ON(sizeof(struct cport_post) != 24);
	BUILD_BUG_ON(sizeof(struct cport_register) != 32);
	BUILD_BUG_ON(sizeof(struct cport_sq_ring) > PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct cport_flags) != 48);
	BUILD_BUG_ON(sizeof(struct cport_cluster) != 96);
	BUILD_BUG_ON(sizeof(struct cport_flag_page) > PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct cport_getq) != 48);
	BUILD_BUG_ON(sizeof(struct cport_restrict) != 48);
	BUILD_BUG_ON(CPORT_OP_LAST > 64);

	ret = cport_io_init();
	if (ret)
		return ret;
	ret = cport_pool_init();
	if (ret)
		goto err_io;
	ret = cport_procfs_init();
	if (ret)
		goto err_pool;
	ret = misc_register(&cport_misc);
	if (ret == -EBUSY) {
		pr_info("cport: misc minor %d is taken, using a dynamic one\n",
			CPORT_MINOR);
		cport_misc.minor = MISC_DYNAMIC_MINOR;
		ret = misc_register(&cport_misc);
	}
	if (ret) {
		pr_err("cport: cannot register /dev/cport: %d\n", ret);
		goto err_procfs;
	}
	return 0;

err_procfs:
	cport_procfs_exit();
err_pool:
	cport_pool_exit();
err_io:
	cport_io_exit();
	return ret;
}

static void __exit cport_exit(void)
{
	misc_deregister(&cport_misc);
	cport_procfs_exit();
	/* Waits for work items still returning from a freed port's ops. */
	cport_io_exit();
	cport_clusters_exit();
	/* Dead pool threads' registrations are freed by now. */
	cport_pool_exit();
}

module_init(cport_init);
module_exit(cport_exit);

MODULE_AUTHOR("The cport authors");
MODULE_DESCRIPTION("cport: completion ports with shared rings");
MODULE_LICENSE("GPL");
MODULE_ALIAS_MISCDEV(CPORT_MINOR);
MODULE_ALIAS("devname:cport");
/* The release: lib/VERSION, checked by `make check-version`. */
MODULE_VERSION("1.4.0");
