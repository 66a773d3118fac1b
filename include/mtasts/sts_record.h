/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	sts_record 3h
 * SUMMARY
 *	the "_mta-sts" TXT record (RFC 8461 section 3.1)
 * DESCRIPTION
 *	Sans-I/O parser for one TXT record value (character-strings already
 *	joined, see txt.h) and the RRset rule that picks the one record to
 *	use out of everything the resolver returned. Comparison of ids is by
 *	exact equality only (R8461-7).
 */
#ifndef MTASTS_STS_RECORD_H
#define MTASTS_STS_RECORD_H

#include <stddef.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_STS_ID_MAX 32		/* R8461-8: 1*32(ALPHA / DIGIT) */
#define MTASTS_TXT_RECORD_MAX 4096	/* longest joined record accepted */

/* A parsed record. Plain value struct, filled by the parser. */
struct mtasts_sts_record {
	char id[MTASTS_STS_ID_MAX + 1]; /* NUL-terminated policy id */
	unsigned extensions;	/* count of extension fields (ignored) */
	int noncanonical;	/* 1 if WSP precedes the first ";" */
};

/*
 * Parse one joined TXT record of len bytes (need not be NUL-terminated).
 * Returns MTASTS_OK and fills *out, or MTASTS_ESYNTAX / MTASTS_ETOOBIG
 * with the reason in *err and every finding in *diags (both optional).
 */
int mtasts_sts_record_parse(const char *txt, size_t len,
    struct mtasts_sts_record *out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * Apply the RRset rule of RFC 8461 section 3.1 to n joined TXT records
 * (txt[i] of lens[i] bytes): records not beginning with "v=STSv1;" are
 * discarded when more than one record was returned (a single record is
 * parsed by the ABNF alone, decision A-2); then exactly one must remain
 * and be valid.
 * Returns MTASTS_OK with *out filled; MTASTS_ENOTFOUND when no record
 * is an STS record; MTASTS_EMULTIPLE when several remain; MTASTS_ESYNTAX
 * when the remaining record is invalid. All mean "no policy" (R8461-11).
 */
int mtasts_sts_rrset_select(const char *const *txt, const size_t *lens,
    size_t n, struct mtasts_sts_record *out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
