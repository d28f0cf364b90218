// SPDX-License-Identifier: GPL-2.0
/*
 * cport: the tracepoints' definitions (trace.h), made once here.
 *
 * Copyright (C) 2026 The cport authors
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
