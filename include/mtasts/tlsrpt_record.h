/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrpt_record 3h
 * SUMMARY
 *	the "_smtp._tls" TXT record (RFC 8460 section 3)
 * DESCRIPTION
 *	Sans-I/O parser for one joined TXT record and the RRset rule. The
 *	record's "rua" list holds mailto: and https: URIs; URIs of other
 *	schemes are syntactically valid but reported as unsupported and
 *	kept out of the usable list.
 */
#ifndef MTASTS_TLSRPT_RECORD_H
#define MTASTS_TLSRPT_RECORD_H

#include <stddef.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_RUA_MAX 16	/* most rua URIs kept from one record */

struct mtasts_tlsrpt_record;

/*
 * Parse one joined TXT record of len bytes. On MTASTS_OK *out is a new
 * record owned by the caller (free with mtasts_tlsrpt_record_free). On
 * error *out is NULL; codes MTASTS_ESYNTAX, MTASTS_ETOOBIG,
 * MTASTS_ENOMEM, with details in *err and *diags (both optional).
 */
int mtasts_tlsrpt_record_parse(const char *txt, size_t len,
    struct mtasts_tlsrpt_record **out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * The RRset rule of RFC 8460 section 3 (same shape as
 * mtasts_sts_rrset_select, with the prefix "v=TLSRPTv1;").
 * MTASTS_ENOTFOUND, MTASTS_EMULTIPLE and MTASTS_ESYNTAX mean "the domain
 * does not implement TLSRPT".
 */
int mtasts_tlsrpt_rrset_select(const char *const *txt, const size_t *lens,
    size_t n, struct mtasts_tlsrpt_record **out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* NULL-safe. */
void mtasts_tlsrpt_record_free(struct mtasts_tlsrpt_record *rec);

/* Number of rua URIs with a supported scheme (mailto:, https:). */
size_t mtasts_tlsrpt_record_rua_count(const struct mtasts_tlsrpt_record *rec);

/* The i-th supported URI, borrowed from rec; NULL when i is out of range. */
const char *mtasts_tlsrpt_record_rua(const struct mtasts_tlsrpt_record *rec,
    size_t i);

#ifdef __cplusplus
}
#endif
#endif
