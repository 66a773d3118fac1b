/* SPDX-License-Identifier: MIT */
/*
 * fuzz_netstring.c: libFuzzer entry for the netstring codec and the
 * socketmap request splitter. The input is a byte stream as a socketmap
 * server would read it: decode netstrings from the front until one is
 * incomplete or bad, split every payload as a request, and check the
 * invariants:
 *  - a decoded payload lies inside the input and re-encodes to exactly
 *    the bytes that were consumed;
 *  - a split gives a non-empty name and key that rebuild the payload;
 *  - a smaller limit never accepts what a larger one refused;
 *  - for short inputs, feeding the stream one byte at a time gives the
 *    same netstrings as decoding it at once (incremental reads).
 * A broken invariant traps, so libFuzzer reports it as a crash.
 * Seeds: tests/data/netstring/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/netstring.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond))                                               \
			__builtin_trap();                                  \
	} while (0)

#define SMALL_MAX 16
#define INCREMENTAL_MAX 512

static void
check_payload(const char *in, size_t used, const char *p, size_t plen)
{
	char enc[SMALL_MAX + 16];
	const char *name, *key;
	size_t nlen, klen;

	if (plen <= SMALL_MAX) {
		size_t n = mtasts_netstring_encode(enc, sizeof(enc), p, plen);

		CHECK(n == used && memcmp(enc, in, used) == 0);
	}
	if (mtasts_socketmap_split(p, plen, &name, &nlen, &key, &klen) ==
	    MTASTS_OK) {
		CHECK(nlen > 0 && klen > 0 && nlen + 1 + klen == plen);
		CHECK(name == p && key == p + nlen + 1 && p[nlen] == ' ');
		CHECK(memchr(name, ' ', nlen) == NULL);
		CHECK(memchr(key, ' ', klen) == NULL);
		CHECK(memchr(key, '\0', klen) == NULL);
	}
}

/* Decode everything decodable from the front; returns the stop code and
 * the number of bytes consumed in *off. */
static int
decode_all(const char *in, size_t len, size_t max, size_t *off, int check)
{
	int rc;

	*off = 0;
	for (;;) {
		const char *p;
		size_t plen, used;

		rc = mtasts_netstring_decode(in + *off, len - *off, max, &p,
		    &plen, &used);
		if (rc != MTASTS_OK)
			break;
		CHECK(used >= plen + 3 && used <= len - *off);
		CHECK(plen <= max);
		CHECK(p > in + *off && p + plen < in + len && p[plen] == ',');
		if (check)
			check_payload(in + *off, used, p, plen);
		*off += used;
	}
	CHECK(rc == MTASTS_EAGAIN || rc == MTASTS_ESYNTAX ||
	    rc == MTASTS_ETOOBIG);
	return rc;
}

/* Bytes arrive one at a time: decode after each, as a server would. */
static void
incremental(const char *in, size_t len, size_t whole_off, int whole_rc)
{
	size_t start = 0, end;
	int rc = MTASTS_EAGAIN;

	for (end = 0; end <= len; end++) {
		for (;;) {
			size_t used;

			rc = mtasts_netstring_decode(in + start, end - start,
			    MTASTS_SOCKETMAP_MAX, NULL, NULL, &used);
			if (rc != MTASTS_OK)
				break;
			start += used;
		}
		if (rc != MTASTS_EAGAIN)
			break; /* an error ends the stream */
	}
	CHECK(start == whole_off);
	CHECK(rc == whole_rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t off, small_off;
	int rc, small_rc;

	rc = decode_all(in, size, MTASTS_SOCKETMAP_MAX, &off, 1);
	small_rc = decode_all(in, size, SMALL_MAX, &small_off, 0);
	/* A tighter limit consumes no more, and never turns an error into
	 * success for the same bytes. */
	CHECK(small_off <= off);
	if (small_off == off)
		CHECK(small_rc == rc || small_rc == MTASTS_ETOOBIG);
	if (size <= INCREMENTAL_MAX)
		incremental(in, size, off, rc);
	return 0;
}
