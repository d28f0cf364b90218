/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_LIMITS_H
#define _CPORT_LIMITS_H

#include <linux/uidgid.h>

int cport_user_get(kuid_t uid);
void cport_user_put(kuid_t uid);

#endif /* _CPORT_LIMITS_H */
