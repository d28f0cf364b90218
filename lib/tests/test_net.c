// SPDX-License-Identifier: MIT
/*
 * Tests of the socket side of libcport: the socket prep helpers of
 * <cport.h> (the exact SQE each one builds).
 *
 * Copyright (C) 2026 The cport authors
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "suites.h"
#include "util.h"

/* ---- socket prep helpers (host) ---- */

START_TEST(prep_accept_sets_addr_addrlen_flags)
{
	struct sockaddr_storage ss;
	struct cport_sqe sqe, want;
	socklen_t len = sizeof(ss);

	junk(&sqe);
	cport_prep_accept(&sqe, 5, (struct sockaddr *)&ss, &len,
			  SOCK_NONBLOCK | SOCK_CLOEXEC);
	want_init(&want, CPORT_OP_ACCEPT);
	want.fd = 5;
	want.addr = (uintptr_t)&ss;
	want.addr2 = (uintptr_t)&len;
	want.op_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
	/* The flags the helper passes on are the ones the kernel takes. */
	ck_assert_uint_eq(SOCK_NONBLOCK | SOCK_CLOEXEC, CPORT_ACCEPT_FLAGS);

	junk(&sqe);
	cport_prep_accept(&sqe, 6, NULL, NULL, 0);
	want_init(&want, CPORT_OP_ACCEPT);
	want.fd = 6;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_multishot_accept_sets_off)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_multishot_accept(&sqe, 7, SOCK_CLOEXEC);
	want_init(&want, CPORT_OP_ACCEPT);
	want.fd = 7;
	want.off = CPORT_NET_MULTISHOT;
	want.op_flags = SOCK_CLOEXEC;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_connect_sets_addr_len)
{
	struct sockaddr_in sin;
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_connect(&sqe, 8, (struct sockaddr *)&sin, sizeof(sin));
	want_init(&want, CPORT_OP_CONNECT);
	want.fd = 8;
	want.addr = (uintptr_t)&sin;
	want.len = sizeof(sin);
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_send_recv_set_buf_len_msg_flags)
{
	struct cport_sqe sqe, want;
	char buf[16];

	junk(&sqe);
	cport_prep_send(&sqe, 9, buf, sizeof(buf), MSG_MORE | MSG_NOSIGNAL);
	want_init(&want, CPORT_OP_SEND);
	want.fd = 9;
	want.addr = (uintptr_t)buf;
	want.len = sizeof(buf);
	want.op_flags = MSG_MORE | MSG_NOSIGNAL;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_recv(&sqe, 10, buf, 3, MSG_WAITALL);
	want_init(&want, CPORT_OP_RECV);
	want.fd = 10;
	want.addr = (uintptr_t)buf;
	want.len = 3;
	want.op_flags = MSG_WAITALL;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_send_recv_clamp_len_to_u32)
{
	struct cport_sqe sqe;
	char buf[1];

	if (sizeof(size_t) <= sizeof(uint32_t))
		return;
	junk(&sqe);
	cport_prep_send(&sqe, 1, buf, (size_t)UINT32_MAX + 2, 0);
	ck_assert_uint_eq(sqe.len, UINT32_MAX);
	junk(&sqe);
	cport_prep_recv(&sqe, 1, buf, SIZE_MAX, 0);
	ck_assert_uint_eq(sqe.len, UINT32_MAX);
	junk(&sqe);
	cport_prep_recv_fixed(&sqe, 1, buf, (size_t)1 << 32, 0, 0);
	ck_assert_uint_eq(sqe.len, UINT32_MAX);
	junk(&sqe);
	cport_prep_recv_select(&sqe, 1, 0, (size_t)UINT32_MAX + 1, 0);
	ck_assert_uint_eq(sqe.len, UINT32_MAX);
	/* Exactly UINT32_MAX is not changed. */
	cport_prep_send(&sqe, 1, buf, UINT32_MAX, 0);
	ck_assert_uint_eq(sqe.len, UINT32_MAX);
}
END_TEST

