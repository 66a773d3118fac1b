/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt.c: names of the TLS-RPT policy and result types.
 */
#include <string.h>

#include "mtasts/tlsrpt.h"

static const char *const result_names[] = {
	[MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH] =
	    "certificate-host-mismatch",
	[MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED] = "certificate-expired",
	[MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED] = "certificate-not-trusted",
	[MTASTS_TLSRPT_R_VALIDATION_FAILURE] = "validation-failure",
	[MTASTS_TLSRPT_R_TLSA_INVALID] = "tlsa-invalid",
	[MTASTS_TLSRPT_R_DNSSEC_INVALID] = "dnssec-invalid",
	[MTASTS_TLSRPT_R_DANE_REQUIRED] = "dane-required",
	[MTASTS_TLSRPT_R_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[MTASTS_TLSRPT_R_STS_POLICY_INVALID] = "sts-policy-invalid",
	[MTASTS_TLSRPT_R_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};

const char *
mtasts_tlsrpt_policy_type_name(enum mtasts_tlsrpt_policy_type t)
{
	switch (t) {
	case MTASTS_TLSRPT_POLICY_STS:
		return "sts";
	case MTASTS_TLSRPT_POLICY_TLSA:
		return "tlsa";
	case MTASTS_TLSRPT_POLICY_NONE:
		return "no-policy-found";
	}
	return "no-policy-found";
}

const char *
mtasts_tlsrpt_result_name(enum mtasts_tlsrpt_result r)
{
	if ((unsigned)r >= MTASTS_TLSRPT_R_OTHER)
		return NULL;
	return result_names[r];
}

enum mtasts_tlsrpt_result
mtasts_tlsrpt_result_parse(const char *s)
{
	unsigned i;

	for (i = 0; s != NULL && i < MTASTS_TLSRPT_R_OTHER; i++)
		if (strcmp(s, result_names[i]) == 0)
			return (enum mtasts_tlsrpt_result)i;
	return MTASTS_TLSRPT_R_OTHER;
}
