// SPDX-License-Identifier: GPL-2.0
/*
 * cport: a port's clusters, local and common (OpenVMS $ASCEFC, $DACEFC,
 * $DLCEFC).
 *
 * Every port has its local cluster, handle 0, whose flags live in the
 * port's read-only flag page. Common clusters are found by name in a table
 * keyed by (user namespace, name); their owner, group and mode are checked
 * like SysV IPC at every association. A port holds up to CPORT_CLUSTER_MAX
 * of them, as handles 1 and up.
 *
 * Locking: cport_efc_mutex guards the name table and ->nassoc. A port's
 * ->efcs[] and ->poll_efc change under ->ef_mutex and ->cq_lock both, so
 * either lock is enough to read them; completions read them under
 * ->cq_lock, in any context.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "cluster.h"
#include "flag_ops.h"
#include "flags.h"

static unsigned int max_clusters_per_user = 64;
module_param(max_clusters_per_user, uint, 0644);
MODULE_PARM_DESC(max_clusters_per_user,
		 "Common event flag clusters per creator's real uid");

#define CPORT_CLUSTER_FLAGS	(CPORT_CLUSTER_CREATE | CPORT_CLUSTER_EXCL | \
				 CPORT_CLUSTER_PERMANENT | CPORT_CLUSTER_RDONLY)

static DEFINE_MUTEX(cport_efc_mutex);
static DEFINE_HASHTABLE(cport_efc_names, 7);

/**
 * cport_clusters_init() - the local cluster of a new port
 * @port: the port, being opened.
 *
 * Context: process context.
 * Return: 0 or -ENOMEM.
 */
int cport_clusters_init(struct cport_port *port)
{
	port->flag_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!port->flag_page)
		return -ENOMEM;
	mutex_init(&port->ef_mutex);
	cport_efc_init(&port->efc_local,
		       &((struct cport_flag_page *)
			 page_address(port->flag_page))->local);
	port->efcs[0].efc = &port->efc_local;
	port->efcs[0].write = true;
	return 0;
}

static u32 cport_efc_hash(const struct user_namespace *ns, const char *name)
{
	return full_name_hash(ns, name, strlen(name));
}

static struct cport_efc *cport_efc_find(const struct user_namespace *ns,
					const char *name)
{
	struct cport_efc *efc;

	lockdep_assert_held(&cport_efc_mutex);
	hash_for_each_possible(cport_efc_names, efc, hnode,
			       cport_efc_hash(ns, name))
		if (efc->ns == ns && !strcmp(efc->name, name))
			return efc;
	return NULL;
}

/* cport_efc_mutex held: take the name away; drops the name's reference. */
static void cport_efc_unname(struct cport_efc *efc)
{
	lockdep_assert_held(&cport_efc_mutex);
	hash_del(&efc->hnode);
	efc->named = false;
	put_user_ns(efc->ns);
	efc->ns = NULL;
	cport_efc_put(efc);
}

/* cport_efc_mutex held: common clusters @uid created that still exist. */
static unsigned int cport_efc_count(kuid_t uid)
{
	struct cport_efc *efc;
	unsigned int n = 0, bkt;

	lockdep_assert_held(&cport_efc_mutex);
	hash_for_each(cport_efc_names, bkt, efc, hnode)
		if (uid_eq(efc->creator, uid))
			n++;
	return n;
}

/* SysV IPC's ipcperms(): may the caller have @want (4: read, 2: write)? */
static bool cport_efc_may(const struct cport_efc *efc, int want)
{
	kuid_t euid = current_euid();
	int granted = efc->mode;

	if (uid_eq(euid, efc->uid) || uid_eq(euid, efc->cuid))
		granted >>= 6;
	else if (in_group_p(efc->gid) || in_group_p(efc->cgid))
		granted >>= 3;
	if (want & ~granted & 7)
		return ns_capable(efc->ns, CAP_IPC_OWNER);
	return true;
}

