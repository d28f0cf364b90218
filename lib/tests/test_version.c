// SPDX-License-Identifier: MIT
/*
 * Tests of version.c: the numbers come from lib/VERSION (via the generated
 * cport_version.h), and cport_check_version() compares against them.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "cport_version.h"
#include "suites.h"
#include "util.h"

START_TEST(version_numbers_match_version_file)
{
	ck_assert_int_eq(KEEP_ERRNO(cport_version_major()), CPORT_VERSION_MAJOR);
	ck_assert_int_eq(KEEP_ERRNO(cport_version_minor()), CPORT_VERSION_MINOR);
	ck_assert_int_ge(cport_version_major(), 1);
	ck_assert_int_ge(cport_version_minor(), 0);
}
END_TEST

START_TEST(check_version_accepts_same_and_older_minor)
{
	int major = cport_version_major(), minor = cport_version_minor();

	ck_assert(KEEP_ERRNO(cport_check_version(major, minor)));
	ck_assert(cport_check_version(major, 0));
	if (minor > 0)
		ck_assert(cport_check_version(major, minor - 1));
}
END_TEST

START_TEST(check_version_rejects_newer_minor)
{
	int major = cport_version_major(), minor = cport_version_minor();

	ck_assert(!KEEP_ERRNO(cport_check_version(major, minor + 1)));
	ck_assert(!cport_check_version(major, 1 << 30));
}
END_TEST

START_TEST(check_version_rejects_other_major_and_negatives)
{
	int major = cport_version_major(), minor = cport_version_minor();

	ck_assert(!cport_check_version(major + 1, 0));
	ck_assert(!cport_check_version(major + 1, minor));
	ck_assert(!cport_check_version(major - 1, minor));
	ck_assert(!cport_check_version(major, -1));
	ck_assert(!cport_check_version(-1, 0));
}
END_TEST

Suite *version_host_suite(void)
{
	Suite *s = suite_create("version");

	ADD_TESTS(s, tcase_create("numbers"), 0,
		  version_numbers_match_version_file);
	ADD_TESTS(s, tcase_create("check_version"), 0,
		  check_version_accepts_same_and_older_minor,
		  check_version_rejects_newer_minor,
		  check_version_rejects_other_major_and_negatives);
	return s;
}
