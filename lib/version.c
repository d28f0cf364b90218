// SPDX-License-Identifier: MIT
/*
 * libcport: version of the library running. The numbers come from
 * lib/VERSION, through the generated cport_version.h.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <cport.h>

#include "cport_version.h"

int cport_version_major(void)
{
	return CPORT_VERSION_MAJOR;
}

int cport_version_minor(void)
{
	return CPORT_VERSION_MINOR;
}

/**
 * cport_check_version() - does this library provide the API of major.minor?
 * @major: major version the caller was written for.
 * @minor: minor version the caller needs at least.
 *
 * Return: true when the running library has the same major version and a
 * minor version at least @minor.
 */
bool cport_check_version(int major, int minor)
{
	return major == CPORT_VERSION_MAJOR && minor >= 0 &&
	       minor <= CPORT_VERSION_MINOR;
}