/* The name must be 1 to 63 bytes of [A-Za-z0-9_.$-], NUL-terminated. */
static int cport_cluster_name_ok(const char *name)
{
	size_t len = strnlen(name, CPORT_CLUSTER_NAME_MAX + 1);
	size_t i;

	if (!len || len > CPORT_CLUSTER_NAME_MAX)
		return -EINVAL;
	/* ASCII only: the kernel's isalnum() takes Latin-1 letters too. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) ||
		    (!isalnum(name[i]) && !strchr("_.$-", name[i])))
			return -EINVAL;
	return 0;
}

/* Create a cluster named @name, owned by the caller. Mutex held. */
static int cport_efc_create(struct cport_efc *efc, const char *name,
			    u32 mode, bool permanent)
{
	struct user_namespace *ns = current_user_ns();
	kuid_t creator = current_uid();

	lockdep_assert_held(&cport_efc_mutex);
	if (cport_efc_count(creator) >= READ_ONCE(max_clusters_per_user))
		return -ENOSPC;
	strscpy(efc->name, name, sizeof(efc->name));
	efc->ns = get_user_ns(ns);
	efc->uid = current_euid();
	efc->cuid = efc->uid;
	efc->gid = current_egid();
	efc->cgid = efc->gid;
	efc->creator = creator;
	efc->mode = mode;
	efc->permanent = permanent;
	efc->named = true;
	hash_add(cport_efc_names, &efc->hnode, cport_efc_hash(ns, name));
	return 0;
}

static int cport_cluster_assoc(struct cport_port *port,
			       struct cport_cluster *c)
{
	bool write = !(c->flags & CPORT_CLUSTER_RDONLY);
	struct cport_efc *efc, *new = NULL;
	unsigned int i, slot = 0;
	int ret;

	if (!(c->flags & CPORT_CLUSTER_CREATE) &&
	    ((c->flags & (CPORT_CLUSTER_EXCL | CPORT_CLUSTER_PERMANENT)) ||
	     c->mode))
		return -EINVAL;
	if (c->mode & ~0777)
		return -EINVAL;
	ret = cport_cluster_name_ok(c->name);
	if (ret)
		return ret;
	if ((c->flags & CPORT_CLUSTER_PERMANENT) &&
	    !ns_capable(current_user_ns(), CAP_SYS_ADMIN))
		return -EPERM;
	if (c->flags & CPORT_CLUSTER_CREATE) {
		new = cport_efc_alloc();
		if (!new)
			return -ENOMEM;
	}

	mutex_lock(&port->ef_mutex);
	for (i = 1; i <= CPORT_CLUSTER_MAX; i++) {
		if (!port->efcs[i].efc) {
			slot = i;
			break;
		}
	}
	mutex_lock(&cport_efc_mutex);
	efc = cport_efc_find(current_user_ns(), c->name);
	if (efc) {
		ret = -EEXIST;
		if (c->flags & CPORT_CLUSTER_EXCL)
			goto out_unlock;
		ret = -EACCES;
		if (!cport_efc_may(efc, write ? 6 : 4))
			goto out_unlock;
		ret = -EBUSY;
		for (i = 1; i <= CPORT_CLUSTER_MAX; i++)
			if (port->efcs[i].efc == efc)
				goto out_unlock;
		ret = 0;
	} else {
		ret = -ENOENT;
		if (!new)
			goto out_unlock;
		ret = -EMFILE;
		if (!slot)
			goto out_unlock;
		ret = cport_efc_create(new, c->name, c->mode,
				       c->flags & CPORT_CLUSTER_PERMANENT);
		if (ret)
			goto out_unlock;
		/* The name's reference; the association takes its own. */
		efc = new;
		new = NULL;
		ret = 1;
	}
	if (!slot) {
		ret = -EMFILE;
		goto out_unlock;
	}
	efc->nassoc++;
	cport_efc_get(efc);
	mutex_unlock(&cport_efc_mutex);

	spin_lock_irq(&port->cq_lock);
	port->efcs[slot].efc = efc;
	port->efcs[slot].write = write;
	spin_unlock_irq(&port->cq_lock);
	mutex_unlock(&port->ef_mutex);
	/* Not needed: the cluster existed. */
	kfree(new);
	c->cluster = slot;
	return ret;

out_unlock:
	mutex_unlock(&cport_efc_mutex);
	mutex_unlock(&port->ef_mutex);
	kfree(new);
	return ret;
}

/* Drop an association's reference; the last one may take the name away. */
static void cport_efc_unassoc(struct cport_efc *efc)
{
	mutex_lock(&cport_efc_mutex);
	if (!--efc->nassoc && efc->named && !efc->permanent)
		cport_efc_unname(efc);
	mutex_unlock(&cport_efc_mutex);
	cport_efc_put(efc);
}

static int cport_cluster_disassoc(struct cport_port *port, u32 slot)
{
	struct cport_efc *efc;

	if (!slot || slot > CPORT_CLUSTER_MAX)
		return -EINVAL;
	mutex_lock(&port->ef_mutex);
	efc = port->efcs[slot].efc;
	if (!efc) {
		mutex_unlock(&port->ef_mutex);
		return -EINVAL;
	}
	cport_flags_poll_disarm_locked(port, efc);
	spin_lock_irq(&port->cq_lock);
	port->efcs[slot].efc = NULL;
	port->efcs[slot].write = false;
	spin_unlock_irq(&port->cq_lock);
	mutex_unlock(&port->ef_mutex);
	cport_efc_unassoc(efc);
	return 0;
}

static int cport_cluster_delete(struct cport_cluster *c)
{
	struct user_namespace *ns = current_user_ns();
	struct cport_efc *efc;
	kuid_t euid = current_euid();
	int ret;

	if (c->flags || c->mode || c->cluster)
		return -EINVAL;
	ret = cport_cluster_name_ok(c->name);
	if (ret)
		return ret;
	mutex_lock(&cport_efc_mutex);
	efc = cport_efc_find(ns, c->name);
	ret = -ENOENT;
	if (!efc)
		goto out;
	ret = -EPERM;
	if (!uid_eq(euid, efc->uid) && !uid_eq(euid, efc->cuid) &&
	    !ns_capable(efc->ns, CAP_SYS_ADMIN))
		goto out;
	cport_efc_unname(efc);
	ret = 0;
out:
	mutex_unlock(&cport_efc_mutex);
	return ret;
}

/**
 * cport_ioctl_cluster() - CPORT_IOC_CLUSTER
 * @port: the port.
 * @argp: user pointer to struct cport_cluster.
 *
 * Context: process context, sleeps.
 * Return: ASSOC: 1 if it created the cluster, else 0; the others: 0; or
 * -EFAULT, -EINVAL, -ENOENT, -EEXIST, -EACCES, -EPERM, -EBUSY, -EMFILE,
 * -ENOSPC, -ENOMEM.
 */
long cport_ioctl_cluster(struct cport_port *port, void __user *argp)
{
	struct cport_cluster c;
	int ret;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.resv[0] || c.resv[1])
		return -EINVAL;
	switch (c.op) {
	case CPORT_CLUSTER_ASSOC:
		if (c.flags & ~CPORT_CLUSTER_FLAGS)
			return -EINVAL;
		ret = cport_cluster_assoc(port, &c);
		if (ret >= 0 && put_user(c.cluster,
					 &((struct cport_cluster __user *)
					   argp)->cluster)) {
			cport_cluster_disassoc(port, c.cluster);
			return -EFAULT;
		}
		return ret;
	case CPORT_CLUSTER_DISASSOC:
		if (c.flags || c.mode || memchr_inv(c.name, 0, sizeof(c.name)))
			return -EINVAL;
		return cport_cluster_disassoc(port, c.cluster);
	case CPORT_CLUSTER_DELETE:
		return cport_cluster_delete(&c);
	default:
		return -EINVAL;
	}
}

