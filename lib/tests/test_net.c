// SPDX-License-Identifier: MIT
/*
 * Tests of net.c and of the socket side of <cport.h>: the socket prep
 * helpers (the exact SQE each one builds), the inline buffer ring helpers
 * (layout, and the order in which the kernel may see what they write),
 * and the provided buffer ring calls of net.c.
 *
 * Host cases play the kernel's side of a ring in a second thread; device
 * cases register rings with /dev/cport.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

START_TEST(prep_read_select_sets_group_flag_offset)
{
	struct cport_sqe sqe, want;

	junk(&sqe);
	cport_prep_read_select(&sqe, 7, 5, 4096, 123);
	want_init(&want, CPORT_OP_READ);
	want.fd = 7;
	want.flags = CPORT_SQE_F_BUFFER_SELECT;
	want.buf_group = 5;
	want.len = 4096;
	want.off = 123;
	ck_assert_mem_eq(&sqe, &want, sizeof(want));

	/* A group no port can have stays one. */
	junk(&sqe);
	cport_prep_read_select(&sqe, 7, 0x10005, 0, CPORT_POS_CURRENT);
	ck_assert_uint_eq(sqe.buf_group, 0xffff);
	ck_assert_uint_eq(sqe.off, CPORT_POS_CURRENT);
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

/* ---- buffer ring helpers (host) ---- */

/* The layout the kernel reads (userspace-api.rst, "Provided buffer rings"). */
START_TEST(buf_ring_layout_is_the_uapi)
{
	ck_assert_uint_eq(offsetof(struct cport_buf_ring, tail), 0);
	ck_assert_uint_eq(offsetof(struct cport_buf_ring, head), 4);
	ck_assert_uint_eq(offsetof(struct cport_buf_ring, bufs), 16);
	ck_assert_uint_eq(sizeof(struct cport_buf_ring), 16);
	ck_assert_uint_eq(sizeof(struct cport_buf_entry), 16);
	ck_assert_uint_eq(offsetof(struct cport_buf_entry, addr), 0);
	ck_assert_uint_eq(offsetof(struct cport_buf_entry, len), 8);
	ck_assert_uint_eq(offsetof(struct cport_buf_entry, bid), 12);
	ck_assert_uint_eq(offsetof(struct cport_buf_entry, resv), 14);
	ck_assert_uint_eq(sizeof(struct cport_buf_reg), 32);
}
END_TEST

/* A ring of @entries in ordinary memory, full of junk but the indices. */
static struct cport_buf_ring *junk_ring(unsigned int entries)
{
	size_t size = sizeof(struct cport_buf_ring) +
		      entries * sizeof(struct cport_buf_entry);
	struct cport_buf_ring *br = malloc(size);

	ck_assert_ptr_nonnull(br);
	memset(br, 0xa5, size);
	cport_buf_ring_init(br);
	return br;
}

START_TEST(buf_ring_init_and_mask)
{
	struct cport_buf_ring *br = junk_ring(4);

	ck_assert_uint_eq(br->tail, 0);
	ck_assert_uint_eq(br->head, 0);
	ck_assert_int_eq(cport_buf_ring_mask(1), 0);
	ck_assert_int_eq(cport_buf_ring_mask(8), 7);
	ck_assert_int_eq(cport_buf_ring_mask(CPORT_BUF_RING_MAX_ENTRIES),
			 CPORT_BUF_RING_MAX_ENTRIES - 1);
	free(br);
}
END_TEST

