// SPDX-License-Identifier: MIT
/*
 * One device suite of libcport (SUITE, set by the Makefile), for the VM.
 *
 * usage: libcport_SUITE_test [TAP-FILE]     (default "-": TAP on stdout)
 *
 * Without /dev/cport every test is skipped: the TAP plan is "1..0 # SKIP"
 * and the exit code is 4 (KSFT_SKIP), never a pass.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cport.h>

#include "suites.h"

#define KSFT_SKIP	4

#define __DEVICE_SUITE(s)	s##_device_suite
#define DEVICE_SUITE(s)		__DEVICE_SUITE(s)
#define __STR(s)		#s
#define STR(s)			__STR(s)

static int skip_all(const char *tap)
{
	const char *env = getenv("CK_TAP_LOG_FILE_NAME");
	FILE *f = stdout;

	if (env)
		tap = env;
	if (strcmp(tap, "-")) {
		f = fopen(tap, "w");
		if (!f) {
			perror(tap);
			return 1;
		}
	}
	fprintf(f, "1..0 # SKIP libcport %s: %s absent (cport.ko not loaded)\n",
		STR(SUITE), CPORT_DEVICE_PATH);
	if (f != stdout)
		fclose(f);
	return KSFT_SKIP;
}

int main(int argc, char **argv)
{
	const char *tap = argc > 1 ? argv[1] : "-";
	Suite *suite;

	if (access(CPORT_DEVICE_PATH, F_OK))
		return skip_all(tap);
	suite = DEVICE_SUITE(SUITE)();
	return run_suites(&suite, 1, tap);
}
