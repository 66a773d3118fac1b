/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tlsrpt_report.c: libFuzzer entry for the liberal reader of
 * received TLS-RPT reports. A report that parses is rendered again when
 * it is complete enough, and the rendering must parse back with the
 * same policy count. Seeds: tests/data/tlsrpt_report/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/tlsrpt_report.h"
#include "util/alloc.h"

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
	struct mtasts_tlsrpt_report *rep = NULL, *again = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	char *json = NULL;
	size_t len, i;
	int rc;

	mtasts_diags_init(&d);
	rc = mtasts_tlsrpt_report_parse((const char *)data, size, &rep, &d,
	    &err);
	check(d.count <= MTASTS_DIAGS_MAX);
	if (rc != MTASTS_OK) {
		check(rep == NULL && err.code == rc);
		return 0;
	}
	for (i = 0; i < rep->policy_count; i++) {
		check(rep->policies[i].policy_string_count <=
		    MTASTS_TLSRPT_STRINGS_MAX);
		check(rep->policies[i].mx_host_count <=
		    MTASTS_TLSRPT_STRINGS_MAX);
	}
	rc = mtasts_tlsrpt_report_to_json(rep, 0, &json, &len, &err);
	if (rc == MTASTS_OK) {
		check(strlen(json) == len);
		rc = mtasts_tlsrpt_report_parse(json, len, &again, NULL, &err);
		check(rc == MTASTS_OK &&
		    again->policy_count == rep->policy_count);
		mtasts_tlsrpt_report_free(again);
		mtasts_free(json);
	}
	mtasts_tlsrpt_report_free(rep);
	return 0;
}
