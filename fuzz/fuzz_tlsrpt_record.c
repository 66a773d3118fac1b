/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tlsrpt_record.c: libFuzzer entry for the "_smtp._tls" TXT
 * record parser and the RRset rule: the input is parsed whole, then
 * split on '\n' into up to 8 records for mtasts_tlsrpt_rrset_select().
 * Seeds: tests/data/tlsrpt_record/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/tlsrpt_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECS 8

static void
check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void
walk(const struct mtasts_tlsrpt_record *rec)
{
	size_t i, n = mtasts_tlsrpt_record_rua_count(rec);

	check(n >= 1 && n <= MTASTS_RUA_MAX);
	for (i = 0; i < n; i++) {
		const char *u = mtasts_tlsrpt_record_rua(rec, i);

		check(u != NULL && strlen(u) >= 7);
		check(strpbrk(u, ",;! \t") == NULL);
	}
	check(mtasts_tlsrpt_record_rua(rec, n) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *recs[MAX_RECS];
	size_t lens[MAX_RECS], n = 0, start = 0, i;
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	int rc;

	mtasts_diags_init(&d);
	rc = mtasts_tlsrpt_record_parse(s, size, &rec, &d, &err);
	check(d.count <= MTASTS_DIAGS_MAX);
	if (rc == MTASTS_OK) {
		check(d.errors == 0);
		walk(rec);
		mtasts_tlsrpt_record_free(rec);
	} else {
		check(rec == NULL && err.code == rc);
	}
	for (i = 0; i <= size && n < MAX_RECS; i++) {
		if (i == size || s[i] == '\n') {
			recs[n] = s + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	rec = NULL;
	rc = mtasts_tlsrpt_rrset_select(recs, lens, n, &rec, NULL, NULL);
	if (rc == MTASTS_OK) {
		walk(rec);
		mtasts_tlsrpt_record_free(rec);
	} else {
		check(rec == NULL);
	}
	return 0;
}
