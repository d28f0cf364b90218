// SPDX-License-Identifier: GPL-2.0
/*
 * Common event flag clusters: CPORT_IOC_CLUSTER (associate, create,
 * exclusive create, disassociate, permanent clusters, delete), handles,
 * every errno, SysV-like permissions checked with unprivileged uids and
 * dropped capabilities, user namespaces, the per-user limit, flag calls,
 * ops and waits through a handle, processes sharing a cluster and races
 * between setters, clearers and consuming waiters in several processes.
 *
 * The VM runs the tests as root; tests that need another user fork a
 * child that switches to it. Every expectation comes from the "Event
 * flags" section of Documentation/userspace-api.rst.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <grp.h>
#include <poll.h>
#include <linux/capability.h>

#include "cport_test.h"

#define WAIT_NS		(10 * NSEC_PER_SEC)
#define MS		NSEC_PER_MSEC

/* Unprivileged ids the children switch to. */
#define UID_A		1000
#define UID_B		1001
#define UID_Q		1003
#define GID_A		1000
#define GID_B		1002

#define DEF_MAX_CLUSTERS_PER_USER	64

/* Reap the next CQE, waiting up to WAIT_NS. */
#define NEXT(pt, c) ASSERT_EQ(0, cq_wait((pt), (c), WAIT_NS))

/* Push and submit SQE @sqe; ASSERTs it was consumed. */
#define SUBMIT(pt, sqe) do {						\
	struct cport_sqe __s = (sqe);					\
	ASSERT_EQ(1, submit_n((pt), &__s, 1));				\
} while (0)

/* Two set-up ports, a and b, and a cluster name of this test. */
FIXTURE(cl) {
	struct port a, b;
	char name[64];
};

FIXTURE_SETUP(cl)
{
	self->a.fd = -1;
	self->b.fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	ASSERT_EQ(0, port_init(&self->a, 8, 32, 0));
	ASSERT_EQ(0, port_init(&self->b, 8, 32, 0));
	cluster_name(self->name, sizeof(self->name), "x");
}

FIXTURE_TEARDOWN(cl)
{
	port_fini(&self->a);
	port_fini(&self->b);
}

/* ----------------------------------------------------------------- */
/* what forked children report: each step's return value */

struct out {
	int r[40];
	__u64 v[8];
};

static struct out *out_new(void)
{
	void *p = mmap(NULL, sizeof(struct out), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x7f, sizeof(struct out));	/* "step not reached" */
	return p;
}

#define NOT_REACHED	0x7f7f7f7f

static void out_free(struct out *o)
{
	if (o)
		munmap(o, sizeof(*o));
}

/* What a child needs: names, ids, where to report. */
struct kid {
	char name[64];
	char name2[64];
	uid_t uid;
	gid_t gid;
	int rfd, wfd;		/* pipe ends, when the test talks to it */
	struct out *out;
};

/* ----------------------------------------------------------------- */
/* CPORT_CLUSTER_ASSOC: create, attach, exclusive create, handles */

TEST_F(cl, create_returns_1_attach_returns_0)
{
	__u32 ha = 0, hb = 0, hc = 0;
	int c;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	EXPECT_EQ(1, ha);
	/* CREATE of an existing cluster attaches */
	EXPECT_EQ(0, cluster_assoc(self->b.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &hb));
	EXPECT_EQ(1, hb);
	/* works before setup too */
	c = cport_open();
	ASSERT_LE(0, c);
	EXPECT_EQ(0, cluster_assoc(c, self->name, 0, 0, &hc));
	EXPECT_EQ(1, hc);
	/* one cluster: a set through one handle shows through the others */
	EXPECT_EQ(0, flag_set(self->a.fd, ha, 5));
	EXPECT_EQ(BIT64(5), flags_of(self->b.fd, hb));
	EXPECT_EQ(BIT64(5), flags_of(c, hc));
	EXPECT_EQ(1, flag_set(c, hc, 5));
	/* and apart from the local clusters */
	EXPECT_EQ(0, flags_of(self->a.fd, CPORT_LOCAL));
	EXPECT_EQ(1, fdinfo(c, "ef_clusters"));
	close(c);
}

TEST_F(cl, handles_are_the_lowest_free_from_1)
{
	char n[7][64];
	__u32 h;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < 7; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "h%d", i);
		cluster_name(n[i], sizeof(n[i]), tag);
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, cluster_assoc(self->a.fd, n[i],
					   CPORT_CLUSTER_CREATE, 0600, &h));
		EXPECT_EQ(i + 1, h);
	}
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, 2));
	ASSERT_EQ(1, cluster_assoc(self->a.fd, n[3], CPORT_CLUSTER_CREATE,
				   0600, &h));
	EXPECT_EQ(2, h);
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, 1));
	ASSERT_EQ(1, cluster_assoc(self->a.fd, n[4], CPORT_CLUSTER_CREATE,
				   0600, &h));
	EXPECT_EQ(1, h);
	ASSERT_EQ(1, cluster_assoc(self->a.fd, n[5], CPORT_CLUSTER_CREATE,
				   0600, &h));
	EXPECT_EQ(4, h);
	EXPECT_EQ(4, fdinfo(self->a.fd, "ef_clusters"));
	/* handles are per port */
	ASSERT_EQ(1, cluster_assoc(self->b.fd, n[6], CPORT_CLUSTER_CREATE,
				   0600, &h));
	EXPECT_EQ(1, h);
	ASSERT_EQ(0, cluster_assoc(self->b.fd, n[5], 0, 0, &h));
	EXPECT_EQ(2, h);
	ASSERT_EQ(0, flag_set(self->a.fd, 4, 9));
	EXPECT_EQ(BIT64(9), flags_of(self->b.fd, 2));
	EXPECT_EQ(0, flags_of(self->b.fd, 1));
}

TEST_F(cl, attach_of_a_missing_name_enoent)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, cluster_assoc(self->a.fd, self->name, 0, 0, &h));
	EXPECT_EQ(-ENOENT, cluster_assoc(self->a.fd, self->name,
					 CPORT_CLUSTER_RDONLY, 0, &h));
	/* nothing was created by the failed calls */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->b.fd, self->name, 0, 0, &h));
	EXPECT_EQ(0, fdinfo(self->a.fd, "ef_clusters"));
}

TEST_F(cl, create_excl)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE | CPORT_CLUSTER_EXCL,
				   0600, &h));
	EXPECT_EQ(1, h);
	EXPECT_EQ(-EEXIST, cluster_assoc(self->b.fd, self->name,
					 CPORT_CLUSTER_CREATE |
					 CPORT_CLUSTER_EXCL, 0600, &h));
	EXPECT_EQ(0, fdinfo(self->b.fd, "ef_clusters"));
	/* the existing one is untouched */
	ASSERT_EQ(0, flag_set(self->a.fd, 1, 3));
	EXPECT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &h));
	EXPECT_EQ(BIT64(3), flags_of(self->b.fd, h));
}

TEST_F(cl, second_association_on_one_port_ebusy)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	EXPECT_EQ(-EBUSY, cluster_assoc(self->a.fd, self->name, 0, 0, &h));
	EXPECT_EQ(-EBUSY, cluster_assoc(self->a.fd, self->name,
					CPORT_CLUSTER_CREATE, 0600, &h));
	EXPECT_EQ(-EBUSY, cluster_assoc(self->a.fd, self->name,
					CPORT_CLUSTER_RDONLY, 0, &h));
	EXPECT_EQ(-EEXIST, cluster_assoc(self->a.fd, self->name,
					 CPORT_CLUSTER_CREATE |
					 CPORT_CLUSTER_EXCL, 0600, &h));
	EXPECT_EQ(1, fdinfo(self->a.fd, "ef_clusters"));
	/* after disassociating it may be associated again */
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, NULL));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, 1));
	EXPECT_EQ(0, cluster_assoc(self->a.fd, self->name, 0, 0, &h));
	EXPECT_EQ(1, h);
}

TEST_F(cl, emfile_past_32_clusters_on_one_port)
{
	char n[64];
	__u32 h = 0;
	int i;

	CPORT_SKIP_IF_ABSENT();
	for (i = 0; i < (int)CPORT_CLUSTER_MAX; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "m%d", i);
		cluster_name(n, sizeof(n), tag);
		ASSERT_EQ(1, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE,
					   0600, &h)) TH_LOG("cluster %d", i);
		ASSERT_EQ(i + 1, h);
	}
	cluster_name(n, sizeof(n), "m32");
	EXPECT_EQ(-EMFILE, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE,
					 0600, &h));
	/* not created */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->b.fd, n, 0, 0, &h));
	/* an existing one cannot be attached either */
	ASSERT_EQ(1, cluster_assoc(self->b.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	EXPECT_EQ(-EMFILE, cluster_assoc(self->a.fd, n, 0, 0, &h));
	EXPECT_EQ(32, fdinfo(self->a.fd, "ef_clusters"));
	/* one freed, one more */
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, 17));
	EXPECT_EQ(0, cluster_assoc(self->a.fd, n, 0, 0, &h));
	EXPECT_EQ(17, h);
}

/* ----------------------------------------------------------------- */
/* argument checks */

TEST_F(cl, cluster_null_argument_efault)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-1, ioctl(self->a.fd, CPORT_IOC_CLUSTER, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(cl, cluster_unreadable_argument_efault)
{
	void *bad = fault_page();

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, ioctl(self->a.fd, CPORT_IOC_CLUSTER, bad));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, 4096);
}

TEST_F(cl, assoc_handle_unwritable_efault)
{
	struct cport_cluster *c;

	CPORT_SKIP_IF_ABSENT();
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	c->op = CPORT_CLUSTER_ASSOC;
	c->flags = CPORT_CLUSTER_CREATE;
	c->mode = 0600;
	strcpy(c->name, self->name);
	ASSERT_EQ(0, mprotect(c, 4096, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->a.fd, CPORT_IOC_CLUSTER, c));
	EXPECT_EQ(EFAULT, errno);
	munmap(c, 4096);
}