/* add writes entry (tail + offset) & mask and nothing else. */
START_TEST(buf_ring_add_writes_entry_without_publishing)
{
	unsigned int start = _i ? 0xfffffffeU : 0;
	struct cport_buf_ring *br = junk_ring(4), *copy = junk_ring(4);
	size_t size = sizeof(*br) + 4 * sizeof(br->bufs[0]);
	int mask = cport_buf_ring_mask(4);
	char a[8], b[8];
	unsigned int i;

	br->tail = start;
	br->head = start;
	memcpy(copy, br, size);
	cport_buf_ring_add(br, a, sizeof(a), 7, mask, 0);
	cport_buf_ring_add(br, b, 3, 0xffff, mask, 1);
	/* Not published: the tail and the head are where they were. */
	ck_assert_uint_eq(br->tail, start);
	ck_assert_uint_eq(br->head, start);
	i = start & 3;
	ck_assert_uint_eq(br->bufs[i].addr, (uintptr_t)a);
	ck_assert_uint_eq(br->bufs[i].len, sizeof(a));
	ck_assert_uint_eq(br->bufs[i].bid, 7);
	ck_assert_uint_eq(br->bufs[i].resv, 0);
	i = (start + 1) & 3;
	ck_assert_uint_eq(br->bufs[i].addr, (uintptr_t)b);
	ck_assert_uint_eq(br->bufs[i].len, 3);
	ck_assert_uint_eq(br->bufs[i].bid, 0xffff);
	/* The other two entries are untouched. */
	for (i = 2; i < 4; i++)
		ck_assert_mem_eq(&br->bufs[(start + i) & 3],
				 &copy->bufs[(start + i) & 3],
				 sizeof(br->bufs[0]));

	cport_buf_ring_advance(br, 2);
	ck_assert_uint_eq(br->tail, start + 2);
	ck_assert_uint_eq(br->head, start);
	/* Offsets count from the new tail. */
	cport_buf_ring_add(br, a, 1, 9, mask, 0);
	ck_assert_uint_eq(br->bufs[(start + 2) & 3].bid, 9);
	cport_buf_ring_advance(br, 1);
	ck_assert_uint_eq(br->tail, start + 3);
	free(br);
	free(copy);
}
END_TEST

START_TEST(cqe_buffer_id_needs_the_flag)
{
	struct cport_cqe cqe = { 0 };

	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), -1);
	cqe.flags = 5U << CPORT_CQE_BUFFER_SHIFT;
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), -1);
	cqe.flags = CPORT_CQE_F_BUFFER | 5U << CPORT_CQE_BUFFER_SHIFT;
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), 5);
	cqe.flags = CPORT_CQE_F_BUFFER | CPORT_CQE_F_MORE |
		    0xffffU << CPORT_CQE_BUFFER_SHIFT;
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), 0xffff);
	cqe.flags = CPORT_CQE_F_BUFFER;
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), 0);
}
END_TEST

/*
 * The kernel's side of a ring, in a thread: load-acquire the tail, read
 * the entries below it, then store-release the head. Every entry it reads
 * must be complete: bid i names buffer i of the sequence.
 */
#define ORDER_ENTRIES	8U
#define ORDER_TOTAL	50000U

struct order_ring {
	struct cport_buf_ring *br;
	char bufs[ORDER_ENTRIES][4];
	unsigned int bad;
};

