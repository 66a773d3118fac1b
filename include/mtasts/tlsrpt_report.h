/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrpt_report 3h
 * SUMMARY
 *	RFC 8460 aggregate reports: model, JSON, gzip, file name, Subject
 * DESCRIPTION
 *	A sans-I/O model of one TLS-RPT report (RFC 8460 section 4). The
 *	report builder fills it from counters and renders it strictly: every
 *	non-optional field is written, "policy-domain" is always present
 *	(also for no-policy-found), "mx-host" is an array, the date range
 *	is a full UTC day 00:00:00Z..23:59:59Z (decision A-15), and the
 *	output is I-JSON. The parser reads reports received from others
 *	liberally (decision A-17): timestamps without a zone are UTC,
 *	"mx-host" may be a string, fields may be missing, "contact-info"
 *	may be null, a TLSA "policy-string" may be one JSON-encoded array,
 *	policy and result types may be unknown.
 *
 *	The report structs are plain value structs: their fields are
 *	documented and may be read directly; strings and arrays inside
 *	are owned by the report and released by mtasts_tlsrpt_report_free.
 *	Fill them only through the functions below.
 *
 *	gzip compression (mtasts_tlsrpt_gzip, mtasts_tlsrpt_gunzip) lives
 *	in its own object (tlsrpt_gzip.c) so that programs that only parse
 *	do not need zlib.
 */
#ifndef MTASTS_TLSRPT_REPORT_H
#define MTASTS_TLSRPT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"
#include "mtasts/memory.h"
#include "mtasts/tlsrpt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TLSRPT_REPORT_MAX_JSON (16u * 1024 * 1024) /* parse input */
#define MTASTS_TLSRPT_REPORT_MAX_POLICIES 10000	/* per report */
#define MTASTS_TLSRPT_REPORT_MAX_FAILURES 100000	/* per policy */
#define MTASTS_TLSRPT_REPORT_MAX_STRING 4096	/* any string value */
#define MTASTS_TLSRPT_FILENAME_MAX 600	/* with the NUL */
#define MTASTS_TLSRPT_SUBJECT_MAX 700	/* with the NUL */
#define MTASTS_TLSRPT_TIME_MAX 21	/* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* One failure-details entry. Optional strings are NULL when absent. */
struct mtasts_tlsrpt_failure {
	char *result_type;		/* "certificate-expired"...; never NULL */
	char *sending_mta_ip;		/* NULL: absent */
	char *receiving_mx_hostname;	/* NULL: absent */
	char *receiving_mx_helo;	/* optional in the RFC */
	char *receiving_ip;		/* NULL: absent */
	char *additional_information;	/* optional in the RFC (URI) */
	char *failure_reason_code;	/* NULL: absent */
	uint64_t failed_session_count;
};

/* One element of "policies": the policy and its counts. */
struct mtasts_tlsrpt_policy_result {
	char *policy_type;		/* "sts", "tlsa", "no-policy-found" or,
					   when parsed, any string */
	char **policy_strings;		/* policy-string items */
	size_t policy_string_count;
	char *policy_domain;		/* NULL only when parsed without one */
	char **mx_hosts;		/* mx-host items */
	size_t mx_host_count;
	uint64_t total_successful;	/* total-successful-session-count */
	uint64_t total_failure;		/* total-failure-session-count */
	struct mtasts_tlsrpt_failure *failures;
	size_t failure_count;
	size_t failure_cap_;		/* private */
};

/* One report. */
struct mtasts_tlsrpt_report {
	char *organization_name;	/* NULL only when parsed without one */
	int64_t start;			/* date-range, unix seconds (UTC) */
	int64_t end;
	bool has_range;			/* false: parsed without a range */
	char *contact_info;		/* NULL: absent or JSON null */
	char *report_id;		/* NULL only when parsed without one */
	struct mtasts_tlsrpt_policy_result *policies;
	size_t policy_count;
	size_t policy_cap_;		/* private */
};

/* The fields of a failure-details row, borrowed (copied on add). */
struct mtasts_tlsrpt_failure_in {
	const char *result_type;	/* required */
	const char *sending_mta_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	const char *additional_information;
	const char *failure_reason_code;
	uint64_t failed_session_count;
};

/*
 * Start a report for the UTC day that contains day_start (any second
 * of the day: the range is normalised to 00:00:00..23:59:59). All
 * strings are copied. org and report_id are required; contact may be
 * NULL only for tests (rendering then fails). *out is owned by the
 * caller (mtasts_tlsrpt_report_free). Errors: MTASTS_EINVAL,
 * MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_report_new(const char *org, const char *contact,
    const char *report_id, int64_t day_start,
    struct mtasts_tlsrpt_report **out, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/* NULL-safe. Frees the report and everything in it. */
void mtasts_tlsrpt_report_free(struct mtasts_tlsrpt_report *rep);

