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
 * Decode the netstring at the start of buf (len bytes available; buf
 * may be NULL when len is 0), allowing payloads of at most max bytes.
 * On MTASTS_OK: *payload and *plen describe the payload, which points
 * into buf (borrowed: valid as long as buf is), and *used is the whole
 * netstring's size, to consume before decoding the next one. Any of
 * payload, plen and used may be NULL. MTASTS_EAGAIN: incomplete, read
 * more (nothing consumed). MTASTS_ESYNTAX: malformed (a byte other than
 * a digit in the length, a leading zero, more than 10 digits, no ':' or
 * no ','); the stream cannot be resynchronised. MTASTS_ETOOBIG: the
 * declared length is above max, reported as soon as the digits seen so
 * far exceed it. The length prefix is bounded (at most 10 digits), so
 * garbage is rejected after a few bytes, never after buffering.
 */
int mtasts_netstring_decode(const char *buf, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *used)
	__attribute__((warn_unused_result));

/*
 * Encode payload (plen bytes, any content; may be NULL when plen is 0)
 * into out (cap bytes, caller-owned). payload may lie inside out.
 * Returns the encoded size (plen + digits + 2), or 0 when it does not
 * fit (nothing useful written then).
 */
size_t mtasts_netstring_encode(char *out, size_t cap, const char *payload,
    size_t plen);

/*
 * Split a socketmap request payload "NAME KEY" at its first space.
 * Returns MTASTS_OK with borrowed pointers into payload (*name, *nlen,
 * *key, *klen; each output may be NULL), or MTASTS_ESYNTAX when there is
 * no space, the name or key is empty, or either contains a control
 * character, DEL, NUL or a second space. Bytes >= 0x80 are accepted.
 */
int mtasts_socketmap_split(const char *payload, size_t plen,
    const char **name, size_t *nlen, const char **key, size_t *klen)
	__attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
