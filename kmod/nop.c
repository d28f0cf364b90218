// SPDX-License-Identifier: GPL-2.0
/*
 * cport: CPORT_OP_NOP, an op that completes at once with res 0.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "nop.h"

/**
 * cport_nop_prep() - check a NOP SQE
 * @sqe: kernel copy of the SQE.
 *
 * Context: process context.
 * Return: 0, or -EINVAL if a field other than opcode and user_data is set.
 */
int cport_nop_prep(const struct cport_sqe *sqe)
{
	if (sqe->fd || sqe->off || sqe->addr || sqe->len || sqe->op_flags ||
	    sqe->addr2)
		return -EINVAL;
	return 0;
}

/**
 * cport_nop_issue() - complete a NOP
 * @port: the port.
 * @sqe: kernel copy of the SQE.
 * @issue_flags: CPORT_ISSUE_F_* (unused).
 *
 * Context: process context.
 * Return: 0.
 */
int cport_nop_issue(struct cport_port *port, const struct cport_sqe *sqe,
		    unsigned int issue_flags)
{
	return 0;
}
