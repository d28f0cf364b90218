// SPDX-License-Identifier: GPL-2.0
/*
 * cport: who may open /dev/cport, the administrator's switch.
 *
 * Like io_uring_disabled and io_uring_group, two module parameters, which
 * root can change at run time in /sys/module/cport/parameters/:
 *
 *   disabled  0: every user who can open the device node (the default);
 *             1: only members of group @group, and CAP_SYS_ADMIN;
 *             2: nobody, root included.
 *   group     a gid of the initial user namespace, or -1 (the default):
 *             no group.
 *
 * They are checked at open() only: a port that exists keeps working, and
 * its descriptor may still be passed to any process. Which users reach
 * the device node at all is the node's owner, group and mode (the udev
 * rule, kmod/60-cport.rules).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "access.h"

static unsigned int disabled;
static int group = -1;

static int cport_disabled_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (v > 2)
		return -EINVAL;
	WRITE_ONCE(disabled, v);
	return 0;
}

static const struct kernel_param_ops cport_disabled_ops = {
	.set	= cport_disabled_set,
	.get	= param_get_uint,
};
module_param_cb(disabled, &cport_disabled_ops, &disabled, 0644);
MODULE_PARM_DESC(disabled,
		 "0: all users may open /dev/cport; 1: only group and CAP_SYS_ADMIN; 2: nobody");

static int cport_group_set(const char *val, const struct kernel_param *kp)
{
	int v, ret;

	ret = kstrtoint(val, 0, &v);
	if (ret)
		return ret;
	if (v < -1 || (v >= 0 && !gid_valid(make_kgid(&init_user_ns, v))))
		return -EINVAL;
	WRITE_ONCE(group, v);
	return 0;
}

static const struct kernel_param_ops cport_group_ops = {
	.set	= cport_group_set,
	.get	= param_get_int,
};
module_param_cb(group, &cport_group_ops, &group, 0644);
MODULE_PARM_DESC(group, "With disabled=1, the gid whose members may open /dev/cport (-1: none)");

/**
 * cport_may_open() - may the current task open a port?
 *
 * Context: process context (open()).
 * Return: 0, or -EPERM.
 */
int cport_may_open(void)
{
	int gid;

	switch (READ_ONCE(disabled)) {
	case 0:
		return 0;
	case 1:
		gid = READ_ONCE(group);
		if (gid >= 0 && in_group_p(make_kgid(&init_user_ns, gid)))
			return 0;
		return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
	default:
		return -EPERM;
	}
}
