/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	policy 3h
 * SUMMARY
 *	the MTA-STS policy file (RFC 8461 section 3.2)
 * DESCRIPTION
 *	Sans-I/O parser for the body served at
 *	https://mta-sts.<domain>/.well-known/mta-sts.txt, and the parsed,
 *	immutable policy object. The decisions taken where the RFC is
 *	ambiguous are listed in docs/conformance.md; in short: LF, CRLF or a
 *	mix end lines, a bare CR is an error; the key decides the grammar (a
 *	known key with an invalid value makes the policy invalid); for a
 *	duplicated non-mx key the first occurrence wins; max_age above
 *	31557600 is clamped with a warning; an mx value with a trailing dot
 *	is invalid; blank lines in the middle are errors, trailing line ends
 *	are tolerated; unknown keys are kept as extensions.
 */
#ifndef MTASTS_POLICY_H
#define MTASTS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_POLICY_BODY_MAX 65536	 /* bytes (RFC 8461 section 3.3) */
#define MTASTS_MAX_AGE_LIMIT 31557600u	 /* seconds (RFC 8461 3.2) */
#define MTASTS_POLICY_MX_MAX 1024	 /* most mx lines kept */
#define MTASTS_POLICY_EXT_MAX 64	 /* most extension lines kept */

enum mtasts_mode {
	MTASTS_MODE_NONE = 0,
	MTASTS_MODE_TESTING = 1,
	MTASTS_MODE_ENFORCE = 2
};

struct mtasts_policy;

/*
 * Parse a policy body of len bytes (need not be NUL-terminated; more
 * than MTASTS_POLICY_BODY_MAX bytes is MTASTS_ETOOBIG). On MTASTS_OK,
 * *out is a new policy owned by the caller (mtasts_policy_free). On any
 * error *out is NULL: MTASTS_ESYNTAX (invalid policy), MTASTS_ETOOBIG,
 * MTASTS_ENOMEM. Every finding, including warnings on a valid policy,
 * goes to *diags when it is not NULL; the first error to *err.
 */
int mtasts_policy_parse(const char *body, size_t len,
    struct mtasts_policy **out, struct mtasts_diags *diags,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* NULL-safe. */
void mtasts_policy_free(struct mtasts_policy *p);

enum mtasts_mode mtasts_policy_mode(const struct mtasts_policy *p);

/* "enforce", "testing" or "none". */
const char *mtasts_mode_name(enum mtasts_mode mode);

/* max_age in seconds, after clamping to MTASTS_MAX_AGE_LIMIT. */
uint32_t mtasts_policy_max_age(const struct mtasts_policy *p);

/* The value as written (up to 10 digits), before clamping. */
uint64_t mtasts_policy_max_age_raw(const struct mtasts_policy *p);

/* "STSv1". */
const char *mtasts_policy_version(const struct mtasts_policy *p);

/* mx patterns in file order; borrowed from p. */
size_t mtasts_policy_mx_count(const struct mtasts_policy *p);
const char *mtasts_policy_mx(const struct mtasts_policy *p, size_t i);

/* Extension (unknown) fields in file order; strings borrowed from p.
 * Returns false when i is out of range. */
size_t mtasts_policy_ext_count(const struct mtasts_policy *p);
bool mtasts_policy_ext(const struct mtasts_policy *p, size_t i,
    const char **key, const char **value);

/* Does any mx pattern match host (see mx.h)? */
bool mtasts_policy_match_mx(const struct mtasts_policy *p, const char *host);

/*
 * The policy's lines without their line ends, in file order (trailing
 * whitespace removed), as RFC 8460 wants them in "policy-string".
 * Borrowed from p.
 */
size_t mtasts_policy_line_count(const struct mtasts_policy *p);
const char *mtasts_policy_line(const struct mtasts_policy *p, size_t i);

#ifdef __cplusplus
}
#endif
#endif