/*
 * Bad CPORT_IOC_CLUSTER arguments. NAME_OK stands for this test's own
 * name; the port has that cluster associated as handle 1 (created with
 * flag 2 set) before the call, and nothing may change.
 */
FIXTURE(bad_cl) {
	int fd, other;
	char name[64];
};

FIXTURE_SETUP(bad_cl)
{
	self->fd = -1;
	self->other = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	self->fd = cport_open();
	ASSERT_LE(0, self->fd);
	self->other = cport_open();
	ASSERT_LE(0, self->other);
	cluster_name(self->name, sizeof(self->name), "bad");
}

FIXTURE_TEARDOWN(bad_cl)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->other >= 0)
		close(self->other);
}

enum name_kind { NAME_OK, NAME_NONE, NAME_LIT, NAME_64, NAME_FRESH };

FIXTURE_VARIANT(bad_cl) {
	__u32 op, flags, mode, cluster;
	enum name_kind name;
	const char *lit;	/* NAME_LIT */
	__u64 resv0, resv1;
};

#define ASSOC		.op = CPORT_CLUSTER_ASSOC
#define DISASSOC	.op = CPORT_CLUSTER_DISASSOC
#define DELETE		.op = CPORT_CLUSTER_DELETE
#define CREATE		.flags = CPORT_CLUSTER_CREATE, .mode = 0600
#define FRESH		.name = NAME_FRESH
#define LIT(s)		.name = NAME_LIT, .lit = (s)

FIXTURE_VARIANT_ADD(bad_cl, unknown_op_3) { .op = 3, FRESH };
FIXTURE_VARIANT_ADD(bad_cl, unknown_op_max) { .op = 0xffffffffU, FRESH };
FIXTURE_VARIANT_ADD(bad_cl, assoc_unknown_flag)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_CREATE | (1U << 4),
	  .mode = 0600 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_unknown_flag_high)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_CREATE | (1U << 31),
	  .mode = 0600 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_excl_without_create)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_EXCL };
FIXTURE_VARIANT_ADD(bad_cl, assoc_permanent_without_create)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_PERMANENT };
FIXTURE_VARIANT_ADD(bad_cl, assoc_mode_above_0777)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_CREATE, .mode = 01000 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_mode_setuid_bit)
	{ ASSOC, FRESH, .flags = CPORT_CLUSTER_CREATE, .mode = 04600 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_mode_without_create)
	{ ASSOC, FRESH, .mode = 0600 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_resv0) { ASSOC, FRESH, CREATE, .resv0 = 1 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_resv1)
	{ ASSOC, FRESH, CREATE, .resv1 = 1ULL << 63 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_empty)
	{ ASSOC, CREATE, .name = NAME_NONE };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_64_bytes_without_nul)
	{ ASSOC, CREATE, .name = NAME_64 };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_space) { ASSOC, CREATE, LIT("a b") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_slash) { ASSOC, CREATE, LIT("a/b") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_colon) { ASSOC, CREATE, LIT("a:b") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_star) { ASSOC, CREATE, LIT("a*") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_at) { ASSOC, CREATE, LIT("@a") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_newline)
	{ ASSOC, CREATE, LIT("a\n") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_tab) { ASSOC, CREATE, LIT("\ta") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_utf8)
	{ ASSOC, CREATE, LIT("caf\xc3\xa9") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_del) { ASSOC, CREATE, LIT("a\x7f") };
FIXTURE_VARIANT_ADD(bad_cl, assoc_name_high_byte)
	{ ASSOC, CREATE, LIT("\xff") };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_not_associated_2)
	{ DISASSOC, .cluster = 2 };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_0) { DISASSOC, .cluster = 0 };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_33) { DISASSOC, .cluster = 33 };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_max) { DISASSOC, .cluster = ~0U };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_with_name)
	{ DISASSOC, .cluster = 1, .name = NAME_OK };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_with_flags)
	{ DISASSOC, .cluster = 1, .flags = CPORT_CLUSTER_RDONLY };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_with_mode)
	{ DISASSOC, .cluster = 1, .mode = 0600 };
FIXTURE_VARIANT_ADD(bad_cl, disassoc_resv0)
	{ DISASSOC, .cluster = 1, .resv0 = 1 };
FIXTURE_VARIANT_ADD(bad_cl, delete_with_flags)
	{ DELETE, .name = NAME_OK, .flags = CPORT_CLUSTER_CREATE };
FIXTURE_VARIANT_ADD(bad_cl, delete_with_mode)
	{ DELETE, .name = NAME_OK, .mode = 0600 };
FIXTURE_VARIANT_ADD(bad_cl, delete_with_cluster)
	{ DELETE, .name = NAME_OK, .cluster = 1 };
FIXTURE_VARIANT_ADD(bad_cl, delete_resv1)
	{ DELETE, .name = NAME_OK, .resv1 = 1 };
FIXTURE_VARIANT_ADD(bad_cl, delete_name_empty) { DELETE, .name = NAME_NONE };
FIXTURE_VARIANT_ADD(bad_cl, delete_name_64_bytes_without_nul)
	{ DELETE, .name = NAME_64 };
FIXTURE_VARIANT_ADD(bad_cl, delete_name_slash) { DELETE, LIT("a/b") };

TEST_F(bad_cl, einval_and_nothing_changes)
{
	struct cport_cluster c = {
		.op = variant->op, .flags = variant->flags,
		.mode = variant->mode, .cluster = variant->cluster,
		.resv = { variant->resv0, variant->resv1 },
	};
	char fresh[64];
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &h));
	ASSERT_EQ(1, h);
	ASSERT_EQ(0, flag_set(self->fd, 1, 2));
	cluster_name(fresh, sizeof(fresh), "fresh");
	switch (variant->name) {
	case NAME_OK:
		strcpy(c.name, self->name);
		break;
	case NAME_FRESH:
		strcpy(c.name, fresh);
		break;
	case NAME_LIT:
		strcpy(c.name, variant->lit);
		break;
	case NAME_64:
		memset(c.name, 'a', sizeof(c.name));
		break;
	case NAME_NONE:
		break;
	}
	EXPECT_EQ(-EINVAL, sys_cluster(self->fd, &c));
	/* the association, the cluster and its flags are still there */
	EXPECT_EQ(1, fdinfo(self->fd, "ef_clusters"));
	EXPECT_EQ(BIT64(2), flags_of(self->fd, 1));
	EXPECT_EQ(0, cluster_assoc(self->other, self->name, 0, 0, &h));
	EXPECT_EQ(BIT64(2), flags_of(self->other, h));
	/* nothing was created */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->other, fresh, 0, 0, &h));
}

TEST_F(cl, name_limits_and_every_allowed_character)
{
	char n[64], tail[64];
	__u32 h = 0;
	int len;

	CPORT_SKIP_IF_ABSENT();
	/* 63 bytes and a NUL */
	cluster_name(n, sizeof(n), "");
	len = strlen(n);
	memset(tail, 'z', sizeof(tail));
	tail[63 - len] = '\0';
	strcat(n, tail);
	ASSERT_EQ(63, strlen(n));
	EXPECT_EQ(1, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	EXPECT_EQ(0, cluster_assoc(self->b.fd, n, 0, 0, &h));
	/* every character of [A-Za-z0-9_.$-] */
	cluster_name(n, sizeof(n), "AZaz09_.$-");
	EXPECT_EQ(1, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	/* one byte */
	snprintf(n, sizeof(n), "%c", 'A' + getpid() % 26);
	EXPECT_LE(0, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	/* names are case-sensitive */
	cluster_name(n, sizeof(n), "Case");
	EXPECT_EQ(1, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	cluster_name(n, sizeof(n), "case");
	EXPECT_EQ(1, cluster_assoc(self->a.fd, n, CPORT_CLUSTER_CREATE, 0600,
				   &h));
}

TEST_F(cl, disassoc_of_a_handle_not_associated_einval)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-EINVAL, cluster_disassoc(self->a.fd, 1));
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	EXPECT_EQ(0, cluster_disassoc(self->a.fd, h));
	EXPECT_EQ(-EINVAL, cluster_disassoc(self->a.fd, h));
	/* and the handle no longer works for flags */
	EXPECT_EQ(-EINVAL, flag_set(self->a.fd, h, 1));
	EXPECT_EQ(0, fdinfo(self->a.fd, "ef_clusters"));
}

/* ----------------------------------------------------------------- */
/* life time, permanent clusters, delete */

TEST_F(cl, cluster_vanishes_with_its_last_association)
{
	__u32 ha = 0, hb = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 5));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, ha));
	/* b keeps it, flags and all */
	EXPECT_EQ(BIT64(5), flags_of(self->b.fd, hb));
	EXPECT_EQ(0, cluster_assoc(self->a.fd, self->name, 0, 0, &ha));
	EXPECT_EQ(BIT64(5), flags_of(self->a.fd, ha));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, ha));
	ASSERT_EQ(0, cluster_disassoc(self->b.fd, hb));
	/* gone */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->a.fd, self->name, 0, 0, &ha));
	EXPECT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	EXPECT_EQ(0, flags_of(self->a.fd, ha));
}

TEST_F(cl, cluster_vanishes_when_its_last_port_closes)
{
	__u32 h = 0;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	fd = cport_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, cluster_assoc(fd, self->name, CPORT_CLUSTER_CREATE, 0600,
				   &h));
	ASSERT_EQ(0, flag_set(fd, h, 7));
	close(fd);
	EXPECT_EQ(-ENOENT, cluster_assoc(self->a.fd, self->name, 0, 0, &h));
	EXPECT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	EXPECT_EQ(0, flags_of(self->a.fd, h));
}

/* Permanent clusters outlive their associations: delete them at the end. */
FIXTURE(perm) {
	int fd;
	char name[64], name2[64];
};

