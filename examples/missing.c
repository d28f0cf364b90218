// SPDX-License-Identifier: MIT
/*
 * Stand-in for an example that needs a libcport function the library in
 * this tree does not have yet: examples/Makefile links this instead, with
 * EX_NAME and EX_MISSING defined, so that the rest of the examples still
 * build and the demo reports this one as skipped.
 *
 * Copyright (C) 2026 The cport authors
 */
#include "common.h"

int main(void)
{
	return ex_skip(EX_NAME, "libcport has no %s(): built without it",
		       EX_MISSING);
}
