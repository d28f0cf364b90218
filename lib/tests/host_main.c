// SPDX-License-Identifier: MIT
/*
 * Host tests of libcport: everything that runs without /dev/cport.
 *
 * usage: host_tests [TAP-FILE]     (default "-": TAP on stdout)
 *
 * Copyright (C) 2026 The cport authors
 */
#include "suites.h"

int main(int argc, char **argv)
{
	Suite *suites[] = {
		setup_host_suite(),
		queue_host_suite(),
		syscall_host_suite(),
		iocp_host_suite(),
		version_host_suite(),
		register_host_suite(),
		flags_host_suite(),
		loop_host_suite(),
		net_host_suite(),
	};

	return run_suites(suites, sizeof(suites) / sizeof(suites[0]),
			  argc > 1 ? argv[1] : "-");
}
