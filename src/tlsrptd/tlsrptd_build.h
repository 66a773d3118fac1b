/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_build 3h (tlsrptd)
 * SUMMARY
 *	turn the counters of one (day, report domain) into a report
 * DESCRIPTION
 *	Reads the aggregates of tlsrptd_counters_read() one policy at a
 *	time into a struct mtasts_tlsrpt_report, then renders the
 *	payload a delivery needs: JSON, its gzip, the RFC 8460 file name
 *	and Subject. The report id is derived from (day, domain,
 *	submitter), so a report built again after a crash or for a retry
 *	has the same id and the same content.
 */
#ifndef TLSRPTD_BUILD_H
#define TLSRPTD_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "mtasts/tlsrpt_report.h"
#include "tlsrptd_counters.h"

#define TLSRPTD_REPORT_ID_MAX 40

/* What the reporting organisation says about itself. */
struct tlsrptd_identity {
	const char *organization;	/* organization-name */
	const char *contact;		/* contact-info (addr-spec) */
	const char *submitter;		/* sender domain (A-labels); the
					   domain of contact */
	const char *sending_ip;		/* fills an unknown sending-mta-ip;
					   NULL: left out */
	size_t max_details;		/* failure rows per policy (0: 1000) */
};

/* The report id of (day, domain): "YYYYMMDD" + 16 hex digits, only
 * letters and digits (a valid file name unique-id and Subject id-left).
 * buf gets at least TLSRPTD_REPORT_ID_MAX bytes. Returns buf. */
char *tlsrptd_report_id(int64_t day, const char *domain,
			const char *submitter, char *buf, size_t size);

/*
 * Build the report of (day, domain) with report_id from the counters.
 * *out is owned by the caller (mtasts_tlsrpt_report_free); a domain
 * without counts gives a report with no policies. Errors:
 * MTASTS_ESTORE, MTASTS_ENOMEM, MTASTS_EINVAL.
 */
int tlsrptd_build_report(struct tlsrptd_counters *c,
			 const struct tlsrptd_identity *id, int64_t day,
			 const char *domain, const char *report_id,
			 struct mtasts_tlsrpt_report **out,
			 struct mtasts_error *err);

/* A rendered report. Free with tlsrptd_payload_clear. */
struct tlsrptd_payload {
	char *json;
	size_t json_len;
	unsigned char *gz;
	size_t gz_len;
	char filename[MTASTS_TLSRPT_FILENAME_MAX];
	char subject[MTASTS_TLSRPT_SUBJECT_MAX];
};

/* Render rep (of report domain) into p. Errors: as to_json, gzip. */
int tlsrptd_payload_make(const struct mtasts_tlsrpt_report *rep,
			 const char *submitter, const char *domain,
			 struct tlsrptd_payload *p, struct mtasts_error *err);

/* NULL-safe; leaves p zeroed. */
void tlsrptd_payload_clear(struct tlsrptd_payload *p);

#endif