FIXTURE_SETUP(perm)
{
	self->fd = -1;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	self->fd = cport_open();
	ASSERT_LE(0, self->fd);
	cluster_name(self->name, sizeof(self->name), "perm");
	cluster_name(self->name2, sizeof(self->name2), "perm2");
}

FIXTURE_TEARDOWN(perm)
{
	if (self->fd < 0)
		return;
	cluster_delete(self->fd, self->name);
	cluster_delete(self->fd, self->name2);
	close(self->fd);
}

TEST_F(perm, permanent_survives_its_last_association_until_delete)
{
	__u32 h = 0;
	int fd;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(1, cluster_assoc(self->fd, self->name,
				   CPORT_CLUSTER_CREATE |
				   CPORT_CLUSTER_PERMANENT, 0600, &h));
	ASSERT_EQ(0, flag_set(self->fd, h, 7));
	ASSERT_EQ(0, cluster_disassoc(self->fd, h));
	/* still there, flags and all, also for another port */
	fd = cport_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, cluster_assoc(fd, self->name, 0, 0, &h));
	EXPECT_EQ(BIT64(7), flags_of(fd, h));
	close(fd);
	/* CREATE of it attaches */
	EXPECT_EQ(0, cluster_assoc(self->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &h));
	ASSERT_EQ(0, cluster_disassoc(self->fd, h));
	EXPECT_EQ(0, cluster_delete(self->fd, self->name));
	EXPECT_EQ(-ENOENT, cluster_assoc(self->fd, self->name, 0, 0, &h));
	EXPECT_EQ(-ENOENT, cluster_delete(self->fd, self->name));
}

TEST_F(perm, delete_of_a_missing_name_enoent)
{
	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(-ENOENT, cluster_delete(self->fd, self->name));
}

/*
 * DELETE removes the name at once; ports that have the cluster keep it,
 * and a later CREATE makes a new one. It works on any cluster.
 */
TEST_F(perm, delete_while_associated_keeps_it_for_its_ports)
{
	__u32 ha = 0, hb = 0;
	int b;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &ha));
	ASSERT_EQ(0, flag_set(self->fd, ha, 1));
	EXPECT_EQ(0, cluster_delete(self->fd, self->name));
	EXPECT_EQ(BIT64(1), flags_of(self->fd, ha));
	b = cport_open();
	ASSERT_LE(0, b);
	EXPECT_EQ(-ENOENT, cluster_assoc(b, self->name, 0, 0, &hb));
	EXPECT_EQ(1, cluster_assoc(b, self->name, CPORT_CLUSTER_CREATE, 0600,
				   &hb));
	EXPECT_EQ(0, flags_of(b, hb));
	ASSERT_EQ(0, flag_set(b, hb, 2));
	EXPECT_EQ(BIT64(1), flags_of(self->fd, ha));
	EXPECT_EQ(BIT64(2), flags_of(b, hb));
	/* the old one's flags still work for its port */
	EXPECT_EQ(1, flag_set(self->fd, ha, 1));
	close(b);
}

TEST_F(perm, delete_of_a_permanent_cluster_while_associated)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->fd, self->name,
				   CPORT_CLUSTER_CREATE |
				   CPORT_CLUSTER_PERMANENT, 0600, &h));
	ASSERT_EQ(0, flag_set(self->fd, h, 4));
	EXPECT_EQ(0, cluster_delete(self->fd, self->name));
	EXPECT_EQ(BIT64(4), flags_of(self->fd, h));
	ASSERT_EQ(0, cluster_disassoc(self->fd, h));
	EXPECT_EQ(-ENOENT, cluster_assoc(self->fd, self->name, 0, 0, &h));
}

static int permanent_without_cap_child(void *arg)
{
	struct kid *k = arg;
	__u32 h;
	int fd;

	k->out->r[0] = drop_cap(CAP_SYS_ADMIN);
	fd = cport_open();
	k->out->r[1] = fd < 0 ? fd : 0;
	k->out->r[2] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE |
				     CPORT_CLUSTER_PERMANENT, 0600, &h);
	k->out->r[3] = cluster_assoc(fd, k->name, 0, 0, &h);
	/* a cluster that is not permanent: fine */
	k->out->r[4] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE, 0600,
				     &h);
	close(fd);
	return 0;
}

TEST_F(perm, permanent_without_cap_sys_admin_eperm)
{
	struct kid k = { .out = out_new() };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	ASSERT_EQ(0, child_run(permanent_without_cap_child, &k));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(-EPERM, k.out->r[2]);
	EXPECT_EQ(-ENOENT, k.out->r[3]);
	EXPECT_EQ(1, k.out->r[4]);
	/* and it went with the child's port */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->fd, self->name, 0, 0, NULL));
	out_free(k.out);
}

static int permanent_as_user_child(void *arg)
{
	struct kid *k = arg;
	__u32 h;
	int fd;

	k->out->r[0] = become(k->uid, k->gid);
	fd = cport_open();
	k->out->r[1] = fd < 0 ? fd : 0;
	k->out->r[2] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE |
				     CPORT_CLUSTER_PERMANENT, 0600, &h);
	k->out->r[3] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE |
				     CPORT_CLUSTER_EXCL |
				     CPORT_CLUSTER_PERMANENT, 0600, &h);
	k->out->r[4] = cluster_assoc(fd, k->name, 0, 0, &h);
	close(fd);
	return 0;
}

TEST_F(perm, permanent_as_an_unprivileged_user_eperm)
{
	struct kid k = { .uid = UID_A, .gid = GID_A, .out = out_new() };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	ASSERT_EQ(0, child_run(permanent_as_user_child, &k));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(-EPERM, k.out->r[2]);
	EXPECT_EQ(-EPERM, k.out->r[3]);
	EXPECT_EQ(-ENOENT, k.out->r[4]);
	out_free(k.out);
}

static int delete_as_user_child(void *arg)
{
	struct kid *k = arg;
	__u32 h = 0;
	int fd;

	k->out->r[0] = become(k->uid, k->gid);
	fd = cport_open();
	k->out->r[1] = fd < 0 ? fd : 0;
	/* root's cluster, mode 0666: usable, not deletable */
	k->out->r[2] = cluster_assoc(fd, k->name, 0, 0, &h);
	k->out->r[3] = cluster_delete(fd, k->name);
	k->out->r[4] = cluster_assoc(fd, k->name, 0, 0, &h);
	/* its own cluster: deletable */
	k->out->r[5] = cluster_assoc(fd, k->name2, CPORT_CLUSTER_CREATE, 0600,
				     &h);
	k->out->r[6] = cluster_delete(fd, k->name2);
	k->out->r[7] = cluster_delete(fd, k->name2);
	close(fd);
	return 0;
}

TEST_F(perm, delete_by_another_uid_eperm)
{
	struct kid k = { .uid = UID_A, .gid = GID_A, .out = out_new() };
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	strcpy(k.name2, self->name2);
	ASSERT_EQ(1, cluster_assoc(self->fd, self->name,
				   CPORT_CLUSTER_CREATE |
				   CPORT_CLUSTER_PERMANENT, 0666, &h));
	ASSERT_EQ(0, cluster_disassoc(self->fd, h));
	ASSERT_EQ(0, child_run(delete_as_user_child, &k));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(0, k.out->r[2]);
	EXPECT_EQ(-EPERM, k.out->r[3]);
	EXPECT_EQ(-EBUSY, k.out->r[4]);
	EXPECT_EQ(1, k.out->r[5]);
	EXPECT_EQ(0, k.out->r[6]);
	EXPECT_EQ(-ENOENT, k.out->r[7]);
	/* still there for root, who may delete it */
	EXPECT_EQ(0, cluster_assoc(self->fd, self->name, 0, 0, &h));
	EXPECT_EQ(0, cluster_delete(self->fd, self->name));
	out_free(k.out);
}

/* ----------------------------------------------------------------- */
/* permissions: owner, group, other, read-only associations */

/*
 * Create @name from this (root) process with effective gid @egid as the
 * cluster's group, keeping the association on @fd.
 */
static int create_with_group(int fd, const char *name, gid_t egid,
			     __u32 mode)
{
	int ret;

	if (setegid(egid))
		return -errno;
	ret = cluster_assoc(fd, name, CPORT_CLUSTER_CREATE, mode, NULL);
	if (setegid(0))
		return -errno;
	return ret;
}

/* As k->uid/k->gid: attach rw, attach RDONLY, then flag calls through it. */
static int attach_as_user_child(void *arg)
{
	struct kid *k = arg;
	struct out *o = k->out;
	__u32 h = 0;
	__u64 v = 0;
	int fd;

	o->r[0] = become(k->uid, k->gid);
	fd = cport_open();
	o->r[1] = fd < 0 ? fd : 0;
	o->r[2] = cluster_assoc(fd, k->name, 0, 0, &h);
	if (o->r[2] == 0)
		cluster_disassoc(fd, h);
	o->r[3] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE, 0600, &h);
	if (o->r[3] == 0)
		cluster_disassoc(fd, h);
	o->r[4] = cluster_assoc(fd, k->name, CPORT_CLUSTER_RDONLY, 0, &h);
	if (o->r[4] == 0) {
		o->r[5] = flag_read(fd, h, &v);
		o->v[0] = v;
		o->r[6] = flag_set(fd, h, 9);
		o->r[7] = flag_clear(fd, h, 1);
		o->r[8] = flag_wait(fd, h, BIT64(1), CPORT_FLAG_WAIT_TIMEOUT,
				    0, &v);
		o->v[1] = v;
		o->r[9] = flag_poll_arm(fd, h, BIT64(1), 0);
	}
	close(fd);
	return 0;
}

struct perm_case {
	__u32 mode;
	gid_t group;		/* the cluster's group */
	uid_t uid;		/* the child's ids */
	gid_t gid;
	int rw;			/* what a read-write attach returns */
	int ro;			/* what a read-only attach returns */
};

