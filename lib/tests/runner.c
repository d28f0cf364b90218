// SPDX-License-Identifier: MIT
/*
 * Run libcheck suites with TAP output.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

int run_suites(Suite **suites, int n, const char *tap)
{
	const char *env = getenv("CK_TAP_LOG_FILE_NAME");
	bool tap_on_stdout = env ? !strcmp(env, "-") : !strcmp(tap, "-");
	SRunner *sr = srunner_create(suites[0]);
	int i, failed;

	for (i = 1; i < n; i++)
		srunner_add_suite(sr, suites[i]);
	srunner_set_tap(sr, tap);
	/* With TAP on stdout, keep check's own report out of it. */
	srunner_run_all(sr, tap_on_stdout ? CK_SILENT : CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
