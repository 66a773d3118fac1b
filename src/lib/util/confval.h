/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	confval 3h (internal)
 * SUMMARY
 *	configuration value parsers shared by the daemons
 * DESCRIPTION
 *	The spellings every configuration file and -o option of mtastsd
 *	and mtasts-tlsrptd accept: booleans (yes/no, on/off, true/false,
 *	1/0, any case), times with an optional unit (s, m, h, d, w), sizes
 *	(b, k, m), plain counts and octal modes. Each returns 0 with *out
 *	set, or -1 (out untouched) for anything else, including overflow.
 */
#ifndef MTASTS_UTIL_CONFVAL_H
#define MTASTS_UTIL_CONFVAL_H

#include <stdbool.h>

int mtasts__conf_bool(const char *s, bool *out);
int mtasts__conf_time(const char *s, unsigned long long *out);
int mtasts__conf_size(const char *s, unsigned long long *out);
int mtasts__conf_count(const char *s, unsigned long long *out);
int mtasts__conf_octal(const char *s, unsigned long long *out);

#endif