static void check_perm_case(struct __test_metadata *_metadata,
			    FIXTURE_DATA(cl) *self, const struct perm_case *pc)
{
	struct kid k = { .uid = pc->uid, .gid = pc->gid, .out = out_new() };
	struct out *o = k.out;

	ASSERT_NE(NULL, o);
	strcpy(k.name, self->name);
	ASSERT_EQ(1, create_with_group(self->a.fd, self->name, pc->group,
				       pc->mode));
	ASSERT_EQ(0, flag_set(self->a.fd, 1, 1));
	ASSERT_EQ(0, child_run(attach_as_user_child, &k));
	EXPECT_EQ(0, o->r[0]);
	EXPECT_EQ(0, o->r[1]);
	EXPECT_EQ(pc->rw, o->r[2]) TH_LOG("read-write attach, mode %04o",
					  pc->mode);
	/* CREATE of an existing cluster is an attach: checked the same */
	EXPECT_EQ(pc->rw, o->r[3]) TH_LOG("CREATE, mode %04o", pc->mode);
	EXPECT_EQ(pc->ro, o->r[4]) TH_LOG("RDONLY attach, mode %04o",
					  pc->mode);
	if (pc->ro == 0) {
		EXPECT_EQ(0, o->r[5]);
		EXPECT_EQ(BIT64(1), o->v[0]);
		EXPECT_EQ(-EACCES, o->r[6]) TH_LOG("SET through RDONLY");
		EXPECT_EQ(-EACCES, o->r[7]) TH_LOG("CLEAR through RDONLY");
		EXPECT_EQ(0, o->r[8]);
		EXPECT_EQ(BIT64(1), o->v[1]);
		EXPECT_EQ(0, o->r[9]);
	}
	/* nothing changed the flags */
	EXPECT_EQ(BIT64(1), flags_of(self->a.fd, 1));
	out_free(o);
}

TEST_F(cl, mode_other_denied_eacces)
{
	struct perm_case pc = {
		.mode = 0660, .group = 0, .uid = UID_A, .gid = GID_A,
		.rw = -EACCES, .ro = -EACCES,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

TEST_F(cl, mode_group_allowed)
{
	struct perm_case pc = {
		.mode = 0060, .group = GID_A, .uid = UID_B, .gid = GID_A,
		.rw = 0, .ro = 0,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

TEST_F(cl, mode_group_bits_not_for_others)
{
	struct perm_case pc = {
		.mode = 0060, .group = GID_A, .uid = UID_B, .gid = GID_B,
		.rw = -EACCES, .ro = -EACCES,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

TEST_F(cl, mode_group_read_only_allows_rdonly)
{
	struct perm_case pc = {
		.mode = 0640, .group = GID_A, .uid = UID_B, .gid = GID_A,
		.rw = -EACCES, .ro = 0,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

TEST_F(cl, mode_other_allowed)
{
	struct perm_case pc = {
		.mode = 0606, .group = 0, .uid = UID_B, .gid = GID_B,
		.rw = 0, .ro = 0,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

TEST_F(cl, mode_other_read_only_allows_rdonly)
{
	struct perm_case pc = {
		.mode = 0644, .group = 0, .uid = UID_B, .gid = GID_B,
		.rw = -EACCES, .ro = 0,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

/* Read is needed always: write alone gives nothing. */
TEST_F(cl, mode_write_only_denied_eacces)
{
	struct perm_case pc = {
		.mode = 0622, .group = 0, .uid = UID_B, .gid = GID_B,
		.rw = -EACCES, .ro = -EACCES,
	};

	CPORT_SKIP_IF_ABSENT();
	check_perm_case(_metadata, self, &pc);
}

/*
 * The owner's bits apply to the owner even when the group's would allow
 * more: a cluster of UID_A, group GID_A, mode 0460.
 */
static int owner_bits_child(void *arg)
{
	struct kid *k = arg;
	struct out *o = k->out;
	__u32 h = 0;
	int fd, fd2;

	o->r[0] = become(k->uid, k->gid);
	fd = cport_open();
	fd2 = cport_open();
	o->r[1] = fd < 0 || fd2 < 0 ? -EBADF : 0;
	o->r[2] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE |
				CPORT_CLUSTER_RDONLY, 0460, &h);
	o->r[3] = cluster_assoc(fd2, k->name, 0, 0, &h);
	o->r[4] = cluster_assoc(fd2, k->name, CPORT_CLUSTER_RDONLY, 0, &h);
	close(fd2);
	close(fd);
	return 0;
}

TEST_F(cl, mode_owner_bits_apply_to_the_owner)
{
	struct kid k = { .uid = UID_A, .gid = GID_A, .out = out_new() };

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	ASSERT_EQ(0, child_run(owner_bits_child, &k));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(1, k.out->r[2]);
	EXPECT_EQ(-EACCES, k.out->r[3]);
	EXPECT_EQ(0, k.out->r[4]);
	out_free(k.out);
}

/* CAP_IPC_OWNER overrides the mode; without it root is just the owner. */
static int no_ipc_owner_child(void *arg)
{
	struct kid *k = arg;
	__u32 h = 0;
	int fd;

	k->out->r[0] = drop_cap(CAP_IPC_OWNER);
	fd = cport_open();
	k->out->r[1] = fd < 0 ? fd : 0;
	k->out->r[2] = cluster_assoc(fd, k->name, 0, 0, &h);
	k->out->r[3] = cluster_assoc(fd, k->name, CPORT_CLUSTER_RDONLY, 0, &h);
	close(fd);
	return 0;
}

TEST_F(cl, mode_0000_cap_ipc_owner_overrides)
{
	struct kid k = { .out = out_new() };
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0, &h));
	EXPECT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &h));
	ASSERT_EQ(0, child_run(no_ipc_owner_child, &k));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(-EACCES, k.out->r[2]);
	EXPECT_EQ(-EACCES, k.out->r[3]);
	out_free(k.out);
}

/* ----------------------------------------------------------------- */
/* read-only associations: no SET, CLEAR or event flag through them */

TEST_F(cl, rdonly_association_refuses_set_clear_and_event_flags)
{
	struct port *b = &self->b;
	__u32 ha = 0, hb = 0;
	struct cport_cqe c;
	__u64 result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0666, &ha));
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 1));
	ASSERT_EQ(0, cluster_assoc(b->fd, self->name, CPORT_CLUSTER_RDONLY, 0,
				   &hb));
	EXPECT_EQ(BIT64(1), flags_of(b->fd, hb));
	EXPECT_EQ(-EACCES, flag_set(b->fd, hb, 2));
	EXPECT_EQ(-EACCES, flag_clear(b->fd, hb, 1));
	EXPECT_EQ(0, flag_wait(b->fd, hb, BIT64(1), CPORT_FLAG_WAIT_TIMEOUT,
			       0, &result));
	EXPECT_EQ(BIT64(1), result);
	EXPECT_EQ(0, flag_poll_arm(b->fd, hb, BIT64(1), 0));
	EXPECT_EQ(-EACCES, run_one(_metadata, b,
				   sqe_flag(CPORT_OP_FLAG_SET, hb, 2, 1)));
	EXPECT_EQ(-EACCES, run_one(_metadata, b,
				   sqe_flag(CPORT_OP_FLAG_CLEAR, hb, 1, 2)));
	EXPECT_EQ(-EACCES, run_one(_metadata, b,
				   sqe_ef(sqe_nop(3), hb, 2)));
	/* neither cleared at submission nor set afterwards */
	EXPECT_EQ(-EACCES, run_one(_metadata, b, sqe_ef(sqe_nop(4), hb, 1)));
	EXPECT_EQ(BIT64(1), flags_of(self->a.fd, ha));
	/* a FLAG_WAIT through it is fine */
	SUBMIT(b, sqe_flag_wait(hb, BIT64(6), 0, 5));
	EXPECT_TRUE(quiet_for(b, 20));
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 6));
	NEXT(b, &c);
	EXPECT_EQ(5, c.user_data);
	EXPECT_EQ(6, c.res);
	EXPECT_EQ(BIT64(1) | BIT64(6), flags_of(self->a.fd, ha));
}

/*
 * A linked timeout naming a flag through a read-only handle: -EACCES,
 * and the read in front of it runs unbounded.
 */
TEST_F(cl, rdonly_event_flag_of_a_linked_timeout_eacces)
{
	struct port *b = &self->b;
	struct cport_sqe s[2];
	__u32 ha = 0, hb = 0;
	struct cport_cqe c;
	char buf[2];
	int p[2];

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0666, &ha));
	ASSERT_EQ(0, cluster_assoc(b->fd, self->name, CPORT_CLUSTER_RDONLY, 0,
				   &hb));
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	s[0] = sqe_rw(CPORT_OP_READ, p[0], buf, 1, CPORT_POS_CURRENT, 1);
	s[0].flags |= CPORT_SQE_F_LINK;
	s[1] = sqe_nop(2);
	s[1].opcode = CPORT_OP_LINK_TIMEOUT;
	s[1].off = 20 * NSEC_PER_MSEC;
	s[1] = sqe_ef(s[1], hb, 6);
	ASSERT_EQ(2, submit_n(b, s, 2));
	NEXT(b, &c);
	EXPECT_EQ(2, c.user_data);
	EXPECT_EQ(-EACCES, c.res);
	EXPECT_TRUE(quiet_for(b, 50));
	ASSERT_EQ(1, write(p[1], "c", 1));
	NEXT(b, &c);
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, flags_of(self->a.fd, ha));
	close(p[0]);
	close(p[1]);
}