static void *order_consumer(void *p)
{
	struct order_ring *o = p;
	struct cport_buf_ring *br = o->br;
	unsigned int head = 0, tail;

	while (head != ORDER_TOTAL) {
		tail = __atomic_load_n(&br->tail, __ATOMIC_ACQUIRE);
		if (head == tail)
			sched_yield();
		for (; head != tail; head++) {
			struct cport_buf_entry e =
				br->bufs[head & (ORDER_ENTRIES - 1)];

			if (e.bid != (uint16_t)head || e.len != head % 4 + 1 ||
			    e.addr != (uintptr_t)o->bufs[head % ORDER_ENTRIES])
				o->bad++;
			__atomic_store_n(&br->head, head + 1,
					 __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

START_TEST(buf_ring_advance_publishes_entries_in_order)
{
	struct order_ring o = { 0 };
	int mask = cport_buf_ring_mask(ORDER_ENTRIES);
	unsigned int n = 0;
	pthread_t t;

	o.br = junk_ring(ORDER_ENTRIES);
	ck_assert_int_eq(pthread_create(&t, NULL, order_consumer, &o), 0);
	while (n < ORDER_TOTAL) {
		unsigned int head = __atomic_load_n(&o.br->head,
						    __ATOMIC_ACQUIRE);
		unsigned int room = ORDER_ENTRIES - (n - head), i;

		if (!room) {
			sched_yield();
			continue;
		}
		/* Batches of up to three, as a consumer returns buffers. */
		if (room > 3)
			room = 3;
		if (room > ORDER_TOTAL - n)
			room = ORDER_TOTAL - n;
		for (i = 0; i < room; i++)
			cport_buf_ring_add(o.br, o.bufs[(n + i) % ORDER_ENTRIES],
					   (n + i) % 4 + 1,
					   (unsigned short)(n + i), mask,
					   (int)i);
		cport_buf_ring_advance(o.br, (int)room);
		n += room;
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(o.bad, 0);
	ck_assert_uint_eq(o.br->tail, ORDER_TOTAL);
	free(o.br);
}
END_TEST

/* ---- net.c on no port (host) ---- */

/* Is [p, p + len) mapped? msync() says ENOMEM for an unmapped range. */
static bool mapped(void *p, size_t len)
{
	return msync(p, len, MS_ASYNC) == 0;
}

static unsigned int nr_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned int n = 0;
	int c;

	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

START_TEST(buf_ring_calls_on_non_port_are_enotty)
{
	struct cport_buf_reg reg = { 0 };
	struct cport port;
	unsigned int before;
	int err = 1;

	memset(&port, 0, sizeof(port));
	port.ring_fd = non_port_fd();
	reg.ring_addr = (uintptr_t)&reg;
	reg.ring_entries = 1;
	ck_assert_int_eq(KEEP_ERRNO(cport_register_buf_ring(&port, &reg)),
			 -ENOTTY);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buf_ring(&port, 3)),
			 -ENOTTY);
	/* setup maps the ring, fails to register, and unmaps it. */
	before = nr_mappings();
	errno = ERRNO_CANARY;
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 8, 0, &err));
	ck_assert_int_eq(errno, ERRNO_CANARY);
	ck_assert_int_eq(err, -ENOTTY);
	ck_assert_uint_eq(nr_mappings(), before);
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 8, 0, NULL));
	close(port.ring_fd);
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buf_ring(&port, 0)),
			 -EBADF);
}
END_TEST

START_TEST(setup_buf_ring_rejects_bad_arguments)
{
	static const unsigned int bad[] = {
		0, 3, 6, CPORT_BUF_RING_MAX_ENTRIES * 2, UINT32_MAX,
	};
	struct cport port;
	unsigned int i;
	int err;

	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 1;
		errno = ERRNO_CANARY;
		ck_assert_ptr_null(cport_setup_buf_ring(&port, bad[i], 0,
							&err));
		ck_assert_int_eq(errno, ERRNO_CANARY);
		ck_assert_int_eq(err, -EINVAL);
	}
	/* A group that would wrap to 0 in the 16-bit field. */
	err = 1;
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 8, 0x10000, &err));
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buf_ring(&port, 0x10000)),
			 -EINVAL);
	/* Good arguments reach the (missing) port: -EBADF. */
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 1, 0, &err));
	ck_assert_int_eq(err, -EBADF);
}
END_TEST

START_TEST(free_buf_ring_unmaps_unless_still_registered)
{
	long page = sysconf(_SC_PAGESIZE);
	struct cport port;
	void *p;

	memset(&port, 0, sizeof(port));
	port.ring_fd = -1;
	ck_assert_int_eq(cport_free_buf_ring(&port, NULL, 8, 0), -EINVAL);

	/* 256 entries: 16 + 4096 bytes, two pages. */
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(cport_free_buf_ring(&port, p, 3, 0), -EINVAL);
	ck_assert_int_eq(cport_free_buf_ring(&port, p, 256, 0x10000), -EINVAL);
	ck_assert(mapped(p, 2 * page));

	/* Some file but not a port: the ring might be registered, keep it. */
	port.ring_fd = non_port_fd();
	ck_assert_int_eq(KEEP_ERRNO(cport_free_buf_ring(&port, p, 256, 0)),
			 -ENOTTY);
	ck_assert(mapped(p, 2 * page));
	close(port.ring_fd);

	/* No port: nothing can be registered, the ring goes. */
	port.ring_fd = -1;
	ck_assert_int_eq(KEEP_ERRNO(cport_free_buf_ring(&port, p, 256, 0)),
			 -EBADF);
	ck_assert(!mapped(p, page));
	ck_assert(!mapped((char *)p + page, page));
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
		  prep_read_select_sets_group_flag_offset,
		  prep_recv_multishot_is_select_with_off,
		  prep_recv_select_never_wraps_group,
		  prep_sendmsg_recvmsg_set_msghdr,
		  prep_shutdown_sets_how_in_len,
		  prep_close_and_close_fixed,
		  msg_flag_masks_match_libc);
	ADD_TESTS(s, tcase_create("buf_ring"), 0,
		  buf_ring_layout_is_the_uapi,
		  buf_ring_init_and_mask,
		  cqe_buffer_id_needs_the_flag,
		  buf_ring_advance_publishes_entries_in_order);
	ADD_TESTS(s, tcase_create("buf_ring_wrap"), 2,
		  buf_ring_add_writes_entry_without_publishing);
	ADD_TESTS(s, tcase_create("buf_ring_calls"), 0,
		  buf_ring_calls_on_non_port_are_enotty,
		  setup_buf_ring_rejects_bad_arguments,
		  free_buf_ring_unmaps_unless_still_registered);
	return s;
}