/**
 * __cport_cluster_find() - the cluster a handle names
 * @port: the port.
 * @cluster: 0 (local) or an association's handle.
 * @write: the caller will set or clear flags (or consume them).
 * @err: out: 0, -EINVAL (no such handle) or -EACCES (read-only
 *       association).
 *
 * Context: any; ->cq_lock held, which keeps the cluster alive.
 * Return: the cluster, or NULL.
 */
struct cport_efc *__cport_cluster_find(struct cport_port *port, u32 cluster,
				       bool write, int *err)
{
	lockdep_assert_held(&port->cq_lock);
	*err = -EINVAL;
	if (cluster > CPORT_CLUSTER_MAX || !port->efcs[cluster].efc)
		return NULL;
	*err = -EACCES;
	if (write && !port->efcs[cluster].write)
		return NULL;
	*err = 0;
	return port->efcs[cluster].efc;
}

/**
 * cport_cluster_get() - a reference to the cluster a handle names
 * @port: the port.
 * @cluster: 0 (local) or an association's handle.
 * @write: the caller will set or clear flags (or consume them).
 * @err: out, see __cport_cluster_find().
 *
 * Context: process context.
 * Return: the cluster, with a reference for the caller; or NULL.
 */
struct cport_efc *cport_cluster_get(struct cport_port *port, u32 cluster,
				    bool write, int *err)
{
	struct cport_efc *efc;

	spin_lock_irq(&port->cq_lock);
	efc = __cport_cluster_find(port, cluster, write, err);
	if (efc)
		cport_efc_get(efc);
	spin_unlock_irq(&port->cq_lock);
	return efc;
}