/* Consuming clears flags: no consuming wait through a read-only handle. */
TEST_F(cl, rdonly_association_refuses_consuming_waits)
{
	struct cport_enter e = {
		.flags = CPORT_ENTER_FLAGS | CPORT_ENTER_FLAGS_CONSUME |
			 CPORT_ENTER_TIMEOUT,
		.ef_mask = BIT64(1),
	};
	struct port *b = &self->b;
	__u32 ha = 0, hb = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0666, &ha));
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 1));
	ASSERT_EQ(0, cluster_assoc(b->fd, self->name, CPORT_CLUSTER_RDONLY, 0,
				   &hb));
	EXPECT_EQ(-EACCES, flag_wait(b->fd, hb, BIT64(1),
				     CPORT_FLAG_WAIT_CONSUME |
				     CPORT_FLAG_WAIT_TIMEOUT, 0, NULL));
	EXPECT_EQ(-EACCES, run_one(_metadata, b,
				   sqe_flag_wait(hb, BIT64(1),
						 CPORT_FLAG_WAIT_CONSUME, 7)));
	e.ef_cluster = hb;
	EXPECT_EQ(-1, ioctl(b->fd, CPORT_IOC_ENTER, &e));
	EXPECT_EQ(EACCES, errno);
	/* Nothing was taken. */
	EXPECT_EQ(BIT64(1), flags_of(self->a.fd, ha));
}

/* ----------------------------------------------------------------- */
/* flags, ops and waits through a handle */

TEST_F(cl, flag_calls_through_a_handle)
{
	__u32 ha = 0, hb = 0;
	__u64 before = 0, result = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	EXPECT_EQ(0, flag_change(self->a.fd, CPORT_FLAGS_SET, ha, 63,
				 &before));
	EXPECT_EQ(0, before);
	EXPECT_EQ(1, flag_change(self->b.fd, CPORT_FLAGS_SET, hb, 63,
				 &before));
	EXPECT_EQ(BIT64(63), before);
	EXPECT_EQ(0, flag_set(self->b.fd, hb, 0));
	EXPECT_EQ(0, flag_wait(self->a.fd, ha, BIT64(0) | BIT64(63),
			       CPORT_FLAG_WAIT_ALL | CPORT_FLAG_WAIT_CONSUME |
			       CPORT_FLAG_WAIT_TIMEOUT, 0, &result));
	EXPECT_EQ(BIT64(0) | BIT64(63), result);
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
	EXPECT_EQ(0, flags_of(self->a.fd, CPORT_LOCAL));
	EXPECT_EQ(0, flags_of(self->b.fd, CPORT_LOCAL));
	/* the flag page shows the local cluster only */
	EXPECT_EQ(0, flag_set(self->a.fd, ha, 5));
	{
		struct cport_flag_page *pg = flag_page_map(self->a.fd);

		ASSERT_NE(NULL, pg);
		EXPECT_EQ(0, flag_page_local(pg));
		flag_page_unmap(pg);
	}
}

TEST_F(cl, flag_ops_and_event_flags_through_a_handle)
{
	struct port *a = &self->a, *b = &self->b;
	__u32 ha = 0, hb = 0;
	struct cport_cqe c;
	char other[64];

	CPORT_SKIP_IF_ABSENT();
	cluster_name(other, sizeof(other), "y");
	ASSERT_EQ(1, cluster_assoc(a->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &ha));
	/* b's handle for it differs from a's */
	ASSERT_EQ(1, cluster_assoc(b->fd, other, CPORT_CLUSTER_CREATE, 0600,
				   NULL));
	ASSERT_EQ(0, cluster_assoc(b->fd, self->name, 0, 0, &hb));
	ASSERT_EQ(2, hb);
	/* a FLAG_WAIT of b, released by a FLAG_SET op of a */
	SUBMIT(b, sqe_flag_wait(hb, BIT64(3), 0, 0xb1));
	EXPECT_EQ(0, run_one(_metadata, a,
			     sqe_flag(CPORT_OP_FLAG_SET, ha, 3, 0xa1)));
	NEXT(b, &c);
	EXPECT_EQ(0xb1, c.user_data);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(1, run_one(_metadata, b,
			     sqe_flag(CPORT_OP_FLAG_CLEAR, hb, 3, 0xb2)));
	/* an op's event flag in the common cluster: cleared, then set */
	ASSERT_EQ(0, flag_set(a->fd, ha, 4));
	SUBMIT(a, sqe_ef(sqe_timeout(20 * MS, 0, 0, 0, 0xa2), ha, 4));
	EXPECT_EQ(0, flags_of(b->fd, hb));
	EXPECT_EQ(0, flag_wait(b->fd, hb, BIT64(4), CPORT_FLAG_WAIT_TIMEOUT,
			       WAIT_NS, NULL));
	EXPECT_EQ(1, cq_ready(a));
	NEXT(a, &c);
	EXPECT_EQ(0xa2, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, flags_of(a->fd, CPORT_LOCAL));
}

TEST_F(cl, composite_enter_on_a_handle)
{
	__u32 ha = 0, hb = 0;
	struct cport_enter e;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name,
				   CPORT_CLUSTER_RDONLY, 0, &hb));
	e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 20 * MS, hb, BIT64(8));
	EXPECT_EQ(-ETIME, sys_enter_raw(self->b.fd, &e));
	EXPECT_EQ(0, e.ef_result);
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 8));
	e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, WAIT_NS, hb, BIT64(8));
	EXPECT_EQ(0, sys_enter_raw(self->b.fd, &e));
	EXPECT_EQ(BIT64(8), e.ef_result);
	/* not associated on a second handle */
	e = enter_ef(0, 1, CPORT_ENTER_TIMEOUT, 0, hb + 1, BIT64(8));
	EXPECT_EQ(-EINVAL, sys_enter_raw(self->b.fd, &e));
}

/* A WAIT holds its cluster: disassociating meanwhile does not end it. */
TEST_F(cl, wait_survives_the_disassociation_of_its_handle)
{
	struct flag_waiter w;
	__u32 ha = 0, hb = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	ASSERT_EQ(0, flag_waiter_start(&w, self->a.fd, ha, BIT64(2),
				       CPORT_FLAG_WAIT_CONSUME));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, ha));
	EXPECT_FALSE(flag_waiter_done(&w, 100));
	ASSERT_EQ(0, flag_set(self->b.fd, hb, 2));
	pthread_join(w.thr, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(BIT64(2), w.result);
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
}

/* Even when that was the cluster's last association. */
TEST_F(cl, wait_survives_the_last_disassociation)
{
	struct flag_waiter w;
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	ASSERT_EQ(0, flag_waiter_start(&w, self->a.fd, h, BIT64(2), 0));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, h));
	EXPECT_FALSE(flag_waiter_done(&w, 100));
	/* the name is gone; the waiter is still asleep on the old cluster */
	EXPECT_EQ(1, cluster_assoc(self->b.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	ASSERT_EQ(0, flag_set(self->b.fd, h, 2));
	EXPECT_FALSE(flag_waiter_done(&w, 100));
	/* a signal ends it */
	pthread_kill(w.thr, SIGUSR1);
	pthread_join(w.thr, NULL);
	EXPECT_EQ(-EINTR, w.ret);
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void __attribute__((constructor)) catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

TEST_F(cl, disassoc_drops_the_poll_arm_on_it)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	ASSERT_EQ(0, flag_poll_arm(self->a.fd, h, BIT64(1), 0));
	ASSERT_EQ(0, flag_set(self->a.fd, h, 1));
	{
		struct pollfd p = { .fd = self->a.fd, .events = POLLPRI };

		EXPECT_EQ(1, poll(&p, 1, 0));
		EXPECT_EQ(POLLPRI, p.revents);
		ASSERT_EQ(0, cluster_disassoc(self->a.fd, h));
		EXPECT_EQ(0, poll(&p, 1, 0));
	}
	EXPECT_EQ(-ENOENT, flag_poll_disarm(self->a.fd));
}

/* A cluster set by another port wakes an epoll on the armed port. */
TEST_F(cl, poll_arm_on_a_handle_woken_by_another_port)
{
	struct pollfd p = { .fd = self->a.fd, .events = POLLPRI };
	__u32 ha = 0, hb = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	ASSERT_EQ(0, flag_poll_arm(self->a.fd, ha, BIT64(1) | BIT64(2),
				   CPORT_FLAG_WAIT_ALL));
	ASSERT_EQ(0, flag_set(self->b.fd, hb, 1));
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, flag_set(self->b.fd, hb, 2));
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLPRI, p.revents);
}

TEST_F(cl, flag_wait_op_pending_when_its_port_closes)
{
	__u32 ha = 0, hb = 0;
	struct port c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, port_init(&c, 4, 0, 0));
	ASSERT_EQ(0, cluster_assoc(c.fd, self->name, 0, 0, &hb));
	SUBMIT(&c, sqe_flag_wait(hb, BIT64(4), CPORT_FLAG_WAIT_CONSUME, 1));
	SUBMIT(&c, sqe_flag_wait(hb, BIT64(5), 0, 2));
	port_fini(&c);
	/* the closed port's waits are gone: they consume nothing */
	EXPECT_EQ(0, flag_set(self->a.fd, ha, 4));
	EXPECT_EQ(0, flag_set(self->a.fd, ha, 5));
	EXPECT_EQ(BIT64(4) | BIT64(5), flags_of(self->a.fd, ha));
	EXPECT_EQ(0, run_one(_metadata, &self->a, sqe_nop(1)));
}

TEST_F(cl, flag_wait_op_survives_the_disassociation_of_its_handle)
{
	__u32 ha = 0, hb = 0;
	struct cport_cqe c;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	SUBMIT(&self->a, sqe_flag_wait(ha, BIT64(3), CPORT_FLAG_WAIT_CONSUME,
				       0x33));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, ha));
	EXPECT_TRUE(quiet_for(&self->a, 30));
	ASSERT_EQ(0, flag_set(self->b.fd, hb, 3));
	NEXT(&self->a, &c);
	EXPECT_EQ(0x33, c.user_data);
	EXPECT_EQ(3, c.res);
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
}