/*
 * Append a policy. type is a policy type; strings/mx are copied
 * (either may be NULL with a count of 0); domain is required (A-labels).
 * On MTASTS_OK *out (optional) points at the new element, borrowed
 * from rep until the next add_policy. Errors: MTASTS_EINVAL,
 * MTASTS_ETOOBIG, MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_report_add_policy(struct mtasts_tlsrpt_report *rep,
    enum mtasts_tlsrpt_policy_type type, const char *const *strings,
    size_t nstrings, const char *domain, const char *const *mx, size_t nmx,
    uint64_t successful, uint64_t failed,
    struct mtasts_tlsrpt_policy_result **out, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/*
 * Append a failure-details row to pol (a policy of a report made by
 * mtasts_tlsrpt_report_new). Strings are copied. Errors: MTASTS_EINVAL,
 * MTASTS_ETOOBIG, MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_policy_add_failure(struct mtasts_tlsrpt_policy_result *pol,
    const struct mtasts_tlsrpt_failure_in *f, struct mtasts_error *err)
	__attribute__((warn_unused_result));

#define MTASTS_TLSRPT_JSON_PRETTY 0x1u	/* indent (for humans) */

/*
 * Render rep as RFC 8460 JSON (UTF-8, I-JSON). The model is checked
 * first: every non-optional field must be set (organization-name,
 * contact-info, report-id, policy-domain, result-type) and counts must
 * fit in 2^53. Absent optional row fields are left out. Of the
 * non-optional row fields, receiving-mx-hostname and
 * failure-reason-code are written as "" when unknown (so the object has
 * the key); an unknown sending-mta-ip or receiving-ip is left out
 * rather than written as something that is not an address. On
 * MTASTS_OK *json is a NUL-terminated string owned
 * by the caller (mtasts_free) and *len (optional) its length. Errors:
 * MTASTS_EINVAL (incomplete model), MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_report_to_json(const struct mtasts_tlsrpt_report *rep,
    unsigned flags, char **json, size_t *len, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/*
 * Parse a received report (len bytes, at most
 * MTASTS_TLSRPT_REPORT_MAX_JSON). Only a top-level object with a
 * "policies" array is required; everything else is read liberally and
 * each tolerated deviation is a warning in *diags (optional). On
 * MTASTS_OK *out is owned by the caller. Errors: MTASTS_ESYNTAX (not
 * JSON, wrong types where a value is present, negative counts),
 * MTASTS_ETOOBIG, MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_report_parse(const char *json, size_t len,
    struct mtasts_tlsrpt_report **out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * Format t (unix seconds, UTC) as "YYYY-MM-DDTHH:MM:SSZ" into buf (at
 * least MTASTS_TLSRPT_TIME_MAX bytes). Returns buf.
 */
char *mtasts_tlsrpt_format_time(int64_t t, char *buf);

/*
 * Parse an RFC 3339 date-time liberally: "T" or "t" or " ", optional
 * fraction, zone "Z", "+hh:mm", "-hh:mm" or none (read as UTC), and
 * "24:00:00" as the end of the day. Returns MTASTS_OK with *t in unix
 * seconds, or MTASTS_ESYNTAX.
 */
int mtasts_tlsrpt_parse_time(const char *s, int64_t *t)
	__attribute__((warn_unused_result));

/*
 * The RFC 8460 section 5.1 file name
 * "<submitter>!<policy domain>!<begin>!<end>!<unique id>.json[.gz]".
 * submitter and policy_domain must be A-label domains; unique_id must
 * be 1*(ALPHA / DIGIT) or NULL (left out). buf gets at least
 * MTASTS_TLSRPT_FILENAME_MAX bytes. Errors: MTASTS_EINVAL,
 * MTASTS_ETOOBIG.
 */
int mtasts_tlsrpt_report_filename(const char *submitter,
    const char *policy_domain, int64_t begin, int64_t end,
    const char *unique_id, bool gz, char *buf, size_t size,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * The RFC 8460 section 5.3 Subject (unfolded):
 * "Report Domain: <policy domain> Submitter: <submitter>
 * Report-ID: <<report_id>@<submitter>>". report_id must be a valid
 * dot-atom-text id-left. Errors: MTASTS_EINVAL, MTASTS_ETOOBIG.
 */
int mtasts_tlsrpt_report_subject(const char *policy_domain,
    const char *submitter, const char *report_id, char *buf, size_t size,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * gzip (RFC 1952, with a gzip header; mtime in the header, 0 for
 * none) len bytes of data. On MTASTS_OK *out is owned by the caller
 * (mtasts_free). Errors: MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
int mtasts_tlsrpt_gzip(const void *data, size_t len, int64_t mtime,
    unsigned char **out, size_t *outlen, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/*
 * Inflate a gzip member (or zlib stream) of len bytes, refusing output
 * larger than max_out. On MTASTS_OK *out is NUL-terminated (not
 * counted in *outlen) and owned by the caller. Errors: MTASTS_ESYNTAX,
 * MTASTS_ETOOBIG, MTASTS_ENOMEM.
 */
int mtasts_tlsrpt_gunzip(const void *data, size_t len, size_t max_out,
    char **out, size_t *outlen, struct mtasts_error *err)
	__attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