/* ---- device ---- */

static void net_port_init(struct cport *port, unsigned int entries)
{
	port_init(port, entries);
	ck_assert_msg(port->features & CPORT_FEAT_NET,
		      "the module has no CPORT_FEAT_NET (features %#x)",
		      port->features);
}

static struct cport_cqe wait_pop(struct cport *port)
{
	struct cport_cqe *c, cqe;
	int ret = cport_wait_cqe_timeout(port, &c, 10000 * MS);

	ck_assert_msg(ret == 0, "wait_cqe_timeout: %d", ret);
	cqe = *c;
	cport_cqe_seen(port, c);
	return cqe;
}

START_TEST(setup_buf_ring_registers_and_free_unregisters)
{
	struct cport_buf_ring *br, *br2;
	struct cport_buf_reg reg;
	struct cport port;
	int err = 1;

	net_port_init(&port, 8);
	errno = ERRNO_CANARY;
	br = cport_setup_buf_ring(&port, 16, 5, &err);
	ck_assert_int_eq(errno, ERRNO_CANARY);
	ck_assert_msg(br, "cport_setup_buf_ring: %d", err);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq((uintptr_t)br % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_eq(br->tail, 0);
	ck_assert_uint_eq(br->head, 0);

	/* The group is taken: by hand and through setup. */
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = 16;
	reg.bgid = 5;
	ck_assert_int_eq(KEEP_ERRNO(cport_register_buf_ring(&port, &reg)),
			 -EEXIST);
	err = 1;
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 16, 5, &err));
	ck_assert_int_eq(err, -EEXIST);

	/* Another group is not. */
	br2 = cport_setup_buf_ring(&port, 1, 6, &err);
	ck_assert_msg(br2, "cport_setup_buf_ring(bgid 6): %d", err);

	ck_assert_int_eq(KEEP_ERRNO(cport_free_buf_ring(&port, br, 16, 5)), 0);
	ck_assert_int_eq(KEEP_ERRNO(cport_unregister_buf_ring(&port, 5)),
			 -ENOENT);
	ck_assert_int_eq(cport_unregister_buf_ring(&port, 4), -ENOENT);
	/* The group is free again. */
	br = cport_setup_buf_ring(&port, 16, 5, &err);
	ck_assert_msg(br, "cport_setup_buf_ring again: %d", err);
	ck_assert_int_eq(cport_unregister_buf_ring(&port, 5), 0);
	/* Not registered any more: free still unmaps, and says so. */
	ck_assert_int_eq(cport_free_buf_ring(&port, br, 16, 5), -ENOENT);
	ck_assert_int_eq(cport_free_buf_ring(&port, br2, 1, 6), 0);
	cport_queue_exit(&port);
}
END_TEST

