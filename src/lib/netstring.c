/* SPDX-License-Identifier: MIT */
/*
 * netstring.c: netstrings and the Postfix socketmap protocol, sans I/O.
 *
 * NETSTRINGS
 *	A netstring carries one byte string of any content:
 *
 *		<length> ":" <payload> ","
 *
 *	<length> is the payload size in decimal ASCII. We are strict: only
 *	the digits 0-9, no sign, no blanks, no leading zero (the only
 *	length that starts with "0" is "0" itself, the empty payload), at
 *	most 10 digits. The payload may hold any byte, NUL included, and is
 *	followed by exactly one ",". The decoder works on whatever bytes the
 *	caller has so far: it answers "incomplete" (MTASTS_EAGAIN) without
 *	consuming anything, so a server can keep bytes in its input buffer
 *	and call again after the next read. A declared length above the
 *	caller's maximum is refused (MTASTS_ETOOBIG) while the digits are
 *	still arriving: every further digit only makes the number larger,
 *	so a peer announcing a huge payload is stopped before anything is
 *	buffered for it.
 *
 * THE POSTFIX SOCKETMAP PROTOCOL (socketmap_table(5), dict_sockmap)
 *	Postfix opens the map as socketmap:inet:HOST:PORT:NAME or
 *	socketmap:unix:PATH:NAME and supports only lookups. For each lookup
 *	it sends one netstring whose payload is
 *
 *		NAME " " KEY
 *
 *	NAME is the last component of the map's name (servers use it to
 *	select a set of settings), KEY the lookup key, for
 *	smtp_tls_policy_maps the next-hop domain (may be "[host]",
 *	"host:port", an IP literal, upper case or end in a dot; Postfix
 *	lowercases keys when the map asks for folding). The server answers
 *	with one netstring per request, in request order:
 *
 *		"OK " DATA	    found; DATA is everything after the first
 *				    space (for TLS policy maps: "secure
 *				    match=... servername=hostname")
 *		"NOTFOUND "	    no entry (write the trailing space)
 *		"TEMP " REASON	    temporary failure; Postfix defers
 *		"TIMEOUT " REASON   temporary failure (a timeout)
 *		"PERM " REASON	    permanent/config error; Postfix logs it
 *				    and treats the map as broken
 *
 *	Postfix splits the reply at its first space and compares the verb
 *	exactly; an unknown verb counts as a temporary error. Reply payloads
 *	may be at most 100000 bytes (socketmap_max_reply_size, our
 *	MTASTS_SOCKETMAP_MAX): a longer reply is a lookup error. Postfix
 *	keeps connections open and reuses them (it closes a connection
 *	after about 10 s idle or 100 s age) and waits 100 s per read or
 *	write; it retries once when the connection broke before the reply.
 *	Postfix itself sends one request and waits for its reply, but a
 *	server must also accept several requests in one read (pipelining,
 *	other clients, our load generator) and answer them in order.
 *
 *	Requests have no size limit in the protocol; servers should cap
 *	them far below the reply limit (a domain name is at most 253
 *	bytes). mtasts_socketmap_split() checks the request payload: one
 *	space between a non-empty NAME and a non-empty KEY, no control
 *	characters, no NUL and no second space in either.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/netstring.h"

#define LEN_DIGITS_MAX 10 /* "9999999999": enough for any sane payload */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
mtasts_netstring_decode(const char *buf, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *used)
{
	unsigned long long n = 0;
	size_t i, avail;

	if (buf == NULL && len > 0)
		return MTASTS_EINVAL;
	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (c == ':' && i > 0)
			break;
		if (!is_digit(c))
			return MTASTS_ESYNTAX; /* also ':' first, '-', NUL */
		if (i == 1 && buf[0] == '0')
			return MTASTS_ESYNTAX; /* leading zero */
		if (i >= LEN_DIGITS_MAX)
			return MTASTS_ESYNTAX;
		n = n * 10 + (unsigned long long)(c - '0');
		if (n > (unsigned long long)max)
			return MTASTS_ETOOBIG;
	}
	if (i >= len)
		return MTASTS_EAGAIN; /* the length prefix is not complete */
	/* buf[i] == ':'; the payload starts at i + 1, n <= max fits size_t. */
	avail = len - i - 1;
	if ((unsigned long long)avail <= n)
		return MTASTS_EAGAIN; /* payload or its ',' still missing */
	if (buf[i + 1 + (size_t)n] != ',')
		return MTASTS_ESYNTAX;
	if (payload != NULL)
		*payload = buf + i + 1;
	if (plen != NULL)
		*plen = (size_t)n;
	if (used != NULL)
		*used = i + 1 + (size_t)n + 1;
	return MTASTS_OK;
}

size_t
mtasts_netstring_encode(char *out, size_t cap, const char *payload,
    size_t plen)
{
	char digits[LEN_DIGITS_MAX];
	size_t nd = 0, total, v = plen;

	if (plen > 0 && payload == NULL)
		return 0;
	do {
		if (nd == sizeof(digits))
			return 0; /* more than 10 digits: not a netstring */
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (plen > SIZE_MAX - nd - 2)
		return 0;
	total = nd + 1 + plen + 1;
	if (out == NULL || total > cap)
		return 0;
	/* payload first: it may live inside out (memmove allows that). */
	if (plen > 0)
		memmove(out + nd + 1, payload, plen);
	for (v = 0; v < nd; v++)
		out[v] = digits[nd - 1 - v];
	out[nd] = ':';
	out[nd + 1 + plen] = ',';
	return total;
}

/* A NAME or KEY byte: no controls, no DEL, no space (bytes >= 0x80 ok). */
static int
word_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

int
mtasts_socketmap_split(const char *payload, size_t plen, const char **name,
    size_t *nlen, const char **key, size_t *klen)
{
	const char *sp;
	size_t n;

	if (payload == NULL || plen == 0)
		return MTASTS_ESYNTAX;
	sp = memchr(payload, ' ', plen);
	if (sp == NULL)
		return MTASTS_ESYNTAX;
	n = (size_t)(sp - payload);
	if (!word_ok(payload, n) || !word_ok(sp + 1, plen - n - 1))
		return MTASTS_ESYNTAX;
	if (name != NULL)
		*name = payload;
	if (nlen != NULL)
		*nlen = n;
	if (key != NULL)
		*key = sp + 1;
	if (klen != NULL)
		*klen = plen - n - 1;
	return MTASTS_OK;
}
