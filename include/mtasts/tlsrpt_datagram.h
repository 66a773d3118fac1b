/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrpt_datagram 3h
 * SUMMARY
 *	libtlsrpt protocol version 1 datagrams to TLS-RPT sessions
 * DESCRIPTION
 *	Sans-I/O parser for one datagram as sent by libtlsrpt (Postfix >=
 *	3.10 built with TLSRPT): one JSON object, "dpv" "1", the report
 *	domain "d", the _smtp._tls record "pr" and a "policies" array whose
 *	items carry "policy-type" (1 tlsa, 2 sts, 9 no-policy-found),
 *	"policy-domain", "policy-string", "mx-host", "failure-details"
 *	(objects with "c" code, "s" sending IP, "n" receiving MX, "h"
 *	HELO, "r" receiving IP, "a" additional information, "f" failure
 *	reason code), "t" and "f" (0 success, 1 failure).
 *
 *	Each policy item gives one session (success or failure); its first
 *	failure detail rides on that session and every further detail gives
 *	a detail_only session, so the counter store counts one session per
 *	policy item and one failed-session per detail. A no-policy-found
 *	item without a policy domain gets the report domain as its policy
 *	domain (RFC 8460 requires policy-domain in every report).
 *
 *	Limits: MTASTS_TLSRPT_DATAGRAM_MAX bytes, nesting depth 6, at most
 *	MTASTS_TLSRPT_DATAGRAM_POLICIES_MAX policies and
 *	MTASTS_TLSRPT_DATAGRAM_DETAILS_MAX details per policy, strings of
 *	at most MTASTS_TLSRPT_FIELD_MAX bytes. Domains are lowercased and
 *	must be LDH (A-labels); IP fields must be IP addresses; optional
 *	fields that fail their check are dropped (counted in
 *	mtasts_tlsrpt_datagram_dropped()), required ones reject the
 *	datagram.
 */
#ifndef MTASTS_TLSRPT_DATAGRAM_H
#define MTASTS_TLSRPT_DATAGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "mtasts/tlsrpt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_TLSRPT_DATAGRAM_MAX 65536
#define MTASTS_TLSRPT_DATAGRAM_POLICIES_MAX 32
#define MTASTS_TLSRPT_DATAGRAM_DETAILS_MAX 64

struct mtasts_tlsrpt_datagram;

/*
 * Parse len bytes of one datagram received at unix time now. On
 * MTASTS_OK *out is a new datagram owned by the caller (free with
 * mtasts_tlsrpt_datagram_free). On error *out is NULL, the code is
 * MTASTS_ETOOBIG, MTASTS_ESYNTAX or MTASTS_ENOMEM and *reason (when
 * not NULL) a static short token for counting rejects: "too-big",
 * "depth", "json", "version", "domain", "policies", "policy-type",
 * "field", "memory".
 */
int mtasts_tlsrpt_datagram_parse(const char *buf, size_t len, int64_t now,
				 struct mtasts_tlsrpt_datagram **out,
				 const char **reason, struct mtasts_error *err)
    __attribute__((warn_unused_result));

/* The sessions of the datagram (array owned by it, valid until free);
 * returns their count. */
size_t
mtasts_tlsrpt_datagram_sessions(const struct mtasts_tlsrpt_datagram *d,
				const struct mtasts_tlsrpt_session **out);

/* Report domain ("d"), lowercased. */
const char *
mtasts_tlsrpt_datagram_domain(const struct mtasts_tlsrpt_datagram *d);

/* The _smtp._tls record ("pr") or NULL. */
const char *
mtasts_tlsrpt_datagram_record(const struct mtasts_tlsrpt_datagram *d);

/* Optional fields dropped because they failed validation. */
size_t mtasts_tlsrpt_datagram_dropped(const struct mtasts_tlsrpt_datagram *d);

/* libtlsrpt failure code (201...) to result type; unknown codes give
 * MTASTS_TLSRPT_R_VALIDATION_FAILURE and *known false. */
enum mtasts_tlsrpt_result mtasts_tlsrpt_datagram_code(int code, int *known);

/* Free. NULL-safe. */
void mtasts_tlsrpt_datagram_free(struct mtasts_tlsrpt_datagram *d);

#ifdef __cplusplus
}
#endif
#endif
