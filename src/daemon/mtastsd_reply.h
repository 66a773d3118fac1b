/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_reply 3h (daemon)
 * SUMMARY
 *	Postfix socketmap replies for policies, built safely
 * DESCRIPTION
 *	A bounded growable buffer and the builders of the reply payloads
 *	Postfix's smtp_tls_policy_maps understands. An enforced policy gives
 *	"OK secure match=P1:P2 servername=hostname", where a pattern
 *	"*.example.net" is written ".example.net"; with the zone's
 *	tlsrpt_attributes on, the Postfix 3.10 attributes policy_type,
 *	policy_domain, mx_host_pattern and policy_string follow.
 *
 *	Nothing copied from a policy may add attributes: mx patterns are
 *	validated domains (LDH, dots, one leading "*.") and are checked
 *	again here; a policy line becomes a policy_string attribute only if
 *	every byte is printable ASCII other than '{' and '}'; lines with
 *	spaces are written "{ policy_string = LINE }". If any line fails
 *	that test, no policy_string attribute is written at all (a partial
 *	policy text would mislead a report reader) and the caller is told.
 */
#ifndef MTASTSD_REPLY_H
#define MTASTSD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "mtastsd_config.h"

/* A growable buffer with a hard limit. */
struct mtastsd_buf {
	char *p;	/* owned; NUL-terminated when len < cap */
	size_t len;
	size_t cap;
	size_t max;	/* never grows beyond */
};

void mtastsd_buf_init(struct mtastsd_buf *b, size_t max);
void mtastsd_buf_free(struct mtastsd_buf *b);
void mtastsd_buf_reset(struct mtastsd_buf *b);
/* Append n bytes: 0, or -1 (over max or OOM; b unchanged). */
int mtastsd_buf_add(struct mtastsd_buf *b, const char *s, size_t n);
int mtastsd_buf_str(struct mtastsd_buf *b, const char *s);

/*
 * Postfix match list from mx patterns (n of them): "*.x" becomes ".x",
 * joined by ':'. Returns 0, or -1 when a pattern is not a valid
 * pattern or the result exceeds the buffer.
 */
int mtastsd_reply_match(struct mtastsd_buf *out, const char *const *mx,
    size_t n);

/* Is line (len bytes) safe to copy into a policy_string attribute? */
bool mtastsd_reply_line_safe(const char *line, size_t len);

/*
 * Build "OK secure match=..." for an enforced (or strict testing)
 * policy of domain. match is the precomputed list; body the policy text
 * (may be NULL). *dropped_lines is set when policy_string attributes
 * were left out because a line was unsafe. Returns 0 or -1 (too big or
 * a match list that is not safe).
 */
int mtastsd_reply_secure(struct mtastsd_buf *out,
    const struct mtastsd_zone *zone, const char *domain, const char *match,
    const char *body, size_t body_len, bool *dropped_lines);

/* "NOTFOUND " (with the trailing space Postfix expects). */
int mtastsd_reply_notfound(struct mtastsd_buf *out);

/* "TEMP reason" / "PERM reason"; control bytes in reason become '?'. */
int mtastsd_reply_status(struct mtastsd_buf *out, const char *verb,
    const char *reason);

#endif
