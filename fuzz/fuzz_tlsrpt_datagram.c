/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tlsrpt_datagram.c: libFuzzer target for the libtlsrpt datagram
 * parser. Every accepted datagram must give sessions within the limits
 * of tlsrpt.h; rejected ones must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts/tlsrpt_datagram.h"

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
	struct mtasts_tlsrpt_datagram *d = NULL;
	const struct mtasts_tlsrpt_session *s;
	const char *reason = NULL;
	struct mtasts_error err;
	size_t n;
	int rc;

	rc = mtasts_tlsrpt_datagram_parse((const char *)data, size, 1700000000,
					  &d, &reason, &err);
	if (rc != MTASTS_OK) {
		check(d == NULL && reason != NULL);
		return 0;
	}
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	check(n >= 1);
	check(n <= MTASTS_TLSRPT_DATAGRAM_POLICIES_MAX *
		       (MTASTS_TLSRPT_DATAGRAM_DETAILS_MAX + 1));
	check(strlen(mtasts_tlsrpt_datagram_domain(d)) <= 253);
	for (size_t i = 0; i < n; i++) {
		check(s[i].policy_domain != NULL &&
		      strlen(s[i].policy_domain) <= 253);
		check(s[i].policy_string_count <= MTASTS_TLSRPT_STRINGS_MAX);
		check(s[i].mx_pattern_count <= MTASTS_TLSRPT_STRINGS_MAX);
		for (size_t k = 0; k < s[i].policy_string_count; k++)
			check(strlen(s[i].policy_strings[k]) <=
			      MTASTS_TLSRPT_FIELD_MAX);
		if (!s[i].success && !s[i].no_failure_detail) {
			check(mtasts_tlsrpt_result_name(s[i].result) != NULL);
			if (s[i].additional_information != NULL)
				check(strlen(s[i].additional_information) <=
				      MTASTS_TLSRPT_FIELD_MAX);
		}
	}
	mtasts_tlsrpt_datagram_free(d);
	return 0;
}