/*
 * FLAG_WAITs of three ports released by a timer of a fourth, which sets
 * the flag from its hrtimer callback while it holds its own CQ lock.
 */
TEST_F(cl, flag_waits_of_three_ports_released_by_a_timer_of_a_fourth)
{
	struct port w[3];
	struct cport_cqe c;
	__u32 ha = 0, h;
	int i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, port_init(&w[i], 4, 0, 0));
		ASSERT_EQ(0, cluster_assoc(w[i].fd, self->name, 0, 0, &h));
		SUBMIT(&w[i], sqe_flag_wait(h, BIT64(2) | BIT64(i + 10), 0,
					    0x40 + i));
	}
	SUBMIT(&self->a, sqe_ef(sqe_timeout(20 * MS, 0, 0, 0, 0x4a), ha, 2));
	NEXT(&self->a, &c);
	EXPECT_EQ(0x4a, c.user_data);
	EXPECT_EQ(1, c.res);
	for (i = 0; i < 3; i++) {
		NEXT(&w[i], &c);
		EXPECT_EQ(0x40 + i, c.user_data);
		EXPECT_EQ(2, c.res);
		port_fini(&w[i]);
	}
}

TEST_F(cl, two_ports_armed_on_one_cluster_both_report_pri)
{
	struct pollfd p[2] = {
		{ .fd = self->a.fd, .events = POLLPRI },
		{ .fd = self->b.fd, .events = POLLPRI },
	};
	__u32 ha = 0, hb = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	ASSERT_EQ(0, flag_poll_arm(self->a.fd, ha, BIT64(7), 0));
	ASSERT_EQ(0, flag_poll_arm(self->b.fd, hb, BIT64(7) | BIT64(8), 0));
	EXPECT_EQ(0, poll(p, 2, 0));
	ASSERT_EQ(0, flag_set(self->a.fd, ha, 7));
	EXPECT_EQ(2, poll(p, 2, 0));
	EXPECT_EQ(POLLPRI, p[0].revents);
	EXPECT_EQ(POLLPRI, p[1].revents);
}

/* Re-armed on the local cluster: dropping the old handle keeps the arm. */
TEST_F(cl, rearm_elsewhere_then_disassoc_keeps_the_arm)
{
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	ASSERT_EQ(0, flag_poll_arm(self->a.fd, h, BIT64(1), 0));
	ASSERT_EQ(0, flag_poll_arm(self->a.fd, CPORT_LOCAL, BIT64(1), 0));
	ASSERT_EQ(0, cluster_disassoc(self->a.fd, h));
	ASSERT_EQ(0, flag_set(self->a.fd, CPORT_LOCAL, 1));
	{
		struct pollfd p = { .fd = self->a.fd, .events = POLLPRI };

		EXPECT_EQ(1, poll(&p, 1, 0));
		EXPECT_EQ(POLLPRI, p.revents);
	}
	EXPECT_EQ(0, flag_poll_disarm(self->a.fd));
}

/*
 * Ports closed with ops in flight whose event flags name a common
 * cluster, and FLAG_WAITs on it: nothing may touch them afterwards (the
 * debug kernel's KASAN and lockdep watch this one).
 */
TEST_F_TIMEOUT(cl, close_with_event_flag_ops_in_flight_on_a_common_cluster, 60)
{
	int i, n = 20 * stress_factor();
	__u32 hb = 0, h;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->b.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &hb));
	for (i = 0; i < n; i++) {
		struct cport_sqe s[3];
		struct port c;

		ASSERT_EQ(0, port_init(&c, 4, 0, 0));
		ASSERT_EQ(0, cluster_assoc(c.fd, self->name, 0, 0, &h));
		s[0] = sqe_ef(sqe_timeout((i % 3) * MS / 4, 0, 0, 0, 1), h, 1);
		s[1] = sqe_ef(sqe_timeout(100000, CPORT_TIMEOUT_MULTISHOT, 0, 0,
					  2), h, 2);
		s[2] = sqe_flag_wait(h, BIT64(1), CPORT_FLAG_WAIT_CONSUME, 3);
		ASSERT_EQ(3, submit_n(&c, s, 3));
		if (i & 1)
			usleep(200);
		port_fini(&c);
	}
	EXPECT_EQ(0, flags_of(self->b.fd, hb) & ~(BIT64(1) | BIT64(2)));
	EXPECT_EQ(1, fdinfo(self->b.fd, "ef_clusters"));
}

/*
 * A multishot timer sets its flag through handle 1 from its hrtimer
 * callback every 100 us while the handle is dropped and associated again
 * with new clusters: each expiration goes to whatever the handle names
 * then, or nowhere.
 */
TEST_F_TIMEOUT(cl, race_timer_event_flags_vs_handle_churn, 60)
{
	int i, n = 300 * stress_factor(), terminal = 0, rm = INT_MIN;
	struct port *a = &self->a;
	struct cport_cqe c;
	char other[64];
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	cluster_name(other, sizeof(other), "y");
	ASSERT_EQ(1, cluster_assoc(a->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &h));
	ASSERT_EQ(1, h);
	SUBMIT(a, sqe_ef(sqe_timeout(100000, CPORT_TIMEOUT_MULTISHOT, 0, 0,
				     0x77), 1, 0));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, cluster_disassoc(a->fd, 1));
		/* the only association went: each one is a new cluster */
		ASSERT_EQ(1, cluster_assoc(a->fd, i & 1 ? other : self->name,
					   CPORT_CLUSTER_CREATE, 0600, &h));
		ASSERT_EQ(1, h);
		ASSERT_EQ(0, flags_of(a->fd, 1) & ~BIT64(0));
		while (cq_pop(a, &c)) {
			ASSERT_EQ(0x77, c.user_data);
		}
	}
	SUBMIT(a, sqe_timeout_remove(0x77, 0x78));
	while (!terminal || rm == INT_MIN) {
		NEXT(a, &c);
		if (c.user_data == 0x78) {
			rm = c.res;
			continue;
		}
		ASSERT_EQ(0x77, c.user_data);
		if (!(c.flags & CPORT_CQE_F_MORE)) {
			terminal++;
			EXPECT_EQ(-ECANCELED, c.res);
		}
	}
	EXPECT_EQ(0, rm);
	EXPECT_EQ(0, fdinfo(a->fd, "inflight"));
}

/*
 * An op's event flag names a handle that is disassociated before the op
 * completes: the flag goes to the cluster the handle names then, if any.
 */
TEST_F(cl, event_flag_of_a_handle_disassociated_meanwhile)
{
	struct port *a = &self->a;
	__u32 ha = 0, hb = 0, hy = 0;
	struct cport_cqe c;
	char other[64];

	CPORT_SKIP_IF_ABSENT();
	cluster_name(other, sizeof(other), "y");
	ASSERT_EQ(1, cluster_assoc(a->fd, self->name, CPORT_CLUSTER_CREATE,
				   0600, &ha));
	ASSERT_EQ(0, cluster_assoc(self->b.fd, self->name, 0, 0, &hb));
	ASSERT_EQ(0, flag_set(a->fd, ha, 3));
	/* handle names nothing when the timer fires: nothing is set */
	SUBMIT(a, sqe_ef(sqe_timeout(200 * MS, 0, 0, 0, 1), ha, 3));
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
	ASSERT_EQ(0, cluster_disassoc(a->fd, ha));
	NEXT(a, &c);
	EXPECT_EQ(1, c.res);
	EXPECT_TRUE(quiet_for(a, 20));
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
	/* handle reused by another cluster: the flag goes there */
	ASSERT_EQ(0, cluster_assoc(a->fd, self->name, 0, 0, &ha));
	ASSERT_EQ(0, flag_set(a->fd, ha, 3));
	SUBMIT(a, sqe_ef(sqe_timeout(200 * MS, 0, 0, 0, 3), ha, 3));
	ASSERT_EQ(0, cluster_disassoc(a->fd, ha));
	ASSERT_EQ(1, cluster_assoc(a->fd, other, CPORT_CLUSTER_CREATE, 0600,
				   &hy));
	ASSERT_EQ(ha, hy);
	NEXT(a, &c);
	EXPECT_EQ(3, c.user_data);
	EXPECT_EQ(1, c.res);
	EXPECT_EQ(0, flag_wait(a->fd, hy, BIT64(3), CPORT_FLAG_WAIT_TIMEOUT,
			       WAIT_NS, NULL));
	EXPECT_EQ(BIT64(3), flags_of(a->fd, hy));
	EXPECT_EQ(0, flags_of(self->b.fd, hb));
}

/* ----------------------------------------------------------------- */
/* user namespaces */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

#define NO_USERNS	77

static int userns_child(void *arg)
{
	struct kid *k = arg;
	struct out *o = k->out;
	__u32 h = 0;
	__u64 v = 0;
	int fd;

	if (unshare(CLONE_NEWUSER)) {
		o->r[0] = -errno;
		return NO_USERNS;
	}
	/* root inside is root outside; the group map needs setgroups off */
	o->r[0] = write_file("/proc/self/uid_map", "0 0 1\n");
	o->r[1] = write_file("/proc/self/setgroups", "deny");
	if (!o->r[1])
		o->r[1] = write_file("/proc/self/gid_map", "0 0 1\n");
	fd = cport_open();
	o->r[2] = fd < 0 ? fd : 0;
	/* exists in the parent's namespace only */
	o->r[3] = cluster_assoc(fd, k->name, 0, 0, &h);
	o->r[4] = cluster_assoc(fd, k->name, CPORT_CLUSTER_CREATE |
				CPORT_CLUSTER_EXCL, 0600, &h);
	o->r[5] = flag_read(fd, h, &v);
	o->v[0] = v;
	o->r[6] = flag_set(fd, h, 1);
	/* and one created here is not visible outside */
	o->r[7] = cluster_assoc(fd, k->name2, CPORT_CLUSTER_CREATE, 0600, &h);
	o->r[8] = flag_set(fd, h, 2);
	/* tell the parent, then wait for its look */
	if (write(k->wfd, "x", 1) != 1)
		o->r[9] = -errno;
	if (read(k->rfd, &v, 1) != 1)
		o->r[9] = -errno;
	close(fd);
	return 0;
}