START_TEST(prep_send_recv_fixed_set_off_and_index)
{
	struct cport_sqe sqe, want;
	char buf[64];

	junk(&sqe);
	cport_prep_send_fixed(&sqe, 11, buf + 4, 20, MSG_DONTWAIT, 3);
	want_init(&want, CPORT_OP_SEND);
	want.fd = 11;
	want.addr = (uintptr_t)(buf + 4);
	want.len = 20;
	want.op_flags = MSG_DONTWAIT;
	want.off = CPORT_NET_FIXED_BUF;
	want.addr2 = 3;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_recv_fixed(&sqe, 12, buf, 64, 0, 1023);
	want_init(&want, CPORT_OP_RECV);
	want.fd = 12;
	want.addr = (uintptr_t)buf;
	want.len = 64;
	want.off = CPORT_NET_FIXED_BUF;
	want.addr2 = 1023;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_recv_select_sets_group_and_flag)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_recv_select(&sqe, 13, 63, 512, MSG_DONTWAIT);
	want_init(&want, CPORT_OP_RECV);
	want.fd = 13;
	want.flags = CPORT_SQE_F_BUFFER_SELECT;
	want.buf_group = 63;
	want.len = 512;
	want.op_flags = MSG_DONTWAIT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	/* max_len 0: the whole provided buffer. */
	junk(&sqe);
	cport_prep_recv_select(&sqe, 13, 0, 0, 0);
	want_init(&want, CPORT_OP_RECV);
	want.fd = 13;
	want.flags = CPORT_SQE_F_BUFFER_SELECT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_recv_multishot_is_select_with_off)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_recv_multishot(&sqe, 14, 2, 0);
	want_init(&want, CPORT_OP_RECV);
	want.fd = 14;
	want.flags = CPORT_SQE_F_BUFFER_SELECT;
	want.buf_group = 2;
	want.off = CPORT_NET_MULTISHOT;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_recv_select_never_wraps_group)
{
	struct cport_sqe sqe;

	/* 0x10000 must not become group 0: it becomes a group none has. */
	cport_prep_recv_select(&sqe, 1, 0x10000, 0, 0);
	ck_assert_uint_eq(sqe.buf_group, 0xffff);
	cport_prep_recv_multishot(&sqe, 1, UINT32_MAX, 0);
	ck_assert_uint_eq(sqe.buf_group, 0xffff);
	cport_prep_recv_select(&sqe, 1, 0xffff, 0, 0);
	ck_assert_uint_eq(sqe.buf_group, 0xffff);
	ck_assert_uint_ge(0xffff, CPORT_BUF_GROUPS_MAX);
	/* buf_group is the old resv0: the same two bytes at offset 2. */
	ck_assert_uint_eq(offsetof(struct cport_sqe, buf_group), 2);
	ck_assert_uint_eq(sizeof(sqe.buf_group), 2);
}
END_TEST

START_TEST(prep_sendmsg_recvmsg_set_msghdr)
{
	struct cport_sqe sqe, want;
	struct msghdr msg;

	junk(&sqe);
	cport_prep_sendmsg(&sqe, 15, &msg, MSG_EOR);
	want_init(&want, CPORT_OP_SENDMSG);
	want.fd = 15;
	want.addr = (uintptr_t)&msg;
	want.op_flags = MSG_EOR;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_recvmsg(&sqe, 16, &msg, MSG_CMSG_CLOEXEC);
	want_init(&want, CPORT_OP_RECVMSG);
	want.fd = 16;
	want.addr = (uintptr_t)&msg;
	want.op_flags = MSG_CMSG_CLOEXEC;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_shutdown_sets_how_in_len)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_shutdown(&sqe, 17, SHUT_WR);
	want_init(&want, CPORT_OP_SHUTDOWN);
	want.fd = 17;
	want.len = SHUT_WR;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_shutdown(&sqe, 17, SHUT_RDWR);
	want.len = SHUT_RDWR;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

START_TEST(prep_close_and_close_fixed)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_close(&sqe, 18);
	want_init(&want, CPORT_OP_CLOSE);
	want.fd = 18;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	junk(&sqe);
	cport_prep_close_fixed(&sqe, 4095);
	want_init(&want, CPORT_OP_CLOSE);
	want.fd = 4095;
	want.flags = CPORT_SQE_F_FIXED_FILE;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));
}
END_TEST

/* The MSG_* flags the headers promise are those of <sys/socket.h>. */
START_TEST(msg_flag_masks_match_libc)
{
	ck_assert_uint_eq(CPORT_SEND_MSG_FLAGS,
			  MSG_OOB | MSG_DONTROUTE | MSG_DONTWAIT | MSG_EOR |
			  MSG_WAITALL | MSG_CONFIRM | MSG_NOSIGNAL | MSG_MORE);
	ck_assert_uint_eq(CPORT_RECV_MSG_FLAGS,
			  MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT |
			  MSG_WAITALL | MSG_CMSG_CLOEXEC);
}
END_TEST

Suite *net_host_suite(void)
{
	Suite *s = suite_create("net");

	ADD_TESTS(s, tcase_create("prep"), 0,
		  prep_accept_sets_addr_addrlen_flags,
		  prep_multishot_accept_sets_off,
		  prep_connect_sets_addr_len,
		  prep_send_recv_set_buf_len_msg_flags,
		  prep_send_recv_clamp_len_to_u32,
		  prep_send_recv_fixed_set_off_and_index,
		  prep_recv_select_sets_group_and_flag,
		  prep_recv_multishot_is_select_with_off,
		  prep_recv_select_never_wraps_group,
		  prep_sendmsg_recvmsg_set_msghdr,
		  prep_shutdown_sets_how_in_len,
		  prep_close_and_close_fixed,
		  msg_flag_masks_match_libc);
	return s;
}
