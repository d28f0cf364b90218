/* SPDX-License-Identifier: MIT */
/*
 * The suites: one per library source file. Host suites need no /dev/cport;
 * device suites do, and run in the VM.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_LIB_TESTS_SUITES_H
#define CPORT_LIB_TESTS_SUITES_H

#include <check.h>

Suite *setup_host_suite(void);
Suite *setup_device_suite(void);
Suite *queue_host_suite(void);
Suite *queue_device_suite(void);
Suite *syscall_host_suite(void);
Suite *syscall_device_suite(void);
Suite *iocp_host_suite(void);
Suite *iocp_device_suite(void);
Suite *version_host_suite(void);
Suite *register_host_suite(void);
Suite *register_device_suite(void);
Suite *flags_host_suite(void);
Suite *flags_device_suite(void);
Suite *loop_host_suite(void);
Suite *loop_device_suite(void);
Suite *net_host_suite(void);
Suite *net_device_suite(void);

/*
 * Run the suites, writing TAP to tap ("-": stdout; CK_TAP_LOG_FILE_NAME in
 * the environment wins). Returns the exit code: 0 all passed, 1 otherwise.
 */
int run_suites(Suite **suites, int n, const char *tap);

#endif /* CPORT_LIB_TESTS_SUITES_H */