START_TEST(register_buf_ring_errors_are_the_kernels)
{
	static uint64_t ring[2 + 2 * 8];	/* 8 entries, 8-byte aligned */
	struct cport_buf_reg reg;
	struct cport port;
	int err = 1;

	net_port_init(&port, 8);
	ck_assert_ptr_null(cport_setup_buf_ring(&port, 8,
						CPORT_BUF_GROUPS_MAX, &err));
	ck_assert_int_eq(err, -EINVAL);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)ring + 4;	/* not 8-byte aligned */
	reg.ring_entries = 8;
	ck_assert_int_eq(cport_register_buf_ring(&port, &reg), -EINVAL);
	reg.ring_addr = (uintptr_t)ring;
	reg.ring_entries = 3;			/* not a power of two */
	ck_assert_int_eq(cport_register_buf_ring(&port, &reg), -EINVAL);
	reg.ring_entries = 8;
	reg.flags = 1;
	ck_assert_int_eq(cport_register_buf_ring(&port, &reg), -EINVAL);
	reg.flags = 0;
	reg.resv[1] = 1;
	ck_assert_int_eq(cport_register_buf_ring(&port, &reg), -EINVAL);
	reg.resv[1] = 0;
	if (sizeof(void *) == 8) {
		/* The kernel's half of the address space. */
		reg.ring_addr = 0xffff888000000000ULL;
		ck_assert_int_eq(cport_register_buf_ring(&port, &reg),
				 -EFAULT);
	}
	/* What setup hands the kernel is accepted, so the above were bad. */
	reg.ring_addr = (uintptr_t)ring;
	ck_assert_int_eq(cport_register_buf_ring(&port, &reg), 0);
	ck_assert_int_eq(cport_unregister_buf_ring(&port, 0), 0);
	ck_assert_int_eq(cport_unregister_buf_ring(&port,
						   CPORT_BUF_GROUPS_MAX),
			 -EINVAL);
	cport_queue_exit(&port);
}
END_TEST