TEST_F(cl, same_name_in_another_user_namespace_is_another_cluster)
{
	struct kid k = { .out = out_new() };
	int to_parent[2], to_child[2], st;
	__u32 h = 0;
	char x;
	pid_t pid;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	strcpy(k.name, self->name);
	cluster_name(k.name2, sizeof(k.name2), "ns2");
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0666, &h));
	ASSERT_EQ(0, flag_set(self->a.fd, h, 9));
	ASSERT_EQ(0, pipe2(to_parent, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(to_child, O_CLOEXEC));
	k.wfd = to_parent[1];
	k.rfd = to_child[0];
	pid = child_start(userns_child, &k);
	ASSERT_LT(0, pid);
	close(to_parent[1]);
	close(to_child[0]);
	if (read(to_parent[0], &x, 1) != 1) {
		st = child_wait(pid);
		if (st == NO_USERNS)
			SKIP(return, "no user namespaces: %s",
			     strerror(-k.out->r[0]));
		ASSERT_EQ(0, st);
	}
	/* while the child holds its clusters */
	EXPECT_EQ(-ENOENT, cluster_assoc(self->b.fd, k.name2, 0, 0, NULL));
	EXPECT_EQ(BIT64(9), flags_of(self->a.fd, h));
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	EXPECT_EQ(0, child_wait(pid));
	EXPECT_EQ(0, k.out->r[0]);
	EXPECT_EQ(0, k.out->r[1]);
	EXPECT_EQ(0, k.out->r[2]);
	EXPECT_EQ(-ENOENT, k.out->r[3]);
	EXPECT_EQ(1, k.out->r[4]);
	EXPECT_EQ(0, k.out->r[5]);
	EXPECT_EQ(0, k.out->v[0]);
	EXPECT_EQ(0, k.out->r[6]);
	EXPECT_EQ(1, k.out->r[7]);
	EXPECT_EQ(0, k.out->r[8]);
	EXPECT_EQ(NOT_REACHED, k.out->r[9]);
	EXPECT_EQ(BIT64(9), flags_of(self->a.fd, h));
	close(to_parent[0]);
	close(to_child[1]);
	out_free(k.out);
}

/* ----------------------------------------------------------------- */
/* the per-user limit: max_clusters_per_user */

FIXTURE(quota) {
	long saved;
	bool have_saved;
};

FIXTURE_SETUP(quota)
{
	self->have_saved = false;
	if (!cport_present())
		SKIP(return, CPORT_SKIP_MSG);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (cport_param_read("max_clusters_per_user", &self->saved))
		SKIP(return, "no %s/max_clusters_per_user", CPORT_PARAM_DIR);
	self->have_saved = true;
}

FIXTURE_TEARDOWN(quota)
{
	long now = -1;

	if (!self->have_saved)
		return;
	cport_param_write("max_clusters_per_user", self->saved);
	cport_param_read("max_clusters_per_user", &now);
	EXPECT_EQ(self->saved, now) TH_LOG("could not restore the limit");
}

TEST_F(quota, max_clusters_per_user_default_and_mode)
{
	struct stat st;

	CPORT_SKIP_IF_ABSENT();
	EXPECT_EQ(DEF_MAX_CLUSTERS_PER_USER, self->saved);
	ASSERT_EQ(0, stat(CPORT_PARAM_DIR "/max_clusters_per_user", &st));
	EXPECT_EQ(0644, st.st_mode & 0777);
}

static int quota_child(void *arg)
{
	struct kid *k = arg;
	struct out *o = k->out;
	char n[6][64];
	__u32 h = 0;
	int i, fd, fd2;

	o->r[0] = become(k->uid, k->gid);
	fd = cport_open();
	fd2 = cport_open();
	o->r[1] = fd < 0 || fd2 < 0 ? -EBADF : 0;
	for (i = 0; i < 6; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "q%d", i);
		cluster_name(n[i], sizeof(n[i]), tag);
	}
	for (i = 0; i < 3; i++)
		o->r[2 + i] = cluster_assoc(fd, n[i], CPORT_CLUSTER_CREATE,
					    0600, NULL);
	o->r[5] = cluster_assoc(fd, n[3], CPORT_CLUSTER_CREATE, 0600, NULL);
	o->r[6] = cluster_assoc(fd2, n[3], 0, 0, NULL);
	/* attaching is not creating */
	o->r[7] = cluster_assoc(fd2, n[0], CPORT_CLUSTER_CREATE, 0600, &h);
	/* a cluster that goes away makes room */
	o->r[8] = cluster_disassoc(fd, 3);
	o->r[9] = cluster_assoc(fd, n[4], CPORT_CLUSTER_CREATE, 0600, NULL);
	o->r[10] = cluster_assoc(fd, n[5], CPORT_CLUSTER_CREATE, 0600, NULL);
	/* a cluster still associated with another port still counts */
	o->r[11] = cluster_disassoc(fd, 1);
	o->r[12] = cluster_assoc(fd, n[5], CPORT_CLUSTER_CREATE, 0600, NULL);
	close(fd2);
	close(fd);
	return 0;
}

TEST_F(quota, max_clusters_per_user_enospc)
{
	struct kid k = { .uid = UID_Q, .gid = UID_Q, .out = out_new() };
	struct out *o = k.out;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, o);
	ASSERT_EQ(0, cport_param_write("max_clusters_per_user", 3));
	ASSERT_EQ(0, child_run(quota_child, &k));
	EXPECT_EQ(0, o->r[0]);
	EXPECT_EQ(0, o->r[1]);
	EXPECT_EQ(1, o->r[2]);
	EXPECT_EQ(1, o->r[3]);
	EXPECT_EQ(1, o->r[4]);
	EXPECT_EQ(-ENOSPC, o->r[5]);
	EXPECT_EQ(-ENOENT, o->r[6]);
	EXPECT_EQ(0, o->r[7]);
	EXPECT_EQ(0, o->r[8]);
	EXPECT_EQ(1, o->r[9]);
	EXPECT_EQ(-ENOSPC, o->r[10]);
	EXPECT_EQ(0, o->r[11]);
	EXPECT_EQ(-ENOSPC, o->r[12]);
	out_free(o);
}

/* The limit is per user: root's clusters do not count for UID_Q. */
TEST_F(quota, the_limit_is_per_user)
{
	struct kid k = { .uid = UID_Q, .gid = UID_Q, .out = out_new() };
	char n[64];
	int fd, i;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, k.out);
	ASSERT_EQ(0, cport_param_write("max_clusters_per_user", 3));
	fd = cport_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "r%d", i);
		cluster_name(n, sizeof(n), tag);
		cluster_assoc(fd, n, CPORT_CLUSTER_CREATE, 0600, NULL);
	}
	ASSERT_EQ(0, child_run(quota_child, &k));
	EXPECT_EQ(1, k.out->r[2]);
	EXPECT_EQ(1, k.out->r[3]);
	EXPECT_EQ(1, k.out->r[4]);
	EXPECT_EQ(-ENOSPC, k.out->r[5]);
	close(fd);
	out_free(k.out);
}

/*
 * The limit counts the creator's real uid: a process whose effective uid
 * differs still counts for its real one.
 */
static int quota_real_uid_child(void *arg)
{
	struct kid *k = arg;
	struct out *o = k->out;
	char n[4][64];
	int i, fd;

	fd = cport_open();
	o->r[0] = fd < 0 ? fd : 0;
	for (i = 0; i < 4; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "u%d", i);
		cluster_name(n[i], sizeof(n[i]), tag);
	}
	/* real UID_Q, effective UID_A: two clusters */
	o->r[1] = setresuid(UID_Q, UID_A, 0) ? -errno : 0;
	o->r[2] = cluster_assoc(fd, n[0], CPORT_CLUSTER_CREATE, 0600, NULL);
	o->r[3] = cluster_assoc(fd, n[1], CPORT_CLUSTER_CREATE, 0600, NULL);
	/* real UID_Q, effective UID_B: UID_Q is at its limit */
	o->r[4] = setresuid(-1, 0, -1) || setresuid(UID_Q, UID_B, 0) ?
		  -errno : 0;
	o->r[5] = cluster_assoc(fd, n[2], CPORT_CLUSTER_CREATE, 0600, NULL);
	/* real UID_B, effective UID_A: another user */
	o->r[6] = setresuid(-1, 0, -1) || setresuid(UID_B, UID_A, 0) ?
		  -errno : 0;
	o->r[7] = cluster_assoc(fd, n[3], CPORT_CLUSTER_CREATE, 0600, NULL);
	close(fd);
	return 0;
}

TEST_F(quota, the_limit_counts_the_real_uid)
{
	struct kid k = { .out = out_new() };
	struct out *o = k.out;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_NE(NULL, o);
	ASSERT_EQ(0, cport_param_write("max_clusters_per_user", 2));
	ASSERT_EQ(0, child_run(quota_real_uid_child, &k));
	EXPECT_EQ(0, o->r[0]);
	EXPECT_EQ(0, o->r[1]);
	EXPECT_EQ(1, o->r[2]);
	EXPECT_EQ(1, o->r[3]);
	EXPECT_EQ(0, o->r[4]);
	EXPECT_EQ(-ENOSPC, o->r[5]);
	EXPECT_EQ(0, o->r[6]);
	EXPECT_EQ(1, o->r[7]);
	out_free(o);
}

/* ----------------------------------------------------------------- */
/* processes sharing one cluster */

struct preport {
	int stage;		/* 1: associated and waited */
	int ret;
	__u64 result;
};

struct pwaiter {
	pid_t pid;
	int rfd;
};

