/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	smtp_reply 3h
 * SUMMARY
 *	sans-I/O reader of SMTP replies (RFC 5321 section 4.2)
 * DESCRIPTION
 *	A struct mtasts_smtp_reply is fed the bytes a server sends and
 *	says when one whole reply (one or more lines "DDD-text", ending
 *	with "DDD text") has been read. It keeps the reply code, the text
 *	of the first line and, for an EHLO reply, whether the STARTTLS
 *	keyword was offered. Lines end in CRLF or a bare LF. Hard limits:
 *	MTASTS_SMTP_LINE_MAX bytes per line, MTASTS_SMTP_LINES_MAX lines
 *	and MTASTS_SMTP_REPLY_MAX bytes per reply, so an endless banner or
 *	a giant line is cut off instead of buffered. No sockets, no clock.
 *	A plain value struct: mtasts_smtp_reply_init() it; nothing to free.
 */
#ifndef MTASTS_SMTP_REPLY_H
#define MTASTS_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_SMTP_LINE_MAX 1024	/* bytes per line, line end included
					   (RFC 5321 4.5.3.1.5 says 512) */
#define MTASTS_SMTP_LINES_MAX 64	/* lines per reply */
#define MTASTS_SMTP_REPLY_MAX 16384	/* bytes per reply */
#define MTASTS_SMTP_TEXT_MAX 200	/* first-line text kept */

struct mtasts_smtp_reply {
	int code;		/* 100..599 once a line was read, else 0 */
	unsigned lines;		/* lines read so far */
	size_t bytes;		/* bytes read so far */
	bool starttls;		/* some line's keyword is STARTTLS */
	bool complete;		/* the last line has been read */
	char text[MTASTS_SMTP_TEXT_MAX + 1]; /* first line after the code */
	/* Private: the line being read. */
	size_t linelen;
	char line[MTASTS_SMTP_LINE_MAX + 1];
};

/* Reset *r to read a new reply. */
void mtasts_smtp_reply_init(struct mtasts_smtp_reply *r);

/*
 * Feed len bytes. *used is set to the bytes consumed: all of them when
 * the reply is still incomplete (MTASTS_EAGAIN), or up to and including
 * the line end of the reply's last line (MTASTS_OK: the reply is
 * complete; bytes after it belong to whatever comes next). Errors, with
 * a sentence in *err (optional): MTASTS_ESYNTAX (a line that is not
 * "DDD", "DDD-text" or "DDD text", a code outside 200-599 for
 * the first digit 2-5, or a continuation line with a different code),
 * MTASTS_ETOOBIG (a limit above was hit). After an error or a complete
 * reply, call mtasts_smtp_reply_init() before feeding again.
 */
int mtasts_smtp_reply_feed(struct mtasts_smtp_reply *r, const char *data,
    size_t len, size_t *used, struct mtasts_error *err)
	__attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
