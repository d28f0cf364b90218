// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of a port: the three regions, their sizes and layout, and the
 * errors for unknown offsets, oversize lengths and private mappings.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_test.h"

#define PAGE	4096UL

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

/* A set-up port, not mapped: the tests map it themselves. */
FIXTURE(layout) {
	struct port pt;
	off_t off[3];
	size_t size[3];
};

FIXTURE_VARIANT(layout) {
	__u32 sq_entries;
	__u32 cq_entries;	/* 0: default */
};

FIXTURE_VARIANT_ADD(layout, sq1_default_cq) { .sq_entries = 1 };
FIXTURE_VARIANT_ADD(layout, sq64_default_cq) { .sq_entries = 64 };
FIXTURE_VARIANT_ADD(layout, sq256_cq4096) {
	.sq_entries = 256, .cq_entries = 4096,
};

FIXTURE_SETUP(layout)
{
	struct port *pt = &self->pt;

	pt->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	pt->fd = cport_open();
	ASSERT_LE(0, pt->fd);
	pt->p.sq_entries = variant->sq_entries;
	pt->p.cq_entries = variant->cq_entries;
	pt->p.flags = variant->cq_entries ? CPORT_SETUP_CQSIZE : 0;
	ASSERT_EQ(0, sys_setup(pt->fd, &pt->p));
	self->off[0] = CPORT_OFF_SQ_RING;
	self->size[0] = port_sq_ring_size(&pt->p);
	self->off[1] = CPORT_OFF_SQES;
	self->size[1] = port_sqes_size(&pt->p);
	self->off[2] = CPORT_OFF_CQ_RING;
	self->size[2] = port_cq_ring_size(&pt->p);
}

FIXTURE_TEARDOWN(layout)
{
	port_fini(&self->pt);
}

TEST_F(layout, maps_each_region_at_its_offset)
{
	struct port *pt = &self->pt;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_map(pt));
	EXPECT_EQ(variant->sq_entries, pt->p.sq_entries);
	EXPECT_EQ(pt->p.sq_entries, *pt->sq_entries);
	EXPECT_EQ(pt->p.sq_entries - 1, *pt->sq_mask);
	EXPECT_EQ(pt->p.cq_entries, *pt->cq_entries);
	EXPECT_EQ(pt->p.cq_entries - 1, *pt->cq_mask);
	EXPECT_EQ(0, *pt->sq_head);
	EXPECT_EQ(0, *pt->sq_tail);
	EXPECT_EQ(0, *pt->sq_flags);
	EXPECT_EQ(0, *pt->cq_head);
	EXPECT_EQ(0, *pt->cq_tail);
	EXPECT_EQ(0, *pt->cq_flags);
	EXPECT_EQ(0, *pt->cq_overflow);
}

TEST_F(layout, cq_mapping_shows_posted_cqe)
{
	struct port *pt = &self->pt;
	__u32 last = variant->sq_entries == 1 ? 1 : 2;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_map(pt));
	ASSERT_EQ(0, sys_post(pt->fd, 0x1234, -5));
	ASSERT_EQ(0, sys_post(pt->fd, 0x5678, last));
	EXPECT_EQ(2, load_acquire(pt->cq_tail));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x1234, c.user_data);
	EXPECT_EQ(-5, c.res);
	EXPECT_EQ(0, c.flags);
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x5678, c.user_data);
	EXPECT_EQ(last, c.res);
}

TEST_F(layout, exact_unaligned_length_ok)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		void *m = port_mmap(self->pt.fd, self->size[i], self->off[i]);

		EXPECT_NE(MAP_FAILED, m) TH_LOG("region %d errno %d", i, errno);
		if (m != MAP_FAILED)
			munmap(m, self->size[i]);
	}
}

TEST_F(layout, page_rounded_length_ok)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		size_t len = page_round(self->size[i]);
		void *m = port_mmap(self->pt.fd, len, self->off[i]);

		EXPECT_NE(MAP_FAILED, m) TH_LOG("region %d errno %d", i, errno);
		if (m != MAP_FAILED)
			munmap(m, len);
	}
}

TEST_F(layout, shorter_length_ok)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		void *m = port_mmap(self->pt.fd, 1, self->off[i]);

		EXPECT_NE(MAP_FAILED, m) TH_LOG("region %d errno %d", i, errno);
		if (m != MAP_FAILED)
			munmap(m, 1);
	}
}

TEST_F(layout, length_beyond_region_einval)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		size_t len = page_round(self->size[i]) + PAGE;
		void *m = port_mmap(self->pt.fd, len, self->off[i]);

		EXPECT_EQ(MAP_FAILED, m) TH_LOG("region %d mapped", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("region %d", i);
		if (m != MAP_FAILED)
			munmap(m, len);
	}
}