/* Fork a process that attaches @name and waits once; it reports on a pipe. */
static int pwaiter_start(struct pwaiter *w, const char *name, __u64 mask,
			 __u32 wflags)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	w->pid = fork();
	if (w->pid < 0)
		return -errno;
	if (w->pid == 0) {
		struct preport r = { 0 };
		__u32 h = 0;
		int fd = cport_open();

		close(p[0]);
		r.ret = cluster_assoc(fd, name, 0, 0, &h);
		if (!r.ret) {
			r.stage = 1;
			r.ret = flag_wait(fd, h, mask,
					  wflags | CPORT_FLAG_WAIT_TIMEOUT,
					  FLAG_WAITER_NS, &r.result);
		}
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	w->rfd = p[0];
	return task_sleeps_in(w->pid, SYS_ioctl, 10000) ? 0 : -ETIME;
}

/* The waiter's report, if it comes within @ms. */
static bool pwaiter_report(struct pwaiter *w, int ms, struct preport *r)
{
	struct pollfd p = { .fd = w->rfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(w->rfd, r, sizeof(*r)) == sizeof(*r);
}

static int pwaiter_end(struct pwaiter *w)
{
	close(w->rfd);
	return child_wait(w->pid);
}

#define EXPECT_REPORT(w, want_result) do {				\
	struct preport r_;						\
									\
	ASSERT_TRUE(pwaiter_report((w), 10000, &r_));			\
	EXPECT_EQ(1, r_.stage);						\
	EXPECT_EQ(0, r_.ret);						\
	EXPECT_EQ((__u64)(want_result), r_.result);			\
} while (0)

#define EXPECT_NO_REPORT(w) do {					\
	struct preport r_;						\
									\
	EXPECT_FALSE(pwaiter_report((w), 100, &r_));			\
} while (0)

/*
 * Four processes: one setter (this one), three waiters with other
 * conditions. Each waiter is released by exactly the set that makes its
 * condition true, and reports the flags of its mask at that moment.
 */
TEST_F_TIMEOUT(cl, four_processes_set_wait_all_wait_any, 60)
{
	struct pwaiter w1, w2, w3;
	__u32 h = 0;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	ASSERT_EQ(0, pwaiter_start(&w1, self->name, BIT64(0) | BIT64(1),
				   CPORT_FLAG_WAIT_ALL));
	ASSERT_EQ(0, pwaiter_start(&w2, self->name, BIT64(2) | BIT64(3), 0));
	ASSERT_EQ(0, pwaiter_start(&w3, self->name, BIT64(1) | BIT64(4),
				   CPORT_FLAG_WAIT_ALL));
	ASSERT_EQ(0, flag_set(self->a.fd, h, 0));
	EXPECT_NO_REPORT(&w1);
	EXPECT_NO_REPORT(&w2);
	EXPECT_NO_REPORT(&w3);
	ASSERT_EQ(0, flag_set(self->a.fd, h, 2));
	EXPECT_REPORT(&w2, BIT64(2));
	EXPECT_NO_REPORT(&w1);
	EXPECT_NO_REPORT(&w3);
	ASSERT_EQ(0, flag_set(self->a.fd, h, 1));
	EXPECT_REPORT(&w1, BIT64(0) | BIT64(1));
	EXPECT_NO_REPORT(&w3);
	ASSERT_EQ(0, flag_set(self->a.fd, h, 4));
	EXPECT_REPORT(&w3, BIT64(1) | BIT64(4));
	EXPECT_EQ(0, pwaiter_end(&w1));
	EXPECT_EQ(0, pwaiter_end(&w2));
	EXPECT_EQ(0, pwaiter_end(&w3));
	EXPECT_EQ(0x17, flags_of(self->a.fd, h));
}

/* Consuming waiters in three processes: each set goes to the oldest. */
TEST_F_TIMEOUT(cl, consuming_waiters_in_processes_oldest_first, 60)
{
	struct pwaiter w[3];
	__u32 h = 0;
	int i, j;

	CPORT_SKIP_IF_ABSENT();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pwaiter_start(&w[i], self->name,
					   BIT64(5) | BIT64(6),
					   CPORT_FLAG_WAIT_CONSUME));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, flag_set(self->a.fd, h, 5));
		EXPECT_REPORT(&w[i], BIT64(5));
		for (j = i + 1; j < 3; j++)
			EXPECT_NO_REPORT(&w[j]);
		EXPECT_EQ(0, flags_of(self->a.fd, h));
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, pwaiter_end(&w[i]));
}

/* ----------------------------------------------------------------- */
/* race: setter, clearer and consumer processes on one cluster */

#define PR_BITS		8
#define PR_MASK		((1ULL << PR_BITS) - 1)
#define PR_STOP		63
#define PR_SETTERS	2
#define PR_WAITERS	3

struct prace {
	char name[64];
	int iters;
	int stop;		/* the clearer stops */
	long sets, clears, consumed;
	int errors, lost;
};

static int prace_attach(struct prace *r, __u32 *h)
{
	int fd = cport_open();

	if (fd < 0 || cluster_assoc(fd, r->name, 0, 0, h)) {
		__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
		return -1;
	}
	return fd;
}

static int prace_setter(void *arg)
{
	struct prace *r = arg;
	__u64 seed = getpid();
	long n = 0;
	__u32 h;
	int i, ret, fd = prace_attach(r, &h);

	if (fd < 0)
		return 1;
	for (i = 0; i < r->iters; i++) {
		ret = flag_set(fd, h, xrand(&seed) % PR_BITS);
		if (ret == 0)
			n++;
		else if (ret != 1)
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
		if (!(i & 15))
			sched_yield();
	}
	__atomic_add_fetch(&r->sets, n, __ATOMIC_RELAXED);
	return 0;
}

static int prace_clearer(void *arg)
{
	struct prace *r = arg;
	__u64 seed = getpid();
	long n = 0;
	__u32 h;
	int ret, fd = prace_attach(r, &h);

	if (fd < 0)
		return 1;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		ret = flag_clear(fd, h, xrand(&seed) % PR_BITS);
		if (ret == 1)
			n++;
		else if (ret != 0)
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
		usleep(50);
	}
	__atomic_add_fetch(&r->clears, n, __ATOMIC_RELAXED);
	return 0;
}

static int prace_waiter(void *arg)
{
	struct prace *r = arg;
	long n = 0;
	__u32 h;
	int ret, fd = prace_attach(r, &h);

	if (fd < 0)
		return 1;
	for (;;) {
		__u64 got = 0;

		ret = flag_wait(fd, h, PR_MASK | BIT64(PR_STOP),
				CPORT_FLAG_WAIT_CONSUME |
				CPORT_FLAG_WAIT_TIMEOUT, FLAG_WAITER_NS, &got);
		if (ret == -ETIME) {
			__atomic_add_fetch(&r->lost, 1, __ATOMIC_RELAXED);
			break;
		}
		if (ret || !got || (got & ~(PR_MASK | BIT64(PR_STOP)))) {
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		n += __builtin_popcountll(got & PR_MASK);
		if (got & BIT64(PR_STOP))
			break;
	}
	__atomic_add_fetch(&r->consumed, n, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Every SET that found its flag clear is consumed by exactly one waiter,
 * cleared by the clearer, or still set at the end; the waiters must take
 * what is left (no lost wake-up) and all finish.
 */
TEST_F_TIMEOUT(cl, race_processes_each_set_consumed_once, 120)
{
	pid_t setters[PR_SETTERS], waiters[PR_WAITERS], clearer;
	__u64 deadline, left;
	struct prace *r;
	__u32 h = 0;
	int i;

	CPORT_SKIP_IF_ABSENT();
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	strcpy(r->name, self->name);
	r->iters = 2000 * stress_factor();
	ASSERT_EQ(1, cluster_assoc(self->a.fd, self->name,
				   CPORT_CLUSTER_CREATE, 0600, &h));
	for (i = 0; i < PR_WAITERS; i++) {
		waiters[i] = child_start(prace_waiter, r);
		ASSERT_LT(0, waiters[i]);
	}
	clearer = child_start(prace_clearer, r);
	ASSERT_LT(0, clearer);
	for (i = 0; i < PR_SETTERS; i++) {
		setters[i] = child_start(prace_setter, r);
		ASSERT_LT(0, setters[i]);
	}
	for (i = 0; i < PR_SETTERS; i++)
		EXPECT_EQ(0, child_wait(setters[i]));
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	EXPECT_EQ(0, child_wait(clearer));
	deadline = now_ns(CLOCK_MONOTONIC) + 10 * NSEC_PER_SEC;
	while ((left = flags_of(self->a.fd, h) & PR_MASK) &&
	       now_ns(CLOCK_MONOTONIC) < deadline)
		usleep(1000);
	EXPECT_EQ(0, left) TH_LOG("flags left set with waiters asleep");
	for (i = 0; i < PR_WAITERS; i++) {
		ASSERT_EQ(0, flag_set(self->a.fd, h, PR_STOP));
		deadline = now_ns(CLOCK_MONOTONIC) + 10 * NSEC_PER_SEC;
		while (flags_of(self->a.fd, h) & BIT64(PR_STOP)) {
			ASSERT_GT(deadline, now_ns(CLOCK_MONOTONIC));
		}
	}
	for (i = 0; i < PR_WAITERS; i++)
		EXPECT_EQ(0, child_wait(waiters[i]));
	left = flags_of(self->a.fd, h);
	EXPECT_EQ(0, r->errors);
	EXPECT_EQ(0, r->lost);
	EXPECT_EQ(r->sets, r->consumed + r->clears +
		  __builtin_popcountll(left & PR_MASK));
	EXPECT_EQ(0, left & BIT64(PR_STOP));
	TH_LOG("%ld sets: %ld consumed, %ld cleared", r->sets, r->consumed,
	       r->clears);
	munmap(r, sizeof(*r));
}

TEST_HARNESS_MAIN
