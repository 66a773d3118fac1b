/* SPDX-License-Identifier: MIT */
/*
 * confval.c: configuration value parsers shared by the daemons.
 */
#include <ctype.h>
#include <stddef.h>
#include <strings.h>

#include "util/confval.h"

/* Digits, then at most one unit letter out of units (any case). */
static int
number(const char *s, const char *units, const unsigned long long *mul,
    unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;
	size_t i;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	if (*p != '\0') {
		for (i = 0; units[i] != '\0'; i++)
			if (tolower((unsigned char)*p) == units[i])
				break;
		if (units[i] == '\0' || p[1] != '\0')
			return -1;
		if (v > ~0ULL / mul[i])
			return -1;
		v *= mul[i];
	}
	*out = v;
	return 0;
}

int
mtasts__conf_time(const char *s, unsigned long long *out)
{
	static const unsigned long long mul[] = {1, 60, 3600, 86400, 604800};

	return number(s, "smhdw", mul, out);
}

int
mtasts__conf_size(const char *s, unsigned long long *out)
{
	static const unsigned long long mul[] = {1, 1024, 1024 * 1024};

	return number(s, "bkm", mul, out);
}

int
mtasts__conf_count(const char *s, unsigned long long *out)
{
	return number(s, "", NULL, out);
}

int
mtasts__conf_octal(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7' || v > 07777)
			return -1;
		v = v * 8 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

int
mtasts__conf_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}
