/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_mail 3h (tlsrptd)
 * SUMMARY
 *	the RFC 8460 section 5.3 report message, built with GMime
 * DESCRIPTION
 *	A multipart/report; report-type="tlsrpt" message: a text/plain
 *	part for humans and the gzip report as an application/tlsrpt+gzip
 *	attachment (base64) named with the RFC 8460 file name. Headers:
 *	From, To, Date, Message-ID, the RFC Subject, TLS-Report-Domain,
 *	TLS-Report-Submitter (the domain of contact-info), TLS-Required: No
 *	(RFC 8689: the report must get through even when TLS fails,
 *	R8460-6 and R8460-36) and MIME-Version. DKIM signing is left to the
 *	MTA (docs/tlsrpt.md). Without GMime (HAVE_GMIME undefined) building
 *	fails with MTASTS_EINTERNAL.
 */
#ifndef TLSRPTD_MAIL_H
#define TLSRPTD_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "tlsrptd_build.h"

struct tlsrptd_mail_in {
	const char *from;		/* header From (addr-spec) */
	const char *to;			/* the mailto: address */
	const char *policy_domain;	/* TLS-Report-Domain */
	const char *submitter;		/* TLS-Report-Submitter */
	const char *organization;	/* for the text part */
	int64_t date;			/* unix time of the Date header */
	const char *report_id;		/* Message-ID id-left */
	const struct tlsrptd_payload *payload;
};

/*
 * Build the message as RFC 5322 text with CRLF line ends. On MTASTS_OK
 * *msg is owned by the caller (mtasts_free), NUL-terminated, *len its
 * length. Errors: MTASTS_EINVAL, MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
int tlsrptd_mail_build(const struct tlsrptd_mail_in *in, char **msg,
		       size_t *len, struct mtasts_error *err);

/* The address of a "mailto:" URI (percent-decoded, without "?..."),
 * into buf. Returns MTASTS_OK or MTASTS_EINVAL (not mailto:, no "@",
 * bad escapes, control characters, too long). */
int tlsrptd_mailto_address(const char *uri, char *buf, size_t size,
			   struct mtasts_error *err);

#endif
