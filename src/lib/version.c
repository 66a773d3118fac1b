/* SPDX-License-Identifier: MIT */
/*
 * version.c: the library's version string.
 */
#include "mtasts/version.h"

const char *
mtasts_version(void)
{
	return MTASTS_VERSION;
}
