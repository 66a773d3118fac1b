/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sts_record.c: libFuzzer entry for the "_mta-sts" TXT record
 * parser and the RRset rule: the input is parsed whole, then split on
 * '\n' into up to 8 records for mtasts_sts_rrset_select().
 * Seeds: tests/data/sts_record/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/sts_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECS 8

static void
check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void
check_id(const struct mtasts_sts_record *r)
{
	size_t i, n = strlen(r->id);

	check(n >= 1 && n <= MTASTS_STS_ID_MAX);
	for (i = 0; i < n; i++)
		check((r->id[i] >= '0' && r->id[i] <= '9') ||
		    (r->id[i] >= 'a' && r->id[i] <= 'z') ||
		    (r->id[i] >= 'A' && r->id[i] <= 'Z'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *recs[MAX_RECS];
	size_t lens[MAX_RECS], n = 0, start = 0, i;
	struct mtasts_sts_record r;
	struct mtasts_diags d;
	struct mtasts_error err;
	int rc;

	mtasts_diags_init(&d);
	rc = mtasts_sts_record_parse(s, size, &r, &d, &err);
	check(d.count <= MTASTS_DIAGS_MAX);
	if (rc == MTASTS_OK) {
		check(d.errors == 0);
		check_id(&r);
	} else {
		check(err.code == rc && r.id[0] == '\0');
	}
	for (i = 0; i <= size && n < MAX_RECS; i++) {
		if (i == size || s[i] == '\n') {
			recs[n] = s + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	mtasts_diags_init(&d);
	rc = mtasts_sts_rrset_select(recs, lens, n, &r, &d, &err);
	if (rc == MTASTS_OK)
		check_id(&r);
	else
		check(rc == MTASTS_ENOTFOUND || rc == MTASTS_EMULTIPLE ||
		    rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG);
	return 0;
}
