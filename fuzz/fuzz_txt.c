/* SPDX-License-Identifier: MIT */
/*
 * fuzz_txt.c: libFuzzer entry for joining TXT RDATA character-strings.
 * The first input byte picks the output capacity, the rest is RDATA; the
 * joined text is then also fed to both record parsers, as discovery does.
 * Seeds: tests/data/txt/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/sts_record.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/txt.h"

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
	char out[MTASTS_TXT_RECORD_MAX + 1];
	size_t cap, n = 0;
	struct mtasts_sts_record r;
	struct mtasts_tlsrpt_record *t = NULL;
	int rc;

	if (size == 0) {
		rc = mtasts_txt_rdata_join(data, 0, out, sizeof(out), &n, NULL);
		check(rc == MTASTS_OK && n == 0);
		return 0;
	}
	/* cap 1..sizeof(out): small caps exercise ETOOBIG. */
	cap = data[0] == 0 ? sizeof(out) : (size_t)data[0];
	rc = mtasts_txt_rdata_join(data + 1, size - 1, out, cap, &n, NULL);
	if (rc != MTASTS_OK) {
		check(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG);
		check(n == 0);
		return 0;
	}
	check(n < cap && n <= size - 1 && out[n] == '\0');
	if (mtasts_sts_record_parse(out, n, &r, NULL, NULL) == MTASTS_OK)
		check(r.id[0] != '\0');
	if (mtasts_tlsrpt_record_parse(out, n, &t, NULL, NULL) == MTASTS_OK)
		mtasts_tlsrpt_record_free(t);
	return 0;
}
