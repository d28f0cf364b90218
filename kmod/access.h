/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_ACCESS_H
#define _CPORT_ACCESS_H

int cport_may_open(void);

#endif /* _CPORT_ACCESS_H */
