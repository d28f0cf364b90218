// SPDX-License-Identifier: GPL-2.0
/*
 * cport: the per-user limit on open ports.
 *
 * Ports are counted per real uid (a kuid, so users of different user
 * namespaces are different users), as RLIMIT_NPROC counts processes.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/errno.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "limits.h"

static unsigned int max_ports_per_user = 1024;
module_param(max_ports_per_user, uint, 0644);
MODULE_PARM_DESC(max_ports_per_user, "Open ports per real uid");

struct cport_user {
	struct hlist_node	node;
	kuid_t			uid;
	unsigned int		ports;	/* under cport_users_lock */
};

static DEFINE_HASHTABLE(cport_users, 6);
static DEFINE_SPINLOCK(cport_users_lock);

static struct cport_user *cport_user_find(kuid_t uid)
{
	struct cport_user *u;

	lockdep_assert_held(&cport_users_lock);
	hash_for_each_possible(cport_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/**
 * cport_user_get() - count one more port for @uid
 * @uid: the opener's real uid.
 *
 * Context: process context, may sleep.
 * Return: 0, -EMFILE at the limit, or -ENOMEM.
 */
int cport_user_get(kuid_t uid)
{
	struct cport_user *u, *new;
	int ret = 0;

	new = kzalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;

	spin_lock(&cport_users_lock);
	u = cport_user_find(uid);
	if (!u) {
		new->uid = uid;
		hash_add(cport_users, &new->node, __kuid_val(uid));
		u = new;
		new = NULL;
	}
	if (u->ports >= READ_ONCE(max_ports_per_user)) {
		ret = -EMFILE;
		if (!u->ports) {
			hash_del(&u->node);
			new = u;
		}
	} else {
		u->ports++;
	}
	spin_unlock(&cport_users_lock);
	kfree(new);
	return ret;
}

/**
 * cport_user_put() - count one port less for @uid
 * @uid: the uid given to cport_user_get().
 *
 * Context: any process context.
 */
void cport_user_put(kuid_t uid)
{
	struct cport_user *u;

	spin_lock(&cport_users_lock);
	u = cport_user_find(uid);
	if (WARN_ON_ONCE(!u || !u->ports) || --u->ports)
		u = NULL;
	else
		hash_del(&u->node);
	spin_unlock(&cport_users_lock);
	kfree(u);
}
