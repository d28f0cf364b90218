/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers of queue.c, shared with the other waits of libcport.
 * Not exported: cport.map keeps every symbol but the API local.
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_LIB_QUEUE_H
#define CPORT_LIB_QUEUE_H

#include <stdint.h>

struct cport;

unsigned int __cport_flush_sq(struct cport *port);
uint64_t __cport_deadline(uint64_t timeout_ns);
uint64_t __cport_remaining(uint64_t deadline);

#endif /* CPORT_LIB_QUEUE_H */