/* A RECV with buffer select takes the next ring buffer and names it. */
START_TEST(recv_select_takes_a_ring_buffer)
{
	static char bufs[2][32];
	struct cport_buf_ring *br;
	struct cport_cqe cqe;
	struct cport port;
	int sv[2], err;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	net_port_init(&port, 8);
	br = cport_setup_buf_ring(&port, 2, 1, &err);
	ck_assert_msg(br, "cport_setup_buf_ring: %d", err);
	cport_buf_ring_add(br, bufs[0], sizeof(bufs[0]), 10,
			   cport_buf_ring_mask(2), 0);
	cport_buf_ring_add(br, bufs[1], sizeof(bufs[1]), 11,
			   cport_buf_ring_mask(2), 1);
	cport_buf_ring_advance(br, 2);

	/* Submitted before the data: an idle op holds no buffer. */
	cport_prep_recv_select(cport_get_sqe(&port), sv[0], 1, 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_uint_eq(__atomic_load_n(&br->head, __ATOMIC_ACQUIRE), 0);
	ck_assert_int_eq(write(sv[1], "hello", 5), 5);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, 5);
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), 10);
	ck_assert_int_eq(memcmp(bufs[0], "hello", 5), 0);

	/* max_len bounds what is taken. */
	ck_assert_int_eq(write(sv[1], "abcdef", 6), 6);
	cport_prep_recv_select(cport_get_sqe(&port), sv[0], 1, 4, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, 4);
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), 11);
	ck_assert_int_eq(memcmp(bufs[1], "abcd", 4), 0);

	/* The ring is empty now: -ENOBUFS, no buffer, data kept. */
	cport_prep_recv_select(cport_get_sqe(&port), sv[0], 1, 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, -ENOBUFS);
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), -1);

	/* A group never registered: -ENOENT. */
	cport_prep_recv_select(cport_get_sqe(&port), sv[0], 9, 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(wait_pop(&port).res, -ENOENT);

	ck_assert_int_eq(cport_free_buf_ring(&port, br, 2, 1), 0);
	cport_queue_exit(&port);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A CQE of a multishot RECV that took buffer @bid for @len bytes. */
static void want_shot(struct cport_cqe cqe, int len, int bid)
{
	ck_assert_int_eq(cqe.res, len);
	ck_assert_int_eq(cport_cqe_buffer_id(&cqe), bid);
	ck_assert_uint_eq(cqe.flags & CPORT_CQE_F_MORE, CPORT_CQE_F_MORE);
}

/*
 * A multishot RECV: a CQE and a ring buffer per arrival, several for an
 * arrival larger than a buffer, -ENOBUFS when the ring runs dry (the
 * rest stays in the socket), and a terminal res 0 at end of file.
 */
START_TEST(recv_multishot_takes_a_buffer_per_arrival)
{
	static char bufs[4][8];
	struct cport_buf_ring *br;
	struct cport_cqe cqe;
	struct cport port;
	int mask = cport_buf_ring_mask(4), sv[2], err, i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	net_port_init(&port, 8);
	br = cport_setup_buf_ring(&port, 4, 0, &err);
	ck_assert_msg(br, "cport_setup_buf_ring: %d", err);
	for (i = 0; i < 4; i++)
		cport_buf_ring_add(br, bufs[i], sizeof(bufs[i]),
				   (unsigned short)i, mask, i);
	cport_buf_ring_advance(br, 4);

	cport_prep_recv_multishot(cport_get_sqe(&port), sv[0], 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	ck_assert_int_eq(write(sv[1], "abc", 3), 3);
	want_shot(wait_pop(&port), 3, 0);
	ck_assert_int_eq(memcmp(bufs[0], "abc", 3), 0);

	/* 12 bytes: a full buffer, then the 4 left. */
	ck_assert_int_eq(write(sv[1], "0123456789ab", 12), 12);
	want_shot(wait_pop(&port), 8, 1);
	want_shot(wait_pop(&port), 4, 2);
	ck_assert_int_eq(memcmp(bufs[1], "01234567", 8), 0);
	ck_assert_int_eq(memcmp(bufs[2], "89ab", 4), 0);

	/* Buffer 0 goes back; 20 bytes need three buffers, two are left. */
	cport_buf_ring_add(br, bufs[0], sizeof(bufs[0]), 0, mask, 0);
	cport_buf_ring_advance(br, 1);
	ck_assert_int_eq(write(sv[1], "ABCDEFGHIJKLMNOPQRST", 20), 20);
	want_shot(wait_pop(&port), 8, 3);
	want_shot(wait_pop(&port), 8, 0);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, -ENOBUFS);
	ck_assert_uint_eq(cqe.flags & (CPORT_CQE_F_MORE | CPORT_CQE_F_BUFFER),
			  0);
	ck_assert_int_eq(memcmp(bufs[3], "ABCDEFGH", 8), 0);
	ck_assert_int_eq(memcmp(bufs[0], "IJKLMNOP", 8), 0);
	ck_assert_uint_eq(__atomic_load_n(&br->head, __ATOMIC_ACQUIRE), 5);

	/* Refilled, a new multishot gets what stayed, then end of file. */
	for (i = 0; i < 4; i++)
		cport_buf_ring_add(br, bufs[i], sizeof(bufs[i]),
				   (unsigned short)i, mask, i);
	cport_buf_ring_advance(br, 4);
	cport_prep_recv_multishot(cport_get_sqe(&port), sv[0], 0, 0);
	ck_assert_int_eq(cport_submit(&port), 1);
	/* The entries are taken in ring order: bid 0 was added first. */
	want_shot(wait_pop(&port), 4, 0);
	ck_assert_int_eq(memcmp(bufs[0], "QRST", 4), 0);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	cqe = wait_pop(&port);
	ck_assert_int_eq(cqe.res, 0);
	ck_assert_uint_eq(cqe.flags & (CPORT_CQE_F_MORE | CPORT_CQE_F_BUFFER),
			  0);
	ck_assert_int_eq(pop_cqe(&port, &cqe), -EAGAIN);

	ck_assert_int_eq(cport_free_buf_ring(&port, br, 4, 0), 0);
	cport_queue_exit(&port);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

Suite *net_device_suite(void)
{
	Suite *s = suite_create("net");

	ADD_TESTS(s, tcase_device("buf_ring"), 0,
		  setup_buf_ring_registers_and_free_unregisters,
		  register_buf_ring_errors_are_the_kernels,
		  recv_select_takes_a_ring_buffer,
		  recv_multishot_takes_a_buffer_per_arrival);
	return s;
}
