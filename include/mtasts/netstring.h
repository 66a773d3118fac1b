/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	netstring 3h
 * SUMMARY
 *	netstrings and the Postfix socketmap protocol, sans I/O
 * DESCRIPTION
 *	A netstring is "<decimal length>:<payload>,". Postfix's socketmap
 *	client sends one request per netstring, payload "NAME KEY", and
 *	expects one reply per request: "OK <data>", "NOTFOUND ", "TEMP
 *	<reason>", "TIMEOUT <reason>" or "PERM <reason>". Requests may be
 *	pipelined. These functions work on caller-provided bytes only, so
 *	the daemon can run them straight over an evbuffer's contiguous
 *	space and the load generator can reuse them.
 */
#ifndef MTASTS_NETSTRING_H
#define MTASTS_NETSTRING_H

#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_SOCKETMAP_MAX 100000 /* Postfix's own reply size limit */

/*
 * Decode the netstring at the start of buf (len bytes available).
 * On MTASTS_OK: *payload/*plen point into buf, *used is the whole
 * netstring's size. MTASTS_EAGAIN: incomplete, read more (nothing
 * consumed). MTASTS_ESYNTAX: malformed (bad digits, leading zero, no
 * ':' or ','). MTASTS_ETOOBIG: declared length above max. The length
 * prefix itself is bounded (at most 10 digits), so garbage is rejected
 * after a few bytes, never after buffering.
 */
int mtasts_netstring_decode(const char *buf, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *used)
	__attribute__((warn_unused_result));

/*
 * Encode payload (plen bytes) into out (cap bytes). Returns the encoded
 * size, or 0 when it does not fit.
 */
size_t mtasts_netstring_encode(char *out, size_t cap, const char *payload,
    size_t plen);

/*
 * Split a socketmap request payload "NAME KEY" at its first space.
 * Returns MTASTS_OK with borrowed pointers into payload, or
 * MTASTS_ESYNTAX when there is no space, the name or key is empty, or
 * either contains a control character, NUL or a second space.
 */
int mtasts_socketmap_split(const char *payload, size_t plen,
    const char **name, size_t *nlen, const char **key, size_t *klen)
	__attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
