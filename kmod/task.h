/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CPORT_TASK_H
#define _CPORT_TASK_H

#include "cport_priv.h"

struct cport_io;

/* Wake-up key of a task item: waiters of the item's process take it. */
extern const int cport_task_wake_key;
#define CPORT_TASK_WAKE_KEY	((void *)&cport_task_wake_key)

void cport_task_queue(struct cport_io *io);
bool cport_task_offer(struct cport_io *io);
void cport_task_note_enter(struct cport_port *port);
void cport_task_init(struct cport_port *port);
unsigned int cport_task_run(struct cport_port *port);
bool cport_task_wake_match(struct cport_port *port, struct task_struct *t);
void cport_task_release(struct cport_port *port);

/* The count of task items ever queued, to sleep only on a stable list. */
static inline u32 cport_task_seq(struct cport_port *port)
{
	return atomic_read(&port->task_seq);
}

#endif /* _CPORT_TASK_H */
