/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mx 3h
 * SUMMARY
 *	MX host names and policy "mx" patterns (RFC 8461 sections 3.2, 4.1)
 * DESCRIPTION
 *	A pattern is an RFC 5321 Domain, optionally prefixed by "*." which
 *	stands for exactly one whole left-most label. Matching is
 *	case-insensitive ASCII; one trailing root dot on the MX host name
 *	(as DNS returns it) is ignored; a wildcard never matches the bare
 *	parent nor two labels.
 */
#ifndef MTASTS_MX_H
#define MTASTS_MX_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_DOMAIN_MAX 253	/* longest domain name in text form */

/*
 * Is the len bytes at s a valid RFC 5321 Domain (LDH labels of 1-63
 * bytes, no leading or trailing hyphen, no empty label, no trailing dot,
 * at most MTASTS_DOMAIN_MAX bytes)? If allow_wildcard, a leading "*."
 * followed by a Domain is also accepted. On false and why != NULL,
 * *why points at a static sentence saying what is wrong.
 */
bool mtasts_domain_valid(const char *s, size_t len, bool allow_wildcard,
    const char **why);

/*
 * Does the policy pattern (assumed valid) match the MX host name? Both
 * are NUL-terminated. host may end in one root dot.
 */
bool mtasts_mx_match(const char *pattern, const char *host);

#ifdef __cplusplus
}
#endif
#endif
