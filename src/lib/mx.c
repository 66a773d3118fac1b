/* SPDX-License-Identifier: MIT */
/*
 * mx.c: RFC 5321 Domain validation and policy "mx" pattern matching
 * (RFC 8461 sections 3.2 and 4.1, RFC 6125 section 6.4).
 */
#include <string.h>

#include "mtasts/mx.h"
#include "util/cclass.h"

#define LABEL_MAX 63

static bool
fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return false;
}

bool
mtasts_domain_valid(const char *s, size_t len, bool allow_wildcard,
    const char **why)
{
	size_t i, label = 0;
	const unsigned char *u = (const unsigned char *)s;

	if (s == NULL || len == 0)
		return fail(why, "the name is empty");
	if (len > MTASTS_DOMAIN_MAX)
		return fail(why, "the name is longer than 253 bytes");
	i = 0;
	if (u[0] == '*') {
		if (!allow_wildcard)
			return fail(why, "a wildcard is not allowed here");
		if (len < 2 || u[1] != '.')
			return fail(why, "the wildcard must be a whole "
					 "left-most label followed by a dot "
					 "(\"*.example.com\")");
		i = 2;
		if (i == len)
			return fail(why, "nothing follows the wildcard \"*.\"");
	}
	for (; i < len; i++) {
		unsigned char c = u[i];

		if (c == '.') {
			if (label == 0)
				return fail(why, "empty label (a leading dot "
						 "or two dots in a row)");
			if (u[i - 1] == '-')
				return fail(why, "a label ends with a hyphen");
			label = 0;
			continue;
		}
		if (!mtasts__cc(c, MTASTS__CC_LDH)) {
			if (c == '*')
				return fail(why, "a wildcard may only be the "
						 "whole left-most label "
						 "(\"*.example.com\")");
			if (c == '_')
				return fail(why, "underscore is not allowed in "
						 "a host name");
			if (c >= 0x80)
				return fail(why, "non-ASCII byte (use the "
						 "A-label, xn--..., form)");
			return fail(why, "invalid character (only letters, "
					 "digits, hyphens and dots)");
		}
		if (label == 0 && c == '-')
			return fail(why, "a label starts with a hyphen");
		if (++label > LABEL_MAX)
			return fail(why, "a label is longer than 63 bytes");
	}
	if (label == 0)
		return fail(why, "the name ends with a dot (write it without "
				 "the trailing root dot)");
	if (u[len - 1] == '-')
		return fail(why, "a label ends with a hyphen");
	return true;
}

/* Case-insensitive ASCII equality of a[0..n) and b[0..n). */
static bool
eq_nocase(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mtasts__cc_lower((unsigned char)a[i]) !=
		    mtasts__cc_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool
mtasts_mx_match(const char *pattern, const char *host)
{
	size_t plen, hlen;
	const char *dot;

	if (pattern == NULL || host == NULL)
		return false;
	plen = strlen(pattern);
	hlen = strlen(host);
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;		/* one root dot, as DNS writes it */
	if (hlen == 0 || plen == 0)
		return false;
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.suffix": exactly one non-empty label, then suffix. */
		dot = memchr(host, '.', hlen);
		if (dot == NULL || dot == host)
			return false;
		dot++;
		if ((size_t)(host + hlen - dot) != plen - 2)
			return false;
		return eq_nocase(dot, pattern + 2, plen - 2);
	}
	return hlen == plen && eq_nocase(host, pattern, plen);
}