TEST_F(layout, huge_length_einval)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		size_t len = 64UL << 20;
		void *m = port_mmap(self->pt.fd, len, self->off[i]);

		EXPECT_EQ(MAP_FAILED, m) TH_LOG("region %d mapped", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("region %d", i);
		if (m != MAP_FAILED)
			munmap(m, len);
	}
}

TEST_F(layout, unknown_offset_einval)
{
	static const off_t bad[] = {
		0x1000, 0x2000, CPORT_OFF_CQ_RING - 0x1000,
		CPORT_OFF_CQ_RING + 0x1000, CPORT_OFF_SQES - 0x1000,
		CPORT_OFF_SQES + 0x1000, CPORT_OFF_FLAGS + 0x1000, 0x20000000, 0x40000000,
		0x7ffff000, 1LL << 40,
	};
	unsigned int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		void *m = port_mmap(self->pt.fd, PAGE, bad[i]);

		EXPECT_EQ(MAP_FAILED, m) TH_LOG("offset %#llx mapped",
						 (long long)bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("offset %#llx",
						(long long)bad[i]);
		if (m != MAP_FAILED)
			munmap(m, PAGE);
	}
}

TEST_F(layout, private_mapping_einval)
{
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 3; i++) {
		void *m = mmap(NULL, self->size[i], PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, self->pt.fd, self->off[i]);

		EXPECT_EQ(MAP_FAILED, m) TH_LOG("region %d mapped private", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("region %d", i);
		if (m != MAP_FAILED)
			munmap(m, self->size[i]);
	}
}

TEST_F(layout, private_readonly_mapping_einval)
{
	void *m;

	CPORT_SKIP_IF_ABSENT();
	m = mmap(NULL, self->size[2], PROT_READ, MAP_PRIVATE, self->pt.fd,
		 CPORT_OFF_CQ_RING);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	if (m != MAP_FAILED)
		munmap(m, self->size[2]);
}

TEST_F(layout, two_cq_mappings_share_pages)
{
	struct port *pt = &self->pt;
	char *second;
	__u32 *head2, *tail2;
	struct cport_cqe *cqes2;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_map(pt));
	second = port_mmap(pt->fd, pt->cq_ring_sz, CPORT_OFF_CQ_RING);
	ASSERT_NE(MAP_FAILED, second);
	head2 = (__u32 *)(second + pt->p.cq_off.head);
	tail2 = (__u32 *)(second + pt->p.cq_off.tail);
	cqes2 = (struct cport_cqe *)(second + pt->p.cq_off.cqes);

	ASSERT_EQ(0, sys_post(pt->fd, 0xabcdef, 99));
	EXPECT_EQ(1, load_acquire(tail2));
	EXPECT_EQ(0xabcdef, cqes2[0].user_data);
	EXPECT_EQ(99, cqes2[0].res);
	/* head written through one mapping is seen through the other */
	store_release(head2, 1);
	EXPECT_EQ(1, load_acquire(pt->cq_head));
	EXPECT_EQ(0, cq_ready(pt));
	munmap(second, pt->cq_ring_sz);
}

TEST_F(layout, second_sqe_mapping_feeds_the_kernel)
{
	struct port *pt = &self->pt;
	struct cport_sqe *sqes2;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_map(pt));
	sqes2 = port_mmap(pt->fd, pt->sqes_sz, CPORT_OFF_SQES);
	ASSERT_NE(MAP_FAILED, sqes2);
	sqes2[0] = sqe_nop(0x5eed);
	store_release(pt->sq_tail, 1);
	ASSERT_EQ(1, sys_enter(pt->fd, 1, 0, 0, 0));
	EXPECT_EQ(1, load_acquire(pt->sq_head));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(0x5eed, c.user_data);
	EXPECT_EQ(0, c.res);
	munmap(sqes2, pt->sqes_sz);
}

TEST_F(layout, remap_after_munmap_sees_same_state)
{
	struct port *pt = &self->pt;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(0, port_map(pt));
	ASSERT_EQ(0, sys_post(pt->fd, 41, 1));
	ASSERT_EQ(0, sys_post(pt->fd, 42, 2));
	ASSERT_TRUE(cq_pop(pt, &c));
	port_unmap(pt);
	ASSERT_EQ(0, port_map(pt));
	EXPECT_EQ(1, load_acquire(pt->cq_head));
	EXPECT_EQ(2, load_acquire(pt->cq_tail));
	ASSERT_TRUE(cq_pop(pt, &c));
	EXPECT_EQ(42, c.user_data);
	EXPECT_EQ(2, c.res);
}

TEST_HARNESS_MAIN
