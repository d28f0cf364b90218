// SPDX-License-Identifier: GPL-2.0
/*
 * cport: the opcode table. Each opcode lives in its own file.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cancel.h"
#include "flag_ops.h"
#include "fsync.h"
#include "link.h"
#include "net.h"
#include "nop.h"
#include "opdef.h"
#include "poll.h"
#include "post.h"
#include "rw.h"
#include "timeout.h"

const struct cport_opdef cport_opdefs[CPORT_OP_LAST] = {
	[CPORT_OP_NOP] = {
		.prep	= cport_nop_prep,
		.issue	= cport_nop_issue,
	},
	[CPORT_OP_POST] = {
		.prep	= cport_post_prep,
		.issue	= cport_post_issue,
	},
	[CPORT_OP_TIMEOUT] = {
		.prep	= cport_timeout_prep,
		.issue	= cport_timeout_issue,
	},
	[CPORT_OP_TIMEOUT_REMOVE] = {
		.prep	= cport_timeout_remove_prep,
		.issue	= cport_timeout_remove_issue,
	},
	[CPORT_OP_CANCEL] = {
		.prep	= cport_cancel_prep,
		.issue	= cport_cancel_issue,
	},
	[CPORT_OP_READ] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_WRITE] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_READV] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_WRITEV] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_FSYNC] = {
		.prep	= cport_fsync_prep,
		.issue	= cport_fsync_issue,
	},
	[CPORT_OP_READ_FIXED] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_WRITE_FIXED] = {
		.prep	= cport_rw_prep,
		.issue	= cport_rw_issue,
	},
	[CPORT_OP_LINK_TIMEOUT] = {
		.prep	= cport_link_timeout_prep,
		.issue	= cport_link_timeout_issue,
	},
	[CPORT_OP_FLAG_WAIT] = {
		.prep	= cport_flag_wait_prep,
		.issue	= cport_flag_wait_issue,
	},
	[CPORT_OP_FLAG_SET] = {
		.prep	= cport_flag_change_prep,
		.issue	= cport_flag_change_issue,
	},
	[CPORT_OP_FLAG_CLEAR] = {
		.prep	= cport_flag_change_prep,
		.issue	= cport_flag_change_issue,
	},
	[CPORT_OP_POLL_ADD] = {
		.prep	= cport_poll_add_prep,
		.issue	= cport_poll_add_issue,
	},
	[CPORT_OP_POLL_REMOVE] = {
		.prep	= cport_poll_remove_prep,
		.issue	= cport_poll_remove_issue,
	},
	[CPORT_OP_ACCEPT] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_CONNECT] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_SEND] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_RECV] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_SENDMSG] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_RECVMSG] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_SHUTDOWN] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
	[CPORT_OP_CLOSE] = {
		.prep	= cport_net_prep,
		.issue	= cport_net_issue,
	},
};