/**
 * cport_clusters_release() - drop every association of a port
 * @port: the port, being released: no op and no waiter is left.
 *
 * Context: process context.
 */
void cport_clusters_release(struct cport_port *port)
{
	unsigned int i;

	for (i = 1; i <= CPORT_CLUSTER_MAX; i++)
		if (port->efcs[i].efc)
			cport_cluster_disassoc(port, i);
	mutex_lock(&port->ef_mutex);
	cport_flags_poll_disarm_locked(port, NULL);
	mutex_unlock(&port->ef_mutex);
	WARN_ON_ONCE(refcount_read(&port->efc_local.refs) != 1 ||
		     !list_empty(&port->efc_local.waiters));
	__free_page(port->flag_page);
	mutex_destroy(&port->ef_mutex);
}

/**
 * cport_clusters_show() - /proc/cport/clusters: the common clusters
 * @m: the seq_file; its opener's user namespace picks the clusters shown
 *     (as /proc/sysvipc shows the opener's IPC namespace), and maps the
 *     ids.
 * @v: unused.
 *
 * One line each, after a header: name, owner uid and gid, creator uid and
 * gid, mode (octal), P if permanent (else -), associations, flags (hex).
 *
 * Context: process context.
 * Return: 0.
 */
int cport_clusters_show(struct seq_file *m, void *v)
{
	struct user_namespace *ns = seq_user_ns(m);
	struct cport_efc *efc;
	unsigned int bkt;

	seq_puts(m, "name uid gid cuid cgid mode perm assoc flags\n");
	mutex_lock(&cport_efc_mutex);
	hash_for_each(cport_efc_names, bkt, efc, hnode) {
		if (efc->ns != ns)
			continue;
		seq_printf(m, "%s %u %u %u %u %03o %c %u %#llx\n", efc->name,
			   from_kuid_munged(ns, efc->uid),
			   from_kgid_munged(ns, efc->gid),
			   from_kuid_munged(ns, efc->cuid),
			   from_kgid_munged(ns, efc->cgid), efc->mode,
			   efc->permanent ? 'P' : '-', efc->nassoc,
			   cport_efc_read(efc));
	}
	mutex_unlock(&cport_efc_mutex);
	return 0;
}

/**
 * cport_clusters_exit() - free the permanent clusters left at unload
 *
 * No port exists any more, so nothing else references them.
 *
 * Context: process context, module exit.
 */
void cport_clusters_exit(void)
{
	struct hlist_node *tmp;
	struct cport_efc *efc;
	unsigned int bkt;

	mutex_lock(&cport_efc_mutex);
	hash_for_each_safe(cport_efc_names, bkt, tmp, efc, hnode)
		cport_efc_unname(efc);
	mutex_unlock(&cport_efc_mutex);
}
