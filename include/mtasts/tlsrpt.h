/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrpt 3h
 * SUMMARY
 *	the TLS-RPT session result model (RFC 8460 section 4)
 * DESCRIPTION
 *	One struct mtasts_tlsrpt_session describes the outcome of one TLS
 *	session (or attempt) of a sending MTA with one receiving MX, under
 *	the policy that applied. Collectors (libtlsrpt datagrams, Postfix log
 *	lines) produce sessions; the counter store aggregates them per UTC
 *	day, policy domain and policy; the report builder turns the
 *	aggregates into RFC 8460 JSON. All strings are borrowed, NUL-
 *	terminated and already validated by whoever filled the struct.
 */
#ifndef MTASTS_TLSRPT_H
#define MTASTS_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TLSRPT_STRINGS_MAX 64	/* policy-string / mx-host items */
#define MTASTS_TLSRPT_FIELD_MAX 255	/* any single string field */

enum mtasts_tlsrpt_policy_type {
	MTASTS_TLSRPT_POLICY_STS = 0,		/* "sts" */
	MTASTS_TLSRPT_POLICY_TLSA = 1,		/* "tlsa" */
	MTASTS_TLSRPT_POLICY_NONE = 2		/* "no-policy-found" */
};

/* RFC 8460 section 4.3 result types; the registry is open, so readers
 * keep unknown strings as MTASTS_TLSRPT_R_OTHER plus the text. */
enum mtasts_tlsrpt_result {
	MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED = 0,
	MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH,
	MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED,
	MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED,
	MTASTS_TLSRPT_R_VALIDATION_FAILURE,
	MTASTS_TLSRPT_R_TLSA_INVALID,
	MTASTS_TLSRPT_R_DNSSEC_INVALID,
	MTASTS_TLSRPT_R_DANE_REQUIRED,
	MTASTS_TLSRPT_R_STS_POLICY_FETCH_ERROR,
	MTASTS_TLSRPT_R_STS_POLICY_INVALID,
	MTASTS_TLSRPT_R_STS_WEBPKI_INVALID,
	MTASTS_TLSRPT_R_OTHER
};

/* One session outcome. */
struct mtasts_tlsrpt_session {
	int64_t time;			/* unix seconds (UTC day derives) */
	const char *policy_domain;	/* A-labels, lowercase; never NULL */
	enum mtasts_tlsrpt_policy_type policy_type;
	const char *const *policy_strings;	/* policy-string items */
	size_t policy_string_count;
	const char *const *mx_patterns;	/* mx-host items */
	size_t mx_pattern_count;
	bool success;			/* false: failure below applies */
	enum mtasts_tlsrpt_result result;	/* when !success */
	const char *result_text;	/* for R_OTHER, else may be NULL */
	const char *sending_mta_ip;	/* optional (NULL) */
	const char *receiving_mx_hostname;	/* optional */
	const char *receiving_mx_helo;	/* optional */
	const char *receiving_ip;	/* optional */
	const char *additional_information;	/* optional (URI) */
	const char *failure_reason_code;	/* optional */
	/* Added for the collectors; zero/NULL keeps the meaning above. */
	const char *report_domain;	/* the domain whose _smtp._tls record
					 * gets the report (libtlsrpt "d");
					 * NULL: policy_domain */
	bool detail_only;		/* count only the failure detail, not
					 * a session (a second detail of one
					 * failed session) */
	bool no_failure_detail;		/* a failure without detail tuple */
};

/* "sts", "tlsa", "no-policy-found". */
const char *mtasts_tlsrpt_policy_type_name(enum mtasts_tlsrpt_policy_type t);

/* RFC 8460 result-type string ("certificate-expired"...); for R_OTHER
 * returns NULL (use the session's result_text). */
const char *mtasts_tlsrpt_result_name(enum mtasts_tlsrpt_result r);

/* Parse a result-type string; unknown strings give R_OTHER. */
enum mtasts_tlsrpt_result mtasts_tlsrpt_result_parse(const char *s);

#ifdef __cplusplus
}
#endif
#endif
