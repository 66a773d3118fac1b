/* SPDX-License-Identifier: MIT */
/*
 * fuzz_smtp_reply.c: libFuzzer entry for the SMTP reply reader
 * (smtp_reply.h). The input is a server's byte stream; it is fed in
 * chunks whose sizes come from the first byte, and every complete reply
 * starts a new one, as the prober does. Checks the reader's invariants:
 * it never consumes more than it was given, codes are 200-559, limits
 * hold. Seeds: tests/data/smtp_reply/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_smtp_reply r;
	size_t chunk, off = 1;

	if (size == 0)
		return 0;
	chunk = data[0] == 0 ? 4096 : data[0];
	mtasts_smtp_reply_init(&r);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0;
		int rc = mtasts_smtp_reply_feed(&r, (const char *)data + off, n,
		    &used, NULL);

		check(used <= n);
		check(r.bytes <= MTASTS_SMTP_REPLY_MAX);
		check(r.lines <= MTASTS_SMTP_LINES_MAX);
		check(strlen(r.text) <= MTASTS_SMTP_TEXT_MAX);
		off += used;
		if (rc == MTASTS_OK) {
			check(r.complete);
			check(r.code >= 200 && r.code <= 559);
			mtasts_smtp_reply_init(&r);
			continue;
		}
		if (rc == MTASTS_EAGAIN) {
			check(used == n);
			continue;
		}
		check(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG);
		mtasts_smtp_reply_init(&r);
		if (used == 0)
			off++;	/* make progress past a byte cap */
	}
	return 0;
}
