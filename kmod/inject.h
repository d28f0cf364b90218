/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cport: deliberate bugs that prove the debug-kernel lane catches them.
 *
 * `make check-debug CPORT_INJECT=uaf|lockdep|leak` builds the module with
 * inject.c and -DCPORT_INJECT_<KIND>; the hooks below then plant one bug of
 * that kind. No other build defines CPORT_INJECT, and there the hooks are
 * empty inlines that generate no code.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef _CPORT_INJECT_H
#define _CPORT_INJECT_H

struct cport_port;

#ifdef CPORT_INJECT
void cport_inject_post(struct cport_port *port);
#else
static inline void cport_inject_post(struct cport_port *port)
{
}
#endif

#endif /* _CPORT_INJECT_H */
